"""A small asyncio adapter: one :class:`DtlsConnection` over a datagram transport.

Usage::

    endpoint = await open_dtls_endpoint(connection, remote_address=("127.0.0.1", 4433))
    await endpoint.handshake()            # HandshakeComplete, or raises DtlsError
    endpoint.send(b"hello")
    data = await endpoint.recv()
    endpoint.close()

A server end passes ``remote_address=None`` and answers whoever sends first.
The adapter only moves datagrams and arms one ``loop.call_at`` timer; every
protocol decision is the engine's.
"""

from __future__ import annotations

import asyncio
from typing import cast

from webrtc.dtls.connection import (
    ApplicationData,
    ConnectionClosed,
    ConnectionFailed,
    DtlsConnection,
    HandshakeComplete,
)

__all__ = ["DtlsEndpoint", "DtlsError", "open_dtls_endpoint"]

Address = tuple[str, int]


class DtlsError(ConnectionError):
    """The connection failed or was closed; ``event`` is the engine's event."""

    def __init__(self, event: object) -> None:
        super().__init__(repr(event))
        self.event = event


class DtlsEndpoint(asyncio.DatagramProtocol):
    def __init__(self, connection: DtlsConnection, remote_address: Address | None) -> None:
        self.connection = connection
        self.remote_address = remote_address
        self.transport: asyncio.DatagramTransport | None = None
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._handshake: asyncio.Future[HandshakeComplete] = self._loop.create_future()
        self._data: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.ending: object | None = None  # ConnectionClosed / ConnectionFailed

    # -- asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.connection.start(self._loop.time())
        self._pump()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if self.remote_address is None:
            self.remote_address = addr
        elif addr != self.remote_address:
            return
        self.connection.receive_datagram(data, self._loop.time())
        self._pump()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.ending is None:
            self._finish(ConnectionClosed(by_peer=False))

    # -- driving the engine
    def _on_timer(self) -> None:
        self._timer = None
        self.connection.handle_timer(self._loop.time())
        self._pump()

    def _pump(self) -> None:
        now = self._loop.time()
        if self.transport is not None and self.remote_address is not None:
            for datagram in self.connection.datagrams_to_send(now):
                self.transport.sendto(datagram, self.remote_address)
        while (event := self.connection.next_event()) is not None:
            if isinstance(event, ApplicationData):
                self._data.put_nowait(event.data)
            elif isinstance(event, HandshakeComplete):
                if not self._handshake.done():
                    self._handshake.set_result(event)
            elif isinstance(event, ConnectionClosed | ConnectionFailed):
                self._finish(event)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.connection.get_timer()
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _finish(self, event: object) -> None:
        self.ending = event
        if not self._handshake.done():
            self._handshake.set_exception(DtlsError(event))
        self._data.put_nowait(None)

    # -- user API
    async def handshake(self) -> HandshakeComplete:
        return await self._handshake

    def send(self, data: bytes) -> None:
        self.connection.send(data)
        self._pump()

    async def recv(self) -> bytes:
        """The next application-data record; raises DtlsError once the connection ended."""
        data = await self._data.get()
        if data is None:
            self._data.put_nowait(None)
            raise DtlsError(self.ending)
        return data

    def close(self) -> None:
        self.connection.close()
        self._pump()
        if self.transport is not None:
            self.transport.close()


async def open_dtls_endpoint(
    connection: DtlsConnection,
    local_address: Address = ("127.0.0.1", 0),
    remote_address: Address | None = None,
) -> DtlsEndpoint:
    """Bind a UDP socket and drive ``connection`` over it."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(
        lambda: DtlsEndpoint(connection, remote_address), local_addr=local_address)
    return protocol
