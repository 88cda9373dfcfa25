"""What a user reads and scripts parse: a per-layer text table, CSV and JSON of a ``RunResult``.

Every file is written atomically (to a temporary file in the same folder, then renamed over the
target), so an interrupted run leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sparsim.simulator.results import ENERGY_COMPONENTS, LayerResult, RunResult

if TYPE_CHECKING:
    from sparsim.accel.spec import AcceleratorSpec

__all__ = [
    "atomic_write",
    "csv_rows",
    "format_table",
    "write_csv",
    "write_json",
    "write_outputs",
]

_HEADER = (
    "layer", "pass", "op", "M", "N", "K", "cycles", "stall %", "util %",
    "MACs", "speedup", "energy µJ", "bound", "notes",
)  # fmt: skip
_RIGHT = {"M", "N", "K", "cycles", "stall %", "util %", "MACs", "speedup", "energy µJ"}


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` (its result is ignored) on a temporary file next to ``path``, then
    rename it to ``path``.

    The rename is atomic on POSIX (same folder, same file system); on any error the temporary
    file is removed and ``path`` is left untouched. The temporary name carries the process id,
    so concurrent runs writing into one folder do not share it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}" if whole else "0.0"


def _note_refs(notes: tuple[str, ...], index: dict[str, int]) -> str:
    """``[1,3]`` for a row carrying notes 1 and 3 (numbered in order of first appearance)."""
    for note in notes:
        index.setdefault(note, len(index) + 1)
    return "[" + ",".join(str(index[n]) for n in notes) + "]" if notes else ""


def _row(r: LayerResult, index: dict[str, int]) -> tuple[str, ...]:
    """One table row; ``-`` where a field does not apply (dims of vector work, the speedup of
    work the dense baseline does not do, such as weight pre-generation)."""
    dims = (str(r.m), str(r.n), str(r.k)) if r.dense_macs else ("-", "-", "-")
    speedup = f"{r.speedup:.2f}" if r.dense_cycles else "-"
    return (
        r.layer, r.pass_.value, r.op, *dims, f"{r.cycles:,}", _pct(r.stall_cycles, r.cycles),
        f"{100 * r.utilization:.1f}", f"{r.dense_macs:,}", speedup,
        f"{r.energy_total_pj / 1e6:.3f}", r.bound, _note_refs(r.notes, index),
    )  # fmt: skip


def _total_row(run: RunResult) -> tuple[str, ...]:
    t = run.totals()
    return (
        "TOTAL", "", "", "", "", "", f"{t['cycles']:,}", _pct(t["stall_cycles"], t["cycles"]),
        f"{100 * t['utilization']:.1f}", f"{t['macs']:,}", f"{t['speedup']:.2f}",
        f"{t['energy_total_pj'] / 1e6:.3f}", "", "",
    )  # fmt: skip


def _align(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = []
    for row in rows:
        cells = (
            cell.rjust(w) if name in _RIGHT else cell.ljust(w)
            for cell, w, name in zip(row, widths, _HEADER, strict=True)
        )
        lines.append("  ".join(cells).rstrip())
    return lines


def format_table(run: RunResult) -> str:
    """Per (layer, pass) table with a totals line; notes are numbered and listed below it."""
    index: dict[str, int] = {}
    body = [_row(r, index) for r in run.layers]
    lines = _align([_HEADER, *body, _total_row(run)])
    rule = "-" * max(len(line) for line in lines)
    t = run.totals()
    title = (
        f"{run.workload} ({run.phase}) on {run.accel}, {run.engine} engine: "
        f"{t['cycles']:,} cycles = {t['time_ms']:.3f} ms at {run.freq_mhz:g} MHz, "
        f"speedup {t['speedup']:.2f}x, energy {t['energy_total_pj'] / 1e6:.3f} µJ"
    )
    out = [title, lines[0], rule, *lines[1:-1], rule, lines[-1]]
    out += [f"[{i}] {note}" for note, i in index.items()]
    out += [f"note: {note}" for note in run.notes]
    return "\n".join(out)


def _byte_keys(run: RunResult) -> list[str]:
    return sorted({key for r in run.layers for key, _ in r.bytes_by_level})


def csv_rows(run: RunResult) -> list[dict[str, object]]:
    """One flat dict per (layer, pass): scalar fields of ``LayerResult.to_dict``, then
    ``energy_<component>_pj`` and ``bytes_<level.what>`` columns (0 where a row has none)."""
    byte_keys = _byte_keys(run)
    rows = []
    for r in run.layers:
        d = r.to_dict()
        energy, traffic = d.pop("energy_pj"), d.pop("bytes")
        d["notes"] = "; ".join(d["notes"])
        d |= {f"energy_{c}_pj": energy.get(c, 0.0) for c in ENERGY_COMPONENTS}
        d |= {f"bytes_{k}": traffic.get(k, 0) for k in byte_keys}
        rows.append(d)
    return rows


def _csv_text(run: RunResult) -> str:
    rows = csv_rows(run)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["name"])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(run: RunResult, path: str | Path) -> Path:
    """Write ``csv_rows(run)`` with a header line."""
    return _write_text(path, _csv_text(run))


def write_json(run: RunResult, path: str | Path) -> Path:
    """Write ``run.to_dict()`` (stable keys documented there), indented."""
    return _write_text(path, json.dumps(run.to_dict(), indent=2) + "\n")


def write_outputs(
    run: RunResult, out_dir: str | Path, *, spec: AcceleratorSpec | None = None
) -> list[Path]:
    """Write ``results.csv``, ``results.json`` and the plots into ``out_dir``; return the paths.

    The roofline needs the accelerator's roofs, so it is drawn only when ``spec`` is given.
    """
    # Imported here: matplotlib costs ~0.5 s to import and text-only callers never need it.
    from sparsim.simulator.plots import write_plots

    out_dir = Path(out_dir)
    paths = [write_csv(run, out_dir / "results.csv"), write_json(run, out_dir / "results.json")]
    return paths + write_plots(run, out_dir, spec=spec)
