"""cocotb tests of ``rtl/nm_pe_array.sv`` and the pytest functions that build and run them.

Each pytest case builds the array for one (simulator, array size, N:M mode) from a small
accelerator spec via ``accel.rtl_params.rtl_params`` and runs every ``@cocotb.test`` below in the
simulator. Dense mode runs on the 2:4 build (the same hardware with its dense pin high).

Environment: ``SPARSIM_SEED`` replays a seed (every test logs the one it used; otherwise cocotb's
``RANDOM_SEED``), ``SPARSIM_WAVES=1`` dumps waveforms, ``SPARSIM_RTL_TILES`` overrides the number
of random tiles. Cycle counting is defined in ``_nm_tb``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace

import cocotb
import numpy as np
import pytest
from sparsim.accel.bitlayout import pack_group_indices, pack_group_values
from sparsim.accel.energy import DEFAULT_ENERGY
from sparsim.accel.numeric import wrap_int32
from sparsim.accel.rtl_params import RtlParams, rtl_params
from sparsim.accel.spec import (
    AcceleratorSpec,
    BufferSpec,
    ComputeSpec,
    DramSpec,
    NMSupport,
    PrecisionSpec,
    SparsitySupport,
)
from sparsim.simulator.tile import k_per_step, k_steps, tile_costs

from tests.rtl._nm_tb import ArrayBench, Idle, Reset, Step, Tile, gemm_tiles, random_tiles
from tests.rtl._sim import SIMULATORS, Build, require_tools, run

ARRAYS = ((2, 2), (4, 4), (8, 8))
MODES: dict[str, tuple[int, int] | None] = {"1:4": (1, 4), "2:4": (2, 4), "2:8": (2, 8),
                                             "dense": None}
DENSE_HOST = (2, 4)
# Random tiles per run. Icarus is an event simulator, several times slower than Verilator:
# outside the slow sweep it runs the 2**17 / N cycle accumulator-wrap tile on 2x2 arrays only.
TILES = {"verilator": 500, "icarus": 300}
SLOW_ARRAYS = ((1, 1), (3, 5), (8, 8))
SLOW_MODES: dict[str, tuple[int, int] | None] = {"1:2": (1, 2), "4:8": (4, 8), "1:16": (1, 16),
                                                  "2:4": (2, 4), "dense": None}
SLOW_TILES = 2000


def _wrap_in_default_run(sim: str, rows: int, cols: int) -> bool:
    return sim == "verilator" or rows * cols <= 4


def array_spec(rows: int, cols: int, nm: tuple[int, int] | None) -> AcceleratorSpec:
    """A minimal spec of a ``rows x cols`` array built for ``nm`` (dense: the 2:4 PE)."""
    n, m = nm or DENSE_HOST
    return AcceleratorSpec(
        name=f"rtl-{rows}x{cols}-{n}of{m}",
        compute=ComputeSpec(rows=rows, cols=cols, multipliers_per_pe=n),
        sparsity=SparsitySupport(nm=(NMSupport(n=n, m=m),)),
        buffers=(("shared", BufferSpec(size_bytes=1 << 16, read_bytes_per_cycle=64,
                                       write_bytes_per_cycle=64)),),
        dram=DramSpec(bandwidth_gb_per_s=10.0),
        precision=PrecisionSpec(),
        energy=DEFAULT_ENERGY,
    )


def mode_params(rows: int, cols: int, mode: str, modes: dict = MODES) -> RtlParams:
    return rtl_params(array_spec(rows, cols, modes[mode]), modes[mode])


# ---- cocotb side -----------------------------------------------------------------------------


def _config() -> tuple[RtlParams, tuple[int, int] | None]:
    """The parameters and N:M mode (``None``: dense) this simulation was built and run for."""
    params = RtlParams(**json.loads(os.environ["SPARSIM_RTL_PARAMS"]))
    nm = json.loads(os.environ["SPARSIM_RTL_NM"])
    return params, None if nm is None else tuple(nm)


def _rng(dut, salt: int) -> np.random.Generator:
    seed = int(os.environ.get("SPARSIM_SEED") or cocotb.RANDOM_SEED)
    dut._log.info("seed %d (replay with SPARSIM_SEED=%d)", seed, seed)
    return np.random.default_rng([seed, salt])


async def _bench(dut) -> tuple[ArrayBench, RtlParams, tuple[int, int] | None]:
    params, nm = _config()
    bench = ArrayBench(dut, params)
    await bench.start()
    return bench, params, nm


def _costs(p: RtlParams, steps: list[int]) -> np.ndarray:
    """``simulator.tile.tile_costs`` of back-to-back ``os`` tiles of ``steps`` on this array:
    the cycles the engines charge each tile (the first pays its whole latency)."""
    return tile_costs("os", p.ROWS, p.COLS, np.asarray(steps, dtype=np.int64))


def _formula(p: RtlParams, steps: int) -> int:
    """Cycles of one tile on an idle array, as the simulator charges it."""
    return int(_costs(p, [steps])[0])


@cocotb.test()
async def parameters_match_spec(dut) -> None:
    """The DUT was elaborated with exactly the parameters ``rtl_params`` derived."""
    params, _ = _config()
    for name, value in params.as_verilog_parameters().items():
        got = getattr(dut, name).value.to_signed()
        assert got == value, f"parameter {name}: DUT has {got}, rtl_params says {value}"


@cocotb.test()
async def random_tiles_match_model(dut) -> None:
    """Hundreds of random tiles (ragged edges, random K), streamed back to back with random
    idle gaps: values equal the functional model; cycles equal the tile formula plus the
    cycles the tile's steps were held up (stall or idle)."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 1)
    tiles = random_tiles(p, nm is None, int(os.environ["SPARSIM_RTL_TILES"]), rng)
    items: list = []
    for tile in tiles:
        if rng.random() < 0.1:
            items.append(Idle(int(rng.integers(1, 4))))
        items.append(tile)
    done = await bench.run(items)
    assert len(done) == len(tiles)
    for i, obs in done.items():
        expect = _formula(p, len(tiles[i].steps)) + obs.lost_cycles
        assert obs.cycles == expect, f"{tiles[i].label}: {obs.cycles} cycles, expected {expect}"
    exact = sum(obs.lost_cycles == 0 for obs in done.values())
    dut._log.info("%d tiles bit-exact; %d of them with no lost cycle", len(tiles), exact)


