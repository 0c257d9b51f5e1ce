"""The association and data channels, two engines through the simulator."""

from __future__ import annotations

import random

import pytest
from sctp_helpers import make_pair

from webrtc.sctp import (
    AssociationClosed,
    AssociationEstablished,
    AssociationState,
    BufferedAmountLow,
    ChannelAcknowledged,
    ChannelClosed,
    ChannelOpened,
    CloseReason,
    MessageReceived,
    SctpAssociation,
)
from webrtc.testing import LinkConfig


@pytest.mark.parametrize("start", ["a", "b", "both"])
def test_handshake_either_or_both_sides(start: str) -> None:
    pair = make_pair(start=start)
    assert pair.established()
    for side in "ab":
        (event,) = pair.events(side, AssociationEstablished)
        assert isinstance(event, AssociationEstablished)
        assert event.remote_reconfig
    assert pair.a._peer_tag == pair.b._local_tag
    assert pair.b._peer_tag == pair.a._local_tag


def test_handshake_survives_loss() -> None:
    pair = make_pair(LinkConfig(delay=0.02, loss=0.3), seed=3, start="a", connect=False)
    pair.network.run(pair.established, timeout=600)
    assert pair.established()


def test_init_unanswered_ends_with_typed_event() -> None:
    pair = make_pair(LinkConfig(delay=0.01, loss=1.0), start="a", connect=False)
    pair.network.run(lambda: pair.a.state is AssociationState.CLOSED, timeout=1000)
    (closed,) = pair.events("a", AssociationClosed)
    assert isinstance(closed, AssociationClosed)
    assert closed.reason is CloseReason.INIT_FAILED


def test_channel_open_and_messages_of_every_form() -> None:
    pair = make_pair()
    a, b = pair.a, pair.b
    sid = a.open_channel("chat", protocol="proto", priority=512)
    assert sid % 2 == 0  # DTLS client: even ids
    pair.network.run(lambda: bool(pair.events("b", ChannelOpened)), timeout=5)
    (remote,) = pair.events("b", ChannelOpened)
    assert isinstance(remote, ChannelOpened)
    assert (remote.stream_id, remote.label, remote.protocol, remote.priority) == (
        sid, "chat", "proto", 512,
    )
    assert remote.remote and remote.ordered and remote.max_retransmits is None
    (local,) = pair.events("a", ChannelOpened)
    assert isinstance(local, ChannelOpened) and not local.remote
    pair.network.run(lambda: bool(pair.events("a", ChannelAcknowledged)), timeout=5)
    assert pair.events("a", ChannelAcknowledged) == [ChannelAcknowledged(sid)]
    assert not pair.events("b", ChannelAcknowledged)
    for data in ("héllo", b"\x00\x01binary", "", b""):
        a.send(sid, data)
    pair.network.run(lambda: len(pair.received_b) == 4, timeout=5)
    got = [(m.data, m.is_string) for m in pair.received_b]
    assert got == [
        ("héllo".encode(), True), (b"\x00\x01binary", False), (b"", True), (b"", False),
    ]
    # The server side opens odd stream ids, and can answer on the channel.
    sid_b = b.open_channel("back")
    assert sid_b % 2 == 1
    b.send(sid, "pong")
    pair.network.run(lambda: len(pair.received_a) == 1, timeout=5)
    assert pair.received_a[0].text == "pong" and pair.received_a[0].stream_id == sid


@pytest.mark.parametrize(
    "options",
    [
        {"ordered": False},
        {"max_retransmits": 0},
        {"max_retransmits": 3, "ordered": False},
        {"max_packet_life_time": 150},
        {"max_packet_life_time": 500, "ordered": False},
    ],
)
def test_every_channel_type_reaches_the_peer(options: dict[str, object]) -> None:
    pair = make_pair()
    sid = pair.a.open_channel("x", **options)  # type: ignore[arg-type]
    pair.network.run(lambda: bool(pair.events("b", ChannelOpened)), timeout=5)
    (remote,) = pair.events("b", ChannelOpened)
    assert isinstance(remote, ChannelOpened)
    assert remote.ordered == options.get("ordered", True)
    assert remote.max_retransmits == options.get("max_retransmits")
    assert remote.max_packet_life_time == options.get("max_packet_life_time")
    for i in range(20):
        pair.a.send(sid, bytes([i]) * 3000)
    pair.network.run(lambda: len(pair.received_b) == 20, timeout=10)
    assert sorted(m.data[0] for m in pair.received_b) == list(range(20))


