"""``accel.rtl_params``: accelerator spec -> Verilog parameters of ``nm_pe_array``."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sparsim.accel.loader import load_spec
from sparsim.accel.rtl_params import RtlParams, rtl_params
from sparsim.accel.spec import NMSupport, SparsitySupport

from tests.rtl.test_nm_pe_array import array_spec


def test_sat_builds_every_mode() -> None:
    """configs/sat.yaml: 32x32 PEs, 2 multipliers, 2:4 / 2:8 / 1:8. Widest step: 1:8 runs two
    groups of 8 per cycle, 16 lanes; widest index: m=8, 3 bits; 3 modes + dense: 2 mode bits."""
    params = rtl_params(load_spec("sat"))
    assert params == RtlParams(ROWS=32, COLS=32, P=2, NUM_MODES=3,
                               MODE_N=2 | 2 << 8 | 1 << 16, MODE_M=4 | 8 << 8 | 8 << 16,
                               LANES=16, IDX_W=3, MODE_W=2, GROUP=32)
    assert params.modes == ((2, 4), (2, 8), (1, 8))
    assert [params.mode_index(nm) for nm in (None, (2, 4), (2, 8), (1, 8))] == [0, 1, 2, 3]


def test_verilog_parameters_in_declaration_order() -> None:
    params = rtl_params(array_spec(4, 8, 1, ((1, 4),))).as_verilog_parameters()
    assert params == {"ROWS": 4, "COLS": 8, "P": 1, "NUM_MODES": 1, "MODE_N": 1, "MODE_M": 4,
                      "LANES": 4, "IDX_W": 2, "MODE_W": 1, "DATA_W": 8, "ACC_W": 32,
                      "GROUP": 4}


def test_p_not_divisible_by_n_rounds_groups_down() -> None:
    """P=3 with 2:4: one group per step (3 // 2), so 4 lanes; 1:4 takes 3 groups, 12 lanes."""
    params = rtl_params(array_spec(2, 2, 3, ((2, 4),)))
    assert params.LANES == 4
    assert rtl_params(array_spec(2, 2, 3, ((2, 4), (1, 4)))).LANES == 12


def test_mobile_npu_builds_group_skipping() -> None:
    """configs/mobile_npu.yaml: 16x32 PEs, 2 multipliers, group_size 4, no N:M: a dense-only
    PE (no mode, 1-bit index bus) with one activation port per 4 rows."""
    params = rtl_params(load_spec("mobile_npu"))
    assert params == RtlParams(ROWS=16, COLS=32, P=2, NUM_MODES=0, MODE_N=0, MODE_M=0,
                               LANES=2, IDX_W=1, MODE_W=1, GROUP=4)


def test_group_must_divide_rows() -> None:
    with pytest.raises(ValueError, match=r"group_size=3 to divide compute\.rows=4"):
        rtl_params(array_spec(4, 4, 2, (), group=3))


def test_mode_not_built_in_is_rejected() -> None:
    with pytest.raises(ValueError, match="N:M 2:16 is not built in"):
        rtl_params(load_spec("sat")).mode_index((2, 16))


@pytest.mark.parametrize(
    ("modes", "match"),
    [(((4, 8),), "4:8 needs at least 4 multipliers per PE"),
     (((2, 4), (2, 8), (1, 8), (1, 4), (1, 2)), "at most 4 N:M modes, not 5"),
     (((1, 32),), "m a power of two <= 16")],
)
def test_ratios_the_rtl_cannot_run_are_rejected(modes: tuple, match: str) -> None:
    sat = load_spec("sat")
    spec = replace(sat, sparsity=replace(sat.sparsity,
                                         nm=tuple(NMSupport(n=n, m=m) for n, m in modes)))
    with pytest.raises(ValueError, match=match):
        rtl_params(spec)


def test_dense_only_spec_is_rejected() -> None:
    dense = replace(array_spec(2, 2, 2, ((2, 4),)), sparsity=SparsitySupport())
    with pytest.raises(ValueError, match="neither a supported N:M along k nor a group_size"):
        rtl_params(dense)


def test_non_int8_datapath_is_rejected() -> None:
    spec = array_spec(2, 2, 2, ((2, 4),))
    fp16 = replace(spec, precision=replace(spec.precision, weight="fp16"))
    with pytest.raises(ValueError, match="int8 x int8"):
        rtl_params(fp16)
