"""RTCPeerConnection: the W3C API over the composed transport, for data channels.

Usage is aiortc's (and the MDN walkthrough's, in Python)::

    pc = RTCPeerConnection()
    channel = pc.createDataChannel("chat")
    channel.on("open", lambda: channel.send("hello"))
    await pc.setLocalDescription(await pc.createOffer())
    send_to_peer(pc.localDescription)          # any signaling
    await pc.setRemoteDescription(answer_from_peer)

Events: ``datachannel``, ``icecandidate`` (each candidate, then ``None``),
``icegatheringstatechange``, ``iceconnectionstatechange``,
``connectionstatechange``, ``signalingstatechange``, ``negotiationneeded``.
Listeners are added with ``@pc.on(name)`` or as ``pc.on<name> = handler``.

Offers always carry the data-channel section, so a peer connection can
accept channels the other side opens even when it created none itself.
Channels created after the first negotiation need no renegotiation: they are
opened on the SCTP association that already exists (RFC 8832).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import string
import time
from typing import Any

from webrtc.dtls import Certificate
from webrtc.ice.agent import IceState
from webrtc.ice.aio_turn import TurnServer
from webrtc.ice.turn_url import IceServerUrl, TurnUrlError, parse_ice_server_urls
from webrtc.peerconnection.datachannel import RTCDataChannel
from webrtc.peerconnection.events import EventEmitter
from webrtc.peerconnection.transport import BundleTransport, local_addresses
from webrtc.peerconnection.types import (
    InvalidAccessError,
    InvalidStateError,
    RTCConfiguration,
    RTCIceCandidate,
    RTCSessionDescription,
)
from webrtc.sctp import ChannelOpened
from webrtc.sdp import Fingerprint, SdpParseError, SessionDescription, jsep
from webrtc.sdp.attributes import Setup
from webrtc.sdp.candidate import Candidate

__all__ = ["RTCPeerConnection"]

logger = logging.getLogger(__name__)
_ICE_CHARS = string.ascii_letters + string.digits + "+/"


def turn_servers(configuration: RTCConfiguration) -> list[TurnServer]:
    """The TURN URLs of ``iceServers``, each with its server's credentials."""
    servers: list[TurnServer] = []
    for server in configuration.iceServers or []:
        for url in parse_ice_server_urls(server.urls, server.username, server.credential):
            if url.is_turn:
                assert server.username is not None and server.credential is not None
                servers.append(TurnServer(url, server.username, server.credential))
    return servers


def stun_servers(configuration: RTCConfiguration) -> list[tuple[str, int]]:
    """The ``stun:`` URLs of ``iceServers`` as (host, port), for server-reflexive
    candidates; TURN URLs are :func:`turn_servers`' and others are skipped with
    a warning (``stuns:``, STUN over TLS, is not used for gathering)."""
    servers: list[tuple[str, int]] = []
    for server in configuration.iceServers or []:
        for text in server.url_list:
            try:
                url = IceServerUrl.parse(text)
            except TurnUrlError as error:
                logger.warning("ICE server URL not used: %s", error)
                continue
            if url.scheme == "stun":
                servers.append((url.host, url.port))
            elif not url.is_turn:
                logger.warning("ICE server %s not used: only stun: and TURN servers are", text)
    return servers


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_ICE_CHARS) for _ in range(length))


