"""Event engine replay of single TileSchedules, against timelines worked out by hand.

Transfer of ``b`` bytes: the channel is held ``ceil(b / bw)`` cycles and the data lands
``latency`` cycles later (``simulator.events`` docstring); ``xfer(b) = latency + ceil(b / bw)``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsim.simulator import events
from sparsim.simulator.events import replay
from sparsim.simulator.perf import analytical_timing
from sparsim.simulator.schedule import PortStream, TileSchedule
from sparsim.simulator.trace import (
    MIN_EVENT_BYTES,
    TRACKS,
    Trace,
    check_trace_size,
    trace_events,
)
from sparsim.workloads.yamlio import ConfigError


def _schedule(c, ld, st_, *, bw=16.0, lat=10, double=True, streams=()) -> TileSchedule:
    """``streams``: ``(port, stream, cycles per tile[, holder])``; each port's cycles are
    their sum."""
    arrays = tuple(PortStream(port, name, np.array(cycles, dtype=np.int64), *holder)
                   for port, name, cycles, *holder in streams)  # fmt: skip
    ports: dict[str, np.ndarray] = {}
    for port, _, cycles, _ in arrays:
        ports[port] = ports.get(port, 0) + cycles
    return TileSchedule(
        compute_cycles=np.array(c, dtype=np.int64), load_bytes=np.array(ld, dtype=np.int64),
        store_bytes=np.array(st_, dtype=np.int64), dram_bytes_per_cycle=bw,
        dram_latency_cycles=lat, double_buffered=double, port_cycles=tuple(ports.items()),
        stream_cycles=arrays,
    )  # fmt: skip


def test_compute_bound_is_first_load_plus_compute_plus_last_store():
    s = _schedule([100, 100, 100], [160, 160, 160], [64, 64, 64])
    # every step: ceil(160 / 16) + ceil(64 / 16) = 14 <= 100 cycles of compute
    # xfer(160) = 10 + 10 = 20 prologue; 3 x 100 compute; xfer(64) = 10 + 4 = 14 epilogue
    timing = replay(s)
    assert (timing.cycles, timing.compute_cycles, timing.stall_cycles) == (334, 300, 34)
    assert timing.bound == "compute"


def test_single_buffered_is_serial():
    s = _schedule([100, 100, 100], [160, 160, 160], [64, 64, 64], double=False)
    assert replay(s).cycles == 3 * (20 + 100 + 14)  # xfer(L) + C + xfer(S) per tile


def test_memory_bound_overlaps_latency():
    # load 0 holds the channel 0-11 and lands at 16 (pipeline fill: latency exposed); load 1
    # holds it 11-22 and lands at 22 (latency hidden, simulator.perf docstring); compute 0
    # runs 16-26, compute 1 26-36. Channel busy 22 > 20 compute: memory-bound.
    # Lock-step analytical form (perf docstring): 16 + max(10, 11 - 5) + 10 = 36, the same.
    s = _schedule([10, 10], [176, 176], [0, 0], lat=5)
    timing = replay(s)
    assert (timing.cycles, timing.bound) == (36, "DRAM")
    assert analytical_timing(s).cycles == 36


def test_channel_serves_requests_in_order():
    # bw 16, latency 10, exposed on the first load only (the last store is empty). Load 0
    # [0, 1) lands 11, load 1 [1, 101) lands 101; compute 0 runs 11-16 and store 0 queues at
    # 16, while the loader is still busy with load 1 (it asks for load 2 at 101): store 0
    # [101, 133), load 2 [133, 233) lands 233. Compute 1 runs 101-106, store 1 queues:
    # [233, 265); load 3 [265, 275) lands 275. Compute 2 runs 233-238, compute 3 275-280.
    s = _schedule([5, 5, 5, 5], [16, 1600, 1600, 160], [512, 512, 0, 0])
    trace = Trace(process_name="t", freq_mhz=1.0)
    assert replay(s, trace).cycles == 280
    dram = [e for e in trace.to_dict()["traceEvents"] if e["ph"] == "X" and e["tid"] == 1]
    order = [(e["name"], e["args"]["tile"], e["ts"]) for e in dram]
    assert order == [
        ("load", 0, 0.0), ("load", 1, 1.0), ("store", 0, 101.0), ("load", 2, 133.0),
        ("store", 1, 233.0), ("load", 3, 265.0),
    ]  # fmt: skip
    array = [e["ts"] for e in trace.to_dict()["traceEvents"] if e["ph"] == "X" and e["tid"] == 2]
    assert array == [11.0, 101.0, 233.0, 275.0]


def test_in_one_cycle_the_load_asks_before_the_store():
    # bw 4, latency 1 (hidden: loads 0 and 1 and the last store are empty). Compute 0 runs
    # 0-1; load 2 [1, 2), store 0 [2, 3). At cycle 3 store 0 leaves the channel and compute 1
    # ends: load 3 and store 1 are both ready. Load 3 goes first [3, 4), store 1 [4, 5).
    # Compute 2 runs 3-5, compute 3 5-6: 6 cycles.
    s = _schedule([1, 2, 2, 1], [0, 0, 1, 1], [1, 1, 0, 0], bw=4.0, lat=1)
    trace = Trace(process_name="t", freq_mhz=1.0)
    assert replay(s, trace, batch=False).cycles == 6
    dram = [e for e in trace.to_dict()["traceEvents"] if e["ph"] == "X" and e["tid"] == 1]
    order = [(e["name"], e["args"]["tile"], e["ts"]) for e in dram]
    assert order == [("load", 2, 1.0), ("store", 0, 2.0), ("load", 3, 3.0), ("store", 1, 4.0)]


def test_empty_schedule_takes_no_time():
    assert replay(_schedule([], [], [])).cycles == 0


def test_trace_events_and_tracks(tmp_path: Path):
    s = _schedule([100, 100], [160, 160], [64, 64])
    trace = Trace(process_name="toy on tiny", freq_mhz=200.0)
    replay(s, trace, offset_cycles=1000)
    path = trace.write(tmp_path / "trace.json")
    events = json.loads(path.read_text(encoding="utf-8"))["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names == dict(enumerate(TRACKS))
    complete = [e for e in events if e["ph"] == "X"]
    assert len(complete) == 6  # 2 loads + 2 stores on dram, 2 computes on the array
    first = min(complete, key=lambda e: e["ts"])
    # load 0 starts at cycle 1000 (offset) and holds the channel 10 cycles; 200 cycles per µs
    assert (first["name"], first["ts"], first["dur"]) == ("load", 5.0, 0.05)


def test_replay_is_deterministic():
    s = _schedule([30, 7, 90, 12], [300, 50, 900, 10], [40, 400, 0, 64], bw=4.0, lat=3)
    traces = [Trace(process_name="t", freq_mhz=1.0) for _ in range(2)]
    for trace in traces:
        replay(s, trace)
    assert traces[0].to_dict() == traces[1].to_dict()


_tiles = st.integers(1, 12)


@st.composite
def _random_schedule(draw, *, compute_bound: bool, double: bool, min_latency: int = 0):
    n = draw(_tiles)
    bw = draw(st.sampled_from([1.0, 4.0, 7.5, 16.0]))
    lat = draw(st.integers(min_latency, 50))
    loads = draw(st.lists(st.integers(0, 4000), min_size=n, max_size=n))
    stores = draw(st.lists(st.integers(0, 4000), min_size=n, max_size=n))
    compute = draw(st.lists(st.integers(1, 500), min_size=n, max_size=n))
    if compute_bound:  # stretch each step: ceil(L[t+1] / bw) + ceil(S[t-1] / bw) fits (the
        for t in range(n):  # steady-state latency is hidden: simulator.perf docstring)
            load, store = (loads[t + 1] if t + 1 < n else 0), (stores[t - 1] if t else 0)
            compute[t] = max(compute[t], math.ceil(load / bw) + math.ceil(store / bw))
    port = st.lists(st.integers(0, 600), min_size=n, max_size=n)  # two streams share a port
    streams = [("shared buffer read port", "input", draw(port)),
               ("shared buffer read port", "weight", draw(port)),
               ("shared buffer write port", "output", draw(port))][: draw(st.integers(0, 3))]
    return _schedule(compute, loads, stores, bw=bw, lat=lat, double=double, streams=streams)


@settings(max_examples=60, deadline=None)
@given(_random_schedule(compute_bound=True, double=True))
def test_compute_bound_matches_the_analytical_closed_form(s):
    assert replay(s).cycles == analytical_timing(s).cycles


@settings(max_examples=60, deadline=None)
@given(_random_schedule(compute_bound=False, double=False))
def test_single_buffered_matches_the_analytical_closed_form(s):
    assert replay(s).cycles == analytical_timing(s).cycles


@settings(max_examples=60, deadline=None)
@given(_random_schedule(compute_bound=False, double=True, min_latency=1))
def test_never_beats_compute_or_channel_and_never_loses_to_lock_step(s):
    timing = replay(s)
    channel = sum(math.ceil(b / s.dram_bytes_per_cycle) for b in [*s.load_bytes, *s.store_bytes])
    assert timing.cycles >= max(int(s.compute_cycles.sum()), channel)
    assert timing.cycles <= analytical_timing(s).cycles


def _events(trace: Trace) -> list[tuple]:
    return sorted((e["tid"], e["name"], e["ts"], e["dur"], e["args"]["tile"])
                  for e in trace.to_dict()["traceEvents"] if e["ph"] == "X")  # fmt: skip


@st.composite
def _mixed_schedule(draw):
    """Mostly calm steps (compute well above transfers) with restless ones mixed in."""
    n = draw(st.integers(3, 30))
    compute = draw(st.lists(st.integers(1, 80), min_size=n, max_size=n))
    loads = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n))
    stores = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n))
    bw = draw(st.sampled_from([1.0, 2.0, 4.0, 0.7, 16.0]))
    port = st.lists(st.integers(0, 50), min_size=n, max_size=n)
    streams = [("shared buffer read port", "input", draw(port)),
               ("shared buffer read port", "weight", draw(port)),
               ("shared buffer write port", "output", draw(port))][: draw(st.integers(0, 3))]
    return _schedule(compute, loads, stores, bw=bw, lat=draw(st.integers(0, 5)), streams=streams)


@st.composite
def _mixed_dma_schedule(draw):
    """``_mixed_schedule`` with DMA fills and drains on the ports the array uses too (and,
    as a single-ported buffer would, a fill and a drain on one port)."""
    s = draw(_mixed_schedule())
    port = st.lists(st.integers(0, 30), min_size=s.tiles, max_size=s.tiles)
    fill = np.array(draw(port))  # also in tiles moving no DRAM bytes: the ports alone
    drain = np.array(draw(port))
    streams = [(p.port, p.stream, p.cycles.tolist()) for p in s.stream_cycles]
    streams += [("shared buffer write port", "input fill", fill.tolist(), "load"),
                ("shared buffer read port", "output drain", drain.tolist(), "store"),
                ("weight buffer write port", "weight fill", fill.tolist(), "load"),
                ("shared buffer write port", "psum spill", drain.tolist(), "store")]
    streams += [("shared buffer write port", "output", draw(port), "array")]
    bw, lat = s.dram_bytes_per_cycle, s.dram_latency_cycles
    none = st.lists(st.booleans(), min_size=s.tiles, max_size=s.tiles)  # often no DRAM bytes
    load = np.where(draw(none), 0, s.load_bytes)
    store = np.where(draw(none), 0, s.store_bytes)
    return _schedule(s.compute_cycles, load, store, bw=bw, lat=lat, streams=streams)


@settings(max_examples=150, deadline=None)
@given(st.one_of(_mixed_schedule(), _mixed_dma_schedule()))
def test_batched_calm_steps_are_exact(s):
    # batch=False is the tile-by-tile reference: same timing and the very same trace events
    batched, reference = (Trace(process_name="t", freq_mhz=1.0) for _ in range(2))
    assert replay(s, batched) == replay(s, reference, batch=False)
    assert _events(batched) == _events(reference)


def test_long_calm_run_is_one_batch_and_exact():
    # 10,000 identical calm tiles: ceil(1000 / 16) + ceil(500 / 16) + 1 = 96 <= 300 cycles.
    # Closed form: xfer(1000) = 10 + 63 prologue, 10,000 x 300, xfer(500) = 10 + 32 epilogue.
    n = 10_000
    s = _schedule([300] * n, [1000] * n, [500] * n)
    assert replay(s).cycles == 73 + 300 * n + 42


def test_streamed_trace_is_the_dict_and_merges_keep_their_place(tmp_path: Path):
    """``write`` streams in chunks; the file must equal the one-shot JSON of ``to_dict``, with
    a merged (by reference) replay's events where it was merged, shifted by its offset."""
    local = Trace(process_name="", freq_mhz=2.0)
    local.complete("array", "compute", 0, 4, {"tile": 0})
    main = Trace(process_name="p", freq_mhz=2.0)
    main.complete("problem", "a:fw", 0, 4)
    main.merge(local, 10)
    main.complete("problem", "b:fw", 4, 6)
    main.merge(local, 20)
    events = [e for e in main.to_dict()["traceEvents"] if e["ph"] == "X"]
    # (name, ts): cycles / 2 MHz; the local compute lands at 10/2 and 20/2 microseconds
    assert [(e["name"], e["ts"]) for e in events] == [
        ("a:fw", 0.0), ("compute", 5.0), ("b:fw", 2.0), ("compute", 10.0)]
    path = main.write(tmp_path / "t.json")
    assert path.read_text(encoding="utf-8") == json.dumps(main.to_dict(), separators=(",", ":"))


