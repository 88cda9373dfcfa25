"""``simulate``: the entry point. The plan both engines replay is built in
``simulator.plan``; the analytical engine times it here in closed form (``simulator.perf``),
the event engine in ``simulator.events``."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator
from pathlib import Path

from sparsim.accel.spec import AcceleratorSpec
from sparsim.simulator.events import simulate_events
from sparsim.simulator.mapper import MapperOptions
from sparsim.simulator.plan import (
    PlannedProblem,
    layer_result,
    overlap_fused,
    plan,
    run_result,
    timing_of,
)
from sparsim.simulator.results import RunResult
from sparsim.workloads.layer import Workload

__all__ = ["ENGINES", "PlannedProblem", "collector_paused", "layer_result", "overlap_fused", "plan",
           "run_result", "simulate"]  # fmt: skip

ENGINES = ("analytical", "event")


def _analytical(workload: Workload, spec: AcceleratorSpec, mapper: MapperOptions) -> RunResult:
    plans = plan(workload, spec, mapper=mapper)
    own = [timing_of(p.schedule) for p in plans]
    dense = [timing_of(p.dense.schedule) if p.dense else t
             for p, t in zip(plans, own, strict=True)]  # fmt: skip
    timings, dense = overlap_fused(plans, own), overlap_fused(plans, dense)
    layers = [layer_result(*args, spec) for args in zip(plans, timings, dense, strict=True)]
    return run_result(workload, spec, layers, "analytical")


_pause_lock = threading.Lock()
_pauses = [0, False]  # simulations running with the collector paused; was it enabled before


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a simulation runs, on again after the
    last concurrent one ends (if it was on). Planning a design makes hundreds of thousands of
    short-lived objects, freed by reference counting; the collections they trigger re-walk
    every live object, the plan caches included, to find no cycles (measured: 15% of a
    fresh design's ResNet-50 time). Any cycles are collected once it is back on."""
    with _pause_lock:
        if _pauses[0] == 0:
            _pauses[1] = gc.isenabled()
            gc.disable()
        _pauses[0] += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses[0] -= 1
            if _pauses[0] == 0 and _pauses[1]:
                gc.enable()


def simulate(
    workload: Workload,
    spec: AcceleratorSpec,
    *,
    engine: str = "analytical",
    trace_path: str | Path | None = None,
    progress: bool = False,
    mapper: str = "search",
    objective: str = "latency",
) -> RunResult:
    """Run ``workload`` on ``spec``. ``engine="event"`` replays the same plan in simpy and can
    write a Perfetto trace to ``trace_path`` (and show a progress bar with ``progress``); the
    analytical engine has no timeline and takes milliseconds. ``mapper``: ``search`` each
    layer's mapping under ``objective`` or keep the ``fixed`` heuristic (``simulator.mapper``)."""
    options = MapperOptions(mode=mapper, objective=objective)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "event":
        return simulate_events(workload, spec, trace_path=trace_path, progress=progress,
                               mapper=options)  # fmt: skip
    if trace_path is not None:
        raise ValueError("a trace needs engine='event' (the analytical engine has no timeline)")
    with collector_paused():
        return _analytical(workload, spec, options)
