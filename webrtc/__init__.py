"""webrtc: a complete WebRTC stack in Python, written from the RFCs up.

Layers, each usable on its own (see DESIGN.md):

- :mod:`webrtc.sdp`: SDP model, parser and JSEP helpers.
- :mod:`webrtc.ice`: STUN, ICE agent, TURN client.
- :mod:`webrtc.dtls`: DTLS 1.2 on the ``cryptography`` primitives.
- :mod:`webrtc.sctp`: SCTP over DTLS and data channels (DCEP).
- :mod:`webrtc.rtp`: RTP/RTCP, SRTP, payload formats.
- :mod:`webrtc.testing`: a deterministic network simulator with a virtual clock.
"""

from __future__ import annotations

from webrtc.errors import ParseError

__all__ = ["ParseError", "__version__"]

__version__ = "0.1.0"
