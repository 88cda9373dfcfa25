"""Multi-core arrays (``simulator.multicore``): splits worked out by hand on the tile formula of
``simulator.tile`` and the DRAM model of ``simulator.perf``, and the property that ``C`` cores
are never slower than one core of the same array."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsim.accel.configs import config_dir
from sparsim.accel.spec import AcceleratorSpec, BufferSpec
from sparsim.simulator.cli import main
from sparsim.simulator.lower import lower
from sparsim.simulator.multicore import splits
from sparsim.simulator.plan import ranked_splits
from sparsim.simulator.report import format_table
from sparsim.simulator.run import simulate
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Conv2d, Gemm

from .conftest import gemm_workload, make_spec


def _cores(spec: AcceleratorSpec, cores: int) -> AcceleratorSpec:
    return replace(spec, compute=replace(spec.compute, cores=cores))


def _dram(layer) -> int:
    return sum(v for k, v in layer.bytes_by_level if k.startswith("dram."))


def test_compute_bound_gemm_splits_four_ways():
    """GEMM m=64, n=16, k=32 on a 4x4 os array (rows <- n, cols <- m, k streams; big
    buffers, DRAM transfers 1 cycle, no latency). One core: 16 column folds of m x 4 row
    folds of n = 64 folds of 32 steps, back to back (simulator.tile):
    (32 + 3 + 3 + 4) + 63 * max(32, 4) = 2058, plus one load and one store cycle = 2060.
    Four cores, m split 16 each: 4 x 4 = 16 folds: 42 + 15 * 32 + 2 = 524 cycles, i.e. the
    64 folds / 4 per core (the 10-cycle fill and the two transfer cycles are paid per core)."""
    spec, work = make_spec(), gemm_workload(64, 16, 32)
    one = simulate(work, spec).layers[0]
    four = simulate(work, _cores(spec, 4)).layers[0]
    assert one.cycles == 42 + 63 * 32 + 2
    assert four.cycles == 42 + 15 * 32 + 2
    split = dict(four.mapping_detail)["split"]
    assert split == {"cores": 4, "active": 4, "axis": "m", "share": 16, "last_share": 16}
    assert dict(four.mapping_detail)["cores"] == 4
    # every core issues 16 x 16 x 32 = 8192 MACs over 524 cycles of a 16-MAC array
    assert four.core_utilization == pytest.approx((8192 / (524 * 16),) * 4, rel=1e-12)
    assert four.utilization == pytest.approx(64 * 16 * 32 / (524 * 16 * 4), rel=1e-12)


def test_dram_bound_gemv_gains_nothing_from_cores():
    """GEMV m=1, n=k=1024 int8 on a 16x16 os array, DRAM 0.2 GB/s at 200 MHz = 1 byte per
    cycle, 16 KiB buffers (many double-buffered tiles). Bytes: A 1024 + B 1024 x 1024 + C
    1024 = 1,050,624, so one core takes at least 1,050,624 cycles; its compute (64 folds of
    1024 steps ~ 66k cycles) hides under the transfers but for the last tile (< 1%).
    Four cores split over n: each streams B/4 + A + C/4 = 263,424 bytes at 1/4 byte per cycle
    = 1,053,696 cycles (A crosses the channel once per core), over m: nothing to split. So
    cores give no speedup: the best is within 1% of bytes / bandwidth either way."""
    spec = make_spec(rows=16, cols=16, dram_gb_per_s=0.2, buffer_bytes=16 * 1024)
    work = gemm_workload(1, 1024, 1024)
    nbytes = 1024 + 1024 * 1024 + 1024
    one = simulate(work, spec).layers[0]
    four = simulate(work, _cores(spec, 4)).layers[0]
    assert _dram(one) == nbytes
    assert nbytes <= one.cycles <= 1.01 * nbytes
    assert nbytes <= four.cycles <= one.cycles
    assert four.bound == "DRAM"
    # both splits were costed: n (each core B/4 at 1/4 of the channel) and one core alone
    assert {s.axis for s in splits(lower(work)[0], _cores(spec, 4))} == {"n", "none"}


def test_uneven_split_leaves_a_core_idle():
    """GEMV-like m=1, n=5, k=256 on 4 cores of a 4x4 os array: share ceil(5/4) = 2 output
    columns, so ceil(5/2) = 3 cores work (2, 2, 1) and one idles. Each active core runs one
    fold of 256 steps: 256 + 3 + 3 + 4 = 266 cycles, plus a load and a store cycle = 268
    (one core alone: 2 row folds, 266 + 256 + 2 = 524). Per-core utilization over 268 cycles
    of 16 MACs: 2 x 256 = 512 MACs -> 512 / 4288 = 11.94%, the last 256 -> 5.97%, the idle
    core 0; the whole: 1280 / (268 x 64) = 7.46%."""
    spec = _cores(make_spec(), 4)
    layer = simulate(gemm_workload(1, 5, 256), spec).layers[0]
    assert layer.cycles == 268
    split = dict(layer.mapping_detail)["split"]
    assert (split["axis"], split["active"], split["share"], split["last_share"]) == ("n", 3, 2, 1)
    assert layer.core_utilization == pytest.approx((512 / 4288, 512 / 4288, 256 / 4288, 0.0))
    assert layer.utilization == pytest.approx(1280 / (268 * 64))
    table = format_table(simulate(gemm_workload(1, 5, 256), spec))
    row = next(line for line in table.splitlines() if line.startswith("g "))
    assert "3/4" in row and "6.0-11.9" in row


def test_grid_split_fetches_bands_of_both_operands():
    """GEMM 64 x 64 x 64 int8 on 4 cores of a 4x4 os array, DRAM 1.1 GB/s = 5.5 B/cycle at
    200 MHz, 1.375 B/cycle per active core; big buffers, so each core loads its whole share,
    computes, stores (no overlap within one tile).
    2x2 grid (m 32, n 32 per core): loads A 32x64 + B 64x32 = 4096 B: ceil(4096 / 1.375) =
    2979 cycles; 8 x 8 folds of 64 steps: (64 + 3 + 3 + 4) + 63 x 64 = 4106; stores 32 x 32 =
    1024 B: ceil(1024 / 1.375) = 745; total 7830, DRAM 4 x 5120 = 20,480 B.
    m split (16 rows each): loads 16x64 + 64x64 = 5120 B: 3724; 16 x 4 folds = 4106; stores
    745: 8575. One core alone: 12,288 B at 5.5 B/cycle and 256 folds: > 16,384. The grid wins."""
    spec = _cores(make_spec(dram_gb_per_s=1.1), 4)
    layer = simulate(gemm_workload(64, 64, 64), spec, mapper="fixed").layers[0]
    split = dict(layer.mapping_detail)["split"]
    assert (split["axis"], split["share"], split["active"]) == ("m,n", [32, 32], 4)
    assert layer.cycles == 2979 + 4106 + 745
    assert _dram(layer) == 20_480
    assert layer.core_utilization == pytest.approx((32 * 32 * 64 / (7830 * 16),) * 4)
    # the searched mapping (default) cuts each share into tiles whose fills overlap the
    # compute of the ones before (mapper._least_exposed): the same DRAM bytes, sooner
    searched = simulate(gemm_workload(64, 64, 64), spec).layers[0]
    assert _dram(searched) == 20_480 and searched.cycles < layer.cycles


def test_explain_ranks_the_splits_with_their_exact_costs(capsys):
    """The grid test's problem: ``ranked_splits`` (``--explain``) with the fixed mapping costs
    the 2x2 grid 7830 and the m split 8575 cycles, as worked out there; the CLI prints the
    splits on a shipped multi-core spec."""
    spec = _cores(make_spec(dram_gb_per_s=1.1), 4)
    ranked = ranked_splits(lower(gemm_workload(64, 64, 64))[0], spec, mode="fixed")
    costs = {split.describe(): score for split, score in ranked}
    assert ranked[0][0].axis == "m,n" and ranked[0][1] == 7830
    assert costs["m over 4/4 cores, share 16"] == 3724 + 4106 + 745
    work = str(Path(config_dir()) / "workloads" / "gemm_sweep.yaml")
    assert main(["run", "--accel", "sparse_tensor_core", "--workload", work,
                 "--explain", "gemv_1_token"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "multi-core splits, best first:" in out and "one core's share:" in out


def test_global_buffer_fetches_shared_operands_once():
    """GEMM 64 x 64 x 64 int8 on 4 cores: A, B and C are 4096 bytes each. Without a global
    buffer the operand every core needs crosses DRAM once per core: split over m (or n),
    4 x 4096 + 4096 + 4096 = 24,576 bytes. With a global buffer holding everything, DRAM
    moves each byte once: 12,288; the cores' 24,576 bytes go through the global buffer."""
    spec = _cores(make_spec(), 4)
    gb = BufferSpec(size_bytes=1 << 20, read_bytes_per_cycle=1 << 20,
                    write_bytes_per_cycle=1 << 20)  # fmt: skip
    work = gemm_workload(64, 64, 64)
    plain = simulate(work, spec).layers[0]
    shared = simulate(work, replace(spec, global_buffer=gb)).layers[0]
    assert dict(plain.mapping_detail)["split"]["active"] == 4
    assert _dram(plain) == 24_576
    assert _dram(shared) == 12_288
    assert sum(v for k, v in shared.bytes_by_level if k.startswith("global.")) == 24_576