def test_trace_size_is_checked_before_the_replay():
    # 1 problem interval + computes of tiles 0 and 2 + loads of 1, 2 + stores of 0, 1 = 7 events
    s = _schedule([1, 0, 2], [0, 5, 5], [1, 1, 0])
    assert trace_events(s) == 7
    check_trace_size([s, s], limit_bytes=14 * MIN_EVENT_BYTES)  # twice: 14 events fit
    with pytest.raises(ConfigError, match=r"^--trace: this run records 14 events, at least "):
        check_trace_size([s, s], limit_bytes=14 * MIN_EVENT_BYTES - 1)


def test_trace_write_stops_at_the_limit(tmp_path: Path):
    trace = Trace(process_name="p", freq_mhz=1.0)
    for i in range(100):
        trace.complete("array", "compute", i, 1, {"tile": i})
    path = tmp_path / "t.json"
    with pytest.raises(ConfigError, match=re.escape(f"{path}: the trace passed 1,000 bytes")):
        trace.write(path, limit_bytes=1000)
    assert list(tmp_path.iterdir()) == []  # nothing left behind


# One shared buffer: the input and weight feeds both read through its one read port, the
# array's results go in through its write port. No DRAM traffic, so only the ports matter.
_SHARED = [
    ("shared buffer read port", "input", [7, 3]),
    ("shared buffer read port", "weight", [6, 3]),
    ("shared buffer write port", "output", [4, 9]),
]


