"""The asyncio adapter of the ICE agent: sockets, gathering, mDNS, timers.

:class:`IceConnection` owns the UDP sockets and drives one sans-I/O
:class:`~webrtc.ice.agent.IceAgent`. Its interface to the layers above (DTLS,
SCTP, SRTP, the RTCPeerConnection facade) is built for throughput:

- ``on_payload(data: bytes)``: called for every non-STUN datagram that arrives
  on the selected pair or any valid pair, synchronously from the socket reader.
  Sockets are non-blocking and read with ``loop.add_reader``: each wake-up
  drains the socket with ``recvfrom`` until ``BlockingIOError`` (no asyncio
  datagram protocol, no task or future per datagram).
- ``on_batch_end()``: called once after each drained batch, so that the upper
  layers flush what they produced (acks, responses) once per batch rather
  than once per datagram.
- :meth:`IceConnection.send_payload`: sends one datagram on the selected pair
  straight with ``sock.sendto`` (dropped, as UDP would, while there is no
  selected pair or the socket buffer is full).
- ``on_event(event)``: every agent event (``LocalCandidateGathered`` for
  trickling ``icecandidate``, ``GatheringComplete``, ``StateChanged``,
  ``SelectedPairChanged``); :meth:`IceConnection.connect` waits for the first
  usable pair.

Timers: one ``loop.call_at`` per connection (:class:`DeadlineTimer`),
re-armed to the earliest deadline after every input. The agent's clock is
``loop.time()``. Engines stacked on the connection (DTLS and SCTP in the
peer connection) share that one timer through :meth:`IceConnection.add_timer_source`
and call :meth:`IceConnection.update_timer` after their own work.

Payload is counted per route (``(socket id, remote address)``) in
:attr:`IceConnection.counters`, for ``RTCIceCandidatePairStats``.

Gathering (:meth:`IceConnection.gather`): host candidates on every local
address (IPv4 and IPv6, or only the ``addresses`` allow-list; loopback only
when ``include_loopback`` or when listed), on ports from ``port_range`` when
given. They are announced at once; server-reflexive candidates from every
STUN server are queried in parallel from each IPv4 host socket, each with a
short timeout, and announced as they come, then end-of-candidates.

Remote candidates named ``<uuid>.local`` (mDNS, RFC 6762) are resolved with a
one-shot query to 224.0.0.251:5353 from an ephemeral port (responders answer
such "legacy unicast" queries directly); unresolved names are dropped after
``mdns_timeout`` without affecting the connection, which can still form
through peer-reflexive candidates.

Typical use (one ICE transport of a peer connection)::

    connection = IceConnection(
        controlling=True,                       # the offerer controls
        stun_servers=[("stun.example.org", 3478)],
        on_payload=dtls.datagram_received,      # every DTLS/SRTP datagram
        on_batch_end=flush,                     # once per drained batch
        on_event=handle_ice_event,              # LocalCandidateGathered -> icecandidate
    )
    await connection.gather()                   # host candidates now, srflx trickle
    connection.set_remote_credentials(ufrag, pwd)
    connection.add_remote_candidate(candidate)  # any time; None = end-of-candidates
    await connection.connect()                  # first usable pair
    connection.send_payload(datagram)           # on the selected pair
    connection.close()

Relays: :meth:`IceConnection.add_port` registers any other datagram
transport, such as a TURN allocation, as one more "socket" with its own
socket id; the agent treats it as any socket and its candidate as a relayed
candidate. The transport feeds arriving datagrams with
:meth:`IceConnection.port_datagram_received`. A TURN client that reaches its
server through one of the host sockets (:attr:`IceConnection.host_sockets`)
sends with :meth:`IceConnection.sendto` and receives the server's datagrams
through :meth:`IceConnection.intercept`. Candidates gathered outside
:meth:`IceConnection.gather` hold end-of-candidates back with
:meth:`IceConnection.hold_gathering` until :meth:`IceConnection.release_gathering`
(:class:`webrtc.ice.aio_turn.TurnIceConnection` does so for its allocations).

Data on a route whose check the agent answered is delivered even before the
agent's own check of that pair succeeds (RFC 8445 sections 7.3 and 11: the
peer's DTLS first flight may overtake it), so no layer above has to buffer it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import socket
import struct
import sys
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from webrtc.ice.agent import (
    IceAgent,
    IceState,
    PayloadReceived,
    SelectedPairChanged,
    StateChanged,
)
from webrtc.ice.stun import (
    AttributeType,
    MessageClass,
    Method,
    StunMessage,
    StunParseError,
)
from webrtc.sdp.candidate import Candidate

__all__ = [
    "DatagramPort",
    "DeadlineTimer",
    "IceConnection",
    "MdnsResolver",
    "RouteCounters",
    "TimerSource",
    "bind_udp",
    "local_addresses",
]

logger = logging.getLogger(__name__)

Address = tuple[str, int]
MDNS_ADDRESS = ("224.0.0.251", 5353)
# Datagrams drained from one socket per wake-up before on_batch_end.
READ_BATCH = 256


class DatagramPort(Protocol):
    """Anything that can send a datagram to an address (e.g. a TURN allocation).

    A port may also have a ``flush()`` method: :meth:`IceConnection.send_payloads`
    then hands it a whole batch through ``sendto`` and calls ``flush()`` once.
    """

    def sendto(self, data: bytes, address: Address) -> None: ...


class TimerSource(Protocol):
    """An engine stacked on the connection that shares its one timer (e.g. DTLS+SCTP)."""

    def get_timer(self) -> float | None: ...
    def handle_timer(self, now: float) -> None: ...


class DeadlineTimer:
    """One ``loop.call_at`` re-armed to a sans-I/O engine's moving deadline.

    :meth:`arm` with the engine's ``get_timer()`` after every input (a no-op
    when the deadline did not move); when it fires, ``callback(now)`` runs
    with ``now`` never before the deadline (``call_at`` may run a callback up
    to the clock resolution early, and an engine would then do nothing).
    """

    __slots__ = ("_callback", "_handle", "_loop", "deadline")

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[float], None]) -> None:
        self._loop = loop
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = None
        self.deadline: float | None = None

    def arm(self, deadline: float | None) -> None:
        if deadline == self.deadline:
            return
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.deadline = deadline
        if deadline is not None:
            self._handle = self._loop.call_at(deadline, self._fire)

    def cancel(self) -> None:
        self.arm(None)

    def _fire(self) -> None:
        deadline = self.deadline
        self._handle = None
        self.deadline = None
        now = self._loop.time()
        self._callback(now if deadline is None or deadline <= now else deadline)


@dataclass
class RouteCounters:
    """Payload datagrams and bytes on one (socket id, remote address) route.

    Sent counts include the agent's own STUN datagrams; received counts only
    payload (what the layers above see), as ``RTCIceCandidatePairStats`` does.
    """

    packets_sent: int = 0
    bytes_sent: int = 0
    packets_received: int = 0
    bytes_received: int = 0


# -- local addresses -------------------------------------------------------------


def _ipv4_interface_addresses() -> list[str]:
    addresses: list[str] = []
    if sys.platform != "linux":
        return addresses
    import fcntl

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                reply = fcntl.ioctl(probe.fileno(), 0x8915, request)  # SIOCGIFADDR
            except OSError:
                continue
            addresses.append(socket.inet_ntoa(reply[20:24]))
    finally:
        probe.close()
    return addresses


def _ipv6_interface_addresses() -> list[str]:
    addresses: list[str] = []
    try:
        with open("/proc/net/if_inet6") as table:
            for line in table:
                fields = line.split()
                if len(fields) >= 4:
                    raw = fields[0]
                    text = ":".join(raw[i : i + 4] for i in range(0, 32, 4))
                    addresses.append(ipaddress.IPv6Address(text).compressed)
    except OSError:
        pass
    return addresses


def _default_route_address(family: socket.AddressFamily, target: str) -> str | None:
    # Connecting a UDP socket sends nothing; it only picks the outgoing address.
    probe = socket.socket(family, socket.SOCK_DGRAM)
    try:
        probe.connect((target, 9))
        address: str = probe.getsockname()[0]
        return address
    except OSError:
        return None
    finally:
        probe.close()


def local_addresses(
    ipv4: bool = True, ipv6: bool = True, include_loopback: bool = False
) -> list[str]:
    """The host's usable unicast addresses (no link-local; loopback on request)."""
    found: list[str] = []
    if ipv4:
        found += _ipv4_interface_addresses()
        default = _default_route_address(socket.AF_INET, "192.0.2.1")
        if default:
            found.append(default)
    if ipv6:
        found += _ipv6_interface_addresses()
        default = _default_route_address(socket.AF_INET6, "2001:db8::1")
        if default:
            found.append(default)
    result: list[str] = []
    for text in found:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if address.is_link_local or address.is_multicast or address.is_unspecified:
            continue
        if address.is_loopback and not include_loopback:
            continue
        if text not in result:
            result.append(text)
    if include_loopback:
        for loopback, wanted in (("127.0.0.1", ipv4), ("::1", ipv6)):
            if wanted and loopback not in result and _can_bind(loopback):
                result.append(loopback)
    return result


