"""STUN: a binding request with MESSAGE-INTEGRITY and FINGERPRINT, built,
serialized, parsed and verified; ours against ``aioice.stun`` in the same run."""

from __future__ import annotations

import time

from benchmarks.common import Row, median_figure, paired_row
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
    # wall clock, ours and aioice in alternating rounds: the machine is shared,
    # and alternating short rounds exposes both sides to the same load
    return [
        paired_row("stun binding request MI+FP build/parse/verify", "msg/s", _ours, _aioice,
                   "aioice.stun", clock=time.perf_counter, rounds=9, min_time=0.1, goal=2.0)
    ]


# -- ICE data path: 1,200-byte datagrams over loopback through a connected pair --

_DATAGRAM = b"\x80" + bytes(1199)
_TRANSFER = 20_000  # datagrams per measurement (24 MB)
# Datagrams in flight: below what a default socket buffer holds, so that the
# figure is goodput, not loss (asyncio's datagram transport reads one datagram
# per loop iteration and overflows the buffer when a sender bursts).
_WINDOW = 48


async def _ours_throughput() -> float:
    import asyncio

    from webrtc.ice.aio import IceConnection

    received = [0]

    def on_payload(data: bytes) -> None:
        received[0] += len(data)

    sender = IceConnection(True, addresses=["127.0.0.1"])
    receiver = IceConnection(False, addresses=["127.0.0.1"], on_payload=on_payload)
    try:
        await sender.gather()
        await receiver.gather()
        for source, destination in ((sender, receiver), (receiver, sender)):
            destination.set_remote_credentials(source.local_ufrag, source.local_pwd)
            for candidate in source.local_candidates:
                destination.add_remote_candidate(candidate)
            destination.add_remote_candidate(None)
        await asyncio.gather(sender.connect(), receiver.connect())
        start = time.perf_counter()
        sent = 0
        while received[0] < _TRANSFER * 1200 and time.perf_counter() - start < 10:
            # A window of datagrams in flight, as a transport above would keep.
            while sent < _TRANSFER and sent * 1200 - received[0] < _WINDOW * 1200:
                sender.send_payload(_DATAGRAM)
                sent += 1
            await asyncio.sleep(0)
        return received[0] / (time.perf_counter() - start) / 1e6
    finally:
        sender.close()
        receiver.close()


async def _aioice_throughput() -> float:
    import asyncio

    import aioice
    import aioice.ice

    original = aioice.ice.get_host_addresses
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    sender = aioice.Connection(ice_controlling=True, use_ipv6=False)
    receiver = aioice.Connection(ice_controlling=False, use_ipv6=False)
    try:
        await sender.gather_candidates()
        await receiver.gather_candidates()
        for source, destination in ((sender, receiver), (receiver, sender)):
            destination.remote_username = source.local_username
            destination.remote_password = source.local_password
            for candidate in source.local_candidates:
                await destination.add_remote_candidate(candidate)
            await destination.add_remote_candidate(None)
        await asyncio.gather(sender.connect(), receiver.connect())
        received = [0]

        async def drain() -> None:
            while True:
                received[0] += len(await receiver.recv())

        task = asyncio.ensure_future(drain())
        start = time.perf_counter()
        sent = 0
        while received[0] < _TRANSFER * 1200 and time.perf_counter() - start < 10:
            while sent < _TRANSFER and sent * 1200 - received[0] < _WINDOW * 1200:
                await sender.send(_DATAGRAM)
                sent += 1
            await asyncio.sleep(0)
        rate_mb = received[0] / (time.perf_counter() - start) / 1e6
        task.cancel()
        return rate_mb
    finally:
        aioice.ice.get_host_addresses = original
        await sender.close()
        await receiver.close()


def _throughput(which: str) -> float:
    import asyncio

    function = _ours_throughput if which == "ours" else _aioice_throughput
    return median_figure(lambda: asyncio.run(function()), repeats=3)


rows_stun = rows


def rows() -> list[Row]:  # type: ignore[no-redef]
    return [
        *rows_stun(),
        Row(
            name="ice loopback 1200-byte datagrams",
            unit="MB/s",
            ours=lambda: _throughput("ours"),
            baseline=lambda: _throughput("aioice"),
            baseline_name="aioice.Connection",
        ),
    ]
