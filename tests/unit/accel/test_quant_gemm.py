"""Group-quantized packed int4/int2 weights in the functional model (accel.functional.quant_gemm)
against a hand-worked case and the numpy reference of the same name."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsim.accel import functional, reference
from sparsim.accel.bitlayout import element_bytes, pack_values
from sparsim.accel.spec import Operand, PrecisionSpec


def test_hand_worked_int4_row_with_scales_and_zero_points():
    # q = [-8, 7 | 1, -1] in groups of 2, z = [1, -1], s = [0.5, 2], x = [1, 2, 3, 4]:
    # group 0: (-8 - 1) * 1 + (7 - 1) * 2 = 3 -> 1.5; group 1: (1 + 1) * 3 + (-1 + 1) * 4 = 6
    # -> 12; y = 13.5
    packed = pack_values(np.array([[-8, 7, 1, -1]]), 4)
    scales = np.array([[0.5, 2.0]], dtype=np.float32)
    zeros = np.array([[1, -1]], dtype=np.int8)
    x = np.array([[1], [2], [3], [4]], dtype=np.int8)
    assert functional.quant_gemm(packed, 4, 4, scales, x, zeros).tolist() == [[13.5]]
    assert reference.quant_gemm(packed, 4, 4, scales, x, zeros).tolist() == [[13.5]]


@settings(max_examples=25, deadline=None)
@given(bits=st.sampled_from([2, 4]), rows=st.integers(1, 9), groups=st.integers(1, 4),
       size=st.sampled_from([8, 16, 32]), cols=st.integers(1, 7), seed=st.integers(0, 2**16),
       zero=st.booleans())  # fmt: skip
def test_kernel_equals_reference_bit_for_bit(bits, rows, groups, size, cols, seed, zero):
    rng = np.random.default_rng(seed)
    lo, hi, k = -(1 << (bits - 1)), 1 << (bits - 1), groups * size
    q = rng.integers(lo, hi, size=(rows, k), dtype=np.int8)
    x = rng.integers(-128, 128, size=(k, cols), dtype=np.int8)
    scales = rng.standard_normal((rows, groups)).astype(np.float32)
    zeros = rng.integers(lo, hi, size=(rows, groups), dtype=np.int8) if zero else None
    packed = pack_values(q, bits)
    got = functional.quant_gemm(packed, bits, k, scales, x, zeros)
    # same float32 operations in the same order (module docstring): equal bit for bit
    assert np.array_equal(got, reference.quant_gemm(packed, bits, k, scales, x, zeros))
    # and the dequantized product in float64 to float32 rounding
    z = np.zeros((rows, groups)) if zeros is None else zeros
    exact = ((q - np.repeat(z, size, axis=1)) * np.repeat(scales, size, axis=1)) @ x
    assert np.allclose(got, exact, rtol=1e-5, atol=1e-3 * np.abs(exact).max(initial=1))


@pytest.mark.parametrize("bits,dtype", [(4, "int4"), (2, "int2")])
def test_packed_weights_take_the_bytes_the_simulator_charges(bits, dtype):
    q = np.zeros((3, 128), dtype=np.int8)
    per_value = PrecisionSpec(weight=dtype).bytes_of(Operand.WEIGHT)
    assert per_value == element_bytes(bits)
    assert pack_values(q, bits).nbytes == q.size * per_value


def test_quant_gemm_refuses_bad_scales():
    packed = pack_values(np.zeros((2, 8), dtype=np.int8), 4)
    x = np.zeros((8, 1), dtype=np.int8)
    with pytest.raises(ValueError, match="scales must be float32"):
        functional.quant_gemm(packed, 4, 8, np.ones((2, 3), dtype=np.float32), x)
    with pytest.raises(ValueError, match="zero_points must be int8"):
        functional.quant_gemm(packed, 4, 8, np.ones((2, 2), dtype=np.float32), x,
                              np.zeros((2, 2), dtype=np.int32))  # fmt: skip
