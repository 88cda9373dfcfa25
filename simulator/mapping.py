"""Mapping a matrix problem onto the array: what sparsity the datapath exploits, folds, and the
compute cycles of every tile in execution order (from ``simulator.tile``, vectorized).

Dataflows (GEMM ``C[m, n] = A[m, k] · B[k, n]``; loops listed outermost first):

* ``os``: as in the RTL and ``accel.functional.tiles_os`` (``Y = W·X``, W's rows are GEMM ``n``,
  X's columns GEMM ``m``): array rows hold ``n`` (output channels), columns hold ``m`` (tokens or
  output pixels); each PE streams ``k_steps = ceil(k / k_per_step)``; tiles: ``count``, then
  row tile (``n``) outer and column tile (``m``) inner for ``loop_order="n_major"``, the
  reverse for ``"m_major"`` (``simulator.memory.map_matrix`` picks the one moving fewer DRAM
  bytes).
* ``ws``: rows hold ``k`` (``k_per_step`` reduction elements per PE row), cols hold ``n``, ``m``
  streams; tiles: ``count``, column tile (``n``), k fold (``loop_order="n_major"``).
* ``is``: rows hold ``k``, cols hold ``m``, ``n`` streams; tiles: ``count``, column tile (``m``),
  k fold (``loop_order="m_major"``).

The array runs a problem's tiles back to back: tile ``t``'s compute cycles are its share of
``tile.sequence_cycles`` (``tile.tile_costs``: the first tile pays the full ``tile_cycles``,
each later one ``max(stream, rows)``).

Sparse compute (``Exploit``): an N:M ``B`` along the reduction whose ``(n, m)`` the spec lists
runs in N:M mode (``k_per_step(P, (n, m))``; for ``BW_DATA`` only if the spec is
``transposable``); a group pattern whose size is a multiple of the spec's ``group_size`` ``G``
lets every ``G`` adjacent output channels skip their shared zero K positions. Output channels
(``n``) lie along the array rows for ``os`` and the columns for ``ws`` (``is`` does not place
``n`` on the array: no group skipping), so ``G`` must divide that array side; effective
``k = density * k``, the slowest channel group of a tile setting its time. Activation skipping
drops zero activations (balanced); gating keeps the cycles and only saves MAC energy. Anything
else runs dense and says so in ``notes``. Without a real mask, work is assumed balanced across
lanes (noted); with one, the slowest channel group of a tile sets its time.

Unstructured skipping (``spec.sparsity.unstructured``), for a weight no structured mode takes:
every lane (output channel) walks its own nonzeros at ``1 + decode_cycles_per_nonzero`` K slots
each, the busiest lane of a tile setting its time; at or above the break-even density the layer
runs dense (noted). A real mask is B's GEMM view ``K x (count * N)`` (conv groups side by side,
``workloads.weights``) or ``(count * K) x N``; any other shape is an error naming the layer (a
``(rows, K)`` mask as ``workloads.pruning`` returns needs ``.T``). The notes quote the mask's
load imbalance: busiest lane (or lane group) over the mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar, overload

import numpy as np
from sparsim.accel.spec import AcceleratorSpec, ActivationMode
from sparsim.simulator import tile
from sparsim.simulator.lower import HashedOnce, Problem, mask_density
from sparsim.simulator.objects import PerObject
from sparsim.simulator.results import Pass
from sparsim.workloads.sparsity import NM, Block, Dense, Group, SparsityError, SparsityPattern

__all__ = [
    "LOOP_ORDERS",
    "Exploit",
    "Mapping",
    "choose_exploit",
    "default_order",
    "fold_cycles",
    "instance_masks",
    "k_tile_folds",
    "lane_work",
    "map_problem",
    "os_tile_order",
    "processed_share",
    "split_sizes",
]

LOOP_ORDERS = ("n_major", "m_major")
"""Outer tile loop of ``os``: row tiles over ``n`` (weights reused) or column tiles over ``m``
(activations reused)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Exploit(HashedOnce):
    """What the datapath skips for one problem.

    ``nm``: N:M mode or ``None``. ``group_size``: workload group size used for K skipping (0:
    none). ``act_keep``: fraction of activations processed (skipping), ``mac_keep_gated``:
    fraction of issued MACs that pay MAC energy (gating). ``m_keep``: fraction of output rows
    computed (sparse weight gradient). ``weight_keep``: in N:M mode, the fraction of B's values
    that are nonzero (the MACs issued per dense MAC; ``n/m`` unless a real mask says less).
    ``unstructured_density`` < 1: unstructured skipping at that density, with the spec's
    ``decode_cycles_per_nonzero`` and ``metadata_bits_per_nonzero``.
    """

    nm: tuple[int, int] | None = None
    group_size: int = 0
    group_density: float = 1.0
    act_keep: float = 1.0
    mac_keep_gated: float = 1.0
    m_keep: float = 1.0
    weight_keep: float = 1.0
    unstructured_density: float = 1.0
    decode_cycles_per_nonzero: float = 0.0
    metadata_bits_per_nonzero: int = 0
    notes: tuple[str, ...] = ()
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    __hash__ = HashedOnce.__hash__
    __getstate__ = HashedOnce.__getstate__


