"""Sweep specs: strict validation, expansion (lists, ranges, log ranges, tied axes), overrides
by YAML path, and constraint filtering."""

from __future__ import annotations

import pytest
from sparsim.simulator.dse.evaluate import evaluate_design
from sparsim.simulator.dse.expr import ExpressionError, parse_expression
from sparsim.simulator.dse.sweep import (
    Design,
    expand,
    load_sweep,
    locality_order,
    sweep_from_mapping,
)
from sparsim.workloads.yamlio import ConfigError

from tests.unit.simulator.dse.conftest import sweep_mapping


def test_grid_expansion_counts_and_values(write_sweep) -> None:
    sweep = load_sweep(write_sweep())
    # 3 tied array shapes x 3 multiplier counts x 2 bandwidths (9.6, 19.2: stop included)
    assert sweep.size == 18
    designs = list(expand(sweep))
    assert len(designs) == 1 + 18  # the base design first
    assert designs[0].choice is None
    assert [a.labels for a in sweep.axes] == [("8/8", "16/16", "32/32"), (2, 4, 8), (9.6, 19.2)]
    keys = {d.key(sweep) for d in designs}
    assert len(keys) == 19


def test_log_range_and_tied_overrides(write_sweep) -> None:
    axes = [{"path": "buffers.weight.size_bytes",
             "log_range": {"start": 65536, "stop": 1048576, "factor": 4}},
            {"name": "nm", "tied": {"sparsity.nm[0].n": [1, 2], "sparsity.nm[0].m": [8, 8]}}]
    sweep = load_sweep(write_sweep(axes=axes, constraints=[]))
    assert sweep.axes[0].labels == (65536, 262144, 1048576)  # 64 KiB x 4^i up to 1 MiB
    design = Design(choice=(2, 0))
    assert design.overrides(sweep) == [("buffers.weight.size_bytes", "1048576"),
                                       ("sparsity.nm[0].n", "1"), ("sparsity.nm[0].m", "8")]


def test_constraint_filters_points(write_sweep) -> None:
    sweep = load_sweep(write_sweep(workloads=[{"model": sweep_mapping()["workloads"][0]["model"],
                                               "sparsity": "2:8t"}]))
    status = {}
    for design in list(expand(sweep))[1:]:
        rows = evaluate_design(sweep, design)
        params = design.params(sweep)
        status[params["array"], params["compute.multipliers_per_pe"]] = rows[0].status
    # rows*cols*mult <= 4096: 8x8 (64 PEs) all pass; 16x16 (256) passes for 2, 4, 8 (2048);
    # 32x32 (1024) only with 2 or 4 multipliers (2048, 4096), not 8 (8192)
    infeasible = {k for k, v in status.items() if v == "infeasible"}
    assert infeasible == {("32/32", 8)}
    assert all(v == "ok" for k, v in status.items() if k not in infeasible)


def test_invalid_point_recorded_not_raised(write_sweep) -> None:
    axes = [{"path": "compute.multipliers_per_pe", "values": [1, 2]}]
    sweep = load_sweep(write_sweep(axes=axes, constraints=[]))
    rows = evaluate_design(sweep, Design(choice=(0,)))
    # sat.yaml supports 2:4 and 2:8, which need 2 multipliers per PE
    assert {r.status for r in rows} == {"invalid"}
    assert "needs at least 2 multipliers per PE" in rows[0].reason


def test_unknown_top_key_and_bad_axis_path(write_sweep) -> None:
    path = write_sweep(axes=[{"path": "compute.rowz", "values": [4]}], extra=1)
    with pytest.raises(ConfigError, match=r"tiny.yaml: extra: unknown key") as info:
        load_sweep(path)
    assert "axes[0]" in str(info.value) and "rowz" in str(info.value)


def test_constraint_names_checked(write_sweep) -> None:
    with pytest.raises(ConfigError, match=r"constraints\[0\]: unknown name\(s\) compute.rowz"):
        load_sweep(write_sweep(constraints=["compute.rowz < 3"]))


def test_every_problem_reported_once(write_sweep) -> None:
    data = sweep_mapping(objectives=["latency", "area_mm2"], sampler={"kind": "random"})
    with pytest.raises(ConfigError) as info:
        sweep_from_mapping(data, "s.yaml")
    text = str(info.value)
    assert "s.yaml: objectives[0]: must be one of" in text
    assert "s.yaml: sampler.samples: required key is missing" in text


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "x.__class__",
                                  "(lambda: 1)()", "'a' < 'b'", "a ** 2 > 1", "a[b] > 1"])
def test_expression_whitelist_refuses(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_expression_evaluates() -> None:
    expr = parse_expression("compute.rows * compute.cols * m <= 4096 and not -x > 2")
    assert expr.names == {"compute.rows", "compute.cols", "m", "x"}
    assert expr({"compute.rows": 32, "compute.cols": 32, "m": 4, "x": 0})  # 4096 <= 4096
    assert not expr({"compute.rows": 32, "compute.cols": 32, "m": 8, "x": 0})
    assert parse_expression("1 < a <= 3")({"a": 3}) and not parse_expression("1 < a <= 3")({"a": 1})


def test_random_sampler_is_seeded(write_sweep) -> None:
    sampler = {"kind": "random", "samples": 5, "seed": 3}
    first = [d.choice for d in expand(load_sweep(write_sweep(sampler=sampler)))]
    again = [d.choice for d in expand(load_sweep(write_sweep(sampler=sampler)))]
    assert first == again and len(first) == 6 and len(set(first)) == 6


@pytest.mark.parametrize(("name", "size"), [("nm_training", 4 * 4 * 4 * 4),
                                            ("mobile_npu", 5 * 5 * 5)])
def test_shipped_sweeps_validate(name: str, size: int) -> None:
    from sparsim.accel.configs import config_dir

    sweep = load_sweep(config_dir() / "dse" / f"{name}.yaml")
    assert sweep.size == size


def test_locality_order_groups_array_then_buffers(write_sweep) -> None:
    # YAML order: DRAM first, then a buffer, then the array; locality order sorts on the
    # array (compute.*) first, the buffer next, the DRAM last (sweep.SECTION_DEPTH)
    axes = [{"path": "dram.bandwidth_gb_per_s", "values": [9.6, 19.2]},
            {"path": "buffers.weight.size_bytes", "values": [65536, 131072]},
            {"path": "compute.multipliers_per_pe", "values": [2, 4]}]
    sweep = load_sweep(write_sweep(axes=axes, constraints=[]))
    drawn = list(expand(sweep))
    ordered = locality_order(sweep, drawn[::-1])
    assert sorted(d.key(sweep) for d in ordered) == sorted(d.key(sweep) for d in drawn)
    assert ordered[0].choice is None  # the base design first
    # (dram, buffer, multipliers) indices, worked by hand: multipliers slowest, DRAM fastest
    assert [d.choice for d in ordered[1:]] == [
        (0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0), (0, 0, 1), (1, 0, 1), (0, 1, 1), (1, 1, 1)]
