"""Event engine: the analytical engine's plan replayed as simpy processes, events per tile.

Each (layer, pass) replays its ``TileSchedule`` in a fresh ``simpy.Environment`` (problems run
back to back, as in the analytical engine) with three processes sharing one DRAM channel
(``simpy.Resource``, capacity 1, served in request order; within one cycle, loads ask before
stores, as they are on the critical path):

* **loader**: for each tile, wait for a free input buffer slot, hold the channel for
  ``ceil(load_bytes / bw)`` cycles; the data is usable when it has streamed, plus
  ``dram_latency_cycles`` where the latency is exposed (DRAM timing: ``simulator.perf``
  docstring; double-buffered: the first tile's load only);
* **array** (the vector or pre-generation unit for those passes): wait for the tile's data and
  a free output slot, compute ``compute_cycles``, free the input slot, hand the output on;
* **storer**: hold the channel for ``ceil(store_bytes / bw)`` cycles, which frees the output
  slot; the write is acknowledged when it has left, plus ``dram_latency_cycles`` where exposed
  (double-buffered: the last tile's store only). The problem ends at the last compute or
  acknowledgement.

Double-buffered schedules have two input and two output slots: the load of tile ``t+1`` may
start once compute ``t-1`` has freed its input slot, compute ``t`` needs its data and the output
slot of tile ``t-2`` (freed once that store has left on the channel). Single-buffered ones have
one slot, reused only once the tile's store is acknowledged: fully serial,
``xfer(L) + C + xfer(S)`` per tile, the analytical closed form exactly.

Agreement with ``simulator.perf.analytical_timing`` (double-buffered): both use the same DRAM
timing (``simulator.perf`` docstring: latency exposed at pipeline fill and drain only). The
analytical engine runs in lock-step, the next tile's load and the previous tile's store sharing
the channel while tile ``t`` computes, each step ending when both compute and transfers are
done. Here the same transfers run with no step barrier. When every step has room for both
transfers (``ceil(L[t+1] / bw) + ceil(S[t-1] / bw) <= C[t]``), the array never waits after the
first load, and both give ``xfer(L[0]) + sum(C) + xfer(S[T-1])`` exactly. When memory-bound this
engine may be faster: a transfer can start before the step barrier (a load as soon as its
slot frees, a store as soon as its tile is computed), which saves at most the slack of uneven
steps (the closed form already credits the one systematic case, load 1 streaming during load
0's latency). It is never slower. (Both claims are property-tested against the closed form;
the second is not proved: a store queued while the loader is busy may take the channel before
the next load, an order lock-step never uses.)

Long stretches of compute-bound steps are run as one event each, exactly (``replay``).

**Buffer ports** are shared resources too: each buffer read port and write port is a
``simpy.Resource`` of ``PORT_CAPACITY`` (1). While tile ``t`` computes, every stream with bytes
on a port that tile (``TileSchedule.stream_cycles``, e.g. the input and weight feeds through
one shared buffer's read port; a port without streams is one stream) holds its port for its
cycles; streams on one port take turns in request order (schedule order), and the tile ends
when the array and all its streams are done: ``busy_cycles``, as in the analytical engine, so
the agreement above is unchanged. Each port is a trace track (its name) with each stream's
turn on it. (The plan charges DRAM fills and drains to the buffer ports within the tile's busy
time, ``simulator.tiling``; they are held there, not by the loader and storer.)

Cycles, stalls and the compute/memory label come from the simulation; bytes, energy and
utilization come from the same ``layer_result`` the analytical engine uses (they do not depend
on timing). Each tile holds the array for its busy time (``TileSchedule.busy_cycles``: the
largest of its compute and buffer-port cycles, as in the analytical engine); ``bound`` names
the busiest resource (``simulator.perf.bound_of``, with the channel's measured busy time).
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import simpy
from simpy.events import EventPriority
from sparsim.simulator.mapper import SEARCH, MapperOptions
from sparsim.simulator.perf import Timing, bound_of, transfer_cycles
from sparsim.simulator.plan import PlannedProblem, layer_result, overlap_fused, plan, run_result
from sparsim.simulator.results import Pass, RunResult
from sparsim.simulator.schedule import TileSchedule
from sparsim.simulator.trace import Trace, check_trace_size
from tqdm import tqdm

if TYPE_CHECKING:
    from sparsim.accel.spec import AcceleratorSpec
    from sparsim.workloads.layer import Workload

__all__ = ["replay", "simulate_events"]


def _calm_runs(compute: np.ndarray, load: np.ndarray, store: np.ndarray) -> list[int]:
    """For each tile ``k``, how many consecutive steps from ``k`` are *calm*: the load of tile
    ``k+1`` and the store of tile ``k-1`` (channel cycles, their latency hidden) leave the
    channel strictly before ``C[k]`` ends (no same-cycle ties).
    The last tile is never calm: it ends the problem and always runs as its own events."""
    n = len(compute)
    nxt = np.append(load[1:], 0)
    prev = np.insert(store[:-1], 0, 0)
    calm = nxt + prev + 1 <= compute
    calm[-1] = False
    index = np.arange(n)
    next_restless = np.minimum.accumulate(np.where(calm, n, index)[::-1])[::-1]
    return (next_restless - index).tolist()


PORT_CAPACITY = 1
"""Transfers one buffer port serves at a time: one (a port moves its bytes per cycle for one
stream; two streams on it take turns). Tests raise it to show the serialization matters."""


def _holds(s: TileSchedule) -> list[tuple[str, str, list[int]]]:
    """``(port, stream, cycles per tile)`` of every port stream that ever takes time: the
    schedule's ``stream_cycles``, and each port without streams as one stream ``"all"``."""
    split = {port for port, _, _ in s.stream_cycles}
    holds = [(port, stream, np.asarray(c, dtype=np.int64)) for port, stream, c in s.stream_cycles]
    holds += [(port, "all", c) for port, c in s.port_cycles if port not in split]
    return [(port, stream, c.tolist()) for port, stream, c in holds if c.any()]