def test_negotiated_channels_need_no_dcep() -> None:
    pair = make_pair()
    pair.a.open_channel("neg", negotiated=True, id=7)
    pair.b.open_channel("neg", negotiated=True, id=7)
    pair.a.send(7, "via negotiated")
    pair.network.run(lambda: len(pair.received_b) == 1, timeout=5)
    assert pair.received_b[0].text == "via negotiated"
    # No DATA_CHANNEL_OPEN crossed: each side has exactly its local opening.
    (opened,) = pair.events("b", ChannelOpened)
    assert isinstance(opened, ChannelOpened) and opened.negotiated and not opened.remote


def test_channel_created_before_establishment_opens_after() -> None:
    pair = make_pair(start="a", connect=False)
    sid = pair.a.open_channel("early")
    pair.a.send(sid, "queued early")
    pair.network.run(lambda: len(pair.received_b) == 1, timeout=10)
    assert pair.received_b[0].text == "queued early"


def test_close_channel_closes_both_sides_and_frees_the_id() -> None:
    pair = make_pair()
    sid = pair.a.open_channel("c")
    assert pair.a.has_channel(sid)
    pair.a.send(sid, b"last words" * 1000)
    pair.a.close_channel(sid)
    with pytest.raises(ValueError):
        pair.a.send(sid, b"too late")
    pair.network.run(
        lambda: bool(pair.events("a", ChannelClosed)) and bool(pair.events("b", ChannelClosed)),
        timeout=10,
    )
    assert pair.received_b[-1].data == b"last words" * 1000
    assert not pair.a.has_channel(sid) and not pair.b.has_channel(sid)
    # The stream id is free for a new channel with fresh sequence numbers.
    assert pair.a.open_channel("again", id=sid) == sid
    pair.a.send(sid, "second life")
    pair.network.run(lambda: pair.received_b[-1].data == b"second life", timeout=5)


def test_buffered_amount_and_low_event() -> None:
    pair = make_pair()
    sid = pair.a.open_channel("b")
    pair.a.set_buffered_amount_low_threshold(sid, 10_000)
    for _ in range(10):
        pair.a.send(sid, bytes(6000))
    assert pair.a.buffered_amount(sid) == 60_000
    pair.network.run(lambda: bool(pair.events("a", BufferedAmountLow)), timeout=10)
    (low,) = pair.events("a", BufferedAmountLow)
    assert isinstance(low, BufferedAmountLow) and low.buffered_amount <= 10_000
    pair.network.run(lambda: len(pair.received_b) == 10, timeout=10)
    assert pair.a.buffered_amount(sid) == 0


def test_max_message_size() -> None:
    pair = make_pair()
    sid = pair.a.open_channel("m")
    with pytest.raises(ValueError):
        pair.a.send(sid, bytes(65537))  # no a=max-message-size from the peer: 64 KiB
    pair.a.set_remote_max_message_size(262144)
    pair.a.send(sid, bytes(262144))
    pair.network.run(lambda: len(pair.received_b) == 1, timeout=10)
    assert len(pair.received_b[0].data) == 262144


def test_unreachable_peer_ends_after_retransmission_limit() -> None:
    pair = make_pair()
    sid = pair.a.open_channel("d")
    pair.network.run(lambda: bool(pair.events("b", ChannelOpened)), timeout=5)
    pair.network.set_link("10.0.0.1", "10.0.0.2", LinkConfig(loss=1.0))
    pair.a.send(sid, b"into the void")
    pair.network.run(lambda: pair.a.state is AssociationState.CLOSED, timeout=3600)
    (closed,) = pair.events("a", AssociationClosed)
    assert isinstance(closed, AssociationClosed)
    assert closed.reason is CloseReason.RETRANSMISSION_LIMIT
    assert pair.events("a", ChannelClosed)


def test_idle_association_heartbeats_and_detects_dead_peer() -> None:
    pair = make_pair(heartbeat_interval=5.0)
    sent_before = pair.network.link_stats("10.0.0.1", "10.0.0.2").sent
    pair.network.advance(60)
    assert pair.established()  # heartbeats answered
    assert pair.network.link_stats("10.0.0.1", "10.0.0.2").sent > sent_before + 5
    pair.network.set_link("10.0.0.1", "10.0.0.2", LinkConfig(loss=1.0))
    pair.network.run(lambda: pair.a.state is AssociationState.CLOSED, timeout=3600)
    closed = pair.events("a", AssociationClosed)[0]
    assert isinstance(closed, AssociationClosed)
    assert closed.reason is CloseReason.RETRANSMISSION_LIMIT


