"""workloads.detect: the pattern a real weight already satisfies, with hand-counted findings."""

from __future__ import annotations

import numpy as np
from sparsim.workloads.detect import weight_stats
from sparsim.workloads.sparsity import NM


def test_detects_known_patterns():
    rng = np.random.default_rng(5)
    w = rng.integers(1, 100, (8, 25)).astype(np.float32)
    nm = w.copy()
    nm[:, 1::2] = 0  # every group of 4 keeps positions 0 and 2 (or 0 in the short last group)
    stats = weight_stats(nm)
    assert stats.findings[0] == "2:4 along K: 100% of groups"
    assert isinstance(stats.pattern, NM) and (stats.pattern.n, stats.pattern.m) == (2, 4)
    assert np.array_equal(stats.pattern.mask, (nm != 0).T)
    grp = w.copy()
    grp[:4, :12] = 0  # group of rows 0-3: 12 of 25 columns zero; rows 4-7: another 12
    grp[4:, 13:] = 0
    stats = weight_stats(grp)
    assert stats.findings[2] == "group4: 48% zero groups"  # 24 of 50 cells
    assert str(stats.pattern) == "group4:48%"
