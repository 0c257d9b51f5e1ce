"""TURN relays in the peer connection's transport (``iceServers`` with ``turn:`` URLs).

:class:`RelayBundleTransport` is the :class:`BundleTransport` with relayed
candidates: every TURN URL of ``RTCConfiguration.iceServers`` is allocated
(:class:`webrtc.ice.aio_turn.AioTurnClient`, UDP, TCP or TLS to the server)
in parallel with host gathering, each allocation becomes a relayed candidate
on a socket id of its own (:class:`webrtc.ice.turn_ice.IceRelays`: RFC 8445
relay priority, related address = the mapped address), and end-of-candidates
waits until every allocation succeeded or failed. With
``iceTransportPolicy="relay"`` no host socket is bound at all.

On a relay socket id, what the agent and DTLS send goes through
:meth:`TurnClient.send_to` (ChannelData once the channel is bound), and what
the relay receives is fed to the agent as if it came from the peer's address
on that socket id; DTLS records on a validated route skip the agent, as on
host sockets. Closing the transport releases every allocation.

``turns:`` servers are verified against the default trust store (so
``SSL_CERT_FILE`` works), or against ``RTCConfiguration.extras["turnSslContext"]``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from webrtc.ice.agent import IceAgent
from webrtc.ice.aio_turn import AioTurnClient, TurnError, TurnServer
from webrtc.ice.turn import Address, TurnEvent
from webrtc.ice.turn_ice import IceRelays
from webrtc.ice.turn_url import parse_ice_server_urls
from webrtc.peerconnection.transport import BundleTransport, RouteCounters
from webrtc.peerconnection.types import RTCConfiguration

__all__ = ["RelayBundleTransport", "turn_servers"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _IceCandidateError:
    """The fields of a W3C RTCPeerConnectionIceErrorEvent."""

    address: str | None
    port: int | None
    url: str
    errorCode: int
    errorText: str


def turn_servers(configuration: RTCConfiguration) -> list[TurnServer]:
    """The TURN URLs of ``iceServers``, each with its server's credentials."""
    servers: list[TurnServer] = []
    for server in configuration.iceServers or []:
        urls = parse_ice_server_urls(server.urls, server.username, server.credential)
        for url in urls:
            if url.is_turn:
                assert server.username is not None and server.credential is not None
                servers.append(TurnServer(url, server.username, server.credential))
    return servers


class _HeldIceAgent(IceAgent):
    """An agent whose end-of-candidates waits until the relays are gathered."""

    hold_end = False
    _end_wanted = False

    def end_of_local_candidates(self) -> None:
        if self.hold_end:
            self._end_wanted = True
            return
        super().end_of_local_candidates()

    def release_end(self) -> None:
        self.hold_end = False
        if self._end_wanted:
            self._end_wanted = False
            super().end_of_local_candidates()


