"""The coturn launcher for the tests: missing turnserver means skip, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from webrtc.testing.turn_coturn import Coturn, CoturnNotFound
from webrtc.testing.turn_coturn import start_coturn as _start_coturn

__all__ = ["Coturn", "start_coturn"]


def start_coturn(
    directory: Path,
    tls: bool = False,
    extra_args: list[str] | None = None,
    users: list[tuple[str, str]] | None = None,
    certificate: tuple[Path, Path] | None = None,
) -> Coturn:
    try:
        return _start_coturn(directory, tls, extra_args, users, certificate)
    except CoturnNotFound as exc:
        pytest.skip(str(exc))
