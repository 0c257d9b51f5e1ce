"""The coturn fixture itself: it starts, answers, and is gone after teardown."""

from __future__ import annotations

import socket
import ssl

from coturn_fixture import Coturn


def test_coturn_listens_on_udp_tcp_and_tls(coturn: Coturn) -> None:
    assert coturn.process.poll() is None
    with socket.create_connection(("127.0.0.1", coturn.tcp_port), 2):
        pass
    assert coturn.cert_file is not None and coturn.tls_port is not None
    context = ssl.create_default_context(cafile=str(coturn.cert_file))
    with (
        socket.create_connection(("127.0.0.1", coturn.tls_port), 2) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.version() is not None
