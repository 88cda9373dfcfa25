"""Mapping: folds and per-tile cycles against the closed forms written out here by hand.

Closed forms (``simulator/tile.py`` module docstring), ``R x C`` array, ``P`` multipliers/PE:

* os: ``ceil(n/R) * ceil(m/C) * count`` tiles streaming ``ceil(k/P)`` steps; a lone tile takes
  ``steps + (R-1) + (C-1) + R`` cycles (rows hold output channels ``n``, columns hold ``m``, as
  in the RTL and ``accel.functional.tiles_os``);
* ws: ``ceil(n/C) * ceil(k/(R*P)) * count`` tiles streaming ``m``, a lone one
  ``R + m + (R-1) + (C-1)`` cycles;
* is: ``ceil(m/C) * ceil(k/(R*P)) * count`` tiles streaming ``n``, likewise.

Back to back (tile.py docstring, "Back-to-back tiles"): the first tile pays its full latency,
each later one ``max(stream, R)``, so a problem costs ``first + sum(max(stream, R))``.
N:M mode replaces ``P`` by ``(P // n) * m`` reduction elements per step.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sparsim.accel import formats, functional
from sparsim.simulator.lower import Problem
from sparsim.simulator.mapping import map_problem, os_tile_order
from sparsim.simulator.memory import map_matrix
from sparsim.simulator.results import Pass
from sparsim.simulator.run import simulate
from sparsim.workloads.pruning import prune_nm
from sparsim.workloads.sparsity import NM, Group, Unstructured

from tests.unit.simulator.conftest import gemm_workload, make_spec

R, C, P = 4, 8, 2
SHAPES = [(16, 32, 64), (13, 7, 30), (1, 100, 9), (33, 17, 5)]  # (m, n, k); most do not divide


def expected_tiles(flow: str, m: int, n: int, k: int, kps: int = P) -> tuple[int, int, int]:
    """(tiles, first tile's cycles, each later tile's cycles), from tile.py's docstring."""
    if flow == "os":
        steps = math.ceil(k / kps)
        tiles = math.ceil(n / R) * math.ceil(m / C)
        return tiles, steps + (R - 1) + (C - 1) + R, max(steps, R)
    cols, stream = (n, m) if flow == "ws" else (m, n)
    tiles = math.ceil(cols / C) * math.ceil(k / (R * kps))
    return tiles, R + stream + (R - 1) + (C - 1), max(stream, R)


def expected_cycles(flow: str, m: int, n: int, k: int, kps: int = P) -> np.ndarray:
    """Per-tile cycles of a back-to-back sequence: ``[first, later, later, ...]``."""
    tiles, first, later = expected_tiles(flow, m, n, k, kps)
    return np.array([first] + [later] * (tiles - 1))


def _problem(m: int, n: int, k: int, **kw) -> Problem:
    return Problem(layer="g", op="Gemm", pass_=Pass.FW, m=m, n=n, k=k, **kw)


@pytest.mark.parametrize("flow", ["os", "ws", "is"])
@pytest.mark.parametrize("shape", SHAPES)
def test_dense_tile_cycles_match_closed_form(flow, shape):
    spec = make_spec(rows=R, cols=C, multipliers=P, dataflow=flow)
    mapping, cycles = map_problem(_problem(*shape), spec)
    assert mapping.tiles == expected_tiles(flow, *shape)[0]
    assert np.array_equal(cycles, expected_cycles(flow, *shape))


@pytest.mark.parametrize("flow", ["os", "ws", "is"])
@pytest.mark.parametrize("shape", SHAPES)
def test_simulate_dense_gemm_cycles(flow, shape):
    # Fast DRAM, zero latency: every transfer takes ceil(bytes / 5e6) = 1 cycle, so a
    # compute-bound problem is 1 (first load) + compute + 1 (last store) (perf docstring).
    spec = make_spec(rows=R, cols=C, multipliers=P, dataflow=flow)
    (layer,) = simulate(gemm_workload(*shape), spec).layers
    compute = int(expected_cycles(flow, *shape).sum())
    assert layer.compute_cycles == compute
    assert layer.cycles == compute + 2
    assert layer.dense_cycles == layer.cycles
    m, n, k = shape
    assert layer.dense_macs == layer.effective_macs == m * n * k
    assert layer.utilization == pytest.approx(m * n * k / (layer.cycles * R * C * P))


