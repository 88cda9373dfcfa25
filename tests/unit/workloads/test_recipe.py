"""workloads.recipe: op kinds, --only/--skip, ordered YAML rules with strict validation, misfit
patterns rejected with the layer named; BatchNorm folded at inference, kept in training."""

from __future__ import annotations

from pathlib import Path

import pytest
from sparsim.simulator.lower import lower
from sparsim.workloads import get_workload
from sparsim.workloads.layer import Phase
from sparsim.workloads.ops import Vector
from sparsim.workloads.recipe import (
    LEFT_DENSE,
    apply_recipe,
    layer_kinds,
    left_dense_note,
    load_recipe,
    recipe_from_flags,
)
from sparsim.workloads.sparsity import NM, Dense, Group
from sparsim.workloads.yamlio import ConfigError


@pytest.fixture(scope="module")
def mnv1():
    return get_workload("mobilenet_v1")


def test_kinds_of_mobilenet_layers(mnv1):
    kinds = layer_kinds(mnv1)
    assert kinds["stem"] == {"conv", "first"}
    assert kinds["blocks.0.dw"] == {"depthwise"}
    assert kinds["blocks.0.pw"] == {"conv", "conv1x1"}
    assert kinds["fc"] == {"linear", "last"}
    bert = layer_kinds(get_workload("bert_base"))
    assert bert["encoder.0.attn.qkv"] == {"linear", "attention", "first"}
    assert bert["encoder.0.attn.qk"] == {"attention"}
    assert bert["encoder.0.mlp.fc1"] == {"linear"}


def test_only_conv1x1_prunes_exactly_the_pointwise_convs(mnv1):
    pruned, table = apply_recipe(mnv1, recipe_from_flags("2:4", only="conv1x1"))
    rules = {a.layer: a.rule for a in table}
    # MobileNet-v1: 13 pointwise convs (one per depthwise-separable block), nothing else
    assert sorted(n for n, r in rules.items() if r) == sorted(f"blocks.{i}.pw" for i in range(13))
    by_name = {ly.name: ly for ly in pruned.layers}
    assert by_name["blocks.3.pw"].weight_sparsity == NM(n=2, m=4)
    assert by_name["blocks.3.dw"].weight_sparsity == Dense()
    assert by_name["stem"].weight_sparsity == Dense() and by_name["fc"].weight_sparsity == Dense()


def test_skip_first_last_depthwise(mnv1):
    _, table = apply_recipe(mnv1, recipe_from_flags("2:4", skip="first,last,depthwise"))
    pruned = {a.layer for a in table if a.rule}
    assert pruned == {f"blocks.{i}.pw" for i in range(13)}


def test_bare_sparsity_leaves_misfitting_depthwise_dense_and_says_so(mnv1):
    # MobileNet-v1: stem conv, 13 (depthwise, pointwise) pairs, fc. group4 cannot describe a
    # depthwise conv (one output channel per conv group): a bare --sparsity prunes the other 15
    # weighted layers and marks the 13 depthwise ones "left dense", never silently group4.
    pruned, table = apply_recipe(mnv1, recipe_from_flags("group4:50%"))
    rules = {a.layer: a.rule for a in table}
    dws = [f"blocks.{i}.dw" for i in range(13)]
    assert all(rules[n] == f"--sparsity: {LEFT_DENSE}" for n in dws)
    assert sum(rule == "--sparsity" for rule in rules.values()) == 15
    layers = {ly.name: ly for ly in pruned.layers}
    assert all(isinstance(layers[n].weight_sparsity, Dense) for n in dws)
    assert str(layers["blocks.0.pw"].weight_sparsity) == "group4:50%"
    assert left_dense_note(table, "group4:50%") == (
        "--sparsity group4:50% cannot describe 13 depthwise conv(s) (one output channel per "
        "conv group): they run dense (blocks.0.dw, blocks.1.dw, blocks.2.dw, blocks.3.dw, ...)"
    )


