"""One data-channel conversation, run by any peer with the aiortc-style API.

The same checks run between two Python peers (ours against aiortc, either
side offering) and between a Python peer and Chromium, whose page
(``browser_page.html``) implements the same conversation in JavaScript:

- the offerer creates the channel ``main`` before the offer;
- when ``main`` opens, each side sends on it a text message, a 1,000-byte
  binary message and a 256 KiB binary message, which the other side checks;
- each side opens 20 ordered channels ``<side>-<i>`` and one unordered
  ``maxRetransmits=0`` channel ``<side>-unordered``; on each it sends
  ``hello <label>``, which the other side echoes back as ``echo:hello <label>``;
  the receiving side checks the channel's label, ordering and retransmits;
- the opener closes ``<side>-0`` after its echo, and the other side must see
  that channel close;
- when a side has seen everything it sends ``done`` on ``main``; once both
  sides are done the offerer closes ``main`` and both sides must see it close.

Signaling is any pair of ``send(dict)`` / ``recv() -> dict`` coroutines
carrying ``{"type": "offer"|"answer", "sdp": ...}`` and
``{"type": "candidate", "candidate": str|None, "sdpMid": ..., "sdpMLineIndex": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

CHANNELS_PER_SIDE = 20
LARGE_SIZE = 256 * 1024
SMALL_SIZE = 1000

Send = Callable[[dict[str, Any]], Awaitable[None]]
Recv = Callable[[], Awaitable[dict[str, Any]]]


def pattern(size: int, seed: int) -> bytes:
    """Deterministic bytes that a truncation or reordering would change."""
    block = bytes((i * 7 + seed) % 251 for i in range(251 * 4))
    return (block * (size // len(block) + 1))[:size]


@dataclass
class Api:
    """What differs between aiortc and our facade for this scenario."""

    name: str
    RTCPeerConnection: Any
    RTCSessionDescription: Any
    candidate_from_message: Callable[[dict[str, Any]], Any]
    candidate_to_message: Callable[[Any], dict[str, Any]] | None  # None: no trickle


def aiortc_api() -> Api:
    """aiortc, gathering on 127.0.0.1 only.

    aioice leaves loopback out of its host candidates; tests must stay on
    127.0.0.1 (and inside a browser test's namespace it is the only address),
    so its address lookup is replaced for this process.
    """
    import aioice.ice
    import aiortc
    from aiortc.sdp import candidate_from_sdp

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

    def from_message(message: dict[str, Any]) -> Any:
        text = message.get("candidate")
        if not text:
            return None
        candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:")
                                       else text)
        candidate.sdpMid = message.get("sdpMid")
        candidate.sdpMLineIndex = message.get("sdpMLineIndex")
        return candidate

    return Api("aiortc", aiortc.RTCPeerConnection, aiortc.RTCSessionDescription,
               from_message, None)


def our_api() -> Api:
    from webrtc import peerconnection as pc

    def from_message(message: dict[str, Any]) -> Any:
        if not message.get("candidate"):
            return None
        return pc.RTCIceCandidate.from_dict(message)

    def to_message(candidate: Any) -> dict[str, Any]:
        if candidate is None:
            return {"type": "candidate", "candidate": None}
        return {"type": "candidate", **candidate.to_dict()}

    return Api("webrtc", pc.RTCPeerConnection, pc.RTCSessionDescription,
               from_message, to_message)


@dataclass
class Checks:
    """What one side observed; ``failures`` lists what went wrong."""

    side: str
    main_text: bool = False
    main_binary: bool = False
    main_large: bool = False
    remote_channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    hellos: set[str] = field(default_factory=set)
    echoes: set[str] = field(default_factory=set)
    remote_zero_closed: bool = False
    own_zero_closed: bool = False
    main_closed: bool = False
    failures: list[str] = field(default_factory=list)
    seconds_to_open: float | None = None

    def complete(self, other: str) -> bool:
        wanted = expected_labels(other)
        return (self.main_text and self.main_binary and self.main_large
                and set(self.remote_channels) >= wanted and self.hellos >= wanted
                and self.echoes >= expected_labels(self.side)
                and self.remote_zero_closed and self.own_zero_closed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "side": self.side, "main_text": self.main_text, "main_binary": self.main_binary,
            "main_large": self.main_large, "remote_channels": len(self.remote_channels),
            "hellos": len(self.hellos), "echoes": len(self.echoes),
            "remote_zero_closed": self.remote_zero_closed,
            "own_zero_closed": self.own_zero_closed, "main_closed": self.main_closed,
            "failures": self.failures, "seconds_to_open": self.seconds_to_open,
        }


def expected_labels(side: str) -> set[str]:
    return {f"{side}-{i}" for i in range(CHANNELS_PER_SIDE)} | {f"{side}-unordered"}


async def run_peer(api: Api, *, side: str, other: str, offerer: bool, send: Send, recv: Recv,
                   timeout: float = 30.0, stats_into: dict[str, Any] | None = None) -> Checks:
    """Run one side of the conversation; returns what it observed."""
    checks = Checks(side)
    start = time.monotonic()
    pc = api.RTCPeerConnection()
    both_done = asyncio.Event()
    main_closed = asyncio.Event()
    state = {"sent_done": False, "got_done": False}
    pending_candidates: list[dict[str, Any]] = []
    description_sent = False
    sending: set[asyncio.Future[None]] = set()

    def fail(text: str) -> None:
        checks.failures.append(text)

    def maybe_done(main: Any) -> None:
        if not state["sent_done"] and checks.complete(other):
            state["sent_done"] = True
            main.send("done")
        if state["sent_done"] and state["got_done"]:
            both_done.set()

    def on_main_message(main: Any, message: Any) -> None:
        if message == f"text from {other}":
            checks.main_text = True
        elif message == "done":
            state["got_done"] = True
        elif isinstance(message, bytes) and len(message) == SMALL_SIZE:
            checks.main_binary = message == pattern(SMALL_SIZE, 1)
            if not checks.main_binary:
                fail("1000-byte message corrupted")
        elif isinstance(message, bytes) and len(message) == LARGE_SIZE:
            checks.main_large = message == pattern(LARGE_SIZE, 2)
            if not checks.main_large:
                fail("256 KiB message corrupted")
        else:
            fail(f"unexpected message on main: {message!r:.60}")
        maybe_done(main)

    def open_own_channels(main: Any) -> None:
        labels = sorted(expected_labels(side))
        for label in labels:
            if label.endswith("-unordered"):
                channel = pc.createDataChannel(label, ordered=False, maxRetransmits=0)
            else:
                channel = pc.createDataChannel(label)
            watch_own_channel(main, channel)

    def watch_own_channel(main: Any, channel: Any) -> None:
        label = channel.label

        @channel.on("open")
        def on_open() -> None:
            channel.send(f"hello {label}")
            if not channel.ordered:
                # maxRetransmits=0 may lose the hello or its echo: repeat until echoed.
                asyncio.get_running_loop().call_later(0.2, repeat_hello)

        def repeat_hello() -> None:
            if label not in checks.echoes and channel.readyState == "open":
                channel.send(f"hello {label}")
                asyncio.get_running_loop().call_later(0.2, repeat_hello)

        @channel.on("message")
        def on_message(message: Any) -> None:
            if message != f"echo:hello {label}":
                fail(f"bad echo on {label}: {message!r:.60}")
                return
            if label in checks.echoes:
                return  # a repeated hello's echo
            checks.echoes.add(label)
            if label == f"{side}-0":
                channel.close()
            maybe_done(main)

        @channel.on("close")
        def on_close() -> None:
            if label == f"{side}-0":
                checks.own_zero_closed = True
                maybe_done(main)

    def start_main(main: Any) -> None:
        checks.seconds_to_open = time.monotonic() - start
        main.send(f"text from {side}")
        main.send(pattern(SMALL_SIZE, 1))
        main.send(pattern(LARGE_SIZE, 2))
        open_own_channels(main)

    main_holder: list[Any] = []

    def watch_main(main: Any) -> None:
        main_holder.append(main)

        @main.on("message")
        def on_message(message: Any) -> None:
            on_main_message(main, message)

        @main.on("close")
        def on_close() -> None:
            checks.main_closed = True
            main_closed.set()

    @pc.on("datachannel")
    def on_datachannel(channel: Any) -> None:
        label = channel.label
        if label == "main":
            watch_main(channel)
            if channel.readyState == "open":
                start_main(channel)
            else:
                channel.on("open", lambda: start_main(channel))
            return
        unordered = label.endswith("-unordered")
        properties = {"ordered": channel.ordered, "maxRetransmits": channel.maxRetransmits}
        wanted = {"ordered": not unordered, "maxRetransmits": 0 if unordered else None}
        if properties != wanted:
            fail(f"{label}: properties {properties}, expected {wanted}")
        checks.remote_channels[label] = properties

        @channel.on("message")
        def on_message(message: Any) -> None:
            if message != f"hello {label}":
                fail(f"bad hello on {label}: {message!r:.60}")
                return
            checks.hellos.add(label)
            channel.send(f"echo:{message}")
            if main_holder:
                maybe_done(main_holder[0])

        @channel.on("close")
        def on_close() -> None:
            if label == f"{other}-0":
                checks.remote_zero_closed = True
                if main_holder:
                    maybe_done(main_holder[0])

    async def send_candidate(message: dict[str, Any]) -> None:
        if description_sent:
            await send(message)
        else:
            pending_candidates.append(message)

    if api.candidate_to_message is not None:
        to_message = api.candidate_to_message

        @pc.on("icecandidate")
        def on_icecandidate(candidate: Any) -> None:
            # Tasks start in creation order, so candidates keep their order.
            task = asyncio.ensure_future(send_candidate(to_message(candidate)))
            sending.add(task)
            task.add_done_callback(sending.discard)

    async def send_description() -> None:
        nonlocal description_sent
        description = pc.localDescription
        await send({"type": description.type, "sdp": description.sdp})
        description_sent = True
        for message in pending_candidates:
            await send(message)
        pending_candidates.clear()

    async def receive_signaling() -> None:
        while True:
            message = await recv()
            if message["type"] in ("offer", "answer"):
                await pc.setRemoteDescription(
                    api.RTCSessionDescription(sdp=message["sdp"], type=message["type"]))
                if message["type"] == "offer":
                    await pc.setLocalDescription(await pc.createAnswer())
                    await send_description()
            elif message["type"] == "candidate":
                candidate = api.candidate_from_message(message)
                if candidate is not None or api.name != "aiortc":
                    await pc.addIceCandidate(candidate)

    signaling = asyncio.ensure_future(receive_signaling())
    try:
        if offerer:
            main = pc.createDataChannel("main")
            watch_main(main)
            main.on("open", lambda: start_main(main))
            await pc.setLocalDescription(await pc.createOffer())
            await send_description()
        try:
            await asyncio.wait_for(both_done.wait(), timeout)
            if stats_into is not None:
                await collect_stats(pc, stats_into)
            if offerer:
                main_holder[0].close()
            await asyncio.wait_for(main_closed.wait(), 10)
        except asyncio.TimeoutError:
            fail(f"timed out; state {checks.as_dict()}")
        if signaling.done() and signaling.exception() is not None:
            fail(f"signaling failed: {signaling.exception()!r}")
    finally:
        signaling.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await signaling
        await pc.close()
    return checks


async def collect_stats(pc: Any, into: dict[str, Any]) -> None:
    """The selected candidate pair's types, when the API's getStats reports them.

    Polled for a while: the conversation can end before ICE finished the
    checks (data flows on a pair before its nomination completes).
    """
    for _ in range(30):
        stats = await pc.getStats()
        reports = dict(stats.items()) if hasattr(stats, "items") else {}
        selected_id = None
        for report in reports.values():
            if isinstance(report, dict) and report.get("type") == "transport":
                selected_id = report.get("selectedCandidatePairId")
        pair = reports.get(selected_id) if selected_id else None
        if isinstance(pair, dict):
            local = reports.get(pair.get("localCandidateId"))
            remote = reports.get(pair.get("remoteCandidateId"))
            into["selected_pair"] = {
                "local": local.get("candidateType") if isinstance(local, dict) else None,
                "remote": remote.get("candidateType") if isinstance(remote, dict) else None,
            }
            return
        if not reports or not any(isinstance(r, dict) for r in reports.values()):
            return  # an API without W3C-shaped stats (aiortc)
        await asyncio.sleep(0.1)


def local_signaling() -> tuple[tuple[Send, Recv], tuple[Send, Recv]]:
    """Two connected in-process signaling endpoints."""
    a_to_b: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    b_to_a: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send_ab(message: dict[str, Any]) -> None:
        a_to_b.put_nowait(message)

    async def send_ba(message: dict[str, Any]) -> None:
        b_to_a.put_nowait(message)

    return (send_ab, b_to_a.get), (send_ba, a_to_b.get)


async def run_pair(offer_api: Api, answer_api: Api, timeout: float = 30.0) -> tuple[Checks, Checks]:
    """Both sides in this process, over loopback."""
    (send_a, recv_a), (send_b, recv_b) = local_signaling()
    offer = asyncio.ensure_future(run_peer(offer_api, side="a", other="b", offerer=True,
                                           send=send_a, recv=recv_a, timeout=timeout))
    answer = asyncio.ensure_future(run_peer(answer_api, side="b", other="a", offerer=False,
                                            send=send_b, recv=recv_b, timeout=timeout))
    return await offer, await answer
