"""Real and hand-written SDPs: exact round trip, and typed accessors against the text.

The Chromium files come from ``capture_chromium.py``, the aiortc ones from
``generate_aiortc.py``; ``handwritten-*`` imitate other stacks (SIP, an
ICE-lite server, a session-level fingerprint as Pion writes it, Firefox, the
legacy ``a=sctpmap`` form).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from webrtc.sdp import (
    Connection,
    Direction,
    ExtMap,
    Fingerprint,
    MediaDescription,
    MsidSemantic,
    Rid,
    RidDirection,
    RtcpFeedback,
    RtpMap,
    SessionDescription,
    Setup,
    Simulcast,
    SimulcastStream,
    SsrcGroup,
)

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.sdp"))


def load(name: str) -> tuple[str, SessionDescription]:
    text = (CORPUS / name).read_bytes().decode("utf-8")
    return text, SessionDescription.parse(text)


def sections(text: str) -> list[list[str]]:
    """An independent naive split of the text into session + media line lists."""
    parts: list[list[str]] = [[]]
    for line in text.split("\r\n")[:-1]:
        if line.startswith("m="):
            parts.append([])
        parts[-1].append(line)
    return parts


def values(lines: list[str], name: str) -> list[str]:
    return [line.split(":", 1)[1] for line in lines if line.startswith(f"a={name}:")]


def first(items: list[str]) -> str | None:
    return items[0] if items else None


def test_corpus_is_complete() -> None:
    names = {path.name for path in FILES}
    for required in [
        "chromium-offer-data.sdp", "chromium-offer-audio-video.sdp",
        "chromium-offer-audio-video-data.sdp", "chromium-offer-recvonly.sdp",
        "chromium-offer-simulcast.sdp", "chromium-offer-renegotiation.sdp",
        "chromium-offer-ice-restart.sdp", "chromium-answer-audio-video-data.sdp",
        "aiortc-offer-data.sdp", "aiortc-answer-chromium.sdp",
        "handwritten-sip-like.sdp", "handwritten-ice-lite-server.sdp",
        "handwritten-session-fingerprint.sdp", "handwritten-firefox-offer.sdp",
    ]:
        assert required in names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_exact_round_trip(path: Path) -> None:
    data = path.read_bytes()
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    text = data.decode("utf-8")
    sd = SessionDescription.parse(text)
    assert str(sd) == text
    # LF-only input is accepted and written back with CRLF.
    assert str(SessionDescription.parse(text.replace("\r\n", "\n"))) == text
    assert SessionDescription.parse(str(sd)) == sd


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_accessors_match_a_naive_scan(path: Path) -> None:
    """Every typed accessor agrees with what a plain line scan finds."""
    text, sd = load(path.name)
    session, *media_texts = sections(text)
    assert sd.lines == session
    assert len(sd.media) == len(media_texts)
    origin_fields = session[1][2:].split(" ")
    assert sd.origin.session_id == int(origin_fields[1])
    assert sd.origin.session_version == int(origin_fields[2])
    assert sd.origin.address == origin_fields[5]
    bundle = [v.split(" ")[1:] for v in values(session, "group") if v.startswith("BUNDLE")]
    assert sd.bundle == (bundle[0] if bundle else None)
    assert sd.ice_lite == ("a=ice-lite" in session)
    assert sd.extmap_allow_mixed == ("a=extmap-allow-mixed" in session)
    for media, lines in zip(sd.media, media_texts, strict=True):
        fields = lines[0][2:].split(" ")
        assert media.kind == fields[0]
        assert media.port == int(fields[1])
        assert media.protocol == fields[2]
        assert media.formats == fields[3:]
        mids = values(lines, "mid")
        assert media.mid == (mids[0] if mids else None)
        directions = [line[2:] for line in lines if line[2:] in
                      ("sendrecv", "sendonly", "recvonly", "inactive")]
        assert media.direction == (Direction(directions[0]) if directions else None)
        assert media.ice_ufrag == first(values(lines, "ice-ufrag"))
        assert media.ice_pwd == first(values(lines, "ice-pwd"))
        assert [str(f) for f in media.fingerprints] == values(lines, "fingerprint")
        assert [c.to_sdp_line() for c in media.candidates] == [
            line for line in lines if line.startswith("a=candidate:")]
        assert media.end_of_candidates == ("a=end-of-candidates" in lines)
        assert media.rtcp_mux == ("a=rtcp-mux" in lines)
        assert media.rtcp_rsize == ("a=rtcp-rsize" in lines)
        rtpmaps = {int(v.split(" ")[0]): v.split(" ")[1] for v in values(lines, "rtpmap")}
        for codec in media.codecs():
            if codec.payload_type in rtpmaps:
                assert str(codec) == rtpmaps[codec.payload_type]
        assert {c.payload_type for c in media.codecs()} >= (
            set(rtpmaps) & set(media.payload_types))
        assert [str(e) for e in media.extmaps] == values(lines, "extmap")
        assert [str(s) for s in media.ssrcs] == values(lines, "ssrc")
        assert [str(m) for m in media.msids] == values(lines, "msid")
        assert [str(r) for r in media.rids] == values(lines, "rid")
        sctp = values(lines, "sctp-port")
        assert media.sctp_port == (int(sctp[0]) if sctp else None)
        # The session-level fallbacks.
        if not media.fingerprints:
            assert sd.fingerprints_for(media) == sd.fingerprints


def test_chromium_data_channel_offer() -> None:
    _, sd = load("chromium-offer-data.sdp")
    assert sd.origin.username == "-" and sd.origin.session_version == 2
    assert sd.bundle == ["0"]
    assert sd.extmap_allow_mixed
    assert sd.msid_semantic is not None and sd.msid_semantic.semantic == "WMS"
    (media,) = sd.media
    assert (media.kind, media.protocol, media.formats) == (
        "application", "UDP/DTLS/SCTP", ["webrtc-datachannel"])
    assert media.mid == "0" and media.setup is Setup.ACTPASS
    assert media.sctp_port == 5000 and media.max_message_size == 262144
    assert media.ice_options == ["trickle"]
    assert len(media.ice_pwd or "") >= 22
    (fingerprint,) = media.fingerprints
    assert fingerprint.algorithm == "sha-256" and len(fingerprint.digest) == 32
    udp, tcp = media.candidates
    assert (udp.transport, udp.address, udp.type, udp.port) == ("udp", "127.0.0.1", "host",
                                                                 media.port)
    assert (tcp.transport, tcp.tcptype, tcp.port) == ("tcp", "active", 9)
    assert udp.network_id == 1 and udp.network_cost is not None and udp.generation == 0
    assert not media.end_of_candidates  # Chromium never sends it in an offer


def test_chromium_audio_video_data_offer() -> None:
    _, sd = load("chromium-offer-audio-video-data.sdp")
    audio, video, data = sd.media
    assert [m.kind for m in sd.media] == ["audio", "video", "application"]
    assert sd.bundle == ["0", "1", "2"]
    assert audio.direction is Direction.SENDRECV and video.direction is Direction.SENDRECV
    opus = audio.codecs()[0]
    assert (opus.payload_type, opus.name, opus.clock_rate, opus.channels) == (
        111, "opus", 48000, 2)
    assert opus.params == {"minptime": "10", "useinbandfec": "1"}
    assert RtcpFeedback(111, "transport-cc") in opus.feedback
    assert ExtMap(1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level") in audio.extmaps
    vp8 = video.codecs()[0]
    assert (vp8.payload_type, vp8.name, vp8.clock_rate) == (96, "VP8", 90000)
    assert RtcpFeedback(96, "nack", "pli") in vp8.feedback
    rtx = video.codecs()[1]
    assert rtx.name == "rtx" and rtx.params == {"apt": "96"}
    (group,) = video.ssrc_groups
    assert group.semantics == "FID" and len(group.ssrcs) == 2
    assert {s.ssrc for s in video.ssrcs} == set(group.ssrcs)
    assert audio.msids[0].stream_id == video.msids[0].stream_id
    assert {s.attribute for s in audio.ssrcs} == {"cname", "msid"}
    assert audio.rtcp is not None and audio.rtcp.port == 9
    assert data.sctp_port == 5000
    # One ICE username fragment and fingerprint for the whole BUNDLE group.
    assert len({m.ice_ufrag for m in sd.media}) == 1
    assert len({m.fingerprints[0] for m in sd.media}) == 1


def test_chromium_recvonly_simulcast_restart_and_answers() -> None:
    _, recvonly = load("chromium-offer-recvonly.sdp")
    assert [m.direction for m in recvonly.media] == [Direction.RECVONLY] * 2
    assert all(not m.ssrcs for m in recvonly.media)

    _, simulcast = load("chromium-offer-simulcast.sdp")
    video = simulcast.media[0]
    assert [r.id for r in video.rids] == ["q", "h", "f"]
    assert all(r.direction is RidDirection.SEND for r in video.rids)
    assert video.simulcast == Simulcast.from_rids(send=["q", "h", "f"])
    assert video.simulcast is not None and video.simulcast.send_rids == ["q", "h", "f"]

    _, first = load("chromium-offer-audio-video-data.sdp")
    _, second = load("chromium-offer-renegotiation.sdp")
    _, restart = load("chromium-offer-ice-restart.sdp")
    assert second.origin.session_id == first.origin.session_id
    assert second.origin.session_version > first.origin.session_version
    assert restart.origin.session_version > second.origin.session_version
    assert len(second.media) == 4 and second.media[3].direction is Direction.RECVONLY
    assert restart.media[0].ice_ufrag != second.media[0].ice_ufrag
    assert restart.media[0].fingerprints == second.media[0].fingerprints

    _, answer = load("chromium-answer-audio-video-data.sdp")
    assert [m.mid for m in answer.media] == [m.mid for m in first.media]
    assert all(m.setup is Setup.ACTIVE for m in answer.media)
    assert answer.extmap_allow_mixed
    assert [m.direction for m in answer.media[:2]] == [Direction.SENDRECV] * 2
    assert answer.media[0].candidates and not answer.media[1].candidates  # bundled


def test_aiortc() -> None:
    _, offer = load("aiortc-offer-data.sdp")
    assert offer.msid_semantic is not None and offer.msid_semantic.identifiers == ("*",)
    (media,) = offer.media
    assert [f.algorithm for f in media.fingerprints] == ["sha-256", "sha-384", "sha-512"]
    assert media.end_of_candidates
    assert media.candidates[0].address == "192.0.2.10"
    _, answer = load("aiortc-answer-chromium.sdp")
    _, chromium = load("chromium-offer-audio-video-data.sdp")
    assert [m.mid for m in answer.media] == [m.mid for m in chromium.media]


def test_handwritten_styles() -> None:
    _, sip = load("handwritten-sip-like.sdp")
    assert sip.origin.username == "alice"
    assert sip.connection is not None and sip.connection.address == "192.0.2.101"
    audio, video = sip.media
    assert sip.connection_for(audio) == sip.connection
    assert [c.name for c in audio.codecs()] == ["PCMU", "PCMA", "G722", "telephone-event"]
    assert audio.rtcp is not None and audio.rtcp.port == 49171 and audio.rtcp.connection is None
    assert not audio.ssrcs and audio.attribute("ptime") == "20"
    assert video.port == 0 and video.rejected and video.direction is Direction.INACTIVE

    _, lite = load("handwritten-ice-lite-server.sdp")
    assert lite.ice_lite
    assert lite.fingerprints[0].algorithm == "sha-256"
    audio = lite.media[0]
    assert lite.fingerprints_for(audio) == lite.fingerprints
    assert audio.setup is Setup.PASSIVE and audio.ice_options == ["renomination"]
    assert audio.candidates[1].tcptype == "passive" and audio.end_of_candidates

    _, pion = load("handwritten-session-fingerprint.sdp")
    assert not pion.media[0].fingerprints and len(pion.fingerprints) == 1
    assert pion.fingerprints_for(pion.media[1]) == pion.fingerprints
    assert pion.media[0].ssrc_groups == [SsrcGroup("FID", (2875421104, 1234567))]
    srflx = pion.media[0].candidates[2]
    assert (srflx.type, srflx.related_address, srflx.related_port) == ("srflx", "0.0.0.0", 51234)

    _, firefox = load("handwritten-firefox-offer.sdp")
    assert firefox.ice_options == ["trickle"]
    audio, video, data = firefox.media
    assert firefox.ice_options_for(audio) == ["trickle"]
    assert audio.candidates[0].is_mdns and audio.candidates[3].address == "2001:db8::1"
    assert ExtMap(2, "urn:ietf:params:rtp-hdrext:csrc-audio-level",
                  Direction.RECVONLY) in audio.extmaps
    assert video.bundle_only and video.port == 0 and not video.rejected
    assert video.rids[0] == Rid("a", RidDirection.SEND, (120,),
                                (("max-width", "1280"), ("max-height", "720")))
    assert video.simulcast == Simulcast(send=(
        (SimulcastStream("a"),), (SimulcastStream("b", paused=True),),
        (SimulcastStream("c"), SimulcastStream("d"))))
    assert [fb.payload_type for fb in video.rtcp_feedback(121)] == [None]
    assert data.max_message_size == 1073741823
    assert isinstance(firefox.fingerprints[0], Fingerprint)

    _, legacy = load("handwritten-legacy-sctpmap.sdp")
    (media,) = legacy.media
    assert media.attribute("sctpmap") == "5000 webrtc-datachannel 1024"
    assert media.sctp_port is None and media.protocol == "DTLS/SCTP"
    assert re.search(r"a=sctpmap:5000", str(legacy))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_typed_values_write_what_the_stacks_wrote(path: Path) -> None:
    """A typed value re-serialized gives the attribute text back: builders write
    what Chromium, aiortc and the others write (only the spacing of
    msid-semantic differs between stacks; ours follows Chromium)."""
    from webrtc.sdp import Candidate, Fmtp, Group, Msid, Rtcp, RtpMap, Ssrc

    types = {"rtpmap": RtpMap.parse, "fmtp": Fmtp.parse, "rtcp-fb": RtcpFeedback.parse,
             "extmap": ExtMap.parse, "ssrc": Ssrc.parse, "ssrc-group": SsrcGroup.parse,
             "msid": Msid.parse, "group": Group.parse, "fingerprint": Fingerprint.parse,
             "rtcp": Rtcp.parse, "rid": Rid.parse, "simulcast": Simulcast.parse}
    _, sd = load(path.name)
    checked = 0
    for section in [sd, *sd.media]:
        for name, value in section.attributes():
            if value is None:
                continue
            if name in types:
                assert str(types[name](value)) == value
                checked += 1
            elif name == "candidate":
                assert Candidate.parse(value).to_attribute_value() == value
                checked += 1
            elif name == "msid-semantic":
                assert str(MsidSemantic.parse(value)).strip() == value.strip()
    assert checked > 0


def test_rebuild_chromium_data_offer_from_scratch() -> None:
    """The builders, called in Chromium's order with the values of its offer,
    write Chromium's offer byte for byte: what a JSEP layer needs."""
    text, offer = load("chromium-offer-data.sdp")
    (source,) = offer.media
    sd = SessionDescription.new(session_id=offer.origin.session_id,
                                session_version=offer.origin.session_version)
    sd.bundle = ["0"]
    sd.extmap_allow_mixed = True
    sd.msid_semantic = MsidSemantic("WMS")
    media = sd.add_media(MediaDescription("application", source.port, "UDP/DTLS/SCTP",
                                          ["webrtc-datachannel"]))
    media.connection = Connection("127.0.0.1")
    for candidate in source.candidates:
        media.add_candidate(candidate)
    media.ice_ufrag = source.ice_ufrag
    media.ice_pwd = source.ice_pwd
    media.ice_options = ["trickle"]
    media.fingerprints = [Fingerprint.from_digest("sha-256", source.fingerprints[0].digest)]
    media.setup = Setup.ACTPASS
    media.mid = "0"
    media.sctp_port = 5000
    media.max_message_size = 262144
    assert str(sd) == text


