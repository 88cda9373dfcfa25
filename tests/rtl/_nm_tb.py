"""Testbench parts for ``rtl/nm_pe_array.sv``: stimulus, driver + monitor, model, checker.

* **Stimulus** turns a tile into per-step bus words, packed with ``accel.bitlayout`` (the RTL
  takes compressed weights exactly in that layout, rows side by side).
* **Driver + monitor** run as one loop per clock cycle: inputs are written at the falling edge
  (away from the sampling edge), then in ``ReadOnly`` the loop reads ``in_ready`` (was the step
  accepted at the next rising edge?) and the output row the next rising edge samples.
* **Model** is ``accel.functional.tiles_os`` (tiling) and ``accel.reference`` (expected values).
* **Checker** compares with ``accel.reference.check_nm_gemm`` / ``assert_int_equal``, which print
  expected and actual.

Cycle measurement: cycle ``i`` is the clock period ending at rising edge ``i``. A tile's step 0
is accepted at edge ``first`` and its last output row is sampled at edge ``last_row``; the tile
takes ``last_row - first + 1`` cycles, which equals ``simulator.tile.os_tile_cycles(ROWS, COLS,
steps)`` when no cycle between its first and last step was lost to a stall or an idle input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge
from sparsim.accel import reference
from sparsim.accel.bitlayout import pack_group_indices, pack_group_values
from sparsim.accel.formats import compress_nm
from sparsim.accel.functional import TileJob, tiles_os
from sparsim.accel.rtl_params import RtlParams
from sparsim.simulator.tile import k_steps
from sparsim.workloads.pruning import prune_nm

CLOCK_NS = 10


@dataclass(frozen=True, slots=True)
class Step:
    """Bus words of one step: all rows' weight groups, all columns' activations."""

    w_val: int
    w_idx: int
    x: int


@dataclass(frozen=True, slots=True)
class Tile:
    """A tile as the array consumes it; ``check(got)`` raises if the result is wrong.
    ``complete=False``: the last step is never marked (a tile cut short by a reset)."""

    label: str
    steps: tuple[Step, ...]
    dense: bool
    check: Callable[[np.ndarray], None]
    complete: bool = True


@dataclass(frozen=True, slots=True)
class Reset:
    """Hold ``rst`` for ``cycles`` cycles; tiles not finished by then produce no output."""

    cycles: int = 2


@dataclass(frozen=True, slots=True)
class Idle:
    """Leave the input idle (``in_valid`` low) for ``cycles`` cycles."""

    cycles: int = 1


@dataclass(slots=True)
class Observed:
    """What the monitor saw of one tile (cycle numbers as in the module docstring)."""

    first_accept: int = -1
    last_accept: int = -1
    accepted: int = 0
    last_row: int = -1
    rows: list[np.ndarray] = field(default_factory=list)

    @property
    def cycles(self) -> int:
        return self.last_row - self.first_accept + 1

    @property
    def lost_cycles(self) -> int:
        """Cycles between the first and last step in which no step of this tile entered."""
        return self.last_accept - self.first_accept + 1 - self.accepted


# ---- stimulus --------------------------------------------------------------------------------


def _x_word(lanes: np.ndarray) -> int:
    """``lanes`` ``(cols, M)``: activation i of column c at bits ``(c*M + i)*DATA_W``."""
    return pack_group_values(lanes.ravel().tolist())


def sparse_tile(label: str, job: TileJob, m: int, k: int, rng: np.random.Generator) -> Tile:
    """A ``tiles_os`` job of reduction length ``k``; the activations in the K padding are made
    random (their weights are zero, so the result must not change)."""
    values, indices = job.values, job.indices
    x = job.x_tile.copy()
    x[k:] = rng.integers(-128, 128, x[k:].shape, dtype=np.int8)
    steps = tuple(
        Step(
            w_val=pack_group_values(values[:, g].ravel().tolist()),
            w_idx=pack_group_indices(indices[:, g].ravel().tolist(), m),
            x=_x_word(x[g * m : (g + 1) * m].T),
        )
        for g in range(values.shape[1])
    )

    def check(got: np.ndarray) -> None:
        reference.check_nm_gemm(got, values, indices, x, m)
        reference.assert_int_equal(got, job.expected, "tiles_os expected")

    return Tile(label=label, steps=steps, dense=False, check=check)


def dense_tile(
    label: str, w: np.ndarray, x: np.ndarray, p: RtlParams, rng: np.random.Generator
) -> Tile:
    """Dense ``w (ROWS, K) @ x (K, COLS)``: N elements per step, lanes N..M-1 and the indices
    random (dense mode must ignore them), K padded to whole steps with zero weights."""
    n, k = p.N, w.shape[1]
    steps_count = int(k_steps(k, n, None))
    wp = np.zeros((p.ROWS, steps_count * n), np.int8)
    wp[:, :k] = w
    xp = rng.integers(-128, 128, (steps_count * n, p.COLS), dtype=np.int8)
    xp[:k] = x
    steps = []
    for s in range(steps_count):
        lanes = rng.integers(-128, 128, (p.COLS, p.M), dtype=np.int8)
        lanes[:, :n] = xp[s * n : (s + 1) * n].T
        idx = rng.integers(0, p.M, p.ROWS * n).tolist()
        steps.append(Step(pack_group_values(wp[:, s * n : (s + 1) * n].ravel().tolist()),
                          pack_group_indices(idx, p.M), _x_word(lanes)))

    def check(got: np.ndarray) -> None:
        reference.assert_int_equal(got, reference.dense_gemm(w, x), "dense_gemm")

    return Tile(label=label, steps=tuple(steps), dense=True, check=check)


def random_nm_weight(rows: int, k: int, n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Random int8 weight pruned N:M (magnitude), with extra zeros so some groups keep fewer
    than n nonzeros."""
    w = rng.integers(-128, 128, (rows, k), dtype=np.int8)
    w[rng.random((rows, k)) < 0.2] = 0
    return prune_nm(w, n, m)


