"""Known-answer tests of the key schedule: TLS 1.2 PRF, extended master secret,
key block and RFC 5705 exporter.

Sources: the published P_SHA256 vector (IETF TLS list, msg03416, the same one
PKCS#11 and many stacks test against); ``openssl kdf TLS1-PRF`` computed at
test time; and a live pyOpenSSL (OpenSSL's libssl) DTLS 1.2 peer in memory,
whose ``master_key()``, randoms and ``export_keying_material()`` are compared
with ours and whose records we open with our key block.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess

import pytest

from webrtc.dtls import Certificate, DtlsConnection, DtlsState, HandshakeComplete, SrtpProfile, prf
from webrtc.dtls.suites import RecordProtection, suite_info

SECRET = bytes.fromhex("9bbe436ba940f017b17652849a71db35")
SEED = bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c")
EXPECTED = bytes.fromhex(
    "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
    "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
    "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
    "87347b66")


def test_prf_sha256_published_vector() -> None:
    assert prf.prf(SECRET, b"test label", SEED, 100) == EXPECTED
    assert prf.prf(SECRET, b"test label", SEED, 37) == EXPECTED[:37]


def _openssl_prf(digest: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl binary not found")
    output = subprocess.run(
        [openssl, "kdf", "-keylen", str(length), "-kdfopt", f"digest:{digest}",
         "-kdfopt", f"hexsecret:{secret.hex()}", "-kdfopt", f"hexseed:{label.hex()}",
         "-kdfopt", f"hexseed:{seed.hex()}", "TLS1-PRF"],
        check=True, capture_output=True, text=True).stdout
    return bytes.fromhex(output.strip().replace(":", ""))


@pytest.mark.parametrize(("hash_name", "digest"), [("sha256", "SHA256"), ("sha384", "SHA384")])
def test_key_schedule_against_openssl_kdf(hash_name: str, digest: str) -> None:
    pre_master = hashlib.sha256(b"pre-master").digest()
    session_hash = hashlib.new(hash_name, b"transcript").digest()
    client_random = bytes(range(32))
    server_random = bytes(range(32, 64))
    master = prf.extended_master_secret(pre_master, session_hash, hash_name)
    assert master == _openssl_prf(digest, pre_master, b"extended master secret",
                                  session_hash, 48)
    assert prf.master_secret(pre_master, client_random, server_random, hash_name) == \
        _openssl_prf(digest, pre_master, b"master secret", client_random + server_random, 48)
    assert prf.key_block(master, client_random, server_random, 88, hash_name) == \
        _openssl_prf(digest, master, b"key expansion", server_random + client_random, 88)
    assert prf.client_finished(master, session_hash, hash_name) == \
        _openssl_prf(digest, master, b"client finished", session_hash, 12)
    context = b"some context"
    assert prf.export_keying_material(master, client_random, server_random,
                                      "EXPORTER-label", 42, context, hash_name) == \
        _openssl_prf(digest, master, b"EXPORTER-label",
                     client_random + server_random + len(context).to_bytes(2, "big") + context,
                     42)


def _pyopenssl_server(certificate: Certificate, cipher: bytes) -> object:
    ssl = pytest.importorskip("OpenSSL.SSL")
    context = ssl.Context(ssl.DTLS_METHOD)
    context.use_certificate(certificate.x509)
    context.use_privatekey(certificate.private_key)
    context.set_verify(ssl.VERIFY_PEER | ssl.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *args: True)
    context.set_tlsext_use_srtp(b"SRTP_AES128_CM_SHA1_80")
    context.set_cipher_list(cipher)
    connection = ssl.Connection(context, None)
    connection.set_accept_state()
    return connection


@pytest.mark.parametrize("cipher", [b"ECDHE-ECDSA-AES128-GCM-SHA256",
                                    b"ECDHE-ECDSA-AES256-GCM-SHA384",
                                    b"ECDHE-ECDSA-CHACHA20-POLY1305"])
def test_master_secret_key_block_and_exporter_against_libssl(
        cipher: bytes, client_certificate: Certificate, server_certificate: Certificate) -> None:
    ssl = pytest.importorskip("OpenSSL.SSL")
    server = _pyopenssl_server(server_certificate, cipher)
    client = DtlsConnection(True, client_certificate, server_certificate.fingerprints())
    client.start(0.0)
    for _ in range(10):
        for datagram in client.datagrams_to_send(0.0):
            server.bio_write(datagram)  # type: ignore[attr-defined]
        with contextlib.suppress(ssl.WantReadError):
            server.do_handshake()  # type: ignore[attr-defined]
        while True:
            try:
                datagram = server.bio_read(65535)  # type: ignore[attr-defined]
            except ssl.WantReadError:
                break
            client.receive_datagram(datagram, 0.0)
    assert client.state is DtlsState.CONNECTED
    done = client.next_event()
    assert isinstance(done, HandshakeComplete)

    # RFC 7627: libssl's master secret must equal ours (the session hash covers
    # exactly the right messages), and the randoms we used must be libssl's.
    assert server.master_key() == client._master  # type: ignore[attr-defined]
    assert server.client_random() == client._client_random  # type: ignore[attr-defined]
    assert server.server_random() == client._server_random  # type: ignore[attr-defined]
    # RFC 5705 / 5764 exporter, with and without context.
    assert done.srtp_profile is SrtpProfile.AES128_CM_HMAC_SHA1_80
    assert done.srtp_keying_material == server.export_keying_material(  # type: ignore[attr-defined]
        b"EXTRACTOR-dtls_srtp", 60)
    assert client.export_keying_material("EXPORTER-x", 33, b"ctx") == \
        server.export_keying_material(b"EXPORTER-x", 33, b"ctx")  # type: ignore[attr-defined]

    # Key block: open a record libssl sealed, with keys we derive ourselves
    # from libssl's master secret.
    server.write(b"sealed by libssl")  # type: ignore[attr-defined]
    record = server.bio_read(65535)  # type: ignore[attr-defined]
    info = suite_info(done.cipher_suite)
    assert info is not None
    master = server.master_key()  # type: ignore[attr-defined]
    block = prf.key_block(master, server.client_random(),  # type: ignore[attr-defined]
                          server.server_random(),  # type: ignore[attr-defined]
                          2 * (info.key_length + info.iv_length), info.hash_name)
    k, iv = info.key_length, info.iv_length
    server_write = RecordProtection(info, block[k : 2 * k], block[2 * k + iv :])
    epoch_seq = int.from_bytes(record[3:11], "big")
    assert server_write.open(record[0], int.from_bytes(record[1:3], "big"), epoch_seq,
                             record[13:]) == b"sealed by libssl"
