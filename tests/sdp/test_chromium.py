"""Chromium accepts offers built from scratch with this library, and we read its answers.

Runs headless Chromium in a private network namespace through
``capture_chromium.py --answer`` (BROWSER-TESTS.md); skipped with the reason
when Chromium, ``unshare`` or root is missing.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

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
    Rtcp,
    RtcpFeedback,
    SessionDescription,
    Setup,
    Ssrc,
    SsrcGroup,
)

pytestmark = [pytest.mark.browser, pytest.mark.interop]

CAPTURE = Path(__file__).parent / "capture_chromium.py"


def chromium_answer(offer: SessionDescription, tmp_path: Path) -> SessionDescription:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not found")
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare/ip (util-linux, iproute2) not found")
    if os.geteuid() != 0:
        pytest.skip("a private network namespace needs root")
    offer_path, answer_path = tmp_path / "offer.sdp", tmp_path / "answer.sdp"
    offer_path.write_bytes(bytes(offer))
    result = subprocess.run(
        [sys.executable, str(CAPTURE), "--chromium", chromium, "--timeout", "60",
         "--answer", str(offer_path), "--answer-out", str(answer_path)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return SessionDescription.parse(answer_path.read_bytes().decode("utf-8"))


def transport(media: MediaDescription, rng: random.Random, mid: str) -> None:
    """The ICE/DTLS lines JSEP puts in every bundled section."""
    media.connection = Connection("127.0.0.1")
    media.add_candidate(Candidate("1", 1, "udp", 2122260223, "127.0.0.1", 9, "host",
                                  generation=0))
    media.ice_ufrag = "Ufr4"
    media.ice_pwd = "passwordpasswordpassword"
    media.ice_options = ["trickle"]
    media.fingerprints = [Fingerprint.from_digest("sha-256", rng.randbytes(32))]
    media.setup = Setup.ACTPASS
    media.mid = mid


def data_channel_offer(rng: random.Random) -> SessionDescription:
    sd = SessionDescription.new(session_id=rng.getrandbits(62), session_version=1)
    sd.bundle = ["0"]
    sd.msid_semantic = MsidSemantic("WMS")
    media = sd.add_media(MediaDescription("application", 9, "UDP/DTLS/SCTP",
                                          ["webrtc-datachannel"]))
    transport(media, rng, "0")
    media.sctp_port = 5000
    media.max_message_size = 262144
    return sd


def test_chromium_answers_a_built_data_channel_offer(tmp_path: Path) -> None:
    rng = random.Random(1)
    offer = data_channel_offer(rng)
    answer = chromium_answer(offer, tmp_path)
    assert answer.bundle == ["0"]
    (media,) = answer.media
    assert media.kind == "application" and media.mid == "0"
    assert media.setup is Setup.ACTIVE
    assert media.sctp_port == 5000 and media.max_message_size == 262144
    assert media.fingerprints[0].algorithm == "sha-256"
    assert media.ice_ufrag and media.ice_pwd and media.ice_ufrag != "Ufr4"
    assert all(c.address == "127.0.0.1" for c in media.candidates)


def test_chromium_answers_a_built_audio_video_data_offer(tmp_path: Path) -> None:
    rng = random.Random(2)
    sd = SessionDescription.new(session_id=rng.getrandbits(62), session_version=1)
    sd.bundle = ["a", "v", "d"]
    sd.extmap_allow_mixed = True
    sd.msid_semantic = MsidSemantic("WMS", ("stream",))

    audio = sd.add_media(MediaDescription("audio", 9, "UDP/TLS/RTP/SAVPF", []))
    transport(audio, rng, "a")
    audio.rtcp = Rtcp(9, Connection("0.0.0.0"))
    audio.add_extmap(ExtMap(1, "urn:ietf:params:rtp-hdrext:sdes:mid"))
    audio.add_extmap(ExtMap(2, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"))
    audio.direction = Direction.SENDRECV
    audio.add_msid(Msid("stream", "audio-track"))
    audio.rtcp_mux = True
    audio.rtcp_rsize = True
    audio.add_codec(Codec(111, "opus", 48000, 2, "minptime=10;useinbandfec=1",
                          (RtcpFeedback(None, "transport-cc"),)))
    audio.add_codec(Codec(0, "PCMU", 8000))
    audio.add_ssrc(Ssrc(1111, "cname", "built"))
    audio.add_ssrc(Ssrc(1111, "msid", "stream audio-track"))

    video = sd.add_media(MediaDescription("video", 9, "UDP/TLS/RTP/SAVPF", []))
    transport(video, rng, "v")
    video.add_extmap(ExtMap(1, "urn:ietf:params:rtp-hdrext:sdes:mid"))
    video.direction = Direction.SENDONLY
    video.add_msid(Msid("stream", "video-track"))
    video.rtcp_mux = True
    video.rtcp_rsize = True
    video.add_codec(Codec(96, "VP8", 90000, feedback=(
        RtcpFeedback(None, "nack"), RtcpFeedback(None, "nack", "pli"),
        RtcpFeedback(None, "ccm", "fir"))))
    video.add_codec(Codec(97, "rtx", 90000, parameters="apt=96"))
    video.add_ssrc_group(SsrcGroup("FID", (2222, 3333)))
    for ssrc in (2222, 3333):
        video.add_ssrc(Ssrc(ssrc, "cname", "built"))

    data = sd.add_media(MediaDescription("application", 9, "UDP/DTLS/SCTP",
                                         ["webrtc-datachannel"]))
    transport(data, rng, "d")
    data.sctp_port = 5000
    data.max_message_size = 262144

    assert SessionDescription.parse(str(sd)) == sd
    answer = chromium_answer(sd, tmp_path)
    assert answer.bundle == ["a", "v", "d"]
    audio_answer, video_answer, data_answer = answer.media
    assert [m.mid for m in answer.media] == ["a", "v", "d"]
    assert all(m.setup is Setup.ACTIVE for m in answer.media)
    # No local tracks in the answering page: it receives what we send.
    assert audio_answer.direction is Direction.RECVONLY
    assert video_answer.direction is Direction.RECVONLY
    opus = audio_answer.codecs()[0]
    assert (opus.payload_type, opus.name, opus.clock_rate, opus.channels) == (
        111, "opus", 48000, 2)
    assert {c.name for c in video_answer.codecs()} == {"VP8", "rtx"}
    rtx = next(c for c in video_answer.codecs() if c.name == "rtx")
    assert rtx.params == {"apt": "96"}
    assert ExtMap(1, "urn:ietf:params:rtp-hdrext:sdes:mid") in audio_answer.extmaps
    assert audio_answer.rtcp_mux and video_answer.rtcp_mux
    assert data_answer.sctp_port == 5000
