"""The TURN client against a real coturn on 127.0.0.1, over UDP, TCP and TLS."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from coturn_fixture import Coturn

from webrtc.ice.aio_turn import AioTurnClient, TurnError
from webrtc.ice.turn import (
    Address,
    AllocationRefreshed,
    ChannelBound,
    Deallocated,
    PermissionCreated,
    Redirected,
    TurnEvent,
    TurnState,
)

pytestmark = pytest.mark.interop

TRANSPORTS = ["udp", "tcp", "tls"]


def run(coroutine: Coroutine[Any, Any, None], timeout: float = 30) -> None:
    asyncio.run(asyncio.wait_for(coroutine, timeout))


def tls_context(server: Coturn) -> ssl.SSLContext:
    assert server.cert_file is not None
    return ssl.create_default_context(cafile=str(server.cert_file))


class UdpPeer:
    """A plain UDP socket on 127.0.0.1: the far side of the relay."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.setblocking(False)
        self.address: Address = self.socket.getsockname()

    async def receive(self, timeout: float = 3) -> tuple[bytes, Address]:
        loop = asyncio.get_running_loop()
        data, source = await asyncio.wait_for(loop.sock_recvfrom(self.socket, 4096), timeout)
        return data, (source[0], source[1])

    async def send(self, data: bytes, destination: Address) -> None:
        await asyncio.get_running_loop().sock_sendto(self.socket, data, destination)

    def close(self) -> None:
        self.socket.close()


class Inbox:
    """Collects relayed data and events from an AioTurnClient."""

    def __init__(self) -> None:
        self.data: list[tuple[bytes, Address]] = []
        self.events: list[TurnEvent] = []
        self._changed = asyncio.Event()

    def on_data(self, data: bytes, peer: Address) -> None:
        self.data.append((data, peer))
        self._changed.set()

    def on_event(self, event: TurnEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 3) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not met")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


async def new_client(server: Coturn, transport: str, inbox: Inbox, **options: Any) -> AioTurnClient:
    return await AioTurnClient.create(
        server.url(transport),
        server.username,
        options.pop("password", server.password),
        ssl_context=tls_context(server) if transport == "tls" else None,
        on_data=inbox.on_data,
        on_event=inbox.on_event,
        **options,
    )


async def exchange(client: AioTurnClient, inbox: Inbox, peer: UdpPeer, tag: bytes) -> None:
    """One datagram each way through the relay."""
    assert client.send_to(b"to-peer:" + tag, peer.address)
    data, source = await peer.receive()
    assert data == b"to-peer:" + tag
    assert source == client.relayed_address
    count = len(inbox.data)
    await peer.send(b"to-client:" + tag, source)
    await inbox.wait_for(lambda: len(inbox.data) > count)
    assert inbox.data[-1] == (b"to-client:" + tag, peer.address)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_allocation_permission_channel_and_relayed_data(coturn: Coturn, transport: str) -> None:
    async def main() -> None:
        inbox = Inbox()
        client = await new_client(coturn, transport, inbox)
        peer = UdpPeer()
        try:
            allocated = await client.allocate()
            assert allocated.relayed_address[0] == "127.0.0.1"
            local = client.local_address
            assert allocated.mapped_address is not None and local is not None
            assert allocated.mapped_address[1] == local[1]  # no NAT on loopback
            assert allocated.lifetime == 600
            # The first datagram waits for the permission and goes in a Send
            # indication; the channel is bound alongside.
            await exchange(client, inbox, peer, b"1")
            await inbox.wait_for(lambda: any(isinstance(e, ChannelBound) for e in inbox.events))
            assert PermissionCreated("127.0.0.1") in inbox.events
            assert client.client.channel_for(peer.address) == 0x4000
            # Now in ChannelData, both ways, including sizes that need TCP padding.
            for size in (1, 2, 3, 4, 5, 1000, 1201):
                payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
                assert client.send_to(payload, peer.address)
                data, _ = await peer.receive()
                assert data == payload
                await peer.send(payload, allocated.relayed_address)
                await inbox.wait_for(lambda p=payload: inbox.data[-1][0] == p)  # type: ignore[misc]
            await exchange(client, inbox, peer, b"2")
        finally:
            await client.close()
            peer.close()
        assert isinstance(inbox.events[-1], Deallocated)
        assert client.client.state is TurnState.CLOSED
        log = coturn.log
        assert "CHANNEL_BIND processed, success" in log
        assert "CREATE_PERMISSION processed, success" in log
        assert "lifetime=0" in log

    run(main())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wrong_password_fails_fast_with_the_servers_error(coturn: Coturn, transport: str) -> None:
    async def main() -> None:
        inbox = Inbox()
        client = await new_client(coturn, transport, inbox, password="not-the-password")
        started = time.monotonic()
        try:
            with pytest.raises(TurnError) as error:
                await client.allocate()
        finally:
            await client.close()
        assert error.value.code == 401
        assert error.value.reason == "Unauthorized"
        assert time.monotonic() - started < 2

    run(main())


