"""The asyncio adapter over real loopback UDP: ours to ours, ours to aioice,
server-reflexive gathering from a STUN server, mDNS names, port ranges."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest

from webrtc.ice.agent import GatheringComplete, IceState, LocalCandidateGathered
from webrtc.ice.aio import IceConnection, build_mdns_query, parse_mdns_answers
from webrtc.ice.stun import AttributeType, MessageClass, Method, StunMessage
from webrtc.sdp.candidate import Candidate

LOOPBACK = "127.0.0.1"


class Collector:
    """Records payloads and events of one connection."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self.batches = 0
        self.events: list[object] = []
        self.arrived = asyncio.Event()

    def payload(self, data: bytes) -> None:
        self.payloads.append(data)
        self.arrived.set()

    def batch_end(self) -> None:
        self.batches += 1

    def event(self, event: object) -> None:
        self.events.append(event)

    async def wait_payloads(self, count: int, timeout: float = 5.0) -> None:
        async def wait() -> None:
            while len(self.payloads) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(wait(), timeout)


def make_connection(controlling: bool, collector: Collector, **options: object) -> IceConnection:
    options.setdefault("addresses", [LOOPBACK])
    options.setdefault("mdns_target", (LOOPBACK, 9))
    return IceConnection(
        controlling,
        on_payload=collector.payload,
        on_batch_end=collector.batch_end,
        on_event=collector.event,
        **options,  # type: ignore[arg-type]
    )


async def signal(
    source: IceConnection,
    destination: IceConnection,
    transform: Callable[[Candidate], Candidate] = lambda c: c,
) -> None:
    destination.set_remote_credentials(source.local_ufrag, source.local_pwd)
    for candidate in source.local_candidates:
        destination.add_remote_candidate(transform(candidate))
    destination.add_remote_candidate(None)


async def gather_and_connect(a: IceConnection, b: IceConnection) -> None:
    """Gather both, signal everything both ways, wait for a usable pair on each."""
    await a.gather()
    await b.gather()
    await signal(a, b)
    await signal(b, a)
    await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 5.0)


async def test_two_connections_exchange_data_over_loopback() -> None:
    a_seen, b_seen = Collector(), Collector()
    a = make_connection(True, a_seen)
    b = make_connection(False, b_seen)
    try:
        await a.gather()
        await b.gather()
        assert [c.address for c in a.local_candidates] == [LOOPBACK]
        await signal(a, b)
        await signal(b, a)
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 5.0)
        for index in range(100):
            a.send_payload(b"\x80a%d" % index)
            b.send_payload(b"\x80b%d" % index)
        await b_seen.wait_payloads(100)
        await a_seen.wait_payloads(100)
        assert b_seen.payloads == [b"\x80a%d" % i for i in range(100)]
        assert a_seen.batches > 0
        assert any(isinstance(e, LocalCandidateGathered) for e in a_seen.events)
        assert any(isinstance(e, GatheringComplete) for e in a_seen.events)
    finally:
        a.close()
        b.close()


async def test_unresolved_mdns_candidates_still_connect_through_prflx() -> None:
    a_seen, b_seen = Collector(), Collector()
    a = make_connection(True, a_seen)
    b = make_connection(False, b_seen, mdns_timeout=0.5)
    try:
        await a.gather()
        await b.gather()
        # B only ever sees A's candidates as mDNS names that nobody answers.
        hidden = "7f9c54ae-7d5c-4e55-9f0e-1d4a2b3c4d5e.local"
        await signal(a, b, lambda c: replace(c, address=hidden))
        await signal(b, a)
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 5.0)
        assert [c.type for c in b.agent.remote_candidates] == ["prflx"]
        a.send_payload(b"\x80hello")
        await b_seen.wait_payloads(1)
        await asyncio.sleep(0.6)  # the query gives up without harming the connection
        assert b.state in (IceState.CONNECTED, IceState.COMPLETED)
    finally:
        a.close()
        b.close()


class FakeMdnsResponder(asyncio.DatagramProtocol):
    """Answers A queries for one name, as an mDNS responder answers a legacy query."""

    def __init__(self, name: str, address: str) -> None:
        self.name = name
        self.address = address
        self.transport: asyncio.DatagramTransport | None = None
        self.queries = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queries += 1
        query_id = struct.unpack_from("!H", data)[0]
        labels = b"".join(bytes((len(p),)) + p.encode() for p in self.name.split(".")) + b"\0"
        answer = (
            struct.pack("!HHHHHH", query_id, 0x8400, 0, 1, 0, 0)
            + labels
            + struct.pack("!HHIH", 1, 0x8001, 120, 4)
            + socket.inet_aton(self.address)
        )
        assert self.transport is not None
        self.transport.sendto(answer, addr)


