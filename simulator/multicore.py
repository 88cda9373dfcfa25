"""Multi-core arrays: ``compute.cores = C`` identical arrays, each with its own copy of the
spec's ``buffers``, sharing the DRAM channel(s) and, optionally, a ``global_buffer`` (an L2).

A layer around the one-array planner: for each (layer, pass) this module lists the ways the
work can be split across the cores (``splits``), each as the sub-problem one core runs and the
per-core view of the spec (``core_spec``); ``simulator.plan`` plans every sub-problem with the
one-array mapper, merges the cores (``merge_parts``, ``through_global``) and keeps the best
split under the objective (its exact cost, as for one array).

**Splits** (``SPLIT_AXES``). Along an axis each active core takes ``share = ceil(extent /
C)`` of it and the last one what is left, so ``active = ceil(extent / share)`` cores work and
``C - active`` idle:

* ``m``: a GEMM's rows (tokens, output pixels of a lowered op); a conv's ``in_channels`` in
  its weight-gradient pass (``m`` is ``in_channels x taps``), not its pixels (``rows``);
* ``n``: output columns (output channels; a conv's ``out_channels`` in its forward and
  weight-gradient passes, its ``in_channels`` in the backward-data pass, where ``n`` is
  ``in_channels``: ``simulator.lower``);
* ``groups``: a grouped problem's ``count`` (attention heads, depthwise channels);
* ``images``: a conv's batch (forward and backward-data passes);
* ``rows``: a conv's rows (forward: bands of output rows, each core fetching the input rows
  its band's taps touch, so the halo rows between two bands cross DRAM for both cores;
  backward-data: bands of dX rows, each core fetching the dY rows that reach its band). A
  band's sub-problem is the conv of one middle band (``_row_band``): no padding rows across
  the band, so an edge band is costed with a middle band's halo (at most ``kernel - 1``
  extra rows per core, an overestimate);
* ``m,n``: a 2-D grid of output blocks (GEMMs, a conv's weight gradient): ``m`` over ``R``
  rows of cores and ``n`` over ``C // R`` (``R`` a divisor of ``C`` or a power of two), each
  axis split as above, so a core fetches an ``m`` band of A and an ``n`` band of B (GPU
  thread-block tiles); ``rows,n``: the same grid of a conv's row bands and channels;
* ``none``: one core runs it all with the whole DRAM bandwidth (so ``C`` cores are never
  slower under ``latency`` than one).

Not modelled: splitting the reduction ``k`` (a cross-core sum of partial results), and so a
conv's weight-gradient pass over its pixels; a weight with a real mask splits over ``m``,
``images`` or ``rows`` only (its mask stays whole).

**Bandwidth.** Without a global buffer every active core gets ``1 / active`` of the DRAM
bandwidth and fetches its own operands: an operand every core needs (A when splitting over
``n``, B over ``m`` or ``images``) crosses the DRAM channel once per core. With a global
buffer the cores' transfers go through it (``through_global``): DRAM moves only what the whole
problem, tiled for the global buffer as one shared buffer (``global_view``), needs (at most
what the cores fetch), each core's stream carrying ``1 / active`` of those bytes on its
``1 / active`` of the channel; and each core's transfers occupy the global buffer's read and
write ports, shared by the active cores (``port bytes per cycle / active`` each).

**Time.** Cores run in lock step on equal shares; the layer takes what the largest share
takes. That core's tile stream, at its share of the bandwidth, is the schedule both engines
replay: the event engine runs ``C`` cores as that stream with ``1 / active`` of the channel
(a fair share of the shared DRAM, not a per-core contention simulation). Bytes and actions
sum over the active cores. Vector and pre-generation work runs on every core's vector unit
(or pre-generation unit) at once (``vector_spec``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
from sparsim.accel.spec import GLOBAL_BUFFER, AcceleratorSpec
from sparsim.simulator import tile
from sparsim.simulator.energy import ActionCounts
from sparsim.simulator.lower import ConvShape, Problem
from sparsim.simulator.objects import PerObject
from sparsim.simulator.results import Pass
from sparsim.simulator.schedule import TileSchedule

__all__ = [
    "SPLIT_AXES",
    "CoreUse",
    "Split",
    "core_spec",
    "global_view",
    "merge_counts",
    "merge_pairs",
    "splits",
    "through_global",
    "vector_spec",
]

SPLIT_AXES = ("m", "n", "groups", "images", "rows", "none")
"""The single axes work is split along (module docstring), in tie-breaking order; the 2-D
``m,n`` grids come before ``none``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreUse:
    """How one (layer, pass) used the cores: ``active`` of ``cores`` worked, split over
    ``axis``; ``shares``: per split axis, (share of each core, share of the last one);
    ``part_macs``: (MACs one core issued, how many cores issued that many)."""

    cores: int
    active: int
    axis: str
    shares: tuple[tuple[int, int], ...]
    part_macs: tuple[tuple[int, int], ...]

    def utilization(self, cycles: int, peak_macs_per_cycle: int) -> tuple[float, ...]:
        """Per core (idle ones 0): its issued MACs / (``cycles`` x one array's peak)."""
        if cycles <= 0:
            return (0.0,) * self.cores
        per = [macs for macs, times in self.part_macs for _ in range(times)]
        per += [0] * (self.cores - self.active)
        return tuple(macs / (cycles * peak_macs_per_cycle) for macs in per)

    def detail(self) -> dict[str, object]:
        """JSON-ready: the split and the cores it used (one split axis: ``share`` and
        ``last_share`` are numbers; ``m,n``: one per axis)."""
        share = [s for s, _ in self.shares]
        last = [r for _, r in self.shares]
        one = len(self.shares) == 1
        return {"cores": self.cores, "active": self.active, "axis": self.axis,
                "share": share[0] if one else share,
                "last_share": last[0] if one else last}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Split:
    """One way to split a problem over ``active`` of ``cores`` cores run on ``core_spec``:
    ``parts``: (the sub-problem a core runs, how many cores run it), largest first;
    ``shares``: per split axis, (share of each core, share of the last one)."""

    axis: str
    cores: int
    active: int
    parts: tuple[tuple[Problem, int], ...]
    shares: tuple[tuple[int, int], ...]
    core_spec: AcceleratorSpec

    def describe(self) -> str:
        """``m,n over 104/108 cores, share 1024 x 631 (last 1024 x 564)``."""
        if self.axis == "none":
            return f"one core of {self.cores}"
        share = " x ".join(str(s) for s, _ in self.shares)
        last = " x ".join(str(r) for _, r in self.shares)
        tail = "" if share == last else f" (last {last})"
        return f"{self.axis} over {self.active}/{self.cores} cores, share {share}{tail}"


