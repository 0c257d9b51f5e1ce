"""The RTP layer's parse error."""

from __future__ import annotations

from webrtc.errors import ParseError

__all__ = ["RtpParseError"]


class RtpParseError(ParseError):
    """Malformed RTP, RTCP, header-extension or payload-format input."""
