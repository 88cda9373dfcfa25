"""Accelerator YAML -> validated ``AcceleratorSpec``: strict loader, one validator, one error.

Every problem is collected and reported at once as ``<file>: <yaml path>: <what is wrong, the
bad value, what is allowed>``. Schema (units live in the key names)::

    name: dense_os_32x32            # required, non-empty string
    description: "..."              # optional string
    compute:                        # required
      rows: 32                      # required int 1..4096
      cols: 32                      # required int 1..4096
      multipliers_per_pe: 1         # int 1..64, default 1; N:M mode needs >= n per PE
      dataflow: os                  # required: ws, os or is
      freq_mhz: 200                 # number 1..10000, default 200
      fold_overlap: true            # back-to-back folds (true, as the RTL) or each fold pays
                                    # fill, skew and drain (false); simulator.tile
      matrix_vector: false          # may run skinny GEMMs as a matrix-vector engine (mapper)
      depthwise: serial             # grouped convs: serial, channels (side by side) or vector
      cores: 1                      # identical arrays, each with its own copy of ``buffers``,
                                    # sharing DRAM and ``global_buffer`` (simulator.multicore)
      kind: array                   # array (above) or simd: a CPU core, rows/cols/dataflow
                                    # not given (one row of fma_ports PEs x lanes) and:
      simd:                         # required with kind: simd (simulator.simd)
        vector_bits: 128            # int 32..2048, a multiple of the weight precision
        fma_ports: 2                # int 1..16
        fma_latency_cycles: 4       # int 1..64
        load_ports: 2               # int 1..16 (vector loads per cycle from L1)
        tile_pixels: 6              # dense GEMM register tile: output pixels ...
        tile_channels: 8            # ... x output channels (elements)
        dense_efficiency: 0.85      # number in (0, 1]
        unstructured: {pixels: 16, channels: 1, index_bytes: 4, stall_cycles_per_index: 3}
        group: {pixels: 16, channels: 4, index_bytes: 4, stall_cycles_per_index: 3}
    inter_layer_residency: true     # a producer's output stays on chip for its consumer when
                                    # it fits (simulator.plan); false: every layer via DRAM
    sparsity:                       # optional; absent = dense only
      nm: [{n: 2, m: 8, axis: k}]   # 1 <= n < m, m in 2..16, axis k (default) or n, no repeats
      transposable: false           # needs nm entries
      group_size: 0                 # int >= 0; 0 = no group skipping
      activation: none              # none, gating or skipping
      sparse_weight_gradient: false # needs nm entries
      pregen_elements_per_cycle: 0  # int >= 0
      unstructured:                 # optional: skip arbitrary weight zeros per lane
        decode_cycles_per_nonzero: 0.25   # number >= 0 (index decode, gather)
        metadata_bits_per_nonzero: 8      # int 1..32
    buffers:                        # required: weight, input and output, or a single shared;
                                    # a simd core: its caches L1, L2[, L3] (innermost first)
      weight: {size_bytes: 65536, read_bytes_per_cycle: 32, write_bytes_per_cycle: 32,
               banks: 1, double_buffered: true}   # sizes: int bytes or "64KiB" (B/KiB/MiB/GiB)
      input: {...}
      output: {...}
    global_buffer: {size_bytes: 40MiB, read_bytes_per_cycle: 5120, write_bytes_per_cycle: 5120}
                                    # optional, needs compute.cores > 1: shared by every core
                                    # between its private buffers and DRAM (an L2)
    dram: {bandwidth_gb_per_s: 19.2, latency_cycles: 100,   # required; bandwidth 0.001..1e5
           technology: DDR4}   # DDR3, DDR4, LPDDR4, LPDDR4X, LPDDR5, HBM2, HBM2e or HBM3
                               # (default DDR4); prices DRAM bytes (accel.energy)
    precision: {weight: int8, input: int8, output: int8, accumulator: int32,   # optional
                native_weights: [int4]}   # other weight formats the datapath reads as they
                                          # are (else dequantized on the vector unit)
    vector: {lanes: 16}             # optional
    energy:                         # optional; absent = DEFAULT_ENERGY scaled to technology_nm,
                                    # dram_per_byte from dram.technology
      technology_nm: 45             # int 3..180, default 45
      mac_int8: {pj: 0.3, source: "..."}   # any EnergyTable entry; pj 0..1e6, source
    area:                           # optional
      pe_dense: {value: 123, unit: cells, source: "..."}   # unit um2, mm2 or cells

Integers without a stated range are at most 2^31 - 1 and sizes at most 1 TiB
(``workloads._schema``); each range's reason is in its error message.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from sparsim.accel.configs import config_path
from sparsim.accel.energy import DEFAULT_ENERGY, ENERGY_ENTRY_NAMES, scale_energy, with_dram
from sparsim.accel.spec import (
    ACTIVATION_MODES,
    CACHE_LEVELS,
    COMPUTE_KINDS,
    DATAFLOWS,
    DEPTHWISE_MODES,
    DRAM_TECHNOLOGIES,
    PRECISIONS,
    AcceleratorSpec,
    ActivationMode,
    AreaEntry,
    BufferSpec,
    ComputeSpec,
    Dataflow,
    DramSpec,
    DramTechnology,
    EnergyEntry,
    EnergyTable,
    NMSupport,
    Operand,
    PrecisionSpec,
    SimdSpec,
    SparseKernelSpec,
    SparsitySupport,
    UnstructuredSupport,
    VectorUnitSpec,
    precision_bits,
)
from sparsim.workloads._schema import Section as _Section
from sparsim.workloads._schema import all_built as _all_built
from sparsim.workloads._schema import describe
from sparsim.workloads._schema import items as _items
from sparsim.workloads._schema import root as schema_root
from sparsim.workloads.sparsity import AXES
from sparsim.workloads.yamlio import Problems, load_yaml, yaml_path

__all__ = ["load_spec", "spec_from_mapping"]

_TOP_KEYS = (
    "name", "description", "compute", "sparsity", "buffers", "dram", "precision", "vector",
    "energy", "area", "inter_layer_residency", "global_buffer",
)
_OPERANDS = tuple(o.value for o in Operand)
_AREA_UNITS = ("um2", "mm2", "cells")
_MAX_SIDE = 4096
_SIDE_WHY = "assumed cap: 16x TPU v1's 256-wide array, Jouppi et al. ISCA 2017"

_MAX_CORES = 1024
_CORES_WHY = "assumed cap: several times the 132 streaming multiprocessors of an H100 SXM"

_T = TypeVar("_T")


def _compute(sec: _Section | None) -> ComputeSpec | None:
    if sec is None:
        return None
    if sec.data.get("kind") == "simd":
        return _simd_compute(sec)
    sec.allow(("rows", "cols", "multipliers_per_pe", "dataflow", "freq_mhz", "fold_overlap",
               "matrix_vector", "depthwise", "cores", "kind"))
    sec.choice("kind", COMPUTE_KINDS, "array")
    values = {
        "rows": sec.integer("rows", lo=1, hi=_MAX_SIDE, why=_SIDE_WHY),
        "cols": sec.integer("cols", lo=1, hi=_MAX_SIDE, why=_SIDE_WHY),
        "multipliers_per_pe": sec.integer("multipliers_per_pe", 1, lo=1, hi=64),
        "dataflow": sec.choice("dataflow", DATAFLOWS),
        "freq_mhz": _freq(sec),
        "fold_overlap": sec.boolean("fold_overlap", True),
        "matrix_vector": sec.boolean("matrix_vector", False),
        "depthwise": sec.choice("depthwise", DEPTHWISE_MODES, "serial"),
        "cores": sec.integer("cores", 1, lo=1, hi=_MAX_CORES, why=_CORES_WHY),
    }
    if None in values.values():
        return None
    typed = {"dataflow": Dataflow(values["dataflow"]), "freq_mhz": float(values["freq_mhz"])}
    return ComputeSpec(**values | typed)


def _freq(sec: _Section) -> Any:
    return sec.number("freq_mhz", 200.0, positive=True, lo=1, hi=10_000,
                      why="MHz: 1 MHz to 10 GHz; a value outside is a unit slip")


def _simd_compute(sec: _Section) -> ComputeSpec | None:
    """``kind: simd``: a CPU core; its array view (one row of ``fma_ports`` PEs) gets its
    lanes from the precision later (``_with_lanes``)."""
    sec.allow(("kind", "freq_mhz", "simd"))
    freq, simd = _freq(sec), _simd(sec.section("simd", required=True))
    if freq is None or simd is None:
        return None
    return ComputeSpec(rows=1, cols=simd.fma_ports, dataflow=Dataflow.OS, freq_mhz=float(freq),
                       simd=simd)  # fmt: skip


_SIMD_INTS = {
    "vector_bits": (32, 2048, "SVE's register widths are 128 to 2048 bits"),
    "fma_ports": (1, 16, "assumed cap: 4x the widest Arm cores' vector pipes"),
    "fma_latency_cycles": (1, 64, "assumed cap: FMA latencies are a few cycles"),
    "load_ports": (1, 16, "assumed cap: 4x the widest Arm cores' load pipes"),
    "tile_pixels": (1, 64, "assumed cap: a register tile is bounded by the register file"),
    "tile_channels": (1, 256, "assumed cap: a register tile is bounded by the register file"),
}


def _simd(sec: _Section | None) -> SimdSpec | None:
    if sec is None:
        return None
    sec.allow((*_SIMD_INTS, "dense_efficiency", "unstructured", "group"))
    values = {key: sec.integer(key, lo=lo, hi=hi, why=why)
              for key, (lo, hi, why) in _SIMD_INTS.items()}  # fmt: skip
    efficiency = sec.number("dense_efficiency", positive=True, hi=1.0,
                            why="a fraction of the issue bound")  # fmt: skip
    unstructured, group = (_sparse_kernel(sec.section(key)) for key in ("unstructured", "group"))
    if None in values.values() or efficiency is None or False in (unstructured, group):
        return None
    return SimdSpec(**values, dense_efficiency=float(efficiency),
                    unstructured=_given(unstructured), group=_given(group))  # fmt: skip


def _given(kernel: SparseKernelSpec | bool) -> SparseKernelSpec | None:
    return kernel if isinstance(kernel, SparseKernelSpec) else None


def _sparse_kernel(sec: _Section | None) -> SparseKernelSpec | bool:
    """A sparse kernel style; ``True`` when absent, ``False`` when a problem was recorded."""
    if sec is None:
        return True
    sec.allow(("pixels", "channels", "index_bytes", "stall_cycles_per_index"))
    pixels, channels = sec.integer("pixels", lo=1, hi=64), sec.integer("channels", lo=1, hi=64)
    index_bytes = sec.integer("index_bytes", lo=1, hi=8)
    stall = sec.number("stall_cycles_per_index", positive=False, hi=1000)
    if None in (pixels, channels, index_bytes, stall):
        return False
    return SparseKernelSpec(pixels=pixels, channels=channels, index_bytes=index_bytes,
                            stall_cycles_per_index=float(stall))  # fmt: skip


def _with_lanes(compute: ComputeSpec, precision: PrecisionSpec, sec: _Section) -> ComputeSpec:
    """A simd core's lanes: vector bits over the weight precision's bits."""
    simd = compute.simd
    if simd is None:
        return compute
    bits = precision_bits(precision.weight)
    if simd.vector_bits % bits:
        sec.add("compute.simd.vector_bits", f"{simd.vector_bits} is not a "
                f"multiple of the {bits}-bit weight precision ({precision.weight})")
    return replace(compute, multipliers_per_pe=max(1, simd.vector_bits // bits))


def _nm_entry(sec: _Section | None, multipliers: int | None) -> NMSupport | None:
    if sec is None:
        return None
    sec.allow(("n", "m", "axis"))
    n, m = sec.integer("n", lo=1), sec.integer("m", lo=2, hi=16)
    axis = sec.choice("axis", AXES, "k")
    if None in (n, m, axis):
        return None
    if n >= m:
        sec.add(None, f"n must be less than m (N:M keeps n of every m values), not {n}:{m}")
        return None
    if multipliers is not None and n > multipliers:
        sec.add("n", f"{n}:{m} needs at least {n} multipliers per PE, but "
                f"compute.multipliers_per_pe is {multipliers}")
        return None
    return NMSupport(n=n, m=m, axis=axis)


def _nm_list(sec: _Section, multipliers: int | None) -> tuple[NMSupport, ...]:
    seen: dict[NMSupport, int] = {}
    out = []
    for i, entry_sec in enumerate(_items(sec, "nm")):
        entry = _nm_entry(entry_sec, multipliers)
        if entry is None:
            continue
        if entry in seen:
            sec.add(yaml_path("nm", i), f"duplicates nm[{seen[entry]}] "
                    f"({entry.n}:{entry.m} along {entry.axis})")
            continue
        seen[entry] = i
        out.append(entry)
    return tuple(out)


def _needs_nm(sec: _Section, key: str, value: bool | None) -> None:
    """``transposable``/``sparse_weight_gradient`` mean nothing without N:M support."""
    if value and not sec.data.get("nm"):
        sec.add(key, "true needs at least one sparsity.nm entry")


def _sparsity(sec: _Section | None, multipliers: int | None) -> SparsitySupport | None:
    if sec is None:
        return SparsitySupport()
    sec.allow(("nm", "transposable", "group_size", "activation", "sparse_weight_gradient",
               "pregen_elements_per_cycle", "unstructured"))
    nm = _nm_list(sec, multipliers)
    values = {
        "transposable": sec.boolean("transposable", False),
        "group_size": sec.integer("group_size", 0, lo=0),
        "activation": sec.choice("activation", ACTIVATION_MODES, "none"),
        "sparse_weight_gradient": sec.boolean("sparse_weight_gradient", False),
        "pregen_elements_per_cycle": sec.integer("pregen_elements_per_cycle", 0, lo=0),
    }
    for key in ("transposable", "sparse_weight_gradient"):
        _needs_nm(sec, key, values[key])
    unstructured = _unstructured(sec.section("unstructured"))
    if None in values.values() or unstructured is False:
        return None
    return SparsitySupport(
        nm=nm, unstructured=None if unstructured is True else unstructured,
        **values | {"activation": ActivationMode(values["activation"])},
    )  # fmt: skip


def _unstructured(sec: _Section | None) -> UnstructuredSupport | bool:
    """``sparsity.unstructured``; ``True`` when absent, ``False`` when a problem was recorded."""
    if sec is None:
        return True
    sec.allow(("decode_cycles_per_nonzero", "metadata_bits_per_nonzero"))
    decode = sec.number("decode_cycles_per_nonzero", positive=False)
    bits = sec.integer("metadata_bits_per_nonzero", lo=1, hi=32)
    if decode is None or bits is None:
        return False
    return UnstructuredSupport(decode_cycles_per_nonzero=decode, metadata_bits_per_nonzero=bits)


def _buffer(sec: _Section | None) -> BufferSpec | None:
    if sec is None:
        return None
    sec.allow(("size_bytes", "read_bytes_per_cycle", "write_bytes_per_cycle", "banks",
               "double_buffered"))
    values = {
        "size_bytes": sec.size("size_bytes"),
        "read_bytes_per_cycle": sec.integer("read_bytes_per_cycle", lo=1),
        "write_bytes_per_cycle": sec.integer("write_bytes_per_cycle", lo=1),
        "banks": sec.integer("banks", 1, lo=1),
        "double_buffered": sec.boolean("double_buffered", True),
    }
    return None if None in values.values() else BufferSpec(**values)


def _cache_names(sec: _Section) -> tuple[str, ...]:
    """A simd core's caches: ``L1``, ``L2`` and optionally ``L3``, innermost first."""
    given = tuple(key for key in CACHE_LEVELS if key in sec.data)
    for name in CACHE_LEVELS[:2]:
        if name not in given:
            sec.add(name, "required key is missing (a simd core's buffers are its caches: "
                    "L1, L2 and optionally L3)")
    return given