def _core_view(spec: AcceleratorSpec, active: int) -> AcceleratorSpec:
    dram = replace(spec.dram, bandwidth_gb_per_s=spec.dram.bandwidth_gb_per_s / active)
    return replace(spec, compute=replace(spec.compute, cores=1), dram=dram, global_buffer=None)


def _vector_view(spec: AcceleratorSpec, cores: int) -> AcceleratorSpec:
    rate = spec.sparsity.pregen_elements_per_cycle * cores
    return replace(spec, compute=replace(spec.compute, cores=1), global_buffer=None,
                   vector=replace(spec.vector, lanes=spec.vector.lanes * cores),
                   sparsity=replace(spec.sparsity, pregen_elements_per_cycle=rate))  # fmt: skip


def _global_view(spec: AcceleratorSpec, _: int) -> AcceleratorSpec:
    gb = spec.global_buffer
    assert gb is not None  # global_view checks
    return replace(spec, compute=replace(spec.compute, cores=1), global_buffer=None,
                   buffers=(("shared", gb),))  # fmt: skip


_VIEWS = {"core": _core_view, "vector": _vector_view, "global": _global_view}

_views: PerObject[AcceleratorSpec, AcceleratorSpec] = PerObject(
    lambda spec, active, kind: _VIEWS[kind](spec, active), 256
)
"""One view object per (spec, active cores, kind) (``simulator.objects``), so the planner's
caches keyed by spec identity keep hitting."""


