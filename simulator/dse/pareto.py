"""Pareto fronts, per-design scores and top-k over a sweep's stored rows.

A design's score on an objective is the weighted mean over its workloads (the sweep's workload
weights; a workload of weight 0 is recorded but not scored). Only designs whose every workload
row is ``ok`` are scored. Fronts take any two or three (or more) objectives; maximized ones
(``objectives.MAXIMIZE``) are negated internally so that smaller is always better.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sparsim.simulator.dse.objectives import sign

__all__ = ["design_scores", "pareto_mask", "top_k"]

_CHUNK = 512


def pareto_mask(costs: np.ndarray) -> np.ndarray:
    """Which rows of ``costs`` (points x objectives, smaller is better) no other row dominates.
    A row dominates another when it is no worse on every objective and better on one; equal
    rows do not dominate each other (both stay on the front)."""
    costs = np.asarray(costs, dtype=float)
    n = len(costs)
    keep = np.ones(n, dtype=bool)
    for start in range(0, n, _CHUNK):
        block = costs[start:start + _CHUNK, None, :]  # candidates x 1 x objectives
        no_worse = np.all(costs[None, :, :] <= block, axis=2)
        better = np.any(costs[None, :, :] < block, axis=2)
        keep[start:start + _CHUNK] = ~np.any(no_worse & better, axis=1)
    return keep


def design_scores(
    rows: Sequence[Mapping[str, Any]], objectives: Sequence[str], weights: Mapping[str, float]
) -> dict[str, dict[str, float]]:
    """Design key -> objective -> weighted mean over its workloads, for designs whose rows are
    all ``ok`` and cover every workload of ``weights`` (workload name -> weight)."""
    by_design: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_design[row["design"]].append(row)
    out = {}
    for design, own in by_design.items():
        if len(own) < len(weights) or any(r["status"] != "ok" for r in own):
            continue
        total = sum(weights[r["workload"]] for r in own)
        out[design] = {
            name: sum(weights[r["workload"]] * r[name] for r in own) / total
            for name in objectives
        }
    return out


def costs_of(scores: Mapping[str, Mapping[str, float]], objectives: Sequence[str]) -> np.ndarray:
    """Designs x objectives, maximized objectives negated (smaller is better)."""
    return np.array([[sign(o) * s[o] for o in objectives] for s in scores.values()]).reshape(
        len(scores), len(objectives)
    )


def front(scores: Mapping[str, Mapping[str, float]], objectives: Sequence[str]) -> list[str]:
    """The design keys on the Pareto front of ``objectives``."""
    keys = list(scores)
    mask = pareto_mask(costs_of(scores, objectives))
    return [k for k, on in zip(keys, mask, strict=True) if on]


def top_k(scores: Mapping[str, Mapping[str, float]], objective: str, k: int) -> list[str]:
    """The ``k`` best designs on ``objective``."""
    return sorted(scores, key=lambda d: sign(objective) * scores[d][objective])[:k]
