"""Differential checks against aiortc's independent SDP parser (no network).

aiortc reads the corpus and the descriptions our builders write, and must find
the same media sections, mids, ICE credentials, fingerprints, candidates,
directions, codecs, ssrcs and SCTP ports that our typed accessors return.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from webrtc.sdp import MediaDescription, SessionDescription

from .offers import audio_video_data_offer, data_channel_offer

aiortc_sdp = pytest.importorskip("aiortc.sdp", reason="aiortc not installed")

CORPUS = Path(__file__).parent / "corpus"
# aiortc 1.x raises StopIteration on an a=fmtp for a payload type missing from
# the m= line, which the Firefox-style file has (a=fmtp:126).
AIORTC_CANNOT_PARSE = {"handwritten-firefox-offer.sdp"}


def compare(text: str) -> int:
    theirs = aiortc_sdp.SessionDescription.parse(text)
    ours = SessionDescription.parse(text)
    assert [g.items for g in theirs.group if g.semantic == "BUNDLE"][:1] == (
        [ours.bundle] if ours.bundle is not None else [])
    for their, mine in zip(theirs.media, ours.media, strict=True):
        check_media(ours, their, mine)
    return len(ours.media)


def check_media(sd: SessionDescription, m: Any, mine: MediaDescription) -> None:
    """``m`` is aiortc's MediaDescription."""
    assert (m.kind, m.port, m.profile) == (mine.kind, mine.port, mine.protocol)
    assert [str(f) for f in m.fmt] == mine.formats
    assert m.rtp.muxId == (mine.mid or "")
    assert m.direction == (mine.direction.value if mine.direction else None)
    credentials = sd.ice_credentials_for(mine)
    if credentials is not None:
        assert (m.ice.usernameFragment, m.ice.password) == credentials
    if m.dtls is not None:
        assert [(f.algorithm, f.value) for f in m.dtls.fingerprints] == [
            (f.algorithm, f.value) for f in sd.fingerprints_for(mine)]
    assert [(c.foundation, c.ip, c.port, c.priority, c.type)
            for c in m.ice_candidates] == [
        (c.foundation, c.address, c.port, c.priority, c.type) for c in mine.candidates]
    mapped = {r.payload_type for r in mine.rtpmaps}
    assert [(c.payloadType, c.mimeType.split("/")[1].lower(), c.clockRate)
            for c in m.rtp.codecs if c.payloadType in mapped] == [
        (c.payload_type, c.name.lower(), c.clock_rate) for c in mine.codecs()
        if c.payload_type in mapped]
    ssrcs = [s.ssrc for s in mine.ssrcs]
    assert [s.ssrc for s in m.ssrc] == sorted(set(ssrcs), key=ssrcs.index)
    assert m.sctp_port == mine.sctp_port


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.sdp")), ids=lambda p: p.name)
def test_corpus_agrees_with_aiortc(path: Path) -> None:
    if path.name in AIORTC_CANNOT_PARSE:
        with pytest.raises(Exception):  # noqa: B017 (any aiortc failure)
            aiortc_sdp.SessionDescription.parse(path.read_bytes().decode())
        return
    assert compare(path.read_bytes().decode()) >= 1


@pytest.mark.parametrize("seed", range(3))
def test_aiortc_reads_what_the_builders_write(seed: int) -> None:
    for offer in (data_channel_offer(random.Random(seed)),
                  audio_video_data_offer(random.Random(seed))):
        assert compare(str(offer)) == len(offer.media)
