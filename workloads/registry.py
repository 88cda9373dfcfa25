"""Find a workload by zoo name or YAML file path."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from sparsim.workloads import zoo
from sparsim.workloads.layer import Workload
from sparsim.workloads.yaml_workload import load_workload_yaml
from sparsim.workloads.yamlio import ConfigError, is_path_like, shorten

__all__ = ["ZOO", "get_workload", "list_models"]

ZOO: dict[str, Callable[..., Workload]] = {name: getattr(zoo, name) for name in zoo.__all__}


def list_models() -> list[str]:
    return sorted(ZOO)


def _check_params(name: str, params: dict[str, Any]) -> None:
    allowed = list(inspect.signature(ZOO[name]).parameters)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        got, ok = ", ".join(unknown), ", ".join(allowed)
        raise ConfigError([f"model {name}: unknown parameter {got}; allowed: {ok}"])


def get_workload(name: str, *, batch: int = 1, **params: Any) -> Workload:
    """Build zoo model ``name`` (e.g. ``get_workload("gpt2", seq_len=512)``), or load a workload
    YAML file when ``name`` is a path: it has a ``/`` or ends in ``.yaml``/``.yml``
    (``yamlio.is_path_like``; its batch and shapes come from the file)."""
    if is_path_like(name):
        if batch != 1 or params:
            raise ConfigError([f"{name}: batch and model parameters come from the file"])
        return load_workload_yaml(name)
    if name not in ZOO:
        raise ConfigError([f"unknown model {shorten(name)}; available models: "
                           f"{', '.join(list_models())} (a workload file's path needs a '/' or a "
                           ".yaml suffix)"])
    _check_params(name, params)
    try:
        return ZOO[name](batch=batch, **params)
    except ValueError as exc:
        raise ConfigError([f"model {name}: {exc}"]) from None
