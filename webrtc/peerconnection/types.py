"""The W3C dictionaries and value types of the facade, aiortc-compatible.

Field names follow the W3C WebRTC specification (camelCase), as aiortc does,
so code written for aiortc runs unchanged after changing the import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from webrtc.sdp.candidate import Candidate

__all__ = [
    "InvalidAccessError",
    "InvalidStateError",
    "MessageTooLargeError",
    "OperationError",
    "RTCConfiguration",
    "RTCIceCandidate",
    "RTCIceServer",
    "RTCSessionDescription",
    "candidate_from_sdp",
    "candidate_to_sdp",
]

SdpType = Literal["offer", "answer", "pranswer", "rollback"]


class InvalidStateError(Exception):
    """The object is not in a state where the call is allowed (W3C InvalidStateError)."""


class InvalidAccessError(Exception):
    """A description or candidate that cannot be applied (W3C InvalidAccessError)."""


class OperationError(Exception):
    """The operation failed for a reason other than the above (W3C OperationError)."""


class MessageTooLargeError(ValueError):
    """A data-channel message larger than the peer's ``a=max-message-size``."""


@dataclass
class RTCSessionDescription:
    """An offer, answer, pranswer or rollback; ``sdp`` is the SDP text."""

    sdp: str
    type: str

    def __post_init__(self) -> None:
        if self.type not in ("offer", "answer", "pranswer", "rollback"):
            raise ValueError(f"unknown session description type {self.type!r}")

    def to_dict(self) -> dict[str, str]:
        """The JSON shape browsers exchange: ``{"type": ..., "sdp": ...}``."""
        return {"type": self.type, "sdp": self.sdp}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> RTCSessionDescription:
        return cls(sdp=value.get("sdp", ""), type=value["type"])


@dataclass
class RTCIceCandidate:
    """One ICE candidate, with aiortc's fields and the W3C ``candidate`` string.

    Build one from what a browser's ``icecandidate`` event gives with
    :meth:`from_dict` (``{"candidate": "candidate:...", "sdpMid": "0",
    "sdpMLineIndex": 0}``) and send ours to a browser with :meth:`to_dict`.
    """

    component: int
    foundation: str
    ip: str
    port: int
    priority: int
    protocol: str
    type: str
    relatedAddress: str | None = None
    relatedPort: int | None = None
    sdpMid: str | None = None
    sdpMLineIndex: int | None = None
    tcpType: str | None = None
    usernameFragment: str | None = None

    @classmethod
    def from_candidate(cls, candidate: Candidate, sdpMid: str | None = None,
                       sdpMLineIndex: int | None = None) -> RTCIceCandidate:
        return cls(component=candidate.component, foundation=candidate.foundation,
                   ip=candidate.address, port=candidate.port, priority=candidate.priority,
                   protocol=candidate.transport.lower(), type=candidate.type,
                   relatedAddress=candidate.related_address,
                   relatedPort=candidate.related_port, sdpMid=sdpMid,
                   sdpMLineIndex=sdpMLineIndex, tcpType=candidate.tcptype,
                   usernameFragment=candidate.ufrag)

    @classmethod
    def from_sdp(cls, text: str, sdpMid: str | None = None,
                 sdpMLineIndex: int | None = None) -> RTCIceCandidate:
        """From ``candidate:...`` or the bare attribute value; raises SdpParseError."""
        return cls.from_candidate(Candidate.parse(text), sdpMid, sdpMLineIndex)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> RTCIceCandidate:
        """From a browser's ``RTCIceCandidateInit`` JSON."""
        candidate = cls.from_sdp(value["candidate"], value.get("sdpMid"),
                                 value.get("sdpMLineIndex"))
        if value.get("usernameFragment"):
            candidate.usernameFragment = value["usernameFragment"]
        return candidate

    def to_candidate(self) -> Candidate:
        return Candidate(foundation=self.foundation, component=self.component,
                         transport=self.protocol, priority=self.priority, address=self.ip,
                         port=self.port, type=self.type, related_address=self.relatedAddress,
                         related_port=self.relatedPort, tcptype=self.tcpType)

    @property
    def address(self) -> str:
        return self.ip

    @property
    def candidate(self) -> str:
        """The W3C ``candidate`` attribute: ``candidate:<foundation> ...``."""
        return str(self.to_candidate())

    def to_dict(self) -> dict[str, Any]:
        """The ``RTCIceCandidateInit`` JSON a browser's ``addIceCandidate`` takes."""
        value: dict[str, Any] = {"candidate": self.candidate, "sdpMid": self.sdpMid,
                                 "sdpMLineIndex": self.sdpMLineIndex}
        if self.usernameFragment is not None:
            value["usernameFragment"] = self.usernameFragment
        return value


@dataclass
class RTCIceServer:
    """A STUN or TURN server: ``urls`` is one URL or a list (``stun:host:port``)."""

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None
    credentialType: str = "password"

    @property
    def url_list(self) -> list[str]:
        return [self.urls] if isinstance(self.urls, str) else list(self.urls)


@dataclass
class RTCConfiguration:
    """Connection configuration.

    Beyond the W3C members:

    - ``addresses``: the local IP addresses to gather host candidates on (for
      example ``["127.0.0.1"]`` to stay on loopback); ``None`` means every
      address of every interface that is up, loopback excluded.
    - ``portRange``: ``(first, last)`` inclusive UDP port range for the local
      sockets; ``None`` lets the system choose.
    - ``maxMessageSize``: the ``a=max-message-size`` we announce (bytes).
    - ``srflxTimeout``: how long ``setLocalDescription`` waits for
      server-reflexive candidates from the STUN servers (seconds).
    """

    iceServers: list[RTCIceServer] | None = None
    iceTransportPolicy: str = "all"
    bundlePolicy: str = "max-bundle"
    addresses: list[str] | None = None
    portRange: tuple[int, int] | None = None
    maxMessageSize: int = 262144
    srflxTimeout: float = 2.0
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.iceTransportPolicy not in ("all", "relay"):
            raise ValueError(f"unknown iceTransportPolicy {self.iceTransportPolicy!r}")
        if self.portRange is not None:
            first, last = self.portRange
            if not 0 < first <= last < 65536:
                raise ValueError(f"bad portRange {self.portRange!r}")


def candidate_from_sdp(text: str) -> RTCIceCandidate:
    """aiortc's ``aiortc.sdp.candidate_from_sdp``: parse an a=candidate value."""
    return RTCIceCandidate.from_sdp(text)


def candidate_to_sdp(candidate: RTCIceCandidate) -> str:
    """aiortc's ``aiortc.sdp.candidate_to_sdp``: the a=candidate value, no prefix."""
    return candidate.to_candidate().to_attribute_value()
