"""ONNX models as workloads: real shapes (ONNX shape inference) and real weight tensors.

``load_onnx(path, batch=, seq_len=)`` binds every symbolic input dimension (the first one to
``batch``, any other to ``seq_len``), runs ``onnx.shape_inference`` and walks the graph in
order:

* ``Conv`` (grouped, depthwise, strided, dilated; explicit or ``auto_pad`` padding) becomes a
  ``Conv2d``; ``Gemm`` and ``MatMul`` with a constant operand a ``Linear`` (weights stored
  ``(out, in)``); ``MatMul``/``Gemm`` of two activations (attention ``Q Kᵀ`` and ``A V``) a
  weightless ``MatMul`` over the broadcast batch dimensions.
* ``BatchNormalization`` right after a conv or linear layer (its only consumer) is folded into
  that layer's weights (``w * gamma / sqrt(var + eps)`` per output channel) and kept as a
  ``Vector`` with ``folds_at_inference`` (costed in training only); elsewhere it is vector work.
* Element-wise ops (residual ``Add`` included), activations, pooling, softmax and
  normalisation become ``Vector`` work over their real element counts.
* Layout ops (``LAYOUT_OPS``: reshape, transpose, concat, ...) compute nothing and are listed in
  ``ImportedModel.layout_ops``. Any other op is listed, with its count, in ONE
  ``UnsupportedOpsWarning`` and in ``ImportedModel.unsupported``: never silently dropped.

In training the model's input gets no gradient when the first weighted op reads a graph
input itself (an image; ``Workload.input_gradient``), and keeps it otherwise.

The file is untrusted (``workloads.weightfile``): size, tensor count and dimensions are bounded
before any tensor is built, external-data paths must stay inside the model's folder, and a
truncated or corrupt file raises one ``ModelFileError`` line naming it.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Conv2d, Linear, MatMul, Op, Vector, VectorKind
from sparsim.workloads.weightfile import (
    DEFAULT_LIMITS,
    FileLimits,
    ModelFileError,
    check_file_size,
    check_shape,
)

__all__ = ["LAYOUT_OPS", "ImportedModel", "UnsupportedOpsWarning", "load_onnx"]


class UnsupportedOpsWarning(UserWarning):
    """Ops of an imported model that sparsim cannot cost (listed once, with counts)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedModel:
    """A workload with its weights (layer name -> array, BatchNorm folded in), and the op
    types left out: ``layout_ops`` (no compute) and ``unsupported`` (``"LSTM x2"``)."""

    workload: Workload
    weights: dict[str, np.ndarray]
    layout_ops: tuple[str, ...]
    unsupported: tuple[str, ...]


LAYOUT_OPS = frozenset({
    "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Concat", "Split",
    "Slice", "Gather", "Shape", "Constant", "ConstantOfShape", "Cast", "Dropout", "Expand",
    "Range", "Pad", "Tile",
})  # fmt: skip
_ELEMENTWISE = frozenset({
    "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Neg", "Abs", "Exp", "Log",
    "Max", "Min", "Sum", "Mean", "Where", "Equal", "Less", "Greater",
})  # fmt: skip
_ACTIVATIONS = frozenset({
    "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish",
    "Gelu", "Erf", "Elu", "Selu", "Softplus", "Mish",
})  # fmt: skip
_NORMS = frozenset({
    "LayerNormalization", "InstanceNormalization", "GroupNormalization", "LpNormalization",
    "RMSNormalization",
})  # fmt: skip
_REDUCE_POOLS = frozenset({"GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax",
                           "ReduceSum"})  # fmt: skip


# ---------------------------------------------------------------------------------------------
# reading the file safely


def _parse(path: Path, limits: FileLimits) -> onnx.ModelProto:
    check_file_size(path, limits)
    data = path.read_bytes()
    try:
        model = onnx.load_model_from_string(data)
    except Exception:  # protobuf's DecodeError and friends: the bytes are not a model
        raise ModelFileError(path, "not a readable ONNX model (truncated or corrupt)") from None
    if not model.graph.node:
        raise ModelFileError(path, "not an ONNX model (no graph nodes; truncated or corrupt?)")
    return model


def _external_bytes(path: Path, tensor: onnx.TensorProto) -> bytes:
    """The bytes of an external-data tensor, read only from inside the model's folder."""
    info = {e.key: e.value for e in tensor.external_data}
    base = path.parent.resolve()
    target = (base / info.get("location", "")).resolve()
    if not target.is_relative_to(base) or not info.get("location"):
        raise ModelFileError(
            path, f"tensor {tensor.name!r}: external data {info.get('location')!r} lies outside "
            "the model's folder; refused",
        )  # fmt: skip
    if not target.is_file():
        raise ModelFileError(path, f"tensor {tensor.name!r}: external data file missing")
    offset, length = int(info.get("offset", 0)), info.get("length")
    with target.open("rb") as f:
        f.seek(offset)
        data = f.read(int(length) if length is not None else -1)
    return data


