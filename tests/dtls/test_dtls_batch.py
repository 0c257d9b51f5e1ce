"""The batch fast paths: send_many() and receive_datagrams().

They must be exactly the per-record paths (send, receive_datagram, next_event)
for less: same records, same anti-replay decisions, same counters, same order.
"""

from __future__ import annotations

import copy
import dataclasses
import random
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webrtc.dtls import (
    ApplicationData,
    Certificate,
    CipherSuite,
    ConnectionClosed,
    DtlsConnection,
    DtlsState,
    HandshakeComplete,
)


def _connect(client_certificate: Certificate, server_certificate: Certificate,
             **options: Any) -> tuple[DtlsConnection, DtlsConnection]:
    """Both ends in memory, no loss; events drained."""
    client = DtlsConnection(True, client_certificate, server_certificate.fingerprints(),
                            **options)
    server = DtlsConnection(False, server_certificate, client_certificate.fingerprints(),
                            **options)
    client.start(0.0)
    for _ in range(10):
        for datagram in client.datagrams_to_send(0.0):
            server.receive_datagram(datagram, 0.0)
        for datagram in server.datagrams_to_send(0.0):
            client.receive_datagram(datagram, 0.0)
        if client.state is DtlsState.CONNECTED and server.state is DtlsState.CONNECTED:
            break
    assert client.state is DtlsState.CONNECTED and server.state is DtlsState.CONNECTED
    _drain(client)
    _drain(server)
    return client, server


def _drain(connection: DtlsConnection) -> list[object]:
    events = []
    while (event := connection.next_event()) is not None:
        events.append(event)
    return events


def _stats(connection: DtlsConnection) -> tuple[int, ...]:
    s = connection.stats
    return (s.datagrams_received, s.records_received, s.records_sent, s.malformed,
            s.auth_failures, s.replays, s.unexpected)


SUITES = [CipherSuite.ECDHE_ECDSA_AES_128_GCM_SHA256,
          CipherSuite.ECDHE_ECDSA_CHACHA20_POLY1305_SHA256]


@pytest.mark.parametrize("suite", SUITES)
def test_send_many_continues_the_sequence_of_send(suite: CipherSuite,
                                                  client_certificate: Certificate,
                                                  server_certificate: Certificate) -> None:
    client, server = _connect(client_certificate, server_certificate, cipher_suites=[suite])
    client.send(b"first")
    client.send_many([b"a" * 1200, b"", b"b" * 16384])
    client.send(b"last")
    client.send_many([])
    datagrams = client.datagrams_to_send(0.0)
    assert len(datagrams) == 5
    assert [len(d) - client.record_overhead for d in datagrams] == [5, 1200, 0, 16384, 4]
    for datagram in datagrams:
        server.receive_datagram(datagram, 0.0)
    # Consecutive sequence numbers: nothing is taken for a replay.
    assert _drain(server) == [ApplicationData(b"first"), ApplicationData(b"a" * 1200),
                              ApplicationData(b""), ApplicationData(b"b" * 16384),
                              ApplicationData(b"last")]
    assert server.stats.replays == 0 and server.stats.auth_failures == 0


def test_send_many_counts_and_raises_like_send(client_certificate: Certificate,
                                               server_certificate: Certificate) -> None:
    early = DtlsConnection(True, client_certificate)
    with pytest.raises(RuntimeError):
        early.send_many([b"too early"])
    client, server = _connect(client_certificate, server_certificate)
    sent = client.stats.records_sent
    with pytest.raises(ValueError):
        client.send_many([b"ok", b"x" * 16385, b"never"])
    assert client.stats.records_sent == sent + 1
    (datagram,) = client.datagrams_to_send(0.0)
    client.send_many(iter([b"from an iterator"]))  # any iterable
    assert server.receive_datagrams([datagram, *client.datagrams_to_send(0.0)], 0.0) == [
        b"ok", b"from an iterator"]
    client.close()
    with pytest.raises(RuntimeError):
        client.send_many([b"late"])