@dataclass(frozen=True, slots=True, kw_only=True)
class Mapping:
    """Where a problem's dims sit on the array and how many folds each takes.

    ``row_tiles``/``col_tiles``: folds of ``row_dim``/``col_dim`` (for ``ws``/``is`` the row
    folds over ``k`` may differ per column tile under group skipping: ``row_tiles`` is then the
    largest). ``m_eff``: output rows computed. ``k_kept_per_tile``: K positions of B kept by
    each fold of the array side that is not ``k`` and holds ``n`` if any (``os``: row tiles,
    ``ws``: column tiles, ``is``: column tiles over ``m``), as group skipping compacts them;
    ``k_eff_per_tile``: K positions each processes (activation skipping drops more); both
    read-only int64. ``issued_macs``: MACs the datapath performs (gated ones included).
    ``loop_order``: which of ``n``/``m`` the outer tile loop runs over (module docstring).
    """

    dataflow: str
    rows: int
    cols: int
    row_dim: str
    col_dim: str
    stream_dim: str
    row_tiles: int
    col_tiles: int
    count: int
    k_per_step: int
    m_eff: int
    k_kept_per_tile: np.ndarray
    k_eff_per_tile: np.ndarray
    tiles: int
    issued_macs: int
    exploit: Exploit
    loop_order: str = "n_major"


def processed_share(mp: Mapping, k: int) -> float:
    """The share of ``k``'s dense positions the array processes (the mean of
    ``k_eff_per_tile`` over ``k``): 1 dense and under N:M (whose skipping is in
    ``k_per_step``), below 1 under group, unstructured or activation skipping, above 1 with
    decode slots per nonzero. 1 on ``os``, whose folds do not depend on it."""
    if mp.dataflow == "os" or k <= 0:
        return 1.0
    return float(mp.k_eff_per_tile.mean()) / k


@overload
def k_tile_folds(g_k: float, share: float, mp: Mapping) -> int: ...
@overload
def k_tile_folds(g_k: np.ndarray, share: float, mp: Mapping) -> np.ndarray: ...
def k_tile_folds(g_k: float | np.ndarray, share: float, mp: Mapping) -> int | np.ndarray:
    """Array folds of one buffer ``k`` tile of ``g_k`` dense GEMM positions on a ``ws``/``is``
    array (``os`` PEs accumulate in place: one pass): the positions it processes (``share``
    of them: ``processed_share``) over the dense positions one fold reduces (``rows x
    k_per_step``), rounded up. The one count of folds per k tile: the output buffer's
    partial sums (``simulator.tiling``) and the compute of a plan whose buffer tiling cuts
    ``k`` (``fold_cycles``) both follow it."""
    per_fold = mp.rows * mp.k_per_step
    if isinstance(g_k, (int, float)):
        return math.ceil(g_k * share / per_fold - 1e-9)
    return np.ceil(g_k * share / per_fold - 1e-9).astype(np.int64)


