"""Capture the Chromium SDPs of ``tests/sdp/corpus/`` (run by hand, not by the tests).

Usage, as root (it needs a private network namespace), from the repository root::

    python tests/sdp/capture_chromium.py [--out tests/sdp/corpus] [--chromium /usr/bin/chromium]

(``--answer OFFER --answer-out FILE`` instead has Chromium answer one offer:
tests/sdp/test_chromium.py uses it to show that Chromium accepts descriptions
built with this library.)

What it does (following ../shared/BROWSER-TESTS.md):

1. Re-runs itself under ``unshare --net --pid --fork --kill-child --mount-proc``
   so the browser and the server live in a network namespace whose only
   interface is ``lo``: nothing leaves the machine. Inside, it brings ``lo`` up,
   adds the default and unreachable routes and bind-mounts a private
   ``resolv.conf``.
2. Serves a page on 127.0.0.1 whose script creates offers and answers with
   ``RTCPeerConnection`` (two peers in the same page), waits for ICE gathering
   to finish so the descriptions carry candidates, and POSTs each
   ``localDescription.sdp`` back to this server.
3. Starts headless Chromium on that page in its own process group, waits for
   the page to report that it is done (or a timeout), stops the browser by its
   process-group id and writes each SDP byte for byte to
   ``<out>/chromium-<name>.sdp``.

The descriptions contain random ICE credentials, fingerprints, ids and
127.0.0.1 host candidates with random ports; re-running replaces them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

INSIDE_MARKER = "WEBRTC_SDP_CAPTURE_INSIDE_NAMESPACE"

PAGE = r"""<!doctype html>
<html><body><script>
"use strict";
async function post(name, text) {
  await fetch("/sdp?name=" + encodeURIComponent(name), {method: "POST", body: text});
}
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
}
async function offer(pc, options) {
  await pc.setLocalDescription(await pc.createOffer(options));
  await gathered(pc);
  return pc.localDescription.sdp;
}
async function restartOffer(pc) {
  // After a restart the gathering state may still read "complete" from the
  // first round: wait for the end-of-candidates event of the new round.
  const done = new Promise((resolve) => {
    pc.addEventListener("icecandidate", (event) => { if (!event.candidate) resolve(); });
  });
  await pc.setLocalDescription(await pc.createOffer({iceRestart: true}));
  await done;
  return pc.localDescription.sdp;
}
async function answer(pc, remote) {
  await pc.setRemoteDescription({type: "offer", sdp: remote});
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  return pc.localDescription.sdp;
}
async function media() {
  return navigator.mediaDevices.getUserMedia({audio: true, video: true});
}
async function run() {
  const stream = await media();
  const [audioTrack] = stream.getAudioTracks();
  const [videoTrack] = stream.getVideoTracks();

  // Data channel only, and Chromium's answer to it.
  {
    const a = new RTCPeerConnection(), b = new RTCPeerConnection();
    a.createDataChannel("chat");
    const o = await offer(a);
    await post("offer-data", o);
    await post("answer-data", await answer(b, o));
    a.close(); b.close();
  }
  // Audio and video.
  {
    const a = new RTCPeerConnection();
    for (const track of stream.getTracks()) a.addTrack(track, stream);
    await post("offer-audio-video", await offer(a));
    a.close();
  }
  // Audio, video and data, with Chromium's answer (it sends media back).
  {
    const a = new RTCPeerConnection(), b = new RTCPeerConnection();
    for (const track of stream.getTracks()) a.addTrack(track, stream);
    a.createDataChannel("chat");
    const o = await offer(a);
    await post("offer-audio-video-data", o);
    b.ontrack = () => {};
    await b.setRemoteDescription({type: "offer", sdp: o});
    const other = await media();
    for (const track of other.getTracks()) b.addTrack(track, other);
    await b.setLocalDescription(await b.createAnswer());
    await gathered(b);
    await post("answer-audio-video-data", b.localDescription.sdp);
    // Renegotiation: a second offer from the same connection after adding a
    // receive-only transceiver (and a second data channel), then an ICE restart.
    await a.setRemoteDescription(b.localDescription);
    a.addTransceiver("audio", {direction: "recvonly"});
    a.createDataChannel("second");
    await post("offer-renegotiation", await offer(a));
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await gathered(b);
    await post("answer-renegotiation", b.localDescription.sdp);
    await a.setRemoteDescription(b.localDescription);
    await post("offer-ice-restart", await restartOffer(a));
    a.close(); b.close();
  }
  // Receive only.
  {
    const a = new RTCPeerConnection(), b = new RTCPeerConnection();
    a.addTransceiver("audio", {direction: "recvonly"});
    a.addTransceiver("video", {direction: "recvonly"});
    const o = await offer(a);
    await post("offer-recvonly", o);
    await post("answer-recvonly", await answer(b, o));
    a.close(); b.close();
  }
  // Simulcast with three rids, and the answer that receives it.
  {
    const a = new RTCPeerConnection(), b = new RTCPeerConnection();
    a.addTransceiver(videoTrack, {
      streams: [stream],
      sendEncodings: [
        {rid: "q", scaleResolutionDownBy: 4.0},
        {rid: "h", scaleResolutionDownBy: 2.0},
        {rid: "f"},
      ],
    });
    a.addTransceiver(audioTrack, {streams: [stream]});
    const o = await offer(a);
    await post("offer-simulcast", o);
    await post("answer-simulcast", await answer(b, o));
    a.close(); b.close();
  }
  await post("done", navigator.userAgent);
}
window.onerror = (message) => { post("error", String(message)); };
run().catch((error) => post("error", String(error && error.stack || error)));
</script></body></html>
"""


class _Collector:
    def __init__(self) -> None:
        self.sdps: dict[str, bytes] = {}
        self.done = threading.Event()
        self.error: str | None = None


def _serve(collector: _Collector, page: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            name = query.get("name", ["?"])[0]
            data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if name == "done":
                print("browser:", data.decode(errors="replace"))
                collector.done.set()
            elif name == "error":
                collector.error = data.decode(errors="replace")
                collector.done.set()
            else:
                collector.sdps[name] = data
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _setup_namespace(tmp: Path) -> None:
    """Inside the new namespace: loopback only, no way out (BROWSER-TESTS.md)."""
    commands = [
        ["ip", "link", "set", "lo", "up"],
        ["ip", "route", "add", "default", "dev", "lo", "src", "127.0.0.1"],
        ["ip", "route", "add", "unreachable", "224.0.0.0/4"],
        ["ip", "route", "add", "unreachable", "255.255.255.255/32"],
    ]
    resolv = tmp / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n")
    commands.append(["mount", "--bind", str(resolv), "/etc/resolv.conf"])
    for command in commands:
        subprocess.run(command, check=True)


def _run_page(page: str, chromium: str, timeout: float) -> tuple[dict[str, bytes], str | None]:
    """Serve ``page`` to headless Chromium; return what it POSTed, and an error if any."""
    tmp = Path(tempfile.mkdtemp(prefix="sdp-capture-"))
    _setup_namespace(tmp)
    collector = _Collector()
    server = _serve(collector, page)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp / 'profile'}",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        "--allow-loopback-in-peer-connection",
        "--disable-features=WebRtcHideLocalIpsWithMdns", url,
    ]
    browser = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        finished = collector.done.wait(timeout)
    finally:
        try:
            os.killpg(browser.pid, signal.SIGTERM)
            browser.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(browser.pid, signal.SIGKILL)
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    if collector.error is not None:
        return collector.sdps, f"page error: {collector.error}"
    if not finished:
        return collector.sdps, f"timed out after {timeout}s; got {sorted(collector.sdps)}"
    return collector.sdps, None


def _capture(out: Path, chromium: str, timeout: float) -> int:
    sdps, error = _run_page(PAGE, chromium, timeout)
    if error is not None:
        print(error, file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(sdps.items()):
        path = out / f"chromium-{name}.sdp"
        path.write_bytes(data)
        print(f"wrote {path} ({len(data)} bytes)")
    return 0


ANSWER_PAGE = r"""<!doctype html>
<html><body><script>
"use strict";
async function post(name, text) {
  await fetch("/sdp?name=" + encodeURIComponent(name), {method: "POST", body: text});
}
async function run() {
  const pc = new RTCPeerConnection();
  pc.ontrack = () => {};
  await pc.setRemoteDescription({type: "offer", sdp: OFFER});
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise((resolve) => pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    }));
  }
  await post("answer", pc.localDescription.sdp);
  pc.close();
  await post("done", navigator.userAgent);
}
run().catch((error) => post("error", String(error && error.message || error)));
</script></body></html>
"""


def _answer(offer_path: Path, answer_path: Path, chromium: str, timeout: float) -> int:
    """Have Chromium answer the offer in ``offer_path``; write its answer (or fail)."""
    offer = offer_path.read_bytes().decode("utf-8")
    page = ANSWER_PAGE.replace("OFFER", json.dumps(offer))
    sdps, error = _run_page(page, chromium, timeout)
    if error is not None:
        print(error, file=sys.stderr)
        return 1
    answer_path.write_bytes(sdps["answer"])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "corpus")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--answer", type=Path, metavar="OFFER",
                        help="instead of capturing: have Chromium answer this offer file "
                             "and write its answer to --answer-out (used by the tests)")
    parser.add_argument("--answer-out", type=Path, metavar="FILE")
    args = parser.parse_args()
    if os.environ.get(INSIDE_MARKER) != "1":
        env = dict(os.environ, **{INSIDE_MARKER: "1"})
        command = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
                   sys.executable, os.path.abspath(__file__), "--out", str(args.out.resolve()),
                   "--chromium", args.chromium, "--timeout", str(args.timeout)]
        if args.answer is not None:
            if args.answer_out is None:
                parser.error("--answer needs --answer-out")
            command += ["--answer", str(args.answer.resolve()),
                        "--answer-out", str(args.answer_out.resolve())]
        return subprocess.run(command, env=env).returncode
    started = time.monotonic()
    if args.answer is not None:
        status = _answer(args.answer, args.answer_out, args.chromium, args.timeout)
    else:
        status = _capture(args.out, args.chromium, args.timeout)
    print(f"took {time.monotonic() - started:.1f}s")
    return status


if __name__ == "__main__":
    sys.exit(main())
