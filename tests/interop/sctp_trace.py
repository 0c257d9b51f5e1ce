"""Debug aid: log every SCTP packet our association sends and receives.

Enabled in the browser harness by ``WEBRTC_SCTP_TRACE=<file>``: each line is
``time direction vtag state-before->state-after chunk...`` with DATA chunks
shown as ``DATA(tsn,sid,ppid,len)``. Used to read handshake orderings when a
browser case misbehaves; it never changes what is sent.
"""

from __future__ import annotations

import struct
import time
from typing import Any

from webrtc.sctp import SctpAssociation

CHUNK_NAMES = {0: "DATA", 1: "INIT", 2: "INIT_ACK", 3: "SACK", 4: "HEARTBEAT",
               5: "HEARTBEAT_ACK", 6: "ABORT", 7: "SHUTDOWN", 8: "SHUTDOWN_ACK", 9: "ERROR",
               10: "COOKIE_ECHO", 11: "COOKIE_ACK", 14: "SHUTDOWN_COMPLETE", 64: "I_DATA",
               130: "RECONFIG", 192: "FORWARD_TSN", 194: "I_FORWARD_TSN"}


def describe(packet: bytes) -> str:
    if len(packet) < 12:
        return f"short({len(packet)})"
    vtag = struct.unpack_from("!I", packet, 4)[0]
    parts = [f"vtag={vtag:08x}"]
    offset = 12
    while offset + 4 <= len(packet):
        ctype, flags, length = struct.unpack_from("!BBH", packet, offset)
        name = CHUNK_NAMES.get(ctype, str(ctype))
        if ctype == 0 and length >= 16:
            tsn, sid, _ssn, ppid = struct.unpack_from("!IHHI", packet, offset + 4)
            parts.append(f"DATA(tsn={tsn},sid={sid},ppid={ppid},len={length - 16},f={flags})")
        elif ctype in (1, 2) and length >= 20:
            tag, _rwnd, _out, _in, tsn = struct.unpack_from("!IIHHI", packet, offset + 4)
            parts.append(f"{name}(tag={tag:08x},tsn={tsn})")
        elif ctype == 3 and length >= 16:
            cum = struct.unpack_from("!I", packet, offset + 4)[0]
            parts.append(f"SACK(cum={cum})")
        else:
            parts.append(name)
        if length < 4:
            break
        offset += (length + 3) & ~3
    return " ".join(parts)


def install(path: str) -> None:
    log = open(path, "a", buffering=1)  # noqa: SIM115 - lives for the process
    start = time.monotonic()
    original_receive = SctpAssociation.receive_datagram
    original_send = SctpAssociation.datagrams_to_send

    def receive_datagram(self: SctpAssociation, data: bytes, now: float) -> Any:
        before = self.state.name
        result = original_receive(self, data, now)
        log.write(f"{time.monotonic() - start:9.4f} <- {before}->{self.state.name} "
                  f"{describe(bytes(data))}\n")
        return result

    def datagrams_to_send(self: SctpAssociation, now: float) -> list[bytes]:
        packets = original_send(self, now)
        for packet in packets:
            log.write(f"{time.monotonic() - start:9.4f} -> {self.state.name} "
                      f"{describe(packet)}\n")
        return packets

    SctpAssociation.receive_datagram = receive_datagram  # type: ignore[method-assign]
    SctpAssociation.datagrams_to_send = datagrams_to_send  # type: ignore[method-assign]
