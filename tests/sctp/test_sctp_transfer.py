"""Reliability mechanics: SACK policy, fast retransmit, congestion window, PR-SCTP."""

from __future__ import annotations

from typing import Any

import pytest
from sctp_helpers import Pair, make_pair

from webrtc.sctp import ChannelClosed, ChannelOpened
from webrtc.sctp.packet import DataChunk, ForwardTsnChunk, Packet, SackChunk
from webrtc.testing import LinkConfig


def open_channel(pair: Pair, **options: Any) -> int:
    sid = pair.a.open_channel("t", **options)
    pair.network.run(lambda: bool(pair.events("b", ChannelOpened)), timeout=5)
    pair.network.advance(1.0)  # let the DCEP ACK and SACKs settle
    return sid


def test_initial_window_and_slow_start() -> None:
    pair = make_pair()
    sid = open_channel(pair)
    pair.a.send(sid, bytes(50_000))
    first_flight = pair.a.datagrams_to_send(pair.network.now)
    # RFC 9260 7.2.1: initial cwnd = min(4*MTU, max(2*MTU, 4380)) = 4380 bytes:
    # 4 full DATA packets may be in flight (the last one may exceed cwnd).
    assert len(first_flight) == 4
    assert all(len(p) <= 1200 for p in first_flight)
    for packet in first_flight:
        pair.b.receive_datagram(packet, pair.network.now)
    (sack_packet,) = pair.b.datagrams_to_send(pair.network.now)  # SACKs coalesced
    sack = Packet.parse(sack_packet).chunks[0]
    assert isinstance(sack, SackChunk) and not sack.gap_blocks
    pair.a.receive_datagram(sack_packet, pair.network.now)
    second_flight = pair.a.datagrams_to_send(pair.network.now)
    assert len(second_flight) > len(first_flight)  # slow start grew cwnd


def test_delayed_sack_single_packet_waits_for_timer() -> None:
    pair = make_pair()
    sid = open_channel(pair)
    pair.a.send(sid, b"one packet")
    (packet,) = pair.a.datagrams_to_send(pair.network.now)
    now = pair.network.now
    pair.b.receive_datagram(packet, now)
    assert pair.b.datagrams_to_send(now) == []  # one packet: SACK delayed
    timer = pair.b.get_timer()
    assert timer is not None and timer <= now + 0.2 + 1e-9
    pair.b.handle_timer(now + 0.2)
    (sack_packet,) = pair.b.datagrams_to_send(now + 0.2)
    assert isinstance(Packet.parse(sack_packet).chunks[0], SackChunk)


def test_gap_triggers_immediate_sack_and_fast_retransmit() -> None:
    pair = make_pair()
    sid = open_channel(pair)
    pair.a.send(sid, bytes(1172 * 8))
    now = pair.network.now
    # Grow the window first so 8 packets go out in one flight.
    pair.a._cwnd = 20_000
    flight = pair.a.datagrams_to_send(now)
    assert len(flight) == 8
    lost = flight[1]
    lost_tsn = Packet.parse(lost).chunks[0].tsn  # type: ignore[union-attr]
    sacks = 0
    for packet in flight[:1] + flight[2:]:
        pair.b.receive_datagram(packet, now)
        for reply in pair.b.datagrams_to_send(now):
            sack = Packet.parse(reply).chunks[0]
            assert isinstance(sack, SackChunk)
            if sack.gap_blocks:
                sacks += 1
            pair.a.receive_datagram(reply, now)
    assert sacks >= 3
    retransmitted = pair.a.datagrams_to_send(now)  # before any T3 expiry
    chunks = [c for p in retransmitted for c in Packet.parse(p).chunks]
    assert any(isinstance(c, DataChunk) and c.tsn == lost_tsn for c in chunks)
    assert pair.a._cwnd < 20_000  # fast recovery halved the window


