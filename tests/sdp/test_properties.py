"""Hypothesis: built descriptions round-trip; any text parses or raises SdpParseError only."""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    Origin,
    Rid,
    RidDirection,
    Rtcp,
    RtcpFeedback,
    SdpParseError,
    SessionDescription,
    Setup,
    Simulcast,
    SimulcastStream,
    Ssrc,
    SsrcGroup,
)
from webrtc.sdp.description import KNOWN_ATTRIBUTES

# SDP_EXAMPLES=2000 for a longer hunt; the default keeps the suite quick.
SETTINGS = settings(max_examples=int(os.environ.get("SDP_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.sdp"))

TOKEN_CHARS = "!#$%&'*+-." + string.digits + string.ascii_letters + "^_`{|}~"
tokens = st.text(TOKEN_CHARS, min_size=1, max_size=12)
# A field: visible characters without spaces, non-ASCII included.
fields = st.text(
    st.characters(blacklist_categories=["Cs", "Cc", "Zs", "Zl", "Zp"],
                  blacklist_characters=" \x7f"),
    min_size=1, max_size=16,
)
# Free text after an attribute's fixed fields: anything but CR, LF and NUL.
free_text = st.text(st.characters(blacklist_categories=["Cs"],
                                  blacklist_characters="\r\n\x00"), max_size=24)
payload_types = st.integers(0, 127)
u32 = st.integers(0, 2**32 - 1)
rid_ids = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=8)
ice_chars = st.text(string.ascii_letters + string.digits + "+/", min_size=1, max_size=32)
printable = st.text(string.ascii_letters + string.digits + string.punctuation,
                    min_size=1, max_size=16)


def hex_digest(size: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=size, max_size=size)


fingerprints = st.builds(
    lambda algorithm, digest, lower: Fingerprint(
        algorithm, digest.hex(":").lower() if lower else digest.hex(":").upper()),
    st.sampled_from(["sha-1", "sha-256", "sha-512", "SHA-256"]),
    st.integers(1, 64).flatmap(hex_digest), st.booleans(),
)
connections = st.builds(Connection, fields, tokens, tokens)
extmaps = st.builds(ExtMap, st.integers(1, 4351), fields,
                    st.none() | st.sampled_from(list(Direction)), st.none() | free_text)
ssrcs = st.builds(Ssrc, u32, tokens, st.none() | free_text)
ssrc_groups = st.builds(SsrcGroup, tokens, st.lists(u32, max_size=4).map(tuple))
msids = st.builds(Msid, fields, st.none() | fields)
restriction_values = st.text(string.ascii_letters + string.digits + "=-.", max_size=6)
rids = st.builds(
    Rid, rid_ids, st.sampled_from(list(RidDirection)),
    st.lists(payload_types, max_size=3).map(tuple),
    st.lists(st.tuples(tokens.filter(lambda t: t != "pt"), st.none() | restriction_values),
             max_size=3).map(tuple),
)
simulcast_side = st.lists(
    st.lists(st.builds(SimulcastStream, rid_ids, st.booleans()), min_size=1, max_size=3)
    .map(tuple), max_size=3).map(tuple)
simulcasts = st.builds(Simulcast, simulcast_side, simulcast_side).filter(
    lambda s: bool(s.send or s.recv))
feedbacks = st.builds(RtcpFeedback, st.none(), tokens, st.none() | free_text)
codecs = st.builds(Codec, payload_types, tokens, u32, st.none() | st.integers(0, 255),
                   st.none() | free_text, st.lists(feedbacks, max_size=3).map(tuple))
extension_keys = printable.filter(
    lambda k: k not in ("raddr", "rport", "tcptype", "generation", "ufrag", "network-id",
                        "network-cost"))