def _can_bind(address: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        probe = socket.socket(family, socket.SOCK_DGRAM)
    except OSError:
        return False
    try:
        probe.bind((address, 0))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def bind_udp(
    address: str, port_range: tuple[int, int] | None, rng: random.Random
) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, 4 * 1024 * 1024)
        if port_range is None:
            sock.bind((address, 0))
        else:
            low, high = port_range
            ports = list(range(low, high + 1))
            rng.shuffle(ports)
            for port in ports:
                try:
                    sock.bind((address, port))
                    break
                except OSError:
                    continue
            else:
                raise OSError(f"no free UDP port in {low}-{high} on {address}")
        sock.setblocking(False)
        return sock
    except BaseException:
        sock.close()
        raise


# -- mDNS ------------------------------------------------------------------------------


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode()
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad DNS label in {name!r}")
        out += bytes((len(raw),)) + raw
    return out + b"\x00"


def _read_name(data: bytes, offset: int) -> tuple[str, int]:
    labels: list[str] = []
    end: int | None = None
    for _ in range(128):  # bounds compression loops
        length = data[offset]
        if length & 0xC0 == 0xC0:
            pointer = ((length & 0x3F) << 8) | data[offset + 1]
            if end is None:
                end = offset + 2
            offset = pointer
            continue
        if length == 0:
            return ".".join(labels), (end if end is not None else offset + 1)
        labels.append(data[offset + 1 : offset + 1 + length].decode("utf-8", "replace"))
        offset += 1 + length
    raise ValueError("DNS name too long")