def _shared_port_schedule() -> TileSchedule:
    return _schedule([10, 10], [0, 0], [0, 0], streams=_SHARED)


def _port_events(trace: Trace) -> list[tuple[str, str, float, float]]:
    d = trace.to_dict()
    names = {e["tid"]: e["args"]["name"] for e in d["traceEvents"] if e["name"] == "thread_name"}
    return [(names[e["tid"]], e["name"], e["ts"], e["dur"]) for e in d["traceEvents"]
            if e["ph"] == "X" and names[e["tid"]].endswith("port")]  # fmt: skip


def test_two_streams_on_one_port_take_turns():
    # Worked by hand. Tile 0 at 0: input feed holds the read port [0, 7), then the weight feed
    # [7, 13); output writes [0, 4) on the write port; compute [0, 10): tile 0 ends at 13.
    # Tile 1 at 13: input [13, 16), weight [16, 19), output [13, 22), compute [13, 23): 23.
    trace = Trace(process_name="t", freq_mhz=1.0)
    timing = replay(_shared_port_schedule(), trace, batch=False)
    # bound: the read port is busy 19 cycles in all, the array 20 (simulator.perf.bound_of)
    assert (timing.cycles, timing.bound) == (23, "compute")
    # the write port: 4 + 9 = 13 cycles; no DRAM bytes, so the channel was never busy
    assert dict(timing.busy) == {"compute": 20, "shared buffer read port": 19,
                                 "shared buffer write port": 13, "DRAM": 0}  # fmt: skip
    assert sorted(_port_events(trace)) == sorted([
        ("shared buffer read port", "input", 0.0, 7.0),
        ("shared buffer read port", "weight", 7.0, 6.0),
        ("shared buffer write port", "output", 0.0, 4.0),
        ("shared buffer read port", "input", 13.0, 3.0),
        ("shared buffer read port", "weight", 16.0, 3.0),
        ("shared buffer write port", "output", 13.0, 9.0),
    ])  # fmt: skip
    assert analytical_timing(_shared_port_schedule()).cycles == 23  # 13 + 10: busy = port sum


