"""The header-extension map negotiated by SDP ``a=extmap`` (RFC 8285 §5) and
typed values for the extensions browsers negotiate.

A :class:`HeaderExtensionMap` is built from ``(id, uri)`` pairs and reads or
writes the typed value of each known extension on an :class:`RtpPacket`;
extensions it does not know stay in ``packet.extensions`` as bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from webrtc.rtp.errors import RtpParseError
from webrtc.rtp.packet import RtpPacket
from webrtc.sdp.attributes import ExtMap

__all__ = [
    "ABS_SEND_TIME",
    "AUDIO_LEVEL",
    "MID",
    "PLAYOUT_DELAY",
    "REPAIRED_RTP_STREAM_ID",
    "RTP_STREAM_ID",
    "TRANSMISSION_OFFSET",
    "TRANSPORT_WIDE_CC",
    "VIDEO_ORIENTATION",
    "AudioLevel",
    "HeaderExtensionMap",
    "PlayoutDelay",
    "VideoOrientation",
    "abs_send_time_from_seconds",
    "abs_send_time_to_seconds",
]

MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
RTP_STREAM_ID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
REPAIRED_RTP_STREAM_ID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
TRANSPORT_WIDE_CC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
VIDEO_ORIENTATION = "urn:3gpp:video-orientation"
PLAYOUT_DELAY = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
TRANSMISSION_OFFSET = "urn:ietf:params:rtp-hdrext:toffset"

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


@dataclass(frozen=True)
class AudioLevel:
    """RFC 6464: voice activity flag and level in -dBov (0 loudest, 127 silence)."""

    voice_activity: bool
    level: int


@dataclass(frozen=True)
class VideoOrientation:
    """3GPP TS 26.114 CVO: camera (back=True), horizontal flip, rotation in degrees."""

    camera: bool = False
    flip: bool = False
    rotation: int = 0


@dataclass(frozen=True)
class PlayoutDelay:
    """WebRTC playout-delay: minimum and maximum in 10 ms units (12 bits each)."""

    min_delay: int
    max_delay: int


def abs_send_time_from_seconds(seconds: float) -> int:
    """abs-send-time is 6.18 fixed-point seconds, wrapping every 64 s."""
    return int(seconds * (1 << 18)) & 0xFFFFFF


def abs_send_time_to_seconds(value: int) -> float:
    return value / (1 << 18)


class HeaderExtensionMap:
    """Extension ids by URI, as negotiated (``a=extmap:<id> <uri>``)."""

    def __init__(self, pairs: Iterable[tuple[int, str]] = ()) -> None:
        self._id_by_uri: dict[str, int] = {}
        self._uri_by_id: dict[int, str] = {}
        for ext_id, uri in pairs:
            self.add(ext_id, uri)

    @classmethod
    def from_extmaps(cls, extmaps: Iterable[ExtMap | tuple[int, str]]) -> HeaderExtensionMap:
        """From the SDP layer's ``a=extmap`` values (``MediaDescription.extmaps``)
        or ``(id, uri)`` pairs. Ids above 255 (RFC 8285 §5 reserves 4096-4351 for
        offers) are not usable on the wire and are skipped."""
        pairs: list[tuple[int, str]] = []
        for extmap in extmaps:
            ext_id, uri = extmap if isinstance(extmap, tuple) else (extmap.id, extmap.uri)
            if 1 <= ext_id <= 255 and ext_id != 15:
                pairs.append((ext_id, uri))
        return cls(pairs)

    def add(self, ext_id: int, uri: str) -> None:
        if not 1 <= ext_id <= 255 or ext_id == 15:
            raise ValueError(f"extension id {ext_id} is not usable (RFC 8285 §5)")
        self._id_by_uri[uri] = ext_id
        self._uri_by_id[ext_id] = uri
        attribute = _ATTRIBUTE_BY_URI.get(uri)
        if attribute is not None:
            setattr(self, attribute, ext_id)

    # ids of the known extensions, None when not negotiated
    mid_id: int | None = None
    rtp_stream_id_id: int | None = None
    repaired_rtp_stream_id_id: int | None = None
    abs_send_time_id: int | None = None
    transport_wide_cc_id: int | None = None
    audio_level_id: int | None = None
    video_orientation_id: int | None = None
    playout_delay_id: int | None = None
    transmission_offset_id: int | None = None

    def id_of(self, uri: str) -> int | None:
        return self._id_by_uri.get(uri)

    def uri_of(self, ext_id: int) -> str | None:
        return self._uri_by_id.get(ext_id)

    def items(self) -> list[tuple[int, str]]:
        return sorted(self._uri_by_id.items())

    @staticmethod
    def _get(packet: RtpPacket, ext_id: int | None, size: int = 0, what: str = "") -> bytes | None:
        """The raw value of ``ext_id`` (None when absent or not negotiated);
        with ``size``, a value of another length raises :class:`RtpParseError`."""
        if ext_id is None:
            return None
        value = packet.extension_value(ext_id)
        if size and value is not None and len(value) != size:
            raise RtpParseError(f"{what} of {len(value)} bytes")
        return value

    @classmethod
    def _get_text(cls, packet: RtpPacket, ext_id: int | None, what: str) -> str | None:
        value = cls._get(packet, ext_id)
        if value is None:
            return None
        try:
            return value.decode()
        except UnicodeDecodeError as exc:
            raise RtpParseError(f"{what} is not UTF-8") from exc

    def _set(self, packet: RtpPacket, ext_id: int | None, value: bytes | None, uri: str) -> None:
        if ext_id is None:
            raise KeyError(f"extension {uri} is not negotiated")
        if value is None:
            packet.extensions.pop(ext_id, None)
        else:
            packet.extensions[ext_id] = value

    # -- SDES text items (RFC 8843 §15, RFC 8852) ---------------------------
    def get_mid(self, packet: RtpPacket) -> str | None:
        # _get_text inlined: every receiver reads it
        ext_id = self.mid_id
        if ext_id is None:
            return None
        extensions = packet._extensions
        if extensions is None:
            layout = packet._layout
            span = None if layout is None else layout.get(ext_id)
            if span is None:
                return None
            offset, length = span
            value = packet._data[offset : offset + length]
        else:
            found = extensions.get(ext_id)
            if found is None:
                return None
            value = found
        try:
            return value.decode()
        except UnicodeDecodeError as exc:
            raise RtpParseError("MID is not UTF-8") from exc

    def set_mid(self, packet: RtpPacket, mid: str | None) -> None:
        self._set(packet, self.mid_id, None if mid is None else mid.encode(), MID)

    def get_rtp_stream_id(self, packet: RtpPacket) -> str | None:
        return self._get_text(packet, self.rtp_stream_id_id, "RID")

    def set_rtp_stream_id(self, packet: RtpPacket, rid: str | None) -> None:
        self._set(
            packet, self.rtp_stream_id_id, None if rid is None else rid.encode(), RTP_STREAM_ID
        )

    def get_repaired_rtp_stream_id(self, packet: RtpPacket) -> str | None:
        return self._get_text(packet, self.repaired_rtp_stream_id_id, "repaired RID")

    def set_repaired_rtp_stream_id(self, packet: RtpPacket, rid: str | None) -> None:
        self._set(
            packet,
            self.repaired_rtp_stream_id_id,
            None if rid is None else rid.encode(),
            REPAIRED_RTP_STREAM_ID,
        )

    # -- timing ------------------------------------------------------------
    def get_abs_send_time(self, packet: RtpPacket) -> int | None:
        """The raw 24-bit 6.18 fixed-point value."""
        ext_id = self.abs_send_time_id
        if ext_id is None:
            return None
        extensions = packet._extensions
        if extensions is None:  # _get inlined, reading the datagram in place
            layout = packet._layout
            span = None if layout is None else layout.get(ext_id)
            if span is None:
                return None
            offset, length = span
            if length == 3:  # the octet before the value is its element header
                return _U32.unpack_from(packet._data, offset - 1)[0] & 0xFFFFFF  # type: ignore[no-any-return]
            raise RtpParseError(f"abs-send-time of {length} bytes")
        value = extensions.get(ext_id)
        if value is None:
            return None
        if len(value) != 3:
            raise RtpParseError(f"abs-send-time of {len(value)} bytes")
        return int.from_bytes(value, "big")

    def set_abs_send_time(self, packet: RtpPacket, value: int | None) -> None:
        self._set(
            packet,
            self.abs_send_time_id,
            None if value is None else _U32.pack(value & 0xFFFFFF)[1:],
            ABS_SEND_TIME,
        )

    def get_transmission_offset(self, packet: RtpPacket) -> int | None:
        """RFC 5450: signed 24-bit offset in RTP timestamp units."""
        value = self._get(packet, self.transmission_offset_id, 3, "toffset")
        return None if value is None else int.from_bytes(value, "big", signed=True)

    def set_transmission_offset(self, packet: RtpPacket, value: int | None) -> None:
        self._set(
            packet,
            self.transmission_offset_id,
            None if value is None else value.to_bytes(3, "big", signed=True),
            TRANSMISSION_OFFSET,
        )

    def get_transport_sequence_number(self, packet: RtpPacket) -> int | None:
        ext_id = self.transport_wide_cc_id
        if ext_id is None:
            return None
        extensions = packet._extensions
        if extensions is None:  # _get inlined, reading the datagram in place
            layout = packet._layout
            span = None if layout is None else layout.get(ext_id)
            if span is None:
                return None
            offset, length = span
            if length == 2:
                return _U16.unpack_from(packet._data, offset)[0]  # type: ignore[no-any-return]
            raise RtpParseError(f"transport-wide sequence number of {length} bytes")
        value = extensions.get(ext_id)
        if value is None:
            return None
        if len(value) != 2:
            raise RtpParseError(f"transport-wide sequence number of {len(value)} bytes")
        return int.from_bytes(value, "big")

    def set_transport_sequence_number(self, packet: RtpPacket, value: int | None) -> None:
        self._set(
            packet,
            self.transport_wide_cc_id,
            None if value is None else _U16.pack(value & 0xFFFF),
            TRANSPORT_WIDE_CC,
        )

    # -- media properties --------------------------------------------------
    def get_audio_level(self, packet: RtpPacket) -> AudioLevel | None:
        value = self._get(packet, self.audio_level_id)
        if value is None:
            return None
        if not value:
            raise RtpParseError("empty audio level")
        return AudioLevel(bool(value[0] & 0x80), value[0] & 0x7F)

    def set_audio_level(self, packet: RtpPacket, value: AudioLevel | None) -> None:
        encoded = (
            None
            if value is None
            else bytes(((0x80 if value.voice_activity else 0) | (value.level & 0x7F),))
        )
        self._set(packet, self.audio_level_id, encoded, AUDIO_LEVEL)

    def get_video_orientation(self, packet: RtpPacket) -> VideoOrientation | None:
        value = self._get(packet, self.video_orientation_id)
        if value is None:
            return None
        if not value:
            raise RtpParseError("empty video orientation")
        byte = value[0]
        return VideoOrientation(bool(byte & 0x08), bool(byte & 0x04), (byte & 0x03) * 90)

    def set_video_orientation(self, packet: RtpPacket, value: VideoOrientation | None) -> None:
        encoded = None
        if value is not None:
            if value.rotation % 90:
                raise ValueError("rotation must be a multiple of 90 degrees")
            encoded = bytes(
                (
                    (0x08 if value.camera else 0)
                    | (0x04 if value.flip else 0)
                    | ((value.rotation // 90) & 0x03),
                )
            )
        self._set(packet, self.video_orientation_id, encoded, VIDEO_ORIENTATION)

    def get_playout_delay(self, packet: RtpPacket) -> PlayoutDelay | None:
        value = self._get(packet, self.playout_delay_id, 3, "playout delay")
        if value is None:
            return None
        bits = int.from_bytes(value, "big")
        return PlayoutDelay(bits >> 12, bits & 0xFFF)

    def set_playout_delay(self, packet: RtpPacket, value: PlayoutDelay | None) -> None:
        encoded = None
        if value is not None:
            if not (0 <= value.min_delay < 4096 and 0 <= value.max_delay < 4096):
                raise ValueError("playout delays are 12-bit values")
            encoded = ((value.min_delay << 12) | value.max_delay).to_bytes(3, "big")
        self._set(packet, self.playout_delay_id, encoded, PLAYOUT_DELAY)


_ATTRIBUTE_BY_URI = {
    MID: "mid_id",
    RTP_STREAM_ID: "rtp_stream_id_id",
    REPAIRED_RTP_STREAM_ID: "repaired_rtp_stream_id_id",
    ABS_SEND_TIME: "abs_send_time_id",
    TRANSPORT_WIDE_CC: "transport_wide_cc_id",
    AUDIO_LEVEL: "audio_level_id",
    VIDEO_ORIENTATION: "video_orientation_id",
    PLAYOUT_DELAY: "playout_delay_id",
    TRANSMISSION_OFFSET: "transmission_offset_id",
}