def test_graceful_shutdown_and_abort() -> None:
    pair = make_pair()
    sid = pair.a.open_channel("s")
    pair.a.send(sid, bytes(50_000))
    pair.a.close(pair.network.now)
    pair.network.run(
        lambda: pair.a.state is AssociationState.CLOSED
        and pair.b.state is AssociationState.CLOSED,
        timeout=10,
    )
    assert len(pair.received_b[0].data) == 50_000
    for side in "ab":
        closed = pair.events(side, AssociationClosed)[0]
        assert isinstance(closed, AssociationClosed) and closed.reason is CloseReason.SHUTDOWN
    pair = make_pair()
    pair.b.abort("bye")
    pair.network.run(lambda: pair.a.state is AssociationState.CLOSED, timeout=5)
    closed = pair.events("a", AssociationClosed)[0]
    assert isinstance(closed, AssociationClosed)
    assert closed.reason is CloseReason.ABORTED_BY_PEER and "bye" in closed.detail


def test_wrong_verification_tag_is_dropped() -> None:
    pair = make_pair()
    sid = pair.a.open_channel("v")
    pair.network.run(lambda: bool(pair.events("b", ChannelOpened)), timeout=5)
    pair.a.send(sid, "x")
    (packet,) = pair.a.datagrams_to_send(pair.network.now)
    from webrtc.sctp.packet import Packet

    parsed = Packet.parse(packet)
    forged = bytes(Packet(5000, 5000, parsed.verification_tag ^ 1, parsed.chunks))
    before = pair.b.dropped_packets
    pair.b.receive_datagram(forged, pair.network.now)
    assert pair.b.dropped_packets == before + 1
    assert not pair.received_b
    pair.b.receive_datagram(packet, pair.network.now)
    assert pair.b.next_event() is not None


def test_tsn_wraparound() -> None:
    # Initial TSNs just below 2**32 so the transfer crosses the wrap.
    values = iter([b"\x00\x00\x00\x01", b"\xff\xff\xff\xf0"] * 10)

    def rigged(n: int) -> bytes:
        return next(values) if n == 4 else bytes(n)

    from webrtc.testing import Network

    network = Network(default_link=LinkConfig(delay=0.01, loss=0.05), seed=2)
    a = SctpAssociation(True, random_bytes=rigged)
    b = SctpAssociation(False, random_bytes=random.Random(1).randbytes)
    got: list[bytes] = []
    network.add_engine(a, ("1.1.1.1", 1), ("1.1.1.2", 1))
    network.add_engine(
        b, ("1.1.1.2", 1), ("1.1.1.1", 1),
        on_event=lambda e: got.append(e.data) if hasattr(e, "data") else None,
    )
    a.start(0.0)
    network.run(lambda: b.state is AssociationState.ESTABLISHED, timeout=30)
    sid = a.open_channel("w")
    for i in range(100):
        a.send(sid, bytes([i]) * 2000)
    network.run(lambda: len(got) == 100, timeout=120)
    assert [m[0] for m in got] == list(range(100))
    assert a._next_tsn > 1 << 32  # the unwrapped counter crossed the wrap


def test_channel_closed_before_establishment_never_reaches_the_peer() -> None:
    pair = make_pair(start="a", connect=False)
    sid = pair.a.open_channel("short-lived")
    pair.a.send(sid, "never sent")
    pair.a.close_channel(sid)
    pair.network.advance(0.0001)
    assert pair.events("a", ChannelClosed) == [ChannelClosed(sid)]
    kept = pair.a.open_channel("kept")
    pair.a.send(kept, "sent")
    pair.network.run(lambda: len(pair.received_b) == 1, timeout=10)
    pair.network.advance(2.0)
    assert [e.stream_id for e in pair.events("b", ChannelOpened)] == [kept]  # type: ignore[attr-defined]
    assert [m.text for m in pair.received_b] == ["sent"]


