"""Events and states of the SCTP association and its data channels."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "AssociationClosed",
    "AssociationEstablished",
    "AssociationState",
    "BufferedAmountLow",
    "ChannelAcknowledged",
    "ChannelClosed",
    "ChannelOpened",
    "CloseReason",
    "MessageReceived",
]


class AssociationState(enum.Enum):
    """RFC 9260 section 4 states."""

    CLOSED = "closed"
    COOKIE_WAIT = "cookie-wait"
    COOKIE_ECHOED = "cookie-echoed"
    ESTABLISHED = "established"
    SHUTDOWN_PENDING = "shutdown-pending"
    SHUTDOWN_SENT = "shutdown-sent"
    SHUTDOWN_RECEIVED = "shutdown-received"
    SHUTDOWN_ACK_SENT = "shutdown-ack-sent"


class CloseReason(enum.Enum):
    """Why an association ended."""

    SHUTDOWN = "shutdown"  # graceful SHUTDOWN exchange (either side)
    ABORTED_BY_PEER = "aborted-by-peer"  # ABORT received
    ABORTED_LOCALLY = "aborted-locally"  # abort() called
    INIT_FAILED = "init-failed"  # INIT or COOKIE ECHO unanswered (Max.Init.Retransmits)
    RETRANSMISSION_LIMIT = "retransmission-limit"  # Association.Max.Retrans reached
    PROTOCOL_VIOLATION = "protocol-violation"  # e.g. a message above max-message-size


@dataclass(frozen=True)
class AssociationEstablished:
    """The four-way handshake completed; data channels can be used."""

    outbound_streams: int
    inbound_streams: int
    i_data: bool  # I-DATA (RFC 8260) negotiated by both sides
    remote_reconfig: bool  # the peer supports RE-CONFIG (stream reset)


@dataclass(frozen=True)
class AssociationClosed:
    reason: CloseReason
    detail: str = ""


@dataclass(frozen=True)
class ChannelOpened:
    """A data channel is open.

    ``remote`` is True when the peer opened it (its DATA_CHANNEL_OPEN arrived
    and we acknowledged it). For a channel we opened, it is sent once the
    association is up and our DATA_CHANNEL_OPEN is queued: RFC 8832 section 6
    lets the opener send before the ACK arrives. Negotiated channels open when
    the association is up.
    """

    stream_id: int
    label: str
    protocol: str
    ordered: bool
    max_retransmits: int | None
    max_packet_life_time: int | None  # milliseconds
    priority: int
    negotiated: bool
    remote: bool


@dataclass(frozen=True)
class ChannelAcknowledged:
    """The peer acknowledged our DATA_CHANNEL_OPEN (its DATA_CHANNEL_ACK, or any
    message on the channel, arrived: RFC 8832 6). From now on an unordered
    channel's messages go unordered."""

    stream_id: int


@dataclass(frozen=True)
class MessageReceived:
    """A whole message on a data channel. ``data`` is UTF-8 when ``is_string``."""

    stream_id: int
    data: bytes
    is_string: bool

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ChannelClosed:
    """Both directions of the channel's stream were reset (RFC 8831 6.7)."""

    stream_id: int


@dataclass(frozen=True)
class BufferedAmountLow:
    """The channel's buffered amount fell to or below its low-water threshold."""

    stream_id: int
    buffered_amount: int
