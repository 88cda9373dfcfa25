"""Workload YAML files: the shipped example, and every kind of mistake reported with its path."""

import re
from importlib import resources
from pathlib import Path

import pytest
from sparsim.workloads.layer import Phase
from sparsim.workloads.ops import Conv2d, Gemm, Linear, MatMul, Vector, VectorKind
from sparsim.workloads.sparsity import NM, Dense, Unstructured
from sparsim.workloads.yaml_workload import load_workload_yaml
from sparsim.workloads.yamlio import ConfigError

_GOOD_LAYER = "  - name: fc1\n    gemm: {m: 4, n: 8, k: 16}\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "w.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_workload_yaml(path)
    prefix = f"{path}: "
    assert all(line.startswith(prefix) for line in info.value.problems)
    return [line.removeprefix(prefix) for line in info.value.problems]


def _layers(body: str) -> str:
    return f"name: bad\nlayers:\n{body}"


def test_example_loads() -> None:
    path = resources.files("sparsim.configs") / "workloads" / "example_layers.yaml"
    w = load_workload_yaml(str(path))
    assert (w.name, w.phase, w.batch) == ("example_layers", Phase.INFERENCE, 1)
    layers = {layer.name: layer for layer in w.layers}
    assert [layer.name for layer in w.layers][:3] == ["conv1", "conv1_relu", "dw"]
    conv1 = layers["conv1"].op
    assert conv1 == Conv2d(
        batch=1,
        in_channels=3,
        out_channels=64,
        height=224,
        width=224,
        kernel=(7, 7),
        stride=(2, 2),
        padding=(3, 3),
    )
    assert (
        layers["conv1_relu"].op.elements == conv1.out_channels * conv1.out_height * conv1.out_width
    )
    assert layers["dw"].op.is_depthwise and layers["dw"].op.kernel == (3, 3)
    assert layers["fc1"].op == Gemm(m=128, n=512, k=256)
    assert layers["fc1"].weight_sparsity == NM(n=2, m=8)
    assert layers["fc1"].act_sparsity == Unstructured(density=0.5)
    assert layers["proj"].op == Linear(tokens=128, in_features=512, out_features=768, bias=False)
    assert layers["proj"].weight_sparsity == NM(n=2, m=4, transposable=True)
    assert layers["attn"].op == MatMul(batch=12, m=128, n=128, k=64)
    assert layers["softmax"].op == Vector(kind=VectorKind.SOFTMAX, elements=12 * 128 * 128)
    assert layers["softmax"].op.elements == layers["attn"].op.gemm().count * 128 * 128


def test_minimal_file_defaults(tmp_path: Path) -> None:
    w = load_workload_yaml(
        _write(
            tmp_path,
            "name: w\nphase: training\nbatch: 4\nlayers:\n"
            "  - name: c\n    conv2d: {in_channels: 2, out_channels: 2, height: 5, width: 5}\n",
        )
    )
    assert w.phase is Phase.TRAINING
    conv = w.layers[0].op
    assert (conv.batch, conv.kernel, conv.stride, conv.padding) == (4, (3, 3), (1, 1), (0, 0))
    assert isinstance(w.layers[0].weight_sparsity, Dense)
    assert w.input_gradient  # a file may be a slice of a network: every gradient by default


def test_input_gradient_is_read_and_checked(tmp_path: Path) -> None:
    text = f"name: w\ninput_gradient: false\nlayers:\n{_GOOD_LAYER}"
    assert not load_workload_yaml(_write(tmp_path, text)).input_gradient
    errors = _errors(tmp_path, f"name: w\ninput_gradient: no_thanks\nlayers:\n{_GOOD_LAYER}")
    assert errors == ["input_gradient: must be true or false, not 'no_thanks' (a string)"]


