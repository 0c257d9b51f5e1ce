"""Two DtlsConnection ends through the deterministic simulator (virtual time)."""

from __future__ import annotations

from typing import Any

import pytest

from webrtc.dtls import (
    ApplicationData,
    Certificate,
    CipherSuite,
    ConnectionClosed,
    ConnectionFailed,
    DtlsConnection,
    DtlsState,
    FailureReason,
    HandshakeComplete,
    NamedGroup,
    SrtpProfile,
)
from webrtc.testing.dtls import make_pair
from webrtc.testing.network import LinkConfig


def _complete(events: list[object]) -> HandshakeComplete:
    found = [e for e in events if isinstance(e, HandshakeComplete)]
    assert len(found) == 1
    return found[0]


def test_handshake_and_application_data(client_certificate: Certificate,
                                        server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate)
    pair.handshake(timeout=5)
    client_done = _complete(pair.client_node.events)
    server_done = _complete(pair.server_node.events)
    assert client_done.cipher_suite is CipherSuite.ECDHE_ECDSA_AES_128_GCM_SHA256
    assert client_done.srtp_profile is SrtpProfile.AEAD_AES_128_GCM
    assert client_done.srtp_keying_material == server_done.srtp_keying_material
    assert client_done.srtp_keying_material is not None
    assert len(client_done.srtp_keying_material) == 2 * (16 + 12)
    assert client_done.srtp_local_master == server_done.srtp_remote_master
    assert client_done.srtp_remote_master == server_done.srtp_local_master
    assert client_done.srtp_local_master != client_done.srtp_remote_master
    assert client_done.remote_certificate == server_certificate.der
    assert server_done.remote_certificate == client_certificate.der
    assert pair.client.export_keying_material("EXPORTER-test", 40, b"ctx") == \
        pair.server.export_keying_material("EXPORTER-test", 40, b"ctx")
    assert pair.client.export_keying_material("EXPORTER-test", 40, b"") != \
        pair.client.export_keying_material("EXPORTER-test", 40, None)

    assert pair.client.record_overhead == 37
    pair.client.send(b"ping")
    (record,) = pair.client.datagrams_to_send(pair.network.now)
    assert len(record) == 4 + pair.client.record_overhead
    pair.server.receive_datagram(record, pair.network.now)
    pair.server.send(b"pong" * 300)
    pair.network.run(lambda: any(isinstance(e, ApplicationData)
                                 for e in pair.server_node.events)
                     and any(isinstance(e, ApplicationData) for e in pair.client_node.events))
    assert ApplicationData(b"ping") in pair.server_node.events
    assert ApplicationData(b"pong" * 300) in pair.client_node.events

    pair.client.close()
    pair.network.run(lambda: pair.server.state is DtlsState.CLOSED)
    assert pair.client_node.events[-1] == ConnectionClosed(by_peer=False)
    assert pair.server_node.events[-1] == ConnectionClosed(by_peer=True)
    with pytest.raises(RuntimeError):
        pair.client.send(b"late")


def test_handshake_datagrams_fit_the_mtu(client_certificate: Certificate,
                                         rsa_certificate: Certificate) -> None:
    # An RSA certificate makes the flights big enough to need fragmentation;
    # the link drops anything above 300 bytes.
    pair = make_pair(client_certificate, rsa_certificate,
                     link=LinkConfig(delay=0.01, mtu=300),
                     client_options={"mtu": 300}, server_options={"mtu": 300})
    pair.handshake(timeout=5)
    stats = pair.network.link_stats("10.0.0.2", "10.0.0.1")
    assert stats.too_big == 0
    assert stats.sent > 4  # flight 4 went as several datagrams
    assert _complete(pair.client_node.events).cipher_suite is \
        CipherSuite.ECDHE_RSA_AES_128_GCM_SHA256


def test_cookie_exchange(client_certificate: Certificate,
                         server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate,
                     server_options={"use_cookie": True})
    pair.handshake(timeout=5)
    # client: ClientHello twice, then flight 5
    assert pair.network.link_stats("10.0.0.1", "10.0.0.2").sent >= 3


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_handshake_survives_loss_reordering_duplication(
        seed: int, client_certificate: Certificate, server_certificate: Certificate) -> None:
    link = LinkConfig(delay=0.02, jitter=0.03, loss=0.3, duplicate=0.2, reorder=0.2,
                      reorder_delay=0.05)
    pair = make_pair(client_certificate, server_certificate, link=link, seed=seed,
                     client_options={"mtu": 500}, server_options={"mtu": 500,
                                                                  "use_cookie": seed % 2 == 0})
    pair.handshake(timeout=60)
    assert _complete(pair.client_node.events).srtp_keying_material == \
        _complete(pair.server_node.events).srtp_keying_material
    assert pair.client.stats.retransmissions + pair.server.stats.retransmissions > 0
    assert pair.network.link_stats("10.0.0.1", "10.0.0.2").lost > 0


