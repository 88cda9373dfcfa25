"""A published claim and how sparsim's value is judged against it.

Each ``Claim`` quotes a published statement, names its source (paper, table or figure), the
sparsim configuration that reproduces it, a function computing sparsim's value, and a
``Target``: the published value or range with the tolerance, written in the claim before the
simulated value was looked at. A ``calibration`` row (a knob fitted to a published number) is
shown but never counts as validation; an ``expected_miss`` row is a known failure with what
the model lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "AtLeast",
    "AtMost",
    "Between",
    "Claim",
    "Config",
    "Outcome",
    "Status",
    "Target",
    "Within",
    "evaluate",
    "format_number",
]


def format_number(value: float) -> str:
    """Three significant digits, no exponent for the magnitudes a table shows."""
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.3g}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Within:
    """The published point ``value``; passes within ``rel`` (0.10 = ±10%)."""

    value: float
    rel: float

    def passes(self, x: float) -> bool:
        return abs(x - self.value) <= self.rel * abs(self.value) * (1 + 1e-12)

    def error(self, x: float) -> float:
        return (x - self.value) / self.value

    def published(self) -> str:
        return format_number(self.value)

    def tolerance(self) -> str:
        return "exact" if self.rel == 0 else f"±{self.rel:.0%}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Between:
    """A published range ``[low, high]``; the error is the distance outside it, relative to
    the nearer bound (0 inside)."""

    low: float
    high: float

    def passes(self, x: float) -> bool:
        return self.low <= x <= self.high

    def error(self, x: float) -> float:
        if x < self.low:
            return (x - self.low) / self.low
        return (x - self.high) / self.high if x > self.high else 0.0

    def published(self) -> str:
        return f"{format_number(self.low)}–{format_number(self.high)}"

    def tolerance(self) -> str:
        return "inside the range"


@dataclass(frozen=True, slots=True, kw_only=True)
class AtMost:
    """An upper bound; the error is relative to it (negative: margin below)."""

    value: float

    def passes(self, x: float) -> bool:
        return x <= self.value * (1 + 1e-12)

    def error(self, x: float) -> float:
        return (x - self.value) / self.value

    def published(self) -> str:
        return f"≤ {format_number(self.value)}"

    def tolerance(self) -> str:
        return "bound"


@dataclass(frozen=True, slots=True, kw_only=True)
class AtLeast:
    """A lower bound; the error is relative to it (positive: margin above)."""

    value: float

    def passes(self, x: float) -> bool:
        return x >= self.value * (1 - 1e-12)

    def error(self, x: float) -> float:
        return (x - self.value) / self.value

    def published(self) -> str:
        return f"≥ {format_number(self.value)}"

    def tolerance(self) -> str:
        return "bound"


Target = Within | Between | AtMost | AtLeast


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The sparsim configuration a claim runs: what ``sparsim run`` would be given."""

    accel: str
    workload: str
    sparsity: str = "dense"
    phase: str = "inference"
    options: str = ""

    def describe(self) -> str:
        parts = [f"{self.accel}, {self.workload}, {self.sparsity}, {self.phase}"]
        return "; ".join([*parts, self.options] if self.options else parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """One row of the validation table. ``key`` is a stable short name (the pytest id).
    ``simulate`` returns sparsim's value in ``unit``. ``calibration``: the knob fitted and the
    published number it was fitted to (the row is then not validation). ``expected_miss``: why
    the row is known to fail (what the model lacks); the row still shows as a failure."""

    key: str
    claim: str
    source: str
    config: Config
    simulate: Callable[[], float]
    target: Target
    unit: str = "×"
    calibration: str = ""
    expected_miss: str = ""


class Status(StrEnum):
    PASS = "pass"
    FAIL = "FAIL"
    KNOWN_FAIL = "FAIL (known)"
    STALE_MISS = "pass (marked expected_miss: remove the mark)"
    CALIBRATION = "calibration"


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """A claim with its simulated value and verdict."""

    claim: Claim
    value: float

    @property
    def within(self) -> bool:
        return self.claim.target.passes(self.value)

    @property
    def error(self) -> float:
        return self.claim.target.error(self.value)

    @property
    def status(self) -> Status:
        if self.claim.calibration:  # fitted: shown, never counted; still checked
            return Status.CALIBRATION if self.within else Status.FAIL
        if self.claim.expected_miss:
            return Status.STALE_MISS if self.within else Status.KNOWN_FAIL
        return Status.PASS if self.within else Status.FAIL

    @property
    def is_failure(self) -> bool:
        """A failure CI must stop on: an unexpected miss, or a known miss that now passes
        (its ``expected_miss`` mark is stale)."""
        return self.status in (Status.FAIL, Status.STALE_MISS)


def evaluate(claim: Claim) -> Outcome:
    return Outcome(claim=claim, value=float(claim.simulate()))
