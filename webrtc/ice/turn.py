"""The sans-I/O TURN client: one allocation on one TURN server (RFC 8656).

:class:`TurnClient` owns no socket and reads no clock. It is driven like every
engine of the stack (DESIGN.md section 1): feed it what the server sent with
:meth:`~TurnClient.receive_datagram` (whole datagrams over UDP, stream chunks
over TCP and TLS), put :meth:`~TurnClient.datagrams_to_send` on the wire to
:attr:`~TurnClient.server_address`, call :meth:`~TurnClient.handle_timer` at
:meth:`~TurnClient.get_timer`, and drain :meth:`~TurnClient.next_event`.

What it does, by section of RFC 8656:

- 7.1/7.3: Allocate with long-term credentials (RFC 8489 section 9.2): the
  first request goes without credentials, the 401 brings REALM and NONCE,
  the retry carries USERNAME, REALM, NONCE and MESSAGE-INTEGRITY. When the
  nonce cookie says the server supports password algorithms and it offers
  PASSWORD-ALGORITHMS, the first one we support is used (SHA-256 keys with
  MESSAGE-INTEGRITY-SHA256). A 401 to an authenticated request is a wrong
  user name or password: the allocation fails at once with the server's code
  and reason. 438 (stale nonce) retries with the new nonce, 300 moves to the
  ALTERNATE-SERVER, any other error fails with its code and reason.
- 7.2/8: Refresh before the allocation's lifetime ends; Refresh with
  LIFETIME 0 on :meth:`~TurnClient.close`.
- 9: CreatePermission for each peer IP address we send to, refreshed before
  the 300-second permission lifetime (section 9) ends.
- 11: Send indications, and Data indications from the server.
- 12: ChannelBind for each peer we send to (numbers from 0x4000), refreshed
  before the 10-minute channel lifetime ends; once bound, data goes in
  ChannelData messages (padded to 4 bytes over TCP and TLS, section 12.5).

Data to a peer whose permission is not installed yet waits (a bounded queue)
rather than being sent into a server that would silently drop it.
"""

from __future__ import annotations

import enum
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass

from webrtc.ice.stun import (
    AttributeType,
    MessageClass,
    Method,
    PasswordAlgorithm,
    StunMessage,
    StunParseError,
    StunTransaction,
    TransactionState,
    long_term_key,
)
from webrtc.ice.turn_framing import (
    CHANNEL_MAX,
    CHANNEL_MIN,
    StreamDeframer,
    TurnParseError,
    encode_channel_data,
)

__all__ = [
    "Address",
    "Allocated",
    "AllocationFailed",
    "AllocationLost",
    "AllocationRefreshed",
    "ChannelBindFailed",
    "ChannelBound",
    "DataReceived",
    "Deallocated",
    "PermissionCreated",
    "PermissionFailed",
    "Redirected",
    "TurnClient",
    "TurnEvent",
    "TurnState",
]

Address = tuple[str, int]
A = AttributeType

REQUESTED_TRANSPORT_UDP = 17  # RFC 8656 section 14.7: the IANA protocol number
DEFAULT_LIFETIME = 600  # seconds, what we ask for (RFC 8656 section 3.2 default)
PERMISSION_LIFETIME = 300.0  # RFC 8656 section 9
CHANNEL_LIFETIME = 600.0  # RFC 8656 section 12
NONCE_COOKIE = "obMatJos2"  # RFC 8489 section 9.2: the nonce cookie prefix
_FEATURE_PASSWORD_ALGORITHMS = 0x800000  # the first bit of the 24-bit feature set
_SUPPORTED_ALGORITHMS = (PasswordAlgorithm.MD5, PasswordAlgorithm.SHA256)
_MAX_PENDING_PER_PEER = 64
_MAX_STALE_RETRIES = 3
_CHANNEL_HEADER = struct.Struct("!HH")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class TurnState(enum.Enum):
    IDLE = "idle"
    ALLOCATING = "allocating"
    ALLOCATED = "allocated"
    CLOSING = "closing"
    CLOSED = "closed"
    FAILED = "failed"


# -- events --------------------------------------------------------------------


