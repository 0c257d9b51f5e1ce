"""Descriptions built from scratch with the builders, as a JSEP layer would."""

from __future__ import annotations

import random

from webrtc.sdp import (
    Candidate,
    Codec,
    Connection,
    Direction,
    ExtMap,
    Fingerprint,
    MediaDescription,
    Msid,
    MsidSemantic,
    Rtcp,
    RtcpFeedback,
    SessionDescription,
    Setup,
    Ssrc,
    SsrcGroup,
)


def transport(media: MediaDescription, rng: random.Random, mid: str) -> None:
    """The ICE/DTLS lines JSEP puts in every bundled section."""
    media.connection = Connection("127.0.0.1")
    media.add_candidate(Candidate("1", 1, "udp", 2122260223, "127.0.0.1", 9, "host",
                                  generation=0))
    media.ice_ufrag = "Ufr4"
    media.ice_pwd = "passwordpasswordpassword"
    media.ice_options = ["trickle"]
    media.fingerprints = [Fingerprint.from_digest("sha-256", rng.randbytes(32))]
    media.setup = Setup.ACTPASS
    media.mid = mid


def data_channel_offer(rng: random.Random) -> SessionDescription:
    sd = SessionDescription.new(session_id=rng.getrandbits(62), session_version=1)
    sd.bundle = ["0"]
    sd.msid_semantic = MsidSemantic("WMS")
    media = sd.add_media(MediaDescription("application", 9, "UDP/DTLS/SCTP",
                                          ["webrtc-datachannel"]))
    transport(media, rng, "0")
    media.sctp_port = 5000
    media.max_message_size = 262144
    return sd



def audio_video_data_offer(rng: random.Random) -> SessionDescription:
    """Audio (opus, PCMU), video (VP8 + rtx, FID group) and data, bundled."""
    sd = SessionDescription.new(session_id=rng.getrandbits(62), session_version=1)
    sd.bundle = ["a", "v", "d"]
    sd.extmap_allow_mixed = True
    sd.msid_semantic = MsidSemantic("WMS", ("stream",))

    audio = sd.add_media(MediaDescription("audio", 9, "UDP/TLS/RTP/SAVPF", []))
    transport(audio, rng, "a")
    audio.rtcp = Rtcp(9, Connection("0.0.0.0"))
    audio.add_extmap(ExtMap(1, "urn:ietf:params:rtp-hdrext:sdes:mid"))
    audio.add_extmap(ExtMap(2, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"))
    audio.direction = Direction.SENDRECV
    audio.add_msid(Msid("stream", "audio-track"))
    audio.rtcp_mux = True
    audio.rtcp_rsize = True
    audio.add_codec(Codec(111, "opus", 48000, 2, "minptime=10;useinbandfec=1",
                          (RtcpFeedback(None, "transport-cc"),)))
    audio.add_codec(Codec(0, "PCMU", 8000))
    audio.add_ssrc(Ssrc(1111, "cname", "built"))
    audio.add_ssrc(Ssrc(1111, "msid", "stream audio-track"))

    video = sd.add_media(MediaDescription("video", 9, "UDP/TLS/RTP/SAVPF", []))
    transport(video, rng, "v")
    video.add_extmap(ExtMap(1, "urn:ietf:params:rtp-hdrext:sdes:mid"))
    video.direction = Direction.SENDONLY
    video.add_msid(Msid("stream", "video-track"))
    video.rtcp_mux = True
    video.rtcp_rsize = True
    video.add_codec(Codec(96, "VP8", 90000, feedback=(
        RtcpFeedback(None, "nack"), RtcpFeedback(None, "nack", "pli"),
        RtcpFeedback(None, "ccm", "fir"))))
    video.add_codec(Codec(97, "rtx", 90000, parameters="apt=96"))
    video.add_ssrc_group(SsrcGroup("FID", (2222, 3333)))
    for ssrc in (2222, 3333):
        video.add_ssrc(Ssrc(ssrc, "cname", "built"))

    data = sd.add_media(MediaDescription("application", 9, "UDP/DTLS/SCTP",
                                         ["webrtc-datachannel"]))
    transport(data, rng, "d")
    data.sctp_port = 5000
    data.max_message_size = 262144

    return sd
