"""Timeline of an event-engine run as a Chrome/Perfetto trace (Trace Event Format, JSON).

Each busy interval is a complete event (``"ph": "X"``) with ``ts``/``dur`` in microseconds:
cycles divided by the accelerator clock in MHz (cycles per microsecond). Each resource has its
own track (``tid``), named by a ``thread_name`` metadata event; the whole accelerator is one
process named after the spec. Open the file in https://ui.perfetto.dev or chrome://tracing.
Format reference: "Trace Event Format", Google,
docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
"""

from __future__ import annotations

import json
from pathlib import Path

from sparsim.simulator.files import atomic_write

__all__ = ["TRACKS", "Trace"]

TRACKS = ("problem", "dram", "array", "vector", "pregen", "fused")
"""Track names in display order: the (layer, pass) being run, the DRAM channel, then the
compute units: the PE array, the vector unit, the weight pre-generation unit; last, the fused
vector ops running alongside their producer's problem."""


class Trace:
    """Collects complete events in cycles; ``to_dict``/``write`` convert them to the format.

    Events are kept as plain tuples (no per-event objects) because a ResNet-50 run records
    tens of thousands of them.
    """

    def __init__(self, *, process_name: str, freq_mhz: float) -> None:
        if freq_mhz <= 0:
            raise ValueError("freq_mhz must be > 0")
        self.process_name = process_name
        self.freq_mhz = freq_mhz
        self._events: list[tuple[int, str, int, int, dict | None]] = []

    def __len__(self) -> int:
        return len(self._events)

    def complete(
        self, track: str, name: str, start_cycle: int, dur_cycles: int, args: dict | None = None
    ) -> None:
        """Record that ``track`` was busy with ``name`` for ``dur_cycles`` from ``start_cycle``."""
        self._events.append((TRACKS.index(track), name, start_cycle, dur_cycles, args))

    def merge(self, other: Trace, offset_cycles: int) -> None:
        """Append ``other``'s events shifted by ``offset_cycles`` (a replay cached once and
        placed wherever the same schedule runs again)."""
        self._events.extend(
            (tid, name, start + offset_cycles, dur, args)
            for tid, name, start, dur, args in other._events
        )

    def _metadata(self) -> list[dict]:
        meta = [{"name": "process_name", "ph": "M", "pid": 0, "args": {"name": self.process_name}}]
        for tid, track in enumerate(TRACKS):
            meta.append({"name": "thread_name", "ph": "M", "pid": 0, "tid": tid,
                         "args": {"name": track}})  # fmt: skip
            meta.append({"name": "thread_sort_index", "ph": "M", "pid": 0, "tid": tid,
                         "args": {"sort_index": tid}})  # fmt: skip
        return meta

    def _event(self, tid: int, name: str, start: int, dur: int, args: dict | None) -> dict:
        per_us = self.freq_mhz  # cycles per microsecond
        event = {"name": name, "ph": "X", "pid": 0, "tid": tid,
                 "ts": start / per_us, "dur": dur / per_us}  # fmt: skip
        if args:
            event["args"] = args
        return event

    def to_dict(self) -> dict:
        events = [self._event(*e) for e in self._events]
        return {"traceEvents": self._metadata() + events, "displayTimeUnit": "ns"}

    def write(self, path: str | Path) -> Path:
        """Write the JSON trace atomically (see ``simulator.files.atomic_write``)."""
        text = json.dumps(self.to_dict(), separators=(",", ":"))
        return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
