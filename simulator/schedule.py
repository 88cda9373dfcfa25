"""Per-tile work of one problem in execution order: the hand-off from mapping to both engines.

The analytical engine reduces these arrays in closed form; the event engine replays them as
simpy processes (DMA in, compute, DMA out over one shared DRAM channel; buffer ports as
shared resources). Keeping one schedule
type is what makes the two engines comparable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["HOLDERS", "PortStream", "TileSchedule"]

HOLDERS = ("array", "load", "store")
"""Who holds a port stream in the event engine: the array while the tile computes, the DMA
fill that loads the tile from DRAM, or the drain that stores its results (``PortStream``)."""


class PortStream(NamedTuple):
    """One stream's cycles on a buffer port, per tile: ``holder`` (``HOLDERS``) keeps the port
    for them, ``"array"`` during the tile's compute, ``"load"`` during its DMA fill (with the
    DRAM channel), ``"store"`` during its drain."""

    port: str
    stream: str
    cycles: np.ndarray
    holder: str = "array"


@dataclass(frozen=True, slots=True, kw_only=True)
class TileSchedule:
    """Arrays of equal length, one entry per tile (int64).

    ``compute_cycles[t]``: cycles the array spends on tile ``t`` (from ``simulator.tile``).
    ``load_bytes[t]``: DRAM bytes that must arrive before tile ``t`` starts (weights, inputs,
    metadata not already on chip). ``store_bytes[t]``: DRAM bytes written after it ends.
    ``double_buffered``: loads of tile ``t+1`` may overlap compute of tile ``t``.
    ``port_cycles``: per buffer port (``"input buffer read port"``...), the cycles each tile
    keeps it busy (its bytes over the port's bytes per cycle, rounded up); a tile occupies the
    array for ``busy_cycles`` = the largest of its compute and port cycles (``simulator.perf``).
    ``stream_cycles``: optional split of a port's cycles among the streams sharing it
    (``PortStream``: e.g. the input feed and the output writes of one shared buffer, or the
    DMA fill of the weights and the array's weight feed), adding up to that port's
    ``port_cycles`` tile by tile; the event engine runs each stream as its own process on the
    port (a ``simpy.Resource``) for its holder, so streams on one port serialize there.
    A port without streams is one stream named ``"all"``, held by the array. The analytical
    engine reads only ``port_cycles``.
    """

    compute_cycles: np.ndarray
    load_bytes: np.ndarray
    store_bytes: np.ndarray
    dram_bytes_per_cycle: float
    dram_latency_cycles: int
    double_buffered: bool = True
    port_cycles: tuple[tuple[str, np.ndarray], ...] = ()
    stream_cycles: tuple[PortStream, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.compute_cycles)
        if len(self.load_bytes) != n or len(self.store_bytes) != n:
            raise ValueError("TileSchedule arrays must have one entry per tile")
        if self.dram_bytes_per_cycle <= 0:
            raise ValueError("dram_bytes_per_cycle must be > 0")
        if self.stream_cycles:
            self._check_streams()

    def _check_streams(self) -> None:
        """Each port's streams must add up to its ``port_cycles``, tile by tile."""
        ports = dict(self.port_cycles)
        summed: dict[str, np.ndarray] = {}
        for port, _, cycles, holder in self.stream_cycles:
            if port not in ports:
                raise ValueError(f"stream on {port!r}, which has no port_cycles")
            if holder not in HOLDERS:
                raise ValueError(f"stream holder {holder!r} is not one of {HOLDERS}")
            summed[port] = summed.get(port, 0) + np.asarray(cycles, dtype=np.int64)
        for port, cycles in summed.items():
            if not np.array_equal(cycles, ports[port]):
                raise ValueError(f"the streams on {port!r} do not add up to its port_cycles")

    @property
    def tiles(self) -> int:
        return len(self.compute_cycles)

    @property
    def busy_cycles(self) -> np.ndarray:
        """Per tile: the largest of its compute cycles and every port's cycles."""
        busy = np.asarray(self.compute_cycles, dtype=np.int64)
        for _, cycles in self.port_cycles:
            busy = np.maximum(busy, cycles)
        return busy