@dataclass(frozen=True, slots=True)
class _Tiles:
    """A schedule as plain Python ints (indexing numpy scalars per event is slow)."""

    compute: list[int]  # busy: the largest of the tile's compute and port cycles
    work: list[int]  # the array's own compute cycles
    holds: list[tuple[str, str, list[int]]]  # ``_holds``
    load: list[int]  # channel cycles, 0 = nothing to load
    store: list[int]
    calm: list[int]  # ``_calm_runs``
    latency: int
    slots: int  # 2 double-buffered, 1 single-buffered
    schedule: TileSchedule

    def load_latency(self, i: int) -> int:
        """Latency exposed after tile ``i``'s load streams (``simulator.perf`` docstring)."""
        exposed = self.slots == 1 or i == 0
        return self.latency if exposed and self.load[i] else 0

    def store_latency(self, i: int) -> int:
        """Latency before tile ``i``'s store is acknowledged (``simulator.perf`` docstring)."""
        exposed = self.slots == 1 or i == len(self.store) - 1
        return self.latency if exposed and self.store[i] else 0

    @classmethod
    def of(cls, s: TileSchedule) -> _Tiles:
        bw = s.dram_bytes_per_cycle
        load = transfer_cycles(s.load_bytes, bw, 0)
        store = transfer_cycles(s.store_bytes, bw, 0)
        lat = s.dram_latency_cycles
        busy = s.busy_cycles
        return cls(
            compute=busy.tolist(),
            work=np.asarray(s.compute_cycles, dtype=np.int64).tolist(),
            holds=_holds(s),
            load=load.tolist(),
            store=store.tolist(),
            calm=_calm_runs(busy, load, store),
            latency=lat,
            slots=2 if s.double_buffered else 1,
            schedule=s,
        )


_LATE = EventPriority(2)
"""simpy event priority after URGENT (0) and NORMAL (1): same-time events run by priority first."""


class _EndOfCycle(simpy.Event):
    """Fires after every ordinary event of the current cycle, including those they schedule for
    the same cycle. Initialised as ``simpy.Timeout`` initialises itself (already triggered),
    but scheduled at the ``_LATE`` priority with no delay."""

    def __init__(self, env: simpy.Environment) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, _LATE)


class _Flags:
    """Per-tile done flags of one kind. A simpy event is made only for a process that has to
    wait: most flags are set before anyone asks, and each event costs a scheduler step."""

    __slots__ = ("_env", "_waiting", "done")

    def __init__(self, env: simpy.Environment, n: int) -> None:
        self._env = env
        self._waiting: dict[int, simpy.Event] = {}
        self.done = [False] * n

    def wait(self, i: int) -> simpy.Event | None:
        """``None`` if flag ``i`` is set, else an event that fires when it is."""
        if self.done[i]:
            return None
        if i not in self._waiting:
            self._waiting[i] = self._env.event()
        return self._waiting[i]

    def set_range(self, lo: int, hi: int) -> None:
        """Set flags ``lo`` to ``hi - 1``, waking their waiters in index order."""
        self.done[lo:hi] = [True] * (hi - lo)
        for i in sorted(k for k in self._waiting if lo <= k < hi):
            self._waiting.pop(i).succeed()

    def set(self, i: int) -> None:
        self.set_range(i, i + 1)


