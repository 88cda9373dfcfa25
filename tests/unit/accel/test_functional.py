"""accel.functional: every kernel == its accel.reference namesake == dense numpy (int64, wrapped
to int32) on the decompressed weight, bit for bit."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sparsim.accel import functional as F
from sparsim.accel import reference as R
from sparsim.accel._jit import PARALLEL_MIN_MACS, kernel
from sparsim.accel._simd import (
    BLOCK_COLS,
    GROUP_COLS,
    GROUP_ROWS,
    group_madd_block,
    pack_pair,
    pair_madd_block,
)
from sparsim.accel.formats import (
    FormatError,
    GroupTensor,
    compress_block,
    compress_csr,
    compress_group,
    compress_nm,
    compress_transposable_nm,
)
from sparsim.accel.numeric import requantize
from sparsim.workloads.pruning import (
    prune_block,
    prune_group,
    prune_nm,
    prune_transposable_nm,
    prune_unstructured,
)

from tests.strategies import nm_params


def dense_oracle(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Dense numpy in int64, then two's-complement wrap to int32 (independent of accel)."""
    exact = w.astype(np.int64) @ x.astype(np.int64)
    return ((exact + 2**31) % 2**32 - 2**31).astype(np.int32)


def random_int8(rng: np.random.Generator, shape: tuple[int, ...], mode: str) -> np.ndarray:
    if mode == "extreme":
        return rng.choice(np.array([-128, 127], np.int8), size=shape)
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


@st.composite
def gemm_cases(draw, max_rows: int = 16, max_k: int = 48, max_cols: int = 10):
    """``(w, x, rng)``: int8 ``(rows, K)`` and ``(K, cols)``, 1-sized and ragged dims included,
    full-range or extreme (-128/127) values."""
    rows, k, cols = (draw(st.integers(1, hi)) for hi in (max_rows, max_k, max_cols))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mode = draw(st.sampled_from(["full", "extreme"]))
    return random_int8(rng, (rows, k), mode), random_int8(rng, (k, cols), mode), rng




def pad_k(x: np.ndarray, k: int) -> np.ndarray:
    return np.pad(x, ((0, k - x.shape[0]), (0, 0)))


# --------------------------------------------------------------------------------------------
# GEMM kernels


@given(gemm_cases(), nm_params())
def test_nm_gemm_kernel_reference_and_dense_agree(case, nm):
    w, x, _ = case
    n, m = nm
    t = compress_nm(prune_nm(w, n, m), n, m)
    xp = pad_k(x, t.padded_k)
    got = F.nm_gemm(t.values, t.indices, xp, m)
    assert got.dtype == np.int32
    assert np.array_equal(got, R.nm_gemm(t.values, t.indices, xp, m))
    assert np.array_equal(got, dense_oracle(t.decompress(), x))
    assert np.array_equal(F.matmul(t, x), got)


def test_nm_gemm_wraps_on_int32_overflow():
    # 1:2, every kept product (-128)*(-128) = 2**14; K = 2**18 + 8 keeps 2**17 + 4 of them:
    # sum = 2**31 + 2**16, which wraps to -2**31 + 2**16 (closed form, two's complement)
    k = 2**18 + 8
    w = np.full((1, k), -128, np.int8)
    w[:, 1::2] = 0
    x = np.full((k, 1), -128, np.int8)
    t = compress_nm(w, 1, 2)
    expected = -(2**31) + 2**16
    assert int(F.nm_gemm(t.values, t.indices, x, 2)[0, 0]) == expected
    assert int(R.nm_gemm(t.values, t.indices, x, 2)[0, 0]) == expected
    assert int(F.dense_gemm(w, x)[0, 0]) == expected


