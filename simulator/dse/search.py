"""The NSGA-II sampler (Optuna, the ``dse`` extra) for spaces too large to grid.

Each generation of ``population`` trials is asked from Optuna's ``NSGAIISampler`` (seeded),
evaluated in parallel like any batch, and told the designs' scores (``pareto.design_scores``;
an invalid or infeasible design is told as failed, which NSGA-II leaves out of selection).
Designs already in the store are not run again: their stored scores are told, so a resumed
search with the same seed proposes the same points.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import optuna
from sparsim.simulator.dse.objectives import MAXIMIZE
from sparsim.simulator.dse.pareto import design_scores
from sparsim.simulator.dse.store import Store
from sparsim.simulator.dse.sweep import Design, Sweep
from tqdm import tqdm

__all__ = ["run_nsga2"]


def _study(sweep: Sweep) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.NSGAIISampler(population_size=sweep.sampler.population,
                                            seed=sweep.sampler.seed)  # fmt: skip
    directions = [optuna.study.StudyDirection.MAXIMIZE if o in MAXIMIZE
                  else optuna.study.StudyDirection.MINIMIZE for o in sweep.objectives]
    return optuna.create_study(directions=directions, sampler=sampler)


def _scores(store: Store, sweep: Sweep, keys: set[str]) -> dict[str, dict[str, float]]:
    weights = {w["name"]: w["weight"] for w in json.loads(store.meta["workloads"])}
    marks = ", ".join("?" for _ in keys)
    rows = store.rows(f"WHERE design IN ({marks})", sorted(keys))
    return design_scores(rows, sweep.objectives, weights)


def run_nsga2(sweep: Sweep, store: Store, finished: set[str], bar: tqdm,
              evaluate: Callable[[list[Design]], None]) -> int:  # fmt: skip
    """Search ``sweep.sampler.samples`` trials (plus the base design); ``evaluate`` runs and
    commits a list of designs. Returns how many proposed designs were already stored."""
    study, asked, skipped = _study(sweep), 0, 0
    bar.reset(total=sweep.sampler.samples + 1)
    first = [Design(choice=None)]
    evaluate([d for d in first if d.key(sweep) not in finished])
    bar.update(1)
    while asked < sweep.sampler.samples:
        trials = [study.ask() for _ in range(min(sweep.sampler.population,
                                                  sweep.sampler.samples - asked))]  # fmt: skip
        designs = [Design(choice=tuple(t.suggest_int(a.name, 0, len(a) - 1) for a in sweep.axes))
                   for t in trials]  # fmt: skip
        keys = {d.key(sweep): d for d in designs}
        known = {k for k in keys if k in finished}
        skipped += len(known)
        bar.update(len(known))
        evaluate([d for k, d in keys.items() if k not in known])
        finished |= set(keys)
        scores = _scores(store, sweep, set(keys))
        for trial, design in zip(trials, designs, strict=True):
            score = scores.get(design.key(sweep))
            if score is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, [score[o] for o in sweep.objectives])
        asked += len(trials)
    return skipped
