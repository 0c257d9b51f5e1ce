"""Generate the aiortc SDPs of ``tests/sdp/corpus/`` (run by hand, not by the tests).

Usage, as root, from the repository root::

    python tests/sdp/generate_aiortc.py [--out tests/sdp/corpus]

It re-runs itself under ``unshare --net --pid --fork --kill-child --mount-proc``
and gives the namespace's loopback interface the documentation address
192.0.2.10 besides 127.0.0.1 (aioice skips 127.0.0.1), so candidate gathering
sees only that address and nothing leaves the machine. Then it uses aiortc's
``RTCPeerConnection`` to write:

- ``aiortc-offer-data.sdp``: a data-channel-only offer;
- ``aiortc-offer-audio-video-data.sdp``: audio, video and a data channel;
- ``aiortc-answer-chromium.sdp``: aiortc's answer to the corpus' Chromium
  audio+video+data offer.

aiortc writes ``\\r\\n`` line endings; the files keep its text byte for byte.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path

INSIDE_MARKER = "WEBRTC_SDP_AIORTC_INSIDE_NAMESPACE"


async def _generate(out: Path) -> dict[str, str]:
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    results: dict[str, str] = {}

    pc = RTCPeerConnection()
    pc.createDataChannel("chat")
    await pc.setLocalDescription(await pc.createOffer())
    results["offer-data"] = pc.localDescription.sdp
    await pc.close()

    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    pc.createDataChannel("chat")
    await pc.setLocalDescription(await pc.createOffer())
    results["offer-audio-video-data"] = pc.localDescription.sdp
    await pc.close()

    chromium_offer = (out / "chromium-offer-audio-video-data.sdp").read_text(encoding="utf-8")
    pc = RTCPeerConnection()
    await pc.setRemoteDescription(RTCSessionDescription(chromium_offer, "offer"))
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "audio":
            pc.addTrack(AudioStreamTrack())
        elif transceiver.kind == "video":
            pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createAnswer())
    results["answer-chromium"] = pc.localDescription.sdp
    await pc.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "corpus")
    args = parser.parse_args()
    if os.environ.get(INSIDE_MARKER) != "1":
        env = dict(os.environ, **{INSIDE_MARKER: "1"})
        command = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
                   sys.executable, os.path.abspath(__file__), "--out", str(args.out.resolve())]
        return subprocess.run(command, env=env).returncode
    for command in (
        ["ip", "link", "set", "lo", "up"],
        ["ip", "addr", "add", "192.0.2.10/32", "dev", "lo"],
    ):
        subprocess.run(command, check=True)
    results = asyncio.run(_generate(args.out))
    for name, text in sorted(results.items()):
        path = args.out / f"aiortc-{name}.sdp"
        path.write_bytes(text.encode("utf-8"))
        print(f"wrote {path} ({len(text)} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