def build_mdns_query(name: str, query_id: int) -> bytes:
    """A DNS query (RFC 6762 section 5) for the A and AAAA records of ``name``."""
    encoded = _encode_name(name)
    header = struct.pack("!HHHHHH", query_id, 0, 2, 0, 0, 0)
    # QCLASS IN with the unicast-response bit (RFC 6762 section 5.4).
    return header + encoded + b"\x00\x01\x80\x01" + encoded + b"\x00\x1c\x80\x01"


def parse_mdns_answers(data: bytes) -> list[tuple[str, str]]:
    """``(name, address)`` of the A and AAAA records in a DNS message; [] if malformed."""
    try:
        _, _, qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHHHH", data)
        offset = 12
        for _ in range(qdcount):
            _, offset = _read_name(data, offset)
            offset += 4
        out: list[tuple[str, str]] = []
        for _ in range(ancount + nscount + arcount):
            name, offset = _read_name(data, offset)
            rtype, _, _, rdlength = struct.unpack_from("!HHIH", data, offset)
            offset += 10
            rdata = data[offset : offset + rdlength]
            offset += rdlength
            if rtype == 1 and len(rdata) == 4:
                out.append((name.lower(), socket.inet_ntop(socket.AF_INET, rdata)))
            elif rtype == 28 and len(rdata) == 16:
                out.append((name.lower(), socket.inet_ntop(socket.AF_INET6, rdata)))
        return out
    except (struct.error, IndexError, ValueError):
        return []


