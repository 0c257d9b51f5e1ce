"""The DTLS 1.2 connection engine (RFC 6347), sans-I/O, both roles.

See :mod:`webrtc.dtls` for the API. The engine reads no clock and opens no
socket: ``now`` comes from the caller, randomness from ``random_bytes``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import struct
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from webrtc.dtls import prf
from webrtc.dtls.certificate import Certificate, fingerprint_matches
from webrtc.dtls.errors import DtlsParseError
from webrtc.dtls.messages import (
    DTLS1_0,
    DTLS1_2,
    HANDSHAKE_HEADER,
    RECORD_HEADER,
    Alert,
    AlertDescription,
    AlertLevel,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    ClientKeyExchange,
    ContentType,
    ExtensionType,
    Finished,
    HandshakeFragment,
    HandshakeType,
    HelloVerifyRequest,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    decode_point_formats,
    decode_renegotiation_info,
    decode_u16_list_extension,
    decode_use_srtp,
    encode_point_formats,
    encode_renegotiation_info,
    encode_u16_list_extension,
    encode_use_srtp,
    find_extension,
    handshake_message,
)
from webrtc.dtls.messages import Certificate as CertificateMessage
from webrtc.dtls.suites import (
    DEFAULT_CIPHER_SUITES,
    DEFAULT_GROUPS,
    DEFAULT_SIGNATURE_SCHEMES,
    DEFAULT_SRTP_PROFILES,
    CipherSuite,
    KeyShare,
    NamedGroup,
    RecordProtection,
    SrtpProfile,
    SuiteInfo,
    choose_scheme,
    sign,
    suite_info,
    verify,
)

__all__ = [
    "ApplicationData",
    "ConnectionClosed",
    "ConnectionFailed",
    "DtlsConnection",
    "DtlsState",
    "DtlsStats",
    "FailureReason",
    "HandshakeComplete",
]

_U24 = struct.Struct(">I")
_GCM_RECORD_HEAD = struct.Struct(">BHQHQ")  # record header and explicit nonce
_GCM_NONCE = struct.Struct(">IQ")  # salt || explicit nonce (RFC 5288 §3)
# Received: the explicit nonce as bytes, appended to the salt bytes (one
# concatenation rather than an integer conversion each way and a pack).
_GCM_RECEIVED_HEAD = struct.Struct(">BHQH8s")
_AAD = struct.Struct(">QBHH")  # seq_num, type, version, length (RFC 5246 §6.2.3.3)
_WINDOW_MASK = (1 << 64) - 1
_new_object = object.__new__
_SEQ_MASK = (1 << 48) - 1
_EPOCH1 = 1 << 48
_EPOCH2 = 2 << 48
_CCS_PAYLOAD = b"\x01"
_MAX_FUTURE_MESSAGES = 16  # handshake messages buffered ahead of the expected one
_MAX_EARLY_RECORDS = 32  # next-epoch records buffered until their keys exist
_MAX_PLAINTEXT = 1 << 14
# RFC 6347 §4.1: a sequence number must not wrap (renegotiation, which we
# refuse, would be the way on). The inlined AES-GCM send paths check nothing
# per record; they give way to the checked path this far from the end.
_LAST_SEQUENCE = (1 << 48) - 1
_FAST_SEND_LIMIT = _LAST_SEQUENCE - (1 << 32)
_REPLAY_WINDOW = 64


def _no_decrypt(nonce: bytes, data: bytes, aad: bytes) -> bytes:
    raise AssertionError("no epoch-1 read keys")  # never called: the callers check first


# Stands in for the GCM read parts (decrypt, salt) while there are none.
_NO_OPEN: tuple[Callable[[bytes, bytes, bytes], bytes], bytes] = (_no_decrypt, b"")


class DtlsState(Enum):
    NEW = "new"
    HANDSHAKING = "handshaking"
    CONNECTED = "connected"
    CLOSED = "closed"
    FAILED = "failed"


class FailureReason(Enum):
    """Why a connection failed (:class:`ConnectionFailed`)."""

    TIMEOUT = "timeout"  # the handshake did not finish in time
    FINGERPRINT_MISMATCH = "fingerprint_mismatch"  # certificate not the one in the SDP
    BAD_CERTIFICATE = "bad_certificate"  # unusable certificate or bad signature
    HANDSHAKE_FAILURE = "handshake_failure"  # nothing in common, missing extension...
    PROTOCOL_ERROR = "protocol_error"  # malformed or unexpected message
    PEER_ALERT = "peer_alert"  # the peer sent a fatal alert
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True)
class HandshakeComplete:
    """The handshake finished; application data may flow.

    ``srtp_keying_material`` is the RFC 5764 §4.2 exporter output
    (client key, server key, client salt, server salt) when a profile was
    negotiated; ``srtp_local_master`` / ``srtp_remote_master`` split it into
    the key||salt strings an SRTP library takes for each direction.
    """

    is_client: bool
    cipher_suite: CipherSuite
    named_group: NamedGroup
    srtp_profile: SrtpProfile | None
    srtp_keying_material: bytes | None = field(repr=False)
    remote_certificate: bytes = field(repr=False)  # DER

    def _split(self) -> tuple[bytes, bytes]:
        assert self.srtp_profile is not None and self.srtp_keying_material is not None
        k, s = self.srtp_profile.key_length, self.srtp_profile.salt_length
        m = self.srtp_keying_material
        client = m[:k] + m[2 * k : 2 * k + s]
        server = m[k : 2 * k] + m[2 * k + s : 2 * k + 2 * s]
        return client, server

    @property
    def srtp_local_master(self) -> bytes:
        """Our SRTP master key || master salt (what we protect with)."""
        client, server = self._split()
        return client if self.is_client else server

    @property
    def srtp_remote_master(self) -> bytes:
        """The peer's SRTP master key || master salt (what we unprotect with)."""
        client, server = self._split()
        return server if self.is_client else client


@dataclass(frozen=True, slots=True)
class ApplicationData:
    data: bytes


# Sets the field of a new ApplicationData without the frozen dataclass
# __init__ (object.__setattr__ by name): the hot path builds one per record.
_set_application_data = ApplicationData.__dict__["data"].__set__


@dataclass(frozen=True)
class ConnectionClosed:
    """Orderly close with close_notify; ``by_peer`` tells who closed."""

    by_peer: bool


@dataclass(frozen=True)
class ConnectionFailed:
    """The connection ended abnormally.

    ``alert`` is the alert description sent (``by_peer`` False) or received
    (``by_peer`` True), if any.
    """

    reason: FailureReason
    detail: str
    alert: AlertDescription | int | None = None
    by_peer: bool = False


@dataclass
class DtlsStats:
    """Counters; network input that is dropped is counted here."""

    datagrams_received: int = 0
    records_received: int = 0
    records_sent: int = 0
    malformed: int = 0  # unparsable datagrams or records
    auth_failures: int = 0  # records whose AEAD tag did not verify
    replays: int = 0  # records already seen (or too old for the window)
    unexpected: int = 0  # records of an unknown epoch, bad version, wrong state
    retransmissions: int = 0  # flights sent again


