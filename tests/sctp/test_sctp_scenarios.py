"""Issue 5's lossy-network scenarios: 20 MiB of mixed-size messages per run.

Links with loss, reordering, duplication, jitter and 50 ms delay, both ways.
Ordered data must arrive byte-exact and in order; an unordered
``max_retransmits=0`` channel sharing the association loses messages without
stalling the ordered one; a channel closed mid-transfer ends on both sides.
Everything runs in virtual time (about a second of CPU per scenario).
"""

from __future__ import annotations

import random

import pytest
from sctp_helpers import make_pair

from webrtc.sctp import ChannelClosed, MessageReceived
from webrtc.testing import LinkConfig

TOTAL = 20 << 20
MAX_MESSAGE = 1 << 20


def mixed_sizes(rng: random.Random) -> list[int]:
    sizes = []
    total = 0
    while total < TOTAL:
        size = rng.choice(
            [1, 7, 100, 1171, 1172, 1173, 5000, 20000, 65536, 100_000, MAX_MESSAGE,
             rng.randint(1, MAX_MESSAGE)]
        )
        size = min(size, TOTAL - total)
        sizes.append(size)
        total += size
    return sizes


@pytest.mark.parametrize(
    ("loss", "interleaving"),
    [(0.01, False), (0.05, False), (0.15, False), (0.05, True)],
    ids=["1%", "5%", "15%", "5%-I-DATA"],
)
def test_lossy_transfer(loss: float, interleaving: bool) -> None:
    link = LinkConfig(delay=0.05, jitter=0.01, loss=loss, duplicate=0.02, reorder=0.03,
                      reorder_delay=0.03, mtu=1200)
    pair = make_pair(link, seed=int(loss * 1000), max_message_size=MAX_MESSAGE,
                     interleaving=interleaving)
    assert pair.a._i_data == interleaving and pair.b._i_data == interleaving
    a, b, network = pair.a, pair.b, pair.network
    a.set_remote_max_message_size(MAX_MESSAGE)
    bulk = a.open_channel("bulk")
    lossy = a.open_channel("lossy", ordered=False, max_retransmits=0)
    doomed = a.open_channel("doomed")
    rng = random.Random(loss)
    sizes = mixed_sizes(rng)
    expected = bytearray()
    received = bytearray()
    lossy_sent = 0
    lossy_seen: set[int] = set()
    doomed_sent = 0
    next_index = 0
    closed_at: int | None = None

    def on_b(event: object) -> None:
        nonlocal lossy_seen
        if isinstance(event, MessageReceived):
            if event.stream_id == bulk:
                received.extend(event.data)
            elif event.stream_id == lossy:
                number = int.from_bytes(event.data[:4], "big")
                assert number not in lossy_seen  # no duplicates delivered
                lossy_seen.add(number)

    pair.node_b.on_event = on_b

    def feed() -> bool:
        nonlocal next_index, lossy_sent, doomed_sent, closed_at
        while next_index < len(sizes) and a.buffered_amount(bulk) < 2 * MAX_MESSAGE:
            size = sizes[next_index]
            message = rng.randbytes(size)
            expected.extend(message)
            a.send(bulk, message)
            next_index += 1
        if a.buffered_amount(lossy) < 4000:
            a.send(lossy, lossy_sent.to_bytes(4, "big") + bytes(rng.randint(0, 800)))
            lossy_sent += 1
        if closed_at is None:
            if len(received) > TOTAL // 3:
                a.close_channel(doomed)
                closed_at = len(received)
            elif a.buffered_amount(doomed) < 20_000:
                a.send(doomed, bytes(5000))
                doomed_sent += 1
        return len(received) >= TOTAL

    network.run(feed, timeout=20_000)
    assert len(received) == TOTAL and received == expected
    network.run(
        lambda: bool(pair.events("a", ChannelClosed)) and bool(pair.events("b", ChannelClosed)),
        timeout=600,
    )
    assert [e.stream_id for e in pair.events("a", ChannelClosed)] == [doomed]  # type: ignore[attr-defined]
    assert [e.stream_id for e in pair.events("b", ChannelClosed)] == [doomed]  # type: ignore[attr-defined]
    # The unordered channel lost some messages (it never retransmits) and
    # the ordered transfer still completed: it was never stalled by them.
    assert 0 < len(lossy_seen) < lossy_sent
    assert a.dropped_packets == 0 and b.dropped_packets == 0
    for direction in (("10.0.0.1", "10.0.0.2"), ("10.0.0.2", "10.0.0.1")):
        assert network.link_stats(*direction).too_big == 0  # every packet within the MTU
    # Nothing left half-reassembled or waiting for an abandoned SSN.
    network.run(lambda: not b._runs_by_start and not b._ooo, timeout=600)
    assert b._rx_buffered == 0
