"""Our ICE agent against headless Chromium, in a private network namespace.

Each case runs tests/ice/browser_ice_peer.py under ``unshare`` (root needed),
so the browser, its mDNS traffic and our sockets never leave the namespace.
Chromium's own ICE connection state, our state, and the DTLS ClientHello that
Chromium sends us over the selected pair are checked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

PEER = os.path.join(os.path.dirname(__file__), "browser_ice_peer.py")


def _run(mode: str) -> dict[str, object]:
    if shutil.which("chromium") is None:
        pytest.skip("chromium not found")
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare or ip (iproute2) not found")
    if os.geteuid() != 0:
        pytest.skip("network namespaces for browser tests need root")
    command = [
        "unshare",
        "--net",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        sys.executable,
        PEER,
        mode,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no outcome; stderr:\n{completed.stderr[-3000:]}"
    outcome: dict[str, object] = json.loads(lines[-1])
    return outcome


@pytest.mark.browser
@pytest.mark.parametrize(
    ("mode", "our_role"),
    [("browser-offers", "controlled"), ("python-offers", "controlling")],
)
def test_chromium_connects_with_host_candidates(mode: str, our_role: str) -> None:
    outcome = _run(mode)
    assert "error" not in outcome, outcome
    assert outcome["browser"] == {"what": "ice", "state": "connected"}
    assert outcome["connected"] and outcome["nominated"], outcome
    assert outcome["role"] == our_role
    # Chromium (the DTLS client in both cases) sent its ClientHello over ICE.
    assert 22 in outcome["payload_first_bytes"], outcome  # type: ignore[operator]


@pytest.mark.browser
@pytest.mark.parametrize("mode", ["mdns", "mdns-unresolved"])
def test_chromium_hidden_behind_mdns_names(mode: str) -> None:
    outcome = _run(mode)
    assert "error" not in outcome, outcome
    assert outcome["browser"] == {"what": "ice", "state": "connected"}
    assert outcome["connected"] and outcome["nominated"], outcome
    remote = outcome["remote_candidates"]
    assert remote and all(".local " in c for c in remote), remote  # type: ignore[union-attr]
    results = outcome["mdns"]
    assert isinstance(results, dict) and len(results) == 1
    if mode == "mdns":
        # Our RFC 6762 query was answered by Chromium's own responder.
        assert list(results.values()) == ["10.99.0.1"], results
    else:
        # Unresolvable: the connection formed through a peer-reflexive candidate.
        assert list(results.values()) == [None]
        selected = outcome["selected"]
        assert isinstance(selected, dict) and " typ prflx" in str(selected["remote"])
    assert 22 in outcome["payload_first_bytes"], outcome  # type: ignore[operator]