@st.composite
def candidates(draw: st.DrawFn) -> Candidate:
    related = draw(st.booleans())
    return Candidate(
        foundation=draw(ice_chars),
        component=draw(st.integers(0, 256)),
        transport=draw(st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9-]{0,5}", fullmatch=True)),
        priority=draw(u32),
        address=draw(printable),
        port=draw(st.integers(0, 65535)),
        type=draw(st.sampled_from(["host", "srflx", "prflx", "relay", "x1"])),
        related_address=draw(printable) if related else None,
        related_port=draw(st.integers(0, 65535)) if related else None,
        tcptype=draw(st.none() | st.sampled_from(["active", "passive", "so"])),
        generation=draw(st.none() | u32),
        ufrag=draw(st.none() | printable),
        network_id=draw(st.none() | st.integers(0, 65535)),
        network_cost=draw(st.none() | st.integers(0, 65535)),
        extensions=tuple(draw(st.lists(st.tuples(extension_keys, printable), max_size=2))),
    )


unknown_names = tokens.filter(lambda name: name not in KNOWN_ATTRIBUTES)


@dataclass
class MediaSpec:
    kind: str
    port: int
    protocol: str
    formats: list[str]
    values: dict[str, object] = field(default_factory=dict)


@st.composite
def media_specs(draw: st.DrawFn) -> MediaSpec:
    spec = MediaSpec(
        kind=draw(tokens), port=draw(st.integers(0, 65535)),
        protocol="/".join(draw(st.lists(tokens, min_size=1, max_size=4))),
        formats=[str(pt) for pt in draw(st.lists(payload_types, min_size=1, max_size=4))],
    )
    optional = {
        "connection": connections,
        "mid": fields,
        "direction": st.sampled_from(list(Direction)),
        "ice_ufrag": fields,
        "ice_pwd": fields,
        "ice_options": st.lists(tokens, min_size=1, max_size=3),
        "fingerprints": st.lists(fingerprints, min_size=1, max_size=2),
        "setup": st.sampled_from(list(Setup)),
        "rtcp": st.builds(Rtcp, st.integers(0, 65535), st.none() | connections),
        "rtcp_mux": st.booleans(),
        "rtcp_rsize": st.booleans(),
        "extmap_allow_mixed": st.booleans(),
        "codecs": st.lists(codecs, max_size=3, unique_by=lambda c: c.payload_type),
        "extmaps": st.lists(extmaps, min_size=1, max_size=3),
        "ssrcs": st.lists(ssrcs, min_size=1, max_size=3),
        "ssrc_groups": st.lists(ssrc_groups, min_size=1, max_size=2),
        "msids": st.lists(msids, min_size=1, max_size=2),
        "rids": st.lists(rids, min_size=1, max_size=3),
        "simulcast": simulcasts,
        "sctp_port": st.integers(0, 65535),
        "max_message_size": st.integers(0, 2**64 - 1),
        "candidates": st.lists(candidates(), min_size=1, max_size=3),
        "end_of_candidates": st.booleans(),
        "unknown": st.lists(st.tuples(unknown_names, st.none() | free_text), max_size=3),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=12))
    for name in chosen:
        spec.values[name] = draw(optional[name])
    return spec


def build_media(spec: MediaSpec) -> MediaDescription:
    media = MediaDescription(spec.kind, spec.port, spec.protocol, spec.formats)
    for name, value in spec.values.items():
        if name == "codecs":
            for codec in value:  # type: ignore[attr-defined]
                media.add_codec(codec)
        elif name == "ssrcs":
            for ssrc in value:  # type: ignore[attr-defined]
                media.add_ssrc(ssrc)
        elif name == "ssrc_groups":
            for group in value:  # type: ignore[attr-defined]
                media.add_ssrc_group(group)
        elif name == "unknown":
            for attribute, item in value:  # type: ignore[attr-defined]
                media.add_attribute(attribute, item)
        else:
            setattr(media, name, value)
    return media


