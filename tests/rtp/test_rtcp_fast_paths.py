"""parse_rtcp reads the usual start of a compound (an SR or RR with one report
block, then an SDES with one item) without its general loop: that shortcut must
give exactly what the general loop gives, which it takes for any packet not at
the start of the datagram."""

from __future__ import annotations

import dataclasses
import random

import pytest
from aiortc import rtp as aiortc_rtp
from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.rtp import (
    ApplicationDefined,
    Goodbye,
    PictureLossIndication,
    ReceiverReport,
    ReportBlock,
    RtpParseError,
    SdesChunk,
    SenderReport,
    SourceDescription,
    parse_rtcp,
)

# A first packet the shortcut never takes: everything after it goes through the
# general loop.
GENERAL_LOOP_PREFIX = bytes(Goodbye((0x99,)))

u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 2**64 - 1)
blocks = st.builds(
    ReportBlock, u32, u8, st.integers(-(2**23), 2**23 - 1), u32, u32, u32, u32
)
extensions = st.one_of(st.just(b""), st.binary(min_size=1, max_size=12).map(
    lambda b: b + bytes(-len(b) % 4)))
block_lists = st.one_of(
    st.lists(blocks, min_size=1, max_size=1), st.lists(blocks, max_size=3)
).map(tuple)
first_packets = st.one_of(
    st.builds(SenderReport, u32, u64, u32, u32, u32, block_lists, extensions),
    st.builds(ReceiverReport, u32, block_lists, extensions),
    st.builds(PictureLossIndication, u32, u32),  # a reduced-size packet (RFC 5506)
)
items = st.tuples(st.integers(1, 255), st.binary(max_size=40))
sdes_packets = st.one_of(
    st.builds(SdesChunk, u32, st.lists(items, min_size=1, max_size=1).map(tuple)).map(
        lambda chunk: SourceDescription((chunk,))
    ),
    st.lists(st.builds(SdesChunk, u32, st.lists(items, max_size=3).map(tuple)), max_size=3)
    .map(lambda chunks: SourceDescription(tuple(chunks))),
)
later_packets = st.lists(
    st.one_of(
        st.builds(ApplicationDefined, st.integers(0, 31), u32, st.just(b"TEST"), st.just(b"")),
        st.builds(Goodbye, st.lists(u32, max_size=2).map(tuple)),
        st.builds(ReceiverReport, u32, block_lists),
    ),
    max_size=2,
)


def with_padding_bit(packet: bytes, padding: int) -> bytes:
    """``packet`` with ``padding`` octets of RTCP padding (RFC 3550 §6.4.1, P bit)."""
    words = (len(packet) + padding) // 4 - 1
    return (
        bytes((packet[0] | 0x20, packet[1])) + words.to_bytes(2, "big") + packet[4:]
        + bytes(padding - 1) + bytes((padding,))
    )


@st.composite
def compounds(draw: st.DrawFn) -> bytes:
    parts = [bytes(draw(first_packets))]
    if draw(st.booleans()):
        parts.append(bytes(draw(sdes_packets)))
    if draw(st.booleans()):  # the padding bit on one of them
        index = draw(st.integers(0, len(parts) - 1))
        parts[index] = with_padding_bit(parts[index], draw(st.sampled_from([4, 8])))
    parts += [bytes(p) for p in draw(later_packets)]
    return b"".join(parts)


