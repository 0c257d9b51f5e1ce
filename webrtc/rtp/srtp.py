"""SRTP and SRTCP (RFC 3711, RFC 7714) through ``pylibsrtp``, keyed from DTLS.

The DTLS handshake negotiates a protection profile (RFC 5764 §4.1.2) and
exports ``2 * (key + salt)`` bytes labelled ``EXTRACTOR-dtls_srtp``;
:func:`split_keying_material` cuts them per RFC 5764 §4.2. A
:class:`SrtpSession` protects what we send with our write key and unprotects
what we receive with the peer's; packets that fail authentication, are
replayed, or are otherwise unusable are dropped and counted (the unprotect
methods return ``None``), never raised to the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pylibsrtp

from webrtc.dtls import SrtpProfile

__all__ = [
    "SRTP_EXPORTER_LABEL",
    "SRTP_TAG_LENGTHS",
    "SrtpKeys",
    "SrtpProfile",
    "SrtpSession",
    "SrtpStats",
    "split_keying_material",
]

SRTP_EXPORTER_LABEL = b"EXTRACTOR-dtls_srtp"


# The profile is the DTLS layer's (the use_srtp extension negotiates it, RFC
# 5764 §4.1.2); what is RTP's own is the libsrtp policy each one maps to.
_PYLIBSRTP_PROFILES: dict[SrtpProfile, int] = {
    SrtpProfile.AES128_CM_HMAC_SHA1_80: pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    SrtpProfile.AES128_CM_HMAC_SHA1_32: pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    SrtpProfile.AEAD_AES_128_GCM: pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    SrtpProfile.AEAD_AES_256_GCM: pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
}


@dataclass(frozen=True)
class SrtpKeys:
    """Master keys and salts for each direction, from our point of view."""

    profile: SrtpProfile
    local_key: bytes
    local_salt: bytes
    remote_key: bytes
    remote_salt: bytes


def split_keying_material(
    profile: SrtpProfile, material: bytes, is_client: bool
) -> SrtpKeys:
    """RFC 5764 §4.2: client_write_key | server_write_key | client_salt | server_salt.

    The DTLS client writes with the client key, the server with the server key.
    """
    key, salt = profile.key_length, profile.salt_length
    if len(material) != 2 * (key + salt):
        raise ValueError(
            f"{profile.name} needs {2 * (key + salt)} bytes of keying material, "
            f"got {len(material)}"
        )
    client_key = material[:key]
    server_key = material[key : 2 * key]
    client_salt = material[2 * key : 2 * key + salt]
    server_salt = material[2 * key + salt :]
    if is_client:
        return SrtpKeys(profile, client_key, client_salt, server_key, server_salt)
    return SrtpKeys(profile, server_key, server_salt, client_key, client_salt)


RawCall = tuple[
    Any, Any, Any, Callable[[Any, Any, Any], int], Any, int, int, Callable[[bytes], bytes]
]
"""What :func:`_fast_call` calls libsrtp with, for a loop that calls it itself
(one Python call less per packet: the sender's send path, the session's
receive paths): the session's writable buffer, its cdata, the libsrtp context,
the libsrtp function, the ``int *`` length cell, the longest packet the buffer
takes (its size less the trailer), the trailer the function adds
(:data:`SRTP_TAG_LENGTHS` for protect; 0 for unprotect, whose output length is
read from the cell), and the one-packet call (for the other packets).

