"""Random operations over random lossy links, checking the engine's bookkeeping.

After every simulator step: bytes in flight, pending retransmissions and
receive-buffer accounting equal what the records say; ordered channels
deliver in order. Hypothesis picks the link, the channel types, the message
sizes and when channels close.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sctp_helpers import make_pair

from webrtc.sctp import ChannelClosed, SctpAssociation
from webrtc.testing import LinkConfig


def check(assoc: SctpAssociation) -> None:
    records = assoc._outstanding.values()
    assert assoc._flight == sum(r.size for r in records if r.in_flight)
    assert assoc._rtx_pending == sum(1 for r in records if r.retransmit)
    marked = set(assoc._rtx_tsns)
    assert all(t in marked for t, r in assoc._outstanding.items() if r.retransmit)
    assert assoc._flight >= 0 and assoc._cwnd >= assoc.mtu
    buffered = sum(run.nbytes for run in assoc._runs_by_start.values())
    buffered += sum(len(m) for p in assoc._ordered_pending.values() for _, m in p.values())
    buffered += sum(m.nbytes for m in assoc._imsgs.values())
    assert assoc._rx_buffered == buffered
    assert all(t > assoc._peer_cum for t in assoc._ooo)
    keys = list(assoc._outstanding)
    assert keys == sorted(keys) and (not keys or keys[0] > assoc._cum_ack)


channel_kind = st.sampled_from([
    {}, {"ordered": False}, {"max_retransmits": 0}, {"max_retransmits": 1, "ordered": False},
    {"max_packet_life_time": 100},
])


@settings(max_examples=60, deadline=None)
@given(
    loss=st.sampled_from([0.0, 0.05, 0.3]),
    interleaving=st.booleans(),
    kinds=st.lists(channel_kind, min_size=1, max_size=3),
    sizes=st.lists(st.integers(1, 40_000), min_size=1, max_size=40),
    close_after=st.integers(0, 40),
    seed=st.integers(0, 1000),
)
def test_bookkeeping_invariants(
    loss: float, interleaving: bool, kinds: list[dict[str, object]], sizes: list[int],
    close_after: int, seed: int,
) -> None:
    link = LinkConfig(delay=0.02, jitter=0.01, loss=loss, duplicate=0.05, reorder=0.1)
    pair = make_pair(link, seed=seed, interleaving=interleaving)
    a, b, network = pair.a, pair.b, pair.network
    sids = [a.open_channel(f"c{i}", **kind) for i, kind in enumerate(kinds)]  # type: ignore[arg-type]
    reliable_ordered = [s for s, k in zip(sids, kinds, strict=True) if not k]
    for i, size in enumerate(sizes):
        sid = sids[i % len(sids)]
        if sid in a._channels and a._channels[sid].state < 2:
            a.send(sid, i.to_bytes(4, "big") + bytes(size))
        if i == close_after:
            a.close_channel(sids[0])
    for _ in range(20_000):
        if not network.step():
            break
        check(a)
        check(b)
        if (not a._outstanding and not a._queue and a._reconfig_request is None
                and not a._streams_to_reset and not b._reconfig_request and network.now > 30):
            break
    # Reliable ordered channels got everything, in order.
    for sid in reliable_ordered:
        if sid == sids[0] and close_after < len(sizes):
            continue
        got = [int.from_bytes(m.data[:4], "big") for m in pair.received_b if m.stream_id == sid]
        expected = [i for i in range(len(sizes)) if sids[i % len(sids)] == sid]
        assert got == expected
    for sid in sids:
        got = [int.from_bytes(m.data[:4], "big") for m in pair.received_b if m.stream_id == sid]
        assert len(got) == len(set(got))
    if close_after < len(sizes) and a._peer_reconfig:
        closed = ChannelClosed(sids[0])
        network.run(
            lambda: closed in pair.node_a.events and closed in pair.node_b.events,
            timeout=600,
        )
