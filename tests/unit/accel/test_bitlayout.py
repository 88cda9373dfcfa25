"""The N:M bit layout's sizes (accel/bitlayout.py), against counts worked out by hand."""

from __future__ import annotations

import pytest
from sparsim.accel import bitlayout


@pytest.mark.parametrize(("m", "bits"), [(2, 1), (3, 2), (4, 2), (5, 3), (8, 3), (16, 4)])
def test_index_bits(m: int, bits: int) -> None:
    assert bitlayout.index_bits(m) == bits  # ceil(log2 m)


@pytest.mark.parametrize(
    ("groups", "n", "m", "expected"),
    [
        (3, 1, 4, 1),  # 3 groups x 1 index x 2 bits = 6 bits -> padded to 1 byte
        (4, 1, 4, 1),  # 8 bits: exactly one byte, no padding
        (5, 1, 4, 2),  # 10 bits -> 2 bytes
        (1, 2, 8, 1),  # 6 bits -> 1 byte
        (3, 2, 8, 3),  # 18 bits -> 3 bytes
        (8, 2, 8, 6),  # 48 bits: 6 bytes, no padding
        (1, 1, 2, 1),  # 1 bit -> 1 byte
        (0, 2, 4, 0),  # an empty row stores nothing
    ],
)
def test_metadata_rows_pad_to_whole_bytes(groups: int, n: int, m: int, expected: int) -> None:
    # bitlayout docstring: a row's group words are packed LSB-first and the row is padded with
    # zeros to a whole byte, so bytes = ceil(groups * n * ceil(log2 m) / 8)
    assert bitlayout.metadata_bytes_per_row(groups, n, m) == expected
