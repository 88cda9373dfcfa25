"""Operator IR: shapes, im2col GEMM dims and MAC/FLOP counts against independent counts."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sparsim.workloads.ops import Conv2d, Gemm, GemmDims, Linear, MatMul, Vector, VectorKind


def _direct_conv_macs(conv: Conv2d) -> tuple[int, int, int]:
    """(out_h, out_w, MACs) by walking a padded input with explicit loops: every window that fits
    the padded input is an output pixel; each does one MAC per (kernel tap, input channel of its
    group, output channel). Padded zeros are multiplied too, as im2col hardware does."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = conv.kernel, conv.stride, conv.padding, conv.dilation
    padded_h, padded_w = conv.height + 2 * ph, conv.width + 2 * pw
    rows = [r for r in range(0, padded_h, sh) if r + dh * (kh - 1) < padded_h]
    cols = [c for c in range(0, padded_w, sw) if c + dw * (kw - 1) < padded_w]
    macs = 0
    for _b, _r, _c, _o in itertools.product(
        range(conv.batch), rows, cols, range(conv.out_channels)
    ):
        macs += kh * kw * (conv.in_channels // conv.groups)
    return len(rows), len(cols), macs


@pytest.mark.parametrize(
    "conv",
    [
        Conv2d(batch=2, in_channels=3, out_channels=4, height=7, width=5, kernel=(3, 3)),
        Conv2d(
            batch=1,
            in_channels=4,
            out_channels=6,
            height=9,
            width=8,
            kernel=(3, 2),
            stride=(2, 3),
            padding=(1, 0),
            groups=2,
        ),
        Conv2d(
            batch=1,
            in_channels=2,
            out_channels=2,
            height=10,
            width=10,
            kernel=(3, 3),
            dilation=(2, 3),
            padding=(2, 1),
        ),
        Conv2d(
            batch=1, in_channels=3, out_channels=8, height=8, width=8, kernel=(1, 1), stride=(2, 2)
        ),
    ],
)
def test_conv_output_size_and_macs_match_direct_loop(conv: Conv2d) -> None:
    out_h, out_w, macs = _direct_conv_macs(conv)
    assert (conv.out_height, conv.out_width) == (out_h, out_w)
    assert conv.macs == macs


@given(
    size=st.integers(1, 12),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
)
def test_conv_output_size_matches_numpy_sliding_windows(
    size: int, kernel: int, stride: int, padding: int, dilation: int
) -> None:
    span = dilation * (kernel - 1) + 1
    if size + 2 * padding < span:
        with pytest.raises(ValueError, match="does not fit"):
            Conv2d(
                batch=1,
                in_channels=1,
                out_channels=1,
                height=size,
                width=size,
                kernel=(kernel, kernel),
                stride=(stride, stride),
                padding=(padding, padding),
                dilation=(dilation, dilation),
            )
        return
    conv = Conv2d(
        batch=1,
        in_channels=1,
        out_channels=1,
        height=size,
        width=size,
        kernel=(kernel, kernel),
        stride=(stride, stride),
        padding=(padding, padding),
        dilation=(dilation, dilation),
    )
    windows = np.lib.stride_tricks.sliding_window_view(np.zeros(size + 2 * padding), span)
    assert conv.out_height == conv.out_width == len(windows[::stride])


def test_resnet_stem_conv_shape() -> None:
    # ResNet stem (He et al. 2016): 7x7/2 pad 3 maps 224 -> 112; 112*112*64*3*49 MACs.
    conv = Conv2d(
        batch=1,
        in_channels=3,
        out_channels=64,
        height=224,
        width=224,
        kernel=(7, 7),
        stride=(2, 2),
        padding=(3, 3),
    )
    assert (conv.out_height, conv.out_width) == (112, 112)
    assert conv.macs == 112 * 112 * 64 * 3 * 7 * 7
    assert conv.weight_elements == 64 * 3 * 49


def test_depthwise_conv_is_one_gemm_per_channel() -> None:
    conv = Conv2d(
        batch=2,
        in_channels=32,
        out_channels=32,
        height=14,
        width=14,
        kernel=(3, 3),
        padding=(1, 1),
        groups=32,
    )
    assert conv.is_depthwise
    assert conv.gemm() == GemmDims(m=2 * 14 * 14, n=1, k=9, count=32)
    assert conv.macs == 2 * 14 * 14 * 32 * 9
    assert conv.weight_elements == 32 * 9


def test_grouped_conv_is_not_depthwise() -> None:
    conv = Conv2d(
        batch=1, in_channels=8, out_channels=16, height=4, width=4, groups=2, padding=(1, 1)
    )
    assert not conv.is_depthwise
    assert conv.gemm() == GemmDims(m=16, n=8, k=4 * 9, count=2)


def test_conv_im2col_dims() -> None:
    conv = Conv2d(
        batch=3, in_channels=16, out_channels=24, height=10, width=6, kernel=(3, 1), stride=(1, 2)
    )
    # out = (10 - 3) + 1 = 8 rows, (6 - 1) // 2 + 1 = 3 cols
    assert conv.gemm() == GemmDims(m=3 * 8 * 3, n=24, k=16 * 3 * 1, count=1)


def test_conv_bias_counts_in_weights() -> None:
    conv = Conv2d(batch=1, in_channels=4, out_channels=5, height=3, width=3, bias=True)
    assert conv.weight_elements == 5 * 4 * 9 + 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"groups": 3}, "groups=3 must divide"),
        ({"kernel": (5, 5)}, "does not fit"),
        ({"stride": (0, 1)}, "stride must be two ints >= 1"),
        ({"padding": (-1, 0)}, "padding must be two ints >= 0"),
        ({"in_channels": 0}, "in_channels must be an int >= 1"),
    ],
)
def test_conv_rejects_bad_shapes(kwargs: dict, message: str) -> None:
    base = {"batch": 1, "in_channels": 4, "out_channels": 4, "height": 4, "width": 4}
    with pytest.raises(ValueError, match=message):
        Conv2d(**(base | kwargs))