def _tensor_array(path: Path, tensor: onnx.TensorProto, limits: FileLimits) -> np.ndarray:
    shape = check_shape(path, tensor.name, list(tensor.dims), limits)
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        data = _external_bytes(path, tensor)
        tensor = onnx.TensorProto.FromString(tensor.SerializeToString())
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT
        tensor.raw_data = data
    try:
        array = numpy_helper.to_array(tensor)
    except Exception as exc:
        raise ModelFileError(path, f"tensor {tensor.name!r} is corrupt ({exc})") from None
    if array.shape != shape:
        raise ModelFileError(path, f"tensor {tensor.name!r}: data does not match its shape")
    return array


def _initializers(path: Path, model: onnx.ModelProto, limits: FileLimits) -> dict[str, Any]:
    inits = list(model.graph.initializer)
    if len(inits) > limits.max_tensors:
        raise ModelFileError(path, f"holds {len(inits)} tensors, over the {limits.max_tensors} "
                             "limit")  # fmt: skip
    out: dict[str, Any] = {t.name: _tensor_array(path, t, limits) for t in inits}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output:
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            if value is not None:
                out[node.output[0]] = _tensor_array(path, value, limits)
    return out


# ---------------------------------------------------------------------------------------------
# shapes


def _bind_inputs(path: Path, model: onnx.ModelProto, batch: int, seq_len: int | None,
                 constants: set[str]) -> None:  # fmt: skip
    """Give every symbolic input dimension a value: the first ``batch``, others ``seq_len``."""
    for value in model.graph.input:
        if value.name in constants:
            continue
        for i, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                continue
            if i > 0 and seq_len is None:
                raise ModelFileError(
                    path, f"input {value.name!r} has a symbolic dimension {dim.dim_param!r} "
                    f"(axis {i}); give seq_len",
                )  # fmt: skip
            dim.dim_value = batch if i == 0 else int(seq_len or 1)


def _shapes(path: Path, model: onnx.ModelProto, limits: FileLimits) -> dict[str, tuple[int, ...]]:
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(path, f"ONNX shape inference failed: {first}") from None
    g = inferred.graph
    out = {}
    for value in (*g.input, *g.value_info, *g.output):
        dims = value.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            out[value.name] = check_shape(path, value.name, [d.dim_value for d in dims], limits)
    return out


# ---------------------------------------------------------------------------------------------
# the graph walk


class _Graph:
    """Walk state: shapes, constants, the layers and weights built so far."""

    def __init__(self, path: Path, model: onnx.ModelProto, shapes: dict, consts: dict) -> None:
        self.path = path
        self.shapes = shapes
        self.consts = consts
        self.layers: list[Layer] = []
        self.weights: dict[str, np.ndarray] = {}
        self.produced_by: dict[str, str] = {}
        self.consumers = Counter(i for n in model.graph.node for i in n.input)
        self.names: set[str] = set()

    def shape(self, name: str) -> tuple[int, ...]:
        if name in self.consts:
            return tuple(self.consts[name].shape)
        if name not in self.shapes:
            raise ModelFileError(self.path, f"no inferred shape for tensor {name!r}")
        return self.shapes[name]

    def unique(self, node: onnx.NodeProto, index: int) -> str:
        base = node.name or f"{node.op_type.lower()}_{index}"
        name, i = base, 1
        while name in self.names:
            name, i = f"{base}_{i}", i + 1
        self.names.add(name)
        return name

    def add(
        self, name: str, op: Op, node: onnx.NodeProto, weight: np.ndarray | None = None
    ) -> None:
        self.layers.append(Layer(name=name, op=op))
        if weight is not None:
            self.weights[name] = weight
            for out in node.output:
                self.produced_by[out] = name


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _numel(shape: tuple[int, ...]) -> int:
    return max(1, math.prod(shape))


def _auto_pad(a: dict) -> str:
    value = a.get("auto_pad", "NOTSET")
    return value.decode() if isinstance(value, bytes) else str(value)


