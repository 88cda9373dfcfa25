"""The SQLite result store of a sweep: one row per (design, workload), kill-safe.

``<out>/results.sqlite`` in WAL mode with ``synchronous=FULL``: each batch of rows is one
transaction, fsync'd at commit, so a process killed at any moment (SIGKILL included) leaves
every committed batch and no partial one. ``UNIQUE(design, workload)`` with ``INSERT OR
IGNORE`` makes a re-committed batch harmless. The ``meta`` table records the sweep's spec hash
and sparsim's version; opening the store for a different spec or version is refused.

Columns of ``results``: ``design`` (its key), ``workload``, ``status`` (``ok``, ``invalid``: the
spec validator refused the point, ``infeasible``: a constraint failed, ``error``: the simulator
or a worker failed), ``reason``, ``model`` and ``sparsity`` (the workload's model and recipe),
``weight``, ``density`` (of its weights), every objective of ``objectives.OBJECTIVES``, the area
breakdown, and one column per axis (its label).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparsim.simulator.dse.objectives import OBJECTIVES
from sparsim.simulator.dse.sweep import Sweep
from sparsim.workloads.yamlio import ConfigError

from sparsim import __version__

__all__ = ["AREA_COLUMNS", "DB_NAME", "FIXED_COLUMNS", "Row", "Store", "StoreError"]

DB_NAME = "results.sqlite"
AREA_COLUMNS = ("area_pe_mm2", "area_sram_mm2", "area_vector_mm2")
FIXED_COLUMNS = ("design", "workload", "status", "reason", "model", "sparsity", "weight", "density",
                 *OBJECTIVES, *AREA_COLUMNS)  # fmt: skip
STATUSES = ("ok", "invalid", "infeasible", "error")


class StoreError(ConfigError):
    """The store cannot be used for this sweep (another spec or version wrote it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One (design, workload) result. ``values``: objectives, area columns, ``weight``,
    ``density`` and axis labels by column name (absent: NULL)."""

    design: str
    workload: str
    status: str
    reason: str = ""
    values: tuple[tuple[str, Any], ...] = ()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


class Store:
    """An open result store (``open`` for a sweep, ``read`` for reports)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, meta: Mapping[str, str]) -> None:
        self.conn, self.path, self.meta = conn, path, dict(meta)
        self.axes: list[str] = json.loads(self.meta["axes"])
        self.columns = (*FIXED_COLUMNS, *self.axes)

    @classmethod
    def open(cls, out_dir: str | Path, sweep: Sweep) -> Store:
        """Create ``out_dir/results.sqlite`` for ``sweep``, or reopen it to resume; refuse a
        store written by another spec or sparsim version."""
        path = Path(out_dir) / DB_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = _connect(path)
        meta = _read_meta(conn)
        wanted = _meta(sweep)
        if not meta:
            _create(conn, wanted, [a.name for a in sweep.axes])
            return cls(conn, path, wanted)
        conn.close()
        _check_same(path, meta, wanted, sweep.source)
        return cls(_connect(path), path, meta)

    @classmethod
    def read(cls, out_dir: str | Path) -> Store:
        """Open an existing store (for ``dse-report``)."""
        path = Path(out_dir) / DB_NAME
        if not path.is_file():
            raise StoreError([f"{path}: no result store here (run `sparsim dse` first)"])
        conn = _connect(path)
        meta = _read_meta(conn)
        if not meta:
            raise StoreError([f"{path}: not a sparsim sweep store (no meta table)"])
        return cls(conn, path, meta)

    def close(self) -> None:
        self.conn.close()

    def write(self, rows: Iterable[Row]) -> int:
        """Commit ``rows`` in one transaction (fsync'd); rows already stored are ignored.
        Returns the number of rows inserted."""
        names = ", ".join(_quote(c) for c in self.columns)
        marks = ", ".join("?" for _ in self.columns)
        sql = f"INSERT OR IGNORE INTO results ({names}) VALUES ({marks})"
        data = [self._tuple(r) for r in rows]
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            before = self.conn.total_changes
            self.conn.executemany(sql, data)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return self.conn.total_changes - before

    def _tuple(self, row: Row) -> tuple:
        values = dict(row.values) | {"design": row.design, "workload": row.workload,
                                     "status": row.status, "reason": row.reason}  # fmt: skip
        unknown = set(values) - set(self.columns)
        if unknown:
            raise ValueError(f"row has unknown columns {sorted(unknown)}")
        return tuple(values.get(c) for c in self.columns)

    def finished_designs(self, workloads: int) -> set[str]:
        """Designs with a row for each of the sweep's ``workloads``."""
        sql = "SELECT design FROM results GROUP BY design HAVING COUNT(*) >= ?"
        return {d for (d,) in self.conn.execute(sql, (workloads,))}

    def rows(self, where: str = "", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every row as a column -> value mapping, in insertion order."""
        cursor = self.conn.execute(f"SELECT * FROM results {where} ORDER BY id", params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor]

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])


def _meta(sweep: Sweep) -> dict[str, str]:
    workloads = [{"name": w.name, "weight": w.weight, "sparsity": w.sparsity, "phase": w.phase}
                 for w in sweep.workloads]  # fmt: skip
    return {
        "spec_hash": sweep.spec_hash,
        "sparsim_version": __version__,
        "sweep": sweep.name,
        "source": sweep.source,
        "base": sweep.base_name,
        "objectives": json.dumps(list(sweep.objectives)),
        "axes": json.dumps([a.name for a in sweep.axes]),
        "axis_labels": json.dumps({a.name: list(a.labels) for a in sweep.axes}),
        "workloads": json.dumps(workloads),
    }


def _read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    exists = conn.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone()
    return dict(conn.execute("SELECT key, value FROM meta")) if exists else {}


def _create(conn: sqlite3.Connection, meta: Mapping[str, str], axes: list[str]) -> None:
    clash = sorted(set(axes) & set(FIXED_COLUMNS))
    if clash:
        raise StoreError([f"axis names {clash} clash with result columns; rename the axes"])
    text = {"design", "workload", "status", "reason", "model", "sparsity"}
    columns = [f"{_quote(c)} {'TEXT' if c in text else 'REAL'}" for c in FIXED_COLUMNS]
    columns += [_quote(a) for a in axes]  # labels: numbers or text
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(f"CREATE TABLE results (id INTEGER PRIMARY KEY, {', '.join(columns)}, "
                 "UNIQUE(design, workload))")  # fmt: skip
    conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    conn.execute("COMMIT")


def _check_same(path: Path, meta: Mapping[str, str], wanted: Mapping[str, str], src: str) -> None:
    problems = []
    if meta.get("spec_hash") != wanted["spec_hash"]:
        problems.append(
            f"{path}: written by a different sweep spec (stored {meta.get('source')!r}, hash "
            f"{meta.get('spec_hash', '?')[:12]}; {src} now hashes to {wanted['spec_hash'][:12]}). "
            "Resuming would mix results of two specs: use another --out folder, or delete the "
            "store to start over"
        )
    if meta.get("sparsim_version") != wanted["sparsim_version"]:
        problems.append(
            f"{path}: written by sparsim {meta.get('sparsim_version')}, this is "
            f"{wanted['sparsim_version']}; results would not be comparable: use another --out"
        )
    if problems:
        raise StoreError(problems)
