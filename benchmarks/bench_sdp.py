"""SDP parse + serialize of Chromium offers from the corpus, against aiortc.

The main row is the corpus' largest Chromium offer (what the issue asks for);
the second is the small data-channel-only offer. Ours keeps every line
(unknown ones included) and validates every attribute that has a typed
accessor; aiortc's parser drops what it does not know.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import Row, rate
from webrtc.sdp import SessionDescription

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "sdp" / "corpus"


def largest_chromium_offer() -> Path:
    return max(CORPUS.glob("chromium-offer-*.sdp"), key=lambda path: path.stat().st_size)


def _row(path: Path) -> Row:
    text = path.read_bytes().decode("utf-8")
    if str(SessionDescription.parse(text)) != text:
        raise AssertionError(f"{path.name} does not round-trip")

    def ours() -> float:
        return rate(lambda: str(SessionDescription.parse(text)))

    def baseline() -> float:
        try:
            from aiortc import sdp as aiortc_sdp
        except ImportError:
            return 0.0
        return rate(lambda: str(aiortc_sdp.SessionDescription.parse(text)))

    return Row(
        name=f"sdp parse+str {path.name} ({len(text)} B)",
        unit="ops/s",
        ours=ours,
        baseline=baseline,
        baseline_name="aiortc.sdp",
        goal=1.0,
    )


def rows() -> list[Row]:
    return [_row(largest_chromium_offer()), _row(CORPUS / "chromium-offer-data.sdp")]
