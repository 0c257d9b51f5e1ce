"""Typed values of the SDP lines and attributes WebRTC uses.

Each type is a frozen dataclass with ``parse(value)`` (the text after
``<type>=`` or after ``a=<name>:``) and ``str(x)`` (that text again). The
description model (:mod:`webrtc.sdp.description`) keeps every line as text and
builds these on demand, so they never need to remember spacing quirks: a value
built from its fields writes the canonical form, and a parsed line is kept
verbatim by the model.

``parse`` raises :class:`SdpParseError` (without a line number; the
description parser adds it) for any malformed input and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from webrtc.sdp.errors import SdpParseError

__all__ = [
    "Codec",
    "Connection",
    "Direction",
    "ExtMap",
    "Fingerprint",
    "Fmtp",
    "Group",
    "Msid",
    "MsidSemantic",
    "Origin",
    "Rid",
    "RidDirection",
    "Rtcp",
    "RtcpFeedback",
    "RtpMap",
    "Setup",
    "Simulcast",
    "SimulcastStream",
    "Ssrc",
    "SsrcGroup",
]

# RFC 8866 section 9: token = 1*(token-char), the characters allowed in
# attribute names, media types and most enumerated values.
TOKEN_RE = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+\Z")
_DIGITS_RE = re.compile(r"[0-9]{1,20}\Z")
# A field of a space-separated line: any visible character except space.
_FIELD_RE = re.compile(r"[^\x00-\x20\x7f]+\Z")
# RFC 8851 section 10: rid-syntax = %s"a=rid:" rid-id SP rid-dir ...
_RID_ID_RE = re.compile(r"[0-9A-Za-z_\-]+\Z")

# Whole-value patterns. The description parser validates each attribute with
# the same ``check_*`` function the typed ``parse`` builds on, so what parses
# as a description always reads back through the accessors; a regular
# expression and a few range checks cost far less than building the value.
_TOK = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"
_FLD = r"[^\x00-\x20\x7f]+"
_NUM = r"[0-9]{1,20}"
_ORIGIN_RE = re.compile(rf"({_FLD}) ({_NUM}) ({_NUM}) ({_TOK}) ({_TOK}) ({_FLD})\Z")
_CONNECTION_RE = re.compile(rf"({_TOK}) ({_TOK}) ({_FLD})\Z")
_RTCP_RE = re.compile(rf"({_NUM})(?: ({_TOK}) ({_TOK}) ({_FLD}))?\Z")
# RFC 8122 section 5: fingerprint = 2UHEX *(":" 2UHEX); lowercase is common.
_FINGERPRINT_VALUE_RE = re.compile(
    rf"({_TOK}) ([0-9A-Fa-f]{{2}}(?::[0-9A-Fa-f]{{2}})*)\Z")
_RTPMAP_RE = re.compile(rf"({_NUM}) ({_TOK})/({_NUM})(?:/({_NUM}))?\Z")
# RFC 8866 requires parameters after the space; "a=fmtp:96" alone is seen
# in the wild and read as empty parameters.
_FMTP_RE = re.compile(rf"({_NUM})(?: |\Z)")
_RTCP_FB_RE = re.compile(rf"(\*|{_NUM}) ({_TOK})(?: (.*))?\Z", re.DOTALL)
_EXTMAP_RE = re.compile(
    rf"({_NUM})(?:/(sendrecv|sendonly|recvonly|inactive))? ({_FLD})(?: (.*))?\Z", re.DOTALL)
_SSRC_RE = re.compile(rf"({_NUM}) ({_TOK})(?::(.*))?\Z", re.DOTALL)
_SSRC_GROUP_RE = re.compile(rf"({_TOK})((?: {_NUM})*)\Z")
_MSID_RE = re.compile(rf"({_FLD})(?: ({_FLD}))?\Z")
_GROUP_RE = re.compile(rf"({_TOK})((?: {_FLD})*)\Z")
_MSID_SEMANTIC_RE = re.compile(rf" *({_TOK})((?: +{_FLD})*) *\Z")

_U32 = 2**32 - 1
_U64 = 2**64 - 1


def _match(pattern: re.Pattern[str], value: str, what: str) -> re.Match[str]:
    found = pattern.match(value)
    if found is None:
        raise SdpParseError(f"malformed {what}", line=value)
    return found


def _bounded(text: str, what: str, maximum: int, minimum: int = 0) -> int:
    """An ASCII-digit group of a matched pattern, range-checked."""
    number = int(text)
    if number > maximum or number < minimum:
        raise SdpParseError(f"{what} out of range", line=text)
    return number


def check_origin(value: str) -> re.Match[str]:
    found = _match(_ORIGIN_RE, value, "origin")
    _bounded(found[2], "session id", _U64)
    _bounded(found[3], "session version", _U64)
    return found


def check_connection(value: str) -> re.Match[str]:
    return _match(_CONNECTION_RE, value, "connection")


def check_rtcp(value: str) -> re.Match[str]:
    found = _match(_RTCP_RE, value, "rtcp")
    _bounded(found[1], "rtcp port", 65535)
    return found


def check_fingerprint(value: str) -> re.Match[str]:
    found = _FINGERPRINT_VALUE_RE.match(value)
    if found is None:
        raise SdpParseError("malformed fingerprint", line=value)
    return found


# The checks of the attributes a browser repeats most are written out flat:
# the description parser runs one per line (profiled: call overhead dominated).


def check_rtpmap(value: str) -> re.Match[str]:
    found = _RTPMAP_RE.match(value)
    if found is None:
        raise SdpParseError("malformed rtpmap", line=value)
    channels = found[4]
    if (int(found[1]) > 127 or int(found[3]) > _U32
            or (channels is not None and int(channels) > 255)):
        raise SdpParseError("rtpmap number out of range", line=value)
    return found


def check_fmtp(value: str) -> re.Match[str]:
    found = _FMTP_RE.match(value)
    if found is None:
        raise SdpParseError("malformed fmtp", line=value)
    if int(found[1]) > 127:
        raise SdpParseError("payload type out of range", line=value)
    return found


def check_rtcp_fb(value: str) -> re.Match[str]:
    found = _RTCP_FB_RE.match(value)
    if found is None:
        raise SdpParseError("malformed rtcp-fb", line=value)
    pt = found[1]
    if pt != "*" and int(pt) > 127:
        raise SdpParseError("payload type out of range", line=value)
    return found


def check_extmap(value: str) -> re.Match[str]:
    found = _EXTMAP_RE.match(value)
    if found is None:
        raise SdpParseError("malformed extmap", line=value)
    # One-byte ids 1-14, two-byte 1-255, 4096-4351 in offers (RFC 8285 6).
    if not 1 <= int(found[1]) <= 4351:
        raise SdpParseError("extmap id out of range", line=value)
    return found


def check_ssrc(value: str) -> re.Match[str]:
    found = _SSRC_RE.match(value)
    if found is None:
        raise SdpParseError("malformed ssrc", line=value)
    if int(found[1]) > _U32:
        raise SdpParseError("ssrc out of range", line=value)
    return found


def check_ssrc_group(value: str) -> re.Match[str]:
    found = _match(_SSRC_GROUP_RE, value, "ssrc-group")
    for item in found[2].split():
        _bounded(item, "ssrc", _U32)
    return found


def check_msid(value: str) -> re.Match[str]:
    found = _MSID_RE.match(value)
    if found is None:
        raise SdpParseError("malformed msid", line=value)
    return found


def check_group(value: str) -> re.Match[str]:
    return _match(_GROUP_RE, value, "group")


def check_msid_semantic(value: str) -> re.Match[str]:
    return _match(_MSID_SEMANTIC_RE, value, "msid-semantic")


def _int(text: str, what: str, maximum: int, minimum: int = 0) -> int:
    """A bounded decimal integer made of ASCII digits only."""
    if _DIGITS_RE.match(text) is None:
        raise SdpParseError(f"{what} is not a number", line=text)
    number = int(text)
    if number > maximum or number < minimum:
        raise SdpParseError(f"{what} out of range", line=text)
    return number


def _token(text: str, what: str) -> str:
    if TOKEN_RE.match(text) is None:
        raise SdpParseError(f"malformed {what}", line=text)
    return text


def _check_field(value: str, what: str) -> None:
    """Builders refuse values that would not parse back as one field."""
    if _FIELD_RE.match(value) is None:
        raise ValueError(f"{what} must be non-empty visible text without spaces: {value!r}")


class Direction(str, Enum):
    """Media direction attributes (RFC 8866 section 6.7), also extmap directions."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    def reversed(self) -> Direction:
        """The direction as seen from the other side (sendonly <-> recvonly)."""
        if self is Direction.SENDONLY:
            return Direction.RECVONLY
        if self is Direction.RECVONLY:
            return Direction.SENDONLY
        return self


