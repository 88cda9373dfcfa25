"""Dtype table, group quantization overheads, per-tensor precision keys and run options."""

from __future__ import annotations

from pathlib import Path

import pytest
from sparsim.workloads.dtypes import DTYPES, Quantization, dtype_bits, significand_bits
from sparsim.workloads.layer import Layer, Workload
from sparsim.workloads.ops import Gemm, Linear, MatMul, Vector
from sparsim.workloads.precision_options import apply_precision_options
from sparsim.workloads.yaml_workload import load_workload_yaml
from sparsim.workloads.yamlio import ConfigError


def test_widths_follow_the_formats():
    # two's-complement ints of their width; OCP FP8 (arXiv 2209.05433): E4M3 3 mantissa bits,
    # E5M2 2; IEEE binary16 10 mantissa bits, bfloat16 7 (significand = mantissa + hidden bit)
    assert [dtype_bits(d) for d in DTYPES] == [2, 4, 8, 16, 32, 8, 8, 16, 16, 32]
    assert [significand_bits(d) for d in ("fp8_e4m3", "fp8_e5m2", "fp16", "bf16", "fp32")] == [
        4, 3, 11, 8, 24]  # fmt: skip
    with pytest.raises(ValueError, match="unknown dtype 'fp8'; allowed: int2, int4"):
        dtype_bits("fp8")


def test_quantization_overhead_per_stored_weight():
    # by hand: an fp16 scale per 128 weights = 16 / 128 bits; with a 4-bit zero point 20 / 128
    assert Quantization(group_size=128).overhead_bits(4) == 16 / 128
    assert Quantization(group_size=128, zero_point=True).overhead_bits(4) == 20 / 128
    assert Quantization(group_size=64, scale_dtype="fp32").overhead_bits(2) == 32 / 64
    with pytest.raises(ValueError, match="group_size must be one of 16, 32"):
        Quantization(group_size=100)


def _attention_like() -> Workload:
    return Workload(name="w", layers=(
        Layer(name="fc", op=Linear(tokens=1, in_features=8, out_features=8)),
        Layer(name="qk", op=MatMul(batch=2, m=1, n=16, k=4)),
        Layer(name="sm", op=Vector(kind="softmax", elements=32)),
    ))  # fmt: skip


def test_with_precision_sets_each_tensor_where_it_exists():
    q = Quantization(group_size=64)
    w = _attention_like().with_precision(weight="int4", kv="fp8_e5m2", act="fp16", quant=q)
    fc, qk, sm = w.layers
    assert (fc.weight_dtype, fc.kv_dtype, fc.act_dtype, fc.weight_quant) == ("int4", None,
                                                                             "fp16", q)  # fmt: skip
    assert (qk.weight_dtype, qk.kv_dtype, qk.weight_quant) == (None, "fp8_e5m2", None)
    assert (sm.weight_dtype, sm.act_dtype, sm.psum_dtype) == (None, "fp16", None)


def test_run_options_set_dtypes_and_name_bad_ones():
    w = apply_precision_options(_attention_like(), {"--kv-dtype": "fp16", "--weight-dtype": None,
                                                    "--quant-group": 32})  # fmt: skip
    assert w.layers[1].kv_dtype == "fp16"
    assert w.layers[0].weight_quant == Quantization(group_size=32)
    with pytest.raises(ConfigError) as err:
        apply_precision_options(_attention_like(), {"--kv-dtype": "fp8", "--act-dtype": "int3",
                                                    "--scale-dtype": "int4"})  # fmt: skip
    lines = str(err.value).splitlines()
    assert lines[0].startswith("command line: --act-dtype: must be one of int2, int4, int8, "
                               "int16, int32, fp8_e4m3, fp8_e5m2, fp16, bf16, fp32, not 'int3'")
    assert lines[1].startswith("command line: --kv-dtype: must be one of int2")
    assert lines[2].startswith("command line: --scale-dtype: must be one of fp8_e4m3, fp8_e5m2, "
                               "fp16, bf16, fp32, int8, not 'int4'")  # fmt: skip


def test_workload_yaml_per_layer_precision_keys(tmp_path: Path):
    path = tmp_path / "w.yaml"
    path.write_text(
        "name: w\nlayers:\n"
        "  - name: fc\n    gemm: {m: 1, n: 8, k: 16}\n    weight_dtype: int4\n"
        "    weight_quant: {group_size: 64, zero_point: true}\n    psum_dtype: fp32\n"
        "  - name: qk\n    matmul: {batch: 1, m: 1, n: 8, k: 4}\n    kv_dtype: fp8_e4m3\n"
    )
    fc, qk = load_workload_yaml(path).layers
    assert (fc.weight_dtype, fc.psum_dtype) == ("int4", "fp32")
    assert fc.weight_quant == Quantization(group_size=64, zero_point=True)
    assert qk.kv_dtype == "fp8_e4m3"
    path.write_text(
        "name: w\nlayers:\n  - name: fc\n    gemm: {m: 1, n: 8, k: 16}\n    grad_dtype: fp9\n"
        "    weight_quant: {group_size: 100, scale: fp16}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_workload_yaml(path)
    text = str(err.value)
    assert "layers[0].grad_dtype: must be one of int2, int4, int8" in text
    assert "layers[0].weight_quant.scale: unknown key; did you mean 'scale_dtype'?" in text
    assert "layers[0].weight_quant.group_size: must be one of 16, 32, 64, 128" in text


def test_layer_rejects_an_unknown_dtype_from_python():
    with pytest.raises(ValueError, match=r"psum_dtype must be one of int2, .*not 'int64'"):
        Layer(name="g", op=Gemm(m=1, n=1, k=1), psum_dtype="int64")