@cocotb.test()
async def cycles_equal_tile_formula(dut) -> None:
    """One tile at a time from an idle array, for K around multiples of a step: cycles ==
    ``os_tile_cycles(ROWS, COLS, k_steps(K, N, nm))`` exactly."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 2)
    per_step = k_per_step(p.N, nm)
    for k in sorted({1, per_step - 1, per_step, per_step + 1, 3 * per_step, 5 * per_step + 3}):
        if k < 1:
            continue
        x = rng.integers(-128, 128, (k, p.COLS), dtype=np.int8)
        (tile,) = gemm_tiles(f"K={k}", p, nm is None, p.ROWS, k, x, rng)
        assert len(tile.steps) == k_steps(k, p.N, nm)
        (obs,) = (await bench.run([tile])).values()
        expect = _formula(p, int(k_steps(k, p.N, nm)))
        assert obs.lost_cycles == 0 and obs.cycles == expect, (
            f"K={k}: {obs.cycles} cycles, os_tile_cycles gives {expect}")


@cocotb.test()
async def back_to_back_tiles(dut) -> None:
    """Tiles streamed with no idle cycle, some shorter than ROWS steps: tile t's last output row
    is sampled exactly ``sum(tile_costs(...)[:t+1])`` cycles after the first tile's first step
    (``simulator.tile.tile_costs``, the per-tile charge of both engines)."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 3)
    per_step = k_per_step(p.N, nm)
    tiles = []
    for i, steps in enumerate([p.ROWS, p.ROWS + 3, 1, 1, 2, p.ROWS + 1, 1, p.ROWS]):
        k = steps * per_step - int(rng.integers(0, per_step))
        x = rng.integers(-128, 128, (k, p.COLS), dtype=np.int8)
        tiles.extend(gemm_tiles(f"b2b#{i}", p, nm is None, p.ROWS, k, x, rng))
    done = await bench.run(tiles)
    _check_sequence(p, tiles, done)


