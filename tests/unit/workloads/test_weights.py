"""workloads.weights: named arrays bound to a zoo model by layer name, pruned, saved and loaded
back with the same masks; binding errors name the layer."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import save_file
from sparsim.workloads import get_workload
from sparsim.workloads.recipe import recipe_from_flags
from sparsim.workloads.sparsity import Dense
from sparsim.workloads.weightfile import load_weight_file, save_npz
from sparsim.workloads.weights import bind_weights, expected_shape, prune_weights, with_masks
from sparsim.workloads.yamlio import ConfigError


def _resnet_arrays(workload, seed=0):
    rng = np.random.default_rng(seed)
    return {
        f"{ly.name}.weight": rng.standard_normal(expected_shape(ly.op)).astype(np.float32)
        for ly in workload.layers
        if ly.op.has_weight
    }


@pytest.fixture(scope="module")
def resnet():
    return get_workload("resnet18", image_size=32)


def test_prune_save_load_gives_the_same_mask(resnet, tmp_path):
    weights = bind_weights(resnet, _resnet_arrays(resnet), "mem")
    # the 1x1 downsample convs and the classifier: small enough to keep the test fast
    recipe = recipe_from_flags("2:4", only="conv1x1,linear")
    pruned_wl, pruned, _ = prune_weights(resnet, weights, recipe)
    for path in (tmp_path / "p.npz", tmp_path / "p.safetensors"):
        if path.suffix == ".npz":
            save_npz(path, pruned)
        else:
            save_file({k: np.ascontiguousarray(v) for k, v in pruned.items()}, str(path))
        loaded = with_masks(resnet, bind_weights(resnet, load_weight_file(path), str(path)))
        for before, after in zip(pruned_wl.layers, loaded.layers, strict=True):
            if isinstance(before.weight_sparsity, Dense):
                assert isinstance(after.weight_sparsity, Dense)  # dense random weights
                continue
            assert np.array_equal(before.weight_sparsity.mask, after.weight_sparsity.mask)
            assert str(after.weight_sparsity) == "2:4"


def test_binding_errors_name_the_layer(resnet):
    arrays = _resnet_arrays(resnet)
    arrays["layer1.0.conv1.weight"] = np.zeros((64, 64, 1, 3), np.float32)
    arrays["layer9.conv.weight"] = np.zeros((1, 1), np.float32)
    del arrays["fc.weight"]
    arrays["layer1.0.bn1.weight"] = np.ones(64, np.float32)  # BatchNorm scale: not a matrix
    with pytest.raises(ConfigError) as err:
        bind_weights(resnet, arrays, "w.npz")
    assert str(err.value).splitlines() == [
        "w.npz: layer layer1.0.conv1: array 'layer1.0.conv1.weight' has shape (64, 64, 1, 3), "
        "the model needs (64, 64, 3, 3)",
        "w.npz: array 'layer9.conv.weight' names no layer of resnet18 (did you mean "
        "'layer4.1.conv2'?)",
        "w.npz: no array for layer fc (shape (1000, 512))",
    ]
