"""Buffer-level memory model (simulator.tiling, simulator.residency): DRAM and SRAM bytes per
operand worked out by hand in the comments, independently of the code, plus properties.

Specs come from ``make_spec`` (int8 operands and outputs, int32 accumulators, one buffer per
operand, ``os`` unless said otherwise; the array is ``rows x cols``)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsim.accel.loader import load_spec, spec_from_mapping
from sparsim.accel.spec import AcceleratorSpec
from sparsim.simulator import tile
from sparsim.simulator.lower import Problem, lower_layer
from sparsim.simulator.mapper import EXPOSED_SHARE, fixed_candidate
from sparsim.simulator.mapping import map_problem
from sparsim.simulator.plan import _candidate_plan, plan
from sparsim.simulator.report import why_bound
from sparsim.simulator.results import Pass
from sparsim.simulator.run import simulate
from sparsim.simulator.tiling import Tiling, choose_tiling, nest_traffic, nest_view
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Conv2d, Gemm, Linear, Vector, VectorKind
from sparsim.workloads.registry import get_workload
from sparsim.workloads.sparsity import NM

from tests.unit.simulator.conftest import make_spec


def _fw(op) -> Problem:
    return lower_layer(Layer(name="x", op=op), Phase.INFERENCE)[0]


def _traffic(problem: Problem, spec: AcceleratorSpec, tiling: Tiling):
    mapping, _ = map_problem(problem, spec)
    return nest_traffic(nest_view(problem), tiling, mapping, spec)


def _dram(planned) -> dict[str, int]:
    return {k[5:]: v for k, v in planned.bytes_by_level if k.startswith("dram.")}


def test_3x3_conv_moves_feature_maps_not_im2col():
    # issue 9: 3x3 conv 64->64 on 56x56 (padding 1), int8, buffers holding everything.
    # compulsory: ifmap 64*56*56 = 200,704; weights 64*64*9 = 36,864; ofmap 64*56*56 = 200,704;
    # total 438,272 (the im2col model moved 2,043,904).
    conv = Conv2d(batch=1, in_channels=64, out_channels=64, height=56, width=56, padding=(1, 1))
    spec = make_spec(rows=32, cols=32)
    (planned,) = plan(Workload(name="c", layers=(Layer(name="c", op=conv),)), spec)
    assert _dram(planned) == {"input": 200_704, "weight": 36_864, "metadata": 0, "psum": 0,
                              "output": 200_704}  # fmt: skip
    sram = dict(planned.sram_bytes)
    # fills: each byte fetched is written once into its buffer; the output drains once
    assert sram["input.input.write"] == 200_704
    assert sram["weight.weight.write"] == 36_864
    assert sram["output.output.write"] == sram["output.output.read"] == 200_704
    # im2col between buffer and array: M x K = 3136 x 576 = 1,806,336 activation bytes per
    # pass over n; os rows hold n = 64 in ceil(64 / 32) = 2 passes -> 3,612,672
    assert sram["input.input.read"] == 3_612_672
    # weights K x N = 36,864 per pass over m: ceil(3136 / 32) = 98 passes -> 3,612,672
    assert sram["weight.weight.read"] == 3_612_672
    assert sram["output.psum.write"] == sram["output.psum.read"] == 0


def test_3x3_conv_backward_data_moves_dy_and_dx_not_im2col():
    # the same conv's backward-data pass, the transposed convolution (simulator.lower): DRAM
    # moves dY (64 x 56 x 56 = 200,704), W (36,864) and dX (200,704), never an im2col matrix;
    # the array is fed dY's im2col, M x K = 3136 x (64 x 9) = 1,806,336 bytes per pass over
    # n (dX's 64 channels on 32 rows: 2 passes) = 3,612,672, and W per pass over m (98):
    # 3,612,672; dX leaves the array once (no taps x partial results to scatter-add). (On an
    # os array the col2im form moves the same bytes; what differs is the reduction length,
    # 576 here against 64: test_run's sat test.)
    conv = Conv2d(batch=1, in_channels=64, out_channels=64, height=56, width=56, padding=(1, 1))
    layer = Layer(name="c", op=conv)
    bw_data = lower_layer(layer, Phase.TRAINING)[1]
    assert (bw_data.m, bw_data.n, bw_data.k) == (3136, 64, 576)
    planned = _candidate_plan(bw_data, make_spec(rows=32, cols=32), (False, False),
                              fixed_candidate(bw_data, make_spec(rows=32, cols=32)))  # fmt: skip
    assert _dram(planned) == {"input": 200_704, "weight": 36_864, "metadata": 0, "psum": 0,
                              "output": 200_704}  # fmt: skip
    sram = dict(planned.sram_bytes)
    assert sram["input.input.read"] == 3_612_672
    assert sram["weight.weight.read"] == 3_612_672
    assert sram["output.output.write"] == 200_704
    assert sram["output.psum.write"] == sram["output.psum.read"] == 0


def test_stride_2_conv_fetches_each_band_with_its_halo():
    # 1 image, 2 -> 4 channels, 8x8 input, 3x3, stride 2, padding 1: 4x4 output. Tiles of two
    # output rows. Output rows 0-1 read input rows {2o - 1 + j} = {-1..1} u {1..3} -> 0..3
    # (4 rows, row -1 is padding, not fetched); rows 2-3 read {3..5} u {5..7} -> 3..7 (5 rows).
    # Every output column together reads all 8 input columns. A = (4 + 5) * 8 * 2 = 144 bytes
    # (the 8 x 8 x 2 = 128-byte map plus row 3 twice). B = 3*3*2*4 = 72, C = 4*4*4 = 64.
    conv = Conv2d(batch=1, in_channels=2, out_channels=4, height=8, width=8, stride=(2, 2),
                  padding=(1, 1))  # fmt: skip
    spec = make_spec(rows=4, cols=4)
    t = _traffic(_fw(conv), spec, Tiling(m=2, n=4, k=2, order="mnk"))
    assert t.dram == {"input": 144, "weight": 72, "metadata": 0, "psum": 0, "output": 64}
    assert t.load.tolist() == [4 * 8 * 2 + 72, 5 * 8 * 2]  # band 0 with the weights, band 1
    assert t.store.tolist() == [32, 32]  # 2 rows x 4 cols x 4 channels each
    # array feed: each tile is 8 output pixels x K = 2 * 9 = 18 im2col bytes, one pass over
    # n (4 channels on 4 rows): 2 x 144 = 288; weights 72 per pass over m, ceil(8 / 4) = 2
    # passes per tile: 2 x 144 = 288
    assert t.sram["input.input.read"] == 288
    assert t.sram["weight.weight.read"] == 288


def test_depthwise_conv_runs_per_group():
    # depthwise 3x3, 8 channels of 6x6, padding 1 (count = 8 groups of 1 channel): per group
    # A = 36, B = 9, C = 36 bytes; 8 groups: 288, 72, 288. Feed per group: M x K = 36 x 9 =
    # 324 activation bytes in one pass (n = 1 channel); weights 9 per pass over m,
    # ceil(36 / 4) = 9 passes = 81; times 8 groups: 2,592 and 648.
    conv = Conv2d(batch=1, in_channels=8, out_channels=8, height=6, width=6, padding=(1, 1),
                  groups=8)  # fmt: skip
    (planned,) = plan(Workload(name="d", layers=(Layer(name="d", op=conv),)),
                      make_spec(rows=4, cols=4))  # fmt: skip
    assert _dram(planned) == {"input": 288, "weight": 72, "metadata": 0, "psum": 0,
                              "output": 288}  # fmt: skip
    sram = dict(planned.sram_bytes)
    assert sram["input.input.read"] == 2_592
    assert sram["weight.weight.read"] == 648


def test_gemm_partial_sums_spill_when_k_is_outer():
    # GEMM m=8, n=8, k=16; tiles m=4, n=8, k=8; order k (outer), m, n: iterations
    # (k0,m0) (k0,m1) (k1,m0) (k1,m1). The output buffer is 256 B (double-buffered: 128 B), so
    # all of C at accumulator width (8*8*4 = 256 B) cannot stay; one C tile (4*8*4 = 128 B)
    # can. Each C tile is left after its k0 visit (spill 128 B at int32) and reloaded before
    # its k1 visit (128 B): psum = 2 tiles x (128 + 128) = 512. A = 8*16 = 128, B = 16*8 =
    # 128, C final = 8*8 = 64 (int8).
    spec = make_spec(rows=4, cols=4, buffer_bytes=256)
    t = _traffic(_fw(Gemm(m=8, n=8, k=16)), spec, Tiling(m=4, n=8, k=8, order="kmn"))
    assert t.dram == {"input": 128, "weight": 128, "metadata": 0, "psum": 512, "output": 64}
    assert t.load.tolist() == [32 + 64, 32, 32 + 64 + 128, 32 + 128]
    assert t.store.tolist() == [128, 128, 32, 32]
    # output buffer: k0 results written at int32 (2 x 128) + reloads (256); read to
    # accumulate at k1 (2 x 128) + read to spill (256); finals written and drained (64)
    assert t.sram["output.psum.write"] == 512
    assert t.sram["output.psum.read"] == 512
    assert t.sram["output.output.write"] == t.sram["output.output.read"] == 64
    # k innermost keeps each C tile in the buffer: no spill
    inner = _traffic(_fw(Gemm(m=8, n=8, k=16)), spec, Tiling(m=4, n=8, k=8, order="mnk"))
    assert inner.dram["psum"] == 0


def test_chooser_avoids_the_spill():
    spec = make_spec(rows=4, cols=4, buffer_bytes=256)
    problem = _fw(Gemm(m=8, n=8, k=16))
    mapping, _ = map_problem(problem, spec)
    tiling = choose_tiling(nest_view(problem), mapping, spec)
    t = nest_traffic(nest_view(problem), tiling, mapping, spec)
    assert t.dram["psum"] == 0 and tiling.fits


def _chain(residency: bool = True, buffer_bytes: int = 1 << 20) -> list:
    layers = (
        Layer(name="fc1", op=Linear(tokens=16, in_features=32, out_features=32, bias=False)),
        Layer(name="relu", op=Vector(kind=VectorKind.ACTIVATION, elements=16 * 32)),
        Layer(name="fc2", op=Linear(tokens=16, in_features=32, out_features=32, bias=False)),
    )
    spec = replace(make_spec(buffer_bytes=buffer_bytes), inter_layer_residency=residency)
    return plan(Workload(name="chain", layers=layers), spec)


def test_activation_stays_on_chip_between_layers():
    # fc1: X 16x32 = 512 B in, W 32x32 = 1,024 B, Y 16x32 = 512 B out; fc2 reads Y. With
    # residency Y never travels: fc1 stores 0, fc2 loads 0 input bytes (its weight still
    # comes from DRAM); the input buffer gets no fill for fc2.
    fc1, _, fc2 = _chain()
    assert _dram(fc1) == {"input": 512, "weight": 1024, "metadata": 0, "psum": 0, "output": 0}
    assert _dram(fc2) == {"input": 0, "weight": 1024, "metadata": 0, "psum": 0, "output": 512}
    assert fc2.input_from_chip and not fc1.input_from_chip
    assert dict(fc2.sram_bytes)["input.input.write"] == 0
    # switched off, or an input buffer (500 B) too small for fc1's 512-byte output: via DRAM
    for off in (_chain(residency=False), _chain(buffer_bytes=500)):
        assert _dram(off[0])["output"] == 512 and _dram(off[2])["input"] == 512
        assert not off[2].input_from_chip


def _pool_block(residency: bool = True) -> list:
    layers = (
        Layer(name="fc0", op=Linear(tokens=16, in_features=32, out_features=32, bias=False)),
        Layer(name="pool", op=Vector(kind=VectorKind.POOL, elements=512, written_elements=128)),
        Layer(name="fc1", op=Linear(tokens=4, in_features=32, out_features=64, bias=False)),
        Layer(name="short", op=Linear(tokens=4, in_features=32, out_features=64, bias=False)),
        Layer(name="add", op=Vector(kind=VectorKind.ELEMENTWISE, elements=256, read_elements=512)),
    )
    spec = replace(make_spec(), inter_layer_residency=residency)
    return plan(Workload(name="block", layers=layers), spec)


def test_pool_and_shortcut_stay_on_chip():
    # fc0 (16x32 -> 512 B) -> pool (reads the 512 B, writes 128 B) -> fc1 (4x32 -> 4x64 = 256 B)
    # and the shortcut "short" reading the pool's output again -> add (fused with short) of
    # short's output and fc1's, held meanwhile. 1 MiB buffers: everything fits, so in inference
    # only fc0's input (512 B), the weights (1,024 + 2,048 + 2,048 B) and short's final output
    # (256 B) travel: the pool reads fc0's output from chip and keeps its own; fc1's output
    # waits on chip for the add.
    fc0, pool, fc1, short, _ = _pool_block()
    assert _dram(fc0) == {"input": 512, "weight": 1024, "metadata": 0, "psum": 0, "output": 0}
    assert _dram(pool) == {} and pool.input_from_chip
    assert _dram(fc1) == {"input": 0, "weight": 2048, "metadata": 0, "psum": 0, "output": 0}
    assert _dram(short) == {"input": 0, "weight": 2048, "metadata": 0, "psum": 0, "output": 256}
    assert fc1.input_from_chip and short.input_from_chip
    # switched off: every tensor through DRAM (the pool reads 512 B and writes 128 B)
    fc0, pool, fc1, short, _ = _pool_block(residency=False)
    assert _dram(pool) == {"input": 512, "output": 128}
    assert (_dram(fc1)["input"], _dram(fc1)["output"], _dram(short)["input"]) == (128, 256, 128)


def test_report_marks_input_from_chip():
    layers = (
        Layer(name="fc1", op=Linear(tokens=16, in_features=32, out_features=32)),
        Layer(name="fc2", op=Linear(tokens=16, in_features=32, out_features=32)),
    )
    run = simulate(Workload(name="chain", layers=layers), make_spec())
    assert [r.input_from_chip for r in run.layers] == [False, True]
    assert run.layers[1].to_dict()["input_from_chip"] is True


def test_training_gradient_stays_on_chip_where_the_forward_input_did():
    """fc1 -> fc2 (16 tokens, 32 -> 32 -> 32, int8, big buffers), training. Forward: fc2 reads
    fc1's 16 x 32 output from chip. Backward, worked by hand: fc2's backward-data pass makes
    that output's gradient (16 x 32 = 512 B), which fc1's backward-data pass reads from chip
    (no DRAM input bytes, against 512 with residency off); it is still stored (512 B), since
    fc1's weight-gradient pass reads it from DRAM."""
    layers = (
        Layer(name="fc1", op=Linear(tokens=16, in_features=32, out_features=32)),
        Layer(name="fc2", op=Linear(tokens=16, in_features=32, out_features=32)),
    )
    work = Workload(name="chain", layers=layers, phase=Phase.TRAINING)
    spec = make_spec()

    def bw_data(run, name):
        row = next(r for r in run.layers if (r.layer, r.pass_) == (name, Pass.BW_DATA))
        return row, dict(row.bytes_by_level)

    on = simulate(work, spec)
    off = simulate(work, replace(spec, inter_layer_residency=False))
    fc1, fc1_bytes = bw_data(on, "fc1")
    assert fc1.input_from_chip and fc1_bytes["dram.input"] == 0
    assert bw_data(off, "fc1")[1]["dram.input"] == 512
    fc2, fc2_bytes = bw_data(on, "fc2")
    assert not fc2.input_from_chip and fc2_bytes["dram.output"] == 512
    weight_grad = next(r for r in on.layers if (r.layer, r.pass_) == ("fc1", Pass.BW_WEIGHT))
    assert not weight_grad.input_from_chip


