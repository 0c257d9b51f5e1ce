"""RFC 7983 first-byte demultiplexing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from webrtc.peerconnection.demux import PacketKind, classify


def test_ranges_of_rfc_7983() -> None:
    expected = {0: PacketKind.STUN, 3: PacketKind.STUN, 4: PacketKind.OTHER,
                16: PacketKind.ZRTP, 19: PacketKind.ZRTP, 20: PacketKind.DTLS,
                22: PacketKind.DTLS, 63: PacketKind.DTLS, 64: PacketKind.TURN_CHANNEL,
                79: PacketKind.TURN_CHANNEL, 80: PacketKind.OTHER, 127: PacketKind.OTHER,
                128: PacketKind.RTP, 191: PacketKind.RTP, 192: PacketKind.OTHER,
                255: PacketKind.OTHER}
    for first, kind in expected.items():
        assert classify(bytes([first, 1, 2])) is kind, first


def test_empty_datagram_is_other() -> None:
    assert classify(b"") is PacketKind.OTHER


@given(st.binary(min_size=1, max_size=40))
def test_only_first_byte_matters(data: bytes) -> None:
    assert classify(data) is classify(data[:1]) is classify(memoryview(data))
