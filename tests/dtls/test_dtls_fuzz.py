"""Hypothesis: parsers round-trip and raise only DtlsParseError; the engine
never raises out of receive_datagram, whatever arrives and in whatever state."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webrtc.dtls import (
    Certificate,
    ConnectionFailed,
    DtlsConnection,
    DtlsParseError,
    DtlsState,
    FailureReason,
)
from webrtc.dtls import messages as m
from webrtc.testing.dtls import make_pair

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u24 = st.integers(0, 0xFFFFFF)
small = st.binary(max_size=40)

extensions = st.lists(st.tuples(u16, small), max_size=6, unique_by=lambda e: e[0])

records = st.builds(m.Record, u8, u16, u16, st.integers(0, (1 << 48) - 1),
                    st.binary(max_size=300))


@st.composite
def fragments(draw: Callable[..., Any]) -> m.HandshakeFragment:
    body = draw(st.binary(max_size=200))
    offset = draw(st.integers(0, 1000))
    length = draw(st.integers(offset + len(body), offset + len(body) + 1000))
    return m.HandshakeFragment(draw(u8), length, draw(u16), offset, body)


MESSAGES = {
    m.Record: records,
    m.HandshakeFragment: fragments(),
    m.Alert: st.builds(m.Alert, u8, u8),
    m.ClientHello: st.builds(
        m.ClientHello, u16, st.binary(min_size=32, max_size=32), st.binary(max_size=32),
        st.binary(max_size=255), st.lists(u16, min_size=1, max_size=20),
        st.binary(min_size=1, max_size=4), extensions),
    m.ServerHello: st.builds(m.ServerHello, u16, st.binary(min_size=32, max_size=32),
                             st.binary(max_size=32), u16, u8, extensions),
    m.HelloVerifyRequest: st.builds(m.HelloVerifyRequest, u16, st.binary(max_size=255)),
    m.Certificate: st.builds(m.Certificate, st.lists(st.binary(min_size=1, max_size=100),
                                                     max_size=4)),
    m.ServerKeyExchange: st.builds(m.ServerKeyExchange, u16, st.binary(min_size=1, max_size=97),
                                   u16, st.binary(max_size=120)),
    m.CertificateRequest: st.builds(m.CertificateRequest, st.binary(min_size=1, max_size=4),
                                    st.lists(u16, min_size=1, max_size=10), small),
    m.ServerHelloDone: st.just(m.ServerHelloDone()),
    m.ClientKeyExchange: st.builds(m.ClientKeyExchange, st.binary(min_size=1, max_size=97)),
    m.CertificateVerify: st.builds(m.CertificateVerify, u16, st.binary(max_size=120)),
    m.Finished: st.builds(m.Finished, st.binary(min_size=12, max_size=12)),
}


@SETTINGS
@given(st.sampled_from(sorted(MESSAGES, key=lambda c: c.__name__)).flatmap(
    lambda cls: st.tuples(st.just(cls), MESSAGES[cls])))
def test_messages_round_trip(case: tuple[type[Any], Any]) -> None:
    cls, message = case
    assert cls.parse(bytes(message)) == message


@SETTINGS
@given(st.sampled_from(sorted(MESSAGES, key=lambda c: c.__name__)), st.binary(max_size=400))
def test_parsers_raise_only_dtls_parse_error(cls: type[Any], data: bytes) -> None:
    try:
        message = cls.parse(data)
    except DtlsParseError:
        return
    assert cls.parse(bytes(message)) == message


EXTENSION_CODECS: list[tuple[Callable[[bytes], object], st.SearchStrategy[bytes]]] = [
    (m.decode_u16_list_extension, st.lists(u16, min_size=1, max_size=10).map(
        m.encode_u16_list_extension)),
    (m.decode_point_formats, st.lists(u8, min_size=1, max_size=4).map(m.encode_point_formats)),
    (m.decode_use_srtp, st.tuples(st.lists(u16, min_size=1, max_size=5), small).map(
        lambda t: m.encode_use_srtp(*t))),
    (m.decode_renegotiation_info, small.map(m.encode_renegotiation_info)),
]


@SETTINGS
@given(st.integers(0, len(EXTENSION_CODECS) - 1), st.data())
def test_extension_codecs(index: int, data: st.DataObject) -> None:
    decode, strategy = EXTENSION_CODECS[index]
    decode(data.draw(strategy))  # valid encodings decode
    with contextlib.suppress(DtlsParseError):
        decode(data.draw(st.binary(max_size=50)))


_CLIENT_CERT = Certificate.generate()
_SERVER_CERT = Certificate.generate()


def _mutate(datagram: bytes, position: int, value: int, cut: int) -> bytes:
    if not datagram:
        return datagram
    mutated = bytearray(datagram)
    mutated[position % len(mutated)] = value
    return bytes(mutated[: max(1, len(mutated) - cut)])


@SETTINGS
@given(st.lists(st.binary(max_size=200), max_size=5),
       st.lists(st.tuples(st.integers(0, 5000), u8, st.integers(0, 30)), max_size=8))
def test_engine_never_raises(garbage: list[bytes],
                             mutations: list[tuple[int, int, int]]) -> None:
    pair = make_pair(_CLIENT_CERT, _SERVER_CERT)
    client, server = pair.client, pair.server
    client.start(0.0)
    server.start(0.0)
    # Fresh engines, and engines mid-handshake, fed garbage and mutated
    # versions of the real datagrams.
    hello = client.datagrams_to_send(0.0)
    for data in garbage:
        server.receive_datagram(data, 0.1)
        client.receive_datagram(data, 0.1)
    for index, (position, value, cut) in enumerate(mutations):
        datagram = hello[index % len(hello)]
        server.receive_datagram(_mutate(datagram, position, value, cut), 0.2)
    for datagram in hello:
        server.receive_datagram(datagram, 0.3)
    reply = server.datagrams_to_send(0.3)
    for index, (position, value, cut) in enumerate(mutations):
        if reply:
            client.receive_datagram(_mutate(reply[index % len(reply)], position, value, cut),
                                    0.4)
    for data in garbage:
        client.receive_datagram(data, 0.5)
    assert client.state in (DtlsState.HANDSHAKING, DtlsState.FAILED)
    assert server.state in (DtlsState.HANDSHAKING, DtlsState.FAILED)
    _assert_no_internal_error(client)
    _assert_no_internal_error(server)


def _assert_no_internal_error(connection: DtlsConnection) -> None:
    # receive_datagram's last-resort handler turns a bug into INTERNAL_ERROR:
    # the engine must end bad input with a precise reason instead.
    while (event := connection.next_event()) is not None:
        if isinstance(event, ConnectionFailed):
            assert event.reason is not FailureReason.INTERNAL_ERROR, event


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 5000), u8, st.integers(0, 30)), min_size=1,
                max_size=8), st.lists(st.binary(max_size=100), max_size=3))
def test_connected_engine_never_raises(mutations: list[tuple[int, int, int]],
                                       garbage: list[bytes]) -> None:
    pair = _connected()
    pair.client.send(b"application data")
    (record,) = pair.client.datagrams_to_send(pair.network.now)
    for position, value, cut in mutations:
        pair.server.receive_datagram(_mutate(record, position, value, cut), 1.0)
    for data in garbage:
        pair.server.receive_datagram(b"\x17\xfe\xfd\x00\x01" + data, 1.0)
        pair.server.receive_datagram(data, 1.0)
    _assert_no_internal_error(pair.server)
    assert pair.server.state in (DtlsState.CONNECTED, DtlsState.CLOSED, DtlsState.FAILED)


def _connected() -> Any:
    pair = make_pair(_CLIENT_CERT, _SERVER_CERT)
    pair.handshake(timeout=5)
    return pair


def test_connection_never_raises_on_empty_datagram() -> None:
    connection = DtlsConnection(False, _SERVER_CERT)
    connection.receive_datagram(b"", 0.0)
    assert connection.state is DtlsState.HANDSHAKING
