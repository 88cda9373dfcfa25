"""Event engine: the analytical engine's plan replayed as simpy processes, events per tile.

Each (layer, pass) replays its ``TileSchedule`` in a fresh ``simpy.Environment`` (problems run
back to back, as in the analytical engine) with three processes sharing one DRAM channel
(``simpy.Resource``, capacity 1, served in request order; within one cycle, loads ask before
stores, as they are on the critical path):

* **loader**: for each tile, wait for a free input buffer slot, hold the channel for
  ``ceil(load_bytes / bw)`` cycles and, from then, the write port of each buffer the load
  fills (below); the data is usable when the channel and the ports are done, plus
  ``dram_latency_cycles`` where the latency is exposed (DRAM timing: ``simulator.perf``
  docstring; double-buffered: the first tile's load only);
* **array** (the vector or pre-generation unit for those passes): wait for the tile's data and
  a free output slot, compute ``compute_cycles`` while its port streams hold their ports
  (below), free the input slot, hand the output on;
* **storer**: hold the channel for ``ceil(store_bytes / bw)`` cycles and, from then, the read
  port of the buffer it drains; when both are done the output slot is free, and the write is
  acknowledged then, plus ``dram_latency_cycles`` where exposed (double-buffered: the last
  tile's store only). The problem ends at the last compute or acknowledgement.

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
transfers (``ceil(L[t+1] / bw) + ceil(S[t-1] / bw) <= C[t]``) and the ports are uncontended
(below), the array never waits after the first load, and both give
``xfer(L[0]) + sum(C) + xfer(S[T-1])`` exactly. When memory-bound with uncontended ports this
engine may be faster: a transfer can start before the step barrier (a load as soon as its
slot frees, a store as soon as its tile is computed), which saves at most the slack of uneven
steps (the closed form already credits the one systematic case, load 1 streaming during load
0's latency). It is then never slower. (Both claims are property-tested against the closed
form; the second is not proved: a store queued while the loader is busy may take the channel
before the next load, an order lock-step never uses.)

Long stretches of compute-bound steps are run as one event each, exactly (``replay``).

**Buffer ports** are shared resources too: each buffer read port and write port is a
``simpy.Resource`` of ``PORT_CAPACITY`` (1). Every stream with bytes on a port in a tile
(``TileSchedule.stream_cycles``: ``simulator.plan.stream_schedule`` splits each port's cycles
by stream; a port without streams is one stream held by the array) holds its port for its
cycles, at the time its holder moves it: the array's feeds (input, weight values, metadata)
and results (partial sums, outputs) while the tile computes; a DMA fill (input, weight values
and metadata, partial-sum reloads) while its load holds the channel, so the fill of tile
``t+1`` shares the write port with tile ``t``'s writes; a drain (outputs, partial-sum spills)
while its store holds the channel. Streams on one port take turns in request order: the
array's (in schedule order), then a fill's, then a drain's. Each port is a trace track (its
name) with each stream's turn on it.

The analytical engine charges each port the sum of a tile's streams within that tile's busy
time, fills and drains included (``TileSchedule.busy_cycles``). This engine runs them where
they happen, which makes two differences, both only where a port is *contended*: a port that
serves the array and a fill or drain of another tile (e.g. one shared buffer) makes them wait
for each other, so the event engine is slower than the analytical max of ports; and a fill or
drain that keeps its port longer than the channel (a write port narrower than the DRAM) holds
up its transfer, where the analytical engine hides it under compute. With every fill and drain
on ports the array does not use, each no longer on them than on the channel, neither happens
and the agreement above holds (``tests/integration/test_engines_agree.py``).

Cycles, stalls and the compute/memory label come from the simulation; bytes, energy and
utilization come from the same ``layer_result`` the analytical engine uses (they do not depend
on timing). Each tile holds the array for the largest of its compute and the time its own
port streams take (``_own_cycles``; longer when a port is contended); ``bound`` names the
busiest resource (``simulator.perf.bound_of``, with the channel's measured busy time).
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import simpy
from simpy.events import EventPriority
from sparsim.simulator.mapper import SEARCH, MapperOptions
from sparsim.simulator.perf import Timing, busiest, busy_of, transfer_cycles
from sparsim.simulator.plan import (
    PlannedProblem,
    layer_result,
    overlap_fused,
    plan,
    run_result,
    stream_schedule,
)
from sparsim.simulator.results import Pass, RunResult
from sparsim.simulator.schedule import HOLDERS, PortStream, TileSchedule
from sparsim.simulator.trace import Trace, check_trace_events, trace_events
from tqdm import tqdm

if TYPE_CHECKING:
    from sparsim.accel.spec import AcceleratorSpec
    from sparsim.workloads.layer import Workload

__all__ = ["replay", "simulate_events"]


def _calm_runs(
    compute: np.ndarray, load: np.ndarray, store: np.ndarray, ports_calm: np.ndarray
) -> list[int]:
    """For each tile ``k``, how many consecutive steps from ``k`` are *calm*: the load of tile
    ``k+1`` and the store of tile ``k-1`` (channel cycles, their latency hidden) leave the
    channel strictly before ``C[k]`` ends (no same-cycle ties), and so do their buffer-port
    holds (``ports_calm``: ``_ports_calm``).
    The last tile is never calm: it ends the problem and always runs as its own events."""
    n = len(compute)
    nxt = np.append(load[1:], 0)
    prev = np.insert(store[:-1], 0, 0)
    calm = (nxt + prev + 1 <= compute) & ports_calm
    calm[-1] = False
    index = np.arange(n)
    next_restless = np.minimum.accumulate(np.where(calm, n, index)[::-1])[::-1]
    return (next_restless - index).tolist()


PORT_CAPACITY = 1
"""Transfers one buffer port serves at a time: one (a port moves its bytes per cycle for one
stream; two streams on it take turns). Tests raise it to show the serialization matters."""


_Hold = tuple[str, str, list[int]]
"""A port stream as the replay holds it: port, stream, cycles per tile."""


def _streams(s: TileSchedule) -> list[PortStream]:
    """Every port stream that ever takes time: the schedule's ``stream_cycles``, and each port
    without streams as one stream ``"all"`` held by the array."""
    split = {stream.port for stream in s.stream_cycles}
    streams = [stream._replace(cycles=np.asarray(stream.cycles, dtype=np.int64))
               for stream in s.stream_cycles]  # fmt: skip
    streams += [PortStream(port, "all", c) for port, c in s.port_cycles if port not in split]
    return [stream for stream in streams if stream.cycles.any()]


def _holds(streams: list[PortStream], holder: str) -> list[_Hold]:
    return [(p.port, p.stream, p.cycles.tolist()) for p in streams if p.holder == holder]


def _own_cycles(work: np.ndarray, streams: list[PortStream]) -> np.ndarray:
    """Per tile, the time the array needs without contention: the largest of its compute and
    each port's array-held streams (``TileSchedule.busy_cycles`` when the array holds all)."""
    own = np.asarray(work, dtype=np.int64)
    for cycles in _per_port(streams, "array").values():
        own = np.maximum(own, cycles)
    return own


