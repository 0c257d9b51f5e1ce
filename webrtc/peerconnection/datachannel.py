"""RTCDataChannel: the W3C data channel over the SCTP association.

Events (aiortc style ``@channel.on("message")`` or W3C style
``channel.onmessage = handler``): ``open``, ``message`` (the ``str`` or
``bytes``; ``event.data`` for attribute handlers), ``bufferedamountlow``,
``closing``, ``close``, ``error``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webrtc.peerconnection.events import EventEmitter
from webrtc.peerconnection.types import InvalidStateError, MessageTooLargeError

if TYPE_CHECKING:
    from webrtc.peerconnection.transport import BundleTransport

__all__ = ["RTCDataChannel"]


class RTCDataChannel(EventEmitter):
    """One data channel. Create with ``RTCPeerConnection.createDataChannel``."""

    EVENTS = ("open", "message", "bufferedamountlow", "closing", "close", "error")

    def __init__(self, label: str, *, ordered: bool = True,
                 maxPacketLifeTime: int | None = None, maxRetransmits: int | None = None,
                 protocol: str = "", negotiated: bool = False, id: int | None = None,
                 priority: str = "low") -> None:
        super().__init__()
        if maxPacketLifeTime is not None and maxRetransmits is not None:
            raise TypeError("maxPacketLifeTime and maxRetransmits cannot both be set")
        if negotiated and id is None:
            raise TypeError("a negotiated channel needs an id")
        if id is not None and not 0 <= id <= 65534:
            raise TypeError(f"channel id {id} out of range (0..65534)")
        if len(label.encode()) > 65535 or len(protocol.encode()) > 65535:
            raise TypeError("label and protocol are limited to 65,535 bytes")
        self.label = label
        self.ordered = ordered
        self.maxPacketLifeTime = maxPacketLifeTime
        self.maxRetransmits = maxRetransmits
        self.protocol = protocol
        self.negotiated = negotiated
        self.id = id
        self.priority = priority
        self.binaryType = "bytes"
        self.readyState = "connecting"
        self._threshold = 0
        self._transport: BundleTransport | None = None
        self._messages_sent = 0
        self._bytes_sent = 0
        self._messages_received = 0
        self._bytes_received = 0

    def __repr__(self) -> str:
        return (f"RTCDataChannel(label={self.label!r}, id={self.id}, "
                f"readyState={self.readyState!r})")

    # -- W3C attributes ---------------------------------------------------------------

    @property
    def bufferedAmount(self) -> int:
        """Bytes queued by ``send`` and not yet handed to the network."""
        if self._transport is None or self.id is None or self.readyState == "closed":
            return 0
        return self._transport.buffered_amount(self.id)

    @property
    def bufferedAmountLowThreshold(self) -> int:
        return self._threshold

    @bufferedAmountLowThreshold.setter
    def bufferedAmountLowThreshold(self, value: int) -> None:
        if not 0 <= value <= 2**32 - 1:
            raise ValueError("bufferedAmountLowThreshold must be in 0..2^32-1")
        self._threshold = value
        if self._transport is not None and self.id is not None:
            self._transport.set_buffered_amount_low_threshold(self.id, value)

    @property
    def maxMessageSize(self) -> int:
        """The largest message the peer accepts (0 when it set no limit)."""
        return self._transport.remote_max_message_size if self._transport else 65536

    # -- methods ------------------------------------------------------------------------

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Queue one message. Raises if the channel is not open or the message too big."""
        if self.readyState != "open" or self._transport is None or self.id is None:
            raise InvalidStateError(f"data channel {self.label!r} is {self.readyState}")
        message: str | bytes
        if isinstance(data, str):
            message = data
            size = len(data) if data.isascii() else len(data.encode("utf-8"))
        elif isinstance(data, (bytes, bytearray, memoryview)):
            message = bytes(data)
            size = len(message)
        else:
            raise TypeError(f"cannot send {type(data).__name__} on a data channel")
        limit = self._transport.remote_max_message_size
        if limit and size > limit:
            raise MessageTooLargeError(
                f"message of {size} bytes is larger than the {limit} bytes the peer "
                "accepts (its a=max-message-size)")
        self._messages_sent += 1
        self._bytes_sent += size
        self._transport.send_message(self.id, message)

    def close(self) -> None:
        """Start closing: reset the stream; ``close`` fires once both sides reset it."""
        if self.readyState in ("closing", "closed"):
            return
        if self._transport is None or self.id is None or (self.readyState == "connecting" and \
                not self._transport.channel_known(self.id)):
            self._set_closed()
            return
        self.readyState = "closing"
        self.emit("closing")
        self._transport.close_channel(self.id)

    # -- called by the peer connection --------------------------------------------------

    def _attach(self, transport: BundleTransport, stream_id: int) -> None:
        self._transport = transport
        self.id = stream_id
        if self._threshold:
            transport.set_buffered_amount_low_threshold(stream_id, self._threshold)

    def _set_open(self) -> None:
        if self.readyState == "connecting":
            self.readyState = "open"
            self.emit("open")

    def _receive(self, data: bytes, is_string: bool) -> None:
        self._messages_received += 1
        self._bytes_received += len(data)
        message: Any = data.decode("utf-8", errors="replace") if is_string else data
        self.emit("message", message, data=message)

    def _buffered_amount_low(self) -> None:
        self.emit("bufferedamountlow")

    def _set_closed(self) -> None:
        if self.readyState == "closed":
            return
        if self.readyState != "closing":
            self.readyState = "closing"
            self.emit("closing")
        self.readyState = "closed"
        self.emit("close")

    def _stats(self) -> dict[str, Any]:
        return {
            "type": "data-channel", "label": self.label, "protocol": self.protocol,
            "dataChannelIdentifier": self.id, "state": self.readyState,
            "messagesSent": self._messages_sent, "bytesSent": self._bytes_sent,
            "messagesReceived": self._messages_received, "bytesReceived": self._bytes_received,
        }
