"""What sparsity a real weight already has: per-layer statistics and the best-fitting pattern.

Orientation as ``workloads.pruning``: a weight is ``(rows, K)`` = (output channels, reduction per
conv group); a conv ``(C_out, C_in/g, kh, kw)`` is read as ``w.reshape(C_out, -1)``. The GEMM
``K x N`` mask a pattern carries (``workloads.sparsity``) is the transpose of the nonzeros.

Findings read like ``"2:4 along K: 100% of groups"`` (groups of ``m`` consecutive reduction
elements holding at most ``n`` nonzeros) and ``"group4: 48% zero groups"`` (of the cells made
of ``G`` consecutive output channels x one reduction position, the share that is all zero, i.e.
skippable by hardware whose ``G`` channels share an activation selector).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sparsim.workloads.pruning import _grouped, _row_groups
from sparsim.workloads.sparsity import NM, Dense, Group, SparsityPattern, Unstructured

__all__ = [
    "GROUP_SIZES",
    "NM_CANDIDATES",
    "WeightStats",
    "as_matrix",
    "best_pattern",
    "nm_fraction",
    "weight_stats",
    "zero_group_fraction",
]

NM_CANDIDATES = ((1, 4), (2, 4), (1, 8), (2, 8), (4, 8), (2, 16), (4, 16), (8, 16))
"""N:M ratios checked, as the hardware templates list them (sparsest first within each m)."""

GROUP_SIZES = (2, 4, 8)
"""Group sizes (output channels sharing a pattern) reported."""


def as_matrix(weight: np.ndarray) -> np.ndarray:
    """The ``(rows, K)`` view of a weight of any rank >= 2 (a 1-D bias is not a weight)."""
    if weight.ndim < 2:
        raise ValueError(f"a weight needs at least 2 dimensions, not shape {weight.shape}")
    return weight.reshape(weight.shape[0], -1)


def _group_counts(matrix: np.ndarray, m: int) -> np.ndarray:
    """Nonzeros of every group of ``m`` along K (the last group zero-padded)."""
    groups, _ = _grouped(matrix != 0, m, 1)
    return np.count_nonzero(groups, axis=2)


def nm_fraction(matrix: np.ndarray, n: int, m: int) -> float:
    """Share of the groups of ``m`` along K holding at most ``n`` nonzeros."""
    return float(np.mean(_group_counts(matrix, m) <= n))


def zero_group_fraction(matrix: np.ndarray, size: int) -> float:
    """Share of (``size`` output channels x one K position) cells that are all zero (rows are
    zero-padded to whole groups, which counts padding as zero, as the hardware skips it)."""
    groups, _ = _row_groups(matrix != 0, size)
    return float(np.mean(~groups.any(axis=1)))


@dataclass(frozen=True, slots=True, kw_only=True)
class WeightStats:
    """One layer's weight: density, findings, the best-fitting pattern (with its mask), the
    histogram of nonzeros per group of ``hist_m`` along K (index = count), and the row
    imbalance: the busiest output channel's nonzeros over the mean (1.0 = balanced)."""

    density: float
    findings: tuple[str, ...]
    pattern: SparsityPattern
    hist_m: int
    histogram: tuple[int, ...]
    row_imbalance: float


def _nm_finding(matrix: np.ndarray) -> tuple[str, NM | None, dict[int, np.ndarray]]:
    """The sparsest N:M every group satisfies, else the share of groups meeting 2:4; and the
    per-group counts for each ``m`` checked (reused for the histogram)."""
    counts = {m: _group_counts(matrix, m) for m in sorted({m for _, m in NM_CANDIDATES})}
    full = [(n, m) for n, m in NM_CANDIDATES if counts[m].max(initial=0) <= n]
    if full:
        n, m = min(full, key=lambda nm: (nm[0] / nm[1], nm[1]))
        return f"{n}:{m} along K: 100% of groups", NM(n=n, m=m), counts
    return f"2:4 along K: {float(np.mean(counts[4] <= 2)):.0%} of groups", None, counts


def best_pattern(matrix: np.ndarray) -> SparsityPattern:
    """N:M if every group satisfies one, else group ``G`` if all zeros lie in whole shared
    cells of the largest such ``G``, else unstructured at the density; dense without zeros.
    The pattern carries the GEMM-view mask (``K x N``)."""
    return weight_stats(matrix).pattern


def _row_imbalance(matrix: np.ndarray) -> float:
    per_row = np.count_nonzero(matrix, axis=1)
    mean = per_row.mean()
    return float(per_row.max() / mean) if mean > 0 else 1.0


def _pattern(matrix: np.ndarray, density: float, nm: NM | None) -> SparsityPattern:
    mask = np.ascontiguousarray((matrix != 0).T)
    if density >= 1.0:
        return Dense()
    if nm is not None:
        return NM(n=nm.n, m=nm.m, mask=mask)
    shared = [g for g in GROUP_SIZES if _all_zeros_shared(matrix, g)]
    if shared and density > 0:
        return Group(size=max(shared), density=density, mask=mask)
    return Unstructured(density=max(density, 1.0 / matrix.size), mask=mask)


def _all_zeros_shared(matrix: np.ndarray, size: int) -> bool:
    rows = matrix.shape[0]
    if rows % size or rows < size:
        return False
    zero = matrix == 0
    groups = zero.reshape(rows // size, size, -1)
    return bool(np.all(groups.all(axis=1) == groups.any(axis=1)))


def weight_stats(weight: np.ndarray) -> WeightStats:
    """Statistics of one weight (any rank; see ``as_matrix``)."""
    matrix = as_matrix(weight)
    density = float(np.count_nonzero(matrix)) / matrix.size
    nm_text, nm, counts_by_m = _nm_finding(matrix)
    findings = (
        nm_text,
        *(f"group{g}: {zero_group_fraction(matrix, g):.0%} zero groups" for g in GROUP_SIZES),
    )
    hist_m = nm.m if nm is not None else 4
    counts = np.bincount(counts_by_m[hist_m].ravel(), minlength=hist_m + 1)
    return WeightStats(
        density=density,
        findings=findings,
        pattern=_pattern(matrix, density, nm),
        hist_m=hist_m,
        histogram=tuple(int(c) for c in counts),
        row_imbalance=_row_imbalance(matrix),
    )
