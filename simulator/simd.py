"""A CPU core's SIMD datapath as a throughput model: what one matrix problem costs on a ``simd``
spec (``accel.spec.SimdSpec``), called by ``simulator.plan`` where an array spec is mapped.

**Issue bound of one step.** A kernel's inner loop issues, per step, ``fmas`` vector FMAs into
``accumulators`` independent accumulators and ``loads`` vector loads from L1. With ``F`` FMA
ports of latency ``lat`` and ``P`` load ports a step takes::

    step = max(fmas / F,                    FMA ports        ("compute")
               lat * fmas / accumulators,   each accumulator's dependent chain ("FMA latency")
               loads / P)                   L1 load ports    ("L1")

**Dense GEMM** (register tile ``mr`` pixels x ``nr`` channels, ``v = ceil(nr / lanes)``
vectors; ``mr = min(tile_pixels, m)``, and a GEMM of fewer rows spends the tile's
``tile_pixels * v`` accumulators on up to ``ceil(n / lanes)`` vectors): per reduction step
``fmas = accumulators = mr * v``, ``loads = v + mr / lanes`` (B's vectors; A's ``mr``
values arrive ``lanes`` k-steps per load).
A problem of ``count`` GEMMs costs ``count * ceil(m / mr) * ceil(n / (v * lanes)) * k * step /
dense_efficiency`` cycles: edge tiles pay whole tiles, the library reaches ``dense_efficiency``
of the bound. **Depthwise** (one output channel per group, channels across the lanes): per tap
and output pixel, one FMA and two loads (input and weight vectors; the packed weights are
re-read per pixel) on ``ceil(count / lanes)`` channel vectors, so ``step = max(1/F, 2/P)``
(pixels in flight keep the chains apart), over ``dense_efficiency``.

**Sparse kernels** (``SparseKernelSpec``: ``mr = pixels``, ``nr = channels`` sharing one index;
forward passes of a sparse weight): per stored index ``fmas = accumulators = (mr / lanes) *
nr``, ``loads = mr / lanes + 2`` (activations, the ``nr`` weights, the index), then
``stall_cycles_per_index`` more::

    per_index = step + stall
    cycles    = count * ceil(m / mr) * ceil(n / nr) * round(density * k) * per_index

XNNPACK's SpMM is ``nr = 1`` (any zero pattern); SparseByteNN's group kernel ``nr = G`` needs
``G`` output channels sharing their zeros (``groupG``). ``bound`` is ``"index decode"`` when
the stall exceeds the step. The runtime keeps whichever of dense and sparse is faster (as
XNNPACK switches to sparse inference only past a sparsity threshold), so
``break_even_density`` (per MAC, edges ignored)::

    rho* = (dense_step / (mr_d * nr_d * dense_efficiency)) / (per_index / (mr * nr))

**Memory levels.** Caches ``L1``, ``L2``[, ``L3``] (the spec's ``buffers``) then DRAM. The
working set is ``A`` (input: a conv's feature map, else ``m x k``), ``B`` (weights as stored:
dense, or per index ``nr`` values and the index) and ``C`` (outputs), each group's (a conv group,
an attention head) reused on its own. A level of ``S`` bytes
takes from the level below its compulsory fill ``A + B + C`` when that fits, else the cheaper
of keeping a weight panel (``A`` re-read ``ceil(B / (S/2))`` times) or an input panel (``B``
re-read ``ceil(A / (S/2))`` times), plus ``C``. What enters L1 is read from L2 at L2's read
port (``"L2"``), what enters L2 from L3 (``"L3"``), what enters the last level from DRAM; an
input or output kept on chip between layers (``simulator.residency``: a third of the last
level) skips DRAM. The problem is cut into equal tiles of half an L1 of working set so that the
engines' double-buffered pipeline overlaps DRAM with compute, as hardware prefetch does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from sparsim.accel.spec import AcceleratorSpec, Operand, SimdSpec, SparseKernelSpec
from sparsim.simulator.lower import Problem, mask_density
from sparsim.simulator.mapping import Exploit
from sparsim.simulator.results import Pass
from sparsim.simulator.tile import ceil_div
from sparsim.workloads.sparsity import Dense, Group

__all__ = [
    "KernelCost",
    "SimdPlan",
    "break_even_density",
    "choose_kernel",
    "dense_gemm",
    "depthwise",
    "describe_kernels",
    "level_bytes",
    "plan_simd",
    "sparse_gemm",
    "step_cycles",
]

MAX_TILES = 256
"""Tiles per problem at most (pipeline granularity only: totals do not depend on it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelCost:
    """One kernel's run of a problem: compute ``cycles`` (float, stalls included), the MACs it
    issues (padding included), what bounds its steps, the bytes its loads move from L1, the
    indices it decodes and the weight bytes it reads (values and indices as stored);
    ``exploit``: the same sparsity in the array plan's terms (weight pre-generation and
    dequantization size the stored weight from it)."""

    kernel: str
    cycles: float
    issued_macs: int
    bound: str
    l1_bytes: int
    indices: int
    weight_bytes: int
    metadata_bytes: int = 0
    exploit: Exploit = field(default_factory=Exploit)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimdPlan:
    """What ``simulator.plan`` wraps into a ``PlannedProblem``: per-tile cycles and DRAM
    bytes, cache port cycles, bytes per level, the kernel and the notes."""

    compute_cycles: np.ndarray
    load_bytes: np.ndarray
    store_bytes: np.ndarray
    port_cycles: tuple[tuple[str, np.ndarray], ...]
    levels: dict[str, int]
    kernel: KernelCost
    notes: tuple[str, ...]


def step_cycles(
    simd: SimdSpec, fmas: float, accumulators: float, loads: float
) -> tuple[float, str]:
    """Cycles of one inner-loop step and the resource that sets them (module docstring)."""
    bounds = (
        (fmas / simd.fma_ports, "compute"),
        (simd.fma_latency_cycles * fmas / accumulators, "FMA latency"),
        (loads / simd.load_ports, "L1"),
    )
    return max(bounds, key=lambda b: b[0])


def _lanes(spec: AcceleratorSpec) -> int:
    return spec.compute.multipliers_per_pe


def _simd(spec: AcceleratorSpec) -> SimdSpec:
    if spec.compute.simd is None:
        raise ValueError(f"{spec.name} is not a simd core (compute.kind: simd)")
    return spec.compute.simd


def _vector_bytes(spec: AcceleratorSpec) -> int:
    return _simd(spec).vector_bits // 8


def _dense_step(simd: SimdSpec, lanes: int, m: int, n: int) -> tuple[float, str, int, int]:
    """The dense micro-kernel's step, bound, pixels and vectors of its register tile (a GEMM
    with fewer rows than ``tile_pixels`` spends the tile's accumulators on more channels)."""
    mr, full = min(simd.tile_pixels, m), math.ceil(simd.tile_channels / lanes)
    vectors = min(math.ceil(n / lanes), max(full, simd.tile_pixels * full // mr))
    step, bound = step_cycles(simd, mr * vectors, mr * vectors, vectors + mr / lanes)
    return step, bound, mr, vectors


def dense_gemm(problem: Problem, spec: AcceleratorSpec) -> KernelCost:
    """``count`` dense GEMMs on the register-blocked micro-kernel (module docstring)."""
    simd, lanes, p = _simd(spec), _lanes(spec), problem
    step, bound, mr, vectors = _dense_step(simd, lanes, p.m, p.n)
    tiles = p.count * math.ceil(p.m / mr) * math.ceil(p.n / (vectors * lanes))
    loads = tiles * p.k * (vectors + mr / lanes)
    return KernelCost(
        kernel=f"dense GEMM {mr}x{vectors * lanes}",
        cycles=tiles * p.k * step / simd.dense_efficiency,
        issued_macs=tiles * p.k * mr * vectors * lanes,
        bound=bound,
        l1_bytes=round(loads * _vector_bytes(spec)),
        indices=0,
        weight_bytes=round(p.k * p.n * p.count * spec.precision.bytes_of(Operand.WEIGHT)),
    )


def depthwise(problem: Problem, spec: AcceleratorSpec) -> KernelCost:
    """Grouped convs with one output channel per group, channels across the lanes."""
    simd, lanes, p = _simd(spec), _lanes(spec), problem
    step, bound = step_cycles(simd, 1, math.inf, 2)
    steps = math.ceil(p.count / lanes) * p.m * p.k
    return KernelCost(
        kernel="depthwise",
        cycles=steps * step / simd.dense_efficiency,
        issued_macs=steps * lanes,
        bound=bound,
        l1_bytes=2 * steps * _vector_bytes(spec),
        indices=0,
        weight_bytes=round(p.k * p.count * spec.precision.bytes_of(Operand.WEIGHT)),
    )


def _per_index(simd: SimdSpec, kernel: SparseKernelSpec, lanes: int) -> tuple[float, str]:
    """Cycles per stored index of a sparse kernel and what sets them (module docstring)."""
    vectors = math.ceil(kernel.pixels / lanes)
    fmas = vectors * kernel.channels
    step, bound = step_cycles(simd, fmas, fmas, vectors + 2)
    if kernel.stall_cycles_per_index > step:
        bound = "index decode"
    return step + kernel.stall_cycles_per_index, bound


def sparse_gemm(
    problem: Problem, spec: AcceleratorSpec, kernel: SparseKernelSpec, density: float, name: str
) -> KernelCost:
    """A sparse-weight GEMM on ``kernel`` at ``density`` kept weights (module docstring)."""
    simd, lanes, p = _simd(spec), _lanes(spec), problem
    per_index, bound = _per_index(simd, kernel, lanes)
    kept_k = round(density * p.k)
    blocks = p.count * math.ceil(p.n / kernel.channels)
    indices = blocks * kept_k
    tiles = math.ceil(p.m / kernel.pixels)
    vectors = math.ceil(kernel.pixels / lanes)
    w_bytes = kernel.channels * spec.precision.bytes_of(Operand.WEIGHT)
    per_index_bytes = vectors * _vector_bytes(spec) + w_bytes + kernel.index_bytes
    return KernelCost(
        kernel=name,
        cycles=tiles * indices * per_index,
        issued_macs=tiles * indices * vectors * lanes * kernel.channels,
        bound=bound,
        l1_bytes=round(tiles * indices * per_index_bytes),
        indices=tiles * indices,
        weight_bytes=round(indices * w_bytes),
        metadata_bytes=indices * kernel.index_bytes,
        exploit=_exploit(kernel, density),
    )


def _exploit(kernel: SparseKernelSpec, density: float) -> Exploit:
    """A sparse kernel's weight format as an ``Exploit``: a group kernel's shared indices as
    group skipping, one index per nonzero as unstructured skipping."""
    if kernel.channels > 1:
        return Exploit(group_size=kernel.channels, group_density=density)
    return Exploit(unstructured_density=density,
                   metadata_bits_per_nonzero=8 * kernel.index_bytes)  # fmt: skip


def break_even_density(spec: AcceleratorSpec, kernel: SparseKernelSpec) -> float:
    """Kept-weight density below which ``kernel`` beats the dense micro-kernel (module
    docstring; full register tiles, no edges)."""
    simd, lanes = _simd(spec), _lanes(spec)
    step, _, mr, vectors = _dense_step(simd, lanes, simd.tile_pixels, simd.tile_channels)
    dense_per_mac = step / (mr * vectors * lanes * simd.dense_efficiency)
    per_index, _ = _per_index(simd, kernel, lanes)
    return dense_per_mac / (per_index / (kernel.pixels * kernel.channels))


def _sparse_kernel(problem: Problem, spec: AcceleratorSpec) -> tuple[SparseKernelSpec, str] | None:
    """The sparse kernel a forward pass's weight pattern can use, if any: the group kernel for
    ``groupG`` with ``G`` a multiple of its channels, else the unstructured one."""
    simd, pattern = _simd(spec), problem.b_pattern
    if problem.pass_ != Pass.FW or isinstance(pattern, Dense) or _is_depthwise(problem):
        return None
    group = simd.group
    if group is not None and isinstance(pattern, Group) and pattern.size % group.channels == 0:
        return group, f"group SpMM {group.pixels}x{group.channels}"
    if simd.unstructured is not None:
        kernel = simd.unstructured
        return kernel, f"SpMM {kernel.pixels}x{kernel.channels}"
    return None


def _is_depthwise(problem: Problem) -> bool:
    return problem.count > 1 and problem.n == 1


def choose_kernel(problem: Problem, spec: AcceleratorSpec) -> tuple[KernelCost, tuple[str, ...]]:
    """The kernel the runtime runs: depthwise, or the faster of the dense GEMM and the sparse
    kernel the weight allows (module docstring); notes say what was kept and why."""
    if _is_depthwise(problem):
        return depthwise(problem, spec), ()
    dense = dense_gemm(problem, spec)
    chosen = _sparse_kernel(problem, spec)
    if chosen is None:
        unused = problem.pass_ == Pass.FW and not isinstance(problem.b_pattern, Dense)
        return dense, (f"weight {problem.b_pattern}: no sparse kernel for it: ran dense",) if (
            unused) else ()
    kernel, name = chosen
    density = mask_density(problem.b_pattern)
    sparse = sparse_gemm(problem, spec, kernel, density, name)
    if sparse.cycles < dense.cycles:
        return sparse, (f"{name} at density {density:.2f}",)
    even = break_even_density(spec, kernel)
    return dense, (f"{name} at density {density:.2f} is slower than dense (break-even "
                   f"{even:.2f}): ran dense",)  # fmt: skip


def describe_kernels(problem: Problem, spec: AcceleratorSpec) -> list[str]:
    """``sparsim run --explain`` on a simd core: each kernel the problem could run, its
    compute cycles and step bound, the chosen one first (``choose_kernel``)."""
    chosen, notes = choose_kernel(problem, spec)
    tried = [chosen]
    other = _sparse_kernel(problem, spec)
    if other is not None and not _is_depthwise(problem):
        kernel, name = other
        sparse = sparse_gemm(problem, spec, kernel, mask_density(problem.b_pattern), name)
        tried += [c for c in (dense_gemm(problem, spec), sparse) if c.kernel != chosen.kernel]
    lines = [f"  {c.cycles:>14,.0f}  {c.kernel} (steps bound by {c.bound})"
             f"{'  (chosen)' if c is chosen else ''}" for c in tried]  # fmt: skip
    return lines + [f"  note: {note}" for note in notes]


def _operand_bytes(
    problem: Problem, spec: AcceleratorSpec, cost: KernelCost
) -> tuple[int, int, int]:
    """``(A, B, C)``: input, weights as stored (values and indices) and output bytes."""
    p, conv = problem, problem.conv
    a_elems = p.m * p.k * p.count
    if conv is not None and p.pass_ == Pass.FW:
        a_elems = conv.batch * conv.height * conv.width * conv.in_channels * p.count
    a = round(a_elems * spec.precision.bytes_of(Operand.INPUT))
    c = round(p.m * p.n * p.count * spec.precision.bytes_of(Operand.OUTPUT))
    return a, cost.weight_bytes + cost.metadata_bytes, c


def level_bytes(a: int, b: int, c: int, size: int) -> int:
    """Bytes a cache of ``size`` bytes takes from the level below (module docstring)."""
    if a + b + c <= size:
        return a + b + c
    half = max(1, size // 2)
    return c + min(b + a * math.ceil(b / half), a + b * math.ceil(a / half))


def _cache_traffic(
    spec: AcceleratorSpec, abc: tuple[int, int, int], l1_bytes: int, count: int
) -> tuple[dict[str, int], int]:
    """Bytes read from and written to each cache level, and what the last level takes from
    DRAM; ``count`` independent groups share ``abc`` equally, each reused on its own."""
    names = [name for name, _ in spec.buffers]
    a, b, c = (ceil_div(x, count) for x in abc)  # one group's GEMM (a head, a conv group)
    fills = [count * level_bytes(a, b, c, buf.size_bytes) for _, buf in spec.buffers]
    levels = {f"sram.{names[0]}.read": l1_bytes}
    for i, name in enumerate(names):
        levels[f"sram.{name}.write"] = fills[i]
        if i:
            levels[f"sram.{name}.read"] = fills[i - 1]
    return levels, fills[-1]


def _dram_bytes(
    abc: tuple[int, int, int], from_dram: int, cost: KernelCost, io_on_chip: tuple[bool, bool]
) -> dict[str, int]:
    """DRAM bytes by operand: the last level's fill split as compulsory input, weights
    (values, indices) and any re-reads; outputs written back unless they stay on chip."""
    a, b, c = abc
    reread = max(0, from_dram - (a + b + c))
    input_bytes = 0 if io_on_chip[0] else a + reread
    out = {"dram.input": input_bytes, "dram.weight": cost.weight_bytes}
    if cost.metadata_bytes:
        out["dram.metadata"] = cost.metadata_bytes
    out["dram.output"] = 0 if io_on_chip[1] else c
    return out


def _tiles(spec: AcceleratorSpec, abc: tuple[int, int, int]) -> int:
    """Pipeline tiles: half an L1 of working set each (module docstring)."""
    half_l1 = max(1, spec.buffers[0][1].size_bytes // 2)
    return max(1, min(MAX_TILES, math.ceil(sum(abc) / half_l1)))


def _split(total: float, tiles: int) -> np.ndarray:
    """``ceil(total)`` spread over ``tiles`` equal shares (integers summing exactly)."""
    whole = math.ceil(total)
    out = np.full(tiles, whole // tiles, dtype=np.int64)
    out[: whole % tiles] += 1
    return out


def plan_simd(
    problem: Problem, spec: AcceleratorSpec, io_on_chip: tuple[bool, bool] = (False, False)
) -> SimdPlan:
    """One matrix problem on a simd core: its kernel, per-tile compute and DRAM bytes, cache
    port cycles and bytes per level (module docstring)."""
    cost, notes = choose_kernel(problem, spec)
    abc = _operand_bytes(problem, spec, cost)
    levels, from_dram = _cache_traffic(spec, abc, cost.l1_bytes, problem.count)
    dram = _dram_bytes(abc, from_dram, cost, io_on_chip)
    tiles = _tiles(spec, abc)
    ports = tuple(
        (name, _split(levels[f"sram.{name}.read"] / buf.read_bytes_per_cycle, tiles))
        for name, buf in spec.buffers[1:]
    )
    loads = dram["dram.input"] + dram["dram.weight"] + dram.get("dram.metadata", 0)
    levels |= dram
    levels["sram.read"] = sum(v for k, v in levels.items() if k.endswith(".read")
                              and k.startswith("sram.L"))  # fmt: skip
    levels["sram.write"] = sum(v for k, v in levels.items() if k.endswith(".write")
                               and k.startswith("sram.L"))  # fmt: skip
    return SimdPlan(
        compute_cycles=_split(cost.cycles, tiles),
        load_bytes=_split(loads, tiles),
        store_bytes=_split(dram["dram.output"], tiles),
        port_cycles=ports,
        levels=levels,
        kernel=cost,
        notes=notes,
    )
