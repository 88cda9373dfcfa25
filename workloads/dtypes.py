"""Number formats of tensors: the dtype names sparsim knows, their widths, and group quantization.

One table (``DTYPE_TABLE``) names every format a workload, a run option or an accelerator spec
may use. Widths: the integer formats are two's complement of ``bits`` bits; ``fp8_e4m3`` and
``fp8_e5m2`` are the two 8-bit floats of the OCP FP8 specification (Micikevicius et al., "FP8
Formats for Deep Learning", arXiv 2209.05433: 1 sign bit, 4 or 5 exponent bits, 3 or 2 mantissa
bits); ``fp16`` and ``fp32`` are IEEE 754 binary16/binary32 and ``bf16`` is bfloat16 (8 exponent,
7 mantissa bits). ``significand_bits`` counts the mantissa plus its hidden bit (for an integer,
its width): the energy model scales multiplier energy by it (``accel.energy.mac_pj``).

How sub-byte values are packed in memory is ``accel.bitlayout`` (the one place the functional
model and the traffic model both read).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DTYPES",
    "DTYPE_TABLE",
    "DType",
    "Quantization",
    "dtype_bits",
    "is_float",
    "significand_bits",
]


@dataclass(frozen=True, slots=True)
class DType:
    """A number format: ``bits`` stored per value; floats have a ``significand_bits``-bit
    significand (mantissa + hidden bit), integers use all ``bits``."""

    name: str
    bits: int
    is_float: bool
    significand_bits: int


DTYPE_TABLE: tuple[DType, ...] = (
    DType("int2", 2, False, 2),
    DType("int4", 4, False, 4),
    DType("int8", 8, False, 8),
    DType("int16", 16, False, 16),
    DType("int32", 32, False, 32),
    DType("fp8_e4m3", 8, True, 4),
    DType("fp8_e5m2", 8, True, 3),
    DType("fp16", 16, True, 11),
    DType("bf16", 16, True, 8),
    DType("fp32", 32, True, 24),
)
_BY_NAME = {d.name: d for d in DTYPE_TABLE}
DTYPES = tuple(_BY_NAME)
"""Every dtype name, narrowest integers first."""


def _get(name: str) -> DType:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; allowed: {', '.join(DTYPES)}") from None


def dtype_bits(name: str) -> int:
    """Bits one value of ``name`` occupies in memory (packed: ``accel.bitlayout``)."""
    return _get(name).bits


def is_float(name: str) -> bool:
    return _get(name).is_float


def significand_bits(name: str) -> int:
    return _get(name).significand_bits


QUANT_GROUP_SIZES = (16, 32, 64, 128, 256, 512, 1024)
"""Group sizes a ``Quantization`` may use: powers of two 16..1024 (GPTQ, AWQ and GQSA quantize
in groups of 64 or 128; the rest assumed useful for sweeps)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Quantization:
    """Weights quantized in groups of ``group_size`` consecutive *stored* values along the
    reduction axis (a pruned group carries no scales). Each group carries one scale of
    ``scale_dtype`` and, with ``zero_point``, one zero point as wide as the weight values
    (asymmetric quantization as GPTQ and AWQ store it). The value a group's weight stands for
    is ``(q - zero_point) * scale``."""

    group_size: int = 128
    scale_dtype: str = "fp16"
    zero_point: bool = False

    def __post_init__(self) -> None:
        if self.group_size not in QUANT_GROUP_SIZES:
            sizes = ", ".join(map(str, QUANT_GROUP_SIZES))
            raise ValueError(f"quantization group_size must be one of {sizes}, "
                             f"not {self.group_size!r}")  # fmt: skip
        if not is_float(self.scale_dtype) and self.scale_dtype != "int8":
            raise ValueError(f"scale_dtype must be a float format or int8, not {self.scale_dtype}")

    def overhead_bits(self, weight_bits: int) -> float:
        """Scale (and zero-point) bits carried per stored weight value."""
        zero = weight_bits if self.zero_point else 0
        return (dtype_bits(self.scale_dtype) + zero) / self.group_size
