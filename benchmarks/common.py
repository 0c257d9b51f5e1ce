"""The benchmark row type and timing helpers shared by every ``bench_*.py``.

A row measures one figure for our code and the same figure for a baseline in
the same process and run, so machine noise hits both; the report gives the
ratio. Figures are medians of several repeats.

The timing helpers live here and nowhere else: :func:`rate` (one function),
:func:`paired_rates` and :func:`paired_row` (ours and the baseline in
alternating rounds), :func:`cached_pair` (two Row callables sharing one
measurement), :func:`median_figure`, :func:`async_median_figure`,
:func:`async_paired_figures` (figures measured whole: transfers, setups) and
:func:`median_seconds`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
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


Clock = Callable[[], float]
"""``time.perf_counter`` (wall clock) or ``time.process_time`` (this process's
CPU time: on a shared machine, wall time of a CPU-bound loop mostly measures
the neighbours; rows timed on it say "(CPU)" in their unit)."""

_MIN_BATCH_TIME = 0.002


def _batch_size(function: Callable[[], object], clock: Clock) -> int:
    """Calls per clock read, so that a batch lasts at least 2 ms.

    Reading the CPU clock is a system call (~0.6 us, as long as half an RTP
    parse); one read per call would add the same constant to both sides of a
    row and squeeze their ratio.
    """
    batch = 1
    while True:
        start = clock()
        for _ in range(batch):
            function()
        if clock() - start >= _MIN_BATCH_TIME:
            return batch
        batch *= 2


def _one_round(function: Callable[[], object], work: float, clock: Clock, batch: int,
               min_time: float) -> float:
    calls = 0
    start = clock()
    elapsed = 0.0
    while elapsed < min_time:
        for _ in range(batch):
            function()
        calls += batch
        elapsed = clock() - start
    return calls * work / elapsed


def rate(function: Callable[[], object], work: float = 1.0, *,
         clock: Clock = time.perf_counter, repeats: int = 5, min_time: float = 0.2) -> float:
    """Median rate of ``function`` in ``work`` units per second of ``clock``.

    Each repeat calls it in batches (the clock is read only every >= 2 ms)
    until ``min_time`` seconds have passed.
    """
    function()  # warm up caches and lazy imports
    batch = _batch_size(function, clock)
    return statistics.median(
        _one_round(function, work, clock, batch, min_time) for _ in range(repeats)
    )


def paired_rates(ours: Callable[[], object], baseline: Callable[[], object],
                 work_ours: float = 1.0, work_baseline: float = 1.0, *,
                 clock: Clock = time.perf_counter, rounds: int = 9,
                 min_time: float = 0.1) -> tuple[float, float]:
    """Median rates of ``ours`` and ``baseline``, measured in alternating rounds.

    The machine is shared and its load shifts within seconds: alternating
    short rounds (ours, baseline, ours, baseline...) exposes both sides to the
    same conditions, where measuring one after the other would not.
    """
    ours()
    baseline()
    ours_batch = _batch_size(ours, clock)
    baseline_batch = _batch_size(baseline, clock)
    ours_rates, baseline_rates = [], []
    for _ in range(rounds):
        ours_rates.append(_one_round(ours, work_ours, clock, ours_batch, min_time))
        baseline_rates.append(
            _one_round(baseline, work_baseline, clock, baseline_batch, min_time)
        )
    return statistics.median(ours_rates), statistics.median(baseline_rates)


def cached_pair(measure: Callable[[], tuple[float, float]]
                ) -> tuple[Callable[[], float], Callable[[], float]]:
    """Two Row callables (ours, baseline) sharing one run of ``measure``."""
    cache: list[tuple[float, float]] = []

    def pair() -> tuple[float, float]:
        if not cache:
            cache.append(measure())
        return cache[0]

    return (lambda: pair()[0]), (lambda: pair()[1])


def paired_row(name: str, unit: str, ours: Callable[[], object],
               baseline: Callable[[], object], baseline_name: str, *,
               work_ours: float = 1.0, work_baseline: float = 1.0,
               clock: Clock = time.perf_counter, rounds: int = 9, min_time: float = 0.1,
               goal: float | None = None) -> Row:
    """A row whose two figures come from one :func:`paired_rates` measurement."""
    ours_figure, baseline_figure = cached_pair(
        lambda: paired_rates(ours, baseline, work_ours, work_baseline, clock=clock,
                             rounds=rounds, min_time=min_time)
    )
    return Row(name=name, unit=unit, ours=ours_figure, baseline=baseline_figure,
               baseline_name=baseline_name, goal=goal)


def median_figure(function: Callable[[], float], repeats: int = 3,
                  warm_up: Callable[[], object] | None = None) -> float:
    """Median of ``repeats`` runs of ``function``, which measures a figure
    itself (a whole transfer, a connection setup...), after ``warm_up``."""
    if warm_up is not None:
        warm_up()
    return float(statistics.median(function() for _ in range(repeats)))


async def async_median_figure(measure: Callable[[], Awaitable[float]], repeats: int) -> float:
    """:func:`median_figure` for a coroutine function, all runs in the running loop."""
    return float(statistics.median([await measure() for _ in range(repeats)]))


async def async_paired_figures(ours: Callable[[], Awaitable[float]],
                               baseline: Callable[[], Awaitable[float]],
                               rounds: int) -> tuple[float, float]:
    """Medians of figures measured by ``ours`` and ``baseline`` (coroutine
    functions, e.g. one transfer each) in alternating rounds, as
    :func:`paired_rates` does for plain functions."""
    ours_figures, baseline_figures = [], []
    for _ in range(rounds):
        ours_figures.append(await ours())
        baseline_figures.append(await baseline())
    return float(statistics.median(ours_figures)), float(statistics.median(baseline_figures))


def median_seconds(function: Callable[[], object], repeats: int = 5,
                   clock: Clock = time.perf_counter) -> float:
    """Median time of one call of ``function``, in seconds of ``clock``."""
    times = []
    for _ in range(repeats):
        start = clock()
        function()
        times.append(clock() - start)
    return statistics.median(times)
