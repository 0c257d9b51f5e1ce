"""The composed stack under hostile datagrams, over real loopback sockets.

Two of our peer connections connect and move data both ways on a reliable
channel while an attacker on 127.0.0.1 throws seeded garbage at the peers'
selected local UDP ports, from two places:

- its own socket (an off-path attacker): random bytes of every RFC 7983
  first-byte class, truncated and bit-flipped copies of real STUN Binding
  requests, requests with a wrong or missing MESSAGE-INTEGRITY or a wrong
  USERNAME, forged DTLS records, replays of datagrams the peers really
  exchanged (including the controlling agent's nominating checks, an attempt
  to make the controlled agent move its pair to the attacker), huge and empty
  datagrams;
- a spoofed source (the other peer's own address, forged with a raw socket as
  root, else sent through a duplicate of that peer's socket): the same
  garbage plus DTLS records with the live epoch and the right header but a
  bad tag, and replays of the real DTLS records, which reach DTLS itself.

Asserted: the transfer completes byte-exact, no exception reaches the event
loop, both peers stay ``connected``, neither selected pair moves to the
attacker's address, and the per-layer drop counters (ICE agent ``dropped``,
DTLS ``auth_failures`` / ``replays``) count what was thrown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import socket
import struct
from typing import Any

import pytest

from tests.peerconnection.helpers import loopback, wait_for
from webrtc.ice.stun import AttributeType, MessageClass, Method, StunMessage
from webrtc.peerconnection import RTCPeerConnection

SEED = 20261126
Address = tuple[str, int]

# RFC 7983 first-byte classes (section 7), and the gaps between them.
FIRST_BYTE_CLASSES = [(0, 3), (4, 15), (16, 19), (20, 63), (64, 79), (80, 127),
                      (128, 191), (192, 255)]


class Tap:
    """What one peer received: STUN (and unvalidated) datagrams and payloads."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        connection = pc._transport.connection
        assert connection is not None
        self.stun: list[bytes] = []
        self.payload: list[bytes] = []
        agent = connection.agent
        receive = agent.receive_datagram
        on_payload = connection.on_payload
        assert on_payload is not None

        def tap_stun(data: bytes, now: float, socket_id: Any, address: Address) -> None:
            self.stun.append(bytes(data))
            receive(data, now, socket_id, address)

        def tap_payload(data: bytes) -> None:
            self.payload.append(bytes(data))
            on_payload(data)

        agent.receive_datagram = tap_stun  # type: ignore[method-assign, assignment]
        connection.on_payload = tap_payload


class SpoofedSender:
    """Datagrams to 127.0.0.1 that carry another socket's source address."""

    def __init__(self, source: Address, peer_socket: socket.socket) -> None:
        self.source = source
        self.raw: socket.socket | None = None
        self.dup: socket.socket | None = None
        try:
            # IPPROTO_UDP raw socket: the kernel writes the IP header, we the
            # UDP one (checksum 0: "none", legal over IPv4, RFC 768).
            self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
            self.raw.setblocking(False)
        except PermissionError:
            self.dup = socket.socket(fileno=os.dup(peer_socket.fileno()))
            self.dup.setblocking(False)

    def sendto(self, data: bytes, address: Address) -> None:
        with contextlib.suppress(BlockingIOError):
            if self.raw is not None:
                header = struct.pack("!HHHH", self.source[1], address[1], 8 + len(data), 0)
                self.raw.sendto(header + data, (address[0], 0))
            else:
                assert self.dup is not None
                self.dup.sendto(data, address)

    def close(self) -> None:
        for sock in (self.raw, self.dup):
            if sock is not None:
                sock.close()


