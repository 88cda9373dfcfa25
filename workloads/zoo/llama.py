"""LLaMA-2-7B (Touvron et al. 2023): prefill of a prompt, and decode of one token per sequence
against a KV cache. RMSNorm, SwiGLU, rotary embeddings, no biases, untied output head."""

from __future__ import annotations

from sparsim.workloads.layer import Workload
from sparsim.workloads.zoo._builder import Builder
from sparsim.workloads.zoo._transformer import TransformerShape, blocks, check_length, norm

__all__ = ["LLAMA2_7B", "llama2_7b", "llama2_7b_decode", "llama_like"]

LLAMA2_7B = TransformerShape(
    layers=32,
    dim=4096,
    heads=32,
    mlp_hidden=11008,
    bias=False,
    rms_norm=True,
    gated_mlp=True,
    rotary=True,
)
_VOCAB = 32000
_CONTEXT = 4096


def llama_like(
    name: str, shape: TransformerShape, vocab: int, batch: int, q_len: int, kv_len: int
) -> Workload:
    """A LLaMA-architecture model: embedding lookup (a gather: weights but no MACs), blocks,
    final norm, and the output head on each sequence's last token only, the one whose logits
    pick the next token."""
    b = Builder(batch)
    b.extra_weight_elements += vocab * shape.dim  # embed_tokens
    blocks(b, shape, "layers", q_len, kv_len)
    norm(b, shape, "norm", batch * q_len)
    b.linear("lm_head", batch, shape.dim, vocab, bias=False)
    return b.workload(name)


def _llama(name: str, batch: int, q_len: int, kv_len: int) -> Workload:
    return llama_like(name, LLAMA2_7B, _VOCAB, batch, q_len, kv_len)


def llama2_7b(batch: int = 1, seq_len: int = 2048) -> Workload:
    """Prefill: ``seq_len`` prompt tokens per sequence attend causally to each other."""
    check_length("seq_len", seq_len, _CONTEXT)
    return _llama("llama2_7b", batch, seq_len, seq_len)


def llama2_7b_decode(batch: int = 1, kv_len: int = 2048, kv_dtype: str | None = None) -> Workload:
    """Decode: one new token per sequence attends to ``kv_len`` cached keys and values
    (``Q Kᵀ`` is 1 x kv_len per head, ``A V`` 1 x head_dim over kv_len), the cache held in
    ``kv_dtype`` (``workloads.dtypes``; ``None``: the activation dtype)."""
    check_length("kv_len", kv_len, _CONTEXT)
    return _llama("llama2_7b_decode", batch, 1, kv_len).with_precision(kv=kv_dtype)
