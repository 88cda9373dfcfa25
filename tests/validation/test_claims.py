"""Every published claim (``simulator/validate``) as a test, and ``docs/validation.md`` kept
equal to what ``sparsim validate`` writes now.

A row fails the suite when it leaves its tolerance; a row marked ``expected_miss`` must still
miss (when it starts passing, its mark is stale and must go). All claims are evaluated once
per worker (the ``xdist_group`` keeps them on one).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from sparsim.simulator.validate import Outcome, Status, evaluate, render_markdown
from sparsim.simulator.validate.registry import CLAIMS

pytestmark = pytest.mark.xdist_group("validation")

DOC = Path(__file__).resolve().parents[2] / "docs" / "validation.md"


@cache
def _outcome(key: str) -> Outcome:
    return evaluate(next(c for c in CLAIMS if c.key == key))


def test_claim_keys_unique() -> None:
    keys = [c.key for c in CLAIMS]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("key", [c.key for c in CLAIMS])
def test_claim_within_tolerance(key: str) -> None:
    o = _outcome(key)
    detail = (f"{key}: simulated {o.value:.4g} vs published {o.claim.target.published()} "
              f"(tolerance {o.claim.target.tolerance()}), error {o.error:+.1%}")  # fmt: skip
    if o.claim.expected_miss:
        assert o.status is Status.KNOWN_FAIL, f"known miss now passes, drop its mark: {detail}"
    else:
        assert o.within, detail


def test_docs_validation_md_is_current() -> None:
    """``docs/validation.md`` equals ``sparsim validate``'s output: refresh it with
    ``sparsim validate --out docs/validation.md``."""
    expected = render_markdown([_outcome(c.key) for c in CLAIMS])
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/validation.md is out of date: run sparsim validate --out docs/validation.md"
    )