def _buffer_names(sec: _Section) -> tuple[str, ...]:
    """The buffer layout asked for: ``("shared",)`` or the three operands."""
    given = [key for key in (*_OPERANDS, "shared") if key in sec.data]
    if "shared" in given and len(given) > 1:
        sec.add(None, "give either one 'shared' buffer or 'weight', 'input' and 'output' "
                f"buffers, not both (found {', '.join(given)})")
    if "shared" in given:
        return ("shared",)
    for name in _OPERANDS:
        if name not in given:
            sec.add(name, "required key is missing (per-operand buffers need weight, input and "
                    "output; or give a single 'shared' buffer)")
    return _OPERANDS


def _buffers(sec: _Section | None, simd: bool) -> tuple[tuple[str, BufferSpec], ...] | None:
    if sec is None:
        return None
    sec.allow(CACHE_LEVELS if simd else (*_OPERANDS, "shared"))
    names = _cache_names(sec) if simd else _buffer_names(sec)
    return _all_built([(name, _buffer(sec.section(name))) for name in names])


def _dram(sec: _Section | None) -> DramSpec | None:
    if sec is None:
        return None
    sec.allow(("bandwidth_gb_per_s", "latency_cycles", "technology"))
    bandwidth = sec.number("bandwidth_gb_per_s", positive=True, lo=0.001, hi=100_000,
                           why="GB/s: 1 MB/s to 100 TB/s; a value outside is a unit slip")
    latency = sec.integer("latency_cycles", 100, lo=0)
    technology = sec.choice("technology", DRAM_TECHNOLOGIES, DramTechnology.DDR4.value)
    if None in (bandwidth, latency, technology):
        return None
    return DramSpec(bandwidth_gb_per_s=float(bandwidth), latency_cycles=latency,
                    technology=DramTechnology(technology))  # fmt: skip


