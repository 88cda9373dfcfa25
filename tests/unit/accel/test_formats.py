"""accel.formats: round trips, sizes, the bit layout and corrupted-metadata checks (inputs made by
workloads.pruning, whose own tests are tests/unit/workloads/test_pruning.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sparsim.accel import bitlayout
from sparsim.accel.formats import (
    FormatError,
    NMTensor,
    check_nm,
    check_transposable_nm,
    compress_block,
    compress_csr,
    compress_group,
    compress_nm,
    compress_transposable_nm,
)
from sparsim.workloads.pruning import (
    prune_block,
    prune_group,
    prune_nm,
    prune_transposable_nm,
    prune_unstructured,
)

from tests.strategies import int8_matrices, nm_params

# --------------------------------------------------------------------------------------------
# N:M


@given(int8_matrices(), nm_params(), st.sampled_from([0, 1]))
def test_nm_round_trip_and_sizes(dense, nm, axis):
    n, m = nm
    pruned = prune_nm(dense, n, m, axis)
    t = compress_nm(pruned, n, m, axis)
    t.check()
    assert np.array_equal(t.decompress(), pruned)
    extent, across = dense.shape[axis], dense.shape[1 - axis]
    groups = -(-extent // m)
    assert t.values.shape == t.indices.shape == (across, groups, n)
    assert t.padded == (extent % m != 0)
    # closed forms: one byte per stored value; n*ceil(log2 m) bits per group, rows byte-aligned
    assert t.value_bytes == across * groups * n
    assert t.metadata_bytes == across * -(-(groups * n * (m - 1).bit_length()) // 8)


def test_compress_fills_short_groups_at_the_lowest_unused_positions():
    # bitlayout docstring: a group with < n nonzeros keeps zeros at its lowest unused positions
    dense = np.array([[0, 0, 5, 0, 0, 0, 0, 0, 7, 0]], np.int8)
    t = compress_nm(dense, 2, 4)
    assert t.indices.tolist() == [[[0, 2], [0, 1], [0, 1]]]
    assert t.values.tolist() == [[[0, 5], [0, 0], [7, 0]]]
    assert t.padded


def test_metadata_stream_follows_the_bit_layout():
    # 2:4 -> 2 bits per index. Row 0 groups (1,3), (0,2): bits LSB-first 01 11 | 00 10
    # = 0b10_00_11_01 = 0x8D (written out by hand from the accel.bitlayout docstring)
    dense = np.array([[0, 1, 0, 2, 3, 0, 4, 0]], np.int8)
    t = compress_nm(dense, 2, 4)
    assert t.metadata_stream().tolist() == [[0x8D]]


@given(int8_matrices(max_cols=70), nm_params())
def test_metadata_stream_matches_bitlayout_packing(dense, nm):
    n, m = nm
    t = compress_nm(prune_nm(dense, n, m), n, m)
    stream = t.metadata_stream()
    assert stream.shape == (t.rows, bitlayout.metadata_bytes_per_row(t.groups, n, m))
    assert stream.size == t.metadata_bytes
    word_bits = bitlayout.metadata_bits_per_group(n, m)
    for r in range(t.rows):
        row = int.from_bytes(stream[r].tobytes(), "little")
        for g in range(t.groups):
            word = (row >> (g * word_bits)) & ((1 << word_bits) - 1)
            assert word == bitlayout.pack_group_indices(t.indices[r, g].tolist(), m)


def test_compress_nm_rejects_too_many_nonzeros_per_group():
    dense = np.array([[1, 2, 3, 0]], np.int8)
    with pytest.raises(FormatError, match=r"row 0, group 0 has 3 nonzeros \(at most 2 allowed\)"):
        compress_nm(dense, 2, 4)


@pytest.mark.parametrize(
    ("n", "m", "match"),
    [
        (2, 17, r"m must be an int in \[2, 16\]"),
        (4, 4, "n must be an int with 1 <= n < m=4"),
        (0, 4, "n must be"),
        (1, 1, "m must be"),
    ],
)
def test_nm_parameters_are_checked(n, m, match):
    with pytest.raises(FormatError, match=match):
        compress_nm(np.zeros((2, 8), np.int8), n, m)


def test_compress_nm_needs_int8():
    with pytest.raises(FormatError, match="needs a 2-D int8 array"):
        compress_nm(np.zeros((2, 8), np.int32), 2, 4)


def _valid_tensor() -> NMTensor:
    dense = np.array([[1, 0, 2, 0, 0, 3, 0, 4], [0, 5, 0, 6, 7, 8, 0, 0]], np.int8)
    t = compress_nm(dense, 2, 4)
    t.check()
    return t


def _with_indices(t: NMTensor, r: int, g: int, idx: list[int]) -> NMTensor:
    indices = t.indices.copy()
    indices[r, g] = idx
    return dataclasses.replace(t, indices=indices)


@pytest.mark.parametrize(
    ("corrupt", "match"),
    [
        (lambda t: _with_indices(t, 1, 0, [1, 4]), r"row 1 group 0: index 4 out of range \[0, 4\)"),
        (lambda t: _with_indices(t, 0, 1, [3, 1]), r"row 0 group 1: .* not strictly ascending"),
        (lambda t: _with_indices(t, 0, 0, [2, 2]), "not strictly ascending"),
        (
            lambda t: dataclasses.replace(
                t, values=np.ones((2, 2, 3), np.int8), indices=np.zeros((2, 2, 3), np.uint8)
            ),
            r"values must be int8 \(2, 2, 2\) \(at most n=2 per group\)",
        ),
        (lambda t: dataclasses.replace(t, indices=t.indices.astype(np.int64)), "indices must be"),
        (lambda t: dataclasses.replace(t, padded=True), "padded=True but the axis needs 0"),
    ],
)
def test_check_rejects_corrupted_metadata(corrupt, match):
    with pytest.raises(FormatError, match=match):
        corrupt(_valid_tensor()).check()


def test_check_rejects_a_value_in_the_padding():
    t = compress_nm(np.array([[1, 0, 0]], np.int8), 1, 4)  # K=3 padded to 4
    indices = np.array([[[3]]], np.uint8)  # the padded position
    with pytest.raises(FormatError, match="zero padding"):
        dataclasses.replace(t, indices=indices).check()


# --------------------------------------------------------------------------------------------
# transposable N:M


@given(int8_matrices(max_rows=24, max_cols=24), nm_params())
def test_transposable_mask_is_nm_along_both_axes(dense, nm):
    n, m = nm
    pruned = prune_transposable_nm(dense, n, m)
    check_transposable_nm(pruned, n, m)
    t = compress_transposable_nm(pruned, n, m)
    t.check()
    assert np.array_equal(t.forward.decompress(), pruned)
    assert np.array_equal(t.backward.decompress(), pruned)
    assert t.value_bytes == t.forward.value_bytes
    assert t.metadata_bytes == t.forward.metadata_bytes + t.backward.metadata_bytes


def test_row_wise_nm_is_not_transposable():
    # 2:4 along rows, but column 0 holds 4 nonzeros in its first group of 4 rows
    dense = np.tile(np.array([[1, 1, 0, 0]], np.int8), (4, 1))
    check_nm(dense, 2, 4, axis=1)
    with pytest.raises(FormatError, match="axis 0: column 0, group 0 has 4 nonzeros"):
        check_transposable_nm(dense, 2, 4)


# --------------------------------------------------------------------------------------------
# group, block, CSR


@given(int8_matrices(), st.integers(1, 5), st.floats(0.05, 1.0))
def test_group_round_trip_and_shared_pattern(dense, size, density):
    pruned = prune_group(dense, size, density)
    t = compress_group(pruned, size)
    t.check()
    assert np.array_equal(t.decompress(), pruned)
    keep = max(1, round(density * dense.shape[1]))
    for g0 in range(0, dense.shape[0], size):
        kept_cols = np.any(pruned[g0 : g0 + size] != 0, axis=0)
        assert kept_cols.sum() <= keep  # never more columns than the density allows
    # closed form: ceil(log2 K) bits per kept column + 32-bit pointers, whole bytes
    idx_bits = max(1, (dense.shape[1] - 1).bit_length())
    assert t.metadata_bytes == -(-(t.col_idx.size * idx_bits + (t.groups + 1) * 32) // 8)
    assert t.value_bytes == size * t.col_idx.size


def test_group_check_rejects_unsorted_columns():
    t = compress_group(np.array([[1, 2, 3]], np.int8), 1)
    with pytest.raises(FormatError, match="not strictly ascending"):
        dataclasses.replace(t, col_idx=t.col_idx[::-1].copy()).check()


@given(int8_matrices(), st.integers(1, 4), st.integers(1, 5), st.floats(0.05, 1.0))
def test_block_round_trip(dense, br, bc, density):
    pruned = prune_block(dense, br, bc, density)
    t = compress_block(pruned, br, bc)
    t.check()
    assert np.array_equal(t.decompress(), pruned)
    grid = (-(-dense.shape[0] // br), -(-dense.shape[1] // bc))
    assert t.block_col.size <= max(1, round(density * grid[0] * grid[1]))
    assert t.value_bytes == t.block_col.size * br * bc


def test_block_check_rejects_bad_pointers():
    t = compress_block(np.ones((4, 4), np.int8), 2, 2)
    with pytest.raises(FormatError, match="pointers must be int64"):
        dataclasses.replace(t, row_ptr=np.array([0, 3, 3], np.int64)).check()


@given(int8_matrices(), st.floats(0.05, 1.0))
def test_csr_round_trip(dense, density):
    pruned = prune_unstructured(dense, density)
    t = compress_csr(pruned)
    t.check()
    assert np.array_equal(t.decompress(), pruned)
    assert np.count_nonzero(pruned) <= max(1, round(density * dense.size))


def test_csr_check_rejects_out_of_range_column():
    t = compress_csr(np.array([[0, 1], [2, 0]], np.int8))
    with pytest.raises(FormatError, match=r"index out of range \[0, 2\)"):
        dataclasses.replace(t, col_idx=np.array([1, 2], np.int32)).check()


# --------------------------------------------------------------------------------------------
# parameters (the checks shared with workloads.pruning raise FormatError here)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda d: compress_group(d, 0), "group: size must be an int >= 1, not 0"),
        (lambda d: compress_block(d, 2, 0), "block: block shape must be ints >= 1"),
        (lambda d: compress_nm(d, 2, 4, axis=2), "axis must be 0 .rows. or 1 .K., not 2"),
        (lambda d: check_nm(d, 1, 20), r"N:M: m must be an int in \[2, 16\], not 20"),
        (lambda d: compress_group(d.astype(np.int16), 2), "compress_group: needs a 2-D int8"),
    ],
)
def test_compression_parameters_are_checked(call, match):
    with pytest.raises(FormatError, match=match):
        call(np.ones((4, 4), np.int8))


def test_numpy_integer_parameters_are_accepted():
    t = compress_nm(np.array([[1, 0, 0, 2]], np.int8), np.int64(2), np.int64(4))
    t.check()
