"""accel.energy: Horowitz's 45 nm numbers, the SRAM size rule, DRAM by technology, E ∝ L."""

from __future__ import annotations

import pytest
from sparsim.accel.energy import (
    DEFAULT_ENERGY,
    DRAM_PJ_PER_BIT,
    ENERGY_ENTRY_NAMES,
    SRAM_SIZE_EXPONENT,
    dram_energy,
    mac_pj,
    scale_energy,
    sram_pj_per_byte,
    sram_size_factor,
)
from sparsim.accel.loader import load_spec
from sparsim.accel.spec import DramTechnology

# Golden values typed from M. Horowitz, "Computing's energy problem (and what we can do about
# it)", ISSCC 2014, 45 nm (pJ per operation / per 64-bit access).
INT8_MULT, INT32_ADD = 0.2, 0.1
FP16_ADD, FP16_MULT, FP32_ADD, FP32_MULT = 0.4, 1.1, 0.9, 3.7
SRAM_8KB, SRAM_32KB, SRAM_1MB = 10.0, 20.0, 100.0
DRAM_LOW, DRAM_HIGH = 1300.0, 2600.0
KIB, MIB = 1024, 1024 * 1024

# Least-squares slope through Horowitz's SRAM points worked by hand in log2 units:
# u = log2(size / 1 KB) = 3, 5, 10 (mean 6); v = log2(pJ) = 3.32193, 4.32193, 6.64386
# (mean 4.76257); Σ(u-ū)(v-v̄) = (-3)(-1.44064) + (-1)(-0.44064) + 4(1.88129) = 12.28772;
# Σ(u-ū)² = 9 + 1 + 16 = 26; slope = 12.28772 / 26 = 0.4726046.
HAND_SLOPE = 0.4726046


def test_default_is_45nm() -> None:
    assert DEFAULT_ENERGY.technology_nm == 45