def _dtype_list(value: Any) -> tuple[str, ...]:
    """``precision.native_weights``: a list of distinct dtype names."""
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ValueError(f"must be a list of dtype names, not {describe(value)}")
    bad = [v for v in value if v not in PRECISIONS]
    if bad:
        raise ValueError(f"unknown dtype {', '.join(bad)}; allowed: {', '.join(PRECISIONS)}")
    if len(set(value)) != len(value):
        raise ValueError(f"repeats a dtype: {', '.join(value)}")
    return tuple(value)


def _precision(sec: _Section | None) -> PrecisionSpec | None:
    if sec is None:
        return PrecisionSpec()
    defaults = PrecisionSpec()
    keys = ("weight", "input", "output", "accumulator")
    sec.allow((*keys, "native_weights"))
    values: dict[str, Any] = {
        key: sec.choice(key, PRECISIONS, getattr(defaults, key)) for key in keys
    }
    values["native_weights"] = sec.converted("native_weights", _dtype_list, ())
    if None in values.values():
        return None
    widest = max(precision_bits(values["weight"]), precision_bits(values["input"]))
    if precision_bits(values["accumulator"]) < widest:
        sec.add("accumulator", f"{values['accumulator']} is narrower than the {widest}-bit "
                "weight/input; the accumulator needs at least as many bits")
        return None
    return PrecisionSpec(**values)