def core_spec(spec: AcceleratorSpec, active: int) -> AcceleratorSpec:
    """What one of ``active`` cores sees: one array, its buffers, ``1 / active`` of the DRAM
    bandwidth, no global buffer (``through_global`` adds it back)."""
    return _views(spec, active, "core")


def vector_spec(spec: AcceleratorSpec) -> AcceleratorSpec:
    """Element-wise work on all cores at once: their vector lanes and pre-generation units
    side by side, the whole DRAM bandwidth."""
    return _views(spec, spec.compute.cores, "vector")


def global_view(spec: AcceleratorSpec) -> AcceleratorSpec:
    """One array whose only buffer is the global buffer (a ``shared`` buffer): the tiling of
    the whole problem at the global-buffer level gives the DRAM bytes behind it."""
    if spec.global_buffer is None:
        raise ValueError(f"{spec.name}: no global_buffer")
    return _views(spec, 1, "global")


# --- splits ----------------------------------------------------------------------------------


def _extent(problem: Problem, axis: str) -> int:
    """The size of ``axis`` in ``problem``, 0 when it cannot be split (module docstring)."""
    c, masked = problem.conv, problem.b_pattern.mask is not None
    if axis == "m":
        if c is None:
            return problem.m
        return c.in_channels if problem.pass_ == Pass.BW_WEIGHT else 0
    if axis == "groups":
        return 0 if masked else problem.count
    if axis == "images":
        return c.batch if c is not None and problem.pass_ != Pass.BW_WEIGHT else 0
    if axis == "rows":
        if c is None or problem.pass_ == Pass.BW_WEIGHT:
            return 0
        return c.out_height if problem.pass_ == Pass.FW else c.height
    if axis == "n" and not masked:
        if c is None:
            return problem.n
        if problem.pass_ == Pass.BW_DATA:
            return c.in_channels if problem.n == c.in_channels else 0
        return c.out_channels if problem.n == c.out_channels else 0
    return 0


