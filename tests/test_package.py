"""The package's top level: the W3C names, and layers that load alone."""

from __future__ import annotations

import subprocess
import sys


def test_w3c_names_come_from_the_top_level() -> None:
    import webrtc
    from webrtc import peerconnection

    for name in ("RTCPeerConnection", "RTCSessionDescription", "RTCConfiguration",
                 "RTCIceServer", "RTCIceCandidate", "RTCDataChannel"):
        assert getattr(webrtc, name) is getattr(peerconnection, name)
        assert name in webrtc.__all__


def test_one_layer_imports_without_the_facade() -> None:
    # A fresh interpreter: importing the SDP layer must not pull in asyncio
    # users, the facade or the crypto stack.
    code = (
        "import sys, webrtc.sdp\n"
        "loaded = [m for m in ('webrtc.peerconnection', 'webrtc.dtls', 'cryptography')"
        " if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_unknown_attribute_raises() -> None:
    import webrtc

    try:
        webrtc.NoSuchThing  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("expected AttributeError")