def _vector(sec: _Section | None) -> VectorUnitSpec | None:
    if sec is None:
        return VectorUnitSpec()
    sec.allow(("lanes",))
    lanes = sec.integer("lanes", VectorUnitSpec().lanes, lo=1)
    return None if lanes is None else VectorUnitSpec(lanes=lanes)


def _energy_entry(sec: _Section | None) -> EnergyEntry | None:
    if sec is None:
        return None
    sec.allow(("pj", "source"))
    pj = sec.number("pj", positive=False, hi=1e6,
                    why="1e6 pJ is 1 µJ per action, ~400x a 64-bit DRAM access")
    source = sec.text("source")
    return None if None in (pj, source) else EnergyEntry(pj=float(pj), source=source)


def _energy(sec: _Section | None, dram: DramSpec | None) -> EnergyTable | None:
    """The energy table: defaults at ``technology_nm``, DRAM priced for ``dram.technology``,
    then the entries the YAML gives."""
    technology = dram.technology if dram is not None else DramTechnology.DDR4
    if sec is None:
        return with_dram(DEFAULT_ENERGY, technology)
    sec.allow(("technology_nm", *ENERGY_ENTRY_NAMES))
    technology_nm = sec.integer("technology_nm", 45, lo=3, hi=180)
    given = {name: _energy_entry(sec.section(name)) for name in ENERGY_ENTRY_NAMES
             if name in sec.data}
    if technology_nm is None or None in given.values():
        return None
    # ``Any`` values: the keys (EnergyEntry fields of EnergyTable) are only known at run time.
    entries: dict[str, Any] = given
    return replace(with_dram(scale_energy(DEFAULT_ENERGY, technology_nm), technology), **entries)


