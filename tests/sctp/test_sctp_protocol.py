"""Protocol edge cases: unknown chunks and parameters, RE-CONFIG, INIT collisions."""

from __future__ import annotations

import random

import pytest
from sctp_helpers import make_pair

from webrtc.sctp import AssociationState, ChannelOpened
from webrtc.sctp.packet import (
    DataChunk,
    ErrorChunk,
    InitAckChunk,
    InitChunk,
    Packet,
    RawParameter,
    ReconfigChunk,
    ReconfigResponse,
    SackChunk,
    UnknownChunk,
    parse_parameters,
)
from webrtc.testing import LinkConfig


def chunks_of(packets: list[bytes]) -> list[object]:
    return [c for p in packets for c in Packet.parse(p).chunks]


@pytest.mark.parametrize(
    ("ctype", "processes_rest", "reports"),
    [(0x3F, False, False), (0x7F, False, True), (0xBF, True, False), (0xFF, True, True)],
)
def test_unknown_chunk_upper_bits(ctype: int, processes_rest: bool, reports: bool) -> None:
    pair = make_pair()
    sid = pair.a.open_channel("u")
    pair.network.run(lambda: bool(pair.events("b", ChannelOpened)), timeout=5)
    pair.network.advance(1.0)
    b = pair.b
    tsn = pair.a._next_tsn & 0xFFFFFFFF
    packet = Packet(5000, 5000, b._local_tag, (
        UnknownChunk(ctype, 0, b"mystery"),
        DataChunk(tsn, sid, 1, 51, b"after the unknown chunk"),
    ))
    b.receive_datagram(bytes(packet), pair.network.now)
    delivered = [m.data for m in pair.received_b]
    b.handle_timer(pair.network.now + 1)
    out = chunks_of(b.datagrams_to_send(pair.network.now + 1))
    while (event := b.next_event()) is not None:
        delivered.append(event.data)  # type: ignore[attr-defined]
    assert (b"after the unknown chunk" in delivered) == processes_rest
    errors = [c for c in out if isinstance(c, ErrorChunk)]
    assert bool(errors) == reports
    if reports:
        ((cause, value),) = errors[0].causes
        assert cause == 6 and value.startswith(bytes([ctype]))


def test_unrecognized_init_parameters_are_reported() -> None:
    pair = make_pair(connect=False, start="none")
    init = InitChunk(1234, 100_000, 10, 10, 77, (
        (0x8000, b""),  # ECN: known, ignored
        (0xC00A, b"report me"),  # 11: skip and report
        (0x800B, b"skip me"),  # 10: skip silently
        (0x8008, bytes((0xC0, 0x82))),
    ))
    pair.b.receive_datagram(bytes(Packet(5000, 5000, 0, (init,))), 0.0)
    (ack,) = chunks_of(pair.b.datagrams_to_send(0.0))
    assert isinstance(ack, InitAckChunk)
    reported = [parse_parameters(v) for t, v in ack.params if t == 8]
    assert reported == [((0xC00A, b"report me"),)]
    assert ack.param(7) is not None  # the state cookie


def test_add_streams_request_is_denied() -> None:
    pair = make_pair()
    b = pair.b
    seq = b._peer_reconfig_seq
    request = RawParameter(17, seq.to_bytes(4, "big") + b"\x00\x10\x00\x00")
    packet = Packet(5000, 5000, b._local_tag, (ReconfigChunk((request,)),))
    b.receive_datagram(bytes(packet), pair.network.now)
    out = chunks_of(b.datagrams_to_send(pair.network.now))
    (reply,) = [c for c in out if isinstance(c, ReconfigChunk)]
    assert reply.params == (ReconfigResponse(seq, ReconfigResponse.DENIED),)


@pytest.mark.parametrize("seed", range(12))
def test_init_collisions_always_converge(seed: int) -> None:
    rng = random.Random(seed)
    link = LinkConfig(delay=rng.uniform(0.001, 0.1), jitter=0.02, loss=rng.choice([0, 0.2]),
                      duplicate=0.1, reorder=0.2)
    pair = make_pair(link, seed=seed, start="a", connect=False)
    # The second side starts at an arbitrary moment of the first one's handshake.
    pair.network.advance(rng.uniform(0, 0.3))
    pair.b.start(pair.network.now)
    pair.network.run(pair.established, timeout=600)
    assert pair.a._peer_tag == pair.b._local_tag and pair.b._peer_tag == pair.a._local_tag
    sid = pair.a.open_channel("after-collision")
    pair.a.send(sid, "hello")
    pair.network.run(lambda: len(pair.received_b) == 1, timeout=120)
    assert pair.a.state is pair.b.state is AssociationState.ESTABLISHED


