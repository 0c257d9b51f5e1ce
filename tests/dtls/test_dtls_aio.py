"""The asyncio adapter: two of our own engines over loopback UDP sockets."""

from __future__ import annotations

import asyncio

import pytest

from webrtc.dtls import Certificate, ConnectionClosed, DtlsConnection
from webrtc.dtls.aio import DtlsError, open_dtls_endpoint


def test_loopback_pair(client_certificate: Certificate,
                       server_certificate: Certificate) -> None:
    async def run() -> None:
        server = await open_dtls_endpoint(DtlsConnection(
            False, server_certificate, client_certificate.fingerprints(), use_cookie=True))
        assert server.transport is not None
        port = server.transport.get_extra_info("sockname")[1]
        client = await open_dtls_endpoint(
            DtlsConnection(True, client_certificate, server_certificate.fingerprints()),
            remote_address=("127.0.0.1", port))
        client_done, server_done = await asyncio.wait_for(
            asyncio.gather(client.handshake(), server.handshake()), 10)
        assert client_done.srtp_local_master == server_done.srtp_remote_master
        for i in range(50):
            client.send(b"%d" % i)
        received = [await asyncio.wait_for(server.recv(), 5) for _ in range(50)]
        assert received == [b"%d" % i for i in range(50)]
        server.send(b"bye")
        assert await asyncio.wait_for(client.recv(), 5) == b"bye"
        client.close()
        with pytest.raises(DtlsError) as error:
            await asyncio.wait_for(server.recv(), 5)
        assert error.value.event == ConnectionClosed(by_peer=True)
        server.close()

    asyncio.run(run())


def test_handshake_failure_raises(client_certificate: Certificate,
                                  server_certificate: Certificate) -> None:
    async def run() -> None:
        server = await open_dtls_endpoint(DtlsConnection(
            False, server_certificate, client_certificate.fingerprints()))
        assert server.transport is not None
        port = server.transport.get_extra_info("sockname")[1]
        client = await open_dtls_endpoint(
            DtlsConnection(True, client_certificate, [("sha-256", "00:11")]),
            remote_address=("127.0.0.1", port))
        with pytest.raises(DtlsError):
            await asyncio.wait_for(client.handshake(), 10)
        with pytest.raises(DtlsError):
            await asyncio.wait_for(server.handshake(), 10)
        client.close()
        server.close()

    asyncio.run(run())
