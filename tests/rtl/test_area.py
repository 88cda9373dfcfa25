"""The generated area table ``configs/area/rtl_area.yaml`` (``accel.area``)."""

from __future__ import annotations

import pytest
import yaml
from sparsim.accel.area import AREA_TABLE, DESIGNS, synthesize_area, to_yaml


def _committed() -> dict[str, dict]:
    return {row["name"]: row for row in yaml.safe_load(AREA_TABLE.read_text())["designs"]}


def test_area_table_lists_every_design_in_order() -> None:
    assert list(_committed()) == [d.name for d in DESIGNS]


def test_sparse_pes_cost_more_than_dense_and_grow_with_m() -> None:
    """The index multiplexers are the only difference: more of them for a larger M, none in
    the dense PE; the registers (32-bit accumulator + done flag) are the same in all."""
    rows = _committed()
    cells = [rows[name]["cells"] for name in ("pe_dense", "pe_2of4", "pe_2of8")]
    assert cells == sorted(cells) and len(set(cells)) == 3
    assert {rows[name]["flip_flops"] for name in ("pe_dense", "pe_2of4", "pe_2of8")} == {33}


def test_more_modes_at_the_same_widest_m_cost_at_most_3_percent() -> None:
    """Why the DSE area model prices a mode set by its widest M alone (simulator.dse.area):
    the synthesized multi-mode PEs stay within 3% of the 2:8 PE."""
    rows = _committed()
    base = rows["pe_2of8"]["cells"]
    for name in ("pe_2of4_2of8", "pe_sat"):
        assert abs(rows[name]["cells"] / base - 1) <= 0.03, name


@pytest.mark.slow
def test_area_table_is_current() -> None:
    """Fresh synthesis reproduces the committed file (refresh: sparsim rtl area --update)."""
    assert to_yaml(synthesize_area()) == AREA_TABLE.read_text()
