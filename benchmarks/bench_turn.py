"""TURN: relayed datagram throughput through one local coturn, ours against aioice.

Both clients allocate on the same coturn (UDP to the server, long-term
credentials) and relay 1,200-byte datagrams to and from a plain UDP socket on
127.0.0.1 once their channel is bound (ChannelData both ways). The sender
goes in windows of 64 datagrams and waits for the window to arrive (or 2 ms
of silence),
so the figure is delivered MB/s, not what a full socket buffer dropped.
aioice is the TURN client aiortc uses. When ``turnserver`` is not installed
the rows are left out (with the reason on stderr).

The data-channel throughput row of issue 9 (two peer connections relayed
through coturn, against aiortc) needs the RTCPeerConnection facade.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks.common import Row
from webrtc.ice.aio_turn import AioTurnClient
from webrtc.testing.turn_coturn import Coturn, start_coturn

_SIZE = 1200
_WINDOW = 64
_COUNT = 3000  # datagrams per repeat
_REPEATS = 7
_PAYLOAD = bytes(_SIZE)

_server: Coturn | None = None


def _coturn() -> Coturn:
    global _server
    if _server is None:
        directory = tempfile.mkdtemp(prefix="bench-coturn-")
        _server = start_coturn(Path(directory))

        def stop() -> None:
            if _server is not None:
                _server.stop()
            shutil.rmtree(directory, ignore_errors=True)

        atexit.register(stop)
    return _server


class _Peer:
    """A UDP socket drained in a loop, counting what arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.setblocking(False)
        self.address: tuple[str, int] = self.socket.getsockname()
        self.received = 0
        self.source: tuple[str, int] | None = None
        self.arrived = asyncio.Event()
        self.loop = loop
        loop.add_reader(self.socket.fileno(), self._readable)

    def _readable(self) -> None:
        while True:
            try:
                _, source = self.socket.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                break
            self.received += 1
            self.source = source
        self.arrived.set()

    def close(self) -> None:
        self.loop.remove_reader(self.socket.fileno())
        self.socket.close()


class _Counter:
    def __init__(self) -> None:
        self.received = 0
        self.arrived = asyncio.Event()

    def hit(self) -> None:
        self.received += 1
        self.arrived.set()


async def _windowed(send: Callable[[], None], counter: _Peer | _Counter) -> float:
    """Deliver _COUNT datagrams in windows; return delivered MB/s."""
    start_count = counter.received
    start = time.perf_counter()
    sent = 0
    while sent < _COUNT:
        for _ in range(_WINDOW):
            send()
        sent += _WINDOW
        # Wait for the window to arrive, or for 2 ms of silence (losses).
        while counter.received - start_count < sent:
            counter.arrived.clear()
            try:
                await asyncio.wait_for(counter.arrived.wait(), 0.002)
            except asyncio.TimeoutError:
                break
    elapsed = time.perf_counter() - start
    return (counter.received - start_count) * _SIZE / elapsed / 1e6


_Setup = Callable[
    [Coturn, _Peer, _Counter], Awaitable[tuple[Callable[[], None], Callable[[], Awaitable[None]]]]
]


async def _ours(
    server: Coturn, peer: _Peer, counter: _Counter
) -> tuple[Callable[[], None], Callable[[], Awaitable[None]]]:
    client = await AioTurnClient.create(
        server.url("udp"), server.username, server.password, on_data=lambda d, p: counter.hit()
    )
    await client.allocate()
    address = peer.address
    return (lambda: client.send_to(_PAYLOAD, address)), client.close


async def _aioice(
    server: Coturn, peer: _Peer, counter: _Counter
) -> tuple[Callable[[], None], Callable[[], Awaitable[None]]]:
    from aioice.turn import create_turn_endpoint

    class Protocol(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            counter.hit()

    transport, _ = await create_turn_endpoint(
        Protocol,
        server_addr=(server.host, server.udp_port),
        username=server.username,
        password=server.password,
    )
    address = peer.address

    async def close() -> None:
        transport.close()
        await asyncio.sleep(0.05)

    return (lambda: transport.sendto(_PAYLOAD, address)), close


async def _prepare(
    setup: _Setup, server: Coturn, loop: asyncio.AbstractEventLoop
) -> tuple[_Peer, _Counter, Callable[[], None], Callable[[], Awaitable[None]]]:
    peer = _Peer(loop)
    counter = _Counter()
    send, close = await setup(server, peer, counter)
    # Warm up: permission and channel bound, the peer knows the relayed address.
    for _ in range(20):
        send()
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    assert peer.source is not None, "nothing was relayed"
    return peer, counter, send, close


async def _round(peer: _Peer, counter: _Counter, send: Callable[[], None], direction: str) -> float:
    if direction == "to-peer":
        return await _windowed(send, peer)
    relayed = peer.source
    assert relayed is not None

    def send_back() -> None:
        with contextlib.suppress(BlockingIOError):
            peer.socket.sendto(_PAYLOAD, relayed)

    return await _windowed(send_back, counter)


async def _run_both(direction: str) -> tuple[float, float]:
    """Ours and aioice on the same coturn, in alternating rounds (the machine is
    shared: alternation spreads its noise over both); medians of each."""
    loop = asyncio.get_running_loop()
    server = _coturn()
    ours = await _prepare(_ours, server, loop)
    theirs = await _prepare(_aioice, server, loop)
    results: tuple[list[float], list[float]] = ([], [])
    try:
        for _ in range(_REPEATS):
            for side, prepared in enumerate((ours, theirs)):
                peer, counter, send, _ = prepared
                results[side].append(await _round(peer, counter, send, direction))
    finally:
        for peer, _, _, close in (ours, theirs):
            await close()
            peer.close()
    return statistics.median(results[0]), statistics.median(results[1])


_cache: dict[str, tuple[float, float]] = {}


def _measure(direction: str, side: int) -> Callable[[], float]:
    def measure() -> float:
        if direction not in _cache:
            _cache[direction] = asyncio.run(_run_both(direction))
        return _cache[direction][side]

    return measure


def rows() -> list[Row]:
    if shutil.which("turnserver") is None:
        print(
            "bench_turn: turnserver (Debian package coturn) not found, rows left out",
            file=sys.stderr,
        )
        return []
    return [
        Row(
            name="turn relay via coturn, client->peer 1200 B",
            unit="MB/s",
            ours=_measure("to-peer", 0),
            baseline=_measure("to-peer", 1),
            baseline_name="aioice.turn",
        ),
        Row(
            name="turn relay via coturn, peer->client 1200 B",
            unit="MB/s",
            ours=_measure("to-client", 0),
            baseline=_measure("to-client", 1),
            baseline_name="aioice.turn",
        ),
    ]
