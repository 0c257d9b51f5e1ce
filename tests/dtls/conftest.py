"""Shared fixtures of the DTLS tests: certificates are slow-ish, make them once."""

from __future__ import annotations

import pytest

from webrtc.dtls import Certificate


@pytest.fixture(scope="session")
def client_certificate() -> Certificate:
    return Certificate.generate()


@pytest.fixture(scope="session")
def server_certificate() -> Certificate:
    return Certificate.generate()


@pytest.fixture(scope="session")
def rsa_certificate() -> Certificate:
    return Certificate.generate("rsa")
