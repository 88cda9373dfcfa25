"""Energy: action counts × the table, with counts worked out by hand for small GEMMs.

The tests price with ``TABLE``, whose entries are distinct round numbers (a swapped pair of
entries, e.g. SRAM read and write, changes every total), and with buffers of 32 KiB (size
factor 1) and 128 KiB (size factor, accel.energy: 4^0.4726046 = 2^0.9452092 = e^0.655167 =
1.925467)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sparsim.accel.energy import DEFAULT_ENERGY
from sparsim.accel.loader import load_spec
from sparsim.accel.spec import AcceleratorSpec, BufferSpec, EnergyEntry
from sparsim.simulator.energy import (
    PREGEN_OPS_PER_ELEMENT,
    ActionCounts,
    energy_pj,
    sram_bytes,
    static_energy_pj,
)
from sparsim.simulator.results import ENERGY_COMPONENTS, Pass
from sparsim.simulator.run import simulate
from sparsim.workloads.layer import Phase
from sparsim.workloads.sparsity import NM, Dense, Unstructured

from tests.unit.simulator.conftest import gemm_workload, make_spec

KIB = 1024


def _e(pj: float) -> EnergyEntry:
    return EnergyEntry(pj=pj, source="test")


TABLE = replace(
    DEFAULT_ENERGY,
    mac_int8=_e(1.0), mac_int16=_e(2.0), mac_fp16=_e(3.0), mac_fp32=_e(4.0),
    rf_access_per_byte=_e(10.0), sram_read_per_byte=_e(100.0), sram_write_per_byte=_e(300.0),
    dram_per_byte=_e(10_000.0), metadata_per_index=_e(0.5), mux_select=_e(0.25),
    vector_flop=_e(7.0), leakage_per_multiplier_ns=_e(1.0), leakage_per_sram_kib_ns=_e(0.01),
    leakage_per_vector_lane_ns=_e(2.0),
)  # fmt: skip


def _buffer(size: int) -> BufferSpec:
    return BufferSpec(size_bytes=size, read_bytes_per_cycle=64, write_bytes_per_cycle=64)


def _spec(**kw) -> AcceleratorSpec:
    """``make_spec(**kw)`` priced by ``TABLE``: weight and input 32 KiB, output 128 KiB."""
    sizes = {"weight": 32 * KIB, "input": 32 * KIB, "output": 128 * KIB}
    buffers = tuple((name, _buffer(size)) for name, size in sizes.items())
    return replace(make_spec(**kw), energy=TABLE, buffers=buffers)


def test_energy_is_counts_times_table():
    counts = ActionCounts(
        macs=10, mac_precision="fp16", rf_bytes=20,
        sram_read_bytes=(("weight", 30), ("input", 5), ("output", 1)),
        sram_write_bytes=(("weight", 40), ("input", 2), ("output", 3)),
        dram_bytes=50, metadata_indices=60, mux_selects=70, vector_flops=80, pregen_elements=90,
    )  # fmt: skip
    out = dict(energy_pj(counts, _spec()))
    assert tuple(out) == ENERGY_COMPONENTS
    assert out["mac"] == 10 * 3.0
    assert out["rf"] == 20 * 10.0
    # reads 100 pJ/B, writes 300 pJ/B at 32 KiB; the output buffer (128 KiB) x 1.925490:
    # 100 * (30 + 5) + 300 * (40 + 2) + (100 * 1 + 300 * 3) * 1.925467 = 3500 + 12600 + 1925.467
    assert out["sram"] == pytest.approx(18_025.467, abs=0.001)
    assert out["dram"] == 50 * 10_000.0
    assert out["metadata"] == 60 * 0.5 + 70 * 0.25
    assert out["vector"] == 80 * 7.0
    assert out["pregen"] == 90 * PREGEN_OPS_PER_ELEMENT * 7.0
    assert out["static"] == 0.0  # added by the engine from its cycles


def test_streamed_work_goes_through_the_input_buffer_or_stays_in_the_output_one():
    # element-wise work has only totals: via DRAM it streams through the input buffer; fused
    # on chip (no DRAM bytes) it works in its producer's output buffer
    streamed = {"dram.input": 100, "dram.output": 100, "sram.read": 100, "sram.write": 100}
    reads, writes = sram_bytes(streamed, _spec())
    assert dict(reads) == {"weight": 0, "input": 100, "output": 0} == dict(writes)
    reads, writes = sram_bytes({"sram.read": 7, "sram.write": 9}, _spec())
    assert dict(reads) == {"weight": 0, "input": 0, "output": 7}
    assert dict(writes) == {"weight": 0, "input": 0, "output": 9}


def test_sram_bytes_uses_per_buffer_keys_when_given():
    levels = {"sram.read": 999, "sram.write": 999, "sram.input.read": 7, "sram.weight.write": 5}
    reads, writes = sram_bytes(levels, _spec())
    assert dict(reads) == {"weight": 0, "input": 7, "output": 0}
    assert dict(writes) == {"weight": 5, "input": 0, "output": 0}


def test_sram_bytes_of_a_shared_buffer_is_the_totals():
    shared = replace(_spec(), buffers=(("shared", _buffer(96 * KIB)),))
    reads, writes = sram_bytes({"sram.read": 11, "sram.write": 13, "dram.input": 5}, shared)
    assert reads == (("shared", 11),) and writes == (("shared", 13),)


def test_dense_gemm_energy_by_hand():
    # os 4x4 (rows hold n, columns m), m = n = 8, k = 16, everything fits: A fed to the array
    # once per row tile (2), B once per column tile (2); DRAM: A, B, C once each. int8.
    spec = _spec()
    (layer,) = simulate(gemm_workload(8, 8, 16), spec).layers
    e = dict(layer.energy_pj)
    macs = 8 * 8 * 16
    assert e["mac"] == macs * 1.0
    # register hops: 2 bytes (input + weight) per MAC; 64 int32 results drained (4+1)/2 hops
    assert e["rf"] == (macs * 2 + 64 * 4 * 2.5) * 10.0
    levels = dict(layer.bytes_by_level)
    assert levels["sram.read"] == 2 * 8 * 16 + 2 * 16 * 8 + 8 * 8  # feeds + drain of C
    assert levels["sram.write"] == 8 * 16 + 16 * 8 + 8 * 8  # DRAM fills + results
    # per buffer: A fed twice (256) and filled once (128); B likewise; C written and drained
    per_buffer = {k: v for k, v in levels.items() if k.count(".") == 2}
    assert per_buffer == {
        "sram.input.read": 256, "sram.input.write": 128, "sram.weight.read": 256,
        "sram.weight.write": 128, "sram.output.read": 64, "sram.output.write": 64,
    }  # fmt: skip
    # reads: input 256 + weight 256 at 100, output 64 at 100 x 1.925467; writes: input 128 +
    # weight 128 at 300, output 64 at 300 x 1.925467 = 51200 + 12322.99 + 76800 + 36968.97
    assert e["sram"] == pytest.approx(177_291.96, abs=0.01)
    dram = 8 * 16 + 16 * 8 + 8 * 8
    assert e["dram"] == dram * 10_000.0
    assert e["metadata"] == 0
    # leakage: 16 multipliers x 1 + 192 KiB x 0.01 + 16 lanes x 2 = 49.92 pJ/ns; 5 ns a cycle
    assert e["static"] == pytest.approx(49.92 * 5 * layer.cycles)
    assert layer.dense_energy_pj == pytest.approx(layer.energy_total_pj)


@pytest.mark.parametrize(
    ("flow", "rf_bytes"),
    [
        # 1024 MACs; moving operands per MAC / stationary elements x bytes x (4 + 1) / 2 hops:
        ("os", 1024 * (1 + 1) + 8 * 8 * 4 * 2.5),  # input + weight / 64 int32 results
        ("ws", 1024 * (1 + 4) + 16 * 8 * 1 * 2.5),  # input + psum / 128 weights loaded
        ("is", 1024 * (1 + 4) + 8 * 16 * 1 * 2.5),  # weight + psum / 128 inputs loaded
    ],
)
def test_register_hops_by_dataflow(flow, rf_bytes):
    (layer,) = simulate(gemm_workload(8, 8, 16), _spec(dataflow=flow)).layers
    assert dict(layer.energy_pj)["rf"] == rf_bytes * 10.0


def test_nm_register_hops_carry_every_activation():
    # 2:8 on os: 64*64*256*2/8 = 262144 MACs issued; the PE sees all 8 activations of a group
    # for its 2 weights: 4 activation bytes + 1 weight byte per MAC; 4096 results drained.
    spec = _spec(multipliers=2, nm=((2, 8),))
    (layer,) = simulate(gemm_workload(64, 64, 256, weight_sparsity=NM(n=2, m=8)), spec).layers
    assert dict(layer.energy_pj)["rf"] == (262_144 * 5 + 4096 * 4 * 2.5) * 10.0


def test_static_energy_grows_with_stall_cycles():
    # The same layer with fast and with slow DRAM: the slow one stalls, and pays leakage
    # (49.92 pJ/ns, 5 ns a cycle) for every extra cycle.
    fast = simulate(gemm_workload(64, 64, 64), _spec()).layers[0]
    slow = simulate(gemm_workload(64, 64, 64), _spec(dram_gb_per_s=0.2)).layers[0]
    assert slow.stall_cycles > fast.stall_cycles
    e_fast, e_slow = dict(fast.energy_pj), dict(slow.energy_pj)
    extra = e_slow["static"] - e_fast["static"]
    assert extra == pytest.approx(49.92 * 5 * (slow.cycles - fast.cycles))
    assert extra > 0
    assert {k: v for k, v in e_slow.items() if k != "static"} == {
        k: v for k, v in e_fast.items() if k != "static"
    }


def test_static_energy_closed_form():
    # make_spec: 16 multipliers, three 1 GiB buffers, 16 lanes, 200 MHz; DEFAULT_ENERGY
    # leakage 0.03 / 8.192e-4 / 0.09 pJ/ns: 0.48 + 3 * 1048576 * 8.192e-4 + 1.44 = 0.48 +
    # 2576.980 + 1.44 = 2578.900 pJ/ns; 1000 cycles = 5000 ns.
    assert static_energy_pj(1000, make_spec()) == pytest.approx(2578.900 * 5000, rel=1e-6)


def test_gated_macs_do_not_pay_mac_energy():
    gate = make_spec(activation="gating")
    dense = simulate(gemm_workload(8, 8, 64), gate).layers[0]
    gated = simulate(gemm_workload(8, 8, 64, act_sparsity=Unstructured(density=0.25)), gate)
    (gated,) = gated.layers
    assert gated.cycles == dense.cycles
    assert dict(gated.energy_pj)["mac"] == pytest.approx(0.25 * dict(dense.energy_pj)["mac"])
    assert gated.dense_energy_pj == pytest.approx(dense.energy_total_pj)


def test_nm_counts_metadata_and_saves_energy():
    spec = _spec(multipliers=2, nm=((2, 8),))
    sparse = simulate(gemm_workload(64, 64, 256, weight_sparsity=NM(n=2, m=8)), spec).layers[0]
    dense = simulate(gemm_workload(64, 64, 256), spec).layers[0]
    e = dict(sparse.energy_pj)
    macs = 64 * 64 * 256 * 2 // 8
    assert sparse.effective_macs == macs
    assert e["mac"] == macs * 1.0
    # one index-mux select per MAC (0.25 pJ); indices: all of B (64 channels x 256 / 8 = 32
    # groups x 2 indices) is fed once per column tile (64 tokens / 4 columns = 16 tiles):
    # 16 x 64 x 32 x 2 = 65536 indices at 0.5 pJ
    assert e["metadata"] == macs * 0.25 + 16 * 64 * 32 * 2 * 0.5
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
        64 * 32 * PREGEN_OPS_PER_ELEMENT * DEFAULT_ENERGY.vector_flop.pj
    )
    assert p.dense_cycles == 0 and p.dense_energy_pj == 0


def test_no_pregen_when_the_spec_runs_the_weight_dense():
    w = gemm_workload(32, 32, 64, weight_sparsity=NM(n=2, m=8), phase=Phase.TRAINING)
    passes = [r.pass_ for r in simulate(w, make_spec()).layers]
    assert Pass.PREGEN not in passes
    dense = gemm_workload(32, 32, 64, weight_sparsity=Dense(), phase=Phase.TRAINING)
    assert passes == [r.pass_ for r in simulate(dense, make_spec()).layers]


def test_mobile_npu_dram_bytes_are_priced_as_lpddr4x():
    # LPDDR4X: 10.630208 pJ/bit (accel.energy: LPDDR4 16.385417 x (0.5 + 0.5 x (0.6/1.1)^2))
    # = 85.0417 pJ per byte, whatever bytes the memory model moves
    (layer,) = simulate(gemm_workload(64, 64, 64), load_spec("mobile_npu")).layers
    moved = sum(v for key, v in layer.bytes_by_level if key.startswith("dram."))
    assert moved > 0
    assert dict(layer.energy_pj)["dram"] == pytest.approx(moved * 8 * 10.630208, rel=1e-6)
