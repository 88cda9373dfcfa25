"""Lowering: passes, GEMM shapes and which operand is sparse along which axis."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
from sparsim.simulator.lower import (
    BACKWARD_VECTOR_FACTOR,
    fusion_producers,
    gradient_notes,
    lower,
    transpose_pattern,
)
from sparsim.simulator.mapping import Exploit
from sparsim.simulator.results import Pass
from sparsim.workloads.layer import Layer, Phase, Workload
from sparsim.workloads.ops import Conv2d, Linear, MatMul, Vector, VectorKind
from sparsim.workloads.registry import get_workload
from sparsim.workloads.sparsity import NM, Block, Dense, Group, Unstructured


def _workload(*layers: Layer, phase: Phase = Phase.INFERENCE) -> Workload:
    return Workload(name="w", layers=layers, phase=phase)


FC = Linear(tokens=6, in_features=40, out_features=24)  # GEMM (m, n, k) = (6, 24, 40)


def test_inference_is_one_forward_problem_per_matrix_op():
    w = _workload(Layer(name="fc", op=FC, weight_sparsity=NM(n=2, m=4)))
    (p,) = lower(w)
    assert (p.pass_, p.m, p.n, p.k, p.count) == (Pass.FW, 6, 24, 40, 1)
    assert p.b_pattern == NM(n=2, m=4)


def test_training_passes_shapes_and_sparse_operand():
    w = _workload(
        Layer(name="fc", op=FC, weight_sparsity=NM(n=2, m=8, transposable=True)),
        phase=Phase.TRAINING,
    )
    fw, bw_data, bw_weight, update, pregen = lower(w)
    # issue: FW (m, n, k); BW_DATA (m, k, n) reduction over n; BW_WEIGHT (k, n, m) over m
    assert (fw.pass_, fw.m, fw.n, fw.k) == (Pass.FW, 6, 24, 40)
    assert (bw_data.pass_, bw_data.m, bw_data.n, bw_data.k) == (Pass.BW_DATA, 6, 40, 24)
    assert (bw_weight.pass_, bw_weight.m, bw_weight.n, bw_weight.k) == (Pass.BW_WEIGHT, 40, 24, 6)
    assert bw_data.b_pattern == NM(n=2, m=8, axis="k", transposable=True)
    assert bw_weight.b_pattern == Dense()
    assert bw_weight.weight_density == 0.25
    assert (update.pass_, update.op) == (Pass.VECTOR, "optimizer")
    assert update.vector_elements == FC.weight_elements
    assert update.vector_flops == 4 * FC.weight_elements  # SGD momentum: 4 FLOPs per weight
    assert (pregen.pass_, pregen.pregen_elements) == (Pass.PREGEN, FC.weight_elements)


def test_activation_density_goes_to_the_passes_that_read_the_activations():
    # X is A in FW (Y = X·W) and in BW_WEIGHT (dW = Xᵀ·dY); BW_DATA's A is the output gradient
    # dY, dense. Half of X is zero.
    w = _workload(Layer(name="fc", op=FC, act_sparsity=Unstructured(density=0.5)),
                  phase=Phase.TRAINING)  # fmt: skip
    fw, bw_data, bw_weight, _update = lower(w)
    assert [p.pass_ for p in (fw, bw_data, bw_weight)] == [Pass.FW, Pass.BW_DATA, Pass.BW_WEIGHT]
    assert [p.a_density for p in (fw, bw_data, bw_weight)] == [0.5, 1.0, 0.5]


def test_non_transposable_nm_is_not_nm_along_backward_reduction():
    w = _workload(Layer(name="fc", op=FC, weight_sparsity=NM(n=2, m=8)), phase=Phase.TRAINING)
    bw_data = lower(w)[1]
    assert bw_data.b_pattern == Unstructured(density=0.25)


def test_dense_training_has_no_pregen():
    w = _workload(Layer(name="fc", op=FC), phase=Phase.TRAINING)
    passes = [p.pass_ for p in lower(w)]
    assert passes == [Pass.FW, Pass.BW_DATA, Pass.BW_WEIGHT, Pass.VECTOR]


def test_attention_matmul_training_is_three_dense_passes():
    mm = MatMul(batch=8, m=16, n=16, k=64)
    w = _workload(Layer(name="qk", op=mm), phase=Phase.TRAINING)
    problems = lower(w)
    assert [p.pass_ for p in problems] == [Pass.FW, Pass.BW_DATA, Pass.BW_WEIGHT]
    assert all(p.b_pattern == Dense() and p.count == 8 for p in problems)
    assert [(p.m, p.n, p.k) for p in problems] == [(16, 16, 64), (16, 64, 16), (64, 16, 16)]


def test_conv_groups_become_count():
    dw = Conv2d(batch=1, in_channels=8, out_channels=8, height=6, width=6, groups=8)
    (p,) = lower(_workload(Layer(name="dw", op=dw)))
    assert (p.m, p.n, p.k, p.count) == (16, 1, 9, 8)  # 4x4 outputs, 1 channel, 3x3 taps


def test_conv_backward_data_is_the_transposed_convolution():
    # 3x3 conv, 64 -> 64 channels on 56x56, stride 1, padding 1 (ResNet layer1): FW is
    # (m, n, k) = (3136 pixels, 64 out channels, 64 x 9 = 576); dX pixel reduces over the
    # 64 output channels of each of the 9 taps reaching it: (3136, 64 in channels, 576), not
    # the col2im (3136, 576, 64). MACs 3136 * 64 * 576 = 115,605,504 in both passes.
    conv = Conv2d(batch=1, in_channels=64, out_channels=64, height=56, width=56, padding=(1, 1))
    w = _workload(Layer(name="c", op=conv, weight_sparsity=NM(n=2, m=8, transposable=True)),
                  phase=Phase.TRAINING)  # fmt: skip
    fw, bw_data, bw_weight = lower(w)[:3]
    assert (fw.m, fw.n, fw.k) == (3136, 64, 576)
    assert (bw_data.pass_, bw_data.m, bw_data.n, bw_data.k) == (Pass.BW_DATA, 3136, 64, 576)
    assert bw_data.m * bw_data.n * bw_data.k == 115_605_504
    assert bw_data.b_pattern == NM(n=2, m=8, axis="k", transposable=True)
    assert (bw_weight.m, bw_weight.n, bw_weight.k) == (576, 64, 3136)


def test_stride_two_backward_data_keeps_the_forward_macs():
    # 3x3 stride 2, 16 -> 32 channels on 8x8 (4x4 outputs): dX's 2x2 sub-pixel phases share
    # the 9 taps, so the GEMM keeps the 16 output pixels: (16, 16, 32 x 9 = 288).
    conv = Conv2d(batch=1, in_channels=16, out_channels=32, height=8, width=8, stride=(2, 2),
                  padding=(1, 1))  # fmt: skip
    fw, bw_data = lower(_workload(Layer(name="c", op=conv), phase=Phase.TRAINING))[:2]
    assert (fw.m, fw.n, fw.k) == (16, 32, 144)
    assert (bw_data.m, bw_data.n, bw_data.k) == (16, 16, 288)


def _passes(w: Workload) -> list[tuple[str, Pass, bool]]:
    return [(p.layer, p.pass_, p.backward) for p in lower(w)]


def test_no_input_gradient_drops_the_first_weighted_layers_backward_data():
    # an input normalization, then conv -> relu, then fc: with input_gradient off the input
    # needs no gradient, so the norm's backward and the conv's BW_DATA go; the relu's backward
    # (on the way to the conv's weights) and everything of fc stay.
    conv = Conv2d(batch=1, in_channels=3, out_channels=4, height=4, width=4, padding=(1, 1))
    layers = (_vector("norm", VectorKind.NORM), Layer(name="conv", op=conv),
              _vector("relu", VectorKind.ACTIVATION), Layer(name="fc", op=FC))  # fmt: skip
    full = Workload(name="w", layers=layers, phase=Phase.TRAINING)
    data = dataclasses.replace(full, input_gradient=False)
    gone = set(_passes(full)) - set(_passes(data))
    assert gone == {("norm", Pass.VECTOR, True), ("conv", Pass.BW_DATA, False)}
    assert ("fc", Pass.BW_DATA, False) in _passes(data)
    assert ("relu", Pass.VECTOR, True) in _passes(data)
    inference = dataclasses.replace(data, phase=Phase.INFERENCE)
    assert _passes(inference) == _passes(dataclasses.replace(full, phase=Phase.INFERENCE))


def test_the_run_notes_the_skipped_backward_data():
    conv = Conv2d(batch=1, in_channels=3, out_channels=4, height=4, width=4, padding=(1, 1))
    work = Workload(name="w", layers=(Layer(name="conv", op=conv), Layer(name="fc", op=FC)),
                    phase=Phase.TRAINING, input_gradient=False)  # fmt: skip
    assert gradient_notes(work) == (
        "no bw_data for conv: the workload's input is data and needs no gradient "
        "(input_gradient: false)",
    )
    assert gradient_notes(dataclasses.replace(work, input_gradient=True)) == ()
    assert gradient_notes(dataclasses.replace(work, phase=Phase.INFERENCE)) == ()


def test_image_models_need_no_input_gradient_and_transformers_do():
    # a CNN's first conv reads the image; BERT's first layers read trainable embeddings
    resnet = lower(get_workload("resnet18").with_phase(Phase.TRAINING))
    assert ("stem.conv1", Pass.BW_DATA) not in {(p.layer, p.pass_) for p in resnet}
    assert ("layer1.0.conv1", Pass.BW_DATA) in {(p.layer, p.pass_) for p in resnet}
    bert = get_workload("bert_base").with_phase(Phase.TRAINING)
    assert bert.input_gradient
    first = next(ly.name for ly in bert.layers
                 if ly.op.has_weight and not isinstance(ly.op, Vector))  # fmt: skip
    assert (first, Pass.BW_DATA) in {(p.layer, p.pass_) for p in lower(bert)}


def test_vector_work_is_kept_and_backward_costs_twice():
    norm = Vector(kind=VectorKind.NORM, elements=1000)
    (inf,) = lower(_workload(Layer(name="bn", op=norm)))
    fw, bw = lower(_workload(Layer(name="bn", op=norm), phase=Phase.TRAINING))
    assert (inf.pass_, inf.vector_flops, inf.backward) == (Pass.VECTOR, 5000, False)
    assert (fw.vector_flops, fw.backward) == (5000, False)
    assert (bw.pass_, bw.backward) == (Pass.VECTOR, True)
    assert bw.vector_flops == BACKWARD_VECTOR_FACTOR * 5000 == 10000
    assert bw.vector_elements == 2 * 1000


def _vector(name: str, kind: VectorKind) -> Layer:
    return Layer(name=name, op=Vector(kind=kind, elements=100))


def test_fusion_follows_chains_after_a_matrix_layer():
    # conv -> bn -> relu -> add fuse with conv; pool breaks the chain, so the relu after it
    # and the softmax stay standalone; fc -> relu fuses with fc.
    conv = Conv2d(batch=1, in_channels=4, out_channels=4, height=4, width=4, padding=(1, 1))
    w = _workload(
        Layer(name="conv", op=conv),
        _vector("bn", VectorKind.NORM),
        _vector("relu", VectorKind.ACTIVATION),
        _vector("add", VectorKind.ELEMENTWISE),
        _vector("pool", VectorKind.POOL),
        _vector("relu2", VectorKind.ACTIVATION),
        Layer(name="fc", op=FC),
        _vector("relu3", VectorKind.ACTIVATION),
        _vector("softmax", VectorKind.SOFTMAX),
    )
    assert fusion_producers(w) == {"bn": "conv", "relu": "conv", "add": "conv", "relu3": "fc"}
    fused = {p.layer: p.fused_with for p in lower(w) if p.pass_ == Pass.VECTOR}
    assert fused == {"bn": "conv", "relu": "conv", "add": "conv", "pool": "", "relu2": "",
                     "relu3": "fc", "softmax": ""}  # fmt: skip


def test_transpose_pattern_moves_the_mask():
    mask = np.zeros((8, 4), dtype=bool)
    mask[::4, :] = True
    t = transpose_pattern(Unstructured(density=0.25, mask=mask))
    assert np.array_equal(t.mask, mask.T)
    assert transpose_pattern(NM(n=1, m=4, axis="n")) == NM(n=1, m=4, axis="k")
    assert transpose_pattern(Block(rows=2, cols=4, density=0.5)) == Block(
        rows=4, cols=2, density=0.5
    )
    assert transpose_pattern(Group(size=4, density=0.5)) == Unstructured(density=0.5)
    assert transpose_pattern(Dense()) == Dense()


def test_kept_hash_is_the_dataclass_hash_and_is_not_pickled():
    # lower.HashedOnce keeps a Problem's, ConvShape's and Exploit's hash after first use: it must
    # be the hash of the compared fields (what the dataclass made: sets iterate as before),
    # equal problems hash alike, and a pickled copy (another process's string hashes) must
    # work its own out again.
    conv = Conv2d(in_channels=8, out_channels=16, kernel=(3, 3), height=10, width=10,
                  padding=(1, 1), batch=2)  # fmt: skip
    w = Workload(name="w", layers=(Layer(name="c", op=conv),))
    problem = next(p for p in lower(w) if p.conv is not None)
    for obj in (problem, problem.conv, Exploit(nm=(2, 4), weight_keep=0.5, notes=("n",))):
        compared = tuple(getattr(obj, f.name) for f in dataclasses.fields(obj) if f.compare)
        assert hash(obj) == hash(compared) and obj._hash == hash(compared)
        copy = pickle.loads(pickle.dumps(obj))
        assert copy == obj and copy._hash == 0 and hash(copy) == hash(obj)
    renamed = dataclasses.replace(problem, layer="other")
    assert renamed != problem and renamed._hash == 0
    assert hash(dataclasses.replace(renamed, layer="c")) == hash(problem)