def test_gemm_matches_numpy_matmul_shape() -> None:
    x, w = np.ones((5, 7)), np.ones((7, 3))
    gemm = Gemm(m=5, n=3, k=7)
    assert (x @ w).shape == (gemm.m, gemm.n)
    assert gemm.macs == 5 * 3 * 7
    assert gemm.weight_elements == w.size
    assert Gemm(m=5, n=3, k=7, has_weight=False).weight_elements == 0


def test_linear_macs_and_weights() -> None:
    fc = Linear(tokens=128, in_features=768, out_features=3072)
    assert fc.gemm() == GemmDims(m=128, n=3072, k=768)
    assert fc.macs == 128 * 768 * 3072
    assert fc.weight_elements == 768 * 3072 + 3072
    assert Linear(tokens=1, in_features=4, out_features=2, bias=False).weight_elements == 8


def test_matmul_is_batched_and_weightless() -> None:
    # attention Q Kᵀ: 12 heads of (128 x 64) @ (64 x 128)
    qk = MatMul(batch=12, m=128, n=128, k=64)
    assert qk.gemm() == GemmDims(m=128, n=128, k=64, count=12)
    assert qk.macs == 12 * 128 * 128 * 64
    assert qk.weight_elements == 0
    assert not qk.has_weight


def test_vector_flops_default_and_explicit() -> None:
    assert Vector(kind=VectorKind.SOFTMAX, elements=10).flops == 50  # 5 per element (ops.py)
    assert Vector(kind="elementwise", elements=10, flops_per_element=3).flops == 30
    vec = Vector(kind=VectorKind.NORM, elements=7)
    assert (vec.macs, vec.weight_elements, vec.flops) == (0, 0, 35)


def test_vector_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="gelu"):
        Vector(kind="gelu", elements=4)


@pytest.mark.parametrize("dims", [{"m": 0, "n": 1, "k": 1}, {"m": 1, "n": 1, "k": 1.5}])
def test_gemm_dims_must_be_positive_ints(dims: dict) -> None:
    with pytest.raises(ValueError, match="must be an int >= 1"):
        GemmDims(**dims)
