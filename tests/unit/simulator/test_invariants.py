"""Invariants of the analytical engine over random shapes and specs (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsim.accel.bitlayout import metadata_bytes_per_row
from sparsim.simulator.lower import lower
from sparsim.simulator.mapper import EXPOSED_SHARE
from sparsim.simulator.mapping import map_problem
from sparsim.simulator.results import Pass
from sparsim.simulator.run import simulate
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Linear
from sparsim.workloads.sparsity import NM, Block, Group, Unstructured

from tests.unit.simulator.conftest import gemm_workload, make_spec

dims = st.integers(min_value=1, max_value=300)
flows = st.sampled_from(["os", "ws", "is"])
ratios = st.sampled_from([(2, 4), (2, 8), (1, 8), (1, 4)])
buffers = st.sampled_from([512, 4096, 1 << 20])
bandwidths = st.sampled_from([0.5, 4.0, 1e6])  # GB/s at 200 MHz: 2.5 B/cycle .. fast
SETTINGS = settings(max_examples=60, deadline=None)


def _spec(flow: str, ratio=None, buffer: int = 1 << 20, bw: float = 1e6, **kw):
    nm = (ratio,) if ratio else ()
    return make_spec(
        rows=8, cols=4, multipliers=2, dataflow=flow, nm=nm, buffer_bytes=buffer,
        dram_gb_per_s=bw, latency_cycles=20, **kw,
    )  # fmt: skip


def _layer(m, n, k, flow, pattern=None, **spec_kw):
    kw = {"weight_sparsity": pattern} if pattern else {}
    (layer,) = simulate(gemm_workload(m, n, k, **kw), _spec(flow, **spec_kw)).layers
    return layer


@SETTINGS
@given(m=dims, n=dims, k=dims, flow=flows, ratio=ratios, bw=bandwidths)
def test_nm_speedup_within_ideal_bound(m, n, k, flow, ratio, bw):
    # The ideal: dense cycles x N/M, i.e. speedup <= M/N, with buffers that hold everything.
    # (Not also cycles <= dense: for tiny k the padded groups plus metadata outweigh the dense
    # weight and a memory-bound run is slower.) Back-to-back tiles (tile.py) floor each later
    # tile at ``rows`` cycles, for dense and sparse alike: ``max(ceil(s*n/m), R) * m/n >=
    # max(s, R)``, so the floor only moves the sparse run further from the ideal.
    # The first fill and last drain are exposed around the overlapped tiles (perf.py), and the
    # searched tilings of the two runs differ: the search keeps them within EXPOSED_SHARE of a
    # layer's DRAM bytes where it can (mapper._least_exposed), so the bound holds to that
    # share (400 random draws stayed within M/N; a first version of the rule, with the share
    # of the estimate, exceeded it by up to 0.34%).
    n_, m_ = ratio
    layer = _layer(m, n, k, flow, NM(n=n_, m=m_), ratio=ratio, bw=bw)
    assert layer.cycles * m_ * (1 + EXPOSED_SHARE) >= layer.dense_cycles * n_


@SETTINGS
@given(m=dims, n=dims, k=dims, flow=flows, ratio=ratios)
def test_nm_never_slower_than_dense_when_compute_bound(m, n, k, flow, ratio):
    # The other side: with DRAM this fast every transfer takes latency + 1 cycle for both runs
    # and no later tile's compute (>= rows = 8 cycles) waits on one, so cycles = 21 + compute
    # + 21 (perf.py). N:M mode keeps the tiles and consumes (P // n) * m >= P reduction
    # elements per step (tile.py), so no tile streams longer than its dense twin: os tiles
    # stream fewer steps, ws/is need fewer k folds; hence 1 <= speedup <= M/N.
    n_, m_ = ratio
    layer = _layer(m, n, k, flow, NM(n=n_, m=m_), ratio=ratio)
    assert layer.bound == "compute"
    assert layer.cycles <= layer.dense_cycles
    assert 1.0 <= layer.speedup <= m_ / n_


@pytest.mark.parametrize("flow", ["os", "ws", "is"])
def test_nm_speedup_by_hand(flow):
    # 4 x 4 array, P = 2, 2:8 weight, GEMM m=12, n=8, k=64, fast DRAM without latency: 1 + compute
    # + 1 cycles (perf.py); k_per_step 2 dense, (2 // 2) * 8 = 8 sparse. Tiles (tile.py):
    #   os: n on 2 row tiles x m on 3 column tiles = 6 tiles of 32 (dense) / 8 (2:8) steps:
    #       dense (32 + 3 + 3 + 4) + 5 * 32 + 2 = 204, sparse (8 + 10) + 5 * 8 + 2 = 60
    #   ws: n on 2 column tiles x ceil(64 / (4 * kps)) k folds = 16 / 4 tiles streaming m = 12:
    #       dense (4 + 12 + 3 + 3) + 15 * 12 + 2 = 204, sparse 22 + 3 * 12 + 2 = 60
    #   is: m on 3 column tiles x 8 / 2 k folds = 24 / 6 tiles streaming n = 8:
    #       dense (4 + 8 + 3 + 3) + 23 * 8 + 2 = 204, sparse 18 + 5 * 8 + 2 = 60
    # Speedup 204 / 60 = 3.4, short of M/N = 4 by the unscaled fill and drain.
    spec = make_spec(rows=4, cols=4, multipliers=2, dataflow=flow, nm=((2, 8),))
    (layer,) = simulate(gemm_workload(12, 8, 64, weight_sparsity=NM(n=2, m=8)), spec).layers
    assert (layer.cycles, layer.dense_cycles, layer.bound) == (60, 204, "compute")
    assert layer.speedup == pytest.approx(3.4)


@SETTINGS
@given(m=dims, n=dims, k=dims, flow=flows, ratio=ratios, buffer=buffers, bw=bandwidths)
def test_nm_compute_within_ideal_bound_for_any_buffer(m, n, k, flow, ratio, buffer, bw):
    # The array's compute never beats N/M of dense compute. Total cycles may: a compressed
    # weight that fits a buffer the dense one overflows is refetched less (a real, super-linear
    # memory effect). So may the compute of a ws/is run under small buffers: there each buffer
    # k tile folds on its own (simulator.tiling, Compute per tile), and the dense weight's
    # smaller k tiles can cost more partial folds; the array itself (all of k folded at once,
    # simulator.mapping) and any run whose k is one tile keep the bound.
    n_, m_ = ratio
    spec = _spec(flow, ratio, buffer, bw)
    sparse_w = gemm_workload(m, n, k, weight_sparsity=NM(n=n_, m=m_))
    dense_w = gemm_workload(m, n, k)
    sparse, dense = simulate(sparse_w, spec).layers[0], simulate(dense_w, spec).layers[0]
    array = [int(map_problem(lower(w)[0], spec)[1].sum()) for w in (sparse_w, dense_w)]
    assert array[0] * m_ >= array[1] * n_
    if flow == "os" or buffer == 1 << 20:
        assert sparse.compute_cycles * m_ >= dense.compute_cycles * n_
    assert sparse.dense_cycles == dense.cycles


@SETTINGS
@given(m=dims, n=dims, k=dims, flow=flows, ratio=ratios, buffer=buffers, bw=bandwidths)
def test_nm_issues_at_least_the_kept_macs(m, n, k, flow, ratio, buffer, bw):
    # (energy by component is pinned to hand-counted actions in test_energy.py)
    n_, m_ = ratio
    layer = _layer(m, n, k, flow, NM(n=n_, m=m_), ratio=ratio, buffer=buffer, bw=bw)
    assert layer.effective_macs >= m * n * k * n_ // m_


@SETTINGS
@given(
    m=dims, n=dims, k=dims, flow=flows, which=st.sampled_from("mnk"), buffer=buffers,
    bw=bandwidths,
)  # fmt: skip
def test_cycles_monotone_in_each_dimension(m, n, k, flow, which, buffer, bw):
    grown = {"m": m, "n": n, "k": k}
    grown[which] += 1
    small = _layer(m, n, k, flow, buffer=buffer, bw=bw)
    big = _layer(grown["m"], grown["n"], grown["k"], flow, buffer=buffer, bw=bw)
    # the buffer tiling is a discrete choice that one more row may regroup, shifting stall
    # cycles either way: with small buffers by any amount, with buffers that hold everything
    # only in the first fill and last drain the search leaves exposed (at most EXPOSED_SHARE
    # of the layer where it can: mapper._least_exposed); on ws/is compute too (its k tiles'
    # partial folds: a DRAM-bound layer may take more of them for fewer DRAM bytes)
    if flow == "os" or buffer == 1 << 20:
        assert big.compute_cycles >= small.compute_cycles
    if buffer == 1 << 20:
        assert big.cycles * (1 + EXPOSED_SHARE) >= small.cycles


@SETTINGS
@given(
    m=dims, n=dims, k=dims, flow=flows,
    pattern=st.sampled_from([NM(n=2, m=8), NM(n=1, m=4, transposable=True),
                             Group(size=4, density=0.5), Block(rows=4, cols=4, density=0.3),
                             Unstructured(density=0.2)]),
)  # fmt: skip
def test_dense_spec_ignores_weight_patterns_it_cannot_exploit(m, n, k, flow, pattern):
    dense = _layer(m, n, k, flow)
    pruned = _layer(m, n, k, flow, pattern)
    assert replace(pruned, notes=()) == replace(dense, notes=())
    assert pruned.notes == (f"weight {pattern} not supported by test_spec: ran dense",)


@SETTINGS
@given(m=dims, n=dims, k=dims, flow=flows, ratio=ratios, buffer=buffers)
def test_bytes_at_least_compulsory(m, n, k, flow, ratio, buffer):
    # every operand read once from DRAM (B compressed: n values of every m, plus metadata
    # rounded to whole bytes per column at most), the output written once
    n_, m_ = ratio
    layer = _layer(m, n, k, flow, NM(n=n_, m=m_), ratio=ratio, buffer=buffer)
    b = dict(layer.bytes_by_level)
    groups = -(-k // m_)
    assert b["dram.input"] >= m * k
    assert b["dram.weight"] >= n * k * n_ // m_
    assert b["dram.metadata"] >= n * (metadata_bytes_per_row(groups, n_, m_) - 1)
    assert b["dram.output"] >= m * n
    assert b["sram.read"] >= m * k + n * k * n_ // m_


def _sat_like(**kw):
    return make_spec(
        rows=32, cols=32, multipliers=2, nm=((2, 4), (2, 8), (1, 8)), transposable=True,
        pregen_elements_per_cycle=64, lanes=32, latency_cycles=100, dram_gb_per_s=19.2, **kw,
    )  # fmt: skip


def _mlp(pattern=None, phase=Phase.TRAINING) -> Workload:
    kw = {"weight_sparsity": pattern} if pattern else {}
    layers = tuple(
        Layer(name=f"fc{i}", op=Linear(tokens=512, in_features=1024, out_features=1024), **kw)
        for i in range(3)
    )
    return Workload(name="mlp", layers=layers, phase=phase)


def test_sat_like_training_speedup_within_papers_bound():
    # PAPERS.md: with FW and BW_DATA 4x cheaper at 2:8 and BW_WEIGHT dense, the ideal training
    # speedup is 3 / (1/4 + 1/4 + 1) = 2.0 when the passes cost alike (square 1024 layers, 512
    # tokens: they do here); SAT reports 1.75x on average (Fang et al., TCAD 2023).
    run = simulate(_mlp(NM(n=2, m=8, transposable=True)), _sat_like())
    assert 1.0 < run.speedup <= 2.0
    by_pass = {p: [r for r in run.layers if r.pass_ == p] for p in Pass}
    assert all(r.speedup > 1 for r in by_pass[Pass.FW] + by_pass[Pass.BW_DATA])
    assert all(r.speedup == 1 for r in by_pass[Pass.BW_WEIGHT])
    assert len(by_pass[Pass.PREGEN]) == 3


def test_non_transposable_mask_only_speeds_up_forward():
    run = simulate(_mlp(NM(n=2, m=8)), _sat_like())
    bw_data = [r for r in run.layers if r.pass_ == Pass.BW_DATA]
    assert all(r.speedup == 1 and "not transposable" in r.notes[0] for r in bw_data)
    transposable = simulate(_mlp(NM(n=2, m=8, transposable=True)), _sat_like())
    assert 1 < run.speedup < transposable.speedup


def test_sparse_weight_gradient_speeds_up_the_third_pass():
    spec = _sat_like(sparse_weight_gradient=True)
    run = simulate(_mlp(NM(n=2, m=8, transposable=True)), spec)
    bw_weight = [r for r in run.layers if r.pass_ == Pass.BW_WEIGHT]
    assert all(r.speedup > 1 for r in bw_weight)
    assert run.speedup > simulate(_mlp(NM(n=2, m=8, transposable=True)), _sat_like()).speedup


@pytest.mark.parametrize("flow", ["os", "ws", "is"])
def test_training_keeps_total_macs(flow):
    # each of the three passes does m*n*k dense-equivalent MACs, whatever the dataflow
    run = simulate(_mlp(NM(n=2, m=8)), _spec(flow))
    matrix = [r for r in run.layers if r.dense_macs]
    assert sum(r.dense_macs for r in matrix) == 3 * 3 * 512 * 1024 * 1024


@SETTINGS
@given(
    m=dims, n=dims, k=dims, flow=st.sampled_from(["os", "ws"]), size=st.sampled_from([2, 4, 8]),
    density=st.floats(min_value=0.05, max_value=1.0), buffer=buffers,
)  # fmt: skip
def test_group_skipping_bytes_and_mac_bounds(m, n, k, flow, size, density, buffer):
    spec = _spec(flow, buffer=buffer, group_size=2)
    w = gemm_workload(m, n, k, weight_sparsity=Group(size=size, density=density))
    (layer,) = simulate(w, spec).layers
    b = dict(layer.bytes_by_level)
    # A's columns at K positions every weight column skips need not be fetched at all
    assert b["dram.input"] >= m * int(density * k) and b["dram.output"] >= m * n
    assert b["dram.weight"] >= int(density * k) * n
    assert layer.effective_macs >= m * n * int(density * k)
    assert layer.compute_cycles <= simulate(gemm_workload(m, n, k), spec).layers[0].compute_cycles


@pytest.mark.parametrize("flow", ["os", "ws", "is"])
def test_dense_spec_training_ignores_unexploitable_pattern(flow):
    spec = _spec(flow)
    pruned = simulate(_mlp(NM(n=2, m=8, transposable=True)), spec)
    dense = simulate(_mlp(None), spec)
    assert [replace(r, notes=()) for r in pruned.layers] == list(dense.layers)


def test_backward_data_needs_a_transposable_datapath():
    # a transposable mask on hardware that cannot read Wᵀ compressed: only FW skips
    spec = make_spec(
        rows=32, cols=32, multipliers=2, nm=((2, 8),), transposable=False, name="fw_only"
    )
    run = simulate(_mlp(NM(n=2, m=8, transposable=True)), spec)
    bw_data = [r for r in run.layers if r.pass_ == Pass.BW_DATA]
    assert all(r.speedup == 1 for r in bw_data)
    assert bw_data[0].notes == ("bw_data: fw_only cannot read a transposed N:M weight: ran dense",)
    assert all(r.speedup > 1 for r in run.layers if r.pass_ == Pass.FW)
