"""``plan``: the hand-off both engines share (``simulator.run.simulate`` is the entry point).

Interface for the event engine (``simulator/events.py``)
--------------------------------------------------------
``plan(workload, spec) -> list[PlannedProblem]`` lowers the workload (``simulator.lower``), maps
each problem (``simulator.mapping``) and sizes its transfers (``simulator.memory``), in the
loop order moving fewer DRAM bytes (``simulator.memory.map_matrix``). One ``PlannedProblem``
per (layer, pass), in execution order, with:

* ``problem``: ``simulator.lower.Problem`` (``layer``, ``op``, ``pass_``, ``m``, ``n``, ``k``,
  ``count``, patterns),
* ``mapping``: ``simulator.mapping.Mapping`` (dataflow, folds, ``k_per_step``, notes),
* ``schedule``: ``simulator.schedule.TileSchedule`` — per-tile ``compute_cycles``,
  ``load_bytes``, ``store_bytes`` and ``port_cycles`` in execution order (replay exactly this;
  ``stream_schedule(planned, spec)`` is the same schedule with each port's cycles split by
  stream and holder: the array, a DMA fill or a drain, ``tiling.PORT_STREAMS``),
* ``counts``: ``simulator.energy.ActionCounts`` (timing-independent action counts),
* ``bytes_by_level``: ``tuple[tuple[str, int], ...]`` for ``LayerResult.bytes_by_level``,
* ``notes``: what was exploited, fell back to dense or assumed (``LayerResult.notes``),
* ``dense``: the same ``PlannedProblem`` for the problem run dense on the same spec
  (``dense.dense is None``), or ``None`` when the problem is already dense (its own baseline),
* ``producer``: for a fused vector op (``simulator.lower`` fusion), the index in this list of
  the matrix pass it is fused with (its layer's ``FW``, or ``BW_DATA`` for backward work,
  ``BW_WEIGHT`` when the layer has no ``BW_DATA``: ``_producer``).

Precision: each problem is planned on ``simulator.precision.spec_for(spec, ...)``, the spec with
that (layer, pass)'s operand dtypes (the spec itself when the layer names none); a layer whose
stored weight format the spec cannot read natively gets a fused ``dequant`` vector op.

Fusion: a fused vector op reads its producer's output tiles from the output buffer as they
drain, so when the producer's buffer tiling fits (its output tile is held in the output buffer
share by construction, ``simulator.tiling``) the op's input and output never travel to DRAM
(else they do, and its note says so). A producer without a buffer tiling falls back to
``memory.output_tile_fits`` (one array pass of results). Its cycles overlap
the producer's: a producer taking ``P`` cycles with fused ops taking ``V1, V2, ...`` on their
own (one vector unit, so they run one after the other) costs ``max(P, V1 + V2 + ...)``; each
op reports only the cycles it adds, ``max(P, V1..Vi) - max(P, V1..Vi-1)``
(``overlap_fused``), the rest as ``Timing.overlapped_cycles``. Dense baselines overlap with the
producer's dense time the same way.

An engine turns a schedule into a ``simulator.perf.Timing(cycles, compute_cycles,
stall_cycles, bound)``; ``layer_result(planned, timing, dense_timing, spec)`` builds the
``LayerResult`` (energy, utilization, notes) identically for both engines, and
``run_result(workload, spec, layers, engine, notes=())`` gathers them. The analytical timing is
``simulator.perf.analytical_timing(schedule)`` — its closed form (the double-buffered pipeline)
is documented in ``simulator.perf``; an event engine must match it exactly when compute-bound.
The event engine may time ``planned.dense.schedule`` itself or call ``analytical_timing`` on it;
both engines then apply ``overlap_fused`` to their timings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TypedDict

import numpy as np
from sparsim.accel.bitlayout import index_bits
from sparsim.accel.spec import AcceleratorSpec, Operand, PrecisionSpec
from sparsim.simulator import tile
from sparsim.simulator.energy import (
    PREGEN_OPS_PER_ELEMENT,
    ActionCounts,
    energy_pj,
    forwarding_bytes,
    sram_bytes,
    static_energy_pj,
)
from sparsim.simulator.limits import check_size
from sparsim.simulator.lower import DEQUANT_OP, Problem, gradient_notes, lower
from sparsim.simulator.mapper import (
    FIXED,
    SEARCH,
    Candidate,
    MapperOptions,
    Orientation,
    candidate_compute,
    fixed_candidate,
    mapping_detail,
    search,
)
from sparsim.simulator.mapping import (
    LAYOUT_CACHE_SPECS,
    Exploit,
    Mapping,
    SpecStores,
    choose_exploit,
    layout_key,
)
from sparsim.simulator.memory import (
    Traffic,
    b_storage_rates,
    increments,
    output_tile_fits,
    stream_traffic,
)
from sparsim.simulator.multicore import (
    CoreUse,
    Split,
    global_view,
    merge_counts,
    merge_pairs,
    splits,
    through_global,
    vector_spec,
)
from sparsim.simulator.objects import PerObject
from sparsim.simulator.perf import Timing, analytical_timing
from sparsim.simulator.precision import (
    dequant_needed,
    dequant_problem,
    problem_precision,
    spec_for,
    uses_spec_precision,
)
from sparsim.simulator.residency import Residency, residency
from sparsim.simulator.results import LayerResult, Pass, RunResult
from sparsim.simulator.schedule import PortStream, TileSchedule
from sparsim.simulator.simd import KernelCost, plan_simd
from sparsim.simulator.tiling import (
    NestTraffic,
    Tiling,
    all_double_buffered,
    nest_traffic,
    nest_view,
    port_streams,
    port_widths,
    sram_levels,
)
from sparsim.workloads.layer import Layer, Workload
from sparsim.workloads.ops import VectorKind

__all__ = [
    "PlannedProblem",
    "layer_result",
    "overlap_fused",
    "plan",
    "ranked_mappings",
    "ranked_splits",
    "run_result",
    "stream_schedule",
    "timing_of",
]

OPTIMIZER_BYTES_IN, OPTIMIZER_BYTES_OUT = 3, 2
"""Optimizer update (SGD with momentum) per weight: reads weight, gradient and momentum, writes
weight and momentum, each at the weight precision."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedProblem:
    """One (layer, pass) ready for an engine (module docstring). ``mapping`` is ``None`` for
    vector and pre-generation work; ``dense`` is ``None`` when the problem is already dense;
    ``producer``: index of the matrix plan a fused vector op overlaps (module docstring);
    ``energy_pj``: ``energy.energy_pj`` of ``counts``, computed once per shared plan;
    ``stream_bytes``: each buffer port's bytes per tile split by stream, for one of
    ``problem.count`` groups (``tiling.NestTraffic.stream_bytes``; ``stream_schedule``);
    ``kernel``: on a ``simd`` core, the kernel that ran a matrix problem (``simulator.simd``);
    ``energy_total_pj``, ``detail``: the sum of ``energy_pj`` and the ``LayerResult.
    mapping_detail``, worked out once per shared plan (``_with_energy``)."""

    problem: Problem
    mapping: Mapping | None
    schedule: TileSchedule
    counts: ActionCounts
    bytes_by_level: tuple[tuple[str, int], ...]
    notes: tuple[str, ...] = ()
    dense: PlannedProblem | None = None
    producer: int | None = None
    energy_pj: tuple[tuple[str, float], ...] = ()
    tiling: Tiling | None = None
    sram_bytes: tuple[tuple[str, int], ...] = ()
    input_from_chip: bool = False
    mapping_text: str = ""
    orientation: Orientation | None = None
    stream_bytes: tuple[np.ndarray, ...] | tuple[int, ...] = ()
    cores: CoreUse | None = None
    kernel: KernelCost | None = None
    energy_total_pj: float = 0.0
    detail: tuple[tuple[str, object], ...] = ()

    @property
    def issued_macs(self) -> int:
        if self.mapping:
            return self.mapping.issued_macs
        return self.kernel.issued_macs if self.kernel else 0


