"""Self-signed certificates and SDP fingerprints (RFC 8122, RFC 8827 §6.5)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

__all__ = [
    "Certificate",
    "PrivateKey",
    "certificate_fingerprint",
    "fingerprint_matches",
]

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

# SDP hash function names (RFC 8122 §5) -> hashlib names.
_FINGERPRINT_HASHES = {
    "sha-1": "sha1",
    "sha-224": "sha224",
    "sha-256": "sha256",
    "sha-384": "sha384",
    "sha-512": "sha512",
}


def certificate_fingerprint(der: bytes, algorithm: str = "sha-256") -> str:
    """The SDP fingerprint of a DER certificate: upper-case hex pairs joined by colons."""
    name = _FINGERPRINT_HASHES.get(algorithm.lower())
    if name is None:
        raise ValueError(f"unsupported fingerprint algorithm {algorithm!r}")
    hexdigest = hashlib.new(name, der).hexdigest().upper()
    return ":".join(hexdigest[i : i + 2] for i in range(0, len(hexdigest), 2))


def fingerprint_matches(der: bytes, fingerprints: Iterable[tuple[str, str]]) -> bool:
    """True when one of the SDP ``(algorithm, value)`` fingerprints matches ``der``.

    Algorithms we do not know are skipped (RFC 8122 §5: a peer may offer several).
    """
    for algorithm, value in fingerprints:
        name = _FINGERPRINT_HASHES.get(algorithm.lower())
        if name is None:
            continue
        expected = value.replace(":", "").strip().upper()
        actual = hashlib.new(name, der).hexdigest().upper()
        if hmac.compare_digest(expected.encode(), actual.encode()):
            return True
    return False


class Certificate:
    """A certificate with its private key, as one end of a DTLS connection uses it."""

    def __init__(self, private_key: PrivateKey, certificate: x509.Certificate) -> None:
        self.private_key = private_key
        self.x509 = certificate
        self.der = certificate.public_bytes(serialization.Encoding.DER)

    @classmethod
    def generate(
        cls,
        key_type: str = "ecdsa",
        common_name: str = "webrtc",
        valid_days: int = 30,
        curve: ec.EllipticCurve | None = None,
    ) -> Certificate:
        """A fresh self-signed certificate: ECDSA P-256 by default, or ``key_type="rsa"``."""
        key: PrivateKey
        if key_type == "ecdsa":
            key = ec.generate_private_key(curve or ec.SECP256R1())
        elif key_type == "rsa":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            raise ValueError(f"unknown key type {key_type!r}")
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=valid_days))
        )
        return cls(key, builder.sign(key, hashes.SHA256()))

    @classmethod
    def from_pem(cls, certificate_pem: bytes, key_pem: bytes) -> Certificate:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError("only ECDSA and RSA keys are supported")
        return cls(key, x509.load_pem_x509_certificate(certificate_pem))

    def certificate_pem(self) -> bytes:
        return self.x509.public_bytes(serialization.Encoding.PEM)

    def private_key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def is_ecdsa(self) -> bool:
        return isinstance(self.private_key, ec.EllipticCurvePrivateKey)

    def fingerprints(
        self, algorithms: Sequence[str] = ("sha-256",)
    ) -> list[tuple[str, str]]:
        """SDP-ready ``(algorithm, "AA:BB:...")`` fingerprints (sha-256 by default)."""
        return [
            (algorithm, certificate_fingerprint(self.der, algorithm))
            for algorithm in algorithms
        ]
