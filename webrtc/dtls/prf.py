"""TLS 1.2 key derivation (RFC 5246 section 5, RFC 7627, RFC 5705).

All functions are pure: secrets and randoms in, bytes out.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = [
    "client_finished",
    "export_keying_material",
    "extended_master_secret",
    "key_block",
    "master_secret",
    "prf",
    "server_finished",
]


def prf(secret: bytes, label: bytes, seed: bytes, length: int, hash_name: str = "sha256") -> bytes:
    """The TLS 1.2 PRF: P_<hash>(secret, label + seed) cut to ``length`` bytes (RFC 5246 §5)."""
    full_seed = label + seed
    out = bytearray()
    a = full_seed
    while len(out) < length:
        a = hmac.digest(secret, a, hash_name)
        out += hmac.digest(secret, a + full_seed, hash_name)
    return bytes(out[:length])


def master_secret(
    pre_master_secret: bytes, client_random: bytes, server_random: bytes, hash_name: str = "sha256"
) -> bytes:
    """The classic master secret (RFC 5246 §8.1); kept for the KATs, never negotiated here."""
    return prf(pre_master_secret, b"master secret", client_random + server_random, 48, hash_name)


def extended_master_secret(
    pre_master_secret: bytes, session_hash: bytes, hash_name: str = "sha256"
) -> bytes:
    """The extended master secret (RFC 7627 §4).

    ``session_hash`` is the hash of the handshake messages up to and including
    ClientKeyExchange.
    """
    return prf(pre_master_secret, b"extended master secret", session_hash, 48, hash_name)


def key_block(
    master: bytes, client_random: bytes, server_random: bytes, length: int,
    hash_name: str = "sha256",
) -> bytes:
    """The key block (RFC 5246 §6.3); note the server random comes first."""
    return prf(master, b"key expansion", server_random + client_random, length, hash_name)


def client_finished(master: bytes, handshake_hash: bytes, hash_name: str = "sha256") -> bytes:
    """verify_data of the client's Finished (RFC 5246 §7.4.9)."""
    return prf(master, b"client finished", handshake_hash, 12, hash_name)


def server_finished(master: bytes, handshake_hash: bytes, hash_name: str = "sha256") -> bytes:
    """verify_data of the server's Finished (RFC 5246 §7.4.9)."""
    return prf(master, b"server finished", handshake_hash, 12, hash_name)


def export_keying_material(
    master: bytes,
    client_random: bytes,
    server_random: bytes,
    label: str | bytes,
    length: int,
    context: bytes | None = None,
    hash_name: str = "sha256",
) -> bytes:
    """The RFC 5705 exporter (section 4). ``context=None`` differs from ``b""``."""
    if isinstance(label, str):
        label = label.encode("ascii")
    seed = client_random + server_random
    if context is not None:
        if len(context) > 0xFFFF:
            raise ValueError("exporter context longer than 65535 bytes")
        seed += len(context).to_bytes(2, "big") + context
    return prf(master, label, seed, length, hash_name)


def transcript_hash(data: bytes, hash_name: str) -> bytes:
    """Hash of concatenated handshake messages."""
    return hashlib.new(hash_name, data).digest()
