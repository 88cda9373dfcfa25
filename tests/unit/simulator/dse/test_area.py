"""The DSE area model against hand calculations from its cited constants."""

from __future__ import annotations

import pytest
from sparsim.accel.loader import spec_from_mapping
from sparsim.accel.spec import AcceleratorSpec
from sparsim.simulator.dse.area import design_area


def _spec(*, rows: int = 1, mult: int = 2, nm: list | None = None, size: int = 1 << 20,
          node: int = 45) -> AcceleratorSpec:  # fmt: skip
    data = {
        "name": "a", "compute": {"rows": rows, "cols": 1, "multipliers_per_pe": mult,
                                 "dataflow": "os"},
        "sparsity": {"nm": nm or []},
        "buffers": {"shared": {"size_bytes": size, "read_bytes_per_cycle": 8,
                               "write_bytes_per_cycle": 8}},
        "dram": {"bandwidth_gb_per_s": 10.0}, "vector": {"lanes": 1},
        "energy": {"technology_nm": node},
    }  # fmt: skip
    return spec_from_mapping(data, "test")


def test_sram_area_by_hand() -> None:
    # 1 MiB = 8,388,608 bits x 0.346 um2 (45 nm 6T cell) = 2,902,458.4 um2; / 0.7 array
    # efficiency = 4,146,369.1 um2 = 4.14637 mm2
    assert design_area(_spec()).sram_mm2 == pytest.approx(4.14637, rel=1e-5)
    # at 16 nm: x (16/45)^2 = 0.1264198 -> 0.524187 mm2
    assert design_area(_spec(node=16)).sram_mm2 == pytest.approx(0.524187, rel=1e-5)


def test_dense_pe_area_by_hand() -> None:
    # pe_dense cells in configs/area/rtl_area.yaml x NanGate45 X1 um2 (DFFE/SDFF = DFF + MUX):
    # ANDNOT 50x1.596 + AND 172x1.064 + DFFE 32x6.384 + MUX 6x1.862 + NAND 497x0.798
    # + NOR 1x0.798 + NOT 1x0.532 + ORNOT 18x1.596 + OR 13x1.064 + SDFF 1x6.384
    # + XNOR 47x1.596 + XOR 349x1.596 = 1557.164 um2 of cells; / 0.7 utilization = 2224.52 um2
    area = design_area(_spec())
    assert area.pe_variant == "pe_dense"
    assert area.pe_array_mm2 == pytest.approx(2224.52e-6, rel=1e-5)
    # 4 PEs of 4 multipliers: 4 x 2 x the 2-multiplier PE
    assert design_area(_spec(rows=4, mult=4)).pe_array_mm2 == pytest.approx(8 * 2224.52e-6,
                                                                            rel=1e-5)


def test_nm_pe_costs_more_with_wider_m() -> None:
    dense, two_of_four, two_of_eight = (
        design_area(_spec(nm=nm)) for nm in ([], [{"n": 2, "m": 4}], [{"n": 2, "m": 8}]))
    assert [a.pe_variant for a in (dense, two_of_four, two_of_eight)] == [
        "pe_dense", "pe_2of4", "pe_2of8"]
    assert dense.pe_array_mm2 < two_of_four.pe_array_mm2 < two_of_eight.pe_array_mm2
    total = two_of_eight
    assert total.total_mm2 == total.pe_array_mm2 + total.sram_mm2 + total.vector_mm2