class MdnsResolver:
    """Resolves ``<uuid>.local`` names with one-shot mDNS queries (RFC 6762 5.1)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        target: Address = MDNS_ADDRESS,
        timeout: float = 3.0,
        rng: random.Random | None = None,
    ) -> None:
        self.loop = loop
        self.target = target
        self.timeout = timeout
        self._rng = rng or random.Random()
        self._sock: socket.socket | None = None
        self._waiters: dict[str, list[asyncio.Future[str]]] = {}

    def _socket(self) -> socket.socket:
        if self._sock is None:
            sock = None
            if self.target == MDNS_ADDRESS:
                sock = self._multicast_socket()
            if sock is None:
                # A one-shot query from an ephemeral port: responders answer
                # it by unicast (RFC 6762 sections 5.1 and 6.7).
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.bind(("0.0.0.0", 0))
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
            self.loop.add_reader(sock.fileno(), self._readable)
            self._sock = sock
        return self._sock

    @staticmethod
    def _multicast_socket() -> socket.socket | None:
        """A socket on port 5353 in the mDNS group, to hear multicast answers too.

        Some responders (Chromium's among them) answer by multicast even a
        query from another port; sharing 5353 needs SO_REUSEADDR/SO_REUSEPORT.
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(("", MDNS_ADDRESS[1]))
            group = socket.inet_aton(MDNS_ADDRESS[0]) + socket.inet_aton("0.0.0.0")
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
            return sock
        except OSError:
            sock.close()
            return None

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        while True:
            try:
                data, _ = sock.recvfrom(9000)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            for name, address in parse_mdns_answers(data):
                for waiter in self._waiters.pop(name, []):
                    if not waiter.done():
                        waiter.set_result(address)

    async def resolve(self, name: str) -> str | None:
        """The address of ``name``, or ``None`` when nobody answers in time."""
        key = name.lower().rstrip(".")
        try:
            query = build_mdns_query(key, 0)
            sock = self._socket()
        except (OSError, ValueError) as exc:
            logger.debug("mDNS query for %s not sent: %s", name, exc)
            return None
        waiter: asyncio.Future[str] = self.loop.create_future()
        self._waiters.setdefault(key, []).append(waiter)
        deadline = self.loop.time() + self.timeout
        interval = 0.25
        try:
            while True:
                with contextlib.suppress(OSError):
                    sock.sendto(query, self.target)
                remaining = deadline - self.loop.time()
                if remaining <= 0:
                    return None
                try:
                    return await asyncio.wait_for(
                        asyncio.shield(waiter), timeout=min(interval, remaining)
                    )
                except asyncio.TimeoutError:
                    interval *= 2
        finally:
            waiters = self._waiters.get(key)
            if waiters and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[key]
            if not waiter.done():
                waiter.cancel()

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None


# -- the connection ---------------------------------------------------------------------


class IceConnection:
    """One ICE component over UDP sockets, driven on an asyncio loop.

    See the module docstring for the callbacks (``on_payload``,
    ``on_batch_end``, ``on_event``) and :meth:`send_payload`.
    """

    def __init__(
        self,
        controlling: bool,
        *,
        stun_servers: Iterable[Address] = (),
        addresses: Iterable[str] | None = None,
        use_ipv4: bool = True,
        use_ipv6: bool = True,
        include_loopback: bool = False,
        port_range: tuple[int, int] | None = None,
        stun_timeout: float = 2.0,
        mdns_timeout: float = 3.0,
        mdns_target: Address = MDNS_ADDRESS,
        on_payload: Callable[[bytes], None] | None = None,
        on_batch_end: Callable[[], None] | None = None,
        on_event: Callable[[object], None] | None = None,
        rng: random.Random | None = None,
        agent: IceAgent | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = asyncio.new_event_loop()
        self.loop = loop
        self._rng = rng or random.SystemRandom()
        self.agent = agent or IceAgent(controlling, rng=self._rng)
        self.stun_servers = list(stun_servers)
        self.addresses = list(addresses) if addresses is not None else None
        self.use_ipv4 = use_ipv4
        self.use_ipv6 = use_ipv6
        self.include_loopback = include_loopback
        self.port_range = port_range
        self.stun_timeout = stun_timeout
        self.on_payload = on_payload
        self.on_batch_end = on_batch_end
        self.on_event = on_event
        self._sockets: dict[int, socket.socket] = {}
        self._ports: dict[int, DatagramPort] = {}
        self._next_socket_id = 1
        self._timer = DeadlineTimer(self.loop, self._on_timer)
        self._send_sock: socket.socket | None = None
        self._send_port: DatagramPort | None = None
        self._send_address: Address | None = None
        self._valid_routes = self.agent.valid_routes
        self._connected: asyncio.Future[None] = self.loop.create_future()
        self._gather_waiters: dict[bytes, asyncio.Future[Address]] = {}
        self._intercepts: dict[tuple[int, Address], Callable[[bytes], None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._gathered = asyncio.Event()
        self._gathering_holds = 0
        self._gathering_ended = False
        self._timer_sources: list[TimerSource] = []
        self._closed = False
        self._mdns = MdnsResolver(self.loop, target=mdns_target, timeout=mdns_timeout)
        self.datagrams_received = 0
        self.datagrams_sent = 0
        self.send_errors = 0
        self.counters: dict[tuple[int, Address], RouteCounters] = {}
        self._send_counters: RouteCounters | None = None
        self.mdns_results: dict[str, str | None] = {}  # name -> address (None: unresolved)

    # -- credentials and candidates ----------------------------------------------
    @property
    def local_ufrag(self) -> str:
        return self.agent.local_ufrag

    @property
    def local_pwd(self) -> str:
        return self.agent.local_pwd

    @property
    def local_candidates(self) -> list[Candidate]:
        return self.agent.local_candidates

    @property
    def state(self) -> IceState:
        return self.agent.state

    @property
    def controlling(self) -> bool:
        return self.agent.controlling

    @controlling.setter
    def controlling(self, value: bool) -> None:
        """Settable until checks start (JSEP decides the role at negotiation)."""
        self.agent.set_role(value)

    def set_remote_credentials(self, ufrag: str, pwd: str) -> None:
        self.agent.set_remote_credentials(ufrag, pwd)
        self._service()

    def add_remote_candidate(self, candidate: Candidate | None) -> None:
        """A remote candidate (``None``: end-of-candidates); mDNS names are resolved."""
        if candidate is not None and candidate.is_mdns:
            self._spawn(self._resolve_and_add(candidate))
            return
        self.agent.add_remote_candidate(candidate)
        self._service()

    async def _resolve_and_add(self, candidate: Candidate) -> None:
        address = await self._mdns.resolve(candidate.address)
        self.mdns_results[candidate.address] = address
        if address is None:
            logger.info(
                "mDNS name %s did not resolve; relying on peer-reflexive", candidate.address
            )
            return
        if self._closed:
            return
        self.agent.add_remote_candidate(replace(candidate, address=address))
        self._service()

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task: asyncio.Task[None] = self.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- gathering ---------------------------------------------------------------
    async def gather(self) -> None:
        """Bind host sockets and announce host candidates now; srflx follow.

        Returns once host candidates are announced; server-reflexive ones are
        queried in the background and end-of-candidates follows them (see
        :meth:`wait_gathered`).
        """
        if self.addresses is not None:
            addresses = [
                a
                for a in self.addresses
                if (":" in a and self.use_ipv6) or (":" not in a and self.use_ipv4)
            ]
        else:
            addresses = local_addresses(self.use_ipv4, self.use_ipv6, self.include_loopback)
        bound: list[tuple[int, str]] = []
        for address in addresses:
            try:
                sock = bind_udp(address, self.port_range, self._rng)
            except OSError as exc:
                logger.warning("cannot bind UDP on %s: %s", address, exc)
                continue
            socket_id = self._add_socket(sock)
            host, port = sock.getsockname()[:2]
            self.agent.add_local_candidate(socket_id, host, port, "host")
            bound.append((socket_id, host))
        self._service()
        queries = [
            self._query_srflx(socket_id, server)
            for socket_id, host in bound
            if ":" not in host
            for server in self.stun_servers
        ]
        if queries:
            self._spawn(self._finish_gathering(queries))
        else:
            self._end_gathering()

    async def _finish_gathering(self, queries: list[Coroutine[object, object, None]]) -> None:
        await asyncio.gather(*queries, return_exceptions=True)
        self._end_gathering()

    def hold_gathering(self) -> None:
        """Keep end-of-candidates back until a matching :meth:`release_gathering`.

        For candidates gathered outside :meth:`gather` (TURN relays, other
        ports): host and server-reflexive gathering may finish first, and
        ``GatheringComplete`` then waits for the last release.
        """
        self._gathering_holds += 1

    def release_gathering(self) -> None:
        """End one :meth:`hold_gathering`; end-of-candidates follows if it was due."""
        if self._gathering_holds > 0:
            self._gathering_holds -= 1
        if self._gathering_holds == 0 and self._gathering_ended:
            self._end_gathering()

    def _end_gathering(self) -> None:
        self._gathering_ended = True
        if self._gathering_holds or self._closed:
            return
        self.agent.end_of_local_candidates()
        self._gathered.set()
        self._service()

    async def wait_gathered(self) -> None:
        await self._gathered.wait()

    def _add_socket(self, sock: socket.socket) -> int:
        socket_id = self._next_socket_id
        self._next_socket_id += 1
        self._sockets[socket_id] = sock
        self.loop.add_reader(sock.fileno(), self._readable, socket_id, sock)
        return socket_id

    async def _query_srflx(self, socket_id: int, server: Address) -> None:
        sock = self._sockets[socket_id]
        try:
            infos = await self.loop.getaddrinfo(
                server[0], server[1], family=socket.AF_INET, type=socket.SOCK_DGRAM
            )
        except OSError:
            return
        if not infos:
            return
        server_address = (str(infos[0][4][0]), int(infos[0][4][1]))
        request = StunMessage(Method.BINDING, MessageClass.REQUEST)
        data = request.encode(fingerprint=True)
        waiter: asyncio.Future[Address] = self.loop.create_future()
        self._gather_waiters[request.transaction_id] = waiter
        deadline = self.loop.time() + self.stun_timeout
        interval = 0.25
        try:
            while not waiter.done():
                with contextlib.suppress(OSError):
                    sock.sendto(data, server_address)
                remaining = deadline - self.loop.time()
                if remaining <= 0:
                    return
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(waiter), min(interval, remaining))
                interval *= 2
            mapped = waiter.result()
        finally:
            self._gather_waiters.pop(request.transaction_id, None)
        if self._closed:
            return
        host, port = sock.getsockname()[:2]
        if mapped == (host, port):
            return  # not behind a NAT: the srflx equals the host candidate
        self.agent.add_local_candidate(
            socket_id,
            mapped[0],
            mapped[1],
            "srflx",
            related_address=host,
            related_port=port,
            server=f"{server_address[0]}:{server_address[1]}",
        )
        self._service()

    def _gather_response(self, data: bytes) -> bool:
        waiter = self._gather_waiters.get(data[8:20])
        if waiter is None:
            return False
        try:
            message = StunMessage.parse(data)
        except StunParseError:
            return True
        mapped = message.get_address(AttributeType.XOR_MAPPED_ADDRESS) or message.get_address(
            AttributeType.MAPPED_ADDRESS
        )
        if message.message_class == MessageClass.SUCCESS and mapped and not waiter.done():
            waiter.set_result(mapped)
        return True

    # -- other datagram ports (TURN relays) -----------------------------------------
    @property
    def host_sockets(self) -> list[tuple[int, Address]]:
        """``(socket id, local address)`` of every bound host socket."""
        out: list[tuple[int, Address]] = []
        for socket_id, sock in self._sockets.items():
            name = sock.getsockname()
            out.append((socket_id, (str(name[0]), int(name[1]))))
        return out

    def intercept(
        self, socket_id: int, remote_address: Address, handler: Callable[[bytes], None] | None
    ) -> None:
        """Hand every datagram from ``remote_address`` on a host socket to ``handler``.

        For a TURN client that talks to its server through a host socket:
        the server's datagrams (STUN responses, Data indications, ChannelData)
        go to the client instead of the agent. ``None`` removes the handler.
        """
        key = (socket_id, remote_address)
        if handler is None:
            self._intercepts.pop(key, None)
        else:
            self._intercepts[key] = handler

    def sendto(self, socket_id: int, data: bytes, address: Address) -> None:
        """Send a raw datagram from a host socket (e.g. to a TURN server)."""
        sock = self._sockets.get(socket_id)
        if sock is None:
            raise KeyError(f"no host socket {socket_id}")
        with contextlib.suppress(BlockingIOError, InterruptedError):
            sock.sendto(data, address)

    def add_port(
        self,
        port: DatagramPort,
        address: str,
        port_number: int,
        candidate_type: str = "relay",
        related_address: str | None = None,
        related_port: int | None = None,
        server: str = "",
        local_preference: int | None = None,
    ) -> int:
        """Register a non-socket datagram transport (e.g. a TURN allocation).

        Returns its socket id; its candidate is announced like any other.
        ``local_preference`` (RFC 8445 section 5.1.2.1) ranks it among the
        candidates of its type (e.g. relays over UDP above TCP above TLS).
        """
        socket_id = self._next_socket_id
        self._next_socket_id += 1
        self._ports[socket_id] = port
        self.agent.add_local_candidate(
            socket_id,
            address,
            port_number,
            candidate_type,
            related_address=related_address,
            related_port=related_port,
            local_preference=local_preference,
            server=server,
        )
        self._service()
        return socket_id

    def port_datagram_received(
        self, socket_id: int, data: bytes, address: Address, *, end_batch: bool = True
    ) -> None:
        """A datagram arrived through a port registered with :meth:`add_port`.

        ``end_batch`` False leaves the ``on_batch_end`` call to the port, which
        then calls :meth:`end_port_batch` once after a batch of datagrams.
        """
        route = (socket_id, address)
        if data and data[0] >= 4 and route in self._valid_routes:
            self._count_received(route, 1, len(data))
            if self.on_payload is not None:
                self.on_payload(data)
        else:
            self.agent.receive_datagram(data, self.loop.time(), socket_id, address)
            self._service()
        if end_batch and self.on_batch_end is not None:
            self.on_batch_end()

    def end_port_batch(self) -> None:
        """A port delivered a batch (see :meth:`port_datagram_received`)."""
        if self.on_batch_end is not None and not self._closed:
            self.on_batch_end()

    # -- the hot path --------------------------------------------------------------
    def _readable(self, socket_id: int, sock: socket.socket) -> None:
        on_payload = self.on_payload
        valid = self._valid_routes
        agent = self.agent
        stun = False
        count = 0
        recvfrom = sock.recvfrom
        # Payload is counted per route once per run of datagrams from one route.
        run_route: tuple[int, Address] | None = None
        run_packets = run_bytes = 0
        # A bounded batch: the layers above answer (SCTP SACKs) once per batch,
        # and a socket left readable wakes this reader again on the next round.
        for _ in range(READ_BATCH):
            try:
                data, address = recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue  # an ICMP error reported on the socket (port unreachable...)
            count += 1
            if len(address) > 2:
                address = address[:2]
            if data and data[0] >= 4:
                route = (socket_id, address)
                if route in valid:
                    if route != run_route:
                        if run_route is not None:
                            self._count_received(run_route, run_packets, run_bytes)
                        run_route, run_packets, run_bytes = route, 0, 0
                    run_packets += 1
                    run_bytes += len(data)
                    if on_payload is not None:
                        on_payload(data)
                    continue
            elif self._gather_waiters and len(data) >= 20 and self._gather_response(data):
                continue
            if self._intercepts:
                handler = self._intercepts.get((socket_id, address))
                if handler is not None:
                    handler(data)
                    continue
            agent.receive_datagram(data, self.loop.time(), socket_id, address)
            stun = True
        if run_route is not None:
            self._count_received(run_route, run_packets, run_bytes)
        self.datagrams_received += count
        if stun:
            self._service()
        if self.on_batch_end is not None:
            self.on_batch_end()

    def _route_counters(self, route: tuple[int, Address]) -> RouteCounters:
        counters = self.counters.get(route)
        if counters is None:
            counters = self.counters[route] = RouteCounters()
        return counters

    def _count_received(self, route: tuple[int, Address], packets: int, size: int) -> None:
        counters = self._route_counters(route)
        counters.packets_received += packets
        counters.bytes_received += size

    def send_payload(self, data: bytes) -> None:
        """Send one datagram on the selected pair, straight on its socket."""
        self.send_payloads((data,))

    def send_payloads(self, datagrams: Iterable[bytes]) -> None:
        """Send datagrams on the selected pair, straight on its socket or port.

        Dropped, as UDP would, while there is no selected pair or when the
        socket buffer is full (the layers above retransmit).
        """
        address = self._send_address
        counters = self._send_counters
        if address is None or counters is None:
            return
        sock = self._send_sock
        packets = size = 0
        if sock is not None:
            sendto = sock.sendto
            for data in datagrams:
                try:
                    sendto(data, address)
                except (BlockingIOError, InterruptedError):
                    self.send_errors += 1  # socket buffer full: dropped, as UDP may
                    continue
                except OSError as exc:
                    self.send_errors += 1
                    logger.debug("send to %s failed: %s", address, exc)
                    continue
                packets += 1
                size += len(data)
        elif (port := self._send_port) is not None:
            for data in datagrams:
                port.sendto(data, address)
                packets += 1
                size += len(data)
            flush = getattr(port, "flush", None)
            if flush is not None:
                flush()
        self.datagrams_sent += packets
        counters.packets_sent += packets
        counters.bytes_sent += size

    # -- driving the agent -------------------------------------------------------
    def _service(self) -> None:
        agent = self.agent
        now = self.loop.time()
        flush_ports: set[DatagramPort] = set()
        for socket_id, address, data in agent.datagrams_to_send(now):
            sock = self._sockets.get(socket_id)
            try:
                if sock is not None:
                    sock.sendto(data, address)
                else:
                    port = self._ports.get(socket_id)
                    if port is None:
                        continue
                    port.sendto(data, address)
                    flush_ports.add(port)
            except OSError as exc:
                self.send_errors += 1
                logger.debug("send to %s failed: %s", address, exc)
                continue
            counters = self._route_counters((socket_id, address))
            counters.packets_sent += 1
            counters.bytes_sent += len(data)
        for port in flush_ports:
            flush = getattr(port, "flush", None)
            if flush is not None:
                flush()
        while (event := agent.next_event()) is not None:
            self._handle_event(event)
        self._valid_routes = agent.valid_routes
        self.update_timer()

    # -- the one timer -------------------------------------------------------------
    def add_timer_source(self, source: TimerSource) -> None:
        """Share this connection's one ``call_at`` timer with ``source``.

        The timer is armed at the earliest of the agent's and every source's
        deadline; a source whose deadline has come gets ``handle_timer(now)``.
        Call :meth:`update_timer` after anything that may move its deadline.
        """
        self._timer_sources.append(source)
        self.update_timer()

    def update_timer(self) -> None:
        """Re-arm the timer to the earliest deadline (agent and timer sources)."""
        deadline = self.agent.get_timer()
        for source in self._timer_sources:
            timer = source.get_timer()
            if timer is not None and (deadline is None or timer < deadline):
                deadline = timer
        if not self._closed:
            self._timer.arm(deadline)

    def _on_timer(self, now: float) -> None:
        if self._closed:
            return
        agent_deadline = self.agent.get_timer()
        if agent_deadline is not None and agent_deadline <= now:
            self.agent.handle_timer(now)
        for source in self._timer_sources:
            timer = source.get_timer()
            if timer is not None and timer <= now:
                source.handle_timer(now)
        self._service()

    def _handle_event(self, event: object) -> None:
        if isinstance(event, PayloadReceived):
            self._count_received((event.socket_id, event.remote_address), 1, len(event.data))
            if self.on_payload is not None:
                self.on_payload(event.data)
            return
        if isinstance(event, SelectedPairChanged):
            self._send_sock = self._sockets.get(event.socket_id)
            self._send_port = self._ports.get(event.socket_id)
            self._send_address = event.remote_address
            self._send_counters = self._route_counters((event.socket_id, event.remote_address))
        elif isinstance(event, StateChanged):
            if event.state in (IceState.CONNECTED, IceState.COMPLETED):
                if not self._connected.done():
                    self._connected.set_result(None)
            elif event.state is IceState.FAILED:
                self._send_sock = None
                self._send_port = None
                self._send_address = None
                if not self._connected.done():
                    self._connected.set_exception(ConnectionError("ICE failed"))
                    self._connected.exception()  # retrieved: nobody may be waiting
        if self.on_event is not None:
            self.on_event(event)

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        """Begin connectivity checks (remote candidates may still trickle in)."""
        self.agent.start(self.loop.time())
        self._service()

    async def connect(self) -> None:
        """Start checks and wait until a pair is usable; raises ConnectionError on failure."""
        self.start()
        await asyncio.shield(self._connected)

    def restart(self) -> None:
        """ICE restart: new local credentials; the current pair keeps working."""
        self.agent.restart()
        self._service()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.agent.close()
        while (event := self.agent.next_event()) is not None:
            if self.on_event is not None and not isinstance(event, PayloadReceived):
                self.on_event(event)
        self._timer.cancel()
        for sock in self._sockets.values():
            with contextlib.suppress(Exception):
                self.loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets.clear()
        self._send_sock = None
        self._send_port = None
        self._send_address = None
        for task in self._tasks:
            task.cancel()
        self._mdns.close()
        if not self._connected.done():
            self._connected.set_exception(ConnectionError("ICE connection closed"))
            self._connected.exception()  # mark retrieved
