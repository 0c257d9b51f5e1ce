"""A lossless SDP model (RFC 8866) with typed accessors for what WebRTC uses.

A :class:`SessionDescription` is the session-level lines plus a list of
:class:`MediaDescription`, each holding its own lines (the ``m=`` line first).
Lines are stored as the text between the line endings, exactly as parsed, so
``str(SessionDescription.parse(text)) == text`` for any well-formed SDP with
CRLF line endings, unknown lines and attributes included, in their order.
(LF-only input is accepted and written back with CRLF.)

Typed values (:mod:`webrtc.sdp.attributes`) are read from the lines when asked
for, and builders write lines: a setter replaces the first line of its kind in
place (so an edited description keeps its order) or appends one, after the
lines that RFC 8866 section 5 puts first.

``parse`` validates the structure (``v=0``, ``o=``, ``s=``, ``t=``, ``m=`` and
``c=`` lines, attribute names) and the value of every attribute that has a
typed accessor, so the accessors of a parsed description do not fail. Lines
added raw (:meth:`add_attribute`) are checked when read.

Building from scratch, e.g. a data-channel offer::

    sd = SessionDescription.new(session_id=4962303333179871722)
    sd.bundle = ["0"]
    sd.msid_semantic = MsidSemantic("WMS")
    m = sd.add_media(MediaDescription("application", 9, "UDP/DTLS/SCTP", ["webrtc-datachannel"]))
    m.connection = Connection("0.0.0.0")
    m.ice_ufrag, m.ice_pwd = "abcd", "0123456789abcdefghijkl"
    m.ice_options = ["trickle"]
    m.fingerprints = [Fingerprint.from_digest("sha-256", digest)]
    m.setup = Setup.ACTPASS
    m.mid = "0"
    m.sctp_port = 5000
    m.max_message_size = 262144
    text = str(sd)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from webrtc.sdp.attributes import (
    DIRECTIONS,
    STATIC_PAYLOAD_TYPES,
    TOKEN_RE,
    Codec,
    Connection,
    Direction,
    ExtMap,
    Fingerprint,
    Fmtp,
    Group,
    Msid,
    MsidSemantic,
    Origin,
    Rid,
    Rtcp,
    RtcpFeedback,
    RtpMap,
    Setup,
    Simulcast,
    Ssrc,
    SsrcGroup,
    check_connection,
    check_extmap,
    check_fingerprint,
    check_fmtp,
    check_group,
    check_msid,
    check_msid_semantic,
    check_origin,
    check_rtcp,
    check_rtcp_fb,
    check_rtpmap,
    check_ssrc,
    check_ssrc_group,
)
from webrtc.sdp.candidate import Candidate, scan_candidate
from webrtc.sdp.errors import SdpParseError

__all__ = ["MediaDescription", "SessionDescription"]

T = TypeVar("T")

# RFC 8866 section 5: the order of the line types in each part.
_SESSION_ORDER = {letter: index for index, letter in enumerate("vosiuepcbtrzka")}
_MEDIA_ORDER = {letter: index for index, letter in enumerate("micbka")}

_BAD_VALUE_CHARS = ("\r", "\n", "\x00")


def _int_value(value: str, what: str, maximum: int) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 20:
        raise SdpParseError(f"{what} is not a number", line=value)
    number = int(value)
    if number > maximum:
        raise SdpParseError(f"{what} out of range", line=value)
    return number


def _check_nonempty_field(value: str) -> None:
    if not value or " " in value:
        raise SdpParseError("expected one non-empty field", line=value)


def _check_ice_options(value: str) -> None:
    for item in value.split(" "):
        if TOKEN_RE.match(item) is None:
            raise SdpParseError("malformed ice-options", line=value)


def _check_max_message_size(value: str) -> None:
    _int_value(value, "max-message-size", 2**64 - 1)


def _check_sctp_port(value: str) -> None:
    _int_value(value, "sctp-port", 65535)


def _check_setup(value: str) -> None:
    if value not in _SETUP_ROLES:
        raise SdpParseError("unknown setup role", line=value)


_SETUP_ROLES = frozenset(role.value for role in Setup)

# Attributes with a value, validated when parsed: name -> check(value). Each
# uses the same check as the typed accessor, so accessors of a parsed
# description do not fail. ICE ufrag/pwd: RFC 8839 section 5.4 says ice-char
# (ALPHA / DIGIT / "+" / "/"), but stacks send "-", "_", "=" and more, so only
# emptiness and spaces are refused.
_VALUE_CHECKS: dict[str, Callable[[str], object]] = {
    "rtpmap": check_rtpmap,
    "fmtp": check_fmtp,
    "rtcp-fb": check_rtcp_fb,
    "extmap": check_extmap,
    "ssrc": check_ssrc,
    "ssrc-group": check_ssrc_group,
    "msid": check_msid,
    "mid": _check_nonempty_field,
    "group": check_group,
    "msid-semantic": check_msid_semantic,
    "fingerprint": check_fingerprint,
    "setup": _check_setup,
    "rtcp": check_rtcp,
    "ice-ufrag": _check_nonempty_field,
    "ice-pwd": _check_nonempty_field,
    "ice-options": _check_ice_options,
    "candidate": scan_candidate,
    "rid": Rid.parse,
    "simulcast": Simulcast.parse,
    "sctp-port": _check_sctp_port,
    "max-message-size": _check_max_message_size,
}

# Property attributes (RFC 8866 section 6): no value allowed.
_FLAGS = frozenset({
    "rtcp-mux", "rtcp-rsize", "ice-lite", "end-of-candidates", "extmap-allow-mixed",
    "bundle-only", "sendrecv", "sendonly", "recvonly", "inactive",
})

#: Every attribute the parser validates (for tests and tools).
KNOWN_ATTRIBUTES = frozenset(_VALUE_CHECKS) | _FLAGS


def _check_value_text(value: str) -> None:
    for char in _BAD_VALUE_CHARS:
        if char in value:
            raise ValueError(f"SDP values cannot contain {char!r}: {value!r}")


def _attribute_line(name: str, value: str | None) -> str:
    """The ``a=`` line for a builder, refused (ValueError) if ``parse`` would refuse it.

    This is what makes a description built through the setters and adders
    always parse back to an equal one.
    """
    if TOKEN_RE.match(name) is None:
        raise ValueError(f"attribute names are tokens: {name!r}")
    if value is None:
        if name in _VALUE_CHECKS:
            raise ValueError(f"a={name} needs a value")
        return f"a={name}"
    _check_value_text(value)
    if name in _FLAGS:
        raise ValueError(f"a={name} takes no value")
    check = _VALUE_CHECKS.get(name)
    if check is not None:
        try:
            check(value)
        except SdpParseError as exc:
            raise ValueError(f"invalid a={name} value: {exc.reason}: {value!r}") from None
    return f"a={name}:{value}"


_LINE_CHECKS_FOR_BUILDERS: dict[str, Callable[[str], object]] = {}

V = TypeVar("V")


def _text(value: V, parse: Callable[[str], V], write: Callable[[V], str] = str) -> str:
    """A typed value's text, refused (ValueError) unless it parses back equal.

    E.g. ``Msid("a b")`` would write ``a b`` and read back as stream ``a``,
    track ``b``: a builder must not produce that silently.
    """
    text = write(value)
    try:
        same = parse(text) == value
    except SdpParseError:
        same = False
    if not same:
        raise ValueError(f"{value!r} cannot be written as SDP (it would read back differently)")
    return text


class _Section:
    """Lines of one part of a description, and the attribute helpers both parts share."""

    __slots__ = ("lines",)
    _order: dict[str, int] = _SESSION_ORDER

    lines: list[str]

    # -- generic attribute access -------------------------------------------------

    def attributes(self) -> list[tuple[str, str | None]]:
        """Every ``a=`` line as ``(name, value)``, in order; a flag's value is None."""
        out: list[tuple[str, str | None]] = []
        for line in self.lines:
            if line.startswith("a="):
                name, colon, value = line[2:].partition(":")
                out.append((name, value if colon else None))
        return out

    def _values(self, name: str) -> Iterator[str]:
        prefix = f"a={name}:"
        size = len(prefix)
        for line in self.lines:
            if line.startswith(prefix):
                yield line[size:]

    def attribute_values(self, name: str) -> list[str]:
        """The values of every ``a=<name>:<value>`` line, in order."""
        return list(self._values(name))

    def attribute(self, name: str) -> str | None:
        """The value of the first ``a=<name>:`` line ("" for a flag ``a=<name>``), or None."""
        prefix = f"a={name}:"
        flag = f"a={name}"
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix) :]
            if line == flag:
                return ""
        return None

    def has_attribute(self, name: str) -> bool:
        prefix = f"a={name}:"
        flag = f"a={name}"
        return any(line == flag or line.startswith(prefix) for line in self.lines)

    def _is_attribute(self, line: str, name: str) -> bool:
        end = 2 + len(name)
        return line.startswith("a=") and line.startswith(name, 2) and (
            len(line) == end or line[end] == ":"
        )

    def add_attribute(self, name: str, value: str | None = None) -> None:
        """Append ``a=<name>`` (a flag when ``value`` is None) or ``a=<name>:<value>``.

        Raises ValueError for a value the parser would refuse (a known
        attribute's malformed value, line breaks, NUL).
        """
        self.lines.append(_attribute_line(name, value))

    def remove_attribute(self, name: str) -> int:
        """Remove every ``a=<name>`` line; return how many went."""
        before = len(self.lines)
        self.lines[:] = [line for line in self.lines if not self._is_attribute(line, name)]
        return before - len(self.lines)

    def set_attribute(self, name: str, value: str | None = None) -> None:
        """Replace the first ``a=<name>`` line in place (removing any others) or append one."""
        new = _attribute_line(name, value)
        self._replace_lines(lambda line: self._is_attribute(line, name), [new])

    def _replace_lines(self, match: Callable[[str], bool], new: list[str]) -> None:
        """Put ``new`` where the first matching line was (or at the end); drop the others."""
        out: list[str] = []
        placed = False
        for line in self.lines:
            if match(line):
                if not placed:
                    out.extend(new)
                    placed = True
            else:
                out.append(line)
        if not placed:
            out.extend(new)
        self.lines[:] = out

    def _set_values(self, name: str, values: Iterable[str]) -> None:
        """Replace all ``a=<name>`` lines by one line per value (in place of the first)."""
        new = [_attribute_line(name, value) for value in values]
        self._replace_lines(lambda line: self._is_attribute(line, name), new)

    def _typed(self, name: str, parse: Callable[[str], T]) -> list[T]:
        return [parse(value) for value in self._values(name)]

    def _first_typed(self, name: str, parse: Callable[[str], T]) -> T | None:
        for value in self._values(name):
            return parse(value)
        return None

    def _flag(self, name: str) -> bool:
        return f"a={name}" in self.lines

    def _set_flag(self, name: str, on: bool) -> None:
        if on:
            if not self._flag(name):
                self.lines.append(f"a={name}")
        else:
            self.remove_attribute(name)

    # -- non-attribute lines ------------------------------------------------------

    def _line_values(self, letter: str) -> list[str]:
        prefix = letter + "="
        return [line[2:] for line in self.lines if line.startswith(prefix)]

    def _set_line(self, letter: str, value: str | None) -> None:
        """Replace the ``<letter>=`` line (None removes it) or insert it in RFC order."""
        prefix = letter + "="
        if value is not None:
            _check_value_text(value)
            check = _LINE_CHECKS_FOR_BUILDERS.get(letter)
            if check is not None:
                try:
                    check(value)
                except SdpParseError as exc:
                    raise ValueError(f"invalid {letter}= value: {exc.reason}: {value!r}") from None
        existing = [index for index, line in enumerate(self.lines) if line.startswith(prefix)]
        if existing:
            first = existing[0]
            if value is None:
                del self.lines[first]
            else:
                self.lines[first] = prefix + value
            return
        if value is None:
            return
        rank = self._order[letter]
        for index, line in enumerate(self.lines):
            if self._order.get(line[0], 99) > rank:
                self.lines.insert(index, prefix + value)
                return
        self.lines.append(prefix + value)

    @property
    def connection(self) -> Connection | None:
        """The ``c=`` line."""
        values = self._line_values("c")
        return Connection.parse(values[0]) if values else None

    @connection.setter
    def connection(self, value: Connection | None) -> None:
        self._set_line("c", None if value is None else _text(value, Connection.parse))

    # -- attributes allowed at both levels ---------------------------------------

    def _get_text(self, name: str) -> str | None:
        for value in self._values(name):
            return value
        return None

    def _set_text(self, name: str, value: str | None) -> None:
        if value is None:
            self.remove_attribute(name)
        else:
            self.set_attribute(name, value)

    @property
    def ice_ufrag(self) -> str | None:
        """``a=ice-ufrag`` (RFC 8839 section 5.4)."""
        return self._get_text("ice-ufrag")

    @ice_ufrag.setter
    def ice_ufrag(self, value: str | None) -> None:
        self._set_text("ice-ufrag", value)

    @property
    def ice_pwd(self) -> str | None:
        """``a=ice-pwd`` (RFC 8839 section 5.4)."""
        return self._get_text("ice-pwd")

    @ice_pwd.setter
    def ice_pwd(self, value: str | None) -> None:
        self._set_text("ice-pwd", value)

    @property
    def ice_options(self) -> list[str]:
        """``a=ice-options`` tokens, e.g. ``["trickle"]`` (RFC 8839 section 5.6)."""
        return [item for value in self._values("ice-options") for item in value.split(" ")]

    @ice_options.setter
    def ice_options(self, value: Iterable[str]) -> None:
        items = list(value)
        self._set_text("ice-options", " ".join(items) if items else None)

    @property
    def fingerprints(self) -> list[Fingerprint]:
        """``a=fingerprint`` lines (RFC 8122 section 5)."""
        return self._typed("fingerprint", Fingerprint.parse)

    @fingerprints.setter
    def fingerprints(self, value: Iterable[Fingerprint]) -> None:
        self._set_values("fingerprint", [_text(v, Fingerprint.parse) for v in value])

    def add_fingerprint(self, fingerprint: Fingerprint) -> None:
        self.add_attribute("fingerprint", _text(fingerprint, Fingerprint.parse))

    @property
    def setup(self) -> Setup | None:
        """``a=setup`` (RFC 8842)."""
        return self._first_typed("setup", Setup.parse)

    @setup.setter
    def setup(self, value: Setup | None) -> None:
        self._set_text("setup", None if value is None else Setup(value).value)

    @property
    def extmap_allow_mixed(self) -> bool:
        """``a=extmap-allow-mixed`` (RFC 8285 section 6)."""
        return self._flag("extmap-allow-mixed")

    @extmap_allow_mixed.setter
    def extmap_allow_mixed(self, value: bool) -> None:
        self._set_flag("extmap-allow-mixed", value)

    @property
    def extmaps(self) -> list[ExtMap]:
        """``a=extmap`` lines (RFC 8285 section 8)."""
        return self._typed("extmap", ExtMap.parse)

    @extmaps.setter
    def extmaps(self, value: Iterable[ExtMap]) -> None:
        self._set_values("extmap", [_text(v, ExtMap.parse) for v in value])

    def add_extmap(self, extmap: ExtMap) -> None:
        self.add_attribute("extmap", _text(extmap, ExtMap.parse))

    @property
    def end_of_candidates(self) -> bool:
        """``a=end-of-candidates`` (RFC 8840 section 8.2; session level applies to all)."""
        return self._flag("end-of-candidates")

    @end_of_candidates.setter
    def end_of_candidates(self, value: bool) -> None:
        self._set_flag("end-of-candidates", value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Section) or type(other) is not type(self):
            return NotImplemented
        return self.lines == other.lines

    __hash__ = None  # type: ignore[assignment]


