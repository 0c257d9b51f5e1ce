"""RTCP packets, with aiortc cross-checks."""

from __future__ import annotations

import dataclasses

import pytest
from aiortc import rtp as aiortc_rtp

from webrtc.rtp import (
    ApplicationDefined,
    DlrrReport,
    DlrrSubBlock,
    ExtendedReport,
    FirEntry,
    FullIntraRequest,
    GenericNack,
    Goodbye,
    PictureLossIndication,
    ReceiverReferenceTime,
    ReceiverReport,
    Remb,
    ReportBlock,
    RtpParseError,
    SdesChunk,
    SenderReport,
    SourceDescription,
    TransportWideFeedback,
    UnknownRtcpPacket,
    parse_rtcp,
)


def reserialized(data: bytes) -> bytes:
    """Serialize every parsed packet from its fields (not the kept bytes)."""
    return b"".join(dataclasses.replace(p).serialize() for p in parse_rtcp(data))


def test_sender_report_and_sdes_from_aiortc() -> None:
    sr = aiortc_rtp.RtcpSrPacket(
        ssrc=0x11223344,
        sender_info=aiortc_rtp.RtcpSenderInfo(
            ntp_timestamp=0x0102030405060708, rtp_timestamp=90000, packet_count=10, octet_count=1000
        ),
        reports=[
            aiortc_rtp.RtcpReceiverInfo(
                ssrc=5, fraction_lost=12, packets_lost=-3, highest_sequence=70000, jitter=40,
                lsr=0xAABBCCDD, dlsr=65536,
            )
        ],
    )
    sdes = aiortc_rtp.RtcpSdesPacket(
        chunks=[aiortc_rtp.RtcpSourceInfo(ssrc=0x11223344, items=[(1, b"{cname-1234}")])]
    )
    data = bytes(sr) + bytes(sdes)
    ours = parse_rtcp(data)
    assert [p.packet_type for p in ours] == [200, 202]
    report, description = ours
    assert isinstance(report, SenderReport) and isinstance(description, SourceDescription)
    assert report.ssrc == 0x11223344 and report.ntp_timestamp == 0x0102030405060708
    assert (report.rtp_timestamp, report.packet_count, report.octet_count) == (90000, 10, 1000)
    assert report.reports == (ReportBlock(5, 12, -3, 70000, 40, 0xAABBCCDD, 65536),)
    assert description.chunks == (SdesChunk(0x11223344, ((1, b"{cname-1234}"),)),)
    assert b"".join(bytes(p) for p in ours) == data
    assert reserialized(data) == data
    # and ours parse with aiortc
    theirs = aiortc_rtp.RtcpPacket.parse(report.serialize() + description.serialize())
    assert theirs[0].ssrc == 0x11223344 and theirs[0].sender_info == sr.sender_info
    assert theirs[0].reports == sr.reports
    assert theirs[1].chunks == sdes.chunks


def test_receiver_report_bye_nack_pli_remb_from_aiortc() -> None:
    packets = [
        aiortc_rtp.RtcpRrPacket(
            ssrc=1,
            reports=[
                aiortc_rtp.RtcpReceiverInfo(
                    ssrc=2, fraction_lost=0, packets_lost=100, highest_sequence=3, jitter=4,
                    lsr=5, dlsr=6,
                )
            ],
        ),
        aiortc_rtp.RtcpByePacket(sources=[7, 8]),
        # (no wrap around 65535 here: aiortc mis-packs it)
        aiortc_rtp.RtcpRtpfbPacket(
            fmt=1, ssrc=9, media_ssrc=10, lost=[1000, 1001, 1016, 1017, 1200]
        ),
        aiortc_rtp.RtcpPsfbPacket(fmt=1, ssrc=11, media_ssrc=12),
        aiortc_rtp.RtcpPsfbPacket(
            fmt=15, ssrc=13, media_ssrc=0, fci=aiortc_rtp.pack_remb_fci(2_500_000, [14, 15])
        ),
    ]
    data = b"".join(bytes(p) for p in packets)
    ours = parse_rtcp(data)
    assert [(p.packet_type, getattr(p, "fmt", None)) for p in ours] == [
        (201, None), (203, None), (205, 1), (206, 1), (206, 15),
    ]
    rr, bye, nack, pli, remb = ours
    assert rr == ReceiverReport(1, (ReportBlock(2, 0, 100, 3, 4, 5, 6),))
    assert bye == Goodbye((7, 8))
    assert isinstance(nack, GenericNack)
    assert nack.sender_ssrc == 9 and nack.media_ssrc == 10
    assert nack.lost == [1000, 1001, 1016, 1017, 1200]
    assert pli == PictureLossIndication(11, 12)
    assert isinstance(remb, Remb)
    assert remb.ssrcs == (14, 15) and abs(remb.bitrate - 2_500_000) / 2_500_000 < 1e-4
    assert b"".join(bytes(p) for p in ours) == data
    assert reserialized(data) == data
    theirs = aiortc_rtp.RtcpPacket.parse(b"".join(p.serialize() for p in ours))
    assert theirs == packets


def test_our_nack_is_read_by_aiortc() -> None:
    lost = [100, 101, 116, 117, 200, 300]
    nack = GenericNack.from_lost(1, 2, lost)
    theirs = aiortc_rtp.RtcpPacket.parse(bytes(nack))[0]
    assert theirs.lost == lost
    assert nack.lost == lost


