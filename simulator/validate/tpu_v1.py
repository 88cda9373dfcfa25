"""TPU v1's roofline (Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing
Unit", ISCA 2017): the CNNs sit under the compute roof, the MLPs and LSTMs under the memory
slope, at the batch sizes the paper ran (its Table 1).

On ``dense_ws_128x128`` (a quarter of the TPU's 256x256 array, same 700 MHz clock and 34 GB/s
DDR3), the ridge is 128 x 128 MACs/cycle x 700 MHz / 34 GB/s = 337 MACs per weight byte; the
MLPs' and LSTMs' weight reuse is their batch (64-200 MACs per byte), far below it.

Table 1 gives each app's layer count, weight count and batch, not its layer shapes. Assumed:
each app's FC layers are square and equal, width ``round(sqrt(weights / layers))``; the CNN
stand-in is the zoo's ResNet-50 (CNN0 and CNN1 are unpublished Google models) at CNN0's and
CNN1's batches. The value is the share of the app's matrix-layer cycles whose ``bound`` is the
roof the paper places it under; the claim holds (tolerance, fixed before running) when that
share is at least 0.8.
"""

from __future__ import annotations

import math

from sparsim.simulator.results import RunResult
from sparsim.simulator.validate._common import run, shipped_spec
from sparsim.simulator.validate.claim import AtLeast, Claim, Config
from sparsim.workloads.layer import Layer, Workload
from sparsim.workloads.ops import Linear
from sparsim.workloads.registry import get_workload

__all__ = ["CLAIMS"]

_ACCEL = "dense_ws_128x128"
_SOURCE = "Jouppi et al., ISCA 2017, Table 1 (apps, batches) and Figure 5 (TPU roofline)"
_SHARE = 0.8  # tolerance: at least 80% of the matrix cycles under the paper's roof

# Jouppi Table 1: (app, FC layers, weights, batch)
_FC_APPS = (
    ("MLP0", 5, 20e6, 200),
    ("MLP1", 4, 5e6, 168),
    ("LSTM0", 24, 52e6, 64),
    ("LSTM1", 37, 34e6, 96),
)
# Jouppi Table 1: CNN0 batch 8, CNN1 batch 32 (ResNet-50 stands in for both); the known miss
_CNN_APPS = (
    ("CNN0", 8, ""),
    ("CNN1", 32, "at batch 32 the early 256-channel activations (25.7 MB each) exceed the "
                 "24 MiB buffer and go through DRAM: those 1x1 convs are DRAM-bound"),
)


def fc_app(name: str, layers: int, weights: float, batch: int) -> Workload:
    """``layers`` equal square FC layers holding ``weights`` in all, ``batch`` rows each."""
    width = round(math.sqrt(weights / layers))
    ops = [Layer(name=f"fc{i}", op=Linear(tokens=batch, in_features=width, out_features=width))
           for i in range(layers)]  # fmt: skip
    return Workload(name=name, layers=tuple(ops), batch=batch)


def bound_share(result: RunResult, bound: str) -> float:
    """Share of the matrix layers' cycles whose limiting resource is ``bound``."""
    matrix = [layer for layer in result.layers if layer.dense_macs > 0]
    total = sum(layer.cycles for layer in matrix)
    return sum(layer.cycles for layer in matrix if layer.bound == bound) / total


def _fc_claim(name: str, layers: int, weights: float, batch: int) -> Claim:
    width = round(math.sqrt(weights / layers))
    return Claim(
        key=f"tpu-{name.lower()}-memory-bound",
        claim=f"{name} (batch {batch}) runs under the TPU's memory slope: its weight reuse "
        f"({batch} MACs per weight byte) is below the ridge",
        source=_SOURCE,
        config=Config(accel=_ACCEL, workload=f"{name}: {layers} FC {width}x{width} (assumed "
                      f"shapes, {weights / 1e6:.0f}M weights), batch {batch}",
                      options="share of matrix cycles bound by DRAM"),
        simulate=lambda: bound_share(run(fc_app(name, layers, weights, batch),
                                         shipped_spec(_ACCEL)), "DRAM"),
        target=AtLeast(value=_SHARE),
        unit="",
    )


def _cnn_claim(name: str, batch: int, miss: str) -> Claim:
    return Claim(
        key=f"tpu-{name.lower()}-compute-bound",
        claim=f"{name} (batch {batch}) runs under the TPU's compute roof",
        source=_SOURCE,
        config=Config(accel=_ACCEL, workload=f"resnet50 (stand-in for {name}), batch {batch}",
                      options="share of matrix cycles bound by compute"),
        simulate=lambda: bound_share(run(get_workload("resnet50", batch=batch),
                                         shipped_spec(_ACCEL)), "compute"),
        target=AtLeast(value=_SHARE),
        unit="",
        expected_miss=miss,
    )


CLAIMS = (*(_fc_claim(*app) for app in _FC_APPS), *(_cnn_claim(*app) for app in _CNN_APPS))
