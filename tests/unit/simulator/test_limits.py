"""simulator.limits: tile and MAC bounds worked out by hand, and the limits' exact edges."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sparsim.accel.loader import load_spec
from sparsim.simulator.limits import MAX_MACS, MAX_TILES, check_size, stream_tile_bound, tile_bound
from sparsim.simulator.lower import Problem
from sparsim.simulator.results import Pass
from sparsim.simulator.run import simulate
from sparsim.workloads.layer import Layer, Workload
from sparsim.workloads.ops import Gemm
from sparsim.workloads.yamlio import ConfigError

from tests.unit.simulator.conftest import make_spec


def _gemm(m: int, n: int, k: int, count: int = 1) -> Problem:
    return Problem(layer="g", op="Gemm", pass_=Pass.FW, m=m, n=n, k=k, count=count)


@pytest.mark.parametrize(
    ("dataflow", "tiles"),
    [
        # 32x32 array, m=100, n=70, k=5, count=2; ceil(100/32)=4, ceil(70/32)=3, ceil(5/32)=1
        ("os", 2 * 3 * 4),  # rows over n, columns over m
        ("ws", 2 * 3 * 1),  # columns over n, k folds over rows
        ("is", 2 * 4 * 1),  # columns over m, k folds over rows
    ],
)
def test_tile_bound_by_hand(dataflow: str, tiles: int) -> None:
    spec = make_spec(rows=32, cols=32, dataflow=dataflow)
    assert tile_bound(_gemm(100, 70, 5, count=2), spec) == tiles


def test_stream_tile_bound_by_hand() -> None:
    # 4096-byte input buffer: chunks of at least 4096 // 2 // 16 = 128 elements unless a 64th
    # of the work is smaller (memory.STREAM_CHUNKS): 1000 -> max(ceil(1000 / 128), 64) = 64
    # (it runs 63 chunks of 16); 100,000 -> ceil(100,000 / 128) = 782
    spec = make_spec(buffer_bytes=4096)
    vector = Problem(layer="v", op="norm", pass_=Pass.VECTOR, vector_elements=1000,
                     vector_flops=5000)  # fmt: skip
    assert stream_tile_bound(vector, spec) == 64
    assert stream_tile_bound(replace(vector, vector_elements=100_000), spec) == 782


def test_tile_limit_edge() -> None:
    """A 1x1 output-stationary array runs one tile per output: m * n tiles."""
    spec = make_spec(rows=1, cols=1, name="one")
    check_size([_gemm(MAX_TILES, 1, 1)], spec)  # exactly at the limit: accepted
    message = (f"layer g (fw): {MAX_TILES + 1:,} tiles on one's 1x1 array; at most "
               f"{MAX_TILES:,} per layer (the engines hold per-tile arrays in memory); use a "
               "smaller batch or layer")  # fmt: skip
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        check_size([_gemm(MAX_TILES + 1, 1, 1)], spec)


def test_mac_limit_edge() -> None:
    spec = make_spec(rows=4096, cols=4096)
    check_size([_gemm(2**20, 2**20, 2**13)], spec)  # 2^53 MACs: accepted
    with pytest.raises(ConfigError, match=r"^layer g \(fw\): 9\.01e\+15 MACs; at most 2\^53"):
        check_size([_gemm(2**20, 2**20, 2**13 + 1)], spec)
    assert MAX_MACS == 2**20 * 2**20 * 2**13


def test_simd_cores_are_not_held_to_array_tiles() -> None:
    """A SIMD core (``mobile_cpu``: a '1x2 array' in its spec) runs kernels that pipeline at
    most ``simd.MAX_TILES`` tiles, so GPT-2's 50,257 x 768 LM head over 1,024 tokens, which
    would be 1024 x 50,257 / 2 = 25,731,584 tiles of a 1x2 array, is accepted and runs."""
    spec = load_spec("mobile_cpu")
    head = _gemm(1024, 50_257, 768)
    assert tile_bound(head, spec) == 25_731_584 > MAX_TILES
    check_size([head], spec)
    layer = Layer(name="head", op=Gemm(m=1024, n=50_257, k=768))
    assert simulate(Workload(name="h", layers=(layer,)), spec).layers[0].cycles > 0
