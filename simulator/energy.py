"""Energy: action counts of one problem × the spec's energy table, by component.

Components (``results.ENERGY_COMPONENTS``): ``mac`` (MACs that are not gated, at the datapath's
weight precision; the accumulate is part of the MAC entry), ``rf`` (register hops of operands
forwarded through the array, ``forwarding_bytes``), ``sram`` (reads and writes of each buffer at
that buffer's price, ``sram_prices``), ``dram`` (bytes both ways at the spec's DRAM technology),
``metadata`` (N:M indices decoded and index-mux selects), ``vector`` (vector-unit FLOPs),
``pregen`` (weight pre-generation: ``PREGEN_OPS_PER_ELEMENT`` vector-op equivalents per weight),
``static`` (leakage power × the run time the engine measured, ``static_energy_pj``: a stall costs
energy). Metadata bytes moved are counted in ``sram``/``dram`` like any other bytes.

SRAM bytes per buffer (``sram_bytes``) come from ``LayerResult.bytes_by_level``: the keys
``sram.<buffer>.read`` / ``sram.<buffer>.write`` (``<buffer>`` a name of ``spec.buffers``) that
the memory model gives for matrix passes (``simulator.tiling``). Element-wise work has only the
totals ``sram.read``/``sram.write``: it streams through the input buffer
(``memory.stream_traffic``), except a fused op kept on chip (no DRAM bytes at all), which
works on its producer's tiles in the output buffer; a shared buffer takes everything.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass

from sparsim.accel.energy import mac_pj, sram_size_factor
from sparsim.accel.spec import GLOBAL_BUFFER, AcceleratorSpec, BufferSpec, Operand
from sparsim.simulator.objects import PerObject

__all__ = [
    "PREGEN_OPS_PER_ELEMENT",
    "ActionCounts",
    "energy_pj",
    "forwarding_bytes",
    "sram_bytes",
    "sram_prices",
    "static_energy_pj",
    "static_power_pj_per_ns",
]

PREGEN_OPS_PER_ELEMENT = 2
"""Re-pruning a weight: one magnitude and one compare in the top-n selection network; an
assumption of this model (no published per-element figure), also the vector-unit cost."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionCounts:
    """What one problem does, independent of timing. ``mac_precision``/``mac_input_precision``:
    the weight and input formats the multipliers see (``""``: the weight's), priced by
    ``accel.energy.mac_pj``; ``sram_read_bytes``/``sram_write_bytes``: ``(buffer name,
    bytes)`` per buffer."""

    macs: int = 0
    mac_precision: str = "int8"
    mac_input_precision: str = ""
    rf_bytes: int = 0
    sram_read_bytes: tuple[tuple[str, int], ...] = ()
    sram_write_bytes: tuple[tuple[str, int], ...] = ()
    dram_bytes: int = 0
    metadata_indices: int = 0
    mux_selects: int = 0
    vector_flops: int = 0
    pregen_elements: int = 0


def sram_prices(spec: AcceleratorSpec) -> dict[str, tuple[float, float]]:
    """(read, write) pJ per byte of each buffer: the table's 32 KiB price × the size factor
    (``accel.energy.sram_size_factor``)."""
    read, write = spec.energy.sram_read_per_byte.pj, spec.energy.sram_write_per_byte.pj
    prices = {}
    for name, buffer in _all_buffers(spec):
        factor = sram_size_factor(buffer.size_bytes)
        prices[name] = (read * factor, write * factor)
    return prices


def _all_buffers(spec: AcceleratorSpec) -> tuple[tuple[str, BufferSpec], ...]:
    """``spec.buffers`` and, when the spec has one, its ``global`` buffer (the cores share)."""
    if spec.global_buffer is None:
        return spec.buffers
    return (*spec.buffers, (GLOBAL_BUFFER, spec.global_buffer))


@dataclass(frozen=True, slots=True)
class _SpecEnergy:
    """What pricing reads from a spec, looked up once (``AcceleratorSpec`` reads are slow)."""

    names: tuple[str, ...]
    keys: tuple[str, ...]
    prices: dict[str, tuple[float, float]]
    static_pj_per_cycle: float
    read_keys: tuple[str, ...]
    write_keys: tuple[str, ...]
    mac_prices: dict[tuple[str, str], float]
    operand_bytes: tuple[float, float, float]  # (input, weight, accumulator) per element


_SPEC_CACHE_SIZE = 64
def _spec_energy(spec: AcceleratorSpec) -> _SpecEnergy:
    names = tuple(name for name, _ in _all_buffers(spec))
    keys = tuple(f"sram.{n}.{way}" for n in names for way in ("read", "write"))
    static = static_power_pj_per_ns(spec) * 1000 / spec.compute.freq_mhz
    return _SpecEnergy(
        names, keys, sram_prices(spec), static,
        read_keys=tuple(f"sram.{n}.read" for n in names),
        write_keys=tuple(f"sram.{n}.write" for n in names),
        mac_prices={},  # (weight, input) -> pJ, filled as formats are met
        operand_bytes=(_bytes(spec, Operand.INPUT), _bytes(spec, Operand.WEIGHT),
                       spec.precision.accumulator_bytes),
    )  # fmt: skip


