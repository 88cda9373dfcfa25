"""The mapper (simulator.mapper): searched mappings against the fixed heuristic, a brute-force
enumeration of the tiling space, decode GEMVs at DRAM speed, depthwise channels across the
array."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsim.accel.configs import list_configs
from sparsim.accel.loader import load_spec
from sparsim.accel.spec import Operand
from sparsim.simulator.lower import Problem, lower
from sparsim.simulator.mapper import (
    FIXED,
    MapperOptions,
    _at_floor,
    _axes,
    _best_tiling,
    _costs,
    _k_compute,
    _moves,
    _sizes,
    _tiling_at,
    orientations,
    search,
)
from sparsim.simulator.perf import analytical_timing
from sparsim.simulator.plan import plan
from sparsim.simulator.results import Pass
from sparsim.simulator.run import simulate
from sparsim.simulator.tiling import ORDERS, Tiling, nest_traffic, nest_view
from sparsim.workloads.layer import Phase
from sparsim.workloads.registry import get_workload
from sparsim.workloads.sparsity import NM

from tests.unit.simulator.conftest import gemm_workload, make_spec


def _cycles(workload, spec, mapper) -> list[int]:
    return [analytical_timing(p.schedule).cycles for p in plan(workload, spec, mapper=mapper)]


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(1, 300), n=st.integers(1, 300), k=st.integers(1, 300),
    flow=st.sampled_from(["os", "ws", "is"]), buffer=st.sampled_from([512, 4096, 1 << 20]),
    bw=st.sampled_from([0.5, 4.0, 1e6]), mv=st.booleans(),
)  # fmt: skip
def test_search_is_never_slower_than_fixed(m, n, k, flow, buffer, bw, mv):
    spec = make_spec(rows=8, cols=8, dataflow=flow, buffer_bytes=buffer, dram_gb_per_s=bw,
                     port_bytes_per_cycle=16)  # fmt: skip
    spec = replace(spec, compute=replace(spec.compute, matrix_vector=mv))
    wl = gemm_workload(m, n, k)
    searched, fixed = _cycles(wl, spec, MapperOptions()), _cycles(wl, spec, FIXED)
    assert all(s <= f for s, f in zip(searched, fixed, strict=True))


def _brute_force_latency(problem: Problem, spec, orient_index: int = 0) -> float:
    """The mapper's latency estimate of every (order, m, n, k) tiling, one at a time, from the
    per-tile traffic model (``nest_traffic``) instead of the mapper's closed forms."""
    view = nest_view(problem)
    _, mp, cycles = orientations(problem, spec)[orient_index]
    bw = spec.dram.bytes_per_cycle(spec.compute.freq_mhz)
    buf = spec.buffer_for(Operand.INPUT)
    share = {o: spec.buffer_share_bytes(o) // 2 for o in Operand}
    in_b, acc_b = 1, 4  # int8 operands, int32 accumulators
    best = float("inf")
    for order in ORDERS:
        for tm in _sizes(view.m_extent):
            for tn in _sizes(view.n_extent):
                for tk in _sizes(view.k_extent):
                    t = Tiling(m=tm, n=tn, k=tk, order=order)
                    # fit, by hand: A tile tm x tk, B tile tk x tn, C tile tm x tn (int32 while
                    # k is split or the dataflow folds k; else int8)
                    c_b = acc_b if (tk < view.k_extent or mp.dataflow != "os") else 1
                    if (min(tm, view.m_extent) * tk * in_b > share[Operand.INPUT]
                            or tk * tn > share[Operand.WEIGHT]
                            or tm * tn * c_b > share[Operand.OUTPUT]):  # fmt: skip
                        continue
                    nt = nest_traffic(view, t, mp, spec)
                    dram = sum(nt.dram.values())
                    a_feed, b_feed = nt.sram["input.input.read"], nt.sram["weight.weight.read"]
                    fills = (nt.sram["input.input.write"], nt.sram["weight.weight.write"])
                    port = max(a_feed, b_feed, *fills) / buf.read_bytes_per_cycle
                    best = min(best, max(int(cycles.sum()), dram / bw, port))
    return best


@pytest.mark.parametrize(
    ("m", "n", "k", "flow", "buffer"),
    [(12, 8, 20, "os", 128), (9, 6, 18, "ws", 96), (10, 5, 16, "is", 128),
     (3, 24, 24, "os", 200)],
)  # fmt: skip
def test_vectorised_search_finds_the_brute_force_optimum(m, n, k, flow, buffer):
    spec = make_spec(rows=4, cols=4, dataflow=flow, buffer_bytes=buffer, dram_gb_per_s=0.8,
                     port_bytes_per_cycle=8)  # fmt: skip
    problem = Problem(layer="g", op="Gemm", pass_=Pass.FW, m=m, n=n, k=k)
    (best,) = search(problem, spec)
    assert best.estimate == pytest.approx(_brute_force_latency(problem, spec), rel=1e-12)


# --- decode GEMVs come out memory-bound ------------------------------------------------------

_DIM, _HIDDEN, _LAYERS, _VOCAB, _HEADS = 4096, 11008, 32, 32000, 32


def _llama_weight_kv_bytes(kv_len: int, weight_b: float = 1, kv_b: float = 1) -> float:
    """LLaMA-2-7B with ``weight_b`` bytes per weight and ``kv_b`` per cached K/V value, worked
    by hand: per block qkv 4096 x 12288, proj 4096 x 4096, gate and up 4096 x 11008 each, down
    11008 x 4096 (202,375,168 values); the head 4096 x 32000 (131,072,000 values); the KV
    cache, K and V of 32 heads x 128 x kv_len per block (2 x 4096 x kv_len values). kv_len
    4096 at 1 B: 6,607,077,376 + 1,073,741,824 B."""
    block = _DIM * 3 * _DIM + _DIM * _DIM + 2 * _DIM * _HIDDEN + _HIDDEN * _DIM
    weights = _LAYERS * block + _DIM * _VOCAB
    return weights * weight_b + _LAYERS * 2 * _DIM * kv_len * kv_b


def _activation_bound_bytes(kv_len: int) -> int:
    """At most every activation read and written once per op at int8 (by hand, per block):
    norms 2 x (4096 + 4096), qkv 4096 + 12288, rope 2 x 8192, Q Kᵀ 4096 + 32 kv, softmax
    2 x 32 kv, A V 32 kv + 4096, proj 2 x 4096, two residual adds 3 x 4096 each, gate and up
    4096 + 11008 each, silu 2 x 11008, mul 3 x 11008, down 11008 + 4096; the final norm
    2 x 4096 and the head's 4096 + 32000; times 4 for int32 partial sums spilled."""
    per_block = (4 * _DIM + _DIM + 3 * _DIM + 4 * _DIM + _DIM + 32 * kv_len + 64 * kv_len
                 + 32 * kv_len + _DIM + 2 * _DIM + 6 * _DIM + 2 * (_DIM + _HIDDEN)
                 + 5 * _HIDDEN + _HIDDEN + _DIM)  # fmt: skip
    return 4 * (_LAYERS * per_block + 2 * _DIM + _DIM + _VOCAB)


@pytest.mark.parametrize("kv_dtype", [None, "fp8_e4m3", "fp16"])
@pytest.mark.parametrize("config", list_configs())
def test_llama_decode_step_costs_its_dram_bytes_over_bandwidth(config, kv_dtype):
    spec, kv_len = load_spec(config), 4096
    result = simulate(get_workload("llama2_7b_decode", kv_len=kv_len, kv_dtype=kv_dtype), spec)
    moved = sum(v for layer in result.layers for key, v in layer.bytes_by_level
                if key.startswith("dram."))  # fmt: skip
    # weights at the spec's element size (vegeta: bf16, 2 B); the KV cache at its own dtype
    # (fp8 1 B, fp16 2 B), else at the activations' (the spec's input: never the weight's);
    # the activation bound already counts 4 B per value (partial sums), covering 2-B values
    element_bytes = spec.precision.bytes_of(Operand.WEIGHT)
    assert spec.precision.bytes_of(Operand.INPUT) == element_bytes
    kv_b = {None: element_bytes, "fp8_e4m3": 1, "fp16": 2}[kv_dtype]
    weights_kv = _llama_weight_kv_bytes(kv_len, element_bytes, kv_b)
    assert weights_kv <= moved <= weights_kv + _activation_bound_bytes(kv_len)
    cycles = sum(layer.cycles for layer in result.layers)
    ideal = moved / spec.dram.bytes_per_cycle(spec.compute.freq_mhz)
    assert ideal <= cycles <= 1.05 * ideal


# --- depthwise convs across the array ----------------------------------------------------------


def test_mobile_npu_runs_depthwise_channels_side_by_side():
    """MobileNet-v1's first depthwise conv (112 x 112 outputs, 32 channels, 3 x 3) on
    mobile_npu (16 x 32 PEs, 2 multipliers, os, depthwise: channels): 16 channels on the rows,
    2 passes of 392 column tiles of 32 pixels, ceil(9 / 2) = 5 steps each; a tile costs
    max(5, 16 rows to drain) = 16 cycles, the first 5 + 15 + 31 + 16 = 67 (simulator.tile):
    67 + 783 x 16 = 12,595 compute cycles, against 32 x (67 + 391 x 16) + ... serially."""
    spec = load_spec("mobile_npu")
    plans = plan(get_workload("mobilenet_v1"), spec)
    dw = next(p for p in plans if p.problem.layer == "blocks.0.dw")
    assert dw.orientation is not None and dw.orientation.groups == 16
    assert int(dw.schedule.compute_cycles.sum()) == 67 + 783 * 16
    fixed = next(p for p in plan(get_workload("mobilenet_v1"), spec, mapper=FIXED)
                 if p.problem.layer == "blocks.0.dw")  # fmt: skip
    # serial: 32 groups x 392 tiles, each max(5, 16) = 16 cycles, the first 67
    assert int(fixed.schedule.compute_cycles.sum()) == 67 + (32 * 392 - 1) * 16
    assert np.array_equal(dw.schedule.load_bytes, fixed.schedule.load_bytes)


# --- the mapping is visible --------------------------------------------------------------------


def test_json_mapping_detail_names_orientation_tiles_and_bound(tmp_path):
    from sparsim.simulator.cli import main

    out = tmp_path / "r.json"
    assert main(["run", "--accel", "mobile_npu", "--workload", "mobilenet_v1",
                 "--json", str(out)]) == 0  # fmt: skip
    import json

    layers = {(r["name"], r["pass"]): r for r in json.loads(out.read_text())["layers"]}
    dw = layers["blocks.0.dw", "fw"]["mapping_detail"]
    assert dw["orientation"] == {"name": "os", "rows": "n", "cols": "m", "time": "k",
                                 "groups_side_by_side": 16}  # fmt: skip
    assert dw["levels"][0]["order"] in ORDERS and dw["cores"] == 1
    assert dw["bound"] == layers["blocks.0.dw", "fw"]["bound"]


def test_explain_prints_the_loop_nest_and_runner_ups(capsys):
    from sparsim.simulator.cli import main

    assert main(["run", "--accel", "dense_os_32x32", "--workload", "gpt2",
                 "--explain", "h.0.mlp.fc1", "--batch", "1"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "DRAM -> buffers, loop order" in text and "mappings, best first:" in text
    ranked = text.split("mappings, best first:")[1].split("\n\n")[0]
    costs = [float(line.split()[0].replace(",", "")) for line in ranked.splitlines()
             if line.strip()]  # fmt: skip
    assert len(costs) >= 2 and costs == sorted(costs)
    assert "(fixed)" in text
    # then what bound the pass in the run, every busy resource with its cycles
    why = text.split("what bound each pass in this run")[1]
    assert "fw: bound: " in why and "compute " in why and "DRAM " in why


def test_cli_mapper_flag_reaches_the_simulator(tmp_path):
    """``--mapper fixed`` gives the fixed mapping's cycles, the default the searched ones."""
    import json

    from sparsim.simulator.cli import main

    spec = load_spec("sat")
    totals = {}
    for mode in ("fixed", "search"):
        out = tmp_path / f"{mode}.json"
        assert main(["run", "--accel", "sat", "--workload", "llama2_7b_decode", "--mapper", mode,
                     "--json", str(out)]) == 0  # fmt: skip
        totals[mode] = sum(r["cycles"] for r in json.loads(out.read_text())["layers"])
        expected = simulate(get_workload("llama2_7b_decode"), spec, mapper=mode)
        assert totals[mode] == sum(r.cycles for r in expected.layers)
    assert totals["search"] < totals["fixed"]


@pytest.mark.parametrize("name", ["sat", "dense_ws_128x128", "mobile_npu"])
def test_floor_pick_equals_pricing_every_candidate(name: str) -> None:
    """``mapper._at_floor`` (the latency pick read off the candidates whose ports and DRAM
    keep up with compute) against pricing every fitting candidate and taking the first by
    (estimate, DRAM bytes, least exposed), on every matrix problem of ResNet-18 training over
    a slow, a moderate and a fast DRAM: some orientations reach the floor, others are
    priced."""
    base = load_spec(name)
    workload = get_workload("resnet18").with_weight_sparsity(NM(n=2, m=8, transposable=True))
    problems = {replace(p, layer="", fused_with="")
                for p in lower(workload.with_phase(Phase.TRAINING)) if p.is_matrix}  # fmt: skip
    floors, priced_only = 0, 0
    for gb_per_s in (4.8, 19.2, 1e4):
        spec = replace(base, dram=replace(base.dram, bandwidth_gb_per_s=gb_per_s))
        for problem in problems:
            view = nest_view(problem)
            axes = _axes(view, problem)
            for orient, mp, cycles in orientations(problem, spec):
                mv = _moves(view, mp, spec, (False, False), axes, int(cycles.sum()),
                            _k_compute(orient, mp, cycles, problem, spec))  # fmt: skip
                pick = _at_floor(view, spec, "latency", mv)
                costs = _costs(view, spec, "latency", mv)
                priced = _best_tiling(view, costs, mv, axes)
                if pick is None:
                    priced_only += 1
                else:
                    floors += 1
                    assert priced == (_tiling_at(view, mv, pick, axes), mv.compute_at(pick))
    assert floors > 0 and priced_only > 0
