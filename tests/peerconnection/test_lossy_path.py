"""Two peer connections through a lossy UDP relay on 127.0.0.1.

The answerer is given no candidate of the offerer: it learns the relay's
address from the checks the relay forwards (a peer-reflexive candidate), so
every datagram of the session crosses the relay, which drops a seeded share of
the non-STUN ones (DTLS and SCTP) and reorders some. Data must still arrive
whole and in order on a reliable channel: DTLS flight retransmission and SCTP
retransmission, through the facade's single timer, repair the path.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from typing import Any

from tests.peerconnection.helpers import loopback, wait_for
from webrtc.peerconnection import RTCPeerConnection, RTCSessionDescription


class LossyRelay:
    """Forwards between the offerer (side A) and the answerer (side B)."""

    def __init__(self, loss: float, seed: int) -> None:
        self.loss = loss
        self.random = random.Random(seed)
        self.a_side: Any = None  # socket the offerer talks to
        self.b_side: Any = None  # socket that talks to the answerer
        self.offerer: tuple[str, int] | None = None
        self.answerer: tuple[str, int] | None = None
        self.dropped = 0
        self.forwarded = 0

    def forward(self, transport: Any, data: bytes, address: tuple[str, int]) -> None:
        if data[0] >= 4 and self.random.random() < self.loss:
            self.dropped += 1
            return
        self.forwarded += 1
        if self.random.random() < 0.02:
            # Reordered: delivered a little later than the following datagrams.
            asyncio.get_running_loop().call_later(0.003, transport.sendto, data, address)
        else:
            transport.sendto(data, address)

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        relay = self

        class FromOfferer(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                relay.offerer = addr
                if relay.answerer is not None:
                    relay.forward(relay.b_side, data, relay.answerer)

        class FromAnswerer(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                if relay.offerer is not None:
                    relay.forward(relay.a_side, data, relay.offerer)

        self.a_side, _ = await loop.create_datagram_endpoint(FromOfferer,
                                                             local_addr=("127.0.0.1", 0))
        self.b_side, _ = await loop.create_datagram_endpoint(FromAnswerer,
                                                             local_addr=("127.0.0.1", 0))
        return int(self.a_side.get_extra_info("sockname")[1])

    def close(self) -> None:
        self.a_side.close()
        self.b_side.close()


def without_candidates(sdp: str) -> str:
    return "".join(line + "\r\n" for line in sdp.split("\r\n")
                   if line and not line.startswith(("a=candidate", "a=end-of-candidates")))


def test_data_survives_a_lossy_reordering_path() -> None:
    async def main() -> None:
        relay = LossyRelay(loss=0.03, seed=7)
        relay_port = await relay.start()
        offerer, answerer = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())
        channel = offerer.createDataChannel("lossy")
        remote: list[Any] = []
        answerer.on("datachannel", remote.append)
        await offerer.setLocalDescription(await offerer.createOffer())
        assert offerer.localDescription is not None
        await answerer.setRemoteDescription(RTCSessionDescription(
            sdp=without_candidates(offerer.localDescription.sdp), type="offer"))
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert answerer.localDescription is not None
        answer_port = answerer._transport.local_candidates[0].port
        relay.answerer = ("127.0.0.1", answer_port)
        # The offerer reaches the answerer only through the relay.
        sdp = without_candidates(answerer.localDescription.sdp).replace(
            "a=mid:0\r\n", f"a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 {relay_port} "
            "typ host\r\n")
        await offerer.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        await wait_for(lambda: channel.readyState == "open" and bool(remote), timeout=30)

        received: list[bytes] = []
        remote[0].on("message", received.append)
        messages = [hashlib.sha256(str(i).encode()).digest() * (100 + i % 400)
                    for i in range(150)]
        for message in messages:
            channel.send(message)
        await wait_for(lambda: len(received) == len(messages), timeout=60)
        assert received == messages
        assert relay.dropped > 10, (relay.dropped, relay.forwarded)
        await offerer.close()
        await answerer.close()
        relay.close()

    asyncio.run(asyncio.wait_for(main(), 90))
