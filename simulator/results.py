"""What a simulation returns: one ``LayerResult`` per (layer, pass), gathered in a ``RunResult``.

Both engines (analytical and event) return these types; reports, plots, JSON and DSE read only
these. JSON keys are stable and documented in ``RunResult.to_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ENERGY_COMPONENTS", "MATRIX_PASSES", "LayerResult", "Pass", "RunResult"]

ENERGY_COMPONENTS = ("mac", "rf", "sram", "dram", "metadata", "vector", "pregen", "static")


class Pass(StrEnum):
    """Which computation of a layer: inference is ``FW`` only; training adds the other two.
    ``VECTOR`` is vector-unit work; ``PREGEN`` the re-pruning/compression of updated weights."""

    FW = "fw"
    BW_DATA = "bw_data"
    BW_WEIGHT = "bw_weight"
    VECTOR = "vector"
    PREGEN = "pregen"


MATRIX_PASSES = frozenset({Pass.FW, Pass.BW_DATA, Pass.BW_WEIGHT})
"""The passes that run on the array (the rest: vector and pre-generation units)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerResult:
    """Cost of one (layer, pass). ``dense_*`` fields: the same problem run dense on the same
    spec. ``bytes_by_level`` keys are ``"<level>.<what>"`` (e.g. ``dram.weight``,
    ``dram.metadata``, ``sram.read``); ``energy_pj`` keys are ``ENERGY_COMPONENTS``.
    ``backward``: vector work of the backward pass; ``fused_with``: the matrix layer a fused
    vector op runs under (its ``cycles`` are only those it adds beyond its producer's).
    ``sram_bytes``: bytes through each on-chip buffer, keyed ``"<buffer>.<stream>.<way>"``:
    ``<buffer>`` a spec buffer (``input``, ``weight``, ``output`` or ``shared``), ``<stream>``
    one of ``input``, ``weight``, ``metadata``, ``psum`` (accumulator-width partial sums),
    ``output`` (final results), ``<way>`` ``read`` or ``write`` (``simulator.tiling``; matrix
    passes only). ``bound``: the resource that bound the layer (``simulator.perf``).
    ``input_from_chip``: its input was left on chip by its producer (``simulator.plan``).
    ``mapping``: the array orientation and buffer tiling (``simulator.tiling.Tiling``);
    ``mapping_detail``: the same as fields (``simulator.mapper.mapping_detail``: orientation,
    buffer-level tile sizes and loop order, cores used, the bound resource; on a multi-core
    spec also ``split``: ``simulator.multicore.CoreUse.detail``), JSON ``mapping_detail``.
    ``core_utilization``: on a multi-core spec, each core's utilization (idle cores 0),
    JSON ``core_utilization`` (absent for one array). ``busy_cycles``: why ``bound``: each
    resource's busy cycles (``compute``, every buffer port, ``DRAM``; ``simulator.perf``),
    the bound being the busiest; JSON ``busy_cycles``."""

    layer: str
    op: str
    pass_: Pass
    m: int
    n: int
    k: int
    count: int
    cycles: int
    compute_cycles: int
    stall_cycles: int
    dense_cycles: int
    utilization: float
    dense_macs: int
    effective_macs: int
    energy_pj: tuple[tuple[str, float], ...]
    dense_energy_pj: float
    bytes_by_level: tuple[tuple[str, int], ...]
    bound: str  # "compute" | "DRAM" | "<buffer> buffer <read|write> port" (simulator.perf)
    notes: tuple[str, ...] = ()
    backward: bool = False
    fused_with: str = ""
    sram_bytes: tuple[tuple[str, int], ...] = ()
    input_from_chip: bool = False
    mapping: str = ""
    mapping_detail: tuple[tuple[str, object], ...] = ()
    core_utilization: tuple[float, ...] = ()
    busy_cycles: tuple[tuple[str, int], ...] = ()

    @property
    def pass_name(self) -> str:
        """The pass as reports name it, unique per layer: ``pass_`` but for vector work,
        ``vector`` (forward), ``vector_bw`` (backward) or ``optimizer`` (weight update)."""
        if self.pass_ != Pass.VECTOR:
            return self.pass_.value
        if self.op == "optimizer":
            return "optimizer"
        return "vector_bw" if self.backward else "vector"

    @property
    def speedup(self) -> float:
        return self.dense_cycles / self.cycles if self.cycles else 1.0

    @property
    def energy_total_pj(self) -> float:
        return sum(v for _, v in self.energy_pj)

    @property
    def energy_ratio(self) -> float:
        """Dense energy over this energy (> 1 means the sparse run saves energy)."""
        total = self.energy_total_pj
        return self.dense_energy_pj / total if total else 1.0

    def to_dict(self) -> dict:
        return {
            "name": self.layer,
            "op": self.op,
            "pass": self.pass_name,
            "m": self.m,
            "n": self.n,
            "k": self.k,
            "count": self.count,
            "cycles": self.cycles,
            "compute_cycles": self.compute_cycles,
            "stall_cycles": self.stall_cycles,
            "dense_cycles": self.dense_cycles,
            "speedup": self.speedup,
            "utilization": self.utilization,
            "macs": self.dense_macs,
            "effective_macs": self.effective_macs,
            "energy_pj": dict(self.energy_pj),
            "energy_total_pj": self.energy_total_pj,
            "dense_energy_pj": self.dense_energy_pj,
            "energy_ratio": self.energy_ratio,
            "bytes": dict(self.bytes_by_level),
            "bound": self.bound,
            "notes": list(self.notes),
            "fused_with": self.fused_with,
            "sram_bytes": dict(self.sram_bytes),
            "input_from_chip": self.input_from_chip,
            "mapping": self.mapping,
            "mapping_detail": {**dict(self.mapping_detail), "bound": self.bound}
            if self.mapping_detail else {},
            "busy_cycles": dict(self.busy_cycles),
        } | ({"core_utilization": list(self.core_utilization)} if self.core_utilization else {})


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    workload: str
    accel: str
    phase: str
    engine: str
    freq_mhz: float
    layers: tuple[LayerResult, ...]
    notes: tuple[str, ...] = ()

    @property
    def cycles(self) -> int:
        return sum(r.cycles for r in self.layers)

    @property
    def dense_cycles(self) -> int:
        return sum(r.dense_cycles for r in self.layers)

    @property
    def speedup(self) -> float:
        return self.dense_cycles / self.cycles if self.cycles else 1.0

    @property
    def energy_pj(self) -> dict[str, float]:
        out = dict.fromkeys(ENERGY_COMPONENTS, 0.0)
        for r in self.layers:
            for key, value in r.energy_pj:
                out[key] = out.get(key, 0.0) + value
        return out

    def totals(self) -> dict:
        """Whole-run sums; ``utilization`` is effective-MAC weighted over matrix passes."""
        compute = sum(r.compute_cycles for r in self.layers)
        stall = sum(r.stall_cycles for r in self.layers)
        dense_macs = sum(r.dense_macs for r in self.layers)
        energy = self.energy_pj
        dense_energy = sum(r.dense_energy_pj for r in self.layers)
        total_energy = sum(energy.values())
        busy = [r for r in self.layers if r.dense_macs]
        util_num = sum(r.utilization * r.cycles for r in busy)
        util_den = sum(r.cycles for r in busy)
        return {
            "cycles": self.cycles,
            "compute_cycles": compute,
            "stall_cycles": stall,
            "dense_cycles": self.dense_cycles,
            "speedup": self.speedup,
            "macs": dense_macs,
            "effective_macs": sum(r.effective_macs for r in self.layers),
            "utilization": util_num / util_den if util_den else 0.0,
            "energy_pj": energy,
            "energy_total_pj": total_energy,
            "dense_energy_pj": dense_energy,
            "energy_ratio": dense_energy / total_energy if total_energy else 1.0,
            "time_ms": self.cycles / (self.freq_mhz * 1e3),
        }

    def to_dict(self) -> dict:
        """Stable JSON form: ``workload``, ``accel``, ``phase``, ``engine``, ``freq_mhz``,
        ``layers[*]`` (see ``LayerResult.to_dict``: ``name``, ``pass`` (``LayerResult.pass_name``:
        ``(name, pass)`` is unique), ``cycles``, ``macs``, ``utilization``, ``fused_with``,
        ...), ``total`` (``cycles``, ``macs``, ``speedup``, ...), ``notes``."""
        return {
            "workload": self.workload,
            "accel": self.accel,
            "phase": self.phase,
            "engine": self.engine,
            "freq_mhz": self.freq_mhz,
            "layers": [r.to_dict() for r in self.layers],
            "total": self.totals(),
            "notes": list(self.notes),
        }
