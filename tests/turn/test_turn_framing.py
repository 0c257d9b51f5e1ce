"""ChannelData messages and STUN/ChannelData stream framing (RFC 8656 section 12)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.errors import ParseError
from webrtc.ice.turn_framing import (
    CHANNEL_MAX,
    CHANNEL_MIN,
    ChannelData,
    StreamDeframer,
    TurnParseError,
    encode_channel_data,
    is_channel_data,
)

channels = st.integers(CHANNEL_MIN, CHANNEL_MAX)
payloads = st.binary(max_size=300)


def stun_message(body: bytes, method: int = 0x0001) -> bytes:
    """A STUN-shaped frame: header with the body length, then the (4-aligned) body."""
    assert len(body) % 4 == 0
    return struct.pack("!HHI12s", method, len(body), 0x2112A442, b"t" * 12) + body


def test_wire_format() -> None:
    message = ChannelData(0x4001, b"hello")
    assert bytes(message) == b"\x40\x01\x00\x05hello"
    assert message.encode(pad=True) == b"\x40\x01\x00\x05hello\x00\x00\x00"
    assert ChannelData.parse(b"\x40\x01\x00\x05hello\x00\x00\x00") == message
    assert is_channel_data(bytes(message))
    assert not is_channel_data(stun_message(b""))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x40\x00\x00",
        b"\x3f\xff\x00\x00",  # below the channel range
        b"\x50\x00\x00\x00",  # above it (RFC 8656 narrowed RFC 5766's range)
        b"\x40\x00\x00\x05abc",  # shorter than Length
        b"\x40\x00\x00\x01a\x00\x00\x00\x00",  # more than padding follows
    ],
)
def test_malformed(data: bytes) -> None:
    with pytest.raises(TurnParseError):
        ChannelData.parse(data)


def test_constructor_checks() -> None:
    with pytest.raises(ValueError):
        ChannelData(0x5000, b"")
    with pytest.raises(ValueError):
        ChannelData(0x4000, bytes(0x10000))


@settings(max_examples=200, deadline=None)
@given(channels, payloads, st.booleans())
def test_round_trip(channel: int, data: bytes, pad: bool) -> None:
    encoded = encode_channel_data(channel, data, pad)
    assert len(encoded) % 4 == 0 or not pad
    assert ChannelData.parse(encoded) == ChannelData(channel, data)
    assert ChannelData.parse(bytes(ChannelData(channel, data))) == ChannelData(channel, data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    try:
        message = ChannelData.parse(data)
    except ParseError:
        return
    assert ChannelData.parse(bytes(message)) == message


frames = st.one_of(
    st.tuples(st.just("channel"), channels, payloads),
    st.tuples(
        st.just("stun"),
        st.integers(0, 0x3FFF),
        st.binary(max_size=120).map(lambda b: b[: len(b) & ~3]),
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(frames, max_size=12), st.lists(st.integers(1, 64), min_size=1, max_size=30))
def test_stream_deframer_any_split(items: list[tuple[str, int, bytes]], cuts: list[int]) -> None:
    """Whatever way TCP splits the stream, the deframer returns the same messages."""
    expected: list[bytes] = []
    stream = b""
    for kind, number, body in items:
        if kind == "channel":
            expected.append(encode_channel_data(number, body))
            stream += encode_channel_data(number, body, pad=True)
        else:
            message = stun_message(body, number)
            expected.append(message)
            stream += message
    deframer = StreamDeframer()
    received: list[bytes] = []
    offset = 0
    index = 0
    while offset < len(stream):
        size = cuts[index % len(cuts)]
        received += deframer.feed(stream[offset : offset + size])
        offset += size
        index += 1
    assert received == expected
    assert deframer.buffered == 0


def test_stream_deframer_rejects_garbage() -> None:
    deframer = StreamDeframer()
    assert deframer.feed(b"\x40\x00\x00\x01") == []
    assert deframer.feed(b"x\x00\x00\x00") == [b"\x40\x00\x00\x01x"]
    with pytest.raises(TurnParseError):
        deframer.feed(b"\x80\x00\x00\x00")
    with pytest.raises(TurnParseError):
        deframer.feed(b"")
    misaligned = StreamDeframer()
    with pytest.raises(TurnParseError):
        misaligned.feed(b"\x00\x01\x00\x03")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=6))
def test_stream_deframer_arbitrary_bytes(chunks: list[bytes]) -> None:
    deframer = StreamDeframer()
    for chunk in chunks:
        try:
            deframer.feed(chunk)
        except ParseError:
            return
