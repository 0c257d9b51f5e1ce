"""The run path of MediaSession.receive_datagrams (RtpReceiver.receive_run,
JitterBuffer.insert_run) leaves every receiver in the state, and queues the
events, that one receive_datagram per datagram does: for two interleaved
streams (video with RTX, audio) under loss, duplication and reordering."""

from __future__ import annotations

import random

from batch_checks import drain, split_into_batches
from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.rtp import HeaderExtensionMap, MediaSession, RtpReceiver, RtpSender, Vp8Codec
from webrtc.rtp import extensions as ext
from webrtc.rtp.codecs import OpusCodec

PAIRS = [(1, ext.MID), (2, ext.ABS_SEND_TIME), (3, ext.TRANSPORT_WIDE_CC)]
VIDEO, VIDEO_RTX, AUDIO = 0x1000, 0x1001, 0x2000


def _stream() -> list[bytes]:
    """Plain RTP: a VP8 stream of 1-5 packet frames, with RTX copies of some of
    its packets, and an Opus stream, interleaved."""
    rng = random.Random(11)
    session = MediaSession(local_ssrc=0xA, extensions=HeaderExtensionMap(PAIRS), rng=rng)
    video = session.add_sender(RtpSender(
        VIDEO, 96, 90000, codec=Vp8Codec(), mid="0", rtx_ssrc=VIDEO_RTX, rtx_payload_type=97,
        max_payload_size=300, rng=rng,
    ))
    session.add_sender(RtpSender(AUDIO, 111, 48000, codec=OpusCodec(), mid="1", rng=rng))
    out: list[bytes] = []
    now = 0.0
    for index in range(60):
        now += 1 / 30
        sequences = video.send_frame(b"\x10" + rng.randbytes(rng.randint(50, 1400)), now)
        session.send_frame(AUDIO, rng.randbytes(rng.randint(20, 120)), now)
        if index % 7 == 3:
            video.retransmit([sequences[0]], now + 0.01)  # an RTX copy in the stream
        out += session.datagrams_to_send(now)
    return out


STREAM = _stream()


def _receiving() -> MediaSession:
    session = MediaSession(local_ssrc=0xB, extensions=HeaderExtensionMap(PAIRS),
                           rng=random.Random(3))
    session.expect_media(
        "0",
        lambda ssrc, route: RtpReceiver(ssrc, 90000, local_ssrc=0xB, codec=Vp8Codec(),
                                        rtx_payload_type=97),
        (96, 97),
    )
    session.expect_media(
        "1", lambda ssrc, route: RtpReceiver(ssrc, 48000, local_ssrc=0xB, codec=OpusCodec()),
        (111,),
    )
    return session


def _state(receiver: RtpReceiver) -> tuple[object, ...]:
    buffer = receiver.jitter_buffer
    return (
        receiver.statistics(), receiver._max, receiver._base, receiver._transit,
        receiver._jitter, receiver.packets_received, sorted(receiver._missing),
        receiver.rtx_received, receiver.duplicates, buffer._next, sorted(buffer._slots),
        sorted(buffer._lost), buffer.frames_assembled, buffer.frames_lost, buffer.packets_late,
    )


@settings(max_examples=12, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(STREAM) - 1), st.sampled_from(["drop", "repeat", "swap"])),
        max_size=25,
    ),
    st.lists(st.integers(1, 16), min_size=1, max_size=40),
)
def test_runs_match_one_call_per_datagram(
    disturbances: list[tuple[int, str]], sizes: list[int]
) -> None:
    fates = dict(disturbances)
    stream: list[bytes] = []
    for index, data in enumerate(STREAM):
        fate = fates.get(index)
        if fate == "drop":
            continue
        stream.append(data)
        if fate == "repeat":
            stream.append(data)
        elif fate == "swap" and len(stream) >= 2:
            stream[-1], stream[-2] = stream[-2], stream[-1]
    batches = split_into_batches(stream, sizes)
    one = _receiving()
    many = _receiving()
    now = 0.0
    for count, batch in enumerate(batches):
        now += 0.05
        for data in batch:
            one.receive_datagram(data, now)
        many.receive_datagrams(batch, now)
        one.handle_timer(now)  # NACKs given up: frames declared lost
        many.handle_timer(now)
        if count % 8 == 0 or count == len(batches) - 1:
            assert one.receivers.keys() == many.receivers.keys()
            for ssrc, receiver in one.receivers.items():
                assert _state(receiver) == _state(many.receivers[ssrc])
    for _ in range(30):  # until every wait for a lost packet has been given up
        now += 0.1
        one.handle_timer(now)
        many.handle_timer(now)
    for ssrc, receiver in one.receivers.items():
        assert _state(receiver) == _state(many.receivers[ssrc])
    one_events = drain(one)
    assert one_events == drain(many)
    assert sum(type(e).__name__ == "FrameReceived" for e in one_events) >= 30
    assert one.receivers.keys() == {VIDEO, AUDIO}
    assert one.stats.rtp_received == many.stats.rtp_received == len(stream)
