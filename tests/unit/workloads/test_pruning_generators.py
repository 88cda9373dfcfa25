"""workloads.pruning network-level generators: transposable vs one-way magnitude, channel
permutation (the network computes the same function, bit-exactly through accel.functional),
global magnitude with a floor, random uniform/ERK masks; every mask passes accel.formats'
checker."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsim.accel import functional, reference
from sparsim.accel.formats import (
    check_nm,
    check_transposable_nm,
    compress_block,
    compress_csr,
    compress_group,
    compress_nm,
)
from sparsim.workloads.pruning import (
    block_mask,
    channel_permutation,
    erk_densities,
    global_unstructured_masks,
    group_mask,
    nm_mask,
    permute_channels,
    random_masks,
    transposable_nm_mask,
    transposable_nm_report,
    unstructured_mask,
)
from sparsim.workloads.sparsity import SparsityError

from tests.strategies import int8_matrices, nm_params

SEARCH = settings(max_examples=25, deadline=None)


# --------------------------------------------------------------------------------------------
# every generator's mask is accepted by the format checker


@SEARCH
@given(int8_matrices(max_rows=16, max_cols=24), nm_params(), st.sampled_from([0, 1]))
def test_nm_masks_pass_the_format_checker(dense, nm, axis):
    n, m = nm
    pruned = np.where(nm_mask(dense, n, m, axis), dense, 0).astype(np.int8)
    check_nm(pruned, n, m, axis)
    t = compress_nm(pruned, n, m, axis)
    t.check()
    assert np.array_equal(t.decompress(), pruned)
    both = np.where(transposable_nm_mask(dense, n, m), dense, 0).astype(np.int8)
    check_transposable_nm(both, n, m)


@SEARCH
@given(int8_matrices(max_rows=16, max_cols=24), st.integers(1, 4), st.floats(0.1, 1.0))
def test_group_block_unstructured_masks_pass_the_format_checker(dense, size, density):
    group = np.where(group_mask(dense, size, density), dense, 0).astype(np.int8)
    g = compress_group(group, size)
    g.check()
    # a group stores only its shared kept columns: at most round(density * K) per group
    assert np.all(np.diff(g.col_ptr) <= max(1, round(density * dense.shape[1])))
    block = np.where(block_mask(dense, 2, size, density), dense, 0).astype(np.int8)
    compress_block(block, 2, size).check()
    unstructured = np.where(unstructured_mask(dense, density), dense, 0).astype(np.int8)
    c = compress_csr(unstructured)
    c.check()
    assert np.array_equal(c.decompress(), unstructured)


# --------------------------------------------------------------------------------------------
# transposable N:M against one-directional N:M


def test_transposable_report_worked_by_hand():
    # 2:4, one-way keeps both nonzeros of each row: all 36 of |W|. Both ways: greedy takes 8, 7
    # (row 0), 6, 5 (row 1); columns 0 and 1 are then full, rows 2-3 get only zeros: 26 / 36.
    dense = np.array([[8, 7, 0, 0], [6, 5, 0, 0], [4, 3, 0, 0], [2, 1, 0, 0]], np.int8)
    report = transposable_nm_report(dense, 2, 4)
    assert report.one_way_kept == 1.0
    assert report.transposable_kept == pytest.approx(26 / 36, abs=1e-12)
    assert report.relative == pytest.approx(26 / 36, abs=1e-12)


@SEARCH
@given(int8_matrices(max_rows=16, max_cols=16), nm_params())
def test_transposable_never_keeps_more_than_one_way(dense, nm):
    # the transposable mask is N:M along K too, and one-way N:M keeps each group's optimum
    report = transposable_nm_report(dense, *nm)
    assert report.transposable_kept <= report.one_way_kept + 1e-12


# --------------------------------------------------------------------------------------------
# channel permutation


def _interleaved() -> np.ndarray:
    """Eight channels over 8 inputs: even channels use inputs 0-3, odd ones inputs 4-7."""
    w = np.zeros((8, 8), np.int8)
    w[0::2, :4] = np.arange(1, 17).reshape(4, 4)
    w[1::2, 4:] = np.arange(1, 17).reshape(4, 4)
    return w


def test_permutation_clusters_channels_with_the_same_support():
    w = _interleaved()
    perm = channel_permutation(w, 4)
    assert sorted(perm.tolist()) == list(range(8))
    first = set(perm[:4].tolist())
    assert first in ({0, 2, 4, 6}, {1, 3, 5, 7})
    # group4 at 50%: permuted groups keep every nonzero (|W| sums to 272). The natural order
    # mixes both supports in a group: rows 0-3 have column norms 6, 8, 10, 12 on both halves and
    # keep columns 3, 7, 2, 6 (4+3 + 8+7 + 4+3 + 8+7 = 44); rows 4-7 (norms 22..28) keep
    # 12+11+16+15 twice = 108; 152 in all
    kept = np.abs(w[perm].astype(int))[group_mask(w[perm], 4, 0.5)].sum()
    natural = np.abs(w.astype(int))[group_mask(w, 4, 0.5)].sum()
    assert kept == np.abs(w.astype(int)).sum() == 272
    assert natural == 152


def _requant(y: np.ndarray) -> np.ndarray:
    """Per-element int32 -> int8 (shift 6, saturate): commutes with any channel permutation."""
    return np.clip(y >> 6, -128, 127).astype(np.int8)


def _two_convs(x, w1, w2, compress1=None) -> np.ndarray:
    h = _requant(functional.conv2d(x, w1, padding=1, compress=compress1))
    return functional.conv2d(h, w2, padding=1)


def test_permuted_network_is_bit_exact_through_the_functional_model():
    rng = np.random.default_rng(11)
    x = rng.integers(-128, 128, (2, 3, 6, 6), dtype=np.int8)
    w1 = rng.integers(-128, 128, (8, 3, 3, 3), dtype=np.int8)
    w2 = rng.integers(-128, 128, (5, 8, 3, 3), dtype=np.int8)
    perm = channel_permutation(w1, 4)
    assert not np.array_equal(perm, np.arange(8))
    # group-prune the permuted producer, then run both orders through the compressed format
    w1p = w1[perm]
    keep = group_mask(w1p.reshape(8, -1), 4, 0.5).reshape(w1p.shape)
    w1p_pruned = np.where(keep, w1p, 0).astype(np.int8)
    p1, p2 = permute_channels(w1, w2, perm)
    assert np.array_equal(p1, w1p)
    unpermuted = np.empty_like(w1p_pruned)
    unpermuted[perm] = w1p_pruned
    got = _two_convs(x, w1p_pruned, p2, compress1=lambda w: compress_group(w, 4))
    expected = _two_convs(x, unpermuted, w2)
    assert np.array_equal(got, expected)
    ref = reference.conv2d(
        _requant(reference.conv2d(x, unpermuted, padding=1)), w2, padding=1
    )
    assert np.array_equal(got, ref)


def test_permute_channels_rejects_a_mismatch():
    with pytest.raises(SparsityError, match="perm must be a permutation of 4 channels"):
        permute_channels(np.ones((4, 2)), np.ones((3, 4)), np.array([0, 1, 1, 2]))
    with pytest.raises(SparsityError, match="axis 1 must hold the producer's 4 channels"):
        permute_channels(np.ones((4, 2)), np.ones((3, 5)), np.arange(4))


# --------------------------------------------------------------------------------------------
# global magnitude with a per-layer floor


def test_global_threshold_with_a_floor_worked_by_hand():
    # 4 + 4 elements at density 0.25 -> keep 2 overall: 9 and 8 both sit in "a"; the floor of
    # 0.25 gives "b" its own top element (3) first, leaving 1 for the global pick (9)
    weights = {"a": np.array([[9, 8, 1, 0]]), "b": np.array([[3, 2, 1, 0]])}
    no_floor = global_unstructured_masks(weights, 0.25)
    assert no_floor["a"].tolist() == [[True, True, False, False]] and not no_floor["b"].any()
    floor = global_unstructured_masks(weights, 0.25, floor=0.25)
    assert floor["a"].tolist() == [[True, False, False, False]]
    assert floor["b"].tolist() == [[True, False, False, False]]


@SEARCH
@given(st.lists(int8_matrices(max_rows=6, max_cols=12), min_size=1, max_size=4),
       st.floats(0.05, 1.0), st.sampled_from([0.0, 0.1, 0.3]))  # fmt: skip
def test_global_masks_meet_the_budget_and_floor(mats, density, floor):
    weights = {f"l{i}": w for i, w in enumerate(mats)}
    masks = global_unstructured_masks(weights, density, floor)
    total = sum(w.size for w in mats)
    floors = sum(max(1, round(floor * w.size)) for w in mats) if floor else 0
    assert sum(int(m.sum()) for m in masks.values()) == max(round(density * total), floors)
    for name, w in weights.items():
        if floor:
            assert masks[name].sum() >= max(1, round(floor * w.size))


# --------------------------------------------------------------------------------------------
# random masks, uniform and ERK


def test_erk_densities_worked_by_hand():
    # raw ERK scores: a (10x10) 20/100 = 0.2, b (2x2) 4/4 = 1.0; density 0.5 keeps 52 of 104.
    # eps = 52 / (0.2*100 + 1.0*4) = 2.17 -> b would exceed 1: dense (4 kept); then
    # eps = 48 / 20 = 2.4 -> a at 0.48
    d = erk_densities({"a": (10, 10), "b": (2, 2)}, 0.5)
    assert d["b"] == 1.0
    assert d["a"] == pytest.approx(0.48, abs=1e-12)


def test_random_masks_are_seeded_and_exact():
    shapes = {"a": (16, 27), "b": (32, 144), "c": (10, 32)}
    one = random_masks(shapes, 0.3, seed=7)
    assert all(np.array_equal(one[k], v) for k, v in random_masks(shapes, 0.3, seed=7).items())
    assert not np.array_equal(one["b"], random_masks(shapes, 0.3, seed=8)["b"])
    for name, shape in shapes.items():
        assert one[name].shape == shape
        assert one[name].sum() == round(0.3 * np.prod(shape))
    erk = random_masks(shapes, 0.3, distribution="erk", seed=7)
    d = erk_densities(shapes, 0.3)
    for name, shape in shapes.items():
        assert erk[name].sum() == max(1, round(d[name] * np.prod(shape)))
    # ERK gives the smaller, lower-fan layer the higher density
    assert d["a"] > d["b"]


def test_random_masks_reject_an_unknown_distribution():
    with pytest.raises(SparsityError, match="distribution must be uniform or erk, not 'snip'"):
        random_masks({"a": (2, 2)}, 0.5, distribution="snip")
