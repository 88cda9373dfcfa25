"""Hypothesis strategies shared by the format, pruning and functional-model tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

__all__ = ["MS", "int8_matrices", "nm_params"]

MS = (2, 4, 8, 16)  # every group size the formats and the RTL support


@st.composite
def int8_matrices(draw: st.DrawFn, max_rows: int = 12, max_cols: int = 40) -> np.ndarray:
    """Random int8 matrix (1-sized and ragged dims included); values full-range, only the
    extremes -128/127 (and 0, so many ties), or mostly zeros."""
    shape = (draw(st.integers(1, max_rows)), draw(st.integers(1, max_cols)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mode = draw(st.sampled_from(["full", "extreme", "sparse"]))
    if mode == "extreme":
        return rng.choice(np.array([-128, 127, 0], np.int8), size=shape)
    dense = rng.integers(-128, 128, size=shape, dtype=np.int8)
    if mode == "sparse":
        dense[rng.random(shape) < 0.7] = 0
    return dense


@st.composite
def nm_params(draw: st.DrawFn) -> tuple[int, int]:
    """An (n, m) with m in ``MS`` and 1 <= n < m."""
    m = draw(st.sampled_from(MS))
    return draw(st.integers(1, m - 1)), m
