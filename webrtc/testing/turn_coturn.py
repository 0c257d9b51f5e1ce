"""Starting a real coturn (``turnserver``) on 127.0.0.1, for tests and benchmarks.

Every server gets free ports, its own temporary directory (user database, log,
pid file), a long-term user and a realm, loopback peers allowed, no CLI and no
DTLS. TLS uses a self-signed certificate for ``localhost`` and 127.0.0.1 that
is generated with ``cryptography``. A missing ``turnserver`` raises
:class:`CoturnNotFound` (the test fixtures turn it into a skip with the
reason printed); :meth:`Coturn.stop` kills the server.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import random
import shutil
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Coturn",
    "CoturnError",
    "CoturnNotFound",
    "make_self_signed_certificate",
    "start_coturn",
]

USERNAME = "alice"
PASSWORD = "wonderland-secret"
REALM = "turn.example.org"


class CoturnNotFound(FileNotFoundError):
    """``turnserver`` is not installed (Debian package ``coturn``)."""


class CoturnError(RuntimeError):
    """``turnserver`` exited or did not come up."""


@dataclass
class Coturn:
    """A running coturn and how to reach it."""

    process: subprocess.Popen[bytes]
    directory: Path
    udp_port: int
    tcp_port: int
    tls_port: int | None
    cert_file: Path | None
    username: str = USERNAME
    password: str = PASSWORD
    realm: str = REALM
    host: str = "127.0.0.1"
    extra_args: list[str] = field(default_factory=list)

    @property
    def log(self) -> str:
        path = self.directory / "turn.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def url(self, transport: str) -> str:
        if transport == "tls":
            return f"turns:localhost:{self.tls_port}"
        port = self.udp_port
        return f"turn:{self.host}:{port}?transport={transport}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port found")


def make_self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for ``localhost`` and 127.0.0.1 and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _stun_binding_answers(port: int, timeout: float) -> bool:
    """Whether a STUN Binding request to 127.0.0.1:port gets any answer."""
    request = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(timeout)
        try:
            udp.sendto(request, ("127.0.0.1", port))
            data = udp.recv(2048)
        except OSError:
            return False
    return data[8:20] == request[8:20]


def start_coturn(
    directory: Path,
    tls: bool = False,
    extra_args: list[str] | None = None,
    users: list[tuple[str, str]] | None = None,
    certificate: tuple[Path, Path] | None = None,
) -> Coturn:
    """Start coturn in ``directory``; ``certificate`` (cert and key PEM files)
    to share one identity between servers, else a fresh self-signed one."""
    executable = shutil.which("turnserver")
    if executable is None:
        raise CoturnNotFound("turnserver (Debian package coturn) not found")
    directory.mkdir(parents=True, exist_ok=True)
    udp_port = _free_port()
    tls_port = _free_port() if tls else None
    # A random window for relay ports, so that parallel servers rarely collide.
    relay_low = random.randrange(20000, 60000, 200)
    args = [
        executable,
        "-n",
        "--no-cli",
        "--no-dtls",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--listening-port={udp_port}",
        f"--min-port={relay_low}",
        f"--max-port={relay_low + 199}",
        "--lt-cred-mech",
        f"--realm={REALM}",
        "--allow-loopback-peers",
        "--no-software-attribute",
        "--no-rfc5780",
        f"--db={directory / 'turndb.sqlite'}",
        f"--pidfile={directory / 'turn.pid'}",
        f"--log-file={directory / 'turn.log'}",
        "--simple-log",
        "--no-stdout-log",
        "--verbose",
    ]
    for user, password in users or [(USERNAME, PASSWORD)]:
        args.append(f"--user={user}:{password}")
    cert_file: Path | None = None
    if tls:
        cert_file, key_file = certificate or make_self_signed_certificate(directory)
        args += [f"--tls-listening-port={tls_port}", f"--cert={cert_file}", f"--pkey={key_file}"]
    else:
        args.append("--no-tls")
    args += extra_args or []
    process = subprocess.Popen(
        args, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    server = Coturn(
        process=process,
        directory=directory,
        udp_port=udp_port,
        tcp_port=udp_port,
        tls_port=tls_port,
        cert_file=cert_file,
        extra_args=list(extra_args or []),
    )
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            log = server.log
            raise CoturnError(f"turnserver exited with {process.returncode}: {log[-2000:]}")
        if (
            _stun_binding_answers(udp_port, 0.2)
            and _tcp_accepts(udp_port)
            and (tls_port is None or _tcp_accepts(tls_port))
        ):
            return server
        if time.monotonic() > deadline:
            server.stop()
            raise CoturnError(f"turnserver did not come up: {server.log[-2000:]}")


def _tcp_accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False