def test_vector_tensor_elements_default_to_the_work(tmp_path: Path) -> None:
    w = load_workload_yaml(
        _write(
            tmp_path,
            "name: w\nlayers:\n"
            "  - name: pool\n    vector: {kind: pool, elements: 36, read_elements: 16,"
            " written_elements: 4}\n"
            "  - name: relu\n    vector: {kind: activation, elements: 4}\n",
        )
    )
    pool, relu = (layer.op for layer in w.layers)
    assert (pool.elements, pool.read_elements, pool.written_elements, pool.flops) == (36, 16, 4, 36)
    assert (relu.read_elements, relu.written_elements) == (4, 4)
    with pytest.raises(ValueError, match="read_elements must be an int >= 0"):
        Vector(kind=VectorKind.POOL, elements=4, read_elements=-1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # unknown keys, top level and inside an op
        (
            "name: w\nlayer:\n" + _GOOD_LAYER,
            [
                "layer: unknown key; did you mean 'layers'? allowed keys are batch, "
                "input_gradient, layers, name, phase",
                "layers: required key is missing",
            ],
        ),
        (
            _layers("  - name: c\n    gemm: {m: 4, n: 8, k: 16, kk: 2}\n"),
            [
                "layers[0].gemm.kk: unknown key; did you mean 'k'? allowed keys are has_weight, "
                "k, m, n"
            ],
        ),
        # missing keys
        ("layers:\n" + _GOOD_LAYER, ["name: required key is missing"]),
        (_layers("  - gemm: {m: 4, n: 8, k: 16}\n"), ["layers[0].name: required key is missing"]),
        (
            _layers("  - name: c\n    conv2d: {in_channels: 3, height: 8, width: 8}\n"),
            ["layers[0].conv2d.out_channels: required key is missing"],
        ),
        # wrong types
        (
            _layers("  - name: g\n    gemm: {m: four, n: 8, k: 16}\n"),
            ["layers[0].gemm.m: must be an integer, not 'four' (a string)"],
        ),
        (
            _layers("  - name: g\n    gemm: {m: true, n: 8, k: 16}\n"),
            ["layers[0].gemm.m: must be an integer, not true (a bool)"],
        ),
        (
            _layers(
                "  - name: l\n    linear: {tokens: 1, in_features: 2, out_features: 3, bias: 1}\n"
            ),
            ["layers[0].linear.bias: must be true or false, not 1 (an int)"],
        ),
        ("name: w\nbatch: 0\nlayers:\n" + _GOOD_LAYER, ["batch: must be >= 1, not 0"]),
        (
            "name: w\nphase: serving\nlayers:\n" + _GOOD_LAYER,
            ["phase: must be one of inference, training, not 'serving' (a string)"],
        ),
        (
            "name: w\nlayers: {fc1: 1}\n",
            ["layers: must be a list of mappings, not a mapping"],
        ),
        (
            "name: w\nlayers: []\n",
            ["layers: must be a non-empty list of mappings, not an empty list"],
        ),
        (
            "- name: w\n",
            ["<root>: must be a mapping with keys name, phase, batch, input_gradient, layers, "
             "not a list"],
        ),
        (_layers("  - fc1\n"), ["layers[0]: must be a mapping, not 'fc1' (a string)"]),
        (
            _layers(
                "  - name: c\n    conv2d: {in_channels: 3, out_channels: 4, height: 8, width: 8,"
                " stride: [1, 2, 3]}\n"
            ),
            ["layers[0].conv2d.stride: must be an int or a list of two ints >= 1, not a list"],
        ),
        (
            _layers(
                "  - name: c\n    conv2d: {in_channels: 3, out_channels: 4, height: 8, width: 8,"
                " padding: -1}\n"
            ),
            [
                "layers[0].conv2d.padding: must be an int or a list of two ints >= 0, "
                "not -1 (an int)"
            ],
        ),
        (
            _layers("  - name: v\n    vector: {kind: gelu, elements: 8}\n"),
            [
                "layers[0].vector.kind: must be one of elementwise, pool, norm, softmax, "
                "activation, "
                "optimizer, not 'gelu' (a string)"
            ],
        ),
        (
            _layers(_GOOD_LAYER + "    weight_dtype: int3\n"),
            [
                "layers[0].weight_dtype: must be one of int2, int4, int8, int16, int32, "
                "fp8_e4m3, fp8_e5m2, fp16, bf16, fp32, not 'int3' (a string)"
            ],
        ),
        # op keys
        (
            _layers(
                "  - name: x\n    gemm: {m: 1, n: 1, k: 1}\n    linear: {tokens: 1, in_features: 1,"
                " out_features: 1}\n"
            ),
            [
                "layers[0]: needs exactly one op key of gemm, linear, conv2d, matmul, vector; "
                "found gemm, linear"
            ],
        ),
        (
            _layers("  - name: x\n"),
            [
                "layers[0]: needs exactly one op key of gemm, linear, conv2d, matmul, vector; "
                "found none"
            ],
        ),
        # sparsity strings
        (
            _layers(_GOOD_LAYER + "    weight_sparsity: '2:9x'\n"),
            ["layers[0].weight_sparsity: '2:9x' is not a sparsity; use dense, N:M"],
        ),
        (
            _layers(_GOOD_LAYER + "    weight_sparsity: '8:8'\n"),
            ["layers[0].weight_sparsity: N:M: n must be an int with 1 <= n < m=8, not 8"],
        ),
        (
            _layers(_GOOD_LAYER + "    act_sparsity: 0.5\n"),
            [
                "layers[0].act_sparsity: must be a string such as 2:8 or unstructured:50%, "
                "not 0.5 (a float)"
            ],
        ),
        (
            _layers(_GOOD_LAYER + "    act_sparsity: 'unstructured:100%'\n"),
            [
                "layers[0].act_sparsity: 'unstructured:100%': "
                "the percentage of zeros must be in [0, 100)"
            ],
        ),
        # cross-field rules from the IR
        (
            _layers(
                "  - name: a\n    matmul: {batch: 2, m: 4, n: 4, k: 4}\n"
                "    weight_sparsity: '2:4'\n"
            ),
            ["layers[0]: Layer a: MatMul has no weight to prune"],
        ),
        (
            _layers(
                "  - name: c\n    conv2d: {in_channels: 3, out_channels: 4, height: 8, width: 8,"
                " groups: 2}\n"
            ),
            ["layers[0].conv2d: Conv2d: groups=2 must divide in_channels=3 and out_channels=4"],
        ),
        (
            _layers(
                "  - name: c\n    conv2d: {in_channels: 3, out_channels: 4, height: 2, width: 2,"
                " kernel: 5}\n"
            ),
            ["layers[0].conv2d: Conv2d: the kernel does not fit the padded input"],
        ),
        # duplicate layer names
        (
            _layers(_GOOD_LAYER + _GOOD_LAYER),
            ["layers[1].name: duplicate layer name 'fc1' (see layers[0])"],
        ),
    ],
)
def test_bad_workload_yaml(tmp_path: Path, text: str, expected: list[str]) -> None:
    errors = _errors(tmp_path, text)
    assert len(errors) == len(expected), errors
    for line, want in zip(errors, expected, strict=True):
        assert line.startswith(want), (line, want)


