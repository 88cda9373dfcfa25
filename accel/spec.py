"""Accelerator description: frozen dataclasses built only by ``accel.loader`` (or by code).

Units live in names. Cross-field rules are enforced by the loader's validator; these classes only
carry validated values. Every energy number carries its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sparsim.accel.bitlayout import element_bytes
from sparsim.workloads.dtypes import DTYPES, dtype_bits

__all__ = [
    "ACTIVATION_MODES",
    "CACHE_LEVELS",
    "COMPUTE_KINDS",
    "DATAFLOWS",
    "DEPTHWISE_MODES",
    "DRAM_TECHNOLOGIES",
    "GLOBAL_BUFFER",
    "PRECISIONS",
    "AcceleratorSpec",
    "ActivationMode",
    "AreaEntry",
    "BufferSpec",
    "ComputeSpec",
    "Dataflow",
    "DramSpec",
    "DramTechnology",
    "EnergyEntry",
    "EnergyTable",
    "NMSupport",
    "Operand",
    "PrecisionSpec",
    "SimdSpec",
    "SparseKernelSpec",
    "SparsitySupport",
    "UnstructuredSupport",
    "VectorUnitSpec",
    "precision_bits",
]


class Dataflow(StrEnum):
    """Which operand stays in the PEs: weights, outputs or inputs."""

    WS = "ws"
    OS = "os"
    IS = "is"


DATAFLOWS = tuple(d.value for d in Dataflow)
GLOBAL_BUFFER = "global"
"""The name of ``AcceleratorSpec.global_buffer`` in byte and energy keys (``sram.global.read``)."""
DEPTHWISE_MODES = ("serial", "channels", "vector")
"""How grouped convs may run (``ComputeSpec.depthwise``)."""


class Operand(StrEnum):
    """GEMM operands in sparsim's convention ``Y[m,n] = X[m,k] · W[k,n]``."""

    WEIGHT = "weight"
    INPUT = "input"
    OUTPUT = "output"


class ActivationMode(StrEnum):
    """What the datapath does with zero activations: nothing, gate (energy) or skip (time)."""

    NONE = "none"
    GATING = "gating"
    SKIPPING = "skipping"


ACTIVATION_MODES = tuple(a.value for a in ActivationMode)

PRECISIONS = DTYPES
"""Every dtype a precision key may name (``workloads.dtypes``)."""


def precision_bits(name: str) -> int:
    return dtype_bits(name)


COMPUTE_KINDS = ("array", "simd")
"""``compute.kind``: a systolic PE ``array`` or a ``simd`` CPU core (``SimdSpec``)."""

