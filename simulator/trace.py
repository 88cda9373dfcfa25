"""Timeline of an event-engine run as a Chrome/Perfetto trace (Trace Event Format, JSON).

Each busy interval is a complete event (``"ph": "X"``) with ``ts``/``dur`` in microseconds:
cycles divided by the accelerator clock in MHz (cycles per microsecond). Each resource has its
own track (``tid``), named by a ``thread_name`` metadata event; the whole accelerator is one
process named after the spec. Open the file in https://ui.perfetto.dev or chrome://tracing.
Format reference: "Trace Event Format", Google,
docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU

Memory stays bounded: events live in compact typed arrays (about 30 bytes each, not a tuple
and a dict), a replay cached once is merged by reference wherever its schedule runs again, and
``write`` streams the JSON to disk in chunks instead of building it in memory. Size is bounded
too: ``check_trace_size`` counts a run's events from its schedules before the replay starts and
refuses a trace that would exceed ``MAX_TRACE_BYTES``; ``write`` stops at that size as well.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from sparsim.simulator.files import atomic_write
from sparsim.simulator.schedule import TileSchedule
from sparsim.workloads.yamlio import ConfigError

__all__ = [
    "MAX_TRACE_BYTES",
    "TRACKS",
    "Trace",
    "check_trace_events",
    "check_trace_size",
    "trace_events",
]

TRACKS = ("problem", "dram", "array", "vector", "pregen", "fused")
"""Track names in display order: the (layer, pass) being run, the DRAM channel, then the
compute units: the PE array, the vector unit, the weight pre-generation unit; then the fused
vector ops running alongside their producer's problem. Every other track (a buffer port,
``"input buffer read port"``...) follows these, in the order first recorded."""

MAX_TRACE_BYTES = 2**30
"""Largest trace written: 1 GiB (assumed: about the largest JSON trace the Perfetto UI opens
in a browser tab)."""

MIN_EVENT_BYTES = 70
"""Fewest bytes one busy interval takes in the file: the shortest, ``{"name":"load","ph":"X",
"pid":0,"tid":1,"ts":0.0,"dur":0.5,"args":{"tile":0}}``, has 71."""

_Event = tuple[str, str, int, int, dict | None]
"""Track, name, start cycle, duration in cycles, args."""

_CHUNK_EVENTS = 65536
"""Events formatted per write while streaming (bounded memory, few system calls)."""


def trace_events(schedule: TileSchedule) -> int:
    """Busy intervals the event engine records for ``schedule``: each tile's compute, load and
    store that takes time, each port stream's occupancy (``TileSchedule.stream_cycles``; a port
    without streams is one), plus the problem's own interval."""
    split = {stream.port for stream in schedule.stream_cycles}
    holds = [stream.cycles for stream in schedule.stream_cycles]
    holds += [c for port, c in schedule.port_cycles if port not in split]
    nonzero = (np.count_nonzero(a) for a in (schedule.busy_cycles, schedule.load_bytes,
                                             schedule.store_bytes, *holds))  # fmt: skip
    return 1 + int(sum(nonzero))


def check_trace_size(schedules: Iterable[TileSchedule], limit_bytes: int = MAX_TRACE_BYTES) -> None:
    """Refuse, before any replay, a trace of these schedules (one per problem run, repeats
    included) that would be larger than ``limit_bytes``."""
    counted: dict[int, int] = {}
    per_problem = []
    for schedule in schedules:
        if id(schedule) not in counted:
            counted[id(schedule)] = trace_events(schedule)
        per_problem.append(counted[id(schedule)])
    check_trace_events(per_problem, limit_bytes)


def check_trace_events(per_problem: Iterable[int], limit_bytes: int = MAX_TRACE_BYTES) -> None:
    """``check_trace_size`` given each problem run's ``trace_events``."""
    events = sum(per_problem)
    if events * MIN_EVENT_BYTES > limit_bytes:
        raise ConfigError([
            f"--trace: this run records {events:,} events, at least "
            f"{events * MIN_EVENT_BYTES / 2**30:.1f} GiB of trace; the limit is "
            f"{limit_bytes / 2**30:.1f} GiB (trace a smaller workload, an inference run, "
            "or fewer layers)"
        ])


