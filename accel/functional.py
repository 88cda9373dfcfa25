"""Bit-exact functional model: numba kernels that execute the compressed formats directly.

Semantics are ``accel.numeric``'s: int8 x int8 products, int32 wrap-around accumulation. Every
kernel has a numpy reference of the same name in ``accel.reference``.

Orientation: weight ``W`` ``(rows, K)``, activations ``X`` ``(K, cols)``, ``Y = W @ X``
``(rows, cols)`` int32. The weights are never expanded to a dense matrix.

**Group-quantized packed weights** (``quant_gemm``): int4/int2 weights arrive packed as
``accel.bitlayout`` lays them out (the layout the traffic model counts), one float32 scale and
an optional integer zero point per ``group`` consecutive weights of a row. Semantics:
``Y[r, c] = sum_g s[r, g] * float32(sum_{k in g} (q[r, k] - z[r, g]) * X[k, c])``, the inner
sum exact in int32 with wrap-around, the outer one in float32 over groups in ascending order
(each term rounded to float32, then added): reproducible, and bit-equal to the reference.

**N:M** (``nm_gemm``) runs on int16 multiply-add pairs (``accel._simd``): a row's stored weights
are taken two at a time, ``(a, v_a), (b, v_b)`` with positions ``a < b`` in one group of ``m``;
for every such position pair the activation rows ``X[g*m + a]`` and ``X[g*m + b]`` are
interleaved once into a *pair row*, so each stored pair costs one 2-MAC-per-lane multiply-add on
a pair row, whatever the row's pattern. Explicit tiling: output columns are cut into blocks of
``_simd.BLOCK_COLS`` (the blocks run in parallel), K into tiles of ``PAIR_ROWS_PER_TILE`` pair
rows; each (block, tile) builds its pair rows into a cache-resident buffer and every output
row's register-blocked accumulators stream through it.

**Group** (``group_gemm``) runs on the same int16 pairs, interleaved in registers instead of a
buffer (``accel._simd.group_madd_block``): a group's ``size`` rows share their kept columns, so
each pair of kept activation rows is loaded, widened and interleaved once per ``GROUP_COLS``
columns and meets ``GROUP_ROWS`` rows' weight pairs (building pair rows in memory, as N:M does,
costs as much as it saves when only a group's few rows use them). Columns run in slices of
``GROUP_TILE_COLS`` (their kept rows stay in L2), groups in parallel within a slice.

The other formats share one row loop: for each output row (in parallel), for each stored weight
``(k, v)`` of that row, ``Y[row, :] += v * X[k, :]``, a contiguous int32 row update that numba
vectorizes, four stored weights per pass over the row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from sparsim.accel._jit import kernel, parallel_kernel, prange, threads_for
from sparsim.accel._simd import (
    BLOCK_COLS,
    GROUP_COLS,
    GROUP_ROWS,
    group_madd_block,
    pair_madd_block,
)
from sparsim.accel.bitlayout import unpack_values
from sparsim.accel.formats import (
    BlockTensor,
    CSRTensor,
    GroupTensor,
    NMTensor,
    TransposableNM,
)

__all__ = [
    "TileJob",
    "Weight",
    "backward_data",
    "block_gemm",
    "conv2d",
    "csr_gemm",
    "dense_gemm",
    "forward",
    "group_gemm",
    "im2col",
    "matmul",
    "nm_gemm",
    "nm_sddmm",
    "quant_gemm",
    "run_tiles_os",
    "tiles_os",
    "weight_gradient",
]

Weight = np.ndarray | NMTensor | TransposableNM | GroupTensor | BlockTensor | CSRTensor
"""Anything ``matmul`` accepts as the left operand (a dense int8 array runs ``dense_gemm``)."""


# ---------------------------------------------------------------------------------------------
# the shared row loop


@kernel
def _accumulate_row(ks: np.ndarray, vs: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    """``out += sum_s vs[s] * x[ks[s], :]`` in int32, four stored weights per pass over ``out``
    (fewer loads and stores of ``out`` per MAC; measured ~20% faster than two per pass).

    Products are exact (|p| <= 2**14) and the int32 stores wrap, as the datapath does.
    """
    quads = ks.size // 4
    for p in range(quads):
        s = 4 * p
        w0, w1 = np.int32(vs[s]), np.int32(vs[s + 1])
        w2, w3 = np.int32(vs[s + 2]), np.int32(vs[s + 3])
        x0, x1, x2, x3 = x[ks[s]], x[ks[s + 1]], x[ks[s + 2]], x[ks[s + 3]]
        for c in range(out.size):
            out[c] += w0 * x0[c] + w1 * x1[c] + w2 * x2[c] + w3 * x3[c]
    for s in range(4 * quads, ks.size):
        w, xr = np.int32(vs[s]), x[ks[s]]
        for c in range(out.size):
            out[c] += w * xr[c]


@kernel
def _nm_row_columns(indices: np.ndarray, m: int) -> np.ndarray:
    """Dense columns ``g * m + indices[g, j]`` of one row's stored N:M entries, flattened."""
    groups, n = indices.shape
    ks = np.empty(groups * n, dtype=np.int64)
    for g in range(groups):
        for j in range(n):
            ks[g * n + j] = g * m + np.int64(indices[g, j])
    return ks


