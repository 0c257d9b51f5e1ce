"""webrtc: a complete WebRTC stack in Python, written from the RFCs up.

Layers, each usable on its own (see DESIGN.md):

- :mod:`webrtc.sdp`: SDP model, parser and JSEP helpers.
- :mod:`webrtc.ice`: STUN, ICE agent, TURN client.
- :mod:`webrtc.dtls`: DTLS 1.2 on the ``cryptography`` primitives.
- :mod:`webrtc.sctp`: SCTP over DTLS and data channels (DCEP).
- :mod:`webrtc.rtp`: RTP/RTCP, SRTP, payload formats.
- :mod:`webrtc.testing`: a deterministic network simulator with a virtual clock.
- :mod:`webrtc.peerconnection`: the W3C ``RTCPeerConnection`` facade, also
  exported here (``from webrtc import RTCPeerConnection``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webrtc.errors import ParseError

if TYPE_CHECKING:
    from webrtc.peerconnection import (
        RTCConfiguration,
        RTCDataChannel,
        RTCIceCandidate,
        RTCIceServer,
        RTCPeerConnection,
        RTCSessionDescription,
    )

__all__ = [
    "ParseError",
    "RTCConfiguration",
    "RTCDataChannel",
    "RTCIceCandidate",
    "RTCIceServer",
    "RTCPeerConnection",
    "RTCSessionDescription",
    "__version__",
]

__version__ = "0.1.0"

_FACADE_NAMES = frozenset(__all__) - {"ParseError", "__version__"}


def __getattr__(name: str) -> Any:
    # The facade (asyncio, every layer) is imported on first use, so that
    # embedding one layer (``import webrtc.sdp``) does not load the others.
    if name in _FACADE_NAMES:
        from webrtc import peerconnection

        return getattr(peerconnection, name)
    raise AttributeError(f"module 'webrtc' has no attribute {name!r}")
