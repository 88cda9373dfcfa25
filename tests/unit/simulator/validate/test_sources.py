"""The claim modules' own helpers: workloads built to the papers' numbers (worked by hand)."""

from __future__ import annotations

import pytest
from sparsim.simulator.lower import lower
from sparsim.simulator.results import LayerResult, Pass, RunResult
from sparsim.simulator.validate import sat, tpu_v1
from sparsim.workloads.layer import Phase


@pytest.mark.parametrize(
    ("app", "width", "weights"),
    [
        # Jouppi Table 1: MLP0 5 layers 20M weights: sqrt(4M) = 2000; 5 x 2000^2 = 20.0M
        (("MLP0", 5, 20e6, 200), 2000, 20_000_000),
        # LSTM1 37 layers 34M: sqrt(918,919) = 958.6 -> 959; 37 x 959^2 = 34,028,197
        (("LSTM1", 37, 34e6, 96), 959, 34_028_197),
    ],
)
def test_fc_app_matches_table_1(app, width: int, weights: int) -> None:
    w = tpu_v1.fc_app(*app)
    assert len(w.layers) == app[1]
    assert {(la.op.in_features, la.op.out_features, la.op.tokens) for la in w.layers} == {
        (width, width, app[3])
    }
    assert sum(la.op.in_features * la.op.out_features for la in w.layers) == weights


def _layer(name: str, pass_: Pass, cycles: int, bound: str, macs: int) -> LayerResult:
    return LayerResult(layer=name, op="Gemm", pass_=pass_, m=1, n=1, k=1, count=1,
                       cycles=cycles, compute_cycles=cycles, stall_cycles=0, dense_cycles=cycles,
                       utilization=1.0, dense_macs=macs, effective_macs=macs, energy_pj=(),
                       dense_energy_pj=0.0, bytes_by_level=(), bound=bound)  # fmt: skip


def test_bound_share_weighs_matrix_cycles_only() -> None:
    """Matrix layers 300 cycles DRAM-bound and 100 compute-bound: DRAM share 0.75; the
    vector layer (no MACs) is left out."""
    layers = (_layer("a", Pass.FW, 300, "DRAM", 10), _layer("b", Pass.FW, 100, "compute", 10),
              _layer("c", Pass.VECTOR, 5000, "compute", 0))  # fmt: skip
    result = RunResult(workload="w", accel="a", phase="inference", engine="analytical",
                       freq_mhz=100.0, layers=layers)  # fmt: skip
    assert tpu_v1.bound_share(result, "DRAM") == pytest.approx(0.75)
    assert tpu_v1.bound_share(result, "compute") == pytest.approx(0.25)


def test_square_stack_passes_cost_alike() -> None:
    """The 2.0x bound needs FW, BW_DATA and BW_WEIGHT to be the same 1024^3 product."""
    problems = [p for p in lower(sat.square_stack().with_phase(Phase.TRAINING)) if p.is_matrix]
    assert {p.pass_ for p in problems} == {Pass.FW, Pass.BW_DATA, Pass.BW_WEIGHT}
    assert {p.m * p.n * p.k * p.count for p in problems} == {1024**3}
    assert len(problems) == 12
