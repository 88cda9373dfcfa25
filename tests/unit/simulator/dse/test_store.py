"""The result store: resume after a SIGKILL mid-batch, a refused resume after the spec
changes, the Dask path on an in-process cluster, a resumed NSGA-II search."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sparsim.simulator.dse.execute import run_sweep
from sparsim.simulator.dse.store import DB_NAME, Store, StoreError
from sparsim.simulator.dse.sweep import load_sweep


def _pairs(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT design, workload FROM results"))


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_resume_after_sigkill_mid_batch(write_sweep, tmp_path: Path) -> None:
    # 1 + 4 x 5 x 4 = 81 designs x 2 workloads, one design per batch on one worker
    axes = [{"path": "compute.rows", "values": [8, 16, 24, 32]},
            {"path": "compute.cols", "values": [8, 16, 24, 32, 40]},
            {"path": "dram.bandwidth_gb_per_s", "values": [4.8, 9.6, 19.2, 38.4]}]
    spec = write_sweep(axes=axes, constraints=[], batch_size=1)
    out, db = tmp_path / "out", tmp_path / "out" / DB_NAME
    cmd = [sys.executable, "-m", "sparsim.simulator.cli", "dse", str(spec), "--out", str(out),
           "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL)
    committed: list[tuple[str, str]] = []
    deadline = time.monotonic() + 60
    while len(committed) < 6 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        if db.exists():
            try:
                committed = _pairs(db)
            except sqlite3.OperationalError:  # the table is being created
                continue
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker, mid-batch
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it was killed"
    assert len(committed) >= 6, "no batch was committed while the sweep ran"
    after_kill = _pairs(db)
    assert len(after_kill) < 81 * 2, "nothing was left to resume"
    assert set(committed) <= set(after_kill), "a committed row was lost"
    assert len(after_kill) % 2 == 0, "a batch (one design, two workloads) was half committed"
    assert _integrity(db) == "ok"

    summary = run_sweep(load_sweep(spec), out, workers=0, progress=False)
    final = _pairs(db)
    assert summary.designs_skipped == len(after_kill) // 2
    assert len(final) == len(set(final)) == 81 * 2
    assert set(after_kill) <= set(final)
    assert _integrity(db) == "ok"


def test_changed_spec_is_refused(write_sweep, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_sweep(load_sweep(write_sweep(sampler={"kind": "random", "samples": 2})), out, workers=0,
              progress=False)
    changed = write_sweep(sampler={"kind": "random", "samples": 2},
                          constraints=["compute.rows * compute.cols <= 512"])
    with pytest.raises(StoreError, match="written by a different sweep spec"):
        run_sweep(load_sweep(changed), out, workers=0, progress=False)
    assert Store.read(out).count() == 3 * 2  # untouched: base + 2 samples, 2 workloads each


def test_dask_local_cluster_matches_serial(write_sweep, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    sweep = load_sweep(write_sweep())
    run_sweep(sweep, tmp_path / "serial", workers=0, progress=False)
    with LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        summary = run_sweep(sweep, tmp_path / "dask", scheduler=client, progress=False)
    assert summary.designs_run == 19
    key = ("design", "workload", "status", "latency_ms", "energy_mj", "area_mm2")

    def rows(folder: str) -> set[tuple]:
        return {tuple(r[k] for k in key) for r in Store.read(tmp_path / folder).rows()}

    assert rows("dask") == rows("serial")


def test_nsga2_search_resumes_without_rerunning(write_sweep, tmp_path: Path) -> None:
    sampler = {"kind": "nsga2", "samples": 8, "population": 4, "seed": 1}
    sweep = load_sweep(write_sweep(sampler=sampler))
    first = run_sweep(sweep, tmp_path, workers=0, progress=False)
    stored = Store.read(tmp_path).count()
    # the base design + at most 8 proposals (NSGA-II may propose a design twice)
    assert 2 <= first.designs_run <= 9 and stored == 2 * first.designs_run
    again = run_sweep(sweep, tmp_path, workers=0, progress=False)
    # same seed, same stored scores told back: the same proposals, all already stored
    assert again.designs_run == 0
    assert Store.read(tmp_path).count() == stored
