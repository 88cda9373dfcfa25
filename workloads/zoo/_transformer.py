"""A transformer block built from matrix and vector ops, shared by the zoo's transformers.

Attention is costed densely: ``Q Kᵀ`` spans every (query, key) pair even under a causal mask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sparsim.workloads.ops import VectorKind
from sparsim.workloads.zoo._builder import Builder


@dataclass(frozen=True, slots=True, kw_only=True)
class TransformerShape:
    """Hyper-parameters of a stack of identical blocks.

    ``rms_norm``: RMSNorm (scale only) instead of LayerNorm (scale and shift); ``gated_mlp``:
    SwiGLU (gate, up, down) instead of fc1-GELU-fc2; ``post_norm``: normalize after each
    residual add (BERT) instead of before each sub-block; ``rotary``: RoPE on queries and keys;
    ``kv_heads``: grouped-query attention, ``heads / kv_heads`` query heads sharing each key and
    value head (0: one per query head).
    """

    layers: int
    dim: int
    heads: int
    mlp_hidden: int
    bias: bool
    rms_norm: bool = False
    gated_mlp: bool = False
    post_norm: bool = False
    rotary: bool = False
    kv_heads: int = 0

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    @property
    def kv_groups(self) -> int:
        """Key/value heads (``heads`` unless grouped-query attention)."""
        return self.kv_heads or self.heads


def norm(b: Builder, shape: TransformerShape, name: str, tokens: int) -> None:
    """LayerNorm / RMSNorm over ``tokens`` rows; its scale (and shift) are extra weights."""
    b.vector(name, VectorKind.NORM, tokens * shape.dim)
    b.extra_weight_elements += shape.dim if shape.rms_norm else 2 * shape.dim


def _attention(b: Builder, shape: TransformerShape, name: str, q_len: int, kv_len: int) -> None:
    """Fused QKV projection, per-head ``Q Kᵀ`` (q_len x kv_len), softmax, ``A V``, projection.
    Grouped-query attention stacks the ``heads / kv_heads`` queries sharing a key/value head
    as the rows of one GEMM per KV head (each K and V read once; the same MACs)."""
    tokens, dim = b.batch * q_len, shape.dim
    kv_dim, group = shape.kv_groups * shape.head_dim, shape.heads // shape.kv_groups
    count, rows = b.batch * shape.kv_groups, group * q_len
    b.linear(f"{name}.qkv", tokens, dim, dim + 2 * kv_dim, shape.bias)
    if shape.rotary:  # q' = q * cos + rotate(q) * sin, for q and k
        b.vector(f"{name}.rope", VectorKind.ELEMENTWISE, tokens * (dim + kv_dim),
                 flops_per_element=3)  # fmt: skip
    b.matmul(f"{name}.qk", count, rows, kv_len, shape.head_dim)
    b.vector(f"{name}.softmax", VectorKind.SOFTMAX, count * rows * kv_len)
    b.matmul(f"{name}.av", count, rows, shape.head_dim, kv_len)
    b.linear(f"{name}.proj", tokens, dim, dim, shape.bias)


def _mlp(b: Builder, shape: TransformerShape, name: str, tokens: int) -> None:
    dim, hidden = shape.dim, shape.mlp_hidden
    if shape.gated_mlp:  # down(silu(gate(x)) * up(x))
        b.linear(f"{name}.gate", tokens, dim, hidden, shape.bias)
        b.linear(f"{name}.up", tokens, dim, hidden, shape.bias)
        b.activation(f"{name}.silu", tokens * hidden)
        b.vector(f"{name}.mul", VectorKind.ELEMENTWISE, tokens * hidden)
        b.linear(f"{name}.down", tokens, hidden, dim, shape.bias)
    else:
        b.linear(f"{name}.fc1", tokens, dim, hidden, shape.bias)
        b.activation(f"{name}.gelu", tokens * hidden)
        b.linear(f"{name}.fc2", tokens, hidden, dim, shape.bias)


def _residual(
    b: Builder,
    shape: TransformerShape,
    name: str,
    i: int,
    tokens: int,
    sublayer: Callable[[], None],
) -> None:
    """``x + sublayer(norm(x))``, or ``norm(x + sublayer(x))`` for post-norm models."""
    if not shape.post_norm:
        norm(b, shape, f"{name}.norm{i}", tokens)
    sublayer()
    b.residual_add(f"{name}.add{i}", tokens * shape.dim)
    if shape.post_norm:
        norm(b, shape, f"{name}.norm{i}", tokens)


def _block(b: Builder, shape: TransformerShape, name: str, q_len: int, kv_len: int) -> None:
    tokens = b.batch * q_len
    _residual(
        b, shape, name, 1, tokens, lambda: _attention(b, shape, f"{name}.attn", q_len, kv_len)
    )
    _residual(b, shape, name, 2, tokens, lambda: _mlp(b, shape, f"{name}.mlp", tokens))


def blocks(b: Builder, shape: TransformerShape, prefix: str, q_len: int, kv_len: int) -> None:
    """``shape.layers`` blocks named ``{prefix}.{i}``; each of ``q_len`` queries per sequence
    attends to ``kv_len`` keys (``kv_len == q_len`` except when decoding against a KV cache)."""
    for i in range(shape.layers):
        _block(b, shape, f"{prefix}.{i}", q_len, kv_len)


def check_length(what: str, value: int, limit: int) -> None:
    """Sequence lengths beyond a model's position table do not exist for that model."""
    if not (isinstance(value, int) and 1 <= value <= limit):
        raise ValueError(f"{what} must be an int in [1, {limit}], not {value!r}")
