"""The sans-I/O ICE agent, two at a time, on the deterministic network simulator."""

from __future__ import annotations

import hmac
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.ice.agent import (
    GatheringComplete,
    IceAgent,
    IceRole,
    IceState,
    LocalCandidateGathered,
    PairState,
    PayloadReceived,
    SelectedPairChanged,
    candidate_priority,
    pair_priority,
)
from webrtc.ice.stun import AttributeType, MessageClass, Method, StunMessage
from webrtc.sdp.candidate import Candidate
from webrtc.testing import LinkConfig, Network
from webrtc.testing.ice import IceNode, Signaling

A_SOCKETS = {1: ("10.0.0.1", 4000), 2: ("10.0.1.1", 4001)}
B_SOCKETS = {1: ("10.0.0.2", 5000), 2: ("10.0.1.2", 5001)}
CONNECTED = (IceState.CONNECTED, IceState.COMPLETED)


def make_pair(
    a_controlling: bool = True,
    b_controlling: bool = False,
    seed: int = 1,
    link: LinkConfig | None = None,
    signaling_delay: float = 0.0,
    to_a=lambda c: c,
    to_b=lambda c: c,
    a_sockets=A_SOCKETS,
    b_sockets=B_SOCKETS,
) -> tuple[Network, IceNode, IceNode, Signaling]:
    network = Network(seed=seed, default_link=link or LinkConfig(delay=0.01))
    signaling = Signaling(network, delay=signaling_delay)
    rng = random.Random(seed)
    a_agent = IceAgent(a_controlling, rng=random.Random(rng.random()))
    b_agent = IceAgent(b_controlling, rng=random.Random(rng.random()))
    node_b: IceNode

    def from_a(node: IceNode, event: object, now: float) -> None:
        signaling.forward_candidate(node_b, event, to_b)

    def from_b(node: IceNode, event: object, now: float) -> None:
        signaling.forward_candidate(node_a, event, to_a)

    node_a = IceNode(a_agent, a_sockets, on_event=from_a, gather=False)
    node_b = IceNode(b_agent, b_sockets, on_event=from_b, gather=False)
    node_a.attach(network)
    node_b.attach(network)
    signaling.exchange_credentials(node_a, node_b)
    return network, node_a, node_b, signaling


def gather(node: IceNode, delay_each: float = 0.0, signaling: Signaling | None = None) -> None:
    """Register host candidates, immediately or one every ``delay_each`` seconds."""
    agent = node.agent
    for index, (socket_id, (host, port)) in enumerate(node.sockets.items()):
        if signaling is None or delay_each == 0.0:
            agent.add_local_candidate(socket_id, host, port)
        else:
            signaling.later(
                lambda s=socket_id, h=host, p=port: agent.add_local_candidate(s, h, p),
                delay=delay_each * (index + 1),
            )
    if signaling is None or delay_each == 0.0:
        agent.end_of_local_candidates()
    else:
        signaling.later(agent.end_of_local_candidates, delay=delay_each * (len(node.sockets) + 1))


def start(network: Network, *nodes: IceNode) -> None:
    for node in nodes:
        node.agent.start(network.now)


def connected(*nodes: IceNode) -> bool:
    return all(node.state in CONNECTED and node.agent.selected_pair is not None for node in nodes)


def nominated(*nodes: IceNode) -> bool:
    return all(node.agent._nominated_selected for node in nodes)


def exchange_data(network: Network, a: IceNode, b: IceNode, count: int = 5) -> None:
    before_a, before_b = len(a.payloads), len(b.payloads)
    for index in range(count):
        a.agent.send(b"\x80from a %d" % index)
        b.agent.send(b"\x80from b %d" % index)
    network.run(
        lambda: len(b.payloads) >= before_b + count and len(a.payloads) >= before_a + count,
        timeout=2.0,
    )
    assert b.payloads[-count:] == [b"\x80from a %d" % i for i in range(count)]
    assert a.payloads[-count:] == [b"\x80from b %d" % i for i in range(count)]


def same_route(a: IceNode, b: IceNode) -> None:
    pair_a, pair_b = a.agent.selected_pair, b.agent.selected_pair
    assert pair_a is not None and pair_b is not None
    assert a.sockets[pair_a.socket_id] == pair_b.remote_address
    assert b.sockets[pair_b.socket_id] == pair_a.remote_address


