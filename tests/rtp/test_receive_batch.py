"""MediaSession.receive_datagrams: a batch gives what one receive_datagram per
datagram gives (events, counters, statistics), drops included."""

from __future__ import annotations

import random
from dataclasses import replace

import pylibsrtp
import pytest
from batch_checks import drain, split_into_batches
from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.rtp import HeaderExtensionMap, MediaSession, RtpReceiver, RtpSender, Vp8Codec
from webrtc.rtp import extensions as ext
from webrtc.rtp.srtp import SrtpProfile, SrtpSession

PAIRS = [(1, ext.MID), (2, ext.ABS_SEND_TIME), (3, ext.TRANSPORT_WIDE_CC)]
PROFILE = SrtpProfile.AEAD_AES_128_GCM
MATERIAL = bytes(range(PROFILE.keying_material_length))


def _stream() -> list[bytes]:
    """SRTP and SRTCP datagrams of a VP8 sender, then one lost, and damaged,
    reordered and repeated ones."""
    rng = random.Random(5)
    session = MediaSession(local_ssrc=0xA, extensions=HeaderExtensionMap(PAIRS), rng=rng,
                           srtp=SrtpSession.from_keying_material(PROFILE, MATERIAL, True))
    session.add_sender(RtpSender(0x1000, 96, 90000, codec=Vp8Codec(), mid="0",
                                 max_payload_size=500, rng=rng))
    out: list[bytes] = []
    now = 0.0
    for index in range(40):
        now += 1 / 30
        session.send_frame(0x1000, b"\x10" + rng.randbytes(rng.randint(100, 2500)), now)
        out += session.datagrams_to_send(now)
        if index % 10 == 9:
            session.handle_timer(now + 2)  # an SR (RTCP) in the stream
            out += session.datagrams_to_send(now + 2)
    del out[-9]  # lost near the end, so that a NACK is due
    out[12], out[13] = out[13], out[12]  # reordered
    out.insert(20, out[19])  # replayed
    out.insert(25, out[24][:-1] + bytes([out[24][-1] ^ 1]))  # forged
    out.insert(40, b"\x80")  # malformed
    out.insert(41, b"\x90\x60" + bytes(3))  # truncated RTP, plain
    return out


STREAM = _stream()


def _receiving() -> MediaSession:
    session = MediaSession(local_ssrc=0xB, extensions=HeaderExtensionMap(PAIRS),
                           rng=random.Random(3),
                           srtp=SrtpSession.from_keying_material(PROFILE, MATERIAL, False))
    session.expect_media(
        "0", lambda ssrc, route: RtpReceiver(ssrc, 90000, local_ssrc=0xB, codec=Vp8Codec()), (96,)
    )
    return session


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=60))
def test_batches_match_one_call_per_datagram(sizes: list[int]) -> None:
    batches = split_into_batches(STREAM, sizes)
    one = _receiving()
    many = _receiving()
    now = 0.0
    for batch in batches:
        now += 0.02
        for data in batch:
            one.receive_datagram(data, now)
        many.receive_datagrams(batch, now)
    one_events = drain(one)
    assert one_events == drain(many)
    assert sum(type(e).__name__ == "FrameReceived" for e in one_events) >= 30
    # rtcp_sent aside: feedback is grouped per batch (fewer compounds)
    assert replace(one.stats, rtcp_sent=0) == replace(many.stats, rtcp_sent=0)
    # the runt is malformed; replayed, forged, and the truncated plain packet fail SRTP
    assert one.stats.dropped_malformed == 1 and one.stats.dropped_srtp == 3
    assert one.stats.rtcp_received >= 2
    assert one.srtp is not None and many.srtp is not None
    assert replace(one.srtp.stats, protected_rtcp=0) == replace(many.srtp.stats, protected_rtcp=0)
    assert one.receivers.keys() == many.receivers.keys() == {0x1000}
    assert one.receivers[0x1000].statistics() == many.receivers[0x1000].statistics()
    # the feedback (a NACK for the lost packet, transport-wide CC) is sent
    # either way; only its grouping may differ
    assert one.datagrams_to_send(now) and many.datagrams_to_send(now)


def test_datagrams_too_long_for_srtp_are_dropped_not_raised() -> None:
    """Network input never raises: an SRTP or SRTCP datagram longer than
    libsrtp's buffer (1500 bytes in pylibsrtp) is dropped and counted."""
    rtp = b"\x90\x60" + bytes(1998)
    rtcp = b"\x80\xc8" + bytes(1998)
    one = _receiving()
    for data in (rtp, rtcp):
        one.receive_datagram(data, 1.0)
    many = _receiving()
    many.receive_datagrams([rtp, rtcp, *STREAM[:5]], 1.0)
    assert one.stats.dropped_srtp == 2
    assert many.stats.dropped_srtp == 2
    alone = _receiving()
    alone.receive_datagrams(STREAM[:5], 1.0)
    assert many.stats.rtp_received == alone.stats.rtp_received > 0  # the stream goes on
    assert one.srtp is not None and one.srtp.stats.dropped_other == 2


def test_unprotect_fallback_refuses_too_long_with_the_srtp_error() -> None:
    """Without access to pylibsrtp's internals the public unprotect is used;
    its ValueError for a too-long packet becomes the SRTP error."""
    from webrtc.rtp.srtp import _refusing_too_long

    def unprotect(data: bytes) -> bytes:
        raise ValueError("packet is too long")

    with pytest.raises(pylibsrtp.Error, match="too long"):
        _refusing_too_long(unprotect)(bytes(2000))
