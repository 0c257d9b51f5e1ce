"""STUN messages (RFC 8489, compatible with RFC 5389) and their transactions.

A :class:`StunMessage` is a method, a class, a 96-bit transaction id and an
ordered list of ``(attribute type, value)`` pairs. Known attributes carry
typed values (see the table below); unknown ones keep their raw bytes, so a
comprehension-optional attribute we do not understand survives a round trip.

=========================================== ==================================
attribute                                   value type
=========================================== ==================================
MAPPED-ADDRESS, XOR-MAPPED-ADDRESS,         ``(host, port)``
XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS,
ALTERNATE-SERVER, RESPONSE-ORIGIN,
OTHER-ADDRESS
USERNAME, REALM, NONCE, SOFTWARE,           ``str``
ALTERNATE-DOMAIN
PRIORITY, LIFETIME, CHANNEL-NUMBER,         ``int``
REQUESTED-TRANSPORT, REQUESTED-ADDRESS-
FAMILY, ADDITIONAL-ADDRESS-FAMILY,
FINGERPRINT, CONNECTION-ID
ICE-CONTROLLED, ICE-CONTROLLING             ``int`` (64-bit tie-breaker)
USE-CANDIDATE, DONT-FRAGMENT                ``True`` (empty value)
EVEN-PORT                                   ``bool`` (the R bit)
ERROR-CODE                                  :class:`ErrorCode`
UNKNOWN-ATTRIBUTES                          ``tuple[int, ...]``
PASSWORD-ALGORITHMS                         ``tuple[PasswordAlgorithm, ...]``
PASSWORD-ALGORITHM                          :class:`PasswordAlgorithm`
MESSAGE-INTEGRITY(-SHA256), DATA,           ``bytes``
RESERVATION-TOKEN, USERHASH, anything else
=========================================== ==================================

Serializing: ``bytes(message)`` writes the attributes as they are (a parsed
message's MESSAGE-INTEGRITY and FINGERPRINT values included), while
:meth:`StunMessage.encode` appends freshly computed MESSAGE-INTEGRITY,
MESSAGE-INTEGRITY-SHA256 and FINGERPRINT attributes (RFC 8489 section 14.5,
14.6, 14.7). Parsing keeps the received bytes so that
:meth:`StunMessage.verify_integrity` checks the HMAC over exactly what was
sent, padding included.

Transactions (RFC 8489 section 6.2.1) are sans-I/O: :class:`StunTransaction`
is a retransmission schedule driven by ``now`` (RTO doubling, Rc sends, a
final wait of Rm * RTO) and :class:`RtoEstimator` keeps the RFC 6298 RTO that
RFC 8489 asks clients to reuse between transactions.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import os
import stringprep
import struct
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from webrtc.errors import ParseError

__all__ = [
    "COOKIE",
    "FINGERPRINT_XOR",
    "AttributeType",
    "ErrorCode",
    "MessageClass",
    "Method",
    "PasswordAlgorithm",
    "RtoEstimator",
    "StunMessage",
    "StunParseError",
    "StunTransaction",
    "TransactionState",
    "is_stun",
    "long_term_key",
    "random_transaction_id",
    "saslprep",
]

COOKIE = 0x2112A442
COOKIE_BYTES = COOKIE.to_bytes(4, "big")
FINGERPRINT_XOR = 0x5354554E  # "STUN", RFC 8489 section 14.7
HEADER_LENGTH = 20

_HEADER = struct.Struct("!HHI12s")
_HEADER_NO_ID = struct.Struct("!HHI")
_ATTR_HEADER = struct.Struct("!HH")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")
_ATTR_U32 = struct.Struct("!HHI")
_ATTR_U64 = struct.Struct("!HHQ")
_ADDRESS4 = struct.Struct("!xBH4s")
_FINGERPRINT_ATTR = struct.Struct("!HHI")
_ZEROS = bytes(4)


class StunParseError(ParseError):
    """A datagram that is not a well-formed STUN message."""


class MessageClass(enum.IntEnum):
    """The two class bits of the message type, in their wire positions."""

    REQUEST = 0x000
    INDICATION = 0x010
    SUCCESS = 0x100
    ERROR = 0x110


class Method(enum.IntEnum):
    """STUN methods (IANA STUN Methods registry)."""

    BINDING = 0x001
    ALLOCATE = 0x003
    REFRESH = 0x004
    SEND = 0x006
    DATA = 0x007
    CREATE_PERMISSION = 0x008
    CHANNEL_BIND = 0x009
    CONNECT = 0x00A
    CONNECTION_BIND = 0x00B
    CONNECTION_ATTEMPT = 0x00C
    GOOG_PING = 0x080


class AttributeType(enum.IntEnum):
    """STUN attribute types (IANA STUN Attributes registry)."""

    MAPPED_ADDRESS = 0x0001
    USERNAME = 0x0006
    MESSAGE_INTEGRITY = 0x0008
    ERROR_CODE = 0x0009
    UNKNOWN_ATTRIBUTES = 0x000A
    CHANNEL_NUMBER = 0x000C
    LIFETIME = 0x000D
    XOR_PEER_ADDRESS = 0x0012
    DATA = 0x0013
    REALM = 0x0014
    NONCE = 0x0015
    XOR_RELAYED_ADDRESS = 0x0016
    REQUESTED_ADDRESS_FAMILY = 0x0017
    EVEN_PORT = 0x0018
    REQUESTED_TRANSPORT = 0x0019
    DONT_FRAGMENT = 0x001A
    MESSAGE_INTEGRITY_SHA256 = 0x001C
    PASSWORD_ALGORITHM = 0x001D
    USERHASH = 0x001E
    XOR_MAPPED_ADDRESS = 0x0020
    RESERVATION_TOKEN = 0x0022
    PRIORITY = 0x0024
    USE_CANDIDATE = 0x0025
    CONNECTION_ID = 0x002A
    ADDITIONAL_ADDRESS_FAMILY = 0x8000
    ADDRESS_ERROR_CODE = 0x8001
    PASSWORD_ALGORITHMS = 0x8002
    ALTERNATE_DOMAIN = 0x8003
    ICMP = 0x8004
    SOFTWARE = 0x8022
    ALTERNATE_SERVER = 0x8023
    FINGERPRINT = 0x8028
    ICE_CONTROLLED = 0x8029
    ICE_CONTROLLING = 0x802A
    RESPONSE_ORIGIN = 0x802B
    OTHER_ADDRESS = 0x802C


A = AttributeType


@dataclass(frozen=True)
class ErrorCode:
    """ERROR-CODE (RFC 8489 section 14.8): a code 300..699 and a reason phrase."""

    code: int
    reason: str = ""


@dataclass(frozen=True)
class PasswordAlgorithm:
    """One entry of PASSWORD-ALGORITHMS, or the PASSWORD-ALGORITHM value (RFC 8489 14.11)."""

    algorithm: int
    parameters: bytes = b""

    MD5 = 0x0001
    SHA256 = 0x0002


# -- value codecs -------------------------------------------------------------
# Decoders take (value bytes, transaction id) and raise StunParseError (or one of
# the builtin errors caught and converted by StunMessage.parse). Encoders take
# (value, transaction id) and return the value bytes without padding.


def _ipv4_text(raw: bytes) -> str:
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def _ipv4_bytes(text: str) -> bytes:
    parts = text.split(".")
    if len(parts) != 4:
        raise ValueError(f"not an IPv4 address: {text!r}")
    return bytes(int(part) for part in parts)


def _decode_address(value: bytes, transaction_id: bytes) -> tuple[str, int]:
    if len(value) == 8 and value[1] == 1:
        _, port, raw = _ADDRESS4.unpack(value)
        return _ipv4_text(raw), port
    if len(value) == 20 and value[1] == 2:
        port = _U16.unpack_from(value, 2)[0]
        return ipaddress.IPv6Address(value[4:20]).compressed, port
    raise StunParseError("malformed address attribute")


def _encode_address(value: tuple[str, int], transaction_id: bytes) -> bytes:
    host, port = value
    if ":" in host:
        return struct.pack("!BBH16s", 0, 2, port, ipaddress.IPv6Address(host).packed)
    return _ADDRESS4.pack(1, port, _ipv4_bytes(host))


def _xor(data: bytes, mask: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(mask, "big")).to_bytes(len(data), "big")


def _decode_xor_address(value: bytes, transaction_id: bytes) -> tuple[str, int]:
    if len(value) == 8 and value[1] == 1:
        _, port, raw = _ADDRESS4.unpack(value)
        address = _U32.unpack(raw)[0] ^ COOKIE
        return (
            f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}",
            port ^ 0x2112,
        )
    if len(value) == 20 and value[1] == 2:
        port = _U16.unpack_from(value, 2)[0] ^ 0x2112
        raw = _xor(value[4:20], COOKIE_BYTES + transaction_id)
        return ipaddress.IPv6Address(raw).compressed, port
    raise StunParseError("malformed XOR address attribute")


def _encode_xor_address(value: tuple[str, int], transaction_id: bytes) -> bytes:
    host, port = value
    if ":" in host:
        raw = _xor(ipaddress.IPv6Address(host).packed, COOKIE_BYTES + transaction_id)
        return struct.pack("!BBH16s", 0, 2, port ^ 0x2112, raw)
    return _ADDRESS4.pack(1, port ^ 0x2112, _U32.pack(_U32.unpack(_ipv4_bytes(host))[0] ^ COOKIE))


def _decode_text(value: bytes, transaction_id: bytes) -> str:
    return value.decode("utf-8")


def _encode_text(value: str, transaction_id: bytes) -> bytes:
    return value.encode("utf-8")


def _decode_bytes(value: bytes, transaction_id: bytes) -> bytes:
    return value


def _encode_bytes(value: bytes, transaction_id: bytes) -> bytes:
    return bytes(value)


def _decode_u32(value: bytes, transaction_id: bytes) -> int:
    if len(value) != 4:
        raise StunParseError("32-bit attribute of wrong length")
    return int(_U32.unpack(value)[0])


def _encode_u32(value: int, transaction_id: bytes) -> bytes:
    return _U32.pack(value)


def _decode_u64(value: bytes, transaction_id: bytes) -> int:
    if len(value) != 8:
        raise StunParseError("64-bit attribute of wrong length")
    return int(_U64.unpack(value)[0])


def _encode_u64(value: int, transaction_id: bytes) -> bytes:
    return _U64.pack(value)


def _decode_u16_rffu(value: bytes, transaction_id: bytes) -> int:
    # CHANNEL-NUMBER: a 16-bit number followed by 16 bits reserved for future use.
    if len(value) != 4:
        raise StunParseError("CHANNEL-NUMBER of wrong length")
    return int(_U16.unpack_from(value)[0])


def _encode_u16_rffu(value: int, transaction_id: bytes) -> bytes:
    return _U16.pack(value) + b"\x00\x00"


def _decode_u8_rffu(value: bytes, transaction_id: bytes) -> int:
    # REQUESTED-TRANSPORT, REQUESTED-ADDRESS-FAMILY: one byte, then 24 bits RFFU.
    if len(value) != 4:
        raise StunParseError("attribute of wrong length")
    return value[0]


def _encode_u8_rffu(value: int, transaction_id: bytes) -> bytes:
    return bytes((value, 0, 0, 0))


def _decode_flag(value: bytes, transaction_id: bytes) -> bool:
    if value:
        raise StunParseError("flag attribute with a value")
    return True


def _encode_flag(value: bool, transaction_id: bytes) -> bytes:
    return b""


def _decode_even_port(value: bytes, transaction_id: bytes) -> bool:
    if len(value) != 1:
        raise StunParseError("EVEN-PORT of wrong length")
    return bool(value[0] & 0x80)


def _encode_even_port(value: bool, transaction_id: bytes) -> bytes:
    return b"\x80" if value else b"\x00"


def _decode_error_code(value: bytes, transaction_id: bytes) -> ErrorCode:
    if len(value) < 4:
        raise StunParseError("ERROR-CODE too short")
    return ErrorCode((value[2] & 7) * 100 + value[3], value[4:].decode("utf-8"))


def _encode_error_code(value: ErrorCode, transaction_id: bytes) -> bytes:
    return bytes((0, 0, value.code // 100, value.code % 100)) + value.reason.encode("utf-8")


def _decode_unknown_attributes(value: bytes, transaction_id: bytes) -> tuple[int, ...]:
    if len(value) % 2:
        raise StunParseError("UNKNOWN-ATTRIBUTES of odd length")
    return struct.unpack(f"!{len(value) // 2}H", value)


def _encode_unknown_attributes(value: tuple[int, ...], transaction_id: bytes) -> bytes:
    return struct.pack(f"!{len(value)}H", *value)


def _decode_algorithms(value: bytes, transaction_id: bytes) -> tuple[PasswordAlgorithm, ...]:
    out: list[PasswordAlgorithm] = []
    offset = 0
    while offset < len(value):
        if offset + 4 > len(value):
            raise StunParseError("truncated PASSWORD-ALGORITHMS")
        algorithm, length = _ATTR_HEADER.unpack_from(value, offset)
        end = offset + 4 + length
        if end > len(value):
            raise StunParseError("truncated PASSWORD-ALGORITHMS parameters")
        out.append(PasswordAlgorithm(algorithm, value[offset + 4 : end]))
        offset = end + (-length % 4)
    if offset != len(value):
        raise StunParseError("malformed PASSWORD-ALGORITHMS padding")
    return tuple(out)


def _encode_algorithm(value: PasswordAlgorithm) -> bytes:
    params = value.parameters
    return _ATTR_HEADER.pack(value.algorithm, len(params)) + params + bytes(-len(params) % 4)


def _encode_algorithms(value: tuple[PasswordAlgorithm, ...], transaction_id: bytes) -> bytes:
    return b"".join(_encode_algorithm(item) for item in value)


def _decode_algorithm(value: bytes, transaction_id: bytes) -> PasswordAlgorithm:
    items = _decode_algorithms(value, transaction_id)
    if len(items) != 1:
        raise StunParseError("PASSWORD-ALGORITHM must hold one algorithm")
    return items[0]


def _encode_one_algorithm(value: PasswordAlgorithm, transaction_id: bytes) -> bytes:
    return _encode_algorithm(value)


_Decoder = Callable[[bytes, bytes], Any]
_Encoder = Callable[[Any, bytes], bytes]

_CODECS: dict[int, tuple[_Decoder, _Encoder]] = {
    A.MAPPED_ADDRESS: (_decode_address, _encode_address),
    A.ALTERNATE_SERVER: (_decode_address, _encode_address),
    A.RESPONSE_ORIGIN: (_decode_address, _encode_address),
    A.OTHER_ADDRESS: (_decode_address, _encode_address),
    A.XOR_MAPPED_ADDRESS: (_decode_xor_address, _encode_xor_address),
    A.XOR_PEER_ADDRESS: (_decode_xor_address, _encode_xor_address),
    A.XOR_RELAYED_ADDRESS: (_decode_xor_address, _encode_xor_address),
    A.USERNAME: (_decode_text, _encode_text),
    A.REALM: (_decode_text, _encode_text),
    A.NONCE: (_decode_text, _encode_text),
    A.SOFTWARE: (_decode_text, _encode_text),
    A.ALTERNATE_DOMAIN: (_decode_text, _encode_text),
    A.PRIORITY: (_decode_u32, _encode_u32),
    A.LIFETIME: (_decode_u32, _encode_u32),
    A.CONNECTION_ID: (_decode_u32, _encode_u32),
    A.CHANNEL_NUMBER: (_decode_u16_rffu, _encode_u16_rffu),
    A.REQUESTED_TRANSPORT: (_decode_u8_rffu, _encode_u8_rffu),
    A.REQUESTED_ADDRESS_FAMILY: (_decode_u8_rffu, _encode_u8_rffu),
    A.ADDITIONAL_ADDRESS_FAMILY: (_decode_u8_rffu, _encode_u8_rffu),
    A.ICE_CONTROLLED: (_decode_u64, _encode_u64),
    A.ICE_CONTROLLING: (_decode_u64, _encode_u64),
    A.USE_CANDIDATE: (_decode_flag, _encode_flag),
    A.DONT_FRAGMENT: (_decode_flag, _encode_flag),
    A.EVEN_PORT: (_decode_even_port, _encode_even_port),
    A.ERROR_CODE: (_decode_error_code, _encode_error_code),
    A.UNKNOWN_ATTRIBUTES: (_decode_unknown_attributes, _encode_unknown_attributes),
    A.PASSWORD_ALGORITHMS: (_decode_algorithms, _encode_algorithms),
    A.PASSWORD_ALGORITHM: (_decode_algorithm, _encode_one_algorithm),
}
# Plain-int keyed tables for the hot paths (enum member lookups are slow).
_DECODERS: dict[int, _Decoder] = {int(k): v[0] for k, v in _CODECS.items()}
_ENCODERS: dict[int, _Encoder] = {int(k): v[1] for k, v in _CODECS.items()}
_ENCODERS[int(A.FINGERPRINT)] = _encode_u32

_TlvEncoder = Callable[[int, Any, bytes, bytes], bytes]


def _tlv_wrap(encoder: _Encoder) -> _TlvEncoder:
    def encode(kind: int, value: Any, transaction_id: bytes, pad: bytes) -> bytes:
        encoded = encoder(value, transaction_id)
        length = len(encoded)
        return _ATTR_HEADER.pack(kind, length) + encoded + pad[: -length & 3]

    return encode


def _tlv_raw(kind: int, value: Any, transaction_id: bytes, pad: bytes) -> bytes:
    length = len(value)
    return _ATTR_HEADER.pack(kind, length) + bytes(value) + pad[: -length & 3]


def _tlv_text(kind: int, value: str, transaction_id: bytes, pad: bytes) -> bytes:
    encoded = value.encode()
    length = len(encoded)
    return _ATTR_HEADER.pack(kind, length) + encoded + pad[: -length & 3]


def _tlv_u32(kind: int, value: int, transaction_id: bytes, pad: bytes) -> bytes:
    return _ATTR_U32.pack(kind, 4, value)


def _tlv_u64(kind: int, value: int, transaction_id: bytes, pad: bytes) -> bytes:
    return _ATTR_U64.pack(kind, 8, value)


def _tlv_flag(kind: int, value: bool, transaction_id: bytes, pad: bytes) -> bytes:
    return _ATTR_HEADER.pack(kind, 0)


_TLV_ENCODERS: dict[int, _TlvEncoder] = {kind: _tlv_wrap(enc) for kind, enc in _ENCODERS.items()}
_TLV_ENCODERS.update(
    {
        int(A.USERNAME): _tlv_text,
        int(A.REALM): _tlv_text,
        int(A.NONCE): _tlv_text,
        int(A.SOFTWARE): _tlv_text,
        int(A.PRIORITY): _tlv_u32,
        int(A.LIFETIME): _tlv_u32,
        int(A.FINGERPRINT): _tlv_u32,
        int(A.ICE_CONTROLLED): _tlv_u64,
        int(A.ICE_CONTROLLING): _tlv_u64,
        int(A.USE_CANDIDATE): _tlv_flag,
        int(A.DONT_FRAGMENT): _tlv_flag,
    }
)
_PADS = [bytes((value,)) * 3 for value in range(256)]

_MESSAGE_INTEGRITY = 0x0008
_MESSAGE_INTEGRITY_SHA256 = 0x001C
_FINGERPRINT = 0x8028
_PRIORITY = 0x0024
_ICE_CONTROLLED = 0x8029
_ICE_CONTROLLING = 0x802A
_USE_CANDIDATE = 0x0025
_USERNAME = 0x0006
_SECURITY_ATTRIBUTES = frozenset((_MESSAGE_INTEGRITY, _MESSAGE_INTEGRITY_SHA256, _FINGERPRINT))

# Comprehension-required attributes we accept as raw bytes (their meaning is in
# the TURN or ICE layers above, not in this codec).
_RAW_KNOWN = frozenset((int(A.DATA), int(A.RESERVATION_TOKEN), int(A.USERHASH)))


class _HmacKey:
    """HMAC (RFC 2104) with the inner and outer hash states precomputed for one key.

    Building an HMAC through OpenSSL costs more than hashing an 80-byte STUN
    message; the agent signs and checks with the same few keys all the time.
    """

    __slots__ = ("inner", "outer")

    def __init__(self, key: bytes, algorithm: str) -> None:
        block = 64
        if len(key) > block:
            key = hashlib.new(algorithm, key).digest()
        key = key.ljust(block, b"\x00")
        self.inner = hashlib.new(algorithm, bytes(b ^ 0x36 for b in key))
        self.outer = hashlib.new(algorithm, bytes(b ^ 0x5C for b in key))

    def digest(self, data: bytes | bytearray) -> bytes:
        inner = self.inner.copy()
        inner.update(data)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def digest_with_length(self, raw: bytes, end: int, length: int) -> bytes:
        """The HMAC of ``raw[:end]`` with the STUN length field replaced by ``length``."""
        inner = self.inner.copy()
        view = memoryview(raw)
        inner.update(view[:2])
        inner.update(_U16.pack(length))
        inner.update(view[4:end])
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()


_SHA1_KEYS: dict[bytes, _HmacKey] = {}
_HMAC_CACHES: dict[str, dict[bytes, _HmacKey]] = {"sha1": _SHA1_KEYS, "sha256": {}}


def _hmac_key(key: bytes, algorithm: str) -> _HmacKey:
    cache = _HMAC_CACHES[algorithm]
    prepared = cache.get(key)
    if prepared is None:
        if len(cache) >= 64:
            cache.clear()
        prepared = cache[key] = _HmacKey(key, algorithm)
    return prepared


def _hmac(key: bytes, data: bytes | bytearray, algorithm: str) -> bytes:
    return _hmac_key(key, algorithm).digest(data)


def _message_type(method: int, message_class: int) -> int:
    # RFC 8489 section 5: the method bits M0-M11 are split around C0 and C1.
    return (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | message_class


_METHODS: dict[int, int] = {int(m): m for m in Method}
_CLASSES = (MessageClass.REQUEST, MessageClass.INDICATION, MessageClass.SUCCESS, MessageClass.ERROR)
_ATTRIBUTE_TYPES: dict[int, int] = {int(a): a for a in AttributeType}


def random_transaction_id() -> bytes:
    """96 random bits from the operating system (RFC 8489 section 5)."""
    return os.urandom(12)


def is_stun(data: bytes) -> bool:
    """Quick test whether a datagram looks like STUN (RFC 7983 demux + magic cookie)."""
    return len(data) >= 20 and data[0] < 4 and data[4:8] == COOKIE_BYTES


class StunMessage:
    """One STUN message. See the module docstring for the attribute value types."""

    __slots__ = (
        "_fingerprint_offset",
        "_integrity_offset",
        "_integrity_sha256_offset",
        "_raw",
        "attributes",
        "message_class",
        "method",
        "transaction_id",
    )

    def __init__(
        self,
        method: int,
        message_class: int,
        transaction_id: bytes | None = None,
        attributes: Iterable[tuple[int, Any]] = (),
    ) -> None:
        self.method = method
        self.message_class = message_class
        self.transaction_id = random_transaction_id() if transaction_id is None else transaction_id
        if len(self.transaction_id) != 12:
            raise ValueError("a transaction id is 12 bytes")
        self.attributes: list[tuple[int, Any]] = list(attributes)
        self._raw: bytes | None = None
        self._integrity_offset = -1
        self._integrity_sha256_offset = -1
        self._fingerprint_offset = -1

    # -- attribute access -------------------------------------------------
    def add(self, attribute_type: int, value: Any = True) -> StunMessage:
        """Append one attribute; returns the message for chaining."""
        self.attributes.append((attribute_type, value))
        return self

    def get(self, attribute_type: int, default: Any = None) -> Any:
        """The value of the first attribute of this type, or ``default``."""
        for kind, value in self.attributes:
            if kind == attribute_type:
                return value
        return default

    def get_all(self, attribute_type: int) -> list[Any]:
        """The values of every attribute of this type, in order."""
        return [value for kind, value in self.attributes if kind == attribute_type]

    def __contains__(self, attribute_type: object) -> bool:
        return any(kind == attribute_type for kind, _ in self.attributes)

    def get_address(self, attribute_type: int) -> tuple[str, int] | None:
        value = self.get(attribute_type)
        return value if isinstance(value, tuple) else None

    def get_int(self, attribute_type: int) -> int | None:
        value = self.get(attribute_type)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def get_str(self, attribute_type: int) -> str | None:
        value = self.get(attribute_type)
        return value if isinstance(value, str) else None

    def get_bytes(self, attribute_type: int) -> bytes | None:
        value = self.get(attribute_type)
        return value if isinstance(value, bytes) else None

    @property
    def error_code(self) -> ErrorCode | None:
        value = self.get(A.ERROR_CODE)
        return value if isinstance(value, ErrorCode) else None

    def unknown_comprehension_required(self) -> list[int]:
        """Attribute types 0x0000-0x7FFF that this module does not know (RFC 8489 7.3.1)."""
        return [
            kind
            for kind, _ in self.attributes
            if kind < 0x8000 and kind not in _DECODERS and kind not in _SECURITY_ATTRIBUTES
            and kind not in _RAW_KNOWN
        ]

    # -- equality and display -------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StunMessage):
            return NotImplemented
        return (
            self.method == other.method
            and self.message_class == other.message_class
            and self.transaction_id == other.transaction_id
            and self.attributes == other.attributes
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        method = _METHODS.get(self.method, self.method)
        kind = MessageClass(self.message_class).name if self.message_class in _CLASSES else "?"
        names = [
            (AttributeType(t).name if t in _ATTRIBUTE_TYPES else hex(t), v)
            for t, v in self.attributes
        ]
        return (
            f"StunMessage({getattr(method, 'name', method)} {kind}, "
            f"id={self.transaction_id.hex()}, {names})"
        )

    # -- serialization ----------------------------------------------------
    def _body(self, skip_security: bool, padding: int) -> bytes:
        transaction_id = self.transaction_id
        pad = _PADS[padding]
        encoders = _TLV_ENCODERS
        if skip_security:
            security = _SECURITY_ATTRIBUTES
            return b"".join(
                [
                    encoders.get(kind, _tlv_raw)(kind, value, transaction_id, pad)
                    for kind, value in self.attributes
                    if kind not in security
                ]
            )
        return b"".join(
            [
                encoders.get(kind, _tlv_raw)(kind, value, transaction_id, pad)
                for kind, value in self.attributes
            ]
        )

    def __bytes__(self) -> bytes:
        body = self._body(False, 0)
        header = _HEADER.pack(
            _message_type(self.method, self.message_class), len(body), COOKIE, self.transaction_id
        )
        return header + body

    def encode(
        self,
        integrity_key: bytes | None = None,
        *,
        integrity_sha256_key: bytes | None = None,
        fingerprint: bool = False,
        padding: int = 0,
    ) -> bytes:
        """Serialize, appending fresh security attributes.

        Any MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT already
        in :attr:`attributes` are left out and recomputed as asked: HMAC-SHA1
        with ``integrity_key`` (RFC 8489 14.5), HMAC-SHA256 with
        ``integrity_sha256_key`` (14.6), then FINGERPRINT (14.7). ``padding``
        is the byte used to pad attribute values (any value is legal; RFC 5769
        samples use 0x20).
        """
        # Each security attribute is computed over the header as it would
        # read with the message ending at that attribute (its length field).
        body = self._body(True, padding)
        length = len(body)
        message_type = _message_type(self.method, self.message_class)
        transaction_id = self.transaction_id
        tail = b""
        if integrity_key is not None:
            length += 24
            prepared = _SHA1_KEYS.get(integrity_key)
            if prepared is None:
                prepared = _hmac_key(integrity_key, "sha1")
            inner = prepared.inner.copy()
            inner.update(_HEADER.pack(message_type, length, COOKIE, transaction_id))
            inner.update(body)
            outer = prepared.outer.copy()
            outer.update(inner.digest())
            tail = b"\x00\x08\x00\x14" + outer.digest()
        if integrity_sha256_key is not None:
            length += 36
            header = _HEADER.pack(message_type, length, COOKIE, transaction_id)
            digest = _hmac(integrity_sha256_key, header + body + tail, "sha256")
            tail += b"\x00\x1c\x00\x20" + digest
        if fingerprint:
            length += 8
            header = _HEADER.pack(message_type, length, COOKIE, transaction_id)
            crc = zlib.crc32(tail, zlib.crc32(body, zlib.crc32(header))) ^ FINGERPRINT_XOR
            return b"".join((header, body, tail, _FINGERPRINT_ATTR.pack(_FINGERPRINT, 4, crc)))
        return b"".join((_HEADER.pack(message_type, length, COOKIE, transaction_id), body, tail))

    # -- parsing ------------------------------------------------------------
    @classmethod
    def parse(cls, data: bytes) -> StunMessage:
        """Parse one STUN message; anything malformed raises :class:`StunParseError`."""
        length = len(data)
        if length < HEADER_LENGTH:
            raise StunParseError("shorter than a STUN header")
        message_type, body_length, cookie, transaction_id = _HEADER.unpack_from(data)
        if message_type & 0xC000:
            raise StunParseError("first two bits of a STUN message must be zero")
        if cookie != COOKIE:
            raise StunParseError("no STUN magic cookie")
        if body_length & 3:
            raise StunParseError("STUN length not a multiple of 4")
        if body_length + HEADER_LENGTH != length:
            raise StunParseError("STUN length does not match the datagram")
        if type(data) is not bytes:
            data = bytes(data)
        method = (
            (message_type & 0x000F)
            | ((message_type & 0x00E0) >> 1)
            | ((message_type & 0x3E00) >> 2)
        )
        integrity_offset = integrity_sha256_offset = fingerprint_offset = -1
        attributes: list[tuple[int, Any]] = []
        append = attributes.append
        offset = HEADER_LENGTH
        unpack_header = _ATTR_HEADER.unpack_from
        decoders = _DECODERS
        unpack_u32 = _U32.unpack_from
        unpack_u64 = _U64.unpack_from
        try:
            # offset and length are multiples of 4, so a header always fits.
            while offset < length:
                kind, attr_length = unpack_header(data, offset)
                start = offset + 4
                end = start + attr_length
                if end > length:
                    raise StunParseError("attribute runs past the message")
                # The attributes of every ICE check are decoded inline.
                if kind == _PRIORITY and attr_length == 4:
                    append((kind, unpack_u32(data, start)[0]))
                elif kind == _USERNAME:
                    append((kind, data[start:end].decode()))
                elif kind in (_ICE_CONTROLLING, _ICE_CONTROLLED) and attr_length == 8:
                    append((kind, unpack_u64(data, start)[0]))
                elif kind == _USE_CANDIDATE and attr_length == 0:
                    append((kind, True))
                elif (decoder := decoders.get(kind)) is not None:
                    append((kind, decoder(data[start:end], transaction_id)))
                elif kind == _MESSAGE_INTEGRITY:
                    if attr_length != 20:
                        raise StunParseError("MESSAGE-INTEGRITY must be 20 bytes")
                    if integrity_offset < 0:
                        integrity_offset = offset
                    append((kind, data[start:end]))
                elif kind == _FINGERPRINT:
                    if attr_length != 4:
                        raise StunParseError("FINGERPRINT must be 4 bytes")
                    if end != length:
                        raise StunParseError("attribute after FINGERPRINT")
                    fingerprint_offset = offset
                    append((kind, unpack_u32(data, start)[0]))
                elif kind == _MESSAGE_INTEGRITY_SHA256:
                    if attr_length < 16 or attr_length > 32 or attr_length & 3:
                        raise StunParseError("bad MESSAGE-INTEGRITY-SHA256 length")
                    if integrity_sha256_offset < 0:
                        integrity_sha256_offset = offset
                    append((kind, data[start:end]))
                else:
                    append((kind, data[start:end]))
                offset = end + (-attr_length & 3)
        except (ValueError, IndexError, struct.error) as exc:
            # UnicodeDecodeError and ipaddress errors are ValueErrors.
            if isinstance(exc, StunParseError):
                raise
            raise StunParseError(f"malformed attribute: {exc}") from None
        if offset != length:
            raise StunParseError("attribute padding runs past the message")
        message = cls.__new__(cls)
        message.method = _METHODS.get(method, method)
        message.message_class = _CLASSES[((message_type >> 4) & 1) | ((message_type >> 7) & 2)]
        message.transaction_id = transaction_id
        message.attributes = attributes
        message._raw = data
        message._integrity_offset = integrity_offset
        message._integrity_sha256_offset = integrity_sha256_offset
        message._fingerprint_offset = fingerprint_offset
        return message

    # -- verification of a parsed message -----------------------------------
    def verify_integrity(self, key: bytes) -> bool:
        """True when the received MESSAGE-INTEGRITY matches HMAC-SHA1 with ``key``.

        Only for parsed messages; False when the attribute is absent.
        """
        raw, offset = self._raw, self._integrity_offset
        if raw is None or offset < 0:
            return False
        prepared = _SHA1_KEYS.get(key)
        if prepared is None:
            prepared = _hmac_key(key, "sha1")
        # RFC 8489 section 14.5: the length field as if MESSAGE-INTEGRITY ended the message.
        expected = prepared.digest(raw[:2] + _U16.pack(offset + 4) + raw[4:offset])
        return hmac.compare_digest(expected, raw[offset + 4 : offset + 24])

    def verify_integrity_sha256(self, key: bytes) -> bool:
        """True when the received MESSAGE-INTEGRITY-SHA256 matches (truncation allowed)."""
        raw, offset = self._raw, self._integrity_sha256_offset
        if raw is None or offset < 0:
            return False
        length = _U16.unpack_from(raw, offset + 2)[0]
        expected = _hmac_key(key, "sha256").digest_with_length(
            raw, offset, offset - HEADER_LENGTH + 4 + length
        )[:length]
        return hmac.compare_digest(expected, raw[offset + 4 : offset + 4 + length])

    def verify_fingerprint(self) -> bool:
        """True when the received FINGERPRINT matches; False when absent or wrong."""
        raw, offset = self._raw, self._fingerprint_offset
        if raw is None or offset < 0:
            return False
        crc = zlib.crc32(raw[:offset]) ^ FINGERPRINT_XOR
        return bool(crc == _U32.unpack_from(raw, offset + 4)[0])

    @property
    def has_integrity(self) -> bool:
        return self._integrity_offset >= 0 or _MESSAGE_INTEGRITY in self

    @property
    def has_fingerprint(self) -> bool:
        return self._fingerprint_offset >= 0 or _FINGERPRINT in self

    @property
    def raw(self) -> bytes | None:
        """The bytes this message was parsed from (``None`` for a built message)."""
        return self._raw


# -- credentials ---------------------------------------------------------------


def saslprep(text: str) -> str:
    """SASLprep (RFC 4013) as RFC 5389 section 15.4 applies it to passwords."""
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch
        for ch in text
        if not stringprep.in_table_b1(ch)
    )
    normalized = unicodedata.normalize("NFKC", mapped)
    for ch in normalized:
        if (
            stringprep.in_table_c12(ch)
            or stringprep.in_table_c21_c22(ch)
            or stringprep.in_table_c3(ch)
            or stringprep.in_table_c4(ch)
            or stringprep.in_table_c5(ch)
            or stringprep.in_table_c6(ch)
            or stringprep.in_table_c7(ch)
            or stringprep.in_table_c8(ch)
            or stringprep.in_table_c9(ch)
            or stringprep.in_table_a1(ch)
        ):
            raise ValueError(f"character {ch!r} is prohibited by SASLprep")
    # RFC 3454 section 6: bidirectional text rules.
    if any(stringprep.in_table_d1(ch) for ch in normalized):
        if any(stringprep.in_table_d2(ch) for ch in normalized):
            raise ValueError("mixed bidirectional text")
        if not (stringprep.in_table_d1(normalized[0]) and stringprep.in_table_d1(normalized[-1])):
            raise ValueError("bidirectional text must start and end with RandAL characters")
    return normalized


def long_term_key(
    username: str, realm: str, password: str, algorithm: int = PasswordAlgorithm.MD5
) -> bytes:
    """The long-term credential key (RFC 8489 section 9.2.2).

    MD5: ``MD5(username ":" realm ":" SASLprep(password))`` as in RFC 5389
    (what RFC 5769 section 2.4 exercises); SHA-256: the same with SHA-256.
    """
    material = f"{username}:{realm}:{saslprep(password)}".encode()
    if algorithm == PasswordAlgorithm.MD5:
        return hashlib.md5(material).digest()
    if algorithm == PasswordAlgorithm.SHA256:
        return hashlib.sha256(material).digest()
    raise ValueError(f"unknown password algorithm {algorithm}")


# -- transactions --------------------------------------------------------------


class TransactionState(enum.Enum):
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed-out"


class RtoEstimator:
    """RFC 6298 retransmission timeout, as RFC 8489 section 6.2.1 asks clients to keep.

    Only samples from transactions that were never retransmitted are taken
    (Karn's algorithm).
    """

    def __init__(self, initial: float = 0.5, minimum: float = 0.5, maximum: float = 3.0) -> None:
        self.rto = initial
        self.minimum = minimum
        self.maximum = maximum
        self.srtt: float | None = None
        self.rttvar = 0.0

    def sample(self, rtt: float) -> None:
        if self.srtt is None:
            self.srtt = rtt
            self.rttvar = rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
        self.rto = min(self.maximum, max(self.minimum, self.srtt + 4 * self.rttvar))


class StunTransaction:
    """The client side retransmission schedule of one request (RFC 8489 section 6.2.1).

    Over UDP the request is sent at ``start``, then again after RTO, 2*RTO,
    4*RTO... until ``rc`` sends; if no response comes within ``rm`` * RTO of
    the last send, the transaction times out. With the defaults (RTO 0.5 s,
    Rc 7, Rm 16) sends happen at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s and
    the timeout at 39.5 s. ``max_rto`` optionally caps each doubled interval.
    """

    __slots__ = (
        "_next_interval",
        "_outgoing",
        "deadline",
        "max_rto",
        "rc",
        "request",
        "rm",
        "rto",
        "sends",
        "started",
        "state",
        "transaction_id",
    )

    def __init__(
        self,
        request: bytes,
        now: float,
        rto: float = 0.5,
        rc: int = 7,
        rm: int = 16,
        max_rto: float | None = None,
    ) -> None:
        if rc < 1:
            raise ValueError("Rc must be at least 1")
        self.request = request
        self.transaction_id = request[8:20]
        self.rto = rto
        self.rc = rc
        self.rm = rm
        self.max_rto = max_rto
        self.started = now
        self.sends = 1
        self.state = TransactionState.WAITING
        self._outgoing: list[bytes] = [request]
        self._next_interval = rto
        self.deadline: float | None = now + (rto if rc > 1 else rm * rto)

    def datagrams_to_send(self, now: float) -> list[bytes]:
        out, self._outgoing = self._outgoing, []
        return out

    def get_timer(self) -> float | None:
        return self.deadline if self.state is TransactionState.WAITING else None

    def handle_timer(self, now: float) -> None:
        deadline = self.deadline
        if self.state is not TransactionState.WAITING or deadline is None or now < deadline:
            return
        if self.sends >= self.rc:
            self.state = TransactionState.TIMED_OUT
            self.deadline = None
            return
        self.sends += 1
        self._outgoing.append(self.request)
        if self.sends >= self.rc:
            self.deadline = deadline + self.rm * self.rto
        else:
            interval = self._next_interval * 2
            if self.max_rto is not None:
                interval = min(interval, self.max_rto)
            self._next_interval = interval
            self.deadline = deadline + interval

    def response_received(self, success: bool = True) -> None:
        """A matching (authenticated, if required) response arrived."""
        if self.state is TransactionState.WAITING:
            self.state = TransactionState.SUCCEEDED if success else TransactionState.FAILED
            self.deadline = None
            self._outgoing = []

    @property
    def done(self) -> bool:
        return self.state is not TransactionState.WAITING

    @property
    def retransmitted(self) -> bool:
        return self.sends > 1


def iter_attribute_types(data: bytes) -> Iterator[int]:
    """The attribute types in a STUN message, without decoding values (diagnostics)."""
    offset = HEADER_LENGTH
    while offset + 4 <= len(data):
        kind, length = _ATTR_HEADER.unpack_from(data, offset)
        yield kind
        offset += 4 + length + (-length & 3)
