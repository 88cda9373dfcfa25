"""Model zoo against published MAC and parameter counts.

MACs count matrix ops only (conv, linear, attention matmuls); vector work is separate.
"""

import pytest
from sparsim.workloads import zoo
from sparsim.workloads.layer import Workload
from sparsim.workloads.ops import Vector

# (model, published multiply-accumulates at 224x224, batch 1)
_PUBLISHED_MACS = [
    # torchvision model docs, ResNet18_Weights: 1.81 GFLOPS (fvcore multiply-adds);
    # He et al. 2016, Table 1: 1.8e9 FLOPs (multiply-adds)
    (zoo.resnet18, 1.81e9),
    # torchvision model docs, ResNet50_Weights: 4.09 GFLOPS (v1.5, stride in the 3x3 conv);
    # He et al. 2016, Table 1 reports 3.8e9 for v1 (stride in the first 1x1 conv)
    (zoo.resnet50, 4.09e9),
    # torchvision model docs, VGG16_Weights: 15.47 GFLOPS
    (zoo.vgg16, 15.47e9),
    # Howard et al. 2017, Table 8: 1.0 MobileNet-224, 569 million mult-adds
    (zoo.mobilenet_v1, 569e6),
    # Sandler et al. 2018, Table 4: MobileNetV2, 300M multiply-adds
    (zoo.mobilenet_v2, 300e6),
    # torchvision model docs, ViT_B_16_Weights: 17.56 GFLOPS; Dosovitskiy et al. 2021 ViT-B/16
    (zoo.vit_b16, 17.56e9),
]

# (model, published parameter count, its source)
_PUBLISHED_PARAMS = [
    (zoo.bert_base, 110e6),  # Devlin et al. 2019, Section 3: BERT-BASE, 110M parameters
    (zoo.gpt2, 124e6),  # Hugging Face gpt2 model card: 124M parameters
    (zoo.llama2_7b, 6.74e9),  # Touvron et al. 2023, "7B"; Hugging Face Llama-2-7b-hf: 6.74B
    (zoo.resnet50, 25.6e6),  # He et al. 2016 / torchvision: 25.6M
    (zoo.mobilenet_v1, 4.2e6),  # Howard et al. 2017, Table 8: 4.2 million parameters
]

# Exact counts from reference implementations, i.e. sum(p.numel() for p in model.parameters())
# (BatchNorm/LayerNorm scales and shifts included, running statistics excluded).
_REFERENCE_PARAMS = [
    (zoo.resnet18, 11_689_512),  # torchvision resnet18
    (zoo.resnet50, 25_557_032),  # torchvision resnet50
    (zoo.vgg16, 138_357_544),  # torchvision vgg16
    (zoo.mobilenet_v1, 4_231_976),  # keras.applications.MobileNet, trainable parameters
    (zoo.mobilenet_v2, 3_504_872),  # torchvision mobilenet_v2
    (zoo.vit_b16, 86_567_656),  # torchvision vit_b_16
    (zoo.bert_base, 109_482_240),  # Hugging Face BertModel, bert-base-uncased
    (zoo.gpt2, 124_439_808),  # Hugging Face GPT2LMHeadModel, gpt2 (lm_head tied to wte)
    (zoo.llama2_7b, 6_738_415_616),  # Hugging Face LlamaForCausalLM, Llama-2-7b-hf
    (zoo.llama2_7b_decode, 6_738_415_616),
    # Hugging Face LlamaForCausalLM, TinyLlama/TinyLlama-1.1B-Chat-v1.0 (config in
    # workloads/zoo/tinyllama.py); by hand: embed and head 32000 x 2048 each (65,536,000),
    # per layer q 2048^2 + k, v 2048 x 256 + o 2048^2 + gate, up, down 3 x 2048 x 5632 + two
    # RMSNorm scales 2 x 2048 = 44,044,288, x 22 layers; final norm 2048
    (zoo.tinyllama_1b, 1_100_048_384),
    (zoo.tinyllama_1b_decode, 1_100_048_384),
]


@pytest.mark.parametrize(
    ("model", "published"), _PUBLISHED_MACS, ids=lambda v: getattr(v, "__name__", "")
)
def test_macs_match_published(model, published: float) -> None:
    assert model().macs == pytest.approx(published, rel=0.02)


@pytest.mark.parametrize(
    ("model", "published"), _PUBLISHED_PARAMS, ids=lambda v: getattr(v, "__name__", "")
)
def test_params_match_published(model, published: float) -> None:
    assert model().weight_elements == pytest.approx(published, rel=0.02)