def fold_cycles(mp: Mapping, k: int, g_k: np.ndarray, cycles: np.ndarray,
                later_fold_cycles: int) -> int:  # fmt: skip
    """Compute cycles of a ``ws``/``is`` mapping whose buffer tiling cuts ``k`` into tiles of
    ``g_k`` dense positions: ``cycles`` (the mapping's, folding all of ``k`` at once) plus one
    ``later_fold_cycles`` for every fold the cut adds. Each column tile folds each k tile on
    its own (a fold does not straddle two buffer tiles), so a k tile that is not a whole
    number of folds costs a partial fold: ``sum_j sum_f ceil(g_f x k_eff_j / k / (rows x
    k_per_step))`` folds per group against ``sum_j ceil(k_eff_j / (rows x k_per_step))``
    (``k_tile_folds``). ``os`` and one k tile: ``cycles`` alone."""
    total = int(cycles.sum())
    if mp.dataflow == "os" or len(g_k) < 2 or k <= 0:
        return total
    k_eff = mp.k_eff_per_tile.astype(np.float64)
    whole = k_tile_folds(k_eff, 1.0, mp).sum()  # each column tile's k_eff at once
    cut = k_tile_folds(np.multiply.outer(k_eff / k, g_k), 1.0, mp).sum()
    return total + int(cut - whole) * mp.count * later_fold_cycles


def _nm_of(pattern: SparsityPattern) -> tuple[int, int] | None:
    return (pattern.n, pattern.m) if isinstance(pattern, NM) and pattern.axis == "k" else None


def _group_of(pattern: SparsityPattern) -> int:
    """Output channels sharing one zero pattern: a group's size, a block's columns."""
    if isinstance(pattern, Group):
        return pattern.size
    if isinstance(pattern, Block) and pattern.rows == 1:
        return pattern.cols
    return 0


def _unsupported_note(problem: Problem, spec: AcceleratorSpec) -> str:
    w = problem.weight_pattern
    if problem.pass_ == Pass.BW_DATA and isinstance(w, NM) and not w.transposable:
        return f"bw_data: weight {w} is not transposable, Wᵀ is not N:M along n: ran dense"
    if problem.pass_ == Pass.BW_DATA and isinstance(w, NM) and not spec.sparsity.transposable:
        return f"bw_data: {spec.name} cannot read a transposed N:M weight: ran dense"
    return f"weight {problem.b_pattern} not supported by {spec.name}: ran dense"


def _weight_exploit(problem: Problem, spec: AcceleratorSpec) -> dict:
    b, sup = problem.b_pattern, spec.sparsity
    if isinstance(b, Dense):
        return {}
    nm = _nm_of(b)
    p = spec.compute.multipliers_per_pe
    transposed_ok = problem.pass_ != Pass.BW_DATA or sup.transposable
    if nm and sup.supports_nm(*nm) and p >= nm[0] and transposed_ok:
        return {"nm": nm, "weight_keep": mask_density(b)}
    group = _group_of(b)
    if group and sup.group_size and group % sup.group_size == 0 and _channels_group(spec):
        return {"group_size": group, "group_density": mask_density(b)}
    if sup.unstructured is not None and _channel_lanes(spec):
        return _unstructured_exploit(problem, spec)
    return {"notes": (_unsupported_note(problem, spec),)}


def _unstructured_exploit(problem: Problem, spec: AcceleratorSpec) -> dict:
    uns, d = spec.sparsity.unstructured, mask_density(problem.b_pattern)
    assert uns is not None
    if d >= uns.break_even_density:
        return {"notes": (f"weight density {d:.2f} is at or above the unstructured break-even "
                          f"{uns.break_even_density:.2f}: ran dense",)}  # fmt: skip
    return {
        "unstructured_density": d,
        "decode_cycles_per_nonzero": uns.decode_cycles_per_nonzero,
        "metadata_bits_per_nonzero": uns.metadata_bits_per_nonzero,
    }


def _channel_lanes(spec: AcceleratorSpec) -> int:
    """The array side holding output channels ``n``: rows for ``os``, columns for ``ws``, none
    (0) for ``is``."""
    return {"os": spec.compute.rows, "ws": spec.compute.cols}.get(spec.compute.dataflow.value, 0)


