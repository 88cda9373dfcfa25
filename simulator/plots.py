"""PNG plots of a ``RunResult``: per-layer compute vs stall cycles, energy by component, roofline.

Figures are built with ``matplotlib.figure.Figure`` and rendered by the Agg canvas directly, so
no GUI backend or pyplot global state is touched (safe in worker processes and threads).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sparsim.simulator.files import atomic_write
from sparsim.simulator.results import ENERGY_COMPONENTS, Pass, RunResult

if TYPE_CHECKING:
    from sparsim.accel.spec import AcceleratorSpec

__all__ = [
    "RooflineData",
    "breakdown_figure",
    "dram_bytes",
    "energy_figure",
    "roofline_data",
    "roofline_figure",
    "save_png",
    "write_plots",
]

_MAX_TICK_LABELS = 60  # beyond this many bars, per-bar labels overlap and are dropped
_PIE_LABEL_MIN = 0.03  # smaller pie slices would overprint each other's labels


def save_png(fig: Figure, path: str | Path) -> Path:
    """Render ``fig`` with Agg into ``path`` atomically."""
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))


def _row_labels(run: RunResult) -> list[str]:
    return [f"{r.layer}:{r.pass_.value}" for r in run.layers]


def _label_bars(ax, labels: list[str]) -> None:
    if len(labels) <= _MAX_TICK_LABELS:
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
    else:
        ax.set_xlabel(f"(layer, pass) in execution order, {len(labels)} rows")


STALL_CLASSES = (("DRAM", "tab:red"), ("buffer port", "tab:orange"),
                 ("array fill/drain, latency", "tab:gray"))  # fmt: skip
"""How ``breakdown_figure`` colours stall cycles: by what bound the (layer, pass)."""


def stall_class(bound: str) -> str:
    """The ``STALL_CLASSES`` name of a layer's bound (``LayerResult.bound``): its stalls wait
    on DRAM, on a buffer port, or (compute-bound) on the array's fill and drain and on
    exposed transfers."""
    if bound == "DRAM":
        return "DRAM"
    return "buffer port" if bound.endswith(" port") else "array fill/drain, latency"


def breakdown_figure(run: RunResult) -> Figure:
    """Stacked bars per (layer, pass): compute cycles, then stall cycles on top, coloured by
    what bound the pass (``stall_class``)."""
    compute = np.array([r.compute_cycles for r in run.layers], dtype=float)
    stall = np.array([r.stall_cycles for r in run.layers], dtype=float)
    kind = np.array([stall_class(r.bound) for r in run.layers])
    x = np.arange(len(run.layers))
    fig = Figure(figsize=(min(16.0, max(8.0, 0.12 * len(x))), 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.bar(x, compute, label="compute", color="tab:blue", width=0.8)
    for name, color in STALL_CLASSES:
        mine = kind == name
        if mine.any():
            ax.bar(x[mine], stall[mine], bottom=compute[mine], label=f"stall: {name}-bound",
                   color=color, width=0.8)  # fmt: skip
    ax.set_ylabel("cycles")
    ax.set_title(f"{run.workload} ({run.phase}) on {run.accel}: cycles per layer")
    _label_bars(ax, _row_labels(run))
    ax.legend()
    return fig


def _energy_by_pass(run: RunResult) -> dict[Pass, dict[str, float]]:
    out: dict[Pass, dict[str, float]] = {}
    for r in run.layers:
        acc = out.setdefault(r.pass_, dict.fromkeys(ENERGY_COMPONENTS, 0.0))
        for key, value in r.energy_pj:
            acc[key] = acc.get(key, 0.0) + value
    return out


def _energy_pie(ax, energy_pj: dict[str, float]) -> None:
    """Run totals by component; slices under ``_PIE_LABEL_MIN`` are named in the legend only."""
    totals = {k: v for k, v in energy_pj.items() if v > 0}
    whole = sum(totals.values())
    if whole:
        big = 100 * _PIE_LABEL_MIN
        labels = [k if 100 * v / whole >= big else "" for k, v in totals.items()]
        ax.pie(list(totals.values()), labels=labels, startangle=90, counterclock=False,
               autopct=lambda pct: f"{pct:.1f}%" if pct >= big else "")  # fmt: skip
        ax.legend([f"{k} {100 * v / whole:.1f}%" for k, v in totals.items()], fontsize=7,
                  loc="lower left", bbox_to_anchor=(0.9, 0.0))  # fmt: skip
    ax.set_title(f"total {whole / 1e6:.3f} µJ")


def energy_figure(run: RunResult) -> Figure:
    """Left: energy per pass kind stacked by component; right: the run's share per component."""
    by_pass = _energy_by_pass(run)
    fig = Figure(figsize=(11.0, 4.5), layout="constrained")
    bars, pie = fig.subplots(1, 2)
    bottom = np.zeros(len(by_pass))
    for comp in ENERGY_COMPONENTS:
        values = np.array([acc.get(comp, 0.0) for acc in by_pass.values()]) / 1e6
        bars.bar([p.value for p in by_pass], values, bottom=bottom, label=comp)
        bottom += values
    bars.set_ylabel("energy (µJ)")
    bars.legend(fontsize=7)
    _energy_pie(pie, run.energy_pj)
    fig.suptitle(f"{run.workload} ({run.phase}) on {run.accel}: energy by component")
    return fig