class _Replay:
    """The simpy model of one problem (module docstring); ``run`` returns its ``Timing``."""

    def __init__(
        self, tiles: _Tiles, trace: Trace | None, offset: int, unit: str, batch: bool
    ) -> None:
        self.t = tiles
        self.trace = trace
        self.offset = offset
        self.unit = unit
        self.batch = batch and tiles.slots == 2
        self.env = simpy.Environment()
        self.channel = simpy.Resource(self.env, capacity=1)
        self.ports = {port: simpy.Resource(self.env, capacity=PORT_CAPACITY)
                      for port, _, _ in tiles.holds}  # fmt: skip
        n = len(tiles.compute)
        self.loaded, self.stored = _Flags(self.env, n), _Flags(self.env, n)  # left the channel
        self.input_free, self.computed = _Flags(self.env, n), _Flags(self.env, n)
        self.arrive_at = [0] * n  # cycle the loaded data is usable
        self.ack_at = [0] * n  # cycle the store is acknowledged
        self.next_load = self.next_store = 0  # next tile the loader / storer will move
        self.channel_busy = 0

    @property
    def now(self) -> int:
        """The current cycle: simpy types time as ``int | float``, but every delay here is an
        int, so it stays one."""
        return int(self.env.now)

    def _record(self, track: str, name: str, start: int, dur: int, tile: int) -> None:
        if self.trace is not None and dur > 0:
            self.trace.complete(track, name, self.offset + start, dur, {"tile": tile})

    def _until(self, cycle: int) -> Generator:
        if cycle > self.now:
            yield self.env.timeout(cycle - self.now)

    def _transfer(self, cycles: int, name: str, tile: int) -> Generator:
        with self.channel.request() as grant:
            yield grant
            start = self.now
            yield self.env.timeout(cycles)
        self.channel_busy += cycles
        self._record("dram", name, start, cycles, tile)

    def _loader(self) -> Generator:
        t = self.t
        while self.next_load < len(t.load):
            i = self.next_load
            if t.slots == 2 and i >= 2 and (free := self.input_free.wait(i - 2)) is not None:
                yield free
                if self.next_load != i:  # a batch moved this load (``_fast_forward``)
                    continue
            if t.slots == 1 and i >= 1:
                if (stored := self.stored.wait(i - 1)) is not None:
                    yield stored
                yield from self._until(self.ack_at[i - 1])
            self.next_load = i + 1
            if t.load[i]:
                yield from self._transfer(t.load[i], "load", i)
            self.arrive_at[i] = self.now + t.load_latency(i)
            self.loaded.set(i)

    def _storer(self) -> Generator:
        t = self.t
        while self.next_store < len(t.store):
            i = self.next_store
            if (computed := self.computed.wait(i)) is not None:
                yield computed
                if self.next_store != i:  # a batch moved this store (``_fast_forward``)
                    continue
            if t.store[i]:
                yield _EndOfCycle(self.env)  # loads ready in this cycle ask first
            self.next_store = i + 1
            if t.store[i]:
                yield from self._transfer(t.store[i], "store", i)
            self.ack_at[i] = self.now + t.store_latency(i)
            self.stored.set(i)

    def _wait_inputs(self, i: int) -> Generator:
        if (loaded := self.loaded.wait(i)) is not None:
            yield loaded
        yield from self._until(self.arrive_at[i])
        if self.t.slots == 2 and i >= 2 and (slot := self.stored.wait(i - 2)) is not None:
            yield slot

    def _hold(self, port: str, stream: str, cycles: int, tile: int) -> Generator:
        """Hold ``port`` for ``cycles`` moving ``stream``'s bytes of ``tile`` (its turn comes
        after the streams that asked before it: request order)."""
        with self.ports[port].request() as grant:
            yield grant
            start = self.now
            yield self.env.timeout(cycles)
        self._record(port, stream, start, cycles, tile)

    def _compute(self, i: int) -> Generator:
        """Tile ``i``: the array computes while each port stream holds its port; the tile ends
        when all are done (``busy_cycles`` when every port serializes its streams)."""
        start, env = self.now, self.env
        holds = [env.process(self._hold(port, stream, cycles[i], i))
                 for port, stream, cycles in self.t.holds if cycles[i]]  # fmt: skip
        if holds:
            yield simpy.AllOf(env, [env.timeout(self.t.work[i]), *holds])
        else:
            yield env.timeout(self.t.work[i])
        self._record(self.unit, "compute", start, self.now - start, i)
        self.input_free.set(i)  # before ``computed``: the load asks before the store
        self.computed.set(i)

    def _batchable(self, i: int) -> int:
        """Tiles from ``i`` that ``_fast_forward`` may run in closed form (0: none)."""
        steady = (
            self.batch and i >= 1 and self.next_load == i + 1 and self.next_store == i - 1
            and self.channel.count == 0 and not self.channel.queue
        )  # fmt: skip
        return self.t.calm[i] if steady and self.t.calm[i] >= 2 else 0

    def _fast_forward(self, i: int, j: int) -> Generator:
        """Run tiles ``i .. i+j-1`` as one event (exactness argument: ``replay`` docstring)."""
        t, start = self.t, self.now
        self.next_load, self.next_store = i + j + 1, i + j - 1
        self.channel_busy += sum(t.load[i + 1 : i + j + 1]) + sum(t.store[i - 1 : i + j - 1])
        last_start = start + sum(t.compute[i : i + j - 1])
        self.arrive_at[i + j] = last_start + t.load[i + j] + t.load_latency(i + j)
        if self.trace is not None:
            self._record_calm_steps(i, j, start)
        yield self.env.timeout(sum(t.compute[i : i + j]))
        self.loaded.set_range(i + 1, i + j + 1)
        self.stored.set_range(i - 1, i + j - 1)
        self.input_free.set_range(i, i + j)
        self.computed.set_range(i, i + j)

    def _record_calm_steps(self, i: int, j: int, start: int) -> None:
        """The trace of calm steps: load ``k+1`` then store ``k-1`` from the step's start."""
        t = self.t
        for k in range(i, i + j):
            self._record(self.unit, "compute", start, t.compute[k], k)
            self._record_holds(k, start)
            self._record("dram", "load", start, t.load[k + 1], k + 1)
            self._record("dram", "store", start + t.load[k + 1], t.store[k - 1], k - 1)
            start += t.compute[k]

    def _record_holds(self, k: int, start: int) -> None:
        """Tile ``k``'s port streams from ``start``, each port's in turn (as ``_compute``)."""
        free = dict.fromkeys(self.ports, start)
        for port, stream, cycles in self.t.holds:
            self._record(port, stream, free[port], cycles[k], k)
            free[port] += cycles[k]

    def _array(self) -> Generator:
        i = 0
        while i < len(self.t.compute):
            yield from self._wait_inputs(i)
            if j := self._batchable(i):
                yield from self._fast_forward(i, j)
                i += j
            else:
                yield from self._compute(i)
                i += 1

    def run(self) -> Timing:
        for process in (self._loader(), self._array(), self._storer()):
            self.env.process(process)
        self.env.run()
        cycles = max(self.now, max(self.ack_at, default=0))
        compute = int(self.t.schedule.compute_cycles.sum())
        bound = bound_of(self.t.schedule, self.channel_busy)
        return Timing(cycles=cycles, compute_cycles=compute, stall_cycles=cycles - compute,
                      bound=bound)  # fmt: skip