def _schedule(spec: AcceleratorSpec, cycles: np.ndarray, traffic: Traffic) -> TileSchedule:
    return TileSchedule(
        compute_cycles=cycles,
        load_bytes=traffic.load,
        store_bytes=traffic.store,
        dram_bytes_per_cycle=spec.dram.bytes_per_cycle(spec.compute.freq_mhz),
        dram_latency_cycles=spec.dram.latency_cycles,
        double_buffered=all_double_buffered(spec),
    )


class _MemoryCounts(TypedDict):
    sram_read_bytes: tuple[tuple[str, int], ...]
    sram_write_bytes: tuple[tuple[str, int], ...]
    dram_bytes: int


class _MetadataCounts(TypedDict, total=False):
    metadata_indices: int
    mux_selects: int


def _memory_counts(levels: dict[str, int], spec: AcceleratorSpec) -> _MemoryCounts:
    dram = sum(v for key, v in levels.items() if key.startswith("dram."))
    reads, writes = sram_bytes(levels, spec)
    return {"sram_read_bytes": reads, "sram_write_bytes": writes, "dram_bytes": dram}


def _forwarding(problem: Problem, mapping: Mapping, spec: AcceleratorSpec) -> int:
    """``energy.forwarding_bytes`` of a mapped problem: stationary elements are the results
    (``os``) or the operand loaded once per stream (``ws``: ``m_eff``, ``is``: ``n``)."""
    issued, ex, flow = mapping.issued_macs, mapping.exploit, mapping.dataflow
    if flow == "os":
        stationary = mapping.m_eff * problem.n * problem.count
    elif flow == "ws":
        stationary = issued // max(1, mapping.m_eff)
    else:  # is
        stationary = issued // max(1, problem.n)
    repeat = 1 / ex.weight_keep if ex.nm and ex.weight_keep else 1.0
    return forwarding_bytes(mapping.dataflow, issued, stationary, repeat, spec)


