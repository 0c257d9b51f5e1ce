"""The parser's shortcuts: shared one-byte extension layouts, extension values
read in place by the typed getters, and ``bytes()`` of an untouched packet.

Each is checked against the plain decoder (:func:`decode_extensions`) and the
general serializer, on packets built to hit the shortcuts and to miss them.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.rtp import HeaderExtensionMap, RtpPacket, RtpParseError
from webrtc.rtp import extensions as ext
from webrtc.rtp.packet import ONE_BYTE_PROFILE, decode_extensions

SETTINGS = settings(max_examples=150, deadline=None)
PAIRS = [(1, ext.MID), (2, ext.ABS_SEND_TIME), (3, ext.TRANSPORT_WIDE_CC),
         (4, ext.RTP_STREAM_ID), (5, ext.TRANSMISSION_OFFSET), (6, ext.PLAYOUT_DELAY)]
GETTERS = ["get_mid", "get_abs_send_time", "get_transport_sequence_number", "get_rtp_stream_id",
           "get_transmission_offset", "get_playout_delay"]


def packet_with_block(block: bytes, csrc_count: int = 0, payload: bytes = b"xyz",
                      profile: int = ONE_BYTE_PROFILE) -> bytes:
    header = bytes((0x90 | csrc_count, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3))
    header += bytes(4 * csrc_count)
    return (header + profile.to_bytes(2, "big")
            + (len(block) // 4).to_bytes(2, "big") + block + payload)


def typed_values(extension_map: HeaderExtensionMap, packet: RtpPacket) -> list[object]:
    """Each getter's value, or the error it raised."""
    values: list[object] = []
    for name in GETTERS:
        try:
            values.append(getattr(extension_map, name)(packet))
        except RtpParseError as exc:
            values.append(("error", str(exc)))
    return values


one_byte_elements = st.one_of(
    st.just(b"\x00"),  # padding
    st.just(b"\xf0"),  # id 15: stops the decoder
    st.tuples(st.integers(1, 14), st.binary(min_size=1, max_size=16)).map(
        lambda e: bytes(((e[0] << 4) | (len(e[1]) - 1),)) + e[1]
    ),
)


@SETTINGS
@given(st.lists(one_byte_elements, min_size=1, max_size=6), st.data())
def test_blocks_sharing_a_layout_key_decode_as_the_decoder(
    elements: list[bytes], data: st.DataObject
) -> None:
    # The layout cache is keyed by the block's position, length and first
    # octet; a second block with the same key but other element headers must
    # not be decoded with the first one's layout.
    first = b"".join(elements)
    first += bytes(-len(first) % 4)
    second = data.draw(st.binary(min_size=len(first) - 1, max_size=len(first) - 1))
    second = first[:1] + second
    extension_map = HeaderExtensionMap(PAIRS)
    for block in (first, second, first):
        datagram = packet_with_block(block)
        parsed = RtpPacket.parse(datagram)
        lazy = typed_values(extension_map, parsed)  # read in place, nothing decoded yet
        assert bytes(parsed) == datagram
        assert parsed.extensions == decode_extensions(ONE_BYTE_PROFILE, block)
        assert typed_values(extension_map, parsed) == lazy  # from the decoded mapping
        assert bytes(parsed) == datagram
        assert parsed.payload == b"xyz"


def test_same_layout_at_another_offset() -> None:
    block = b"\x10\x30\x22\x12\x34\x56\x31\x10\xe1\x00\x00\x00"
    extension_map = HeaderExtensionMap(PAIRS)
    for csrc_count in (0, 2, 0, 15):
        datagram = packet_with_block(block, csrc_count)
        parsed = RtpPacket.parse(datagram)
        assert extension_map.get_mid(parsed) == "0"
        assert extension_map.get_abs_send_time(parsed) == 0x123456
        assert extension_map.get_transport_sequence_number(parsed) == 0x10E1
        assert parsed.csrc == (0,) * csrc_count
        assert bytes(parsed) == datagram


def test_wrong_sizes_raise_in_place_and_decoded() -> None:
    # abs-send-time of 2 bytes, transport-wide number of 3, MID not UTF-8
    block = b"\x21\x01\x02\x32\x01\x02\x03\x10\xff\x00\x00\x00"
    extension_map = HeaderExtensionMap(PAIRS)
    for decoded in (False, True):
        parsed = RtpPacket.parse(packet_with_block(block))
        if decoded:
            assert parsed.extensions[2] == b"\x01\x02"
        with pytest.raises(RtpParseError):
            extension_map.get_abs_send_time(parsed)
        with pytest.raises(RtpParseError):
            extension_map.get_transport_sequence_number(parsed)
        with pytest.raises(RtpParseError):
            extension_map.get_mid(parsed)