def dram_bytes(byte_items: tuple[tuple[str, int], ...]) -> int:
    """DRAM traffic of one result: the sum of its ``dram.*`` entries."""
    return sum(v for k, v in byte_items if k.startswith("dram."))


@dataclass(frozen=True, slots=True, kw_only=True)
class RooflineData:
    """One point per matrix (layer, pass) — results with ``dense_macs > 0``.

    ``intensity_macs_per_byte``: effective MACs per DRAM byte (a pass with no DRAM traffic is
    placed as if it moved one byte, so it stays on the log axis, far right).
    ``macs_per_cycle``: effective MACs per cycle achieved.
    """

    labels: tuple[str, ...]
    intensity_macs_per_byte: np.ndarray
    macs_per_cycle: np.ndarray
    peak_macs_per_cycle: float
    dram_bytes_per_cycle: float

    @property
    def ridge_macs_per_byte(self) -> float:
        """Intensity at which the bandwidth roof meets the compute roof."""
        return self.peak_macs_per_cycle / self.dram_bytes_per_cycle


def roofline_data(run: RunResult, spec: AcceleratorSpec) -> RooflineData:
    """Points of every matrix (layer, pass) against ``spec``'s compute and DRAM roofs."""
    rows = [r for r in run.layers if r.dense_macs > 0]
    macs = np.array([r.effective_macs for r in rows], dtype=float)
    traffic = np.array([max(dram_bytes(r.bytes_by_level), 1) for r in rows], dtype=float)
    cycles = np.array([max(r.cycles, 1) for r in rows], dtype=float)
    return RooflineData(
        labels=tuple(f"{r.layer}:{r.pass_.value}" for r in rows),
        intensity_macs_per_byte=macs / traffic,
        macs_per_cycle=macs / cycles,
        peak_macs_per_cycle=float(spec.compute.peak_macs_per_cycle),
        dram_bytes_per_cycle=spec.dram.bytes_per_cycle(spec.compute.freq_mhz),
    )


def roofline_figure(data: RooflineData, title: str = "roofline") -> Figure:
    """Log-log roofline: ``min(peak, bandwidth × intensity)`` and one dot per matrix pass."""
    fig = Figure(figsize=(7.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    points = data.intensity_macs_per_byte
    lo = min(points.min(initial=1.0), data.ridge_macs_per_byte) / 4
    hi = max(points.max(initial=1.0), data.ridge_macs_per_byte) * 4
    x = np.geomspace(lo, hi, 200)
    roof = np.minimum(data.peak_macs_per_cycle, data.dram_bytes_per_cycle * x)
    ax.plot(x, roof, color="black", label="roof")
    ax.scatter(points, data.macs_per_cycle, s=12, color="tab:orange", label="layer pass")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (effective MACs / DRAM byte)")
    ax.set_ylabel("effective MACs / cycle")
    ax.set_title(title)
    ax.legend()
    return fig


def write_plots(
    run: RunResult, out_dir: str | Path, *, spec: AcceleratorSpec | None = None
) -> list[Path]:
    """``breakdown.png``, ``energy.png`` and, when ``spec`` is given, ``roofline.png``."""
    out_dir = Path(out_dir)
    paths = [
        save_png(breakdown_figure(run), out_dir / "breakdown.png"),
        save_png(energy_figure(run), out_dir / "energy.png"),
    ]
    if spec is not None:
        title = f"{run.workload} ({run.phase}) on {run.accel}: roofline"
        fig = roofline_figure(roofline_data(run, spec), title)
        paths.append(save_png(fig, out_dir / "roofline.png"))
    return paths
