"""Run a DTLS-SRTP handshake between ``openssl s_server`` and ``openssl s_client``
over 127.0.0.1 and collect the SRTP keying material each side exported.

Test support for the RTP layer (RFC 5764 keying), usable until and beside the
project's own DTLS engine: the material comes from a real, independent DTLS
implementation.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DtlsSrtpExport", "openssl_dtls_srtp_export"]

_MATERIAL = re.compile(r"Keying material: ([0-9A-F]+)")
_PROFILE = re.compile(r"SRTP Extension negotiated, profile=(\S+)")


@dataclass(frozen=True)
class DtlsSrtpExport:
    profile: str
    client_material: bytes
    server_material: bytes


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_until(fd: int, marker: bytes | re.Pattern[str], timeout: float) -> bytes:
    """Read raw bytes from ``fd`` until ``marker`` shows up, EOF, or the timeout."""
    deadline = time.monotonic() + timeout
    data = b""
    while (remaining := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], remaining)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
        if isinstance(marker, bytes):
            if marker in data:
                break
        elif marker.search(data.decode(errors="replace")):
            break
    return data


def openssl_dtls_srtp_export(
    profile_name: str, length: int, timeout: float = 15.0
) -> DtlsSrtpExport:
    """Handshake ``openssl s_client`` with ``openssl s_server`` (DTLS 1.2, use_srtp).

    Raises FileNotFoundError if ``openssl`` is missing and RuntimeError if the
    handshake or export did not happen.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl not found")
    with tempfile.TemporaryDirectory() as directory:
        cert, key = Path(directory, "cert.pem"), Path(directory, "key.pem")
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=dtls-srtp-test",
             "-days", "1", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=timeout,
        )
        export = ["-use_srtp", profile_name, "-keymatexport", "EXTRACTOR-dtls_srtp",
                  "-keymatexportlen", str(length)]
        port = _free_udp_port()
        server = subprocess.Popen(
            [openssl, "s_server", "-dtls1_2", "-accept", f"127.0.0.1:{port}", "-cert", str(cert),
             "-key", str(key), "-naccept", "1", *export],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        client: subprocess.Popen[bytes] | None = None
        try:
            assert server.stdout is not None
            _read_until(server.stdout.fileno(), b"ACCEPT", timeout)
            client = subprocess.Popen(
                [openssl, "s_client", "-dtls1_2", "-connect", f"127.0.0.1:{port}", *export],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )
            assert client.stdout is not None
            # s_client prints its session (with the export) once the handshake is
            # done; it must stay connected (stdin open) until it has.
            client_out = _read_until(client.stdout.fileno(), _MATERIAL, timeout)
            # communicate() closes stdin: the client ends, then the server (-naccept 1).
            client_out += client.communicate(timeout=timeout)[0]
            server_out = server.communicate(timeout=timeout)[0]
        finally:
            for process in (server, client):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
    client_text = client_out.decode(errors="replace")
    server_text = server_out.decode(errors="replace")
    client_material = _MATERIAL.search(client_text)
    server_material = _MATERIAL.search(server_text)
    profile = _PROFILE.search(client_text)
    if client_material is None or server_material is None or profile is None:
        raise RuntimeError(
            f"DTLS-SRTP export failed\n--- client ---\n{client_text}\n--- server ---\n{server_text}"
        )
    return DtlsSrtpExport(
        profile.group(1),
        bytes.fromhex(client_material.group(1)),
        bytes.fromhex(server_material.group(1)),
    )
