"""Registry: zoo lookup by name, parameters, YAML paths, and the package's public names."""

from importlib import resources

import pytest
from sparsim.workloads import zoo
from sparsim.workloads.registry import ZOO, get_workload, list_models
from sparsim.workloads.yamlio import ConfigError

from sparsim import workloads

_MODELS = [
    "bert_base",
    "gpt2",
    "llama2_7b",
    "llama2_7b_decode",
    "mobilenet_v1",
    "mobilenet_v2",
    "resnet18",
    "resnet50",
    "tinyllama_1b",
    "tinyllama_1b_decode",
    "vgg16",
    "vit_b16",
]


def _example_path() -> str:
    return str(resources.files("sparsim.configs") / "workloads" / "example_layers.yaml")


def test_list_models() -> None:
    assert list_models() == _MODELS
    assert ZOO["resnet50"] is zoo.resnet50


def test_get_workload_builds_the_zoo_model() -> None:
    assert get_workload("resnet18") == zoo.resnet18()
    assert get_workload("gpt2", batch=2, seq_len=64) == zoo.gpt2(batch=2, seq_len=64)
    decode = get_workload("llama2_7b_decode", kv_len=16)
    assert next(layer.op for layer in decode.layers if layer.name == "layers.0.attn.qk").n == 16


def test_unknown_model_names_the_available_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown model 'resnet34'; available models: bert_base, gpt2, "
    ):
        get_workload("resnet34")


def test_unknown_parameter() -> None:
    with pytest.raises(
        ConfigError, match="model resnet18: unknown parameter seq_len; allowed: batch, image_size"
    ):
        get_workload("resnet18", seq_len=128)


def test_bad_parameter_value_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"model gpt2: seq_len must be an int in \[1, 1024\]"):
        get_workload("gpt2", seq_len=4096)
    with pytest.raises(ConfigError, match="model vgg16: batch must be an int >= 1"):
        get_workload("vgg16", batch=0)


def test_get_workload_loads_yaml_by_path() -> None:
    w = get_workload(_example_path())
    assert w.name == "example_layers"
    assert w == workloads.load_workload_yaml(_example_path())


def test_yaml_path_takes_no_parameters() -> None:
    with pytest.raises(ConfigError, match="batch and model parameters come from the file"):
        get_workload(_example_path(), batch=4)


def test_missing_yaml_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        get_workload(str(tmp_path / "nope.yaml"))


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_package_exports_sorted_public_names() -> None:
    assert workloads.__all__ == sorted(workloads.__all__, key=_isort_key)
    assert all(hasattr(workloads, name) for name in workloads.__all__)
    assert zoo.__all__ == sorted(zoo.__all__, key=_isort_key)
    assert {"Workload", "get_workload", "load_workload_yaml", "parse_sparsity"} <= set(
        workloads.__all__
    )
