"""The shipped accelerator configs: found by name, all valid, numbers as their comments say."""

from __future__ import annotations

from pathlib import Path

import pytest
from sparsim.accel.configs import config_dir, config_path, list_configs
from sparsim.accel.loader import load_spec
from sparsim.accel.spec import ActivationMode, Dataflow, Operand
from sparsim.workloads.yamlio import ConfigError

_SHIPPED = ["dense_os_32x32", "dense_ws_128x128", "mobile_cpu", "mobile_npu", "sat"]


def test_config_dir_is_the_installed_package_folder() -> None:
    assert (config_dir() / "__init__.py").is_file()
    assert set(_SHIPPED) <= set(list_configs())
    assert list_configs() == sorted(list_configs())


@pytest.mark.parametrize("name", list_configs())
def test_every_shipped_config_loads(name: str) -> None:
    spec = load_spec(name)
    assert spec.name == name
    assert spec.description
    assert spec.source_path == str(config_dir() / f"{name}.yaml")


@pytest.mark.parametrize("name", list_configs())
def test_every_number_has_a_source_or_assumed_comment(name: str) -> None:
    """A line holding a number has a comment, or sits in a block headed by a comment line or
    a commented header key (``nm:  # source``) with only number lines in between."""
    covered = False
    for line in (config_dir() / f"{name}.yaml").read_text(encoding="utf-8").splitlines():
        body, _, comment = line.partition("#")
        key, _, value = body.strip().partition(":")
        has_number = key not in ("name", "description") and any(c.isdigit() for c in value)
        if has_number and not comment:
            assert covered, f"{name}.yaml: no source or 'assumed' comment for {line!r}"
        heads_block = bool(comment) and not value.strip()
        covered = heads_block or (has_number and covered)


def test_config_path_by_name_and_by_path(tmp_path: Path) -> None:
    assert config_path("sat") == config_dir() / "sat.yaml"
    given = tmp_path / "mine.yaml"
    assert config_path(given) == given
    assert config_path("sub/mine.yaml") == Path("sub/mine.yaml")


def test_unknown_name_lists_every_shipped_config() -> None:
    with pytest.raises(ConfigError) as info:
        config_path("sat2")
    assert ", ".join(list_configs()) in str(info.value)


def test_dense_os_is_the_dense_baseline() -> None:
    spec = load_spec("dense_os_32x32")
    assert (spec.compute.rows, spec.compute.cols) == (32, 32)
    assert spec.compute.multipliers_per_pe == 1
    assert spec.compute.dataflow is Dataflow.OS
    assert spec.sparsity.is_dense_only


def test_dense_ws_takes_tpu_v1_numbers() -> None:
    # Jouppi et al., ISCA 2017: 700 MHz, 34 GB/s weight DRAM, 24 MiB Unified Buffer, 28 nm.
    spec = load_spec("dense_ws_128x128")
    assert spec.compute.dataflow is Dataflow.WS
    assert spec.compute.freq_mhz == 700.0
    assert spec.dram.bandwidth_gb_per_s == 34.0
    assert spec.buffer_for(Operand.INPUT).size_bytes == 24 * 1024 * 1024
    assert spec.energy.technology_nm == 28


def test_sat_is_a_transposable_nm_training_design() -> None:
    spec = load_spec("sat")
    for n, m in [(2, 4), (2, 8), (1, 8)]:
        assert spec.sparsity.supports_nm(n, m)
    assert spec.compute.multipliers_per_pe >= 2
    assert spec.sparsity.transposable
    assert not spec.sparsity.sparse_weight_gradient
    assert spec.sparsity.pregen_elements_per_cycle > 0
    # VCU1525: DDR4-2400 x 64 bit = 2400e6 * 8 B = 19.2 GB/s per channel.
    assert spec.dram.bandwidth_gb_per_s == pytest.approx(2400e6 * 8 / 1e9)


def test_mobile_npu_skips_groups_and_gates_activations() -> None:
    spec = load_spec("mobile_npu")
    assert spec.sparsity.group_size == 4
    assert spec.sparsity.activation is ActivationMode.GATING
    assert spec.shared_buffer
    assert spec.compute.peak_macs_per_cycle == 1024


def test_mobile_cpu_is_a_snapdragon_855_prime_core() -> None:
    spec = load_spec("mobile_cpu")
    simd = spec.compute.simd
    assert simd is not None and simd.unstructured is not None and simd.group is not None
    assert spec.compute.freq_mhz == 2840  # Qualcomm: 2.84 GHz prime core
    # 128-bit NEON on fp32 = 4 lanes, 2 FMA pipes (A76 optimization guide): 8 MACs per cycle
    assert (simd.vector_bits, simd.fma_ports, spec.compute.peak_macs_per_cycle) == (128, 2, 8)
    sizes = {name: buf.size_bytes for name, buf in spec.buffers}
    assert sizes == {"L1": 64 << 10, "L2": 512 << 10, "L3": 2 << 20}
    assert (spec.dram.bandwidth_gb_per_s, spec.dram.technology.value) == (34.1, "LPDDR4X")
    # XNNPACK's AArch64 SpMM is 32x1; the group kernel shares an index among 4 channels
    assert (simd.unstructured.pixels, simd.unstructured.channels) == (32, 1)
    assert simd.group.channels == 4