# ---------------------------------------------------------------- N:M and the activation port
def _nm_layer(port: int):
    # sat-like: 32x32 os, 2 multipliers per PE, 2:8 -> k_per_step = (2 // 2) * 8 = 8: each of
    # the 32 columns takes 8 int8 activations per cycle = 256 B/cycle in 2:8 mode, 64 B dense
    spec = make_spec(rows=32, cols=32, multipliers=2, nm=((2, 8),), port_bytes_per_cycle=1 << 20)
    narrow = replace(spec.buffers[1][1], read_bytes_per_cycle=port)
    buffers = tuple((n, narrow if n == "input" else b) for n, b in spec.buffers)
    spec = replace(spec, buffers=buffers)
    w = Workload(name="nm", layers=(Layer(name="g", op=Gemm(m=2048, n=256, k=1024),
                                          weight_sparsity=NM(n=2, m=8)),))  # fmt: skip
    return simulate(w, spec).layers[0]


def test_narrow_activation_port_caps_the_nm_speedup():
    wide, narrow = _nm_layer(1024), _nm_layer(64)
    # wide: compute-bound, close to the ideal 4x (8 / 2 elements per step)
    assert wide.bound == "compute" and 3.5 < wide.speedup <= 4.0
    # narrow (64 B/cycle, what sat.yaml declared before): the port feeds 2 elements per
    # column per cycle, exactly the dense rate: the 2:8 mode gains nothing and the report
    # names the port
    # port time: A feed = M x K x ceil(N / rows) = 2048 x 1024 x 8 = 16,777,216 B at 64 B/cycle
    # = 262,144 cycles = the dense compute (2048 x 256 x 1024 MACs / (32 x 32 x 2) = 262,144)
    assert narrow.bound == "input buffer read port"
    assert narrow.cycles >= 262_144
    assert narrow.speedup < 1.001
    assert "input buffer read port" in narrow.to_dict()["bound"]
    # why: the port's busy cycles (the feed's 16,777,216 B at 64 B/cycle) against the 2:8
    # compute, a quarter of the dense 262,144 (65,536 and the fill and drain of the folds)
    busy = dict(narrow.busy_cycles)
    assert busy["input buffer read port"] == 262_144
    assert 65_536 <= busy["compute"] < 262_144 // 3
    assert narrow.to_dict()["busy_cycles"] == busy
    assert dict(wide.busy_cycles)["input buffer read port"] == 16_777_216 // 1024
    assert "input buffer read port 262,144 (" in why_bound(narrow)


