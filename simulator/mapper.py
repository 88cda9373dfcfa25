"""The mapper: per (layer, pass), search the mappings the hardware allows and keep the best.

**The space.** A mapping is an *array orientation* (``Orientation``: which GEMM dim sits on the
array rows, which on its columns, which streams in time) and a *buffer tiling*
(``simulator.tiling.Tiling``: tile sizes along the nest axes ``m``, ``n``, ``k`` and one of the
six loop orders). Orientations a spec allows (``accel.spec.ComputeSpec``):

* the spec's ``dataflow`` (``os``: rows ``n``, columns ``m``, ``k`` in time; ``ws``: rows
  ``k``, columns ``n``, ``m`` in time; ``is``: rows ``k``, columns ``m``, ``n`` in time);
* ``matrix-vector`` when ``compute.matrix_vector``, for skinny GEMMs (``m`` below the array's
  rows; with more tokens it costs what ``ws`` does): rows ``k``, columns ``n``, tokens ``m``
  stream, every PE taking a new weight each cycle, so a block of ``rows x cols`` weights costs
  ``m`` cycles instead of a ``rows``-cycle stationary load (``ws``'s ``max(m, rows)``); the
  first block pays one load cycle and the skew ``rows - 1 + cols - 1``. Its traffic is ``ws``'s
  (B read once, A re-read per column fold, partial sums per row fold of ``k``);
* for a grouped conv (``count`` groups, e.g. depthwise) when ``compute.depthwise`` is
  ``channels``: ``P = min(count, side // n)`` groups side by side along the array side holding
  ``n`` (rows for ``os``, columns for ``ws``), each with its own input feed: compute as the
  problem with ``n * P`` channels and ``ceil(count / P)`` groups; traffic as the groups one by
  one (the same bytes, delivered at the higher rate the ports then have to sustain);
  ``vector``: on the vector unit, ``ceil(MACs / lanes)`` cycles.

Tile sizes per axis: the extent halved repeatedly (rounded up) and the powers of two below it
(image counts likewise for a conv's batch); tiles must fit their buffer share (halved when
double-buffered), as in ``simulator.tiling``.

**The estimate** (vectorised over every (order, m, n, k) candidate of one orientation with
numpy; one orientation's compute cycles ``C``, ``count`` groups): per group, DRAM bytes ``D``
by the reuse rule of ``simulator.tiling`` (an operand is fetched again on every trip of its
irrelevant axis unless the loops inside that axis have one trip or the whole operand fits its
buffer; partial sums spill at accumulator width, 2 x (k trips - 1) times, unless ``k`` is
innermost of C's loops or C fits), the array feed from the buffers (A: ``m x k`` elements per
pass over ``n``; B: its stored bytes per pass over ``m``), the DRAM fills and the partial
sums written to the output buffer (per ``k`` tile, or per array fold of ``k``, as in
``simulator.tiling``'s chooser); then::

    latency = max(C, count * D / DRAM bytes per cycle,
                  count * feed, fill or partial-sum bytes / that port's bytes per cycle)
    energy  = count * (D * DRAM pJ/B + feed * read pJ/B + fills * write pJ/B)
              + static pJ per cycle * latency
    edp     = energy * latency

On an orientation folding ``k`` (``ws``, ``is``, ``matrix-vector``) ``C`` depends on the
candidate's ``k`` tile: each tile that is not a whole number of folds adds a partial fold
(``tiled_compute``).

The objective (``latency`` by default, ``energy``, ``edp``) picks the best estimate. Ties:
the fewest folds, the fewest DRAM bytes, the fewest bytes between the buffers and the array;
then **the exposed fill and drain**: the estimate is the overlapped steady state, but a tile's
first fill and last drain are exposed (``simulator.perf``), so a whole operand as one tile
loads before any compute starts and a bigger buffer would make a layer slower. Among the ties
the fewest tiles whose first fill (A's and B's first tiles) and last drain (C's largest tile)
carry at most ``EXPOSED_SHARE`` (1%) of the layer's DRAM bytes (so take at most that share
of its DRAM time, whatever the DRAM); if none, the least exposed; then the first orientation
and the first order in ``tiling.ORDERS``.
**The choice is exact**: ``simulator.plan`` times the fixed mapping (the
spec's dataflow with ``tiling.choose_tiling``) and the best estimate with the full per-tile
model and keeps the better by the objective, so a search is never worse than ``fixed``.

Deterministic; cached per (problem shape, residency, objective) and the spec fields that
matter (compute, buffers, DRAM, precision, sparsity, vector unit, energy table: not its name).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from sparsim.accel.spec import AcceleratorSpec, Dataflow, Operand
from sparsim.simulator import tile
from sparsim.simulator.energy import sram_prices, static_energy_pj
from sparsim.simulator.lower import Problem
from sparsim.simulator.mapping import (
    LAYOUT_CACHE_SPECS,
    Mapping,
    SpecStores,
    fold_cycles,
    layout_key,
    map_problem,
    processed_share,
)
from sparsim.simulator.objects import PerObject
from sparsim.simulator.tiling import (
    ORDERS,
    AxisTable,
    NestView,
    Tiling,
    TilingOptions,
    axis_table,
    b_table_of,
    candidate_dram,
    first_min,
    fit_bytes,
    fitting_candidates,
    frozen_grids,
    kept_ratio,
    memo,
    nest_view,
    order_factors,
    pick_tiling,
    psum_passes,
    tied_min,
    tiling_at,
    tiling_options,
)

__all__ = [
    "FIXED",
    "MAPPER_MODES",
    "OBJECTIVES",
    "SEARCH",
    "Candidate",
    "MapperOptions",
    "Orientation",
    "candidate_compute",
    "fixed_candidate",
    "loop_nest",
    "mapping_detail",
    "orientations",
    "search",
    "tiled_compute",
]

OBJECTIVES = ("latency", "energy", "edp")
MAPPER_MODES = ("search", "fixed")


@dataclass(frozen=True, slots=True, kw_only=True)
class MapperOptions:
    """``mode``: ``search`` (module docstring) or ``fixed`` (the spec's dataflow and
    ``tiling.choose_tiling``); ``objective``: one of ``OBJECTIVES``."""

    mode: str = "search"
    objective: str = "latency"

    def __post_init__(self) -> None:
        if self.mode not in MAPPER_MODES:
            raise ValueError(f"mapper must be one of {', '.join(MAPPER_MODES)}, not {self.mode!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"objective must be one of {', '.join(OBJECTIVES)}, not {self.objective!r}"
            )


FIXED = MapperOptions(mode="fixed")
SEARCH = MapperOptions()


@dataclass(frozen=True, slots=True, kw_only=True)
class Orientation:
    """Where the GEMM dims sit: ``rows``/``cols`` of the array, ``time`` streamed; ``name``
    the dataflow or mode (module docstring); ``groups``: groups side by side."""

    name: str
    rows: str
    cols: str
    time: str
    groups: int = 1

    def describe(self) -> str:
        packed = f", {self.groups} groups side by side" if self.groups > 1 else ""
        return f"{self.name} rows={self.rows} cols={self.cols} time={self.time}{packed}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One mapping: orientation, the ``Mapping`` its traffic follows, compute cycles per tile
    (their sum is what counts), the buffer tiling and its objective estimate."""

    orientation: Orientation
    mapping: Mapping
    cycles: np.ndarray
    tiling: Tiling
    estimate: float = math.inf


