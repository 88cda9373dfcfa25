"""The ``sparsim`` package root: a small public API, loaded lazily so importing it is cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sparsim.simulator.run import simulate
from sparsim.workloads.sparsity import NM

import sparsim


def test_every_public_name_resolves_to_its_home() -> None:
    for name in sparsim.__all__:
        assert getattr(sparsim, name) is not None
    assert sparsim.simulate is simulate and sparsim.NM is NM


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'simulat'"):
        _ = sparsim.simulat  # type: ignore[attr-defined]


def test_import_sparsim_loads_no_heavy_module() -> None:
    code = ("import sys, sparsim; "
            "print(sorted(m for m in ('numpy', 'numba', 'simpy', 'sparsim.simulator') "
            "if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out == "[]\n"
