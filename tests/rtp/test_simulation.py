"""A video-like stream through the deterministic simulator (virtual time).

30 fps frames sized like a 1.5 Mbit/s stream with a keyframe every 2 s, VP8
packetized at 1200 bytes, over a link with 50 ms one-way delay (100 ms round
trip), 4 ms jitter and 5 % of packets held back 10 ms (reordering), with loss
in both directions (RTCP and RTX are lost too).
"""

from __future__ import annotations

import itertools
import random
import statistics
from dataclasses import dataclass

import pytest

from webrtc.rtp import extensions as ext
from webrtc.rtp.codecs import Vp8Codec
from webrtc.rtp.extensions import HeaderExtensionMap
from webrtc.rtp.session import MediaSession
from webrtc.rtp.streams import RtpReceiver, RtpSender
from webrtc.testing import LinkConfig, Network
from webrtc.testing.rtp import MediaEndpoint, VideoLikeSource

ONE_WAY = 0.05
RTT = 2 * ONE_WAY
JITTER = 0.004
REORDER = 0.05
REORDER_DELAY = 0.01
MEDIA_SSRC, RTX_SSRC = 0x1000, 0x1001


@dataclass
class Run:
    sender: MediaEndpoint
    receiver: MediaEndpoint
    network: Network
    duration: float

    @property
    def media_sender(self) -> RtpSender:
        return self.sender.session.senders[MEDIA_SSRC]

    @property
    def media_receiver(self) -> RtpReceiver:
        return self.receiver.session.receivers[MEDIA_SSRC]

    def frames_complete_within(self, budget: float) -> float:
        """Fraction of sent frames delivered whole with a jitter-buffer delay under
        ``budget``. Frames of the last 0.5 s are left out: a loss at the very end
        of a stream has no later packet to reveal it."""
        sent = [i for i, t in self.sender.record.sent.items() if t < self.duration - 0.5]
        delays = self.receiver.record.jitter_delays
        return sum(1 for i in sent if i in delays and delays[i] < budget) / len(sent)

    def end_to_end_extra_delays(self) -> list[float]:
        """Delivery time minus capture time minus the one-way delay, per frame."""
        sent = self.sender.record.sent
        return [t - sent[i] - ONE_WAY for i, t in self.receiver.record.received.items()]


def run(loss: float, nack: bool, duration: float, seed: int = 1, rtx: bool = True) -> Run:
    def extension_map() -> HeaderExtensionMap:
        return HeaderExtensionMap(
            [(1, ext.MID), (2, ext.ABS_SEND_TIME), (3, ext.TRANSPORT_WIDE_CC)]
        )

    rng = random.Random(seed)
    sending = MediaSession(local_ssrc=0xA, extensions=extension_map(), rng=rng)
    sending.add_sender(
        RtpSender(
            MEDIA_SSRC, 96, 90000, codec=Vp8Codec(), mid="0",
            rtx_ssrc=RTX_SSRC if rtx else None, rtx_payload_type=97 if rtx else None,
            randbytes=rng.randbytes, rng=rng,
        )
    )
    receiving = MediaSession(local_ssrc=0xB, extensions=extension_map(), rng=rng)
    receiving.expect_media(
        "0",
        lambda ssrc, route: RtpReceiver(
            ssrc, 90000, local_ssrc=0xB, codec=Vp8Codec(), rtx_payload_type=97, nack=nack
        ),
        (96, 97),
    )
    network = Network(
        seed=seed,
        default_link=LinkConfig(
            delay=ONE_WAY, jitter=JITTER, loss=loss, reorder=REORDER, reorder_delay=REORDER_DELAY
        ),
        record_delays=True,
    )
    sender = MediaEndpoint(sending, VideoLikeSource(seed=seed), MEDIA_SSRC, stop_at=duration)
    receiver = MediaEndpoint(receiving)
    network.add_engine(sender, ("10.0.0.1", 5004), ("10.0.0.2", 5004))
    network.add_engine(receiver, ("10.0.0.2", 5004), ("10.0.0.1", 5004))
    network.run(timeout=duration + 1.0)
    return Run(sender, receiver, network, duration)


