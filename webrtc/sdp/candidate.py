"""ICE candidates in the RFC 8839 grammar: the one candidate type of the stack.

The ICE agent uses this type too (DESIGN.md section 2). It parses and writes
both the SDP attribute form (``a=candidate:...``) and the bare form browsers
put in ``RTCIceCandidate.candidate`` (``candidate:...``).

RFC 8839 section 5.1::

    candidate-attribute = "candidate" ":" foundation SP component-id SP
                          transport SP priority SP connection-address SP
                          port SP cand-type [SP rel-addr] [SP rel-port]
                          *(SP cand-extension)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from webrtc.sdp.errors import SdpParseError

__all__ = ["CANDIDATE_TYPES", "Candidate", "scan_candidate"]

CANDIDATE_TYPES = ("host", "srflx", "prflx", "relay")

# Extension attributes with typed fields, in the order Chromium writes them.
_TYPED_EXTENSIONS = ("tcptype", "generation", "ufrag", "network-id", "network-cost")
_U32 = 2**32 - 1
_ICE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/")


# RFC 8839 section 5.1, the fields up to the candidate type, then the
# extension pairs: foundation = 1*32ice-char; component-id = 1*3DIGIT;
# transport = "UDP" / token; priority = 1*10DIGIT; the address is kept as
# written (IPv4, IPv6 or an mDNS name); cand-type = "typ" SP token. Numbers
# are range-checked after the match, and items are printable ASCII.
_CANDIDATE_RE = re.compile(
    r"(?:a=)?(?:candidate:)?"
    r"([A-Za-z0-9+/]{1,32}) ([0-9]{1,20}) ((?=[A-Za-z0-9-]*[A-Za-z0-9])[A-Za-z0-9-]+) "
    r"([0-9]{1,20}) ([\x21-\x7e]+) ([0-9]{1,20}) typ ([A-Za-z0-9]+)"
    r"((?: [\x21-\x7e]+)*)\Z"
)


def _diagnose(text: str) -> str:
    """Which field of a candidate that did not match is wrong (for the message)."""
    value = text[2:] if text.startswith("a=") else text
    if value.startswith("candidate:"):
        value = value[len("candidate:") :]
    parts = value.split(" ")
    if len(parts) < 8 or parts[6] != "typ":
        return "malformed candidate"
    fields = ("foundation", "component", "transport", "priority", "address", "port")
    checks = (r"[A-Za-z0-9+/]{1,32}", "[0-9]{1,20}",
              r"(?=[A-Za-z0-9-]*[A-Za-z0-9])[A-Za-z0-9-]+", "[0-9]{1,20}", r"[\x21-\x7e]+",
              "[0-9]{1,20}")
    for name, part, pattern in zip(fields, parts, checks, strict=False):
        if re.fullmatch(pattern, part) is None:
            return f"malformed candidate {name}"
    if re.fullmatch("[A-Za-z0-9]+", parts[7]) is None:
        return "malformed candidate type"
    return "malformed candidate extension"


def _parse_int(value: str, what: str, text: str, maximum: int) -> int:
    # The length bound keeps int() away from its 4,300-digit ValueError.
    if not value.isascii() or not value.isdigit() or len(value) > 20:
        raise SdpParseError(f"candidate {what} is not a number", line=text)
    number = int(value)
    if number > maximum:
        raise SdpParseError(f"candidate {what} out of range", line=text)
    return number


@dataclass(frozen=True)
class Candidate:
    """One ICE candidate.

    ``address`` is an IP address or, as browsers send for hidden host
    candidates, an mDNS name such as ``<uuid>.local``: names are kept as
    names. ``extensions`` holds the extension pairs that have no typed field,
    in their order; ``extension_order`` remembers where the typed ones stood so
    that a parsed candidate writes back exactly as it came.
    """

    foundation: str
    component: int
    transport: str
    priority: int
    address: str
    port: int
    type: str
    related_address: str | None = None
    related_port: int | None = None
    tcptype: str | None = None
    generation: int | None = None
    ufrag: str | None = None
    network_id: int | None = None
    network_cost: int | None = None
    extensions: tuple[tuple[str, str], ...] = ()
    extension_order: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Candidate:
        """Parse ``candidate:...``, ``a=candidate:...`` or the bare attribute value."""
        return cls(*scan_candidate(text))

    def _typed_values(self) -> dict[str, str]:
        values: dict[str, str] = {}
        if self.tcptype is not None:
            values["tcptype"] = self.tcptype
        if self.generation is not None:
            values["generation"] = str(self.generation)
        if self.ufrag is not None:
            values["ufrag"] = self.ufrag
        if self.network_id is not None:
            values["network-id"] = str(self.network_id)
        if self.network_cost is not None:
            values["network-cost"] = str(self.network_cost)
        return values

    def to_attribute_value(self) -> str:
        """The attribute value, without the ``candidate:`` prefix."""
        out = [
            self.foundation,
            str(self.component),
            self.transport,
            str(self.priority),
            self.address,
            str(self.port),
            "typ",
            self.type,
        ]
        if self.related_address is not None:
            out += ["raddr", self.related_address, "rport", str(self.related_port or 0)]
        typed = self._typed_values()
        unknown = list(self.extensions)
        for key in self.extension_order:
            if key in typed:
                out += [key, typed.pop(key)]
            else:
                for position, (name, item) in enumerate(unknown):
                    if name == key:
                        out += [name, item]
                        del unknown[position]
                        break
        for key in _TYPED_EXTENSIONS:
            if key in typed:
                out += [key, typed[key]]
        for name, item in unknown:
            out += [name, item]
        return " ".join(out)

    def __str__(self) -> str:
        """The bare form browsers use in ``RTCIceCandidate.candidate``."""
        return "candidate:" + self.to_attribute_value()

    def to_sdp_line(self) -> str:
        """The SDP attribute line, ``a=candidate:...`` (no line ending)."""
        return "a=candidate:" + self.to_attribute_value()

    @property
    def is_mdns(self) -> bool:
        """True when the address is an mDNS name (``<uuid>.local``) to resolve."""
        return self.address.lower().endswith(".local")


# What the Candidate constructor takes, in order.
CandidateFields = tuple[Any, ...]


def scan_candidate(text: str) -> CandidateFields:
    """Validate a candidate string and return the constructor arguments.

    :meth:`Candidate.parse` builds on it; the SDP parser calls it alone to
    validate ``a=candidate`` lines without building the value.
    """
    found = _CANDIDATE_RE.match(text)
    if found is None:
        raise SdpParseError(_diagnose(text), line=text)
    foundation, component_text, transport, priority_text, address, port_text, \
        cand_type, tail = found.groups()
    # The pattern bounds each number to 20 ASCII digits, so int() is safe.
    component = int(component_text)
    priority = int(priority_text)
    port = int(port_text)
    if component > 256:
        raise SdpParseError("candidate component out of range", line=text)
    if priority > _U32:
        raise SdpParseError("candidate priority out of range", line=text)
    if port > 65535:
        raise SdpParseError("candidate port out of range", line=text)
    if not tail:
        return (foundation, component, transport, priority, address, port, cand_type)

    # Extension pairs; the pattern holds each item to non-empty printable ASCII.
    rest = tail[1:].split(" ")
    count = len(rest)
    if count % 2:
        raise SdpParseError("candidate extension without a value", line=text)
    related_address: str | None = None
    related_port: int | None = None
    start = 0
    if rest[0] == "raddr":
        if count < 4 or rest[2] != "rport":
            raise SdpParseError("raddr without rport", line=text)
        related_address = rest[1]
        related_port = _parse_int(rest[3], "rport", text, 65535)
        start = 4
    typed: dict[str, str] = {}
    extensions: list[tuple[str, str]] = []
    order: list[str] = []
    for index in range(start, count, 2):
        key = rest[index]
        if key in _TYPED_EXTENSIONS and key not in typed:
            typed[key] = rest[index + 1]
        elif key == "raddr" or key == "rport":
            raise SdpParseError(f"misplaced {key}", line=text)
        else:
            extensions.append((key, rest[index + 1]))
        order.append(key)
    generation = typed.get("generation")
    network_id = typed.get("network-id")
    network_cost = typed.get("network-cost")
    return (
        foundation, component, transport, priority, address, port, cand_type,
        related_address, related_port, typed.get("tcptype"),
        None if generation is None else _parse_int(generation, "generation", text, _U32),
        typed.get("ufrag"),
        None if network_id is None else _parse_int(network_id, "network-id", text, 65535),
        None if network_cost is None
        else _parse_int(network_cost, "network-cost", text, 65535),
        tuple(extensions), tuple(order),
    )
