"""Speed of the functional model's sparse kernels on a 1024 x 1024 x 1024 int8 GEMM.

Run ``python -m benchmarks.functional``. First names the machine: CPU model, the CPU and ISA
extensions numba compiles for, which multiply-add the N:M kernel uses, numba's thread count and
the CPUs this process may run on, the BLAS numpy calls (threadpoolctl if installed, else numpy's
build config) and any ``OPENBLAS_*``/``OMP_*`` settings, and the load average. Then prints
medians (with min and max: the machine may be shared) for the 2:4 and 2:8 N:M kernels, the 50%
group-sparse kernel (groups of 4 rows), the numpy reference (2:4), numpy int32 dense matmul and
float32 BLAS dense matmul (what a user of this machine gets), all of the same shape in the same
run, with the ratios; each kernel's first call (JIT compile, or load from numba's cache) apart;
peak memory; load average after. For a cold JIT time: ``NUMBA_CACHE_DIR=$(mktemp -d) python -m
...``; to pin to one core: ``taskset -c 0 python -m ...``.

Targets (issue 3): every sparse kernel >= 100x faster than numpy int32 dense matmul, and no
slower than float32 BLAS dense matmul.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import llvmlite.binding as llvm
import numba
import numpy as np
from numba.core.dispatcher import Dispatcher
from sparsim.accel import _simd, functional, reference
from sparsim.accel.formats import GroupTensor, NMTensor, compress_group, compress_nm
from sparsim.workloads.pruning import prune_group, prune_nm

SPEEDUP_VS_INT32_TARGET = 100.0


ISA_PREFIXES = ("sse", "ssse", "avx", "fma", "f16c", "bmi", "amx", "neon", "sve", "dotprod")
"""Target features worth naming: the vector ISA extensions (x86 and Arm)."""


def cpu_model() -> str:
    """The CPU model string (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith(("model name", "Model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> str:
    """The BLAS numpy calls: threadpoolctl's view (library, version, threads, core type) if it
    is installed, else numpy's build config."""
    try:
        from threadpoolctl import threadpool_info  # optional: not a dependency

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        return "; ".join(
            f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, "
            f"{p.get('num_threads')} threads)" for p in pools
        )  # fmt: skip
    except ImportError:
        config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{config.get('name')} {config.get('version')} (numpy build config)"


def machine_lines() -> list[str]:
    features = _simd.target_features().split(",")
    isa = sorted(f[1:] for f in features if f.startswith("+") and f[1:].startswith(ISA_PREFIXES))
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}
    target = getattr(numba.core.config, "CPU_NAME", None) or llvm.get_host_cpu_name()
    return [
        f"CPU: {cpu_model()}; numba targets {target}",
        f"ISA extensions numba compiles for: {' '.join(isa) or 'none'}",
        f"N:M multiply-add: {_simd.madd_path()}",
        f"threads: numba {numba.get_num_threads()}, CPUs usable "
        f"{len(os.sched_getaffinity(0))} of {os.cpu_count()}",
        f"BLAS (numpy {np.__version__}): {blas_info()}; env {env or 'none'}",
        f"load average before: {os.getloadavg()}",
    ]


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds over the timed calls: the median (what the targets use), min and max."""

    median: float
    low: float
    high: float


def time_calls(fn: Callable[[], object], repeats: int) -> Timing:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return Timing(statistics.median(times), min(times), max(times))


def first_call(name: str, dispatcher: Dispatcher, fn: Callable[[], np.ndarray]) -> np.ndarray:
    """Time the first call and say whether numba compiled the kernel or loaded it from its cache
    (the first parallel call also starts numba's thread pool)."""
    hits, signatures = sum(dispatcher.stats.cache_hits.values()), len(dispatcher.signatures)
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    if sum(dispatcher.stats.cache_hits.values()) > hits:
        source = "cache load"
    elif len(dispatcher.signatures) > signatures:
        source = "JIT compile"
    else:
        source = "already compiled for these types"
    print(f"  first call {name:<16}{seconds * 1e3:9.1f} ms ({source})")
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Operands:
    """One random int8 GEMM ``W @ X``: X, W pruned and compressed per sparse kernel, and W, X
    as int32 and float32 for the dense baselines."""

    x: np.ndarray
    nm24: NMTensor
    nm28: NMTensor
    group: GroupTensor
    w32: np.ndarray
    x32: np.ndarray
    w_f32: np.ndarray
    x_f32: np.ndarray


def operands(size: int, seed: int) -> Operands:
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, (size, size), dtype=np.int8)
    x = rng.integers(-128, 128, (size, size), dtype=np.int8)
    return Operands(
        x=x,
        nm24=compress_nm(prune_nm(w, 2, 4), 2, 4),
        nm28=compress_nm(prune_nm(w, 2, 8), 2, 8),
        group=compress_group(prune_group(w, 4, 0.5), 4),
        w32=w.astype(np.int32),
        x32=x.astype(np.int32),
        w_f32=w.astype(np.float32),
        x_f32=x.astype(np.float32),
    )


def sparse_runs(ops: Operands) -> dict[str, tuple[Dispatcher, Callable[[], np.ndarray]]]:
    """Each sparse path: the numba dispatcher it ends in, and a call through the public API."""
    x, nm24, nm28, group = ops.x, ops.nm24, ops.nm28, ops.group
    return {
        "nm_gemm 2:4": (
            functional._nm_gemm,
            lambda: functional.nm_gemm(nm24.values, nm24.indices, x, 4),
        ),
        "nm_gemm 2:8": (
            functional._nm_gemm,
            lambda: functional.nm_gemm(nm28.values, nm28.indices, x, 8),
        ),
        "group_gemm 50%": (
            functional._group_gemm,
            lambda: functional.group_gemm(
                group.values, group.col_idx, group.col_ptr, group.size, x
            ),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="M = N = K of the GEMM")
    parser.add_argument("--repeats", type=int, default=9, help="timed calls per fast kernel")
    parser.add_argument("--slow-repeats", type=int, default=3, help="timed calls, numpy int paths")
    args = parser.parse_args()
    print("\n".join(machine_lines()))
    print(f"GEMM {args.size}^3 int8")
    ops = operands(args.size, seed=0)
    runs = sparse_runs(ops)
    outputs = {name: first_call(name, kernel, fn) for name, (kernel, fn) in runs.items()}
    tracemalloc.start()  # after the first calls: tracing slows numba's cache loading
    nm24, x = ops.nm24, ops.x
    ref_out = reference.nm_gemm(nm24.values, nm24.indices, x, 4)
    if not np.array_equal(ref_out, outputs["nm_gemm 2:4"]):
        raise SystemExit("nm_gemm 2:4 differs from its numpy reference")

    timings = {name: time_calls(fn, args.repeats) for name, (_, fn) in runs.items()}
    timings["reference nm_gemm 2:4"] = time_calls(
        lambda: reference.nm_gemm(nm24.values, nm24.indices, x, 4), args.slow_repeats
    )
    timings["numpy int32 dense"] = time_calls(lambda: ops.w32 @ ops.x32, args.slow_repeats)
    timings["float32 BLAS dense"] = time_calls(lambda: ops.w_f32 @ ops.x_f32, args.repeats)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    report(timings, runs)
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak traced numpy/Python memory of the timed runs: {peak_bytes / 2**20:.1f} MiB; "
        f"peak RSS (incl. numba's allocations): {maxrss_mib:.1f} MiB"
    )
    print(f"load average after: {os.getloadavg()}")


def report(timings: dict[str, Timing], runs: dict) -> None:
    """One line per path: median (min-max) ms, ratios of medians to the two dense baselines."""
    int32_s, blas_s = timings["numpy int32 dense"].median, timings["float32 BLAS dense"].median
    print(f"{'path':<24}{'median ms':>11}{'(min-max)':>17}{'x vs int32':>12}"
          f"{'x vs f32 BLAS':>15}  targets")  # fmt: skip
    for name, t in timings.items():
        vs_int32, vs_blas = int32_s / t.median, blas_s / t.median
        verdict = ""
        if name in runs:
            ok = vs_int32 >= SPEEDUP_VS_INT32_TARGET and vs_blas >= 1.0
            verdict = "met" if ok else "MISSED"
        spread = f"({t.low * 1e3:.1f}-{t.high * 1e3:.1f})"
        print(f"{name:<24}{t.median * 1e3:11.2f}{spread:>17}{vs_int32:12.1f}{vs_blas:15.2f}"
              f"  {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
