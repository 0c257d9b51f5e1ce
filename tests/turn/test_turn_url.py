"""TURN and STUN server URLs (RFC 7064, RFC 7065)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webrtc.errors import ParseError
from webrtc.ice.turn_url import IceServerUrl, TurnUrlError, parse_ice_server_urls


@pytest.mark.parametrize(
    ("text", "scheme", "host", "port", "transport"),
    [
        ("turn:example.org", "turn", "example.org", 3478, "udp"),
        ("turn:example.org?transport=udp", "turn", "example.org", 3478, "udp"),
        ("turn:example.org?transport=tcp", "turn", "example.org", 3478, "tcp"),
        ("turn:192.0.2.1:19302?transport=TCP", "turn", "192.0.2.1", 19302, "tcp"),
        ("turns:example.org", "turns", "example.org", 5349, "tls"),
        ("turns:example.org:443?transport=tcp", "turns", "example.org", 443, "tls"),
        ("TURN:[2001:db8::1]:3479", "turn", "2001:db8::1", 3479, "udp"),
        ("turn:[::1]", "turn", "::1", 3478, "udp"),
        ("stun:stun.l.google.com:19302", "stun", "stun.l.google.com", 19302, "udp"),
        ("stuns:example.org", "stuns", "example.org", 5349, "tls"),
    ],
)
def test_valid_urls(text: str, scheme: str, host: str, port: int, transport: str) -> None:
    url = IceServerUrl.parse(text)
    assert (url.scheme, url.host, url.port, url.transport) == (scheme, host, port, transport)
    assert url.is_turn == scheme.startswith("turn")
    assert url.secure == scheme.endswith("s")
    assert IceServerUrl.parse(str(url)) == url


@pytest.mark.parametrize(
    "text",
    [
        "",
        "http://example.org",
        "turn://example.org",
        "turn:",
        "turn:example.org:0",
        "turn:example.org:65536",
        "turn:example.org:12a",
        "turn:example.org?transport=sctp",
        "turn:example.org?transport=",
        "turn:example.org?foo=udp",
        "turns:example.org?transport=udp",
        "stun:example.org?transport=udp",
        "turn:[2001:db8::1",
        "turn:[not-ipv6]:3478",
        "turn:[::1]x",
        "turn:exa mple.org",
        "turn:exämple.org",
        "turn:user@example.org",
    ],
)
def test_invalid_urls(text: str) -> None:
    with pytest.raises(TurnUrlError):
        IceServerUrl.parse(text)


def test_ip_detection() -> None:
    assert IceServerUrl.parse("turn:127.0.0.1").host_is_ip
    assert not IceServerUrl.parse("turn:localhost").host_is_ip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_raises_only_parse_error(text: str) -> None:
    try:
        url = IceServerUrl.parse(text)
    except ParseError:
        return
    assert IceServerUrl.parse(str(url)) == url


def test_ice_server_urls_single_or_list() -> None:
    single = parse_ice_server_urls("turn:example.org", "user", "pass")
    assert single == [IceServerUrl("turn", "example.org", 3478, "udp")]
    several = parse_ice_server_urls(
        ["turn:example.org?transport=tcp", "turns:example.org"], "user", "pass"
    )
    assert [url.transport for url in several] == ["tcp", "tls"]
    assert parse_ice_server_urls(("stun:example.org",))[0].scheme == "stun"
    with pytest.raises(TurnUrlError):
        parse_ice_server_urls("turn:example.org")
    with pytest.raises(TurnUrlError):
        parse_ice_server_urls([], "user", "pass")