def _ws_candidate_plan(problem: Problem, spec: AcceleratorSpec, tiling: Tiling):
    """The plan of ``problem`` under the spec's own orientation and an explicit ``tiling``."""
    cand = replace(fixed_candidate(problem, spec), tiling=tiling)
    return _candidate_plan(problem, spec, (False, False), cand)


def _psums(planned) -> tuple[int, int]:
    sram = dict(planned.sram_bytes)
    return sram["output.psum.write"], sram["output.psum.read"]


def test_ws_k_tile_that_splits_a_fold_costs_a_fold_in_compute_and_psums():
    # ws 4x4 array, 1 multiplier per PE: a fold reduces 4 K positions. GEMM m=8, n=4, k=12:
    # one column tile (n = 4 = cols), m = 8 rows stream through each fold.
    # Closed forms (simulator.tile, overlapped folds): the first fold costs
    # rows + stream + (rows - 1) + (cols - 1) = 4 + 8 + 3 + 3 = 18, each later one
    # max(stream, rows) = 8. C is 8 x 4 = 32 int32 accumulators = 128 B per fold.
    spec = make_spec(rows=4, cols=4, dataflow="ws")
    problem = Problem(layer="", op="Gemm", pass_=Pass.FW, m=8, n=4, k=12)
    whole = _ws_candidate_plan(problem, spec, Tiling(m=8, n=4, k=12))
    # whole k: ceil(12 / 4) = 3 folds -> 18 + 8 + 8 = 34 cycles; psums: every fold but the
    # last writes 128 B (2 x 128 = 256), every fold but the first reads them (256)
    assert int(whole.schedule.compute_cycles.sum()) == 34
    assert _psums(whole) == (256, 256)
    # k tiles of 6 (two): each needs ceil(6 / 4) = 2 folds (a fold does not straddle two
    # buffer tiles) -> 4 folds = 18 + 3 x 8 = 42 cycles; psum writes 3 x 128 = 384 (the
    # 4th fold writes the final output), reads 3 x 128 = 384 (all but the very first)
    split = _ws_candidate_plan(problem, spec, Tiling(m=8, n=4, k=6))
    assert int(split.schedule.compute_cycles.sum()) == 42
    assert _psums(split) == (384, 384)
    assert dict(split.sram_bytes)["output.output.write"] == 32  # the finals, int8