_Oriented = tuple[Orientation, Mapping, np.ndarray]
"""An orientation, the ``Mapping`` its traffic follows, its compute cycles per tile."""

_ws_variants: PerObject[AcceleratorSpec, AcceleratorSpec] = PerObject(
    lambda spec: replace(spec, compute=replace(spec.compute, dataflow=Dataflow.WS)), 8
)


def _ws_spec(spec: AcceleratorSpec) -> AcceleratorSpec:
    """``spec`` running ``ws`` (one object per spec, so ``map_problem``'s cache holds)."""
    return spec if spec.compute.dataflow == Dataflow.WS else _ws_variants(spec)


def _native(problem: Problem, spec: AcceleratorSpec) -> _Oriented:
    mp, cycles = map_problem(problem, spec)
    return _native_orientation(mp.dataflow, mp.row_dim, mp.col_dim, mp.stream_dim), mp, cycles


@functools.lru_cache(maxsize=64)
def _native_orientation(name: str, rows: str, cols: str, time: str) -> Orientation:
    """The native ``Orientation`` of a dataflow's dims, one object each (frozen: shared)."""
    return Orientation(name=name, rows=rows, cols=cols, time=time)


def _matrix_vector(problem: Problem, spec: AcceleratorSpec) -> _Oriented:
    """``ws`` traffic, each weight block costing its stream (module docstring)."""
    mp, ws_cycles = map_problem(problem, _ws_spec(spec))
    stream = mp.m_eff
    cycles = np.full(len(ws_cycles), stream, dtype=np.int64)
    if cycles.size:
        cycles[0] = 1 + stream + (mp.rows - 1) + (mp.cols - 1)
    return Orientation(name="matrix-vector", rows="k", cols="n", time="m"), mp, cycles


