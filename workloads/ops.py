"""Operator IR: matrix ops (lowered to GEMM) and vector work, with exact MAC/FLOP counts.

GEMM convention used everywhere in sparsim: ``Y[m, n] = sum_k X[m, k] * W[k, n]``; ``m`` counts
output rows (tokens, or batch x output pixels), ``n`` output channels, ``k`` the reduction
(input channels x kernel taps). ``count`` independent GEMMs of that shape make one op (conv
groups, attention heads x batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Conv2d",
    "Gemm",
    "GemmDims",
    "Linear",
    "MatMul",
    "MatrixOp",
    "Op",
    "Vector",
    "VectorKind",
]


def _positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{type(obj).__name__}.{name} must be an int >= 1, not {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class GemmDims:
    """``count`` independent GEMMs ``(m x k) @ (k x n)``."""

    m: int
    n: int
    k: int
    count: int = 1

    def __post_init__(self) -> None:
        _positive(self, "m", "n", "k", "count")

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k * self.count


@dataclass(frozen=True, slots=True, kw_only=True)
class Gemm:
    """A plain GEMM whose ``k x n`` operand is a weight."""

    m: int
    n: int
    k: int
    has_weight: bool = True

    def __post_init__(self) -> None:
        _positive(self, "m", "n", "k")

    def gemm(self) -> GemmDims:
        return GemmDims(m=self.m, n=self.n, k=self.k)

    @property
    def macs(self) -> int:
        return self.gemm().macs

    @property
    def weight_elements(self) -> int:
        return self.k * self.n if self.has_weight else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Linear:
    """Fully connected layer applied to ``tokens`` rows (batch x sequence)."""

    tokens: int
    in_features: int
    out_features: int
    bias: bool = True
    has_weight: bool = True

    def __post_init__(self) -> None:
        _positive(self, "tokens", "in_features", "out_features")

    def gemm(self) -> GemmDims:
        return GemmDims(m=self.tokens, n=self.out_features, k=self.in_features)

    @property
    def macs(self) -> int:
        return self.gemm().macs

    @property
    def weight_elements(self) -> int:
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Conv2d:
    """2-D convolution (NCHW). ``groups == in_channels == out_channels`` is depthwise."""

    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = False
    has_weight: bool = True

    def __post_init__(self) -> None:
        _positive(self, "batch", "in_channels", "out_channels", "height", "width", "groups")
        for name in ("kernel", "stride", "padding", "dilation"):
            pair = getattr(self, name)
            low = 0 if name == "padding" else 1
            if not (len(pair) == 2 and all(isinstance(v, int) and v >= low for v in pair)):
                raise ValueError(f"Conv2d.{name} must be two ints >= {low}, not {pair!r}")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"Conv2d: groups={self.groups} must divide in_channels={self.in_channels} "
                f"and out_channels={self.out_channels}"
            )
        if self.out_height < 1 or self.out_width < 1:
            raise ValueError("Conv2d: the kernel does not fit the padded input")

    def _out(self, size: int, axis: int) -> int:
        span = self.dilation[axis] * (self.kernel[axis] - 1) + 1
        return (size + 2 * self.padding[axis] - span) // self.stride[axis] + 1

    @property
    def out_height(self) -> int:
        return self._out(self.height, 0)

    @property
    def out_width(self) -> int:
        return self._out(self.width, 1)

    @property
    def is_depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.in_channels == self.out_channels

    def gemm(self) -> GemmDims:
        """im2col lowering: one GEMM per group."""
        return GemmDims(
            m=self.batch * self.out_height * self.out_width,
            n=self.out_channels // self.groups,
            k=(self.in_channels // self.groups) * self.kernel[0] * self.kernel[1],
            count=self.groups,
        )

    @property
    def macs(self) -> int:
        return self.gemm().macs

    @property
    def weight_elements(self) -> int:
        taps = self.kernel[0] * self.kernel[1]
        w = self.out_channels * (self.in_channels // self.groups) * taps
        return w + (self.out_channels if self.bias else 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class MatMul:
    """Batched activation x activation product (attention ``Q Kᵀ`` and ``A V``); no weight."""

    batch: int
    m: int
    n: int
    k: int
    has_weight: bool = False

    def __post_init__(self) -> None:
        _positive(self, "batch", "m", "n", "k")

    def gemm(self) -> GemmDims:
        return GemmDims(m=self.m, n=self.n, k=self.k, count=self.batch)

    @property
    def macs(self) -> int:
        return self.gemm().macs

    @property
    def weight_elements(self) -> int:
        return 0


class VectorKind(StrEnum):
    """Kinds of vector-unit work; ``DEFAULT_FLOPS_PER_ELEMENT`` gives each kind's FLOPs/element."""

    ELEMENTWISE = "elementwise"
    POOL = "pool"
    NORM = "norm"
    SOFTMAX = "softmax"
    ACTIVATION = "activation"
    OPTIMIZER = "optimizer"


DEFAULT_FLOPS_PER_ELEMENT: dict[VectorKind, int] = {
    VectorKind.ELEMENTWISE: 1,
    VectorKind.POOL: 1,  # per input element visited
    VectorKind.NORM: 5,  # mean, variance, subtract, scale, shift
    VectorKind.SOFTMAX: 5,  # max, subtract, exp, sum, divide
    VectorKind.ACTIVATION: 1,
    VectorKind.OPTIMIZER: 4,  # SGD with momentum: 2 mul + 2 add per weight
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Vector:
    """Vector work over ``elements`` input elements (``flops_per_element`` each).

    ``read_elements`` / ``written_elements``: the tensor elements the op moves in and out, when
    they differ from ``elements`` (0 = ``elements``): a 3x3 stride-2 max pool visits 9 inputs
    per output but reads its input tensor once and writes a quarter of it; a residual add reads
    two tensors. Traffic follows these; work follows ``elements``.

    ``folds_at_inference``: an affine per-channel op right after a matrix op (BatchNorm) that
    deployments fold into that op's weights and bias; lowering drops it at inference and keeps
    it in training, where its statistics are still updated."""

    kind: VectorKind
    elements: int
    flops_per_element: int = 0  # 0 = the kind's default
    folds_at_inference: bool = False
    has_weight: bool = False
    read_elements: int = 0
    written_elements: int = 0

    def __post_init__(self) -> None:
        _positive(self, "elements")
        for name in ("read_elements", "written_elements"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be an int >= 0 (0 = elements), not {value!r}")
            if value == 0:
                object.__setattr__(self, name, self.elements)
        if not isinstance(self.kind, VectorKind):
            object.__setattr__(self, "kind", VectorKind(self.kind))
        if self.flops_per_element == 0:
            object.__setattr__(self, "flops_per_element", DEFAULT_FLOPS_PER_ELEMENT[self.kind])

    @property
    def flops(self) -> int:
        return self.elements * self.flops_per_element

    @property
    def macs(self) -> int:
        return 0

    @property
    def weight_elements(self) -> int:
        return 0


MatrixOp = Gemm | Linear | Conv2d | MatMul
Op = MatrixOp | Vector
