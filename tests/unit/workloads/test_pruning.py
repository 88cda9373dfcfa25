"""workloads.pruning: every mask satisfies its pattern, keeps the largest scores, and
``mask_for`` / ``prune`` pick the right mask and axis for each ``workloads.sparsity`` pattern."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsim.workloads.pruning import (
    block_mask,
    group_mask,
    mask_for,
    nm_mask,
    prune,
    prune_block,
    prune_group,
    prune_nm,
    prune_transposable_nm,
    prune_unstructured,
    transposable_nm_mask,
    unstructured_mask,
)
from sparsim.workloads.sparsity import NM, Block, Dense, Group, SparsityError, Unstructured

from tests.strategies import int8_matrices, nm_params

SEARCH = settings(max_examples=50, deadline=None)





def group_counts(mask: np.ndarray, m: int, axis: int) -> np.ndarray:
    """Kept entries per group of ``m`` consecutive positions along numpy ``axis``."""
    a = mask if axis == 1 else mask.T
    return np.stack([a[:, g0 : g0 + m].sum(axis=1) for g0 in range(0, a.shape[1], m)], axis=1)


def group_lengths(extent: int, m: int) -> np.ndarray:
    """Length of each group of ``m`` over ``extent`` positions (the last may be short)."""
    return np.minimum(m, extent - np.arange(0, extent, m))


def keep_count(density: float, candidates: int) -> int:
    """The module docstring's rule: round to the nearest count, at least one."""
    return max(1, round(density * candidates))


def assert_whole_blocks(mask: np.ndarray, br: int, bc: int) -> int:
    """Every ``br x bc`` block (numpy axes 0 x 1) is all kept or all dropped; returns kept."""
    kept = 0
    for r0 in range(0, mask.shape[0], br):
        for c0 in range(0, mask.shape[1], bc):
            block = mask[r0 : r0 + br, c0 : c0 + bc]
            assert block.all() or not block.any()
            kept += int(block.all())
    return kept


# --------------------------------------------------------------------------------------------
# N:M


@SEARCH
@given(int8_matrices(), nm_params(), st.sampled_from([0, 1]))
def test_nm_mask_keeps_the_n_largest_of_every_group(dense, nm, axis):
    n, m = nm
    mask = nm_mask(dense, n, m, axis)
    # exactly min(n, group length) per group: the zero padding of a short group never wins a tie
    counts = group_counts(mask, m, axis)
    expected = np.minimum(n, group_lengths(dense.shape[axis], m))
    assert np.array_equal(counts, np.broadcast_to(expected, counts.shape))
    a, kept = (dense, mask) if axis == 1 else (dense.T, mask.T)
    for g0 in range(0, a.shape[1], m):
        mag = np.abs(a[:, g0 : g0 + m].astype(int))
        k = kept[:, g0 : g0 + m]
        assert np.all(np.where(k, mag, 999).min(axis=1) >= np.where(k, -1, mag).max(axis=1))


def test_nm_mask_breaks_ties_towards_lower_positions():
    dense = np.full((1, 8), 5, np.int8)
    assert nm_mask(dense, 2, 4).tolist() == [[True, True, False, False] * 2]


@SEARCH
@given(int8_matrices(max_rows=24, max_cols=24), nm_params())
def test_transposable_mask_is_nm_along_both_axes(dense, nm):
    n, m = nm
    mask = transposable_nm_mask(dense, n, m)
    assert group_counts(mask, m, 1).max() <= n
    assert group_counts(mask, m, 0).max() <= n


@SEARCH
@given(int8_matrices(max_rows=24, max_cols=24), nm_params())
def test_transposable_greedy_keeps_each_blocks_largest(dense, nm):
    n, m = nm
    pruned = prune_transposable_nm(dense, n, m)
    mag = np.abs(dense.astype(int))
    for r0 in range(0, dense.shape[0], m):
        for c0 in range(0, dense.shape[1], m):
            block = mag[r0 : r0 + m, c0 : c0 + m]
            r, c = np.unravel_index(np.argmax(block), block.shape)  # first largest: greedy's pick
            assert pruned[r0 + r, c0 + c] == dense[r0 + r, c0 + c]


def test_transposable_mask_of_a_uniform_block_is_a_diagonal_band():
    # all ties -> row-major visiting order: row 0 takes columns 0-1, row 1 columns 0-1, then
    # columns 0 and 1 are full, so rows 2 and 3 take columns 2-3 (worked by hand)
    expected = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]], bool)
    assert np.array_equal(transposable_nm_mask(np.ones((4, 4), np.int8), 2, 4), expected)


# --------------------------------------------------------------------------------------------
# group, block, unstructured


