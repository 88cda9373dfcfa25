"""Per-tensor precision: which dtype each operand of a (layer, pass) has, as a spec to plan with.

A layer names the dtypes of its tensors (``workloads.layer.Layer``: weights, activations, KV
cache, partial sums, gradients); the accelerator's ``PrecisionSpec`` supplies the rest by
operand role. ``problem_precision`` resolves one problem's operands:

==============  ==========================  ==========================  ======================
pass            A (``input``)               B (``weight``)              C (``output``)
==============  ==========================  ==========================  ======================
``FW``          activation                  weight; a ``MatMul``'s B    activation
                                            is the KV cache
``BW_DATA``     gradient                    as ``FW``                   gradient
``BW_WEIGHT``   activation                  gradient                    gradient
``VECTOR``      activation (``dequant``:    (optimizer: weight)         activation (``dequant``:
                the stored weight)                                      the array's weight)
==============  ==========================  ==========================  ======================

An unset activation or gradient dtype is the spec's ``input`` (A) or ``output`` (C) one, an
unset weight the spec's ``weight``, partial sums its ``accumulator``; the KV cache defaults to
the layer's activation dtype, else the spec's ``input`` (it is made of activations; it used to
be charged at the weight precision). A quantized weight (``Layer.weight_quant``) carries its
scale and zero-point bits per stored value (``PrecisionSpec.weight_scale_bits``). A weight
format the spec does not consume natively (``PrecisionSpec.supports_weight``) reaches the
multipliers as the spec's own ``weight`` format (``mac_weight``), after a ``dequant`` pass on
the vector unit (``dequant_problem``, ``simulator.lower``).

``spec_for`` gives the spec with a problem's precision, one object per (spec, precision), so
every per-spec cache of the traffic model and the mapper keeps working; a problem whose
precision is the spec's own gets ``spec`` itself (results unchanged).
"""

from __future__ import annotations

from dataclasses import replace

from sparsim.accel.spec import AcceleratorSpec, PrecisionSpec, precision_bits
from sparsim.simulator.lower import DEQUANT_OP, Problem
from sparsim.simulator.mapping import Exploit
from sparsim.simulator.memory import b_storage_rates
from sparsim.simulator.objects import PerObject
from sparsim.simulator.results import Pass
from sparsim.workloads.layer import DTYPE_FIELDS, Layer
from sparsim.workloads.ops import MatMul

__all__ = ["dequant_needed", "dequant_problem", "problem_precision", "spec_for",
           "uses_spec_precision"]


def _b_dtype(layer: Layer, base: PrecisionSpec) -> str:
    """B of the forward GEMM: the weight, or a ``MatMul``'s KV cache (module docstring)."""
    if isinstance(layer.op, MatMul):
        return layer.kv_dtype or layer.act_dtype or base.input
    return layer.weight_dtype or base.weight


def _operands(layer: Layer, problem: Problem, base: PrecisionSpec) -> tuple[str, str, str]:
    """(A, B, C) dtypes of ``problem`` (module docstring's table)."""
    act_in, act_out = layer.act_dtype or base.input, layer.act_dtype or base.output
    grad_in, grad_out = layer.grad_dtype or base.input, layer.grad_dtype or base.output
    weight = layer.weight_dtype or base.weight
    if problem.pass_ == Pass.FW:
        return act_in, _b_dtype(layer, base), act_out
    if problem.pass_ == Pass.BW_DATA:
        return grad_in, _b_dtype(layer, base), grad_out
    if problem.pass_ == Pass.BW_WEIGHT:
        return act_in, layer.grad_dtype or base.weight, grad_out
    if problem.op == DEQUANT_OP:
        return weight, weight, base.weight
    return act_in, weight, act_out


def _plain(layer: Layer) -> bool:
    """No dtype of ``layer`` set: every operand takes the spec's precision for its role."""
    return layer.weight_quant is None and all(getattr(layer, f) is None for f in DTYPE_FIELDS)


def _reads_weight(layer: Layer, problem: Problem) -> bool:
    """Whether B of ``problem`` is the layer's weight (forward and backward-data passes)."""
    return (layer.op.has_weight and not isinstance(layer.op, MatMul)
            and problem.pass_ in (Pass.FW, Pass.BW_DATA))  # fmt: skip


def uses_spec_precision(layer: Layer) -> bool:
    """Whether every problem of ``layer`` runs at the spec's own precision
    (``problem_precision`` returns its ``base``): no dtype set, and not a ``MatMul`` (whose B
    is an activation)."""
    return _plain(layer) and not isinstance(layer.op, MatMul)


def problem_precision(layer: Layer, problem: Problem, base: PrecisionSpec) -> PrecisionSpec:
    """``problem``'s operand dtypes as a ``PrecisionSpec`` (``base`` itself when they are the
    spec's own); module docstring."""
    if uses_spec_precision(layer):
        return base
    a, b, c = _operands(layer, problem, base)
    scale_bits, mac_weight = 0.0, ""
    if _reads_weight(layer, problem):
        if layer.weight_quant is not None:
            scale_bits = layer.weight_quant.overhead_bits(precision_bits(b))
        if not base.supports_weight(b):
            mac_weight = base.weight
    if problem.op == DEQUANT_OP and layer.weight_quant is not None:
        scale_bits = layer.weight_quant.overhead_bits(precision_bits(b))
    derived = replace(base, weight=b, input=a, output=c,
                      accumulator=layer.psum_dtype or base.accumulator,
                      weight_scale_bits=scale_bits, mac_weight=mac_weight)  # fmt: skip
    return base if derived == base else derived


def dequant_needed(layer: Layer, base: PrecisionSpec) -> bool:
    """Whether ``layer``'s stored weights need the vector unit before the array reads them."""
    return not base.supports_weight(layer.weight_dtype or base.weight)


def dequant_problem(problem: Problem, exploit: Exploit) -> Problem:
    """A ``dequant`` problem over the weights the forward pass stores under ``exploit`` (a
    pruned weight is neither stored nor dequantized)."""
    stored = b_storage_rates(exploit, 1.0)[0]
    per = problem.vector_flops / problem.vector_elements
    elements = max(1, round(problem.vector_elements * stored))
    return replace(problem, vector_elements=elements, vector_flops=round(elements * per))


_SPECS_KEPT = 64
"""Derived specs kept (``spec_for``); emptied at this size."""

_derived: PerObject[AcceleratorSpec, AcceleratorSpec] = PerObject(
    lambda spec, precision: replace(spec, precision=precision), _SPECS_KEPT
)


def spec_for(spec: AcceleratorSpec, precision: PrecisionSpec) -> AcceleratorSpec:
    """``spec`` with ``precision``, one object per (spec object, precision)
    (``simulator.objects``); ``spec`` itself for its own precision."""
    return spec if precision is spec.precision else _derived(spec, precision)
