"""Fixtures for the TURN tests: real coturn servers (see coturn_fixture.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from coturn_fixture import Coturn, start_coturn


@pytest.fixture
def coturn_factory() -> Iterator[Callable[..., Coturn]]:
    """Starts coturn servers with custom options; all are killed at teardown."""
    servers: list[Coturn] = []
    with tempfile.TemporaryDirectory(prefix="coturn-") as root:

        def factory(
            tls: bool = False,
            extra_args: list[str] | None = None,
            users: list[tuple[str, str]] | None = None,
            certificate: tuple[Path, Path] | None = None,
        ) -> Coturn:
            directory = Path(root) / str(len(servers))
            server = start_coturn(directory, tls, extra_args, users, certificate)
            servers.append(server)
            return server

        try:
            yield factory
        finally:
            for server in servers:
                server.stop()


@pytest.fixture(scope="module")
def coturn() -> Iterator[Coturn]:
    """One coturn with UDP, TCP and TLS listeners, shared by a module's tests."""
    with tempfile.TemporaryDirectory(prefix="coturn-") as root:
        server = start_coturn(Path(root), tls=True)
        try:
            yield server
        finally:
            server.stop()
