"""Stream engines, jitter buffer, transport-wide feedback and BUNDLE demux, unit by unit."""

from __future__ import annotations

import random

from webrtc.rtp import (
    AudioLevel,
    GenericNack,
    HeaderExtensionMap,
    PictureLossIndication,
    ReceiverReport,
    RtpPacket,
    SenderReport,
    TransportWideFeedback,
    parse_rtcp,
)
from webrtc.rtp import extensions as ext
from webrtc.rtp.bundle import BundleDemuxer, Route
from webrtc.rtp.codecs import OpusCodec, Vp8Codec
from webrtc.rtp.jitterbuffer import AssembledFrame, JitterBuffer, LostFrames
from webrtc.rtp.rtcp import FirEntry, FullIntraRequest
from webrtc.rtp.streams import (
    FrameLost,
    FrameReceived,
    KeyframeRequested,
    RtpReceiver,
    RtpSender,
    TransportFeedbackGenerator,
    TransportSequenceCounter,
    unwrap_sequence,
)

PAIRS = [(1, ext.MID), (2, ext.ABS_SEND_TIME), (3, ext.TRANSPORT_WIDE_CC),
         (4, ext.RTP_STREAM_ID), (5, ext.REPAIRED_RTP_STREAM_ID), (6, ext.AUDIO_LEVEL)]


def make_sender(**options: object) -> RtpSender:
    sender = RtpSender(
        0x1000, 96, 90000, codec=Vp8Codec(), extensions=HeaderExtensionMap(PAIRS), mid="v",
        rid="hi", rtx_ssrc=0x1001, rtx_payload_type=97,
        transport_sequence=TransportSequenceCounter(100), randbytes=random.Random(1).randbytes,
        **options,  # type: ignore[arg-type]
    )
    return sender


def test_sender_stamps_extensions_on_the_way_out() -> None:
    sender = make_sender()
    extensions = sender.extensions
    sequences = sender.send_frame(b"\x10" + bytes(3000), now=1.0)
    assert len(sequences) == 3
    sender.send_payload(b"level", 1.5, timestamp=7, extensions={6: b"\x9e"})
    packets = [RtpPacket.parse(d) for d in sender.packets_to_send(2.0)]
    assert [p.sequence_number for p in packets[:3]] == sequences
    assert [p.marker for p in packets] == [False, False, True, False]
    assert len({p.timestamp for p in packets[:3]}) == 1
    for index, packet in enumerate(packets):
        assert extensions.get_mid(packet) == "v"
        assert extensions.get_rtp_stream_id(packet) == "hi"
        assert extensions.get_abs_send_time(packet) == ext.abs_send_time_from_seconds(2.0)
        assert extensions.get_transport_sequence_number(packet) == 100 + index
    # the last one went the general way (an extra per-packet extension)
    assert extensions.get_audio_level(packets[3]) == AudioLevel(True, 30)
    assert packets[3].timestamp == 7
    assert Vp8Codec().depacketize([p.payload for p in packets[:3]]) == b"\x10" + bytes(3000)


def test_nack_is_answered_with_rtx() -> None:
    sender = make_sender()
    sequences = sender.send_frame(b"\x10" + bytes(3000), now=1.0)
    originals = [RtpPacket.parse(d) for d in sender.packets_to_send(1.0)]
    sender.handle_rtcp(GenericNack.from_lost(0xB, 0x1000, [sequences[1], 4242]), 1.1)
    # the same NACK again right away (crossing in flight) is not answered twice
    sender.handle_rtcp(GenericNack.from_lost(0xB, 0x1000, [sequences[1]]), 1.101)
    rtx = [RtpPacket.parse(d) for d in sender.packets_to_send(1.1)]
    assert len(rtx) == 1 and sender.retransmissions == 1
    packet = rtx[0]
    # RFC 4588 §4: RTX SSRC and payload type, OSN then the original payload
    assert (packet.ssrc, packet.payload_type) == (0x1001, 97)
    assert packet.payload[:2] == sequences[1].to_bytes(2, "big")
    assert packet.payload[2:] == originals[1].payload
    assert packet.timestamp == originals[1].timestamp
    assert sender.extensions.get_repaired_rtp_stream_id(packet) == "hi"
    assert sender.extensions.get_rtp_stream_id(packet) is None


def test_keyframe_requests_and_rtt() -> None:
    sender = make_sender()
    sender.send_frame(b"\x10" + bytes(100), now=0.0)
    sender.handle_rtcp(PictureLossIndication(0xB, 0x1000), 0.1)
    fir = FullIntraRequest(0xB, (FirEntry(0x1000, 5),))
    sender.handle_rtcp(fir, 0.2)
    sender.handle_rtcp(fir, 0.3)  # the same request repeated (RFC 5104 §4.3.1.2)
    events = [sender.next_event(), sender.next_event(), sender.next_event()]
    assert events == [KeyframeRequested(0x1000, "pli"), KeyframeRequested(0x1000, "fir"), None]
    report = sender.report(10.0)
    assert isinstance(report[0], SenderReport)
    # the receiver answers 0.25 s after the SR arrived; RTT 0.1 s in all
    receiver = RtpReceiver(0x1000, 90000, local_ssrc=0xB)
    receiver.receive(RtpPacket(96, 1, 0, 0x1000, b"x"), 10.05)
    receiver.handle_rtcp(report[0], 10.05)
    block = receiver.report_block(10.30)
    assert block is not None
    sender.handle_rtcp(ReceiverReport(0xB, (block,)), 10.35)
    assert sender.rtt is not None and abs(sender.rtt - 0.1) < 0.001


