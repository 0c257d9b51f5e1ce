"""The asyncio adapter for :class:`webrtc.ice.turn.TurnClient`: UDP, TCP and TLS.

One :class:`AioTurnClient` is one allocation. It owns the connection to the
TURN server and drives the sans-I/O engine with ``loop.time()``: bytes from
the server go in, what the engine wants sent goes out, one ``loop.call_at``
is armed for the engine's next deadline. Over UDP the socket is drained in a
loop from ``loop.add_reader`` (DESIGN.md section 5: asyncio's datagram
transport costs a wake-up per datagram); over TCP and TLS an asyncio stream
protocol hands the engine whole chunks.

``turns:`` verifies the server certificate and host name: by default against
the default trust store of :func:`ssl.create_default_context` (so the
``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` environment variables work as for any
Python TLS client), or against the ``ssl_context`` given.

To the ICE agent a relay is one more socket: :meth:`AioTurnClient.send_to`
sends to a peer through the relay, and ``on_data(data, peer)`` is called for
each datagram a peer sent to the relayed address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from webrtc.ice.aio import DeadlineTimer, IceConnection
from webrtc.ice.turn import (
    Address,
    Allocated,
    AllocationFailed,
    AllocationLost,
    DataReceived,
    Deallocated,
    Redirected,
    TurnClient,
    TurnEvent,
    TurnState,
)
from webrtc.ice.turn_ice import relay_local_preference
from webrtc.ice.turn_url import IceServerUrl

__all__ = [
    "AioTurnClient",
    "TurnError",
    "TurnIceConnection",
    "TurnServer",
    "resolve",
]


logger = logging.getLogger(__name__)

_SOCKET_BUFFER = 4 << 20  # large buffers keep loopback bursts from being dropped


class TurnError(Exception):
    """An allocation failed or was lost: the server's ``code`` (None if it never
    answered or the connection failed) and ``reason``."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"TURN error {code}: {reason}" if code is not None else reason)
        self.code = code
        self.reason = reason


async def resolve(host: str, port: int, transport: str) -> Address:
    """The first address of ``host``, IPv4 preferred (the relays we ask for are IPv4)."""
    loop = asyncio.get_running_loop()
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    infos = await loop.getaddrinfo(host, port, type=kind)
    if not infos:
        raise OSError(f"cannot resolve {host!r}")
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    address = infos[0][4]
    return str(address[0]), int(address[1])