def test_nm_pair_sums_overflow_int16_but_not_int32():
    # 2:4 keeping positions 0 and 1 of every group, all weights and activations -128: each
    # stored pair sums (-128)(-128) + (-128)(-128) = 32768 (one past int16's range), so the
    # pair must be summed in int32. K = 2**18 + 16 holds 2**16 + 4 groups: the row sum is
    # (2**16 + 4) * 2**15 = 2**31 + 2**17, which wraps to -2**31 + 2**17 (closed form).
    k = 2**18 + 16
    w = np.zeros((2, k), np.int8)
    w[:, 0::4] = w[:, 1::4] = -128
    x = np.full((k, 1), -128, np.int8)
    t = compress_nm(w, 2, 4)
    expected = -(2**31) + 2**17
    assert np.array_equal(F.nm_gemm(t.values, t.indices, x, 4), np.full((2, 1), expected))
    assert np.array_equal(R.nm_gemm(t.values, t.indices, x, 4), np.full((2, 1), expected))


@pytest.mark.parametrize(("n", "m", "k"), [(2, 4, 1024), (2, 8, 512), (3, 8, 320), (1, 4, 400)])
def test_nm_gemm_across_column_blocks_and_k_tiles(n, m, k):
    # 130 columns: two full BLOCK_COLS blocks and a ragged one; K spans several tiles of
    # pair rows (functional.PAIR_ROWS_PER_TILE); odd n pairs a lone weight with a neighbour.
    rng = np.random.default_rng(n * 100 + m)
    for mode in ("full", "extreme"):
        w, x = random_int8(rng, (9, k), mode), random_int8(rng, (k, 2 * BLOCK_COLS + 2), mode)
        t = compress_nm(prune_nm(w, n, m), n, m)
        got = F.nm_gemm(t.values, t.indices, x, m)
        assert np.array_equal(got, R.nm_gemm(t.values, t.indices, x, m))
        assert np.array_equal(got, dense_oracle(t.decompress(), x))


@pytest.mark.parametrize(("n", "m"), [(2, 4), (3, 4), (4, 8), (2, 2)])
def test_nm_gemm_takes_repeated_and_unsorted_indices_like_the_reference(n, m):
    # nm_gemm checks only that indices are < m; the reference sums whatever they name, so a
    # repeated position (two weights on one activation: a merged weight up to 256) or a
    # descending pair must give the same result.
    rng = np.random.default_rng(7)
    values = random_int8(rng, (5, 12, n), "extreme")
    indices = rng.integers(0, m, (5, 12, n)).astype(np.uint8)
    indices[0, :, :] = m - 1  # all on the last position: partnered with position m - 2
    x = random_int8(rng, (12 * m, 70), "extreme")
    got = F.nm_gemm(values, indices, x, m)
    assert np.array_equal(got, R.nm_gemm(values, indices, x, m))


@kernel
def _one_block(y, planes, idx, w):  # type: ignore[no-untyped-def]
    pair_madd_block(y, 0, planes, 0, idx, w, 0, idx.size)
    return y


def test_pair_madd_block_by_hand():
    # Three pair rows: row 0 all (-128, -128), row 1 all (127, -128), row 2 (c, -c). Weight
    # pairs: (-128, -128) on row 0 -> 32768 per step; (127, -128) on row 1 -> 127*127 +
    # (-128)(-128) = 32513; (1, 1) on row 2 -> 0. y starts at 2**31 - 32768 - 1, so step 0
    # lands on 2**31 - 1 and step 1 wraps to -2**31 + 32512; step 2 adds nothing.
    cols = np.arange(BLOCK_COLS, dtype=np.int8)
    planes = np.empty((3, BLOCK_COLS, 2), np.int8)
    planes[0], planes[1, :, 0], planes[1, :, 1] = -128, 127, -128
    planes[2, :, 0], planes[2, :, 1] = cols, -cols
    idx = np.array([0, 1, 2], np.int32)
    w = np.array([pack_pair(-128, -128), pack_pair(127, -128), pack_pair(1, 1)], np.int32)
    y = np.full(BLOCK_COLS, 2**31 - 32768 - 1, np.int32)
    assert np.array_equal(_one_block(y, planes, idx, w), np.full(BLOCK_COLS, -(2**31) + 32512))
    assert pack_pair(-1, -2) == np.int32(-65537)  # 0xFFFE_FFFF: w_b = -2 high, w_a = -1 low


