"""Per-tensor precision read from a workload file's layer or from run options, with the one
validation framework (``workloads._schema.Section``): an unknown dtype name is an error naming
the key (or option) and every allowed value.

Keys (each optional): ``weight_dtype``, ``act_dtype``, ``kv_dtype``, ``psum_dtype``,
``grad_dtype`` (``workloads.layer.Layer``) and ``weight_quant: {group_size: 128, scale_dtype:
fp16, zero_point: false}`` (``workloads.dtypes.Quantization``).
"""

from __future__ import annotations

from typing import Any

from sparsim.workloads._schema import Section, describe, is_int, root
from sparsim.workloads.dtypes import DTYPES, QUANT_GROUP_SIZES, Quantization
from sparsim.workloads.layer import DTYPE_FIELDS, Workload
from sparsim.workloads.yamlio import Problems

__all__ = ["PRECISION_KEYS", "SCALE_DTYPES", "apply_precision_options", "read_precision"]

PRECISION_KEYS = (*DTYPE_FIELDS, "weight_quant")
"""A layer's precision keys (module docstring)."""

SCALE_DTYPES = (*(d for d in DTYPES if d.startswith(("fp", "bf"))), "int8")
"""Formats a quantization scale may take."""

_ABSENT: Any = object()


def _group_size(value: Any) -> int:
    if not (is_int(value) and value in QUANT_GROUP_SIZES):
        sizes = ", ".join(map(str, QUANT_GROUP_SIZES))
        raise ValueError(f"must be one of {sizes}, not {describe(value)}")
    return int(value)


def _quantization(sec: Section | None) -> Any:
    """``weight_quant``'s mapping as a ``Quantization`` (``None``: a problem was recorded)."""
    if sec is None:
        return None
    sec.allow(("group_size", "scale_dtype", "zero_point"))
    size = sec.converted("group_size", _group_size, 128)
    scale = sec.choice("scale_dtype", SCALE_DTYPES, "fp16")
    zero = sec.boolean("zero_point", False)
    if None in (size, scale, zero):
        return None
    return Quantization(group_size=size, scale_dtype=scale, zero_point=zero)


def read_precision(sec: Section) -> dict[str, Any] | None:
    """The precision keys ``sec`` gives, as ``Layer`` fields; ``None`` if any is wrong (its
    problem recorded). The caller allows the keys (``Section.allow``)."""
    values = {key: sec.choice(key, DTYPES, _ABSENT) for key in DTYPE_FIELDS}
    if "weight_quant" in sec.data:
        values["weight_quant"] = _quantization(sec.section("weight_quant"))
    if None in values.values():
        return None
    return {key: value for key, value in values.items() if value is not _ABSENT}


def apply_precision_options(
    workload: Workload, options: dict[str, Any], source: str = "command line"
) -> Workload:
    """``workload`` with run options applied to every layer they fit
    (``Workload.with_precision``). ``options`` maps option names (``--kv-dtype``) to values
    (``None``: not given); the quantization ones are ``--quant-group``, ``--scale-dtype`` and
    ``--zero-point``. Raises one ``ConfigError`` naming each bad option and what is allowed."""
    problems = Problems(source)
    given = {key: value for key, value in options.items() if value is not None}
    sec = root(problems, given, tuple(options))
    dtypes = {f"--{f.removesuffix('_dtype')}-dtype": f for f in DTYPE_FIELDS}
    values = {field: sec.choice(opt, DTYPES, _ABSENT) for opt, field in dtypes.items()}
    quant = None
    size = sec.converted("--quant-group", _group_size, None)
    scale = sec.choice("--scale-dtype", SCALE_DTYPES, "fp16")
    zero = sec.boolean("--zero-point", False)
    if size is not None and scale is not None and zero is not None:
        quant = Quantization(group_size=size, scale_dtype=scale, zero_point=zero)
    elif "--quant-group" not in given and ("--scale-dtype" in given or zero):
        problems.add("--quant-group", "missing: --scale-dtype and --zero-point describe the "
                     "quantization groups --quant-group sets")
    problems.raise_if_any()
    set_ = {f.removesuffix("_dtype"): v for f, v in values.items() if v is not _ABSENT}
    return workload.with_precision(**set_, quant=quant)
