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

from dataclasses import dataclass, field

from webrtc.sdp.errors import SdpParseError

__all__ = ["CANDIDATE_TYPES", "Candidate"]

CANDIDATE_TYPES = ("host", "srflx", "prflx", "relay")

# Extension attributes with typed fields, in the order Chromium writes them.
_TYPED_EXTENSIONS = ("tcptype", "generation", "ufrag", "network-id", "network-cost")
_ICE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/")


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
        value = text
        if value.startswith("a="):
            value = value[2:]
        if value.startswith("candidate:"):
            value = value[len("candidate:") :]
        parts = value.split(" ")
        if len(parts) < 8 or parts[6] != "typ":
            raise SdpParseError("malformed candidate", line=text)
        foundation = parts[0]
        if not foundation or len(foundation) > 32 or not set(foundation) <= _ICE_CHARS:
            raise SdpParseError("malformed candidate foundation", line=text)
        component = _parse_int(parts[1], "component", text, 256)
        transport = parts[2]
        if not transport or not transport.isascii() or not transport.replace("-", "").isalnum():
            raise SdpParseError("malformed candidate transport", line=text)
        priority = _parse_int(parts[3], "priority", text, 2**32 - 1)
        address = parts[4]
        if not address or not address.isascii() or not address.isprintable():
            raise SdpParseError("malformed candidate address", line=text)
        port = _parse_int(parts[5], "port", text, 65535)
        cand_type = parts[7]
        if not cand_type or not cand_type.isascii() or not cand_type.isalnum():
            raise SdpParseError("malformed candidate type", line=text)

        rest = parts[8:]
        if len(rest) % 2:
            raise SdpParseError("candidate extension without a value", line=text)
        related_address: str | None = None
        related_port: int | None = None
        typed: dict[str, str] = {}
        extensions: list[tuple[str, str]] = []
        order: list[str] = []
        for index in range(0, len(rest), 2):
            key, item = rest[index], rest[index + 1]
            if not key or not item or not key.isascii() or not item.isascii():
                raise SdpParseError("malformed candidate extension", line=text)
            if not key.isprintable() or not item.isprintable():
                raise SdpParseError("malformed candidate extension", line=text)
            if key == "raddr" and index == 0 and related_address is None:
                related_address = item
                continue
            if key == "rport" and index == 2 and related_address is not None:
                related_port = _parse_int(item, "rport", text, 65535)
                continue
            if key in ("raddr", "rport"):
                raise SdpParseError(f"misplaced {key}", line=text)
            if key in _TYPED_EXTENSIONS and key not in typed:
                typed[key] = item
            else:
                extensions.append((key, item))
            order.append(key)
        if related_address is not None and related_port is None:
            raise SdpParseError("raddr without rport", line=text)

        def typed_int(key: str, maximum: int) -> int | None:
            raw = typed.get(key)
            return None if raw is None else _parse_int(raw, key, text, maximum)

        return cls(
            foundation=foundation,
            component=component,
            transport=transport,
            priority=priority,
            address=address,
            port=port,
            type=cand_type,
            related_address=related_address,
            related_port=related_port,
            tcptype=typed.get("tcptype"),
            generation=typed_int("generation", 2**32 - 1),
            ufrag=typed.get("ufrag"),
            network_id=typed_int("network-id", 65535),
            network_cost=typed_int("network-cost", 65535),
            extensions=tuple(extensions),
            extension_order=tuple(order),
        )

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
