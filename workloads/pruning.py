"""Magnitude pruning: the keep-mask of every ``workloads.sparsity`` pattern, and its application.

Orientation (the functional model's): a weight is a 2-D array ``(rows, K)`` = (output channels,
reduction), so numpy ``axis=1`` is a pattern's ``"k"`` axis and ``axis=0`` its ``"n"`` axis. The
GEMM-view ``K x N`` mask a pattern may carry (``workloads.sparsity``) is the transpose of these.

``*_mask`` functions return the bool keep-mask (``True`` = kept); ``prune_*`` zero everything
else and keep the dtype; ``mask_for`` / ``prune`` dispatch on a pattern. Scores are magnitudes
(L1 norms for groups and blocks); ties go to the lower position, so every mask is deterministic.
A density keeps ``round(density * candidates)`` candidates, at least one. Bad parameters raise
``SparsityError``.
"""

from __future__ import annotations

import numpy as np
from sparsim.workloads.sparsity import (
    NM,
    Block,
    Dense,
    Group,
    SparsityError,
    SparsityPattern,
    Unstructured,
    _check_density,
)

__all__ = [
    "block_mask",
    "group_mask",
    "mask_for",
    "nm_mask",
    "prune",
    "prune_block",
    "prune_group",
    "prune_nm",
    "prune_transposable_nm",
    "prune_unstructured",
    "transposable_nm_mask",
    "unstructured_mask",
]

_NUMPY_AXIS = {"k": 1, "n": 0}
"""A pattern's axis name -> numpy axis of a ``(rows, K)`` weight."""


# ---------------------------------------------------------------------------------------------
# parameter checks and padded views (shared with accel.formats, which passes its own error type)


def _is_int(v: object) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _check_2d(dense: np.ndarray, what: str) -> None:
    if not isinstance(dense, np.ndarray) or dense.ndim != 2:
        got = dense.shape if isinstance(dense, np.ndarray) else type(dense)
        raise SparsityError(f"{what}: needs a 2-D array, not {got}")


def _check_nm_params(n: int, m: int, error: type[ValueError] = SparsityError) -> None:
    if not (_is_int(m) and 2 <= m <= 16):
        raise error(f"N:M: m must be an int in [2, 16], not {m!r}")
    if not (_is_int(n) and 1 <= n < m):
        raise error(f"N:M: n must be an int with 1 <= n < m={m}, not {n!r}")


def _check_axis(axis: int, error: type[ValueError] = SparsityError) -> None:
    if axis not in (0, 1):
        raise error(f"axis must be 0 (rows) or 1 (K), not {axis!r}")


def _check_group_size(size: int, error: type[ValueError] = SparsityError) -> None:
    if not (_is_int(size) and size >= 1):
        raise error(f"group: size must be an int >= 1, not {size!r}")


