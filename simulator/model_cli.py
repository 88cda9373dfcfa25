"""Command line for real models: ``run --model/--weights/--prune/--only/--skip/--recipe``,
``prune`` and ``inspect`` (registered by ``simulator.cli``).

* ``sparsim run --model FILE.onnx [--weights W] [--prune P [--only K] [--skip K] | --recipe R]``
  imports the model (or takes ``--workload``'s zoo model with ``--weights``), prunes the real
  weights and simulates their real masks; a second table compares each pruned layer's speedup
  with the balanced-density estimate (the same patterns without masks), quoting the mask's
  load imbalance.
* ``sparsim prune MODEL --pattern P [...] --out FILE.npz`` writes the pruned weights.
* ``sparsim inspect MODEL|FILE [--plot DIR]``: per-layer density, detected patterns, nonzeros per
  group, row imbalance; with ``--plot`` a histogram/imbalance figure.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sparsim.accel.spec import AcceleratorSpec
from sparsim.simulator.files import check_output_file
from sparsim.simulator.lower import mask_density
from sparsim.simulator.results import Pass, RunResult
from sparsim.simulator.run import simulate
from sparsim.workloads.detect import WeightStats, as_matrix, weight_stats
from sparsim.workloads.layer import Workload
from sparsim.workloads.pruning import transposable_nm_report
from sparsim.workloads.recipe import Assignment, Recipe, apply_recipe, load_recipe
from sparsim.workloads.recipe import recipe_from_flags as _flags_recipe
from sparsim.workloads.registry import get_workload
from sparsim.workloads.sparsity import NM, Block, Group, SparsityPattern, Unstructured
from sparsim.workloads.weightfile import ModelFileError, load_weight_file, save_npz
from sparsim.workloads.weights import bind_weights, prune_weights, with_masks
from sparsim.workloads.yamlio import ConfigError

__all__ = [
    "ModelJob",
    "add_model_arguments",
    "add_model_parsers",
    "balanced_comparison",
    "balanced_pattern",
    "load_model_job",
    "run_model_command",
    "wants_model_job",
]

MODEL_SUFFIXES = (".onnx",)
WEIGHT_SUFFIXES = (".npz", ".safetensors")


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelJob:
    """A workload with its (maybe pruned) weights, the weights before pruning, and the rule
    that decided each layer."""

    workload: Workload
    weights: dict[str, np.ndarray]
    assignments: tuple[Assignment, ...]
    unsupported: tuple[str, ...] = ()
    original: Mapping[str, np.ndarray] | None = None


# ---------------------------------------------------------------------------------------------
# arguments


def _add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", help="prune only these kinds: comma list of conv, conv1x1, "
                   "depthwise, linear, attention, first, last")  # fmt: skip
    p.add_argument("--skip", help="prune every weighted layer but these kinds (as --only)")
    p.add_argument("--recipe", type=Path, help="YAML recipe: ordered rules -> pattern, dtype")
    p.add_argument("--weights", type=Path, help=".npz or .safetensors weights by layer name")
    p.add_argument("--seq-len", type=int, help="sequence length of an ONNX model's inputs")


def add_model_arguments(run: argparse.ArgumentParser) -> None:
    """The real-model options of ``sparsim run``."""
    run.add_argument("--model", type=Path, help="ONNX model file (real shapes and weights)")
    run.add_argument("--prune", help="magnitude-prune the real weights to this pattern")
    _add_selection(run)


def add_model_parsers(sub: argparse._SubParsersAction) -> None:
    """``sparsim prune`` and ``sparsim inspect``."""
    prune = sub.add_parser("prune", help="magnitude-prune a model's weights into an .npz")
    prune.add_argument("model", help="ONNX file, or a zoo model name with --weights")
    prune.add_argument("--pattern", help="2:4, 2:8t, group4:50%%, unstructured:70%%, ...")
    prune.add_argument("--out", type=Path, required=True, help="output .npz")
    prune.add_argument("--batch", type=int, default=1)
    _add_selection(prune)
    inspect = sub.add_parser("inspect", help="per-layer sparsity statistics of real weights")
    inspect.add_argument("model", help="ONNX file, .npz/.safetensors file, or a zoo model name "
                         "with --weights")  # fmt: skip
    inspect.add_argument("--weights", type=Path, help="weights bound to a zoo model")
    inspect.add_argument("--seq-len", type=int)
    inspect.add_argument("--plot", type=Path, help="write sparsity_inspect.png into this folder")


def wants_model_job(args: argparse.Namespace) -> bool:
    """Whether ``sparsim run`` goes through the real-model path."""
    return any(getattr(args, k, None) is not None for k in
               ("model", "weights", "prune", "only", "skip", "recipe"))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# building a job


def _import_onnx(path: Path, batch: int, seq_len: int | None) -> tuple[Workload, dict, tuple]:
    from sparsim.workloads.onnx_import import UnsupportedOpsWarning, load_onnx  # extra: onnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsupportedOpsWarning)  # printed by the caller instead
        model = load_onnx(path, batch=batch, seq_len=seq_len)
    return model.workload, model.weights, model.unsupported


_Base = tuple[Workload, dict[str, np.ndarray], tuple[str, ...]]


def _base(model: str | None, workload: str | None, batch: int | None, seq_len: int | None,
          weights: Path | None) -> _Base:  # fmt: skip
    """The workload, its weights (ONNX's, replaced by ``weights`` if given) and the op types
    left out of an ONNX import."""
    if model is not None and Path(model).suffix.lower() in MODEL_SUFFIXES:
        wl, arrays, unsupported = _import_onnx(Path(model), batch or 1, seq_len)
    elif model is not None or workload is not None:
        name = model or workload
        assert name is not None
        wl, arrays, unsupported = get_workload(name, **({"batch": batch} if batch else {})), {}, ()
    else:
        raise ConfigError(["give --model FILE.onnx, or --workload NAME with --weights"])
    if weights is not None:
        arrays = bind_weights(wl, load_weight_file(weights), str(weights))
    return wl, arrays, unsupported


def _recipe(pattern: str | None, args: argparse.Namespace) -> Recipe | None:
    if args.recipe is not None:
        if pattern is not None or args.only or args.skip:
            raise ConfigError(["--recipe replaces --prune/--sparsity/--only/--skip; give one"])
        return load_recipe(args.recipe)
    if pattern is None:
        if args.only or args.skip:
            raise ConfigError(["--only/--skip need a pattern (--prune or --sparsity)"])
        return None
    return _flags_recipe(pattern, args.only, args.skip)


def load_model_job(args: argparse.Namespace, pattern: str | None) -> ModelJob:
    """Import or build the model, bind weights, prune as asked (``pattern`` with
    ``--only``/``--skip``, or ``--recipe``); without weights the recipe sets balanced patterns."""
    model = getattr(args, "model", None)
    wl, weights, unsupported = _base(
        None if model is None else str(model), getattr(args, "workload", None),
        args.batch, args.seq_len, args.weights,
    )  # fmt: skip
    recipe = _recipe(pattern, args)
    if recipe is None:  # the patterns the real weights already satisfy
        wl = with_masks(wl, weights)
        assignments = tuple(Assignment(layer=ly.name, rule="", pattern=ly.weight_sparsity)
                            for ly in wl.layers if ly.op.has_weight)  # fmt: skip
        return ModelJob(workload=wl, weights=weights, assignments=assignments,
                        unsupported=unsupported, original=weights)  # fmt: skip
    original = weights
    if weights:
        wl, weights, table = prune_weights(wl, weights, recipe)
    else:
        wl, table = apply_recipe(wl, recipe)
    return ModelJob(workload=wl, weights=weights, assignments=table, unsupported=unsupported,
                    original=original)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# run: the real masks against the balanced estimate


def balanced_pattern(pattern: SparsityPattern, spec: AcceleratorSpec) -> SparsityPattern:
    """The balanced-density twin of a masked pattern: no mask, the mask's real density (an
    N:M weight keeps its pattern where the spec runs it in N:M mode, whose time does not
    depend on the density; elsewhere it is unstructured at the real density)."""
    if pattern.mask is None:
        return pattern
    d = max(mask_density(pattern), 1.0 / pattern.mask.size)
    if isinstance(pattern, Group | Block):
        return replace(pattern, density=d, mask=None)
    nm_mode = isinstance(pattern, NM) and spec.sparsity.supports_nm(pattern.n, pattern.m)
    return replace(pattern, mask=None) if nm_mode else Unstructured(density=d)


def _balanced(workload: Workload, spec: AcceleratorSpec) -> Workload:
    layers = tuple(
        replace(ly, weight_sparsity=balanced_pattern(ly.weight_sparsity, spec))
        for ly in workload.layers
    )
    return replace(workload, layers=layers)


def _fw(run: RunResult) -> dict[str, object]:
    return {r.layer: r for r in run.layers if r.pass_ == Pass.FW}


def _imbalance(notes: tuple[str, ...]) -> str:
    for note in notes:
        if note.startswith("real mask:"):
            return note.rsplit("(imbalance ", 1)[-1].rstrip(")")
    return "-"


def balanced_comparison(job: ModelJob, spec: AcceleratorSpec, real: RunResult) -> str:
    """Per weighted layer: rule, pattern, real density, imbalance, and the forward speedup with
    the real mask against the balanced-density estimate (``*`` where they differ)."""
    balanced = _fw(simulate(_balanced(job.workload, spec), spec))
    real_fw = _fw(real)
    patterns = {ly.name: ly.weight_sparsity for ly in job.workload.layers}
    rows = [("layer", "rule", "pattern", "density", "imbalance", "speedup", "balanced")]
    for a in job.assignments:
        r, b = real_fw.get(a.layer), balanced.get(a.layer)
        if r is None or b is None:
            continue
        mask = patterns[a.layer].mask
        density = f"{np.count_nonzero(mask) / mask.size:.3f}" if mask is not None else "-"
        flag = " *" if r.cycles != b.cycles else ""  # type: ignore[attr-defined]
        rows.append((a.layer, a.rule or "-", str(a.pattern), density,
                     _imbalance(r.notes),  # type: ignore[attr-defined]
                     f"{r.speedup:.3f}x{flag}", f"{b.speedup:.3f}x"))  # type: ignore[attr-defined]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(["sparsity by layer (* real mask differs from the balanced estimate):",
                      *lines])  # fmt: skip


# ---------------------------------------------------------------------------------------------
# prune and inspect


def _cmd_prune(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() != ".npz":
        raise ConfigError([f"--out must be an .npz file, not {args.out}"])
    if args.pattern is None and args.recipe is None:
        raise ConfigError(["sparsim prune needs --pattern or --recipe"])
    check_output_file(args.out, "--out")  # before the model is loaded and pruned
    args.workload = None
    job = load_model_job(args, args.pattern)
    if not job.weights:
        raise ConfigError([f"{args.model}: no weights to prune; give --weights"])
    save_npz(args.out, job.weights)
    for a in job.assignments:
        print(f"  {a.layer}: {a.pattern} ({a.rule or 'no rule'}){_kept(a, job.original)}")
    print(f"wrote {args.out}")
    return 0


def _kept(a: Assignment, original: Mapping[str, np.ndarray] | None) -> str:
    """For a transposable N:M layer: magnitude kept against one-directional N:M."""
    p = a.pattern
    if not (isinstance(p, NM) and p.transposable and original and a.layer in original):
        return ""
    r = transposable_nm_report(as_matrix(original[a.layer]), p.n, p.m)
    return (f"; keeps {r.transposable_kept:.1%} of |W| vs {r.one_way_kept:.1%} for "
            f"{p.n}:{p.m} along K only")  # fmt: skip


def _inspect_arrays(args: argparse.Namespace) -> dict[str, np.ndarray]:
    path = Path(args.model)
    if path.suffix.lower() in WEIGHT_SUFFIXES:
        arrays = load_weight_file(path)
        return {k.removesuffix(".weight"): v for k, v in arrays.items() if v.ndim >= 2}
    _, weights, _ = _base(args.model, None, 1, args.seq_len, args.weights)
    if not weights:
        raise ConfigError([f"{args.model}: no weights to inspect; give --weights"])
    return weights


def _stats_table(stats: Mapping[str, WeightStats], arrays: Mapping[str, np.ndarray]) -> str:
    rows = [("layer", "shape", "density", "best fit", "N:M", "group4", "imbalance",
             "nonzeros/group")]  # fmt: skip
    for name, s in stats.items():
        hist = "/".join(str(c) for c in s.histogram)
        rows.append((name, "x".join(map(str, arrays[name].shape)), f"{s.density:.3f}",
                     str(s.pattern), s.findings[0], s.findings[2].split(": ", 1)[1],
                     f"{s.row_imbalance:.2f}x", f"m={s.hist_m}: {hist}"))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def _share(s: WeightStats, count: int) -> float:
    """Share of a layer's groups holding ``count`` nonzeros."""
    return s.histogram[count] / max(1, sum(s.histogram)) if count < len(s.histogram) else 0.0