def feed(receiver: RtpReceiver, sequence: int, timestamp: int, marker: bool, payload: bytes,
         now: float) -> None:
    receiver.receive(RtpPacket(96, sequence & 0xFFFF, timestamp, 0x2000, payload, marker), now)


def events_of(receiver: RtpReceiver) -> list[object]:
    out = []
    while (event := receiver.next_event()) is not None:
        out.append(event)
    return out


def test_receiver_nacks_retries_and_gives_up_then_asks_for_a_keyframe() -> None:
    receiver = RtpReceiver(0x2000, 90000, local_ssrc=0xB, codec=Vp8Codec(), nack_give_up=0.5,
                           initial_rtt=0.1)
    key = Vp8Codec().packetize(b"\x10" + bytes(3000), 1200)  # 3 packets
    feed(receiver, 65534, 1000, False, key[0], 0.0)
    feed(receiver, 0, 1000, True, key[2], 0.01)  # 65535 missing, across the wrap
    assert receiver.get_timer() == 0.01
    receiver.handle_timer(0.01)
    assert receiver.get_timer() == 0.015  # nack_delay
    receiver.handle_timer(0.015)
    nack = receiver.feedback_to_send()
    assert isinstance(nack[0], GenericNack) and nack[0].lost == [65535]
    # retried every RTT/2
    timer = receiver.get_timer()
    assert timer is not None and abs(timer - 0.065) < 1e-9
    receiver.handle_timer(timer)
    assert receiver.feedback_to_send()[0].lost == [65535]  # type: ignore[union-attr]
    while (timer := receiver.get_timer()) is not None and timer < 0.6:
        receiver.handle_timer(timer)
    lost = [e for e in events_of(receiver) if isinstance(e, FrameLost)]
    assert lost == [FrameLost(0x2000, (1000,), True)]
    feedback = receiver.feedback_to_send()
    assert any(isinstance(p, PictureLossIndication) for p in feedback)
    assert receiver.nacks_sent == 10  # nack_max_retries
    # the next delta frame is complete but not decodable until a keyframe
    delta = Vp8Codec().packetize(b"\x11" + bytes(10), 1200)
    feed(receiver, 1, 4000, True, delta[0], 0.6)
    frames = [e for e in events_of(receiver) if isinstance(e, FrameReceived)]
    assert len(frames) == 1 and not frames[0].decodable and not frames[0].keyframe


def test_rtx_repairs_a_frame() -> None:
    receiver = RtpReceiver(0x2000, 90000, local_ssrc=0xB, codec=Vp8Codec(), rtx_ssrc=0x2001,
                           rtx_payload_type=97)
    payloads = Vp8Codec().packetize(b"\x10" + bytes(3000), 1200)
    feed(receiver, 10, 1000, False, payloads[0], 0.0)
    feed(receiver, 12, 1000, True, payloads[2], 0.001)
    assert events_of(receiver) == []
    receiver.receive(RtpPacket(97, 500, 1000, 0x2001, b"\x00\x0b" + payloads[1]), 0.1)
    frames = events_of(receiver)
    assert len(frames) == 1 and isinstance(frames[0], FrameReceived)
    assert frames[0].data == b"\x10" + bytes(3000) and frames[0].keyframe
    assert abs(frames[0].delay - 0.1) < 1e-9
    stats = receiver.statistics()
    assert (stats.packets_received, stats.cumulative_lost) == (2, 1)


def test_receiver_statistics_follow_rfc3550() -> None:
    receiver = RtpReceiver(0x2000, 8000, local_ssrc=0xB)
    now = 0.0
    for sequence in range(100):
        if sequence % 10 == 3:
            continue
        # 20 ms packets, every other one 5 ms late: |D| = 40 samples each time
        feed(receiver, sequence, sequence * 160, False, b"x",
             now + sequence * 0.02 + (0.005 if sequence % 2 else 0.0))
    block = receiver.report_block(2.0)
    assert block is not None
    assert block.packets_lost == 10 and block.fraction_lost == (10 * 256) // 100
    assert block.highest_sequence == 99
    assert 30 < block.jitter <= 40