class _StreamProtocol(asyncio.Protocol):
    def __init__(self, owner: AioTurnClient) -> None:
        self.owner = owner

    def data_received(self, data: bytes) -> None:
        self.owner._stream_data(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner._stream_lost(self, exc)


class AioTurnClient:
    """One TURN allocation over asyncio. Create with :meth:`create`, then :meth:`allocate`.

    ``on_data(data, peer)`` receives relayed datagrams, ``on_batch_end()`` is
    called once after each batch of them (so that the layers above flush
    once per batch); ``on_event(event)`` receives every other engine event.
    Extra keyword arguments go to :class:`~webrtc.ice.turn.TurnClient`
    (lifetimes, ``auto_bind_channels``...).
    """

    def __init__(
        self,
        url: IceServerUrl,
        server: Address,
        username: str,
        password: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        on_data: Callable[[bytes, Address], None] | None = None,
        on_event: Callable[[TurnEvent], None] | None = None,
        on_batch_end: Callable[[], None] | None = None,
        **client_options: object,
    ) -> None:
        if not url.is_turn:
            raise ValueError(f"not a TURN URL: {url}")
        self.url = url
        self.client = TurnClient(server, username, password, url.transport, **client_options)  # type: ignore[arg-type]
        self.on_data = on_data
        self.on_event = on_event
        self.on_batch_end = on_batch_end
        self._ssl_context = ssl_context
        # The name the server certificate must match; a 300 with
        # ALTERNATE-DOMAIN changes it (RFC 8489 section 10).
        self._server_hostname = url.host
        self._loop = asyncio.get_running_loop()
        self._socket: socket.socket | None = None
        self._stream: asyncio.Transport | None = None
        self._protocol: _StreamProtocol | None = None
        self._connecting = False
        self._timer = DeadlineTimer(self._loop, self._on_timer)
        self._allocated: asyncio.Future[Allocated] = self._loop.create_future()
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self.lost: TurnError | None = None

    @classmethod
    async def create(
        cls,
        url: str | IceServerUrl,
        username: str,
        password: str,
        **options: object,
    ) -> AioTurnClient:
        """Resolve the server of ``url`` (``turn:`` or ``turns:``) and prepare a client."""
        parsed = url if isinstance(url, IceServerUrl) else IceServerUrl.parse(url)
        server = await resolve(parsed.host, parsed.port, parsed.transport)
        return cls(parsed, server, username, password, **options)  # type: ignore[arg-type]

    # -- properties ------------------------------------------------------
    @property
    def relayed_address(self) -> Address | None:
        return self.client.relayed_address

    @property
    def mapped_address(self) -> Address | None:
        return self.client.mapped_address

    @property
    def local_address(self) -> Address | None:
        """Our end of the connection to the server."""
        if self._socket is not None:
            name = self._socket.getsockname()
            return str(name[0]), int(name[1])
        if self._stream is not None:
            name = self._stream.get_extra_info("sockname")
            if name is not None:
                return str(name[0]), int(name[1])
        return None

    # -- public API ------------------------------------------------------
    async def allocate(self) -> Allocated:
        """Connect, allocate, and return the :class:`Allocated` event.

        Raises :class:`TurnError` with the server's code and reason when the
        allocation fails, and ``OSError``/``ssl.SSLError`` when the connection
        (or the TLS handshake, certificate verification included) fails.
        """
        await self._connect()
        self.client.allocate(self._loop.time())
        self._flush()
        return await self._allocated

    def send_to(self, data: bytes, peer: Address, *, flush: bool = True) -> bool:
        """Relay one datagram to ``peer``; False if it was dropped.

        ``flush`` False queues it in the engine: call :meth:`flush` once after
        a batch, so that a burst costs one pass over the engine's output.
        """
        sent = self.client.send_to(data, peer, self._loop.time())
        if flush:
            self._flush()
        return sent

    def flush(self) -> None:
        """Write what the engine queued (see :meth:`send_to`), re-arm the timer."""
        self._flush()

    def create_permission(self, peer_host: str) -> None:
        self.client.create_permission(peer_host, self._loop.time())
        self._flush()

    def bind_channel(self, peer: Address) -> None:
        self.client.bind_channel(peer, self._loop.time())
        self._flush()

    async def close(self) -> None:
        """Deallocate (Refresh with LIFETIME 0), then close the connection."""
        if self.client.state in (TurnState.ALLOCATED, TurnState.ALLOCATING, TurnState.IDLE):
            self.client.close(self._loop.time())
            self._flush()
            if not self._closed.done():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._closed), 5)
        self._teardown()

    # -- connection ------------------------------------------------------
    async def _connect(self) -> None:
        server = self.client.server_address
        if self.url.transport == "udp":
            if self._socket is None:
                family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_DGRAM)
                for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, option, _SOCKET_BUFFER)
                sock.setblocking(False)
                sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
                # Connected: the kernel filters other sources, and send() skips
                # the per-datagram address conversion and route lookup.
                sock.connect(server)
                self._socket = sock
                self._loop.add_reader(sock.fileno(), self._readable)
            return
        context: ssl.SSLContext | None = None
        server_hostname: str | None = None
        if self.url.transport == "tls":
            context = self._ssl_context or ssl.create_default_context()
            server_hostname = self._server_hostname
        self._connecting = True
        try:
            transport, protocol = await self._loop.create_connection(
                lambda: _StreamProtocol(self),
                server[0],
                server[1],
                ssl=context,
                server_hostname=server_hostname,
            )
        finally:
            self._connecting = False
        self._stream = transport
        self._protocol = protocol

    def _readable(self) -> None:
        sock = self._socket
        if sock is None:
            return
        client = self.client
        now = self._loop.time()
        receive = client.receive_datagram
        recv = sock.recv
        for _ in range(256):
            try:
                data = recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # ICMP port unreachable and the like: the server is not there.
                continue
            receive(data, now)
        self._flush()

    def _stream_data(self, protocol: _StreamProtocol, data: bytes) -> None:
        if protocol is self._protocol:
            self.client.receive_datagram(data, self._loop.time())
            self._flush()

    def _stream_lost(self, protocol: _StreamProtocol, exc: Exception | None) -> None:
        if protocol is not self._protocol:
            return
        self._stream = None
        self._protocol = None
        reason = f"connection to the TURN server lost: {exc}" if exc else "server closed"
        self.client.connection_lost(self._loop.time(), reason)
        self._flush()

    # -- driving the engine ----------------------------------------------
    def _flush(self) -> None:
        client = self.client
        redirected = False
        delivered = False
        while (event := client.next_event()) is not None:
            if type(event) is DataReceived:
                if self.on_data is not None:
                    self.on_data(event.data, event.peer)
                    delivered = True
                continue
            if isinstance(event, Redirected):
                redirected = True
                if event.domain is not None:
                    self._server_hostname = event.domain
            self._handle_event(event)
        if redirected and self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.connect(client.server_address)
        elif redirected and self.url.transport != "udp":
            # A new server means a new connection; the engine's next Allocate
            # waits in its queue until it is up.
            self._reconnect()
            return
        datagrams = client.datagrams_to_send(self._loop.time())
        if datagrams:
            self._write(datagrams)
        self._timer.arm(client.get_timer())
        if delivered and self.on_batch_end is not None:
            self.on_batch_end()

    def _write(self, datagrams: list[bytes]) -> None:
        sock = self._socket
        if sock is not None:
            send = sock.send
            for data in datagrams:
                try:
                    send(data)
                except (BlockingIOError, InterruptedError):
                    break  # UDP: a full buffer drops, like the network would
                except OSError:
                    continue
            return
        if self._stream is not None:
            self._stream.write(b"".join(datagrams))

    def _reconnect(self) -> None:
        old = self._stream
        self._stream = None
        self._protocol = None
        if old is not None:
            old.close()

        async def reconnect() -> None:
            try:
                await self._connect()
            except (OSError, ssl.SSLError) as exc:
                self.client.connection_lost(self._loop.time(), f"cannot connect: {exc}")
            self._flush()

        self._loop.create_task(reconnect())

    def _handle_event(self, event: TurnEvent) -> None:
        if isinstance(event, Allocated):
            if not self._allocated.done():
                self._allocated.set_result(event)
        elif isinstance(event, AllocationFailed):
            if not self._allocated.done():
                self._allocated.set_exception(TurnError(event.code, event.reason))
        elif isinstance(event, AllocationLost):
            self.lost = TurnError(event.code, event.reason)
        elif isinstance(event, Deallocated) and not self._closed.done():
            self._closed.set_result(None)
        if self.on_event is not None:
            self.on_event(event)

    def _on_timer(self, now: float) -> None:
        self.client.handle_timer(now)
        self._flush()

    def _teardown(self) -> None:
        self._timer.cancel()
        if self._socket is not None:
            self._loop.remove_reader(self._socket.fileno())
            self._socket.close()
            self._socket = None
        if self._stream is not None:
            self._protocol = None
            self._stream.close()
            self._stream = None
        if not self._allocated.done():
            self._allocated.set_exception(TurnError(None, "closed"))
            self._allocated.exception()  # nobody may be waiting: mark it retrieved


