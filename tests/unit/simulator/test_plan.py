"""``plan.stream_schedule``: each buffer port's cycles split among its streams, with holders."""

from __future__ import annotations

from dataclasses import replace

from sparsim.simulator.mapper import FIXED
from sparsim.simulator.plan import plan, stream_schedule
from sparsim.workloads.layer import Layer, Workload
from sparsim.workloads.ops import Gemm
from sparsim.workloads.sparsity import NM

from tests.unit.simulator.conftest import make_spec


def test_streams_split_a_port_by_cumulative_rounding_with_their_holders():
    """Worked by hand. One tile of a 256 x 64 x 64 GEMM, W 2:8 along k (everything fits), on a
    16 x 16 output-stationary array: W keeps 1,024 value bytes and 384 metadata bytes
    (512 groups x 2 indices x 3 bits), read once per column fold of m (256 / 16 = 16 passes,
    ``simulator.tiling`` docstring): 16,384 and 6,144 bytes through the weight read port. At
    1,000 B/cycle: values ceil(16,384 / 1,000) = 17 cycles, metadata ceil(22,528 / 1,000) - 17
    = 6 (rounded on its own it would be 7: the port's 23 cycles are split, not exceeded)."""
    spec = make_spec(rows=16, cols=16, multipliers=2, nm=((2, 8),))
    weight = replace(dict(spec.buffers)["weight"], read_bytes_per_cycle=1000)
    spec = replace(spec, buffers=tuple((n, weight if n == "weight" else b)
                                       for n, b in spec.buffers))  # fmt: skip
    layer = Layer(name="g", op=Gemm(m=256, n=64, k=64), weight_sparsity=NM(n=2, m=8))
    (planned,) = plan(Workload(name="gemm", layers=(layer,)), spec, mapper=FIXED)
    s = stream_schedule(planned, spec)
    assert s.tiles == 1 and dict(s.port_cycles)["weight buffer read port"].tolist() == [23]
    on_port = [(p.stream, p.holder, p.cycles.tolist()) for p in s.stream_cycles
               if p.port == "weight buffer read port"]  # fmt: skip
    assert on_port == [("weight feed", "array", [17]), ("metadata feed", "array", [6])]
    # no partial sums (k is not tiled); on the 1 MiB/cycle weight write port the 1,408 fill
    # bytes take 1 cycle, all the values' (ceil(1,024 / 2^20) = 1, then ceil(1,408 / 2^20) - 1
    # = 0): a stream with no cycles is left out
    holders = {p.stream: p.holder for p in s.stream_cycles}
    assert holders == {
        "input fill": "load", "input feed": "array", "weight fill": "load",
        "weight feed": "array", "metadata feed": "array", "output write": "array",
        "output drain": "store",
    }  # fmt: skip
