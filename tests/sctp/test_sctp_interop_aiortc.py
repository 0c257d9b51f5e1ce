"""Interop with a real, independent SCTP stack: aiortc's RTCSctpTransport.

aiortc runs its own association and data channels in this process; the only
stand-in is for its DTLS transport (an in-memory pipe exposing the four
members ``RTCSctpTransport`` uses), so every SCTP packet between the two
stacks is real wire format. Our engine is driven by a small asyncio shell.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from webrtc.sctp import (
    AssociationState,
    ChannelClosed,
    ChannelOpened,
    MessageReceived,
    SctpAssociation,
)

aiortc_sctp = pytest.importorskip("aiortc.rtcsctptransport", reason="aiortc not found")
aiortc_dc = pytest.importorskip("aiortc.rtcdatachannel", reason="aiortc not found")

pytestmark = pytest.mark.interop


class OurSide:
    """Drives an SctpAssociation from asyncio; packets go to aiortc's receiver."""

    def __init__(self, association: SctpAssociation) -> None:
        self.association = association
        self.loop = asyncio.get_running_loop()
        self.peer: PipeDtls | None = None
        self.events: list[object] = []
        self.changed = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None

    def receive(self, data: bytes) -> None:
        self.association.receive_datagram(data, self.loop.time())
        self.flush()

    def flush(self) -> None:
        assert self.peer is not None
        now = self.loop.time()
        for packet in self.association.datagrams_to_send(now):
            self.peer.queue.put_nowait(packet)
        while (event := self.association.next_event()) is not None:
            self.events.append(event)
            self.changed.set()
        if self._timer is not None:
            self._timer.cancel()
        deadline = self.association.get_timer()
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.association.handle_timer(self.loop.time())
        self.flush()

    async def wait_for(self, condition: Any, timeout: float = 10.0) -> None:
        async def waiter() -> None:
            while not condition():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(waiter(), timeout)


class PipeDtls:
    """The members of RTCDtlsTransport that aiortc's RTCSctpTransport uses."""

    def __init__(self, role: str, ours: OurSide) -> None:
        self.state = "connected"
        self._role = role
        self._data_receiver: Any = None
        self.ours = ours
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.reader = asyncio.ensure_future(self._read())

    def _register_data_receiver(self, receiver: Any) -> None:
        self._data_receiver = receiver

    def _unregister_data_receiver(self, receiver: Any) -> None:
        self._data_receiver = None

    async def _send_data(self, data: bytes) -> None:
        self.ours.receive(data)

    async def _read(self) -> None:
        while True:
            data = await self.queue.get()
            if self._data_receiver is not None:
                await self._data_receiver._handle_data(data)


async def connect(we_are_client: bool) -> tuple[OurSide, Any, PipeDtls]:
    ours = OurSide(SctpAssociation(we_are_client))
    pipe = PipeDtls("server" if we_are_client else "client", ours)
    ours.peer = pipe
    theirs = aiortc_sctp.RTCSctpTransport(pipe)
    caps = aiortc_sctp.RTCSctpCapabilities(maxMessageSize=262144)
    ours.association.set_remote_max_message_size(262144)
    ours.association.start(ours.loop.time())
    ours.flush()
    await theirs.start(caps, 5000)
    await ours.wait_for(lambda: ours.association.state is AssociationState.ESTABLISHED)
    return ours, theirs, pipe


def messages(ours: OurSide, sid: int) -> list[MessageReceived]:
    return [e for e in ours.events if isinstance(e, MessageReceived) and e.stream_id == sid]


