"""SCTP over DTLS (RFC 9260, RFC 8261) and data channels (DCEP, RFC 8832).

A sans-I/O engine (DESIGN.md section 1): :class:`SctpAssociation` owns no
socket, task or clock. Each SCTP packet travels as one DTLS record's
application data; feed what DTLS delivers to ``receive_datagram`` and hand
each packet of ``datagrams_to_send`` to DTLS as one record.

Public API (stable)::

    assoc = SctpAssociation(is_client, local_port=5000, remote_port=5000,
                            max_message_size=262144, *, mtu=1200,
                            receive_window=1 << 20, rto_initial=1.0, rto_min=0.4,
                            rto_max=60.0, max_retransmissions=10, heartbeat_interval=30.0,
                            interleaving=False,   # offer I-DATA (RFC 8260)
                            max_burst=None,       # RFC 9260 6.1 Max.Burst, packets
                            random_bytes=os.urandom)
    assoc.start(now)                         # send INIT (both sides may: simultaneous INIT works)
    assoc.receive_datagram(packet, now)      # one SCTP packet in; never raises
    assoc.datagrams_to_send(now) -> list[bytes]   # SCTP packets out (MTU 1200 by default)
    assoc.get_timer() -> float | None; assoc.handle_timer(now)
    assoc.next_event() -> event | None
    assoc.close(now)                         # graceful SHUTDOWN; assoc.abort(detail) for ABORT
    assoc.set_remote_max_message_size(n)     # the peer's a=max-message-size (0: unlimited)
    assoc.max_send_message_size, assoc.max_channels, assoc.state

    # data channels (RFC 8831/8832), on the same object
    sid = assoc.open_channel(label="", *, ordered=True, max_retransmits=None,
                             max_packet_life_time=None,  # ms
                             protocol="", negotiated=False, id=None, priority=256)
    assoc.send(sid, data: bytes | str, now=None)  # str -> PPID 51, bytes -> 53, empty 56/57
    assoc.close_channel(sid)                 # stream reset in both directions (RFC 6525)
    assoc.buffered_amount(sid)               # bytes queued and not yet sent (W3C semantics)
    assoc.set_buffered_amount_low_threshold(sid, n)

``receive_datagram`` accepts any bytes-like packet; ``now`` given to ``send``
starts a ``max_packet_life_time`` channel's clock (otherwise the next
``datagrams_to_send(now)`` does). I-DATA is used only when both sides offer it;
without it, DATA with FORWARD TSN and RE-CONFIG stream resets (what Chromium and
Firefox use by default).

Ports and the MTU are fixed at construction (build the association once the
SDP a=sctp-port values are known).

Stream ids follow the DTLS role: ``is_client`` (DTLS client) opens even ids,
the DTLS server odd ones. ``max_message_size`` is what we advertise and accept
(a message larger than it aborts the association); :meth:`send` refuses
(``ValueError``) a message larger than the peer's limit.

Events (frozen dataclasses, :mod:`webrtc.sctp.events`):
:class:`AssociationEstablished`, :class:`AssociationClosed` (with a
:class:`CloseReason`), :class:`ChannelOpened` (``remote`` True for a peer's
DATA_CHANNEL_OPEN that we acknowledged; False for ours, once the association
is up), :class:`MessageReceived` (stream id, data bytes, is_string),
:class:`ChannelClosed`, :class:`BufferedAmountLow`, and
:class:`ChannelAcknowledged` when the peer's DATA_CHANNEL_ACK for one of our
channels arrives (for a user that wants aiortc's "open on ACK" behaviour;
Chromium and Firefox open the creator's channel without waiting for it).

Wire formats (:mod:`webrtc.sctp.packet`, :mod:`webrtc.sctp.dcep`) round-trip
through ``parse``/``bytes()`` and raise only :class:`SctpParseError`.
"""

from webrtc.sctp.association import SctpAssociation
from webrtc.sctp.errors import SctpParseError
from webrtc.sctp.events import (
    AssociationClosed,
    AssociationEstablished,
    AssociationState,
    BufferedAmountLow,
    ChannelAcknowledged,
    ChannelClosed,
    ChannelOpened,
    CloseReason,
    MessageReceived,
)

__all__ = [
    "AssociationClosed",
    "AssociationEstablished",
    "AssociationState",
    "BufferedAmountLow",
    "ChannelAcknowledged",
    "ChannelClosed",
    "ChannelOpened",
    "CloseReason",
    "MessageReceived",
    "SctpAssociation",
    "SctpParseError",
]
