"""Static and negative checks of the RTL: Verilator lint on every parameter set the tests build,
the RTL's own parameter checks, and a deliberately broken variant that the cocotb tests must
catch (proof that they can fail)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.rtl._sim import TOPLEVEL, Build, failures, missing_tools, require_tools, rtl_sources
from tests.rtl.test_nm_pe_array import (
    GROUP_ARRAYS,
    PER_MODE,
    SAT_2X2,
    SLOW_ARRAYS,
    SLOW_GROUP_ARRAYS,
    SWITCHING,
    array_params,
    run_cocotb,
)


def _parameter_sets() -> list[dict[str, int]]:
    """Every array the default run or the slow sweep builds."""
    arrays = [*SWITCHING, *SLOW_ARRAYS, *GROUP_ARRAYS, *SLOW_GROUP_ARRAYS,
              *(a for cases in PER_MODE.values() for a, _ in cases)]
    sets = {}
    for array in arrays:
        params = array_params(array).as_verilog_parameters()
        sets[Build("lint", params).key] = params
    return list(sets.values())


@pytest.mark.rtl
@pytest.mark.parametrize("params", _parameter_sets(), ids=lambda p: Build("lint", p).key[5:])
def test_verilator_lint_is_clean(params: dict[str, int]) -> None:
    require_tools("verilator")
    command = ["verilator", "--lint-only", "-Wall", "--top-module", TOPLEVEL,
               *(f"-G{k}={v}" for k, v in params.items()), *map(str, rtl_sources())]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    messages = [line for line in (result.stdout + result.stderr).splitlines()
                if line.startswith("%")]
    assert result.returncode == 0 and not messages, "\n".join(messages)


@pytest.mark.rtl
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"P": 4, "MODE_N": 4, "MODE_M": 4}, "N must be in [1, M), not N=4 M=4"),
        ({"MODE_M": 6, "LANES": 6, "IDX_W": 3}, "M must be a power of two in [2, 16], not 6"),
        ({"MODE_M": 32, "LANES": 32, "IDX_W": 5}, "M must be a power of two in [2, 16], not 32"),
        ({"IDX_W": 3}, "IDX_W must be 2, not 3"),
        ({"GROUP": 3, "ROWS": 4}, "GROUP must divide ROWS=4, not 3"),
        ({"LANES": 8}, "LANES must be 4, not 8"),
        ({"MODE_N": 3, "P": 2, "MODE_M": 8, "LANES": 8, "IDX_W": 3},
         "3:8 needs at least 3 multipliers, not P=2"),
        ({"NUM_MODES": 2, "MODE_N": 2 | 1 << 8, "MODE_M": 4 | 8 << 8, "LANES": 16, "IDX_W": 3},
         "MODE_W must be max(1, clog2(NUM_MODES+1))"),
    ],
)
def test_rtl_rejects_illegal_parameters(
    overrides: dict[str, int], message: str, tmp_path: Path
) -> None:
    """The ``initial`` block stops elaboration-time-legal but meaningless parameter sets
    (defaults: P=2, one 2:4 mode, LANES=4, IDX_W=2, MODE_W=1)."""
    require_tools("icarus")
    image = tmp_path / "bad.vvp"
    params = [f"-P{TOPLEVEL}.{k}={v}" for k, v in overrides.items()]
    subprocess.run(["iverilog", "-g2012", "-o", str(image), "-s", TOPLEVEL, *params,
                    *map(str, rtl_sources())], check=True)
    result = subprocess.run(["vvp", "-n", str(image)], capture_output=True, text=True,
                            check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


@pytest.mark.rtl
@pytest.mark.xdist_group("broken-variant")
def test_broken_variant_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    """``BROKEN_SWAP_IDX`` makes multiplier j of a group read its mirror's index field
    (n-1-j): the random-tile test must fail, with expected and actual values in its message."""
    sim = next((s for s in ("icarus", "verilator") if missing_tools(s) is None), None)
    if sim is None:
        pytest.skip("no simulator")
    with pytest.raises(SystemExit):
        run_cocotb(sim, SAT_2X2, (2, 4), 30, testcase="random_tiles_match_model",
                   defines={"BROKEN_SWAP_IDX": 1})
    build = Build(sim, array_params(SAT_2X2).as_verilog_parameters(), {"BROKEN_SWAP_IDX": 1})
    found = failures(build.directory / "2of4-random_tiles_match_model.results.xml")
    with capsys.disabled():
        print("\nbroken variant failure:", *found, sep="\n  ")
    assert found and "elements differ" in found[0] and "expected" in found[0]


@pytest.mark.rtl
@pytest.mark.xdist_group("broken-reset")
def test_broken_reset_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    """``BROKEN_RESET_FIRST_STAGE`` makes ``nm_delay`` clear only its first stage on ``rst``
    (a reset that needs one cycle per stage): the one-cycle reset test must fail."""
    sim = next((s for s in ("icarus", "verilator") if missing_tools(s) is None), None)
    if sim is None:
        pytest.skip("no simulator")
    defines = {"BROKEN_RESET_FIRST_STAGE": 1}
    test = "one_cycle_reset_clears_the_drain"
    with pytest.raises(SystemExit):
        run_cocotb(sim, SAT_2X2, (2, 4), 0, testcase=test, defines=defines)
    build = Build(sim, array_params(SAT_2X2).as_verilog_parameters(), defines)
    found = failures(build.directory / f"2of4-{test}.results.xml")
    with capsys.disabled():
        print("\nbroken reset failure:", *found, sep="\n  ")
    assert found and "before C[2:4]@(0,0) was fully accepted" in found[0]
