"""workloads.onnx_import on models built in the test (tests.onnx_models): shapes, MACs,
BatchNorm folded, attention products, unsupported ops in one warning, detected patterns."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
from sparsim.simulator.lower import lower
from sparsim.workloads.detect import weight_stats
from sparsim.workloads.onnx_import import UnsupportedOpsWarning, load_onnx
from sparsim.workloads.ops import Conv2d, Linear, MatMul, Vector
from sparsim.workloads.yamlio import ConfigError

from tests.onnx_models import small_cnn, small_cnn_weights, tiny_attention


@pytest.fixture(scope="module")
def cnn_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "small_cnn.onnx"
    onnx.save(small_cnn(), path)
    return path


@pytest.fixture(scope="module")
def cnn(cnn_path):
    return load_onnx(cnn_path, batch=2)


def test_cnn_layers_shapes_and_macs(cnn):
    ops = {ly.name: ly.op for ly in cnn.workload.layers}
    assert ops["stem"] == Conv2d(batch=2, in_channels=3, out_channels=32, height=32, width=32,
                                 kernel=(3, 3), stride=(2, 2), padding=(1, 1))  # fmt: skip
    assert ops["dw"].is_depthwise and ops["dw"].groups == 32
    assert ops["dil"].dilation == (2, 2) and ops["dil"].out_height == 16
    assert ops["fc"] == Linear(tokens=2, in_features=64, out_features=10, bias=True)
    # MACs by hand (batch 2, 32x32 input, stem stride 2 -> 16x16 = 256 pixels):
    # stem 2*256*32*27 = 442368, dw 2*256*32*9 = 147456, pw 2*256*64*32 = 1048576,
    # dil 2*256*64*576 = 18874368, fc 2*64*10 = 1280
    assert cnn.workload.macs == 442368 + 147456 + 1048576 + 18874368 + 1280
    # the residual Add reads both of its 2 x 64 x 16 x 16 operands and writes one such tensor
    assert ops["residual"] == Vector(kind="elementwise", elements=2 * 64 * 256,
                                     read_elements=2 * 2 * 64 * 256,
                                     written_elements=2 * 64 * 256)  # fmt: skip
    assert ops["pool"].elements == 2 * 64 * 256 and ops["softmax"].elements == 20
    # the global pool reads its input once and writes one value per (image, channel)
    assert (ops["pool"].read_elements, ops["pool"].written_elements) == (2 * 64 * 256, 2 * 64)
    assert cnn.layout_ops == ("Flatten x1",) and cnn.unsupported == ()


def test_batchnorm_folded_into_the_stem(cnn):
    w = small_cnn_weights()
    scale = w["bn.gamma"] / np.sqrt(w["bn.var"] + 1e-5)
    expected = w["stem.w"] * scale[:, None, None, None]
    np.testing.assert_allclose(cnn.weights["stem"], expected, rtol=1e-6)  # float32 rounding
    assert np.array_equal(cnn.weights["pw"], w["pw.w"])  # no BatchNorm after pw
    bn = next(ly for ly in cnn.workload.layers if ly.name == "stem_bn")
    assert bn.op.folds_at_inference
    assert "stem_bn" not in {p.layer for p in lower(cnn.workload)}


def test_only_a_graph_input_read_by_the_first_weighted_op_skips_the_input_gradient(cnn, tmp_path):
    # the stem conv reads the graph's image input: data, so training skips the stem's BW_DATA
    assert not cnn.workload.input_gradient
    # x -> Relu -> MatMul(w): the first weighted op reads a computed tensor: gradients kept
    helper, tensor = onnx.helper, onnx.TensorProto
    w = onnx.numpy_helper.from_array(np.ones((4, 3), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["h"]), helper.make_node("MatMul", ["h", "w"], ["y"])],
        "pre", [helper.make_tensor_value_info("x", tensor.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", tensor.FLOAT, [2, 3])], initializer=[w],
    )  # fmt: skip
    path = tmp_path / "pre.onnx"
    onnx.save(helper.make_model(graph), path)
    assert load_onnx(path).workload.input_gradient


def test_batch_is_a_parameter(cnn_path):
    assert load_onnx(cnn_path, batch=4).workload.macs == 2 * load_onnx(cnn_path).workload.macs * 2


def test_attention_products_and_one_warning(tmp_path):
    path = tmp_path / "attn.onnx"
    onnx.save(tiny_attention(), path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_onnx(path, batch=2, seq_len=5)
    assert [str(w.message) for w in caught if w.category is UnsupportedOpsWarning] == [
        f"{path}: ops sparsim cannot cost, left out: TopK x1"
    ]
    ops = {ly.name: ly.op for ly in model.workload.layers}
    assert ops["attn.q_proj"] == Linear(tokens=10, in_features=8, out_features=8, bias=False)
    # 2 heads x batch 2 = 4 products of (5 x 4) @ (4 x 5), then (5 x 5) @ (5 x 4)
    assert ops["attn.qk"] == MatMul(batch=4, m=5, n=5, k=4)
    assert ops["attn.av"] == MatMul(batch=4, m=5, n=4, k=5)
    assert ops["norm"].kind == "norm" and ops["attn.softmax"].elements == 4 * 25
    assert model.weights["attn.q_proj"].shape == (8, 8)
    assert model.unsupported == ("TopK x1",)


def test_symbolic_sequence_needs_seq_len(tmp_path):
    path = tmp_path / "attn.onnx"
    onnx.save(tiny_attention(), path)
    with pytest.raises(ConfigError, match=r"symbolic dimension 'S' \(axis 1\); give seq_len"):
        load_onnx(path)


# --------------------------------------------------------------------------------------------
# detected patterns of the imported weights


def test_detects_the_uneven_dilated_conv_weight(cnn):
    stats = weight_stats(cnn.weights["dil"])
    # 64 rows x 144 groups of 4: even rows hold 1 nonzero per group (pass 2:4), odd rows 4:
    # 50%. group4: every 4 rows hold 2 dense odd rows, so no all-zero cell: 0%
    assert stats.findings[0] == "2:4 along K: 50% of groups"
    assert stats.findings[2] == "group4: 0% zero groups"
    assert stats.density == pytest.approx((32 * 144 + 32 * 576) / (64 * 576))
    # busiest row 576 nonzeros over the mean 360 = 1.6
    assert stats.row_imbalance == pytest.approx(1.6)
