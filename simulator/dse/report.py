"""``dse-report``: fronts, top-k tables, plots and CSV, from the store alone."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sparsim.simulator.dse.pareto import design_scores, front, top_k
from sparsim.simulator.dse.plots import pareto_plot, sensitivity_plot, speedup_plot
from sparsim.simulator.dse.store import Store

__all__ = ["TOP_K", "export_csv", "write_report"]

TOP_K = 10


def export_csv(store: Store, path: str | Path) -> Path:
    """Every stored row (all columns) as CSV."""
    rows = store.rows()
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["design"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _label(params: Mapping[str, Any], axes: Sequence[str], design: str) -> str:
    if design == "base":
        return "baseline"
    return ", ".join(f"{a}={params[a]}" for a in axes)


def _table(scores: Mapping[str, Mapping[str, float]], keys: Sequence[str],
           objectives: Sequence[str], labels: Mapping[str, str]) -> list[str]:  # fmt: skip
    lines = ["| design | " + " | ".join(objectives) + " |",
             "|---|" + "---:|" * len(objectives)]  # fmt: skip
    for key in keys:
        values = " | ".join(f"{scores[key][o]:.4g}" for o in objectives)
        lines.append(f"| {labels[key]} | {values} |")
    return lines


def _report_text(store: Store, scores: Mapping[str, Mapping[str, float]], fronts: list[str],
                 labels: Mapping[str, str], objectives: Sequence[str]) -> str:  # fmt: skip
    status = Counter(r["status"] for r in store.rows())
    lines = [f"# Sweep {store.meta['sweep']}", "",
             f"Spec {store.meta['source']} (hash {store.meta['spec_hash'][:12]}), sparsim "
             f"{store.meta['sparsim_version']}, base {store.meta['base']}.", "",
             "Rows by status: " + ", ".join(f"{k} {v}" for k, v in sorted(status.items())),
             f"Designs scored: {len(scores)}.", "",
             f"## Pareto front over {', '.join(objectives)} ({len(fronts)} designs)",
             ""]  # fmt: skip
    lines += _table(scores, sorted(fronts, key=lambda d: scores[d][objectives[0]]),
                    objectives, labels)  # fmt: skip
    for objective in objectives:
        lines += ["", f"## Top {TOP_K} by {objective}", ""]
        lines += _table(scores, top_k(scores, objective, TOP_K), objectives, labels)
    return "\n".join(lines) + "\n"


def _distinct(scores: Mapping[str, Mapping[str, float]], keys: Sequence[str],
              k: int) -> list[str]:  # fmt: skip
    """The first ``k`` of ``keys`` with distinct scores (axes that change nothing for these
    workloads give many equal designs; one of each is enough in a plot)."""
    seen: set[tuple[float, ...]] = set()
    out = []
    for key in keys:
        values = tuple(scores[key].values()) if key in scores else None
        if values is not None and values not in seen:
            seen.add(values)
            out.append(key)
    return out[:k]


def write_report(out_dir: str | Path, csv_path: str | Path | None = None) -> list[Path]:
    """Regenerate ``report.md`` and the plots in ``out_dir`` from its store; ``csv_path``:
    also export the rows. Returns the files written."""
    out = Path(out_dir)
    store = Store.read(out)
    try:
        rows = store.rows()
        objectives = json.loads(store.meta["objectives"])
        weights = {w["name"]: w["weight"] for w in json.loads(store.meta["workloads"])}
        scores = design_scores(rows, objectives, weights)
        params = {r["design"]: r for r in rows}
        labels = {d: _label(params[d], store.axes, d) for d in scores}
        fronts = front(scores, objectives[:3]) if scores else []
        written = [out / "report.md"]
        written[0].write_text(_report_text(store, scores, fronts, labels, objectives[:3]))
        if scores and len(objectives) >= 2:
            written += pareto_plot(scores, front(scores, objectives[:2]), objectives[0],
                                   objectives[1], out)  # fmt: skip
        shown = _distinct(scores, ["base", *top_k(scores, objectives[0], len(scores))], 4)
        written += speedup_plot(rows, shown, labels, out)
        axis_labels = json.loads(store.meta["axis_labels"])
        written += sensitivity_plot(scores, params, axis_labels, objectives[0], out)
        if csv_path is not None:
            written.append(export_csv(store, csv_path))
    finally:
        store.close()
    return written
