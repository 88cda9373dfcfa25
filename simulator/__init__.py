"""What a workload costs on an accelerator: lowering, mapping, analytical and event engines,
energy, results. Start with ``simulate(workload, spec)``."""

from simulator.energy import ActionCounts, energy_pj
from simulator.lower import Problem, lower
from simulator.mapping import Exploit, Mapping, map_problem
from simulator.perf import Timing, analytical_timing
from simulator.results import ENERGY_COMPONENTS, LayerResult, Pass, RunResult
from simulator.run import PlannedProblem, layer_result, overlap_fused, plan, run_result, simulate
from simulator.schedule import TileSchedule

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