def test_getters_without_extensions_or_map_ids() -> None:
    parsed = RtpPacket.parse(bytes(RtpPacket(96, 1, 2, 3, b"p")))
    assert typed_values(HeaderExtensionMap(PAIRS), parsed) == [None] * len(GETTERS)
    with_block = RtpPacket.parse(packet_with_block(b"\x10\x30\x00\x00"))
    assert typed_values(HeaderExtensionMap(), with_block) == [None] * len(GETTERS)
    assert HeaderExtensionMap(PAIRS).get_abs_send_time(with_block) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda p: setattr(p, "sequence_number", p.sequence_number + 1),
        lambda p: setattr(p, "marker", True),
        lambda p: setattr(p, "payload", b"other"),
        lambda p: setattr(p, "padding", b"\x00\x02"),
        lambda p: setattr(p, "csrc", (7,)),
        lambda p: setattr(p, "extension_profile", 0x1000),
        lambda p: p.extensions.__setitem__(3, b"\x00\x09"),
        lambda p: p.extensions.pop(1),
        lambda p: p.extensions.clear(),
        lambda p: setattr(p, "extensions", {5: b"\x00\x00\x01"}),
    ],
)
def test_changes_after_parse_are_serialized(change: object) -> None:
    block = b"\x10\x30\x22\x12\x34\x56\x31\x10\xe1\x00\x00\x00"
    datagram = packet_with_block(block)
    parsed = RtpPacket.parse(datagram)
    expected = RtpPacket.parse(datagram)
    for packet in (parsed, expected):
        change(packet)  # type: ignore[operator]
    # the expected bytes come from the general serializer, fields copied over
    rebuilt = RtpPacket(
        expected.payload_type, expected.sequence_number, expected.timestamp, expected.ssrc,
        expected.payload, expected.marker, expected.csrc, dict(expected.extensions),
        expected.padding, expected.extension_profile,
    )
    assert bytes(parsed) != datagram
    assert bytes(parsed) == bytes(rebuilt)
    assert RtpPacket.parse(bytes(parsed)) == rebuilt


def test_setting_a_field_to_its_own_value_keeps_the_bytes() -> None:
    datagram = packet_with_block(b"\x10\x30\x00\x00", payload=b"abc\x00\x02")
    datagram = bytes((datagram[0] | 0x20,)) + datagram[1:]  # P bit: 2 padding octets
    parsed = RtpPacket.parse(datagram)
    parsed.sequence_number = parsed.sequence_number
    assert parsed.padding == b"\x00\x02"
    assert bytes(parsed) == datagram


def test_subclass_parse_keeps_the_subclass() -> None:
    class Tagged(RtpPacket):
        __slots__ = ()

    datagram = packet_with_block(b"\x10\x30\x00\x00")
    parsed = Tagged.parse(datagram)
    assert type(parsed) is Tagged
    assert bytes(parsed) == datagram
    parsed.extensions[1] = b"1"
    assert RtpPacket.parse(bytes(parsed)).extensions == {1: b"1"}


def test_many_layouts_do_not_break_decoding() -> None:
    # more distinct layouts than the cache holds: it is emptied, never wrong
    extension_map = HeaderExtensionMap(PAIRS)
    for words in range(1, 300):
        block = b"\x10\x30" + bytes(4 * words - 2)
        datagram = packet_with_block(block)
        parsed = RtpPacket.parse(datagram)
        assert extension_map.get_mid(parsed) == "0"
        assert bytes(parsed) == datagram
        with pytest.raises(RtpParseError):
            RtpPacket.parse(datagram[:-5])  # the block runs past the end


@pytest.mark.parametrize(
    "datagram",
    [
        packet_with_block(b"\x10\x30\x00\x00", payload=b"")[:-1],  # block cut short
        bytes((0xB0,)) + packet_with_block(b"\x10\x30\x00\x00", payload=b"ab\x00")[1:],  # count 0
        bytes((0xB0,)) + packet_with_block(b"\x10\x30\x00\x00", payload=b"ab\x09")[1:],  # too many
        bytes((0x50,)) + packet_with_block(b"\x10\x30\x00\x00")[1:],  # version 1
    ],
)
def test_malformed_packets_with_a_one_byte_block_raise(datagram: bytes) -> None:
    with pytest.raises(RtpParseError):
        RtpPacket.parse(datagram)


@pytest.mark.parametrize("payload", [b"", b"a", b"abcdefgh"])
def test_empty_one_byte_block(payload: bytes) -> None:
    datagram = packet_with_block(b"", payload=payload)
    parsed = RtpPacket.parse(datagram)
    assert parsed.extension_profile == ONE_BYTE_PROFILE
    assert parsed.extensions == {}
    assert parsed.payload == payload
    assert bytes(parsed) == datagram
    assert HeaderExtensionMap(PAIRS).get_mid(parsed) is None


