"""Two associations wired through the deterministic simulator."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from webrtc.sctp import AssociationState, MessageReceived, SctpAssociation
from webrtc.testing import EngineNode, LinkConfig, Network

A_ADDRESS = ("10.0.0.1", 5000)
B_ADDRESS = ("10.0.0.2", 5000)


@dataclass
class Pair:
    network: Network
    a: SctpAssociation
    b: SctpAssociation
    node_a: EngineNode
    node_b: EngineNode
    received_a: list[MessageReceived] = field(default_factory=list)
    received_b: list[MessageReceived] = field(default_factory=list)

    def established(self) -> bool:
        return (
            self.a.state is AssociationState.ESTABLISHED
            and self.b.state is AssociationState.ESTABLISHED
        )

    def events(self, side: str, kind: type) -> list[object]:
        node = self.node_a if side == "a" else self.node_b
        return [e for e in node.events if isinstance(e, kind)]


def make_pair(
    link: LinkConfig | None = None,
    seed: int = 0,
    start: str = "both",
    connect: bool = True,
    **options: object,
) -> Pair:
    network = Network(seed=seed, default_link=link or LinkConfig(delay=0.01))
    rng = random.Random(seed)
    a = SctpAssociation(True, random_bytes=rng.randbytes, **options)  # type: ignore[arg-type]
    b = SctpAssociation(False, random_bytes=rng.randbytes, **options)  # type: ignore[arg-type]
    pair: Pair
    received_a: list[MessageReceived] = []
    received_b: list[MessageReceived] = []

    def on_a(event: object) -> None:
        if isinstance(event, MessageReceived):
            received_a.append(event)

    def on_b(event: object) -> None:
        if isinstance(event, MessageReceived):
            received_b.append(event)

    node_a = network.add_engine(a, A_ADDRESS, B_ADDRESS, on_event=on_a)
    node_b = network.add_engine(b, B_ADDRESS, A_ADDRESS, on_event=on_b)
    pair = Pair(network, a, b, node_a, node_b, received_a, received_b)
    if start in ("a", "both"):
        a.start(network.now)
    if start in ("b", "both"):
        b.start(network.now)
    if connect:
        network.run(pair.established, timeout=600)
    return pair