def test_jitter_buffer_orders_frames_and_skips_lost_ones() -> None:
    buffer = JitterBuffer(Vp8Codec())
    codec = Vp8Codec()
    frames = [codec.packetize(bytes((0x10 if i == 0 else 0x11,)) + bytes(2000), 1200)
              for i in range(3)]
    sequence = 100
    order = []
    for index, payloads in enumerate(frames):
        for n, payload in enumerate(payloads):
            order.append((sequence, index * 3000, n == len(payloads) - 1, payload))
            sequence += 1
    # frame 1's first packet never comes; frame 2 arrives before frame 1's second
    for index in (0, 1, 5, 4, 3):
        buffer.insert(*order[index], now=0.0)
    assert [type(x) for x in buffer.pop()] == [AssembledFrame]
    buffer.mark_lost(102)
    out = buffer.pop()
    assert [type(x) for x in out] == [LostFrames, AssembledFrame]
    assert isinstance(out[0], LostFrames) and out[0].timestamps == (3000,)
    assert isinstance(out[1], AssembledFrame) and out[1].timestamp == 6000


def test_audio_frames_are_single_packets() -> None:
    buffer = JitterBuffer(OpusCodec(), single_packet_frames=True)
    buffer.insert(5, 960, True, b"a", 0.0)  # marker: start of a talkspurt
    buffer.insert(6, 1920, False, b"b", 0.02)
    assert [f.data for f in buffer.pop() if isinstance(f, AssembledFrame)] == [b"a", b"b"]


def test_transport_feedback_generator() -> None:
    generator = TransportFeedbackGenerator(0xB, interval=0.1)
    arrivals = {65534: 1.0, 65535: 1.001, 1: 1.070, 2: 1.0695}
    for sequence, now in arrivals.items():
        generator.record(sequence, now)
    assert generator.get_timer() == 1.1
    assert generator.feedback(1.05) == []
    (packet,) = generator.feedback(1.1)
    parsed = parse_rtcp(bytes(packet))[0]
    assert isinstance(parsed, TransportWideFeedback)
    reported = dict(parsed.arrivals())
    assert reported[0] is None
    for sequence, now in arrivals.items():
        arrival = reported[sequence]
        assert arrival is not None and abs(arrival - now) < 0.00025
    assert packet.statuses[-1] == 2  # a negative delta needs the large form
    assert generator.feedback(1.3) == []


def test_bundle_demux_by_mid_ssrc_rid_and_payload_type() -> None:
    extensions = HeaderExtensionMap(PAIRS)
    demux = BundleDemuxer(extensions)
    demux.add_media("a", payload_types=[111])
    demux.add_media("v", payload_types=[96, 97], ssrcs=[0x3000])
    demux.add_media("w", payload_types=[96])  # 96 is shared: not usable to route
    packet = RtpPacket(96, 1, 1, 0x4000, b"")
    extensions.set_mid(packet, "w")
    extensions.set_rtp_stream_id(packet, "lo")
    assert demux.route(packet) == Route("w", "lo")
    # learned: the SSRC alone now routes
    assert demux.route(RtpPacket(96, 2, 1, 0x4000, b"")) == Route("w", "lo")
    assert demux.route(RtpPacket(96, 1, 1, 0x3000, b"")) == Route("v")
    assert demux.route(RtpPacket(111, 1, 1, 0x5000, b"")) == Route("a")
    assert demux.route(RtpPacket(96, 1, 1, 0x6000, b"")) is None
    repaired = RtpPacket(97, 1, 1, 0x7000, b"")
    extensions.set_mid(repaired, "w")
    extensions.set_repaired_rtp_stream_id(repaired, "lo")
    assert demux.route(repaired) == Route("w", "lo", repaired=True)
    # a MID changes an SSRC's route (RFC 8843 §9.2)
    moved = RtpPacket(111, 3, 1, 0x5000, b"")
    extensions.set_mid(moved, "v")
    assert demux.route(moved) == Route("v")
    assert demux.unroutable == 1


def test_unwrap_sequence() -> None:
    assert unwrap_sequence(0, 65535) == 65536
    assert unwrap_sequence(65535, 65536) == 65535
    assert unwrap_sequence(100, 5 * 65536 + 50) == 5 * 65536 + 100


def test_sender_reports_carry_wall_clock_ntp() -> None:
    wall_clock = 3_973_000_000.25  # NTP seconds (since 1900) at now == 0
    sender = make_sender(ntp_offset=wall_clock)
    sender.send_frame(b"\x10" + bytes(100), now=5.0)
    report = sender.report(7.5)[0]
    assert isinstance(report, SenderReport)
    assert abs(report.ntp_timestamp / 2**32 - (wall_clock + 7.5)) < 1e-6
    # the RTP timestamp is that of a frame captured at 7.5 s
    assert report.rtp_timestamp == (sender.timestamp_for(5.0) + int(2.5 * 90000)) & 0xFFFFFFFF
    receiver = RtpReceiver(0x1000, 90000, local_ssrc=0xB)
    receiver.receive(RtpPacket(96, 1, 0, 0x1000, b"x"), 7.55)
    receiver.handle_rtcp(report, 7.55)
    block = receiver.report_block(7.6)
    assert block is not None
    sender.handle_rtcp(ReceiverReport(0xB, (block,)), 7.65)
    assert sender.rtt is not None and abs(sender.rtt - 0.1) < 0.001
