"""ICE, STUN and TURN (RFC 8445, 8838, 7675, 8489, 8656).

- :mod:`webrtc.ice.stun`: STUN messages, credentials and transactions;
- :mod:`webrtc.ice.agent`: the sans-I/O ICE agent;
- :mod:`webrtc.ice.aio`: the asyncio adapter that owns the sockets.
"""

from webrtc.ice.stun import StunMessage, StunParseError

__all__ = ["StunMessage", "StunParseError"]
