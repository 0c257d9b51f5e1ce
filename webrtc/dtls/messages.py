"""DTLS 1.2 wire formats: records, handshake fragments and messages, extensions.

Every ``parse`` raises only :class:`DtlsParseError`; ``bytes(message)``
serializes, and ``Message.parse(bytes(message)) == message``. Extensions are
kept raw (``(type, data)`` in wire order) inside the hello messages so that
unknown ones survive a round trip; typed helpers encode and decode the ones we
use (RFC 5246 §7.4, RFC 6347 §4.2, RFC 4492/8422, RFC 5764, RFC 7627, RFC 5746).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

from webrtc.dtls.errors import DtlsParseError

__all__ = [
    "DTLS1_0",
    "DTLS1_2",
    "HANDSHAKE_HEADER",
    "RECORD_HEADER",
    "Alert",
    "AlertDescription",
    "AlertLevel",
    "Certificate",
    "CertificateRequest",
    "CertificateVerify",
    "ClientHello",
    "ClientKeyExchange",
    "ContentType",
    "ExtensionType",
    "Finished",
    "HandshakeFragment",
    "HandshakeType",
    "HelloVerifyRequest",
    "Reader",
    "Record",
    "ServerHello",
    "ServerHelloDone",
    "ServerKeyExchange",
    "parse_records",
]

DTLS1_0 = 0xFEFF
DTLS1_2 = 0xFEFD

# type, version, epoch<<48 | sequence number, length (RFC 6347 §4.1)
RECORD_HEADER = struct.Struct(">BHQH")
# msg_type, length (24 bits as 1+2), message_seq, fragment_offset, fragment_length
HANDSHAKE_HEADER = struct.Struct(">B3sH3s3s")
_U16 = struct.Struct(">H")


class ContentType(IntEnum):
    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23


class HandshakeType(IntEnum):
    HELLO_REQUEST = 0
    CLIENT_HELLO = 1
    SERVER_HELLO = 2
    HELLO_VERIFY_REQUEST = 3
    CERTIFICATE = 11
    SERVER_KEY_EXCHANGE = 12
    CERTIFICATE_REQUEST = 13
    SERVER_HELLO_DONE = 14
    CERTIFICATE_VERIFY = 15
    CLIENT_KEY_EXCHANGE = 16
    FINISHED = 20


class AlertLevel(IntEnum):
    WARNING = 1
    FATAL = 2


class AlertDescription(IntEnum):
    CLOSE_NOTIFY = 0
    UNEXPECTED_MESSAGE = 10
    BAD_RECORD_MAC = 20
    RECORD_OVERFLOW = 22
    HANDSHAKE_FAILURE = 40
    BAD_CERTIFICATE = 42
    UNSUPPORTED_CERTIFICATE = 43
    CERTIFICATE_EXPIRED = 45
    CERTIFICATE_UNKNOWN = 46
    ILLEGAL_PARAMETER = 47
    UNKNOWN_CA = 48
    ACCESS_DENIED = 49
    DECODE_ERROR = 50
    DECRYPT_ERROR = 51
    PROTOCOL_VERSION = 70
    INSUFFICIENT_SECURITY = 71
    INTERNAL_ERROR = 80
    USER_CANCELED = 90
    NO_RENEGOTIATION = 100
    UNSUPPORTED_EXTENSION = 110


class ExtensionType(IntEnum):
    SUPPORTED_GROUPS = 10
    EC_POINT_FORMATS = 11
    SIGNATURE_ALGORITHMS = 13
    USE_SRTP = 14
    EXTENDED_MASTER_SECRET = 23
    RENEGOTIATION_INFO = 0xFF01


class Reader:
    """Bounds-checked reading of TLS vectors; every failure is a DtlsParseError."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes | memoryview, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def remaining(self) -> int:
        return self.end - self.pos

    def read(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise DtlsParseError("truncated")
        value = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return value

    def uint(self, n: int) -> int:
        return int.from_bytes(self.read(n), "big")

    def vector(self, length_size: int, minimum: int = 0, maximum: int | None = None) -> bytes:
        length = self.uint(length_size)
        if length < minimum or (maximum is not None and length > maximum):
            raise DtlsParseError(f"vector length {length} out of range")
        return self.read(length)

    def finish(self) -> None:
        if self.pos != self.end:
            raise DtlsParseError(f"{self.end - self.pos} trailing bytes")


def _vector(length_size: int, data: bytes) -> bytes:
    return len(data).to_bytes(length_size, "big") + data


def _u16_list(data: bytes) -> list[int]:
    if len(data) % 2:
        raise DtlsParseError("odd length list of 16-bit values")
    return [v for (v,) in struct.iter_unpack(">H", data)]


def _pack_u16_list(values: list[int]) -> bytes:
    return struct.pack(f">{len(values)}H", *values)


# -- records -------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One DTLS record, its fragment still protected if the epoch is not 0."""

    content_type: int
    version: int
    epoch: int
    sequence_number: int
    fragment: bytes

    def __bytes__(self) -> bytes:
        return (
            RECORD_HEADER.pack(
                self.content_type,
                self.version,
                (self.epoch << 48) | self.sequence_number,
                len(self.fragment),
            )
            + self.fragment
        )

    @classmethod
    def parse(cls, data: bytes) -> Record:
        records = parse_records(data)
        if len(records) != 1:
            raise DtlsParseError(f"expected one record, found {len(records)}")
        return records[0]


def parse_records(data: bytes) -> list[Record]:
    """All records of one datagram (RFC 6347 §4.1: several may share a datagram)."""
    records = []
    pos = 0
    size = len(data)
    while pos < size:
        if size - pos < 13:
            raise DtlsParseError("truncated record header")
        content_type, version, epoch_seq, length = RECORD_HEADER.unpack_from(data, pos)
        end = pos + 13 + length
        if end > size:
            raise DtlsParseError("truncated record")
        records.append(
            Record(content_type, version, epoch_seq >> 48, epoch_seq & 0xFFFFFFFFFFFF,
                   bytes(data[pos + 13 : end]))
        )
        pos = end
    return records


# -- handshake fragments -------------------------------------------------


@dataclass(frozen=True)
class HandshakeFragment:
    """A handshake message header with (part of) its body (RFC 6347 §4.2.2)."""

    msg_type: int
    length: int
    message_seq: int
    fragment_offset: int
    body: bytes

    def __bytes__(self) -> bytes:
        return (
            HANDSHAKE_HEADER.pack(
                self.msg_type,
                self.length.to_bytes(3, "big"),
                self.message_seq,
                self.fragment_offset.to_bytes(3, "big"),
                len(self.body).to_bytes(3, "big"),
            )
            + self.body
        )

    @classmethod
    def parse_all(cls, data: bytes) -> list[HandshakeFragment]:
        """All handshake fragments of one record's plaintext."""
        fragments = []
        pos = 0
        size = len(data)
        while pos < size:
            if size - pos < 12:
                raise DtlsParseError("truncated handshake header")
            msg_type, length, seq, offset, frag_len = HANDSHAKE_HEADER.unpack_from(data, pos)
            length = int.from_bytes(length, "big")
            offset = int.from_bytes(offset, "big")
            frag_len = int.from_bytes(frag_len, "big")
            if offset + frag_len > length:
                raise DtlsParseError("handshake fragment beyond message length")
            end = pos + 12 + frag_len
            if end > size:
                raise DtlsParseError("truncated handshake fragment")
            fragments.append(cls(msg_type, length, seq, offset, bytes(data[pos + 12 : end])))
            pos = end
        return fragments

    @classmethod
    def parse(cls, data: bytes) -> HandshakeFragment:
        fragments = cls.parse_all(data)
        if len(fragments) != 1:
            raise DtlsParseError(f"expected one handshake fragment, found {len(fragments)}")
        return fragments[0]


def handshake_message(msg_type: int, message_seq: int, body: bytes) -> bytes:
    """A whole (unfragmented) handshake message as it enters the transcript."""
    return bytes(HandshakeFragment(msg_type, len(body), message_seq, 0, body))


# -- alerts --------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    level: int
    description: int

    def __bytes__(self) -> bytes:
        return bytes((self.level, self.description))

    @classmethod
    def parse(cls, data: bytes) -> Alert:
        if len(data) != 2:
            raise DtlsParseError("alert must be two bytes")
        return cls(data[0], data[1])


# -- extensions ----------------------------------------------------------

Extensions = list[tuple[int, bytes]]


def _parse_extensions(reader: Reader) -> Extensions:
    # RFC 5246 §7.4.1.2: the extensions block may be absent altogether.
    if reader.remaining() == 0:
        return []
    block = Reader(reader.vector(2))
    extensions: Extensions = []
    seen: set[int] = set()
    while block.remaining():
        ext_type = block.uint(2)
        if ext_type in seen:
            raise DtlsParseError(f"duplicate extension {ext_type}")
        seen.add(ext_type)
        extensions.append((ext_type, block.vector(2)))
    return extensions


def _serialize_extensions(extensions: Extensions) -> bytes:
    if not extensions:
        return b""
    body = b"".join(_U16.pack(t) + _vector(2, d) for t, d in extensions)
    return _vector(2, body)


def find_extension(extensions: Extensions, ext_type: int) -> bytes | None:
    for t, d in extensions:
        if t == ext_type:
            return d
    return None


def encode_u16_list_extension(values: list[int]) -> bytes:
    """supported_groups / signature_algorithms body."""
    return _vector(2, _pack_u16_list(values))


def decode_u16_list_extension(data: bytes) -> list[int]:
    reader = Reader(data)
    values = _u16_list(reader.vector(2, 2))
    reader.finish()
    return values


def encode_point_formats(formats: list[int]) -> bytes:
    return _vector(1, bytes(formats))


def decode_point_formats(data: bytes) -> list[int]:
    reader = Reader(data)
    formats: list[int] = list(reader.vector(1, 1))
    reader.finish()
    return formats


def encode_use_srtp(profiles: list[int], mki: bytes = b"") -> bytes:
    """use_srtp body (RFC 5764 §4.1.1)."""
    return _vector(2, _pack_u16_list(profiles)) + _vector(1, mki)


def decode_use_srtp(data: bytes) -> tuple[list[int], bytes]:
    reader = Reader(data)
    profiles = _u16_list(reader.vector(2, 2))
    mki = reader.vector(1)
    reader.finish()
    return profiles, mki


def encode_renegotiation_info(verify_data: bytes = b"") -> bytes:
    return _vector(1, verify_data)


def decode_renegotiation_info(data: bytes) -> bytes:
    reader = Reader(data)
    value = reader.vector(1)
    reader.finish()
    return value


# -- handshake message bodies ------------------------------------------------


@dataclass(frozen=True)
class ClientHello:
    version: int
    random: bytes
    session_id: bytes
    cookie: bytes
    cipher_suites: list[int]
    compression_methods: bytes
    extensions: Extensions = field(default_factory=list)

    def __bytes__(self) -> bytes:
        return (
            _U16.pack(self.version)
            + self.random
            + _vector(1, self.session_id)
            + _vector(1, self.cookie)
            + _vector(2, _pack_u16_list(self.cipher_suites))
            + _vector(1, self.compression_methods)
            + _serialize_extensions(self.extensions)
        )

    @classmethod
    def parse(cls, data: bytes) -> ClientHello:
        r = Reader(data)
        version = r.uint(2)
        random = r.read(32)
        session_id = r.vector(1, 0, 32)
        cookie = r.vector(1)
        suites = _u16_list(r.vector(2, 2))
        compression = r.vector(1, 1)
        extensions = _parse_extensions(r)
        r.finish()
        return cls(version, random, session_id, cookie, suites, compression, extensions)


@dataclass(frozen=True)
class ServerHello:
    version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    compression_method: int
    extensions: Extensions = field(default_factory=list)

    def __bytes__(self) -> bytes:
        return (
            _U16.pack(self.version)
            + self.random
            + _vector(1, self.session_id)
            + _U16.pack(self.cipher_suite)
            + bytes((self.compression_method,))
            + _serialize_extensions(self.extensions)
        )

    @classmethod
    def parse(cls, data: bytes) -> ServerHello:
        r = Reader(data)
        version = r.uint(2)
        random = r.read(32)
        session_id = r.vector(1, 0, 32)
        suite = r.uint(2)
        compression = r.uint(1)
        extensions = _parse_extensions(r)
        r.finish()
        return cls(version, random, session_id, suite, compression, extensions)


@dataclass(frozen=True)
class HelloVerifyRequest:
    version: int
    cookie: bytes

    def __bytes__(self) -> bytes:
        return _U16.pack(self.version) + _vector(1, self.cookie)

    @classmethod
    def parse(cls, data: bytes) -> HelloVerifyRequest:
        r = Reader(data)
        version = r.uint(2)
        cookie = r.vector(1, 0, 255)
        r.finish()
        return cls(version, cookie)


@dataclass(frozen=True)
class Certificate:
    """The Certificate message: a chain of DER certificates, leaf first."""

    certificates: list[bytes]

    def __bytes__(self) -> bytes:
        return _vector(3, b"".join(_vector(3, c) for c in self.certificates))

    @classmethod
    def parse(cls, data: bytes) -> Certificate:
        r = Reader(data)
        chain = Reader(r.vector(3))
        r.finish()
        certificates = []
        while chain.remaining():
            certificates.append(chain.vector(3, 1))
        return cls(certificates)


@dataclass(frozen=True)
class ServerKeyExchange:
    """ECDHE parameters with their signature (RFC 8422 §5.4)."""

    named_group: int
    public_key: bytes
    signature_scheme: int
    signature: bytes

    def params(self) -> bytes:
        # curve_type 3 = named_curve
        return bytes((3,)) + _U16.pack(self.named_group) + _vector(1, self.public_key)

    def __bytes__(self) -> bytes:
        return self.params() + _U16.pack(self.signature_scheme) + _vector(2, self.signature)

    @classmethod
    def parse(cls, data: bytes) -> ServerKeyExchange:
        r = Reader(data)
        if r.uint(1) != 3:
            raise DtlsParseError("only named_curve ECDHE parameters are supported")
        group = r.uint(2)
        public = r.vector(1, 1)
        scheme = r.uint(2)
        signature = r.vector(2)
        r.finish()
        return cls(group, public, scheme, signature)


@dataclass(frozen=True)
class CertificateRequest:
    certificate_types: bytes
    signature_schemes: list[int]
    authorities: bytes = b""

    def __bytes__(self) -> bytes:
        return (
            _vector(1, self.certificate_types)
            + _vector(2, _pack_u16_list(self.signature_schemes))
            + _vector(2, self.authorities)
        )

    @classmethod
    def parse(cls, data: bytes) -> CertificateRequest:
        r = Reader(data)
        types = r.vector(1, 1)
        schemes = _u16_list(r.vector(2, 2))
        authorities = r.vector(2)
        r.finish()
        return cls(types, schemes, authorities)


@dataclass(frozen=True)
class ServerHelloDone:
    def __bytes__(self) -> bytes:
        return b""

    @classmethod
    def parse(cls, data: bytes) -> ServerHelloDone:
        if data:
            raise DtlsParseError("ServerHelloDone must be empty")
        return cls()


@dataclass(frozen=True)
class ClientKeyExchange:
    public_key: bytes

    def __bytes__(self) -> bytes:
        return _vector(1, self.public_key)

    @classmethod
    def parse(cls, data: bytes) -> ClientKeyExchange:
        r = Reader(data)
        public = r.vector(1, 1)
        r.finish()
        return cls(public)


@dataclass(frozen=True)
class CertificateVerify:
    signature_scheme: int
    signature: bytes

    def __bytes__(self) -> bytes:
        return _U16.pack(self.signature_scheme) + _vector(2, self.signature)

    @classmethod
    def parse(cls, data: bytes) -> CertificateVerify:
        r = Reader(data)
        scheme = r.uint(2)
        signature = r.vector(2)
        r.finish()
        return cls(scheme, signature)


@dataclass(frozen=True)
class Finished:
    verify_data: bytes

    def __bytes__(self) -> bytes:
        return self.verify_data

    @classmethod
    def parse(cls, data: bytes) -> Finished:
        if len(data) != 12:
            raise DtlsParseError("Finished verify_data must be 12 bytes")
        return cls(bytes(data))