def check_media(media: MediaDescription, spec: MediaSpec) -> None:
    assert media.kind == spec.kind and media.port == spec.port
    assert media.protocol == spec.protocol
    expected_formats = list(spec.formats)
    for name, value in spec.values.items():
        if name == "codecs":
            got = {c.payload_type: c for c in media.codecs()}
            for codec in value:  # type: ignore[attr-defined]
                if str(codec.payload_type) not in expected_formats:
                    expected_formats.append(str(codec.payload_type))
                # add_codec writes the feedback lines for the codec's payload type.
                assert got[codec.payload_type] == replace(codec, feedback=tuple(
                    replace(fb, payload_type=codec.payload_type) for fb in codec.feedback))
                assert media.rtpmap(codec.payload_type) is not None
        elif name == "unknown":
            for attribute, item in value:  # type: ignore[attr-defined]
                assert (attribute, item) in media.attributes()
        elif name in ("ice_options",):
            assert media.ice_options == value
        else:
            assert getattr(media, name) == value, name
    assert media.formats == expected_formats


@st.composite
def descriptions(draw: st.DrawFn) -> tuple[SessionDescription, dict[str, object],
                                           list[MediaSpec]]:
    origin = draw(st.builds(Origin, fields, st.integers(0, 2**64 - 1),
                            st.integers(0, 2**64 - 1), tokens, tokens, fields))
    sd = SessionDescription.new(session_id=origin.session_id)
    sd.origin = origin
    session: dict[str, object] = {"origin": origin}
    specs = draw(st.lists(media_specs(), max_size=4))
    if draw(st.booleans()):
        session["bundle"] = draw(st.lists(fields, max_size=4))
    if draw(st.booleans()):
        session["msid_semantic"] = draw(st.builds(
            MsidSemantic, tokens, st.lists(fields, max_size=2).map(tuple)))
    for flag in ("extmap_allow_mixed", "ice_lite"):
        session[flag] = draw(st.booleans())
    if draw(st.booleans()):
        session["fingerprints"] = draw(st.lists(fingerprints, min_size=1, max_size=2))
    if draw(st.booleans()):
        session["connection"] = draw(connections)
    for name, value in session.items():
        setattr(sd, name, value)
    for spec in specs:
        sd.add_media(build_media(spec))
    return sd, session, specs


@SETTINGS
@given(descriptions())
def test_built_descriptions_round_trip(
        generated: tuple[SessionDescription, dict[str, object], list[MediaSpec]]) -> None:
    sd, session, specs = generated
    text = str(sd)
    parsed = SessionDescription.parse(text)
    assert parsed == sd
    assert str(parsed) == text
    for name, value in session.items():
        assert getattr(parsed, name) == value, name
    for media, spec in zip(parsed.media, specs, strict=True):
        check_media(media, spec)


def exercise(sd: SessionDescription) -> None:
    """Every accessor of a parsed description answers without raising."""
    for name in ("origin", "session_name", "timing", "groups", "bundle", "msid_semantic",
                 "ice_lite", "connection", "ice_ufrag", "ice_pwd", "ice_options",
                 "fingerprints", "setup", "extmaps", "extmap_allow_mixed"):
        getattr(sd, name)
    for media in sd.media:
        for name in ("kind", "port", "port_count", "protocol", "formats", "payload_types",
                     "mid", "direction", "connection", "ice_ufrag", "ice_pwd",
                     "ice_options", "fingerprints", "setup", "rtcp", "rtcp_mux", "rtcp_rsize",
                     "rtpmaps", "fmtps", "rtcp_feedbacks", "extmaps", "ssrcs", "ssrc_groups",
                     "msids", "rids", "simulcast", "sctp_port", "max_message_size",
                     "candidates", "end_of_candidates", "bundle_only", "rejected"):
            getattr(media, name)
        media.codecs()
        sd.ice_credentials_for(media)
        sd.fingerprints_for(media)


def normalized(text: str) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return "\r\n".join(lines) + "\r\n"


def parse_or_error(text: str) -> None:
    try:
        sd = SessionDescription.parse(text)
    except SdpParseError as exc:
        assert exc.line_number is None or exc.line_number >= 1
        return
    assert str(sd) == normalized(text)
    exercise(sd)


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_sdp_parse_error(text: str) -> None:
    parse_or_error(text)


