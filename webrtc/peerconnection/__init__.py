"""The W3C ``RTCPeerConnection`` API over the stack, for data channels (asyncio).

aiortc-compatible names: code written for aiortc's data-channel API runs
after changing the import. See :mod:`webrtc.peerconnection.peerconnection`.
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
