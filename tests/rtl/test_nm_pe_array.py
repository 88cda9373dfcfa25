"""cocotb tests of ``rtl/nm_pe_array.sv`` and the pytest functions that build and run them.

Each pytest case builds one array (simulator, rows x cols, P multipliers per PE, its set of N:M
modes) from a small accelerator spec via ``accel.rtl_params.rtl_params`` and runs the
``@cocotb.test``s below in the simulator, either all of them in one mode (dense or one N:M
ratio: the ``in_mode`` pin) or the mode-switching test, whose tiles change mode back to back.
Every expected cycle count comes from ``simulator.tile`` (``k_steps``, ``tile_costs``).

Environment: ``SPARSIM_SEED`` replays a seed (every test logs the one it used; otherwise cocotb's
``RANDOM_SEED``), ``SPARSIM_WAVES=1`` dumps waveforms, ``SPARSIM_RTL_TILES`` overrides the number
of random tiles. Cycle counting is defined in ``_nm_tb``.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import asdict, dataclass, replace

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
from sparsim.simulator.tile import group_kept_per_tile, k_per_step, k_steps, tile_costs

from tests.rtl._nm_tb import (
    ArrayBench,
    Idle,
    Reset,
    Step,
    Tile,
    gemm_tiles,
    group_tiles,
    group_weight,
    random_tiles,
)
from tests.rtl._sim import SIMULATORS, Build, require_tools, run

NM = tuple[int, int]
SAT_MODES: tuple[NM, ...] = ((2, 4), (2, 8), (1, 8))  # configs/sat.yaml's ratios


@dataclass(frozen=True, slots=True)
class Array:
    """One build: ``rows x cols`` PEs of ``p`` multipliers with the sparse ``modes``."""

    rows: int
    cols: int
    p: int
    modes: tuple[NM, ...]
    group: int = 0

    @property
    def name(self) -> str:
        sparse = [f"{n}:{m}" for n, m in self.modes] + ([f"G{self.group}"] if self.group else [])
        return f"{self.rows}x{self.cols}-P{self.p}-" + ",".join(sparse)

    def all_modes(self) -> tuple[NM | None, ...]:
        return (None, *self.modes)


# Default run (both simulators). SAT's modes on 2 multipliers (1:8 runs two groups per cycle),
# a non-square array, one PE of 3 multipliers (2:4 leaves one idle: P // n rounds down; 1:4
# does three groups per cycle) and single-multiplier PEs.
SAT_2X2 = Array(2, 2, 2, SAT_MODES)
SAT_3X5 = Array(3, 5, 2, SAT_MODES)
P3_2X3 = Array(2, 3, 3, ((2, 4), (1, 4)))
P1_4X4 = Array(4, 4, 1, ((1, 4), (1, 2)))
SAT_8X8 = Array(8, 8, 2, SAT_MODES)
# Group skipping as in configs/mobile_npu.yaml (2 multipliers, no N:M mode), smaller: groups of
# 2 rows on a 4x3 array (mobile_npu: 4 of 16 rows).
GROUP_4X3 = Array(4, 3, 2, (), group=2)
GROUP_ARRAYS = (GROUP_4X3,)
# (array, modes run one at a time) per simulator; every array also runs the mode-switching test.
PER_MODE: dict[str, tuple[tuple[Array, tuple[NM | None, ...]], ...]] = {
    "verilator": ((SAT_2X2, SAT_2X2.all_modes()), (P3_2X3, P3_2X3.all_modes()),
                  (P1_4X4, ((1, 4),)), (SAT_8X8, ((2, 8),))),
    "icarus": ((SAT_2X2, SAT_2X2.all_modes()), (P3_2X3, P3_2X3.all_modes()),
               (P1_4X4, ((1, 4),))),
}
SWITCHING = (SAT_2X2, SAT_3X5, P3_2X3, P1_4X4)
# Random tiles per run. Icarus is an event simulator, several times slower than Verilator:
# outside the slow sweep it runs the 2**17 / P cycle accumulator-wrap tile on 2x2 arrays only.
TILES = {"verilator": 300, "icarus": 120}
GROUP_TILES = {"verilator": 150, "icarus": 60}
SLOW_GROUP_ARRAYS = (Array(8, 4, 2, (), group=4), Array(4, 2, 1, ((1, 4),), group=1))
SLOW_ARRAYS = (Array(1, 1, 2, SAT_MODES), SAT_3X5, SAT_8X8,
               Array(4, 8, 4, ((1, 2), (4, 8), (1, 16))), Array(3, 2, 2, ((2, 4),)))
SLOW_TILES = 2000


def _wrap_in_default_run(sim: str, array: Array) -> bool:
    return sim == "verilator" or array.rows * array.cols <= 4


def array_spec(rows: int, cols: int, p: int, modes: tuple[NM, ...],
               group: int = 0) -> AcceleratorSpec:
    """A minimal ``os`` spec of a ``rows x cols`` array of ``p``-multiplier PEs with N:M
    ``modes`` and group skipping of ``group`` output channels (0: none)."""
    return AcceleratorSpec(
        name=f"rtl-{rows}x{cols}-P{p}",
        compute=ComputeSpec(rows=rows, cols=cols, multipliers_per_pe=p),
        sparsity=SparsitySupport(nm=tuple(NMSupport(n=n, m=m) for n, m in modes),
                                 group_size=group),
        buffers=(("shared", BufferSpec(size_bytes=1 << 16, read_bytes_per_cycle=64,
                                       write_bytes_per_cycle=64)),),
        dram=DramSpec(bandwidth_gb_per_s=10.0),
        precision=PrecisionSpec(),
        energy=DEFAULT_ENERGY,
    )


def array_params(array: Array) -> RtlParams:
    return rtl_params(array_spec(array.rows, array.cols, array.p, array.modes, array.group))


# ---- cocotb side -----------------------------------------------------------------------------

MIX = "mix"
GROUP_RUN = "group"


def _mode_env() -> list[int] | str | None:
    """``SPARSIM_RTL_NM``: ``[n, m]``, ``null`` (dense) or ``"mix"`` (JSON)."""
    return json.loads(os.environ.get("SPARSIM_RTL_NM", "null"))


def _run_kind() -> str:
    """``"mix"`` (mode switching), ``"group"`` (group skipping) or ``"mode"`` (one mode)."""
    env = _mode_env()
    return env if isinstance(env, str) else "mode"


def _config() -> tuple[RtlParams, NM | None]:
    """The parameters and the mode (``None``: dense) this simulation runs; the mode-switching
    and group runs report dense (for ``parameters_match_spec``)."""
    params = RtlParams(**json.loads(os.environ["SPARSIM_RTL_PARAMS"]))
    if _run_kind() != "mode":
        return params, None
    nm = _mode_env()
    return params, None if nm is None else (int(nm[0]), int(nm[1]))


ONE_MODE = _run_kind() != "mode"  # skip flag of the per-mode tests in the other runs


def _rng(dut, salt: int) -> np.random.Generator:
    seed = int(os.environ.get("SPARSIM_SEED") or cocotb.RANDOM_SEED)
    dut._log.info("seed %d (replay with SPARSIM_SEED=%d)", seed, seed)
    return np.random.default_rng([seed, salt])


async def _bench(dut) -> tuple[ArrayBench, RtlParams, NM | None]:
    params, nm = _config()
    bench = ArrayBench(dut, params)
    await bench.start()
    return bench, params, nm


def _costs(p: RtlParams, steps: list[int]) -> np.ndarray:
    """``simulator.tile.tile_costs`` of back-to-back ``os`` tiles of ``steps`` on this array:
    the cycles the engines charge each tile (the first pays its whole latency). The RTL
    overlaps a tile's skew and drain with the next tile's stream: ``fold_overlap=True``."""
    return tile_costs("os", p.ROWS, p.COLS, np.asarray(steps, dtype=np.int64),
                      fold_overlap=True)


def _formula(p: RtlParams, steps: int) -> int:
    """Cycles of one tile on an idle array, as the simulator charges it."""
    return int(_costs(p, [steps])[0])


def _check_sequence(p: RtlParams, tiles: list[Tile], done: dict) -> None:
    """Every tile's last row at the cumulative ``tile_costs`` from the first tile's step 0."""
    expect = np.cumsum(_costs(p, [len(t.steps) for t in tiles]))
    start = done[0].first_accept
    got = np.array([done[i].last_row - start + 1 for i in range(len(tiles))])
    assert np.array_equal(got, expect), (
        f"last rows at cycles {got.tolist()} from the first step; simulator.tile.tile_costs "
        f"gives {expect.tolist()} for steps {[len(t.steps) for t in tiles]}")


@cocotb.test()
async def parameters_match_spec(dut) -> None:
    """The DUT was elaborated with exactly the parameters ``rtl_params`` derived."""
    params, _ = _config()
    for name, value in params.as_verilog_parameters().items():
        got = getattr(dut, name).value.to_signed()
        assert got == value, f"parameter {name}: DUT has {got}, rtl_params says {value}"


@cocotb.test(skip=ONE_MODE)
async def random_tiles_match_model(dut) -> None:
    """Hundreds of random tiles (ragged edges, random K), streamed back to back with random
    idle gaps: values equal the functional model; cycles equal the simulator's single-tile
    charge plus the cycles the tile's steps were held up (stall or idle)."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 1)
    tiles = random_tiles(p, [nm], int(os.environ["SPARSIM_RTL_TILES"]), rng)
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


