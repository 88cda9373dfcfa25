"""Typed reads from parsed YAML: the one validation framework of accelerator specs and workloads.

A ``Section`` wraps one YAML mapping and its YAML path. Each read (``integer``, ``number``,
``choice``, ...) returns the value, or records ``<file>: <yaml path>: <what is wrong, the bad
value, what is allowed>`` in a shared ``Problems`` and returns ``None``, so validation goes on
and every problem of a file is reported at once.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sparsim.workloads.yamlio import Problems, shorten, yaml_path

__all__ = [
    "MAX_INT", "MAX_SIZE_BYTES", "REQUIRED", "Section", "all_built", "describe", "is_int",
    "is_number", "items", "root",
]

REQUIRED: Any = object()
"""Default meaning "the key must be present"."""

MAX_INT = 2**31 - 1
"""Cap on every integer read without its own ``hi``: no count or dimension in a sparsim file
comes near it, and products of a few such values stay inside int64."""

MAX_SIZE_BYTES = 2**40
"""Cap on a memory size: 1 TiB, far beyond any on-chip buffer."""

_SIZE_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_SIZE_RE = re.compile(r"^(\d+)\s*(B|KiB|MiB|GiB)$")

_T = TypeVar("_T")

_MAX_INT_WHY = "2^31 - 1: no count or dimension in a sparsim file comes near it"
_SIZE_RANGE = "1 byte to 1TiB (1TiB is far beyond any on-chip buffer)"


def _within(value: float, bottom: tuple[float, bool], hi: float | None) -> bool:
    """``value`` above ``bottom`` (``(bound, strict)``) and at most ``hi``."""
    low, strict = bottom
    above = value > low if strict else value >= low
    return above and (hi is None or value <= hi)


def _num(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() and abs(x) < 1e7 else f"{x:g}"


def _range_text(bottom: tuple[float, bool], hi: float | None) -> str:
    low, strict = bottom
    if hi is not None and not strict:
        return f"in {_num(low)}..{_num(hi)}"
    text = f"> {_num(low)}" if strict else f">= {_num(low)}"
    return text if hi is None else f"{text} and <= {_num(hi)}"


def describe(value: Any) -> str:
    """A bad value as the user wrote it, with its YAML type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a bool)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    kind = {str: "a string", int: "an int", float: "a float"}.get(type(value), type(value).__name__)
    return f"{shorten(value)} ({kind})"


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


