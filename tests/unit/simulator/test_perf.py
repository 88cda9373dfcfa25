"""Analytical engine: the double-buffered closed form on schedules worked out by hand, and the
speed targets of the issue (loose bounds here; the benchmark owns the exact numbers)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from sparsim.simulator.mapping import map_problem
from sparsim.simulator.perf import analytical_timing, transfer_cycles
from sparsim.simulator.plan import plan
from sparsim.simulator.run import simulate
from sparsim.simulator.schedule import TileSchedule
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Gemm, Vector, VectorKind
from sparsim.workloads.sparsity import NM

from tests.unit.simulator.conftest import gemm_workload, make_spec


def _schedule(c, ld, st, *, bw=16.0, lat=10, double=True) -> TileSchedule:
    return TileSchedule(
        compute_cycles=np.array(c, dtype=np.int64),
        load_bytes=np.array(ld, dtype=np.int64),
        store_bytes=np.array(st, dtype=np.int64),
        dram_bytes_per_cycle=bw,
        dram_latency_cycles=lat,
        double_buffered=double,
    )


def test_transfer_cycles():
    # latency + ceil(bytes / bw), and nothing for no transfer
    assert np.array_equal(transfer_cycles(np.array([0, 1, 16, 17]), 16.0, 10), [0, 11, 11, 12])


def test_compute_bound_is_prologue_compute_epilogue():
    # steps: 10 + ceil((160 + 64) / 16) = 24 <= 100; prologue xfer(160) = 20, epilogue 14
    t = analytical_timing(_schedule([100, 100, 100], [160, 160, 160], [64, 64, 64]))
    assert (t.cycles, t.compute_cycles, t.stall_cycles, t.bound) == (334, 300, 34, "compute")


def test_memory_bound_steps_wait_for_transfers():
    # perf docstring: fill xfer(800) = 10 + 50 = 60; step 0: max(10, ch(800) + ch(0) - 10)
    # = 40 (load 1 streams during load 0's latency); step 1: max(10, ch(0) + ch(320)) = 20
    # (latency hidden); drain xfer(320) = 10 + 20 = 30  ->  60 + 40 + 20 + 30 = 150
    t = analytical_timing(_schedule([10, 10], [800, 800], [320, 320]))
    assert (t.cycles, t.stall_cycles, t.bound) == (150, 130, "DRAM")


def test_no_head_start_without_a_first_load():
    # perf docstring: h[0] = 0 when L[0] = 0 (no latency in flight to stream under): fill 0;
    # step 0: max(10, ch(800)) = 50; step 1: max(10, 0) = 10; drain 0  ->  60
    t = analytical_timing(_schedule([10, 10], [0, 800], [0, 0]))
    assert (t.cycles, t.bound) == (60, "DRAM")


def test_single_buffered_is_serial():
    t = analytical_timing(_schedule([100, 100], [160, 160], [64, 64], double=False))
    assert t.cycles == 2 * (20 + 100 + 14)


def test_empty_schedule_takes_no_time():
    t = analytical_timing(_schedule([], [], []))
    assert (t.cycles, t.compute_cycles) == (0, 0)


def test_slow_dram_makes_a_gemm_memory_bound():
    fast = simulate(gemm_workload(64, 64, 64), make_spec()).layers[0]
    slow = simulate(gemm_workload(64, 64, 64), make_spec(dram_gb_per_s=0.01)).layers[0]
    assert fast.bound == "compute" and slow.bound == "DRAM"
    assert slow.compute_cycles == fast.compute_cycles
    assert slow.cycles > fast.cycles and slow.stall_cycles == slow.cycles - slow.compute_cycles


def test_buffer_tiles_keep_the_array_cycles():
    # the buffer-level tiling splits the work the array does, never changes it: the plan's
    # per-tile compute sums to the mapping's back-to-back array cycles (simulator.mapping)
    spec = make_spec(multipliers=2, nm=((2, 8),), transposable=True)
    w = gemm_workload(40, 24, 64, weight_sparsity=NM(n=2, m=8, transposable=True),
                      phase=Phase.TRAINING)  # fmt: skip
    matrix = [p for p in plan(w, spec) if p.mapping is not None]
    assert len(matrix) == 3
    for planned in matrix:
        array_cycles = int(map_problem(planned.problem, spec)[1].sum())
        assert int(planned.schedule.compute_cycles.sum()) == array_cycles


def _chain(*, fused: bool, m: int, n: int, k: int, phase: Phase = Phase.INFERENCE) -> Workload:
    """GEMM -> bn -> relu over its m x n outputs; unfused: the same layers with the vector ones
    first, so nothing precedes them (simulator.lower fusion)."""
    gemm = Layer(name="g", op=Gemm(m=m, n=n, k=k))
    vector = (
        Layer(name="bn", op=Vector(kind=VectorKind.NORM, elements=m * n)),
        Layer(name="relu", op=Vector(kind=VectorKind.ACTIVATION, elements=m * n)),
    )
    layers = (gemm, *vector) if fused else (*vector, gemm)
    return Workload(name="chain", layers=layers, phase=phase)


def _by_name(result) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in result.layers:
        out.setdefault(r.layer, []).append(r)
    return out


@pytest.mark.parametrize(("m", "n", "k"), [(64, 64, 16), (16, 16, 512)])
def test_fused_chain_costs_max_of_matrix_and_vector(m, n, k):
    # 4x4 os array, 1 multiplier, fast DRAM, 1 GiB buffers (compute bound, one stream chunk):
    # GEMM = ceil(n/4) * ceil(m/4) tiles back to back, the first k + 3 + 3 + 4 cycles, each
    # later one max(k, 4) (tile.py), + 1 first load + 1 last store (perf.py); bn (5
    # FLOPs/element) and relu (1) on 16 lanes, on chip: ceil(5mn/16)
    # and ceil(mn/16) cycles. Fused, the three cost max(GEMM, bn + relu) (simulator.run).
    spec = make_spec()
    tiles = math.ceil(n / 4) * math.ceil(m / 4)
    gemm = (k + 10) + (tiles - 1) * max(k, 4) + 2
    bn, relu = math.ceil(5 * m * n / 16), math.ceil(m * n / 16)
    fused = simulate(_chain(fused=True, m=m, n=n, k=k), spec)
    unfused = simulate(_chain(fused=False, m=m, n=n, k=k), spec)
    assert fused.cycles == max(gemm, bn + relu)
    assert fused.cycles < unfused.cycles
    layers = _by_name(fused)
    assert layers["g"][0].cycles == gemm
    assert layers["bn"][0].cycles == max(gemm, bn) - gemm
    assert layers["relu"][0].cycles == max(gemm, bn + relu) - max(gemm, bn)
    assert layers["bn"][0].notes == ("fused with g",)
    assert layers["bn"][0].utilization == pytest.approx(5 * m * n / (bn * 16))


def test_fused_ops_move_no_dram_bytes_when_the_output_tile_fits():
    spec = make_spec()
    layers = _by_name(simulate(_chain(fused=True, m=64, n=64, k=16), spec))
    for name in ("bn", "relu"):
        levels = dict(layers[name][0].bytes_by_level)
        assert not any(key.startswith("dram.") for key in levels), name
        assert levels["sram.read"] == levels["sram.write"] == 64 * 64  # int8 in and out
        assert layers[name][0].energy_pj[3] == ("dram", 0.0)
    unfused = _by_name(simulate(_chain(fused=False, m=64, n=64, k=16), spec))
    assert dict(unfused["bn"][0].bytes_by_level)["dram.input"] == 64 * 64


def test_fused_ops_go_through_dram_when_the_output_tile_does_not_fit():
    # 4 B buffers, double-buffered: a 2 B output share cannot hold even one int32 partial sum,
    # so no buffer tiling fits (simulator.tiling) and the fused ops' tiles travel through DRAM
    spec = make_spec(rows=8, cols=8, buffer_bytes=4)
    layers = _by_name(simulate(_chain(fused=True, m=32, n=32, k=16), spec))
    bn = layers["bn"][0]
    assert bn.notes == ("fused with g; its output tile exceeds the output buffer: via DRAM",)
    levels = dict(bn.bytes_by_level)
    assert (levels["dram.input"], levels["dram.output"]) == (32 * 32, 32 * 32)


def test_fused_ops_stay_on_chip_when_only_the_whole_output_exceeds_the_output_buffer():
    # 4x4 ws array, 1 KiB buffers (512 B double-buffered shares): the GEMM's whole output is
    # 4096 x 4 int8 = 16 KiB, far over the share, but its buffer tiles fit, and a fused op
    # post-processes each output tile as it drains: no DRAM bytes (the whole-M stream size is
    # not what the output buffer holds).
    spec = make_spec(dataflow="ws", buffer_bytes=1024)
    layers = _by_name(simulate(_chain(fused=True, m=4096, n=4, k=4), spec))
    for name in ("bn", "relu"):
        assert layers[name][0].notes == ("fused with g",)
        assert not any(key.startswith("dram.") for key, _ in layers[name][0].bytes_by_level)


def test_pools_read_their_input_once_and_write_their_output():
    # A 3x3 stride-2 max pool over 1 x 8 x 16 x 16 (padding 1 -> 8 x 8 outputs) visits
    # 9 inputs per output (576 x 8 = 4,608 visits, its work) but reads its 2,048-element input
    # once and writes 512 outputs: int8 DRAM bytes 2,048 in and 512 out (hand-counted). The
    # global average pool after it reads those 512 and writes one per channel, 8.
    visits = 8 * 8 * 8 * 9
    pool = Vector(kind=VectorKind.POOL, elements=visits, read_elements=2048, written_elements=512)
    gap = Vector(kind=VectorKind.POOL, elements=512, written_elements=8)
    layers = (Layer(name="maxpool", op=pool), Layer(name="gap", op=gap))
    spec = replace(make_spec(), inter_layer_residency=False)  # every tensor through DRAM
    result = _by_name(simulate(Workload(name="pools", layers=layers), spec))
    levels = {name: dict(result[name][0].bytes_by_level) for name in ("maxpool", "gap")}
    assert (levels["maxpool"]["dram.input"], levels["maxpool"]["dram.output"]) == (2048, 512)
    assert (levels["gap"]["dram.input"], levels["gap"]["dram.output"]) == (512, 8)
    # work still follows the visits: 4,608 one-FLOP visits on 16 lanes = 288 cycles of compute
    assert result["maxpool"][0].compute_cycles == visits // 16


def test_training_backward_vector_fuses_with_backward_data():
    spec = make_spec()
    plans = plan(_chain(fused=True, m=64, n=64, k=16, phase=Phase.TRAINING), spec)
    passes = [(p.problem.layer, p.problem.pass_.value, p.problem.backward) for p in plans]
    fused = [(i, p.producer) for i, p in enumerate(plans) if p.producer is not None]
    producers = {passes[i]: passes[producer] for i, producer in fused}
    assert producers == {
        ("bn", "vector", False): ("g", "fw", False),
        ("bn", "vector", True): ("g", "bw_data", False),
        ("relu", "vector", False): ("g", "fw", False),
        ("relu", "vector", True): ("g", "bw_data", False),
    }


def test_without_an_input_gradient_backward_vector_fuses_with_the_weight_gradient():
    # the same chain reading data (input_gradient off): g has no BW_DATA (simulator.lower), so
    # the backward bn and relu overlap g's BW_WEIGHT, which reads the same dY
    spec = make_spec()
    chain = replace(_chain(fused=True, m=64, n=64, k=16, phase=Phase.TRAINING),
                    input_gradient=False)  # fmt: skip
    plans = plan(chain, spec)
    passes = [(p.problem.layer, p.problem.pass_.value, p.problem.backward) for p in plans]
    assert ("g", "bw_data", False) not in passes
    producers = {passes[i]: passes[p.producer] for i, p in enumerate(plans)
                 if p.producer is not None}  # fmt: skip
    assert producers[("bn", "vector", True)] == ("g", "bw_weight", False)
    assert producers[("relu", "vector", True)] == ("g", "bw_weight", False)
