"""The tile cycle formula (simulator/tile.py), checked against numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sparsim.simulator import tile


@pytest.mark.parametrize(
    ("p", "nm", "expected"),
    [(1, None, 1), (4, None, 4), (2, (2, 4), 4), (2, (2, 8), 8), (2, (1, 8), 16), (4, (2, 4), 8),
     (3, None, 3), (3, (2, 4), 4), (5, (2, 8), 16), (3, (1, 4), 12)],
)  # fmt: skip
def test_k_per_step(p: int, nm: tuple[int, int] | None, expected: int) -> None:
    # A P-multiplier PE does P // n groups of m per cycle in N:M mode, P elements dense. A P
    # that n does not divide leaves multipliers idle: 3 multipliers at 2:4 take one group of 4
    # (2 multipliers; a second group would need 4), not 3 * 4 / 2 = 6 elements; 5 at 2:8 take
    # 2 groups of 8 = 16, not 20.
    assert tile.k_per_step(p, nm) == expected


def test_k_per_step_needs_n_multipliers() -> None:
    with pytest.raises(ValueError, match="needs at least 2 multipliers"):
        tile.k_per_step(1, (2, 4))


def test_k_steps_pads_ragged_k() -> None:
    assert tile.k_steps(10, 2, (2, 4)) == 3  # groups of 4: 4 + 4 + 2 (padded)
    assert tile.k_steps(12, 3, (2, 4)) == 3  # 3 multipliers at 2:4: one group of 4 per step
    assert np.array_equal(tile.k_steps(np.array([1, 8, 9]), 2, (2, 8)), [1, 1, 2])


def test_os_tile_by_hand() -> None:
    # 4x3 array, 10 steps: last PE (3, 2) sees step 9 at cycle 9 + 3 + 2 = 14 (0-based),
    # so the stream ends after 15 cycles; 4 rows drain one per cycle: 19 in all.
    assert tile.os_tile_cycles(4, 3, 10) == 19
    assert tile.tile_cycles("os", 4, 3, 10) == 19


def test_stationary_tile_by_hand() -> None:
    # 4 cycles to shift a 4x3 stationary tile in, 10 streamed rows, skew 3 + 2.
    assert tile.stationary_tile_cycles(4, 3, 10) == 19
    assert tile.tile_cycles("ws", 4, 3, 10) == tile.tile_cycles("is", 4, 3, 10) == 19


def test_unknown_dataflow() -> None:
    with pytest.raises(ValueError, match="os, ws, is"):
        tile.tile_cycles("rs", 4, 4, 1)


def test_back_to_back_sequence_by_hand() -> None:
    # 4x4 os array, tiles of 10, 2 and 7 steps: the first pays 10 + 3 + 3 + 4 = 20, the
    # second is held to the 4-row output spacing (4), the third streams 7.
    costs = tile.tile_costs("os", 4, 4, np.array([10, 2, 7]))
    assert np.array_equal(costs, [20, 4, 7])
    assert tile.sequence_cycles("os", 4, 4, np.array([10, 2, 7])) == 31


def test_sequence_of_one_tile_is_the_tile() -> None:
    assert tile.sequence_cycles("os", 8, 8, np.array([5])) == tile.os_tile_cycles(8, 8, 5)
    assert tile.sequence_cycles("ws", 8, 8, np.array([0])) == tile.stationary_tile_cycles(8, 8, 0)
    assert tile.tile_costs("os", 8, 8, np.array([], dtype=np.int64)).size == 0
