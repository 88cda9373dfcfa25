"""Map an accelerator spec to the Verilog parameters of ``rtl/nm_pe_array.sv``.

The RTL PE has ``N`` multipliers and consumes one compressed group of ``M`` per cycle (sparse
mode) or ``N`` dense elements (dense mode, a run-time pin), so it models a spec whose
``compute.multipliers_per_pe`` equals the ``n`` of the N:M ratio it runs: then the simulator's
``k_steps(k, multipliers_per_pe, (n, m))`` is exactly the RTL's cycles per tile stream.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sparsim.accel.bitlayout import VALUE_BITS, index_bits
from sparsim.accel.spec import AcceleratorSpec, precision_bits

__all__ = ["RtlParams", "rtl_params"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RtlParams:
    """Verilog parameters of ``nm_pe_array`` (names as in the RTL); widths in bits."""

    ROWS: int
    COLS: int
    N: int
    M: int
    DATA_W: int = VALUE_BITS
    ACC_W: int = 32
    IDX_W: int

    def as_verilog_parameters(self) -> dict[str, int]:
        """``{name: value}`` in declaration order, for the cocotb runner."""
        return asdict(self)


def _sparse_ratio(spec: AcceleratorSpec, nm: tuple[int, int] | None) -> tuple[int, int]:
    """The (n, m) the PE is built for: ``nm`` itself, or for dense mode the first ratio the
    spec supports along K with ``n == multipliers_per_pe`` (the same hardware, pin in dense)."""
    per_pe = spec.compute.multipliers_per_pe
    along_k = [(s.n, s.m) for s in spec.sparsity.nm if s.axis == "k"]
    if nm is not None:
        if tuple(nm) not in along_k:
            raise ValueError(f"{spec.name}: N:M {nm[0]}:{nm[1]} along k is not supported; "
                             f"supported: {along_k}")
        if nm[0] != per_pe:
            raise ValueError(f"{spec.name}: the RTL PE runs one group per cycle, so n must equal "
                             f"compute.multipliers_per_pe={per_pe}, not {nm[0]}")
        return nm[0], nm[1]
    fitting = [r for r in along_k if r[0] == per_pe]
    if not fitting:
        raise ValueError(f"{spec.name}: the RTL models an N:M PE; it needs a supported N:M along "
                         f"k with n == multipliers_per_pe={per_pe}, and there is none")
    return fitting[0]


def rtl_params(spec: AcceleratorSpec, nm: tuple[int, int] | None) -> RtlParams:
    """Parameters of the array that runs ``spec`` in N:M mode ``nm`` (``None``: dense mode)."""
    n, m = _sparse_ratio(spec, nm)
    data_w = precision_bits(spec.precision.weight)
    if data_w != VALUE_BITS or precision_bits(spec.precision.input) != VALUE_BITS:
        raise ValueError(f"{spec.name}: the RTL datapath is int8 x int8, not "
                         f"{spec.precision.weight} x {spec.precision.input}")
    return RtlParams(
        ROWS=spec.compute.rows,
        COLS=spec.compute.cols,
        N=n,
        M=m,
        DATA_W=data_w,
        ACC_W=precision_bits(spec.precision.accumulator),
        IDX_W=index_bits(m),
    )