def random_tiles(p: RtlParams, dense: bool, count: int, rng: np.random.Generator) -> list[Tile]:
    """At least ``count`` tiles from random GEMMs with ragged edges and random K (often not a
    multiple of M), tiled by ``accel.functional.tiles_os``."""
    tiles: list[Tile] = []
    while len(tiles) < count:
        rows = int(rng.integers(1, 3 * p.ROWS + 1))
        cols = int(rng.integers(1, 3 * p.COLS + 1))
        k = int(rng.integers(1, 6 * p.M + 1))
        x = rng.integers(-128, 128, (k, cols), dtype=np.int8)
        tiles.extend(gemm_tiles(f"random#{len(tiles)}", p, dense, rows, k, x, rng))
    return tiles


def gemm_tiles(label: str, p: RtlParams, dense: bool, rows: int, k: int, x: np.ndarray,
               rng: np.random.Generator, w: np.ndarray | None = None) -> Iterator[Tile]:
    """The tiles of one GEMM ``W (rows, k) @ x``; ``w`` random (N:M-pruned if sparse) unless
    given."""
    if w is None:
        w = (rng.integers(-128, 128, (rows, k), dtype=np.int8) if dense
             else random_nm_weight(rows, k, p.N, p.M, rng))
    if dense:
        yield from _dense_tiles(label, p, w, x, rng)
        return
    for job in tiles_os(p.ROWS, p.COLS, compress_nm(w, p.N, p.M), x):
        yield sparse_tile(f"{label}@({job.row0},{job.col0})", job, p.M, k, rng)


def _dense_tiles(
    label: str, p: RtlParams, w: np.ndarray, x: np.ndarray, rng: np.random.Generator
) -> Iterator[Tile]:
    """Dense counterpart of ``tiles_os``: same order, edge tiles zero-padded to the array."""
    for row0 in range(0, w.shape[0], p.ROWS):
        wt = np.zeros((p.ROWS, w.shape[1]), np.int8)
        wt[: min(p.ROWS, w.shape[0] - row0)] = w[row0 : row0 + p.ROWS]
        for col0 in range(0, x.shape[1], p.COLS):
            xt = np.zeros((x.shape[0], p.COLS), np.int8)
            xt[:, : min(p.COLS, x.shape[1] - col0)] = x[:, col0 : col0 + p.COLS]
            yield dense_tile(f"{label}@({row0},{col0})", wt, xt, p, rng)


# ---- driver + monitor ------------------------------------------------------------------------


