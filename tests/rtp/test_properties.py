"""Hypothesis: every RTP/RTCP type round-trips, arbitrary bytes raise only
RtpParseError, and the engines never raise on arbitrary packets."""

from __future__ import annotations

import contextlib
import dataclasses
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.rtp import (
    ApplicationDefined,
    DlrrReport,
    DlrrSubBlock,
    ExtendedReport,
    FirEntry,
    FullIntraRequest,
    GenericNack,
    Goodbye,
    HeaderExtensionMap,
    NackItem,
    PayloadFeedback,
    PictureLossIndication,
    ReceiverReferenceTime,
    ReceiverReport,
    Remb,
    ReportBlock,
    RtpFeedback,
    RtpPacket,
    RtpParseError,
    SdesChunk,
    SenderReport,
    SourceDescription,
    TransportWideFeedback,
    UnknownRtcpPacket,
    UnknownXrBlock,
    parse_rtcp,
)
from webrtc.rtp import extensions as ext
from webrtc.rtp.codecs import G711Codec, H264Codec, OpusCodec, Vp8Codec, Vp9Codec
from webrtc.rtp.packet import decode_extensions
from webrtc.rtp.session import MediaSession
from webrtc.rtp.streams import RtpReceiver, RtpSender

SETTINGS = settings(max_examples=150, deadline=None)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 2**64 - 1)
words = st.binary(max_size=40).map(lambda b: b + bytes(-len(b) % 4))

padding = st.one_of(
    st.just(b""),
    st.integers(1, 255).flatmap(
        lambda n: st.binary(min_size=n - 1, max_size=n - 1).map(lambda b: b + bytes((n,)))
    ),
)
one_byte_extensions = st.dictionaries(st.integers(1, 14), st.binary(min_size=1, max_size=16),
                                      max_size=6)
two_byte_extensions = st.dictionaries(st.integers(1, 255), st.binary(max_size=40), max_size=6)

rtp_packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence_number=u16,
    timestamp=u32,
    ssrc=u32,
    payload=st.binary(max_size=300),
    marker=st.booleans(),
    csrc=st.lists(u32, max_size=15),
    extensions=st.one_of(one_byte_extensions, two_byte_extensions),
    padding=padding,
)


@SETTINGS
@given(rtp_packets)
def test_rtp_round_trip(packet: RtpPacket) -> None:
    data = bytes(packet)
    parsed = RtpPacket.parse(data)
    assert parsed == packet
    assert bytes(parsed) == data


extension_elements = st.one_of(
    st.just(b"\x00"),  # padding
    st.binary(min_size=1, max_size=3),  # stray bytes
    st.tuples(st.integers(0, 15), st.binary(min_size=1, max_size=16)).map(  # one-byte form
        lambda e: bytes(((e[0] << 4) | (len(e[1]) - 1),)) + e[1]
    ),
    st.tuples(st.integers(0, 255), st.binary(max_size=8)).map(  # two-byte form
        lambda e: bytes((e[0], len(e[1]))) + e[1]
    ),
)
extension_blocks = st.lists(extension_elements, max_size=8).map(
    lambda parts: b"".join(parts) + bytes(-len(b"".join(parts)) % 4)
)


@SETTINGS
@given(st.sampled_from([0xBEDE, 0x1000, 0x1003, 0x1234]), extension_blocks,
       st.binary(max_size=20))
