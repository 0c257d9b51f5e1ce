"""The SDP layer's parse error."""

from __future__ import annotations

from webrtc.errors import ParseError

__all__ = ["SdpParseError"]


class SdpParseError(ParseError):
    """Malformed SDP text.

    ``line_number`` is 1-based and ``line`` is the offending line, when the
    error concerns one line of a description (both ``None`` otherwise, e.g. for
    a bare candidate string).
    """

    def __init__(self, message: str, line_number: int | None = None, line: str | None = None):
        if line_number is not None:
            full = f"line {line_number}: {message}: {line!r}"
        elif line is not None:
            full = f"{message}: {line!r}"
        else:
            full = message
        super().__init__(full)
        self.reason = message
        self.line_number = line_number
        self.line = line
