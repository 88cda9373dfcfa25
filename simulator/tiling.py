"""Buffer-level tiling: the loop nest of one matrix problem over DRAM → on-chip buffers → array.

**The mapping value.** ``Tiling`` is explicit and frozen: the tile sizes of the buffer-level
loop nest along its three axes ``m``, ``n``, ``k`` and the loop order (outer to inner); for a
convolution also the output rows (the ``m`` tile is ``images x rows`` whole output rows). The
array orientation is ``simulator.mapping.Mapping`` (``row_dim``, ``col_dim``). The traffic
model (``nest_traffic``) takes a ``Tiling`` as input; ``choose_tiling`` is one simple chooser
(a later mapper search replaces it).

**The nest's axes** (``NestView``), per group (``count`` groups run one after another):

================  ==========================  ==========================  ===================
problem           ``m`` axis                  ``n`` axis                  ``k`` axis
================  ==========================  ==========================  ===================
GEMM              GEMM ``m``                  GEMM ``n``                  GEMM ``k``
conv ``FW``       output rows (x images)      output channels             input channels
conv ``BW_DATA``  dX rows (x images)          input channels (dX)         output channels (dY)
conv ``BW_WEIGHT``  input channels            output channels             output rows (x images)
================  ==========================  ==========================  ===================

Every conv ``k`` channel tile carries all ``kh x kw`` taps. Operand footprints (what a tile
moves from DRAM) are **feature maps with halos**, never im2col matrices: a band of output rows
reads the input rows its taps touch (``kernel``, ``stride``, ``dilation``; padding is not
fetched), times the input columns touched, times the channels of the tile. ``BW_DATA`` is a
transposed convolution: a band of dX rows reads the dY rows that reach it. ``BW_WEIGHT``
reduces over batch x output pixels (its ``k`` axis). The im2col expansion exists only between
the buffer and the array: the array feed of A is ``m x k`` GEMM elements.

**Reuse.** In loop order ``(o1, o2, o3)`` an operand's tile is fetched again whenever its
tile indices change between consecutive iterations (one tile of each operand is held; the
other half of a double buffer fills). So an operand whose irrelevant axis ``d`` (A: ``n``,
B: ``m``, C: ``k``) is inside all its relevant loops is fetched once; otherwise ``T_d`` times
(unless the relevant loops inside ``d`` all have one trip). An operand whose whole footprint
fits its buffer share is fetched once whatever the order. Partial sums (C over ``k``) stay in
the output buffer while the ``k`` loop is innermost of C's loops or all of C fits there at
accumulator width; otherwise each ``(m, n)`` tile spills at accumulator width after every
visit but its last and is reloaded before every visit but its first.

**Fit.** A tile fits when its footprint is at most the operand's buffer share
(``spec.buffer_share_bytes``), halved when double-buffered; C's tile is held at accumulator
width while partial (``k`` tiled, or ``ws``/``is`` folding ``k`` over the array rows), else at
output width. **Chooser** (``choose_tiling``): candidate tile sizes are each axis's extent
halved repeatedly (rounded up) down to 1; among the combinations whose tiles fit, and the six
loop orders, the one with the smallest memory-time bound ``max(DRAM bytes / DRAM bytes per
cycle, feed)`` (on arrays folding ``k``, ``ws``/``is``/``matrix-vector``, also the tiling's
compute cycles, which its ``k`` tiles change: see Compute per tile; the fewest folds then
break its ties) where ``feed`` is the largest of A's feed over the input read port, B's over
the weight read port (small tiles along the array's axes re-read operands) and the partial
sums over the output write port (one pass per ``k`` tile, ``ws``/``is``: per array fold of
``k``; ``k`` candidates include whole numbers of folds), then the smallest
sum of the two, then the fewest DRAM bytes, then the fewest tiles, then the first order in
``ORDERS``. If nothing fits, the smallest tiles (noted).

**Buffer ports** (per tile, ``PortBytes``): the input buffer is written by DRAM fills of A and
read by the array feed (``m x k`` im2col elements per pass of the array over ``n``); the weight
buffer likewise for B's stored values and metadata (per pass over ``m``); the output buffer is
written by array results (partial sums at accumulator width, finals at output width) and
partial-sum reloads, and read to accumulate partial sums and to drain to DRAM. Passes: ``os``
re-reads A once per array row fold of ``n`` and B once per column fold of ``m``; ``ws`` keeps B
stationary (read once) and re-reads A per column fold of ``n``; ``is`` keeps A stationary and
re-reads B per column fold of ``m``. ``ws``/``is`` accumulate each row fold of ``k`` in the output
buffer (read and written at accumulator width); a ``k`` tile takes the folds its processed
positions need (``mapping.k_tile_folds``: weights kept, activations skipped).

**Compute per tile.** The array's cycles for the problem (``simulator.mapping``) are shared
among the tiles in proportion to their MACs (cumulative rounding: the sum is exact). On an
array folding ``k`` each buffer ``k`` tile folds on its own (a fold does not straddle two
tiles), so a ``k`` tile that is not a whole number of folds costs a partial fold
(``mapper.tiled_compute``): compute and the partial sums count the same folds.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeVar

import numpy as np
from sparsim.accel.spec import AcceleratorSpec, Operand
from sparsim.simulator.lower import ConvShape, Problem
from sparsim.simulator.mapping import Exploit, Mapping, k_tile_folds, processed_share
from sparsim.simulator.memory import b_chunk_bytes, tile_fit_bytes
from sparsim.simulator.objects import PerObject
from sparsim.simulator.results import Pass

__all__ = [
    "ORDERS",
    "PORT_STREAMS",
    "AxisTable",
    "NestTraffic",
    "NestView",
    "Tiling",
    "all_double_buffered",
    "axis_table",
    "b_table",
    "b_table_of",
    "choose_tiling",
    "fit_bytes",
    "frozen_grids",
    "kept_ratio",
    "memo",
    "nest_traffic",
    "nest_view",
    "order_factors",
    "port_streams",
    "port_widths",
    "psum_passes",
    "sram_levels",
    "tied_min",
]

ORDERS = ("mnk", "nmk", "mkn", "kmn", "nkm", "knm")
"""Loop orders, outer to inner (``mnk``: ``m`` outermost, ``k`` innermost)."""

_T = TypeVar("_T")

SRAM_STREAMS = ("input", "weight", "metadata", "psum", "output")
"""What a buffer's bytes carry (``NestTraffic.sram``)."""

SRAM_KEYS = (
    ("input", "input", "write"),
    ("input", "input", "read"),
    ("weight", "weight", "write"),
    ("weight", "metadata", "write"),
    ("weight", "weight", "read"),
    ("weight", "metadata", "read"),
    ("output", "psum", "write"),
    ("output", "output", "write"),
    ("output", "psum", "read"),
    ("output", "output", "read"),
)
"""``NestTraffic.sram``'s entries in order: (operand whose buffer, stream, way); keyed
``"<buffer>.<stream>.<way>"`` by the spec's buffer names."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tiling:
    """The buffer-level mapping of one matrix problem (module docstring). ``m``, ``n``, ``k``:
    tile sizes in the nest's axis units (``NestView``); for a conv ``m`` axis in output rows,
    ``images`` whole images per tile when ``m`` is all the rows. ``order``: one of ``ORDERS``.
    ``fits``: whether every tile fits its buffer share."""

    m: int
    n: int
    k: int
    order: str = "mnk"
    images: int = 1
    fits: bool = True

    def describe(self, view: NestView) -> str:
        """``m=... n=... k=... order=...`` in the view's units."""
        m = f"{self.images}x{self.m} {view.m_unit}" if view.m_unit != "" else str(self.m)
        return f"tile m={m} n={self.n} k={self.k} order={self.order}"