def test_group_on_depthwise_asked_for_is_rejected_naming_the_layer(mnv1):
    with pytest.raises(ConfigError) as err:
        apply_recipe(mnv1, recipe_from_flags("group4:50%", only="conv1x1,depthwise"))
    # one line for the rule: the first misfit in full, the other 12 depthwise layers by name
    assert str(err.value) == (
        "command line: --sparsity: group4:50% needs 4 output channels sharing a pattern; "
        "blocks.0.dw (depthwise conv) has 1 output channel(s) per conv group (and 12 more "
        "layers: blocks.1.dw, blocks.2.dw, blocks.3.dw, blocks.4.dw, blocks.5.dw, ...); "
        "leave depthwise out of --only to run them dense"
    )


def test_unknown_kind_is_rejected():
    with pytest.raises(ConfigError, match="--only: unknown kind conv3x3; allowed: conv, conv1x1"):
        recipe_from_flags("2:4", only="conv3x3")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def test_yaml_rules_are_ordered_and_the_table_names_the_rule(tmp_path, mnv1):
    path = _write(tmp_path, """
rules:
  - kinds: [first, last]
    sparsity: dense
  - layers: "blocks.1[0-2].*"
    kinds: conv1x1
    sparsity: "1:4"
    weight_dtype: int4
  - kinds: conv1x1
    sparsity: group4:50%
""")
    pruned, table = apply_recipe(mnv1, load_recipe(path))
    rules = {a.layer: (a.rule, str(a.pattern)) for a in table}
    assert rules["stem"] == ("rules[0]", "dense")
    assert rules["fc"] == ("rules[0]", "dense")
    assert rules["blocks.11.pw"] == ("rules[1]", "1:4")
    assert rules["blocks.3.pw"] == ("rules[2]", "group4:50%")
    assert rules["blocks.3.dw"] == ("", "dense")
    by_name = {ly.name: ly for ly in pruned.layers}
    assert by_name["blocks.12.pw"].weight_dtype == "int4"
    assert by_name["blocks.3.pw"].weight_sparsity == Group(size=4, density=0.5)


def test_yaml_problems_are_all_reported_with_their_paths(tmp_path):
    path = _write(tmp_path, """
rules:
  - kinds: conv3x3
    sparsity: "2:4"
  - layers: "fc"
    sparsity: "3:3"
    weight_dtpye: int8
  - sparsity: dense
""")
    with pytest.raises(ConfigError) as err:
        load_recipe(path)
    assert str(err.value).splitlines() == [
        f"{path}: rules[0].kinds: unknown kind conv3x3; allowed: conv, conv1x1, depthwise, "
        "linear, attention, first, last",
        f"{path}: rules[1].weight_dtpye: unknown key; did you mean 'weight_dtype'? allowed keys "
        "are act_dtype, kinds, layers, sparsity, weight_dtype",
        f"{path}: rules[1].sparsity: N:M: n must be an int with 1 <= n < m=3, not 3",
        f"{path}: rules[2]: needs layers (name globs) or kinds (op kinds) to say what it matches",
    ]


def test_a_rule_matching_nothing_is_an_error(tmp_path, mnv1):
    path = _write(tmp_path, "rules:\n  - layers: 'layer4.*'\n    sparsity: '2:4'\n")
    with pytest.raises(ConfigError, match=r"rules\[0\]: matches no layer of mobilenet_v1"):
        apply_recipe(mnv1, load_recipe(path))


def test_duplicate_keys_are_rejected(tmp_path):
    path = _write(tmp_path, "rules:\n  - kinds: conv\n    kinds: linear\n    sparsity: dense\n")
    with pytest.raises(ConfigError, match="duplicate key 'kinds'"):
        load_recipe(path)


# --------------------------------------------------------------------------------------------
# BatchNorm folding


def test_batchnorm_is_folded_at_inference_and_kept_in_training(mnv1):
    bn = [ly.name for ly in mnv1.layers if isinstance(ly.op, Vector) and ly.op.folds_at_inference]
    assert len(bn) == 27  # stem + 13 x (dw, pw): every conv of MobileNet-v1 has a BatchNorm
    inference = {p.layer for p in lower(mnv1)}
    training = {p.layer for p in lower(mnv1.with_phase(Phase.TRAINING))}
    assert not inference.intersection(bn)
    assert set(bn) <= training
    assert "blocks.0.dw_relu" in inference  # the activation stays
