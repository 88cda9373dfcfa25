"""Text table, CSV and JSON of a hand-built RunResult.

Expected numbers are worked out by hand from the two rows built below (comments show the sums).
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest
from sparsim.simulator.report import (
    TABLE_WIDTH,
    csv_rows,
    format_table,
    scaled,
    write_csv,
    write_json,
)
from sparsim.simulator.results import LayerResult, Pass, RunResult


def _layer(name: str, pass_: Pass, **kw) -> LayerResult:
    base = dict(
        layer=name, op="Conv2d", pass_=pass_, m=64, n=32, k=288, count=1, cycles=1000,
        compute_cycles=900, stall_cycles=100, dense_cycles=2000, utilization=0.5,
        dense_macs=589_824, effective_macs=147_456,
        energy_pj=(("mac", 2_000_000.0), ("dram", 1_000_000.0)), dense_energy_pj=6e6,
        bytes_by_level=(("dram.weight", 2304), ("sram.read", 9000)), bound="compute",
    )  # fmt: skip
    return LayerResult(**(base | kw))


def make_run() -> RunResult:
    rows = (
        _layer("conv1", Pass.FW, notes=("weight 2:8 ran dense",),
               busy_cycles=(("compute", 900), ("input buffer read port", 400), ("DRAM", 50))),
        _layer(
            "fc", Pass.BW_DATA, op="Linear", cycles=3000, compute_cycles=2100, stall_cycles=900,
            dense_cycles=3000, bound="memory", bytes_by_level=(("dram.input", 512),),
            notes=("balanced work assumed", "weight 2:8 ran dense"),
        ),
    )  # fmt: skip
    return RunResult(
        workload="toy",
        accel="tiny",
        phase="training",
        engine="analytical",
        freq_mhz=500.0,
        layers=rows,
        notes=("run-level remark",),
    )


def test_table_has_rows_totals_and_numbered_notes():
    lines = format_table(make_run()).splitlines()
    assert lines[0] == "toy (training) on tiny, analytical engine"
    # 4000 cycles / 500 MHz = 8 µs; energy 2 rows x 3e6 pJ = 6e6 pJ = 6 µJ
    assert lines[1] == "4,000 cycles = 8.000 µs at 500 MHz, speedup 1.25x, energy 6.000 µJ"
    # mac 2 x 2e6 pJ = 4 µJ of 6 (66.7%), dram 2 x 1e6 pJ = 2 µJ (33.3%)
    assert lines[2] == "energy by component: mac 4.000 µJ (66.7%), dram 2.000 µJ (33.3%)"
    # conv1 (compute) 1,000 of the 4,000 cycles, fc (memory) 3,000
    assert lines[3] == "time by bound: memory 75.0% (1 pass), compute 25.0% (1 pass)"
    assert lines[4].split() == [
        "layer", "pass", "op", "cycles", "util", "%", "speedup", "energy", "in", "bound", "notes",
    ]  # fmt: skip
    conv = next(line for line in lines if line.startswith("conv1"))
    fc = next(line for line in lines if line.startswith("fc"))
    total = next(line for line in lines if line.startswith("TOTAL"))
    # conv1: util 50.0 %, speedup 2000/1000 = 2.00, 3e6 pJ = 3.000 µJ
    assert conv.split() == [
        "conv1", "fw", "Conv2d", "1,000", "50.0", "2.00", "3.000", "µJ", "compute", "[1]",
    ]  # fmt: skip
    assert fc.split()[-2:] == ["memory", "[2,1]"]  # note 1 was numbered first by conv1
    # totals: 4,000 cycles; speedup 5000 / 4000 = 1.25
    assert total.split() == ["TOTAL", "4,000", "50.0", "1.25", "6.000", "µJ"]
    assert lines[-3:] == [
        "[1] weight 2:8 ran dense", "[2] balanced work assumed", "note: run-level remark",
    ]  # fmt: skip


def test_wide_table_adds_dims_stall_macs_and_dram_bytes():
    lines = format_table(make_run(), wide=True).splitlines()
    conv = next(line for line in lines if line.startswith("conv1"))
    total = next(line for line in lines if line.startswith("TOTAL"))
    # conv1: 100/1000 stall = 10.0 %; DRAM 2304 bytes = 2.304 kB
    assert conv.split() == [
        "conv1", "fw", "Conv2d", "64", "32", "288", "1,000", "10.0", "50.0", "589,824", "2.00",
        "3.000", "µJ", "2.304", "kB", "compute", "[1]",
    ]  # fmt: skip
    # stall (100 + 900) / 4000 = 25.0 %; DRAM 2304 + 512 = 2816 B
    assert total.split() == [
        "TOTAL", "4,000", "25.0", "50.0", "1,179,648", "1.25", "6.000", "µJ", "2.816", "kB",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0, "J", "0 J"), (0.0016, "J", "1.600 mJ"), (163.667e-3, "J", "163.7 mJ"),
        (12.5, "J", "12.50 J"), (999.96, "J", "1.000 kJ"), (1.2345e-7, "s", "123.5 ns"),
        (7512.247576, "s", "7.512 ks"), (2304, "B", "2.304 kB"), (5e-13, "J", "0.500 pJ"),
    ],
)  # fmt: skip
def test_scaled_picks_the_prefix_that_reads_best(value, unit, text):
    assert scaled(value, unit) == text


def test_fused_rows_show_fused_not_zero_cycles_at_full_utilization():
    relu = _layer("relu", Pass.VECTOR, op="activation", cycles=0, compute_cycles=0,
                  stall_cycles=0, utilization=1.0, fused_with="conv1",
                  notes=("fused with conv1",))  # fmt: skip
    norm = _layer("norm", Pass.VECTOR, op="norm", cycles=37, compute_cycles=37, stall_cycles=0,
                  utilization=1.0, fused_with="conv1", backward=True)  # fmt: skip
    run = replace(make_run(), layers=(make_run().layers[0], relu, norm))
    lines = format_table(run).splitlines()
    row = next(line for line in lines if line.startswith("relu"))
    # no own cycles, utilization or speedup; the plain "fused with" note is the bound column's
    assert row.split() == ["relu", "vector", "activation", "fused", "-", "-", "3.000", "µJ",
                           "fused"]  # fmt: skip
    row = next(line for line in lines if line.startswith("norm"))
    assert row.split()[:5] == ["norm", "vector_bw", "norm", "+37", "-"]
    assert run.to_dict()["layers"][1]["fused_with"] == "conv1"


def test_pass_names_are_unique_per_layer():
    fw = _layer("ln", Pass.VECTOR, op="norm")
    bw = _layer("ln", Pass.VECTOR, op="norm", backward=True)
    update = _layer("ln", Pass.VECTOR, op="optimizer")
    assert [r.pass_name for r in (fw, bw, update)] == ["vector", "vector_bw", "optimizer"]
    assert _layer("fc", Pass.BW_DATA).pass_name == "bw_data"
    assert fw.to_dict()["pass"] == "vector" and bw.to_dict()["pass"] == "vector_bw"


def test_long_names_are_cut_to_fit_120_columns_and_kept_in_wide():
    name = "encoder.layer.11.attention.self.query_key_value_projection.weight_update_" * 2
    run = replace(make_run(), layers=(_layer(name, Pass.FW),))
    narrow = format_table(run).splitlines()
    assert max(len(line) for line in narrow) <= TABLE_WIDTH
    row = next(line for line in narrow if line.startswith("encoder"))
    assert "…" in row and row.split()[1] == "fw"
    assert any(line.startswith(name) for line in format_table(run, wide=True).splitlines())


def test_csv_round_trip(tmp_path: Path):
    path = write_csv(make_run(), tmp_path / "out" / "r.csv")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["conv1", "fc"]
    assert rows[1]["pass"] == "bw_data" and rows[1]["cycles"] == "3000"
    assert rows[0]["energy_mac_pj"] == "2000000.0" and rows[0]["energy_rf_pj"] == "0.0"
    # byte columns are the union over rows; a row without the key gets 0
    assert (rows[0]["bytes_dram.input"], rows[1]["bytes_dram.weight"]) == ("0", "0")
    assert rows[1]["notes"] == "balanced work assumed; weight 2:8 ran dense"
    assert list(rows[0]) == list(csv_rows(make_run())[0])
    # busy cycles by resource as columns too (the union; fc has none: 0)
    port = "busy_cycles.input buffer read port"
    assert (rows[0][port], rows[1]["busy_cycles.DRAM"]) == ("400", "0")
    assert "busy_cycles" not in rows[0]


def test_json_is_run_to_dict(tmp_path: Path):
    run = make_run()
    path = write_json(run, tmp_path / "r.json")
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded == json.loads(json.dumps(run.to_dict()))
    assert loaded["total"]["cycles"] == 4000


def test_fields_that_do_not_apply_show_a_dash():
    pregen = _layer(
        "fc", Pass.PREGEN, op="pregen", m=0, n=0, k=0, dense_macs=0, effective_macs=0,
        dense_cycles=0, utilization=0.0,
    )  # fmt: skip
    run = RunResult(workload="toy", accel="tiny", phase="training", engine="event",
                    freq_mhz=500.0, layers=(pregen,))  # fmt: skip
    row = next(line for line in format_table(run, wide=True).splitlines() if line.startswith("fc"))
    # no GEMM dims, and no speedup: the dense baseline does no pre-generation (0 cycles)
    assert row.split() == [
        "fc", "pregen", "pregen", "-", "-", "-", "1,000", "10.0", "0.0", "0", "-", "3.000", "µJ",
        "2.304", "kB", "compute",
    ]  # fmt: skip


def test_bound_resource_input_from_chip_and_mapping_shown_compactly():
    conv = _layer("conv2", Pass.FW, bound="input buffer read port", input_from_chip=True,
                  mapping="os rows=n cols=m; tile m=56 n=64 k=64 order=mnk")  # fmt: skip
    run = replace(make_run(), layers=(conv,))
    row = next(line for line in format_table(run).splitlines() if line.startswith("conv2"))
    assert row.split()[-4:] == ["chip", "input", "rd", "port"]
    assert "tile" not in row  # the mapping is a --wide detail
    wide = next(line for line in format_table(run, wide=True).splitlines()
                if line.startswith("conv2"))  # fmt: skip
    assert "chip  input buffer read port" in wide
    assert wide.endswith("os rows=n cols=m; tile m=56 n=64 k=64 order=mnk")