def replay(
    schedule: TileSchedule,
    trace: Trace | None = None,
    offset_cycles: int = 0,
    unit: str = "array",
    *,
    batch: bool = True,
) -> Timing:
    """Simulate one problem's schedule; record its busy intervals into ``trace`` if given,
    the compute ones on the ``unit`` track (``array``, ``vector`` or ``pregen``).

    ``batch``: run stretches of *calm* steps as one event each (double-buffered schedules).
    Step ``k`` is calm when ``ceil(L[k+1] / bw) + ceil(S[k-1] / bw) + 1 <= C[k]``.
    Exactness: suppose tile ``k`` is about to compute at ``s`` with the channel idle and
    nothing queued, the loader waiting only for compute ``k-1`` to free a slot before loading
    tile ``k+1``, and the storer waiting only for compute ``k-1`` to store it. Then, tile by
    tile, load ``k+1`` is granted at ``s`` (the loader asks first) and store ``k-1`` right
    after it; by calmness both leave the channel before ``s + C[k]`` (strictly: no tie with
    the compute's end) and, their latency hidden, the data lands and the write is
    acknowledged by then (the last tile, whose store may expose latency, is never calm), so
    compute
    ``k+1`` starts at ``s + C[k]`` in the same state. So a
    stretch of ``j`` calm steps takes exactly ``sum(C)``, with every transfer's time known,
    and the state after it is the one tile-by-tile replay reaches: the batch is exact, not an
    approximation. (Tests compare ``batch=True`` with ``batch=False`` on random schedules.)
    """
    if schedule.tiles == 0:
        return Timing(cycles=0, compute_cycles=0, stall_cycles=0, bound="compute")
    return _Replay(_Tiles.of(schedule), trace, offset_cycles, unit, batch).run()


