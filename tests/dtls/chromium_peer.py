"""Run a real headless Chromium against our DTLS engine (used by
test_dtls_chromium_live.py, which starts this script inside a private network
namespace: ``unshare --net --pid --fork --kill-child --mount-proc``).

ICE comes from aioice (aiortc's ICE library; only the transport, no DTLS);
the SDP is written here by hand; the DTLS is ``webrtc.dtls.DtlsConnection``,
verifying the browser's certificate against the fingerprint of its SDP.

``--role server``: we offer ``a=setup:actpass``, Chromium answers ``active``
and is the DTLS client (its DTLS 1.3+1.2 ClientHello must get a 1.2 answer).
``--role client``: Chromium offers, we answer ``active`` and are the client.

Prints one JSON line: what our engine saw, and the page's own report of its
``RTCDtlsTransport`` state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from webrtc.dtls import (
    ApplicationData,
    Certificate,
    ConnectionClosed,
    ConnectionFailed,
    DtlsConnection,
    HandshakeComplete,
)

PAGE = """<!doctype html><html><body><script>
const role = new URLSearchParams(location.search).get('role');
async function gathered(pc) {
  await new Promise(resolve => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    setTimeout(resolve, 3000);
  });
}
function report(body) { return fetch('/report', {method: 'POST', body: JSON.stringify(body)}); }
(async () => {
  try {
    const pc = new RTCPeerConnection();
    const channel = pc.createDataChannel('probe', {negotiated: true, id: 0});
    if (role === 'server') {
      const offer = await (await fetch('/offer')).json();
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
      await fetch('/answer', {method: 'POST', body: pc.localDescription.sdp});
    } else {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      await fetch('/offer', {method: 'POST', body: pc.localDescription.sdp});
      const answer = await (await fetch('/answer')).text();
      await pc.setRemoteDescription({type: 'answer', sdp: answer});
    }
    const dtls = pc.sctp.transport;
    const deadline = Date.now() + 20000;
    while (dtls.state !== 'connected' && dtls.state !== 'failed' && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 50));
    }
    const stats = await pc.getStats();
    let transport = {};
    stats.forEach(s => { if (s.type === 'transport') transport = s; });
    await report({dtlsState: dtls.state, tlsVersion: transport.tlsVersion,
                  dtlsCipher: transport.dtlsCipher, srtpCipher: transport.srtpCipher,
                  dtlsRole: transport.dtlsRole});
  } catch (e) {
    await report({error: String(e)});
  }
})();
</script></body></html>"""


def _setup_loopback() -> None:
    for args in (["ip", "link", "set", "lo", "up"],
                 ["ip", "route", "add", "default", "dev", "lo", "src", "127.0.0.1"],
                 ["ip", "route", "add", "unreachable", "224.0.0.0/4"],
                 ["ip", "route", "add", "unreachable", "255.255.255.255/32"]):
        subprocess.call(args, stderr=subprocess.DEVNULL)


def _sdp(connection: object, certificate: Certificate, setup: str, candidates: list[str],
         session: str) -> str:
    lines = [
        "v=0", f"o=- {session} 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
        "a=group:BUNDLE 0", "a=msid-semantic: WMS",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0",
        f"a=ice-ufrag:{connection.local_username}",  # type: ignore[attr-defined]
        f"a=ice-pwd:{connection.local_password}",  # type: ignore[attr-defined]
        *[f"a=fingerprint:{algorithm} {value}" for algorithm, value in
          certificate.fingerprints()],
        f"a=setup:{setup}", "a=mid:0", "a=sctp-port:5000", "a=max-message-size:262144",
        *[f"a=candidate:{c}" for c in candidates], "a=end-of-candidates",
    ]
    return "\r\n".join(lines) + "\r\n"


def _attributes(sdp: str, name: str) -> list[str]:
    prefix = f"a={name}:"
    return [line[len(prefix):].strip() for line in sdp.splitlines() if line.startswith(prefix)]


async def run(role: str) -> dict[str, object]:
    import aioice
    import aioice.ice

    # Only 127.0.0.1 exists in the namespace; aioice skips it by default.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

    loop = asyncio.get_running_loop()
    certificate = Certificate.generate()
    ice = aioice.Connection(ice_controlling=(role == "server"))
    await ice.gather_candidates()
    candidates = [c.to_sdp() for c in ice.local_candidates]
    our_sdp = _sdp(ice, certificate, "actpass" if role == "server" else "active", candidates,
                   "4611731400430051336")
    browser_sdp: asyncio.Future[str] = loop.create_future()
    page_report: asyncio.Future[dict[str, object]] = loop.create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            writer.close()
            return
        first = request.split(b"\r\n", 1)[0].decode()
        length = 0
        for line in request.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = (await reader.readexactly(length)).decode() if length else ""
        payload = b"ok"
        if first.startswith("GET /offer"):
            payload = json.dumps({"type": "offer", "sdp": our_sdp}).encode()
        elif first.startswith("GET /answer"):
            payload = our_sdp.encode()
        elif first.startswith("POST /answer") or first.startswith("POST /offer"):
            if not browser_sdp.done():
                browser_sdp.set_result(body)
        elif first.startswith("POST /report"):
            if not browser_sdp.done():
                browser_sdp.set_exception(RuntimeError(f"page failed early: {body}"))
            if not page_report.done():
                page_report.set_result(json.loads(body))
        elif first.startswith(("GET / ", "GET /?")):
            payload = PAGE.encode()
        kind = b"text/html" if payload.startswith(b"<!doctype") else b"text/plain"
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + kind
                     + b"\r\nContent-Length: " + str(len(payload)).encode()
                     + b"\r\nConnection: close\r\n\r\n" + payload)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    profile = tempfile.mkdtemp(prefix="chromium-dtls-")
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--use-fake-ui-for-media-stream",
         "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
         "--disable-features=WebRtcHideLocalIpsWithMdns",
         f"http://127.0.0.1:{port}/?role={role}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    result: dict[str, object] = {"role": role}
    try:
        remote_sdp = await asyncio.wait_for(browser_sdp, 30)
        result["browser_setup"] = _attributes(remote_sdp, "setup")
        fingerprints = [tuple(f.split(" ", 1)) for f in _attributes(remote_sdp, "fingerprint")]
        ice.remote_username = _attributes(remote_sdp, "ice-ufrag")[0]
        ice.remote_password = _attributes(remote_sdp, "ice-pwd")[0]
        for line in _attributes(remote_sdp, "candidate"):
            candidate = aioice.Candidate.from_sdp(line)
            if candidate.host == "127.0.0.1" and candidate.transport.lower() == "udp":
                await ice.add_remote_candidate(candidate)
        await ice.add_remote_candidate(None)
        await asyncio.wait_for(ice.connect(), 20)

        dtls = DtlsConnection(role == "client", certificate,
                              [(a, v) for a, v in fingerprints])
        events: list[object] = []
        dtls.start(loop.time())

        async def flush() -> None:
            for datagram in dtls.datagrams_to_send(loop.time()):
                await ice.send(datagram)
            while (event := dtls.next_event()) is not None:
                events.append(event)

        async def pump() -> None:
            await flush()
            while not any(isinstance(e, HandshakeComplete | ConnectionFailed)
                          for e in events):
                timer = dtls.get_timer()
                timeout = None if timer is None else max(0.0, timer - loop.time())
                try:
                    data = await asyncio.wait_for(ice.recv(), timeout)
                except asyncio.TimeoutError:
                    dtls.handle_timer(loop.time())
                else:
                    if data and 20 <= data[0] <= 63:
                        dtls.receive_datagram(data, loop.time())
                await flush()

        await asyncio.wait_for(pump(), 20)
        done = next((e for e in events if isinstance(e, HandshakeComplete)), None)
        failed = next((e for e in events if isinstance(e, ConnectionFailed)), None)
        result["handshake_complete"] = done is not None
        result["failure"] = repr(failed) if failed else None
        if done is not None:
            result["cipher_suite"] = done.cipher_suite.name
            result["named_group"] = done.named_group.name
            result["srtp_profile"] = done.srtp_profile.name if done.srtp_profile else None
            result["remote_certificate_matches"] = True  # verified by the engine
        # Keep answering while the page reads its own transport state.
        reader = asyncio.ensure_future(_keep_pumping(dtls, ice, loop))
        result["page"] = await asyncio.wait_for(page_report, 20)
        reader.cancel()
        result["application_data_events"] = sum(isinstance(e, ApplicationData) for e in events)
        result["closed"] = any(isinstance(e, ConnectionClosed) for e in events)
    finally:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)
        server.close()
        await ice.close()
    return result


async def _keep_pumping(dtls: DtlsConnection, ice: object,
                        loop: asyncio.AbstractEventLoop) -> None:
    while True:
        data = await ice.recv()  # type: ignore[attr-defined]
        if data and 20 <= data[0] <= 63:
            dtls.receive_datagram(data, loop.time())
        for datagram in dtls.datagrams_to_send(loop.time()):
            await ice.send(datagram)  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=["server", "client"], default="server")
    args = parser.parse_args()
    _setup_loopback()
    result = asyncio.run(run(args.role))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