@pytest.mark.parametrize("suite", SUITES)
def test_receive_datagrams_returns_data_and_counts_drops(
        suite: CipherSuite, client_certificate: Certificate,
        server_certificate: Certificate) -> None:
    client, server = _connect(client_certificate, server_certificate, cipher_suites=[suite])
    client.send_many([bytes([i]) * 100 for i in range(6)])
    d0, d1, d2, d3, d4, d5 = client.datagrams_to_send(0.0)
    tampered = bytearray(d3)
    tampered[-1] ^= 1
    before = _stats(server)
    # In order, a duplicate, a forgery, reordering within the window, garbage.
    batch = [d0, d1, d0, bytes(tampered), d4, d2, d3, b"\x17\xfe\xfd", b"", d4]
    assert server.receive_datagrams(batch, 0.0) == [
        bytes([i]) * 100 for i in (0, 1, 4, 2, 3)]
    assert server.next_event() is None
    after = _stats(server)
    assert after[0] - before[0] == 10  # datagrams
    assert after[3] - before[3] == 1  # malformed: the 3-byte one (the empty one too short)
    assert after[4] - before[4] == 1  # auth failure: the tampered copy
    assert after[5] - before[5] == 2  # replays: d0 and d4 again
    # Across batches: the window remembers, and later data still comes.
    assert server.receive_datagrams([d5, d1, d2], 0.0) == [bytes([5]) * 100]
    assert server.stats.replays == after[5] + 2
    assert server.state is DtlsState.CONNECTED


def test_records_older_than_the_window_are_replays(client_certificate: Certificate,
                                                   server_certificate: Certificate) -> None:
    client, server = _connect(client_certificate, server_certificate)
    client.send_many([i.to_bytes(2, "big") for i in range(200)])
    datagrams = client.datagrams_to_send(0.0)
    # 0..99 in order, then 150 (a jump), then 80 (older than 150 - 63), 120 (in the window).
    wire = [*datagrams[:100], datagrams[150], datagrams[80], datagrams[120], datagrams[150]]
    got = server.receive_datagrams(wire, 0.0)
    assert got == [i.to_bytes(2, "big") for i in [*range(100), 150, 120]]
    assert server.stats.replays == 2
    # The per-datagram path shares the same window.
    server.receive_datagram(datagrams[120], 0.0)
    server.receive_datagram(datagrams[151], 0.0)
    assert _drain(server) == [ApplicationData((151).to_bytes(2, "big"))]
    assert server.stats.replays == 3


def test_receive_datagrams_keeps_order_around_events(client_certificate: Certificate,
                                                     server_certificate: Certificate) -> None:
    client, server = _connect(client_certificate, server_certificate)
    client.send_many([b"one", b"two"])
    one, two = client.datagrams_to_send(0.0)
    client.close()
    (close_notify,) = client.datagrams_to_send(0.0)
    # Data before the alert is returned; the alert is an event; after it, nothing.
    assert server.receive_datagrams([one, close_notify, two], 0.0) == [b"one"]
    assert _drain(server) == [ConnectionClosed(by_peer=True)]
    assert server.state is DtlsState.CLOSED
    assert server.receive_datagrams([two], 0.0) == []


