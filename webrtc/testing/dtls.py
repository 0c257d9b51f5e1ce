"""Helpers to run two :class:`webrtc.dtls.DtlsConnection` ends in the simulator."""

from __future__ import annotations

from dataclasses import dataclass

from webrtc.dtls import Certificate, DtlsConnection, DtlsState
from webrtc.testing.network import EngineNode, LinkConfig, Network

__all__ = ["DtlsPair", "make_pair"]

CLIENT_ADDRESS = ("10.0.0.1", 5000)
SERVER_ADDRESS = ("10.0.0.2", 5000)


@dataclass
class DtlsPair:
    network: Network
    client: DtlsConnection
    server: DtlsConnection
    client_node: EngineNode
    server_node: EngineNode

    def connected(self) -> bool:
        return (self.client.state is DtlsState.CONNECTED
                and self.server.state is DtlsState.CONNECTED)

    def handshake(self, timeout: float = 60.0) -> None:
        self.client.start(self.network.now)
        self.server.start(self.network.now)
        self.network.run(self.connected, timeout=timeout)


def make_pair(
    client_certificate: Certificate | None = None,
    server_certificate: Certificate | None = None,
    link: LinkConfig | None = None,
    seed: int = 0,
    client_options: dict[str, object] | None = None,
    server_options: dict[str, object] | None = None,
) -> DtlsPair:
    """A client and a server that trust each other's fingerprints, on one network."""
    client_certificate = client_certificate or Certificate.generate()
    server_certificate = server_certificate or Certificate.generate()
    client = DtlsConnection(True, client_certificate, server_certificate.fingerprints(),
                            **(client_options or {}))  # type: ignore[arg-type]
    server = DtlsConnection(False, server_certificate, client_certificate.fingerprints(),
                            **(server_options or {}))  # type: ignore[arg-type]
    network = Network(seed=seed, default_link=link or LinkConfig(delay=0.01))
    client_node = network.add_engine(client, CLIENT_ADDRESS, SERVER_ADDRESS)
    server_node = network.add_engine(server, SERVER_ADDRESS, CLIENT_ADDRESS)
    return DtlsPair(network, client, server, client_node, server_node)