def _channels_group(spec: AcceleratorSpec) -> bool:
    """Group skipping needs the array side holding ``n`` to hold whole hardware groups."""
    lanes = _channel_lanes(spec)
    return lanes > 0 and lanes % spec.sparsity.group_size == 0


def _act_exploit(problem: Problem, spec: AcceleratorSpec) -> dict:
    mode, d = spec.sparsity.activation, problem.a_density
    if d >= 1.0 or mode == ActivationMode.NONE:
        return {}
    if mode == ActivationMode.GATING:
        return {"mac_keep_gated": d, "notes": (f"activation zeros gated ({d:.2f} dense)",)}
    return {"act_keep": d, "notes": (f"activation skipping at {d:.2f} density (balanced)",)}


def _wgrad_exploit(problem: Problem, spec: AcceleratorSpec) -> dict:
    d = problem.weight_density
    if problem.pass_ != Pass.BW_WEIGHT or d >= 1.0 or not spec.sparsity.sparse_weight_gradient:
        return {}
    return {"m_keep": d, "notes": (f"weight gradient at kept weights only ({d:.2f}, balanced)",)}


def choose_exploit(problem: Problem, spec: AcceleratorSpec) -> Exploit:
    """Decide what the datapath skips or gates for ``problem`` (module docstring)."""
    parts = [_weight_exploit(problem, spec), _act_exploit(problem, spec)]
    parts.append(_wgrad_exploit(problem, spec))
    notes = tuple(n for part in parts for n in part.get("notes", ()))
    fields = {k: v for part in parts for k, v in part.items() if k != "notes"}
    lane_group = spec.sparsity.group_size if fields.get("group_size") else 1
    per_lane = bool(fields.get("group_size")) or "unstructured_density" in fields
    if (fields.get("nm") or per_lane) and problem.b_pattern.mask is None:
        notes += ("no weight mask: balanced work assumed",)
    elif per_lane:
        notes += (_imbalance_note(problem, lane_group, spec),)
    return Exploit(notes=notes, **fields)


def instance_masks(problem: Problem) -> np.ndarray | None:
    """B's real mask as ``(count, k, n)`` (module docstring), ``None`` without one; a mask of
    another shape raises ``SparsityError`` naming the layer."""
    mask, k, n, count = problem.b_pattern.mask, problem.k, problem.n, problem.count
    if mask is None:
        return None
    if mask.shape == (k, n * count):
        return mask.reshape(k, count, n).transpose(1, 0, 2)
    if mask.shape == (k * count, n):
        return mask.reshape(count, k, n)
    rows_k = mask.shape in ((n * count, k), (n, k * count))
    hint = " (a (rows, K) mask as workloads.pruning returns: pass mask.T)" if rows_k else ""
    raise SparsityError(
        f"layer {problem.layer}: {problem.pass_.value} weight mask has shape {mask.shape}; the "
        f"GEMM view needs ({k}, {n * count}) = K x N{hint}"
    )


def lane_work(problem: Problem, lanes: int, group: int) -> np.ndarray | None:
    """K positions each group of ``group`` adjacent output channels must visit (the union of
    their kept positions), per ``(count, tile of lanes, group)``; ``None`` without a mask."""
    masks = instance_masks(problem)
    if masks is None:
        return None
    return tile.group_lane_work(masks, lanes, group)


def _imbalance_note(problem: Problem, group: int, spec: AcceleratorSpec) -> str:
    """The real mask's load imbalance: busiest lane (group) over the mean."""
    work = lane_work(problem, _channel_lanes(spec), group)
    assert work is not None
    real = work.reshape(work.shape[0], -1)[:, : tile.ceil_div(problem.n, group)]
    busiest, mean = int(real.max()), float(real.mean())
    ratio = busiest / mean if mean else 1.0
    return (f"real mask: busiest lane{'' if group == 1 else ' group'} {busiest} of {problem.k} "
            f"K positions vs mean {mean:.1f} (imbalance {ratio:.2f}x)")  # fmt: skip


