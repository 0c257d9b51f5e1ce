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

from webrtc.sdp import Direction, ExtMap, SessionDescription, Setup

from .offers import audio_video_data_offer, data_channel_offer

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
    sd = audio_video_data_offer(random.Random(2))
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