def test_values_do_not_make_new_layouts() -> None:
    # An audio level (id 1, one octet) first in the block changes with every
    # packet: its packets must share one layout, not fill the cache.
    from webrtc.rtp import packet as packet_module

    extension_map = HeaderExtensionMap([(1, ext.AUDIO_LEVEL), (3, ext.TRANSPORT_WIDE_CC)])
    packet_module._LAYOUTS.clear()
    layouts = set()
    for level in range(128):
        block = bytes((0x10, 0x80 | level, 0x31, 0, level, 0, 0, 0))
        parsed = RtpPacket.parse(packet_with_block(block))
        layouts.add(id(parsed._layout))  # the same object: found, not learnt again
        assert extension_map.get_audio_level(parsed) == ext.AudioLevel(True, level)
        assert extension_map.get_transport_sequence_number(parsed) == level
    assert len(packet_module._LAYOUTS) == 1
    assert len(layouts) == 1


def test_extension_value_agrees_with_the_mapping() -> None:
    blocks = [b"\x10\x30\x22\x12\x34\x56\x31\x10\xe1\x00\x00\x00", b"", b"\x00\xf0\x10\x30"]
    for block in blocks:
        parsed = RtpPacket.parse(packet_with_block(block))
        in_place = [parsed.extension_value(ext_id) for ext_id in range(16)]
        assert parsed._extensions is None  # nothing decoded to read them
        assert in_place == [parsed.extensions.get(ext_id) for ext_id in range(16)]
        parsed.extensions[4] = b"x"
        assert parsed.extension_value(4) == b"x"
    built = RtpPacket(extensions={2: b"ab"})
    assert built.extension_value(2) == b"ab"
    assert built.extension_value(3) is None


def test_copies_and_pickles_of_a_parsed_packet() -> None:
    import copy
    import pickle

    datagram = packet_with_block(b"\x10\x30\x22\x12\x34\x56\x31\x10\xe1\x00\x00\x00")
    parsed = RtpPacket.parse(datagram)
    for duplicate in (copy.copy(parsed), copy.deepcopy(parsed),
                      pickle.loads(pickle.dumps(parsed))):
        assert duplicate == parsed
        assert bytes(duplicate) == datagram
        assert HeaderExtensionMap(PAIRS).get_transport_sequence_number(duplicate) == 0x10E1
        duplicate.sequence_number += 1
        duplicate.extensions[1] = b"7"
        assert RtpPacket.parse(bytes(duplicate)).extensions[1] == b"7"
        assert bytes(parsed) == datagram


@SETTINGS
@given(st.integers(0, 255), st.integers(0, 20) | st.integers(0, 0xFFFF), st.binary(max_size=80))
def test_arbitrary_bytes_after_a_one_byte_profile(first: int, words: int, rest: bytes) -> None:
    # version 2, no CSRC, X bit, profile 0xBEDE: the parser's fast path, with
    # any length and content (P bit set when ``first`` is odd)
    b0 = 0xB0 if first & 1 else 0x90
    datagram = bytes((b0, first)) + bytes(10) + b"\xbe\xde" + words.to_bytes(2, "big") + rest
    try:
        parsed = RtpPacket.parse(datagram)
    except RtpParseError:
        assert len(rest) < 4 * words or b0 & 0x20
        return
    block = datagram[16 : 16 + 4 * words]
    extension_map = HeaderExtensionMap(PAIRS)
    lazy = typed_values(extension_map, parsed)
    assert bytes(parsed) == datagram
    assert parsed.extensions == decode_extensions(ONE_BYTE_PROFILE, block)
    assert typed_values(extension_map, parsed) == lazy
    assert parsed.extension_data == block


@SETTINGS
@given(st.sampled_from([ONE_BYTE_PROFILE, 0x1000, 0x1005, 0x1234]), st.integers(0, 3),
       st.lists(st.binary(min_size=4, max_size=4), min_size=1, max_size=4),
       st.binary(min_size=3, max_size=3))
def test_blocks_of_every_profile_and_offset_decode_as_the_decoder(
    profile: int, csrc_count: int, words: list[bytes], other: bytes
) -> None:
    # a block, then the same block with its octets after the first changed
    # (same key), under each profile and CSRC count: never a stale layout
    first = b"".join(words)
    second = first[:1] + other + first[4:]
    extension_map = HeaderExtensionMap(PAIRS)
    for block in (first, second, first):
        for block_profile in (profile, ONE_BYTE_PROFILE, 0x1000):
            datagram = packet_with_block(block, csrc_count, profile=block_profile)
            parsed = RtpPacket.parse(datagram)
            lazy = typed_values(extension_map, parsed)
            assert bytes(parsed) == datagram
            assert parsed.extensions == decode_extensions(block_profile, block)
            assert typed_values(extension_map, parsed) == lazy
