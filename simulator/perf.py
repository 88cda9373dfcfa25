"""Analytical engine: a problem's time from its ``TileSchedule`` in closed form (numpy, no loop).

**DRAM timing, shared with the event engine (``simulator.events``).** A transfer of ``b`` bytes
holds the one DRAM channel for ``ch(b) = ceil(b / bw)`` cycles (``bw`` =
``dram_bytes_per_cycle``; ``ch(0) = 0``); the latency ``lat`` = ``dram_latency_cycles`` does
not hold the channel. ``xfer(b) = 0 if b == 0 else lat + ch(b)``.

* **Double-buffered**: the DMA engine issues each request while the previous transfer streams
  (it knows the next tile's transfer while the current one computes, and a free slot is
  coming), so the latency is exposed once when the pipeline fills (the first tile's load lands
  ``lat`` after it streamed) and once when it drains (the last store is acknowledged ``lat``
  after it left); every other transfer's latency is hidden. The lock-step form, with ``T``
  tiles, compute ``C[t]``, loads ``L[t]``, stores ``S[t]`` (``L[T] = 0``, ``S[-1] = 0``; the
  load of tile ``t+1`` and the store of tile ``t-1`` share the channel while tile ``t``
  computes, a step ending when both are done)::

      cycles = xfer(L[0])                                        fill
             + sum_t max(C[t], ch(L[t+1]) + ch(S[t-1]) - h[t])   steady state
             + xfer(S[T-1])                                      drain

  where ``h[0] = lat`` if ``L[0] > 0`` (the load of tile 1 streams while tile 0's data is
  still in flight), else 0, and ``h[t] = 0`` for ``t >= 1``; so a compute-bound problem takes
  exactly ``xfer(L[0]) + sum(C) + xfer(S[T-1])``. The event
  engine runs the same transfers without the step barrier (never slower, within a few percent
  when memory-bound, while no buffer port is contended; ``simulator.events``).
* **Single-buffered**: no request can be issued before its one slot frees, so every transfer
  pays the latency: ``cycles = sum_t xfer(L[t]) + C[t] + xfer(S[t])``.

**Buffer ports.** ``C[t]`` above is the tile's *busy* time
(``TileSchedule.busy_cycles``): the largest of its compute cycles and each buffer port's
cycles (bytes / port bytes per cycle): the array cannot consume operands faster than the
buffers deliver them, nor drain results faster than the output buffer takes them.

``stall_cycles = cycles - sum(compute)``. ``busy`` gives every resource's busy time over the
problem: ``"compute"`` (``sum(compute)``), each buffer port (``"input buffer read port"``: the
sum of its cycles) and ``"DRAM"`` (``ceil(sum(L + S) / bw)``); ``bound`` names the one with the
most (ties go to compute, then ports in order): why the layer took its time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sparsim.simulator.schedule import TileSchedule

__all__ = ["Busy", "Timing", "analytical_timing", "bound_of", "busiest", "busy_of",
           "transfer_cycles"]


Busy = tuple[tuple[str, int], ...]
"""(resource, busy cycles) pairs: ``busy_of``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """How long one problem took: total, busy compute, waiting on memory; what bounds it.
    ``overlapped_cycles``: for a fused vector op, the cycles of its own that ran hidden under
    its producer's (``simulator.plan.overlap_fused``); ``cycles`` are only those it adds."""

    cycles: int
    compute_cycles: int
    stall_cycles: int
    bound: str  # "compute" | "DRAM" | "<buffer> buffer <read|write> port"
    overlapped_cycles: int = 0
    busy: Busy = ()  # (resource, busy cycles): ``busy_of``


def transfer_cycles(nbytes: np.ndarray, bytes_per_cycle: float, latency: int) -> np.ndarray:
    """``xfer(b)``: DRAM latency plus ``ceil(b / bw)``, 0 for no transfer (module docstring)."""
    nbytes = np.asarray(nbytes, dtype=np.int64)
    cycles = np.ceil(nbytes / bytes_per_cycle).astype(np.int64) + latency
    return np.where(nbytes > 0, cycles, 0)


def _channel_cycles(nbytes: np.ndarray, bytes_per_cycle: float) -> np.ndarray:
    """``ch(b)`` of every transfer (``transfer_cycles`` without latency: ``ch(0) = 0``)."""
    return np.ceil(nbytes / bytes_per_cycle).astype(np.int64)


