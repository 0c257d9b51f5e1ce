"""The sans-I/O ICE agent: RFC 8445 (full), RFC 8838 (trickle), RFC 7675 (consent).

The agent owns no socket and reads no clock. It speaks in datagrams addressed
by ``(socket id, remote address)``:

- the adapter registers each local candidate with the id of the socket it
  lives on (:meth:`IceAgent.add_local_candidate`). A host candidate's socket
  id is its UDP socket; a server-reflexive candidate shares its base's socket
  id; a TURN relayed candidate gets an id of its own that the adapter maps to
  the relay allocation (it wraps what the agent sends in Send indications or
  ChannelData and unwraps what arrives). The agent never needs to know which
  kind of "socket" an id is: relays are just another socket.
- the adapter feeds every datagram with :meth:`IceAgent.receive_datagram`
  (``data, now, socket_id, remote_address``) and sends what
  :meth:`IceAgent.datagrams_to_send` returns, as
  ``(socket_id, remote_address, data)`` tuples.
- remote candidates arrive at any time (trickle, RFC 8838) through
  :meth:`IceAgent.add_remote_candidate`; ``None`` there (or
  :meth:`IceAgent.end_of_remote_candidates`) means end-of-candidates. Remote
  candidates whose address is an mDNS name (``<uuid>.local``) are ignored
  here: the adapter resolves them and adds the resolved candidate. If they
  never resolve, the peer's checks still create peer-reflexive candidates.

Checks are paced by Ta, one ordinary or triggered check per tick; each check
is a :class:`~webrtc.ice.stun.StunTransaction`. The controlling agent uses
regular nomination (a second check carrying USE-CANDIDATE on the best valid
pair); a controlled agent also accepts aggressive nomination. Once a pair is
selected, consent freshness (RFC 7675) runs on it: a binding request every
5 s (randomized +/-20 %), state ``disconnected`` when no response came for
``disconnected_timeout`` and ``failed`` when consent expired (30 s).

The checklist holds at most ``max_pairs`` pairs (RFC 8445 section 6.1.2.5).
When it is full, a failed pair gives way to any new pair, and a pair learned
from a check (peer-reflexive) that is neither valid, nominated nor selected
gives way to a pair of a signalled candidate; triggered checks of learned
pairs alternate with checks of signalled pairs, so that one authenticated
check replayed from many addresses can neither lock out a candidate trickled
later nor take all the Ta slots. ``learned_pair_limit`` optionally bounds how
many learned pairs are made per interval.

Simplifications, documented: one component (WebRTC multiplexes RTP and RTCP
and bundles media, RFC 8843/5761), UDP only; a valid pair is the pair that
was checked (the mapped address only decides whether a local peer-reflexive
candidate is learned, which changes nothing on the wire).
"""

from __future__ import annotations

import enum
import random
import string
from collections import deque
from dataclasses import dataclass, field

from webrtc.ice.stun import (
    AttributeType,
    ErrorCode,
    MessageClass,
    Method,
    StunMessage,
    StunParseError,
    StunTransaction,
    TransactionState,
)
from webrtc.sdp.candidate import Candidate

__all__ = [
    "CandidatePair",
    "GatheringComplete",
    "IceAgent",
    "IceRole",
    "IceState",
    "LocalCandidateGathered",
    "PairState",
    "PayloadReceived",
    "SelectedPairChanged",
    "StateChanged",
    "candidate_priority",
    "pair_priority",
]

A = AttributeType
Address = tuple[str, int]
SocketId = int

_USERNAME = int(A.USERNAME)
_PRIORITY = int(A.PRIORITY)
_ICE_CONTROLLING = int(A.ICE_CONTROLLING)
_ICE_CONTROLLED = int(A.ICE_CONTROLLED)
_USE_CANDIDATE = int(A.USE_CANDIDATE)
_XOR_MAPPED_ADDRESS = int(A.XOR_MAPPED_ADDRESS)

# RFC 8445 section 6.1.2.5: the checklist is limited ("The default limit of
# candidate pairs for the checklist set is 100, but the value MUST be
# configurable"): IceAgent(max_pairs=...).
MAX_PAIRS = 100
TYPE_PREFERENCES = {"host": 126, "prflx": 110, "srflx": 100, "relay": 0}
_ICE_CHARS = string.ascii_letters + string.digits + "+/"


class IceRole(enum.Enum):
    CONTROLLING = "controlling"
    CONTROLLED = "controlled"


class IceState(enum.Enum):
    """The W3C RTCIceTransportState values."""

    NEW = "new"
    CHECKING = "checking"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class PairState(enum.Enum):
    FROZEN = "frozen"
    WAITING = "waiting"
    IN_PROGRESS = "in-progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# -- events ---------------------------------------------------------------------


@dataclass(frozen=True)
class LocalCandidateGathered:
    """A local candidate to signal to the peer (trickle: one by one)."""

    candidate: Candidate


@dataclass(frozen=True)
class GatheringComplete:
    """No more local candidates (signal end-of-candidates)."""


@dataclass(frozen=True)
class StateChanged:
    state: IceState


@dataclass(frozen=True)
class SelectedPairChanged:
    """Payload now goes out on this pair."""

    local: Candidate
    remote: Candidate
    socket_id: SocketId
    remote_address: Address


@dataclass(frozen=True)
class PayloadReceived:
    """A non-STUN datagram on the selected or any valid pair (for DTLS/RTP)."""

    data: bytes
    socket_id: SocketId
    remote_address: Address


# -- priorities -------------------------------------------------------------------


def candidate_priority(
    candidate_type: str, local_preference: int = 65535, component: int = 1
) -> int:
    """RFC 8445 section 5.1.2.1."""
    return (TYPE_PREFERENCES[candidate_type] << 24) | (local_preference << 8) | (256 - component)


def pair_priority(controlling: int, controlled: int) -> int:
    """RFC 8445 section 6.1.2.3 (G: the controlling agent's candidate priority)."""
    return (
        (min(controlling, controlled) << 32)
        + 2 * max(controlling, controlled)
        + (1 if controlling > controlled else 0)
    )