class RelayBundleTransport(BundleTransport):
    """:class:`BundleTransport` plus TURN relays. See the module docstring."""

    def __init__(
        self,
        *args: Any,
        turn_servers: Iterable[TurnServer] = (),
        relay_only: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.turn_servers = list(turn_servers)
        self.relay_only = relay_only
        self.ssl_context = ssl_context
        self.relay_clients: dict[int, AioTurnClient] = {}
        self.relay_errors: list[BaseException] = []
        self._router: IceRelays | None = None
        self._closing: list[asyncio.Task[None]] = []
        self._gather_task: asyncio.Task[None] | None = None

    def create_agent(self, controlling: bool) -> IceAgent:
        if self.ice is None:
            agent = _HeldIceAgent(
                controlling, local_ufrag=self.local_ufrag, local_pwd=self.local_pwd
            )
            agent.hold_end = bool(self.turn_servers)
            self.ice = agent
            self._router = IceRelays(agent)
        return self.ice

    def gather(
        self,
        addresses: Iterable[str],
        port_range: tuple[int, int] | None,
        stun_servers: Iterable[tuple[str, int]] = (),
        stun_timeout: float = 2.0,
        announce_host: bool = True,
    ) -> None:
        if self._gathered:
            return
        if self.turn_servers:
            self._gather_task = self.loop.create_task(self._gather_relays())
        if self.relay_only:
            # iceTransportPolicy "relay": no host socket, no server-reflexive query.
            addresses, stun_servers = [], ()
        super().gather(addresses, port_range, stun_servers, stun_timeout, announce_host)

    async def _gather_relays(self) -> None:
        results = await asyncio.gather(
            *(self._allocate(index, server) for index, server in enumerate(self.turn_servers)),
            return_exceptions=True,
        )
        self.relay_errors = [r for r in results if isinstance(r, BaseException)]
        for error in self.relay_errors:
            logger.warning("TURN allocation failed: %s", error)
        agent = self.ice
        if isinstance(agent, _HeldIceAgent) and not self.closed:
            agent.release_end()
            self.pump()

    async def _allocate(self, index: int, server: TurnServer) -> None:
        socket_id = -1 - index  # host sockets use their (positive) descriptors

        def on_data(data: bytes, peer: Address) -> None:
            self._relay_datagram(socket_id, data, peer)

        def on_event(event: TurnEvent) -> None:
            if self._router is not None and not self.closed:
                self._router.handle_event(socket_id, event, self.loop.time())
                self.schedule_pump()

        client = await AioTurnClient.create(
            server.url,
            server.username,
            server.credential,
            ssl_context=self.ssl_context,
            on_data=on_data,
            on_event=on_event,
            on_batch_end=self.pump,
        )
        if self.closed:
            await client.close()
            return
        assert self._router is not None
        self.relay_clients[socket_id] = client
        self._router.add(socket_id, client.client, str(client.url), index)
        try:
            await client.allocate()
        except (TurnError, OSError, ssl.SSLError) as error:
            self._candidate_error(client, error)
            raise

    def _candidate_error(self, client: AioTurnClient, error: BaseException) -> None:
        """W3C ``icecandidateerror``: the STUN error code, or 701 when the
        server could not be reached (webrtc-pc section 4.8.3)."""
        code = error.code if isinstance(error, TurnError) and error.code is not None else 701
        text = error.reason if isinstance(error, TurnError) else str(error)
        emit = getattr(self.listener, "emit", None)
        if emit is not None and not self.closed:
            local = client.local_address
            event = _IceCandidateError(
                address=local[0] if local is not None else None,
                port=local[1] if local is not None else None,
                url=str(client.url),
                errorCode=code,
                errorText=text,
            )
            emit("icecandidateerror", event, **asdict(event))

    # -- data through relays ----------------------------------------------------------
    def _relay_datagram(self, socket_id: int, data: bytes, peer: Address) -> None:
        ice = self.ice
        if ice is None or self.closed:
            return
        now = self.loop.time()
        route = (socket_id, peer)
        counters = self.counters.get(route)
        if counters is None:
            counters = self.counters[route] = RouteCounters()
        counters.packets_received += 1
        counters.bytes_received += len(data)
        dtls = self.dtls
        if data and 19 < data[0] < 64 and dtls is not None and route in ice.valid_routes:
            dtls.receive_datagram(data, now)
            return
        ice.receive_datagram(data, now, socket_id, peer)
        self._drain_ice(now)

    def _send_payload(self, datagrams: list[bytes]) -> None:
        selected = self.selected
        client = self.relay_clients.get(selected.socket_id) if selected is not None else None
        if client is None or selected is None:
            super()._send_payload(datagrams)
            return
        now = self.loop.time()
        address = selected.remote_address
        engine = client.client
        size = 0
        for datagram in datagrams:
            engine.send_to(datagram, address, now)
            size += len(datagram)
        client._flush()
        counters = self.counters.get((selected.socket_id, address))
        if counters is None:
            counters = self.counters[(selected.socket_id, address)] = RouteCounters()
        counters.packets_sent += len(datagrams)
        counters.bytes_sent += size

    def _send_ice_datagrams(self, now: float) -> None:
        router = self._router
        ice = self.ice
        if router is None or ice is None or not self.relay_clients:
            super()._send_ice_datagrams(now)
            return
        rest = router.route(ice.datagrams_to_send(now), now)
        for client in self.relay_clients.values():
            client._flush()
        # The host-socket part, as the base class sends it.
        counters = self.counters
        for socket_id, address, data in rest:
            sock = self.sockets.get(socket_id)
            if sock is None:
                continue
            try:
                sock.sendto(data, address)
            except OSError as error:
                self.send_errors += 1
                logger.debug("sendto %s failed: %s", address, error)
                continue
            route = counters.get((socket_id, address))
            if route is None:
                route = counters[(socket_id, address)] = RouteCounters()
            route.packets_sent += 1
            route.bytes_sent += len(data)

    # -- teardown ---------------------------------------------------------------------
    def close(self) -> None:
        """Close as the base transport does, then release every allocation."""
        if self.closed:
            return
        super().close()
        if self._gather_task is not None:
            self._gather_task.cancel()
        for client in self.relay_clients.values():
            self._closing.append(self.loop.create_task(client.close()))
        self.relay_clients = {}

    async def wait_closed(self) -> None:
        """Wait for the deallocations :meth:`close` started."""
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
