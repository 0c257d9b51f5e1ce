"""TURN: relayed datagram throughput through one local coturn, ours against aioice.

Both clients allocate on the same coturn (UDP to the server, long-term
credentials) and relay 1,200-byte datagrams to and from a plain UDP socket on
127.0.0.1 once their channel is bound (ChannelData both ways). The sender
goes in windows of 64 datagrams and waits for the window to arrive (or 2 ms
of silence),
so the figure is delivered MB/s, not what a full socket buffer dropped.
aioice is the TURN client aiortc uses. When ``turnserver`` is not installed
the rows are left out (with the reason on stderr).

The data-channel row: two peer connections in this process, both with
``iceTransportPolicy="relay"`` and the same coturn (UDP to the server), move
16 MiB in 64 KiB messages with backpressure (send while ``bufferedAmount`` is
under 4 MiB, resume at 1 MiB); ours against aiortc, median of 3 each, in
alternating rounds.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.common import Row, async_paired_figures, cached_pair
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
    try:
        return await async_paired_figures(
            lambda: _round(ours[0], ours[1], ours[2], direction),
            lambda: _round(theirs[0], theirs[1], theirs[2], direction),
            _REPEATS,
        )
    finally:
        for peer, _, _, close in (ours, theirs):
            await close()
            peer.close()


def _measure(direction: str) -> tuple[Callable[[], float], Callable[[], float]]:
    return cached_pair(lambda: asyncio.run(_run_both(direction)))


_DC_BYTES = 16 << 20
_DC_MESSAGE = 64 * 1024
_DC_REPEATS = 3


def _relay_peer(library: str, server: Coturn) -> Any:
    if library == "ours":
        from webrtc.peerconnection import RTCConfiguration, RTCIceServer, RTCPeerConnection

        return RTCPeerConnection(
            RTCConfiguration(
                iceServers=[
                    RTCIceServer(
                        urls=server.url("udp"),
                        username=server.username,
                        credential=server.password,
                    )
                ],
                iceTransportPolicy="relay",
                addresses=["127.0.0.1"],
            )
        )
    import aiortc

    return aiortc.RTCPeerConnection(
        aiortc.RTCConfiguration(
            iceServers=[
                aiortc.RTCIceServer(
                    urls=server.url("udp"), username=server.username, credential=server.password
                )
            ],
            iceTransportPolicy=aiortc.rtcconfiguration.RTCIceTransportPolicy.RELAY,
        )
    )


async def _relayed_channel_throughput(library: str) -> float:
    server = _coturn()
    loop = asyncio.get_running_loop()
    pc1, pc2 = _relay_peer(library, server), _relay_peer(library, server)
    try:
        channel = pc1.createDataChannel("bench")
        opened: asyncio.Future[None] = loop.create_future()
        remote: asyncio.Future[Any] = loop.create_future()
        channel.on("open", lambda: opened.done() or opened.set_result(None))
        pc2.on("datachannel", lambda other: remote.done() or remote.set_result(other))
        await pc1.setLocalDescription(await pc1.createOffer())
        await pc2.setRemoteDescription(pc1.localDescription)
        await pc2.setLocalDescription(await pc2.createAnswer())
        await pc1.setRemoteDescription(pc2.localDescription)
        await asyncio.wait_for(opened, 30)
        other = await asyncio.wait_for(remote, 30)
        done: asyncio.Future[float] = loop.create_future()
        received = 0

        def on_message(message: Any) -> None:
            nonlocal received
            received += len(message)
            if received >= _DC_BYTES and not done.done():
                done.set_result(time.perf_counter())

        other.on("message", on_message)
        channel.bufferedAmountLowThreshold = 1 << 20
        can_send = asyncio.Event()
        channel.on("bufferedamountlow", can_send.set)
        payload = bytes(_DC_MESSAGE)
        start = time.perf_counter()
        sent = 0
        while sent < _DC_BYTES:
            if channel.bufferedAmount > 4 << 20:
                can_send.clear()
                await can_send.wait()
                continue
            channel.send(payload)
            sent += _DC_MESSAGE
        end = await asyncio.wait_for(done, 300)
        return _DC_BYTES / (end - start) / 1e6
    finally:
        await pc1.close()
        await pc2.close()


def _data_channel_pair() -> tuple[float, float]:
    return asyncio.run(async_paired_figures(
        lambda: _relayed_channel_throughput("ours"),
        lambda: _relayed_channel_throughput("aiortc"),
        _DC_REPEATS,
    ))


def rows() -> list[Row]:
    if shutil.which("turnserver") is None:
        print(
            "bench_turn: turnserver (Debian package coturn) not found, rows left out",
            file=sys.stderr,
        )
        return []
    data_channel_ours, data_channel_aiortc = cached_pair(_data_channel_pair)
    to_peer_ours, to_peer_aioice = _measure("to-peer")
    to_client_ours, to_client_aioice = _measure("to-client")
    return [
        Row(
            name="turn: data channel relay-only via coturn/udp",
            unit="MB/s",
            ours=data_channel_ours,
            baseline=data_channel_aiortc,
            baseline_name="aiortc",
            goal=3.0,
        ),
        Row(
            name="turn relay via coturn, client->peer 1200 B",
            unit="MB/s",
            ours=to_peer_ours,
            baseline=to_peer_aioice,
            baseline_name="aioice.turn",
        ),
        Row(
            name="turn relay via coturn, peer->client 1200 B",
            unit="MB/s",
            ours=to_client_ours,
            baseline=to_client_aioice,
            baseline_name="aioice.turn",
        ),
    ]