class MediaDescription(_Section):
    """One media section: the ``m=`` line and the lines under it.

    ``MediaDescription("audio", 9, "UDP/TLS/RTP/SAVPF", [111, 0])`` builds the
    ``m=`` line; the properties read and write the rest.
    """

    __slots__ = ()
    _order = _MEDIA_ORDER

    def __init__(self, kind: str, port: int, protocol: str,
                 formats: Iterable[int | str] = (), port_count: int | None = None) -> None:
        self.lines = [""]
        self._write_media_line(kind, port, port_count, protocol, [str(f) for f in formats])

    @classmethod
    def _from_lines(cls, lines: list[str]) -> MediaDescription:
        media = cls.__new__(cls)
        media.lines = lines
        return media

    def copy(self) -> MediaDescription:
        return MediaDescription._from_lines(list(self.lines))

    def __repr__(self) -> str:
        return f"MediaDescription({self.lines[0]!r}, ... {len(self.lines) - 1} lines)"

    def __str__(self) -> str:
        return "\r\n".join(self.lines) + "\r\n"

    # -- the m= line ---------------------------------------------------------------

    def _media_fields(self) -> tuple[str, int, int | None, str, list[str]]:
        parts = self.lines[0][2:].split(" ")
        port, slash, count = parts[1].partition("/")
        return (
            parts[0],
            int(port),
            int(count) if slash else None,
            parts[2],
            parts[3:],
        )

    def _write_media_line(self, kind: str, port: int, port_count: int | None,
                          protocol: str, formats: list[str]) -> None:
        for value in (kind, *protocol.split("/"), *formats):
            if TOKEN_RE.match(value) is None:
                raise ValueError(f"m= line fields are tokens: {value!r}")
        if not 0 <= port <= 65535 or (port_count is not None and not 0 <= port_count <= 65535):
            raise ValueError(f"port out of range: {port}")
        port_text = str(port) if port_count is None else f"{port}/{port_count}"
        self.lines[0] = " ".join([f"m={kind}", port_text, protocol, *formats])

    def _replace_media_field(self, kind: str | None = None, port: int | None = None,
                             protocol: str | None = None,
                             formats: list[str] | None = None) -> None:
        old_kind, old_port, count, old_protocol, old_formats = self._media_fields()
        self._write_media_line(
            old_kind if kind is None else kind,
            old_port if port is None else port,
            count,
            old_protocol if protocol is None else protocol,
            old_formats if formats is None else formats,
        )

    @property
    def kind(self) -> str:
        """The media type: ``audio``, ``video``, ``application``..."""
        return self._media_fields()[0]

    @kind.setter
    def kind(self, value: str) -> None:
        self._replace_media_field(kind=value)

    @property
    def port(self) -> int:
        """The port; 0 rejects the section (RFC 8829 section 5.3.1)."""
        return self._media_fields()[1]

    @port.setter
    def port(self, value: int) -> None:
        self._replace_media_field(port=value)

    @property
    def port_count(self) -> int | None:
        """The ``/<number of ports>`` suffix, rarely used."""
        return self._media_fields()[2]

    @property
    def protocol(self) -> str:
        """E.g. ``UDP/TLS/RTP/SAVPF`` or ``UDP/DTLS/SCTP``."""
        return self._media_fields()[3]

    @protocol.setter
    def protocol(self, value: str) -> None:
        self._replace_media_field(protocol=value)

    @property
    def formats(self) -> list[str]:
        """The formats of the ``m=`` line (payload types as text, or ``webrtc-datachannel``)."""
        return self._media_fields()[4]

    @formats.setter
    def formats(self, value: Iterable[int | str]) -> None:
        self._replace_media_field(formats=[str(f) for f in value])

    @property
    def payload_types(self) -> list[int]:
        """The formats that are RTP payload types, as numbers."""
        return [int(f) for f in self.formats if f.isascii() and f.isdigit() and len(f) < 4]

    @property
    def is_rtp(self) -> bool:
        return "RTP" in self.protocol.split("/")

    @property
    def is_data_channel(self) -> bool:
        """SCTP over DTLS (RFC 8841), the data channel transport."""
        return self.protocol.endswith("SCTP")

    @property
    def rejected(self) -> bool:
        """Port zero (and no bundle-only): the section is rejected or disabled."""
        return self.port == 0 and not self.bundle_only

    # -- identity and direction -------------------------------------------------------

    @property
    def mid(self) -> str | None:
        """``a=mid`` (RFC 5888 section 4)."""
        return self._get_text("mid")

    @mid.setter
    def mid(self, value: str | None) -> None:
        if value is not None and (not value or " " in value):
            raise ValueError(f"mid must be non-empty without spaces: {value!r}")
        self._set_text("mid", value)

    @property
    def direction(self) -> Direction | None:
        """The first of ``a=sendrecv/sendonly/recvonly/inactive``, None if absent.

        Absent means sendrecv (RFC 8866 section 6.7); see :attr:`effective_direction`.
        """
        for line in self.lines:
            if line.startswith("a=") and line[2:] in DIRECTIONS:
                return Direction(line[2:])
        return None

    @direction.setter
    def direction(self, value: Direction | None) -> None:
        new = [] if value is None else ["a=" + Direction(value).value]
        self._replace_lines(lambda line: line.startswith("a=") and line[2:] in DIRECTIONS, new)

    @property
    def effective_direction(self) -> Direction:
        return self.direction or Direction.SENDRECV

    @property
    def bundle_only(self) -> bool:
        """``a=bundle-only`` (RFC 9143 section 6)."""
        return self._flag("bundle-only")

    @bundle_only.setter
    def bundle_only(self, value: bool) -> None:
        self._set_flag("bundle-only", value)

    # -- transport ---------------------------------------------------------------------

    @property
    def rtcp(self) -> Rtcp | None:
        """``a=rtcp`` (RFC 3605)."""
        return self._first_typed("rtcp", Rtcp.parse)

    @rtcp.setter
    def rtcp(self, value: Rtcp | None) -> None:
        self._set_text("rtcp", None if value is None else _text(value, Rtcp.parse))

    @property
    def rtcp_mux(self) -> bool:
        """``a=rtcp-mux`` (RFC 5761)."""
        return self._flag("rtcp-mux")

    @rtcp_mux.setter
    def rtcp_mux(self, value: bool) -> None:
        self._set_flag("rtcp-mux", value)

    @property
    def rtcp_rsize(self) -> bool:
        """``a=rtcp-rsize`` (RFC 5506)."""
        return self._flag("rtcp-rsize")

    @rtcp_rsize.setter
    def rtcp_rsize(self, value: bool) -> None:
        self._set_flag("rtcp-rsize", value)

    @property
    def candidates(self) -> list[Candidate]:
        """``a=candidate`` lines (RFC 8839 section 5.1)."""
        return self._typed("candidate", Candidate.parse)

    @candidates.setter
    def candidates(self, value: Iterable[Candidate]) -> None:
        self._set_values("candidate", [_text(c, Candidate.parse, Candidate.to_attribute_value)
                                        for c in value])

    def add_candidate(self, candidate: Candidate) -> None:
        """Append an ``a=candidate`` line (before ``a=end-of-candidates`` if present)."""
        line = _attribute_line(
            "candidate", _text(candidate, Candidate.parse, Candidate.to_attribute_value))
        if "a=end-of-candidates" in self.lines:
            self.lines.insert(self.lines.index("a=end-of-candidates"), line)
        else:
            self.lines.append(line)

    # -- data channels ----------------------------------------------------------------

    @property
    def sctp_port(self) -> int | None:
        """``a=sctp-port`` (RFC 8841 section 5)."""
        value = self._get_text("sctp-port")
        return None if value is None else _int_value(value, "sctp-port", 65535)

    @sctp_port.setter
    def sctp_port(self, value: int | None) -> None:
        if value is not None and not 0 <= value <= 65535:
            raise ValueError(f"sctp-port out of range: {value}")
        self._set_text("sctp-port", None if value is None else str(value))

    @property
    def max_message_size(self) -> int | None:
        """``a=max-message-size`` (RFC 8841 section 6); 0 means no limit."""
        value = self._get_text("max-message-size")
        return None if value is None else _int_value(value, "max-message-size", 2**64 - 1)

    @max_message_size.setter
    def max_message_size(self, value: int | None) -> None:
        if value is not None and not 0 <= value < 2**64:
            raise ValueError(f"max-message-size out of range: {value}")
        self._set_text("max-message-size", None if value is None else str(value))

    # -- codecs -----------------------------------------------------------------------

    @property
    def rtpmaps(self) -> list[RtpMap]:
        return self._typed("rtpmap", RtpMap.parse)

    def rtpmap(self, payload_type: int) -> RtpMap | None:
        """The ``a=rtpmap`` of one payload type."""
        prefix = f"{payload_type} "
        for value in self._values("rtpmap"):
            if value.startswith(prefix):
                return RtpMap.parse(value)
        return None

    @property
    def fmtps(self) -> list[Fmtp]:
        return self._typed("fmtp", Fmtp.parse)

    def fmtp(self, payload_type: int) -> Fmtp | None:
        """The ``a=fmtp`` of one payload type."""
        prefix = f"{payload_type} "
        for value in self._values("fmtp"):
            if value.startswith(prefix):
                return Fmtp.parse(value)
        return None

    @property
    def rtcp_feedbacks(self) -> list[RtcpFeedback]:
        return self._typed("rtcp-fb", RtcpFeedback.parse)

    def rtcp_feedback(self, payload_type: int) -> list[RtcpFeedback]:
        """The ``a=rtcp-fb`` lines that apply to one payload type (``*`` lines too)."""
        return [
            fb for fb in self.rtcp_feedbacks
            if fb.payload_type is None or fb.payload_type == payload_type
        ]

    def add_rtpmap(self, rtpmap: RtpMap) -> None:
        self.add_attribute("rtpmap", _text(rtpmap, RtpMap.parse))

    def add_fmtp(self, fmtp: Fmtp) -> None:
        self.add_attribute("fmtp", _text(fmtp, Fmtp.parse))

    def add_rtcp_feedback(self, feedback: RtcpFeedback) -> None:
        self.add_attribute("rtcp-fb", _text(feedback, RtcpFeedback.parse))

    def codecs(self) -> list[Codec]:
        """One :class:`Codec` per RTP payload type of the ``m=`` line, in its order.

        Static payload types without an rtpmap get their RFC 3551 name.
        """
        maps: dict[int, RtpMap] = {}
        fmtps: dict[int, str] = {}
        feedback: dict[int | None, list[RtcpFeedback]] = {}
        for name, value in self.attributes():
            if value is None:
                continue
            if name == "rtpmap":
                rtpmap = RtpMap.parse(value)
                maps.setdefault(rtpmap.payload_type, rtpmap)
            elif name == "fmtp":
                fmtp = Fmtp.parse(value)
                fmtps.setdefault(fmtp.payload_type, fmtp.parameters)
            elif name == "rtcp-fb":
                fb = RtcpFeedback.parse(value)
                feedback.setdefault(fb.payload_type, []).append(fb)
        wildcard = feedback.get(None, [])
        out = []
        for pt in self.payload_types:
            rtpmap_for = maps.get(pt)
            if rtpmap_for is not None:
                name, clock, channels = (
                    rtpmap_for.encoding_name, rtpmap_for.clock_rate, rtpmap_for.channels
                )
            elif pt in STATIC_PAYLOAD_TYPES:
                name, clock, channels = STATIC_PAYLOAD_TYPES[pt]
            else:
                continue
            out.append(Codec(pt, name, clock, channels, fmtps.get(pt),
                             tuple(feedback.get(pt, [])) + tuple(wildcard)))
        return out

    def add_codec(self, codec: Codec) -> None:
        """Add the payload type to the ``m=`` line and its rtpmap, rtcp-fb and fmtp lines.

        This is the order Chromium writes them in.
        """
        pt = codec.payload_type
        lines = [_attribute_line("rtpmap", _text(
            RtpMap(pt, codec.name, codec.clock_rate, codec.channels), RtpMap.parse))]
        for fb in codec.feedback:
            lines.append(_attribute_line("rtcp-fb", _text(
                RtcpFeedback(pt, fb.type, fb.parameter), RtcpFeedback.parse)))
        if codec.parameters is not None:
            lines.append(_attribute_line("fmtp", _text(Fmtp(pt, codec.parameters), Fmtp.parse)))
        formats = self.formats
        if str(pt) not in formats:
            self.formats = [*formats, str(pt)]
        self.lines.extend(lines)

    # -- streams ------------------------------------------------------------------------

    @property
    def ssrcs(self) -> list[Ssrc]:
        """``a=ssrc`` lines (RFC 5576 section 4.1)."""
        return self._typed("ssrc", Ssrc.parse)

    def add_ssrc(self, ssrc: Ssrc) -> None:
        self.add_attribute("ssrc", _text(ssrc, Ssrc.parse))

    @property
    def ssrc_groups(self) -> list[SsrcGroup]:
        """``a=ssrc-group`` lines (RFC 5576 section 4.2)."""
        return self._typed("ssrc-group", SsrcGroup.parse)

    def add_ssrc_group(self, group: SsrcGroup) -> None:
        self.add_attribute("ssrc-group", _text(group, SsrcGroup.parse))

    @property
    def msids(self) -> list[Msid]:
        """``a=msid`` lines (RFC 8830)."""
        return self._typed("msid", Msid.parse)

    @msids.setter
    def msids(self, value: Iterable[Msid]) -> None:
        self._set_values("msid", [_text(v, Msid.parse) for v in value])

    def add_msid(self, msid: Msid) -> None:
        self.add_attribute("msid", _text(msid, Msid.parse))

    @property
    def rids(self) -> list[Rid]:
        """``a=rid`` lines (RFC 8851)."""
        return self._typed("rid", Rid.parse)

    @rids.setter
    def rids(self, value: Iterable[Rid]) -> None:
        self._set_values("rid", [_text(v, Rid.parse) for v in value])

    def add_rid(self, rid: Rid) -> None:
        self.add_attribute("rid", _text(rid, Rid.parse))

    @property
    def simulcast(self) -> Simulcast | None:
        """``a=simulcast`` (RFC 8853)."""
        return self._first_typed("simulcast", Simulcast.parse)

    @simulcast.setter
    def simulcast(self, value: Simulcast | None) -> None:
        self._set_text("simulcast", None if value is None else _text(value, Simulcast.parse))


