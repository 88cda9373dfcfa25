"""The SIMD core model (``simulator.simd``): cycles worked by hand from lanes, FMA ports, the
FMA latency, load ports, the dense efficiency and the per-index costs of the sparse kernels.

The test core has mobile_cpu's numbers (Cortex-A76: 128-bit NEON, fp32 so 4 lanes, 2 FMA
ports of latency 4, 2 load ports; XNNPACK's 6x8 GEMM and 32x1 SpMM tiles; efficiency 0.85;
9.12 stall cycles per index) but is built here, so the tests do not depend on the YAML.
"""

from __future__ import annotations

import math

import pytest
from sparsim.accel.loader import load_spec, spec_from_mapping
from sparsim.accel.spec import AcceleratorSpec
from sparsim.simulator.lower import Problem, lower_layer
from sparsim.simulator.run import simulate
from sparsim.simulator.simd import (
    break_even_density,
    choose_kernel,
    dense_gemm,
    depthwise,
    level_bytes,
    plan_simd,
    sparse_gemm,
    step_cycles,
)
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Conv2d, Linear
from sparsim.workloads.sparsity import Group, SparsityPattern, Unstructured

STALL = 9.12


def _core(stall: float = STALL, dram_gb_per_s: float = 34.1) -> AcceleratorSpec:
    kernel = {"index_bytes": 4, "stall_cycles_per_index": stall}
    data = {
        "name": "core",
        "compute": {"kind": "simd", "freq_mhz": 2840, "simd": {
            "vector_bits": 128, "fma_ports": 2, "fma_latency_cycles": 4, "load_ports": 2,
            "tile_pixels": 6, "tile_channels": 8, "dense_efficiency": 0.85,
            "unstructured": {"pixels": 32, "channels": 1, **kernel},
            "group": {"pixels": 16, "channels": 4, **kernel}}},
        "buffers": {
            "L1": {"size_bytes": "64KiB", "read_bytes_per_cycle": 32, "write_bytes_per_cycle": 16},
            "L2": {"size_bytes": "512KiB", "read_bytes_per_cycle": 32,
                   "write_bytes_per_cycle": 32},
            "L3": {"size_bytes": "2MiB", "read_bytes_per_cycle": 16, "write_bytes_per_cycle": 16}},
        "dram": {"bandwidth_gb_per_s": dram_gb_per_s, "latency_cycles": 300},
        "precision": {"weight": "fp32", "input": "fp32", "output": "fp32",
                      "accumulator": "fp32"},
    }  # fmt: skip
    return spec_from_mapping(data, "test")


def _pointwise(weight: SparsityPattern | None = None) -> Problem:
    """1x1 conv 128 -> 64 channels on 8 x 12 pixels: GEMM m = 96, n = 64, k = 128."""
    conv = Conv2d(batch=1, in_channels=128, out_channels=64, height=8, width=12, kernel=(1, 1))
    layer = Layer(name="pw", op=conv) if weight is None else Layer(
        name="pw", op=conv, weight_sparsity=weight)
    return lower_layer(layer, Phase.INFERENCE)[0]


def test_core_has_four_fp32_lanes_on_two_fma_ports():
    spec = _core()
    assert spec.compute.multipliers_per_pe == 4  # 128 bits / 32-bit fp32
    assert spec.compute.peak_macs_per_cycle == 8  # 4 lanes x 2 FMA ports


def test_step_is_the_slowest_of_fma_ports_latency_chain_and_load_ports():
    simd = _core().compute.simd
    assert simd is not None
    # dense 6x8 tile: 12 FMAs on 2 ports = 6; chain 4 x 12/12 = 4; loads (2 + 6/4) / 2 = 1.75
    assert step_cycles(simd, 12, 12, 3.5) == (6, "compute")
    # a 1x8 GEMV tile: 2 FMAs = 1 cycle of ports, but each accumulator waits 4 cycles
    assert step_cycles(simd, 2, 2, 2.25) == (4, "FMA latency")
    # depthwise: 1 FMA (0.5 cycle), 2 loads on 2 ports = 1 cycle
    assert step_cycles(simd, 1, math.inf, 2) == (1, "L1")


def test_dense_pointwise_cycles_are_macs_over_lanes_times_ports_times_efficiency():
    cost = dense_gemm(_pointwise(), _core())
    # 96 x 64 x 128 = 786,432 MACs, no edge padding (96 = 16 x 6, 64 = 8 x 8); the core does
    # 4 lanes x 2 FMA ports = 8 MACs per cycle at 0.85: 786,432 / 6.8 = 115,651.76 cycles
    assert cost.issued_macs == 786_432
    assert cost.cycles == pytest.approx(786_432 / (4 * 2 * 0.85))
    assert cost.bound == "compute"


