"""RTP and RTCP (RFC 3550, 8285, 4585, 5104), SRTP via pylibsrtp, payload formats,
and sans-I/O sender/receiver stream engines.
"""

from __future__ import annotations

from webrtc.rtp.errors import RtpParseError
from webrtc.rtp.extensions import (
    AudioLevel,
    HeaderExtensionMap,
    PlayoutDelay,
    VideoOrientation,
)
from webrtc.rtp.packet import RtpPacket, is_rtcp
from webrtc.rtp.rtcp import (
    ApplicationDefined,
    DlrrReport,
    DlrrSubBlock,
    ExtendedReport,
    FirEntry,
    FullIntraRequest,
    GenericNack,
    Goodbye,
    NackItem,
    PayloadFeedback,
    PictureLossIndication,
    ReceiverReferenceTime,
    ReceiverReport,
    Remb,
    ReportBlock,
    RtcpPacket,
    RtpFeedback,
    SdesChunk,
    SenderReport,
    SourceDescription,
    TransportWideFeedback,
    UnknownRtcpPacket,
    UnknownXrBlock,
    parse_rtcp,
)

__all__ = [
    "ApplicationDefined",
    "AudioLevel",
    "DlrrReport",
    "DlrrSubBlock",
    "ExtendedReport",
    "FirEntry",
    "FullIntraRequest",
    "GenericNack",
    "Goodbye",
    "HeaderExtensionMap",
    "NackItem",
    "PayloadFeedback",
    "PictureLossIndication",
    "PlayoutDelay",
    "ReceiverReferenceTime",
    "ReceiverReport",
    "Remb",
    "ReportBlock",
    "RtcpPacket",
    "RtpFeedback",
    "RtpPacket",
    "RtpParseError",
    "SdesChunk",
    "SenderReport",
    "SourceDescription",
    "TransportWideFeedback",
    "UnknownRtcpPacket",
    "UnknownXrBlock",
    "VideoOrientation",
    "is_rtcp",
    "parse_rtcp",
]
