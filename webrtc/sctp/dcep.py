"""The Data Channel Establishment Protocol messages (RFC 8832 section 5)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from webrtc.sctp.errors import SctpParseError

__all__ = [
    "PPID_BINARY",
    "PPID_BINARY_EMPTY",
    "PPID_DCEP",
    "PPID_STRING",
    "PPID_STRING_EMPTY",
    "DataChannelAck",
    "DataChannelOpen",
    "DcepMessage",
    "parse_dcep",
]

# Payload protocol identifiers (RFC 8831 section 8, RFC 8832 section 8.1).
PPID_DCEP = 50
PPID_STRING = 51
PPID_BINARY_PARTIAL = 52  # deprecated
PPID_BINARY = 53
PPID_STRING_PARTIAL = 54  # deprecated
PPID_STRING_EMPTY = 56
PPID_BINARY_EMPTY = 57

MESSAGE_ACK = 0x02
MESSAGE_OPEN = 0x03

# Channel types (RFC 8832 5.1): the 0x80 bit means unordered.
CHANNEL_RELIABLE = 0x00
CHANNEL_PARTIAL_RELIABLE_REXMIT = 0x01
CHANNEL_PARTIAL_RELIABLE_TIMED = 0x02
CHANNEL_UNORDERED = 0x80

_OPEN = struct.Struct("!BBHIHH")


@dataclass(frozen=True)
class DataChannelOpen:
    """DATA_CHANNEL_OPEN. ``reliability`` is a count or milliseconds per the type."""

    TYPE: ClassVar[int] = MESSAGE_OPEN
    channel_type: int
    priority: int
    reliability: int
    label: str
    protocol: str

    @property
    def ordered(self) -> bool:
        return not self.channel_type & CHANNEL_UNORDERED

    @property
    def max_retransmits(self) -> int | None:
        kind = self.channel_type & 0x7F
        return self.reliability if kind == CHANNEL_PARTIAL_RELIABLE_REXMIT else None

    @property
    def max_packet_life_time(self) -> int | None:
        kind = self.channel_type & 0x7F
        return self.reliability if kind == CHANNEL_PARTIAL_RELIABLE_TIMED else None

    @classmethod
    def for_channel(
        cls, label: str, protocol: str, ordered: bool, max_retransmits: int | None,
        max_packet_life_time: int | None, priority: int,
    ) -> DataChannelOpen:
        if max_retransmits is not None:
            kind, reliability = CHANNEL_PARTIAL_RELIABLE_REXMIT, max_retransmits
        elif max_packet_life_time is not None:
            kind, reliability = CHANNEL_PARTIAL_RELIABLE_TIMED, max_packet_life_time
        else:
            kind, reliability = CHANNEL_RELIABLE, 0
        if not ordered:
            kind |= CHANNEL_UNORDERED
        return cls(kind, priority, reliability, label, protocol)

    def __bytes__(self) -> bytes:
        label = self.label.encode("utf-8")
        protocol = self.protocol.encode("utf-8")
        return (
            _OPEN.pack(
                MESSAGE_OPEN, self.channel_type, self.priority, self.reliability,
                len(label), len(protocol),
            )
            + label
            + protocol
        )

    @classmethod
    def parse(cls, data: bytes) -> DataChannelOpen:
        if len(data) < 12 or data[0] != MESSAGE_OPEN:
            raise SctpParseError("bad DATA_CHANNEL_OPEN")
        _, ctype, priority, reliability, llen, plen = _OPEN.unpack_from(data)
        if ctype & 0x7F not in (0, 1, 2):
            raise SctpParseError(f"unknown data channel type {ctype:#x}")
        if len(data) < 12 + llen + plen:
            raise SctpParseError("DATA_CHANNEL_OPEN truncated")
        try:
            label = bytes(data[12 : 12 + llen]).decode("utf-8")
            protocol = bytes(data[12 + llen : 12 + llen + plen]).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SctpParseError("DATA_CHANNEL_OPEN label or protocol not UTF-8") from exc
        return cls(ctype, priority, reliability, label, protocol)


@dataclass(frozen=True)
class DataChannelAck:
    """DATA_CHANNEL_ACK."""

    TYPE: ClassVar[int] = MESSAGE_ACK

    def __bytes__(self) -> bytes:
        return b"\x02"

    @classmethod
    def parse(cls, data: bytes) -> DataChannelAck:
        if len(data) < 1 or data[0] != MESSAGE_ACK:
            raise SctpParseError("bad DATA_CHANNEL_ACK")
        return cls()


DcepMessage = DataChannelOpen | DataChannelAck


def parse_dcep(data: bytes) -> DcepMessage:
    if not data:
        raise SctpParseError("empty DCEP message")
    if data[0] == MESSAGE_OPEN:
        return DataChannelOpen.parse(data)
    if data[0] == MESSAGE_ACK:
        return DataChannelAck.parse(data)
    raise SctpParseError(f"unknown DCEP message type {data[0]:#x}")
