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
from sparsim.accel.formats import compress_group, compress_nm
from sparsim.accel.functional import TileJob, group_gemm, tiles_os
from sparsim.accel.rtl_params import RtlParams
from sparsim.simulator.tile import k_steps
from sparsim.workloads.pruning import group_mask, prune_nm

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
    mode: int
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


def _rows_word(words: Sequence[int], width: int) -> int:
    """Per-row (per-column) words side by side, row 0 in the lowest ``width`` bits."""
    return sum(word << (i * width) for i, word in enumerate(words))


def _x_word(lanes: np.ndarray) -> int:
    """``lanes`` ``(cols, LANES)``: lane l of column c at bits ``(c*LANES + l)*DATA_W``."""
    return pack_group_values(lanes.ravel().tolist())


def _spare(shape: tuple[int, ...], rng: np.random.Generator, quiet: bool) -> np.ndarray:
    """Filler for lanes and K padding the result must not depend on: random, or zeros
    (``quiet``: what a real feeder sends, for the switching-activity runs)."""
    if quiet:
        return np.zeros(shape, np.int8)
    return rng.integers(-128, 128, shape, dtype=np.int8)


def sparse_tile(label: str, job: TileJob, p: RtlParams, nm: tuple[int, int], k: int,
                rng: np.random.Generator, quiet: bool = False) -> Tile:
    """A ``tiles_os`` job of reduction length ``k`` in mode ``nm``: ``P // n`` groups per step,
    each row's groups packed side by side with ``accel.bitlayout`` (values at ``j*8``, index
    ``j`` at ``j*index_bits(m)``). Groups past the last one (a step not filled) get zero values,
    and activations in the K padding and spare lanes are random: the result must not change."""
    n, m = nm
    per = p.P // n
    values, indices = job.values, job.indices
    groups = values.shape[1]
    x = job.x_tile.copy()
    x[k:] = _spare(x[k:].shape, rng, quiet)
    steps = []
    for s in range(int(k_steps(groups * m, p.P, nm))):
        g0, g1 = s * per, min((s + 1) * per, groups)
        vals = np.zeros((p.ROWS, p.P), np.int64)
        vals[:, : (g1 - g0) * n] = values[:, g0:g1].reshape(p.ROWS, -1)
        idx = np.zeros((p.ROWS, per * n), np.int64)
        idx[:, : (g1 - g0) * n] = indices[:, g0:g1].reshape(p.ROWS, -1)
        lanes = _spare((p.COLS, p.LANES), rng, quiet)
        lanes[:, : (g1 - g0) * m] = x[g0 * m : g1 * m].T
        steps.append(Step(
            w_val=_rows_word([pack_group_values(v.tolist()) for v in vals], p.P * p.DATA_W),
            w_idx=_rows_word([pack_group_indices(i.tolist(), m) for i in idx], p.P * p.IDX_W),
            x=_x_word(lanes),
        ))

    def check(got: np.ndarray) -> None:
        reference.check_nm_gemm(got, values, indices, x, m)
        reference.assert_int_equal(got, job.expected, "tiles_os expected")

    return Tile(label=label, steps=tuple(steps), mode=p.mode_index(nm), check=check)