@dataclass(eq=False)
class CandidatePair:
    local: Candidate
    remote: Candidate
    socket_id: SocketId
    priority: int = 0
    state: PairState = PairState.FROZEN
    nominated: bool = False
    use_candidate_received: bool = False
    nominate_pending: bool = False  # the next check of this pair carries USE-CANDIDATE
    use_candidate_in_flight: bool = False  # the check in flight carries USE-CANDIDATE
    checked_as: IceRole | None = None  # our role when the check in flight was sent
    nomination_tries: int = 0
    transaction: StunTransaction | None = None
    transaction_id: bytes = b""
    # Statistics (W3C RTCIceCandidatePairStats): checks and consent requests.
    requests_sent: int = 0
    requests_received: int = 0
    responses_sent: int = 0
    responses_received: int = 0
    current_round_trip_time: float | None = None  # from unretransmitted checks
    # The remote candidate was learned from the peer's check (peer-reflexive,
    # RFC 8445 section 7.3.1.3), not signalled: anyone holding one captured
    # check can make such pairs, so they are the first to give way.
    learned: bool = False

    @property
    def foundation(self) -> str:
        return f"{self.local.foundation}:{self.remote.foundation}"

    @property
    def remote_address(self) -> Address:
        return (self.remote.address, self.remote.port)

    @property
    def route(self) -> tuple[SocketId, Address]:
        return (self.socket_id, (self.remote.address, self.remote.port))

    @property
    def valid(self) -> bool:
        return self.state is PairState.SUCCEEDED


@dataclass
class _LocalEntry:
    candidate: Candidate
    socket_id: SocketId
    is_base: bool = field(default=True)