@pytest.mark.parametrize(
    ("a_controlling", "b_controlling"),
    [(True, False), (False, True), (True, True), (False, False)],
    ids=["controlling-controlled", "controlled-controlling", "both-controlling", "both-controlled"],
)
def test_connects_in_every_role_combination(a_controlling: bool, b_controlling: bool) -> None:
    network, a, b, _ = make_pair(a_controlling, b_controlling)
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    # Exactly one side ends up controlling (role conflicts repaired by 487).
    assert {a.agent.role, b.agent.role} == {IceRole.CONTROLLING, IceRole.CONTROLLED}
    same_route(a, b)
    # The best pair is chosen: the first interface on both sides.
    assert a.agent.selected_pair is not None
    assert a.agent.selected_pair.remote_address in (B_SOCKETS[1], B_SOCKETS[2])
    exchange_data(network, a, b)
    network.run(lambda: a.state is IceState.COMPLETED and b.state is IceState.COMPLETED, timeout=5)
    assert a.states() == [IceState.CHECKING, IceState.CONNECTED, IceState.COMPLETED]
    assert network.now < 2.0
    # Pair statistics: checks both ways, and a round trip of twice the delay.
    pair = a.agent.selected_pair
    assert pair is not None and pair.requests_sent >= 1 and pair.responses_received >= 1
    assert pair.requests_received >= 1 and pair.responses_sent == pair.requests_received
    assert pair.current_round_trip_time == pytest.approx(0.02)


def test_trickled_candidates_before_and_after_checks_start() -> None:
    network, a, b, signaling = make_pair(signaling_delay=0.15)
    start(network, a, b)  # checks "start" with no candidates at all
    gather(a, delay_each=0.2, signaling=signaling)
    gather(b, delay_each=0.35, signaling=signaling)
    gathered = [e for e in a.events if isinstance(e, LocalCandidateGathered)]
    assert gathered == []  # candidates are reported one by one, as gathered
    network.run(lambda: connected(a, b), timeout=10.0)
    exchange_data(network, a, b)
    network.run(lambda: a.state is IceState.COMPLETED and b.state is IceState.COMPLETED, timeout=5)
    assert sum(isinstance(e, LocalCandidateGathered) for e in a.events) == 2
    assert any(isinstance(e, GatheringComplete) for e in a.events)
    assert len(a.agent.remote_candidates) == 2


@pytest.mark.parametrize("hidden", ["withheld", "mdns"])
def test_peer_reflexive_only_when_candidates_are_withheld(hidden: str) -> None:
    def hide(candidate: Candidate) -> Candidate | None:
        if hidden == "withheld":
            return None
        # As browsers do: the address is an mDNS name that never resolves here.
        return replace(candidate, address="0b1c5a1e-49a6-4b3e-8e1b-52ea4a9a0f35.local")

    # B never learns A's candidates; A's checks make B learn them as prflx.
    network, a, b, _ = make_pair(to_b=hide)
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    assert {c.type for c in b.agent.remote_candidates} == {"prflx"}
    same_route(a, b)
    exchange_data(network, a, b)


def test_controlled_side_with_withheld_candidates_both_ways_needs_nothing_else() -> None:
    # Neither side learns candidates from signalling except A from B: the
    # connection still forms (A checks B, B answers and learns A as prflx).
    network, a, b, _ = make_pair(a_controlling=False, b_controlling=True, to_b=lambda c: None)
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=15.0)
    exchange_data(network, a, b)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_connects_over_thirty_percent_loss(seed: int) -> None:
    network, a, b, _ = make_pair(seed=seed, link=LinkConfig(delay=0.02, loss=0.3, jitter=0.01))
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=30.0)
    same_route(a, b)
    received = len(b.payloads)
    for index in range(200):
        a.agent.send(b"\x80%d" % index)
    network.advance(1.0)
    delivered = len(b.payloads) - received
    assert 100 < delivered < 180  # about 70 % of 200


def test_ice_restart_keeps_the_old_pair_until_the_new_one_is_selected() -> None:
    network, a, b, signaling = make_pair(signaling_delay=0.1)
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    old_ufrag = a.agent.local_ufrag
    selected_changes = sum(isinstance(e, SelectedPairChanged) for e in a.events)

    a.agent.restart()
    b.agent.restart()
    assert a.agent.local_ufrag != old_ufrag
    # The old pair still carries data while the peers signal again.
    exchange_data(network, a, b)
    signaling.exchange_credentials(a, b)  # candidates are re-announced as events
    network.run(lambda: nominated(a, b), timeout=10.0)
    assert a.agent.remote_ufrag == b.agent.local_ufrag
    assert connected(a, b)
    same_route(a, b)
    exchange_data(network, a, b)
    assert sum(isinstance(e, SelectedPairChanged) for e in a.events) >= selected_changes
    assert IceState.FAILED not in a.states() and IceState.FAILED not in b.states()


