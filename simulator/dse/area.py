"""Area of a swept design in mm², with its breakdown (PE array, SRAM buffers, vector unit).

* **PEs** come from the Yosys cell counts of the repository's own RTL
  (``configs/area/rtl_area.yaml``, written by ``sparsim rtl area``; ``accel.area.area_table``):
  the dense PE, and the N:M PEs 2:4, 2:8 and 1:4, each with N = 2 multipliers (1 for 1:4). A
  design supporting N:M ratios pays for the PE of its widest M (the index multiplexers grow
  with M); M = 16 was not synthesized and is extrapolated linearly in log2 M from 2:4 -> 2:8
  (assumed). More modes at the same widest M cost nothing extra: the synthesized PE with
  dense, 2:4 and 2:8 at run time has 1,359 cells against the 2:8 PE's 1,373, and SAT's PE
  (dense, 2:4, 2:8, 1:8) 1,412 (+2.8%), within the spread of a quick ABC mapping. Cells scale
  with ``multipliers_per_pe / N`` (assumed: the PE is its multipliers and their adder tree).
  Generic Yosys cells become um² at 45 nm with per-type areas of the NanGate 45 nm Open Cell
  Library X1 cells (``CELL_UM2_45NM``) and a placement utilization.
* **SRAM**: bits x 6T bitcell area / array efficiency. Bitcell: 0.346 um² at 45 nm (Intel's
  45 nm high-k/metal-gate process, K. Mistry et al., IEDM 2007); array efficiency 0.7
  (assumed: periphery, sense amplifiers and decoders take ~30% of a compiled macro).
* **Vector unit**: one lane costs as much as one dense multiplier of the PE (assumed).
* **Technology**: every 45 nm area scales by ``(technology_nm / 45)²`` (assumed ideal
  quadratic scaling; real nodes below 16 nm shrink less), ``technology_nm`` from the spec's
  energy section.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import yaml
from sparsim.accel.area import AREA_TABLE, area_table
from sparsim.accel.spec import AcceleratorSpec

__all__ = [
    "BITCELL_UM2_45NM",
    "CELL_UM2_45NM",
    "PLACEMENT_UTILIZATION",
    "SRAM_ARRAY_EFFICIENCY",
    "AreaBreakdown",
    "design_area",
    "pe_um2",
]

CELL_UM2_45NM = {
    "NOT": 0.532,  # INV_X1
    "NAND": 0.798,  # NAND2_X1
    "NOR": 0.798,  # NOR2_X1
    "AND": 1.064,  # AND2_X1
    "OR": 1.064,  # OR2_X1
    "XOR": 1.596,  # XOR2_X1
    "XNOR": 1.596,  # XNOR2_X1
    "MUX": 1.862,  # MUX2_X1
    "ANDNOT": 1.596,  # INV_X1 + AND2_X1 (assumed: no such X1 cell)
    "ORNOT": 1.596,  # INV_X1 + OR2_X1 (assumed)
    "DFF": 4.522,  # DFF_X1
}
"""um² of Yosys generic cells at 45 nm: NanGate FreePDK45 Open Cell Library, X1 drive
strength; flip-flops with enable or synchronous set/reset as DFF_X1 plus a MUX2_X1 (assumed)."""

PLACEMENT_UTILIZATION = 0.7
"""Cell area / placed area (assumed: a typical target utilization of a placed block)."""

BITCELL_UM2_45NM = 0.346
"""6T SRAM bitcell at 45 nm (Mistry et al., IEDM 2007, Intel 45 nm high-k/metal gate)."""

SRAM_ARRAY_EFFICIENCY = 0.7
"""Bitcell area / macro area (assumed)."""

_REFERENCE_NM = 45


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaBreakdown:
    """A design's area in mm² by component, at its technology node."""

    pe_array_mm2: float
    sram_mm2: float
    vector_mm2: float
    pe_variant: str

    @property
    def total_mm2(self) -> float:
        return self.pe_array_mm2 + self.sram_mm2 + self.vector_mm2


def _cell_um2(cell_type: str) -> float:
    """um² of one Yosys generic cell type such as ``$_NAND_`` or ``$_SDFFE_PP0P_``."""
    if not cell_type.startswith("$_"):  # $scopeinfo and the like: bookkeeping, no gates
        return 0.0
    kind = cell_type.strip("$_").split("_")[0]
    if "DFF" in kind:  # DFFE, SDFF, SDFFE: a flip-flop with a mux in front
        return CELL_UM2_45NM["DFF"] + (0.0 if kind == "DFF" else CELL_UM2_45NM["MUX"])
    return CELL_UM2_45NM[kind]


@cache
def _variant_um2() -> dict[str, float]:
    """Placed um² at 45 nm of each synthesized PE variant (``rtl_area.yaml`` cell types), and
    check the totals against ``area_table``'s cell counts."""
    rows = yaml.safe_load(AREA_TABLE.read_text())["designs"]
    counts = area_table()
    out = {}
    for row in rows:
        by_type = row["cells_by_type"]
        if sum(by_type.values()) != counts[row["name"]].value:
            raise ValueError(f"{AREA_TABLE}: {row['name']}: cells_by_type does not add up")
        cells = sum(n * _cell_um2(t) for t, n in by_type.items())
        out[row["name"]] = cells / PLACEMENT_UTILIZATION
    return out


def _pe_variant(spec: AcceleratorSpec) -> tuple[str, int]:
    """(synthesized PE to scale from, its multipliers): the widest supported M, else dense."""
    if not spec.sparsity.nm:
        return "pe_dense", 2
    widest = max(s.m for s in spec.sparsity.nm)
    if widest <= 4:
        return "pe_2of4", 2
    return ("pe_2of8", 2) if widest <= 8 else ("pe_2of16", 2)


def _pe_um2(variant: str) -> float:
    table = _variant_um2()
    if variant in table:
        return table[variant]
    step = table["pe_2of8"] - table["pe_2of4"]  # one doubling of M
    return table["pe_2of8"] + step * (math.log2(16) - math.log2(8))


def pe_um2(spec: AcceleratorSpec) -> float:
    """Placed um² at 45 nm of one PE of ``spec``."""
    variant, multipliers = _pe_variant(spec)
    return _pe_um2(variant) * spec.compute.multipliers_per_pe / multipliers


def design_area(spec: AcceleratorSpec) -> AreaBreakdown:
    """The area model (module docstring) of ``spec`` at its technology node."""
    scale = (spec.energy.technology_nm / _REFERENCE_NM) ** 2 * 1e-6  # um² at 45 nm -> mm²
    variant, _ = _pe_variant(spec)
    sram_bits = 8 * sum(buf.size_bytes for _, buf in spec.buffers)
    lane_um2 = _pe_um2("pe_dense") / 2
    return AreaBreakdown(
        pe_array_mm2=pe_um2(spec) * spec.compute.pes * scale,
        sram_mm2=sram_bits * BITCELL_UM2_45NM / SRAM_ARRAY_EFFICIENCY * scale,
        vector_mm2=lane_um2 * spec.vector.lanes * scale,
        pe_variant=variant,
    )
