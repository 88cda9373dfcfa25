"""sparsim: performance/energy simulator, bit-exact functional model and verified RTL for sparse
DNN accelerators.

The repository's top-level folders ``accel/``, ``simulator/``, ``workloads/``, ``configs/`` and
``rtl/`` install as ``sparsim.accel``, ``sparsim.simulator``, ... (see ``pyproject.toml``).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sparsim")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
