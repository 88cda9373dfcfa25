"""Hypothesis profiles and numeric warnings for the functional-model tests.

``CI`` runs this folder twice: jitted, and with ``NUMBA_DISABLE_JIT=1`` where the kernels are
plain Python over numpy scalars (slow, so fewer examples). Choose a profile explicitly with
``HYPOTHESIS_PROFILE=thorough`` for a longer local search.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

NO_JIT = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("jit", max_examples=60, **_COMMON)
settings.register_profile("nojit", max_examples=25, **_COMMON)
settings.register_profile("thorough", max_examples=1000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "nojit" if NO_JIT else "jit"))


@pytest.fixture(autouse=True)
def _wrapping_scalars_are_intended():
    """Without the JIT, kernels add numpy int32 scalars, whose wrap-around (the specified
    semantics) numpy reports as an overflow warning; the jitted kernels wrap silently."""
    if not NO_JIT:
        yield
        return
    with np.errstate(over="ignore"):
        yield
