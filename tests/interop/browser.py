"""Headless Chromium against a Python peer, inside a private network namespace.

``run_browser_session(...)`` (called by the tests, outside any namespace)
re-runs this module under ``unshare --net --pid --fork --kill-child
--mount-proc``; inside, ``--inside`` brings ``lo`` up, routes everything
through it, makes multicast unreachable and gives the namespace its own
``resolv.conf`` (see ``/work/shared/BROWSER-TESTS.md``), so no packet leaves
the machine. It then serves ``browser_page.html`` and a signaling endpoint on
127.0.0.1, starts Chromium in its own process group, runs the Python side of
:mod:`tests.interop.scenario`, and prints one ``RESULT {json}`` line with what
both sides observed. When the namespace's PID 1 exits the kernel ends every
process left in it.

Signaling over HTTP: the page POSTs ``/signal`` (description or candidate),
long-polls ``GET /poll`` for what the Python side sent, and POSTs its checks
to ``/result``.

Run by hand: ``python -m tests.interop.browser --peer aiortc --browser-role offer``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.interop import scenario

PAGE = Path(__file__).with_name("browser_page.html")
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def find_chromium() -> str | None:
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


def unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if find_chromium() is None:
        return "chromium not found (apt-get install chromium)"
    if shutil.which("unshare") is None:
        return "unshare not found (util-linux)"
    if shutil.which("ip") is None:
        return "ip not found (iproute2)"
    if os.geteuid() != 0:
        return "network namespaces for browser tests need root"
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"unshare --net failed: {probe.stderr.decode(errors='replace').strip()}"
    return None


def run_browser_session(peer: str, browser_role: str, mdns: bool,
                        timeout: float = 90.0) -> dict[str, Any]:
    """Run one session in a fresh namespace; returns both sides' checks."""
    command = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
               sys.executable, "-m", "tests.interop.browser", "--inside",
               "--peer", peer, "--browser-role", browser_role]
    if mdns:
        command.append("--mdns")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=timeout)
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT "):])
            result["stderr"] = completed.stderr[-4000:]
            return result
    raise RuntimeError(f"browser session produced no result (exit {completed.returncode}):\n"
                       f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")


def setup_namespace(workdir: Path, mdns_link: bool = False) -> str | None:
    """Loopback only, a default route through it, private DNS.

    Multicast is unreachable, unless ``mdns_link``: Chromium's mDNS responder
    refuses to start with loopback alone, and without it Chromium drops its
    hidden host candidates and gathers nothing at all. So for the mDNS cases a
    veth pair whose two ends both stay in this namespace carries 10.213.0.1
    and the multicast route: still nothing leaves the namespace.

    Returns why the namespace could not be set up for this case, or None.
    """
    commands = [
        ["ip", "link", "set", "lo", "up"],
        ["ip", "route", "add", "default", "dev", "lo", "src", "127.0.0.1"],
        ["ip", "route", "add", "unreachable", "255.255.255.255/32"],
    ]
    if Path("/etc/resolv.conf").exists():
        # Name lookups stay inside too (the bind mount is private to the namespace).
        resolv = workdir / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1\n")
        commands.append(["mount", "--bind", str(resolv), "/etc/resolv.conf"])
    for command in commands:
        subprocess.run(command, check=True)
    if not mdns_link:
        subprocess.run(["ip", "route", "add", "unreachable", "224.0.0.0/4"], check=True)
        return None
    link = [["ip", "link", "add", "mdns0", "type", "veth", "peer", "name", "mdns1"],
            ["ip", "addr", "add", "10.213.0.1/24", "dev", "mdns0"],
            ["ip", "link", "set", "mdns1", "up"],
            ["ip", "link", "set", "mdns0", "up", "multicast", "on"],
            ["ip", "route", "add", "224.0.0.0/4", "dev", "mdns0"]]
    for command in link:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            return (f"cannot create the namespace's mDNS link ({' '.join(command)}: "
                    f"{done.stderr.strip()})")
    return None


class SignalingServer:
    """A tiny HTTP/1.1 server: the page, signaling in both directions, results."""

    def __init__(self) -> None:
        self.to_python: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.to_browser: list[dict[str, Any]] = []
        self.browser_waiting = asyncio.Event()
        self.result: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def send_to_browser(self, message: dict[str, Any]) -> None:
        self.to_browser.append(message)
        self.browser_waiting.set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readline()
            method, target, _ = request.decode().split(" ", 2)
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            status, content_type, payload = await self.route(method, target, body)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(payload)}\r\nCache-Control: no-store\r\n"
                "Connection: close\r\n\r\n".encode() + payload)
            await writer.drain()
        except (ConnectionError, ValueError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def route(self, method: str, target: str, body: bytes) -> tuple[str, str, bytes]:
        path = target.split("?", 1)[0]
        if method == "GET" and path == "/":
            return "200 OK", "text/html; charset=utf-8", PAGE.read_bytes()
        if method == "POST" and path == "/signal":
            self.to_python.put_nowait(json.loads(body))
            return "200 OK", "application/json", b"{}"
        if method == "GET" and path == "/poll":
            if not self.to_browser:
                self.browser_waiting.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.browser_waiting.wait(), 10)
            messages, self.to_browser = self.to_browser, []
            return "200 OK", "application/json", json.dumps(messages).encode()
        if method == "POST" and path == "/result":
            if not self.result.done():
                self.result.set_result(json.loads(body))
            return "200 OK", "application/json", b"{}"
        return "404 Not Found", "text/plain", b"not found"