def test_fingerprint_mismatch_fails_both_ends(client_certificate: Certificate,
                                              server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate)
    other = Certificate.generate()
    pair.client.set_remote_fingerprints(other.fingerprints())
    pair.client.start(0.0)
    pair.network.run(lambda: pair.client.state is DtlsState.FAILED
                     and pair.server.state is DtlsState.FAILED, timeout=5)
    failure = pair.client_node.events[-1]
    assert isinstance(failure, ConnectionFailed)
    assert failure.reason is FailureReason.FINGERPRINT_MISMATCH
    assert failure.alert == 42  # bad_certificate
    remote = pair.server_node.events[-1]
    assert isinstance(remote, ConnectionFailed)
    assert remote.reason is FailureReason.PEER_ALERT and remote.by_peer
    assert remote.alert == 42


def test_server_rejects_client_fingerprint(client_certificate: Certificate,
                                           server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate)
    pair.server.set_remote_fingerprints([("sha-256", "00:" * 31 + "00")])
    pair.client.start(0.0)
    pair.network.run(lambda: pair.server.state is DtlsState.FAILED, timeout=5)
    failure = pair.server_node.events[-1]
    assert isinstance(failure, ConnectionFailed)
    assert failure.reason is FailureReason.FINGERPRINT_MISMATCH
    pair.network.run(lambda: pair.client.state is DtlsState.FAILED, timeout=5)


def test_tampered_and_replayed_records_are_dropped_and_counted(
        client_certificate: Certificate, server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate)
    pair.handshake(timeout=5)
    pair.client.send(b"secret")
    (record,) = pair.client.datagrams_to_send(pair.network.now)
    tampered = bytearray(record)
    tampered[-1] ^= 1
    now = pair.network.now
    pair.server.receive_datagram(bytes(tampered), now)
    assert pair.server.stats.auth_failures == 1
    assert pair.server.next_event() is None
    pair.server.receive_datagram(record, now)
    assert pair.server.next_event() == ApplicationData(b"secret")
    pair.server.receive_datagram(record, now)
    assert pair.server.stats.replays == 1
    assert pair.server.next_event() is None
    assert pair.server.state is DtlsState.CONNECTED


def test_silent_peer_times_out(client_certificate: Certificate) -> None:
    connection = DtlsConnection(True, client_certificate, None, handshake_timeout=10.0)
    connection.start(0.0)
    now = 0.0
    sent = len(connection.datagrams_to_send(now))
    intervals = []
    while (timer := connection.get_timer()) is not None:
        intervals.append(timer - now)
        now = timer
        connection.handle_timer(now)
        sent += len(connection.datagrams_to_send(now))
    assert intervals[:4] == pytest.approx([0.4, 0.8, 1.6, 3.2])  # doubling backoff
    assert now == pytest.approx(10.0)
    event = connection.next_event()
    assert isinstance(event, ConnectionFailed)
    assert event.reason is FailureReason.TIMEOUT
    assert connection.state is DtlsState.FAILED
    assert sent == connection.stats.retransmissions + 1


def test_silent_peer_in_simulator(client_certificate: Certificate,
                                  server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate,
                     client_options={"handshake_timeout": 5.0})
    pair.network.set_link("10.0.0.1", "10.0.0.2", LinkConfig(loss=1.0), both_ways=False)
    pair.client.start(0.0)
    pair.network.run(lambda: pair.client.state is DtlsState.FAILED, timeout=10)
    assert isinstance(pair.client_node.events[-1], ConnectionFailed)


@pytest.mark.parametrize(
    ("suite", "group", "key_type"),
    [
        (CipherSuite.ECDHE_ECDSA_AES_256_GCM_SHA384, NamedGroup.SECP384R1, "ecdsa"),
        (CipherSuite.ECDHE_ECDSA_CHACHA20_POLY1305_SHA256, NamedGroup.SECP256R1, "ecdsa"),
        (CipherSuite.ECDHE_RSA_AES_128_GCM_SHA256, NamedGroup.X25519, "rsa"),
        (CipherSuite.ECDHE_RSA_AES_256_GCM_SHA384, NamedGroup.SECP256R1, "rsa"),
        (CipherSuite.ECDHE_RSA_CHACHA20_POLY1305_SHA256, NamedGroup.SECP384R1, "rsa"),
    ],
)
def test_other_suites_and_groups(suite: CipherSuite, group: NamedGroup, key_type: str,
                                 client_certificate: Certificate,
                                 server_certificate: Certificate,
                                 rsa_certificate: Certificate) -> None:
    server_cert = rsa_certificate if key_type == "rsa" else server_certificate
    pair = make_pair(rsa_certificate if key_type == "rsa" else client_certificate, server_cert,
                     client_options={"cipher_suites": [suite], "groups": [group],
                                     "srtp_profiles": [SrtpProfile.AES128_CM_HMAC_SHA1_80]})
    pair.handshake(timeout=5)
    done = _complete(pair.client_node.events)
    assert done.cipher_suite is suite
    assert done.named_group is group
    assert done.srtp_profile is SrtpProfile.AES128_CM_HMAC_SHA1_80
    assert done.srtp_keying_material is not None and len(done.srtp_keying_material) == 60
    assert pair.server.record_overhead == (29 if "CHACHA" in suite.name else 37)
    pair.server.send(b"x" * 1000)
    pair.network.run(lambda: ApplicationData(b"x" * 1000) in pair.client_node.events)


