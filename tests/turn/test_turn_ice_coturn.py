"""Two of our ICE agents, relay-only, connect through a real coturn in every
combination of transports to the server and exchange data."""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from collections.abc import Callable

import pytest
from coturn_fixture import Coturn

from webrtc.ice.agent import (
    GatheringComplete,
    IceAgent,
    IceState,
    LocalCandidateGathered,
    PayloadReceived,
)
from webrtc.ice.aio_turn import AioRelayIce
from webrtc.ice.turn import TurnState
from webrtc.ice.turn_ice import relay_local_preference

pytestmark = pytest.mark.interop

TRANSPORTS = ["udp", "tcp", "tls"]
CONNECTED = (IceState.CONNECTED, IceState.COMPLETED)


class Side:
    def __init__(self, controlling: bool, seed: int) -> None:
        self.agent = IceAgent(controlling, rng=random.Random(seed))
        self.events: list[object] = []
        self.payloads: list[bytes] = []
        self.peer: Side | None = None
        self.changed = asyncio.Event()
        self.ice = AioRelayIce(self.agent, on_event=self.on_event)

    def on_event(self, event: object) -> None:
        self.events.append(event)
        # The signalling channel: trickle candidates straight to the other side.
        assert self.peer is not None
        if isinstance(event, LocalCandidateGathered):
            self.peer.agent.add_remote_candidate(event.candidate)
            self.peer.ice._schedule_flush()
        elif isinstance(event, GatheringComplete):
            self.peer.agent.end_of_remote_candidates()
            self.peer.ice._schedule_flush()
        elif isinstance(event, PayloadReceived):
            self.payloads.append(event.data)
        self.changed.set()

    async def wait(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not met")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.1))


@pytest.mark.parametrize("transport_b", TRANSPORTS)
@pytest.mark.parametrize("transport_a", TRANSPORTS)
def test_relay_only_agents_connect_through_coturn(
    coturn: Coturn, transport_a: str, transport_b: str
) -> None:
    assert coturn.cert_file is not None
    context = ssl.create_default_context(cafile=str(coturn.cert_file))

    async def main() -> None:
        a, b = Side(True, 1), Side(False, 2)
        a.peer, b.peer = b, a
        a.agent.set_remote_credentials(b.agent.local_ufrag, b.agent.local_pwd)
        b.agent.set_remote_credentials(a.agent.local_ufrag, a.agent.local_pwd)
        for side, transport in ((a, transport_a), (b, transport_b)):
            await side.ice.add_server(
                coturn.url(transport),
                coturn.username,
                coturn.password,
                ssl_context=context if transport == "tls" else None,
            )
        try:
            for side in (a, b):
                side.ice.start()
            results = await asyncio.gather(a.ice.gather(), b.ice.gather())
            assert results == [[None], [None]]
            both = (a, b)

            def connected() -> bool:
                return all(
                    s.agent.state in CONNECTED and s.agent.selected_pair is not None for s in both
                )

            await a.wait(connected)
            await b.wait(connected)
            for side, transport in ((a, transport_a), (b, transport_b)):
                pair = side.agent.selected_pair
                assert pair is not None
                assert pair.local.type == "relay" and pair.remote.type == "relay"
                assert (pair.local.priority >> 8) & 0xFFFF == relay_local_preference(transport)
                relay = side.ice.relays.relays[pair.socket_id]
                client = side.ice.clients[pair.socket_id]
                assert (pair.local.address, pair.local.port) == client.relayed_address
                mapped = client.mapped_address
                assert mapped is not None
                assert (pair.local.related_address, pair.local.related_port) == mapped
                assert relay.candidate == pair.local
            for index in range(20):
                a.ice.send(b"\x80a->b %d" % index)
                b.ice.send(b"\x80b->a %d" % index)
            await a.wait(lambda: len(a.payloads) >= 20 and len(b.payloads) >= 20)
            assert b.payloads == [b"\x80a->b %d" % i for i in range(20)]
            assert a.payloads == [b"\x80b->a %d" % i for i in range(20)]
            # Data moved in channels (bound on first use).
            for side in both:
                pair = side.agent.selected_pair
                assert pair is not None
                client = side.ice.clients[pair.socket_id].client
                assert client.channel_for(pair.remote_address) is not None
        finally:
            await a.ice.close()
            await b.ice.close()
        for side in (a, b):
            for client in side.ice.clients.values():
                assert client.client.state is TurnState.CLOSED

    asyncio.run(asyncio.wait_for(main(), 30))