class IceAgent:
    """A full ICE agent for one component over UDP. See the module docstring.

    ``rng`` supplies every random choice (credentials, tie-breaker, transaction
    ids, consent jitter); it defaults to the operating system's generator.
    """

    def __init__(
        self,
        controlling: bool,
        *,
        local_ufrag: str | None = None,
        local_pwd: str | None = None,
        tie_breaker: int | None = None,
        rng: random.Random | None = None,
        ta: float = 0.05,
        check_rto: float = 0.5,
        check_rc: int = 7,
        nomination_delay: float = 0.5,
        consent_interval: float = 5.0,
        disconnected_timeout: float = 7.5,
        consent_timeout: float = 30.0,
        software: str | None = None,
        aggressive_nomination: bool = False,
        failure_grace: float = 5.0,
        consent_retry: float = 1.0,
        check_max_rto: float | None = 1.6,
        nomination_attempts: int = 3,
        max_pairs: int = MAX_PAIRS,
        learned_pair_limit: tuple[int, float] | None = None,
    ) -> None:
        self._rng = rng if rng is not None else random.SystemRandom()
        self.role = IceRole.CONTROLLING if controlling else IceRole.CONTROLLED
        self.tie_breaker = tie_breaker if tie_breaker is not None else self._rng.getrandbits(64)
        self.local_ufrag = local_ufrag or self._random_text(8)
        self.local_pwd = local_pwd or self._random_text(24)
        # Credentials accepted on incoming checks: the current ones, and during
        # an ICE restart the previous ones until a new pair is selected.
        self._accepted_credentials: dict[str, bytes] = {self.local_ufrag: self.local_pwd.encode()}
        self.remote_ufrag: str | None = None
        self.remote_pwd: str | None = None
        self._remote_key: bytes | None = None
        self.ta = ta
        self.check_rto = check_rto
        self.check_rc = check_rc
        self.nomination_delay = nomination_delay
        self.consent_interval = consent_interval
        self.disconnected_timeout = disconnected_timeout
        self.consent_timeout = consent_timeout
        self.software = software
        # RFC 5245 aggressive nomination (every check of the controlling agent
        # carries USE-CANDIDATE); off by default, as RFC 8445 deprecates it,
        # but always accepted from a controlling peer.
        self.aggressive_nomination = aggressive_nomination
        self.failure_grace = failure_grace
        self.consent_retry = consent_retry
        # Doubling check RTOs are capped so that a lossy path is retried
        # often enough; a check still gives up after check_rc sends.
        self.check_max_rto = check_max_rto
        self.nomination_attempts = nomination_attempts
        self._failure_deadline: float | None = None
        self.max_pairs = max_pairs
        # At most ``count`` new pairs learned from checks (peer-reflexive)
        # per ``interval`` seconds, or no limit. RFC 8445 section 7.3.1.3
        # says to learn peer-reflexive candidates but not how many; section
        # 19.5.1 warns of checks used to make an agent send traffic to third
        # parties. Beyond the budget the check is still answered (the peer's
        # own check succeeds) but no pair, candidate or route is recorded.
        self.learned_pair_limit = learned_pair_limit
        self._learned_window_start = float("-inf")
        self._learned_in_window = 0

        self.state = IceState.NEW
        self._local: list[_LocalEntry] = []
        self._foundations: dict[tuple[str, str, str], str] = {}
        self.local_gathering_complete = False
        self.remote_candidates: list[Candidate] = []
        self.remote_end_of_candidates = False
        self.pairs: list[CandidatePair] = []
        self._pairs_by_route: dict[tuple[SocketId, Address], CandidatePair] = {}
        self._triggered: deque[CandidatePair] = deque()
        self._transactions: dict[bytes, CandidatePair] = {}
        self._consent_requests: dict[bytes, tuple[CandidatePair, bytes]] = {}
        self._consent_credentials: tuple[str, bytes] | None = None
        self._previous_ufrag = self.local_ufrag
        self._started = False
        self._now = 0.0
        self._next_check: float | None = None
        self._last_check = float("-inf")
        self._prflx_turn_taken = False  # the last check was a triggered prflx one
        self._nomination_deadline: float | None = None

        self.selected_pair: CandidatePair | None = None
        self._nominated_selected = False
        self.valid_routes: set[tuple[SocketId, Address]] = set()
        self._next_consent: float | None = None
        self._last_consent: float = 0.0
        self._consent_sent_at: float = 0.0

        self._outgoing: list[tuple[SocketId, Address, bytes]] = []
        self._events: deque[object] = deque()
        self.dropped = 0  # datagrams dropped: malformed, unauthenticated, unknown source
        self.evicted_pairs = 0  # pairs dropped to make room in a full checklist

    # -- helpers ----------------------------------------------------------------
    def _random_text(self, length: int) -> str:
        return "".join(self._rng.choice(_ICE_CHARS) for _ in range(length))

    def _transaction_id(self) -> bytes:
        return self._rng.getrandbits(96).to_bytes(12, "big")

    def _set_state(self, state: IceState) -> None:
        if state is not self.state and self.state is not IceState.CLOSED:
            self.state = state
            self._events.append(StateChanged(state))

    @property
    def controlling(self) -> bool:
        return self.role is IceRole.CONTROLLING

    def set_role(self, controlling: bool) -> None:
        """Choose the role once it is known (JSEP: the offerer controls).

        Meant for before checks start; later, role conflicts are repaired by
        the 487 procedure instead.
        """
        role = IceRole.CONTROLLING if controlling else IceRole.CONTROLLED
        if role is not self.role:
            self._switch_role(role)

    @property
    def local_candidates(self) -> list[Candidate]:
        return [entry.candidate for entry in self._local]

    # -- local candidates --------------------------------------------------------
    def add_local_candidate(
        self,
        socket_id: SocketId,
        address: str,
        port: int,
        candidate_type: str = "host",
        *,
        related_address: str | None = None,
        related_port: int | None = None,
        local_preference: int | None = None,
        server: str = "",
        base_address: str | None = None,
    ) -> Candidate:
        """Register a local candidate living on ``socket_id`` and announce it.

        Priority and foundation follow RFC 8445 sections 5.1.2 and 5.1.1.3 (the
        foundation groups candidates of one type, base address and server).
        Returns the candidate, also reported by a :class:`LocalCandidateGathered`
        event. Host and relayed candidates are bases that checks are sent
        from; a server-reflexive candidate is only signalled (its base's pairs
        cover it, RFC 8445 section 6.1.2.4).
        """
        if local_preference is None:
            local_preference = max(0, 65535 - len(self._local))
        if base_address is None:
            base_address = related_address if candidate_type == "srflx" else address
        base = base_address or address
        key = (candidate_type, base, server)
        foundation = self._foundations.setdefault(key, str(len(self._foundations) + 1))
        candidate = Candidate(
            foundation=foundation,
            component=1,
            transport="udp",
            priority=candidate_priority(candidate_type, local_preference),
            address=address,
            port=port,
            type=candidate_type,
            related_address=related_address,
            related_port=related_port,
        )
        is_base = candidate_type in ("host", "relay")
        self._local.append(_LocalEntry(candidate, socket_id, is_base))
        self._events.append(LocalCandidateGathered(candidate))
        if is_base:
            for remote in self.remote_candidates:
                self._add_pair(candidate, socket_id, remote)
        return candidate

    def end_of_local_candidates(self) -> None:
        """Gathering finished: report :class:`GatheringComplete`."""
        if not self.local_gathering_complete:
            self.local_gathering_complete = True
            self._events.append(GatheringComplete())
            self._update_completed()

    # -- remote side -------------------------------------------------------------
    def set_remote_credentials(self, ufrag: str, pwd: str) -> None:
        self.remote_ufrag = ufrag
        self.remote_pwd = pwd
        self._remote_key = pwd.encode()
        if self._started:
            self._schedule_checks(None)

    def add_remote_candidate(self, candidate: Candidate | None) -> None:
        """A trickled remote candidate; ``None`` means end-of-candidates."""
        if candidate is None:
            self.end_of_remote_candidates()
            return
        if (
            candidate.component != 1
            or candidate.transport.lower() != "udp"
            or candidate.is_mdns
            or candidate.type not in TYPE_PREFERENCES
        ):
            return
        if (
            candidate.ufrag is not None
            and self.remote_ufrag is not None
            and candidate.ufrag != self.remote_ufrag
        ):
            return  # trickled for a previous ICE generation (before a restart)
        address = (candidate.address, candidate.port)
        for index, known in enumerate(self.remote_candidates):
            if (known.address, known.port) == address:
                if known.type == "prflx" and candidate.type != "prflx":
                    # The signalled candidate replaces the peer-reflexive one
                    # its checks revealed first (RFC 8445 section 7.3.1.3).
                    self.remote_candidates[index] = candidate
                    for pair in self.pairs:
                        if pair.remote is known:
                            pair.remote = candidate
                            pair.learned = False
                            pair.priority = self._pair_priority(pair.local, candidate)
                    if self.selected_pair is not None and self.selected_pair.remote is known:
                        self.selected_pair.remote = candidate
                    self.pairs.sort(key=lambda p: p.priority, reverse=True)
                return
        self.remote_candidates.append(candidate)
        for entry in self._local:
            if entry.is_base:
                self._add_pair(entry.candidate, entry.socket_id, candidate)

    def end_of_remote_candidates(self) -> None:
        self.remote_end_of_candidates = True
        self._update_completed()
        self._check_failed()

    # -- pairs and checks --------------------------------------------------------
    def _pair_priority(self, local: Candidate, remote: Candidate) -> int:
        if self.controlling:
            return pair_priority(local.priority, remote.priority)
        return pair_priority(remote.priority, local.priority)

    def _add_pair(
        self, local: Candidate, socket_id: SocketId, remote: Candidate, learned: bool = False
    ) -> CandidatePair | None:
        if (":" in local.address) != (":" in remote.address):
            return None
        route = (socket_id, (remote.address, remote.port))
        if route in self._pairs_by_route:
            return self._pairs_by_route[route]
        if len(self.pairs) >= self.max_pairs and not self._evict_for(learned):
            return None
        pair = CandidatePair(local, remote, socket_id, self._pair_priority(local, remote))
        pair.learned = learned
        foundation = pair.foundation
        busy = any(
            other.foundation == foundation
            and other.state in (PairState.WAITING, PairState.IN_PROGRESS)
            for other in self.pairs
        )
        succeeded = any(
            other.foundation == foundation and other.state is PairState.SUCCEEDED
            for other in self.pairs
        )
        pair.state = PairState.WAITING if succeeded or not busy else PairState.FROZEN
        self.pairs.append(pair)
        self.pairs.sort(key=lambda p: p.priority, reverse=True)
        self._pairs_by_route[route] = pair
        if self._started:
            self._schedule_checks(None)
        return pair

    def _evict_for(self, learned: bool) -> bool:
        """Make room in a full checklist for one more pair; True if done.

        RFC 8445 section 6.1.2.5 caps the checklist, and leaves which pairs to
        drop to the implementation. Peer-reflexive remote candidates come from
        any authenticated check, so a single captured check replayed from many
        source addresses could fill the list and lock out a candidate the peer
        signals later (RFC 8838 trickle). The victim, lowest priority first:

        - a failed pair (never the selected one): any new pair may take its
          slot, so failed peer-reflexive pairs do not hold the cap forever;
        - for a signalled remote candidate only, a peer-reflexive pair that
          is neither selected, nominated, succeeded, nor asked by the peer
          to be nominated (USE-CANDIDATE).

        A valid (succeeded) or nominated pair is never evicted.
        """
        selected = self.selected_pair
        failed = [p for p in self.pairs if p.state is PairState.FAILED and p is not selected]
        if failed:
            self._remove_pair(min(failed, key=lambda p: p.priority))
            return True
        if learned:
            return False
        unproven = [
            p
            for p in self.pairs
            if p.learned
            and p is not selected
            and not p.nominated
            and not p.use_candidate_received
            and not p.nominate_pending
            and not p.use_candidate_in_flight
            and p.state is not PairState.SUCCEEDED
        ]
        if not unproven:
            return False
        self._remove_pair(min(unproven, key=lambda p: p.priority))
        return True

    def _remove_pair(self, pair: CandidatePair) -> None:
        """Forget a pair: its check, its route and a remote candidate only it used."""
        self.pairs.remove(pair)
        route = pair.route
        if self._pairs_by_route.get(route) is pair:
            del self._pairs_by_route[route]
        if pair.transaction_id:
            self._transactions.pop(pair.transaction_id, None)
        pair.transaction = None
        pair.transaction_id = b""
        pair.state = PairState.FAILED
        if pair in self._triggered:
            self._triggered.remove(pair)
        if self.selected_pair is None or self.selected_pair.route != route:
            self.valid_routes.discard(route)
        remote = pair.remote
        if pair.learned and not any(p.remote is remote for p in self.pairs):
            self.remote_candidates = [c for c in self.remote_candidates if c is not remote]
        self.evicted_pairs += 1

    def start(self, now: float) -> None:
        """Begin connectivity checks (pairs already formed, or trickled later)."""
        if self._started or self.state is IceState.CLOSED:
            return
        self._started = True
        self._set_state(IceState.CHECKING)
        self._schedule_checks(now)

    def _can_check(self) -> bool:
        return self._started and self._remote_key is not None and self.state is not IceState.CLOSED

    def _has_check_work(self) -> bool:
        if self._triggered:
            return True
        if self._nominated_selected:
            # RFC 8445 section 8.1.2: once nominated, ordinary checks stop.
            return False
        return any(p.state in (PairState.WAITING, PairState.FROZEN) for p in self.pairs)

    def _schedule_checks(self, now: float | None) -> None:
        """Arm the Ta pacer if there is work and it is idle."""
        if now is not None:
            self._now = max(self._now, now)
        if self._next_check is None and self._can_check() and self._has_check_work():
            self._next_check = max(self._now, self._last_check + self.ta)

    def _prflx_priority(self, local: Candidate) -> int:
        local_preference = (local.priority >> 8) & 0xFFFF
        return candidate_priority("prflx", local_preference, local.component)

    def _send_check(self, pair: CandidatePair, now: float, nominate: bool) -> None:
        assert self.remote_ufrag is not None and self._remote_key is not None
        transaction_id = self._transaction_id()
        request = StunMessage(Method.BINDING, MessageClass.REQUEST, transaction_id)
        attributes = request.attributes
        attributes.append((_USERNAME, f"{self.remote_ufrag}:{self.local_ufrag}"))
        attributes.append((_PRIORITY, self._prflx_priority(pair.local)))
        if self.controlling:
            attributes.append((_ICE_CONTROLLING, self.tie_breaker))
            nominate = nominate or self.aggressive_nomination
            if nominate:
                attributes.append((_USE_CANDIDATE, True))
        else:
            attributes.append((_ICE_CONTROLLED, self.tie_breaker))
        data = request.encode(self._remote_key, fingerprint=True)
        if pair.transaction_id:
            self._transactions.pop(pair.transaction_id, None)
        transaction = StunTransaction(
            data, now, rto=self.check_rto, rc=self.check_rc, max_rto=self.check_max_rto
        )
        pair.transaction = transaction
        pair.transaction_id = transaction_id
        pair.use_candidate_in_flight = nominate and self.controlling
        if pair.use_candidate_in_flight:
            pair.nomination_tries += 1
        pair.checked_as = self.role
        pair.nominate_pending = False
        pair.state = PairState.IN_PROGRESS
        self._last_check = now
        self._transactions[transaction_id] = pair
        for datagram in transaction.datagrams_to_send(now):
            self._outgoing.append((pair.socket_id, pair.remote_address, datagram))
            pair.requests_sent += 1

    def _next_pair_to_check(self) -> tuple[CandidatePair, bool] | None:
        if self._prflx_turn_taken and not self._nominated_selected:
            # Fairness between the triggered queue and signalled candidates:
            # after a triggered check of a peer-reflexive pair, a queued
            # nomination or check of a signalled pair, else an ordinary check
            # of a signalled pair, goes first. RFC 8445 section 6.1.4.2
            # serves triggered checks first, but a check replayed from many
            # addresses would then starve every signalled pair of Ta slots
            # (section 14.1 leaves pacing policy to the agent within Ta).
            self._prflx_turn_taken = False
            for queued in self._triggered:
                if queued.nominate_pending or not queued.learned:
                    self._triggered.remove(queued)
                    if queued in self._pairs_by_route.values() or queued is self.selected_pair:
                        return queued, queued.nominate_pending
                    break
            ordinary = self._next_ordinary(signalled_only=True)
            if ordinary is not None:
                return ordinary, False
        while self._triggered:
            pair = self._triggered.popleft()
            if pair in self._pairs_by_route.values() or pair is self.selected_pair:
                self._prflx_turn_taken = pair.learned and not pair.nominate_pending
                return pair, pair.nominate_pending
        if self._nominated_selected:
            return None
        ordinary = self._next_ordinary(signalled_only=False)
        return (ordinary, False) if ordinary is not None else None

    def _next_ordinary(self, signalled_only: bool) -> CandidatePair | None:
        """The ordinary check to send next (RFC 8445 section 6.1.4.2)."""
        pairs = (
            [p for p in self.pairs if not p.learned] if signalled_only else self.pairs
        )
        for pair in pairs:
            if pair.state is PairState.WAITING:
                return pair
        active = {
            p.foundation
            for p in self.pairs
            if p.state in (PairState.WAITING, PairState.IN_PROGRESS)
        }
        for pair in pairs:
            if pair.state is PairState.FROZEN and pair.foundation not in active:
                return pair
        for pair in pairs:
            if pair.state is PairState.FROZEN:
                return pair
        return None

    def _trigger(self, pair: CandidatePair, nominate: bool = False) -> None:
        if pair.state is PairState.IN_PROGRESS and not nominate:
            return
        pair.nominate_pending = nominate
        if pair.state is not PairState.IN_PROGRESS:
            pair.state = PairState.WAITING
        if pair not in self._triggered:
            self._triggered.append(pair)
        self._schedule_checks(None)

    # -- datagrams in ----------------------------------------------------------
    def receive_datagram(
        self, data: bytes, now: float, socket_id: SocketId, remote_address: Address
    ) -> None:
        """A datagram arrived on ``socket_id`` from ``remote_address``. Never raises."""
        if now > self._now:
            self._now = now
        if not data:
            self.dropped += 1
            return
        if data[0] < 4:
            try:
                message = StunMessage.parse(data)
            except StunParseError:
                self.dropped += 1
                return
            try:
                self._handle_stun(message, now, socket_id, remote_address)
            except (StunParseError, ValueError, TypeError, KeyError):
                # A typed-but-odd attribute value (e.g. a PRIORITY we cannot use).
                self.dropped += 1
            self._update_completed()
            return
        route = (socket_id, remote_address)
        if route in self.valid_routes:
            self._events.append(PayloadReceived(data, socket_id, remote_address))
        else:
            self.dropped += 1

    def _handle_stun(
        self, message: StunMessage, now: float, socket_id: SocketId, remote_address: Address
    ) -> None:
        if message.method != Method.BINDING or self.state is IceState.CLOSED:
            self.dropped += 1
            return
        if message.has_fingerprint and not message.verify_fingerprint():
            self.dropped += 1
            return
        kind = message.message_class
        if kind == MessageClass.REQUEST:
            self._handle_request(message, now, socket_id, remote_address)
        elif kind in (MessageClass.SUCCESS, MessageClass.ERROR):
            self._handle_response(message, now, socket_id, remote_address)
        # Binding indications are keepalives: nothing to do.

    def _respond(
        self,
        request: StunMessage,
        socket_id: SocketId,
        remote_address: Address,
        key: bytes | None,
        error: ErrorCode | None = None,
        unknown: tuple[int, ...] = (),
    ) -> None:
        if error is None:
            response = StunMessage(Method.BINDING, MessageClass.SUCCESS, request.transaction_id)
            response.attributes.append((_XOR_MAPPED_ADDRESS, remote_address))
        else:
            response = StunMessage(Method.BINDING, MessageClass.ERROR, request.transaction_id)
            response.attributes.append((int(A.ERROR_CODE), error))
            if unknown:
                response.attributes.append((int(A.UNKNOWN_ATTRIBUTES), unknown))
        if self.software:
            response.attributes.append((int(A.SOFTWARE), self.software))
        self._outgoing.append((socket_id, remote_address, response.encode(key, fingerprint=True)))

    def _handle_request(
        self, request: StunMessage, now: float, socket_id: SocketId, remote_address: Address
    ) -> None:
        username = request.get_str(_USERNAME)
        if username is None or not request.has_integrity:
            self._respond(request, socket_id, remote_address, None, ErrorCode(400, "Bad Request"))
            return
        ufrag = username.split(":", 1)[0]
        key = self._accepted_credentials.get(ufrag)
        if key is None or not request.verify_integrity(key):
            self._respond(request, socket_id, remote_address, None, ErrorCode(401, "Unauthorized"))
            return
        unknown = request.unknown_comprehension_required()
        if unknown:
            # RFC 8489 section 6.3.1.1: 420 listing what we do not understand.
            self._respond(
                request,
                socket_id,
                remote_address,
                key,
                ErrorCode(420, "Unknown Attribute"),
                unknown=tuple(unknown),
            )
            return
        base = self._base_for_socket(socket_id)
        if base is None:
            self.dropped += 1
            return

        # Role conflict, RFC 8445 section 7.3.1.1.
        their_controlling = request.get_int(_ICE_CONTROLLING)
        their_controlled = request.get_int(_ICE_CONTROLLED)
        if self.controlling and their_controlling is not None:
            if self.tie_breaker >= their_controlling:
                self._respond(
                    request, socket_id, remote_address, key, ErrorCode(487, "Role Conflict")
                )
                return
            self._switch_role(IceRole.CONTROLLED)
        elif not self.controlling and their_controlled is not None:
            if self.tie_breaker >= their_controlled:
                self._switch_role(IceRole.CONTROLLING)
            else:
                self._respond(
                    request, socket_id, remote_address, key, ErrorCode(487, "Role Conflict")
                )
                return

        self._respond(request, socket_id, remote_address, key)
        route = (socket_id, remote_address)

        # Peer-reflexive remote candidate, RFC 8445 section 7.3.1.3.
        pair = self._pairs_by_route.get(route)
        if pair is None:
            remote = self._remote_by_address(remote_address)
            learned = remote is None or any(p.learned and p.remote is remote for p in self.pairs)
            if remote is None:
                priority = request.get_int(_PRIORITY) or candidate_priority("prflx")
                remote = Candidate(
                    foundation=self._random_text(8).replace("+", "x").replace("/", "y"),
                    component=1,
                    transport="udp",
                    priority=priority,
                    address=remote_address[0],
                    port=remote_address[1],
                    type="prflx",
                )
            if learned and not self._learned_budget(now):
                pair = None
            else:
                pair = self._add_pair(base, socket_id, remote, learned)
            if pair is None:
                if self.selected_pair is not None and self.selected_pair.route == route:
                    pair = self.selected_pair
                else:
                    # No room for another pair (the section 6.1.2.5 limit, or
                    # the learned-pair budget): a check replayed from ever new
                    # source addresses must not grow the remote candidates and
                    # valid routes without bound.
                    self.dropped += 1
                    return
            if not any(known is remote for known in self.remote_candidates):
                # New, or forgotten with the last pair evicted just now.
                self.remote_candidates.append(remote)
        # RFC 8445 section 12: be ready for data on any pair the peer checked
        # (its DTLS may start before our own check of this pair succeeds).
        self.valid_routes.add(route)

        pair.requests_received += 1
        pair.responses_sent += 1
        use_candidate = _USE_CANDIDATE in request and not self.controlling
        if use_candidate:
            pair.use_candidate_received = True
        # Triggered check, RFC 8445 section 7.3.1.4.
        if pair.state is PairState.SUCCEEDED:
            if use_candidate:
                self._nominate(pair, now)
        elif pair.state is not PairState.IN_PROGRESS:
            self._trigger(pair)

    def _learned_budget(self, now: float) -> bool:
        """Take one unit of the learned-pair budget (``learned_pair_limit``)."""
        if self.learned_pair_limit is None:
            return True
        count, interval = self.learned_pair_limit
        if now >= self._learned_window_start + interval:
            self._learned_window_start = now
            self._learned_in_window = 0
        if self._learned_in_window >= count:
            return False
        self._learned_in_window += 1
        return True

    def _switch_role(self, role: IceRole) -> None:
        self.role = role
        for pair in self.pairs:
            pair.priority = self._pair_priority(pair.local, pair.remote)
            if role is IceRole.CONTROLLED:
                pair.nominate_pending = False
        self.pairs.sort(key=lambda p: p.priority, reverse=True)
        self._consider_nomination(self._now)

    def _base_for_socket(self, socket_id: SocketId) -> Candidate | None:
        for entry in self._local:
            if entry.socket_id == socket_id and entry.is_base:
                return entry.candidate
        return None

    def _remote_by_address(self, address: Address) -> Candidate | None:
        for candidate in self.remote_candidates:
            if candidate.address == address[0] and candidate.port == address[1]:
                return candidate
        return None

    def _handle_response(
        self, response: StunMessage, now: float, socket_id: SocketId, remote_address: Address
    ) -> None:
        transaction_id = response.transaction_id
        consent = self._consent_requests.pop(transaction_id, None)
        if consent is not None:
            consent_pair, consent_key = consent
            if (
                response.message_class == MessageClass.SUCCESS
                and response.verify_integrity(consent_key)
                and consent_pair.route == (socket_id, remote_address)
            ):
                self._last_consent = now
                consent_pair.responses_received += 1
                consent_pair.current_round_trip_time = now - self._consent_sent_at
                self._next_consent = self._consent_sent_at + self._consent_delay()
                if self._next_consent <= now:
                    self._next_consent = now + self.consent_retry
                if self.state is IceState.DISCONNECTED:
                    complete = self._is_complete()
                    self._set_state(IceState.COMPLETED if complete else IceState.CONNECTED)
            return
        pair = self._transactions.get(transaction_id)
        if pair is None or self._remote_key is None:
            self.dropped += 1
            return
        if not response.verify_integrity(self._remote_key):
            self.dropped += 1
            return
        del self._transactions[transaction_id]
        transaction = pair.transaction
        pair.transaction = None
        pair.transaction_id = b""
        pair.responses_received += 1
        if transaction is not None:
            transaction.response_received(response.message_class == MessageClass.SUCCESS)
            if not transaction.retransmitted:
                pair.current_round_trip_time = now - transaction.started
        if response.message_class == MessageClass.ERROR:
            error = response.error_code
            if error is not None and error.code == 487:
                # RFC 8445 section 7.2.5.1: take the role opposite to the one
                # the request claimed (unless already switched) and retry.
                if pair.checked_as is self.role:
                    self._switch_role(
                        IceRole.CONTROLLED if self.controlling else IceRole.CONTROLLING
                    )
                pair.state = PairState.WAITING
                self._trigger(pair, nominate=pair.use_candidate_in_flight)
                pair.use_candidate_in_flight = False
            else:
                pair.state = PairState.FAILED
                pair.use_candidate_in_flight = False
                self._check_failed()
            return
        # Success: addresses must be symmetric (RFC 8445 section 7.2.5.2.1).
        if pair.route != (socket_id, remote_address):
            pair.state = PairState.FAILED
            pair.use_candidate_in_flight = False
            self._check_failed()
            return
        mapped = response.get_address(_XOR_MAPPED_ADDRESS)
        if mapped is not None and not any(
            (e.candidate.address, e.candidate.port) == mapped for e in self._local
        ):
            # A local peer-reflexive candidate (RFC 8445 section 7.2.5.3.1),
            # with the priority our request advertised. It is not signalled,
            # and sends from the base's socket: the pair's route is unchanged.
            self._learn_local_prflx(pair, mapped)
        pair.state = PairState.SUCCEEDED
        self.valid_routes.add(pair.route)
        for other in self.pairs:
            if other.state is PairState.FROZEN and other.foundation == pair.foundation:
                other.state = PairState.WAITING
        if pair.use_candidate_in_flight:
            pair.use_candidate_in_flight = False
            if self.controlling:
                self._nominate(pair, now)
            else:
                self._valid_pair_found(pair, now)
        elif pair.use_candidate_received and not self.controlling:
            self._nominate(pair, now)
        else:
            self._valid_pair_found(pair, now)
        self._update_completed()

    def _learn_local_prflx(self, pair: CandidatePair, mapped: Address) -> None:
        base = pair.local
        candidate = Candidate(
            foundation=self._foundations.setdefault(
                ("prflx", base.address, ""), str(len(self._foundations) + 1)
            ),
            component=1,
            transport="udp",
            priority=self._prflx_priority(base),
            address=mapped[0],
            port=mapped[1],
            type="prflx",
            related_address=base.address,
            related_port=base.port,
        )
        self._local.append(_LocalEntry(candidate, pair.socket_id, is_base=False))

    def _valid_pair_found(self, pair: CandidatePair, now: float) -> None:
        if self.selected_pair is None:
            # Usable before nomination; during an ICE restart the old selected
            # pair keeps carrying data until the new nomination instead.
            self._select(pair, now, nominated=False)
        self._consider_nomination(now)

    def _consider_nomination(self, now: float) -> None:
        """Regular nomination (RFC 8445 section 8.1.1) by the controlling agent.

        The best valid pair is nominated at once when no better pair is still
        being checked, else after ``nomination_delay``.
        """
        if not self.controlling or self._nominated_selected or self._nominating_any():
            return
        best = self._best_valid()
        if best is None:
            return
        better_pending = any(
            p.priority > best.priority
            and p.state in (PairState.WAITING, PairState.IN_PROGRESS, PairState.FROZEN)
            for p in self.pairs
        )
        if not better_pending:
            self._trigger(best, nominate=True)
        elif self._nomination_deadline is None:
            self._nomination_deadline = now + self.nomination_delay

    def _nominating_any(self) -> bool:
        return any(p.nominate_pending or p.use_candidate_in_flight for p in self.pairs)

    def _best_valid(self) -> CandidatePair | None:
        for pair in self.pairs:
            if pair.state is PairState.SUCCEEDED:
                return pair
        return None

    def _nominate(self, pair: CandidatePair, now: float) -> None:
        pair.nominated = True
        current = self.selected_pair
        if (
            self._nominated_selected
            and current is not None
            and current.priority >= pair.priority
            and current in self.pairs
        ):
            return
        self._select(pair, now, nominated=True)

    def _select(self, pair: CandidatePair, now: float, nominated: bool) -> None:
        changed = pair is not self.selected_pair
        previous = self.selected_pair
        self.selected_pair = pair
        if nominated:
            self._nominated_selected = True
            self._nomination_deadline = None
            self._consent_credentials = None
            # The restart is over: forget the previous credentials and routes.
            self._accepted_credentials = {self.local_ufrag: self.local_pwd.encode()}
            if previous is not None and previous is not pair and previous not in self.pairs:
                self.valid_routes.discard(previous.route)
        self.valid_routes.add(pair.route)
        if changed:
            self._events.append(
                SelectedPairChanged(pair.local, pair.remote, pair.socket_id, pair.remote_address)
            )
            self._last_consent = now
            self._next_consent = now + self._consent_delay()
        if self.state in (IceState.NEW, IceState.CHECKING, IceState.DISCONNECTED):
            self._set_state(IceState.CONNECTED)

    def _consent_delay(self) -> float:
        # RFC 7675 section 5.1: uniformly randomized in [0.8, 1.2] x interval.
        return self.consent_interval * (0.8 + 0.4 * self._rng.random())

    def _is_complete(self) -> bool:
        return (
            self._nominated_selected
            and self.remote_end_of_candidates
            and self.local_gathering_complete
            and not self._triggered
            and not self._transactions
        )

    def _update_completed(self) -> None:
        if self.state is IceState.CONNECTED and self._is_complete():
            self._set_state(IceState.COMPLETED)

    def _all_failed(self) -> bool:
        return (
            self.selected_pair is None
            and self.remote_end_of_candidates
            and not self._triggered
            and bool(self.pairs)
            and all(p.state is PairState.FAILED for p in self.pairs)
        )

    def _check_failed(self) -> None:
        """Every pair failed after end-of-candidates: fail after a grace period.

        The peer may still reach us (its checks create peer-reflexive pairs),
        so the failure waits ``failure_grace`` seconds; any new pair or
        success in the meantime cancels it.
        """
        if self._all_failed() and self._failure_deadline is None:
            self._failure_deadline = self._now + self.failure_grace

    # -- user data -----------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue a payload datagram on the selected pair (dropped when there is none)."""
        pair = self.selected_pair
        if pair is None or self.state in (IceState.FAILED, IceState.CLOSED):
            self.dropped += 1
            return
        self._outgoing.append((pair.socket_id, pair.remote_address, data))

    def datagrams_to_send(self, now: float) -> list[tuple[SocketId, Address, bytes]]:
        if now > self._now:
            self._now = now
        out, self._outgoing = self._outgoing, []
        return out

    def next_event(self) -> object | None:
        return self._events.popleft() if self._events else None

    # -- timers ----------------------------------------------------------------
    def get_timer(self) -> float | None:
        if self.state is IceState.CLOSED:
            return None
        deadline: float | None = None

        def consider(value: float | None) -> None:
            nonlocal deadline
            if value is not None and (deadline is None or value < deadline):
                deadline = value

        if self._next_check is not None and self._can_check():
            consider(self._next_check)
        for pair in self._transactions.values():
            if pair.transaction is not None:
                consider(pair.transaction.get_timer())
        consider(self._nomination_deadline)
        consider(self._failure_deadline)
        if self.selected_pair is not None and self.state is not IceState.FAILED:
            consider(self._next_consent)
            if self.state in (IceState.CONNECTED, IceState.COMPLETED):
                consider(self._last_consent + self.disconnected_timeout)
            consider(self._last_consent + self.consent_timeout)
        return deadline

    def handle_timer(self, now: float) -> None:
        if self.state is IceState.CLOSED:
            return
        if now > self._now:
            self._now = now
        # Retransmissions and timeouts of checks.
        for transaction_id, pair in list(self._transactions.items()):
            transaction = pair.transaction
            if transaction is None:
                continue
            transaction.handle_timer(now)
            for datagram in transaction.datagrams_to_send(now):
                self._outgoing.append((pair.socket_id, pair.remote_address, datagram))
                pair.requests_sent += 1
            if transaction.state is TransactionState.TIMED_OUT:
                del self._transactions[transaction_id]
                pair.transaction = None
                pair.transaction_id = b""
                if (
                    pair.use_candidate_in_flight
                    and pair.route in self.valid_routes
                    and pair.nomination_tries < self.nomination_attempts
                ):
                    # The nominating check of a valid pair went unanswered:
                    # the peer may have accepted it (only our responses were
                    # lost), so nominate the same pair again rather than
                    # another one the peer would rank below it.
                    pair.state = PairState.SUCCEEDED
                    pair.use_candidate_in_flight = False
                    self._trigger(pair, nominate=True)
                    continue
                pair.state = PairState.FAILED
                pair.use_candidate_in_flight = False
                self._check_failed()
                self._update_completed()
        if self._failure_deadline is not None and now >= self._failure_deadline:
            self._failure_deadline = None
            if self._all_failed():
                self._set_state(IceState.FAILED)
                return
        # One check per Ta.
        if self._next_check is not None and self._next_check <= now and self._can_check():
            choice = self._next_pair_to_check()
            if choice is not None:
                pair, nominate = choice
                self._send_check(pair, now, nominate)
            self._next_check = now + self.ta if self._has_check_work() else None
        # Regular nomination after the grace period.
        if self._nomination_deadline is not None and now >= self._nomination_deadline:
            self._nomination_deadline = None
            if self.controlling and not self._nominated_selected and not self._nominating_any():
                best = self._best_valid()
                if best is not None:
                    self._trigger(best, nominate=True)
        # Checks that finished may leave the best valid pair unopposed.
        if self._nomination_deadline is None:
            self._consider_nomination(now)
        # Consent freshness on the selected pair (RFC 7675).
        selected = self.selected_pair
        if selected is not None and self.state is not IceState.FAILED:
            # Compare against the very sums get_timer returns (float exactness).
            if now >= self._last_consent + self.consent_timeout:
                self._set_state(IceState.FAILED)
                return
            if now >= self._last_consent + self.disconnected_timeout and self.state in (
                IceState.CONNECTED,
                IceState.COMPLETED,
            ):
                self._set_state(IceState.DISCONNECTED)
            if self._next_consent is not None and now >= self._next_consent:
                self._send_consent(selected, now)
                # Until a response comes, retry every consent_retry (a lost
                # request or response must not cost a whole period); the
                # response moves the next check back to the regular period.
                self._next_consent = now + self.consent_retry
                self._consent_sent_at = now
        self._update_completed()

    def _send_consent(self, pair: CandidatePair, now: float) -> None:
        if self.remote_ufrag is not None and self._remote_key is not None:
            username = f"{self.remote_ufrag}:{self.local_ufrag}"
            key = self._remote_key
        elif self._consent_credentials is not None:
            # Mid-restart, before the peer's new credentials are known.
            username, key = self._consent_credentials
        else:
            return
        transaction_id = self._transaction_id()
        request = StunMessage(Method.BINDING, MessageClass.REQUEST, transaction_id)
        request.attributes.append((_USERNAME, username))
        request.attributes.append((_PRIORITY, self._prflx_priority(pair.local)))
        if self.controlling:
            request.attributes.append((_ICE_CONTROLLING, self.tie_breaker))
        else:
            request.attributes.append((_ICE_CONTROLLED, self.tie_breaker))
        if len(self._consent_requests) > 32:
            self._consent_requests.clear()
        self._consent_requests[transaction_id] = (pair, key)
        pair.requests_sent += 1
        self._outgoing.append(
            (pair.socket_id, pair.remote_address, request.encode(key, fingerprint=True))
        )

    # -- restart and close -----------------------------------------------------
    def restart(self, local_ufrag: str | None = None, local_pwd: str | None = None) -> None:
        self._previous_ufrag = self.local_ufrag
        self._restart(local_ufrag, local_pwd)

    def _restart(self, local_ufrag: str | None, local_pwd: str | None) -> None:
        """ICE restart (RFC 8445 section 9) with new local credentials.

        The selected pair keeps carrying data (and consent) until a pair of
        the new checklist is selected. The remote side's new credentials and
        candidates must then be given again; the local candidates are
        announced again (events) for the new offer or answer.
        """
        self.local_ufrag = local_ufrag or self._random_text(8)
        self.local_pwd = local_pwd or self._random_text(24)
        self._accepted_credentials[self.local_ufrag] = self.local_pwd.encode()
        if self.remote_ufrag is not None and self._remote_key is not None:
            previous_local = self._previous_ufrag
            self._consent_credentials = (f"{self.remote_ufrag}:{previous_local}", self._remote_key)
        self.remote_ufrag = None
        self.remote_pwd = None
        self._remote_key = None
        self.remote_candidates = []
        self.remote_end_of_candidates = False
        self.pairs = []
        self._pairs_by_route = {}
        self._triggered.clear()
        self._transactions = {}
        self._next_check = None
        self._nomination_deadline = None
        self._nominated_selected = False
        self._failure_deadline = None
        if self.state is IceState.FAILED:
            # Nothing to keep: the old pair lost consent (or never existed).
            self.selected_pair = None
            self._consent_credentials = None
            self._next_consent = None
        self.valid_routes = {self.selected_pair.route} if self.selected_pair is not None else set()
        for entry in self._local:
            if entry.candidate.type != "prflx":  # learned, never signalled
                self._events.append(LocalCandidateGathered(entry.candidate))
        if self.local_gathering_complete:
            self._events.append(GatheringComplete())
        if self.state is IceState.COMPLETED:
            self._set_state(IceState.CONNECTED)  # checking again, still usable
        elif self.state is IceState.FAILED:
            self._set_state(IceState.CHECKING)

    def close(self) -> None:
        self._set_state(IceState.CLOSED)
        self._transactions = {}
        self._triggered.clear()
        self.selected_pair = None
        self.valid_routes = set()
