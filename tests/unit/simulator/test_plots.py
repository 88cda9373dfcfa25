"""Plots are valid PNG files; the roofline has one point per matrix pass at the right place."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from sparsim.accel.energy import DEFAULT_ENERGY
from sparsim.accel.spec import (
    AcceleratorSpec,
    BufferSpec,
    ComputeSpec,
    DramSpec,
    PrecisionSpec,
    SparsitySupport,
)
from sparsim.simulator.plots import breakdown_figure, roofline_data, stall_class, write_plots
from sparsim.simulator.report import write_outputs
from sparsim.simulator.results import LayerResult, Pass, RunResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # PNG specification (RFC 2083), section 3.1


def _spec() -> AcceleratorSpec:
    # 8x8 PEs x 2 multipliers = 128 MACs/cycle; 16 GB/s at 1000 MHz = 16 bytes/cycle.
    return AcceleratorSpec(
        name="tiny",
        compute=ComputeSpec(rows=8, cols=8, multipliers_per_pe=2, freq_mhz=1000.0),
        sparsity=SparsitySupport(),
        buffers=(("shared", BufferSpec(size_bytes=1 << 16, read_bytes_per_cycle=64,
                                        write_bytes_per_cycle=64)),),
        dram=DramSpec(bandwidth_gb_per_s=16.0),
        precision=PrecisionSpec(),
        energy=DEFAULT_ENERGY,
    )  # fmt: skip


def _run() -> RunResult:
    matrix = LayerResult(
        layer="fc", op="Linear", pass_=Pass.FW, m=8, n=8, k=64, count=1, cycles=100,
        compute_cycles=80, stall_cycles=20, dense_cycles=100, utilization=0.32,
        dense_macs=4096, effective_macs=4096, energy_pj=(("mac", 10.0), ("dram", 30.0)),
        dense_energy_pj=40.0, bytes_by_level=(("dram.weight", 512), ("dram.input", 512),
                                              ("sram.read", 4096)),
        bound="memory",
    )  # fmt: skip
    vector = replace(
        matrix, layer="relu", op="Vector", pass_=Pass.VECTOR, dense_macs=0, effective_macs=0,
        bytes_by_level=(), energy_pj=(("vector", 5.0),), bound="compute",
    )  # fmt: skip
    training = (matrix, replace(matrix, pass_=Pass.BW_DATA, cycles=200), vector)
    return RunResult(
        workload="toy",
        accel="tiny",
        phase="training",
        engine="analytical",
        freq_mhz=1000.0,
        layers=training,
    )


def test_roofline_points_are_the_matrix_passes():
    data = roofline_data(_run(), _spec())
    assert data.labels == ("fc:fw", "fc:bw_data")  # the vector row is not a point
    # 4096 MACs / (512 + 512) DRAM bytes = 4 MACs/byte; 4096 MACs / 100 and / 200 cycles
    assert np.array_equal(data.intensity_macs_per_byte, [4.0, 4.0])
    assert np.array_equal(data.macs_per_cycle, [40.96, 20.48])
    assert (data.peak_macs_per_cycle, data.dram_bytes_per_cycle) == (128.0, 16.0)
    assert data.ridge_macs_per_byte == 8.0  # 128 / 16


def test_write_plots_makes_valid_pngs(tmp_path: Path):
    paths = write_plots(_run(), tmp_path, spec=_spec())
    assert [p.name for p in paths] == ["breakdown.png", "energy.png", "roofline.png"]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert path.stat().st_size > 5000  # a rendered figure, not an empty canvas


def test_write_outputs_without_spec_skips_only_the_roofline(tmp_path: Path):
    paths = write_outputs(_run(), tmp_path / "out")
    names = sorted(p.name for p in paths)
    assert names == ["breakdown.png", "energy.png", "results.csv", "results.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == names  # no temporaries


def test_breakdown_colours_stalls_by_what_bound_the_pass():
    assert [stall_class(b) for b in ("DRAM", "input buffer read port", "shared buffer write port",
                                     "compute", "FMA latency")] == [
        "DRAM", "buffer port", "buffer port", "array fill/drain, latency",
        "array fill/drain, latency",
    ]  # fmt: skip
    run = _run()
    fw, bw, vector = run.layers
    layers = (replace(fw, bound="input buffer read port"), replace(bw, bound="DRAM"), vector)
    legend = breakdown_figure(replace(run, layers=layers)).axes[0].get_legend().get_texts()
    assert [t.get_text() for t in legend] == [
        "compute", "stall: DRAM-bound", "stall: buffer port-bound",
        "stall: array fill/drain, latency-bound",
    ]  # fmt: skip