@kernel
def _one_group_block(y, x, ka, kb, w):  # type: ignore[no-untyped-def]
    group_madd_block(y, 1 * y.shape[1] + 1, y.shape[1], x, 2, x.shape[1], ka, kb, w, 0,
                     w.shape[1], 0, ka.size)  # fmt: skip
    return y


def test_group_madd_block_by_hand():
    # x (3, 20), read from column 2: row 0 is c, row 1 is 2c - 20, row 2 all -128. Pair 0 =
    # rows (0, 1) with weights (r + 1, -1) for output row r; pair 1 = rows (2, 2) with (-128,
    # -128) on row 0 only. For block column c (x column c + 2), by hand:
    #   y[r, c] += (r + 1)(c + 2) - (2(c + 2) - 20) + 32768 [r == 0] = (r - 1)(c + 2) + 20 + ...
    # The block sits at y[1:5, 1:17] of a (6, 18) array filled with 7, which stays 7 elsewhere
    # (strides, offsets, and the column order after the in-register interleave). Row 0 starts
    # at 2**31 - 32768: 2**31 + 18 - c wraps to -2**31 + 18 - c.
    xc = np.arange(20, dtype=np.int64)
    x = np.stack([xc, 2 * xc - 20, np.full(20, -128)]).astype(np.int8)
    ka, kb = np.array([0, 2], np.int32), np.array([1, 2], np.int32)
    w = np.array([[pack_pair(r + 1, -1), pack_pair(-128, -128) if r == 0 else 0]
                  for r in range(GROUP_ROWS)], np.int32)  # fmt: skip
    y = np.full((6, 18), 7, np.int32)
    y[1, 1:17] = 2**31 - 32768
    expected = y.astype(np.int64)
    c = np.arange(GROUP_COLS)
    for r in range(GROUP_ROWS):
        expected[1 + r, 1:17] += (r - 1) * (c + 2) + 20 + (32768 if r == 0 else 0)
    expected = ((expected + 2**31) % 2**32 - 2**31).astype(np.int32)
    assert expected[1, 1] == -(2**31) + 18
    assert np.array_equal(_one_group_block(y, x, ka, kb, w), expected)


@given(gemm_cases(), st.integers(1, 5), st.floats(0.05, 1.0))
def test_group_gemm(case, size, density):
    w, x, _ = case
    t = compress_group(prune_group(w, size, density), size)
    got = F.group_gemm(t.values, t.col_idx, t.col_ptr, size, x)
    assert np.array_equal(got, R.group_gemm(t.values, t.col_idx, t.col_ptr, size, x))
    assert np.array_equal(F.matmul(t, x), dense_oracle(t.decompress(), x))


def test_group_gemm_ragged_groups_across_column_blocks():
    # 7 rows in groups of 3 (the last group padded to 9 rows), K = 13 (odd). Group 0 keeps no
    # column (its rows must be 0), group 1 one column (a lone weight paired with 0), group 2 all
    # 13 (six pairs and a lone one). 2 * BLOCK_COLS + 3 columns: two full blocks and a ragged one.
    rng = np.random.default_rng(8)
    col_ptr = np.array([0, 0, 1, 14], np.int64)
    col_idx = np.concatenate([[5], np.arange(13)]).astype(np.int32)
    for mode in ("full", "extreme"):
        values = random_int8(rng, (3, 14), mode)
        x = random_int8(rng, (13, 2 * BLOCK_COLS + 3), mode)
        got = F.group_gemm(values, col_idx, col_ptr, 3, x)
        assert np.array_equal(got, R.group_gemm(values, col_idx, col_ptr, 3, x))
        assert not got[:3].any()
        values[1:, 1:] = 0  # the padded rows 7, 8 of group 2, as the format stores them
        t = GroupTensor(
            values=values, col_idx=col_idx, col_ptr=col_ptr, size=3, shape=(7, 13), padded=True
        )
        t.check()
        got = F.group_gemm(values, col_idx, col_ptr, 3, x)
        assert np.array_equal(got[:7], dense_oracle(t.decompress(), x))