@cocotb.test(skip=ONE_MODE)
async def cycles_equal_tile_formula(dut) -> None:
    """One tile at a time from an idle array, for K around multiples of a step: its steps are
    ``simulator.tile.k_steps(K, P, nm)`` and its cycles the simulator's charge, exactly."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 2)
    per_step = k_per_step(p.P, nm)
    for k in sorted({1, per_step - 1, per_step, per_step + 1, 3 * per_step, 5 * per_step + 3}):
        if k < 1:
            continue
        x = rng.integers(-128, 128, (k, p.COLS), dtype=np.int8)
        (tile,) = gemm_tiles(f"K={k}", p, nm, p.ROWS, k, x, rng)
        assert len(tile.steps) == k_steps(k, p.P, nm), f"K={k}: {len(tile.steps)} steps"
        (obs,) = (await bench.run([tile])).values()
        expect = _formula(p, int(k_steps(k, p.P, nm)))
        assert obs.lost_cycles == 0 and obs.cycles == expect, (
            f"K={k}: {obs.cycles} cycles, simulator.tile gives {expect}")


@cocotb.test(skip=ONE_MODE)
async def back_to_back_tiles(dut) -> None:
    """Tiles streamed with no idle cycle, some shorter than ROWS steps: tile t's last output row
    is sampled exactly ``sum(tile_costs(...)[:t+1])`` cycles after the first tile's first step
    (``simulator.tile.tile_costs``, the per-tile charge of both engines)."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 3)
    per_step = k_per_step(p.P, nm)
    tiles = []
    for i, steps in enumerate([p.ROWS, p.ROWS + 3, 1, 1, 2, p.ROWS + 1, 1, p.ROWS]):
        k = steps * per_step - int(rng.integers(0, per_step))
        x = rng.integers(-128, 128, (k, p.COLS), dtype=np.int8)
        tiles.extend(gemm_tiles(f"b2b#{i}", p, nm, p.ROWS, k, x, rng))
    done = await bench.run(tiles)
    _check_sequence(p, tiles, done)