def _part(problem: Problem, axis: str, size: int) -> Problem:
    """``problem`` restricted to ``size`` of ``axis`` (one core's share)."""
    c = problem.conv
    if axis == "m":
        if c is None:
            return replace(problem, m=size)
        return replace(problem, m=size * c.taps, conv=replace(c, in_channels=size))
    if axis == "groups":
        return replace(problem, count=size)
    if c is None:
        return replace(problem, n=size)
    if axis == "images":
        return replace(problem, m=problem.m // c.batch * size, conv=replace(c, batch=size))
    if axis == "rows":
        return _row_band(problem, c, size)
    if problem.pass_ == Pass.BW_DATA:
        return replace(problem, n=size, conv=replace(c, in_channels=size))
    return replace(problem, n=size, conv=replace(c, out_channels=size))


def _row_band(problem: Problem, c: ConvShape, rows: int) -> Problem:
    """A middle band of ``rows`` rows of ``problem``'s conv as a conv of its own (module
    docstring, ``rows``). Forward: ``rows`` output rows read ``(rows - 1) x stride + (kernel
    - 1) x dilation + 1`` input rows, none of them padding. Backward-data: ``rows`` dX rows,
    reached by ``floor((rows - 1 + (kernel - 1) x dilation) / stride) + 1`` dY rows (the
    transposed conv, padded by ``(kernel - 1) x dilation`` so every reaching dY row is
    counted: ``simulator.tiling``); its GEMM ``m`` (dY pixels, ``simulator.lower``) is the
    band's share of the problem's, rounded up."""
    kh, sh, dh, pw = c.kernel[0], c.stride[0], c.dilation[0], c.padding[1]
    reach = (kh - 1) * dh
    if problem.pass_ == Pass.FW:
        band = replace(c, out_height=rows, height=(rows - 1) * sh + reach + 1, padding=(0, pw))
        return replace(problem, m=c.batch * rows * c.out_width, conv=band)
    band = replace(c, height=rows, out_height=(rows - 1 + reach) // sh + 1, padding=(reach, pw))
    return replace(problem, m=tile.ceil_div(problem.m * rows, c.height), conv=band)


def _bands(extent: int, cores: int) -> tuple[int, int, int]:
    """(share, active, last share) of ``extent`` over ``cores``: ``ceil(extent / cores)``
    each, so ``ceil(extent / share)`` cores work, the last on what is left."""
    share = tile.ceil_div(extent, cores)
    active = tile.ceil_div(extent, share)
    return share, active, extent - (active - 1) * share


def _parts(pairs: list[tuple[Problem, int]]) -> tuple[tuple[Problem, int], ...]:
    """``pairs`` with equal sub-problems merged (first occurrence order), empty ones dropped."""
    out: dict[Problem, int] = {}
    for problem, times in pairs:
        if times > 0:
            out[problem] = out.get(problem, 0) + times
    return tuple(out.items())


def _split(problem: Problem, spec: AcceleratorSpec, axis: str) -> Split | None:
    cores = spec.compute.cores
    if axis == "none":
        return Split(axis=axis, cores=cores, active=1, parts=((problem, 1),),
                     shares=((1, 1),), core_spec=core_spec(spec, 1))  # fmt: skip
    extent = _extent(problem, axis)
    if extent < 2:
        return None
    share, active, rest = _bands(extent, cores)
    first = _part(problem, axis, share)
    parts = _parts([(first, active - 1), (_part(problem, axis, rest), 1)])
    return Split(axis=axis, cores=cores, active=active, parts=parts, shares=((share, rest),),
                 core_spec=core_spec(spec, active))  # fmt: skip


def _grid(problem: Problem, spec: AcceleratorSpec, rows: int) -> Split | None:
    """``m`` (a conv's ``rows`` where it has them) over ``rows`` groups of cores and ``n``
    over ``cores // rows`` in each: a 2-D grid of output blocks, each core fetching an ``m``
    band of A and an ``n`` band of B."""
    cols = spec.compute.cores // rows
    lead = "rows" if _extent(problem, "rows") else "m"
    m_extent, n_extent = _extent(problem, lead), _extent(problem, "n")
    if min(m_extent, n_extent) < 2 or cols < 2:
        return None
    (sm, am, rm), (sn, an, rn) = _bands(m_extent, rows), _bands(n_extent, cols)
    if am < 2 or an < 2:
        return None

    def block(m: int, n: int) -> Problem:
        return _part(_part(problem, lead, m), "n", n)

    parts = _parts([(block(sm, sn), (am - 1) * (an - 1)), (block(sm, rn), am - 1),
                    (block(rm, sn), an - 1), (block(rm, rn), 1)])  # fmt: skip
    return Split(axis=f"{lead},n", cores=spec.compute.cores, active=am * an, parts=parts,
                 shares=((sm, rm), (sn, rn)), core_spec=core_spec(spec, am * an))  # fmt: skip


def _grid_rows(cores: int) -> list[int]:
    """Row counts of the 2-D grids tried: the divisors of ``cores`` and the powers of two,
    from 2 to ``cores // 2``."""
    powers = {2**i for i in range(1, cores.bit_length())}
    return sorted(r for r in {*powers, *(d for d in range(2, cores) if cores % d == 0)}
                  if 2 <= r <= cores // 2)  # fmt: skip


def splits(problem: Problem, spec: AcceleratorSpec) -> list[Split]:
    """Every split of a matrix ``problem`` over ``spec``'s cores: one axis in ``SPLIT_AXES``
    order, then the 2-D ``m,n`` (or ``rows,n``) grids (``_grid_rows``), ``none`` last."""
    one = [_split(problem, spec, axis) for axis in SPLIT_AXES]
    grids = [_grid(problem, spec, rows) for rows in _grid_rows(spec.compute.cores)]
    seen: set[tuple[str, tuple[tuple[int, int], ...]]] = set()
    out = []
    for split in (*one[:-1], *grids, one[-1]):  # grids of different row counts can coincide
        if split is not None and (split.axis, split.shares) not in seen:
            seen.add((split.axis, split.shares))
            out.append(split)
    return out


# --- merging the cores ----------------------------------------------------------------------


def merge_pairs(parts: Iterable[tuple[tuple[tuple[str, int], ...], int]]) -> tuple:
    """Keyed byte counts (``(key, bytes)`` pairs) of each part times its number of cores,
    summed per key in order of first appearance."""
    total: dict[str, int] = {}
    for pairs, times in parts:
        for key, value in pairs:
            total[key] = total.get(key, 0) + value * times
    return tuple(total.items())


def merge_counts(parts: Iterable[tuple[ActionCounts, int]]) -> ActionCounts:
    """Action counts of each part times its number of cores, summed."""
    parts = list(parts)
    first = parts[0][0]
    return ActionCounts(
        macs=sum(c.macs * t for c, t in parts), mac_precision=first.mac_precision,
        rf_bytes=sum(c.rf_bytes * t for c, t in parts),
        sram_read_bytes=merge_pairs((c.sram_read_bytes, t) for c, t in parts),
        sram_write_bytes=merge_pairs((c.sram_write_bytes, t) for c, t in parts),
        dram_bytes=sum(c.dram_bytes * t for c, t in parts),
        metadata_indices=sum(c.metadata_indices * t for c, t in parts),
        mux_selects=sum(c.mux_selects * t for c, t in parts),
        vector_flops=sum(c.vector_flops * t for c, t in parts),
        pregen_elements=sum(c.pregen_elements * t for c, t in parts),
    )  # fmt: skip


def _scaled(nbytes: np.ndarray, ratio: float) -> np.ndarray:
    return np.rint(nbytes * ratio).astype(np.int64)


def through_global(
    schedule: TileSchedule,
    levels: tuple[tuple[str, int], ...],
    counts: ActionCounts,
    fetched: tuple[int, int],
    unique: tuple[int, int],
    spec: AcceleratorSpec,
    active: int,
) -> tuple[TileSchedule, tuple[tuple[str, int], ...], ActionCounts]:
    """The merged cores behind a global buffer (module docstring). ``schedule``: the largest
    share's; ``levels``, ``counts``: summed over the cores; ``fetched``: (load, store) bytes
    the cores move at their DRAM level, summed; ``unique``: (load, store) DRAM bytes of the
    whole problem tiled for the global buffer. The cores' bytes become ``global.*`` levels
    and global-buffer accesses; DRAM keeps ``min(unique, fetched)`` per direction."""
    gb = spec.global_buffer
    if gb is None:
        raise ValueError(f"{spec.name}: no global_buffer")
    core_load, core_store = fetched
    load, store = min(unique[0], core_load), min(unique[1], core_store)
    ports = (
        *schedule.port_cycles,
        (f"{GLOBAL_BUFFER} buffer read port",
         tile.ceil_div(schedule.load_bytes * active, gb.read_bytes_per_cycle)),
        (f"{GLOBAL_BUFFER} buffer write port",
         tile.ceil_div(schedule.store_bytes * active, gb.write_bytes_per_cycle)),
    )  # fmt: skip
    moved = replace(
        schedule, port_cycles=ports,
        load_bytes=_scaled(schedule.load_bytes, load / core_load if core_load else 0.0),
        store_bytes=_scaled(schedule.store_bytes, store / core_store if core_store else 0.0),
    )  # fmt: skip
    renamed = tuple((f"global.{k[5:]}" if k.startswith("dram.") else k, v) for k, v in levels)
    new_levels = (*renamed, ("dram.read", load), ("dram.write", store))
    new_counts = replace(
        counts, dram_bytes=load + store,
        sram_read_bytes=(*counts.sram_read_bytes, (GLOBAL_BUFFER, core_load + store)),
        sram_write_bytes=(*counts.sram_write_bytes, (GLOBAL_BUFFER, load + core_store)),
    )  # fmt: skip
    return moved, new_levels, new_counts
