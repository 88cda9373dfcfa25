"""accel.loader: every bad YAML is reported as ``<file>: <yaml path>: <what, value, allowed>``."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sparsim.accel.energy import DEFAULT_ENERGY
from sparsim.accel.loader import load_spec, spec_from_mapping
from sparsim.accel.spec import ActivationMode, Dataflow, Operand
from sparsim.workloads.yamlio import ConfigError

_BUFFER = {"size_bytes": 4096, "read_bytes_per_cycle": 8, "write_bytes_per_cycle": 8}
_GOOD: dict[str, Any] = {
    "name": "tiny",
    "compute": {"rows": 4, "cols": 4, "multipliers_per_pe": 2, "dataflow": "os"},
    "sparsity": {"nm": [{"n": 2, "m": 8}], "transposable": True},
    "buffers": {"weight": _BUFFER, "input": _BUFFER, "output": _BUFFER},
    "dram": {"bandwidth_gb_per_s": 10.0},
}
_TOP_KEYS = (
    "name, description, compute, sparsity, buffers, dram, precision, vector, energy, area, "
    "inter_layer_residency, global_buffer"
)
_DELETE = object()


def _good() -> dict[str, Any]:
    return copy.deepcopy(_GOOD)


def _write(tmp_path: Path, content: dict | str) -> Path:
    text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
    path = tmp_path / "accel.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _set(data: dict, dotted: str, value: Any) -> dict:
    """``data`` with the value at ``a.b.c`` replaced (or deleted with ``_DELETE``)."""
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


def _raises(path: Path, line: str) -> Any:
    return pytest.raises(ConfigError, match=re.escape(f"{path}: {line}"))


def test_good_config_builds_the_spec(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, _good()))
    assert spec.name == "tiny"
    assert spec.compute.dataflow is Dataflow.OS
    assert spec.compute.freq_mhz == 200.0
    assert spec.sparsity.supports_nm(2, 8)
    assert spec.sparsity.transposable
    assert spec.buffer_for(Operand.WEIGHT).size_bytes == 4096
    assert spec.buffer_for(Operand.OUTPUT).double_buffered
    assert spec.dram.latency_cycles == 100
    assert spec.precision.accumulator == "int32"
    assert spec.energy == DEFAULT_ENERGY  # DDR4 by default, as DEFAULT_ENERGY
    assert spec.source_path == str(tmp_path / "accel.yaml")


def test_native_weight_formats_are_read(tmp_path: Path) -> None:
    data = _set(_good(), "precision", {"weight": "int8", "native_weights": ["int4", "int2"]})
    precision = load_spec(_write(tmp_path, data)).precision
    assert precision.native_weights == ("int4", "int2")
    assert precision.supports_weight("int4") and precision.supports_weight("int8")
    assert not precision.supports_weight("fp8_e4m3")


def test_sizes_may_be_written_with_binary_units(tmp_path: Path) -> None:
    data = _set(_good(), "buffers.input", {**_BUFFER, "size_bytes": "256KiB"})
    _set(data, "buffers.output", {**_BUFFER, "size_bytes": "2 MiB"})
    spec = load_spec(_write(tmp_path, data))
    assert spec.buffer_for(Operand.INPUT).size_bytes == 256 * 1024
    assert spec.buffer_for(Operand.OUTPUT).size_bytes == 2 * 1024 * 1024


def test_single_shared_buffer(tmp_path: Path) -> None:
    data = _set(_good(), "buffers", {"shared": {**_BUFFER, "size_bytes": 3000}})
    spec = load_spec(_write(tmp_path, data))
    assert spec.shared_buffer
    assert spec.buffer_share_bytes(Operand.INPUT) == 1000


def test_energy_overrides_replace_only_their_entry(tmp_path: Path) -> None:
    data = _set(_good(), "energy", {"technology_nm": 22, "mac_int8": {"pj": 0.5, "source": "me"}})
    spec = load_spec(_write(tmp_path, data))
    assert spec.energy.technology_nm == 22
    assert spec.energy.mac_int8.pj == 0.5
    assert spec.energy.mac_int8.source == "me"
    # Other entries: DEFAULT_ENERGY scaled by 22/45 (E ∝ feature size, accel.energy's rule).
    assert spec.energy.mac_fp32.pj == pytest.approx(DEFAULT_ENERGY.mac_fp32.pj * 22 / 45)


def test_activation_and_area_entries(tmp_path: Path) -> None:
    data = _set(_good(), "sparsity.activation", "skipping")
    _set(data, "area", {"pe": {"value": 120, "unit": "cells", "source": "yosys"}})
    spec = load_spec(_write(tmp_path, data))
    assert spec.sparsity.activation is ActivationMode.SKIPPING
    assert spec.area[0][0] == "pe"
    assert spec.area[0][1].value == 120.0


def test_dram_technology_prices_dram_unless_the_energy_section_does() -> None:
    # HBM2: 3.9 pJ/bit (O'Connor et al., MICRO 2017) x 8 = 31.2 pJ/B
    spec = spec_from_mapping(_set(_good(), "dram.technology", "HBM2"), "x")
    assert spec.dram.technology == "HBM2"
    assert spec.energy.dram_per_byte.pj == pytest.approx(31.2)
    data = _set(_set(_good(), "dram.technology", "HBM2"), "energy",
                {"dram_per_byte": {"pj": 5.0, "source": "me"}})  # fmt: skip
    assert spec_from_mapping(data, "x").energy.dram_per_byte.pj == 5.0


def test_spec_from_mapping_names_the_given_source() -> None:
    with pytest.raises(ConfigError, match=re.escape("mem://x: name: required key is missing")):
        spec_from_mapping(_set(_good(), "name", _DELETE), "mem://x")


_COMPUTE_KEYS = (
    "cols, cores, dataflow, depthwise, fold_overlap, freq_mhz, kind, matrix_vector, "
    "multipliers_per_pe, rows"
)
_PRECISIONS = "int2, int4, int8, int16, int32, fp8_e4m3, fp8_e5m2, fp16, bf16, fp32"
_SIZE_HELP = "a positive integer number of bytes or a size like '256KiB' (units B, KiB, MiB, GiB)"

# (id, dotted key to set, value or _DELETE, the exact problem line after "<file>: ")
_BAD_VALUES = [
    ("wrong-type", "compute.rows", "four",
     "compute.rows: must be an integer, not 'four' (a string)"),
    ("float-for-int", "compute.rows", 4.5, "compute.rows: must be an integer, not 4.5 (a float)"),
    ("bool-for-int", "compute.cols", True, "compute.cols: must be an integer, not true (a bool)"),
    ("bool-for-number", "dram.bandwidth_gb_per_s", False,
     "dram.bandwidth_gb_per_s: must be a number, not false (a bool)"),
    ("out-of-range-low", "compute.rows", 0,
     "compute.rows: must be in 1..4096 (assumed cap: 16x TPU v1's 256-wide array, Jouppi et al. "
     "ISCA 2017), not 0"),
    ("out-of-range-high", "compute.multipliers_per_pe", 65,
     "compute.multipliers_per_pe: must be in 1..64, not 65"),
    ("null-number", "compute.freq_mhz", None, "compute.freq_mhz: must be a number, not null"),
    ("zero-bandwidth", "dram.bandwidth_gb_per_s", 0,
     "dram.bandwidth_gb_per_s: must be in 0.001..100,000 (GB/s: 1 MB/s to 100 TB/s; a value "
     "outside is a unit slip), not 0"),
    ("unknown-dram", "dram.technology", "DDR9", "dram.technology: must be one of DDR3, DDR4, "
     "LPDDR4, LPDDR4X, LPDDR5, HBM2, HBM2e, HBM3, not 'DDR9' (a string)"),
    ("quoted-number", "dram.bandwidth_gb_per_s", "12.8",
     "dram.bandwidth_gb_per_s: must be a number (quotes make it a string; write 12.8 without "
     "them), not '12.8' (a string)"),
    ("unknown-key", "compute.speed", 3,
     f"compute.speed: unknown key; allowed keys are {_COMPUTE_KEYS}"),
    ("misspelled-top-key", "bufers", {},
     "bufers: unknown key; did you mean 'buffers'? allowed keys are "
     "area, buffers, compute, description, dram, energy, global_buffer, inter_layer_residency, "
     "name, precision, sparsity, vector"),
    ("missing-required", "compute.rows", _DELETE, "compute.rows: required key is missing"),
    ("missing-section", "dram", _DELETE, "dram: required key is missing"),
    ("section-not-mapping", "compute", [4, 4], "compute: must be a mapping, not a list"),
    ("empty-name", "name", "", "name: must be a non-empty string, not '' (a string)"),
    ("unsupported-dataflow", "compute.dataflow", "rs",
     "compute.dataflow: must be one of ws, os, is, not 'rs' (a string)"),
    ("n-greater-than-m", "sparsity.nm", [{"n": 9, "m": 8}],
     "sparsity.nm[0]: n must be less than m (N:M keeps n of every m values), not 9:8"),
    ("n-equals-m", "sparsity.nm", [{"n": 4, "m": 4}],
     "sparsity.nm[0]: n must be less than m (N:M keeps n of every m values), not 4:4"),
    ("m-17", "sparsity.nm", [{"n": 2, "m": 17}], "sparsity.nm[0].m: must be in 2..16, not 17"),
    ("m-1", "sparsity.nm", [{"n": 1, "m": 1}], "sparsity.nm[0].m: must be in 2..16, not 1"),
    ("n-zero", "sparsity.nm", [{"n": 0, "m": 4}], "sparsity.nm[0].n: must be >= 1, not 0"),
    ("n-above-multipliers", "sparsity.nm", [{"n": 2, "m": 8}, {"n": 4, "m": 8}],
     "sparsity.nm[1].n: 4:8 needs at least 4 multipliers per PE, "
     "but compute.multipliers_per_pe is 2"),
    ("bad-axis", "sparsity.nm", [{"n": 2, "m": 8, "axis": "m"}],
     "sparsity.nm[0].axis: must be one of k, n, not 'm' (a string)"),
    ("duplicate-nm", "sparsity.nm", [{"n": 2, "m": 8}, {"n": 1, "m": 4}, {"n": 2, "m": 8}],
     "sparsity.nm[2]: duplicates nm[0] (2:8 along k)"),
    ("nm-not-list", "sparsity.nm", {"n": 2, "m": 8},
     "sparsity.nm: must be a list of mappings, not a mapping"),
    ("nm-entry-not-mapping", "sparsity.nm", ["2:8"],
     "sparsity.nm[0]: must be a mapping, not '2:8' (a string)"),
    ("transposable-without-nm", "sparsity.nm", _DELETE,
     "sparsity.transposable: true needs at least one sparsity.nm entry"),
    ("bad-activation", "sparsity.activation", "skip",
     "sparsity.activation: must be one of none, gating, skipping, not 'skip' (a string)"),
    ("negative-group-size", "sparsity.group_size", -4,
     "sparsity.group_size: must be >= 0, not -4"),
    ("bad-precision", "precision", {"weight": "int7"},
     f"precision.weight: must be one of {_PRECISIONS}, not 'int7' (a string)"),
    ("bad-native-weight", "precision", {"native_weights": ["int4", "fp8"]},
     f"precision.native_weights: unknown dtype fp8; allowed: {_PRECISIONS}"),
    ("native-weights-not-a-list", "precision", {"native_weights": "int4"},
     "precision.native_weights: must be a list of dtype names, not 'int4' (a string)"),
    ("narrow-accumulator", "precision", {"weight": "int16", "accumulator": "int8"},
     "precision.accumulator: int8 is narrower than the 16-bit weight/input; "
     "the accumulator needs at least as many bits"),
    ("shared-and-per-operand", "buffers.shared", _BUFFER,
     "buffers: give either one 'shared' buffer or 'weight', 'input' and 'output' buffers, "
     "not both (found weight, input, output, shared)"),
    ("missing-operand-buffer", "buffers.output", _DELETE,
     "buffers.output: required key is missing (per-operand buffers need weight, input and "
     "output; or give a single 'shared' buffer)"),
    ("zero-size", "buffers.weight", {**_BUFFER, "size_bytes": 0},
     "buffers.weight.size_bytes: must be 1 byte to 1TiB (1TiB is far beyond any on-chip "
     "buffer), not 0"),
    ("bad-size-unit", "buffers.weight", {**_BUFFER, "size_bytes": "64KB"},
     f"buffers.weight.size_bytes: must be {_SIZE_HELP}, not '64KB' (a string)"),
    ("bool-double-buffered", "buffers.input", {**_BUFFER, "double_buffered": "yes please"},
     "buffers.input.double_buffered: must be true or false, not 'yes please' (a string)"),
    ("energy-without-source", "energy", {"mac_int8": {"pj": 0.3}},
     "energy.mac_int8.source: required key is missing"),
    ("energy-empty-source", "energy", {"mac_int8": {"pj": 0.3, "source": " "}},
     "energy.mac_int8.source: must be a non-empty string, not ' ' (a string)"),
    ("negative-energy", "energy", {"dram_per_byte": {"pj": -0.1, "source": "x"}},
     "energy.dram_per_byte.pj: must be in 0..1,000,000 (1e6 pJ is 1 µJ per action, ~400x a "
     "64-bit DRAM access), not -0.1"),
    ("misspelled-energy-entry", "energy", {"mac_int9": {"pj": 0.3, "source": "x"}},
     "energy.mac_int9: unknown key; did you mean 'mac_int8'?"),
    ("technology-out-of-range", "energy", {"technology_nm": 2},
     "energy.technology_nm: must be in 3..180, not 2"),
    ("bad-area-unit", "area", {"pe": {"value": 1, "unit": "m2", "source": "x"}},
     "area.pe.unit: must be one of um2, mm2, cells, not 'm2' (a string)"),
    ("zero-vector-lanes", "vector", {"lanes": 0}, "vector.lanes: must be >= 1, not 0"),
]


@pytest.mark.parametrize(
    ("dotted", "value", "line"),
    [case[1:] for case in _BAD_VALUES],
    ids=[case[0] for case in _BAD_VALUES],
)
def test_bad_value_is_reported_with_file_and_yaml_path(
    tmp_path: Path, dotted: str, value: Any, line: str
) -> None:
    path = _write(tmp_path, _set(_good(), dotted, value))
    with _raises(path, line):
        load_spec(path)


def test_misspelled_key_suggests_the_right_one(tmp_path: Path) -> None:
    data = _good()
    data["compute"]["dataflw"] = data["compute"].pop("dataflow")
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    assert info.value.problems == (
        f"{path}: compute.dataflw: unknown key; did you mean 'dataflow'? "
        f"allowed keys are {_COMPUTE_KEYS}",
        f"{path}: compute.dataflow: required key is missing",
    )


def test_duplicate_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\ncompute:\n  rows: 4\n  rows: 8\n")
    with _raises(path, "line 4, column 3: duplicate key 'rows' (first at line 3)"):
        load_spec(path)


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: [unclosed\ncompute: {rows: 1}\n")
    with _raises(path, "line 2, column 8: did not find expected ',' or ']'"):  # libyaml's words
        load_spec(path)


@pytest.mark.parametrize("text", ["", "# only a comment\n"], ids=["empty", "comment-only"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with _raises(path, f"<root>: the file is empty; expected a mapping with keys {_TOP_KEYS}"):
        load_spec(path)


@pytest.mark.parametrize(
    ("text", "found"),
    [("- name: x\n- name: y\n", "a list"), ("42\n", "42 (an int)"), ("just words\n",
                                                                   "'just words' (a string)")],
    ids=["list", "int", "string"],
)
def test_top_level_not_a_mapping(tmp_path: Path, text: str, found: str) -> None:
    path = _write(tmp_path, text)
    with _raises(path, f"<root>: must be a mapping with keys {_TOP_KEYS}, not {found}"):
        load_spec(path)


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    data = _set(_good(), "compute.rows", "x")
    _set(data, "compute.dataflow", "rs")
    _set(data, "buffers", _DELETE)
    _set(data, "energy", {"mac_int8": {"pj": -1, "source": "x"}})
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 4
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert [line.split(": ")[1] for line in lines] == [
        "compute.rows", "compute.dataflow", "buffers", "energy.mac_int8.pj",
    ]


def test_nonexistent_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with _raises(path, "cannot read: No such file or directory"):
        load_spec(path)


def test_unknown_config_name_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError, match=re.escape(
        "'no_such_design': no such accelerator config; available configs are "
    )) as info:
        load_spec("no_such_design")
    assert "dense_os_32x32" in str(info.value)
    assert "sat" in str(info.value)


def test_cores_and_global_buffer() -> None:
    data = _set(_set(_good(), "compute.cores", 108), "global_buffer", dict(_BUFFER))
    spec = spec_from_mapping(data, "mem://x")
    assert spec.compute.cores == 108
    assert spec.global_buffer is not None and spec.global_buffer.size_bytes == 4096
    one = spec_from_mapping(_good(), "mem://x")
    assert one.compute.cores == 1 and one.global_buffer is None


def test_global_buffer_needs_several_cores() -> None:
    data = _set(_good(), "global_buffer", dict(_BUFFER))
    with pytest.raises(ConfigError, match=re.escape(
        "mem://x: global_buffer: needs compute.cores of 2 or more (a buffer the cores share); "
        "compute.cores is 1"
    )):
        spec_from_mapping(data, "mem://x")


def test_cores_out_of_range_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"mem://x: compute\.cores: .*1024"):
        spec_from_mapping(_set(_good(), "compute.cores", 5000), "mem://x")


_CACHE = {"size_bytes": "64KiB", "read_bytes_per_cycle": 32, "write_bytes_per_cycle": 16}
_SIMD: dict[str, Any] = {
    "name": "core",
    "compute": {"kind": "simd", "freq_mhz": 2000, "simd": {
        "vector_bits": 128, "fma_ports": 2, "fma_latency_cycles": 4, "load_ports": 2,
        "tile_pixels": 6, "tile_channels": 8, "dense_efficiency": 0.85,
        "unstructured": {"pixels": 32, "channels": 1, "index_bytes": 4,
                         "stall_cycles_per_index": 3}}},
    "buffers": {"L1": _CACHE, "L2": _CACHE},
    "dram": {"bandwidth_gb_per_s": 10.0},
    "precision": {"weight": "fp32", "input": "fp32", "output": "fp32", "accumulator": "fp32"},
}  # fmt: skip


def test_simd_core_builds_one_row_of_fma_ports_with_lanes_from_the_precision() -> None:
    spec = spec_from_mapping(copy.deepcopy(_SIMD), "mem://core")
    assert spec.compute.simd is not None and spec.compute.simd.group is None
    # 128-bit registers / 32-bit fp32 = 4 lanes on each of 2 FMA ports
    assert (spec.compute.rows, spec.compute.cols, spec.compute.multipliers_per_pe) == (1, 2, 4)
    assert [name for name, _ in spec.buffers] == ["L1", "L2"]
    # the last-level cache holds every operand, a third each (as a shared buffer)
    assert spec.buffer_share_bytes(Operand.INPUT) == 65536 // 3
    int8 = _set(copy.deepcopy(_SIMD), "precision", {"weight": "int8", "input": "int8"})
    assert spec_from_mapping(int8, "mem://core").compute.multipliers_per_pe == 16


_SIMD_BAD = [
    ("no-simd-section", "compute.simd", _DELETE, "compute.simd: required key is missing"),
    ("array-keys", "compute.rows", 4,
     "compute.rows: unknown key; allowed keys are freq_mhz, kind, simd"),
    ("efficiency-above-1", "compute.simd.dense_efficiency", 1.5,
     "compute.simd.dense_efficiency: must be > 0 and <= 1 (a fraction of the issue bound), "
     "not 1.5"),
    ("kernel-key", "compute.simd.unstructured.stall", 1,
     "compute.simd.unstructured.stall: unknown key; allowed keys are channels, index_bytes, "
     "pixels, stall_cycles_per_index"),
    ("operand-buffers", "buffers", {"L1": _CACHE, "L2": _CACHE, "shared": _CACHE},
     "buffers.shared: unknown key; allowed keys are L1, L2, L3"),
    ("no-l2", "buffers.L2", _DELETE, "buffers.L2: required key is missing"),
    ("sparsity-section", "sparsity", {"group_size": 4},
     "sparsity: a simd core's sparse kernels are compute.simd.unstructured and"),
    ("odd-vector", "compute.simd.vector_bits", 100,
     "compute.simd.vector_bits: 100 is not a multiple of the 32-bit weight precision (fp32)"),
]


@pytest.mark.parametrize(("dotted", "value", "line"), [case[1:] for case in _SIMD_BAD],
                         ids=[case[0] for case in _SIMD_BAD])  # fmt: skip
def test_bad_simd_core_is_one_line_naming_where(dotted: str, value: Any, line: str) -> None:
    data = _set(copy.deepcopy(_SIMD), dotted, value)
    with pytest.raises(ConfigError) as info:
        spec_from_mapping(data, "mem://core")
    assert str(info.value).startswith(f"mem://core: {line}")
    assert "\n" not in str(info.value)  # one problem, one line
