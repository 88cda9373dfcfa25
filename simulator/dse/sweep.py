"""Sweep spec YAML -> validated ``Sweep``: axes, constraints, workloads, objectives, sampler.

Schema (``configs/dse/*.yaml``; every problem is reported at once with file and YAML path)::

    name: nm_training                 # required
    description: "..."                # optional
    base: sat                         # required: shipped accelerator name, or a YAML path
                                      # (relative to this file)
    axes:                             # required, >= 1; each overrides spec fields by YAML path
      - path: compute.multipliers_per_pe
        values: [1, 2, 4]             # any YAML values (lists of N:M entries too)
        labels: ["x1", "x2", "x4"]    # optional: how values show in tables and plots
      - path: dram.bandwidth_gb_per_s
        range: {start: 9.6, stop: 38.4, step: 9.6}     # stop included
      - path: buffers.weight.size_bytes
        log_range: {start: 262144, stop: 4194304, factor: 2}
      - name: array                   # tied: several paths move together, one value each
        tied: {compute.rows: [16, 32], compute.cols: [16, 64]}
    constraints:                      # optional; expressions over spec paths, axis names,
      - "compute.rows * compute.cols * compute.multipliers_per_pe <= 4096"   # area_mm2,
      - "area_mm2 <= 40"              # and (checked per row) simulated objectives (power_mw)
    workloads:                        # required, >= 1
      - {model: resnet50, sparsity: "2:8t", phase: training, weight: 1, batch: 1}
    objectives: [latency_ms, energy_mj, area_mm2]     # required, names of OBJECTIVES
    sampler: {kind: grid}             # grid | random (samples, seed) | nsga2 (samples,
                                      # population, seed; needs the `dse` extra: optuna)
    batch_size: 16                    # designs per task and per store transaction

An axis path names any key of the accelerator YAML (``sparsity.nm[0].m`` indexes a list), so
knobs added to the spec later need no code here. A design point is the base YAML with its
overrides applied, validated by ``accel.loader.spec_from_mapping``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sparsim.accel.configs import config_path
from sparsim.accel.loader import spec_from_mapping
from sparsim.accel.spec import AcceleratorSpec
from sparsim.simulator.dse.expr import Expression, ExpressionError, parse_expression
from sparsim.simulator.dse.objectives import OBJECTIVES, RESULT_NAMES
from sparsim.workloads._schema import REQUIRED, Section, items, root
from sparsim.workloads.layer import Phase, Workload
from sparsim.workloads.registry import get_workload
from sparsim.workloads.sparsity import SparsityError, parse_sparsity
from sparsim.workloads.yamlio import ConfigError, Problems, load_yaml

__all__ = [
    "DERIVED_NAMES",
    "SAMPLERS",
    "Axis",
    "Design",
    "Sweep",
    "WorkloadEntry",
    "apply_overrides",
    "expand",
    "load_sweep",
    "locality_order",
    "spec_values",
    "sweep_from_mapping",
]

SAMPLERS = ("grid", "random", "nsga2")
DERIVED_NAMES = frozenset({"area_mm2", "peak_macs_per_cycle", "sram_bytes"})
_TOP_KEYS = ("name", "description", "base", "axes", "constraints", "workloads", "objectives",
             "sampler", "batch_size")  # fmt: skip
_PATH_RE = re.compile(r"^[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*$")
_MAX_RANGE_VALUES = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Axis:
    """One swept dimension: ``paths`` (one, or several tied) and, per step, one value per path
    (JSON text: values may be lists or mappings) and the label shown in tables."""

    name: str
    paths: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]
    labels: tuple[str | float, ...]

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkloadEntry:
    """One workload of the sweep and how much it counts (``weight``)."""

    name: str
    model: str
    batch: int
    params: tuple[tuple[str, Any], ...]
    sparsity: str
    phase: str
    weight: float

    def build(self) -> Workload:
        """The workload with its sparsity recipe and phase applied."""
        workload = get_workload(self.model, batch=self.batch, **dict(self.params))
        return workload.with_weight_sparsity(parse_sparsity(self.sparsity)).with_phase(self.phase)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sampler:
    kind: str
    samples: int = 0
    population: int = 0
    seed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Sweep:
    """A validated sweep spec. ``base_json``: the base accelerator's YAML mapping as JSON text
    (immutable; every design point starts from a fresh copy); ``spec_hash``: hash of the sweep
    and base YAML, stored with results so a changed spec is never resumed into."""

    name: str
    description: str
    source: str
    base_name: str
    base_json: str
    axes: tuple[Axis, ...]
    constraints: tuple[Expression, ...]
    workloads: tuple[WorkloadEntry, ...]
    objectives: tuple[str, ...]
    sampler: Sampler
    batch_size: int
    spec_hash: str

    @property
    def size(self) -> int:
        """Number of grid points."""
        return math.prod(len(a) for a in self.axes)

    def base_mapping(self) -> dict:
        return json.loads(self.base_json)


@dataclass(frozen=True, slots=True, kw_only=True)
class Design:
    """One design point: an index into each axis (``None`` for all: the unmodified base)."""

    choice: tuple[int, ...] | None

    def key(self, sweep: Sweep) -> str:
        """Stable id: a hash of the overrides (the same point keeps its id across runs)."""
        text = json.dumps(self.overrides(sweep), sort_keys=True)
        return "base" if self.choice is None else hashlib.sha1(text.encode()).hexdigest()[:16]

    def overrides(self, sweep: Sweep) -> list[tuple[str, str]]:
        """(path, JSON value) for every path this point sets."""
        if self.choice is None:
            return []
        return [(path, value) for axis, i in zip(sweep.axes, self.choice, strict=True)
                for path, value in zip(axis.paths, axis.values[i], strict=True)]  # fmt: skip

    def params(self, sweep: Sweep) -> dict[str, str | float | None]:
        """Axis name -> label (``None`` for the base design)."""
        if self.choice is None:
            return {a.name: None for a in sweep.axes}
        return {a.name: a.labels[i] for a, i in zip(sweep.axes, self.choice, strict=True)}


# --- overrides by YAML path -----------------------------------------------------------------


def _path_parts(path: str) -> list[str | int]:
    """``sparsity.nm[0].n`` -> ``["sparsity", "nm", 0, "n"]``."""
    parts: list[str | int] = []
    for token in path.split("."):
        name, *indices = token.split("[")
        parts.append(name)
        parts.extend(int(i.rstrip("]")) for i in indices)
    return parts


def _set_path(data: dict, path: str, value: Any) -> None:
    """Set ``value`` at ``path`` in ``data``, creating missing mappings; raise ``KeyError``
    with a message when the path runs through a non-mapping or past a list's end."""
    parts = _path_parts(path)
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise KeyError(f"{path}: no list item [{part}] in the base spec")
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise KeyError(f"{path}: {part!r} is inside a non-mapping")
        if node.get(part) is None:
            node[part] = [] if isinstance(parts[i + 1], int) else {}
        node = node[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise KeyError(f"{path}: no list item [{last}] in the base spec")
    elif not isinstance(node, dict):
        raise KeyError(f"{path}: {last!r} is inside a non-mapping")
    node[last] = value


def apply_overrides(base: Mapping, overrides: Sequence[tuple[str, str]]) -> dict:
    """A fresh copy of ``base`` with each (path, JSON value) set."""
    data = json.loads(json.dumps(base))
    for path, value in overrides:
        _set_path(data, path, json.loads(value))
    return data


def spec_values(spec: AcceleratorSpec) -> dict[str, float]:
    """Every numeric field of ``spec`` by YAML path (``compute.rows``, ``buffers.weight.
    size_bytes``, ``sparsity.nm[0].m``), bools as 0/1: the names a constraint may read."""
    out: dict[str, float] = {}
    _flatten(spec, "", out)
    return out


def _flatten(value: Any, prefix: str, out: dict[str, float]) -> None:
    slots = getattr(type(value), "__slots__", None)
    if slots and hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            _flatten(getattr(value, name), f"{prefix}.{name}" if prefix else name, out)
    elif isinstance(value, tuple) and all(
        isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value
    ):
        for key, item in value:
            _flatten(item, f"{prefix}.{key}", out)
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}[{i}]", out)
    elif isinstance(value, bool | int | float) and not isinstance(value, str):
        out[prefix] = float(value)


