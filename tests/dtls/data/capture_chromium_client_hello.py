"""Capture the DTLS ClientHello datagrams a real Chromium sends (not run by tests).

Usage (as root; it re-runs itself inside a private network namespace so
nothing leaves the machine)::

    python tests/dtls/data/capture_chromium_client_hello.py [output.hex]

aiortc is the Python peer and the offerer (``a=setup:actpass``); headless
Chromium answers and picks ``active``, so Chromium is the DTLS client. The
script wraps aioice's ``Connection.recv`` (what aiortc's DTLS transport
reads) and records the datagrams whose first byte is in the DTLS range
(RFC 7983), then writes the datagrams of the first ClientHello (epoch 0,
handshake type 1, lowest message_seq), one hex line per datagram, in arrival
order.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

PAGE = """<!doctype html><html><body><script>
(async () => {
  const offer = await (await fetch('/offer')).json();
  const pc = new RTCPeerConnection();
  pc.ondatachannel = () => {};
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise(resolve => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    setTimeout(resolve, 3000);
  });
  await fetch('/answer', {method: 'POST', body: JSON.stringify(
    {type: 'answer', sdp: pc.localDescription.sdp})});
})();
</script></body></html>"""


def _in_namespace() -> bool:
    return os.environ.get("DTLS_CAPTURE_NAMESPACE") == "1"


def _reexec_in_namespace() -> int:
    env = dict(os.environ, DTLS_CAPTURE_NAMESPACE="1")
    command = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
               sys.executable, *sys.argv]
    return subprocess.call(command, env=env)


def _setup_loopback() -> None:
    for args in (["ip", "link", "set", "lo", "up"],
                 ["ip", "route", "add", "default", "dev", "lo", "src", "127.0.0.1"],
                 ["ip", "route", "add", "unreachable", "224.0.0.0/4"],
                 ["ip", "route", "add", "unreachable", "255.255.255.255/32"]):
        subprocess.call(args, stderr=subprocess.DEVNULL)


def _client_hello_datagrams(datagrams: list[bytes]) -> list[bytes]:
    """The datagrams carrying the first ClientHello (one copy of each fragment)."""
    chosen: list[bytes] = []
    covered: set[int] = set()
    first_seq: int | None = None
    for datagram in datagrams:
        pos = 0
        useful = False
        while pos + 13 <= len(datagram):
            content_type = datagram[pos]
            epoch = int.from_bytes(datagram[pos + 3 : pos + 5], "big")
            length = int.from_bytes(datagram[pos + 11 : pos + 13], "big")
            body = datagram[pos + 13 : pos + 13 + length]
            pos += 13 + length
            if content_type != 22 or epoch != 0 or len(body) < 12 or body[0] != 1:
                continue
            message_seq = int.from_bytes(body[4:6], "big")
            offset = int.from_bytes(body[6:9], "big")
            if first_seq is None:
                first_seq = message_seq
            if message_seq == first_seq and offset not in covered:
                covered.add(offset)
                useful = True
        if useful:
            chosen.append(datagram)
    return chosen


async def _capture(output: Path) -> None:
    import aioice.ice
    from aiortc import RTCPeerConnection, RTCSessionDescription

    # Only 127.0.0.1 exists in the namespace; aioice skips it by default.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

    received: list[bytes] = []
    original_recv = aioice.ice.Connection.recv

    async def recording_recv(self: aioice.ice.Connection) -> bytes:
        data: bytes = await original_recv(self)
        if data and 20 <= data[0] <= 63:
            received.append(bytes(data))
        return data

    # aiortc binds ``connection.recv`` when its ICE transport is created, so
    # the class attribute must be replaced before the peer connection exists.
    aioice.ice.Connection.recv = recording_recv  # type: ignore[method-assign]

    pc = RTCPeerConnection()
    pc.createDataChannel("capture")
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"type": "offer", "sdp": pc.localDescription.sdp}
    answered: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            writer.close()  # a speculative connection the browser never used
            return
        first = request.split(b"\r\n", 1)[0].decode()
        length = 0
        for line in request.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length) if length else b""
        if first.startswith("GET /offer"):
            payload, kind = json.dumps(offer).encode(), "application/json"
        elif first.startswith("POST /answer"):
            if not answered.done():
                answered.set_result(json.loads(body))
            payload, kind = b"ok", "text/plain"
        else:
            payload, kind = PAGE.encode(), "text/html"
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + kind.encode()
                     + b"\r\nContent-Length: " + str(len(payload)).encode()
                     + b"\r\nConnection: close\r\n\r\n" + payload)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    profile = tempfile.mkdtemp(prefix="chromium-capture-")
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--use-fake-ui-for-media-stream",
         "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
         "--disable-features=WebRtcHideLocalIpsWithMdns", f"http://127.0.0.1:{port}/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        answer = await asyncio.wait_for(answered, 60)
        print("Chromium answered with", [line for line in answer["sdp"].splitlines()
                                         if line.startswith("a=setup")], flush=True)
        await pc.setRemoteDescription(RTCSessionDescription(**answer))
        for _ in range(200):
            if len(_client_hello_datagrams(received)) >= 1 and len(received) >= 2:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
    finally:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)
        await pc.close()
        server.close()
    datagrams = _client_hello_datagrams(received)
    if not datagrams:
        raise SystemExit(f"no ClientHello captured ({len(received)} DTLS datagrams)")
    output.write_text("".join(d.hex() + "\n" for d in datagrams))
    print(f"wrote {len(datagrams)} datagrams ({[len(d) for d in datagrams]} bytes) to {output}")


def main() -> int:
    output = Path(sys.argv[1] if len(sys.argv) > 1 else
                  Path(__file__).with_name("chromium156_client_hello.hex")).resolve()
    if not _in_namespace():
        return _reexec_in_namespace()
    _setup_loopback()
    asyncio.run(_capture(output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
