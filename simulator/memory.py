"""Memory model: DRAM bytes per tile and bytes per level for a mapped problem.

Operands are named by their GEMM role (``Operand``): A = ``input`` (m x k), B = ``weight``
(k x n), C = ``output`` (m x n), whatever tensor the pass puts there; each uses its buffer share
(``spec.buffer_share_bytes``), halved when the buffer is double-buffered (one half fills while
the other computes). Reuse follows the loop order of ``simulator.mapping``:

* ``os`` (row tile i over ``n``, column tile j over ``m``), ``n_major`` (i outer): B's column
  panel (``k x rows``) is fetched once per i if it fits, else per tile; A is fetched once if all
  of it fits, else once per row tile. ``m_major`` (j outer) is the mirror image: A's panel
  (``cols x k``) once per j if it fits, else per tile; B once if all of it fits, else once per
  column tile. C is written once per tile. ``map_matrix`` picks the order moving fewer DRAM
  bytes (ties: ``n_major``).
* ``ws`` (column tile j, k fold f): each B element once (stationary); A's k chunk once if all of
  A fits, else per column tile; C's ``m x cols`` partial sums stay on chip if they fit, else
  spill (store at ``accumulator`` width after every fold but the last, reload before every fold
  but the first).
* ``is`` (column tile j over m, k fold f): A stationary once; B's k chunk once if all of B fits,
  else per column tile; partial sums as for ``ws``.

B is stored compressed when the datapath exploits its sparsity: N:M keeps ``n`` of every ``m``
values plus ``n * ceil(log2 m)`` metadata bits per group (``accel.bitlayout``); group skipping
keeps the ``density`` fraction of values plus a one-bit-per-K-position bitmap per group of
channels. SRAM traffic: writes = DRAM fills + array results; reads = array feeds + DRAM drains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accel.bitlayout import index_bits
from accel.spec import AcceleratorSpec, Operand, precision_bits
from simulator import tile
from simulator.lower import Problem
from simulator.mapping import (
    LOOP_ORDERS,
    Exploit,
    Mapping,
    map_problem,
    os_tile_order,
    split_sizes,
)

__all__ = [
    "Traffic",
    "b_chunk_bytes",
    "b_storage_rates",
    "map_matrix",
    "matrix_traffic",
    "output_tile_fits",
    "stream_traffic",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Traffic:
    """Per-tile DRAM ``load``/``store`` bytes (int64, execution order) and per-level totals.

    ``dram`` keys: ``input``, ``weight``, ``metadata``, ``psum``, ``output``; ``sram_feed``:
    bytes the array reads from SRAM (A, B values, metadata, partial sums);
    ``sram_result``: bytes the array writes back (results and partial sums)."""

    load: np.ndarray
    store: np.ndarray
    dram: tuple[tuple[str, int], ...]
    sram_feed: int
    sram_result: int
    metadata_bytes_fed: int

    def bytes_by_level(self) -> tuple[tuple[str, int], ...]:
        """``LayerResult.bytes_by_level``: ``dram.<operand>``, ``sram.read``, ``sram.write``."""
        dram = dict(self.dram)
        loads, stores = int(self.load.sum()), int(self.store.sum())
        levels = {f"dram.{key}": value for key, value in dram.items()}
        levels["sram.read"] = self.sram_feed + stores
        levels["sram.write"] = self.sram_result + loads
        return tuple(levels.items())


def _bytes(spec: AcceleratorSpec, operand: Operand) -> float:
    return spec.precision.bytes_of(operand)


def _acc_bytes(spec: AcceleratorSpec) -> float:
    return precision_bits(spec.precision.accumulator) / 8


def b_storage_rates(exploit: Exploit, value_bytes: float) -> tuple[float, float]:
    """(value, metadata) bytes stored per dense element of B under ``exploit``."""
    if exploit.nm:
        n, m = exploit.nm
        return value_bytes * n / m, n * index_bits(m) / (8 * m)
    if exploit.group_size:
        return value_bytes * exploit.group_density, 1 / (8 * exploit.group_size)
    return value_bytes, 0.0


def _fits(nbytes: float, spec: AcceleratorSpec, operand: Operand) -> bool:
    share = spec.buffer_share_bytes(operand)
    if spec.buffer_for(operand).double_buffered:
        share //= 2
    return nbytes <= share


def _ceil(x: np.ndarray | float) -> np.ndarray:
    return np.ceil(np.asarray(x, dtype=np.float64) - 1e-9).astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Parts:
    """Per-tile byte arrays of one count-instance, before tiling over ``count``."""

    a: np.ndarray
    b_val: np.ndarray
    b_meta: np.ndarray
    psum_load: np.ndarray
    psum_store: np.ndarray
    c: np.ndarray
    feed: int
    result: int
    meta_fed: int


def b_chunk_bytes(
    exploit: Exploit, kept: np.ndarray, cols: np.ndarray, value_bytes: float
) -> tuple[np.ndarray, np.ndarray]:
    """(values, metadata) bytes of ``kept`` K positions x ``cols`` columns of B as stored.

    N:M: every column holds ``ceil(kept / m)`` groups of ``n`` values, and its metadata row is
    padded to whole bytes (``accel.bitlayout``); group skipping: the kept values plus a bitmap of
    the ``kept / density`` dense positions per group of columns; dense: every value."""
    kept, cols = np.asarray(kept, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    if exploit.nm:
        n, m = exploit.nm
        groups = tile.ceil_div(kept, m)
        meta_row = tile.ceil_div(groups * n * index_bits(m), 8)
        return _ceil(cols * groups * n * value_bytes), cols * meta_row
    values = _ceil(cols * kept * value_bytes)
    if exploit.group_size:
        positions = _ceil(kept / exploit.group_density)
        return values, tile.ceil_div(positions, 8) * tile.ceil_div(cols, exploit.group_size)
    return values, np.zeros_like(values)


def _os_reuse_bytes(p: Problem, mp: Mapping, spec: AcceleratorSpec) -> tuple[float, float]:
    """Bytes of A and of B that must fit on chip to be reused: the outer operand's panel (once
    per outer tile), all of the inner operand (once in all)."""
    a_b, w_b = _bytes(spec, Operand.INPUT), _bytes(spec, Operand.WEIGHT)
    if mp.loop_order == "n_major":
        kept, channels = mp.k_kept_per_tile.max(keepdims=True), np.array([mp.rows])
        tokens = mp.m_eff
    else:
        kept, channels = mp.k_kept_per_tile, split_sizes(p.n, mp.rows)
        tokens = mp.cols
    b_val, b_meta = b_chunk_bytes(mp.exploit, kept, channels, w_b)
    return min(tokens, mp.m_eff) * p.k * a_b, float(b_val.sum() + b_meta.sum())


def _os_parts(p: Problem, mp: Mapping, spec: AcceleratorSpec) -> _Parts:
    """Tile (i, j): ``r`` output channels (B columns) by ``c`` tokens (A rows)."""
    a_b, c_b, w_b = (_bytes(spec, o) for o in (Operand.INPUT, Operand.OUTPUT, Operand.WEIGHT))
    ex = mp.exploit
    i, j = os_tile_order(mp)
    r, c = split_sizes(p.n, mp.rows)[i], split_sizes(mp.m_eff, mp.cols)[j]
    kept, ke = mp.k_kept_per_tile[i], mp.k_eff_per_tile[i]
    a_reuse, b_reuse = _os_reuse_bytes(p, mp, spec)
    b_refetch = (j == 0) | (not _fits(b_reuse, spec, Operand.WEIGHT))
    a_refetch = (i == 0) | (not _fits(a_reuse, spec, Operand.INPUT))
    b_val, b_meta = b_chunk_bytes(ex, kept, r, w_b)
    fed_val, fed_meta = b_chunk_bytes(ex, ke, r, w_b)
    zero = np.zeros(len(r), dtype=np.int64)
    out = _ceil(r * c * c_b)
    return _Parts(
        a=_ceil(a_refetch * c * p.k * a_b),
        b_val=b_refetch * b_val,
        b_meta=b_refetch * b_meta,
        psum_load=zero,
        psum_store=zero,
        c=out,
        feed=int((_ceil(c * ke * a_b) + fed_val + fed_meta).sum()),
        result=int(out.sum()),
        meta_fed=int(fed_meta.sum()),
    )


def _fold_index(folds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column tile and fold number of every tile when tile ``j`` has ``folds[j]`` k folds."""
    j = np.repeat(np.arange(len(folds)), folds)
    starts = np.cumsum(folds) - folds
    return j, np.arange(int(folds.sum())) - starts[j]


