"""ICE, STUN and TURN (RFC 8445, 8838, 7675, 8489, 8656).

- :mod:`webrtc.ice.stun`: STUN messages, credentials and transactions;
- :mod:`webrtc.ice.agent`: the sans-I/O ICE agent;
- :mod:`webrtc.ice.aio`: the asyncio adapter that owns the sockets (imported
  explicitly, so that the sans-I/O parts never pull in asyncio or sockets).
"""

from webrtc.ice.agent import (
    CandidatePair,
    GatheringComplete,
    IceAgent,
    IceRole,
    IceState,
    LocalCandidateGathered,
    PayloadReceived,
    SelectedPairChanged,
    StateChanged,
)
from webrtc.ice.stun import StunMessage, StunParseError

__all__ = [
    "CandidatePair",
    "GatheringComplete",
    "IceAgent",
    "IceRole",
    "IceState",
    "LocalCandidateGathered",
    "PayloadReceived",
    "SelectedPairChanged",
    "StateChanged",
    "StunMessage",
    "StunParseError",
]
