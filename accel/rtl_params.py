"""Map an accelerator spec to the Verilog parameters of ``rtl/nm_pe_array.sv``.

The RTL PE has ``P = compute.multipliers_per_pe`` multipliers and runs, per tile, dense mode or
any N:M ratio the spec supports along K (a run-time mode input). In N:M mode it consumes
``P // n`` whole groups of ``m`` per cycle, so one step covers ``simulator.tile.k_per_step(P,
(n, m))`` reduction elements and a tile takes ``k_steps(k, P, (n, m))`` steps, exactly the
simulator's count; dense mode takes ``P`` elements per step.

Mode numbers (the RTL's ``in_mode``): 0 is dense, ``i + 1`` the ``i``-th supported ratio in the
spec's order. The ratios travel as two packed parameters, 8 bits per mode (``MODE_N``,
``MODE_M``); ``LANES`` (activations per column per step) and ``IDX_W`` (widest index, from
``accel.bitlayout.index_bits``) are derived here and re-checked by the RTL.

Group skipping (``sparsity.group_size`` G on an ``os`` array, e.g. ``configs/mobile_npu.yaml``):
``GROUP = G`` rows share one activation port per column and stream only the K positions their
group keeps, in dense mode (the RTL's comment in ``nm_pe_array.sv``); without it ``GROUP =
ROWS`` (one port per column).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from sparsim.accel.bitlayout import VALUE_BITS, index_bits
from sparsim.accel.spec import AcceleratorSpec, precision_bits

__all__ = ["MAX_MODES", "RtlParams", "rtl_params", "rtl_params_for"]

MAX_MODES = 4
"""Sparse modes one build holds: 8 bits per mode in a 32-bit Verilog ``int`` parameter."""
_FIELD_BITS = 8
_MAX_M = 16  # the RTL's limit on m (4-bit indices), checked in nm_pe.sv


@dataclass(frozen=True, slots=True, kw_only=True)
class RtlParams:
    """Verilog parameters of ``nm_pe_array`` (names as in the RTL); widths in bits."""

    ROWS: int
    COLS: int
    P: int
    NUM_MODES: int
    MODE_N: int
    MODE_M: int
    LANES: int
    IDX_W: int
    MODE_W: int
    DATA_W: int = VALUE_BITS
    ACC_W: int = 32
    GROUP: int

    def as_verilog_parameters(self) -> dict[str, int]:
        """``{name: value}`` in declaration order, for the cocotb runner."""
        return asdict(self)

    @property
    def modes(self) -> tuple[tuple[int, int], ...]:
        """The sparse ``(n, m)`` ratios, mode ``i + 1`` at index ``i``."""
        mask = (1 << _FIELD_BITS) - 1
        return tuple(((self.MODE_N >> (_FIELD_BITS * i)) & mask,
                      (self.MODE_M >> (_FIELD_BITS * i)) & mask) for i in range(self.NUM_MODES))

    def mode_index(self, nm: tuple[int, int] | None) -> int:
        """``in_mode`` for ``nm`` (``None``: dense, 0)."""
        if nm is None:
            return 0
        if tuple(nm) not in self.modes:
            raise ValueError(f"N:M {nm[0]}:{nm[1]} is not built in; modes: {self.modes}")
        return self.modes.index((nm[0], nm[1])) + 1


def _pack(fields: list[int]) -> int:
    return sum(v << (_FIELD_BITS * i) for i, v in enumerate(fields))


def _check_modes(name: str, p: int, modes: list[tuple[int, int]]) -> None:
    if len(modes) > MAX_MODES:
        raise ValueError(f"{name}: the RTL holds at most {MAX_MODES} N:M modes, not {len(modes)}")
    for n, m in modes:
        if m > _MAX_M or m & (m - 1):
            raise ValueError(f"{name}: {n}:{m}: the RTL needs m a power of two <= {_MAX_M}")
        if n > p:
            raise ValueError(f"{name}: {n}:{m} needs at least {n} multipliers per PE, "
                             f"compute.multipliers_per_pe is {p}")


def rtl_params_for(name: str, rows: int, cols: int, p: int, modes: list[tuple[int, int]],
                   group: int = 0) -> RtlParams:
    """Parameters of a ``rows x cols`` array of ``p``-multiplier PEs with sparse ``modes``;
    ``group`` > 0: group skipping, ``group`` adjacent rows per activation port."""
    _check_modes(name, p, modes)
    if not modes and not group:
        raise ValueError(f"{name}: the RTL models an N:M or group-skipping PE; the spec has "
                         "neither a supported N:M along k nor a group_size")
    if group and rows % group:
        raise ValueError(f"{name}: group skipping needs group_size={group} to divide "
                         f"compute.rows={rows}")
    lanes = max([p, *((p // n) * m for n, m in modes)])
    return RtlParams(
        ROWS=rows,
        COLS=cols,
        P=p,
        NUM_MODES=len(modes),
        MODE_N=_pack([n for n, _ in modes]),
        MODE_M=_pack([m for _, m in modes]),
        LANES=lanes,
        IDX_W=max([1, *(index_bits(m) for _, m in modes)]),
        MODE_W=max(1, len(modes).bit_length()),  # clog2(NUM_MODES + 1), at least 1
        GROUP=group or rows,
    )


def rtl_params(spec: AcceleratorSpec) -> RtlParams:
    """Parameters of the array that runs ``spec`` in dense mode and every N:M ratio it supports
    along K (mode numbers in the module docstring)."""
    data_w = precision_bits(spec.precision.weight)
    if data_w != VALUE_BITS or precision_bits(spec.precision.input) != VALUE_BITS:
        raise ValueError(f"{spec.name}: the RTL datapath is int8 x int8, not "
                         f"{spec.precision.weight} x {spec.precision.input}")
    modes = [(s.n, s.m) for s in spec.sparsity.nm if s.axis == "k"]
    group = spec.sparsity.group_size if spec.compute.dataflow.value == "os" else 0
    base = rtl_params_for(spec.name, spec.compute.rows, spec.compute.cols,
                          spec.compute.multipliers_per_pe, modes, group)
    acc_w = precision_bits(spec.precision.accumulator)
    return replace(base, ACC_W=acc_w)