class RTCPeerConnection(EventEmitter):
    """A peer connection carrying data channels. See the module docstring."""

    EVENTS = ("datachannel", "icecandidate", "icecandidateerror", "icegatheringstatechange",
              "iceconnectionstatechange", "connectionstatechange", "signalingstatechange",
              "negotiationneeded")

    def __init__(self, configuration: RTCConfiguration | None = None) -> None:
        super().__init__()
        self.configuration = configuration or RTCConfiguration()
        self._certificate = Certificate.generate()
        self._fingerprints = tuple(Fingerprint(a, v) for a, v in
                                   self._certificate.fingerprints(("sha-256",)))
        self._ice_ufrag = _random_text(8)
        self._ice_pwd = _random_text(24)
        self._session_id = secrets.randbits(62)
        self._session_version = 0
        # TURN servers of iceServers become relayed candidates (issue 9).
        self._transport = BundleTransport(
            self, self._certificate, local_ufrag=self._ice_ufrag, local_pwd=self._ice_pwd,
            max_message_size=self.configuration.maxMessageSize,
            turn_servers=turn_servers(self.configuration),
            relay_only=self.configuration.iceTransportPolicy == "relay",
            ssl_context=self.configuration.extras.get("turnSslContext"))
        self.signalingState = "stable"
        self.iceGatheringState = "new"
        self.iceConnectionState = "new"
        self.connectionState = "new"
        self._dtls_state = "new"
        self._current_local: RTCSessionDescription | None = None
        self._current_remote: RTCSessionDescription | None = None
        self._pending_local: RTCSessionDescription | None = None
        self._pending_remote: RTCSessionDescription | None = None
        self._local_mid = "0"
        self._local_mline_index = 0
        self._channels_opened = 0  # W3C RTCPeerConnectionStats counters
        self._channels_closed = 0
        self._remote_params: jsep.RemoteParameters | None = None
        self._remote_candidates: list[Candidate] = []
        self._remote_end_of_candidates = False
        self._channels: dict[int, RTCDataChannel] = {}
        self._pending_channels: list[RTCDataChannel] = []
        self._sctp_ready = False
        self._negotiated_once = False
        self._gathering_done: asyncio.Event | None = None
        self._is_closed = False
        self._created_at = time.monotonic()

    @property
    def _loop(self) -> asyncio.AbstractEventLoop:
        # Like aiortc, a peer connection may be created before the loop runs;
        # every method that needs the loop is called from within it.
        return self._transport.loop

    def _gathered_event(self) -> asyncio.Event:
        if self._gathering_done is None:
            self._gathering_done = asyncio.Event()
        return self._gathering_done

    # -- W3C attributes -------------------------------------------------------------

    @property
    def localDescription(self) -> RTCSessionDescription | None:
        """The pending or current local description, with the candidates gathered so far."""
        description = self._pending_local or self._current_local
        if description is None:
            return None
        parsed = SessionDescription.parse(description.sdp)
        media = parsed.media_by_mid(self._local_mid)
        if media is not None and not media.rejected:
            media.candidates = list(self._transport.local_candidates)
            media.end_of_candidates = self.iceGatheringState == "complete"
        return RTCSessionDescription(sdp=str(parsed), type=description.type)

    @property
    def remoteDescription(self) -> RTCSessionDescription | None:
        return self._pending_remote or self._current_remote

    @property
    def currentLocalDescription(self) -> RTCSessionDescription | None:
        return self._current_local

    @property
    def currentRemoteDescription(self) -> RTCSessionDescription | None:
        return self._current_remote

    @property
    def pendingLocalDescription(self) -> RTCSessionDescription | None:
        return self._pending_local

    @property
    def pendingRemoteDescription(self) -> RTCSessionDescription | None:
        return self._pending_remote

    @property
    def sctp(self) -> Any:
        """The SCTP association once negotiated (``None`` before)."""
        return self._transport.sctp

    def getConfiguration(self) -> RTCConfiguration:
        return self.configuration

    # -- offer / answer ---------------------------------------------------------------

    def _local_parameters(self) -> jsep.LocalParameters:
        return jsep.LocalParameters(ice_ufrag=self._ice_ufrag, ice_pwd=self._ice_pwd,
                                    fingerprints=self._fingerprints,
                                    max_message_size=self.configuration.maxMessageSize)

    def _check_open(self) -> None:
        if self._is_closed:
            raise InvalidStateError("the peer connection is closed")

    async def createOffer(self) -> RTCSessionDescription:
        self._check_open()
        if self.signalingState not in ("stable", "have-local-offer"):
            raise InvalidStateError(f"cannot create an offer in state {self.signalingState}")
        self._session_version += 1
        mid = self._local_mid
        if self._remote_params is not None:
            mid = self._remote_params.mid
        offer = jsep.create_offer(self._local_parameters(), mid=mid,
                                  session_id=self._session_id,
                                  session_version=self._session_version)
        return RTCSessionDescription(sdp=str(offer), type="offer")

    async def createAnswer(self) -> RTCSessionDescription:
        self._check_open()
        if self.signalingState not in ("have-remote-offer", "have-local-pranswer"):
            raise InvalidStateError(f"cannot create an answer in state {self.signalingState}")
        remote = self.remoteDescription
        assert remote is not None
        self._session_version += 1
        role = self._transport.dtls_client
        answer = jsep.create_answer(
            SessionDescription.parse(remote.sdp), self._local_parameters(),
            session_id=self._session_id, session_version=self._session_version,
            setup=None if role is None else (Setup.ACTIVE if role else Setup.PASSIVE))
        return RTCSessionDescription(sdp=str(answer), type="answer")

    async def setLocalDescription(self, description: RTCSessionDescription | None = None
                                  ) -> None:
        """Apply our offer or answer; returns once host candidates are gathered.

        With STUN servers configured it also waits up to
        ``configuration.srflxTimeout`` for server-reflexive candidates, so that
        ``localDescription.sdp`` carries the candidates.
        """
        self._check_open()
        if description is None:
            description = await (self.createAnswer() if self.signalingState ==
                                 "have-remote-offer" else self.createOffer())
        if description.type == "rollback":
            self._rollback("local")
            return
        try:
            parsed = SessionDescription.parse(description.sdp)
            params = jsep.remote_parameters(parsed)
        except (SdpParseError, jsep.JsepError) as error:
            raise InvalidAccessError(f"invalid local description: {error}") from error
        if description.type == "offer":
            if self.signalingState not in ("stable", "have-local-offer"):
                raise InvalidStateError(f"cannot set a local offer in {self.signalingState}")
            self._pending_local = description
            self._local_mid = params.mid
            self._local_mline_index = params.mline_index
            self._set_signaling_state("have-local-offer")
            self._transport.create_agent(controlling=True)
        elif description.type in ("answer", "pranswer"):
            if self.signalingState not in ("have-remote-offer", "have-local-pranswer"):
                raise InvalidStateError(f"cannot set a local answer in {self.signalingState}")
            self._local_mid = params.mid
            self._local_mline_index = params.mline_index
            if description.type == "answer":
                self._current_local = description
                self._current_remote = self._pending_remote
                self._pending_local = self._pending_remote = None
                self._set_signaling_state("stable")
            else:
                self._pending_local = description
                self._set_signaling_state("have-local-pranswer")
            self._start_transport(local_setup=params.setup)
        else:
            raise InvalidAccessError(f"unknown description type {description.type!r}")
        await self._gather()

    async def setRemoteDescription(self, description: RTCSessionDescription) -> None:
        self._check_open()
        if description.type == "rollback":
            self._rollback("remote")
            return
        try:
            parsed = SessionDescription.parse(description.sdp)
            params = jsep.remote_parameters(parsed)
        except (SdpParseError, jsep.JsepError) as error:
            raise InvalidAccessError(f"invalid remote description: {error}") from error
        if description.type == "offer":
            if self.signalingState not in ("stable", "have-remote-offer"):
                raise InvalidStateError(f"cannot set a remote offer in {self.signalingState}")
            self._pending_remote = description
            self._remote_params = params
            self._set_signaling_state("have-remote-offer")
            self._transport.create_agent(controlling=False)
        elif description.type in ("answer", "pranswer"):
            if self.signalingState not in ("have-local-offer", "have-remote-pranswer"):
                raise InvalidStateError(f"cannot set a remote answer in {self.signalingState}")
            if params.setup is Setup.ACTPASS:
                raise InvalidAccessError("an answer cannot say a=setup:actpass")
            self._remote_params = params
            if description.type == "answer":
                self._current_remote = description
                self._current_local = self._pending_local
                self._pending_local = self._pending_remote = None
                self._set_signaling_state("stable")
            else:
                self._pending_remote = description
                self._set_signaling_state("have-remote-pranswer")
            self._start_transport(local_setup=Setup.ACTPASS)
        else:
            raise InvalidAccessError(f"unknown description type {description.type!r}")
        for candidate in params.candidates:
            self._remote_candidates.append(candidate)

    def _rollback(self, side: str) -> None:
        """RFC 8829 section 4.1.8.2: discard the pending offer, back to stable."""
        if self.signalingState == "stable":
            raise InvalidStateError("nothing to roll back in state stable")
        if side == "local" and self.signalingState != "have-local-offer":
            raise InvalidStateError(f"cannot roll back a local offer in {self.signalingState}")
        if side == "remote" and self.signalingState != "have-remote-offer":
            raise InvalidStateError(f"cannot roll back a remote offer in {self.signalingState}")
        self._pending_local = None
        self._pending_remote = None
        if side == "remote" and self._current_remote is None:
            self._remote_params = None
        self._set_signaling_state("stable")

    def _start_transport(self, local_setup: Setup) -> None:
        remote = self._remote_params
        assert remote is not None
        if self._transport.dtls is not None:
            return  # already negotiated: later offers keep the transport
        dtls_client = jsep.dtls_role_is_client(local_setup, remote.setup)
        self._transport.start(remote, dtls_client)
        self._negotiated_once = True
        if self.connectionState == "new":
            self._set_connection_state("connecting")

    async def _gather(self) -> None:
        if self.iceGatheringState != "new":
            return
        self._set_state("iceGatheringState", "gathering", "icegatheringstatechange")
        config = self.configuration
        addresses = config.addresses if config.addresses is not None else local_addresses()
        servers = stun_servers(config)
        await self._transport.gather(addresses, config.portRange, servers, config.srflxTimeout)
        # Host candidates are in by now; wait a bounded time for srflx ones.
        done = self._gathered_event()
        if (servers or self._transport.turn_servers) and not done.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(),
                                       self.configuration.srflxTimeout)

    async def addIceCandidate(self, candidate: RTCIceCandidate | dict[str, Any] | None
                              ) -> None:
        """Add a trickled remote candidate; ``None`` (or an empty one) ends them."""
        self._check_open()
        if self.remoteDescription is None:
            raise InvalidStateError("addIceCandidate before setRemoteDescription")
        if isinstance(candidate, dict):
            candidate = (RTCIceCandidate.from_dict(candidate) if candidate.get("candidate")
                         else None)
        if candidate is None:
            self._remote_end_of_candidates = True
            self._transport.add_remote_candidate(None)
            return
        if not isinstance(candidate, RTCIceCandidate):
            # Duck-typed: an object with aiortc's RTCIceCandidate fields.
            candidate = RTCIceCandidate(**{name: getattr(candidate, name, None) for name in (
                "component", "foundation", "ip", "port", "priority", "protocol", "type",
                "relatedAddress", "relatedPort", "sdpMid", "sdpMLineIndex", "tcpType")})
        value = candidate.to_candidate()
        self._remote_candidates.append(value)
        self._transport.add_remote_candidate(value)

    # -- data channels ----------------------------------------------------------------

    def createDataChannel(self, label: str, ordered: bool = True,
                          maxPacketLifeTime: int | None = None,
                          maxRetransmits: int | None = None, protocol: str = "",
                          negotiated: bool = False, id: int | None = None,
                          priority: str = "low") -> RTCDataChannel:
        self._check_open()
        channel = RTCDataChannel(label, ordered=ordered, maxPacketLifeTime=maxPacketLifeTime,
                                 maxRetransmits=maxRetransmits, protocol=protocol,
                                 negotiated=negotiated, id=id, priority=priority)
        if self._sctp_ready:
            self._open_channel(channel)
        else:
            self._pending_channels.append(channel)
            if not self._negotiated_once and len(self._pending_channels) == 1:
                self._loop.call_soon(self.emit, "negotiationneeded")
        return channel

    def _open_channel(self, channel: RTCDataChannel) -> None:
        sid = self._transport.open_channel(
            channel.label, ordered=channel.ordered, max_retransmits=channel.maxRetransmits,
            max_packet_life_time=channel.maxPacketLifeTime, protocol=channel.protocol,
            negotiated=channel.negotiated, stream_id=channel.id)
        channel._attach(self._transport, sid)
        self._channels[sid] = channel
        self._transport.schedule_pump()

    # -- transport callbacks ------------------------------------------------------------

    def on_local_candidate(self, candidate: Candidate) -> None:
        ice_candidate = RTCIceCandidate.from_candidate(
            candidate, sdpMid=self._local_mid, sdpMLineIndex=self._local_mline_index)
        ice_candidate.usernameFragment = self._ice_ufrag
        self._loop.call_soon(self._emit_candidate, ice_candidate)

    def _emit_candidate(self, candidate: RTCIceCandidate | None) -> None:
        if not self._is_closed:
            self.emit("icecandidate", candidate, candidate=candidate)

    def on_gathering_complete(self) -> None:
        def complete() -> None:
            if self._is_closed:
                return
            self._set_state("iceGatheringState", "complete", "icegatheringstatechange")
            self._emit_candidate(None)
            self._gathered_event().set()
        self._loop.call_soon(complete)

    def on_ice_state(self, state: IceState) -> None:
        self._set_state("iceConnectionState", state.value, "iceconnectionstatechange")
        self._update_connection_state()

    def on_dtls_state(self, state: str) -> None:
        self._dtls_state = state
        self._update_connection_state()

    def on_sctp_established(self) -> None:
        self._sctp_ready = True
        pending, self._pending_channels = self._pending_channels, []
        for channel in pending:
            if channel.readyState == "connecting":
                self._open_channel(channel)

    def on_channel_opened(self, event: ChannelOpened) -> None:
        self._channels_opened += 1
        channel = self._channels.get(event.stream_id)
        if channel is None and event.remote:
            channel = RTCDataChannel(event.label, ordered=event.ordered,
                                     maxPacketLifeTime=event.max_packet_life_time,
                                     maxRetransmits=event.max_retransmits,
                                     protocol=event.protocol, negotiated=event.negotiated,
                                     id=event.stream_id)
            channel._attach(self._transport, event.stream_id)
            self._channels[event.stream_id] = channel
            channel.readyState = "open"
            self.emit("datachannel", channel, channel=channel)
            channel.emit("open")
            return
        if channel is not None:
            channel._set_open()

    def on_message(self, stream_id: int, data: bytes, is_string: bool) -> None:
        channel = self._channels.get(stream_id)
        if channel is not None:
            channel._receive(data, is_string)

    def on_channel_closed(self, stream_id: int) -> None:
        channel = self._channels.pop(stream_id, None)
        if channel is not None:
            self._channels_closed += 1
            channel._set_closed()

    def on_buffered_amount_low(self, stream_id: int) -> None:
        channel = self._channels.get(stream_id)
        if channel is not None:
            channel._buffered_amount_low()

    def on_sctp_closed(self, reason: str) -> None:
        self._sctp_ready = False
        for channel in list(self._channels.values()) + self._pending_channels:
            channel._set_closed()
        self._channels.clear()
        self._pending_channels.clear()

    # -- states -------------------------------------------------------------------------

    def _set_state(self, attribute: str, value: str, event: str) -> None:
        if getattr(self, attribute) != value:
            object.__setattr__(self, attribute, value)
            self.emit(event)

    def _set_signaling_state(self, value: str) -> None:
        self._set_state("signalingState", value, "signalingstatechange")

    def _set_connection_state(self, value: str) -> None:
        self._set_state("connectionState", value, "connectionstatechange")

    def _update_connection_state(self) -> None:
        """W3C RTCPeerConnectionState from the ICE and DTLS transport states."""
        if self._is_closed:
            return
        ice, dtls = self.iceConnectionState, self._dtls_state
        if ice == "failed" or dtls == "failed":
            state = "failed"
        elif ice == "disconnected":
            state = "disconnected"
        elif ice in ("connected", "completed") and dtls == "connected":
            state = "connected"
        elif ice == "new" and dtls == "new":
            state = "new"
        else:
            state = "connecting"
        if dtls == "closed" and self.connectionState == "connected":
            return  # the peer closed: stay connected at the ICE level until consent ends
        self._set_connection_state(state)

    # -- close and stats ----------------------------------------------------------------

    async def close(self) -> None:
        """Close every channel and the transport; idempotent."""
        if self._is_closed:
            return
        channels = list(self._channels.values()) + self._pending_channels
        self._transport.close()
        self._is_closed = True
        for channel in channels:
            channel._set_closed()
        self._channels.clear()
        self._pending_channels.clear()
        self.signalingState = "closed"
        self.iceConnectionState = "closed"
        self.emit("iceconnectionstatechange")
        self.connectionState = "closed"
        self.emit("connectionstatechange")
        self.emit("signalingstatechange")
        await self._transport.wait_closed()  # TURN allocations released (issue 9)

    async def getStats(self) -> RTCStatsReport:
        from webrtc.peerconnection.stats import collect_stats

        return collect_stats(self)


from webrtc.peerconnection.stats import RTCStatsReport  # noqa: E402
