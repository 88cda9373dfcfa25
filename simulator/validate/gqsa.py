"""GQSA (C. Zeng et al., "GQSA: Group Quantization and Sparsity for Accelerating Large Language
Model Inference", arXiv:2412.17560): W4 weights with 50% group sparsity decode 2.35x faster
than 2:4 pruning and 1.26x faster than W2 (abstract; GPU). Tolerance ±15% (the issue's, fixed
before running).

Configuration (assumed where the abstract is silent): LLaMA-2-7B, one decode step with a
4,096-token KV cache, on ``configs/sparse_tensor_core.yaml`` (A100-class). The 2:4 baseline
keeps FP16 weights on the 2:4 sparse tensor cores; W2 and W4 are group-quantized with one
FP16 scale per 128 values; GQSA's 50% group sparsity is ``group16:50%`` with the template's
group skipping switched on (``sparsity.group_size: 16``: GQSA's kernels skip pruned groups,
which the shipped template, N:M only, does not). The value is the ratio of step cycles.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from sparsim.accel.spec import AcceleratorSpec
from sparsim.simulator.validate._common import run, shipped_spec
from sparsim.simulator.validate.claim import Claim, Config, Within
from sparsim.workloads.dtypes import Quantization
from sparsim.workloads.layer import Workload
from sparsim.workloads.registry import get_workload
from sparsim.workloads.sparsity import NM, Group

__all__ = ["CLAIMS", "decode_cycles"]

_SOURCE = "Zeng et al., GQSA, arXiv:2412.17560, abstract"
_GROUP = 16  # assumed: GQSA's sparsity group of 16 weights
_QUANT = Quantization(group_size=128, scale_dtype="fp16")
_MISS_W2 = (
    "decode costs its DRAM bytes here: W4 with 50% of groups of 16 kept stores 2 + 1/16 bits "
    "of values and scales per weight plus 1/16 bit of group metadata, W2 2 + 1/8 bits, so the "
    "two move nearly the same bytes (~1.05x); GQSA's 1.26x over W2 on a GPU comes from effects "
    "beyond DRAM bytes (kernel efficiency), which sparsim does not model"
)
_MISS_2OF4 = (
    "decode costs its DRAM bytes here: the 2:4 FP16 step moves 8.52 GB (weights and KV cache) "
    "against W4S50's 2.84 GB, 3.0x; sparsim comes close to that ratio (the rest: softmax and "
    "norm time, exposed first fills), where GQSA's measured 2.35x stays below it on the GPU "
    "(kernel efficiency, which sparsim does not model)"
)


def _gqsa_spec() -> AcceleratorSpec:
    spec = shipped_spec("sparse_tensor_core")
    return replace(spec, sparsity=replace(spec.sparsity, group_size=_GROUP))


def _variant(name: str) -> Workload:
    base = get_workload("llama2_7b_decode")
    if name == "2:4":
        return base.with_weight_sparsity(NM(n=2, m=4))
    if name == "W2":
        return base.with_precision(weight="int2", quant=_QUANT)
    return base.with_precision(weight="int4", quant=_QUANT).with_weight_sparsity(
        Group(size=_GROUP, density=0.5))  # fmt: skip


@cache
def decode_cycles(name: str) -> int:
    """Cycles of one decode step of variant ``name`` (``2:4``, ``W2`` or ``W4S50``)."""
    return run(_variant(name), _gqsa_spec()).cycles


def _claim(baseline: str, published: float, expected_miss: str = "") -> Claim:
    return Claim(
        key=f"gqsa-w4s50-vs-{baseline.replace(':', 'of').lower()}",
        claim=f"W4 with 50% group sparsity decodes {published}x faster than {baseline}",
        source=_SOURCE,
        config=Config(accel="sparse_tensor_core + sparsity.group_size 16 (assumed)",
                      workload="llama2_7b_decode, KV 4096",
                      sparsity=f"int4 g128 + group{_GROUP}:50% vs {baseline}",
                      options="ratio of decode-step cycles"),
        simulate=lambda: decode_cycles(baseline) / decode_cycles("W4S50"),
        target=Within(value=published, rel=0.15),
        expected_miss=expected_miss,
    )


CLAIMS = (_claim("2:4", 2.35, _MISS_2OF4), _claim("W2", 1.26, _MISS_W2))
