"""RTP packets and header extensions, with aiortc cross-checks."""

from __future__ import annotations

import pytest
from aiortc import rtp as aiortc_rtp
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters

from webrtc.rtp import (
    AudioLevel,
    HeaderExtensionMap,
    PlayoutDelay,
    RtpPacket,
    RtpParseError,
    VideoOrientation,
)
from webrtc.rtp import extensions as ext
from webrtc.rtp.packet import ONE_BYTE_PROFILE, TWO_BYTE_PROFILE

PAIRS = [
    (1, ext.MID),
    (2, ext.ABS_SEND_TIME),
    (3, ext.TRANSPORT_WIDE_CC),
    (4, ext.RTP_STREAM_ID),
    (5, ext.REPAIRED_RTP_STREAM_ID),
    (6, ext.AUDIO_LEVEL),
    (7, ext.TRANSMISSION_OFFSET),
    (8, ext.VIDEO_ORIENTATION),
    (9, ext.PLAYOUT_DELAY),
]


def aiortc_map() -> aiortc_rtp.HeaderExtensionsMap:
    extensions_map = aiortc_rtp.HeaderExtensionsMap()
    extensions_map.configure(
        RTCRtpParameters(
            headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=u) for i, u in PAIRS]
        )
    )
    return extensions_map


def test_minimal_packet_round_trip() -> None:
    packet = RtpPacket(96, 65535, 0xDEADBEEF, 0x12345678, b"hello", marker=True)
    data = bytes(packet)
    assert data[:2] == b"\x80\xe0"
    parsed = RtpPacket.parse(data)
    assert parsed == packet
    assert parsed.version == 2
    assert bytes(parsed) == data


def test_padding_and_csrc_are_kept() -> None:
    packet = RtpPacket(0, 1, 2, 3, b"abc", csrc=[10, 11], padding=b"\x00\x00\x07\x00\x00\x00\x07")
    data = bytes(packet)
    assert data[0] & 0x20 and data[0] & 0x0F == 2
    parsed = RtpPacket.parse(data)
    assert parsed.padding == packet.padding
    assert parsed.payload == b"abc"
    assert parsed.csrc == (10, 11)
    assert bytes(parsed) == data


def test_one_byte_extensions_with_padding_between_elements_are_lossless() -> None:
    # id 1 len 1, a padding byte, id 2 len 3, then padding to 32 bits.
    block = b"\x10\xaa\x00\x22\x01\x02\x03\x00"
    data = (
        b"\x90\x60\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03"
        + b"\xbe\xde\x00\x02"
        + block
        + b"payload"
    )
    parsed = RtpPacket.parse(data)
    assert parsed.extensions == {1: b"\xaa", 2: b"\x01\x02\x03"}
    assert parsed.extension_profile == ONE_BYTE_PROFILE
    assert bytes(parsed) == data
    parsed.extensions[3] = b"\x05"
    reparsed = RtpPacket.parse(bytes(parsed))
    assert reparsed.extensions == {1: b"\xaa", 2: b"\x01\x02\x03", 3: b"\x05"}


def test_two_byte_extensions() -> None:
    packet = RtpPacket(96, 1, 2, 3, b"x", extensions={1: b"", 20: b"a" * 20, 255: b"z"})
    data = bytes(packet)
    parsed = RtpPacket.parse(data)
    assert parsed.extension_profile == TWO_BYTE_PROFILE
    assert parsed.extensions == {1: b"", 20: b"a" * 20, 255: b"z"}
    assert bytes(parsed) == data


def test_generic_rfc3550_extension_is_kept() -> None:
    data = b"\x90\x60\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x12\x34\x00\x01abcdpay"
    parsed = RtpPacket.parse(data)
    assert parsed.extensions == {}
    assert parsed.extension_profile == 0x1234
    assert parsed.extension_data == b"abcd"
    assert bytes(parsed) == data


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\x60\x00",
        b"\x40" + bytes(11),  # version 1
        b"\x82" + bytes(11),  # two CSRCs missing
        b"\x90" + bytes(11),  # extension header missing
        b"\x90" + bytes(11) + b"\xbe\xde\x00\x05",  # extension runs past the end
        b"\xa0" + bytes(11) + b"\x00",  # padding count 0
        b"\xa0" + bytes(11) + b"\x05",  # padding longer than the payload
    ],
)
def test_malformed_packets_raise_rtp_parse_error(data: bytes) -> None:
    with pytest.raises(RtpParseError):
        RtpPacket.parse(data)


def test_typed_extensions_round_trip() -> None:
    extensions = HeaderExtensionMap(PAIRS)
    packet = RtpPacket(96, 1, 2, 3, b"x")
    extensions.set_mid(packet, "video0")
    extensions.set_rtp_stream_id(packet, "hi")
    extensions.set_repaired_rtp_stream_id(packet, "lo")
    extensions.set_abs_send_time(packet, ext.abs_send_time_from_seconds(12.5))
    extensions.set_transport_sequence_number(packet, 65535)
    extensions.set_audio_level(packet, AudioLevel(True, 42))
    extensions.set_transmission_offset(packet, -5)
    extensions.set_video_orientation(packet, VideoOrientation(True, False, 270))
    extensions.set_playout_delay(packet, PlayoutDelay(10, 4095))
    parsed = RtpPacket.parse(bytes(packet))
    assert extensions.get_mid(parsed) == "video0"
    assert extensions.get_rtp_stream_id(parsed) == "hi"
    assert extensions.get_repaired_rtp_stream_id(parsed) == "lo"
    assert ext.abs_send_time_to_seconds(extensions.get_abs_send_time(parsed) or 0) == 12.5
    assert extensions.get_transport_sequence_number(parsed) == 65535
    assert extensions.get_audio_level(parsed) == AudioLevel(True, 42)
    assert extensions.get_transmission_offset(parsed) == -5
    assert extensions.get_video_orientation(parsed) == VideoOrientation(True, False, 270)
    assert extensions.get_playout_delay(parsed) == PlayoutDelay(10, 4095)
    # unknown ids stay as bytes
    parsed.extensions[14] = b"\x01\x02"
    assert RtpPacket.parse(bytes(parsed)).extensions[14] == b"\x01\x02"
    assert extensions.uri_of(3) == ext.TRANSPORT_WIDE_CC and extensions.id_of(ext.MID) == 1