def test_consent_loss_disconnects_then_fails_at_thirty_seconds() -> None:
    network, a, b, _ = make_pair()
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    network.advance(20.0)  # consent keeps the connection alive
    assert a.state in CONNECTED and b.state in CONNECTED
    last_consent = a.agent._last_consent
    assert last_consent > 14.0
    cut = network.now
    for x in ("10.0.0.1", "10.0.1.1"):
        for y in ("10.0.0.2", "10.0.1.2"):
            network.set_link(x, y, LinkConfig(loss=1.0))
    network.run(lambda: a.state is IceState.DISCONNECTED, timeout=10.0)
    disconnected_at = network.now
    network.run(lambda: a.state is IceState.FAILED, timeout=40.0)
    failed_at = network.now
    assert disconnected_at - last_consent == pytest.approx(a.agent.disconnected_timeout, abs=1e-6)
    assert failed_at - last_consent == pytest.approx(30.0, abs=1e-6)
    assert cut < failed_at <= cut + 30.0
    assert a.states()[-2:] == [IceState.DISCONNECTED, IceState.FAILED]
    # Nothing more is sent on a failed pair.
    a.agent.send(b"\x80late")
    assert a.agent.datagrams_to_send(network.now) == []


def test_consent_recovers_from_a_short_outage() -> None:
    network, a, b, _ = make_pair()
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    network.set_link("10.0.0.1", "10.0.0.2", LinkConfig(loss=1.0))
    network.run(lambda: a.state is IceState.DISCONNECTED, timeout=15.0)
    network.set_link("10.0.0.1", "10.0.0.2", LinkConfig(delay=0.01))
    network.run(lambda: a.state in CONNECTED, timeout=5.0)
    exchange_data(network, a, b)


def test_fails_when_every_pair_fails_after_end_of_candidates() -> None:
    network, a, b, _ = make_pair(link=LinkConfig(loss=1.0))
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: a.state is IceState.FAILED, timeout=60.0)
    assert a.agent.selected_pair is None


def test_unauthenticated_checks_are_rejected() -> None:
    agent = IceAgent(False, rng=random.Random(5))
    agent.add_local_candidate(1, "10.0.0.1", 4000)
    agent.set_remote_credentials("peer", "peerpasswordpeerpassword")
    agent.start(0.0)
    request = StunMessage(Method.BINDING, MessageClass.REQUEST, bytes(12))
    request.add(AttributeType.USERNAME, f"{agent.local_ufrag}:peer")
    request.add(AttributeType.PRIORITY, 1)
    agent.receive_datagram(request.encode(b"wrong key"), 0.0, 1, ("10.0.0.9", 9))
    (reply,) = agent.datagrams_to_send(0.0)
    response = StunMessage.parse(reply[2])
    assert response.message_class == MessageClass.ERROR
    assert response.error_code is not None and response.error_code.code == 401
    assert agent.remote_candidates == []
    # The right key is answered with the mapped address, and the peer learned.
    agent.receive_datagram(
        request.encode(agent.local_pwd.encode(), fingerprint=True), 0.0, 1, ("10.0.0.9", 9)
    )
    (reply,) = agent.datagrams_to_send(0.0)
    response = StunMessage.parse(reply[2])
    assert response.message_class == MessageClass.SUCCESS
    assert response.get(AttributeType.XOR_MAPPED_ADDRESS) == ("10.0.0.9", 9)
    assert response.verify_integrity(agent.local_pwd.encode())
    assert [c.type for c in agent.remote_candidates] == ["prflx"]


def test_priorities_follow_rfc8445() -> None:
    assert candidate_priority("host", 65535, 1) == 2130706431
    assert candidate_priority("srflx", 65535, 1) == 1694498815
    assert candidate_priority("relay", 65535, 1) == 16777215
    assert pair_priority(2, 1) == (1 << 32) + 4 + 1
    assert pair_priority(1, 2) == (1 << 32) + 4
    agent = IceAgent(True, rng=random.Random(1))
    host = agent.add_local_candidate(1, "10.0.0.1", 1)
    srflx = agent.add_local_candidate(
        1, "203.0.113.5", 7, "srflx", related_address="10.0.0.1", related_port=1
    )
    other = agent.add_local_candidate(2, "10.0.0.2", 2)
    assert host.priority > other.priority > srflx.priority
    assert len({host.foundation, srflx.foundation, other.foundation}) == 3


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=20), st.booleans())
def test_agent_never_raises_on_arbitrary_datagrams(datagrams: list[bytes], started: bool) -> None:
    agent = IceAgent(True, rng=random.Random(3), local_ufrag="ufra", local_pwd="p" * 22)
    agent.add_local_candidate(1, "10.0.0.1", 4000)
    agent.set_remote_credentials("rem", "r" * 22)
    agent.add_remote_candidate(Candidate("1", 1, "udp", 100, "10.0.0.2", 5000, "host"))
    if started:
        agent.start(0.0)
    now = 0.0
    for data in datagrams:
        now += 0.01
        agent.receive_datagram(data, now, 1, ("10.0.0.2", 5000))
        agent.datagrams_to_send(now)
        timer = agent.get_timer()
        if timer is not None and timer <= now:
            agent.handle_timer(now)
    # Also valid-looking STUN with random attribute bodies behind a right key.
    for data in datagrams:
        request = StunMessage(Method.BINDING, MessageClass.REQUEST, bytes(12))
        request.add(AttributeType.USERNAME, "ufra:rem")
        request.add(0xC024, data[:8])
        raw = bytearray(bytes(request))
        raw[32:34] = b"\x00\x24"  # now a PRIORITY, of any length
        raw[2:4] = (len(raw) - 20 + 24).to_bytes(2, "big")
        raw += b"\x00\x08\x00\x14" + hmac.digest(b"p" * 22, bytes(raw), "sha1")
        agent.receive_datagram(bytes(raw), now, 1, ("10.0.0.2", 5000))
        agent.datagrams_to_send(now)
    while agent.next_event() is not None:
        pass


