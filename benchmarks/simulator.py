"""Simulator speed and memory against the project's targets: ``python -m benchmarks.simulator``.

Times (median over repeats, after a first call that is printed too) the analytical engine on
a 1024³ GEMM, ResNet-50 inference and a ResNet-50 training step, and the event engine on
ResNet-50 inference, all with transposable 2:8 weights on
``configs/sat.yaml``; then the peak memory of a training step of every zoo model, each in a
fresh process (traced Python heap, numpy included, and the process's peak RSS). Each time is
also printed as a ratio to a 1024x1024 float32 numpy matmul timed in the same run, so numbers
compare across noisy machines. Prints PASS/FAIL per target and exits 1 if any target fails.

Every timed call gets a design it has not seen (the spec renamed, its DRAM latency nudged so
the mapper's cache, keyed by the spec's fields, misses too), as in design-space exploration
where each point is new, so no cache can flatter the numbers; the ``warm`` column shows a
repeated call on one design (the cache's best case) for comparison. The first cases run the
fixed mapping (``--mapper fixed``, the targets set before the mapper existed); the mapper's
cases (ResNet-50 and BERT-base inference with ``search``) print the fixed mapping's median on
the same designs beside them, and their peak traced memory.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from sparsim.accel.loader import load_spec
from sparsim.accel.spec import AcceleratorSpec
from sparsim.simulator.run import simulate
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Gemm
from sparsim.workloads.registry import get_workload, list_models
from sparsim.workloads.sparsity import NM

PRUNING = NM(n=2, m=8, transposable=True)
PEAK_MEMORY_TARGET_MB = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Timed:
    """One timed case: its target, the first call and the median of the repeats."""

    name: str
    target_s: float
    first_s: float
    median_s: float
    warm_s: float
    fixed_s: float | None = None
    peak_mb: float | None = None

    @property
    def ok(self) -> bool:
        return self.median_s < self.target_s


def _median_seconds(fn: Callable[[int], object], repeats: int) -> tuple[float, float]:
    """(first call, median of ``repeats`` further calls) in seconds, by ``perf_counter``;
    call ``i`` gets ``i`` (the design variant to use)."""
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return times[0], statistics.median(times[1:])


_designs = iter(range(1, 1 << 30))


def _fresh(spec: AcceleratorSpec, i: int) -> AcceleratorSpec:
    """A design the simulator has not seen yet: a new name and a DRAM latency never used
    before (``i`` is unused: every call draws the next one)."""
    nudge = next(_designs)
    dram = replace(spec.dram, latency_cycles=spec.dram.latency_cycles + nudge)
    return replace(spec, name=f"{spec.name}#dse{nudge}", dram=dram)


def _baseline_seconds(repeats: int) -> float:
    """Median time of a 1024x1024 float32 matmul (seeded data): the machine's yardstick."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024), dtype=np.float32)
    b = rng.standard_normal((1024, 1024), dtype=np.float32)
    return _median_seconds(lambda _: a @ b, repeats)[1]


def _gemm_1024() -> Workload:
    layer = Layer(name="gemm", op=Gemm(m=1024, n=1024, k=1024), weight_sparsity=PRUNING)
    return Workload(name="gemm1024", layers=(layer,))


def _cases() -> list[tuple[str, float, Workload, str, int, str]]:
    """(name, target seconds, workload, engine, repeats, mapper) per timed case."""
    resnet = get_workload("resnet50").with_weight_sparsity(PRUNING)
    bert = get_workload("bert_base").with_weight_sparsity(PRUNING)
    return [
        ("analytical 1024^3 GEMM", 0.002, _gemm_1024(), "analytical", 50, "fixed"),
        ("analytical ResNet-50 inference", 0.020, resnet, "analytical", 10, "fixed"),
        ("analytical ResNet-50 training step", 0.060, resnet.with_phase(Phase.TRAINING),
         "analytical", 5, "fixed"),
        ("event ResNet-50 inference", 3.0, resnet, "event", 2, "fixed"),
        ("mapper search ResNet-50 inference", 0.050, resnet, "analytical", 10, "search"),
        ("mapper search BERT-base inference", 0.050, bert, "analytical", 10, "search"),
    ]