def test_duplicate_yaml_key_is_rejected(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "name: a\nname: b\nlayers:\n" + _GOOD_LAYER)
    assert errors == ["line 2, column 1: duplicate key 'name' (first at line 1)"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        "name: w\nbatch: -2\nlayers:\n"
        "  - name: a\n    gemm: {m: 0, n: 8, k: 16}\n    weight_sparsity: 'dense?'\n"
        "  - name: b\n    vector: {kind: pool}\n"
    )
    errors = _errors(tmp_path, text)
    assert [re.sub(r":.*", "", e, count=1) for e in errors] == [
        "batch",
        "layers[0].weight_sparsity",
        "layers[0].gemm.m",
        "layers[1].vector.elements",
    ]


def test_error_message_format_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, _layers("  - name: g\n    gemm: {m: 4, n: 8, k: 0}\n"))
    with pytest.raises(
        ConfigError, match=re.escape(f"{path}: layers[0].gemm.k: must be >= 1, not 0")
    ):
        load_workload_yaml(path)


def test_yaml_1_2_numbers_and_unquoted_nm(tmp_path: Path) -> None:
    """PyYAML's YAML 1.1 reads an unquoted 2:8 as the base-60 number 128 and 1e3 as a string;
    the strict loader follows YAML 1.2: 2:8 is the text "2:8", 1e3 the float 1000.0."""
    w = load_workload_yaml(_write(tmp_path, _layers(_GOOD_LAYER + "    weight_sparsity: 2:8\n")))
    assert w.layers[0].weight_sparsity == NM(n=2, m=8)
    errors = _errors(tmp_path, _layers("  - name: g\n    gemm: {m: 1e3, n: 8, k: 16}\n"))
    assert errors == ["layers[0].gemm.m: must be an integer, not 1000.0 (a float)"]
