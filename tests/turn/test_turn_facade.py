"""RTCPeerConnection with iceServers and iceTransportPolicy="relay" through a real
coturn: ours to ours (UDP, TCP, TLS to the server), and ours to aiortc both ways."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

import pytest
from coturn_fixture import Coturn

from webrtc.ice.aio_turn import TurnIceConnection
from webrtc.peerconnection import RTCConfiguration, RTCIceServer, RTCPeerConnection
from webrtc.sdp.candidate import Candidate

pytestmark = pytest.mark.interop

MIB = 1 << 20


def configuration(coturn: Coturn, transport: str, policy: str = "relay") -> RTCConfiguration:
    assert coturn.cert_file is not None
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls="stun:127.0.0.1:9"),
            RTCIceServer(
                urls=[coturn.url(transport)],
                username=coturn.username,
                credential=coturn.password,
            ),
        ],
        iceTransportPolicy=policy,
        addresses=["127.0.0.1"],
        extras={"turnSslContext": ssl.create_default_context(cafile=str(coturn.cert_file))},
    )


def candidates(sdp: str) -> list[Candidate]:
    return [Candidate.parse(line) for line in sdp.splitlines() if line.startswith("a=candidate:")]


async def open_pair(pc1: Any, pc2: Any) -> tuple[Any, Any]:
    loop = asyncio.get_running_loop()
    channel = pc1.createDataChannel("relay")
    opened: asyncio.Future[None] = loop.create_future()
    remote: asyncio.Future[Any] = loop.create_future()

    @channel.on("open")
    def on_open() -> None:
        if not opened.done():
            opened.set_result(None)

    @pc2.on("datachannel")
    def on_datachannel(other: Any) -> None:
        if not remote.done():
            remote.set_result(other)

    await pc1.setLocalDescription(await pc1.createOffer())
    await pc2.setRemoteDescription(pc1.localDescription)
    await pc2.setLocalDescription(await pc2.createAnswer())
    await pc1.setRemoteDescription(pc2.localDescription)
    await asyncio.wait_for(opened, 15)
    other = await asyncio.wait_for(remote, 15)
    return channel, other


async def transfer(channel: Any, other: Any, total: int) -> float:
    """Send ``total`` bytes in 64 KiB messages with backpressure; returns MB/s."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    received = 0
    chunks: list[bytes] = []

    @other.on("message")
    def on_message(message: Any) -> None:
        nonlocal received
        received += len(message)
        if len(chunks) < 2:
            chunks.append(bytes(message))
        if received >= total and not done.done():
            done.set_result(None)

    channel.bufferedAmountLowThreshold = MIB
    can_send = asyncio.Event()
    channel.on("bufferedamountlow", can_send.set)
    payload = bytes(range(256)) * 256
    start = time.perf_counter()
    sent = 0
    while sent < total:
        if channel.bufferedAmount > 4 * MIB:
            can_send.clear()
            await can_send.wait()
            continue
        channel.send(payload)
        sent += len(payload)
    await asyncio.wait_for(done, 60)
    assert received == total
    assert chunks[0] == payload
    return total / (time.perf_counter() - start) / 1e6


@pytest.mark.parametrize(
    ("transport", "megabytes"), [("udp", 16), ("tcp", 4), ("tls", 4)], ids=["udp", "tcp", "tls"]
)
def test_two_relay_only_peer_connections_move_data(
    coturn: Coturn, transport: str, megabytes: int
) -> None:
    async def main() -> None:
        pc1 = RTCPeerConnection(configuration(coturn, transport))
        pc2 = RTCPeerConnection(configuration(coturn, "udp"))
        try:
            channel, other = await open_pair(pc1, pc2)
            for pc in (pc1, pc2):
                assert pc.localDescription is not None
                found = candidates(pc.localDescription.sdp)
                assert found and {c.type for c in found} == {"relay"}
                assert all(c.related_address == "127.0.0.1" for c in found)
            rate = await transfer(channel, other, megabytes * MIB)
            print(f"relay-only {transport}: {megabytes} MiB at {rate:.1f} MB/s")
            pair = pc1._transport.selected
            assert pair is not None and pair.socket_id in pc1._transport.relay_socket_ids
        finally:
            await pc1.close()
            await pc2.close()
        for pc in (pc1, pc2):
            connection = pc._transport.connection
            assert isinstance(connection, TurnIceConnection) and not connection.turn_clients

    released_before = coturn.log.count("lifetime=0")
    asyncio.run(asyncio.wait_for(main(), 90))
    # Both peer connections released their allocation on close (coturn's log
    # may lag a little behind its answers).
    deadline = time.monotonic() + 3
    while coturn.log.count("lifetime=0") - released_before < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert coturn.log.count("lifetime=0") - released_before == 2


def test_relay_candidates_beside_host_ones(coturn: Coturn) -> None:
    async def main() -> None:
        pc1 = RTCPeerConnection(configuration(coturn, "udp", policy="all"))
        pc2 = RTCPeerConnection(configuration(coturn, "udp", policy="all"))
        try:
            channel, other = await open_pair(pc1, pc2)
            assert pc1.localDescription is not None
            types = [c.type for c in candidates(pc1.localDescription.sdp)]
            assert types == ["host", "relay"]
            await transfer(channel, other, MIB)
        finally:
            await pc1.close()
            await pc2.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def _aiortc_configuration(coturn: Coturn) -> Any:
    import aiortc

    return aiortc.RTCConfiguration(
        iceServers=[
            aiortc.RTCIceServer(
                urls=coturn.url("udp"), username=coturn.username, credential=coturn.password
            )
        ],
        iceTransportPolicy=aiortc.rtcconfiguration.RTCIceTransportPolicy.RELAY,
    )


@pytest.mark.parametrize("ours_offers", [True, False], ids=["ours-offers", "aiortc-offers"])
def test_relay_only_against_aiortc(coturn: Coturn, ours_offers: bool) -> None:
    aiortc = pytest.importorskip("aiortc")

    async def main() -> None:
        ours = RTCPeerConnection(configuration(coturn, "udp"))
        theirs = aiortc.RTCPeerConnection(_aiortc_configuration(coturn))
        pc1, pc2 = (ours, theirs) if ours_offers else (theirs, ours)
        try:
            channel, other = await open_pair(pc1, pc2)
            for pc in (pc1, pc2):
                found = candidates(pc.localDescription.sdp)
                assert found and {c.type for c in found} == {"relay"}
            await transfer(channel, other, MIB)
            await transfer(other, channel, MIB)
        finally:
            await pc1.close()
            await pc2.close()

    asyncio.run(asyncio.wait_for(main(), 90))


def test_wrong_credential_is_an_icecandidateerror(coturn: Coturn) -> None:
    async def main() -> None:
        config = configuration(coturn, "udp", policy="all")
        assert config.iceServers is not None
        config.iceServers[1].credential = "wrong"
        pc = RTCPeerConnection(config)
        errors: list[Any] = []
        pc.on("icecandidateerror", errors.append)
        try:
            pc.createDataChannel("x")
            await pc.setLocalDescription(await pc.createOffer())
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while pc.iceGatheringState != "complete" and loop.time() < deadline:
                await asyncio.sleep(0.02)
            assert pc.iceGatheringState == "complete"
            assert [(e.errorCode, e.errorText, e.url) for e in errors] == [
                (401, "Unauthorized", coturn.url("udp"))
            ]
            assert pc.localDescription is not None
            assert [c.type for c in candidates(pc.localDescription.sdp)] == ["host"]
        finally:
            await pc.close()

    asyncio.run(asyncio.wait_for(main(), 30))