_of: PerObject[AcceleratorSpec, _SpecEnergy] = PerObject(_spec_energy, _SPEC_CACHE_SIZE)
"""``spec``'s ``_SpecEnergy``, once per spec object (``simulator.objects``)."""


def _stream_buffer(levels: MappingABC[str, int], names: tuple[str, ...]) -> str:
    """The buffer element-wise work goes through (module docstring)."""
    if "shared" in names:
        return "shared"
    if "L1" in names:  # a simd core streams element-wise work through its L1
        return "L1"
    moved = any(v for key, v in levels.items() if key.startswith("dram."))
    return "input" if moved else "output"


def sram_bytes(
    levels: MappingABC[str, int], spec: AcceleratorSpec
) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
    """(reads, writes) per buffer of ``spec`` from ``bytes_by_level`` (module docstring)."""
    known = _of(spec)
    names = known.names
    reads: dict[str, float]
    writes: dict[str, float]
    if any(key in levels for key in known.keys):
        reads = {n: levels.get(key, 0) for n, key in zip(names, known.read_keys, strict=True)}
        writes = {n: levels.get(key, 0) for n, key in zip(names, known.write_keys, strict=True)}
    else:
        buffer = _stream_buffer(levels, names)
        reads, writes = {buffer: levels.get("sram.read", 0)}, {buffer: levels.get("sram.write", 0)}
    return (
        tuple((n, round(reads.get(n, 0))) for n in names),
        tuple((n, round(writes.get(n, 0))) for n in names),
    )


def _bytes(spec: AcceleratorSpec, operand: Operand) -> float:
    return spec.precision.bytes_of(operand)


def forwarding_bytes(
    dataflow: str, issued_macs: int, stationary: int, activation_repeat: float,
    spec: AcceleratorSpec,
) -> int:  # fmt: skip
    """Bytes moved by register hops in a systolic array of ``spec``.

    Each issued MAC receives its two moving operands from its neighbour (one hop each): ``os``
    input and weight; ``ws`` input and the partial sum (at accumulator width); ``is`` weight
    and the partial sum. The activation operand hops ``activation_repeat`` times per issued MAC
    (``m/n`` in N:M mode, where the PE sees every activation of a group and keeps ``n``).
    The ``stationary`` elements (``os``: results drained; ``ws``: weights loaded; ``is``:
    inputs loaded) each travel on average ``(rows + 1) / 2`` hops along the array's rows.
    """
    a_b, w_b, acc_b = _of(spec).operand_bytes
    moving = {"os": a_b * activation_repeat + w_b, "ws": a_b * activation_repeat + acc_b,
              "is": w_b + acc_b}[dataflow]  # fmt: skip
    held = {"os": acc_b, "ws": w_b, "is": a_b}[dataflow]
    hops = (spec.compute.rows + 1) / 2
    return round(issued_macs * moving + stationary * held * hops)


def static_power_pj_per_ns(spec: AcceleratorSpec) -> float:
    """Leakage of the whole accelerator in pJ per ns (= mW): multipliers, SRAM, vector lanes,
    each core's copy of them (``compute.cores``) and the global buffer."""
    e = spec.energy
    multipliers = spec.compute.peak_macs_per_cycle
    sram_kib = sum(buffer.size_bytes for _, buffer in spec.buffers) / 1024
    per_core = (
        multipliers * e.leakage_per_multiplier_ns.pj
        + sram_kib * e.leakage_per_sram_kib_ns.pj
        + spec.vector.lanes * e.leakage_per_vector_lane_ns.pj
    )
    if spec.compute.cores == 1:
        return per_core
    shared_kib = spec.global_buffer.size_bytes / 1024 if spec.global_buffer else 0.0
    return spec.compute.cores * per_core + shared_kib * e.leakage_per_sram_kib_ns.pj


def static_energy_pj(cycles: int, spec: AcceleratorSpec) -> float:
    """Leakage over ``cycles`` at the array clock: power × cycles / f (1 cycle = 1000/MHz ns)."""
    return _of(spec).static_pj_per_cycle * cycles


def energy_pj(counts: ActionCounts, spec: AcceleratorSpec) -> tuple[tuple[str, float], ...]:
    """Dynamic energy per component in pJ, keys in ``ENERGY_COMPONENTS`` order; ``static`` is
    0 here (it needs the engine's cycles: ``static_energy_pj``)."""
    table, known = spec.energy, _of(spec)
    prices = known.prices
    sram = sum(prices[name][0] * n for name, n in counts.sram_read_bytes) + sum(
        prices[name][1] * n for name, n in counts.sram_write_bytes
    )
    formats = (counts.mac_precision, counts.mac_input_precision or counts.mac_precision)
    mac = known.mac_prices.get(formats)
    if mac is None:
        mac = known.mac_prices[formats] = mac_pj(table, *formats)
    return (
        ("mac", counts.macs * mac),
        ("rf", counts.rf_bytes * table.rf_access_per_byte.pj),
        ("sram", sram),
        ("dram", counts.dram_bytes * table.dram_per_byte.pj),
        (
            "metadata",
            counts.metadata_indices * table.metadata_per_index.pj
            + counts.mux_selects * table.mux_select.pj,
        ),
        ("vector", counts.vector_flops * table.vector_flop.pj),
        ("pregen", counts.pregen_elements * PREGEN_OPS_PER_ELEMENT * table.vector_flop.pj),
        ("static", 0.0),
    )