def _plot(stats: Mapping[str, WeightStats], out_dir: Path) -> Path:
    from matplotlib.figure import Figure  # ~0.5 s to import: only when a plot is asked for
    from sparsim.simulator.plots import save_png

    names = list(stats)
    fig = Figure(figsize=(max(8.0, 0.4 * len(names)), 7.0), layout="constrained")
    hist_ax, imb_ax = fig.subplots(2, 1)
    bottom = np.zeros(len(names))
    top = max(s.hist_m for s in stats.values())
    for count in range(top + 1):
        share = np.array([_share(s, count) for s in stats.values()])
        hist_ax.bar(names, share, bottom=bottom, label=f"{count} nonzero")
        bottom += share
    hist_ax.set_ylabel("share of groups along K")
    hist_ax.set_title("nonzeros per group of m (m: each layer's N:M, else 4)")
    hist_ax.legend(fontsize=6, ncols=min(top + 1, 9))
    imb_ax.bar(names, [s.row_imbalance for s in stats.values()])
    imb_ax.axhline(1.0, color="black", linewidth=0.8)
    imb_ax.set_ylabel("busiest output channel / mean")
    for ax in (hist_ax, imb_ax):
        ax.tick_params(axis="x", rotation=90, labelsize=6)
    return save_png(fig, out_dir / "sparsity_inspect.png")


def _cmd_inspect(args: argparse.Namespace) -> int:
    arrays = _inspect_arrays(args)
    stats = {name: weight_stats(a) for name, a in arrays.items()}
    print(_stats_table(stats, arrays))
    if args.plot is not None:
        args.plot.mkdir(parents=True, exist_ok=True)
        print(f"wrote {_plot(stats, args.plot)}")
    return 0


def run_model_command(args: argparse.Namespace) -> int:
    """``sparsim prune`` / ``sparsim inspect``."""
    try:
        return _cmd_prune(args) if args.command == "prune" else _cmd_inspect(args)
    except ModelFileError:
        raise
    except ValueError as exc:  # a bad shape or pattern from deeper down: one line
        raise ConfigError([str(exc)]) from None
