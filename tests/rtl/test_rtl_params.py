"""``accel.rtl_params``: accelerator spec -> Verilog parameters of ``nm_pe_array``."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sparsim.accel.loader import load_spec
from sparsim.accel.rtl_params import RtlParams, rtl_params
from sparsim.accel.spec import SparsitySupport

from tests.rtl.test_nm_pe_array import array_spec


def test_sat_2of4_maps_its_array_and_ratio() -> None:
    sat = load_spec("sat")  # configs/sat.yaml: 32x32 PEs, 2 multipliers, 2:4 / 2:8 / 1:8
    assert rtl_params(sat, (2, 4)) == RtlParams(ROWS=32, COLS=32, N=2, M=4, IDX_W=2)
    assert rtl_params(sat, (2, 8)).IDX_W == 3  # ceil(log2 8)


def test_dense_mode_uses_the_first_ratio_the_pe_is_built_for() -> None:
    assert rtl_params(load_spec("sat"), None) == rtl_params(load_spec("sat"), (2, 4))


def test_verilog_parameters_in_declaration_order() -> None:
    params = rtl_params(array_spec(4, 8, (1, 4)), (1, 4)).as_verilog_parameters()
    assert params == {"ROWS": 4, "COLS": 8, "N": 1, "M": 4, "DATA_W": 8, "ACC_W": 32, "IDX_W": 2}


@pytest.mark.parametrize(
    ("nm", "match"),
    [((1, 8), "n must equal compute.multipliers_per_pe=2, not 1"),
     ((2, 16), "2:16 along k is not supported")],
)
def test_ratios_the_rtl_cannot_run_are_rejected(nm: tuple[int, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rtl_params(load_spec("sat"), nm)


def test_dense_only_spec_is_rejected() -> None:
    dense = replace(array_spec(2, 2, (2, 4)), sparsity=SparsitySupport())
    with pytest.raises(ValueError, match="needs a supported N:M along k"):
        rtl_params(dense, None)


def test_non_int8_datapath_is_rejected() -> None:
    spec = array_spec(2, 2, (2, 4))
    fp16 = replace(spec, precision=replace(spec.precision, weight="fp16"))
    with pytest.raises(ValueError, match="int8 x int8"):
        rtl_params(fp16, (2, 4))
