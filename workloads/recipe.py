"""Sparsity recipes: which layers get which weight pattern (and dtypes), by ordered rules.

A rule matches layers by name glob (``fnmatch``) and/or op kind; the first matching rule of a
layer decides it. Op kinds (``KINDS``): ``conv`` (any non-depthwise convolution), ``conv1x1``,
``depthwise``, ``linear`` (fully connected and weighted GEMMs), ``attention`` (matrix layers
inside attention blocks: a name part containing ``attn``/``attention``, and the weightless
attention products), ``first`` / ``last`` (the first / last layer with a weight).

Two sources build the same ``Recipe``: the CLI flags ``--sparsity P [--only KINDS] [--skip
KINDS]`` (``recipe_from_flags``) and a YAML file (``load_recipe``)::

    rules:                       # ordered: a layer takes the first rule that matches it
      - kinds: [first, last]     # a kind or a list of kinds
        sparsity: dense
      - layers: "layer4.*"       # a glob or a list of globs (with kinds: both must match)
        sparsity: "2:4"
        weight_dtype: int8
      - kinds: conv1x1
        sparsity: group4:50%

A pattern that cannot describe a layer's weight (``group4`` on a depthwise conv: one output
channel per conv group) is an error naming the rule and the layer, with one exception: a bare
``--sparsity P`` (no ``--only``) means "prune the model with P where P fits", so depthwise convs
P cannot describe stay dense and their ``Assignment`` says so (``LEFT_DENSE``); the CLI prints
one note naming them. Asking for them (``--only depthwise``, a YAML rule) is still an error.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sparsim.workloads._schema import Section, describe, items
from sparsim.workloads._schema import root as schema_root
from sparsim.workloads.layer import DTYPES, Layer, Workload
from sparsim.workloads.ops import Conv2d, Gemm, Linear, MatMul, Vector
from sparsim.workloads.sparsity import NM, Block, Dense, Group, SparsityPattern, parse_sparsity
from sparsim.workloads.yamlio import ConfigError, Problems, load_yaml

__all__ = [
    "KINDS",
    "LEFT_DENSE",
    "Assignment",
    "Recipe",
    "Rule",
    "apply_recipe",
    "layer_kinds",
    "left_dense_note",
    "load_recipe",
    "parse_kinds",
    "pattern_misfit",
    "recipe_from_flags",
    "recipe_from_mapping",
]

KINDS = ("conv", "conv1x1", "depthwise", "linear", "attention", "first", "last")

LEFT_DENSE = "left dense"
"""The tail of an ``Assignment.rule`` whose pattern did not fit a depthwise conv (module
docstring): ``"--sparsity: left dense"``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """Layers matching any of ``layers`` (globs; empty: any name) and any of ``kinds`` (empty:
    any kind) and none of ``skip`` get ``pattern`` and the given dtypes (``None``: unchanged).
    ``label`` names the rule in tables and errors (``rules[2]``, ``--sparsity``).
    ``dense_where_depthwise_misfits``: depthwise convs ``pattern`` cannot describe stay dense
    instead of being an error (a bare ``--sparsity``; module docstring)."""

    label: str
    pattern: SparsityPattern
    layers: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    weight_dtype: str | None = None
    act_dtype: str | None = None
    dense_where_depthwise_misfits: bool = False

    def matches(self, name: str, kinds: frozenset[str]) -> bool:
        by_name = not self.layers or any(fnmatch.fnmatchcase(name, g) for g in self.layers)
        by_kind = not self.kinds or bool(kinds.intersection(self.kinds))
        return by_name and by_kind and not kinds.intersection(self.skip)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """Ordered rules; ``source`` (a file or ``command line``) prefixes every error."""

    source: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    """What a recipe did to one layer with a weight: the deciding rule (``""``: none) and the
    weight pattern it got."""

    layer: str
    rule: str
    pattern: SparsityPattern


# ---------------------------------------------------------------------------------------------
# kinds and fit


def _is_attention(name: str) -> bool:
    return any("attn" in part or "attention" in part for part in name.lower().split("."))


def _own_kinds(layer: Layer) -> set[str]:
    op = layer.op
    kinds: set[str] = set()
    if isinstance(op, Conv2d):
        kinds.add("depthwise" if op.is_depthwise else "conv")
        if op.kernel == (1, 1) and not op.is_depthwise:
            kinds.add("conv1x1")
    elif isinstance(op, Linear | Gemm) and op.has_weight:
        kinds.add("linear")
    if isinstance(op, MatMul) or (not isinstance(op, Vector) and _is_attention(layer.name)):
        kinds.add("attention")
    return kinds