sdp_alphabet = st.sampled_from([*"vosctma=: /0123456789\r\nINIP4-*~;,.",
    "\x00", "é", "\u2028", "a=rtpmap:", "a=candidate:", "a=extmap:", "a=fmtp:", "a=ssrc:",
    "a=rid:", "a=simulcast:", "a=msid:", "a=group:", "a=rtcp:", "a=fingerprint:",
])


@SETTINGS
@given(st.lists(sdp_alphabet, max_size=120).map("".join))
def test_sdp_like_text_raises_only_sdp_parse_error(text: str) -> None:
    parse_or_error("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" + text)


@SETTINGS
@given(st.sampled_from(CORPUS), st.data())
def test_mutated_corpus_raises_only_sdp_parse_error(path: Path, data: st.DataObject) -> None:
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        position = data.draw(st.integers(0, len(line)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        piece = data.draw(st.text(max_size=3) | sdp_alphabet)
        if action == "insert":
            line = line[:position] + piece + line[position:]
        elif action == "delete":
            line = line[:position] + line[position + 1:]
        elif action == "replace":
            line = line[:position] + piece + line[position + len(piece):]
        else:
            line = line[:position]
        lines[index] = line
    parse_or_error("\r\n".join(lines))


def test_huge_numbers_are_parse_errors() -> None:
    digits = "9" * 5000
    for text in (
        f"v=0\r\no=- {digits} 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        f"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=rtpmap:{digits} x/1\r\n",
        f"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt={digits} 0\r\n",
    ):
        with pytest.raises(SdpParseError):
            SessionDescription.parse(text)
    with pytest.raises(SdpParseError):
        Candidate.parse(f"candidate:1 1 udp {digits} 1.2.3.4 5 typ host")


@SETTINGS
@given(candidates())
def test_candidate_round_trip(candidate: Candidate) -> None:
    for text in (str(candidate), candidate.to_sdp_line(), candidate.to_attribute_value()):
        parsed = Candidate.parse(text)
        assert parsed == candidate
        assert str(parsed) == str(candidate)


@SETTINGS
@given(st.text(max_size=120) | st.lists(sdp_alphabet, max_size=40).map(
    lambda parts: "candidate:1 1 udp 2 h 5 typ host " + "".join(parts)))
def test_candidate_arbitrary_text(text: str) -> None:
    try:
        candidate = Candidate.parse(text)
    except SdpParseError:
        return
    assert Candidate.parse(str(candidate)) == candidate


def test_builders_refuse_line_breaks() -> None:
    media = MediaDescription("audio", 9, "RTP/AVP", [0])
    with pytest.raises(ValueError, match="cannot contain"):
        media.add_attribute("x", "a\r\nb")
    with pytest.raises(ValueError, match="tokens"):
        media.add_attribute("bad name")
    with pytest.raises(ValueError):
        media.mid = "two words"
    with pytest.raises(ValueError):
        MediaDescription("audio", 70000, "RTP/AVP", [0])
    with pytest.raises(ValueError, match="tokens"):
        MediaDescription("audio", 9, "RTP//AVP", [0])


@pytest.mark.parametrize("build", [
    lambda m: setattr(m, "ice_ufrag", "two words"),
    lambda m: m.add_attribute("rtpmap", "x opus/48000"),
    lambda m: m.add_attribute("rtcp-mux", "yes"),
    lambda m: m.add_attribute("mid"),
    lambda m: m.set_attribute("setup", "sideways"),
    lambda m: setattr(m, "connection", Connection("two words")),
    lambda m: m.add_candidate(Candidate("no space", 1, "udp", 1, "192.0.2.1", 1, "host")),
    lambda m: m.add_extmap(ExtMap(0, "urn:x")),
    lambda m: m.add_ssrc(Ssrc(2**32, "cname", "x")),
    lambda m: setattr(m, "msids", [Msid("a b")]),
])
def test_builders_refuse_what_parse_would_refuse(build: object) -> None:
    media = MediaDescription("audio", 9, "RTP/AVP", [0])
    before = list(media.lines)
    with pytest.raises(ValueError):
        build(media)  # type: ignore[operator]
    assert media.lines == before
