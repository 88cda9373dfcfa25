"""Register-blocked int16-pair multiply-add: the inner block of the functional model's N:M kernel.

``pair_madd_block`` adds to ``BLOCK_COLS`` consecutive int32 outputs the pair sums of ``count``
*pair rows*. A pair row interleaves two int8 activation rows, ``(x_a[c], x_b[c])`` for each
column ``c``; it meets one packed weight pair ``w = (w_a & 0xFFFF) | (w_b << 16)``::

    y[c] += x_a[c] * w_a + x_b[c] * w_b       int16 x int16 -> int32 products, summed in int32

which is x86's ``pmaddwd``: 2 MACs per 32-bit lane in one instruction. Operands are int8
(``w_a``/``w_b`` at most 256 in magnitude when a repeated index merges two weights), so a
product is at most ``2**14`` and a pair sum ``2**15`` (or ``2 * 256 * 128``): exact in int32.
``(-128) * (-128) + (-128) * (-128) = 32768`` overflows *int16*, which is why the pair is summed
in 32 bits (``pmaddwd``), never in 16 (``pmaddubsw`` would saturate it). The running sums wrap in
int32 (``accel.numeric``), as the hardware accumulator does.

The block is LLVM IR (a numba ``intrinsic``), so its speed does not rest on the loop vectorizer
finding the pattern, which it does not reliably (LLVM re-associates ``acc + (p0 + p1)`` and the
pair is lost): the ``BLOCK_COLS / lanes`` accumulators stay in registers across the ``count``
pair rows (register blocking); each step broadcasts one weight pair and, per accumulator, loads
16 int8, widens them to int16 and multiply-adds. Pair rows are stored as int8 (half the bytes of
int16: the N:M kernel is bound by how fast pair rows stream from cache). On x86-64 the
multiply-add is the ``pmaddwd`` instruction (AVX2 when numba targets it, else SSE2, which every
x86-64 has); elsewhere the same arithmetic in portable vector IR (widen, multiply, add). With
``NUMBA_DISABLE_JIT=1`` a numpy version of the same arithmetic runs instead.
"""

from __future__ import annotations

from collections.abc import Callable

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import config
from numba.extending import intrinsic

__all__ = [
    "BLOCK_COLS",
    "GROUP_COLS",
    "GROUP_ROWS",
    "group_madd_block",
    "madd_path",
    "pack_pair",
    "pair_madd_block",
    "target_features",
]

_NO_JIT = bool(getattr(config, "DISABLE_JIT", False))

BLOCK_COLS = 64
"""Output columns one block updates: 8 AVX2 registers of 8 int32 (half of the 16 vector
registers, the rest hold the weight pair and loads)."""


def target_features() -> str:
    """The CPU features numba compiles for (``NUMBA_CPU_FEATURES``, else the host's)."""
    configured = getattr(config, "CPU_FEATURES", None)
    return configured if configured is not None else llvm.get_host_cpu_features().flatten()


def _x86_madd() -> tuple[str, int] | None:
    """The ``pmaddwd`` intrinsic numba's target has and its int32 lanes, or ``None`` off x86."""
    if not llvm.get_process_triple().startswith("x86_64"):
        return None
    if "+avx2" in target_features().split(","):
        return "llvm.x86.avx2.pmadd.wd", 8
    return "llvm.x86.sse2.pmadd.wd", 4


def madd_path() -> str:
    """Which multiply-add ``pair_madd_block`` compiles to here (for benchmark reports)."""
    if _NO_JIT:
        return "numpy (NUMBA_DISABLE_JIT)"
    madd = _x86_madd()
    return f"{madd[0]} ({madd[1]} int32 lanes)" if madd else "portable vector IR"


def pack_pair(w_a: int, w_b: int) -> int:
    """Two int16 weights in one signed int32 word: ``w_a`` in the low half (it meets ``x_a``)."""
    return (int(w_b) << 16) | (int(w_a) & 0xFFFF)


def _i(bits: int, value: int) -> ir.Constant:
    return ir.Constant(ir.IntType(bits), value)


