"""RTP and RTCP (RFC 3550, 8285, 4585, 5104), SRTP via pylibsrtp, payload formats,
and sans-I/O sender/receiver stream engines.

- Packets: :class:`RtpPacket` (``parse``/``bytes``, lossless, RFC 8285
  extensions), :func:`parse_rtcp` and the RTCP packet types, typed header
  extensions through :class:`HeaderExtensionMap` (built from SDP extmaps).
- SRTP: :class:`SrtpSession` keyed from DTLS (``from_handshake``, or
  ``from_keying_material`` with the RFC 5764 §4.2 split).
- Payload formats (:mod:`webrtc.rtp.codecs`): Opus, PCMU/PCMA, VP8, VP9,
  H.264 packetizers and depacketizers with keyframe detection.
- Engines (:mod:`webrtc.rtp.streams`, :mod:`webrtc.rtp.session`):
  :class:`RtpSender` and :class:`RtpReceiver` per SSRC (RTX, NACK, reports,
  jitter buffer, keyframe requests), :class:`MediaSession` putting them on one
  SRTP transport with BUNDLE demultiplexing; a
  :class:`webrtc.engine.DatagramEngine`.

Quick use::

    session = MediaSession(local_ssrc=0x1234, srtp=SrtpSession.from_handshake(done),
                           extensions=HeaderExtensionMap.from_extmaps(media.extmaps))
    session.add_sender(RtpSender(0x5678, 96, 90000, codec=Vp8Codec(), mid="0",
                                 rtx_ssrc=0x5679, rtx_payload_type=97))
    session.expect_media("0", lambda ssrc, route: RtpReceiver(
        ssrc, 90000, local_ssrc=0x1234, codec=Vp8Codec(), rtx_payload_type=97), (96, 97))
    session.send_frame(0x5678, frame, now)          # then datagrams_to_send(now)
    session.receive_datagram(datagram, now)         # then next_event(): FrameReceived...
"""

from __future__ import annotations

from webrtc.rtp.bundle import BundleDemuxer, Route
from webrtc.rtp.codecs import G711Codec, H264Codec, OpusCodec, Vp8Codec, Vp9Codec, codec_for
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
from webrtc.rtp.session import MediaSession, SessionStats, StreamEnded
from webrtc.rtp.srtp import SrtpProfile, SrtpSession, split_keying_material
from webrtc.rtp.streams import (
    FrameLost,
    FrameReceived,
    KeyframeRequested,
    ReceiverStatistics,
    RembReceived,
    RoundTripTimeMeasured,
    RtpReceiver,
    RtpSender,
    TransportFeedbackReceived,
)

__all__ = [
    "ApplicationDefined",
    "AudioLevel",
    "BundleDemuxer",
    "DlrrReport",
    "DlrrSubBlock",
    "ExtendedReport",
    "FirEntry",
    "FrameLost",
    "FrameReceived",
    "FullIntraRequest",
    "G711Codec",
    "GenericNack",
    "Goodbye",
    "H264Codec",
    "HeaderExtensionMap",
    "KeyframeRequested",
    "MediaSession",
    "NackItem",
    "OpusCodec",
    "PayloadFeedback",
    "PictureLossIndication",
    "PlayoutDelay",
    "ReceiverReferenceTime",
    "ReceiverReport",
    "ReceiverStatistics",
    "Remb",
    "RembReceived",
    "ReportBlock",
    "RoundTripTimeMeasured",
    "Route",
    "RtcpPacket",
    "RtpFeedback",
    "RtpPacket",
    "RtpParseError",
    "RtpReceiver",
    "RtpSender",
    "SdesChunk",
    "SenderReport",
    "SessionStats",
    "SourceDescription",
    "SrtpProfile",
    "SrtpSession",
    "StreamEnded",
    "TransportFeedbackReceived",
    "TransportWideFeedback",
    "UnknownRtcpPacket",
    "UnknownXrBlock",
    "VideoOrientation",
    "Vp8Codec",
    "Vp9Codec",
    "codec_for",
    "is_rtcp",
    "parse_rtcp",
    "split_keying_material",
]
