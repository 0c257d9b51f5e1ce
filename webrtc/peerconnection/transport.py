"""The composed BUNDLE transport: ICE connection -> demultiplexer -> DTLS -> SCTP.

One :class:`BundleTransport` per peer connection stacks the sans-I/O DTLS and
SCTP engines (DESIGN.md section 1) on one ICE connection of the asyncio
adapter (:class:`webrtc.ice.aio.IceConnection`, or
:class:`webrtc.ice.aio_turn.TurnIceConnection` when TURN servers are
configured), which owns the sockets, gathering, mDNS and the agent:

- every payload datagram the connection delivers (``on_payload``: non-STUN
  data on a validated route, drained from the sockets in batches) is
  classified by its first byte (RFC 7983, :mod:`.demux`); DTLS records are
  collected for the batch;
- after each drained batch (``on_batch_end``) it *pumps* once: the batch's
  DTLS datagrams go to DTLS in one call (``receive_datagrams``), its
  application data to SCTP, SCTP events to the facade, SCTP packets into DTLS
  records (``send_many``), and DTLS datagrams onto the selected pair
  (:meth:`IceConnection.send_payloads`, straight ``socket.sendto``);
- one timer: the connection's ``loop.call_at``, shared with DTLS and SCTP
  (:meth:`IceConnection.add_timer_source`) and re-armed after every pump.
  No task or future per packet.

The facade reaches the transport through :class:`TransportListener`
callbacks; user sends (``RTCDataChannel.send``) queue into SCTP and pump at
once (or after the pump in progress), so a burst of sends is flushed together.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Protocol

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
    SelectedPairChanged,
    StateChanged,
)
from webrtc.ice.aio import IceConnection, RouteCounters
from webrtc.ice.aio_turn import AioTurnClient, TurnError, TurnIceConnection, TurnServer
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

__all__ = ["BundleTransport", "RouteCounters", "TransportListener", "local_addresses"]

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class IceCandidateError:
    """The fields of a W3C RTCPeerConnectionIceErrorEvent (webrtc-pc section 4.8.3)."""

    address: str | None
    port: int | None
    url: str
    errorCode: int
    errorText: str


def local_addresses() -> list[str]:
    """The host's usable unicast addresses, loopback left out.

    Inside a loopback-only network namespace (or on a machine with no other
    address) that leaves nothing, so 127.0.0.1 is used then.
    """
    found = ice_aio.local_addresses()
    return found or ice_aio.local_addresses(ipv6=False, include_loopback=True) or ["127.0.0.1"]


class BundleTransport:
    """ICE + DTLS + SCTP for one BUNDLE group, over one ICE connection.

    ``turn_servers`` (the TURN URLs of ``iceServers``) add relayed candidates
    (:class:`~webrtc.ice.aio_turn.TurnIceConnection`); ``relay_only`` is
    ``iceTransportPolicy="relay"``: no host socket is bound at all.
    """

    def __init__(self, listener: TransportListener, certificate: Certificate, *,
                 local_ufrag: str, local_pwd: str, max_message_size: int,
                 turn_servers: Iterable[TurnServer] = (), relay_only: bool = False,
                 ssl_context: ssl.SSLContext | None = None,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.listener = listener
        self.certificate = certificate
        self.local_ufrag = local_ufrag
        self.local_pwd = local_pwd
        self.max_message_size = max_message_size
        self.turn_servers = list(turn_servers)
        self.relay_only = relay_only
        self.ssl_context = ssl_context
        self._loop = loop
        # The loop's clock, bound once the connection exists (the hot path reads it).
        self._clock: Callable[[], float] = lambda: self.loop.time()
        self.connection: IceConnection | None = None
        self.dtls: DtlsConnection | None = None
        self.sctp: SctpAssociation | None = None
        self.remote: RemoteParameters | None = None
        self.dtls_client: bool | None = None
        self.remote_max_message_size = 65536
        self.local_candidates: list[Candidate] = []
        self.selected: SelectedPairChanged | None = None
        self.closed = False
        # DTLS that beat the remote description to us (RFC 8829 section 5.10
        # race: the peer's ClientHello before its answer), fed to DTLS at start.
        self._early_payload: list[bytes] = []
        # DTLS datagrams of the batch being drained, handed to DTLS at once by
        # the next pump (or before an ICE event, so that nothing is reordered).
        self._dtls_batch: list[bytes] = []
        self._pumping = False
        self._pump_again = False
        self._gathered = False
        self.dropped_other = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, taken at first use (construction may precede it)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    @property
    def ice(self) -> IceAgent | None:
        """The ICE agent (candidate pairs, role, selected pair), once created."""
        return self.connection.agent if self.connection is not None else None

    @property
    def counters(self) -> dict[tuple[int, tuple[str, int]], RouteCounters]:
        """Datagrams and bytes per (socket id, remote address) route, for getStats."""
        return self.connection.counters if self.connection is not None else {}

    @property
    def relay_socket_ids(self) -> set[int]:
        """The socket ids of the TURN allocations (relayed candidates)."""
        connection = self.connection
        if isinstance(connection, TurnIceConnection):
            return set(connection.relay_clients)
        return set()

    # -- setup ----------------------------------------------------------------------

    def create_agent(self, controlling: bool) -> IceAgent:
        if self.connection is None:
            agent = IceAgent(controlling, local_ufrag=self.local_ufrag,
                             local_pwd=self.local_pwd)
            connection: IceConnection
            if self.turn_servers or self.relay_only:
                connection = TurnIceConnection(
                    controlling, turn_servers=self.turn_servers, relay_only=self.relay_only,
                    ssl_context=self.ssl_context, on_relay_error=self._relay_error,
                    agent=agent, loop=self.loop, on_payload=self._on_payload,
                    on_batch_end=self.pump, on_event=self._on_ice_event)
            else:
                connection = IceConnection(
                    controlling, agent=agent, loop=self.loop, on_payload=self._on_payload,
                    on_batch_end=self.pump, on_event=self._on_ice_event)
            self._clock = self.loop.time
            connection.add_timer_source(self)
            self.connection = connection
        return self.connection.agent

    async def gather(self, addresses: Iterable[str], port_range: tuple[int, int] | None,
                     stun_servers: Iterable[tuple[str, int]] = (),
                     stun_timeout: float = 2.0) -> None:
        """Bind one UDP socket per address and announce its host candidate.

        Returns once host candidates are announced. Server-reflexive ones
        (every IPv4 socket to every STUN server in parallel, RFC 8445 section
        5.1.1.2, each query given up after ``stun_timeout``) and relayed ones
        follow, then end-of-candidates.
        """
        connection = self.connection
        if self._gathered or connection is None:
            return
        self._gathered = True
        if not self.relay_only:  # relay policy: the connection binds no host socket
            connection.addresses = list(addresses)
            connection.stun_servers = list(stun_servers)
        connection.port_range = port_range
        connection.stun_timeout = stun_timeout
        await connection.gather()
        self.pump()

    def _relay_error(self, client: AioTurnClient, error: BaseException) -> None:
        """W3C ``icecandidateerror``: the STUN error code, or 701 when the
        server could not be reached (webrtc-pc section 4.8.3)."""
        code = error.code if isinstance(error, TurnError) and error.code is not None else 701
        text = error.reason if isinstance(error, TurnError) else str(error)
        emit = getattr(self.listener, "emit", None)
        if emit is not None and not self.closed:
            local = client.local_address
            event = IceCandidateError(
                address=local[0] if local is not None else None,
                port=local[1] if local is not None else None,
                url=str(client.url), errorCode=code, errorText=text)
            emit("icecandidateerror", event, **asdict(event))

    def start(self, remote: RemoteParameters, dtls_client: bool) -> None:
        """Both descriptions are known: start checks, create DTLS and SCTP."""
        connection = self.connection
        assert connection is not None
        now = self.loop.time()
        self.remote = remote
        self.dtls_client = dtls_client
        self.remote_max_message_size = remote.max_message_size
        connection.set_remote_credentials(remote.ice_ufrag, remote.ice_pwd)
        for candidate in remote.candidates:
            connection.add_remote_candidate(candidate)
        if remote.end_of_candidates:
            connection.add_remote_candidate(None)
        self.dtls = DtlsConnection(
            is_client=dtls_client, certificate=self.certificate,
            remote_fingerprints=[(f.algorithm, f.value) for f in remote.fingerprints])
        self.sctp = SctpAssociation(is_client=dtls_client, local_port=5000,
                                    remote_port=remote.sctp_port,
                                    max_message_size=self.max_message_size)
        self.sctp.set_remote_max_message_size(remote.max_message_size)
        connection.start()
        if dtls_client and self.selected is not None and self.dtls.state.value == "new":
            # A pair was selected (the peer's checks) before we had its description.
            self.dtls.start(now)
            self.listener.on_dtls_state("connecting")
        self._dtls_batch.extend(self._early_payload)
        self._early_payload = []
        self.pump()

    def add_remote_candidate(self, candidate: Candidate | None) -> None:
        """A remote candidate; ``<uuid>.local`` names are resolved with mDNS first."""
        if self.connection is None:
            return
        self.connection.add_remote_candidate(candidate)
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
        return self.sctp is not None and self.sctp.has_channel(stream_id)

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

    def _on_payload(self, data: bytes) -> None:
        """A payload datagram on a validated route (RFC 7983: DTLS is 20..63)."""
        if 19 < data[0] < 64:
            if self.dtls is not None:
                self._dtls_batch.append(data)
            elif len(self._early_payload) < 64:
                self._early_payload.append(data)
        else:
            self.dropped_other += 1  # no RTP in a data-only session

    def _on_ice_event(self, event: object) -> None:
        if self.closed:
            return  # the facade reports its own "closed" states
        flushed = bool(self._dtls_batch)
        if flushed:
            # Datagrams that came before the event are processed before it.
            self._receive_dtls_batch(self.loop.time())
        if type(event) is LocalCandidateGathered:
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
                dtls.start(self.loop.time())
                self.listener.on_dtls_state("connecting")
            self.schedule_pump()
        if flushed:
            self.schedule_pump()  # no batch end may follow (an event from a timer)

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
        if self.closed or self.connection is None:
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
        if not self.closed:
            self.connection.update_timer()

    def _pump_once(self) -> None:
        connection = self.connection
        assert connection is not None
        now = self.loop.time()
        dtls, sctp = self.dtls, self.sctp
        if self._dtls_batch:
            self._receive_dtls_batch(now)
        if dtls is not None:
            # After the payloads of receive_datagrams: any event it left (say
            # HandshakeComplete) has the data that followed it queued behind.
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
                dtls.send_many(sctp.datagrams_to_send(now))
        if dtls is not None:
            datagrams = dtls.datagrams_to_send(now)
            if datagrams:
                connection.send_payloads(datagrams)

    def _receive_dtls_batch(self, now: float) -> None:
        """The collected DTLS datagrams to DTLS in one call, its data to SCTP.

        ``receive_datagrams`` returns application data only while no DTLS
        event is pending; the rest stays in ``next_event()``, which the pump
        drains after this, so SCTP sees every packet in order.
        """
        dtls, sctp = self.dtls, self.sctp
        batch, self._dtls_batch = self._dtls_batch, []
        if dtls is None:
            return
        payloads = dtls.receive_datagrams(batch, now)
        if payloads and sctp is not None:
            receive = sctp.receive_datagram
            for payload in payloads:
                receive(payload, now)

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

    # -- the timer (shared with the ICE connection, see TimerSource) -----------------

    def get_timer(self) -> float | None:
        """The earliest DTLS or SCTP deadline (now, while DTLS datagrams wait).

        Datagrams delivered outside a socket batch (the ICE agent's payload
        on a route validated late) have no ``on_batch_end`` behind them: the
        timer then fires at once and its pump processes them.
        """
        if self._dtls_batch:
            return self._clock()
        deadline: float | None = None
        for engine in (self.dtls, self.sctp):
            if engine is not None:
                timer = engine.get_timer()
                if timer is not None and (deadline is None or timer < deadline):
                    deadline = timer
        return deadline

    def handle_timer(self, now: float) -> None:
        if self.closed:
            return
        if self._dtls_batch:
            self._receive_dtls_batch(now)
        for engine in (self.dtls, self.sctp):
            if engine is not None:
                timer = engine.get_timer()
                if timer is not None and timer <= now:
                    engine.handle_timer(now)
        self.pump()

    # -- teardown -------------------------------------------------------------------

    def close(self) -> None:
        """Abort SCTP, send close_notify, close the ICE connection (and its relays)."""
        if self.closed:
            return
        connection = self.connection
        if connection is not None:
            now = self.loop.time()
            if self.sctp is not None and self.dtls is not None and \
                    self.dtls.state.value == "connected":
                self.sctp.abort("peer connection closed")
                for packet in self.sctp.datagrams_to_send(now):
                    self.dtls.send(packet)
            if self.dtls is not None:
                self.dtls.close()
                connection.send_payloads(self.dtls.datagrams_to_send(now))
        self.closed = True
        if connection is not None:
            connection.close()

    async def wait_closed(self) -> None:
        """Wait for the TURN deallocations :meth:`close` started."""
        connection = self.connection
        if isinstance(connection, TurnIceConnection):
            await connection.wait_closed()
