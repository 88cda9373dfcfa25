"""``accel.area.area_table``: the committed Yosys cell counts as spec area entries."""

from __future__ import annotations

import yaml
from sparsim.accel.area import AREA_TABLE, DESIGNS, area_table


def test_one_entry_per_design_in_cells_with_its_source() -> None:
    table = area_table()
    assert list(table) == [d.name for d in DESIGNS]
    raw = {row["name"]: row["cells"] for row in yaml.safe_load(AREA_TABLE.read_text())["designs"]}
    for name, entry in table.items():
        assert entry.unit == "cells"
        assert entry.value == raw[name]  # read back from the YAML, not recomputed
        assert "Yosys" in entry.source and "rtl_area.yaml" in entry.source


def test_sparse_pe_overhead_is_the_index_multiplexers() -> None:
    # Same two multipliers and accumulator: the 2:4 and 2:8 PEs only add index multiplexers,
    # so they cost more than the dense PE but far less than doubling it.
    table = area_table()
    dense = table["pe_dense"].value
    assert 1.0 < table["pe_2of4"].value / dense < table["pe_2of8"].value / dense < 1.5