_UNITS = {Pass.VECTOR: "vector", Pass.PREGEN: "pregen"}  # other passes run on the array


def _cached_replay(
    planned: PlannedProblem,
    cache: dict[int, tuple[Timing, Trace | None]],
    trace: Trace | None,
) -> tuple[Timing, Trace | None]:
    """Replay ``planned.schedule`` once per schedule object (same-shape problems share one; the
    replay is deterministic), with its events on a private trace starting at cycle 0."""
    key = id(planned.schedule)
    if key not in cache:
        local = None if trace is None else Trace(process_name="", freq_mhz=trace.freq_mhz)
        unit = _UNITS.get(planned.problem.pass_, "array")
        cache[key] = (replay(planned.schedule, local, unit=unit), local)
    return cache[key]


def _starts(plans: list[PlannedProblem], own: list[Timing], timings: list[Timing]) -> list[int]:
    """Start cycle of each problem: back to back, except that a fused vector op starts with its
    producer, after the fused ops before it in the chain (``simulator.plan`` fusion)."""
    starts, now = [], 0
    chain_end: dict[int, int] = {}  # producer index -> cycle its last fused op ends
    for i, planned in enumerate(plans):
        if planned.producer is None:
            starts.append(now)
        else:
            starts.append(chain_end.get(planned.producer, starts[planned.producer]))
            chain_end[planned.producer] = starts[i] + own[i].cycles
        now += timings[i].cycles
    return starts


def _write_trace(
    trace: Trace, plans: list[PlannedProblem], own: list[Timing], timings: list[Timing],
    events: list[Trace | None], path: str | Path,
) -> None:  # fmt: skip
    """Problems on the ``problem`` track (fused vector ops on ``fused``), their events merged."""
    for planned, start, mine, local in zip(
        plans, _starts(plans, own, timings), own, events, strict=True
    ):
        if not mine.cycles or local is None:
            continue
        track = "problem" if planned.producer is None else "fused"
        trace.complete(track, f"{planned.problem.layer}:{planned.problem.pass_.value}", start,
                       mine.cycles)  # fmt: skip
        trace.merge(local, start)
    trace.write(path)


def simulate_events(
    workload: Workload,
    spec: AcceleratorSpec,
    *,
    trace_path: str | Path | None = None,
    progress: bool = False,
    mapper: MapperOptions = SEARCH,
) -> RunResult:
    """Run ``workload`` on ``spec`` with the event engine; optionally write a Perfetto trace
    and show a progress bar (large models take seconds). Fused vector ops overlap their
    producer exactly as in the analytical engine (``simulator.plan.overlap_fused``)."""
    trace = None
    if trace_path is not None:
        trace = Trace(process_name=f"{workload.name} on {spec.name}",
                      freq_mhz=spec.compute.freq_mhz)  # fmt: skip
    # kept alive: ``_cached_replay`` keys on schedule ids
    plans = plan(workload, spec, mapper=mapper)
    if trace is not None:
        check_trace_size(planned.schedule for planned in plans)  # before any replay
    cache: dict[int, tuple[Timing, Trace | None]] = {}
    bar = tqdm(plans, desc=f"event engine: {workload.name}", unit="problem", disable=not progress,
               file=sys.stderr, leave=False)  # fmt: skip
    replays = [_cached_replay(planned, cache, trace) for planned in bar]
    own = [timing for timing, _ in replays]
    dense = [_cached_replay(p.dense, cache, None)[0] if p.dense else t
             for p, t in zip(plans, own, strict=True)]  # fmt: skip
    timings, dense = overlap_fused(plans, own), overlap_fused(plans, dense)
    if trace is not None and trace_path is not None:
        _write_trace(trace, plans, own, timings, [events for _, events in replays], trace_path)
    layers = [layer_result(*args, spec) for args in zip(plans, timings, dense, strict=True)]
    return run_result(workload, spec, layers, "event")