def _random_bits(bits: int, rng: np.random.Generator) -> int:
    """A uniformly random ``bits``-bit word (``rng.integers`` stops at 63 bits: an index bus
    of 4 rows x 4 lanes x 4-bit indices is 64)."""
    return int.from_bytes(rng.bytes(-(-bits // 8)), "little") & ((1 << bits) - 1)


def dense_tile(
    label: str, w: np.ndarray, x: np.ndarray, p: RtlParams, rng: np.random.Generator,
    quiet: bool = False,
) -> Tile:
    """Dense ``w (ROWS, K) @ x (K, COLS)``: P elements per step, lanes P.. and the indices
    random (dense mode must ignore them), K padded to whole steps with zero weights."""
    k = w.shape[1]
    steps_count = int(k_steps(k, p.P, None))
    wp = np.zeros((p.ROWS, steps_count * p.P), np.int8)
    wp[:, :k] = w
    xp = _spare((steps_count * p.P, p.COLS), rng, quiet)
    xp[:k] = x
    steps = []
    for s in range(steps_count):
        lanes = _spare((p.COLS, p.LANES), rng, quiet)
        lanes[:, : p.P] = xp[s * p.P : (s + 1) * p.P].T
        idx = 0 if quiet else _random_bits(p.ROWS * p.P * p.IDX_W, rng)
        steps.append(Step(pack_group_values(wp[:, s * p.P : (s + 1) * p.P].ravel().tolist()),
                          idx, _x_word(lanes)))

    def check(got: np.ndarray) -> None:
        reference.assert_int_equal(got, reference.dense_gemm(w, x), "dense_gemm")

    return Tile(label=label, steps=tuple(steps), mode=0, check=check)


def random_nm_weight(rows: int, k: int, n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Random int8 weight pruned N:M (magnitude), with extra zeros so some groups keep fewer
    than n nonzeros."""
    w = rng.integers(-128, 128, (rows, k), dtype=np.int8)
    w[rng.random((rows, k)) < 0.2] = 0
    return prune_nm(w, n, m)


def random_tiles(p: RtlParams, modes: Sequence[tuple[int, int] | None], count: int,
                 rng: np.random.Generator) -> list[Tile]:
    """At least ``count`` tiles from random GEMMs with ragged edges and random K (often not a
    multiple of M), tiled by ``accel.functional.tiles_os``; each GEMM in a mode drawn from
    ``modes`` (``None``: dense)."""
    tiles: list[Tile] = []
    while len(tiles) < count:
        nm = modes[int(rng.integers(0, len(modes)))]
        rows = int(rng.integers(1, 3 * p.ROWS + 1))
        cols = int(rng.integers(1, 3 * p.COLS + 1))
        k = int(rng.integers(1, 3 * p.LANES + 1))
        x = rng.integers(-128, 128, (k, cols), dtype=np.int8)
        tiles.extend(gemm_tiles(f"random#{len(tiles)}", p, nm, rows, k, x, rng))
    return tiles


def gemm_tiles(label: str, p: RtlParams, nm: tuple[int, int] | None, rows: int, k: int,
               x: np.ndarray, rng: np.random.Generator,
               w: np.ndarray | None = None, quiet: bool = False) -> Iterator[Tile]:
    """The tiles of one GEMM ``W (rows, k) @ x`` in mode ``nm`` (``None``: dense); ``w``
    random (N:M-pruned if sparse) unless given; ``quiet``: zeros in unused lanes, indices and
    K padding instead of random values."""
    name = "dense" if nm is None else f"{nm[0]}:{nm[1]}"
    if w is None:
        w = (rng.integers(-128, 128, (rows, k), dtype=np.int8) if nm is None
             else random_nm_weight(rows, k, nm[0], nm[1], rng))
    if nm is None:
        yield from _dense_tiles(f"{label}[{name}]", p, w, x, rng, quiet)
        return
    for job in tiles_os(p.ROWS, p.COLS, compress_nm(w, nm[0], nm[1]), x):
        yield sparse_tile(f"{label}[{name}]@({job.row0},{job.col0})", job, p, nm, k, rng,
                          quiet)


def _dense_tiles(
    label: str, p: RtlParams, w: np.ndarray, x: np.ndarray, rng: np.random.Generator,
    quiet: bool = False,
) -> Iterator[Tile]:
    """Dense counterpart of ``tiles_os``: same order, edge tiles zero-padded to the array."""
    for row0 in range(0, w.shape[0], p.ROWS):
        wt = np.zeros((p.ROWS, w.shape[1]), np.int8)
        wt[: min(p.ROWS, w.shape[0] - row0)] = w[row0 : row0 + p.ROWS]
        for col0 in range(0, x.shape[1], p.COLS):
            xt = np.zeros((x.shape[0], p.COLS), np.int8)
            xt[:, : min(p.COLS, x.shape[1] - col0)] = x[:, col0 : col0 + p.COLS]
            yield dense_tile(f"{label}@({row0},{col0})", wt, xt, p, rng, quiet)


# ---- group skipping --------------------------------------------------------------------------


def group_weight(rows: int, k: int, group: int, density: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random int8 weight pruned by ``workloads.pruning.group_mask`` (every ``group`` adjacent
    rows share their kept K columns) with some extra zeros at kept positions: ``(w, mask)``."""
    w = rng.integers(-128, 128, (rows, k), dtype=np.int8)
    mask = group_mask(w, group, density)
    w[~mask | (rng.random((rows, k)) < 0.1)] = 0
    return w, mask


def group_tiles(label: str, p: RtlParams, w: np.ndarray, mask: np.ndarray, x: np.ndarray,
                rng: np.random.Generator) -> Iterator[Tile]:
    """The tiles of ``W @ x`` on a group-skipping array (``GROUP`` rows per activation port),
    row tiles outer, column tiles inner (``tiles_os`` order). Each group of a tile streams the
    K positions its ``mask`` rows keep, ``P`` per step, with its own activation port; groups
    that finish early pad with zero weights. Expected values: ``accel.functional.group_gemm``
    on ``accel.formats.compress_group`` of the whole weight."""
    gt = compress_group(w, p.GROUP)
    expected = group_gemm(gt.values, gt.col_idx, gt.col_ptr, gt.size, x)
    groups_per_tile = p.ROWS // p.GROUP
    for row0 in range(0, w.shape[0], p.ROWS):
        kept = []
        for q in range(groups_per_tile):
            rows = mask[row0 + q * p.GROUP : row0 + (q + 1) * p.GROUP]
            kept.append(np.flatnonzero(rows.any(axis=0)) if rows.size else np.zeros(0, int))
        steps = max(1, -(-max(len(kq) for kq in kept) // p.P))
        for col0 in range(0, x.shape[1], p.COLS):
            yield _group_tile(f"{label}@({row0},{col0})", p, w, x, kept, steps, row0, col0,
                              expected, rng)


def _group_tile(label: str, p: RtlParams, w: np.ndarray, x: np.ndarray, kept: list,
                steps: int, row0: int, col0: int, expected: np.ndarray,
                rng: np.random.Generator) -> Tile:
    rows_w = np.zeros((p.ROWS, w.shape[1]), np.int8)
    rows_w[: min(p.ROWS, w.shape[0] - row0)] = w[row0 : row0 + p.ROWS]
    cols_x = np.zeros((x.shape[0], p.COLS), np.int8)
    cols_x[:, : min(p.COLS, x.shape[1] - col0)] = x[:, col0 : col0 + p.COLS]
    bus_steps = []
    for s in range(steps):
        vals = np.zeros((p.ROWS, p.P), np.int64)
        ports = rng.integers(-128, 128, (p.ROWS // p.GROUP, p.COLS, p.LANES), dtype=np.int8)
        for q, kq in enumerate(kept):
            pos = kq[s * p.P : (s + 1) * p.P]
            vals[q * p.GROUP : (q + 1) * p.GROUP, : pos.size] = rows_w[
                q * p.GROUP : (q + 1) * p.GROUP][:, pos]
            ports[q, :, : pos.size] = cols_x[pos].T
        idx = _random_bits(p.ROWS * p.P * p.IDX_W, rng)
        bus_steps.append(Step(
            w_val=_rows_word([pack_group_values(v.tolist()) for v in vals], p.P * p.DATA_W),
            w_idx=idx, x=_x_word(ports.reshape(-1, p.LANES))))
    want = np.zeros((p.ROWS, p.COLS), np.int32)
    block = expected[row0 : row0 + p.ROWS, col0 : col0 + p.COLS]
    want[: block.shape[0], : block.shape[1]] = block

    def check(got: np.ndarray) -> None:
        reference.assert_int_equal(got, want, "functional.group_gemm")

    return Tile(label=label, steps=tuple(bus_steps), mode=0, check=check)


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
        for name in ("in_valid", "in_first", "in_last", "in_mode"):
            getattr(self.dut, name).value = 0

    def _drive(self, tile: Tile, index: int) -> None:
        step = tile.steps[index]
        dut = self.dut
        dut.in_valid.value = 1
        dut.in_first.value = int(index == 0)
        dut.in_last.value = int(tile.complete and index == len(tile.steps) - 1)
        dut.in_mode.value = tile.mode
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
