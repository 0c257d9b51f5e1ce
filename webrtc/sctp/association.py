"""The sans-I/O SCTP association (RFC 9260 over DTLS, RFC 8261) with data channels (RFC 8832).

See the package docstring (:mod:`webrtc.sctp`) for the public API. Internals:

- TSNs are kept unwrapped (Python ints that never wrap) and reduced modulo
  2**32 only on the wire; incoming TSNs are unwrapped against the nearest
  reference (serial number arithmetic, RFC 1982).
- The sender keeps one record per DATA chunk in flight (``_Sent``, slotted),
  in a dict ordered by TSN; messages are fragmented lazily, when packed.
- The receiver tracks the cumulative TSN and a set of out-of-order TSNs, and
  reassembles messages from runs of consecutive TSNs (RFC 9260 6.9: the
  fragments of one message carry consecutive TSNs), so each fragment costs
  O(1) whatever the arrival order.
- DATA and SACK are read and written straight from the wire with precompiled
  structs; other chunks go through :mod:`webrtc.sctp.packet`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections import deque
from collections.abc import Callable

from crc32c import crc32c

from webrtc.sctp.dcep import (
    PPID_BINARY,
    PPID_BINARY_EMPTY,
    PPID_BINARY_PARTIAL,
    PPID_DCEP,
    PPID_STRING,
    PPID_STRING_EMPTY,
    PPID_STRING_PARTIAL,
    DataChannelAck,
    DataChannelOpen,
    parse_dcep,
)
from webrtc.sctp.errors import SctpParseError
from webrtc.sctp.events import (
    AssociationClosed,
    AssociationEstablished,
    AssociationState,
    BufferedAmountLow,
    ChannelAcknowledged,
    ChannelClosed,
    ChannelOpened,
    CloseReason,
    MessageReceived,
)
from webrtc.sctp.packet import (
    CHECKSUM,
    CHUNK_HEADER,
    COMMON_HEADER,
    DATA_HEADER,
    IDATA_HEADER,
    SACK_FIXED,
    U16_PAIR,
    U32,
    AbortChunk,
    ChunkType,
    CookieAckChunk,
    CookieEchoChunk,
    ErrorChunk,
    ForwardTsnChunk,
    HeartbeatAckChunk,
    HeartbeatChunk,
    IForwardTsnChunk,
    IncomingResetRequest,
    InitAckChunk,
    InitChunk,
    OutgoingResetRequest,
    RawParameter,
    ReconfigChunk,
    ReconfigResponse,
    ShutdownAckChunk,
    ShutdownChunk,
    ShutdownCompleteChunk,
    parse_chunk,
    serialize_parameters,
)

__all__ = ["SctpAssociation"]

MASK32 = 0xFFFFFFFF
_ZERO4 = b"\x00\x00\x00\x00"
_PADDING = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")

# INIT parameters (RFC 9260 3.3.2.1, RFC 3758 3.3.1, RFC 5061 4.2.7).
PARAM_STATE_COOKIE = 7
PARAM_UNRECOGNIZED = 8
PARAM_SUPPORTED_EXTENSIONS = 0x8008
PARAM_FORWARD_TSN_SUPPORTED = 0xC000
# Parameters an INIT may carry that we understand or may ignore silently:
# IPv4/IPv6 addresses, cookie preservative, host name, supported address
# types (RFC 9260), ECN (0x8000), AUTH random/HMAC/chunks (RFC 4895, not
# negotiated by us), zero checksum (RFC 9653), adaptation layer (RFC 5061).
_KNOWN_INIT_PARAMS = frozenset(
    (5, 6, 7, 9, 11, 12, 0x8000, 0x8001, 0x8002, 0x8003, 0x8004, PARAM_SUPPORTED_EXTENSIONS,
     PARAM_FORWARD_TSN_SUPPORTED, 0xC006)
)
# Error causes (RFC 9260 3.3.10).
CAUSE_STALE_COOKIE = 3
CAUSE_UNRECOGNIZED_CHUNK = 6
CAUSE_NO_USER_DATA = 9
CAUSE_PROTOCOL_VIOLATION = 13
CAUSE_USER_INITIATED_ABORT = 12

_COOKIE = struct.Struct("!IIIIHHIdB")
_COOKIE_MAC_SIZE = 32
_HEARTBEAT_INFO = struct.Struct("!d8s")
_DATA_FIELDS = struct.Struct("!IHHI")  # TSN, SID, SSN, PPID after the chunk header
_PORTS_TAG = struct.Struct("!HHI")
_IDATA_FIELDS = struct.Struct("!IHHII")  # TSN, SID, reserved, MID, PPID/FSN
_ESTABLISHED = AssociationState.ESTABLISHED
_DATA_STATES = frozenset(
    (AssociationState.ESTABLISHED, AssociationState.SHUTDOWN_PENDING,
     AssociationState.SHUTDOWN_SENT)
)

_EXT_FORWARD_TSN = 1
_EXT_RECONFIG = 2
_EXT_I_DATA = 4

_CHANNEL_CONNECTING = 0
_CHANNEL_OPEN = 1
_CHANNEL_CLOSING = 2
_CHANNEL_CLOSED = 3

_USER_PPIDS = frozenset(
    (PPID_STRING, PPID_BINARY, PPID_STRING_EMPTY, PPID_BINARY_EMPTY,
     PPID_STRING_PARTIAL, PPID_BINARY_PARTIAL)
)
_STRING_PPIDS = frozenset((PPID_STRING, PPID_STRING_EMPTY, PPID_STRING_PARTIAL))


class _OutMessage:
    """A user message waiting to be (fully) fragmented into DATA chunks."""

    __slots__ = (
        "abandoned",
        "data",
        "expiry",
        "fsn",
        "length",
        "max_retransmits",
        "offset",
        "ordered",
        "ppid",
        "records",
        "ssn",
        "stream_id",
    )

    def __init__(
        self, stream_id: int, ppid: int, data: memoryview, ordered: bool,
        max_retransmits: int | None, expiry: float | None,
    ) -> None:
        self.stream_id = stream_id
        self.ppid = ppid
        self.data = data
        self.length = len(data)
        self.offset = 0
        self.ordered = ordered
        self.ssn = -1  # assigned with the first fragment (so dropped messages use none)
        self.fsn = 0  # I-DATA fragment sequence number
        self.max_retransmits = max_retransmits
        self.expiry = expiry
        self.abandoned = False
        # Partially reliable messages remember their chunks: RFC 3758 3.5
        # abandons every fragment of a message together.
        self.records: list[_Sent] | None = (
            [] if max_retransmits is not None or expiry is not None else None
        )


class _Sent:
    """One DATA chunk sent and not yet cumulatively acknowledged."""

    __slots__ = (
        "abandoned", "acked", "data", "fast_retransmitted", "header", "in_flight", "message",
        "misses", "retransmit", "sent_time", "size", "transmissions", "tsn",
    )

    def __init__(
        self, tsn: int, header: bytes, data: memoryview, now: float,
        message: _OutMessage | None,
    ) -> None:
        self.tsn = tsn
        self.header = header
        self.data = data
        self.size = len(header) + len(data)
        self.sent_time = now
        self.transmissions = 1
        self.acked = False
        self.in_flight = True
        self.misses = 0
        self.retransmit = False
        self.fast_retransmitted = False
        self.abandoned = False
        self.message = message


class _Run:
    """Consecutive-TSN fragments of one incoming message being reassembled."""

    __slots__ = ("begun", "end", "ended", "nbytes", "parts", "ppid", "ssn", "start", "stream_id",
                 "unordered")

    def __init__(
        self, tsn: int, stream_id: int, ssn: int, ppid: int, unordered: bool, begun: bool,
        ended: bool, part: memoryview,
    ) -> None:
        self.start = tsn
        self.end = tsn
        self.stream_id = stream_id
        self.ssn = ssn
        self.ppid = ppid
        self.unordered = unordered
        self.begun = begun
        self.ended = ended
        self.parts = [part]
        self.nbytes = len(part)


class _IMessage:
    """An I-DATA message being reassembled, fragments keyed by FSN."""

    __slots__ = ("last", "nbytes", "parts", "ppid")

    def __init__(self) -> None:
        self.parts: dict[int, bytes] = {}
        self.ppid: int | None = None
        self.last: int | None = None
        self.nbytes = 0


class _Channel:
    __slots__ = (
        "acked", "buffered", "incoming_reset", "label", "low_threshold", "max_packet_life_time",
        "max_retransmits", "negotiated", "ordered", "outgoing_reset", "priority", "protocol",
        "remote", "reset_queued", "state", "stream_id",
    )

    def __init__(
        self, stream_id: int, label: str, protocol: str, ordered: bool,
        max_retransmits: int | None, max_packet_life_time: int | None, priority: int,
        negotiated: bool, remote: bool,
    ) -> None:
        self.stream_id = stream_id
        self.label = label
        self.protocol = protocol
        self.ordered = ordered
        self.max_retransmits = max_retransmits
        self.max_packet_life_time = max_packet_life_time
        self.priority = priority
        self.negotiated = negotiated
        self.remote = remote
        self.state = _CHANNEL_CONNECTING
        self.acked = negotiated or remote
        self.buffered = 0
        self.low_threshold = 0
        self.incoming_reset = False
        self.outgoing_reset = False
        self.reset_queued = False

    def opened_event(self) -> ChannelOpened:
        return ChannelOpened(
            self.stream_id, self.label, self.protocol, self.ordered, self.max_retransmits,
            self.max_packet_life_time, self.priority, self.negotiated, self.remote,
        )


class SctpAssociation:
    """One SCTP association and the data channels on it (see :mod:`webrtc.sctp`)."""

    def __init__(
        self,
        is_client: bool,
        local_port: int = 5000,
        remote_port: int = 5000,
        max_message_size: int = 262144,
        *,
        mtu: int = 1200,
        receive_window: int = 1 << 20,
        rto_initial: float = 1.0,
        rto_min: float = 0.4,
        rto_max: float = 60.0,
        max_retransmissions: int = 10,
        max_init_retransmissions: int = 8,
        heartbeat_interval: float = 30.0,
        sack_delay: float = 0.2,
        cookie_lifetime: float = 60.0,
        streams: int = 65535,
        interleaving: bool = False,
        max_burst: int | None = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if mtu < 256:
            raise ValueError("mtu must be at least 256 bytes")
        self.is_client = is_client
        self.local_port = local_port
        self.remote_port = remote_port
        self.max_message_size = max_message_size
        # What the peer accepts (a=max-message-size, RFC 8841 6): 64 KiB when
        # the SDP attribute is absent, 0 meaning "no limit".
        self.remote_max_message_size = 65536
        self.mtu = mtu
        self._random = random_bytes
        self._rwnd_max = max(receive_window, 2 * max_message_size)
        self.rto_initial = rto_initial
        self.rto_min = rto_min
        self.rto_max = rto_max
        self.max_retransmissions = max_retransmissions
        self.max_init_retransmissions = max_init_retransmissions
        self.heartbeat_interval = heartbeat_interval
        self.sack_delay = sack_delay
        self.cookie_lifetime = cookie_lifetime
        self._streams = streams
        # Max.Burst (RFC 9260 6.1): new DATA packets per datagrams_to_send
        # beyond those in flight; None sends all that cwnd allows (best for a
        # shell that hands engines batches, DESIGN.md 5).
        self.max_burst = max_burst

        self.state = AssociationState.CLOSED
        self._now = 0.0
        self._events: deque[object] = deque()
        self._control: list[bytes] = []  # serialized control chunks waiting to be sent
        self._raw_packets: list[bytes] = []  # whole packets with a special tag (INIT ACK)
        self.dropped_packets = 0  # malformed, bad checksum, wrong tag...

        self._local_tag = self._random_u32()
        self._peer_tag = 0
        self._cookie_secret = self._random(32)
        self._initial_tsn = self._random_u32()
        self._tx_prefix = COMMON_HEADER.pack(local_port, remote_port, 0, 0)[:8]
        self._tx_seed = crc32c(_ZERO4, crc32c(self._tx_prefix))
        self._rx_prefix = bytes(8)
        self._rx_seed = crc32c(_ZERO4, crc32c(self._rx_prefix))
        self._rx_expected = _PORTS_TAG.pack(remote_port, local_port, self._local_tag)
        self._rx_expected_seed = crc32c(_ZERO4, crc32c(self._rx_expected))

        # Peer capabilities (from its INIT or INIT ACK).
        self._peer_forward_tsn = False
        self._peer_reconfig = False
        self.interleaving = interleaving
        self._i_data = False  # I-DATA negotiated (RFC 8260)
        self.outbound_streams = streams
        self.inbound_streams = streams

        # Handshake timer T1.
        self._t1: float | None = None
        self._t1_count = 0
        self._t1_chunk = b""
        self._t1_rto = rto_initial
        self._cookie_echo = b""

        # -- sender ----------------------------------------------------------
        self._next_tsn = self._initial_tsn
        self._cum_ack = self._initial_tsn - 1
        self._outstanding: dict[int, _Sent] = {}
        self._rtx_pending = 0
        self._rtx_tsns: list[int] = []  # marked for retransmission, may hold stale entries
        self._fast_rtx_pending = False
        self._flight = 0
        self._cwnd = min(4 * mtu, max(2 * mtu, 4380))
        self._ssthresh = 1 << 30
        self._pba = 0
        self._fast_recovery_exit: int | None = None
        self._peer_rwnd = 1 << 20
        self._queue: deque[_OutMessage] = deque()
        self._unstamped: list[tuple[_OutMessage, float]] = []
        self._out_ssn: dict[int, int] = {}  # next SSN (DATA) or ordered MID (I-DATA)
        self._out_umid: dict[int, int] = {}  # next unordered MID (I-DATA)
        self._t3: float | None = None
        self._srtt: float | None = None
        self._rttvar = 0.0
        self._rto = rto_initial
        self._rtt_tsn: int | None = None
        self._rtt_time = 0.0
        self._error_count = 0
        self._ack_point = self._cum_ack  # Advanced.Peer.Ack.Point (RFC 3758 3.5)
        self._forward_tsn_due = False
        self._last_data_time = 0.0
        self._max_payload = mtu - 12 - 16
        self._max_payload -= self._max_payload & 3

        # -- receiver --------------------------------------------------------
        self._peer_cum = 0
        self._peer_highest = 0
        self._ooo: set[int] = set()
        self._dups: list[int] = []
        self._sack_due = False
        self._sack_now = False
        self._sack_packets = 0
        self._sack_deadline: float | None = None
        self._runs_by_start: dict[int, _Run] = {}
        self._runs_by_end: dict[int, _Run] = {}
        self._rx_buffered = 0
        self._in_ssn: dict[int, int] = {}
        self._imsgs: dict[tuple[int, bool, int], _IMessage] = {}
        self._ordered_pending: dict[int, dict[int, tuple[int, bytes]]] = {}

        # -- heartbeats ------------------------------------------------------
        self._hb_deadline: float | None = None
        self._hb_pending: bytes | None = None

        # -- shutdown --------------------------------------------------------
        self._t2: float | None = None
        self._t2_chunk = b""
        self._t2_count = 0

        # -- stream reconfiguration (RFC 6525) --------------------------------
        self._reconfig_seq = self._initial_tsn & MASK32
        self._reconfig_request: OutgoingResetRequest | None = None
        self._reconfig_deadline: float | None = None
        self._streams_to_reset: list[int] = []
        self._peer_reconfig_seq = 0  # next request sequence number expected from the peer
        self._peer_reconfig_last_result = ReconfigResponse.SUCCESS_NOTHING_TO_DO

        # -- data channels ---------------------------------------------------
        self._channels: dict[int, _Channel] = {}
        self._next_stream_id = 0 if is_client else 1

    # ------------------------------------------------------------------
    # public API
    # ------------------------------------------------------------------
    def _random_u32(self) -> int:
        value = 0
        while value == 0:
            value = int.from_bytes(self._random(4), "big")
        return value

    def start(self, now: float) -> None:
        """Send INIT (RFC 9260 5.1). Both WebRTC peers may call it (simultaneous INIT)."""
        self._now = now
        if self.state is not AssociationState.CLOSED:
            return
        self._t1_chunk = bytes(self._make_init(InitChunk))
        self._send_with_tag(0, self._t1_chunk)
        self.state = AssociationState.COOKIE_WAIT
        self._t1_rto = self.rto_initial
        self._t1 = now + self._t1_rto
        self._t1_count = 0

    def next_event(self) -> object | None:
        return self._events.popleft() if self._events else None

    def set_remote_max_message_size(self, size: int) -> None:
        """The peer's a=max-message-size (RFC 8841): 0 means unlimited."""
        self.remote_max_message_size = size

    @property
    def max_channels(self) -> int:
        """How many streams (so data channels) both sides can use (W3C maxChannels)."""
        return min(self.outbound_streams, self.inbound_streams)

    @property
    def smoothed_round_trip_time(self) -> float | None:
        """SRTT of RFC 6298 in seconds, or None before the first measurement."""
        return self._srtt

    def has_channel(self, stream_id: int) -> bool:
        """True while a data channel uses ``stream_id`` (open, opening or closing)."""
        return stream_id in self._channels

    @property
    def max_send_message_size(self) -> int:
        """Largest message :meth:`send` accepts (the peer's limit; 0 means none)."""
        return self.remote_max_message_size or (1 << 62)

    def open_channel(
        self,
        label: str = "",
        *,
        ordered: bool = True,
        max_retransmits: int | None = None,
        max_packet_life_time: int | None = None,
        protocol: str = "",
        negotiated: bool = False,
        id: int | None = None,  # the W3C name
        priority: int = 256,
    ) -> int:
        """Create a data channel and return its stream id.

        Without ``negotiated`` a DATA_CHANNEL_OPEN goes out (RFC 8832), on a
        stream id of our DTLS role's parity unless ``id`` is given.
        ``max_packet_life_time`` is in milliseconds, as in the W3C API.
        """
        if max_retransmits is not None and max_packet_life_time is not None:
            raise ValueError("max_retransmits and max_packet_life_time are exclusive")
        if negotiated and id is None:
            raise ValueError("a negotiated channel needs an id")
        limit = self.max_channels
        if id is None:
            # Our DTLS role's parity (RFC 8832 6); ids of closed channels are
            # reused once the counter reaches the negotiated stream count.
            sid = self._next_stream_id
            for _ in range(2):
                while sid < limit and sid in self._channels:
                    sid += 2
                if sid < limit:
                    break
                sid = 0 if self.is_client else 1
            else:
                raise ValueError("no stream id left")
            self._next_stream_id = sid + 2
        else:
            sid = id
            if not 0 <= sid < min(limit, 65535):
                raise ValueError("stream id out of range")
            if sid in self._channels:
                raise ValueError(f"stream id {sid} already in use")
        channel = _Channel(
            sid, label, protocol, ordered, max_retransmits, max_packet_life_time, priority,
            negotiated, False,
        )
        self._channels[sid] = channel
        if not negotiated:
            message = DataChannelOpen.for_channel(
                label, protocol, ordered, max_retransmits, max_packet_life_time, priority
            )
            self._enqueue(sid, PPID_DCEP, bytes(message), True, None, None)
        if self.state is AssociationState.ESTABLISHED:
            self._open(channel)
        return sid

    def send(self, stream_id: int, data: bytes | str, now: float | None = None) -> None:
        """Queue one message on a data channel (strings go as UTF-8, PPID 51).

        ``now`` starts a max_packet_life_time channel's clock for the message;
        without it, the clock starts at the next :meth:`datagrams_to_send`.
        """
        channel = self._channels.get(stream_id)
        if channel is None or channel.state >= _CHANNEL_CLOSING:
            raise ValueError(f"data channel {stream_id} is not open")
        if isinstance(data, str):
            payload = data.encode("utf-8")
            ppid = PPID_STRING if payload else PPID_STRING_EMPTY
        else:
            payload = bytes(data)
            ppid = PPID_BINARY if payload else PPID_BINARY_EMPTY
        if len(payload) > self.max_send_message_size:
            raise ValueError(
                f"message of {len(payload)} bytes exceeds the peer's max-message-size "
                f"{self.remote_max_message_size}"
            )
        if not payload:
            payload = b"\x00"  # RFC 8831 6.6: empty messages carry one zero byte
        lifetime = channel.max_packet_life_time
        ordered = channel.ordered or not channel.acked  # RFC 8832 6
        if lifetime is None:
            self._enqueue(stream_id, ppid, payload, ordered, channel.max_retransmits, None)
        elif now is not None:
            self._enqueue(stream_id, ppid, payload, ordered, None, now + lifetime / 1000.0)
        else:
            # Stamped with the expiry at the next datagrams_to_send(now).
            self._enqueue(stream_id, ppid, payload, ordered, None, float("inf"))
            self._unstamped.append((self._queue[-1], lifetime / 1000.0))
        channel.buffered += len(payload)

    def buffered_amount(self, stream_id: int) -> int:
        channel = self._channels.get(stream_id)
        return channel.buffered if channel is not None else 0

    def set_buffered_amount_low_threshold(self, stream_id: int, threshold: int) -> None:
        channel = self._channels.get(stream_id)
        if channel is not None:
            channel.low_threshold = threshold

    def close_channel(self, stream_id: int) -> None:
        """Close a data channel: reset its outgoing stream once its data is sent (RFC 8831 6.7)."""
        channel = self._channels.get(stream_id)
        if channel is None or channel.state >= _CHANNEL_CLOSING:
            return
        channel.state = _CHANNEL_CLOSING
        self._queue_stream_reset(channel)

    def close(self, now: float) -> None:
        """Graceful SHUTDOWN (RFC 9260 9.2) once all queued data is acknowledged."""
        self._now = now
        if self.state is AssociationState.ESTABLISHED:
            self.state = AssociationState.SHUTDOWN_PENDING
            self._check_shutdown(now)
        elif self.state in (AssociationState.COOKIE_WAIT, AssociationState.COOKIE_ECHOED):
            self.abort("closed before establishment")

    def abort(self, detail: str = "") -> None:
        """Send ABORT (RFC 9260 9.1) and close at once."""
        if self.state is AssociationState.CLOSED:
            return
        if self._peer_tag:
            cause = (CAUSE_USER_INITIATED_ABORT, detail.encode("utf-8")[:200])
            self._control.append(bytes(AbortChunk((cause,))))
        self._closed(CloseReason.ABORTED_LOCALLY, detail)

    # ------------------------------------------------------------------
    # timers
    # ------------------------------------------------------------------
    def get_timer(self) -> float | None:
        deadline: float | None = None
        for t in (self._t1, self._t3, self._sack_deadline, self._hb_deadline, self._t2,
                  self._reconfig_deadline):
            if t is not None and (deadline is None or t < deadline):
                deadline = t
        return deadline

    def handle_timer(self, now: float) -> None:
        self._now = now
        if self._t1 is not None and now >= self._t1:
            self._on_t1(now)
        if self._t3 is not None and now >= self._t3:
            self._on_t3(now)
        if self._sack_deadline is not None and now >= self._sack_deadline:
            self._sack_deadline = None
            self._sack_now = True
        if self._hb_deadline is not None and now >= self._hb_deadline:
            self._on_heartbeat_timer(now)
        if self._t2 is not None and now >= self._t2:
            self._on_t2(now)
        if self._reconfig_deadline is not None and now >= self._reconfig_deadline:
            self._reconfig_deadline = None
            if self._reconfig_request is not None:
                self._control.append(bytes(ReconfigChunk((self._reconfig_request,))))
                self._reconfig_deadline = now + self._rto

    def _on_t1(self, now: float) -> None:
        self._t1_count += 1
        if self._t1_count > self.max_init_retransmissions:
            self._t1 = None
            self._closed(CloseReason.INIT_FAILED, "no answer to INIT or COOKIE ECHO")
            return
        self._t1_rto = min(self._t1_rto * 2, self.rto_max)
        self._t1 = now + self._t1_rto
        if self.state is AssociationState.COOKIE_WAIT:
            self._send_with_tag(0, self._t1_chunk)  # INIT always carries tag 0
        else:
            self._control.append(self._t1_chunk)

    def _on_t3(self, now: float) -> None:
        # RFC 9260 6.3.3 and 7.2.3.
        self._t3 = None
        if not self._outstanding:
            return
        if self._count_error():
            return
        self._ssthresh = max(self._cwnd // 2, 4 * self.mtu)
        self._cwnd = self.mtu
        self._pba = 0
        self._fast_recovery_exit = None
        self._rto = min(self._rto * 2, self.rto_max)
        self._rtt_tsn = None
        marked = 0
        for tsn, rec in self._outstanding.items():
            if rec.acked or rec.abandoned:
                continue
            if self._should_abandon(rec, now):
                self._abandon(rec.message)
                continue
            if rec.in_flight:
                rec.in_flight = False
                self._flight -= rec.size
            if not rec.retransmit:
                rec.retransmit = True
                self._rtx_pending += 1
                self._rtx_tsns.append(tsn)
            marked += 1
        if not marked and not self._advance_ack_point():
            # Only gap-acknowledged chunks remain: the peer reneged on them
            # (RFC 9260 6.2); send them again rather than wait forever.
            for tsn, rec in self._outstanding.items():
                if rec.acked and not rec.abandoned:
                    rec.acked = False
                    rec.retransmit = True
                    self._rtx_pending += 1
                    self._rtx_tsns.append(tsn)
        if self._forward_tsn_needed():
            self._forward_tsn_due = True
        if self._outstanding:
            self._t3 = now + self._rto

    def _count_error(self) -> bool:
        """Association error counter (RFC 9260 8.1); True when the association failed."""
        self._error_count += 1
        if self._error_count > self.max_retransmissions:
            if self._peer_tag:
                self._control.append(bytes(AbortChunk()))
            self._closed(
                CloseReason.RETRANSMISSION_LIMIT,
                f"{self._error_count} consecutive retransmission timeouts",
            )
            return True
        return False

    def _on_heartbeat_timer(self, now: float) -> None:
        self._hb_deadline = None
        if self.state is not AssociationState.ESTABLISHED:
            return
        if self._hb_pending is not None:
            self._rto = min(self._rto * 2, self.rto_max)
            if self._count_error():
                return
        elif now - self._last_data_time < self.heartbeat_interval:
            # RFC 9260 8.3: heartbeats probe idle paths; data in flight
            # already does (T3 counts its failures).
            self._hb_deadline = self._last_data_time + self.heartbeat_interval + self._rto
            return
        nonce = self._random(8)
        info = _HEARTBEAT_INFO.pack(now, nonce)
        self._hb_pending = info
        self._control.append(bytes(HeartbeatChunk(((1, info),))))
        self._hb_deadline = now + self._rto

    def _on_t2(self, now: float) -> None:
        self._t2_count += 1
        if self._t2_count > self.max_retransmissions:
            self._t2 = None
            self._control.append(bytes(AbortChunk()))
            self._closed(CloseReason.RETRANSMISSION_LIMIT, "SHUTDOWN unanswered")
            return
        self._rto = min(self._rto * 2, self.rto_max)
        self._t2 = now + self._rto
        self._control.append(self._t2_chunk)

    # ------------------------------------------------------------------
    # receiving
    # ------------------------------------------------------------------
    def receive_datagram(self, data: bytes, now: float) -> None:
        """One SCTP packet (one DTLS record's application data)."""
        self._now = now
        if type(data) is not bytes:
            data = bytes(data)  # memoryview or bytearray from a DTLS layer
        try:
            self._receive(data, now)
        except SctpParseError:
            self.dropped_packets += 1
        except Exception:  # network input must never raise (DESIGN.md 3)
            self.dropped_packets += 1

    def _receive(self, data: bytes, now: float) -> None:
        size = len(data)
        if size < 16:
            raise SctpParseError("packet too short")
        view = memoryview(data)
        if data.startswith(self._rx_expected):
            # Our ports and our verification tag, the common case: only the
            # checksum is left to check (and INIT must carry tag 0).
            if CHECKSUM.unpack_from(data, 8)[0] != crc32c(view[12:], self._rx_expected_seed):
                raise SctpParseError("bad checksum")
            if data[12] == ChunkType.INIT:
                raise SctpParseError("INIT with a non-zero verification tag")
            vtag = self._local_tag
        else:
            if not data.startswith(self._rx_prefix):
                self._rx_prefix = bytes(data[:8])
                self._rx_seed = crc32c(_ZERO4, crc32c(self._rx_prefix))
            if CHECKSUM.unpack_from(data, 8)[0] != crc32c(view[12:], self._rx_seed):
                raise SctpParseError("bad checksum")
            sport, dport, vtag = _PORTS_TAG.unpack_from(data)
            if dport != self.local_port or sport != self.remote_port:
                raise SctpParseError("wrong ports")
            first = data[12]
            if first == ChunkType.INIT:
                if vtag != 0:
                    raise SctpParseError("INIT with a non-zero verification tag")
            elif vtag != self._local_tag:
                first_flags = data[13]
                if first in (ChunkType.ABORT, ChunkType.SHUTDOWN_COMPLETE) and first_flags & 1:
                    if not self._peer_tag or vtag != self._peer_tag:
                        raise SctpParseError("wrong reflected verification tag")
                elif first != ChunkType.COOKIE_ECHO:
                    raise SctpParseError("wrong verification tag")
                # COOKIE ECHO: the cookie itself is checked against the tag.
        offset = 12
        data_seen = False
        unpack_chunk = CHUNK_HEADER.unpack_from
        while offset + 4 <= size:
            ctype, flags, length = unpack_chunk(data, offset)
            if length < 4 or offset + length > size:
                raise SctpParseError("bad chunk length")
            if ctype == 64:
                data_seen = True
                if not self._i_data or length <= 20:
                    # RFC 8260 2.2.1: I-DATA only when negotiated.
                    self._protocol_violation("unexpected or empty I-DATA", CAUSE_PROTOCOL_VIOLATION)
                    return
                if self.state in _DATA_STATES:
                    self._on_idata(view, offset, length, flags)
            elif ctype == 0:
                data_seen = True
                if length <= 16 or self._i_data:
                    # RFC 9260 6.2: an empty DATA chunk is a protocol violation.
                    self._protocol_violation("DATA chunk without user data", CAUSE_NO_USER_DATA)
                    return
                state = self.state
                if state is _ESTABLISHED or state in _DATA_STATES:
                    # DATA (RFC 9260 6.2), inlined: the hottest path.
                    wire_tsn, sid, ssn, ppid = _DATA_FIELDS.unpack_from(data, offset + 4)
                    cum = self._peer_cum
                    tsn = cum + ((wire_tsn - cum + 0x80000000) & MASK32) - 0x80000000
                    if flags & 8:
                        self._sack_now = True  # I bit (RFC 7053)
                    fresh = True
                    if tsn == cum + 1:
                        if self._ooo:
                            ooo = self._ooo
                            nxt = tsn + 1
                            while nxt in ooo:
                                ooo.discard(nxt)
                                nxt += 1
                            self._peer_cum = nxt - 1
                        else:
                            self._peer_cum = tsn
                        if tsn > self._peer_highest:
                            self._peer_highest = tsn
                    elif tsn <= cum or tsn in self._ooo:
                        if len(self._dups) < 32:
                            self._dups.append(wire_tsn)
                        self._sack_now = True
                        fresh = False
                    else:
                        if tsn > self._peer_highest:
                            if self._rx_buffered > self._rwnd_max or tsn - cum > 0xFFFF:
                                # No room, or beyond what a SACK can report:
                                # drop it unacknowledged (RFC 9260 6.2).
                                fresh = False
                            else:
                                self._peer_highest = tsn
                        if fresh:
                            self._ooo.add(tsn)
                            self._sack_now = True  # RFC 9260 6.7: report gaps at once
                    if fresh:
                        payload = view[offset + 16 : offset + length]
                        if flags & 3 == 3:  # B and E: a whole message in one chunk
                            if flags & 4:
                                self._deliver(sid, ppid, bytes(payload))
                            else:
                                self._deliver_ordered(sid, ssn, ppid, bytes(payload))
                        else:
                            # A middle fragment right after its run, the
                            # common case of an in-order large message.
                            left = None if flags & 3 else self._runs_by_end.get(tsn - 1)
                            if (left is not None and not left.ended and left.stream_id == sid
                                    and tsn + 1 not in self._runs_by_start
                                    and left.nbytes < self.max_message_size):
                                by_end = self._runs_by_end
                                del by_end[tsn - 1]
                                by_end[tsn] = left
                                left.end = tsn
                                left.parts.append(payload)
                                left.nbytes += length - 16
                                self._rx_buffered += length - 16
                            else:
                                self._on_fragment(tsn, sid, ssn, ppid, flags, payload)
            elif ctype == 3:
                self._on_sack(data, offset + 4, offset + length, now)
            else:
                chunk = parse_chunk(ctype, flags, view[offset + 4 : offset + length])
                if not self._on_control(chunk, ctype, flags, vtag, now):
                    return
            offset += (length + 3) & ~3
        if data_seen:
            self._sack_due = True
            self._sack_packets += 1
            if self._sack_packets >= 2:
                self._sack_now = True
            elif self._sack_deadline is None:
                self._sack_deadline = now + self.sack_delay

    def _track_tsn(self, wire_tsn: int, flags: int) -> int | None:
        """TSN bookkeeping of one received DATA/I-DATA chunk; None if not to be used."""
        cum = self._peer_cum
        tsn = cum + ((wire_tsn - cum + 0x80000000) & MASK32) - 0x80000000
        if flags & 8:
            self._sack_now = True
        if tsn == cum + 1:
            nxt = tsn + 1
            while nxt in self._ooo:
                self._ooo.discard(nxt)
                nxt += 1
            self._peer_cum = nxt - 1
            if tsn > self._peer_highest:
                self._peer_highest = tsn
            return tsn
        if tsn <= cum or tsn in self._ooo:
            if len(self._dups) < 32:
                self._dups.append(wire_tsn)
            self._sack_now = True
            return None
        if tsn > self._peer_highest:
            if self._rx_buffered > self._rwnd_max or tsn - cum > 0xFFFF:
                return None
            self._peer_highest = tsn
        self._ooo.add(tsn)
        self._sack_now = True
        return tsn

    def _on_idata(self, view: memoryview, offset: int, length: int, flags: int) -> None:
        """I-DATA (RFC 8260 2.1): fragments named by (stream, U, MID) and FSN."""
        wire_tsn, sid, _, mid, fourth = _IDATA_FIELDS.unpack_from(view, offset + 4)
        if self._track_tsn(wire_tsn, flags) is None:
            return
        payload = bytes(view[offset + 20 : offset + length])
        unordered = bool(flags & 4)
        if flags & 3 == 3:
            if unordered:
                self._deliver(sid, fourth, payload)
            else:
                self._deliver_ordered(sid, mid, fourth, payload, MASK32)
            return
        key = (sid, unordered, mid)
        partial = self._imsgs.get(key)
        if partial is None:
            partial = self._imsgs[key] = _IMessage()
        fsn = 0 if flags & 2 else fourth
        if flags & 2:
            partial.ppid = fourth
        if flags & 1:
            partial.last = fsn
        if fsn in partial.parts:
            return
        partial.parts[fsn] = payload
        partial.nbytes += len(payload)
        self._rx_buffered += len(payload)
        if (partial.ppid is not None and partial.last is not None
                and len(partial.parts) == partial.last + 1):
            del self._imsgs[key]
            self._rx_buffered -= partial.nbytes
            message = b"".join(partial.parts[i] for i in range(partial.last + 1))
            if unordered:
                self._deliver(sid, partial.ppid, message)
            else:
                self._deliver_ordered(sid, mid, partial.ppid, message, MASK32)
        elif partial.nbytes > self.max_message_size:
            self._protocol_violation(
                f"message above max-message-size {self.max_message_size}",
                CAUSE_PROTOCOL_VIOLATION,
            )

    def _on_fragment(
        self, tsn: int, sid: int, ssn: int, ppid: int, flags: int, payload: memoryview
    ) -> None:
        unordered = bool(flags & 4)
        begun = bool(flags & 2)
        ended = bool(flags & 1)
        self._rx_buffered += len(payload)
        by_end = self._runs_by_end
        by_start = self._runs_by_start
        left = by_end.get(tsn - 1) if not begun else None
        if left is not None and not left.ended and left.stream_id == sid:
            del by_end[tsn - 1]
            left.end = tsn
            left.parts.append(payload)
            left.nbytes += len(payload)
            left.ended = ended
            run = left
        else:
            run = _Run(tsn, sid, ssn, ppid, unordered, begun, ended, payload)
            by_start[tsn] = run
        if not ended:
            right = by_start.get(tsn + 1)
            if right is not None and not right.begun and right.stream_id == sid:
                del by_start[tsn + 1]
                del by_end[right.end]
                run.end = right.end
                run.parts.extend(right.parts)
                run.nbytes += right.nbytes
                run.ended = right.ended
        if run.begun and run.ended:
            del by_start[run.start]
            self._rx_buffered -= run.nbytes
            message = b"".join(run.parts)
            if run.unordered:
                self._deliver(run.stream_id, run.ppid, message)
            else:
                self._deliver_ordered(run.stream_id, run.ssn, run.ppid, message)
            return
        by_end[run.end] = run
        if run.nbytes > self.max_message_size:
            self._protocol_violation(
                f"message above max-message-size {self.max_message_size}",
                CAUSE_PROTOCOL_VIOLATION,
            )

    def _deliver_ordered(
        self, sid: int, ssn: int, ppid: int, message: bytes, mask: int = 0xFFFF
    ) -> None:
        # ``ssn`` is the 16-bit SSN of DATA, or the 32-bit MID of I-DATA.
        expected = self._in_ssn.get(sid, 0)
        if ssn == expected:
            self._deliver(sid, ppid, message)
            expected = (expected + 1) & mask
            pending = self._ordered_pending.get(sid)
            if pending:
                while expected in pending:
                    ppid, message = pending.pop(expected)
                    self._rx_buffered -= len(message)
                    self._deliver(sid, ppid, message)
                    expected = (expected + 1) & mask
            self._in_ssn[sid] = expected
        elif (ssn - expected) & mask <= mask >> 1:
            pending = self._ordered_pending.setdefault(sid, {})
            if ssn not in pending:
                pending[ssn] = (ppid, message)
                self._rx_buffered += len(message)
        # else: an old SSN (already delivered or skipped by FORWARD TSN)

    def _deliver(self, sid: int, ppid: int, message: bytes) -> None:
        if ppid in _USER_PPIDS:
            channel = self._channels.get(sid)
            if channel is not None and not channel.acked:
                channel.acked = True  # RFC 8832 6: data implies the ACK
                self._events.append(ChannelAcknowledged(sid))
            if ppid in (PPID_STRING_EMPTY, PPID_BINARY_EMPTY):
                message = b""
            self._events.append(MessageReceived(sid, message, ppid in _STRING_PPIDS))
        elif ppid == PPID_DCEP:
            self._on_dcep(sid, message)
        # other PPIDs: not a data channel payload, ignored

    # -- SACK -------------------------------------------------------------
    def _on_sack(self, data: bytes, start: int, end: int, now: float) -> None:
        if end - start < 12:
            raise SctpParseError("SACK too short")
        cum_wire, a_rwnd, ngap, ndup = SACK_FIXED.unpack_from(data, start)
        if end - start < 12 + 4 * ngap + 4 * ndup:
            raise SctpParseError("SACK truncated")
        last = self._cum_ack
        cum = last + ((cum_wire - last + 0x80000000) & MASK32) - 0x80000000
        if cum < last or cum >= self._next_tsn:
            return  # stale SACK, or acknowledging what was never sent
        outstanding = self._outstanding
        flight_before = self._flight
        flight = flight_before
        bytes_acked = 0
        htna = 0  # highest TSN newly acknowledged
        if cum > last:
            pop = outstanding.pop
            for tsn in range(last + 1, cum + 1):
                rec = pop(tsn)
                if rec.in_flight:
                    flight -= rec.size
                if not rec.acked and not rec.abandoned:
                    bytes_acked += rec.size
                if rec.retransmit:
                    self._rtx_pending -= 1
                if rec.message is not None:
                    # Its message may still be abandoned later (other
                    # fragments): this one is done and out of the flight.
                    rec.acked = True
                    rec.in_flight = False
                    rec.retransmit = False
            htna = cum
            self._cum_ack = cum
            if self._ack_point < cum:
                self._ack_point = cum
            rtt_tsn = self._rtt_tsn
            if rtt_tsn is not None and rtt_tsn <= cum:
                self._rtt_tsn = None
                self._update_rto(now - self._rtt_time)
        if ngap:
            get = outstanding.get
            for i in range(ngap):
                gs, ge = U16_PAIR.unpack_from(data, start + 12 + 4 * i)
                # Only TSNs we sent: a hostile block cannot make us loop.
                for tsn in range(cum + gs, min(cum + ge, self._next_tsn - 1) + 1):
                    grec = get(tsn)
                    if grec is not None and not grec.acked:
                        grec.acked = True
                        if grec.in_flight:
                            grec.in_flight = False
                            flight -= grec.size
                        if grec.retransmit:
                            grec.retransmit = False
                            self._rtx_pending -= 1
                        if not grec.abandoned:
                            bytes_acked += grec.size
                        htna = tsn
            if htna > cum:
                self._flight = flight
                self._count_misses(htna, data, start, ngap, cum)
                flight = self._flight
        self._flight = flight
        self._peer_rwnd = max(0, a_rwnd - flight)
        if cum > last:
            self._error_count = 0
            exit_point = self._fast_recovery_exit
            if exit_point is not None and cum >= exit_point:
                self._fast_recovery_exit = exit_point = None
            if exit_point is None and bytes_acked:
                mtu = self.mtu
                if self._cwnd <= self._ssthresh:
                    # Slow start (RFC 9260 7.2.1), only when the window was
                    # in use. A SACK covering many packets stands for the
                    # every-second-packet SACKs the receiver coalesced, so it
                    # grows cwnd by L = packets/2 MTUs, as if they had come
                    # one by one.
                    if flight_before + mtu > self._cwnd:
                        self._cwnd += min(bytes_acked, max(mtu, bytes_acked // 2))
                else:
                    self._pba += bytes_acked
                    if self._pba >= self._cwnd and flight_before + mtu > self._cwnd:
                        self._pba -= self._cwnd
                        self._cwnd += mtu
            if flight:
                self._t3 = now + self._rto
            if self._state_shutting_down():
                self._check_shutdown(now)
        if not flight and not self._rtx_pending:
            self._pba = 0
            # T3 also guards a FORWARD TSN that may be lost (RFC 3758 3.5 C5).
            if self._ack_point <= self._cum_ack:
                self._t3 = None
            elif self._t3 is None:
                self._t3 = now + self._rto
        if self._peer_forward_tsn and self._advance_ack_point():
            self._forward_tsn_due = True

    def _count_misses(self, htna: int, data: bytes, start: int, ngap: int, cum: int) -> None:
        """Miss indications (RFC 9260 7.2.4, HTNA rule) for the SACK's holes.

        Only the TSNs the SACK reports missing (before and between its gap
        blocks) and below the highest TSN newly acknowledged are visited, so
        the cost follows the losses, not the window.
        """
        holes = []
        low = cum + 1
        for i in range(ngap):
            gs, ge = U16_PAIR.unpack_from(data, start + 12 + 4 * i)
            high = min(cum + gs, htna)
            if high > low:
                holes.append((low, high))
            low = max(low, cum + ge + 1)
            if low >= htna:
                break
        get = self._outstanding.get
        for tsn in (t for low, high in holes for t in range(low, high)):
            rec = get(tsn)
            if rec is None or rec.acked or rec.abandoned or not rec.in_flight or (
                rec.fast_retransmitted
            ):
                continue
            rec.misses += 1
            if rec.misses >= 3:
                if self._should_abandon(rec, self._now):
                    self._abandon(rec.message)
                    continue
                rec.fast_retransmitted = True
                rec.retransmit = True
                rec.in_flight = False
                self._flight -= rec.size
                self._rtx_pending += 1
                self._rtx_tsns.append(tsn)
                self._fast_rtx_pending = True
                if self._fast_recovery_exit is None:
                    self._ssthresh = max(self._cwnd // 2, 4 * self.mtu)
                    self._cwnd = self._ssthresh
                    self._pba = 0
                    self._fast_recovery_exit = self._next_tsn - 1

    def _update_rto(self, rtt: float) -> None:
        # RFC 6298 / RFC 9260 6.3.1.
        if self._srtt is None:
            self._srtt = rtt
            self._rttvar = rtt / 2
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - rtt)
            self._srtt = 0.875 * self._srtt + 0.125 * rtt
        self._rto = min(max(self._srtt + 4 * self._rttvar, self.rto_min), self.rto_max)

    # -- partial reliability (RFC 3758) -----------------------------------
    def _should_abandon(self, rec: _Sent, now: float) -> bool:
        message = rec.message
        if message is None:
            return False
        if message.max_retransmits is not None and rec.transmissions > message.max_retransmits:
            return True
        return message.expiry is not None and now >= message.expiry

    def _abandon(self, message: _OutMessage | None) -> None:
        if message is None or message.abandoned:
            return
        message.abandoned = True
        for rec in message.records or ():
            if rec.abandoned or rec.acked:
                rec.abandoned = True
                continue
            rec.abandoned = True
            if rec.in_flight:
                rec.in_flight = False
                self._flight -= rec.size
            if rec.retransmit:
                rec.retransmit = False
                self._rtx_pending -= 1
        if message.offset < message.length:
            # Not fully sent: the rest is never sent and leaves the buffer.
            remaining = message.length - message.offset
            message.offset = message.length
            self._sent_bytes(message.stream_id, remaining)
            if message.ssn < 0 and message.ordered:
                pass  # no SSN used yet: nothing to tell the peer
        if self._peer_forward_tsn and self._advance_ack_point():
            self._forward_tsn_due = True

    def _advance_ack_point(self) -> bool:
        point = max(self._ack_point, self._cum_ack)
        outstanding = self._outstanding
        while True:
            rec = outstanding.get(point + 1)
            if rec is None or not rec.abandoned:
                break
            point += 1
        self._ack_point = point
        return point > self._cum_ack

    def _forward_tsn_needed(self) -> bool:
        return self._peer_forward_tsn and self._ack_point > self._cum_ack

    def _forward_tsn_chunk(self) -> bytes:
        if self._i_data:
            entries: set[tuple[int, bool, int]] = set()
            ordered_mid: dict[int, int] = {}
            for tsn in range(self._cum_ack + 1, self._ack_point + 1):
                rec = self._outstanding.get(tsn)
                if rec is None or rec.message is None:
                    continue
                message = rec.message
                if message.ordered:
                    ordered_mid[message.stream_id] = message.ssn
                else:
                    entries.add((message.stream_id, True, message.ssn))
            entries.update((sid, False, mid) for sid, mid in ordered_mid.items())
            return bytes(IForwardTsnChunk(self._ack_point & MASK32, tuple(sorted(entries))))
        streams: dict[int, int] = {}
        for tsn in range(self._cum_ack + 1, self._ack_point + 1):
            rec = self._outstanding.get(tsn)
            if rec is None or rec.message is None or not rec.message.ordered:
                continue
            streams[rec.message.stream_id] = rec.message.ssn
        return bytes(
            ForwardTsnChunk(self._ack_point & MASK32, tuple(sorted(streams.items())))
        )

    def _on_forward_tsn(self, chunk: ForwardTsnChunk) -> None:
        cum = self._peer_cum
        new_cum = cum + ((chunk.new_cumulative_tsn - cum + 0x80000000) & MASK32) - 0x80000000
        self._sack_now = True
        self._sack_due = True
        if new_cum <= cum:
            return
        self._ooo = {t for t in self._ooo if t > new_cum}
        nxt = new_cum + 1
        while nxt in self._ooo:
            self._ooo.discard(nxt)
            nxt += 1
        self._peer_cum = nxt - 1
        if self._peer_cum > self._peer_highest:
            self._peer_highest = self._peer_cum
        # Drop partial messages that will never complete.
        for start in [s for s in self._runs_by_start if s <= new_cum]:
            run = self._runs_by_start.pop(start)
            self._runs_by_end.pop(run.end, None)
            self._rx_buffered -= run.nbytes
        for start in [e for e, run in self._runs_by_end.items() if run.start <= new_cum]:
            run = self._runs_by_end.pop(start)
            self._rx_buffered -= run.nbytes
        for sid, ssn in chunk.streams:
            self._skip_ordered(sid, ssn, 0xFFFF)

    def _skip_ordered(self, sid: int, upto: int, mask: int) -> None:
        """Ordered messages up to ``upto`` were abandoned by the sender (RFC 3758 3.6)."""
        expected = self._in_ssn.get(sid, 0)
        distance = (upto - expected) & mask
        if distance > mask >> 1:
            return  # already past it
        pending = self._ordered_pending.get(sid, {})
        # Deliver what was waiting before the skipped message, in order.
        for key in sorted(
            (k for k in pending if (k - expected) & mask <= distance),
            key=lambda k: (k - expected) & mask,
        ):
            ppid, message = pending.pop(key)
            self._rx_buffered -= len(message)
            self._deliver(sid, ppid, message)
        expected = (upto + 1) & mask
        while expected in pending:
            ppid, message = pending.pop(expected)
            self._rx_buffered -= len(message)
            self._deliver(sid, ppid, message)
            expected = (expected + 1) & mask
        self._in_ssn[sid] = expected

    def _on_iforward_tsn(self, chunk: IForwardTsnChunk) -> None:
        # RFC 8260 2.3: as FORWARD TSN, naming messages by (stream, U, MID).
        self._on_forward_tsn(ForwardTsnChunk(chunk.new_cumulative_tsn))
        for sid, unordered, mid in chunk.streams:
            if unordered:
                partial = self._imsgs.pop((sid, True, mid), None)
                if partial is not None:
                    self._rx_buffered -= partial.nbytes
                continue
            for key in [k for k in self._imsgs if k[0] == sid and not k[1]
                        and (mid - k[2]) & MASK32 <= 0x7FFFFFFF]:
                self._rx_buffered -= self._imsgs.pop(key).nbytes
            self._skip_ordered(sid, mid, MASK32)

    # -- control chunks ---------------------------------------------------
    def _on_control(self, chunk: object, ctype: int, flags: int, vtag: int, now: float) -> bool:
        """Handle one non-DATA, non-SACK chunk; False stops processing the packet."""
        state = self.state
        if isinstance(chunk, InitAckChunk):
            if state is AssociationState.COOKIE_WAIT:
                self._on_init_ack(chunk, now)
            return False
        if isinstance(chunk, InitChunk):
            self._on_init(chunk)
            return False
        if isinstance(chunk, CookieEchoChunk):
            return self._on_cookie_echo(chunk, vtag, now)
        if isinstance(chunk, CookieAckChunk):
            if state is AssociationState.COOKIE_ECHOED:
                self._t1 = None
                self._established(now)
            return True
        if state is AssociationState.CLOSED:
            return False
        if isinstance(chunk, HeartbeatChunk) and not isinstance(chunk, HeartbeatAckChunk):
            self._control.append(bytes(HeartbeatAckChunk(chunk.params)))
        elif isinstance(chunk, HeartbeatAckChunk):
            for ptype, info in chunk.params:
                if ptype == 1 and info == self._hb_pending:
                    sent, _ = _HEARTBEAT_INFO.unpack(info)
                    self._hb_pending = None
                    self._error_count = 0
                    self._update_rto(max(0.0, now - sent))
                    self._hb_deadline = now + self.heartbeat_interval + self._rto
        elif isinstance(chunk, ForwardTsnChunk):
            self._on_forward_tsn(chunk)
        elif isinstance(chunk, IForwardTsnChunk):
            self._on_iforward_tsn(chunk)
        elif isinstance(chunk, ReconfigChunk):
            self._on_reconfig(chunk, now)
        elif isinstance(chunk, AbortChunk):
            detail = ""
            for cause, value in chunk.causes:
                detail += f"cause {cause}: {value[:100]!r}; "
            self._closed(CloseReason.ABORTED_BY_PEER, detail.rstrip("; "))
            return False
        elif isinstance(chunk, ShutdownChunk):
            self._on_shutdown(chunk, now)
        elif isinstance(chunk, ShutdownAckChunk):
            if state in (AssociationState.SHUTDOWN_SENT, AssociationState.SHUTDOWN_ACK_SENT):
                self._control.append(bytes(ShutdownCompleteChunk()))
                self._t2 = None
                self._closed(CloseReason.SHUTDOWN, "")
                return False
        elif isinstance(chunk, ShutdownCompleteChunk):
            if state is AssociationState.SHUTDOWN_ACK_SENT:
                self._t2 = None
                self._closed(CloseReason.SHUTDOWN, "")
                return False
        elif isinstance(chunk, ErrorChunk):
            # Informational (unrecognized chunk or parameter reports), except a
            # Stale Cookie: start the handshake over (RFC 9260 5.2.6).
            if state is AssociationState.COOKIE_ECHOED and any(
                cause == CAUSE_STALE_COOKIE for cause, _ in chunk.causes
            ):
                self.state = AssociationState.COOKIE_WAIT
                self._t1_chunk = bytes(self._make_init(InitChunk))
                self._send_with_tag(0, self._t1_chunk)
                self._t1 = now + self._t1_rto
                return False
        else:
            # Unknown chunk: the two upper bits of its type (RFC 9260 3.2).
            action = ctype >> 6
            if action in (1, 3):
                raw = bytes(chunk)  # type: ignore[call-overload]
                self._control.append(
                    bytes(ErrorChunk(((CAUSE_UNRECOGNIZED_CHUNK, raw[: self.mtu - 64]),)))
                )
            if action in (0, 1):
                return False
        return True

    # -- association setup ------------------------------------------------
    @staticmethod
    def _unrecognized(init: InitChunk) -> list[tuple[int, bytes]]:
        """Unrecognized Parameters to report in our INIT ACK (RFC 9260 3.2.1)."""
        report = []
        for ptype, value in init.params:
            if ptype in _KNOWN_INIT_PARAMS:
                continue
            action = ptype >> 14
            if action in (1, 3):
                report.append(
                    (PARAM_UNRECOGNIZED, serialize_parameters(((ptype, value),)))
                )
            if action in (0, 1):
                break  # stop processing further parameters
        return report

    def _make_init(
        self, kind: type[InitChunk], cookie: bytes | None = None,
        unrecognized: list[tuple[int, bytes]] | None = None,
    ) -> InitChunk:
        extensions = bytes((ChunkType.FORWARD_TSN, ChunkType.RECONFIG))
        if self.interleaving:
            extensions += bytes((ChunkType.I_DATA, ChunkType.I_FORWARD_TSN))
        params: list[tuple[int, bytes]] = [
            (PARAM_SUPPORTED_EXTENSIONS, extensions),
            (PARAM_FORWARD_TSN_SUPPORTED, b""),
        ]
        if cookie is not None:
            params.insert(0, (PARAM_STATE_COOKIE, cookie))
        if unrecognized:
            params.extend(unrecognized)
        return kind(
            self._local_tag, self._rwnd_max, self._streams, self._streams,
            self._initial_tsn & MASK32, tuple(params),
        )

    @staticmethod
    def _peer_extensions(init: InitChunk) -> int:
        ext = 0
        supported = init.param(PARAM_SUPPORTED_EXTENSIONS) or b""
        if (ChunkType.FORWARD_TSN in supported
                or init.param(PARAM_FORWARD_TSN_SUPPORTED) is not None):
            ext |= _EXT_FORWARD_TSN
        if ChunkType.RECONFIG in supported:
            ext |= _EXT_RECONFIG
        if ChunkType.I_DATA in supported and ChunkType.I_FORWARD_TSN in supported:
            ext |= _EXT_I_DATA
        return ext

    def _on_init(self, init: InitChunk) -> None:
        # RFC 9260 5.1 and 5.2.1/5.2.2: answer with our own tag in every
        # state (so a simultaneous INIT converges on one pair of tags), with
        # a stateless cookie holding all we need.
        if init.initiate_tag == 0 or init.outbound_streams == 0 or init.inbound_streams == 0:
            return
        if self.state not in (
            AssociationState.CLOSED, AssociationState.COOKIE_WAIT,
            AssociationState.COOKIE_ECHOED, AssociationState.ESTABLISHED,
        ):
            return
        body = _COOKIE.pack(
            self._local_tag, init.initiate_tag, self._initial_tsn & MASK32, init.initial_tsn,
            init.outbound_streams, init.inbound_streams, init.a_rwnd, self._now,
            self._peer_extensions(init),
        )
        cookie = body + hmac.new(self._cookie_secret, body, hashlib.sha256).digest()
        init_ack = bytes(self._make_init(InitAckChunk, cookie, self._unrecognized(init)))
        self._send_with_tag(init.initiate_tag, init_ack)

    def _send_with_tag(self, tag: int, chunk: bytes) -> None:
        # A packet addressed with a tag other than the association's (INIT ACK
        # to a not-yet-adopted peer tag): queued as a ready-made packet.
        header = COMMON_HEADER.pack(self.local_port, self.remote_port, tag, 0)
        crc = crc32c(chunk, crc32c(header))
        self._raw_packets.append(header[:8] + CHECKSUM.pack(crc) + chunk)

    def _adopt_peer(
        self, tag: int, initial_tsn: int, a_rwnd: int, outbound: int, inbound: int, ext: int
    ) -> None:
        self._peer_tag = tag
        self._tx_prefix = COMMON_HEADER.pack(self.local_port, self.remote_port, tag, 0)[:8]
        self._tx_seed = crc32c(_ZERO4, crc32c(self._tx_prefix))
        self._peer_cum = initial_tsn - 1
        self._peer_highest = self._peer_cum
        self._peer_rwnd = a_rwnd
        self.outbound_streams = min(self._streams, inbound)
        self.inbound_streams = min(self._streams, outbound)
        self._peer_forward_tsn = bool(ext & _EXT_FORWARD_TSN)
        self._peer_reconfig = bool(ext & _EXT_RECONFIG)
        self._peer_reconfig_seq = initial_tsn
        self._i_data = self.interleaving and bool(ext & _EXT_I_DATA)

    def _on_init_ack(self, chunk: InitAckChunk, now: float) -> None:
        cookie = chunk.param(PARAM_STATE_COOKIE)
        if cookie is None or chunk.initiate_tag == 0:
            return
        self._adopt_peer(
            chunk.initiate_tag, chunk.initial_tsn, chunk.a_rwnd, chunk.outbound_streams,
            chunk.inbound_streams, self._peer_extensions(chunk),
        )
        self._cookie_echo = bytes(CookieEchoChunk(cookie))
        self._t1_chunk = self._cookie_echo
        self._control.append(self._cookie_echo)
        self.state = AssociationState.COOKIE_ECHOED
        self._t1_count = 0
        self._t1 = now + self._t1_rto

    def _on_cookie_echo(self, chunk: CookieEchoChunk, vtag: int, now: float) -> bool:
        cookie = chunk.cookie
        if len(cookie) != _COOKIE.size + _COOKIE_MAC_SIZE:
            return False
        body, mac = cookie[: _COOKIE.size], cookie[_COOKIE.size :]
        expected = hmac.new(self._cookie_secret, body, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            return False
        (my_tag, peer_tag, _my_tsn, peer_tsn, outbound, inbound, a_rwnd, stamp,
         ext) = _COOKIE.unpack(body)
        if my_tag != vtag or my_tag != self._local_tag:
            return False
        state = self.state
        if state in (AssociationState.CLOSED, AssociationState.COOKIE_WAIT,
                     AssociationState.COOKIE_ECHOED):
            if now - stamp > self.cookie_lifetime:
                # RFC 9260 5.1.5 and 3.3.10.3: a Stale Cookie error, with the
                # staleness in microseconds, makes the peer start over.
                staleness = min(int((now - stamp - self.cookie_lifetime) * 1e6), MASK32)
                error = ErrorChunk(((CAUSE_STALE_COOKIE, U32.pack(staleness)),))
                self._send_with_tag(peer_tag, bytes(error))
                return False
            if state is not AssociationState.COOKIE_ECHOED or peer_tag != self._peer_tag:
                # RFC 9260 5.2.4 case B (our tag matches, the peer's differs):
                # a simultaneous start where the peer answered our INIT before
                # it sent its own INIT with a new tag (dcsctp does this when our
                # INIT reaches it before it connects). Its cookie describes the
                # association it will use: adopt it and answer, rather than
                # drop it and leave both sides echoing cookies the other
                # discards.
                self._adopt_peer(peer_tag, peer_tsn, a_rwnd, outbound, inbound, ext)
            self._t1 = None
            self._control.append(bytes(CookieAckChunk()))
            self._established(now)
            return True
        if peer_tag == self._peer_tag:
            # RFC 9260 5.2.4 case D: both tags match, our COOKIE ACK was lost.
            self._control.append(bytes(CookieAckChunk()))
            return True
        return False

    def _established(self, now: float) -> None:
        self.state = AssociationState.ESTABLISHED
        self._rto = self.rto_initial
        self._hb_deadline = now + self.heartbeat_interval + self._rto
        self._events.append(
            AssociationEstablished(
                self.outbound_streams, self.inbound_streams, self._i_data, self._peer_reconfig
            )
        )
        for channel in list(self._channels.values()):
            if channel.state == _CHANNEL_CONNECTING:
                self._open(channel)

    def _open(self, channel: _Channel) -> None:
        channel.state = _CHANNEL_OPEN
        self._events.append(channel.opened_event())

    def _closed(self, reason: CloseReason, detail: str) -> None:
        was = self.state
        self.state = AssociationState.CLOSED
        self._t1 = self._t2 = self._t3 = None
        self._sack_deadline = self._hb_deadline = self._reconfig_deadline = None
        self._queue.clear()
        if was is not AssociationState.CLOSED or reason is CloseReason.INIT_FAILED:
            for sid, channel in list(self._channels.items()):
                if channel.state != _CHANNEL_CLOSED:
                    channel.state = _CHANNEL_CLOSED
                    self._events.append(ChannelClosed(sid))
            self._channels.clear()
            self._events.append(AssociationClosed(reason, detail))

    def _protocol_violation(self, detail: str, cause: int) -> None:
        self._control.append(bytes(AbortChunk(((cause, detail.encode()[:200]),))))
        self._closed(CloseReason.PROTOCOL_VIOLATION, detail)

    # -- shutdown (RFC 9260 9.2) ------------------------------------------
    def _state_shutting_down(self) -> bool:
        return self.state in (AssociationState.SHUTDOWN_PENDING,
                              AssociationState.SHUTDOWN_RECEIVED)

    def _check_shutdown(self, now: float) -> None:
        if self._queue or self._outstanding:
            return
        if self.state is AssociationState.SHUTDOWN_PENDING:
            self._t2_chunk = bytes(ShutdownChunk(self._peer_cum & MASK32))
            self.state = AssociationState.SHUTDOWN_SENT
        elif self.state is AssociationState.SHUTDOWN_RECEIVED:
            self._t2_chunk = bytes(ShutdownAckChunk())
            self.state = AssociationState.SHUTDOWN_ACK_SENT
        else:
            return
        self._control.append(self._t2_chunk)
        self._t2 = now + self._rto
        self._t2_count = 0

    def _on_shutdown(self, chunk: ShutdownChunk, now: float) -> None:
        if self.state in (AssociationState.ESTABLISHED, AssociationState.SHUTDOWN_PENDING,
                          AssociationState.SHUTDOWN_RECEIVED):
            # The cumulative TSN it carries acknowledges like a SACK would.
            self._on_sack(
                SACK_FIXED.pack(chunk.cumulative_tsn, self._peer_rwnd + self._flight, 0, 0),
                0, 12, now,
            )
            self.state = AssociationState.SHUTDOWN_RECEIVED
            self._check_shutdown(now)
        elif self.state is AssociationState.SHUTDOWN_SENT:
            # Both sides shut down at once: answer with SHUTDOWN ACK.
            self._t2_chunk = bytes(ShutdownAckChunk())
            self.state = AssociationState.SHUTDOWN_ACK_SENT
            self._control.append(self._t2_chunk)
            self._t2 = now + self._rto

    # -- stream reset (RFC 6525) and DCEP ---------------------------------
    def _queue_stream_reset(self, channel: _Channel) -> None:
        if channel.reset_queued:
            return
        channel.reset_queued = True
        if not self._peer_reconfig or self.state is not AssociationState.ESTABLISHED:
            # Nothing to tell a peer that cannot reset streams, or that has
            # not seen anything of this channel yet: drop what was queued.
            if self.state is not AssociationState.ESTABLISHED:
                self._queue = deque(
                    m for m in self._queue if m.stream_id != channel.stream_id
                )
            channel.outgoing_reset = channel.incoming_reset = True
            self._maybe_channel_closed(channel)
            return
        self._streams_to_reset.append(channel.stream_id)

    def _send_reset_request(self, now: float) -> None:
        ready = []
        waiting = []
        # A stream is reset once all its queued messages (DCEP included)
        # have TSNs, so that "last assigned TSN" covers them (RFC 6525 5.1.2).
        busy = {m.stream_id for m in self._queue if m.offset < m.length and not m.abandoned}
        for sid in self._streams_to_reset:
            if sid in busy:
                waiting.append(sid)
            else:
                ready.append(sid)
        if not ready:
            return
        self._streams_to_reset = waiting
        request = OutgoingResetRequest(
            self._reconfig_seq, (self._peer_reconfig_seq - 1) & MASK32,
            (self._next_tsn - 1) & MASK32, tuple(ready),
        )
        self._reconfig_request = request
        self._control.append(bytes(ReconfigChunk((request,))))
        self._reconfig_deadline = now + self._rto

    def _on_reconfig(self, chunk: ReconfigChunk, now: float) -> None:
        for param in chunk.params:
            if isinstance(param, OutgoingResetRequest):
                self._on_outgoing_reset_request(param)
            elif isinstance(param, IncomingResetRequest):
                # The peer asks us to reset our outgoing streams.
                for sid in param.streams:
                    channel = self._channels.get(sid)
                    if channel is not None:
                        if channel.state < _CHANNEL_CLOSING:
                            channel.state = _CHANNEL_CLOSING
                        self._queue_stream_reset(channel)
                if param.request_seq == self._peer_reconfig_seq:
                    self._peer_reconfig_seq = (self._peer_reconfig_seq + 1) & MASK32
                self._control.append(bytes(ReconfigChunk((ReconfigResponse(
                    param.request_seq, ReconfigResponse.SUCCESS_NOTHING_TO_DO),))))
            elif isinstance(param, RawParameter):
                # SSN/TSN reset (15) and add-streams requests (17, 18): we
                # neither need nor grant them (RFC 6525 5.2: answer Denied).
                if param.type in (15, 17, 18) and len(param.data) >= 4:
                    seq = U32.unpack_from(param.data)[0]
                    if seq == self._peer_reconfig_seq:
                        self._peer_reconfig_seq = (seq + 1) & MASK32
                        self._peer_reconfig_last_result = ReconfigResponse.DENIED
                    self._control.append(bytes(ReconfigChunk((ReconfigResponse(
                        seq, ReconfigResponse.DENIED),))))
            elif isinstance(param, ReconfigResponse):
                request = self._reconfig_request
                if request is None or param.response_seq != request.request_seq:
                    continue
                if param.result == ReconfigResponse.IN_PROGRESS:
                    self._reconfig_deadline = now + self._rto
                    continue
                self._reconfig_request = None
                self._reconfig_deadline = None
                self._reconfig_seq = (self._reconfig_seq + 1) & MASK32
                for sid in request.streams:
                    self._out_ssn.pop(sid, None)
                    self._out_umid.pop(sid, None)
                    channel = self._channels.get(sid)
                    if channel is not None:
                        channel.outgoing_reset = True
                        self._maybe_channel_closed(channel)

    def _on_outgoing_reset_request(self, request: OutgoingResetRequest) -> None:
        expected = self._peer_reconfig_seq
        if request.request_seq == (expected - 1) & MASK32:
            result = self._peer_reconfig_last_result  # a retransmission
            if result == ReconfigResponse.IN_PROGRESS:
                result = self._try_incoming_reset(request)
        elif request.request_seq == expected:
            result = self._try_incoming_reset(request)
            self._peer_reconfig_seq = (expected + 1) & MASK32
        else:
            result = ReconfigResponse.ERROR_BAD_SEQUENCE_NUMBER
        self._peer_reconfig_last_result = result
        self._control.append(
            bytes(ReconfigChunk((ReconfigResponse(request.request_seq, result),)))
        )

    def _try_incoming_reset(self, request: OutgoingResetRequest) -> int:
        cum = self._peer_cum
        last = cum + ((request.last_tsn - cum + 0x80000000) & MASK32) - 0x80000000
        if last > cum:
            return ReconfigResponse.IN_PROGRESS  # RFC 6525 5.2.2: data still missing
        for sid in request.streams:
            self._in_ssn.pop(sid, None)
            pending = self._ordered_pending.pop(sid, None)
            if pending:
                self._rx_buffered -= sum(len(m) for _, m in pending.values())
            channel = self._channels.get(sid)
            if channel is not None:
                channel.incoming_reset = True
                if channel.state < _CHANNEL_CLOSING:
                    channel.state = _CHANNEL_CLOSING
                self._queue_stream_reset(channel)
                self._maybe_channel_closed(channel)
        return ReconfigResponse.SUCCESS_PERFORMED

    def _maybe_channel_closed(self, channel: _Channel) -> None:
        if channel.incoming_reset and channel.outgoing_reset and channel.state != _CHANNEL_CLOSED:
            channel.state = _CHANNEL_CLOSED
            del self._channels[channel.stream_id]
            self._events.append(ChannelClosed(channel.stream_id))

    def _on_dcep(self, sid: int, message: bytes) -> None:
        try:
            parsed = parse_dcep(message)
        except SctpParseError:
            self.dropped_packets += 1
            return
        if isinstance(parsed, DataChannelOpen):
            if sid in self._channels:
                return  # a duplicate or a collision: the first one wins
            channel = _Channel(
                sid, parsed.label, parsed.protocol, parsed.ordered, parsed.max_retransmits,
                parsed.max_packet_life_time, parsed.priority, False, True,
            )
            self._channels[sid] = channel
            self._enqueue(sid, PPID_DCEP, bytes(DataChannelAck()), True, None, None)
            self._open(channel)
        elif isinstance(parsed, DataChannelAck):
            acked = self._channels.get(sid)
            if acked is not None and not acked.acked:
                acked.acked = True
                self._events.append(ChannelAcknowledged(sid))

    # ------------------------------------------------------------------
    # sending
    # ------------------------------------------------------------------
    def _enqueue(
        self, sid: int, ppid: int, payload: bytes, ordered: bool, max_retransmits: int | None,
        expiry: float | None,
    ) -> None:
        self._queue.append(
            _OutMessage(sid, ppid, memoryview(payload), ordered, max_retransmits, expiry)
        )

    def _sent_bytes(self, sid: int, count: int) -> None:
        channel = self._channels.get(sid)
        if channel is None or channel.buffered <= 0:
            return
        before = channel.buffered
        after = before - count
        if after < 0:
            after = 0
        channel.buffered = after
        threshold = channel.low_threshold
        if before > threshold >= after:
            self._events.append(BufferedAmountLow(sid, after))

    def datagrams_to_send(self, now: float) -> list[bytes]:
        """SCTP packets to send now, each for one DTLS record."""
        self._now = now
        if not (self._control or self._raw_packets or self._queue or self._sack_due
                or self._rtx_pending or self._forward_tsn_due or self._streams_to_reset):
            return []  # nothing to do: the common case between bursts
        out = self._raw_packets
        self._raw_packets = []
        if self._unstamped:
            for message, lifetime in self._unstamped:
                message.expiry = now + lifetime
            self._unstamped = []
        state = self.state
        established = state in (
            AssociationState.ESTABLISHED, AssociationState.SHUTDOWN_PENDING,
            AssociationState.SHUTDOWN_RECEIVED, AssociationState.SHUTDOWN_SENT,
        )
        if state is AssociationState.CLOSED and not self._control:
            return out
        mtu = self.mtu
        parts: list[bytes | memoryview] = []
        size = 12
        if self._control:
            for chunk in self._control:
                if size + len(chunk) > mtu and parts:
                    out.append(self._finish(parts))
                    parts = []
                    size = 12
                parts.append(chunk)
                size += len(chunk)
            self._control = []
        if not established:
            if parts:
                out.append(self._finish(parts))
            return out
        if self._streams_to_reset and self._reconfig_request is None:
            self._send_reset_request(now)
            for chunk in self._control:
                if size + len(chunk) > mtu and parts:
                    out.append(self._finish(parts))
                    parts = []
                    size = 12
                parts.append(chunk)
                size += len(chunk)
            self._control = []
        if self._sack_due and (self._sack_now or self._sack_packets >= 2):
            sack = self._build_sack()
            if size + len(sack) > mtu and parts:
                out.append(self._finish(parts))
                parts = []
                size = 12
            parts.append(sack)
            size += len(sack)
        if self._forward_tsn_due:
            self._forward_tsn_due = False
            if self._forward_tsn_needed():
                if self._t3 is None:
                    self._t3 = now + self._rto
                chunk = self._forward_tsn_chunk()
                if size + len(chunk) > mtu and parts:
                    out.append(self._finish(parts))
                    parts = []
                    size = 12
                parts.append(chunk)
                size += len(chunk)
        sent_data = False
        if self._rtx_pending:
            parts, size, sent_data = self._pack_retransmissions(now, out, parts, size)
        if self._queue and state in (AssociationState.ESTABLISHED,
                                     AssociationState.SHUTDOWN_RECEIVED,
                                     AssociationState.SHUTDOWN_PENDING):
            if not self._flight and self._cwnd > 4 * mtu:
                # RFC 9260 7.2.1: an idle path halves cwnd per RTO, down to
                # 4 MTU, before new data goes out.
                idle = now - self._last_data_time
                while idle > self._rto and self._cwnd > 4 * mtu:
                    self._cwnd = max(self._cwnd // 2, 4 * mtu)
                    idle -= self._rto
            if self._i_data:
                parts, size, sent = self._pack_new_idata(now, out, parts, size)
            else:
                parts, size, sent = self._pack_new_data(now, out, parts, size)
            sent_data = sent_data or sent
        if parts:
            out.append(self._finish(parts))
        if sent_data:
            self._last_data_time = now
            if self._t3 is None:
                self._t3 = now + self._rto
        return out

    def _finish(self, parts: list[bytes | memoryview]) -> bytes:
        body = b"".join(parts)
        return b"".join((self._tx_prefix, CHECKSUM.pack(crc32c(body, self._tx_seed)), body))

    def _build_sack(self) -> bytes:
        self._sack_due = False
        self._sack_now = False
        self._sack_packets = 0
        self._sack_deadline = None
        cum = self._peer_cum
        a_rwnd = self._rwnd_max - self._rx_buffered
        if a_rwnd < 0:
            a_rwnd = 0
        dups = self._dups
        if not self._ooo and not dups:
            return SACK_FIXED_CHUNK.pack(3, 0, 16, cum & MASK32, a_rwnd, 0, 0)
        gaps: list[int] = []
        if self._ooo:
            tsns = sorted(self._ooo)
            limit = (self.mtu - 12 - 16 - 4 * len(dups)) // 4 - 4
            start = prev = tsns[0]
            for tsn in tsns[1:]:
                if tsn != prev + 1:
                    gaps.append(start - cum)
                    gaps.append(prev - cum)
                    if len(gaps) >= 2 * limit:
                        break
                    start = tsn
                prev = tsn
            else:
                gaps.append(start - cum)
                gaps.append(prev - cum)
            # Offsets are 16 bits (RFC 9260 3.3.4): keep the blocks that fit.
            while gaps and gaps[-1] > 0xFFFF:
                gaps.pop()
                gaps.pop()
        self._dups = []
        ngap = len(gaps) // 2
        length = 16 + 4 * ngap + 4 * len(dups)
        return (
            SACK_FIXED_CHUNK.pack(3, 0, length, cum & MASK32, a_rwnd, ngap, len(dups))
            + struct.pack(f"!{len(gaps)}H{len(dups)}I", *gaps, *dups)
        )

    def _pack_retransmissions(
        self, now: float, out: list[bytes], parts: list[bytes | memoryview], size: int
    ) -> tuple[list[bytes | memoryview], int, bool]:
        mtu = self.mtu
        # RFC 9260 7.2.4: the first packet of fast retransmissions ignores cwnd.
        free_packet = self._fast_rtx_pending
        self._fast_rtx_pending = False
        sent = False
        # The TSNs marked for retransmission (entries whose mark was since
        # cleared, by a SACK or abandonment, are skipped), lowest first.
        marked = sorted(set(self._rtx_tsns))
        self._rtx_tsns = []
        get = self._outstanding.get
        for index, tsn in enumerate(marked):
            found = get(tsn)
            if found is None or not found.retransmit:
                continue
            rec = found
            if not free_packet and self._flight >= self._cwnd:
                self._rtx_tsns = marked[index:]
                break
            if self._should_abandon(rec, now):
                self._abandon(rec.message)
                continue
            chunk_size = rec.size + (-rec.size & 3)
            if size + chunk_size > mtu and parts:
                out.append(self._finish(parts))
                parts = []
                size = 12
                if free_packet:
                    free_packet = False
                    if self._flight >= self._cwnd:
                        self._rtx_tsns = marked[index:]
                        break
            rec.retransmit = False
            self._rtx_pending -= 1
            rec.transmissions += 1
            rec.in_flight = True
            rec.sent_time = now
            rec.misses = 0
            self._flight += rec.size
            parts.append(rec.header)
            parts.append(rec.data)
            pad = -rec.size & 3
            if pad:
                parts.append(_PADDING[4 - pad])
            size += chunk_size
            sent = True
        if sent:
            self._rtt_tsn = None  # Karn: no RTT samples across retransmissions
            if self._forward_tsn_needed():
                self._forward_tsn_due = True
        return parts, size, sent

    def _pack_new_data(
        self, now: float, out: list[bytes], parts: list[bytes | memoryview], size: int
    ) -> tuple[list[bytes | memoryview], int, bool]:
        mtu = self.mtu
        queue = self._queue
        outstanding = self._outstanding
        max_payload = self._max_payload
        cwnd = self._cwnd
        flight = self._flight
        if self.max_burst is not None and flight + self.max_burst * (mtu - 12) < cwnd:
            # RFC 9260 6.1 (D): at most Max.Burst new packets beyond the flight.
            cwnd = flight + self.max_burst * (mtu - 12)
        rwnd = self._peer_rwnd
        tsn = self._next_tsn
        out_ssn = self._out_ssn
        channels = self._channels
        pack_header = DATA_HEADER.pack
        pack_crc = CHECKSUM.pack
        join = b"".join
        prefix = self._tx_prefix
        seed = self._tx_seed
        sent = False
        while queue:
            if flight >= cwnd:
                break
            message = queue[0]
            if message.abandoned or message.offset >= message.length:
                queue.popleft()
                continue
            if message.offset == 0 and message.expiry is not None and now >= message.expiry:
                # Expired before any of it was sent: drop it silently.
                queue.popleft()
                message.abandoned = True
                self._sent_bytes(message.stream_id, message.length)
                continue
            remaining = message.length - message.offset
            if not parts and remaining > max_payload:
                # Fast path: full-size middle fragments, one DATA chunk per
                # packet, built and checksummed in place.
                chunk_size = 16 + max_payload  # a multiple of 4: no padding
                if flight and chunk_size > rwnd:
                    break
                sid = message.stream_id
                offset = start_offset = message.offset
                flags = 0 if message.ordered else 4
                if offset == 0:
                    flags |= 2
                    if message.ordered:
                        ssn = out_ssn.get(sid, 0)
                        out_ssn[sid] = (ssn + 1) & 0xFFFF
                        message.ssn = ssn
                    else:
                        message.ssn = 0
                ssn = message.ssn
                ppid = message.ppid
                data = message.data
                records = message.records
                pr_message = message if records is not None else None
                if self._rtt_tsn is None:
                    self._rtt_tsn = tsn
                    self._rtt_time = now
                while remaining > max_payload and flight < cwnd and (
                    chunk_size <= rwnd or not flight
                ):
                    header = pack_header(0, flags, chunk_size, tsn & MASK32, sid, ssn, ppid)
                    end = offset + max_payload
                    payload = data[offset:end]
                    rec = _Sent(tsn, header, payload, now, pr_message)
                    if records is not None:
                        records.append(rec)
                    outstanding[tsn] = rec
                    out.append(join((prefix, pack_crc(crc32c(payload, crc32c(header, seed))),
                                     header, payload)))
                    tsn += 1
                    flight += chunk_size
                    rwnd -= chunk_size
                    offset = end
                    remaining -= max_payload
                    flags &= 5  # only the first fragment has B
                message.offset = offset
                sent = True
                if message.ppid != PPID_DCEP:
                    self._sent_bytes(sid, offset - start_offset)
                continue
            room = mtu - size - 16
            if room < remaining and (room < 64 or (room < max_payload // 2 and parts)):
                if not parts:
                    break
                out.append(self._finish(parts))
                parts = []
                size = 12
                continue
            take = remaining if remaining <= room else room - (room & 3)
            chunk_size = 16 + take
            if chunk_size > rwnd and flight > 0:
                break  # receiver window full (zero window probe only when idle)
            offset = message.offset
            flags = 0 if message.ordered else 4
            if offset == 0:
                flags |= 2
                if message.ordered:
                    ssn = out_ssn.get(message.stream_id, 0)
                    out_ssn[message.stream_id] = (ssn + 1) & 0xFFFF
                    message.ssn = ssn
                else:
                    message.ssn = 0
            end = offset + take
            if end == message.length:
                flags |= 1
                queue.popleft()
            message.offset = end
            header = pack_header(
                0, flags, chunk_size, tsn & MASK32, message.stream_id, message.ssn, message.ppid
            )
            payload = message.data[offset:end]
            rec = _Sent(tsn, header, payload, now, message if message.records is not None else None)
            if message.records is not None:
                message.records.append(rec)
            outstanding[tsn] = rec
            if self._rtt_tsn is None:
                self._rtt_tsn = tsn
                self._rtt_time = now
            tsn += 1
            parts.append(header)
            parts.append(payload)
            pad = -chunk_size & 3
            if pad:
                parts.append(_PADDING[4 - pad])
                chunk_size += pad
            size += chunk_size
            flight += 16 + take
            rwnd -= 16 + take
            sent = True
            if message.ppid != PPID_DCEP:
                channel = channels.get(message.stream_id)
                if channel is not None and channel.buffered > 0:
                    before = channel.buffered
                    after = before - take
                    channel.buffered = after
                    if before > channel.low_threshold >= after:
                        self._events.append(BufferedAmountLow(message.stream_id, after))
        self._next_tsn = tsn
        self._flight = flight
        self._peer_rwnd = rwnd if rwnd > 0 else 0
        return parts, size, sent

    def _pack_new_idata(
        self, now: float, out: list[bytes], parts: list[bytes | memoryview], size: int
    ) -> tuple[list[bytes | memoryview], int, bool]:
        """New user data as I-DATA chunks (RFC 8260 2.1); one message at a time."""
        mtu = self.mtu
        queue = self._queue
        max_payload = mtu - 12 - 20
        max_payload -= max_payload & 3
        cwnd = self._cwnd
        if self.max_burst is not None:
            cwnd = min(cwnd, self._flight + self.max_burst * (mtu - 12))
        sent = False
        while queue:
            if self._flight >= cwnd:
                break
            message = queue[0]
            if message.abandoned or message.offset >= message.length:
                queue.popleft()
                continue
            if message.offset == 0 and message.expiry is not None and now >= message.expiry:
                queue.popleft()
                message.abandoned = True
                self._sent_bytes(message.stream_id, message.length)
                continue
            room = mtu - size - 20
            remaining = message.length - message.offset
            if room < remaining and (room < 64 or (room < max_payload // 2 and parts)):
                if not parts:
                    break
                out.append(self._finish(parts))
                parts = []
                size = 12
                continue
            take = remaining if remaining <= room else room - (room & 3)
            chunk_size = 20 + take
            if chunk_size > self._peer_rwnd and self._flight > 0:
                break
            sid = message.stream_id
            offset = message.offset
            flags = 0 if message.ordered else 4
            if offset == 0:
                flags |= 2
                counter = self._out_ssn if message.ordered else self._out_umid
                mid = counter.get(sid, 0)
                counter[sid] = (mid + 1) & MASK32
                message.ssn = mid
                fourth = message.ppid
            else:
                fourth = message.fsn
            message.fsn += 1
            end = offset + take
            if end == message.length:
                flags |= 1
                queue.popleft()
            message.offset = end
            tsn = self._next_tsn
            self._next_tsn = tsn + 1
            header = IDATA_HEADER.pack(
                64, flags, chunk_size, tsn & MASK32, sid, 0, message.ssn, fourth
            )
            payload = message.data[offset:end]
            rec = _Sent(tsn, header, payload, now, message if message.records is not None else None)
            if message.records is not None:
                message.records.append(rec)
            self._outstanding[tsn] = rec
            if self._rtt_tsn is None:
                self._rtt_tsn = tsn
                self._rtt_time = now
            parts.append(header)
            parts.append(payload)
            pad = -chunk_size & 3
            if pad:
                parts.append(_PADDING[4 - pad])
            size += chunk_size + pad
            self._flight += chunk_size
            self._peer_rwnd = max(0, self._peer_rwnd - chunk_size)
            sent = True
            if message.ppid != PPID_DCEP:
                self._sent_bytes(sid, take)
        return parts, size, sent


SACK_FIXED_CHUNK = struct.Struct("!BBHIIHH")
