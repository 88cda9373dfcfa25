"""Sparse CNN inference on a phone CPU core (``mobile_cpu``: a Snapdragon 855 prime core,
``simulator.simd``).

* **XNNPACK / Fast Sparse ConvNets** (Elsen et al., CVPR 2020): sparse MobileNet v1 and v2 run
  1.3-2.4x faster than dense at 70-90% weight sparsity (Snapdragon 835). XNNPACK sparsifies
  only the 1x1 convs, and switches to its sparse kernels only when they hold at least
  two-thirds zeros (``src/subgraph.c``). Rows: each network at 80% zeros on its 1x1 convs (the
  middle of the published sparsity range) inside 1.3-2.4x (tolerance: the range); the 1x1
  kernel's break-even near two-thirds zeros, which is the *calibration* of
  ``stall_cycles_per_index`` (``configs/mobile_cpu.yaml``), measured here by sweeping a 1x1
  conv's zeros on a 1% grid (±5%); a 1x1 conv at 10% zeros is not faster than dense (the
  array specs' unstructured support made it so).
* **SparseByteNN** (Xu et al., arXiv 2310.19509): 30%-sparse MobileNet-v1 runs 1.27x faster
  than dense on the Snapdragon 855 (±10%), with fine-grained group sparsity: here ``group4:30%``
  on every weighted layer a group pattern fits (the depthwise convs stay dense); and the
  compute-only ceiling 1 / 0.7 as an upper bound.

The Snapdragon 835's Cortex-A73 is not modelled; the XNNPACK rows are ratios on the 855 core.
"""

from __future__ import annotations

from functools import cache

from sparsim.simulator.results import RunResult
from sparsim.simulator.validate._common import run, shipped_spec
from sparsim.simulator.validate.claim import AtMost, Between, Claim, Config, Within
from sparsim.workloads.layer import Layer, Workload
from sparsim.workloads.ops import Conv2d
from sparsim.workloads.recipe import apply_recipe, recipe_from_flags
from sparsim.workloads.registry import get_workload
from sparsim.workloads.sparsity import Unstructured

__all__ = ["CLAIMS", "break_even_zeros", "network_speedup"]

_ACCEL = "mobile_cpu"
_FSC = ("Elsen et al., Fast Sparse ConvNets, CVPR 2020, abstract; XNNPACK src/subgraph.c "
        "(sparse inference at >= 2/3 zeros in the 1x1 convs)")  # fmt: skip
_SBN = "Xu et al., SparseByteNN, arXiv 2310.19509, abstract"
_SBN_MISS = (
    "the group kernel's per-index cost is assumed equal to XNNPACK's calibrated 9.12 stall "
    "cycles, so a 16x4 group kernel costs 1.8x dense per kept MAC and breaks even only at 45% "
    "zeros: at 30% every layer runs dense. SparseByteNN's 1.27x implies about 1.1x dense per "
    "kept MAC; the model lacks its kernel (register tile, index encoding, what its channel "
    "rearrangement saves per index), which the paper's abstract does not give"
)


@cache
def network_speedup(model: str, sparsity: str, only: str | None = None,
                    skip: str | None = None) -> float:  # fmt: skip
    """Dense over sparse cycles of ``model`` on ``mobile_cpu`` with ``--sparsity sparsity
    [--only only] [--skip skip]`` (once per arguments: two claims read the same run)."""
    workload, _ = apply_recipe(get_workload(model), recipe_from_flags(sparsity, only, skip))
    result: RunResult = run(workload, shipped_spec(_ACCEL))
    return result.speedup


def _pointwise(zeros: float) -> Workload:
    """A 1x1 conv 256 -> 256 on 12 x 16 pixels (whole register tiles: 192 = 32 x 6)."""
    conv = Conv2d(batch=1, in_channels=256, out_channels=256, height=12, width=16,
                  kernel=(1, 1))  # fmt: skip
    layer = Layer(name="pw", op=conv, weight_sparsity=Unstructured(density=1 - zeros))
    return Workload(name="pw", layers=(layer,))


def _faster(zeros: float) -> bool:
    (layer,) = run(_pointwise(zeros), shipped_spec(_ACCEL)).layers
    return layer.cycles < layer.dense_cycles


def break_even_zeros() -> float:
    """The fewest zeros (1% grid) at which the sparse 1x1 conv beats dense, 1.0 if none."""
    return next((z / 100 for z in range(1, 100) if _faster(z / 100)), 1.0)


def _speedup_at(zeros: float) -> float:
    (layer,) = run(_pointwise(zeros), shipped_spec(_ACCEL)).layers
    return layer.dense_cycles / layer.cycles


_SBN_CONFIG = Config(accel=_ACCEL, workload="mobilenet_v1", sparsity="group4:30%",
                     options="--skip depthwise; whole-network speedup over dense")  # fmt: skip


def _fsc_claim(model: str) -> Claim:
    return Claim(
        key=f"xnnpack-{model.replace('_', '-')}-80",
        claim=f"Sparse {model.replace('_', ' ')} runs 1.3-2.4x faster than dense at 70-90% "
        "sparsity (checked at 80% zeros on the 1x1 convs, XNNPACK's sparse operators)",
        source=_FSC,
        config=Config(accel=_ACCEL, workload=model, sparsity="unstructured:80%",
                      options="--only conv1x1; whole-network speedup over dense"),
        simulate=lambda: network_speedup(model, "unstructured:80%", only="conv1x1"),
        target=Between(low=1.3, high=2.4),
    )


CLAIMS = (
    Claim(
        key="xnnpack-1x1-break-even",
        claim="XNNPACK's sparse 1x1 kernels beat dense only beyond about two-thirds zeros",
        source=_FSC,
        config=Config(accel=_ACCEL, workload="1x1 conv 256->256 on 12x16", sparsity=
                      "unstructured sweep", options="zeros fraction where sparse first wins"),
        simulate=break_even_zeros,
        target=Within(value=2 / 3, rel=0.05),
        unit="zeros",
        calibration="compute.simd.unstructured.stall_cycles_per_index = 9.12, fitted to this "
        "break-even (configs/mobile_cpu.yaml)",
    ),
    Claim(
        key="xnnpack-1x1-10pct-zeros",
        claim="A 1x1 conv with 10% zeros is no faster than dense on a CPU (the break-even "
        "near two-thirds zeros)",
        source=_FSC,
        config=Config(accel=_ACCEL, workload="1x1 conv 256->256 on 12x16",
                      sparsity="unstructured:10%", options="layer speedup over dense"),
        simulate=lambda: _speedup_at(0.10),
        target=AtMost(value=1.0),
    ),
    _fsc_claim("mobilenet_v1"),
    _fsc_claim("mobilenet_v2"),
    Claim(
        key="sparsebytenn-mobilenet-v1-30",
        claim="30%-sparse MobileNet-v1 runs 1.27x faster than its dense version on the "
        "Snapdragon 855",
        source=_SBN,
        config=_SBN_CONFIG,
        simulate=lambda: network_speedup("mobilenet_v1", "group4:30%", skip="depthwise"),
        target=Within(value=1.27, rel=0.10),
        expected_miss=_SBN_MISS,
    ),
    Claim(
        key="sparsebytenn-ceiling",
        claim="At 30% sparsity the compute-only ceiling is 1 / 0.7 = 1.43x",
        source=_SBN + "; the ceiling is arithmetic: 1 / (1 - 0.3)",
        config=_SBN_CONFIG,
        simulate=lambda: network_speedup("mobilenet_v1", "group4:30%", skip="depthwise"),
        target=AtMost(value=1 / 0.7),
    ),
)
