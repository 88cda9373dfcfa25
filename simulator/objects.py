"""Values kept per live object, found by identity: the one mechanism behind the simulator's
caches keyed by a spec, workload, problem or schedule object.

Hashing those objects is slow (a spec hashes every field of every section) or not what is
wanted (two equal problems with different masks), and a design-space sweep meets many of
them once each. So a value is found by the object's ``id`` (with any extra hashable key
parts); each entry holds its object, so the id cannot be reused while the entry lives; and a
store is emptied when it holds ``limit`` entries (bounded memory).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["PerObject"]

_O = TypeVar("_O")
_V = TypeVar("_V")


class PerObject(Generic[_O, _V]):
    """``make(obj, *extra)`` worked out once per (object, extra key parts) and kept (module
    docstring); call it as ``store(obj, *extra)``."""

    __slots__ = ("_entries", "_limit", "_make")

    def __init__(self, make: Callable[..., _V], limit: int) -> None:
        self._make, self._limit = make, limit
        self._entries: dict[Hashable, tuple[_O, _V]] = {}

    def __call__(self, obj: _O, *extra: Hashable) -> _V:
        key = (id(obj), *extra) if extra else id(obj)
        hit = self._entries.get(key)
        if hit is None or hit[0] is not obj:
            if len(self._entries) >= self._limit:
                self._entries.clear()
            hit = self._entries[key] = (obj, self._make(obj, *extra))
        return hit[1]
