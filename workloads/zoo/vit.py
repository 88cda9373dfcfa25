"""ViT-B/16 (Dosovitskiy et al. 2021): 16x16 patches, 12 pre-norm blocks of width 768."""

from __future__ import annotations

from sparsim.workloads.layer import Workload
from sparsim.workloads.ops import VectorKind
from sparsim.workloads.zoo._builder import Builder, Feature
from sparsim.workloads.zoo._transformer import TransformerShape, blocks, norm

__all__ = ["VIT_B16", "vit_b16"]

VIT_B16 = TransformerShape(layers=12, dim=768, heads=12, mlp_hidden=3072, bias=True)
_PATCH = 16


def vit_b16(batch: int = 1, image_size: int = 224) -> Workload:
    """ViT-B/16 classifier: patch embedding (a strided conv), a class token, 12 blocks, and a
    linear head on the class token."""
    if not (isinstance(image_size, int) and image_size >= _PATCH and image_size % _PATCH == 0):
        raise ValueError(f"image_size must be a positive multiple of {_PATCH}, not {image_size!r}")
    dim = VIT_B16.dim
    b = Builder(batch)
    grid = b.conv(
        "patch_embed", Feature(3, image_size, image_size), dim, _PATCH, _PATCH, bias=True, padding=0
    )
    tokens = grid.height * grid.width + 1  # patches + class token
    b.extra_weight_elements += dim + tokens * dim  # class token, position embeddings
    b.vector("pos_embed.add", VectorKind.ELEMENTWISE, batch * tokens * dim)
    blocks(b, VIT_B16, "blocks", tokens, tokens)
    norm(b, VIT_B16, "norm", batch * tokens)
    b.linear("head", batch, dim, 1000, bias=True)
    return b.workload("vit_b16", input_gradient=False)
