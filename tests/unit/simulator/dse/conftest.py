"""Tiny sweeps written into a test's folder (a two-GEMM YAML workload: milliseconds a point)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

LAYERS_YAML = """\
name: two_gemms
phase: inference
batch: 1
layers:
  - name: fc1
    gemm: {m: 64, n: 128, k: 256}
  - name: fc2
    gemm: {m: 64, n: 64, k: 128}
"""


def sweep_mapping(layers: str = "layers.yaml", **changes: object) -> dict:
    """A 3 x 3 x 2 grid over the SAT config, with one area-style constraint."""
    data = {
        "name": "tiny",
        "base": "sat",
        "axes": [
            {"name": "array", "tied": {"compute.rows": [8, 16, 32], "compute.cols": [8, 16, 32]}},
            {"path": "compute.multipliers_per_pe", "values": [2, 4, 8]},
            {"path": "dram.bandwidth_gb_per_s", "range": {"start": 9.6, "stop": 19.2,
                                                          "step": 9.6}},
        ],
        "constraints": ["compute.rows * compute.cols * compute.multipliers_per_pe <= 4096"],
        "workloads": [{"name": "layers_2of8", "model": layers, "sparsity": "2:8t"},
                      {"name": "layers_dense", "model": layers, "sparsity": "dense",
                       "weight": 0.5}],
        "objectives": ["latency_ms", "energy_mj", "area_mm2"],
        "batch_size": 2,
    }
    data.update(changes)
    return data


@pytest.fixture
def write_sweep(tmp_path: Path):
    def write(name: str = "tiny.yaml", **changes: object) -> Path:
        (tmp_path / "layers.yaml").write_text(LAYERS_YAML)  # found next to the sweep file
        path = tmp_path / name
        path.write_text(yaml.safe_dump(sweep_mapping(**changes), sort_keys=False))
        return path

    return write