@dataclass(frozen=True)
class Allocated:
    """The server granted the allocation."""

    relayed_address: Address
    mapped_address: Address | None
    lifetime: int


@dataclass(frozen=True)
class AllocationFailed:
    """No allocation: the server's error ``code`` and ``reason``, or ``code`` None
    when the server never answered or the connection to it failed."""

    code: int | None
    reason: str


@dataclass(frozen=True)
class AllocationRefreshed:
    lifetime: int


@dataclass(frozen=True)
class AllocationLost:
    """An allocation we had is gone (refresh refused or unanswered, connection lost)."""

    code: int | None
    reason: str


@dataclass(frozen=True)
class Redirected:
    """300 Try Alternate: the client now talks to ``server`` (a new connection over TCP).

    ``domain`` is the ALTERNATE-DOMAIN the new server's TLS certificate must
    match (RFC 8489 section 14.16), or None to keep the original name.
    """

    server: Address
    domain: str | None = None


@dataclass(frozen=True)
class PermissionCreated:
    peer_host: str


@dataclass(frozen=True)
class PermissionFailed:
    peer_host: str
    code: int | None
    reason: str


@dataclass(frozen=True)
class ChannelBound:
    peer: Address
    channel: int


@dataclass(frozen=True)
class ChannelBindFailed:
    peer: Address
    code: int | None
    reason: str


@dataclass(frozen=True)
class DataReceived:
    """Data a peer sent to our relayed address."""

    peer: Address
    data: bytes


@dataclass(frozen=True)
class Deallocated:
    """:meth:`TurnClient.close` finished: the allocation is released (or timed out)."""


TurnEvent = (
    Allocated
    | AllocationFailed
    | AllocationRefreshed
    | AllocationLost
    | Redirected
    | PermissionCreated
    | PermissionFailed
    | ChannelBound
    | ChannelBindFailed
    | DataReceived
    | Deallocated
)


# -- internal bookkeeping ------------------------------------------------------


class _Kind(enum.Enum):
    ALLOCATE = Method.ALLOCATE
    REFRESH = Method.REFRESH
    PERMISSION = Method.CREATE_PERMISSION
    CHANNEL = Method.CHANNEL_BIND


class _Request:
    """One request in flight, with what is needed to re-send it with new credentials."""

    __slots__ = (
        "attributes",
        "authenticated",
        "kind",
        "nonce",
        "peer",
        "schedules",
        "stale_retries",
        "transaction",
    )

    def __init__(
        self,
        kind: _Kind,
        attributes: list[tuple[int, object]],
        peer: Address | None,
    ) -> None:
        self.kind = kind
        self.attributes = attributes
        self.peer = peer
        self.stale_retries = 0
        self.schedules = 1
        self.authenticated = False
        self.nonce: str | None = None
        self.transaction: StunTransaction | None = None


class _Permission:
    __slots__ = ("expires", "installed", "pending", "refresh_at", "refreshing")

    def __init__(self) -> None:
        self.installed = False
        self.refreshing = False
        self.refresh_at: float | None = None
        self.expires: float | None = None
        self.pending: list[tuple[Address, bytes]] = []


class _Channel:
    __slots__ = ("bound", "expires", "number", "refresh_at", "refreshing")

    def __init__(self, number: int) -> None:
        self.number = number
        self.bound = False
        self.refreshing = False
        self.refresh_at: float | None = None
        self.expires: float | None = None


def _refresh_margin(lifetime: float) -> float:
    """How long before expiry to refresh: a minute, or half of a short lifetime."""
    return min(60.0, lifetime / 2)


def _nonce_features(nonce: str) -> int:
    """The 24-bit security feature set of an RFC 8489 nonce cookie (0 without one)."""
    if not nonce.startswith(NONCE_COOKIE) or len(nonce) < len(NONCE_COOKIE) + 4:
        return 0
    value = 0
    for char in nonce[len(NONCE_COOKIE) : len(NONCE_COOKIE) + 4]:
        index = _B64.find(char)
        if index < 0:
            return 0
        value = (value << 6) | index
    return value


