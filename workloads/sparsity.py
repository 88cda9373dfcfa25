"""Sparsity patterns: what a tensor looks like, not what hardware can exploit.

A pattern describes a 2-D weight seen in GEMM terms as a ``K x N`` matrix (``K`` is the
reduction axis, i.e. input channels x kernel taps; ``N`` the output channels). ``axis`` names
the axis along which groups of ``m`` are taken: ``"k"`` (the usual choice, reduction axis) or
``"n"``. ``density`` is always the fraction of *nonzero* elements.

A pattern may carry a real boolean mask (``True`` = kept); simulators then use the real per-tile
work, otherwise they assume balanced work at the given density.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from sparsim.workloads.yamlio import shorten

__all__ = [
    "AXES",
    "NM",
    "Block",
    "Dense",
    "Group",
    "SparsityError",
    "SparsityPattern",
    "Unstructured",
    "parse_sparsity",
]

AXES = ("k", "n")


class SparsityError(ValueError):
    """An impossible sparsity pattern (bad N:M, density out of range, mask mismatch...)."""


def _check_density(density: float, what: str) -> None:
    if not 0.0 < density <= 1.0:
        raise SparsityError(f"{what}: density must be in (0, 1], not {density!r}")


def _check_mask(mask: np.ndarray | None, what: str) -> None:
    if mask is not None and (mask.ndim != 2 or mask.dtype != np.bool_):
        raise SparsityError(f"{what}: mask must be a 2-D bool array, not {mask.dtype} {mask.shape}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Dense:
    """No zeros to exploit."""

    @property
    def density(self) -> float:
        return 1.0

    @property
    def mask(self) -> None:
        return None

    def __str__(self) -> str:
        return "dense"


@dataclass(frozen=True, slots=True, kw_only=True)
class NM:
    """At most ``n`` nonzeros in every group of ``m`` consecutive elements along ``axis``.

    ``transposable`` marks a mask that is N:M along both axes (bidirectional, as SAT's BDWP
    needs), so the transposed weight used by the backward-data pass is N:M too.
    """

    n: int
    m: int
    axis: str = "k"
    transposable: bool = False
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.m, int) and 2 <= self.m <= 16):
            raise SparsityError(f"N:M: m must be an int in [2, 16], not {self.m!r}")
        if not (isinstance(self.n, int) and 1 <= self.n < self.m):
            raise SparsityError(f"N:M: n must be an int with 1 <= n < m={self.m}, not {self.n!r}")
        if self.axis not in AXES:
            raise SparsityError(f"N:M: axis must be one of {', '.join(AXES)}, not {self.axis!r}")
        _check_mask(self.mask, "N:M")

    @property
    def density(self) -> float:
        return self.n / self.m

    def __str__(self) -> str:
        return f"{self.n}:{self.m}" + ("T" if self.transposable else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """``size`` consecutive output channels share one zero pattern over the input channels."""

    size: int
    density: float
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.size, int) and self.size >= 1):
            raise SparsityError(f"group: size must be an int >= 1, not {self.size!r}")
        _check_density(self.density, "group")
        _check_mask(self.mask, "group")

    def __str__(self) -> str:
        return f"group{self.size}:{(1 - self.density) * 100:g}%"


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """Whole ``rows x cols`` blocks are zero or kept (BCSR)."""

    rows: int
    cols: int
    density: float
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("rows", "cols"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise SparsityError(f"block: {name} must be an int >= 1, not {value!r}")
        _check_density(self.density, "block")
        _check_mask(self.mask, "block")

    def __str__(self) -> str:
        return f"block{self.rows}x{self.cols}:{(1 - self.density) * 100:g}%"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unstructured:
    """Zeros anywhere (CSR), at a given density."""

    density: float
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_density(self.density, "unstructured")
        _check_mask(self.mask, "unstructured")

    def __str__(self) -> str:
        return f"unstructured:{(1 - self.density) * 100:g}%"


SparsityPattern = Dense | NM | Group | Block | Unstructured

_NM_RE = re.compile(r"^(\d+):(\d+)(t?)$")
_PCT_RE = re.compile(r"^(group(\d+)|block(\d+)x(\d+)|unstructured):(\d+(?:\.\d+)?)%$")


def _density_from_zero_pct(text: str, pct: str) -> float:
    zeros = float(pct) / 100.0
    if not 0.0 <= zeros < 1.0:
        raise SparsityError(f"{shorten(text)}: the percentage of zeros must be in [0, 100)")
    return 1.0 - zeros


def parse_sparsity(text: str) -> SparsityPattern:
    """Parse the CLI form: ``dense``, ``2:8`` (``2:8t`` transposable), ``group4:50%``,
    ``block4x4:50%``, ``unstructured:70%``. A percentage is the fraction of *zeros*."""
    s = text.strip().lower()
    if s == "dense":
        return Dense()
    if m := _NM_RE.match(s):
        return NM(n=int(m[1]), m=int(m[2]), transposable=bool(m[3]))
    if m := _PCT_RE.match(s):
        density = _density_from_zero_pct(text, m[5])
        if m[2]:
            return Group(size=int(m[2]), density=density)
        if m[3]:
            return Block(rows=int(m[3]), cols=int(m[4]), density=density)
        return Unstructured(density=density)
    raise SparsityError(
        f"{shorten(text)} is not a sparsity; use dense, N:M (e.g. 2:8, 2:8t for transposable), "
        "groupG:P%, blockRxC:P% or unstructured:P% (P = percent zeros)"
    )