@pytest.mark.parametrize("loss", [0.0, 0.3])
def test_controlled_agent_accepts_aggressive_nomination(loss: float) -> None:
    network, a, b, _ = make_pair(link=LinkConfig(delay=0.01, loss=loss), seed=4)
    a.agent.aggressive_nomination = True
    a.agent.nomination_delay = 1000.0  # no regular nomination would happen in time
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=20.0)
    same_route(a, b)
    assert b.agent.selected_pair is not None and b.agent.selected_pair.nominated
    network.default_link = LinkConfig(delay=0.01)
    network.set_link("10.0.0.1", "10.0.0.2", LinkConfig(delay=0.01))
    network.set_link("10.0.1.1", "10.0.1.2", LinkConfig(delay=0.01))
    network.set_link("10.0.0.1", "10.0.1.2", LinkConfig(delay=0.01))
    network.set_link("10.0.1.1", "10.0.0.2", LinkConfig(delay=0.01))
    exchange_data(network, a, b)


def test_local_peer_reflexive_candidate_is_learned_from_the_mapped_address() -> None:
    # A's host candidate is announced under an address that is not the one it
    # sends from (as behind a NAT): B's responses reveal the real one.
    network, a, b, _ = make_pair(
        to_b=lambda c: replace(c, address="10.0.0.1", port=4000),
        a_sockets={1: ("10.0.0.1", 4000)},
        b_sockets={1: ("10.0.0.2", 5000)},
    )
    a.agent.add_local_candidate(1, "192.0.2.10", 4000)  # a wrong, "private" address
    a.agent.end_of_local_candidates()
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    prflx = [c for c in a.agent.local_candidates if c.type == "prflx"]
    assert [(c.address, c.port) for c in prflx] == [("10.0.0.1", 4000)]
    assert prflx[0].related_address == "192.0.2.10"


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    a_controlling=st.booleans(),
    b_controlling=st.booleans(),
    loss=st.sampled_from([0.0, 0.1, 0.3]),
    delay=st.floats(0.0, 0.2),
    jitter=st.floats(0.0, 0.05),
    signaling_delay=st.floats(0.0, 1.0),
    withhold_a=st.booleans(),
)
def test_any_network_and_role_connects_to_one_agreed_route(
    seed: int,
    a_controlling: bool,
    b_controlling: bool,
    loss: float,
    delay: float,
    jitter: float,
    signaling_delay: float,
    withhold_a: bool,
) -> None:
    network, a, b, _ = make_pair(
        a_controlling,
        b_controlling,
        seed=seed,
        link=LinkConfig(delay=delay, jitter=jitter, loss=loss),
        signaling_delay=signaling_delay,
        to_b=(lambda c: None) if withhold_a else (lambda c: c),
    )
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=40.0)
    assert {a.agent.role, b.agent.role} == {IceRole.CONTROLLING, IceRole.CONTROLLED}
    # Both ends settle on the same 5-tuple once nomination traffic has landed.
    network.advance(2.0)
    same_route(a, b)


def test_failure_waits_for_peer_reflexive_checks_after_end_of_candidates() -> None:
    # A is told wrong ports for B, then end-of-candidates (as a peer that
    # signals a=end-of-candidates does); its own checks all fail. B's checks,
    # started later, must still connect A instead of A failing at once.
    network, a, b, _ = make_pair(to_a=lambda c: replace(c, port=c.port + 1000))
    a.agent.check_rto, a.agent.check_rc = 0.1, 2
    gather(a)
    gather(b)
    a.agent.start(network.now)
    network.run(
        lambda: bool(a.agent.pairs) and all(p.state.value == "failed" for p in a.agent.pairs),
        timeout=10.0,
    )
    assert a.agent.pairs and a.state is IceState.CHECKING
    b.agent.start(network.now)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    assert IceState.FAILED not in a.states()
    exchange_data(network, a, b)