@SEARCH
@given(int8_matrices(), st.integers(1, 5), st.floats(0.05, 1.0))
def test_group_mask_shares_the_top_columns_of_each_group(dense, size, density):
    mask = group_mask(dense, size, density)
    assert np.all(mask.sum(axis=1) == keep_count(density, dense.shape[1]))
    for g0 in range(0, dense.shape[0], size):
        rows = mask[g0 : g0 + size]
        assert np.array_equal(rows, np.broadcast_to(rows[0], rows.shape))  # one shared pattern
        norm = np.abs(dense[g0 : g0 + size].astype(int)).sum(axis=0)
        assert norm[rows[0]].min() >= norm[~rows[0]].max(initial=0)


def test_prune_group_picks_columns_by_group_l1_norm():
    dense = np.array([[1, -9, 3, 0], [2, 1, -8, 1], [5, 5, 5, 5]], np.int8)
    # group of rows 0-1: column L1 norms 3, 10, 11, 1 -> keep columns 2 and 1
    expected = np.array([[0, -9, 3, 0], [0, 1, -8, 0], [5, 5, 0, 0]], np.int8)
    assert np.array_equal(prune_group(dense, 2, 0.5), expected)


@SEARCH
@given(int8_matrices(), st.integers(1, 4), st.integers(1, 5), st.floats(0.05, 1.0))
def test_block_mask_keeps_whole_blocks(dense, br, bc, density):
    mask = block_mask(dense, br, bc, density)
    grid = -(-dense.shape[0] // br) * -(-dense.shape[1] // bc)
    assert assert_whole_blocks(mask, br, bc) == keep_count(density, grid)


def test_prune_block_keeps_the_block_with_the_largest_l1_norm():
    # 2x2 blocks of a 2x4 array: L1 norms 1+1+1+1 = 4 and 9 -> keep the right block
    dense = np.array([[1, -1, 9, 0], [1, 1, 0, 0]], np.int8)
    assert np.array_equal(prune_block(dense, 2, 2, 0.5), [[0, 0, 9, 0], [0, 0, 0, 0]])


@SEARCH
@given(int8_matrices(), st.floats(0.05, 1.0))
def test_unstructured_mask_keeps_the_top_magnitudes(dense, density):
    mask = unstructured_mask(dense, density)
    assert mask.sum() == keep_count(density, dense.size)
    mag = np.abs(dense.astype(int))
    assert mag[mask].min() >= mag[~mask].max(initial=0)


def test_prune_unstructured_keeps_top_magnitudes():
    dense = np.array([[1, -7, 3], [-2, 6, 0]], np.int8)
    assert np.array_equal(prune_unstructured(dense, 0.5), [[0, -7, 3], [0, 6, 0]])


MASKS = [
    (nm_mask, prune_nm, (2, 4)),
    (transposable_nm_mask, prune_transposable_nm, (1, 4)),
    (group_mask, prune_group, (2, 0.5)),
    (block_mask, prune_block, (2, 2, 0.5)),
    (unstructured_mask, prune_unstructured, (0.5,)),
]


@pytest.mark.parametrize(("mask_fn", "prune_fn", "params"), MASKS)
def test_masks_are_bool_prune_applies_them_and_floats_work(mask_fn, prune_fn, params):
    dense = np.random.default_rng(3).standard_normal((6, 10)).astype(np.float32)
    mask = mask_fn(dense, *params)
    assert mask.dtype == np.bool_ and mask.shape == dense.shape
    pruned = prune_fn(dense, *params)
    assert pruned.dtype == dense.dtype
    assert np.array_equal(pruned, np.where(mask, dense, 0))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda d: prune_nm(d, 2, 17), r"N:M: m must be an int in \[2, 16\], not 17"),
        (lambda d: prune_nm(d, 4, 4), "N:M: n must be an int with 1 <= n < m=4, not 4"),
        (lambda d: prune_nm(d, 2, 4, axis=2), "axis must be 0 .rows. or 1 .K., not 2"),
        (lambda d: prune_transposable_nm(d, 0, 4), "N:M: n must be"),
        (lambda d: prune_group(d, 0, 0.5), "group: size must be an int >= 1, not 0"),
        (lambda d: prune_group(d, 2, 0.0), r"group: density must be in \(0, 1\], not 0.0"),
        (lambda d: prune_block(d, 2, 0, 0.5), "block: block shape must be ints >= 1"),
        (lambda d: prune_block(d, 2, 2, 1.5), r"block: density must be in \(0, 1\]"),
        (lambda d: prune_unstructured(d, -0.1), r"unstructured: density must be in \(0, 1\]"),
        (lambda d: prune_unstructured(d[0], 0.5), r"unstructured_mask: needs a 2-D array"),
        (lambda d: prune(d, "2:4"), "mask_for: '2:4' is not a sparsity pattern"),
        (lambda d: prune(d[0], Dense()), r"mask_for: needs a 2-D array, not \(4,\)"),
    ],
)
def test_bad_parameters_raise_sparsity_error(call, match):
    with pytest.raises(SparsityError, match=match):
        call(np.ones((4, 4), np.int8))


