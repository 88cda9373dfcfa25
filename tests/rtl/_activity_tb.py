"""cocotb side of the switching-activity estimate (``tests/rtl/activity.py``): drive one case's
random tiles through ``nm_pe_array`` (traced, so the simulator writes a VCD) and record the work
done.

The case comes as JSON in ``SPARSIM_ACT_CASE``: ``weights`` (the N:M pattern the weights are
pruned to, ``null`` for unpruned), ``mode`` (the mode the array runs, ``null`` dense),
``act_zero`` (fraction of activations set to zero), ``gemms``, ``k``, ``seed``. The summary
(useful MACs: nonzero weight x real column; issued MACs: steps x working multipliers x PEs;
cycles) is written as JSON to ``SPARSIM_ACT_OUT``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from sparsim.accel.rtl_params import RtlParams

from tests.rtl._nm_tb import ArrayBench, gemm_tiles, random_nm_weight


def _nm(value: list[int] | None) -> tuple[int, int] | None:
    return None if value is None else (int(value[0]), int(value[1]))


@cocotb.test()
async def activity_tiles(dut) -> None:
    """Random GEMMs of one case, tiles back to back; values are checked as in every test."""
    case = json.loads(os.environ["SPARSIM_ACT_CASE"])
    p = RtlParams(**json.loads(os.environ["SPARSIM_RTL_PARAMS"]))
    weights, mode = _nm(case["weights"]), _nm(case["mode"])
    rng = np.random.default_rng(case["seed"])
    bench = ArrayBench(dut, p)
    await bench.start()
    tiles, useful = [], 0
    for g in range(case["gemms"]):
        k = case["k"]
        w = (rng.integers(-128, 128, (p.ROWS, k), dtype=np.int8) if weights is None
             else random_nm_weight(p.ROWS, k, weights[0], weights[1], rng))
        x = rng.integers(-128, 128, (k, p.COLS), dtype=np.int8)
        x[rng.random(x.shape) < case["act_zero"]] = 0
        useful += int(np.count_nonzero(w)) * p.COLS
        tiles.extend(gemm_tiles(f"act#{g}", p, mode, p.ROWS, k, x, rng, w=w, quiet=True))
    start = bench.cycle
    await bench.run(tiles)
    used = p.P if mode is None else (p.P // mode[0]) * mode[0]
    steps = sum(len(t.steps) for t in tiles)
    summary = {"useful_macs": useful, "issued_macs": steps * used * p.ROWS * p.COLS,
               "steps": steps, "tiles": len(tiles), "cycles": bench.cycle - start}
    Path(os.environ["SPARSIM_ACT_OUT"]).write_text(json.dumps(summary))
