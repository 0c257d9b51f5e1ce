"""Relayed candidates: TURN allocations as sockets of the ICE agent (sans-I/O).

The ICE agent addresses datagrams by ``(socket id, remote address)`` and does
not care what a socket is (:mod:`webrtc.ice.agent`). :class:`IceRelays` gives
each TURN allocation a socket id of its own:

- when the allocation succeeds, the relayed address becomes a ``relay``
  candidate (RFC 8445 section 5.1.1.2) whose related address is the
  server-reflexive address the server saw (XOR-MAPPED-ADDRESS, as RFC 8839
  section 5.1 asks for ``raddr``/``rport`` of relayed candidates);
- what the agent sends on that socket id goes to :meth:`TurnClient.send_to`
  (so checks install permissions and bind channels, and data moves in
  ChannelData once the channel is bound);
- what the relay receives from a peer is handed to the agent as a datagram
  on that socket id from the peer's address.

Priorities (RFC 8445 section 5.1.2.1): the type preference of a relayed
candidate is 0; within it, the local preference puts relays reached over UDP
above TCP above TLS (the cost of each transport to the server, as browsers
rank them), then earlier servers of ``iceServers`` above later ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from webrtc.ice.agent import IceAgent
from webrtc.ice.turn import (
    Address,
    Allocated,
    AllocationFailed,
    AllocationLost,
    DataReceived,
    TurnClient,
    TurnEvent,
)
from webrtc.sdp.candidate import Candidate

__all__ = ["IceRelays", "RelayState", "relay_local_preference"]

_TRANSPORT_PREFERENCE = {"udp": 2, "tcp": 1, "tls": 0}


def relay_local_preference(transport: str, index: int = 0) -> int:
    """The 16-bit local preference of a relayed candidate.

    The top two bits rank the transport to the server (UDP 2, TCP 1, TLS 0),
    the other 14 the server's position in the configuration (first highest).
    """
    return (_TRANSPORT_PREFERENCE[transport] << 14) | max(0, 0x3FFF - index)


@dataclass
class RelayState:
    """One relay socket: its TURN client and what became of its allocation."""

    socket_id: int
    client: TurnClient
    server: str
    index: int
    candidate: Candidate | None = None
    done: bool = False  # the allocation succeeded or failed: gathering may end
    failed: bool = False


class IceRelays:
    """Routes the relay socket ids of one :class:`IceAgent` through TURN clients.

    The adapter (asyncio or simulator) owns the connections to the TURN
    servers; it feeds each client's events to :meth:`handle_event`, gives
    the agent's output to :meth:`route` and sends what remains on its own
    sockets.
    """

    def __init__(self, agent: IceAgent) -> None:
        self.agent = agent
        self.relays: dict[int, RelayState] = {}

    def add(self, socket_id: int, client: TurnClient, server: str = "", index: int = 0) -> None:
        """Register a TURN client (not yet allocated) as socket ``socket_id``."""
        if socket_id in self.relays:
            raise ValueError(f"socket id {socket_id} is already a relay")
        self.relays[socket_id] = RelayState(socket_id, client, server, index)

    def __iter__(self) -> Iterator[RelayState]:
        return iter(self.relays.values())

    @property
    def gathering_done(self) -> bool:
        """Every allocation succeeded or failed (so end-of-candidates may follow)."""
        return all(relay.done for relay in self.relays.values())

    def handle_event(self, socket_id: int, event: TurnEvent, now: float) -> None:
        """One event of the TURN client behind ``socket_id``."""
        relay = self.relays.get(socket_id)
        if relay is None:
            return
        if isinstance(event, DataReceived):
            self.agent.receive_datagram(event.data, now, socket_id, event.peer)
        elif isinstance(event, Allocated):
            relay.done = True
            mapped = event.mapped_address
            relay.candidate = self.agent.add_local_candidate(
                socket_id,
                event.relayed_address[0],
                event.relayed_address[1],
                "relay",
                related_address=mapped[0] if mapped is not None else None,
                related_port=mapped[1] if mapped is not None else None,
                local_preference=relay_local_preference(relay.client.transport, relay.index),
                server=relay.server,
            )
        elif isinstance(event, AllocationFailed):
            relay.done = True
            relay.failed = True
        elif isinstance(event, AllocationLost):
            # The agent's checks and consent on this socket now go unanswered,
            # which fails its pairs without touching the others.
            relay.failed = True

    def route(
        self, datagrams: list[tuple[int, Address, bytes]], now: float
    ) -> list[tuple[int, Address, bytes]]:
        """Send the agent's relay datagrams through their clients; return the rest."""
        relays = self.relays
        if not relays:
            return datagrams
        rest: list[tuple[int, Address, bytes]] = []
        for item in datagrams:
            relay = relays.get(item[0])
            if relay is None:
                rest.append(item)
            else:
                relay.client.send_to(item[2], item[1], now)
        return rest

    def close(self, now: float) -> None:
        """Release every allocation (RFC 8656 section 7.2: Refresh with lifetime 0)."""
        for relay in self.relays.values():
            relay.client.close(now)
