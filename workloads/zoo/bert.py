"""BERT-base (Devlin et al. 2019) encoder with its pooler, as in Hugging Face ``BertModel``."""

from __future__ import annotations

from sparsim.workloads.layer import Workload
from sparsim.workloads.ops import VectorKind
from sparsim.workloads.zoo._builder import Builder
from sparsim.workloads.zoo._transformer import TransformerShape, blocks, check_length, norm

__all__ = ["BERT_BASE", "bert_base"]

BERT_BASE = TransformerShape(
    layers=12, dim=768, heads=12, mlp_hidden=3072, bias=True, post_norm=True
)
_VOCAB = 30522
_MAX_POSITIONS = 512
_TOKEN_TYPES = 2


def bert_base(batch: int = 1, seq_len: int = 128) -> Workload:
    """BERT-base over ``batch`` sequences of ``seq_len`` tokens; the pooler reads [CLS]."""
    check_length("seq_len", seq_len, _MAX_POSITIONS)
    dim = BERT_BASE.dim
    b = Builder(batch)
    tokens = batch * seq_len
    b.extra_weight_elements += (_VOCAB + _MAX_POSITIONS + _TOKEN_TYPES) * dim  # embedding tables
    b.vector("embeddings.add", VectorKind.ELEMENTWISE, tokens * dim, flops_per_element=2)
    norm(b, BERT_BASE, "embeddings.norm", tokens)
    blocks(b, BERT_BASE, "encoder", seq_len, seq_len)
    b.linear("pooler.dense", batch, dim, dim, bias=True)
    b.activation("pooler.tanh", batch * dim)
    return b.workload("bert_base")
