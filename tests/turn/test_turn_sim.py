"""The TURN client against the scripted server, in the simulator's virtual time."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pytest

from webrtc.ice.stun import AttributeType, MessageClass, Method, PasswordAlgorithm, StunMessage
from webrtc.ice.turn import (
    Allocated,
    AllocationFailed,
    AllocationLost,
    AllocationRefreshed,
    ChannelBound,
    DataReceived,
    Deallocated,
    PermissionCreated,
    PermissionFailed,
    Redirected,
    TurnClient,
    TurnState,
)
from webrtc.testing import LinkConfig, Network
from webrtc.testing.network import Address
from webrtc.testing.turn import ScriptedTurnServer, TurnClientNode

CLIENT = ("10.0.0.1", 40000)
SERVER = ("10.0.0.2", 3478)
PEER = ("10.0.0.3", 5000)
DELAY = 0.01


class EchoPeer:
    """A plain UDP peer: records what reaches it and echoes it back."""

    def __init__(self, network: Network, address: Address, echo: bool = True) -> None:
        self.address = address
        self.echo = echo
        self.received: list[tuple[float, Address, bytes]] = []
        self._outgoing: list[tuple[Address, Address, bytes]] = []
        network.add(self, address)

    def send(self, data: bytes, destination: Address) -> None:
        self._outgoing.append((self.address, destination, data))

    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> None:
        self.received.append((now, source, data))
        if self.echo:
            self._outgoing.append((self.address, source, b"echo:" + data))

    def transmit(self, now: float) -> Iterable[tuple[Address, Address, bytes]]:
        out, self._outgoing = self._outgoing, []
        return out

    def get_timer(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        return None


def make_client(
    username: str = "user", password: str = "password", **options: object
) -> TurnClient:
    ids = itertools.count(1)
    return TurnClient(
        SERVER,
        username,
        password,
        random_bytes=lambda n: next(ids).to_bytes(n, "big"),
        **options,  # type: ignore[arg-type]
    )


def setup(
    seed: int = 0,
    link: LinkConfig | None = None,
    server_options: dict[str, object] | None = None,
    client_options: dict[str, object] | None = None,
) -> tuple[Network, ScriptedTurnServer, TurnClientNode]:
    network = Network(seed=seed, default_link=LinkConfig(delay=DELAY))
    if link is not None:
        network.set_link(CLIENT[0], SERVER[0], link)
    server = ScriptedTurnServer(network, SERVER, **(server_options or {}))  # type: ignore[arg-type]
    client = make_client(**(client_options or {}))
    node = TurnClientNode(network, client, CLIENT)
    return network, server, node


def allocate(network: Network, node: TurnClientNode, timeout: float = 60.0) -> Allocated:
    node.client.allocate(network.now)
    network.run(lambda: node.client.state is not TurnState.ALLOCATING, timeout=timeout)
    event = node.events[0] if node.events else None
    assert isinstance(event, Allocated), node.events
    return event


def test_allocate_with_long_term_credentials() -> None:
    network, server, node = setup()
    event = allocate(network, node)
    assert event.relayed_address == (SERVER[0], 50000)
    assert event.mapped_address == CLIENT
    assert event.lifetime == 600
    # First Allocate unauthenticated (401), then the authenticated retry.
    allocates = [e for e in server.log if e.method == Method.ALLOCATE]
    assert [e.authenticated for e in allocates] == [False, True]
    # Two round trips of 2 * DELAY each.
    assert network.now == pytest.approx(4 * DELAY)
    assert node.client.password_algorithm is None


def test_refresh_permission_and_channel_timers_fire_at_the_right_virtual_times() -> None:
    network, server, node = setup()
    allocate(network, node)
    start = network.now
    node.client.send_to(b"hello", PEER, network.now)
    peer = EchoPeer(network, PEER)
    network.advance(1300)
    # The data reached the peer, and its echo came back through the relay.
    assert [data for _, _, data in peer.received] == [b"hello"]
    assert any(
        isinstance(e, DataReceived) and e.data == b"echo:hello" and e.peer == PEER
        for e in node.events
    )

    def times(method: int) -> list[float]:
        return [round(e.time - start, 6) for e in server.requests(method)]

    # Allocation lifetime 600 s: refresh one minute before expiry, then every 540 s.
    assert times(Method.REFRESH) == pytest.approx([540 + DELAY, 1080 + 2 * DELAY + DELAY])
    # Permission (300 s): installed at once, refreshed 60 s before it ends.
    permission_times = times(Method.CREATE_PERMISSION)
    assert permission_times[0] == pytest.approx(DELAY)
    gaps = [b - a for a, b in itertools.pairwise(permission_times)]
    assert gaps and all(gap == pytest.approx(240, abs=0.1) for gap in gaps)
    assert len(permission_times) == 1 + int((1300 - 2 * DELAY) // 240)
    # Channel (600 s): bound at once, refreshed at 540 s and 1080 s.
    channel_times = times(Method.CHANNEL_BIND)
    assert channel_times == pytest.approx([DELAY, 540 + 3 * DELAY, 1080 + 5 * DELAY], abs=0.1)
    assert len({e.channel for e in server.requests(Method.CHANNEL_BIND)}) == 1
    refreshes = [e for e in node.events if isinstance(e, AllocationRefreshed)]
    assert len(refreshes) == 2
    assert node.client.state is TurnState.ALLOCATED


def test_short_lifetime_refreshes_keep_the_allocation_alive() -> None:
    network, server, node = setup(server_options={"max_lifetime": 10})
    event = allocate(network, node)
    assert event.lifetime == 10
    network.advance(60)
    assert node.client.state is TurnState.ALLOCATED
    assert server.allocation(CLIENT, network.now) is not None
    # Half of the lifetime before expiry: every 5 seconds.
    assert len(server.requests(Method.REFRESH)) == pytest.approx(12, abs=1)


def test_send_indications_until_the_channel_is_bound_then_channel_data() -> None:
    network, server, node = setup()
    allocate(network, node)
    peer = EchoPeer(network, PEER, echo=False)
    client = node.client
    client.send_to(b"first", PEER, network.now)
    network.run(lambda: client.channel_for(PEER) is not None, timeout=5)
    network.advance(1)
    sends = [e for e in server.log if e.method == Method.SEND]
    assert len(sends) == 1  # "first" waited for the permission, then went as a Send indication
    client.send_to(b"second", PEER, network.now)
    network.advance(1)
    assert [data for _, _, data in peer.received] == [b"first", b"second"]
    assert len([e for e in server.log if e.method == Method.SEND]) == 1  # second was ChannelData
    # Data from the peer: before the channel exists a Data indication, after it ChannelData.
    peer.send(b"from-peer", event_relayed(node))
    network.advance(1)
    assert [e.data for e in node.events if isinstance(e, DataReceived)] == [b"from-peer"]
    kinds = [type(e) for e in node.events]
    assert kinds.index(PermissionCreated) < kinds.index(ChannelBound)


def event_relayed(node: TurnClientNode) -> Address:
    address = node.client.relayed_address
    assert address is not None
    return address


def test_data_indication_before_any_channel() -> None:
    network, server, node = setup(client_options={"auto_bind_channels": False})
    allocate(network, node)
    peer = EchoPeer(network, PEER)
    node.client.send_to(b"ping", PEER, network.now)
    network.advance(1)
    assert [d for _, _, d in peer.received] == [b"ping"]
    assert [e.data for e in node.events if isinstance(e, DataReceived)] == [b"echo:ping"]
    assert server.requests(Method.CHANNEL_BIND) == []
    assert len([e for e in server.log if e.method == Method.SEND]) == 1


@pytest.mark.parametrize("seed", range(20))
def test_thirty_percent_loss_on_the_client_server_link_still_allocates(seed: int) -> None:
    network, _server, node = setup(seed=seed, link=LinkConfig(delay=DELAY, loss=0.3))
    allocate(network, node, timeout=120)
    # And relayed data still flows (retransmitted requests, lost data is lost).
    peer = EchoPeer(network, PEER)
    for index in range(20):
        node.client.send_to(b"x%d" % index, PEER, network.now)
        network.advance(0.1)
    network.run(lambda: node.client.channel_for(PEER) is not None, timeout=40)
    assert peer.received


def test_loss_actually_happens_at_thirty_percent() -> None:
    lost = 0
    for seed in range(5):
        network, _, node = setup(seed=seed, link=LinkConfig(delay=DELAY, loss=0.3))
        allocate(network, node, timeout=120)
        stats = network.link_stats(CLIENT[0], SERVER[0])
        lost += stats.lost + network.link_stats(SERVER[0], CLIENT[0]).lost
    assert lost > 0


def test_server_that_never_answers_fails_the_allocation() -> None:
    network, server, node = setup()
    server.answering = False
    node.client.allocate(network.now)
    network.run(lambda: node.client.state is TurnState.FAILED, timeout=100)
    assert node.events == [AllocationFailed(None, "the TURN server did not answer")]
    # RFC 8489 section 6.2.1: 7 sends, then a final wait of 16 RTO: 39.5 s;
    # the Allocate runs that schedule twice.
    assert network.now == pytest.approx(2 * 39.5)
    assert network.link_stats(CLIENT[0], SERVER[0]).sent == 14


def test_server_that_stops_answering_loses_the_allocation() -> None:
    network, server, node = setup(server_options={"max_lifetime": 120})
    allocate(network, node)
    start = network.now
    server.answering = False
    network.run(lambda: node.client.state is TurnState.FAILED, timeout=300)
    lost = [e for e in node.events if isinstance(e, AllocationLost)]
    assert len(lost) == 1
    # Refreshes start 60 s before the 120 s expiry; the loss is reported at expiry.
    assert network.now - start == pytest.approx(120, abs=1)


def test_wrong_password_fails_fast_with_the_servers_error() -> None:
    network, _, node = setup(client_options={"password": "wrong"})
    node.client.allocate(network.now)
    network.run(lambda: node.client.state is TurnState.FAILED, timeout=60)
    assert node.events == [AllocationFailed(401, "Unauthorized")]
    assert network.now == pytest.approx(4 * DELAY)


def test_unknown_user_fails_fast() -> None:
    network, _, node = setup(client_options={"username": "mallory"})
    node.client.allocate(network.now)
    network.run(lambda: node.client.state is TurnState.FAILED, timeout=60)
    assert node.events == [AllocationFailed(401, "Unauthorized")]


def test_other_errors_are_typed_events_with_code_and_reason() -> None:
    network, server, node = setup()
    server.fail_next(Method.ALLOCATE, 486, "Allocation Quota Reached")
    node.client.allocate(network.now)
    network.run(lambda: node.client.state is TurnState.FAILED, timeout=60)
    assert node.events == [AllocationFailed(486, "Allocation Quota Reached")]


def test_stale_nonce_is_retried_with_the_new_nonce() -> None:
    network, server, node = setup(server_options={"nonce_lifetime": 100})
    allocate(network, node)
    node.client.send_to(b"x", PEER, network.now)
    EchoPeer(network, PEER)
    network.advance(1200)
    # Every request after the first 100 s carried a stale nonce at least once
    # (438, logged as unauthenticated) and was retried with the fresh one.
    stale = [
        e
        for e in server.log
        if e.message_class == MessageClass.REQUEST and not e.authenticated and e.time > 1
    ]
    assert {e.method for e in stale} >= {Method.REFRESH, Method.CREATE_PERMISSION}
    for entry in stale:
        retry = [
            e
            for e in server.log
            if e.method == entry.method
            and e.authenticated
            and entry.time <= e.time < entry.time + 1
        ]
        assert retry, entry
    assert node.client.state is TurnState.ALLOCATED
    assert not [e for e in node.events if isinstance(e, (AllocationLost, PermissionFailed))]
    assert server.allocation(CLIENT, network.now) is not None


def test_try_alternate_moves_to_the_other_server() -> None:
    network = Network(seed=1, default_link=LinkConfig(delay=DELAY))
    other = ("10.0.0.9", 3478)
    ScriptedTurnServer(network, SERVER, alternate=other)
    second = ScriptedTurnServer(network, other)
    node = TurnClientNode(network, make_client(), CLIENT)
    node.client.allocate(network.now)
    network.run(lambda: node.client.state is not TurnState.ALLOCATING, timeout=60)
    assert node.events[0] == Redirected(other)
    assert isinstance(node.events[1], Allocated)
    assert node.client.server_address == other
    assert second.allocation(CLIENT, network.now) is not None


def test_redirect_loop_fails() -> None:
    network = Network(seed=1, default_link=LinkConfig(delay=DELAY))
    other = ("10.0.0.9", 3478)
    ScriptedTurnServer(network, SERVER, alternate=other)
    ScriptedTurnServer(network, other, alternate=SERVER)
    node = TurnClientNode(network, make_client(), CLIENT)
    node.client.allocate(network.now)
    network.run(lambda: node.client.state is not TurnState.ALLOCATING, timeout=60)
    assert node.events[-1] == AllocationFailed(300, "Try Alternate")


def test_password_algorithms_use_sha256_and_message_integrity_sha256() -> None:
    algorithms = (PasswordAlgorithm.SHA256, PasswordAlgorithm.MD5)
    network, server, node = setup(server_options={"password_algorithms": algorithms})
    allocate(network, node)
    assert node.client.password_algorithm == PasswordAlgorithm.SHA256
    node.client.send_to(b"x", PEER, network.now)
    EchoPeer(network, PEER)
    network.advance(600)
    assert node.client.state is TurnState.ALLOCATED
    assert server.allocations[CLIENT].sha256


def test_md5_only_password_algorithm() -> None:
    network, _, node = setup(server_options={"password_algorithms": (PasswordAlgorithm.MD5,)})
    allocate(network, node)
    assert node.client.password_algorithm == PasswordAlgorithm.MD5


def test_no_supported_password_algorithm_fails() -> None:
    network, _, node = setup(server_options={"password_algorithms": (0x7777,)})
    node.client.allocate(network.now)
    network.run(lambda: node.client.state is TurnState.FAILED, timeout=60)
    assert node.events == [AllocationFailed(401, "Unauthorized")]


def test_permission_refused_is_an_event() -> None:
    network, server, node = setup(client_options={"auto_bind_channels": False})
    allocate(network, node)
    server.fail_next(Method.CREATE_PERMISSION, 403, "Forbidden")
    node.client.send_to(b"x", PEER, network.now)
    network.advance(1)
    assert PermissionFailed(PEER[0], 403, "Forbidden") in node.events
    assert node.client.permissions == []


def test_close_deallocates() -> None:
    network, server, node = setup()
    allocate(network, node)
    node.client.close(network.now)
    network.run(lambda: node.client.state is TurnState.CLOSED, timeout=60)
    assert isinstance(node.events[-1], Deallocated)
    refresh = server.requests(Method.REFRESH)[-1]
    assert refresh.lifetime == 0
    assert server.allocation(CLIENT, network.now) is None
    assert node.client.get_timer() is None


def test_close_against_a_dead_server_still_finishes() -> None:
    network, server, node = setup()
    allocate(network, node)
    server.answering = False
    node.client.close(network.now)
    network.run(lambda: node.client.state is TurnState.CLOSED, timeout=60)
    assert isinstance(node.events[-1], Deallocated)


def test_requests_are_unauthenticated_only_once() -> None:
    network, server, node = setup()
    allocate(network, node)
    node.client.send_to(b"x", PEER, network.now)
    network.advance(5)
    unauthenticated = [
        e for e in server.log if e.message_class == MessageClass.REQUEST and not e.authenticated
    ]
    assert len(unauthenticated) == 1


def test_try_alternate_carries_the_alternate_domain() -> None:
    network = Network(seed=1, default_link=LinkConfig(delay=DELAY))
    other = ("10.0.0.9", 3478)
    ScriptedTurnServer(network, SERVER, alternate=other, alternate_domain="turn2.example.org")
    ScriptedTurnServer(network, other)
    node = TurnClientNode(network, make_client(), CLIENT)
    node.client.allocate(network.now)
    network.run(lambda: node.client.state is not TurnState.ALLOCATING, timeout=60)
    assert node.events[0] == Redirected(other, "turn2.example.org")
    assert isinstance(node.events[1], Allocated)


def test_no_data_events_after_close() -> None:
    network, _server, node = setup(client_options={"auto_bind_channels": False})
    allocate(network, node)
    peer = EchoPeer(network, PEER, echo=False)
    node.client.send_to(b"x", PEER, network.now)
    network.advance(1)
    relayed = event_relayed(node)
    peer.send(b"before", relayed)
    network.advance(1)
    node.client.close(network.now)
    network.run(lambda: node.client.state is TurnState.CLOSED, timeout=5)
    # A Data indication the server had in flight, arriving after the close.
    late = StunMessage(
        Method.DATA,
        MessageClass.INDICATION,
        bytes(12),
        [(AttributeType.XOR_PEER_ADDRESS, PEER), (AttributeType.DATA, b"late")],
    )
    node.client.receive_datagram(bytes(late), network.now)
    data = [e.data for e in node.events if isinstance(e, DataReceived)]
    assert data == [b"before"]
    assert node.client.next_event() is None
