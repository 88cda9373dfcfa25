"""Shared pieces of the model zoo: a layer accumulator and the activation shape it tracks."""

from __future__ import annotations

from dataclasses import dataclass

from sparsim.workloads.layer import Layer, Workload
from sparsim.workloads.ops import Conv2d, Linear, MatMul, Op, Vector, VectorKind


@dataclass(frozen=True, slots=True)
class Feature:
    """Per-image activation shape ``channels x height x width``."""

    channels: int
    height: int
    width: int

    @property
    def elements(self) -> int:
        return self.channels * self.height * self.width


class Builder:
    """Appends layers in execution order and sums parameters held outside matrix layers."""

    def __init__(self, batch: int) -> None:
        if not (isinstance(batch, int) and batch >= 1):
            raise ValueError(f"batch must be an int >= 1, not {batch!r}")
        self.batch = batch
        self.layers: list[Layer] = []
        self.extra_weight_elements = 0

    def add(self, name: str, op: Op) -> None:
        self.layers.append(Layer(name=name, op=op))

    def vector(
        self, name: str, kind: VectorKind, elements: int, flops_per_element: int = 0,
        *, read: int = 0, written: int = 0,
    ) -> None:  # fmt: skip
        """Vector work over ``elements`` elements summed over the whole batch; ``read`` /
        ``written``: tensor elements moved, when not ``elements`` (``ops.Vector``)."""
        self.add(name, Vector(kind=kind, elements=elements, flops_per_element=flops_per_element,
                              read_elements=read, written_elements=written))  # fmt: skip

    def workload(self, name: str, *, input_gradient: bool = True) -> Workload:
        """The model; ``input_gradient=False`` for a model reading data (images: its first
        layer's input needs no gradient in training, ``Workload``)."""
        return Workload(
            name=name,
            layers=tuple(self.layers),
            batch=self.batch,
            extra_weight_elements=self.extra_weight_elements,
            input_gradient=input_gradient,
        )

    # --- convolutional pieces: shapes are per image, vector elements span the batch ---

    def conv(
        self,
        name: str,
        x: Feature,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
        bias: bool = False,
        padding: int | None = None,
    ) -> Feature:
        """Square convolution; ``padding`` defaults to "same"-style ``kernel // 2``."""
        pad = kernel // 2 if padding is None else padding
        op = Conv2d(
            batch=self.batch,
            in_channels=x.channels,
            out_channels=out_channels,
            height=x.height,
            width=x.width,
            kernel=(kernel, kernel),
            stride=(stride, stride),
            padding=(pad, pad),
            groups=groups,
            bias=bias,
        )
        self.add(name, op)
        return Feature(out_channels, op.out_height, op.out_width)

    def batchnorm(self, name: str, x: Feature) -> None:
        """BatchNorm: learnable scale and shift per channel (running statistics are buffers);
        folded into the conv before it at inference."""
        op = Vector(kind=VectorKind.NORM, elements=self.batch * x.elements, folds_at_inference=True)
        self.add(name, op)
        self.extra_weight_elements += 2 * x.channels

    def activation(self, name: str, elements: int) -> None:
        self.vector(name, VectorKind.ACTIVATION, elements)

    def residual_add(self, name: str, elements: int) -> None:
        """``elements`` outputs, each the sum of two inputs (both tensors read)."""
        self.vector(name, VectorKind.ELEMENTWISE, elements, read=2 * elements)

    def maxpool(self, name: str, x: Feature, kernel: int, stride: int, padding: int) -> Feature:
        """Max pooling; the vector unit visits ``kernel**2`` inputs per output."""
        out = Feature(
            x.channels,
            (x.height + 2 * padding - kernel) // stride + 1,
            (x.width + 2 * padding - kernel) // stride + 1,
        )
        self.vector(name, VectorKind.POOL, self.batch * out.elements * kernel * kernel,
                    read=self.batch * x.elements, written=self.batch * out.elements)  # fmt: skip
        return out

    def global_avgpool(self, name: str, x: Feature) -> Feature:
        self.vector(name, VectorKind.POOL, self.batch * x.elements,
                    written=self.batch * x.channels)  # fmt: skip
        return Feature(x.channels, 1, 1)

    def linear(
        self, name: str, tokens: int, in_features: int, out_features: int, bias: bool
    ) -> None:
        self.add(
            name,
            Linear(tokens=tokens, in_features=in_features, out_features=out_features, bias=bias),
        )

    def matmul(self, name: str, count: int, m: int, n: int, k: int) -> None:
        self.add(name, MatMul(batch=count, m=m, n=n, k=k))