Use: write a packet of ``n <= limit`` bytes at the buffer's start, set
``length[0] = n``, call ``function(context, cdata, length)`` (non-zero: the
packet failed, :func:`raw_error` the error), and read ``buffer[0 : n +
trailer]`` (protect) or ``buffer[0 : length[0]]`` (unprotect). A longer packet
goes through the one-packet call."""

# Octets srtp_protect appends to an RTP packet: the authentication tag, no MKI
# (our policies set none). RFC 5764 §4.1.2: the HMAC-SHA1 profiles' SRTP tags
# are 80 and 32 bits; RFC 7714 §14.2: the AEAD_AES_*_GCM tags are 16 octets.
# libsrtp writes exactly that much (srtp_protect: *pkt_octet_len += tag_len +
# mki_size), so the sender reads the protected packet without the length cell.
SRTP_TAG_LENGTHS: dict[SrtpProfile, int] = {
    SrtpProfile.AES128_CM_HMAC_SHA1_80: 10,
    SrtpProfile.AES128_CM_HMAC_SHA1_32: 4,
    SrtpProfile.AEAD_AES_128_GCM: 16,
    SrtpProfile.AEAD_AES_256_GCM: 16,
}


def raw_error(code: int) -> pylibsrtp.Error:
    """The error pylibsrtp raises for a libsrtp status ``code``."""
    errors = pylibsrtp.ERRORS
    return pylibsrtp.Error(errors[code] if code < len(errors) else str(code))


def _fast_call(
    session: pylibsrtp.Session, function: str, trailer: int, fallback: Callable[[bytes], bytes],
    added: int = 0, incoming: bool = False,
) -> tuple[Callable[[bytes], bytes], RawCall | None]:
    """``session.protect`` and friends without their per-call allocations, and
    the raw parts they call libsrtp with (:data:`RawCall`; ``added`` is the
    trailer ``function`` adds to every packet, 0 when it varies).

    pylibsrtp allocates a length cell and dereferences the context on every
    call; here both are done once and the libsrtp function is called through
    pylibsrtp's own cffi binding, on the session's own buffer. If this
    pylibsrtp lays its session out differently, the public method is used.
    ``incoming`` (unprotect): a packet too long for the buffer is network
    input, refused with :class:`pylibsrtp.Error` like any packet that fails,
    not with the ValueError of our own packets (and there are no raw parts).
    """
    try:
        ffi, lib = getattr(pylibsrtp, "ffi"), getattr(pylibsrtp, "lib")  # noqa: B009
        context = session._srtp[0]
        cdata = session._cdata
        buffer = session._buffer
        call = getattr(lib, function)
    except AttributeError:
        return (_refusing_too_long(fallback) if incoming else fallback), None
    length = ffi.new("int *")
    limit = len(cdata) - trailer
    too_long = pylibsrtp.Error if incoming else ValueError

    def process(data: bytes) -> bytes:
        n = len(data)
        if n > limit:
            raise too_long("packet is too long")
        length[0] = n
        buffer[0:n] = data
        code = call(context, cdata, length)
        if code:
            raise raw_error(code)
        return buffer[0 : length[0]]  # type: ignore[no-any-return]

    # keep the session (which frees the context when collected) alive with it
    process.session = session  # type: ignore[attr-defined]
    return process, (buffer, cdata, context, call, length, limit, added, process)


def _refusing_too_long(unprotect: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """``unprotect`` raising :class:`pylibsrtp.Error` for a packet longer
    than its session's buffer (pylibsrtp's ValueError)."""

    def checked(data: bytes) -> bytes:
        try:
            return unprotect(data)
        except ValueError as exc:
            raise pylibsrtp.Error(str(exc)) from exc

    return checked


@dataclass
class SrtpStats:
    """Counters of one session; every dropped packet lands in one of them."""

    protected_rtp: int = 0
    protected_rtcp: int = 0
    unprotected_rtp: int = 0
    unprotected_rtcp: int = 0
    dropped_replay: int = 0
    dropped_authentication: int = 0
    dropped_other: int = 0

    @property
    def dropped(self) -> int:
        return self.dropped_replay + self.dropped_authentication + self.dropped_other


class SrtpSession:
    """Protects outgoing and unprotects incoming SRTP/SRTCP for one transport.

    ``replay_window`` is the SRTP replay-list size (RFC 3711 §3.3.2; at least
    64, and larger windows tolerate the deep reordering of retransmissions).
    """

    def __init__(self, keys: SrtpKeys, replay_window: int = 1024) -> None:
        self.keys = keys
        self.stats = SrtpStats()
        profile = _PYLIBSRTP_PROFILES[keys.profile]
        outbound = pylibsrtp.Policy(
            key=keys.local_key + keys.local_salt,
            ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
            srtp_profile=profile,
        )
        # A retransmission through RTX has its own SSRC and sequence number,
        # but a caller may legitimately send one packet twice.
        outbound.allow_repeat_tx = True
        outbound.window_size = replay_window
        inbound = pylibsrtp.Policy(
            key=keys.remote_key + keys.remote_salt,
            ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
            srtp_profile=profile,
        )
        inbound.window_size = replay_window
        self._outbound = pylibsrtp.Session(policy=outbound)
        self._inbound = pylibsrtp.Session(policy=inbound)
        # the raw parts: what the send path writes RTP packets into, and what
        # the receive paths unprotect with (None when this pylibsrtp's
        # internals differ: then the one-packet calls are used)
        self._protect, self._protect_raw = _fast_call(
            self._outbound, "srtp_protect", pylibsrtp.SRTP_MAX_TRAILER_LEN, self._outbound.protect,
            SRTP_TAG_LENGTHS[keys.profile],
        )
        self._protect_rtcp = _fast_call(self._outbound, "srtp_protect_rtcp",
                                        pylibsrtp.SRTP_MAX_SRTCP_TRAILER_LEN,
                                        self._outbound.protect_rtcp)[0]
        self._unprotect, self._unprotect_raw = _fast_call(
            self._inbound, "srtp_unprotect", 0, self._inbound.unprotect, incoming=True
        )
        self._unprotect_rtcp = _fast_call(self._inbound, "srtp_unprotect_rtcp", 0,
                                          self._inbound.unprotect_rtcp, incoming=True)[0]

    @classmethod
    def from_keying_material(
        cls, profile: SrtpProfile, material: bytes, is_client: bool, replay_window: int = 1024
    ) -> SrtpSession:
        return cls(split_keying_material(profile, material, is_client), replay_window)

    @classmethod
    def from_handshake(cls, event: object, replay_window: int = 1024) -> SrtpSession:
        """From the DTLS layer's ``HandshakeComplete`` event (its ``is_client``,
        ``srtp_profile`` and ``srtp_keying_material``)."""
        profile = getattr(event, "srtp_profile", None)
        material = getattr(event, "srtp_keying_material", None)
        if profile is None or material is None:
            raise ValueError("the DTLS handshake negotiated no SRTP profile")
        return cls.from_keying_material(
            SrtpProfile(int(profile)), bytes(material), bool(getattr(event, "is_client")),  # noqa: B009
            replay_window,
        )

    def protect(self, packet: bytes) -> bytes:
        """Encrypt and authenticate one RTP packet (our own data: errors raise)."""
        self.stats.protected_rtp += 1
        return self._protect(packet)

    def protect_many(self, packets: list[bytes]) -> list[bytes]:
        """:meth:`protect` for a batch."""
        self.stats.protected_rtp += len(packets)
        protect = self._protect
        return [protect(packet) for packet in packets]

    def protect_rtcp(self, packet: bytes) -> bytes:
        self.stats.protected_rtcp += 1
        return self._protect_rtcp(packet)

    def unprotect(self, packet: bytes) -> bytes | None:
        """The plain RTP packet, or None when dropped (replayed, forged, malformed)."""
        try:
            plain: bytes = self._unprotect(packet)
        except pylibsrtp.Error as exc:
            self._count(exc)
            return None
        self.stats.unprotected_rtp += 1
        return plain

    def unprotect_rtcp(self, packet: bytes) -> bytes | None:
        try:
            plain: bytes = self._unprotect_rtcp(packet)
        except pylibsrtp.Error as exc:
            self._count(exc)
            return None
        self.stats.unprotected_rtcp += 1
        return plain

    def _count(self, exc: Exception) -> None:
        message = str(exc)
        if "replay" in message:
            self.stats.dropped_replay += 1
        elif "auth" in message:
            self.stats.dropped_authentication += 1
        else:
            self.stats.dropped_other += 1
