"""Helpers of the tests comparing MediaSession.receive_datagrams with one
receive_datagram per datagram."""

from __future__ import annotations

from webrtc.rtp import MediaSession


def split_into_batches(stream: list[bytes], sizes: list[int]) -> list[list[bytes]]:
    """``stream`` cut into consecutive batches of ``sizes`` (repeated as needed)."""
    batches = []
    pos = 0
    while pos < len(stream):
        for size in sizes:
            if pos >= len(stream):
                break
            batches.append(stream[pos : pos + size])
            pos += size
    return batches


def drain(session: MediaSession) -> list[object]:
    events = []
    while (event := session.next_event()) is not None:
        events.append(event)
    return events