def test_receive_datagrams_through_a_handshake(client_certificate: Certificate,
                                               server_certificate: Certificate) -> None:
    """Data that must come after an event is queued as events behind it."""
    client = DtlsConnection(True, client_certificate, server_certificate.fingerprints())
    server = DtlsConnection(False, server_certificate, client_certificate.fingerprints())
    client.start(0.0)
    assert server.receive_datagrams(client.datagrams_to_send(0.0), 0.0) == []
    assert client.receive_datagrams(server.datagrams_to_send(0.0), 0.0) == []
    assert server.receive_datagrams(client.datagrams_to_send(0.0), 0.0) == []
    assert server.state is DtlsState.CONNECTED
    final_flight = server.datagrams_to_send(0.0)
    server.send_many([b"early", b"later"])
    early, later = server.datagrams_to_send(0.0)
    # "early" overtakes the server's Finished; "later" follows it.
    assert client.receive_datagrams([early, *final_flight, later], 0.0) == []
    events = _drain(client)
    assert isinstance(events[0], HandshakeComplete)
    assert events[1:] == [ApplicationData(b"early"), ApplicationData(b"later")]
    # Once the queue is drained, data is returned again.
    server.send(b"now")
    assert client.receive_datagrams(server.datagrams_to_send(0.0), 0.0) == [b"now"]
    # With an event pending, data waits behind it rather than overtaking it.
    server.send(b"queued")
    client._events.append(ConnectionClosed(by_peer=False))  # any pending event
    assert client.receive_datagrams(server.datagrams_to_send(0.0), 0.0) == []
    assert _drain(client) == [ConnectionClosed(by_peer=False), ApplicationData(b"queued")]


def _twin(connection: DtlsConnection) -> DtlsConnection:
    """A second connected receiver with the same keys and record-layer state."""
    twin = copy.copy(connection)
    twin.stats = dataclasses.replace(connection.stats)
    twin._events = deque()
    twin._outgoing = []
    twin._replay = [copy.copy(window) for window in connection._replay]
    twin._write_seq = list(connection._write_seq)
    return twin


@st.composite
def deliveries(draw: Callable[..., Any]) -> tuple[int, list[tuple[int, str]]]:
    """How many records are sent, and what arrives: (index, how).

    Mostly in order (so that the window fills and the in-order shortcut is
    taken), with losses, duplicates, reordering, forgeries and truncations,
    or else in any order at all.
    """
    count = draw(st.integers(1, 160))
    hows = st.sampled_from(["as is", "as is", "as is", "tampered", "truncated"])
    if draw(st.booleans()):
        arrivals = draw(st.lists(st.tuples(st.integers(0, count - 1), hows), max_size=200))
        return count, arrivals
    arrivals = [(index, "as is") for index in range(count)]
    for _ in range(draw(st.integers(0, 12))):
        position = draw(st.integers(0, len(arrivals)))
        action = draw(st.sampled_from(["drop", "duplicate", "swap", "tampered", "truncated",
                                       "old"]))
        if not arrivals or position >= len(arrivals):
            continue
        index = arrivals[position][0]
        if action == "drop":
            del arrivals[position]
        elif action == "duplicate":
            arrivals.insert(draw(st.integers(position, len(arrivals))), (index, "as is"))
        elif action == "swap" and position + 1 < len(arrivals):
            arrivals[position], arrivals[position + 1] = (arrivals[position + 1],
                                                          arrivals[position])
        elif action == "old":
            arrivals.insert(position, (draw(st.integers(0, index)), "as is"))
        else:
            arrivals.insert(position, (index, action))
    return count, arrivals


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=deliveries(), split=st.integers(1, 40), seed=st.integers(0, 1000))
def test_batch_path_equals_per_datagram_path(plan: tuple[int, list[tuple[int, str]]],
                                             split: int, seed: int,
                                             client_certificate: Certificate,
                                             server_certificate: Certificate) -> None:
    """Same payloads, same order, same anti-replay and authentication counters."""
    count, arrivals = plan
    client, batch_server = _connect(client_certificate, server_certificate)
    rng = random.Random(seed)
    client.send_many([rng.randbytes(rng.randrange(0, 300)) for _ in range(count)])
    sent = client.datagrams_to_send(0.0)
    single_server = _twin(batch_server)
    wire = []
    for index, how in arrivals:
        datagram = sent[index]
        if how == "tampered":
            changed = bytearray(datagram)
            changed[rng.randrange(len(changed))] ^= 1 << rng.randrange(8)
            datagram = bytes(changed)
        elif how == "truncated":
            datagram = datagram[: rng.randrange(len(datagram))]
        wire.append(datagram)

    expected = []
    for datagram in wire:
        single_server.receive_datagram(datagram, 0.0)
        expected += [e.data for e in _drain(single_server) if isinstance(e, ApplicationData)]
    got = []
    for start in range(0, len(wire), split):
        got += batch_server.receive_datagrams(wire[start : start + split], 0.0)
    assert got == expected
    assert _stats(batch_server) == _stats(single_server)
    assert batch_server.next_event() is None
    assert batch_server.state is single_server.state


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(datagrams=st.lists(st.binary(max_size=80).map(lambda b: b"\x17\xfe\xfd\x00\x01" + b)
                          | st.binary(max_size=80), max_size=8))