@pytest.mark.parametrize("a_controlling", [True, False])
def test_both_behind_port_restricted_nats_connect_through_srflx(a_controlling: bool) -> None:
    network = Network(seed=9, default_link=LinkConfig(delay=0.02))
    signaling = Signaling(network, delay=0.05)
    a_agent = IceAgent(a_controlling, rng=random.Random(10))
    b_agent = IceAgent(not a_controlling, rng=random.Random(11))
    node_b: IceNode

    def from_a(node: IceNode, event: object, now: float) -> None:
        signaling.forward_candidate(node_b, event)

    def from_b(node: IceNode, event: object, now: float) -> None:
        signaling.forward_candidate(node_a, event)

    # Private addresses nobody can reach; public ones on the NATs.
    node_a = IceNode(
        a_agent, {1: ("192.168.1.10", 4000)}, from_a, gather=False, nat={1: ("198.51.100.1", 61000)}
    ).attach(network)
    node_b = IceNode(
        b_agent, {1: ("192.168.7.20", 5000)}, from_b, gather=False, nat={1: ("203.0.113.9", 62000)}
    ).attach(network)
    signaling.exchange_credentials(node_a, node_b)
    for node, public in ((node_a, ("198.51.100.1", 61000)), (node_b, ("203.0.113.9", 62000))):
        host, port = node.sockets[1]
        node.agent.add_local_candidate(1, host, port)
        node.agent.add_local_candidate(
            1, public[0], public[1], "srflx", related_address=host, related_port=port
        )
        node.agent.end_of_local_candidates()
    start(network, node_a)
    network.run(lambda: node_a.agent.dropped > 0 or node_b.filtered > 0, timeout=1.0)
    start(network, node_b)  # B opens its NAT only later
    network.run(lambda: connected(node_a, node_b) and nominated(node_a, node_b), timeout=20.0)
    pair_a = node_a.agent.selected_pair
    assert pair_a is not None and pair_a.remote_address == ("203.0.113.9", 62000)
    assert pair_a.remote.type == "srflx"
    # The host pairs failed: private addresses are unreachable.
    assert network.undeliverable > 0
    # The mapped address the peer reports is the srflx candidate: no local
    # peer-reflexive candidate is invented for it.
    assert [c.type for c in node_a.agent.local_candidates] == ["host", "srflx"]
    # The NATs did filter unsolicited checks: connecting needed both sides.
    assert node_a.filtered + node_b.filtered > 0
    exchange_data(network, node_a, node_b)


def test_signalled_candidate_replaces_the_peer_reflexive_one_learned_first() -> None:
    held: list[Candidate] = []

    def hold(candidate: Candidate) -> None:
        held.append(candidate)

    # B hears of A's candidates only late: A's checks reveal them first.
    network, a, b, signaling = make_pair(to_b=hold)
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: any(c.type == "prflx" for c in b.agent.remote_candidates), timeout=2.0)
    for candidate in held:
        signaling.later(lambda c=candidate: b.agent.add_remote_candidate(c), delay=0.5)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    network.advance(1.0)
    assert {c.type for c in b.agent.remote_candidates} == {"host"}
    assert all(p.remote.type == "host" for p in b.agent.pairs)
    pair = b.agent.selected_pair
    assert pair is not None and pair.remote.type == "host"


def test_candidates_of_another_generation_are_ignored() -> None:
    agent = IceAgent(True, rng=random.Random(2))
    agent.add_local_candidate(1, "10.0.0.1", 4000)
    agent.set_remote_credentials("newufrag", "p" * 22)
    stale = Candidate("1", 1, "udp", 100, "10.0.0.2", 5000, "host", ufrag="oldufrag")
    current = replace(stale, port=5001, ufrag="newufrag")
    agent.add_remote_candidate(stale)
    agent.add_remote_candidate(current)
    assert agent.remote_candidates == [current]
    assert [p.remote_address for p in agent.pairs] == [("10.0.0.2", 5001)]