@pytest.mark.parametrize(("rows", "k", "size", "density"), [(10, 2101, 4, 1.0), (9, 777, 2, 0.5)])
def test_group_gemm_across_k_tiles(rows, k, size, density):
    # At density 1.0 a group keeps all 2101 columns (odd, > 2 * 512 pair rows: several K tiles
    # for a pair-row kernel); 130 columns: two full BLOCK_COLS blocks and a ragged one.
    rng = np.random.default_rng(k)
    for mode in ("full", "extreme"):
        w, x = random_int8(rng, (rows, k), mode), random_int8(rng, (k, 2 * BLOCK_COLS + 2), mode)
        t = compress_group(prune_group(w, size, density), size)
        got = F.group_gemm(t.values, t.col_idx, t.col_ptr, size, x)
        assert np.array_equal(got, R.group_gemm(t.values, t.col_idx, t.col_ptr, size, x))
        assert np.array_equal(got[:rows], dense_oracle(t.decompress(), x))


@pytest.mark.parametrize("cols", [1, BLOCK_COLS])
def test_group_gemm_wraps_on_int32_overflow(cols):
    # One group of 2 rows keeping all K = 2**17 + 5 (odd) columns, every weight and activation
    # -128: each product is 2**14, the row sum (2**17 + 5) * 2**14 = 2**31 + 81920, which wraps
    # to -2**31 + 81920 (closed form, two's complement). cols 1: the ragged-block path; cols
    # BLOCK_COLS: the full-block path.
    k = 2**17 + 5
    values = np.full((2, k), -128, np.int8)
    col_idx, col_ptr = np.arange(k, dtype=np.int32), np.array([0, k], np.int64)
    x = np.full((k, cols), -128, np.int8)
    expected = np.full((2, cols), -(2**31) + 81920)
    assert np.array_equal(F.group_gemm(values, col_idx, col_ptr, 2, x), expected)
    assert np.array_equal(R.group_gemm(values, col_idx, col_ptr, 2, x), expected)


@given(gemm_cases(), st.integers(1, 4), st.integers(1, 5), st.floats(0.05, 1.0))
def test_block_gemm(case, br, bc, density):
    w, x, _ = case
    t = compress_block(prune_block(w, br, bc, density), br, bc)
    xp = pad_k(x, t.grid[1] * bc)
    got = F.block_gemm(t.blocks, t.block_col, t.row_ptr, xp)
    assert np.array_equal(got, R.block_gemm(t.blocks, t.block_col, t.row_ptr, xp))
    assert np.array_equal(F.matmul(t, x), dense_oracle(t.decompress(), x))


@given(gemm_cases(), st.floats(0.05, 1.0))
def test_csr_gemm(case, density):
    w, x, _ = case
    t = compress_csr(prune_unstructured(w, density))
    got = F.csr_gemm(t.values, t.col_idx, t.row_ptr, x)
    assert np.array_equal(got, R.csr_gemm(t.values, t.col_idx, t.row_ptr, x))
    assert np.array_equal(got, dense_oracle(t.decompress(), x))


@given(gemm_cases())
def test_dense_gemm(case):
    w, x, _ = case
    assert np.array_equal(F.dense_gemm(w, x), R.dense_gemm(w, x))
    assert np.array_equal(F.matmul(w, x), dense_oracle(w, x))


@given(gemm_cases(), nm_params())
def test_nm_sddmm_samples_the_kept_positions(case, nm):
    w, x, rng = case
    n, m = nm
    t = compress_nm(prune_nm(w, n, m), n, m)
    dy = random_int8(rng, (w.shape[0], x.shape[1]), "full")
    xp = pad_k(x, t.padded_k)  # X of dW = dY @ X.T
    got = F.nm_sddmm(t.indices, dy, xp, m)
    assert np.array_equal(got, R.nm_sddmm(t.indices, dy, xp, m))


