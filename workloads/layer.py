"""A layer is an op plus how sparse and how wide its operands are; a workload is layers in order."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sparsim.workloads.dtypes import DTYPES, Quantization
from sparsim.workloads.ops import MatMul, Op, Vector
from sparsim.workloads.sparsity import Dense, SparsityPattern

__all__ = ["DTYPES", "DTYPE_FIELDS", "Layer", "Phase", "Workload"]

DTYPE_FIELDS = ("weight_dtype", "act_dtype", "kv_dtype", "psum_dtype", "grad_dtype")
"""A layer's per-tensor dtypes (``Layer``)."""


class Phase(StrEnum):
    INFERENCE = "inference"
    TRAINING = "training"


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """One op. ``weight_sparsity`` applies to ops with a weight; ``act_sparsity`` describes the
    input activations (only its density matters: activation zeros are unstructured).

    Per-tensor dtypes (names in ``workloads.dtypes.DTYPES``; ``None``: the accelerator's
    precision for that operand role, ``accel.spec.PrecisionSpec``): ``weight_dtype`` the
    weights, ``act_dtype`` input and output activations, ``kv_dtype`` the KV cache (the
    ``K``/``V`` operand of a ``MatMul``; ``None``: the activation dtype), ``psum_dtype`` partial
    sums, ``grad_dtype`` gradients (training). ``weight_quant``: the weights carry per-group
    scales (and zero points), ``workloads.dtypes.Quantization``."""

    name: str
    op: Op
    weight_sparsity: SparsityPattern = field(default_factory=Dense)
    act_sparsity: SparsityPattern = field(default_factory=Dense)
    weight_dtype: str | None = None
    act_dtype: str | None = None
    kv_dtype: str | None = None
    psum_dtype: str | None = None
    grad_dtype: str | None = None
    weight_quant: Quantization | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("Layer.name must not be empty")
        for attr in DTYPE_FIELDS:
            if getattr(self, attr) not in (None, *DTYPES):
                raise ValueError(f"Layer {self.name}: {attr} must be one of {', '.join(DTYPES)}, "
                                 f"not {getattr(self, attr)!r}")  # fmt: skip
        if not self.op.has_weight and not isinstance(self.weight_sparsity, Dense):
            raise ValueError(f"Layer {self.name}: {type(self.op).__name__} has no weight to prune")

    @property
    def is_vector(self) -> bool:
        return isinstance(self.op, Vector)

    @property
    def macs(self) -> int:
        return self.op.macs


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    """Layers in execution order. ``extra_weight_elements`` counts parameters no matrix layer
    reads as its weight (embedding tables, position embeddings, norm scales and shifts), so
    ``weight_elements`` matches a model's published parameter count. ``input_gradient``:
    whether training computes the gradient of the workload's input (``True``: the workload may
    be a slice of a bigger network, or trainable embeddings feed it; ``False``: its input is
    data, such as images, so the first weighted layer's backward-data pass and the backward of
    any layer before it are not run, as autograd skips tensors needing no gradient)."""

    name: str
    layers: tuple[Layer, ...]
    phase: Phase = Phase.INFERENCE
    batch: int = 1
    extra_weight_elements: int = 0
    input_gradient: bool = True

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError(f"Workload {self.name}: no layers")
        if not (isinstance(self.extra_weight_elements, int) and self.extra_weight_elements >= 0):
            raise ValueError(f"Workload {self.name}: extra_weight_elements must be an int >= 0")
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"Workload {self.name}: duplicate layer names {dup}")
        object.__setattr__(self, "phase", Phase(self.phase))

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def weight_elements(self) -> int:
        layer_weights = sum(layer.op.weight_elements for layer in self.layers)
        return layer_weights + self.extra_weight_elements

    def with_weight_sparsity(self, pattern: SparsityPattern) -> Workload:
        """Prune every weighted matrix layer with ``pattern`` (vector and weightless ops stay)."""
        layers = tuple(
            replace(layer, weight_sparsity=pattern) if layer.op.has_weight else layer
            for layer in self.layers
        )
        return replace(self, layers=layers)

    def with_phase(self, phase: Phase | str) -> Workload:
        return replace(self, phase=Phase(phase))

    def with_precision(
        self,
        *,
        weight: str | None = None,
        act: str | None = None,
        kv: str | None = None,
        psum: str | None = None,
        grad: str | None = None,
        quant: Quantization | None = None,
    ) -> Workload:
        """Every layer with the given dtypes (``None``: unchanged): ``weight`` and ``quant`` on
        layers with a weight, ``kv`` on ``MatMul`` layers (attention's K and V), ``act``,
        ``psum`` and ``grad`` on every layer they apply to (``Layer``)."""
        return replace(self, layers=tuple(
            _with_dtypes(ly, weight=weight, act=act, kv=kv, psum=psum, grad=grad, quant=quant)
            for ly in self.layers))  # fmt: skip


def _with_dtypes(layer: Layer, **given: Any) -> Layer:
    """``layer`` with the dtypes of ``Workload.with_precision`` that apply to its op."""
    matrix, op = not isinstance(layer.op, Vector), layer.op
    applies = {
        "weight_dtype": ("weight", op.has_weight),
        "weight_quant": ("quant", op.has_weight),
        "kv_dtype": ("kv", isinstance(op, MatMul)),
        "act_dtype": ("act", True),
        "psum_dtype": ("psum", matrix),
        "grad_dtype": ("grad", True),
    }
    changes = {field: given[key] for field, (key, ok) in applies.items()
               if ok and given[key] is not None}  # fmt: skip
    return replace(layer, **changes) if changes else layer
