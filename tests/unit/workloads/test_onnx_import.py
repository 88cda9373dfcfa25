"""workloads.onnx_import on models built in the test (tests.onnx_models): shapes, MACs,
BatchNorm folded, attention products, unsupported ops in one warning, detected patterns; and
binding .npz/.safetensors weights to a zoo model."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
from safetensors.numpy import save_file
from sparsim.simulator.lower import lower
from sparsim.workloads import get_workload
from sparsim.workloads.detect import weight_stats
from sparsim.workloads.onnx_import import UnsupportedOpsWarning, load_onnx
from sparsim.workloads.ops import Conv2d, Linear, MatMul, Vector
from sparsim.workloads.recipe import recipe_from_flags
from sparsim.workloads.sparsity import NM, Dense
from sparsim.workloads.weightfile import load_weight_file, save_npz
from sparsim.workloads.weights import bind_weights, expected_shape, prune_weights, with_masks
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
    assert ops["residual"] == Vector(kind="elementwise", elements=2 * 64 * 256)
    assert ops["pool"].elements == 2 * 64 * 256 and ops["softmax"].elements == 20
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
# detected patterns


def test_detects_the_uneven_dilated_conv_weight(cnn):
    stats = weight_stats(cnn.weights["dil"])
    # 64 rows x 144 groups of 4: even rows hold 1 nonzero per group (pass 2:4), odd rows 4:
    # 50%. group4: every 4 rows hold 2 dense odd rows, so no all-zero cell: 0%
    assert stats.findings[0] == "2:4 along K: 50% of groups"
    assert stats.findings[2] == "group4: 0% zero groups"
    assert stats.density == pytest.approx((32 * 144 + 32 * 576) / (64 * 576))
    # busiest row 576 nonzeros over the mean 360 = 1.6
    assert stats.row_imbalance == pytest.approx(1.6)


def test_detects_known_patterns():
    rng = np.random.default_rng(5)
    w = rng.integers(1, 100, (8, 25)).astype(np.float32)
    nm = w.copy()
    nm[:, 1::2] = 0  # every group of 4 keeps positions 0 and 2 (or 0 in the short last group)
    stats = weight_stats(nm)
    assert stats.findings[0] == "2:4 along K: 100% of groups"
    assert isinstance(stats.pattern, NM) and (stats.pattern.n, stats.pattern.m) == (2, 4)
    assert np.array_equal(stats.pattern.mask, (nm != 0).T)
    grp = w.copy()
    grp[:4, :12] = 0  # group of rows 0-3: 12 of 25 columns zero; rows 4-7: another 12
    grp[4:, 13:] = 0
    stats = weight_stats(grp)
    assert stats.findings[2] == "group4: 48% zero groups"  # 24 of 50 cells
    assert str(stats.pattern) == "group4:48%"


# --------------------------------------------------------------------------------------------
# weight files bound to a zoo model


def _resnet_arrays(workload, seed=0):
    rng = np.random.default_rng(seed)
    return {
        f"{ly.name}.weight": rng.standard_normal(expected_shape(ly.op)).astype(np.float32)
        for ly in workload.layers
        if ly.op.has_weight
    }


@pytest.fixture(scope="module")
def resnet():
    return get_workload("resnet18", image_size=32)


def test_prune_save_load_gives_the_same_mask(resnet, tmp_path):
    weights = bind_weights(resnet, _resnet_arrays(resnet), "mem")
    # the 1x1 downsample convs and the classifier: small enough to keep the test fast
    recipe = recipe_from_flags("2:4", only="conv1x1,linear")
    pruned_wl, pruned, _ = prune_weights(resnet, weights, recipe)
    for path in (tmp_path / "p.npz", tmp_path / "p.safetensors"):
        if path.suffix == ".npz":
            save_npz(path, pruned)
        else:
            save_file({k: np.ascontiguousarray(v) for k, v in pruned.items()}, str(path))
        loaded = with_masks(resnet, bind_weights(resnet, load_weight_file(path), str(path)))
        for before, after in zip(pruned_wl.layers, loaded.layers, strict=True):
            if isinstance(before.weight_sparsity, Dense):
                assert isinstance(after.weight_sparsity, Dense)  # dense random weights
                continue
            assert np.array_equal(before.weight_sparsity.mask, after.weight_sparsity.mask)
            assert str(after.weight_sparsity) == "2:4"


def test_binding_errors_name_the_layer(resnet):
    arrays = _resnet_arrays(resnet)
    arrays["layer1.0.conv1.weight"] = np.zeros((64, 64, 1, 3), np.float32)
    arrays["layer9.conv.weight"] = np.zeros((1, 1), np.float32)
    del arrays["fc.weight"]
    arrays["layer1.0.bn1.weight"] = np.ones(64, np.float32)  # BatchNorm scale: not a matrix
    with pytest.raises(ConfigError) as err:
        bind_weights(resnet, arrays, "w.npz")
    assert str(err.value).splitlines() == [
        "w.npz: layer layer1.0.conv1: array 'layer1.0.conv1.weight' has shape (64, 64, 1, 3), "
        "the model needs (64, 64, 3, 3)",
        "w.npz: array 'layer9.conv.weight' names no layer of resnet18 (did you mean "
        "'layer4.1.conv2'?)",
        "w.npz: no array for layer fc (shape (1000, 512))",
    ]