def test_rtp_extension_block_decodes_as_decode_extensions(
    profile: int, block: bytes, payload: bytes
) -> None:
    # parse() decodes one-byte blocks inline: it must agree with the function,
    # stray padding, id 15 and overlong elements included, and keep the bytes
    data = bytes((0x90, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3)) + profile.to_bytes(2, "big")
    data += (len(block) // 4).to_bytes(2, "big") + block + payload
    parsed = RtpPacket.parse(data)
    assert parsed.extensions == decode_extensions(profile, block)
    assert parsed.payload == payload
    assert bytes(parsed) == data
    values = parsed.extensions
    if values and all(1 <= i <= 14 and 1 <= len(v) <= 16 for i, v in values.items()):
        values[next(iter(values))] = b"\x07"  # changed: bytes() re-encodes the block
        assert RtpPacket.parse(bytes(parsed)).extensions == values


report_blocks = st.builds(
    ReportBlock, u32, u8, st.integers(-0x800000, 0x7FFFFF), u32, u32, u32, u32
)
reports = st.lists(report_blocks, max_size=31).map(tuple)
sdes_items = st.lists(
    st.tuples(st.integers(1, 255), st.binary(max_size=40)), max_size=4
).map(tuple)
nack_items = st.lists(st.builds(NackItem, u16, u16), max_size=10).map(tuple)


@st.composite
def twcc(draw: st.DrawFn) -> TransportWideFeedback:
    statuses = draw(st.lists(st.sampled_from([0, 1, 2]), max_size=300))
    deltas = [
        draw(st.integers(0, 255) if s == 1 else st.integers(-32768, 32767))
        for s in statuses
        if s
    ]
    return TransportWideFeedback(
        draw(u32), draw(u32), draw(u16), draw(st.integers(-(2**23), 2**23 - 1)), draw(u8),
        tuple(statuses), tuple(deltas),
    )


xr_blocks = st.one_of(
    st.builds(ReceiverReferenceTime, u64),
    st.builds(DlrrReport, st.lists(st.builds(DlrrSubBlock, u32, u32, u32), max_size=4).map(tuple)),
    st.builds(UnknownXrBlock, st.integers(6, 255), u8, words),
)

rtcp_packets = st.one_of(
    st.builds(SenderReport, u32, u64, u32, u32, u32, reports, words),
    st.builds(ReceiverReport, u32, reports, words),
    st.builds(
        SourceDescription,
        st.lists(st.builds(SdesChunk, u32, sdes_items), max_size=31).map(tuple),
    ),
    st.builds(
        Goodbye, st.lists(u32, max_size=31).map(tuple),
        st.one_of(st.none(), st.binary(max_size=255)),
    ),
    st.builds(ApplicationDefined, st.integers(0, 31), u32, st.binary(min_size=4, max_size=4),
              words),
    st.builds(GenericNack, u32, u32, nack_items),
    twcc(),
    st.builds(RtpFeedback, st.sampled_from([2, 3, 4, 5, 6, 7, 8, 31]), u32, u32, words),
    st.builds(PictureLossIndication, u32, u32),
    st.builds(FullIntraRequest, u32,
              st.lists(st.builds(FirEntry, u32, u8), max_size=5).map(tuple), u32),
    st.builds(
        Remb, u32,
        st.tuples(st.integers(0, 0x3FFFF), st.integers(0, 45)).map(lambda t: t[0] << t[1]),
        st.lists(u32, max_size=10).map(tuple), u32,
    ),
    st.builds(PayloadFeedback, st.sampled_from([2, 3, 5, 6, 7, 31]), u32, u32, words),
    st.builds(ExtendedReport, u32, st.lists(xr_blocks, max_size=4).map(tuple)),
    st.builds(UnknownRtcpPacket, st.sampled_from([192, 195, 199, 208, 223]),
              st.integers(0, 31), words),
)


@SETTINGS
@given(st.lists(rtcp_packets, min_size=1, max_size=4))
def test_rtcp_round_trip(packets: list[object]) -> None:
    data = b"".join(bytes(p) for p in packets)  # type: ignore[call-overload]
    parsed = parse_rtcp(data)
    assert parsed == packets
    assert b"".join(bytes(p) for p in parsed) == data
    for packet in parsed:
        assert 192 <= packet.packet_type <= 223
        if packet.packet_type in (205, 206):
            assert packet.fmt == packets[parsed.index(packet)].fmt  # type: ignore[attr-defined,union-attr]


def mutate(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if buffer and choice < 0.5:
            buffer[rng.randrange(len(buffer))] = rng.randrange(256)
        elif choice < 0.75:
            del buffer[rng.randrange(len(buffer) + 1):]
        else:
            buffer += rng.randbytes(rng.randint(1, 8))
    return bytes(buffer)


EXTENSIONS = HeaderExtensionMap(
    [(1, ext.MID), (2, ext.ABS_SEND_TIME), (3, ext.TRANSPORT_WIDE_CC), (4, ext.RTP_STREAM_ID),
     (5, ext.AUDIO_LEVEL), (6, ext.VIDEO_ORIENTATION), (7, ext.PLAYOUT_DELAY),
     (8, ext.REPAIRED_RTP_STREAM_ID), (9, ext.TRANSMISSION_OFFSET)]
)


def read_every_extension(packet: RtpPacket) -> None:
    for getter in (
        EXTENSIONS.get_mid, EXTENSIONS.get_abs_send_time, EXTENSIONS.get_transport_sequence_number,
        EXTENSIONS.get_rtp_stream_id, EXTENSIONS.get_audio_level, EXTENSIONS.get_video_orientation,
        EXTENSIONS.get_playout_delay, EXTENSIONS.get_repaired_rtp_stream_id,
        EXTENSIONS.get_transmission_offset,
    ):
        with contextlib.suppress(RtpParseError):
            getter(packet)


@SETTINGS
@given(st.binary(max_size=200), st.randoms(use_true_random=False), rtp_packets, rtcp_packets)
def test_arbitrary_bytes_raise_only_rtp_parse_error(
    data: bytes, rng: random.Random, packet: RtpPacket, rtcp: object
) -> None:
    candidates = [
        data,
        b"\x80" + data,
        b"\x90" + data,
        mutate(bytes(packet), rng),
        mutate(bytes(rtcp), rng),  # type: ignore[call-overload]
    ]
    for candidate in candidates:
        try:
            parsed = RtpPacket.parse(candidate)
        except RtpParseError:
            pass
        else:
            read_every_extension(parsed)
            assert bytes(parsed) == candidate
        try:
            packets = parse_rtcp(candidate)
        except RtpParseError:
            pass
        else:
            assert b"".join(bytes(p) for p in packets) == candidate
            for rtcp_packet in packets:
                # SR, RR and SDES decode their fields on first access: what parse
                # accepted must decode without raising (and serialize canonically)
                fields = dataclasses.astuple(rtcp_packet)
                assert fields[-1] == bytes(rtcp_packet)  # the _raw field comes last
                dataclasses.replace(rtcp_packet).serialize()
        for codec in (Vp8Codec(), Vp9Codec(), H264Codec(), OpusCodec(), G711Codec()):
            try:
                codec.depacketize([candidate, candidate[1:]])
                codec.is_keyframe([candidate])
                codec.is_frame_start(candidate)
            except RtpParseError:
                pass


def make_session() -> MediaSession:
    session = MediaSession(local_ssrc=0xB, extensions=EXTENSIONS, rng=random.Random(1))
    session.add_sender(RtpSender(0x1000, 96, 90000, codec=Vp8Codec(), mid="0", rtx_ssrc=0x1001,
                                 rtx_payload_type=97, randbytes=random.Random(2).randbytes))
    session.expect_media(
        "0", lambda ssrc, route: RtpReceiver(ssrc, 90000, local_ssrc=0xB, codec=Vp8Codec(),
                                             rtx_payload_type=97), (96, 97)
    )
    session.expect_media(
        "1", lambda ssrc, route: RtpReceiver(ssrc, 90000, local_ssrc=0xB, codec=H264Codec()),
        (102,)
    )
    return session


small_rtp = st.builds(
    RtpPacket,
    payload_type=st.sampled_from([0, 96, 97, 102, 111]),
    sequence_number=st.integers(0, 40) | u16,
    timestamp=st.integers(0, 5) | u32,
    ssrc=st.sampled_from([0x1000, 0x1001, 0x2000, 0x2001, 0]),
    payload=st.binary(max_size=60),
    marker=st.booleans(),
    extensions=st.dictionaries(st.integers(1, 9), st.binary(min_size=1, max_size=6), max_size=3),
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 0.5),
            st.one_of(
                small_rtp.map(bytes),
                rtcp_packets.map(bytes),  # type: ignore[arg-type]
                st.binary(max_size=80),
            ),
        ),
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_session_never_raises_on_arbitrary_packets(
    inputs: list[tuple[float, bytes]], rng: random.Random
) -> None:
    session = make_session()
    now = 0.0
    session.send_frame(0x1000, b"\x10" + bytes(3000), now)
    for step, data in inputs:
        now += step
        if rng.random() < 0.3:
            data = mutate(data, rng)
        session.receive_datagram(data, now)
        timer = session.get_timer()
        if timer is not None and timer <= now:
            session.handle_timer(now)
            timer = session.get_timer()
            # a handled timer moves forward (else a driving loop would spin)
            assert timer is None or timer > now
        session.datagrams_to_send(now)
        while session.next_event() is not None:
            pass
    session.handle_timer(now + 5.0)
    session.datagrams_to_send(now + 5.0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(1, 4000), min_size=1, max_size=12),
    st.integers(0, 6),
    st.sets(st.integers(0, 200), max_size=6),
    st.randoms(use_true_random=False),
)
def test_jitter_buffer_gives_back_every_intact_frame_in_order(
    sizes: list[int], displacement: int, lost_indexes: set[int], rng: random.Random
) -> None:
    """Packets of VP8 frames arrive locally reordered (each up to ``displacement``
    places late) and some never arrive; once those are declared lost, every
    frame none of whose packets was lost comes out, whole, in order."""
    from webrtc.rtp.jitterbuffer import AssembledFrame, JitterBuffer, LostFrames

    codec = Vp8Codec()
    frames = [bytes((0x10 if i == 0 else 0x11,)) + rng.randbytes(size - 1)
              for i, size in enumerate(sizes)]
    packets = []  # (sequence, timestamp, marker, payload, frame index)
    sequence = 1000
    for index, frame in enumerate(frames):
        payloads = codec.packetize(frame, 500)
        for n, payload in enumerate(payloads):
            packets.append((sequence, index * 3000, n == len(payloads) - 1, payload, index))
            sequence += 1
    lost = {packets[i][0] for i in lost_indexes if 0 < i < len(packets)}
    keyed = sorted(
        (i + (rng.randint(0, displacement) if i else -1), p) for i, p in enumerate(packets)
    )
    buffer = JitterBuffer(codec)
    out: list[AssembledFrame | LostFrames] = []
    for _, (seq, timestamp, marker, payload, _index) in keyed:
        if seq not in lost:
            buffer.insert(seq, timestamp, marker, payload, 0.0)
        out += buffer.pop()
    for seq in sorted(lost):
        buffer.mark_lost(seq)
        out += buffer.pop()
    broken = {p[4] for p in packets if p[0] in lost}
    assembled = [(f.timestamp // 3000, f.data) for f in out if isinstance(f, AssembledFrame)]
    expected = [(i, frames[i]) for i in range(len(frames)) if i not in broken]
    assert assembled == expected
