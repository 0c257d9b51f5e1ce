"""Run the benchmarks: ``python -m benchmarks [substring ...]``.

Every module ``benchmarks/bench_*.py`` exposes ``rows() -> list[Row]``. Rows
whose name contains one of the given substrings run (all of them by default),
each measuring our code and its baseline in this one process, and the table
gives both figures and the ratio (>1 means we are better).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks
from benchmarks.common import Row


def _all_rows() -> list[Row]:
    rows: list[Row] = []
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda i: i.name):
        if info.name.startswith("bench_"):
            module = importlib.import_module(f"benchmarks.{info.name}")
            rows.extend(module.rows())
    return rows


def main(argv: list[str]) -> int:
    rows = [r for r in _all_rows() if not argv or any(word in r.name for word in argv)]
    header = (
        f"{'benchmark':<48} {'ours':>14} {'baseline':>14} {'ratio':>7} {'goal':>6}"
        "  unit (baseline)"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ours = row.ours()
        base = row.baseline() if row.baseline is not None else None
        if base:
            ratio = ours / base if row.higher_is_better else base / ours
            ratio_text = f"{ratio:7.2f}"
        else:
            ratio_text = f"{'-':>7}"
        goal = f"{row.goal:6.2f}" if row.goal is not None else f"{'-':>6}"
        base_text = f"{base:14.4g}" if base is not None else f"{'-':>14}"
        print(f"{row.name:<48} {ours:14.4g} {base_text} {ratio_text} {goal}  "
              f"{row.unit} ({row.baseline_name})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
