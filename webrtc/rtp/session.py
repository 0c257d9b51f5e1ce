"""A media transport: RTP senders and receivers over one (S)RTP/RTCP 5-tuple.

:class:`MediaSession` is a :class:`webrtc.engine.DatagramEngine`: datagrams in
(SRTP or SRTCP, RFC 5761 multiplexed), datagrams out. It protects and
unprotects through a :class:`SrtpSession`, demultiplexes the BUNDLE group
(:class:`BundleDemuxer`), creates a receiver the first time an SSRC routes to
a media section that expects one, sends the senders' SR/SDES and the
receivers' report blocks on the RTCP interval (RFC 3550 §6.2, jittered), and
feedback (NACK, PLI, FIR, transport-wide CC) as soon as it is due. Nothing
from the network raises: it is dropped and counted in :attr:`stats`.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pylibsrtp

from webrtc.rtp.bundle import BundleDemuxer, Route
from webrtc.rtp.errors import RtpParseError
from webrtc.rtp.extensions import HeaderExtensionMap
from webrtc.rtp.packet import RtpPacket
from webrtc.rtp.rtcp import (
    DlrrReport,
    ExtendedReport,
    FullIntraRequest,
    GenericNack,
    Goodbye,
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
    parse_rtcp,
)
from webrtc.rtp.srtp import SrtpSession, raw_error
from webrtc.rtp.streams import (
    RtpReceiver,
    RtpSender,
    TransportFeedbackGenerator,
    TransportFeedbackReceived,
    TransportSequenceCounter,
    ntp_from_seconds,
)

__all__ = ["MediaSession", "SessionStats", "StreamEnded"]


@dataclass(frozen=True)
class StreamEnded:
    """The remote sent BYE for ``ssrc``."""

    ssrc: int


@dataclass
class SessionStats:
    rtp_received: int = 0
    rtcp_received: int = 0
    rtp_sent: int = 0
    rtcp_sent: int = 0
    dropped_srtp: int = 0
    dropped_malformed: int = 0
    dropped_unroutable: int = 0


ReceiverFactory = Callable[[int, Route], RtpReceiver | None]


class MediaSession:
    """RTP/RTCP for one transport. ``srtp=None`` sends plain RTP (tests, or a
    transport secured elsewhere)."""

    def __init__(
        self,
        *,
        local_ssrc: int,
        srtp: SrtpSession | None = None,
        extensions: HeaderExtensionMap | None = None,
        cname: str = "webrtc",
        rtcp_interval: float = 1.0,
        reduced_size_rtcp: bool = False,
        transport_cc: bool = True,
        transport_cc_interval: float = 0.1,
        ntp_offset: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.local_ssrc = local_ssrc
        self.srtp = srtp
        self.extensions = extensions or HeaderExtensionMap()
        self.cname = cname
        self.rtcp_interval = rtcp_interval
        self.reduced_size_rtcp = reduced_size_rtcp
        # wall-clock NTP seconds minus ``now``, given to every sender and receiver
        self.ntp_offset = ntp_offset
        self.demuxer = BundleDemuxer(self.extensions)
        self.transport_sequence = TransportSequenceCounter()
        self.transport_feedback = (
            TransportFeedbackGenerator(local_ssrc, interval=transport_cc_interval)
            if transport_cc
            else None
        )
        self.senders: dict[int, RtpSender] = {}
        self.receivers: dict[int, RtpReceiver] = {}
        self._receiver_by_rtx: dict[int, RtpReceiver] = {}
        self._receiver_routes: dict[int, Route] = {}
        self._factories: dict[str, ReceiverFactory] = {}
        self._rng = rng or random.Random()
        self._next_report: float | None = None
        self._outgoing: list[bytes] = []
        self._events: deque[object] = deque()
        self.stats = SessionStats()
        self._cname_sdes = SourceDescription(
            (SdesChunk(local_ssrc, ((1, cname.encode()),)),)
        )

    # -- configuration -------------------------------------------------------------
    def add_sender(self, sender: RtpSender) -> RtpSender:
        sender.transport_sequence = self.transport_sequence
        sender.extensions = self.extensions
        sender.ntp_offset = self.ntp_offset
        self.senders[sender.ssrc] = sender
        if sender.rtx_ssrc is not None:
            self.senders[sender.rtx_ssrc] = sender
        return sender

    def add_receiver(self, receiver: RtpReceiver, mid: str | None = None) -> RtpReceiver:
        """A receiver for a signalled SSRC (and its RTX SSRC)."""
        self.receivers[receiver.ssrc] = receiver
        receiver.ntp_offset = self.ntp_offset
        if mid is not None:
            self.demuxer.add_media(mid, ssrcs=[receiver.ssrc])
            self._receiver_routes[receiver.ssrc] = Route(mid)
        if receiver.rtx_ssrc is not None:
            self._receiver_by_rtx[receiver.rtx_ssrc] = receiver
            if mid is not None:
                self.demuxer.add_ssrc(receiver.rtx_ssrc, Route(mid, None, True))
        return receiver

    def expect_media(
        self, mid: str, factory: ReceiverFactory, payload_types: tuple[int, ...] = ()
    ) -> None:
        """Create receivers on demand for SSRCs that route to ``mid``.

        ``factory(ssrc, route)`` returns the receiver for a new media SSRC, or
        None to ignore it. RTX packets (by RRID, or by ``rtx_payload_type`` of an
        existing receiver of the section) are attached to that receiver.
        """
        self._factories[mid] = factory
        self.demuxer.add_media(mid, payload_types)

    # -- sending ------------------------------------------------------------------------
    def send_frame(self, ssrc: int, frame: bytes, now: float, timestamp: int | None = None) -> None:
        self.senders[ssrc]._send_frame(frame, now, timestamp)
        if self._next_report is None:
            self._schedule_report(now)

    def _schedule_report(self, now: float) -> None:
        if self._next_report is None:
            self._next_report = now + self.rtcp_interval * self._rng.uniform(0.5, 1.5)

    # -- DatagramEngine ----------------------------------------------------------------
    def receive_datagram(self, data: bytes, now: float) -> None:
        if len(data) < 2 or not 128 <= data[0] <= 191:
            self.stats.dropped_malformed += 1
            return
        if 192 <= data[1] <= 223:
            self._receive_rtcp(data, now)
            self._collect_feedback(now)
            return
        receiver = self._receive_rtp(data, now)
        # feedback due now (NACK, PLI/FIR, transport-wide CC); cheap checks first
        transport = self.transport_feedback
        if (receiver is not None and receiver._feedback) or (
            transport is not None
            and transport._next_send is not None
            and now >= transport._next_send
        ):
            self._collect_feedback(now)

    def receive_datagrams(self, datagrams: Iterable[bytes], now: float) -> None:
        """:meth:`receive_datagram` for a batch that arrived together at ``now``
        (one ``recvmmsg``, or what a socket had buffered).

        The same packets are accepted, dropped and counted, and the same events
        queued in the same order, as by one :meth:`receive_datagram` per
        datagram; only the feedback that falls due (NACK, PLI/FIR,
        transport-wide CC) is collected once after the batch instead of after
        each packet, so one transport-wide CC message covers the whole batch.
        The per-packet work (lookups of the SRTP context, parser, demuxer and
        counters) is done once per batch.
        """
        srtp = self.srtp
        unprotect = srtp._unprotect if srtp is not None else None
        raw = srtp._unprotect_raw if srtp is not None else None
        if raw is not None:
            buffer, cdata, context, call, length, limit, _, _ = raw
        else:
            limit = -1  # no packet fits: every one goes through unprotect()
        srtp_error = pylibsrtp.Error
        parse = RtpPacket.parse
        demuxer = self.demuxer
        route = demuxer.route
        settled = demuxer.settled
        transport = self.transport_feedback
        tw_id = self.extensions.transport_wide_cc_id if transport is not None else None
        transport_sequences: list[int] = []  # recorded at once, after the loop
        record = transport_sequences.append
        receivers = self.receivers
        by_rtx = self._receiver_by_rtx
        stats = self.stats
        # packets unprotected (all that reach the parser: without SRTP, the
        # plain ones), and those of them the parser refused
        unprotected = unparsed = 0
        # consecutive packets for one receiver go to it as one run (receive_run)
        run: list[RtpPacket] = []
        run_receiver: RtpReceiver | None = None
        run_ssrc = -1  # the SSRC of the run's last packet
        # The packets of run_ssrc with this layout (and MID octets) that
        # route() would route as before without side effect (demuxer.settled),
        # and where their transport-wide sequence number is (-1: none).
        # Forgotten whenever the run ends (the demuxer may learn or be
        # reconfigured then) and at the next call.
        run_layout: object = False  # no packet's layout (None is one)
        mid_at: slice | None = None
        mid_expected = b""
        tw_at = -1
        hand_over = self._hand_over_run
        try:
            for data in datagrams:
                n = len(data)
                if n < 2 or not 128 <= data[0] <= 191:
                    stats.dropped_malformed += 1
                    continue
                if 192 <= data[1] <= 223:
                    if run:
                        hand_over(run_receiver, run, now)
                        run = []
                        run_receiver = None
                        run_ssrc = -1
                    run_layout = False
                    self._receive_rtcp(data, now)
                    continue
                if n <= limit:
                    # srtp._unprotect, inlined
                    length[0] = n
                    buffer[0:n] = data
                    code = call(context, cdata, length)
                    if code:
                        assert srtp is not None
                        srtp._count(raw_error(code))
                        stats.dropped_srtp += 1
                        continue
                    data = buffer[0 : length[0]]
                elif unprotect is not None:
                    try:
                        data = unprotect(data)
                    except srtp_error as exc:
                        assert srtp is not None
                        srtp._count(exc)
                        stats.dropped_srtp += 1
                        continue
                unprotected += 1
                try:
                    packet = parse(data)
                except RtpParseError:
                    stats.dropped_malformed += 1
                    unparsed += 1
                    continue
                ssrc = packet.ssrc
                if (
                    ssrc == run_ssrc
                    and packet._layout is run_layout
                    and (mid_at is None or data[mid_at] == mid_expected)
                ):
                    # route() would change nothing: skipped (see settled())
                    if tw_at >= 0:
                        record(data[tw_at] << 8 | data[tw_at + 1])
                    run.append(packet)
                    continue
                packet_route = route(packet)
                if tw_id is not None:
                    value = packet.extension_value(tw_id)
                    if value is not None and len(value) == 2:
                        record(value[0] << 8 | value[1])
                if ssrc == run_ssrc:
                    run.append(packet)
                else:
                    receiver = receivers.get(ssrc) or by_rtx.get(ssrc)
                    if receiver is None:
                        if run:
                            hand_over(run_receiver, run, now)
                            run = []
                            run_receiver = None
                            run_ssrc = -1
                        receiver = self._new_receiver(packet, packet_route)
                        if receiver is None:
                            stats.dropped_unroutable += 1
                            run_layout = False
                            continue
                    run_ssrc = ssrc
                    if receiver is not run_receiver:
                        if run:
                            hand_over(run_receiver, run, now)
                        run = [packet]
                        run_receiver = receiver
                    else:
                        run.append(packet)
                # what the next packets of this SSRC may skip route() with (this
                # packet's route() may have taught the demuxer)
                known = settled(packet)
                if known is None:
                    run_layout = False
                else:
                    run_layout = packet._layout
                    mid_at, mid_expected = known
                    tw_at = -1
                    if tw_id is not None and run_layout is not None:
                        span = packet._layout.get(tw_id)  # type: ignore[union-attr]
                        if span is not None and span[1] == 2:
                            tw_at = span[0]
            if run:
                hand_over(run_receiver, run, now)
        finally:
            if srtp is not None:
                srtp.stats.unprotected_rtp += unprotected
            stats.rtp_received += unprotected - unparsed
            if transport is not None:
                transport.record_many(transport_sequences, now)
        if unprotected > unparsed and self._next_report is None:
            self._schedule_report(now)
        self._collect_feedback(now)

    def _hand_over_run(self, receiver: RtpReceiver | None, run: list[RtpPacket],
                       now: float) -> None:
        assert receiver is not None
        self.stats.dropped_malformed += receiver.receive_run(run, now)
        if receiver._events:
            self._events.extend(receiver._events)
            receiver._events.clear()

    def _receive_rtp(self, data: bytes, now: float) -> RtpReceiver | None:
        """Unprotect, parse, route and deliver one RTP packet; the receiver it went to."""
        srtp = self.srtp
        if srtp is not None:
            try:
                data = srtp._unprotect(data)
            except pylibsrtp.Error as exc:
                srtp._count(exc)
                self.stats.dropped_srtp += 1
                return None
            srtp.stats.unprotected_rtp += 1
        stats = self.stats
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            stats.dropped_malformed += 1
            return None
        route = self.demuxer.route(packet)
        feedback = self.transport_feedback
        if feedback is not None:
            tw_id = self.extensions.transport_wide_cc_id
            if tw_id is not None:
                value = packet.extension_value(tw_id)
                if value is not None and len(value) == 2:
                    feedback.record(value[0] << 8 | value[1], now)
        stats.rtp_received += 1
        ssrc = packet.ssrc
        receiver = self.receivers.get(ssrc) or self._receiver_by_rtx.get(ssrc)
        if receiver is None:
            receiver = self._new_receiver(packet, route)
            if receiver is None:
                stats.dropped_unroutable += 1
                return None
        try:
            receiver.receive(packet, now)
        except RtpParseError:
            stats.dropped_malformed += 1
        events = receiver._events
        if events:
            self._events.extend(events)
            events.clear()
        if self._next_report is None:
            self._schedule_report(now)
        return receiver

    def _new_receiver(self, packet: RtpPacket, route: Route | None) -> RtpReceiver | None:
        if route is None:
            return None
        siblings = [
            self.receivers[ssrc]
            for ssrc, known in self._receiver_routes.items()
            if known.mid == route.mid and ssrc in self.receivers
        ]
        is_rtx = route.repaired or any(
            packet.payload_type == r.rtx_payload_type for r in siblings
        )
        if is_rtx:
            for receiver in siblings:
                if receiver.rtx_ssrc is None and (
                    route.rid is None or self._receiver_routes[receiver.ssrc].rid == route.rid
                ):
                    receiver.rtx_ssrc = packet.ssrc
                    self._receiver_by_rtx[packet.ssrc] = receiver
                    return receiver
            return None
        factory = self._factories.get(route.mid)
        if factory is None:
            return None
        created = factory(packet.ssrc, route)
        if created is None:
            return None
        created.ntp_offset = self.ntp_offset
        self.receivers[packet.ssrc] = created
        self._receiver_routes[packet.ssrc] = route
        return created

    def _receive_rtcp(self, data: bytes, now: float) -> None:
        if self.srtp is not None:
            plain = self.srtp.unprotect_rtcp(data)
            if plain is None:
                self.stats.dropped_srtp += 1
                return
            data = plain
        try:
            packets = parse_rtcp(data)
        except RtpParseError:
            self.stats.dropped_malformed += 1
            return
        self.stats.rtcp_received += 1
        for packet in packets:
            self._route_rtcp(packet, now)

    def _route_rtcp(self, packet: RtcpPacket, now: float) -> None:
        senders = self.senders
        if isinstance(packet, (SenderReport, ReceiverReport)):
            if isinstance(packet, SenderReport):
                receiver = self.receivers.get(packet.ssrc)
                if receiver is not None:
                    receiver.handle_rtcp(packet, now)
            for block in packet.reports:
                sender = senders.get(block.ssrc)
                if sender is not None:
                    sender.handle_rtcp(packet, now)
                    self._drain(sender)
        elif isinstance(packet, (GenericNack, PictureLossIndication, RtpFeedback, PayloadFeedback)):
            sender = senders.get(packet.media_ssrc)
            if sender is not None:
                sender.handle_rtcp(packet, now)
                self._drain(sender)
        elif isinstance(packet, FullIntraRequest):
            for entry in packet.entries:
                sender = senders.get(entry.ssrc)
                if sender is not None:
                    sender.handle_rtcp(packet, now)
                    self._drain(sender)
        elif isinstance(packet, Remb):
            for sender in {id(s): s for s in senders.values()}.values():
                sender.handle_rtcp(packet, now)
                self._drain(sender)
                break
        elif isinstance(packet, TransportWideFeedback):
            self._events.append(TransportFeedbackReceived(tuple(packet.arrivals())))
        elif isinstance(packet, ExtendedReport):
            for xr_block in packet.blocks:
                if isinstance(xr_block, ReceiverReferenceTime):
                    for sender in {id(s): s for s in senders.values()}.values():
                        sender.handle_rtcp(packet, now)
                elif isinstance(xr_block, DlrrReport):
                    receiver = self.receivers.get(packet.ssrc)
                    if receiver is not None:
                        receiver.handle_rtcp(packet, now)
                        self._drain(receiver)
        elif isinstance(packet, Goodbye):
            for ssrc in packet.ssrcs:
                if ssrc in self.receivers:
                    self._events.append(StreamEnded(ssrc))

    def _drain(self, stream: RtpSender | RtpReceiver) -> None:
        while (event := stream.next_event()) is not None:
            self._events.append(event)

    def _collect_feedback(self, now: float) -> None:
        feedback: list[RtcpPacket] = []
        for receiver in self.receivers.values():
            if receiver._feedback:
                feedback.extend(receiver.feedback_to_send())
        transport = self.transport_feedback
        if transport is not None and transport._next_send is not None and (
            now >= transport._next_send
        ):
            feedback.extend(transport.feedback(now))
        if feedback:
            if not self.reduced_size_rtcp:
                # RFC 4585 §3.1: a minimal compound packet, a report and the CNAME
                # before the feedback
                feedback[:0] = [ReceiverReport(self.local_ssrc), self._cname_sdes]
            self._send_rtcp(feedback)

    def _send_rtcp(self, packets: list[RtcpPacket]) -> None:
        data = b"".join(bytes(p) for p in packets)
        if self.srtp is not None:
            data = self.srtp.protect_rtcp(data)
        self._outgoing.append(data)
        self.stats.rtcp_sent += 1

    def _report(self, now: float) -> None:
        blocks: list[ReportBlock] = []
        for receiver in self.receivers.values():
            block = receiver.report_block(now)
            if block is not None:
                blocks.append(block)
        packets: list[RtcpPacket] = []
        media_senders = [s for ssrc, s in self.senders.items() if ssrc == s.ssrc]
        for index, sender in enumerate(media_senders):
            packets.extend(sender.report(now, tuple(blocks[:31]) if index == 0 else ()))
        if not media_senders:
            packets.append(ReceiverReport(self.local_ssrc, tuple(blocks[:31])))
            packets.append(self._cname_sdes)
        if self.receivers:
            rrtr = ReceiverReferenceTime(ntp_from_seconds(now + self.ntp_offset))
            packets.append(ExtendedReport(self.local_ssrc, (rrtr,)))
        self._send_rtcp(packets)

    def datagrams_to_send(self, now: float) -> list[bytes]:
        srtp = self.srtp
        # the senders protect as they serialize when this pylibsrtp allows it
        raw = srtp._protect_raw if srtp is not None else None
        out: list[bytes] = []
        for ssrc, sender in self.senders.items():
            if ssrc == sender.ssrc and sender._outgoing:
                out += sender._packets_to_send(now, raw)
        if out:
            self.stats.rtp_sent += len(out)
            if raw is not None:
                srtp.stats.protected_rtp += len(out)  # type: ignore[union-attr]
            elif srtp is not None:
                out = srtp.protect_many(out)
        if self._outgoing:
            out.extend(self._outgoing)
            self._outgoing = []
        return out

    def get_timer(self) -> float | None:
        timer = self._next_report
        for receiver in self.receivers.values():
            t = receiver.get_timer()
            if t is not None and (timer is None or t < timer):
                timer = t
        if self.transport_feedback is not None:
            t = self.transport_feedback.get_timer()
            if t is not None and (timer is None or t < timer):
                timer = t
        return timer

    def handle_timer(self, now: float) -> None:
        if self._next_report is not None and now >= self._next_report:
            self._next_report = now + self.rtcp_interval * self._rng.uniform(0.5, 1.5)
            self._report(now)
        for receiver in self.receivers.values():
            t = receiver.get_timer()
            if t is not None and now >= t:
                receiver.handle_timer(now)
                self._drain(receiver)
        self._collect_feedback(now)

    def next_event(self) -> object | None:
        return self._events.popleft() if self._events else None


