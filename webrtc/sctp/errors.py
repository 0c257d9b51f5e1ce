"""The SCTP layer's parse error."""

from __future__ import annotations

from webrtc.errors import ParseError

__all__ = ["SctpParseError"]


class SctpParseError(ParseError):
    """A malformed SCTP packet, chunk, parameter or DCEP message."""