CACHE_LEVELS = ("L1", "L2", "L3")
"""A ``simd`` core's memory levels below the registers: its ``buffers`` are these caches."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SparseKernelSpec:
    """One sparse SIMD kernel style (``simulator.simd``): a register tile of ``pixels`` output
    positions x ``channels`` output channels that share one stored index per nonzero
    (``channels == 1``: unstructured, XNNPACK's SpMM; ``> 1``: the channels of a weight group
    share their zero pattern, SparseByteNN). Per index the core issues ``pixels / lanes``
    activation loads, one weight load and one index load, ``pixels / lanes * channels`` FMAs,
    and stalls ``stall_cycles_per_index`` more (index decode and the gather it starts, the
    latency the out-of-order window does not hide). ``index_bytes``: metadata per index."""

    pixels: int
    channels: int
    index_bytes: int
    stall_cycles_per_index: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SimdSpec:
    """A CPU core's SIMD datapath as a throughput model (``simulator.simd``).
    ``vector_bits``: register width (lanes = bits / element bits); ``fma_ports``: vector FMA
    pipes; ``fma_latency_cycles``: FMA result latency (an accumulator takes one FMA per that
    many cycles); ``load_ports``: vector loads per cycle from L1. Dense GEMM micro-kernel:
    ``tile_pixels`` x ``tile_channels`` accumulators (channels in elements), reaching
    ``dense_efficiency`` of its issue bound (what a tuned library sustains). ``unstructured``
    and ``group``: the sparse kernels, ``None`` when absent."""

    vector_bits: int
    fma_ports: int
    fma_latency_cycles: int
    load_ports: int
    tile_pixels: int
    tile_channels: int
    dense_efficiency: float
    unstructured: SparseKernelSpec | None = None
    group: SparseKernelSpec | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ComputeSpec:
    """The PE array. ``multipliers_per_pe`` MACs per PE per cycle in dense mode.
    ``fold_overlap``: folds run back to back, skew and drain hidden under the next fold (as
    the RTL does); ``False``: each fold pays its fill, skew and drain (``simulator.tile``).
    What the array supports besides its ``dataflow`` (``simulator.mapper`` searches it):
    ``matrix_vector``: it can run as a matrix-vector engine (reduction ``k`` on the rows,
    output channels ``n`` on the columns, every PE taking a new weight each cycle from the
    weight buffer, tokens ``m`` streaming), so a GEMV does not pay ``rows`` cycles per weight
    block; ``depthwise`` (one of ``DEPTHWISE_MODES``): how a grouped conv's groups run:
    ``serial`` one group after another on the array, ``channels`` groups side by side across
    the array side holding output channels (each with its own input feed), ``vector`` on the
    vector unit (one MAC per lane per cycle). ``cores``: identical arrays, each with its own
    copy of ``buffers``, sharing the DRAM channel(s) and the optional global buffer
    (``simulator.multicore`` splits each layer's work across them).
    ``simd``: set for ``kind: simd`` (a CPU core, ``SimdSpec``); its array view is one row of
    ``fma_ports`` PEs with ``lanes`` multipliers each, so ``peak_macs_per_cycle`` is
    lanes x FMA ports."""

    rows: int
    cols: int
    multipliers_per_pe: int = 1
    dataflow: Dataflow = Dataflow.OS
    freq_mhz: float = 200.0
    fold_overlap: bool = True
    matrix_vector: bool = False
    depthwise: str = "serial"
    cores: int = 1
    simd: SimdSpec | None = None

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.pes * self.multipliers_per_pe


@dataclass(frozen=True, slots=True, kw_only=True)
class NMSupport:
    """One N:M ratio the datapath skips (``axis`` as in ``workloads.sparsity.NM``)."""

    n: int
    m: int
    axis: str = "k"


@dataclass(frozen=True, slots=True, kw_only=True)
class UnstructuredSupport:
    """Skipping of arbitrary weight zeros: each lane (output channel) walks its own nonzeros,
    paying ``decode_cycles_per_nonzero`` extra cycles per nonzero (index decode and operand
    gather) and storing ``metadata_bits_per_nonzero`` index bits with each. The busiest lane of
    a tile sets its time; above the break-even density ``1 / (1 + decode_cycles_per_nonzero)``
    the layer runs dense."""

    decode_cycles_per_nonzero: float
    metadata_bits_per_nonzero: int

    @property
    def break_even_density(self) -> float:
        return 1.0 / (1.0 + self.decode_cycles_per_nonzero)


@dataclass(frozen=True, slots=True, kw_only=True)
class SparsitySupport:
    """What the datapath can exploit. Empty ``nm`` and ``group_size == 0``: dense only.

    ``transposable``: with a transposable N:M mask the backward-data pass skips too.
    ``sparse_weight_gradient``: the weight-gradient pass is computed at kept positions only.
    ``pregen_elements_per_cycle``: weight pre-generation unit throughput (re-pruning and
    compressing updated dense weights in training); 0 means the array does it (costed there).
    """

    nm: tuple[NMSupport, ...] = ()
    transposable: bool = False
    group_size: int = 0
    activation: ActivationMode = ActivationMode.NONE
    sparse_weight_gradient: bool = False
    pregen_elements_per_cycle: int = 0
    unstructured: UnstructuredSupport | None = None

    def supports_nm(self, n: int, m: int, axis: str = "k") -> bool:
        return any(s.n == n and s.m == m and s.axis == axis for s in self.nm)

    @property
    def is_dense_only(self) -> bool:
        return (
            not self.nm
            and self.group_size == 0
            and self.activation != ActivationMode.SKIPPING
            and self.unstructured is None
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BufferSpec:
    """An on-chip SRAM buffer. Bandwidths in bytes per cycle: the read port and the write
    port each move up to that many bytes per cycle, concurrently (``simulator.tiling`` charges
    every tile's reads and writes to them). ``banks``: the SRAM macros the buffer is built from,
    side by side; a port's width is bank width x ``banks``, and accesses are modelled
    conflict-free (operands are laid out so every bank serves each cycle), so only the
    product, the port width, enters the timing; ``banks`` documents the organisation."""

    size_bytes: int
    read_bytes_per_cycle: int
    write_bytes_per_cycle: int
    banks: int = 1
    double_buffered: bool = True


class DramTechnology(StrEnum):
    """The DRAM a spec names; its energy per bit is ``accel.energy.DRAM_PJ_PER_BIT``."""

    DDR3 = "DDR3"
    DDR4 = "DDR4"
    LPDDR4 = "LPDDR4"
    LPDDR4X = "LPDDR4X"
    LPDDR5 = "LPDDR5"
    HBM2 = "HBM2"
    HBM2E = "HBM2e"
    HBM3 = "HBM3"


DRAM_TECHNOLOGIES = tuple(t.value for t in DramTechnology)


@dataclass(frozen=True, slots=True, kw_only=True)
class DramSpec:
    """Off-chip memory. ``technology`` prices its bytes (the spec's ``energy.dram_per_byte``);
    default DDR4 (assumed: the commodity DRAM of the 2014-2021 designs sparsim models)."""

    bandwidth_gb_per_s: float
    latency_cycles: int = 100
    technology: DramTechnology = DramTechnology.DDR4

    def bytes_per_cycle(self, freq_mhz: float) -> float:
        """GB/s at ``freq_mhz`` expressed in bytes per accelerator cycle."""
        return self.bandwidth_gb_per_s * 1e9 / (freq_mhz * 1e6)


@dataclass(frozen=True, slots=True, kw_only=True)
class PrecisionSpec:
    """The dtype of each GEMM operand role (``B`` is ``weight``, ``A`` ``input``, ``C``
    ``output``; partial sums ``accumulator``). A spec's values are its datapath's defaults;
    ``simulator.precision`` derives one per (layer, pass) from the layer's per-tensor dtypes.

    ``native_weights``: stored weight formats (besides ``weight``) the datapath consumes as they
    are, group scales included; any other weight format is dequantized on the vector unit.
    Set per problem only (never in YAML): ``weight_scale_bits`` quantization scale and
    zero-point bits carried per stored weight (``workloads.dtypes.Quantization``);
    ``mac_weight`` the format the multipliers see when the stored weight is converted to it
    first (``""``: ``weight`` itself)."""

    weight: str = "int8"
    input: str = "int8"
    output: str = "int8"
    accumulator: str = "int32"
    native_weights: tuple[str, ...] = ()
    weight_scale_bits: float = 0.0
    mac_weight: str = ""

    def bytes_of(self, operand: Operand) -> float:
        """Bytes per element of ``operand`` as stored (sub-byte values packed,
        ``accel.bitlayout``; weights with their per-value share of scales)."""
        nbytes = element_bytes(precision_bits(getattr(self, operand.value)))
        if operand == Operand.WEIGHT and self.weight_scale_bits:
            nbytes += self.weight_scale_bits / 8
        return nbytes

    @property
    def accumulator_bytes(self) -> float:
        """Bytes of one partial sum as the output buffer holds it."""
        return element_bytes(precision_bits(self.accumulator))

    def supports_weight(self, dtype: str) -> bool:
        """Whether the datapath consumes ``dtype`` weights without dequantizing them."""
        return dtype == self.weight or dtype in self.native_weights

    @property
    def mac_dtypes(self) -> tuple[str, str]:
        """(weight, input) formats the multipliers see: what a MAC's energy follows."""
        return self.mac_weight or self.weight, self.input


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyEntry:
    """Energy of one action in pJ, with where the number comes from."""

    pj: float
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyTable:
    """pJ per action. MACs per precision; memories per byte; metadata per index decoded.

    ``technology_nm`` is the node the numbers are for (see ``accel.energy`` for scaling).
    ``sram_*_per_byte`` hold the price at ``accel.energy.SRAM_REFERENCE_BYTES``; a buffer of
    another size pays it times ``accel.energy.sram_size_factor``. ``dram_per_byte`` is the
    price of the spec's ``dram.technology``. ``leakage_*_ns`` are static power in pJ per ns
    (= mW) per multiplier, per KiB of SRAM and per vector lane, paid for the whole run time.
    """

    technology_nm: int
    mac_int8: EnergyEntry
    mac_int16: EnergyEntry
    mac_fp16: EnergyEntry
    mac_fp32: EnergyEntry
    rf_access_per_byte: EnergyEntry
    sram_read_per_byte: EnergyEntry
    sram_write_per_byte: EnergyEntry
    dram_per_byte: EnergyEntry
    metadata_per_index: EnergyEntry
    mux_select: EnergyEntry
    vector_flop: EnergyEntry
    leakage_per_multiplier_ns: EnergyEntry
    leakage_per_sram_kib_ns: EnergyEntry
    leakage_per_vector_lane_ns: EnergyEntry

    def mac(self, precision: str) -> EnergyEntry:
        """The entry a MAC of ``precision`` operands scales from (``accel.energy.mac_pj``)."""
        bits = precision_bits(precision)
        if precision.startswith("int"):
            return self.mac_int8 if bits <= 8 else self.mac_int16
        return self.mac_fp32 if bits > 16 else self.mac_fp16


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaEntry:
    value: float
    unit: str  # "um2", "mm2" or "cells"
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorUnitSpec:
    lanes: int = 16  # FLOPs per cycle


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceleratorSpec:
    """A whole accelerator. ``buffers`` maps an ``Operand`` (or the single key ``"shared"``)
    to its buffer; use ``buffer_for`` rather than indexing. ``inter_layer_residency``: a
    producer's output may stay on chip for its consumer (``simulator.plan``).
    ``global_buffer``: an on-chip buffer all ``compute.cores`` share between their private
    ``buffers`` and DRAM (an L2), or ``None``."""

    name: str
    compute: ComputeSpec
    sparsity: SparsitySupport
    buffers: tuple[tuple[str, BufferSpec], ...]
    dram: DramSpec
    precision: PrecisionSpec
    energy: EnergyTable
    vector: VectorUnitSpec = field(default_factory=VectorUnitSpec)
    area: tuple[tuple[str, AreaEntry], ...] = ()
    description: str = ""
    source_path: str = ""
    inter_layer_residency: bool = True
    global_buffer: BufferSpec | None = None

    @property
    def shared_buffer(self) -> bool:
        return len(self.buffers) == 1 and self.buffers[0][0] == "shared"

    def buffer_for(self, operand: Operand) -> BufferSpec:
        """``operand``'s buffer; a ``simd`` core's last-level cache holds every operand."""
        if self.compute.simd is not None:
            return self.buffers[-1][1]
        table = dict(self.buffers)
        return table["shared"] if self.shared_buffer else table[Operand(operand).value]

    def buffer_share_bytes(self, operand: Operand) -> int:
        """Bytes of on-chip buffer ``operand`` may use (a shared buffer or a ``simd`` core's
        last-level cache is split in thirds)."""
        size = self.buffer_for(operand).size_bytes
        return size // 3 if self.shared_buffer or self.compute.simd is not None else size