def test_ice_restart_recovers_a_connection_that_lost_consent() -> None:
    network, a, b, signaling = make_pair()
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    cut = LinkConfig(loss=1.0)
    for x, y in (
        ("10.0.0.1", "10.0.0.2"),
        ("10.0.1.1", "10.0.1.2"),
        ("10.0.0.1", "10.0.1.2"),
        ("10.0.1.1", "10.0.0.2"),
    ):
        network.set_link(x, y, cut)
    network.run(lambda: a.state is IceState.FAILED and b.state is IceState.FAILED, timeout=40.0)
    for x, y in (
        ("10.0.0.1", "10.0.0.2"),
        ("10.0.1.1", "10.0.1.2"),
        ("10.0.0.1", "10.0.1.2"),
        ("10.0.1.1", "10.0.0.2"),
    ):
        network.set_link(x, y, LinkConfig(delay=0.01))
    a.agent.restart()
    b.agent.restart()
    assert a.state is IceState.CHECKING and a.agent.selected_pair is None
    signaling.exchange_credentials(a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    network.advance(35.0)  # consent holds on the new pair
    assert a.state in CONNECTED and b.state in CONNECTED
    exchange_data(network, a, b)


def test_unknown_comprehension_required_attribute_gets_420() -> None:
    agent = IceAgent(False, rng=random.Random(6))
    agent.add_local_candidate(1, "10.0.0.1", 4000)
    request = StunMessage(Method.BINDING, MessageClass.REQUEST, bytes(12))
    request.add(AttributeType.USERNAME, f"{agent.local_ufrag}:peer")
    request.add(0x0077, b"must understand")
    agent.receive_datagram(
        request.encode(agent.local_pwd.encode(), fingerprint=True), 0.0, 1, ("10.0.0.9", 9)
    )
    (reply,) = agent.datagrams_to_send(0.0)
    response = StunMessage.parse(reply[2])
    assert response.error_code is not None and response.error_code.code == 420
    assert response.get(AttributeType.UNKNOWN_ATTRIBUTES) == (0x0077,)
    assert response.verify_integrity(agent.local_pwd.encode())
    assert agent.remote_candidates == []


def test_role_can_be_chosen_after_construction() -> None:
    network, a, b, _ = make_pair(False, False)
    a.agent.set_role(True)
    assert a.agent.controlling and a.agent.role is IceRole.CONTROLLING
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    assert a.agent.controlling and not b.agent.controlling
    # No role conflict had to be repaired.
    assert all(p.checked_as in (None, IceRole.CONTROLLING) for p in a.agent.pairs)


@pytest.mark.parametrize("started", [False, True])
def test_payload_is_accepted_on_a_route_whose_check_was_answered(started: bool) -> None:
    """RFC 8445 sections 7.3 and 11: the peer may send data (its DTLS first flight)
    on a pair as soon as its own check of it succeeded, before our check of the
    pair does, and even before we know its credentials or started checking."""
    agent = IceAgent(False, rng=random.Random(7))
    agent.add_local_candidate(1, "10.0.0.1", 4000)
    if started:
        agent.set_remote_credentials("peer", "peerpasswordpeerpassword")
        agent.start(0.0)
    peer, stranger = ("10.0.0.9", 9), ("10.0.0.8", 8)
    record = b"\x16\xfe\xfd" + bytes(10)  # a DTLS handshake record (RFC 7983: 20..63)
    agent.receive_datagram(record, 0.0, 1, peer)
    assert not [e for e in iter(agent.next_event, None) if isinstance(e, PayloadReceived)]
    dropped = agent.dropped
    request = StunMessage(Method.BINDING, MessageClass.REQUEST, bytes(12))
    request.add(AttributeType.USERNAME, f"{agent.local_ufrag}:peer")
    request.add(AttributeType.PRIORITY, 1)
    # An unauthenticated check does not open the route.
    agent.receive_datagram(request.encode(b"wrong key"), 0.0, 1, peer)
    agent.receive_datagram(record, 0.0, 1, peer)
    assert agent.dropped == dropped + 1
    agent.receive_datagram(
        request.encode(agent.local_pwd.encode(), fingerprint=True), 0.0, 1, peer
    )
    assert any(
        StunMessage.parse(data).message_class == MessageClass.SUCCESS
        for _, _, data in agent.datagrams_to_send(0.0)
    )
    agent.receive_datagram(record, 0.0, 1, peer)
    agent.receive_datagram(record, 0.0, 1, stranger)  # never checked: dropped
    agent.receive_datagram(record, 0.0, 2, peer)  # another socket: another route
    payloads = [e for e in iter(agent.next_event, None) if isinstance(e, PayloadReceived)]
    assert payloads == [PayloadReceived(record, 1, peer)]
    assert agent.dropped == dropped + 3


# -- a full checklist under a replayed-check flood (RFC 8445 section 6.1.2.5) --


def authentic_check(sender: IceAgent, target: IceAgent) -> bytes:
    """A connectivity check exactly as ``sender`` would send it to ``target``."""
    request = StunMessage(Method.BINDING, MessageClass.REQUEST, bytes(range(12)))
    request.add(AttributeType.USERNAME, f"{target.local_ufrag}:{sender.local_ufrag}")
    request.add(AttributeType.PRIORITY, candidate_priority("prflx"))
    role = AttributeType.ICE_CONTROLLING if sender.controlling else AttributeType.ICE_CONTROLLED
    request.add(role, sender.tie_breaker)
    return request.encode(target.local_pwd.encode(), fingerprint=True)


def replay_flood(network: Network, data: bytes, target: Address, count: int = 120) -> None:
    """Replay one check from ``count`` source addresses nobody answers from."""
    for index in range(count):
        network.send((f"10.66.{index // 250}.{index % 250 + 1}", 40000 + index), target, data)


Address = tuple[str, int]


def test_trickled_candidate_is_paired_and_checked_despite_a_replay_flood() -> None:
    # B (the victim, controlling) first hears of A only through A's checks;
    # A's candidates are trickled late. Before they come, one authentic check
    # of A is replayed from 120 addresses: the checklist fills with 100
    # peer-reflexive pairs to the attacker, and A's own checks find no room.
    withheld: list[Candidate] = []

    def hold(candidate: Candidate) -> None:
        withheld.append(candidate)

    network, a, b, _ = make_pair(a_controlling=False, b_controlling=True, to_b=hold)
    gather(a)
    gather(b)
    network.run(lambda: b.agent.remote_ufrag is not None and a.agent.remote_ufrag is not None)
    b.agent.start(network.now)
    replay_flood(network, authentic_check(a.agent, b.agent), B_SOCKETS[1])
    network.run(lambda: len(b.agent.pairs) == 100, timeout=1.0)
    assert all(p.remote.type == "prflx" for p in b.agent.pairs)
    a.agent.start(network.now)
    network.advance(0.5)
    assert b.agent.selected_pair is None
    assert len(b.agent.pairs) == 100 and len(b.agent.remote_candidates) == 100
    a_addresses = set(A_SOCKETS.values())

    # The trickled candidates evict unproven peer-reflexive pairs, and their
    # checks are not queued behind the ~100 triggered checks to the attacker
    # (which alone would take 100 x Ta = 5 s).
    trickled_at = network.now
    for candidate in withheld:
        b.agent.add_remote_candidate(candidate)
    assert len(b.agent.pairs) == 100
    signalled = [p for p in b.agent.pairs if p.remote.type == "host"]
    assert len(signalled) == len(A_SOCKETS) * len(B_SOCKETS)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    assert network.now - trickled_at < 1.5
    selected = b.agent.selected_pair
    assert selected is not None and selected.remote_address in a_addresses
    assert b.agent.evicted_pairs >= len(signalled)
    assert len(b.agent.pairs) <= 100 and len(b.agent.remote_candidates) <= 100
    same_route(a, b)
    exchange_data(network, a, b)


def test_selected_and_valid_pairs_are_never_evicted() -> None:
    # B learns A only as peer-reflexive (A's candidates are withheld), so its
    # selected, nominated pair is itself peer-reflexive: the most exposed case.
    network, a, b, _ = make_pair(to_b=lambda c: None)
    gather(a)
    gather(b)
    start(network, a, b)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    network.advance(1.0)
    selected = b.agent.selected_pair
    assert selected is not None and selected.remote.type == "prflx"
    valid = [p for p in b.agent.pairs if p.state.value == "succeeded"]
    assert selected in valid
    replay_flood(network, authentic_check(a.agent, b.agent), B_SOCKETS[1], count=150)
    network.advance(0.05)
    assert len(b.agent.pairs) == 100
    # Far more signalled candidates than the checklist holds: every
    # unproven peer-reflexive pair goes, the valid ones stay.
    for index in range(120):
        b.agent.add_remote_candidate(
            Candidate("9", 1, "udp", candidate_priority("host"), "10.77.0.1", 6000 + index, "host")
        )
    assert len(b.agent.pairs) == 100
    assert b.agent.selected_pair is selected and selected in b.agent.pairs
    assert all(pair in b.agent.pairs for pair in valid)
    assert not any(
        p.remote.type == "prflx" and p.state.value != "succeeded" for p in b.agent.pairs
    )
    assert selected.route in b.agent.valid_routes
    exchange_data(network, a, b)
    assert b.agent.selected_pair is selected


def test_failed_peer_reflexive_pairs_free_their_slots() -> None:
    # The flood fills B's checklist; its checks to the attacker's addresses
    # fail. Those failed pairs must not hold the cap: A, whose candidates B
    # never receives, must still reach B through its peer-reflexive checks.
    network, a, b, _ = make_pair(a_controlling=True, b_controlling=False, to_b=lambda c: None)
    b.agent.check_rto, b.agent.check_rc = 0.05, 2
    gather(a)
    gather(b)
    network.run(lambda: b.agent.remote_ufrag is not None)
    b.agent.start(network.now)
    replay_flood(network, authentic_check(a.agent, b.agent), B_SOCKETS[1])
    network.run(lambda: len(b.agent.pairs) == 100, timeout=1.0)
    network.run(
        lambda: all(p.state.value == "failed" for p in b.agent.pairs), timeout=10.0
    )
    assert len(b.agent.pairs) == 100
    a.agent.start(network.now)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    selected = b.agent.selected_pair
    assert selected is not None and selected.remote_address in set(A_SOCKETS.values())
    assert len(b.agent.pairs) <= 100 and len(b.agent.remote_candidates) <= 100
    assert len(b.agent.valid_routes) <= 100
    # The evicted attacker pairs took their candidates and routes with them.
    remote_addresses = {(c.address, c.port) for c in b.agent.remote_candidates}
    assert remote_addresses == {p.remote_address for p in b.agent.pairs}
    exchange_data(network, a, b)


def test_learned_pair_budget_and_configurable_limit_under_a_flood() -> None:
    # Opt-in policy: at most 5 pairs learned from checks per second, and a
    # checklist of 20 (RFC 8445 section 6.1.2.5: the limit is configurable).
    # A one-shot flood then takes 5 slots, not the whole list, and the real
    # peer, known to B only through its checks, connects.
    network, a, b, _ = make_pair(to_b=lambda c: None)
    b.agent.learned_pair_limit = (5, 1.0)
    b.agent.max_pairs = 20
    gather(a)
    gather(b)
    network.run(lambda: b.agent.remote_ufrag is not None)
    b.agent.start(network.now)
    dropped = b.agent.dropped
    replay_flood(network, authentic_check(a.agent, b.agent), B_SOCKETS[1])
    network.advance(0.05)
    assert len(b.agent.pairs) == 5 and len(b.agent.remote_candidates) == 5
    assert len(b.agent.valid_routes) == 5
    assert b.agent.dropped - dropped == 115
    network.advance(1.0)
    a.agent.start(network.now)
    network.run(lambda: connected(a, b) and nominated(a, b), timeout=10.0)
    selected = b.agent.selected_pair
    assert selected is not None and selected.remote_address in set(A_SOCKETS.values())
    assert len(b.agent.pairs) <= 20
    exchange_data(network, a, b)


_CHECKLIST_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("flood"), st.integers(1, 60)),
        st.tuples(st.just("trickle"), st.integers(1, 8)),
        st.tuples(st.just("answer"), st.integers(1, 10)),
        st.tuples(st.just("tick"), st.integers(1, 40)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=30, deadline=None)
