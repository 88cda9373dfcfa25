"""Magnitude pruning: the keep-mask of every ``workloads.sparsity`` pattern, and its application.

Orientation (the functional model's): a weight is a 2-D array ``(rows, K)`` = (output channels,
reduction), so numpy ``axis=1`` is a pattern's ``"k"`` axis and ``axis=0`` its ``"n"`` axis. The
GEMM-view ``K x N`` mask a pattern may carry (``workloads.sparsity``) is the transpose of these.

``*_mask`` functions return the bool keep-mask (``True`` = kept); ``prune_*`` zero everything
else and keep the dtype; ``mask_for`` / ``prune`` dispatch on a pattern. Scores are magnitudes
(L1 norms for groups and blocks); ties go to the lower position, so every mask is deterministic.
A density keeps ``round(density * candidates)`` candidates, at least one. Bad parameters raise
``SparsityError``.

Network-level generators take ``{layer name: weight}`` mappings: global magnitude pruning with a
per-layer floor, random masks at uniform or ERK per-layer densities (seeded), and a channel
permutation that clusters similar output channels before group pruning (its consumer's input
channels are permuted the same way, so the network computes the same function).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

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
    "TransposableReport",
    "block_mask",
    "channel_permutation",
    "erk_densities",
    "global_unstructured_masks",
    "group_mask",
    "mask_for",
    "nm_mask",
    "permute_channels",
    "prune",
    "prune_block",
    "prune_group",
    "prune_nm",
    "prune_transposable_nm",
    "prune_unstructured",
    "random_masks",
    "transposable_nm_mask",
    "transposable_nm_report",
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


# ---------------------------------------------------------------------------------------------
# transposable N:M against one-directional N:M


@dataclass(frozen=True, slots=True, kw_only=True)
class TransposableReport:
    """Fraction of a weight's total magnitude each mask keeps (1.0 = all of it)."""

    transposable_kept: float
    one_way_kept: float

    @property
    def relative(self) -> float:
        """Magnitude the transposable mask keeps per unit the one-directional one keeps."""
        return self.transposable_kept / self.one_way_kept if self.one_way_kept else 1.0


def _kept_fraction(dense: np.ndarray, mask: np.ndarray) -> float:
    mag = _magnitude(dense)
    total = float(mag.sum())
    return float(mag[mask].sum()) / total if total else 1.0


def transposable_nm_report(dense: np.ndarray, n: int, m: int) -> TransposableReport:
    """How much magnitude N:M along both axes keeps against N:M along K only (SAT reports the
    bidirectional mask costs little accuracy; this is the tensor-level measure of that cost)."""
    both = transposable_nm_mask(dense, n, m)
    return TransposableReport(
        transposable_kept=_kept_fraction(dense, both),
        one_way_kept=_kept_fraction(dense, nm_mask(dense, n, m, 1)),
    )


# ---------------------------------------------------------------------------------------------
# channel permutation for group sparsity


def _profiles(dense: np.ndarray) -> np.ndarray:
    """Unit-L2 magnitude profile of every row (a zero row stays zero)."""
    mag = _magnitude(np.asarray(dense).reshape(dense.shape[0], -1))
    norm = np.linalg.norm(mag, axis=1, keepdims=True)
    return np.divide(mag, norm, out=np.zeros_like(mag), where=norm > 0)


def channel_permutation(dense: np.ndarray, size: int) -> np.ndarray:
    """Order of the output channels (axis 0) that puts similar channels in the same group of
    ``size``: greedily, the unplaced channel with the largest L1 norm seeds a group and takes
    the ``size - 1`` unplaced channels whose magnitude profiles are most cosine-similar to it
    (ties: lower index). ``dense[perm]`` is then group-pruned; ``permute_channels`` applies the
    same order to the consumer."""
    _check_group_size(size)
    if not isinstance(dense, np.ndarray) or dense.ndim < 2:
        raise SparsityError("channel_permutation: needs a weight with output channels on axis 0")
    prof, l1 = _profiles(dense), _magnitude(dense.reshape(dense.shape[0], -1)).sum(axis=1)
    free = np.ones(dense.shape[0], dtype=bool)
    order: list[int] = []
    while free.any():
        idx = np.flatnonzero(free)
        seed = int(idx[np.argmax(l1[idx])])
        sim = prof[idx] @ prof[seed]
        sim[idx == seed] = np.inf
        chosen = idx[np.argsort(-sim, kind="stable")[:size]]
        order.extend(int(c) for c in chosen)
        free[chosen] = False
    return np.array(order, dtype=np.int64)