@pytest.mark.parametrize(
    ("entry", "pj"),
    [
        ("mac_int8", INT8_MULT + INT32_ADD),
        ("mac_fp16", FP16_MULT + FP16_ADD),
        ("mac_fp32", FP32_MULT + FP32_ADD),
        ("sram_read_per_byte", SRAM_32KB / 8),
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
    for tech, entry in DRAM_PJ_PER_BIT.items():
        assert entry.source.startswith(("Horowitz", "O'Connor", "assumed")), (tech, entry.source)


def test_sram_size_exponent_is_the_hand_fit() -> None:
    assert abs(SRAM_SIZE_EXPONENT - HAND_SLOPE) < 1e-6


def test_sram_rule_is_anchored_at_32kb_and_follows_the_fit() -> None:
    assert sram_pj_per_byte(32 * KIB) == pytest.approx(SRAM_32KB / 8)
    # 1 MB is 32x the reference: 2.5 pJ/B * 32^0.4726046 = 2.5 * 2^2.363023 = 2.5 * 5.14450
    # = 12.861 pJ/B (the fit passes near, not through, Horowitz's 12.5 pJ/B there).
    assert sram_pj_per_byte(1024 * KIB) == pytest.approx(2.5 * 32**HAND_SLOPE, rel=1e-5)
    assert sram_pj_per_byte(1024 * KIB) == pytest.approx(12.861, abs=0.01)
    sizes = [2**i for i in range(10, 26)]
    energies = [sram_pj_per_byte(s) for s in sizes]
    assert energies == sorted(energies)


def test_16mib_sram_costs_at_least_1_5x_a_64kib_one_per_byte() -> None:
    # issue 9 "Must show": (16 MiB / 64 KiB)^0.4726046 = 256^0.4726046 = 2^3.780837 = 13.745.
    ratio = sram_pj_per_byte(16 * MIB) / sram_pj_per_byte(64 * KIB)
    assert ratio >= 1.5
    assert ratio == pytest.approx(13.745, abs=0.01)
    assert sram_size_factor(16 * MIB) / sram_size_factor(64 * KIB) == pytest.approx(ratio)


def test_sram_curve_scales_with_node_and_rejects_zero() -> None:
    assert sram_pj_per_byte(32 * KIB, technology_nm=22) == pytest.approx(SRAM_32KB / 8 * 22 / 45)
    with pytest.raises(ValueError, match="size_bytes must be > 0"):
        sram_pj_per_byte(0)


# pJ/bit by technology, worked by hand from the rules in accel.energy's docstring:
# DDR3 = (1300 + 2600) / 2 / 64 = 30.46875 (Horowitz); DDR4 = 30.46875 * (1.2/1.5)^2 = 19.5;
# LPDDR4 = 30.46875 * (1.1/1.5)^2 = 16.385417; LPDDR4X = 16.385417 * (0.5 + 0.5 * (0.6/1.1)^2)
# = 16.385417 * 0.648760 = 10.630208; LPDDR5 = 16.385417 * (0.5 * (1.05/1.1)^2 + 0.5 *
# (0.5/1.1)^2) = 16.385417 * 0.558884 = 9.157552; HBM2 = 3.9 (O'Connor et al., MICRO 2017).
DRAM_GOLDEN = {
    "DDR3": 30.46875, "DDR4": 19.5, "LPDDR4": 16.385417, "LPDDR4X": 10.630208,
    "LPDDR5": 9.157552, "HBM2": 3.9, "HBM2e": 3.9, "HBM3": 3.9,
}  # fmt: skip


@pytest.mark.parametrize(("tech", "pj_per_bit"), sorted(DRAM_GOLDEN.items()))
def test_dram_energy_by_technology(tech: str, pj_per_bit: float) -> None:
    assert DRAM_PJ_PER_BIT[DramTechnology(tech)].pj == pytest.approx(pj_per_bit, rel=1e-6)
    assert dram_energy(tech).pj == pytest.approx(8 * pj_per_bit, rel=1e-6)


def test_shipped_specs_name_their_dram_and_pay_its_price() -> None:
    expected = {"mobile_npu": "LPDDR4X", "sat": "DDR4", "dense_ws_128x128": "DDR3",
                "dense_os_32x32": "LPDDR4"}  # fmt: skip
    for name, tech in expected.items():
        spec = load_spec(name)
        assert spec.dram.technology == tech
        assert spec.energy.dram_per_byte.pj == pytest.approx(8 * DRAM_GOLDEN[tech], rel=1e-6)
    # the mobile NPU pays LPDDR4X: 8 * 10.630208 = 85.04 pJ/B (DDR3 would be 243.75)
    assert load_spec("mobile_npu").energy.dram_per_byte.pj == pytest.approx(85.0417, abs=1e-3)
    assert "LPDDR4X" in load_spec("mobile_npu").energy.dram_per_byte.source


def test_scaling_to_the_same_node_is_the_identity() -> None:
    assert scale_energy(DEFAULT_ENERGY, 45) is DEFAULT_ENERGY


def test_scaling_45_to_22_reduces_mac_energy_but_not_dram() -> None:
    scaled = scale_energy(DEFAULT_ENERGY, 22)
    assert scaled.technology_nm == 22
    assert scaled.mac_int8.pj < DEFAULT_ENERGY.mac_int8.pj
    assert scaled.mac_int8.pj == pytest.approx((INT8_MULT + INT32_ADD) * 22 / 45)
    assert "scaled 45 nm -> 22 nm" in scaled.mac_int8.source
    assert scaled.dram_per_byte == DEFAULT_ENERGY.dram_per_byte


def test_leakage_defaults_by_hand() -> None:
    # 10% of 0.3 pJ at 1 GHz = 0.03 mW per multiplier; 100 pW * 8192 bits = 8.192e-4 mW per
    # KiB; 10% of 0.9 pJ at 1 GHz = 0.09 mW per vector lane.
    assert DEFAULT_ENERGY.leakage_per_multiplier_ns.pj == pytest.approx(0.03)
    assert DEFAULT_ENERGY.leakage_per_sram_kib_ns.pj == pytest.approx(8.192e-4)
    assert DEFAULT_ENERGY.leakage_per_vector_lane_ns.pj == pytest.approx(0.09)


def test_scaling_round_trip_restores_the_values() -> None:
    back = scale_energy(scale_energy(DEFAULT_ENERGY, 22), 45)
    for name in ENERGY_ENTRY_NAMES:
        assert getattr(back, name).pj == pytest.approx(getattr(DEFAULT_ENERGY, name).pj)


def test_scaling_rejects_a_nonpositive_node() -> None:
    with pytest.raises(ValueError, match="technology nodes must be > 0 nm"):
        scale_energy(DEFAULT_ENERGY, 0)


@pytest.mark.parametrize(
    ("weight", "input_", "pj"),
    [
        ("int8", "int8", 0.3),  # Horowitz: int8 mult 0.2 + int32 add 0.1, as it is
        # multiplier share 0.2 of 0.3 scaled by (4 x 8) / 8^2 = 1/2: 0.1 + 0.2 / 2
        ("int4", "int8", 0.2),
        ("int2", "int8", 0.15),  # 0.1 + 0.2 x (2 x 8) / 64
        ("int4", "int4", 0.15),  # 0.1 + 0.2 x 16 / 64
        ("fp16", "fp16", 1.5),  # Horowitz: fp16 mult 1.1 + add 0.4
        # fp8 E4M3: 4-bit significands, fp16 entry 11-bit: 0.4 + 1.1 x 16 / 121
        ("fp8_e4m3", "fp8_e4m3", 0.4 + 1.1 * 16 / 121),
        ("int4", "fp16", 0.4 + 1.1 * 44 / 121),  # a float operand makes it a float MAC
        ("fp32", "fp32", 4.6),
    ],
)
def test_mac_energy_follows_operand_widths(weight: str, input_: str, pj: float) -> None:
    assert mac_pj(DEFAULT_ENERGY, weight, input_) == pytest.approx(pj, rel=1e-12)