class TurnClient:
    """One TURN allocation, sans-I/O (see the module docstring).

    ``transport`` is ``"udp"``, ``"tcp"`` or ``"tls"``: over UDP requests are
    retransmitted (RFC 8489 section 6.2.1), over TCP and TLS the engine frames
    and deframes the byte stream itself and a request times out after 39.5 s.
    ``permission_lifetime`` and ``channel_lifetime`` are the server's (RFC
    values by default; a server configured shorter must be told, as TURN
    responses do not carry them). ``allocate_schedules`` is how many times the
    Allocate retransmission schedule (39.5 s each) runs before the allocation
    fails as unanswered. ``random_bytes`` makes transaction ids deterministic
    in tests.
    """

    def __init__(
        self,
        server: Address,
        username: str,
        password: str,
        transport: str = "udp",
        *,
        lifetime: int = DEFAULT_LIFETIME,
        permission_lifetime: float = PERMISSION_LIFETIME,
        channel_lifetime: float = CHANNEL_LIFETIME,
        auto_bind_channels: bool = True,
        software: str | None = None,
        requested_address_family: int | None = None,
        max_redirects: int = 3,
        allocate_schedules: int = 2,
        rto: float = 0.5,
        rc: int = 7,
        rm: int = 16,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if transport not in ("udp", "tcp", "tls"):
            raise ValueError(f"unknown TURN transport {transport!r}")
        self.server_address: Address = server
        self.transport = transport
        self.username = username
        self.password = password
        self.requested_lifetime = lifetime
        self.permission_lifetime = permission_lifetime
        self.channel_lifetime = channel_lifetime
        self.auto_bind_channels = auto_bind_channels
        self.software = software
        self.requested_address_family = requested_address_family
        self.max_redirects = max_redirects
        self.allocate_schedules = allocate_schedules
        self._rto = rto
        self._rc = rc
        self._rm = rm
        self._random_bytes = random_bytes
        self._stream = transport != "udp"
        self._deframer = StreamDeframer() if self._stream else None

        self.state = TurnState.IDLE
        self.relayed_address: Address | None = None
        self.mapped_address: Address | None = None
        self.lifetime = 0
        self.expires_at: float | None = None
        self._refresh_at: float | None = None
        self._refreshing = False

        # Long-term credential state (RFC 8489 section 9.2).
        self.realm: str | None = None
        self.nonce: str | None = None
        self.password_algorithm: int | None = None  # None: plain RFC 5389 MD5 key
        self._algorithms: tuple[PasswordAlgorithm, ...] | None = None
        self._key: bytes | None = None
        self._redirects: list[Address] = [server]

        self._requests: dict[bytes, _Request] = {}
        self._outgoing: list[bytes] = []
        self._events: list[TurnEvent] = []
        self._permissions: dict[str, _Permission] = {}
        self._channels: dict[Address, _Channel] = {}
        self._channel_peers: dict[int, Address] = {}
        self._next_channel = CHANNEL_MIN
        self._timer_valid = False
        self._timer_cache: float | None = None

        # Counters of what was dropped, for diagnostics.
        self.dropped_malformed = 0
        self.dropped_unmatched = 0
        self.dropped_unauthenticated = 0
        self.dropped_sends = 0

    # -- public API ------------------------------------------------------
    @property
    def permissions(self) -> list[str]:
        """Peer IP addresses with an installed permission."""
        return [host for host, p in self._permissions.items() if p.installed]

    def channel_for(self, peer: Address) -> int | None:
        """The bound channel number for ``peer``, or None."""
        channel = self._channels.get(peer)
        return channel.number if channel is not None and channel.bound else None

    def allocate(self, now: float) -> None:
        """Start the Allocate transaction."""
        if self.state is not TurnState.IDLE:
            raise RuntimeError(f"allocate() in state {self.state.value}")
        self._timer_valid = False
        self.state = TurnState.ALLOCATING
        self._start_allocate(now)

    def create_permission(self, peer_host: str, now: float) -> None:
        """Install (and keep refreshing) a permission for ``peer_host``."""
        self._timer_valid = False
        if self.state is TurnState.ALLOCATED and peer_host not in self._permissions:
            self._permissions[peer_host] = _Permission()
            self._send_permission(peer_host, now)

    def bind_channel(self, peer: Address, now: float) -> None:
        """Bind a channel to ``peer`` (and keep it bound)."""
        self._timer_valid = False
        if self.state is not TurnState.ALLOCATED or peer in self._channels:
            return
        if self._next_channel > CHANNEL_MAX:
            self._events.append(ChannelBindFailed(peer, None, "no channel numbers left"))
            return
        channel = _Channel(self._next_channel)
        self._next_channel += 1
        self._channels[peer] = channel
        self._channel_peers[channel.number] = peer
        self._send_channel_bind(peer, channel, now)

    def send_to(self, data: bytes, peer: Address, now: float) -> bool:
        """Relay ``data`` to ``peer``. False if it was dropped (no allocation, queue full)."""
        channel = self._channels.get(peer)
        if channel is not None and channel.bound:
            self._outgoing.append(encode_channel_data(channel.number, data, self._stream))
            return True
        self._timer_valid = False
        if self.state is not TurnState.ALLOCATED:
            self.dropped_sends += 1
            return False
        permission = self._permissions.get(peer[0])
        if permission is None:
            self.create_permission(peer[0], now)
            permission = self._permissions[peer[0]]
        if channel is None and self.auto_bind_channels:
            self.bind_channel(peer, now)
        if permission.installed:
            self._outgoing.append(self._send_indication(data, peer))
            return True
        if len(permission.pending) >= _MAX_PENDING_PER_PEER:
            self.dropped_sends += 1
            return False
        permission.pending.append((peer, data))
        return True

    def close(self, now: float) -> None:
        """Release the allocation (Refresh with LIFETIME 0, RFC 8656 section 7.2)."""
        self._timer_valid = False
        if self.state in (TurnState.CLOSING, TurnState.CLOSED, TurnState.FAILED):
            return
        was_allocated = self.state is TurnState.ALLOCATED
        self._requests.clear()
        self._permissions.clear()
        self._channels.clear()
        self._channel_peers.clear()
        self._refresh_at = None
        if not was_allocated:
            self.state = TurnState.CLOSED
            self._events.append(Deallocated())
            return
        self.state = TurnState.CLOSING
        self._start(_Kind.REFRESH, [(A.LIFETIME, 0)], None, now)

    def connection_lost(self, now: float, reason: str = "connection to the server lost") -> None:
        """The TCP/TLS connection to the server closed or failed."""
        self._terminate(None, reason)

    # -- engine contract -------------------------------------------------
    def receive_datagram(self, data: bytes, now: float) -> None:
        """Bytes from the server: a datagram (UDP) or the next chunk of the stream."""
        if self._deframer is None:
            self._receive_message(data, now)
            return
        if self._deframer.broken:
            return
        try:
            frames = self._deframer.feed(data)
        except TurnParseError as exc:
            self.dropped_malformed += 1
            self._terminate(None, f"garbage in the stream from the server: {exc}")
            return
        for frame in frames:
            self._receive_message(frame, now)

    def datagrams_to_send(self, now: float) -> list[bytes]:
        out, self._outgoing = self._outgoing, []
        return out

    def get_timer(self) -> float | None:
        # Cached: the relay fast paths (ChannelData out and in) change no timer,
        # everything else invalidates the cache.
        if self._timer_valid:
            return self._timer_cache
        self._timer_cache = self._compute_timer()
        self._timer_valid = True
        return self._timer_cache

    def _compute_timer(self) -> float | None:
        deadline: float | None = None
        for request in self._requests.values():
            transaction = request.transaction
            if transaction is not None:
                timer = transaction.deadline
                if timer is not None and (deadline is None or timer < deadline):
                    deadline = timer
        if self.state is not TurnState.ALLOCATED:
            return deadline
        candidates = [self._refresh_at if not self._refreshing else self.expires_at]
        for permission in self._permissions.values():
            candidates.append(None if permission.refreshing else permission.refresh_at)
        for channel in self._channels.values():
            candidates.append(None if channel.refreshing else channel.refresh_at)
        for timer in candidates:
            if timer is not None and (deadline is None or timer < deadline):
                deadline = timer
        return deadline

    def handle_timer(self, now: float) -> None:
        self._timer_valid = False
        for transaction_id, request in list(self._requests.items()):
            transaction = request.transaction
            if transaction is None or self._requests.get(transaction_id) is not request:
                continue
            transaction.handle_timer(now)
            self._outgoing += transaction.datagrams_to_send(now)
            if transaction.state is TransactionState.TIMED_OUT:
                if request.kind is _Kind.ALLOCATE and request.schedules < self.allocate_schedules:
                    # Run the retransmission schedule again with the same
                    # transaction id: a server that created the allocation
                    # but whose answers were lost resends its success for a
                    # retransmission (RFC 8656 section 7.2), where a new
                    # transaction would get 437 Allocation Mismatch.
                    request.schedules += 1
                    request.transaction = self._transaction(transaction.request, now)
                    self._outgoing += request.transaction.datagrams_to_send(now)
                    continue
                del self._requests[transaction_id]
                self._on_timeout(request, now)
        if self.state is not TurnState.ALLOCATED:
            return
        if self.expires_at is not None and now >= self.expires_at:
            self._terminate(None, "the allocation expired: refreshes went unanswered")
            return
        if not self._refreshing and self._refresh_at is not None and now >= self._refresh_at:
            self._refreshing = True
            self._start(_Kind.REFRESH, [(A.LIFETIME, self.requested_lifetime)], None, now)
        for host, permission in self._permissions.items():
            if (
                not permission.refreshing
                and permission.refresh_at is not None
                and now >= permission.refresh_at
            ):
                self._send_permission(host, now)
        for peer, channel in self._channels.items():
            if (
                not channel.refreshing
                and channel.refresh_at is not None
                and now >= channel.refresh_at
            ):
                self._send_channel_bind(peer, channel, now)

    def next_event(self) -> TurnEvent | None:
        return self._events.pop(0) if self._events else None

    # -- requests --------------------------------------------------------
    def _start_allocate(self, now: float) -> None:
        attributes: list[tuple[int, object]] = [(A.REQUESTED_TRANSPORT, REQUESTED_TRANSPORT_UDP)]
        if self.requested_address_family is not None:
            attributes.append((A.REQUESTED_ADDRESS_FAMILY, self.requested_address_family))
        attributes.append((A.LIFETIME, self.requested_lifetime))
        self._start(_Kind.ALLOCATE, attributes, None, now)

    def _send_permission(self, host: str, now: float) -> None:
        self._permissions[host].refreshing = True
        self._start(_Kind.PERMISSION, [(A.XOR_PEER_ADDRESS, (host, 0))], (host, 0), now)

    def _send_channel_bind(self, peer: Address, channel: _Channel, now: float) -> None:
        channel.refreshing = True
        attributes: list[tuple[int, object]] = [
            (A.CHANNEL_NUMBER, channel.number),
            (A.XOR_PEER_ADDRESS, peer),
        ]
        self._start(_Kind.CHANNEL, attributes, peer, now)

    def _start(
        self,
        kind: _Kind,
        attributes: list[tuple[int, object]],
        peer: Address | None,
        now: float,
        previous: _Request | None = None,
    ) -> None:
        request = previous if previous is not None else _Request(kind, attributes, peer)
        message = StunMessage(
            kind.value, MessageClass.REQUEST, self._random_bytes(12), request.attributes
        )
        if self.software is not None:
            message.add(A.SOFTWARE, self.software)
        integrity_key: bytes | None = None
        sha256_key: bytes | None = None
        request.authenticated = False
        request.nonce = None
        if self._key is not None and self.realm is not None and self.nonce is not None:
            message.add(A.USERNAME, self.username)
            message.add(A.REALM, self.realm)
            message.add(A.NONCE, self.nonce)
            if self._algorithms is not None and self.password_algorithm is not None:
                message.add(A.PASSWORD_ALGORITHMS, self._algorithms)
                message.add(A.PASSWORD_ALGORITHM, PasswordAlgorithm(self.password_algorithm))
            if self._algorithms is not None:
                # The server offered PASSWORD-ALGORITHMS: it speaks RFC 8489,
                # so requests carry MESSAGE-INTEGRITY-SHA256 (section 9.2.4).
                sha256_key = self._key
            else:
                integrity_key = self._key
            request.authenticated = True
            request.nonce = self.nonce
        encoded = message.encode(integrity_key, integrity_sha256_key=sha256_key, fingerprint=True)
        request.schedules = 1
        request.transaction = transaction = self._transaction(encoded, now)
        self._requests[message.transaction_id] = request
        self._outgoing += transaction.datagrams_to_send(now)

    def _transaction(self, encoded: bytes, now: float) -> StunTransaction:
        if self._stream:
            # RFC 8489 section 6.2.2: no retransmissions over TCP, 39.5 s timeout.
            return StunTransaction(encoded, now, rto=0.5, rc=1, rm=79)
        return StunTransaction(encoded, now, rto=self._rto, rc=self._rc, rm=self._rm)

    def _send_indication(self, data: bytes, peer: Address) -> bytes:
        message = StunMessage(
            Method.SEND,
            MessageClass.INDICATION,
            self._random_bytes(12),
            [(A.XOR_PEER_ADDRESS, peer), (A.DATA, data)],
        )
        return bytes(message)

    # -- receiving -------------------------------------------------------
    def _receive_message(self, data: bytes, now: float) -> None:
        if len(data) < 4:
            self.dropped_malformed += 1
            return
        first = data[0]
        if 0x40 <= first <= 0x4F:
            self._receive_channel_data(data)
            return
        if first >= 0x40:
            self.dropped_malformed += 1
            return
        try:
            message = StunMessage.parse(data)
        except StunParseError:
            self.dropped_malformed += 1
            return
        if message.message_class == MessageClass.INDICATION:
            if message.method == Method.DATA:
                self._receive_data_indication(message)
            else:
                self.dropped_unmatched += 1
            return
        if message.message_class == MessageClass.REQUEST:
            self.dropped_unmatched += 1
            return
        request = self._requests.get(message.transaction_id)
        if request is None or request.kind.value != message.method:
            self.dropped_unmatched += 1
            return
        self._receive_response(request, message, now)

    def _receive_channel_data(self, data: bytes) -> None:
        channel, length = _CHANNEL_HEADER.unpack_from(data)
        peer = self._channel_peers.get(channel)
        if peer is None or len(data) < 4 + length:
            self.dropped_malformed += 1
            return
        self._events.append(DataReceived(peer, bytes(data[4 : 4 + length])))

    def _receive_data_indication(self, message: StunMessage) -> None:
        if self.state is not TurnState.ALLOCATED:
            self.dropped_unmatched += 1
            return
        peer = message.get_address(A.XOR_PEER_ADDRESS)
        payload = message.get_bytes(A.DATA)
        if peer is None or payload is None:
            self.dropped_malformed += 1
            return
        self._events.append(DataReceived(peer, payload))

    def _authentic(self, request: _Request, message: StunMessage) -> bool:
        """RFC 8489 section 9.2.5: responses to authenticated requests must carry
        a valid MESSAGE-INTEGRITY(-SHA256); 401 and 438 responses need not."""
        if not request.authenticated or self._key is None:
            return True
        raw_has_sha256 = any(kind == A.MESSAGE_INTEGRITY_SHA256 for kind, _ in message.attributes)
        if raw_has_sha256:
            return message.verify_integrity_sha256(self._key)
        if message.has_integrity:
            return message.verify_integrity(self._key)
        if message.message_class == MessageClass.ERROR:
            error = message.error_code
            # Servers answer some errors (coturn: 403, 437...) without integrity;
            # an error is not a grant of anything, so it is accepted.
            return error is not None
        return False

    def _receive_response(self, request: _Request, message: StunMessage, now: float) -> None:
        self._timer_valid = False
        error = message.error_code
        is_error = message.message_class == MessageClass.ERROR
        if not (is_error and error is not None and error.code in (401, 438)) and not (
            self._authentic(request, message)
        ):
            self.dropped_unauthenticated += 1
            return
        del self._requests[message.transaction_id]
        if request.transaction is not None:
            request.transaction.response_received(not is_error)
        if not is_error:
            self._on_success(request, message, now)
            return
        code = error.code if error is not None else 0
        reason = error.reason if error is not None else "error response without ERROR-CODE"
        if code == 401 and self._on_unauthorized(request, message, now):
            return
        if code == 438 and self._on_stale_nonce(request, message, now):
            return
        if code == 300 and request.kind is _Kind.ALLOCATE and self._on_redirect(message, now):
            return
        self._on_failure(request, code, reason, now)

    def _on_unauthorized(self, request: _Request, message: StunMessage, now: float) -> bool:
        realm = message.get_str(A.REALM)
        nonce = message.get_str(A.NONCE)
        if realm is None or nonce is None:
            return False
        if request.authenticated and realm == self.realm:
            # Our credentials were refused: a wrong user name or password. RFC
            # 8489 section 9.2.5 forbids retrying without changing them.
            return False
        algorithm: int | None = None
        algorithms: tuple[PasswordAlgorithm, ...] | None = None
        offered = message.get(A.PASSWORD_ALGORITHMS)
        if _nonce_features(nonce) & _FEATURE_PASSWORD_ALGORITHMS and isinstance(offered, tuple):
            algorithms = tuple(item for item in offered if isinstance(item, PasswordAlgorithm))
            supported = [a.algorithm for a in algorithms if a.algorithm in _SUPPORTED_ALGORITHMS]
            if not supported:
                return False
            algorithm = supported[0]
        try:
            key = long_term_key(
                self.username,
                realm,
                self.password,
                algorithm if algorithm is not None else PasswordAlgorithm.MD5,
            )
        except ValueError:
            return False
        self.realm, self.nonce, self._key = realm, nonce, key
        self.password_algorithm, self._algorithms = algorithm, algorithms
        self._start(request.kind, request.attributes, request.peer, now, request)
        return True

    def _on_stale_nonce(self, request: _Request, message: StunMessage, now: float) -> bool:
        nonce = message.get_str(A.NONCE)
        if nonce is None or request.stale_retries >= _MAX_STALE_RETRIES or self._key is None:
            return False
        realm = message.get_str(A.REALM)
        if realm is not None and realm != self.realm:
            return self._on_unauthorized(request, message, now)
        request.stale_retries += 1
        self.nonce = nonce
        self._start(request.kind, request.attributes, request.peer, now, request)
        return True

    def _on_redirect(self, message: StunMessage, now: float) -> bool:
        alternate = message.get_address(A.ALTERNATE_SERVER)
        if (
            alternate is None
            or alternate in self._redirects
            or len(self._redirects) > self.max_redirects
        ):
            return False
        self._redirects.append(alternate)
        self.server_address = alternate
        self.realm = self.nonce = self._key = None
        self.password_algorithm, self._algorithms = None, None
        if self._stream:
            self._deframer = StreamDeframer()
        self._requests.clear()
        self._events.append(Redirected(alternate, message.get_str(A.ALTERNATE_DOMAIN)))
        self._start_allocate(now)
        return True

    def _on_success(self, request: _Request, message: StunMessage, now: float) -> None:
        kind = request.kind
        if kind is _Kind.ALLOCATE:
            if self.state is not TurnState.ALLOCATING:
                return
            relayed = message.get_address(A.XOR_RELAYED_ADDRESS)
            lifetime = message.get_int(A.LIFETIME)
            if relayed is None or lifetime is None:
                self._terminate(None, "Allocate success without XOR-RELAYED-ADDRESS or LIFETIME")
                return
            self.state = TurnState.ALLOCATED
            self.relayed_address = relayed
            self.mapped_address = message.get_address(A.XOR_MAPPED_ADDRESS)
            self._granted(lifetime, now)
            self._events.append(Allocated(relayed, self.mapped_address, lifetime))
        elif kind is _Kind.REFRESH:
            if self.state is TurnState.CLOSING:
                self._closed()
                return
            if self.state is not TurnState.ALLOCATED:
                return
            lifetime = message.get_int(A.LIFETIME)
            if lifetime is None:
                lifetime = self.requested_lifetime
            self._refreshing = False
            self._granted(lifetime, now)
            self._events.append(AllocationRefreshed(lifetime))
        elif kind is _Kind.PERMISSION:
            assert request.peer is not None
            host = request.peer[0]
            permission = self._permissions.get(host)
            if permission is None:
                return
            self._permission_installed(host, permission, now)
        else:
            assert request.peer is not None
            channel = self._channels.get(request.peer)
            if channel is None:
                return
            first_time = not channel.bound
            channel.bound = True
            channel.refreshing = False
            channel.expires = now + self.channel_lifetime
            channel.refresh_at = channel.expires - _refresh_margin(self.channel_lifetime)
            # A ChannelBind installs or refreshes the permission too (section 12).
            permission = self._permissions.get(request.peer[0])
            if permission is not None and not permission.installed:
                self._permission_installed(request.peer[0], permission, now)
            if first_time:
                self._events.append(ChannelBound(request.peer, channel.number))

    def _granted(self, lifetime: int, now: float) -> None:
        self.lifetime = lifetime
        self.expires_at = now + lifetime
        self._refresh_at = now + lifetime - _refresh_margin(lifetime)

    def _permission_installed(self, host: str, permission: _Permission, now: float) -> None:
        first_time = not permission.installed
        permission.installed = True
        permission.refreshing = False
        permission.expires = now + self.permission_lifetime
        permission.refresh_at = permission.expires - _refresh_margin(self.permission_lifetime)
        if first_time:
            self._events.append(PermissionCreated(host))
        pending, permission.pending = permission.pending, []
        for peer, data in pending:
            channel = self._channels.get(peer)
            if channel is not None and channel.bound:
                self._outgoing.append(encode_channel_data(channel.number, data, self._stream))
            else:
                self._outgoing.append(self._send_indication(data, peer))

    def _on_failure(self, request: _Request, code: int | None, reason: str, now: float) -> None:
        kind = request.kind
        if kind is _Kind.ALLOCATE:
            if self.state is TurnState.ALLOCATING:
                self.state = TurnState.FAILED
                self._requests.clear()
                self._events.append(AllocationFailed(code, reason))
        elif kind is _Kind.REFRESH:
            if self.state is TurnState.CLOSING:
                self._closed()
            elif self.state is TurnState.ALLOCATED:
                self._refreshing = False
                if code is None and self.expires_at is not None and now < self.expires_at:
                    # Unanswered but not yet expired: try again right away.
                    self._refresh_at = now
                    return
                self._terminate(code, reason)
        elif kind is _Kind.PERMISSION:
            assert request.peer is not None
            host = request.peer[0]
            permission = self._permissions.get(host)
            if permission is None:
                return
            permission.refreshing = False
            if code is None and permission.expires is not None and now < permission.expires:
                permission.refresh_at = now
                return
            del self._permissions[host]
            self.dropped_sends += len(permission.pending)
            self._events.append(PermissionFailed(host, code, reason))
        else:
            assert request.peer is not None
            channel = self._channels.get(request.peer)
            if channel is None:
                return
            channel.refreshing = False
            if code is None and channel.expires is not None and now < channel.expires:
                channel.refresh_at = now
                return
            del self._channels[request.peer]
            self._channel_peers.pop(channel.number, None)
            self._events.append(ChannelBindFailed(request.peer, code, reason))

    def _on_timeout(self, request: _Request, now: float) -> None:
        self._on_failure(request, None, "the TURN server did not answer", now)

    def _terminate(self, code: int | None, reason: str) -> None:
        """The allocation is unusable: fail or lose it, whatever the state."""
        self._timer_valid = False
        state = self.state
        self._requests.clear()
        self._refresh_at = None
        if state is TurnState.CLOSING:
            self._closed()
            return
        self._permissions.clear()
        self._channels.clear()
        self._channel_peers.clear()
        if state in (TurnState.ALLOCATING, TurnState.IDLE):
            self.state = TurnState.FAILED
            self._events.append(AllocationFailed(code, reason))
        elif state is TurnState.ALLOCATED:
            self.state = TurnState.FAILED
            self._events.append(AllocationLost(code, reason))

    def _closed(self) -> None:
        self.state = TurnState.CLOSED
        self._requests.clear()
        self._events.append(Deallocated())
