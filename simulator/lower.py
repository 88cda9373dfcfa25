"""Lowering: a workload becomes one ``Problem`` per (layer, pass).

Every matrix problem is a GEMM in sparsim's convention ``C[m, n] = A[m, k] · B[k, n]``; the pass
decides which tensor plays which role and along which axis the sparse one is sparse:

====================  =====================  ==============  ==============  ===================
pass                  GEMM (m, n, k)         A (m x k)       B (k x n)       sparse operand
====================  =====================  ==============  ==============  ===================
``FW``   Y = X·W      (m, n, k)              X               W               W along k
``BW_DATA`` dX=dY·Wᵀ  (m, k, n); a conv:     dY (a conv:     Wᵀ              Wᵀ along n only if
                      below                  its taps)                       the mask is
                                                                             transposable
``BW_WEIGHT`` dW=XᵀdY (k, n, m)              Xᵀ              dY              none (dense)
====================  =====================  ==============  ==============  ===================

A convolution's ``BW_DATA`` is the transposed convolution (gather form): each dX pixel reduces
over every output channel of every tap that reaches it, so its GEMM is ``(m, in_channels,
out_channels x taps)`` (per group), the taps on the reduction as in ``FW`` (where ``k`` is
``in_channels x taps``); MACs equal ``FW``'s. (The col2im form, ``(m, in_channels x taps,
out_channels)``, would reduce over the output channels only and scatter-add ``taps`` partial
results into every dX element: on an output-stationary array its short reductions are bound
by draining the array, so a 3x3 conv's sparse speedup was lost.) For a stride ``s`` conv ``m``
stays the output pixels: the ``s x s`` sub-pixel phases of dX each reduce over their own
taps, the same MACs (``simulator.tiling`` fetches the real dX and dY feature maps).

**No gradient for data.** A workload whose ``input_gradient`` is off (image models: its input
is data) drops in training the work only the input's gradient needs: the first weighted
layer's ``BW_DATA`` and the backward work of any layer before it (autograd runs no
backward for a tensor needing no gradient); a backward vector op fused with that first layer
then overlaps its ``BW_WEIGHT`` pass instead (``simulator.plan``).

``b_pattern`` is always expressed relative to the pass's own GEMM: its ``axis == "k"`` means
"along this pass's reduction". A non-transposable N:M mask seen transposed is no longer N:M
along the reduction; it becomes ``Unstructured`` at the same density (the hardware cannot skip
it). Vector work becomes ``VECTOR`` problems (training: a forward one and a ``backward`` one
costing ``BACKWARD_VECTOR_FACTOR`` times it, plus an optimizer update over each weighted layer's
weights); training with a sparse weight adds a
``PREGEN`` problem per weighted layer (re-pruning and compressing the updated dense weights),
which ``simulator.plan.plan`` keeps only when the spec actually exploits that weight pattern.

**Fusion.** Accelerators apply element-wise post-ops to outputs as they drain from the array. A
vector layer of a ``FUSABLE_KINDS`` kind that directly follows a matrix layer in workload order,
or follows such a fused vector layer (a chain: conv → bn → relu → add), is *fused* with that
matrix layer: its problems carry ``fused_with = <matrix layer name>``; the forward one overlaps
the producer's ``FW`` pass, the backward one its ``BW_DATA`` pass (``simulator.plan`` says what
overlapping costs). Softmax, pooling and the optimizer always run standalone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TypedDict

import numpy as np
from sparsim.simulator.results import MATRIX_PASSES, Pass
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Conv2d, MatrixOp, Vector, VectorKind
from sparsim.workloads.sparsity import NM, Block, Dense, SparsityPattern, Unstructured

__all__ = [
    "BACKWARD_VECTOR_FACTOR",
    "DEQUANT_OP",
    "FUSABLE_KINDS",
    "ConvShape",
    "HashedOnce",
    "Problem",
    "fusion_producers",
    "gradient_notes",
    "lower",
    "lower_layer",
    "mask_density",
    "transpose_pattern",
]

BACKWARD_VECTOR_FACTOR = 2
"""Backward of a vector op costs about twice its forward (gradient w.r.t. input and the
recomputation of the saved statistics); a modelling assumption, not a measurement."""

DEQUANT_OP = "dequant"
"""``Problem.op`` of the vector work converting a layer's stored weights (another format than
the spec's, or quantized in groups) into the array's format (``simulator.precision``)."""

DEQUANT_FLOPS = {"convert": 1, "scale": 1, "zero_point": 1}
"""Vector-unit operations per stored weight to dequantize it: unpack and convert to the array's
format, multiply by its group's scale, subtract its group's zero point (assumed: one vector op
each; the last two only when the weight is quantized with them)."""

FUSABLE_KINDS = frozenset({VectorKind.ACTIVATION, VectorKind.ELEMENTWISE, VectorKind.NORM})
"""Vector kinds applied to a matrix op's outputs as they drain (module docstring)."""


