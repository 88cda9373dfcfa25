"""Run a sweep: batches of design points on a local process pool or a Dask cluster, each
finished batch committed to the store as it arrives, with a progress bar (rate and ETA).

* **Resume**: designs already in the store are skipped (the NSGA-II sampler reads their stored
  scores instead, so a resumed search proposes the same points).
* **Kills**: SIGTERM is turned into ``KeyboardInterrupt`` like SIGINT; pending batches are
  cancelled and the workers stopped, so an interrupted run loses only the batches in flight
  (SIGKILL too: the store commits whole batches). Local workers ignore SIGINT (the parent
  owns the interrupt).
* **Worker death**: a batch whose worker dies is resubmitted (local: on a fresh pool); a batch
  that fails twice is recorded as ``error`` rows and the sweep goes on.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from sparsim.simulator.dse.evaluate import evaluate_batch
from sparsim.simulator.dse.store import Row, Store
from sparsim.simulator.dse.sweep import Design, Sweep, expand, locality_order
from tqdm import tqdm

__all__ = ["SweepSummary", "run_sweep"]

MAX_TRIES = 2
"""Submissions of one batch before its designs are recorded as ``error``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSummary:
    """What one ``run_sweep`` call did."""

    store: Path
    designs_run: int
    designs_skipped: int
    rows: int
    seconds: float

    @property
    def designs_per_s(self) -> float:
        return self.designs_run / self.seconds if self.seconds else 0.0


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _LocalPool:
    """A process pool (spawned workers: no forked locks or numba state)."""

    def __init__(self, workers: int) -> None:
        self.slots = workers
        self._pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.slots, mp_context=context, initializer=_ignore_sigint)

    def submit(self, sweep: Sweep, designs: list[Design]) -> Future:
        try:
            return self._pool.submit(evaluate_batch, sweep, designs)
        except RuntimeError:  # broken by a dead worker: start a fresh pool
            self.close()
            self._pool = self._new()
            return self._pool.submit(evaluate_batch, sweep, designs)

    def wait_any(self, futures: Sequence[Any]) -> set[Any]:
        return wait(futures, return_when=FIRST_COMPLETED).done

    def close(self) -> None:
        processes = list(getattr(self._pool, "_processes", {}).values())  # stop batches now
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()


class _SerialPool:
    """No workers: each batch runs in this process when submitted (``workers=0``; tests and
    debugging)."""

    slots = 1

    def submit(self, sweep: Sweep, designs: list[Design]) -> Future:
        future: Future = Future()
        future.set_result(evaluate_batch(sweep, designs))
        return future

    def wait_any(self, futures: Sequence[Any]) -> set[Any]:
        return set(futures)

    def close(self) -> None:
        pass


class _DaskPool:
    """A ``distributed`` client (``address`` of a scheduler, or a ``Client`` given in)."""

    def __init__(self, scheduler: Any) -> None:
        from distributed import Client  # the `dist` extra, only when asked for

        self._own = isinstance(scheduler, str)
        self.client = Client(scheduler) if self._own else scheduler
        self.slots = max(1, sum(self.client.nthreads().values()))
        self._sweeps: dict[str, Any] = {}

    def submit(self, sweep: Sweep, designs: list[Design]) -> Any:
        if sweep.spec_hash not in self._sweeps:  # send the sweep to every worker once
            self._sweeps[sweep.spec_hash] = self.client.scatter(sweep, broadcast=True)
        return self.client.submit(evaluate_batch, self._sweeps[sweep.spec_hash], designs,
                                  pure=False)  # fmt: skip

    def wait_any(self, futures: Sequence[Any]) -> set[Any]:
        from distributed import wait as dask_wait

        return set(dask_wait(list(futures), return_when="FIRST_COMPLETED").done)

    def close(self) -> None:
        if self._own:
            self.client.close()


_Pool = _LocalPool | _SerialPool | _DaskPool


@contextlib.contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """SIGTERM raises ``KeyboardInterrupt`` in the main thread while the sweep runs."""
    if threading.current_thread() is threading.main_thread():

        def handler(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)
    else:
        yield


def _chunks(designs: Iterable[Design], size: int) -> Iterator[list[Design]]:
    it = iter(designs)
    while chunk := list(islice(it, size)):
        yield chunk


def _error_rows(sweep: Sweep, designs: Sequence[Design], reason: str) -> list[Row]:
    return [Row(design=d.key(sweep), workload=w.name, status="error", reason=reason,
                values=tuple(d.params(sweep).items()))
            for d in designs for w in sweep.workloads]  # fmt: skip


def _drain(pool: _Pool, sweep: Sweep, store: Store, chunks: Iterator[list[Design]],
           done: Callable[[list[Design], int], None]) -> None:  # fmt: skip
    """Keep ``2 x slots`` batches in flight; commit each finished one (one transaction)."""
    pending: dict[Any, tuple[list[Design], int]] = {}

    def fill() -> None:
        while len(pending) < 2 * pool.slots and (chunk := next(chunks, None)) is not None:
            pending[pool.submit(sweep, chunk)] = (chunk, 1)

    fill()
    try:
        while pending:
            for future in pool.wait_any(list(pending)):
                chunk, tries = pending.pop(future)
                try:
                    rows = future.result()
                except Exception as exc:  # a worker died, or the cluster lost the task
                    if tries < MAX_TRIES:
                        pending[pool.submit(sweep, chunk)] = (chunk, tries + 1)
                        continue
                    rows = _error_rows(sweep, chunk, f"worker failed {tries} times: {exc!r}")
                done(chunk, store.write(rows))
            fill()
    finally:
        for future in pending:
            future.cancel()


def _pool(workers: int | None, scheduler: Any) -> _Pool:
    if scheduler is not None:
        return _DaskPool(scheduler)
    if workers == 0:
        return _SerialPool()
    return _LocalPool(workers or os.cpu_count() or 1)


def run_sweep(
    sweep: Sweep,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
) -> SweepSummary:
    """Run ``sweep`` into ``out_dir/results.sqlite`` (resuming it) on ``workers`` local
    processes (0: in this process; default: one per CPU), or on the Dask cluster at
    ``scheduler`` (an address or a ``Client``)."""
    start = time.perf_counter()
    store = Store.open(out_dir, sweep)
    finished = store.finished_designs(len(sweep.workloads))
    show = sys.stderr.isatty() if progress is None else progress
    counts = {"run": 0, "rows": 0}
    pool = _pool(workers, scheduler)
    try:
        with _term_as_interrupt(), tqdm(unit="design", disable=not show, smoothing=0.1) as bar:
            def done(chunk: list[Design], rows: int) -> None:
                counts["run"] += len(chunk)
                counts["rows"] += rows
                bar.update(len(chunk))

            if sweep.sampler.kind == "nsga2":
                from sparsim.simulator.dse.search import run_nsga2  # optuna: the `dse` extra

                skipped = run_nsga2(sweep, store, finished, bar,
                                    lambda designs: _drain(pool, sweep, store,
                                                           _chunks(designs, sweep.batch_size),
                                                           done))  # fmt: skip
            else:
                todo = locality_order(
                    sweep, [d for d in expand(sweep) if d.key(sweep) not in finished])
                skipped = len(finished)
                bar.reset(total=len(todo) + skipped)
                bar.update(skipped)
                _drain(pool, sweep, store, _chunks(todo, sweep.batch_size), done)
    finally:
        pool.close()
        store.close()
    return SweepSummary(store=store.path, designs_run=counts["run"], designs_skipped=skipped,
                        rows=counts["rows"], seconds=time.perf_counter() - start)  # fmt: skip

