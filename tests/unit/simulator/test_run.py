"""``simulate`` end to end on small training runs whose every pass is worked out by hand.

Spec (``conftest.make_spec``): 4 x 4 ``os`` array, ``P = 2`` multipliers per PE, 16 vector
lanes, 1 GiB buffers, DRAM of 5e6 bytes per cycle with no latency, so every transfer takes one
cycle and a compute-bound pass costs ``1 (first load) + compute + 1 (last store)`` (perf.py).
Compute of ``T`` back-to-back ``os`` tiles streaming ``s`` steps each (tile.py):
``(s + 3 + 3 + 4) + (T - 1) * max(s, 4)``; ``s = ceil(k / k_per_step)``, ``k_per_step`` = 2
dense and ``(2 // 2) * 8 = 8`` in 2:8 mode; rows hold the GEMM ``n``, columns its ``m``.
"""

from __future__ import annotations

import gc
import threading

from sparsim.accel.loader import load_spec
from sparsim.simulator.results import Pass
from sparsim.simulator.run import collector_paused, simulate
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Conv2d
from sparsim.workloads.sparsity import NM, Unstructured

from tests.unit.simulator.conftest import gemm_workload, make_spec


def _dram(layer) -> dict[str, int]:
    return {k: v for k, v in layer.bytes_by_level if k.startswith("dram.") and v}


def test_nm_training_run_by_hand():
    # GEMM m=40 tokens, n=24 outputs, k=64 inputs; W (k x n = 64 x 24, 1536 int8 weights)
    # transposable 2:8, so FW and BW_DATA run in 2:8 mode, BW_WEIGHT dense.
    spec = make_spec(multipliers=2, nm=((2, 8),), transposable=True)
    w = gemm_workload(40, 24, 64, weight_sparsity=NM(n=2, m=8, transposable=True),
                      phase=Phase.TRAINING)  # fmt: skip
    fw, bw_data, bw_weight, update, pregen = simulate(w, spec).layers
    passes = [(r.pass_, r.op) for r in (fw, bw_data, bw_weight, update, pregen)]
    assert passes == [(Pass.FW, "Gemm"), (Pass.BW_DATA, "Gemm"), (Pass.BW_WEIGHT, "Gemm"),
                      (Pass.VECTOR, "optimizer"), (Pass.PREGEN, "pregen")]  # fmt: skip
    # Every matrix pass dense: 40 * 24 * 64 MACs on 32 multipliers, the same 1932 cycles:
    #   FW (40, 24, 64): 6 x 10 = 60 tiles of 32 steps: 42 + 59 * 32 + 2 = 1932
    #   BW_DATA (40, 64, 24): 16 x 10 = 160 tiles of 12 steps: 22 + 159 * 12 + 2 = 1932
    #   BW_WEIGHT (64, 24, 40): 6 x 16 = 96 tiles of 20 steps: 30 + 95 * 20 + 2 = 1932
    assert [r.dense_cycles for r in (fw, bw_data, bw_weight)] == [1932, 1932, 1932]
    # 2:8: FW 60 tiles of 64 / 8 = 8 steps: 18 + 59 * 8 + 2 = 492; BW_DATA 160 tiles of
    # 24 / 8 = 3 steps, each later one held to the 4-row output spacing: 13 + 159 * 4 + 2 = 651
    assert [r.cycles for r in (fw, bw_data, bw_weight)] == [492, 651, 1932]
    assert [r.compute_cycles for r in (fw, bw_data, bw_weight)] == [490, 649, 1930]
    assert [r.bound for r in (fw, bw_data, bw_weight)] == ["compute"] * 3
    assert [r.effective_macs for r in (fw, bw_data, bw_weight)] == [15360, 15360, 61440]
    # DRAM, everything moved once: FW reads X (40 * 64) and W, whose 24 columns of 64 keep
    # 8 groups x 2 values = 16 bytes + 8 x 2 x 3 bits = 6 bytes of metadata; writes Y (40 * 24).
    # BW_DATA reads Wᵀ: 64 rows of 24 = 3 groups: 6 values, 18 bits -> 3 bytes (row padding).
    assert _dram(fw) == {"dram.input": 2560, "dram.weight": 24 * 16, "dram.metadata": 24 * 6,
                         "dram.output": 960}  # fmt: skip
    assert _dram(bw_data) == {"dram.input": 960, "dram.weight": 64 * 6, "dram.metadata": 64 * 3,
                              "dram.output": 2560}  # fmt: skip
    assert _dram(bw_weight) == {"dram.input": 2560, "dram.weight": 960, "dram.output": 1536}
    # Optimizer (SGD with momentum, run.py): 4 FLOPs per weight on 16 lanes: 1536 * 4 / 16
    # = 384 cycles + 2; reads weight, gradient and momentum (3 bytes per int8 weight), writes
    # weight and momentum (2 bytes).
    assert (update.cycles, update.dense_cycles) == (386, 386)
    assert _dram(update) == {"dram.input": 3 * 1536, "dram.output": 2 * 1536}
    # Pre-generation on the vector unit (no pregen unit): 2 ops per weight on 16 lanes =
    # 192 cycles + 2; reads the dense weights, writes them compressed (as FW reads them).
    assert (pregen.cycles, pregen.dense_cycles) == (194, 0)
    assert _dram(pregen) == {"dram.input": 1536, "dram.output": 24 * (16 + 6)}


