"""The session's send path protects each packet as it serializes it (writing
straight into libsrtp's buffer); its datagrams must be exactly those of the
plain path: ``packets_to_send`` then one SRTP protect per packet; and those
plain packets, built from precompiled headers, must be those the general
path builds with :class:`RtpPacket`.

Two sessions with the same seeds run the same actions (frames, single
payloads with and without extra extensions, retransmissions through RTX or
not, sequence numbers wrapping); one protects as it serializes, the other
sends plain and its packets are protected afterwards with a session keyed
alike. SRTP is deterministic for a given key, SSRC and packet index, so the
two outputs must be equal byte for byte, for every profile, and so must the
counters.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.rtp import extensions as ext
from webrtc.rtp.codecs import OpusCodec, Vp8Codec
from webrtc.rtp.extensions import HeaderExtensionMap
from webrtc.rtp.session import MediaSession
from webrtc.rtp.srtp import SrtpProfile, SrtpSession
from webrtc.rtp.streams import RtpSender

SETTINGS = settings(max_examples=60, deadline=None)
EXTENSION_SETS = [
    [(1, ext.MID), (2, ext.ABS_SEND_TIME), (3, ext.TRANSPORT_WIDE_CC)],  # the fast case
    [(1, ext.MID), (2, ext.ABS_SEND_TIME), (3, ext.TRANSPORT_WIDE_CC), (4, ext.RTP_STREAM_ID),
     (5, ext.REPAIRED_RTP_STREAM_ID)],
    [(1, ext.MID), (3, ext.TRANSPORT_WIDE_CC)],
    [(2, ext.ABS_SEND_TIME)],
    [],
]

actions = st.lists(
    st.one_of(
        st.tuples(st.just("frame"), st.integers(0, 8000)),
        st.tuples(st.just("payload"), st.integers(1, 1100), st.booleans(), st.booleans()),
        st.tuples(st.just("nack"), st.lists(st.integers(0, 12), max_size=4)),
        st.tuples(st.just("send"), st.just(0)),
    ),
    max_size=25,
)


def make_session(profile: SrtpProfile, material: bytes, pairs: list[tuple[int, str]],
                 rtx: bool, history_size: int, start: int, protect: bool) -> MediaSession:
    session = MediaSession(
        local_ssrc=0xA,
        srtp=SrtpSession.from_keying_material(profile, material, is_client=True) if protect
        else None,
        extensions=HeaderExtensionMap(pairs), rng=random.Random(1),
    )
    seed = start.to_bytes(2, "big") + b"\xff\xf0\x01\x02\x03\x04"
    session.add_sender(RtpSender(
        0x1000, 96, 90000, codec=Vp8Codec(), mid="0", rid="hi" if rtx else None,
        rtx_ssrc=0x2000 if rtx else None, rtx_payload_type=97 if rtx else None,
        max_payload_size=1200, history_size=history_size, randbytes=lambda n: seed[:n],
        rng=random.Random(2),
    ))
    # an audio stream in the same session: several senders in one call
    session.add_sender(RtpSender(0x3000, 111, 48000, codec=OpusCodec(), mid="1",
                                 randbytes=lambda n: bytes(n), rng=random.Random(3)))
    return session


def run(session: MediaSession, steps: list[tuple[object, ...]]) -> list[bytes]:
    rng = random.Random(4)
    video = session.senders[0x1000]
    out: list[bytes] = []
    now = 0.0
    for step in steps:
        now += 0.01
        kind = step[0]
        if kind == "frame":
            size = step[1]
            assert isinstance(size, int)
            session.send_frame(0x1000, rng.randbytes(size), now)
            session.send_frame(0x3000, rng.randbytes(100), now)
        elif kind == "payload":
            size, marker, extra = step[1], step[2], step[3]
            assert isinstance(size, int)
            video.send_payload(rng.randbytes(size), now, marker=bool(marker),
                               extensions={6: b"\x80"} if extra else None)
        elif kind == "nack":
            back = step[1]
            assert isinstance(back, list)
            video.retransmit([(video.sequence_number - 1 - b) & 0xFFFF for b in back], now)
        out += session.datagrams_to_send(now)
    return out


@SETTINGS
@given(
    st.sampled_from(list(SrtpProfile)),
    st.sampled_from(range(len(EXTENSION_SETS))),
    st.booleans(),
    st.sampled_from([0, 1, 7, 2048]),
    st.sampled_from([0, 0xFFF0, 0xFFFE, 1234]),
    actions,
)
def test_protected_as_serialized_equals_protected_afterwards(
    profile: SrtpProfile, pairs_index: int, rtx: bool, history_size: int, start: int,
    steps: list[tuple[object, ...]],
) -> None:
    pairs = EXTENSION_SETS[pairs_index]
    material = random.Random(5).randbytes(profile.keying_material_length)
    fused = make_session(profile, material, pairs, rtx, history_size, start, protect=True)
    assert fused.srtp is not None and fused.srtp._protect_raw is not None
    batch = make_session(profile, material, pairs, rtx, history_size, start, protect=True)
    assert batch.srtp is not None
    batch.srtp._protect_raw = None  # the other path: plain packets, then protect_many
    plain = make_session(profile, material, pairs, rtx, history_size, start, protect=False)
    later = SrtpSession.from_keying_material(profile, material, is_client=True)
    # and the plain packets, from precompiled headers, are those RtpPacket makes
    general = make_session(profile, material, pairs, rtx, history_size, start, protect=False)
    for sender in general.senders.values():
        sender._layouts.update({False: None, True: None})

    fused_out = run(fused, steps)
    batch_out = run(batch, steps)
    plain_out = run(plain, steps)
    assert plain_out == run(general, steps)

    assert fused_out == [later.protect(packet) for packet in plain_out]
    assert batch_out == fused_out
    for session in (fused, batch):
        assert session.stats.rtp_sent == plain.stats.rtp_sent
        assert session.srtp is not None
        assert session.srtp.stats.protected_rtp == len(plain_out)
        for ssrc, sender in session.senders.items():
            other = plain.senders[ssrc]
            assert (sender.packets_sent, sender.octets_sent, sender.retransmissions) == (
                other.packets_sent, other.octets_sent, other.retransmissions)
            assert sender.sequence_number == other.sequence_number


@pytest.mark.parametrize("raw", [True, False])
def test_a_packet_too_long_for_srtp_raises_in_both_paths(raw: bool) -> None:
    profile = SrtpProfile.AEAD_AES_128_GCM
    material = bytes(profile.keying_material_length)
    session = make_session(profile, material, EXTENSION_SETS[0], False, 16, 0, protect=True)
    assert session.srtp is not None
    if not raw:
        session.srtp._protect_raw = None
    session.senders[0x1000].max_payload_size = 1480  # + 24-byte header > 1500 - trailer
    session.send_frame(0x1000, bytes(3000), 0.0)
    with pytest.raises(ValueError, match="too long"):
        session.datagrams_to_send(0.0)