@pytest.mark.parametrize("flow", ["os", "ws", "is"])
def test_count_multiplies_tiles(flow):
    spec = make_spec(rows=R, cols=C, multipliers=P, dataflow=flow)
    one, _ = map_problem(_problem(13, 7, 30), spec)
    three, cycles = map_problem(_problem(13, 7, 30, count=3), spec)
    assert three.tiles == 3 * one.tiles == len(cycles)


@pytest.mark.parametrize("flow", ["os", "ws", "is"])
@pytest.mark.parametrize(("n_", "m_"), [(2, 4), (2, 8), (1, 8)])
def test_nm_mode_uses_k_per_step(flow, n_, m_):
    spec = make_spec(rows=R, cols=C, multipliers=P, dataflow=flow, nm=((n_, m_),))
    mapping, cycles = map_problem(_problem(13, 7, 200, b_pattern=NM(n=n_, m=m_)), spec)
    kps = (P // n_) * m_  # tile.k_per_step's docstring
    assert mapping.exploit.nm == (n_, m_)
    assert mapping.k_per_step == kps
    assert np.array_equal(cycles, expected_cycles(flow, 13, 7, 200, kps))
    assert mapping.issued_macs == round(13 * 7 * 200 * n_ / m_)


def test_os_puts_output_channels_on_rows_on_a_non_square_array():
    # 16 x 32 array, n = 16 output channels, m = 64 tokens: rows hold n (1 row tile), columns
    # hold m (2 column tiles), as in the RTL; the transposed mapping would take 4 x 1 tiles.
    # First tile (tile.py): 64 steps + (16 - 1) + (32 - 1) + 16 drain; the second, back to
    # back, max(64, 16) = 64.
    spec = make_spec(rows=16, cols=32, multipliers=1)
    mapping, cycles = map_problem(_problem(64, 16, 64), spec)
    assert (mapping.row_dim, mapping.col_dim) == ("n", "m")
    assert (mapping.row_tiles, mapping.col_tiles) == (1, 2)
    assert np.array_equal(cycles, [64 + 15 + 31 + 16, 64])


def test_os_tiles_are_row_tile_major():
    # Group skipping with a real mask along the array rows (output channels): row tile 0
    # (channels 0-3) keeps 4 K positions, row tile 1 all 12; m = 16 on 8 columns gives 2
    # column tiles per row tile: (i0,j0), (i0,j1), (i1,j0), (i1,j1) = short, short, long, long.
    # Back to back (tile.py): the first pays 4 steps + skew, later ones max(steps, 4 rows).
    spec = make_spec(rows=4, cols=8, multipliers=1, group_size=4)
    mask = np.ones((12, 8), dtype=bool)
    mask[4:, :4] = False
    problem = _problem(16, 8, 12, b_pattern=Group(size=4, density=mask.mean(), mask=mask))
    _, cycles = map_problem(problem, spec)
    skew = (4 - 1) + (8 - 1) + 4
    assert np.array_equal(cycles, [4 + skew, 4, 12, 12])


def test_group_skipping_slowest_group_sets_tile_time():
    # os: 4 array rows (output channels) = 2 hardware groups of 2. Group 0 keeps 2 of 8 K
    # positions, group 1 keeps 6: the tile takes 6 steps (load imbalance), while the balanced
    # estimate would be 4 = 0.5 * 8.
    spec = make_spec(rows=4, cols=2, multipliers=1, group_size=2)
    mask = np.zeros((8, 4), dtype=bool)
    mask[:2, :2] = True
    mask[:6, 2:] = True
    skew = (4 - 1) + (2 - 1) + 4
    real, cycles = map_problem(
        _problem(2, 4, 8, b_pattern=Group(size=2, density=0.5, mask=mask)), spec
    )
    assert np.array_equal(cycles, [6 + skew])
    balanced, cycles = map_problem(_problem(2, 4, 8, b_pattern=Group(size=2, density=0.5)), spec)
    assert np.array_equal(cycles, [4 + skew])
    assert "balanced" in " ".join(balanced.exploit.notes)
    assert "balanced" not in " ".join(real.exploit.notes)


@pytest.mark.parametrize(("flow", "rows", "cols"), [("os", 6, 4), ("ws", 4, 6), ("is", 4, 4)])
def test_group_skipping_needs_group_dividing_the_channel_side(flow, rows, cols):
    # os holds output channels on rows, ws on columns, is not on the array at all
    spec = make_spec(rows=rows, cols=cols, group_size=4, dataflow=flow)
    mapping, _ = map_problem(_problem(4, 12, 16, b_pattern=Group(size=4, density=0.5)), spec)
    assert mapping.exploit.group_size == 0
    assert mapping.exploit.notes == ("weight group4:50% not supported by test_spec: ran dense",)


@pytest.mark.parametrize(("flow", "rows", "cols"), [("os", 4, 6), ("ws", 6, 4)])
def test_group_skipping_on_the_channel_side(flow, rows, cols):
    spec = make_spec(rows=rows, cols=cols, group_size=4, dataflow=flow)
    mapping, _ = map_problem(_problem(4, 12, 16, b_pattern=Group(size=4, density=0.5)), spec)
    assert mapping.exploit.group_size == 4


def test_unsupported_nm_runs_dense_and_says_so():
    spec = make_spec(rows=R, cols=C, multipliers=P, nm=((2, 4),), name="dense_os_32x32")
    mapping, cycles = map_problem(_problem(13, 7, 30, b_pattern=NM(n=2, m=8)), spec)
    dense, dense_cycles = map_problem(_problem(13, 7, 30), spec)
    assert mapping.exploit.nm is None
    assert mapping.exploit.notes == ("weight 2:8 not supported by dense_os_32x32: ran dense",)
    assert np.array_equal(cycles, dense_cycles)
    assert mapping.issued_macs == dense.issued_macs


def test_nm_needs_enough_multipliers():
    spec = make_spec(multipliers=1, nm=((2, 4),))
    mapping, _ = map_problem(_problem(4, 4, 16, b_pattern=NM(n=2, m=4)), spec)
    assert mapping.exploit.nm is None


def test_unstructured_is_not_skipped():
    spec = make_spec(multipliers=2, nm=((2, 4),), group_size=4)
    mapping, _ = map_problem(_problem(4, 4, 16, b_pattern=Unstructured(density=0.3)), spec)
    assert mapping.exploit.nm is None and mapping.exploit.group_size == 0


def test_activation_gating_keeps_cycles_skipping_cuts_them():
    base = _problem(8, 8, 64)
    sparse_act = _problem(8, 8, 64, a_density=0.25)
    gate = make_spec(activation="gating")
    skip = make_spec(activation="skipping")
    _, dense_cycles = map_problem(base, gate)
    gated, gated_cycles = map_problem(sparse_act, gate)
    skipped, skipped_cycles = map_problem(sparse_act, skip)
    assert np.array_equal(gated_cycles, dense_cycles)
    assert gated.exploit.mac_keep_gated == 0.25
    skew = (R - 1) + (R - 1) + R
    # ceil(64 * 0.25) = 16 steps: the first tile adds the skew, later ones max(16, R) = 16
    assert np.array_equal(skipped_cycles, [16 + skew, 16, 16, 16])
    assert skipped.issued_macs == 8 * 8 * 16


def test_sparse_weight_gradient_computes_kept_rows_only():
    problem = Problem(
        layer="g", op="Gemm", pass_=Pass.BW_WEIGHT, m=64, n=8, k=16, weight_density=0.25
    )
    on, _ = map_problem(problem, make_spec(sparse_weight_gradient=True))
    off, _ = map_problem(problem, make_spec())
    assert (on.m_eff, off.m_eff) == (16, 64)
    assert on.issued_macs * 4 == off.issued_macs


def test_real_nm_mask_counts_the_kept_macs():
    # 2:4 mask with one group in four holding a single nonzero: fewer MACs, same time
    mask = np.zeros((16, 4), dtype=bool)
    mask[0::4, :] = mask[1::4, :] = True
    mask[1, :] = False
    spec = make_spec(multipliers=2, nm=((2, 4),))
    real, cycles = map_problem(_problem(4, 4, 16, b_pattern=NM(n=2, m=4, mask=mask)), spec)
    balanced, balanced_cycles = map_problem(_problem(4, 4, 16, b_pattern=NM(n=2, m=4)), spec)
    assert real.issued_macs == 4 * int(mask.sum()) == 4 * 28
    assert balanced.issued_macs == 4 * 4 * 16 // 2
    assert np.array_equal(cycles, balanced_cycles)


def test_os_tile_order_matches_the_functional_model():
    # accel.functional.tiles_os is what the RTL is driven with: W (n x k) rows on array rows,
    # X (k x m) columns on array columns, row tile major. The simulator's os tiles (and their
    # count) must come in the same (n, m) order: 3 row tiles x 2 column tiles on 4 x 8.
    rng = np.random.default_rng(0)
    n, m, k = 10, 13, 16
    w = prune_nm(rng.integers(-8, 8, size=(n, k), dtype=np.int8), 2, 4)
    x = rng.integers(-8, 8, size=(k, m), dtype=np.int8)
    jobs = list(functional.tiles_os(4, 8, formats.compress_nm(w, 2, 4), x))
    spec = make_spec(rows=4, cols=8, multipliers=2, nm=((2, 4),))
    mapping, cycles = map_problem(_problem(m, n, k, b_pattern=NM(n=2, m=4)), spec)
    assert len(cycles) == mapping.tiles == len(jobs) == 6
    rows, cols = np.divmod(np.arange(mapping.tiles), mapping.col_tiles)
    assert [(j.row0, j.col0) for j in jobs] == list(zip(rows * 4, cols * 8, strict=True))


def _os_order_case(order: str):
    """A pruned ``W`` (n x k), ``X`` (k x m) and the simulator's mapping of ``Y = W·X`` on a
    4 x 8 os array in ``order``."""
    rng = np.random.default_rng(1)
    n, m, k = 10, 21, 16
    w = prune_nm(rng.integers(-8, 8, size=(n, k), dtype=np.int8), 2, 4)
    x = rng.integers(-8, 8, size=(k, m), dtype=np.int8)
    spec = make_spec(rows=4, cols=8, multipliers=2, nm=((2, 4),))
    mapping, _ = map_problem(_problem(m, n, k, b_pattern=NM(n=2, m=4)), spec, order)
    return formats.compress_nm(w, 2, 4), x, mapping


@pytest.mark.parametrize("order", ["n_major", "m_major"])
def test_os_loop_order_matches_the_functional_model(order):
    # The simulator's os tile sequence must be the one accel.functional.tiles_os drives the
    # RTL with in the same order: 3 row tiles x 3 column tiles, (row0, col0) per tile.
    w_nm, x, mapping = _os_order_case(order)
    assert mapping.loop_order == order
    jobs = list(functional.tiles_os(4, 8, w_nm, x, order=mapping.loop_order))
    i, j = os_tile_order(mapping)
    assert [(job.row0, job.col0) for job in jobs] == list(zip(i * 4, j * 8, strict=True))
    if order == "m_major":  # column tile outer: the first three tiles share col0 = 0
        assert [job.col0 for job in jobs[:3]] == [0, 0, 0]


def _traffic_spec(buffer_bytes: int):
    return make_spec(rows=4, cols=4, multipliers=1, buffer_bytes=buffer_bytes)


def test_loop_order_chosen_by_dram_bytes():
    # n = 8 channels (2 row tiles), m = 256 tokens (64 column tiles), k = 64, int8.
    # n_major re-streams all of A (256 x 64 = 16 KiB, larger than a 2 KiB buffer half) per
    # row tile: 2 x 16 KiB + W 512 B; m_major keeps each 4 x 64 A panel (256 B) and re-streams
    # W (8 x 64 = 512 B, fits: once). m_major moves fewer bytes and is chosen.
    problem = _problem(256, 8, 64)
    mapping, _, traffic = map_matrix(problem, _traffic_spec(4096))
    assert mapping.loop_order == "m_major"
    assert dict(traffic.dram)["input"] == 256 * 64
    assert dict(traffic.dram)["weight"] == 8 * 64
    n_major, _ = map_problem(problem, _traffic_spec(4096), "n_major")
    assert n_major.loop_order == "n_major"


def test_loop_order_ties_go_to_n_major():
    # Everything fits a 1 MiB buffer: both orders fetch each operand once.
    mapping, _, _ = map_matrix(_problem(256, 8, 64), _traffic_spec(1 << 20))
    assert mapping.loop_order == "n_major"
