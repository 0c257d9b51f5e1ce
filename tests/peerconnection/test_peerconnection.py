"""RTCPeerConnection behaviour: states, candidates, channels, limits, stats."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.peerconnection.helpers import connected_pair, loopback, wait_for
from webrtc.peerconnection import (
    InvalidStateError,
    MessageTooLargeError,
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
)


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def test_signaling_states_and_rollback() -> None:
    async def main() -> None:
        pc, other = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())
        seen: list[str] = []
        pc.on("signalingstatechange", lambda: seen.append(pc.signalingState))
        assert pc.signalingState == "stable"
        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)
        assert pc.signalingState == "have-local-offer"
        assert pc.pendingLocalDescription is not None
        with pytest.raises(InvalidStateError):
            await pc.createAnswer()
        await pc.setLocalDescription(RTCSessionDescription(sdp="", type="rollback"))
        assert pc.signalingState == "stable"
        assert pc.localDescription is None
        with pytest.raises(InvalidStateError):
            await pc.setLocalDescription(RTCSessionDescription(sdp="", type="rollback"))

        # Remote offer, rolled back, then taken again and answered.
        await other.setLocalDescription(await other.createOffer())
        assert other.localDescription is not None
        await pc.setRemoteDescription(other.localDescription)
        assert pc.signalingState == "have-remote-offer"
        await pc.setRemoteDescription(RTCSessionDescription(sdp="", type="rollback"))
        assert pc.signalingState == "stable" and pc.remoteDescription is None
        await pc.setRemoteDescription(other.localDescription)
        await pc.setLocalDescription(await pc.createAnswer())
        assert pc.signalingState == "stable"
        assert pc.currentLocalDescription is not None
        assert pc.currentRemoteDescription is not None
        assert seen == ["have-local-offer", "stable", "have-remote-offer", "stable",
                        "have-remote-offer", "stable"]
        with pytest.raises(InvalidStateError):
            await pc.setRemoteDescription(RTCSessionDescription(
                sdp=other.localDescription.sdp, type="answer"))
        await pc.close()
        await other.close()
        assert pc.signalingState == "closed"
        with pytest.raises(InvalidStateError):
            await pc.createOffer()

    run(main())


def test_candidates_trickle_and_fill_the_local_description() -> None:
    async def main() -> None:
        pc = RTCPeerConnection(loopback())
        candidates: list[RTCIceCandidate | None] = []
        w3c_candidates: list[Any] = []
        gathering: list[str] = []
        pc.on("icecandidate", candidates.append)
        pc.onicecandidate = lambda event: w3c_candidates.append(event.candidate)
        pc.on("icegatheringstatechange", lambda: gathering.append(pc.iceGatheringState))
        await pc.setLocalDescription(await pc.createOffer())
        description = pc.localDescription
        assert description is not None
        assert "a=candidate:" in description.sdp and " 127.0.0.1 " in description.sdp
        await wait_for(lambda: candidates and candidates[-1] is None)
        assert candidates == w3c_candidates
        assert gathering == ["gathering", "complete"]
        first = candidates[0]
        assert first is not None and first.ip == "127.0.0.1" and first.type == "host"
        assert first.sdpMid == "0" and first.sdpMLineIndex == 0
        assert first.candidate.startswith("candidate:")
        assert RTCIceCandidate.from_dict(first.to_dict()) == first
        assert pc.localDescription is not None
        assert "a=end-of-candidates" in pc.localDescription.sdp
        await pc.close()

    run(main())


def test_connection_states_and_close_seen_by_both_sides() -> None:
    async def main() -> None:
        offerer, answerer, channel, remote = await connected_pair()
        assert offerer.connectionState == answerer.connectionState == "connected"
        assert offerer.iceConnectionState in ("connected", "completed")
        closed: list[str] = []
        channel.on("close", lambda: closed.append("local"))
        remote.on("close", lambda: closed.append("remote"))
        states: list[str] = []
        offerer.on("connectionstatechange", lambda: states.append(offerer.connectionState))
        await offerer.close()
        assert offerer.connectionState == "closed" and states == ["closed"]
        assert channel.readyState == "closed"
        # The peer learns through the SCTP ABORT / DTLS close_notify.
        await wait_for(lambda: remote.readyState == "closed")
        assert sorted(closed) == ["local", "remote"]
        await answerer.close()

    run(main())


def test_messages_both_ways_all_kinds() -> None:
    async def main() -> None:
        offerer, answerer, channel, remote = await connected_pair()
        got_remote: list[Any] = []
        got_local: list[Any] = []
        remote.on("message", got_remote.append)
        channel.on("message", got_local.append)
        messages: list[str | bytes] = ["text", "", b"", b"\x00\xff", "é" * 1000, bytes(70000)]
        for message in messages:
            channel.send(message)
            remote.send(message)
        await wait_for(lambda: len(got_remote) == len(got_local) == len(messages))
        assert got_remote == messages and got_local == messages
        await offerer.close()
        await answerer.close()

    run(main())


def test_max_message_size_is_enforced_with_a_clear_error() -> None:
    async def main() -> None:
        offerer, answerer = RTCPeerConnection(loopback()), RTCPeerConnection(
            RTCConfiguration(addresses=["127.0.0.1"], maxMessageSize=1000))
        channel = offerer.createDataChannel("limited")
        await offerer.setLocalDescription(await offerer.createOffer())
        assert offerer.localDescription is not None
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert answerer.localDescription is not None
        assert "a=max-message-size:1000" in answerer.localDescription.sdp
        await offerer.setRemoteDescription(answerer.localDescription)
        await wait_for(lambda: channel.readyState == "open")
        assert channel.maxMessageSize == 1000
        channel.send(bytes(1000))
        with pytest.raises(MessageTooLargeError, match=r"1001 bytes .* 1000 bytes"):
            channel.send(bytes(1001))
        await offerer.close()
        await answerer.close()

    run(main())


def test_channels_after_negotiation_need_no_renegotiation() -> None:
    async def main() -> None:
        offerer, answerer, _, _ = await connected_pair()
        arrived: list[Any] = []
        offerer.on("datachannel", arrived.append)
        answerer.on("datachannel", arrived.append)
        negotiation: list[int] = []
        offerer.on("negotiationneeded", lambda: negotiation.append(1))
        later_a = offerer.createDataChannel("later-a", ordered=False, maxPacketLifeTime=500,
                                            protocol="chat")
        later_b = answerer.createDataChannel("later-b", maxRetransmits=3)
        await wait_for(lambda: len(arrived) == 2)
        labels = {c.label: c for c in arrived}
        assert labels["later-a"].ordered is False
        assert labels["later-a"].maxPacketLifeTime == 500
        assert labels["later-a"].protocol == "chat"
        assert labels["later-b"].maxRetransmits == 3
        assert later_a.readyState == later_b.readyState == "open"
        # DTLS client (answerer) uses even stream ids, the server odd ones (RFC 8832).
        assert later_b.id is not None and later_b.id % 2 == 0
        assert later_a.id is not None and later_a.id % 2 == 1
        assert negotiation == []
        await offerer.close()
        await answerer.close()

    run(main())


def test_negotiated_channels_pair_by_id() -> None:
    async def main() -> None:
        offerer, answerer, _, _ = await connected_pair()
        a = offerer.createDataChannel("n", negotiated=True, id=42)
        b = answerer.createDataChannel("n", negotiated=True, id=42)
        got: list[Any] = []
        b.on("message", got.append)
        await wait_for(lambda: a.readyState == b.readyState == "open")
        a.send("over the negotiated channel")
        await wait_for(lambda: got == ["over the negotiated channel"])
        await offerer.close()
        await answerer.close()

    run(main())


def test_send_before_open_raises() -> None:
    async def main() -> None:
        pc = RTCPeerConnection(loopback())
        channel = pc.createDataChannel("early")
        assert channel.readyState == "connecting" and channel.id is None
        with pytest.raises(InvalidStateError):
            channel.send("too early")
        with pytest.raises(TypeError):
            pc.createDataChannel("bad", maxRetransmits=1, maxPacketLifeTime=1)
        await pc.close()
        assert channel.readyState == "closed"

    run(main())


def test_backpressure_events() -> None:
    async def main() -> None:
        offerer, answerer, channel, _remote = await connected_pair()
        low: list[int] = []
        channel.bufferedAmountLowThreshold = 1 << 16
        channel.on("bufferedamountlow", lambda: low.append(channel.bufferedAmount))
        for _ in range(40):
            channel.send(bytes(1 << 16))
        assert channel.bufferedAmount > 1 << 16
        await wait_for(lambda: bool(low))
        assert low[0] <= 1 << 16
        await offerer.close()
        await answerer.close()

    run(main())


def test_get_stats_shapes() -> None:
    async def main() -> None:
        offerer, answerer, channel, remote = await connected_pair()
        got: list[Any] = []
        remote.on("message", got.append)
        channel.send(b"x" * 5000)
        await wait_for(lambda: bool(got))
        ice = offerer._transport.ice
        # The selected pair may still await its own check's response.
        await wait_for(lambda: ice is not None and ice.selected_pair is not None
                       and ice.selected_pair.state.value == "succeeded")
        for _ in range(100):  # the RTT needs one SACK (delayed up to 200 ms)
            report = await offerer.getStats()
            transport = report.of_type("transport")[0]
            if report[transport.selectedCandidatePairId].currentRoundTripTime is not None:
                break
            await asyncio.sleep(0.02)
        kinds = {stats["type"] for stats in report.values()}
        assert {"peer-connection", "transport", "candidate-pair", "local-candidate",
                "remote-candidate", "certificate", "data-channel"} <= kinds
        transport = report.of_type("transport")[0]
        assert transport.dtlsState == "connected" and transport.bytesSent > 5000
        pair = report[transport.selectedCandidatePairId]
        assert pair.state == "succeeded" and pair.nominated
        assert pair.bytesSent > 5000 and pair.bytesReceived > 0
        assert 0 < pair.currentRoundTripTime < 1.0
        assert report[pair.localCandidateId]["address"] == "127.0.0.1"
        assert len(report.of_type("certificate")) == 2
        # Registered suite names and RFC 8122 fingerprints, as browsers report them.
        assert transport.dtlsCipher == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        local_fp = offerer.localDescription.sdp.split("a=fingerprint:sha-256 ")[1].split()[0]
        remote_fp = answerer.localDescription.sdp.split("a=fingerprint:sha-256 ")[1].split()[0]
        assert report[transport.localCertificateId].fingerprint == local_fp
        assert report[transport.remoteCertificateId].fingerprint == remote_fp
        data = next(s for s in report.of_type("data-channel") if s.label == "test")
        assert data.messagesSent == 1 and data.bytesSent == 5000
        assert data.state == "open"
        assert report["P"].dataChannelsOpened == 1 and report["P"].dataChannelsClosed == 0
        await offerer.close()
        await answerer.close()

    run(main())


def test_port_range_is_respected() -> None:
    async def main() -> None:
        base = 42000 + (asyncio.get_running_loop().time().__int__() % 1000) * 10
        pc = RTCPeerConnection(RTCConfiguration(addresses=["127.0.0.1"],
                                                portRange=(base, base + 9)))
        await pc.setLocalDescription(await pc.createOffer())
        candidate = pc._transport.local_candidates[0]
        assert base <= candidate.port <= base + 9
        await pc.close()

    run(main())


def test_aiortc_style_candidate_helpers() -> None:
    from webrtc.peerconnection import candidate_from_sdp, candidate_to_sdp

    text = "2990508302 1 udp 2122260223 127.0.0.1 60527 typ host generation 0"
    candidate = candidate_from_sdp(text)
    assert (candidate.ip, candidate.port, candidate.type, candidate.protocol) == \
        ("127.0.0.1", 60527, "host", "udp")
    assert candidate_to_sdp(candidate) == "2990508302 1 udp 2122260223 127.0.0.1 60527 typ host"


def test_wrong_fingerprint_fails_the_connection() -> None:
    async def main() -> None:
        offerer, answerer = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())
        channel = offerer.createDataChannel("never")
        states: list[str] = []
        offerer.on("connectionstatechange", lambda: states.append(offerer.connectionState))
        await offerer.setLocalDescription(await offerer.createOffer())
        assert offerer.localDescription is not None
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert answerer.localDescription is not None
        sdp = answerer.localDescription.sdp
        line = next(x for x in sdp.splitlines() if x.startswith("a=fingerprint:sha-256 "))
        digest = line.split(" ", 1)[1]
        forged = ("00" if not digest.startswith("00") else "11") + digest[2:]
        await offerer.setRemoteDescription(RTCSessionDescription(
            sdp=sdp.replace(digest, forged), type="answer"))
        await wait_for(lambda: offerer.connectionState == "failed")
        assert states[0] == "connecting" and states[-1] == "failed"
        assert channel.readyState == "connecting"
        await offerer.close()
        await answerer.close()

    run(main())


def test_invalid_descriptions_are_refused() -> None:
    async def main() -> None:
        from webrtc.peerconnection import InvalidAccessError

        pc = RTCPeerConnection(loopback())
        with pytest.raises(InvalidAccessError):
            await pc.setRemoteDescription(RTCSessionDescription(sdp="garbage", type="offer"))
        with pytest.raises(InvalidAccessError):
            await pc.setRemoteDescription(RTCSessionDescription(
                sdp="v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", type="offer"))
        with pytest.raises(InvalidStateError):
            await pc.addIceCandidate(None)
        assert pc.signalingState == "stable"
        await pc.close()

    run(main())


@pytest.mark.parametrize("who_offers_again", ["offerer", "answerer"])
def test_renegotiation_keeps_the_transport_and_roles(who_offers_again: str) -> None:
    async def main() -> None:
        offerer, answerer, channel, remote = await connected_pair()
        first, second = (offerer, answerer) if who_offers_again == "offerer" else \
            (answerer, offerer)
        dtls_roles = (offerer._transport.dtls_client, answerer._transport.dtls_client)
        await first.setLocalDescription(await first.createOffer())
        assert first.localDescription is not None
        assert "a=setup:actpass" in first.localDescription.sdp
        await second.setRemoteDescription(first.localDescription)
        await second.setLocalDescription(await second.createAnswer())
        assert second.localDescription is not None
        # The answer keeps the DTLS role the transport already has.
        expected = "active" if second._transport.dtls_client else "passive"
        assert f"a=setup:{expected}" in second.localDescription.sdp
        await first.setRemoteDescription(second.localDescription)
        assert first.signalingState == second.signalingState == "stable"
        assert (offerer._transport.dtls_client, answerer._transport.dtls_client) == dtls_roles
        got: list[Any] = []
        remote.on("message", got.append)
        channel.send("still here")
        await wait_for(lambda: got == ["still here"])
        await offerer.close()
        await answerer.close()

    run(main())


def test_created_before_the_loop_runs() -> None:
    """As with aiortc, construction needs no running loop; use happens inside it."""
    offerer, answerer = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())

    async def main() -> None:
        channel = offerer.createDataChannel("late-loop")
        await offerer.setLocalDescription(await offerer.createOffer())
        assert offerer.localDescription is not None
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert answerer.localDescription is not None
        await offerer.setRemoteDescription(answerer.localDescription)
        await wait_for(lambda: channel.readyState == "open")
        await offerer.close()
        await answerer.close()

    run(main())


def test_answer_to_an_offer_with_media_first_points_candidates_at_the_data_section() -> None:
    async def main() -> None:
        offerer, answerer = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())
        await offerer.setLocalDescription(await offerer.createOffer())
        assert offerer.localDescription is not None
        sdp = offerer.localDescription.sdp.replace(
            "m=application", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
            "a=mid:audio\r\na=rtpmap:111 opus/48000/2\r\nm=application", 1)
        candidates: list[Any] = []
        answerer.on("icecandidate", candidates.append)
        await answerer.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert answerer.localDescription is not None
        assert "m=audio 0 " in answerer.localDescription.sdp
        await wait_for(lambda: candidates and candidates[-1] is None)
        assert candidates[0].sdpMid == "0" and candidates[0].sdpMLineIndex == 1
        await offerer.close()
        await answerer.close()

    run(main())


def test_add_ice_candidate_accepts_aiortc_candidates_and_dicts() -> None:
    aiortc_sdp = pytest.importorskip("aiortc.sdp", reason="aiortc not installed")

    async def main() -> None:
        offerer, answerer = RTCPeerConnection(loopback()), RTCPeerConnection(loopback())
        offerer.createDataChannel("x")
        await offerer.setLocalDescription(await offerer.createOffer())
        assert offerer.localDescription is not None
        await answerer.setRemoteDescription(offerer.localDescription)
        theirs = aiortc_sdp.candidate_from_sdp(
            "7 1 udp 2130706431 127.0.0.1 40000 typ host")
        theirs.sdpMid = "0"
        await answerer.addIceCandidate(theirs)
        await answerer.addIceCandidate({"candidate": "candidate:8 1 udp 2130706431 127.0.0.1 "
                                        "40001 typ host", "sdpMid": "0", "sdpMLineIndex": 0})
        ports = {c.port for c in answerer._remote_candidates}
        assert {40000, 40001} <= ports
        await offerer.close()
        await answerer.close()

    run(main())