def test_turns_verifies_against_the_default_trust_store(
    coturn: Coturn, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def allocate() -> None:
        client = await AioTurnClient.create(coturn.url("tls"), coturn.username, coturn.password)
        try:
            await client.allocate()
        finally:
            await client.close()

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(ssl.SSLCertVerificationError):
        run(allocate())
    monkeypatch.setenv("SSL_CERT_FILE", str(coturn.cert_file))
    run(allocate())


def test_turns_checks_the_host_name(coturn: Coturn) -> None:
    async def main() -> None:
        assert coturn.cert_file is not None
        context = tls_context(coturn)
        url = coturn.url("tls").replace("localhost", "127.0.0.2")
        # The certificate names localhost and 127.0.0.1 only.
        client = await AioTurnClient.create(
            url, coturn.username, coturn.password, ssl_context=context
        )
        try:
            with pytest.raises((ssl.SSLCertVerificationError, OSError)):
                await client.allocate()
        finally:
            await client.close()

    run(main())


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_short_lifetimes_refreshes_keep_the_relay_alive(
    coturn_factory: Callable[..., Coturn], transport: str
) -> None:
    server = coturn_factory(
        extra_args=[
            "--max-allocate-lifetime=3",
            "--permission-lifetime=4",
            "--channel-lifetime=4",
            "--stale-nonce=3",
        ]
    )

    async def main() -> None:
        inbox = Inbox()
        client = await new_client(
            server, transport, inbox, permission_lifetime=4, channel_lifetime=4
        )
        peer = UdpPeer()
        try:
            allocated = await client.allocate()
            assert allocated.lifetime == 3
            await exchange(client, inbox, peer, b"start")
            started = time.monotonic()
            # Well past the first expiry of the allocation, permission and channel.
            while time.monotonic() - started < 8:
                await asyncio.sleep(1)
                await exchange(client, inbox, peer, b"alive")
            assert client.client.state is TurnState.ALLOCATED
            assert client.client.channel_for(peer.address) is not None
        finally:
            await client.close()
            peer.close()
        refreshes = [e for e in inbox.events if isinstance(e, AllocationRefreshed)]
        assert len(refreshes) >= 4
        # coturn's nonces went stale (438) and the client retried with the new one.
        assert "error 438" in server.log

    run(main())


def test_try_alternate_moves_to_the_other_server(coturn_factory: Callable[..., Coturn]) -> None:
    target = coturn_factory()
    redirector = coturn_factory(extra_args=[f"--alternate-server=127.0.0.1:{target.udp_port}"])

    async def main() -> None:
        inbox = Inbox()
        client = await new_client(redirector, "udp", inbox)
        peer = UdpPeer()
        try:
            await client.allocate()
            assert Redirected(("127.0.0.1", target.udp_port)) in inbox.events
            assert client.client.server_address == ("127.0.0.1", target.udp_port)
            await exchange(client, inbox, peer, b"via-alternate")
        finally:
            await client.close()
            peer.close()

    run(main())
    assert "ALLOCATE processed, success" in target.log
    assert "ALLOCATE processed, success" not in redirector.log


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_try_alternate_over_a_stream_reconnects(
    coturn_factory: Callable[..., Coturn], transport: str
) -> None:
    target = coturn_factory(tls=True)
    port = target.tls_port if transport == "tls" else target.tcp_port
    option = "--tls-alternate-server" if transport == "tls" else "--alternate-server"
    # One identity (localhost) for both servers, as one operator's servers would have.
    assert target.cert_file is not None
    identity = (target.cert_file, target.directory / "key.pem")
    redirector = coturn_factory(
        tls=True, extra_args=[f"{option}=127.0.0.1:{port}"], certificate=identity
    )
    bundle = target.cert_file

    async def main() -> None:
        inbox = Inbox()
        client = await AioTurnClient.create(
            redirector.url(transport),
            redirector.username,
            redirector.password,
            ssl_context=ssl.create_default_context(cafile=str(bundle)),
            on_data=inbox.on_data,
            on_event=inbox.on_event,
        )
        peer = UdpPeer()
        try:
            await client.allocate()
            assert Redirected(("127.0.0.1", port)) in inbox.events
            await exchange(client, inbox, peer, b"via-alternate")
        finally:
            await client.close()
            peer.close()

    run(main())
    assert "ALLOCATE processed, success" in target.log
