"""TinyLlama-1.1B (Zhang et al. 2024, arXiv 2401.02385): a LLaMA-2-architecture model small
enough that LLM-decode sweeps stay fast. Shape from the released Hugging Face config
(TinyLlama/TinyLlama-1.1B-Chat-v1.0 and the intermediate checkpoints, ``config.json``):
hidden_size 2048, intermediate_size 5632, 22 layers, 32 attention heads, 4 key/value heads
(grouped-query attention), vocab_size 32000, max_position_embeddings 2048, no biases, untied
output head; RMSNorm, SwiGLU and rotary embeddings as LLaMA-2."""

from __future__ import annotations

from sparsim.workloads.layer import Workload
from sparsim.workloads.zoo._transformer import TransformerShape, check_length
from sparsim.workloads.zoo.llama import llama_like

__all__ = ["TINYLLAMA_1B", "tinyllama_1b", "tinyllama_1b_decode"]

TINYLLAMA_1B = TransformerShape(
    layers=22,
    dim=2048,
    heads=32,
    mlp_hidden=5632,
    bias=False,
    rms_norm=True,
    gated_mlp=True,
    rotary=True,
    kv_heads=4,
)
_VOCAB = 32000
_CONTEXT = 2048


def _tinyllama(name: str, batch: int, q_len: int, kv_len: int) -> Workload:
    return llama_like(name, TINYLLAMA_1B, _VOCAB, batch, q_len, kv_len)


def tinyllama_1b(batch: int = 1, seq_len: int = 2048) -> Workload:
    """Prefill: ``seq_len`` prompt tokens per sequence attend causally to each other."""
    check_length("seq_len", seq_len, _CONTEXT)
    return _tinyllama("tinyllama_1b", batch, seq_len, seq_len)


def tinyllama_1b_decode(
    batch: int = 1, kv_len: int = 2048, kv_dtype: str | None = None
) -> Workload:
    """Decode: one new token per sequence attends to ``kv_len`` cached keys and values held in
    ``kv_dtype`` (``None``: the activation dtype); each of the 4 KV heads serves its 8 query
    heads as the 8 rows of one GEMM."""
    check_length("kv_len", kv_len, _CONTEXT)
    return _tinyllama("tinyllama_1b_decode", batch, 1, kv_len).with_precision(kv=kv_dtype)
