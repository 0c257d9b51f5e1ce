"""SCTP packets and chunks (RFC 9260 section 3, RFC 3758, RFC 6525, RFC 8260).

Every chunk is a frozen dataclass; ``Chunk.parse``-style functions take bytes
and ``bytes(chunk)`` serializes, padding included. :class:`Packet` holds the
common header and its chunks; ``bytes(packet)`` fills in the CRC32c checksum
(RFC 9260 appendix A) and :meth:`Packet.parse` verifies it.

The association's hot path does not build these objects for DATA and SACK:
it reads and writes the same wire format directly with the precompiled
structs exported here. These classes are the reference format, used for
control chunks, for tests and for anyone inspecting traffic.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from crc32c import crc32c

from webrtc.sctp.errors import SctpParseError

__all__ = [
    "AbortChunk",
    "Chunk",
    "ChunkType",
    "CookieAckChunk",
    "CookieEchoChunk",
    "DataChunk",
    "ErrorChunk",
    "ForwardTsnChunk",
    "HeartbeatAckChunk",
    "HeartbeatChunk",
    "IDataChunk",
    "IForwardTsnChunk",
    "IncomingResetRequest",
    "InitAckChunk",
    "InitChunk",
    "OutgoingResetRequest",
    "Packet",
    "RawParameter",
    "ReconfigChunk",
    "ReconfigParameter",
    "ReconfigResponse",
    "SackChunk",
    "ShutdownAckChunk",
    "ShutdownChunk",
    "ShutdownCompleteChunk",
    "UnknownChunk",
    "checksum",
    "parse_chunks",
    "parse_parameters",
    "serialize_parameters",
]

COMMON_HEADER = struct.Struct("!HHII")  # ports, verification tag, checksum
CHECKSUM = struct.Struct("<I")  # CRC32c goes on the wire in reflected (LE) order
CHUNK_HEADER = struct.Struct("!BBH")
DATA_HEADER = struct.Struct("!BBHIHHI")  # type, flags, length, TSN, SID, SSN, PPID
IDATA_HEADER = struct.Struct("!BBHIHHII")  # type, flags, length, TSN, SID, res, MID, PPID/FSN
INIT_FIXED = struct.Struct("!IIHHI")
SACK_FIXED = struct.Struct("!IIHH")
PARAM_HEADER = struct.Struct("!HH")
U32 = struct.Struct("!I")
U16 = struct.Struct("!H")
U16_PAIR = struct.Struct("!HH")
IFWD_ENTRY = struct.Struct("!HHI")

_ZERO4 = b"\x00\x00\x00\x00"
_PADDING = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")


class ChunkType:
    """Chunk type codes (RFC 9260 3.2, RFC 3758, RFC 6525, RFC 8260)."""

    DATA = 0
    INIT = 1
    INIT_ACK = 2
    SACK = 3
    HEARTBEAT = 4
    HEARTBEAT_ACK = 5
    ABORT = 6
    SHUTDOWN = 7
    SHUTDOWN_ACK = 8
    ERROR = 9
    COOKIE_ECHO = 10
    COOKIE_ACK = 11
    SHUTDOWN_COMPLETE = 14
    I_DATA = 64
    RECONFIG = 130
    FORWARD_TSN = 192
    I_FORWARD_TSN = 194


def checksum(data: bytes | memoryview) -> int:
    """CRC32c of a packet whose checksum field is taken as zero (RFC 9260 6.8)."""
    view = memoryview(data)
    return crc32c(view[12:], crc32c(_ZERO4, crc32c(view[:8])))


def _padded(length: int) -> int:
    return (length + 3) & ~3


# -- TLV parameters and error causes (same format, RFC 9260 3.2.1) --------

Parameter = tuple[int, bytes]


def parse_parameters(data: bytes | memoryview) -> tuple[Parameter, ...]:
    """Parse type-length-value parameters (or error causes) padded to 4 bytes."""
    view = memoryview(data)
    params = []
    offset = 0
    end = len(view)
    while offset < end:
        if end - offset < 4:
            # Trailing padding of the last parameter only.
            if any(view[offset:end]):
                raise SctpParseError("truncated parameter")
            break
        ptype, length = PARAM_HEADER.unpack_from(view, offset)
        if length < 4 or offset + length > end:
            raise SctpParseError(f"bad parameter length {length}")
        params.append((ptype, bytes(view[offset + 4 : offset + length])))
        offset += _padded(length)
    return tuple(params)


def serialize_parameters(params: Iterable[Parameter]) -> bytes:
    parts = []
    for ptype, value in params:
        length = 4 + len(value)
        parts.append(PARAM_HEADER.pack(ptype, length) + value + _PADDING[length & 3])
    return b"".join(parts)


def _chunk(ctype: int, flags: int, value: bytes) -> bytes:
    length = 4 + len(value)
    return CHUNK_HEADER.pack(ctype, flags, length) + value + _PADDING[length & 3]


def _data_flags(immediate: bool, unordered: bool, beginning: bool, end: bool) -> int:
    """The I, U, B, E flags of DATA and I-DATA (RFC 9260 3.3.1, RFC 8260 2.1)."""
    return (8 if immediate else 0) | (4 if unordered else 0) | (2 if beginning else 0) | (
        1 if end else 0)


# -- chunks ----------------------------------------------------------------


@dataclass(frozen=True)
class DataChunk:
    """DATA (RFC 9260 3.3.1). Flags: I (immediate, RFC 7053), U, B, E."""

    TYPE: ClassVar[int] = ChunkType.DATA
    tsn: int
    stream_id: int
    ssn: int
    ppid: int
    user_data: bytes
    unordered: bool = False
    beginning: bool = True
    end: bool = True
    immediate: bool = False

    @property
    def flags(self) -> int:
        return _data_flags(self.immediate, self.unordered, self.beginning, self.end)

    def __bytes__(self) -> bytes:
        length = 16 + len(self.user_data)
        return (
            DATA_HEADER.pack(
                0, self.flags, length, self.tsn, self.stream_id, self.ssn, self.ppid
            )
            + self.user_data
            + _PADDING[length & 3]
        )

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> DataChunk:
        if len(value) < 12:
            raise SctpParseError("DATA chunk too short")
        tsn, sid, ssn, ppid = struct.unpack_from("!IHHI", value)
        return cls(
            tsn, sid, ssn, ppid, bytes(value[12:]),
            bool(flags & 4), bool(flags & 2), bool(flags & 1), bool(flags & 8),
        )


@dataclass(frozen=True)
class IDataChunk:
    """I-DATA (RFC 8260 2.1): the PPID field holds the FSN unless B is set."""

    TYPE: ClassVar[int] = ChunkType.I_DATA
    tsn: int
    stream_id: int
    mid: int
    ppid_or_fsn: int
    user_data: bytes
    unordered: bool = False
    beginning: bool = True
    end: bool = True
    immediate: bool = False

    @property
    def flags(self) -> int:
        return _data_flags(self.immediate, self.unordered, self.beginning, self.end)

    def __bytes__(self) -> bytes:
        length = 20 + len(self.user_data)
        return (
            IDATA_HEADER.pack(
                64, self.flags, length, self.tsn, self.stream_id, 0, self.mid, self.ppid_or_fsn
            )
            + self.user_data
            + _PADDING[length & 3]
        )

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> IDataChunk:
        if len(value) < 16:
            raise SctpParseError("I-DATA chunk too short")
        tsn, sid, _reserved, mid, ppid_fsn = struct.unpack_from("!IHHII", value)
        return cls(
            tsn, sid, mid, ppid_fsn, bytes(value[16:]),
            bool(flags & 4), bool(flags & 2), bool(flags & 1), bool(flags & 8),
        )


@dataclass(frozen=True)
class InitChunk:
    """INIT (RFC 9260 3.3.2); ``params`` are the variable (type, value) parameters."""

    TYPE: ClassVar[int] = ChunkType.INIT
    initiate_tag: int
    a_rwnd: int
    outbound_streams: int
    inbound_streams: int
    initial_tsn: int
    params: tuple[Parameter, ...] = ()

    def __bytes__(self) -> bytes:
        value = INIT_FIXED.pack(
            self.initiate_tag, self.a_rwnd, self.outbound_streams, self.inbound_streams,
            self.initial_tsn,
        ) + serialize_parameters(self.params)
        return _chunk(self.TYPE, 0, value)

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> InitChunk:
        if len(value) < 16:
            raise SctpParseError("INIT chunk too short")
        tag, rwnd, os_, mis, tsn = INIT_FIXED.unpack_from(value)
        return cls(tag, rwnd, os_, mis, tsn, parse_parameters(value[16:]))

    def param(self, ptype: int) -> bytes | None:
        for t, v in self.params:
            if t == ptype:
                return v
        return None


@dataclass(frozen=True)
class InitAckChunk(InitChunk):
    """INIT ACK (RFC 9260 3.3.3); the state cookie is parameter type 7."""

    TYPE: ClassVar[int] = ChunkType.INIT_ACK

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> InitAckChunk:
        if len(value) < 16:
            raise SctpParseError("INIT ACK chunk too short")
        tag, rwnd, os_, mis, tsn = INIT_FIXED.unpack_from(value)
        return cls(tag, rwnd, os_, mis, tsn, parse_parameters(value[16:]))


@dataclass(frozen=True)
class SackChunk:
    """SACK (RFC 9260 3.3.4). Gap blocks are (start, end) offsets from the cumulative TSN."""

    TYPE: ClassVar[int] = ChunkType.SACK
    cumulative_tsn: int
    a_rwnd: int
    gap_blocks: tuple[tuple[int, int], ...] = ()
    duplicate_tsns: tuple[int, ...] = ()

    def __bytes__(self) -> bytes:
        parts = [
            SACK_FIXED.pack(
                self.cumulative_tsn, self.a_rwnd, len(self.gap_blocks), len(self.duplicate_tsns)
            )
        ]
        parts.extend(U16_PAIR.pack(s, e) for s, e in self.gap_blocks)
        parts.extend(U32.pack(t) for t in self.duplicate_tsns)
        return _chunk(self.TYPE, 0, b"".join(parts))

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> SackChunk:
        if len(value) < 12:
            raise SctpParseError("SACK chunk too short")
        cum, rwnd, ngap, ndup = SACK_FIXED.unpack_from(value)
        if len(value) < 12 + 4 * ngap + 4 * ndup:
            raise SctpParseError("SACK chunk truncated")
        gaps = tuple(U16_PAIR.unpack_from(value, 12 + 4 * i) for i in range(ngap))
        base = 12 + 4 * ngap
        dups = tuple(U32.unpack_from(value, base + 4 * i)[0] for i in range(ndup))
        return cls(cum, rwnd, gaps, dups)


@dataclass(frozen=True)
class HeartbeatChunk:
    """HEARTBEAT (RFC 9260 3.3.5); its Heartbeat Info is parameter type 1."""

    TYPE: ClassVar[int] = ChunkType.HEARTBEAT
    params: tuple[Parameter, ...] = ()

    def __bytes__(self) -> bytes:
        return _chunk(self.TYPE, 0, serialize_parameters(self.params))

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> HeartbeatChunk:
        return cls(parse_parameters(value))


@dataclass(frozen=True)
class HeartbeatAckChunk(HeartbeatChunk):
    """HEARTBEAT ACK (RFC 9260 3.3.6): echoes the Heartbeat Info."""

    TYPE: ClassVar[int] = ChunkType.HEARTBEAT_ACK

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> HeartbeatAckChunk:
        return cls(parse_parameters(value))


@dataclass(frozen=True)
class AbortChunk:
    """ABORT (RFC 9260 3.3.7); T flag set when the tag is reflected."""

    TYPE: ClassVar[int] = ChunkType.ABORT
    causes: tuple[Parameter, ...] = ()
    tag_reflected: bool = False

    def __bytes__(self) -> bytes:
        return _chunk(self.TYPE, int(self.tag_reflected), serialize_parameters(self.causes))

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> AbortChunk:
        return cls(parse_parameters(value), bool(flags & 1))


@dataclass(frozen=True)
class ErrorChunk:
    """ERROR (RFC 9260 3.3.10): one or more error causes."""

    TYPE: ClassVar[int] = ChunkType.ERROR
    causes: tuple[Parameter, ...] = ()

    def __bytes__(self) -> bytes:
        return _chunk(self.TYPE, 0, serialize_parameters(self.causes))

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> ErrorChunk:
        return cls(parse_parameters(value))


@dataclass(frozen=True)
class ShutdownChunk:
    """SHUTDOWN (RFC 9260 3.3.8)."""

    TYPE: ClassVar[int] = ChunkType.SHUTDOWN
    cumulative_tsn: int

    def __bytes__(self) -> bytes:
        return _chunk(self.TYPE, 0, U32.pack(self.cumulative_tsn))

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> ShutdownChunk:
        if len(value) != 4:
            raise SctpParseError("bad SHUTDOWN length")
        return cls(U32.unpack_from(value)[0])


@dataclass(frozen=True)
class ShutdownAckChunk:
    """SHUTDOWN ACK (RFC 9260 3.3.9)."""

    TYPE: ClassVar[int] = ChunkType.SHUTDOWN_ACK

    def __bytes__(self) -> bytes:
        return _chunk(self.TYPE, 0, b"")

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> ShutdownAckChunk:
        return cls()


@dataclass(frozen=True)
class ShutdownCompleteChunk:
    """SHUTDOWN COMPLETE (RFC 9260 3.3.13); T flag as for ABORT."""

    TYPE: ClassVar[int] = ChunkType.SHUTDOWN_COMPLETE
    tag_reflected: bool = False

    def __bytes__(self) -> bytes:
        return _chunk(self.TYPE, int(self.tag_reflected), b"")

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> ShutdownCompleteChunk:
        return cls(bool(flags & 1))


@dataclass(frozen=True)
class CookieEchoChunk:
    """COOKIE ECHO (RFC 9260 3.3.11)."""

    TYPE: ClassVar[int] = ChunkType.COOKIE_ECHO
    cookie: bytes

    def __bytes__(self) -> bytes:
        return _chunk(self.TYPE, 0, self.cookie)

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> CookieEchoChunk:
        return cls(bytes(value))


@dataclass(frozen=True)
class CookieAckChunk:
    """COOKIE ACK (RFC 9260 3.3.12)."""

    TYPE: ClassVar[int] = ChunkType.COOKIE_ACK

    def __bytes__(self) -> bytes:
        return _chunk(self.TYPE, 0, b"")

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> CookieAckChunk:
        return cls()


@dataclass(frozen=True)
class ForwardTsnChunk:
    """FORWARD TSN (RFC 3758 3.2): new cumulative TSN and (stream, SSN) pairs."""

    TYPE: ClassVar[int] = ChunkType.FORWARD_TSN
    new_cumulative_tsn: int
    streams: tuple[tuple[int, int], ...] = ()

    def __bytes__(self) -> bytes:
        value = U32.pack(self.new_cumulative_tsn) + b"".join(
            U16_PAIR.pack(s, n) for s, n in self.streams
        )
        return _chunk(self.TYPE, 0, value)

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> ForwardTsnChunk:
        if len(value) < 4 or len(value) % 4:
            raise SctpParseError("bad FORWARD TSN length")
        streams = tuple(U16_PAIR.unpack_from(value, i) for i in range(4, len(value), 4))
        return cls(U32.unpack_from(value)[0], streams)


@dataclass(frozen=True)
class IForwardTsnChunk:
    """I-FORWARD-TSN (RFC 8260 2.3.1): (stream, unordered, MID) triples."""

    TYPE: ClassVar[int] = ChunkType.I_FORWARD_TSN
    new_cumulative_tsn: int
    streams: tuple[tuple[int, bool, int], ...] = ()

    def __bytes__(self) -> bytes:
        value = U32.pack(self.new_cumulative_tsn) + b"".join(
            IFWD_ENTRY.pack(s, int(u), m) for s, u, m in self.streams
        )
        return _chunk(self.TYPE, 0, value)

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> IForwardTsnChunk:
        if len(value) < 4 or (len(value) - 4) % 8:
            raise SctpParseError("bad I-FORWARD-TSN length")
        streams = []
        for i in range(4, len(value), 8):
            sid, uflags, mid = IFWD_ENTRY.unpack_from(value, i)
            streams.append((sid, bool(uflags & 1), mid))
        return cls(U32.unpack_from(value)[0], tuple(streams))


# -- RE-CONFIG (RFC 6525) ----------------------------------------------------


@dataclass(frozen=True)
class OutgoingResetRequest:
    """Outgoing SSN Reset Request Parameter (RFC 6525 4.1), type 13."""

    TYPE: ClassVar[int] = 13
    request_seq: int
    response_seq: int
    last_tsn: int
    streams: tuple[int, ...] = ()

    def value(self) -> bytes:
        return struct.pack(
            f"!III{len(self.streams)}H", self.request_seq, self.response_seq, self.last_tsn,
            *self.streams,
        )

    @classmethod
    def parse_value(cls, value: bytes) -> OutgoingResetRequest:
        if len(value) < 12 or len(value) % 2:
            raise SctpParseError("bad outgoing reset request")
        req, resp, last = struct.unpack_from("!III", value)
        n = (len(value) - 12) // 2
        return cls(req, resp, last, struct.unpack_from(f"!{n}H", value, 12))


@dataclass(frozen=True)
class IncomingResetRequest:
    """Incoming SSN Reset Request Parameter (RFC 6525 4.2), type 14."""

    TYPE: ClassVar[int] = 14
    request_seq: int
    streams: tuple[int, ...] = ()

    def value(self) -> bytes:
        return struct.pack(f"!I{len(self.streams)}H", self.request_seq, *self.streams)

    @classmethod
    def parse_value(cls, value: bytes) -> IncomingResetRequest:
        if len(value) < 4 or len(value) % 2:
            raise SctpParseError("bad incoming reset request")
        n = (len(value) - 4) // 2
        return cls(U32.unpack_from(value)[0], struct.unpack_from(f"!{n}H", value, 4))


@dataclass(frozen=True)
class ReconfigResponse:
    """Re-configuration Response Parameter (RFC 6525 4.4), type 16."""

    TYPE: ClassVar[int] = 16
    SUCCESS_NOTHING_TO_DO: ClassVar[int] = 0
    SUCCESS_PERFORMED: ClassVar[int] = 1
    DENIED: ClassVar[int] = 2
    ERROR_WRONG_SSN: ClassVar[int] = 3
    ERROR_REQUEST_IN_PROGRESS: ClassVar[int] = 4
    ERROR_BAD_SEQUENCE_NUMBER: ClassVar[int] = 5
    IN_PROGRESS: ClassVar[int] = 6
    response_seq: int
    result: int
    sender_next_tsn: int | None = None
    receiver_next_tsn: int | None = None

    def value(self) -> bytes:
        value = struct.pack("!II", self.response_seq, self.result)
        if self.sender_next_tsn is not None:
            value += struct.pack("!II", self.sender_next_tsn, self.receiver_next_tsn or 0)
        return value

    @classmethod
    def parse_value(cls, value: bytes) -> ReconfigResponse:
        if len(value) == 8:
            return cls(*struct.unpack("!II", value))
        if len(value) == 16:
            return cls(*struct.unpack("!IIII", value))
        raise SctpParseError("bad re-configuration response")


@dataclass(frozen=True)
class RawParameter:
    """A RE-CONFIG parameter this implementation does not interpret."""

    type: int
    data: bytes

    def value(self) -> bytes:
        return self.data


ReconfigParameter = (
    OutgoingResetRequest | IncomingResetRequest | ReconfigResponse | RawParameter
)
_RECONFIG_TYPES: dict[int, type[OutgoingResetRequest | IncomingResetRequest | ReconfigResponse]] = {
    13: OutgoingResetRequest,
    14: IncomingResetRequest,
    16: ReconfigResponse,
}


@dataclass(frozen=True)
class ReconfigChunk:
    """RE-CONFIG (RFC 6525 3.1): one or two re-configuration parameters."""

    TYPE: ClassVar[int] = ChunkType.RECONFIG
    params: tuple[ReconfigParameter, ...] = ()

    def __bytes__(self) -> bytes:
        raw = []
        for p in self.params:
            ptype = p.type if isinstance(p, RawParameter) else p.TYPE
            raw.append((ptype, p.value()))
        return _chunk(self.TYPE, 0, serialize_parameters(raw))

    @classmethod
    def parse_value(cls, flags: int, value: memoryview) -> ReconfigChunk:
        params: list[ReconfigParameter] = []
        for ptype, pvalue in parse_parameters(value):
            kind = _RECONFIG_TYPES.get(ptype)
            params.append(kind.parse_value(pvalue) if kind else RawParameter(ptype, pvalue))
        return cls(tuple(params))


@dataclass(frozen=True)
class UnknownChunk:
    """A chunk of a type we do not implement; its upper two type bits say what to do."""

    type: int
    flags: int = 0
    value: bytes = b""

    def __bytes__(self) -> bytes:
        return _chunk(self.type, self.flags, self.value)


Chunk = (
    DataChunk | IDataChunk | InitChunk | InitAckChunk | SackChunk | HeartbeatChunk
    | HeartbeatAckChunk | AbortChunk | ErrorChunk | ShutdownChunk | ShutdownAckChunk
    | ShutdownCompleteChunk | CookieEchoChunk | CookieAckChunk | ForwardTsnChunk
    | IForwardTsnChunk | ReconfigChunk | UnknownChunk
)

_CHUNK_TYPES: dict[int, Any] = {
    cls.TYPE: cls
    for cls in (
        DataChunk, IDataChunk, InitChunk, InitAckChunk, SackChunk, HeartbeatChunk,
        HeartbeatAckChunk, AbortChunk, ErrorChunk, ShutdownChunk, ShutdownAckChunk,
        ShutdownCompleteChunk, CookieEchoChunk, CookieAckChunk, ForwardTsnChunk,
        IForwardTsnChunk, ReconfigChunk,
    )
}


def iter_chunk_spans(data: bytes | memoryview, offset: int = 12) -> list[tuple[int, int, int, int]]:
    """(type, flags, value start, value end) of each chunk from ``offset``."""
    spans = []
    end = len(data)
    while offset < end:
        if end - offset < 4:
            raise SctpParseError("truncated chunk header")
        ctype, flags, length = CHUNK_HEADER.unpack_from(data, offset)
        if length < 4 or offset + length > end:
            raise SctpParseError(f"bad chunk length {length}")
        spans.append((ctype, flags, offset + 4, offset + length))
        offset += (length + 3) & ~3
    return spans


def parse_chunk(ctype: int, flags: int, value: memoryview) -> Chunk:
    kind = _CHUNK_TYPES.get(ctype)
    if kind is None:
        return UnknownChunk(ctype, flags, bytes(value))
    try:
        chunk: Chunk = kind.parse_value(flags, value)
    except struct.error as exc:  # defensive: every length is checked above
        raise SctpParseError(str(exc)) from exc
    return chunk


def parse_chunks(data: bytes | memoryview, offset: int = 0) -> tuple[Chunk, ...]:
    view = memoryview(data)
    return tuple(
        parse_chunk(ctype, flags, view[start:end])
        for ctype, flags, start, end in iter_chunk_spans(view, offset)
    )


@dataclass(frozen=True)
class Packet:
    """An SCTP packet: common header (RFC 9260 3.1) and chunks."""

    source_port: int
    destination_port: int
    verification_tag: int
    chunks: tuple[Chunk, ...] = ()

    def __bytes__(self) -> bytes:
        body = b"".join(bytes(c) for c in self.chunks)
        header = COMMON_HEADER.pack(
            self.source_port, self.destination_port, self.verification_tag, 0
        )
        crc = crc32c(body, crc32c(header))
        return header[:8] + CHECKSUM.pack(crc) + body

    @classmethod
    def parse(cls, data: bytes | memoryview, verify_checksum: bool = True) -> Packet:
        if len(data) < 12:
            raise SctpParseError("packet shorter than the common header")
        view = memoryview(data)
        sport, dport, vtag, _ = COMMON_HEADER.unpack_from(view)
        if verify_checksum and CHECKSUM.unpack_from(view, 8)[0] != checksum(view):
            raise SctpParseError("bad CRC32c checksum")
        return cls(sport, dport, vtag, parse_chunks(view, 12))
