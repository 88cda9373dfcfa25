"""The ``sparsim dse`` and ``sparsim dse-report`` subcommands (registered by
``simulator/cli.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sparsim.workloads.yamlio import ConfigError

__all__ = ["add_dse_parsers", "run_dse_command"]

DEFAULT_OUT = Path("dse-out")


def add_dse_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``dse`` and ``dse-report`` to the ``sparsim`` subcommands."""
    dse = sub.add_parser("dse", help="run a design-space sweep (configs/dse/*.yaml)",
                         description="Run a sweep into a SQLite store (resumes a finished or "
                         "interrupted run of the same spec), then write its report and plots.")
    dse.add_argument("spec", type=Path, help="sweep spec YAML")
    dse.add_argument("--workers", type=int, default=None,
                     help="local processes (default: CPUs; 0: in this process)")
    dse.add_argument("--scheduler", help="Dask scheduler address (needs the `dist` extra)")
    dse.add_argument("--out", type=Path, help=f"output folder (default {DEFAULT_OUT}/<name>)")
    dse.add_argument("--no-progress", action="store_true", help="no progress bar")
    dse.add_argument("--no-report", action="store_true", help="only run (see dse-report)")
    report = sub.add_parser("dse-report", help="report and plots of a sweep's store")
    report.add_argument("out", type=Path, help="the sweep's output folder")
    report.add_argument("--csv", type=Path, help="also export every row to this CSV file")


def _cmd_dse(args: argparse.Namespace) -> int:
    # imported here, as in simulator/cli.py: `sparsim run` should not load the sweep machinery
    from sparsim.simulator.dse.execute import run_sweep
    from sparsim.simulator.dse.report import write_report
    from sparsim.simulator.dse.sweep import load_sweep

    if args.workers is not None and args.workers < 0:
        raise ConfigError([f"--workers must be >= 0, not {args.workers}"])
    sweep = load_sweep(args.spec)
    out = args.out or DEFAULT_OUT / sweep.name
    summary = run_sweep(sweep, out, workers=args.workers, scheduler=args.scheduler,
                        progress=False if args.no_progress else None)  # fmt: skip
    print(f"{summary.designs_run} designs run ({summary.designs_per_s:.1f}/s), "
          f"{summary.designs_skipped} already stored, {summary.rows} rows -> {summary.store}")
    if not args.no_report:
        for path in write_report(out):
            print(f"wrote {path}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from sparsim.simulator.dse.report import write_report

    for path in write_report(args.out, args.csv):
        print(f"wrote {path}")
    return 0


def run_dse_command(args: argparse.Namespace) -> int:
    """Run ``dse`` or ``dse-report``."""
    return _cmd_dse(args) if args.command == "dse" else _cmd_report(args)
