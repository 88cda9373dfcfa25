"""sparsim: performance/energy simulator, bit-exact functional model and verified RTL for sparse
DNN accelerators.

The repository's top-level folders ``accel/``, ``simulator/``, ``workloads/``, ``configs/`` and
``rtl/`` install as ``sparsim.accel``, ``sparsim.simulator``, ... (see ``pyproject.toml``).

The public API below is loaded on first use, so ``import sparsim`` stays cheap (no numpy,
numba or simpy until a name is used)::

    import sparsim
    spec = sparsim.load_spec("sat")
    run = sparsim.simulate(sparsim.get_workload("resnet50").with_weight_sparsity(
        sparsim.NM(n=2, m=8, transposable=True)), spec)
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("sparsim")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    from sparsim.accel.configs import list_configs
    from sparsim.accel.loader import load_spec
    from sparsim.accel.spec import AcceleratorSpec
    from sparsim.simulator.results import RunResult
    from sparsim.simulator.run import simulate
    from sparsim.workloads.layer import Workload
    from sparsim.workloads.registry import get_workload, list_models
    from sparsim.workloads.sparsity import NM, parse_sparsity
    from sparsim.workloads.yaml_workload import load_workload_yaml
    from sparsim.workloads.yamlio import ConfigError

_HOMES = {
    "AcceleratorSpec": "sparsim.accel.spec",
    "ConfigError": "sparsim.workloads.yamlio",
    "NM": "sparsim.workloads.sparsity",
    "RunResult": "sparsim.simulator.results",
    "Workload": "sparsim.workloads.layer",
    "get_workload": "sparsim.workloads.registry",
    "list_configs": "sparsim.accel.configs",
    "list_models": "sparsim.workloads.registry",
    "load_spec": "sparsim.accel.loader",
    "load_workload_yaml": "sparsim.workloads.yaml_workload",
    "parse_sparsity": "sparsim.workloads.sparsity",
    "simulate": "sparsim.simulator.run",
}

__all__ = [
    "NM",
    "AcceleratorSpec",
    "ConfigError",
    "RunResult",
    "Workload",
    "__version__",
    "get_workload",
    "list_configs",
    "list_models",
    "load_spec",
    "load_workload_yaml",
    "parse_sparsity",
    "simulate",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module 'sparsim' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
