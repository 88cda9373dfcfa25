"""Default energy table, the SRAM size rule, DRAM energy by technology, and technology scaling.

``DEFAULT_ENERGY`` is at 45 nm, built from M. Horowitz, "Computing's energy problem (and what we
can do about it)", ISSCC 2014 (45 nm, 0.9 V): int8 add 0.03 pJ, int8 mult 0.2 pJ, int32 add
0.1 pJ, int32 mult 3.1 pJ, fp16 add 0.4 / mult 1.1 pJ, fp32 add 0.9 / mult 3.7 pJ; 64-bit SRAM
read 10 pJ (8 KB), 20 pJ (32 KB), 100 pJ (1 MB); DRAM 1.3-2.6 nJ per 64-bit access. Entries the
paper does not give are estimates consistent with it and their source starts with "assumed".

SRAM size rule (``sram_size_factor``, a *calibration*): a least-squares line through Horowitz's
three points in log(size)-log(energy) has slope ``SRAM_SIZE_EXPONENT`` = 0.4726 (worked by hand:
with u = log2(KB) = 3, 5, 10 and v = log2(pJ) = 3.322, 4.322, 6.644, slope = Σ(u-ū)(v-v̄) /
Σ(u-ū)² = 12.288 / 26). Energy per byte is the table's 32 KB price times
``(size / 32 KiB) ** SRAM_SIZE_EXPONENT``: ≈ size^0.5, as bit and word lines (and, in a banked
array, the H-tree to the banks) grow with the square root of capacity. Outside 8 KB-1 MB the
line is extrapolated (a 16 MiB buffer pays 13.7x a 64 KiB one per byte). Port width: Horowitz
gives 64-bit accesses only; a wider port is taken as parallel 64-bit accesses to the same array,
so the energy per byte does not depend on it (CACTI makes wide words somewhat cheaper per byte;
not modelled). Reads and writes share the rule.

DRAM energy by technology (``DRAM_PJ_PER_BIT``, pJ per bit moved, device and interface): DDR3 is
Horowitz's midpoint; HBM2 is O'Connor et al., "Fine-Grained DRAM: Energy-Efficient DRAM for
Extreme Bandwidth Systems", MICRO 2017 (3.9 pJ/bit, as cited by many later papers; the paper
itself was not re-read here). The others are *assumed*, derived with E ∝ V² from the JEDEC supply
voltages (DDR3 1.5 V, DDR4 1.2 V, LPDDR4 1.1 V, LPDDR4X I/O 0.6 V, LPDDR5 core 1.05 V, I/O
0.5 V), taking half of the energy in the I/O (S. Li, D. Reddy, B. Jacob, MEMSYS 2018: most DRAM
energy is spent in the I/O interface). HBM2e and HBM3 are assumed equal to HBM2 (no verified
per-bit figure; HBM3's lower I/O voltage makes this pessimistic).

MAC energy by operand width (``mac_pj``): a MAC of a ``w``-bit weight and an ``a``-bit input
pays the table entry of the wider format (``EnergyTable.mac``: int up to 8 bits, int16+, fp up
to 16 bits, fp32; a float operand makes it a float MAC) with its multiplier share scaled by
``(w_s · a_s) / r_s²``, the significand widths (``workloads.dtypes``) over the entry's own
format's (int8: 8, int16: 16, fp16: 11, fp32: 24), capped at 1. Rule: an array multiplier's
energy grows with its partial products, ``w_s · a_s`` (Horowitz's int8 → int32 multiply, 0.2 →
3.1 pJ, is 15.5x for 16x the partial products); the adder (accumulator width) does not shrink.
The multiplier's share of each entry is Horowitz's (int8 0.2 of 0.3 pJ, int16 0.8 of 0.9 pJ,
fp16 1.1 of 1.5 pJ, fp32 3.7 of 4.6 pJ) applied to any table; below 8 bits and for fp8 the rule
is extrapolated (assumed: no published per-MAC figure at these widths in the same process).

Static power (``leakage_*_ns``, pJ per ns = mW) is assumed: 10% of a unit's dynamic power at full
activity at 1 GHz for multipliers and vector lanes; 100 pW per SRAM bit cell at 45 nm.

Technology scaling (``scale_energy``): dynamic energy is ``E = C·V²``; capacitance scales with
feature size ``L`` and, since supply voltage has stayed near 0.8-1.0 V below ~65 nm, ``V`` is
held constant, so ``E ∝ L``; leakage entries use the same factor. This is approximate: it
ignores FinFET capacitance, wire-dominated energy and per-node voltages. DRAM energy is set by
the DRAM die and its I/O, not by the accelerator's node, so it is not scaled.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace

from sparsim.accel.spec import DramTechnology, EnergyEntry, EnergyTable
from sparsim.workloads.dtypes import dtype_bits, is_float, significand_bits

__all__ = [
    "DEFAULT_ENERGY",
    "DRAM_PJ_PER_BIT",
    "ENERGY_ENTRY_NAMES",
    "SRAM_REFERENCE_BYTES",
    "SRAM_SIZE_EXPONENT",
    "dram_energy",
    "mac_pj",
    "scale_energy",
    "sram_pj_per_byte",
    "sram_size_factor",
    "with_dram",
]

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

# The multiplier's share of each MAC entry (module docstring, ``mac_pj``), by entry format.
_MULT_SHARE = {"int8": _INT8_MULT / (_INT8_MULT + _INT32_ADD),
               "int16": _INT16_MULT / (_INT16_MULT + _INT32_ADD),
               "fp16": _FP16_MULT / (_FP16_MULT + _FP16_ADD),
               "fp32": _FP32_MULT / (_FP32_MULT + _FP32_ADD)}  # fmt: skip

ENERGY_ENTRY_NAMES = tuple(f.name for f in fields(EnergyTable) if f.name != "technology_nm")

SRAM_REFERENCE_BYTES = _SRAM_64BIT_READ[1][0]
"""The size ``EnergyTable.sram_*_per_byte`` are priced at (Horowitz's 32 KB point)."""


def _fit_slope(points: tuple[tuple[int, float], ...]) -> float:
    """Least-squares slope of log(energy) against log(size)."""
    xs = [math.log(size) for size, _ in points]
    ys = [math.log(pj) for _, pj in points]
    x_mean, y_mean = sum(xs) / len(xs), sum(ys) / len(ys)
    num = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True))
    return num / sum((x - x_mean) ** 2 for x in xs)


