"""A real headless Chromium completes a DTLS 1.2 handshake with our engine.

Runs tests/dtls/chromium_peer.py inside a private network namespace (only
``lo``): ICE by aioice, SDP written by hand, DTLS by webrtc.dtls. Both roles.
The browser's own RTCDtlsTransport must report ``connected`` with DTLS 1.2,
and our engine must have verified the browser's certificate against the
fingerprint in the browser's SDP.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.interop, pytest.mark.browser]

SCRIPT = Path(__file__).with_name("chromium_peer.py")


def _require_tools() -> None:
    for tool in ("chromium", "unshare", "ip"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found")
    pytest.importorskip("aioice")
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {probe.stderr.decode().strip()}")


@pytest.mark.parametrize("role", ["server", "client"])
def test_chromium_handshake(role: str) -> None:
    _require_tools()
    completed = subprocess.run(
        ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
         sys.executable, str(SCRIPT), "--role", role],
        capture_output=True, text=True, timeout=100, env=dict(os.environ))
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result from the Chromium peer:\n{completed.stdout}\n{completed.stderr}"
    result = json.loads(lines[-1])
    assert result["browser_setup"] == (["active"] if role == "server" else ["actpass"])
    assert result["handshake_complete"], result
    assert result["failure"] is None
    assert result["cipher_suite"] == "ECDHE_ECDSA_AES_128_GCM_SHA256"
    assert result["srtp_profile"] is not None
    page = result["page"]
    assert page["dtlsState"] == "connected", page
    assert page["tlsVersion"] == "FEFD"  # DTLS 1.2
    assert page["dtlsRole"] == ("client" if role == "server" else "server")
    assert page["dtlsCipher"] == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    assert page["srtpCipher"] == "SRTP_" + result["srtp_profile"]
