"""Diagnostic: Chromium alone loses sends made in ``ondatachannel``.

Two RTCPeerConnections in one headless Chromium page, no Python peer: the
answerer's ``ondatachannel`` handler sends three messages at once, and the
offerer counts what arrives, ``n`` times over. Chromium's Blink shows a
remotely opened channel as "open" before the task that opens it on libwebrtc's
network thread has run (DataChannelController::OnDataChannelOpenMessage posts
it after notifying the observer), so a send can overtake it and be dropped
with "Send failed INVALID_STATE" in the log. Observed with Chromium 156 on a
loaded 2-core machine: 8 of 1,000 trials lost messages. This is why
``browser_page.html`` starts sending on a remotely opened ``main`` at its
first message rather than in ``ondatachannel``.

Run (root, network namespace as for the browser tests):
``python -m tests.interop.chromium_open_race 1000`` prints one RESULT line.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.interop.browser import find_chromium, setup_namespace, stop_process_group

PAGE = Path(__file__).with_suffix(".html")


async def run_page(workdir: Path, trials: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    result: asyncio.Future[dict[str, Any]] = loop.create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readline()
        _method, target, _ = request.decode().split(" ", 2)
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = await reader.readexactly(length) if length else b""
        if target == "/result" and not result.done():
            result.set_result(json.loads(body))
        payload = b"{}" if target == "/result" else PAGE.read_bytes()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n" % len(payload) + payload)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    chromium = find_chromium()
    assert chromium is not None
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               f"--user-data-dir={workdir / 'profile'}", "--allow-loopback-in-peer-connection",
               "--disable-dev-shm-usage", "--use-fake-ui-for-media-stream",
               "--use-fake-device-for-media-stream",
               "--disable-features=WebRtcHideLocalIpsWithMdns",
               f"http://127.0.0.1:{port}/?n={trials}"]
    log_path = workdir / "chromium.log"
    with open(log_path, "wb") as log:
        browser = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            outcome = await asyncio.wait_for(result, 60 + trials * 5)
        finally:
            stop_process_group(browser)
            server.close()
    outcome["send_failed_lines"] = log_path.read_text(errors="replace").count("Send failed")
    return outcome


def main(argv: list[str]) -> int:
    inside = "--inside" in argv
    args = [a for a in argv if a != "--inside"]
    trials = int(args[0]) if args else 200
    if not inside:
        os.execvp("unshare", ["unshare", "--net", "--pid", "--fork", "--kill-child",
                              "--mount-proc", sys.executable, "-m",
                              "tests.interop.chromium_open_race", str(trials), "--inside"])
    with tempfile.TemporaryDirectory(prefix="chromium-open-race-") as directory:
        workdir = Path(directory)
        setup_namespace(workdir)
        outcome = asyncio.run(run_page(workdir, trials))
    print("RESULT " + json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
