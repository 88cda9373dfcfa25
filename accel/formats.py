"""Compressed sparse formats of a 2-D int8 weight, with sizes, validity checks and pruning.

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
otherwise. Magnitude pruning makes one: ``*_mask`` functions return the bool keep-mask (what a
``workloads.sparsity`` pattern carries), ``prune_*`` apply it. Ties go to the lower position, so
every mask is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.bitlayout import VALUE_BITS, index_bits, metadata_bytes_per_row

__all__ = [
    "PTR_BITS",
    "BlockTensor",
    "CSRTensor",
    "FormatError",
    "GroupTensor",
    "NMTensor",
    "TransposableNM",
    "block_mask",
    "check_nm",
    "check_transposable_nm",
    "compress_block",
    "compress_csr",
    "compress_group",
    "compress_nm",
    "compress_transposable_nm",
    "group_mask",
    "nm_mask",
    "prune_block",
    "prune_group",
    "prune_nm",
    "prune_transposable_nm",
    "prune_unstructured",
    "transposable_nm_mask",
    "unstructured_mask",
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


def _is_int(v: object) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _check_nm_params(n: int, m: int) -> None:
    if not (_is_int(m) and 2 <= m <= 16):
        raise FormatError(f"N:M: m must be an int in [2, 16], not {m!r}")
    if not (_is_int(n) and 1 <= n < m):
        raise FormatError(f"N:M: n must be an int with 1 <= n < m={m}, not {n!r}")


def _check_axis(axis: int) -> None:
    if axis not in (0, 1):
        raise FormatError(f"axis must be 0 (rows) or 1 (K), not {axis!r}")


def _check_group_size(size: int) -> None:
    if not (_is_int(size) and size >= 1):
        raise FormatError(f"group: size must be an int >= 1, not {size!r}")


def _check_density(density: float, what: str) -> None:
    if not 0.0 < density <= 1.0:
        raise FormatError(f"{what}: density must be in (0, 1], not {density!r}")


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _pad_to(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Zero-pad a 2-D array at the bottom/right up to ``(rows, cols)``."""
    return np.pad(a, ((0, rows - a.shape[0]), (0, cols - a.shape[1])))


def _count_bits(count: int) -> int:
    """Bits to store an index into ``count`` positions (at least 1)."""
    return max(1, (count - 1).bit_length())


def _keep_top(score: np.ndarray, keep: int, axis: int) -> np.ndarray:
    """Boolean mask keeping the ``keep`` largest scores along ``axis`` (ties: lower position)."""
    order = np.argsort(-score, axis=axis, kind="stable")
    mask = np.zeros(score.shape, dtype=bool)
    np.put_along_axis(mask, np.take(order, np.arange(keep), axis=axis), True, axis=axis)
    return mask


def _magnitude(dense: np.ndarray) -> np.ndarray:
    """|dense| as float64 (exact for int8..int32 weights; float weights prune too)."""
    return np.abs(np.asarray(dense, dtype=np.float64))


