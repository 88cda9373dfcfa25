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

Packed sub-byte values (int2, int4; int8 is the trivial case), shared by the functional model
(``pack_values``/``unpack_values``) and the traffic model (``element_bytes``):

* **Row stream:** the values of a row (the last axis), value ``j`` in two's complement at bits
  ``[j*bits, (j+1)*bits)`` of the row's byte stream, LSB first (byte ``j*bits // 8``, bit
  ``j*bits % 8``), so a byte holds ``8 // bits`` consecutive values, the first in its lowest
  bits; the row is padded with zero bits to a whole byte.
* **Bytes counted:** ``element_bytes(bits) = bits / 8`` per value: exact for rows whose bits
  fill whole bytes (every real model's), otherwise under by the last byte's padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

__all__ = [
    "PACKED_BITS",
    "VALUE_BITS",
    "element_bytes",
    "index_bits",
    "metadata_bits_per_group",
    "metadata_bytes_per_row",
    "pack_group_indices",
    "pack_group_values",
    "pack_values",
    "unpack_group_indices",
    "unpack_group_values",
    "unpack_values",
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


PACKED_BITS = (2, 4, 8)
"""Value widths ``pack_values`` packs (a byte holds a whole number of them)."""


def element_bytes(bits: int) -> float:
    """Bytes one value of ``bits`` bits takes in memory: ``bits / 8`` (module docstring)."""
    return bits / 8


def _check_bits(bits: int) -> None:
    if bits not in PACKED_BITS:
        raise ValueError(f"packed values must be {', '.join(map(str, PACKED_BITS))} bits, "
                         f"not {bits}")  # fmt: skip


def pack_values(values: np.ndarray, bits: int) -> np.ndarray:
    """2-D signed ``values`` (each in the ``bits``-bit two's-complement range) packed per row
    as the module docstring lays out: uint8 ``(rows, ceil(cols * bits / 8))``."""
    _check_bits(bits)
    a = np.asarray(values)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if a.ndim != 2 or a.dtype.kind not in "iu" or (a.size and (a.min() < lo or a.max() > hi)):
        raise ValueError(f"pack_values needs a 2-D integer array in [{lo}, {hi}]")
    per = 8 // bits
    rows, cols = a.shape
    padded = np.zeros((rows, -(-cols // per) * per), dtype=np.uint8)
    padded[:, :cols] = a.astype(np.int64) & ((1 << bits) - 1)
    slots = padded.reshape(rows, -1, per).astype(np.uint16)
    shifts = (np.arange(per, dtype=np.uint16) * bits)[None, None, :]
    return np.bitwise_or.reduce(slots << shifts, axis=2).astype(np.uint8)


def unpack_values(packed: np.ndarray, bits: int, cols: int) -> np.ndarray:
    """The int8 ``(rows, cols)`` values ``pack_values`` packed (sign-extended)."""
    _check_bits(bits)
    p = np.asarray(packed)
    per = 8 // bits
    if p.ndim != 2 or p.dtype != np.uint8 or p.shape[1] != -(-cols // per):
        raise ValueError(f"unpack_values needs uint8 rows of ceil({cols} * {bits} / 8) bytes")
    shifts = (np.arange(per, dtype=np.uint8) * bits)[None, None, :]
    raw = ((p[:, :, None] >> shifts) & ((1 << bits) - 1)).reshape(p.shape[0], -1)[:, :cols]
    signed = raw.astype(np.int16) - ((raw >> (bits - 1)) << bits).astype(np.int16)
    return signed.astype(np.int8)