class SessionDescription(_Section):
    """A whole SDP: session-level lines and media sections.

    Build one with :meth:`parse` or :meth:`new`; ``str(sd)`` writes it with
    CRLF line endings.
    """

    __slots__ = ("media",)
    _order = _SESSION_ORDER

    media: list[MediaDescription]

    def __init__(self, lines: list[str] | None = None,
                 media: list[MediaDescription] | None = None) -> None:
        """From raw session-level lines; prefer :meth:`new` or :meth:`parse`."""
        self.lines = [] if lines is None else lines
        self.media = [] if media is None else media

    @classmethod
    def new(cls, session_id: int | None = None, session_version: int = 0,
            username: str = "-", address: str = "127.0.0.1", session_name: str = "-",
            random_id: Callable[[], int] | None = None) -> SessionDescription:
        """``v=0``, ``o=``, ``s=``, ``t=0 0``: the start JSEP gives every description.

        The session id, when not given, is a random 62-bit number (RFC 8829
        section 5.2.1) from ``random_id`` (default: :mod:`secrets`).
        """
        if session_id is None:
            session_id = random_id() if random_id is not None else secrets.randbits(62)
        origin = Origin(username, session_id, session_version, "IN",
                        "IP6" if ":" in address else "IP4", address)
        origin.validate()
        _check_value_text(session_name)
        return cls(["v=0", f"o={origin}", f"s={session_name}", "t=0 0"])

    @classmethod
    def parse(cls, text: str) -> SessionDescription:
        """Parse SDP text; raise :class:`SdpParseError` (with the line number) if malformed."""
        return _parse(text)

    def copy(self) -> SessionDescription:
        return SessionDescription(list(self.lines), [m.copy() for m in self.media])

    def __bytes__(self) -> bytes:
        """The UTF-8 text, as it goes into a signalling message."""
        return str(self).encode("utf-8")

    def __str__(self) -> str:
        parts = ["\r\n".join(self.lines)]
        for media in self.media:
            parts.append("\r\n".join(media.lines))
        return "\r\n".join(parts) + "\r\n"

    def __repr__(self) -> str:
        kinds = ", ".join(m.kind for m in self.media)
        return f"<SessionDescription {len(self.lines)} session lines, media [{kinds}]>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SessionDescription):
            return NotImplemented
        return self.lines == other.lines and self.media == other.media

    # -- media sections --------------------------------------------------------------------

    def add_media(self, media: MediaDescription) -> MediaDescription:
        """Append a media section and return it."""
        self.media.append(media)
        return media

    def media_by_mid(self, mid: str) -> MediaDescription | None:
        for media in self.media:
            if media.mid == mid:
                return media
        return None

    # -- session-level lines ------------------------------------------------------------------

    @property
    def version(self) -> int:
        """``v=`` (always 0)."""
        values = self._line_values("v")
        return int(values[0]) if values else 0

    @property
    def origin(self) -> Origin:
        """The ``o=`` line (RFC 8866 section 5.2)."""
        values = self._line_values("o")
        if not values:
            raise SdpParseError("no o= line")
        return Origin.parse(values[0])

    @origin.setter
    def origin(self, value: Origin) -> None:
        value.validate()
        self._set_line("o", _text(value, Origin.parse))

    @property
    def session_name(self) -> str:
        """``s=``."""
        values = self._line_values("s")
        return values[0] if values else ""

    @session_name.setter
    def session_name(self, value: str) -> None:
        self._set_line("s", value)

    @property
    def timing(self) -> tuple[int, int]:
        """The first ``t=`` line: (start, stop); WebRTC uses (0, 0)."""
        values = self._line_values("t")
        if not values:
            return (0, 0)
        start, _, stop = values[0].partition(" ")
        return int(start), int(stop)

    @property
    def groups(self) -> list[Group]:
        """``a=group`` lines (RFC 5888)."""
        return self._typed("group", Group.parse)

    @groups.setter
    def groups(self, value: Iterable[Group]) -> None:
        self._set_values("group", [_text(v, Group.parse) for v in value])

    @property
    def bundle(self) -> list[str] | None:
        """The mids of the first ``a=group:BUNDLE`` (RFC 9143), None without one."""
        for group in self.groups:
            if group.semantics == "BUNDLE":
                return list(group.mids)
        return None

    @bundle.setter
    def bundle(self, mids: Iterable[str] | None) -> None:
        """Set the mids of the first BUNDLE group (None removes every BUNDLE group)."""
        others = [g for g in self.groups if g.semantics != "BUNDLE"]
        groups = self.groups
        if mids is None:
            self.groups = others
            return
        new = Group("BUNDLE", tuple(mids))
        for mid in new.mids:
            if not mid or " " in mid:
                raise ValueError(f"mid must be non-empty without spaces: {mid!r}")
        replaced = []
        done = False
        for group in groups:
            if group.semantics == "BUNDLE":
                if not done:
                    replaced.append(new)
                    done = True
            else:
                replaced.append(group)
        if not done:
            replaced.append(new)
        self.groups = replaced

    @property
    def msid_semantic(self) -> MsidSemantic | None:
        """``a=msid-semantic`` (``WMS``, what browsers still send)."""
        return self._first_typed("msid-semantic", MsidSemantic.parse)

    @msid_semantic.setter
    def msid_semantic(self, value: MsidSemantic | None) -> None:
        self._set_text("msid-semantic",
                       None if value is None else _text(value, MsidSemantic.parse))

    @property
    def ice_lite(self) -> bool:
        """``a=ice-lite`` (RFC 8839 section 5.3), session level only."""
        return self._flag("ice-lite")

    @ice_lite.setter
    def ice_lite(self, value: bool) -> None:
        self._set_flag("ice-lite", value)

    # -- effective values: media level, else session level ---------------------------------

    def ice_credentials_for(self, media: MediaDescription) -> tuple[str, str] | None:
        """(ufrag, pwd) of a media section, falling back on the session level."""
        ufrag = media.ice_ufrag or self.ice_ufrag
        pwd = media.ice_pwd or self.ice_pwd
        return None if ufrag is None or pwd is None else (ufrag, pwd)

    def ice_options_for(self, media: MediaDescription) -> list[str]:
        return media.ice_options or self.ice_options

    def fingerprints_for(self, media: MediaDescription) -> list[Fingerprint]:
        """Media-level fingerprints, else session-level (RFC 8122 section 5)."""
        return media.fingerprints or self.fingerprints

    def setup_for(self, media: MediaDescription) -> Setup | None:
        return media.setup or self.setup

    def connection_for(self, media: MediaDescription) -> Connection | None:
        return media.connection or self.connection

    def end_of_candidates_for(self, media: MediaDescription) -> bool:
        return media.end_of_candidates or self.end_of_candidates

    def extmap_allow_mixed_for(self, media: MediaDescription) -> bool:
        return media.extmap_allow_mixed or self.extmap_allow_mixed


