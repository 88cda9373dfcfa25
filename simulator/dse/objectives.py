"""What a design point is scored on: one number per (design, workload) row of the store.

Every objective is a column of the result store. ``MAXIMIZE`` names the ones where more is
better; the others are minimized. A design's score over several workloads is the weighted mean
of its rows (the sweep's workload weights).
"""

from __future__ import annotations

from collections.abc import Mapping

from sparsim.simulator.results import RunResult

__all__ = ["MAXIMIZE", "OBJECTIVES", "RESULT_NAMES", "objective_values", "sign"]

OBJECTIVES: Mapping[str, str] = {
    "latency_ms": "run time of the workload, ms (cycles / clock)",
    "cycles": "cycles of the workload",
    "energy_mj": "energy of the workload, mJ",
    "edp_mj_ms": "energy-delay product, mJ x ms",
    "power_mw": "average power, mW (energy / latency)",
    "area_mm2": "design area, mm2 (simulator.dse.area)",
    "speedup": "dense cycles / cycles on the same design",
    "throughput_per_mm2": "workload runs per second per mm2",
    "utilization": "MAC utilization of the matrix passes",
}
MAXIMIZE = frozenset({"speedup", "throughput_per_mm2", "utilization"})

RESULT_NAMES = frozenset(OBJECTIVES) - {"area_mm2"}
"""Objectives known only after simulation (a constraint naming one is checked per row)."""


def sign(name: str) -> float:
    """+1 for a minimized objective, -1 for a maximized one (so smaller is always better)."""
    return -1.0 if name in MAXIMIZE else 1.0


def objective_values(result: RunResult, area_mm2: float) -> dict[str, float]:
    """Every objective of one simulated (design, workload)."""
    totals = result.totals()
    latency_ms = totals["time_ms"]
    energy_mj = totals["energy_total_pj"] * 1e-9
    return {
        "latency_ms": latency_ms,
        "cycles": float(totals["cycles"]),
        "energy_mj": energy_mj,
        "edp_mj_ms": energy_mj * latency_ms,
        "power_mw": energy_mj / latency_ms * 1e3 if latency_ms else 0.0,
        "area_mm2": area_mm2,
        "speedup": totals["speedup"],
        "throughput_per_mm2": 1e3 / latency_ms / area_mm2 if latency_ms and area_mm2 else 0.0,
        "utilization": totals["utilization"],
    }
