"""One design point, start to finish: overrides -> validated spec -> area -> constraints ->
``simulate`` per workload -> one ``Row`` per (design, workload). Runs in the workers.

Nothing a design point does stops the sweep: a spec the validator refuses is recorded as
``invalid`` with the validator's message, a failed constraint as ``infeasible``, an exception
of the simulator as ``error``.

Sharing between design points: all workloads of a design run back to back in one process, so
the simulator's per-spec plan cache serves same-shape layers across workloads (and a layer's
dense baseline); a point whose validated spec equals one already simulated in this process
(a duplicate proposal of the random or NSGA-II sampler, or axes that land on the same spec)
reuses its results (``_MEMO``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sparsim.accel.loader import spec_from_mapping
from sparsim.accel.spec import AcceleratorSpec
from sparsim.simulator.dse.area import AreaBreakdown, design_area
from sparsim.simulator.dse.objectives import RESULT_NAMES, objective_values
from sparsim.simulator.dse.store import Row
from sparsim.simulator.dse.sweep import Design, Sweep, WorkloadEntry, apply_overrides, spec_values
from sparsim.simulator.run import simulate
from sparsim.workloads.layer import Workload
from sparsim.workloads.yamlio import ConfigError

__all__ = ["evaluate_batch", "evaluate_design"]

_WORKLOADS: dict[tuple[str, str], Workload] = {}
_MEMO: OrderedDict[tuple[AcceleratorSpec, str], dict[str, float]] = OrderedDict()
_MEMO_SIZE = 4096


def _workload(sweep: Sweep, entry: WorkloadEntry) -> Workload:
    key = (sweep.spec_hash, entry.name)
    if key not in _WORKLOADS:
        _WORKLOADS[key] = entry.build()
    return _WORKLOADS[key]


def _rows(sweep: Sweep, key: str, status: str, reason: str,
          common: dict[str, Any]) -> list[Row]:  # fmt: skip
    """The same outcome for every workload of the design."""
    return [Row(design=key, workload=w.name, status=status, reason=reason,
                values=tuple((common | _workload_columns(w)).items()))
            for w in sweep.workloads]  # fmt: skip


def _workload_columns(entry: WorkloadEntry) -> dict[str, Any]:
    return {"weight": entry.weight, "model": entry.model, "sparsity": entry.sparsity}


def _area_columns(area: AreaBreakdown) -> dict[str, float]:
    return {"area_mm2": area.total_mm2, "area_pe_mm2": area.pe_array_mm2,
            "area_sram_mm2": area.sram_mm2, "area_vector_mm2": area.vector_mm2}  # fmt: skip


def _build(sweep: Sweep, design: Design) -> AcceleratorSpec:
    data = apply_overrides(sweep.base_mapping(), design.overrides(sweep))
    return spec_from_mapping(data, f"{sweep.base_name} (sweep {sweep.name})")


def _failed(constraints: Sequence[Any], values: dict[str, float]) -> str:
    failed = [c.text for c in constraints if not c(values)]
    return "violates " + "; ".join(failed) if failed else ""


def _simulate(spec: AcceleratorSpec, sweep: Sweep, entry: WorkloadEntry,
              area_mm2: float) -> dict[str, float]:  # fmt: skip
    key = (spec, f"{sweep.spec_hash}:{entry.name}")
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    workload = _workload(sweep, entry)
    values = objective_values(simulate(workload, spec), area_mm2)
    values["density"] = workload.layers[0].weight_sparsity.density if workload.layers else 1.0
    _MEMO[key] = values
    if len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return values


def evaluate_design(sweep: Sweep, design: Design) -> list[Row]:
    """Rows of one design point (module docstring)."""
    key, params = design.key(sweep), design.params(sweep)
    try:
        spec = _build(sweep, design)
    except (ConfigError, KeyError) as exc:
        return _rows(sweep, key, "invalid", _reason(exc), params)
    area = design_area(spec)
    common = params | _area_columns(area)
    names = spec_values(spec) | {k: v for k, v in params.items() if isinstance(v, int | float)}
    names |= {"area_mm2": area.total_mm2, "peak_macs_per_cycle": spec.compute.peak_macs_per_cycle,
              "sram_bytes": sum(b.size_bytes for _, b in spec.buffers)}  # fmt: skip
    pre = [c for c in sweep.constraints if not c.names & RESULT_NAMES]
    post = [c for c in sweep.constraints if c.names & RESULT_NAMES]
    if reason := _failed(pre, names):
        return _rows(sweep, key, "infeasible", reason, common)
    return [_workload_row(sweep, key, spec, entry, area, common, names, post)
            for entry in sweep.workloads]  # fmt: skip


def _workload_row(sweep: Sweep, key: str, spec: AcceleratorSpec, entry: WorkloadEntry,
                  area: AreaBreakdown, common: dict[str, Any], names: dict[str, float],
                  post: Sequence[Any]) -> Row:  # fmt: skip
    columns = common | _workload_columns(entry)
    try:
        values = _simulate(spec, sweep, entry, area.total_mm2)
    except Exception as exc:  # a simulator bug on one point must not stop the sweep
        return Row(design=key, workload=entry.name, status="error",
                   reason=f"{type(exc).__name__}: {exc}",
                   values=tuple(columns.items()))  # fmt: skip
    reason = _failed(post, names | values)
    return Row(design=key, workload=entry.name, status="infeasible" if reason else "ok",
               reason=reason, values=tuple((columns | values).items()))  # fmt: skip


def _reason(exc: Exception) -> str:
    if isinstance(exc, ConfigError):
        return "; ".join(line.split(": ", 1)[-1] for line in exc.problems)
    return str(exc.args[0] if exc.args else exc)


def evaluate_batch(sweep: Sweep, designs: Sequence[Design]) -> list[Row]:
    """Rows of every design of a batch (the unit of work sent to a worker)."""
    return [row for design in designs for row in evaluate_design(sweep, design)]

