"""GPT-2 small, 124M (Radford et al. 2019), as in Hugging Face ``GPT2LMHeadModel``."""

from __future__ import annotations

from sparsim.workloads.layer import Workload
from sparsim.workloads.ops import VectorKind
from sparsim.workloads.zoo._builder import Builder
from sparsim.workloads.zoo._transformer import TransformerShape, blocks, check_length, norm

__all__ = ["GPT2", "gpt2"]

GPT2 = TransformerShape(layers=12, dim=768, heads=12, mlp_hidden=3072, bias=True)
_VOCAB = 50257
_CONTEXT = 1024


def gpt2(batch: int = 1, seq_len: int = 1024) -> Workload:
    """One forward pass over ``batch`` sequences of ``seq_len`` tokens with logits for every
    position (language-model scoring or training). The output head's weight is the token
    embedding table (tied), so that table is counted once, as ``lm_head``."""
    check_length("seq_len", seq_len, _CONTEXT)
    dim = GPT2.dim
    b = Builder(batch)
    tokens = batch * seq_len
    b.extra_weight_elements += _CONTEXT * dim  # position embeddings (wpe)
    b.vector("wpe.add", VectorKind.ELEMENTWISE, tokens * dim)
    blocks(b, GPT2, "h", seq_len, seq_len)
    norm(b, GPT2, "ln_f", tokens)
    b.linear("lm_head", tokens, dim, _VOCAB, bias=False)
    return b.workload("gpt2")
