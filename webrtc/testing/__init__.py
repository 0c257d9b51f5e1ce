"""Testing tools shipped with the package: a deterministic network simulator.

See :mod:`webrtc.testing.network`.
"""

from webrtc.testing.network import (
    Address,
    EngineNode,
    LinkConfig,
    LinkStats,
    Network,
    Node,
    SimulationTimeout,
)

__all__ = [
    "Address",
    "EngineNode",
    "LinkConfig",
    "LinkStats",
    "Network",
    "Node",
    "SimulationTimeout",
]
