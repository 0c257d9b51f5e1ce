"""DTLS benchmarks: (a) a full handshake in one process, against a pyOpenSSL
(libssl) DTLS pair; (b) application-data records of 1,200 bytes protected and
unprotected, against bare ``cryptography`` AESGCM seal and open calls on the
same sizes (the floor this design can reach), three ways: (b) through the
engine's batch API (``send_many`` → ``datagrams_to_send`` →
``receive_datagrams``: header, AEAD, anti-replay window, counters), (b') the
record protection alone, one record at a time, (b'') through the per-record
API (``send`` → ``receive_datagram`` → ``next_event``)."""

from __future__ import annotations

import contextlib
import os
import struct
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from benchmarks.common import Row, paired_row
from webrtc.dtls import Certificate, DtlsConnection, DtlsState

_RECORD_SIZE = 1200
_BATCH = 200
_MB = _BATCH * _RECORD_SIZE / 1e6


def _paired_row(name: str, unit: str, ours: Callable[[], object],
                baseline: Callable[[], object], baseline_name: str, work: float,
                goal: float | None = None) -> Row:
    """:func:`benchmarks.common.paired_row` on CPU time, the same work both sides.

    The machine is shared by several busy processes: wall time of a pure-CPU
    loop then mostly measures the neighbours, and load swings within seconds.
    Measuring on this process's CPU time, and alternating the two functions
    round by round, lets both see the same conditions.
    """
    return paired_row(name, unit, ours, baseline, baseline_name, work_ours=work,
                      work_baseline=work, clock=time.process_time, rounds=9, min_time=0.1,
                      goal=goal)


def _certificates() -> tuple[Certificate, Certificate]:
    return Certificate.generate(), Certificate.generate()


def _our_handshake(client_cert: Certificate, server_cert: Certificate) -> tuple[
        DtlsConnection, DtlsConnection]:
    client = DtlsConnection(True, client_cert, server_cert.fingerprints())
    server = DtlsConnection(False, server_cert, client_cert.fingerprints())
    client.start(0.0)
    for _ in range(10):
        for datagram in client.datagrams_to_send(0.0):
            server.receive_datagram(datagram, 0.0)
        for datagram in server.datagrams_to_send(0.0):
            client.receive_datagram(datagram, 0.0)
        if client.state is DtlsState.CONNECTED and server.state is DtlsState.CONNECTED:
            return client, server
    raise RuntimeError("handshake did not complete")


def _pyopenssl_handshake(client_cert: Certificate, server_cert: Certificate) -> None:
    from OpenSSL import SSL

    def context(certificate: Certificate) -> Any:
        ctx = SSL.Context(SSL.DTLS_METHOD)
        ctx.use_certificate(certificate.x509)  # type: ignore[arg-type]
        ctx.use_privatekey(certificate.private_key)  # type: ignore[arg-type]
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT,
                       lambda *args: True)
        ctx.set_tlsext_use_srtp(b"SRTP_AES128_CM_SHA1_80")
        ctx.set_cipher_list(b"ECDHE-ECDSA-AES128-GCM-SHA256")
        return ctx

    client = SSL.Connection(context(client_cert), None)
    client.set_connect_state()
    server = SSL.Connection(context(server_cert), None)
    server.set_accept_state()

    def step(ssl: Any) -> bool:
        try:
            ssl.do_handshake()
            return True
        except SSL.WantReadError:
            return False

    def move(source: Any, destination: Any) -> None:
        while True:
            try:
                destination.bio_write(source.bio_read(65535))
            except SSL.WantReadError:
                return

    done = False
    for _ in range(10):
        client_done = step(client)
        move(client, server)
        server_done = step(server)
        move(server, client)
        if client_done and server_done:
            done = True
            break
    if not done:
        raise RuntimeError("pyOpenSSL handshake did not complete")


def _handshake_rows() -> list[Row]:
    client_cert, server_cert = _certificates()
    return [_paired_row(
        "dtls (a) full handshake, one process", "handshakes/s (CPU)",
        lambda: _our_handshake(client_cert, server_cert),
        lambda: _pyopenssl_handshake(client_cert, server_cert),
        "pyOpenSSL DTLS pair, memory BIOs", work=1.0,
    )]


def _record_rows() -> list[Row]:
    client_cert, server_cert = _certificates()
    client, server = _our_handshake(client_cert, server_cert)
    while client.next_event() or server.next_event():
        pass
    payload = os.urandom(_RECORD_SIZE)

    def ours() -> None:
        send = client.send
        for _ in range(_BATCH):
            send(payload)
        receive = server.receive_datagram
        for datagram in client.datagrams_to_send(0.0):
            receive(datagram, 0.0)
        next_event = server.next_event
        while next_event() is not None:
            pass

    aead = AESGCM(os.urandom(16))
    salt = os.urandom(4)
    aad = os.urandom(13)

    def bare() -> None:
        for sequence in range(_BATCH):
            nonce = salt + sequence.to_bytes(8, "big")
            aead.decrypt(nonce, aead.encrypt(nonce, payload, aad), aad)

    payloads = [payload] * _BATCH

    def batch() -> None:
        client.send_many(payloads)
        server.receive_datagrams(client.datagrams_to_send(0.0), 0.0)

    record_layer = _record_layer_function(client, server, payload)
    return [
        _paired_row("dtls (b) 1200 B records send_many→receive_datagrams", "MB/s (CPU)", batch,
                    bare, "bare cryptography AESGCM seal+open", work=_MB, goal=0.6),
        _paired_row("dtls (b') 1200 B record protect+unprotect", "MB/s (CPU)", record_layer,
                    bare, "bare cryptography AESGCM seal+open", work=_MB, goal=0.6),
        _paired_row("dtls (b'') 1200 B records send→receive→event", "MB/s (CPU)", ours, bare,
                    "bare cryptography AESGCM seal+open", work=_MB, goal=0.6),
    ]


def _record_layer_function(client: DtlsConnection, server: DtlsConnection,
                           payload: bytes) -> Callable[[], None]:
    """Record protection alone: seal a record and open it, as the engine does."""
    sealer = client._app_write
    opener = server._app_read
    assert sealer is not None and opener is not None
    seal = sealer.seal_application_data
    open_record = opener.open_gcm_record
    head = struct.Struct(">BHQH8s")  # explicit nonce as bytes, as the engine reads it

    def record_layer() -> None:
        for sequence in range(_BATCH):
            record = seal((1 << 48) | sequence, payload)
            _, _, epoch_seq, _, explicit = head.unpack_from(record)
            open_record(record, epoch_seq, explicit)

    return record_layer


def rows() -> list[Row]:
    with contextlib.suppress(ImportError):
        import OpenSSL  # noqa: F401

        return _handshake_rows() + _record_rows()
    return _record_rows()
