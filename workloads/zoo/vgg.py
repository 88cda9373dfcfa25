"""VGG-16 (Simonyan & Zisserman 2015, configuration D) with torchvision's 7x7 adaptive pool."""

from __future__ import annotations

from sparsim.workloads.layer import Workload
from sparsim.workloads.ops import VectorKind
from sparsim.workloads.zoo._builder import Builder, Feature

__all__ = ["vgg16"]

_STAGES = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))  # (channels, 3x3 convs)
_POOLED = 7  # the classifier sees a 7x7 map


def _features(b: Builder, image_size: int) -> Feature:
    x = Feature(3, image_size, image_size)
    for stage, (channels, convs) in enumerate(_STAGES, start=1):
        for i in range(1, convs + 1):
            x = b.conv(f"conv{stage}_{i}", x, channels, 3, bias=True)
            b.activation(f"relu{stage}_{i}", b.batch * x.elements)
        x = b.maxpool(f"pool{stage}", x, kernel=2, stride=2, padding=0)
    return x


def vgg16(batch: int = 1, image_size: int = 224) -> Workload:
    """VGG-16: 13 3x3 convolutions and three fully connected layers (dropout is free)."""
    b = Builder(batch)
    x = _features(b, image_size)
    if (x.height, x.width) != (_POOLED, _POOLED):
        b.vector("avgpool", VectorKind.POOL, b.batch * x.elements,
                 written=b.batch * x.channels * _POOLED * _POOLED)  # fmt: skip
    x = Feature(x.channels, _POOLED, _POOLED)
    b.linear("fc6", b.batch, x.elements, 4096, bias=True)
    b.activation("relu6", b.batch * 4096)
    b.linear("fc7", b.batch, 4096, 4096, bias=True)
    b.activation("relu7", b.batch * 4096)
    b.linear("fc8", b.batch, 4096, 1000, bias=True)
    return b.workload("vgg16", input_gradient=False)