def test_one_core_spec_keeps_one_array_fields():
    layer = simulate(gemm_workload(8, 8, 8), make_spec()).layers[0]
    assert layer.core_utilization == ()
    assert "core_utilization" not in layer.to_dict()
    assert dict(layer.mapping_detail)["cores"] == 1


_CONV = Conv2d(batch=2, in_channels=8, out_channels=12, height=10, width=10, kernel=(3, 3),
               padding=(1, 1))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 200), n=st.integers(1, 200), k=st.integers(1, 300),
    cores=st.integers(2, 9), dataflow=st.sampled_from(["os", "ws"]),
    dram=st.sampled_from([0.05, 1.0, 1e6]), buffer=st.sampled_from([2048, 65536, 1 << 30]),
    training=st.booleans(),
)  # fmt: skip
def test_cores_never_slower_than_one(m, n, k, cores, dataflow, dram, buffer, training):
    """Under ``latency`` (the default objective) C cores of an array are never slower than
    one: per layer and pass, for GEMMs and a conv, inference and training."""
    spec = make_spec(dataflow=dataflow, dram_gb_per_s=dram, buffer_bytes=buffer,
                     latency_cycles=20)  # fmt: skip
    phase = Phase.TRAINING if training else Phase.INFERENCE
    layers = (Layer(name="g", op=Gemm(m=m, n=n, k=k)), Layer(name="c", op=_CONV))
    work = Workload(name="w", layers=layers, phase=phase)
    one, many = simulate(work, spec), simulate(work, _cores(spec, cores))
    for a, b in zip(one.layers, many.layers, strict=True):
        assert b.cycles <= a.cycles, (a.layer, a.pass_name)


