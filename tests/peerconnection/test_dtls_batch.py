"""The transport hands each received batch of DTLS datagrams to DTLS at once.

The DTLS server sends its last handshake flight (ChangeCipherSpec, Finished)
and, from the same pump, its SCTP INIT: both peers live in one process, so
the two land in the DTLS client's socket before its reader runs, and so in
one batch. ``receive_datagrams`` returns application data only while no event
is pending; the INIT behind HandshakeComplete stays queued as an event, and
the pump must still bring it to SCTP (after starting the association) in the
pump of that very batch, not after a retransmission.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterable
from typing import Any

from tests.peerconnection.helpers import loopback, wait_for
from webrtc.peerconnection import RTCPeerConnection

HANDSHAKE, CHANGE_CIPHER_SPEC, APPLICATION_DATA = 22, 20, 23


def record_types(datagram: bytes) -> list[int]:
    """The content type of every DTLS record in a datagram (RFC 6347 section 4.1)."""
    types = []
    offset = 0
    while offset + 13 <= len(datagram):
        types.append(datagram[offset])
        (length,) = struct.unpack_from("!H", datagram, offset + 11)
        offset += 13 + length
    return types


def spy_on(transport: Any, log: list[tuple[str, list[int]]]) -> None:
    """Log each DTLS batch (its record types) and each SCTP packet, calling through."""
    dtls, sctp = transport.dtls, transport.sctp
    receive_datagrams = dtls.receive_datagrams
    receive_packet = sctp.receive_datagram

    def logged_batch(datagrams: Iterable[bytes], now: float) -> list[bytes]:
        datagrams = list(datagrams)
        log.append(("batch", [t for d in datagrams for t in record_types(d)]))
        payloads: list[bytes] = receive_datagrams(datagrams, now)
        return payloads

    def logged_packet(data: bytes, now: float) -> None:
        log.append(("sctp", []))
        receive_packet(data, now)

    dtls.receive_datagrams = logged_batch
    sctp.receive_datagram = logged_packet


def test_data_in_the_batch_of_the_last_handshake_flight_reaches_sctp() -> None:
    async def main() -> None:
        offerer, answerer = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())
        channel = offerer.createDataChannel("batch")
        remote: list[Any] = []
        answerer.on("datachannel", remote.append)
        await offerer.setLocalDescription(await offerer.createOffer())
        assert offerer.localDescription is not None
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert answerer.localDescription is not None
        await offerer.setRemoteDescription(answerer.localDescription)
        transports = [offerer._transport, answerer._transport]
        client = next(t for t in transports if t.dtls.is_client)
        # The offerer learns the answer (so ICE can succeed) only now: the
        # handshake has not begun, the spies see all of it.
        log: list[tuple[str, list[int]]] = []
        spy_on(client, log)
        await wait_for(lambda: channel.readyState == "open" and bool(remote))

        first_sctp = next(i for i, (kind, _) in enumerate(log) if kind == "sctp")
        batch_index = max(i for i in range(first_sctp) if log[i][0] == "batch")
        types = log[batch_index][1]
        # The server's last flight and data behind it arrived together ...
        assert CHANGE_CIPHER_SPEC in types and HANDSHAKE in types, log[:first_sctp + 1]
        assert types[-1] == APPLICATION_DATA, log[:first_sctp + 1]
        # ... and SCTP got that data in the same pump, before any later batch.
        assert all(kind == "sctp" for kind, _ in log[batch_index + 1:first_sctp + 1])

        received: list[Any] = []
        remote[0].on("message", received.append)
        channel.send(b"after the handshake")
        await wait_for(lambda: received == [b"after the handshake"])
        await offerer.close()
        await answerer.close()

    asyncio.run(asyncio.wait_for(main(), 30))
