"""Memory model: DRAM bytes per operand from reuse and buffer fit, counted by hand here
(int8 operands and outputs, int32 partial sums; a double-buffered share holds half its size)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsim.accel.bitlayout import metadata_bytes_per_row
from sparsim.simulator.lower import Problem
from sparsim.simulator.mapping import map_problem
from sparsim.simulator.memory import map_matrix, matrix_traffic, stream_traffic
from sparsim.simulator.results import Pass
from sparsim.workloads.sparsity import NM

from tests.unit.simulator.conftest import make_spec


def _dram(problem: Problem, spec, order: str | None = None) -> dict[str, int]:
    mapping, _ = map_problem(problem, spec, order)
    traffic = matrix_traffic(problem, mapping, spec)
    levels = dict(traffic.bytes_by_level())
    dram = {key.removeprefix("dram."): v for key, v in levels.items() if key.startswith("dram.")}
    assert traffic.load.sum() + traffic.store.sum() == sum(dram.values())
    assert len(traffic.load) == len(traffic.store) == mapping.tiles
    return dram


def _problem(m: int, n: int, k: int, **kw) -> Problem:
    return Problem(layer="g", op="Gemm", pass_=Pass.FW, m=m, n=n, k=k, **kw)


def test_everything_fits_is_compulsory_traffic():
    for flow in ("os", "ws", "is"):
        dram = _dram(_problem(13, 7, 30), make_spec(dataflow=flow))
        assert dram == {"input": 13 * 30, "weight": 30 * 7, "metadata": 0, "psum": 0,
                        "output": 13 * 7}  # fmt: skip


def test_os_refetches_input_per_row_tile_when_it_does_not_fit():
    # os rows hold n: a B column panel 64 x 4 = 256 B fits half of 1 KiB; all of A (64 x 64 =
    # 4 KiB) does not: A is read once per row tile (n / 4 = 16 / 4 = 4 times), B once.
    dram = _dram(_problem(64, 16, 64), make_spec(buffer_bytes=1024))
    assert (dram["input"], dram["weight"], dram["output"]) == (4 * 64 * 64, 64 * 16, 64 * 16)


def test_os_refetches_weight_panel_per_tile_when_it_does_not_fit():
    # A B column panel 512 x 4 = 2 KiB > 1 KiB: fetched for each of the 2 column tiles
    # (m = 8 on 4 columns) of its row tile: 2 x all of B. A = 8 x 512 = 4 KiB does not fit
    # either: once per row tile (n = 8 on 4 rows: 2).
    dram = _dram(_problem(8, 8, 512), make_spec(buffer_bytes=2048))
    assert (dram["input"], dram["weight"]) == (2 * 8 * 512, 2 * 512 * 8)


def test_os_memory_follows_the_non_square_orientation():
    # 2 x 8 array, m = 8, n = 4, k = 256, 1 KiB buffers (512 B usable). Rows hold n: 2 row
    # tiles, 1 column tile. B panel 256 x 2 = 512 B fits: B once. A = 8 x 256 = 2 KiB does
    # not: once per row tile (2). (Rows over m would give 4 row tiles of A and 1 column tile.)
    dram = _dram(_problem(8, 4, 256), make_spec(rows=2, cols=8, buffer_bytes=1024))
    assert (dram["input"], dram["weight"], dram["output"]) == (2 * 8 * 256, 256 * 4, 8 * 4)


def test_ws_spills_partial_sums_when_they_do_not_fit():
    # 8 k folds of 4 rows; psums 64 x 4 x 4 B = 1 KiB > 512 B: stored after folds 0..6 and
    # reloaded before folds 1..7: 2 x 7 x 1 KiB.
    dram = _dram(_problem(64, 4, 32), make_spec(dataflow="ws", buffer_bytes=1024))
    assert dram["psum"] == 2 * 7 * 64 * 4 * 4
    assert (dram["input"], dram["weight"], dram["output"]) == (64 * 32, 32 * 4, 64 * 4)


def test_ws_refetches_input_per_column_tile_when_it_does_not_fit():
    # A = 64 x 32 = 2 KiB > 1 KiB: read again for each of the 2 column tiles (n = 8)
    dram = _dram(_problem(64, 8, 32), make_spec(dataflow="ws", buffer_bytes=2048))
    assert dram["input"] == 2 * 64 * 32
    assert dram["weight"] == 32 * 8


def test_nm_weight_is_compressed_with_bitlayout_metadata():
    # 2:8 along k = 64: per column 8 groups, 2 values each; metadata from accel.bitlayout
    spec = make_spec(multipliers=2, nm=((2, 8),))
    dram = _dram(_problem(4, 8, 64, b_pattern=NM(n=2, m=8)), spec)
    assert dram["weight"] == 8 * 8 * 2
    assert dram["metadata"] == 8 * metadata_bytes_per_row(8, 2, 8)


def test_unexploited_pattern_moves_dense_weights():
    dram = _dram(_problem(4, 8, 64, b_pattern=NM(n=2, m=8)), make_spec())
    assert (dram["weight"], dram["metadata"]) == (64 * 8, 0)


def test_stream_traffic_chunks_through_half_the_input_buffer():
    # 100,000 elements of 2 B in, 1 B out; input share 1 KiB double-buffered: 256 elements a
    # chunk, smaller than 100,000 / 64 = 1,563 (memory.STREAM_CHUNKS): 390 x 256 + 160
    sizes, traffic = stream_traffic(100_000, 2.0, 1.0, make_spec(buffer_bytes=1024))
    assert np.array_equal(sizes, [256] * 390 + [160])
    assert np.array_equal(traffic.load, 2 * sizes) and np.array_equal(traffic.store, sizes)
    assert dict(traffic.dram) == {"input": 200_000, "output": 100_000}


def test_stream_traffic_chunks_in_64ths_or_the_bandwidth_delay_product():
    # a big buffer and no DRAM latency: 1000 elements in chunks of ceil(1000 / 64) = 16
    sizes, _ = stream_traffic(1000, 2.0, 1.0, make_spec())
    assert np.array_equal(sizes, [16] * 62 + [8])
    # 100 cycles of latency at 1.6 GB/s and 200 MHz (8 B/cycle): 800 B = 400 elements of 2 B
    # keep the channel busy, more than 16
    sizes, _ = stream_traffic(1000, 2.0, 1.0, make_spec(dram_gb_per_s=1.6, latency_cycles=100))
    assert np.array_equal(sizes, [400, 400, 200])
    # the chunk does not grow with the buffer: a 1 KiB share (256 elements) chunks 1000 as a
    # 1 GiB one does, so a bigger buffer exposes no bigger first fill and last drain
    small, _ = stream_traffic(1000, 2.0, 1.0, make_spec(buffer_bytes=1024))
    big, _ = stream_traffic(1000, 2.0, 1.0, make_spec())
    assert np.array_equal(small, big)


def test_os_m_major_reuses_input_panels_and_refetches_weights():
    # 4 x 4 array, 1 KiB buffers (512 B usable, double-buffered), m = 16, n = 64, k = 64:
    # 4 column tiles (m) outer, 16 row tiles (n) inner. A's panel 4 x 64 = 256 B fits: A read
    # once (16 x 64); all of B (64 x 64 = 4 KiB) does not: B read once per column tile (4x).
    spec = make_spec(buffer_bytes=1024)
    dram = _dram(_problem(16, 64, 64), spec, "m_major")
    assert (dram["input"], dram["weight"], dram["output"]) == (16 * 64, 4 * 64 * 64, 16 * 64)
    # k = 256: A's panel 4 x 256 = 1 KiB no longer fits: every tile re-reads its panel, A is
    # read once per row tile (16x)
    dram = _dram(_problem(16, 64, 256), spec, "m_major")
    assert (dram["input"], dram["weight"]) == (16 * 16 * 256, 4 * 256 * 64)


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 200), n=st.integers(1, 200), k=st.integers(1, 200),
    buffer=st.sampled_from([256, 1024, 8192, 1 << 20]),
)  # fmt: skip
def test_map_matrix_moves_the_fewest_bytes_ties_to_n_major(m, n, k, buffer):
    spec = make_spec(buffer_bytes=buffer)
    problem = _problem(m, n, k)
    moved = {order: sum(_dram(problem, spec, order).values()) for order in ("n_major", "m_major")}
    mapping, _, traffic = map_matrix(problem, spec)
    assert int(traffic.load.sum() + traffic.store.sum()) == min(moved.values())
    if moved["n_major"] <= moved["m_major"]:
        assert mapping.loop_order == "n_major"
