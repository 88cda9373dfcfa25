"""simulator.mapping with real masks: wrong shape/orientation is an error naming the layer,
unstructured skipping pays its decode cost per nonzero and has a break-even density, and the
busiest lane of an unbalanced mask sets the tile time (hand-worked numbers)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sparsim.accel.loader import spec_from_mapping
from sparsim.accel.spec import UnstructuredSupport
from sparsim.simulator.lower import Problem
from sparsim.simulator.mapping import map_problem
from sparsim.simulator.results import Pass
from sparsim.workloads.sparsity import NM, SparsityError, Unstructured

from tests.unit.simulator.conftest import make_spec


def _spec(decode: float = 0.5, **kwargs):
    spec = make_spec(rows=4, cols=4, **kwargs)
    support = UnstructuredSupport(decode_cycles_per_nonzero=decode, metadata_bits_per_nonzero=8)
    return replace(spec, sparsity=replace(spec.sparsity, unstructured=support))


def _problem(pattern, k=8, n=4, m=4, count=1) -> Problem:
    return Problem(layer="fc", op="Linear", pass_=Pass.FW, m=m, n=n, k=k, count=count,
                   b_pattern=pattern, weight_pattern=pattern)  # fmt: skip


def _unbalanced_mask() -> np.ndarray:
    """K=8 x N=4 GEMM view: output channels keep 4, 2, 2 and 0 of 8 (mean 2)."""
    mask = np.zeros((8, 4), bool)
    mask[:4, 0] = True
    mask[:2, 1] = True
    mask[4:6, 2] = True
    return mask


def test_unstructured_busiest_lane_sets_the_tile_time():
    spec = _spec()
    mask = _unbalanced_mask()
    real, _ = map_problem(_problem(Unstructured(density=0.25, mask=mask)), spec)
    balanced, _ = map_problem(_problem(Unstructured(density=0.25)), spec)
    # one row tile of 4 lanes; busiest lane 4 nonzeros x (1 + 0.5) decode = 6 K slots;
    # balanced: ceil(0.25 * 8) = 2 x 1.5 = 3; dense would take 8
    assert real.k_kept_per_tile.tolist() == [4] and real.k_eff_per_tile.tolist() == [6]
    assert balanced.k_eff_per_tile.tolist() == [3]
    assert "real mask: busiest lane 4 of 8 K positions vs mean 2.0 (imbalance 2.00x)" in (
        real.exploit.notes
    )
    assert "no weight mask: balanced work assumed" in balanced.exploit.notes


def test_unstructured_break_even():
    # decode 0.5 cycles per nonzero: break-even density 1 / 1.5 = 0.67
    spec = _spec(decode=0.5)
    below, _ = map_problem(_problem(Unstructured(density=0.6)), spec)
    above, _ = map_problem(_problem(Unstructured(density=0.7)), spec)
    assert below.exploit.unstructured_density == 0.6
    assert below.k_eff_per_tile.tolist() == [8]  # ceil(0.6 * 8) = 5 kept x 1.5 = 7.5 -> 8
    assert above.exploit.unstructured_density == 1.0 and above.k_eff_per_tile.tolist() == [8]
    assert above.exploit.notes == (
        "weight density 0.70 is at or above the unstructured break-even 0.67: ran dense",
    )


def test_a_mask_in_the_rows_by_k_orientation_is_an_error_naming_the_layer():
    spec = make_spec(rows=4, cols=4, multipliers=2, nm=((2, 4),))
    mask = np.ones((4, 8), bool)  # (rows, K): what workloads.pruning returns
    with pytest.raises(SparsityError) as err:
        map_problem(_problem(NM(n=2, m=4, mask=mask)), spec)
    assert str(err.value) == (
        "layer fc: fw weight mask has shape (4, 8); the GEMM view needs (8, 4) = K x N "
        "(a (rows, K) mask as workloads.pruning returns: pass mask.T)"
    )


def test_grouped_conv_masks_are_split_per_conv_group():
    # two conv groups of K=8 x N=4 side by side; group 0 unbalanced (busiest 4), group 1 has
    # every lane at 2: per-tile work is the mean of the two busiest lanes, ceil((4 + 2) / 2) = 3
    spec = _spec(decode=0.0)
    even = np.zeros((8, 4), bool)
    even[:2] = True
    mask = np.concatenate([_unbalanced_mask(), even], axis=1)
    mapping, _ = map_problem(_problem(Unstructured(density=0.25, mask=mask), count=2), spec)
    assert mapping.k_kept_per_tile.tolist() == [3]


def test_loader_reads_unstructured_support():
    data = {
        "name": "u", "compute": {"rows": 4, "cols": 4, "dataflow": "os"},
        "sparsity": {"unstructured": {"decode_cycles_per_nonzero": 0.25,
                                      "metadata_bits_per_nonzero": 8}},
        "buffers": {"shared": {"size_bytes": 1024, "read_bytes_per_cycle": 8,
                               "write_bytes_per_cycle": 8}},
        "dram": {"bandwidth_gb_per_s": 10, "latency_cycles": 10},
    }  # fmt: skip
    spec = spec_from_mapping(data, "u.yaml")
    assert spec.sparsity.unstructured == UnstructuredSupport(
        decode_cycles_per_nonzero=0.25, metadata_bits_per_nonzero=8
    )
    assert spec.sparsity.unstructured.break_even_density == 0.8
