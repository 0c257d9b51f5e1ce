"""``python -m webrtc demo``: two peer connections in one process, moving data.

Both peers live in this process and talk over loopback UDP (127.0.0.1 only,
so it needs no network): the offerer opens a data channel, sends ``--size``
bytes in ``--message-size`` messages with backpressure (it pauses when
``bufferedAmount`` passes a high-water mark and resumes on
``bufferedamountlow``), shows a progress bar, and prints a summary: setup
time until the channel is open, throughput, round-trip time of small
messages, and the bytes that went over the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any, TextIO

from webrtc.peerconnection import RTCConfiguration, RTCDataChannel, RTCPeerConnection

__all__ = ["main", "run_demo"]

MIB = 1 << 20


def _parse_size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    value = text.strip().lower().removesuffix("ib").removesuffix("b")
    if value and value[-1] in units:
        return int(float(value[:-1]) * units[value[-1]])
    return int(value)


class ProgressBar:
    """A one-line progress bar, redrawn at most ten times a second."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.start = time.perf_counter()
        self.last_draw = 0.0

    def update(self, done: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last_draw < 0.1):
            return
        self.last_draw = now
        fraction = done / self.total if self.total else 1.0
        width = 30
        filled = int(width * fraction)
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed / MIB
        self.stream.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {fraction:6.1%} "
                          f"{done / MIB:8.1f} MiB  {rate:7.1f} MiB/s")
        self.stream.flush()

    def finish(self, done: int) -> None:
        if self.enabled:
            self.update(done, force=True)
            self.stream.write("\n")
            self.stream.flush()


async def _connect(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    """Offer/answer through in-process "signaling" (descriptions carry candidates)."""
    await offerer.setLocalDescription(await offerer.createOffer())
    assert offerer.localDescription is not None
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    assert answerer.localDescription is not None
    await offerer.setRemoteDescription(answerer.localDescription)


async def _transport_stats(pc: RTCPeerConnection) -> Any:
    """The W3C ``transport`` stats of the peer connection's one (BUNDLE) transport."""
    return (await pc.getStats()).of_type("transport")[0]


async def _wire_bytes(pc: RTCPeerConnection) -> tuple[int, int]:
    """Bytes and datagrams sent so far, ICE checks included (RTCTransportStats)."""
    stats = await _transport_stats(pc)
    return int(stats["bytesSent"]), int(stats["packetsSent"])


async def run_demo(size: int = 64 * MIB, message_size: int = 64 * 1024, pings: int = 50,
                   progress: bool = True, out: TextIO = sys.stdout) -> dict[str, Any]:
    """Run the demo; returns the figures it printed."""
    config = RTCConfiguration(addresses=["127.0.0.1"])
    started = time.perf_counter()
    offerer, answerer = RTCPeerConnection(config), RTCPeerConnection(config)
    channel = offerer.createDataChannel("demo")
    loop = asyncio.get_running_loop()
    opened = loop.create_future()
    remote_open = loop.create_future()
    received = 0
    done = loop.create_future()
    pongs: asyncio.Queue[float] = asyncio.Queue()

    @answerer.on("datachannel")
    def on_datachannel(remote: RTCDataChannel) -> None:
        if not remote_open.done():
            remote_open.set_result(time.perf_counter())

        @remote.on("message")
        def on_message(message: Any) -> None:
            nonlocal received
            if isinstance(message, str):
                remote.send(message)  # ping -> pong
                return
            received += len(message)
            if received >= size and not done.done():
                done.set_result(time.perf_counter())

    @channel.on("message")
    def on_pong(message: Any) -> None:
        pongs.put_nowait(time.perf_counter())

    @channel.on("open")
    def on_open() -> None:
        if not opened.done():
            opened.set_result(time.perf_counter())

    await _connect(offerer, answerer)
    open_local = await asyncio.wait_for(opened, 30)
    open_remote = await asyncio.wait_for(remote_open, 30)
    setup = max(open_local, open_remote) - started

    cipher = (await _transport_stats(offerer))["dtlsCipher"] or "?"
    print(f"Two peer connections over loopback UDP: channel open in {setup * 1000:.1f} ms "
          f"(ICE, DTLS {cipher}, SCTP)", file=out)

    # Round-trip time of small messages, before the bulk transfer fills the queues.
    rtts = []
    for index in range(pings):
        sent_at = time.perf_counter()
        channel.send(f"ping {index}")
        rtts.append(await asyncio.wait_for(pongs.get(), 10) - sent_at)
    rtt = statistics.median(rtts)

    # Bulk transfer with backpressure.
    print(f"Sending {size / MIB:.1f} MiB in {message_size // 1024} KiB messages...", file=out)
    high_water = 4 * MIB
    channel.bufferedAmountLowThreshold = 1 * MIB
    can_send = asyncio.Event()
    can_send.set()
    channel.on("bufferedamountlow", can_send.set)
    bar = ProgressBar(size, out, progress)
    wire_before, packets_before = await _wire_bytes(offerer)
    back_before, back_packets_before = await _wire_bytes(answerer)
    payload = bytes(message_size)
    transfer_start = time.perf_counter()
    sent = 0
    while sent < size:
        if channel.bufferedAmount > high_water:
            can_send.clear()
            await can_send.wait()
            bar.update(received)
            continue
        chunk = payload if size - sent >= message_size else payload[: size - sent]
        channel.send(chunk)
        sent += len(chunk)
    while not done.done():
        bar.update(received)
        await asyncio.sleep(0.05)
    transfer_end = done.result()
    bar.finish(received)
    wire_after, packets_after = await _wire_bytes(offerer)
    back_after, back_packets_after = await _wire_bytes(answerer)
    seconds = transfer_end - transfer_start
    throughput = size / seconds / 1e6
    wire = wire_after - wire_before
    packets = packets_after - packets_before
    back = back_after - back_before
    back_packets = back_packets_after - back_packets_before
    await offerer.close()
    await answerer.close()

    summary = {
        "setup_seconds": setup, "throughput_mb_s": throughput, "rtt_seconds": rtt,
        "bytes": size, "wire_bytes": wire, "wire_packets": packets, "seconds": seconds,
        "return_bytes": back, "return_packets": back_packets,
    }
    print("Summary:", file=out)
    print(f"  setup to channel open   {setup * 1000:10.1f} ms", file=out)
    print(f"  data                    {size / MIB:10.1f} MiB in {seconds:.2f} s", file=out)
    print(f"  throughput              {throughput:10.1f} MB/s ({throughput * 8:.0f} Mbit/s)",
          file=out)
    print(f"  round-trip time         {rtt * 1000:10.3f} ms (median of {pings} pings)",
          file=out)
    print(f"  bytes on the wire       {wire:10d} in {packets} datagrams "
          f"({(wire - size) / size:+.1%} overhead)", file=out)
    print(f"  acknowledgements back   {back:10d} in {back_packets} datagrams", file=out)
    return summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m webrtc demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=_parse_size, default=64 * MIB,
                        help="bytes to send, e.g. 64M, 1G, 500k (default 64 MiB)")
    parser.add_argument("--message-size", type=_parse_size, default=64 * 1024,
                        help="bytes per message (default 64 KiB)")
    parser.add_argument("--pings", type=int, default=50,
                        help="small messages timed for the round-trip time (default 50)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.size <= 0 or args.message_size <= 0 or args.message_size > 262144:
        parser.error("--size must be positive and --message-size in 1..262144")
    asyncio.run(run_demo(args.size, args.message_size, max(1, args.pings),
                         progress=not args.no_progress and sys.stdout.isatty()))
    return 0
