"""Run claims (with a progress bar on a terminal) and the ``sparsim validate`` command."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sparsim.simulator.validate import registry
from sparsim.simulator.validate.claim import Claim, Outcome, Status, evaluate
from sparsim.simulator.validate.table import render_markdown
from tqdm import tqdm

__all__ = ["run_claims", "validate_command"]


def run_claims(claims: Sequence[Claim] | None = None, *, progress: bool = False) -> list[Outcome]:
    """Evaluate ``claims`` (default: every registered claim) in order; ``progress`` shows a
    bar on stderr."""
    claims = registry.CLAIMS if claims is None else claims
    bar = tqdm(claims, desc="validate", unit="claim", disable=not progress, file=sys.stderr)
    return [evaluate(claim) for claim in bar]


def validate_command(out: str | None) -> int:
    """``sparsim validate [--out FILE]``: the table to ``out`` (or stdout); exit 1 when a row
    fails unexpectedly (a known miss is reported, not an error)."""
    outcomes = run_claims(progress=sys.stderr.isatty())
    text = render_markdown(outcomes)
    if out is None:
        sys.stdout.write(text)
    else:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {out}")
    for o in outcomes:
        if o.status is Status.KNOWN_FAIL:
            print(f"known miss: {o.claim.key}: {o.claim.expected_miss}", file=sys.stderr)
    failed = [o.claim.key for o in outcomes if o.is_failure]
    if failed:
        print(f"sparsim: validation failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
