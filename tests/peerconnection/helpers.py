"""Shared helpers for the peer connection tests (loopback only)."""

from __future__ import annotations

import asyncio
from typing import Any

from webrtc.peerconnection import RTCConfiguration, RTCPeerConnection


def loopback() -> RTCConfiguration:
    return RTCConfiguration(addresses=["127.0.0.1"])


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    """Poll ``predicate()`` on the running loop until it is true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


async def connected_pair(**channel_options: Any) -> tuple[RTCPeerConnection, RTCPeerConnection,
                                                          Any, Any]:
    """Two connected peer connections and an open channel (ours, theirs)."""
    offerer, answerer = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())
    channel = offerer.createDataChannel("test", **channel_options)
    received: list[Any] = []
    answerer.on("datachannel", received.append)
    await offerer.setLocalDescription(await offerer.createOffer())
    assert offerer.localDescription is not None
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    assert answerer.localDescription is not None
    await offerer.setRemoteDescription(answerer.localDescription)
    await wait_for(lambda: channel.readyState == "open" and received)
    return offerer, answerer, channel, received[0]
