"""SRTP keyed from our own DTLS handshake (both our roles, in the simulator) and
from our DTLS server against ``openssl s_client -use_srtp`` exporting its keys."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
from srtp_checks import exercise

from webrtc.dtls import Certificate, DtlsConnection, HandshakeComplete
from webrtc.dtls import SrtpProfile as DtlsSrtpProfile
from webrtc.dtls.aio import open_dtls_endpoint
from webrtc.rtp.srtp import SrtpProfile, SrtpSession
from webrtc.testing.dtls import make_pair

_KEYMAT = re.compile(rb"Keying material: ([0-9A-Fa-f]+)")


@pytest.mark.parametrize("profile", list(SrtpProfile))
def test_keyed_from_our_dtls_client_and_server(profile: SrtpProfile) -> None:
    pair = make_pair(
        client_options={"srtp_profiles": [DtlsSrtpProfile(profile)]},
        server_options={"srtp_profiles": list(DtlsSrtpProfile)},
    )
    pair.handshake()
    done = {}
    for node in (pair.client_node, pair.server_node):
        for event in node.events:
            if isinstance(event, HandshakeComplete):
                done[event.is_client] = event
    assert int(done[True].srtp_profile or 0) == profile
    client = SrtpSession.from_handshake(done[True])
    server = SrtpSession.from_handshake(done[False])
    assert client.keys.profile is profile
    exercise(client, server)


@pytest.mark.interop
@pytest.mark.parametrize("profile", list(SrtpProfile))
def test_our_dtls_server_against_openssl_client(tmp_path: Path, profile: SrtpProfile) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not found")
    server_certificate = Certificate.generate()
    client_certificate = Certificate.generate()
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(client_certificate.certificate_pem())
    key.write_bytes(client_certificate.private_key_pem())

    async def run() -> tuple[HandshakeComplete, bytes]:
        connection = DtlsConnection(
            False, server_certificate, client_certificate.fingerprints(),
            srtp_profiles=[DtlsSrtpProfile(profile)],
        )
        endpoint = await open_dtls_endpoint(connection)
        assert endpoint.transport is not None
        port = endpoint.transport.get_extra_info("sockname")[1]
        process = await asyncio.create_subprocess_exec(
            openssl, "s_client", "-dtls1_2", "-connect", f"127.0.0.1:{port}",
            "-cert", str(cert), "-key", str(key), "-use_srtp", profile.openssl_name,
            "-keymatexport", "EXTRACTOR-dtls_srtp",
            "-keymatexportlen", str(profile.keying_material_length),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            done = await asyncio.wait_for(endpoint.handshake(), 20)
            output = b""
            assert process.stdout is not None
            while (match := _KEYMAT.search(output)) is None:
                chunk = await asyncio.wait_for(process.stdout.read(4096), 20)
                assert chunk, output.decode(errors="replace")
                output += chunk
            endpoint.close()
            return done, bytes.fromhex(match.group(1).decode())
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()

    done, openssl_material = asyncio.run(run())
    ours = SrtpSession.from_handshake(done)
    theirs = SrtpSession.from_keying_material(profile, openssl_material, is_client=True)
    exercise(theirs, ours)


def test_media_sessions_over_srtp_keyed_by_our_dtls() -> None:
    """Two MediaSessions keyed from one of our DTLS handshakes carry a lossy
    video stream: RTP, RTX and RTCP (SR, RR, NACK, XR, TWCC) all go through
    SRTP/SRTCP and every frame arrives."""
    import random

    from webrtc.rtp import HeaderExtensionMap, MediaSession, RtpReceiver, RtpSender, Vp8Codec
    from webrtc.rtp import extensions as ext
    from webrtc.testing import LinkConfig, Network
    from webrtc.testing.rtp import MediaEndpoint, VideoLikeSource

    pair = make_pair()
    pair.handshake()
    done = {
        event.is_client: event
        for node in (pair.client_node, pair.server_node)
        for event in node.events
        if isinstance(event, HandshakeComplete)
    }
    pairs = [(1, ext.MID), (2, ext.ABS_SEND_TIME), (3, ext.TRANSPORT_WIDE_CC)]
    rng = random.Random(4)
    sending = MediaSession(local_ssrc=0xA, srtp=SrtpSession.from_handshake(done[True]),
                           extensions=HeaderExtensionMap(pairs), rng=rng)
    sending.add_sender(RtpSender(0x1000, 96, 90000, codec=Vp8Codec(), mid="0", rtx_ssrc=0x1001,
                                 rtx_payload_type=97, randbytes=rng.randbytes, rng=rng))
    receiving = MediaSession(local_ssrc=0xB, srtp=SrtpSession.from_handshake(done[False]),
                             extensions=HeaderExtensionMap(pairs), rng=rng)
    receiving.expect_media(
        "0", lambda ssrc, route: RtpReceiver(ssrc, 90000, local_ssrc=0xB, codec=Vp8Codec(),
                                             rtx_payload_type=97), (96, 97),
    )
    network = Network(seed=4, default_link=LinkConfig(delay=0.05, jitter=0.004, loss=0.05))
    sender = MediaEndpoint(sending, VideoLikeSource(seed=4), 0x1000, stop_at=5.0)
    receiver = MediaEndpoint(receiving)
    network.add_engine(sender, ("10.0.0.1", 5004), ("10.0.0.2", 5004))
    network.add_engine(receiver, ("10.0.0.2", 5004), ("10.0.0.1", 5004))
    network.run(timeout=6.0)
    sent = [i for i, t in sender.record.sent.items() if t < 4.5]
    assert all(i in receiver.record.received for i in sent)
    assert sending.senders[0x1000].retransmissions > 0
    assert sending.senders[0x1000].rtt is not None
    for session in (sending, receiving):
        assert session.srtp is not None
        assert session.stats.dropped_srtp == 0 and session.stats.dropped_malformed == 0
        assert session.srtp.stats.unprotected_rtcp > 0
    assert receiving.srtp is not None and receiving.srtp.stats.unprotected_rtp > 100
