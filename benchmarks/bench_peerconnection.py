"""Peer connections with data channels, ours beside aiortc in the same run.

Both peers of a pair live in this process and talk over loopback UDP
(127.0.0.1 only). The same measuring code drives either library through the
aiortc-compatible API:

- throughput: 64 KiB messages with backpressure (send while
  ``bufferedAmount`` is under 4 MiB, resume on ``bufferedamountlow`` at
  1 MiB), MB/s from the first send to the last byte received; median of 3;
- setup: from ``RTCPeerConnection()`` to the channel open on both sides
  (offer/answer exchanged in-process), median of 20;
- round-trip time: a 16-byte string echoed by the other peer, median of 200;
- small messages: 20,000 messages of 100 bytes with the same backpressure,
  messages per second until the last one arrived.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import Row, async_median_figure

MIB = 1 << 20
MESSAGE = 64 * 1024
THROUGHPUT_BYTES = 24 * MIB
THROUGHPUT_REPEATS = 3
SETUP_REPEATS = 20
PINGS = 200
SMALL_MESSAGES = 20000


def _ours() -> tuple[Any, Callable[[], Any]]:
    from webrtc.peerconnection import RTCConfiguration, RTCPeerConnection

    return RTCPeerConnection, lambda: RTCConfiguration(addresses=["127.0.0.1"])


def _aiortc() -> tuple[Any, Callable[[], Any]]:
    import aioice.ice
    import aiortc

    # aioice leaves loopback out of its candidates: keep it on 127.0.0.1.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    return aiortc.RTCPeerConnection, lambda: None


async def _open_pair(library: Callable[[], tuple[Any, Callable[[], Any]]]
                     ) -> tuple[Any, Any, Any, Any, float]:
    """Two connected peers; returns (pc1, pc2, channel1, channel2, setup seconds)."""
    peer_class, config = library()
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    pc1 = peer_class(config()) if config() is not None else peer_class()
    pc2 = peer_class(config()) if config() is not None else peer_class()
    channel = pc1.createDataChannel("bench")
    local_open: asyncio.Future[float] = loop.create_future()
    remote: asyncio.Future[tuple[Any, float]] = loop.create_future()

    @channel.on("open")
    def on_open() -> None:
        if not local_open.done():
            local_open.set_result(time.perf_counter())

    @pc2.on("datachannel")
    def on_datachannel(other: Any) -> None:
        if not remote.done():
            remote.set_result((other, time.perf_counter()))

    await pc1.setLocalDescription(await pc1.createOffer())
    await pc2.setRemoteDescription(pc1.localDescription)
    await pc2.setLocalDescription(await pc2.createAnswer())
    await pc1.setRemoteDescription(pc2.localDescription)
    opened_local = await asyncio.wait_for(local_open, 30)
    other, opened_remote = await asyncio.wait_for(remote, 30)
    return pc1, pc2, channel, other, max(opened_local, opened_remote) - start


async def _setup_time(library: Callable[[], tuple[Any, Callable[[], Any]]]) -> float:
    pc1, pc2, _, _, seconds = await _open_pair(library)
    await pc1.close()
    await pc2.close()
    return seconds


async def _throughput(library: Callable[[], tuple[Any, Callable[[], Any]]]) -> float:
    pc1, pc2, channel, other, _ = await _open_pair(library)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    received = 0

    @other.on("message")
    def on_message(message: Any) -> None:
        nonlocal received
        received += len(message)
        if received >= THROUGHPUT_BYTES and not done.done():
            done.set_result(time.perf_counter())

    channel.bufferedAmountLowThreshold = 1 * MIB
    can_send = asyncio.Event()
    channel.on("bufferedamountlow", can_send.set)
    payload = bytes(MESSAGE)
    start = time.perf_counter()
    sent = 0
    while sent < THROUGHPUT_BYTES:
        if channel.bufferedAmount > 4 * MIB:
            can_send.clear()
            await can_send.wait()
            continue
        channel.send(payload)
        sent += MESSAGE
    end = await asyncio.wait_for(done, 120)
    await pc1.close()
    await pc2.close()
    return THROUGHPUT_BYTES / (end - start) / 1e6


async def _round_trip(library: Callable[[], tuple[Any, Callable[[], Any]]]) -> float:
    pc1, pc2, channel, other, _ = await _open_pair(library)
    pongs: asyncio.Queue[float] = asyncio.Queue()
    other.on("message", lambda message: other.send(message))
    channel.on("message", lambda message: pongs.put_nowait(time.perf_counter()))
    times = []
    for index in range(PINGS):
        start = time.perf_counter()
        channel.send(f"ping {index:11d}")
        times.append(await asyncio.wait_for(pongs.get(), 10) - start)
    await pc1.close()
    await pc2.close()
    return statistics.median(times) * 1e6


async def _small_messages(library: Callable[[], tuple[Any, Callable[[], Any]]]) -> float:
    pc1, pc2, channel, other, _ = await _open_pair(library)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    received = 0

    @other.on("message")
    def on_message(message: Any) -> None:
        nonlocal received
        received += 1
        if received == SMALL_MESSAGES and not done.done():
            done.set_result(time.perf_counter())

    channel.bufferedAmountLowThreshold = 1 * MIB
    can_send = asyncio.Event()
    channel.on("bufferedamountlow", can_send.set)
    payload = bytes(100)
    start = time.perf_counter()
    for index in range(SMALL_MESSAGES):
        if channel.bufferedAmount > 4 * MIB:
            can_send.clear()
            await can_send.wait()
        channel.send(payload)
        if index % 1000 == 999:
            await asyncio.sleep(0)  # let the receiving peer run, as an application would
    end = await asyncio.wait_for(done, 120)
    await pc1.close()
    await pc2.close()
    return SMALL_MESSAGES / (end - start)


def _median(measure: Callable[[Callable[[], tuple[Any, Callable[[], Any]]]], Any],
            library: Callable[[], tuple[Any, Callable[[], Any]]], repeats: int,
            scale: float = 1.0) -> Callable[[], float]:
    def run() -> float:
        return asyncio.run(async_median_figure(lambda: measure(library), repeats)) * scale
    return run


def rows() -> list[Row]:
    return [
        Row("peerconnection: 64 KiB messages, backpressure", "MB/s",
            _median(_throughput, _ours, THROUGHPUT_REPEATS),
            _median(_throughput, _aiortc, THROUGHPUT_REPEATS), "aiortc", goal=5.0),
        Row("peerconnection: setup to channel open (x20)", "ms",
            _median(_setup_time, _ours, SETUP_REPEATS, 1000.0),
            _median(_setup_time, _aiortc, SETUP_REPEATS, 1000.0), "aiortc",
            higher_is_better=False, goal=2.0),
        Row("peerconnection: 100-byte messages", "msg/s",
            _median(_small_messages, _ours, 3), _median(_small_messages, _aiortc, 1), "aiortc"),
        Row("peerconnection: small message round trip", "us",
            _median(_round_trip, _ours, 1), _median(_round_trip, _aiortc, 1), "aiortc",
            higher_is_better=False),
    ]