def _per_port(streams: list[PortStream], holder: str) -> dict[str, np.ndarray]:
    """Per port, the cycles per tile its ``holder``'s streams take."""
    out: dict[str, np.ndarray] = {}
    for p in streams:
        if p.holder == holder:
            out[p.port] = out.get(p.port, 0) + p.cycles
    return out


def _ports_calm(
    own: np.ndarray, load: np.ndarray, store: np.ndarray, streams: list[PortStream]
) -> np.ndarray:
    """Per tile ``k``, whether every port finishes step ``k``'s holds strictly before ``own[k]``:
    in request order, the array's holds ``A`` and the fill of tile ``k+1`` (``F``) from the
    step's start, the drain of tile ``k-1`` (``D``) once load ``k+1`` has left the channel
    (``ch(L[k+1])``; at once if it moves no DRAM bytes), so the port is done by
    ``max(A + F, ch(L[k+1])) + D``."""
    calm = np.ones(len(own), dtype=bool)
    array, fill, drain = (_per_port(streams, h) for h in HOLDERS)
    nxt = np.where(np.insert(store[:-1], 0, 0) > 0, np.append(load[1:], 0), 0)
    for port in {*fill, *drain}:
        a = array.get(port, np.zeros_like(own))
        f = np.append(fill[port][1:], 0) if port in fill else 0
        d = np.insert(drain[port][:-1], 0, 0) if port in drain else 0
        done = np.where(d > 0, np.maximum(a + f, nxt) + d, a + f)
        calm &= (f + d == 0) | (done + 1 <= own)
    return calm


