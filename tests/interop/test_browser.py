"""Headless Chromium against a Python peer, in a private network namespace.

Each case runs :mod:`tests.interop.browser` (page + signaling server + browser
+ Python peer) under ``unshare``; the conversation and its checks are those of
:mod:`tests.interop.scenario`. Skipped with the reason printed when Chromium,
``unshare`` or root is missing.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from tests.interop.browser import run_browser_session, unavailable_reason

pytestmark = [pytest.mark.interop, pytest.mark.browser]

PEERS = ["aiortc", "webrtc"]
CHECK_FLAGS = ("main_text", "main_binary", "main_large", "remote_zero_closed",
               "own_zero_closed", "main_closed")


@pytest.fixture(scope="module", autouse=True)
def _require_browser() -> None:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)


def assert_side_complete(checks: dict[str, Any], name: str) -> None:
    assert checks["failures"] == [], f"{name}: {checks['failures']}"
    for flag in CHECK_FLAGS:
        assert checks[flag], f"{name}: {flag} not seen: {checks}"
    assert checks["remote_channels"] == 21, f"{name}: {checks}"
    assert checks["hellos"] == 21, f"{name}: {checks}"
    assert checks["echoes"] == 21, f"{name}: {checks}"


def is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def run_case(peer: str, browser_role: str, mdns: bool) -> dict[str, Any]:
    result = run_browser_session(peer, browser_role, mdns)
    if "skip" in result:
        pytest.skip(result["skip"])
    context = f"chromium log tail:\n{result['chromium_log'][-1500:]}\nstderr:\n{result['stderr']}"
    try:
        assert_side_complete(result["browser"], "chromium")
        assert_side_complete(result["python"], peer)
    except AssertionError as error:
        browser = {k: v for k, v in result["browser"].items() if k != "log"}
        raise AssertionError(f"{error}\nbrowser: {browser}\npython: {result['python']}\n"
                             f"browser log: {result['browser'].get('log')}\n{context}") from None
    assert "connected" in result["browser"]["connection_states"]
    if peer == "webrtc":
        # Our peer trickles: every candidate it sent reached the page, then null.
        assert result["python_sent"], "no candidate trickled to the browser"
        assert result["python_sent"][-1] is None
        assert result["browser"]["candidates_received"] == result["python_sent"]
    return result


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("browser_role", ["offer", "answer"])
def test_chromium_with_visible_host_candidates(peer: str, browser_role: str) -> None:
    result = run_case(peer, browser_role, mdns=False)
    # With IP enumeration allowed the page trickles its 127.0.0.1 host candidate.
    addresses = [c.split()[4] for c in result["browser"]["candidates_sent"]]
    assert "127.0.0.1" in addresses


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("browser_role", ["offer", "answer"])
def test_chromium_with_mdns_hidden_host_candidates(peer: str, browser_role: str) -> None:
    """Chromium's defaults: no IP address revealed, the pair forms through prflx."""
    result = run_case(peer, browser_role, mdns=True)
    revealed = [c for c in result["browser"]["candidates_sent"] if is_ip_address(c.split()[4])]
    assert revealed == []
    pair = result["browser"]["selected_pair"]
    assert pair is not None, "chromium reported no selected pair"
    # Chromium revealed no address: it learnt its own from our checks' responses.
    assert pair["local"] == "prflx"
    if peer == "webrtc":
        # ...and we learnt Chromium's address from its checks: a peer-reflexive pair.
        assert result["python_extra"]["selected_pair"]["remote"] == "prflx"
