"""SCTP association throughput (issue 5): 64 KiB messages, one process, no DTLS.

``ours``: two :class:`webrtc.sctp.SctpAssociation` engines joined by a
zero-loss, zero-delay in-memory link: every packet one side returns from
``datagrams_to_send`` is handed to the other's ``receive_datagram`` in the same
pass, as an I/O shell draining a socket in batches would. A second row runs the
same transfer through :class:`webrtc.testing.Network` (zero loss, zero delay)
to show the simulator's own per-datagram cost.

``baseline``: aiortc's ``RTCSctpTransport`` and ``RTCDataChannel`` pair, joined
by a minimal in-memory stand-in for its DTLS transport (the four members
``RTCSctpTransport`` uses: ``state``, ``_role``, ``_register_data_receiver``
and ``_send_data``), delivering each packet through one reader task per
direction as aiortc's own DTLS receive loop does.

Figures are MB/s of user payload (10**6 bytes/s), the median of 3 transfers,
timed in CPU time of this process (``time.process_time``): both sides are
single-threaded and CPU-bound here, and on a machine shared with other jobs the
wall clock mostly measures their load.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import Row, median_figure
from webrtc.sctp import AssociationState, MessageReceived, SctpAssociation
from webrtc.testing import Network

MESSAGE = bytes(range(256)) * 256  # 64 KiB
OURS_MESSAGES = 1600  # 100 MiB
BASELINE_MESSAGES = 160  # 10 MiB: aiortc is ~20x slower
REPEATS = 3


def _pump(a: SctpAssociation, b: SctpAssociation, now: float) -> None:
    moved = True
    while moved:
        moved = False
        for source, sink in ((a, b), (b, a)):
            packets = source.datagrams_to_send(now)
            if packets:
                moved = True
                receive = sink.receive_datagram
                for packet in packets:
                    receive(packet, now)


def _connected_pair() -> tuple[SctpAssociation, SctpAssociation, int]:
    a = SctpAssociation(True)
    b = SctpAssociation(False)
    a.start(0.0)
    b.start(0.0)
    _pump(a, b, 0.0)
    assert a.state is AssociationState.ESTABLISHED and b.state is AssociationState.ESTABLISHED
    sid = a.open_channel("bench")
    _pump(a, b, 0.0)
    while a.next_event() is not None:
        pass
    while b.next_event() is not None:
        pass
    return a, b, sid


def transfer_ours(messages: int = OURS_MESSAGES) -> float:
    """MB/s for ``messages`` 64 KiB messages over the in-memory link."""
    a, b, sid = _connected_pair()
    total = messages * len(MESSAGE)
    received = 0
    sent = 0
    now = 0.001
    start = time.process_time()
    while received < total:
        while sent < messages and a.buffered_amount(sid) < 1 << 20:
            a.send(sid, MESSAGE)
            sent += 1
        _pump(a, b, now)
        while (event := b.next_event()) is not None:
            if isinstance(event, MessageReceived):
                received += len(event.data)
        while a.next_event() is not None:
            pass
        now += 0.0001
        if b.get_timer() is not None and b.get_timer() <= now:  # type: ignore[operator]
            b.handle_timer(now)
    elapsed = time.process_time() - start
    return total / elapsed / 1e6


def transfer_simulated(messages: int = OURS_MESSAGES // 2) -> float:
    """MB/s through webrtc.testing.Network with a zero-loss, zero-delay link."""
    a, b, sid = _connected_pair()
    network = Network()
    network.add_engine(a, ("10.0.0.1", 5000), ("10.0.0.2", 5000))
    received = [0]

    def on_b(event: object) -> None:
        if isinstance(event, MessageReceived):
            received[0] += len(event.data)

    network.add_engine(b, ("10.0.0.2", 5000), ("10.0.0.1", 5000), on_event=on_b)
    total = messages * len(MESSAGE)
    sent = [0]

    def feed() -> bool:
        while sent[0] < messages and a.buffered_amount(sid) < 1 << 20:
            a.send(sid, MESSAGE)
            sent[0] += 1
        return received[0] >= total

    start = time.process_time()
    network.run(feed, timeout=3600)
    return total / (time.process_time() - start) / 1e6


def transfer_aiortc(messages: int = BASELINE_MESSAGES) -> float:
    return asyncio.run(_aiortc_transfer(messages))


class _FakeDtls:
    """What aiortc's RTCSctpTransport needs of its RTCDtlsTransport, in memory."""

    def __init__(self, role: str) -> None:
        self.state = "connected"
        self._role = role
        self._data_receiver: Any = None
        self.peer: _FakeDtls | None = None
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._reader = asyncio.ensure_future(self._read())

    def _register_data_receiver(self, receiver: Any) -> None:
        self._data_receiver = receiver

    def _unregister_data_receiver(self, receiver: Any) -> None:
        self._data_receiver = None

    async def _send_data(self, data: bytes) -> None:
        assert self.peer is not None
        self.peer._queue.put_nowait(data)

    async def _read(self) -> None:
        while True:
            data = await self._queue.get()
            if self._data_receiver is not None:
                await self._data_receiver._handle_data(data)


async def _aiortc_transfer(messages: int) -> float:
    from aiortc.rtcdatachannel import RTCDataChannel, RTCDataChannelParameters
    from aiortc.rtcsctptransport import RTCSctpTransport

    client_dtls, server_dtls = _FakeDtls("client"), _FakeDtls("server")
    client_dtls.peer, server_dtls.peer = server_dtls, client_dtls
    client = RTCSctpTransport(client_dtls)  # type: ignore[arg-type]
    server = RTCSctpTransport(server_dtls)  # type: ignore[arg-type]
    done = asyncio.Event()
    total = messages * len(MESSAGE)
    received = [0]

    def on_message(message: bytes) -> None:
        received[0] += len(message)
        if received[0] >= total:
            done.set()

    def on_channel(channel: Any) -> None:
        channel.on("message", on_message)

    server.on("datachannel", on_channel)

    await server.start(client.getCapabilities(), client.port)
    await client.start(server.getCapabilities(), server.port)
    channel = RTCDataChannel(client, RTCDataChannelParameters(label="bench"))
    opened = asyncio.Event()
    channel.on("open", opened.set)
    await asyncio.wait_for(opened.wait(), 10)
    low = asyncio.Event()
    channel.bufferedAmountLowThreshold = 1 << 19
    channel.on("bufferedamountlow", low.set)
    start = time.process_time()
    for _ in range(messages):
        if channel.bufferedAmount > 1 << 20:
            low.clear()
            await low.wait()
        channel.send(MESSAGE)
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.process_time() - start
    await client.stop()
    await server.stop()
    for dtls in (client_dtls, server_dtls):
        dtls._reader.cancel()
    return total / elapsed / 1e6


def _median(function: Callable[..., float]) -> float:
    return median_figure(function, REPEATS, warm_up=lambda: function(32))


def rows() -> list[Row]:
    return [
        Row(
            name="sctp 64KiB msgs in-memory (goal 150 MB/s)",
            unit="MB/s (CPU)",
            ours=lambda: _median(transfer_ours),
            baseline=lambda: _median(transfer_aiortc),
            baseline_name="aiortc RTCSctpTransport, in-memory DTLS stand-in",
        ),
        Row(
            name="sctp 64KiB msgs via webrtc.testing.Network",
            unit="MB/s (CPU)",
            ours=lambda: _median(transfer_simulated),
            baseline=None,
            baseline_name="-",
        ),
    ]
