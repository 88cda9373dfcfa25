"""What a user reads and scripts parse: a per-layer text table, CSV and JSON of a ``RunResult``.

Every file is written with ``simulator.files.atomic_write`` (a synced temporary file renamed
over the target; devices and pipes written in place), so an interrupted run leaves either the
old file or the new one, never half of one.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from sparsim.simulator.files import atomic_write
from sparsim.simulator.results import ENERGY_COMPONENTS, LayerResult, RunResult

if TYPE_CHECKING:
    from sparsim.accel.spec import AcceleratorSpec

__all__ = [
    "TABLE_WIDTH",
    "csv_rows",
    "format_table",
    "scaled",
    "write_csv",
    "write_json",
    "write_outputs",
]


def _write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


TABLE_WIDTH = 120
"""Widest line of the default table (``format_table``); ``wide=True`` has no limit."""

_NARROW = (
    "layer", "pass", "op", "cycles", "util %", "speedup", "energy", "in", "bound", "notes",
)  # fmt: skip
_WIDE = (
    "layer", "pass", "op", "M", "N", "K", "cycles", "stall %", "util %", "MACs", "speedup",
    "energy", "DRAM", "in", "bound", "notes", "mapping",
)  # fmt: skip
_LEFT = {"layer", "pass", "op", "in", "bound", "notes", "mapping"}
_SHRINK = (("layer", 12), ("op", 8))
"""Columns cut (middle ellipsis) in this order, down to these widths, to fit ``TABLE_WIDTH``."""

_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"),
             (1e-9, "n"), (1e-12, "p"))  # fmt: skip


def scaled(value: float, unit: str) -> str:
    """``value`` (in ``unit``) with the SI prefix that puts it in [1, 1000), 4 significant
    digits: ``scaled(0.0016, "J") == "1.600 mJ"``; 0 is ``"0 J"``."""
    if value == 0:
        return f"0 {unit}"
    for factor, prefix in _PREFIXES:
        if abs(value) >= factor * (1 - 5e-5) or factor == _PREFIXES[-1][0]:
            x = value / factor
            digits = 3 if abs(x) < 9.9995 else 2 if abs(x) < 99.995 else 1
            return f"{x:.{digits}f} {prefix}{unit}"
    raise AssertionError("unreachable")


def _time(cycles: int, freq_mhz: float) -> str:
    return scaled(cycles / (freq_mhz * 1e6), "s")


def _energy(pj: float) -> str:
    return scaled(pj * 1e-12, "J")


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}" if whole else "0.0"


def _note_refs(notes: tuple[str, ...], index: dict[str, int]) -> str:
    """``[1,3]`` for a row carrying notes 1 and 3 (numbered in order of first appearance)."""
    for note in notes:
        index.setdefault(note, len(index) + 1)
    return "[" + ",".join(str(index[n]) for n in notes) + "]" if notes else ""


def _shown_notes(r: LayerResult) -> tuple[str, ...]:
    """``r.notes`` but the plain ``fused with <producer>`` one: the bound column says it."""
    return tuple(note for note in r.notes if note != f"fused with {r.fused_with}")


def _short_bound(bound: str) -> str:
    """``input buffer read port`` as ``input rd port`` (the narrow table's bound column)."""
    return bound.replace(" buffer read port", " rd port").replace(" buffer write port", " wr port")


def why_bound(r: LayerResult) -> str:
    """Why ``r`` took its time: its bound and every busy resource's cycles, busiest first
    (``LayerResult.busy_cycles``), each as a share of the layer's cycles."""
    if not r.busy_cycles:
        return f"bound: {r.bound}"
    ranked = sorted(r.busy_cycles, key=lambda item: -item[1])  # stable: report order on ties
    busy = ", ".join(f"{name} {cycles:,} ({_pct(cycles, r.cycles)}%)"
                     for name, cycles in ranked if cycles)  # fmt: skip
    return f"bound: {r.bound}; busy cycles of its {r.cycles:,}: {busy}"


def _cells(r: LayerResult, index: dict[str, int], wide: bool) -> dict[str, str]:
    """Every column of one row; ``-`` where a field does not apply (dims of vector work, the
    speedup of work the dense baseline does not do, such as weight pre-generation). A fused
    vector op shows ``fused`` (no cycles of its own) or the ``+cycles`` it adds to its
    producer, and ``fused`` as its bound (its utilization is in the JSON). ``in``: ``chip``
    when the input was left on chip by its producer; ``bound``: the resource that bound the
    row (``compute``, ``DRAM`` or a buffer port, shortened unless ``wide``)."""
    dims = (str(r.m), str(r.n), str(r.k)) if r.dense_macs else ("-", "-", "-")
    cells = {
        "layer": r.layer, "pass": r.pass_name, "op": r.op, "M": dims[0], "N": dims[1],
        "K": dims[2], "cycles": f"{r.cycles:,}", "stall %": _pct(r.stall_cycles, r.cycles),
        "util %": f"{100 * r.utilization:.1f}", "MACs": f"{r.dense_macs:,}",
        "speedup": f"{r.speedup:.2f}" if r.dense_cycles else "-",
        "energy": _energy(r.energy_total_pj),
        "DRAM": scaled(sum(v for k, v in r.bytes_by_level if k.startswith("dram.")), "B"),
        "in": "chip" if r.input_from_chip else "",
        "bound": r.bound if wide else _short_bound(r.bound),
        "notes": _note_refs(_shown_notes(r), index), "mapping": r.mapping,
    }  # fmt: skip
    cells |= _core_cells(r)
    if r.fused_with:
        cycles = f"+{r.cycles:,}" if r.cycles else "fused"
        cells |= {"cycles": cycles, "stall %": "-", "util %": "-", "bound": "fused"}
        if not r.cycles:
            cells["speedup"] = "-"
    return cells


_CORE_COLUMNS = ("cores", "core util %")
"""Added after ``util %`` on a multi-core spec: active of all cores, the busiest and least
busy active core's utilization (``util %`` is over every core)."""


def _core_cells(r: LayerResult) -> dict[str, str]:
    """``cores``: ``active/C`` of a multi-core split; ``core util %``: the active cores'
    utilization, ``low-high`` when they differ (an uneven split); empty for other rows."""
    active = [u for u in r.core_utilization if u > 0]
    if not active:
        return {}
    low, high = 100 * min(active), 100 * max(active)
    spread = f"{high:.1f}" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f}-{high:.1f}"
    return {"cores": f"{len(active)}/{len(r.core_utilization)}", "core util %": spread}


