"""DTLS 1.2 (RFC 6347) written on the ``cryptography`` primitives, sans-I/O.

No pyOpenSSL, no :mod:`ssl`: records, handshake and key schedule are here, the
ciphers and signatures come from ``cryptography``.

Quick use::

    from webrtc.dtls import Certificate, DtlsConnection, HandshakeComplete

    certificate = Certificate.generate()              # ECDSA P-256, self-signed
    certificate.fingerprints()                        # [("sha-256", "AB:CD:...")] for the SDP
    connection = DtlsConnection(
        is_client=True,                               # a=setup:active
        certificate=certificate,
        remote_fingerprints=[("sha-256", "12:34:...")],   # from the remote SDP (or None)
        srtp_profiles=[SrtpProfile.AEAD_AES_128_GCM, SrtpProfile.AES128_CM_HMAC_SHA1_80],
        mtu=1200,
    )
    connection.start(now)                             # a client sends its ClientHello

The driving loop is the one of :class:`webrtc.engine.DatagramEngine`:

- ``receive_datagram(data, now)``: a datagram from the peer (never raises;
  bad records are dropped and counted in ``connection.stats``);
- ``send(data)``: one application-data record (after the handshake); keep
  ``len(data) <= mtu - record_overhead`` for one record per datagram;
- ``send_many(payloads)``: one record per payload, in one pass (the batch
  fast path; same records as ``send()`` once per payload);
- ``receive_datagrams(datagrams, now) -> list[bytes]``: the batch fast path
  of ``receive_datagram``: application data is returned in order instead of
  being queued as :class:`ApplicationData` events (unless an event is
  pending ahead of it, then it is queued behind that event); handle the
  returned payloads, then drain ``next_event()``. Replays and records that
  fail authentication are dropped and counted exactly as on the per-record
  path;
- ``close()``: send close_notify;
- ``datagrams_to_send(now)``: datagrams to put on the wire (each <= ``mtu``
  during the handshake);
- ``get_timer()`` / ``handle_timer(now)``: flight retransmission (starting
  at ``initial_retransmit_timeout``, doubling to ``max_retransmit_timeout``)
  and the overall ``handshake_timeout``;
- ``next_event()``: typed events, ``None`` when there are no more:

  - :class:`HandshakeComplete`: negotiated ``cipher_suite``, ``named_group``,
    ``srtp_profile`` and ``srtp_keying_material`` (RFC 5764 §4.2), with
    ``srtp_local_master`` / ``srtp_remote_master`` (key || salt) ready for an
    SRTP library; ``remote_certificate`` (DER).
  - :class:`ApplicationData`: ``data`` bytes of one record.
  - :class:`ConnectionClosed`: close_notify, ``by_peer`` tells who.
  - :class:`ConnectionFailed`: ``reason`` (:class:`FailureReason`: timeout,
    fingerprint mismatch, bad certificate, handshake failure, protocol error,
    peer alert), ``detail`` text and the ``alert`` sent or received.

``export_keying_material(label, length, context=None)`` is the RFC 5705
exporter once the handshake completed. Servers can demand a stateless cookie
with ``use_cookie=True``; clients always answer HelloVerifyRequest.
Randomness comes from ``random_bytes`` (default :func:`os.urandom`).

Supported: ECDHE with ECDSA or RSA certificates, AES-128/256-GCM and
ChaCha20-Poly1305 (RFC 5289, RFC 7905), groups x25519, secp256r1, secp384r1,
extended_master_secret (required both ways, RFC 7627), use_srtp (RFC 5764),
secure renegotiation_info (and renegotiation refused with a
no_renegotiation alert). A DTLS 1.3-capable ClientHello (Chromium, Firefox)
is answered with DTLS 1.2. :mod:`webrtc.dtls.aio` drives a connection over
an asyncio datagram transport.
"""

from webrtc.dtls.certificate import Certificate, certificate_fingerprint, fingerprint_matches
from webrtc.dtls.connection import (
    ApplicationData,
    ConnectionClosed,
    ConnectionFailed,
    DtlsConnection,
    DtlsState,
    DtlsStats,
    FailureReason,
    HandshakeComplete,
)
from webrtc.dtls.errors import DtlsParseError
from webrtc.dtls.messages import AlertDescription
from webrtc.dtls.suites import CipherSuite, NamedGroup, SignatureScheme, SrtpProfile

__all__ = [
    "AlertDescription",
    "ApplicationData",
    "Certificate",
    "CipherSuite",
    "ConnectionClosed",
    "ConnectionFailed",
    "DtlsConnection",
    "DtlsParseError",
    "DtlsState",
    "DtlsStats",
    "FailureReason",
    "HandshakeComplete",
    "NamedGroup",
    "SignatureScheme",
    "SrtpProfile",
    "certificate_fingerprint",
    "fingerprint_matches",
]