class Section:
    """Typed reads from one YAML mapping. A problem is recorded with its YAML path and the read
    returns ``None``, so validation goes on and every problem is reported."""

    def __init__(self, problems: Problems, data: Mapping, parts: tuple[str | int, ...]) -> None:
        self.problems = problems
        self.data = data
        self.parts = parts

    def add(self, key: str | int | None, message: str) -> None:
        where = yaml_path(*self.parts) if key is None else yaml_path(*self.parts, key)
        self.problems.add(where, message)

    def allow(self, allowed: Iterable[str]) -> None:
        """Report unknown keys, naming the allowed ones and a near miss."""
        allowed = sorted(allowed)
        for key in self.data:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            self.add(str(key), f"unknown key; {hint}allowed keys are {', '.join(allowed)}")

    def _read(self, key: str, default: Any, ok: Callable[[Any], bool], expected: str) -> Any:
        """The value at ``key`` if ``ok``; ``default`` if absent (``REQUIRED``: a problem)."""
        if key not in self.data:
            if default is REQUIRED:
                self.add(key, "required key is missing")
                return None
            return default
        value = self.data[key]
        if ok(value):
            return value
        self.add(key, f"must be {expected}, not {describe(value)}")
        return None

    def _in_range(self, key: str, value: Any, ok: bool, allowed: str, why: str = "") -> Any:
        if value is None or key not in self.data or ok:
            return value
        because = f" ({why})" if why else ""
        self.add(key, f"must be {allowed}{because}, not {shorten(value)}")
        return None

    def integer(
        self, key: str, default: Any = REQUIRED, *, lo: int = 0, hi: int | None = None,
        why: str = "",
    ) -> Any:
        """An int in ``lo..hi`` (``hi`` absent: ``MAX_INT``); ``why`` explains the range."""
        value = self._read(key, default, is_int, "an integer")
        if hi is None and value is not None and key in self.data and value > MAX_INT:
            return self._in_range(key, value, False, f"at most {MAX_INT:,}", why or _MAX_INT_WHY)
        ok = key not in self.data or (
            value is not None and lo <= value and (hi is None or value <= hi)
        )
        allowed = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        return self._in_range(key, value, ok, allowed, why)

    def number(
        self, key: str, default: Any = REQUIRED, *, positive: bool,
        lo: float | None = None, hi: float | None = None, why: str = "",
    ) -> Any:
        """A finite int or float, ``> 0`` (``positive``) or ``>= 0``, within ``lo``/``hi`` if
        given; ``why`` explains the range."""
        value = self._read(key, default, is_number, f"a number{self._float_hint(key)}")
        bottom = (0.0 if lo is None else lo, positive and lo is None)
        ok = key not in self.data or (value is not None and _within(value, bottom, hi))
        return self._in_range(key, value, ok, _range_text(bottom, hi), why)

    def _float_hint(self, key: str) -> str:
        text = str(self.data.get(key))
        if not self._float_text(key):
            return ""
        number = text.strip() if len(text.strip()) <= 40 else repr(float(text))
        return f" (quotes make it a string; write {number} without them)"

    def _float_text(self, key: str) -> bool:
        try:
            return isinstance(self.data.get(key), str) and math.isfinite(float(self.data[key]))
        except ValueError:
            return False

    def size(self, key: str) -> Any:
        """Bytes as an int >= 1 or a string like ``"256KiB"``."""
        value = self.data.get(key)
        if isinstance(value, str) and (match := _SIZE_RE.match(value.strip())):
            size = int(match[1]) * _SIZE_UNITS[match[2]]
            if 1 <= size <= MAX_SIZE_BYTES:
                return size
            self.add(key, f"must be {_SIZE_RANGE}, not {shorten(value)} ({size:,} bytes)")
            return None
        units = ", ".join(_SIZE_UNITS)
        expected = f"a positive integer number of bytes or a size like '256KiB' (units {units})"
        value = self._read(key, REQUIRED, is_int, expected)
        ok = value is not None and 1 <= value <= MAX_SIZE_BYTES
        return self._in_range(key, value, ok, _SIZE_RANGE)

    def boolean(self, key: str, default: bool) -> Any:
        return self._read(key, default, lambda v: isinstance(v, bool), "true or false")

    def text(self, key: str, default: Any = REQUIRED, *, empty_ok: bool = False) -> Any:
        def ok(v: Any) -> bool:
            return isinstance(v, str) and (empty_ok or v.strip() != "")

        return self._read(key, default, ok, "a string" if empty_ok else "a non-empty string")

    def choice(self, key: str, allowed: Iterable[str], default: Any = REQUIRED) -> Any:
        allowed = tuple(allowed)
        return self._read(key, default, lambda v: v in allowed, f"one of {', '.join(allowed)}")

    def converted(self, key: str, convert: Callable[[Any], Any], default: Any = REQUIRED) -> Any:
        """``convert(value)``; a ``ValueError`` it raises is recorded as the problem."""
        value = self._read(key, default, lambda _: True, "")
        if value is None or key not in self.data:
            return value
        try:
            return convert(value)
        except ValueError as exc:
            self.add(key, str(exc))
            return None

    def section(self, key: str | int, required: bool = False) -> Section | None:
        """The nested mapping at ``key`` (``None`` if absent and optional, or malformed)."""
        if key not in self.data:
            if required:
                self.add(key, "required key is missing")
            return None
        value = self.data[key]
        if isinstance(value, Mapping):
            return Section(self.problems, value, (*self.parts, key))
        self.add(key, f"must be a mapping, not {describe(value)}")
        return None


def items(parent: Section, key: str, *, required: bool = False) -> list[Section | None]:
    """Each entry of the list at ``key`` as a section (``None`` for a non-mapping entry); a
    ``required`` list must be present and non-empty."""
    if key not in parent.data:
        if required:
            parent.add(key, "required key is missing")
        return []
    value = parent.data[key]
    if not isinstance(value, list):
        parent.add(key, f"must be a list of mappings, not {describe(value)}")
        return []
    if required and not value:
        parent.add(key, "must be a non-empty list of mappings, not an empty list")
        return []
    listed = Section(parent.problems, dict(enumerate(value)), (*parent.parts, key))
    return [listed.section(i) for i in range(len(value))]


def all_built(named: list[tuple[str, _T | None]]) -> tuple[tuple[str, _T], ...] | None:
    """``named`` as a tuple if every part was built, else ``None`` (its problems are recorded)."""
    built = tuple((name, part) for name, part in named if part is not None)
    return built if len(built) == len(named) else None


def root(problems: Problems, data: Any, keys: tuple[str, ...]) -> Section:
    """The file's top-level mapping with only ``keys`` allowed; an empty file or a non-mapping
    raises at once (nothing else can be checked)."""
    listed = ", ".join(keys)
    if data is None:
        problems.add("<root>", f"the file is empty; expected a mapping with keys {listed}")
    elif not isinstance(data, Mapping):
        problems.add("<root>", f"must be a mapping with keys {listed}, not {describe(data)}")
    problems.raise_if_any()
    section = Section(problems, data, ())
    section.allow(keys)
    return section
