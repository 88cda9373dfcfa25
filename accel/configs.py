"""The accelerator YAMLs shipped with sparsim, found by name.

The top-level ``configs/`` folder installs as the package ``sparsim.configs`` (see
pyproject.toml), so ``importlib.resources`` finds it in editable and regular installs alike.
Only top-level ``*.yaml`` files are accelerator configs; a config's name is its file stem.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from sparsim.workloads.yamlio import ConfigError, is_path_like, shorten

__all__ = ["config_dir", "config_path", "list_configs"]



def config_dir() -> Path:
    """Folder holding the shipped accelerator YAMLs."""
    return Path(str(files("sparsim.configs")))


def list_configs() -> list[str]:
    """Names (file stems) of the shipped accelerator configs, sorted."""
    return sorted(p.stem for p in config_dir().glob("*.yaml"))


def config_path(name_or_path: str | Path) -> Path:
    """A ``Path`` stays a path, as does a string with a separator or a ``.yaml``/``.yml``
    suffix; any other string is a shipped config's name."""
    if isinstance(name_or_path, Path) or is_path_like(name_or_path):
        return Path(name_or_path)
    available = list_configs()
    if name_or_path in available:
        return config_dir() / f"{name_or_path}.yaml"
    raise ConfigError(
        [
            f"{shorten(name_or_path)}: no such accelerator config; available configs are "
            f"{', '.join(available)} (or give the path of a .yaml file)"
        ]
    )
