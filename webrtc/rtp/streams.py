"""Sans-I/O RTP stream engines: one sender or receiver per SSRC.

They exchange parsed :class:`RtpPacket` and RTCP packet objects, not bytes;
:class:`webrtc.rtp.session.MediaSession` puts them on a transport (SRTP,
BUNDLE demultiplexing, RTCP compounds). Times are the caller's ``now``.

- :class:`RtpSender`: sequence numbers and timestamps, a bounded history,
  RTX retransmission (RFC 4588) answering generic NACKs (RFC 4585), sender
  reports and SDES, abs-send-time and transport-wide sequence numbers stamped
  on every packet that goes out, RTT from report blocks (RFC 3550 §6.4.1).
- :class:`RtpReceiver`: RFC 3550 appendix A statistics, report blocks with
  LSR/DLSR, NACK generation with retries and a give-up time, RRTR/DLRR
  (RFC 3611) for the receiver's own RTT, a :class:`JitterBuffer` that
  assembles frames and reports lost ones, and keyframe requests (PLI, FIR).
- :class:`TransportFeedbackGenerator`: transport-wide congestion control
  feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01).
"""

from __future__ import annotations

import os
import random
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from webrtc.rtp._construct import fast_constructor
from webrtc.rtp.codecs import (
    Depacketizer,
    G711Codec,
    OpusCodec,
    PayloadCodec,
    Vp8Codec,
    Vp9Codec,
)
from webrtc.rtp.errors import RtpParseError
from webrtc.rtp.extensions import HeaderExtensionMap
from webrtc.rtp.jitterbuffer import AssembledFrame, JitterBuffer, LostFrames
from webrtc.rtp.packet import RtpPacket
from webrtc.rtp.rtcp import (
    DlrrReport,
    DlrrSubBlock,
    ExtendedReport,
    FirEntry,
    FullIntraRequest,
    GenericNack,
    PictureLossIndication,
    ReceiverReferenceTime,
    ReceiverReport,
    Remb,
    ReportBlock,
    RtcpPacket,
    SdesChunk,
    SenderReport,
    SourceDescription,
    TransportWideFeedback,
)
from webrtc.rtp.srtp import RawCall, raw_error

__all__ = [
    "FrameLost",
    "FrameReceived",
    "KeyframeRequested",
    "ReceiverStatistics",
    "RembReceived",
    "RoundTripTimeMeasured",
    "RtpReceiver",
    "RtpSender",
    "TransportFeedbackGenerator",
    "TransportFeedbackReceived",
    "TransportSequenceCounter",
    "ntp_from_seconds",
    "unwrap_sequence",
]

_U16 = struct.Struct("!H")