# -- the parser ---------------------------------------------------------------------------


def _split_lines(text: str) -> list[str]:
    if "\x00" in text:
        number = text[: text.index("\x00")].count("\n") + 1
        raise SdpParseError("NUL character", line_number=number,
                            line=text.split("\n")[number - 1].rstrip("\r"))
    crlf = text.count("\r\n")
    if crlf == text.count("\n") and crlf == text.count("\r"):
        lines = text.split("\r\n")
    else:
        lines = text.split("\n")
        last = len(lines) - 1
        for index, line in enumerate(lines):
            # Only a CR right before an LF ends a line.
            if index < last and line.endswith("\r"):
                line = lines[index] = line[:-1]
            if "\r" in line:
                raise SdpParseError("stray carriage return", line_number=index + 1, line=line)
    if lines[-1] == "":
        lines.pop()
    if not lines:
        raise SdpParseError("empty description")
    return lines


def _check_v(value: str) -> None:
    if value != "0":
        raise SdpParseError("unsupported version (v=0 expected)", line=value)


def _check_t(value: str) -> None:
    start, sep, stop = value.partition(" ")
    if not sep:
        raise SdpParseError("malformed timing", line=value)
    _int_value(start, "start time", 2**64 - 1)
    _int_value(stop, "stop time", 2**64 - 1)


