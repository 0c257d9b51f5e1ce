"""A frame-assembling jitter buffer, in sequence-number (decode) order.

Packets go in with their extended sequence number. A frame is the run of
packets sharing one RTP timestamp and ending with the marker bit (RFC 3550
§5.1; RFC 7741 §4.1, RFC 6184 §5.1) or, for audio, a single packet. Frames
come out in order once complete. When a sequence number is declared lost
(its retransmissions given up), the frame it belongs to can no longer be
completed: the buffer skips to the next packet that provably starts a frame
and reports the loss, so the caller can ask for a keyframe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from webrtc.rtp.codecs import Depacketizer
from webrtc.rtp.errors import RtpParseError

__all__ = ["AssembledFrame", "JitterBuffer", "LostFrames"]


class AssembledFrame(NamedTuple):
    """A complete frame. ``noticed`` is when the buffer first knew of any of its
    packets (arrival, or detection of a gap it fell in). Immutable; a named
    tuple because one is built per frame on the receive path."""

    timestamp: int
    first_sequence: int
    last_sequence: int
    data: bytes
    keyframe: bool
    noticed: float


@dataclass(frozen=True)
class LostFrames:
    """Frames that can no longer be completed (one report per broken run)."""

    timestamps: tuple[int, ...]
    first_sequence: int
    last_sequence: int
    keyframe_lost: bool


class _Slot(NamedTuple):
    timestamp: int
    marker: bool
    payload: bytes
    arrival: float


_new_slot = _new_frame = tuple.__new__  # NamedTuple construction without argument parsing


class JitterBuffer:
    """``single_packet_frames`` is for audio, where the marker bit means the start
    of a talkspurt rather than the end of a frame. ``capacity`` bounds the
    number of buffered packets; beyond it the oldest incomplete frame is dropped."""

    def __init__(
        self, depacketizer: Depacketizer, single_packet_frames: bool = False, capacity: int = 4096
    ) -> None:
        self.depacketizer = depacketizer
        self.single_packet_frames = single_packet_frames
        self.capacity = capacity
        self._slots: dict[int, _Slot] = {}
        self._lost: set[int] = set()
        self._noticed: dict[int, float] = {}
        self._next: int | None = None  # first sequence number of the next frame
        self._scanned = -1
        self._output: list[AssembledFrame | LostFrames] = []
        self.frames_assembled = 0
        self.frames_lost = 0
        self.packets_late = 0

    def insert(
        self, sequence: int, timestamp: int, marker: bool, payload: bytes, now: float
    ) -> None:
        """Add a packet (``sequence`` is the extended, unwrapped number)."""
        slots = self._slots
        start = self._next
        # Fast path, the common case of a stream arriving in order: the packet
        # continues the head frame's verified run, or begins the frame after the
        # one just emitted (whose start is then known: it follows that frame's
        # end). The general path below reaches the same state, only slower.
        if (
            not self.single_packet_frames
            and sequence not in slots
            and not self._lost
            and len(slots) < self.capacity
            and start is not None
        ):
            scanned = self._scanned
            if sequence == scanned + 1 and scanned >= start:
                if timestamp == slots[start].timestamp:
                    slots[sequence] = _new_slot(_Slot, (timestamp, marker, payload, now))
                    if marker:
                        self._emit(start, sequence)
                        if slots:
                            self._advance()
                    elif sequence + 1 in slots:
                        self._advance()
                    else:
                        self._scanned = sequence
                    return
            elif sequence == start and not slots and (self.frames_assembled or self.frames_lost):
                slots[sequence] = _new_slot(_Slot, (timestamp, marker, payload, now))
                if marker:
                    self._emit(start, sequence)
                else:
                    self._scanned = sequence
                return
        if start is None:
            self._next = sequence
        elif sequence < start:
            if self.frames_assembled or self.frames_lost:
                self.packets_late += 1
                return
            # nothing emitted yet: the stream's first packets may arrive out of order
            self._next = sequence
            self._scanned = -1
        if sequence in slots:
            return
        if self._lost:
            self._lost.discard(sequence)
        slots[sequence] = _new_slot(_Slot, (timestamp, marker, payload, now))
        if len(slots) > self.capacity:
            self._drop_oldest()
            return
        scanned = self._scanned
        start = self._next
        assert start is not None  # set above
        if (
            sequence == scanned + 1
            and scanned >= start
            and not self.single_packet_frames
            and timestamp == slots[start].timestamp
        ):
            # the next packet of the head frame's verified run
            if not marker:
                if sequence + 1 not in slots:
                    self._scanned = sequence
                    return
            else:
                self._emit(start, sequence)
        self._advance()

    def insert_run(self, first: int, timestamps: list[int], markers: list[bool],
                   payloads: list[bytes], now: float) -> None:
        """:meth:`insert` for packets ``first``, ``first + 1``... (extended
        numbers, one entry each in the three lists) that arrived together at
        ``now``; the same frames come out, and the same state remains.

        When the buffer is empty and the run begins right after the last frame
        emitted (a stream arriving in order), every frame that ends inside the
        run with a marker is assembled straight from the lists; the rest goes
        through :meth:`insert` one packet at a time.
        """
        count = len(payloads)
        pos = 0
        if (
            self._next == first
            and not self._slots
            and not self._lost
            and not self._noticed
            and not self.single_packet_frames
            and (self.frames_assembled or self.frames_lost)
            and count < self.capacity
        ):
            while pos < count:
                try:
                    end = markers.index(True, pos)
                except ValueError:
                    break  # the head frame goes on after the run
                timestamp = timestamps[pos]
                if timestamps[pos : end + 1].count(timestamp) != end + 1 - pos:
                    break  # a frame ended without a marker: left to insert()
                self._assemble(first + pos, first + end, timestamp, payloads[pos : end + 1], now)
                pos = end + 1
        insert = self.insert
        for index in range(pos, count):
            insert(first + index, timestamps[index], markers[index], payloads[index], now)

    def notice_missing(self, sequence: int, now: float) -> None:
        """A gap revealed that ``sequence`` should exist (for delay accounting)."""
        self._noticed.setdefault(sequence, now)

    def mark_lost(self, sequence: int) -> None:
        """``sequence`` will never arrive."""
        if self._next is not None and sequence >= self._next and sequence not in self._slots:
            self._lost.add(sequence)
            self._advance()

    def waiting_for_start(self) -> bool:
        """Nothing emitted yet and the first buffered packet does not provably
        start a frame (its predecessors may be reordered, or lost unseen)."""
        if self.frames_assembled or self.frames_lost or self._next is None:
            return False
        return self._next in self._slots and not self._frame_start_known(self._next)

    def skip_head(self) -> None:
        """Give up on the packets before the first provable frame start."""
        if self.waiting_for_start() and self._next is not None:
            if self._skip_broken(self._next, None):
                return
            # no frame start buffered at all: drop everything, start over
            start, end = self._next, max(self._slots)
            timestamps = tuple(dict.fromkeys(s.timestamp for _, s in sorted(self._slots.items())))
            self._slots.clear()
            self._lost.clear()
            self._noticed.clear()
            self._next = None
            self.frames_lost += max(1, len(timestamps))
            self._output.append(LostFrames(timestamps, start, end, False))

    def pop(self) -> list[AssembledFrame | LostFrames]:
        out, self._output = self._output, []
        return out

    @property
    def buffered_packets(self) -> int:
        return len(self._slots)

    # -- assembly ----------------------------------------------------------
    def _advance(self) -> None:
        slots = self._slots
        while self._next is not None:
            start = self._next
            first = slots.get(start)
            if first is None:
                if start in self._lost:
                    if not self._skip_broken(start, None):
                        return
                    continue
                return
            if not self.frames_assembled and not self.frames_lost and not (
                self._frame_start_known(start)
            ):
                return  # the stream's first packets may still come: see skip_head()
            # packets start.._scanned are known present, same frame, no marker
            end = self._scanned + 1 if self._scanned >= start else start
            if not self.single_packet_frames:
                while True:
                    slot = slots.get(end)
                    if slot is None:
                        if end in self._lost:
                            if not self._skip_broken(start, first.timestamp):
                                return
                            break
                        self._scanned = end - 1
                        return  # still waiting for it
                    if slot.timestamp != first.timestamp:
                        end -= 1  # the frame ended without a marker
                        self._emit(start, end)
                        break
                    if slot.marker:
                        self._emit(start, end)
                        break
                    end += 1
            else:
                self._emit(start, start)

    def _frame_start_known(self, sequence: int) -> bool:
        slot = self._slots[sequence]
        if self.single_packet_frames:
            return True
        previous = self._slots.get(sequence - 1)
        if previous is not None:
            return previous.marker or previous.timestamp != slot.timestamp
        return self.depacketizer.is_frame_start(slot.payload)

    def _skip_broken(self, start: int, timestamp: int | None) -> bool:
        """Drop the frame(s) from ``start`` up to the next provable frame start.

        Returns False when that start is not known yet (wait for more packets).
        """
        slots = self._slots
        candidates = sorted(s for s in slots if s > start)
        resume = None
        for sequence in candidates:
            slot = slots[sequence]
            if timestamp is not None and slot.timestamp == timestamp and slot.marker:
                resume = sequence + 1  # the broken frame ends here
                break
            if (timestamp is None or slot.timestamp != timestamp) and self._frame_start_known(
                sequence
            ):
                resume = sequence
                break
        if resume is None:
            return False
        timestamps: list[int] = []
        keyframe_lost = False
        if start in slots and not self.single_packet_frames:
            first = slots[start]
            timestamps.append(first.timestamp)
        for sequence in range(start, resume):
            dropped = slots.get(sequence)
            slots.pop(sequence, None)
            self._lost.discard(sequence)
            self._noticed.pop(sequence, None)
            if dropped is not None:
                if dropped.timestamp not in timestamps:
                    timestamps.append(dropped.timestamp)
                if self.depacketizer.is_frame_start(dropped.payload):
                    with contextlib.suppress(RtpParseError):
                        keyframe_lost |= self.depacketizer.is_keyframe([dropped.payload])
        self.frames_lost += max(1, len(timestamps))
        self._output.append(LostFrames(tuple(timestamps), start, resume - 1, keyframe_lost))
        self._next = resume
        return True

    def _emit(self, start: int, end: int) -> None:
        pop = self._slots.pop
        taken = [pop(s) for s in range(start, end + 1)]
        timestamps, _, payloads, arrivals = zip(*taken, strict=True)
        noticed = min(arrivals)
        noticed_by_sequence = self._noticed
        if noticed_by_sequence:  # gaps were seen: a missing packet may have been noticed earlier
            for sequence in range(start, end + 1):
                when = noticed_by_sequence.pop(sequence, None)
                if when is not None and when < noticed:
                    noticed = when
        self._assemble(start, end, timestamps[0], payloads, noticed)

    def _assemble(self, start: int, end: int, timestamp: int, payloads: Sequence[bytes],
                  noticed: float) -> None:
        """Output the frame of packets ``start``..``end`` (no longer buffered)."""
        self._next = end + 1
        depacketizer = self.depacketizer
        try:
            data = depacketizer.depacketize(payloads)
            keyframe = depacketizer.is_keyframe(payloads)
        except RtpParseError:
            self.frames_lost += 1
            self._output.append(LostFrames((timestamp,), start, end, False))
            return
        self.frames_assembled += 1
        self._output.append(
            _new_frame(AssembledFrame, (timestamp, start, end, data, keyframe, noticed))
        )

    def _drop_oldest(self) -> None:
        assert self._next is not None
        oldest = min(self._slots)
        self._lost.update(range(self._next, oldest))
        if oldest == self._next:
            self._lost.add(oldest)
            del self._slots[oldest]
        self._advance()
