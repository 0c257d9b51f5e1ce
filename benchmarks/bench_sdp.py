"""SDP parse + serialize of Chromium offers from the corpus, against aiortc.

The main row is the corpus' largest Chromium offer (what the issue asks for);
the second is the small data-channel-only offer. Ours keeps every line
(unknown ones included) and validates every attribute that has a typed
accessor; aiortc's parser drops what it does not know.

The machine is shared and its load shifts within seconds, so the two sides
are timed in alternating rounds (ours, aiortc, ours, aiortc...) and each
figure is the median of its rounds: a load change hits both alike.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.common import Row, paired_row, rate
from webrtc.sdp import SessionDescription

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "sdp" / "corpus"
ROUNDS = 9
ROUND_TIME = 0.1


def largest_chromium_offer() -> Path:
    return max(CORPUS.glob("chromium-offer-*.sdp"), key=lambda path: path.stat().st_size)


def _row(path: Path) -> Row:
    text = path.read_bytes().decode("utf-8")
    if str(SessionDescription.parse(text)) != text:
        raise AssertionError(f"{path.name} does not round-trip")

    def ours_once() -> str:
        return str(SessionDescription.parse(text))

    name = f"sdp parse+str {path.name} ({len(text)} B)"
    try:
        from aiortc import sdp as aiortc_sdp
    except ImportError:
        return Row(name=name, unit="ops/s",
                   ours=lambda: rate(ours_once, repeats=ROUNDS, min_time=ROUND_TIME),
                   baseline=lambda: 0.0, baseline_name="aiortc.sdp (interleaved rounds)",
                   goal=1.0)

    def baseline_once() -> str:
        return str(aiortc_sdp.SessionDescription.parse(text))

    return paired_row(name, "ops/s", ours_once, baseline_once,
                      "aiortc.sdp (interleaved rounds)", clock=time.perf_counter,
                      rounds=ROUNDS, min_time=ROUND_TIME, goal=1.0)


def rows() -> list[Row]:
    return [_row(largest_chromium_offer()), _row(CORPUS / "chromium-offer-data.sdp")]