DIRECTIONS = frozenset(d.value for d in Direction)


class Setup(str, Enum):
    """``a=setup`` roles of the DTLS connection (RFC 4145, RFC 8842)."""

    ACTPASS = "actpass"
    ACTIVE = "active"
    PASSIVE = "passive"
    HOLDCONN = "holdconn"

    @classmethod
    def parse(cls, value: str) -> Setup:
        try:
            return cls(value)
        except ValueError:
            raise SdpParseError("unknown setup role", line=value) from None


@dataclass(frozen=True)
class Origin:
    """The ``o=`` line (RFC 8866 section 5.2)."""

    username: str = "-"
    session_id: int = 0
    session_version: int = 0
    network_type: str = "IN"
    address_type: str = "IP4"
    address: str = "127.0.0.1"

    @classmethod
    def parse(cls, value: str) -> Origin:
        found = check_origin(value)
        return cls(found[1], int(found[2]), int(found[3]), found[4], found[5], found[6])

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.network_type} {self.address_type} {self.address}"
        )

    def validate(self) -> None:
        _check_field(self.username, "username")
        _check_field(self.network_type, "network type")
        _check_field(self.address_type, "address type")
        _check_field(self.address, "address")
        if not 0 <= self.session_id < 2**64 or not 0 <= self.session_version < 2**64:
            raise ValueError("session id and version are 64-bit unsigned numbers")


