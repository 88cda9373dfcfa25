"""Workloads written layer by layer in YAML (see ``configs/workloads/example_layers.yaml``).

Validated with the same ``Section`` reads as accelerator specs (``workloads._schema``): every
problem in a file is collected and reported at once, each as
``<file>: layers[2].conv2d.stride: <what is wrong>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparsim.workloads._schema import REQUIRED, Section, describe, is_int, items
from sparsim.workloads._schema import root as schema_root
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Conv2d, Gemm, Linear, MatMul, Op, Vector, VectorKind
from sparsim.workloads.precision_options import PRECISION_KEYS, read_precision
from sparsim.workloads.sparsity import parse_sparsity
from sparsim.workloads.yamlio import Problems, load_yaml

__all__ = ["MAX_LAYERS", "load_workload_yaml", "workload_from_mapping"]

_ABSENT: Any = object()
"""Default of an optional key: left out, so the op's own default applies."""

FieldReader = Callable[[Section, str, Any], Any]
"""Reads one key of a section with a default; ``None`` means a problem was recorded."""


def _positive(sec: Section, key: str, default: Any) -> Any:
    return sec.integer(key, default, lo=1)


def _flag(sec: Section, key: str, default: Any) -> Any:
    return sec.boolean(key, default)


def _pair_at_least(low: int) -> FieldReader:
    """An int ``v`` (meaning ``[v, v]``) or a list of two ints, each >= ``low``."""

    def convert(value: Any) -> tuple[int, int]:
        pair = value if isinstance(value, list) else [value, value]
        if len(pair) == 2 and all(is_int(v) and v >= low for v in pair):
            return (pair[0], pair[1])
        raise ValueError(f"must be an int or a list of two ints >= {low}, not {describe(value)}")

    def read(sec: Section, key: str, default: Any) -> Any:
        return sec.converted(key, convert, default)

    return read


def _kind(sec: Section, key: str, default: Any) -> Any:
    value = sec.choice(key, tuple(kind.value for kind in VectorKind), default)
    return value if value in (None, _ABSENT) else VectorKind(value)


