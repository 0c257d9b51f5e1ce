"""Shared SRTP interoperation checks for the RTP tests."""

from __future__ import annotations

import os

from webrtc.rtp import ReceiverReport, RtpPacket, SenderReport
from webrtc.rtp.srtp import SrtpSession


def exercise(client: SrtpSession, server: SrtpSession) -> None:
    """Both directions, RTP and RTCP; tampered and replayed packets dropped and counted."""
    for sender, receiver, ssrc in ((client, server, 0x1111), (server, client, 0x2222)):
        sent = []
        for seq in range(20):
            packet = bytes(RtpPacket(96, seq, seq * 3000, ssrc, os.urandom(50 + seq * 10)))
            protected = sender.protect(packet)
            assert protected != packet
            sent.append((packet, protected))
        for packet, protected in sent:
            assert receiver.unprotect(protected) == packet
        # replayed
        assert receiver.unprotect(sent[5][1]) is None
        assert receiver.stats.dropped_replay == 1
        # tampered (a fresh sequence number, so the replay check passes)
        packet = bytes(RtpPacket(96, 100, 1, ssrc, b"\x00" * 80))
        protected = bytearray(sender.protect(packet))
        protected[20] ^= 0x01
        assert receiver.unprotect(bytes(protected)) is None
        assert receiver.stats.dropped_authentication == 1
        # SRTCP
        report = bytes(SenderReport(ssrc, 1 << 32, 3000, 20, 2000)) + bytes(ReceiverReport(ssrc))
        protected_rtcp = sender.protect_rtcp(report)
        assert receiver.unprotect_rtcp(protected_rtcp) == report
        assert receiver.unprotect_rtcp(protected_rtcp) is None
        forged = bytearray(sender.protect_rtcp(report))
        forged[10] ^= 0x80
        assert receiver.unprotect_rtcp(bytes(forged)) is None
        assert receiver.unprotect(b"\x80\x60") is None
        assert receiver.stats.dropped == 5
        assert receiver.stats.unprotected_rtp == 20 and receiver.stats.unprotected_rtcp == 1
