"""Energy: action counts of one problem × the spec's energy table, by component.

Components (``results.ENERGY_COMPONENTS``): ``mac`` (MACs that are not gated, at the datapath's
weight precision; the accumulate is part of the MAC entry), ``rf`` (operand bytes each issued MAC
reads from PE registers, gated ones included), ``sram`` (reads and writes), ``dram`` (bytes both
ways), ``metadata`` (N:M indices decoded and index-mux selects), ``vector`` (vector-unit FLOPs),
``pregen`` (weight pre-generation: ``PREGEN_OPS_PER_ELEMENT`` vector-op equivalents per weight).
Metadata bytes moved are counted in ``sram``/``dram`` like any other bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparsim.accel.spec import EnergyTable

__all__ = ["PREGEN_OPS_PER_ELEMENT", "ActionCounts", "energy_pj"]

PREGEN_OPS_PER_ELEMENT = 2
"""Re-pruning a weight: one magnitude and one compare in the top-n selection network; an
assumption of this model (no published per-element figure), also the vector-unit cost."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionCounts:
    """What one problem does, independent of timing. ``mac_precision`` names the energy entry."""

    macs: int = 0
    mac_precision: str = "int8"
    rf_bytes: int = 0
    sram_read_bytes: int = 0
    sram_write_bytes: int = 0
    dram_bytes: int = 0
    metadata_indices: int = 0
    mux_selects: int = 0
    vector_flops: int = 0
    pregen_elements: int = 0


def energy_pj(counts: ActionCounts, table: EnergyTable) -> tuple[tuple[str, float], ...]:
    """Energy per component in pJ, keys in ``ENERGY_COMPONENTS`` order."""
    return (
        ("mac", counts.macs * table.mac(counts.mac_precision).pj),
        ("rf", counts.rf_bytes * table.rf_access_per_byte.pj),
        (
            "sram",
            counts.sram_read_bytes * table.sram_read_per_byte.pj
            + counts.sram_write_bytes * table.sram_write_per_byte.pj,
        ),
        ("dram", counts.dram_bytes * table.dram_per_byte.pj),
        (
            "metadata",
            counts.metadata_indices * table.metadata_per_index.pj
            + counts.mux_selects * table.mux_select.pj,
        ),
        ("vector", counts.vector_flops * table.vector_flop.pj),
        ("pregen", counts.pregen_elements * PREGEN_OPS_PER_ELEMENT * table.vector_flop.pj),
    )
