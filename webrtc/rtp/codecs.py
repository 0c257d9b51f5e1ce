"""RTP payload formats: a packetizer and a depacketizer per codec.

- Opus (RFC 7587), PCMU/PCMA (RFC 3551 §4.5.14): one frame per packet.
- VP8 (RFC 7741), with a 15-bit picture ID.
- VP9 (RFC 9628), non-flexible mode, single layer; the depacketizer also
  reads flexible mode and layer indices.
- H.264 (RFC 6184) packetization-mode 1: single NAL unit, STAP-A, FU-A. Frames
  are Annex B byte streams; the depacketizer writes 4-byte start codes.

``packetize(frame, max_size)`` returns RTP payloads no longer than
``max_size`` bytes, in order (the last one carries the marker bit).
``depacketize(payloads)`` gives the frame back; ``is_keyframe(payloads)``
says whether it is independently decodable and ``is_frame_start(payload)``
whether a payload begins a frame (used to resynchronize after a loss).
Malformed payloads raise :class:`RtpParseError`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Protocol

from webrtc.rtp.errors import RtpParseError

__all__ = [
    "Depacketizer",
    "G711Codec",
    "H264Codec",
    "OpusCodec",
    "PayloadCodec",
    "Vp8Codec",
    "Vp9Codec",
    "codec_for",
    "split_annex_b",
]

_U16 = struct.Struct("!H")


class Depacketizer(Protocol):
    def depacketize(self, payloads: Sequence[bytes]) -> bytes: ...

    def is_keyframe(self, payloads: Sequence[bytes]) -> bool: ...

    def is_frame_start(self, payload: bytes) -> bool: ...


class PayloadCodec(Depacketizer, Protocol):
    def packetize(self, frame: bytes, max_size: int) -> list[bytes]: ...


class _SinglePacketAudio:
    """Audio formats carrying one whole frame per packet."""

    def packetize(self, frame: bytes, max_size: int) -> list[bytes]:
        if len(frame) > max_size:
            raise ValueError(f"an audio frame of {len(frame)} bytes exceeds {max_size}")
        return [frame]

    def depacketize(self, payloads: Sequence[bytes]) -> bytes:
        if len(payloads) != 1:
            raise RtpParseError("an audio frame is exactly one packet")
        return bytes(payloads[0])

    def is_keyframe(self, payloads: Sequence[bytes]) -> bool:
        return True

    def is_frame_start(self, payload: bytes) -> bool:
        return True


class OpusCodec(_SinglePacketAudio):
    """RFC 7587: the payload is one Opus packet (RFC 6716), at most 1275 bytes per frame."""


class G711Codec(_SinglePacketAudio):
    """RFC 3551 PCMU/PCMA: one octet per sample."""


# RFC 7741 §4.2: the descriptor's length once its X byte is known: 2 octets,
# plus one each for I (picture ID, one more when its M bit is set), L
# (TL0PICIDX) and T or K (TID/Y/KEYIDX). Indexed by the X byte.
_VP8_EXTENDED_SIZE = tuple(
    2 + bool(x & 0x80) + bool(x & 0x40) + bool(x & 0x30) for x in range(256)
)


def _vp8_descriptor_size(payload: bytes) -> int:
    try:
        if not payload[0] & 0x80:
            size = 1
        else:
            extended = payload[1]
            size = _VP8_EXTENDED_SIZE[extended]
            if extended & 0x80 and payload[2] & 0x80:
                size += 1
    except IndexError:
        raise RtpParseError(
            "empty VP8 payload" if not payload else "VP8 descriptor truncated"
        ) from None
    if size > len(payload):
        raise RtpParseError("VP8 descriptor truncated")
    return size


class Vp8Codec:
    """RFC 7741 VP8 payload descriptor, with a 15-bit picture ID (M=1)."""

    def __init__(self, picture_id: int = 0) -> None:
        self.picture_id = picture_id & 0x7FFF

    def packetize(self, frame: bytes, max_size: int) -> list[bytes]:
        if max_size < 5:
            raise ValueError("VP8 needs at least 5 bytes per packet")
        picture_id = self.picture_id
        self.picture_id = (picture_id + 1) & 0x7FFF
        # X=1, S on the first packet, PID=0; I=1; M=1 and the 15-bit picture ID.
        extended_picture_id = _U16.pack(0x8000 | picture_id)
        step = max_size - 4
        size = len(frame)
        if size <= step:
            return [b"\x90\x80" + extended_picture_id + frame]
        rest = b"\x80\x80" + extended_picture_id
        view = memoryview(frame)
        payloads = [b"\x90\x80" + extended_picture_id + view[:step]]
        # a while loop: cheaper than a comprehension (its setup) or range() for
        # the few packets of a frame
        append = payloads.append
        start = step
        while start < size:
            end = start + step
            append(rest + view[start:end])
            start = end
        return payloads

    @staticmethod
    def descriptor_size(payload: bytes) -> int:
        """RFC 7741 §4.2: length of the payload descriptor."""
        return _vp8_descriptor_size(payload)

    @staticmethod
    def picture_id_of(payload: bytes) -> int | None:
        if len(payload) >= 3 and payload[0] & 0x80 and payload[1] & 0x80:
            if payload[2] & 0x80:
                if len(payload) < 4:
                    raise RtpParseError("VP8 descriptor truncated")
                return ((payload[2] & 0x7F) << 8) | payload[3]
            return payload[2] & 0x7F
        return None

    def depacketize(self, payloads: Sequence[bytes]) -> bytes:
        if not payloads:
            raise RtpParseError("no VP8 payloads")
        if not self.is_frame_start(payloads[0]):
            raise RtpParseError("VP8 frame does not start with S=1, PID=0")
        parts: list[bytes] = []
        append = parts.append
        for payload in payloads:
            # what browsers and our packetizer send: X=1, then I=1 alone with a
            # 15-bit picture ID (M=1), a 4-octet descriptor (RFC 7741 §4.2)
            if len(payload) > 3 and payload[1] == 0x80 and payload[0] & 0x80 and payload[2] & 0x80:
                append(payload[4:])
            else:
                append(payload[_vp8_descriptor_size(payload) :])
        return b"".join(parts)

    def is_frame_start(self, payload: bytes) -> bool:
        return len(payload) > 0 and payload[0] & 0x1F == 0x10

    def is_keyframe(self, payloads: Sequence[bytes]) -> bool:
        if not payloads or not self.is_frame_start(payloads[0]):
            return False
        first = payloads[0]
        size = _vp8_descriptor_size(first)
        # RFC 7741 §4.3: the P bit of the VP8 payload header is 0 on key frames.
        return len(first) > size and not first[size] & 0x01


def vp9_is_keyframe_bitstream(frame: bytes) -> bool:
    """Read frame_type from a VP9 uncompressed header (VP9 bitstream spec §6.2)."""
    if not frame:
        return False
    byte = frame[0]
    if byte >> 6 != 0b10:
        return False
    profile = ((byte >> 4) & 1) << 1 | ((byte >> 5) & 1)
    shift = 2 if profile == 3 else 3  # profile 3 has a reserved bit first
    if (byte >> shift) & 1:  # show_existing_frame
        return False
    return not (byte >> (shift - 1)) & 1


class Vp9Codec:
    """RFC 9628 VP9 payload descriptor, non-flexible mode, one spatial/temporal layer."""

    def __init__(self, picture_id: int = 0) -> None:
        self.picture_id = picture_id & 0x7FFF

    def packetize(
        self, frame: bytes, max_size: int, keyframe: bool | None = None
    ) -> list[bytes]:
        if keyframe is None:
            keyframe = vp9_is_keyframe_bitstream(frame)
        if max_size < 5:
            raise ValueError("VP9 needs at least 5 bytes per packet")
        picture_id = self.picture_id
        self.picture_id = (picture_id + 1) & 0x7FFF
        pid = bytes((0x80 | (picture_id >> 8), picture_id & 0xFF))
        # I=1 always; P=1 for inter frames; B on the first, E on the last packet;
        # V (scalability structure, RFC 9628 §4.2.1) on a keyframe's first packet:
        # N_S=0 (one spatial layer), Y=0, G=0.
        base = 0x80 | (0 if keyframe else 0x40)
        first_extra = b"\x00" if keyframe else b""
        payloads: list[bytes] = []
        view = memoryview(frame)
        pos = 0
        n = len(frame)
        while True:
            is_first = pos == 0
            header_size = 3 + (len(first_extra) if is_first else 0)
            step = max_size - header_size
            end = min(n, pos + step)
            flags = base
            if is_first:
                flags |= 0x08 | (0x02 if keyframe else 0)
            if end == n:
                flags |= 0x04
            header = bytes((flags,)) + pid + (first_extra if is_first else b"")
            payloads.append(header + view[pos:end])
            pos = end
            if pos >= n:
                return payloads

    @staticmethod
    def descriptor_size(payload: bytes) -> int:
        """RFC 9628 §4.2: length of the payload descriptor, SS included."""
        n = len(payload)
        if n < 1:
            raise RtpParseError("empty VP9 payload")
        flags = payload[0]
        pos = 1

        def need(size: int) -> None:
            if pos + size > n:
                raise RtpParseError("VP9 descriptor truncated")

        if flags & 0x80:  # I
            need(1)
            pos += 2 if payload[pos] & 0x80 else 1
        if flags & 0x20:  # L
            pos += 1
            if not flags & 0x10:  # non-flexible: TL0PICIDX
                pos += 1
        if flags & 0x10 and flags & 0x40:  # F and P: up to 3 P_DIFF
            for _ in range(3):
                need(1)
                more = payload[pos] & 0x01
                pos += 1
                if not more:
                    break
        if flags & 0x02:  # V: scalability structure
            need(1)
            ss = payload[pos]
            pos += 1
            if ss & 0x10:  # Y: resolutions
                pos += 4 * ((ss >> 5) + 1)
            if ss & 0x08:  # G: picture group description
                need(1)
                groups = payload[pos]
                pos += 1
                for _ in range(groups):
                    need(1)
                    references = (payload[pos] >> 2) & 0x03
                    pos += 1 + references
        need(0)
        return pos

    def depacketize(self, payloads: Sequence[bytes]) -> bytes:
        if not payloads:
            raise RtpParseError("no VP9 payloads")
        if not self.is_frame_start(payloads[0]):
            raise RtpParseError("VP9 frame does not start with B=1")
        return b"".join(p[self.descriptor_size(p) :] for p in payloads)

    def is_frame_start(self, payload: bytes) -> bool:
        return len(payload) > 0 and bool(payload[0] & 0x08)

    def is_keyframe(self, payloads: Sequence[bytes]) -> bool:
        if not payloads or not self.is_frame_start(payloads[0]):
            return False
        flags = payloads[0][0]
        if flags & 0x40:
            return False
        if flags & 0x20:  # layer indices present: the base spatial layer only
            size = 2 if flags & 0x80 else 1
            if flags & 0x80 and len(payloads[0]) > 1 and payloads[0][1] & 0x80:
                size += 1
            if len(payloads[0]) <= size or (payloads[0][size] >> 1) & 0x07:
                return False
        return True


def split_annex_b(stream: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (3- or 4-byte start codes)."""
    nalus: list[bytes] = []
    start = stream.find(b"\x00\x00\x01")
    if start < 0:
        return [stream] if stream else []
    while start >= 0:
        begin = start + 3
        nxt = stream.find(b"\x00\x00\x01", begin)
        end = len(stream) if nxt < 0 else nxt
        if nxt >= 0 and stream[nxt - 1] == 0:
            end = nxt - 1  # a 4-byte start code (or trailing zero) precedes the next NAL
        if end > begin:
            nalus.append(stream[begin:end])
        start = nxt
    return nalus


