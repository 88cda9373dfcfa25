"""What a workload costs on an accelerator: lowering, mapping, analytical and event engines,
energy, results. Start with ``simulate(workload, spec)``."""

from sparsim.simulator.energy import ActionCounts, energy_pj
from sparsim.simulator.lower import Problem, lower
from sparsim.simulator.mapping import Exploit, Mapping, map_problem
from sparsim.simulator.perf import Timing, analytical_timing
from sparsim.simulator.plan import (
    PlannedProblem,
    layer_result,
    overlap_fused,
    plan,
    run_result,
)
from sparsim.simulator.results import ENERGY_COMPONENTS, LayerResult, Pass, RunResult
from sparsim.simulator.run import simulate
from sparsim.simulator.schedule import TileSchedule

__all__ = [
    "ENERGY_COMPONENTS",
    "ActionCounts",
    "Exploit",
    "LayerResult",
    "Mapping",
    "Pass",
    "PlannedProblem",
    "Problem",
    "RunResult",
    "TileSchedule",
    "Timing",
    "analytical_timing",
    "energy_pj",
    "layer_result",
    "lower",
    "map_problem",
    "overlap_fused",
    "plan",
    "run_result",
    "simulate",
]
