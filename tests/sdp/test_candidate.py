"""webrtc.sdp.Candidate: RFC 8839 grammar, both string forms, exact write-back."""

from __future__ import annotations

from pathlib import Path

import pytest

from webrtc.sdp import Candidate, SdpParseError, SessionDescription

CORPUS = Path(__file__).parent / "corpus"


def corpus_candidate_lines() -> list[str]:
    lines = []
    for path in sorted(CORPUS.glob("*.sdp")):
        lines += [line for line in path.read_bytes().decode().split("\r\n")
                  if line.startswith("a=candidate:")]
    return lines


def test_corpus_candidates_write_back_unchanged() -> None:
    lines = corpus_candidate_lines()
    assert len(lines) > 20
    for line in lines:
        candidate = Candidate.parse(line)
        assert candidate.to_sdp_line() == line
        assert str(candidate) == line[2:]
        assert Candidate.parse(str(candidate)) == candidate
        assert Candidate.parse(candidate.to_attribute_value()) == candidate


def test_chromium_fields() -> None:
    candidate = Candidate.parse(
        "candidate:909824146 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active "
        "generation 0 ufrag 1gX/ network-id 1 network-cost 50")
    assert (candidate.foundation, candidate.component, candidate.transport) == (
        "909824146", 1, "tcp")
    assert (candidate.priority, candidate.address, candidate.port, candidate.type) == (
        1518280447, "127.0.0.1", 9, "host")
    assert (candidate.tcptype, candidate.generation, candidate.ufrag) == ("active", 0, "1gX/")
    assert (candidate.network_id, candidate.network_cost) == (1, 50)


def test_mdns_related_and_unknown_extensions_keep_order() -> None:
    text = ("candidate:842163049 1 udp 1677729535 198.51.100.7 61000 typ srflx "
            "raddr 0.0.0.0 rport 0 x-custom yes generation 0 another 1 network-cost 999")
    candidate = Candidate.parse(text)
    assert (candidate.related_address, candidate.related_port) == ("0.0.0.0", 0)
    assert candidate.extensions == (("x-custom", "yes"), ("another", "1"))
    assert str(candidate) == text
    mdns = Candidate.parse("candidate:1 1 udp 2122260223 "
                           "4a4ea0e6-9c57-4d0b-8b37-97a6c5f3a1a2.local 54321 typ host")
    assert mdns.is_mdns and mdns.address.endswith(".local")


@pytest.mark.parametrize("text", [
    "",
    "candidate:",
    "candidate:1 1 udp 1 1.2.3.4 5 host",          # no "typ"
    "candidate:1 x udp 1 1.2.3.4 5 typ host",       # component
    "candidate:1 1 udp 1 1.2.3.4 70000 typ host",   # port range
    "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr", # pair without value
    "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr 1.1.1.1",  # raddr without rport
    "candidate:1 1 udp 1 1.2.3.4 5 typ host generation x",
    "candidate:1 1 udp 1 1.2.3.4 5 typ host rport 1 raddr 1.1.1.1",
    "candidate:f\u00e9 1 udp 1 1.2.3.4 5 typ host",
])
def test_malformed(text: str) -> None:
    with pytest.raises(SdpParseError):
        Candidate.parse(text)


def test_in_a_description() -> None:
    text = ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
            "a=candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host generation 0\r\n"
            "a=end-of-candidates\r\n")
    media = SessionDescription.parse(text).media[0]
    (candidate,) = media.candidates
    assert candidate.port == 5000 and media.end_of_candidates
