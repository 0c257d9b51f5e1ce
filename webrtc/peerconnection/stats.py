"""``getStats()``: W3C-shaped reports (webrtc-stats) for a data-channel session.

The report maps ids to :class:`RTCStats` dictionaries that also allow
attribute access (``report[id]["bytesSent"]`` or ``stats.bytesSent``). Types
produced: ``peer-connection``, ``transport``, ``candidate-pair``,
``local-candidate``, ``remote-candidate``, ``certificate``, ``data-channel``.
"""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING, Any

from webrtc.sdp.candidate import Candidate

if TYPE_CHECKING:
    from webrtc.peerconnection.peerconnection import RTCPeerConnection

__all__ = ["RTCStats", "RTCStatsReport", "collect_stats"]


class RTCStats(dict[str, Any]):
    """One stats dictionary; keys are also attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class RTCStatsReport(dict[str, RTCStats]):
    """id -> :class:`RTCStats`, like the browser's ``RTCStatsReport`` map."""

    def of_type(self, kind: str) -> list[RTCStats]:
        return [stats for stats in self.values() if stats["type"] == kind]


def _candidate_stats(prefix: str, candidate: Candidate, timestamp: float) -> RTCStats:
    return RTCStats(
        id=f"{prefix}-{candidate.foundation}-{candidate.address}-{candidate.port}",
        type=f"{prefix}-candidate", timestamp=timestamp, transportId="T0",
        address=candidate.address, port=candidate.port,
        protocol=candidate.transport.lower(), candidateType=candidate.type,
        priority=candidate.priority, foundation=candidate.foundation,
        relatedAddress=candidate.related_address, relatedPort=candidate.related_port,
        usernameFragment=candidate.ufrag)


def collect_stats(pc: RTCPeerConnection) -> RTCStatsReport:
    timestamp = time.time() * 1000.0  # W3C: milliseconds since the epoch
    report = RTCStatsReport()

    def add(stats: RTCStats) -> None:
        report[stats["id"]] = stats

    transport = pc._transport
    channels = list(pc._channels.values())
    add(RTCStats(id="P", type="peer-connection", timestamp=timestamp,
                 dataChannelsOpened=pc._channels_opened,
                 dataChannelsClosed=pc._channels_closed))
    certificate = transport.certificate
    fingerprint = pc._fingerprints[0]
    add(RTCStats(id="CF-local", type="certificate", timestamp=timestamp,
                 fingerprint=fingerprint.value, fingerprintAlgorithm=fingerprint.algorithm,
                 base64Certificate=base64.b64encode(certificate.der).decode()))
    if transport.dtls is not None and transport.dtls.remote_certificate is not None:
        from webrtc.dtls import certificate_fingerprint

        der = transport.dtls.remote_certificate
        add(RTCStats(id="CF-remote", type="certificate", timestamp=timestamp,
                     fingerprint=certificate_fingerprint(der, "sha-256"),
                     fingerprintAlgorithm="sha-256",
                     base64Certificate=base64.b64encode(der).decode()))

    sent = received = packets_sent = packets_received = 0
    for counters in transport.counters.values():
        sent += counters.bytes_sent
        received += counters.bytes_received
        packets_sent += counters.packets_sent
        packets_received += counters.packets_received

    ice = transport.ice
    selected_id: str | None = None
    rtt = _round_trip_time(pc)
    if ice is not None:
        for candidate in transport.local_candidates:
            add(_candidate_stats("local", candidate, timestamp))
        seen_remote: set[str] = set()
        for pair in ice.pairs:
            local = _candidate_stats("local", pair.local, timestamp)
            remote = _candidate_stats("remote", pair.remote, timestamp)
            add(local)
            if remote["id"] not in seen_remote:
                seen_remote.add(remote["id"])
                add(remote)
            route = transport.counters.get(pair.route)
            selected = ice.selected_pair is pair
            pair_id = f"CP-{local['id']}-{remote['id']}"
            if selected:
                selected_id = pair_id
            add(RTCStats(
                id=pair_id, type="candidate-pair", timestamp=timestamp, transportId="T0",
                localCandidateId=local["id"], remoteCandidateId=remote["id"],
                state=pair.state.value, nominated=pair.nominated or selected,
                priority=pair.priority,
                bytesSent=route.bytes_sent if route else 0,
                bytesReceived=route.bytes_received if route else 0,
                packetsSent=route.packets_sent if route else 0,
                packetsReceived=route.packets_received if route else 0,
                requestsSent=pair.requests_sent,
                requestsReceived=pair.requests_received,
                responsesSent=pair.responses_sent,
                responsesReceived=pair.responses_received,
                # ICE's check round trip, else (selected pair) SCTP's smoothed RTT.
                currentRoundTripTime=pair.current_round_trip_time
                or (rtt if selected else None)))
    dtls = transport.dtls
    suite = dtls.cipher_suite if dtls is not None else None
    add(RTCStats(
        id="T0", type="transport", timestamp=timestamp, bytesSent=sent, bytesReceived=received,
        packetsSent=packets_sent, packetsReceived=packets_received,
        iceState=pc.iceConnectionState, iceRole=("controlling" if ice and ice.controlling
                                                 else "controlled") if ice else "unknown",
        iceLocalUsernameFragment=pc._ice_ufrag,
        dtlsState=pc._dtls_state, dtlsRole=("client" if transport.dtls_client else "server")
        if transport.dtls_client is not None else "unknown",
        dtlsCipher=suite.iana_name if suite is not None else None, tlsVersion="FEFD",
        selectedCandidatePairId=selected_id, localCertificateId="CF-local",
        remoteCertificateId="CF-remote" if "CF-remote" in report else None))
    for channel in channels:
        stats = RTCStats(id=f"D{channel.id}", timestamp=timestamp, **channel._stats())
        add(stats)
    return report


def _round_trip_time(pc: RTCPeerConnection) -> float | None:
    """Smoothed RTT of the SCTP association, seconds (None before a measurement)."""
    sctp = pc._transport.sctp
    return sctp.smoothed_round_trip_time if sctp is not None else None