def test_nack_wraps_around() -> None:
    lost = [65534, 65535, 0, 3, 40]
    nack = GenericNack.from_lost(1, 2, lost)
    assert len(nack.items) == 2
    assert parse_rtcp(bytes(nack))[0].lost == lost


@pytest.mark.parametrize(
    "packet",
    [
        SenderReport(1, 2, 3, 4, 5, (), b"ext!"),
        ReceiverReport(9),
        SourceDescription((SdesChunk(1, ()), SdesChunk(2, ((1, b"abc"), (2, b"name"))))),
        Goodbye((1,), b"shutting down"),
        Goodbye((), b""),
        ApplicationDefined(3, 4, b"ABCD", b"12345678"),
        FullIntraRequest(1, (FirEntry(2, 3), FirEntry(4, 255))),
        Remb(1, 123456 << 10, (2, 3, 4)),
        ExtendedReport(
            5,
            (
                ReceiverReferenceTime(0x1122334455667788),
                DlrrReport((DlrrSubBlock(1, 2, 3), DlrrSubBlock(4, 5, 6))),
            ),
        ),
        TransportWideFeedback(1, 2, 65530, -5, 7, (1, 1, 0, 2, 1) + (1,) * 20, (10, 20, -3, 250)
                              + (0,) * 20),
        UnknownRtcpPacket(210, 3, b"abcd"),
    ],
)
def test_each_type_round_trips(packet: object) -> None:
    data = bytes(packet)
    parsed = parse_rtcp(data)
    assert parsed == [packet]
    assert bytes(parsed[0]) == data


def test_remb_bitrate_is_exact_when_representable() -> None:
    remb = Remb(1, 0x3FFFF << 20, ())
    assert parse_rtcp(bytes(remb))[0] == remb


def test_transport_wide_feedback_arrivals() -> None:
    feedback = TransportWideFeedback(1, 2, 10, 1, 0, (1, 0, 2), (4, -8))
    assert feedback.arrivals() == [(10, 0.065), (11, None), (12, 0.063)]


def test_padding_is_kept() -> None:
    body = bytes(PictureLossIndication(1, 2))
    padded = bytes([body[0] | 0x20, body[1]]) + (3).to_bytes(2, "big") + body[4:] + b"\0\0\0\x04"
    parsed = parse_rtcp(padded)
    assert parsed == [PictureLossIndication(1, 2)] and bytes(parsed[0]) == padded


def test_padded_sender_report_decodes_lazily_to_its_fields() -> None:
    # SR/RR/SDES keep their bytes and decode on first access; padding included
    sr = SenderReport(7, 1 << 40, 90000, 3, 400, (ReportBlock(9, 1, -2, 70000, 5, 6, 7),))
    body = bytes(sr)
    padded = bytes([body[0] | 0x20, body[1]]) + (len(body) // 4).to_bytes(2, "big")
    padded += body[4:] + b"\0\0\0\x04"
    sdes = SourceDescription((SdesChunk(7, ((1, b"cname"), (2, b"name"))), SdesChunk(8, ())))
    parsed = parse_rtcp(padded + bytes(sdes) + bytes(ReceiverReport(8)))
    assert parsed == [sr, sdes, ReceiverReport(8)]
    assert parsed[0].reports[0].packets_lost == -2  # type: ignore[union-attr]
    assert bytes(parsed[0]) == padded and repr(parsed[1]) == repr(sdes)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x81\xc8\x00\x06" + bytes(24),  # SR announcing one block without it
        b"\x81\xca\x00\x03" + b"\x00\x00\x00\x01\x01\x09cname\x00",  # SDES item too long
        b"\x80\xc8\x00",
        b"\x40\xc8\x00\x00",  # version 1
        b"\x80\xc8\x00\x06" + bytes(20),  # SR runs past the end
        b"\x81\xc9\x00\x01" + bytes(4),  # RR announcing one block without it
        b"\x81\xca\x00\x01" + b"\x00\x00\x00\x01",  # SDES chunk not terminated
        b"\x81\xca\x00\x02" + b"\x00\x00\x00\x01\x01\x00\x00\x01",  # SDES padding not zero
        # one chunk with one item (the parser's shortcut), then 4 bytes after it
        b"\x81\xca\x00\x03" + b"\x00\x00\x00\x01\x01\x01a\x00" + b"\x00\x00\x00\x01",
        b"\x81\xca\x00\x02" + b"\x00\x00\x00\x01\x01\x03abc",  # item list not terminated
        b"\x81\xca\x00\x02" + b"\x00\x00\x00\x01\x01\x01a\x01",  # padding not zero
        b"\xa0\xcb\x00\x00",  # padding bit with no room for it
        b"\x8f\xcd\x00\x03" + bytes(8) + b"\x00\x00\x00\x05",  # TWCC FCI too short
        b"\x8f\xce\x00\x04" + bytes(8) + b"REMB" + b"\x02\x00\x00\x01",  # REMB count wrong
    ],
)
def test_malformed_rtcp_raises_rtp_parse_error(data: bytes) -> None:
    with pytest.raises(RtpParseError):
        parse_rtcp(data)