@pytest.mark.parametrize("options", [{"max_retransmits": 0}, {"max_packet_life_time": 50}])
def test_ordered_partial_reliability_skips_lost_messages(options: dict[str, int]) -> None:
    pair = make_pair(LinkConfig(delay=0.03, loss=0.1), seed=4)
    sid = open_channel(pair, **options)
    for i in range(400):
        pair.a.send(sid, i.to_bytes(4, "big") + bytes(1500))
    pair.network.run(lambda: not pair.a._outstanding and not pair.a._queue, timeout=600)
    pair.network.advance(5.0)
    numbers = [int.from_bytes(m.data[:4], "big") for m in pair.received_b]
    assert numbers == sorted(set(numbers))  # in order, no duplicates
    assert 0 < len(numbers) < 400  # some were abandoned, the rest delivered
    assert not pair.b._ordered_pending.get(sid)  # nothing stuck behind a skipped SSN


def test_forward_tsn_sent_for_abandoned_chunks() -> None:
    pair = make_pair()
    sid = open_channel(pair, ordered=False, max_retransmits=0)
    pair.network.set_link("10.0.0.1", "10.0.0.2", LinkConfig(loss=1.0), both_ways=False)
    pair.a.send(sid, b"lost forever")
    pair.network.advance(0.1)
    pair.network.set_link("10.0.0.1", "10.0.0.2", LinkConfig(delay=0.01), both_ways=False)
    seen: list[object] = []
    original = pair.node_a.transmit

    def spy(now: float):  # type: ignore[no-untyped-def]
        out = original(now)
        for _, _, data in out:
            seen.extend(Packet.parse(data).chunks)
        return out

    pair.node_a.transmit = spy  # type: ignore[method-assign]
    pair.a.send(sid, b"next")
    pair.network.run(lambda: any(m.data == b"next" for m in pair.received_b), timeout=30)
    pair.network.run(lambda: not pair.a._outstanding, timeout=30)
    assert any(isinstance(c, ForwardTsnChunk) for c in seen)
    assert [m.data for m in pair.received_b] == [b"next"]


def test_simultaneous_close_from_both_sides() -> None:
    pair = make_pair()
    sid = open_channel(pair)
    pair.a.close_channel(sid)
    pair.b.close_channel(sid)
    pair.network.run(
        lambda: bool(pair.events("a", ChannelClosed)) and bool(pair.events("b", ChannelClosed)),
        timeout=10,
    )
    assert len(pair.events("a", ChannelClosed)) == 1
    assert len(pair.events("b", ChannelClosed)) == 1


def test_unordered_channel_sends_ordered_until_acked() -> None:
    pair = make_pair()
    sid = pair.a.open_channel("u", ordered=False)
    pair.a.send(sid, b"early")
    packets = pair.a.datagrams_to_send(pair.network.now)
    chunks = [c for p in packets for c in Packet.parse(p).chunks if isinstance(c, DataChunk)]
    # RFC 8832 6: DATA_CHANNEL_OPEN first, and the message before the ACK ordered.
    assert [c.ppid for c in chunks] == [50, 53]
    assert not chunks[1].unordered
    for packet in packets:
        pair.b.receive_datagram(packet, pair.network.now)
    pair.network.run(lambda: pair.a._channels[sid].acked, timeout=5)
    pair.a.send(sid, b"later")
    packets = pair.a.datagrams_to_send(pair.network.now)
    chunks = [c for p in packets for c in Packet.parse(p).chunks if isinstance(c, DataChunk)]
    assert chunks[-1].unordered


def test_receiver_window_limits_the_sender() -> None:
    pair = make_pair(receive_window=64_000, max_message_size=16_000)
    sid = open_channel(pair)
    pair.a.set_remote_max_message_size(16_000)
    assert pair.a._peer_rwnd <= 64_000
    pair.a._cwnd = 1 << 30  # only the receiver window limits now
    for _ in range(20):
        pair.a.send(sid, bytes(16_000))
    pair.a.datagrams_to_send(pair.network.now)
    assert pair.a._flight <= 64_000 + 1200
    pair.network.run(lambda: len(pair.received_b) == 20, timeout=30)