def _group_k_eff(problem: Problem, ex: Exploit, spec: AcceleratorSpec, n_tiles: int):
    """Reduction positions each fold of ``n`` processes. Each ``spec.sparsity.group_size``
    adjacent output channels (array rows for ``os``, columns for ``ws``) share an activation
    selector and skip their common zeros (unstructured skipping: each lane alone); the slowest
    such group sets the tile's time; over conv groups (``count``), the mean of each tile's,
    rounded up. Balanced (no mask): ``ceil(density * k)`` for every tile."""
    g = spec.sparsity.group_size if ex.group_size else 1
    density = ex.group_density if ex.group_size else ex.unstructured_density
    work = lane_work(problem, _channel_lanes(spec), g)
    if work is None:
        return np.full(n_tiles, math.ceil(problem.k * density), dtype=np.int64)
    return np.ceil(work.max(axis=2).mean(axis=0) - 1e-9).astype(np.int64)


def os_tile_order(mapping: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """Row tile ``i`` and column tile ``j`` of each ``os`` tile of one count-instance, in
    execution order (``mapping.loop_order``)."""
    rows, cols = np.arange(mapping.row_tiles), np.arange(mapping.col_tiles)
    if mapping.loop_order == "n_major":
        return np.repeat(rows, mapping.col_tiles), np.tile(cols, mapping.row_tiles)
    return np.tile(rows, mapping.col_tiles), np.repeat(cols, mapping.row_tiles)


def split_sizes(total: int, size: int) -> np.ndarray:
    """Sizes of the ``ceil(total / size)`` folds of ``total``: full ones, then the remainder."""
    tiles = tile.ceil_div(total, size)
    sizes = np.full(tiles, size, dtype=np.int64)
    sizes[-1] = total - size * (tiles - 1)
    return sizes


def _k_eff(
    problem: Problem, ex: Exploit, spec: AcceleratorSpec, tiles: int
) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Per fold of the array side that is not ``k`` (``Mapping.k_kept_per_tile``): K positions
    of B kept (after weight skipping) and processed (after activation skipping too); and that
    processed count when every fold has the same (no group or unstructured skipping), else
    ``None``."""
    slots = 1.0 + ex.decode_cycles_per_nonzero  # K slots per kept position
    if not (ex.group_size or ex.unstructured_density < 1.0):  # every fold alike: scalars
        k = max(problem.k, 1)
        kept = np.full(tiles, k, dtype=np.int64)
        if ex.act_keep == 1.0 and slots == 1.0:
            return kept, kept, k
        k_eff = max(math.ceil(k * slots * ex.act_keep - 1e-9), 1)
        return kept, np.full(tiles, k_eff, dtype=np.int64), k_eff
    kept = np.maximum(_group_k_eff(problem, ex, spec, tiles), 1)
    if ex.act_keep == 1.0 and slots == 1.0:
        return kept, kept, None
    return kept, np.maximum(np.ceil(kept * slots * ex.act_keep - 1e-9).astype(np.int64), 1), None


class _Tiles(NamedTuple):
    """What a dataflow's tiling yields (fields as in ``Mapping``)."""

    cycles: np.ndarray
    dims: tuple[str, str, str]
    row_tiles: int
    col_tiles: int
    m_eff: int
    k_kept: np.ndarray
    k_eff: np.ndarray
    issued: int


def _tile_cycles_os(
    problem: Problem, spec: AcceleratorSpec, ex: Exploit, kps: int, order: str
) -> _Tiles:
    """Rows over ``n``, columns over ``m``, in ``order``: a row tile's column tiles share its K
    count (one output channel group's kept positions)."""
    rows, cols = spec.compute.rows, spec.compute.cols
    m_eff = max(1, math.ceil(problem.m * ex.m_keep))
    row_tiles, col_tiles = tile.ceil_div(problem.n, rows), tile.ceil_div(m_eff, cols)
    k_kept, k_eff, uniform = _k_eff(problem, ex, spec, row_tiles)
    if uniform is not None:  # every tile streams the same steps
        steps = np.full(row_tiles * col_tiles * problem.count, tile.ceil_div(uniform, kps),
                        dtype=np.int64)  # fmt: skip
        issued = m_eff * problem.n * uniform * problem.count
    else:
        spread = np.repeat if order == "n_major" else np.tile  # inner loop over m or n
        steps = spread(tile.ceil_div(k_eff, kps), col_tiles)
        if problem.count > 1:
            steps = np.tile(steps, problem.count)
        issued = m_eff * int((split_sizes(problem.n, rows) * k_eff).sum()) * problem.count
    cycles = tile.tile_costs("os", rows, cols, steps, fold_overlap=spec.compute.fold_overlap)
    return _Tiles(cycles, ("n", "m", "k"), row_tiles, col_tiles, m_eff, k_kept, k_eff, issued)


def _tile_cycles_stationary(
    problem: Problem, spec: AcceleratorSpec, ex: Exploit, kps: int, order: str
) -> _Tiles:
    """Column tiles outer, k folds inner (``order`` is implied by the dataflow)."""
    rows, cols = spec.compute.rows, spec.compute.cols
    m_eff = max(1, math.ceil(problem.m * ex.m_keep))
    col_dim, col_len, stream = ("n", problem.n, m_eff)
    if spec.compute.dataflow.value == "is":
        col_dim, col_len, stream = ("m", m_eff, problem.n)
    col_tiles = tile.ceil_div(col_len, cols)
    k_kept, k_eff, uniform = _k_eff(problem, ex, spec, col_tiles)
    folds = tile.ceil_div(k_eff, rows * kps)
    flow = spec.compute.dataflow.value
    if uniform is not None:  # every column tile folds the same
        fold_count = col_tiles * tile.ceil_div(uniform, rows * kps)
        issued = stream * col_len * uniform * problem.count
    else:
        fold_count = int(folds.sum())
        issued = stream * int((split_sizes(col_len, cols) * k_eff).sum()) * problem.count
    streams = np.full(fold_count * problem.count, stream, dtype=np.int64)
    cycles = tile.tile_costs(flow, rows, cols, streams, fold_overlap=spec.compute.fold_overlap)
    dims = ("k", col_dim, "n" if col_dim == "m" else "m")
    return _Tiles(cycles, dims, int(folds.max()), col_tiles, m_eff, k_kept, k_eff, issued)


def default_order(dataflow: str) -> str:
    """The outer tile loop a dataflow uses unless told otherwise: ``is`` tiles ``m``."""
    return "m_major" if dataflow == "is" else "n_major"


def map_problem(
    problem: Problem, spec: AcceleratorSpec, loop_order: str | None = None
) -> tuple[Mapping, np.ndarray]:
    """The mapping of a matrix problem and its per-tile compute cycles in execution order.
    ``loop_order`` (``os`` only, one of ``LOOP_ORDERS``): default ``n_major``; ``ws``/``is``
    have one order each (module docstring)."""
    flow = spec.compute.dataflow.value
    if loop_order is None or flow != "os":
        loop_order = default_order(flow)
    if loop_order not in LOOP_ORDERS:
        raise ValueError(f"loop_order must be one of {', '.join(LOOP_ORDERS)}, not {loop_order!r}")
    if problem.b_pattern.mask is None:
        return _map_cached(problem, spec, loop_order)
    instance_masks(problem)  # a mask of the wrong shape or orientation is an error
    return _map(problem, spec, loop_order)


MAP_CACHE_SIZE = 4096
"""Mappings kept per design key (``_map_cached``); a store is emptied at this size."""

MAP_CACHE_SPECS = 64
"""Design keys whose mappings are kept (``_map_key``: a sweep revisits each array and sparsity
support with other buffers and DRAM); bounded because mappings hold per-tile arrays (a
1,000-design sweep's worker peaked at 346 MB with 512 here and 65,536 ``tiling.MEMO_SIZE``,
181 MB with 64 and 4,096)."""

_V = TypeVar("_V")


class SpecStores(Generic[_V]):
    """One dict of results per spec key (``key(spec)``: the spec fields the results depend
    on), shared by every spec with that key and found once per spec object: hashing spec fields
    is slow. The per-object entry holds the spec, so its id cannot be reused. At most
    ``limit`` keys are kept (emptied when full)."""

    def __init__(self, key: Callable[[AcceleratorSpec], tuple], limit: int) -> None:
        self._key, self._limit = key, limit
        self._by_key: dict[tuple, dict[tuple, _V]] = {}
        self._by_object: PerObject[AcceleratorSpec, dict[tuple, _V]] = PerObject(self._store, 8)

    def of(self, spec: AcceleratorSpec) -> dict[tuple, _V]:
        return self._by_object(spec)

    def _store(self, spec: AcceleratorSpec) -> dict[tuple, _V]:
        key = self._key(spec)
        if key not in self._by_key and len(self._by_key) >= self._limit:
            self._by_key.clear()
        return self._by_key.setdefault(key, {})


def _map_key(spec: AcceleratorSpec) -> tuple:
    """What ``_map`` reads from a spec: the array (``compute``), what it can skip
    (``sparsity``) and the name (its notes quote it); not buffers, DRAM, precision or energy."""
    return spec.name, spec.compute, spec.sparsity


def layout_key(spec: AcceleratorSpec) -> tuple:
    """Every spec field a buffer tiling's traffic reads: all but the DRAM, which only times
    it (the name too: notes quote it). Designs of a sweep differing only in DRAM share what
    is cached under it (``simulator.plan``, ``simulator.mapper``)."""
    return (spec.name, spec.compute, spec.sparsity, spec.buffers, spec.precision, spec.energy,
            spec.vector, spec.global_buffer, spec.inter_layer_residency)  # fmt: skip


LAYOUT_CACHE_SPECS = 2
"""Layout keys whose results are kept: a sweep in ``dse.sweep.locality_order`` visits the
designs sharing one key one after another, so two suffice; bounded because each key holds
every layer's grids and plans (with 8, the 10,000-design benchmark's largest worker peaked at
283 MB; a 640-design slice in one process at 221 MB against 167 MB with 2)."""

_maps: SpecStores[tuple[Mapping, np.ndarray]] = SpecStores(_map_key, MAP_CACHE_SPECS)
"""The mappings of every spec sharing a ``_map_key``, keyed by (problem, loop order)."""


def _map_cached(
    problem: Problem, spec: AcceleratorSpec, loop_order: str
) -> tuple[Mapping, np.ndarray]:
    """``_map`` once per (problem, order) of specs with the same ``_map_key``, its arrays
    read-only."""
    store, key = _maps.of(spec), (problem, loop_order)
    hit = store.get(key)  # one hash of the problem (hashing a problem is slow)
    if hit is None:
        if len(store) >= MAP_CACHE_SIZE:
            store.clear()
        mapping, cycles = _map(problem, spec, loop_order)
        cycles.flags.writeable = False
        mapping.k_eff_per_tile.flags.writeable = False
        mapping.k_kept_per_tile.flags.writeable = False
        hit = store[key] = mapping, cycles
    return hit


def _map(problem: Problem, spec: AcceleratorSpec, loop_order: str) -> tuple[Mapping, np.ndarray]:
    ex = choose_exploit(problem, spec)
    kps = tile.k_per_step(spec.compute.multipliers_per_pe, ex.nm)
    flow = spec.compute.dataflow.value
    build = _tile_cycles_os if flow == "os" else _tile_cycles_stationary
    t = build(problem, spec, ex, kps, loop_order)
    issued = round(t.issued * ex.weight_keep) if ex.nm else t.issued
    mapping = Mapping(
        dataflow=flow,
        rows=spec.compute.rows,
        cols=spec.compute.cols,
        row_dim=t.dims[0],
        col_dim=t.dims[1],
        stream_dim=t.dims[2],
        row_tiles=t.row_tiles,
        col_tiles=t.col_tiles,
        count=problem.count,
        k_per_step=kps,
        m_eff=t.m_eff,
        k_kept_per_tile=t.k_kept,
        k_eff_per_tile=t.k_eff,
        tiles=len(t.cycles),
        issued_macs=int(issued),
        exploit=ex,
        loop_order=loop_order,
    )
    return mapping, t.cycles
