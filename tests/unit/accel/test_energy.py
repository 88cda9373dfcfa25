"""accel.energy: the default table holds Horowitz's 45 nm numbers; scaling follows E ∝ L."""

from __future__ import annotations

import math

import pytest
from sparsim.accel.energy import DEFAULT_ENERGY, ENERGY_ENTRY_NAMES, scale_energy, sram_pj_per_byte

# Golden values typed from M. Horowitz, "Computing's energy problem (and what we can do about
# it)", ISSCC 2014, 45 nm (pJ per operation / per 64-bit access).
INT8_MULT, INT32_ADD = 0.2, 0.1
FP16_ADD, FP16_MULT, FP32_ADD, FP32_MULT = 0.4, 1.1, 0.9, 3.7
SRAM_8KB, SRAM_32KB, SRAM_1MB = 10.0, 20.0, 100.0
DRAM_LOW, DRAM_HIGH = 1300.0, 2600.0
KIB = 1024


def test_default_is_45nm() -> None:
    assert DEFAULT_ENERGY.technology_nm == 45


@pytest.mark.parametrize(
    ("entry", "pj"),
    [
        ("mac_int8", INT8_MULT + INT32_ADD),
        ("mac_fp16", FP16_MULT + FP16_ADD),
        ("mac_fp32", FP32_MULT + FP32_ADD),
        ("sram_read_per_byte", SRAM_32KB / 8),
        ("dram_per_byte", (DRAM_LOW + DRAM_HIGH) / 2 / 8),
    ],
)
def test_default_holds_horowitz_numbers(entry: str, pj: float) -> None:
    value = getattr(DEFAULT_ENERGY, entry)
    assert value.pj == pytest.approx(pj)
    assert value.source.startswith("Horowitz, ISSCC 2014")


def test_int16_mac_is_marked_assumed() -> None:
    # Quadratic multiplier-width rule from the int8 point: 0.2 * (16/8)^2 + int32 add 0.1.
    assert DEFAULT_ENERGY.mac_int16.pj == pytest.approx(INT8_MULT * 4 + INT32_ADD)
    assert DEFAULT_ENERGY.mac_int16.source.startswith("assumed")


def test_every_entry_is_sourced_or_marked_assumed() -> None:
    for name in ENERGY_ENTRY_NAMES:
        entry = getattr(DEFAULT_ENERGY, name)
        assert entry.pj > 0, name
        assert entry.source.startswith(("Horowitz", "assumed")), (name, entry.source)


@pytest.mark.parametrize(
    ("size_bytes", "pj_per_64bit"),
    [(8 * KIB, SRAM_8KB), (32 * KIB, SRAM_32KB), (1024 * KIB, SRAM_1MB)],
)
def test_sram_curve_passes_through_horowitz_points(size_bytes: int, pj_per_64bit: float) -> None:
    assert sram_pj_per_byte(size_bytes) == pytest.approx(pj_per_64bit / 8)


def test_sram_curve_interpolates_log_log() -> None:
    # 16 KB is the geometric midpoint of 8 KB and 32 KB, so the energy is the geometric mean.
    assert sram_pj_per_byte(16 * KIB) == pytest.approx(math.sqrt(SRAM_8KB * SRAM_32KB) / 8)
    # 2 KB extrapolates the 8-32 KB power law (exponent log 2 / log 4 = 0.5): 10 * (1/4)^0.5.
    assert sram_pj_per_byte(2 * KIB) == pytest.approx(SRAM_8KB * 0.5 / 8)
    sizes = [2**i for i in range(10, 24)]
    energies = [sram_pj_per_byte(s) for s in sizes]
    assert energies == sorted(energies)


def test_sram_curve_scales_with_node_and_rejects_zero() -> None:
    assert sram_pj_per_byte(32 * KIB, technology_nm=22) == pytest.approx(SRAM_32KB / 8 * 22 / 45)
    with pytest.raises(ValueError, match="size_bytes must be > 0"):
        sram_pj_per_byte(0)


def test_scaling_to_the_same_node_is_the_identity() -> None:
    assert scale_energy(DEFAULT_ENERGY, 45) is DEFAULT_ENERGY


def test_scaling_45_to_22_reduces_mac_energy_but_not_dram() -> None:
    scaled = scale_energy(DEFAULT_ENERGY, 22)
    assert scaled.technology_nm == 22
    assert scaled.mac_int8.pj < DEFAULT_ENERGY.mac_int8.pj
    assert scaled.mac_int8.pj == pytest.approx((INT8_MULT + INT32_ADD) * 22 / 45)
    assert "scaled 45 nm -> 22 nm" in scaled.mac_int8.source
    assert scaled.dram_per_byte == DEFAULT_ENERGY.dram_per_byte


def test_scaling_round_trip_restores_the_values() -> None:
    back = scale_energy(scale_energy(DEFAULT_ENERGY, 22), 45)
    for name in ENERGY_ENTRY_NAMES:
        assert getattr(back, name).pj == pytest.approx(getattr(DEFAULT_ENERGY, name).pj)


def test_scaling_rejects_a_nonpositive_node() -> None:
    with pytest.raises(ValueError, match="technology nodes must be > 0 nm"):
        scale_energy(DEFAULT_ENERGY, 0)
