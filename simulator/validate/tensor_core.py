"""2:4 sparse tensor cores on the A100-class template (``configs/sparse_tensor_core.yaml``).

Source digest (``PAPERS.md``): NVIDIA's A100 whitepaper gives 2:4 sparsity twice the dense math
peak (312 vs 624 FP16 TFLOPS); cuSPARSELt/TensorRT posts and PyTorch's semi-structured
sparsity tutorials measure large GEMMs well below that, about 1.3-1.7x; a single-token product
gains at most the weight-byte ratio. Tolerances are those bounds, fixed before running.

Weight-byte ratio of an 8192 x 8192 FP16 weight, by hand: dense 8192 * 8192 * 2 B =
134,217,728 B; 2:4 keeps half the values (67,108,864 B) plus two 2-bit indices per group of 4
(4 bits per 4 weights: 8192 * 8192 / 8 = 8,388,608 B), 75,497,472 B in all: 16/9 = 1.778x.
"""

from __future__ import annotations

from functools import cache

from sparsim.simulator.validate._common import gemm_workload, run, shipped_spec
from sparsim.simulator.validate.claim import AtMost, Between, Claim, Config
from sparsim.workloads.sparsity import NM

__all__ = ["CLAIMS", "speedup_2of4"]

_SOURCE = ("NVIDIA A100 whitepaper (2x sparse math peak); cuSPARSELt/TensorRT blog posts and "
           "PyTorch semi-structured sparsity measurements (digest: PAPERS.md)")  # fmt: skip
_BYTE_RATIO = 134_217_728 / (67_108_864 + 8_388_608)  # module docstring: 16/9
_MISS_MEASURED = (
    "sparsim's tensor core reaches its 2:4 peak whenever the SM's ports keep up: it has no "
    "sparse-kernel overheads (metadata decode and operand selection, the compressed operand's "
    "shared-memory layout, lower occupancy of the sparse kernels) and one on-chip level (shared "
    "memory and registers merged) with assumed port widths"
)


@cache
def speedup_2of4(m: int, n: int, k: int) -> float:
    """Dense over 2:4 cycles of one FP16 ``(m x k) @ (k x n)`` GEMM on the A100 template."""
    spec, dense = shipped_spec("sparse_tensor_core"), gemm_workload(m, n, k)
    sparse = dense.with_weight_sparsity(NM(n=2, m=4))
    return run(dense, spec).cycles / run(sparse, spec).cycles


def _config(m: int, what: str) -> Config:
    return Config(accel="sparse_tensor_core", workload=f"GEMM m={m} n=8192 k=8192 FP16",
                  sparsity="2:4 vs dense", options=what)  # fmt: skip


_LARGE = _config(8192, "speedup, 8192^3")
"""The large compute-bound GEMM both of its claims simulate (one cached run)."""


def _large_speedup() -> float:
    return speedup_2of4(8192, 8192, 8192)


CLAIMS = (
    Claim(
        key="tensor-core-2of4-ceiling",
        claim="2:4 sparsity at most doubles a large GEMM's speed (the 2x sparse math peak)",
        source=_SOURCE,
        config=_LARGE,
        simulate=_large_speedup,
        target=AtMost(value=2.0),
    ),
    Claim(
        key="tensor-core-2of4-large-gemm",
        claim="a large compute-bound GEMM runs 1.3-1.7x faster with 2:4 weights (measured)",
        source=_SOURCE,
        config=_LARGE,
        simulate=_large_speedup,
        target=Between(low=1.3, high=1.7),
        expected_miss=_MISS_MEASURED,
    ),
    Claim(
        key="tensor-core-2of4-single-token",
        claim="a single-token product gains at most the weight-byte ratio (16/9 for FP16 2:4)",
        source=_SOURCE + "; the ratio worked by hand (module docstring)",
        config=_config(1, "speedup, one token"),
        simulate=lambda: speedup_2of4(1, 8192, 8192),
        target=AtMost(value=_BYTE_RATIO),
    ),
)
