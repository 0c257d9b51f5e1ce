"""RTP packets (RFC 3550 §5.1) with RFC 8285 header extensions.

:class:`RtpPacket` is mutable (a sender rewrites sequence numbers and
extensions on the way out) and lossless: ``bytes(RtpPacket.parse(data)) ==
data`` for every well-formed packet, padding and the exact layout of the
extension block included. The extension block is kept as received and
re-encoded only when the mapping or profile was changed.

:meth:`RtpPacket.parse` finds where each extension value is (a layout, shared
by the packets of a stream for the one-byte form that browsers send) without
copying the values out: the typed getters of
:class:`~webrtc.rtp.extensions.HeaderExtensionMap` and
:meth:`RtpPacket.extension_value` read them in place, and the
:attr:`RtpPacket.extensions` mapping is built when first read. Until a parsed
packet is written to, ``bytes()`` hands back the datagram itself.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

from webrtc.rtp.errors import RtpParseError

__all__ = [
    "ONE_BYTE_PROFILE",
    "TWO_BYTE_PROFILE",
    "RtpPacket",
    "decode_extensions",
    "encode_extensions",
    "is_rtcp",
]

_HEADER = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")
# the fixed header, the extension header and the first octet of the block
_FIXED = struct.Struct("!BBHIIHI")
_U16 = struct.Struct("!H")
_CSRC = [struct.Struct(f"!{count}I") for count in range(16)]
_new = object.__new__

# RFC 8285 §4.2: the one-byte form is announced by profile 0xBEDE.
ONE_BYTE_PROFILE = 0xBEDE
# RFC 8285 §4.3: the two-byte form by 0x100 followed by 4 "appbits".
TWO_BYTE_PROFILE = 0x1000


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 §4: with RTP/RTCP multiplexing, RTCP packet types are 192..223."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def decode_extensions(profile: int, block: bytes) -> dict[int, bytes]:
    """Decode an RFC 8285 extension block into ``{id: value}``.

    Blocks of other profiles (generic RFC 3550 extensions) decode to ``{}``;
    the packet keeps their bytes. Per RFC 8285 §4.2 a one-byte element with id
    15 stops processing, and so does an element that would run past the block
    (the bytes are kept, so nothing is lost).
    """
    extensions: dict[int, bytes] = {}
    n = len(block)
    pos = 0
    if profile == ONE_BYTE_PROFILE:
        while pos < n:
            byte = block[pos]
            if not byte:  # padding between elements, or up to the block's end
                pos += 1
                continue
            if byte >= 0xF0:  # id 15
                break
            end = pos + 2 + (byte & 0x0F)
            if end > n:
                break
            extensions[byte >> 4] = block[pos + 1 : end]
            pos = end
    elif profile & 0xFFF0 == TWO_BYTE_PROFILE:
        while pos < n:
            ext_id = block[pos]
            if not ext_id:
                pos += 1
                continue
            if pos + 2 > n:
                break
            end = pos + 2 + block[pos + 1]
            if end > n:
                break
            extensions[ext_id] = block[pos + 2 : end]
            pos = end
    return extensions


def encode_extensions(
    extensions: dict[int, bytes], profile: int | None = None
) -> tuple[int, bytes]:
    """Encode ``{id: value}`` as ``(profile, block)``, the block padded to 32 bits.

    The one-byte form is used when every id is 1..14 and every value 1..16
    bytes long (RFC 8285 §4.2), unless ``profile`` asks for the two-byte form.
    """
    one_byte = profile != TWO_BYTE_PROFILE and (profile is None or profile == ONE_BYTE_PROFILE)
    if one_byte:
        for ext_id, value in extensions.items():
            if not 1 <= ext_id <= 14 or not 1 <= len(value) <= 16:
                one_byte = False
                break
    parts: list[bytes] = []
    if one_byte:
        for ext_id, value in extensions.items():
            parts.append(bytes(((ext_id << 4) | (len(value) - 1),)))
            parts.append(value)
        chosen = ONE_BYTE_PROFILE
    else:
        for ext_id, value in extensions.items():
            if not 1 <= ext_id <= 255 or len(value) > 255:
                raise ValueError(f"extension {ext_id} with {len(value)} bytes cannot be encoded")
            parts.append(bytes((ext_id, len(value))))
            parts.append(value)
        chosen = (
            profile
            if profile is not None and profile & 0xFFF0 == TWO_BYTE_PROFILE
            else TWO_BYTE_PROFILE
        )
    block = b"".join(parts)
    if len(block) % 4:
        block += bytes(4 - len(block) % 4)
    return chosen, block


class _Layout(dict[int, tuple[int, int]]):
    """Where each element of one extension block sits: ``{id: (offset, length)}``
    with offsets into the packet, plus the block's bounds and profile, and
    ``slices``, ``[(id, slice)]`` in the same order, to decode the mapping.

    A layout of :data:`_LAYOUTS` also holds the octets a decoder visits
    (element headers and padding, RFC 8285 §4.2) after the first, as a
    :class:`struct.Struct` reader (``check``) and the values it read
    (``expected``): a block whose first octet and visited octets are the same
    decodes the same, so :meth:`RtpPacket.parse` checks those with one
    ``unpack_from`` instead of walking the block again. Layouts are shared
    between packets; never mutate one.
    """

    __slots__ = ("check", "end", "expected", "profile", "slices", "start")
    check: Callable[[bytes, int], tuple[int, ...]]
    end: int
    expected: tuple[int, ...]
    profile: int
    slices: list[tuple[int, slice]]
    start: int

    def __reduce__(self) -> tuple[object, ...]:
        # for pickle and copy: the checker (a Struct method) does not pickle,
        # and only layouts of _LAYOUTS need it
        return _layout_from_items, (self.profile, self.start, self.end, tuple(self.items()))

    def __deepcopy__(self, memo: dict[int, object]) -> _Layout:
        return self  # never mutated


def _layout_from_items(
    profile: int, start: int, end: int, items: tuple[tuple[int, tuple[int, int]], ...]
) -> _Layout:
    layout = _Layout(items)
    layout.profile = profile
    layout.start = start
    layout.end = end
    layout.slices = [(ext_id, slice(offset, offset + length)) for ext_id, (offset, length) in items]
    return layout


def _scan(data: bytes, profile: int, start: int, end: int) -> _Layout:
    """Decode the layout of the block ``data[start:end]`` (RFC 8285 §4.2, §4.3),
    with the same rules as :func:`decode_extensions`, and the octets to check
    (see :class:`_Layout`)."""
    layout = _Layout()
    layout.profile = profile
    layout.start = start
    layout.end = end
    visited: list[int] = []  # offsets of the octets read as headers or padding
    pos = start
    if profile == ONE_BYTE_PROFILE:
        while pos < end:
            byte = data[pos]
            visited.append(pos)
            if not byte:  # padding
                pos += 1
                continue
            if byte >= 0xF0:  # id 15 stops processing
                break
            stop = pos + 2 + (byte & 0x0F)
            if stop > end:
                break
            layout[byte >> 4] = (pos + 1, stop - pos - 1)
            pos = stop
    elif profile & 0xFFF0 == TWO_BYTE_PROFILE:
        while pos < end:
            ext_id = data[pos]
            visited.append(pos)
            if not ext_id:
                pos += 1
                continue
            if pos + 2 > end:
                break
            visited.append(pos + 1)
            stop = pos + 2 + data[pos + 1]
            if stop > end:
                break
            layout[ext_id] = (pos + 2, stop - pos - 2)
            pos = stop
    layout.slices = [  # after the walk: a repeated id counts once, with its last value
        (ext_id, slice(offset, offset + length)) for ext_id, (offset, length) in layout.items()
    ]
    fields = ["!"]
    at = start  # the first octet is in the key of _LAYOUTS: visited[1:]
    for offset in visited[1:]:
        if offset > at:
            fields.append(f"{offset - at}x")
        fields.append("B")
        at = offset + 1
    layout.check = struct.Struct("".join(fields)).unpack_from
    layout.expected = tuple([data[offset] for offset in visited[1:]])
    return layout


# Layouts seen, by where the block is, its profile, its length in words and
# its first octet (never by a value's octet): a stream's packets carry a
# handful of layouts (with or without the MID, ...). _LAYOUTS holds one-byte
# blocks at offset 16 (no CSRC, what browsers send) by ``words << 8 | octet``;
# _OTHER_LAYOUTS the others by ``(profile, offset, words, octet)``.
_LAYOUTS: dict[int, _Layout] = {}
_OTHER_LAYOUTS: dict[tuple[int, int, int, int], _Layout] = {}
_LAYOUTS_MAX = 256


def _learn(data: bytes, key: int) -> _Layout:
    """The layout of a one-byte block at offset 16, ``key`` as in _LAYOUTS."""
    end = 16 + 4 * (key >> 8)
    if len(data) < end:
        raise RtpParseError("RTP header extension runs past the packet")
    layout = _scan(data, ONE_BYTE_PROFILE, 16, end)
    if len(_LAYOUTS) >= _LAYOUTS_MAX:
        _LAYOUTS.clear()  # a peer cycling through layouts only costs scans
    _LAYOUTS[key] = layout
    return layout


def _other_layout(data: bytes, profile: int, start: int, words: int) -> _Layout:
    """The layout of any block at ``start``, the one checked to fit there."""
    end = start + 4 * words
    if len(data) < end:
        raise RtpParseError("RTP header extension runs past the packet")
    # a generic RFC 3550 block's first octet may be data: not in the key
    rfc8285 = profile == ONE_BYTE_PROFILE or profile & 0xFFF0 == TWO_BYTE_PROFILE
    key = (profile, start, words, data[start] if words and rfc8285 else 0)
    layout = _OTHER_LAYOUTS.get(key)
    if layout is None or layout.check(data, start) != layout.expected:
        layout = _scan(data, profile, start, end)
        if len(_OTHER_LAYOUTS) >= _LAYOUTS_MAX:
            _OTHER_LAYOUTS.clear()
        _OTHER_LAYOUTS[key] = layout
    return layout


def _decode(data: bytes, layout: _Layout | None) -> dict[int, bytes]:
    extensions: dict[int, bytes] = {}
    if layout is not None:
        for ext_id, where in layout.slices:
            extensions[ext_id] = data[where]
    return extensions


class RtpPacket:
    """One RTP packet.

    ``padding`` holds the padding octets as received (empty when the P bit is
    clear; the last octet is their count, RFC 3550 §5.1). ``extensions`` maps
    RFC 8285 extension ids to raw values; ``extension_profile`` is the profile
    of the extension block (``None`` without one). Other profiles' blocks are
    kept in ``extension_data``.

    A parsed packet keeps the datagram (``_data``) and where its extension
    elements are (``_layout``); ``_extensions`` stays ``None`` until the
    ``extensions`` mapping is first read. :meth:`parse` returns it as a
    :class:`_ParsedRtpPacket`, which turns back into a plain ``RtpPacket`` on
    the first attribute write, so ``bytes()`` of an untouched packet is the
    datagram itself.
    """

    __slots__ = (
        "_data",
        "_extensions",
        "_layout",
        "csrc",
        "extension_profile",
        "marker",
        "padding",
        "payload",
        "payload_type",
        "sequence_number",
        "ssrc",
        "timestamp",
    )

    def __init__(
        self,
        payload_type: int = 0,
        sequence_number: int = 0,
        timestamp: int = 0,
        ssrc: int = 0,
        payload: bytes = b"",
        marker: bool = False,
        csrc: Iterable[int] = (),
        extensions: dict[int, bytes] | None = None,
        padding: bytes = b"",
        extension_profile: int | None = None,
    ) -> None:
        self.payload_type = payload_type
        self.sequence_number = sequence_number
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.payload = payload
        self.marker = marker
        self.csrc: tuple[int, ...] = tuple(csrc)
        self.padding = padding
        self.extension_profile = extension_profile
        self._extensions: dict[int, bytes] | None = {} if extensions is None else extensions
        self._data = b""
        self._layout: _Layout | None = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # parse() builds plain RtpPacket instances: a subclass parses with _parse
        cls.parse = cls._parse  # type: ignore[method-assign]

    @property
    def version(self) -> int:
        return 2

    @property
    def extensions(self) -> dict[int, bytes]:
        extensions = self._extensions
        if extensions is None:
            extensions = _decode(self._data, self._layout)
            _set_extensions(self, extensions)  # not a modification: no class change
        return extensions

    @extensions.setter
    def extensions(self, value: dict[int, bytes]) -> None:
        self._extensions = value
        self._layout = None

    def extension_value(self, ext_id: int) -> bytes | None:
        """``self.extensions.get(ext_id)``, without decoding the mapping of a
        parsed packet (the value is read where it is in the datagram)."""
        extensions = self._extensions
        if extensions is not None:
            return extensions.get(ext_id)
        layout = self._layout
        span = None if layout is None else layout.get(ext_id)
        if span is None:
            return None
        offset, length = span
        return self._data[offset : offset + length]

    @property
    def extension_data(self) -> bytes:
        """The extension block as it will be sent (without its 4-byte header)."""
        return self._extension_block()[1]

    def _extension_block(self) -> tuple[int | None, bytes]:
        layout = self._layout
        extensions = self._extensions
        if layout is not None:
            if self.extension_profile == layout.profile and (
                extensions is None or extensions == _decode(self._data, layout)
            ):
                return layout.profile, self._data[layout.start : layout.end]
            if extensions is None:
                extensions = self.extensions
        if not extensions:
            if (
                layout is not None
                and layout.profile != ONE_BYTE_PROFILE
                and layout.profile & 0xFFF0 != TWO_BYTE_PROFILE
            ):  # a generic RFC 3550 block
                return self.extension_profile, self._data[layout.start : layout.end]
            return None, b""
        return encode_extensions(extensions, self.extension_profile)

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one RTP packet; raises :class:`RtpParseError` if malformed."""
        if type(data) is not bytes:
            data = bytes(data)
        n = len(data)
        if n < 20:  # (subclasses have _parse as their parse: see __init_subclass__)
            return cls._parse(data)
        b0, b1, sequence_number, timestamp, ssrc, profile, key = _FIXED.unpack_from(data)
        if b0 & 0xDF == 0x90:  # version 2, no CSRC, an extension block at offset 16
            if profile == ONE_BYTE_PROFILE and key >= 0x10000:
                # What browsers send: a one-byte block (RFC 8285 §4.2) whose
                # layout is most likely known. ``key`` is the block's length in
                # words and its first two octets; the second may be part of a
                # value: dropped.
                key >>= 8
                layout = _LAYOUTS.get(key)
                if layout is None or n < layout.end or layout.check(data, 16) != layout.expected:
                    layout = _learn(data, key)
            else:
                layout = _other_layout(data, profile, 16, key >> 16)
            pos = layout.end
            extension_profile: int | None = profile
        elif b0 & 0xDF == 0x80:  # version 2, no CSRC, no extension
            layout = None
            pos = 12
            extension_profile = None
        else:
            return cls._parse(data)
        packet: RtpPacket = _Blank()
        packet._layout = layout
        packet._extensions = None
        packet.extension_profile = extension_profile
        packet.csrc = ()
        if b0 & 0x20:
            count = data[n - 1]
            if count == 0 or n - count < pos:
                raise RtpParseError(f"RTP padding count {count} is invalid")
            packet.padding = data[n - count :]
            packet.payload = data[pos : n - count]
        else:
            packet.padding = b""
            packet.payload = data[pos:]
        packet.marker = b1 >= 0x80
        packet.payload_type = b1 & 0x7F
        packet.sequence_number = sequence_number
        packet.timestamp = timestamp
        packet.ssrc = ssrc
        packet._data = data
        packet.__class__ = _ParsedRtpPacket
        return packet

    @classmethod
    def _parse(cls, data: bytes) -> RtpPacket:
        """:meth:`parse` for every packet (``data`` is bytes)."""
        n = len(data)
        if n < 12:
            raise RtpParseError(f"RTP packet of {n} bytes is shorter than its 12-byte header")
        b0, b1, sequence_number, timestamp, ssrc = _HEADER.unpack_from(data)
        if b0 & 0xC0 != 0x80:
            raise RtpParseError(f"RTP version {b0 >> 6} is not 2")
        packet = _new(cls)
        pos = 12
        if b0 & 0x0F:
            cc = b0 & 0x0F
            pos += 4 * cc
            if n < pos:
                raise RtpParseError("RTP packet truncated in its CSRC list")
            packet.csrc = _CSRC[cc].unpack_from(data, 12)
        else:
            packet.csrc = ()
        if b0 & 0x10:
            if n < pos + 4:
                raise RtpParseError("RTP packet truncated in its extension header")
            profile, words = _EXTENSION_HEADER.unpack_from(data, pos)
            start = pos + 4
            pos = start + 4 * words
            if n < pos:
                raise RtpParseError("RTP header extension runs past the packet")
            layout = _other_layout(data, profile, start, words)
            packet._layout = layout
        else:
            profile = None
            packet._layout = None
        packet._extensions = None
        packet.extension_profile = profile
        if b0 & 0x20:
            count = data[n - 1]
            if count == 0 or n - count < pos:
                raise RtpParseError(f"RTP padding count {count} is invalid")
            packet.padding = data[n - count :]
            packet.payload = data[pos : n - count]
        else:
            packet.padding = b""
            packet.payload = data[pos:]
        packet.marker = b1 >= 0x80
        packet.payload_type = b1 & 0x7F
        packet.sequence_number = sequence_number
        packet.timestamp = timestamp
        packet.ssrc = ssrc
        packet._data = data
        if cls is RtpPacket:
            packet.__class__ = _ParsedRtpPacket
        return packet

    def __bytes__(self) -> bytes:
        profile, block = self._extension_block()
        csrc = self.csrc
        b0 = 0x80 | len(csrc)
        if self.padding:
            b0 |= 0x20
        header = _HEADER.pack(
            b0 | 0x10 if profile is not None else b0,
            (0x80 if self.marker else 0) | self.payload_type,
            self.sequence_number,
            self.timestamp,
            self.ssrc,
        )
        if csrc:
            header += _CSRC[len(csrc)].pack(*csrc)
        if profile is not None:
            header += _EXTENSION_HEADER.pack(profile, len(block) // 4) + block
        return header + self.payload + self.padding

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RtpPacket):
            return NotImplemented
        return (
            self.payload_type == other.payload_type
            and self.sequence_number == other.sequence_number
            and self.timestamp == other.timestamp
            and self.ssrc == other.ssrc
            and self.marker == other.marker
            and self.csrc == other.csrc
            and self.extensions == other.extensions
            and self.payload == other.payload
            and self.padding == other.padding
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"RtpPacket(payload_type={self.payload_type}, sequence_number={self.sequence_number}, "
            f"timestamp={self.timestamp}, ssrc={self.ssrc:#x}, marker={self.marker}, "
            f"csrc={self.csrc}, extensions={self.extensions}, payload={len(self.payload)} bytes, "
            f"padding={len(self.padding)} bytes)"
        )


class _ParsedRtpPacket(RtpPacket):
    """An :class:`RtpPacket` as parsed and not written to since.

    Its fields are those of the datagram, so ``bytes()`` is the datagram itself
    unless the ``extensions`` mapping (the one attribute handed out mutable) was
    changed in place. Any attribute write first turns the packet into a plain
    ``RtpPacket`` (whose ``bytes()`` serializes the fields), so reads stay slot
    reads and only the first write pays for the check.
    """

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        _set_class(self, RtpPacket)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        _set_class(self, RtpPacket)
        object.__delattr__(self, name)

    def __bytes__(self) -> bytes:
        extensions = self._extensions
        if extensions is None or extensions == _decode(self._data, self._layout):
            return self._data
        return RtpPacket.__bytes__(self)


class _Blank(RtpPacket):
    """What :meth:`RtpPacket.parse` fills in (its own ``__init__`` is cheaper to
    call than ``object.__new__``) before it becomes a :class:`_ParsedRtpPacket`."""

    __slots__ = ()
    __init__ = object.__init__


def _set_class(packet: RtpPacket, cls: type[RtpPacket]) -> None:
    object.__setattr__(packet, "__class__", cls)


_set_extensions = RtpPacket.__dict__["_extensions"].__set__
