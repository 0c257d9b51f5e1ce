"""Wire formats: round-trips, RFC checksum vector, arbitrary input."""

from __future__ import annotations

import contextlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from sctp_helpers import make_pair

from webrtc.errors import ParseError
from webrtc.sctp import SctpParseError
from webrtc.sctp.dcep import DataChannelAck, DataChannelOpen, parse_dcep
from webrtc.sctp.packet import (
    AbortChunk,
    CookieAckChunk,
    CookieEchoChunk,
    DataChunk,
    ErrorChunk,
    ForwardTsnChunk,
    HeartbeatAckChunk,
    HeartbeatChunk,
    IDataChunk,
    IForwardTsnChunk,
    IncomingResetRequest,
    InitAckChunk,
    InitChunk,
    OutgoingResetRequest,
    Packet,
    RawParameter,
    ReconfigChunk,
    ReconfigResponse,
    SackChunk,
    ShutdownAckChunk,
    ShutdownChunk,
    ShutdownCompleteChunk,
    UnknownChunk,
    checksum,
    parse_chunks,
)
from webrtc.testing import LinkConfig

u32 = st.integers(0, 2**32 - 1)
u16 = st.integers(0, 2**16 - 1)
small_bytes = st.binary(max_size=64)
params = st.lists(st.tuples(u16, small_bytes), max_size=4).map(tuple)
flags4 = st.booleans()

chunks = st.one_of(
    st.builds(DataChunk, u32, u16, u16, u32, st.binary(min_size=1, max_size=64),
              flags4, flags4, flags4, flags4),
    st.builds(IDataChunk, u32, u16, u32, u32, st.binary(min_size=1, max_size=64),
              flags4, flags4, flags4, flags4),
    st.builds(InitChunk, u32, u32, u16, u16, u32, params),
    st.builds(InitAckChunk, u32, u32, u16, u16, u32, params),
    st.builds(SackChunk, u32, u32, st.lists(st.tuples(u16, u16), max_size=5).map(tuple),
              st.lists(u32, max_size=5).map(tuple)),
    st.builds(HeartbeatChunk, params),
    st.builds(HeartbeatAckChunk, params),
    st.builds(AbortChunk, params, st.booleans()),
    st.builds(ErrorChunk, params),
    st.builds(ShutdownChunk, u32),
    st.builds(ShutdownAckChunk),
    st.builds(ShutdownCompleteChunk, st.booleans()),
    st.builds(CookieEchoChunk, small_bytes),
    st.builds(CookieAckChunk),
    st.builds(ForwardTsnChunk, u32, st.lists(st.tuples(u16, u16), max_size=5).map(tuple)),
    st.builds(IForwardTsnChunk, u32,
              st.lists(st.tuples(u16, st.booleans(), u32), max_size=5).map(tuple)),
    st.builds(
        ReconfigChunk,
        st.lists(
            st.one_of(
                st.builds(OutgoingResetRequest, u32, u32, u32,
                          st.lists(u16, max_size=6).map(tuple)),
                st.builds(IncomingResetRequest, u32, st.lists(u16, max_size=6).map(tuple)),
                st.builds(ReconfigResponse, u32, u32),
                st.builds(ReconfigResponse, u32, u32, u32, u32),
                st.builds(RawParameter, st.sampled_from([15, 17, 18, 99]), small_bytes),
            ),
            max_size=2,
        ).map(tuple),
    ),
    st.builds(UnknownChunk, st.sampled_from([0x3F, 0x7F, 0xBF, 0xFF, 0x80]), st.integers(0, 255),
              small_bytes),
)


@settings(max_examples=300, deadline=None)
@given(chunks)
def test_chunk_round_trip(chunk: object) -> None:
    data = bytes(chunk)  # type: ignore[call-overload]
    assert len(data) % 4 == 0
    assert parse_chunks(data) == (chunk,)


@settings(max_examples=100, deadline=None)
@given(u16, u16, u32, st.lists(chunks, max_size=4))
def test_packet_round_trip(sport: int, dport: int, tag: int, chunk_list: list[object]) -> None:
    packet = Packet(sport, dport, tag, tuple(chunk_list))  # type: ignore[arg-type]
    data = bytes(packet)
    assert Packet.parse(data) == packet


def test_checksum_matches_a_known_packet() -> None:
    # An INIT captured from a Linux SCTP stack (port 5000 -> 5000, vtag 0).
    raw = bytes.fromhex(
        "138813880000000000000000"  # header, checksum zeroed below
        "0100001461a3ab5f00020000000a00ffb9a6c0ad"
    )
    # CRC32c of the standard test string "123456789" is 0xE3069283.
    from crc32c import crc32c

    assert crc32c(b"123456789") == 0xE3069283
    value = checksum(raw)
    stamped = raw[:8] + value.to_bytes(4, "little") + raw[12:]
    assert Packet.parse(stamped).chunks[0] == InitChunk(0x61A3AB5F, 0x20000, 10, 255, 0xB9A6C0AD)
    corrupted = stamped[:-1] + bytes([stamped[-1] ^ 1])
    try:
        Packet.parse(corrupted)
    except SctpParseError:
        pass
    else:
        raise AssertionError("bad checksum accepted")


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    for parse in (
        lambda d: Packet.parse(d),
        lambda d: Packet.parse(d, verify_checksum=False),
        parse_chunks,
        parse_dcep,
    ):
        try:
            parse(data)
        except SctpParseError as exc:
            assert isinstance(exc, ParseError)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_chunk_bodies_raise_only_parse_error(body: bytes) -> None:
    # Valid checksum around garbage, so parsing goes past the header.
    data = bytes(Packet(1, 2, 3)) + body
    data = data[:8] + checksum(data).to_bytes(4, "little") + data[12:]
    with contextlib.suppress(SctpParseError):
        Packet.parse(data)


