"""What the hardware is: accelerator specs (YAML loader and validator), energy tables,
compressed sparse formats and the RTL parameter mapping.

The numba functional model is imported explicitly (``accel.functional`` and its plain-numpy
twin ``accel.reference``) so that reading a spec never pays numba's import time; the bit layout
(``accel.bitlayout``) and numeric semantics (``accel.numeric``) are modules of their own because
the RTL testbenches import them by name.
"""

from sparsim.accel.configs import config_dir, config_path, list_configs
from sparsim.accel.energy import DEFAULT_ENERGY, scale_energy, sram_pj_per_byte
from sparsim.accel.formats import (
    BlockTensor,
    CSRTensor,
    FormatError,
    GroupTensor,
    NMTensor,
    TransposableNM,
    compress_block,
    compress_csr,
    compress_group,
    compress_nm,
    compress_transposable_nm,
)
from sparsim.accel.loader import load_spec, spec_from_mapping
from sparsim.accel.rtl_params import RtlParams, rtl_params
from sparsim.accel.spec import (
    AcceleratorSpec,
    AreaEntry,
    BufferSpec,
    ComputeSpec,
    Dataflow,
    DramSpec,
    EnergyEntry,
    EnergyTable,
    NMSupport,
    Operand,
    PrecisionSpec,
    SparsitySupport,
    VectorUnitSpec,
)

__all__ = [
    "DEFAULT_ENERGY",
    "AcceleratorSpec",
    "AreaEntry",
    "BlockTensor",
    "BufferSpec",
    "CSRTensor",
    "ComputeSpec",
    "Dataflow",
    "DramSpec",
    "EnergyEntry",
    "EnergyTable",
    "FormatError",
    "GroupTensor",
    "NMSupport",
    "NMTensor",
    "Operand",
    "PrecisionSpec",
    "RtlParams",
    "SparsitySupport",
    "TransposableNM",
    "VectorUnitSpec",
    "compress_block",
    "compress_csr",
    "compress_group",
    "compress_nm",
    "compress_transposable_nm",
    "config_dir",
    "config_path",
    "list_configs",
    "load_spec",
    "rtl_params",
    "scale_energy",
    "spec_from_mapping",
    "sram_pj_per_byte",
]
