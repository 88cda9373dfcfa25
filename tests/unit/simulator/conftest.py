"""Small accelerator specs built in code, so simulator tests do not depend on configs/*.yaml."""

from __future__ import annotations

from sparsim.accel.energy import DEFAULT_ENERGY
from sparsim.accel.spec import (
    AcceleratorSpec,
    ActivationMode,
    BufferSpec,
    ComputeSpec,
    Dataflow,
    DramSpec,
    NMSupport,
    PrecisionSpec,
    SparsitySupport,
    VectorUnitSpec,
)
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Gemm

BIG_BUFFER_BYTES = 1 << 30
WIDE_PORT_BYTES_PER_CYCLE = 1 << 20
FAST_DRAM_GB_PER_S = 1e6  # 5e6 bytes per cycle at 200 MHz: transfers take 1 cycle + latency


def make_spec(
    *,
    rows: int = 4,
    cols: int = 4,
    multipliers: int = 1,
    dataflow: str = "os",
    nm: tuple[tuple[int, int], ...] = (),
    transposable: bool = False,
    group_size: int = 0,
    activation: str = "none",
    sparse_weight_gradient: bool = False,
    pregen_elements_per_cycle: int = 0,
    buffer_bytes: int = BIG_BUFFER_BYTES,
    dram_gb_per_s: float = FAST_DRAM_GB_PER_S,
    latency_cycles: int = 0,
    double_buffered: bool = True,
    lanes: int = 16,
    name: str = "test_spec",
    port_bytes_per_cycle: int = WIDE_PORT_BYTES_PER_CYCLE,
) -> AcceleratorSpec:
    """A spec at 200 MHz, int8 operands, int32 accumulators, one buffer per operand (ports
    ``port_bytes_per_cycle`` wide both ways: by default too wide to bound anything)."""
    buffer = BufferSpec(
        size_bytes=buffer_bytes,
        read_bytes_per_cycle=port_bytes_per_cycle,
        write_bytes_per_cycle=port_bytes_per_cycle,
        double_buffered=double_buffered,
    )
    return AcceleratorSpec(
        name=name,
        compute=ComputeSpec(
            rows=rows,
            cols=cols,
            multipliers_per_pe=multipliers,
            dataflow=Dataflow(dataflow),
            freq_mhz=200.0,
        ),
        sparsity=SparsitySupport(
            nm=tuple(NMSupport(n=n, m=m) for n, m in nm),
            transposable=transposable,
            group_size=group_size,
            activation=ActivationMode(activation),
            sparse_weight_gradient=sparse_weight_gradient,
            pregen_elements_per_cycle=pregen_elements_per_cycle,
        ),
        buffers=tuple((op, buffer) for op in ("weight", "input", "output")),
        dram=DramSpec(bandwidth_gb_per_s=dram_gb_per_s, latency_cycles=latency_cycles),
        precision=PrecisionSpec(),
        energy=DEFAULT_ENERGY,
        vector=VectorUnitSpec(lanes=lanes),
    )


def gemm_workload(
    m: int, n: int, k: int, *, phase: Phase = Phase.INFERENCE, **layer_kwargs
) -> Workload:
    """One GEMM layer named ``g``."""
    layer = Layer(name="g", op=Gemm(m=m, n=n, k=k), **layer_kwargs)
    return Workload(name="gemm", layers=(layer,), phase=phase)