@dataclass(frozen=True)
class Connection:
    """A ``c=`` line (RFC 8866 section 5.7); ``address`` may carry ``/ttl``."""

    address: str = "0.0.0.0"
    address_type: str = "IP4"
    network_type: str = "IN"

    @classmethod
    def parse(cls, value: str) -> Connection:
        found = check_connection(value)
        return cls(address=found[3], address_type=found[2], network_type=found[1])

    @classmethod
    def for_address(cls, address: str) -> Connection:
        """IN IP4 or IN IP6 by the shape of ``address``."""
        return cls(address=address, address_type="IP6" if ":" in address else "IP4")

    def __str__(self) -> str:
        return f"{self.network_type} {self.address_type} {self.address}"


@dataclass(frozen=True)
class Rtcp:
    """``a=rtcp:<port> [<nettype> <addrtype> <address>]`` (RFC 3605)."""

    port: int
    connection: Connection | None = None

    @classmethod
    def parse(cls, value: str) -> Rtcp:
        found = check_rtcp(value)
        connection = None
        if found[2] is not None:
            connection = Connection(address=found[4], address_type=found[3],
                                    network_type=found[2])
        return cls(int(found[1]), connection)

    def __str__(self) -> str:
        if self.connection is None:
            return str(self.port)
        return f"{self.port} {self.connection}"