def test_dcep_round_trip() -> None:
    message = DataChannelOpen.for_channel("l\u00e9", "p", False, 3, None, 256)
    assert parse_dcep(bytes(message)) == message
    assert message.max_retransmits == 3 and not message.ordered
    timed = DataChannelOpen.for_channel("", "", True, None, 1500, 128)
    assert parse_dcep(bytes(timed)).max_packet_life_time == 1500  # type: ignore[union-attr]
    assert parse_dcep(b"\x02") == DataChannelAck()


@settings(max_examples=300, deadline=None)
@given(st.lists(chunks, min_size=1, max_size=4), st.booleans(), st.integers(0, 3), st.booleans())
def test_association_never_raises_on_any_chunks(
    chunk_list: list[object], good_tag: bool, junk: int, interleaving: bool
) -> None:
    pair = make_pair(seed=1, interleaving=interleaving)
    a, b = pair.a, pair.b
    sid = a.open_channel("f")
    a.send(sid, bytes(3000))
    pair.network.advance(0.05)
    tag = b._local_tag if good_tag else random.Random(junk).getrandbits(32)
    data = bytes(Packet(5000, 5000, tag, tuple(chunk_list)))  # type: ignore[arg-type]
    data += bytes(junk)
    # The internal entry point may raise only the parse error, which
    # receive_datagram counts as a dropped packet; anything else is a bug.
    with contextlib.suppress(SctpParseError):
        b._receive(data, pair.network.now)
    b.receive_datagram(data, pair.network.now)
    # It keeps working afterwards (or closed with an event, never raised).
    pair.network.advance(5.0)
    b.datagrams_to_send(pair.network.now)
    b.handle_timer(pair.network.now + 100)
    while b.next_event() is not None:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_association_never_raises_on_any_bytes(data: bytes) -> None:
    pair = make_pair(seed=2, connect=False)
    stamped = data
    if len(data) >= 12:
        stamped = data[:8] + checksum(data).to_bytes(4, "little") + data[12:]
    for packet in (data, stamped):
        with contextlib.suppress(SctpParseError):
            pair.b._receive(packet, 0.0)
        pair.b.receive_datagram(packet, 0.0)
    pair.b.datagrams_to_send(0.0)


def _recorded_packets() -> list[bytes]:
    """Real packets from a short exchange: DATA, SACK, DCEP, RE-CONFIG, FORWARD TSN."""
    pair = make_pair(LinkConfig(delay=0.01, loss=0.1), seed=5)
    packets: list[bytes] = []
    original = pair.node_a.transmit

    def spy(now: float) -> list[tuple[tuple[str, int], tuple[str, int], bytes]]:
        out = original(now)
        packets.extend(data for _, _, data in out)
        return out

    pair.node_a.transmit = spy  # type: ignore[method-assign]
    reliable = pair.a.open_channel("r")
    lossy = pair.a.open_channel("l", ordered=False, max_retransmits=0)
    for i in range(30):
        pair.a.send(reliable, bytes([i]) * (i * 300 + 1))
        pair.a.send(lossy, bytes(700))
    pair.a.close_channel(reliable)
    pair.network.advance(20.0)
    return packets


_RECORDED: list[bytes] = []


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 10_000),
    st.lists(st.tuples(st.integers(12, 1199), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(-8, 8),
)
def test_mutated_real_packets_never_break_the_association(
    which: int, edits: list[tuple[int, int]], resize: int
) -> None:
    if not _RECORDED:
        _RECORDED.extend(_recorded_packets())
    packet = bytearray(_RECORDED[which % len(_RECORDED)])
    for position, value in edits:
        if position < len(packet):
            packet[position] = value
    if resize > 0:
        packet += bytes(resize)
    elif resize < 0:
        del packet[resize:]
    data = bytes(packet)
    if len(data) >= 12:
        data = data[:8] + checksum(data).to_bytes(4, "little") + data[12:]
    # A fresh receiver that shares b's tags: rebuild the pair deterministically.
    pair = make_pair(LinkConfig(delay=0.01, loss=0.1), seed=5)
    b = pair.b
    with contextlib.suppress(SctpParseError):
        b._receive(data, pair.network.now)
    b.receive_datagram(data, pair.network.now)
    b.handle_timer(pair.network.now + 50)
    b.datagrams_to_send(pair.network.now + 50)
