"""SDP (RFC 8866) for WebRTC, and JSEP (RFC 8829) negotiation helpers.

A leaf layer: it imports no other layer, and any layer may import it. The ICE
candidate type :class:`Candidate` lives here once and the ICE agent uses it.

:class:`SessionDescription` is a lossless model of an SDP text (every line
kept, in order) with typed accessors and builders for what WebRTC uses; the
typed values are in :mod:`webrtc.sdp.attributes`.
"""

from webrtc.sdp.attributes import (
    Codec,
    Connection,
    Direction,
    ExtMap,
    Fingerprint,
    Fmtp,
    Group,
    Msid,
    MsidSemantic,
    Origin,
    Rid,
    RidDirection,
    Rtcp,
    RtcpFeedback,
    RtpMap,
    Setup,
    Simulcast,
    SimulcastStream,
    Ssrc,
    SsrcGroup,
)
from webrtc.sdp.candidate import Candidate
from webrtc.sdp.description import MediaDescription, SessionDescription
from webrtc.sdp.errors import SdpParseError

__all__ = [
    "Candidate",
    "Codec",
    "Connection",
    "Direction",
    "ExtMap",
    "Fingerprint",
    "Fmtp",
    "Group",
    "MediaDescription",
    "Msid",
    "MsidSemantic",
    "Origin",
    "Rid",
    "RidDirection",
    "Rtcp",
    "RtcpFeedback",
    "RtpMap",
    "SdpParseError",
    "SessionDescription",
    "Setup",
    "Simulcast",
    "SimulcastStream",
    "Ssrc",
    "SsrcGroup",
]