@dataclass(frozen=True)
class Fingerprint:
    """``a=fingerprint:<hash-func> <hex pairs>`` (RFC 8122 section 5)."""

    algorithm: str
    value: str

    @classmethod
    def parse(cls, value: str) -> Fingerprint:
        found = check_fingerprint(value)
        return cls(found[1], found[2])

    @classmethod
    def from_digest(cls, algorithm: str, digest: bytes) -> Fingerprint:
        """Upper-case colon-separated hex, as RFC 8122 writes it."""
        return cls(algorithm, digest.hex(":").upper())

    @property
    def digest(self) -> bytes:
        return bytes.fromhex(self.value.replace(":", ""))

    def matches(self, algorithm: str, digest: bytes) -> bool:
        """Case-insensitive comparison with a computed certificate digest."""
        return self.algorithm.lower() == algorithm.lower() and self.digest == digest

    def __str__(self) -> str:
        return f"{self.algorithm} {self.value}"


@dataclass(frozen=True)
class RtpMap:
    """``a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`` (RFC 8866 6.6)."""

    payload_type: int
    encoding_name: str
    clock_rate: int
    channels: int | None = None

    @classmethod
    def parse(cls, value: str) -> RtpMap:
        found = check_rtpmap(value)
        channels = found[4]
        return cls(int(found[1]), found[2], int(found[3]),
                   None if channels is None else int(channels))

    def __str__(self) -> str:
        text = f"{self.payload_type} {self.encoding_name}/{self.clock_rate}"
        return text if self.channels is None else f"{text}/{self.channels}"


@dataclass(frozen=True)
class Fmtp:
    """``a=fmtp:<pt> <parameters>`` (RFC 8866 section 6.15).

    ``parameters`` is the text as written; :attr:`params` splits the usual
    ``key=value;key=value`` form.
    """

    payload_type: int
    parameters: str

    @classmethod
    def parse(cls, value: str) -> Fmtp:
        found = check_fmtp(value)
        return cls(int(found[1]), value[found.end() :])

    @classmethod
    def from_params(cls, payload_type: int, params: dict[str, str | None]) -> Fmtp:
        text = ";".join(key if item is None else f"{key}={item}" for key, item in params.items())
        return cls(payload_type, text)

    @property
    def params(self) -> dict[str, str | None]:
        """``{"minptime": "10", "useinbandfec": "1"}``; a bare key maps to None."""
        result: dict[str, str | None] = {}
        for item in self.parameters.split(";"):
            item = item.strip()
            if not item:
                continue
            key, sep, val = item.partition("=")
            result[key.strip()] = val.strip() if sep else None
        return result

    def __str__(self) -> str:
        return f"{self.payload_type} {self.parameters}"


@dataclass(frozen=True)
class RtcpFeedback:
    """``a=rtcp-fb:<pt|*> <type> [<parameter>]`` (RFC 4585 section 4.2).

    ``payload_type`` is None for the wildcard ``*``.
    """

    payload_type: int | None
    type: str
    parameter: str | None = None

    @classmethod
    def parse(cls, value: str) -> RtcpFeedback:
        found = check_rtcp_fb(value)
        pt = None if found[1] == "*" else int(found[1])
        return cls(pt, found[2], found[3])

    def __str__(self) -> str:
        pt = "*" if self.payload_type is None else str(self.payload_type)
        text = f"{pt} {self.type}"
        return text if self.parameter is None else f"{text} {self.parameter}"


@dataclass(frozen=True)
class ExtMap:
    """``a=extmap:<id>[/<direction>] <uri> [<attributes>]`` (RFC 8285 section 8)."""

    id: int
    uri: str
    direction: Direction | None = None
    attributes: str | None = None

    @classmethod
    def parse(cls, value: str) -> ExtMap:
        found = check_extmap(value)
        direction = None if found[2] is None else Direction(found[2])
        return cls(int(found[1]), found[3], direction, found[4])

    def __str__(self) -> str:
        ident = str(self.id) if self.direction is None else f"{self.id}/{self.direction.value}"
        text = f"{ident} {self.uri}"
        return text if self.attributes is None else f"{text} {self.attributes}"


