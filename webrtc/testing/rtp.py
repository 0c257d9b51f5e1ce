"""Simulator helpers for the RTP layer: a video-like frame source and an
endpoint engine that drives a :class:`MediaSession` on a virtual clock.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

from webrtc.rtp.session import MediaSession
from webrtc.rtp.streams import FrameLost, FrameReceived, KeyframeRequested

__all__ = ["MediaEndpoint", "VideoLikeSource", "frame_index"]

_INDEX = struct.Struct("!I")


def frame_index(frame: bytes) -> int:
    """The index a :class:`VideoLikeSource` frame carries after its first byte."""
    return int(_INDEX.unpack_from(frame, 1)[0])


class VideoLikeSource:
    """Frames sized like a ``bitrate`` stream at ``fps`` with a keyframe every
    ``keyframe_interval`` seconds (keyframes ``keyframe_ratio`` times a delta
    frame), shaped like VP8: the first byte's low bit is 0 on keyframes."""

    def __init__(
        self,
        bitrate: float = 1_500_000,
        fps: float = 30.0,
        keyframe_interval: float = 2.0,
        keyframe_ratio: float = 5.0,
        seed: int = 1,
    ) -> None:
        self.fps = fps
        per_gop = bitrate / 8 * keyframe_interval
        frames = round(fps * keyframe_interval)
        self.delta_size = int(per_gop / (frames - 1 + keyframe_ratio))
        self.keyframe_size = int(self.delta_size * keyframe_ratio)
        self.frames_per_keyframe = frames
        self._rng = random.Random(seed)
        self.index = 0
        self._since_keyframe = 0
        self.force_keyframe = False

    def next_frame(self) -> tuple[bytes, bool]:
        keyframe = self.index == 0 or self.force_keyframe or (
            self._since_keyframe >= self.frames_per_keyframe
        )
        self.force_keyframe = False
        base = self.keyframe_size if keyframe else self.delta_size
        size = max(8, int(base * self._rng.uniform(0.8, 1.2)))
        header = bytes((0x10 if keyframe else 0x11,)) + _INDEX.pack(self.index)
        body = self._rng.randbytes(size - len(header))
        self.index += 1
        self._since_keyframe = 0 if keyframe else self._since_keyframe + 1
        return header + body, keyframe


@dataclass
class _Record:
    sent: dict[int, float] = field(default_factory=dict)  # frame index -> capture time
    keyframes: set[int] = field(default_factory=set)
    received: dict[int, float] = field(default_factory=dict)  # frame index -> delivered at
    jitter_delays: dict[int, float] = field(default_factory=dict)
    lost_events: list[FrameLost] = field(default_factory=list)
    keyframe_requests: int = 0
    undecodable: int = 0


class MediaEndpoint:
    """A :class:`DatagramEngine` wrapping a session, optionally sending frames of
    ``source`` on ``sender_ssrc`` until ``stop_at``. Answers keyframe requests."""

    def __init__(
        self,
        session: MediaSession,
        source: VideoLikeSource | None = None,
        sender_ssrc: int | None = None,
        stop_at: float = 10.0,
    ) -> None:
        self.session = session
        self.source = source
        self.sender_ssrc = sender_ssrc
        self.stop_at = stop_at
        self.record = _Record()
        self.events: list[object] = []
        self._next_frame: float | None = 0.0 if source is not None else None

    def receive_datagram(self, data: bytes, now: float) -> None:
        self.session.receive_datagram(data, now)
        self._drain(now)

    def datagrams_to_send(self, now: float) -> list[bytes]:
        return self.session.datagrams_to_send(now)

    def get_timer(self) -> float | None:
        timer = self.session.get_timer()
        if self._next_frame is not None and (timer is None or self._next_frame < timer):
            timer = self._next_frame
        return timer

    def handle_timer(self, now: float) -> None:
        if self._next_frame is not None and now >= self._next_frame:
            assert self.source is not None and self.sender_ssrc is not None
            frame, keyframe = self.source.next_frame()
            index = frame_index(frame)
            self.record.sent[index] = now
            if keyframe:
                self.record.keyframes.add(index)
            self.session.send_frame(self.sender_ssrc, frame, now)
            self._next_frame = now + 1 / self.source.fps
            if self._next_frame > self.stop_at:
                self._next_frame = None
        timer = self.session.get_timer()
        if timer is not None and now >= timer:
            self.session.handle_timer(now)
        self._drain(now)

    def _drain(self, now: float) -> None:
        while (event := self.session.next_event()) is not None:
            self.events.append(event)
            if isinstance(event, FrameReceived):
                index = frame_index(event.data)
                self.record.received[index] = now
                self.record.jitter_delays[index] = event.delay
                if not event.decodable:
                    self.record.undecodable += 1
            elif isinstance(event, FrameLost):
                self.record.lost_events.append(event)
            elif isinstance(event, KeyframeRequested):
                self.record.keyframe_requests += 1
                if self.source is not None:
                    self.source.force_keyframe = True

    def next_event(self) -> object | None:
        return None
