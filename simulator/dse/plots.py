"""Sweep plots (matplotlib, Agg; each written as PNG and SVG): the Pareto scatter with its front
and the baseline, speedup against weight sparsity per design, and sensitivity per axis."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

__all__ = ["pareto_plot", "sensitivity_plot", "speedup_plot"]

Scores = Mapping[str, Mapping[str, float]]


def _save(fig: Figure, out: Path, stem: str) -> list[Path]:
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    for path in paths:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return paths


def pareto_plot(scores: Scores, front: Sequence[str], x: str, y: str, out: Path,
                baseline: str = "base") -> list[Path]:  # fmt: skip
    """Every scored design on ``x`` against ``y``; the front drawn as a line, the baseline
    as a star."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    xs = [s[x] for s in scores.values()]
    ys = [s[y] for s in scores.values()]
    ax.scatter(xs, ys, s=8, c="0.7", label=f"designs ({len(scores)})")
    on = sorted(front, key=lambda d: scores[d][x])
    ax.plot([scores[d][x] for d in on], [scores[d][y] for d in on], "o-", c="tab:red", ms=4,
            label=f"Pareto front ({len(on)})")
    if baseline in scores:
        ax.scatter([scores[baseline][x]], [scores[baseline][y]], marker="*", s=200, c="tab:blue",
                   edgecolors="k", zorder=5, label="baseline")  # fmt: skip
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"Pareto front: {x} vs {y}")
    ax.legend(fontsize=8)
    return _save(fig, out, "pareto")


def speedup_plot(rows: Sequence[Mapping[str, Any]], designs: Sequence[str],
                 labels: Mapping[str, str], out: Path) -> list[Path]:  # fmt: skip
    """Speedup over dense on the same design against the workloads' weight sparsity (1 -
    density), one line per (design in ``designs``, model)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    lines: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for row in rows:
        if row["design"] in designs and row["status"] == "ok":
            line = (row["design"], Path(row["model"]).stem)
            lines[line].append((1 - row["density"], row["speedup"]))
    for (design, model), points in sorted(lines.items(), key=lambda kv: designs.index(kv[0][0])):
        ax.plot(*zip(*sorted(points), strict=True), "o-", ms=4,
                label=f"{labels.get(design, design)} | {model}")
    ax.axhline(1.0, c="0.5", lw=0.8)
    ax.set_xlabel("weight sparsity (fraction of zeros)")
    ax.set_ylabel("speedup over dense on the same design")
    ax.set_title("Speedup against sparsity")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return _save(fig, out, "speedup_vs_sparsity")


def sensitivity_plot(scores: Scores, params: Mapping[str, Mapping[str, Any]],
                     axis_labels: Mapping[str, Sequence[Any]], objective: str,
                     out: Path) -> list[Path]:  # fmt: skip
    """Per axis, in the axis's own order: the score on ``objective`` of every design at each
    axis value (points; ``params``: design -> axis -> label) and their median (line)."""
    names = list(axis_labels)
    fig, grid = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(grid[0], names, strict=True):
        groups: dict[Any, list[float]] = defaultdict(list)
        for design, score in scores.items():
            groups[params[design][name]].append(score[objective])
        keys = [k for k in axis_labels[name] if k in groups]
        for i, key in enumerate(keys):
            ax.scatter(np.full(len(groups[key]), i), groups[key], s=6, c="0.6")
        ax.plot(range(len(keys)), [np.median(groups[k]) for k in keys], "o-", c="tab:red")
        ax.set_xticks(range(len(keys)), [str(k) for k in keys], rotation=45, fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.set_ylabel(objective, fontsize=8)
    fig.suptitle(f"Sensitivity of {objective} (workload-weighted score) per axis")
    fig.tight_layout()
    return _save(fig, out, "sensitivity")