# --- the loader -----------------------------------------------------------------------------


def _label(value: Any) -> str | float:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    return json.dumps(value, separators=(",", ":"))


def _range_values(sec: Section, key: str) -> list[Any] | None:
    """The values of a ``range`` (stop included) or ``log_range`` (start x factor^i)."""
    inner = sec.section(key)
    if inner is None:
        return None
    log = key == "log_range"
    inner.allow(("start", "stop", "factor") if log else ("start", "stop", "step"))
    start = inner.number("start", positive=log)
    stop = inner.number("stop", positive=log)
    step = inner.number("factor" if log else "step", positive=True)
    if None in (start, stop, step):
        return None
    if stop < start or (log and step <= 1):
        inner.add(None, "needs stop >= start" + (" and factor > 1" if log else ""))
        return None
    count = (math.log(stop / start) / math.log(step) if log else (stop - start) / step) + 1e-9
    if count >= _MAX_RANGE_VALUES:
        inner.add(None, f"gives more than {_MAX_RANGE_VALUES} values")
        return None
    values = [start * step**i if log else start + step * i for i in range(int(count) + 1)]
    ints = all(isinstance(v, int) for v in (start, stop, step))
    return [round(v) if ints else round(v, 12) for v in values]


def _value_list(sec: Section, key: str) -> list[Any] | None:
    value = sec.data[key]
    if not isinstance(value, list) or not value:
        sec.add(key, "must be a non-empty list of values")
        return None
    return list(value)


