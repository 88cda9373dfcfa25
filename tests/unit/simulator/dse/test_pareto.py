"""Pareto fronts against a brute-force check on random points (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsim.simulator.dse.pareto import design_scores, front, pareto_mask


def _brute_force(points: list[tuple[int, ...]]) -> list[bool]:
    """The definition, pair by pair: p is kept unless some q is <= everywhere and < once."""
    def dominates(q: tuple[int, ...], p: tuple[int, ...]) -> bool:
        pairs = list(zip(q, p, strict=True))
        return all(a <= b for a, b in pairs) and any(a < b for a, b in pairs)

    return [not any(dominates(q, p) for q in points) for p in points]


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 3).flatmap(lambda k: st.lists(
    st.tuples(*[st.integers(0, 6)] * k), min_size=1, max_size=40)))
def test_front_matches_brute_force(points: list[tuple[int, ...]]) -> None:
    # small integer ranges: many ties and duplicates, the cases a front gets wrong
    assert pareto_mask(np.array(points)).tolist() == _brute_force(points)


def test_maximized_objective_is_negated() -> None:
    scores = {"a": {"latency_ms": 1.0, "speedup": 1.0}, "b": {"latency_ms": 2.0, "speedup": 3.0},
              "c": {"latency_ms": 2.0, "speedup": 2.0}}
    # c has b's latency and less speedup: dominated; a and b trade off
    assert front(scores, ["latency_ms", "speedup"]) == ["a", "b"]


def test_design_scores_weighted_and_complete() -> None:
    rows = [
        {"design": "d", "workload": "x", "status": "ok", "latency_ms": 1.0},
        {"design": "d", "workload": "y", "status": "ok", "latency_ms": 4.0},
        {"design": "e", "workload": "x", "status": "ok", "latency_ms": 1.0},
        {"design": "e", "workload": "y", "status": "infeasible", "latency_ms": None},
    ]
    scores = design_scores(rows, ["latency_ms"], {"x": 1.0, "y": 3.0})
    assert scores == {"d": {"latency_ms": (1 * 1.0 + 3 * 4.0) / 4}}  # e is not all ok
