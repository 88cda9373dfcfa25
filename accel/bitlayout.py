"""The compressed N:M bit layout, shared by the formats, the simulator's byte counts and the RTL
testbenches (which drive the Verilog with exactly these words).

Per group of ``m`` consecutive elements along the compressed axis, ``n`` kept values and their
``n`` positions ``idx[0] < idx[1] < ... < idx[n-1]``, each in ``[0, m)``.

* **Index field:** ``IDX_BITS = ceil(log2 m)`` bits per index (m=2: 1, 4: 2, 8: 3, 16: 4).
* **Group metadata word:** ``n * IDX_BITS`` bits, index ``j`` at bits
  ``[j*IDX_BITS, (j+1)*IDX_BITS)``: LSB first, so ``idx[0]`` sits in the lowest bits.
* **Group value word:** ``n * VALUE_BITS`` bits (int8: 8), value ``j`` (two's complement) at bits
  ``[j*VALUE_BITS, (j+1)*VALUE_BITS)``, same order as the indices.
* **Stored metadata of a row:** the group metadata words of that row, group 0 first, packed
  LSB-first into a bit stream and padded with zeros to a whole byte at the end of each row.
* **Padding:** when the compressed axis is not a multiple of ``m`` the tensor is zero-padded up to
  one; a group with fewer than ``n`` nonzeros keeps zero values at the lowest unused positions, so
  every group has exactly ``n`` ascending indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

__all__ = [
    "VALUE_BITS",
    "index_bits",
    "metadata_bits_per_group",
    "metadata_bytes_per_row",
    "pack_group_indices",
    "pack_group_values",
    "unpack_group_indices",
    "unpack_group_values",
]

VALUE_BITS = 8


def index_bits(m: int) -> int:
    """``ceil(log2 m)``: bits per index."""
    if m < 2:
        raise ValueError(f"m must be >= 2, not {m}")
    return (m - 1).bit_length()


def metadata_bits_per_group(n: int, m: int) -> int:
    return n * index_bits(m)


_Groups = TypeVar("_Groups", int, np.ndarray)


def metadata_bytes_per_row(groups: _Groups, n: int, m: int) -> _Groups:
    """Bytes of one row's metadata: its groups' index fields, padded to a whole byte. ``groups``
    may be an int array (the simulator counts many tiles at once)."""
    return -(-groups * metadata_bits_per_group(n, m) // 8)


def pack_group_indices(indices: Sequence[int], m: int) -> int:
    """Group metadata word: ``indices[j]`` at bits ``[j*b, (j+1)*b)``, ``b = index_bits(m)``."""
    bits = index_bits(m)
    word = 0
    for j, idx in enumerate(indices):
        if not 0 <= int(idx) < m:
            raise ValueError(f"index {idx} out of range [0, {m})")
        word |= int(idx) << (j * bits)
    return word


def unpack_group_indices(word: int, n: int, m: int) -> list[int]:
    bits = index_bits(m)
    return [(word >> (j * bits)) & ((1 << bits) - 1) for j in range(n)]


def pack_group_values(values: Sequence[int], bits: int = VALUE_BITS) -> int:
    """Group value word: two's-complement ``values[j]`` at bits ``[j*bits, (j+1)*bits)``."""
    mask = (1 << bits) - 1
    word = 0
    for j, value in enumerate(values):
        word |= (int(value) & mask) << (j * bits)
    return word


def unpack_group_values(word: int, n: int, bits: int = VALUE_BITS) -> list[int]:
    mask, sign = (1 << bits) - 1, 1 << (bits - 1)
    out = []
    for j in range(n):
        raw = (word >> (j * bits)) & mask
        out.append(raw - (1 << bits) if raw & sign else raw)
    return out