def test_sack_with_stale_cumulative_tsn_is_ignored() -> None:
    pair = make_pair()
    sid = pair.a.open_channel("s")
    pair.network.run(lambda: bool(pair.events("b", ChannelOpened)), timeout=5)
    pair.network.advance(1.0)
    before = pair.a._cum_ack
    stale = SackChunk((before - 1000) & 0xFFFFFFFF, 1 << 20)
    pair.a.receive_datagram(
        bytes(Packet(5000, 5000, pair.a._local_tag, (stale,))), pair.network.now
    )
    assert pair.a._cum_ack == before
    pair.a.send(sid, "still fine")
    pair.network.run(lambda: len(pair.received_b) == 1, timeout=5)


def test_stale_cookie_restarts_the_handshake() -> None:
    pair = make_pair(start="a", connect=False)
    a, b = pair.a, pair.b
    (init,) = a.datagrams_to_send(0.0)
    b.receive_datagram(init, 0.0)
    (init_ack,) = b.datagrams_to_send(0.0)
    a.receive_datagram(init_ack, 0.0)
    (cookie_echo,) = a.datagrams_to_send(0.0)
    # The COOKIE ECHO reaches b long after the cookie's 60 s lifetime.
    b.receive_datagram(cookie_echo, 100.0)
    assert b.state is AssociationState.CLOSED
    (error_packet,) = b.datagrams_to_send(100.0)
    (error,) = Packet.parse(error_packet).chunks
    assert isinstance(error, ErrorChunk) and error.causes[0][0] == 3  # Stale Cookie
    a.receive_datagram(error_packet, 100.0)
    assert a.state is AssociationState.COOKIE_WAIT
    (new_init,) = chunks_of(a.datagrams_to_send(100.0))
    assert isinstance(new_init, InitChunk)
    # And the handshake completes from there.
    pair.network.now = 100.0
    pair.network.run(pair.established, timeout=30)


def test_retransmitted_cookie_echo_after_lifetime_still_gets_cookie_ack() -> None:
    pair = make_pair(start="a", connect=False)
    a, b = pair.a, pair.b
    (init,) = a.datagrams_to_send(0.0)
    b.receive_datagram(init, 0.0)
    (init_ack,) = b.datagrams_to_send(0.0)
    a.receive_datagram(init_ack, 0.0)
    (cookie_echo,) = a.datagrams_to_send(0.0)
    b.receive_datagram(cookie_echo, 1.0)
    assert b.state is AssociationState.ESTABLISHED
    b.datagrams_to_send(1.0)  # its COOKIE ACK is lost
    b.receive_datagram(cookie_echo, 90.0)  # a retransmits the same cookie much later
    (ack_packet,) = b.datagrams_to_send(90.0)
    from webrtc.sctp.packet import CookieAckChunk

    assert isinstance(Packet.parse(ack_packet).chunks[0], CookieAckChunk)
    a.receive_datagram(ack_packet, 90.0)
    assert a.state is AssociationState.ESTABLISHED


def test_hostile_sack_and_far_tsn_are_bounded() -> None:
    pair = make_pair()
    a, b = pair.a, pair.b
    # 300 gap blocks each claiming 65535 TSNs: only TSNs actually sent are visited.
    sack = SackChunk((a._cum_ack) & 0xFFFFFFFF, 1 << 20, tuple((1, 0xFFFF) for _ in range(280)))
    a.receive_datagram(bytes(Packet(5000, 5000, a._local_tag, (sack,))), pair.network.now)
    assert a.state is AssociationState.ESTABLISHED and a.dropped_packets == 0
    # A DATA chunk 2**20 TSNs ahead cannot be reported by a SACK: dropped.
    far = DataChunk((b._peer_cum + (1 << 20)) & 0xFFFFFFFF, 1, 0, 53, b"x")
    b.receive_datagram(bytes(Packet(5000, 5000, b._local_tag, (far,))), pair.network.now)
    assert not b._ooo
