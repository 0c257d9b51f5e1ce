"""Certificates and SDP fingerprints (RFC 8122 §5)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from webrtc.dtls import Certificate, certificate_fingerprint, fingerprint_matches


def test_generate_ecdsa_p256_and_fingerprints(client_certificate: Certificate) -> None:
    key = client_certificate.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    (algorithm, value), = client_certificate.fingerprints()
    assert algorithm == "sha-256"
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", value)
    assert value.replace(":", "").lower() == hashlib.sha256(client_certificate.der).hexdigest()
    many = dict(client_certificate.fingerprints(("sha-1", "sha-256", "sha-384", "sha-512")))
    assert [len(v.split(":")) for v in many.values()] == [20, 32, 48, 64]


def test_fingerprint_matching(client_certificate: Certificate,
                              server_certificate: Certificate) -> None:
    der = client_certificate.der
    fingerprint = client_certificate.fingerprints()[0]
    assert fingerprint_matches(der, [fingerprint])
    assert fingerprint_matches(der, [("SHA-256", fingerprint[1].lower())])
    assert fingerprint_matches(der, [("md5", "00"), fingerprint])  # unknown ones skipped
    assert not fingerprint_matches(der, server_certificate.fingerprints())
    assert not fingerprint_matches(der, [])
    assert certificate_fingerprint(der, "sha-1").replace(":", "") == (
        hashlib.sha1(der).hexdigest().upper())
    assert certificate_fingerprint(der, "sha-1")[2::3] == ":" * 19


def test_rsa_and_pem_round_trip(rsa_certificate: Certificate) -> None:
    assert isinstance(rsa_certificate.private_key, rsa.RSAPrivateKey)
    assert not rsa_certificate.is_ecdsa
    again = Certificate.from_pem(rsa_certificate.certificate_pem(),
                                 rsa_certificate.private_key_pem())
    assert again.der == rsa_certificate.der
    assert again.fingerprints() == rsa_certificate.fingerprints()


def test_fingerprint_agrees_with_openssl(tmp_path: Path, client_certificate: Certificate) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl binary not found")
    path = tmp_path / "cert.pem"
    path.write_bytes(client_certificate.certificate_pem())
    output = subprocess.run([openssl, "x509", "-in", str(path), "-noout", "-fingerprint",
                             "-sha256"], check=True, capture_output=True, text=True).stdout
    assert output.strip().split("=", 1)[1] == client_certificate.fingerprints()[0][1]
