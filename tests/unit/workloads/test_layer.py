"""Layer and Workload: validation, totals and the pruning/phase helpers."""

import pytest
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Gemm, Linear, MatMul, Vector, VectorKind
from sparsim.workloads.sparsity import NM, Dense, Unstructured


def _workload(**kwargs) -> Workload:
    layers = (
        Layer(name="fc", op=Linear(tokens=4, in_features=8, out_features=16)),
        Layer(name="qk", op=MatMul(batch=2, m=4, n=4, k=8)),
        Layer(name="act", op=Vector(kind=VectorKind.ACTIVATION, elements=64)),
    )
    return Workload(name="tiny", layers=layers, **kwargs)


def test_layer_defaults() -> None:
    layer = Layer(name="g", op=Gemm(m=2, n=3, k=4))
    assert isinstance(layer.weight_sparsity, Dense)
    assert isinstance(layer.act_sparsity, Dense)
    # unset dtypes mean "the accelerator's precision for that operand role"
    assert (layer.weight_dtype, layer.act_dtype, layer.kv_dtype) == (None, None, None)
    assert (layer.psum_dtype, layer.grad_dtype, layer.weight_quant) == (None, None, None)
    assert layer.macs == 24
    assert not layer.is_vector


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "name must not be empty"),
        ({"weight_dtype": "int3"}, "weight_dtype must be one of int2, int4, int8"),
        ({"kv_dtype": "fp8"}, r"kv_dtype must be one of .*fp8_e4m3, fp8_e5m2.*not 'fp8'"),
        ({"act_dtype": "fp8"}, "act_dtype must be one of"),
        ({"op": MatMul(batch=1, m=2, n=2, k=2), "weight_sparsity": NM(n=2, m=4)}, "no weight"),
        ({"op": Vector(kind="norm", elements=4), "weight_sparsity": NM(n=2, m=4)}, "no weight"),
    ],
)
def test_layer_rejects(kwargs: dict, message: str) -> None:
    base = {"name": "x", "op": Gemm(m=2, n=2, k=2)}
    with pytest.raises(ValueError, match=message):
        Layer(**(base | kwargs))


def test_weightless_op_may_have_sparse_activations() -> None:
    layer = Layer(
        name="av", op=MatMul(batch=1, m=2, n=2, k=2), act_sparsity=Unstructured(density=0.5)
    )
    assert layer.act_sparsity.density == 0.5


def test_workload_totals() -> None:
    w = _workload()
    assert w.macs == 4 * 8 * 16 + 2 * 4 * 4 * 8  # vector work adds no MACs
    assert w.weight_elements == 8 * 16 + 16
    assert _workload(extra_weight_elements=100).weight_elements == 8 * 16 + 16 + 100


def test_workload_validation() -> None:
    with pytest.raises(ValueError, match="no layers"):
        Workload(name="empty", layers=())
    dup = Layer(name="a", op=Gemm(m=1, n=1, k=1))
    with pytest.raises(ValueError, match=r"duplicate layer names \['a'\]"):
        Workload(name="dup", layers=(dup, dup))
    with pytest.raises(ValueError, match="extra_weight_elements must be an int >= 0"):
        _workload(extra_weight_elements=-1)


def test_phase_accepts_string_and_enum() -> None:
    assert _workload(phase="training").phase is Phase.TRAINING
    assert _workload().phase is Phase.INFERENCE
    assert _workload().with_phase("training").phase is Phase.TRAINING
    with pytest.raises(ValueError, match="'serving'"):
        _workload(phase="serving")


def test_with_weight_sparsity_prunes_only_weighted_layers() -> None:
    pattern = NM(n=2, m=8)
    pruned = _workload(extra_weight_elements=7).with_weight_sparsity(pattern)
    by_name = {layer.name: layer for layer in pruned.layers}
    assert by_name["fc"].weight_sparsity == pattern
    assert isinstance(by_name["qk"].weight_sparsity, Dense)
    assert isinstance(by_name["act"].weight_sparsity, Dense)
    assert pruned.extra_weight_elements == 7
    assert pruned.macs == _workload().macs  # pruning describes the weight; dense MACs unchanged