def test_conv_rows_split_fetches_each_band_with_its_halo():
    """A 3x3 conv, 1 -> 1 channel on 16x16 int8, stride 1, padding 1 (16x16 outputs), on 4
    cores of a 4x4 os array with big buffers and a fast DRAM; batch 1 and one output channel
    leave only the rows to split. Worked by hand:
    forward: 4 output rows per core read (4 - 1) + 2 + 1 = 6 input rows of 16 columns: 96 B
    each, 384 B in all (one core alone: 256; the halo rows cross DRAM for both neighbours);
    each writes 4 x 16 = 64 B (256) and fetches the 9-byte weight (36). Its GEMM is m = 64,
    n = 1, k = 9: 16 column folds of 9 steps on the array, (9 + 3 + 3 + 4) + 15 x 9 = 154
    cycles (simulator.tile) plus one load and one store cycle = 156.
    backward-data (the transposed conv): 4 dX rows per core are reached by (4 - 1 + 2) + 1 =
    6 dY rows: 96 B each, 384 in all; 4 x 16 = 64 B of dX each; the same 156 cycles."""
    spec = _cores(make_spec(), 4)
    conv = Conv2d(batch=1, in_channels=1, out_channels=1, height=16, width=16, padding=(1, 1))
    work = Workload(name="c", layers=(Layer(name="c", op=conv),), phase=Phase.TRAINING)
    fw, bw_data = lower(work)[:2]
    rows = {p.pass_.value: next(s for s in splits(p, spec) if s.axis == "rows")
            for p in (fw, bw_data)}  # fmt: skip
    (band, times), = rows["fw"].parts
    assert times == 4 and (band.m, band.n, band.k) == (64, 1, 9)
    assert (band.conv.out_height, band.conv.height, band.conv.padding) == (4, 6, (0, 1))
    (band, times), = rows["bw_data"].parts
    assert times == 4 and (band.m, band.n, band.k) == (64, 1, 9)
    assert (band.conv.height, band.conv.out_height, band.conv.padding) == (4, 6, (2, 1))
    result = {r.pass_.value: r for r in simulate(work, spec).layers}
    for name in ("fw", "bw_data"):
        layer = result[name]
        assert dict(layer.mapping_detail)["split"]["axis"] == "rows"
        dram = dict(layer.bytes_by_level)
        assert (dram["dram.input"], dram["dram.output"], dram["dram.weight"]) == (384, 256, 36)
        assert layer.cycles == 156


