"""The tile cycle formula: written once, imported by the analytical engine, the event engine and
the cocotb RTL tests.

A PE with ``P`` multipliers consumes, per cycle, ``P`` reduction elements in dense mode, or
``P // n`` groups of ``m`` (``(P // n) * m`` elements, ``P // n * n`` MACs) in N:M mode: it skips
the zeros instead of multiplying them. A *step* is one such cycle's worth of reduction.

Per tile on an ``rows x cols`` systolic array (always the full array: a ragged edge tile still
pays the full skew; its idle PEs show up as lost utilization):

* ``os`` (output stationary, the RTL's dataflow): operands enter skewed, one row/column per
  cycle, so the last PE sees step ``s`` at cycle ``s + (rows - 1) + (cols - 1)``; results then
  shift out one array row per cycle::

      os_tile_cycles = k_steps + (rows - 1) + (cols - 1) + rows
                       stream    fill (skew)                drain

* ``ws`` / ``is`` (weight / input stationary): the stationary tile is shifted in one row per
  cycle, then ``stream`` rows (GEMM ``m`` for ``ws``, ``n`` for ``is``) flow through with the
  same skew, partial sums leaving at the bottom::

      ws_tile_cycles = rows + stream + (rows - 1) + (cols - 1)
                       load   stream   fill/drain skew

**Back-to-back tiles.** The array accepts the next tile's first step right after the previous
tile's last one, so skew and drain overlap the next tile's stream; the one limit is the output
port, which emits one row per cycle, so consecutive tiles are at least ``rows`` cycles apart. A
sequence of tiles with ``steps[0..T-1]`` therefore costs::

      sequence_cycles = tile_cycles(steps[0]) + sum_{t >= 1} max(steps[t], rows)

``tile_costs`` gives each tile's share of that sum (the first tile pays its full latency), which
is what the engines charge per tile. The same holds for ``ws``/``is`` with double-buffered
stationary registers: the next tile's ``rows``-cycle load overlaps the current stream.

**Serialized folds** (``compute.fold_overlap: false``): an array that cannot accept a fold
before the previous one has drained pays each fold's fill, skew and drain::

      serial_sequence_cycles = sum_t tile_cycles(steps[t])

e.g. ``os`` on 4 x 4 with steps ``[10, 10]``: overlapped ``(10 + 3 + 3 + 4) + max(10, 4) =
30``, serialized ``20 + 20 = 40``. Serialized is never less than overlapped: per tile,
``tile_cycles(s) >= max(s, rows)`` (``os``: ``s + 2 rows + cols - 2 >= s`` and ``>= rows``;
``ws``: ``2 rows + s + cols - 2`` likewise).

All functions accept ints or numpy integer arrays (the analytical engine passes arrays).
"""

from __future__ import annotations

from typing import TypeVar, overload

import numpy as np

__all__ = [
    "ceil_div",
    "group_kept_per_tile",
    "group_lane_work",
    "k_per_step",
    "k_steps",
    "os_tile_cycles",
    "sequence_cycles",
    "stationary_tile_cycles",
    "tile_costs",
    "tile_cycles",
]

IntLike = TypeVar("IntLike", int, np.ndarray)


@overload
def ceil_div(a: int, b: int) -> int: ...
@overload
def ceil_div(a: np.ndarray, b: int | np.ndarray) -> np.ndarray: ...
@overload
def ceil_div(a: int, b: np.ndarray) -> np.ndarray: ...
def ceil_div(a: int | np.ndarray, b: int | np.ndarray) -> int | np.ndarray:
    """``ceil(a / b)`` in integers; an array if either operand is one."""
    return -(-a // b)


def k_per_step(multipliers_per_pe: int, nm: tuple[int, int] | None = None) -> int:
    """Reduction elements one PE consumes per cycle: ``P`` dense, ``(P // n) * m`` for N:M."""
    if nm is None:
        return multipliers_per_pe
    n, m = nm
    if multipliers_per_pe < n:
        raise ValueError(f"{n}:{m} needs at least {n} multipliers per PE, not {multipliers_per_pe}")
    return (multipliers_per_pe // n) * m


def k_steps(k: IntLike, multipliers_per_pe: int, nm: tuple[int, int] | None = None) -> IntLike:
    """Cycles one PE needs to reduce ``k`` elements (``k`` is padded up to a whole step)."""
    return ceil_div(k, k_per_step(multipliers_per_pe, nm))


def os_tile_cycles(rows: int, cols: int, steps: IntLike) -> IntLike:
    """Output-stationary tile: stream + skew fill + row-by-row drain (module docstring)."""
    return steps + (rows - 1) + (cols - 1) + rows


def stationary_tile_cycles(rows: int, cols: int, stream: IntLike) -> IntLike:
    """Weight- or input-stationary tile: load + stream + skew (module docstring)."""
    return rows + stream + (rows - 1) + (cols - 1)


def tile_cycles(dataflow: str, rows: int, cols: int, stream: IntLike) -> IntLike:
    """Cycles of one tile; ``stream`` is ``k_steps`` for ``os``, the streamed dim otherwise."""
    if dataflow == "os":
        return os_tile_cycles(rows, cols, stream)
    if dataflow in ("ws", "is"):
        return stationary_tile_cycles(rows, cols, stream)
    raise ValueError(f"dataflow must be one of os, ws, is, not {dataflow!r}")


def tile_costs(
    dataflow: str, rows: int, cols: int, stream: np.ndarray, *, fold_overlap: bool = True
) -> np.ndarray:
    """Per-tile cycles of back-to-back tiles: the first pays ``tile_cycles``, each later one
    ``max(stream, rows)`` (module docstring). Sums to ``sequence_cycles``. With
    ``fold_overlap=False`` every tile pays its full ``tile_cycles`` (serialized folds)."""
    stream = np.asarray(stream, dtype=np.int64)
    if not fold_overlap:
        return np.asarray(tile_cycles(dataflow, rows, cols, stream), dtype=np.int64)
    costs = np.maximum(stream, rows)
    if costs.size:
        costs[0] = tile_cycles(dataflow, rows, cols, stream[0])
    return costs


def sequence_cycles(
    dataflow: str, rows: int, cols: int, stream: np.ndarray, *, fold_overlap: bool = True
) -> int:
    """Cycles from the first tile's first step to the last tile's last result."""
    return int(tile_costs(dataflow, rows, cols, stream, fold_overlap=fold_overlap).sum())


def group_lane_work(masks: np.ndarray, lanes: int, group: int) -> np.ndarray:
    """Group skipping: K positions each group of ``group`` adjacent output channels must visit.

    ``masks`` ``(count, k, n)``: kept weights, output channels along ``n``; folds of ``lanes``
    channels (the array side holding ``n``, zero-padded at the edge) are split into groups of
    ``group`` channels that share one activation selector and skip only the K positions where
    none of them keeps a weight. ``(count, folds, lanes // group)``; the simulator's mapping
    and the group-sparse RTL test both count from here.
    """
    count, k, n = masks.shape
    folds = ceil_div(n, lanes)
    padded = np.zeros((count, k, folds * lanes), dtype=bool)
    padded[:, :, :n] = masks
    return padded.reshape(count, k, folds, lanes // group, group).any(axis=4).sum(axis=1)


def group_kept_per_tile(mask: np.ndarray, lanes: int, group: int) -> np.ndarray:
    """K positions each fold of ``lanes`` channels of one ``(k, n)`` mask processes: its
    slowest group sets the time (``group_lane_work``). ``(folds,)``."""
    return group_lane_work(mask[None], lanes, group)[0].max(axis=1).astype(np.int64)
