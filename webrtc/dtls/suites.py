"""Cipher suites, key-exchange groups, signature schemes, SRTP profiles, and
the AEAD record protection of an epoch (RFC 5288, RFC 7905, RFC 8422, RFC 5764).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

__all__ = [
    "CipherSuite",
    "NamedGroup",
    "RecordProtection",
    "SignatureScheme",
    "SrtpProfile",
    "SuiteInfo",
    "suite_info",
]


class CipherSuite(IntEnum):
    ECDHE_ECDSA_AES_128_GCM_SHA256 = 0xC02B
    ECDHE_ECDSA_AES_256_GCM_SHA384 = 0xC02C
    ECDHE_RSA_AES_128_GCM_SHA256 = 0xC02F
    ECDHE_RSA_AES_256_GCM_SHA384 = 0xC030
    ECDHE_RSA_CHACHA20_POLY1305_SHA256 = 0xCCA8
    ECDHE_ECDSA_CHACHA20_POLY1305_SHA256 = 0xCCA9

    @property
    def iana_name(self) -> str:
        """The registered name (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), as browsers
        report it in W3C ``RTCTransportStats.dtlsCipher``."""
        key_exchange, _, cipher = self.name.partition("_")
        authentication, _, cipher = cipher.partition("_")
        return f"TLS_{key_exchange}_{authentication}_WITH_{cipher}"


EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF


@dataclass(frozen=True)
class SuiteInfo:
    suite: CipherSuite
    ecdsa: bool  # authentication: ECDSA (else RSA)
    chacha: bool  # ChaCha20-Poly1305 (else AES-GCM)
    key_length: int
    iv_length: int  # fixed IV (GCM salt of 4 bytes, ChaCha20 12 bytes)
    hash_name: str  # PRF and transcript hash


_SUITES = {
    CipherSuite.ECDHE_ECDSA_AES_128_GCM_SHA256: SuiteInfo(
        CipherSuite.ECDHE_ECDSA_AES_128_GCM_SHA256, True, False, 16, 4, "sha256"),
    CipherSuite.ECDHE_ECDSA_AES_256_GCM_SHA384: SuiteInfo(
        CipherSuite.ECDHE_ECDSA_AES_256_GCM_SHA384, True, False, 32, 4, "sha384"),
    CipherSuite.ECDHE_RSA_AES_128_GCM_SHA256: SuiteInfo(
        CipherSuite.ECDHE_RSA_AES_128_GCM_SHA256, False, False, 16, 4, "sha256"),
    CipherSuite.ECDHE_RSA_AES_256_GCM_SHA384: SuiteInfo(
        CipherSuite.ECDHE_RSA_AES_256_GCM_SHA384, False, False, 32, 4, "sha384"),
    CipherSuite.ECDHE_RSA_CHACHA20_POLY1305_SHA256: SuiteInfo(
        CipherSuite.ECDHE_RSA_CHACHA20_POLY1305_SHA256, False, True, 32, 12, "sha256"),
    CipherSuite.ECDHE_ECDSA_CHACHA20_POLY1305_SHA256: SuiteInfo(
        CipherSuite.ECDHE_ECDSA_CHACHA20_POLY1305_SHA256, True, True, 32, 12, "sha256"),
}

DEFAULT_CIPHER_SUITES = (
    CipherSuite.ECDHE_ECDSA_AES_128_GCM_SHA256,
    CipherSuite.ECDHE_ECDSA_AES_256_GCM_SHA384,
    CipherSuite.ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
    CipherSuite.ECDHE_RSA_AES_128_GCM_SHA256,
    CipherSuite.ECDHE_RSA_AES_256_GCM_SHA384,
    CipherSuite.ECDHE_RSA_CHACHA20_POLY1305_SHA256,
)


def suite_info(suite: int) -> SuiteInfo | None:
    try:
        return _SUITES[CipherSuite(suite)]
    except ValueError:
        return None


class NamedGroup(IntEnum):
    SECP256R1 = 23
    SECP384R1 = 24
    X25519 = 29


DEFAULT_GROUPS = (NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1)

_CURVES: dict[int, type[ec.EllipticCurve]] = {
    NamedGroup.SECP256R1: ec.SECP256R1,
    NamedGroup.SECP384R1: ec.SECP384R1,
}


class KeyShare:
    """One ephemeral ECDHE key of a group (RFC 8422 §5.4; X25519 per RFC 8422 §5.11)."""

    def __init__(self, group: int) -> None:
        self.group = group
        self._x25519: x25519.X25519PrivateKey | None = None
        self._ec: ec.EllipticCurvePrivateKey | None = None
        if group == NamedGroup.X25519:
            self._x25519 = x25519.X25519PrivateKey.generate()
            self.public_bytes = self._x25519.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        elif group in _CURVES:
            self._ec = ec.generate_private_key(_CURVES[group]())
            self.public_bytes = self._ec.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        else:
            raise ValueError(f"unsupported group {group}")

    def exchange(self, peer_public: bytes) -> bytes:
        """The shared secret; ValueError on an invalid peer key."""
        if self._x25519 is not None:
            if len(peer_public) != 32:
                raise ValueError("X25519 public key must be 32 bytes")
            peer = x25519.X25519PublicKey.from_public_bytes(peer_public)
            return self._x25519.exchange(peer)
        assert self._ec is not None
        if not peer_public or peer_public[0] != 4:
            raise ValueError("only uncompressed points are accepted")
        peer_ec = ec.EllipticCurvePublicKey.from_encoded_point(self._ec.curve, peer_public)
        return self._ec.exchange(ec.ECDH(), peer_ec)


class SignatureScheme(IntEnum):
    RSA_PKCS1_SHA256 = 0x0401
    ECDSA_SECP256R1_SHA256 = 0x0403
    RSA_PKCS1_SHA384 = 0x0501
    ECDSA_SECP384R1_SHA384 = 0x0503
    ECDSA_SECP521R1_SHA512 = 0x0603
    RSA_PSS_RSAE_SHA256 = 0x0804
    RSA_PSS_RSAE_SHA384 = 0x0805


DEFAULT_SIGNATURE_SCHEMES = (
    SignatureScheme.ECDSA_SECP256R1_SHA256,
    SignatureScheme.ECDSA_SECP384R1_SHA384,
    SignatureScheme.RSA_PSS_RSAE_SHA256,
    SignatureScheme.RSA_PKCS1_SHA256,
    SignatureScheme.ECDSA_SECP521R1_SHA512,
    SignatureScheme.RSA_PSS_RSAE_SHA384,
    SignatureScheme.RSA_PKCS1_SHA384,
)

_SCHEME_HASH: dict[int, type[hashes.HashAlgorithm]] = {
    SignatureScheme.RSA_PKCS1_SHA256: hashes.SHA256,
    SignatureScheme.ECDSA_SECP256R1_SHA256: hashes.SHA256,
    SignatureScheme.RSA_PKCS1_SHA384: hashes.SHA384,
    SignatureScheme.ECDSA_SECP384R1_SHA384: hashes.SHA384,
    SignatureScheme.ECDSA_SECP521R1_SHA512: hashes.SHA512,
    SignatureScheme.RSA_PSS_RSAE_SHA256: hashes.SHA256,
    SignatureScheme.RSA_PSS_RSAE_SHA384: hashes.SHA384,
}


def scheme_is_ecdsa(scheme: int) -> bool:
    return scheme & 0xFF == 3


def scheme_fits_key(scheme: int, key: object) -> bool:
    """Whether ``scheme`` can be used with this (private or public) key."""
    if scheme not in _SCHEME_HASH:
        return False
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return scheme_is_ecdsa(scheme)
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return not scheme_is_ecdsa(scheme)
    return False


def choose_scheme(key: object, offered: list[int] | None) -> int | None:
    """Our preferred scheme for ``key`` among ``offered`` (``None``: nothing was offered)."""
    preferred: list[int]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = key.curve.key_size
        preferred = [SignatureScheme.ECDSA_SECP256R1_SHA256, SignatureScheme.ECDSA_SECP384R1_SHA384]
        if size == 384:
            preferred.reverse()
        preferred.append(SignatureScheme.ECDSA_SECP521R1_SHA512)
    else:
        preferred = [SignatureScheme.RSA_PSS_RSAE_SHA256, SignatureScheme.RSA_PKCS1_SHA256,
                     SignatureScheme.RSA_PSS_RSAE_SHA384, SignatureScheme.RSA_PKCS1_SHA384]
    if offered is None:
        return preferred[0]
    for scheme in preferred:
        if scheme in offered:
            return scheme
    return None


def sign(key: object, scheme: int, data: bytes) -> bytes:
    algorithm = _SCHEME_HASH[scheme]()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(algorithm))
    assert isinstance(key, rsa.RSAPrivateKey)
    if scheme in (SignatureScheme.RSA_PSS_RSAE_SHA256, SignatureScheme.RSA_PSS_RSAE_SHA384):
        return key.sign(data, padding.PSS(padding.MGF1(algorithm), algorithm.digest_size),
                        algorithm)
    return key.sign(data, padding.PKCS1v15(), algorithm)


def verify(public_key: object, scheme: int, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is valid; never raises."""
    if not scheme_fits_key(scheme, public_key):
        return False
    algorithm = _SCHEME_HASH[scheme]()
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(public_key, rsa.RSAPublicKey):
            if scheme in (SignatureScheme.RSA_PSS_RSAE_SHA256,
                          SignatureScheme.RSA_PSS_RSAE_SHA384):
                public_key.verify(signature, data,
                                  padding.PSS(padding.MGF1(algorithm), algorithm.digest_size),
                                  algorithm)
            else:
                public_key.verify(signature, data, padding.PKCS1v15(), algorithm)
        else:
            return False
    except Exception:
        return False
    return True


