"""Hypothesis: whatever the server sends, nothing raises out of the TURN engine."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webrtc.ice.stun import (
    AttributeType,
    ErrorCode,
    MessageClass,
    Method,
    PasswordAlgorithm,
    StunMessage,
)
from webrtc.ice.turn import TurnClient, TurnState
from webrtc.ice.turn_framing import encode_channel_data
from webrtc.testing import LinkConfig, Network
from webrtc.testing.turn import ScriptedTurnServer, TurnClientNode

CLIENT = ("10.0.0.1", 40000)
SERVER = ("10.0.0.2", 3478)
PEER = ("10.0.0.3", 5000)
A = AttributeType

fuzz_settings = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def client_in_state(state: str, transport: str = "udp") -> tuple[TurnClient, list[bytes]]:
    """A client driven by the scripted server into ``state``; also the server's replies."""
    ids = itertools.count(1)
    client = TurnClient(
        SERVER,
        "user",
        "password",
        transport,
        random_bytes=lambda n: next(ids).to_bytes(n, "big"),
    )
    if state == "idle":
        return client, []
    network = Network(seed=0, default_link=LinkConfig(delay=0.01))
    ScriptedTurnServer(network, SERVER)
    replies: list[bytes] = []
    node = TurnClientNode(network, client, CLIENT)
    original = client.receive_datagram

    def recording(data: bytes, now: float) -> None:
        replies.append(data)
        original(data, now)

    client.receive_datagram = recording  # type: ignore[method-assign]
    if transport != "udp":
        # The simulator carries datagrams; over a stream the engine only sees bytes.
        client.allocate(0.0)
        return client, replies
    client.allocate(network.now)
    if state == "allocating":
        return client, replies
    network.run(lambda: client.state is TurnState.ALLOCATED, timeout=5)
    client.send_to(b"data", PEER, network.now)
    network.advance(0.5)
    if state == "closing":
        client.close(network.now)
    del node
    client.receive_datagram = original  # type: ignore[method-assign]
    return client, replies


def drive(client: TurnClient, chunks: list[bytes]) -> None:
    now = 1000.0
    for chunk in chunks:
        client.receive_datagram(chunk, now)
        client.datagrams_to_send(now)
        while client.next_event() is not None:
            pass
        timer = client.get_timer()
        assert timer is None or isinstance(timer, float)
        assert timer == client._compute_timer()  # the cache is never stale
        if timer is not None and timer <= now + 1:
            client.handle_timer(max(now, timer))
        now += 0.25


states = st.sampled_from(["idle", "allocating", "allocated", "closing"])


@fuzz_settings
@given(states, st.sampled_from(["udp", "tcp"]), st.lists(st.binary(max_size=120), max_size=8))
def test_arbitrary_bytes_raise_nothing(state: str, transport: str, chunks: list[bytes]) -> None:
    client, _ = client_in_state(state, transport)
    drive(client, chunks)


@fuzz_settings
@given(
    states,
    st.lists(
        st.tuples(st.integers(0, 400), st.integers(0, 255)),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 10),
)
def test_mutated_server_messages_raise_nothing(
    state: str, mutations: list[tuple[int, int]], which: int
) -> None:
    """Real replies of the scripted server with bytes changed (transaction ids kept)."""
    _, replies = client_in_state("allocated")
    client, _ = client_in_state(state)
    if not replies:
        return
    data = bytearray(replies[which % len(replies)])
    for position, value in mutations:
        if 20 <= position < len(data) or position < 4:
            data[position % len(data)] = value
    drive(client, [bytes(data)])


attribute_values = st.one_of(
    st.tuples(
        st.just(A.ERROR_CODE), st.builds(ErrorCode, st.integers(300, 699), st.text(max_size=10))
    ),
    st.tuples(st.just(A.REALM), st.text(max_size=12)),
    st.tuples(
        st.just(A.NONCE), st.sampled_from(["", "abc", "obMatJos2AAAAxyz", "obMatJos2gAAAxyz"])
    ),
    st.tuples(st.just(A.LIFETIME), st.integers(0, 2**32 - 1)),
    st.tuples(
        st.just(A.XOR_RELAYED_ADDRESS), st.tuples(st.just("10.0.0.2"), st.integers(0, 65535))
    ),
    st.tuples(st.just(A.XOR_MAPPED_ADDRESS), st.tuples(st.just("10.0.0.1"), st.integers(0, 65535))),
    st.tuples(st.just(A.ALTERNATE_SERVER), st.tuples(st.just("10.0.0.9"), st.integers(0, 65535))),
    st.tuples(st.just(A.XOR_PEER_ADDRESS), st.tuples(st.just("10.0.0.3"), st.integers(0, 65535))),
    st.tuples(st.just(A.DATA), st.binary(max_size=20)),
    st.tuples(
        st.just(A.PASSWORD_ALGORITHMS),
        st.lists(
            st.builds(PasswordAlgorithm, st.integers(0, 3), st.binary(max_size=5)), max_size=3
        ).map(tuple),
    ),
    st.tuples(st.just(A.MESSAGE_INTEGRITY), st.binary(min_size=20, max_size=20)),
)


@fuzz_settings
@given(
    states,
    st.sampled_from([MessageClass.SUCCESS, MessageClass.ERROR, MessageClass.INDICATION]),
    st.sampled_from(
        [
            Method.ALLOCATE,
            Method.REFRESH,
            Method.CREATE_PERMISSION,
            Method.CHANNEL_BIND,
            Method.DATA,
        ]
    ),
    st.integers(1, 12),
    st.lists(attribute_values, max_size=6),
)
def test_structured_responses_with_live_transaction_ids_raise_nothing(
    state: str,
    message_class: MessageClass,
    method: Method,
    transaction: int,
    attributes: list[tuple[int, object]],
) -> None:
    """Well-formed STUN with the ids of requests the client has in flight: any
    error code (300, 401, 438...), any attribute missing or odd."""
    client, _ = client_in_state(state)
    message = StunMessage(method, message_class, transaction.to_bytes(12, "big"), attributes)
    try:
        encoded = message.encode(fingerprint=True)
    except (ValueError, OverflowError):
        return
    drive(client, [encoded, encode_channel_data(0x4000, b"x")])