def test_close_right_after_open_orders_the_reset_after_the_open() -> None:
    pair = make_pair()
    sid = pair.a.open_channel("blink")
    pair.a.close_channel(sid)
    pair.network.run(
        lambda: bool(pair.events("a", ChannelClosed)) and bool(pair.events("b", ChannelClosed)),
        timeout=10,
    )
    assert [e.stream_id for e in pair.events("b", ChannelOpened)] == [sid]  # type: ignore[attr-defined]
    assert pair.b._channels == {} and pair.a._channels == {}


def test_receive_accepts_memoryview_and_bytearray() -> None:
    pair = make_pair()
    sid = pair.a.open_channel("mv")
    pair.network.run(lambda: bool(pair.events("b", ChannelOpened)), timeout=5)
    pair.a.send(sid, "first")
    pair.a.send(sid, "second")
    first, *_ = pair.a.datagrams_to_send(pair.network.now)
    pair.b.receive_datagram(memoryview(first), pair.network.now)  # type: ignore[arg-type]
    pair.b.receive_datagram(bytearray(first), pair.network.now)  # type: ignore[arg-type]
    texts = []
    while (event := pair.b.next_event()) is not None:
        texts.append(getattr(event, "text", None))
    assert texts == ["first", "second"]
    assert pair.b.dropped_packets == 0


def test_stream_ids_are_reused_after_close_when_exhausted() -> None:
    pair = make_pair(streams=6)
    assert pair.a.max_channels == 6
    ids = [pair.a.open_channel(str(i)) for i in range(3)]
    assert ids == [0, 2, 4]
    with pytest.raises(ValueError):
        pair.a.open_channel("one too many")
    pair.a.close_channel(2)
    pair.network.run(lambda: bool(pair.events("a", ChannelClosed)), timeout=10)
    assert pair.a.open_channel("reused") == 2
    with pytest.raises(ValueError):
        pair.a.open_channel("negotiated beyond the streams", negotiated=True, id=6)


def _shuttle(a: SctpAssociation, b: SctpAssociation, now: float, rounds: int = 10) -> None:
    for _ in range(rounds):
        moved = False
        for sender, receiver in ((a, b), (b, a)):
            for packet in sender.datagrams_to_send(now):
                receiver.receive_datagram(packet, now)
                moved = True
        if not moved:
            return


def test_simultaneous_start_adopts_the_new_peer_tag_from_its_cookie() -> None:
    """RFC 9260 5.2.4 case B, as dcsctp produces it.

    The peer answers our INIT before it has started (stateless INIT ACK, one
    tag), then starts with an INIT of its own under a new tag and discards our
    COOKIE ECHO for the first. Its COOKIE ECHO, carrying our tag and its new
    one, must establish the association on our side in COOKIE-ECHOED.
    """
    rng = random.Random(7)
    a = SctpAssociation(True, random_bytes=rng.randbytes)
    stateless_answer = SctpAssociation(False, random_bytes=rng.randbytes)
    b = SctpAssociation(False, random_bytes=rng.randbytes)
    now = 0.0
    a.start(now)
    (init_a,) = a.datagrams_to_send(now)
    stateless_answer.receive_datagram(init_a, now)
    (first_init_ack,) = stateless_answer.datagrams_to_send(now)
    b.start(now)
    (init_b,) = b.datagrams_to_send(now)

    a.receive_datagram(first_init_ack, now)
    assert a.state is AssociationState.COOKIE_ECHOED
    (stale_echo,) = a.datagrams_to_send(now)
    b.receive_datagram(stale_echo, now)  # not b's cookie: discarded
    assert b.state is AssociationState.COOKIE_WAIT

    a.receive_datagram(init_b, now)
    (init_ack_a,) = a.datagrams_to_send(now)
    b.receive_datagram(init_ack_a, now)
    assert b.state is AssociationState.COOKIE_ECHOED
    (echo_b,) = b.datagrams_to_send(now)
    a.receive_datagram(echo_b, now)
    assert a.state is AssociationState.ESTABLISHED
    assert a._peer_tag == b._local_tag != stateless_answer._local_tag

    sid = a.open_channel("after-b")
    a.send(sid, "hello")
    _shuttle(a, b, now)
    assert b.state is AssociationState.ESTABLISHED
    events = []
    while (event := b.next_event()) is not None:
        events.append(event)
    assert any(isinstance(e, ChannelOpened) and e.label == "after-b" for e in events)
    assert [e.text for e in events if isinstance(e, MessageReceived)] == ["hello"]