@given(ops=_CHECKLIST_OPS, max_pairs=st.sampled_from([10, 100]))
def test_full_checklist_invariants_under_floods_trickles_and_answers(
    ops: list[tuple[str, int]], max_pairs: int
) -> None:
    """Bounded, consistent, and nothing valid, nominated or selected evicted."""
    peer_pwd = "peerpasswordpeerpassword"
    agent = IceAgent(True, rng=random.Random(3), max_pairs=max_pairs)
    agent.add_local_candidate(1, "10.0.0.1", 4000)
    agent.set_remote_credentials("peer", peer_pwd)
    agent.start(0.0)
    now, sources, trickled = 0.0, 0, 0
    sent: list[tuple[Address, bytes]] = []

    def check_from(address: Address) -> None:
        request = StunMessage(Method.BINDING, MessageClass.REQUEST, bytes(12))
        request.add(AttributeType.USERNAME, f"{agent.local_ufrag}:peer")
        request.add(AttributeType.PRIORITY, candidate_priority("prflx"))
        request.add(AttributeType.ICE_CONTROLLED, 1)
        data = request.encode(agent.local_pwd.encode(), fingerprint=True)
        agent.receive_datagram(data, now, 1, address)

    for op, amount in ops:
        before = {pair: (pair.state, pair.nominated) for pair in agent.pairs}
        selected_before = agent.selected_pair
        if op == "flood":
            for _ in range(amount):
                sources += 1
                check_from((f"10.66.{sources // 250}.{sources % 250 + 1}", 40000))
        elif op == "trickle":
            for _ in range(amount):
                trickled += 1
                agent.add_remote_candidate(
                    Candidate("7", 1, "udp", candidate_priority("host"), "10.77.0.1",
                              1000 + trickled, "host")
                )
        elif op == "answer":
            # The peer answers some checks (and so validates those pairs).
            for address, data in sent[:amount]:
                request = StunMessage.parse(data)
                response = StunMessage(
                    Method.BINDING, MessageClass.SUCCESS, request.transaction_id
                )
                response.add(AttributeType.XOR_MAPPED_ADDRESS, ("10.0.0.1", 4000))
                agent.receive_datagram(
                    response.encode(peer_pwd.encode(), fingerprint=True), now, 1, address
                )
            del sent[:amount]
        else:
            now += amount * 0.05
            agent.handle_timer(now)
        sent.extend(
            (address, data)
            for _, address, data in agent.datagrams_to_send(now)
            if StunMessage.parse(data).message_class == MessageClass.REQUEST
        )

        pairs = agent.pairs
        assert len(pairs) <= max_pairs
        assert set(agent._pairs_by_route.values()) == set(pairs)
        assert len(agent._pairs_by_route) == len(pairs)
        remotes = {(c.address, c.port) for c in agent.remote_candidates}
        assert {p.remote_address for p in pairs} <= remotes
        assert len(agent.remote_candidates) <= max_pairs + trickled
        learned_remotes = {(c.address, c.port) for c in agent.remote_candidates
                           if c.type == "prflx"}
        assert learned_remotes <= {p.remote_address for p in pairs}
        assert agent.valid_routes <= {p.route for p in pairs} | (
            {agent.selected_pair.route} if agent.selected_pair is not None else set()
        )
        if agent.selected_pair is not None:
            assert agent.selected_pair in pairs
        if op != "tick":  # only timers may fail a pair; nothing else removes a good one
            for pair, (state, nominated_before) in before.items():
                if pair not in pairs:
                    assert state is not PairState.SUCCEEDED and not nominated_before
                    assert pair is not selected_before