def test_receive_datagrams_never_raises(datagrams: list[bytes],
                                        client_certificate: Certificate,
                                        server_certificate: Certificate) -> None:
    _, server = _pair_once(client_certificate, server_certificate)
    assert server.receive_datagrams(datagrams, 0.0) == []  # nothing forged gets through
    assert server.state is DtlsState.CONNECTED


_PAIRS: dict[int, tuple[DtlsConnection, DtlsConnection]] = {}


def _pair_once(client_certificate: Certificate,
               server_certificate: Certificate) -> tuple[DtlsConnection, DtlsConnection]:
    key = id(client_certificate)
    if key not in _PAIRS:
        _PAIRS[key] = _connect(client_certificate, server_certificate)
    return _PAIRS[key]


@pytest.mark.parametrize("batch", [True, False])
def test_in_order_stream_then_forgery_and_replay(batch: bool, client_certificate: Certificate,
                                                 server_certificate: Certificate) -> None:
    """After a full window of in-order records (the shortcut), drops are still counted."""
    client, server = _connect(client_certificate, server_certificate)
    client.send_many([i.to_bytes(2, "big") for i in range(100)])
    datagrams = client.datagrams_to_send(0.0)
    tampered = bytearray(datagrams[70])
    tampered[30] ^= 0x80
    # A forgery, a duplicate, an old one, then swaps and a gap filled late.
    order = [*range(70), 71, 70, 74, 72, 73, *range(75, 100)]
    wire = [*datagrams[:70], bytes(tampered), datagrams[69], datagrams[5],
            *[datagrams[i] for i in order[70:]]]
    if batch:
        got = server.receive_datagrams(wire, 0.0)
    else:
        got = []
        for datagram in wire:
            server.receive_datagram(datagram, 0.0)
            got += [e.data for e in _drain(server) if isinstance(e, ApplicationData)]
    assert got == [i.to_bytes(2, "big") for i in order]
    assert server.stats.auth_failures == 1
    assert server.stats.replays == 2


@pytest.mark.parametrize("batch", [False, True])
def test_sequence_numbers_never_wrap(batch: bool, client_certificate: Certificate,
                                     server_certificate: Certificate) -> None:
    """RFC 6347 §4.1: the 48-bit sequence number must not wrap. Near its end
    the inlined AES-GCM paths give way to the checked one, which sends the last
    number and then refuses."""
    client, _ = _connect(client_certificate, server_certificate)
    last = (1 << 48) - 1
    client._write_seq[1] = last - (1 << 32) - 1  # just below where the checks start
    if batch:
        client.send_many([b"x", b"y"])
    else:
        client.send(b"x")
        client.send(b"y")
        client.datagrams_to_send(0.0)
    assert client._gcm_write is None  # the checked path from now on
    client._write_seq[1] = last
    client.send(b"the last record")
    record = client.datagrams_to_send(0.0)[-1]
    assert record[3:11] == ((1 << 48) | last).to_bytes(8, "big")  # epoch 1, last number
    with pytest.raises(RuntimeError, match="exhausted"):
        client.send_many([b"one too many"]) if batch else client.send(b"one too many")
    assert client._write_seq[1] == last + 1