def test_numpy_integer_parameters_are_accepted():
    assert nm_mask(np.ones((1, 4), np.int8), np.int64(2), np.int64(4)).sum() == 2


# --------------------------------------------------------------------------------------------
# mask_for / prune by pattern ((rows, K) weight: "k" is numpy axis 1, "n" axis 0)


@SEARCH
@given(int8_matrices(max_rows=20, max_cols=20), nm_params(), st.sampled_from(["k", "n"]))
def test_nm_pattern_groups_along_its_axis(dense, nm, axis):
    n, m = nm
    numpy_axis = {"k": 1, "n": 0}[axis]
    mask = mask_for(dense, NM(n=n, m=m, axis=axis))
    lengths = group_lengths(dense.shape[numpy_axis], m)
    counts = group_counts(mask, m, numpy_axis)
    assert np.array_equal(counts, np.broadcast_to(np.minimum(n, lengths), counts.shape))


@SEARCH
@given(int8_matrices(max_rows=20, max_cols=20), nm_params(), st.sampled_from(["k", "n"]))
def test_transposable_pattern_is_nm_along_both_axes(dense, nm, axis):
    n, m = nm
    mask = mask_for(dense, NM(n=n, m=m, axis=axis, transposable=True))
    assert group_counts(mask, m, 0).max() <= n and group_counts(mask, m, 1).max() <= n
    assert np.array_equal(mask, transposable_nm_mask(dense, n, m))


def test_nm_pattern_axis_n_groups_output_channels():
    # column 0 holds 4 output channels' weights 1, 2, 3, 4: 2:4 along "n" keeps rows 2 and 3
    dense = np.array([[1], [2], [3], [4]], np.int8)
    assert mask_for(dense, NM(n=2, m=4, axis="n"))[:, 0].tolist() == [False, False, True, True]
    assert mask_for(dense, NM(n=2, m=4, axis="k")).all()  # groups along K have one entry


@SEARCH
@given(int8_matrices(), st.integers(1, 5), st.floats(0.05, 1.0))
def test_group_pattern_shares_columns_across_output_channels(dense, size, density):
    mask = mask_for(dense, Group(size=size, density=density))
    for g0 in range(0, dense.shape[0], size):
        rows = mask[g0 : g0 + size]
        assert np.array_equal(rows, np.broadcast_to(rows[0], rows.shape))
        assert rows[0].sum() == keep_count(density, dense.shape[1])


@SEARCH
@given(int8_matrices(), st.integers(1, 4), st.integers(1, 4), st.floats(0.05, 1.0))
def test_block_pattern_spans_rows_along_k_and_cols_along_output_channels(
    dense, rows, cols, density
):
    # workloads.sparsity views the weight as K x N, so Block(rows, cols) is a cols x rows block
    # of the (output channels, K) array
    mask = mask_for(dense, Block(rows=rows, cols=cols, density=density))
    grid = -(-dense.shape[0] // cols) * -(-dense.shape[1] // rows)
    assert assert_whole_blocks(mask, cols, rows) == keep_count(density, grid)


@SEARCH
@given(int8_matrices(), st.floats(0.05, 1.0))
def test_unstructured_pattern_keeps_its_density(dense, density):
    mask = mask_for(dense, Unstructured(density=density))
    assert mask.sum() == keep_count(density, dense.size)


PATTERNS = [
    Dense(),
    NM(n=2, m=4),
    NM(n=1, m=4, axis="n"),
    NM(n=2, m=8, transposable=True),
    Group(size=4, density=0.25),
    Block(rows=2, cols=4, density=0.5),
    Unstructured(density=0.3),
]


@pytest.mark.parametrize("pattern", PATTERNS, ids=str)
def test_prune_zeroes_everything_outside_mask_for(pattern):
    dense = np.random.default_rng(7).integers(-128, 128, size=(12, 20), dtype=np.int8)
    mask = mask_for(dense, pattern)
    assert mask.dtype == np.bool_ and mask.shape == dense.shape
    pruned = prune(dense, pattern)
    assert pruned.dtype == np.int8
    assert np.array_equal(pruned, np.where(mask, dense, 0))
    # int8 weights from the full range are nonzero almost surely; density is exact here
    assert mask.mean() == pytest.approx(pattern.density, abs=0.05)