def test_ws_psums_follow_the_positions_the_array_processes():
    # ws 4x4, activation skipping at density 0.5: of k = 16 the array processes
    # ceil(16 x 0.5) = 8 positions per column tile -> ceil(8 / 4) = 2 folds, 18 + 8 = 26
    # cycles (m = 8). Partial sums follow the same 2 folds: one 128-B write and one read
    # (counting k's 16 dense positions would give 4 folds: 384 B each way).
    spec = make_spec(rows=4, cols=4, dataflow="ws", activation="skipping")
    problem = Problem(layer="", op="Gemm", pass_=Pass.FW, m=8, n=4, k=16, a_density=0.5)
    planned = _ws_candidate_plan(problem, spec, Tiling(m=8, n=4, k=16))
    assert int(planned.schedule.compute_cycles.sum()) == 26
    assert _psums(planned) == (128, 128)


def test_tpu_like_resnet50_convs_are_compute_bound():
    # issue 9 must-show: on dense_ws_128x128 at batch 8 ResNet-50's convs run under the
    # compute roof (Jouppi et al. 2017: CNNs are compute-bound on TPU v1). A 3x3 conv's
    # k tile of 28 channels x 9 taps = 252 positions takes 2 folds of 128 rows: counted in
    # compute as in the partial sums, the accumulator port no longer out-runs the array.
    result = simulate(get_workload("resnet50", batch=8), load_spec("dense_ws_128x128"))
    convs = [layer for layer in result.layers if layer.op.startswith("Conv")]
    assert len(convs) == 53
    assert sum(layer.bound == "compute" for layer in convs) == 53