def _generic_madd(builder: ir.IRBuilder, a: ir.Value, b: ir.Value, lanes: int) -> ir.Value:
    """``pmaddwd`` in portable vector IR: widen even and odd int16 lanes, multiply, add."""
    i32v = ir.VectorType(ir.IntType(32), lanes)
    sel = ir.VectorType(ir.IntType(32), lanes)
    half = []
    for parity in (0, 1):
        idx = ir.Constant(sel, [2 * i + parity for i in range(lanes)])
        ea = builder.sext(builder.shuffle_vector(a, ir.Constant(a.type, None), idx), i32v)
        eb = builder.sext(builder.shuffle_vector(b, ir.Constant(b.type, None), idx), i32v)
        half.append(builder.mul(ea, eb))
    return builder.add(half[0], half[1])


def _emit_block(context, builder, sig, args):
    """IR of ``pair_madd_block`` (module docstring): a loop over the pair rows with the
    accumulators as phi nodes, so they stay in registers."""
    y, y_at, planes, plane0, idx, w, at, count = args
    y_ty, _, planes_ty, _, idx_ty, w_ty, _, _ = sig.args
    madd = _x86_madd()
    lanes = madd[1] if madd else 8
    vecs = BLOCK_COLS // lanes
    i16v, i32v = ir.VectorType(ir.IntType(16), 2 * lanes), ir.VectorType(ir.IntType(32), lanes)
    if madd:
        fn = builder.module.declare_intrinsic(madd[0], fnty=ir.FunctionType(i32v, [i16v, i16v]))

    def data(ty, val):
        return context.make_array(ty)(context, builder, val).data

    y_vec = builder.bitcast(builder.gep(data(y_ty, y), [y_at]), i32v.as_pointer())
    row_bytes = BLOCK_COLS * 2
    planes_base = builder.ptrtoint(data(planes_ty, planes), ir.IntType(64))
    planes_base = builder.sub(planes_base, builder.mul(plane0, _i(64, row_bytes)))
    idx_p, w_p = builder.gep(data(idx_ty, idx), [at]), builder.gep(data(w_ty, w), [at])

    start = builder.block
    accs = [builder.load(builder.gep(y_vec, [_i(64, j)]), align=4) for j in range(vecs)]
    loop, done = builder.append_basic_block("pairs.loop"), builder.append_basic_block("pairs.done")
    builder.cbranch(builder.icmp_signed(">", count, _i(64, 0)), loop, done)

    builder.position_at_end(loop)
    i = builder.phi(ir.IntType(64))
    sums = [builder.phi(i32v) for _ in range(vecs)]
    row = builder.sext(builder.load(builder.gep(idx_p, [i]), align=4), ir.IntType(64))
    pair = builder.load(builder.gep(w_p, [i]), align=4)
    splat = builder.insert_element(ir.Constant(i32v, None), pair, _i(32, 0))
    splat = builder.shuffle_vector(splat, ir.Constant(i32v, None), ir.Constant(i32v, [0] * lanes))
    weights = builder.bitcast(splat, i16v)
    src = builder.add(planes_base, builder.mul(row, _i(64, row_bytes)))
    i8v = ir.VectorType(ir.IntType(8), 2 * lanes)
    src = builder.inttoptr(src, i8v.as_pointer())
    new = []
    for j, acc in enumerate(sums):
        x = builder.sext(builder.load(builder.gep(src, [_i(64, j)]), align=1), i16v)
        prod = builder.call(fn, [x, weights]) if madd else _generic_madd(builder, x, weights, lanes)
        new.append(builder.add(acc, prod))
    i_next = builder.add(i, _i(64, 1))
    body_end = builder.block
    i.add_incoming(_i(64, 0), start)
    i.add_incoming(i_next, body_end)
    for acc, first, last in zip(sums, accs, new, strict=True):
        acc.add_incoming(first, start)
        acc.add_incoming(last, body_end)
    builder.cbranch(builder.icmp_signed("<", i_next, count), loop, done)

    builder.position_at_end(done)
    outs = [builder.phi(i32v) for _ in range(vecs)]  # phi nodes first in their block
    for j, (out, first, last) in enumerate(zip(outs, accs, new, strict=True)):
        out.add_incoming(first, start)
        out.add_incoming(last, body_end)
        builder.store(out, builder.gep(y_vec, [_i(64, j)]), align=4)
    return context.get_dummy_value()