def test_extension_map_from_sdp_extmaps() -> None:
    from webrtc.sdp import SessionDescription

    text = (
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
        f"a=extmap:3 {ext.MID}\r\na=extmap:5/sendrecv {ext.ABS_SEND_TIME}\r\n"
        f"a=extmap:11 {ext.TRANSPORT_WIDE_CC}\r\na=extmap:14 urn:example:unknown\r\n"
        "a=rtpmap:96 VP8/90000\r\n"
    )
    media = SessionDescription.parse(text).media[0]
    extensions = HeaderExtensionMap.from_extmaps(media.extmaps)
    assert extensions.mid_id == 3 and extensions.abs_send_time_id == 5
    assert extensions.transport_wide_cc_id == 11 and extensions.uri_of(14) == "urn:example:unknown"
    assert HeaderExtensionMap.from_extmaps([(2, ext.MID)]).mid_id == 2


def test_aiortc_packets_parse_with_ours() -> None:
    theirs_map = aiortc_map()
    ours_map = HeaderExtensionMap(PAIRS)
    for marker in (0, 1):
        packet = aiortc_rtp.RtpPacket(
            payload_type=111, marker=marker, sequence_number=4242, timestamp=123456, ssrc=0xCAFE
        )
        packet.csrc = [1, 2]
        packet.payload = bytes(range(100))
        packet.extensions.mid = "audio"
        packet.extensions.abs_send_time = 0x123456
        packet.extensions.transport_sequence_number = 777
        packet.extensions.audio_level = (True, 30)
        packet.extensions.rtp_stream_id = "r0"
        # (not toffset: aiortc writes it in 2 bytes where RFC 5450 §2 says 3)
        data = packet.serialize(theirs_map)
        ours = RtpPacket.parse(data)
        assert (ours.payload_type, ours.marker, ours.sequence_number, ours.timestamp) == (
            111, bool(marker), 4242, 123456,
        )
        assert ours.ssrc == 0xCAFE and ours.csrc == (1, 2) and ours.payload == bytes(range(100))
        assert ours_map.get_mid(ours) == "audio"
        assert ours_map.get_abs_send_time(ours) == 0x123456
        assert ours_map.get_transport_sequence_number(ours) == 777
        assert ours_map.get_audio_level(ours) == AudioLevel(True, 30)
        assert ours_map.get_rtp_stream_id(ours) == "r0"
        assert bytes(ours) == data
        # re-encoded from the fields (not the kept bytes) it is still the same bytes
        rebuilt = RtpPacket(
            ours.payload_type, ours.sequence_number, ours.timestamp, ours.ssrc, ours.payload,
            ours.marker, ours.csrc, dict(ours.extensions),
        )
        assert bytes(rebuilt) == data


def test_our_packets_parse_with_aiortc() -> None:
    ours_map = HeaderExtensionMap(PAIRS)
    packet = RtpPacket(100, 9, 90000, 0xBEEF, b"\x01" * 50, marker=True, csrc=[7])
    # in the order aiortc writes them, so its re-serialization is comparable
    ours_map.set_mid(packet, "1")
    ours_map.set_repaired_rtp_stream_id(packet, "r1")
    ours_map.set_abs_send_time(packet, 0xABCDEF)
    ours_map.set_audio_level(packet, AudioLevel(False, 127))
    ours_map.set_transport_sequence_number(packet, 1234)
    data = bytes(packet)
    theirs = aiortc_rtp.RtpPacket.parse(data, aiortc_map())
    assert theirs.payload_type == 100 and theirs.marker == 1
    assert theirs.sequence_number == 9 and theirs.timestamp == 90000 and theirs.ssrc == 0xBEEF
    assert theirs.csrc == [7] and theirs.payload == b"\x01" * 50
    assert theirs.extensions.mid == "1"
    assert theirs.extensions.abs_send_time == 0xABCDEF
    assert theirs.extensions.transport_sequence_number == 1234
    assert theirs.extensions.repaired_rtp_stream_id == "r1"
    assert theirs.extensions.audio_level == (False, 127)
    assert theirs.serialize(aiortc_map()) == data


def test_aiortc_padded_packet() -> None:
    packet = aiortc_rtp.RtpPacket(payload_type=96, sequence_number=1, timestamp=2, ssrc=3)
    packet.payload = b"data"
    packet.padding_size = 9
    data = packet.serialize()
    ours = RtpPacket.parse(data)
    assert ours.payload == b"data" and len(ours.padding) == 9
    assert bytes(ours) == data
