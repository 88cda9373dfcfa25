"""Design-space sweep throughput: ``python -m benchmarks.dse [--points N] [--workers W]``.

Sweeps ``--points`` (default 10,000) distinct designs around ``configs/sat.yaml`` (array shape,
multipliers per PE, dataflow, N:M modes, buffer size, DRAM bandwidth; seeded random sampler)
over ResNet-50 inference with transposable 2:8 weights, analytical engine and the simulator's
default settings, into a fresh store:

1. in this process with no workers (``--baseline-points`` designs): the yardstick,
2. on the local process pool of ``--workers`` (default 2) processes,
3. on a Dask ``LocalCluster`` of the same number of single-threaded worker processes.

Prints designs per second of each, the pool's ratio to the in-process baseline, the time the
full 10,000-point sweep takes at the pool's rate against the 5-minute target, peak memory (this
process and the largest worker), the CPU model and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sparsim.simulator.dse.execute import SweepSummary, run_sweep
from sparsim.simulator.dse.sweep import Sweep, sweep_from_mapping

TARGET_POINTS = 10_000
TARGET_S = 300.0


def sweep(points: int, seed: int = 0) -> Sweep:
    """``points`` designs drawn (seeded) from a 10,368-point grid around sat.yaml:
    6 rows x 6 cols x 2 multipliers x 2 dataflows x 3 N:M sets x 6 buffer sizes x 4 DRAM."""
    nm = [[{"n": 2, "m": 8}], [{"n": 2, "m": 4}, {"n": 2, "m": 8}],
          [{"n": 2, "m": 4}, {"n": 2, "m": 8}, {"n": 1, "m": 8}]]  # fmt: skip
    sizes = [262144, 524288, 1048576, 2097152, 4194304, 8388608]
    data: dict[str, Any] = {
        "name": "bench_resnet50",
        "base": "sat",
        "axes": [
            {"path": "compute.rows", "values": [8, 16, 24, 32, 48, 64]},
            {"path": "compute.cols", "values": [8, 16, 24, 32, 48, 64]},
            {"path": "compute.multipliers_per_pe", "values": [2, 4]},
            {"path": "compute.dataflow", "values": ["os", "ws"]},
            {"path": "sparsity.nm", "values": nm, "labels": ["2:8", "2:4+2:8", "all"]},
            {"name": "buffer_bytes", "tied": {f"buffers.{b}.size_bytes": sizes
                                              for b in ("weight", "input", "output")}},
            {"path": "dram.bandwidth_gb_per_s", "values": [4.8, 9.6, 19.2, 38.4]},
        ],
        "workloads": [{"model": "resnet50", "sparsity": "2:8t", "phase": "inference"}],
        "objectives": ["latency_ms", "energy_mj", "area_mm2"],
        "sampler": {"kind": "random", "samples": points, "seed": seed},
        "batch_size": 32,
    }
    return sweep_from_mapping(data, "benchmarks/dse.py")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _timed(label: str, points: int, **kwargs: Any) -> SweepSummary:
    with tempfile.TemporaryDirectory(prefix="sparsim-bench-dse-") as out:
        summary = run_sweep(sweep(points), out, progress=False, **kwargs)
    print(f"{label:<34} {summary.designs_run:>6} designs {summary.seconds:8.1f} s "
          f"{summary.designs_per_s:8.1f} designs/s")
    return summary


def _dask(points: int, workers: int) -> SweepSummary:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:  # fmt: skip
        return _timed(f"dask LocalCluster ({workers} procs)", points, scheduler=client)


def _peak_mb() -> tuple[float, float]:
    """Peak RSS of this process and of the largest finished child (``ru_maxrss``: KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, child


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dse", description=__doc__)
    parser.add_argument("--points", type=int, default=TARGET_POINTS)
    parser.add_argument("--baseline-points", type=int, default=200)
    parser.add_argument("--dask-points", type=int, default=None, help="default: --points")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs); load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    base = _timed("in-process baseline (0 workers)", args.baseline_points, workers=0)
    pool = _timed(f"process pool ({args.workers} workers)", args.points, workers=args.workers)
    dask = _dask(args.dask_points or args.points, args.workers)
    own, child = _peak_mb()
    full_s = TARGET_POINTS / pool.designs_per_s if pool.designs_per_s else float("inf")
    print(f"pool / in-process rate: {pool.designs_per_s / base.designs_per_s:.2f}x; "
          f"dask / pool rate: {dask.designs_per_s / pool.designs_per_s:.2f}x")
    print(f"peak memory: {own:.0f} MB this process, {child:.0f} MB largest worker")
    verdict = "PASS" if full_s < TARGET_S else "FAIL"
    print(f"{TARGET_POINTS} designs at the pool's rate: {full_s:.0f} s "
          f"(target < {TARGET_S:.0f} s): {verdict}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
