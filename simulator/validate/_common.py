"""Helpers the claim modules share: shipped specs loaded once, one-GEMM workloads, runs."""

from __future__ import annotations

from functools import cache

from sparsim.accel.loader import load_spec
from sparsim.accel.spec import AcceleratorSpec
from sparsim.simulator.results import RunResult
from sparsim.simulator.run import simulate
from sparsim.workloads.layer import Layer, Workload
from sparsim.workloads.ops import Gemm


@cache
def shipped_spec(name: str) -> AcceleratorSpec:
    """A shipped config (``configs/<name>.yaml``), loaded once per process."""
    return load_spec(name)


def gemm_workload(m: int, n: int, k: int, name: str = "gemm") -> Workload:
    """One dense ``(m x k) @ (k x n)`` GEMM with a weight operand."""
    return Workload(name=name, layers=(Layer(name=name, op=Gemm(m=m, n=n, k=k)),))


def run(workload: Workload, spec: AcceleratorSpec, *, mapper: str = "search") -> RunResult:
    """The analytical engine, as ``sparsim run`` uses it."""
    return simulate(workload, spec, mapper=mapper)
