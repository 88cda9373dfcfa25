"""Real weights on a workload: bind named arrays to layers, attach their masks, prune them.

Weights are kept in their framework shapes (conv ``(C_out, C_in/g, kh, kw)``, fully connected
``(out, in)``), keyed by layer name. A layer's GEMM-view mask (``K x N`` with ``N`` = all output
channels, conv groups side by side) is ``(as_matrix(w) != 0).T``: what ``simulator.mapping``
reads to find the real per-lane work.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
from sparsim.workloads.detect import as_matrix, weight_stats
from sparsim.workloads.layer import Layer, Workload
from sparsim.workloads.ops import Conv2d, Gemm, Linear, Op, Vector
from sparsim.workloads.pruning import mask_for
from sparsim.workloads.recipe import Assignment, Recipe, apply_recipe
from sparsim.workloads.sparsity import Dense, SparsityPattern
from sparsim.workloads.yamlio import ConfigError

__all__ = ["bind_weights", "expected_shape", "prune_weights", "with_masks"]

_IGNORED_SUFFIXES = (".bias", ".running_mean", ".running_var", ".num_batches_tracked")
"""State-dict entries that are not matrix weights (biases, BatchNorm buffers)."""


def expected_shape(op: Op) -> tuple[int, ...]:
    """The framework shape of an op's weight (module docstring)."""
    if isinstance(op, Conv2d):
        return (op.out_channels, op.in_channels // op.groups, *op.kernel)
    if isinstance(op, Linear):
        return (op.out_features, op.in_features)
    if isinstance(op, Gemm) and op.has_weight:
        return (op.n, op.k)
    raise ValueError(f"{type(op).__name__} has no weight")


def _layer_of(key: str, weighted: Mapping[str, Layer], others: set[str]) -> str | None:
    """The weighted layer a file key names (``name`` or ``name.weight``); ``""`` for an entry
    that is not a matrix weight (bias, BatchNorm parameters); ``None`` if unknown."""
    base = key.removesuffix(".weight")
    if base in weighted:
        return base
    if key.endswith(_IGNORED_SUFFIXES) or base in others:
        return ""
    return None


def _unknown(source: str, key: str, workload: Workload, weighted: Mapping[str, Layer]) -> str:
    close = difflib.get_close_matches(key.removesuffix(".weight"), list(weighted), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{source}: array {key!r} names no layer of {workload.name}{hint}"


def bind_weights(
    workload: Workload, arrays: Mapping[str, np.ndarray], source: str
) -> dict[str, np.ndarray]:
    """Each weighted layer's array from ``arrays`` (keys ``<layer>`` or ``<layer>.weight``).
    Raises ``ConfigError`` listing unknown names, layers without an array and shape
    mismatches."""
    weighted = {ly.name: ly for ly in workload.layers if ly.op.has_weight}
    others = {ly.name for ly in workload.layers if isinstance(ly.op, Vector)}
    problems, bound = [], {}
    for key, array in arrays.items():
        name = _layer_of(key, weighted, others)
        if name is None:
            problems.append(_unknown(source, key, workload, weighted))
        elif name:
            want = expected_shape(weighted[name].op)
            if tuple(array.shape) != want:
                problems.append(
                    f"{source}: layer {name}: array {key!r} has shape {tuple(array.shape)}, "
                    f"the model needs {want}"
                )
            bound[name] = np.asarray(array)
    for name, layer in weighted.items():
        if name not in bound:
            problems.append(
                f"{source}: no array for layer {name} (shape {expected_shape(layer.op)})"
            )
    if problems:
        raise ConfigError(problems)
    return bound


def _masked(pattern: SparsityPattern, weight: np.ndarray) -> SparsityPattern:
    """``pattern`` carrying the GEMM-view mask of ``weight``'s nonzeros."""
    if isinstance(pattern, Dense):
        return pattern
    return replace(pattern, mask=np.ascontiguousarray((as_matrix(weight) != 0).T))


def with_masks(workload: Workload, weights: Mapping[str, np.ndarray]) -> Workload:
    """Every weighted layer with a bound weight gets the pattern that weight best fits
    (``detect.best_pattern``), carrying its real mask."""
    layers = tuple(
        replace(ly, weight_sparsity=weight_stats(weights[ly.name]).pattern)
        if ly.name in weights
        else ly
        for ly in workload.layers
    )
    return replace(workload, layers=layers)


def prune_weights(
    workload: Workload, weights: Mapping[str, np.ndarray], recipe: Recipe
) -> tuple[Workload, dict[str, np.ndarray], tuple[Assignment, ...]]:
    """Magnitude-prune the bound weights as ``recipe`` says. Returns the workload whose
    patterns carry the real masks of the pruned weights, the pruned weights (same shapes and
    dtypes) and which rule decided each layer. An already-zero weight stays zero, so a layer's
    real mask may be sparser (and less balanced) than its pattern."""
    planned, table = apply_recipe(workload, recipe)
    pruned = dict(weights)
    layers = []
    for layer in planned.layers:
        pattern = layer.weight_sparsity
        if layer.name in weights and not isinstance(pattern, Dense):
            w = weights[layer.name]
            keep = mask_for(as_matrix(w), pattern).reshape(w.shape)
            pruned[layer.name] = np.where(keep, w, 0).astype(w.dtype)
            layer = replace(layer, weight_sparsity=_masked(pattern, pruned[layer.name]))
        layers.append(layer)
    return replace(planned, layers=tuple(layers)), pruned, table
