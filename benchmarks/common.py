"""The benchmark row type and timing helpers shared by every ``bench_*.py``.

A row measures one figure for our code and the same figure for a baseline in
the same process and run, so machine noise hits both; the report gives the
ratio. Figures are medians of several repeats.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    """One line of the report.

    ``ours`` and ``baseline`` each return the measured figure (in ``unit``).
    ``higher_is_better`` is True for rates (ops/s, MB/s) and False for times.
    ``goal`` is the ratio the issue asks for (ours/baseline for rates,
    baseline/ours for times), shown for comparison, never asserted.
    """

    name: str
    unit: str
    ours: Callable[[], float]
    baseline: Callable[[], float] | None
    baseline_name: str
    higher_is_better: bool = True
    goal: float | None = None


def rate(function: Callable[[], object], work: float = 1.0, repeats: int = 5,
         min_time: float = 0.2) -> float:
    """Median rate of ``function`` in ``work`` units per second.

    Each repeat calls it as many times as fit in ``min_time`` seconds.
    """
    function()  # warm up caches and lazy imports
    rates = []
    for _ in range(repeats):
        calls = 0
        start = time.perf_counter()
        elapsed = 0.0
        while elapsed < min_time:
            function()
            calls += 1
            elapsed = time.perf_counter() - start
        rates.append(calls * work / elapsed)
    return statistics.median(rates)


def median_seconds(function: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time of one call of ``function``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
