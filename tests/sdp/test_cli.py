"""``python -m webrtc sdp FILE|-``: the summary, and exit 1 with the line number on errors."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from webrtc.sdp import SessionDescription
from webrtc.sdp.cli import main

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "sdp" / "corpus"
MAIN_FILE = CORPUS / "chromium-offer-audio-video-data.sdp"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "webrtc", "sdp", *args], input=stdin,
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)


def test_summary_of_the_readme_file() -> None:
    result = run(str(MAIN_FILE))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    sd = SessionDescription.parse(MAIN_FILE.read_bytes().decode())
    assert f"BUNDLE: {' '.join(sd.bundle or [])}" in out
    for index, media in enumerate(sd.media):
        assert f"media {index}: {media.kind} port {media.port} {media.protocol} " \
               f"mid={media.mid} sendrecv" in out
    audio = sd.media[0]
    assert f"ICE: ufrag {audio.ice_ufrag} pwd {audio.ice_pwd} options trickle" in out
    assert f"fingerprint: sha-256 {audio.fingerprints[0].value}" in out
    assert "111 opus/48000/2 [minptime=10;useinbandfec=1]" in out
    assert "96 VP8/90000" in out
    assert "data channels: sctp-port 5000, max-message-size 262144" in out
    assert str(audio.candidates[0]) in out
    assert "setup: actpass" in out


def test_stdin_and_lf_only() -> None:
    text = MAIN_FILE.read_bytes().decode().replace("\r\n", "\n")
    result = run("-", stdin=text)
    assert result.returncode == 0, result.stderr
    assert "media 2: application" in result.stdout


def test_parse_error_exit_1_with_line_number(tmp_path: Path) -> None:
    lines = MAIN_FILE.read_bytes().decode().split("\r\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("a=rtpmap:"))
    lines[index] = "a=rtpmap:abc opus/48000/2"
    path = tmp_path / "bad.sdp"
    path.write_text("\r\n".join(lines), newline="")
    result = run(str(path))
    assert result.returncode == 1
    assert f"line {index + 1}:" in result.stderr
    assert "a=rtpmap:abc opus/48000/2" in result.stderr
    assert result.stdout == ""


def test_direct_calls(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert main([str(CORPUS / "handwritten-ice-lite-server.sdp")]) == 0
    out = capsys.readouterr().out
    assert "session: ice-lite" in out
    assert "candidates: 2 (end-of-candidates)" in out
    assert "fingerprint: sha-256 3C:4A" in out  # session level, shown per media
    assert main([str(CORPUS / "handwritten-sip-like.sdp")]) == 0
    out = capsys.readouterr().out
    assert "connection: IN IP4 192.0.2.101 (rtcp port 49171)" in out  # session level
    assert "media 1: video port 0 RTP/AVP mid=- inactive (rejected)" in out
    assert "101 telephone-event/8000 [0-15]" in out
    assert main([]) == 2
    assert main([str(tmp_path / "missing.sdp")]) == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO("v=0\nnonsense\n"))
    assert main(["-"]) == 1
    assert "line 2:" in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.sdp")), ids=lambda p: p.name)
def test_every_corpus_file_summarizes(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(path)]) == 0
    assert capsys.readouterr().out.startswith("SDP session ")