def _check_sequence(p: RtlParams, tiles: list[Tile], done: dict) -> None:
    """Every tile's last row at the cumulative ``tile_costs`` from the first tile's step 0."""
    expect = np.cumsum(_costs(p, [len(t.steps) for t in tiles]))
    start = done[0].first_accept
    got = np.array([done[i].last_row - start + 1 for i in range(len(tiles))])
    assert np.array_equal(got, expect), (
        f"last rows at cycles {got.tolist()} from the first step; simulator.tile.tile_costs "
        f"gives {expect.tolist()} for steps {[len(t.steps) for t in tiles]}")


@cocotb.test()
async def corner_values(dut) -> None:
    """All zeros, and int8 extremes (-128 and 127 in every combination)."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 4)
    k = 4 * k_per_step(p.N, nm) + 1
    tiles = []
    for wv, xv in ((0, 0), (0, -128), (-128, -128), (-128, 127), (127, 127)):
        w = np.full((p.ROWS, k), wv, np.int8)
        if nm is not None:
            w[:, np.arange(k) % p.M >= p.N] = 0
        x = np.full((k, p.COLS), xv, np.int8)
        tiles.extend(gemm_tiles(f"w={wv},x={xv}", p, nm is None, p.ROWS, k, x, rng, w=w))
    await bench.run(tiles)


@cocotb.test(skip=os.environ.get("SPARSIM_RTL_WRAP") == "0")
async def accumulator_wraps(dut) -> None:
    """A tile long enough that the int32 accumulator wraps: weight w_r = -128 or 127 per row,
    activation a_c = -128 or 127 per column, so Y[r, c] = wrap32(steps * N * w_r * a_c) (closed
    form, int32 wrap from ``accel.numeric``). 2**17 / N cycles: Icarus runs it on 2x2 arrays
    only, outside the slow sweep."""
    bench, p, nm = await _bench(dut)
    w_rows = np.where(np.arange(p.ROWS) % 2 == 0, -128, 127)
    a_cols = np.where(np.arange(p.COLS) % 3 == 0, -128, 127)
    steps = -(-(2**31) // (p.N * 128 * 128)) + 3
    expected = wrap_int32(steps * p.N * np.outer(w_rows, a_cols).astype(np.int64))
    lanes = np.repeat(a_cols[:, None], p.M, axis=1)
    step = Step(
        w_val=pack_group_values(np.repeat(w_rows, p.N).tolist()),
        w_idx=pack_group_indices(list(range(p.N)) * p.ROWS, p.M),
        x=pack_group_values(lanes.ravel().tolist()),
    )

    def check(got: np.ndarray) -> None:
        assert np.array_equal(got, expected), f"expected\n{expected}\ngot\n{got}"
        assert not np.array_equal(expected, steps * p.N * np.outer(w_rows, a_cols)), "no wrap"

    tile = Tile(label="wrap", steps=(step,) * steps, dense=nm is None, check=check)
    (obs,) = (await bench.run([tile])).values()
    assert obs.cycles == _formula(p, steps)


@cocotb.test()
async def reset_in_the_middle_of_a_tile(dut) -> None:
    """Tile A fully accepted (results still in flight), tile B cut short by a reset: neither
    may produce output after the reset; the tiles after it are exact."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 6)
    per_step = k_per_step(p.N, nm)

    def tile(label: str, steps: int) -> Tile:
        x = rng.integers(-128, 128, (steps * per_step, p.COLS), dtype=np.int8)
        return next(gemm_tiles(label, p, nm is None, p.ROWS, steps * per_step, x, rng))

    cut = replace(tile("B", 6), complete=False)
    cut = replace(cut, steps=cut.steps[:2])
    items = [tile("A", 3), cut, Reset(2), tile("C", 4), tile("D", 1)]
    # A's steps enter at cycles 0..2, B's at 3..4, rst is high from cycle 5: only an array
    # small enough to emit A's last row by cycle 4 shows A (1x1: os_tile_cycles = 4).
    a_done = [0] if _formula(p, 3) - 1 < 5 else []
    done = await bench.run(items)
    assert sorted(done) == [*a_done, 2, 3], f"tiles with output: {sorted(done)}, expected " \
        f"{[*a_done, 2, 3]} (A=0 only if it finished before the reset, C=2, D=3)"