def test_dense_edge_tiles_pay_whole_register_tiles():
    conv = Conv2d(batch=1, in_channels=16, out_channels=10, height=1, width=7, kernel=(1, 1))
    cost = dense_gemm(lower_layer(Layer(name="e", op=conv), Phase.INFERENCE)[0], _core())
    # m = 7 -> 2 tiles of 6 pixels, n = 10 -> 2 tiles of 8 channels: 4 tiles x 16 k x 48 MACs
    assert cost.issued_macs == 4 * 16 * 48
    assert cost.cycles == pytest.approx(4 * 16 * 6 / 0.85)


def test_unstructured_spmm_cycles_from_nonzeros_and_per_index_cost():
    cost = sparse_gemm(_pointwise(), _core(), _core().compute.simd.unstructured, 0.25, "SpMM")
    # 32x1 kernel: per index 8 vectors of 4 pixels -> 8 FMAs (4 cycles on 2 ports), chain
    # 4 x 8/8 = 4, loads 8 + weight + index = 10 on 2 ports = 5: step 5, + 9.12 stall = 14.12.
    # kept 0.25 x 128 = 32 per output channel x 64 channels = 2,048 indices per pixel tile,
    # ceil(96 / 32) = 3 pixel tiles: 3 x 2,048 x 14.12 = 86,753.28 cycles
    assert cost.indices == 3 * 2048
    assert cost.cycles == pytest.approx(86_753.28)
    assert cost.bound == "index decode"  # the stall (9.12) exceeds the step (5)
    assert cost.issued_macs == 3 * 2048 * 32
    # stored: 2,048 fp32 values and 2,048 int32 indices
    assert (cost.weight_bytes, cost.metadata_bytes) == (8192, 8192)


def test_group_kernel_shares_each_index_among_four_channels():
    spec = _core()
    cost, notes = choose_kernel(_pointwise(Group(size=4, density=0.5)), spec)
    # 16x4 kernel: per index 4 vectors x 4 channels = 16 FMAs = 8 cycles (chain 4, loads 6/2 =
    # 3), + 9.12 = 17.12; 64 / 4 = 16 channel groups x 64 kept = 1,024 indices per pixel tile,
    # 96 / 16 = 6 pixel tiles: 6 x 1,024 x 17.12 = 105,185.28 < dense 115,651.76
    assert cost.cycles == pytest.approx(105_185.28)
    assert notes == ("group SpMM 16x4 at density 0.50",)


def test_break_even_density_closed_form():
    # rho* = (dense step 6 / (48 MACs x 0.85)) / ((5 + stall) / 32 MACs per index)
    for stall, per_index in ((STALL, 14.12), (0.0, 5.0)):
        spec = _core(stall)
        kernel = spec.compute.simd.unstructured
        assert break_even_density(spec, kernel) == pytest.approx((6 / 40.8) / (per_index / 32))


def test_shipped_mobile_cpu_break_even_is_its_calibration():
    # configs/mobile_cpu.yaml fits stall_cycles_per_index so the 32x1 SpMM breaks even at
    # two-thirds zeros (XNNPACK's sparse-inference threshold; Elsen et al. 2020): a
    # calibration, checked to the rounding of 9.12
    spec = load_spec("mobile_cpu")
    even = break_even_density(spec, spec.compute.simd.unstructured)
    assert even == pytest.approx(1 / 3, abs=5e-4)


def test_sparse_weight_above_break_even_runs_dense_and_says_so():
    spec = _core()
    cost, notes = choose_kernel(_pointwise(Unstructured(density=0.5)), spec)
    assert cost.kernel == "dense GEMM 6x8"
    assert notes == ("SpMM 32x1 at density 0.50 is slower than dense (break-even 0.33): ran dense",)
    sparse, _ = choose_kernel(_pointwise(Unstructured(density=0.25)), spec)
    assert sparse.kernel == "SpMM 32x1"


def test_ten_percent_zeros_do_not_speed_a_pointwise_conv_up():
    # issue 12: array specs sped 1x1 convs up from 10% zeros on; a CPU must not
    conv = Conv2d(batch=1, in_channels=128, out_channels=64, height=8, width=12, kernel=(1, 1))
    layer = Layer(name="pw", op=conv, weight_sparsity=Unstructured(density=0.9))
    run = simulate(Workload(name="w", layers=(layer,)), _core())
    assert run.layers[0].cycles == run.layers[0].dense_cycles
    assert "ran dense" in run.layers[0].notes[-1]


