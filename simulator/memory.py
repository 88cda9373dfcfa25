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
from sparsim.accel.bitlayout import index_bits, metadata_bytes_per_row
from sparsim.accel.spec import AcceleratorSpec, Operand
from sparsim.simulator import tile
from sparsim.simulator.lower import Problem
from sparsim.simulator.mapping import (
    LOOP_ORDERS,
    Exploit,
    Mapping,
    map_problem,
    split_sizes,
)
from sparsim.simulator.objects import PerObject

__all__ = [
    "STREAM_CHUNKS",
    "Traffic",
    "b_chunk_bytes",
    "b_storage_rates",
    "increments",
    "map_matrix",
    "matrix_traffic",
    "output_tile_fits",
    "stream_chunk_elements",
    "stream_traffic",
    "tile_fit_bytes",
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


_SPEC_CONSTANTS_SIZE = 64
"""Specs whose constants (``_constants``) are kept; emptied at this size."""

_constants: PerObject[AcceleratorSpec, tuple[float, int]] = PerObject(
    lambda spec, operand: (spec.precision.bytes_of(operand), tile_fit_bytes(spec, operand)),
    3 * _SPEC_CONSTANTS_SIZE,  # three operands per spec
)
"""(bytes per element, buffer bytes it may fill at once) of an operand, once per (spec
object, operand) (``simulator.objects``): the ``AcceleratorSpec`` lookups are slow and these
are read for every problem."""


def tile_fit_bytes(spec: AcceleratorSpec, operand: Operand) -> int:
    """Bytes one tile of ``operand`` may hold: its buffer share, halved when
    double-buffered."""
    share = spec.buffer_share_bytes(operand)
    if spec.buffer_for(operand).double_buffered:
        share //= 2
    return share


def _bytes(spec: AcceleratorSpec, operand: Operand) -> float:
    return _constants(spec, operand)[0]


def b_storage_rates(exploit: Exploit, value_bytes: float) -> tuple[float, float]:
    """(value, metadata) bytes stored per dense element of B under ``exploit``."""
    if exploit.nm:
        n, m = exploit.nm
        return value_bytes * n / m, n * index_bits(m) / (8 * m)
    if exploit.group_size:
        return value_bytes * exploit.group_density, 1 / (8 * exploit.group_size)
    if exploit.unstructured_density < 1.0:
        d = exploit.unstructured_density
        return value_bytes * d, d * exploit.metadata_bits_per_nonzero / 8
    return value_bytes, 0.0


def _fits(nbytes: float, spec: AcceleratorSpec, operand: Operand) -> bool:
    return nbytes <= _constants(spec, operand)[1]


def _ceil(x: np.ndarray | float) -> np.ndarray:
    return np.ceil(np.asarray(x, dtype=np.float64) - 1e-9).astype(np.int64)


def _whole_bytes(elements: np.ndarray, bytes_each: float) -> np.ndarray:
    """``_ceil(elements * bytes_each)`` of int64 ``elements``: whole-byte widths multiply in
    integers (the same numbers, as float64 holds integers exactly up to 2**53 bytes)."""
    if float(bytes_each).is_integer():
        return elements * int(bytes_each)
    return _ceil(elements * bytes_each)


@dataclass(frozen=True, slots=True)
class _Parts:
    """Per-tile DRAM bytes of one count-instance, and its totals, before tiling over
    ``count``: ``dram`` as in ``Traffic.dram``; ``feed``, ``result``, ``meta_fed`` as
    ``Traffic``'s ``sram_feed``, ``sram_result``, ``metadata_bytes_fed``."""

    load: np.ndarray
    store: np.ndarray
    dram: dict[str, int]
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
        meta_row = metadata_bytes_per_row(groups, n, m)
        return _whole_bytes(cols * groups * n, value_bytes), cols * meta_row
    values = _whole_bytes(cols * kept, value_bytes)
    if exploit.group_size:
        positions = _ceil(kept / exploit.group_density)
        return values, tile.ceil_div(positions, 8) * tile.ceil_div(cols, exploit.group_size)
    if exploit.metadata_bits_per_nonzero:  # unstructured: an index per stored nonzero
        return values, _ceil(cols * kept * exploit.metadata_bits_per_nonzero / 8)
    return values, np.zeros_like(values)


@dataclass(frozen=True, slots=True, kw_only=True)
class _OsBytes:
    """What both ``os`` loop orders of one count-instance share: per row tile ``i``, its ``r``
    output channels and the stored bytes of its B panel (``b_val``, ``b_meta``); per column
    tile ``j``, its ``c`` tokens and the bytes of its A rows (``a``); and the sums of ``a``,
    ``b_val`` and ``b_meta``."""

    r: np.ndarray
    c: np.ndarray
    a: np.ndarray
    b_val: np.ndarray
    b_meta: np.ndarray
    a_total: int
    b_val_total: int
    b_meta_total: int


def _os_bytes(p: Problem, mp: Mapping, spec: AcceleratorSpec) -> _OsBytes:
    r, c = split_sizes(p.n, mp.rows), split_sizes(mp.m_eff, mp.cols)
    b_val, b_meta = b_chunk_bytes(mp.exploit, mp.k_kept_per_tile, r, _bytes(spec, Operand.WEIGHT))
    a = _whole_bytes(c * p.k, _bytes(spec, Operand.INPUT))
    return _OsBytes(
        r=r,
        c=c,
        a=a,
        b_val=b_val,
        b_meta=b_meta,
        a_total=int(a.sum()),
        b_val_total=int(b_val.sum()),
        b_meta_total=int(b_meta.sum()),
    )


def _os_refetch(
    p: Problem, mp: Mapping, spec: AcceleratorSpec, ob: _OsBytes, order: str
) -> tuple[bool, bool]:
    """Whether A is fetched once per row tile and B once per column tile in loop ``order``
    (else each once in all): the bytes that must fit on chip to be reused are the outer
    operand's panel (once per outer tile) and all of the inner operand (once in all)."""
    if order == "n_major":
        kept, channels = mp.k_kept_per_tile.max(keepdims=True), np.array([mp.rows])
        w_b = _bytes(spec, Operand.WEIGHT)
        b_val, b_meta = b_chunk_bytes(mp.exploit, kept, channels, w_b)
        b_reuse, tokens = float(b_val.sum() + b_meta.sum()), mp.m_eff
    else:
        b_reuse, tokens = float(ob.b_val_total + ob.b_meta_total), mp.cols
    a_reuse = min(tokens, mp.m_eff) * p.k * _bytes(spec, Operand.INPUT)
    return not _fits(a_reuse, spec, Operand.INPUT), not _fits(b_reuse, spec, Operand.WEIGHT)


def _os_traffic(
    p: Problem, mp: Mapping, spec: AcceleratorSpec, ob: _OsBytes, refetch: tuple[bool, bool]
) -> Traffic:
    """Tile (i, j): ``r`` output channels (B columns) by ``c`` tokens (A rows). Built as
    (row tile, column tile) grids, then flattened in ``mp.loop_order``: B's panel is fetched
    for the first column tile (every one if it must be refetched), A's rows for the first row
    tile (likewise); ``refetch``: ``_os_refetch`` in ``mp.loop_order``. The totals are sums of
    outer products: a vector's sum times the other's."""
    c_b, w_b = _bytes(spec, Operand.OUTPUT), _bytes(spec, Operand.WEIGHT)
    r, c = ob.r, ob.c
    a_every, b_every = refetch
    b_refetch = np.full(len(c), True) if b_every else np.arange(len(c)) == 0
    a_refetch = np.full(len(r), True) if a_every else np.arange(len(r)) == 0
    # B bytes fed to the array per column tile: the stored ones (``_k_eff`` returns the same
    # array), unless activation skipping processes fewer K positions than B keeps
    fed, fed_meta = ob.b_val_total + ob.b_meta_total, ob.b_meta_total
    if mp.k_eff_per_tile is not mp.k_kept_per_tile:
        fed_val, fed_meta_bytes = b_chunk_bytes(mp.exploit, mp.k_eff_per_tile, r, w_b)
        fed, fed_meta = int((fed_val + fed_meta_bytes).sum()), int(fed_meta_bytes.sum())
    out = _whole_bytes(np.multiply.outer(r, c), c_b)
    b = ob.b_val + ob.b_meta
    load = np.multiply.outer(a_refetch, ob.a) + np.multiply.outer(b, b_refetch)
    flat = np.ravel if mp.loop_order == "n_major" else _ravel_transposed
    a_fed = _whole_bytes(np.multiply.outer(mp.k_eff_per_tile, c), _bytes(spec, Operand.INPUT))
    a_times, b_times = len(r) if a_every else 1, len(c) if b_every else 1
    result = int(out.sum())
    dram = {
        "input": a_times * ob.a_total,
        "weight": b_times * ob.b_val_total,
        "metadata": b_times * ob.b_meta_total,
        "psum": 0,
        "output": result,
    }
    parts = _Parts(
        load=flat(load),
        store=flat(out),
        dram=dram,
        feed=int(a_fed.sum()) + len(c) * fed,
        result=result,
        meta_fed=len(c) * fed_meta,
    )
    return _traffic(parts, p.count)


def _ravel_transposed(grid: np.ndarray) -> np.ndarray:
    """``grid`` (row tile, column tile) in column-tile-outer order (``m_major``)."""
    return grid.T.ravel()


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
    acc_b, ex = spec.precision.accumulator_bytes, mp.exploit
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
    a, b_val, b_meta = _ceil(a), b_refetch * b_val, b_refetch * b_meta
    psum_load = _ceil(spill * ~first_f * psum)
    psum_store = _ceil(spill * ~last_f * psum)
    c = _ceil(last_f * stream * cols * c_b)
    dram = {
        "input": int(a.sum()),
        "weight": int(b_val.sum()),
        "metadata": int(b_meta.sum()),
        "psum": int(psum_load.sum() + psum_store.sum()),
        "output": int(c.sum()),
    }
    return _Parts(
        load=a + b_val + b_meta + psum_load,
        store=c + psum_store,
        dram=dram,
        feed=int((_ceil(a_fed + ~first_f * psum) + fed_val + fed_meta).sum()),
        result=int(_ceil(np.where(last_f, stream * cols * c_b, psum)).sum()),
        meta_fed=int(fed_meta.sum()),
    )


def matrix_traffic(problem: Problem, mapping: Mapping, spec: AcceleratorSpec) -> Traffic:
    """Per-tile DRAM transfers and per-level bytes of a mapped matrix problem (docstring)."""
    if mapping.dataflow == "os":
        ob = _os_bytes(problem, mapping, spec)
        refetch = _os_refetch(problem, mapping, spec, ob, mapping.loop_order)
        return _os_traffic(problem, mapping, spec, ob, refetch)
    return _traffic(_stationary_parts(problem, mapping, spec), problem.count)


def _traffic(parts: _Parts, count: int) -> Traffic:
    """``parts`` of one count-instance repeated ``count`` times."""
    return Traffic(
        load=np.tile(parts.load, count) if count > 1 else parts.load,
        store=np.tile(parts.store, count) if count > 1 else parts.store,
        dram=tuple((key, value * count) for key, value in parts.dram.items()),
        sram_feed=parts.feed * count,
        sram_result=parts.result * count,
        metadata_bytes_fed=parts.meta_fed * count,
    )


def map_matrix(problem: Problem, spec: AcceleratorSpec) -> tuple[Mapping, np.ndarray, Traffic]:
    """``map_problem`` in the loop order that moves fewer DRAM bytes (``os``: either of
    ``LOOP_ORDERS``, ties to the first; ``ws``/``is``: their one order), with its per-tile
    compute cycles and traffic. The ``os`` orders are compared in closed form (``_os_order``)
    and only the chosen one is tiled."""
    if spec.compute.dataflow.value != "os":
        mapping, cycles = map_problem(problem, spec)
        return mapping, cycles, matrix_traffic(problem, mapping, spec)
    mapping, cycles = map_problem(problem, spec, LOOP_ORDERS[0])
    ob = _os_bytes(problem, mapping, spec)  # the same in either order
    order, refetch = _os_order(problem, mapping, spec, ob)
    if order != mapping.loop_order:
        mapping, cycles = map_problem(problem, spec, order)
    return mapping, cycles, _os_traffic(problem, mapping, spec, ob, refetch)


def _os_order(
    p: Problem, mp: Mapping, spec: AcceleratorSpec, ob: _OsBytes
) -> tuple[str, tuple[bool, bool]]:
    """The ``os`` loop order moving fewer DRAM bytes (ties: ``n_major``) and its
    ``_os_refetch``, in closed form: C is written once per tile in both; A and B are fetched
    once in all, or once per row / column tile when refetched, as ``_os_traffic`` counts them."""
    a, b = ob.a_total, ob.b_val_total + ob.b_meta_total
    moved = []
    for order in LOOP_ORDERS:
        a_every, b_every = _os_refetch(p, mp, spec, ob, order)
        bytes_ = a * (len(ob.r) if a_every else 1) + b * (len(ob.c) if b_every else 1)
        moved.append((bytes_ * p.count, order, (a_every, b_every)))
    _, order, refetch = moved[1] if moved[1][0] < moved[0][0] else moved[0]
    return order, refetch


def output_tile_fits(problem: Problem, mapping: Mapping, spec: AcceleratorSpec) -> bool:
    """Whether one tile of results (``os``: ``rows x cols``; ``ws``/``is``: the streamed dim x
    ``cols``) fits the output buffer share: then a fused vector op can post-process it on chip
    (``simulator.lower`` fusion)."""
    stream = {"os": mapping.rows, "ws": mapping.m_eff, "is": problem.n}[mapping.dataflow]
    return _fits(stream * mapping.cols * _bytes(spec, Operand.OUTPUT), spec, Operand.OUTPUT)


def increments(edges: np.ndarray) -> np.ndarray:
    """``np.diff(edges, prepend=0)`` of a fresh int64 ``edges``, in place: each cumulative
    edge less the one before (numpy's ``diff`` costs more than the work on short arrays)."""
    edges[1:] -= edges[:-1].copy()
    return edges


def _spread(total_bytes: int, sizes: np.ndarray) -> np.ndarray:
    """``total_bytes`` split over chunks in proportion to their ``sizes``, summing exactly."""
    edges = np.floor(total_bytes * (np.cumsum(sizes) / float(sizes.sum()))).astype(np.int64)
    edges[-1] = total_bytes
    return increments(edges)


STREAM_CHUNKS = 64
"""Chunks element-wise work is cut into unless its buffer or the DRAM asks otherwise
(``stream_chunk_elements``; assumed: a DMA descriptor ring of 64 entries). Double-buffered,
only the first chunk's fill and the last one's drain are exposed: about 3% of the stream."""


def stream_chunk_elements(elements: int, in_bytes: float, spec: AcceleratorSpec) -> int:
    """Elements per chunk of streamed element-wise work: ``1/STREAM_CHUNKS`` of it, but at
    least the DRAM's bandwidth-delay product (latency x bytes per cycle: the smallest chunk
    that keeps the channel busy while the next request is in flight) and at most half the
    input buffer share (double-buffered). Not the whole half share: a bigger buffer must not
    expose a bigger first fill and last drain (it made ResNet-50 training on a 64x64 sat-like
    array 10% slower with 4 MiB buffers than with 512 KiB)."""
    width = max(1, math.ceil(in_bytes))
    half_share, in_flight = _stream_facts(spec)
    cap = max(1, half_share // width)
    bdp = math.ceil(in_flight / width)
    return min(cap, max(1, bdp, -(-elements // STREAM_CHUNKS)))


def _stream_facts_of(spec: AcceleratorSpec) -> tuple[int, float]:
    """(half the input buffer share, the DRAM's bytes in flight: latency x bytes per cycle)
    of ``spec``."""
    dram = spec.dram
    return (spec.buffer_share_bytes(Operand.INPUT) // 2,
            dram.latency_cycles * dram.bytes_per_cycle(spec.compute.freq_mhz))  # fmt: skip


_stream_facts: PerObject[AcceleratorSpec, tuple[int, float]] = PerObject(
    _stream_facts_of, _SPEC_CONSTANTS_SIZE
)
"""``_stream_facts_of``, once per spec object (``simulator.objects``)."""


def _chunk_bytes(sizes: np.ndarray, bytes_each: float) -> np.ndarray:
    """Whole bytes of each chunk of ``sizes`` elements at ``bytes_each``: a fractional width
    (compressed weights) is rounded up at the chunk edges, not per chunk, so the chunks add up
    to what the work moves in one piece."""
    if float(bytes_each).is_integer() or len(sizes) == 1:
        return _whole_bytes(sizes, bytes_each)
    edges = _ceil(np.cumsum(sizes) * bytes_each)
    return increments(edges)


def stream_traffic(
    elements: int, in_bytes: float, out_bytes: float, spec: AcceleratorSpec,
    totals: tuple[int, int] | None = None,
) -> tuple[np.ndarray, Traffic]:  # fmt: skip
    """Element-wise work streamed through the input buffer in double-buffered chunks
    (``stream_chunk_elements``): the elements of each tile, and its traffic (everything read
    once from DRAM, written once). ``totals``: the (read, written) bytes when they are not
    ``elements`` x the widths (a pool visits more inputs than it reads), spread over the
    chunks."""
    chunk = stream_chunk_elements(elements, in_bytes, spec)
    sizes = split_sizes(elements, min(chunk, elements))
    if totals is None:
        load, store = _chunk_bytes(sizes, in_bytes), _chunk_bytes(sizes, out_bytes)
    else:
        load, store = _spread(totals[0], sizes), _spread(totals[1], sizes)
    loaded, stored = int(load.sum()), int(store.sum())
    traffic = Traffic(
        load=load,
        store=store,
        dram=(("input", loaded), ("output", stored)),
        sram_feed=loaded,
        sram_result=stored,
        metadata_bytes_fed=0,
    )
    return sizes, traffic
