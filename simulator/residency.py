"""On-chip residency between layers: which forward passes read their input from chip, and
which producers need not write their output to DRAM.

A workload is a list of layers without edges, so producers are inferred from the order:

* the *live* tensor is the output of the latest matrix layer (fused vector layers after it
  transform it in place, ``simulator.lower`` fusion) or standalone vector layer;
* a standalone vector layer (pooling, softmax) reads the live tensor when its input has the
  live tensor's element count (``ops.Vector.read_elements``) and its output becomes the live
  tensor; a pool also ends a stage, like an add: its output is the residual the next block's
  shortcut reads (a ResNet's first downsample reads the max pool's output);
* an ``elementwise`` layer (a residual add) ends a block: its output, the live tensor, becomes
  the *residual* every layer of the next block may read (its first layer and its downsample
  projection) and the next add needs; the add reads the held residual from chip when it is
  there, so its producer need not store it;
* a matrix layer whose input has the live tensor's element count reads the live tensor; one
  whose input has the residual's count reads the residual (the live tensor is then held for
  the coming add, as the residual); anything else comes from DRAM.

A tensor is on chip when it and everything that must be held with it fit the input buffer
share (``spec.buffer_share_bytes(Operand.INPUT)``, whole: a resident tensor is not
double-buffered): the layer's own input if that is on chip, its output, and the held residual.
A layer reads its input from chip when the tensor it reads is on chip. In inference a
producer whose output its next matrix layer reads from chip does not store it to DRAM; in
training every forward output is stored (the backward pass reads it).

**Backward.** The gradient flows back along the same edges: where a matrix layer ``L`` read
its input from chip in the forward pass, produced by matrix layer ``P``, ``L``'s backward-data
pass leaves that input's gradient (``P``'s output gradient, the same element count) in the
input buffer, where ``P``'s backward-data pass reads it (``grad_on_chip``; the forward fit
test stands for it: the gradient and what is held with it have the forward tensors' sizes).
The gradient is still stored to DRAM: ``P``'s weight-gradient pass reads it from there.
``AcceleratorSpec.inter_layer_residency = False`` turns all of this off.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparsim.accel.spec import AcceleratorSpec, Operand
from sparsim.simulator.objects import PerObject
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Conv2d, Vector, VectorKind

__all__ = ["Residency", "io_elements", "residency"]

_CHAINED = frozenset({VectorKind.ACTIVATION, VectorKind.ELEMENTWISE, VectorKind.NORM})
"""Vector kinds that keep the live tensor (``simulator.lower.FUSABLE_KINDS``)."""


@dataclass(frozen=True, slots=True)
class Residency:
    """Per matrix layer: its input comes from chip; its output stays (no DRAM store); in
    training, its backward-data pass reads its output's gradient from chip (module docstring,
    Backward)."""

    input_on_chip: bool = False
    output_on_chip: bool = False
    grad_on_chip: bool = False


def io_elements(layer: Layer) -> tuple[int, int]:
    """(input, output) activation elements of a matrix layer's or a vector layer's forward
    pass (a vector layer's tensors: ``ops.Vector.read_elements`` and ``written_elements``)."""
    op = layer.op
    if isinstance(op, Conv2d):
        return (op.batch * op.in_channels * op.height * op.width,
                op.batch * op.out_channels * op.out_height * op.out_width)  # fmt: skip
    if isinstance(op, Vector):
        return op.read_elements, op.written_elements
    g = op.gemm()
    return g.m * g.k * g.count, g.m * g.n * g.count


@dataclass
class _Tensor:
    elements: int
    on_chip: bool
    producer: str


def residency(workload: Workload, spec: AcceleratorSpec) -> dict[str, Residency]:
    """Matrix or standalone vector layer name → its ``Residency`` (module docstring); empty
    when switched off. It reads nothing of ``spec`` but the input buffer share and the
    input and output element bytes: worked out once per (workload object, those three) and
    shared (read-only) by every design that has them (``simulator.objects``)."""
    if not spec.inter_layer_residency:
        return {}
    cap = spec.buffer_share_bytes(Operand.INPUT)
    in_b, out_b = (spec.precision.bytes_of(o) for o in (Operand.INPUT, Operand.OUTPUT))
    return _kept(workload, cap, in_b, out_b)


def _residency(workload: Workload, cap: int, in_b: float, out_b: float) -> dict[str, Residency]:
    live: _Tensor | None = None
    residual: _Tensor | None = None
    reads: dict[str, str] = {}  # consumer -> producer whose output it read from chip
    out: dict[str, Residency] = {}
    matrix: set[str] = set()
    for layer in workload.layers:
        op = layer.op
        if not isinstance(op, Vector):
            matrix.add(layer.name)
        if isinstance(op, Vector) and op.kind in _CHAINED:
            if op.kind == VectorKind.ELEMENTWISE:
                if residual is not None and residual.on_chip:
                    reads[layer.name] = residual.producer  # the add reads the held tensor
                residual = live
            continue
        in_el, out_el = io_elements(layer)
        source = None
        if live is not None and live.elements == in_el:
            source = live
        elif residual is not None and residual.elements == in_el and not isinstance(op, Vector):
            source, residual = residual, live  # the live tensor waits for the add
        if isinstance(op, Vector) and op.kind == VectorKind.POOL:
            residual = None  # replaced by this pool's output (below)
        from_chip = source is not None and source.on_chip
        held = residual.elements * out_b if residual is not None and residual.on_chip else 0
        need = out_el * out_b + (in_el * in_b if from_chip else 0) + held
        if from_chip and source is not None:
            reads[layer.name] = source.producer
        out[layer.name] = Residency(input_on_chip=from_chip)
        live = _Tensor(out_el, need <= cap, layer.name)
        if isinstance(op, Vector) and op.kind == VectorKind.POOL:
            residual = live
    if workload.phase == Phase.INFERENCE:
        keep = set(reads.values())
        return {name: Residency(r.input_on_chip, name in keep) for name, r in out.items()}
    grads = {p for c, p in reads.items() if c in matrix and p in matrix}
    return {name: Residency(r.input_on_chip, False, name in grads) for name, r in out.items()}


_KEPT = 8
"""Workload residencies kept (``residency``); emptied at this size."""

_kept: PerObject[Workload, dict[str, Residency]] = PerObject(_residency, _KEPT)
"""``_residency``, once per (workload object, input buffer share, input and output element
bytes) (``simulator.objects``)."""
