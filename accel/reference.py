"""Plain-numpy references of the functional kernels, one per kernel and of the same name.

Each computes the exact integer result in int64 (``K * 128 * 128`` stays far below ``2**63``),
then wraps it to int32 with ``accel.numeric.wrap_int32``: the accumulate-and-wrap semantics of
the datapath, reached by a different route (gathers and numpy matmul instead of the kernels'
per-row loops). Tests, simulator checks and cocotb scoreboards import these, and the two
comparison helpers at the end (``assert_int_equal``, ``check_nm_gemm``: format valid, result
equal, first mismatch reported with expected and actual).

Orientation: weight ``(rows, K)``, activations ``(K, cols)``, result ``(rows, cols)`` int32.
"""

from __future__ import annotations

import numpy as np
from sparsim.accel.bitlayout import unpack_values
from sparsim.accel.formats import NMTensor
from sparsim.accel.numeric import wrap_int32

__all__ = [
    "assert_int_equal",
    "backward_data",
    "block_gemm",
    "check_nm_gemm",
    "conv2d",
    "csr_gemm",
    "dense_gemm",
    "forward",
    "group_gemm",
    "nm_gemm",
    "nm_sddmm",
    "quant_gemm",
    "weight_gradient",
]


def _i64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a).astype(np.int64)


def _nm_columns(indices: np.ndarray, m: int) -> np.ndarray:
    """Dense column of every stored N:M entry: ``g * m + indices[r, g, j]``."""
    return np.arange(indices.shape[1])[None, :, None] * m + _i64(indices)


def nm_gemm(values: np.ndarray, indices: np.ndarray, x: np.ndarray, m: int) -> np.ndarray:
    """N:M weight ``(rows, groups, n)`` times ``x`` ``(groups*m, cols)``, from the compressed
    entries: one gather of activation rows per stored slot."""
    cols = _nm_columns(indices, m)
    acc = np.zeros((values.shape[0], x.shape[1]), dtype=np.int64)
    for g in range(values.shape[1]):
        for j in range(values.shape[2]):
            acc += _i64(values[:, g, j])[:, None] * _i64(x[cols[:, g, j]])
    return wrap_int32(acc)


def nm_sddmm(indices: np.ndarray, dy: np.ndarray, x: np.ndarray, m: int) -> np.ndarray:
    """``dy @ x.T`` sampled at the stored N:M positions: int32 ``(rows, groups, n)``."""
    gathered = _i64(x)[_nm_columns(indices, m)]
    return wrap_int32(np.einsum("rc,rgnc->rgn", _i64(dy), gathered))


def group_gemm(
    values: np.ndarray, col_idx: np.ndarray, col_ptr: np.ndarray, size: int, x: np.ndarray
) -> np.ndarray:
    """Group-sparse weight (``accel.formats.GroupTensor`` arrays) times ``x``: one small dense
    matmul per group; result ``(groups*size, cols)`` including padded rows."""
    groups = col_ptr.size - 1
    out = np.zeros((groups * size, x.shape[1]), dtype=np.int64)
    for g in range(groups):
        lo, hi = col_ptr[g], col_ptr[g + 1]
        out[g * size : (g + 1) * size] = _i64(values[:, lo:hi]) @ _i64(x[col_idx[lo:hi]])
    return wrap_int32(out)


