"""JSEP for data channels (webrtc.sdp.jsep): offers, answers, remote parameters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.sdp import Fingerprint, SessionDescription
from webrtc.sdp.attributes import Setup
from webrtc.sdp.candidate import Candidate
from webrtc.sdp.jsep import (
    DEFAULT_MAX_MESSAGE_SIZE,
    JsepError,
    LocalParameters,
    create_answer,
    create_offer,
    dtls_role_is_client,
    remote_parameters,
)

FINGERPRINT = Fingerprint.from_digest("sha-256", bytes(range(32)))
HOST = Candidate.parse("candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host")

# A Chromium 156 data-channel offer (trimmed of nothing: what the page produced).
CHROMIUM_OFFER = "\r\n".join([
    "v=0", "o=- 4962303333179871722 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
    "a=group:BUNDLE 0", "a=extmap-allow-mixed", "a=msid-semantic: WMS",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0",
    "a=candidate:2990508302 1 udp 2122260223 127.0.0.1 60527 typ host generation 0 "
    "network-id 1 network-cost 50",
    "a=ice-ufrag:AGlK", "a=ice-pwd:Xq2n2uO4b8Bqz0yq6b3b2b7x", "a=ice-options:trickle",
    "a=fingerprint:sha-256 " + FINGERPRINT.value, "a=setup:actpass", "a=mid:0",
    "a=sctp-port:5000", "a=max-message-size:262144", ""])


def local(**changes: object) -> LocalParameters:
    values: dict[str, object] = {"ice_ufrag": "abcd", "ice_pwd": "0123456789abcdefghijkl",
                                 "fingerprints": (FINGERPRINT,)}
    values.update(changes)
    return LocalParameters(**values)  # type: ignore[arg-type]


def test_offer_has_one_bundled_data_section_with_actpass() -> None:
    offer = create_offer(local(candidates=(HOST,)))
    text = str(offer)
    assert "a=group:BUNDLE 0\r\n" in text
    assert text.count("m=") == 1
    assert "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" in text
    for line in ("a=setup:actpass", "a=ice-options:trickle", "a=sctp-port:5000",
                 "a=max-message-size:262144", "a=ice-ufrag:abcd", "a=mid:0",
                 "a=fingerprint:sha-256 " + FINGERPRINT.value, HOST.to_sdp_line()):
        assert line + "\r\n" in text
    assert SessionDescription.parse(text) == offer


def test_answer_to_chromium_offer_is_active_and_keeps_the_mid() -> None:
    offer = SessionDescription.parse(CHROMIUM_OFFER)
    answer = create_answer(offer, local())
    media = answer.media[0]
    assert media.setup is Setup.ACTIVE
    assert media.mid == "0"
    assert answer.bundle == ["0"]
    theirs = remote_parameters(offer)
    assert theirs.ice_ufrag == "AGlK"
    assert theirs.max_message_size == 262144
    assert theirs.candidates[0].port == 60527
    assert theirs.setup is Setup.ACTPASS
    assert dtls_role_is_client(media.setup, theirs.setup)


def test_answer_rejects_media_sections_in_place() -> None:
    audio = CHROMIUM_OFFER.replace(
        "m=application", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
        "a=mid:a\r\na=rtpmap:111 opus/48000/2\r\nm=application")
    offer = SessionDescription.parse(audio)
    answer = create_answer(offer, local())
    assert [m.kind for m in answer.media] == ["audio", "application"]
    assert answer.media[0].port == 0
    assert answer.media[1].mid == "0"


def test_defaults_from_rfc_8841() -> None:
    text = CHROMIUM_OFFER.replace("a=max-message-size:262144\r\n", "")
    assert remote_parameters(SessionDescription.parse(text)).max_message_size == \
        DEFAULT_MAX_MESSAGE_SIZE
    text = CHROMIUM_OFFER.replace("a=max-message-size:262144", "a=max-message-size:0")
    assert remote_parameters(SessionDescription.parse(text)).max_message_size == 0


def test_session_level_credentials_and_fingerprint_apply() -> None:
    text = CHROMIUM_OFFER.replace("a=ice-ufrag:AGlK\r\n", "").replace(
        "a=msid-semantic: WMS", "a=msid-semantic: WMS\r\na=ice-ufrag:SESS")
    assert remote_parameters(SessionDescription.parse(text)).ice_ufrag == "SESS"


@pytest.mark.parametrize(("removed", "message"), [
    ("a=ice-pwd:Xq2n2uO4b8Bqz0yq6b3b2b7x\r\n", "ice-ufrag"),
    ("a=fingerprint:sha-256 " + FINGERPRINT.value + "\r\n", "fingerprint"),
])
def test_missing_transport_attributes_are_errors(removed: str, message: str) -> None:
    with pytest.raises(JsepError, match=message):
        remote_parameters(SessionDescription.parse(CHROMIUM_OFFER.replace(removed, "")))


def test_description_without_data_section_is_an_error() -> None:
    text = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    with pytest.raises(JsepError, match="data-channel"):
        remote_parameters(SessionDescription.parse(text))


def test_dtls_roles() -> None:
    assert dtls_role_is_client(Setup.ACTIVE, Setup.ACTPASS)
    assert not dtls_role_is_client(Setup.PASSIVE, Setup.ACTPASS)
    assert not dtls_role_is_client(Setup.ACTPASS, Setup.ACTIVE)
    assert dtls_role_is_client(Setup.ACTPASS, Setup.PASSIVE)


@settings(max_examples=50, deadline=None)
@given(ufrag=st.text("abcdefXYZ0123+/", min_size=4, max_size=32),
       pwd=st.text("abcdefXYZ0123+/", min_size=22, max_size=64),
       port=st.integers(1, 65535), size=st.integers(0, 2**31))
def test_offer_answer_round_trip(ufrag: str, pwd: str, port: int, size: int) -> None:
    parameters = local(ice_ufrag=ufrag, ice_pwd=pwd, sctp_port=port, max_message_size=size)
    offer = SessionDescription.parse(str(create_offer(parameters, mid="data")))
    seen = remote_parameters(offer)
    assert (seen.ice_ufrag, seen.ice_pwd, seen.sctp_port, seen.max_message_size,
            seen.mid) == (ufrag, pwd, port, size, "data")
    answer = SessionDescription.parse(str(create_answer(offer, parameters)))
    assert remote_parameters(answer).mid == "data"
    assert remote_parameters(answer).setup is Setup.ACTIVE
