"""The package-wide error base classes (DESIGN.md section 3)."""

from __future__ import annotations

__all__ = ["ParseError"]


class ParseError(ValueError):
    """Malformed input to a parser. Every layer's parse error derives from this.

    A parser fed any input at all either returns a value or raises its layer's
    subclass of this error: never IndexError, struct.error, UnicodeDecodeError
    or KeyError.
    """