def _stationary_parts(p: Problem, mp: Mapping, spec: AcceleratorSpec) -> _Parts:
    """``ws`` (stationary B, columns over n, stream m) or ``is`` (stationary A, columns over m,
    stream n): the two differ only in which operand stays and which one streams. Folds cut the
    processed K positions; B is stored for the kept ones (the same unless activations skip)."""
    a_b, c_b, w_b = (_bytes(spec, o) for o in (Operand.INPUT, Operand.OUTPUT, Operand.WEIGHT))
    acc_b, ex = _acc_bytes(spec), mp.exploit
    fold_k = mp.rows * mp.k_per_step
    k_eff = mp.k_eff_per_tile
    j, f = _fold_index(tile.ceil_div(k_eff, fold_k))
    length = np.minimum(fold_k, k_eff[j] - f * fold_k)
    stored = _ceil(length * (mp.k_kept_per_tile[j] / k_eff[j]))
    ws = mp.dataflow == "ws"
    cols = split_sizes(p.n if ws else mp.m_eff, mp.cols)[j]
    stream = mp.m_eff if ws else p.n
    first_f, last_f = f == 0, np.append(f[1:] == 0, True)
    if ws:
        a_fed, b_cols, b_refetch = stream * length * a_b, cols, 1
        a = a_fed  # each column tile fetches the A columns of the K positions it keeps
        if _fits(mp.m_eff * p.k * a_b, spec, Operand.INPUT):  # all of A, once, in tile 0
            a = (j == 0) * a_fed * (p.k / k_eff[0])
    else:
        b_all = b_chunk_bytes(ex, mp.k_kept_per_tile[:1], np.array([p.n]), w_b)
        b_once = _fits(int(b_all[0][0] + b_all[1][0]), spec, Operand.WEIGHT)
        a_fed, b_cols = length * cols * a_b, np.full(len(j), stream)
        a, b_refetch = a_fed, (j == 0 if b_once else 1)
    b_val, b_meta = b_chunk_bytes(ex, stored, b_cols, w_b)
    fed_val, fed_meta = b_chunk_bytes(ex, length, b_cols, w_b)
    psum = stream * cols * acc_b
    spill = not _fits(stream * mp.cols * acc_b, spec, Operand.OUTPUT)
    return _Parts(
        a=_ceil(a),
        b_val=b_refetch * b_val,
        b_meta=b_refetch * b_meta,
        psum_load=_ceil(spill * ~first_f * psum),
        psum_store=_ceil(spill * ~last_f * psum),
        c=_ceil(last_f * stream * cols * c_b),
        feed=int((_ceil(a_fed + ~first_f * psum) + fed_val + fed_meta).sum()),
        result=int(_ceil(np.where(last_f, stream * cols * c_b, psum)).sum()),
        meta_fed=int(fed_meta.sum()),
    )


