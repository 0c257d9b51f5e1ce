"""A deterministic network simulator with a virtual clock.

Nodes (anything with the small :class:`Node` interface) are attached to a
:class:`Network` at addresses. Datagrams travel over directional links whose
delay, jitter, loss, duplication, reordering, MTU and bandwidth are set per
link, each link drawing from its own seeded random source so that a failing
run replays exactly. :meth:`Network.run` advances virtual time from one event
(a delivery or an engine timer) to the next: no real time passes, so a
30-second consent timeout or a 20 MiB transfer over a lossy link takes
milliseconds to seconds of CPU, not of waiting.

Point-to-point engines (DTLS, SCTP and friends, see
:class:`webrtc.engine.DatagramEngine`) are attached with :class:`EngineNode`;
engines that address datagrams themselves (the ICE agent) implement
:class:`Node` directly or through a small adapter.
"""

from __future__ import annotations

import heapq
import random
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from webrtc.engine import DatagramEngine

__all__ = [
    "Address",
    "EngineNode",
    "LinkConfig",
    "LinkStats",
    "Network",
    "Node",
    "SimulationTimeout",
]

Address = tuple[str, int]


class SimulationTimeout(AssertionError):
    """:meth:`Network.run` reached its virtual deadline before its condition held."""


@dataclass(frozen=True)
class LinkConfig:
    """How one direction of a link treats datagrams.

    - ``delay``: one-way propagation delay in seconds.
    - ``jitter``: extra delay drawn uniformly from ``[0, jitter]`` per datagram;
      like real jitter it reorders datagrams sent closer together than it.
    - ``loss``: probability that a datagram is dropped.
    - ``duplicate``: probability that a datagram is delivered twice (the copy
      gets its own jitter).
    - ``reorder``: probability that a datagram is held back by
      ``reorder_delay`` extra seconds, so later ones overtake it.
    - ``mtu``: datagrams larger than this many bytes are dropped (counted as
      ``too_big``), as a path that cannot fragment UDP would.
    - ``bandwidth``: bytes per second (``None`` is unlimited). Datagrams are
      serialized one after the other; when more than ``queue_limit`` bytes
      wait, new ones are tail-dropped (counted as ``queue_drops``).
    """

    delay: float = 0.0
    jitter: float = 0.0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    reorder_delay: float = 0.01
    mtu: int | None = None
    bandwidth: float | None = None
    queue_limit: int = 1 << 20

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability, got {value}")
        for name in ("delay", "jitter", "reorder_delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


@dataclass
class LinkStats:
    """Counters of one directional link."""

    sent: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    too_big: int = 0
    queue_drops: int = 0
    bytes_delivered: int = 0
    delays: list[float] = field(default_factory=list)


class Node(Protocol):
    """What the network needs of anything attached to it."""

    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> None:
        """A datagram from ``source`` arrived at our ``destination`` address."""
        ...

    def transmit(self, now: float) -> Iterable[tuple[Address, Address, bytes]]:
        """Datagrams to send now, as ``(source, destination, data)``."""
        ...

    def get_timer(self) -> float | None:
        """The node's next deadline, or ``None``."""
        ...

    def handle_timer(self, now: float) -> None:
        """The deadline passed."""
        ...


class EngineNode:
    """Attaches a point-to-point :class:`DatagramEngine` at ``address``.

    Everything the engine sends goes to ``peer``; events are drained into
    :attr:`events` after every step (and handed to ``on_event`` if given), so a
    test can both watch them live and inspect them afterwards.
    """

    def __init__(
        self,
        engine: DatagramEngine,
        address: Address,
        peer: Address,
        on_event: Callable[[object], None] | None = None,
    ) -> None:
        self.engine = engine
        self.address = address
        self.peer = peer
        self.on_event = on_event
        self.events: list[object] = []

    def _drain_events(self) -> None:
        while (event := self.engine.next_event()) is not None:
            self.events.append(event)
            if self.on_event is not None:
                self.on_event(event)

    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> None:
        self.engine.receive_datagram(data, now)
        self._drain_events()

    def transmit(self, now: float) -> list[tuple[Address, Address, bytes]]:
        out = [(self.address, self.peer, data) for data in self.engine.datagrams_to_send(now)]
        self._drain_events()
        return out

    def get_timer(self) -> float | None:
        return self.engine.get_timer()

    def handle_timer(self, now: float) -> None:
        self.engine.handle_timer(now)
        self._drain_events()


class _Link:
    def __init__(self, config: LinkConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.stats = LinkStats()
        self.busy_until = 0.0  # when the bandwidth-limited sender is free again


class Network:
    """The simulated network: nodes, links, a virtual clock and a run loop.

    ``seed`` fixes every random choice; the same seed, nodes and inputs replay
    the same run. ``default_link`` applies to every pair of hosts without a
    link of its own; links are keyed by host (IP string), one per direction.
    ``record_delays`` keeps every delivery's one-way delay in the link stats.
    """

    def __init__(
        self,
        seed: int = 0,
        default_link: LinkConfig | None = None,
        start_time: float = 0.0,
        record_delays: bool = False,
    ) -> None:
        self.seed = seed
        self.now = start_time
        self.default_link = default_link or LinkConfig()
        self.record_delays = record_delays
        self._nodes: dict[Address, Node] = {}
        self._node_list: list[Node] = []
        self._link_configs: dict[tuple[str, str], LinkConfig] = {}
        self._links: dict[tuple[str, str], _Link] = {}
        # (arrival, sequence, sent, source, destination, data); the sequence
        # keeps deliveries due at the same instant in send order.
        self._queue: list[tuple[float, int, float, Address, Address, bytes]] = []
        self._sequence = 0
        self.undeliverable = 0

    # -- topology --------------------------------------------------------
    def add(self, node: Node, *addresses: Address) -> Node:
        """Attach ``node``, receiving datagrams sent to any of ``addresses``."""
        for address in addresses:
            if address in self._nodes:
                raise ValueError(f"address {address} already in use")
            self._nodes[address] = node
        if all(existing is not node for existing in self._node_list):
            self._node_list.append(node)
        return node

    def add_engine(
        self,
        engine: DatagramEngine,
        address: Address,
        peer: Address,
        on_event: Callable[[object], None] | None = None,
    ) -> EngineNode:
        """Attach a point-to-point engine at ``address`` that talks to ``peer``."""
        node = EngineNode(engine, address, peer, on_event)
        self.add(node, address)
        return node

    def set_link(
        self, source_host: str, destination_host: str, config: LinkConfig, both_ways: bool = True
    ) -> None:
        """Configure the link from one host to another (and back, by default)."""
        pairs = [(source_host, destination_host)]
        if both_ways:
            pairs.append((destination_host, source_host))
        for pair in pairs:
            self._link_configs[pair] = config
            self._links.pop(pair, None)

    def link_stats(self, source_host: str, destination_host: str) -> LinkStats:
        return self._link(source_host, destination_host).stats

    def _link(self, source_host: str, destination_host: str) -> _Link:
        key = (source_host, destination_host)
        link = self._links.get(key)
        if link is None:
            config = self._link_configs.get(key, self.default_link)
            # A per-link seed derived from the run seed and the host pair keeps
            # links independent of the order in which they are first used.
            link_seed = zlib.crc32(f"{self.seed}|{source_host}|{destination_host}".encode())
            link = _Link(config, random.Random(link_seed))
            self._links[key] = link
        return link

    # -- datagrams -------------------------------------------------------
    def send(self, source: Address, destination: Address, data: bytes) -> None:
        """Put one datagram on the link from ``source`` to ``destination``."""
        link = self._link(source[0], destination[0])
        config, rng, stats = link.config, link.rng, link.stats
        stats.sent += 1
        if config.mtu is not None and len(data) > config.mtu:
            stats.too_big += 1
            return
        if config.loss and rng.random() < config.loss:
            stats.lost += 1
            return
        departure = self.now
        if config.bandwidth is not None:
            start = max(self.now, link.busy_until)
            if (start - self.now) * config.bandwidth > config.queue_limit:
                stats.queue_drops += 1
                return
            link.busy_until = start + len(data) / config.bandwidth
            departure = link.busy_until
        copies = 1
        if config.duplicate and rng.random() < config.duplicate:
            copies = 2
            stats.duplicated += 1
        for _ in range(copies):
            arrival = departure + config.delay
            if config.jitter:
                arrival += rng.uniform(0.0, config.jitter)
            if config.reorder and rng.random() < config.reorder:
                arrival += config.reorder_delay
                stats.reordered += 1
            self._sequence += 1
            heapq.heappush(
                self._queue, (arrival, self._sequence, self.now, source, destination, data)
            )

    def _flush(self) -> None:
        for node in self._node_list:
            for source, destination, data in node.transmit(self.now):
                self.send(source, destination, data)

    def _deliver(self, source: Address, destination: Address, data: bytes, sent: float) -> None:
        node = self._nodes.get(destination)
        link = self._link(source[0], destination[0])
        if node is None:
            self.undeliverable += 1
            return
        link.stats.delivered += 1
        link.stats.bytes_delivered += len(data)
        if self.record_delays:
            link.stats.delays.append(self.now - sent)
        node.receive(data, source, destination, self.now)

    # -- the run loop ----------------------------------------------------
    def next_deadline(self) -> float | None:
        """The earliest pending delivery or node timer."""
        deadline = self._queue[0][0] if self._queue else None
        for node in self._node_list:
            timer = node.get_timer()
            if timer is not None and (deadline is None or timer < deadline):
                deadline = timer
        return deadline

    def step(self) -> bool:
        """Advance to the next event and process it. False when nothing is left."""
        self._flush()
        deadline = self.next_deadline()
        if deadline is None:
            return False
        self.now = max(self.now, deadline)
        while self._queue and self._queue[0][0] <= self.now:
            _, _, sent, source, destination, data = heapq.heappop(self._queue)
            self._deliver(source, destination, data, sent)
        for node in self._node_list:
            timer = node.get_timer()
            if timer is not None and timer <= self.now:
                node.handle_timer(self.now)
        self._flush()
        return True

    def run(
        self,
        until: Callable[[], bool] | None = None,
        timeout: float = 60.0,
        raise_on_timeout: bool = True,
    ) -> bool:
        """Run until ``until()`` holds or ``timeout`` virtual seconds pass.

        Returns True when the condition held. Without a condition, runs until
        nothing is pending or the deadline. On timeout raises
        :class:`SimulationTimeout` unless ``raise_on_timeout`` is False (or no
        condition was given), in which case it returns False.
        """
        deadline = self.now + timeout
        stalled = 0
        while True:
            self._flush()
            if until is not None and until():
                return True
            next_time = self.next_deadline()
            if next_time is None or next_time > deadline:
                if next_time is None and until is None:
                    return True
                self.now = max(self.now, deadline)
                if until is not None and raise_on_timeout:
                    raise SimulationTimeout(
                        f"condition not met after {timeout} virtual seconds (now={self.now:.3f})"
                    )
                return until is None
            before = self.now
            self.step()
            # An engine whose timer stays in the past after handle_timer would
            # spin forever; fail loudly instead.
            stalled = stalled + 1 if self.now == before and not self._queue_due() else 0
            if stalled > 100_000:
                raise RuntimeError(f"a timer does not advance at now={self.now}")

    def _queue_due(self) -> bool:
        return bool(self._queue) and self._queue[0][0] <= self.now

    def advance(self, seconds: float) -> None:
        """Run for exactly ``seconds`` of virtual time."""
        target = self.now + seconds
        self.run(None, timeout=seconds)
        self.now = max(self.now, target)