def test_a_port_serving_two_streams_at_once_would_be_faster(monkeypatch: pytest.MonkeyPatch):
    # The sharing is what makes it 23: with two transfers at a time on a port, tile 0 takes
    # max(10, 7, 6, 4) = 10 and tile 1 max(10, 3, 3, 9) = 10, so 20 cycles.
    monkeypatch.setattr(events, "PORT_CAPACITY", 2)
    assert replay(_shared_port_schedule(), batch=False).cycles == 20


def test_streams_must_add_up_to_their_port():
    with pytest.raises(ValueError, match="do not add up"):
        TileSchedule(
            compute_cycles=np.array([1]), load_bytes=np.array([0]), store_bytes=np.array([0]),
            dram_bytes_per_cycle=1.0, dram_latency_cycles=0,
            port_cycles=(("p", np.array([5])),),
            stream_cycles=(PortStream("p", "a", np.array([4])),),
        )  # fmt: skip


def test_port_streams_are_counted_for_the_trace_size():
    # 2 computes + 6 port holds + the problem interval (no DRAM traffic)
    assert trace_events(_shared_port_schedule()) == 9


# DMA fills and drains hold the buffer port they fill or drain, with the DRAM channel
# (``TileSchedule.stream_cycles`` holders "load" and "store"; ``simulator.events`` docstring).
_FILL_ONE_PORT = [("weight buffer write port", "weight fill", [6], "load"),
                  ("weight buffer write port", "metadata fill", [5], "load")]  # fmt: skip