def _peak_mb(fn: Callable[[], object]) -> float:
    """Peak traced Python heap (numpy included) of one call, in MB."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def _time_cases(spec: AcceleratorSpec, scale: float) -> list[Timed]:
    out = []
    for name, target, workload, engine, repeats, mapper in _cases():
        n = max(1, round(repeats * scale))

        def fresh(i: int, w: Workload = workload, e: str = engine, m: str = mapper) -> object:
            return simulate(w, _fresh(spec, i), engine=e, mapper=m)

        def warm(_: int, w: Workload = workload, e: str = engine, m: str = mapper) -> object:
            return simulate(w, spec, engine=e, mapper=m)

        def fixed(i: int, w: Workload = workload, e: str = engine) -> object:
            return simulate(w, _fresh(spec, i), engine=e, mapper="fixed")

        first, median = _median_seconds(fresh, n)
        warm_s = _median_seconds(warm, n)[1]
        extra = {}
        if mapper == "search":
            extra = {"fixed_s": _median_seconds(fixed, n)[1], "peak_mb": _peak_mb(lambda: fresh(0))}
        out.append(Timed(name=name, target_s=target, first_s=first, median_s=median,
                         warm_s=warm_s, **extra))  # fmt: skip
    return out


def _rss_mb() -> float:
    """This process's peak resident set so far (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_of(model: str) -> tuple[float, float]:
    """(peak traced MB while simulating, process peak RSS MB) of a 2:8 training step of
    ``model`` on ``sat``; run in a fresh process so nothing is cached or left over."""
    spec = load_spec("sat")
    workload = get_workload(model).with_weight_sparsity(PRUNING).with_phase(Phase.TRAINING)
    tracemalloc.start()
    simulate(workload, spec)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return traced, _rss_mb()


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _print_times(timed: list[Timed], baseline_s: float) -> bool:
    print(f"{'case':36} {'1st ms':>9} {'median ms':>10} {'x matmul':>9} {'warm ms':>9} "
          f"{'target ms':>10} {'fixed ms':>9} {'peak MB':>8}")
    for t in timed:
        fixed = f"{1e3 * t.fixed_s:9.2f}" if t.fixed_s is not None else f"{'-':>9}"
        peak = f"{t.peak_mb:8.1f}" if t.peak_mb is not None else f"{'-':>8}"
        print(
            f"{t.name:36} {1e3 * t.first_s:9.2f} {1e3 * t.median_s:10.2f} "
            f"{t.median_s / baseline_s:9.2f} {1e3 * t.warm_s:9.2f} {1e3 * t.target_s:10.0f} "
            f"{fixed} {peak}  {_verdict(t.ok)}"
        )
    return all(t.ok for t in timed)


def _print_memory() -> bool:
    print(f"peak memory, training step with 2:8 weights (target < {PEAK_MEMORY_TARGET_MB:g} MB)")
    print(f"{'model':20} {'traced MB':>10} {'process max RSS MB':>19}")
    ok = True
    spawn = multiprocessing.get_context("spawn")
    for name in list_models():  # one at a time: the machine's cores are shared
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            traced, rss = pool.submit(_memory_of, name).result()
        passed = traced < PEAK_MEMORY_TARGET_MB and rss < PEAK_MEMORY_TARGET_MB
        ok &= passed
        print(f"{name:20} {traced:10.1f} {rss:19.1f}  {_verdict(passed)}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.simulator", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every repeat count")
    args = parser.parse_args(argv)
    spec = load_spec("sat")
    load1, load5, load15 = os.getloadavg()
    print(f"load average {load1:.2f} {load5:.2f} {load15:.2f} on {os.cpu_count()} CPUs")
    baseline_s = _baseline_seconds(max(3, round(20 * args.scale)))
    print(f"baseline: numpy 1024x1024 float32 matmul {1e3 * baseline_s:.2f} ms (median)\n")
    times_ok = _print_times(_time_cases(spec, args.scale), baseline_s)
    print()
    memory_ok = _print_memory()
    print(f"\noverall: {_verdict(times_ok and memory_ok)}")
    return 0 if times_ok and memory_ok else 1


if __name__ == "__main__":
    sys.exit(main())
