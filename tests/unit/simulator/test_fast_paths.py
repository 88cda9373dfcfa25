"""The simulator's fast paths against the general code they shortcut (``tiling.first_min``
against ``np.lexsort``).

The one-tile timing (``perf._one_tile_timing``) must equal the closed forms over arrays
(``perf._double_buffered``, ``_single_buffered``, ``bound_of``) on random one-tile schedules.

The one-tile traffic path (``tiling._one_tile_traffic``) must give exactly what the array path
(``tiling._array_traffic``) gives on the same nest: the same ints and floats, the same keys in
the same order, the same array dtypes. Checked on every matrix problem of real models
(training, so backward passes and weight gradients too) on the shipped specs (``os``/``ws``,
N:M, group skipping, one shared buffer), with each operand resident or not.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsim.accel.loader import load_spec
from sparsim.simulator.lower import lower
from sparsim.simulator.mapping import map_problem, processed_share
from sparsim.simulator.perf import (
    Timing,
    _double_buffered,
    _single_buffered,
    analytical_timing,
    bound_of,
    busy_of,
)
from sparsim.simulator.schedule import TileSchedule
from sparsim.simulator.tiling import (
    NestTraffic,
    Tiling,
    _array_traffic,
    _facts,
    _one_tile,
    _one_tile_traffic,
    first_min,
    kept_ratio,
    nest_view,
)
from sparsim.workloads.layer import Phase
from sparsim.workloads.registry import get_workload
from sparsim.workloads.sparsity import NM, Group

SPECS = ("sat", "dense_os_32x32", "dense_ws_128x128", "mobile_npu")


def _same(one: NestTraffic, b: NestTraffic) -> None:
    """``one`` (the one-tile path: ports and streams as Python ints) equals ``b`` (arrays)."""
    for name in ("load", "store", "macs"):
        x, y = getattr(one, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert list(one.dram.items()) == list(b.dram.items())
    assert list(one.sram.items()) == list(b.sram.items())
    assert one.metadata_fed == b.metadata_fed and type(one.metadata_fed) is int
    assert list(one.ports) == list(b.ports)
    for port, nbytes in one.ports.items():
        assert type(nbytes) is int and b.ports[port].tolist() == [nbytes], port
    assert len(one.stream_bytes) == len(b.stream_bytes)
    for x, y in zip(one.stream_bytes, b.stream_bytes, strict=True):
        assert type(x) is int and np.asarray(y).tolist() == [x]


def _whole(view) -> Tiling:
    images = view.images if (view.m_unit or view.problem.conv is not None) else 1
    return Tiling(m=view.m_extent, n=view.n_extent, k=view.k_extent, images=images)


@pytest.mark.parametrize("spec_name", SPECS)
@pytest.mark.parametrize(("model", "pattern"), [
    ("resnet18", NM(n=2, m=8, transposable=True)),
    ("mobilenet_v1", Group(size=4, density=0.5)),
    ("bert_base", NM(n=2, m=4)),
])  # fmt: skip
def test_one_tile_traffic_equals_array_path(spec_name, model, pattern):
    spec = load_spec(spec_name)
    workload = get_workload(model).with_weight_sparsity(pattern).with_phase(Phase.TRAINING)
    checked = 0
    for problem in lower(workload):
        if not problem.is_matrix:
            continue
        view = nest_view(problem)
        tiling = _whole(view)
        mapping, _ = map_problem(problem, spec)
        facts, t = _facts(spec), tiling
        one = _one_tile(view.geometry, t.m, t.n, t.k, t.images, facts.in_b, facts.w_b,
                        mapping.exploit, kept_ratio(mapping))  # fmt: skip
        assert one is not None
        share = processed_share(mapping, problem.k)
        for io in ((False, False), (True, False), (False, True), (True, True)):
            fast = _one_tile_traffic(one, mapping, facts, share, *io)
            _same(fast, _array_traffic(view, tiling, mapping, spec, share, *io))
            checked += 1
    assert checked > 20


def _general_timing(s: TileSchedule) -> Timing:
    """``analytical_timing`` by its array closed forms, whatever the tile count."""
    cycles = (_double_buffered if s.double_buffered else _single_buffered)(s)
    compute = int(s.compute_cycles.sum())
    return Timing(cycles=cycles, compute_cycles=compute, stall_cycles=cycles - compute,
                  bound=bound_of(s), busy=busy_of(s))  # fmt: skip


def test_one_tile_timing_equals_the_closed_forms():
    # random one-tile schedules: empty and non-empty transfers, fractional DRAM bytes per
    # cycle, with and without latency, ports that bound the tile or not, either buffering
    rng = np.random.default_rng(0)
    for _ in range(2000):
        one = lambda hi: np.array([int(rng.integers(0, hi))], dtype=np.int64)  # noqa: E731
        ports = tuple((f"p{i}", one(400)) for i in range(int(rng.integers(0, 4))))
        s = TileSchedule(compute_cycles=one(300), load_bytes=one(3) * one(5000),
                         store_bytes=one(3) * one(5000),
                         dram_bytes_per_cycle=float(rng.choice([0.7, 8.0, 25.6, 1e6])),
                         dram_latency_cycles=int(rng.choice([0, 1, 100])),
                         double_buffered=bool(rng.integers(0, 2)), port_cycles=ports)  # fmt: skip
        assert analytical_timing(s) == _general_timing(s)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60), st.integers(1, 4), st.data())
def test_first_min_is_lexsorts_first(n: int, distinct: int, data: st.DataObject) -> None:
    """``tiling.first_min`` (ties narrowed key by key) against ``np.lexsort``'s first index
    (numpy's stable sort: the reference), on keys with few distinct values (many ties)."""
    values = st.lists(st.integers(0, distinct), min_size=n, max_size=n)
    keys = [np.array(data.draw(values), dtype=np.float64) / 3 for _ in range(3)]
    assert first_min(*keys) == int(np.lexsort(keys[::-1])[0])