def _check_media_line(value: str) -> None:
    parts = value.split(" ")
    if len(parts) < 4:
        raise SdpParseError("media line needs media, port, proto and formats", line=value)
    if TOKEN_RE.match(parts[0]) is None:
        raise SdpParseError("malformed media type", line=value)
    port, slash, count = parts[1].partition("/")
    _int_value(port, "port", 65535)
    if slash:
        _int_value(count, "port count", 65535)
    for item in parts[2].split("/"):
        if TOKEN_RE.match(item) is None:
            raise SdpParseError("malformed protocol", line=value)
    for item in parts[3:]:
        if TOKEN_RE.match(item) is None:
            raise SdpParseError("malformed format", line=value)


def _check_bandwidth(value: str) -> None:
    kind, colon, amount = value.partition(":")
    if not colon or TOKEN_RE.match(kind) is None:
        raise SdpParseError("malformed bandwidth", line=value)
    _int_value(amount, "bandwidth", 2**64 - 1)


_LINE_CHECKS: dict[str, Callable[[str], object]] = {
    "t": _check_t,
    "c": check_connection,
    "b": _check_bandwidth,
}


_LINE_CHECKS_FOR_BUILDERS.update({"c": check_connection, "o": check_origin, "t": _check_t,
                                  "b": _check_bandwidth})