def rebuild_media(source: MediaDescription) -> MediaDescription:
    """A media section rebuilt through the typed builders only, in the source's order."""
    from webrtc.sdp import Candidate, Msid, Rtcp, Ssrc

    media = MediaDescription(source.kind, source.port, source.protocol, source.formats)
    codecs = {codec.payload_type: codec for codec in source.codecs()}
    for line in source.lines[1:]:
        if line.startswith("c="):
            media.connection = source.connection
            continue
        name, colon, value = line[2:].partition(":")
        if name in ("sendrecv", "sendonly", "recvonly", "inactive"):
            media.direction = Direction(name)
        elif name in ("rtcp-mux", "rtcp-rsize", "end-of-candidates", "bundle-only",
                      "extmap-allow-mixed"):
            setattr(media, name.replace("-", "_"), True)
        elif name == "rtpmap":
            codec = codecs[RtpMap.parse(value).payload_type]
            # Wildcard feedback lines are written once, by add_rtcp_feedback below.
            media.add_codec(replace(codec, feedback=tuple(
                fb for fb in codec.feedback if fb.payload_type is not None)))
        elif name == "rtcp-fb" and value.startswith("*"):
            media.add_rtcp_feedback(RtcpFeedback.parse(value))
        elif name in ("rtcp-fb", "fmtp"):
            continue  # written by add_codec
        elif name in ("mid", "ice-ufrag", "ice-pwd"):
            setattr(media, name.replace("-", "_"), value)
        elif name == "ice-options":
            media.ice_options = value.split(" ")
        elif name == "setup":
            media.setup = Setup(value)
        elif name in ("sctp-port", "max-message-size"):
            setattr(media, name.replace("-", "_"), int(value))
        elif name == "simulcast":
            media.simulcast = Simulcast.parse(value)
        else:
            adders = {"candidate": (media.add_candidate, Candidate.parse),
                      "fingerprint": (media.add_fingerprint, Fingerprint.parse),
                      "extmap": (media.add_extmap, ExtMap.parse),
                      "msid": (media.add_msid, Msid.parse),
                      "ssrc": (media.add_ssrc, Ssrc.parse),
                      "ssrc-group": (media.add_ssrc_group, SsrcGroup.parse),
                      "rid": (media.add_rid, Rid.parse),
                      "rtcp": (lambda rtcp: setattr(media, "rtcp", rtcp), Rtcp.parse)}
            if name in adders:
                add, parse = adders[name]
                add(parse(value))  # type: ignore[operator]
            else:
                media.add_attribute(name, value if colon else None)
    return media


@pytest.mark.parametrize("path", sorted(CORPUS.glob("chromium-*.sdp")), ids=lambda p: p.name)
def test_builders_rebuild_chromium_media_sections(path: Path) -> None:
    text, sd = load(path.name)
    rebuilt = SessionDescription(list(sd.lines), [rebuild_media(m) for m in sd.media])
    assert str(rebuilt) == text
