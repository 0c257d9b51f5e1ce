"""The composed BUNDLE transport: ICE agent -> demultiplexer -> DTLS -> SCTP.

One :class:`BundleTransport` per peer connection drives the three sans-I/O
engines (DESIGN.md section 1) from one asyncio driver:

- it owns the UDP sockets (non-blocking, registered with ``loop.add_reader``)
  and drains each readable socket in a loop until ``BlockingIOError``, feeding
  every datagram to the ICE agent; the agent's payload (non-STUN datagrams on
  a valid pair) is classified by its first byte (RFC 7983, :mod:`.demux`) and
  DTLS records go to the DTLS connection at once;
- after each drained batch it *pumps* once: DTLS application data to SCTP,
  SCTP events to the facade, SCTP packets into DTLS records, DTLS datagrams to
  the ICE agent's selected pair, and the agent's datagrams straight onto the
  sockets (``socket.sendto``, no asyncio transport in between, see DESIGN.md
  section 5);
- one timer: ``loop.call_at`` at the earliest deadline of the three engines,
  re-armed after every pump. No task or future per packet.

The facade reaches the transport through :class:`TransportListener`
callbacks; user sends (``RTCDataChannel.send``) queue into SCTP and schedule
one pump with ``call_soon``, so a burst of sends is flushed together.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import socket
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from webrtc.dtls import (
    ApplicationData,
    Certificate,
    ConnectionClosed,
    ConnectionFailed,
    DtlsConnection,
    HandshakeComplete,
)
from webrtc.ice import aio as ice_aio
from webrtc.ice.agent import (
    GatheringComplete,
    IceAgent,
    IceState,
    LocalCandidateGathered,
    PayloadReceived,
    SelectedPairChanged,
    StateChanged,
)
from webrtc.ice.stun import (
    AttributeType,
    MessageClass,
    Method,
    StunMessage,
    StunParseError,
)
from webrtc.peerconnection.demux import PacketKind, classify
from webrtc.sctp import (
    AssociationClosed,
    AssociationEstablished,
    BufferedAmountLow,
    ChannelClosed,
    ChannelOpened,
    MessageReceived,
    SctpAssociation,
)
from webrtc.sdp.candidate import Candidate
from webrtc.sdp.jsep import RemoteParameters

__all__ = ["BundleTransport", "TransportListener", "local_addresses"]

logger = logging.getLogger(__name__)

# Large socket buffers keep loopback bursts from being dropped by the kernel.
SOCKET_BUFFER = 4 << 20
# Datagrams drained from one socket before pumping the engines once.
BATCH_LIMIT = 256


class TransportListener(Protocol):
    """What the transport tells the peer connection."""

    def on_local_candidate(self, candidate: Candidate) -> None: ...
    def on_gathering_complete(self) -> None: ...
    def on_ice_state(self, state: IceState) -> None: ...
    def on_dtls_state(self, state: str) -> None: ...
    def on_sctp_established(self) -> None: ...
    def on_channel_opened(self, event: ChannelOpened) -> None: ...
    def on_message(self, stream_id: int, data: bytes, is_string: bool) -> None: ...
    def on_channel_closed(self, stream_id: int) -> None: ...
    def on_buffered_amount_low(self, stream_id: int) -> None: ...
    def on_sctp_closed(self, reason: str) -> None: ...


@dataclass
class RouteCounters:
    """Bytes and packets on one (socket, remote address) route, for getStats."""

    packets_sent: int = 0
    bytes_sent: int = 0
    packets_received: int = 0
    bytes_received: int = 0


def local_addresses() -> list[str]:
    """The host's usable unicast addresses, loopback left out.

    Inside a loopback-only network namespace (or on a machine with no other
    address) that leaves nothing, so 127.0.0.1 is used then.
    """
    found = ice_aio.local_addresses()
    return found or ice_aio.local_addresses(ipv6=False, include_loopback=True) or ["127.0.0.1"]


def parse_stun_url(url: str) -> tuple[str, int] | None:
    """``stun:host[:port]`` (RFC 7064) as (host, port); None for other schemes."""
    scheme, _, rest = url.partition(":")
    if scheme.lower() not in ("stun", "stuns") or not rest:
        return None
    rest = rest.split("?", 1)[0]
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port_text = tail.removeprefix(":")
    else:
        host, _, port_text = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
    try:
        port = int(port_text) if port_text else 3478
    except ValueError:
        return None
    return (host, port) if host else None


class BundleTransport:
    """ICE + DTLS + SCTP for one BUNDLE group, driven by one asyncio driver."""

    def __init__(self, listener: TransportListener, certificate: Certificate, *,
                 local_ufrag: str, local_pwd: str, max_message_size: int,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.listener = listener
        self.certificate = certificate
        self.local_ufrag = local_ufrag
        self.local_pwd = local_pwd
        self.max_message_size = max_message_size
        self._loop = loop
        self.ice: IceAgent | None = None
        self.dtls: DtlsConnection | None = None
        self.sctp: SctpAssociation | None = None
        self.remote: RemoteParameters | None = None
        self.dtls_client: bool | None = None
        self.remote_max_message_size = 65536
        self.sockets: dict[int, socket.socket] = {}
        self.local_candidates: list[Candidate] = []
        self.selected: SelectedPairChanged | None = None
        self.counters: dict[tuple[int, tuple[str, int]], RouteCounters] = {}
        self.closed = False
        self._early_payload: list[bytes] = []
        self._unvalidated: deque[tuple[tuple[int, tuple[str, int]], bytes]] = deque(maxlen=32)
        self._stun_waiters: dict[bytes, asyncio.Future[tuple[str, int]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._mdns: ice_aio.MdnsResolver | None = None
        self.mdns_timeout = 3.0
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        self._pumping = False
        self._pump_again = False
        self._gathered = False
        self.dropped_other = 0
        self.send_errors = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, taken at first use (construction may precede it)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    # -- setup ----------------------------------------------------------------------

    def create_agent(self, controlling: bool) -> IceAgent:
        if self.ice is None:
            self.ice = IceAgent(controlling, local_ufrag=self.local_ufrag,
                                local_pwd=self.local_pwd)
        return self.ice

    def gather(self, addresses: Iterable[str], port_range: tuple[int, int] | None,
               stun_servers: Iterable[tuple[str, int]] = (), stun_timeout: float = 2.0,
               announce_host: bool = True) -> None:
        """Bind one UDP socket per address and announce its host candidate.

        Server-reflexive candidates are then queried from every IPv4 socket
        to every STUN server in parallel (RFC 8445 section 5.1.1.2), each query
        given up after ``stun_timeout``; end-of-candidates follows the last.
        ``announce_host`` False (iceTransportPolicy "relay") keeps the host
        candidates to ourselves.
        """
        if self._gathered:
            return
        self._gathered = True
        assert self.ice is not None
        servers = list(stun_servers)
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
                self._bind(sock, address, port_range)
                sock.setblocking(False)
            except OSError as error:
                logger.warning("cannot bind a UDP socket on %s: %s", address, error)
                sock.close()
                continue
            socket_id = sock.fileno()
            self.sockets[socket_id] = sock
            self.loop.add_reader(socket_id, self._on_readable, socket_id)
            port = sock.getsockname()[1]
            if announce_host:
                self.ice.add_local_candidate(socket_id, address, port, "host")
        queries = [self._query_srflx(socket_id, server, stun_timeout)
                   for socket_id, sock in self.sockets.items()
                   if sock.family == socket.AF_INET for server in servers]
        if queries:
            task = self.loop.create_task(self._finish_gathering(queries))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self.ice.end_of_local_candidates()
        self.pump()

    async def _finish_gathering(self, queries: list[Any]) -> None:
        await asyncio.gather(*queries, return_exceptions=True)
        if not self.closed and self.ice is not None:
            self.ice.end_of_local_candidates()
            self.pump()

    async def _query_srflx(self, socket_id: int, server: tuple[str, int],
                           timeout: float) -> None:
        """One STUN Binding transaction to a server (RFC 8489 section 6.2.1 pacing)."""
        try:
            infos = await self.loop.getaddrinfo(server[0], server[1], family=socket.AF_INET,
                                                type=socket.SOCK_DGRAM)
        except OSError as error:
            logger.info("STUN server %s:%d not resolved: %s", *server, error)
            return
        if not infos or self.closed:
            return
        server_address = (str(infos[0][4][0]), int(infos[0][4][1]))
        request = StunMessage(Method.BINDING, MessageClass.REQUEST)
        data = request.encode(fingerprint=True)
        waiter: asyncio.Future[tuple[str, int]] = self.loop.create_future()
        self._stun_waiters[request.transaction_id] = waiter
        deadline = self.loop.time() + timeout
        interval = 0.25
        try:
            while not waiter.done():
                sock = self.sockets.get(socket_id)
                if sock is None:
                    return
                with contextlib.suppress(OSError):
                    sock.sendto(data, server_address)
                remaining = deadline - self.loop.time()
                if remaining <= 0:
                    return
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(waiter), min(interval, remaining))
                interval *= 2
            mapped = waiter.result()
        finally:
            self._stun_waiters.pop(request.transaction_id, None)
        sock = self.sockets.get(socket_id)
        if self.closed or sock is None or self.ice is None:
            return
        host, port = sock.getsockname()[:2]
        if mapped == (host, port):
            return  # no NAT in between: the srflx would equal the host candidate
        self.ice.add_local_candidate(socket_id, mapped[0], mapped[1], "srflx",
                                     related_address=host, related_port=port,
                                     server=f"{server_address[0]}:{server_address[1]}")
        self.pump()

    def _stun_response(self, data: bytes) -> bool:
        """A response to one of our gathering queries? Consumes it if so."""
        waiter = self._stun_waiters.get(data[8:20])
        if waiter is None:
            return False
        try:
            message = StunMessage.parse(data)
        except StunParseError:
            return True
        mapped = (message.get_address(AttributeType.XOR_MAPPED_ADDRESS)
                  or message.get_address(AttributeType.MAPPED_ADDRESS))
        if message.message_class == MessageClass.SUCCESS and mapped and not waiter.done():
            waiter.set_result((mapped[0], mapped[1]))
        return True

    @staticmethod
    def _bind(sock: socket.socket, address: str, port_range: tuple[int, int] | None) -> None:
        if port_range is None:
            sock.bind((address, 0))
            return
        first, last = port_range
        for port in range(first, last + 1):
            try:
                sock.bind((address, port))
                return
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
        raise OSError(errno.EADDRINUSE, f"no free UDP port in {first}-{last} on {address}")

    def start(self, remote: RemoteParameters, dtls_client: bool) -> None:
        """Both descriptions are known: start checks, create DTLS and SCTP."""
        assert self.ice is not None
        now = self.loop.time()
        self.remote = remote
        self.dtls_client = dtls_client
        self.remote_max_message_size = remote.max_message_size
        self.ice.set_remote_credentials(remote.ice_ufrag, remote.ice_pwd)
        for candidate in remote.candidates:
            self.ice.add_remote_candidate(candidate)
        if remote.end_of_candidates:
            self.ice.end_of_remote_candidates()
        self.dtls = DtlsConnection(
            is_client=dtls_client, certificate=self.certificate,
            remote_fingerprints=[(f.algorithm, f.value) for f in remote.fingerprints])
        self.sctp = SctpAssociation(is_client=dtls_client, local_port=5000,
                                    remote_port=remote.sctp_port,
                                    max_message_size=self.max_message_size)
        self.sctp.set_remote_max_message_size(remote.max_message_size)
        self.ice.start(now)
        if dtls_client and self.selected is not None:
            # A pair was selected (the peer's checks) before we had its description.
            self.dtls.start(now)
            self.listener.on_dtls_state("connecting")
        early, self._early_payload = self._early_payload, []
        for data in early:
            self.dtls.receive_datagram(data, now)
        self.pump()

    def add_remote_candidate(self, candidate: Candidate | None) -> None:
        """A remote candidate; ``<uuid>.local`` names are resolved with mDNS first."""
        if self.ice is None:
            return
        if candidate is not None and candidate.is_mdns:
            task = self.loop.create_task(self._resolve_and_add(candidate))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        self.ice.add_remote_candidate(candidate)
        self.schedule_pump()

    async def _resolve_and_add(self, candidate: Candidate) -> None:
        # Unresolved names are dropped: the pair still forms through the
        # peer's checks (a peer-reflexive remote candidate).
        if self._mdns is None:
            self._mdns = ice_aio.MdnsResolver(self.loop, timeout=self.mdns_timeout)
        address = await self._mdns.resolve(candidate.address)
        if address is None or self.closed or self.ice is None:
            return
        self.ice.add_remote_candidate(dataclasses.replace(candidate, address=address))
        self.schedule_pump()

    # -- data channels (called by the facade) ---------------------------------------

    def open_channel(self, label: str, *, ordered: bool, max_retransmits: int | None,
                     max_packet_life_time: int | None, protocol: str, negotiated: bool,
                     stream_id: int | None) -> int:
        assert self.sctp is not None
        sid = self.sctp.open_channel(label, ordered=ordered, max_retransmits=max_retransmits,
                                     max_packet_life_time=max_packet_life_time,
                                     protocol=protocol, negotiated=negotiated, id=stream_id)
        # No pump here: the caller registers the channel first, then pumps, so
        # that the ChannelOpened event finds it.
        return sid

    def channel_known(self, stream_id: int) -> bool:
        return self.sctp is not None and stream_id in self.sctp._channels

    def send_message(self, stream_id: int, message: str | bytes) -> None:
        """One message: a ``str`` goes as a UTF-8 string message, ``bytes`` as binary."""
        assert self.sctp is not None
        self.sctp.send(stream_id, message)
        self.schedule_pump()

    def close_channel(self, stream_id: int) -> None:
        if self.sctp is not None:
            self.sctp.close_channel(stream_id)
            self.schedule_pump()

    def buffered_amount(self, stream_id: int) -> int:
        return self.sctp.buffered_amount(stream_id) if self.sctp is not None else 0

    def set_buffered_amount_low_threshold(self, stream_id: int, threshold: int) -> None:
        if self.sctp is not None:
            self.sctp.set_buffered_amount_low_threshold(stream_id, threshold)

    # -- the driver -----------------------------------------------------------------

    def _on_readable(self, socket_id: int) -> None:
        sock = self.sockets.get(socket_id)
        ice = self.ice
        if sock is None or ice is None:
            return
        now = self.loop.time()
        recvfrom = sock.recvfrom
        receive = ice.receive_datagram
        valid_routes = ice.valid_routes
        dtls = self.dtls
        dtls_receive = dtls.receive_datagram if dtls is not None else None
        fast_packets = fast_bytes = 0
        fast_route: tuple[int, tuple[str, int]] | None = None
        for _ in range(BATCH_LIMIT):
            try:
                data, address = recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # An ICMP error reported on the socket (e.g. port unreachable).
                continue
            # Fast path: a DTLS record (RFC 7983: first byte 20..63) on a pair
            # ICE validated goes straight to DTLS; the agent would only wrap it
            # in a PayloadReceived event. STUN and anything else go to ICE.
            if data and 19 < data[0] < 64:
                route = (socket_id, address[:2])
                if route in valid_routes and dtls_receive is not None:
                    dtls_receive(data, now)
                    if route != fast_route:
                        self._count_received(fast_route, fast_packets, fast_bytes)
                        fast_route, fast_packets, fast_bytes = route, 0, 0
                    fast_packets += 1
                    fast_bytes += len(data)
                    continue
                if route not in valid_routes:
                    # The peer's first flight can overtake our own successful check
                    # of its route (the peer validated it first): keep the last few
                    # and replay them once the route is valid, rather than waiting
                    # a DTLS retransmission timeout.
                    self._unvalidated.append((route, data))
                    continue
            if self._stun_waiters and data and data[0] < 4 and self._stun_response(data):
                continue
            receive(data, now, socket_id, address[:2])
            self._drain_ice(now)
        self._count_received(fast_route, fast_packets, fast_bytes)
        self.pump()

    def _count_received(self, route: tuple[int, tuple[str, int]] | None, packets: int,
                        size: int) -> None:
        if route is None or not packets:
            return
        counters = self.counters.get(route)
        if counters is None:
            counters = self.counters[route] = RouteCounters()
        counters.packets_received += packets
        counters.bytes_received += size

    def _drain_ice(self, now: float) -> None:
        ice = self.ice
        assert ice is not None
        next_event = ice.next_event
        while (event := next_event()) is not None:
            if type(event) is PayloadReceived:
                data = event.data
                counters = self.counters.get((event.socket_id, event.remote_address))
                if counters is None:
                    counters = self.counters[(event.socket_id, event.remote_address)] = \
                        RouteCounters()
                counters.packets_received += 1
                counters.bytes_received += len(data)
                if classify(data) is PacketKind.DTLS:
                    if self.dtls is not None:
                        self.dtls.receive_datagram(data, now)
                    elif len(self._early_payload) < 64:
                        # A ClientHello can beat the answer to us (RFC 8829 5.10 race).
                        self._early_payload.append(data)
                else:
                    self.dropped_other += 1  # no RTP in a data-only session
            elif type(event) is LocalCandidateGathered:
                self.local_candidates.append(event.candidate)
                self.listener.on_local_candidate(event.candidate)
            elif type(event) is GatheringComplete:
                self.listener.on_gathering_complete()
            elif type(event) is StateChanged:
                self.listener.on_ice_state(event.state)
            elif type(event) is SelectedPairChanged:
                self.selected = event
                dtls = self.dtls
                if dtls is not None and dtls.is_client and dtls.state.value == "new":
                    dtls.start(now)
                    self.listener.on_dtls_state("connecting")

    def schedule_pump(self) -> None:
        """After a user action: pump now, or after the pump in progress.

        Pumping at once (rather than on the next loop iteration) saves one
        event-loop round per message on the latency path; a send made from a
        listener during a pump is carried by that pump's own flush.
        """
        if self.closed:
            return
        if self._pumping:
            self._pump_again = True
            return
        self.pump()

    def pump(self) -> None:
        """Move everything the engines produced one step along; re-arm the timer."""
        if self.closed or self.ice is None:
            return
        if self._pumping:
            self._pump_again = True
            return
        self._pumping = True
        try:
            self._pump_once()
            while self._pump_again and not self.closed:
                self._pump_again = False
                self._pump_once()
        finally:
            self._pumping = False
            self._pump_again = False

    def _pump_once(self) -> None:
        assert self.ice is not None
        now = self.loop.time()
        self._drain_ice(now)
        dtls, sctp = self.dtls, self.sctp
        if self._unvalidated and dtls is not None:
            self._replay_unvalidated(dtls, now)
        if dtls is not None:
            while (event := dtls.next_event()) is not None:
                if type(event) is ApplicationData:
                    if sctp is not None:
                        sctp.receive_datagram(event.data, now)
                elif type(event) is HandshakeComplete:
                    self.listener.on_dtls_state("connected")
                    if sctp is not None:
                        sctp.start(now)
                elif type(event) is ConnectionFailed:
                    logger.warning("DTLS failed: %s %s", event.reason.value, event.detail)
                    self.listener.on_dtls_state("failed")
                elif type(event) is ConnectionClosed:
                    self.listener.on_dtls_state("closed")
        if sctp is not None:
            self._drain_sctp()
            if self.closed:
                return  # a listener closed the peer connection
            if dtls is not None and dtls.state.value == "connected":
                send_record = dtls.send
                for packet in sctp.datagrams_to_send(now):
                    send_record(packet)
        if dtls is not None:
            datagrams = dtls.datagrams_to_send(now)
            if datagrams:
                self._send_payload(datagrams)
        self._send_ice_datagrams(now)
        self._arm()

    def _send_payload(self, datagrams: list[bytes]) -> None:
        """DTLS datagrams onto the selected pair, straight on its socket."""
        selected = self.selected
        ice = self.ice
        assert ice is not None
        if selected is None or ice.state in (IceState.FAILED, IceState.CLOSED):
            for datagram in datagrams:
                ice.send(datagram)  # the agent counts and drops them
            return
        sock = self.sockets.get(selected.socket_id)
        if sock is None:
            return
        address = selected.remote_address
        sendto = sock.sendto
        sent_bytes = sent_packets = 0
        for datagram in datagrams:
            try:
                sendto(datagram, address)
            except (BlockingIOError, InterruptedError):
                self.send_errors += 1  # a full buffer drops it; SCTP retransmits
                continue
            except OSError as error:
                self.send_errors += 1
                logger.debug("sendto %s failed: %s", address, error)
                continue
            sent_packets += 1
            sent_bytes += len(datagram)
        route = (selected.socket_id, address)
        counters = self.counters.get(route)
        if counters is None:
            counters = self.counters[route] = RouteCounters()
        counters.packets_sent += sent_packets
        counters.bytes_sent += sent_bytes

    def _replay_unvalidated(self, dtls: DtlsConnection, now: float) -> None:
        assert self.ice is not None
        valid = self.ice.valid_routes
        waiting = list(self._unvalidated)
        self._unvalidated.clear()
        for route, data in waiting:
            if route in valid:
                dtls.receive_datagram(data, now)
            else:
                self._unvalidated.append((route, data))

    def _drain_sctp(self) -> None:
        sctp = self.sctp
        assert sctp is not None
        listener = self.listener
        while (event := sctp.next_event()) is not None:
            if type(event) is MessageReceived:
                listener.on_message(event.stream_id, event.data, event.is_string)
            elif type(event) is BufferedAmountLow:
                listener.on_buffered_amount_low(event.stream_id)
            elif type(event) is ChannelOpened:
                listener.on_channel_opened(event)
            elif type(event) is ChannelClosed:
                listener.on_channel_closed(event.stream_id)
            elif type(event) is AssociationEstablished:
                listener.on_sctp_established()
            elif type(event) is AssociationClosed:
                listener.on_sctp_closed(event.reason.value)

    def _send_ice_datagrams(self, now: float) -> None:
        assert self.ice is not None
        sockets = self.sockets
        counters = self.counters
        for socket_id, address, data in self.ice.datagrams_to_send(now):
            sock = sockets.get(socket_id)
            if sock is None:
                continue
            try:
                sock.sendto(data, address)
            except (BlockingIOError, InterruptedError):
                self.send_errors += 1  # a full buffer drops it; SCTP retransmits
                continue
            except OSError as error:
                self.send_errors += 1
                logger.debug("sendto %s failed: %s", address, error)
                continue
            route = counters.get((socket_id, address))
            if route is None:
                route = counters[(socket_id, address)] = RouteCounters()
            route.packets_sent += 1
            route.bytes_sent += len(data)

    def _arm(self) -> None:
        deadline: float | None = None
        for engine in (self.ice, self.dtls, self.sctp):
            if engine is not None:
                timer = engine.get_timer()
                if timer is not None and (deadline is None or timer < deadline):
                    deadline = timer
        if deadline == self._deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadline = deadline
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._deadline = None
        if self.closed:
            return
        now = self.loop.time()
        for engine in (self.ice, self.dtls, self.sctp):
            if engine is not None:
                timer = engine.get_timer()
                if timer is not None and timer <= now:
                    engine.handle_timer(now)
        self.pump()

    # -- teardown -------------------------------------------------------------------

    def close(self) -> None:
        """Abort SCTP, send close_notify, close the sockets and the timer."""
        if self.closed:
            return
        now = self.loop.time()
        if self.ice is not None:
            if self.sctp is not None and self.dtls is not None and \
                    self.dtls.state.value == "connected":
                self.sctp.abort("peer connection closed")
                for packet in self.sctp.datagrams_to_send(now):
                    self.dtls.send(packet)
            if self.dtls is not None:
                self.dtls.close()
                for datagram in self.dtls.datagrams_to_send(now):
                    self.ice.send(datagram)
            self._send_ice_datagrams(now)
            self.ice.close()
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for socket_id, sock in self.sockets.items():
            self.loop.remove_reader(socket_id)
            sock.close()
        self.sockets.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._mdns is not None:
            self._mdns.close()