def _check_block_shape(br: int, bc: int, error: type[ValueError] = SparsityError) -> None:
    if not all(_is_int(v) and v >= 1 for v in (br, bc)):
        raise error(f"block: block shape must be ints >= 1, not {(br, bc)!r}")


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _pad_to(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Zero-pad a 2-D array at the bottom/right up to ``(rows, cols)``."""
    return np.pad(a, ((0, rows - a.shape[0]), (0, cols - a.shape[1])))


def _grouped(dense: np.ndarray, m: int, axis: int) -> tuple[np.ndarray, bool]:
    """``(rows, groups, m)`` view of ``dense`` along ``axis`` (zero-padded), and whether padded."""
    a = dense if axis == 1 else dense.T
    k = a.shape[1]
    padded_k = _ceil_div(k, m) * m
    a = _pad_to(a, a.shape[0], padded_k)
    return a.reshape(a.shape[0], padded_k // m, m), padded_k != k


def _row_groups(dense: np.ndarray, size: int) -> tuple[np.ndarray, bool]:
    """``(groups, size, K)`` view with rows zero-padded to whole groups, and whether padded."""
    rows, k = dense.shape
    padded_rows = _ceil_div(rows, size) * size
    return _pad_to(dense, padded_rows, k).reshape(-1, size, k), padded_rows != rows


def _tiles(dense: np.ndarray, br: int, bc: int) -> tuple[np.ndarray, bool]:
    """``(grid_rows, grid_cols, br, bc)`` view, zero-padded to whole blocks, and whether padded."""
    rows, cols = dense.shape
    pr, pc = _ceil_div(rows, br) * br, _ceil_div(cols, bc) * bc
    tiles = _pad_to(dense, pr, pc).reshape(pr // br, br, pc // bc, bc).transpose(0, 2, 1, 3)
    return tiles, (pr, pc) != (rows, cols)


# ---------------------------------------------------------------------------------------------
# scoring


def _keep_top(score: np.ndarray, keep: int, axis: int) -> np.ndarray:
    """Boolean mask keeping the ``keep`` largest scores along ``axis`` (ties: lower position)."""
    order = np.argsort(-score, axis=axis, kind="stable")
    mask = np.zeros(score.shape, dtype=bool)
    np.put_along_axis(mask, np.take(order, np.arange(keep), axis=axis), True, axis=axis)
    return mask


def _keep_count(density: float, candidates: int) -> int:
    return max(1, round(density * candidates))


def _magnitude(dense: np.ndarray) -> np.ndarray:
    """|dense| as float64 (exact for int8..int32 weights; float weights prune too)."""
    return np.abs(np.asarray(dense, dtype=np.float64))


def _apply(dense: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``dense`` with everything outside ``mask`` zeroed, same dtype."""
    return np.where(mask, dense, 0).astype(dense.dtype)


# ---------------------------------------------------------------------------------------------
# per pattern


def nm_mask(dense: np.ndarray, n: int, m: int, axis: int = 1) -> np.ndarray:
    """Keep the ``n`` largest magnitudes of every group of ``m`` along ``axis`` (1 = K)."""
    _check_2d(dense, "nm_mask")
    _check_nm_params(n, m)
    _check_axis(axis)
    groups, _ = _grouped(dense, m, axis)
    keep = _keep_top(_magnitude(groups), n, axis=2)
    rows, k = (dense.shape[0], dense.shape[1]) if axis == 1 else (dense.shape[1], dense.shape[0])
    mask = keep.reshape(rows, -1)[:, :k]
    return mask if axis == 1 else mask.T


def prune_nm(dense: np.ndarray, n: int, m: int, axis: int = 1) -> np.ndarray:
    """``dense`` pruned to N:M along ``axis`` (``nm_mask``)."""
    return _apply(dense, nm_mask(dense, n, m, axis))


def transposable_nm_mask(dense: np.ndarray, n: int, m: int) -> np.ndarray:
    """Greedy mask N:M along both axes (SAT's bidirectional masks): per ``m x m`` block, visit
    entries from the largest magnitude down and keep one while its block row and block column
    hold fewer than ``n``. All blocks advance together, one rank per step (``m*m`` steps)."""
    _check_2d(dense, "transposable_nm_mask")
    _check_nm_params(n, m)
    rows, k = dense.shape
    pr, pk = _ceil_div(rows, m) * m, _ceil_div(k, m) * m
    blocks: np.ndarray = _pad_to(_magnitude(dense), pr, pk).reshape(pr // m, m, pk // m, m)
    blocks = blocks.transpose(0, 2, 1, 3).reshape(-1, m * m)
    order = np.argsort(-blocks, axis=1, kind="stable")
    keep = np.zeros(blocks.shape, dtype=bool)
    row_count = np.zeros((blocks.shape[0], m), dtype=np.int64)
    col_count = np.zeros((blocks.shape[0], m), dtype=np.int64)
    b = np.arange(blocks.shape[0])
    for rank in range(m * m):
        pos = order[:, rank]
        r, c = pos // m, pos % m
        ok = (row_count[b, r] < n) & (col_count[b, c] < n)
        keep[b[ok], pos[ok]] = True
        row_count[b[ok], r[ok]] += 1
        col_count[b[ok], c[ok]] += 1
    mask = keep.reshape(pr // m, pk // m, m, m).transpose(0, 2, 1, 3).reshape(pr, pk)
    return mask[:rows, :k]


def prune_transposable_nm(dense: np.ndarray, n: int, m: int) -> np.ndarray:
    """``dense`` pruned to N:M along both axes (``transposable_nm_mask``)."""
    return _apply(dense, transposable_nm_mask(dense, n, m))


def group_mask(dense: np.ndarray, size: int, density: float) -> np.ndarray:
    """Per group of ``size`` rows (output channels) keep the ``density`` fraction of K columns
    with the largest L1 norm over the group; all rows of a group share the columns."""
    _check_2d(dense, "group_mask")
    _check_group_size(size)
    _check_density(density, "group")
    groups, _ = _row_groups(_magnitude(dense), size)
    keep = _keep_top(groups.sum(axis=1), _keep_count(density, dense.shape[1]), 1)
    return np.repeat(keep, size, axis=0)[: dense.shape[0]]


def prune_group(dense: np.ndarray, size: int, density: float) -> np.ndarray:
    """``dense`` pruned to shared per-group column patterns (``group_mask``)."""
    return _apply(dense, group_mask(dense, size, density))


def block_mask(dense: np.ndarray, block_rows: int, block_cols: int, density: float) -> np.ndarray:
    """Keep the ``density`` fraction of ``block_rows x block_cols`` blocks (numpy axes 0 x 1,
    edge blocks zero-padded) with the largest L1 norm."""
    _check_2d(dense, "block_mask")
    _check_block_shape(block_rows, block_cols)
    _check_density(density, "block")
    tiles, _ = _tiles(_magnitude(dense), block_rows, block_cols)
    score = tiles.sum(axis=(2, 3))
    keep = _keep_top(score.ravel(), _keep_count(density, score.size), 0).reshape(score.shape)
    mask = np.repeat(np.repeat(keep, block_rows, axis=0), block_cols, axis=1)
    return mask[: dense.shape[0], : dense.shape[1]]


def prune_block(dense: np.ndarray, block_rows: int, block_cols: int, density: float) -> np.ndarray:
    """``dense`` pruned to whole blocks (``block_mask``)."""
    return _apply(dense, block_mask(dense, block_rows, block_cols, density))


def unstructured_mask(dense: np.ndarray, density: float) -> np.ndarray:
    """Keep the ``density`` fraction of all elements with the largest magnitude."""
    _check_2d(dense, "unstructured_mask")
    _check_density(density, "unstructured")
    score = _magnitude(dense).ravel()
    return _keep_top(score, _keep_count(density, score.size), 0).reshape(dense.shape)


def prune_unstructured(dense: np.ndarray, density: float) -> np.ndarray:
    """``dense`` pruned element-wise (``unstructured_mask``)."""
    return _apply(dense, unstructured_mask(dense, density))


# ---------------------------------------------------------------------------------------------
# by pattern


def mask_for(dense: np.ndarray, pattern: SparsityPattern) -> np.ndarray:
    """Magnitude keep-mask of a ``(rows, K)`` weight for ``pattern`` (the mask the pattern may
    already carry is not consulted). ``Block(rows, cols)`` spans ``rows`` along K and ``cols``
    output channels, as in the pattern's ``K x N`` view."""
    match pattern:
        case Dense():
            _check_2d(dense, "mask_for")
            return np.ones(dense.shape, dtype=bool)
        case NM(transposable=True):
            return transposable_nm_mask(dense, pattern.n, pattern.m)
        case NM():
            return nm_mask(dense, pattern.n, pattern.m, _NUMPY_AXIS[pattern.axis])
        case Group():
            return group_mask(dense, pattern.size, pattern.density)
        case Block():
            return block_mask(dense, pattern.cols, pattern.rows, pattern.density)
        case Unstructured():
            return unstructured_mask(dense, pattern.density)
    raise SparsityError(f"mask_for: {pattern!r} is not a sparsity pattern")


def prune(dense: np.ndarray, pattern: SparsityPattern) -> np.ndarray:
    """``dense`` with everything outside ``mask_for(dense, pattern)`` zeroed, same dtype."""
    return _apply(dense, mask_for(dense, pattern))
