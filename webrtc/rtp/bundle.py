"""BUNDLE demultiplexing of RTP packets to media sections (RFC 8843 §9.2).

Incoming packets are routed by, in order: the MID header extension (which
also teaches the SSRC's media section, as browsers expect), the SSRCs
already known (signalled with ``a=ssrc`` or learned), and a payload type that
only one media section uses. Within a media section, ``rtp-stream-id`` and
``repaired-rtp-stream-id`` (RFC 8852) tell simulcast layers and their RTX
apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from webrtc.rtp.errors import RtpParseError
from webrtc.rtp.extensions import HeaderExtensionMap
from webrtc.rtp.packet import RtpPacket

__all__ = ["BundleDemuxer", "Route"]


@dataclass(frozen=True)
class Route:
    """Where a packet belongs. ``repaired`` marks an RTX packet (by its RRID)."""

    mid: str
    rid: str | None = None
    repaired: bool = False



class BundleDemuxer:
    def __init__(self, extensions: HeaderExtensionMap) -> None:
        self.extensions = extensions
        self._mids: set[str] = set()
        self._mid_bytes: dict[str, bytes] = {}
        self._by_ssrc: dict[int, Route] = {}
        self._by_payload_type: dict[int, str | None] = {}
        self.unroutable = 0

    def add_media(
        self, mid: str, payload_types: Iterable[int] = (), ssrcs: Iterable[int] = ()
    ) -> None:
        """A media section of the BUNDLE group, its payload types and signalled SSRCs."""
        self._mids.add(mid)
        self._mid_bytes[mid] = mid.encode()
        for payload_type in payload_types:
            # a payload type shared by two sections cannot route (RFC 8843 §9.2)
            if payload_type in self._by_payload_type and self._by_payload_type[payload_type] != mid:
                self._by_payload_type[payload_type] = None
            else:
                self._by_payload_type[payload_type] = mid
        for ssrc in ssrcs:
            self._by_ssrc[ssrc] = Route(mid)

    def add_ssrc(self, ssrc: int, route: Route) -> None:
        self._by_ssrc[ssrc] = route

    @property
    def ssrcs(self) -> dict[int, Route]:
        return dict(self._by_ssrc)

    def settled(self, packet: RtpPacket) -> tuple[slice | None, bytes] | None:
        """When :meth:`route` of ``packet`` returns its SSRC's known route and
        changes nothing (no learning, no count), and so does it, as long as
        this demuxer is not reconfigured and learns nothing about this SSRC,
        for every packet of the same SSRC with the same extension layout
        (``_layout``, the same object) whose octets at the returned slice are
        the returned bytes (the MID learned; no slice: no MID element).
        Otherwise None.

        It lets a receive loop skip :meth:`route` for the packets that follow
        one of a stream: a known SSRC whose packets name no RID or repaired
        RID and either no MID or the one already learned (RFC 8843 §9.2; what
        browsers send once the SSRC is acknowledged).
        """
        known = self._by_ssrc.get(packet.ssrc)
        if known is None or packet._extensions is not None:
            return None
        layout = packet._layout
        if layout is None:
            return None, b""
        extensions = self.extensions
        rid_id = extensions.rtp_stream_id_id
        repaired_id = extensions.repaired_rtp_stream_id_id
        if (rid_id and rid_id in layout) or (repaired_id and repaired_id in layout):
            return None
        mid_id = extensions.mid_id
        span = layout.get(mid_id) if mid_id else None
        if span is None:
            return None, b""
        expected = self._mid_bytes.get(known.mid)
        offset, length = span
        if expected is None or len(expected) != length:
            return None
        return slice(offset, offset + length), expected

    def route(self, packet: RtpPacket) -> Route | None:
        """The packet's route, learning its SSRC; None (and counted) if unroutable."""
        extensions = self.extensions
        known = self._by_ssrc.get(packet.ssrc)
        if known is not None:
            # The common cases: a known SSRC whose packet names no RID (or
            # repaired RID) and either carries no MID (browsers stop sending it
            # once the SSRC is acknowledged) or the MID already learned.
            layout = packet._layout
            if packet._extensions is None:
                # a parsed packet: packet.extension_value, read where it is
                if layout is None:
                    return known
                rid_id = extensions.rtp_stream_id_id
                repaired_id = extensions.repaired_rtp_stream_id_id
                if not ((rid_id and rid_id in layout) or (repaired_id and repaired_id in layout)):
                    mid_id = extensions.mid_id
                    span = layout.get(mid_id) if mid_id else None
                    if span is None:
                        return known
                    offset, length = span
                    if self._mid_bytes.get(known.mid) == packet._data[offset : offset + length]:
                        return known
            else:
                value = packet.extension_value
                rid_id = extensions.rtp_stream_id_id
                repaired_id = extensions.repaired_rtp_stream_id_id
                if not (
                    (rid_id and value(rid_id) is not None)
                    or (repaired_id and value(repaired_id) is not None)
                ):
                    mid_id = extensions.mid_id
                    mid_bytes = value(mid_id) if mid_id else None
                    if mid_bytes is None or self._mid_bytes.get(known.mid) == mid_bytes:
                        return known
        if not packet.extensions:
            if known is not None:
                return known
            mid = rid = repaired_rid = None
        else:
            try:
                mid = extensions.get_mid(packet)
                rid = extensions.get_rtp_stream_id(packet)
                repaired_rid = extensions.get_repaired_rtp_stream_id(packet)
            except RtpParseError:
                mid = rid = repaired_rid = None
        if mid is not None and mid in self._mids:
            if rid is None and repaired_rid is None and known is not None and known.mid == mid:
                return known
            route = Route(mid, rid or repaired_rid, repaired_rid is not None)
            self._by_ssrc[packet.ssrc] = route
            return route
        if known is not None:
            if (rid or repaired_rid) and known.rid is None:
                known = Route(known.mid, rid or repaired_rid, repaired_rid is not None)
                self._by_ssrc[packet.ssrc] = known
            return known
        by_type = self._by_payload_type.get(packet.payload_type)
        if by_type is not None:
            route = Route(by_type, rid or repaired_rid, repaired_rid is not None)
            self._by_ssrc[packet.ssrc] = route
            return route
        self.unroutable += 1
        return None
