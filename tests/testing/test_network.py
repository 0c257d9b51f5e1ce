"""The simulator's own tests, with a small echo engine (issue 2)."""

from __future__ import annotations

import itertools
import statistics
import struct
from dataclasses import dataclass

import pytest

from webrtc.engine import DatagramEngine
from webrtc.testing import LinkConfig, Network, SimulationTimeout

_PROBE = struct.Struct("!Id")  # sequence number, send time


@dataclass(frozen=True)
class Echoed:
    sequence: int
    round_trip: float


class EchoServer:
    """Sends back every datagram it receives."""

    def __init__(self) -> None:
        self._outgoing: list[bytes] = []

    def receive_datagram(self, data: bytes, now: float) -> None:
        self._outgoing.append(data)

    def datagrams_to_send(self, now: float) -> list[bytes]:
        out, self._outgoing = self._outgoing, []
        return out

    def get_timer(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        pass

    def next_event(self) -> object | None:
        return None


class Prober:
    """Sends ``count`` numbered probes, one every ``interval`` seconds, by timer."""

    def __init__(self, count: int, interval: float, size: int = 100) -> None:
        self.count = count
        self.interval = interval
        self.size = size
        self.sent = 0
        self._next_send: float | None = 0.0
        self._outgoing: list[bytes] = []
        self._events: list[Echoed] = []
        self.arrival_order: list[int] = []

    def receive_datagram(self, data: bytes, now: float) -> None:
        sequence, sent_at = _PROBE.unpack_from(data)
        self.arrival_order.append(sequence)
        self._events.append(Echoed(sequence, now - sent_at))

    def datagrams_to_send(self, now: float) -> list[bytes]:
        out, self._outgoing = self._outgoing, []
        return out

    def get_timer(self) -> float | None:
        return self._next_send

    def handle_timer(self, now: float) -> None:
        if self._next_send is None or now < self._next_send:
            return
        payload = _PROBE.pack(self.sent, now)
        self._outgoing.append(payload + bytes(self.size - len(payload)))
        self.sent += 1
        self._next_send = now + self.interval if self.sent < self.count else None

    def next_event(self) -> object | None:
        return self._events.pop(0) if self._events else None


def _setup(config: LinkConfig, count: int, seed: int = 1, size: int = 100, interval: float = 0.001):
    network = Network(seed=seed, record_delays=True)
    network.set_link("10.0.0.1", "10.0.0.2", config, both_ways=False)
    prober = Prober(count, interval, size)
    client = network.add_engine(prober, ("10.0.0.1", 1000), ("10.0.0.2", 2000))
    network.add_engine(EchoServer(), ("10.0.0.2", 2000), ("10.0.0.1", 1000))
    return network, prober, client


def test_engines_follow_the_contract() -> None:
    assert isinstance(EchoServer(), DatagramEngine)
    assert isinstance(Prober(1, 1.0), DatagramEngine)


def test_perfect_link_echoes_everything_in_order() -> None:
    network, prober, client = _setup(LinkConfig(delay=0.025), 200)
    network.run()
    assert prober.arrival_order == list(range(200))
    round_trips = {round(e.round_trip, 9) for e in client.events if isinstance(e, Echoed)}
    assert round_trips == {0.025}  # forward link delayed, return link default (0)


def test_loss_rate_matches_setting() -> None:
    network, prober, _ = _setup(LinkConfig(loss=0.3), 20_000)
    network.run()
    stats = network.link_stats("10.0.0.1", "10.0.0.2")
    assert stats.sent == 20_000
    assert stats.lost == stats.sent - stats.delivered
    assert 0.28 < stats.lost / stats.sent < 0.32
    assert len(prober.arrival_order) == stats.delivered


def test_delay_and_jitter_statistics_match_settings() -> None:
    network, _, _ = _setup(LinkConfig(delay=0.05, jitter=0.02), 10_000)
    network.run()
    delays = network.link_stats("10.0.0.1", "10.0.0.2").delays
    assert len(delays) == 10_000
    assert min(delays) >= 0.05 - 1e-9
    assert max(delays) <= 0.07 + 1e-9
    # uniform jitter on [0, 0.02]: mean 0.01, standard deviation 0.02 / sqrt(12)
    assert statistics.mean(delays) == pytest.approx(0.06, abs=0.001)
    assert statistics.pstdev(delays) == pytest.approx(0.02 / 12**0.5, rel=0.05)


def test_reordering_rate_matches_setting() -> None:
    config = LinkConfig(delay=0.01, reorder=0.1, reorder_delay=0.005)
    network, prober, _ = _setup(config, 10_000, interval=0.001)
    network.run()
    stats = network.link_stats("10.0.0.1", "10.0.0.2")
    assert 0.08 < stats.reordered / stats.sent < 0.12
    # Each held-back probe is overtaken by the next ones: count inversions seen.
    late = sum(1 for a, b in itertools.pairwise(prober.arrival_order) if b < a)
    assert late > 0.05 * stats.sent
    assert sorted(prober.arrival_order) == list(range(10_000))


def test_duplication_rate_matches_setting() -> None:
    network, prober, _ = _setup(LinkConfig(duplicate=0.2), 10_000)
    network.run()
    stats = network.link_stats("10.0.0.1", "10.0.0.2")
    assert 0.18 < stats.duplicated / stats.sent < 0.22
    assert len(prober.arrival_order) == 10_000 + stats.duplicated


def test_mtu_drops_oversized_datagrams() -> None:
    network, prober, _ = _setup(LinkConfig(mtu=99), 10, size=100)
    network.run()
    assert network.link_stats("10.0.0.1", "10.0.0.2").too_big == 10
    assert prober.arrival_order == []


def test_bandwidth_serializes_datagrams() -> None:
    # 1,000 datagrams of 1,000 bytes at 1 MB/s take one second to drain.
    network, prober, _ = _setup(LinkConfig(bandwidth=1_000_000), 1000, size=1000, interval=0.0)
    network.run()
    assert len(prober.arrival_order) == 1000
    assert network.now == pytest.approx(1.0, abs=0.002)


def test_same_seed_replays_exactly_and_other_seeds_differ() -> None:
    config = LinkConfig(delay=0.01, jitter=0.01, loss=0.1, duplicate=0.05, reorder=0.05)

    def run(seed: int) -> list[int]:
        network, prober, _ = _setup(config, 2000, seed=seed)
        network.run()
        return prober.arrival_order

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_run_stops_on_condition_and_on_virtual_deadline() -> None:
    network, prober, _ = _setup(LinkConfig(delay=0.1), 1000, interval=0.01)
    assert network.run(lambda: len(prober.arrival_order) >= 10, timeout=5.0)
    assert len(prober.arrival_order) == 10
    assert network.now == pytest.approx(0.19, abs=1e-9)
    with pytest.raises(SimulationTimeout):
        network.run(lambda: False, timeout=1.0)
    assert network.now == pytest.approx(1.19, abs=1e-9)


def test_advance_moves_the_clock_exactly() -> None:
    network = Network()
    network.advance(30.0)
    assert network.now == 30.0


def test_link_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        LinkConfig(loss=1.5)
    with pytest.raises(ValueError):
        LinkConfig(delay=-1)