@pytest.mark.parametrize("we_are_client", [True, False])
def test_channels_both_ways_with_aiortc(we_are_client: bool) -> None:
    async def scenario() -> None:
        ours, theirs, pipe = await connect(we_are_client)
        a = ours.association
        # Their channel to us (DCEP open from aiortc).
        their_channel = aiortc_dc.RTCDataChannel(
            theirs, aiortc_dc.RTCDataChannelParameters(label="from-aiortc", protocol="p")
        )
        await ours.wait_for(lambda: any(isinstance(e, ChannelOpened) for e in ours.events))
        (opened,) = [e for e in ours.events if isinstance(e, ChannelOpened)]
        assert isinstance(opened, ChannelOpened)
        assert opened.label == "from-aiortc" and opened.protocol == "p" and opened.remote
        assert opened.stream_id % 2 == (0 if not we_are_client else 1)
        got_theirs: list[Any] = []
        their_channel.on("message", got_theirs.append)
        for payload in ("text", b"binary", "", b"", bytes(range(256)) * 700):
            their_channel.send(payload)
        sid = opened.stream_id
        await ours.wait_for(lambda: len(messages(ours, sid)) == 5)
        got = [(m.data, m.is_string) for m in messages(ours, sid)]
        assert got == [(b"text", True), (b"binary", False), (b"", True), (b"", False),
                       (bytes(range(256)) * 700, False)]
        # Our channel to them (our DCEP open), unordered and partially reliable.
        channels: list[Any] = []
        theirs.on("datachannel", channels.append)
        our_sid = a.open_channel("from-us", ordered=False, max_retransmits=2)
        assert our_sid % 2 == (0 if we_are_client else 1)
        ours.flush()
        for _ in range(100):
            if channels:
                break
            await asyncio.sleep(0.01)
        (channel,) = channels
        assert channel.label == "from-us" and not channel.ordered
        assert channel.maxRetransmits == 2
        received: list[Any] = []
        channel.on("message", received.append)
        big = bytes(200_000)
        for payload in ("hi", b"\x01", big):
            a.send(our_sid, payload)
        ours.flush()
        for _ in range(300):
            if len(received) == 3:
                break
            await asyncio.sleep(0.01)
        assert sorted(received, key=len) == [b"\x01", "hi", big]
        # Reply on their channel, then close ours: stream reset both ways.
        a.send(sid, "reply")
        ours.flush()
        for _ in range(100):
            if got_theirs:
                break
            await asyncio.sleep(0.01)
        assert got_theirs == ["reply"]
        a.close_channel(our_sid)
        ours.flush()
        await ours.wait_for(
            lambda: any(isinstance(e, ChannelClosed) and e.stream_id == our_sid
                        for e in ours.events)
        )
        for _ in range(100):
            if channel.readyState == "closed":
                break
            await asyncio.sleep(0.01)
        assert channel.readyState == "closed"
        # aiortc closes its channel: we see the reset and close too.
        their_channel.close()
        await ours.wait_for(
            lambda: any(isinstance(e, ChannelClosed) and e.stream_id == sid
                        for e in ours.events)
        )
        assert a.dropped_packets == 0
        await theirs.stop()
        pipe.reader.cancel()

    asyncio.run(scenario())


def test_lossy_bulk_transfer_with_aiortc() -> None:
    """Both directions over a pipe that drops 3 % of packets: retransmissions,
    SACK gap blocks and fast retransmit between two independent stacks."""

    async def scenario() -> None:
        import random

        ours, theirs, pipe = await connect(True)
        rng = random.Random(4)
        dropped = {"to us": 0, "to aiortc": 0}
        # Drop packets in both directions.
        original_receive = ours.receive

        def lossy_receive(data: bytes) -> None:
            if rng.random() >= 0.03:
                original_receive(data)
            else:
                dropped["to us"] += 1

        ours.receive = lossy_receive  # type: ignore[method-assign]
        original_put = pipe.queue.put_nowait

        def lossy_put(data: bytes) -> None:
            if rng.random() >= 0.03:
                original_put(data)
            else:
                dropped["to aiortc"] += 1

        pipe.queue.put_nowait = lossy_put  # type: ignore[method-assign,assignment]
        a = ours.association
        channels: list[Any] = []
        theirs.on("datachannel", channels.append)
        sid = a.open_channel("bulk")
        ours.flush()
        for _ in range(500):
            if channels:
                break
            await asyncio.sleep(0.01)
        (channel,) = channels
        received: list[bytes] = []
        channel.on("message", received.append)
        messages = [bytes([i]) * 20_000 for i in range(40)]
        for message in messages:
            a.send(sid, message)
        ours.flush()
        for message in messages[:20]:
            channel.send(message)
        for _ in range(3000):
            if len(received) == 40 and len(messages_of(ours, sid)) == 20:
                break
            await asyncio.sleep(0.01)
        assert received == messages
        assert [m.data for m in messages_of(ours, sid)] == messages[:20]
        assert dropped["to us"] > 0 and dropped["to aiortc"] > 0
        await theirs.stop()
        pipe.reader.cancel()

    asyncio.run(scenario())


def messages_of(ours: OurSide, sid: int) -> list[MessageReceived]:
    return messages(ours, sid)
