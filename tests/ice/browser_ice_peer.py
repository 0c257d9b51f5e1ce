"""Headless Chromium against our ICE agent, inside a private network namespace.

Run by tests/ice/test_ice_browser.py as
``unshare --net --pid --fork --kill-child --mount-proc python browser_ice_peer.py MODE``;
prints one JSON line with the outcome. Modes:

- ``browser-offers``: Chromium offers (controlling ICE agent), we answer as
  the controlled agent with ``a=setup:passive``, so that Chromium, as the
  DTLS client, sends its ClientHello to us over the selected pair.
- ``python-offers``: we offer (controlling), Chromium answers.
- ``mdns``: Chromium hides its host address behind a ``<uuid>.local`` name
  (the default for web pages); with multicast unreachable in the namespace
  the name cannot resolve, and the connection must form through
  peer-reflexive candidates.

Only ``lo`` exists in the namespace, so nothing leaves the machine (see
/work/shared/BROWSER-TESTS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from webrtc.ice.agent import IceState
from webrtc.ice.aio import IceConnection
from webrtc.sdp.candidate import Candidate

PAGE = """<!doctype html><html><body><script>
const mode = new URLSearchParams(location.search).get("mode");
const post = (path, body) => fetch(path, {method: "POST", body});
const report = (what, extra) => post("/result", JSON.stringify({what, ...extra}));
function gathered(pc) {
  return new Promise(resolve => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") resolve(); };
    setTimeout(resolve, 3000);
  });
}
(async () => {
  try {
    const pc = new RTCPeerConnection();
    pc.createDataChannel("probe");
    pc.oniceconnectionstatechange = () => {
      const state = pc.iceConnectionState;
      if (state === "connected" || state === "completed" || state === "failed")
        report("ice", {state});
    };
    if (mode === "python-offers") {
      const offer = await (await fetch("/python-offer")).text();
      await pc.setRemoteDescription({type: "offer", sdp: offer});
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
      await post("/browser-answer", pc.localDescription.sdp);
    } else {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const answer = await (await post("/browser-offer", pc.localDescription.sdp)).text();
      await pc.setRemoteDescription({type: "answer", sdp: answer});
    }
  } catch (error) {
    report("error", {message: String(error)});
  }
})();
</script></body></html>"""

LAN_ADDRESS = "10.99.0.1"  # only inside the test's own network namespace
FINGERPRINT = ":".join(["AB"] * 32)  # never checked: no DTLS handshake is completed


def description(connection: IceConnection, setup: str) -> str:
    lines = [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=msid-semantic: WMS",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        f"a=ice-ufrag:{connection.local_ufrag}",
        f"a=ice-pwd:{connection.local_pwd}",
        f"a=fingerprint:sha-256 {FINGERPRINT}",
        f"a=setup:{setup}",
        "a=mid:0",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
    ]
    lines += [candidate.to_sdp_line() for candidate in connection.local_candidates]
    lines.append("a=end-of-candidates")
    return "\r\n".join(lines) + "\r\n"


def apply_remote(connection: IceConnection, sdp: str) -> list[Candidate]:
    ufrag = pwd = None
    candidates: list[Candidate] = []
    for line in sdp.splitlines():
        if line.startswith("a=ice-ufrag:"):
            ufrag = line.split(":", 1)[1]
        elif line.startswith("a=ice-pwd:"):
            pwd = line.split(":", 1)[1]
        elif line.startswith("a=candidate:"):
            candidate = Candidate.parse(line)
            if candidate.transport.lower() == "udp":
                candidates.append(candidate)
    assert ufrag and pwd, "no ICE credentials in the browser's description"
    connection.set_remote_credentials(ufrag, pwd)
    for candidate in candidates:
        connection.add_remote_candidate(candidate)
    return candidates


class Server:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.results: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self.payloads: list[bytes] = []
        self.remote_candidates: list[str] = []
        controlling = mode == "python-offers"
        # mdns-unresolved: our queries go where nobody answers.
        target = ("127.0.0.1", 9) if mode == "mdns-unresolved" else ("224.0.0.251", 5353)
        self.connection = IceConnection(
            controlling,
            addresses=[LAN_ADDRESS if mode.startswith("mdns") else "127.0.0.1"],
            mdns_timeout=1.0,
            mdns_target=target,
            on_payload=self.payloads.append,
        )

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode()
            if request_line.count(" ") < 2:
                return
            length = 0
            while (line := (await reader.readline()).decode().strip()) != "":
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = (await reader.readexactly(length)).decode() if length else ""
            method, path, _ = request_line.split(" ", 2)
            reply, kind = await self.route(method, path.split("?")[0], body)
            data = reply.encode()
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(data)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        finally:
            writer.close()

    async def route(self, method: str, path: str, body: str) -> tuple[str, str]:
        connection = self.connection
        if path == "/":
            return PAGE, "text/html"
        if path == "/browser-offer":
            candidates = apply_remote(connection, body)
            self.remote_candidates = [str(c) for c in candidates]
            connection.add_remote_candidate(None)
            connection.start()
            # passive: the browser becomes the DTLS client and sends to us.
            return description(connection, "passive"), "application/sdp"
        if path == "/python-offer":
            return description(connection, "actpass"), "application/sdp"
        if path == "/browser-answer":
            candidates = apply_remote(connection, body)
            self.remote_candidates = [str(c) for c in candidates]
            connection.add_remote_candidate(None)
            connection.start()
            return "", "text/plain"
        if path == "/result":
            await self.results.put(json.loads(body))
            return "", "text/plain"
        return "", "text/plain"


def setup_namespace(multicast: bool) -> None:
    commands = ["ip link set lo up"]
    if multicast:
        # A veth pair of the namespace's own (both ends inside it), where
        # Chromium gathers as on a LAN; multicast reaches only the other end.
        commands += [
            "ip link add v0 type veth peer name v1",
            f"ip addr add {LAN_ADDRESS}/24 dev v0",
            "ip link set v1 up",
            "ip link set v0 up",
            f"ip route add default dev v0 src {LAN_ADDRESS}",
            "ip route add 224.0.0.0/4 dev v0",
        ]
    else:
        commands.append("ip route add default dev lo src 127.0.0.1")
        commands += ["ip route add unreachable 224.0.0.0/4"]
    commands.append("ip route add unreachable 255.255.255.255/32")
    for command in commands:
        subprocess.run(command.split(), check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".resolv", delete=False) as resolv:
        resolv.write("nameserver 127.0.0.1\n")
    subprocess.run(["mount", "--bind", resolv.name, "/etc/resolv.conf"], check=False)


async def run(mode: str) -> dict[str, object]:
    server = Server(mode)
    await server.connection.gather()
    http = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = http.sockets[0].getsockname()[1]
    profile = tempfile.mkdtemp(prefix="chromium-ice-")
    hidden = mode.startswith("mdns")
    features = "Translate" if hidden else "WebRtcHideLocalIpsWithMdns"
    flags = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--allow-loopback-in-peer-connection",
        f"--disable-features={features}",
    ]
    if not hidden:
        flags.append("--use-fake-ui-for-media-stream")
    flags.append(f"http://127.0.0.1:{port}/?mode={mode}")
    browser = subprocess.Popen(
        flags, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    outcome: dict[str, object] = {"mode": mode}
    try:
        browser_state = await asyncio.wait_for(server.results.get(), 30.0)
        outcome["browser"] = browser_state
        await asyncio.wait_for(server.connection.connect(), 10.0)
        # Give nomination and the browser's first DTLS flight a moment.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while loop.time() < deadline and not (
            server.connection.agent._nominated_selected and server.payloads
        ):
            await asyncio.sleep(0.05)
        agent = server.connection.agent
        pair = agent.selected_pair
        outcome.update(
            ours=agent.state.value,
            nominated=agent._nominated_selected,
            role=agent.role.value,
            remote_candidates=server.remote_candidates,
            learned=[str(c) for c in agent.remote_candidates],
            selected=None
            if pair is None
            else {"remote": str(pair.remote), "address": list(pair.remote_address)},
            payload_first_bytes=[p[0] for p in server.payloads[:5]],
        )
        # Wait for the mDNS queries to end (answered, or timed out after 1 s).
        while len(server.connection.mdns_results) < sum(
            ".local " in c for c in server.remote_candidates
        ) and loop.time() < deadline + 2.0:
            await asyncio.sleep(0.05)
        outcome["mdns"] = server.connection.mdns_results
        outcome["connected"] = agent.state in (IceState.CONNECTED, IceState.COMPLETED)
    except (asyncio.TimeoutError, ConnectionError) as exc:
        outcome["error"] = repr(exc)
        outcome["remote_candidates"] = server.remote_candidates
        outcome["learned"] = [str(c) for c in server.connection.agent.remote_candidates]
        outcome["ours"] = server.connection.agent.state.value
        outcome["dropped"] = server.connection.agent.dropped
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(browser.pid, signal.SIGKILL)
        browser.wait(timeout=10)
        server.connection.close()
        http.close()
    return outcome


def main() -> None:
    mode = sys.argv[1]
    setup_namespace(multicast=mode.startswith("mdns"))
    print(json.dumps(asyncio.run(run(mode))), flush=True)


if __name__ == "__main__":
    main()