SRAM_SIZE_EXPONENT = _fit_slope(_SRAM_64BIT_READ)
"""Calibration: slope of the log-log least-squares line through Horowitz's SRAM points."""


def sram_size_factor(size_bytes: int) -> float:
    """Energy per byte of a ``size_bytes`` SRAM relative to the 32 KiB reference (docstring)."""
    if size_bytes <= 0:
        raise ValueError(f"size_bytes must be > 0, not {size_bytes}")
    return (size_bytes / SRAM_REFERENCE_BYTES) ** SRAM_SIZE_EXPONENT


def sram_pj_per_byte(size_bytes: int, technology_nm: int = _NM) -> float:
    """Default read energy per byte of a ``size_bytes`` SRAM at ``technology_nm``."""
    reference = _SRAM_64BIT_READ[1][1] / 8
    return reference * sram_size_factor(size_bytes) * _scale_factor(_NM, technology_nm)


def _v2(volts: float, reference: float) -> float:
    return (volts / reference) ** 2


_DDR3 = sum(_DRAM_64BIT) / 2 / 64
_LPDDR4 = _DDR3 * _v2(1.1, 1.5)
_HBM2 = 3.9
_HBM_NOTE = "assumed: equal to HBM2 3.9 pJ/bit (O'Connor et al., MICRO 2017); no verified figure"

DRAM_PJ_PER_BIT: dict[DramTechnology, EnergyEntry] = {
    DramTechnology.DDR3: EnergyEntry(
        pj=_DDR3, source=f"{_H}: DRAM 1.3-2.6 nJ per 64-bit access, midpoint 1.95 nJ / 64 bits"
    ),
    DramTechnology.DDR4: EnergyEntry(
        pj=_DDR3 * _v2(1.2, 1.5),
        source="assumed: DDR3 (Horowitz 2014) x (1.2 V / 1.5 V)^2, JEDEC VDD of DDR4 vs DDR3",
    ),
    DramTechnology.LPDDR4: EnergyEntry(
        pj=_LPDDR4,
        source="assumed: DDR3 (Horowitz 2014) x (1.1 V / 1.5 V)^2, JEDEC VDD2/VDDQ of LPDDR4",
    ),
    DramTechnology.LPDDR4X: EnergyEntry(
        pj=_LPDDR4 * (0.5 + 0.5 * _v2(0.6, 1.1)),
        source="assumed: LPDDR4 with its I/O half (Li, Reddy, Jacob, MEMSYS 2018: most DRAM "
        "energy is I/O) at VDDQ 0.6 V instead of 1.1 V (JEDEC LPDDR4X), E ∝ V^2",
    ),
    DramTechnology.LPDDR5: EnergyEntry(
        pj=_LPDDR4 * (0.5 * _v2(1.05, 1.1) + 0.5 * _v2(0.5, 1.1)),
        source="assumed: LPDDR4 with core at VDD2H 1.05 V and I/O at VDDQ 0.5 V (JEDEC LPDDR5), "
        "half of the energy in each, E ∝ V^2",
    ),
    DramTechnology.HBM2: EnergyEntry(
        pj=_HBM2, source="O'Connor et al., Fine-Grained DRAM, MICRO 2017: HBM2 3.9 pJ/bit"
    ),
    DramTechnology.HBM2E: EnergyEntry(pj=_HBM2, source=_HBM_NOTE),
    DramTechnology.HBM3: EnergyEntry(pj=_HBM2, source=_HBM_NOTE),
}
"""pJ per bit moved, by DRAM technology (module docstring)."""