class Attacker:
    """Seeded generator of hostile datagrams aimed at one peer."""

    def __init__(self, rng: random.Random, *, ufrag: str, pwd: str, remote_ufrag: str,
                 captured_stun: list[bytes], captured_dtls: list[bytes]) -> None:
        self.rng = rng
        self.ufrag = ufrag  # the target's
        self.pwd = pwd  # the target's (the key of requests sent to it)
        self.remote_ufrag = remote_ufrag
        self.captured_stun = captured_stun  # real requests the target accepted
        self.captured_dtls = captured_dtls  # real DTLS datagrams the target received
        self.kinds: dict[str, int] = {}

    def _count(self, kind: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def random_bytes(self) -> bytes:
        first, last = self.rng.choice(FIRST_BYTE_CLASSES)
        size = self.rng.randint(1, 1400)
        self._count(f"random[{first}-{last}]")
        return bytes([self.rng.randint(first, last)]) + self.rng.randbytes(size - 1)

    def binding_request(self, *, username: str | None, key: bytes | None) -> bytes:
        request = StunMessage(Method.BINDING, MessageClass.REQUEST,
                              transaction_id=self.rng.randbytes(12))
        if username is not None:
            request.add(AttributeType.USERNAME, username)
        request.add(AttributeType.PRIORITY, 0x7EFFFFFF)
        request.add(AttributeType.ICE_CONTROLLED, self.rng.getrandbits(64))
        return request.encode(key, fingerprint=True)

    def stun(self) -> bytes:
        good_name = f"{self.ufrag}:{self.remote_ufrag}"
        choice = self.rng.randrange(6)
        if choice == 0:
            self._count("stun-bad-integrity")  # valid-looking USERNAME, wrong password
            return self.binding_request(username=good_name, key=self.rng.randbytes(22))
        if choice == 1:
            self._count("stun-no-integrity")
            return self.binding_request(username=good_name, key=None)
        if choice == 2:
            self._count("stun-wrong-username")
            return self.binding_request(username=f"x{self.ufrag}:{self.remote_ufrag}",
                                        key=self.pwd.encode())
        if not self.captured_stun:  # nothing captured yet: an unsigned request
            self._count("stun-no-integrity")
            return self.binding_request(username=good_name, key=None)
        real = self.rng.choice(self.captured_stun)
        if choice == 3:
            self._count("stun-truncated")
            return real[:self.rng.randrange(0, len(real))]
        if choice == 4:
            self._count("stun-bit-flipped")
            flipped = bytearray(real)
            bit = self.rng.randrange(len(flipped) * 8)
            flipped[bit // 8] ^= 1 << (bit % 8)
            return bytes(flipped)
        self._count("stun-replayed")
        return real

    def forged_dtls(self) -> bytes:
        """An epoch-1 application-data record, header right, tag wrong."""
        top = 0
        for data in self.captured_dtls[-50:]:
            if len(data) >= 13 and data[0] == 23:
                top = max(top, int.from_bytes(data[3:11], "big") & (1 << 48) - 1)
        seq = max(0, top + self.rng.randint(-20, 2000))
        body = self.rng.randbytes(self.rng.randint(8 + 16, 1200))
        self._count("dtls-bad-tag")
        return struct.pack("!BHHHIH", 23, 0xFEFD, 1, seq >> 32, seq & 0xFFFFFFFF,
                           len(body)) + body

    def other_dtls(self) -> bytes:
        """Records the peer must ignore: epoch 0 (no keys), unknown epochs, bad versions."""
        choice = self.rng.randrange(5)
        seq = self.rng.getrandbits(48)
        if choice == 4:
            # A well-formed fragment of an early message_seq: looks like the
            # peer retransmitting its flight (RFC 6347 section 4.2.4).
            self._count("dtls-epoch0-old-fragment")
            body = self.rng.randbytes(self.rng.randint(0, 100))
            size = len(body).to_bytes(3, "big")
            fragment = struct.pack("!B3sH3s3s", self.rng.choice([1, 2, 11, 12, 14, 16, 20]),
                                   size, self.rng.randint(0, 3), b"\0\0\0", size) + body
            return struct.pack("!BHHHIH", 22, 0xFEFD, 0, seq >> 32, seq & 0xFFFFFFFF,
                               len(fragment)) + fragment
        if choice == 0:
            self._count("dtls-epoch0-fatal-alert")
            body = bytes([2, self.rng.choice([10, 20, 40, 80])])
            return struct.pack("!BHHHIH", 21, 0xFEFD, 0, seq >> 32, seq & 0xFFFFFFFF, 2) + body
        if choice == 1:
            self._count("dtls-epoch0-handshake")
            body = self.rng.randbytes(self.rng.randint(12, 300))
            return struct.pack("!BHHHIH", 22, 0xFEFD, 0, seq >> 32, seq & 0xFFFFFFFF,
                               len(body)) + body
        if choice == 2:
            self._count("dtls-unknown-epoch")
            body = self.rng.randbytes(64)
            return struct.pack("!BHHHIH", 23, 0xFEFD, self.rng.randint(2, 0xFFFF),
                               seq >> 32, seq & 0xFFFFFFFF, len(body)) + body
        self._count("dtls-bad-length")
        body = self.rng.randbytes(40)
        return struct.pack("!BHHHIH", 23, 0xFEFD, 1, seq >> 32, seq & 0xFFFFFFFF,
                           len(body) + self.rng.randint(1, 500)) + body

    def replayed_dtls(self) -> bytes:
        self._count("dtls-replayed")
        return self.rng.choice(self.captured_dtls)

    def edge(self) -> bytes:
        if self.rng.random() < 0.5:
            self._count("empty")
            return b""
        self._count("huge")
        return bytes([self.rng.randrange(256)]) + self.rng.randbytes(65507 - 1)

    def datagram(self) -> bytes:
        roll = self.rng.random()
        if roll < 0.25:
            return self.random_bytes()
        if roll < 0.50:
            return self.stun()
        if roll < 0.70:
            return self.forged_dtls()
        if roll < 0.80:
            return self.other_dtls()
        if roll < 0.95 and self.captured_dtls:
            return self.replayed_dtls()
        return self.edge()


async def _local_and_selected(pc: RTCPeerConnection) -> tuple[Address, Address]:
    """(selected local address, selected remote address) from getStats()."""
    report = await pc.getStats()
    transport = report.of_type("transport")[0]
    pair = report[transport["selectedCandidatePairId"]]
    local = report[pair["localCandidateId"]]
    remote = report[pair["remoteCandidateId"]]
    return (local["address"], local["port"]), (remote["address"], remote["port"])


SEEDS = [int(seed) for seed in os.environ.get("HOSTILE_SEEDS", "").split(",") if seed] or [
    SEED, SEED + 1, SEED + 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_transfer_survives_hostile_datagrams(seed: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop_errors: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
        rng = random.Random(seed)

        offerer, answerer = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())
        states: dict[str, list[str]] = {"offerer": [], "answerer": []}
        offerer.on("connectionstatechange",
                   lambda: states["offerer"].append(offerer.connectionState))
        answerer.on("connectionstatechange",
                    lambda: states["answerer"].append(answerer.connectionState))
        channel = offerer.createDataChannel("hostile")
        remote_channels: list[Any] = []
        answerer.on("datachannel", remote_channels.append)
        await offerer.setLocalDescription(await offerer.createOffer())
        offer_tap = Tap(offerer)
        assert offerer.localDescription is not None
        await answerer.setRemoteDescription(offerer.localDescription)
        answer_tap = Tap(answerer)
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert answerer.localDescription is not None
        await offerer.setRemoteDescription(answerer.localDescription)
        await wait_for(lambda: channel.readyState == "open" and bool(remote_channels))
        theirs = remote_channels[0]
        assert offerer.connectionState == answerer.connectionState == "connected"

        offer_local, offer_remote = await _local_and_selected(offerer)
        answer_local, answer_remote = await _local_and_selected(answerer)
        assert offer_remote == answer_local and answer_remote == offer_local

        # Real authenticated checks each peer accepted (those the offerer, the
        # controlling agent, sent carry USE-CANDIDATE): replayed from elsewhere.
        def requests(tap: Tap, ufrag: str) -> list[bytes]:
            found = []
            for data in tap.stun:
                with contextlib.suppress(Exception):
                    message = StunMessage.parse(data)
                    if (message.message_class == MessageClass.REQUEST
                            and str(message.get_str(AttributeType.USERNAME)).startswith(ufrag)):
                        found.append(data)
            return found

        def nominated() -> bool:
            return any(AttributeType.USE_CANDIDATE in StunMessage.parse(data)
                       for data in requests(answer_tap, answerer._ice_ufrag))

        # Regular nomination follows the first valid pair after a delay.
        await wait_for(nominated, timeout=5)
        offer_requests = requests(offer_tap, offerer._ice_ufrag)
        answer_requests = requests(answer_tap, answerer._ice_ufrag)
        assert offer_requests, "no check of the answerer captured"

        attacker_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attacker_sock.bind(("127.0.0.1", 0))
        attacker_sock.setblocking(False)
        attacker_address = attacker_sock.getsockname()
        assert offerer._transport.connection is not None
        assert answerer._transport.connection is not None
        # The selected sockets, only used (duplicated) if raw sockets are refused.
        offer_sock = next(s for s in offerer._transport.connection._sockets.values()
                          if s.getsockname()[1] == offer_local[1])
        answer_sock = next(s for s in answerer._transport.connection._sockets.values()
                           if s.getsockname()[1] == answer_local[1])
        as_answerer = SpoofedSender(answer_local, answer_sock)  # towards the offerer
        as_offerer = SpoofedSender(offer_local, offer_sock)  # towards the answerer

        # Each target's attacker: the target's credentials (public in its SDP,
        # the password only to sign the "wrong username" variant).
        against_offerer = Attacker(
            rng, ufrag=offerer._ice_ufrag, pwd=offerer._ice_pwd,
            remote_ufrag=answerer._ice_ufrag, captured_stun=offer_requests,
            captured_dtls=offer_tap.payload)
        against_answerer = Attacker(
            rng, ufrag=answerer._ice_ufrag, pwd=answerer._ice_pwd,
            remote_ufrag=offerer._ice_ufrag, captured_stun=answer_requests,
            captured_dtls=answer_tap.payload)
        offer_dtls, answer_dtls = offerer._transport.dtls, answerer._transport.dtls
        assert offer_dtls is not None and answer_dtls is not None
        offer_agent = offerer._transport.connection.agent
        answer_agent = answerer._transport.connection.agent
        before = {
            "offer_auth": offer_dtls.stats.auth_failures,
            "answer_auth": answer_dtls.stats.auth_failures,
            "offer_replays": offer_dtls.stats.replays,
            "answer_replays": answer_dtls.stats.replays,
            "offer_dropped": offer_agent.dropped,
            "answer_dropped": answer_agent.dropped,
        }
        responses: list[bytes] = []

        forged_responses = 0

        def drain_attacker() -> None:
            """Keep what the peers answered; answer their checks with forgeries.

            A replayed check makes the target check the attacker's address back
            (a triggered check, RFC 8445 section 7.3.1.4); the attacker cannot
            sign a response (it lacks the password), so it sends unsigned and
            wrongly signed successes, which must not validate that pair.
            """
            nonlocal forged_responses
            with contextlib.suppress(BlockingIOError):
                while True:
                    data, source = attacker_sock.recvfrom(65536)
                    responses.append(data)
                    try:
                        check = StunMessage.parse(data)
                    except Exception:
                        continue
                    if check.message_class != MessageClass.REQUEST:
                        continue
                    for key in (None, rng.randbytes(22)):
                        response = StunMessage(Method.BINDING, MessageClass.SUCCESS,
                                               transaction_id=check.transaction_id)
                        response.add(AttributeType.XOR_MAPPED_ADDRESS, source)
                        attacker_sock.sendto(response.encode(key, fingerprint=True), source)
                        forged_responses += 1

        received_there: list[bytes] = []
        received_here: list[bytes] = []
        theirs.on("message", received_there.append)
        channel.on("message", received_here.append)
        messages = [hashlib.sha256(f"{seed}-{i}".encode()).digest() * (1 + i % 300)
                    for i in range(120)]
        replies = [hashlib.sha256(f"reply-{i}".encode()).digest() * (1 + i % 200)
                   for i in range(120)]
        thrown = {"direct": 0, "spoofed": 0}
        forged_spoofed = {offer_local: 0, answer_local: 0}  # bad-tag records, live epoch
        for round_index in range(60):
            for i in range(round_index * 2, round_index * 2 + 2):
                channel.send(messages[i])
                theirs.send(replies[i])
            for _ in range(10):
                for attacker, target, spoofer in (
                        (against_offerer, offer_local, as_answerer),
                        (against_answerer, answer_local, as_offerer)):
                    data = attacker.datagram()
                    with contextlib.suppress(BlockingIOError):
                        attacker_sock.sendto(data, target)
                    thrown["direct"] += 1
                    if rng.random() < 0.5:
                        spoofer.sendto(attacker.forged_dtls(), target)
                        forged_spoofed[target] += 1
                    elif len(data) <= 65507 - 8 or spoofer.raw is None:
                        spoofer.sendto(data, target)
                    thrown["spoofed"] += 1
            drain_attacker()
            await asyncio.sleep(0.002)
            assert offerer.connectionState == answerer.connectionState == "connected", \
                (round_index, states)

        await wait_for(lambda: len(received_there) == len(messages)
                       and len(received_here) == len(replies), timeout=20)
        drain_attacker()
        assert received_there == messages
        assert received_here == replies
        assert not loop_errors, loop_errors
        assert offerer.connectionState == answerer.connectionState == "connected"
        assert states == {"offerer": ["connecting", "connected"],
                          "answerer": ["connecting", "connected"]}, states
        # Neither selected pair moved (to the attacker or anywhere else).
        assert await _local_and_selected(offerer) == (offer_local, offer_remote)
        assert await _local_and_selected(answerer) == (answer_local, answer_remote)
        for agent in (offer_agent, answer_agent):
            assert agent.selected_pair is not None
            assert agent.selected_pair.remote.port != attacker_address[1]

        # The drops were counted where they happened.
        # Every forged record from the peer's own address reached DTLS (loopback
        # loses nothing unless a socket buffer overflows: half is the floor).
        assert offer_dtls.stats.auth_failures - before["offer_auth"] \
            >= forged_spoofed[offer_local] // 2 > 50, (offer_dtls.stats, forged_spoofed)
        assert answer_dtls.stats.auth_failures - before["answer_auth"] \
            >= forged_spoofed[answer_local] // 2 > 50, (answer_dtls.stats, forged_spoofed)
        assert offer_dtls.stats.replays - before["offer_replays"] > 10, offer_dtls.stats
        assert answer_dtls.stats.replays - before["answer_replays"] > 10, answer_dtls.stats
        assert offer_agent.dropped - before["offer_dropped"] > 100
        assert answer_agent.dropped - before["answer_dropped"] > 100
        # RTP/RTCP-class and other non-DTLS payload on a valid route: no RTP here.
        assert offerer._transport.dropped_other > 10
        assert answerer._transport.dropped_other > 10
        # The bad-integrity / no-integrity requests were refused (401 / 400).
        assert forged_responses > 0  # the replayed nominating check drew a triggered check
        codes = set()
        for data in responses:
            with contextlib.suppress(Exception):
                error = StunMessage.parse(data).error_code
                if error is not None:
                    codes.add(error.code)
        assert {400, 401} <= codes, codes

        attacker_sock.close()
        as_answerer.close()
        as_offerer.close()
        await offerer.close()
        await answerer.close()
        await asyncio.sleep(0.05)
        assert not loop_errors, loop_errors

    asyncio.run(asyncio.wait_for(main(), 60))


def test_replayed_check_from_many_addresses_stays_bounded() -> None:
    """A real check replayed from 150 source ports: bounded state, pair kept.

    Regression: the controlled agent recorded a peer-reflexive remote
    candidate and a valid route for every new source address of an
    authenticated request even once the pair list was full (RFC 8445
    section 6.1.2.5: 100 pairs), so one captured check replayed from ever new
    ports grew both without bound (and each lookup of a remote candidate by
    address is a scan of that list).
    """
    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop_errors: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
        offerer, answerer = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())
        channel = offerer.createDataChannel("replay")
        remote_channels: list[Any] = []
        answerer.on("datachannel", remote_channels.append)
        await offerer.setLocalDescription(await offerer.createOffer())
        assert offerer.localDescription is not None
        await answerer.setRemoteDescription(offerer.localDescription)
        tap = Tap(answerer)
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert answerer.localDescription is not None
        await offerer.setRemoteDescription(answerer.localDescription)
        await wait_for(lambda: channel.readyState == "open" and bool(remote_channels))
        checks = [data for data in tap.stun if data[0] < 4 and StunMessage.parse(data)
                  .message_class == MessageClass.REQUEST]
        assert checks
        answer_local, answer_remote = await _local_and_selected(answerer)
        connection = answerer._transport.connection
        assert connection is not None
        agent = connection.agent

        sockets = []
        for index in range(150):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            sock.sendto(checks[index % len(checks)], answer_local)
            sockets.append(sock)
            if index % 25 == 24:
                await asyncio.sleep(0.01)
        await wait_for(lambda: len(agent.pairs) == 100)
        await asyncio.sleep(0.1)
        assert len(agent.pairs) <= 100
        assert len(agent.remote_candidates) <= 100, len(agent.remote_candidates)
        assert len(agent.valid_routes) <= 100, len(agent.valid_routes)
        # The flood did reach the agent: the pair list is full of the replays.
        assert len(agent.pairs) == 100

        received: list[bytes] = []
        remote_channels[0].on("message", received.append)
        channel.send(b"still here")
        await wait_for(lambda: received == [b"still here"])
        assert await _local_and_selected(answerer) == (answer_local, answer_remote)
        assert answerer.connectionState == "connected"
        for sock in sockets:
            sock.close()
        await offerer.close()
        await answerer.close()
        assert not loop_errors, loop_errors

    asyncio.run(asyncio.wait_for(main(), 30))


@pytest.mark.parametrize("seed", SEEDS)
def test_connection_is_established_through_hostile_datagrams(seed: int) -> None:
    """The flood starts as soon as the answerer's socket exists: ICE checks,
    the DTLS handshake and the SCTP association all run under it.

    Sources: the attacker's own socket (everything but captured replays:
    nothing is captured yet), and the offerer's spoofed address with
    non-DTLS garbage and forged epoch-1 records (an unauthenticated epoch-0
    record from the peer's own address can legitimately end a DTLS 1.2
    handshake, so that is not thrown here).
    """
    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop_errors: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
        rng = random.Random(seed)
        offerer, answerer = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())
        states: dict[str, list[str]] = {"offerer": [], "answerer": []}
        offerer.on("connectionstatechange",
                   lambda: states["offerer"].append(offerer.connectionState))
        answerer.on("connectionstatechange",
                    lambda: states["answerer"].append(answerer.connectionState))
        channel = offerer.createDataChannel("hostile-setup")
        remote_channels: list[Any] = []
        answerer.on("datachannel", remote_channels.append)
        await offerer.setLocalDescription(await offerer.createOffer())
        assert offerer.localDescription is not None
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert answerer.localDescription is not None
        offer_candidate = offerer._transport.local_candidates[0]
        answer_candidate = answerer._transport.local_candidates[0]
        offer_address = (offer_candidate.address, offer_candidate.port)
        answer_address = (answer_candidate.address, answer_candidate.port)
        attacker_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attacker_sock.bind(("127.0.0.1", 0))
        attacker_sock.setblocking(False)
        connection = offerer._transport.connection
        assert connection is not None
        offer_sock = next(iter(connection._sockets.values()))
        as_offerer = SpoofedSender(offer_address, offer_sock)
        attackers = [
            (Attacker(rng, ufrag=answerer._ice_ufrag, pwd="", remote_ufrag=offerer._ice_ufrag,
                      captured_stun=[], captured_dtls=[]), answer_address),
            (Attacker(rng, ufrag=offerer._ice_ufrag, pwd="", remote_ufrag=answerer._ice_ufrag,
                      captured_stun=[], captured_dtls=[]), offer_address),
        ]
        flooding = True
        thrown = 0

        async def flood() -> None:
            nonlocal thrown
            while flooding:
                for attacker, target in attackers:
                    for _ in range(30):
                        data = attacker.datagram()
                        with contextlib.suppress(BlockingIOError):
                            attacker_sock.sendto(data, target)
                        thrown += 1
                    spoofed = attackers[0][0]
                    for _ in range(8):
                        data = spoofed.random_bytes()
                        if 19 < data[0] < 64:
                            data = spoofed.forged_dtls()
                        as_offerer.sendto(data, answer_address)
                        thrown += 1
                with contextlib.suppress(BlockingIOError):
                    while True:
                        attacker_sock.recv(65536)
                await asyncio.sleep(0.001)

        flood_task = asyncio.create_task(flood())
        await offerer.setRemoteDescription(answerer.localDescription)
        await wait_for(lambda: channel.readyState == "open" and bool(remote_channels))
        received: list[bytes] = []
        remote_channels[0].on("message", received.append)
        messages = [hashlib.sha256(f"setup-{seed}-{i}".encode()).digest() * (1 + i % 100)
                    for i in range(50)]
        for message in messages:
            channel.send(message)
        await wait_for(lambda: len(received) == len(messages))
        flooding = False
        await flood_task
        assert received == messages
        assert thrown > 300, thrown
        assert states == {"offerer": ["connecting", "connected"],
                          "answerer": ["connecting", "connected"]}, states
        assert await _local_and_selected(offerer) == (offer_address, answer_address)
        assert await _local_and_selected(answerer) == (answer_address, offer_address)
        answer_dtls = answerer._transport.dtls
        assert answer_dtls is not None
        assert answer_dtls.stats.auth_failures + answer_dtls.stats.unexpected > 0
        assert not loop_errors, loop_errors
        attacker_sock.close()
        as_offerer.close()
        await offerer.close()
        await answerer.close()

    asyncio.run(asyncio.wait_for(main(), 60))