@pytest.mark.parametrize(
    ("model", "count"), _REFERENCE_PARAMS, ids=lambda v: getattr(v, "__name__", "")
)
def test_params_match_reference_implementation(model, count: int) -> None:
    assert model().weight_elements == count


# batch is what varies here
_SHORT = {"gpt2": {"seq_len": 64}, "llama2_7b": {"seq_len": 32}, "tinyllama_1b": {"seq_len": 32}}


def _vector_elements(w: Workload) -> int:
    return sum(layer.op.elements for layer in w.layers if isinstance(layer.op, Vector))


@pytest.mark.parametrize("name", zoo.__all__)
def test_batch_scales_work_linearly(name: str) -> None:
    model, settings = getattr(zoo, name), _SHORT.get(name, {})
    one, three = model(batch=1, **settings), model(batch=3, **settings)
    assert three.macs == 3 * one.macs
    assert _vector_elements(three) == 3 * _vector_elements(one)
    assert three.weight_elements == one.weight_elements


# LLaMA-2-7B architecture (Touvron et al. 2023; Hugging Face config): 32 layers, d_model 4096,
# SwiGLU hidden 11008, vocabulary 32000, no biases.
_LAYERS, _DIM, _HIDDEN, _VOCAB = 32, 4096, 11008, 32000
_LLAMA_LINEAR_WEIGHTS = _LAYERS * (4 * _DIM * _DIM + 3 * _DIM * _HIDDEN) + _DIM * _VOCAB


def test_llama_decode_macs_closed_form() -> None:
    # one token: every linear weight is used once; Q Kᵀ and A V each cost d_model MACs per
    # cached position per layer
    for kv_len in (1, 512, 4096):
        decode = zoo.llama2_7b_decode(kv_len=kv_len)
        assert decode.macs == _LLAMA_LINEAR_WEIGHTS + _LAYERS * 2 * _DIM * kv_len


def test_llama_decode_macs_about_params_per_token() -> None:
    # forward FLOPs per token ~ 2 x parameters (Kaplan et al. 2020), i.e. MACs ~ parameters;
    # the embedding table is a lookup, so it is the only sizeable gap (~2 %)
    decode = zoo.llama2_7b_decode(kv_len=1)
    assert decode.macs == pytest.approx(decode.weight_elements, rel=0.03)
    assert decode.macs < decode.weight_elements


def test_llama_decode_attention_grows_linearly_with_kv_len() -> None:
    macs = [zoo.llama2_7b_decode(kv_len=kv).macs for kv in (256, 512, 1024)]
    assert macs[1] - macs[0] == _LAYERS * 2 * _DIM * 256
    assert macs[2] - macs[1] == 2 * (macs[1] - macs[0])


def test_llama_prefill_macs_closed_form() -> None:
    # L prompt tokens through every block, causal attention costed densely (L x L), logits for
    # the last token only
    seq = 1024
    blocks = _LAYERS * (4 * _DIM * _DIM + 3 * _DIM * _HIDDEN)
    assert (
        zoo.llama2_7b(seq_len=seq).macs
        == seq * blocks + 2 * _LAYERS * seq * seq * _DIM + _DIM * _VOCAB
    )


def test_gpt2_macs_closed_form() -> None:
    # GPT-2 small (Radford et al. 2019): 12 layers, d 768, MLP 3072, vocab 50257; logits for
    # every position
    seq, d = 1024, 768
    per_token = 12 * (4 * d * d + 2 * d * 4 * d) + d * 50257
    assert zoo.gpt2(seq_len=seq).macs == seq * per_token + 12 * 2 * seq * seq * d


def test_tinyllama_decode_macs_closed_form() -> None:
    # TinyLlama-1.1B (workloads/zoo/tinyllama.py): 22 layers, d 2048, SwiGLU 5632, 32 query
    # heads of 64 sharing 4 KV heads, vocab 32000. One token, worked by hand per layer: qkv
    # 2048 x (2048 + 2 x 256) = 5,242,880, o 2048^2 = 4,194,304, gate/up/down 3 x 2048 x 5632 =
    # 34,603,008 (44,040,192 in all); Q Kᵀ and A V each 32 heads x 64 = 2048 MACs per cached
    # position (grouping shares K and V, not MACs); the head 2048 x 32000 = 65,536,000.
    # kv_len 2048: 22 x (44,040,192 + 2 x 2048 x 2048) + 65,536,000 = 1,218,969,600.
    assert zoo.tinyllama_1b_decode(kv_len=2048).macs == 1_218_969_600
    for kv_len in (1, 700):
        expected = 22 * (44_040_192 + 2 * 2048 * kv_len) + 65_536_000
        assert zoo.tinyllama_1b_decode(kv_len=kv_len).macs == expected
