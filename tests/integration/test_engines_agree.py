"""The event engine (simpy) and the analytical engine agree on the same plan.

Both use one DRAM timing (``simulator.perf`` docstring): a transfer holds the channel for
``ceil(bytes / bw)`` cycles, and with double buffering the latency is exposed only when the
pipeline fills (first load) and drains (last store). Why they can still differ
(``simulator.events`` docstring): the analytical engine is a lock-step pipeline, step ``t``
moving the next tile's load and the previous tile's store while tile ``t`` computes; the
event engine moves the same transfers over one shared channel without a step barrier. So:

* compute-bound in every step: both are ``xfer(L[0]) + sum(C) + xfer(S[-1])``: equal exactly;
* single-buffered: both are fully serial: equal exactly;
* memory-bound: the event engine may start a transfer before the barrier (saving the slack of
  uneven steps): within 5 %, never slower.

Bytes and energy come from the same plan and the same ``layer_result`` in both engines.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sparsim.accel.loader import load_spec
from sparsim.accel.spec import AcceleratorSpec
from sparsim.simulator.plan import plan
from sparsim.simulator.results import LayerResult, RunResult
from sparsim.simulator.run import simulate
from sparsim.simulator.schedule import TileSchedule
from sparsim.simulator.trace import TRACKS
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Conv2d, Linear, Vector, VectorKind
from sparsim.workloads.registry import get_workload
from sparsim.workloads.sparsity import NM

from tests.unit.simulator.conftest import make_spec

LATENCY_CYCLES = 10


def _spec(
    dram_gb_per_s: float, *, double_buffered: bool = True, buffer_bytes: int = 1 << 20
) -> AcceleratorSpec:
    """16x16 output-stationary array at 200 MHz, 2 multipliers per PE, 2:8 and 2:4 skipping."""
    return make_spec(
        rows=16, cols=16, multipliers=2, nm=((2, 8), (2, 4)), transposable=True,
        pregen_elements_per_cycle=64, buffer_bytes=buffer_bytes, dram_gb_per_s=dram_gb_per_s,
        latency_cycles=LATENCY_CYCLES, double_buffered=double_buffered, lanes=16, name="agree",
    )  # fmt: skip


def _workload(phase: Phase) -> Workload:
    conv = Conv2d(batch=1, in_channels=64, out_channels=96, height=20, width=20, padding=(1, 1))
    layers = (
        Layer(name="conv", op=conv),
        Layer(name="relu", op=Vector(kind=VectorKind.ACTIVATION, elements=96 * 400)),
        Layer(name="fc", op=Linear(tokens=48, in_features=384, out_features=200)),
    )
    dense = Workload(name="agree", layers=layers, phase=phase)
    return dense.with_weight_sparsity(NM(n=2, m=8, transposable=True))


def _steps_compute_bound(s: TileSchedule) -> bool:
    """Every lock-step step's transfers fit under its compute (``simulator.perf`` closed form,
    steady-state latency hidden: ``ceil(L[t+1] / bw) + ceil(S[t-1] / bw) <= C[t]``)."""
    n, bw = s.tiles, s.dram_bytes_per_cycle
    for t in range(n):
        load = int(s.load_bytes[t + 1]) if t + 1 < n else 0
        store = int(s.store_bytes[t - 1]) if t else 0
        if math.ceil(load / bw) + math.ceil(store / bw) > s.compute_cycles[t]:
            return False
    return True


def _fused(r: LayerResult) -> bool:
    return any(note.startswith("fused with") for note in r.notes)


def _both(workload: Workload, spec: AcceleratorSpec) -> tuple[RunResult, RunResult]:
    return simulate(workload, spec), simulate(workload, spec, engine="event")


def _same_costs(a: RunResult, e: RunResult) -> None:
    """The same layers in the same order (bytes and energy come from the one plan both engines
    time, so comparing them would compare the plan with itself: not done)."""
    assert [(r.layer, r.pass_) for r in a.layers] == [(r.layer, r.pass_) for r in e.layers]


def _reference_cycles(s: TileSchedule) -> int:
    """The double-buffered lock-step pipeline of the ``simulator.perf`` docstring stepped tile
    by tile in plain Python, from the schedule's arrays: written here from the docstring, not
    shared with either engine. A tile is busy for the largest of its compute and port cycles."""
    bw, lat, n = s.dram_bytes_per_cycle, s.dram_latency_cycles, s.tiles
    loads, stores = [int(b) for b in s.load_bytes], [int(b) for b in s.store_bytes]
    busy = [max([int(s.compute_cycles[t])] + [int(p[t]) for _, p in s.port_cycles])
            for t in range(n)]  # fmt: skip

    def channel(b: int) -> int:
        return math.ceil(b / bw) if b else 0

    total = channel(loads[0]) + lat if loads[0] else 0
    for t in range(n):
        moving = (channel(loads[t + 1]) if t + 1 < n else 0) + (channel(stores[t - 1]) if t else 0)
        if t == 0 and loads[0]:
            moving = max(0, moving - lat)  # load 1 streams during load 0's latency
        total += max(busy[t], moving)
    return total + (channel(stores[-1]) + lat if stores[-1] else 0)


@pytest.mark.parametrize("gb_per_s", [1e4, 2.0, 0.02])
def test_analytical_matches_an_independent_reference(gb_per_s: float):
    """Two independent computations of the same schedules: ``perf``'s numpy closed form and
    the plain-Python stepping above; the event engine is then held to the reference."""
    spec = _spec(gb_per_s, buffer_bytes=8192)
    workload = _workload(Phase.TRAINING)
    plans = plan(workload, spec)
    assert max(p.schedule.tiles for p in plans) > 4  # small buffers: multi-tile schedules
    a, e = _both(workload, spec)
    for planned, ra, re_ in zip(plans, a.layers, e.layers, strict=True):
        if planned.producer is not None:  # fused: its own time overlaps the producer's
            continue
        reference = _reference_cycles(planned.schedule)
        assert ra.cycles == reference, (ra.layer, ra.pass_)
        assert re_.cycles <= reference and re_.cycles >= 0.95 * reference, (ra.layer, ra.pass_)


@pytest.mark.parametrize("phase", [Phase.INFERENCE, Phase.TRAINING])
def test_exactly_equal_when_compute_bound(phase: Phase):
    spec, workload = _spec(1e4), _workload(phase)  # 50,000 bytes per cycle
    plans = plan(workload, spec)
    assert all(_steps_compute_bound(p.schedule) for p in plans)  # the premise holds
    a, e = _both(workload, spec)
    _same_costs(a, e)
    for ra, re_ in zip(a.layers, e.layers, strict=True):
        got = (re_.cycles, re_.stall_cycles, re_.dense_cycles, re_.bound, re_.utilization)
        assert got == (ra.cycles, ra.stall_cycles, ra.dense_cycles, ra.bound, ra.utilization)
    assert e.engine == "event" and e.cycles == a.cycles


@pytest.mark.parametrize("phase", [Phase.INFERENCE, Phase.TRAINING])
def test_within_five_percent_when_memory_bound(phase: Phase):
    spec, workload = _spec(0.02), _workload(phase)  # 0.1 bytes per cycle
    a, e = _both(workload, spec)
    _same_costs(a, e)
    for ra, re_ in zip(a.layers, e.layers, strict=True):
        # a fused op's data stays on chip (simulator.run): only its producer waits on DRAM
        assert ra.bound == re_.bound == ("compute" if _fused(ra) else "DRAM"), ra.layer
        assert re_.cycles <= ra.cycles  # no step barrier: never slower (module docstring)
        assert re_.cycles >= 0.95 * ra.cycles, (ra.layer, ra.pass_, ra.cycles, re_.cycles)


def test_single_buffered_exactly_equal_at_any_bandwidth():
    for gb_per_s in (0.02, 1.0, 1e4):
        spec = _spec(gb_per_s, double_buffered=False)
        a, e = _both(_workload(Phase.TRAINING), spec)
        assert [r.cycles for r in e.layers] == [r.cycles for r in a.layers], gb_per_s


MANY_TILES = 4
"""Memory-bound layers with more tiles than this are held to 5 %; with fewer, one uneven step
is a large share of the layer (the whole-run total still holds them)."""


def _check_agreement(a: RunResult, e: RunResult, plans: list) -> None:
    """The issue's criterion: equal exactly when compute-bound, within 5 % when memory-bound
    (per layer with more than ``MANY_TILES`` tiles, and on the whole run); never slower."""
    for ra, re_, planned in zip(a.layers, e.layers, plans, strict=True):
        if ra.bound == "compute" and not _fused(ra):
            assert re_.cycles == ra.cycles, (ra.layer, ra.pass_)
        elif planned.schedule.tiles > MANY_TILES and not _fused(ra):
            assert 0.95 * ra.cycles <= re_.cycles <= ra.cycles, (ra.layer, ra.pass_)
    assert 0.95 * a.cycles <= e.cycles <= a.cycles


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_resnets_on_sat_training_agree(name: str):
    spec = load_spec("sat")
    workload = get_workload(name).with_phase(Phase.TRAINING)
    workload = workload.with_weight_sparsity(NM(n=2, m=8, transposable=True))
    a, e = _both(workload, spec)
    _same_costs(a, e)
    _check_agreement(a, e, plan(workload, spec))


def test_resnet18_on_sat_agrees_and_is_traced(tmp_path: Path):
    spec = load_spec("sat")
    workload = get_workload("resnet18").with_weight_sparsity(NM(n=2, m=8, transposable=True))
    a = simulate(workload, spec)
    e = simulate(workload, spec, engine="event", trace_path=tmp_path / "trace.json")
    _check_agreement(a, e, plan(workload, spec))
    events = json.loads((tmp_path / "trace.json").read_text(encoding="utf-8"))["traceEvents"]
    problems = [ev for ev in events if ev["ph"] == "X" and ev["tid"] == 0]
    assert len(problems) == sum(1 for r in e.layers if r.cycles and not _fused(r))
    fused = [ev for ev in events if ev["ph"] == "X" and ev["tid"] == TRACKS.index("fused")]
    assert len(fused) == sum(1 for r in e.layers if _fused(r))
    end_us = max(ev["ts"] + ev["dur"] for ev in problems)
    assert end_us == pytest.approx(e.cycles / spec.compute.freq_mhz)  # cycles / (cycles/µs)


def test_shared_buffer_ports_are_traced_one_track_each(tmp_path: Path):
    """``mobile_npu`` has one shared buffer: every operand's streams go through its read and
    write ports, each a resource of the event engine with its own trace track, busy in all for
    exactly the port cycles the plan charges (its tiles, times the problems that run them)."""
    spec = load_spec("mobile_npu")
    workload = get_workload("resnet18")
    a = simulate(workload, spec)
    e = simulate(workload, spec, engine="event", trace_path=tmp_path / "trace.json")
    plans = plan(workload, spec)
    _check_agreement(a, e, plans)
    expected: dict[str, int] = {}
    for planned in plans:
        for port, cycles in planned.schedule.port_cycles:
            expected[port] = expected.get(port, 0) + int(cycles.sum())
    assert set(expected) == {"shared buffer read port", "shared buffer write port"}
    events = json.loads((tmp_path / "trace.json").read_text(encoding="utf-8"))["traceEvents"]
    names = {ev["tid"]: ev["args"]["name"] for ev in events if ev["name"] == "thread_name"}
    assert sorted(names.values()) == sorted([*TRACKS, *expected])
    busy = {port: 0.0 for port in expected}
    for ev in events:
        if ev["ph"] == "X" and names[ev["tid"]] in busy:
            busy[names[ev["tid"]]] += ev["dur"]
    for port, cycles in expected.items():  # µs back to cycles at the spec's clock
        assert busy[port] * spec.compute.freq_mhz == pytest.approx(cycles), port
