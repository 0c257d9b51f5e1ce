"""Payload formats: round trips for any size and MTU, keyframes, aiortc depayload."""

from __future__ import annotations

import pytest
from aiortc.codecs import depayload
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.rtp import RtpParseError
from webrtc.rtp.codecs import (
    G711Codec,
    H264Codec,
    OpusCodec,
    Vp8Codec,
    Vp9Codec,
    codec_for,
    split_annex_b,
)

SETTINGS = settings(max_examples=60, deadline=None)

# NAL units as an encoder emits them: a header byte with F=0 and a type of 1..23,
# and emulation prevention, so no 00 00 inside and no trailing zero byte.
nal_unit = st.builds(
    lambda kind, nri, body: bytes((nri << 5 | kind,)) + body,
    st.integers(1, 23),
    st.integers(0, 3),
    st.binary(max_size=3000)
    .map(lambda b: b.replace(b"\x00\x00", b"\x00\x01"))
    .filter(lambda b: not b.endswith(b"\x00")),
)
annex_b = st.lists(nal_unit, min_size=1, max_size=8).map(
    lambda units: b"".join(b"\x00\x00\x00\x01" + u for u in units)
)


@SETTINGS
@given(frame=st.binary(max_size=20000), mtu=st.integers(5, 1500), picture_id=st.integers(0, 40000))
def test_vp8_round_trip(frame: bytes, mtu: int, picture_id: int) -> None:
    codec = Vp8Codec(picture_id)
    payloads = codec.packetize(frame, mtu)
    assert all(len(p) <= mtu for p in payloads)
    assert codec.depacketize(payloads) == frame
    assert codec.is_frame_start(payloads[0])
    assert not any(codec.is_frame_start(p) for p in payloads[1:])
    assert {Vp8Codec.picture_id_of(p) for p in payloads} == {picture_id & 0x7FFF}
    assert codec.picture_id == (picture_id + 1) & 0x7FFF


@SETTINGS
@given(frame=st.binary(max_size=20000), mtu=st.integers(5, 1500), keyframe=st.booleans())
def test_vp9_round_trip(frame: bytes, mtu: int, keyframe: bool) -> None:
    codec = Vp9Codec()
    payloads = codec.packetize(frame, mtu, keyframe=keyframe)
    assert all(len(p) <= mtu for p in payloads)
    assert codec.depacketize(payloads) == frame
    assert codec.is_keyframe(payloads) == keyframe
    assert payloads[-1][0] & 0x04 and payloads[0][0] & 0x08


@SETTINGS
@given(frame=annex_b, mtu=st.integers(4, 1500))
def test_h264_round_trip(frame: bytes, mtu: int) -> None:
    codec = H264Codec()
    payloads = codec.packetize(frame, mtu)
    assert all(len(p) <= mtu for p in payloads)
    assert codec.depacketize(payloads) == frame
    assert codec.is_keyframe(payloads) == any(u[0] & 0x1F == 5 for u in split_annex_b(frame))


@SETTINGS
@given(frame=st.binary(max_size=1500), mtu=st.integers(1, 1500))
def test_audio_round_trip(frame: bytes, mtu: int) -> None:
    for codec in (OpusCodec(), G711Codec(), codec_for("pcma")):
        if len(frame) > mtu:
            with pytest.raises(ValueError):
                codec.packetize(frame, mtu)
            continue
        payloads = codec.packetize(frame, mtu)
        assert codec.depacketize(payloads) == frame and codec.is_keyframe(payloads)


def test_h264_uses_single_stap_a_and_fu_a() -> None:
    sps, pps = b"\x67\x42\xc0\x1f\xda", b"\x68\xce\x3c\x80"
    idr = b"\x65" + bytes(range(1, 256)) * 20
    frame = b"".join(b"\x00\x00\x00\x01" + n for n in (sps, pps, idr))
    payloads = H264Codec().packetize(frame, 1200)
    assert payloads[0][0] & 0x1F == 24  # STAP-A of SPS and PPS
    assert all(p[0] & 0x1F == 28 for p in payloads[1:])  # FU-A of the IDR slice
    assert payloads[1][1] & 0x80 and payloads[-1][1] & 0x40
    assert H264Codec().is_keyframe(payloads)
    single = H264Codec().packetize(b"\x00\x00\x01\x41abc", 1200)
    assert single == [b"\x41abc"]


def test_three_byte_start_codes_come_back_as_four() -> None:
    frame = b"\x00\x00\x01\x41abc\x00\x00\x01\x41def"
    assert H264Codec().depacketize(H264Codec().packetize(frame, 5)) == (
        b"\x00\x00\x00\x01\x41abc\x00\x00\x00\x01\x41def"
    )