def test_a_bigger_buffer_never_slows_the_searched_plan():
    # sat, ResNet-18 training with 2:8t weights, every buffer scaled. A bigger buffer can
    # hold bigger tiles, but a tile's first fill and last drain are exposed (simulator.perf):
    # the search keeps them within EXPOSED_SHARE of a layer (mapper._least_exposed), so each
    # doubling may not add more than that share. (Taking the biggest tiles, as the search did
    # before, each doubling from 0.5 to 8 MiB added 0.9-2.2%.)
    base = load_spec("sat")
    workload = get_workload("resnet18").with_weight_sparsity(NM(n=2, m=8, transposable=True))
    workload = workload.with_phase(Phase.TRAINING)
    totals = []
    for scale in (0.25, 0.5, 1, 2, 4):
        spec = replace(base, buffers=tuple(
            (name, replace(b, size_bytes=int(b.size_bytes * scale))) for name, b in base.buffers))
        totals.append(sum(layer.cycles for layer in simulate(workload, spec).layers))
    for smaller, bigger in itertools.pairwise(totals):
        assert bigger <= smaller * (1 + EXPOSED_SHARE)


def test_the_search_overlaps_a_whole_weight_tile_the_fixed_mapping_exposes():
    # sat, ResNet-18 layer4's 3x3 conv (512 -> 512 channels, 7x7, 2:8t): every operand fits
    # the buffers, so the fixed mapping runs one tile: all of its 2:8 weights load before the
    # array starts. The search cuts the same work into tiles whose fills overlap the compute
    # of the tiles before: the same DRAM bytes, at least 10% sooner.
    spec = load_spec("sat")
    conv = Conv2d(batch=1, in_channels=512, out_channels=512, height=7, width=7, padding=(1, 1))
    work = Workload(name="c", layers=(Layer(name="c", op=conv,
                                            weight_sparsity=NM(n=2, m=8, transposable=True)),))
    fixed = simulate(work, spec, mapper="fixed").layers[0]
    searched = simulate(work, spec).layers[0]
    assert "k=512 " in fixed.mapping and fixed.bound == "compute"  # one tile
    assert sum(_dram(searched).values()) == sum(_dram(fixed).values())
    assert searched.cycles < 0.9 * fixed.cycles


