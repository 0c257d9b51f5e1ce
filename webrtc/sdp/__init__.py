"""SDP (RFC 8866) for WebRTC, and JSEP (RFC 8829) negotiation helpers.

A leaf layer: it imports no other layer, and any layer may import it. The ICE
candidate type :class:`Candidate` lives here once and the ICE agent uses it.

- :class:`SessionDescription`: ``parse(text)`` / ``str(sd)`` (lossless: every
  line kept in order, CRLF out), ``new(...)`` to start one from scratch,
  ``media`` (a list of :class:`MediaDescription`), session-level accessors
  (``origin``, ``connection``, ``groups``/``bundle``, ``msid_semantic``,
  ``extmap_allow_mixed``, ``ice_lite``, ``ice_ufrag``/``ice_pwd``/
  ``ice_options``, ``fingerprints``, ``setup``) and the media-else-session
  fallbacks (``ice_credentials_for(m)``, ``fingerprints_for(m)``, ...).
- :class:`MediaDescription`: ``MediaDescription(kind, port, protocol, formats)``
  and properties with setters (``mid``, ``direction``, ``connection``,
  ``rtcp``, ``rtcp_mux``, ``rtcp_rsize``, ``sctp_port``,
  ``max_message_size``, ``simulcast``, ``end_of_candidates``...), lists with
  adders (``candidates``/``add_candidate``, ``extmaps``, ``ssrcs``,
  ``ssrc_groups``, ``msids``, ``rids``, ``fingerprints``), and codecs
  (``codecs()``, ``add_codec``, ``rtpmap(pt)``, ``fmtp(pt)``,
  ``rtcp_feedback(pt)``).
- Both have the generic ``attribute(name)``, ``attribute_values(name)``,
  ``attributes()``, ``add_attribute``, ``set_attribute``,
  ``remove_attribute`` for anything else.
- The typed values (:mod:`webrtc.sdp.attributes`) are frozen dataclasses with
  ``parse(value)`` and ``str()``.

Malformed text raises :class:`SdpParseError` (1-based ``line_number`` and the
offending ``line``); a builder given a value the parser would refuse raises
ValueError, so whatever is built serializes and parses back equal.
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
