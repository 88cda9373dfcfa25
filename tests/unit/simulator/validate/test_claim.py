"""Judging a simulated value against a published target (hand-picked numbers)."""

from __future__ import annotations

import pytest
from sparsim.simulator.validate.claim import (
    AtLeast,
    AtMost,
    Between,
    Claim,
    Config,
    Status,
    Within,
    evaluate,
    format_number,
)


def _claim(value: float, target, **marks: str) -> Claim:
    return Claim(key="k", claim="c", source="s", config=Config(accel="a", workload="w"),
                 simulate=lambda: value, target=target, **marks)  # fmt: skip


@pytest.mark.parametrize(
    ("target", "value", "within", "error"),
    [
        (Within(value=1.75, rel=0.10), 1.925, True, 0.10),  # exactly +10%
        (Within(value=1.75, rel=0.10), 1.93, False, 0.18 / 1.75),
        (Within(value=1.75, rel=0.10), 1.575, True, -0.10),
        (Within(value=8494, rel=0.0), 8495, False, 1 / 8494),
        (Between(low=1.3, high=1.7), 1.5, True, 0.0),
        (Between(low=1.3, high=1.7), 1.0, False, -0.3 / 1.3),
        (Between(low=1.3, high=1.7), 2.04, False, 0.34 / 1.7),
        (AtMost(value=2.0), 1.9, True, -0.05),
        (AtMost(value=2.0), 2.1, False, 0.05),
        (AtLeast(value=0.8), 0.6, False, -0.25),
        (AtLeast(value=0.8), 1.0, True, 0.25),
    ],
)
def test_target_judges_value(target, value: float, within: bool, error: float) -> None:
    o = evaluate(_claim(value, target))
    assert o.within is within
    assert o.error == pytest.approx(error)
    assert o.status is (Status.PASS if within else Status.FAIL)
    assert o.is_failure is (not within)


def test_calibration_is_shown_not_counted_but_still_checked() -> None:
    fitted = evaluate(_claim(1.75, Within(value=1.75, rel=0.1), calibration="x fitted to 1.75"))
    assert fitted.status is Status.CALIBRATION and not fitted.is_failure
    drifted = evaluate(_claim(3.0, Within(value=1.75, rel=0.1), calibration="x fitted to 1.75"))
    assert drifted.status is Status.FAIL and drifted.is_failure


def test_expected_miss_is_reported_and_a_stale_mark_fails() -> None:
    miss = evaluate(_claim(0.5, AtLeast(value=0.8), expected_miss="lacks y"))
    assert miss.status is Status.KNOWN_FAIL and not miss.is_failure
    stale = evaluate(_claim(0.9, AtLeast(value=0.8), expected_miss="lacks y"))
    assert stale.status is Status.STALE_MISS and stale.is_failure


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.7512, "1.75"), (0.5782, "0.578"), (8494, "8,494"), (1, "1"), (0, "0"),
     (123_456_789, "1.23e+08")],
)  # fmt: skip
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text