def _total_cells(run: RunResult) -> dict[str, str]:
    t = run.totals()
    dram = sum(v for r in run.layers for k, v in r.bytes_by_level if k.startswith("dram."))
    return {
        "layer": "TOTAL", "cycles": f"{t['cycles']:,}",
        "stall %": _pct(t["stall_cycles"], t["cycles"]), "util %": f"{100 * t['utilization']:.1f}",
        "MACs": f"{t['macs']:,}", "speedup": f"{t['speedup']:.2f}",
        "energy": _energy(t["energy_total_pj"]), "DRAM": scaled(dram, "B"),
    }  # fmt: skip


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, the middle replaced by ``…`` if needed."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]


def _widths(columns: tuple[str, ...], rows: list[dict[str, str]], limit: int | None) -> list[int]:
    """Column widths; with ``limit``, ``_SHRINK`` columns narrowed until the line fits."""
    widths = [max(len(row.get(c, "")) for row in rows) for c in columns]
    for name, least in _SHRINK:
        excess = sum(widths) + 2 * (len(widths) - 1) - limit if limit else 0
        if excess > 0 and name in columns:
            i = columns.index(name)
            widths[i] = max(least, widths[i] - excess)
    return widths


def _align(columns: tuple[str, ...], rows: list[dict[str, str]], widths: list[int]) -> list[str]:
    lines = []
    for row in rows:
        cells = (
            _cut(row.get(c, ""), w).ljust(w) if c in _LEFT else row.get(c, "").rjust(w)
            for c, w in zip(columns, widths, strict=True)
        )
        lines.append("  ".join(cells).rstrip())
    return lines


def _wrap(text: str, width: int | None) -> list[str]:
    if width is None:
        return [text]
    return textwrap.wrap(text, width, subsequent_indent="    ", break_on_hyphens=False) or [""]


