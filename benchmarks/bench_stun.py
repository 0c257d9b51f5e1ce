"""STUN: a binding request with MESSAGE-INTEGRITY and FINGERPRINT, built,
serialized, parsed and verified; ours against ``aioice.stun`` in the same run."""

from __future__ import annotations

from benchmarks.common import Row, rate
from webrtc.ice.stun import AttributeType, MessageClass, Method, StunMessage

_KEY = b"4Rn9mGbjHoHCMHYV8cT1yWWc"
_TRANSACTION_ID = bytes(range(12))
_USERNAME = "wL9Y:f8cV"
_PRIORITY = 1853824767
_TIE_BREAKER = 0x932FF9B151263B36
A = AttributeType


def _ours() -> None:
    request = StunMessage(Method.BINDING, MessageClass.REQUEST, _TRANSACTION_ID)
    attributes = request.attributes
    attributes.append((A.USERNAME, _USERNAME))
    attributes.append((A.PRIORITY, _PRIORITY))
    attributes.append((A.ICE_CONTROLLING, _TIE_BREAKER))
    attributes.append((A.USE_CANDIDATE, True))
    data = request.encode(_KEY, fingerprint=True)
    parsed = StunMessage.parse(data)
    if not (parsed.verify_fingerprint() and parsed.verify_integrity(_KEY)):
        raise AssertionError("verification failed")


def _aioice() -> None:
    from aioice import stun

    request = stun.Message(stun.Method.BINDING, stun.Class.REQUEST, _TRANSACTION_ID)
    request.attributes["USERNAME"] = _USERNAME
    request.attributes["PRIORITY"] = _PRIORITY
    request.attributes["ICE-CONTROLLING"] = _TIE_BREAKER
    request.attributes["USE-CANDIDATE"] = None
    request.add_message_integrity(_KEY)  # adds FINGERPRINT too
    data = bytes(request)
    parsed = stun.parse_message(data)  # checks FINGERPRINT
    if not parsed.check_message_integrity(_KEY):
        raise AssertionError("verification failed")


def rows() -> list[Row]:
    return [
        Row(
            name="stun binding request MI+FP build/parse/verify",
            unit="msg/s",
            ours=lambda: rate(_ours),
            baseline=lambda: rate(_aioice),
            baseline_name="aioice.stun",
            goal=2.0,
        )
    ]
