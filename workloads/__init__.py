"""What runs: the operator IR, sparsity patterns, the model zoo and workload files."""

from sparsim.workloads.layer import DTYPES, Layer, Phase, Workload
from sparsim.workloads.ops import (
    Conv2d,
    Gemm,
    GemmDims,
    Linear,
    MatMul,
    MatrixOp,
    Op,
    Vector,
    VectorKind,
)
from sparsim.workloads.pruning import mask_for, prune
from sparsim.workloads.registry import ZOO, get_workload, list_models
from sparsim.workloads.sparsity import (
    AXES,
    NM,
    Block,
    Dense,
    Group,
    SparsityError,
    SparsityPattern,
    Unstructured,
    parse_sparsity,
)
from sparsim.workloads.yaml_workload import load_workload_yaml
from sparsim.workloads.yamlio import ConfigError, Problems, load_yaml, yaml_path

__all__ = [
    "AXES",
    "DTYPES",
    "NM",
    "ZOO",
    "Block",
    "ConfigError",
    "Conv2d",
    "Dense",
    "Gemm",
    "GemmDims",
    "Group",
    "Layer",
    "Linear",
    "MatMul",
    "MatrixOp",
    "Op",
    "Phase",
    "Problems",
    "SparsityError",
    "SparsityPattern",
    "Unstructured",
    "Vector",
    "VectorKind",
    "Workload",
    "get_workload",
    "list_models",
    "load_workload_yaml",
    "load_yaml",
    "mask_for",
    "parse_sparsity",
    "prune",
    "yaml_path",
]
