"""Model zoo structure: layer counts and shapes that the papers state."""

from collections import Counter

import pytest
from sparsim.workloads import zoo
from sparsim.workloads.layer import Workload
from sparsim.workloads.ops import Conv2d, Linear, MatMul, Vector, VectorKind
from sparsim.workloads.registry import get_workload
from sparsim.workloads.yamlio import ConfigError


def _ops(w: Workload, cls: type) -> list:
    return [layer.op for layer in w.layers if isinstance(layer.op, cls)]


def _op(w: Workload, name: str):
    return next(layer.op for layer in w.layers if layer.name == name)


@pytest.mark.parametrize("name", zoo.__all__)
def test_every_model_builds_with_matrix_and_vector_work(name: str) -> None:
    w = getattr(zoo, name)()
    assert w.name == name
    assert w.macs > 0
    kinds = {layer.op.kind for layer in w.layers if isinstance(layer.op, Vector)}
    assert VectorKind.ACTIVATION in kinds
    assert (VectorKind.NORM in kinds) == (name != "vgg16")  # VGG-16 predates BatchNorm
    assert all(layer.op.has_weight for layer in w.layers if isinstance(layer.op, Conv2d | Linear))


@pytest.mark.parametrize(
    ("model", "convs", "fcs"),
    [
        # He et al. 2016, Table 1: 17 (resp. 49) convs + fc, plus 3 (resp. 4) projection shortcuts
        (zoo.resnet18, 17 + 3, 1),
        (zoo.resnet50, 49 + 4, 1),
        # Simonyan & Zisserman 2015, configuration D: 13 conv + 3 fc
        (zoo.vgg16, 13, 3),
        # Howard et al. 2017: 28 layers counting depthwise and pointwise separately (27 conv + fc)
        (zoo.mobilenet_v1, 27, 1),
        # Sandler et al. 2018, Table 2: stem, 17 bottlenecks (16 expand), 1x1 to 1280, classifier
        (zoo.mobilenet_v2, 1 + 17 * 2 + 16 + 1, 1),
    ],
)
def test_cnn_layer_counts(model, convs: int, fcs: int) -> None:
    w = model()
    assert len(_ops(w, Conv2d)) == convs
    assert len(_ops(w, Linear)) == fcs


def test_resnet50_shapes() -> None:
    w = zoo.resnet50()
    assert _op(w, "stem.conv1").out_height == 112
    last = _op(w, "layer4.2.conv3")
    assert (last.out_channels, last.out_height) == (2048, 7)
    # v1.5: the stride-2 sits in the 3x3 conv of the first block of a stage
    assert _op(w, "layer2.0.conv2").stride == (2, 2)
    assert _op(w, "layer2.0.conv1").stride == (1, 1)
    assert _op(w, "fc").gemm().k == 2048


def test_mobilenets_use_depthwise_convs() -> None:
    v1, v2 = zoo.mobilenet_v1(), zoo.mobilenet_v2()
    assert sum(op.is_depthwise for op in _ops(v1, Conv2d)) == 13
    assert sum(op.is_depthwise for op in _ops(v2, Conv2d)) == 17
    # v2 residual adds: stride-1 repeats with equal widths, 1+2+3+2+2 (Sandler et al. Table 2)
    assert sum(layer.name.endswith(".add") for layer in v2.layers) == 10


def test_vit_tokens_and_attention_shapes() -> None:
    w = zoo.vit_b16(batch=2)
    assert _op(w, "blocks.0.attn.qk") == MatMul(batch=2 * 12, m=197, n=197, k=64)  # 14*14 + cls
    assert _op(w, "blocks.11.attn.av") == MatMul(batch=2 * 12, m=197, n=64, k=197)
    assert _op(w, "blocks.0.attn.qkv").gemm().m == 2 * 197
    assert _op(w, "head").tokens == 2


def test_bert_and_gpt2_shapes() -> None:
    bert = zoo.bert_base(seq_len=64)
    assert (
        _op(bert, "encoder.11.mlp.fc1").gemm()
        == Linear(tokens=64, in_features=768, out_features=3072).gemm()
    )
    assert _op(bert, "encoder.0.attn.softmax").elements == 12 * 64 * 64
    gpt = zoo.gpt2(seq_len=256)
    assert _op(gpt, "lm_head").gemm().n == 50257
    assert _op(gpt, "lm_head").gemm().m == 256


def test_llama_decode_attends_to_kv_cache() -> None:
    w = zoo.llama2_7b_decode(batch=3, kv_len=500)
    assert _op(w, "layers.0.attn.qk") == MatMul(batch=3 * 32, m=1, n=500, k=128)
    assert _op(w, "layers.31.attn.av") == MatMul(batch=3 * 32, m=1, n=128, k=500)
    assert _op(w, "layers.0.attn.qkv").tokens == 3
    assert _op(w, "layers.0.mlp.down").gemm().k == 11008


def test_llama_decode_takes_the_kv_dtype() -> None:
    w = zoo.llama2_7b_decode(kv_len=16, kv_dtype="fp8_e4m3")
    kv = {layer.name: layer.kv_dtype for layer in w.layers if layer.kv_dtype}
    assert len(kv) == 64 and set(kv.values()) == {"fp8_e4m3"}  # qk and av of 32 blocks
    assert all(layer.weight_dtype is None for layer in w.layers)
    with pytest.raises(ConfigError, match="kv_dtype must be one of int2, int4"):
        get_workload("llama2_7b_decode", kv_dtype="fp9")


def test_tinyllama_decode_groups_queries_per_kv_head() -> None:
    # 32 query heads share 4 KV heads (8 each): per KV head one GEMM of 8 query rows
    w = zoo.tinyllama_1b_decode(batch=2, kv_len=100)
    assert _op(w, "layers.0.attn.qk") == MatMul(batch=2 * 4, m=8, n=100, k=64)
    assert _op(w, "layers.21.attn.av") == MatMul(batch=2 * 4, m=8, n=64, k=100)
    assert _op(w, "layers.0.attn.qkv").gemm().n == 2048 + 2 * 4 * 64  # q, then k and v


def test_llama_prefill_shapes() -> None:
    w = zoo.llama2_7b(seq_len=128)
    assert _op(w, "layers.0.attn.qk") == MatMul(batch=32, m=128, n=128, k=128)
    assert _op(w, "layers.0.mlp.gate").tokens == 128
    assert _op(w, "lm_head").tokens == 1  # next-token logits only
    names = Counter(layer.name.split(".")[-1] for layer in w.layers)
    assert names["rope"] == names["qkv"] == 32


def test_resnet_macs_scale_with_image_area() -> None:
    # every conv output is 4x larger at 448 (all strides divide evenly); fc is unchanged
    small, large = zoo.resnet50(), zoo.resnet50(image_size=448)
    fc = _op(small, "fc").macs
    assert large.macs - fc == 4 * (small.macs - fc)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: zoo.gpt2(seq_len=2048), r"seq_len must be an int in \[1, 1024\]"),
        (lambda: zoo.bert_base(seq_len=0), r"seq_len must be an int in \[1, 512\]"),
        (lambda: zoo.llama2_7b_decode(kv_len=5000), r"kv_len must be an int in \[1, 4096\]"),
        (lambda: zoo.tinyllama_1b_decode(kv_len=4096), r"kv_len must be an int in \[1, 2048\]"),
        (lambda: zoo.vit_b16(image_size=200), "positive multiple of 16"),
        (lambda: zoo.resnet18(batch=0), "batch must be an int >= 1"),
    ],
)
def test_zoo_rejects_impossible_parameters(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
