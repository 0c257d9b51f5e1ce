"""SDP parse + serialize of the corpus' largest Chromium offer, against aiortc.

Ours keeps every line (unknown ones included) and validates every attribute
that has a typed accessor; aiortc's parser drops what it does not know.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import Row, rate
from webrtc.sdp import SessionDescription

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "sdp" / "corpus"


def largest_chromium_offer() -> Path:
    return max(CORPUS.glob("chromium-offer-*.sdp"), key=lambda path: path.stat().st_size)


def rows() -> list[Row]:
    path = largest_chromium_offer()
    text = path.read_bytes().decode("utf-8")
    assert str(SessionDescription.parse(text)) == text

    def ours() -> float:
        return rate(lambda: str(SessionDescription.parse(text)))

    def baseline() -> float:
        try:
            from aiortc import sdp as aiortc_sdp
        except ImportError:
            return 0.0
        return rate(lambda: str(aiortc_sdp.SessionDescription.parse(text)))

    return [
        Row(
            name=f"sdp parse+str {path.name} ({len(text)} B)",
            unit="ops/s",
            ours=ours,
            baseline=baseline,
            baseline_name="aiortc.sdp",
            goal=1.0,
        )
    ]
