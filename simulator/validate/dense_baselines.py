"""Dense baselines' array cycles against the tile formula worked by hand.

One ragged GEMM, ``m=200, n=100, k=300`` (no dimension a multiple of the array), per dataflow
and fold mode, with the fixed mapper so the orientation is the one the hand count assumes.
The value is the layer's compute cycles (the array's time; DRAM stalls are a separate column).
The expected numbers below are worked by hand from the formulas in ``simulator/tile.py``'s
docstring (fill/skew/drain per tile; back-to-back tiles at least ``rows`` apart):

* ``os`` on 32x32 (array rows = n, cols = m, stream = k): ceil(100/32) x ceil(200/32) = 4 x 7
  = 28 tiles of 300 steps. Overlapped: first tile 300 + 31 + 31 + 32 = 394, then 27 x
  max(300, 32) = 8,100: **8,494**. Serialized: 28 x 394 = **11,032**.
* ``is`` on 32x32 (array rows = k, cols = m, stream = n): ceil(300/32) x ceil(200/32) = 10 x 7
  = 70 tiles streaming 100. Overlapped: 32 + 100 + 31 + 31 = 194, then 69 x 100 = 6,900:
  **7,094**. Serialized: 70 x 194 = **13,580**.
* ``ws`` on 128x128 (array rows = k, cols = n, stream = m): ceil(300/128) x ceil(100/128) = 3
  tiles streaming 200. Overlapped: 128 + 200 + 127 + 127 = 582, then 2 x 200 = 400: **982**.
  Serialized: 3 x 582 = **1,746**.
"""

from __future__ import annotations

from dataclasses import replace

from sparsim.accel.spec import Dataflow
from sparsim.simulator.validate._common import gemm_workload, run, shipped_spec
from sparsim.simulator.validate.claim import Claim, Config, Within

__all__ = ["CLAIMS"]

_M, _N, _K = 200, 100, 300

# (config, dataflow, fold_overlap, hand-worked cycles from the module docstring)
_CASES = (
    ("dense_os_32x32", "os", True, 8_494),
    ("dense_os_32x32", "os", False, 11_032),
    ("dense_os_32x32", "is", True, 7_094),
    ("dense_os_32x32", "is", False, 13_580),
    ("dense_ws_128x128", "ws", True, 982),
    ("dense_ws_128x128", "ws", False, 1_746),
)


def _compute_cycles(accel: str, dataflow: str, fold_overlap: bool) -> float:
    spec = shipped_spec(accel)
    compute = replace(spec.compute, dataflow=Dataflow(dataflow), fold_overlap=fold_overlap)
    result = run(gemm_workload(_M, _N, _K), replace(spec, compute=compute), mapper="fixed")
    return float(sum(layer.compute_cycles for layer in result.layers))


def _claim(accel: str, dataflow: str, fold_overlap: bool, cycles: int) -> Claim:
    mode = "overlapped" if fold_overlap else "serialized"
    return Claim(
        key=f"dense-{dataflow}-{mode}",
        claim=f"The {dataflow} dataflow runs a {_M}x{_N}x{_K} GEMM with {mode} folds in the "
        "cycles of the tile formula worked by hand",
        source="closed form (simulator/validate/dense_baselines.py docstring, after "
        "simulator/tile.py's formulas)",
        config=Config(accel=accel, workload=f"GEMM m={_M} n={_N} k={_K}",
                      options=f"dataflow {dataflow}, fold_overlap {fold_overlap}, "
                      "mapper fixed; compute cycles"),
        simulate=lambda: _compute_cycles(accel, dataflow, fold_overlap),
        target=Within(value=cycles, rel=0.0),
        unit="cycles",
    )


CLAIMS = tuple(_claim(*case) for case in _CASES)