@dataclass(frozen=True, slots=True)
class _Axis:
    """One nest axis cut into tiles of ``size`` units: per tile, its GEMM extent ``g`` and its
    footprint factors ``fa`` (A), ``fc`` (C); ``b`` its extent in B's units."""

    g: np.ndarray
    fa: np.ndarray
    fc: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class NestView:
    """A problem seen as the nest's three axes (module docstring table): extents in axis units
    (``m_extent`` in rows per image for a conv, ``images`` the batch), and how a tile size
    becomes per-tile factors (``axis``)."""

    problem: Problem
    m_extent: int
    n_extent: int
    k_extent: int
    images: int
    m_unit: str
    geometry: _Geometry

    def axis(self, name: str, size: int, images: int = 1) -> _Axis:
        return _cached_axis(self.geometry, name, size, images)


VIEWS_KEPT = 4096
"""Problems whose ``NestView`` is kept (``nest_view``); emptied at this size."""


def nest_view(problem: Problem) -> NestView:
    """The nest axes of ``problem`` (module docstring table), once per problem object (a plan
    asks for them several times; ``simulator.objects``; a problem with a real mask is not
    kept)."""
    if problem.b_pattern.mask is not None:
        return _nest_view(problem)
    return _views(problem)


def _nest_view(problem: Problem) -> NestView:
    """``nest_view``, made afresh."""
    c, p = problem.conv, problem
    if c is None:
        return NestView(problem=p, m_extent=p.m, n_extent=p.n, k_extent=p.k, images=1, m_unit="",
                        geometry=_geometry(p))  # fmt: skip
    if p.pass_ == Pass.FW:
        m, n, k = c.out_height, c.out_channels, c.in_channels
    elif p.pass_ == Pass.BW_DATA:
        m, n, k = c.height, c.in_channels, c.out_channels
    else:
        m, n, k = c.in_channels, c.out_channels, c.out_height
    rows = p.pass_ != Pass.BW_WEIGHT
    return NestView(problem=p, m_extent=m, n_extent=n, k_extent=k,
                    images=c.batch if rows else 1, m_unit="rows" if rows else "",
                    geometry=_geometry(p))  # fmt: skip


_views: PerObject[Problem, NestView] = PerObject(_nest_view, VIEWS_KEPT)


def _bands(extent: int, size: int) -> np.ndarray:
    """(start, stop) of the ``ceil(extent / size)`` bands of ``size``."""
    starts = np.arange(0, extent, size, dtype=np.int64)
    return np.stack([starts, np.minimum(starts + size, extent)], axis=1)


@functools.lru_cache(maxsize=4096)
def _touched(out: int, size: int, k: int, s: int, p: int, d: int, band: int) -> tuple[int, ...]:
    """Input indices in ``[0, size)`` touched by each band of ``band`` outputs (a conv axis)."""
    taps = np.arange(k) * d - p
    hit = np.arange(out)[:, None] * s + taps[None, :]
    valid = (hit >= 0) & (hit < size)
    mark = np.zeros((out, size), dtype=bool)
    rows, cols = np.nonzero(valid)
    mark[rows, hit[rows, cols]] = True
    return tuple(int(mark[lo:hi].any(axis=0).sum()) for lo, hi in _bands(out, band))


@functools.lru_cache(maxsize=4096)
def _reaching(out: int, size: int, k: int, s: int, p: int, d: int, band: int) -> tuple[int, ...]:
    """Outputs (dY indices in ``[0, out)``) whose taps reach each band of ``band`` inputs: the
    dY footprint of a dX band in the transposed convolution."""
    taps = np.arange(k) * d - p
    hit = np.arange(out)[:, None] * s + taps[None, :]
    return tuple(
        int((((hit >= lo) & (hit < hi)).any(axis=1)).sum()) for lo, hi in _bands(size, band)
    )


