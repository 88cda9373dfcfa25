"""Caches shared between designs (``mapping.layout_key``: designs differing only in DRAM share
candidate plans, search grids and tiling options) must not change any result: a design
simulated after its DRAM siblings gives exactly what it gives in a fresh process that never
saw them (the reference: nothing cached)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_SCRIPT = """
import json, sys
from dataclasses import replace
from sparsim.accel.loader import load_spec
from sparsim.simulator.run import simulate
from sparsim.workloads.layer import Phase
from sparsim.workloads.registry import get_workload
from sparsim.workloads.sparsity import NM

mapper, siblings, phase = sys.argv[1], [float(x) for x in sys.argv[2].split(",") if x], sys.argv[3]
base = load_spec("sat")
workload = get_workload("resnet18").with_weight_sparsity(NM(n=2, m=8, transposable=True))
workload = workload.with_phase(Phase(phase))

def on_dram(gb_per_s):
    return replace(base, dram=replace(base.dram, bandwidth_gb_per_s=gb_per_s))

# warm every cache with the same design on other DRAMs
cycles = [simulate(workload, on_dram(gb), mapper=mapper).cycles for gb in siblings]
print(json.dumps({"siblings": cycles,
                  "result": simulate(workload, on_dram(19.2), mapper=mapper).to_dict()}))
"""


def _run(mapper: str, siblings: list[float], phase: str) -> dict:
    argv = [sys.executable, "-c", _SCRIPT, mapper, ",".join(map(str, siblings)), phase]
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize(("mapper", "phase"), [("search", "inference"), ("fixed", "training")])
def test_dram_siblings_share_caches_without_changing_results(mapper: str, phase: str) -> None:
    fresh = _run(mapper, [], phase)["result"]
    warmed = _run(mapper, [2.4, 4.8, 38.4, 76.8], phase)
    assert warmed["result"] == fresh
    # the siblings are really other designs: DRAM-bound layers move with the bandwidth
    assert len({*warmed["siblings"], fresh["total"]["cycles"]}) == 5
