"""Every claim, in table order. A new source adds its module's ``CLAIMS`` here."""

from __future__ import annotations

from sparsim.simulator.validate import (
    dense_baselines,
    gqsa,
    mobile_cpu,
    sat,
    tensor_core,
    tpu_v1,
    vegeta,
)
from sparsim.simulator.validate.claim import Claim

__all__ = ["CLAIMS"]

CLAIMS: tuple[Claim, ...] = (
    *dense_baselines.CLAIMS,
    *tpu_v1.CLAIMS,
    *sat.CLAIMS,
    *vegeta.CLAIMS,
    *mobile_cpu.CLAIMS,
    *tensor_core.CLAIMS,
    *gqsa.CLAIMS,
)