@cocotb.test(skip=_run_kind() != MIX)
async def modes_switch_between_back_to_back_tiles(dut) -> None:
    """Random GEMMs, each in a random mode (dense or any built-in N:M), their tiles streamed
    back to back with no idle cycle, so consecutive tiles differ in mode while the previous
    tile's skew and drain are still in flight; some tiles are shorter than ROWS steps. Values
    equal the functional model and every last row comes at the cumulative
    ``simulator.tile.tile_costs``, each tile's steps from ``k_steps`` of its own mode."""
    bench, p, _ = await _bench(dut)
    rng = _rng(dut, 8)
    modes = [None, *p.modes]
    tiles = random_tiles(p, modes, int(os.environ["SPARSIM_RTL_TILES"]), rng)
    tiles = [tiles[i] for i in rng.permutation(len(tiles))]  # GEMMs interleaved: modes switch
    for i in range(0, len(tiles), 7):  # a one-step tile in a random mode every few tiles
        nm = modes[int(rng.integers(0, len(modes)))]
        k = int(rng.integers(1, k_per_step(p.P, nm) + 1))
        x = rng.integers(-128, 128, (k, p.COLS), dtype=np.int8)
        tiles.insert(i, next(gemm_tiles(f"short#{i}", p, nm, p.ROWS, k, x, rng)))
    switches = sum(a.mode != b.mode for a, b in itertools.pairwise(tiles))
    assert switches >= len(tiles) // 4, f"only {switches} mode switches in {len(tiles)} tiles"
    done = await bench.run(tiles)
    _check_sequence(p, tiles, done)
    dut._log.info("%d tiles in %d modes, %d mode switches, bit-exact and on the cycle",
                  len(tiles), len(modes), switches)


