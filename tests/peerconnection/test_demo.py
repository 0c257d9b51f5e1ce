"""``python -m webrtc demo`` runs with no network and prints its summary."""

from __future__ import annotations

import asyncio
import io

from webrtc import demo


def test_demo_moves_the_data_and_reports() -> None:
    out = io.StringIO()
    summary = asyncio.run(demo.run_demo(size=3 * demo.MIB + 123, pings=5, progress=True,
                                        out=out))
    text = out.getvalue()
    assert summary["bytes"] == 3 * demo.MIB + 123
    # Every byte crossed the wire, plus headers (DTLS + SCTP), nothing absurd.
    assert summary["bytes"] < summary["wire_bytes"] < summary["bytes"] * 1.2
    assert summary["throughput_mb_s"] > 0 and summary["rtt_seconds"] > 0
    for label in ("setup to channel open", "throughput", "round-trip time",
                  "bytes on the wire", "100.0%"):
        assert label in text


def test_demo_command_line() -> None:
    assert demo._parse_size("64M") == 64 << 20
    assert demo._parse_size("1.5k") == 1536
    assert demo._parse_size("1000") == 1000
    assert demo.main(["--size", "200k", "--pings", "2", "--no-progress"]) == 0
