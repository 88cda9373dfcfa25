"""The N:M bit layout's sizes (accel/bitlayout.py), against counts worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sparsim.accel import bitlayout
from sparsim.accel.bitlayout import element_bytes, pack_values, unpack_values


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


# --- packed sub-byte values (int4, int2): one layout for the functional and traffic models --


def test_int4_and_int2_pack_lsb_first_worked_by_hand():
    # int4 row [-8, 7, 1]: nibbles 0x8, 0x7 -> byte 0x78; 0x1 then a zero pad nibble -> 0x01
    assert pack_values(np.array([[-8, 7, 1]]), 4).tolist() == [[0x78, 0x01]]
    # int2 row [-2, 1, 0, -1, 1]: fields 10, 01, 00, 11 -> 0b11_00_01_10; then 01 -> 0b01
    assert pack_values(np.array([[-2, 1, 0, -1, 1]]), 2).tolist() == [[0b11000110, 0b01]]


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_pack_round_trips_and_takes_the_bytes_the_traffic_model_counts(bits):
    rng = np.random.default_rng(bits)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1))
    values = rng.integers(lo, hi, size=(5, 64), dtype=np.int8)
    packed = pack_values(values, bits)
    assert np.array_equal(unpack_values(packed, bits, 64), values)
    # rows of 64 values fill whole bytes: the traffic model's bits / 8 per value is exact
    assert packed.nbytes == values.size * element_bytes(bits)


def test_pack_refuses_values_out_of_range():
    with pytest.raises(ValueError, match=r"in \[-8, 7\]"):
        pack_values(np.array([[8]]), 4)
    with pytest.raises(ValueError, match="packed values must be 2, 4, 8 bits"):
        pack_values(np.array([[1]]), 3)
