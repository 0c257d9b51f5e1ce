"""The route() skip of MediaSession.receive_datagrams: a packet of the run's
SSRC with the extension layout and MID octets that BundleDemuxer.settled()
vouched for is not routed again. Batches must still route, learn, count and
record (transport-wide CC) what one receive_datagram per datagram does, for
streams whose MID, RID, repaired RID and transport-wide number come and go."""

from __future__ import annotations

import random

from batch_checks import drain, split_into_batches
from hypothesis import example, given, settings
from hypothesis import strategies as st

from webrtc.rtp import HeaderExtensionMap, MediaSession, RtpPacket, RtpReceiver
from webrtc.rtp import extensions as ext
from webrtc.rtp.bundle import BundleDemuxer, Route
from webrtc.rtp.codecs import OpusCodec

PAIRS = [(1, ext.MID), (3, ext.TRANSPORT_WIDE_CC), (4, ext.RTP_STREAM_ID),
         (5, ext.REPAIRED_RTP_STREAM_ID)]
MID, TW, RID, RRID = 1, 3, 4, 5


def _receiving() -> MediaSession:
    # no transport-wide feedback sent during a test: every arrival stays recorded
    session = MediaSession(local_ssrc=0xB, extensions=HeaderExtensionMap(PAIRS),
                           rng=random.Random(3), transport_cc_interval=1e9)
    for mid, payload_type in (("0", 96), ("1", 97)):
        session.expect_media(
            mid, lambda ssrc, route: RtpReceiver(ssrc, 48000, local_ssrc=0xB, codec=OpusCodec()),
            (payload_type,),
        )
    return session


# (the common shapes, where the skip applies, more often than the others)
packet_shapes = st.tuples(
    st.sampled_from([0x10, 0x10, 0x20, 0x30]),  # SSRC
    st.sampled_from([96, 96, 97, 100]),  # payload type (100: no section)
    st.sampled_from([None, b"0", b"0", b"1", b"1", b"7", b"00"]),  # MID ("7", "00": none)
    st.sampled_from([None, None, None, b"r"]),  # RID
    st.sampled_from([None, None, None, b"x"]),  # repaired RID
    st.sampled_from([None, b"\x00\x05", b"\x00\x05", b"\x01\x02\x03"]),  # transport-wide CC
)


def _datagrams(shapes: list[tuple[int, int, bytes | None, bytes | None, bytes | None,
                                  bytes | None]]) -> list[bytes]:
    sequences: dict[int, int] = {}
    out = []
    for count, (ssrc, payload_type, mid, rid, rrid, tw) in enumerate(shapes):
        sequence = sequences[ssrc] = sequences.get(ssrc, 100) + 1
        extensions = {}
        for ext_id, value in ((MID, mid), (RID, rid), (RRID, rrid), (TW, tw)):
            if value is not None:
                # the transport-wide value's octets differ between packets, as they do
                extensions[ext_id] = value if ext_id != TW or len(value) != 2 else (
                    (count + 7).to_bytes(2, "big"))
        out.append(bytes(RtpPacket(payload_type, sequence, sequence * 960, ssrc,
                                   bytes([count & 0xFF]) * 20, True, extensions=extensions)))
    return out


def _shape(mid: bytes | None, tw: bytes | None = b"\x00\x05", ssrc: int = 0x10,
           rid: bytes | None = None) -> tuple[int, int, bytes | None, bytes | None, None,
                                               bytes | None]:
    return (ssrc, 96, mid, rid, None, tw)


@settings(max_examples=100, deadline=None)
# a MID re-mapped within a run (same layout, other octets), and back
@example([_shape(b"0"), _shape(b"0"), _shape(b"1"), _shape(b"1"), _shape(b"0")], [4], 0)
@example([_shape(b"0"), _shape(b"0"), _shape(b"1"), _shape(b"0")], [12], 0)
# the layout changes within a run: the MID stops, the transport-wide number moves
@example([_shape(b"0"), _shape(None), _shape(b"1", None), _shape(b"1"), _shape(None, None),
          _shape(b"0", b"\x01\x02\x03")], [12], 1)
# a RID comes with a known MID (learned into the route), a second SSRC interleaves
@example([_shape(b"0"), _shape(b"0", rid=b"r"), _shape(b"0", ssrc=0x20), _shape(b"0")], [12], 1)
@given(st.lists(packet_shapes, min_size=1, max_size=40),
       st.lists(st.integers(1, 12), min_size=1, max_size=10),
       st.integers(0, 3))
