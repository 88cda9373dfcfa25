"""Validation against published results: claims (``claim``), the registry of every claim
(``registry.CLAIMS``), and the Markdown table (``table``) that ``sparsim validate`` writes to
``docs/validation.md``. One module per source (``dense_baselines``, ``tpu_v1``, ...)."""

from sparsim.simulator.validate.claim import (
    AtLeast,
    AtMost,
    Between,
    Claim,
    Config,
    Outcome,
    Status,
    Within,
    evaluate,
)
from sparsim.simulator.validate.run import run_claims
from sparsim.simulator.validate.table import render_markdown

__all__ = [
    "AtLeast",
    "AtMost",
    "Between",
    "Claim",
    "Config",
    "Outcome",
    "Status",
    "Within",
    "evaluate",
    "render_markdown",
    "run_claims",
]