def test_no_common_suite_fails(client_certificate: Certificate,
                               server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate,
                     client_options={"cipher_suites": [CipherSuite.ECDHE_RSA_AES_128_GCM_SHA256]})
    pair.client.start(0.0)
    pair.network.run(lambda: pair.client.state is DtlsState.FAILED, timeout=5)
    failure = pair.server_node.events[-1]
    assert isinstance(failure, ConnectionFailed)
    assert failure.reason is FailureReason.HANDSHAKE_FAILURE


def test_no_srtp_when_not_offered(client_certificate: Certificate,
                                  server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate,
                     client_options={"srtp_profiles": []})
    pair.handshake(timeout=5)
    done = _complete(pair.server_node.events)
    assert done.srtp_profile is None and done.srtp_keying_material is None


def test_replay_window() -> None:
    from webrtc.dtls.connection import _ReplayWindow

    window = _ReplayWindow()
    assert not window.seen(0)
    window.mark(0)
    assert window.seen(0)
    window.mark(5)
    assert not window.seen(3) and window.seen(5) and window.seen(0)
    window.mark(3)
    assert window.seen(3)
    window.mark(100)
    assert window.seen(36)  # older than the 64-record window: treated as replay
    assert not window.seen(37) and not window.seen(99)
    window.mark((1 << 48) - 1)  # a huge jump must stay cheap
    assert window.seen(100) and not window.seen((1 << 48) - 2)


def _open_records(receiver: DtlsConnection, datagram: bytes) -> list[tuple[int, bytes]]:
    """Decrypt the epoch-1 records of ``datagram`` with ``receiver``'s read keys."""
    from webrtc.dtls.messages import parse_records

    protection = receiver._read_protection[1]
    assert protection is not None
    opened = []
    for record in parse_records(datagram):
        epoch_seq = (record.epoch << 48) | record.sequence_number
        opened.append((record.content_type,
                       protection.open(record.content_type, record.version, epoch_seq,
                                       record.fragment)))
    return opened


@pytest.mark.parametrize("from_client", [True, False])
def test_renegotiation_is_refused(from_client: bool, client_certificate: Certificate,
                                  server_certificate: Certificate) -> None:
    from webrtc.dtls.messages import HandshakeType, handshake_message

    pair = make_pair(client_certificate, server_certificate)
    pair.handshake(timeout=5)
    sender, receiver = (pair.client, pair.server) if from_client else (pair.server, pair.client)
    msg_type = HandshakeType.CLIENT_HELLO if from_client else HandshakeType.HELLO_REQUEST
    request = handshake_message(msg_type, receiver._recv_msg_seq, b"" if not from_client
                                else bytes(sender._client_hello or b""))
    receiver.receive_datagram(sender._seal(22, 1, request), pair.network.now)
    (reply,) = receiver.datagrams_to_send(pair.network.now)
    # RFC 5746 §4.2 / RFC 5246 §7.2.2: a warning-level no_renegotiation alert.
    assert _open_records(sender, reply) == [(21, bytes((1, 100)))]
    assert receiver.state is DtlsState.CONNECTED
    sender.receive_datagram(reply, pair.network.now)
    assert sender.state is DtlsState.CONNECTED
    sender.send(b"still fine")
    pair.network.run(lambda: ApplicationData(b"still fine") in
                     (pair.server_node.events if from_client else pair.client_node.events))


class _NoisyClient(DtlsConnection):
    """A client that sends unknown extensions, with ours, in a shuffled order."""

    def _client_extensions(self) -> list[tuple[int, bytes]]:
        import random

        extensions = [*super()._client_extensions(), (0x5A5A, b""), (0x1234, b"\x00" * 40),
                      (43, b"\x04\xfe\xfc\xfe\xfd"), (0xFFFE, b"grease")]
        random.Random(7).shuffle(extensions)
        return extensions


