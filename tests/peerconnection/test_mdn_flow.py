"""The MDN "A simple RTCDataChannel sample" flow, in Python, with W3C attribute handlers.

https://developer.mozilla.org/en-US/docs/Web/API/WebRTC_API/Simple_RTCDataChannel_sample:
the local peer creates a channel before the offer, candidates go straight
to the other peer's ``addIceCandidate``, the remote peer receives the
channel in ``ondatachannel``, messages flow both ways, and closing is seen
on both sides.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.peerconnection.helpers import loopback, wait_for
from webrtc.peerconnection import RTCPeerConnection


def test_mdn_basic_usage_flow() -> None:
    async def main() -> None:
        local_connection = RTCPeerConnection(loopback())
        remote_connection = RTCPeerConnection(loopback())
        send_channel = local_connection.createDataChannel("sendChannel")
        states: list[str] = []
        local_received: list[Any] = []
        remote_received: list[Any] = []
        closed: list[str] = []
        receive_channels: list[Any] = []

        def handle_send_channel_status_change(event: Any) -> None:
            states.append(send_channel.readyState)

        send_channel.onopen = handle_send_channel_status_change
        send_channel.onclose = handle_send_channel_status_change
        send_channel.onmessage = lambda event: local_received.append(event.data)

        async def add_to_remote(event: Any) -> None:
            await remote_connection.addIceCandidate(event.candidate)

        async def add_to_local(event: Any) -> None:
            await local_connection.addIceCandidate(event.candidate)

        local_connection.onicecandidate = add_to_remote
        remote_connection.onicecandidate = add_to_local

        def receive_channel_callback(event: Any) -> None:
            channel = event.channel
            receive_channels.append(channel)

            def on_message(message_event: Any) -> None:
                remote_received.append(message_event.data)
                channel.send(f"reply to {message_event.data}")

            channel.onmessage = on_message
            channel.onclose = lambda _event: closed.append("remote")

        remote_connection.ondatachannel = receive_channel_callback

        offer = await local_connection.createOffer()
        await local_connection.setLocalDescription(offer)
        assert local_connection.localDescription is not None
        await remote_connection.setRemoteDescription(local_connection.localDescription)
        answer = await remote_connection.createAnswer()
        await remote_connection.setLocalDescription(answer)
        assert remote_connection.localDescription is not None
        await local_connection.setRemoteDescription(remote_connection.localDescription)

        await wait_for(lambda: send_channel.readyState == "open")
        send_channel.send("Hello")
        send_channel.send(b"\x00\x01binary")
        await wait_for(lambda: len(local_received) == 2)
        assert remote_received == ["Hello", b"\x00\x01binary"]
        assert local_received == ["reply to Hello", "reply to b'\\x00\\x01binary'"]
        assert receive_channels[0].label == "sendChannel"

        send_channel.close()
        await wait_for(lambda: closed == ["remote"] and send_channel.readyState == "closed")
        assert states == ["open", "closed"]
        assert local_connection.connectionState == "connected"
        await local_connection.close()
        await remote_connection.close()
        assert local_connection.connectionState == "closed"

    asyncio.run(main())
