"""Small ONNX models built with ``onnx.helper`` (no downloads), with known, seeded weights.

``python -m tests.onnx_models DIR`` writes ``small_cnn.onnx`` and ``tiny_attention.onnx`` into
DIR (what the closing-note command ``sparsim run --model DIR/small_cnn.onnx --prune 2:4`` runs).

``small_cnn``: stem 3x3/2 conv + BatchNorm + ReLU, depthwise 3x3 + ReLU, pointwise 1x1 + ReLU,
a dilated 3x3 conv with a residual Add, global average pooling, flatten, Gemm classifier,
softmax (32x32 input; 32, 64, 64 channels). Its dilated conv's weight is *unevenly* sparse
already: every even output channel keeps only one weight in each group of four reduction
elements, the odd ones are dense. Pruned to 2:4, even channels hold 1 nonzero per group and odd
ones 2: a real mask that is N:M-valid but unbalanced across output channels (busiest 288 of
576 K positions, mean 216).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

from sparsim import configs

__all__ = [
    "UNEVEN_LAYER", "small_cnn", "small_cnn_weights", "tiny_attention", "unstructured_spec",
]

UNEVEN_LAYER = "dil"
"""The layer of ``small_cnn`` whose weight is unevenly sparse (module docstring)."""

IMAGE = 32


def small_cnn_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded float32 weights of ``small_cnn`` (keys are initializer names)."""
    rng = np.random.default_rng(seed)

    def w(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    dil = w(64, 64, 3, 3)
    dil[0::2].reshape(32, 144, 4)[:, :, 1:] = 0.0  # even channels: one weight per group of 4
    return {
        "stem.w": w(32, 3, 3, 3),
        "bn.gamma": np.linspace(0.5, 2.0, 32, dtype=np.float32),
        "bn.beta": w(32),
        "bn.mean": w(32),
        "bn.var": np.linspace(0.25, 4.0, 32, dtype=np.float32),
        "dw.w": w(32, 1, 3, 3),
        "pw.w": w(64, 32, 1, 1),
        "dil.w": dil,
        "fc.w": w(10, 64),
        "fc.b": w(10),
    }


def _node(op: str, inputs: list[str], output: str, name: str, **attrs) -> onnx.NodeProto:
    return helper.make_node(op, inputs, [output], name=name, **attrs)


def small_cnn(seed: int = 0) -> onnx.ModelProto:
    """The model of the module docstring; the batch dimension is symbolic (``N``)."""
    weights = small_cnn_weights(seed)
    nodes = [
        _node("Conv", ["x", "stem.w"], "s", "stem", kernel_shape=[3, 3], strides=[2, 2],
              pads=[1, 1, 1, 1]),
        _node("BatchNormalization", ["s", "bn.gamma", "bn.beta", "bn.mean", "bn.var"], "sb",
              "stem_bn", epsilon=1e-5),
        _node("Relu", ["sb"], "sr", "stem_relu"),
        _node("Conv", ["sr", "dw.w"], "d", "dw", kernel_shape=[3, 3], group=32,
              pads=[1, 1, 1, 1]),
        _node("Relu", ["d"], "dr", "dw_relu"),
        _node("Conv", ["dr", "pw.w"], "p", "pw", kernel_shape=[1, 1]),
        _node("Relu", ["p"], "pr", "pw_relu"),
        _node("Conv", ["pr", "dil.w"], "c", "dil", kernel_shape=[3, 3], dilations=[2, 2],
              pads=[2, 2, 2, 2]),
        _node("Add", ["c", "pr"], "a", "residual"),
        _node("GlobalAveragePool", ["a"], "g", "pool"),
        _node("Flatten", ["g"], "f", "flatten"),
        _node("Gemm", ["f", "fc.w", "fc.b"], "l", "fc", transB=1),
        _node("Softmax", ["l"], "y", "softmax"),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "small_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, IMAGE, IMAGE])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
        initializer=[numpy_helper.from_array(a, name) for name, a in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def tiny_attention(dim: int = 8, heads: int = 2, seed: int = 1) -> onnx.ModelProto:
    """One attention block on ``(B, S, dim)`` with symbolic ``B`` and ``S``: a q/k/v
    projection MatMul, the two attention products, softmax, output projection, residual Add,
    LayerNormalization, and one TopK (an op sparsim cannot cost)."""
    rng = np.random.default_rng(seed)
    hd = dim // heads
    inits = {
        "wq": rng.standard_normal((dim, dim)).astype(np.float32),
        "wk": rng.standard_normal((dim, dim)).astype(np.float32),
        "wv": rng.standard_normal((dim, dim)).astype(np.float32),
        "wo": rng.standard_normal((dim, dim)).astype(np.float32),
        "heads_shape": np.array([0, 0, heads, hd], np.int64),
        "merge_shape": np.array([0, 0, dim], np.int64),
        "ln.g": np.ones(dim, np.float32),
        "ln.b": np.zeros(dim, np.float32),
        "topk_k": np.array([1], np.int64),
    }
    nodes = []
    for t in ("q", "k", "v"):
        nodes += [
            _node("MatMul", ["x", f"w{t}"], f"{t}0", f"attn.{t}_proj"),
            _node("Reshape", [f"{t}0", "heads_shape"], f"{t}1", f"{t}_split"),
            _node("Transpose", [f"{t}1"], f"{t}2", f"{t}_heads",
                  perm=[0, 2, 3, 1] if t == "k" else [0, 2, 1, 3]),
        ]  # fmt: skip
    nodes += [
        _node("MatMul", ["q2", "k2"], "s", "attn.qk"),
        _node("Softmax", ["s"], "p", "attn.softmax", axis=-1),
        _node("MatMul", ["p", "v2"], "o", "attn.av"),
        _node("Transpose", ["o"], "o1", "merge_t", perm=[0, 2, 1, 3]),
        _node("Reshape", ["o1", "merge_shape"], "o2", "merge"),
        _node("MatMul", ["o2", "wo"], "o3", "attn.out_proj"),
        _node("Add", ["o3", "x"], "r", "residual"),
        _node("LayerNormalization", ["r", "ln.g", "ln.b"], "y", "norm", axis=-1),
        helper.make_node("TopK", ["y", "topk_k"], ["tv", "ti"], name="topk", axis=-1),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "tiny_attention",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "S", dim])],
        [helper.make_tensor_value_info("tv", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(a, name) for name, a in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def unstructured_spec() -> dict:
    """``configs/mobile_npu.yaml`` with unstructured skipping instead of group skipping: each
    output channel walks its own nonzeros at 0.25 extra cycles each, 8-bit index per nonzero
    (both assumed), so real masks' per-channel imbalance shows in the tile time."""
    data = yaml.safe_load((Path(configs.__file__).parent / "mobile_npu.yaml").read_text())
    data["name"] = "unstructured_npu"
    data["description"] = "mobile_npu with unstructured weight skipping (test fixture)"
    data["sparsity"] = {
        "activation": "none",
        "unstructured": {"decode_cycles_per_nonzero": 0.25, "metadata_bits_per_nonzero": 8},
    }
    return data


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else ".")
    out.mkdir(parents=True, exist_ok=True)
    spec = out / "unstructured_npu.yaml"
    spec.write_text(yaml.safe_dump(unstructured_spec(), sort_keys=False))
    print(f"wrote {spec}")
    for name, model in (("small_cnn", small_cnn()), ("tiny_attention", tiny_attention())):
        onnx.save(model, out / f"{name}.onnx")
        print(f"wrote {out / f'{name}.onnx'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