def _metadata_counts(exploit: Exploit, fed_bytes: int, issued: int) -> _MetadataCounts:
    """Indices decoded from the metadata the array reads, and one mux select per issued MAC."""
    if not (exploit.nm or exploit.group_size):
        return {}
    bits = index_bits(exploit.nm[1]) if exploit.nm else 1
    return {"metadata_indices": fed_bytes * 8 // bits, "mux_selects": issued}


def _share(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split in proportion to ``weights`` by cumulative rounding (sums exactly)."""
    if len(weights) == 1 and abs(total) < 2**53:  # the one share is exact: skip the float path
        return np.array([total], dtype=np.int64)
    cum = np.cumsum(weights, dtype=np.float64)
    if cum[-1] <= 0:
        edges = np.zeros(len(weights), dtype=np.int64)
        edges[-1] = total
        return edges
    return increments(np.rint(cum / cum[-1] * total).astype(np.int64))


def _port_cycles(
    spec: AcceleratorSpec, ports: dict[str, np.ndarray] | dict[str, int], count: int
) -> tuple[tuple[str, np.ndarray], ...]:
    """Per port, ``ceil(bytes / port bytes per cycle)`` of each tile, over ``count`` groups
    (one division for all ports: numpy's per-call overhead dominates small arrays)."""
    if not ports:
        return ()
    widths = port_widths(spec)
    # (ports, tiles): a one-tile nest gives ints (``tiling._one_tile_traffic``), else arrays
    nbytes = np.array(list(ports.values()), dtype=np.int64).reshape(len(ports), -1)
    cycles = tile.ceil_div(nbytes, np.array([widths[p] for p in ports])[:, None])
    if count > 1:
        cycles = np.tile(cycles, (1, count))
    return tuple(zip(ports, cycles, strict=True))


def stream_schedule(planned: PlannedProblem, spec: AcceleratorSpec) -> TileSchedule:
    """``planned.schedule`` with each port's cycles split by stream
    (``TileSchedule.stream_cycles``, holders from ``tiling.PORT_STREAMS``), for the event
    engine. On a port of ``w`` bytes per cycle whose streams move ``B_1, B_2, ...`` bytes in a
    tile (in ``PORT_STREAMS`` order), stream ``s`` takes ``ceil((B_1 + .. + B_s) / w) -
    ceil((B_1 + .. + B_s-1) / w)`` cycles: together exactly the port's ``port_cycles``, so the
    analytical engine's numbers are untouched. Made on demand: only the event engine needs it.
    """
    if not planned.stream_bytes:
        return planned.schedule
    widths, count = port_widths(spec), planned.problem.count
    moved: dict[str, np.ndarray] = {}  # bytes of the port's streams so far, per tile
    streams = []
    for port, stream, holder, nbytes in port_streams(planned.stream_bytes, spec):
        before = moved.get(port, 0)
        moved[port] = before + nbytes
        cycles = tile.ceil_div(moved[port], widths[port]) - tile.ceil_div(before, widths[port])
        if cycles.any():
            cycles = np.tile(cycles, count) if count > 1 else cycles
            streams.append(PortStream(port, stream, cycles, holder))
    return replace(planned.schedule, stream_cycles=tuple(streams))


_DRAM_LEVELS = {key: f"dram.{key}" for key in ("input", "weight", "metadata", "psum", "output")}
"""``bytes_by_level`` keys of ``NestTraffic.dram``'s operands."""


def _levels(nt: NestTraffic, count: int, spec: AcceleratorSpec) -> dict[str, int]:
    levels = {_DRAM_LEVELS[key]: value * count for key, value in nt.dram.items()}
    total = {"read": 0, "write": 0}
    per_buffer: dict[str, int] = {}  # per buffer (``energy.sram_bytes`` prices each by size)
    for (way, name), value in zip(sram_levels(spec), nt.sram.values(), strict=True):
        total[way] += value
        per_buffer[name] = per_buffer.get(name, 0) + value * count
    levels["sram.read"], levels["sram.write"] = count * total["read"], count * total["write"]
    levels.update(per_buffer)
    return levels


def _plan_matrix(
    problem: Problem,
    spec: AcceleratorSpec,
    io_on_chip: tuple[bool, bool] = (False, False),
    options: MapperOptions = FIXED,
) -> PlannedProblem:
    """The fixed mapping's plan, or with ``options.mode == "search"`` the better of it and the
    mapper's best estimate, timed exactly (``simulator.mapper``)."""
    planned = _plan_candidate(problem, spec, io_on_chip, fixed_candidate(problem, spec, io_on_chip))
    if options.mode == "fixed":
        return planned
    best = _score(planned, spec, options.objective)
    for cand in search(problem, spec, options.objective, io_on_chip)[:SEARCH_EXACT]:
        if cand.orientation == planned.orientation and cand.tiling == planned.tiling:
            continue
        other = _plan_candidate(problem, spec, io_on_chip, cand)
        score = _score(other, spec, options.objective)
        if score < best:
            planned, best = other, score
    return planned


SEARCH_EXACT = 1
"""The mapper's best estimates timed exactly against the fixed mapping (``_plan_matrix``)."""


def _plan_cores(
    problem: Problem,
    spec: AcceleratorSpec,
    io_on_chip: tuple[bool, bool],
    options: MapperOptions,
) -> PlannedProblem:
    """``compute.cores > 1``: each split of ``simulator.multicore`` with every core's share
    planned as one array, merged; the best by the objective (``latency`` for the fixed
    mapper; ties: ``multicore.SPLIT_AXES`` order)."""
    objective = "latency" if options.mode == "fixed" else options.objective
    unique = _global_bytes(problem, spec, io_on_chip)
    best, best_score = None, float("inf")
    for split in splits(problem, spec):
        merged = _merge_cores(problem, spec, split, io_on_chip, options, unique)
        score = _score(merged, spec, objective)
        if best is None or score < best_score:
            best, best_score = merged, score
    if best is None:
        raise AssertionError("multicore.splits always offers the one-core split")
    return best


def _global_bytes(
    problem: Problem, spec: AcceleratorSpec, io_on_chip: tuple[bool, bool]
) -> tuple[int, int] | None:
    """(load, store) DRAM bytes of the whole problem tiled for the global buffer
    (``multicore.global_view``); ``None`` without one."""
    if spec.global_buffer is None:
        return None
    whole = _plan_matrix(problem, global_view(spec), io_on_chip, FIXED).schedule
    return int(whole.load_bytes.sum()), int(whole.store_bytes.sum())


def ranked_splits(
    problem: Problem, spec: AcceleratorSpec, objective: str = "latency", mode: str = "search"
) -> list[tuple[Split, float]]:
    """Every multi-core split of ``problem`` (``simulator.multicore``) timed exactly, best
    first by ``objective`` (``sparsim run --explain`` on a multi-core spec), each core's share
    mapped by the mapper's ``mode``."""
    options, io = MapperOptions(mode=mode, objective=objective), (False, False)
    unique = _global_bytes(problem, spec, io)
    scored = [(split, _score(_merge_cores(problem, spec, split, io, options, unique), spec,
                             objective)) for split in splits(problem, spec)]  # fmt: skip
    return sorted(scored, key=lambda pair: pair[1])


def _merge_cores(
    problem: Problem,
    spec: AcceleratorSpec,
    split: Split,
    io_on_chip: tuple[bool, bool],
    options: MapperOptions,
    unique: tuple[int, int] | None,
) -> PlannedProblem:
    """One split's cores as one plan (``simulator.multicore``): the slowest part's schedule,
    bytes and actions summed over the active cores."""
    parts = [(_plan_matrix(p, split.core_spec, io_on_chip, options), times)
             for p, times in split.parts]  # fmt: skip
    slow = max((p for p, _ in parts), key=lambda p: _score(p, split.core_spec, "latency"))
    schedule, levels = slow.schedule, merge_pairs((p.bytes_by_level, t) for p, t in parts)
    counts = merge_counts((p.counts, t) for p, t in parts)
    if unique is not None:
        fetched = tuple(sum(int(getattr(p.schedule, f).sum()) * t for p, t in parts)
                        for f in ("load_bytes", "store_bytes"))  # fmt: skip
        schedule, levels, counts = through_global(
            schedule, levels, counts, (fetched[0], fetched[1]), unique, spec, split.active
        )
    first = parts[0][0]
    use = CoreUse(cores=split.cores, active=split.active, axis=split.axis, shares=split.shares,
                  part_macs=tuple((p.issued_macs, t) for p, t in parts))  # fmt: skip
    text = f"{first.mapping_text}; cores {split.active}/{split.cores} over {split.axis}"
    issued = sum(p.issued_macs * t for p, t in parts)
    return replace(
        first, problem=problem, schedule=schedule, counts=counts, bytes_by_level=levels,
        mapping=replace(first.mapping, issued_macs=issued) if first.mapping else None,
        sram_bytes=merge_pairs((p.sram_bytes, t) for p, t in parts), mapping_text=text,
        cores=use, notes=tuple(dict.fromkeys(n for p, _ in parts for n in p.notes)),
        # per group of the slowest part: kept when the split leaves the group count alone
        stream_bytes=slow.stream_bytes if slow.problem.count == problem.count else (),
    )  # fmt: skip


def ranked_mappings(
    problem: Problem,
    spec: AcceleratorSpec,
    objective: str = "latency",
    io_on_chip: tuple[bool, bool] = (False, False),
) -> list[tuple[Candidate, float, bool]]:
    """The fixed mapping and the mapper's best per orientation, each timed exactly, best
    first by ``objective`` (``sparsim run --explain``): (candidate, cost, is the fixed one)."""
    fixed = fixed_candidate(problem, spec, io_on_chip)
    cands = [fixed, *search(problem, spec, objective, io_on_chip)]
    scored = [(c, _score(_plan_candidate(problem, spec, io_on_chip, c), spec, objective),
               c is fixed) for c in cands]  # fmt: skip
    return sorted(scored, key=lambda cs: cs[1])


def _score(planned: PlannedProblem, spec: AcceleratorSpec, objective: str) -> float:
    """The exact objective of a matrix plan: analytical cycles, energy (dynamic + static) or
    their product."""
    cycles = timing_of(planned.schedule).cycles
    if objective == "latency":
        return float(cycles)
    energy = sum(v for _, v in energy_pj(planned.counts, spec)) + static_energy_pj(cycles, spec)
    return energy if objective == "energy" else energy * cycles


_layouts: SpecStores[PlannedProblem] = SpecStores(layout_key, LAYOUT_CACHE_SPECS)
"""Candidate plans of every spec sharing a ``mapping.layout_key``, by (problem, residency,
orientation, tiling): designs differing only in DRAM share them."""


def _on_dram(planned: PlannedProblem, spec: AcceleratorSpec) -> PlannedProblem:
    """``planned`` with its schedule on ``spec``'s DRAM (itself when it already is)."""
    s = planned.schedule
    bw, latency = spec.dram.bytes_per_cycle(spec.compute.freq_mhz), spec.dram.latency_cycles
    if s.dram_bytes_per_cycle == bw and s.dram_latency_cycles == latency:
        return planned
    schedule = replace(s, dram_bytes_per_cycle=bw, dram_latency_cycles=latency)
    return replace(planned, schedule=schedule)


def _plan_candidate(
    problem: Problem, spec: AcceleratorSpec, io_on_chip: tuple[bool, bool], cand: Candidate
) -> PlannedProblem:
    """``_candidate_plan``, once per (problem, residency, orientation, tiling) of the specs
    sharing a ``mapping.layout_key`` (the orientation and tiling fix the candidate's mapping and
    cycles); named or masked problems are planned afresh."""
    if problem.layer or problem.fused_with or problem.b_pattern.mask is not None:
        return _candidate_plan(problem, spec, io_on_chip, cand)
    store, key = _layouts.of(spec), (problem, io_on_chip, cand.orientation, cand.tiling)
    hit = store.get(key)
    if hit is None:
        if len(store) >= PLAN_CACHE_SIZE:
            store.clear()
        hit = store[key] = _candidate_plan(problem, spec, io_on_chip, cand)
    return _on_dram(hit, spec)


def _candidate_plan(
    problem: Problem, spec: AcceleratorSpec, io_on_chip: tuple[bool, bool], cand: Candidate
) -> PlannedProblem:
    """Array mapping (``simulator.mapping``), buffer tiling (``simulator.tiling``), per-tile
    DRAM and port traffic of one mapper candidate; ``io_on_chip``: (input already on chip,
    output stays on chip)."""
    mapping, tiling = cand.mapping, cand.tiling
    view = nest_view(problem)
    nt = nest_traffic(view, tiling, mapping, spec, input_on_chip=io_on_chip[0],
                      output_on_chip=io_on_chip[1])  # fmt: skip
    count = problem.count
    macs = np.tile(nt.macs, count) if count > 1 else nt.macs
    levels = _levels(nt, count, spec)
    ex, issued = mapping.exploit, mapping.issued_macs
    mac_weight, mac_input = spec.precision.mac_dtypes
    counts = ActionCounts(
        macs=round(issued * ex.mac_keep_gated),
        mac_precision=mac_weight,
        mac_input_precision=mac_input,
        rf_bytes=_forwarding(problem, mapping, spec),
        **_memory_counts(levels, spec),
        **_metadata_counts(ex, nt.metadata_fed * count, issued),
    )
    schedule = TileSchedule(
        compute_cycles=_share(candidate_compute(cand, problem, view, spec), macs),
        load_bytes=np.tile(nt.load, count) if count > 1 else nt.load,
        store_bytes=np.tile(nt.store, count) if count > 1 else nt.store,
        dram_bytes_per_cycle=spec.dram.bytes_per_cycle(spec.compute.freq_mhz),
        dram_latency_cycles=spec.dram.latency_cycles,
        double_buffered=all_double_buffered(spec),
        port_cycles=_port_cycles(spec, nt.ports, count),
    )
    notes = ex.notes
    if not tiling.fits:
        notes += ("buffers too small for the smallest tiles: ran them anyway",)
    text = f"{cand.orientation.describe()}; {tiling.describe(view)}"
    return PlannedProblem(
        problem=problem,
        mapping=mapping,
        schedule=schedule,
        counts=counts,
        bytes_by_level=tuple(levels.items()),
        notes=notes,
        tiling=tiling,
        sram_bytes=tuple((k, v * count) for k, v in nt.sram.items()) if count > 1
        else tuple(nt.sram.items()),
        input_from_chip=io_on_chip[0],
        mapping_text=text,
        orientation=cand.orientation,
        stream_bytes=nt.stream_bytes,
    )


def _plan_simd(
    problem: Problem, spec: AcceleratorSpec, io_on_chip: tuple[bool, bool]
) -> PlannedProblem:
    """A matrix problem on a ``simd`` core (``simulator.simd``) in the array plan's types."""
    sp = plan_simd(problem, spec, io_on_chip)
    schedule = TileSchedule(
        compute_cycles=sp.compute_cycles,
        load_bytes=sp.load_bytes,
        store_bytes=sp.store_bytes,
        dram_bytes_per_cycle=spec.dram.bytes_per_cycle(spec.compute.freq_mhz),
        dram_latency_cycles=spec.dram.latency_cycles,
        port_cycles=sp.port_cycles,
    )
    cost = sp.kernel
    counts = ActionCounts(
        macs=cost.issued_macs, mac_precision=spec.precision.weight,
        metadata_indices=cost.indices, **_memory_counts(sp.levels, spec),
    )  # fmt: skip
    return PlannedProblem(
        problem=problem, mapping=None, schedule=schedule, counts=counts,
        bytes_by_level=tuple(sp.levels.items()), notes=sp.notes, input_from_chip=io_on_chip[0],
        mapping_text=f"simd {cost.kernel}", kernel=cost,
    )  # fmt: skip


def _plan_stream(
    problem: Problem, spec: AcceleratorSpec, ops_per_element: float, io: tuple[float, float],
    totals: tuple[int, int] | None = None, kept: tuple[bool, bool] = (False, False),
) -> tuple[TileSchedule, Traffic]:  # fmt: skip
    """Element-wise work: ``ops_per_element`` vector ops (or pregen-unit slots) per element;
    ``totals``: bytes read and written, when not per element (``memory.stream_traffic``);
    ``kept``: (input already on chip, output stays on chip) (``_kept``)."""
    elements = problem.vector_elements or problem.pregen_elements
    sizes, traffic = stream_traffic(elements, io[0], io[1], spec, totals)
    if kept[0] or kept[1]:
        traffic = _kept(traffic, kept)
    # the unit streams across chunk boundaries: the whole work's cycles, shared by the chunks
    cycles = _share(math.ceil(elements * ops_per_element), sizes)
    return _schedule(spec, cycles, traffic), traffic


def _stream_planned(
    problem: Problem,
    spec: AcceleratorSpec,
    schedule: TileSchedule,
    traffic: Traffic,
    *,
    notes: tuple[str, ...] = (),
    vector_flops: int = 0,
    pregen_elements: int = 0,
    input_from_chip: bool = False,
) -> PlannedProblem:
    """A streamed (non-array) problem's plan: its work plus the memory actions of ``traffic``."""
    levels = dict(traffic.bytes_by_level())
    counts = ActionCounts(
        vector_flops=vector_flops, pregen_elements=pregen_elements,
        **_memory_counts(levels, spec),
    )
    return PlannedProblem(problem=problem, mapping=None, schedule=schedule, counts=counts,
                          bytes_by_level=tuple(levels.items()), notes=notes,
                          input_from_chip=input_from_chip)  # fmt: skip


def _moved_bytes(problem: Problem, io: tuple[float, float]) -> tuple[int, int] | None:
    """Bytes a vector op reads and writes when its tensors are not its work's element count
    (``ops.Vector``: a pool reads its input once and writes fewer outputs than it visits)."""
    read, written = problem.vector_read, problem.vector_written
    if (read, written) in ((0, 0), (problem.vector_elements, problem.vector_elements)):
        return None
    return math.ceil(read * io[0]), math.ceil(written * io[1])


def _kept(traffic: Traffic, io_on_chip: tuple[bool, bool]) -> Traffic:
    """A vector op's traffic without the DRAM load of an input read from chip or the store of
    an output that stays (``simulator.residency``; a fused op keeps both on chip)."""
    load = np.zeros_like(traffic.load) if io_on_chip[0] else traffic.load
    store = np.zeros_like(traffic.store) if io_on_chip[1] else traffic.store
    dram = tuple((name, nbytes) for name, nbytes in traffic.dram
                 if not io_on_chip[0 if name == "input" else 1])  # fmt: skip
    return Traffic(load=load, store=store, dram=dram, sram_feed=traffic.sram_feed,
                   sram_result=traffic.sram_result,
                   metadata_bytes_fed=traffic.metadata_bytes_fed)  # fmt: skip


def _plan_vector(
    problem: Problem, spec: AcceleratorSpec, on_chip: bool,
    io_on_chip: tuple[bool, bool] = (False, False),
) -> PlannedProblem:  # fmt: skip
    if problem.op == VectorKind.OPTIMIZER.value:
        w = spec.precision.bytes_of(Operand.WEIGHT)
        io = (OPTIMIZER_BYTES_IN * w, OPTIMIZER_BYTES_OUT * w)
    else:
        io = (spec.precision.bytes_of(Operand.INPUT), spec.precision.bytes_of(Operand.OUTPUT))
    flops_per_element = problem.vector_flops / problem.vector_elements
    kept = (True, True) if on_chip else io_on_chip
    schedule, traffic = _plan_stream(problem, spec, flops_per_element / spec.vector.lanes, io,
                                     _moved_bytes(problem, io), kept)  # fmt: skip
    return _stream_planned(problem, spec, schedule, traffic, vector_flops=problem.vector_flops,
                           input_from_chip=io_on_chip[0])  # fmt: skip


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
    return _stream_planned(
        problem, spec, schedule, traffic, notes=(note,), pregen_elements=problem.pregen_elements
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


def _plan_one(
    problem: Problem,
    spec: AcceleratorSpec,
    fw: Exploit | None,
    on_chip: bool = False,
    io_on_chip: tuple[bool, bool] = (False, False),
    options: MapperOptions = FIXED,
) -> PlannedProblem:
    """``fw``: the forward pass's exploit (pre-generation only); ``on_chip``: a fused vector
    op whose data stays in the output buffer; ``options``: the mapper's (matrix work)."""
    if problem.is_matrix and spec.compute.simd is not None:
        return _plan_simd(problem, spec, io_on_chip)
    if spec.compute.cores > 1:
        if problem.is_matrix:
            return _plan_cores(problem, spec, io_on_chip, options)
        spec = vector_spec(spec)
    if problem.is_matrix:
        return _plan_matrix(problem, spec, io_on_chip, options)
    if problem.pass_ == Pass.VECTOR:
        return _plan_vector(problem, spec, on_chip, io_on_chip)
    if problem.pregen_elements == 0:
        return _empty_plan(problem, spec)
    if fw is None:
        raise ValueError(f"{problem.layer}: pre-generation needs its forward pass's exploit")
    return _plan_pregen(problem, spec, fw)


def _skips_weight(exploit: Exploit) -> bool:
    return bool(exploit.nm or exploit.group_size)


def _plan_with_dense(
    problem: Problem,
    spec: AcceleratorSpec,
    fw: Exploit | None,
    on_chip: bool,
    io_on_chip: tuple[bool, bool] = (False, False),
    options: MapperOptions = FIXED,
    dense_problem: Problem | None = None,
) -> PlannedProblem:
    """``problem``'s plan with its dense baseline's (``dense_problem``: ``_dense_of(problem)``
    when already made)."""
    planned = _plan_one(problem, spec, fw, on_chip, io_on_chip, options)
    dense_problem, dense = dense_problem or _dense_of(problem), None
    if dense_problem is not problem:
        if _same_as_dense(planned, dense_problem, spec):
            twin = _as_problem(planned, dense_problem, None, "")
        else:
            twin = _plan_one(dense_problem, spec, fw, io_on_chip=io_on_chip, options=options)
        dense = _with_energy(twin, spec, None, detail=False)
    return _with_energy(planned, spec, dense)


def _nameless(problem: Problem) -> tuple[Problem, Problem]:
    """``problem`` without its names (plans are shared by shape), and its ``_dense_of``."""
    nameless = replace(problem, layer="", fused_with="")
    return nameless, _dense_of(nameless)


def _dense_of(problem: Problem) -> Problem:
    """``problem.dense()``, or ``problem`` itself when that equals it."""
    dense = problem.dense()
    return problem if dense == problem else dense


def _same_as_dense(planned: PlannedProblem, dense: Problem, spec: AcceleratorSpec) -> bool:
    """Whether ``dense`` (``planned``'s problem made dense) would get the same plan: a matrix
    plan depends on its problem only through its dims and ``mapping.choose_exploit`` (and
    a real mask), so the same exploit means the same plan (e.g. a weight-gradient pass the
    spec runs dense anyway); its ``schedule`` object is then shared too."""
    p, mapping = planned.problem, planned.mapping
    if mapping is None or p.b_pattern.mask is not None:
        return False
    return choose_exploit(dense, spec) == mapping.exploit


def _with_energy(
    planned: PlannedProblem, spec: AcceleratorSpec, dense: PlannedProblem | None,
    detail: bool = True,
) -> PlannedProblem:  # fmt: skip
    """``planned`` with its energy, its dense baseline and (unless ``detail`` is off: a dense
    baseline's is never reported) its mapping detail (built directly: ``replace`` is slow)."""
    energy = energy_pj(planned.counts, spec)
    return PlannedProblem(
        problem=planned.problem,
        mapping=planned.mapping,
        schedule=planned.schedule,
        counts=planned.counts,
        bytes_by_level=planned.bytes_by_level,
        notes=planned.notes,
        dense=dense,
        producer=planned.producer,
        energy_pj=energy,
        tiling=planned.tiling,
        sram_bytes=planned.sram_bytes,
        input_from_chip=planned.input_from_chip,
        mapping_text=planned.mapping_text,
        orientation=planned.orientation,
        stream_bytes=planned.stream_bytes,
        cores=planned.cores,
        kernel=planned.kernel,
        energy_total_pj=sum(v for _, v in energy),
        detail=_mapping_detail(planned) if detail else (),
    )


PLAN_CACHE_SIZE = 8192
"""Plans kept per spec across calls (``_shared_plan``); a cache is emptied at this size."""

timing_of: PerObject[TileSchedule, Timing] = PerObject(analytical_timing, PLAN_CACHE_SIZE)
"""``analytical_timing``, once per schedule object (shared plans share schedules;
``simulator.objects``), with the same bound as the plan cache: the exact scoring of the
mapper's candidates (``_score``) and the analytical engine time the winner once."""

PLAN_CACHE_SPECS = 4
"""Specs whose plans are kept (a design-space sweep visits many once each: bounded memory)."""

_Plans = dict[PrecisionSpec, dict[tuple, PlannedProblem]]
"""One spec's plan caches under one set of mapper options, one per problem precision."""

_plans: dict[tuple[AcceleratorSpec, MapperOptions], _Plans] = {}


class _ShapeKey:
    """``problem``'s fields but its names (``fields``), hashed once: a plan cache looks one up
    for every (layer, pass) of every call."""

    __slots__ = ("_hash", "fields")

    def __init__(self, fields: tuple) -> None:
        self.fields, self._hash = fields, hash(fields)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, _ShapeKey) and self._hash == other._hash
                                 and self.fields == other.fields)  # fmt: skip


def _shape_key(problem: Problem) -> _ShapeKey | None:
    """``problem``'s fields but its names, to share plans between same-shape layers and calls;
    ``None`` when a real mask makes it unique (masks do not take part in pattern equality)."""
    p = problem
    if p.b_pattern.mask is not None or not (p.is_matrix or p.vector_elements or p.pregen_elements):
        return None
    return _ShapeKey((p.op, p.pass_, p.m, p.n, p.k, p.count, p.b_pattern, p.a_density,
                      p.weight_density, p.vector_elements, p.vector_flops, p.vector_read,
                      p.vector_written, p.pregen_elements, p.weight_pattern,
                      p.backward, p.conv))  # fmt: skip


def _shared_plan(
    problem: Problem,
    shape: _ShapeKey | None,
    nameless: tuple[Problem, Problem] | None,
    spec: AcceleratorSpec,
    fw: Exploit | None,
    on_chip: bool,
    plans: dict[tuple, PlannedProblem],
    io_on_chip: tuple[bool, bool] = (False, False),
    options: MapperOptions = FIXED,
) -> PlannedProblem:
    """The plan of ``problem`` (of ``_shape_key`` ``shape``; ``nameless``: ``problem``
    without its names and its ``_dense_of``, or ``None`` to make them): made once per shape,
    fusion state and forward exploit in ``plans`` (``spec``'s cache for its mapper options
    and precision), then shared by same-shape layers and later calls (plans are immutable;
    only ``problem`` differs)."""
    if shape is None:
        return _plan_with_dense(problem, spec, fw, on_chip, io_on_chip, options)
    key = (shape, on_chip, fw, io_on_chip)
    hit = plans.get(key)
    if hit is None:
        if len(plans) >= PLAN_CACHE_SIZE:
            plans.clear()
        if nameless is None:
            nameless = _nameless(problem)
        hit = plans[key] = _plan_with_dense(nameless[0], spec, fw, on_chip, io_on_chip, options,
                                            nameless[1])  # fmt: skip
    return hit


def _spec_plans(spec: AcceleratorSpec, options: MapperOptions) -> _Plans:
    """``spec``'s plan caches under ``options``, one per problem precision
    (``simulator.precision``; hashing a spec is slow: done once per ``plan`` call)."""
    key = (spec, options)
    if key not in _plans and len(_plans) >= PLAN_CACHE_SPECS:
        _plans.clear()
    return _plans.setdefault(key, {})


def _as_problem(
    planned: PlannedProblem, problem: Problem, producer: int | None, note: str
) -> PlannedProblem:
    """A shared plan relabelled for ``problem`` (built directly: ``replace`` is slow)."""
    return PlannedProblem(
        problem=problem,
        mapping=planned.mapping,
        schedule=planned.schedule,
        counts=planned.counts,
        bytes_by_level=planned.bytes_by_level,
        notes=(*planned.notes, note) if note else planned.notes,
        dense=planned.dense,
        producer=producer,
        energy_pj=planned.energy_pj,
        tiling=planned.tiling,
        sram_bytes=planned.sram_bytes,
        input_from_chip=planned.input_from_chip,
        mapping_text=planned.mapping_text,
        orientation=planned.orientation,
        stream_bytes=planned.stream_bytes,
        cores=planned.cores,
        kernel=planned.kernel,
        energy_total_pj=planned.energy_total_pj,
        detail=planned.detail,
    )


def _forward_layer_pass(problem: Problem) -> bool:
    """A layer's own forward work, which ``simulator.residency`` covers: a matrix ``FW`` pass
    or a standalone forward vector op (not an optimizer update, which carries its matrix
    layer's name)."""
    if problem.pass_ == Pass.FW:
        return True
    return (problem.pass_ == Pass.VECTOR and not problem.fused_with and not problem.backward
            and problem.op != VectorKind.OPTIMIZER.value)  # fmt: skip


def _fused_on_chip(made: PlannedProblem, spec: AcceleratorSpec) -> bool:
    """Whether a vector op fused with ``made`` post-processes its output tiles on chip (a
    simd kernel applies it in registers)."""
    if made.kernel is not None:
        return True
    if made.mapping is None:
        return False
    if made.tiling is not None:
        return made.tiling.fits
    return output_tile_fits(made.problem, made.mapping, spec)


@dataclass(frozen=True, slots=True)
class _Lowered:
    """A workload's problems (``lower``) with what ``plan`` reads of each on every call,
    worked out once: its layer, ``_shape_key``, the shape's problem without names and its
    dense twin (``_nameless``), whether it is a layer's own forward work
    (``_forward_layer_pass``), whether it runs at the spec's own precision (``simulator.
    precision.uses_spec_precision``), and the problems ``check_size`` must see (the first of
    each shape: its verdict depends on nothing else)."""

    problems: tuple[Problem, ...]
    layers: tuple[Layer, ...]
    shapes: tuple[_ShapeKey | None, ...]
    nameless: tuple[tuple[Problem, Problem] | None, ...]
    forward: tuple[bool, ...]
    plain: tuple[bool, ...]
    distinct: tuple[Problem, ...]


def _lowering(workload: Workload) -> _Lowered:
    problems = tuple(lower(workload))
    by_name = {layer.name: layer for layer in workload.layers}
    layers = tuple(by_name[p.layer] for p in problems)
    interned: dict[_ShapeKey, _ShapeKey] = {}  # one key object per shape: compared by identity
    shapes = tuple(None if (k := _shape_key(p)) is None else interned.setdefault(k, k)
                   for p in problems)  # fmt: skip
    distinct = []
    firsts: dict[_ShapeKey, tuple[Problem, Problem]] = {}  # one nameless problem per shape
    for problem, shape in zip(problems, shapes, strict=True):
        if shape is None:
            distinct.append(problem)
        elif shape not in firsts:
            distinct.append(problem)
            firsts[shape] = _nameless(problem)
    nameless = tuple(None if shape is None else firsts[shape] for shape in shapes)
    return _Lowered(problems=problems, layers=layers, shapes=shapes, nameless=nameless,
                    forward=tuple(_forward_layer_pass(p) for p in problems),
                    plain=tuple(uses_spec_precision(layer) for layer in layers),
                    distinct=tuple(distinct))  # fmt: skip


_lowered: PerObject[Workload, _Lowered] = PerObject(_lowering, PLAN_CACHE_SPECS)
"""``_lowering(workload)``, once per workload object (frozen; problems are immutable;
``simulator.objects``): a design-space sweep simulates one workload on every design."""


def _fusion_note(problem: Problem, on_chip: bool) -> str:
    note = f"fused with {problem.fused_with}"
    return note if on_chip else f"{note}; its output tile exceeds the output buffer: via DRAM"


def plan(
    workload: Workload, spec: AcceleratorSpec, *, mapper: MapperOptions = SEARCH
) -> list[PlannedProblem]:
    """Every (layer, pass) of ``workload`` mapped onto ``spec``, with its dense baseline.

    Pre-generation passes are kept only for layers whose forward pass reads a compressed
    weight (the spec exploits the pattern); otherwise there is nothing to re-compress.
    Fused vector ops point at their producer (module docstring). Forward passes whose input
    or output stays on chip between layers (``simulator.io_on_chip``) skip those DRAM
    transfers. Same-shape problems share one plan (only ``problem``, ``notes`` and
    ``producer`` differ). ``mapper``: searched
    mappings (default) or the fixed heuristic (``simulator.mapper``)."""
    fw: dict[str, Exploit] = {}
    by_precision = _spec_plans(spec, mapper)
    base_plans = by_precision.setdefault(spec.precision, {})
    resident = residency(workload, spec)
    index: dict[tuple[str, Pass], int] = {}
    out: list[PlannedProblem] = []
    lowered = _lowered(workload)
    check_size(lowered.distinct, spec)
    for i, problem in enumerate(lowered.problems):
        exploit = fw.get(problem.layer) if problem.pass_ == Pass.PREGEN else None
        if exploit is not None and not _skips_weight(exploit):
            continue
        layer, shape, nameless = lowered.layers[i], lowered.shapes[i], lowered.nameless[i]
        dequant = problem.op == DEQUANT_OP
        if dequant:  # simulator.precision: only for weights the array cannot read as stored
            if not dequant_needed(layer, spec.precision):
                continue
            problem = dequant_problem(problem, fw[problem.layer])
            shape, nameless = _shape_key(problem), None
        index[problem.layer, problem.pass_] = len(out)
        producer, on_chip, note = None, False, ""
        if problem.fused_with:
            producer = _producer(index, problem)
            made = out[producer]
            on_chip = dequant or _fused_on_chip(made, spec)
            note = _fusion_note(problem, on_chip)
        kept = _kept_on_chip(resident.get(problem.layer), problem, lowered.forward[i])
        pspec, plans = spec, base_plans
        if not lowered.plain[i]:
            pspec = spec_for(spec, problem_precision(layer, problem, spec.precision))
            if pspec is not spec:
                plans = by_precision.setdefault(pspec.precision, {})
        planned = _shared_plan(problem, shape, nameless, pspec, exploit, on_chip, plans, kept,
                               mapper)  # fmt: skip
        if problem.pass_ == Pass.FW and planned.mapping is not None:
            fw[problem.layer] = planned.mapping.exploit
        elif problem.pass_ == Pass.FW and planned.kernel is not None:  # simulator.simd
            fw[problem.layer] = planned.kernel.exploit
        out.append(_as_problem(planned, problem, producer, note))
    return out


def _kept_on_chip(stays: Residency | None, problem: Problem, forward: bool) -> tuple[bool, bool]:
    """(input on chip, output stays on chip) of a problem by ``simulator.residency``: a
    layer's own forward work as it says, its backward-data pass reading the gradient from
    chip when ``grad_on_chip``, anything else through DRAM."""
    if stays is None:
        return False, False
    if forward:
        return stays.input_on_chip, stays.output_on_chip
    return (problem.pass_ == Pass.BW_DATA and stays.grad_on_chip), False


def _producer(index: dict[tuple[str, Pass], int], problem: Problem) -> int:
    """The plan a fused vector problem overlaps: its producer's ``FW`` pass, or for backward
    work its ``BW_DATA`` pass, else (no input gradient: ``lower.lower``) its ``BW_WEIGHT``."""
    if not problem.backward:
        return index[problem.fused_with, Pass.FW]
    hit = index.get((problem.fused_with, Pass.BW_DATA))
    return hit if hit is not None else index[problem.fused_with, Pass.BW_WEIGHT]


def overlap_fused(plans: list[PlannedProblem], timings: list[Timing]) -> list[Timing]:
    """``timings`` (one per plan, each timed on its own) with every fused vector op reduced to
    the cycles it adds beyond its producer's: a producer of ``P`` cycles and its fused ops
    ``V1, V2, ...`` cost ``max(P, V1 + V2 + ...)`` together (module docstring)."""
    out = list(timings)
    chained: dict[int, int] = {}  # producer index -> own cycles of its fused ops so far
    for i, planned in enumerate(plans):
        if planned.producer is None:
            continue
        own, producer = timings[i], timings[planned.producer].cycles
        before = chained.get(planned.producer, 0)
        chained[planned.producer] = before + own.cycles
        added = max(producer, before + own.cycles) - max(producer, before)
        compute = min(own.compute_cycles, added)
        out[i] = Timing(
            cycles=added,
            compute_cycles=compute,
            stall_cycles=added - compute,
            bound=own.bound,
            overlapped_cycles=own.cycles - added,
            busy=own.busy,
        )
    return out


def _utilization(planned: PlannedProblem, timing: Timing, spec: AcceleratorSpec) -> float:
    """Busy MACs (or vector FLOPs) over the peak of every core for the layer's time."""
    cores = spec.compute.cores
    if planned.mapping is not None or planned.kernel is not None:
        busy, peak = planned.issued_macs, spec.compute.peak_macs_per_cycle * cores
    else:
        busy, peak = planned.counts.vector_flops, spec.vector.lanes * cores
    cycles = timing.cycles + timing.overlapped_cycles
    return busy / (cycles * peak) if cycles else 0.0


def _bound(planned: PlannedProblem, timing: Timing) -> str:
    """The engine's bound; a simd kernel's ``compute`` is refined to what set its steps."""
    if planned.kernel is not None and timing.bound == "compute":
        return planned.kernel.bound
    return timing.bound


def layer_result(
    planned: PlannedProblem, timing: Timing, dense_timing: Timing, spec: AcceleratorSpec
) -> LayerResult:
    """The ``LayerResult`` of one planned problem given the engine's timings (sparse, dense)."""
    p = planned.problem
    dense = planned.dense or planned
    static = static_energy_pj(timing.cycles, spec)
    energy = (*planned.energy_pj[:-1], ("static", static))
    dense_energy = dense.energy_total_pj + static_energy_pj(dense_timing.cycles, spec)
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
        utilization=_utilization(planned, timing, spec),
        dense_macs=p.dense_macs,
        effective_macs=planned.issued_macs,
        energy_pj=energy,
        dense_energy_pj=dense_energy,
        bytes_by_level=planned.bytes_by_level,
        bound=_bound(planned, timing),
        notes=planned.notes,
        backward=p.backward,
        fused_with=p.fused_with,
        sram_bytes=planned.sram_bytes,
        input_from_chip=planned.input_from_chip,
        mapping=planned.mapping_text,
        mapping_detail=planned.detail,
        core_utilization=_core_utilization(planned, timing, spec),
        busy_cycles=timing.busy,
    )


def _mapping_detail(planned: PlannedProblem) -> tuple[tuple[str, object], ...]:
    """``mapper.mapping_detail`` with the cores a multi-core split used and the split."""
    detail = mapping_detail(planned.orientation, planned.tiling)
    use = planned.cores
    if use is None or not detail:
        return detail
    kept = tuple((key, use.active if key == "cores" else value) for key, value in detail)
    return (*kept, ("split", use.detail()))


def _core_utilization(
    planned: PlannedProblem, timing: Timing, spec: AcceleratorSpec
) -> tuple[float, ...]:
    """Per core of a multi-core split (``multicore.CoreUse.utilization``); empty otherwise."""
    if planned.cores is None:
        return ()
    cycles = timing.cycles + timing.overlapped_cycles
    return planned.cores.utilization(cycles, spec.compute.peak_macs_per_cycle)


def run_result(
    workload: Workload,
    spec: AcceleratorSpec,
    layers: list[LayerResult],
    engine: str,
    notes: tuple[str, ...] = (),
) -> RunResult:
    """Gather one engine's layer results into a ``RunResult`` (with ``lower.gradient_notes``)."""
    return RunResult(
        workload=workload.name,
        accel=spec.name,
        phase=workload.phase.value,
        engine=engine,
        freq_mhz=spec.compute.freq_mhz,
        layers=tuple(layers),
        notes=(*notes, *gradient_notes(workload)),
    )
