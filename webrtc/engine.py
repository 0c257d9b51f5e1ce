"""The contract every sans-I/O protocol engine follows (DESIGN.md section 1).

An engine owns no socket, task, thread or clock. The caller feeds it bytes and
the current time ``now`` (float seconds on any monotonic clock the caller
chooses), and collects what it produced: datagrams to put on the wire, typed
events, and the next deadline at which ``handle_timer`` must be called.

Engines whose datagrams carry addressing (the ICE agent takes a local socket id
and a remote address) extend these signatures with keyword arguments; the shape
of the loop that drives them stays the same.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["DatagramEngine"]


@runtime_checkable
class DatagramEngine(Protocol):
    """A point-to-point sans-I/O engine (DTLS, SCTP, and the like).

    The driving loop, in whatever environment (asyncio, threads, the
    :mod:`webrtc.testing` simulator), is always:

    1. on bytes from the network: ``receive_datagram(data, now)``;
    2. on a user action: the engine's own ``send(...)``;
    3. after either, and after a timer: send every datagram of
       ``datagrams_to_send(now)``, drain ``next_event()`` until ``None``,
       and re-arm one timer at ``get_timer()``;
    4. when that deadline passes: ``handle_timer(now)``.

    Network input never raises out of ``receive_datagram``: malformed or
    hostile datagrams are dropped and counted, or end the connection with a
    typed event.
    """

    def receive_datagram(self, data: bytes, now: float) -> None:
        """Bytes arrived from the network at time ``now``."""
        ...

    def datagrams_to_send(self, now: float) -> list[bytes]:
        """What must go on the wire now; an empty list is normal."""
        ...

    def get_timer(self) -> float | None:
        """The next absolute deadline on the caller's ``now`` clock, or ``None``."""
        ...

    def handle_timer(self, now: float) -> None:
        """The deadline returned by ``get_timer`` has passed."""
        ...

    def next_event(self) -> object | None:
        """The next typed event (a frozen dataclass), or ``None``."""
        ...
