"""``simulate``: the entry point, and ``plan``: the hand-off both engines share.

Interface for the event engine (``simulator/events.py``)
--------------------------------------------------------
``plan(workload, spec) -> list[PlannedProblem]`` lowers the workload (``simulator.lower``), maps
each problem (``simulator.mapping``) and sizes its transfers (``simulator.memory``). One
``PlannedProblem`` per (layer, pass), in execution order, with:

* ``problem``: ``simulator.lower.Problem`` (``layer``, ``op``, ``pass_``, ``m``, ``n``, ``k``,
  ``count``, patterns),
* ``mapping``: ``simulator.mapping.Mapping`` (dataflow, folds, ``k_per_step``, notes),
* ``schedule``: ``simulator.schedule.TileSchedule`` — per-tile ``compute_cycles``,
  ``load_bytes``, ``store_bytes`` in execution order (replay exactly this),
* ``counts``: ``simulator.energy.ActionCounts`` (timing-independent action counts),
* ``bytes_by_level``: ``tuple[tuple[str, int], ...]`` for ``LayerResult.bytes_by_level``,
* ``notes``: what was exploited, fell back to dense or assumed (``LayerResult.notes``),
* ``dense``: the same ``PlannedProblem`` for the problem run dense on the same spec
  (``dense.dense is None``), or ``None`` when the problem is already dense (its own baseline).

An engine turns a schedule into a ``simulator.perf.Timing(cycles, compute_cycles,
stall_cycles, bound)``; ``layer_result(planned, timing, dense_timing, spec)`` builds the
``LayerResult`` (energy, utilization, notes) identically for both engines, and
``run_result(workload, spec, layers, engine, notes=())`` gathers them. The analytical timing is
``simulator.perf.analytical_timing(schedule)`` — its closed form (the double-buffered pipeline)
is documented in ``simulator.perf``; an event engine must match it exactly when compute-bound.
The event engine may time ``planned.dense.schedule`` itself or call ``analytical_timing`` on it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from accel.bitlayout import index_bits
from accel.spec import AcceleratorSpec, Operand
from simulator.energy import PREGEN_OPS_PER_ELEMENT, ActionCounts, energy_pj
from simulator.lower import Problem, lower
from simulator.mapping import Exploit, Mapping, choose_exploit, map_problem
from simulator.memory import Traffic, b_storage_rates, matrix_traffic, stream_traffic
from simulator.perf import Timing, analytical_timing
from simulator.results import LayerResult, Pass, RunResult
from simulator.schedule import TileSchedule
from workloads.layer import Workload
from workloads.ops import VectorKind

__all__ = ["ENGINES", "PlannedProblem", "layer_result", "plan", "run_result", "simulate"]

ENGINES = ("analytical", "event")

OPTIMIZER_BYTES_IN, OPTIMIZER_BYTES_OUT = 3, 2
"""Optimizer update (SGD with momentum) per weight: reads weight, gradient and momentum, writes
weight and momentum, each at the weight precision."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedProblem:
    """One (layer, pass) ready for an engine (module docstring). ``mapping`` is ``None`` for
    vector and pre-generation work; ``dense`` is ``None`` when the problem is already dense."""

    problem: Problem
    mapping: Mapping | None
    schedule: TileSchedule
    counts: ActionCounts
    bytes_by_level: tuple[tuple[str, int], ...]
    notes: tuple[str, ...] = ()
    dense: PlannedProblem | None = None

    @property
    def issued_macs(self) -> int:
        return self.mapping.issued_macs if self.mapping else 0


def _schedule(spec: AcceleratorSpec, cycles: np.ndarray, traffic: Traffic) -> TileSchedule:
    return TileSchedule(
        compute_cycles=cycles,
        load_bytes=traffic.load,
        store_bytes=traffic.store,
        dram_bytes_per_cycle=spec.dram.bytes_per_cycle(spec.compute.freq_mhz),
        dram_latency_cycles=spec.dram.latency_cycles,
        double_buffered=all(buf.double_buffered for _, buf in spec.buffers),
    )


def _memory_counts(levels: dict[str, int]) -> dict[str, int]:
    dram = sum(v for key, v in levels.items() if key.startswith("dram."))
    return {
        "sram_read_bytes": levels["sram.read"],
        "sram_write_bytes": levels["sram.write"],
        "dram_bytes": dram,
    }