@dataclass(frozen=True)
class Ssrc:
    """``a=ssrc:<ssrc> <attribute>[:<value>]`` (RFC 5576 section 4.1)."""

    ssrc: int
    attribute: str
    value: str | None = None

    @classmethod
    def parse(cls, value: str) -> Ssrc:
        found = check_ssrc(value)
        return cls(int(found[1]), found[2], found[3])

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.ssrc} {self.attribute}"
        return f"{self.ssrc} {self.attribute}:{self.value}"


@dataclass(frozen=True)
class SsrcGroup:
    """``a=ssrc-group:<semantics> <ssrc>...`` (RFC 5576 section 4.2), e.g. FID, SIM."""

    semantics: str
    ssrcs: tuple[int, ...]

    @classmethod
    def parse(cls, value: str) -> SsrcGroup:
        found = check_ssrc_group(value)
        return cls(found[1], tuple(int(item) for item in found[2].split()))

    def __str__(self) -> str:
        return " ".join([self.semantics, *map(str, self.ssrcs)])


@dataclass(frozen=True)
class Msid:
    """``a=msid:<stream id> [<track id>]`` (RFC 8830 section 2); ``-`` is no stream."""

    stream_id: str
    track_id: str | None = None

    @classmethod
    def parse(cls, value: str) -> Msid:
        found = check_msid(value)
        return cls(found[1], found[2])

    def __str__(self) -> str:
        return self.stream_id if self.track_id is None else f"{self.stream_id} {self.track_id}"


@dataclass(frozen=True)
class Group:
    """``a=group:<semantics> <mid>...`` (RFC 5888), e.g. ``BUNDLE 0 1``."""

    semantics: str
    mids: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str) -> Group:
        found = check_group(value)
        return cls(found[1], tuple(found[2].split(" ")[1:]))

    def __str__(self) -> str:
        return " ".join([self.semantics, *self.mids])


@dataclass(frozen=True)
class MsidSemantic:
    """``a=msid-semantic: WMS [<stream id>...|*]`` (the pre-RFC 8830 form browsers send)."""

    semantic: str = "WMS"
    identifiers: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str) -> MsidSemantic:
        # Chromium writes a space after the colon; RFC-style writers do not.
        found = check_msid_semantic(value)
        return cls(found[1], tuple(item for item in found[2].split(" ") if item))

    def __str__(self) -> str:
        # The leading space is what Chromium and Firefox write and parse.
        return " " + " ".join([self.semantic, *self.identifiers])


class RidDirection(str, Enum):
    SEND = "send"
    RECV = "recv"


@dataclass(frozen=True)
class Rid:
    """``a=rid:<id> send|recv [pt=<fmt>,...;<restriction>=<value>;...]`` (RFC 8851)."""

    id: str
    direction: RidDirection
    payload_types: tuple[int, ...] = ()
    restrictions: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def parse(cls, value: str) -> Rid:
        parts = value.split(" ")
        if len(parts) not in (2, 3) or _RID_ID_RE.match(parts[0]) is None:
            raise SdpParseError("malformed rid", line=value)
        if parts[1] not in ("send", "recv"):
            raise SdpParseError("rid direction must be send or recv", line=value)
        payload_types: list[int] = []
        restrictions: list[tuple[str, str | None]] = []
        if len(parts) == 3:
            for index, item in enumerate(parts[2].split(";")):
                key, sep, val = item.partition("=")
                if key == "pt" and sep and index == 0:
                    payload_types = [_int(pt, "rid payload type", 127) for pt in val.split(",")]
                else:
                    restrictions.append((_token(key, "rid restriction"), val if sep else None))
        return cls(parts[0], RidDirection(parts[1]), tuple(payload_types), tuple(restrictions))

    def __str__(self) -> str:
        params = []
        if self.payload_types:
            params.append("pt=" + ",".join(map(str, self.payload_types)))
        params += [key if val is None else f"{key}={val}" for key, val in self.restrictions]
        text = f"{self.id} {self.direction.value}"
        return f"{text} {';'.join(params)}" if params else text


