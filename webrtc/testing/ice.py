"""Run :class:`webrtc.ice.agent.IceAgent` instances on the simulated network.

:class:`IceNode` is the adapter between the agent's addressing, by
``(socket id, remote address)``, and the simulator's, by addresses: each
socket id of the agent is bound to one simulated address. :class:`Signaling`
is a node without addresses that carries candidates and credentials between
agents after a chosen delay, like an application's signalling channel, so
that trickle ICE can be exercised in virtual time.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from webrtc.ice.agent import (
    GatheringComplete,
    IceAgent,
    IceState,
    LocalCandidateGathered,
    PayloadReceived,
    StateChanged,
)
from webrtc.sdp.candidate import Candidate
from webrtc.testing.network import Address, Network

__all__ = ["IceNode", "Signaling"]


class IceNode:
    """An :class:`IceAgent` whose socket ids are bound to simulated addresses.

    ``sockets`` maps each socket id to its address. Host candidates for every
    socket are registered when ``gather`` is true (the default), followed by
    end-of-candidates. Events are kept in :attr:`events` (with the virtual
    time they were seen in :attr:`timeline`) and passed to ``on_event``.
    """

    def __init__(
        self,
        agent: IceAgent,
        sockets: dict[int, Address],
        on_event: Callable[[IceNode, object, float], None] | None = None,
        gather: bool = True,
        nat: dict[int, Address] | None = None,
    ) -> None:
        self.agent = agent
        self.sockets = dict(sockets)
        # Behind a NAT, each socket's datagrams leave from its public address
        # (an endpoint-independent mapping) and only sources the socket has
        # sent to may come back in (port-restricted filtering, RFC 4787).
        self.nat = dict(nat) if nat is not None else None
        self.filtered = 0
        self._permissions: dict[int, set[Address]] = {sid: set() for sid in self.sockets}
        outside = self.nat if self.nat is not None else self.sockets
        self._ids = {address: socket_id for socket_id, address in outside.items()}
        self.on_event = on_event
        self.events: list[object] = []
        self.timeline: list[tuple[float, object]] = []
        self.payloads: list[bytes] = []
        self.now = 0.0
        if gather:
            for socket_id, (host, port) in self.sockets.items():
                agent.add_local_candidate(socket_id, host, port, "host")
            agent.end_of_local_candidates()

    def attach(self, network: Network) -> IceNode:
        outside = self.nat if self.nat is not None else self.sockets
        network.add(self, *outside.values())
        self.now = network.now
        self._drain()
        return self

    @property
    def state(self) -> IceState:
        return self.agent.state

    def states(self) -> list[IceState]:
        return [event.state for event in self.events if isinstance(event, StateChanged)]

    def _drain(self) -> None:
        while (event := self.agent.next_event()) is not None:
            self.events.append(event)
            self.timeline.append((self.now, event))
            if isinstance(event, PayloadReceived):
                self.payloads.append(event.data)
            if self.on_event is not None:
                self.on_event(self, event, self.now)

    # -- Node ---------------------------------------------------------------------
    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> None:
        self.now = now
        socket_id = self._ids[destination]
        if self.nat is not None and source not in self._permissions[socket_id]:
            self.filtered += 1
            return
        self.agent.receive_datagram(data, now, socket_id, source)
        self._drain()

    def transmit(self, now: float) -> list[tuple[Address, Address, bytes]]:
        self.now = now
        outside = self.nat if self.nat is not None else self.sockets
        out = []
        for socket_id, remote, data in self.agent.datagrams_to_send(now):
            if self.nat is not None:
                self._permissions[socket_id].add(remote)
            out.append((outside[socket_id], remote, data))
        self._drain()
        return out

    def get_timer(self) -> float | None:
        return self.agent.get_timer()

    def handle_timer(self, now: float) -> None:
        self.now = now
        self.agent.handle_timer(now)
        self._drain()


@dataclass(order=True)
class _Delivery:
    at: float
    sequence: int
    action: Callable[[], None] = field(compare=False)


class Signaling:
    """A signalling channel with a fixed delay, as a timer-only simulator node.

    ``forward(source, destination)`` makes every local candidate (and the
    end of gathering) of ``source`` reach ``destination`` after ``delay``;
    ``transform`` may rewrite or withhold (return ``None``) each candidate.
    """

    def __init__(self, network: Network, delay: float = 0.0) -> None:
        self.network = network
        self.delay = delay
        self._queue: list[_Delivery] = []
        self._sequence = 0
        network.add(self)

    def later(self, action: Callable[[], None], delay: float | None = None) -> None:
        self._sequence += 1
        wait = self.delay if delay is None else delay
        heapq.heappush(self._queue, _Delivery(self.network.now + wait, self._sequence, action))

    def exchange_credentials(self, first: IceNode, second: IceNode) -> None:
        a, b = first.agent, second.agent
        self.later(partial(b.set_remote_credentials, a.local_ufrag, a.local_pwd))
        self.later(partial(a.set_remote_credentials, b.local_ufrag, b.local_pwd))

    def forward_candidate(
        self,
        destination: IceNode,
        event: object,
        transform: Callable[[Candidate], Candidate | None] | None = None,
    ) -> None:
        agent = destination.agent
        if isinstance(event, LocalCandidateGathered):
            candidate = event.candidate if transform is None else transform(event.candidate)
            if candidate is not None:
                self.later(partial(agent.add_remote_candidate, candidate))
        elif isinstance(event, GatheringComplete):
            self.later(agent.end_of_remote_candidates)

    # -- Node (no addresses: timers only) ------------------------------------------
    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> None:
        raise AssertionError("the signalling node has no address")

    def transmit(self, now: float) -> list[tuple[Address, Address, bytes]]:
        return []

    def get_timer(self) -> float | None:
        return self._queue[0].at if self._queue else None

    def handle_timer(self, now: float) -> None:
        while self._queue and self._queue[0].at <= now:
            heapq.heappop(self._queue).action()
