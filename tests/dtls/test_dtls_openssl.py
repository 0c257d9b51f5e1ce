"""Interop over loopback UDP with ``openssl s_server`` / ``s_client -dtls1_2``.

Both our roles, ECDSA certificates on both sides, use_srtp with the
AES-CM-SHA1-80 and AEAD-AES-128-GCM profiles, application data both ways, the
exported SRTP keying material compared with the one OpenSSL prints
(``-keymatexport``), and again with ``-mtu 500`` to force fragmentation.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
from pathlib import Path

import pytest

from webrtc.dtls import Certificate, CipherSuite, DtlsConnection, NamedGroup, SrtpProfile
from webrtc.dtls.aio import open_dtls_endpoint

pytestmark = pytest.mark.interop

OPENSSL = shutil.which("openssl")
_KEYMAT = re.compile(rb"Keying material: ([0-9A-Fa-f]+)")
_TIMEOUT = 20.0


def _require_openssl() -> str:
    if OPENSSL is None:
        pytest.skip("openssl binary not found")
    return OPENSSL


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_certificate(directory: Path, name: str, certificate: Certificate) -> tuple[str, str]:
    cert_path = directory / f"{name}.pem"
    key_path = directory / f"{name}.key"
    cert_path.write_bytes(certificate.certificate_pem())
    key_path.write_bytes(certificate.private_key_pem())
    return str(cert_path), str(key_path)


class _OpenSsl:
    """An openssl s_server/s_client process whose output we read as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output = b""

    async def wait_for(self, pattern: bytes | re.Pattern[bytes]) -> re.Match[bytes]:
        regex = re.compile(re.escape(pattern)) if isinstance(pattern, bytes) else pattern
        assert self.process.stdout is not None
        while (match := regex.search(self.output)) is None:
            chunk = await self.process.stdout.read(4096)
            if not chunk:
                raise AssertionError(f"openssl exited before {pattern!r}:\n"
                                     f"{self.output.decode(errors='replace')}")
            self.output += chunk
        return match

    def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


async def _start(*args: str) -> _OpenSsl:
    process = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    return _OpenSsl(process)


PROFILES = [
    (SrtpProfile.AES128_CM_HMAC_SHA1_80, None),
    (SrtpProfile.AEAD_AES_128_GCM, None),
    (SrtpProfile.AES128_CM_HMAC_SHA1_80, 500),
]


@pytest.mark.parametrize(("profile", "mtu"), PROFILES)
def test_our_client_against_openssl_server(tmp_path: Path, profile: SrtpProfile,
                                           mtu: int | None) -> None:
    openssl = _require_openssl()
    server_certificate = Certificate.generate()
    client_certificate = Certificate.generate()
    cert, key = _write_certificate(tmp_path, "server", server_certificate)
    length = 2 * (profile.key_length + profile.salt_length)

    async def run() -> None:
        port = _free_udp_port()
        args = [openssl, "s_server", "-dtls1_2", "-accept", f"127.0.0.1:{port}",
                "-cert", cert, "-key", key, "-verify", "1",
                "-use_srtp", profile.openssl_name,
                "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", str(length)]
        if mtu is not None:
            args += ["-mtu", str(mtu)]
        server = await _start(*args)
        try:
            await asyncio.wait_for(server.wait_for(b"ACCEPT"), _TIMEOUT)
            connection = DtlsConnection(True, client_certificate,
                                        server_certificate.fingerprints(),
                                        srtp_profiles=[profile], mtu=mtu or 1200)
            endpoint = await open_dtls_endpoint(connection, remote_address=("127.0.0.1", port))
            done = await asyncio.wait_for(endpoint.handshake(), _TIMEOUT)
            match = await asyncio.wait_for(server.wait_for(_KEYMAT), _TIMEOUT)
            assert done.srtp_profile is profile
            assert done.srtp_keying_material == bytes.fromhex(match.group(1).decode())
            assert done.cipher_suite is CipherSuite.ECDHE_ECDSA_AES_128_GCM_SHA256
            # s_server demands a cookie: our client answered its HelloVerifyRequest.
            assert connection._cookie
            endpoint.send(b"hello from webrtc.dtls\n")
            await asyncio.wait_for(server.wait_for(b"hello from webrtc.dtls"), _TIMEOUT)
            server.write(b"hello from openssl\n")
            received = await asyncio.wait_for(endpoint.recv(), _TIMEOUT)
            assert received == b"hello from openssl\n"
            if mtu is not None:
                # The server's certificate flight had to be fragmented.
                assert connection.stats.records_received > 6
            endpoint.close()
        finally:
            await server.stop()

    asyncio.run(run())


