"""Demultiplexing one 5-tuple by the first byte of each datagram (RFC 7983).

RFC 7983 section 7 (updating RFC 5764 section 5.1.2)::

                 +----------------+
                 |        [0..3] -+--> forward to STUN
                 |                |
                 |      [16..19] -+--> forward to ZRTP
                 |                |
     packet -->  |      [20..63] -+--> forward to DTLS
                 |                |
                 |      [64..79] -+--> forward to TURN Channel
                 |                |
                 |    [128..191] -+--> forward to RTP/RTCP
                 +----------------+

The ICE agent consumes STUN itself; what it hands up on the selected pair is
classified here. Everything else (ZRTP, TURN channel data that reached this
far, empty datagrams) is dropped by the caller.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["PacketKind", "classify"]


class PacketKind(IntEnum):
    """Where a datagram goes."""

    OTHER = 0
    STUN = 1
    DTLS = 2
    RTP = 3
    ZRTP = 4
    TURN_CHANNEL = 5


def _table() -> bytes:
    kinds = bytearray(256)  # OTHER everywhere by default
    for first, last, kind in ((0, 3, PacketKind.STUN), (16, 19, PacketKind.ZRTP),
                              (20, 63, PacketKind.DTLS), (64, 79, PacketKind.TURN_CHANNEL),
                              (128, 191, PacketKind.RTP)):
        kinds[first:last + 1] = bytes([kind]) * (last - first + 1)
    return bytes(kinds)


# One lookup per datagram on the hot path.
_KINDS = _table()


def classify(data: bytes | bytearray | memoryview) -> PacketKind:
    """The kind of a datagram from its first byte; OTHER for an empty one."""
    if not data:
        return PacketKind.OTHER
    return PacketKind(_KINDS[data[0]])