def _split(extent: int, size: int) -> np.ndarray:
    sizes = np.full(-(-extent // size), size, dtype=np.int64)
    sizes[-1] = extent - size * (len(sizes) - 1)
    return sizes


def _image_groups(batch: int, images: int) -> np.ndarray:
    return _split(batch, images)


def _row_axis(problem: Problem, c: ConvShape, size: int, images: int) -> _Axis:
    """The conv ``m`` axis (FW: output rows; BW_DATA: dX rows), bands x image groups, with the
    other axis' footprint per channel: touched input (or reaching dY) rows x columns."""
    kh, kw = c.kernel
    (sh, sw), (ph, pw), (dh, dw) = c.stride, c.padding, c.dilation
    groups = _image_groups(c.batch, images)
    if problem.pass_ == Pass.FW:
        rows = _split(c.out_height, size)
        a_rows = np.array(_touched(c.out_height, c.height, kh, sh, ph, dh, size))
        a_cols = _touched(c.out_width, c.width, kw, sw, pw, dw, c.out_width)[0]
        c_cols, gemm_per_pixel = c.out_width, 1.0
    else:
        rows = _split(c.height, size)
        a_rows = np.array(_reaching(c.out_height, c.height, kh, sh, ph, dh, size))
        a_cols = _reaching(c.out_width, c.width, kw, sw, pw, dw, c.width)[0]
        c_cols = c.width
        gemm_per_pixel = problem.m / (c.batch * c.height * c.width)
    g_img = np.repeat(groups, len(rows))
    fc = g_img * np.tile(rows, len(groups)) * c_cols
    fa = g_img * np.tile(a_rows, len(groups)) * a_cols
    return _Axis(g=fc * gemm_per_pixel, fa=fa.astype(np.float64), fc=fc.astype(np.float64))


_Geometry = tuple[Pass, int, int, int, ConvShape | None]
"""What the nest axes depend on: the pass, dims and conv shape (not names or patterns)."""


def _geometry(problem: Problem) -> _Geometry:
    return problem.pass_, problem.m, problem.n, problem.k, problem.conv


def _problem_of(geometry: _Geometry) -> Problem:
    pass_, m, n, k, conv = geometry
    return Problem(layer="", op="", pass_=pass_, m=m, n=n, k=k, conv=conv)


@functools.lru_cache(maxsize=16384)
def _cached_axis(geometry: _Geometry, name: str, size: int, images: int) -> _Axis:
    """``_axis`` once per geometry (spec-independent: shared across designs), read-only."""
    axis = _axis(_problem_of(geometry), name, size, images)
    for array in (axis.g, axis.fa, axis.fc):
        array.flags.writeable = False
    return axis


def _axis(problem: Problem, name: str, size: int, images: int) -> _Axis:
    """Per-tile factors of axis ``name`` cut into tiles of ``size`` (module docstring)."""
    c, p = problem.conv, problem
    if c is None:
        extent = {"m": p.m, "n": p.n, "k": p.k}[name]
        g = _split(extent, size).astype(np.float64)
        return _Axis(g=g, fa=g, fc=g)
    taps, fw, bwd = c.taps, p.pass_ == Pass.FW, p.pass_ == Pass.BW_DATA
    if name == "m" and (fw or bwd):
        return _row_axis(p, c, size, images)
    if name == "k" and p.pass_ == Pass.BW_WEIGHT:  # output pixels: dY rows, X rows touched
        fwd = Problem(layer="", op="", pass_=Pass.FW, m=p.k, conv=c)
        band = _row_axis(fwd, c, size, images)
        return _Axis(g=band.g, fa=band.fa, fc=band.fc)
    channels = _split({"m": c.in_channels, "n": c.out_channels if not bwd else c.in_channels,
                       "k": c.in_channels if fw else c.out_channels}[name], size)  # fmt: skip
    ch = channels.astype(np.float64)
    # GEMM extent: a channel tile carries all taps where the GEMM axis is channels x taps
    tapped = ((fw or bwd) and name == "k") or (not fw and not bwd and name == "m")
    g = ch * taps if tapped else ch
    fc = g if name == "m" else ch  # BW_WEIGHT C = dW rows (channels x taps)
    return _Axis(g=g, fa=ch, fc=fc)


@dataclass(frozen=True, slots=True, kw_only=True)
class NestTraffic:
    """Per-tile DRAM and buffer-port bytes of one count-instance's tiles in nest order.

    ``load``/``store``: DRAM bytes before/after each tile; ``dram``: totals by operand
    (``input``, ``weight``, ``metadata``, ``psum``, ``output``); ``ports``: per buffer port
    name (``"<buffer> buffer read port"``...), bytes per tile; ``sram``: totals keyed
    ``"<buffer>.<stream>.<read|write>"`` (streams ``SRAM_STREAMS``); ``macs``: GEMM MACs per
    tile (their shares set the compute split); ``metadata_fed``: metadata bytes the array
    read; ``stream_bytes``: ``ports`` split by stream, bytes per tile of each stream of
    ``PORT_STREAMS`` in its order (``port_streams`` names them), for the event engine. A
    one-tile nest gives its ``ports`` and ``stream_bytes`` as ints (``_one_tile_traffic``)."""

    load: np.ndarray
    store: np.ndarray
    dram: dict[str, int]
    ports: dict[str, np.ndarray] | dict[str, int]
    sram: dict[str, int]
    macs: np.ndarray
    metadata_fed: int
    stream_bytes: tuple[np.ndarray, ...] | tuple[int, ...] = ()


PORT_STREAMS = (
    ("input", "input fill", "write", "load"),
    ("input", "input feed", "read", "array"),
    ("weight", "weight fill", "write", "load"),
    ("weight", "metadata fill", "write", "load"),
    ("weight", "weight feed", "read", "array"),
    ("weight", "metadata feed", "read", "array"),
    ("output", "psum write", "write", "array"),
    ("output", "output write", "write", "array"),
    ("output", "psum reload", "write", "load"),
    ("output", "psum read", "read", "array"),
    ("output", "psum spill", "read", "store"),
    ("output", "output drain", "read", "store"),
)
"""What moves through each buffer port, per tile: (operand whose buffer, stream, port way,
holder). The holder is who keeps the port busy in the event engine: ``array`` while the tile
computes (the array's feeds and results), ``load`` the DMA fill bringing the tile's data from
DRAM (with the DRAM channel), ``store`` the drain taking its results to DRAM. A port's streams
add up to its ``ports`` bytes (partial sums split into the array's and DRAM's)."""


def port_streams(
    stream_bytes: tuple[np.ndarray, ...] | tuple[int, ...], spec: AcceleratorSpec
) -> list[tuple[str, str, str, np.ndarray]]:
    """``NestTraffic.stream_bytes`` named: ``(port, stream, holder, bytes per tile)``."""
    names = _buffer_names(spec)
    tiles = max(np.size(b) for b in stream_bytes)
    return [(f"{names[op]} buffer {way} port", stream, holder,
             np.broadcast_to(np.asarray(b, dtype=np.int64), (tiles,)))
            for (op, stream, way, holder), b in zip(PORT_STREAMS, stream_bytes, strict=True)]


def _port_widths(spec: AcceleratorSpec) -> dict[str, int]:
    """Bytes per cycle of every buffer port, by port name."""
    widths = {}
    for name, buf in spec.buffers:
        widths[f"{name} buffer read port"] = buf.read_bytes_per_cycle
        widths[f"{name} buffer write port"] = buf.write_bytes_per_cycle
    return widths


def port_widths(spec: AcceleratorSpec) -> dict[str, int]:
    """Bytes per cycle of every buffer port of ``spec``, by port name (looked up once per
    spec; read-only)."""
    return _facts(spec).port_widths


def sram_levels(spec: AcceleratorSpec) -> tuple[tuple[str, str], ...]:
    """Per ``NestTraffic.sram`` entry (``SRAM_KEYS`` order): its way and its buffer's
    ``bytes_by_level`` key ``"sram.<buffer>.<way>"`` (looked up once per spec)."""
    return _facts(spec).sram_levels


def all_double_buffered(spec: AcceleratorSpec) -> bool:
    """Whether every buffer of ``spec`` is double-buffered (looked up once per spec)."""
    return _facts(spec).double_buffered


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the traffic model reads from one spec, looked up once per spec (``_facts``):
    the fit per operand (``memory.tile_fit_bytes``), bytes per input/weight/output/accumulator
    element and the buffer holding each operand (``_buffer_names``)."""

    fit: dict[Operand, int]
    in_b: float
    w_b: float
    out_b: float
    acc_b: float
    names: dict[str, str]
    port_widths: dict[str, int]
    double_buffered: bool
    sram_keys: tuple[str, ...]
    stream_ports: tuple[str, ...]
    sram_levels: tuple[tuple[str, str], ...]


def _facts_of(spec: AcceleratorSpec) -> _Facts:
    """``_Facts`` of ``spec``, made afresh."""
    operands = (Operand.INPUT, Operand.WEIGHT, Operand.OUTPUT)
    names = _buffer_names(spec)
    return _Facts(fit={o: tile_fit_bytes(spec, o) for o in operands},
                  in_b=spec.precision.bytes_of(Operand.INPUT),
                  w_b=spec.precision.bytes_of(Operand.WEIGHT),
                  out_b=spec.precision.bytes_of(Operand.OUTPUT),
                  acc_b=spec.precision.accumulator_bytes, names=names,
                  port_widths=_port_widths(spec),
                  double_buffered=all(b.double_buffered for _, b in spec.buffers),
                  sram_keys=tuple(f"{names[o]}.{s}.{w}" for o, s, w in SRAM_KEYS),
                  stream_ports=tuple(f"{names[o]} buffer {w} port" for o, _, w in SRAM_KEYS),
                  sram_levels=tuple((w, f"sram.{names[o]}.{w}")
                                    for o, _, w in SRAM_KEYS))  # fmt: skip


_facts: PerObject[AcceleratorSpec, _Facts] = PerObject(_facts_of, 8)
"""``_Facts`` of ``spec``, once per spec object (``simulator.objects``; a few specs at a
time: a design-space sweep visits many once each)."""


def fit_bytes(spec: AcceleratorSpec, operand: Operand) -> int:
    """Bytes one tile of ``operand`` may hold: its buffer share, halved when double-buffered
    (looked up once per spec)."""
    return _facts(spec).fit[operand]


_fit = fit_bytes


def kept_ratio(mp: Mapping) -> float:
    """The fraction of B's K positions stored under group skipping (the pattern's density: a
    group stores exactly its kept positions, ``memory.b_chunk_bytes``), else 1. (The nest's K
    axis is the dense ``k``; ``Mapping.k_kept_per_tile`` holds the slowest group's count per
    fold, which sets time, not storage.)"""
    return mp.exploit.group_density if mp.exploit.group_size else 1.0


def _b_bytes(
    ex: Exploit, ratio: float, g_k: np.ndarray, w_b: float
) -> tuple[np.ndarray, np.ndarray]:
    """B's stored bytes per K tile: (value bytes per column, metadata bytes per metadata column
    unit) (``memory.b_chunk_bytes`` of one column; group skipping keeps ``ratio``, the
    mapping's average kept fraction of K: ``kept_ratio``)."""
    kept = np.ceil(g_k * ratio - 1e-9).astype(np.int64)
    val, meta = b_chunk_bytes(ex, kept, np.ones_like(kept), w_b)
    return val.astype(np.float64), meta.astype(np.float64)


def _b_cols(ex: Exploit, g_n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per N tile: (columns, metadata column units: a bitmap serves ``group_size`` columns)."""
    g = ex.group_size
    return g_n, (np.ceil(g_n / g - 1e-9) if g else g_n)


def _tables(view: NestView, t: Tiling, mp: Mapping, spec: AcceleratorSpec):
    facts = _facts(spec)
    tables = _shape_tables(view.geometry, t.m, t.n, t.k, t.images, facts.in_b, facts.w_b,
                           mp.exploit, kept_ratio(mp))  # fmt: skip
    return (*tables, facts.out_b)


@functools.lru_cache(maxsize=4096)
def _shape_tables(geometry: _Geometry, m: int, n: int, k: int, images: int, in_b: float,
                  w_b: float, ex: Exploit, ratio: float):  # fmt: skip
    """The axes and per-tile-pair A, B (values, metadata) and C tables of a tiling: they
    depend only on the problem's shape, the element bytes and what B stores (not on the
    rest of the spec), so they are made once and shared (read-only)."""
    ax = {name: _cached_axis(geometry, name, size, images) for name, size in
          (("m", m), ("n", n), ("k", k))}  # fmt: skip
    a = np.ceil(np.multiply.outer(ax["m"].fa, ax["k"].fa) * in_b - 1e-9).astype(np.int64)
    val, meta = _b_bytes(ex, ratio, ax["k"].g, w_b)
    group = ex.group_size
    cols, units = ax["n"].g, (np.ceil(ax["n"].g / group - 1e-9) if group else ax["n"].g)
    bv = np.rint(np.multiply.outer(val, cols)).astype(np.int64)
    bm = np.rint(np.multiply.outer(meta, units)).astype(np.int64)
    c_elems = np.multiply.outer(ax["m"].fc, ax["n"].fc)
    for array in (a, bv, bm, c_elems):
        array.flags.writeable = False
    return ax, a, bv, bm, c_elems


class _OneTile(NamedTuple):
    """A one-tile nest's tables as Python scalars (``_one_tile_traffic``): A's, B's value and
    metadata bytes, C's elements, and the tile's GEMM extents."""

    a: int
    bv: int
    bm: int
    c_elems: float
    g_m: float
    g_n: float
    g_k: float


@functools.lru_cache(maxsize=4096)
def _one_tile(geometry: _Geometry, m: int, n: int, k: int, images: int, in_b: float,
              w_b: float, ex: Exploit, ratio: float) -> _OneTile | None:  # fmt: skip
    """``_shape_tables`` as scalars when the tiling is one tile, else ``None`` (cached:
    numpy's scalar reads are slow)."""
    ax, a, bv, bm, c_el = _shape_tables(geometry, m, n, k, images, in_b, w_b, ex, ratio)
    if not (a.size == 1 and bv.size == 1 and c_el.size == 1):
        return None
    return _OneTile(a=int(a[0, 0]), bv=int(bv[0, 0]), bm=int(bm[0, 0]), c_elems=float(c_el[0, 0]),
                    g_m=float(ax["m"].g[0]), g_n=float(ax["n"].g[0]),
                    g_k=float(ax["k"].g[0]))  # fmt: skip


def _refetch(order: str, trips: dict[str, int], irrelevant: str) -> bool:
    """Whether an operand is fetched again on every trip of its ``irrelevant`` axis."""
    inner = order[order.index(irrelevant) + 1 :]
    return math.prod(trips[a] for a in inner) > 1


def _grid_index(order: str, trips: dict[str, int]) -> dict[str, np.ndarray]:
    """Tile index along each axis for every iteration, in loop ``order``."""
    shape = tuple(trips[a] for a in order)
    idx = np.indices(shape).reshape(3, -1)
    return {a: idx[i] for i, a in enumerate(order)}


@dataclass(frozen=True, slots=True)
class _Nest:
    """The iterations of one loop nest (``_grid_index``): tile indices, the fetch flags of A
    and B (indexed by whether the operand stays resident), C's first/last ``k`` visits and
    whether the next (``kept``) or previous (``came``) iteration has the same C tile."""

    i: np.ndarray
    j: np.ndarray
    f: np.ndarray
    a_get: tuple[np.ndarray, np.ndarray]
    b_get: tuple[np.ndarray, np.ndarray]
    first: np.ndarray
    last: np.ndarray
    kept: np.ndarray
    came: np.ndarray


@functools.lru_cache(maxsize=4096)
def _nest(order: str, tm: int, tn: int, tk: int) -> _Nest:
    """``_Nest`` once per loop order and trip counts (spec-independent), read-only."""
    ix = _grid_index(order, {"m": tm, "n": tn, "k": tk})
    i, j, f = ix["m"], ix["n"], ix["k"]
    a_key, b_key, c_key = i * tk + f, f * tn + j, i * tn + j
    same = c_key[1:] == c_key[:-1]
    nest = _Nest(i=i, j=j, f=f,
                 a_get=(_fetch_flags(a_key, False), _fetch_flags(a_key, True)),
                 b_get=(_fetch_flags(b_key, False), _fetch_flags(b_key, True)),
                 first=f == 0, last=f == tk - 1,
                 kept=np.append(same, False), came=np.append(False, same))  # fmt: skip
    for array in (i, j, f, *nest.a_get, *nest.b_get, nest.first, nest.last, nest.kept,
                  nest.came):  # fmt: skip
        array.flags.writeable = False
    return nest


def _fetch_flags(key: np.ndarray, resident: bool) -> np.ndarray:
    """Iterations that fetch an operand tile keyed ``key``: each first use if the whole
    operand stays resident, else every change from the previous iteration."""
    if resident:
        first = np.zeros(len(key), dtype=bool)
        first[np.unique(key, return_index=True)[1]] = True
        return first
    return np.append(True, key[1:] != key[:-1])


def _passes(mp: Mapping, g_other: np.ndarray, side: int) -> np.ndarray:
    return np.ceil(g_other / side - 1e-9).astype(np.int64)


def _buffer_names(spec: AcceleratorSpec) -> dict[str, str]:
    if spec.shared_buffer:
        return dict.fromkeys(("input", "weight", "output"), "shared")
    return {o: o for o in ("input", "weight", "output")}


def nest_traffic(
    view: NestView,
    tiling: Tiling,
    mp: Mapping,
    spec: AcceleratorSpec,
    *,
    input_on_chip: bool = False,
    output_on_chip: bool = False,
) -> NestTraffic:
    """Per-tile DRAM and buffer-port bytes of ``tiling`` (module docstring). ``input_on_chip``:
    A is already in the input buffer (a producer left it there); ``output_on_chip``: C's final
    values stay for the next layer (no DRAM store)."""
    facts, t = _facts(spec), tiling
    one = _one_tile(view.geometry, t.m, t.n, t.k, t.images, facts.in_b, facts.w_b, mp.exploit,
                    kept_ratio(mp))  # fmt: skip
    share = processed_share(mp, view.problem.k)
    if one is not None:  # one tile: scalars
        return _one_tile_traffic(one, mp, facts, share, input_on_chip, output_on_chip)
    return _array_traffic(view, tiling, mp, spec, share, input_on_chip, output_on_chip)


def _array_traffic(view: NestView, tiling: Tiling, mp: Mapping, spec: AcceleratorSpec, share: float,
                   input_on_chip: bool, output_on_chip: bool) -> NestTraffic:  # fmt: skip
    """``nest_traffic`` over the nest's iterations as numpy arrays (any number of tiles);
    ``share``: ``mapping.processed_share``."""
    ax, a_tab, bv_tab, bm_tab, c_el, out_b = _tables(view, tiling, mp, spec)
    facts = _facts(spec)
    acc_b, in_b, fit = facts.acc_b, facts.in_b, facts.fit
    nest = _nest(tiling.order, len(ax["m"].g), len(ax["n"].g), len(ax["k"].g))
    i, j, f = nest.i, nest.j, nest.f
    a_res = int(a_tab.sum()) <= fit[Operand.INPUT]
    b_res = int(bv_tab.sum() + bm_tab.sum()) <= fit[Operand.WEIGHT]
    c_res = float(c_el.sum()) * acc_b <= fit[Operand.OUTPUT]
    a_get = nest.a_get[a_res] & (not input_on_chip)
    b_get = nest.b_get[b_res]
    first, last, kept, came = nest.first, nest.last, nest.kept, nest.came
    spill_out = ~last & ~kept & (not c_res)
    spill_in = ~first & ~came & (not c_res)
    c_elems = c_el[i, j]
    a_load = a_tab[i, f] * a_get
    bv, bm = bv_tab[f, j] * b_get, bm_tab[f, j] * b_get
    psum_in = np.ceil(c_elems * acc_b * spill_in - 1e-9).astype(np.int64)
    psum_out = np.ceil(c_elems * acc_b * spill_out - 1e-9).astype(np.int64)
    final = np.ceil(c_elems * out_b * last - 1e-9).astype(np.int64) * (not output_on_chip)
    g_m, g_n, g_k = ax["m"].g[i], ax["n"].g[j], ax["k"].g[f]
    # array feed (im2col between buffer and array) and partial-sum traffic in the output buffer
    flow, rows, cols = mp.dataflow, mp.rows, mp.cols
    a_side = {"os": rows, "ws": cols}.get(flow, 0)
    a_pass = _passes(mp, g_n, a_side) if a_side else 1
    b_pass = 1 if flow == "ws" else _passes(mp, g_m, cols)
    feed_val, feed_meta = bv_tab[f, j] * b_pass, bm_tab[f, j] * b_pass
    a_feed = np.ceil(g_m * g_k * in_b * a_pass - 1e-9).astype(np.int64)
    folds = 1 if flow == "os" else k_tile_folds(g_k, share, mp)
    psum_elems = c_elems  # accumulators of this tile (C's footprint: dX/dW without im2col)
    acc_writes = psum_elems * acc_b * (folds - last) + psum_elems * out_b * last
    acc_reads = psum_elems * acc_b * (folds - 1 + ~first)
    res_write = np.ceil(acc_writes - 1e-9).astype(np.int64)
    res_read = np.ceil(acc_reads - 1e-9).astype(np.int64)
    final_write = np.ceil(psum_elems * out_b * last - 1e-9).astype(np.int64)
    psum_write = res_write - final_write
    streams = (a_load, a_feed, bv, bm, feed_val, feed_meta, psum_write + psum_in, final_write,
               res_read + psum_out, final)  # ``SRAM_KEYS`` order
    ports: dict[str, np.ndarray] = {}
    for port, per_tile in zip(facts.stream_ports, streams, strict=True):
        ports[port] = ports.get(port, 0) + per_tile
    macs = g_m * g_n * g_k
    split = (a_load, a_feed, bv, bm, feed_val, feed_meta, psum_write, final_write, psum_in,
             res_read, psum_out, final)  # ``PORT_STREAMS`` order
    # every stream is an int64 array over the tiles: one reduction sums them all
    sums = np.stack([*streams, psum_in, psum_out]).sum(axis=1).tolist()
    return NestTraffic(
        load=a_load + bv + bm + psum_in,
        store=final + psum_out,
        dram={"input": sums[0], "weight": sums[2], "metadata": sums[3],
              "psum": sums[-2] + sums[-1], "output": sums[9]},
        ports={k: _per_tile(v, macs.shape) for k, v in ports.items()},
        sram=dict(zip(facts.sram_keys, sums, strict=False)),
        macs=macs,
        metadata_fed=sums[5],
        stream_bytes=split,
    )  # fmt: skip


def _ceil(x: float) -> int:
    """``np.ceil(x - 1e-9)`` as an int, on a Python float (the same IEEE double steps)."""
    return math.ceil(x - 1e-9)


def _one_tile_traffic(one: _OneTile, mp: Mapping, facts: _Facts, share: float,
                      input_on_chip: bool, output_on_chip: bool) -> NestTraffic:  # fmt: skip
    """``nest_traffic`` of a one-tile nest on Python scalars: numpy's per-call overhead
    dominates one-element arrays, and most layers fit whole. The same operations in the same
    order on IEEE doubles and exact ints as the array path (tested equal): the tile is its
    first and last ``k`` visit, nothing spills, every operand is fetched once. Its ``ports``
    and ``stream_bytes`` are Python ints (one tile's bytes)."""
    acc_b, in_b, out_b = facts.acc_b, facts.in_b, facts.out_b
    bv, bm, c_elems = one.bv, one.bm, one.c_elems
    a_load = 0 if input_on_chip else one.a
    final = 0 if output_on_chip else _ceil(c_elems * out_b)
    g_m, g_n, g_k = one.g_m, one.g_n, one.g_k
    flow, rows, cols = mp.dataflow, mp.rows, mp.cols
    a_side = {"os": rows, "ws": cols}.get(flow, 0)
    a_pass = _ceil(g_n / a_side) if a_side else 1
    b_pass = 1 if flow == "ws" else _ceil(g_m / cols)
    feed_val, feed_meta = bv * b_pass, bm * b_pass
    a_feed = _ceil(g_m * g_k * in_b * a_pass)
    folds = 1 if flow == "os" else k_tile_folds(g_k, share, mp)
    acc_writes = c_elems * acc_b * (folds - 1) + c_elems * out_b
    acc_reads = c_elems * acc_b * (folds - 1)
    res_write, res_read = _ceil(acc_writes), _ceil(acc_reads)
    final_write = _ceil(c_elems * out_b)
    streams = (a_load, a_feed, bv, bm, feed_val, feed_meta, res_write - final_write, final_write,
               res_read, final)  # ``SRAM_KEYS`` order
    ports: dict[str, int] = {}
    for port, nbytes in zip(facts.stream_ports, streams, strict=True):
        ports[port] = ports.get(port, 0) + nbytes
    load, store = np.array([[a_load + bv + bm], [final]], dtype=np.int64)
    return NestTraffic(
        load=load,
        store=store,
        dram={"input": a_load, "weight": bv, "metadata": bm, "psum": 0, "output": final},
        ports=ports,
        sram=dict(zip(facts.sram_keys, streams, strict=True)),
        macs=np.array([g_m * g_n * g_k]),
        metadata_fed=feed_meta,
        stream_bytes=(a_load, a_feed, bv, bm, feed_val, feed_meta, res_write - final_write,
                      final_write, 0, res_read, 0, final),  # ``PORT_STREAMS``: no psum DRAM
    )  # fmt: skip


def _per_tile(nbytes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``nbytes`` as an int64 array of ``shape`` (a fresh array: no copy when it is one)."""
    if nbytes.shape == shape and nbytes.dtype == np.int64:
        return nbytes
    return np.broadcast_to(nbytes, shape).astype(np.int64)


def _candidates(extent: int) -> list[int]:
    """``extent`` halved repeatedly (rounded up) down to 1."""
    out, size = [], extent
    while True:
        out.append(size)
        if size == 1:
            return out
        size = -(-size // 2)


@dataclass(frozen=True, slots=True)
class AxisTable:
    """One axis' candidate tilings (per candidate: size, images, trips, footprint sums and
    maxima, and the GEMM elements of each tile in ``g``); the chooser and the mapper share it."""

    size: np.ndarray
    images: np.ndarray
    trips: np.ndarray
    fa_sum: np.ndarray
    fa_max: np.ndarray
    fc_sum: np.ndarray
    fc_max: np.ndarray
    g_sum: np.ndarray
    g: tuple[np.ndarray, ...]

    def passes(self, side: float) -> np.ndarray:
        """``sum(ceil(g / side))`` per candidate: array passes over this axis (made once per
        table and side, read-only)."""
        return memo((self,), "passes", side, lambda: _frozen(np.array(
            [np.ceil(g / side - 1e-9).sum() for g in self.g])))  # fmt: skip

    def larger(self, side: float) -> np.ndarray:
        """Per candidate: whether its largest tile spans more than ``side`` GEMM elements."""
        return memo((self,), "larger", side,
                     lambda: _frozen(np.array([g.max() > side for g in self.g])))


_memos: dict[tuple, tuple[tuple, object]] = {}


def memo(owners: tuple, what: str, arg: object, make: Callable[[], _T]) -> _T:
    """``make()`` once per (``owners`` objects, ``what``, hashable ``arg``): for values derived
    from the spec-independent cached tables (``AxisTable``), shared across designs and kept
    read-only. The entry holds its owners, so their ids cannot be reused while it lives."""
    key = (*map(id, owners), what, arg)
    hit = _memos.get(key)
    if hit is None or any(a is not b for a, b in zip(hit[0], owners, strict=True)):
        if len(_memos) >= MEMO_SIZE:
            _memos.clear()
        hit = _memos[key] = (owners, make())
    return hit[1]  # type: ignore[return-value]


MEMO_SIZE = 4096
"""Values kept by ``memo``; emptied at this size (a search or chooser grid entry holds tens of
KB: bounded memory for long sweeps)."""


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def frozen_grids(grids: _T) -> _T:
    """``grids`` (a slots dataclass of arrays kept in ``memo``) with every array read-only, so
    no caller can change a shared table."""
    for name in grids.__slots__:  # type: ignore[attr-defined]
        value = getattr(grids, name)
        if isinstance(value, np.ndarray) and value.flags.writeable:
            value.flags.writeable = False
    return grids


def axis_table(view: NestView, name: str, sizes: list[int], image_sizes: list[int]) -> AxisTable:
    """The table of axis ``name`` over tile ``sizes`` (largest first). On the axis that carries
    the images (``m`` of a row-banded conv, ``k`` of a weight gradient) the whole extent over
    ``image_sizes`` images replaces the largest size."""
    extent = {"m": view.m_extent, "n": view.n_extent, "k": view.k_extent}[name]
    pairs = [(s, 1) for s in sizes]
    image_axis = view.images > 1 and (
        (name == "m" and view.m_unit) or (name == "k" and view.problem.pass_ == Pass.BW_WEIGHT)
    )
    if image_axis:
        pairs = [(extent, im) for im in image_sizes] + pairs[1:]
    axes = [view.axis(name, s, im) for s, im in pairs]
    return AxisTable(
        size=np.array([s for s, _ in pairs]),
        images=np.array([im for _, im in pairs]),
        trips=np.array([len(a.g) for a in axes]),
        fa_sum=np.array([a.fa.sum() for a in axes]),
        fa_max=np.array([a.fa.max() for a in axes]),
        fc_sum=np.array([a.fc.sum() for a in axes]),
        fc_max=np.array([a.fc.max() for a in axes]),
        g_sum=np.array([a.g.sum() for a in axes]),
        g=tuple(a.g for a in axes),
    )


def _axis_cands(view: NestView, name: str, fold: int = 0) -> AxisTable:
    """Candidate tilings of one axis; ``fold`` (``k`` of ``ws``/``is``): GEMM elements one
    array fold reduces, adding the tiles holding whole folds (1, 2, 4, ... folds). Cached per
    geometry (spec-independent)."""
    return _cands(view.geometry, view.m_extent, view.n_extent, view.k_extent,
                  view.images, view.m_unit, name, fold)  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _cands(geometry: _Geometry, m_extent: int, n_extent: int, k_extent: int, images: int,
           m_unit: str, name: str, fold: int) -> AxisTable:  # fmt: skip
    view = NestView(problem=_problem_of(geometry), m_extent=m_extent, n_extent=n_extent,
                    k_extent=k_extent, images=images, m_unit=m_unit, geometry=geometry)  # fmt: skip
    extent = {"m": view.m_extent, "n": view.n_extent, "k": view.k_extent}[name]
    sizes = _candidates(extent)
    if fold:
        unit = max(1, int(view.axis(name, 1).g[0]))
        folds = (fold * 2**j // unit for j in range(40) if fold * 2**j // unit < extent)
        sizes = sorted({*sizes, *(f for f in folds if f >= 1)}, reverse=True)
    return axis_table(view, name, sizes, _candidates(view.images))


def order_factors(cm: AxisTable, cn: AxisTable, ck: AxisTable) -> dict[str, np.ndarray]:
    """Per irrelevant axis, the fetches of its operand per visit of its tile for every loop
    order stacked on axis 0, shape (orders, m, n, k): that axis' trips unless the loops inside
    it have one trip (module docstring, Reuse); made once per tables (spec-independent)."""

    def make() -> dict[str, np.ndarray]:
        trips = {"m": cm.trips[:, None, None], "n": cn.trips[None, :, None],
                 "k": ck.trips[None, None, :]}  # fmt: skip
        shape = (len(cm.trips), len(cn.trips), len(ck.trips))
        out = {irr: np.stack([np.broadcast_to(_factor(o, irr, trips), shape) for o in ORDERS])
               for irr in "mnk"}  # fmt: skip
        for array in out.values():
            array.flags.writeable = False
        return out

    return memo((cm, cn, ck), "factors", None, make)


def _factor(order: str, irrelevant: str, trips: dict[str, np.ndarray]) -> np.ndarray:
    """``order_factors`` of one order and irrelevant axis."""
    inner = order[order.index(irrelevant) + 1 :]
    prod = np.ones(1, dtype=np.int64)
    for ax in inner:
        prod = prod * trips[ax]
    return np.where(prod > 1, trips[irrelevant], 1)


def b_table_of(
    ex: Exploit, ratio: float, ck: AxisTable, cn: AxisTable, w_b: float
) -> tuple[np.ndarray, np.ndarray]:
    """``b_table``, once per tables and what B's storage depends on (shared across
    designs, read-only)."""

    def make() -> tuple[np.ndarray, np.ndarray]:
        out = b_table(ex, ratio, ck, cn, w_b)
        for array in out:
            array.flags.writeable = False
        return out

    return memo((ck, cn), "b", (ex, ratio, w_b), make)


def b_table(
    ex: Exploit, ratio: float, ck: AxisTable, cn: AxisTable, w_b: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sum and max of B's stored bytes (values + metadata) for every (k, n) candidate pair,
    shape (k, n); ``ratio``: the kept fraction of K under group skipping (``kept_ratio``)."""
    kv = [_b_bytes(ex, ratio, g, w_b) for g in ck.g]
    nv = [_b_cols(ex, g) for g in cn.g]
    vs, ms = np.array([v.sum() for v, _ in kv]), np.array([m.sum() for _, m in kv])
    vx, mx = np.array([v.max() for v, _ in kv]), np.array([m.max() for _, m in kv])
    cs, us = np.array([c.sum() for c, _ in nv]), np.array([u.sum() for _, u in nv])
    cx, ux = np.array([c.max() for c, _ in nv]), np.array([u.max() for _, u in nv])
    return np.outer(vs, cs) + np.outer(ms, us), np.outer(vx, cx) + np.outer(mx, ux)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Chooser:
    """The parts of ``choose_tiling``'s grids that depend only on the axis tables, the
    mapping's array and B's storage and the element bytes (not on buffer sizes, ports or DRAM):
    made once and shared across designs (``_chooser_grids``), read-only. ``a_feed``/``b_feed``:
    the array feeds' bytes per (m, n) candidate before dividing by the read ports
    (``_feed_bytes``)."""

    a_sum: np.ndarray
    a_max: np.ndarray
    b_sum: np.ndarray
    b_max: np.ndarray
    c_held: np.ndarray
    c_acc: np.ndarray
    c_acc_bytes: np.ndarray
    final: np.ndarray
    psums: np.ndarray
    a_feed: np.ndarray
    b_feed: np.ndarray
    factors: dict[str, np.ndarray]
    k_once: np.ndarray
    k_spills: np.ndarray
    tiles: np.ndarray


def psum_passes(ck: AxisTable, mp: Mapping, share: float) -> np.ndarray:
    """Per ``k`` candidate of ``ck``: the passes of C's partial sums through the output
    buffer, one per ``k`` tile (``os``) or one per array fold of each ``k`` tile (``ws``/``is``:
    ``mapping.k_tile_folds`` in the tables' dense units; ``share``:
    ``mapping.processed_share``). The chooser and the mapper's search both count them here."""
    if mp.dataflow == "os":
        return ck.trips
    return ck.passes(mp.rows * mp.k_per_step / share)


def _chooser_grids(
    view: NestView, mp: Mapping, spec: AcceleratorSpec,
    axes: tuple[AxisTable, AxisTable, AxisTable],
) -> _Chooser:  # fmt: skip
    """``_Chooser`` of one mapping on ``axes``, once per tables and what it reads."""
    in_b, out_b = (spec.precision.bytes_of(o) for o in (Operand.INPUT, Operand.OUTPUT))
    acc_b, w_b = spec.precision.accumulator_bytes, spec.precision.bytes_of(Operand.WEIGHT)
    ratio, p = kept_ratio(mp), view.problem
    share = processed_share(mp, p.k)
    key = (mp.dataflow, mp.rows, mp.cols, mp.k_per_step, mp.exploit, ratio, in_b, out_b, w_b,
           acc_b, p.m, p.n, p.k, share)  # fmt: skip

    def make() -> _Chooser:
        cm, cn, ck = axes
        b_sum, b_max = b_table_of(mp.exploit, ratio, ck, cn, w_b)
        c_sum = cm.fc_sum[:, None, None] * cn.fc_sum[None, :, None]
        c_max = cm.fc_max[:, None, None] * cn.fc_max[None, :, None]
        tm, tn, tk = cm.trips[:, None, None], cn.trips[None, :, None], ck.trips[None, None, :]
        # C is held at accumulator width while partial: k tiled, or ws/is folding k in the array
        # k_tile_folds in the units the tables take: more than one fold where a tile's dense
        # positions exceed a fold's over the processed share
        folds_k = ck.larger(mp.rows * mp.k_per_step / share)
        partial = (ck.trips > 1) | (folds_k & (mp.dataflow != "os"))
        c_width = np.where(partial, acc_b, out_b)[None, None, :]
        passes = psum_passes(ck, mp, share)
        a_feed, b_feed = _feed_bytes(view, mp, in_b, w_b, cm, cn)
        factors = order_factors(cm, cn, ck)
        shape = (len(ORDERS), len(cm.trips), len(cn.trips), len(ck.trips))
        out = _Chooser(
            a_sum=np.ceil(cm.fa_sum[:, None, None] * ck.fa_sum[None, None, :] * in_b),
            a_max=cm.fa_max[:, None, None] * ck.fa_max[None, None, :] * in_b,
            b_sum=b_sum.T[None, :, :], b_max=b_max.T[None, :, :],  # (1, n, k)
            c_held=c_max * c_width, c_acc=c_sum * acc_b, c_acc_bytes=np.ceil(c_sum * acc_b),
            final=np.ceil(c_sum * out_b), psums=c_sum * acc_b * passes[None, None, :],
            a_feed=a_feed, b_feed=b_feed, factors=factors, k_once=factors["k"] == 1,
            k_spills=2 * (tk - 1), tiles=np.broadcast_to(tm * tn * tk, shape),
        )  # fmt: skip
        return frozen_grids(out)

    return memo(axes, "chooser", key, make)


def _feed_bytes(view: NestView, mp: Mapping, in_b: float, w_b: float, cm: AxisTable,
                cn: AxisTable) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The input and weight buffers' array-feed bytes of each (m, n) candidate, shapes
    (1, n, 1) and (m, 1, 1): over the read ports' bytes per cycle, a lower bound on their
    cycles."""
    p = view.problem
    a_all = p.m * p.k * in_b
    b_all = p.k * p.n * w_b * (mp.exploit.weight_keep if mp.exploit.nm else 1.0)
    side_n = {"os": mp.rows, "ws": mp.cols}.get(mp.dataflow, 0)
    n_pass = memo((cn,), "n_pass", (side_n, p.n), lambda: _frozen(np.array(
        [np.ceil(g / side_n - 1e-9).sum() / max(g.sum(), 1) * p.n if side_n else 1
         for g in cn.g])))  # fmt: skip
    m_side = 0 if mp.dataflow == "ws" else mp.cols
    m_pass = memo((cm,), "m_pass", (m_side, p.m), lambda: _frozen(np.array(
        [1 if not m_side else np.ceil(g / m_side - 1e-9).sum() / max(g.sum(), 1) * p.m
         for g in cm.g])))  # fmt: skip
    return a_all * n_pass[None, :, None], b_all * m_pass[:, None, None]


@functools.lru_cache(maxsize=16384)
def _whole_bytes(geometry: _Geometry, m_extent: int, n_extent: int, k_extent: int, images: int,
                 in_b: float, w_b: float, ex: Exploit,
                 ratio: float) -> tuple[float, float, float, float]:  # fmt: skip
    """(A bytes, B stored bytes, C elements, the largest K tile's GEMM extent) of the one
    whole tile (``_whole_tile``): spec-independent but for the element bytes and what B
    stores, so made once per shape and shared across designs."""
    m = _cached_axis(geometry, "m", m_extent, images)
    n, k = _cached_axis(geometry, "n", n_extent, 1), _cached_axis(geometry, "k", k_extent, images)
    a = float(m.fa.sum() * k.fa.sum()) * in_b
    val, meta = _b_bytes(ex, ratio, k.g, w_b)
    cols, units = _b_cols(ex, n.g)
    b = float(val.sum() * cols.sum() + meta.sum() * units.sum())
    return a, b, float(m.fc.sum() * n.fc.sum()), float(k.g.max())


def _whole_tile(
    view: NestView, mp: Mapping, spec: AcceleratorSpec, input_on_chip: bool
) -> Tiling | None:
    """One tile holding every operand, if each fits its buffer share (C at accumulator width
    if ``ws``/``is`` fold ``k``, else at output width): it moves the compulsory bytes and
    feeds the array the fewest times, so no other tiling has a smaller bound
    (``choose_tiling``); ``None`` if something does not fit."""
    facts = _facts(spec)
    a_all, b, c_all, k_max = _whole_bytes(view.geometry, view.m_extent, view.n_extent,
                                          view.k_extent, view.images, facts.in_b, facts.w_b,
                                          mp.exploit, kept_ratio(mp))  # fmt: skip
    a = 0.0 if input_on_chip else a_all
    partial = mp.dataflow != "os" and k_tile_folds(k_max, processed_share(mp, view.problem.k),
                                                   mp) > 1  # fmt: skip
    c = c_all * (facts.acc_b if partial else facts.out_b)
    fit = facts.fit
    fits = (a <= fit[Operand.INPUT] and b <= fit[Operand.WEIGHT]
            and c <= fit[Operand.OUTPUT])  # fmt: skip
    if not fits:
        return None
    images = view.images if (view.m_unit or view.problem.pass_ == Pass.BW_WEIGHT) else 1
    return Tiling(m=view.m_extent, n=view.n_extent, k=view.k_extent, order=ORDERS[0],
                  images=images)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class TilingOptions:
    """What ``choose_tiling`` weighs, all but the DRAM's bandwidth: the one whole tile when
    everything fits (``whole``), else the fitting (order, m, n, k) candidates (``at``: flat
    indices into ``shape``, ascending) with their DRAM bytes, read/write-port cycle bound and
    tile count. Shared by designs differing only in DRAM (``mapper.fixed_candidate``)."""

    whole: Tiling | None
    axes: tuple[AxisTable, AxisTable, AxisTable] | None = None
    shape: tuple[int, ...] = ()
    at: np.ndarray | None = None
    total: np.ndarray | None = None
    feed: np.ndarray | None = None
    tiles: np.ndarray | None = None
    m_unit: bool = False
    compute: np.ndarray | None = None


class CandidateGrids(Protocol):
    """What ``candidate_dram`` reads of a grid of (order, m, n, k) tiling candidates (the
    chooser's ``_Chooser``, the mapper's ``_Static``)."""

    @property
    def a_sum(self) -> np.ndarray: ...
    @property
    def b_sum(self) -> np.ndarray: ...
    @property
    def c_acc(self) -> np.ndarray: ...
    @property
    def c_acc_bytes(self) -> np.ndarray: ...
    @property
    def final(self) -> np.ndarray: ...
    @property
    def factors(self) -> dict[str, np.ndarray]: ...
    @property
    def k_once(self) -> np.ndarray: ...
    @property
    def k_spills(self) -> np.ndarray: ...


def candidate_dram(
    g: CandidateGrids, spec: AcceleratorSpec, input_on_chip: bool, output_on_chip: bool
) -> tuple[np.ndarray | float, np.ndarray, np.ndarray]:
    """(A's fills, B's fills, all DRAM bytes) of every candidate, every loop order at once
    (axis 0 of ``order_factors``; grids that broadcast to the candidates' shape, a float where
    nothing moves): A and B fetched once when their whole operand fits its
    buffer share, else once per trip of the loop they do not depend on; C's partial sums
    spilled and reloaded when C does not fit and k takes several tiles; the final outputs
    stored unless they stay on chip (module docstring, Reuse). A resident input moves
    nothing."""
    f = g.factors
    a_res = g.a_sum <= _fit(spec, Operand.INPUT)
    b_res = g.b_sum <= _fit(spec, Operand.WEIGHT)
    c_res = g.c_acc <= _fit(spec, Operand.OUTPUT)
    a = 0.0 if input_on_chip else _fetched(g.a_sum, a_res, f["n"])
    b = _fetched(g.b_sum, b_res, f["m"])
    final = 0.0 if output_on_chip else g.final
    total = a + b + final
    if not c_res.all():  # C's partial sums spill where it does not fit and k takes tiles
        total = total + np.where(c_res | g.k_once, 0, g.k_spills) * g.c_acc_bytes
    return a, b, total


def _fetched(whole: np.ndarray, resident: np.ndarray, trips: np.ndarray) -> np.ndarray:
    """An operand's DRAM bytes per candidate: its ``whole`` bytes once where it stays
    resident, else once per trip of the loop it does not depend on. The grids it returns
    broadcast to the candidates' (orders, m, n, k); when the operand is resident in every
    candidate (most layers) that is ``whole`` itself, with no per-order work."""
    if resident.all():
        return whole
    return whole * np.where(resident, 1, trips)


def tiling_options(
    view: NestView,
    mp: Mapping,
    spec: AcceleratorSpec,
    *,
    input_on_chip: bool = False,
    output_on_chip: bool = False,
    k_compute: Callable[[AxisTable], np.ndarray] | None = None,
) -> TilingOptions:
    """``TilingOptions`` of one mapping (``choose_tiling``); ``k_compute``: per ``k``
    candidate, the compute cycles per group when the tiling of ``k`` changes them
    (``mapper.tiled_compute``)."""
    whole = _whole_tile(view, mp, spec, input_on_chip)
    if whole is not None:
        return TilingOptions(whole=whole)
    fold = mp.rows * mp.k_per_step if mp.dataflow != "os" else 0
    k_fold = fold if not (view.problem.conv and view.problem.pass_ == Pass.BW_WEIGHT) else 0
    cm, cn, ck = _axis_cands(view, "m"), _axis_cands(view, "n"), _axis_cands(view, "k", k_fold)
    g = _chooser_grids(view, mp, spec, (cm, cn, ck))
    a_max = np.zeros_like(g.a_max) if input_on_chip else g.a_max  # a resident A needs no tile
    fits = (
        (a_max <= _fit(spec, Operand.INPUT))
        & (g.b_max <= _fit(spec, Operand.WEIGHT))
        & (g.c_held <= _fit(spec, Operand.OUTPUT))
    )
    read_in = spec.buffer_for(Operand.INPUT).read_bytes_per_cycle
    read_w = spec.buffer_for(Operand.WEIGHT).read_bytes_per_cycle
    feed = np.maximum(g.a_feed / read_in, g.b_feed / read_w)  # read-port lower bound
    # partial sums written to the output buffer: once per array fold of k (os: per k tile)
    feed = np.maximum(feed, g.psums / spec.buffer_for(Operand.OUTPUT).write_bytes_per_cycle)
    total = candidate_dram(g, spec, input_on_chip, output_on_chip)[2]
    shape = g.tiles.shape
    at, total, feed, tiles = fitting_candidates(fits, shape, total, feed, g.tiles)
    compute: np.ndarray | None = None
    if k_compute is not None:  # per k candidate, on the grid's last axis
        compute = fitting_candidates(fits, shape, k_compute(ck))[1]
    return TilingOptions(whole=None, axes=(cm, cn, ck), shape=shape, at=at, total=total,
                         feed=feed, tiles=tiles, m_unit=bool(view.m_unit),
                         compute=compute)  # fmt: skip


def fitting_candidates(fits: np.ndarray, shape: tuple[int, ...],
                       *values: np.ndarray | float) -> tuple[np.ndarray, ...]:  # fmt: skip
    """The flat indices of the fitting candidates of a grid of ``shape`` (``fits``
    broadcasts to it), ascending, then each of ``values`` (broadcasting too) at those
    candidates only: what a pick over the fitting ones needs, flat."""
    grid = np.broadcast_to(fits, shape)
    if grid.all():  # every candidate fits (most layers): nothing to gather
        return np.arange(grid.size), *(np.broadcast_to(v, shape).ravel() for v in values)
    at = np.flatnonzero(grid)
    return at, *(np.broadcast_to(v, shape).ravel()[at] for v in values)


def tied_min(*keys: np.ndarray) -> np.ndarray:
    """The indices (ascending) of the entries smallest by ``keys`` (the first key first, the
    next breaking its ties, ...), narrowed key by key so that thousands of candidates tied on
    the first key (a compute-bound layer) cost little."""
    first = keys[0]
    at = np.flatnonzero(first == first.min())
    for key in keys[1:]:
        if at.size == 1:
            break
        values = key[at]
        at = at[values == values.min()]
    return at


def first_min(*keys: np.ndarray) -> int:
    """The index of the smallest entry by ``keys`` (the lowest index last):
    ``np.lexsort(keys[::-1])[0]`` (``tied_min``)."""
    return int(tied_min(*keys)[0])


def pick_tiling(options: TilingOptions, dram_bytes_per_cycle: float) -> Tiling:
    """The fitting tiling and loop order with the smallest memory-time bound at
    ``dram_bytes_per_cycle`` (module docstring): the first (order, m, n, k) by (bound, bound
    with the two terms added, DRAM bytes, tile count); the smallest tiles, marked as not
    fitting, when nothing fits."""
    if options.whole is not None:
        return options.whole
    assert options.axes is not None and options.at is not None
    assert options.total is not None and options.feed is not None and options.tiles is not None
    cm, cn, ck = options.axes
    if not options.at.size:  # nothing fits: the smallest tiles, noted by the caller
        im, jn, kk = len(cm.size) - 1, len(cn.size) - 1, len(ck.size) - 1
        return Tiling(m=int(cm.size[im]), n=int(cn.size[jn]), k=int(ck.size[kk]), order="mnk",
                      images=int(max(cm.images[im], ck.images[kk])), fits=False)  # fmt: skip
    total, feed = options.total, options.feed
    cost = np.maximum(total / dram_bytes_per_cycle, feed)
    keys: tuple[np.ndarray, ...] = (cost, total / dram_bytes_per_cycle + feed, total,
                                    options.tiles)  # fmt: skip
    if options.compute is not None:  # the k tiles' partial folds: in the bound, then the
        cost = np.maximum(cost, options.compute)  # fewest folds first on its ties
        keys = (cost, options.compute, *keys[1:])
    pick = int(options.at[first_min(*keys)])
    return tiling_at(options.axes, options.shape, pick, options.m_unit)


def tiling_at(axes: tuple[AxisTable, AxisTable, AxisTable], shape: tuple[int, ...], flat: int,
              m_unit: bool) -> Tiling:  # fmt: skip
    """The tiling at flat index ``flat`` of an (order, m, n, k) grid of ``shape`` over
    ``axes``; the images ride on ``m`` when it counts rows of images (``m_unit``), else on
    ``k``."""
    o, im, jn, kk = (int(x) for x in np.unravel_index(flat, shape))
    cm, cn, ck = axes
    images = int(cm.images[im]) if m_unit else int(ck.images[kk])
    return Tiling(m=int(cm.size[im]), n=int(cn.size[jn]), k=int(ck.size[kk]), order=ORDERS[o],
                  images=images)  # fmt: skip


def choose_tiling(
    view: NestView,
    mp: Mapping,
    spec: AcceleratorSpec,
    *,
    input_on_chip: bool = False,
    output_on_chip: bool = False,
) -> Tiling:
    """The fitting tiling and loop order with the smallest memory-time bound (module
    docstring); ``input_on_chip``/``output_on_chip`` as in ``nest_traffic`` (a resident A
    needs no tile of its own and moves no DRAM bytes; a resident C is not stored)."""
    options = tiling_options(view, mp, spec, input_on_chip=input_on_chip,
                             output_on_chip=output_on_chip)  # fmt: skip
    return pick_tiling(options, spec.dram.bytes_per_cycle(spec.compute.freq_mhz))