# ---------------------------------------------------------------- properties
dims = st.integers(min_value=1, max_value=96)
buffers = st.sampled_from([256, 1024, 4096, 1 << 16, 1 << 20])


def _compulsory(m: int, n: int, k: int) -> int:
    return m * k + k * n + m * n  # int8 A, B and C


def _gemm_dram(m: int, n: int, k: int, spec: AcceleratorSpec) -> int:
    (planned,) = plan(Workload(name="g", layers=(Layer(name="g", op=Gemm(m=m, n=n, k=k)),)),
                      spec)  # fmt: skip
    return sum(_dram(planned).values())


@settings(max_examples=40, deadline=None)
@given(m=dims, n=dims, k=dims, buffer=buffers, flow=st.sampled_from(["os", "ws", "is"]))
def test_dram_at_least_compulsory_and_equal_when_everything_fits(m, n, k, buffer, flow):
    spec = make_spec(rows=4, cols=4, dataflow=flow, buffer_bytes=buffer, dram_gb_per_s=1.0)
    moved = _gemm_dram(m, n, k, spec)
    assert moved >= _compulsory(m, n, k)
    # "fits": every operand, C at int32, in half of its buffer
    if max(m * k, k * n, 4 * m * n) <= buffer // 2:
        assert moved == _compulsory(m, n, k)