class Trace:
    """Complete events in cycles, in compact arrays; ``to_dict``/``write`` convert them.

    ``merge`` keeps a reference to the other trace and its offset (a cached replay is stored
    once however often its schedule runs); events with ``args`` other than ``{"tile": i}`` are
    rare (none today) and kept aside.
    """

    def __init__(self, *, process_name: str, freq_mhz: float) -> None:
        if freq_mhz <= 0:
            raise ValueError("freq_mhz must be > 0")
        self.process_name = process_name
        self.freq_mhz = freq_mhz
        self._tid = array("h")  # index into ``_tracks``
        self._name = array("i")  # index into ``_names``
        self._start = array("q")
        self._dur = array("q")
        self._tile = array("q")  # -1: no tile argument
        self._names: list[str] = []
        self._tracks: list[str] = []
        self._track_index: dict[str, int] = {}
        self._name_index: dict[str, int] = {}
        self._other_args: dict[int, dict] = {}
        self._merged: list[tuple[int, Trace, int]] = []  # (own events before it, trace, offset)

    def __len__(self) -> int:
        return len(self._tid) + sum(len(other) for _, other, _ in self._merged)

    def complete(
        self, track: str, name: str, start_cycle: int, dur_cycles: int, args: dict | None = None
    ) -> None:
        """Record that ``track`` was busy with ``name`` for ``dur_cycles`` from ``start_cycle``."""
        if name not in self._name_index:
            self._name_index[name] = len(self._names)
            self._names.append(name)
        tile = args.get("tile", -1) if args is not None and set(args) == {"tile"} else -1
        if args and tile == -1:
            self._other_args[len(self._tid)] = args
        if track not in self._track_index:
            self._track_index[track] = len(self._tracks)
            self._tracks.append(track)
        self._tid.append(self._track_index[track])
        self._name.append(self._name_index[name])
        self._start.append(start_cycle)
        self._dur.append(dur_cycles)
        self._tile.append(tile)

    def merge(self, other: Trace, offset_cycles: int) -> None:
        """Add ``other``'s events shifted by ``offset_cycles`` (a replay cached once and placed
        wherever the same schedule runs again): by reference, so add to ``other`` no more."""
        self._merged.append((len(self._tid), other, offset_cycles))

    def _track_ids(self) -> dict[str, int]:
        """Track name -> tid: ``TRACKS``, then other tracks in the order first recorded."""
        ids = {track: tid for tid, track in enumerate(TRACKS)}
        seen: set[int] = set()

        def visit(trace: Trace) -> None:
            if id(trace) in seen:
                return
            seen.add(id(trace))
            for track in trace._tracks:
                ids.setdefault(track, len(ids))
            for _, other, _ in trace._merged:
                visit(other)

        visit(self)
        return ids

    def _metadata(self, ids: dict[str, int]) -> list[dict]:
        meta = [{"name": "process_name", "ph": "M", "pid": 0, "args": {"name": self.process_name}}]
        for track, tid in ids.items():
            meta.append({"name": "thread_name", "ph": "M", "pid": 0, "tid": tid,
                         "args": {"name": track}})  # fmt: skip
            meta.append({"name": "thread_sort_index", "ph": "M", "pid": 0, "tid": tid,
                         "args": {"sort_index": tid}})  # fmt: skip
        return meta

    def _own(self, lo: int, hi: int, offset: int) -> Iterator[_Event]:
        for i in range(lo, hi):
            tile = self._tile[i]
            args = {"tile": tile} if tile >= 0 else self._other_args.get(i)
            name = self._names[self._name[i]]
            track = self._tracks[self._tid[i]]
            yield track, name, self._start[i] + offset, self._dur[i], args

    def _all(self, offset: int = 0) -> Iterator[_Event]:
        """Every event in the order recorded, merged traces in place, shifted by ``offset``."""
        done = 0
        for at, other, shift in self._merged:
            yield from self._own(done, at, offset)
            yield from other._all(offset + shift)
            done = at
        yield from self._own(done, len(self._tid), offset)

    def _event(
        self, ids: dict[str, int], track: str, name: str, start: int, dur: int, args: dict | None
    ) -> dict:
        per_us = self.freq_mhz  # cycles per microsecond
        event = {"name": name, "ph": "X", "pid": 0, "tid": ids[track],
                 "ts": start / per_us, "dur": dur / per_us}  # fmt: skip
        if args:
            event["args"] = args
        return event

    def to_dict(self) -> dict:
        """The whole trace as one dict (small traces and tests; ``write`` streams)."""
        ids = self._track_ids()
        events = [self._event(ids, *e) for e in self._all()]
        return {"traceEvents": self._metadata(ids) + events, "displayTimeUnit": "ns"}

    def _chunks(self) -> Iterator[str]:
        """The JSON text of ``to_dict()`` (compact separators), a chunk at a time."""
        dumps = json.JSONEncoder(separators=(",", ":")).encode
        ids = self._track_ids()
        yield '{"traceEvents":[' + ",".join(dumps(m) for m in self._metadata(ids))
        batch: list[str] = []
        for event in self._all():
            batch.append(dumps(self._event(ids, *event)))
            if len(batch) == _CHUNK_EVENTS:
                yield "," + ",".join(batch)
                batch.clear()
        if batch:
            yield "," + ",".join(batch)
        yield '],"displayTimeUnit":"ns"}'

    def _stream(self, target: Path, limit_bytes: int, shown: str | Path) -> None:
        written = 0
        with open(target, "w", encoding="utf-8") as out:
            for chunk in self._chunks():
                written += len(chunk.encode("utf-8"))
                if written > limit_bytes:
                    raise ConfigError([f"{shown}: the trace passed {limit_bytes:,} bytes, the "
                                       "limit for a trace; stopped"])
                out.write(chunk)

    def write(self, path: str | Path, limit_bytes: int = MAX_TRACE_BYTES) -> Path:
        """Stream the JSON trace to ``path`` (``simulator.files.atomic_write``: whole or not at
        all), refusing to pass ``limit_bytes``."""
        return atomic_write(path, lambda target: self._stream(target, limit_bytes, path))