def _xfer(nbytes: int, bytes_per_cycle: float, latency: int) -> int:
    """``xfer(b)`` of one transfer (``transfer_cycles`` on a scalar)."""
    return math.ceil(nbytes / bytes_per_cycle) + latency if nbytes > 0 else 0


def _double_buffered(s: TileSchedule) -> int:
    bw, lat = s.dram_bytes_per_cycle, s.dram_latency_cycles
    load, store = s.load_bytes, s.store_bytes
    channel = np.zeros(len(load), dtype=np.int64)
    channel[:-1] = _channel_cycles(load[1:], bw)  # next tile's load
    channel[1:] += _channel_cycles(store[:-1], bw)  # previous tile's store
    first_load, last_store = int(load[0]), int(store[-1])
    if first_load:  # load 1 streams during load 0's latency (module docstring)
        channel[0] = max(channel[0] - lat, 0)
    steady = np.maximum(s.busy_cycles, channel)
    return int(steady.sum()) + _xfer(first_load, bw, lat) + _xfer(last_store, bw, lat)


def _single_buffered(s: TileSchedule) -> int:
    bw, lat = s.dram_bytes_per_cycle, s.dram_latency_cycles
    moves = transfer_cycles(s.load_bytes, bw, lat) + transfer_cycles(s.store_bytes, bw, lat)
    return int(s.busy_cycles.sum() + moves.sum())


def busy_of(schedule: TileSchedule, dram_cycles: float | None = None) -> Busy:
    """Each resource's busy cycles (module docstring): ``compute``, every buffer port in
    order, ``DRAM``; ``dram_cycles``: the channel's busy time if known (the event engine
    measures it), else ``sum(L + S) / bw``, rounded up."""
    if dram_cycles is None:
        moved = int(schedule.load_bytes.sum() + schedule.store_bytes.sum())
        dram_cycles = moved / schedule.dram_bytes_per_cycle
    ports = tuple((port, int(cycles.sum())) for port, cycles in schedule.port_cycles)
    return (("compute", int(schedule.compute_cycles.sum())), *ports,
            ("DRAM", math.ceil(dram_cycles)))  # fmt: skip


def busiest(busy: Busy) -> str:
    """The resource with the most busy cycles, the first on ties (``busy_of`` order)."""
    name, best = busy[0]
    for resource, cycles in busy[1:]:
        if cycles > best:
            name, best = resource, cycles
    return name


def bound_of(schedule: TileSchedule, dram_cycles: float | None = None) -> str:
    """The resource with the most busy time (module docstring, ``busy_of``)."""
    return busiest(busy_of(schedule, dram_cycles))


def _one_tile_timing(s: TileSchedule, compute: int) -> Timing:
    """``analytical_timing`` of one tile: both closed forms reduce to ``xfer(L) + busy +
    xfer(S)`` (no next load or previous store shares the channel); ``bound_of`` on scalars."""
    bw, lat = s.dram_bytes_per_cycle, s.dram_latency_cycles
    load, store = int(s.load_bytes.item(0)), int(s.store_bytes.item(0))
    busy = (("compute", compute), *((port, int(c.item(0))) for port, c in s.port_cycles),
            ("DRAM", math.ceil((load + store) / bw)))  # fmt: skip
    longest = max(cycles for _, cycles in busy[:-1])
    total = _xfer(load, bw, lat) + longest + _xfer(store, bw, lat)
    return Timing(cycles=total, compute_cycles=compute, stall_cycles=total - compute,
                  bound=busiest(busy), busy=busy)  # fmt: skip


def analytical_timing(schedule: TileSchedule) -> Timing:
    """Closed-form time of one problem's schedule (module docstring)."""
    tiles = schedule.tiles
    if tiles == 0:
        return Timing(cycles=0, compute_cycles=0, stall_cycles=0, bound="compute")
    if tiles == 1:  # most layers: Python scalars, numpy's overhead dominates
        return _one_tile_timing(schedule, int(schedule.compute_cycles.item(0)))
    compute = int(schedule.compute_cycles.sum())
    run = _double_buffered if schedule.double_buffered else _single_buffered
    cycles = run(schedule)
    busy = busy_of(schedule)
    return Timing(cycles=cycles, compute_cycles=compute, stall_cycles=cycles - compute,
                  bound=busiest(busy), busy=busy)  # fmt: skip
