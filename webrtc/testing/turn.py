"""A scripted TURN server and a TURN client node for the network simulator.

:class:`ScriptedTurnServer` is a small but real RFC 8656 server (UDP only):
long-term credentials with nonces that go stale, optional PASSWORD-ALGORITHMS
(RFC 8489 section 9.2), allocations with lifetimes, permissions, channels,
Send/Data indications and ChannelData, relayed addresses that are simulator
addresses of their own. Tests script it: make it stop answering, redirect
with 300, answer the next request of a method with a chosen error, or read
:attr:`ScriptedTurnServer.log` to see when each request arrived in virtual
time.

:class:`TurnClientNode` attaches a :class:`webrtc.ice.turn.TurnClient` to the
network, following the client's server address (which a 300 may change).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from webrtc.ice.agent import IceAgent, PayloadReceived
from webrtc.ice.stun import (
    AttributeType,
    ErrorCode,
    MessageClass,
    Method,
    PasswordAlgorithm,
    StunMessage,
    StunParseError,
    long_term_key,
)
from webrtc.ice.turn import TurnClient, TurnEvent
from webrtc.ice.turn_framing import CHANNEL_MAX, CHANNEL_MIN, ChannelData, TurnParseError
from webrtc.ice.turn_ice import IceRelays
from webrtc.testing.network import Address, Network

__all__ = ["LogEntry", "RelayedIceNode", "ScriptedTurnServer", "TurnClientNode"]

A = AttributeType
_NONCE_COOKIE = "obMatJos2"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@dataclass(frozen=True)
class LogEntry:
    """One request or indication the server received (whether it answered or not)."""

    time: float
    client: Address
    method: int
    message_class: int
    authenticated: bool
    peer: Address | None = None
    lifetime: int | None = None
    channel: int | None = None


@dataclass
class _Allocation:
    client: Address
    relayed: Address
    transaction_id: bytes
    expires: float
    key: bytes
    sha256: bool
    permissions: dict[str, float] = field(default_factory=dict)
    channels: dict[int, tuple[Address, float]] = field(default_factory=dict)
    peer_channels: dict[Address, int] = field(default_factory=dict)
    cached_success: bytes = b""


class ScriptedTurnServer:
    """A TURN server living at ``address`` on a :class:`~webrtc.testing.network.Network`.

    ``users`` maps user names to passwords. ``nonce_lifetime`` makes nonces go
    stale (438) that many seconds after they were issued. ``password_algorithms``
    (e.g. ``(PasswordAlgorithm.SHA256, PasswordAlgorithm.MD5)``) turns on the
    RFC 8489 nonce cookie and PASSWORD-ALGORITHMS. ``alternate`` answers every
    Allocate with 300 Try Alternate to that address. Relayed addresses are
    ``(relay_host, port)`` with ports counting up from ``first_relay_port``.
    """

    def __init__(
        self,
        network: Network,
        address: Address,
        *,
        users: dict[str, str] | None = None,
        realm: str = "sim.example.org",
        default_lifetime: int = 600,
        max_lifetime: int = 3600,
        permission_lifetime: float = 300.0,
        channel_lifetime: float = 600.0,
        nonce_lifetime: float | None = None,
        password_algorithms: tuple[int, ...] | None = None,
        alternate: Address | None = None,
        alternate_domain: str | None = None,
        relay_host: str | None = None,
        first_relay_port: int = 50000,
        seed: int = 0,
    ) -> None:
        self.network = network
        self.address = address
        self.users = users if users is not None else {"user": "password"}
        self.realm = realm
        self.default_lifetime = default_lifetime
        self.max_lifetime = max_lifetime
        self.permission_lifetime = permission_lifetime
        self.channel_lifetime = channel_lifetime
        self.nonce_lifetime = nonce_lifetime
        self.password_algorithms = password_algorithms
        self.alternate = alternate
        self.alternate_domain = alternate_domain
        self.relay_host = relay_host if relay_host is not None else address[0]
        self._next_port = first_relay_port
        self._random = random.Random(seed)
        self.answering = True
        """False: the server silently drops everything (a dead server)."""
        self.scripted_errors: dict[int, list[tuple[int, str]]] = {}
        self.log: list[LogEntry] = []
        self.allocations: dict[Address, _Allocation] = {}
        self._by_relay: dict[Address, _Allocation] = {}
        self._nonces: dict[str, float] = {}
        self._outgoing: list[tuple[Address, Address, bytes]] = []
        network.add(self, address)

    # -- scripting ---------------------------------------------------------
    def fail_next(self, method: int, code: int, reason: str = "scripted error") -> None:
        """Answer the next authenticated request of ``method`` with this error."""
        self.scripted_errors.setdefault(method, []).append((code, reason))

    def requests(self, method: int) -> list[LogEntry]:
        """The logged authenticated requests of ``method``, in arrival order."""
        return [
            entry
            for entry in self.log
            if entry.method == method
            and entry.message_class == MessageClass.REQUEST
            and entry.authenticated
        ]

    def allocation(self, client: Address, now: float) -> _Allocation | None:
        allocation = self.allocations.get(client)
        if allocation is not None and allocation.expires <= now:
            self._remove(allocation)
            return None
        return allocation

    # -- Node interface ------------------------------------------------------
    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> None:
        if not self.answering:
            return
        if destination != self.address:
            self._from_peer(data, source, destination, now)
            return
        if data and 0x40 <= data[0] <= 0x4F:
            self._channel_data_from_client(data, source, now)
            return
        try:
            message = StunMessage.parse(data)
        except StunParseError:
            return
        if message.message_class == MessageClass.INDICATION:
            self.log.append(
                LogEntry(
                    now,
                    source,
                    message.method,
                    message.message_class,
                    False,
                    message.get_address(A.XOR_PEER_ADDRESS),
                )
            )
            if message.method == Method.SEND:
                self._send_indication(message, source, now)
            return
        if message.message_class != MessageClass.REQUEST:
            return
        self._request(message, source, now)

    def transmit(self, now: float) -> list[tuple[Address, Address, bytes]]:
        out, self._outgoing = self._outgoing, []
        return out

    def get_timer(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        return None

    # -- requests --------------------------------------------------------------
    def _new_nonce(self, now: float) -> str:
        token = f"{self._random.getrandbits(64):016x}"
        if self.password_algorithms is not None:
            # RFC 8489 section 9.2: cookie, then the 24-bit feature set in
            # base64 (only "password algorithms", the first bit, is set).
            features = 0x800000
            encoded = "".join(_B64[(features >> shift) & 63] for shift in (18, 12, 6, 0))
            token = _NONCE_COOKIE + encoded + token
        self._nonces[token] = now
        return token

    def _reply(
        self,
        request: StunMessage,
        client: Address,
        attributes: list[tuple[int, object]],
        error: tuple[int, str] | None = None,
        key: bytes | None = None,
        sha256: bool = False,
    ) -> bytes:
        message_class = MessageClass.SUCCESS if error is None else MessageClass.ERROR
        message = StunMessage(request.method, message_class, request.transaction_id)
        if error is not None:
            message.add(A.ERROR_CODE, ErrorCode(*error))
        for kind, value in attributes:
            message.add(kind, value)
        encoded = message.encode(
            None if sha256 else key,
            integrity_sha256_key=key if sha256 else None,
            fingerprint=True,
        )
        self._outgoing.append((self.address, client, encoded))
        return encoded

    def _challenge(self, request: StunMessage, client: Address, code: int, now: float) -> None:
        reason = "Unauthorized" if code == 401 else "Stale Nonce"
        attributes: list[tuple[int, object]] = [
            (A.REALM, self.realm),
            (A.NONCE, self._new_nonce(now)),
        ]
        if self.password_algorithms is not None:
            attributes.append(
                (
                    A.PASSWORD_ALGORITHMS,
                    tuple(PasswordAlgorithm(a) for a in self.password_algorithms),
                )
            )
        self._reply(request, client, attributes, (code, reason))

    def _authenticate(
        self, request: StunMessage, client: Address, now: float
    ) -> tuple[bytes, bool] | None:
        """The key and integrity kind of a valid request, or None after answering 401/438."""
        username = request.get_str(A.USERNAME)
        nonce = request.get_str(A.NONCE)
        realm = request.get_str(A.REALM)
        has_sha256 = A.MESSAGE_INTEGRITY_SHA256 in request
        if (
            username is None
            or nonce is None
            or realm != self.realm
            or not (request.has_integrity or has_sha256)
        ):
            self._challenge(request, client, 401, now)
            return None
        issued = self._nonces.get(nonce)
        if issued is None:
            self._challenge(request, client, 401, now)
            return None
        password = self.users.get(username)
        if password is None:
            self._challenge(request, client, 401, now)
            return None
        algorithm = PasswordAlgorithm.MD5
        if self.password_algorithms is not None:
            chosen = request.get(A.PASSWORD_ALGORITHM)
            offered = request.get(A.PASSWORD_ALGORITHMS)
            expected = tuple(PasswordAlgorithm(a) for a in self.password_algorithms)
            if not isinstance(chosen, PasswordAlgorithm) or offered != expected:
                self._reply(request, client, [], (400, "PASSWORD-ALGORITHMS mismatch"))
                return None
            algorithm = chosen.algorithm
        key = long_term_key(username, self.realm, password, algorithm)
        valid = (
            request.verify_integrity_sha256(key) if has_sha256 else request.verify_integrity(key)
        )
        if not valid:
            self._challenge(request, client, 401, now)
            return None
        if self.nonce_lifetime is not None and now - issued >= self.nonce_lifetime:
            self._challenge(request, client, 438, now)
            return None
        return key, has_sha256

    def _request(self, request: StunMessage, client: Address, now: float) -> None:
        method = request.method
        if method == Method.ALLOCATE and self.alternate is not None:
            self._log(request, client, now, False)
            attributes: list[tuple[int, object]] = [(A.ALTERNATE_SERVER, self.alternate)]
            if self.alternate_domain is not None:
                attributes.append((A.ALTERNATE_DOMAIN, self.alternate_domain))
            self._reply(request, client, attributes, (300, "Try Alternate"))
            return
        if method == Method.BINDING:
            self._log(request, client, now, False)
            self._reply(request, client, [(A.XOR_MAPPED_ADDRESS, client)])
            return
        existing = self.allocation(client, now)
        if (
            method == Method.ALLOCATE
            and existing is not None
            and existing.transaction_id == request.transaction_id
        ):
            # A retransmission of the request that created the allocation.
            self._outgoing.append((self.address, client, existing.cached_success))
            return
        credentials = self._authenticate(request, client, now)
        self._log(request, client, now, credentials is not None)
        if credentials is None:
            return
        key, sha256 = credentials
        scripted = self.scripted_errors.get(method)
        if scripted:
            self._reply(request, client, [], scripted.pop(0), key, sha256)
            return
        if method == Method.ALLOCATE:
            self._allocate(request, client, existing, key, sha256, now)
            return
        if existing is None:
            self._reply(request, client, [], (437, "Allocation Mismatch"), key, sha256)
            return
        if method == Method.REFRESH:
            lifetime = request.get_int(A.LIFETIME)
            lifetime = self.default_lifetime if lifetime is None else lifetime
            if lifetime == 0:
                self._remove(existing)
                self._reply(request, client, [(A.LIFETIME, 0)], None, key, sha256)
                return
            lifetime = min(lifetime, self.max_lifetime)
            existing.expires = now + lifetime
            self._reply(request, client, [(A.LIFETIME, lifetime)], None, key, sha256)
        elif method == Method.CREATE_PERMISSION:
            peers = request.get_all(A.XOR_PEER_ADDRESS)
            if not peers:
                self._reply(request, client, [], (400, "Bad Request"), key, sha256)
                return
            for peer in peers:
                existing.permissions[peer[0]] = now + self.permission_lifetime
            self._reply(request, client, [], None, key, sha256)
        elif method == Method.CHANNEL_BIND:
            number = request.get_int(A.CHANNEL_NUMBER)
            peer = request.get_address(A.XOR_PEER_ADDRESS)
            if number is None or peer is None or not CHANNEL_MIN <= number <= CHANNEL_MAX:
                self._reply(request, client, [], (400, "Bad Request"), key, sha256)
                return
            bound = existing.channels.get(number)
            other = existing.peer_channels.get(peer)
            if (bound is not None and bound[0] != peer) or (other is not None and other != number):
                self._reply(request, client, [], (400, "Bad Request"), key, sha256)
                return
            existing.channels[number] = (peer, now + self.channel_lifetime)
            existing.peer_channels[peer] = number
            existing.permissions[peer[0]] = now + self.permission_lifetime
            self._reply(request, client, [], None, key, sha256)
        else:
            self._reply(request, client, [], (400, "Bad Request"), key, sha256)

    def _allocate(
        self,
        request: StunMessage,
        client: Address,
        existing: _Allocation | None,
        key: bytes,
        sha256: bool,
        now: float,
    ) -> None:
        if existing is not None:
            self._reply(request, client, [], (437, "Allocation Mismatch"), key, sha256)
            return
        if request.get_int(A.REQUESTED_TRANSPORT) != 17:
            self._reply(request, client, [], (442, "Unsupported Transport Protocol"), key, sha256)
            return
        lifetime = request.get_int(A.LIFETIME)
        lifetime = self.default_lifetime if lifetime is None else lifetime
        lifetime = max(1, min(lifetime, self.max_lifetime))
        relayed = (self.relay_host, self._next_port)
        self._next_port += 1
        self.network.add(self, relayed)
        allocation = _Allocation(
            client, relayed, request.transaction_id, now + lifetime, key, sha256
        )
        self.allocations[client] = allocation
        self._by_relay[relayed] = allocation
        allocation.cached_success = self._reply(
            request,
            client,
            [
                (A.XOR_RELAYED_ADDRESS, relayed),
                (A.LIFETIME, lifetime),
                (A.XOR_MAPPED_ADDRESS, client),
            ],
            None,
            key,
            sha256,
        )

    def _remove(self, allocation: _Allocation) -> None:
        self.allocations.pop(allocation.client, None)
        self._by_relay.pop(allocation.relayed, None)

    def _log(self, request: StunMessage, client: Address, now: float, authenticated: bool) -> None:
        self.log.append(
            LogEntry(
                now,
                client,
                request.method,
                request.message_class,
                authenticated,
                request.get_address(A.XOR_PEER_ADDRESS),
                request.get_int(A.LIFETIME),
                request.get_int(A.CHANNEL_NUMBER),
            )
        )

    # -- data ------------------------------------------------------------------
    @staticmethod
    def _permitted(allocation: _Allocation, host: str, now: float) -> bool:
        expires = allocation.permissions.get(host)
        return expires is not None and expires > now

    def _send_indication(self, message: StunMessage, client: Address, now: float) -> None:
        allocation = self.allocation(client, now)
        peer = message.get_address(A.XOR_PEER_ADDRESS)
        data = message.get_bytes(A.DATA)
        if allocation is None or peer is None or data is None:
            return
        if self._permitted(allocation, peer[0], now):
            self._outgoing.append((allocation.relayed, peer, data))

    def _channel_data_from_client(self, data: bytes, client: Address, now: float) -> None:
        allocation = self.allocation(client, now)
        if allocation is None:
            return
        try:
            message = ChannelData.parse(data)
        except TurnParseError:
            return
        bound = allocation.channels.get(message.channel)
        if bound is None or bound[1] <= now:
            return
        peer = bound[0]
        if self._permitted(allocation, peer[0], now):
            self._outgoing.append((allocation.relayed, peer, message.data))

    def _from_peer(self, data: bytes, peer: Address, relayed: Address, now: float) -> None:
        allocation = self._by_relay.get(relayed)
        if allocation is None or allocation.expires <= now:
            return
        if not self._permitted(allocation, peer[0], now):
            return
        number = allocation.peer_channels.get(peer)
        if number is not None and allocation.channels[number][1] > now:
            self._outgoing.append(
                (self.address, allocation.client, bytes(ChannelData(number, data)))
            )
            return
        indication = StunMessage(
            Method.DATA,
            MessageClass.INDICATION,
            self._random.randbytes(12),
            [(A.XOR_PEER_ADDRESS, peer), (A.DATA, data)],
        )
        self._outgoing.append((self.address, allocation.client, bytes(indication)))


class TurnClientNode:
    """Attaches a :class:`TurnClient` at ``address``; it sends to the client's current server.

    Events are collected in :attr:`events` (with the virtual time in
    :attr:`timed_events`) and handed to ``on_event`` if given.
    """

    def __init__(
        self,
        network: Network,
        client: TurnClient,
        address: Address,
        on_event: Callable[[TurnEvent, float], None] | None = None,
    ) -> None:
        self.network = network
        self.client = client
        self.address = address
        self.on_event = on_event
        self.events: list[TurnEvent] = []
        self.timed_events: list[tuple[float, TurnEvent]] = []
        self.check_timer_cache = True
        network.add(self, address)

    def _drain(self, now: float) -> None:
        while (event := self.client.next_event()) is not None:
            self.events.append(event)
            self.timed_events.append((now, event))
            if self.on_event is not None:
                self.on_event(event, now)

    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> None:
        if source == self.client.server_address:
            self.client.receive_datagram(data, now)
        self._drain(now)

    def transmit(self, now: float) -> list[tuple[Address, Address, bytes]]:
        self._drain(now)
        server = self.client.server_address
        return [(self.address, server, data) for data in self.client.datagrams_to_send(now)]

    def get_timer(self) -> float | None:
        timer = self.client.get_timer()
        if self.check_timer_cache:
            assert timer == self.client._compute_timer(), "stale timer cache"
        return timer

    def handle_timer(self, now: float) -> None:
        self.client.handle_timer(now)
        self._drain(now)


class RelayedIceNode:
    """An :class:`IceAgent` with host sockets and TURN relays, on the simulator.

    ``host_sockets`` maps socket ids to simulated addresses, as in
    :class:`webrtc.testing.ice.IceNode`. ``relays`` maps further socket ids
    to a :class:`TurnClient` and the simulated address its connection to the
    server uses. Host candidates are registered at once (unless
    ``gather_hosts`` is false), relay candidates when their allocation
    succeeds, and end-of-candidates once every allocation succeeded or
    failed. Start the allocations with :meth:`allocate`. ICE events go to
    :attr:`events` and ``on_event`` (compatible with
    :class:`webrtc.testing.ice.Signaling`); TURN events to :attr:`turn_events`.
    """

    def __init__(
        self,
        agent: IceAgent,
        host_sockets: dict[int, Address],
        relays: dict[int, tuple[TurnClient, Address]],
        on_event: Callable[[RelayedIceNode, object, float], None] | None = None,
        gather_hosts: bool = True,
    ) -> None:
        self.agent = agent
        self.host_sockets = dict(host_sockets)
        self._host_ids = {address: socket_id for socket_id, address in host_sockets.items()}
        self.relays = IceRelays(agent)
        self._relay_by_address: dict[Address, int] = {}
        self.relay_addresses: dict[int, Address] = {}
        for index, (socket_id, (client, address)) in enumerate(relays.items()):
            self.relays.add(socket_id, client, f"turn:{client.server_address[0]}", index)
            self._relay_by_address[address] = socket_id
            self.relay_addresses[socket_id] = address
        self.on_event = on_event
        self.events: list[object] = []
        self.turn_events: list[tuple[int, TurnEvent]] = []
        self.payloads: list[bytes] = []
        self.now = 0.0
        self._ended_gathering = False
        if gather_hosts:
            for socket_id, (host, port) in self.host_sockets.items():
                agent.add_local_candidate(socket_id, host, port, "host")

    def attach(self, network: Network) -> RelayedIceNode:
        network.add(self, *self.host_sockets.values(), *self.relay_addresses.values())
        self.now = network.now
        self._drain()
        return self

    def allocate(self, now: float) -> None:
        for relay in self.relays:
            relay.client.allocate(now)
        self._drain()

    @property
    def state(self) -> object:
        return self.agent.state

    def _drain(self) -> None:
        now = self.now
        for relay in self.relays:
            while (turn_event := relay.client.next_event()) is not None:
                self.turn_events.append((relay.socket_id, turn_event))
                self.relays.handle_event(relay.socket_id, turn_event, now)
        if not self._ended_gathering and self.relays.gathering_done:
            self._ended_gathering = True
            self.agent.end_of_local_candidates()
        while (event := self.agent.next_event()) is not None:
            self.events.append(event)
            if isinstance(event, PayloadReceived):
                self.payloads.append(event.data)
            if self.on_event is not None:
                self.on_event(self, event, now)

    # -- Node ------------------------------------------------------------------------
    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> None:
        self.now = now
        relay_id = self._relay_by_address.get(destination)
        if relay_id is not None:
            client = self.relays.relays[relay_id].client
            if source == client.server_address:
                client.receive_datagram(data, now)
        else:
            self.agent.receive_datagram(data, now, self._host_ids[destination], source)
        self._drain()

    def transmit(self, now: float) -> list[tuple[Address, Address, bytes]]:
        self.now = now
        self._drain()
        out = [
            (self.host_sockets[socket_id], remote, data)
            for socket_id, remote, data in self.relays.route(self.agent.datagrams_to_send(now), now)
        ]
        for relay in self.relays:
            client = relay.client
            address = self.relay_addresses[relay.socket_id]
            out.extend(
                (address, client.server_address, data) for data in client.datagrams_to_send(now)
            )
        self._drain()
        return out

    def get_timer(self) -> float | None:
        deadline = self.agent.get_timer()
        for relay in self.relays:
            timer = relay.client.get_timer()
            if timer is not None and (deadline is None or timer < deadline):
                deadline = timer
        return deadline

    def handle_timer(self, now: float) -> None:
        self.now = now
        timer = self.agent.get_timer()
        if timer is not None and timer <= now:
            self.agent.handle_timer(now)
        for relay in self.relays:
            timer = relay.client.get_timer()
            if timer is not None and timer <= now:
                relay.client.handle_timer(now)
        self._drain()
