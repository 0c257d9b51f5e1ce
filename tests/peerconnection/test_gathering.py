"""Server-reflexive gathering from STUN servers, with a bounded wait."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from webrtc.ice.stun import AttributeType, MessageClass, Method, StunMessage
from webrtc.peerconnection import RTCConfiguration, RTCIceServer, RTCPeerConnection
from webrtc.peerconnection.peerconnection import stun_servers

NAT_PORT_OFFSET = 1000


class FakeNatStunServer(asyncio.DatagramProtocol):
    """Answers Binding requests as a STUN server behind which a NAT shifted the port."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.requests = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        request = StunMessage.parse(data)
        if request.method != Method.BINDING or request.message_class != MessageClass.REQUEST:
            return
        self.requests += 1
        mapped = (addr[0], (addr[1] + NAT_PORT_OFFSET) % 65536)
        response = StunMessage(Method.BINDING, MessageClass.SUCCESS, request.transaction_id,
                               [(AttributeType.XOR_MAPPED_ADDRESS, mapped)])
        self.transport.sendto(response.encode(fingerprint=True), addr)


def test_stun_servers_of_the_configuration() -> None:
    config = RTCConfiguration(iceServers=[
        RTCIceServer(urls=["stun:stun.example.org", "stun:127.0.0.1:19302"]),
        RTCIceServer(urls="stun:[::1]:3478"),
        RTCIceServer(urls="turn:turn.example.org", username="u", credential="p"),
        RTCIceServer(urls=["stun:host:notaport", "stuns:secure.example.org"]),
    ])
    assert stun_servers(config) == [
        ("stun.example.org", 3478), ("127.0.0.1", 19302), ("::1", 3478)]


def test_srflx_candidates_from_two_servers_and_a_silent_one() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers = []
        for _ in range(2):
            transport, server = await loop.create_datagram_endpoint(
                FakeNatStunServer, local_addr=("127.0.0.1", 0))
            servers.append((transport, server))
        # A third "server" that never answers: a bound socket nobody reads.
        silent, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                        local_addr=("127.0.0.1", 0))
        silent.pause_reading()  # type: ignore[attr-defined]
        urls = [f"stun:127.0.0.1:{t.get_extra_info('sockname')[1]}" for t, _ in servers]
        urls.append(f"stun:127.0.0.1:{silent.get_extra_info('sockname')[1]}")
        config = RTCConfiguration(iceServers=[RTCIceServer(urls=urls[:2]),
                                              RTCIceServer(urls=urls[2])],
                                  addresses=["127.0.0.1"], srflxTimeout=0.6)
        pc = RTCPeerConnection(config)
        events: list[Any] = []
        pc.on("icecandidate", events.append)
        start = time.monotonic()
        await pc.setLocalDescription(await pc.createOffer())
        waited = time.monotonic() - start
        assert waited < 3.0  # bounded by srflxTimeout, not by the silent server forever
        description = pc.localDescription
        assert description is not None
        host_port = pc._transport.local_candidates[0].port
        srflx = [line for line in description.sdp.splitlines() if "typ srflx" in line]
        # Both servers report the same mapping: one candidate per distinct address.
        assert srflx, description.sdp
        assert f" {host_port + NAT_PORT_OFFSET} typ srflx raddr 127.0.0.1 rport {host_port}" \
            in srflx[0]
        assert all(server.requests >= 1 for _, server in servers)
        await asyncio.sleep(0.05)
        assert events[-1] is None
        assert [e.type for e in events[:-1]][:1] == ["host"]
        assert "srflx" in [e.type for e in events[:-1]]
        await pc.close()
        for transport, _ in servers:
            transport.close()
        silent.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_relay_policy_announces_no_host_candidate() -> None:
    async def main() -> None:
        pc = RTCPeerConnection(RTCConfiguration(addresses=["127.0.0.1"],
                                                iceTransportPolicy="relay"))
        await pc.setLocalDescription(await pc.createOffer())
        assert pc.localDescription is not None
        assert "a=candidate" not in pc.localDescription.sdp
        await pc.close()

    asyncio.run(main())


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        RTCConfiguration(iceTransportPolicy="none")
    with pytest.raises(ValueError):
        RTCConfiguration(portRange=(2000, 1000))
