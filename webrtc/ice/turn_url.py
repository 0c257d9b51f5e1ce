"""STUN and TURN server URLs as they appear in ``RTCIceServer.urls``.

RFC 7064 (STUN) and RFC 7065 (TURN) define::

    stunURI       = scheme ":" host [ ":" port ]
    scheme        = "stun" / "stuns"
    turnURI       = scheme ":" host [ ":" port ] [ "?transport=" transport ]
    scheme        = "turn" / "turns"
    transport     = "udp" / "tcp" / transport-ext

with ``host`` from RFC 3986 (an IPv4 address, a bracketed IPv6 literal or a
registered name). There is no ``//`` authority marker. Default ports are 3478
for ``stun``/``turn`` and 5349 for ``stuns``/``turns`` (RFC 8489 section 6.2.3
and RFC 8656 section 3.1). ``turns`` over UDP would be DTLS, which no browser
implements for TURN; it is rejected here rather than silently becoming TLS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from webrtc.errors import ParseError

__all__ = ["DEFAULT_PORTS", "IceServerUrl", "TurnUrlError", "parse_ice_server_urls"]

DEFAULT_PORTS = {"stun": 3478, "stuns": 5349, "turn": 3478, "turns": 5349}

# RFC 3986 reg-name: unreserved / pct-encoded / sub-delims. Percent-encoded
# names are not resolvable host names, so they are refused instead of decoded.
_REG_NAME_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;="
)


class TurnUrlError(ParseError):
    """A ``stun:``, ``stuns:``, ``turn:`` or ``turns:`` URL that cannot be used."""


@dataclass(frozen=True)
class IceServerUrl:
    """One parsed ICE server URL.

    ``host`` is the bare host (IPv6 without brackets). ``transport`` is the
    transport to the server: ``"udp"``, ``"tcp"`` or ``"tls"`` (``turns:`` and
    ``stuns:`` always mean TLS over TCP).
    """

    scheme: str
    host: str
    port: int
    transport: str

    @property
    def is_turn(self) -> bool:
        return self.scheme in ("turn", "turns")

    @property
    def secure(self) -> bool:
        return self.scheme in ("stuns", "turns")

    @property
    def host_is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    @classmethod
    def parse(cls, text: str) -> IceServerUrl:
        if not isinstance(text, str) or not text.isascii() or not text.isprintable():
            raise TurnUrlError(f"not an ICE server URL: {text!r}")
        scheme, colon, rest = text.partition(":")
        scheme = scheme.lower()
        if not colon or scheme not in DEFAULT_PORTS:
            raise TurnUrlError(f"unknown ICE server URL scheme in {text!r}")
        if rest.startswith("//"):
            raise TurnUrlError(f"{scheme}: URLs have no '//' (RFC 7064/7065): {text!r}")
        hostport, question, query = rest.partition("?")
        transport: str | None = None
        if question:
            if scheme not in ("turn", "turns"):
                raise TurnUrlError(f"{scheme}: URLs take no query: {text!r}")
            key, equals, value = query.partition("=")
            if key.lower() != "transport" or not equals or not value:
                raise TurnUrlError(f"only '?transport=' is allowed in {text!r}")
            value = value.lower()
            if value not in ("udp", "tcp"):
                raise TurnUrlError(f"unsupported TURN transport {value!r} in {text!r}")
            transport = value
        host, port = _split_host_port(hostport, DEFAULT_PORTS[scheme], text)
        if scheme in ("stuns", "turns"):
            if transport == "udp":
                raise TurnUrlError(f"DTLS to the server ({text!r}) is not supported")
            transport = "tls"
        elif transport is None:
            transport = "udp"
        return cls(scheme=scheme, host=host, port=port, transport=transport)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        text = f"{self.scheme}:{host}:{self.port}"
        if self.scheme == "turn":
            text += f"?transport={self.transport}"
        return text


def _split_host_port(hostport: str, default_port: int, text: str) -> tuple[str, int]:
    port_text: str | None = None
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise TurnUrlError(f"unterminated IPv6 literal in {text!r}")
        host = hostport[1:end]
        after = hostport[end + 1 :]
        if after:
            if not after.startswith(":"):
                raise TurnUrlError(f"junk after IPv6 literal in {text!r}")
            port_text = after[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise TurnUrlError(f"bad IPv6 literal in {text!r}") from None
    else:
        host, colon, after = hostport.partition(":")
        if colon:
            port_text = after
        if not host or not set(host) <= _REG_NAME_CHARS:
            raise TurnUrlError(f"bad host in {text!r}")
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise TurnUrlError(f"bad port in {text!r}")
    return host, int(port_text)


def parse_ice_server_urls(
    urls: str | Sequence[str], username: str | None = None, credential: str | None = None
) -> list[IceServerUrl]:
    """The URLs of one ``RTCIceServer``: a single URL or a list, as the W3C and
    aiortc accept. TURN URLs need a user name and a credential (W3C
    webrtc-pc section 4.4.1.1 step 4: otherwise an InvalidAccessError, here a
    :class:`TurnUrlError`)."""
    items = [urls] if isinstance(urls, str) else list(urls)
    if not items:
        raise TurnUrlError("RTCIceServer.urls is empty")
    parsed = [IceServerUrl.parse(item) for item in items]
    if any(url.is_turn for url in parsed) and (username is None or credential is None):
        raise TurnUrlError("a TURN server needs a username and a credential")
    return parsed