def _conv_padding(x: tuple[int, ...], y: tuple[int, ...], a: dict, kernel, stride, dilation):
    """Symmetric per-axis padding that gives the inferred output size (ONNX allows begin != end
    and ``auto_pad``; ``Conv2d`` holds one value per axis)."""
    pads = list(a.get("pads", [0, 0, 0, 0]))
    out = []
    for axis in range(2):
        size, span = x[2 + axis], dilation[axis] * (kernel[axis] - 1) + 1
        if _auto_pad(a).startswith("SAME"):
            total = max(0, (y[2 + axis] - 1) * stride[axis] + span - size)
        else:
            total = pads[axis] + pads[axis + 2]
        for pad in (total // 2, -(-total // 2)):
            if (size + 2 * pad - span) // stride[axis] + 1 == y[2 + axis]:
                out.append(pad)
                break
        else:
            return None
    return (out[0], out[1])


def _conv(g: _Graph, node: onnx.NodeProto, name: str) -> bool:
    if len(node.input) < 2 or node.input[1] not in g.consts or len(g.shape(node.input[0])) != 4:
        return False
    w = g.consts[node.input[1]]
    x, y, a = g.shape(node.input[0]), g.shape(node.output[0]), _attrs(node)
    kernel = tuple(a.get("kernel_shape", w.shape[2:]))
    stride, dilation = tuple(a.get("strides", (1, 1))), tuple(a.get("dilations", (1, 1)))
    padding = _conv_padding(x, y, a, kernel, stride, dilation)
    if padding is None:
        raise ModelFileError(g.path, f"node {name}: padding does not give the inferred output")
    op = Conv2d(
        batch=x[0], in_channels=x[1], out_channels=w.shape[0], height=x[2], width=x[3],
        kernel=kernel, stride=stride, padding=padding, dilation=dilation,
        groups=int(a.get("group", 1)), bias=len(node.input) > 2 and bool(node.input[2]),
    )  # fmt: skip
    g.add(name, op, node, w)
    return True


def _linear(g: _Graph, node: onnx.NodeProto, name: str, weight: np.ndarray, bias: bool) -> None:
    """A matrix with a constant ``(out, in)`` weight over every leading row of the input."""
    x = g.shape(node.input[0])
    tokens = _numel(x[:-1]) if len(x) > 1 else 1
    out_features, in_features = weight.shape
    op = Linear(tokens=tokens, in_features=in_features, out_features=out_features, bias=bias)
    g.add(name, op, node, weight)


def _act_matmul(g: _Graph, node: onnx.NodeProto, name: str, a_shape, b_shape) -> None:
    """Activation x activation (attention products): batched over broadcast leading dims."""
    lead = np.broadcast_shapes(tuple(a_shape[:-2]), tuple(b_shape[:-2]))
    op = MatMul(batch=_numel(lead), m=a_shape[-2], n=b_shape[-1], k=a_shape[-1])
    g.add(name, op, node)


def _gemm(g: _Graph, node: onnx.NodeProto, name: str) -> bool:
    a = _attrs(node)
    if a.get("transA", 0):
        return False
    b = node.input[1]
    if b in g.consts and g.consts[b].ndim == 2:
        w = g.consts[b] if a.get("transB", 0) else g.consts[b].T
        bias = len(node.input) > 2 and bool(node.input[2])
        _linear(g, node, name, np.ascontiguousarray(w), bias)
        return True
    a_shape, b_shape = g.shape(node.input[0]), g.shape(b)
    if a.get("transB", 0):
        b_shape = b_shape[::-1]
    _act_matmul(g, node, name, (1, *a_shape), (1, *b_shape))
    return True


def _matmul(g: _Graph, node: onnx.NodeProto, name: str) -> bool:
    a_name, b_name = node.input[0], node.input[1]
    if a_name in g.consts:
        return False
    if b_name in g.consts and g.consts[b_name].ndim == 2:
        _linear(g, node, name, np.ascontiguousarray(g.consts[b_name].T), bias=False)
        return True
    a_shape, b_shape = g.shape(a_name), g.shape(b_name)
    if len(a_shape) < 2 or len(b_shape) < 2:
        return False
    _act_matmul(g, node, name, a_shape, b_shape)
    return True


def _batchnorm(g: _Graph, node: onnx.NodeProto, name: str) -> bool:
    x = node.input[0]
    elements = _numel(g.shape(x))
    producer = g.produced_by.get(x)
    gamma, var = g.consts.get(node.input[1]), g.consts.get(node.input[4])
    foldable = False
    if producer is not None and g.consumers[x] == 1 and gamma is not None and var is not None:
        # the shift (beta - mean * scale) goes to the bias, which sparsim does not keep
        eps = float(_attrs(node).get("epsilon", 1e-5))
        scale = (gamma / np.sqrt(var + eps)).astype(np.float64)
        w = g.weights[producer]
        g.weights[producer] = (w * scale.reshape((-1,) + (1,) * (w.ndim - 1))).astype(w.dtype)
        foldable = True
    g.add(name, Vector(kind=VectorKind.NORM, elements=elements, folds_at_inference=foldable), node)
    return True


def _pool(g: _Graph, node: onnx.NodeProto, name: str) -> bool:
    kernel = _attrs(node).get("kernel_shape", [1])
    written = _numel(g.shape(node.output[0]))
    vector = Vector(kind=VectorKind.POOL, elements=written * math.prod(kernel),
                    read_elements=_numel(g.shape(node.input[0])), written_elements=written)
    g.add(name, vector, node)
    return True


_Converter = Callable[["_Graph", onnx.NodeProto, str], bool]


def _vector(kind: VectorKind, source: str = "input") -> _Converter:
    def convert(g: _Graph, node: onnx.NodeProto, name: str) -> bool:
        tensor = node.input[0] if source == "input" else node.output[0]
        elements = _numel(g.shape(tensor))
        read = sum(_numel(g.shape(t)) for t in node.input if t and t not in g.consts)
        written = _numel(g.shape(node.output[0]))
        g.add(name, Vector(kind=kind, elements=elements, read_elements=read or elements,
                           written_elements=written), node)  # fmt: skip
        return True

    return convert


_CONVERTERS: dict[str, _Converter] = {
    "Conv": _conv, "Gemm": _gemm, "MatMul": _matmul, "BatchNormalization": _batchnorm,
    "MaxPool": _pool, "AveragePool": _pool,
    "Softmax": _vector(VectorKind.SOFTMAX), "LogSoftmax": _vector(VectorKind.SOFTMAX),
    **dict.fromkeys(_ELEMENTWISE, _vector(VectorKind.ELEMENTWISE, "output")),
    **dict.fromkeys(_ACTIVATIONS, _vector(VectorKind.ACTIVATION)),
    **dict.fromkeys(_NORMS, _vector(VectorKind.NORM)),
    **dict.fromkeys(_REDUCE_POOLS, _vector(VectorKind.POOL)),
}  # fmt: skip


def _walk(g: _Graph, model: onnx.ModelProto) -> tuple[Counter, Counter]:
    layout: Counter[str] = Counter()
    unsupported: Counter[str] = Counter()
    for index, node in enumerate(model.graph.node):
        if node.op_type in LAYOUT_OPS:
            layout[node.op_type] += 1
            continue
        convert = _CONVERTERS.get(node.op_type)
        if convert is None or not convert(g, node, g.unique(node, index)):
            unsupported[node.op_type] += 1
    return layout, unsupported


_WEIGHTED_OPS = ("Conv", "Gemm", "MatMul")


def _input_needs_gradient(model: onnx.ModelProto, constants: set[str]) -> bool:
    """``Workload.input_gradient``: off when the first weighted op (one with a constant
    operand) reads a graph input itself (an image: data, needing no gradient in training);
    on when anything comes between (an embedding ``Gather`` is trainable), to be safe."""
    inputs = {v.name for v in model.graph.input} - constants
    for node in model.graph.node:
        if node.op_type in _WEIGHTED_OPS and any(name in constants for name in node.input):
            return not any(name in inputs for name in node.input)
    return True


def _listed(counts: Counter) -> tuple[str, ...]:
    return tuple(f"{op} x{n}" for op, n in sorted(counts.items()))


def load_onnx(
    path: str | Path, *, batch: int = 1, seq_len: int | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> ImportedModel:  # fmt: skip
    """Import an ONNX model file (module docstring); raises ``ModelFileError``."""
    path = Path(path)
    if not (isinstance(batch, int) and batch >= 1):
        raise ModelFileError(path, f"batch must be an int >= 1, not {batch!r}")
    model = _parse(path, limits)
    consts = _initializers(path, model, limits)
    _bind_inputs(path, model, batch, seq_len, set(consts))
    g = _Graph(path, model, _shapes(path, model, limits), consts)
    layout, unsupported = _walk(g, model)
    if unsupported:
        warnings.warn(
            f"{path}: ops sparsim cannot cost, left out: {', '.join(_listed(unsupported))}",
            UnsupportedOpsWarning, stacklevel=2,
        )  # fmt: skip
    if not g.layers:
        raise ModelFileError(path, "holds no op sparsim can cost")
    workload = Workload(name=path.stem, layers=tuple(g.layers), batch=batch, phase=Phase.INFERENCE,
                        input_gradient=_input_needs_gradient(model, set(consts)))  # fmt: skip
    return ImportedModel(
        workload=workload, weights=g.weights, layout_ops=_listed(layout),
        unsupported=_listed(unsupported),
    )  # fmt: skip
