"""MobileNet-v1 (Howard et al. 2017) and MobileNet-v2 (Sandler et al. 2018), width 1.0.

Every convolution is followed by BatchNorm; ReLU (v1) or ReLU6 (v2) is an activation op.
"""

from __future__ import annotations

from sparsim.workloads.layer import Workload
from sparsim.workloads.zoo._builder import Builder, Feature

__all__ = ["mobilenet_v1", "mobilenet_v2"]

# MobileNet-v1 depthwise-separable blocks: (pointwise output channels, depthwise stride).
_V1_BLOCKS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)  # fmt: skip
# MobileNet-v2 inverted residual stages: (expansion t, output channels c, repeats n, stride s).
_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
              (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip


def _conv_bn_act(
    b: Builder, name: str, x: Feature, out: int, kernel: int, stride: int = 1, groups: int = 1
) -> Feature:
    y = b.conv(name, x, out, kernel, stride, groups=groups)
    b.batchnorm(f"{name}_bn", y)
    b.activation(f"{name}_relu", b.batch * y.elements)
    return y


def _classifier(b: Builder, x: Feature) -> None:
    x = b.global_avgpool("avgpool", x)
    b.linear("fc", b.batch, x.channels, 1000, bias=True)


def mobilenet_v1(batch: int = 1, image_size: int = 224) -> Workload:
    """MobileNet-v1 1.0: a strided 3x3 stem, then 13 depthwise 3x3 + pointwise 1x1 pairs."""
    b = Builder(batch)
    x = _conv_bn_act(b, "stem", Feature(3, image_size, image_size), 32, 3, 2)
    for i, (out, stride) in enumerate(_V1_BLOCKS):
        x = _conv_bn_act(b, f"blocks.{i}.dw", x, x.channels, 3, stride, groups=x.channels)
        x = _conv_bn_act(b, f"blocks.{i}.pw", x, out, 1)
    _classifier(b, x)
    return b.workload("mobilenet_v1", input_gradient=False)


def _inverted_residual(b: Builder, name: str, x: Feature, t: int, out: int, stride: int) -> Feature:
    """Expand 1x1 (skipped when t == 1), depthwise 3x3, linear projection 1x1, maybe add."""
    y = _conv_bn_act(b, f"{name}.expand", x, t * x.channels, 1) if t != 1 else x
    y = _conv_bn_act(b, f"{name}.dw", y, y.channels, 3, stride, groups=y.channels)
    y = b.conv(f"{name}.project", y, out, 1)
    b.batchnorm(f"{name}.project_bn", y)
    if stride == 1 and x.channels == out:
        b.residual_add(f"{name}.add", b.batch * y.elements)
    return y


def mobilenet_v2(batch: int = 1, image_size: int = 224) -> Workload:
    """MobileNet-v2 1.0: 17 inverted residual blocks between a 3x3 stem and a 1x1 to 1280."""
    b = Builder(batch)
    x = _conv_bn_act(b, "stem", Feature(3, image_size, image_size), 32, 3, 2)
    index = 1
    for t, out, repeats, first_stride in _V2_STAGES:
        for r in range(repeats):
            x = _inverted_residual(b, f"blocks.{index}", x, t, out, first_stride if r == 0 else 1)
            index += 1
    x = _conv_bn_act(b, "head", x, 1280, 1)
    _classifier(b, x)
    return b.workload("mobilenet_v2", input_gradient=False)