def _parse(text: str) -> SessionDescription:
    if not isinstance(text, str):
        raise TypeError(f"SDP text must be str, not {type(text).__name__}")
    lines = _split_lines(text)
    # RFC 8866 section 5: v=, o= and s= open every description, in that order.
    for number, letter in ((1, "v"), (2, "o"), (3, "s")):
        if len(lines) < number or not lines[number - 1].startswith(letter + "="):
            found = lines[number - 1] if len(lines) >= number else ""
            raise SdpParseError(f"line {number} must be the {letter}= line",
                                line_number=min(number, len(lines) + 1), line=found)
    try:
        _check_v(lines[0][2:])
    except SdpParseError as exc:
        raise SdpParseError(exc.reason, line_number=1, line=lines[0]) from None
    try:
        check_origin(lines[1][2:])
    except SdpParseError as exc:
        raise SdpParseError(exc.reason, line_number=2, line=lines[1]) from None

    session: list[str] = lines[:3]
    media: list[MediaDescription] = []
    current = session
    validators = _VALUE_CHECKS
    flags = _FLAGS
    line_checks = _LINE_CHECKS
    token = TOKEN_RE.match
    seen_timing = False
    number = 3
    try:
        for line in lines[3:]:
            number += 1
            if line.startswith("a="):
                colon = line.find(":")
                if colon < 0:
                    name = line[2:]
                    if name not in flags:
                        if name in validators:
                            raise SdpParseError(f"a={name} needs a value", line=line)
                        if token(name) is None:
                            raise SdpParseError("malformed attribute name", line=line)
                else:
                    name = line[2:colon]
                    check = validators.get(name)
                    if check is not None:
                        check(line[colon + 1 :])
                    elif name in flags:
                        raise SdpParseError(f"a={name} takes no value", line=line)
                    elif token(name) is None:
                        raise SdpParseError("malformed attribute name", line=line)
            elif line.startswith("m="):
                if not seen_timing:
                    raise SdpParseError("no t= line before the first m= line", line=line)
                _check_media_line(line[2:])
                current = [line]
                media.append(MediaDescription._from_lines(current))
                continue
            elif len(line) < 2 or line[1] != "=":
                raise SdpParseError("not a <type>=<value> line", line=line)
            else:
                letter = line[0]
                order = _SESSION_ORDER if current is session else _MEDIA_ORDER
                if letter not in order or letter in "vos":
                    raise SdpParseError(f"unexpected {letter}= line", line=line)
                if letter == "t":
                    seen_timing = True
                line_check = line_checks.get(letter)
                if line_check is not None:
                    line_check(line[2:])
            current.append(line)
    except SdpParseError as exc:
        raise SdpParseError(exc.reason, line_number=number, line=lines[number - 1]) from None
    if not seen_timing:
        raise SdpParseError("no t= line", line_number=len(lines), line=lines[-1])
    return SessionDescription(session, media)