class HashedOnce:
    """A frozen slots dataclass's own hash (that of its compared fields, as the dataclass
    would make it), worked out on first use and kept in its ``_hash`` field (``compare``,
    ``repr`` and ``init`` off); a pickled copy drops it (string hashes differ between
    processes). The plan, mapping and tiling caches hash problems, conv shapes and exploits
    for every lookup."""

    __slots__ = ()
    _hash: int

    def __hash__(self) -> int:
        if not self._hash:
            object.__setattr__(self, "_hash", hash(tuple(
                getattr(self, f.name) for f in fields(self) if f.compare)))  # type: ignore[arg-type]
        return self._hash

    def __getstate__(self) -> list[object]:
        return [0 if f.name == "_hash" else getattr(self, f.name)
                for f in fields(self)]  # type: ignore[arg-type]  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvShape(HashedOnce):
    """A convolution's feature-map geometry, per group (``count`` groups): what the memory
    model (``simulator.tiling``) needs to move feature maps with halos instead of im2col
    matrices. ``in_channels``/``out_channels`` are per group; sizes are the forward pass's
    (``height x width`` input, ``out_height x out_width`` output)."""

    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    out_height: int
    out_width: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    __hash__ = HashedOnce.__hash__
    __getstate__ = HashedOnce.__getstate__

    @property
    def taps(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @classmethod
    def of(cls, op: Conv2d) -> ConvShape:
        return cls(
            batch=op.batch,
            in_channels=op.in_channels // op.groups,
            out_channels=op.out_channels // op.groups,
            height=op.height,
            width=op.width,
            out_height=op.out_height,
            out_width=op.out_width,
            kernel=op.kernel,
            stride=op.stride,
            padding=op.padding,
            dilation=op.dilation,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem(HashedOnce):
    """One (layer, pass). Matrix passes: ``count`` GEMMs ``(m x k) @ (k x n)``; ``b_pattern``
    is B's sparsity relative to this GEMM, ``a_density`` the fraction of nonzero A elements.
    ``VECTOR`` passes: ``vector_flops`` FLOPs over ``vector_elements`` elements, moving
    ``vector_read`` elements in and ``vector_written`` out (``ops.Vector``; 0 = elements).
    ``PREGEN`` passes: ``pregen_elements`` dense weights to re-prune and compress.
    ``weight_density``: for ``BW_WEIGHT``, the fraction of the ``m`` output rows (kept weights)
    a spec with ``sparse_weight_gradient`` computes. ``weight_pattern``: the layer's own weight
    pattern (for notes and pre-generation), whatever this pass's ``b_pattern`` is.
    ``backward``: a ``VECTOR`` problem of the backward pass. ``fused_with``: the matrix layer a
    ``VECTOR`` problem is fused with ("" when standalone; module docstring). ``conv``: the
    feature-map geometry of a convolution's passes (``None`` for other ops)."""

    layer: str
    op: str
    pass_: Pass
    m: int = 0
    n: int = 0
    k: int = 0
    count: int = 1
    b_pattern: SparsityPattern = field(default_factory=Dense)
    a_density: float = 1.0
    weight_density: float = 1.0
    vector_elements: int = 0
    vector_flops: int = 0
    vector_read: int = 0
    vector_written: int = 0
    pregen_elements: int = 0
    weight_pattern: SparsityPattern = field(default_factory=Dense)
    backward: bool = False
    fused_with: str = ""
    conv: ConvShape | None = None
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    __hash__ = HashedOnce.__hash__
    __getstate__ = HashedOnce.__getstate__

    @property
    def is_matrix(self) -> bool:
        return self.pass_ in MATRIX_PASSES

    @property
    def dense_macs(self) -> int:
        return self.m * self.n * self.k * self.count if self.is_matrix else 0

    def dense(self) -> Problem:
        """The same work with every operand dense: the baseline ``dense_*`` fields come from."""
        return Problem(
            layer=self.layer,
            op=self.op,
            pass_=self.pass_,
            m=self.m,
            n=self.n,
            k=self.k,
            count=self.count,
            vector_elements=self.vector_elements,
            vector_flops=self.vector_flops,
            vector_read=self.vector_read,
            vector_written=self.vector_written,
            backward=self.backward,
            fused_with=self.fused_with,
            conv=self.conv,
        )


def transpose_pattern(pattern: SparsityPattern) -> SparsityPattern:
    """The pattern of ``Wᵀ`` seen by the backward-data GEMM (its reduction is W's ``n``)."""
    mask = None if pattern.mask is None else pattern.mask.T
    if isinstance(pattern, Dense):
        return pattern
    if isinstance(pattern, NM):
        if pattern.transposable:
            return NM(n=pattern.n, m=pattern.m, axis="k", transposable=True, mask=mask)
        axis = "k" if pattern.axis == "n" else "n"
        if axis == "k":
            return NM(n=pattern.n, m=pattern.m, axis="k", mask=mask)
        return Unstructured(density=pattern.density, mask=mask)
    if isinstance(pattern, Block):
        return Block(rows=pattern.cols, cols=pattern.rows, density=pattern.density, mask=mask)
    return Unstructured(density=pattern.density, mask=mask)


def _act_density(layer: Layer) -> float:
    return float(layer.act_sparsity.density)


class _MatrixCommon(TypedDict):
    """The ``Problem`` fields a matrix layer's passes share."""

    layer: str
    op: str
    count: int
    weight_pattern: SparsityPattern
    conv: ConvShape | None


def _matrix_problems(layer: Layer, matrix_op: MatrixOp, phase: Phase) -> list[Problem]:
    dims = matrix_op.gemm()
    w = layer.weight_sparsity
    common = _MatrixCommon(
        layer=layer.name,
        op=type(matrix_op).__name__,
        count=dims.count,
        weight_pattern=w,
        conv=ConvShape.of(matrix_op) if isinstance(matrix_op, Conv2d) else None,
    )
    fw = Problem(
        pass_=Pass.FW,
        m=dims.m,
        n=dims.n,
        k=dims.k,
        b_pattern=w,
        a_density=_act_density(layer),
        **common,
    )
    if phase == Phase.INFERENCE:
        return [fw]
    conv = common["conv"]
    taps = conv.taps if conv is not None else 1
    bw_data = Problem(pass_=Pass.BW_DATA, m=dims.m, n=dims.k // taps, k=dims.n * taps,
                      b_pattern=transpose_pattern(w), **common)  # fmt: skip
    bw_weight = Problem(
        pass_=Pass.BW_WEIGHT,
        m=dims.k,
        n=dims.n,
        k=dims.m,
        a_density=_act_density(layer),
        weight_density=float(w.density),
        **common,
    )
    return [fw, bw_data, bw_weight]


def _vector_problems(layer: Layer, op: Vector, phase: Phase, fused_with: str) -> list[Problem]:
    """Forward vector work, and in training its backward at ``BACKWARD_VECTOR_FACTOR`` x."""
    fw = Problem(
        layer=layer.name,
        op=op.kind.value,
        pass_=Pass.VECTOR,
        vector_elements=op.elements,
        vector_flops=op.flops,
        vector_read=op.read_elements,
        vector_written=op.written_elements,
        fused_with=fused_with,
    )
    if phase == Phase.INFERENCE:
        return [fw]
    f = BACKWARD_VECTOR_FACTOR
    bw = Problem(
        layer=layer.name,
        op=op.kind.value,
        pass_=Pass.VECTOR,
        vector_elements=f * op.elements,
        vector_flops=f * op.flops,
        vector_read=f * op.read_elements,
        vector_written=f * op.written_elements,
        backward=True,
        fused_with=fused_with,
    )  # not ``replace(fw, ...)``: slow, and this runs for every vector layer
    return [fw, bw]


def fusion_producers(workload: Workload) -> dict[str, str]:
    """Vector layer name → the matrix layer it is fused with (module docstring)."""
    out: dict[str, str] = {}
    producer = ""  # the matrix layer the chain ending at the previous layer drains from
    for layer in workload.layers:
        if not isinstance(layer.op, Vector):
            producer = layer.name
        elif producer and layer.op.kind in FUSABLE_KINDS:
            out[layer.name] = producer
        else:
            producer = ""
    return out


def _training_extras(layer: Layer) -> list[Problem]:
    """Optimizer update over the layer's weights, and pre-generation if the weight is sparse."""
    elements = layer.op.weight_elements
    update = Vector(kind=VectorKind.OPTIMIZER, elements=elements)
    out = [
        Problem(
            layer=layer.name,
            op=VectorKind.OPTIMIZER.value,
            pass_=Pass.VECTOR,
            vector_elements=elements,
            vector_flops=update.flops,
        )
    ]
    if not isinstance(layer.weight_sparsity, Dense):
        out.append(
            Problem(
                layer=layer.name,
                op="pregen",
                pass_=Pass.PREGEN,
                pregen_elements=elements,
                weight_pattern=layer.weight_sparsity,
            )
        )
    return out


def _dequant(layer: Layer, matrix_op: MatrixOp) -> list[Problem]:
    """A layer whose weight names its dtype or quantization: the vector work converting its
    weights for the array, fused with (overlapping) its forward pass; ``simulator.plan``
    keeps it only when the spec does not read that format natively."""
    if not matrix_op.has_weight or (layer.weight_dtype is None and layer.weight_quant is None):
        return []
    quant = layer.weight_quant
    flops = DEQUANT_FLOPS["convert"]
    if quant is not None:
        flops += DEQUANT_FLOPS["scale"] + (DEQUANT_FLOPS["zero_point"] if quant.zero_point else 0)
    dims = matrix_op.gemm()
    elements = dims.k * dims.n * dims.count
    return [Problem(layer=layer.name, op=DEQUANT_OP, pass_=Pass.VECTOR, vector_elements=elements,
                    vector_flops=elements * flops, fused_with=layer.name)]  # fmt: skip


def lower_layer(layer: Layer, phase: Phase, fused_with: str = "") -> list[Problem]:
    """Problems of one layer, in execution order (forward before backward); ``fused_with``:
    the matrix layer a vector layer is fused with (``fusion_producers``)."""
    if isinstance(layer.op, Vector):
        return _vector_problems(layer, layer.op, phase, fused_with)
    problems = _matrix_problems(layer, layer.op, phase)
    problems[1:1] = _dequant(layer, layer.op)
    if phase == Phase.TRAINING and layer.op.has_weight:
        problems += _training_extras(layer)
    return problems


def _folded(layer: Layer, phase: Phase) -> bool:
    """BatchNorm folded into its producer's weights at inference (``Vector.folds_at_inference``)."""
    return phase == Phase.INFERENCE and isinstance(layer.op, Vector) and layer.op.folds_at_inference


def lower(workload: Workload) -> list[Problem]:
    """All problems of a workload in its phase (inference: FW only, folded BatchNorm dropped;
    training: 3 passes, without the input's gradient when ``workload.input_gradient`` is off:
    ``_needs_no_gradient``)."""
    fused = fusion_producers(workload)
    phase = workload.phase
    problems = [
        p
        for ly in workload.layers
        if not _folded(ly, phase)
        for p in lower_layer(ly, phase, fused.get(ly.name, ""))
    ]
    if phase == Phase.TRAINING and not workload.input_gradient:
        skipped = _needs_no_gradient(workload)
        problems = [p for p in problems if (p.layer, p.pass_, p.backward) not in skipped]
    return problems


def _needs_no_gradient(workload: Workload) -> set[tuple[str, Pass, bool]]:
    """(layer, pass, backward) of the work no weight's gradient needs when the input needs
    none: the first weighted layer's ``BW_DATA`` and all backward work of the layers before
    it."""
    first = _first_weighted(workload)
    out: set[tuple[str, Pass, bool]] = set()
    for layer in workload.layers[: len(workload.layers) if first is None else first]:
        if isinstance(layer.op, Vector):
            out.add((layer.name, Pass.VECTOR, True))
        else:  # a weightless product before any weight: both operands come from the input
            out.add((layer.name, Pass.BW_DATA, False))
            out.add((layer.name, Pass.BW_WEIGHT, False))
    if first is not None:
        out.add((workload.layers[first].name, Pass.BW_DATA, False))
    return out


def _first_weighted(workload: Workload) -> int | None:
    """The index of the workload's first layer with a weight (``None``: none has one)."""
    return next((i for i, ly in enumerate(workload.layers)
                 if not isinstance(ly.op, Vector) and ly.op.has_weight), None)  # fmt: skip


def gradient_notes(workload: Workload) -> tuple[str, ...]:
    """A run note naming the work left out because the input needs no gradient (``lower``)."""
    if workload.phase != Phase.TRAINING or workload.input_gradient:
        return ()
    first = _first_weighted(workload)
    if first is None:
        return ()
    return (f"no bw_data for {workload.layers[first].name}: the workload's input is data and "
            "needs no gradient (input_gradient: false)",)  # fmt: skip


def mask_density(pattern: SparsityPattern) -> float:
    """Density from the real mask when there is one, else the declared density."""
    if pattern.mask is None:
        return float(pattern.density)
    return float(np.count_nonzero(pattern.mask)) / pattern.mask.size