def test_conv_weight_gradient_splits_over_input_channels():
    """The weight gradient of a 3x3 conv, 8 -> 2 channels: its GEMM m is 8 x 9 = 72 (input
    channels x taps), n = 2, k = the pixels. On 4 cores the m split gives each core 2 input
    channels (m = 18), a grid 2 x 2 gives 4 input channels x 1 output channel."""
    spec = _cores(make_spec(), 4)
    conv = Conv2d(batch=1, in_channels=8, out_channels=2, height=8, width=8, padding=(1, 1))
    work = Workload(name="c", layers=(Layer(name="c", op=conv),), phase=Phase.TRAINING)
    bw_weight = lower(work)[2]
    by_axis = {s.axis: s for s in splits(bw_weight, spec)}
    (part, times), = by_axis["m"].parts
    assert times == 4 and (part.m, part.n, part.conv.in_channels) == (18, 2, 2)
    (part, times), = by_axis["m,n"].parts
    assert times == 4 and (part.m, part.n) == (36, 1)
    assert (part.conv.in_channels, part.conv.out_channels) == (4, 1)
    assert "rows" not in by_axis  # a split of the pixels would need a cross-core sum


def test_conv_grid_splits_row_bands_by_channels():
    """A 3x3 conv, 1 -> 2 channels on 16x16 (padding 1) on 4 cores: the 2 x 2 grid gives each
    core 8 output rows (reading (8 - 1) + 2 + 1 = 10 input rows) of 1 output channel: GEMM
    m = 8 x 16 = 128, n = 1, k = 9 (GPU thread blocks over output pixels x channels)."""
    spec = _cores(make_spec(), 4)
    conv = Conv2d(batch=1, in_channels=1, out_channels=2, height=16, width=16, padding=(1, 1))
    (fw,) = lower(Workload(name="c", layers=(Layer(name="c", op=conv),)))
    grid = next(s for s in splits(fw, spec) if s.axis == "rows,n")
    (part, times), = grid.parts
    assert (times, grid.shares) == (4, ((8, 8), (1, 1)))
    assert (part.m, part.n, part.k) == (128, 1, 9)
    assert (part.conv.out_height, part.conv.height, part.conv.out_channels) == (8, 10, 1)