_FILL_TWO_PORTS = [("weight buffer write port", "weight fill", [6], "load"),
                   ("input buffer write port", "input fill", [5], "load")]  # fmt: skip


def test_two_fills_on_one_port_take_turns_on_two_ports_overlap():
    # Worked by hand. One tile: 64 bytes at 16 B/cycle hold the channel [0, 4); latency 10.
    # One port: weight fill [0, 6), then metadata fill [6, 11): the load is done at
    # max(4, 6 + 5) = 11, lands at 21, compute [21, 31): 31 cycles.
    # Two ports: weight fill [0, 6) and input fill [0, 5) at once: done at max(4, 6, 5) = 6,
    # lands at 16, compute [16, 26): 26 cycles.
    one, two = (_schedule([10], [64], [0], streams=s) for s in (_FILL_ONE_PORT, _FILL_TWO_PORTS))
    trace = Trace(process_name="t", freq_mhz=1.0)
    assert replay(one, trace).cycles == 31
    assert replay(two).cycles == 26
    assert sorted(_port_events(trace)) == [
        ("weight buffer write port", "metadata fill", 6.0, 5.0),
        ("weight buffer write port", "weight fill", 0.0, 6.0),
    ]


def test_a_drain_holds_the_read_port_it_drains():
    # Worked by hand. One tile, no load: compute [0, 10); its store of 32 bytes at 16 B/cycle
    # holds the channel [10, 12) and drains through the output read port [10, 17) (7 cycles):
    # left at 17, acknowledged after the latency of 10 (the last store): 27. Analytical: the
    # drain's port cycles count in the tile's busy time, max(10, 7) = 10, then xfer(32) = 12:
    # 22. The event engine charges the port where the drain happens, after the compute.
    drain = [("output buffer read port", "output drain", [7], "store")]
    s = _schedule([10], [0], [32], streams=drain)
    assert replay(s).cycles == 27
    assert analytical_timing(s).cycles == 22


# Tile 0's output writes and tile 1's fill share the shared buffer's write port. The
# analytical engine charges each to its own tile (max of compute and ports, tile by tile);
# the event engine runs the fill while tile 0 computes, when the array is writing.
_CONTENDED = [("shared buffer write port", "output write", [8, 0], "array"),
              ("shared buffer write port", "input fill", [0, 6], "load")]  # fmt: skip


def _contended() -> TileSchedule:
    return _schedule([10, 10], [0, 24], [0, 0], bw=4.0, lat=0, streams=_CONTENDED)


def test_contention_makes_the_event_engine_slower_and_shows_in_the_trace():
    # Worked by hand. Analytical (simulator.perf): busy = [max(10, 8), max(10, 6)] = [10, 10];
    # step 0 moves load 1, ceil(24 / 4) = 6 <= 10: 10 + 10 = 20 cycles.
    # Event: at 0 compute 0 starts and the array's output writes take the write port [0, 8);
    # load 1 takes the channel [0, 6) and waits for the port: input fill [8, 14). Load 1 is
    # done at 14, compute 1 [14, 24): 24 cycles, 4 more than the analytical 20.
    s = _contended()
    assert analytical_timing(s).cycles == 20
    trace = Trace(process_name="t", freq_mhz=1.0)
    assert replay(s, trace).cycles == 24
    assert _port_events(trace) == [("shared buffer write port", "output write", 0.0, 8.0),
                                   ("shared buffer write port", "input fill", 8.0, 6.0)]


def test_without_contention_the_contended_case_matches_the_analytical_engine(
    monkeypatch: pytest.MonkeyPatch,
):
    # The same schedule on a port serving two transfers at once: input fill [0, 6) beside the
    # output writes; load 1 done at 6, compute 1 [10, 20): 20, the analytical engine's cycles.
    monkeypatch.setattr(events, "PORT_CAPACITY", 2)
    assert replay(_contended()).cycles == analytical_timing(_contended()).cycles == 20