def block_gemm(
    blocks: np.ndarray, block_col: np.ndarray, row_ptr: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """BCSR weight times ``x`` ``(block columns * bc, cols)``: one matmul per kept block;
    result ``(block rows * br, cols)``."""
    _, br, bc = blocks.shape
    out = np.zeros(((row_ptr.size - 1) * br, x.shape[1]), dtype=np.int64)
    for bi in range(row_ptr.size - 1):
        for b in range(row_ptr[bi], row_ptr[bi + 1]):
            k0 = block_col[b] * bc
            out[bi * br : (bi + 1) * br] += _i64(blocks[b]) @ _i64(x[k0 : k0 + bc])
    return wrap_int32(out)


def csr_gemm(
    values: np.ndarray, col_idx: np.ndarray, row_ptr: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """CSR weight times ``x``: one gathered dot per row; result ``(rows, cols)``."""
    out = np.zeros((row_ptr.size - 1, x.shape[1]), dtype=np.int64)
    for r in range(row_ptr.size - 1):
        lo, hi = row_ptr[r], row_ptr[r + 1]
        out[r] = _i64(values[lo:hi]) @ _i64(x[col_idx[lo:hi]])
    return wrap_int32(out)


def dense_gemm(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Dense ``w @ x`` in int64, wrapped to int32."""
    return wrap_int32(_i64(w) @ _i64(x))


def quant_gemm(
    packed: np.ndarray, bits: int, k: int, scales: np.ndarray, x: np.ndarray,
    zero_points: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """Group-quantized ``W @ X`` (``accel.functional.quant_gemm``): per group an exact int64
    matmul of ``q - z`` with its rows of ``x``, wrapped to int32, scaled and added in float32,
    groups in ascending order."""
    q = unpack_values(packed, bits, k)
    groups = scales.shape[1]
    size = k // groups
    z = np.zeros(scales.shape, np.int8) if zero_points is None else zero_points
    out = np.zeros((q.shape[0], x.shape[1]), dtype=np.float32)
    for g in range(groups):
        part = wrap_int32((_i64(q[:, g * size:(g + 1) * size]) - _i64(z[:, g:g + 1]))
                          @ _i64(x[g * size:(g + 1) * size]))  # fmt: skip
        out += scales[:, g:g + 1] * part.astype(np.float32)
    return out


def forward(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """FW pass ``Y = W @ X`` on the dense weight."""
    return dense_gemm(w, x)


def backward_data(w: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """BW_DATA pass ``dX = W.T @ dY`` on the dense weight."""
    return dense_gemm(w.T, dy)


def weight_gradient(dy: np.ndarray, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """BW_WEIGHT pass ``dW = dY @ X.T`` (int32 ``(rows, K)``), zero outside ``mask`` if given."""
    dw = dense_gemm(dy, x.T)
    return dw if mask is None else np.where(mask, dw, 0).astype(np.int32)


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    groups: int = 1,
) -> np.ndarray:
    """Direct grouped 2-D convolution (cross-correlation, as in DNN frameworks), no im2col.

    ``x`` int8 ``(N, C_in, H, W)``, ``weight`` int8 ``(C_out, C_in // groups, kh, kw)``; result
    int32 ``(N, C_out, OH, OW)``, ``OH = (H + 2*ph - kh) // sh + 1``.
    """
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    c_out, c_in_g, kh, kw = weight.shape
    xp = np.pad(_i64(x), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], c_out, oh, ow), dtype=np.int64)
    c_out_g = c_out // groups
    for gi in range(groups):
        w_g = _i64(weight[gi * c_out_g : (gi + 1) * c_out_g])
        x_g = xp[:, gi * c_in_g : (gi + 1) * c_in_g]
        for i in range(kh):
            for j in range(kw):
                patch = x_g[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]
                out[:, gi * c_out_g : (gi + 1) * c_out_g] += np.einsum(
                    "oc,nchw->nohw", w_g[:, :, i, j], patch
                )
    return wrap_int32(out)


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


# ---------------------------------------------------------------------------------------------
# comparison helpers (tests, simulator checks, cocotb scoreboards)


def assert_int_equal(got: np.ndarray, expected: np.ndarray, what: str = "result") -> None:
    """``np.array_equal`` with dtype and shape, or ``AssertionError`` naming the first differing
    element with expected and actual values."""
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape or got.dtype != expected.dtype:
        raise AssertionError(
            f"{what}: expected {expected.dtype} {expected.shape}, got {got.dtype} {got.shape}"
        )
    if not np.array_equal(got, expected):
        where = tuple(int(i) for i in np.argwhere(got != expected)[0])
        count = int(np.count_nonzero(got != expected))
        raise AssertionError(
            f"{what}: {count} elements differ; first at {where}: "
            f"expected {expected[where]}, got {got[where]}"
        )


def check_nm_gemm(
    got: np.ndarray, values: np.ndarray, indices: np.ndarray, x: np.ndarray, m: int
) -> None:
    """Scoreboard check of one N:M GEMM: the operands are a valid encoding (at most ``n`` per
    group, indices strictly ascending in ``[0, m)``; ``FormatError`` otherwise) and ``got``
    equals ``nm_gemm`` bit for bit (``AssertionError`` otherwise)."""
    rows, groups, n = values.shape
    NMTensor(
        values=values, indices=indices, n=n, m=m, shape=(rows, groups * m), padded=False
    ).check()
    assert_int_equal(got, nm_gemm(values, indices, x, m), "nm_gemm")