@cocotb.test(skip=_run_kind() != GROUP_RUN)
async def group_skipping_tiles(dut) -> None:
    """Group-pruned GEMMs (``GROUP`` output channels share their kept K positions) at random
    densities, tiles streamed back to back: values equal ``accel.functional.group_gemm``; each
    tile's steps are ``k_steps`` of ``simulator.tile.group_kept_per_tile`` (the simulator's
    group-skipping count: the slowest group of the row fold) and every last row comes at the
    cumulative ``tile_costs``."""
    bench, p, _ = await _bench(dut)
    rng = _rng(dut, 9)
    tiles: list[Tile] = []
    expected_steps: list[int] = []
    while len(tiles) < int(os.environ["SPARSIM_RTL_TILES"]):
        rows = int(rng.integers(1, 3 * p.ROWS + 1))
        cols = int(rng.integers(1, 2 * p.COLS + 1))
        k = int(rng.integers(1, 12 * p.P + 1))
        density = float(rng.choice([0.125, 0.25, 0.5, 0.75, 1.0]))
        w, mask = group_weight(rows, k, p.GROUP, density, rng)
        x = rng.integers(-128, 128, (k, cols), dtype=np.int8)
        new = list(group_tiles(f"group#{len(tiles)}@{density}", p, w, mask, x, rng))
        kept = group_kept_per_tile(mask.T, p.ROWS, p.GROUP)
        col_tiles = -(-cols // p.COLS)
        steps = np.repeat(k_steps(np.maximum(kept, 1), p.P, None), col_tiles)
        assert [len(t.steps) for t in new] == steps.tolist(), (
            f"testbench steps {[len(t.steps) for t in new]}, simulator {steps.tolist()}")
        tiles.extend(new)
        expected_steps.extend(steps.tolist())
    done = await bench.run(tiles)
    _check_sequence(p, tiles, done)
    dut._log.info("%d group-skipping tiles bit-exact and on the cycle", len(tiles))

@cocotb.test(skip=ONE_MODE)
async def corner_values(dut) -> None:
    """All zeros, and int8 extremes (-128 and 127 in every combination)."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 4)
    k = 4 * k_per_step(p.P, nm) + 1
    tiles = []
    for wv, xv in ((0, 0), (0, -128), (-128, -128), (-128, 127), (127, 127)):
        w = np.full((p.ROWS, k), wv, np.int8)
        if nm is not None:
            w[:, np.arange(k) % nm[1] >= nm[0]] = 0
        x = np.full((k, p.COLS), xv, np.int8)
        tiles.extend(gemm_tiles(f"w={wv},x={xv}", p, nm, p.ROWS, k, x, rng, w=w))
    await bench.run(tiles)


@cocotb.test(skip=ONE_MODE or os.environ.get("SPARSIM_RTL_WRAP") == "0")
async def accumulator_wraps(dut) -> None:
    """A tile long enough that the int32 accumulator wraps: weight w_r = -128 or 127 per row,
    activation a_c = -128 or 127 per column, every working multiplier busy, so
    Y[r, c] = wrap32(steps * used * w_r * a_c) (closed form, int32 wrap from ``accel.numeric``;
    ``used`` = P dense, (P // n) * n in n:m mode). 2**17 / used cycles: Icarus runs it on 2x2
    arrays only, outside the slow sweep."""
    bench, p, nm = await _bench(dut)
    used = p.P if nm is None else (p.P // nm[0]) * nm[0]
    w_rows = np.where(np.arange(p.ROWS) % 2 == 0, -128, 127)
    a_cols = np.where(np.arange(p.COLS) % 3 == 0, -128, 127)
    steps = -(-(2**31) // (used * 128 * 128)) + 3
    expected = wrap_int32(steps * used * np.outer(w_rows, a_cols).astype(np.int64))
    lanes = np.repeat(a_cols[:, None], p.LANES, axis=1)
    m = 2 if nm is None else nm[1]
    fields = [j % (nm[0] if nm else 1) for j in range(used)]  # index j of its group: j % n
    step = Step(
        w_val=sum(pack_group_values([int(w)] * used) << (r * p.P * p.DATA_W)
                  for r, w in enumerate(w_rows)),
        w_idx=sum(pack_group_indices(fields, m) << (r * p.P * p.IDX_W) for r in range(p.ROWS)),
        x=pack_group_values(lanes.ravel().tolist()),
    )

    def check(got: np.ndarray) -> None:
        assert np.array_equal(got, expected), f"expected\n{expected}\ngot\n{got}"
        assert not np.array_equal(expected, steps * used * np.outer(w_rows, a_cols)), "no wrap"

    tile = Tile(label="wrap", steps=(step,) * steps, mode=p.mode_index(nm), check=check)
    (obs,) = (await bench.run([tile])).values()
    assert obs.cycles == _formula(p, steps)


@cocotb.test(skip=ONE_MODE)
async def reset_in_the_middle_of_a_tile(dut) -> None:
    """Tile A fully accepted (results still in flight), tile B cut short by a reset: neither
    may produce output after the reset; the tiles after it are exact."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 6)
    per_step = k_per_step(p.P, nm)

    def tile(label: str, steps: int) -> Tile:
        x = rng.integers(-128, 128, (steps * per_step, p.COLS), dtype=np.int8)
        return next(gemm_tiles(label, p, nm, p.ROWS, steps * per_step, x, rng))

    cut = replace(tile("B", 6), complete=False)
    cut = replace(cut, steps=cut.steps[:2])
    items = [tile("A", 3), cut, Reset(2), tile("C", 4), tile("D", 1)]
    # A's steps enter at cycles 0..2, B's at 3..4, rst is high from cycle 5: only an array
    # small enough to emit A's last row by cycle 4 shows A (1x1: 4 cycles).
    a_done = [0] if _formula(p, 3) - 1 < 5 else []
    done = await bench.run(items)
    assert sorted(done) == [*a_done, 2, 3], f"tiles with output: {sorted(done)}, expected " \
        f"{[*a_done, 2, 3]} (A=0 only if it finished before the reset, C=2, D=3)"


@cocotb.test(skip=ONE_MODE)
async def one_cycle_reset_clears_the_drain(dut) -> None:
    """A reset held for one cycle while a finished tile's rows fill the drain pipeline (the
    cycle before its first row would appear): every stage of every delay line must clear at
    once, so that tile never shows a row and the next tiles are exact. A delay line that clears
    only its first stage on ``rst`` lets row 0 out right after the reset."""
    bench, p, nm = await _bench(dut)
    rng = _rng(dut, 7)
    per_step = k_per_step(p.P, nm)

    def tile(label: str, steps: int) -> Tile:
        x = rng.integers(-128, 128, (steps * per_step, p.COLS), dtype=np.int8)
        return next(gemm_tiles(label, p, nm, p.ROWS, steps * per_step, x, rng))

    a = tile("A", 3)
    # A's steps enter at cycles 0..2; its row 0 is visible from cycle first_row on, so in cycle
    # first_row - 1 it sits in the drain's next-to-last stage with rows 1.. behind it.
    first_row = _formula(p, 3) - p.ROWS
    items = [a, Idle(first_row - 1 - 3), Reset(1), tile("C", 4), tile("D", 1)]
    done = await bench.run(items)
    assert sorted(done) == [1, 2], f"tiles with output: {sorted(done)}, expected C=1 and D=2"


# ---- pytest side -----------------------------------------------------------------------------


def _mode_name(nm: NM | None) -> str:
    return "dense" if nm is None else f"{nm[0]}:{nm[1]}"


def run_cocotb(sim: str, array: Array, mode: NM | str | None, tiles: int,
               testcase: str | None = None, defines: dict | None = None,
               wrap: bool = True) -> None:
    """Build (or reuse) the model of ``array`` and run this module's cocotb tests on it in
    ``mode`` (an N:M pair, ``None`` for dense, or ``"mix"`` for the mode-switching test)."""
    require_tools(sim)
    params = array_params(array)
    build = Build(sim, params.as_verilog_parameters(), defines or {})
    env = {
        "SPARSIM_RTL_PARAMS": json.dumps(asdict(params)),
        "SPARSIM_RTL_NM": json.dumps(mode),
        "SPARSIM_RTL_TILES": os.environ.get("SPARSIM_RTL_TILES", str(tiles)),
        "SPARSIM_RTL_WRAP": str(int(wrap)),
        # cocotb rewrites asserts of every imported module by default ("*.py"): importing numba
        # through that hook costs seconds per simulation
        "COCOTB_REWRITE_ASSERTION_FILES": "test_*.py _nm_tb.py",
    }
    label = mode if isinstance(mode, str) else _mode_name(mode).replace(":", "of")
    name = label + ("-" + testcase if testcase else "")
    run(build, "tests.rtl.test_nm_pe_array", env, name, testcase)


def _group(sim: str, array: Array) -> pytest.MarkDecorator:
    """Every case of one build shares its xdist group (one worker builds it)."""
    return pytest.mark.xdist_group(Build(sim, array_params(array).as_verilog_parameters()).key)


def _array_cases(arrays: tuple[Array, ...]) -> list:
    """(simulator, array) cases, one xdist group per build."""
    return [pytest.param(sim, a, id=f"{sim}-{a.name}", marks=_group(sim, a))
            for sim in SIMULATORS for a in arrays]  # fmt: skip


def _mode_cases(per_mode: dict) -> list:
    return [pytest.param(sim, array, nm, id=f"{sim}-{array.name}-{_mode_name(nm)}",
                         marks=_group(sim, array))
            for sim in SIMULATORS for array, modes in per_mode[sim] for nm in modes]


@pytest.mark.rtl
@pytest.mark.parametrize(("sim", "array", "nm"), _mode_cases(PER_MODE))
def test_nm_pe_array(sim: str, array: Array, nm: NM | None) -> None:
    """Every per-mode cocotb test in one mode: values, cycles, corners, wrap, resets."""
    wrap = _wrap_in_default_run(sim, array) and nm == array.all_modes()[-1]
    run_cocotb(sim, array, nm, TILES[sim], wrap=wrap)


@pytest.mark.rtl
@pytest.mark.parametrize(("sim", "array"), _array_cases(SWITCHING))
def test_mode_switching(sim: str, array: Array) -> None:
    """Back-to-back tiles that change mode (dense and every N:M of the build)."""
    run_cocotb(sim, array, MIX, TILES[sim])


SLOW_MODES = {sim: tuple((a, a.all_modes()) for a in SLOW_ARRAYS) for sim in SIMULATORS}


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize(("sim", "array", "nm"), _mode_cases(SLOW_MODES))
def test_nm_pe_array_sweep(sim: str, array: Array, nm: NM | None) -> None:
    run_cocotb(sim, array, nm, SLOW_TILES)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize(("sim", "array"), _array_cases(SLOW_ARRAYS))
def test_mode_switching_sweep(sim: str, array: Array) -> None:
    run_cocotb(sim, array, MIX, SLOW_TILES)


@pytest.mark.rtl
@pytest.mark.parametrize(("sim", "array"), _array_cases(GROUP_ARRAYS))
def test_group_skipping(sim: str, array: Array) -> None:
    """Group-sparse tiles (shared zero pattern per group of rows) against the group kernel."""
    run_cocotb(sim, array, GROUP_RUN, GROUP_TILES[sim])


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize(("sim", "array"), _array_cases(SLOW_GROUP_ARRAYS))
def test_group_skipping_sweep(sim: str, array: Array) -> None:
    run_cocotb(sim, array, GROUP_RUN, SLOW_TILES // 4)