@dataclass(frozen=True, slots=True)
class _Tiles:
    """A schedule as plain Python ints (indexing numpy scalars per event is slow)."""

    compute: list[int]  # ``_own_cycles``: compute or the array's port holds, uncontended
    work: list[int]  # the array's own compute cycles
    holds: list[_Hold]  # the port streams the array holds while computing
    fills: list[_Hold]  # the port streams a tile's DMA fill holds (with the channel)
    drains: list[_Hold]  # the port streams a tile's drain holds (with the channel)
    load: list[int]  # channel cycles, 0 = nothing to load
    store: list[int]
    calm: list[int]  # ``_calm_runs``
    latency: int
    slots: int  # 2 double-buffered, 1 single-buffered
    schedule: TileSchedule

    def fills_at(self, i: int) -> bool:
        """Whether tile ``i``'s load holds a buffer port."""
        return any(cycles[i] for _, _, cycles in self.fills)

    def drains_at(self, i: int) -> bool:
        """Whether tile ``i``'s store holds a buffer port."""
        return any(cycles[i] for _, _, cycles in self.drains)

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
        streams = _streams(s)
        own = _own_cycles(s.compute_cycles, streams)
        return cls(
            compute=own.tolist(),
            work=np.asarray(s.compute_cycles, dtype=np.int64).tolist(),
            holds=_holds(streams, "array"),
            fills=_holds(streams, "load"),
            drains=_holds(streams, "store"),
            load=load.tolist(),
            store=store.tolist(),
            calm=_calm_runs(own, load, store, _ports_calm(own, load, store, streams)),
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
                      for port, _, _ in (*tiles.holds, *tiles.fills, *tiles.drains)}  # fmt: skip
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

    def _transfer(self, cycles: int, name: str, tile: int, holds: list[_Hold]) -> Generator:
        """Move a tile's DRAM bytes: the channel for ``cycles`` and, from when it is granted,
        each buffer port the transfer fills or drains (``holds``), in turn with the port's
        other streams; done when all are. With no DRAM bytes (a core's share that came from
        a global buffer) only the ports are held."""
        if not cycles:
            ports = self._holding(holds, tile)
        else:
            with self.channel.request() as grant:
                yield grant
                start = self.now
                ports = self._holding(holds, tile)
                yield self.env.timeout(cycles)
            self.channel_busy += cycles
            self._record("dram", name, start, cycles, tile)
        if any(not p.triggered for p in ports):
            yield simpy.AllOf(self.env, ports)

    def _holding(self, holds: list[_Hold], tile: int) -> list[simpy.Process]:
        """Processes holding each port of ``holds`` with bytes in ``tile``, asking in order."""
        return [self.env.process(self._hold(port, stream, cycles[tile], tile))
                for port, stream, cycles in holds if cycles[tile]]  # fmt: skip

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
            if t.load[i] or t.fills_at(i):
                yield from self._transfer(t.load[i], "load", i, t.fills)
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
            moves = t.store[i] or t.drains_at(i)
            if moves:
                yield _EndOfCycle(self.env)  # loads ready in this cycle ask first
            self.next_store = i + 1
            if moves:
                yield from self._transfer(t.store[i], "store", i, t.drains)
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
        holds = self._holding(self.t.holds, i)
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
        landed = self._calm_step(i + j - 1, last_start, record=False)
        self.arrive_at[i + j] = landed + t.load_latency(i + j)
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
            self._calm_step(k, start, record=True)
            self._record("dram", "load", start, t.load[k + 1], k + 1)
            self._record("dram", "store", start + t.load[k + 1], t.store[k - 1], k - 1)
            start += t.compute[k]

    def _calm_step(self, k: int, start: int, *, record: bool) -> int:
        """The port holds of calm step ``k`` from ``start``, in the order they ask (as the
        tile-by-tile replay: the array's, then the fill of tile ``k+1``, then the drain of
        tile ``k-1`` once that load has left the channel), recorded if ``record``; returns
        the cycle load ``k+1`` has landed (channel and ports done)."""
        t = self.t
        free = dict.fromkeys(self.ports, start)
        landed = start + t.load[k + 1]
        after_load = start + t.load[k + 1] if t.store[k - 1] else start  # channel or none
        steps = ((t.holds, k, start), (t.fills, k + 1, start), (t.drains, k - 1, after_load))
        for holds, tile, ready in steps:
            for port, stream, cycles in holds:
                if not cycles[tile]:
                    continue
                begin = max(free[port], ready)
                if record:
                    self._record(port, stream, begin, cycles[tile], tile)
                free[port] = begin + cycles[tile]
                if tile == k + 1:
                    landed = max(landed, free[port])
        return landed

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
        busy = busy_of(self.t.schedule, self.channel_busy)
        return Timing(cycles=cycles, compute_cycles=compute, stall_cycles=cycles - compute,
                      bound=busiest(busy), busy=busy)  # fmt: skip


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
    spec: AcceleratorSpec,
    cache: dict[int, tuple[Timing, Trace | None]],
    trace: Trace | None,
) -> tuple[Timing, Trace | None]:
    """Replay ``planned``'s schedule, its ports split by stream (``plan.stream_schedule``),
    once per schedule object (same-shape problems share one; the replay is deterministic),
    with its events on a private trace starting at cycle 0."""
    key = id(planned.schedule)
    if key not in cache:
        local = None if trace is None else Trace(process_name="", freq_mhz=trace.freq_mhz)
        unit = _UNITS.get(planned.problem.pass_, "array")
        cache[key] = (replay(stream_schedule(planned, spec), local, unit=unit), local)
    return cache[key]


