"""Default energy table and the technology-scaling rule.

``DEFAULT_ENERGY`` is at 45 nm, built from M. Horowitz, "Computing's energy problem (and what we
can do about it)", ISSCC 2014 (45 nm, 0.9 V): int8 add 0.03 pJ, int8 mult 0.2 pJ, int32 add
0.1 pJ, int32 mult 3.1 pJ, fp16 add 0.4 / mult 1.1 pJ, fp32 add 0.9 / mult 3.7 pJ; 64-bit SRAM
read 10 pJ (8 KB), 20 pJ (32 KB), 100 pJ (1 MB); DRAM 1.3-2.6 nJ per 64-bit access. Entries the
paper does not give are estimates consistent with it and their source starts with "assumed".

Technology scaling (``scale_energy``): dynamic energy is ``E = C·V²``; capacitance scales with
feature size ``L`` and, since supply voltage has stayed near 0.8-1.0 V below ~65 nm, ``V`` is
held constant, so ``E ∝ L``. This is approximate: it ignores FinFET capacitance, wire-dominated
energy and per-node voltages. DRAM energy is set by the DRAM die and its I/O, not by the
accelerator's node, so it is not scaled.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace

from sparsim.accel.spec import EnergyEntry, EnergyTable

__all__ = ["DEFAULT_ENERGY", "ENERGY_ENTRY_NAMES", "scale_energy", "sram_pj_per_byte"]

_H = "Horowitz, ISSCC 2014, 45 nm"
_NM = 45

# Horowitz 2014, pJ per operation at 45 nm.
_INT8_ADD, _INT8_MULT, _INT32_ADD, _INT32_MULT = 0.03, 0.2, 0.1, 3.1
_FP16_ADD, _FP16_MULT, _FP32_ADD, _FP32_MULT = 0.4, 1.1, 0.9, 3.7
# Horowitz 2014, pJ per 64-bit SRAM read by array size in bytes, and per 64-bit DRAM access.
_SRAM_64BIT_READ = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))
_DRAM_64BIT = (1300.0, 2600.0)

# Array multiplier energy grows with the square of the width; from the int8 point, ×(16/8)².
_INT16_MULT = _INT8_MULT * (16 / 8) ** 2

ENERGY_ENTRY_NAMES = tuple(f.name for f in fields(EnergyTable) if f.name != "technology_nm")


def sram_pj_per_byte(size_bytes: int, technology_nm: int = _NM) -> float:
    """Read energy per byte of an SRAM array of ``size_bytes``, at ``technology_nm``.

    Piecewise linear in log(size)-log(energy) through Horowitz's three 45 nm points, i.e. a
    power law per segment (≈ size^0.5: bit/word lines grow as the square root of capacity);
    outside 8 KB-1 MB the nearest segment is extrapolated. Divided by 8 bytes per access.
    """
    if size_bytes <= 0:
        raise ValueError(f"size_bytes must be > 0, not {size_bytes}")
    points = _SRAM_64BIT_READ
    lo, hi = (points[0], points[1]) if size_bytes <= points[1][0] else (points[1], points[2])
    slope = math.log(hi[1] / lo[1]) / math.log(hi[0] / lo[0])
    pj_per_access = lo[1] * (size_bytes / lo[0]) ** slope
    return pj_per_access / 8 * _scale_factor(_NM, technology_nm)


def _scale_factor(from_nm: int, to_nm: int) -> float:
    if from_nm <= 0 or to_nm <= 0:
        raise ValueError(f"technology nodes must be > 0 nm, not {from_nm} and {to_nm}")
    return to_nm / from_nm


def _scaled(entry: EnergyEntry, from_nm: int, to_nm: int) -> EnergyEntry:
    factor = _scale_factor(from_nm, to_nm)
    note = f"scaled {from_nm} nm -> {to_nm} nm by x{factor:.3g} (E ∝ feature size, approximate)"
    return EnergyEntry(pj=entry.pj * factor, source=f"{entry.source}; {note}")


def scale_energy(table: EnergyTable, technology_nm: int) -> EnergyTable:
    """``table`` moved to ``technology_nm`` by the rule in the module docstring (DRAM kept).

    Returns ``table`` itself when the node is unchanged.
    """
    if technology_nm == table.technology_nm:
        return table
    scaled = {
        name: _scaled(getattr(table, name), table.technology_nm, technology_nm)
        for name in ENERGY_ENTRY_NAMES
        if name != "dram_per_byte"
    }
    return replace(table, technology_nm=technology_nm, **scaled)


def _default_table() -> EnergyTable:
    sram_32kb = _SRAM_64BIT_READ[1][1] / 8
    int16_mac = _INT16_MULT + _INT32_ADD
    return EnergyTable(
        technology_nm=_NM,
        mac_int8=EnergyEntry(
            pj=_INT8_MULT + _INT32_ADD, source=f"{_H}: int8 mult 0.2 pJ + int32 add 0.1 pJ"
        ),
        mac_int16=EnergyEntry(
            pj=int16_mac,
            source=f"assumed: int16 mult = int8 mult 0.2 pJ x (16/8)^2 ({_H}, multiplier "
            "energy ∝ width²) + int32 add 0.1 pJ",
        ),
        mac_fp16=EnergyEntry(
            pj=_FP16_MULT + _FP16_ADD, source=f"{_H}: fp16 mult 1.1 pJ + fp16 add 0.4 pJ"
        ),
        mac_fp32=EnergyEntry(
            pj=_FP32_MULT + _FP32_ADD, source=f"{_H}: fp32 mult 3.7 pJ + fp32 add 0.9 pJ"
        ),
        rf_access_per_byte=EnergyEntry(
            pj=int16_mac / 2,
            source="assumed: a small register file access costs about one 16-bit MAC "
            "(Chen et al., Eyeriss, ISCA 2016, normalized energies) = int16 MAC per 2 bytes",
        ),
        sram_read_per_byte=EnergyEntry(
            pj=sram_32kb, source=f"{_H}: 32 KB SRAM 64-bit read 20 pJ / 8 bytes"
        ),
        sram_write_per_byte=EnergyEntry(
            pj=sram_32kb, source=f"assumed: equal to the 32 KB SRAM read ({_H} gives reads)"
        ),
        dram_per_byte=EnergyEntry(
            pj=sum(_DRAM_64BIT) / 2 / 8,
            source=f"{_H}: DRAM 1.3-2.6 nJ per 64-bit access, midpoint 1.95 nJ / 8 bytes",
        ),
        metadata_per_index=EnergyEntry(
            pj=_INT8_ADD,
            source=f"assumed: decoding one <=4-bit N:M index ~ one int8 add 0.03 pJ ({_H})",
        ),
        mux_select=EnergyEntry(
            pj=_INT8_ADD,
            source=f"assumed: one 8-bit M:1 operand select ~ one int8 add 0.03 pJ ({_H})",
        ),
        vector_flop=EnergyEntry(
            pj=_FP32_ADD, source=f"assumed: one vector-unit op ~ one fp32 add 0.9 pJ ({_H})"
        ),
    )


DEFAULT_ENERGY: EnergyTable = _default_table()
