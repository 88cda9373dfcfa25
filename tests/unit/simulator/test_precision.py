"""Per-tensor precision in the simulator (simulator/precision.py): bytes, MAC energy and
dequantization follow each tensor's dtype; the KV cache is charged at its own dtype."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sparsim.accel.energy import DEFAULT_ENERGY, mac_pj
from sparsim.simulator.lower import DEQUANT_OP, lower_layer
from sparsim.simulator.precision import problem_precision, spec_for
from sparsim.simulator.run import simulate
from sparsim.workloads.dtypes import Quantization
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Linear, MatMul

from tests.unit.simulator.conftest import make_spec

_K, _N = 256, 128  # the linear layer: 256 x 128 weights
_HEADS, _KV, _HEAD_DIM = 2, 64, 16  # Q Kᵀ of one token: K cache 2 x 16 x 64


def _workload(**dtypes) -> Workload:
    layers = (
        Layer(name="qk", op=MatMul(batch=_HEADS, m=1, n=_KV, k=_HEAD_DIM)),
        Layer(name="fc", op=Linear(tokens=1, in_features=_K, out_features=_N, bias=False)),
    )
    return Workload(name="w", layers=layers).with_precision(**dtypes)


def _by(result, layer: str, op: str | None = None):
    return next(r for r in result.layers if r.layer == layer and (op is None or r.op == op))


def _dram(row, stream: str) -> int:
    return dict(row.bytes_by_level)[f"dram.{stream}"]


def test_kv_cache_is_charged_at_its_own_dtype_not_the_weights():
    # a spec with int4 weights and int8 activations: K is made of activations, 1 byte each
    spec = make_spec()
    spec = replace(spec, precision=replace(spec.precision, weight="int4"))
    kv_elements = _HEADS * _KV * _HEAD_DIM  # 2,048
    assert _dram(_by(simulate(_workload(), spec), "qk"), "weight") == kv_elements
    fp16_kv = simulate(_workload(kv="fp16"), spec)
    assert _dram(_by(fp16_kv, "qk"), "weight") == 2 * kv_elements
    # the linear layer keeps the spec's int4 weights: 256 x 128 / 2 bytes
    assert _dram(_by(fp16_kv, "fc"), "weight") == _K * _N // 2


def test_weight_bytes_carry_group_scales_and_zero_points():
    spec = make_spec()
    q = Quantization(group_size=128, zero_point=True)
    result = simulate(_workload(weight="int4", quant=q), spec)
    # by hand: 32,768 weights x 4 bits + 256 groups x (16-bit scale + 4-bit zero point)
    assert _dram(_by(result, "fc", "Linear"), "weight") == (_K * _N * 4 + 256 * 20) // 8  # 17,024
    assert _dram(_by(result, "qk"), "weight") == _HEADS * _KV * _HEAD_DIM  # KV untouched


def test_dequantization_runs_on_the_vector_unit_unless_the_format_is_native():
    q = Quantization(group_size=64)
    plain = make_spec(lanes=16)
    result = simulate(_workload(weight="int4", quant=q), plain)
    dq = _by(result, "fc", DEQUANT_OP)
    assert dq.fused_with == "fc"
    # unpack + scale: 2 vector ops per stored weight (simulator.lower.DEQUANT_FLOPS)
    assert dict(dq.energy_pj)["vector"] == pytest.approx(
        2 * _K * _N * DEFAULT_ENERGY.vector_flop.pj)
    fc = _by(result, "fc", "Linear")
    # the multipliers see the spec's int8 after dequantization: int8 x int8 MACs
    assert dict(fc.energy_pj)["mac"] == pytest.approx(_K * _N * mac_pj(DEFAULT_ENERGY, "int8",
                                                                         "int8"))  # fmt: skip
    native = replace(plain, precision=replace(plain.precision, native_weights=("int4",)))
    result = simulate(_workload(weight="int4", quant=q), native)
    assert not [r for r in result.layers if r.op == DEQUANT_OP]
    fc = _by(result, "fc", "Linear")
    # native int4 x int8 MACs: 0.1 + 0.2 x 32 / 64 = 0.2 pJ each (accel.energy.mac_pj)
    assert dict(fc.energy_pj)["mac"] == pytest.approx(_K * _N * 0.2)


def test_an_explicit_spec_precision_changes_nothing():
    spec = make_spec()
    base = simulate(_workload(), spec)
    same = simulate(_workload(weight="int8", act="int8", psum="int32"), spec)
    rows = [r for r in same.layers if r.op != DEQUANT_OP]
    assert not [r for r in same.layers if r.op == DEQUANT_OP]  # int8 is the spec's own
    assert [(r.cycles, r.bytes_by_level, r.energy_pj) for r in rows] == [
        (r.cycles, r.bytes_by_level, r.energy_pj) for r in base.layers]


def test_unset_dtypes_plan_on_the_spec_itself():
    spec = make_spec()
    fc = _workload().layers[1]
    problem = lower_layer(fc, Phase.INFERENCE)[0]
    assert spec_for(spec, problem_precision(fc, problem, spec.precision)) is spec