class _HandshakeError(Exception):
    def __init__(self, reason: FailureReason, alert: AlertDescription, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.alert = alert
        self.detail = detail


class _Step(Enum):
    # client
    WAIT_SERVER_HELLO = 1
    WAIT_SERVER_CERTIFICATE = 2
    WAIT_SERVER_KEY_EXCHANGE = 3
    WAIT_CERTIFICATE_REQUEST_OR_DONE = 4
    WAIT_SERVER_HELLO_DONE = 5
    WAIT_SERVER_FINISHED = 6
    # server
    WAIT_CLIENT_HELLO = 10
    WAIT_CLIENT_CERTIFICATE = 11
    WAIT_CLIENT_KEY_EXCHANGE = 12
    WAIT_CERTIFICATE_VERIFY = 13
    WAIT_CLIENT_FINISHED = 14
    DONE = 20


class _Partial:
    """A handshake message being reassembled from fragments (RFC 6347 §4.2.3)."""

    __slots__ = ("body", "epoch", "have", "length", "msg_type", "received")

    def __init__(self, msg_type: int, length: int, epoch: int) -> None:
        self.msg_type = msg_type
        self.epoch = epoch
        self.length = length
        self.body = bytearray(length)
        self.have = bytearray(length)  # one flag per byte: simple and robust to overlap
        self.received = 0

    def add(self, offset: int, data: bytes) -> None:
        end = offset + len(data)
        self.body[offset:end] = data
        new = self.have[offset:end].count(0)
        if new:
            self.have[offset:end] = b"\x01" * len(data)
            self.received += new

    @property
    def complete(self) -> bool:
        return self.received == self.length


class _ReplayWindow:
    """RFC 6347 §4.1.2.6 sliding window over 48-bit sequence numbers."""

    __slots__ = ("bitmap", "top")

    def __init__(self) -> None:
        self.top = -1
        self.bitmap = 0

    def seen(self, seq: int) -> bool:
        if seq > self.top:
            return False
        offset = self.top - seq
        return offset >= _REPLAY_WINDOW or bool(self.bitmap >> offset & 1)

    def mark(self, seq: int) -> None:
        if seq > self.top:
            shift = seq - self.top
            # A jump of 2**47 must not build a 2**47-bit integer.
            self.bitmap = (((self.bitmap << shift) | 1) & ((1 << _REPLAY_WINDOW) - 1)
                           if shift < _REPLAY_WINDOW else 1)
            self.top = seq
        else:
            self.bitmap |= 1 << (self.top - seq)


# One outgoing flight entry: ("hs", epoch, msg_type, message_seq, body) or ("ccs", epoch)
_FlightEntry = tuple[str, int, int, int, bytes]

_SRTP_LABEL = b"EXTRACTOR-dtls_srtp"


class DtlsConnection:
    """One end of a DTLS 1.2 connection. See the :mod:`webrtc.dtls` docstring."""

    def __init__(
        self,
        is_client: bool,
        certificate: Certificate,
        remote_fingerprints: Iterable[tuple[str, str]] | None = None,
        srtp_profiles: Sequence[SrtpProfile | int] = DEFAULT_SRTP_PROFILES,
        mtu: int = 1200,
        cipher_suites: Sequence[CipherSuite | int] = DEFAULT_CIPHER_SUITES,
        groups: Sequence[NamedGroup | int] = DEFAULT_GROUPS,
        use_cookie: bool = False,
        initial_retransmit_timeout: float = 0.4,
        max_retransmit_timeout: float = 8.0,
        handshake_timeout: float = 30.0,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if mtu < 200:
            raise ValueError("mtu must be at least 200 bytes")
        self.is_client = is_client
        self.certificate = certificate
        self.remote_fingerprints = (
            list(remote_fingerprints) if remote_fingerprints is not None else None)
        self.srtp_profiles = [SrtpProfile(p) for p in srtp_profiles]
        self.mtu = mtu
        usable = [suite_info(s) for s in cipher_suites]
        self.cipher_suites = [i.suite for i in usable if i is not None]
        self.groups = [NamedGroup(g) for g in groups]
        self.use_cookie = use_cookie
        self.initial_retransmit_timeout = initial_retransmit_timeout
        self.max_retransmit_timeout = max_retransmit_timeout
        self.handshake_timeout = handshake_timeout
        self._random = random_bytes

        self.state = DtlsState.NEW
        self.stats = DtlsStats()
        self._events: deque[object] = deque()
        self._outgoing: list[bytes] = []

        # record layer
        self._write_epoch = 0
        self._write_seq = [0, 0]
        self._write_protection: list[RecordProtection | None] = [None, None]
        self._read_protection: list[RecordProtection | None] = [None, None]
        self._replay = [_ReplayWindow(), _ReplayWindow()]
        self._early_records: list[bytes] = []
        self._early_application_data: list[bytes] = []
        self._app_write: RecordProtection | None = None  # epoch 1, once connected
        self._app_read: RecordProtection | None = None
        # The GCM hot path, set while connected: (AEAD encrypt, salt as int)
        # and (AEAD decrypt, salt as bytes).
        self._gcm_write: tuple[Callable[[bytes, bytes, bytes], bytes], int] | None = None
        self._gcm_read: tuple[Callable[[bytes, bytes, bytes], bytes], bytes] | None = None
        # Where the general receive path hands application data while
        # receive_datagrams() runs (None: as ApplicationData events).
        self._application_sink: list[bytes] | None = None

        # handshake
        self._step = _Step.WAIT_SERVER_HELLO if is_client else _Step.WAIT_CLIENT_HELLO
        self._send_msg_seq = 0
        self._recv_msg_seq = 0
        self._partials: dict[int, _Partial] = {}
        self._transcript = bytearray()
        self._flight: list[_FlightEntry] = []
        self._flight_timer: float | None = None
        self._flight_sent_at = 0.0
        self._retransmit_timeout = initial_retransmit_timeout
        self._handshake_deadline: float | None = None
        self._retransmit_requested = False
        self._cookie_secret = random_bytes(32)

        self._client_random = b""
        self._server_random = b""
        self._cookie = b""
        self._suite: SuiteInfo | None = None
        self._group: NamedGroup | None = None
        self._key_share: KeyShare | None = None
        self._pre_master = b""
        self._master = b""
        self._peer_certificate = b""
        self._peer_public_key: object = None
        self._certificate_requested = False
        self._client_scheme: int | None = None
        self._srtp_profile: SrtpProfile | None = None
        self._offered_schemes: list[int] | None = None
        self._client_hello: ClientHello | None = None

    # ------------------------------------------------------------------
    # public API

    def set_remote_fingerprints(self, fingerprints: Iterable[tuple[str, str]]) -> None:
        """Set the SDP fingerprints the peer's certificate must match (before it arrives)."""
        self.remote_fingerprints = list(fingerprints)

    def start(self, now: float) -> None:
        """Begin: a client sends its ClientHello; a server starts its handshake timeout."""
        if self.state is not DtlsState.NEW:
            return
        self.state = DtlsState.HANDSHAKING
        self._handshake_deadline = now + self.handshake_timeout
        if self.is_client:
            self._client_random = self._random(32)
            self._send_client_hello(now)

    def receive_datagram(self, data: bytes, now: float) -> None:
        """Process one datagram from the network; never raises."""
        gcm = self._gcm_read
        size = len(data)
        if gcm is not None and size >= 37:
            # Fast path: one GCM application-data record of epoch 1, the
            # data-channel hot path. Anything unusual takes the general path.
            content_type, version, epoch_seq, length, explicit = \
                _GCM_RECEIVED_HEAD.unpack_from(data)
            if (content_type == 23 and version == DTLS1_2 and size - length == 13
                    and epoch_seq >> 48 == 1):
                stats = self.stats
                stats.datagrams_received += 1
                stats.records_received += 1
                seq = epoch_seq & _SEQ_MASK
                window = self._replay[1]
                top = window.top
                if seq <= top and (top - seq >= _REPLAY_WINDOW
                                   or window.bitmap >> (top - seq) & 1):
                    stats.replays += 1
                    return
                decrypt, salt = gcm
                try:
                    plaintext = decrypt(salt + explicit, data[21:],
                                        _AAD.pack(epoch_seq, 23, DTLS1_2, size - 37))
                except InvalidTag:
                    stats.auth_failures += 1
                    return
                if seq - top == 1 and window.bitmap == _WINDOW_MASK:
                    # In order, no hole in the window: only the top moves. (A
                    # difference of 1 is a cached int, where top + 1 is a new one.)
                    window.top = seq
                elif seq > top:
                    shift = seq - top
                    window.bitmap = (((window.bitmap << shift) | 1) & _WINDOW_MASK
                                     if shift < _REPLAY_WINDOW else 1)
                    window.top = seq
                else:
                    window.bitmap |= 1 << (top - seq)
                # ApplicationData(plaintext), for half the cost (see
                # _set_application_data). With __slots__, building and freeing
                # the event is ~50 ns cheaper per record than with a __dict__.
                event = _new_object(ApplicationData)
                _set_application_data(event, plaintext)
                self._events.append(event)
                return
        self._receive_general(data, now)

    def _receive_general(self, data: bytes, now: float) -> None:
        """Everything but the single-record GCM application-data datagram."""
        if self.state in (DtlsState.CLOSED, DtlsState.FAILED):
            return
        self.stats.datagrams_received += 1
        try:
            if self.state is DtlsState.NEW and not self.is_client:
                self.state = DtlsState.HANDSHAKING
                self._handshake_deadline = now + self.handshake_timeout
            self._receive(data, now)
            if self._early_records and self._read_protection[1] is not None:
                early, self._early_records = self._early_records, []
                for record in early:
                    self._receive(record, now)
            if self._retransmit_requested:
                self._retransmit_requested = False
                self._retransmit(now, by_timer=False)
        except _HandshakeError as error:
            self._fail(error.reason, error.detail, error.alert)
        except Exception as error:  # a bug must not kill the caller's loop
            self._fail(FailureReason.INTERNAL_ERROR, f"{type(error).__name__}: {error}",
                       AlertDescription.INTERNAL_ERROR)

    def send(self, data: bytes) -> None:
        """Send application data as one record (at most 16,384 bytes)."""
        gcm = self._gcm_write
        length = len(data)
        if gcm is not None and length <= _MAX_PLAINTEXT:
            # The hot path for AES-GCM, inlined: header and explicit nonce in
            # one pack, then the sealed payload (RFC 5288 §3, RFC 6347 §4.1).
            encrypt, salt = gcm
            sequence_numbers = self._write_seq
            seq = sequence_numbers[1]
            sequence_numbers[1] = seq + 1
            epoch_seq = _EPOCH1 | seq
            self._outgoing.append(
                _GCM_RECORD_HEAD.pack(23, DTLS1_2, epoch_seq, length + 24, epoch_seq)
                + encrypt(_GCM_NONCE.pack(salt, epoch_seq), data,
                          _AAD.pack(epoch_seq, 23, DTLS1_2, length)))
            self.stats.records_sent += 1
            return
        protection = self._app_write
        if protection is None or self.state is not DtlsState.CONNECTED:
            raise RuntimeError(f"cannot send application data in state {self.state.value}")
        if len(data) > _MAX_PLAINTEXT:
            raise ValueError("application data record larger than 16384 bytes")
        sequence_numbers = self._write_seq
        seq = sequence_numbers[1]
        if seq > _LAST_SEQUENCE:
            raise RuntimeError("DTLS sequence numbers exhausted (RFC 6347 §4.1)")
        sequence_numbers[1] = seq + 1
        self._outgoing.append(protection.seal_application_data(_EPOCH1 | seq, data))
        self.stats.records_sent += 1

    def send_many(self, payloads: Iterable[bytes]) -> None:
        """Send each payload as one application-data record, in one pass.

        The same records as ``send()`` called once per payload, for less: the
        sequence number, counters and AEAD call live in locals for the whole
        batch. Raises like ``send()``: RuntimeError when not connected,
        ValueError for a payload over 16,384 bytes (the records of the
        payloads before it are already queued).
        """
        gcm = self._gcm_write
        if gcm is None:
            send = self.send
            for data in payloads:
                send(data)
            return
        encrypt, salt = gcm
        head_pack = _GCM_RECORD_HEAD.pack
        nonce_pack = _GCM_NONCE.pack
        aad_pack = _AAD.pack
        dtls1_2 = DTLS1_2  # a local: the cheapest load in the loop
        append = self._outgoing.append
        sequence_numbers = self._write_seq
        first = epoch_seq = _EPOCH1 | sequence_numbers[1]
        try:
            for data in payloads:
                length = len(data)
                if length > _MAX_PLAINTEXT:
                    raise ValueError("application data record larger than 16384 bytes")
                # RFC 5288 §3 / RFC 6347 §4.1: header and explicit nonce (the
                # epoch and sequence number) in one pack, then the sealed data.
                append(head_pack(23, dtls1_2, epoch_seq, length + 24, epoch_seq)
                       + encrypt(nonce_pack(salt, epoch_seq), data,
                                 aad_pack(epoch_seq, 23, dtls1_2, length)))
                epoch_seq += 1
        finally:
            sequence_numbers[1] += epoch_seq - first
            self.stats.records_sent += epoch_seq - first
            if sequence_numbers[1] > _FAST_SEND_LIMIT:
                self._gcm_write = None  # the checked path from now on

    def receive_datagrams(self, datagrams: Iterable[bytes], now: float) -> list[bytes]:
        """Process a batch of datagrams; return the application data, in order.

        Equivalent to ``receive_datagram()`` for each datagram, except that
        application data is returned rather than queued as
        :class:`ApplicationData` events, as long as no event is queued ahead
        of it: once an event is pending (say :class:`HandshakeComplete` or
        :class:`ConnectionClosed`), later application data is queued behind it
        as events so that nothing is reordered. So: handle the returned
        payloads, then drain ``next_event()``. Never raises on network input;
        dropped records are counted in ``stats`` as with ``receive_datagram()``.
        """
        batch = datagrams if isinstance(datagrams, list | tuple) else list(datagrams)
        count = len(batch)
        payloads: list[bytes] = []
        events = self._events
        window = self._replay[1]
        stats = self.stats
        unpack = _GCM_RECEIVED_HEAD.unpack_from
        aad_pack = _AAD.pack
        dtls1_2 = DTLS1_2  # a local: the cheapest load in the loop
        gcm = self._gcm_read if not events else None
        decrypt, salt = gcm if gcm is not None else _NO_OPEN
        # The epoch-1 window in locals, in epoch||sequence space so that the
        # record's field is compared as it is. ``in_order_top`` is the top
        # while the in-order shortcut applies: the last 64 numbers have all
        # been seen (bitmap all ones), the keys are there and this batch
        # cannot run past the epoch's last sequence number; else -2, which no
        # record is 1 above. A record 1 above it is the next in order, and
        # accepting it only rebinds ``in_order_top`` (``top`` is stale then).
        # The difference is a cached small integer where ``top + 1`` would
        # be a new one per record.
        top = _EPOCH1 + window.top
        bitmap = window.bitmap
        in_order_top = (top if gcm is not None and bitmap == _WINDOW_MASK
                        and top + count < _EPOCH2 else -2)
        # Counted once at the end: each record of the two GCM paths below is
        # either returned, a replay or an authentication failure.
        replays = auth_failures = general_payloads = 0
        try:
            for data in batch:
                size = len(data)
                if size >= 37:
                    content_type, version, epoch_seq, length, explicit = unpack(data)
                    if (epoch_seq - in_order_top == 1 and size - length == 13
                            and content_type == 23 and version == dtls1_2):
                        # One GCM application-data record of epoch 1, the next
                        # in order: as in receive_datagram(), nothing to check
                        # in the window but the tag.
                        try:
                            payloads.append(decrypt(salt + explicit, data[21:],
                                                    aad_pack(epoch_seq, 23, dtls1_2, size - 37)))
                        except InvalidTag:
                            auth_failures += 1
                            continue
                        in_order_top = epoch_seq
                        continue
                    if (gcm is not None and content_type == 23 and length + 13 == size
                            and version == DTLS1_2 and _EPOCH1 <= epoch_seq < _EPOCH2):
                        # Any other GCM application-data record of epoch 1.
                        if in_order_top >= 0:
                            top = in_order_top
                        # RFC 6347 §4.1.2.6: drop what the window has seen or
                        # what is older than it; mark only authenticated records.
                        if epoch_seq <= top and (top - epoch_seq >= _REPLAY_WINDOW
                                                 or bitmap >> (top - epoch_seq) & 1):
                            replays += 1
                            continue
                        try:
                            plaintext = decrypt(salt + explicit, data[21:],
                                                aad_pack(epoch_seq, 23, DTLS1_2, size - 37))
                        except InvalidTag:
                            auth_failures += 1
                            continue
                        if epoch_seq > top:
                            shift = epoch_seq - top
                            bitmap = (((bitmap << shift) | 1) & _WINDOW_MASK
                                      if shift < _REPLAY_WINDOW else 1)
                            top = epoch_seq
                        else:
                            bitmap |= 1 << (top - epoch_seq)
                        in_order_top = (top if bitmap == _WINDOW_MASK and top + count < _EPOCH2
                                        else -2)
                        payloads.append(plaintext)
                        continue
                # Anything else: the general path, with the window written
                # back first and read again after (it may change the state).
                if in_order_top >= 0:
                    top = in_order_top
                window.top, window.bitmap = top - _EPOCH1, bitmap
                self._application_sink = payloads
                before = len(payloads)
                try:
                    self._receive_general(data, now)
                finally:
                    self._application_sink = None
                    general_payloads += len(payloads) - before
                top = _EPOCH1 + window.top
                bitmap = window.bitmap
                gcm = self._gcm_read if not events else None
                decrypt, salt = gcm if gcm is not None else _NO_OPEN
                in_order_top = (top if gcm is not None and bitmap == _WINDOW_MASK
                                and top + count < _EPOCH2 else -2)
        finally:
            if in_order_top >= 0:
                top = in_order_top
            window.top, window.bitmap = top - _EPOCH1, bitmap
            received = len(payloads) - general_payloads + replays + auth_failures
            stats.datagrams_received += received
            stats.records_received += received
            stats.replays += replays
            stats.auth_failures += auth_failures
        return payloads

    def close(self) -> None:
        """Send close_notify and end the connection (event :class:`ConnectionClosed`)."""
        if self.state in (DtlsState.CLOSED, DtlsState.FAILED):
            return
        if self.state is not DtlsState.NEW:
            self._send_alert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY)
        self._end(DtlsState.CLOSED)
        self._events.append(ConnectionClosed(by_peer=False))

    def datagrams_to_send(self, now: float) -> list[bytes]:
        out = self._outgoing
        if out:
            self._outgoing = []
            if self._write_seq[1] > _FAST_SEND_LIMIT:
                self._gcm_write = None  # send()'s checked path from now on
        return out

    def get_timer(self) -> float | None:
        if self.state is not DtlsState.HANDSHAKING:
            return None
        timer = self._flight_timer
        deadline = self._handshake_deadline
        if timer is None or (deadline is not None and deadline < timer):
            return deadline
        return timer

    def handle_timer(self, now: float) -> None:
        if self.state is not DtlsState.HANDSHAKING:
            return
        try:
            if self._handshake_deadline is not None and now >= self._handshake_deadline:
                self._fail(FailureReason.TIMEOUT,
                           f"handshake not complete after {self.handshake_timeout} s", None)
                return
            if self._flight_timer is not None and now >= self._flight_timer:
                # RFC 6347 §4.2.4.1: double the timer on each retransmission.
                self._retransmit_timeout = min(self._retransmit_timeout * 2,
                                               self.max_retransmit_timeout)
                self._retransmit(now, by_timer=True)
        except Exception as error:
            self._fail(FailureReason.INTERNAL_ERROR, f"{type(error).__name__}: {error}",
                       AlertDescription.INTERNAL_ERROR)

    def next_event(self) -> object | None:
        return self._events.popleft() if self._events else None

    def export_keying_material(self, label: str | bytes, length: int,
                               context: bytes | None = None) -> bytes:
        """RFC 5705 exporter over this connection's master secret."""
        if not self._master or self._suite is None:
            raise RuntimeError("no keying material before the handshake completes")
        return prf.export_keying_material(self._master, self._client_random,
                                          self._server_random, label, length, context,
                                          self._suite.hash_name)

    @property
    def record_overhead(self) -> int:
        """Bytes a record adds to application data: header, explicit nonce, tag.

        37 for AES-GCM, 29 for ChaCha20-Poly1305 (known once the suite is
        chosen; 37 before). An upper layer keeps its packets within
        ``mtu - record_overhead`` so that each record fits one datagram.
        """
        protection = self._write_protection[1]
        return 13 + (protection.overhead if protection is not None else 24)

    @property
    def srtp_profile(self) -> SrtpProfile | None:
        return self._srtp_profile

    @property
    def cipher_suite(self) -> CipherSuite | None:
        return self._suite.suite if self._suite is not None else None

    @property
    def remote_certificate(self) -> bytes | None:
        return self._peer_certificate or None

    # ------------------------------------------------------------------
    # record layer in

    def _receive(self, data: bytes, now: float) -> None:
        size = len(data)
        pos = 0
        view = memoryview(data)
        while pos < size:
            if size - pos < 13:
                self.stats.malformed += 1
                return
            content_type, version, epoch_seq, length = RECORD_HEADER.unpack_from(data, pos)
            start = pos + 13
            end = start + length
            if end > size:
                self.stats.malformed += 1
                return
            pos = end
            self.stats.records_received += 1
            if version != DTLS1_2 and version != DTLS1_0:
                self.stats.unexpected += 1
                continue
            epoch = epoch_seq >> 48
            seq = epoch_seq & 0xFFFFFFFFFFFF
            if epoch == 1:
                protection = self._read_protection[1]
                if protection is None:
                    if (self.state is DtlsState.HANDSHAKING
                            and len(self._early_records) < _MAX_EARLY_RECORDS):
                        self._early_records.append(bytes(view[start - 13 : end]))
                    else:
                        self.stats.unexpected += 1
                    continue
                window = self._replay[1]
                if window.seen(seq):
                    self.stats.replays += 1
                    continue
                try:
                    opened = protection.open(content_type, version, epoch_seq, view[start:end])
                except (InvalidTag, ValueError):
                    self.stats.auth_failures += 1
                    continue
                window.mark(seq)
                if content_type == 23:
                    if self.state is DtlsState.CONNECTED:
                        sink = self._application_sink
                        if sink is not None and not self._events:
                            sink.append(opened)  # receive_datagrams(): nothing queued ahead
                        else:
                            self._events.append(ApplicationData(opened))
                    elif (self.state is DtlsState.HANDSHAKING
                          and len(self._early_application_data) < _MAX_EARLY_RECORDS):
                        # Authenticated under this handshake's keys but overtaking
                        # the peer's Finished: hand it up once we complete.
                        self._early_application_data.append(opened)
                    else:
                        self.stats.unexpected += 1
                    continue
                self._handle_record(content_type, epoch, opened, now)
            elif epoch == 0:
                window = self._replay[0]
                if window.seen(seq):
                    self.stats.replays += 1
                    continue
                window.mark(seq)
                self._handle_record(content_type, epoch, bytes(view[start:end]), now)
            else:
                self.stats.unexpected += 1
                continue
            if self.state in (DtlsState.CLOSED, DtlsState.FAILED):
                return

    def _handle_record(self, content_type: int, epoch: int, plaintext: bytes, now: float) -> None:
        if content_type == ContentType.HANDSHAKE:
            try:
                fragments = HandshakeFragment.parse_all(plaintext)
            except DtlsParseError:
                self.stats.malformed += 1
                return
            for fragment in fragments:
                self._handle_fragment(fragment, epoch, now)
                if self.state in (DtlsState.CLOSED, DtlsState.FAILED):
                    return
        elif content_type == ContentType.CHANGE_CIPHER_SPEC:
            if plaintext != _CCS_PAYLOAD:
                self.stats.malformed += 1
            # The epoch switch itself happens when epoch-1 records authenticate
            # under the keys derived from this handshake; a lone CCS carries no
            # information we need (and may be reordered after the Finished).
        elif content_type == ContentType.ALERT:
            try:
                alert = Alert.parse(plaintext)
            except DtlsParseError:
                self.stats.malformed += 1
                return
            self._handle_alert(alert, epoch)
        elif content_type == ContentType.APPLICATION_DATA:
            self.stats.unexpected += 1  # plaintext application data is never accepted
        else:
            self.stats.unexpected += 1

    def _handle_alert(self, alert: Alert, epoch: int) -> None:
        if self.state is DtlsState.CONNECTED and epoch == 0:
            # Unauthenticated once keys are in use: anyone could forge it.
            self.stats.unexpected += 1
            return
        if alert.description == AlertDescription.CLOSE_NOTIFY:
            # RFC 5246 §7.2.1: answer with our own close_notify.
            self._send_alert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY)
            self._end(DtlsState.CLOSED)
            self._events.append(ConnectionClosed(by_peer=True))
            return
        if alert.level == AlertLevel.WARNING:
            return  # e.g. no_renegotiation: nothing to do
        try:
            description: AlertDescription | int = AlertDescription(alert.description)
        except ValueError:
            description = alert.description
        self._end(DtlsState.FAILED)
        self._events.append(ConnectionFailed(
            FailureReason.PEER_ALERT, f"peer sent fatal alert {description!r}",
            description, by_peer=True))

    # ------------------------------------------------------------------
    # handshake messages in

    def _handle_fragment(self, fragment: HandshakeFragment, epoch: int, now: float) -> None:
        seq = fragment.message_seq
        if seq < self._recv_msg_seq:
            # The peer is retransmitting an earlier flight: it did not get our
            # last one (RFC 6347 §4.2.4). After our final flight that is the
            # only way it is ever sent again.
            if self._flight and (self.state is DtlsState.HANDSHAKING
                                 or (self._step is _Step.DONE and not self.is_client)):
                self._retransmit_requested = True
            return
        if self._step is _Step.DONE:
            if fragment.msg_type in (HandshakeType.HELLO_REQUEST, HandshakeType.CLIENT_HELLO) \
                    and epoch == 1:
                # RFC 5746 §4.2/§4.4 style: we never renegotiate.
                self._recv_msg_seq = max(self._recv_msg_seq, seq + 1)
                self._send_alert(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)
            else:
                self.stats.unexpected += 1
            return
        if seq >= self._recv_msg_seq + _MAX_FUTURE_MESSAGES:
            self.stats.unexpected += 1
            return
        partial = self._partials.get(seq)
        if partial is None:
            if fragment.length > 1 << 18:
                raise _HandshakeError(FailureReason.PROTOCOL_ERROR,
                                      AlertDescription.DECODE_ERROR, "handshake message too big")
            partial = self._partials[seq] = _Partial(fragment.msg_type, fragment.length, epoch)
        elif (partial.msg_type != fragment.msg_type or partial.length != fragment.length
              or partial.epoch != epoch):
            self.stats.malformed += 1
            return
        partial.add(fragment.fragment_offset, fragment.body)
        while True:
            partial = self._partials.get(self._recv_msg_seq)
            if partial is None or not partial.complete:
                return
            del self._partials[self._recv_msg_seq]
            message_seq = self._recv_msg_seq
            self._recv_msg_seq += 1
            self._handle_message(partial.msg_type, message_seq, bytes(partial.body),
                                 partial.epoch, now)
            if self.state is not DtlsState.HANDSHAKING:
                return

    def _handle_message(self, msg_type: int, message_seq: int, body: bytes, epoch: int,
                        now: float) -> None:
        step = self._step
        try:
            if self.is_client:
                if step is _Step.WAIT_SERVER_HELLO:
                    if msg_type == HandshakeType.HELLO_VERIFY_REQUEST:
                        self._on_hello_verify_request(HelloVerifyRequest.parse(body), now)
                        return
                    self._expect(msg_type, HandshakeType.SERVER_HELLO)
                    self._add_transcript(msg_type, message_seq, body)
                    self._on_server_hello(ServerHello.parse(body), now)
                elif step is _Step.WAIT_SERVER_CERTIFICATE:
                    self._expect(msg_type, HandshakeType.CERTIFICATE)
                    self._add_transcript(msg_type, message_seq, body)
                    self._on_certificate(CertificateMessage.parse(body))
                    self._step = _Step.WAIT_SERVER_KEY_EXCHANGE
                elif step is _Step.WAIT_SERVER_KEY_EXCHANGE:
                    self._expect(msg_type, HandshakeType.SERVER_KEY_EXCHANGE)
                    self._add_transcript(msg_type, message_seq, body)
                    self._on_server_key_exchange(ServerKeyExchange.parse(body))
                elif step is _Step.WAIT_CERTIFICATE_REQUEST_OR_DONE and \
                        msg_type == HandshakeType.CERTIFICATE_REQUEST:
                    self._add_transcript(msg_type, message_seq, body)
                    self._on_certificate_request(CertificateRequest.parse(body))
                elif step in (_Step.WAIT_CERTIFICATE_REQUEST_OR_DONE,
                              _Step.WAIT_SERVER_HELLO_DONE):
                    self._expect(msg_type, HandshakeType.SERVER_HELLO_DONE)
                    ServerHelloDone.parse(body)
                    self._add_transcript(msg_type, message_seq, body)
                    self._send_client_final_flight(now)
                elif step is _Step.WAIT_SERVER_FINISHED:
                    self._expect(msg_type, HandshakeType.FINISHED)
                    if epoch != 1:
                        raise _HandshakeError(FailureReason.PROTOCOL_ERROR,
                                              AlertDescription.UNEXPECTED_MESSAGE,
                                              "Finished before ChangeCipherSpec")
                    self._on_server_finished(Finished.parse(body), message_seq, now)
            else:
                if step is _Step.WAIT_CLIENT_HELLO:
                    self._expect(msg_type, HandshakeType.CLIENT_HELLO)
                    self._on_client_hello(ClientHello.parse(body), message_seq, body, now)
                elif step is _Step.WAIT_CLIENT_CERTIFICATE:
                    self._expect(msg_type, HandshakeType.CERTIFICATE)
                    self._add_transcript(msg_type, message_seq, body)
                    self._on_certificate(CertificateMessage.parse(body))
                    self._step = _Step.WAIT_CLIENT_KEY_EXCHANGE
                elif step is _Step.WAIT_CLIENT_KEY_EXCHANGE:
                    self._expect(msg_type, HandshakeType.CLIENT_KEY_EXCHANGE)
                    self._add_transcript(msg_type, message_seq, body)
                    self._on_client_key_exchange(ClientKeyExchange.parse(body))
                elif step is _Step.WAIT_CERTIFICATE_VERIFY:
                    self._expect(msg_type, HandshakeType.CERTIFICATE_VERIFY)
                    self._on_certificate_verify(CertificateVerify.parse(body))
                    self._add_transcript(msg_type, message_seq, body)
                    self._step = _Step.WAIT_CLIENT_FINISHED
                elif step is _Step.WAIT_CLIENT_FINISHED:
                    self._expect(msg_type, HandshakeType.FINISHED)
                    if epoch != 1:
                        raise _HandshakeError(FailureReason.PROTOCOL_ERROR,
                                              AlertDescription.UNEXPECTED_MESSAGE,
                                              "Finished before ChangeCipherSpec")
                    self._on_client_finished(Finished.parse(body), message_seq, now)
        except DtlsParseError as error:
            raise _HandshakeError(FailureReason.PROTOCOL_ERROR, AlertDescription.DECODE_ERROR,
                                  f"malformed handshake message {msg_type}: {error}") from None

    @staticmethod
    def _expect(msg_type: int, expected: HandshakeType) -> None:
        if msg_type != expected:
            raise _HandshakeError(FailureReason.PROTOCOL_ERROR,
                                  AlertDescription.UNEXPECTED_MESSAGE,
                                  f"expected {expected.name}, got handshake type {msg_type}")

    def _add_transcript(self, msg_type: int, message_seq: int, body: bytes) -> None:
        # RFC 6347 §4.2.6: the transcript holds each message as if sent whole.
        self._transcript += handshake_message(msg_type, message_seq, body)

    def _hash(self) -> bytes:
        assert self._suite is not None
        return hashlib.new(self._suite.hash_name, self._transcript).digest()

    # -- client side

    def _client_extensions(self) -> list[tuple[int, bytes]]:
        extensions: list[tuple[int, bytes]] = [
            (ExtensionType.EXTENDED_MASTER_SECRET, b""),
            (ExtensionType.RENEGOTIATION_INFO, encode_renegotiation_info()),
            (ExtensionType.SUPPORTED_GROUPS, encode_u16_list_extension(
                [int(g) for g in self.groups])),
            (ExtensionType.EC_POINT_FORMATS, encode_point_formats([0])),
            (ExtensionType.SIGNATURE_ALGORITHMS, encode_u16_list_extension(
                [int(s) for s in DEFAULT_SIGNATURE_SCHEMES])),
        ]
        if self.srtp_profiles:
            extensions.append((ExtensionType.USE_SRTP, encode_use_srtp(
                [int(p) for p in self.srtp_profiles])))
        return extensions

    def _send_client_hello(self, now: float) -> None:
        hello = ClientHello(
            version=DTLS1_2,
            random=self._client_random,
            session_id=b"",
            cookie=self._cookie,
            cipher_suites=[int(s) for s in self.cipher_suites],
            compression_methods=b"\x00",
            extensions=self._client_extensions(),
        )
        self._client_hello = hello
        body = bytes(hello)
        self._transcript = bytearray()
        seq = self._next_send_seq()
        self._add_transcript(HandshakeType.CLIENT_HELLO, seq, body)
        self._send_flight([("hs", 0, HandshakeType.CLIENT_HELLO, seq, body)], now)

    def _next_send_seq(self) -> int:
        seq = self._send_msg_seq
        self._send_msg_seq += 1
        return seq

    def _on_hello_verify_request(self, request: HelloVerifyRequest, now: float) -> None:
        # RFC 6347 §4.2.1: resend the ClientHello with the cookie; neither the
        # first ClientHello nor the HelloVerifyRequest enter the transcript.
        if self._cookie:
            raise _HandshakeError(FailureReason.PROTOCOL_ERROR,
                                  AlertDescription.UNEXPECTED_MESSAGE,
                                  "second HelloVerifyRequest")
        self._cookie = request.cookie
        self._retransmit_timeout = self.initial_retransmit_timeout
        self._send_client_hello(now)

    def _on_server_hello(self, hello: ServerHello, now: float) -> None:
        if hello.version != DTLS1_2:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.PROTOCOL_VERSION,
                                  f"server chose version {hello.version:#06x}")
        info = suite_info(hello.cipher_suite)
        if info is None or info.suite not in self.cipher_suites:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.ILLEGAL_PARAMETER,
                                  f"server chose cipher suite {hello.cipher_suite:#06x}")
        if hello.compression_method != 0:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.ILLEGAL_PARAMETER, "compression chosen")
        extensions = hello.extensions
        if find_extension(extensions, ExtensionType.EXTENDED_MASTER_SECRET) is None:
            # RFC 7627 §5.3 lets a client abort; WebRTC requires EMS (RFC 8827).
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.HANDSHAKE_FAILURE,
                                  "server does not support extended_master_secret")
        renegotiation = find_extension(extensions, ExtensionType.RENEGOTIATION_INFO)
        if renegotiation is not None and decode_renegotiation_info(renegotiation):
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.HANDSHAKE_FAILURE,
                                  "non-empty renegotiation_info in initial handshake")
        srtp = find_extension(extensions, ExtensionType.USE_SRTP)
        if srtp is not None:
            profiles, _mki = decode_use_srtp(srtp)
            if len(profiles) != 1 or profiles[0] not in self.srtp_profiles:
                raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                      AlertDescription.ILLEGAL_PARAMETER,
                                      f"server chose SRTP profiles {profiles}")
            self._srtp_profile = SrtpProfile(profiles[0])
        self._suite = info
        self._server_random = hello.random
        self._step = _Step.WAIT_SERVER_CERTIFICATE

    def _on_certificate(self, message: CertificateMessage) -> None:
        if not message.certificates:
            raise _HandshakeError(FailureReason.BAD_CERTIFICATE,
                                  AlertDescription.HANDSHAKE_FAILURE,
                                  "peer sent no certificate")
        der = message.certificates[0]
        if self.remote_fingerprints is not None and not fingerprint_matches(
                der, self.remote_fingerprints):
            raise _HandshakeError(FailureReason.FINGERPRINT_MISMATCH,
                                  AlertDescription.BAD_CERTIFICATE,
                                  "certificate does not match the remote SDP fingerprint")
        try:
            public_key = x509.load_der_x509_certificate(der).public_key()
        except Exception as error:
            raise _HandshakeError(FailureReason.BAD_CERTIFICATE,
                                  AlertDescription.BAD_CERTIFICATE,
                                  f"unusable certificate: {error}") from None
        if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise _HandshakeError(FailureReason.BAD_CERTIFICATE,
                                  AlertDescription.UNSUPPORTED_CERTIFICATE,
                                  "certificate key is neither ECDSA nor RSA")
        if self.is_client and self._suite is not None and \
                self._suite.ecdsa != isinstance(public_key, ec.EllipticCurvePublicKey):
            raise _HandshakeError(FailureReason.BAD_CERTIFICATE,
                                  AlertDescription.UNSUPPORTED_CERTIFICATE,
                                  "certificate key does not fit the cipher suite")
        self._peer_certificate = der
        self._peer_public_key = public_key

    def _on_server_key_exchange(self, exchange: ServerKeyExchange) -> None:
        if exchange.named_group not in self.groups:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.ILLEGAL_PARAMETER,
                                  f"server chose group {exchange.named_group}")
        if exchange.signature_scheme not in DEFAULT_SIGNATURE_SCHEMES:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.ILLEGAL_PARAMETER,
                                  f"server chose signature scheme {exchange.signature_scheme:#x}")
        signed = self._client_random + self._server_random + exchange.params()
        if not verify(self._peer_public_key, exchange.signature_scheme, exchange.signature,
                      signed):
            raise _HandshakeError(FailureReason.BAD_CERTIFICATE,
                                  AlertDescription.DECRYPT_ERROR,
                                  "ServerKeyExchange signature does not verify")
        self._group = NamedGroup(exchange.named_group)
        self._key_share = KeyShare(self._group)
        self._pre_master = self._exchange(exchange.public_key)
        self._step = _Step.WAIT_CERTIFICATE_REQUEST_OR_DONE

    def _exchange(self, peer_public: bytes) -> bytes:
        assert self._key_share is not None
        try:
            return self._key_share.exchange(peer_public)
        except Exception:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.ILLEGAL_PARAMETER,
                                  "invalid ECDHE public key") from None

    def _on_certificate_request(self, request: CertificateRequest) -> None:
        self._certificate_requested = True
        self._client_scheme = choose_scheme(self.certificate.private_key,
                                            request.signature_schemes)
        if self._client_scheme is None:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.HANDSHAKE_FAILURE,
                                  "no signature scheme in common for our certificate")
        self._step = _Step.WAIT_SERVER_HELLO_DONE

    def _send_client_final_flight(self, now: float) -> None:
        assert self._key_share is not None and self._suite is not None
        flight: list[_FlightEntry] = []
        if self._certificate_requested:
            body = bytes(CertificateMessage([self.certificate.der]))
            seq = self._next_send_seq()
            self._add_transcript(HandshakeType.CERTIFICATE, seq, body)
            flight.append(("hs", 0, HandshakeType.CERTIFICATE, seq, body))
        body = bytes(ClientKeyExchange(self._key_share.public_bytes))
        seq = self._next_send_seq()
        self._add_transcript(HandshakeType.CLIENT_KEY_EXCHANGE, seq, body)
        flight.append(("hs", 0, HandshakeType.CLIENT_KEY_EXCHANGE, seq, body))
        self._derive_keys()
        if self._certificate_requested:
            assert self._client_scheme is not None
            signature = sign(self.certificate.private_key, self._client_scheme,
                             bytes(self._transcript))
            body = bytes(CertificateVerify(self._client_scheme, signature))
            seq = self._next_send_seq()
            self._add_transcript(HandshakeType.CERTIFICATE_VERIFY, seq, body)
            flight.append(("hs", 0, HandshakeType.CERTIFICATE_VERIFY, seq, body))
        flight.append(("ccs", 0, 0, 0, b""))
        verify_data = prf.client_finished(self._master, self._hash(), self._suite.hash_name)
        seq = self._next_send_seq()
        self._add_transcript(HandshakeType.FINISHED, seq, verify_data)
        flight.append(("hs", 1, HandshakeType.FINISHED, seq, verify_data))
        self._step = _Step.WAIT_SERVER_FINISHED
        self._retransmit_timeout = self.initial_retransmit_timeout
        self._send_flight(flight, now)

    def _on_server_finished(self, finished: Finished, message_seq: int, now: float) -> None:
        assert self._suite is not None
        expected = prf.server_finished(self._master, self._hash(), self._suite.hash_name)
        if not hmac.compare_digest(expected, finished.verify_data):
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.DECRYPT_ERROR, "server Finished is wrong")
        self._add_transcript(HandshakeType.FINISHED, message_seq, finished.verify_data)
        self._complete()

    # -- server side

    def _cookie_for(self, hello: ClientHello) -> bytes:
        # Stateless cookie (RFC 6347 §4.2.1): a MAC over the hello's content
        # without the cookie, so a retransmitted hello gets the same one.
        material = bytes(ClientHello(hello.version, hello.random, hello.session_id, b"",
                                     hello.cipher_suites, hello.compression_methods,
                                     hello.extensions))
        return hmac.digest(self._cookie_secret, material, "sha256")[:20]

    def _on_client_hello(self, hello: ClientHello, message_seq: int, body: bytes,
                         now: float) -> None:
        if self.use_cookie and not hmac.compare_digest(hello.cookie, self._cookie_for(hello)):
            self._send_msg_seq = message_seq
            cookie_body = bytes(HelloVerifyRequest(DTLS1_0, self._cookie_for(hello)))
            seq = self._next_send_seq()
            self._send_flight([("hs", 0, HandshakeType.HELLO_VERIFY_REQUEST, seq, cookie_body)],
                              now, arm_timer=False)
            return
        # DTLS versions count down: 0xFEFD (1.2) is "more" than 0xFEFF (1.0).
        if hello.version > DTLS1_2:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.PROTOCOL_VERSION,
                                  f"client offers only {hello.version:#06x}")
        if 0 not in hello.compression_methods:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.ILLEGAL_PARAMETER,
                                  "null compression not offered")
        extensions = hello.extensions
        if find_extension(extensions, ExtensionType.EXTENDED_MASTER_SECRET) is None:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.HANDSHAKE_FAILURE,
                                  "client does not offer extended_master_secret")
        renegotiation = find_extension(extensions, ExtensionType.RENEGOTIATION_INFO)
        if renegotiation is not None and decode_renegotiation_info(renegotiation):
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.HANDSHAKE_FAILURE,
                                  "non-empty renegotiation_info in initial handshake")
        ecdsa = self.certificate.is_ecdsa
        suite = next((s for s in self.cipher_suites if s in hello.cipher_suites
                      and (info := suite_info(s)) is not None and info.ecdsa == ecdsa), None)
        if suite is None:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.HANDSHAKE_FAILURE,
                                  "no cipher suite in common")
        groups_data = find_extension(extensions, ExtensionType.SUPPORTED_GROUPS)
        offered_groups = (decode_u16_list_extension(groups_data) if groups_data is not None
                          else [NamedGroup.SECP256R1])
        group = next((g for g in self.groups if g in offered_groups), None)
        if group is None:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.HANDSHAKE_FAILURE, "no group in common")
        formats = find_extension(extensions, ExtensionType.EC_POINT_FORMATS)
        if formats is not None and 0 not in decode_point_formats(formats):
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.ILLEGAL_PARAMETER,
                                  "uncompressed points not offered")
        schemes_data = find_extension(extensions, ExtensionType.SIGNATURE_ALGORITHMS)
        offered_schemes = (decode_u16_list_extension(schemes_data)
                           if schemes_data is not None else None)
        scheme = choose_scheme(self.certificate.private_key, offered_schemes)
        if scheme is None:
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.HANDSHAKE_FAILURE,
                                  "no signature scheme in common")
        srtp_data = find_extension(extensions, ExtensionType.USE_SRTP)
        if srtp_data is not None and self.srtp_profiles:
            offered_profiles, _mki = decode_use_srtp(srtp_data)
            self._srtp_profile = next(
                (p for p in self.srtp_profiles if p in offered_profiles), None)

        # Accepted: this hello starts the transcript (RFC 6347 §4.2.6).
        info = suite_info(suite)
        assert info is not None
        self._suite = info
        self._group = group
        self._client_random = hello.random
        self._server_random = self._random(32)
        self._send_msg_seq = message_seq
        self._transcript = bytearray()
        self._add_transcript(HandshakeType.CLIENT_HELLO, message_seq, body)

        server_extensions: list[tuple[int, bytes]] = [
            (ExtensionType.RENEGOTIATION_INFO, encode_renegotiation_info()),
            (ExtensionType.EXTENDED_MASTER_SECRET, b""),
            (ExtensionType.EC_POINT_FORMATS, encode_point_formats([0])),
        ]
        if self._srtp_profile is not None:
            server_extensions.append(
                (ExtensionType.USE_SRTP, encode_use_srtp([int(self._srtp_profile)])))
        flight: list[_FlightEntry] = []

        def add(msg_type: HandshakeType, message_body: bytes) -> None:
            seq = self._next_send_seq()
            self._add_transcript(msg_type, seq, message_body)
            flight.append(("hs", 0, msg_type, seq, message_body))

        add(HandshakeType.SERVER_HELLO, bytes(ServerHello(
            DTLS1_2, self._server_random, b"", int(suite), 0, server_extensions)))
        add(HandshakeType.CERTIFICATE, bytes(CertificateMessage([self.certificate.der])))
        self._key_share = KeyShare(group)
        params = ServerKeyExchange(int(group), self._key_share.public_bytes, scheme, b"")
        signature = sign(self.certificate.private_key, scheme,
                         self._client_random + self._server_random + params.params())
        add(HandshakeType.SERVER_KEY_EXCHANGE, bytes(ServerKeyExchange(
            int(group), self._key_share.public_bytes, scheme, signature)))
        # WebRTC authenticates both ends (RFC 8827 §6.5): always ask.
        add(HandshakeType.CERTIFICATE_REQUEST, bytes(CertificateRequest(
            bytes((64, 1)), [int(s) for s in DEFAULT_SIGNATURE_SCHEMES])))
        add(HandshakeType.SERVER_HELLO_DONE, b"")
        self._step = _Step.WAIT_CLIENT_CERTIFICATE
        self._retransmit_timeout = self.initial_retransmit_timeout
        self._send_flight(flight, now)

    def _on_client_key_exchange(self, exchange: ClientKeyExchange) -> None:
        self._pre_master = self._exchange(exchange.public_key)
        self._derive_keys()
        self._step = _Step.WAIT_CERTIFICATE_VERIFY

    def _on_certificate_verify(self, message: CertificateVerify) -> None:
        if not verify(self._peer_public_key, message.signature_scheme, message.signature,
                      bytes(self._transcript)):
            raise _HandshakeError(FailureReason.BAD_CERTIFICATE,
                                  AlertDescription.DECRYPT_ERROR,
                                  "CertificateVerify signature does not verify")

    def _on_client_finished(self, finished: Finished, message_seq: int, now: float) -> None:
        assert self._suite is not None
        expected = prf.client_finished(self._master, self._hash(), self._suite.hash_name)
        if not hmac.compare_digest(expected, finished.verify_data):
            raise _HandshakeError(FailureReason.HANDSHAKE_FAILURE,
                                  AlertDescription.DECRYPT_ERROR, "client Finished is wrong")
        self._add_transcript(HandshakeType.FINISHED, message_seq, finished.verify_data)
        verify_data = prf.server_finished(self._master, self._hash(), self._suite.hash_name)
        seq = self._next_send_seq()
        self._add_transcript(HandshakeType.FINISHED, seq, verify_data)
        self._send_flight([("ccs", 0, 0, 0, b""),
                           ("hs", 1, HandshakeType.FINISHED, seq, verify_data)],
                          now, arm_timer=False)
        self._complete()

    # -- both sides

    def _derive_keys(self) -> None:
        assert self._suite is not None
        info = self._suite
        # RFC 7627 §4: the session hash covers the messages up to and
        # including ClientKeyExchange, which is where the transcript stands.
        self._master = prf.extended_master_secret(self._pre_master, self._hash(),
                                                  info.hash_name)
        self._pre_master = b""
        size = 2 * (info.key_length + info.iv_length)
        block = prf.key_block(self._master, self._client_random, self._server_random, size,
                              info.hash_name)
        k, iv = info.key_length, info.iv_length
        client_key, server_key = block[:k], block[k : 2 * k]
        client_iv, server_iv = block[2 * k : 2 * k + iv], block[2 * k + iv :]
        client = RecordProtection(info, client_key, client_iv)
        server = RecordProtection(info, server_key, server_iv)
        self._write_protection[1] = client if self.is_client else server
        self._read_protection[1] = server if self.is_client else client

    def _complete(self) -> None:
        assert self._suite is not None and self._group is not None
        self._step = _Step.DONE
        self.state = DtlsState.CONNECTED
        self._flight_timer = None
        self._partials.clear()
        self._app_write = self._write_protection[1]
        self._app_read = self._read_protection[1]
        if not self._suite.chacha:
            assert self._app_write is not None and self._app_read is not None
            self._gcm_write = self._app_write.gcm_parts()
            self._gcm_read = self._app_read.gcm_open_parts()
        material = None
        if self._srtp_profile is not None:
            profile = self._srtp_profile
            material = self.export_keying_material(
                _SRTP_LABEL, profile.keying_material_length)
        self._events.append(HandshakeComplete(
            is_client=self.is_client,
            cipher_suite=self._suite.suite,
            named_group=self._group,
            srtp_profile=self._srtp_profile,
            srtp_keying_material=material,
            remote_certificate=self._peer_certificate,
        ))
        for data in self._early_application_data:
            self._events.append(ApplicationData(data))
        self._early_application_data = []

    # ------------------------------------------------------------------
    # records out

    def _seal(self, content_type: int, epoch: int, payload: bytes) -> bytes:
        seq = self._write_seq[epoch]
        self._write_seq[epoch] = seq + 1
        self.stats.records_sent += 1
        epoch_seq = (epoch << 48) | seq
        protection = self._write_protection[epoch] if epoch else None
        if protection is None:
            return RECORD_HEADER.pack(content_type, DTLS1_2, epoch_seq, len(payload)) + payload
        return protection.seal(content_type, DTLS1_2, epoch_seq, payload)

    def _send_alert(self, level: AlertLevel, description: AlertDescription) -> None:
        epoch = 1 if self._write_protection[1] is not None and (
            self.state is DtlsState.CONNECTED or self._step in (
                _Step.WAIT_SERVER_FINISHED, _Step.DONE)) else 0
        self._outgoing.append(self._seal(ContentType.ALERT, epoch,
                                         bytes((level, description))))

    def _send_flight(self, flight: list[_FlightEntry], now: float,
                     arm_timer: bool = True) -> None:
        self._flight = flight
        self._flight_timer = now + self._retransmit_timeout if arm_timer else None
        self._transmit_flight(now)

    def _retransmit(self, now: float, by_timer: bool) -> None:
        if not self._flight:
            return
        if not by_timer and now < self._flight_sent_at + 0.05:
            # Answer the peer's retransmissions at most every 50 ms, so that a
            # flight of several datagrams does not trigger several copies.
            return
        self.stats.retransmissions += 1
        if self._flight_timer is not None:
            self._flight_timer = now + self._retransmit_timeout
        self._transmit_flight(now)

    def _transmit_flight(self, now: float) -> None:
        """Serialize the whole flight into records and pack them into datagrams."""
        self._flight_sent_at = now
        mtu = self.mtu
        datagram = bytearray()
        for kind, epoch, msg_type, message_seq, body in self._flight:
            records: list[bytes] = []
            if kind == "ccs":
                records.append(self._seal(ContentType.CHANGE_CIPHER_SPEC, epoch, _CCS_PAYLOAD))
            else:
                protection = self._write_protection[epoch] if epoch else None
                overhead = 13 + 12 + (protection.overhead if protection else 0)
                room = mtu - overhead
                length = len(body)
                offset = 0
                while True:
                    chunk = body[offset : offset + room]
                    fragment = HANDSHAKE_HEADER.pack(
                        msg_type, _U24.pack(length)[1:], message_seq,
                        _U24.pack(offset)[1:], _U24.pack(len(chunk))[1:]) + chunk
                    records.append(self._seal(ContentType.HANDSHAKE, epoch, fragment))
                    offset += len(chunk)
                    if offset >= length:
                        break
            for record in records:
                if datagram and len(datagram) + len(record) > mtu:
                    self._outgoing.append(bytes(datagram))
                    datagram = bytearray()
                datagram += record
        if datagram:
            self._outgoing.append(bytes(datagram))

    # ------------------------------------------------------------------
    # endings

    def _end(self, state: DtlsState) -> None:
        self.state = state
        self._gcm_write = self._gcm_read = None
        self._flight_timer = None
        self._flight = []
        self._partials.clear()
        self._early_records = []

    def _fail(self, reason: FailureReason, detail: str,
              alert: AlertDescription | None) -> None:
        if self.state in (DtlsState.CLOSED, DtlsState.FAILED):
            return
        if alert is not None:
            with contextlib.suppress(Exception):
                self._send_alert(AlertLevel.FATAL, alert)
        self._end(DtlsState.FAILED)
        self._events.append(ConnectionFailed(reason, detail, alert, by_peer=False))