def test_vp8_keyframe_detection() -> None:
    key = Vp8Codec().packetize(b"\x10\x02\x00\x9d\x01\x2a" + bytes(3000), 1200)
    inter = Vp8Codec().packetize(b"\x11\x02\x00" + bytes(3000), 1200)
    assert Vp8Codec().is_keyframe(key) and not Vp8Codec().is_keyframe(inter)


def test_vp9_keyframe_from_bitstream() -> None:
    assert Vp9Codec().is_keyframe(Vp9Codec().packetize(b"\x82\x49\x83" + bytes(100), 50))
    assert not Vp9Codec().is_keyframe(Vp9Codec().packetize(b"\x86" + bytes(100), 50))


@pytest.mark.parametrize(
    "codec, payloads",
    [
        (Vp8Codec(), [b""]),
        (Vp8Codec(), [b"\x90\x80"]),
        (Vp8Codec(), [b"\x80\x80\x81\x00"]),  # not a frame start
        (Vp9Codec(), [b"\x8a"]),
        (H264Codec(), [b"\x7c\x05abc"]),  # FU-A continuation without start
        (H264Codec(), [b"\x78\x00\x09ab"]),  # STAP-A unit truncated
        (H264Codec(), [b"\x79abc"]),  # STAP-B is not mode 1
        (H264Codec(), [b"\x7c\x85abc"]),  # FU-A never ends
        (OpusCodec(), [b"a", b"b"]),
    ],
)
def test_malformed_payloads_raise(codec: object, payloads: list[bytes]) -> None:
    with pytest.raises(RtpParseError):
        codec.depacketize(payloads)  # type: ignore[attr-defined]


def test_vp8_output_depayloads_with_aiortc() -> None:
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    for size in (1, 100, 1195, 1196, 1197, 5000, 60000):
        frame = bytes((i * 7) & 0xFF for i in range(size))
        payloads = Vp8Codec(picture_id=size).packetize(frame, 1200)
        assert b"".join(depayload(vp8, p) for p in payloads) == frame


def test_h264_output_depayloads_with_aiortc() -> None:
    h264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
    sps, pps = b"\x67\x42\xc0\x1f\xda", b"\x68\xce\x3c\x80"
    for size in (10, 1190, 1200, 5000, 30000):
        idr = b"\x65" + bytes(range(1, 251)) * (size // 250 + 1)
        small = b"\x41\x9a\x02"
        frame = b"".join(b"\x00\x00\x00\x01" + n for n in (sps, pps, idr[:size], small))
        payloads = H264Codec().packetize(frame, 1200)
        assert b"".join(depayload(h264, p) for p in payloads) == frame



vp8_descriptor_octets = st.sampled_from([0x00, 0x10, 0x80, 0x90, 0xA0, 0x40, 0x7F, 0xFF])


@SETTINGS
@given(st.lists(st.tuples(vp8_descriptor_octets, vp8_descriptor_octets,
                          vp8_descriptor_octets, st.binary(max_size=4)),
                min_size=1, max_size=6))
def test_vp8_depacketize_reads_any_descriptor(parts: list[tuple[int, int, int, bytes]]) -> None:
    # depacketize's shortcut for the common 4-octet descriptor (X, I, M) cuts
    # what RFC 7741 §4.2's full reading (descriptor_size) cuts, and raises the same
    payloads = [bytes((b0 & 0xE0 | 0x10 if index == 0 else b0, b1, b2)) + rest
                for index, (b0, b1, b2, rest) in enumerate(parts)]
    _depacketizes_as_descriptor_size_reads(payloads)


def _depacketizes_as_descriptor_size_reads(payloads: list[bytes]) -> None:
    """depacketize cuts, or refuses, as RFC 7741 §4.2's full reading does."""
    try:
        expected: bytes | None = b"".join(p[Vp8Codec.descriptor_size(p):] for p in payloads)
    except RtpParseError:
        expected = None
    if expected is None:
        with pytest.raises(RtpParseError):
            Vp8Codec().depacketize(payloads)
    else:
        assert Vp8Codec().depacketize(payloads) == expected


@pytest.mark.parametrize("payload", [b"\x80\x80\x80", b"\x80\x80\x80\x01", b"\x80\x80\x00\x01",
                                     b"\x80\x90\x80\x01", b"\x00\x80\x80\x01"])
def test_vp8_depacketize_near_the_common_descriptor(payload: bytes) -> None:
    _depacketizes_as_descriptor_size_reads([b"\x10first", payload])
