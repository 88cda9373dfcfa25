"""accel.numeric: int32 wrap-around and int8 requantization, against closed forms in Python ints."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sparsim.accel.numeric import INT8_MAX, INT8_MIN, requantize, wrap_int32

INT32 = st.integers(-(2**31), 2**31 - 1)


def wrap_closed_form(v: int) -> int:
    """Two's complement: the representative of ``v mod 2**32`` in ``[-2**31, 2**31)``."""
    return (v + 2**31) % 2**32 - 2**31


def requantize_closed_form(acc: int, multiplier: int, shift: int) -> int:
    """``floor(acc * multiplier / 2**shift + 1/2)`` (round half up) clipped to int8, exactly."""
    scaled = acc * multiplier
    rounded = (2 * scaled + 2**shift) // 2 ** (shift + 1) if shift else scaled
    return min(INT8_MAX, max(INT8_MIN, rounded))


def test_wrap_int32_boundaries():
    # source: two's-complement definition (wrap_closed_form)
    values = np.array([2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**32 + 5, -(2**33)], np.int64)
    expected = np.array([2**31 - 1, -(2**31), -(2**31), 2**31 - 1, 5, 0], np.int32)
    assert np.array_equal(wrap_int32(values), expected)
    assert wrap_int32(values).dtype == np.int32


@given(st.lists(st.integers(-(2**80), 2**80), min_size=1, max_size=8))
def test_wrap_int32_of_exact_python_ints(values):
    got = wrap_int32(np.array(values, dtype=object))
    assert np.array_equal(got, np.array([wrap_closed_form(v) for v in values], np.int32))


def test_wrap_int32_rejects_floats():
    with pytest.raises(TypeError, match="integers"):
        wrap_int32(np.array([1.5]))


@pytest.mark.parametrize(
    ("acc", "expected"),
    # round half up on ties: 2.5 -> 3, -2.5 -> -2, 1.5 -> 2, -1.5 -> -1; saturation at the ends
    [(5, 3), (-5, -2), (3, 2), (-3, -1), (4, 2), (-4, -2), (1000, 127), (-1000, -128)],
)
def test_requantize_rounds_half_up_and_saturates(acc, expected):
    got = requantize(np.array([acc], np.int32), multiplier=1, shift=1)
    assert got.dtype == np.int8
    assert int(got[0]) == expected


@given(st.lists(INT32, min_size=1, max_size=8), INT32, st.integers(0, 62))
def test_requantize_matches_closed_form(accs, multiplier, shift):
    got = requantize(np.array(accs, np.int32), multiplier, shift)
    expected = [requantize_closed_form(a, multiplier, shift) for a in accs]
    assert np.array_equal(got, np.array(expected, np.int8))


def test_requantize_extreme_product_does_not_overflow():
    # (-2**31) * (-2**31) = 2**62 fits int64; >> 62 gives exactly 1 (closed form)
    got = requantize(np.array([-(2**31)], np.int32), -(2**31), 62)
    assert int(got[0]) == requantize_closed_form(-(2**31), -(2**31), 62) == 1


@pytest.mark.parametrize(
    ("acc", "multiplier", "shift", "error", "match"),
    [
        (np.array([1], np.int64), 1, 0, TypeError, "int32 accumulators"),
        (np.array([1], np.int32), 2**31, 0, ValueError, "multiplier must fit in int32"),
        (np.array([1], np.int32), 1, 63, ValueError, r"shift must be in \[0, 62\]"),
        (np.array([1], np.int32), 1, -1, ValueError, "shift must be in"),
    ],
)
def test_requantize_rejects_bad_arguments(acc, multiplier, shift, error, match):
    with pytest.raises(error, match=match):
        requantize(acc, multiplier, shift)
