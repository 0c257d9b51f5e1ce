"""Benchmarks: our code beside a baseline (usually aiortc) in the same process."""