def _sparsity(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(
            f"must be a string such as 2:8 or unstructured:50%, not {describe(value)}"
        )
    return parse_sparsity(value)  # SparsityError is a ValueError


@dataclass(frozen=True, slots=True)
class _OpSchema:
    """One op key: the class it builds, each field's reader, and the required fields."""

    cls: type[Op]
    readers: Mapping[str, FieldReader]
    required: tuple[str, ...]


def _positives(*names: str) -> dict[str, FieldReader]:
    return dict.fromkeys(names, _positive)


_CONV_FIELDS = ("batch", "in_channels", "out_channels", "height", "width", "groups")
_OPS: dict[str, _OpSchema] = {
    "gemm": _OpSchema(Gemm, {**_positives("m", "n", "k"), "has_weight": _flag}, ("m", "n", "k")),
    "linear": _OpSchema(
        Linear,
        {**_positives("tokens", "in_features", "out_features"), "bias": _flag},
        ("tokens", "in_features", "out_features"),
    ),
    "conv2d": _OpSchema(
        Conv2d,
        {
            **_positives(*_CONV_FIELDS),
            "kernel": _pair_at_least(1),
            "stride": _pair_at_least(1),
            "padding": _pair_at_least(0),
            "dilation": _pair_at_least(1),
            "bias": _flag,
        },
        ("in_channels", "out_channels", "height", "width"),
    ),
    "matmul": _OpSchema(MatMul, _positives("batch", "m", "n", "k"), ("batch", "m", "n", "k")),
    "vector": _OpSchema(
        Vector,
        {
            "kind": _kind,
            "elements": _positive,
            "flops_per_element": _positive,
            "read_elements": _positive,
            "written_elements": _positive,
        },
        ("kind", "elements"),
    ),
}
_LAYER_KEYS = ("name", "weight_sparsity", "act_sparsity", *PRECISION_KEYS, *_OPS)
_PHASES = tuple(phase.value for phase in Phase)


def _read_fields(sec: Section, schema: _OpSchema) -> dict[str, Any] | None:
    """The op's fields that were given; ``None`` if any is wrong or a required one is missing."""
    sec.allow(schema.readers)
    values = {
        key: read(sec, key, REQUIRED if key in schema.required else _ABSENT)
        for key, read in schema.readers.items()
    }
    if None in values.values():
        return None
    return {key: value for key, value in values.items() if value is not _ABSENT}


def _read_op(layer: Section, batch: int | None) -> Op | None:
    """The layer's single op (conv2d's batch defaults to the file's)."""
    keys = [key for key in _OPS if key in layer.data]
    if len(keys) != 1:
        found = ", ".join(keys) or "none"
        layer.add(None, f"needs exactly one op key of {', '.join(_OPS)}; found {found}")
        return None
    schema = _OPS[keys[0]]
    sec = layer.section(keys[0])
    values = None if sec is None else _read_fields(sec, schema)
    if sec is None or values is None or batch is None:
        return None
    if schema.cls is Conv2d:
        values.setdefault("batch", batch)
    try:
        return schema.cls(**values)
    except ValueError as exc:
        sec.add(None, str(exc))
        return None


def _read_layer(sec: Section | None, batch: int | None) -> Layer | None:
    if sec is None:
        return None
    sec.allow(_LAYER_KEYS)
    settings = {
        "name": sec.text("name"),
        "weight_sparsity": sec.converted("weight_sparsity", _sparsity, _ABSENT),
        "act_sparsity": sec.converted("act_sparsity", _sparsity, _ABSENT),
    }
    precision = read_precision(sec)
    op = _read_op(sec, batch)
    if op is None or precision is None or None in settings.values():
        return None
    settings.update(precision)
    try:
        return Layer(op=op, **{k: v for k, v in settings.items() if v is not _ABSENT})
    except ValueError as exc:
        sec.add(None, str(exc))
        return None


def _check_unique_names(layers: list[Section | None]) -> None:
    first: dict[str, int] = {}
    for i, sec in enumerate(layers):
        name = None if sec is None else sec.data.get("name")
        if sec is None or not isinstance(name, str):
            continue
        if name in first:
            sec.add("name", f"duplicate layer name {name!r} (see layers[{first[name]}])")
        first.setdefault(name, i)


_TOP_KEYS = ("name", "phase", "batch", "input_gradient", "layers")

MAX_LAYERS = 10_000
"""Most layers a workload file may list (assumed: 15x the 675 problems of llama2_7b training)."""


def _layer_sections(root: Section) -> list[Section | None]:
    """The ``layers`` list, refused whole (before any layer is read) when over ``MAX_LAYERS``."""
    layers = root.data.get("layers")
    if isinstance(layers, list) and len(layers) > MAX_LAYERS:
        root.add("layers", f"{len(layers):,} layers; at most {MAX_LAYERS:,} (split the file)")
        return []
    return items(root, "layers", required=True)


def workload_from_mapping(data: Any, source: str) -> Workload:
    """Validate parsed YAML ``data`` (read from ``source``, named in every error line) and
    build the workload; raise one ``ConfigError`` listing every problem."""
    problems = Problems(source)
    root = schema_root(problems, data, _TOP_KEYS)
    name = root.text("name")
    phase = root.choice("phase", _PHASES, Phase.INFERENCE.value)
    batch = root.integer("batch", 1, lo=1)
    input_gradient = root.boolean("input_gradient", True)
    sections = _layer_sections(root)
    _check_unique_names(sections)
    layers = [_read_layer(sec, batch) for sec in sections]
    problems.raise_if_any()
    return Workload(
        name=name, layers=tuple(layer for layer in layers if layer is not None),
        phase=Phase(phase), batch=batch, input_gradient=bool(input_gradient),
    )  # fmt: skip


def load_workload_yaml(path: str | Path) -> Workload:
    """Read and validate a workload file; raises ``ConfigError`` listing every problem."""
    return workload_from_mapping(load_yaml(path), str(path))