class SrtpProfile(IntEnum):
    """DTLS-SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2)."""

    AES128_CM_HMAC_SHA1_80 = 0x0001
    AES128_CM_HMAC_SHA1_32 = 0x0002
    AEAD_AES_128_GCM = 0x0007
    AEAD_AES_256_GCM = 0x0008

    @property
    def key_length(self) -> int:
        return 32 if self is SrtpProfile.AEAD_AES_256_GCM else 16

    @property
    def salt_length(self) -> int:
        return 14 if self.value <= 2 else 12

    @property
    def keying_material_length(self) -> int:
        """Bytes to export for SRTP (RFC 5764 §4.2: two keys and two salts)."""
        return 2 * (self.key_length + self.salt_length)

    @property
    def openssl_name(self) -> str:
        return {1: "SRTP_AES128_CM_SHA1_80", 2: "SRTP_AES128_CM_SHA1_32",
                7: "SRTP_AEAD_AES_128_GCM", 8: "SRTP_AEAD_AES_256_GCM"}[self.value]


DEFAULT_SRTP_PROFILES = (
    SrtpProfile.AEAD_AES_128_GCM,
    SrtpProfile.AEAD_AES_256_GCM,
    SrtpProfile.AES128_CM_HMAC_SHA1_80,
    SrtpProfile.AES128_CM_HMAC_SHA1_32,
)

