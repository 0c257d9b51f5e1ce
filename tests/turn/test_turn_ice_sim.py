"""Relayed ICE candidates on the simulator: two agents through a scripted TURN server."""

from __future__ import annotations

import itertools
import random

import pytest

from webrtc.ice.agent import IceAgent, IceState, PairState, candidate_priority
from webrtc.ice.stun import Method
from webrtc.ice.turn import Allocated, AllocationFailed, TurnClient, TurnState
from webrtc.ice.turn_ice import relay_local_preference
from webrtc.testing import LinkConfig, Network
from webrtc.testing.ice import Signaling
from webrtc.testing.turn import RelayedIceNode, ScriptedTurnServer

SERVER = ("192.0.2.1", 3478)
CONNECTED = (IceState.CONNECTED, IceState.COMPLETED)


def turn_client(seed: int) -> TurnClient:
    ids = itertools.count(seed << 32)
    return TurnClient(
        SERVER, "user", "password", random_bytes=lambda n: next(ids).to_bytes(n, "big")
    )


def make_pair(
    hosts: bool, relays: bool, seed: int = 1
) -> tuple[Network, ScriptedTurnServer, RelayedIceNode, RelayedIceNode]:
    network = Network(seed=seed, default_link=LinkConfig(delay=0.01))
    server = ScriptedTurnServer(network, SERVER)
    signaling = Signaling(network)
    rng = random.Random(seed)
    nodes: list[RelayedIceNode] = []

    def forward(index: int) -> object:
        def on_event(node: RelayedIceNode, event: object, now: float) -> None:
            signaling.forward_candidate(nodes[1 - index], event)  # type: ignore[arg-type]

        return on_event

    for index, host in enumerate(("10.0.0.1", "10.0.0.2")):
        agent = IceAgent(index == 0, rng=random.Random(rng.random()))
        node = RelayedIceNode(
            agent,
            {1: (host, 4000)} if hosts else {},
            {2: (turn_client(index + 1), (host, 4001))} if relays else {},
            on_event=forward(index),  # type: ignore[arg-type]
        )
        nodes.append(node)
    for node in nodes:
        node.attach(network)
    signaling.exchange_credentials(nodes[0], nodes[1])  # type: ignore[arg-type]
    for node in nodes:
        node.allocate(network.now)
        node.agent.start(network.now)
    return network, server, nodes[0], nodes[1]


def connected(*nodes: RelayedIceNode) -> bool:
    return all(n.agent.state in CONNECTED and n.agent.selected_pair is not None for n in nodes)


def exchange(network: Network, a: RelayedIceNode, b: RelayedIceNode, count: int = 5) -> None:
    before_a, before_b = len(a.payloads), len(b.payloads)
    for index in range(count):
        a.agent.send(b"\x80a%d" % index)
        b.agent.send(b"\x80b%d" % index)
    network.run(
        lambda: len(a.payloads) >= before_a + count and len(b.payloads) >= before_b + count,
        timeout=2,
    )
    assert b.payloads[before_b:] == [b"\x80a%d" % i for i in range(count)]
    assert a.payloads[before_a:] == [b"\x80b%d" % i for i in range(count)]


def test_relay_only_agents_connect_through_the_turn_server() -> None:
    network, server, a, b = make_pair(hosts=False, relays=True)
    network.run(lambda: connected(a, b), timeout=10)
    for node in (a, b):
        pair = node.agent.selected_pair
        assert pair is not None
        assert pair.local.type == "relay" and pair.remote.type == "relay"
        candidate = node.relays.relays[2].candidate
        assert candidate is not None
        # RFC 8445 5.1.2.1: type preference 0 for relayed candidates; raddr is
        # the server-reflexive (mapped) address (RFC 8839 5.1).
        assert candidate.priority == candidate_priority("relay", relay_local_preference("udp"))
        assert (candidate.related_address, candidate.related_port) == node.relay_addresses[2]
    exchange(network, a, b)
    # Data between the relays runs in channels once bound.
    for node in (a, b):
        assert (
            node.relays.relays[2].client.channel_for(
                node.agent.selected_pair.remote_address  # type: ignore[union-attr]
            )
            is not None
        )
    # Closing releases every allocation.
    for node in (a, b):
        node.relays.close(network.now)
    network.run(
        lambda: all(n.relays.relays[2].client.state is TurnState.CLOSED for n in (a, b)),
        timeout=5,
    )
    assert server.allocations == {}
    assert [e.lifetime for e in server.requests(Method.REFRESH)] == [0, 0]


def test_relay_candidates_are_ranked_below_host_ones() -> None:
    network, _, a, b = make_pair(hosts=True, relays=True)
    network.run(lambda: connected(a, b) and a.agent.local_gathering_complete, timeout=10)
    types = {c.type: c.priority for c in a.agent.local_candidates}
    assert types["host"] > types["relay"]
    pair = a.agent.selected_pair
    assert pair is not None and pair.local.type == "host" and pair.remote.type == "host"


def test_relay_transport_preferences() -> None:
    assert relay_local_preference("udp") > relay_local_preference("tcp")
    assert relay_local_preference("tcp") > relay_local_preference("tls")
    assert relay_local_preference("tls", 0) > relay_local_preference("tls", 1)
    assert relay_local_preference("udp") < 65536


def test_dead_server_fails_the_relay_pairs_without_blocking_the_host_pairs() -> None:
    network, server, a, b = make_pair(hosts=True, relays=True)
    # A slow direct path, so that the relay pairs get checked before it works.
    network.set_link("10.0.0.1", "10.0.0.2", LinkConfig(delay=0.3))
    # Allocations succeed, then the server goes silent.
    network.run(
        lambda: all(any(isinstance(e, Allocated) for _, e in n.turn_events) for n in (a, b)),
        timeout=5,
    )
    server.answering = False
    network.run(lambda: connected(a, b), timeout=10)
    assert network.now < 2
    exchange(network, a, b)

    def relay_pairs(node: RelayedIceNode) -> list[PairState]:
        return [p.state for p in node.agent.pairs if "relay" in (p.local.type, p.remote.type)]

    # Every relay pair that was checked times out (RFC 8445: 39.5 s) and fails.
    network.advance(60)
    for node in (a, b):
        states = relay_pairs(node)
        assert PairState.FAILED in states, states
        assert PairState.SUCCEEDED not in states and PairState.IN_PROGRESS not in states
        pair = node.agent.selected_pair
        assert pair is not None and pair.local.type == "host" and pair.remote.type == "host"
        assert node.agent.state in CONNECTED
    exchange(network, a, b)


def test_server_that_never_answers_does_not_delay_host_connectivity() -> None:
    network, server, a, b = make_pair(hosts=True, relays=True)
    server.answering = False
    network.run(lambda: connected(a, b), timeout=10)
    assert network.now < 2
    exchange(network, a, b)
    # The allocation fails in its own time; gathering then ends with no relay.
    network.run(
        lambda: all(any(isinstance(e, AllocationFailed) for _, e in n.turn_events) for n in (a, b)),
        timeout=100,
    )
    for node in (a, b):
        assert node.agent.local_gathering_complete
        assert [c.type for c in node.agent.local_candidates] == ["host"]
        assert node.agent.state in CONNECTED


@pytest.mark.parametrize("seed", range(3))
def test_relay_only_over_a_lossy_link(seed: int) -> None:
    network, _, a, b = make_pair(hosts=False, relays=True, seed=seed)
    network.set_link("10.0.0.1", SERVER[0], LinkConfig(delay=0.01, loss=0.3))
    network.run(lambda: connected(a, b), timeout=120)