def _check_path(sec: Section, key: str, path: Any) -> bool:
    if isinstance(path, str) and _PATH_RE.match(path):
        return True
    sec.add(key, f"must be a YAML path like compute.rows or sparsity.nm[0].m, not {path!r}")
    return False


def _plain_axis(sec: Section) -> Axis | None:
    kinds = [k for k in ("values", "range", "log_range") if k in sec.data]
    if len(kinds) != 1:
        sec.add(None, "give exactly one of values, range, log_range (or tied with a name)")
        return None
    path = sec.data.get("path")
    if not _check_path(sec, "path", path):
        return None
    values = _value_list(sec, "values") if kinds[0] == "values" else _range_values(sec, kinds[0])
    if values is None:
        return None
    labels = _labels(sec, values)
    name = sec.text("name", path)
    if labels is None or name is None:
        return None
    return Axis(name=name, paths=(str(path),), values=tuple((json.dumps(v),) for v in values),
                labels=labels)  # fmt: skip


def _labels(sec: Section, values: list[Any]) -> tuple[str | float, ...] | None:
    if "labels" not in sec.data:
        return tuple(_label(v) for v in values)
    labels = sec.data["labels"]
    if not isinstance(labels, list) or len(labels) != len(values):
        sec.add("labels", f"must be a list of {len(values)} labels, one per value")
        return None
    return tuple(v if isinstance(v, int | float) and not isinstance(v, bool) else str(v)
                 for v in labels)


def _tied_axis(sec: Section) -> Axis | None:
    tied, name = sec.section("tied"), sec.text("name")
    if tied is None or name is None:
        return None
    columns = {path: _value_list(tied, path) for path in tied.data if _check_path(tied, path, path)}
    lengths = {len(v) for v in columns.values() if v is not None}
    if not columns or None in columns.values():
        return None
    if len(lengths) != 1:
        tied.add(None, "tied paths must list the same number of values")
        return None
    rows = list(zip(*columns.values(), strict=True))
    labels = _labels(sec, [list(r) for r in rows]) if "labels" in sec.data else tuple(
        "/".join(str(_label(v)) for v in r) for r in rows
    )
    if labels is None:
        return None
    values = tuple(tuple(json.dumps(v) for v in r) for r in rows)
    return Axis(name=name, paths=tuple(columns), values=values, labels=labels)


def _axis(sec: Section | None) -> Axis | None:
    if sec is None:
        return None
    sec.allow(("path", "name", "values", "range", "log_range", "labels", "tied"))
    if "tied" in sec.data:
        if "path" in sec.data:
            sec.add("path", "a tied axis lists its paths under tied:")
            return None
        return _tied_axis(sec)
    return _plain_axis(sec)


def _axes(top: Section) -> tuple[Axis, ...]:
    axes = [a for a in (_axis(sec) for sec in items(top, "axes", required=True)) if a is not None]
    names = [a.name for a in axes]
    paths = [p for a in axes for p in a.paths]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        top.add("axes", f"axis name {dup!r} is used twice")
    for dup in sorted({p for p in paths if paths.count(p) > 1}):
        top.add("axes", f"path {dup!r} is swept by two axes")
    return tuple(axes)


