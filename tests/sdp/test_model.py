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


HEAD = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"


def test_line_endings() -> None:
    crlf = HEAD + "a=x-flag\r\n"
    assert str(SessionDescription.parse(crlf)) == crlf
    # LF only, mixed, and no final line ending: all written back with CRLF.
    assert str(SessionDescription.parse(crlf.replace("\r\n", "\n"))) == crlf
    assert str(SessionDescription.parse(HEAD + "a=x-flag\n")) == crlf
    assert str(SessionDescription.parse(crlf[:-2])) == crlf
    assert bytes(SessionDescription.parse(crlf)) == crlf.encode()


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        ("a=x\rb\r\n", "stray carriage return"),
        ("a=x\x00\r\n", "NUL"),
        ("a=rtcp-mux:yes\r\n", "takes no value"),
        ("a=mid\r\n", "needs a value"),
        ("a=mid:\r\n", "one non-empty field"),
        ("a=bad name:1\r\n", "attribute name"),
        ("x=1\r\n", "unexpected x= line"),
        ("m=audio 9 RTP/AVP 0\r\nu=http://x\r\n", "unexpected u= line"),
        ("m=audio 9 RTP/AVP\r\n", "media line"),
        ("m=audio 70000 RTP/AVP 0\r\n", "port out of range"),
        ("c=IN IP4\r\n", "connection"),
        ("b=AS\r\n", "bandwidth"),
        ("a=candidate:1 1 udp 1 1.2.3.4 5 typ\r\n", "candidate"),
        ("a=fingerprint:sha-256 XY:00\r\n", "fingerprint"),
        ("a=extmap:0 urn:x\r\n", "extmap id out of range"),
        ("a=ssrc:4294967296 cname:x\r\n", "ssrc out of range"),
        ("a=rid:1 both\r\n", "rid direction"),
        ("a=simulcast:send\r\n", "malformed simulcast"),
        ("a=sctp-port:65536\r\n", "out of range"),
        ("a=max-message-size:-1\r\n", "not a number"),
    ],
)
def test_malformed_lines(tail: str, reason: str) -> None:
    text = HEAD + "a=ok\r\n" + tail
    with pytest.raises(SdpParseError) as info:
        SessionDescription.parse(text)
    assert info.value.line_number == 6 or (
        info.value.line_number == 7 and tail.startswith("m="))
    assert reason in str(info.value)


def test_generic_attributes_and_line_order() -> None:
    sd = SessionDescription.new(session_id=7, address="::1", session_name="call")
    assert sd.origin.address_type == "IP6" and sd.session_name == "call"
    sd.add_attribute("x-a", "1")
    sd.add_attribute("x-flag")
    sd.add_attribute("x-a", "2")
    assert sd.attribute_values("x-a") == ["1", "2"]
    assert sd.attribute("x-flag") == "" and sd.attribute("x-none") is None
    assert sd.has_attribute("x-flag") and not sd.has_attribute("x")
    sd.set_attribute("x-a", "3")
    assert sd.attributes() == [("x-a", "3"), ("x-flag", None)]
    # c= goes where RFC 8866 section 5 puts it: after s=, before t= and a=.
    sd.connection = Connection("0.0.0.0")
    assert sd.lines[3] == "c=IN IP4 0.0.0.0" and sd.lines[4] == "t=0 0"
    assert sd.remove_attribute("x-a") == 1 and sd.remove_attribute("x-a") == 0
    media = sd.add_media(MediaDescription("audio", 9, "RTP/AVP", [0, 8]))
    media.add_attribute("x-first")
    media.connection = Connection.for_address("::1")
    assert media.lines[1] == "c=IN IP6 ::1"
    media.port = 0
    media.formats = [0]
    assert media.lines[0] == "m=audio 0 RTP/AVP 0" and media.rejected
    copy = sd.copy()
    copy.media[0].mid = "a"
    assert sd.media[0].mid is None and copy != sd
    assert sd.media_by_mid("a") is None and copy.media_by_mid("a") is copy.media[0]
    assert SessionDescription.parse(str(sd)) == sd