def permute_channels(
    producer: np.ndarray, consumer: np.ndarray, perm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``producer``'s output channels (axis 0) and ``consumer``'s input channels (axis 1) in
    order ``perm``: ``consumer(act(producer x))`` is unchanged for any per-channel ``act``
    (bias, folded BatchNorm and requantization scales must be permuted with ``perm`` too)."""
    perm = np.asarray(perm)
    c = producer.shape[0]
    if perm.shape != (c,) or not np.array_equal(np.sort(perm), np.arange(c)):
        raise SparsityError(f"permute_channels: perm must be a permutation of {c} channels")
    if consumer.ndim < 2 or consumer.shape[1] != c:
        raise SparsityError(
            f"permute_channels: the consumer's axis 1 must hold the producer's {c} channels, "
            f"not shape {consumer.shape}"
        )
    return np.take(producer, perm, axis=0), np.take(consumer, perm, axis=1)


# ---------------------------------------------------------------------------------------------
# network-level unstructured: global magnitude, random (uniform or ERK)


def _check_weights(weights: Mapping[str, np.ndarray]) -> None:
    if not weights:
        raise SparsityError("needs at least one named weight")


def global_unstructured_masks(
    weights: Mapping[str, np.ndarray], density: float, floor: float = 0.0
) -> dict[str, np.ndarray]:
    """One magnitude threshold over every weight: keep the ``density`` fraction of all elements,
    every layer keeping at least its own top ``floor`` fraction (so no layer is pruned away).
    Ties go to the earlier layer, then the lower position."""
    _check_weights(weights)
    _check_density(density, "global unstructured")
    if not 0.0 <= floor <= 1.0:
        raise SparsityError(f"global unstructured: floor must be in [0, 1], not {floor!r}")
    masks = {name: np.zeros(w.shape, dtype=bool) for name, w in weights.items()}
    for name, w in weights.items():
        if floor > 0:
            masks[name] = unstructured_mask(w.reshape(w.shape[0], -1), floor).reshape(w.shape)
    scores = np.concatenate([_magnitude(w).ravel() for w in weights.values()])
    taken = np.concatenate([masks[name].ravel() for name in weights])
    budget = max(0, round(density * scores.size) - int(taken.sum()))
    scores[taken] = -1.0
    top = np.argsort(-scores, kind="stable")[:budget]
    taken[top] = True
    return _split(taken, weights)


def _split(flat: np.ndarray, weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out, start = {}, 0
    for name, w in weights.items():
        out[name] = flat[start : start + w.size].reshape(w.shape)
        start += w.size
    return out


def erk_densities(shapes: Mapping[str, tuple[int, ...]], density: float) -> dict[str, float]:
    """Erdős–Rényi-kernel per-layer densities (Evci et al. 2020, RigL): density proportional to
    ``sum(shape) / prod(shape)``, scaled so the kept elements total ``density`` of all; a layer
    that would exceed 1 is kept dense and the rest rescaled."""
    _check_density(density, "erk")
    if not shapes:
        raise SparsityError("erk: needs at least one named weight")
    size = {name: math.prod(s) for name, s in shapes.items()}
    raw = {name: sum(s) / size[name] for name, s in shapes.items()}
    dense: set[str] = set()
    while True:
        budget = density * sum(size.values()) - sum(size[n] for n in dense)
        free = [n for n in shapes if n not in dense]
        eps = budget / sum(raw[n] * size[n] for n in free) if free else 0.0
        over = [n for n in free if eps * raw[n] > 1.0]
        if not over:
            break
        dense.update(over)
    return {n: 1.0 if n in dense else eps * raw[n] for n in shapes}


def random_masks(
    shapes: Mapping[str, tuple[int, ...]], density: float, *, distribution: str = "uniform",
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Random keep-masks, each layer keeping exactly ``round(d * size)`` (at least one) at its
    density ``d``: ``density`` for every layer (``uniform``) or ``erk_densities``. Layer ``i``
    draws from ``numpy.random.default_rng([seed, i])``: the same seed gives the same masks."""
    if distribution not in ("uniform", "erk"):
        raise SparsityError(
            f"random masks: distribution must be uniform or erk, not {distribution!r}"
        )
    _check_density(density, "random")
    per_layer = (
        erk_densities(shapes, density) if distribution == "erk" else dict.fromkeys(shapes, density)
    )
    out = {}
    for i, (name, shape) in enumerate(shapes.items()):
        size = math.prod(shape)
        flat = np.zeros(size, dtype=bool)
        chosen = np.random.default_rng([seed, i]).permutation(size)
        flat[chosen[: _keep_count(per_layer[name], size)]] = True
        out[name] = flat.reshape(shape)
    return out