def _workload(sec: Section | None, base_dir: Path) -> WorkloadEntry | None:
    if sec is None:
        return None
    sec.allow(("name", "model", "batch", "params", "sparsity", "phase", "weight"))
    model, batch = sec.text("model"), sec.integer("batch", 1, lo=1)
    sparsity, phase = sec.text("sparsity", "dense"), sec.choice("phase", [p.value for p in Phase],
                                                                 "inference")
    weight = sec.number("weight", 1.0, positive=False)
    params = sec.section("params")
    if None in (model, batch, sparsity, phase, weight):
        return None
    if model.endswith((".yaml", ".yml")) and not Path(model).is_absolute():
        model = str(base_dir / model)
    name = sec.text("name", f"{Path(model).stem}_{phase}_{sparsity}")
    entry = WorkloadEntry(name=name, model=model, batch=batch,
                          params=tuple(params.data.items()) if params else (),
                          sparsity=sparsity, phase=phase, weight=float(weight))  # fmt: skip
    try:
        entry.build()
    except (ConfigError, SparsityError, TypeError) as exc:
        sec.add(None, f"cannot build the workload: {exc}")
        return None
    return entry


def _workloads(top: Section, base_dir: Path) -> tuple[WorkloadEntry, ...]:
    out = [_workload(sec, base_dir) for sec in items(top, "workloads", required=True)]
    built = tuple(w for w in out if w is not None)
    names = [w.name for w in built]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        top.add("workloads", f"workload name {dup!r} is used twice; give each a name")
    if built and not any(w.weight > 0 for w in built):
        top.add("workloads", "at least one workload needs weight > 0")
    return built


def _objectives(top: Section) -> tuple[str, ...]:
    value = top.data.get("objectives")
    allowed = ", ".join(OBJECTIVES)
    if not isinstance(value, list) or not value:
        top.add("objectives", f"required: a non-empty list of objectives from {allowed}")
        return ()
    for i, name in enumerate(value):
        if name not in OBJECTIVES:
            top.add(f"objectives[{i}]", f"must be one of {allowed}, not {name!r}")
    if len(set(value)) != len(value):
        top.add("objectives", "lists an objective twice")
    return tuple(str(v) for v in value)


def _sampler(top: Section) -> Sampler | None:
    sec = top.section("sampler")
    if sec is None:
        return Sampler(kind="grid")
    sec.allow(("kind", "samples", "population", "seed"))
    kind = sec.choice("kind", SAMPLERS)
    needs = kind in ("random", "nsga2")
    samples = sec.integer("samples", REQUIRED if needs else 0, lo=1 if needs else 0)
    population = sec.integer("population", 16, lo=2)
    seed = sec.integer("seed", 0, lo=0)
    if None in (kind, samples, population, seed):
        return None
    return Sampler(kind=kind, samples=samples, population=population, seed=seed)


def _constraints(top: Section, known: set[str]) -> tuple[Expression, ...]:
    value = top.data.get("constraints", [])
    if not isinstance(value, list):
        top.add("constraints", "must be a list of expressions")
        return ()
    out = []
    for i, text in enumerate(value):
        where = f"constraints[{i}]"
        try:
            expr = parse_expression(str(text))
        except ExpressionError as exc:
            top.add(where, str(exc))
            continue
        unknown = sorted(expr.names - known)
        if unknown:
            top.add(where, f"unknown name(s) {', '.join(unknown)}; use spec paths "
                     f"(compute.rows, ...), axis names, {', '.join(sorted(DERIVED_NAMES))} "
                     f"or objectives ({', '.join(sorted(RESULT_NAMES))})")
            continue
        out.append(expr)
    return tuple(out)


def _base(top: Section, base_dir: Path) -> tuple[str, dict] | None:
    text = top.text("base")
    if text is None:
        return None
    try:
        path = config_path(text)
        if not path.is_absolute() and not path.exists() and (base_dir / path).exists():
            path = base_dir / path
        data = load_yaml(path)
        spec_from_mapping(data, str(path))
    except ConfigError as exc:
        top.add("base", f"the base accelerator is not valid: {exc}")
        return None
    return str(path), data


def _check_axis_paths(top: Section, axes: Sequence[Axis], base: dict) -> None:
    """An axis whose path the spec does not know (a typo) is an error of the sweep, not a
    sweep of invalid points: try each axis's first value on the base."""
    for i, axis in enumerate(axes):
        overrides = [(p, v) for p, v in zip(axis.paths, axis.values[0], strict=True)]
        try:
            spec_from_mapping(apply_overrides(base, overrides), "<point>")
        except KeyError as exc:
            top.add(f"axes[{i}]", str(exc.args[0]))
        except ConfigError as exc:
            for line in exc.problems:
                where = line.split(": ")[1] if ": " in line else ""
                if "unknown key" in line and any(where == p.split("[")[0] for p in axis.paths):
                    top.add(f"axes[{i}]", line.split(": ", 1)[1])