@pytest.mark.parametrize(("a_side", "b_side"), [(True, False), (False, True), (True, True)])
def test_i_data_only_when_both_support_it(a_side: bool, b_side: bool) -> None:
    from sctp_helpers import A_ADDRESS, B_ADDRESS

    from webrtc.sctp import AssociationEstablished, SctpAssociation
    from webrtc.sctp.packet import IDataChunk
    from webrtc.testing import Network

    network = Network(default_link=LinkConfig(delay=0.01))
    a = SctpAssociation(True, interleaving=a_side)
    b = SctpAssociation(False, interleaving=b_side)
    node_a = network.add_engine(a, A_ADDRESS, B_ADDRESS)
    node_b = network.add_engine(b, B_ADDRESS, A_ADDRESS)
    a.start(0.0)
    network.run(lambda: bool(node_a.events) and bool(node_b.events), timeout=10)
    both = a_side and b_side
    for node in (node_a, node_b):
        established = node.events[0]
        assert isinstance(established, AssociationEstablished)
        assert established.i_data == both
    sid = a.open_channel("i")
    a.send(sid, bytes(5000))
    packets = a.datagrams_to_send(network.now)
    chunks = [c for p in packets for c in Packet.parse(p).chunks]
    assert all(isinstance(c, IDataChunk) == both for c in chunks
               if isinstance(c, DataChunk | IDataChunk))
    assert len(chunks) >= 5


def test_i_data_ordered_partial_reliability() -> None:
    pair = make_pair(LinkConfig(delay=0.03, loss=0.1), seed=6, interleaving=True)
    assert pair.a._i_data
    sid = open_channel(pair, max_retransmits=0)
    for i in range(300):
        pair.a.send(sid, i.to_bytes(4, "big") + bytes(2500))
    pair.network.run(lambda: not pair.a._outstanding and not pair.a._queue, timeout=600)
    pair.network.advance(5.0)
    numbers = [int.from_bytes(m.data[:4], "big") for m in pair.received_b]
    assert numbers == sorted(set(numbers))
    assert 0 < len(numbers) < 300
    assert not pair.b._imsgs and not pair.b._ordered_pending.get(sid)
    assert pair.b._rx_buffered == 0


@pytest.mark.parametrize("interleaving", [False, True])
def test_bundling_fills_packets_up_to_the_mtu(interleaving: bool) -> None:
    pair = make_pair(interleaving=interleaving)
    sid = open_channel(pair)
    pair.a._cwnd = 1 << 20
    rng = __import__("random").Random(3)
    for _ in range(300):
        pair.a.send(sid, bytes(rng.randint(1, 700)))
    packets = pair.a.datagrams_to_send(pair.network.now)
    assert all(len(p) <= 1200 for p in packets)
    assert max(len(p) for p in packets) >= 1150  # small messages share packets
    chunks = [c for p in packets for c in Packet.parse(p).chunks]
    assert 300 <= len(chunks) <= 310 and len(packets) < 150  # a few messages split


def test_max_burst_limits_new_packets_per_call() -> None:
    pair = make_pair(max_burst=4)
    sid = open_channel(pair)
    pair.a._cwnd = 1 << 20
    pair.a.set_remote_max_message_size(0)
    pair.a.send(sid, bytes(100_000))
    assert len(pair.a.datagrams_to_send(pair.network.now)) == 4
    pair.network.run(lambda: len(pair.received_b) == 1, timeout=30)
    assert pair.a.max_channels == 65535


def test_idle_path_decays_cwnd() -> None:
    pair = make_pair()
    sid = open_channel(pair)
    pair.a.set_remote_max_message_size(0)
    for _ in range(20):
        pair.a.send(sid, bytes(60_000))
    pair.network.run(lambda: len(pair.received_b) == 20, timeout=60)
    grown = pair.a._cwnd
    assert grown > 4 * 1200 * 4
    pair.network.advance(30.0)  # idle for many RTOs
    pair.a.send(sid, b"after a pause")
    pair.a.datagrams_to_send(pair.network.now)
    assert pair.a._cwnd == 4 * 1200


def test_rto_follows_the_measured_round_trip() -> None:
    pair = make_pair(LinkConfig(delay=0.3), rto_min=0.1)
    sid = open_channel(pair)
    for _ in range(30):
        pair.a.send(sid, bytes(3000))
    pair.network.run(lambda: len(pair.received_b) == 30, timeout=60)
    srtt = pair.a.smoothed_round_trip_time
    assert srtt is not None and 0.6 <= srtt <= 0.85  # 2 x 300 ms (+ SACK delay at most)
    assert pair.a._rto == pytest.approx(
        max(0.1, min(60.0, srtt + 4 * pair.a._rttvar)), rel=1e-9
    )
    assert pair.a._rto >= srtt