def test_mdns_query_and_answer_codecs() -> None:
    query = build_mdns_query("abc.local", 0)
    assert query[4:6] == b"\x00\x02"  # two questions: A and AAAA
    assert b"\x03abc\x05local\x00\x00\x01\x80\x01" in query
    assert parse_mdns_answers(b"\x00" * 5) == []


async def test_mdns_names_resolve_through_a_responder() -> None:
    name = "1f0e8c44-5a1b-4cde-9a2b-3c4d5e6f7a8b.local"
    loop = asyncio.get_running_loop()
    transport, responder = await loop.create_datagram_endpoint(
        lambda: FakeMdnsResponder(name, LOOPBACK), local_addr=(LOOPBACK, 0)
    )
    target = transport.get_extra_info("sockname")
    a_seen, b_seen = Collector(), Collector()
    a = make_connection(True, a_seen)
    b = make_connection(False, b_seen, mdns_target=target)
    try:
        await a.gather()
        await b.gather()
        await signal(a, b, lambda c: replace(c, address=name))
        b.set_remote_credentials(a.local_ufrag, a.local_pwd)
        # Only B checks (A knows nothing of B): the resolved host is needed.
        b.start()
        await asyncio.wait_for(_until(lambda: bool(b.agent.remote_candidates)), 3.0)
        assert responder.queries >= 1
        assert [(c.address, c.type) for c in b.agent.remote_candidates] == [(LOOPBACK, "host")]
        await signal(b, a)
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 5.0)
    finally:
        a.close()
        b.close()
        transport.close()


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)


class FakeStunServer(asyncio.DatagramProtocol):
    """A STUN server that answers binding requests after ``delay`` with a fixed
    "public" mapping, to stand for a NAT."""

    def __init__(self, delay: float, public_host: str = "203.0.113.7") -> None:
        self.delay = delay
        self.public_host = public_host
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = StunMessage.parse(data)
        response = StunMessage(Method.BINDING, MessageClass.SUCCESS, request.transaction_id)
        response.add(AttributeType.XOR_MAPPED_ADDRESS, (self.public_host, addr[1] + 1))
        assert self.transport is not None
        asyncio.get_running_loop().call_later(
            self.delay, self.transport.sendto, response.encode(fingerprint=True), addr
        )


@contextlib.asynccontextmanager
async def stun_server(delay: float) -> AsyncIterator[tuple[str, int]]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: FakeStunServer(delay), local_addr=(LOOPBACK, 0)
    )
    try:
        yield transport.get_extra_info("sockname")
    finally:
        transport.close()


async def test_srflx_gathering_runs_in_parallel_and_never_blocks_host_candidates() -> None:
    seen = Collector()
    async with stun_server(0.3) as first, stun_server(0.3) as second:
        # A third server never answers: it must only cost its own timeout.
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind((LOOPBACK, 0))
        connection = make_connection(
            True, seen, stun_servers=[first, second, silent.getsockname()], stun_timeout=0.8
        )
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await connection.gather()
            assert loop.time() - started < 0.2  # host candidates did not wait
            assert [c.type for c in connection.local_candidates] == ["host"]
            await asyncio.wait_for(connection.wait_gathered(), 3.0)
            elapsed = loop.time() - started
            assert elapsed < 1.5  # the servers were asked in parallel
            types = [c.type for c in connection.local_candidates]
            assert types.count("srflx") == 2
            srflx = [c for c in connection.local_candidates if c.type == "srflx"]
            host = connection.local_candidates[0]
            assert srflx[0].address == "203.0.113.7"
            assert srflx[0].related_address == host.address
            assert srflx[0].foundation != srflx[1].foundation  # distinct servers
            gathered = [
                e for e in seen.events if isinstance(e, (LocalCandidateGathered, GatheringComplete))
            ]
            assert isinstance(gathered[-1], GatheringComplete)
        finally:
            connection.close()
            silent.close()


async def test_port_range_is_honoured() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind((LOOPBACK, 0))
    low = probe.getsockname()[1]
    probe.close()
    connection = make_connection(True, Collector(), port_range=(low, low + 20))
    try:
        await connection.gather()
        (candidate,) = connection.local_candidates
        assert low <= candidate.port <= low + 20
    finally:
        connection.close()


# -- interop with aioice ---------------------------------------------------------


@pytest.fixture
def aioice_on_loopback(monkeypatch: pytest.MonkeyPatch) -> object:
    pytest.importorskip("aioice", reason="aioice not found")
    import aioice.ice

    # aioice leaves out loopback; tests stay on 127.0.0.1.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: [LOOPBACK])
    return aioice


