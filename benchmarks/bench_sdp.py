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

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Row
from webrtc.sdp import SessionDescription

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "sdp" / "corpus"
ROUNDS = 9
ROUND_TIME = 0.1


def largest_chromium_offer() -> Path:
    return max(CORPUS.glob("chromium-offer-*.sdp"), key=lambda path: path.stat().st_size)


def _one_round(function: Callable[[], object]) -> float:
    calls = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < ROUND_TIME:
        function()
        calls += 1
        elapsed = time.perf_counter() - start
    return calls / elapsed


def interleaved_rates(ours: Callable[[], object],
                      baseline: Callable[[], object]) -> tuple[float, float]:
    """Median calls/s of each function over alternating rounds."""
    ours()
    baseline()
    ours_rates, baseline_rates = [], []
    for _ in range(ROUNDS):
        ours_rates.append(_one_round(ours))
        baseline_rates.append(_one_round(baseline))
    return statistics.median(ours_rates), statistics.median(baseline_rates)


def _row(path: Path) -> Row:
    text = path.read_bytes().decode("utf-8")
    if str(SessionDescription.parse(text)) != text:
        raise AssertionError(f"{path.name} does not round-trip")
    results: dict[str, float] = {}

    def ours_once() -> str:
        return str(SessionDescription.parse(text))

    def measure() -> None:
        try:
            from aiortc import sdp as aiortc_sdp
        except ImportError:
            results["ours"] = interleaved_rates(ours_once, ours_once)[0]
            results["baseline"] = 0.0
            return

        def baseline_once() -> str:
            return str(aiortc_sdp.SessionDescription.parse(text))

        results["ours"], results["baseline"] = interleaved_rates(ours_once, baseline_once)

    def ours() -> float:
        measure()
        return results["ours"]

    def baseline() -> float:
        if "baseline" not in results:
            measure()
        return results["baseline"]

    return Row(
        name=f"sdp parse+str {path.name} ({len(text)} B)",
        unit="ops/s",
        ours=ours,
        baseline=baseline,
        baseline_name="aiortc.sdp (interleaved rounds)",
        goal=1.0,
    )


def rows() -> list[Row]:
    return [_row(largest_chromium_offer()), _row(CORPUS / "chromium-offer-data.sdp")]
