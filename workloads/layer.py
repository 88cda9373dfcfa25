"""A layer is an op plus how sparse and how wide its operands are; a workload is layers in order."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from sparsim.workloads.ops import Op, Vector
from sparsim.workloads.sparsity import Dense, SparsityPattern

__all__ = ["DTYPES", "Layer", "Phase", "Workload"]

DTYPES = ("int4", "int8", "int16", "int32", "fp16", "bf16", "fp32")


class Phase(StrEnum):
    INFERENCE = "inference"
    TRAINING = "training"


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """One op. ``weight_sparsity`` applies to ops with a weight; ``act_sparsity`` describes the
    input activations (only its density matters: activation zeros are unstructured)."""

    name: str
    op: Op
    weight_sparsity: SparsityPattern = field(default_factory=Dense)
    act_sparsity: SparsityPattern = field(default_factory=Dense)
    weight_dtype: str = "int8"
    act_dtype: str = "int8"

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("Layer.name must not be empty")
        for attr in ("weight_dtype", "act_dtype"):
            if getattr(self, attr) not in DTYPES:
                raise ValueError(f"Layer {self.name}: {attr} must be one of {', '.join(DTYPES)}")
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
    ``weight_elements`` matches a model's published parameter count."""

    name: str
    layers: tuple[Layer, ...]
    phase: Phase = Phase.INFERENCE
    batch: int = 1
    extra_weight_elements: int = 0

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