# ---------------------------------------------------------------------------------------------
# kernels (numba), same names and signatures as accel.reference


GROUP_TILE_COLS = 256
"""Output columns per pass over all groups in ``group_gemm``: the kept activation rows of a
256-column slice (256 B per row) stay in L2 while every group's pairs stream through them."""

PAIR_ROWS_PER_TILE = 512
"""Pair rows built per (column block, K tile): 512 x 64 columns x 2 int8 = 64 KiB, in L2 beside
the block's outputs (measured on a 2-core AMD EPYC: 256 and 1024 no faster, 96 slower)."""


@kernel
def _pair_slot(a: int | np.int64, b: int | np.int64, m: int) -> int | np.int64:
    """Index of the position pair ``a < b`` among a group's ``m * (m - 1) / 2`` pair rows."""
    return a * (2 * m - a - 1) // 2 + (b - a - 1)


@kernel
def _nm_row_pairs(
    values: np.ndarray, indices: np.ndarray, m: int, r: int, idx: np.ndarray, w: np.ndarray
) -> None:
    """Row ``r``'s stored weights as (pair row, packed weight pair), two per entry, in group
    order: ``idx[r, g * half + j]``, ``w[r, g * half + j]`` (``accel._simd`` packing). A lone
    weight (odd ``n``) or two at one position (a repeated index, summed: at most 256 in
    magnitude, still an exact int16) pairs with a neighbouring position at weight 0."""
    groups, n = values.shape[1], values.shape[2]
    half, per_group = (n + 1) // 2, m * (m - 1) // 2
    for g in range(groups):
        for j in range(half):
            a, va = np.int64(indices[r, g, 2 * j]), np.int32(values[r, g, 2 * j])
            b, vb = a, np.int32(0)
            if 2 * j + 1 < n:
                b, vb = np.int64(indices[r, g, 2 * j + 1]), np.int32(values[r, g, 2 * j + 1])
            if a == b:
                va, vb = np.int32(va + vb), np.int32(0)
                b = a + 1 if a + 1 < m else a - 1
            if a > b:
                a, b, va, vb = b, a, vb, va
            idx[r, g * half + j] = g * per_group + _pair_slot(a, b, m)
            w[r, g * half + j] = np.int32((vb << 16) | (va & 0xFFFF))


@kernel
def _fill_pair_rows(
    x: np.ndarray, m: int, g0: int, g1: int, c0: int, planes: np.ndarray
) -> None:
    """Pair rows of groups ``[g0, g1)`` over columns ``[c0, c0 + BLOCK_COLS)`` of ``x`` into
    ``planes`` ``(pairs, BLOCK_COLS, 2)``, zero past ``x``'s last column."""
    per_group, cols = m * (m - 1) // 2, min(BLOCK_COLS, x.shape[1] - c0)
    for g in range(g0, g1):
        for a in range(m):
            xa = x[g * m + a, c0 : c0 + cols]
            for b in range(a + 1, m):
                xb = x[g * m + b, c0 : c0 + cols]
                out = planes[(g - g0) * per_group + _pair_slot(a, b, m)]
                for c in range(cols):
                    out[c, 0] = xa[c]
                    out[c, 1] = xb[c]
                out[cols:, :] = 0


