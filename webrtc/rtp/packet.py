"""RTP packets (RFC 3550 §5.1) with RFC 8285 header extensions.

:class:`RtpPacket` is mutable (a sender rewrites sequence numbers and
extensions on the way out) and lossless: ``bytes(RtpPacket.parse(data)) ==
data`` for every well-formed packet, padding and the exact layout of the
extension block included. The extension block is kept as received and
re-encoded only when the mapping or profile was changed. The one-byte form
that browsers send is decoded into :attr:`RtpPacket.extensions` by
:meth:`RtpPacket.parse` (every receiver reads the MID and the transport-wide
sequence number); other blocks when that attribute is first read.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from webrtc.rtp.errors import RtpParseError

__all__ = [
    "ONE_BYTE_PROFILE",
    "TWO_BYTE_PROFILE",
    "RtpPacket",
    "decode_extensions",
    "encode_extensions",
    "is_rtcp",
]

_HEADER = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")
_U16 = struct.Struct("!H")
_CSRC = [struct.Struct(f"!{count}I") for count in range(16)]
_new = object.__new__

# RFC 8285 §4.2: the one-byte form is announced by profile 0xBEDE.
ONE_BYTE_PROFILE = 0xBEDE
# RFC 8285 §4.3: the two-byte form by 0x100 followed by 4 "appbits".
TWO_BYTE_PROFILE = 0x1000


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 §4: with RTP/RTCP multiplexing, RTCP packet types are 192..223."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def decode_extensions(profile: int, block: bytes) -> dict[int, bytes]:
    """Decode an RFC 8285 extension block into ``{id: value}``.

    Blocks of other profiles (generic RFC 3550 extensions) decode to ``{}``;
    the packet keeps their bytes. Per RFC 8285 §4.2 a one-byte element with id
    15 stops processing, and so does an element that would run past the block
    (the bytes are kept, so nothing is lost).
    """
    extensions: dict[int, bytes] = {}
    n = len(block)
    pos = 0
    if profile == ONE_BYTE_PROFILE:
        while pos < n:
            byte = block[pos]
            if not byte:  # padding between elements, or up to the block's end
                pos += 1
                continue
            if byte >= 0xF0:  # id 15
                break
            end = pos + 2 + (byte & 0x0F)
            if end > n:
                break
            extensions[byte >> 4] = block[pos + 1 : end]
            pos = end
    elif profile & 0xFFF0 == TWO_BYTE_PROFILE:
        while pos < n:
            ext_id = block[pos]
            if not ext_id:
                pos += 1
                continue
            if pos + 2 > n:
                break
            end = pos + 2 + block[pos + 1]
            if end > n:
                break
            extensions[ext_id] = block[pos + 2 : end]
            pos = end
    return extensions


def encode_extensions(
    extensions: dict[int, bytes], profile: int | None = None
) -> tuple[int, bytes]:
    """Encode ``{id: value}`` as ``(profile, block)``, the block padded to 32 bits.

    The one-byte form is used when every id is 1..14 and every value 1..16
    bytes long (RFC 8285 §4.2), unless ``profile`` asks for the two-byte form.
    """
    one_byte = profile != TWO_BYTE_PROFILE and (profile is None or profile == ONE_BYTE_PROFILE)
    if one_byte:
        for ext_id, value in extensions.items():
            if not 1 <= ext_id <= 14 or not 1 <= len(value) <= 16:
                one_byte = False
                break
    parts: list[bytes] = []
    if one_byte:
        for ext_id, value in extensions.items():
            parts.append(bytes(((ext_id << 4) | (len(value) - 1),)))
            parts.append(value)
        chosen = ONE_BYTE_PROFILE
    else:
        for ext_id, value in extensions.items():
            if not 1 <= ext_id <= 255 or len(value) > 255:
                raise ValueError(f"extension {ext_id} with {len(value)} bytes cannot be encoded")
            parts.append(bytes((ext_id, len(value))))
            parts.append(value)
        chosen = (
            profile
            if profile is not None and profile & 0xFFF0 == TWO_BYTE_PROFILE
            else TWO_BYTE_PROFILE
        )
    block = b"".join(parts)
    if len(block) % 4:
        block += bytes(4 - len(block) % 4)
    return chosen, block


class RtpPacket:
    """One RTP packet.

    ``padding`` holds the padding octets as received (empty when the P bit is
    clear; the last octet is their count, RFC 3550 §5.1). ``extensions`` maps
    RFC 8285 extension ids to raw values; ``extension_profile`` is the profile
    of the extension block (``None`` without one). Other profiles' blocks are
    kept in ``extension_data``.
    """

    __slots__ = (
        "_as_parsed",
        "_ext_block",
        "_ext_original",
        "_ext_profile_original",
        "_extensions",
        "csrc",
        "extension_profile",
        "marker",
        "padding",
        "payload",
        "payload_type",
        "sequence_number",
        "ssrc",
        "timestamp",
    )

    def __init__(
        self,
        payload_type: int = 0,
        sequence_number: int = 0,
        timestamp: int = 0,
        ssrc: int = 0,
        payload: bytes = b"",
        marker: bool = False,
        csrc: Iterable[int] = (),
        extensions: dict[int, bytes] | None = None,
        padding: bytes = b"",
        extension_profile: int | None = None,
    ) -> None:
        self.payload_type = payload_type
        self.sequence_number = sequence_number
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.payload = payload
        self.marker = marker
        self.csrc: tuple[int, ...] = tuple(csrc)
        self.padding = padding
        self.extension_profile = extension_profile
        self._extensions: dict[int, bytes] | None = {} if extensions is None else extensions
        self._ext_block: bytes | None = None
        self._ext_original: dict[int, bytes] | None = None
        self._ext_profile_original: int | None = None
        self._as_parsed: tuple[object, ...] | None = None

    @property
    def version(self) -> int:
        return 2

    @property
    def extensions(self) -> dict[int, bytes]:
        extensions = self._extensions
        if extensions is None:
            block = self._ext_block
            profile = self._ext_profile_original
            assert block is not None and profile is not None
            extensions = decode_extensions(profile, block)
            self._extensions = extensions
            # what bytes() compares against to know the block is still current
            self._ext_original = extensions.copy()
        return extensions

    @extensions.setter
    def extensions(self, value: dict[int, bytes]) -> None:
        self._extensions = value
        self._ext_block = None

    @property
    def extension_data(self) -> bytes:
        """The extension block as it will be sent (without its 4-byte header)."""
        return self._extension_block()[1]

    def _extension_block(self) -> tuple[int | None, bytes]:
        block = self._ext_block
        if block is not None and self.extension_profile == self._ext_profile_original and (
            self._extensions is None or self._extensions == self._ext_original
        ):
            return self.extension_profile, block
        extensions = self._extensions
        if not extensions:
            original = self._ext_profile_original
            if (
                block is not None
                and original is not None
                and original != ONE_BYTE_PROFILE
                and original & 0xFFF0 != TWO_BYTE_PROFILE
            ):
                return self.extension_profile, block  # a generic RFC 3550 block
            return None, b""
        return encode_extensions(extensions, self.extension_profile)

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one RTP packet; raises :class:`RtpParseError` if malformed."""
        if type(data) is not bytes:
            data = bytes(data)
        n = len(data)
        if n < 12:
            raise RtpParseError(f"RTP packet of {n} bytes is shorter than its 12-byte header")
        b0, b1, sequence_number, timestamp, ssrc = _HEADER.unpack_from(data)
        if b0 & 0xC0 != 0x80:
            raise RtpParseError(f"RTP version {b0 >> 6} is not 2")
        packet = _new(cls)
        pos = 12
        if b0 & 0x0F:
            cc = b0 & 0x0F
            pos += 4 * cc
            if n < pos:
                raise RtpParseError("RTP packet truncated in its CSRC list")
            csrc: tuple[int, ...] = _CSRC[cc].unpack_from(data, 12)
        else:
            csrc = ()
        packet.csrc = csrc
        if b0 & 0x10:
            if n < pos + 4:
                raise RtpParseError("RTP packet truncated in its extension header")
            profile, words = _EXTENSION_HEADER.unpack_from(data, pos)
            end = pos + 4 + 4 * words
            if n < end:
                raise RtpParseError("RTP header extension runs past the packet")
            packet._ext_block = data[pos + 4 : end]
            if profile == ONE_BYTE_PROFILE:
                # decode_extensions inlined (RFC 8285 §4.2), reading ``data`` in
                # place: every receiver reads the MID and transport-wide number
                decoded: dict[int, bytes] = {}
                at = pos + 4
                while at < end:
                    byte = data[at]
                    if byte:
                        if byte >= 0xF0:  # id 15
                            break
                        stop = at + 2 + (byte & 0x0F)
                        if stop > end:
                            break
                        decoded[byte >> 4] = data[at + 1 : stop]
                        at = stop
                    else:
                        at += 1
                packet._extensions = decoded
                packet._ext_original = decoded.copy()  # bytes() checks it is unchanged
            else:
                packet._extensions = packet._ext_original = None
            pos = end
        else:
            profile = None
            packet._ext_block = None
            packet._extensions = {}
            packet._ext_original = None
        packet.extension_profile = profile
        packet._ext_profile_original = profile
        if b0 & 0x20:
            count = data[n - 1]
            if count == 0 or n - count < pos:
                raise RtpParseError(f"RTP padding count {count} is invalid")
            packet.padding = padding = data[n - count :]
            packet.payload = payload = data[pos : n - count]
        else:
            packet.padding = padding = b""
            packet.payload = payload = data[pos:]
        packet.marker = b1 >= 0x80
        packet.payload_type = b1 & 0x7F
        packet.sequence_number = sequence_number
        packet.timestamp = timestamp
        packet.ssrc = ssrc
        # what bytes() compares against to hand back ``data`` itself when nothing changed
        packet._as_parsed = (
            b1, sequence_number, timestamp, ssrc, payload, padding, csrc, profile, data
        )
        return packet

    def __bytes__(self) -> bytes:
        parsed = self._as_parsed
        if parsed is not None:
            extensions = self._extensions
            if (
                parsed
                == (
                    (0x80 | self.payload_type) if self.marker else self.payload_type,
                    self.sequence_number, self.timestamp, self.ssrc, self.payload, self.padding,
                    self.csrc, self.extension_profile, parsed[8],
                )
                and (
                    extensions is None
                    or extensions == self._ext_original
                    or (not extensions and self._ext_block is None and parsed[7] is None)
                )
            ):
                return parsed[8]  # type: ignore[return-value]
        profile, block = self._extension_block()
        csrc = self.csrc
        b0 = 0x80 | len(csrc)
        if self.padding:
            b0 |= 0x20
        header = _HEADER.pack(
            b0 | 0x10 if profile is not None else b0,
            (0x80 if self.marker else 0) | self.payload_type,
            self.sequence_number,
            self.timestamp,
            self.ssrc,
        )
        if csrc:
            header += _CSRC[len(csrc)].pack(*csrc)
        if profile is not None:
            header += _EXTENSION_HEADER.pack(profile, len(block) // 4) + block
        return header + self.payload + self.padding

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RtpPacket):
            return NotImplemented
        return (
            self.payload_type == other.payload_type
            and self.sequence_number == other.sequence_number
            and self.timestamp == other.timestamp
            and self.ssrc == other.ssrc
            and self.marker == other.marker
            and self.csrc == other.csrc
            and self.extensions == other.extensions
            and self.payload == other.payload
            and self.padding == other.padding
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"RtpPacket(payload_type={self.payload_type}, sequence_number={self.sequence_number}, "
            f"timestamp={self.timestamp}, ssrc={self.ssrc:#x}, marker={self.marker}, "
            f"csrc={self.csrc}, extensions={self.extensions}, payload={len(self.payload)} bytes, "
            f"padding={len(self.padding)} bytes)"
        )
