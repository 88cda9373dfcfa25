"""Workloads written layer by layer in YAML (see ``configs/workloads/example_layers.yaml``).

Every problem in a file is collected and reported at once, each as
``<file>: layers[2].conv2d.stride: <what is wrong>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparsim.workloads.layer import DTYPES, Layer, Phase, Workload
from sparsim.workloads.ops import Conv2d, Gemm, Linear, MatMul, Op, Vector, VectorKind
from sparsim.workloads.sparsity import parse_sparsity
from sparsim.workloads.yamlio import Problems, load_yaml, yaml_path

__all__ = ["load_workload_yaml"]

Reader = Callable[[Any], Any]
"""Converts one YAML value, or raises ``ValueError`` saying what is allowed."""


def _int_at_least(low: int) -> Reader:
    def read(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"must be an int >= {low}, not {value!r}")
        return value

    return read


def _pair_at_least(low: int) -> Reader:
    """An int ``v`` (meaning ``[v, v]``) or a list of two ints, each >= ``low``."""
    read_int = _int_at_least(low)

    def read(value: Any) -> tuple[int, int]:
        pair = [value, value] if not isinstance(value, list) else value
        try:
            if len(pair) != 2:
                raise ValueError
            return (read_int(pair[0]), read_int(pair[1]))
        except ValueError:
            raise ValueError(
                f"must be an int or a list of two ints >= {low}, not {value!r}"
            ) from None

    return read


def _choice(allowed: tuple[str, ...]) -> Reader:
    def read(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, not {value!r}")
        return value

    return read


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _name(value: Any) -> str:
    if not (isinstance(value, str) and value.strip()):
        raise ValueError(f"must be a non-empty string, not {value!r}")
    return value


def _sparsity(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"must be a string such as 2:8 or unstructured:50%, not {value!r}")
    return parse_sparsity(value)  # SparsityError is a ValueError


def _raw(value: Any) -> Any:
    return value


_POSITIVE = _int_at_least(1)


@dataclass(frozen=True, slots=True)
class _Schema:
    """Keys of one YAML mapping: each key's reader, and which keys must be present."""

    readers: Mapping[str, Reader]
    required: tuple[str, ...]


def _positive_keys(*names: str) -> dict[str, Reader]:
    return dict.fromkeys(names, _POSITIVE)


_OPS: dict[str, tuple[type[Op], _Schema]] = {
    "gemm": (
        Gemm,
        _Schema({**_positive_keys("m", "n", "k"), "has_weight": _bool}, ("m", "n", "k")),
    ),
    "linear": (
        Linear,
        _Schema(
            {**_positive_keys("tokens", "in_features", "out_features"), "bias": _bool},
            ("tokens", "in_features", "out_features"),
        ),
    ),
    "conv2d": (
        Conv2d,
        _Schema(
            {
                **_positive_keys(
                    "batch", "in_channels", "out_channels", "height", "width", "groups"
                ),
                "kernel": _pair_at_least(1),
                "stride": _pair_at_least(1),
                "padding": _pair_at_least(0),
                "dilation": _pair_at_least(1),
                "bias": _bool,
            },
            ("in_channels", "out_channels", "height", "width"),
        ),
    ),
    "matmul": (MatMul, _Schema(_positive_keys("batch", "m", "n", "k"), ("batch", "m", "n", "k"))),
    "vector": (
        Vector,
        _Schema(
            {
                "kind": _choice(tuple(kind.value for kind in VectorKind)),
                "elements": _POSITIVE,
                "flops_per_element": _POSITIVE,
            },
            ("kind", "elements"),
        ),
    ),
}

_LAYER = _Schema(
    {
        "name": _name,
        "weight_sparsity": _sparsity,
        "act_sparsity": _sparsity,
        "weight_dtype": _choice(DTYPES),
        "act_dtype": _choice(DTYPES),
        **dict.fromkeys(_OPS, _raw),
    },
    ("name",),
)
_WORKLOAD = _Schema(
    {
        "name": _name,
        "phase": _choice(tuple(phase.value for phase in Phase)),
        "batch": _POSITIVE,
        "layers": _raw,
    },
    ("name", "layers"),
)


def _child(path: str, key: str) -> str:
    return key if path == "<root>" else yaml_path(path, key)


def _read(problems: Problems, path: str, data: Any, schema: _Schema) -> dict[str, Any] | None:
    """The keys of mapping ``data`` that read cleanly; ``None`` if ``data`` is not a mapping."""
    if not isinstance(data, dict):
        problems.add(path, f"must be a mapping, not {type(data).__name__}")
        return None
    problems.unknown_keys(path, data, schema.readers)
    for key in schema.required:
        if key not in data:
            problems.add(_child(path, key), "missing required key")
    values = {}
    for key, reader in schema.readers.items():
        if key in data:
            try:
                values[key] = reader(data[key])
            except ValueError as exc:
                problems.add(_child(path, key), str(exc))
    return values


def _read_op(problems: Problems, path: str, fields: dict[str, Any], batch: int) -> Op | None:
    """The layer's single op, built from its fields (conv2d's batch defaults to the file's)."""
    keys = [key for key in _OPS if key in fields]
    if len(keys) != 1:
        found = ", ".join(keys) or "none"
        problems.add(path, f"needs exactly one op key of {', '.join(_OPS)}; found {found}")
        return None
    cls, schema = _OPS[keys[0]]
    op_path = yaml_path(path, keys[0])
    before = len(problems.lines)
    values = _read(problems, op_path, fields[keys[0]], schema)
    if values is None or len(problems.lines) > before:
        return None
    if cls is Conv2d:
        values.setdefault("batch", batch)
    try:
        return cls(**values)
    except ValueError as exc:
        problems.add(op_path, str(exc))
        return None


def _read_layer(problems: Problems, path: str, data: Any, batch: int) -> Layer | None:
    before = len(problems.lines)
    fields = _read(problems, path, data, _LAYER)
    if fields is None:
        return None
    op = _read_op(problems, path, fields, batch)
    if op is None or len(problems.lines) > before:
        return None
    settings = {key: value for key, value in fields.items() if key not in _OPS}
    try:
        return Layer(op=op, **settings)
    except ValueError as exc:
        problems.add(path, str(exc))
        return None


def _check_unique_names(problems: Problems, layers: list[Any]) -> None:
    first: dict[str, int] = {}
    for i, layer in enumerate(layers):
        name = layer.get("name") if isinstance(layer, dict) else None
        if not isinstance(name, str):
            continue
        if name in first:
            where = yaml_path("layers", first[name])
            problems.add(
                yaml_path("layers", i, "name"), f"duplicate layer name {name!r} (see {where})"
            )
        first.setdefault(name, i)


def _read_layers(problems: Problems, data: Any, batch: int) -> list[Layer | None]:
    if not (isinstance(data, list) and data):
        problems.add("layers", f"must be a non-empty list of layers, not {data!r}")
        return []
    _check_unique_names(problems, data)
    return [
        _read_layer(problems, yaml_path("layers", i), item, batch) for i, item in enumerate(data)
    ]


def load_workload_yaml(path: str | Path) -> Workload:
    """Read and validate a workload file; raises ``ConfigError`` listing every problem."""
    problems = Problems(path)
    top = _read(problems, "<root>", load_yaml(path), _WORKLOAD) or {}
    batch = top.get("batch", 1)
    layers = _read_layers(problems, top["layers"], batch) if "layers" in top else []
    problems.raise_if_any()
    return Workload(
        name=top["name"],
        layers=tuple(layer for layer in layers if layer is not None),
        phase=top.get("phase", Phase.INFERENCE),
        batch=batch,
    )