def _metadata_counts(exploit: Exploit, traffic: Traffic, issued: int) -> dict[str, int]:
    """Indices decoded from the metadata the array reads, and one mux select per issued MAC."""
    if not (exploit.nm or exploit.group_size):
        return {}
    bits = index_bits(exploit.nm[1]) if exploit.nm else 1
    return {"metadata_indices": traffic.metadata_bytes_fed * 8 // bits, "mux_selects": issued}


def _plan_matrix(problem: Problem, spec: AcceleratorSpec) -> PlannedProblem:
    mapping, cycles = map_problem(problem, spec)
    traffic = matrix_traffic(problem, mapping, spec)
    levels = dict(traffic.bytes_by_level())
    ex, issued = mapping.exploit, mapping.issued_macs
    operand_bytes = spec.precision.bytes_of(Operand.INPUT) + spec.precision.bytes_of(Operand.WEIGHT)
    counts = ActionCounts(
        macs=round(issued * ex.mac_keep_gated),
        mac_precision=spec.precision.weight,
        rf_bytes=round(issued * operand_bytes),
        **_memory_counts(levels),
        **_metadata_counts(ex, traffic, issued),
    )
    return PlannedProblem(
        problem=problem,
        mapping=mapping,
        schedule=_schedule(spec, cycles, traffic),
        counts=counts,
        bytes_by_level=tuple(levels.items()),
        notes=ex.notes,
    )


def _plan_stream(
    problem: Problem, spec: AcceleratorSpec, ops_per_element: float, io: tuple[float, float]
) -> tuple[TileSchedule, Traffic]:
    """Element-wise work: ``ops_per_element`` vector ops (or pregen-unit slots) per element."""
    elements = problem.vector_elements or problem.pregen_elements
    sizes, traffic = stream_traffic(elements, io[0], io[1], spec)
    cycles = np.ceil(sizes * ops_per_element).astype(np.int64)
    return _schedule(spec, cycles, traffic), traffic


def _plan_vector(problem: Problem, spec: AcceleratorSpec) -> PlannedProblem:
    if problem.op == VectorKind.OPTIMIZER.value:
        w = spec.precision.bytes_of(Operand.WEIGHT)
        io = (OPTIMIZER_BYTES_IN * w, OPTIMIZER_BYTES_OUT * w)
    else:
        io = (spec.precision.bytes_of(Operand.INPUT), spec.precision.bytes_of(Operand.OUTPUT))
    flops_per_element = problem.vector_flops / problem.vector_elements
    schedule, traffic = _plan_stream(problem, spec, flops_per_element / spec.vector.lanes, io)
    levels = dict(traffic.bytes_by_level())
    counts = ActionCounts(vector_flops=problem.vector_flops, **_memory_counts(levels))
    return PlannedProblem(
        problem=problem,
        mapping=None,
        schedule=schedule,
        counts=counts,
        bytes_by_level=tuple(levels.items()),
    )


def _plan_pregen(problem: Problem, spec: AcceleratorSpec, exploit: Exploit) -> PlannedProblem:
    """Re-prune and compress the updated dense weights into the format the FW pass reads."""
    w = spec.precision.bytes_of(Operand.WEIGHT)
    rate = spec.sparsity.pregen_elements_per_cycle
    if rate:
        per_element, note = 1 / rate, f"pregen unit at {rate} elements/cycle"
    else:
        per_element = PREGEN_OPS_PER_ELEMENT / spec.vector.lanes
        note = "no pregen unit: pre-generation on the vector unit"
    io = (w, sum(b_storage_rates(exploit, w)))
    schedule, traffic = _plan_stream(problem, spec, per_element, io)
    levels = dict(traffic.bytes_by_level())
    counts = ActionCounts(pregen_elements=problem.pregen_elements, **_memory_counts(levels))
    return PlannedProblem(
        problem=problem,
        mapping=None,
        schedule=schedule,
        counts=counts,
        bytes_by_level=tuple(levels.items()),
        notes=(note,),
    )


def _empty_plan(problem: Problem, spec: AcceleratorSpec) -> PlannedProblem:
    """No work: the dense baseline of a pre-generation pass."""
    nothing = np.zeros(0, dtype=np.int64)
    traffic = Traffic(
        load=nothing, store=nothing, dram=(), sram_feed=0, sram_result=0, metadata_bytes_fed=0
    )
    return PlannedProblem(
        problem=problem,
        mapping=None,
        schedule=_schedule(spec, nothing, traffic),
        counts=ActionCounts(),
        bytes_by_level=(),
    )


def _plan_one(problem: Problem, spec: AcceleratorSpec, fw: dict[str, Exploit]) -> PlannedProblem:
    if problem.is_matrix:
        return _plan_matrix(problem, spec)
    if problem.pass_ == Pass.VECTOR:
        return _plan_vector(problem, spec)
    if problem.pregen_elements == 0:
        return _empty_plan(problem, spec)
    return _plan_pregen(problem, spec, fw[problem.layer])


def _skips_weight(exploit: Exploit) -> bool:
    return bool(exploit.nm or exploit.group_size)


def _shape_key(problem: Problem) -> Problem | None:
    """``problem`` without its names, to share plans between same-shape layers; ``None`` when
    a real mask makes it unique (masks do not take part in pattern equality)."""
    if problem.b_pattern.mask is not None or not (problem.is_matrix or problem.vector_elements):
        return None
    return replace(problem, layer="")


def _plan_with_dense(
    problem: Problem, spec: AcceleratorSpec, fw: dict[str, Exploit]
) -> PlannedProblem:
    planned = _plan_one(problem, spec, fw)
    dense_problem = problem.dense()
    if dense_problem == problem:
        return planned
    return replace(planned, dense=_plan_one(dense_problem, spec, fw))


def plan(workload: Workload, spec: AcceleratorSpec) -> list[PlannedProblem]:
    """Every (layer, pass) of ``workload`` mapped onto ``spec``, with its dense baseline.

    Pre-generation passes are kept only for layers whose forward pass reads a compressed
    weight (the spec exploits the pattern); otherwise there is nothing to re-compress.
    Same-shape problems share one plan (only ``problem`` differs)."""
    fw: dict[str, Exploit] = {}
    shared: dict[Problem, PlannedProblem] = {}
    out = []
    for problem in lower(workload):
        if problem.pass_ == Pass.FW:
            fw[problem.layer] = choose_exploit(problem, spec)
        if problem.pass_ == Pass.PREGEN and not _skips_weight(fw[problem.layer]):
            continue
        key = _shape_key(problem)
        if key is None:
            out.append(_plan_with_dense(problem, spec, fw))
            continue
        if key not in shared:
            shared[key] = _plan_with_dense(key, spec, fw)
        out.append(replace(shared[key], problem=problem))
    return out


def _utilization(planned: PlannedProblem, cycles: int, spec: AcceleratorSpec) -> float:
    if not cycles:
        return 0.0
    if planned.mapping is not None:
        return planned.mapping.issued_macs / (cycles * spec.compute.peak_macs_per_cycle)
    return planned.counts.vector_flops / (cycles * spec.vector.lanes)


def layer_result(
    planned: PlannedProblem, timing: Timing, dense_timing: Timing, spec: AcceleratorSpec
) -> LayerResult:
    """The ``LayerResult`` of one planned problem given the engine's timings (sparse, dense)."""
    p = planned.problem
    dense = planned.dense or planned
    energy = energy_pj(planned.counts, spec.energy)
    dense_energy = sum(v for _, v in energy_pj(dense.counts, spec.energy))
    return LayerResult(
        layer=p.layer,
        op=p.op,
        pass_=p.pass_,
        m=p.m,
        n=p.n,
        k=p.k,
        count=p.count,
        cycles=timing.cycles,
        compute_cycles=timing.compute_cycles,
        stall_cycles=timing.stall_cycles,
        dense_cycles=dense_timing.cycles,
        utilization=_utilization(planned, timing.cycles, spec),
        dense_macs=p.dense_macs,
        effective_macs=planned.issued_macs,
        energy_pj=energy,
        dense_energy_pj=dense_energy,
        bytes_by_level=planned.bytes_by_level,
        bound=timing.bound,
        notes=planned.notes,
    )


def run_result(
    workload: Workload,
    spec: AcceleratorSpec,
    layers: list[LayerResult],
    engine: str,
    notes: tuple[str, ...] = (),
) -> RunResult:
    """Gather one engine's layer results into a ``RunResult``."""
    return RunResult(
        workload=workload.name,
        accel=spec.name,
        phase=workload.phase.value,
        engine=engine,
        freq_mhz=spec.compute.freq_mhz,
        layers=tuple(layers),
        notes=notes,
    )


def _analytical(workload: Workload, spec: AcceleratorSpec) -> RunResult:
    plans = plan(workload, spec)
    timings: dict[int, Timing] = {}  # by schedule identity: same-shape problems share one

    def timing_of(schedule: TileSchedule) -> Timing:
        if id(schedule) not in timings:
            timings[id(schedule)] = analytical_timing(schedule)
        return timings[id(schedule)]

    layers = []
    for planned in plans:
        timing = timing_of(planned.schedule)
        dense = timing if planned.dense is None else timing_of(planned.dense.schedule)
        layers.append(layer_result(planned, timing, dense, spec))
    return run_result(workload, spec, layers, "analytical")


def simulate(
    workload: Workload,
    spec: AcceleratorSpec,
    *,
    engine: str = "analytical",
    trace_path: str | Path | None = None,
) -> RunResult:
    """Run ``workload`` on ``spec``. ``engine="event"`` replays the same plan in simpy and can
    write a Perfetto trace to ``trace_path``; the analytical engine has no timeline."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "event":
        from simulator.events import simulate_events  # lazy: simpy only when asked for

        return simulate_events(workload, spec, trace_path=trace_path)
    if trace_path is not None:
        raise ValueError("a trace needs engine='event' (the analytical engine has no timeline)")
    return _analytical(workload, spec)
