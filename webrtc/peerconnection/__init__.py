"""The W3C ``RTCPeerConnection`` API over the stack, for data channels (asyncio).

aiortc-compatible names: code written for aiortc's data-channel API runs
after changing the import. The MDN "basic usage" flow, in Python::

    from webrtc.peerconnection import RTCConfiguration, RTCPeerConnection

    async def main(signaling):
        pc = RTCPeerConnection(RTCConfiguration(addresses=["127.0.0.1"]))
        channel = pc.createDataChannel("chat")
        channel.onopen = lambda event: channel.send("hello")
        channel.onmessage = lambda event: print("got", event.data)
        pc.onicecandidate = lambda event: signaling.send(event.candidate)  # then None
        await pc.setLocalDescription(await pc.createOffer())
        signaling.send(pc.localDescription)   # already carries the host candidates
        await pc.setRemoteDescription(await signaling.receive_answer())

Listeners: ``@pc.on("datachannel")`` / ``@channel.on("message")`` (aiortc
style: the channel, the message...) or ``pc.ondatachannel = handler``
(W3C style: one event with ``.channel``, ``.data``, ``.candidate``).

:class:`RTCConfiguration` beyond the W3C members: ``addresses`` (the local
IP addresses to use; default every interface but loopback, or 127.0.0.1
when it is the only one), ``portRange`` (inclusive UDP port range),
``maxMessageSize`` (what we announce) and ``srflxTimeout`` (the bounded wait
for STUN servers in ``setLocalDescription``). ``iceServers`` takes any
number of ``stun:`` URLs and ``turn:``/``turns:`` servers with ``username`` and
``credential`` (relayed candidates, :class:`webrtc.ice.aio_turn.TurnIceConnection`);
``iceTransportPolicy="relay"`` gathers and uses relayed candidates only.

How it is built: :mod:`webrtc.peerconnection.transport` (one ICE connection
of :mod:`webrtc.ice.aio` -> RFC 7983 demultiplexer -> DTLS -> SCTP, one
asyncio driver, one timer) and
:mod:`webrtc.sdp.jsep` (offers and answers).
"""

from webrtc.peerconnection.datachannel import RTCDataChannel
from webrtc.peerconnection.events import Event, EventEmitter
from webrtc.peerconnection.peerconnection import RTCPeerConnection
from webrtc.peerconnection.stats import RTCStats, RTCStatsReport
from webrtc.peerconnection.types import (
    InvalidAccessError,
    InvalidStateError,
    MessageTooLargeError,
    OperationError,
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCSessionDescription,
    candidate_from_sdp,
    candidate_to_sdp,
)

__all__ = [
    "Event",
    "EventEmitter",
    "InvalidAccessError",
    "InvalidStateError",
    "MessageTooLargeError",
    "OperationError",
    "RTCConfiguration",
    "RTCDataChannel",
    "RTCIceCandidate",
    "RTCIceServer",
    "RTCPeerConnection",
    "RTCSessionDescription",
    "RTCStats",
    "RTCStatsReport",
    "candidate_from_sdp",
    "candidate_to_sdp",
]
