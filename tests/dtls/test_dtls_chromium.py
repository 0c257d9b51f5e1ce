"""A ClientHello recorded from a real Chromium 156 (tests/dtls/data).

Captured with ``tests/dtls/data/capture_chromium_client_hello.py`` (aiortc
offering actpass, headless Chromium answering active). It offers DTLS 1.3 and
1.2 (supported_versions), TLS 1.3 suites first and an X25519MLKEM768 key
share, so the 1,413-byte ClientHello spans two datagrams. Our server must
reassemble it and answer with a DTLS 1.2 ServerHello.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from webrtc.dtls import Certificate, CipherSuite, DtlsConnection, DtlsState
from webrtc.dtls.messages import (
    DTLS1_0,
    DTLS1_2,
    ClientHello,
    ExtensionType,
    HandshakeFragment,
    HandshakeType,
    HelloVerifyRequest,
    ServerHello,
    ServerKeyExchange,
    decode_use_srtp,
    find_extension,
    parse_records,
)

DATA = Path(__file__).parent / "data" / "chromium156_client_hello.hex"
DATAGRAMS = [bytes.fromhex(line) for line in DATA.read_text().split()]


def _fragments(datagrams: list[bytes]) -> list[HandshakeFragment]:
    return [fragment for datagram in datagrams for record in parse_records(datagram)
            for fragment in HandshakeFragment.parse_all(record.fragment)]


def test_recording_is_a_fragmented_dtls13_client_hello() -> None:
    assert len(DATAGRAMS) == 2
    fragments = _fragments(DATAGRAMS)
    assert {f.msg_type for f in fragments} == {HandshakeType.CLIENT_HELLO}
    assert len({f.length for f in fragments}) == 1 and fragments[0].length > 1200
    body = bytearray(fragments[0].length)
    for fragment in fragments:
        body[fragment.fragment_offset : fragment.fragment_offset + len(fragment.body)] = \
            fragment.body
    hello = ClientHello.parse(bytes(body))
    assert bytes(hello) == bytes(body)
    versions = find_extension(hello.extensions, 43)  # supported_versions
    assert versions is not None and b"\xfe\xfc" in versions  # DTLS 1.3 offered
    key_share = find_extension(hello.extensions, 51)
    assert key_share is not None and len(key_share) > 1100  # X25519MLKEM768 share
    assert 0x1301 in hello.cipher_suites  # TLS_AES_128_GCM_SHA256
    assert CipherSuite.ECDHE_ECDSA_AES_128_GCM_SHA256 in hello.cipher_suites


def _server_reply(server: DtlsConnection) -> list[HandshakeFragment]:
    return _fragments(server.datagrams_to_send(0.0))


@pytest.mark.parametrize("order", [*list(itertools.permutations(range(2))), (0, 0, 1, 1)])
def test_server_answers_with_dtls12_server_hello(order: tuple[int, ...],
                                                 server_certificate: Certificate) -> None:
    server = DtlsConnection(False, server_certificate, None, mtu=1200)
    for index in order:
        server.receive_datagram(DATAGRAMS[index], 0.0)
    assert server.state is DtlsState.HANDSHAKING
    datagrams = server.datagrams_to_send(0.0)
    assert datagrams and all(len(d) <= 1200 for d in datagrams)
    first_record = parse_records(datagrams[0])[0]
    assert first_record.version == DTLS1_2
    fragments = _fragments(datagrams)
    assert fragments[0].msg_type == HandshakeType.SERVER_HELLO
    hello = ServerHello.parse(fragments[0].body)
    assert hello.version == DTLS1_2
    assert hello.cipher_suite == CipherSuite.ECDHE_ECDSA_AES_128_GCM_SHA256
    # A 1.2-only server must not put the TLS 1.3 downgrade sentinel in its random.
    assert hello.random[-8:] not in (b"DOWNGRD\x01", b"DOWNGRD\x00")
    assert find_extension(hello.extensions, ExtensionType.EXTENDED_MASTER_SECRET) == b""
    srtp = find_extension(hello.extensions, ExtensionType.USE_SRTP)
    assert srtp is not None
    profiles, _ = decode_use_srtp(srtp)
    assert len(profiles) == 1
    assert find_extension(hello.extensions, 43) is None  # no supported_versions: DTLS 1.2
    types = [f.msg_type for f in fragments]
    assert types == [HandshakeType.SERVER_HELLO, HandshakeType.CERTIFICATE,
                     HandshakeType.SERVER_KEY_EXCHANGE, HandshakeType.CERTIFICATE_REQUEST,
                     HandshakeType.SERVER_HELLO_DONE]
    key_exchange = ServerKeyExchange.parse(fragments[2].body)
    assert key_exchange.named_group == 29  # x25519: the hybrid group is not ours


def test_server_with_cookie_sends_hello_verify_request(server_certificate: Certificate) -> None:
    server = DtlsConnection(False, server_certificate, None, use_cookie=True)
    for datagram in DATAGRAMS:
        server.receive_datagram(datagram, 0.0)
    (fragment,) = _server_reply(server)
    assert fragment.msg_type == HandshakeType.HELLO_VERIFY_REQUEST
    request = HelloVerifyRequest.parse(fragment.body)
    assert request.version == DTLS1_0 and request.cookie
