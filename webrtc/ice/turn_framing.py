"""ChannelData messages and the framing of STUN/ChannelData over a byte stream.

RFC 8656 section 12.4, the ChannelData message::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |         Channel Number        |            Length             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /                       Application Data                        /
    +-------------------------------+-------------------------------+

Channel numbers 0x4000 through 0x4FFF are the ones a client may bind
(section 12); the first two bits ``01`` tell a ChannelData message apart from
a STUN message (first two bits ``00``). Over TCP and TLS the message is padded
to a multiple of four bytes, the padding not counted in Length, so that the
receiver can find the next message; over UDP the padding is optional and is
ignored when present (section 12.5).

A STUN message over a stream is framed by its own header: 20 bytes whose
Length field counts the (4-byte aligned) attributes that follow (RFC 8489
section 5).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from webrtc.errors import ParseError

__all__ = [
    "CHANNEL_MAX",
    "CHANNEL_MIN",
    "ChannelData",
    "StreamDeframer",
    "TurnParseError",
    "encode_channel_data",
    "is_channel_data",
]

CHANNEL_MIN = 0x4000
CHANNEL_MAX = 0x4FFF
_HEADER = struct.Struct("!HH")
_PADDING = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")
_STUN_HEADER_LENGTH = 20
_MAX_FRAME = 20 + 0xFFFF  # the largest frame a 16-bit length can describe


class TurnParseError(ParseError):
    """A malformed ChannelData message or TURN byte stream."""


def is_channel_data(data: bytes | bytearray | memoryview) -> bool:
    """True when ``data`` starts like a ChannelData message (first bits ``01``)."""
    return len(data) >= 4 and 0x40 <= data[0] <= 0x4F


def encode_channel_data(channel: int, data: bytes, pad: bool = False) -> bytes:
    """The ChannelData message carrying ``data``; ``pad`` for TCP and TLS."""
    header = _HEADER.pack(channel, len(data))
    if pad:
        return header + data + _PADDING[len(data) & 3]
    return header + data


@dataclass(frozen=True)
class ChannelData:
    """One ChannelData message: a channel number and the application data."""

    channel: int
    data: bytes

    def __post_init__(self) -> None:
        if not CHANNEL_MIN <= self.channel <= CHANNEL_MAX:
            raise ValueError(f"channel number {self.channel:#x} is outside 0x4000-0x4FFF")
        if len(self.data) > 0xFFFF:
            raise ValueError("ChannelData carries at most 65535 bytes")

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> ChannelData:
        """Parse one message; trailing padding (up to the next multiple of 4) is allowed."""
        if len(data) < 4:
            raise TurnParseError("ChannelData shorter than its header")
        channel, length = _HEADER.unpack_from(data)
        if not CHANNEL_MIN <= channel <= CHANNEL_MAX:
            raise TurnParseError(f"ChannelData with channel number {channel:#x}")
        end = 4 + length
        if len(data) < end:
            raise TurnParseError("ChannelData shorter than its Length field")
        if len(data) > (end + 3) & ~3:
            raise TurnParseError("ChannelData followed by more than padding")
        return cls(channel, bytes(data[4:end]))

    def encode(self, pad: bool = False) -> bytes:
        return encode_channel_data(self.channel, self.data, pad)

    def __bytes__(self) -> bytes:
        return encode_channel_data(self.channel, self.data)


class StreamDeframer:
    """Splits a TCP/TLS byte stream from a TURN server into whole messages.

    Feed it bytes as they arrive; it returns every complete STUN message and
    every complete ChannelData message (with its padding stripped, so the
    result parses on its own). A stream whose next message starts with
    neither ``00`` nor ``01`` bits cannot be resynchronised: :meth:`feed`
    raises :class:`TurnParseError` and the connection must be closed.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.broken = False

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a message."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        if self.broken:
            raise TurnParseError("the stream is already out of sync")
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        offset = 0
        available = len(buffer)
        while available - offset >= 4:
            first = buffer[offset]
            length = (buffer[offset + 2] << 8) | buffer[offset + 3]
            if first < 0x40:
                # STUN: the Length field counts attributes, always 4-aligned.
                if length & 3:
                    self.broken = True
                    raise TurnParseError("STUN message length is not a multiple of 4")
                size = _STUN_HEADER_LENGTH + length
                if available - offset < size:
                    break
                frames.append(bytes(buffer[offset : offset + size]))
                offset += size
            elif first < 0x50:
                size = 4 + length
                padded = (size + 3) & ~3
                if available - offset < padded:
                    break
                frames.append(bytes(buffer[offset : offset + size]))
                offset += padded
            else:
                self.broken = True
                raise TurnParseError(f"unexpected first byte {first:#04x} in the TURN stream")
        if offset:
            del buffer[:offset]
        return frames
