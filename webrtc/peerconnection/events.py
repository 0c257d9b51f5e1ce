"""Event listeners in both styles users expect.

aiortc (and pyee) style::

    @pc.on("datachannel")
    def on_datachannel(channel): ...

W3C / MDN style, one handler per event through an ``on<event>`` attribute::

    pc.ondatachannel = lambda event: ...

As in browsers, the attribute handler receives one :class:`Event` whose
fields carry what ``on`` listeners receive as arguments (``event.channel``,
``event.data``, ``event.candidate``...). A listener that is a coroutine
function is scheduled as a task on the running loop. An exception raised by
a listener is logged and does not stop the other listeners or the stack.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar, overload

__all__ = ["Event", "EventEmitter"]

logger = logging.getLogger(__name__)

Listener = TypeVar("Listener", bound=Callable[..., Any])


class Event:
    """What an ``on<event>`` attribute handler receives: ``type``, ``target``, fields."""

    def __init__(self, type: str, target: object, **fields: Any) -> None:
        self.type = type
        self.target = target
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k != "target")
        return f"Event({fields})"


class EventEmitter:
    """``on`` / ``once`` / ``remove_listener`` / ``emit`` plus ``on<event>`` attributes."""

    # Names for which an ``on<name>`` attribute exists (subclasses extend).
    EVENTS: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[..., Any]]] = {}
        self._attribute_handlers: dict[str, Callable[..., Any] | None] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    @overload
    def on(self, event: str) -> Callable[[Listener], Listener]: ...

    @overload
    def on(self, event: str, listener: Listener) -> Listener: ...

    def on(self, event: str, listener: Callable[..., Any] | None = None) -> Any:
        """Add a listener; without one, return a decorator that adds it."""
        if listener is None:
            def decorator(function: Listener) -> Listener:
                self._listeners.setdefault(event, []).append(function)
                return function
            return decorator
        self._listeners.setdefault(event, []).append(listener)
        return listener

    def add_listener(self, event: str, listener: Callable[..., Any]) -> None:
        self.on(event, listener)

    def once(self, event: str, listener: Callable[..., Any]) -> None:
        def wrapper(*args: Any) -> Any:
            self.remove_listener(event, wrapper)
            return listener(*args)
        self.on(event, wrapper)

    def remove_listener(self, event: str, listener: Callable[..., Any]) -> None:
        listeners = self._listeners.get(event, [])
        if listener in listeners:
            listeners.remove(listener)

    def remove_all_listeners(self, event: str | None = None) -> None:
        if event is None:
            self._listeners.clear()
        else:
            self._listeners.pop(event, None)

    def listeners(self, event: str) -> list[Callable[..., Any]]:
        return list(self._listeners.get(event, []))

    def __getattr__(self, name: str) -> Any:
        # Only reached for missing attributes: ``on<event>`` reads as its handler.
        if name.startswith("on") and name[2:] in type(self).EVENTS:
            return self.__dict__.get("_attribute_handlers", {}).get(name[2:])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("on") and name[2:] in type(self).EVENTS:
            self._attribute_handlers[name[2:]] = value
        else:
            object.__setattr__(self, name, value)

    def emit(self, event: str, *args: Any, **fields: Any) -> None:
        """Call ``on`` listeners with ``args`` and the attribute handler with an Event."""
        handler = self._attribute_handlers.get(event)
        listeners = self._listeners.get(event)
        if handler is None and not listeners:
            return
        calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        if handler is not None:
            calls.append((handler, (Event(event, self, **fields),)))
        calls.extend((listener, args) for listener in list(listeners or ()))
        for listener, arguments in calls:
            try:
                result = listener(*arguments)
            except Exception:
                logger.exception("%s listener for %r failed", type(self).__name__, event)
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s async listener failed", type(self).__name__,
                         exc_info=task.exception())