def _hash(data: Any, base: Any) -> str:
    text = json.dumps({"sweep": data, "base": base}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def sweep_from_mapping(data: Any, source: str) -> Sweep:
    """Validate parsed sweep YAML ``data`` read from ``source``; one ``ConfigError`` lists
    every problem."""
    problems = Problems(source)
    top = root(problems, data, _TOP_KEYS)
    base_dir = Path(source).parent
    name, description = top.text("name"), top.text("description", "", empty_ok=True)
    base = _base(top, base_dir)
    axes = _axes(top)
    if base is not None:
        _check_axis_paths(top, axes, base[1])
    known = set(DERIVED_NAMES | RESULT_NAMES) | {a.name for a in axes}
    if base is not None:
        known |= set(spec_values(spec_from_mapping(base[1], base[0])))
    constraints = _constraints(top, known)
    workloads, objectives = _workloads(top, base_dir), _objectives(top)
    sampler, batch_size = _sampler(top), top.integer("batch_size", 16, lo=1)
    problems.raise_if_any()
    assert base is not None and sampler is not None and name is not None  # raised otherwise
    return Sweep(name=name, description=description, source=source, base_name=base[0],
                 base_json=json.dumps(base[1]), axes=axes, constraints=constraints,
                 workloads=workloads, objectives=objectives, sampler=sampler,
                 batch_size=batch_size, spec_hash=_hash(data, base[1]))  # fmt: skip


def load_sweep(path: str | Path) -> Sweep:
    """Load and validate a sweep spec YAML file."""
    return sweep_from_mapping(load_yaml(path), str(path))


# --- expansion ------------------------------------------------------------------------------


def expand(sweep: Sweep) -> Iterator[Design]:
    """The points the grid or random sampler visits, in order (the base design first). The
    NSGA-II sampler proposes its points as it goes (``simulator.dse.search``)."""
    yield Design(choice=None)
    sizes = [len(a) for a in sweep.axes]
    if sweep.sampler.kind == "grid":
        for choice in itertools.product(*(range(n) for n in sizes)):
            yield Design(choice=choice)
        return
    yield from _random(sizes, sweep.sampler.samples, sweep.sampler.seed)


SECTION_DEPTH = {"compute": 0, "sparsity": 0, "precision": 0, "buffers": 1,
                 "global_buffer": 1, "vector": 1}
"""How early a spec section's value fixes a layer's cost: the array mapping reads compute,
sparsity and precision (0), the buffer tiling the buffers (1), the timing alone the rest (2:
DRAM, energy, ...). ``locality_order`` sorts on the shallow axes first."""


def _axis_depth(axis: Axis) -> int:
    return min(SECTION_DEPTH.get(path.split(".")[0].split("[")[0], 2) for path in axis.paths)


def locality_order(sweep: Sweep, designs: Sequence[Design]) -> list[Design]:
    """``designs`` reordered so that points sharing an array, then buffers, are neighbours
    (the base design first): a worker's consecutive points then reuse the mappings and tilings
    cached for their shared sections instead of recomputing them (results do not depend on
    the order)."""
    ranks = sorted(range(len(sweep.axes)), key=lambda a: (_axis_depth(sweep.axes[a]), a))

    def key(design: Design) -> tuple[int, ...]:
        if design.choice is None:
            return (-1,)
        return tuple(design.choice[a] for a in ranks)

    return sorted(designs, key=key)


def _random(sizes: list[int], samples: int, seed: int) -> Iterator[Design]:
    """``samples`` distinct points drawn uniformly (seeded); all of them if fewer exist."""
    total = math.prod(sizes)
    rng = np.random.default_rng(seed)
    if samples >= total:
        for choice in itertools.product(*(range(n) for n in sizes)):
            yield Design(choice=choice)
        return
    seen: set[tuple[int, ...]] = set()
    while len(seen) < samples:
        choice = tuple(int(rng.integers(n)) for n in sizes)
        if choice not in seen:
            seen.add(choice)
            yield Design(choice=choice)