@dataclass(frozen=True)
class SimulcastStream:
    """One rid in an ``a=simulcast`` list; ``paused`` is the ``~`` prefix."""

    rid: str
    paused: bool = False

    def __str__(self) -> str:
        return "~" + self.rid if self.paused else self.rid


def _simulcast_list(text: str, whole: str) -> tuple[tuple[SimulcastStream, ...], ...]:
    streams = []
    for alternatives in text.split(";"):
        group = []
        for item in alternatives.split(","):
            paused = item.startswith("~")
            rid = item[1:] if paused else item
            if _RID_ID_RE.match(rid) is None:
                raise SdpParseError("malformed simulcast rid", line=whole)
            group.append(SimulcastStream(rid, paused))
        streams.append(tuple(group))
    return tuple(streams)


@dataclass(frozen=True)
class Simulcast:
    """``a=simulcast:send <streams> recv <streams>`` (RFC 8853 section 5.1).

    Each side is a tuple of streams; each stream a tuple of alternative rids
    (``;`` separates streams, ``,`` alternatives).
    """

    send: tuple[tuple[SimulcastStream, ...], ...] = ()
    recv: tuple[tuple[SimulcastStream, ...], ...] = ()

    @classmethod
    def from_rids(cls, send: list[str] | tuple[str, ...] = (),
                  recv: list[str] | tuple[str, ...] = ()) -> Simulcast:
        """One stream per rid, no alternatives: ``send h;m;l``."""
        return cls(
            tuple((SimulcastStream(rid),) for rid in send),
            tuple((SimulcastStream(rid),) for rid in recv),
        )

    @classmethod
    def parse(cls, value: str) -> Simulcast:
        parts = value.split(" ")
        if len(parts) not in (2, 4):
            raise SdpParseError("malformed simulcast", line=value)
        sides: dict[str, tuple[tuple[SimulcastStream, ...], ...]] = {}
        for index in range(0, len(parts), 2):
            side = parts[index]
            if side not in ("send", "recv") or side in sides:
                raise SdpParseError("simulcast direction must be send or recv", line=value)
            sides[side] = _simulcast_list(parts[index + 1], value)
        return cls(sides.get("send", ()), sides.get("recv", ()))

    @property
    def send_rids(self) -> list[str]:
        """The first alternative rid of every send stream."""
        return [stream[0].rid for stream in self.send if stream]

    @property
    def recv_rids(self) -> list[str]:
        return [stream[0].rid for stream in self.recv if stream]

    def __str__(self) -> str:
        out = []
        for side, streams in (("send", self.send), ("recv", self.recv)):
            if streams:
                text = ";".join(",".join(map(str, alts)) for alts in streams)
                out.append(f"{side} {text}")
        return " ".join(out)


# Static RTP payload types (RFC 3551 table 4/5) that need no rtpmap.
STATIC_PAYLOAD_TYPES: dict[int, tuple[str, int, int | None]] = {
    0: ("PCMU", 8000, 1),
    3: ("GSM", 8000, 1),
    4: ("G723", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    13: ("CN", 8000, 1),
    18: ("G729", 8000, 1),
    26: ("JPEG", 90000, None),
    31: ("H261", 90000, None),
    34: ("H263", 90000, None),
}


@dataclass(frozen=True)
class Codec:
    """A payload type with its rtpmap, fmtp and rtcp-fb lines gathered.

    :meth:`MediaDescription.codecs` builds these; :meth:`MediaDescription.add_codec`
    writes one back as lines.
    """

    payload_type: int
    name: str
    clock_rate: int
    channels: int | None = None
    parameters: str | None = None
    feedback: tuple[RtcpFeedback, ...] = field(default=())

    @property
    def mime_type(self) -> str:
        return self.name

    @property
    def params(self) -> dict[str, str | None]:
        return {} if self.parameters is None else Fmtp(self.payload_type, self.parameters).params

    def __str__(self) -> str:
        text = f"{self.name}/{self.clock_rate}"
        return text if self.channels is None else f"{text}/{self.channels}"
