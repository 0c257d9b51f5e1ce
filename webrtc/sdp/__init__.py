"""SDP (RFC 8866) for WebRTC, and JSEP (RFC 8829) negotiation helpers.

A leaf layer: it imports no other layer, and any layer may import it. The ICE
candidate type :class:`Candidate` lives here once and the ICE agent uses it.
"""

from webrtc.sdp.candidate import Candidate
from webrtc.sdp.errors import SdpParseError

__all__ = ["Candidate", "SdpParseError"]
