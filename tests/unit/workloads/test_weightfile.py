"""Untrusted model and weight files: truncated, corrupt, oversized and hostile inputs are each
rejected with one ModelFileError line naming the file (messages pinned here)."""

from __future__ import annotations

import json
import struct

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from safetensors.numpy import save_file
from sparsim.workloads.onnx_import import load_onnx
from sparsim.workloads.weightfile import FileLimits, ModelFileError, load_weight_file

from tests.onnx_models import small_cnn


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def _raises(call, *args, **kwargs) -> str:
    with pytest.raises(ModelFileError) as err:
        call(*args, **kwargs)
    return _one_line(err)


@pytest.fixture
def cnn_bytes() -> bytes:
    return small_cnn().SerializeToString()


# --------------------------------------------------------------------------------------------
# ONNX


def test_random_bytes_onnx(tmp_path):
    path = tmp_path / "random.onnx"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    assert _raises(load_onnx, path) == f"{path}: not a readable ONNX model (truncated or corrupt)"


def test_truncated_onnx(tmp_path, cnn_bytes):
    path = tmp_path / "cut.onnx"
    path.write_bytes(cnn_bytes[: len(cnn_bytes) // 2])
    assert _raises(load_onnx, path) == f"{path}: not a readable ONNX model (truncated or corrupt)"


def test_oversized_onnx(tmp_path, cnn_bytes):
    path = tmp_path / "big.onnx"
    path.write_bytes(cnn_bytes)
    message = _raises(load_onnx, path, limits=FileLimits(max_file_bytes=1000))
    assert message == f"{path}: is {len(cnn_bytes)} bytes, over the 1000-byte limit"


def _model_with(tensor: TensorProto) -> onnx.ModelProto:
    node = helper.make_node("Gemm", ["x", tensor.name], ["y"], name="fc")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[tensor],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_external_data_outside_the_folder(tmp_path):
    (tmp_path / "secret.bin").write_bytes(b"\0" * 64)
    inner = tmp_path / "model"
    inner.mkdir()
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 4])
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../secret.bin"
    path = inner / "evil.onnx"
    path.write_bytes(_model_with(tensor).SerializeToString())
    assert _raises(load_onnx, path) == (
        f"{path}: tensor 'w': external data '../secret.bin' lies outside the model's folder; "
        "refused"
    )


def test_a_two_to_the_31_element_dimension(tmp_path):
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**31, 1])
    path = tmp_path / "huge.onnx"
    path.write_bytes(_model_with(tensor).SerializeToString())
    assert _raises(load_onnx, path) == (
        f"{path}: tensor 'w': dimension 2147483648 outside 0..16777216 (limit)"
    )


def test_too_many_tensors(tmp_path, cnn_bytes):
    path = tmp_path / "m.onnx"
    path.write_bytes(cnn_bytes)
    message = _raises(load_onnx, path, limits=FileLimits(max_tensors=3))
    assert message == f"{path}: holds 10 tensors, over the 3 limit"


# --------------------------------------------------------------------------------------------
# .npz


def test_pickle_inside_an_npz_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.array([{"os": "system"}], dtype=object))  # a pickled object array
    assert _raises(load_weight_file, path) == (
        f"{path}: array 'w' is a pickled object array; refused (weights are data, never code: "
        "save plain numeric arrays)"
    )


def test_truncated_and_random_npz(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, w=np.ones((64, 64), np.float32))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:3000])
    assert _raises(load_weight_file, cut).startswith(
        f"{cut}: not a readable .npz file (truncated or corrupt: "
    )
    noise = tmp_path / "noise.npz"
    noise.write_bytes(np.random.default_rng(1).bytes(2048))
    assert _raises(load_weight_file, noise) == (
        f"{noise}: not a readable .npz file (truncated or corrupt: File is not a zip file)"
    )


def test_npz_dimension_limit(tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, w=np.zeros((3, 40), np.int8))
    message = _raises(load_weight_file, path, FileLimits(max_dim=32))
    assert message == f"{path}: tensor 'w': dimension 40 outside 0..32 (limit)"


# --------------------------------------------------------------------------------------------
# .safetensors


def test_safetensors_truncated_random_and_huge(tmp_path):
    good = tmp_path / "good.safetensors"
    save_file({"w": np.ones((8, 8), np.float32)}, str(good))
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good.read_bytes()[:-10])
    assert _raises(load_weight_file, cut) == (
        f"{cut}: tensor 'w': data offsets [0, 256] do not fit the file (truncated?)"
    )
    noise = tmp_path / "noise.safetensors"
    noise.write_bytes(np.random.default_rng(2).bytes(512))
    assert _raises(load_weight_file, noise).startswith(
        f"{noise}: not a .safetensors file (header length "
    )
    header = json.dumps({"w": {"dtype": "F32", "shape": [2**31], "data_offsets": [0, 4]}})
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", len(header)) + header.encode() + b"\0" * 4)
    assert _raises(load_weight_file, huge) == (
        f"{huge}: tensor 'w': dimension 2147483648 outside 0..16777216 (limit)"
    )


def test_unknown_suffix_and_missing_file(tmp_path):
    assert _raises(load_weight_file, tmp_path / "w.pt") == (
        f"{tmp_path / 'w.pt'}: unknown weight file type; use .npz, .safetensors"
    )
    assert _raises(load_weight_file, tmp_path / "w.npz") == (
        f"{tmp_path / 'w.npz'}: cannot read: No such file or directory"
    )
