"""The one place numba compile options are chosen for every functional kernel.

``cache=True`` keeps compiled kernels across processes; ``fastmath=False`` because the functional
model must be bit-exact (integer code does not need it, and float paths must keep their order).
``parallel_kernel`` is the same with ``parallel=True`` for kernels whose outer loop is a
``numba.prange`` over independent output rows (rows never share an accumulator, so results do
not depend on the thread count).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba

__all__ = ["PARALLEL_MIN_MACS", "kernel", "parallel_kernel", "prange", "threads_for"]

kernel = numba.njit(cache=True, fastmath=False)
parallel_kernel = numba.njit(cache=True, fastmath=False, parallel=True)
prange = numba.prange

PARALLEL_MIN_MACS = 1 << 20
"""Below this many MACs a parallel kernel runs on one thread: waking the thread pool costs more
than the work (measured on 2 busy cores: ~12 us per small call on one thread, 0.1-3 ms on two)."""


@contextmanager
def threads_for(macs: int) -> Iterator[None]:
    """Run the enclosed parallel kernel call on one thread when ``macs`` is small."""
    if macs >= PARALLEL_MIN_MACS:
        yield
        return
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(threads)
