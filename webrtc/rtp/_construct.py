"""Building frozen, slotted dataclass instances fast, for the hot paths that
create one per packet or frame (parsed RTCP packets, received frames)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["fast_constructor", "frozen_builder"]


def frozen_builder(cls: type) -> Any:
    """A mutable twin of the frozen, slotted ``cls``: the same slots on the same
    base, so an instance filled in field by field (plain slot stores, no
    ``__setattr__``) can then take ``cls`` as its class. A frozen dataclass's
    ``__init__`` sets each field through ``object.__setattr__``, twice as slow."""
    return type(f"_{cls.__name__}Builder", cls.__bases__, {"__slots__": cls.__dict__["__slots__"]})


def fast_constructor(cls: type) -> Callable[..., Any]:
    """A constructor taking every field of the frozen, slotted dataclass ``cls``
    positionally, in field order, through :func:`frozen_builder`."""
    names = [f.name for f in dataclasses.fields(cls)]
    namespace: dict[str, Any] = {"builder": frozen_builder(cls), "cls": cls}
    arguments = ", ".join(f"v{i}" for i in range(len(names)))
    lines = [f"def make({arguments}):", "    o = builder()"]
    lines += [f"    o.{name} = v{index}" for index, name in enumerate(names)]
    lines += ["    o.__class__ = cls", "    return o"]
    exec("\n".join(lines), namespace)  # the technique dataclasses itself uses
    return namespace["make"]  # type: ignore[no-any-return]
