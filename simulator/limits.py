"""Size checks run before a simulation starts, so an absurd job is refused in milliseconds with
a reason instead of failing minutes later in a numpy allocation or an int64 overflow.

The engines keep a few 8-byte values per tile of every problem (``simulator.mapping``), so the
tile count bounds their memory (a SIMD core's kernels pipeline at most ``simd.MAX_TILES`` tiles
whatever the problem, so only array specs are checked); exact integer MAC counts bound the
cycle and energy sums.
"""

from __future__ import annotations

from collections.abc import Iterable

from sparsim.accel.spec import AcceleratorSpec, Operand
from sparsim.simulator.lower import Problem
from sparsim.simulator.memory import STREAM_CHUNKS
from sparsim.workloads.yamlio import ConfigError

__all__ = ["MAX_MACS", "MAX_TILES", "check_size", "stream_tile_bound", "tile_bound"]

MAX_TILES = 2**24
"""Most array tiles one problem may take: 16,777,216, 64x the largest zoo problem on a shipped
config (llama2_7b's 262,144 on mobile_npu); a few 8-byte arrays of this length are ~1 GB."""

MAX_MACS = 2**53
"""Most dense MACs one problem may do: counts stay exact in float64 and their sums inside
int64 (llama2_7b's largest training problem does 1.1e11)."""


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def tile_bound(problem: Problem, spec: AcceleratorSpec) -> int:
    """Tiles of a matrix problem when nothing is skipped: an upper bound on what
    ``simulator.mapping`` allocates (sparsity only shortens the reduction)."""
    rows, cols = spec.compute.rows, spec.compute.cols
    flow = spec.compute.dataflow.value
    if flow == "os":
        return problem.count * _ceil_div(problem.n, rows) * _ceil_div(problem.m, cols)
    across = problem.n if flow == "ws" else problem.m
    return problem.count * _ceil_div(across, cols) * _ceil_div(problem.k, rows)


_STREAM_BYTES_IN = 16
"""Input bytes per element bounding every streamed op (the optimizer reads three values of at
most 4 bytes per weight: ``simulator.plan.OPTIMIZER_BYTES_IN``)."""


def stream_tile_bound(problem: Problem, spec: AcceleratorSpec) -> int:
    """Chunks a vector or pre-generation problem streams through the input buffer: an upper
    bound on ``simulator.memory.stream_traffic``'s tile count (a chunk is at least
    ``1/STREAM_CHUNKS`` of the work unless half the input buffer share is smaller)."""
    elements = problem.vector_elements or problem.pregen_elements
    chunk = max(1, spec.buffer_share_bytes(Operand.INPUT) // 2 // _STREAM_BYTES_IN)
    return max(_ceil_div(elements, chunk), min(elements, STREAM_CHUNKS))


def _problem_error(problem: Problem, spec: AcceleratorSpec) -> str | None:
    work = max(problem.dense_macs, problem.vector_flops)
    if work > MAX_MACS:
        what = "MACs" if problem.is_matrix else "vector operations"
        return (f"{_where(problem)}: {work:.3g} {what}; at most 2^53 = {MAX_MACS:.3g} (exact "
                "integer counts)")
    if problem.is_matrix:  # a SIMD core pipelines at most simd.MAX_TILES (256) tiles
        tiles = tile_bound(problem, spec) if spec.compute.simd is None else 0
    else:
        tiles = stream_tile_bound(problem, spec)
    if tiles > MAX_TILES:
        on = f"{spec.compute.rows}x{spec.compute.cols} array" if problem.is_matrix else "buffers"
        return (f"{_where(problem)}: {tiles:,} tiles on {spec.name}'s {on}; at most "
                f"{MAX_TILES:,} per layer (the engines hold per-tile arrays in memory)")
    return None


def _where(problem: Problem) -> str:
    """The problem an error names (built only on an error: the check runs every call)."""
    return f"layer {problem.layer} ({problem.pass_.value})"


def check_size(problems: Iterable[Problem], spec: AcceleratorSpec) -> None:
    """Raise a one-line ``ConfigError`` naming the first problem too large to simulate on
    ``spec``; ``simulator.plan`` calls it on a whole workload before planning any of it."""
    for problem in problems:
        error = _problem_error(problem, spec)
        if error is not None:
            raise ConfigError([f"{error}; use a smaller batch or layer"])
