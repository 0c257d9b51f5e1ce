"""The DTLS layer's parse error."""

from __future__ import annotations

from webrtc.errors import ParseError

__all__ = ["DtlsParseError"]


class DtlsParseError(ParseError):
    """Malformed DTLS record, handshake message or extension."""