def test_batches_route_as_one_call_per_datagram(shapes, sizes, runs_of) -> None:  # type: ignore[no-untyped-def]
    # runs_of: repeat each shape to make runs of one SSRC, where the skip applies
    stream = _datagrams([shape for shape in shapes for _ in range(runs_of + 1)])
    one = _receiving()
    many = _receiving()
    now = 0.0
    for batch in split_into_batches(stream, sizes):
        now += 0.01
        for data in batch:
            one.receive_datagram(data, now)
        many.receive_datagrams(batch, now)
        assert one.demuxer.ssrcs == many.demuxer.ssrcs
        assert one.demuxer.unroutable == many.demuxer.unroutable
    assert one.stats == many.stats or (
        one.stats.rtcp_sent != many.stats.rtcp_sent  # feedback is grouped per batch
        and {**vars(one.stats), "rtcp_sent": 0} == {**vars(many.stats), "rtcp_sent": 0})
    assert one.receivers.keys() == many.receivers.keys()
    for ssrc, receiver in one.receivers.items():
        assert receiver.statistics() == many.receivers[ssrc].statistics()
    assert one.transport_feedback is not None and many.transport_feedback is not None
    assert one.transport_feedback._arrivals == many.transport_feedback._arrivals
    assert drain(one) == drain(many)


def _parsed(mid: bytes | None = None, rid: bytes | None = None, tw: bool = True,
            ssrc: int = 0x10) -> RtpPacket:
    extensions = {TW: b"\x00\x01"} if tw else {}
    if mid is not None:
        extensions[MID] = mid
    if rid is not None:
        extensions[RID] = rid
    return RtpPacket.parse(bytes(RtpPacket(96, 1, 2, ssrc, b"x", extensions=extensions)))


def test_settled_vouches_only_for_side_effect_free_routes() -> None:
    demuxer = BundleDemuxer(HeaderExtensionMap(PAIRS))
    demuxer.add_media("0", (96,))
    demuxer.add_media("1")
    assert demuxer.settled(_parsed(b"0")) is None  # unknown SSRC: route() learns it
    assert demuxer.route(_parsed(b"0")) == Route("0")
    # the learned MID, where it is in this layout
    packet = _parsed(b"0")
    where = demuxer.settled(packet)
    assert where is not None and where[0] is not None
    assert packet._data[where[0]] == where[1] == b"0"
    assert demuxer.settled(_parsed(None)) == (None, b"")  # no MID element
    assert demuxer.settled(_parsed(None, tw=False)) == (None, b"")  # no extension at all
    assert demuxer.settled(_parsed(b"00")) is None  # a MID of another length
    assert demuxer.settled(_parsed(b"0", rid=b"r")) is None  # a RID: route() may learn
    assert demuxer.settled(_parsed(b"0", ssrc=0x20)) is None
    modified = _parsed(b"0")
    modified.extensions[MID] = b"1"  # a decoded mapping: the layout no longer tells
    assert demuxer.settled(modified) is None
    # what settled() vouched for is what route() does: the known route, no learning
    before = demuxer.ssrcs
    assert demuxer.route(_parsed(None)) == Route("0") and demuxer.ssrcs == before
    # a MID of the same length but another section is re-learned (RFC 8843 §9.2)
    other = _parsed(b"1")
    assert other._data[where[0]] != where[1]
    assert demuxer.route(other) == Route("1")


@settings(max_examples=60, deadline=None)
@given(st.lists(packet_shapes, min_size=1, max_size=30))
def test_route_reads_parsed_packets_as_decoded_ones(shapes) -> None:  # type: ignore[no-untyped-def]
    # route()'s in-place reading of a parsed packet's extensions decides as
    # the decoded mapping of the same packet does
    parsed_side = BundleDemuxer(HeaderExtensionMap(PAIRS))
    decoded_side = BundleDemuxer(HeaderExtensionMap(PAIRS))
    for demuxer in (parsed_side, decoded_side):
        demuxer.add_media("0", (96,))
        demuxer.add_media("1", (97,))
    for data in _datagrams(shapes):
        parsed = RtpPacket.parse(data)
        decoded = RtpPacket.parse(data)
        decoded.extensions  # noqa: B018 (decodes the mapping: read from it from now on)
        assert decoded._extensions is not None and parsed._extensions is None
        assert parsed_side.route(parsed) == decoded_side.route(decoded)
        assert parsed_side.ssrcs == decoded_side.ssrcs
        assert parsed_side.unroutable == decoded_side.unroutable
