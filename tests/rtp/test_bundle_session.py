"""Two media sections in one BUNDLE transport: Opus audio and H.264 video,
routed by MID on the way in, through a lossy simulated link."""

from __future__ import annotations

import random

from webrtc.rtp import (
    FrameReceived,
    H264Codec,
    HeaderExtensionMap,
    MediaSession,
    OpusCodec,
    RtpReceiver,
    RtpSender,
)
from webrtc.rtp import extensions as ext
from webrtc.testing import LinkConfig, Network


class Driver:
    """Sends 20 ms audio frames and 30 fps H.264 frames for ``duration`` seconds."""

    def __init__(self, session: MediaSession, duration: float) -> None:
        self.session = session
        self.duration = duration
        self.rng = random.Random(9)
        self.next_audio: float | None = 0.0
        self.next_video: float | None = 0.0
        self.audio: list[bytes] = []
        self.video: list[bytes] = []

    def video_frame(self, index: int) -> bytes:
        kind = 5 if index % 60 == 0 else 1  # IDR every 2 s
        size = 20000 if kind == 5 else 3000
        body = self.rng.randbytes(size).replace(b"\x00\x00", b"\x00\x01").rstrip(b"\x00")
        units = [b"\x67\x42\xc0\x1f", b"\x68\xce\x3c\x80"] if kind == 5 else []
        units.append(bytes((0x60 | kind,)) + body + b"\x01")
        return b"".join(b"\x00\x00\x00\x01" + unit for unit in units)

    def receive_datagram(self, data: bytes, now: float) -> None:
        self.session.receive_datagram(data, now)

    def datagrams_to_send(self, now: float) -> list[bytes]:
        return self.session.datagrams_to_send(now)

    def get_timer(self) -> float | None:
        timers = [t for t in (self.session.get_timer(), self.next_audio, self.next_video)
                  if t is not None]
        return min(timers) if timers else None

    def handle_timer(self, now: float) -> None:
        if self.next_audio is not None and now >= self.next_audio:
            frame = self.rng.randbytes(self.rng.randint(60, 160))
            self.audio.append(frame)
            self.session.send_frame(0xA1, frame, now)
            self.next_audio = now + 0.02 if now + 0.02 < self.duration else None
        if self.next_video is not None and now >= self.next_video:
            frame = self.video_frame(len(self.video))
            self.video.append(frame)
            self.session.send_frame(0xB1, frame, now)
            self.next_video = now + 1 / 30 if now + 1 / 30 < self.duration else None
        timer = self.session.get_timer()
        if timer is not None and now >= timer:
            self.session.handle_timer(now)

    def next_event(self) -> object | None:
        return self.session.next_event()


def test_audio_and_h264_video_share_one_transport() -> None:
    pairs = [(1, ext.MID), (2, ext.ABS_SEND_TIME), (3, ext.TRANSPORT_WIDE_CC)]
    rng = random.Random(2)
    sending = MediaSession(local_ssrc=0x51, extensions=HeaderExtensionMap(pairs), rng=rng)
    sending.add_sender(RtpSender(0xA1, 111, 48000, codec=OpusCodec(), mid="audio",
                                 randbytes=rng.randbytes, rng=rng))
    sending.add_sender(RtpSender(0xB1, 102, 90000, codec=H264Codec(), mid="video",
                                 rtx_ssrc=0xB2, rtx_payload_type=103,
                                 randbytes=rng.randbytes, rng=rng))
    receiving = MediaSession(local_ssrc=0x52, extensions=HeaderExtensionMap(pairs), rng=rng)
    # audio and video share nothing but the transport; PT 111 alone would route
    # audio too, the MID routes both (RFC 8843 §9.2)
    receiving.expect_media(
        "audio", lambda ssrc, route: RtpReceiver(ssrc, 48000, local_ssrc=0x52, codec=OpusCodec()),
        (111,),
    )
    receiving.expect_media(
        "video", lambda ssrc, route: RtpReceiver(ssrc, 90000, local_ssrc=0x52, codec=H264Codec(),
                                                 rtx_payload_type=103),
        (102, 103),
    )
    network = Network(seed=2, default_link=LinkConfig(delay=0.03, jitter=0.002, loss=0.03))
    sender = Driver(sending, duration=6.0)
    network.add_engine(sender, ("10.0.0.1", 9), ("10.0.0.2", 9))
    received = network.add_engine(receiving, ("10.0.0.2", 9), ("10.0.0.1", 9))
    network.run(timeout=7.0)

    frames = [e for e in received.events if isinstance(e, FrameReceived)]
    audio = [f.data for f in frames if f.ssrc == 0xA1]
    video = [f for f in frames if f.ssrc == 0xB1]
    # every audio frame comes through, NACK repairs included, in order
    assert len(sender.audio) >= 299 and len(sender.video) >= 179
    assert audio == sender.audio
    # every video frame, byte for byte (4-byte start codes), keyframes flagged
    assert [f.data for f in video] == sender.video
    assert [f.keyframe for f in video] == [i % 60 == 0 for i in range(len(sender.video))]
    assert set(receiving.receivers) == {0xA1, 0xB1}
    assert receiving.demuxer.ssrcs[0xA1].mid == "audio"
    assert receiving.demuxer.ssrcs[0xB1].mid == "video"
    assert receiving.receivers[0xB1].rtx_received > 0