def test_weight_gradient_skips_the_activations_too():
    # Half the input activations X are zero, the spec skips zero activations (balanced). X is
    # A in FW (k = 64 -> 32 kept) and in BW_WEIGHT (Xᵀ, k = 40 tokens -> 20 kept); BW_DATA's
    # A is the dense output gradient dY. Dense weights: every pass in dense mode, k_per_step 2.
    #   FW: 60 tiles of 32 / 2 = 16 steps: 26 + 59 * 16 + 2 = 972 (dense 1932, as above)
    #   BW_DATA: unchanged, 1932
    #   BW_WEIGHT: 96 tiles of 20 / 2 = 10 steps: 20 + 95 * 10 + 2 = 972
    spec = make_spec(multipliers=2, activation="skipping")
    w = gemm_workload(40, 24, 64, act_sparsity=Unstructured(density=0.5), phase=Phase.TRAINING)
    fw, bw_data, bw_weight, _update = simulate(w, spec).layers
    assert [r.cycles for r in (fw, bw_data, bw_weight)] == [972, 1932, 972]
    assert [r.dense_cycles for r in (fw, bw_data, bw_weight)] == [1932, 1932, 1932]


def test_metadata_rows_pad_to_whole_bytes():
    # 1:4 along k = 12: each of the 8 weight columns keeps 3 groups x 1 value = 3 bytes and
    # 3 x 1 x 2 = 6 index bits, padded to 1 byte (accel.bitlayout), not 6 / 8 of one.
    spec = make_spec(nm=((1, 4),))
    (layer,) = simulate(gemm_workload(4, 8, 12, weight_sparsity=NM(n=1, m=4)), spec).layers
    assert _dram(layer) == {"dram.input": 4 * 12, "dram.weight": 8 * 3, "dram.metadata": 8 * 1,
                            "dram.output": 4 * 8}  # fmt: skip


def test_simulate_restores_the_garbage_collector():
    # run.collector_paused turns Python's cyclic collector off during an analytical run and
    # must leave it as it found it: on after a run started with it on, off after one started
    # with it off (a caller's choice), and on after nested and interleaved pauses end.
    spec = make_spec(multipliers=2, nm=((2, 8),))
    w = gemm_workload(8, 8, 16)
    seen: list[bool] = []
    was = gc.isenabled()
    try:
        gc.enable()
        simulate(w, spec, mapper="fixed")
        assert gc.isenabled()
        gc.disable()
        simulate(w, spec, mapper="fixed")
        assert not gc.isenabled()
        gc.enable()
        with collector_paused():
            seen.append(gc.isenabled())
            with collector_paused():
                seen.append(gc.isenabled())
            seen.append(gc.isenabled())  # the outer pause still holds
        assert seen == [False, False, False] and gc.isenabled()
        started, release = threading.Event(), threading.Event()

        def other() -> None:
            with collector_paused():
                started.set()
                release.wait(10)

        thread = threading.Thread(target=other)
        thread.start()
        started.wait(10)
        with collector_paused():
            pass
        assert not gc.isenabled()  # the other thread's pause still holds
        release.set()
        thread.join(10)
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_conv_backward_data_keeps_the_transposable_speedup_on_sat():
    """ResNet layer1's 3x3 conv (64 -> 64 on 56x56) with 2:8t weights on ``sat`` (32 x 32
    output-stationary, 2 multipliers per PE, a 2:8 group of 8 positions per PE per cycle).
    Worked by hand: the transposed convolution reduces each dX pixel over 64 x 9 = 576
    positions: 576 / 8 = 72 cycles per output tile sparse against
    576 / 2 = 288 dense, both above the 32 cycles a 32 x 32 tile takes to drain, so close to
    the forward's 4x. (The col2im form reduced over the 64 output channels only: 8 cycles
    sparse, 32 dense, both held to the 32-cycle drain: 1.0x.)"""
    conv = Conv2d(batch=1, in_channels=64, out_channels=64, height=56, width=56, padding=(1, 1))
    layer = Layer(name="c", op=conv, weight_sparsity=NM(n=2, m=8, transposable=True))
    result = simulate(Workload(name="c", layers=(layer,), phase=Phase.TRAINING), load_spec("sat"))
    speedup = {r.pass_: r.speedup for r in result.layers}
    assert speedup[Pass.BW_DATA] > 3.0
    assert speedup[Pass.BW_DATA] <= speedup[Pass.FW] * 1.001
