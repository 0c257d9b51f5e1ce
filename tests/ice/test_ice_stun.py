"""STUN messages: RFC 5769 vectors, attribute codecs, transactions, hypothesis."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.errors import ParseError
from webrtc.ice import StunParseError
from webrtc.ice.stun import (
    AttributeType,
    ErrorCode,
    MessageClass,
    Method,
    PasswordAlgorithm,
    RtoEstimator,
    StunMessage,
    StunTransaction,
    TransactionState,
    long_term_key,
    saslprep,
)

A = AttributeType


def unhex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# RFC 5769 section 2: the samples, as printed in the RFC.
PASSWORD = b"VOkJxbRl1RmTxUk/WvJxBt"
TRANSACTION_ID = unhex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae")
SAMPLE_REQUEST = unhex("""
00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86
fa 87 df ae 80 22 00 10 53 54 55 4e 20 74 65 73
74 20 63 6c 69 65 6e 74 00 24 00 04 6e 00 01 ff
80 29 00 08 93 2f f9 b1 51 26 3b 36 00 06 00 09
65 76 74 6a 3a 68 36 76 59 20 20 20 00 08 00 14
9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49
c1 b5 71 a2 80 28 00 04 e5 7a 3b cf""")
SAMPLE_IPV4_RESPONSE = unhex("""
01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86
fa 87 df ae 80 22 00 0b 74 65 73 74 20 76 65 63
74 6f 72 20 00 20 00 08 00 01 a1 47 e1 12 a6 43
00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9
2a f9 ba 53 f0 6b e7 d7 80 28 00 04 c0 7d 4c 96""")
SAMPLE_IPV6_RESPONSE = unhex("""
01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86
fa 87 df ae 80 22 00 0b 74 65 73 74 20 76 65 63
74 6f 72 20 00 20 00 14 00 02 a1 47 01 13 a9 fa
a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9 00 08 00 14
a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75
bf e3 ed 41 80 28 00 04 c8 fb 0b 4c""")
SAMPLE_LONG_TERM = unhex("""
00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0
29 da 41 2e 00 06 00 12 e3 83 9e e3 83 88 e3 83
aa e3 83 83 e3 82 af e3 82 b9 00 00 00 15 00 1c
66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34
6f 4c 39 46 53 54 76 79 36 34 73 41 00 14 00 0b
65 78 61 6d 70 6c 65 2e 6f 72 67 00 00 08 00 14
f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2
8c a8 96 66""")
LONG_TERM_USERNAME = "\u30de\u30c8\u30ea\u30c3\u30af\u30b9"
LONG_TERM_PASSWORD = "The\u00adM\u00aatr\u2168"


def test_rfc5769_request_parses_and_verifies() -> None:
    message = StunMessage.parse(SAMPLE_REQUEST)
    assert message.method == Method.BINDING
    assert message.message_class == MessageClass.REQUEST
    assert message.transaction_id == TRANSACTION_ID
    assert message.get(A.SOFTWARE) == "STUN test client"
    assert message.get(A.PRIORITY) == 0x6E0001FF
    assert message.get(A.ICE_CONTROLLED) == 0x932FF9B151263B36
    assert message.get(A.USERNAME) == "evtj:h6vY"
    assert message.verify_integrity(PASSWORD)
    assert not message.verify_integrity(b"wrong password")
    assert message.verify_fingerprint()


def test_rfc5769_request_is_rebuilt_byte_for_byte() -> None:
    message = StunMessage(Method.BINDING, MessageClass.REQUEST, TRANSACTION_ID)
    message.add(A.SOFTWARE, "STUN test client")
    message.add(A.PRIORITY, 0x6E0001FF)
    message.add(A.ICE_CONTROLLED, 0x932FF9B151263B36)
    message.add(A.USERNAME, "evtj:h6vY")
    # The RFC pads with spaces; the HMAC covers them.
    assert message.encode(PASSWORD, fingerprint=True, padding=0x20) == SAMPLE_REQUEST
    # And a parsed message re-encodes to the same bytes.
    parsed = StunMessage.parse(SAMPLE_REQUEST)
    assert parsed.encode(PASSWORD, fingerprint=True, padding=0x20) == SAMPLE_REQUEST
    assert StunMessage.parse(bytes(parsed)) == parsed


@pytest.mark.parametrize(
    ("sample", "address"),
    [
        (SAMPLE_IPV4_RESPONSE, ("192.0.2.1", 32853)),
        (SAMPLE_IPV6_RESPONSE, ("2001:db8:1234:5678:11:2233:4455:6677", 32853)),
    ],
)
def test_rfc5769_responses(sample: bytes, address: tuple[str, int]) -> None:
    message = StunMessage.parse(sample)
    assert message.message_class == MessageClass.SUCCESS
    assert message.get(A.SOFTWARE) == "test vector"
    assert message.get(A.XOR_MAPPED_ADDRESS) == address
    assert message.verify_integrity(PASSWORD)
    assert message.verify_fingerprint()
    rebuilt = StunMessage(Method.BINDING, MessageClass.SUCCESS, TRANSACTION_ID)
    rebuilt.add(A.SOFTWARE, "test vector").add(A.XOR_MAPPED_ADDRESS, address)
    assert rebuilt.encode(PASSWORD, fingerprint=True, padding=0x20) == sample


def test_rfc5769_long_term_credentials() -> None:
    assert saslprep(LONG_TERM_PASSWORD) == "TheMatrIX"
    message = StunMessage.parse(SAMPLE_LONG_TERM)
    assert message.get(A.USERNAME) == LONG_TERM_USERNAME
    assert message.get(A.NONCE) == "f//499k954d6OL34oL9FSTvy64sA"
    assert message.get(A.REALM) == "example.org"
    key = long_term_key(LONG_TERM_USERNAME, "example.org", LONG_TERM_PASSWORD)
    assert message.verify_integrity(key)
    assert not message.verify_integrity(long_term_key(LONG_TERM_USERNAME, "example.org", "x"))
    assert not message.has_fingerprint
    rebuilt = StunMessage(Method.BINDING, MessageClass.REQUEST, message.transaction_id)
    rebuilt.add(A.USERNAME, LONG_TERM_USERNAME)
    rebuilt.add(A.NONCE, "f//499k954d6OL34oL9FSTvy64sA")
    rebuilt.add(A.REALM, "example.org")
    assert rebuilt.encode(key) == SAMPLE_LONG_TERM


def test_message_integrity_sha256_with_sha1_and_fingerprint() -> None:
    message = StunMessage(Method.ALLOCATE, MessageClass.REQUEST, bytes(12))
    message.add(A.REQUESTED_TRANSPORT, 17).add(A.USERNAME, "user")
    key = long_term_key("user", "realm", "pass", PasswordAlgorithm.SHA256)
    data = message.encode(b"k1", integrity_sha256_key=key, fingerprint=True)
    parsed = StunMessage.parse(data)
    assert parsed.verify_integrity(b"k1")
    assert parsed.verify_integrity_sha256(key)
    assert not parsed.verify_integrity_sha256(b"other")
    assert parsed.verify_fingerprint()
    # Tampering with one byte breaks every check.
    tampered = bytearray(data)
    tampered[27] ^= 1
    broken = StunMessage.parse(bytes(tampered))
    assert not broken.verify_integrity(b"k1")
    assert not broken.verify_integrity_sha256(key)
    assert not broken.verify_fingerprint()


def test_turn_attributes_round_trip() -> None:
    message = StunMessage(Method.CREATE_PERMISSION, MessageClass.REQUEST, bytes(range(12)))
    message.add(A.CHANNEL_NUMBER, 0x4001)
    message.add(A.LIFETIME, 600)
    message.add(A.XOR_PEER_ADDRESS, ("10.0.0.1", 5000))
    message.add(A.XOR_PEER_ADDRESS, ("2001:db8::1", 6000))
    message.add(A.DATA, b"\x00\x01payload")
    message.add(A.XOR_RELAYED_ADDRESS, ("198.51.100.7", 49152))
    message.add(A.REQUESTED_ADDRESS_FAMILY, 0x02)
    message.add(A.EVEN_PORT, True)
    message.add(A.REQUESTED_TRANSPORT, 17)
    message.add(A.DONT_FRAGMENT)
    message.add(A.RESERVATION_TOKEN, bytes(range(8)))
    message.add(
        A.PASSWORD_ALGORITHMS,
        (PasswordAlgorithm(PasswordAlgorithm.MD5), PasswordAlgorithm(2, b"abcde")),
    )
    message.add(A.PASSWORD_ALGORITHM, PasswordAlgorithm(PasswordAlgorithm.SHA256))
    message.add(A.USERHASH, bytes(32))
    message.add(A.ALTERNATE_SERVER, ("192.0.2.9", 3478))
    message.add(A.NONCE, "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA")
    message.add(A.REALM, "example.org")
    message.add(A.ERROR_CODE, ErrorCode(438, "Stale Nonce"))
    message.add(A.UNKNOWN_ATTRIBUTES, (0x7777, 0x0002))
    message.add(A.ICE_CONTROLLING, 2**64 - 1)
    message.add(A.USE_CANDIDATE)
    message.add(0xC242, b"optional, kept")
    parsed = StunMessage.parse(message.encode(fingerprint=True))
    assert parsed.attributes[:-1] == message.attributes
    assert parsed.get_all(A.XOR_PEER_ADDRESS) == [("10.0.0.1", 5000), ("2001:db8::1", 6000)]
    assert parsed.error_code == ErrorCode(438, "Stale Nonce")
    assert parsed.unknown_comprehension_required() == []
    assert StunMessage.parse(bytes(parsed)) == parsed


def test_xor_address_depends_on_transaction_id_for_ipv6() -> None:
    first = StunMessage(Method.BINDING, MessageClass.SUCCESS, bytes(12))
    first.add(A.XOR_MAPPED_ADDRESS, ("2001:db8::1", 1))
    second = StunMessage(Method.BINDING, MessageClass.SUCCESS, b"\xff" * 12)
    second.add(A.XOR_MAPPED_ADDRESS, ("2001:db8::1", 1))
    assert bytes(first)[24:] != bytes(second)[24:]
    assert StunMessage.parse(bytes(second)).get(A.XOR_MAPPED_ADDRESS) == ("2001:db8::1", 1)


def test_unknown_comprehension_required_attributes_are_reported() -> None:
    message = StunMessage(Method.BINDING, MessageClass.REQUEST, bytes(12))
    message.add(0x0033, b"?").add(0x8033, b"?")
    assert StunMessage.parse(bytes(message)).unknown_comprehension_required() == [0x0033]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        SAMPLE_REQUEST[:19],
        SAMPLE_REQUEST[:-1],
        SAMPLE_REQUEST + b"\x00\x00\x00\x00",
        b"\x80" + SAMPLE_REQUEST[1:],
        SAMPLE_REQUEST[:4] + b"\x00" * 4 + SAMPLE_REQUEST[8:],
        SAMPLE_REQUEST[:2] + b"\x00\x57" + SAMPLE_REQUEST[4:],
        # PRIORITY with a 3-byte value
        unhex("00 01 00 08 21 12 a4 42") + bytes(12) + unhex("00 24 00 03 00 00 00 00"),
        # attribute after FINGERPRINT
        SAMPLE_REQUEST[:2] + b"\x00\x60" + SAMPLE_REQUEST[4:] + unhex("80 22 00 00") * 2,
        # invalid UTF-8 username
        unhex("00 01 00 08 21 12 a4 42") + bytes(12) + unhex("00 06 00 02 ff fe 00 00"),
    ],
)
def test_malformed_messages_raise_stun_parse_error(data: bytes) -> None:
    with pytest.raises(StunParseError):
        StunMessage.parse(data)
    assert issubclass(StunParseError, ParseError)


def test_transaction_schedule_follows_rfc8489() -> None:
    request = StunMessage(Method.BINDING, MessageClass.REQUEST, bytes(12)).encode()
    transaction = StunTransaction(request, now=100.0)
    sends: list[float] = []
    now = 100.0
    assert transaction.datagrams_to_send(now) == [request]
    sends.append(now - 100.0)
    while (timer := transaction.get_timer()) is not None:
        now = timer
        transaction.handle_timer(now)
        if transaction.datagrams_to_send(now):
            sends.append(now - 100.0)
    assert sends == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert now - 100.0 == 39.5
    assert transaction.state is TransactionState.TIMED_OUT


def test_transaction_stops_on_response_and_rto_estimator_adapts() -> None:
    request = StunMessage(Method.BINDING, MessageClass.REQUEST, bytes(12)).encode()
    transaction = StunTransaction(request, now=0.0, rto=0.1, rc=3, rm=2)
    transaction.datagrams_to_send(0.0)
    transaction.handle_timer(0.1)
    assert transaction.datagrams_to_send(0.1) == [request]
    transaction.response_received()
    assert transaction.state is TransactionState.SUCCEEDED
    assert transaction.get_timer() is None
    estimator = RtoEstimator(initial=0.5, minimum=0.05)
    for _ in range(20):
        estimator.sample(0.02)
    assert estimator.rto == pytest.approx(0.05)
    estimator.sample(2.0)
    assert estimator.rto > 0.5


# -- hypothesis ---------------------------------------------------------------

ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.binary(min_size=16, max_size=16).map(
    lambda raw: __import__("ipaddress").IPv6Address(raw).compressed
)
address = st.tuples(st.one_of(ipv4, ipv6), st.integers(0, 65535))
text = st.text(max_size=40)
u32 = st.integers(0, 2**32 - 1)

attribute = st.one_of(
    st.tuples(st.sampled_from([A.MAPPED_ADDRESS, A.XOR_MAPPED_ADDRESS, A.XOR_PEER_ADDRESS,
                               A.XOR_RELAYED_ADDRESS, A.ALTERNATE_SERVER]), address),
    st.tuples(st.sampled_from([A.USERNAME, A.REALM, A.NONCE, A.SOFTWARE]), text),
    st.tuples(st.sampled_from([A.PRIORITY, A.LIFETIME]), u32),
    st.tuples(st.sampled_from([A.ICE_CONTROLLED, A.ICE_CONTROLLING]), st.integers(0, 2**64 - 1)),
    st.tuples(st.sampled_from([A.USE_CANDIDATE, A.DONT_FRAGMENT]), st.just(True)),
    st.tuples(st.just(A.CHANNEL_NUMBER), st.integers(0, 65535)),
    st.tuples(st.sampled_from([A.REQUESTED_TRANSPORT, A.REQUESTED_ADDRESS_FAMILY]),
              st.integers(0, 255)),
    st.tuples(st.just(A.EVEN_PORT), st.booleans()),
    st.tuples(st.just(A.ERROR_CODE),
              st.builds(ErrorCode, st.integers(300, 699), text)),
    st.tuples(st.just(A.UNKNOWN_ATTRIBUTES), st.lists(st.integers(0, 65535)).map(tuple)),
    st.tuples(st.sampled_from([A.DATA, A.RESERVATION_TOKEN, 0x7F01, 0xC001]),
              st.binary(max_size=64)),
)


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from(list(Method)),
    message_class=st.sampled_from(list(MessageClass)),
    transaction_id=st.binary(min_size=12, max_size=12),
    attributes=st.lists(attribute, max_size=8),
    key=st.binary(min_size=1, max_size=32),
    padding=st.integers(0, 255),
)
def test_round_trip_of_generated_messages(
    method: Method,
    message_class: MessageClass,
    transaction_id: bytes,
    attributes: list[tuple[int, object]],
    key: bytes,
    padding: int,
) -> None:
    message = StunMessage(method, message_class, transaction_id, attributes)
    parsed = StunMessage.parse(bytes(message))
    assert parsed == message
    signed = StunMessage.parse(message.encode(key, fingerprint=True, padding=padding))
    assert signed.attributes[: len(attributes)] == message.attributes
    assert signed.verify_integrity(key)
    assert signed.verify_fingerprint()
    assert signed.encode(key, fingerprint=True, padding=padding) == signed.raw


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=120))
def test_arbitrary_bytes_raise_only_stun_parse_error(data: bytes) -> None:
    with contextlib.suppress(StunParseError):
        StunMessage.parse(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=100), st.integers(0, 30))
def test_arbitrary_attributes_behind_a_valid_header(body: bytes, cut: int) -> None:
    body = body[: len(body) - len(body) % 4]
    data = unhex("00 01") + len(body).to_bytes(2, "big") + unhex("21 12 a4 42") + bytes(12) + body
    try:
        message = StunMessage.parse(data)
    except StunParseError:
        return
    message.verify_integrity(b"key")
    message.verify_fingerprint()
    assert StunMessage.parse(bytes(message)) == message
