"""The GPU templates (``configs/sparse_tensor_core*.yaml``): their peaks against NVIDIA's
published figures, and 2:4 speedups bounded by hand-worked ceilings on the shipped GEMM
workload (``configs/workloads/gemm_sweep.yaml``)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from sparsim.accel.configs import config_dir
from sparsim.accel.loader import load_spec
from sparsim.simulator.results import RunResult
from sparsim.simulator.run import simulate
from sparsim.workloads.layer import Layer, Workload
from sparsim.workloads.ops import Gemm
from sparsim.workloads.registry import get_workload
from sparsim.workloads.sparsity import NM

_GEMMS = Path(config_dir()) / "workloads" / "gemm_sweep.yaml"


@pytest.mark.parametrize(
    ("name", "dense_tflops"),
    # A100 whitepaper: 312 TFLOPS dense FP16 (624 with sparsity) at 1410 MHz; H100 SXM
    # datasheet: 989 TFLOPS dense FP16 (1979 with sparsity)
    [("sparse_tensor_core", 312.0), ("sparse_tensor_core_h100", 989.0)],
)
def test_peak_matches_the_published_figure(name: str, dense_tflops: float) -> None:
    """cores x PEs x multipliers x 2 FLOP x clock, dense; the 2:4 mode issues one 4-group per
    2 multipliers per clock, twice the dense MACs: the published sparse figure is 2x."""
    c = load_spec(name).compute
    tflops = c.cores * c.peak_macs_per_cycle * 2 * c.freq_mhz * 1e6 / 1e12
    assert tflops == pytest.approx(dense_tflops, rel=0.005)
    assert c.multipliers_per_pe == 2 and load_spec(name).sparsity.supports_nm(2, 4)


@cache
def _runs(name: str) -> tuple[RunResult, RunResult]:
    spec, work = load_spec(name), get_workload(str(_GEMMS))
    return simulate(work, spec), simulate(work.with_weight_sparsity(NM(n=2, m=4)), spec)


def _layer(run: RunResult, name: str):
    return next(r for r in run.layers if r.layer == name)


@pytest.mark.parametrize("name", ["sparse_tensor_core", "sparse_tensor_core_h100"])
def test_large_gemm_2to4_speedup_is_at_most_two(name: str) -> None:
    """8192^3 GEMM: 8192^3 = 549,755,813,888 MACs. The dense run cannot beat the chip's peak
    (A100: 108 x 16 x 32 x 2 = 110,592 MACs/clock, >= 4,971,026 cycles); 2:4 at best halves
    the issued MACs' time (the 2x math ceiling), so its speedup is <= 2.0 and it is no faster
    than half the dense peak time."""
    dense, sparse = (_layer(r, "gemm_8192") for r in _runs(name))
    spec = load_spec(name).compute
    peak = spec.cores * spec.peak_macs_per_cycle
    macs = 8192**3
    assert dense.cycles >= macs / peak
    assert sparse.cycles >= macs / (2 * peak)
    assert 1.0 < dense.cycles / sparse.cycles <= 2.0
    assert dense.bound != "DRAM"  # compute or on-chip bandwidth, not HBM


def test_single_token_speedup_is_at_most_the_weight_byte_ratio() -> None:
    """One token through an 8192 x 8192 FP16 weight (A100 template). Dense weight bytes:
    8192 x 8192 x 2 B = 134,217,728. 2:4: half the values, 67,108,864 B, plus metadata of
    2 indices x 2 bits per group of 4 (accel.bitlayout: ceil(log2 4) bits per kept value) =
    4 bits per 4 weights: 16,777,216 groups x 0.5 B = 8,388,608 B; total 75,497,472 B. The
    speedup of a memory-bound product is at most 134,217,728 / 75,497,472 = 16/9 = 1.778.
    Dense: at least its weight bytes / (1555 GB/s / 1410 MHz = 1102.8 B/clock) = 121,704
    cycles, and within 5% of it (the product is memory-bound, not array-bound)."""
    dense, sparse = (_layer(r, "gemv_1_token") for r in _runs("sparse_tensor_core"))
    weight_bytes, sparse_bytes = 134_217_728, 67_108_864 + 8_388_608
    assert sparse_bytes / weight_bytes == pytest.approx(9 / 16)
    assert dense.cycles / sparse.cycles <= weight_bytes / sparse_bytes
    floor = weight_bytes / (1555e9 / 1410e6)
    assert floor <= dense.cycles <= 1.05 * floor
    assert dense.bound == "DRAM" and sparse.bound == "DRAM"


def test_compute_bound_gemm_reaches_the_2x_ceiling_and_no_more() -> None:
    """The A100 template with its L2 and HBM made unlimited (ports and bandwidth 2^30 B per
    clock) and buffers large enough to hold any tile: a 4096^3 GEMM is then compute-bound.
    4096 rows over 108 cores: 38 each (the last 30). One core's 38 x 4096 x 4096 MACs on
    16 x 32 PEs x 2 multipliers take at least 38 x 4096 x 4096 / 1024 = 622,592 cycles dense
    and half that in 2:4 (4 reduction elements per PE per clock instead of 2): speedup <= 2,
    and within 5% of it once the per-core fill/drain is paid in both."""
    spec = load_spec("sparse_tensor_core")
    wide = 1 << 30
    port = {"read_bytes_per_cycle": wide, "write_bytes_per_cycle": wide}
    big = tuple((name, replace(buf, size_bytes=wide, **port)) for name, buf in spec.buffers)
    assert spec.global_buffer is not None
    unlimited = replace(
        spec, buffers=big, global_buffer=replace(spec.global_buffer, size_bytes=wide, **port),
        dram=replace(spec.dram, bandwidth_gb_per_s=1e5),
    )  # fmt: skip
    work = Workload(name="g", layers=(Layer(name="g", op=Gemm(m=4096, n=4096, k=4096)),))
    dense = simulate(work, unlimited).layers[0]
    sparse = simulate(work.with_weight_sparsity(NM(n=2, m=4)), unlimited).layers[0]
    per_core = 38 * 4096 * 4096 / 1024
    assert dense.bound == sparse.bound == "compute"
    assert dense.cycles >= per_core and sparse.cycles >= per_core / 2
    assert 1.9 <= dense.cycles / sparse.cycles <= 2.0