def chromium_command(chromium: str, profile: Path, url: str, mdns: bool) -> list[str]:
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               "--allow-loopback-in-peer-connection",
               # Containers often have a tiny /dev/shm; Chromium crashes on it otherwise.
               "--disable-dev-shm-usage"]
    if not mdns:
        # Media permission also grants IP enumeration: plain 127.0.0.1 host candidates.
        command += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    "--disable-features=WebRtcHideLocalIpsWithMdns"]
    return [*command, url]


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def api_for(peer: str) -> scenario.Api:
    return scenario.aiortc_api() if peer == "aiortc" else scenario.our_api()


async def session(peer: str, browser_role: str, mdns: bool, workdir: Path) -> dict[str, Any]:
    chromium = find_chromium()
    assert chromium is not None
    server = SignalingServer()
    await server.start()
    got_description = asyncio.Event()
    held: list[dict[str, Any]] = []

    async def recv() -> dict[str, Any]:
        # Candidates the page trickles can overtake its description; hold them.
        while True:
            if got_description.is_set() and held:
                return held.pop(0)
            message = await server.to_python.get()
            if message["type"] in ("offer", "answer"):
                got_description.set()
                return message
            held.append(message)

    sent_by_python: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent_by_python.append(message)
        await server.send_to_browser(message)

    url = f"http://127.0.0.1:{server.port}/?role={browser_role}"
    log = open(workdir / "chromium.log", "wb")  # noqa: SIM115 - closed below
    browser = subprocess.Popen(chromium_command(chromium, workdir / "profile", url, mdns),
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    started = time.monotonic()
    python_checks: dict[str, Any] = {"failures": ["python peer did not finish"]}
    browser_checks: dict[str, Any] = {"failures": ["browser did not report"]}
    python_extra: dict[str, Any] = {}
    try:
        peer_task = asyncio.ensure_future(scenario.run_peer(
            api_for(peer), side="py", other="js", offerer=browser_role == "answer",
            send=send, recv=recv, timeout=45, stats_into=python_extra))
        with contextlib.suppress(asyncio.TimeoutError):
            browser_checks = await asyncio.wait_for(server.result, 60)
        with contextlib.suppress(asyncio.TimeoutError):
            python_checks = (await asyncio.wait_for(peer_task, 15)).as_dict()
    finally:
        stop_process_group(browser)
        log.close()
        await server.close()
    return {
        "python": python_checks, "python_extra": python_extra, "browser": browser_checks,
        "python_sent": [m.get("candidate") for m in sent_by_python if m["type"] == "candidate"],
        "seconds": time.monotonic() - started,
        "chromium_log": (workdir / "chromium.log").read_text(errors="replace")[-3000:],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inside", action="store_true", help="already in the namespace")
    parser.add_argument("--peer", choices=["aiortc", "webrtc"], default="aiortc")
    parser.add_argument("--browser-role", choices=["offer", "answer"], default="offer")
    parser.add_argument("--mdns", action="store_true",
                        help="Chromium's default mDNS-hidden host candidates")
    args = parser.parse_args(argv)
    if not args.inside:
        reason = unavailable_reason()
        if reason:
            print(reason)
            return 2
        print(json.dumps(run_browser_session(args.peer, args.browser_role, args.mdns),
                         indent=1))
        return 0
    trace = os.environ.get("WEBRTC_SCTP_TRACE")
    if trace:
        from tests.interop import sctp_trace
        sctp_trace.install(trace)
    with tempfile.TemporaryDirectory(prefix="webrtc-browser-") as directory:
        workdir = Path(directory)
        problem = setup_namespace(workdir, mdns_link=args.mdns)
        if problem is not None:
            result: dict[str, Any] = {"skip": problem}
        else:
            result = asyncio.run(session(args.peer, args.browser_role, args.mdns, workdir))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