def matrix_traffic(problem: Problem, mapping: Mapping, spec: AcceleratorSpec) -> Traffic:
    """Per-tile DRAM transfers and per-level bytes of a mapped matrix problem (docstring)."""
    build = _os_parts if mapping.dataflow == "os" else _stationary_parts
    parts = build(problem, mapping, spec)
    count = problem.count
    load = parts.a + parts.b_val + parts.b_meta + parts.psum_load
    store = parts.c + parts.psum_store
    dram = {
        "input": int(parts.a.sum()),
        "weight": int(parts.b_val.sum()),
        "metadata": int(parts.b_meta.sum()),
        "psum": int(parts.psum_load.sum() + parts.psum_store.sum()),
        "output": int(parts.c.sum()),
    }
    return Traffic(
        load=np.tile(load, count) if count > 1 else load,
        store=np.tile(store, count) if count > 1 else store,
        dram=tuple((key, value * count) for key, value in dram.items()),
        sram_feed=parts.feed * count,
        sram_result=parts.result * count,
        metadata_bytes_fed=parts.meta_fed * count,
    )


def map_matrix(problem: Problem, spec: AcceleratorSpec) -> tuple[Mapping, np.ndarray, Traffic]:
    """``map_problem`` in the loop order that moves fewer DRAM bytes (``os``: either of
    ``LOOP_ORDERS``, ties to the first; ``ws``/``is``: their one order), with its per-tile
    compute cycles and traffic."""
    orders = LOOP_ORDERS if spec.compute.dataflow.value == "os" else (None,)
    candidates = []
    for order in orders:
        mapping, cycles = map_problem(problem, spec, order)
        traffic = matrix_traffic(problem, mapping, spec)
        moved = int(traffic.load.sum() + traffic.store.sum())
        candidates.append((moved, mapping, cycles, traffic))
    _, mapping, cycles, traffic = min(candidates, key=lambda c: c[0])  # min keeps the first tie
    return mapping, cycles, traffic


def output_tile_fits(problem: Problem, mapping: Mapping, spec: AcceleratorSpec) -> bool:
    """Whether one tile of results (``os``: ``rows x cols``; ``ws``/``is``: the streamed dim x
    ``cols``) fits the output buffer share: then a fused vector op can post-process it on chip
    (``simulator.lower`` fusion)."""
    stream = {"os": mapping.rows, "ws": mapping.m_eff, "is": problem.n}[mapping.dataflow]
    return _fits(stream * mapping.cols * _bytes(spec, Operand.OUTPUT), spec, Operand.OUTPUT)


def stream_traffic(
    elements: int, in_bytes: float, out_bytes: float, spec: AcceleratorSpec
) -> tuple[np.ndarray, Traffic]:
    """Element-wise work streamed through the input buffer in double-buffered chunks: the
    elements of each tile, and its traffic (everything read once from DRAM, written once)."""
    chunk = max(1, spec.buffer_share_bytes(Operand.INPUT) // 2 // max(1, math.ceil(in_bytes)))
    sizes = split_sizes(elements, min(chunk, elements))
    load, store = _ceil(sizes * in_bytes), _ceil(sizes * out_bytes)
    dram = (("input", int(load.sum())), ("output", int(store.sum())))
    traffic = Traffic(
        load=load,
        store=store,
        dram=dram,
        sram_feed=int(load.sum()),
        sram_result=int(store.sum()),
        metadata_bytes_fed=0,
    )
    return sizes, traffic