def ntp_from_seconds(seconds: float) -> int:
    """A 64-bit NTP-format timestamp (32.32 fixed point) for ``seconds``."""
    return int(seconds * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


def _middle32(ntp: int) -> int:
    """RFC 3550 §6.4.1: LSR is the middle 32 bits of the 64-bit NTP timestamp."""
    return (ntp >> 16) & 0xFFFFFFFF


def unwrap_sequence(sequence: int, reference: int) -> int:
    """The extended sequence number closest to ``reference`` with these 16 bits."""
    return reference + ((sequence - reference + 0x8000) & 0xFFFF) - 0x8000


# -- events ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FrameReceived:
    """A complete frame. ``decodable`` is False for a delta frame following a loss
    until the next keyframe; ``delay`` is its time in the jitter buffer."""

    ssrc: int
    timestamp: int
    data: bytes
    keyframe: bool
    decodable: bool
    delay: float


# one per received frame: built without the frozen __init__'s object.__setattr__ calls
_frame_received = fast_constructor(FrameReceived)


@dataclass(frozen=True)
class FrameLost:
    ssrc: int
    timestamps: tuple[int, ...]
    keyframe_lost: bool


@dataclass(frozen=True)
class KeyframeRequested:
    """The remote asked our sender ``ssrc`` for a keyframe (PLI or FIR)."""

    ssrc: int
    method: str


@dataclass(frozen=True)
class RoundTripTimeMeasured:
    ssrc: int
    rtt: float


@dataclass(frozen=True)
class RembReceived:
    bitrate: int
    ssrcs: tuple[int, ...]


@dataclass(frozen=True)
class TransportFeedbackReceived:
    """Per transport sequence number, the remote arrival time (seconds, on the
    remote's reference clock) or None when reported lost."""

    arrivals: tuple[tuple[int, float | None], ...]


class TransportSequenceCounter:
    """The transport-wide sequence number, shared by every sender of a transport."""

    def __init__(self, start: int = 1) -> None:
        self.value = start & 0xFFFF

    def next(self) -> int:
        value = self.value
        self.value = (value + 1) & 0xFFFF
        return value


# Packets queued or kept together (a frame, or one packet): payload type, the
# first sequence number, timestamp, SSRC, the payloads (one per packet, in
# sequence order), whether the last carries the marker bit, extra header
# extensions, and whether it is an RTX packet. One tuple a frame, not a packet:
# the send path's per-packet work is only what each packet needs.
_Run = tuple[int, int, int, int, list[bytes], bool, "dict[int, bytes] | None", bool]
_BYTES_ONLY = {bytes}
_FastLayout = tuple[
    Callable[..., bytes], bytes, int, int, Callable[..., bytes], Callable[..., None], int
]
# codecs whose packetize() returns only bytes, whatever the frame's type (each
# payload is a bytes descriptor concatenated with the frame's data): their
# payloads need no type check. Exact types: a subclass may packetize otherwise.
_BYTES_PACKETIZERS: frozenset[type] = frozenset((Vp8Codec, Vp9Codec))


class _Layout:
    """A precompiled header for one SSRC: the fixed header, the extension block
    with the static elements (MID, RID) already encoded, and slots for the
    send-time elements (abs-send-time, transport-wide sequence number), all in
    one struct (RFC 8285 one-byte form). ``None`` when the one-byte form does
    not fit: the general :class:`RtpPacket` path is used then."""

    __slots__ = ("abs_send_time", "ast_header", "fast", "header", "pack", "stamps_both",
                 "static", "transport_wide", "tw_header", "words")

    def __init__(
        self, static: dict[int, bytes], abs_send_time_id: int | None, transport_wide_id: int | None
    ) -> None:
        block = b"".join(bytes(((i << 4) | (len(v) - 1),)) + v for i, v in static.items())
        size = len(block) + (4 if abs_send_time_id else 0) + (3 if transport_wide_id else 0)
        padding = -size % 4
        fmt = "!BBHII"
        if size:
            fmt += f"HH{len(block)}s"
            if abs_send_time_id:
                fmt += "I"
            if transport_wide_id:
                fmt += "BH"
            fmt += f"{padding}x"
        self.header = struct.Struct(fmt)
        self.pack = self.header.pack
        self.static = block
        self.words = (size + padding) // 4
        self.abs_send_time = abs_send_time_id is not None
        self.ast_header = ((abs_send_time_id or 0) << 4 | 2) << 24
        self.transport_wide = transport_wide_id is not None
        self.tw_header = (transport_wide_id or 0) << 4 | 1
        # what browsers negotiate for video: MID, abs-send-time and the
        # transport-wide sequence number (the send path's fast case)
        self.stamps_both = bool(self.words and self.abs_send_time and self.transport_wide)
        # The send path's common case packs a run's constant middle once (the
        # timestamp, SSRC, extension block header, static elements,
        # abs-send-time element and the transport-wide element's header) and
        # then each packet's header from four values: the first two octets (one
        # 16-bit field), the sequence number, that middle and the transport-wide
        # number. What it reads, in one tuple: the middle's pack, its constant
        # prefix (0xBEDE, length, static elements), the abs-send-time and
        # transport-wide element headers, the header's pack and pack_into, and
        # its size.
        self.fast: _FastLayout | None = None
        if self.stamps_both:
            prefix = _U16.pack(0xBEDE) + _U16.pack(self.words) + block
            middle = struct.Struct(f"!II{len(prefix)}sIB")
            head = struct.Struct(f"!HH{middle.size}sH{padding}x")
            self.fast = (middle.pack, prefix, self.ast_header, self.tw_header, head.pack,
                         head.pack_into, head.size)

    @staticmethod
    def build(
        static: dict[int, bytes], abs_send_time_id: int | None, transport_wide_id: int | None
    ) -> _Layout | None:
        for ext_id, value in static.items():
            if not 1 <= ext_id <= 14 or not 1 <= len(value) <= 16:
                return None
        for dynamic_id in (abs_send_time_id, transport_wide_id):
            if dynamic_id is not None and not 1 <= dynamic_id <= 14:
                return None
        return _Layout(static, abs_send_time_id, transport_wide_id)


class RtpSender:
    """One outgoing RTP stream (SSRC), with optional RTX.

    ``randbytes`` seeds the initial sequence number and timestamp (RFC 3550
    §5.1 wants them random) and ``rng`` jitters the report interval (§6.3.5).
    Packets are serialized as they leave (:meth:`packets_to_send`), with the
    abs-send-time and transport-wide sequence number of that moment.
    """

    def __init__(
        self,
        ssrc: int,
        payload_type: int,
        clock_rate: int,
        *,
        codec: PayloadCodec | None = None,
        extensions: HeaderExtensionMap | None = None,
        mid: str | None = None,
        rid: str | None = None,
        rtx_ssrc: int | None = None,
        rtx_payload_type: int | None = None,
        cname: str = "webrtc",
        transport_sequence: TransportSequenceCounter | None = None,
        max_payload_size: int = 1200,
        history_size: int = 2048,
        history_age: float = 2.0,
        report_interval: float = 1.0,
        ntp_offset: float = 0.0,
        randbytes: Callable[[int], bytes] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        seed = (randbytes or os.urandom)(8)
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.codec = codec
        self._extensions = extensions or HeaderExtensionMap()
        self.mid = mid
        self.rid = rid
        self.rtx_ssrc = rtx_ssrc
        self.rtx_payload_type = rtx_payload_type
        self.cname = cname
        self.transport_sequence = transport_sequence
        self.max_payload_size = max_payload_size
        self.history_size = history_size
        self.history_age = history_age
        self.report_interval = report_interval
        # wall-clock seconds since 1900 minus ``now``: SR timestamps are NTP
        # wall clock (RFC 3550 §6.4.1) so receivers can synchronize streams
        self.ntp_offset = ntp_offset
        self._rng = rng or random.Random(seed)
        self.sequence_number = int.from_bytes(seed[:2], "big")
        self.rtx_sequence_number = int.from_bytes(seed[2:4], "big")
        self.timestamp_offset = int.from_bytes(seed[4:8], "big")
        # the retransmission history: a ring indexed by sequence number modulo
        # its size, each packet's slot holding the run it was sent in; storing
        # evicts the packet ``history_size`` packets older, with no separate pop
        self._history: list[_Run | None] = [None] * history_size
        self._retransmitted_at: dict[int, float] = {}
        # (payload type, sequence, timestamp, ssrc, marker, payload, extra extensions, is_rtx)
        self._outgoing: list[_Run] = []
        self._layouts: dict[bool, _Layout | None] = {}
        self._events: list[object] = []
        self._last_timestamp: int | None = None
        self._last_timestamp_time = 0.0
        self.packets_sent = 0
        self.octets_sent = 0
        self.retransmissions = 0
        self.rtt: float | None = None
        self._next_report: float | None = None
        self._rrtr: dict[int, tuple[int, float]] = {}  # remote ssrc -> (lrr, received at)
        self._fir_sequence: dict[int, int] = {}
        # the latest reception reports the remote sent about this stream
        self.remote_reports: deque[ReportBlock] = deque(maxlen=256)

    @property
    def extensions(self) -> HeaderExtensionMap:
        return self._extensions

    @extensions.setter
    def extensions(self, value: HeaderExtensionMap) -> None:
        self._extensions = value
        self._layouts.clear()

    # -- sending -----------------------------------------------------------
    def timestamp_for(self, now: float) -> int:
        """The RTP timestamp of a frame captured at ``now``."""
        return (self.timestamp_offset + int(now * self.clock_rate)) & 0xFFFFFFFF

    def send_frame(
        self, frame: bytes, now: float, timestamp: int | None = None
    ) -> list[int]:
        """Packetize ``frame`` with the codec and queue its packets; returns
        their sequence numbers."""
        first = self.sequence_number
        count = self._send_frame(frame, now, timestamp)
        if first + count <= 0x10000:
            return list(range(first, first + count))
        return [(first + index) & 0xFFFF for index in range(count)]

    def _send_frame(self, frame: bytes, now: float, timestamp: int | None) -> int:
        """:meth:`send_frame` without the list of sequence numbers (the session's
        path): returns how many packets were queued."""
        codec = self.codec
        if codec is None:
            raise ValueError("send_frame needs a codec; use send_payload")
        payloads = codec.packetize(frame, self.max_payload_size)
        if timestamp is None:  # timestamp_for(now), inlined
            timestamp = (self.timestamp_offset + int(now * self.clock_rate)) & 0xFFFFFFFF
        if type(codec) not in _BYTES_PACKETIZERS and set(map(type, payloads)) != _BYTES_ONLY:
            payloads = [bytes(payload) for payload in payloads]
        first = self.sequence_number
        count = len(payloads)
        self._queue((self.payload_type, first, timestamp, self.ssrc, payloads, True, None, False))
        self.sequence_number = (first + count) & 0xFFFF
        self.packets_sent += count
        self.octets_sent += sum(map(len, payloads))
        self._last_timestamp = timestamp
        self._last_timestamp_time = now
        if self._next_report is None:
            self._next_report = now + self._interval()
        return count

    def send_payload(
        self,
        payload: bytes,
        now: float,
        timestamp: int | None = None,
        marker: bool = False,
        extensions: dict[int, bytes] | None = None,
    ) -> int:
        """Queue one packet with the next sequence number (returned). ``extensions``
        adds per-packet header extensions (e.g. audio level) to MID/RID and the
        send-time ones."""
        if timestamp is None:
            timestamp = self.timestamp_for(now)
        sequence = self.sequence_number
        self.sequence_number = (sequence + 1) & 0xFFFF
        self._queue((
            self.payload_type, sequence, timestamp, self.ssrc, [payload], marker, extensions, False,
        ))
        self.packets_sent += 1
        self.octets_sent += len(payload)
        self._last_timestamp = timestamp
        self._last_timestamp_time = now
        if self._next_report is None:
            self._next_report = now + self._interval()
        return sequence

    def _queue(self, run: _Run) -> None:
        """Queue a run of new packets and keep it in the retransmission history."""
        self._outgoing.append(run)
        history = self._history
        size = len(history)
        if not size:
            return
        first, count = run[1], len(run[4])
        start = first % size
        if start + count <= size and first + count <= 0x10000:
            history[start : start + count] = [run] * count
        else:  # the ring's or the sequence numbers' wrap falls inside the run
            for index in range(count):
                history[((first + index) & 0xFFFF) % size] = run

    def _static_extensions(self, rtx: bool) -> dict[int, bytes]:
        extensions = self._extensions
        static: dict[int, bytes] = {}
        if self.mid is not None and extensions.mid_id is not None:
            static[extensions.mid_id] = self.mid.encode()
        if self.rid is not None:
            rid_id = extensions.repaired_rtp_stream_id_id if rtx else extensions.rtp_stream_id_id
            if rid_id is not None:
                static[rid_id] = self.rid.encode()
        return static

    def _layout(self, rtx: bool) -> _Layout | None:
        try:
            return self._layouts[rtx]
        except KeyError:
            extensions = self._extensions
            layout = _Layout.build(
                self._static_extensions(rtx),
                extensions.abs_send_time_id,
                extensions.transport_wide_cc_id if self.transport_sequence is not None else None,
            )
            self._layouts[rtx] = layout
            return layout

    def packets_to_send(self, now: float) -> list[bytes]:
        """Serialized RTP packets (not yet SRTP-protected) to send now, stamped
        with the send-time extensions of ``now``."""
        return self._packets_to_send(now, None)

    def _packets_to_send(self, now: float, srtp: RawCall | None) -> list[bytes]:
        """:meth:`packets_to_send`; with ``srtp`` (an SRTP session's
        :data:`~webrtc.rtp.srtp.RawCall`, the session's path) each packet is
        SRTP-protected as it is made: the common case writes its header and
        payload straight into libsrtp's buffer, with no plain packet between."""
        outgoing = self._outgoing
        if not outgoing:
            return []
        self._outgoing = []
        abs_send_time = int(now * 262144) & 0xFFFFFF  # 6.18 fixed point, see extensions.py
        counter = self.transport_sequence
        media_layout = self._layouts.get(False) or self._layout(False)
        out: list[bytes] = []
        append = out.append
        # the media packets' header in one pack with locals, in the common case
        fast = media_layout.fast if media_layout is not None and counter is not None else None
        if fast is not None:
            pack_middle, prefix, ast_header, tw_header, pack, pack_into, header_size = fast
            ast_element = ast_header | abs_send_time
        if srtp is not None:
            buffer, cdata, context, call, length, limit, trailer, protect = srtp
        for payload_type, sequence, timestamp, ssrc, payloads, marker_last, extra, rtx in outgoing:
            if fast is not None and not rtx and not extra:
                # the transport-wide number runs in step with the sequence number:
                # it is sequence + offset; the marker goes on the run's last
                # sequence number (a run has far fewer than 65536 packets)
                offset = counter.value - sequence  # type: ignore[union-attr]
                last = (sequence + len(payloads) - 1) & 0xFFFF
                first_octets = 0x9000 | payload_type  # V=2, X=1; then M and PT
                last_octets = first_octets | 0x80 if marker_last else first_octets
                middle = pack_middle(timestamp, ssrc, prefix, ast_element, tw_header)
                if srtp is None:
                    for payload in payloads:
                        append(pack(
                            last_octets if sequence == last else first_octets, sequence, middle,
                            (sequence + offset) & 0xFFFF,
                        ) + payload)
                        sequence = (sequence + 1) & 0xFFFF
                else:
                    for payload in payloads:
                        size = header_size + len(payload)
                        if size > limit:
                            raise ValueError("packet is too long")
                        pack_into(
                            buffer, 0, last_octets if sequence == last else first_octets,
                            sequence, middle, (sequence + offset) & 0xFFFF,
                        )
                        buffer[header_size:size] = payload
                        length[0] = size
                        code = call(context, cdata, length)
                        if code:
                            raise raw_error(code)
                        append(buffer[0 : size + trailer])
                        sequence = (sequence + 1) & 0xFFFF
                counter.value = (sequence + offset) & 0xFFFF  # type: ignore[union-attr]
                continue
            layout = None if extra else (self._layout(True) if rtx else media_layout)
            last = len(payloads) - 1
            for index, payload in enumerate(payloads):
                marker = marker_last and index == last
                packet = self._serialize(
                    layout, payload_type, sequence, timestamp, ssrc, marker, payload, extra, rtx,
                    abs_send_time,
                )
                append(packet if srtp is None else protect(packet))
                sequence = (sequence + 1) & 0xFFFF
        return out

    def _serialize(
        self, layout: _Layout | None, payload_type: int, sequence: int, timestamp: int, ssrc: int,
        marker: bool, payload: bytes, extra: dict[int, bytes] | None, rtx: bool, abs_send_time: int,
    ) -> bytes:
        """One packet with its send-time extensions (the general case of packets_to_send)."""
        counter = self.transport_sequence
        b1 = payload_type | 0x80 if marker else payload_type
        if layout is not None:
            if layout.words == 0:
                header = layout.header.pack(0x80, b1, sequence, timestamp, ssrc)
            elif layout.transport_wide and counter is not None:
                if layout.abs_send_time:
                    header = layout.header.pack(
                        0x90, b1, sequence, timestamp, ssrc, 0xBEDE, layout.words,
                        layout.static, layout.ast_header | abs_send_time,
                        layout.tw_header, counter.next(),
                    )
                else:
                    header = layout.header.pack(
                        0x90, b1, sequence, timestamp, ssrc, 0xBEDE, layout.words,
                        layout.static, layout.tw_header, counter.next(),
                    )
            elif layout.abs_send_time:
                header = layout.header.pack(
                    0x90, b1, sequence, timestamp, ssrc, 0xBEDE, layout.words,
                    layout.static, layout.ast_header | abs_send_time,
                )
            else:
                header = layout.header.pack(
                    0x90, b1, sequence, timestamp, ssrc, 0xBEDE, layout.words, layout.static
                )
            return header + payload
        packet = RtpPacket(payload_type, sequence, timestamp, ssrc, payload, marker)
        packet.extensions.update(self._static_extensions(rtx))
        if extra:
            packet.extensions.update(extra)
        extensions = self._extensions
        if extensions.abs_send_time_id is not None:
            extensions.set_abs_send_time(packet, abs_send_time)
        if extensions.transport_wide_cc_id is not None and counter is not None:
            extensions.set_transport_sequence_number(packet, counter.next())
        return bytes(packet)

    def retransmit(self, sequence_numbers: list[int], now: float) -> int:
        """Queue RTX copies (RFC 4588 §4) of packets still in the history, or the
        packets themselves without an RTX stream."""
        count = 0
        retransmitted_at = self._retransmitted_at
        for sequence in sequence_numbers:
            history = self._history
            run = history[sequence % len(history)] if history else None
            if run is None or run[7]:
                continue
            _, first, timestamp, _, payloads, marker_last, extensions, _ = run
            offset = (sequence - first) & 0xFFFF
            if offset >= len(payloads):
                continue  # the slot was reused by a later run
            payload = payloads[offset]
            marker = marker_last and offset == len(payloads) - 1
            # one NACK packet may repeat a number, and two can cross in flight
            if now - retransmitted_at.get(sequence, -1.0) < 0.005:
                continue
            # packets carry no send time; the RTP clock says how old they are
            age = (((self._last_timestamp or 0) - timestamp) & 0xFFFFFFFF) / self.clock_rate
            if age > self.history_age:
                continue
            retransmitted_at[sequence] = now
            if len(retransmitted_at) > 2 * self.history_size:
                retransmitted_at.clear()
            if self.rtx_ssrc is not None and self.rtx_payload_type is not None:
                self._outgoing.append((
                    self.rtx_payload_type, self.rtx_sequence_number, timestamp,
                    self.rtx_ssrc, [_U16.pack(sequence) + payload], marker, extensions, True,
                ))
                self.rtx_sequence_number = (self.rtx_sequence_number + 1) & 0xFFFF
            else:
                self._outgoing.append((
                    self.payload_type, sequence, timestamp, self.ssrc, [payload], marker,
                    extensions, False,
                ))
            self.retransmissions += 1
            count += 1
        return count

    # -- RTCP --------------------------------------------------------------
    def handle_rtcp(self, packet: RtcpPacket, now: float) -> None:
        """Feedback and reports about this stream (the session routes them here)."""
        if isinstance(packet, GenericNack):
            self.retransmit(packet.lost, now)
        elif isinstance(packet, PictureLossIndication):
            self._events.append(KeyframeRequested(self.ssrc, "pli"))
        elif isinstance(packet, FullIntraRequest):
            for entry in packet.entries:
                if entry.ssrc == self.ssrc and self._fir_sequence.get(
                    packet.sender_ssrc
                ) != entry.sequence_number:
                    # RFC 5104 §4.3.1.2: a repeated sequence number is the same request
                    self._fir_sequence[packet.sender_ssrc] = entry.sequence_number
                    self._events.append(KeyframeRequested(self.ssrc, "fir"))
        elif isinstance(packet, (ReceiverReport, SenderReport)):
            for block in packet.reports:
                if block.ssrc == self.ssrc:
                    self.remote_reports.append(block)
                    if block.lsr:
                        self._measure_rtt(block, now)
        elif isinstance(packet, ExtendedReport):
            for xr_block in packet.blocks:
                if isinstance(xr_block, ReceiverReferenceTime):
                    self._rrtr[packet.ssrc] = (_middle32(xr_block.ntp_timestamp), now)
        elif isinstance(packet, Remb):
            self._events.append(RembReceived(packet.bitrate, packet.ssrcs))

    def _measure_rtt(self, block: ReportBlock, now: float) -> None:
        # RFC 3550 §6.4.1: RTT = A - LSR - DLSR, in 1/65536 s
        arrival = _middle32(ntp_from_seconds(now + self.ntp_offset))
        rtt = ((arrival - block.lsr - block.dlsr) & 0xFFFFFFFF) / 65536.0
        if rtt < 1000:
            self.rtt = rtt
            self._events.append(RoundTripTimeMeasured(self.ssrc, rtt))

    def report(self, now: float, reports: tuple[ReportBlock, ...] = ()) -> list[RtcpPacket]:
        """An SR (with the given reception report blocks), SDES CNAME, and DLRR."""
        if self._last_timestamp is None:
            rtp_timestamp = self.timestamp_for(now)
        else:
            elapsed = now - self._last_timestamp_time
            rtp_timestamp = (self._last_timestamp + int(elapsed * self.clock_rate)) & 0xFFFFFFFF
        packets: list[RtcpPacket] = [
            SenderReport(
                self.ssrc,
                ntp_from_seconds(now + self.ntp_offset),
                rtp_timestamp,
                self.packets_sent & 0xFFFFFFFF,
                self.octets_sent & 0xFFFFFFFF,
                reports,
            ),
            SourceDescription((SdesChunk(self.ssrc, ((1, self.cname.encode()),)),)),
        ]
        if self._rrtr:
            sub_blocks = tuple(
                DlrrSubBlock(ssrc, lrr, int((now - received) * 65536) & 0xFFFFFFFF)
                for ssrc, (lrr, received) in self._rrtr.items()
            )
            packets.append(ExtendedReport(self.ssrc, (DlrrReport(sub_blocks),)))
            self._rrtr.clear()
        return packets

    def _interval(self) -> float:
        return self.report_interval * self._rng.uniform(0.5, 1.5)

    def report_due(self, now: float) -> bool:
        if self._next_report is not None and now >= self._next_report:
            self._next_report = now + self._interval()
            return True
        return False

    def get_timer(self) -> float | None:
        return self._next_report

    def next_event(self) -> object | None:
        return self._events.pop(0) if self._events else None


# -- receiving -----------------------------------------------------------------
@dataclass(frozen=True)
class ReceiverStatistics:
    """RFC 3550 appendix A.3 and A.8 figures for one source."""

    packets_received: int
    extended_highest_sequence: int
    cumulative_lost: int
    fraction_lost: float
    jitter: float  # seconds
    jitter_rtp_units: int


class _NackState:
    __slots__ = ("noticed", "retries", "sent_at")

    def __init__(self, noticed: float) -> None:
        self.noticed = noticed
        self.sent_at: float | None = None
        self.retries = 0


_MAX_DROPOUT = 3000
_SPECULATIVE_NACK = 17
_MAX_MISORDER = 100


class RtpReceiver:
    """One incoming RTP stream (SSRC) and its RTX stream.

    NACKs: a missing packet is asked for ``nack_delay`` after a later one reveals
    the gap (so that mere reordering does not cost a retransmission), then
    again every ``nack_retry_factor`` * RTT (at least ``nack_min_interval``) up to
    ``nack_max_retries`` times, and given up ``nack_give_up`` seconds after it
    was noticed; with ``nack=False`` a gap is given up after ``reorder_window``.
    Given-up packets break their frame in the jitter buffer, which then
    requests a keyframe (``keyframe_request`` "pli" or "fir", at most once per
    ``keyframe_request_interval`` until one arrives).
    """

    def __init__(
        self,
        ssrc: int,
        clock_rate: int,
        *,
        local_ssrc: int,
        codec: Depacketizer | None = None,
        payload_type: int | None = None,
        rtx_ssrc: int | None = None,
        rtx_payload_type: int | None = None,
        nack: bool = True,
        nack_delay: float = 0.005,
        nack_retry_factor: float = 0.5,
        nack_min_interval: float = 0.01,
        nack_max_retries: int = 10,
        nack_give_up: float = 1.0,
        reorder_window: float = 0.05,
        initial_rtt: float = 0.1,
        keyframe_request: str | None = "pli",
        keyframe_request_interval: float = 0.3,
        max_nack_list: int = 1000,
        ntp_offset: float = 0.0,
    ) -> None:
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.local_ssrc = local_ssrc
        self.payload_type = payload_type
        self.rtx_ssrc = rtx_ssrc
        self.rtx_payload_type = rtx_payload_type
        self.nack = nack
        self.nack_delay = nack_delay
        self.nack_retry_factor = nack_retry_factor
        self.nack_min_interval = nack_min_interval
        self.nack_max_retries = nack_max_retries
        self.nack_give_up = nack_give_up
        self.reorder_window = reorder_window
        self.rtt = initial_rtt
        self.rtt_measured: float | None = None
        self.keyframe_request = keyframe_request
        self.keyframe_request_interval = keyframe_request_interval
        self.max_nack_list = max_nack_list
        self.ntp_offset = ntp_offset  # as RtpSender.ntp_offset, for RRTR/DLRR
        codec = codec or OpusCodec()
        self.jitter_buffer = JitterBuffer(codec, isinstance(codec, (OpusCodec, G711Codec)))
        self._events: list[object] = []
        self._feedback: list[RtcpPacket] = []
        # RFC 3550 A.1 state
        self._base: int | None = None
        self._max = 0  # extended highest sequence number
        self._bad_sequence: int | None = None
        self.packets_received = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._transit: int | None = None
        self._jitter = 0.0
        # SR bookkeeping for LSR/DLSR
        self._last_sr: int = 0
        self._last_sr_time = 0.0
        self._missing: dict[int, _NackState] = {}
        self._next_nack_check: float | None = None
        self._awaiting_keyframe = False
        self._last_keyframe_request = -1e9
        self._fir_sequence = 0
        self._now = 0.0
        self._first_arrival: float | None = None
        self.nacks_sent = 0
        self.keyframe_requests = 0
        self.rtx_received = 0
        self.duplicates = 0

    # -- packets -------------------------------------------------------------
    def receive(self, packet: RtpPacket, now: float) -> None:
        """A media or RTX packet for this stream."""
        self._now = now
        ssrc = packet.ssrc
        if ssrc != self.ssrc or ssrc == self.rtx_ssrc:
            if ssrc == self.rtx_ssrc or (
                self.rtx_payload_type is not None and packet.payload_type == self.rtx_payload_type
            ):
                self._receive_rtx(packet, now)
            return
        if self.payload_type is None:
            self.payload_type = packet.payload_type
        maximum = self._max
        sequence = packet.sequence_number
        timestamp = packet.timestamp
        if sequence == (maximum + 1) & 0xFFFF and self._base is not None:
            # in order, the common case of RFC 3550 A.1
            sequence = maximum + 1
            self._max = sequence
            in_order = not self._missing
        else:
            extended = self._update_sequence(sequence)
            if extended is None:
                return
            sequence = extended
            if (
                sequence == self._base
                and self.nack
                and not self.jitter_buffer.single_packet_frames
                and not self.jitter_buffer.depacketizer.is_frame_start(packet.payload)
            ):
                # The stream's earliest packet so far is mid-frame: the frame's start
                # was lost (or is late) before we knew of the stream. Ask for the
                # packets just before it (one NACK item covers 17); the sender
                # ignores those it never sent.
                self._notice_gap(sequence - _SPECULATIVE_NACK, sequence)
            in_order = sequence <= self._max and not self._missing
        self.packets_received += 1
        # RFC 3550 A.8: interarrival jitter in RTP timestamp units
        transit = int(now * self.clock_rate) - timestamp
        previous = self._transit
        if previous is not None:
            d = abs(((transit - previous + 0x80000000) & 0xFFFFFFFF) - 0x80000000)
            self._jitter += (d - self._jitter) / 16.0
        self._transit = transit
        if not in_order:
            self._deliver(sequence, packet, now)
            return
        buffer = self.jitter_buffer  # _deliver, inlined for the in-order case
        buffer.insert(sequence, timestamp, packet.marker, packet.payload, now)
        if buffer._output:
            self._drain_jitter_buffer(now)

    def receive_run(self, packets: list[RtpPacket], now: float) -> int:
        """:meth:`receive` for packets that arrived together at ``now``, in order;
        returns how many of them raised :class:`RtpParseError` (dropped, as the
        session counts them). The same state and events result as from one
        :meth:`receive` per packet.

        The media packets that continue the stream in order (the common case)
        have their RFC 3550 bookkeeping done here, with the receiver's state
        in locals, and go to the jitter buffer as one run; any other packet
        goes through :meth:`receive` once the run before it is handed over.
        """
        self._now = now
        ssrc = self.ssrc
        if ssrc == self.rtx_ssrc:  # nothing is in order then: see receive()
            return self._receive_each(packets, now)
        buffer = self.jitter_buffer
        arrival = int(now * self.clock_rate)
        maximum = self._max
        previous = self._transit
        jitter = self._jitter
        timestamps: list[int] = []
        markers: list[bool] = []
        payloads: list[bytes] = []
        add_timestamp, add_marker, add_payload = (
            timestamps.append, markers.append, payloads.append)
        missing = self._missing  # the one dict, only ever changed in place
        first = maximum + 1
        dropped = 0
        for packet in packets:
            following = maximum + 1
            if (
                packet.sequence_number == following & 0xFFFF
                and packet.ssrc == ssrc
                and previous is not None
                and not missing
            ):
                # receive(), in order (its _base and payload_type are set, since
                # a packet before set _transit); RFC 3550 A.8 jitter
                maximum = following
                timestamp = packet.timestamp
                transit = arrival - timestamp
                d = abs(((transit - previous + 0x80000000) & 0xFFFFFFFF) - 0x80000000)
                jitter += (d - jitter) / 16.0
                previous = transit
                add_timestamp(timestamp)
                add_marker(packet.marker)
                add_payload(packet.payload)
                continue
            self._max, self._transit, self._jitter = maximum, previous, jitter
            self.packets_received += len(payloads)
            if payloads:
                buffer.insert_run(first, timestamps, markers, payloads, now)
                timestamps, markers, payloads = [], [], []
                add_timestamp, add_marker, add_payload = (
                    timestamps.append, markers.append, payloads.append)
            try:
                self.receive(packet, now)
            except RtpParseError:
                dropped += 1
            maximum, previous, jitter = self._max, self._transit, self._jitter
            first = maximum + 1
        self._max, self._transit, self._jitter = maximum, previous, jitter
        self.packets_received += len(payloads)
        if payloads:
            buffer.insert_run(first, timestamps, markers, payloads, now)
        if buffer._output:
            self._drain_jitter_buffer(now)
        return dropped

    def _receive_each(self, packets: list[RtpPacket], now: float) -> int:
        dropped = 0
        for packet in packets:
            try:
                self.receive(packet, now)
            except RtpParseError:
                dropped += 1
        return dropped

    def _receive_rtx(self, packet: RtpPacket, now: float) -> None:
        if len(packet.payload) < 2:
            return
        self.rtx_received += 1
        original = _U16.unpack_from(packet.payload)[0]
        if self._base is None:
            return
        sequence = unwrap_sequence(original, self._max)
        if sequence in self._missing or sequence > self._max:
            self._deliver(
                sequence,
                RtpPacket(
                    self.payload_type or 0,
                    original,
                    packet.timestamp,
                    self.ssrc,
                    packet.payload[2:],
                    packet.marker,
                ),
                now,
            )
        else:
            self.duplicates += 1

    def _update_sequence(self, sequence_number: int) -> int | None:
        """RFC 3550 A.1, on extended numbers; None when the packet is dropped."""
        if self._base is None:
            self._base = self._max = sequence_number
            self._first_arrival = self._now
            return sequence_number
        extended = unwrap_sequence(sequence_number, self._max)
        delta = extended - self._max
        if 0 < delta < _MAX_DROPOUT:
            gap_start = self._max + 1
            self._max = extended
            self._notice_gap(gap_start, extended)
        elif delta <= 0 and -delta <= _MAX_MISORDER:
            if extended < self._base and self.packets_received < _MAX_MISORDER:
                # the stream's first packets arrived out of order: count from the earliest
                self._notice_gap(extended + 1, self._base)
                self._base = extended
        elif self._bad_sequence is not None and sequence_number == self._bad_sequence:
            # two sequential packets after a jump: the source restarted (A.1)
            self._base = self._max = extended
            self._expected_prior = self._received_prior = self.packets_received = 0
            self._missing.clear()
            self._bad_sequence = None
            return extended
        else:
            self._bad_sequence = (sequence_number + 1) & 0xFFFF
            return None
        return extended

    def _notice_gap(self, first: int, end: int) -> None:
        # sequence numbers first .. end-1 are missing for now
        if end - first > self.max_nack_list:
            first = end - self.max_nack_list
        now = self._now
        for sequence in range(first, end):
            if sequence not in self._missing:
                self._missing[sequence] = _NackState(now)
                self.jitter_buffer.notice_missing(sequence, now)
        if self._missing and self._next_nack_check is None:
            self._next_nack_check = now

    def _deliver(self, sequence: int, packet: RtpPacket, now: float) -> None:
        self._now = now
        if sequence > self._max:  # an RTX ahead of the media (reordering)
            self._notice_gap(self._max + 1, sequence)
            self._max = sequence
        if self._missing:
            self._missing.pop(sequence, None)
        buffer = self.jitter_buffer
        buffer.insert(sequence, packet.timestamp, packet.marker, packet.payload, now)
        if buffer._output:
            self._drain_jitter_buffer(now)

    def _drain_jitter_buffer(self, now: float) -> None:
        for item in self.jitter_buffer.pop():
            if isinstance(item, AssembledFrame):
                if item.keyframe:
                    self._awaiting_keyframe = False
                self._events.append(
                    _frame_received(
                        self.ssrc,
                        item.timestamp,
                        item.data,
                        item.keyframe,
                        not self._awaiting_keyframe,
                        now - item.noticed,
                    )
                )
            elif isinstance(item, LostFrames):
                self._events.append(FrameLost(self.ssrc, item.timestamps, item.keyframe_lost))
                if not self.jitter_buffer.single_packet_frames:
                    self._awaiting_keyframe = True
                    self.request_keyframe(now)

    def receive_packet(self, packet: RtpPacket, now: float) -> None:
        """Alias of :meth:`receive` with the session's naming."""
        self._now = now
        self.receive(packet, now)

    # -- keyframes -----------------------------------------------------------
    def request_keyframe(self, now: float, force: bool = False) -> None:
        """Queue a PLI or FIR (rate limited unless ``force``)."""
        if self.keyframe_request is None:
            return
        # the same expression as get_timer, so a timer at that instant always acts
        if not force and now < self._last_keyframe_request + self.keyframe_request_interval:
            return
        self._last_keyframe_request = now
        self.keyframe_requests += 1
        if self.keyframe_request == "fir":
            self._fir_sequence = (self._fir_sequence + 1) & 0xFF
            self._feedback.append(
                FullIntraRequest(self.local_ssrc, (FirEntry(self.ssrc, self._fir_sequence),))
            )
        else:
            self._feedback.append(PictureLossIndication(self.local_ssrc, self.ssrc))

    # -- timers: NACK retries and give-ups --------------------------------------
    def get_timer(self) -> float | None:
        timer = self._next_nack_check
        if self._first_arrival is not None and self.jitter_buffer.waiting_for_start():
            head = self._first_arrival + (self.nack_give_up if self.nack else self.reorder_window)
            if timer is None or head < timer:
                timer = head
        if self._awaiting_keyframe and self.keyframe_request is not None:
            retry = self._last_keyframe_request + self.keyframe_request_interval
            if timer is None or retry < timer:
                timer = retry
        return timer

    def handle_timer(self, now: float) -> None:
        self._now = now
        if self._first_arrival is not None and self.jitter_buffer.waiting_for_start():
            wait = self.nack_give_up if self.nack else self.reorder_window
            if now >= self._first_arrival + wait:
                # the first frame's start never came: resynchronize on the next one
                self.jitter_buffer.skip_head()
                self._drain_jitter_buffer(now)
        if self._awaiting_keyframe:
            self.request_keyframe(now)
        if self._next_nack_check is None or now < self._next_nack_check:
            return
        retry_interval = max(self.rtt * self.nack_retry_factor, self.nack_min_interval)
        give_up = self.nack_give_up if self.nack else self.reorder_window
        to_nack: list[int] = []
        lost: list[int] = []
        next_check: float | None = None
        for sequence, state in self._missing.items():
            deadline = state.noticed + give_up
            if now >= deadline or (
                state.retries >= self.nack_max_retries
                and state.sent_at is not None
                and now >= state.sent_at + retry_interval
            ):
                lost.append(sequence)
                continue
            due = deadline
            if self.nack:
                if state.retries < self.nack_max_retries:
                    if state.sent_at is None:
                        first_due = state.noticed + self.nack_delay
                        if now >= first_due:
                            to_nack.append(sequence)
                            state.sent_at = now
                            state.retries += 1
                            due = min(due, now + retry_interval)
                        else:
                            due = min(due, first_due)
                    else:
                        if now >= state.sent_at + retry_interval:
                            to_nack.append(sequence)
                            state.sent_at = now
                            state.retries += 1
                        due = min(due, state.sent_at + retry_interval)
                else:
                    due = min(due, (state.sent_at or now) + retry_interval)
            if next_check is None or due < next_check:
                next_check = due
        for sequence in lost:
            del self._missing[sequence]
            self.jitter_buffer.mark_lost(sequence)
        if to_nack:
            self.nacks_sent += 1
            self._feedback.append(
                GenericNack.from_lost(self.local_ssrc, self.ssrc, [s & 0xFFFF for s in to_nack])
            )
        self._next_nack_check = next_check
        self._drain_jitter_buffer(now)

    # -- RTCP --------------------------------------------------------------------
    def handle_rtcp(self, packet: RtcpPacket, now: float) -> None:
        if isinstance(packet, SenderReport) and packet.ssrc == self.ssrc:
            self._last_sr = _middle32(packet.ntp_timestamp)
            self._last_sr_time = now
        elif isinstance(packet, ExtendedReport) and packet.ssrc == self.ssrc:
            for block in packet.blocks:
                if isinstance(block, DlrrReport):
                    for sub in block.sub_blocks:
                        if sub.ssrc == self.local_ssrc and sub.lrr:
                            arrival = _middle32(ntp_from_seconds(now + self.ntp_offset))
                            rtt = ((arrival - sub.lrr - sub.dlrr) & 0xFFFFFFFF) / 65536.0
                            if rtt < 1000:
                                self.rtt = self.rtt_measured = rtt
                                self._events.append(RoundTripTimeMeasured(self.ssrc, rtt))

    def feedback_to_send(self) -> list[RtcpPacket]:
        """NACK, PLI and FIR packets waiting to go out (sent immediately)."""
        out, self._feedback = self._feedback, []
        return out

    def statistics(self) -> ReceiverStatistics:
        expected = 0 if self._base is None else self._max - self._base + 1
        lost = expected - self.packets_received
        expected_interval = expected - self._expected_prior
        received_interval = self.packets_received - self._received_prior
        lost_interval = expected_interval - received_interval
        fraction = 0.0
        if expected_interval > 0 and lost_interval > 0:
            fraction = lost_interval / expected_interval
        return ReceiverStatistics(
            self.packets_received,
            self._max,
            lost,
            fraction,
            self._jitter / self.clock_rate,
            int(self._jitter),
        )

    def report_block(self, now: float) -> ReportBlock | None:
        """RFC 3550 §6.4.1 report block for this source; starts a new interval."""
        if self._base is None:
            return None
        expected = self._max - self._base + 1
        lost = expected - self.packets_received
        expected_interval = expected - self._expected_prior
        received_interval = self.packets_received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self.packets_received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        lost = max(-0x800000, min(0x7FFFFF, lost))
        dlsr = 0
        if self._last_sr:
            dlsr = int((now - self._last_sr_time) * 65536) & 0xFFFFFFFF
        return ReportBlock(
            self.ssrc,
            fraction,
            lost,
            self._max & 0xFFFFFFFF,
            int(self._jitter) & 0xFFFFFFFF,
            self._last_sr,
            dlsr,
        )

    def reference_time(self, now: float) -> ExtendedReport:
        """An RRTR block (RFC 3611 §4.4) so the sender can answer with DLRR."""
        reference = ReceiverReferenceTime(ntp_from_seconds(now + self.ntp_offset))
        return ExtendedReport(self.local_ssrc, (reference,))

    def next_event(self) -> object | None:
        return self._events.pop(0) if self._events else None


class TransportFeedbackGenerator:
    """Collects (transport sequence number, arrival) and emits feedback every
    ``interval`` seconds (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1)."""

    def __init__(self, sender_ssrc: int, media_ssrc: int = 0, interval: float = 0.1) -> None:
        self.sender_ssrc = sender_ssrc
        self.media_ssrc = media_ssrc
        self.interval = interval
        self._arrivals: dict[int, float] = {}
        self._next_expected: int | None = None  # extended
        self._highest: int | None = None
        self._feedback_count = 0
        self._next_send: float | None = None

    def record(self, sequence: int, now: float) -> None:
        self.record_many([sequence], now)

    def record_many(self, sequences: list[int], now: float) -> None:
        """:meth:`record` for packets that arrived together at ``now``, in order."""
        if not sequences:
            return
        arrivals = self._arrivals
        recorded = False
        if self._highest is None:  # the first: nothing reported before it
            self._next_expected = self._highest = sequences[0]
            arrivals[sequences[0]] = now
            recorded = True
            sequences = sequences[1:]
        highest = self._highest
        next_expected = self._next_expected
        assert highest is not None and next_expected is not None
        for sequence in sequences:
            # unwrap_sequence(sequence, highest), inlined
            extended = highest + ((sequence - highest + 0x8000) & 0xFFFF) - 0x8000
            if extended < next_expected:
                continue  # already reported
            arrivals[extended] = now
            recorded = True
            if extended > highest:
                highest = extended
        self._highest = highest
        if recorded and self._next_send is None:
            self._next_send = now + self.interval

    def get_timer(self) -> float | None:
        return self._next_send

    def feedback(self, now: float) -> list[TransportWideFeedback]:
        """Feedback for everything recorded since the last call (when due)."""
        if self._next_send is None or now < self._next_send or self._highest is None:
            return []
        assert self._next_expected is not None
        self._next_send = None
        base = self._next_expected
        count = min(self._highest - base + 1, 0xFFFF)
        arrivals = self._arrivals
        first_arrival = min(arrivals.values())
        reference = int(first_arrival * 1000 // 64)
        current_us = reference * 64000
        statuses: list[int] = []
        deltas: list[int] = []
        for extended in range(base, base + count):
            arrival = arrivals.get(extended)
            if arrival is None:
                statuses.append(0)
                continue
            arrival_us = round(arrival * 1e6)
            delta = (arrival_us - current_us) // 250
            current_us += delta * 250
            if 0 <= delta <= 255:
                statuses.append(1)
            else:
                delta = max(-32768, min(32767, delta))
                statuses.append(2)
            deltas.append(delta)
        self._next_expected = base + count
        self._arrivals = {k: v for k, v in arrivals.items() if k >= self._next_expected}
        packet = TransportWideFeedback(
            self.sender_ssrc,
            self.media_ssrc,
            base & 0xFFFF,
            reference & 0xFFFFFF if reference >= 0 else reference,
            self._feedback_count & 0xFF,
            tuple(statuses),
            tuple(deltas),
        )
        self._feedback_count += 1
        return [packet]
