"""RTCP packets: RFC 3550 §6 (SR, RR, SDES, BYE, APP), RFC 4585 (generic NACK,
PLI), RFC 5104 (FIR), REMB (draft-alvestrand-rmcat-remb), transport-wide CC
feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), RFC 3611 XR
(RRTR, DLRR), compound and reduced-size (RFC 5506) packets.

Packets are frozen dataclasses. :func:`parse_rtcp` keeps each packet's bytes as
received, so ``b"".join(map(bytes, parse_rtcp(data))) == data`` whatever
reserved bits, padding or chunk encodings the sender chose; a packet built
from fields (or copied with :func:`dataclasses.replace`) is serialized from
its fields in the canonical form. SDES, in every compound but seldom read by
a receiver, is validated by :func:`parse_rtcp` and decodes its chunks on first
access.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from webrtc.rtp._construct import fast_constructor, frozen_builder
from webrtc.rtp.errors import RtpParseError

__all__ = [
    "ApplicationDefined",
    "DlrrReport",
    "DlrrSubBlock",
    "ExtendedReport",
    "FirEntry",
    "FullIntraRequest",
    "GenericNack",
    "Goodbye",
    "NackItem",
    "PayloadFeedback",
    "PictureLossIndication",
    "ReceiverReferenceTime",
    "ReceiverReport",
    "Remb",
    "ReportBlock",
    "RtcpPacket",
    "RtpFeedback",
    "SdesChunk",
    "SenderReport",
    "SourceDescription",
    "TransportWideFeedback",
    "UnknownRtcpPacket",
    "UnknownXrBlock",
    "XrBlock",
    "parse_rtcp",
]

SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR = range(200, 208)

_HEADER = struct.Struct("!BBH")
_U32 = struct.Struct("!I")
_U16 = struct.Struct("!H")
_SENDER_INFO = struct.Struct("!IQIII")
_SR_ONE_BLOCK = struct.Struct("!IQIIIIIIIII")  # sender info and one report block
# The usual first packets of a compound (see parse_rtcp), each read with one
# unpack that includes its header word: an SR or RR with one report block
# (V=2, no padding, RC=1, length 12 or 7 words), and an SDES up to the type
# and length of its first item.
_SR_WITH_ONE_BLOCK = struct.Struct("!IIQIIIIIIIII")
_SR_WITH_ONE_BLOCK_HEADER = 0x81C8000C
_RR_WITH_ONE_BLOCK = struct.Struct("!IIIIIIII")
_RR_WITH_ONE_BLOCK_HEADER = 0x81C90007
_SDES_FIRST_ITEM = struct.Struct("!BBH4xBB")
_REPORT_BLOCK = struct.Struct("!IIIIII")
_FEEDBACK = struct.Struct("!II")
_NACK_ITEM = struct.Struct("!HH")
_FIR_ENTRY = struct.Struct("!IB3s")
_TWCC_HEADER = struct.Struct("!HHI")
_XR_BLOCK = struct.Struct("!BBH")
_DLRR = struct.Struct("!III")
_ZEROS = [bytes(n) for n in range(5)]


def _header(count: int, packet_type: int, body: bytes) -> bytes:
    if len(body) % 4:
        raise ValueError("RTCP body must be a multiple of 32 bits")
    return _HEADER.pack(0x80 | count, packet_type, len(body) // 4) + body


def _feedback(fmt: int, packet_type: int, sender_ssrc: int, media_ssrc: int, fci: bytes) -> bytes:
    """RFC 4585 §6.1: the common feedback header, then the FCI."""
    return _header(fmt, packet_type, _FEEDBACK.pack(sender_ssrc, media_ssrc) + fci)


class ReportBlock(NamedTuple):
    """RFC 3550 §6.4.1 reception report block."""

    ssrc: int
    fraction_lost: int
    packets_lost: int
    highest_sequence: int
    jitter: int
    lsr: int
    dlsr: int


def _pack_report(block: ReportBlock) -> bytes:
    return _REPORT_BLOCK.pack(
        block.ssrc,
        (block.fraction_lost << 24) | (block.packets_lost & 0xFFFFFF),
        block.highest_sequence,
        block.jitter,
        block.lsr,
        block.dlsr,
    )


def _report_blocks(data: bytes, pos: int, count: int) -> tuple[ReportBlock, ...]:
    """``count`` RFC 3550 §6.4.1 report blocks at ``data[pos:]`` (length checked by the caller)."""
    reports = []
    new = tuple.__new__  # NamedTuple construction without its argument parsing
    for offset in range(pos, pos + 24 * count, 24):
        ssrc, lost, highest, jitter, lsr, dlsr = _REPORT_BLOCK.unpack_from(data, offset)
        cumulative = lost & 0xFFFFFF
        if cumulative & 0x800000:
            cumulative -= 0x1000000
        reports.append(
            new(ReportBlock, (ssrc, lost >> 24, cumulative, highest, jitter, lsr, dlsr))
        )
    return tuple(reports)


class _Base:
    """Shared behaviour: bytes() returns the received bytes when there are any."""

    __slots__ = ()
    _raw: bytes
    packet_type: ClassVar[int]

    def __bytes__(self) -> bytes:
        return self._raw or self.serialize()

    if not TYPE_CHECKING:  # (mypy would otherwise accept any attribute name)

        def __getattr__(self, name: str) -> Any:
            # Only reached for an unset slot: the fields of a packet parse_rtcp()
            # validated but left undecoded (SDES). Decode them all now.
            decode = _LAZY.get(type(self))
            if decode is None or name.startswith("__") or name == "_raw":
                raise AttributeError(name)
            decode(self)
            return object.__getattribute__(self, name)

    def serialize(self) -> bytes:
        """The canonical encoding from the fields (ignores the received bytes)."""
        raise NotImplementedError


def _raw_field() -> bytes:
    return field(default=b"", init=False, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SenderReport(_Base):
    """RFC 3550 §6.4.1. ``ntp_timestamp`` is the 64-bit NTP value."""

    packet_type: ClassVar[int] = SR
    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        body = _SENDER_INFO.pack(
            self.ssrc, self.ntp_timestamp, self.rtp_timestamp, self.packet_count, self.octet_count
        )
        body += b"".join(_pack_report(r) for r in self.reports) + self.extension
        return _header(len(self.reports), SR, body)


@dataclass(frozen=True, slots=True)
class ReceiverReport(_Base):
    """RFC 3550 §6.4.2."""

    packet_type: ClassVar[int] = RR
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        body = _U32.pack(self.ssrc) + b"".join(_pack_report(r) for r in self.reports)
        return _header(len(self.reports), RR, body + self.extension)


class SdesChunk(NamedTuple):
    """One SSRC/CSRC and its items ``(type, value)``, e.g. ``(1, b"cname")``."""

    ssrc: int
    items: tuple[tuple[int, bytes], ...]


@dataclass(frozen=True, slots=True)
class SourceDescription(_Base):
    """RFC 3550 §6.5."""

    packet_type: ClassVar[int] = SDES
    chunks: tuple[SdesChunk, ...] = ()
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        parts = []
        for chunk in self.chunks:
            items = b"".join(bytes((kind, len(value))) + value for kind, value in chunk.items)
            # A null item ends the list, then nulls up to the next 32-bit boundary.
            parts.append(_U32.pack(chunk.ssrc) + items + bytes(4 - len(items) % 4))
        return _header(len(self.chunks), SDES, b"".join(parts))


@dataclass(frozen=True, slots=True)
class Goodbye(_Base):
    """RFC 3550 §6.6. ``reason`` is None when absent."""

    packet_type: ClassVar[int] = BYE
    ssrcs: tuple[int, ...] = ()
    reason: bytes | None = None
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        body = b"".join(_U32.pack(s) for s in self.ssrcs)
        if self.reason is not None:
            text = bytes((len(self.reason),)) + self.reason
            body += text + bytes(-len(text) % 4)
        return _header(len(self.ssrcs), BYE, body)


@dataclass(frozen=True, slots=True)
class ApplicationDefined(_Base):
    """RFC 3550 §6.7."""

    packet_type: ClassVar[int] = APP
    subtype: int
    ssrc: int
    name: bytes
    data: bytes = b""
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        if len(self.name) != 4:
            raise ValueError("APP name is 4 bytes")
        return _header(self.subtype, APP, _U32.pack(self.ssrc) + self.name + self.data)


class NackItem(NamedTuple):
    """RFC 4585 §6.2.1: a packet id and the bitmask of the 16 following ones."""

    pid: int
    blp: int


@dataclass(frozen=True, slots=True)
class GenericNack(_Base):
    """RFC 4585 §6.2.1 (RTPFB, FMT 1)."""

    packet_type: ClassVar[int] = RTPFB
    fmt: ClassVar[int] = 1
    sender_ssrc: int
    media_ssrc: int
    items: tuple[NackItem, ...] = ()
    _raw: bytes = _raw_field()

    @classmethod
    def from_lost(cls, sender_ssrc: int, media_ssrc: int, lost: list[int]) -> GenericNack:
        """Pack sequence numbers (in send order, wrap-aware) into PID/BLP items."""
        items: list[NackItem] = []
        pid = -1
        blp = 0
        for seq in lost:
            seq &= 0xFFFF
            if pid >= 0:
                distance = (seq - pid) & 0xFFFF
                if 1 <= distance <= 16:
                    blp |= 1 << (distance - 1)
                    continue
                if distance == 0:
                    continue
                items.append(NackItem(pid, blp))
            pid, blp = seq, 0
        if pid >= 0:
            items.append(NackItem(pid, blp))
        return cls(sender_ssrc, media_ssrc, tuple(items))

    @property
    def lost(self) -> list[int]:
        result = []
        for pid, blp in self.items:
            result.append(pid)
            for bit in range(16):
                if blp & (1 << bit):
                    result.append((pid + bit + 1) & 0xFFFF)
        return result

    def serialize(self) -> bytes:
        fci = b"".join(_NACK_ITEM.pack(i.pid, i.blp) for i in self.items)
        return _feedback(1, RTPFB, self.sender_ssrc, self.media_ssrc, fci)


@dataclass(frozen=True, slots=True)
class TransportWideFeedback(_Base):
    """draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1 (RTPFB, FMT 15).

    ``statuses`` has one entry per packet from ``base_sequence``: 0 not
    received, 1 received with a small delta, 2 with a large or negative one.
    ``deltas`` has one entry per received packet, in 250 µs units, relative to
    the previous received packet (the first to ``reference_time`` * 64 ms).
    """

    packet_type: ClassVar[int] = RTPFB
    fmt: ClassVar[int] = 15
    sender_ssrc: int
    media_ssrc: int
    base_sequence: int
    reference_time: int
    feedback_count: int
    statuses: tuple[int, ...] = ()
    deltas: tuple[int, ...] = ()
    _raw: bytes = _raw_field()

    def arrivals(self) -> list[tuple[int, float | None]]:
        """``(transport sequence number, arrival seconds or None)`` per packet."""
        result: list[tuple[int, float | None]] = []
        time_us = self.reference_time * 64000
        deltas = iter(self.deltas)
        for index, status in enumerate(self.statuses):
            seq = (self.base_sequence + index) & 0xFFFF
            if status:
                time_us += next(deltas) * 250
                result.append((seq, time_us / 1e6))
            else:
                result.append((seq, None))
        return result

    def serialize(self) -> bytes:
        statuses = self.statuses
        count = len(statuses)
        chunks: list[int] = []
        i = 0
        while i < count:
            status = statuses[i]
            run = 1
            while i + run < count and statuses[i + run] == status and run < 0x1FFF:
                run += 1
            if run >= 7 or i + run == count:
                chunks.append((status << 13) | run)  # run-length chunk
                i += run
                continue
            window = statuses[i : i + 14]
            if max(window) <= 1:
                bits = 0
                for index, value in enumerate(window):
                    bits |= value << (13 - index)
                chunks.append(0x8000 | bits)  # 14 one-bit symbols
                i += 14
            else:
                bits = 0
                for index, value in enumerate(statuses[i : i + 7]):
                    bits |= value << (12 - 2 * index)
                chunks.append(0xC000 | bits)  # 7 two-bit symbols
                i += 7
        deltas = []
        delta_iter = iter(self.deltas)
        for status in statuses:
            if status == 1:
                deltas.append(bytes((next(delta_iter),)))
            elif status == 2:
                deltas.append(struct.pack("!h", next(delta_iter)))
        body = (
            _FEEDBACK.pack(self.sender_ssrc, self.media_ssrc)
            + _TWCC_HEADER.pack(
                self.base_sequence,
                count,
                ((self.reference_time & 0xFFFFFF) << 8) | self.feedback_count,
            )
            + struct.pack(f"!{len(chunks)}H", *chunks)
            + b"".join(deltas)
        )
        body += bytes(-len(body) % 4)
        return _header(15, RTPFB, body)

    @classmethod
    def _parse_fci(cls, sender: int, media: int, fci: bytes) -> TransportWideFeedback:
        if len(fci) < 8:
            raise RtpParseError("transport-wide feedback FCI is too short")
        base, count, word = _TWCC_HEADER.unpack_from(fci)
        reference = word >> 8
        if reference & 0x800000:
            reference -= 0x1000000
        pos = 8
        statuses: list[int] = []
        n = len(fci)
        while len(statuses) < count:
            if pos + 2 > n:
                raise RtpParseError("transport-wide feedback chunks are truncated")
            chunk = _U16.unpack_from(fci, pos)[0]
            pos += 2
            if not chunk & 0x8000:
                run = chunk & 0x1FFF
                statuses.extend([(chunk >> 13) & 0x3] * min(run, count - len(statuses)))
                if run == 0:
                    raise RtpParseError("transport-wide feedback run of length 0")
            elif not chunk & 0x4000:
                for shift in range(13, -1, -1):
                    statuses.append((chunk >> shift) & 1)
            else:
                for shift in range(12, -1, -2):
                    statuses.append((chunk >> shift) & 3)
        del statuses[count:]
        deltas: list[int] = []
        for status in statuses:
            if status == 1:
                if pos >= n:
                    raise RtpParseError("transport-wide feedback deltas are truncated")
                deltas.append(fci[pos])
                pos += 1
            elif status == 2:
                if pos + 2 > n:
                    raise RtpParseError("transport-wide feedback deltas are truncated")
                deltas.append(struct.unpack_from("!h", fci, pos)[0])
                pos += 2
            elif status == 3:
                raise RtpParseError("transport-wide feedback uses the reserved status 3")
        return cls(sender, media, base, reference, word & 0xFF, tuple(statuses), tuple(deltas))


@dataclass(frozen=True, slots=True)
class RtpFeedback(_Base):
    """Any other transport-layer feedback message (RFC 4585 §6.2)."""

    packet_type: ClassVar[int] = RTPFB
    fmt: int
    sender_ssrc: int
    media_ssrc: int
    fci: bytes = b""
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        return _feedback(self.fmt, RTPFB, self.sender_ssrc, self.media_ssrc, self.fci)


@dataclass(frozen=True, slots=True)
class PictureLossIndication(_Base):
    """RFC 4585 §6.3.1 (PSFB, FMT 1)."""

    packet_type: ClassVar[int] = PSFB
    fmt: ClassVar[int] = 1
    sender_ssrc: int
    media_ssrc: int
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        return _feedback(1, PSFB, self.sender_ssrc, self.media_ssrc, b"")


class FirEntry(NamedTuple):
    """RFC 5104 §4.3.1.1: the SSRC asked for a keyframe and a command sequence number."""

    ssrc: int
    sequence_number: int


@dataclass(frozen=True, slots=True)
class FullIntraRequest(_Base):
    """RFC 5104 §4.3.1 (PSFB, FMT 4); ``media_ssrc`` is 0 by the RFC."""

    packet_type: ClassVar[int] = PSFB
    fmt: ClassVar[int] = 4
    sender_ssrc: int
    entries: tuple[FirEntry, ...] = ()
    media_ssrc: int = 0
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        fci = b"".join(_FIR_ENTRY.pack(e.ssrc, e.sequence_number, b"\0\0\0") for e in self.entries)
        return _feedback(4, PSFB, self.sender_ssrc, self.media_ssrc, fci)


@dataclass(frozen=True, slots=True)
class Remb(_Base):
    """Receiver estimated max bitrate (draft-alvestrand-rmcat-remb §2.2; PSFB FMT 15)."""

    packet_type: ClassVar[int] = PSFB
    fmt: ClassVar[int] = 15
    sender_ssrc: int
    bitrate: int
    ssrcs: tuple[int, ...] = ()
    media_ssrc: int = 0
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        exponent = 0
        mantissa = self.bitrate
        while mantissa >= 1 << 18:
            mantissa >>= 1
            exponent += 1
        if exponent > 63:
            raise ValueError("REMB bitrate is too large")
        fci = b"REMB" + _U32.pack(
            (len(self.ssrcs) << 24) | (exponent << 18) | mantissa
        ) + b"".join(_U32.pack(s) for s in self.ssrcs)
        return _feedback(15, PSFB, self.sender_ssrc, self.media_ssrc, fci)


@dataclass(frozen=True, slots=True)
class PayloadFeedback(_Base):
    """Any other payload-specific feedback message (RFC 4585 §6.3)."""

    packet_type: ClassVar[int] = PSFB
    fmt: int
    sender_ssrc: int
    media_ssrc: int
    fci: bytes = b""
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        return _feedback(self.fmt, PSFB, self.sender_ssrc, self.media_ssrc, self.fci)


class ReceiverReferenceTime(NamedTuple):
    """RFC 3611 §4.4 (block type 4)."""

    ntp_timestamp: int


class DlrrSubBlock(NamedTuple):
    ssrc: int
    lrr: int
    dlrr: int


class DlrrReport(NamedTuple):
    """RFC 3611 §4.5 (block type 5)."""

    sub_blocks: tuple[DlrrSubBlock, ...]


class UnknownXrBlock(NamedTuple):
    block_type: int
    type_specific: int
    data: bytes


XrBlock = ReceiverReferenceTime | DlrrReport | UnknownXrBlock


@dataclass(frozen=True, slots=True)
class ExtendedReport(_Base):
    """RFC 3611 XR packet."""

    packet_type: ClassVar[int] = XR
    ssrc: int
    blocks: tuple[XrBlock, ...] = ()
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        parts = [_U32.pack(self.ssrc)]
        for block in self.blocks:
            if isinstance(block, ReceiverReferenceTime):
                parts.append(_XR_BLOCK.pack(4, 0, 2) + struct.pack("!Q", block.ntp_timestamp))
            elif isinstance(block, DlrrReport):
                data = b"".join(_DLRR.pack(*s) for s in block.sub_blocks)
                parts.append(_XR_BLOCK.pack(5, 0, len(data) // 4) + data)
            else:
                if len(block.data) % 4:
                    raise ValueError("XR block data must be a multiple of 32 bits")
                parts.append(
                    _XR_BLOCK.pack(block.block_type, block.type_specific, len(block.data) // 4)
                    + block.data
                )
        return _header(0, XR, b"".join(parts))


@dataclass(frozen=True, slots=True)
class UnknownRtcpPacket(_Base):
    """A packet type this module does not model, kept whole."""

    packet_type: int  # type: ignore[misc]
    count: int
    body: bytes = b""
    _raw: bytes = _raw_field()

    def serialize(self) -> bytes:
        return _header(self.count, self.packet_type, self.body)


RtcpPacket = (
    SenderReport
    | ReceiverReport
    | SourceDescription
    | Goodbye
    | ApplicationDefined
    | GenericNack
    | TransportWideFeedback
    | RtpFeedback
    | PictureLossIndication
    | FullIntraRequest
    | Remb
    | PayloadFeedback
    | ExtendedReport
    | UnknownRtcpPacket
)


_SenderReportBuilder = frozen_builder(SenderReport)
_ReceiverReportBuilder = frozen_builder(ReceiverReport)
_SourceDescriptionBuilder = frozen_builder(SourceDescription)
_make_nack = fast_constructor(GenericNack)
_make_pli = fast_constructor(PictureLossIndication)


def _sdes_chunks(count: int, data: bytes, pos: int) -> tuple[SdesChunk, ...]:
    """The chunks of an SDES body at ``data[pos:]`` that :func:`_check_sdes` accepted."""
    chunks = []
    new = tuple.__new__  # NamedTuple construction without its argument parsing
    for _ in range(count):
        ssrc = _U32.unpack_from(data, pos)[0]
        pos += 4
        start = pos
        items = []
        while kind := data[pos]:
            length = data[pos + 1]
            items.append((kind, data[pos + 2 : pos + 2 + length]))
            pos += 2 + length
        pos += 4 - (pos - start) % 4
        chunks.append(new(SdesChunk, (ssrc, tuple(items))))
    return tuple(chunks)


_set_sdes_chunks = SourceDescription.__dict__["chunks"].__set__


def _decode_sdes(packet: Any) -> None:
    raw = packet._raw
    _set_sdes_chunks(packet, _sdes_chunks(raw[0] & 0x1F, raw, 4))


_LAZY: dict[type, Callable[[Any], None]] = {SourceDescription: _decode_sdes}
_new_tuple = tuple.__new__


def _check_sdes(count: int, data: bytes, pos: int, n: int) -> None:
    """Validate SDES chunks in ``data[pos:n]`` (RFC 3550 §6.5): each an SSRC, items
    ended by a null octet, then null octets up to a 32-bit boundary."""
    if count == 1:  # the usual SDES, one chunk with one item (the CNAME): no loop
        at = pos + 4
        if at + 2 <= n and data[at]:
            stop = at + 2 + data[at + 1]  # the null octet ending the item list
            if stop < n:
                end = stop + 4 - (stop - at) % 4
                if end == n and data[stop:end] == _ZEROS[end - stop]:
                    return
        # anything else (more items, or malformed) through the general loop
    for _ in range(count):
        pos += 4
        start = pos
        while True:
            if pos >= n:
                raise RtpParseError("SDES item list is not terminated")
            if not data[pos]:
                break
            if pos + 2 > n or pos + 2 + data[pos + 1] > n:
                raise RtpParseError("SDES item is truncated")
            pos += 2 + data[pos + 1]
        end = pos + 4 - (pos - start) % 4
        if end > n or data[pos:end] != _ZEROS[end - pos]:
            raise RtpParseError("SDES chunk padding is malformed")
        pos = end
    if pos != n:
        raise RtpParseError("SDES has bytes after its chunks")


def _parse_bye(count: int, body: bytes) -> Goodbye:
    n = len(body)
    if 4 * count > n:
        raise RtpParseError("BYE SSRC list is truncated")
    ssrcs = struct.unpack_from(f"!{count}I", body)
    pos = 4 * count
    reason = None
    if pos < n:
        length = body[pos]
        if pos + 1 + length > n:
            raise RtpParseError("BYE reason is truncated")
        reason = body[pos + 1 : pos + 1 + length]
    return Goodbye(ssrcs, reason)


def _parse_xr(body: bytes) -> ExtendedReport:
    if len(body) < 4:
        raise RtpParseError("XR packet is too short")
    ssrc = _U32.unpack_from(body)[0]
    blocks: list[XrBlock] = []
    pos = 4
    n = len(body)
    while pos < n:
        if pos + 4 > n:
            raise RtpParseError("XR block header is truncated")
        block_type, specific, words = _XR_BLOCK.unpack_from(body, pos)
        end = pos + 4 + 4 * words
        if end > n:
            raise RtpParseError("XR block is truncated")
        if block_type == 4 and words == 2 and specific == 0:
            blocks.append(ReceiverReferenceTime(struct.unpack_from("!Q", body, pos + 4)[0]))
        elif block_type == 5 and words % 3 == 0 and specific == 0:
            blocks.append(
                DlrrReport(
                    tuple(
                        DlrrSubBlock(*_DLRR.unpack_from(body, offset))
                        for offset in range(pos + 4, end, 12)
                    )
                )
            )
        else:
            blocks.append(UnknownXrBlock(block_type, specific, body[pos + 4 : end]))
        pos = end
    return ExtendedReport(ssrc, tuple(blocks))


def _parse_one(count: int, packet_type: int, body: bytes, raw: bytes) -> RtcpPacket:
    """Any packet but SR, RR and SDES (which :func:`parse_rtcp` reads itself)."""
    n = len(body)
    if packet_type == BYE:
        return _parse_bye(count, body)
    if packet_type == APP:
        if n < 8:
            raise RtpParseError("APP is too short")
        return ApplicationDefined(count, _U32.unpack_from(body)[0], body[4:8], body[8:])
    if packet_type in (RTPFB, PSFB):
        if n < 8:
            raise RtpParseError("feedback message is too short")
        sender, media = _FEEDBACK.unpack_from(body)
        if packet_type == RTPFB:
            if count == 1:
                if (n - 8) % 4:
                    raise RtpParseError("generic NACK FCI is not a multiple of 32 bits")
                new = tuple.__new__
                return _make_nack(  # type: ignore[no-any-return]
                    sender,
                    media,
                    tuple(new(NackItem, _NACK_ITEM.unpack_from(body, p)) for p in range(8, n, 4)),
                    raw,
                )
            if count == 15:
                return TransportWideFeedback._parse_fci(sender, media, body[8:])
            return RtpFeedback(count, sender, media, body[8:])
        if count == 1 and n == 8:
            return _make_pli(sender, media, raw)  # type: ignore[no-any-return]
        if count == 4:
            if (n - 8) % 8:
                raise RtpParseError("FIR FCI is not a multiple of 64 bits")
            return FullIntraRequest(
                sender,
                tuple(FirEntry(*_FIR_ENTRY.unpack_from(body, p)[:2]) for p in range(8, n, 8)),
                media,
            )
        if count == 15 and body[8:12] == b"REMB":
            if n < 16:
                raise RtpParseError("REMB is too short")
            word = _U32.unpack_from(body, 12)[0]
            number = word >> 24
            if n != 16 + 4 * number:
                raise RtpParseError("REMB SSRC count does not match its length")
            return Remb(
                sender,
                (word & 0x3FFFF) << ((word >> 18) & 0x3F),
                struct.unpack_from(f"!{number}I", body, 16),
                media,
            )
        return PayloadFeedback(count, sender, media, body[8:])
    if packet_type == XR:
        return _parse_xr(body)
    return UnknownRtcpPacket(packet_type, count, body)


def parse_rtcp(data: bytes) -> list[RtcpPacket]:
    """Parse a compound or reduced-size RTCP packet into its packets.

    Raises :class:`RtpParseError` if anything in it is malformed.
    """
    if type(data) is not bytes:
        data = bytes(data)
    n = len(data)
    if n == 0:
        raise RtpParseError("empty RTCP packet")
    packets: list[RtcpPacket] = []
    pos = 0
    # RFC 3550 §6.1: a compound packet starts with an SR or RR, nearly always
    # with one report block, and goes on with an SDES holding the CNAME alone.
    # Those are read here without the general loop below, which takes
    # whatever they do not match (and reports what is malformed). The low
    # octet of the length comes first: it rules out most other packets with
    # one index, before the unpack.
    if n >= 52 and data[3] == 12 and data[1] == SR:
        sr = _SenderReportBuilder()
        (header, sr.ssrc, sr.ntp_timestamp, sr.rtp_timestamp, sr.packet_count, sr.octet_count,
         source, lost, highest, jitter, lsr, dlsr) = _SR_WITH_ONE_BLOCK.unpack_from(data)
        if header == _SR_WITH_ONE_BLOCK_HEADER:
            sr.reports = (_new_tuple(ReportBlock, (  # (packets lost: signed 24 bits)
                source, lost >> 24, ((lost & 0xFFFFFF) ^ 0x800000) - 0x800000, highest,
                jitter, lsr, dlsr)),)
            sr.extension = b""
            sr._raw = data if n == 52 else data[:52]
            sr.__class__ = SenderReport
            packets.append(sr)
            pos = 52
    elif n >= 32 and data[3] == 7 and data[1] == RR:
        rr = _ReceiverReportBuilder()
        header, rr.ssrc, source, lost, highest, jitter, lsr, dlsr = (
            _RR_WITH_ONE_BLOCK.unpack_from(data)
        )
        if header == _RR_WITH_ONE_BLOCK_HEADER:
            rr.reports = (_new_tuple(ReportBlock, (
                source, lost >> 24, ((lost & 0xFFFFFF) ^ 0x800000) - 0x800000, highest,
                jitter, lsr, dlsr)),)
            rr.extension = b""
            rr._raw = data if n == 32 else data[:32]
            rr.__class__ = ReceiverReport
            packets.append(rr)
            pos = 32
    if pos and n >= pos + 12 and data[pos + 1] == SDES:
        first, _, words, kind, length = _SDES_FIRST_ITEM.unpack_from(data, pos)
        end = pos + 4 + 4 * words
        stop = pos + 10 + length  # where the null octet ending the item list must be
        # One chunk (no padding), one item, then 1 to 4 null octets up to the
        # end: the 32-bit boundary of RFC 3550 §6.5, as ``end - pos`` is a
        # multiple of 4. (Four indexes cover the nulls, and cost less than one
        # bytes method call with a start argument.)
        if (
            first == 0x81
            and kind
            and end <= n
            and 0 < end - stop <= 4
            and not (data[stop] or data[end - 1])
            and (end - stop <= 2 or not (data[stop + 1] or data[end - 2]))
        ):
            sdes = _SourceDescriptionBuilder()
            sdes._raw = data[pos:end]
            sdes.__class__ = SourceDescription
            packets.append(sdes)
            pos = end
    while pos < n:
        if pos + 4 > n:
            raise RtpParseError("RTCP header is truncated")
        first, packet_type, words = _HEADER.unpack_from(data, pos)
        if first & 0xC0 != 0x80:
            raise RtpParseError(f"RTCP version {first >> 6} is not 2")
        end = pos + 4 + 4 * words
        if end > n:
            raise RtpParseError("RTCP packet runs past the datagram")
        body_end = end
        if first & 0x20:
            padding = data[end - 1]
            if padding == 0 or end - padding < pos + 4:
                raise RtpParseError(f"RTCP padding count {padding} is invalid")
            body_end = end - padding
        raw = data if pos == 0 and end == n else data[pos:end]
        count = first & 0x1F
        # SR and RR (read by every receiver) are decoded here, from ``data``
        # without slicing out their bodies; SDES, which a receiver seldom reads,
        # is validated here and decoded on first access (_Base.__getattr__)
        if packet_type == SR:
            reports_end = pos + 28 + 24 * count
            if reports_end > body_end:
                raise RtpParseError("SR is too short for its report blocks")
            sr = _SenderReportBuilder()
            if count == 1:  # the usual SR: sender info and one block, one unpack
                (sr.ssrc, sr.ntp_timestamp, sr.rtp_timestamp, sr.packet_count, sr.octet_count,
                 source, lost, highest, jitter, lsr, dlsr) = _SR_ONE_BLOCK.unpack_from(
                    data, pos + 4
                )
                sr.reports = (_new_tuple(ReportBlock, (  # (packets lost: signed 24 bits)
                    source, lost >> 24, ((lost & 0xFFFFFF) ^ 0x800000) - 0x800000, highest,
                    jitter, lsr, dlsr)),)
            else:
                (sr.ssrc, sr.ntp_timestamp, sr.rtp_timestamp, sr.packet_count,
                 sr.octet_count) = _SENDER_INFO.unpack_from(data, pos + 4)
                sr.reports = _report_blocks(data, pos + 28, count) if count else ()
            sr.extension = data[reports_end:body_end]
            sr._raw = raw
            sr.__class__ = SenderReport
            packets.append(sr)
        elif packet_type == SDES:
            _check_sdes(count, data, pos + 4, body_end)
            sdes = _SourceDescriptionBuilder()
            sdes._raw = raw
            sdes.__class__ = SourceDescription
            packets.append(sdes)
        elif packet_type == RR:
            reports_end = pos + 8 + 24 * count
            if reports_end > body_end:
                raise RtpParseError("RR is too short for its report blocks")
            rr = _ReceiverReportBuilder()
            rr.ssrc = _U32.unpack_from(data, pos + 4)[0]
            rr.reports = _report_blocks(data, pos + 8, count) if count else ()
            rr.extension = data[reports_end:body_end]
            rr._raw = raw
            rr.__class__ = ReceiverReport
            packets.append(rr)
        else:
            packet = _parse_one(count, packet_type, data[pos + 4 : body_end], raw)
            if not packet._raw:
                object.__setattr__(packet, "_raw", raw)
            packets.append(packet)
        pos = end
    return packets