def layer_kinds(workload: Workload) -> dict[str, frozenset[str]]:
    """Every matrix layer's kinds (``KINDS``); vector layers are left out."""
    weighted = [ly.name for ly in workload.layers if ly.op.has_weight]
    out = {}
    for layer in workload.layers:
        if isinstance(layer.op, Vector):
            continue
        kinds = _own_kinds(layer)
        if weighted and layer.name == weighted[0]:
            kinds.add("first")
        if weighted and layer.name == weighted[-1]:
            kinds.add("last")
        out[layer.name] = frozenset(kinds)
    return out


def pattern_misfit(layer: Layer, pattern: SparsityPattern) -> str | None:
    """Why ``pattern`` cannot describe ``layer``'s weight (GEMM ``K x N`` per conv group), or
    ``None`` when it fits."""
    if isinstance(pattern, Dense):
        return None
    if not layer.op.has_weight or isinstance(layer.op, Vector):
        return f"{layer.name} has no weight to prune"
    dims = layer.op.gemm()
    what = "depthwise conv" if isinstance(layer.op, Conv2d) and layer.op.is_depthwise else ""
    per_group = " per conv group" if dims.count > 1 else ""
    if isinstance(pattern, Group) and pattern.size > dims.n:
        return (
            f"{pattern} needs {pattern.size} output channels sharing a pattern; {layer.name} "
            f"{'(' + what + ') ' if what else ''}has {dims.n} output channel(s){per_group}"
        )
    if isinstance(pattern, NM) and (dims.k if pattern.axis == "k" else dims.n) < pattern.m:
        extent = f"K={dims.k}" if pattern.axis == "k" else f"N={dims.n}"
        return f"{pattern} needs groups of {pattern.m}; {layer.name} has {extent}{per_group}"
    if isinstance(pattern, NM) and pattern.transposable and dims.n < pattern.m:
        return (
            f"{pattern} needs groups of {pattern.m} output channels too; {layer.name} has "
            f"N={dims.n}{per_group}"
        )
    if isinstance(pattern, Block) and (pattern.rows > dims.k or pattern.cols > dims.n):
        return (
            f"{pattern} needs a {pattern.rows}x{pattern.cols} block; {layer.name}'s weight is "
            f"K={dims.k} x N={dims.n}{per_group}"
        )
    return None


# ---------------------------------------------------------------------------------------------
# applying a recipe


def _apply_rule(layer: Layer, rule: Rule) -> Layer:
    changes: dict[str, Any] = {}
    if layer.op.has_weight:
        changes["weight_sparsity"] = rule.pattern
        if rule.weight_dtype:
            changes["weight_dtype"] = rule.weight_dtype
    if rule.act_dtype:
        changes["act_dtype"] = rule.act_dtype
    return replace(layer, **changes)


def _first_rule(recipe: Recipe, name: str, kinds: dict[str, frozenset[str]]) -> Rule | None:
    if name not in kinds:  # vector layers take no rule
        return None
    return next((r for r in recipe.rules if r.matches(name, kinds[name])), None)


def _misfit_line(source: str, label: str, found: list[tuple[str, str]]) -> str:
    """One line per rule: the first misfit in full, the other layers by name."""
    line = f"{source}: {label}: {found[0][1]}"
    if len(found) > 1:
        others = [name for name, _ in found[1:]]
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        line += f" (and {len(others)} more layers: {shown})"
    return line


def _flag_hint(
    recipe: Recipe, found: list[tuple[str, str]], kinds: dict[str, frozenset[str]]
) -> str:
    """For ``--sparsity --only``: how to leave misfitting depthwise convs dense."""
    if recipe.source == "command line" and all("depthwise" in kinds[n] for n, _ in found):
        return "; leave depthwise out of --only to run them dense"
    return ""


def left_dense_note(assignments: Iterable[Assignment], pattern: str) -> str | None:
    """One line naming the depthwise convs a bare ``--sparsity`` left dense (module
    docstring), or ``None``."""
    left = [a.layer for a in assignments if a.rule.endswith(f": {LEFT_DENSE}")]
    if not left:
        return None
    shown = ", ".join(left[:4]) + (", ..." if len(left) > 4 else "")
    return (f"--sparsity {pattern} cannot describe {len(left)} depthwise conv(s) (one output "
            f"channel per conv group): they run dense ({shown})")  # fmt: skip


