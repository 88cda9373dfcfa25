"""ResNet-18 and ResNet-50 (He et al. 2016), torchvision "v1.5" layout: a bottleneck block
downsamples in its 3x3 convolution. Layer names follow torchvision's module names."""

from __future__ import annotations

from collections.abc import Callable

from sparsim.workloads.layer import Workload
from sparsim.workloads.zoo._builder import Builder, Feature

__all__ = ["resnet18", "resnet50"]

_STAGE_WIDTHS = (64, 128, 256, 512)
Block = Callable[[Builder, str, Feature, int, int], Feature]


def _conv_bn(
    b: Builder, name: str, idx: int, x: Feature, out: int, kernel: int, stride: int
) -> Feature:
    y = b.conv(f"{name}.conv{idx}", x, out, kernel, stride)
    b.batchnorm(f"{name}.bn{idx}", y)
    return y


def _conv_bn_relu(
    b: Builder, name: str, idx: int, x: Feature, out: int, kernel: int, stride: int
) -> Feature:
    y = _conv_bn(b, name, idx, x, out, kernel, stride)
    b.activation(f"{name}.relu{idx}", b.batch * y.elements)
    return y


def _merge(b: Builder, name: str, x: Feature, y: Feature, stride: int, relu: str) -> Feature:
    """Shortcut (projected when the shape changes), residual add, then ReLU."""
    if stride != 1 or x.channels != y.channels:
        shortcut = b.conv(f"{name}.downsample.0", x, y.channels, 1, stride)
        b.batchnorm(f"{name}.downsample.1", shortcut)
    b.residual_add(f"{name}.add", b.batch * y.elements)
    b.activation(relu, b.batch * y.elements)
    return y


def _basic(b: Builder, name: str, x: Feature, planes: int, stride: int) -> Feature:
    y = _conv_bn_relu(b, name, 1, x, planes, 3, stride)
    y = _conv_bn(b, name, 2, y, planes, 3, 1)
    return _merge(b, name, x, y, stride, f"{name}.relu2")


def _bottleneck(b: Builder, name: str, x: Feature, planes: int, stride: int) -> Feature:
    y = _conv_bn_relu(b, name, 1, x, planes, 1, 1)
    y = _conv_bn_relu(b, name, 2, y, planes, 3, stride)
    y = _conv_bn(b, name, 3, y, 4 * planes, 1, 1)
    return _merge(b, name, x, y, stride, f"{name}.relu3")


def _resnet(
    name: str, block: Block, depths: tuple[int, ...], batch: int, image_size: int
) -> Workload:
    b = Builder(batch)
    x = _conv_bn_relu(b, "stem", 1, Feature(3, image_size, image_size), 64, 7, 2)
    x = b.maxpool("maxpool", x, kernel=3, stride=2, padding=1)
    for stage, (planes, depth) in enumerate(zip(_STAGE_WIDTHS, depths, strict=True), start=1):
        for i in range(depth):
            x = block(b, f"layer{stage}.{i}", x, planes, 2 if stage > 1 and i == 0 else 1)
    x = b.global_avgpool("avgpool", x)
    b.linear("fc", b.batch, x.channels, 1000, bias=True)
    return b.workload(name, input_gradient=False)


def resnet18(batch: int = 1, image_size: int = 224) -> Workload:
    """ResNet-18: basic blocks, 2-2-2-2."""
    return _resnet("resnet18", _basic, (2, 2, 2, 2), batch, image_size)


def resnet50(batch: int = 1, image_size: int = 224) -> Workload:
    """ResNet-50: bottleneck blocks, 3-4-6-3."""
    return _resnet("resnet50", _bottleneck, (3, 4, 6, 3), batch, image_size)