@pytest.mark.interop
@pytest.mark.parametrize("we_control", [True, False], ids=["we-control", "aioice-controls"])
async def test_interop_with_aioice(aioice_on_loopback: object, we_control: bool) -> None:
    import aioice

    seen = Collector()
    ours = make_connection(we_control, seen)
    theirs = aioice.Connection(ice_controlling=not we_control, use_ipv6=False)
    try:
        await ours.gather()
        await theirs.gather_candidates()
        ours.set_remote_credentials(theirs.local_username, theirs.local_password)
        for candidate in theirs.local_candidates:
            ours.add_remote_candidate(Candidate.parse(candidate.to_sdp()))
        ours.add_remote_candidate(None)
        theirs.remote_username = ours.local_ufrag
        theirs.remote_password = ours.local_pwd
        for candidate in ours.local_candidates:
            await theirs.add_remote_candidate(
                aioice.Candidate.from_sdp(candidate.to_attribute_value())
            )
        await theirs.add_remote_candidate(None)
        await asyncio.wait_for(asyncio.gather(ours.connect(), theirs.connect()), 10.0)

        for index in range(20):
            ours.send_payload(b"\x80to aioice %d" % index)
        received = [await asyncio.wait_for(theirs.recv(), 5.0) for _ in range(20)]
        assert received == [b"\x80to aioice %d" % i for i in range(20)]
        for index in range(20):
            await theirs.send(b"\x80from aioice %d" % index)
        await seen.wait_payloads(20)
        assert seen.payloads == [b"\x80from aioice %d" % i for i in range(20)]
        assert ours.agent.selected_pair is not None
    finally:
        ours.close()
        await theirs.close()


async def test_ipv6_loopback() -> None:
    probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        probe.bind(("::1", 0))
    except OSError:
        pytest.skip("IPv6 loopback (::1) not available")
    finally:
        probe.close()
    a_seen, b_seen = Collector(), Collector()
    a = make_connection(True, a_seen, addresses=["::1"])
    b = make_connection(False, b_seen, addresses=["::1"])
    try:
        await gather_and_connect(a, b)
        a.send_payload(b"\x80over ipv6")
        await b_seen.wait_payloads(1)
        assert b.agent.selected_pair is not None
        assert b.agent.selected_pair.remote_address[0] == "::1"
    finally:
        a.close()
        b.close()


def test_local_addresses_respect_loopback_and_families() -> None:
    from webrtc.ice.aio import local_addresses

    without = local_addresses(include_loopback=False)
    assert "127.0.0.1" not in without and "::1" not in without
    assert all(not a.startswith("fe80") for a in without)
    assert "127.0.0.1" in local_addresses(ipv6=False, include_loopback=True)
    assert all(":" not in a for a in local_addresses(ipv6=False, include_loopback=True))


async def test_ice_restart_over_loopback_keeps_data_flowing() -> None:
    a_seen, b_seen = Collector(), Collector()
    a = make_connection(True, a_seen)
    b = make_connection(False, b_seen)
    try:
        await gather_and_connect(a, b)
        old_ufrag = a.local_ufrag
        a.restart()
        b.restart()
        assert a.local_ufrag != old_ufrag
        a.send_payload(b"\x80during restart")
        await b_seen.wait_payloads(1)
        await signal(a, b)
        await signal(b, a)
        await asyncio.wait_for(
            _until(lambda: a.agent._nominated_selected and b.agent._nominated_selected), 5.0
        )
        a.send_payload(b"\x80after restart")
        await b_seen.wait_payloads(2)
        assert b_seen.payloads == [b"\x80during restart", b"\x80after restart"]
        assert a.state in (IceState.CONNECTED, IceState.COMPLETED)
    finally:
        a.close()
        b.close()


class UdpRelayPort:
    """Stands for a TURN allocation: a separate UDP socket registered as a port."""

    def __init__(self, connection: IceConnection) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.setblocking(False)
        self.connection = connection
        self.socket_id = -1
        self.sent = 0
        self.received = 0
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self._readable)

    def sendto(self, data: bytes, address: tuple[str, int]) -> None:
        self.sent += 1
        self.sock.sendto(data, address)

    def _readable(self) -> None:
        while True:
            try:
                data, address = self.sock.recvfrom(65536)
            except BlockingIOError:
                return
            self.received += 1
            self.connection.port_datagram_received(self.socket_id, data, address)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()