@cocotb.test()
async def one_cycle_reset_clears_the_drain(dut) -> None:
    """A reset held for one cycle while a finished tile's rows fill the drain pipeline (the
    cycle before its first row would appear): every stage of every delay line must clear at
    once, so that tile never shows a row and the next tiles are exact. A delay line that clears
    only its first stage on ``rst`` lets row 0 out right after the reset."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 7)
    per_step = k_per_step(p.N, nm)

    def tile(label: str, steps: int) -> Tile:
        x = rng.integers(-128, 128, (steps * per_step, p.COLS), dtype=np.int8)
        return next(gemm_tiles(label, p, nm is None, p.ROWS, steps * per_step, x, rng))

    a = tile("A", 3)
    # A's steps enter at cycles 0..2; its row 0 is visible from cycle first_row on, so in cycle
    # first_row - 1 it sits in the drain's next-to-last stage with rows 1.. behind it.
    first_row = _formula(p, 3) - p.ROWS
    items = [a, Idle(first_row - 1 - 3), Reset(1), tile("C", 4), tile("D", 1)]
    done = await bench.run(items)
    assert sorted(done) == [1, 2], f"tiles with output: {sorted(done)}, expected C=1 and D=2"


# ---- pytest side -----------------------------------------------------------------------------


def _case(sim: str, rows: int, cols: int, mode: str, modes: dict) -> object:
    """One parametrization; every case of a build shares its xdist group (one worker)."""
    build = Build(sim, mode_params(rows, cols, mode, modes).as_verilog_parameters())
    return pytest.param(sim, rows, cols, mode, id=f"{sim}-{rows}x{cols}-{mode}",
                        marks=pytest.mark.xdist_group(build.key))


def run_cocotb(sim: str, rows: int, cols: int, mode: str, modes: dict, tiles: int,
               testcase: str | None = None, defines: dict | None = None,
               wrap: bool = True) -> None:
    """Build (or reuse) the model and run this module's cocotb tests on it."""
    require_tools(sim)
    params = mode_params(rows, cols, mode, modes)
    build = Build(sim, params.as_verilog_parameters(), defines or {})
    env = {
        "SPARSIM_RTL_PARAMS": json.dumps(asdict(params)),
        "SPARSIM_RTL_NM": json.dumps(modes[mode]),
        "SPARSIM_RTL_TILES": os.environ.get("SPARSIM_RTL_TILES", str(tiles)),
        "SPARSIM_RTL_WRAP": str(int(wrap)),
        # cocotb rewrites asserts of every imported module by default ("*.py"): importing numba
        # through that hook costs seconds per simulation
        "COCOTB_REWRITE_ASSERTION_FILES": "test_*.py _nm_tb.py",
    }
    name = mode.replace(":", "of") + ("-" + testcase if testcase else "")
    run(build, "tests.rtl.test_nm_pe_array", env, name, testcase)


@pytest.mark.rtl
@pytest.mark.parametrize(
    ("sim", "rows", "cols", "mode"),
    [_case(s, r, c, m, MODES) for s in SIMULATORS for r, c in ARRAYS for m in MODES],
)
def test_nm_pe_array(sim: str, rows: int, cols: int, mode: str) -> None:
    wrap = _wrap_in_default_run(sim, rows, cols)
    run_cocotb(sim, rows, cols, mode, MODES, TILES[sim], wrap=wrap)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize(
    ("sim", "rows", "cols", "mode"),
    [_case(s, r, c, m, SLOW_MODES) for s in SIMULATORS for r, c in SLOW_ARRAYS
     for m in SLOW_MODES],
)
def test_nm_pe_array_sweep(sim: str, rows: int, cols: int, mode: str) -> None:
    run_cocotb(sim, rows, cols, mode, SLOW_MODES, SLOW_TILES)