def test_session_level_fallbacks() -> None:
    text = (HEAD + "a=ice-ufrag:sess\r\na=ice-pwd:sessionpassword\r\na=ice-options:trickle\r\n"
            "a=setup:passive\r\nc=IN IP4 192.0.2.1\r\n"
            "a=fingerprint:sha-256 00:11\r\nm=audio 9 RTP/AVP 0\r\n"
            "m=audio 9 RTP/AVP 0\r\na=ice-ufrag:media\r\na=ice-pwd:mediapassword\r\n"
            "a=setup:active\r\na=fingerprint:sha-1 22:33\r\nc=IN IP4 192.0.2.2\r\n")
    sd = SessionDescription.parse(text)
    first, second = sd.media
    assert sd.ice_credentials_for(first) == ("sess", "sessionpassword")
    assert sd.ice_credentials_for(second) == ("media", "mediapassword")
    assert sd.ice_options_for(second) == ["trickle"]
    assert sd.setup_for(first) is Setup.PASSIVE and sd.setup_for(second) is Setup.ACTIVE
    assert sd.fingerprints_for(first) == [Fingerprint("sha-256", "00:11")]
    assert sd.fingerprints_for(second) == [Fingerprint("sha-1", "22:33")]
    assert sd.connection_for(first) == Connection("192.0.2.1")
    assert sd.connection_for(second) == Connection("192.0.2.2")
    assert str(sd) == text
    assert not sd.end_of_candidates_for(first)
    sd.end_of_candidates = True
    assert sd.end_of_candidates_for(first) and sd.lines[-1] == "a=end-of-candidates"
    assert sd.extmap_allow_mixed_for(first) is False


def test_codec_builders_and_params() -> None:
    media = MediaDescription("video", 9, "UDP/TLS/RTP/SAVPF", [])
    vp8 = Codec(96, "VP8", 90000, feedback=(RtcpFeedback(None, "nack", "pli"),))
    media.add_codec(vp8)
    media.add_codec(Codec(97, "rtx", 90000, parameters="apt=96"))
    media.add_rtcp_feedback(RtcpFeedback(None, "ccm", "fir"))
    assert media.formats == ["96", "97"]
    assert media.lines[1:] == ["a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 nack pli",
                               "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96",
                               "a=rtcp-fb:* ccm fir"]
    rtx = media.codecs()[1]
    assert rtx.params == {"apt": "96"} and rtx.feedback == (RtcpFeedback(None, "ccm", "fir"),)
    assert media.rtcp_feedback(96) == [RtcpFeedback(96, "nack", "pli"),
                                       RtcpFeedback(None, "ccm", "fir")]
    fmtp = media.fmtp(97)
    assert fmtp is not None and fmtp.params == {"apt": "96"}
    assert media.fmtp(96) is None and media.rtpmap(98) is None
    from webrtc.sdp import Fmtp
    built = Fmtp.from_params(111, {"minptime": "10", "useinbandfec": "1", "flag": None})
    assert str(built) == "111 minptime=10;useinbandfec=1;flag"
    assert Fmtp.parse("96").parameters == ""


def test_directions_and_flags() -> None:
    media = MediaDescription("audio", 9, "RTP/AVP", [0])
    assert media.direction is None and media.effective_direction is Direction.SENDRECV
    media.direction = Direction.SENDONLY
    media.add_attribute("x")
    media.direction = Direction.INACTIVE
    assert media.lines[1:] == ["a=inactive", "a=x"]
    assert Direction.SENDONLY.reversed() is Direction.RECVONLY
    assert Direction.SENDRECV.sends and not Direction.RECVONLY.sends
    media.rtcp_mux = True
    media.rtcp_mux = True
    assert media.lines.count("a=rtcp-mux") == 1
    media.rtcp_mux = False
    assert not media.rtcp_mux
    media.end_of_candidates = True
    media.add_candidate(Candidate.parse("candidate:1 1 udp 1 192.0.2.1 5 typ host"))
    assert media.lines[-2:] == ["a=candidate:1 1 udp 1 192.0.2.1 5 typ host",
                                "a=end-of-candidates"]
    media.candidates = []
    assert media.candidates == [] and media.end_of_candidates
    media.direction = None
    assert media.direction is None