class ArrayBench:
    """Clock, reset and the per-cycle drive/monitor loop of one ``nm_pe_array`` DUT."""

    def __init__(self, dut, params: RtlParams) -> None:
        self.dut = dut
        self.p = params
        self.cycle = 0

    async def start(self) -> None:
        Clock(self.dut.clk, CLOCK_NS, unit="ns").start()
        self._idle()
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    def _idle(self) -> None:
        for name in ("in_valid", "in_first", "in_last", "in_dense"):
            getattr(self.dut, name).value = 0

    def _drive(self, tile: Tile, index: int) -> None:
        step = tile.steps[index]
        dut = self.dut
        dut.in_valid.value = 1
        dut.in_first.value = int(index == 0)
        dut.in_last.value = int(tile.complete and index == len(tile.steps) - 1)
        dut.in_dense.value = int(tile.dense)
        dut.in_w_val.value = step.w_val
        dut.in_w_idx.value = step.w_idx
        dut.in_x.value = step.x

    def _read_row(self) -> tuple[int, np.ndarray]:
        width, mask = self.p.ACC_W, (1 << self.p.ACC_W) - 1
        word = self.dut.out_y.value.to_unsigned()
        raw = [(word >> (c * width)) & mask for c in range(self.p.COLS)]
        signed = [v - (1 << width) if v >> (width - 1) else v for v in raw]
        return _unsigned(self.dut.out_row.value), np.array(signed, dtype=np.int32)

    async def run(self, items: Sequence[Tile | Idle | Reset], max_cycles: int = 10**7) -> dict:
        """Drive ``items`` in order, check every tile's rows, return ``{tile index: Observed}``
        for the tiles whose result came out."""
        plan = _expand(items)
        tiles = [it for it in items if isinstance(it, Tile)]
        seen = {i: Observed() for i in range(len(tiles))}
        out_tile, pos, done = 0, 0, {}
        stop = self.cycle + max_cycles
        while out_tile < len(tiles):
            assert self.cycle < stop, f"timeout waiting for {tiles[out_tile].label}"
            await FallingEdge(self.dut.clk)
            action = plan[pos] if pos < len(plan) else None
            self._apply(action, tiles)
            await ReadOnly()
            pos, out_tile = self._account(action, pos, out_tile, seen, tiles, done)
            self.cycle += 1
        await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self._idle()
        return done

    def _apply(self, action, tiles: list[Tile]) -> None:
        self.dut.rst.value = int(action is not None and action[0] == "reset")
        if action is not None and action[0] == "step":
            self._drive(tiles[action[1]], action[2])
        else:
            self._idle()

    def _account(self, action, pos, out_tile, seen, tiles, done) -> tuple[int, int]:
        """Book this cycle: accepted step, output row, reset; return the new (pos, out_tile)."""
        if action is None:
            pass
        elif action[0] != "step":
            pos += 1
            if action[0] == "reset":
                out_tile = action[1]
                seen.update({i: Observed() for i in range(out_tile, len(tiles))})
        elif self.dut.in_ready.value == 1:
            obs = seen[action[1]]
            obs.first_accept = self.cycle if action[2] == 0 else obs.first_accept
            obs.last_accept, obs.accepted = self.cycle, obs.accepted + 1
            pos += 1
        if action is not None and action[0] == "reset":
            return pos, out_tile
        if self.dut.out_valid.value == 1:
            out_tile = self._monitor(out_tile, seen, tiles, done)
        return pos, out_tile

    def _monitor(self, out_tile, seen, tiles, done) -> int:
        row, values = self._read_row()
        obs, tile = seen[out_tile], tiles[out_tile]
        assert obs.accepted == len(tile.steps) and self.cycle > obs.last_accept, (
            f"cycle {self.cycle}: output row {row} before {tile.label} was fully accepted")
        assert row == len(obs.rows), (
            f"{tile.label}: output row {row} arrived, expected row {len(obs.rows)}")
        obs.rows.append(values)
        if row == self.p.ROWS - 1:
            obs.last_row = self.cycle
            tile.check(np.stack(obs.rows))
            done[out_tile] = obs
            return out_tile + 1
        return out_tile


def _unsigned(value) -> int:
    """A 1-bit port reads as ``Logic`` on Icarus and as ``LogicArray`` on Verilator."""
    return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)


def _expand(items: Sequence[Tile | Idle | Reset]) -> list[tuple]:
    """Per-cycle plan: ``("step", tile, step)``, ``("idle",)`` or ``("reset", next tile)``."""
    plan: list[tuple] = []
    t = 0
    for item in items:
        if isinstance(item, Tile):
            plan.extend(("step", t, s) for s in range(len(item.steps)))
            t += 1
        elif isinstance(item, Idle):
            plan.extend([("idle",)] * item.cycles)
        else:
            plan.extend([("reset", t)] * item.cycles)
    return plan
