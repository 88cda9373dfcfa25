"""Energy: action counts × the table, with counts worked out by hand for small GEMMs."""

from __future__ import annotations

import pytest
from sparsim.accel.energy import DEFAULT_ENERGY as E
from sparsim.simulator.energy import PREGEN_OPS_PER_ELEMENT, ActionCounts, energy_pj
from sparsim.simulator.results import ENERGY_COMPONENTS, Pass
from sparsim.simulator.run import simulate
from sparsim.workloads.layer import Phase
from sparsim.workloads.sparsity import NM, Dense, Unstructured

from tests.unit.simulator.conftest import gemm_workload, make_spec


def test_energy_is_counts_times_table():
    counts = ActionCounts(
        macs=10, mac_precision="fp16", rf_bytes=20, sram_read_bytes=30, sram_write_bytes=40,
        dram_bytes=50, metadata_indices=60, mux_selects=70, vector_flops=80, pregen_elements=90,
    )  # fmt: skip
    out = dict(energy_pj(counts, E))
    assert tuple(out) == ENERGY_COMPONENTS
    assert out["mac"] == pytest.approx(10 * E.mac_fp16.pj)
    assert out["rf"] == pytest.approx(20 * E.rf_access_per_byte.pj)
    assert out["sram"] == pytest.approx(
        30 * E.sram_read_per_byte.pj + 40 * E.sram_write_per_byte.pj
    )
    assert out["dram"] == pytest.approx(50 * E.dram_per_byte.pj)
    assert out["metadata"] == pytest.approx(60 * E.metadata_per_index.pj + 70 * E.mux_select.pj)
    assert out["vector"] == pytest.approx(80 * E.vector_flop.pj)
    assert out["pregen"] == pytest.approx(90 * PREGEN_OPS_PER_ELEMENT * E.vector_flop.pj)


def test_dense_gemm_energy_by_hand():
    # os 4x4 (rows hold n, columns m), m = n = 8, k = 16, everything fits: A fed to the array
    # once per row tile (2), B once per column tile (2); DRAM: A, B, C once each. int8.
    (layer,) = simulate(gemm_workload(8, 8, 16), make_spec()).layers
    e = dict(layer.energy_pj)
    macs = 8 * 8 * 16
    assert e["mac"] == pytest.approx(macs * E.mac_int8.pj)
    assert e["rf"] == pytest.approx(macs * 2 * E.rf_access_per_byte.pj)
    dram = 8 * 16 + 16 * 8 + 8 * 8
    assert e["dram"] == pytest.approx(dram * E.dram_per_byte.pj)
    levels = dict(layer.bytes_by_level)
    assert levels["sram.read"] == 2 * 8 * 16 + 2 * 16 * 8 + 8 * 8  # feeds + drain of C
    assert levels["sram.write"] == 8 * 16 + 16 * 8 + 8 * 8  # DRAM fills + results
    assert e["metadata"] == 0
    assert layer.dense_energy_pj == pytest.approx(layer.energy_total_pj)


def test_gated_macs_do_not_pay_mac_energy():
    gate = make_spec(activation="gating")
    dense = simulate(gemm_workload(8, 8, 64), gate).layers[0]
    gated = simulate(gemm_workload(8, 8, 64, act_sparsity=Unstructured(density=0.25)), gate)
    (gated,) = gated.layers
    assert gated.cycles == dense.cycles
    assert dict(gated.energy_pj)["mac"] == pytest.approx(0.25 * dict(dense.energy_pj)["mac"])
    assert gated.dense_energy_pj == pytest.approx(dense.energy_total_pj)


def test_nm_counts_metadata_and_saves_energy():
    spec = make_spec(multipliers=2, nm=((2, 8),))
    sparse = simulate(gemm_workload(64, 64, 256, weight_sparsity=NM(n=2, m=8)), spec).layers[0]
    dense = simulate(gemm_workload(64, 64, 256), spec).layers[0]
    e = dict(sparse.energy_pj)
    macs = 64 * 64 * 256 * 2 // 8
    assert sparse.effective_macs == macs
    assert e["mac"] == pytest.approx(macs * E.mac_int8.pj)
    assert e["metadata"] >= macs * E.mux_select.pj  # one index-mux select per MAC, + indices
    assert sparse.dense_energy_pj == pytest.approx(dense.energy_total_pj)
    assert sparse.energy_ratio > 1


def test_pregen_is_costed_in_training():
    spec = make_spec(multipliers=2, nm=((2, 8),), transposable=True, pregen_elements_per_cycle=8)
    w = gemm_workload(32, 32, 64, weight_sparsity=NM(n=2, m=8, transposable=True),
                      phase=Phase.TRAINING)  # fmt: skip
    pregen = [r for r in simulate(w, spec).layers if r.pass_ == Pass.PREGEN]
    (p,) = pregen
    assert p.compute_cycles == 64 * 32 // 8  # 2048 weights at 8 per cycle
    assert dict(p.energy_pj)["pregen"] == pytest.approx(
        64 * 32 * PREGEN_OPS_PER_ELEMENT * E.vector_flop.pj
    )
    assert p.dense_cycles == 0 and p.dense_energy_pj == 0


def test_no_pregen_when_the_spec_runs_the_weight_dense():
    w = gemm_workload(32, 32, 64, weight_sparsity=NM(n=2, m=8), phase=Phase.TRAINING)
    passes = [r.pass_ for r in simulate(w, make_spec()).layers]
    assert Pass.PREGEN not in passes
    dense = gemm_workload(32, 32, 64, weight_sparsity=Dense(), phase=Phase.TRAINING)
    assert passes == [r.pass_ for r in simulate(dense, make_spec()).layers]
