"""SRTP/SRTCP through pylibsrtp, keyed per RFC 5764 §4.2 from real DTLS exports."""

from __future__ import annotations

import os
import shutil

import pytest
from srtp_checks import exercise

from webrtc.rtp import RtpPacket
from webrtc.rtp.srtp import SRTP_TAG_LENGTHS, SrtpProfile, SrtpSession, split_keying_material
from webrtc.testing.openssl_dtls_srtp import openssl_dtls_srtp_export


def test_the_profile_is_the_dtls_layers() -> None:
    import webrtc.dtls
    import webrtc.rtp

    assert webrtc.rtp.SrtpProfile is SrtpProfile is webrtc.dtls.SrtpProfile
    # RFC 5764 §4.1.2 (AES-CM: 128-bit key, 112-bit salt), RFC 7714 §12 (GCM: 96-bit salt)
    assert {p.name: p.keying_material_length for p in SrtpProfile} == {
        "AES128_CM_HMAC_SHA1_80": 60, "AES128_CM_HMAC_SHA1_32": 60,
        "AEAD_AES_128_GCM": 56, "AEAD_AES_256_GCM": 88,
    }


@pytest.mark.parametrize("profile", list(SrtpProfile))
def test_split_follows_rfc5764(profile: SrtpProfile) -> None:
    key, salt = profile.key_length, profile.salt_length
    material = bytes(range(2 * (key + salt)))
    client = split_keying_material(profile, material, is_client=True)
    server = split_keying_material(profile, material, is_client=False)
    assert client.local_key == material[:key] == server.remote_key
    assert client.remote_key == material[key : 2 * key] == server.local_key
    assert client.local_salt == material[2 * key : 2 * key + salt] == server.remote_salt
    assert client.remote_salt == material[2 * key + salt :] == server.local_salt
    assert len(client.local_salt) == {16: 14, 32: 12}[key] or profile.name.startswith("AEAD")
    with pytest.raises(ValueError):
        split_keying_material(profile, material[:-1], is_client=True)


@pytest.mark.parametrize("profile", list(SrtpProfile))
def test_sessions_from_same_material_interoperate(profile: SrtpProfile) -> None:
    material = os.urandom(profile.keying_material_length)
    exercise(
        SrtpSession.from_keying_material(profile, material, is_client=True),
        SrtpSession.from_keying_material(profile, material, is_client=False),
    )


@pytest.mark.parametrize("profile", list(SrtpProfile))
def test_protect_adds_the_profiles_tag_length(profile: SrtpProfile) -> None:
    # the send path reads a protected packet as its length plus this trailer
    # instead of libsrtp's length cell: check it with pylibsrtp's own method,
    # over header shapes (CSRCs, extensions) and payload sizes, both ends
    material = os.urandom(profile.keying_material_length)
    session = SrtpSession.from_keying_material(profile, material, is_client=True)
    receiver = SrtpSession.from_keying_material(profile, material, is_client=False)
    sequence = 0
    for csrcs in ((), (1, 2, 3)):
        for size in (0, 1, 15, 16, 17, 1000, 1300):
            packet = RtpPacket(96, sequence, 1, 0x1234, os.urandom(size), csrc=csrcs)
            packet.extensions[1] = b"\x01\x02\x03"
            data = bytes(packet)
            protected = session._outbound.protect(data)
            assert len(protected) == len(data) + SRTP_TAG_LENGTHS[profile]
            assert receiver.unprotect(protected) == data
            sequence += 1
    assert set(SRTP_TAG_LENGTHS) == set(SrtpProfile)


def test_wrong_direction_keys_do_not_interoperate() -> None:
    profile = SrtpProfile.AEAD_AES_128_GCM
    material = os.urandom(profile.keying_material_length)
    a = SrtpSession.from_keying_material(profile, material, is_client=True)
    b = SrtpSession.from_keying_material(profile, material, is_client=True)
    assert b.unprotect(a.protect(bytes(RtpPacket(96, 1, 1, 1, b"x" * 10)))) is None


@pytest.mark.interop
@pytest.mark.parametrize("profile", list(SrtpProfile))
def test_keyed_from_openssl_dtls_handshake(profile: SrtpProfile) -> None:
    """openssl s_server and s_client negotiate use_srtp and export keys over 127.0.0.1;
    our client context keyed from s_client's export talks to our server context keyed
    from s_server's export."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found")
    export = openssl_dtls_srtp_export(profile.openssl_name, profile.keying_material_length)
    assert export.profile == profile.openssl_name
    assert len(export.client_material) == profile.keying_material_length
    exercise(
        SrtpSession.from_keying_material(profile, export.client_material, is_client=True),
        SrtpSession.from_keying_material(profile, export.server_material, is_client=False),
    )
