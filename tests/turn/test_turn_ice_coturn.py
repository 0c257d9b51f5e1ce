"""Two of our ICE connections, relay-only or with host candidates too, connect
through a real coturn in every combination of transports to the server and
exchange data."""

from __future__ import annotations

import asyncio
import ssl

import pytest
from coturn_fixture import Coturn

from webrtc.ice.agent import GatheringComplete
from webrtc.ice.aio_turn import TurnIceConnection, TurnServer
from webrtc.ice.turn import TurnState
from webrtc.ice.turn_ice import relay_local_preference

pytestmark = pytest.mark.interop

TRANSPORTS = ["udp", "tcp", "tls"]


class Collector:
    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self.events: list[object] = []
        self.arrived = asyncio.Event()

    def payload(self, data: bytes) -> None:
        self.payloads.append(data)
        self.arrived.set()

    def event(self, event: object) -> None:
        self.events.append(event)

    async def wait_payloads(self, count: int, timeout: float = 5.0) -> None:
        async def wait() -> None:
            while len(self.payloads) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(wait(), timeout)


def connection(
    controlling: bool, collector: Collector, coturn: Coturn, transport: str, relay_only: bool
) -> TurnIceConnection:
    assert coturn.cert_file is not None
    return TurnIceConnection(
        controlling,
        turn_servers=[TurnServer(coturn.url(transport), coturn.username, coturn.password)],
        relay_only=relay_only,
        ssl_context=ssl.create_default_context(cafile=str(coturn.cert_file)),
        addresses=["127.0.0.1"],
        mdns_target=("127.0.0.1", 9),
        on_payload=collector.payload,
        on_event=collector.event,
    )


async def signal(source: TurnIceConnection, destination: TurnIceConnection) -> None:
    destination.set_remote_credentials(source.local_ufrag, source.local_pwd)
    for candidate in source.local_candidates:
        destination.add_remote_candidate(candidate)
    destination.add_remote_candidate(None)


CASES = [(ta, True, tb, True) for ta in TRANSPORTS for tb in TRANSPORTS] + [
    ("udp", False, "tcp", True)
]


@pytest.mark.parametrize(
    ("transport_a", "relay_only_a", "transport_b", "relay_only_b"),
    CASES,
    ids=[f"{'relay' if ra else 'all'}-{ta}/{'relay' if rb else 'all'}-{tb}"
         for ta, ra, tb, rb in CASES],
)
def test_ice_connections_with_relays_through_coturn(
    coturn: Coturn, transport_a: str, relay_only_a: bool, transport_b: str, relay_only_b: bool
) -> None:
    """Every combination of transports to the server, relay-only (and one side
    with host candidates too): relayed candidates, their priority and related
    address, data both ways in ChannelData, allocations released on close."""

    async def main() -> None:
        a_seen, b_seen = Collector(), Collector()
        a = connection(True, a_seen, coturn, transport_a, relay_only_a)
        b = connection(False, b_seen, coturn, transport_b, relay_only_b)
        sides = ((a, a_seen, transport_a, relay_only_a), (b, b_seen, transport_b, relay_only_b))
        try:
            await asyncio.gather(a.gather(), b.gather())
            await asyncio.wait_for(asyncio.gather(a.wait_gathered(), b.wait_gathered()), 10)
            for side, seen, _, relay_only in sides:
                assert side.turn_errors == []
                types = [c.type for c in side.local_candidates]
                assert types == (["relay"] if relay_only else ["host", "relay"])
                assert any(isinstance(e, GatheringComplete) for e in seen.events)
            await signal(a, b)
            await signal(b, a)
            await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 10)
            for side, _, transport, relay_only in sides:
                pair = side.agent.selected_pair
                assert pair is not None
                if not relay_only:
                    continue
                assert pair.local.type == "relay"
                assert (pair.local.priority >> 8) & 0xFFFF == relay_local_preference(transport)
                client = side.relay_clients[pair.socket_id]
                assert (pair.local.address, pair.local.port) == client.relayed_address
                mapped = client.mapped_address
                assert mapped is not None
                assert (pair.local.related_address, pair.local.related_port) == mapped
            for index in range(50):
                a.send_payload(b"\x80a%d" % index)
                b.send_payload(b"\x80b%d" % index)
            await b_seen.wait_payloads(50)
            await a_seen.wait_payloads(50)
            assert b_seen.payloads == [b"\x80a%d" % i for i in range(50)]
            assert a_seen.payloads == [b"\x80b%d" % i for i in range(50)]
            # Data moved in channels (bound on first use).
            for side, _, _, relay_only in sides:
                pair = side.agent.selected_pair
                assert pair is not None
                if relay_only:
                    client = side.relay_clients[pair.socket_id].client
                    assert client.channel_for(pair.remote_address) is not None
        finally:
            clients = [*a.turn_clients, *b.turn_clients]
            a.close()
            b.close()
            await a.wait_closed()
            await b.wait_closed()
        # Closing released every allocation.
        assert len(clients) == 2 and all(c.client.state is TurnState.CLOSED for c in clients)

    asyncio.run(asyncio.wait_for(main(), 30))


def test_failed_allocation_does_not_block_gathering(coturn: Coturn) -> None:
    async def main() -> None:
        seen = Collector()
        side = TurnIceConnection(
            True,
            turn_servers=[TurnServer(coturn.url("udp"), coturn.username, "wrong")],
            addresses=["127.0.0.1"],
            mdns_target=("127.0.0.1", 9),
            on_event=seen.event,
        )
        try:
            await side.gather()
            await asyncio.wait_for(side.wait_gathered(), 5)
            assert [c.type for c in side.local_candidates] == ["host"]
            assert [getattr(e, "code", None) for e in side.turn_errors] == [401]
        finally:
            side.close()
            await side.wait_closed()

    asyncio.run(asyncio.wait_for(main(), 30))