@kernel
def _nm_block(
    x: np.ndarray, m: int, idx: np.ndarray, w: np.ndarray, blk: int, yb: np.ndarray
) -> None:
    """Every output row's columns ``[blk * BLOCK_COLS, ...)`` into ``yb`` ``(rows, BLOCK_COLS)``,
    one K tile of pair rows at a time (module docstring)."""
    per_group = m * (m - 1) // 2
    rows, slots = idx.shape
    groups = x.shape[0] // m
    half = slots // groups
    tile_groups = max(1, PAIR_ROWS_PER_TILE // per_group)
    planes = np.empty((tile_groups * per_group, BLOCK_COLS, 2), dtype=np.int8)
    for g0 in range(0, groups, tile_groups):
        g1 = min(groups, g0 + tile_groups)
        _fill_pair_rows(x, m, g0, g1, blk * BLOCK_COLS, planes)
        for r in range(rows):
            first = r * slots + g0 * half
            pair_madd_block(yb, r * BLOCK_COLS, planes, g0 * per_group, idx, w, first,
                            (g1 - g0) * half)  # fmt: skip


@parallel_kernel
def _nm_gemm(values: np.ndarray, indices: np.ndarray, x: np.ndarray, m: int) -> np.ndarray:
    rows, groups, n = values.shape
    cols = x.shape[1]
    idx = np.empty((rows, groups * ((n + 1) // 2)), dtype=np.int32)
    w = np.empty_like(idx)
    for r in prange(rows):
        _nm_row_pairs(values, indices, m, r, idx, w)
    blocks = (cols + BLOCK_COLS - 1) // BLOCK_COLS
    yb = np.zeros((blocks, rows, BLOCK_COLS), dtype=np.int32)
    for blk in prange(blocks):
        _nm_block(x, m, idx, w, blk, yb[blk])
    y = np.empty((rows, cols), dtype=np.int32)
    for r in prange(rows):
        for blk in range(blocks):
            c0 = blk * BLOCK_COLS
            width = min(BLOCK_COLS, cols - c0)
            y[r, c0 : c0 + width] = yb[blk, r, :width]
    return y


@parallel_kernel
def _nm_sddmm(indices: np.ndarray, dy: np.ndarray, x: np.ndarray, m: int) -> np.ndarray:
    rows, groups, n = indices.shape
    out = np.zeros((rows, groups, n), dtype=np.int32)
    for r in prange(rows):
        ks = _nm_row_columns(indices[r], m)
        for s in range(ks.size):
            out[r, s // n, s % n] = _dot(dy[r], x[ks[s]])
    return out


@kernel
def _dot(a: np.ndarray, b: np.ndarray) -> np.int32:
    """int32 wrap-around dot product of two int8 rows."""
    acc = np.int32(0)
    for c in range(a.size):
        acc = np.int32(acc + np.int32(a[c]) * np.int32(b[c]))
    return acc


@kernel
def _group_pairs(
    values: np.ndarray, col_idx: np.ndarray, col_ptr: np.ndarray, rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each group's kept columns two at a time: ``pair_ptr`` (per group), activation rows
    ``ka``/``kb`` and packed weight pairs ``w`` ``(rows, pairs)`` (``accel._simd.pack_pair``),
    rows past ``values``' zero. A lone last column pairs with itself at weight 0."""
    groups, size = col_ptr.size - 1, values.shape[0]
    pair_ptr = np.zeros(groups + 1, dtype=np.int64)
    for g in range(groups):
        pair_ptr[g + 1] = pair_ptr[g] + (col_ptr[g + 1] - col_ptr[g] + 1) // 2
    total = pair_ptr[groups]
    ka, kb = np.empty(total, dtype=np.int32), np.empty(total, dtype=np.int32)
    w = np.zeros((rows, total), dtype=np.int32)
    for g in range(groups):
        lo, hi = col_ptr[g], col_ptr[g + 1]
        for p in range(pair_ptr[g], pair_ptr[g + 1]):
            a = lo + 2 * (p - pair_ptr[g])
            b = a + 1 if a + 1 < hi else a
            ka[p], kb[p] = col_idx[a], col_idx[b]
            for i in range(size):
                va = np.int32(values[i, a])
                vb = np.int32(values[i, b]) if b != a else np.int32(0)
                w[i, p] = np.int32((vb << 16) | (va & 0xFFFF))
    return pair_ptr, ka, kb, w


@kernel
def _group_tail(
    values: np.ndarray, col_idx: np.ndarray, lo: int, hi: int, x: np.ndarray, c0: int,
    out: np.ndarray,
) -> None:  # fmt: skip
    """``out[c0:] += values[lo:hi] . x[col_idx[lo:hi], c0:]``: columns past the last full
    ``GROUP_COLS`` block."""
    for s in range(lo, hi):
        v, xr = np.int32(values[s]), x[col_idx[s]]
        for c in range(c0, out.size):
            out[c] += v * xr[c]


@parallel_kernel
def _group_gemm(
    values: np.ndarray, col_idx: np.ndarray, col_ptr: np.ndarray, size: int, x: np.ndarray
) -> np.ndarray:
    groups, cols = col_ptr.size - 1, x.shape[1]
    chunks = (size + GROUP_ROWS - 1) // GROUP_ROWS
    padded = chunks * GROUP_ROWS
    pair_ptr, ka, kb, w = _group_pairs(values, col_idx, col_ptr, padded)
    yp = np.zeros((groups * padded, cols), dtype=np.int32)
    full = cols // GROUP_COLS * GROUP_COLS
    for t0 in range(0, full, GROUP_TILE_COLS):
        t1 = min(full, t0 + GROUP_TILE_COLS)
        for job in prange(groups * chunks):
            g, ch = job // chunks, job % chunks
            lo, count = pair_ptr[g], pair_ptr[g + 1] - pair_ptr[g]
            r0 = g * padded + ch * GROUP_ROWS
            for c0 in range(t0, t1, GROUP_COLS):
                group_madd_block(yp, r0 * cols + c0, cols, x, c0, cols, ka, kb, w,
                                 ch * GROUP_ROWS * w.shape[1], w.shape[1], lo, count)  # fmt: skip
    if full < cols:
        for r in prange(groups * size):
            g, i = r // size, r % size
            _group_tail(values[i], col_idx, col_ptr[g], col_ptr[g + 1], x, full,
                        yp[g * padded + i])  # fmt: skip
    if padded == size:
        return yp
    y = np.empty((groups * size, cols), dtype=np.int32)
    for r in prange(groups * size):
        y[r] = yp[(r // size) * padded + r % size]
    return y


@parallel_kernel
def _block_gemm(
    blocks: np.ndarray, block_col: np.ndarray, row_ptr: np.ndarray, x: np.ndarray
) -> np.ndarray:
    _, br, bc = blocks.shape
    y = np.zeros(((row_ptr.size - 1) * br, x.shape[1]), dtype=np.int32)
    for r in prange(y.shape[0]):
        bi, ii = r // br, r % br
        lo, hi = row_ptr[bi], row_ptr[bi + 1]
        ks = np.empty((hi - lo) * bc, dtype=np.int64)
        vs = np.empty((hi - lo) * bc, dtype=np.int8)
        for b in range(lo, hi):
            for jj in range(bc):
                ks[(b - lo) * bc + jj] = np.int64(block_col[b]) * bc + jj
                vs[(b - lo) * bc + jj] = blocks[b, ii, jj]
        _accumulate_row(ks, vs, x, y[r])
    return y


@parallel_kernel
def _csr_gemm(
    values: np.ndarray, col_idx: np.ndarray, row_ptr: np.ndarray, x: np.ndarray
) -> np.ndarray:
    y = np.zeros((row_ptr.size - 1, x.shape[1]), dtype=np.int32)
    for r in prange(y.shape[0]):
        lo, hi = row_ptr[r], row_ptr[r + 1]
        _accumulate_row(col_idx[lo:hi].astype(np.int64), values[lo:hi], x, y[r])
    return y


@parallel_kernel
def _dense_gemm(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    y = np.zeros((w.shape[0], x.shape[1]), dtype=np.int32)
    ks = np.arange(w.shape[1], dtype=np.int64)
    for r in prange(w.shape[0]):
        _accumulate_row(ks, w[r], x, y[r])
    return y


# ---------------------------------------------------------------------------------------------
# checked entry points (numba does not bounds-check; these check what the kernels index)


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _require_dtype(name: str, a: np.ndarray, dtype: type, ndim: int) -> None:
    if not (isinstance(a, np.ndarray) and a.dtype == dtype and a.ndim == ndim):
        got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise ValueError(f"{name} must be a {ndim}-D {np.dtype(dtype)} array, not {got}")


def _require_x(x: np.ndarray, k: int, what: str) -> None:
    _require_dtype("x", x, np.int8, 2)
    _require(x.shape[0] == k, f"{what}: x needs {k} rows (padded K), not {x.shape[0]}")


def nm_gemm(values: np.ndarray, indices: np.ndarray, x: np.ndarray, m: int) -> np.ndarray:
    """N:M weight (``values`` int8, ``indices`` uint8, ``(rows, groups, n)``) times ``x`` int8
    ``(groups*m, cols)``, already padded: int32 ``(rows, cols)``."""
    _require_dtype("values", values, np.int8, 3)
    _require_dtype("indices", indices, np.uint8, 3)
    _require(values.shape == indices.shape, "nm_gemm: values and indices differ in shape")
    _require(bool(np.all(indices < m)), f"nm_gemm: an index is out of range [0, {m})")
    _require_x(x, values.shape[1] * m, "nm_gemm")
    contiguous = np.ascontiguousarray
    with threads_for(values.size * x.shape[1]):
        return _nm_gemm(contiguous(values), contiguous(indices), contiguous(x), m)


def nm_sddmm(indices: np.ndarray, dy: np.ndarray, x: np.ndarray, m: int) -> np.ndarray:
    """``dy @ x.T`` only at the stored N:M positions: int32 ``(rows, groups, n)``.

    ``dy`` int8 ``(rows, cols)``, ``x`` int8 ``(groups*m, cols)``.
    """
    _require_dtype("indices", indices, np.uint8, 3)
    _require_dtype("dy", dy, np.int8, 2)
    _require(bool(np.all(indices < m)), f"nm_sddmm: an index is out of range [0, {m})")
    _require_x(x, indices.shape[1] * m, "nm_sddmm")
    _require(dy.shape == (indices.shape[0], x.shape[1]), "nm_sddmm: dy must be (rows, cols)")
    with threads_for(indices.size * x.shape[1]):
        return _nm_sddmm(indices, dy, x, m)


def group_gemm(
    values: np.ndarray, col_idx: np.ndarray, col_ptr: np.ndarray, size: int, x: np.ndarray
) -> np.ndarray:
    """Group-sparse weight (``GroupTensor`` arrays) times ``x`` ``(K, cols)``: int32
    ``(groups*size, cols)`` including padded rows."""
    _require_dtype("values", values, np.int8, 2)
    _require_dtype("x", x, np.int8, 2)
    _require(values.shape == (size, col_idx.size), "group_gemm: values must be (size, kept)")
    _require(bool(np.all((col_idx >= 0) & (col_idx < x.shape[0]))), "group_gemm: bad col_idx")
    with threads_for(values.size * x.shape[1]):
        return _group_gemm(values, col_idx, col_ptr, size, x)


def block_gemm(
    blocks: np.ndarray, block_col: np.ndarray, row_ptr: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """BCSR weight times ``x`` ``(block columns * bc, cols)``: int32 ``(block rows * br, cols)``."""
    _require_dtype("blocks", blocks, np.int8, 3)
    _require_dtype("x", x, np.int8, 2)
    bc = blocks.shape[2]
    ok = np.all((block_col >= 0) & ((block_col.astype(np.int64) + 1) * bc <= x.shape[0]))
    _require(bool(ok), "block_gemm: a block column lies outside x")
    with threads_for(blocks.size * x.shape[1]):
        return _block_gemm(blocks, block_col, row_ptr, x)


def csr_gemm(
    values: np.ndarray, col_idx: np.ndarray, row_ptr: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """CSR weight times ``x`` ``(K, cols)``: int32 ``(rows, cols)``."""
    _require_dtype("values", values, np.int8, 1)
    _require_dtype("x", x, np.int8, 2)
    _require(bool(np.all((col_idx >= 0) & (col_idx < x.shape[0]))), "csr_gemm: bad col_idx")
    with threads_for(values.size * x.shape[1]):
        return _csr_gemm(values, col_idx, row_ptr, x)


def dense_gemm(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Dense int8 ``w @ x``: int32 with wrap-around."""
    _require_dtype("w", w, np.int8, 2)
    _require_x(x, w.shape[1], "dense_gemm")
    with threads_for(w.size * x.shape[1]):
        return _dense_gemm(w, x)


@kernel
def _quant_gemm(q: np.ndarray, z: np.ndarray, s: np.ndarray, x: np.ndarray,
                group: int) -> np.ndarray:  # fmt: skip
    rows, k = q.shape
    cols = x.shape[1]
    out = np.zeros((rows, cols), dtype=np.float32)
    acc = np.zeros(cols, dtype=np.int32)
    for r in range(rows):
        for g in range(k // group):
            acc[:] = 0
            for kk in range(g * group, (g + 1) * group):
                w = np.int32(q[r, kk]) - np.int32(z[r, g])
                for c in range(cols):
                    acc[c] += w * np.int32(x[kk, c])
            for c in range(cols):
                out[r, c] += s[r, g] * np.float32(acc[c])
    return out


def quant_gemm(
    packed: np.ndarray, bits: int, k: int, scales: np.ndarray, x: np.ndarray,
    zero_points: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """Group-quantized ``W @ X`` (module docstring): ``packed`` uint8 rows of ``k`` ``bits``-bit
    weights (``accel.bitlayout.pack_values``), ``scales`` float32 ``(rows, k // group)``,
    ``zero_points`` int8 of the same shape (``None``: 0), ``x`` int8 ``(k, cols)``; float32."""
    q = unpack_values(packed, bits, k)
    groups = scales.shape[1] if scales.ndim == 2 else 0
    shaped = scales.shape == (q.shape[0], groups) and groups > 0 and k % groups == 0
    _require(scales.dtype == np.float32 and shaped,
             "quant_gemm: scales must be float32 (rows, k / group)")
    z = np.zeros(scales.shape, np.int8) if zero_points is None else zero_points
    _require(z.dtype == np.int8 and z.shape == scales.shape,
             "quant_gemm: zero_points must be int8 shaped like scales")  # fmt: skip
    _require_x(x, k, "quant_gemm")
    return _quant_gemm(q, z, scales, x, k // groups)


# ---------------------------------------------------------------------------------------------
# any format times activations, and the three training passes


def _pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    """Zero-pad the reduction axis of ``x`` up to ``rows`` (a format's padded K)."""
    _require_dtype("x", x, np.int8, 2)
    _require(x.shape[0] <= rows, f"x has {x.shape[0]} rows, more than the weight's K {rows}")
    return np.pad(x, ((0, rows - x.shape[0]), (0, 0))) if x.shape[0] < rows else x


def _matmul_nm(w: NMTensor, x: np.ndarray) -> np.ndarray:
    _require(w.axis == 1, "matmul needs an N:M weight compressed along K (axis=1)")
    return nm_gemm(w.values, w.indices, _pad_rows(x, w.padded_k), w.m)


def _matmul_group(w: GroupTensor, x: np.ndarray) -> np.ndarray:
    y = group_gemm(w.values, w.col_idx, w.col_ptr, w.size, _pad_rows(x, w.shape[1]))
    return y[: w.shape[0]]


def _matmul_block(w: BlockTensor, x: np.ndarray) -> np.ndarray:
    x = _pad_rows(x, w.grid[1] * w.block_shape[1])
    return block_gemm(w.blocks, w.block_col, w.row_ptr, x)[: w.shape[0]]


def _matmul_csr(w: CSRTensor, x: np.ndarray) -> np.ndarray:
    return csr_gemm(w.values, w.col_idx, w.row_ptr, _pad_rows(x, w.shape[1]))


def matmul(w: Weight, x: np.ndarray) -> np.ndarray:
    """``W @ X`` with ``W`` in any format (its kernel), ``x`` int8 ``(K, cols)``: int32."""
    match w:
        case np.ndarray():
            return dense_gemm(w, _pad_rows(x, w.shape[1]))
        case NMTensor():
            return _matmul_nm(w, x)
        case TransposableNM():
            return _matmul_nm(w.forward, x)
        case GroupTensor():
            return _matmul_group(w, x)
        case BlockTensor():
            return _matmul_block(w, x)
        case CSRTensor():
            return _matmul_csr(w, x)
    raise ValueError(f"matmul: no kernel for a {type(w).__name__} weight")


def forward(w: Weight, x: np.ndarray) -> np.ndarray:
    """FW pass ``Y = W @ X``."""
    return matmul(w, x)


def backward_data(w: TransposableNM | NMTensor, dy: np.ndarray) -> np.ndarray:
    """BW_DATA pass ``dX = W.T @ dY`` from the row-wise N:M view (no re-pruning): int32
    ``(K, cols)``. ``w`` is a ``TransposableNM`` or an ``NMTensor`` with ``axis=0``."""
    view = w.backward if isinstance(w, TransposableNM) else w
    _require(view.axis == 0, "backward_data needs the N:M view along the rows (axis=0)")
    return nm_gemm(view.values, view.indices, _pad_rows(dy, view.padded_k), view.m)


def weight_gradient(dy: np.ndarray, x: np.ndarray, kept: NMTensor | None = None) -> np.ndarray:
    """BW_WEIGHT pass ``dW = dY @ X.T``: int32 ``(rows, K)``.

    Dense by default; with ``kept`` (the weight's N:M tensor along K) only the kept positions are
    computed (``nm_sddmm``) and every other entry is zero.
    """
    if kept is None:
        return dense_gemm(dy, np.ascontiguousarray(x.T))
    _require(kept.axis == 1, "weight_gradient: kept must be compressed along K (axis=1)")
    x_pad = _pad_rows(x, kept.padded_k)
    sampled = nm_sddmm(kept.indices, dy, x_pad, kept.m)
    dw = np.zeros((kept.rows, kept.padded_k), dtype=np.int32)
    cols = np.arange(kept.groups)[None, :, None] * kept.m + kept.indices.astype(np.int64)
    np.put_along_axis(dw, cols.reshape(kept.rows, -1), sampled.reshape(kept.rows, -1), axis=1)
    return dw[:, : kept.shape[1]]


# ---------------------------------------------------------------------------------------------
# convolution through the GEMM kernels


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def im2col(
    x: np.ndarray, kh: int, kw: int, stride: tuple[int, int], padding: tuple[int, int]
) -> np.ndarray:
    """``(N, C, H, W)`` -> ``(C*kh*kw, N*OH*OW)``: rows ordered ``(c, i, j)`` like a weight's
    ``reshape(C_out, -1)``, columns ``(n, oh, ow)``."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    n, c, oh, ow = win.shape[:4]
    return np.ascontiguousarray(win.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * oh * ow))


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    groups: int = 1,
    compress: Callable[[np.ndarray], Weight] | None = None,
) -> np.ndarray:
    """Grouped/depthwise conv2d as one GEMM per conv group: ``W_g (C_out/g, C_in/g*kh*kw)`` times
    ``im2col(x_g)``. ``compress`` turns each group's 2-D weight into a format (e.g.
    ``lambda w: compress_nm(w, 2, 4)``); ``None`` runs dense. Shapes as ``reference.conv2d``.
    """
    _require_dtype("x", x, np.int8, 4)
    _require_dtype("weight", weight, np.int8, 4)
    c_out, c_in_g, kh, kw = weight.shape
    _require(c_out % groups == 0 and x.shape[1] == c_in_g * groups, "conv2d: bad groups/channels")
    stride2, pad2 = _pair(stride), _pair(padding)
    c_out_g, outs = c_out // groups, []
    for gi in range(groups):
        cols = im2col(x[:, gi * c_in_g : (gi + 1) * c_in_g], kh, kw, stride2, pad2)
        w2d = np.ascontiguousarray(weight[gi * c_out_g : (gi + 1) * c_out_g].reshape(c_out_g, -1))
        outs.append(matmul(w2d if compress is None else compress(w2d), cols))
    oh = (x.shape[2] + 2 * pad2[0] - kh) // stride2[0] + 1
    ow = (x.shape[3] + 2 * pad2[1] - kw) // stride2[1] + 1
    y = np.concatenate(outs, axis=0).reshape(c_out, x.shape[0], oh, ow)
    return np.ascontiguousarray(y.transpose(1, 0, 2, 3))


# ---------------------------------------------------------------------------------------------
# tiled execution in the PE array's output-stationary order


@dataclass(frozen=True, slots=True, kw_only=True)
class TileJob:
    """One output-stationary tile, zero-padded to the full ``rows_pe x cols_pe`` array.

    ``values``/``indices`` ``(rows_pe, groups, n)`` (padded rows: zero values at indices
    ``0..n-1``), ``x_tile`` int8 ``(groups*m, cols_pe)``, ``expected`` int32 ``(rows_pe,
    cols_pe)`` = ``nm_gemm(values, indices, x_tile, m)``; ``(row0, col0)`` its origin in ``Y``.
    """

    row0: int
    col0: int
    values: np.ndarray
    indices: np.ndarray
    x_tile: np.ndarray
    expected: np.ndarray


def _pad_tile_rows(
    values: np.ndarray, indices: np.ndarray, rows_pe: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pad a row tile to ``rows_pe`` rows of zero values at indices ``0..n-1`` (a valid group)."""
    pad = rows_pe - values.shape[0]
    if pad == 0:
        return values, indices
    _, groups, n = values.shape
    fill = np.broadcast_to(np.arange(n, dtype=np.uint8), (pad, groups, n))
    return (
        np.concatenate([values, np.zeros((pad, groups, n), dtype=np.int8)]),
        np.concatenate([indices, fill]),
    )


def tiles_os(
    rows_pe: int, cols_pe: int, W_nm: NMTensor, x: np.ndarray, order: str = "n_major"
) -> Iterator[TileJob]:
    """The tiles of ``W @ X`` in the simulator's OS mapping order: ``order="n_major"`` runs row
    tiles (output channels) outer and column tiles inner, ``"m_major"`` the reverse (the
    simulator's ``Mapping.loop_order``). ``x`` is ``(K, cols)`` or already padded to
    ``(groups*m, cols)``."""
    _require(rows_pe >= 1 and cols_pe >= 1, "tiles_os: the PE array needs rows, cols >= 1")
    _require(W_nm.axis == 1, "tiles_os needs an N:M weight compressed along K (axis=1)")
    orders = ("n_major", "m_major")
    _require(order in orders, f"tiles_os: order must be one of {orders}, not {order!r}")
    x = _pad_rows(x, W_nm.padded_k)
    row_starts, col_starts = range(0, W_nm.rows, rows_pe), range(0, x.shape[1], cols_pe)
    pairs = [(r, c) for r in row_starts for c in col_starts]
    if order == "m_major":
        pairs = [(r, c) for c in col_starts for r in row_starts]
    for row0, col0 in pairs:
        values, indices = _pad_tile_rows(
            W_nm.values[row0 : row0 + rows_pe], W_nm.indices[row0 : row0 + rows_pe], rows_pe
        )
        x_tile = x[:, col0 : col0 + cols_pe]
        x_tile = np.pad(x_tile, ((0, 0), (0, cols_pe - x_tile.shape[1])))
        expected = nm_gemm(values, indices, x_tile, W_nm.m)
        yield TileJob(
            row0=row0,
            col0=col0,
            values=values,
            indices=indices,
            x_tile=x_tile,
            expected=expected,
        )


def run_tiles_os(rows_pe: int, cols_pe: int, W_nm: NMTensor, x: np.ndarray) -> np.ndarray:
    """``W @ X`` assembled from ``tiles_os`` (edge tiles cropped): int32 ``(rows, cols)``."""
    y = np.zeros((W_nm.rows, x.shape[1]), dtype=np.int32)
    for job in tiles_os(rows_pe, cols_pe, W_nm, x):
        tile = y[job.row0 : job.row0 + rows_pe, job.col0 : job.col0 + cols_pe]
        tile[...] = job.expected[: tile.shape[0], : tile.shape[1]]
    return y