async def test_a_registered_port_carries_the_connection_like_a_relay() -> None:
    a_seen, b_seen = Collector(), Collector()
    a = make_connection(True, a_seen, addresses=[])  # no host sockets: relay only
    b = make_connection(False, b_seen)
    relay = UdpRelayPort(a)
    try:
        await a.gather()
        await b.gather()
        host, port = relay.sock.getsockname()
        relay.socket_id = a.add_port(
            relay, host, port, "relay", related_address=host, related_port=port
        )
        relayed = [c for c in a.local_candidates if c.type == "relay"]
        assert len(relayed) == 1
        # B hears only of the relayed candidate; A hears of B normally.
        b.set_remote_credentials(a.local_ufrag, a.local_pwd)
        b.add_remote_candidate(relayed[0])
        b.add_remote_candidate(None)
        await signal(b, a)
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 5.0)
        await asyncio.wait_for(
            _until(lambda: a.agent._nominated_selected and b.agent._nominated_selected), 5.0
        )
        assert b.agent.selected_pair is not None
        assert b.agent.selected_pair.remote_address == (host, port)
        a.send_payload(b"\x80via the relay port")
        b.send_payload(b"\x80back via the relay port")
        await b_seen.wait_payloads(1)
        await a_seen.wait_payloads(1)
        assert relay.sent > 0 and relay.received > 0
    finally:
        relay.close()
        a.close()
        b.close()


async def test_intercepted_server_datagrams_bypass_the_agent() -> None:
    connection = make_connection(True, Collector())
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((LOOPBACK, 0))
    try:
        await connection.gather()
        ((socket_id, local),) = connection.host_sockets
        got: list[bytes] = []
        arrived = asyncio.Event()

        def handler(data: bytes) -> None:
            got.append(data)
            arrived.set()

        connection.intercept(socket_id, server.getsockname(), handler)
        connection.sendto(socket_id, b"\x00\x03hello server", server.getsockname())
        data, address = server.recvfrom(100)
        assert data == b"\x00\x03hello server" and address == local
        # ChannelData-like and STUN-like replies both reach the handler.
        server.sendto(b"\x40\x00\x00\x02hi", local)
        server.sendto(StunMessage(Method.ALLOCATE, MessageClass.SUCCESS).encode(), local)
        await asyncio.wait_for(_until(lambda: len(got) == 2), 2.0)
        assert got[0] == b"\x40\x00\x00\x02hi"
        assert connection.agent.dropped == 0
        connection.intercept(socket_id, server.getsockname(), None)
        server.sendto(b"\x40\x00\x00\x02hi", local)
        await asyncio.wait_for(_until(lambda: connection.agent.dropped == 1), 2.0)
    finally:
        connection.close()
        server.close()


async def test_end_of_candidates_waits_for_every_hold() -> None:
    """Relays gathered beside gather(): GatheringComplete follows the last release,
    and a port's candidate takes the local preference it is given."""
    seen = Collector()
    connection = make_connection(True, seen)
    port = UdpRelayPort(connection)
    try:
        connection.hold_gathering()
        connection.hold_gathering()
        await connection.gather()
        await asyncio.sleep(0.05)
        assert not any(isinstance(e, GatheringComplete) for e in seen.events)
        host, number = port.sock.getsockname()
        connection.add_port(port, host, number, "relay", local_preference=0x1234)
        connection.release_gathering()
        assert not any(isinstance(e, GatheringComplete) for e in seen.events)
        connection.release_gathering()
        assert [type(e) for e in seen.events].count(GatheringComplete) == 1
        (relayed,) = [c for c in connection.local_candidates if c.type == "relay"]
        assert (relayed.priority >> 8) & 0xFFFF == 0x1234
        await asyncio.wait_for(connection.wait_gathered(), 1.0)
    finally:
        port.close()
        connection.close()


class DeadlineSource:
    """An engine stacked on a connection: one deadline, records when it fired."""

    def __init__(self, deadline: float) -> None:
        self.deadline: float | None = deadline
        self.fired: list[float] = []

    def get_timer(self) -> float | None:
        return self.deadline

    def handle_timer(self, now: float) -> None:
        self.fired.append(now)
        self.deadline = None


async def test_timer_sources_share_the_connection_timer_and_routes_are_counted() -> None:
    a_seen, b_seen = Collector(), Collector()
    a = make_connection(True, a_seen)
    b = make_connection(False, b_seen)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 0.05
    source = DeadlineSource(deadline)
    a.add_timer_source(source)
    try:
        await gather_and_connect(a, b)
        a.send_payloads([b"\x80one", b"\x80two", b"\x80three"])
        await b_seen.wait_payloads(3)
        await _until(lambda: bool(source.fired))
        assert source.fired == [max(deadline, source.fired[0])]  # once, never early
        pair = a.agent.selected_pair
        assert pair is not None
        sent = a.counters[pair.route]
        assert sent.packets_sent >= 3 and sent.bytes_sent >= len(b"\x80one\x80two\x80three")
        (route,) = [r for r, c in b.counters.items() if c.packets_received]
        assert b.counters[route].packets_received == 3
        assert b.counters[route].bytes_received == len(b"\x80one\x80two\x80three")
    finally:
        a.close()
        b.close()