def _grouped(
    problem: Problem, spec: AcceleratorSpec, native: _Oriented
) -> list[_Oriented]:
    """Grouped-conv orientations the spec declares (module docstring)."""
    mode, (orient, mp, _) = spec.compute.depthwise, native
    if problem.conv is None or problem.count < 2 or mode == "serial":
        return []
    if mode == "vector":
        cycles = np.array([tile.ceil_div(mp.issued_macs, spec.vector.lanes)], dtype=np.int64)
        return [(Orientation(name="vector unit", rows="-", cols="lanes", time="m,n,k"), mp, cycles)]
    side = {"os": mp.rows, "ws": mp.cols}.get(mp.dataflow, 0)
    groups = min(problem.count, side // max(1, problem.n))
    if groups < 2:
        return []
    packed = replace(problem, n=problem.n * groups, count=-(-problem.count // groups))
    _, cycles = map_problem(packed, spec)
    return [(replace(orient, groups=groups), mp, cycles)]


def orientations(problem: Problem, spec: AcceleratorSpec) -> list[_Oriented]:
    """Every orientation ``spec`` allows for ``problem``, the native one first."""
    native = _native(problem, spec)
    out = [native, *_grouped(problem, spec, native)]
    if spec.compute.matrix_vector and problem.conv is None and problem.m < spec.compute.rows:
        out.append(_matrix_vector(problem, spec))
    return out


_FOLDING = ("ws", "is", "matrix-vector")
"""Orientations whose array rows fold ``k`` (``mapping.fold_cycles``)."""


def _folds_k(orient: Orientation) -> bool:
    """Whether ``orient``'s compute depends on how the buffer tiling cuts ``k`` (not groups
    side by side: their K is a kernel's taps)."""
    return orient.name in _FOLDING and orient.groups == 1


def _later_fold_cycles(orient: Orientation, mp: Mapping, cycles: np.ndarray, problem: Problem,
                       spec: AcceleratorSpec) -> int:  # fmt: skip
    """What one more fold after the first costs in ``orient``: its last fold's cycles, or with
    one fold the array's closed form for a second (``tile.tile_costs``; ``matrix-vector``:
    its stream, ``m``)."""
    if cycles.size >= 2:
        return int(cycles[-1])
    if orient.name == "matrix-vector":
        return mp.m_eff
    stream = mp.m_eff if mp.dataflow == "ws" else problem.n
    pair = np.full(2, stream, dtype=np.int64)
    return int(tile.tile_costs(mp.dataflow, mp.rows, mp.cols, pair,
                               fold_overlap=spec.compute.fold_overlap)[1])  # fmt: skip


def tiled_compute(orient: Orientation, mp: Mapping, cycles: np.ndarray, problem: Problem,
                  spec: AcceleratorSpec, g_k: np.ndarray) -> int:  # fmt: skip
    """Compute cycles of an orientation whose buffer tiling cuts ``k`` into tiles of ``g_k``
    GEMM positions: ``cycles`` plus a partial fold per k tile that is not a whole number of
    folds (``mapping.fold_cycles``); ``cycles`` alone when the orientation does not fold
    ``k`` or ``k`` is one tile."""
    if not _folds_k(orient) or len(g_k) < 2:
        return int(cycles.sum())
    later = _later_fold_cycles(orient, mp, cycles, problem, spec)
    return fold_cycles(mp, problem.k, g_k, cycles, later)


def candidate_compute(cand: Candidate, problem: Problem, view: NestView,
                      spec: AcceleratorSpec) -> int:  # fmt: skip
    """``cand``'s compute cycles under its own buffer tiling (``tiled_compute``); its
    mapping's cycles, with no lookup of the tiling's ``k`` tiles, when it does not fold
    ``k``."""
    if not _folds_k(cand.orientation):
        return int(cand.cycles.sum())
    g_k = view.axis("k", cand.tiling.k, cand.tiling.images).g
    return tiled_compute(cand.orientation, cand.mapping, cand.cycles, problem, spec, g_k)


def _k_compute(orient: Orientation, mp: Mapping, cycles: np.ndarray, problem: Problem,
               spec: AcceleratorSpec) -> Callable[[AxisTable], np.ndarray] | None:  # fmt: skip
    """Per ``k`` candidate of a table, ``tiled_compute`` per group (what the chooser and the
    search weigh against their per-group memory bounds); ``None`` when it is ``cycles`` for
    every candidate."""
    if not _folds_k(orient):
        return None
    count = problem.count

    def per_k(ck: AxisTable) -> np.ndarray:
        def make() -> np.ndarray:
            out = np.array([tiled_compute(orient, mp, cycles, problem, spec, g) / count
                            for g in ck.g])  # fmt: skip
            out.flags.writeable = False
            return out

        # once per table and mapping (both shared across designs: a sweep meets them again)
        key = (orient, problem.k, problem.n, count, spec.compute.fold_overlap)
        return memo((ck, mp, cycles), "k_compute", key, make)

    return per_k


def fixed_candidate(
    problem: Problem, spec: AcceleratorSpec, residency: tuple[bool, bool] = (False, False)
) -> Candidate:
    """Today's heuristic: the spec's dataflow and ``tiling.choose_tiling``."""
    orient, mp, cycles = _native(problem, spec)
    shape = _problem_key(problem)
    store, key = _options.of(spec), (shape, residency)
    options = store.get(key) if shape is not None else None
    if options is None:
        per_k = _k_compute(orient, mp, cycles, problem, spec)
        options = tiling_options(nest_view(problem), mp, spec, input_on_chip=residency[0],
                                 output_on_chip=residency[1], k_compute=per_k)  # fmt: skip
        if shape is not None:
            if len(store) >= CACHE_SIZE:
                store.clear()
            store[key] = options
    tiling = pick_tiling(options, spec.dram.bytes_per_cycle(spec.compute.freq_mhz))
    return Candidate(orientation=orient, mapping=mp, cycles=cycles, tiling=tiling)


def mapping_detail(
    orientation: Orientation | None, tiling: Tiling | None
) -> tuple[tuple[str, object], ...]:
    """A mapping as JSON-ready fields: orientation, the buffer level's tile sizes and loop
    order, cores used (one array)."""
    if orientation is None or tiling is None:
        return ()
    return (
        ("orientation", {"name": orientation.name, "rows": orientation.rows,
                         "cols": orientation.cols, "time": orientation.time,
                         "groups_side_by_side": orientation.groups}),
        ("levels", [{"level": "buffers", "tile": {"m": tiling.m, "n": tiling.n, "k": tiling.k,
                                                  "images": tiling.images},
                     "order": tiling.order, "fits": tiling.fits}]),
        ("cores", 1),
    )  # fmt: skip


def loop_nest(cand: Candidate, problem: Problem) -> str:
    """``cand`` as a Timeloop-style loop nest: the DRAM-level loops over buffer tiles in
    loop order (outer first), then the array's spatial and temporal dims."""
    view, t, o = nest_view(problem), cand.tiling, cand.orientation
    extent = {"m": view.m_extent, "n": view.n_extent, "k": view.k_extent}
    size = {"m": t.m, "n": t.n, "k": t.k}
    lines = [f"DRAM -> buffers, loop order {t.order} (outer to inner)"]
    if problem.count > 1:
        lines.append(f"for g in [0:{problem.count})            groups, one after another")
    if view.images > 1:
        lines.append(f"for b in [0:{-(-view.images // t.images)})            "
                     f"{t.images} image(s) per tile")  # fmt: skip
    for depth, axis in enumerate(t.order):
        unit = f" {view.m_unit}" if axis == "m" and view.m_unit else ""
        lines.append("  " * depth + f"for {axis}1 in [0:{-(-extent[axis] // size[axis])})"
                     f"    tile {axis}={size[axis]}{unit}")  # fmt: skip
    pad = "  " * 3
    lines.append(f"{pad}buffers -> array: {o.describe()}")
    lines.append(f"{pad}  spatial: rows <- {o.rows}, cols <- {o.cols}; temporal: {o.time}")
    return "\n".join(lines)


# --- the vectorised tiling search ----------------------------------------------------------


def _sizes(extent: int) -> list[int]:
    """Tile sizes of an axis: ``extent`` halved (rounded up) down to 1, and the powers of two
    below ``extent``; largest first."""
    out, size = {extent}, extent
    while size > 1:
        size = -(-size // 2)
        out.add(size)
    out.update(2**j for j in range(max(1, extent).bit_length()) if 2**j < extent)
    return sorted(out, reverse=True)


def _axis(view: NestView, name: str) -> AxisTable:
    extent = {"m": view.m_extent, "n": view.n_extent, "k": view.k_extent}[name]
    return axis_table(view, name, _sizes(extent), _sizes(view.images))


_axis_cache: dict[Problem, tuple[AxisTable, AxisTable, AxisTable]] = {}


def _axes(view: NestView, shape: Problem | None) -> tuple[AxisTable, AxisTable, AxisTable]:
    """The three axes' candidate tables, cached per problem shape (they do not depend on the
    spec, so a design sweep builds them once)."""
    hit = _axis_cache.get(shape) if shape is not None else None
    if hit is None:
        hit = (_axis(view, "m"), _axis(view, "n"), _axis(view, "k"))
        if shape is not None:
            if len(_axis_cache) >= CACHE_SIZE:
                _axis_cache.clear()
            _axis_cache[shape] = hit
    return hit


_fit = fit_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class _Moves:
    """The part of a search grid that the DRAM does not change, for the fitting (order, m,
    n, k) candidates only (``at``: their flat indices into ``shape``, ascending): DRAM bytes
    and busiest-port cycles per group, DRAM fills of A and B, array feeds, tile counts.
    Shared by designs differing only in DRAM."""

    shape: tuple[int, ...]
    at: np.ndarray
    dram: np.ndarray
    port: np.ndarray
    fills: np.ndarray
    a_feed: np.ndarray
    b_feed: np.ndarray
    moved: np.ndarray  # grid (broadcasting to ``shape``): ``at_grid``
    tiles: np.ndarray
    exposed: np.ndarray  # grid (broadcasting to ``shape``): ``at_grid``
    compute: int | np.ndarray
    reach: np.ndarray
    floor: int

    def at_grid(self, grid: np.ndarray, picks: np.ndarray) -> np.ndarray:
        """``grid`` (broadcasting to ``shape``) at fitting candidates ``picks``: read for the
        few tied candidates only, not gathered for all."""
        return np.broadcast_to(grid, self.shape)[np.unravel_index(self.at[picks], self.shape)]

    def compute_at(self, pick: int) -> float:
        """The compute cycles of fitting candidate ``pick``."""
        return float(self.compute if isinstance(self.compute, int) else self.compute[pick])


def _moves(
    view: NestView,
    mp: Mapping,
    spec: AcceleratorSpec,
    residency: tuple[bool, bool],
    axes: tuple[AxisTable, AxisTable, AxisTable],
    compute: int,
    k_compute: Callable[[AxisTable], np.ndarray] | None = None,
) -> _Moves:
    """``_Moves`` of one orientation taking ``compute`` cycles (``k_compute``: per group and
    ``k`` candidate when the tiling of ``k`` changes them, ``_k_compute``); ``exposed``: the
    bytes of each candidate's first fill and last drain (``_least_exposed``); ``reach``: the
    candidates taking the least compute whose ports keep up with it, ``floor`` the first of
    them by DRAM bytes (-1: none; ``_at_floor``)."""
    pr = spec.precision
    in_b, out_b, w_b = (pr.bytes_of(o) for o in (Operand.INPUT, Operand.OUTPUT, Operand.WEIGHT))
    acc_b = pr.accumulator_bytes
    g = _static_grids(axes, mp, in_b, out_b, w_b, acc_b, view.problem.k)
    fits = ((g.a_max <= _fit(spec, Operand.INPUT)) & (g.b_max <= _fit(spec, Operand.WEIGHT))
            & (g.c_max_held <= _fit(spec, Operand.OUTPUT)))  # fmt: skip
    a, b, dram = candidate_dram(g, spec, *residency)
    port = _port_cycles(spec, g.a_feed, g.b_feed, a, b, _names(spec))
    port = np.maximum(port, g.psums / spec.buffer_for(Operand.OUTPUT).write_bytes_per_cycle)
    tiles = g.tiles if _by_order(a, b, dram) else g.tiles[:1]
    shape = tiles.shape
    first_fill = g.b_max if residency[0] else g.a_max + g.b_max  # a resident A is on chip
    last_drain = 0.0 if residency[1] else g.c_final_max
    at, dram, port, fills, a_feed, b_feed, tiles = fitting_candidates(
        fits, shape, dram, port, a + b, g.a_feed, g.b_feed, tiles)
    count = view.problem.count
    reach = count * port <= compute
    per_k = None
    if k_compute is not None and at.size:  # the floor: the fewest folds, ports keeping up
        per_k = fitting_candidates(fits, shape, k_compute(axes[2]) * count)[1]
        reach = (count * port <= per_k) & (per_k <= per_k.min())
    keeps_up = np.flatnonzero(reach)
    floor = int(keeps_up[first_min(dram[keeps_up])]) if keeps_up.size else -1
    return _Moves(shape=shape, at=at, dram=dram, port=port, fills=fills, a_feed=a_feed,
                  b_feed=b_feed, moved=g.moved, tiles=tiles, exposed=first_fill + last_drain,
                  compute=compute if per_k is None else per_k, reach=keeps_up,
                  floor=floor)  # fmt: skip


def _by_order(*grids: np.ndarray | float) -> bool:
    """Whether any of ``grids`` (``candidate_dram``'s) changes with the loop order (axis 0 of
    the (order, m, n, k) candidates). When none does (every operand resident: most layers)
    the orders are equal candidates and the first order's are the only ones kept: the pick
    is the same (ties go to the first order), for a sixth of the work."""
    return any(np.ndim(x) == 4 and np.shape(x)[0] > 1 for x in grids)


def _at_floor(view: NestView, spec: AcceleratorSpec, objective: str, mv: _Moves) -> int | None:
    """The latency objective's pick without pricing every candidate, when one reaches the
    floor: no candidate is faster than the least ``compute`` (the fewest folds), those
    reaching it are the ones taking it whose ports keep up (``floor`` is the first of them by
    DRAM bytes) and whose DRAM time ``count * dram / bw`` keeps up too (a
    prefix of that order, DRAM time growing with bytes), so when ``floor``'s own DRAM keeps up
    the pick is ``_least_exposed`` of the candidates reaching it with its DRAM bytes; ``None``
    otherwise."""
    if objective != "latency" or mv.floor < 0:
        return None
    bw = spec.dram.bytes_per_cycle(spec.compute.freq_mhz)
    latency = mv.compute_at(mv.floor)
    if view.problem.count * mv.dram[mv.floor] / bw > latency:
        return None
    tied = mv.reach[mv.dram[mv.reach] == mv.dram[mv.floor]]
    return _least_exposed(tied, mv, view.problem.count)


EXPOSED_SHARE = 0.01
"""The share of a layer's DRAM bytes its first fill and last drain may carry before the
search prefers more tiles among equal estimates (``_least_exposed``)."""


def _least_exposed(tied: np.ndarray, mv: _Moves, count: int) -> int:
    """Of ``tied`` candidates (the same estimate and DRAM bytes) with the fewest bytes between
    the buffers and the array (feeds, partial sums), the fewest tiles whose first fill and
    last drain, exposed around the overlapped tiles (``simulator.perf``), carry at most
    ``EXPOSED_SHARE`` of the DRAM bytes of all ``count`` groups (so at most that share of the
    DRAM time: the pick does not depend on the DRAM, and designs differing only in it share
    their plans); if none, the least exposed. Bigger tiles feed the array less often, but a
    whole operand as one tile is loaded before any compute starts: without this a bigger
    buffer made the same layer slower."""
    moved = mv.at_grid(mv.moved, tied)
    tied = tied[moved == moved.min()]  # no more buffer traffic than the least
    exposed = mv.at_grid(mv.exposed, tied)
    short = tied[exposed <= EXPOSED_SHARE * count * mv.dram[tied]]
    if short.size:
        return int(short[first_min(mv.tiles[short])])
    return int(tied[first_min(exposed, mv.tiles[tied])])


def _names(spec: AcceleratorSpec) -> dict[Operand, str]:
    """The buffer holding A and B (``shared`` when one buffer serves every operand)."""
    shared = spec.shared_buffer
    return {o: "shared" if shared else o.value for o in (Operand.INPUT, Operand.WEIGHT)}


def _costs(view: NestView, spec: AcceleratorSpec, objective: str, mv: _Moves) -> np.ndarray:
    """The objective's estimate of every fitting candidate of ``mv`` on ``spec``'s DRAM."""
    compute = mv.compute
    bw = spec.dram.bytes_per_cycle(spec.compute.freq_mhz)
    count = view.problem.count
    latency = np.maximum(np.maximum(compute, count * mv.dram / bw), count * mv.port)
    return _objective(objective, latency, mv.dram, mv.a_feed, mv.b_feed, mv.fills, spec,
                      sram_prices(spec), _names(spec), count)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class _Static:
    """The parts of a search grid (``_moves``) that depend only on the axes tables, the
    orientation's array and B's storage and the element bytes, not on buffers, DRAM or
    energy: made once and shared across designs (``_static_grids``), read-only. Shapes
    broadcast to (m, n, k), or (orders, m, n, k) for ``factors``, ``k_once`` and ``tiles``."""

    a_sum: np.ndarray
    a_max: np.ndarray
    b_sum: np.ndarray
    b_max: np.ndarray
    c_acc: np.ndarray  # C's tile bytes at accumulator width (residency test)
    c_max_held: np.ndarray  # C's largest tile as held (accumulator width while partial)
    c_acc_bytes: np.ndarray  # C's tile bytes at accumulator width, whole bytes (spills)
    c_final_max: np.ndarray  # C's largest tile at output width (a last drain)
    final: np.ndarray
    psums: np.ndarray  # partial sums written to the output buffer (per k pass or fold)
    moved: np.ndarray  # bytes between the buffers and the array: feeds and partial sums
    a_feed: np.ndarray
    b_feed: np.ndarray
    factors: dict[str, np.ndarray]
    k_once: np.ndarray
    k_spills: np.ndarray
    tiles: np.ndarray


def _static_grids(axes: tuple[AxisTable, AxisTable, AxisTable], mp: Mapping, in_b: float,
                  out_b: float, w_b: float, acc_b: float, k: int) -> _Static:  # fmt: skip
    """``_Static`` of one orientation on ``axes`` (``k``: the problem's), once per tables and
    what it reads."""
    flow, rows, cols = mp.dataflow, mp.rows, mp.cols
    ratio, share = kept_ratio(mp), processed_share(mp, k)

    def make() -> _Static:
        cm, cn, ck = axes
        b_tab = b_table_of(mp.exploit, ratio, ck, cn, w_b)  # B's storage: shared
        b_sum, b_max = (x.T[None, :, :] for x in b_tab)  # (1, n, k)
        c_sum = cm.fc_sum[:, None, None] * cn.fc_sum[None, :, None]
        c_max = cm.fc_max[:, None, None] * cn.fc_max[None, :, None]
        trips = {"m": cm.trips[:, None, None], "n": cn.trips[None, :, None],
                 "k": ck.trips[None, None, :]}  # fmt: skip
        c_width = np.where((trips["k"] > 1) | (flow != "os"), acc_b, out_b)
        # array feeds (per group): A per pass over n, B per pass over m (simulator.tiling)
        side_n = {"os": rows, "ws": cols}.get(flow, 0)
        a_pass = cn.passes(side_n) if side_n else cn.trips.astype(np.float64)
        b_pass = cm.trips.astype(np.float64) if flow == "ws" else cm.passes(cols)
        factors = order_factors(*axes)
        shape = (len(ORDERS), len(cm.trips), len(cn.trips), len(ck.trips))
        a_feed = in_b * (cm.g_sum[:, None, None] * ck.g_sum[None, None, :]) * a_pass[None, :, None]
        b_feed = b_sum * b_pass[:, None, None]
        psums = c_sum * acc_b * psum_passes(ck, mp, share)[None, None, :]
        out = _Static(
            a_sum=np.ceil(cm.fa_sum[:, None, None] * ck.fa_sum[None, None, :] * in_b - 1e-9),
            a_max=cm.fa_max[:, None, None] * ck.fa_max[None, None, :] * in_b,
            b_sum=b_sum, b_max=b_max, c_acc=c_sum * acc_b, c_max_held=c_max * c_width,
            c_acc_bytes=np.ceil(c_sum * acc_b - 1e-9), final=np.ceil(c_sum * out_b - 1e-9),
            c_final_max=np.ceil(c_max * out_b - 1e-9),
            psums=psums, moved=a_feed + b_feed + psums,
            a_feed=a_feed, b_feed=b_feed, factors=factors, k_once=factors["k"] == 1,
            k_spills=2 * (trips["k"] - 1),
            tiles=np.broadcast_to(trips["m"] * trips["n"] * trips["k"], shape),
        )  # fmt: skip
        return frozen_grids(out)

    return memo(axes, "grid", (flow, rows, cols, mp.k_per_step, mp.exploit, ratio, in_b, out_b,
                               w_b, acc_b, share), make)  # fmt: skip


def _port_cycles(spec, a_feed, b_feed, a_fill, b_fill, names) -> np.ndarray:
    """Per group: the busiest input/weight port (reads: array feeds; writes: DRAM fills)."""
    bufs = dict(spec.buffers)
    a_buf, b_buf = bufs[names[Operand.INPUT]], bufs[names[Operand.WEIGHT]]
    if names[Operand.INPUT] == names[Operand.WEIGHT]:
        return np.maximum((a_feed + b_feed) / a_buf.read_bytes_per_cycle,
                          (a_fill + b_fill) / a_buf.write_bytes_per_cycle)  # fmt: skip
    reads = np.maximum(a_feed / a_buf.read_bytes_per_cycle, b_feed / b_buf.read_bytes_per_cycle)
    writes = np.maximum(a_fill / a_buf.write_bytes_per_cycle,
                        b_fill / b_buf.write_bytes_per_cycle)  # fmt: skip
    return np.maximum(reads, writes)


def _objective(objective, latency, dram, a_feed, b_feed, fills, spec, prices, names, count):
    """The objective of every candidate from its estimates (module docstring)."""
    if objective == "latency":
        return latency
    a_read, b_read = prices[names[Operand.INPUT]][0], prices[names[Operand.WEIGHT]][0]
    write = prices[names[Operand.WEIGHT]][1]
    dynamic = count * (dram * spec.energy.dram_per_byte.pj + a_feed * a_read
                       + b_feed * b_read + fills * write)  # fmt: skip
    energy = dynamic + static_energy_pj(1, spec) * latency
    return energy if objective == "energy" else energy * latency


def _best_tiling(view: NestView, cost: np.ndarray, mv: _Moves,
                 axes: tuple[AxisTable, AxisTable, AxisTable]):  # fmt: skip
    """The best fitting (order, m, n, k) by ``cost`` (``_costs``) and its estimate (ties:
    module docstring); ``None`` if nothing fits."""
    if not mv.at.size:
        return None
    if isinstance(mv.compute, int):
        tied = tied_min(cost, mv.dram)
    else:  # the fewest folds first on the objective's ties (``_k_compute``)
        tied = tied_min(cost, mv.compute, mv.dram)
    pick = _least_exposed(tied, mv, view.problem.count)
    return _tiling_at(view, mv, pick, axes), float(cost[pick])


def _tiling_at(view: NestView, mv: _Moves, pick: int,
               axes: tuple[AxisTable, AxisTable, AxisTable]) -> Tiling:  # fmt: skip
    """The tiling of fitting candidate ``pick`` of ``mv``."""
    return tiling_at(axes, mv.shape, int(mv.at[pick]), bool(view.m_unit))


def search(
    problem: Problem,
    spec: AcceleratorSpec,
    objective: str = "latency",
    residency: tuple[bool, bool] = (False, False),
) -> tuple[Candidate, ...]:
    """Per orientation the best tiling by the objective's estimate, best first (module
    docstring); orientations where nothing fits are left out."""
    shape = _problem_key(problem)
    store, key = _searches.of(spec), (shape, objective, residency)
    hit = store.get(key) if shape is not None else None
    if hit is not None:
        return hit
    view = nest_view(problem)
    axes = _axes(view, shape)
    moving = _moving.of(spec)
    out = []
    for orient, mp, cycles in orientations(problem, spec):
        mkey = (shape, orient, residency)
        mv = moving.get(mkey) if shape is not None else None
        if mv is None:
            mv = _moves(view, mp, spec, residency, axes, int(cycles.sum()),
                        _k_compute(orient, mp, cycles, problem, spec))  # fmt: skip
            if shape is not None:
                if len(moving) >= CACHE_SIZE:
                    moving.clear()
                moving[mkey] = mv
        floor = _at_floor(view, spec, objective, mv)
        if floor is not None:
            best = _tiling_at(view, mv, floor, axes), mv.compute_at(floor)
        else:
            best = _best_tiling(view, _costs(view, spec, objective, mv), mv, axes)
        if best is not None:
            out.append(Candidate(orientation=orient, mapping=mp, cycles=cycles, tiling=best[0],
                                 estimate=best[1]))  # fmt: skip
    ranked = tuple(sorted(out, key=lambda c: c.estimate))  # stable: orientation order on ties
    if shape is not None:
        if len(store) >= CACHE_SIZE:
            store.clear()
        store[key] = ranked
    return ranked


CACHE_SIZE = 16384
"""Searches kept per spec key (``search``); a store is emptied at this size."""

CACHE_SPECS = 64
"""Spec keys whose searches are kept (a design-space sweep visits many once each)."""


def _spec_key(spec: AcceleratorSpec) -> tuple:
    """The spec fields a mapping depends on (not its name or description)."""
    return (spec.compute, spec.buffers, spec.dram, spec.precision, spec.sparsity, spec.vector,
            spec.energy)  # fmt: skip


_searches: SpecStores[tuple[Candidate, ...]] = SpecStores(_spec_key, CACHE_SPECS)
"""The searches of every spec sharing a ``_spec_key``."""

_options: SpecStores[TilingOptions] = SpecStores(layout_key, LAYOUT_CACHE_SPECS)
"""The fixed mapping's ``tiling.tiling_options`` by (problem, residency), for every spec
sharing a ``mapping.layout_key`` (the native mapping follows from them)."""

_moving: SpecStores[_Moves] = SpecStores(layout_key, LAYOUT_CACHE_SPECS)
"""Each orientation's ``_moves`` by (problem, orientation, residency), for every spec
sharing a ``mapping.layout_key`` (designs differing only in DRAM)."""


def _problem_key(problem: Problem) -> Problem | None:
    """``problem`` without its names; ``None`` (not cached) when a real mask makes it unique
    (masks take no part in pattern equality)."""
    if problem.b_pattern.mask is not None:
        return None
    if not (problem.layer or problem.fused_with):  # already nameless (``simulator.plan``)
        return problem
    return replace(problem, layer="", fused_with="")