def test_parallel_path_matches_reference_and_small_calls_restore_the_thread_count():
    rng = np.random.default_rng(11)
    threads = numba.get_num_threads()
    w, x = random_int8(rng, (64, 256), "full"), random_int8(rng, (256, 128), "full")
    t = compress_nm(prune_nm(w, 2, 4), 2, 4)
    assert t.values.size * x.shape[1] >= PARALLEL_MIN_MACS  # takes the multi-thread path
    assert np.array_equal(F.matmul(t, x), R.nm_gemm(t.values, t.indices, x, 4))
    F.matmul(t, x[:, :1])  # small: runs on one thread, then gives the pool back
    assert numba.get_num_threads() == threads


def test_kernels_check_their_operands():
    t = compress_nm(np.array([[1, 0, 2, 0]], np.int8), 2, 4)
    x = np.ones((4, 3), np.int8)
    with pytest.raises(ValueError, match="x needs 4 rows"):
        F.nm_gemm(t.values, t.indices, x[:3], 4)
    with pytest.raises(ValueError, match="x must be a 2-D int8 array"):
        F.nm_gemm(t.values, t.indices, x.astype(np.int32), 4)
    with pytest.raises(ValueError, match=r"index is out of range \[0, 4\)"):
        F.nm_gemm(t.values, t.indices + 4, x, 4)
    with pytest.raises(ValueError, match="compressed along K"):
        F.matmul(compress_nm(np.zeros((4, 1), np.int8), 2, 4, axis=0), x)


# --------------------------------------------------------------------------------------------
# training passes on a transposable weight


@given(gemm_cases(max_rows=20, max_k=20), nm_params())
def test_training_passes(case, nm):
    w, x, rng = case
    n, m = nm
    pruned = prune_transposable_nm(w, n, m)
    t = compress_transposable_nm(pruned, n, m)
    dy = random_int8(rng, (w.shape[0], x.shape[1]), "full")
    assert np.array_equal(F.forward(t, x), R.forward(pruned, x))
    assert np.array_equal(F.backward_data(t, dy), R.backward_data(pruned, dy))
    assert np.array_equal(F.backward_data(t, dy), dense_oracle(pruned.T, dy))
    assert np.array_equal(F.weight_gradient(dy, x), R.weight_gradient(dy, x))
    kept = t.forward.stored_mask()
    assert np.array_equal(
        F.weight_gradient(dy, x, t.forward), np.where(kept, dense_oracle(dy, x.T), 0)
    )


# --------------------------------------------------------------------------------------------
# convolution


def test_reference_conv2d_counts_taps():
    # all-ones 3x3 kernel on an all-ones 4x4 image, padding 1: each output counts the taps that
    # land inside the image - 4 at corners, 6 on edges, 9 inside (closed form)
    y = R.conv2d(np.ones((1, 1, 4, 4), np.int8), np.ones((1, 1, 3, 3), np.int8), padding=1)
    expected = np.array([[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]])
    assert np.array_equal(y[0, 0], expected)