@pytest.mark.parametrize(
    ("loss", "duration", "required"), [(0.05, 60.0, 0.999), (0.10, 30.0, 0.99)]
)
def test_nack_and_rtx_recover_frames_within_three_round_trips(
    loss: float, duration: float, required: float
) -> None:
    result = run(loss, nack=True, duration=duration)
    assert result.frames_complete_within(3 * RTT) >= required
    # the link really lost packets, and they were repaired by RTX
    link = result.network.link_stats("10.0.0.1", "10.0.0.2")
    assert link.lost > loss * 0.8 * link.sent
    assert result.media_sender.retransmissions > 0
    assert result.media_receiver.rtx_received > 0

    # receiver statistics match the link
    stats = result.media_receiver.statistics()
    expected_packets = result.media_sender.packets_sent
    assert abs(stats.cumulative_lost / expected_packets - loss) < 0.015
    fractions = [b.fraction_lost / 256 for b in result.media_sender.remote_reports]
    assert len(fractions) >= duration / 1.5
    assert abs(statistics.fmean(fractions) - loss) < 0.015
    # RFC 3550 A.8 jitter is a running mean of |D|, the change in transit time
    # between consecutive arrivals: compare its mean over the reports with the
    # mean |change| of the link's own one-way delays, delivery after delivery
    delays = link.delays
    link_jitter = statistics.fmean(abs(b - a) for a, b in itertools.pairwise(delays))
    reported = statistics.fmean(b.jitter / 90000 for b in result.media_sender.remote_reports)
    assert abs(reported - link_jitter) < 0.25 * link_jitter
    assert stats.jitter > 0
    # SR/RR (sender side) and RRTR/DLRR (receiver side) round-trip times: the
    # propagation delay plus at most the link's jitter and reorder delay both ways
    for rtt in (result.media_sender.rtt, result.media_receiver.rtt_measured):
        assert rtt is not None
        assert RTT - 0.001 <= rtt <= RTT + 2 * (JITTER + REORDER_DELAY)


def test_without_nack_the_loss_shows() -> None:
    result = run(0.05, nack=False, duration=20.0)
    complete = result.frames_complete_within(3 * RTT)
    assert complete < 0.9
    assert result.media_sender.retransmissions == 0
    # every loss broke a frame, the receiver asked for keyframes and the sender got them
    assert result.receiver.record.lost_events
    assert result.sender.record.keyframe_requests > 0
    assert len(result.sender.record.keyframes) > 20 / 2 + 1


def test_retransmission_without_rtx_repairs_too() -> None:
    """Without an RTX stream the original packet is sent again (same SSRC and
    sequence number; SRTP accepts it since the first copy never arrived)."""
    result = run(0.05, nack=True, duration=20.0, rtx=False, seed=3)
    assert result.media_sender.retransmissions > 0
    assert result.frames_complete_within(3 * RTT) >= 0.99


def test_lost_keyframe_packet_without_history_requests_keyframe() -> None:
    """With no retransmission history, a keyframe packet dropped on the way is
    unrecoverable: after the NACK give-up the receiver reports the keyframe lost
    and sends a PLI, and the sender's next frame is a keyframe."""
    result = run_with_history(0)
    lost = result.receiver.record.lost_events
    assert lost and lost[0].keyframe_lost
    assert result.media_receiver.keyframe_requests >= 1
    assert result.sender.record.keyframe_requests >= 1
    # the sender answered with a keyframe soon after the first one
    keyframes = sorted(result.sender.record.keyframes)
    assert keyframes[0] == 0 and keyframes[1] < 30


def run_with_history(history_size: int) -> Run:
    rng = random.Random(5)
    extension_map = HeaderExtensionMap([(1, ext.MID)])
    sending = MediaSession(local_ssrc=0xA, extensions=extension_map, rng=rng)
    sending.add_sender(
        RtpSender(MEDIA_SSRC, 96, 90000, codec=Vp8Codec(), mid="0", history_size=history_size,
                  randbytes=rng.randbytes, rng=rng)
    )
    receiving = MediaSession(local_ssrc=0xB, extensions=HeaderExtensionMap([(1, ext.MID)]),
                             rng=rng)
    receiving.expect_media(
        "0", lambda ssrc, route: RtpReceiver(ssrc, 90000, local_ssrc=0xB, codec=Vp8Codec()), (96,)
    )
    network = Network(seed=5, default_link=LinkConfig(delay=ONE_WAY))
    sender = MediaEndpoint(sending, VideoLikeSource(seed=5), MEDIA_SSRC, stop_at=3.0)
    receiver = MediaEndpoint(receiving)
    network.add_engine(sender, ("10.0.0.1", 5004), ("10.0.0.2", 5004))
    node = network.add_engine(receiver, ("10.0.0.2", 5004), ("10.0.0.1", 5004))
    # drop the third packet of the first keyframe on its way
    original_receive = node.receive
    seen = {"count": 0}

    def lossy_receive(data: bytes, source: object, destination: object, now: float) -> None:
        if data[1] & 0x7F == 96:
            seen["count"] += 1
            if seen["count"] == 3:
                return
        original_receive(data, source, destination, now)  # type: ignore[arg-type]

    node.receive = lossy_receive  # type: ignore[method-assign]
    network.run(timeout=4.0)
    return Run(sender, receiver, network, 3.0)