def mutate(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        if buffer and choice < 0.7:
            buffer[rng.randrange(min(len(buffer), 80))] = rng.randrange(256)
        elif choice < 0.85:
            del buffer[rng.randrange(len(buffer) + 1):]
        else:
            buffer += rng.randbytes(rng.randint(1, 8))
    return bytes(buffer)


def outcome(data: bytes) -> list[tuple[type, object, bytes, object]] | str:
    """What parse_rtcp makes of ``data``: per packet its exact type, the packet,
    its bytes and (for SDES, decoded on first access) its chunks; or the error."""
    try:
        packets = parse_rtcp(data)
    except RtpParseError:
        return "RtpParseError"
    return [
        (type(p), p, bytes(p), p.chunks if isinstance(p, SourceDescription) else None)
        for p in packets
    ]


def through_general_loop(data: bytes) -> list[tuple[type, object, bytes, object]] | str:
    result = outcome(GENERAL_LOOP_PREFIX + data)
    if isinstance(result, str):
        return result
    assert result[0][1] == Goodbye((0x99,))
    return result[1:]


@settings(max_examples=300, deadline=None)
@given(compounds(), st.randoms(use_true_random=False))
def test_the_shortcut_parses_as_the_general_loop(data: bytes, rng: random.Random) -> None:
    for candidate in (data, mutate(data, rng)):
        if not candidate:
            continue  # (empty: an error alone, but nothing after the prefix)
        ours = outcome(candidate)
        assert ours == through_general_loop(candidate)
        if not isinstance(ours, str):
            assert b"".join(raw for _, _, raw, _ in ours) == candidate


@pytest.mark.parametrize("length", range(9))  # the item then 4, 3, 2 and 1 null octets
@pytest.mark.parametrize(
    "first",
    [
        SenderReport(1, 2, 3, 4, 5, (ReportBlock(6, 7, -8, 9, 10, 11, 12),)),
        ReceiverReport(1, (ReportBlock(6, 255, 2**23 - 1, 9, 10, 11, 12),)),
    ],
)
def test_usual_compound_every_sdes_padding(first: object, length: int) -> None:
    sdes = SourceDescription((SdesChunk(0x11223344, ((1, b"c" * length),)),))
    data = bytes(first) + bytes(sdes)  # type: ignore[call-overload]
    parsed = parse_rtcp(data)
    assert parsed == [first, sdes]
    assert [type(p) for p in parsed] == [type(first), SourceDescription]
    assert [bytes(p) for p in parsed] == [bytes(first), bytes(sdes)]  # type: ignore[call-overload]
    assert parsed[1].chunks == sdes.chunks  # type: ignore[union-attr]
    assert outcome(data) == through_general_loop(data)


def test_parsed_packets_are_the_frozen_types() -> None:
    sr = SenderReport(1, 2, 3, 4, 5, (ReportBlock(6, 7, -8, 9, 10, 11, 12),))
    sdes = SourceDescription((SdesChunk(1, ((1, b"cname"),)),))
    parsed_sr, parsed_sdes = parse_rtcp(bytes(sr) + bytes(sdes))
    assert type(parsed_sr) is SenderReport and type(parsed_sdes) is SourceDescription
    assert hash(parsed_sr) == hash(sr)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed_sr.ssrc = 9  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed_sdes.chunks = ()  # type: ignore[misc]
    assert dataclasses.replace(parsed_sr, ssrc=9) == dataclasses.replace(sr, ssrc=9)
    assert bytes(dataclasses.replace(parsed_sdes)) == bytes(sdes)


def test_receiver_report_and_sdes_from_aiortc() -> None:
    rr = aiortc_rtp.RtcpRrPacket(
        ssrc=0x01020304,
        reports=[
            aiortc_rtp.RtcpReceiverInfo(
                ssrc=5, fraction_lost=200, packets_lost=-70000, highest_sequence=123456,
                jitter=99, lsr=0xAABBCCDD, dlsr=1,
            )
        ],
    )
    sdes = aiortc_rtp.RtcpSdesPacket(
        chunks=[aiortc_rtp.RtcpSourceInfo(ssrc=0x01020304, items=[(1, b"{receiver}")])]
    )
    data = bytes(rr) + bytes(sdes)
    report, description = parse_rtcp(data)
    assert report == ReceiverReport(
        0x01020304, (ReportBlock(5, 200, -70000, 123456, 99, 0xAABBCCDD, 1),)
    )
    assert description == SourceDescription((SdesChunk(0x01020304, ((1, b"{receiver}"),)),))
    assert bytes(report) + bytes(description) == data


USUAL_SR = bytes(SenderReport(1, 2, 3, 4, 5, (ReportBlock(6, 7, 8, 9, 10, 11, 12),)))
SSRC = b"\x00\x00\x00\x01"


def test_well_formed_sdes_after_the_usual_report() -> None:
    for sdes in (
        b"\x81\xca\x00\x03" + SSRC + b"\x01\x02ab" + b"\x00\x00\x00\x00",
        b"\x81\xca\x00\x03" + SSRC + b"\x01\x03abc" + b"\x00\x00\x00",
        b"\x81\xca\x00\x02" + SSRC + b"\x01\x01a" + b"\x00",
    ):
        sr, description = parse_rtcp(USUAL_SR + sdes)
        assert bytes(sr) + bytes(description) == USUAL_SR + sdes
        assert description.chunks[0].items[0][0] == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "sdes",
    [
        b"\x81\xca\x00\x03" + SSRC + b"\x01\x02ab" + b"\x00\x00\x00\x01",  # padding not null
        b"\x81\xca\x00\x03" + SSRC + b"\x01\x02ab" + b"\x00\x01\x00\x00",  # padding not null
        b"\x81\xca\x00\x03" + SSRC + b"\x01\x03abc" + b"\x00\x00\x01",  # padding not null
        b"\x81\xca\x00\x03" + SSRC + b"\x01\x06abcdef",  # item list not ended
        b"\x81\xca\x00\x03" + SSRC + b"\x01\x04abcd" + b"\x05\x00",  # nor after a 2nd item
        b"\x81\xca\x00\x03" + SSRC + b"\x01\x07abcdef",  # item past the packet
        b"\x81\xca\x00\x04" + SSRC + b"\x01\x02ab" + b"\x00\x00\x00\x00",  # past the end
        b"\x41\xca\x00\x03" + SSRC + b"\x01\x02ab" + b"\x00\x00\x00\x00",  # version 1
        b"\x82\xca\x00\x03" + SSRC + b"\x01\x02ab" + b"\x00\x00\x00\x00",  # 2 chunks, 1 there
        b"\x80\xca\x00\x03" + SSRC + b"\x01\x02ab" + b"\x00\x00\x00\x00",  # 0 chunks, 1 there
        b"\x81\xca\x00\x02" + SSRC + b"\x00\x01\x00\x00",  # no item, padding not null
    ],
)
def test_malformed_sdes_after_the_usual_report_raises(sdes: bytes) -> None:
    with pytest.raises(RtpParseError):
        parse_rtcp(USUAL_SR + sdes)


@pytest.mark.parametrize(
    "report",
    [
        SenderReport(1, 2, 3, 4, 5, (ReportBlock(6, 7, 8, 9, 10, 11, 4),)),
        ReceiverReport(1, (ReportBlock(6, 7, 8, 9, 10, 11, 4),)),
    ],
)
def test_usual_report_with_the_padding_bit_and_no_room_for_it_raises(report: object) -> None:
    # the length still says one block, but 4 octets of padding (the last one
    # is the count) leave too little room for it
    data = bytearray(bytes(report))  # type: ignore[call-overload]
    data[0] |= 0x20
    with pytest.raises(RtpParseError):
        parse_rtcp(bytes(data))
    with pytest.raises(RtpParseError):
        parse_rtcp(bytes(data) + bytes(SourceDescription((SdesChunk(1, ((1, b"a"),)),))))
