"""Compressed sparse formats of a 2-D int8 weight, with sizes and validity checks.

Orientation (the functional model's): a weight ``W`` is ``(rows, K)`` = (output channels,
reduction); activations are ``(K, cols)``. Every format here stores exactly the nonzeros a mask
keeps (plus the documented padding), never the dense tensor.

* ``NMTensor``: N:M along ``axis`` (``1`` = along K, the default); bit layout in
  ``accel.bitlayout``. ``axis=0`` compresses along the rows, i.e. it is ``W.T`` compressed along
  its own reduction axis (what the backward-data pass ``dX = W.T @ dY`` streams).
* ``TransposableNM``: a weight that is N:M along both axes (SAT's bidirectional masks), held as
  the two N:M views it feeds: forward (along K) and backward-data (along rows).
* ``GroupTensor``: ``size`` consecutive rows (output channels) share one kept set of K columns.
* ``BlockTensor``: BCSR, whole ``block_rows x block_cols`` blocks kept or dropped.
* ``CSRTensor``: unstructured CSR.

Compressors take a dense array that already satisfies the pattern and raise ``FormatError``
otherwise; magnitude pruning (``workloads.pruning``) makes one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sparsim.accel.bitlayout import VALUE_BITS, index_bits, metadata_bytes_per_row
from sparsim.workloads.pruning import (
    _ceil_div,
    _check_axis,
    _check_block_shape,
    _check_group_size,
    _check_nm_params,
    _grouped,
    _row_groups,
    _tiles,
)

__all__ = [
    "PTR_BITS",
    "BlockTensor",
    "CSRTensor",
    "FormatError",
    "GroupTensor",
    "NMTensor",
    "TransposableNM",
    "check_nm",
    "check_transposable_nm",
    "compress_block",
    "compress_csr",
    "compress_group",
    "compress_nm",
    "compress_transposable_nm",
]

PTR_BITS = 32
"""Width of a row/group pointer in the CSR-like formats (group, block, unstructured)."""


class FormatError(ValueError):
    """A dense array does not fit a format, or a compressed tensor is corrupt."""


# ---------------------------------------------------------------------------------------------
# shared helpers


def _check_int8_2d(dense: np.ndarray, what: str) -> None:
    if not isinstance(dense, np.ndarray) or dense.ndim != 2 or dense.dtype != np.int8:
        got = f"{dense.dtype} {dense.shape}" if isinstance(dense, np.ndarray) else type(dense)
        raise FormatError(f"{what}: needs a 2-D int8 array, not {got}")



# ---------------------------------------------------------------------------------------------
# N:M


@dataclass(frozen=True, slots=True, kw_only=True)
class NMTensor:
    """N:M-compressed weight: per group of ``m`` along ``axis``, ``n`` values and their indices.

    ``values`` int8 and ``indices`` uint8 are ``(rows, groups, n)`` where ``rows`` is the dense
    extent across ``axis`` and ``groups = ceil(extent along axis / m)``; ``padded`` says the
    compressed axis was zero-padded up to a multiple of ``m``.
    """

    values: np.ndarray
    indices: np.ndarray
    n: int
    m: int
    shape: tuple[int, int]
    axis: int = 1
    padded: bool = False

    @property
    def rows(self) -> int:
        return self.shape[1 - self.axis]

    @property
    def groups(self) -> int:
        return _ceil_div(self.shape[self.axis], self.m)

    @property
    def padded_k(self) -> int:
        """Extent of the compressed axis after padding (``groups * m``)."""
        return self.groups * self.m

    @property
    def value_bytes(self) -> int:
        return self.rows * self.groups * self.n * VALUE_BITS // 8

    @property
    def metadata_bytes(self) -> int:
        """Packed indices, each row padded to whole bytes (``accel.bitlayout``)."""
        return self.rows * metadata_bytes_per_row(self.groups, self.n, self.m)

    def decompress(self) -> np.ndarray:
        """The dense int8 array of ``shape``."""
        return self._scatter(self.values, np.int8)

    def stored_mask(self) -> np.ndarray:
        """Bool array of ``shape``: the positions that have a slot (zero-valued fillers too)."""
        return self._scatter(np.ones(self.values.shape, dtype=bool), np.bool_)

    def _scatter(self, slots: np.ndarray, dtype: type) -> np.ndarray:
        dense: np.ndarray = np.zeros((self.rows, self.padded_k), dtype=dtype)
        cols = np.arange(self.groups)[None, :, None] * self.m + self.indices.astype(np.int64)
        np.put_along_axis(dense, cols.reshape(self.rows, -1), slots.reshape(self.rows, -1), 1)
        dense = dense[:, : self.shape[self.axis]]
        return dense if self.axis == 1 else dense.T.copy()

    def metadata_stream(self) -> np.ndarray:
        """uint8 ``(rows, metadata_bytes_per_row)``: the packed index bits the RTL is driven with.

        Index ``j`` of group ``g`` occupies bits ``[(g*n + j)*b, (g*n + j + 1)*b)`` of the row's
        LSB-first bit stream, ``b = index_bits(m)`` (``accel.bitlayout``).
        """
        bits = index_bits(self.m)
        planes = (self.indices[..., None] >> np.arange(bits, dtype=np.uint8)) & 1
        return np.packbits(planes.reshape(self.rows, -1), axis=1, bitorder="little")

    def check(self) -> None:
        """Raise ``FormatError`` unless shapes, dtypes, indices and padding are consistent."""
        _check_nm_params(self.n, self.m, FormatError)
        _check_axis(self.axis, FormatError)
        self._check_arrays()
        self._check_indices()
        self._check_padding()

    def _check_arrays(self) -> None:
        expect = (self.rows, self.groups, self.n)
        for name, dtype in (("values", np.int8), ("indices", np.uint8)):
            arr = getattr(self, name)
            if arr.dtype != dtype or arr.shape != expect:
                raise FormatError(
                    f"N:M {self.n}:{self.m}: {name} must be {np.dtype(dtype)} {expect} "
                    f"(at most n={self.n} per group), not {arr.dtype} {arr.shape}"
                )

    def _check_indices(self) -> None:
        bad = np.argwhere(self.indices >= self.m)
        if bad.size:
            r, g, j = bad[0]
            raise FormatError(
                f"N:M {self.n}:{self.m}: row {r} group {g}: index {self.indices[r, g, j]} "
                f"out of range [0, {self.m})"
            )
        steps = np.diff(self.indices.astype(np.int16), axis=2)
        bad = np.argwhere(steps <= 0)
        if bad.size:
            r, g, _ = bad[0]
            raise FormatError(
                f"N:M {self.n}:{self.m}: row {r} group {g}: indices "
                f"{self.indices[r, g].tolist()} are not strictly ascending"
            )

    def _check_padding(self) -> None:
        pad = self.padded_k - self.shape[self.axis]
        if self.padded != (pad > 0):
            raise FormatError(f"N:M: padded={self.padded} but the axis needs {pad} padding")
        if pad and self.groups:
            last = self.values[:, -1, :]
            in_pad = self.indices[:, -1, :] >= self.m - pad
            if np.any(last[in_pad] != 0):
                raise FormatError("N:M: a nonzero value sits in the zero padding of the last group")


def check_nm(dense: np.ndarray, n: int, m: int, axis: int = 1) -> None:
    """Raise ``FormatError`` unless every group of ``m`` along ``axis`` has <= ``n`` nonzeros."""
    _check_nm_params(n, m, FormatError)
    _check_axis(axis, FormatError)
    groups, _ = _grouped(dense, m, axis)
    counts = np.count_nonzero(groups, axis=2)
    bad = np.argwhere(counts > n)
    if bad.size:
        r, g = bad[0]
        where = f"row {r}" if axis == 1 else f"column {r}"
        raise FormatError(
            f"N:M {n}:{m} along axis {axis}: {where}, group {g} has {counts[r, g]} nonzeros "
            f"(at most {n} allowed)"
        )


def compress_nm(dense: np.ndarray, n: int, m: int, axis: int = 1) -> NMTensor:
    """Compress a dense int8 array that already satisfies N:M along ``axis``.

    A group with fewer than ``n`` nonzeros keeps zero values at its lowest unused positions, so
    every group has exactly ``n`` strictly ascending indices (``accel.bitlayout``).
    """
    _check_int8_2d(dense, "compress_nm")
    check_nm(dense, n, m, axis)
    groups, padded = _grouped(dense, m, axis)
    chosen = np.argsort(groups == 0, axis=2, kind="stable")[:, :, :n]
    indices = np.sort(chosen, axis=2)
    values = np.take_along_axis(groups, indices, axis=2)
    return NMTensor(
        values=np.ascontiguousarray(values),
        indices=indices.astype(np.uint8),
        n=n,
        m=m,
        shape=(int(dense.shape[0]), int(dense.shape[1])),
        axis=axis,
        padded=padded,
    )


# ---------------------------------------------------------------------------------------------
# transposable (bidirectional) N:M


@dataclass(frozen=True, slots=True, kw_only=True)
class TransposableNM:
    """A weight N:M along both axes: ``forward`` streams ``W`` (along K) for ``Y = W @ X``,
    ``backward`` streams ``W.T`` (along rows) for ``dX = W.T @ dY``, from the same mask."""

    forward: NMTensor
    backward: NMTensor

    @property
    def value_bytes(self) -> int:
        """One copy of the values: both views hold the same nonzeros."""
        return self.forward.value_bytes

    @property
    def metadata_bytes(self) -> int:
        return self.forward.metadata_bytes + self.backward.metadata_bytes

    def decompress(self) -> np.ndarray:
        return self.forward.decompress()

    def check(self) -> None:
        self.forward.check()
        self.backward.check()
        if not np.array_equal(self.forward.decompress(), self.backward.decompress()):
            raise FormatError("transposable N:M: forward and backward views differ")


def check_transposable_nm(dense: np.ndarray, n: int, m: int) -> None:
    """Raise ``FormatError`` unless ``dense`` is N:M along both axes."""
    check_nm(dense, n, m, axis=1)
    check_nm(dense, n, m, axis=0)


def compress_transposable_nm(dense: np.ndarray, n: int, m: int) -> TransposableNM:
    check_transposable_nm(dense, n, m)
    return TransposableNM(
        forward=compress_nm(dense, n, m, axis=1), backward=compress_nm(dense, n, m, axis=0)
    )


# ---------------------------------------------------------------------------------------------
# group sparsity ("kernel groups": output channels sharing one pattern)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupTensor:
    """``size`` consecutive rows share one kept set of K columns.

    Group ``g`` keeps columns ``col_idx[col_ptr[g]:col_ptr[g+1]]`` (int32, ascending); its values
    are ``values[:, col_ptr[g]:col_ptr[g+1]]`` (int8, ``(size, total kept)``): row ``i`` of that
    slice is dense row ``g*size + i``. Rows are zero-padded to whole groups (``padded``).
    Metadata: ``ceil(log2 K)`` bits per kept column plus one ``PTR_BITS`` pointer per group.
    """

    values: np.ndarray
    col_idx: np.ndarray
    col_ptr: np.ndarray
    size: int
    shape: tuple[int, int]
    padded: bool = False

    @property
    def groups(self) -> int:
        return _ceil_div(self.shape[0], self.size)

    @property
    def value_bytes(self) -> int:
        return int(self.values.size) * VALUE_BITS // 8

    @property
    def metadata_bytes(self) -> int:
        bits = self.col_idx.size * index_bits(max(self.shape[1], 2)) + (self.groups + 1) * PTR_BITS
        return _ceil_div(bits, 8)

    def decompress(self) -> np.ndarray:
        dense = np.zeros((self.groups * self.size, self.shape[1]), dtype=np.int8)
        for g in range(self.groups):
            lo, hi = self.col_ptr[g], self.col_ptr[g + 1]
            dense[g * self.size : (g + 1) * self.size, self.col_idx[lo:hi]] = self.values[:, lo:hi]
        return dense[: self.shape[0]]

    def check(self) -> None:
        _check_group_size(self.size, FormatError)
        _check_csr_like(self.col_ptr, self.col_idx, self.groups, self.shape[1], "group")
        if self.values.dtype != np.int8 or self.values.shape != (self.size, self.col_idx.size):
            raise FormatError(
                f"group: values must be int8 {(self.size, self.col_idx.size)}, "
                f"not {self.values.dtype} {self.values.shape}"
            )
        pad = self.groups * self.size - self.shape[0]
        if self.padded != (pad > 0):
            raise FormatError(f"group: padded={self.padded} but the rows need {pad} padding")
        if pad and np.any(self.values[self.size - pad :, self.col_ptr[-2] :] != 0):
            raise FormatError("group: a nonzero value sits in the zero-padded rows")


def _check_csr_like(ptr: np.ndarray, idx: np.ndarray, rows: int, extent: int, what: str) -> None:
    """Pointers int64 ``(rows + 1,)`` from 0, non-decreasing; indices int32 in range, ascending
    within each row."""
    if ptr.dtype != np.int64 or ptr.shape != (rows + 1,) or ptr[0] != 0 or ptr[-1] != idx.size:
        raise FormatError(f"{what}: pointers must be int64 ({rows + 1},) from 0 to {idx.size}")
    if np.any(np.diff(ptr) < 0):
        raise FormatError(f"{what}: pointers must not decrease")
    if idx.dtype != np.int32 or idx.ndim != 1:
        raise FormatError(f"{what}: indices must be 1-D int32, not {idx.dtype} {idx.shape}")
    if np.any((idx < 0) | (idx >= extent)):
        raise FormatError(f"{what}: index out of range [0, {extent})")
    for r in range(rows):
        if np.any(np.diff(idx[ptr[r] : ptr[r + 1]]) <= 0):
            raise FormatError(f"{what}: indices of row {r} are not strictly ascending")


def compress_group(dense: np.ndarray, size: int) -> GroupTensor:
    """Compress a dense int8 array, rows in groups of ``size``.

    A group keeps every column where any of its rows is nonzero (a row that is zero there stores an
    explicit zero), so any array compresses; a group-pruned one stores no zeros it can skip.
    """
    _check_int8_2d(dense, "compress_group")
    _check_group_size(size, FormatError)
    groups, padded = _row_groups(dense, size)
    kept = np.any(groups != 0, axis=1)
    counts = kept.sum(axis=1)
    g_idx, c_idx = np.nonzero(kept)
    return GroupTensor(
        values=np.ascontiguousarray(groups[g_idx, :, c_idx].T),
        col_idx=c_idx.astype(np.int32),
        col_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        size=size,
        shape=(int(dense.shape[0]), int(dense.shape[1])),
        padded=padded,
    )


# ---------------------------------------------------------------------------------------------
# block sparsity (BCSR)


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockTensor:
    """BCSR: block row ``i`` keeps blocks ``blocks[row_ptr[i]:row_ptr[i+1]]`` (int8
    ``(nnzb, block_rows, block_cols)``) at block columns ``block_col`` (int32, ascending).
    Both axes are zero-padded to whole blocks (``padded``). Metadata: ``PTR_BITS`` per block-row
    pointer plus ``ceil(log2 block columns)`` bits per kept block."""

    blocks: np.ndarray
    block_col: np.ndarray
    row_ptr: np.ndarray
    block_shape: tuple[int, int]
    shape: tuple[int, int]
    padded: bool = False

    @property
    def grid(self) -> tuple[int, int]:
        """Number of block rows and block columns."""
        return (
            _ceil_div(self.shape[0], self.block_shape[0]),
            _ceil_div(self.shape[1], self.block_shape[1]),
        )

    @property
    def value_bytes(self) -> int:
        return int(self.blocks.size) * VALUE_BITS // 8

    @property
    def metadata_bytes(self) -> int:
        grid_rows, grid_cols = self.grid
        bits = self.block_col.size * index_bits(max(grid_cols, 2)) + (grid_rows + 1) * PTR_BITS
        return _ceil_div(bits, 8)

    def decompress(self) -> np.ndarray:
        return self._padded_dense()[: self.shape[0], : self.shape[1]]

    def _padded_dense(self) -> np.ndarray:
        (br, bc), (grid_rows, grid_cols) = self.block_shape, self.grid
        tiles = np.zeros((grid_rows, grid_cols, br, bc), dtype=np.int8)
        block_row = np.repeat(np.arange(grid_rows), np.diff(self.row_ptr))
        tiles[block_row, self.block_col] = self.blocks
        return tiles.transpose(0, 2, 1, 3).reshape(grid_rows * br, grid_cols * bc)

    def check(self) -> None:
        (br, bc), (grid_rows, grid_cols) = self.block_shape, self.grid
        _check_csr_like(self.row_ptr, self.block_col, grid_rows, grid_cols, "block")
        if self.blocks.dtype != np.int8 or self.blocks.shape != (self.block_col.size, br, bc):
            raise FormatError(
                f"block: blocks must be int8 {(self.block_col.size, br, bc)}, "
                f"not {self.blocks.dtype} {self.blocks.shape}"
            )
        need_pad = (grid_rows * br, grid_cols * bc) != self.shape
        if self.padded != need_pad:
            raise FormatError(f"block: padded={self.padded} but padding needed is {need_pad}")
        full = self._padded_dense()
        if np.any(full[self.shape[0] :]) or np.any(full[:, self.shape[1] :]):
            raise FormatError("block: a nonzero value sits in the zero padding")


def compress_block(dense: np.ndarray, block_rows: int, block_cols: int) -> BlockTensor:
    """BCSR of a dense int8 array; all-zero blocks are dropped."""
    _check_int8_2d(dense, "compress_block")
    _check_block_shape(block_rows, block_cols, FormatError)
    tiles, padded = _tiles(dense, block_rows, block_cols)
    kept = np.any(tiles != 0, axis=(2, 3))
    block_row, block_col = np.nonzero(kept)
    return BlockTensor(
        blocks=np.ascontiguousarray(tiles[block_row, block_col]),
        block_col=block_col.astype(np.int32),
        row_ptr=np.concatenate([[0], np.cumsum(kept.sum(axis=1))]).astype(np.int64),
        block_shape=(block_rows, block_cols),
        shape=(int(dense.shape[0]), int(dense.shape[1])),
        padded=padded,
    )


# ---------------------------------------------------------------------------------------------
# unstructured (CSR)


@dataclass(frozen=True, slots=True, kw_only=True)
class CSRTensor:
    """CSR: row ``r`` keeps ``values[row_ptr[r]:row_ptr[r+1]]`` at columns ``col_idx`` (int32).
    Metadata: ``ceil(log2 K)`` bits per nonzero plus ``PTR_BITS`` per row pointer."""

    values: np.ndarray
    col_idx: np.ndarray
    row_ptr: np.ndarray
    shape: tuple[int, int]

    @property
    def value_bytes(self) -> int:
        return int(self.values.size) * VALUE_BITS // 8

    @property
    def metadata_bytes(self) -> int:
        col_bits = index_bits(max(self.shape[1], 2))  # one column still takes a 1-bit index
        bits = self.col_idx.size * col_bits + (self.shape[0] + 1) * PTR_BITS
        return _ceil_div(bits, 8)

    def decompress(self) -> np.ndarray:
        dense = np.zeros(self.shape, dtype=np.int8)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.row_ptr))
        dense[rows, self.col_idx] = self.values
        return dense

    def check(self) -> None:
        _check_csr_like(self.row_ptr, self.col_idx, self.shape[0], self.shape[1], "csr")
        if self.values.dtype != np.int8 or self.values.shape != self.col_idx.shape:
            raise FormatError(f"csr: values must be int8 {self.col_idx.shape}")


def compress_csr(dense: np.ndarray) -> CSRTensor:
    _check_int8_2d(dense, "compress_csr")
    rows, cols = np.nonzero(dense)
    return CSRTensor(
        values=dense[rows, cols],
        col_idx=cols.astype(np.int32),
        row_ptr=np.concatenate([[0], np.cumsum(np.count_nonzero(dense, axis=1))]).astype(np.int64),
        shape=(int(dense.shape[0]), int(dense.shape[1])),
    )