@settings(max_examples=40, deadline=None)
@given(m=dims, n=dims, k=dims, small=buffers, flow=st.sampled_from(["os", "ws", "is"]))
def test_dram_never_grows_with_the_buffer(m, n, k, small, flow):
    # slow DRAM and wide ports: the chooser's bound is DRAM time, a superset of tilings fits
    # the bigger buffer, so the bytes it picks cannot grow
    def moved(size: int) -> int:
        spec = make_spec(rows=4, cols=4, dataflow=flow, buffer_bytes=size, dram_gb_per_s=1.0)
        return _gemm_dram(m, n, k, spec)

    assert moved(small * 4) <= moved(small)


@settings(max_examples=40, deadline=None)
@given(m=dims, n=dims, k=dims, buffer=buffers, port=st.sampled_from([1, 4, 16, 64]),
       bw=st.sampled_from([0.2, 2.0, 50.0]))  # fmt: skip
def test_cycles_cover_every_level(m, n, k, buffer, port, bw):
    spec = make_spec(rows=4, cols=4, buffer_bytes=buffer, dram_gb_per_s=bw,
                     port_bytes_per_cycle=port)  # fmt: skip
    (planned,) = plan(Workload(name="g", layers=(Layer(name="g", op=Gemm(m=m, n=n, k=k)),)),
                      spec)  # fmt: skip
    (layer,) = simulate(Workload(name="g", layers=(Layer(name="g", op=Gemm(m=m, n=n, k=k)),)),
                        spec).layers  # fmt: skip
    dram = sum(_dram(planned).values())
    assert layer.cycles >= dram / spec.dram.bytes_per_cycle(spec.compute.freq_mhz)
    # every buffer port: its reads and its writes each at ``port`` bytes per cycle
    by_port: dict[str, int] = {}
    for key, value in planned.sram_bytes:
        buffer_name, _, way = key.split(".")
        by_port[f"{buffer_name}.{way}"] = by_port.get(f"{buffer_name}.{way}", 0) + value
    for nbytes in by_port.values():
        assert layer.cycles >= nbytes / port
    assert layer.cycles >= layer.compute_cycles