def _apply(dense: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``dense`` with everything outside ``mask`` zeroed, same dtype."""
    return np.where(mask, dense, 0).astype(dense.dtype)


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
        dense = np.zeros((self.rows, self.padded_k), dtype=dtype)
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
        _check_nm_params(self.n, self.m)
        _check_axis(self.axis)
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


def _grouped(dense: np.ndarray, m: int, axis: int) -> tuple[np.ndarray, bool]:
    """``(rows, groups, m)`` view of ``dense`` along ``axis`` (zero-padded), and whether padded."""
    a = dense if axis == 1 else dense.T
    k = a.shape[1]
    padded_k = _ceil_div(k, m) * m
    a = _pad_to(a, a.shape[0], padded_k)
    return a.reshape(a.shape[0], padded_k // m, m), padded_k != k


def check_nm(dense: np.ndarray, n: int, m: int, axis: int = 1) -> None:
    """Raise ``FormatError`` unless every group of ``m`` along ``axis`` has <= ``n`` nonzeros."""
    _check_nm_params(n, m)
    _check_axis(axis)
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


def prune_nm(dense: np.ndarray, n: int, m: int, axis: int = 1) -> np.ndarray:
    """Magnitude pruning to N:M along ``axis`` (``nm_mask``); same dtype."""
    return _apply(dense, nm_mask(dense, n, m, axis))


def nm_mask(dense: np.ndarray, n: int, m: int, axis: int = 1) -> np.ndarray:
    """Bool mask keeping the ``n`` largest magnitudes of every group of ``m`` along ``axis``."""
    _check_nm_params(n, m)
    _check_axis(axis)
    groups, _ = _grouped(dense, m, axis)
    keep = _keep_top(_magnitude(groups), n, axis=2)
    rows, k = (dense.shape[0], dense.shape[1]) if axis == 1 else (dense.shape[1], dense.shape[0])
    mask = keep.reshape(rows, -1)[:, :k]
    return mask if axis == 1 else mask.T


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


def prune_transposable_nm(dense: np.ndarray, n: int, m: int) -> np.ndarray:
    """Magnitude pruning to N:M along both axes (``transposable_nm_mask``); same dtype."""
    return _apply(dense, transposable_nm_mask(dense, n, m))


def transposable_nm_mask(dense: np.ndarray, n: int, m: int) -> np.ndarray:
    """Greedy magnitude mask N:M along both axes: per ``m x m`` block, visit entries from the
    largest magnitude down and keep one while its block row and block column hold < ``n``.

    All blocks advance together, one rank per step (``m*m`` numpy steps in total).
    """
    _check_nm_params(n, m)
    rows, k = dense.shape
    pr, pk = _ceil_div(rows, m) * m, _ceil_div(k, m) * m
    blocks = _pad_to(_magnitude(dense), pr, pk).reshape(pr // m, m, pk // m, m)
    blocks = blocks.transpose(0, 2, 1, 3).reshape(-1, m * m)
    order = np.argsort(-blocks, axis=1, kind="stable")
    keep = np.zeros(blocks.shape, dtype=bool)
    row_count = np.zeros((blocks.shape[0], m), dtype=np.int64)
    col_count = np.zeros((blocks.shape[0], m), dtype=np.int64)
    b = np.arange(blocks.shape[0])
    for rank in range(m * m):
        pos = order[:, rank]
        r, c = pos // m, pos % m
        ok = (row_count[b, r] < n) & (col_count[b, c] < n)
        keep[b[ok], pos[ok]] = True
        row_count[b[ok], r[ok]] += 1
        col_count[b[ok], c[ok]] += 1
    mask = keep.reshape(pr // m, pk // m, m, m).transpose(0, 2, 1, 3).reshape(pr, pk)
    return mask[:rows, :k]


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
        bits = self.col_idx.size * _count_bits(self.shape[1]) + (self.groups + 1) * PTR_BITS
        return _ceil_div(bits, 8)

    def decompress(self) -> np.ndarray:
        dense = np.zeros((self.groups * self.size, self.shape[1]), dtype=np.int8)
        for g in range(self.groups):
            lo, hi = self.col_ptr[g], self.col_ptr[g + 1]
            dense[g * self.size : (g + 1) * self.size, self.col_idx[lo:hi]] = self.values[:, lo:hi]
        return dense[: self.shape[0]]

    def check(self) -> None:
        _check_group_size(self.size)
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


def _row_groups(dense: np.ndarray, size: int) -> tuple[np.ndarray, bool]:
    """``(groups, size, K)`` view with rows zero-padded to whole groups."""
    rows, k = dense.shape
    padded_rows = _ceil_div(rows, size) * size
    return _pad_to(dense, padded_rows, k).reshape(-1, size, k), padded_rows != rows


def compress_group(dense: np.ndarray, size: int) -> GroupTensor:
    """Compress a dense int8 array, rows in groups of ``size``.

    A group keeps every column where any of its rows is nonzero (a row that is zero there stores an
    explicit zero), so any array compresses; a group-pruned one stores no zeros it can skip.
    """
    _check_int8_2d(dense, "compress_group")
    _check_group_size(size)
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


def prune_group(dense: np.ndarray, size: int, density: float) -> np.ndarray:
    """Magnitude pruning to shared per-group column patterns (``group_mask``); same dtype."""
    return _apply(dense, group_mask(dense, size, density))


def group_mask(dense: np.ndarray, size: int, density: float) -> np.ndarray:
    """Bool mask: per group of ``size`` rows keep the ``round(density * K)`` (at least 1)
    columns with the largest L1 norm over the group; all rows of a group share the columns."""
    _check_group_size(size)
    _check_density(density, "group")
    groups, _ = _row_groups(dense, size)
    keep = _keep_top(_magnitude(groups).sum(axis=1), max(1, round(density * dense.shape[1])), 1)
    return np.repeat(keep, size, axis=0)[: dense.shape[0]]


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
        bits = self.block_col.size * _count_bits(grid_cols) + (grid_rows + 1) * PTR_BITS
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


def _tiles(dense: np.ndarray, br: int, bc: int) -> tuple[np.ndarray, bool]:
    """``(grid_rows, grid_cols, br, bc)`` view, zero-padded to whole blocks, and whether padded."""
    rows, cols = dense.shape
    pr, pc = _ceil_div(rows, br) * br, _ceil_div(cols, bc) * bc
    tiles = _pad_to(dense, pr, pc).reshape(pr // br, br, pc // bc, bc).transpose(0, 2, 1, 3)
    return tiles, (pr, pc) != (rows, cols)


def _check_block_shape(br: int, bc: int) -> None:
    if not all(_is_int(v) and v >= 1 for v in (br, bc)):
        raise FormatError(f"block: block shape must be ints >= 1, not {(br, bc)!r}")


def compress_block(dense: np.ndarray, block_rows: int, block_cols: int) -> BlockTensor:
    """BCSR of a dense int8 array; all-zero blocks are dropped."""
    _check_int8_2d(dense, "compress_block")
    _check_block_shape(block_rows, block_cols)
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


def prune_block(dense: np.ndarray, block_rows: int, block_cols: int, density: float) -> np.ndarray:
    """Magnitude pruning to whole blocks (``block_mask``); same dtype."""
    return _apply(dense, block_mask(dense, block_rows, block_cols, density))


def block_mask(dense: np.ndarray, block_rows: int, block_cols: int, density: float) -> np.ndarray:
    """Bool mask keeping the ``round(density * blocks)`` (at least 1) blocks of largest L1 norm."""
    _check_block_shape(block_rows, block_cols)
    _check_density(density, "block")
    tiles, _ = _tiles(_magnitude(dense), block_rows, block_cols)
    score = tiles.sum(axis=(2, 3))
    keep = _keep_top(score.ravel(), max(1, round(density * score.size)), 0).reshape(score.shape)
    mask = np.repeat(np.repeat(keep, block_rows, axis=0), block_cols, axis=1)
    return mask[: dense.shape[0], : dense.shape[1]]


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
        bits = self.col_idx.size * _count_bits(self.shape[1]) + (self.shape[0] + 1) * PTR_BITS
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


def prune_unstructured(dense: np.ndarray, density: float) -> np.ndarray:
    """Magnitude pruning of the whole array (``unstructured_mask``); same dtype."""
    return _apply(dense, unstructured_mask(dense, density))


def unstructured_mask(dense: np.ndarray, density: float) -> np.ndarray:
    """Bool mask keeping the ``round(density * size)`` (at least 1) largest magnitudes."""
    _check_density(density, "unstructured")
    score = _magnitude(dense).ravel()
    return _keep_top(score, max(1, round(density * score.size)), 0).reshape(dense.shape)