def dram_energy(technology: DramTechnology | str) -> EnergyEntry:
    """pJ per byte of ``technology`` (``DRAM_PJ_PER_BIT`` x 8), with its source."""
    entry = DRAM_PJ_PER_BIT[DramTechnology(technology)]
    name = DramTechnology(technology).value
    return EnergyEntry(pj=entry.pj * 8, source=f"{entry.source} ({name} {entry.pj:.3g} pJ/bit x 8)")


def with_dram(table: EnergyTable, technology: DramTechnology | str) -> EnergyTable:
    """``table`` with ``dram_per_byte`` priced for ``technology``."""
    return replace(table, dram_per_byte=dram_energy(technology))


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


_LEAK_SHARE = 0.1  # assumed: leakage = 10% of dynamic power at full activity
_SRAM_LEAK_PW_PER_BIT = 100.0  # assumed: 45 nm SRAM bit cell leakage


def _default_table() -> EnergyTable:
    sram_32kb = _SRAM_64BIT_READ[1][1] / 8
    int8_mac = _INT8_MULT + _INT32_ADD
    int16_mac = _INT16_MULT + _INT32_ADD
    return EnergyTable(
        technology_nm=_NM,
        mac_int8=EnergyEntry(pj=int8_mac, source=f"{_H}: int8 mult 0.2 pJ + int32 add 0.1 pJ"),
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
            source="assumed: a PE register hop (write + read) costs about one 16-bit MAC "
            "(Chen et al., Eyeriss, ISCA 2016, normalized energies) = int16 MAC per 2 bytes",
        ),
        sram_read_per_byte=EnergyEntry(
            pj=sram_32kb, source=f"{_H}: 32 KB SRAM 64-bit read 20 pJ / 8 bytes"
        ),
        sram_write_per_byte=EnergyEntry(
            pj=sram_32kb, source=f"assumed: equal to the 32 KB SRAM read ({_H} gives reads)"
        ),
        dram_per_byte=dram_energy(DramTechnology.DDR4),
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
        leakage_per_multiplier_ns=EnergyEntry(
            pj=_LEAK_SHARE * int8_mac,
            source=f"assumed: 10% of an int8 MAC's dynamic power at 1 GHz ({_H}: 0.3 pJ)",
        ),
        leakage_per_sram_kib_ns=EnergyEntry(
            pj=_SRAM_LEAK_PW_PER_BIT * 8192 * 1e-9,
            source="assumed: 100 pW per SRAM bit cell at 45 nm, x 8192 bits per KiB",
        ),
        leakage_per_vector_lane_ns=EnergyEntry(
            pj=_LEAK_SHARE * _FP32_ADD,
            source=f"assumed: 10% of a vector lane's dynamic power at 1 GHz ({_H}: fp32 add "
            "0.9 pJ)",
        ),
    )


DEFAULT_ENERGY: EnergyTable = _default_table()


def _entry_format(weight: str, input_: str) -> str:
    """The MAC entry a (weight, input) pair pays (module docstring): the wider format, a float
    operand making it a float MAC."""
    wide = max((weight, input_), key=lambda d: (is_float(d), dtype_bits(d)))
    if is_float(wide):
        return "fp32" if dtype_bits(wide) > 16 else "fp16"
    return "int16" if dtype_bits(wide) > 8 else "int8"


def mac_pj(table: EnergyTable, weight: str, input_: str) -> float:
    """pJ of one MAC of ``weight`` x ``input_`` operands (module docstring: the width rule)."""
    ref = _entry_format(weight, input_)
    entry = table.mac(ref).pj
    ratio = min(1.0, significand_bits(weight) * significand_bits(input_)
                / significand_bits(ref) ** 2)  # fmt: skip
    if ratio >= 1.0:
        return entry  # the entry's own width (or wider): its price as it is
    share = _MULT_SHARE[ref]
    return entry * (1.0 - share + share * ratio)
