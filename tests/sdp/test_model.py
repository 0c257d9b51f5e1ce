"""The SDP model: parse/str round trip, typed accessors and builders."""

from __future__ import annotations

import pytest

from webrtc.sdp import (
    Candidate,
    Codec,
    Connection,
    Direction,
    ExtMap,
    Fingerprint,
    MediaDescription,
    Msid,
    MsidSemantic,
    RtcpFeedback,
    SdpParseError,
    SessionDescription,
    Setup,
)

SAMPLE = (
    "v=0\r\n"
    "o=- 4962303333179871722 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host generation 0 network-id 1\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:0123456789abcdefghijkl\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 AB:CD:EF\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1/sendonly urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on\r\n"
    "a=sendrecv\r\n"
    "a=msid:- track\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=ssrc:1234 cname:xyz\r\n"
    "a=x-unknown:kept as is\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=mid:1\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n"
)


def test_round_trip_crlf_and_lf() -> None:
    assert str(SessionDescription.parse(SAMPLE)) == SAMPLE
    assert str(SessionDescription.parse(SAMPLE.replace("\r\n", "\n"))) == SAMPLE


def test_accessors() -> None:
    sd = SessionDescription.parse(SAMPLE)
    assert sd.origin.session_id == 4962303333179871722
    assert sd.origin.session_version == 2
    assert sd.bundle == ["0", "1"]
    assert sd.extmap_allow_mixed
    assert sd.msid_semantic == MsidSemantic("WMS")
    audio, data = sd.media
    assert (audio.kind, audio.port, audio.protocol, audio.formats) == (
        "audio", 9, "UDP/TLS/RTP/SAVPF", ["111", "0"])
    assert audio.mid == "0" and audio.direction is Direction.SENDRECV
    assert audio.connection == Connection("0.0.0.0")
    assert audio.fingerprints == [Fingerprint("sha-256", "AB:CD:EF")]
    assert audio.fingerprints[0].digest == b"\xab\xcd\xef"
    assert audio.setup is Setup.ACTPASS
    assert audio.extmaps == [ExtMap(1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
                                    Direction.SENDONLY, "vad=on")]
    assert audio.msids == [Msid("-", "track")]
    assert audio.codecs() == [
        Codec(111, "opus", 48000, 2, "minptime=10;useinbandfec=1",
              (RtcpFeedback(111, "transport-cc"),)),
        Codec(0, "PCMU", 8000, 1),
    ]
    assert audio.candidates[0].network_id == 1
    assert audio.attribute("x-unknown") == "kept as is"
    assert data.sctp_port == 5000 and data.max_message_size == 262144
    assert data.is_data_channel and not data.is_rtp


def test_edit_keeps_order() -> None:
    sd = SessionDescription.parse(SAMPLE)
    audio = sd.media[0]
    audio.direction = Direction.RECVONLY
    audio.mid = "a"
    sd.bundle = ["a", "1"]
    text = str(sd)
    assert text == (SAMPLE.replace("a=sendrecv", "a=recvonly").replace("a=mid:0", "a=mid:a")
                    .replace("BUNDLE 0 1", "BUNDLE a 1"))


def test_build_data_channel_offer() -> None:
    sd = SessionDescription.new(session_id=42, session_version=2)
    sd.bundle = ["0"]
    sd.extmap_allow_mixed = True
    sd.msid_semantic = MsidSemantic("WMS")
    media = sd.add_media(MediaDescription("application", 9, "UDP/DTLS/SCTP",
                                          ["webrtc-datachannel"]))
    media.connection = Connection("0.0.0.0")
    media.add_candidate(Candidate("1", 1, "udp", 2122260223, "127.0.0.1", 5000, "host"))
    media.end_of_candidates = True
    media.ice_ufrag, media.ice_pwd = "abcd", "0123456789abcdefghijkl"
    media.ice_options = ["trickle"]
    media.fingerprints = [Fingerprint.from_digest("sha-256", bytes(range(4)))]
    media.setup = Setup.ACTPASS
    media.mid = "0"
    media.sctp_port = 5000
    media.max_message_size = 262144
    text = str(sd)
    assert text == (
        "v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
        "c=IN IP4 0.0.0.0\r\n"
        "a=candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host\r\n"
        "a=end-of-candidates\r\n"
        "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\na=ice-options:trickle\r\n"
        "a=fingerprint:sha-256 00:01:02:03\r\na=setup:actpass\r\na=mid:0\r\n"
        "a=sctp-port:5000\r\na=max-message-size:262144\r\n"
    )
    assert SessionDescription.parse(text) == sd


@pytest.mark.parametrize(
    ("text", "line_number"),
    [
        ("", None),
        ("x=0\r\n", 1),
        ("v=1\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\n", 1),
        ("v=0\r\no=- x 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\n", 2),
        ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\n", 3),
        ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n", 5),
        ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\na=setup:bogus\r\n", 5),
        ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\n\r\na=x\r\n", 5),
    ],
)
def test_errors_carry_line_number(text: str, line_number: int | None) -> None:
    with pytest.raises(SdpParseError) as info:
        SessionDescription.parse(text)
    assert info.value.line_number == line_number