ratios = st.sampled_from([(2, 4), (2, 8), (1, 8)])
ports = st.sampled_from([8, 32, 128, 4096])


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 300), n=st.integers(1, 300), k=st.integers(8, 600), ratio=ratios,
       port=ports)  # fmt: skip
def test_nm_speedup_within_ratio_and_port_bound(m, n, k, ratio, port):
    n_, m_ = ratio
    spec = make_spec(rows=4, cols=4, multipliers=2, nm=(ratio,), port_bytes_per_cycle=port)
    w = Workload(name="nm", layers=(Layer(name="g", op=Gemm(m=m, n=n, k=k),
                                          weight_sparsity=NM(n=n_, m=m_)),))  # fmt: skip
    layer = simulate(w, spec).layers[0]
    assert layer.speedup <= m_ / n_ + 1e-9
    # the port bound: the sparse run takes at least its activation feed over the input read
    # port (the same bytes as dense: skipping weights does not shrink the activations), so
    # speedup <= dense cycles / (feed / port)
    feed = dict(plan(w, spec)[0].sram_bytes)["input.input.read"]
    assert layer.cycles >= feed / port
    assert layer.speedup <= layer.dense_cycles / (feed / port) + 1e-9


@settings(max_examples=30, deadline=None)
@given(m=dims, n=dims, k=dims, flow=st.sampled_from(["os", "ws", "is"]))
def test_serialized_folds_never_faster(m, n, k, flow):
    spec = make_spec(rows=4, cols=4, dataflow=flow)
    serial = replace(spec, compute=replace(spec.compute, fold_overlap=False))
    w = Workload(name="g", layers=(Layer(name="g", op=Gemm(m=m, n=n, k=k)),))
    assert simulate(w, serial).layers[0].cycles >= simulate(w, spec).layers[0].cycles


def test_fold_overlap_closed_forms():
    # simulator.tile docstring: os on 4 x 4, steps [10, 10]. One tile: 10 + 3 + 3 + 4 = 20.
    # Overlapped: 20 + max(10, 4) = 30; serialized: 20 + 20 = 40. ws on 4 x 4, stream [6, 2]:
    # one tile 4 + 6 + 3 + 3 = 16, the second 4 + 2 + 6 = 12; overlapped 16 + max(2, 4) = 20.
    assert tile.tile_costs("os", 4, 4, np.array([10, 10])).tolist() == [20, 10]
    assert tile.tile_costs("os", 4, 4, np.array([10, 10]), fold_overlap=False).tolist() == [
        20, 20]  # fmt: skip
    assert tile.tile_costs("ws", 4, 4, np.array([6, 2])).tolist() == [16, 4]
    assert tile.tile_costs("ws", 4, 4, np.array([6, 2]), fold_overlap=False).tolist() == [16, 12]


def test_spec_keys_load():
    text = (
        "name: t\ncompute: {rows: 4, cols: 4, dataflow: os, fold_overlap: false}\n"
        "inter_layer_residency: false\n"
        "buffers: {shared: {size_bytes: 1MiB, read_bytes_per_cycle: 64, "
        "write_bytes_per_cycle: 64}}\ndram: {bandwidth_gb_per_s: 10}\n"
    )
    spec = spec_from_mapping(yaml.safe_load(text), "t.yaml")
    assert spec.compute.fold_overlap is False and spec.inter_layer_residency is False
    default = spec_from_mapping(yaml.safe_load(text.replace("false", "true")), "t.yaml")
    assert default.compute.fold_overlap and default.inter_layer_residency