def test_depthwise_is_load_bound_at_half_the_fma_peak():
    conv = Conv2d(batch=1, in_channels=32, out_channels=32, height=10, width=10,
                  padding=(1, 1), groups=32)  # fmt: skip
    cost = depthwise(lower_layer(Layer(name="dw", op=conv), Phase.INFERENCE)[0], _core())
    # 32 channels = 8 vectors x 100 pixels x 9 taps = 7,200 steps of 1 cycle (2 loads on 2
    # ports), over 0.85: 8,470.59 cycles for 28,800 MACs
    assert cost.cycles == pytest.approx(7200 / 0.85)
    assert (cost.issued_macs, cost.bound) == (28_800, "L1")


def test_level_bytes_compulsory_when_it_fits_else_the_cheaper_panel():
    assert level_bytes(100, 50, 30, 1000) == 180
    # 60-byte cache, 30-byte panels: weights held -> 50 + 100 x ceil(50/30) = 250; inputs held
    # -> 100 + 50 x ceil(100/30) = 300; plus the 30 output bytes
    assert level_bytes(100, 50, 30, 60) == 280


def test_pointwise_layer_is_compute_bound_at_the_dense_efficiency():
    conv = Conv2d(batch=1, in_channels=128, out_channels=64, height=8, width=12, kernel=(1, 1))
    run = simulate(Workload(name="w", layers=(Layer(name="pw", op=conv),)), _core())
    (layer,) = run.layers
    assert layer.bound == "compute"
    assert layer.compute_cycles == math.ceil(786_432 / 6.8)  # 115,652
    # 106,496 working-set bytes in ceil(106,496 / 32 KiB) = 4 tiles; exposed: the first
    # tile's load, 81,920 / 4 = 20,480 B at 34.1 / 2.84 = 12.007 B/cycle -> 1,706 + 300
    # latency, and the last tile's store, 24,576 / 4 = 6,144 B -> 512 + 300
    assert layer.cycles == 115_652 + 2006 + 812
    levels = dict(layer.bytes_by_level)
    # fp32: input 128 x 96 x 4, weights 128 x 64 x 4, output 64 x 96 x 4
    assert (levels["dram.input"], levels["dram.weight"], levels["dram.output"]) == (
        49_152, 32_768, 24_576)


def test_slow_dram_makes_the_layer_dram_bound():
    conv = Conv2d(batch=1, in_channels=128, out_channels=64, height=8, width=12, kernel=(1, 1))
    layers = (Layer(name="pw", op=conv),)
    run = simulate(Workload(name="w", layers=layers), _core(dram_gb_per_s=0.5))
    # 106,496 bytes at 0.5e9 / 2.84e9 = 0.176 B/cycle: 604,897 cycles > 115,652 of compute
    assert run.layers[0].bound == "DRAM"
    assert run.layers[0].cycles >= math.ceil(106_496 / (0.5 / 2.84))


def test_one_row_gemv_spends_the_tile_accumulators_on_channels():
    layer = Layer(name="fc", op=Linear(tokens=1, in_features=64, out_features=96))
    cost = dense_gemm(lower_layer(layer, Phase.INFERENCE)[0], _core())
    # the 6x8 tile's 12 accumulators hold 12 vectors = 48 channels of the one row: 12 FMAs
    # (6 cycles), chain 4, loads 12 + 1/4 on 2 ports = 6.125 -> L1; 96 / 48 = 2 tiles x 64 k
    assert (cost.kernel, cost.bound) == ("dense GEMM 1x48", "L1")
    assert cost.cycles == pytest.approx(2 * 64 * 6.125 / 0.85)


def test_inputs_and_outputs_kept_on_chip_skip_dram():
    levels = plan_simd(_pointwise(), _core(), io_on_chip=(True, True)).levels
    assert (levels["dram.input"], levels["dram.weight"], levels["dram.output"]) == (0, 32_768, 0)


def test_training_a_group_sparse_conv_re_prunes_its_weights():
    # the group kernel stores its weight compressed, so training re-prunes it each step
    # (pre-generation), as on an array that skips groups; 128 x 64 weights -> one pass
    conv = Conv2d(batch=1, in_channels=128, out_channels=64, height=8, width=12, kernel=(1, 1))
    layer = Layer(name="pw", op=conv, weight_sparsity=Group(size=4, density=0.25))
    run = simulate(Workload(name="w", layers=(layer,), phase=Phase.TRAINING), _core())
    passes = {row.pass_.value for row in run.layers}
    assert {"fw", "bw_data", "bw_weight", "pregen"} <= passes
    fw = next(row for row in run.layers if row.pass_.value == "fw")
    assert fw.notes[0] == "group SpMM 16x4 at density 0.25"