def _area_entry(sec: _Section | None) -> AreaEntry | None:
    if sec is None:
        return None
    sec.allow(("value", "unit", "source"))
    value = sec.number("value", positive=False)
    unit, source = sec.choice("unit", _AREA_UNITS), sec.text("source")
    return None if None in (value, unit, source) else AreaEntry(value=float(value), unit=unit,
                                                                source=source)


def _area(sec: _Section | None) -> tuple[tuple[str, AreaEntry], ...] | None:
    if sec is None:
        return ()
    return _all_built([(str(name), _area_entry(sec.section(name))) for name in sec.data])


def _global_buffer(root: _Section, compute: ComputeSpec | None) -> BufferSpec | None:
    """The optional ``global_buffer``: shared by the cores, so it needs ``compute.cores > 1``."""
    sec = root.section("global_buffer")
    if sec is None:
        return None
    if compute is not None and compute.cores < 2:
        root.add("global_buffer", "needs compute.cores of 2 or more (a buffer the cores share); "
                 f"compute.cores is {compute.cores}")
    return _buffer(sec)


def spec_from_mapping(data: Any, source: str) -> AcceleratorSpec:
    """Validate parsed YAML ``data`` (read from ``source``, named in every error line) and
    build the spec; raise one ``ConfigError`` listing every problem."""
    problems = Problems(source)
    root = schema_root(problems, data, _TOP_KEYS)
    name, description = root.text("name"), root.text("description", "", empty_ok=True)
    compute = _compute(root.section("compute", required=True))
    raw = root.data.get("compute")
    simd = isinstance(raw, dict) and raw.get("kind") == "simd"  # even when compute is invalid
    if simd and "sparsity" in root.data:
        root.add("sparsity", "a simd core's sparse kernels are compute.simd.unstructured and "
                 "compute.simd.group; remove this section")
    sparsity = _sparsity(root.section("sparsity"), compute.multipliers_per_pe if compute else None)
    buffers = _buffers(root.section("buffers", required=True), simd)
    dram = _dram(root.section("dram", required=True))
    precision = _precision(root.section("precision"))
    vector = _vector(root.section("vector"))
    energy = _energy(root.section("energy"), dram)
    area = _area(root.section("area"))
    residency = root.boolean("inter_layer_residency", True)
    global_buffer = _global_buffer(root, compute)
    if compute is not None and precision is not None:
        compute = _with_lanes(compute, precision, root)
    problems.raise_if_any()
    return AcceleratorSpec(
        name=name, description=description, source_path=source, compute=_built(compute),
        sparsity=_built(sparsity), buffers=_built(buffers), dram=_built(dram),
        precision=_built(precision), vector=_built(vector), energy=_built(energy),
        area=_built(area), inter_layer_residency=bool(residency), global_buffer=global_buffer,
    )


def _built(part: _T | None) -> _T:
    """A validated part once ``raise_if_any`` passed: a part is ``None`` only with a problem."""
    if part is None:
        raise AssertionError("a section validator returned None without recording a problem")
    return part


def load_spec(path_or_name: str | Path) -> AcceleratorSpec:
    """Load an accelerator from a YAML path or a shipped config's name (``"sat"``)."""
    path = config_path(path_or_name)
    return spec_from_mapping(load_yaml(path), str(path))