# AAD of an AEAD record: seq_num (epoch || sequence), type, version, length
# (RFC 6347 §4.1.2.1 with RFC 5246 §6.2.3.3).
_AAD = struct.Struct(">QBHH")
_RECORD_HEADER = struct.Struct(">BHQH")
_EXPLICIT = struct.Struct(">Q")
# GCM record header followed by its explicit nonce; GCM nonce = salt || explicit.
_HEADER_EXPLICIT = struct.Struct(">BHQHQ")
_GCM_NONCE = struct.Struct(">IQ")


class RecordProtection:
    """Seals and opens the records of one epoch in one direction.

    One AEAD object per key, precompiled structs: this is the application-data
    hot path. GCM records carry the 8-byte explicit nonce (set to the record's
    epoch and sequence number, RFC 5288 §3); ChaCha20-Poly1305 records carry
    none and XOR the sequence into the fixed IV (RFC 7905 §2).
    """

    __slots__ = ("_aead", "_chacha", "_decrypt", "_encrypt", "_iv_int", "_salt", "_salt_int",
                 "overhead")

    def __init__(self, info: SuiteInfo, key: bytes, iv: bytes) -> None:
        self._chacha = info.chacha
        self._aead: AESGCM | ChaCha20Poly1305
        if info.chacha:
            self._aead = ChaCha20Poly1305(key)
            self.overhead = 16
        else:
            self._aead = AESGCM(key)
            self.overhead = 8 + 16
        self._salt = iv
        self._iv_int = int.from_bytes(iv, "big")
        self._salt_int = self._iv_int
        self._encrypt = self._aead.encrypt
        self._decrypt = self._aead.decrypt

    def gcm_parts(self) -> tuple[Callable[[bytes, bytes, bytes], bytes], int]:
        """The AEAD encrypt call and salt (as an integer, packed with the
        explicit nonce) the connection's inlined GCM send path uses."""
        assert not self._chacha
        return self._encrypt, self._salt_int

    def gcm_open_parts(self) -> tuple[Callable[[bytes, bytes, bytes], bytes], bytes]:
        """The AEAD decrypt call and salt (as bytes, to which the received
        explicit nonce is appended) the connection's inlined GCM receive path uses."""
        assert not self._chacha
        return self._decrypt, self._salt

    def seal_application_data(self, epoch_seq: int, plaintext: bytes) -> bytes:
        """A complete DTLS 1.2 application-data record (the hot path, one pack per field)."""
        length = len(plaintext)
        if self._chacha:
            return self.seal(23, 0xFEFD, epoch_seq, plaintext)
        return _HEADER_EXPLICIT.pack(23, 0xFEFD, epoch_seq, length + 24, epoch_seq) + \
            self._encrypt(_GCM_NONCE.pack(self._salt_int, epoch_seq), plaintext,
                          _AAD.pack(epoch_seq, 23, 0xFEFD, length))

    def open_gcm_record(self, record: bytes, epoch_seq: int, explicit: bytes) -> bytes:
        """Open a whole single-record GCM datagram whose header is already parsed
        (``explicit``: its 8-byte explicit nonce, as the connection's receive path
        unpacks it)."""
        return self._decrypt(self._salt + explicit, record[21:],
                             _AAD.pack(epoch_seq, record[0], 0xFEFD, len(record) - 37))

    def seal(self, content_type: int, version: int, epoch_seq: int, plaintext: bytes) -> bytes:
        """A complete protected record."""
        aad = _AAD.pack(epoch_seq, content_type, version, len(plaintext))
        if self._chacha:
            nonce = (self._iv_int ^ epoch_seq).to_bytes(12, "big")
            sealed = self._aead.encrypt(nonce, plaintext, aad)
            return _RECORD_HEADER.pack(content_type, version, epoch_seq, len(sealed)) + sealed
        explicit = _EXPLICIT.pack(epoch_seq)
        sealed = self._aead.encrypt(self._salt + explicit, plaintext, aad)
        return (_RECORD_HEADER.pack(content_type, version, epoch_seq, 8 + len(sealed))
                + explicit + sealed)

    def open(self, content_type: int, version: int, epoch_seq: int,
             fragment: memoryview | bytes) -> bytes:
        """The plaintext of a record fragment; raises InvalidTag or ValueError."""
        if self._chacha:
            if len(fragment) < 16:
                raise ValueError("record too short")
            nonce = (self._iv_int ^ epoch_seq).to_bytes(12, "big")
            aad = _AAD.pack(epoch_seq, content_type, version, len(fragment) - 16)
            return self._aead.decrypt(nonce, fragment, aad)
        if len(fragment) < 24:
            raise ValueError("record too short")
        aad = _AAD.pack(epoch_seq, content_type, version, len(fragment) - 24)
        return self._aead.decrypt(self._salt + bytes(fragment[:8]), fragment[8:], aad)