def apply_recipe(workload: Workload, recipe: Recipe) -> tuple[Workload, tuple[Assignment, ...]]:
    """``workload`` with each matrix layer set by its first matching rule, and per weighted
    layer the rule that decided it. Raises ``ConfigError`` listing every misfit and every rule
    that matches no layer."""
    kinds = layer_kinds(workload)
    used: set[str] = set()
    misfits: dict[str, list[tuple[str, str]]] = {}
    layers, assignments = [], []
    for layer in workload.layers:
        rule = _first_rule(recipe, layer.name, kinds)
        label = rule.label if rule else ""
        if rule is not None:
            used.add(rule.label)
            misfit = pattern_misfit(layer, rule.pattern) if layer.op.has_weight else None
            if misfit and rule.dense_where_depthwise_misfits and "depthwise" in kinds[layer.name]:
                label = f"{rule.label}: {LEFT_DENSE}"
            else:
                if misfit:
                    misfits.setdefault(rule.label, []).append((layer.name, misfit))
                layer = _apply_rule(layer, rule)
        layers.append(layer)
        if layer.op.has_weight:
            assignments.append(
                Assignment(layer=layer.name, rule=label, pattern=layer.weight_sparsity)
            )
    problems = [_misfit_line(recipe.source, label, found) + _flag_hint(recipe, found, kinds)
                for label, found in misfits.items()]  # fmt: skip
    for rule in recipe.rules:
        if rule.label not in used:
            problems.append(f"{recipe.source}: {rule.label}: matches no layer of {workload.name}")
    if problems:
        raise ConfigError(problems)
    return replace(workload, layers=tuple(layers)), tuple(assignments)


# ---------------------------------------------------------------------------------------------
# sources: command-line flags and YAML


def parse_kinds(text: str, flag: str) -> tuple[str, ...]:
    """A comma list of ``KINDS`` (``--only`` / ``--skip``); raises ``ConfigError``."""
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        got = ", ".join(bad) if bad else "nothing"
        raise ConfigError([f"{flag}: unknown kind {got}; allowed: {', '.join(KINDS)}"])
    return kinds


def recipe_from_flags(sparsity: str, only: str | None = None, skip: str | None = None) -> Recipe:
    """The one rule ``--sparsity P [--only KINDS] [--skip KINDS]`` stands for."""
    kinds = parse_kinds(only, "--only") if only is not None else ()
    skipped = parse_kinds(skip, "--skip") if skip is not None else ()
    rule = Rule(label="--sparsity", pattern=parse_sparsity(sparsity), kinds=kinds, skip=skipped,
                dense_where_depthwise_misfits=only is None)  # fmt: skip
    return Recipe(source="command line", rules=(rule,))


def _strings(what: str, allowed: Iterable[str] | None = None) -> Callable[[Any], tuple[str, ...]]:
    """Reader of a string or a non-empty list of strings (each in ``allowed`` if given)."""
    choices = tuple(allowed) if allowed is not None else None

    def convert(value: Any) -> tuple[str, ...]:
        values = [value] if isinstance(value, str) else value
        ok = isinstance(values, list) and values and all(isinstance(v, str) and v for v in values)
        if not ok:
            raise ValueError(
                f"must be a {what} or a non-empty list of them, not {describe(value)}"
            )
        bad = [v for v in values if choices is not None and v not in choices]
        if bad:
            raise ValueError(f"unknown kind {', '.join(bad)}; allowed: {', '.join(choices or ())}")
        return tuple(values)

    return convert


def _pattern(value: Any) -> SparsityPattern:
    if not isinstance(value, str):
        raise ValueError(f"must be a string such as 2:4 or group4:50%, not {describe(value)}")
    return parse_sparsity(value)


def _rule(sec: Section, index: int) -> Rule | None:
    sec.allow(("layers", "kinds", "sparsity", "weight_dtype", "act_dtype"))
    layers = sec.converted("layers", _strings("glob"), ())
    kinds = sec.converted("kinds", _strings("kind", KINDS), ())
    pattern = sec.converted("sparsity", _pattern)
    weight_dtype = sec.choice("weight_dtype", DTYPES, None)
    act_dtype = sec.choice("act_dtype", DTYPES, None)
    if "layers" not in sec.data and "kinds" not in sec.data:
        sec.add(None, "needs layers (name globs) or kinds (op kinds) to say what it matches")
    if None in (layers, kinds, pattern):
        return None
    return Rule(
        label=f"rules[{index}]", pattern=pattern, layers=layers, kinds=kinds,
        weight_dtype=weight_dtype, act_dtype=act_dtype,
    )  # fmt: skip


def recipe_from_mapping(data: Any, source: str) -> Recipe:
    """Validate parsed YAML (``load_recipe``); raises ``ConfigError`` listing every problem."""
    problems = Problems(source)
    top = schema_root(problems, data, ("rules",))
    rules = [
        _rule(sec, i) if sec is not None else None
        for i, sec in enumerate(items(top, "rules", required=True))
    ]
    problems.raise_if_any()
    return Recipe(source=source, rules=tuple(r for r in rules if r is not None))


def load_recipe(path: str | Path) -> Recipe:
    """Read a recipe file (module docstring)."""
    return recipe_from_mapping(load_yaml(path), str(path))
