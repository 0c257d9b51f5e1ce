"""ICE, STUN and TURN (RFC 8445, 8838, 7675, 8489, 8656).

Will hold: STUN messages and transactions, the sans-I/O ICE agent, the TURN
client, and the asyncio adapter (``webrtc.ice.aio``) that owns the sockets.
"""