def _energy_lines(run: RunResult, width: int | None) -> list[str]:
    """``energy by component: mac 1.2 mJ (4.0%), ...`` (nonzero ones), wrapped between
    components to ``width``."""
    energy = run.energy_pj
    total = sum(energy.values())
    parts = [f"{name} {_energy(pj)} ({_pct(pj, total)}%)" for name, pj in energy.items() if pj]
    lines = ["energy by component:"]
    for i, part in enumerate(parts):
        text = part + ("," if i < len(parts) - 1 else "")
        if width is not None and len(lines[-1]) + 1 + len(text) > width:
            lines.append("   ")
        lines[-1] += " " + text
    return lines


def _bound_lines(run: RunResult, width: int | None) -> list[str]:
    """``time by bound: compute 82.5% (45 passes), DRAM 12.6% (60), ...``: the run's cycles
    grouped by the resource that bound each (layer, pass), largest share first: what to
    widen for a faster run."""
    cycles: dict[str, int] = {}
    passes: dict[str, int] = {}
    for r in run.layers:
        if r.cycles:
            cycles[r.bound] = cycles.get(r.bound, 0) + r.cycles
            passes[r.bound] = passes.get(r.bound, 0) + 1
    total = sum(cycles.values())
    ranked = sorted(cycles.items(), key=lambda item: -item[1])
    parts = [f"{bound} {_pct(c, total)}% ({passes[bound]} pass{'es' if passes[bound] > 1 else ''})"
             for bound, c in ranked]  # fmt: skip
    return _wrap("time by bound: " + ", ".join(parts), width)


def format_table(run: RunResult, *, wide: bool = False) -> str:
    """Per (layer, pass) table with a totals line; notes are numbered and listed below it.

    The default table fits ``TABLE_WIDTH`` columns (long layer names are cut in the middle;
    the JSON has them whole); ``wide=True`` adds GEMM dims, stall %, MACs, DRAM bytes and the
    mapping, and cuts nothing. Times, energies and bytes carry SI prefixes (µs/ms/s,
    µJ/mJ/J, kB/MB/GB)."""
    columns: tuple[str, ...]
    columns, limit = (_WIDE, None) if wide else (_NARROW, TABLE_WIDTH)
    if any(r.core_utilization for r in run.layers):
        at = columns.index("util %") + 1
        columns = (*columns[:at], *_CORE_COLUMNS, *columns[at:])
    index: dict[str, int] = {}
    header = {c: c for c in columns}
    body = [_cells(r, index, wide) for r in run.layers]
    rows = [header, *body, _total_cells(run)]
    lines = _align(columns, rows, _widths(columns, rows, limit))
    rule = "-" * max(len(line) for line in lines)
    t = run.totals()
    title = f"{run.workload} ({run.phase}) on {run.accel}, {run.engine} engine"
    summary = (
        f"{t['cycles']:,} cycles = {_time(t['cycles'], run.freq_mhz)} at {run.freq_mhz:g} MHz, "
        f"speedup {t['speedup']:.2f}x, energy {_energy(t['energy_total_pj'])}"
    )
    out = [*_wrap(title, limit), *_wrap(summary, limit), *_energy_lines(run, limit),
           *_bound_lines(run, limit)]  # fmt: skip
    out += [lines[0], rule, *lines[1:-1], rule, lines[-1]]
    for note, i in index.items():
        out += _wrap(f"[{i}] {note}", limit)
    for note in run.notes:
        out += _wrap(f"note: {note}", limit)
    return "\n".join(out)


def _byte_keys(run: RunResult) -> list[str]:
    return sorted({key for r in run.layers for key, _ in r.bytes_by_level})


def csv_rows(run: RunResult) -> list[dict[str, object]]:
    """One flat dict per (layer, pass): scalar fields of ``LayerResult.to_dict``, then
    ``energy_<component>_pj``, ``bytes_<level.what>`` and ``busy_cycles.<resource>`` columns
    (0 where a row has none)."""
    byte_keys = _byte_keys(run)
    resources = list(dict.fromkeys(name for r in run.layers for name, _ in r.busy_cycles))
    rows = []
    for r in run.layers:
        d = r.to_dict()
        energy, traffic, busy = d.pop("energy_pj"), d.pop("bytes"), d.pop("busy_cycles")
        d["notes"] = "; ".join(d["notes"])
        d |= {f"energy_{c}_pj": energy.get(c, 0.0) for c in ENERGY_COMPONENTS}
        d |= {f"bytes_{k}": traffic.get(k, 0) for k in byte_keys}
        d |= {f"busy_cycles.{k}": busy.get(k, 0) for k in resources}
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