CONV_CASES = [
    # (N, C_in, H, W, C_out, kh, kw, stride, padding, groups)
    (1, 3, 7, 6, 4, 3, 3, 1, 0, 1),
    (2, 4, 9, 8, 6, 3, 3, 2, 1, 2),
    (1, 6, 5, 5, 6, 3, 3, 1, 1, 6),  # depthwise
    (1, 8, 6, 7, 4, 1, 1, 1, 0, 1),  # pointwise
    (2, 2, 8, 5, 3, 5, 3, (2, 1), (2, 0), 1),
    (1, 1, 1, 1, 1, 1, 1, 1, 0, 1),
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("nm", [None, (2, 4), (1, 8)])
def test_conv2d_through_the_gemm_kernels(case, nm):
    n_img, c_in, h, wd, c_out, kh, kw, stride, padding, groups = case
    rng = np.random.default_rng(7)
    x = random_int8(rng, (n_img, c_in, h, wd), "full")
    weight = random_int8(rng, (c_out, c_in // groups, kh, kw), "full")
    compress = None
    if nm is not None:
        n, m = nm
        flat = weight.reshape(c_out, -1)
        weight = prune_nm(flat, n, m).reshape(weight.shape)  # N:M over (c, i, j) per channel
        compress = lambda w2d: compress_nm(w2d, n, m)  # noqa: E731
    kwargs = {"stride": stride, "padding": padding, "groups": groups}
    got = F.conv2d(x, weight, compress=compress, **kwargs)
    assert np.array_equal(got, R.conv2d(x, weight, **kwargs))


def test_requantized_conv_output():
    x = np.full((1, 1, 3, 3), 127, np.int8)
    weight = np.full((1, 1, 3, 3), 127, np.int8)
    acc = F.conv2d(x, weight)  # 9 * 127 * 127 = 145161 (closed form)
    assert int(acc[0, 0, 0, 0]) == 145161
    # 145161 * 3 / 2**12 = 106.32 -> 106; saturates at 127 with multiplier 4
    assert int(requantize(acc, 3, 12)[0, 0, 0, 0]) == 106
    assert int(requantize(acc, 4, 12)[0, 0, 0, 0]) == 127


# --------------------------------------------------------------------------------------------
# tiled output-stationary execution


@given(
    gemm_cases(max_rows=13, max_k=24, max_cols=11),
    nm_params(),
    st.integers(1, 5),
    st.integers(1, 5),
)
def test_tiles_os_order_padding_and_values(case, nm, rows_pe, cols_pe):
    w, x, _ = case
    n, m = nm
    t = compress_nm(prune_nm(w, n, m), n, m)
    jobs = list(F.tiles_os(rows_pe, cols_pe, t, x))
    origins = [(j.row0, j.col0) for j in jobs]
    # row tile major, then column tile (the simulator's OS mapping order)
    rows, cols = w.shape[0], x.shape[1]
    assert origins == [(r, c) for r in range(0, rows, rows_pe) for c in range(0, cols, cols_pe)]
    for job in jobs:
        assert job.values.shape == job.indices.shape == (rows_pe, t.groups, n)
        assert job.x_tile.shape == (t.padded_k, cols_pe)
        assert np.array_equal(job.expected, R.nm_gemm(job.values, job.indices, job.x_tile, m))
        assert np.all(np.diff(job.indices.astype(int), axis=2) > 0)  # padded rows stay valid
    assert np.array_equal(F.run_tiles_os(rows_pe, cols_pe, t, x), dense_oracle(t.decompress(), x))


# --------------------------------------------------------------------------------------------
# scoreboard helpers


def test_check_nm_gemm_accepts_a_correct_result_and_names_the_first_mismatch():
    t = compress_nm(np.array([[3, 0, 0, -2], [0, 1, 1, 0]], np.int8), 2, 4)
    x = np.arange(8, dtype=np.int8).reshape(4, 2)
    good = F.nm_gemm(t.values, t.indices, x, 4)
    R.check_nm_gemm(good, t.values, t.indices, x, 4)
    bad = good.copy()
    bad[1, 0] += 1
    # row 1 = x[1] + x[2] = (2, 3) + (4, 5): element (1, 0) is 6
    with pytest.raises(
        AssertionError, match=r"1 elements differ; first at \(1, 0\): expected 6, got 7"
    ):
        R.check_nm_gemm(bad, t.values, t.indices, x, 4)
    with pytest.raises(AssertionError, match="expected int32 \\(2, 2\\), got int64"):
        R.check_nm_gemm(good.astype(np.int64), t.values, t.indices, x, 4)


def test_check_nm_gemm_rejects_a_corrupted_encoding():
    t = compress_nm(np.array([[3, 0, 0, -2]], np.int8), 2, 4)
    x = np.ones((4, 1), np.int8)
    swapped = t.indices[:, :, ::-1].copy()
    with pytest.raises(FormatError, match="not strictly ascending"):
        R.check_nm_gemm(F.nm_gemm(t.values, t.indices, x, 4), t.values, swapped, x, 4)