@dataclass(frozen=True)
class TurnServer:
    """One TURN server of ``iceServers``: its URL, user name and credential."""

    url: str | IceServerUrl
    username: str
    credential: str


class _TurnPort:
    """An allocation as the :class:`~webrtc.ice.aio.DatagramPort` IceConnection expects.

    Datagrams are queued in the TURN engine and written once per batch
    (``flush``), as ChannelData once the agent's checks bound a channel.
    """

    def __init__(self, client: AioTurnClient) -> None:
        self.client = client

    def sendto(self, data: bytes, address: Address) -> None:
        self.client.send_to(data, address, flush=False)

    def flush(self) -> None:
        self.client.flush()


class TurnIceConnection(IceConnection):
    """:class:`~webrtc.ice.aio.IceConnection` with relayed candidates from TURN servers.

    Every server of ``turn_servers`` is allocated in parallel with host and
    server-reflexive gathering; each allocation that succeeds becomes a
    relayed candidate (related address: the mapped address the server saw)
    on a port of its own, and end-of-candidates waits for every allocation
    to succeed or fail. ``relay_only`` is ``iceTransportPolicy="relay"``: no
    host or server-reflexive candidates at all. :meth:`close` releases every
    allocation (await :meth:`wait_closed` to see the deallocations done).
    ``on_relay_error(client, error)`` is called for each allocation that fails
    (e.g. for the W3C ``icecandidateerror`` event); :attr:`turn_errors` keeps them.
    """

    def __init__(
        self,
        controlling: bool,
        *,
        turn_servers: Iterable[TurnServer] = (),
        relay_only: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        turn_options: dict[str, object] | None = None,
        on_relay_error: Callable[[AioTurnClient, BaseException], None] | None = None,
        **options: Any,
    ) -> None:
        if relay_only:
            options["addresses"] = []
            options["stun_servers"] = ()
        super().__init__(controlling, **options)
        self.turn_servers = list(turn_servers)
        self.relay_only = relay_only
        self.ssl_context = ssl_context
        self.turn_options = dict(turn_options or {})
        self.turn_clients: list[AioTurnClient] = []
        self.turn_errors: list[BaseException] = []
        self.relay_clients: dict[int, AioTurnClient] = {}  # by socket id (add_port)
        self.on_relay_error = on_relay_error
        self._closing: list[asyncio.Task[None]] = []

    async def gather(self) -> None:
        if self.turn_servers:
            # End-of-candidates waits for every allocation to succeed or fail.
            self.hold_gathering()
            self._spawn(self._gather_relays())
        await super().gather()

    async def _gather_relays(self) -> None:
        try:
            results = await asyncio.gather(
                *(self._allocate(index, server) for index, server in enumerate(self.turn_servers)),
                return_exceptions=True,
            )
            self.turn_errors = [result for result in results if isinstance(result, BaseException)]
            for error in self.turn_errors:
                logger.warning("TURN allocation failed: %s", error)
        finally:
            self.release_gathering()

    async def _allocate(self, index: int, server: TurnServer) -> None:
        socket_ids: list[int] = []

        def on_data(data: bytes, peer: Address) -> None:
            if socket_ids:
                self.port_datagram_received(socket_ids[0], data, peer, end_batch=False)

        client = await AioTurnClient.create(
            server.url,
            server.username,
            server.credential,
            ssl_context=self.ssl_context,
            on_data=on_data,
            on_batch_end=self.end_port_batch,
            **self.turn_options,
        )
        if self._closed:
            await client.close()
            return
        self.turn_clients.append(client)
        try:
            allocated = await client.allocate()
        except (TurnError, OSError, ssl.SSLError) as error:
            if self.on_relay_error is not None and not self._closed:
                self.on_relay_error(client, error)
            raise
        if self._closed:
            return
        mapped = allocated.mapped_address
        socket_id = self.add_port(
            _TurnPort(client),
            allocated.relayed_address[0],
            allocated.relayed_address[1],
            "relay",
            related_address=mapped[0] if mapped is not None else None,
            related_port=mapped[1] if mapped is not None else None,
            server=str(client.url),
            local_preference=relay_local_preference(client.url.transport, index),
        )
        self.relay_clients[socket_id] = client
        socket_ids.append(socket_id)

    def close(self) -> None:
        """Close the connection and release every allocation."""
        super().close()
        for client in self.turn_clients:
            self._closing.append(self.loop.create_task(client.close()))
        self.turn_clients = []

    async def wait_closed(self) -> None:
        """Wait for the deallocations started by :meth:`close`."""
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
