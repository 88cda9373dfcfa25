"""Numeric semantics of the integer datapath, written once for the functional model, the
simulator's checks and the RTL testbenches.

* **Products:** int8 x int8, exact (at most ``(-128) * (-128) = 16384``, fits in int16).
* **Accumulation:** int32 with two's-complement wrap-around: the accumulator holds the exact sum
  modulo ``2**32``, mapped to ``[-2**31, 2**31)``. Because wrap-around is modular, the order of
  accumulation never changes the result, so kernels may reorder sums freely.
* **Requantization** (optional, int32 -> int8):
  ``saturate(round_half_up(acc * multiplier / 2**shift))`` computed exactly in int64 as
  ``(acc * multiplier + (1 << (shift - 1))) >> shift`` (arithmetic shift, i.e. rounding towards
  +inf on ties, also for negative numbers; no rounding term when ``shift == 0``), then clipped
  to ``[-128, 127]``. ``multiplier`` is a signed int32 and ``0 <= shift <= 62``, so the int64
  product never overflows.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACC_DTYPE",
    "INT8_MAX",
    "INT8_MIN",
    "MAX_SHIFT",
    "requantize",
    "wrap_int32",
]

ACC_DTYPE = np.int32
INT8_MIN, INT8_MAX = -128, 127
MAX_SHIFT = 62
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def wrap_int32(a: np.ndarray) -> np.ndarray:
    """Exact integers (any int dtype, or Python ints) reduced modulo ``2**32`` into int32."""
    wide = np.asarray(a)
    if wide.dtype == object:
        low = [int(v) & 0xFFFFFFFF for v in wide.ravel()]
        wide = np.asarray(low, dtype=np.uint64).reshape(wide.shape)
    if not np.issubdtype(wide.dtype, np.integer):
        raise TypeError(f"wrap_int32 needs integers, not {wide.dtype}")
    return (wide.astype(np.int64) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def requantize(acc_int32: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """int32 accumulators -> int8: multiply, round half up by ``shift`` bits, saturate."""
    acc = np.asarray(acc_int32)
    if acc.dtype != np.int32:
        raise TypeError(f"requantize takes int32 accumulators, not {acc.dtype}")
    if not _INT32_MIN <= int(multiplier) <= _INT32_MAX:
        raise ValueError(f"multiplier must fit in int32, not {multiplier}")
    if not 0 <= int(shift) <= MAX_SHIFT:
        raise ValueError(f"shift must be in [0, {MAX_SHIFT}], not {shift}")
    scaled = acc.astype(np.int64) * np.int64(multiplier)
    if shift:
        scaled = (scaled + (np.int64(1) << np.int64(shift - 1))) >> np.int64(shift)
    return np.clip(scaled, INT8_MIN, INT8_MAX).astype(np.int8)