def test_unknown_extensions_are_ignored(client_certificate: Certificate,
                                        server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate)
    client = _NoisyClient(True, client_certificate, server_certificate.fingerprints())
    pair.client_node.engine = client
    pair.client = client
    pair.handshake(timeout=5)
    assert _complete(pair.server_node.events).srtp_profile is SrtpProfile.AEAD_AES_128_GCM


def test_warning_alert_does_not_end_the_connection(client_certificate: Certificate,
                                                   server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate)
    pair.handshake(timeout=5)
    pair.server.receive_datagram(pair.client._seal(21, 1, bytes((1, 90))), pair.network.now)
    assert pair.server.state is DtlsState.CONNECTED
    pair.server.receive_datagram(pair.client._seal(21, 1, bytes((2, 80))), pair.network.now)
    assert pair.server.state is DtlsState.FAILED
    event = pair.server.next_event()
    while event is not None and not isinstance(event, ConnectionFailed):
        event = pair.server.next_event()
    assert isinstance(event, ConnectionFailed)
    assert event.by_peer and event.alert == 80 and event.reason is FailureReason.PEER_ALERT


def test_unauthenticated_alert_after_handshake_is_ignored(
        client_certificate: Certificate, server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate)
    pair.handshake(timeout=5)
    forged = bytes((21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 99, 0, 2, 2, 40))
    pair.server.receive_datagram(forged, pair.network.now)
    assert pair.server.state is DtlsState.CONNECTED


def test_tampered_and_duplicated_records_through_the_simulator(
        client_certificate: Certificate, server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate)
    pair.handshake(timeout=5)
    # From now on the link duplicates half the datagrams, and an on-path
    # attacker flips one bit in every third datagram that reaches the server.
    pair.network.set_link("10.0.0.1", "10.0.0.2", LinkConfig(delay=0.01, duplicate=0.5),
                          both_ways=False)
    deliver = pair.server_node.receive
    seen = 0

    def tampering_receive(data: bytes, source: Any, destination: Any, now: float) -> None:
        nonlocal seen
        seen += 1
        if seen % 3 == 0:
            data = data[:-5] + bytes((data[-5] ^ 0x10,)) + data[-4:]
        deliver(data, source, destination, now)

    pair.server_node.receive = tampering_receive  # type: ignore[method-assign]
    messages = [f"message {i}".encode() for i in range(60)]
    for message in messages:
        pair.client.send(message)
    pair.network.run(timeout=1)
    received = [e.data for e in pair.server_node.events if isinstance(e, ApplicationData)]
    stats = pair.server.stats
    assert stats.auth_failures > 0 and stats.replays > 0
    # Each datagram was delivered, or dropped as a replay (checked before the
    # tag, so a tampered copy of an accepted record counts as a replay), or
    # dropped for its tag; records reach the application once, in order.
    assert len(received) + stats.replays + stats.auth_failures == seen
    assert received == [m for m in messages if m in received]
    assert len(set(received)) == len(received) < len(messages)
    assert pair.server.state is DtlsState.CONNECTED


def test_application_data_overtaking_finished_is_delivered(
        client_certificate: Certificate, server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate)
    client, server = pair.client, pair.server
    client.start(0.0)
    for _ in range(2):  # ClientHello -> flight 4 -> flight 5
        for datagram in client.datagrams_to_send(0.0):
            server.receive_datagram(datagram, 0.0)
        if server.state is DtlsState.CONNECTED:
            break
        for datagram in server.datagrams_to_send(0.0):
            client.receive_datagram(datagram, 0.0)
    assert server.state is DtlsState.CONNECTED
    final_flight = server.datagrams_to_send(0.0)
    server.send(b"early")
    (early,) = server.datagrams_to_send(0.0)
    client.receive_datagram(early, 0.0)  # overtakes the Finished
    assert client.state is DtlsState.HANDSHAKING
    for datagram in final_flight:
        client.receive_datagram(datagram, 0.0)
    events = []
    while (event := client.next_event()) is not None:
        events.append(event)
    assert isinstance(events[0], HandshakeComplete)
    assert events[1:] == [ApplicationData(b"early")]


def test_connection_is_a_datagram_engine(client_certificate: Certificate) -> None:
    from webrtc.engine import DatagramEngine

    assert isinstance(DtlsConnection(True, client_certificate), DatagramEngine)


def test_close_during_handshake_and_local_close_events(
        client_certificate: Certificate, server_certificate: Certificate) -> None:
    pair = make_pair(client_certificate, server_certificate)
    pair.client.start(0.0)
    pair.client.close()
    assert pair.client.next_event() == ConnectionClosed(by_peer=False)
    assert pair.client.get_timer() is None
    pair.network.run(lambda: pair.server.state is DtlsState.CLOSED, timeout=5)
    assert pair.server_node.events[-1] == ConnectionClosed(by_peer=True)