_STAP_A = 24
_FU_A = 28


class H264Codec:
    """RFC 6184 packetization-mode 1: single NAL unit packets, STAP-A and FU-A."""

    def packetize(self, frame: bytes, max_size: int) -> list[bytes]:
        if max_size < 4:
            raise ValueError("H.264 needs at least 4 bytes per packet")
        payloads: list[bytes] = []
        pending: list[bytes] = []  # small NAL units waiting to share a STAP-A
        pending_size = 1

        def flush() -> None:
            nonlocal pending, pending_size
            if len(pending) == 1:
                payloads.append(pending[0])
            elif pending:
                # RFC 6184 §5.7.1: F is the OR and NRI the maximum of the aggregated units.
                f_bit = max(n[0] & 0x80 for n in pending)
                nri = max(n[0] & 0x60 for n in pending)
                payloads.append(
                    bytes((f_bit | nri | _STAP_A,))
                    + b"".join(_U16.pack(len(n)) + n for n in pending)
                )
            pending = []
            pending_size = 1

        for nalu in split_annex_b(frame):
            if len(nalu) > max_size:
                flush()
                # RFC 6184 §5.8: FU indicator (F, NRI, type 28), FU header (S, E, type).
                indicator = bytes(((nalu[0] & 0xE0) | _FU_A,))
                nal_type = nalu[0] & 0x1F
                step = max_size - 2
                body = memoryview(nalu)[1:]
                count = len(body)
                for pos in range(0, count, step):
                    header = nal_type
                    if pos == 0:
                        header |= 0x80
                    if pos + step >= count:
                        header |= 0x40
                    payloads.append(indicator + bytes((header,)) + body[pos : pos + step])
                continue
            if pending_size + 2 + len(nalu) > max_size:
                flush()
            pending.append(nalu)
            pending_size += 2 + len(nalu)
        flush()
        return payloads

    @staticmethod
    def _nal_units(payloads: Sequence[bytes]) -> list[bytes]:
        nalus: list[bytes] = []
        fragment: list[bytes] | None = None
        for payload in payloads:
            if not payload:
                raise RtpParseError("empty H.264 payload")
            nal_type = payload[0] & 0x1F
            if 1 <= nal_type <= 23:
                nalus.append(bytes(payload))
            elif nal_type == _STAP_A:
                pos = 1
                n = len(payload)
                while pos < n:
                    if pos + 2 > n:
                        raise RtpParseError("STAP-A size truncated")
                    size = _U16.unpack_from(payload, pos)[0]
                    pos += 2
                    if size == 0 or pos + size > n:
                        raise RtpParseError("STAP-A unit truncated")
                    nalus.append(bytes(payload[pos : pos + size]))
                    pos += size
            elif nal_type == _FU_A:
                if len(payload) < 2:
                    raise RtpParseError("FU-A header truncated")
                header = payload[1]
                if header & 0x80:
                    if fragment is not None:
                        raise RtpParseError("FU-A start inside another fragmented unit")
                    fragment = [bytes(((payload[0] & 0xE0) | (header & 0x1F),))]
                elif fragment is None:
                    raise RtpParseError("FU-A continuation without its start")
                fragment.append(bytes(payload[2:]))
                if header & 0x40:
                    nalus.append(b"".join(fragment))
                    fragment = None
            else:
                raise RtpParseError(f"H.264 NAL unit type {nal_type} is not in mode 1")
        if fragment is not None:
            raise RtpParseError("FU-A without its end")
        return nalus

    def depacketize(self, payloads: Sequence[bytes]) -> bytes:
        return b"".join(b"\x00\x00\x00\x01" + n for n in self._nal_units(payloads))

    def is_frame_start(self, payload: bytes) -> bool:
        if not payload:
            return False
        return payload[0] & 0x1F != _FU_A or (len(payload) > 1 and bool(payload[1] & 0x80))

    def is_keyframe(self, payloads: Sequence[bytes]) -> bool:
        for payload in payloads:
            if not payload:
                continue
            nal_type = payload[0] & 0x1F
            if nal_type == 5:
                return True
            if nal_type == _FU_A and len(payload) > 1 and payload[1] & 0x1F == 5:
                return True
            if nal_type == _STAP_A:
                pos = 1
                while pos + 2 < len(payload):
                    size = _U16.unpack_from(payload, pos)[0]
                    if payload[pos + 2] & 0x1F == 5:
                        return True
                    pos += 2 + size
        return False


def codec_for(name: str) -> PayloadCodec:
    """The payload format for an SDP rtpmap encoding name (case-insensitive)."""
    key = name.upper()
    if key == "OPUS":
        return OpusCodec()
    if key in ("PCMU", "PCMA"):
        return G711Codec()
    if key == "VP8":
        return Vp8Codec()
    if key == "VP9":
        return Vp9Codec()
    if key == "H264":
        return H264Codec()
    raise KeyError(f"no payload format for {name}")
