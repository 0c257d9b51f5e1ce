"""Our peer connection against aiortc over loopback, in both directions.

The conversation is :mod:`tests.interop.scenario`: text, binary, a 256 KiB
message, 20 channels opened from each side, an unordered ``maxRetransmits=0``
channel, and channel close seen on both sides.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.interop.scenario import Checks, aiortc_api, our_api, run_pair

pytestmark = pytest.mark.interop

pytest.importorskip("aiortc", reason="aiortc not installed (pip install aiortc)")


def assert_complete(checks: Checks, other: str) -> None:
    assert checks.failures == [], checks.failures
    assert checks.complete(other), checks.as_dict()
    assert checks.main_closed, checks.as_dict()
    for label, properties in checks.remote_channels.items():
        if label.endswith("-unordered"):
            assert properties == {"ordered": False, "maxRetransmits": 0}
        else:
            assert properties == {"ordered": True, "maxRetransmits": None}


@pytest.mark.parametrize(("offerer", "answerer"), [("webrtc", "aiortc"), ("aiortc", "webrtc"),
                                                   ("webrtc", "webrtc")])
def test_data_channels_with_aiortc(offerer: str, answerer: str) -> None:
    apis = {"webrtc": our_api, "aiortc": aiortc_api}
    offer_checks, answer_checks = asyncio.run(
        run_pair(apis[offerer](), apis[answerer](), timeout=30))
    assert_complete(offer_checks, "b")
    assert_complete(answer_checks, "a")