@pytest.mark.parametrize(("profile", "mtu"), PROFILES)
def test_our_server_against_openssl_client(tmp_path: Path, profile: SrtpProfile,
                                           mtu: int | None) -> None:
    openssl = _require_openssl()
    server_certificate = Certificate.generate()
    client_certificate = Certificate.generate()
    cert, key = _write_certificate(tmp_path, "client", client_certificate)
    length = 2 * (profile.key_length + profile.salt_length)

    async def run() -> None:
        connection = DtlsConnection(False, server_certificate,
                                    client_certificate.fingerprints(),
                                    srtp_profiles=[profile], mtu=mtu or 1200,
                                    use_cookie=True)
        endpoint = await open_dtls_endpoint(connection)
        assert endpoint.transport is not None
        port = endpoint.transport.get_extra_info("sockname")[1]
        args = [openssl, "s_client", "-dtls1_2", "-connect", f"127.0.0.1:{port}",
                "-cert", cert, "-key", key, "-use_srtp", profile.openssl_name,
                "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", str(length)]
        if mtu is not None:
            args += ["-mtu", str(mtu)]
        client = await _start(*args)
        try:
            done = await asyncio.wait_for(endpoint.handshake(), _TIMEOUT)
            match = await asyncio.wait_for(client.wait_for(_KEYMAT), _TIMEOUT)
            assert done.srtp_profile is profile
            assert done.srtp_keying_material == bytes.fromhex(match.group(1).decode())
            assert done.remote_certificate == client_certificate.der
            client.write(b"hello from openssl\n")
            received = await asyncio.wait_for(endpoint.recv(), _TIMEOUT)
            assert received == b"hello from openssl\n"
            endpoint.send(b"hello from webrtc.dtls\n")
            await asyncio.wait_for(client.wait_for(b"hello from webrtc.dtls"), _TIMEOUT)
            endpoint.close()
        finally:
            await client.stop()

    asyncio.run(run())


# (OpenSSL cipher name, our suite, key type, group). With an ECDSA certificate
# OpenSSL also requires the certificate's curve (P-256) among the groups
# (RFC 8422 §5.1), so it is listed after the group under test; our end is
# configured with the group under test first, so that one is negotiated.
SUITES = [
    ("ECDHE-ECDSA-AES256-GCM-SHA384", CipherSuite.ECDHE_ECDSA_AES_256_GCM_SHA384, "ecdsa",
     NamedGroup.SECP384R1),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", CipherSuite.ECDHE_ECDSA_AES_256_GCM_SHA384, "ecdsa",
     NamedGroup.X25519),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", CipherSuite.ECDHE_ECDSA_CHACHA20_POLY1305_SHA256, "ecdsa",
     NamedGroup.SECP256R1),
    ("ECDHE-RSA-AES128-GCM-SHA256", CipherSuite.ECDHE_RSA_AES_128_GCM_SHA256, "rsa",
     NamedGroup.X25519),
    ("ECDHE-RSA-AES256-GCM-SHA384", CipherSuite.ECDHE_RSA_AES_256_GCM_SHA384, "rsa",
     NamedGroup.SECP256R1),
    ("ECDHE-RSA-CHACHA20-POLY1305", CipherSuite.ECDHE_RSA_CHACHA20_POLY1305_SHA256, "rsa",
     NamedGroup.SECP384R1),
]
_OPENSSL_GROUPS = {NamedGroup.X25519: "X25519", NamedGroup.SECP256R1: "P-256",
                   NamedGroup.SECP384R1: "P-384"}


@pytest.mark.parametrize(("cipher", "suite", "key_type", "group"), SUITES)
@pytest.mark.parametrize("our_role", ["client", "server"])
def test_other_suites_with_openssl(tmp_path: Path, cipher: str, suite: CipherSuite,
                                   key_type: str, group: NamedGroup, our_role: str) -> None:
    openssl = _require_openssl()
    ours = Certificate.generate(key_type)
    theirs = Certificate.generate(key_type)
    cert, key = _write_certificate(tmp_path, "peer", theirs)
    profile = SrtpProfile.AES128_CM_HMAC_SHA1_80

    async def run() -> None:
        groups = _OPENSSL_GROUPS[group]
        if key_type == "ecdsa" and group is not NamedGroup.SECP256R1:
            groups += ":P-256"
        common = ["-dtls1_2", "-cert", cert, "-key", key, "-cipher", cipher, "-groups", groups,
                  "-use_srtp", profile.openssl_name, "-keymatexport", "EXTRACTOR-dtls_srtp",
                  "-keymatexportlen", "60"]
        our_groups = [group]
        if our_role == "client" and key_type == "ecdsa" and group is not NamedGroup.SECP256R1:
            # Our supported_groups also tells the server which curves its
            # ECDSA certificate may use (RFC 8422 §5.1).
            our_groups.append(NamedGroup.SECP256R1)
        connection = DtlsConnection(our_role == "client", ours, theirs.fingerprints(),
                                    srtp_profiles=[profile], groups=our_groups)
        if our_role == "client":
            port = _free_udp_port()
            peer = await _start(openssl, "s_server", "-accept", f"127.0.0.1:{port}",
                                "-verify", "1", *common)
            await asyncio.wait_for(peer.wait_for(b"ACCEPT"), _TIMEOUT)
            endpoint = await open_dtls_endpoint(connection, remote_address=("127.0.0.1", port))
        else:
            endpoint = await open_dtls_endpoint(connection)
            assert endpoint.transport is not None
            port = endpoint.transport.get_extra_info("sockname")[1]
            peer = await _start(openssl, "s_client", "-connect", f"127.0.0.1:{port}", *common)
        try:
            done = await asyncio.wait_for(endpoint.handshake(), _TIMEOUT)
            match = await asyncio.wait_for(peer.wait_for(_KEYMAT), _TIMEOUT)
            assert done.cipher_suite is suite
            assert done.named_group is group
            assert done.srtp_keying_material == bytes.fromhex(match.group(1).decode())
            endpoint.send(b"ping from webrtc.dtls\n")
            await asyncio.wait_for(peer.wait_for(b"ping from webrtc.dtls"), _TIMEOUT)
            peer.write(b"pong from openssl\n")
            assert await asyncio.wait_for(endpoint.recv(), _TIMEOUT) == b"pong from openssl\n"
            endpoint.close()
        finally:
            await peer.stop()

    asyncio.run(run())