def _c_array(ty: types.Type, dtype: types.Type) -> bool:
    return isinstance(ty, types.Array) and ty.dtype == dtype and ty.layout == "C"


@intrinsic
def _pair_madd_block_ir(typingctx, y, y_at, planes, plane0, idx, w, at, count):
    ok = (
        _c_array(y, types.int32) and _c_array(planes, types.int8)
        and _c_array(idx, types.int32) and _c_array(w, types.int32)
    )  # fmt: skip
    if not ok:
        return None
    sig = types.void(y, types.int64, planes, types.int64, idx, w, types.int64, types.int64)
    return sig, _emit_block


def _pair_madd_block_numpy(
    y: np.ndarray,
    y_at: int,
    planes: np.ndarray,
    plane0: int,
    idx: np.ndarray,
    w: np.ndarray,
    at: int,
    count: int,
) -> None:
    """The same arithmetic in numpy (for ``NUMBA_DISABLE_JIT=1``)."""
    rows = idx.reshape(-1)[at : at + count].astype(np.int64) - plane0
    pairs = w.reshape(-1)[at : at + count].astype(np.int64)
    w_a, w_b = (pairs << 48) >> 48, pairs >> 16
    x = planes.reshape(-1, BLOCK_COLS, 2)[rows].astype(np.int64)
    total = (x[:, :, 0] * w_a[:, None] + x[:, :, 1] * w_b[:, None]).sum(axis=0)
    out = y.reshape(-1)[y_at : y_at + BLOCK_COLS]
    out[:] = ((out.astype(np.int64) + total) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


pair_madd_block: Callable[..., None] = (
    _pair_madd_block_numpy if _NO_JIT else _pair_madd_block_ir
)
"""``y.flat[y_at : y_at + BLOCK_COLS] += sum_i pmaddwd(pair row idx.flat[at + i] - plane0 of
planes, w.flat[at + i])`` for ``i < count`` (module docstring); all arrays C-contiguous,
``planes`` ``(..., BLOCK_COLS, 2)`` int8, ``idx`` and ``w`` int32."""


# ---------------------------------------------------------------------------------------------
# group-sparse block: pairs interleaved in registers

GROUP_ROWS = 4
"""Output rows ``group_madd_block`` updates at once: rows of one weight group share its kept
activation rows, so each interleaved pair of them serves ``GROUP_ROWS`` multiply-adds."""

GROUP_COLS = 16
"""Output columns per ``group_madd_block`` call: two int16-pair vectors of 8 int32 lanes per row,
``GROUP_ROWS * 2`` accumulators (half of AVX2's 16 registers)."""

_LO = [0, 16, 1, 17, 2, 18, 3, 19, 8, 24, 9, 25, 10, 26, 11, 27]
_HI = [4, 20, 5, 21, 6, 22, 7, 23, 12, 28, 13, 29, 14, 30, 15, 31]
"""Interleave of two 16-lane int16 vectors within each 128-bit half (AVX2's ``vpunpck[lh]wd``):
the ``_LO`` pair vector holds columns 0-3 and 8-11, ``_HI`` columns 4-7 and 12-15."""

_COLS_0_7, _COLS_8_15 = [0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]
"""Back to column order from the (``_LO``, ``_HI``) accumulators, concatenated."""


def _madd16(builder: ir.IRBuilder, x: ir.Value, w: ir.Value) -> ir.Value:
    """``pmaddwd`` of two 16-lane int16 vectors: 8 int32 pair sums (AVX2, two SSE2 halves, or
    portable IR)."""
    madd = _x86_madd()
    i16v, i32v = ir.VectorType(ir.IntType(16), 16), ir.VectorType(ir.IntType(32), 8)
    if madd is None:
        return _generic_madd(builder, x, w, 8)
    name, lanes = madd
    if lanes == 8:
        fn = builder.module.declare_intrinsic(name, fnty=ir.FunctionType(i32v, [i16v, i16v]))
        return builder.call(fn, [x, w])
    h16, h32 = ir.VectorType(ir.IntType(16), 8), ir.VectorType(ir.IntType(32), 4)
    fn = builder.module.declare_intrinsic(name, fnty=ir.FunctionType(h32, [h16, h16]))
    halves = []
    for part in (range(8), range(8, 16)):
        idx = ir.Constant(ir.VectorType(ir.IntType(32), 8), list(part))
        halves.append(builder.call(fn, [builder.shuffle_vector(x, x, idx),
                                        builder.shuffle_vector(w, w, idx)]))  # fmt: skip
    return builder.shuffle_vector(halves[0], halves[1], ir.Constant(i32v, list(range(8))))


def _emit_group_block(context, builder, sig, args):
    """IR of ``group_madd_block``: a loop over the pairs with ``GROUP_ROWS * 2`` accumulators as
    phi nodes; each step loads two activation rows' ``GROUP_COLS`` int8, widens and interleaves
    them in registers and multiply-adds every row's broadcast weight pair."""
    y, y_at, y_stride, x, x_at, x_stride, ka, kb, w, w_at, w_stride, at, count = args
    y_ty, x_ty, ka_ty, kb_ty, w_ty = sig.args[0], sig.args[3], sig.args[6], sig.args[7], sig.args[8]
    i64, i32 = ir.IntType(64), ir.IntType(32)
    i8v, i16v = ir.VectorType(ir.IntType(8), 16), ir.VectorType(ir.IntType(16), 16)
    i32v = ir.VectorType(i32, 8)
    sel = ir.VectorType(i32, 16)

    def data(ty, val):
        return context.make_array(ty)(context, builder, val).data

    y_p, x_p = data(y_ty, y), data(x_ty, x)
    ka_p, kb_p = builder.gep(data(ka_ty, ka), [at]), builder.gep(data(kb_ty, kb), [at])
    w_p = data(w_ty, w)
    w_first = builder.add(w_at, at)
    w_rows = [builder.gep(w_p, [builder.add(w_first, builder.mul(w_stride, _i(64, r)))])
              for r in range(GROUP_ROWS)]  # fmt: skip
    start = builder.block
    zero = ir.Constant(i32v, None)
    loop = builder.append_basic_block("gpairs.loop")
    done = builder.append_basic_block("gpairs.done")
    builder.cbranch(builder.icmp_signed(">", count, _i(64, 0)), loop, done)

    builder.position_at_end(loop)
    i = builder.phi(i64)
    sums = [builder.phi(i32v) for _ in range(2 * GROUP_ROWS)]

    def row(k_p):
        k = builder.sext(builder.load(builder.gep(k_p, [i]), align=4), i64)
        at_x = builder.add(x_at, builder.mul(k, x_stride))
        v = builder.load(builder.bitcast(builder.gep(x_p, [at_x]), i8v.as_pointer()), align=1)
        return builder.sext(v, i16v)

    xa, xb = row(ka_p), row(kb_p)
    lo = builder.shuffle_vector(xa, xb, ir.Constant(sel, _LO))
    hi = builder.shuffle_vector(xa, xb, ir.Constant(sel, _HI))
    new = []
    for r in range(GROUP_ROWS):
        pair = builder.load(builder.gep(w_rows[r], [i]), align=4)
        splat = builder.insert_element(ir.Constant(i32v, None), pair, _i(32, 0))
        splat = builder.shuffle_vector(splat, ir.Constant(i32v, None), ir.Constant(i32v, [0] * 8))
        wv = builder.bitcast(splat, i16v)
        new.append(builder.add(sums[2 * r], _madd16(builder, lo, wv)))
        new.append(builder.add(sums[2 * r + 1], _madd16(builder, hi, wv)))
    i_next = builder.add(i, _i(64, 1))
    body_end = builder.block
    i.add_incoming(_i(64, 0), start)
    i.add_incoming(i_next, body_end)
    for acc, last in zip(sums, new, strict=True):
        acc.add_incoming(zero, start)
        acc.add_incoming(last, body_end)
    builder.cbranch(builder.icmp_signed("<", i_next, count), loop, done)

    builder.position_at_end(done)
    outs = [builder.phi(i32v) for _ in range(2 * GROUP_ROWS)]
    for out, last in zip(outs, new, strict=True):
        out.add_incoming(zero, start)
        out.add_incoming(last, body_end)
    for r in range(GROUP_ROWS):
        lo_acc, hi_acc = outs[2 * r], outs[2 * r + 1]
        base = builder.add(y_at, builder.mul(y_stride, _i(64, r)))
        for half, cols in enumerate((_COLS_0_7, _COLS_8_15)):
            vals = builder.shuffle_vector(lo_acc, hi_acc, ir.Constant(i32v, cols))
            ptr = builder.bitcast(builder.gep(y_p, [builder.add(base, _i(64, 8 * half))]),
                                  i32v.as_pointer())  # fmt: skip
            builder.store(builder.add(builder.load(ptr, align=4), vals), ptr, align=4)
    return context.get_dummy_value()


@intrinsic
def _group_madd_block_ir(typingctx, y, y_at, y_stride, x, x_at, x_stride, ka, kb, w, w_at,
                         w_stride, at, count):  # fmt: skip
    ok = (
        _c_array(y, types.int32) and _c_array(x, types.int8) and _c_array(ka, types.int32)
        and _c_array(kb, types.int32) and _c_array(w, types.int32)
    )  # fmt: skip
    if not ok:
        return None
    i64 = types.int64
    sig = types.void(y, i64, i64, x, i64, i64, ka, kb, w, i64, i64, i64, i64)
    return sig, _emit_group_block


def _group_madd_block_numpy(
    y: np.ndarray, y_at: int, y_stride: int, x: np.ndarray, x_at: int, x_stride: int,
    ka: np.ndarray, kb: np.ndarray, w: np.ndarray, w_at: int, w_stride: int, at: int, count: int,
) -> None:  # fmt: skip
    """The same arithmetic in numpy (for ``NUMBA_DISABLE_JIT=1``)."""
    cols = np.arange(GROUP_COLS)
    rows_a = ka.reshape(-1)[at : at + count].astype(np.int64)
    rows_b = kb.reshape(-1)[at : at + count].astype(np.int64)
    xf = x.reshape(-1)
    x_a = xf[x_at + rows_a[:, None] * x_stride + cols].astype(np.int64)
    x_b = xf[x_at + rows_b[:, None] * x_stride + cols].astype(np.int64)
    yf, wf = y.reshape(-1), w.reshape(-1)
    for r in range(GROUP_ROWS):
        pairs = wf[w_at + r * w_stride + at : w_at + r * w_stride + at + count].astype(np.int64)
        w_a, w_b = (pairs << 48) >> 48, pairs >> 16
        total = (x_a * w_a[:, None] + x_b * w_b[:, None]).sum(axis=0)
        out = yf[y_at + r * y_stride : y_at + r * y_stride + GROUP_COLS]
        out[:] = ((out.astype(np.int64) + total) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


group_madd_block: Callable[..., None] = (
    _group_madd_block_numpy if _NO_JIT else _group_madd_block_ir
)
"""For ``r < GROUP_ROWS`` and ``c < GROUP_COLS``: ``y.flat[y_at + r * y_stride + c] +=
sum_i x_a * w_a + x_b * w_b`` over ``i < count``, where ``x_a = x.flat[x_at + ka.flat[at + i] *
x_stride + c]`` (``x_b`` from ``kb``) and ``(w_a, w_b)`` unpack ``w.flat[w_at + r * w_stride +
at + i]`` (``pack_pair``); int32 wrap-around. All arrays C-contiguous."""