def _trace_events(plans: list[PlannedProblem], spec: AcceleratorSpec) -> Iterator[int]:
    """``trace.trace_events`` of each problem run as the replay runs it (its ports split by
    stream), counted once per schedule object, without keeping the split schedules."""
    counted: dict[int, int] = {}
    for planned in plans:
        key = id(planned.schedule)
        if key not in counted:
            counted[key] = trace_events(stream_schedule(planned, spec))
        yield counted[key]


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
        check_trace_events(_trace_events(plans, spec))  # before any replay
    cache: dict[int, tuple[Timing, Trace | None]] = {}
    bar = tqdm(plans, desc=f"event engine: {workload.name}", unit="problem", disable=not progress,
               file=sys.stderr, leave=False)  # fmt: skip
    replays = [_cached_replay(planned, spec, cache, trace) for planned in bar]
    own = [timing for timing, _ in replays]
    dense = [_cached_replay(p.dense, spec, cache, None)[0] if p.dense else t
             for p, t in zip(plans, own, strict=True)]  # fmt: skip
    timings, dense = overlap_fused(plans, own), overlap_fused(plans, dense)
    if trace is not None and trace_path is not None:
        _write_trace(trace, plans, own, timings, [events for _, events in replays], trace_path)
    layers = [layer_result(*args, spec) for args in zip(plans, timings, dense, strict=True)]
    return run_result(workload, spec, layers, "event")
