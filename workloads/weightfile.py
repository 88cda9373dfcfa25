"""Weight files from users: ``.npz`` and ``.safetensors`` of named arrays, read as data only.

A file is untrusted input. Nothing in it is ever executed: ``.npz`` members are read with
``allow_pickle=False`` after their ``.npy`` headers are checked (an object array, i.e. a pickle,
is refused by name), ``.safetensors`` headers are parsed as JSON and checked before any tensor
is read. ``FileLimits`` bounds the file size, the tensor count and every dimension; anything
truncated, corrupt or over a limit raises one ``ModelFileError`` line naming the file.
"""

from __future__ import annotations

import json
import math
import struct
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sparsim.workloads.yamlio import ConfigError

__all__ = [
    "DEFAULT_LIMITS",
    "FileLimits",
    "ModelFileError",
    "check_file_size",
    "check_shape",
    "load_weight_file",
    "save_npz",
]


class ModelFileError(ConfigError):
    """A model or weight file cannot be used; the message is one line naming the file."""

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__([f"{path}: {message}"])


@dataclass(frozen=True, slots=True, kw_only=True)
class FileLimits:
    """Bounds on an untrusted file (assumed: generous for the models sparsim costs, e.g. a 7B
    LLM's largest matrix is 32000 x 4096 = 1.3e8 elements; small enough that a hostile header
    cannot make us allocate more than ``max_elements`` at once)."""

    max_file_bytes: int = 8 * 1024**3
    max_tensors: int = 10_000
    max_dim: int = 1 << 24
    max_elements: int = 1 << 30


DEFAULT_LIMITS = FileLimits()


def check_file_size(path: Path, limits: FileLimits) -> None:
    """The file exists, is a regular file, and is within ``max_file_bytes``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelFileError(path, f"cannot read: {exc.strerror or exc}") from None
    if not path.is_file():
        raise ModelFileError(path, "is not a regular file")
    if size > limits.max_file_bytes:
        raise ModelFileError(
            path, f"is {size} bytes, over the {limits.max_file_bytes}-byte limit"
        )


def check_shape(path: Path, name: str, shape: Any, limits: FileLimits) -> tuple[int, ...]:
    """``shape`` as ints within the dimension and element limits, or ``ModelFileError``."""
    if not isinstance(shape, list | tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in shape
    ):
        raise ModelFileError(path, f"tensor {name!r}: bad shape {shape!r}")
    for d in shape:
        if d < 0 or d > limits.max_dim:
            raise ModelFileError(
                path, f"tensor {name!r}: dimension {d} outside 0..{limits.max_dim} (limit)"
            )
    if math.prod(shape) > limits.max_elements:
        raise ModelFileError(
            path, f"tensor {name!r}: {math.prod(shape)} elements, over the "
            f"{limits.max_elements}-element limit",
        )  # fmt: skip
    return tuple(shape)


def _check_count(path: Path, count: int, limits: FileLimits) -> None:
    if count > limits.max_tensors:
        raise ModelFileError(path, f"holds {count} tensors, over the {limits.max_tensors} limit")


# ---------------------------------------------------------------------------------------------
# .npz


def _npy_header(zf: zipfile.ZipFile, member: str) -> tuple[tuple[int, ...], np.dtype]:
    with zf.open(member) as f:
        version = np.lib.format.read_magic(f)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read(f)
    return shape, dtype


def _check_npz_member(path: Path, zf: zipfile.ZipFile, member: str, limits: FileLimits) -> None:
    name = member.removesuffix(".npy")
    if not member.endswith(".npy"):
        raise ModelFileError(path, f"member {member!r} is not a .npy array")
    try:
        shape, dtype = _npy_header(zf, member)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelFileError(path, f"array {name!r} has a corrupt header ({exc})") from None
    if dtype.hasobject:
        raise ModelFileError(
            path, f"array {name!r} is a pickled object array; refused (weights are data, never "
            "code: save plain numeric arrays)",
        )  # fmt: skip
    check_shape(path, name, list(shape), limits)


def _load_npz(path: Path, limits: FileLimits) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
            _check_count(path, len(members), limits)
            for member in members:
                _check_npz_member(path, zf, member, limits)
        with np.load(path, allow_pickle=False) as data:
            return {name: np.asarray(data[name]) for name in data.files}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ModelFileError(
            path, f"not a readable .npz file (truncated or corrupt: {exc})"
        ) from None


def save_npz(path: str | Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write named plain arrays to an ``.npz`` (uncompressed: zlib takes seconds on a
    ResNet; object arrays refused)."""
    path = Path(path)
    for name, a in arrays.items():
        if a.dtype.hasobject:
            raise ModelFileError(path, f"array {name!r} is an object array; not saved")
    np.savez(path, **dict(arrays))  # type: ignore[arg-type]  # numpy's stub: allow_pickle
    return path


# ---------------------------------------------------------------------------------------------
# .safetensors (8-byte little-endian header length, a JSON header, then raw tensor bytes)

_SAFETENSORS_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}  # fmt: skip


def _safetensors_header(path: Path, limits: FileLimits) -> tuple[dict[str, Any], int]:
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ModelFileError(path, "not a .safetensors file (truncated before its header)")
        (length,) = struct.unpack("<Q", head)
        if length > size - 8 or length > 100 * 1024**2:
            raise ModelFileError(path, f"not a .safetensors file (header length {length} "
                                 f"does not fit the {size}-byte file)")  # fmt: skip
        try:
            header = json.loads(f.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ModelFileError(path, "not a .safetensors file (corrupt JSON header)") from None
    if not isinstance(header, dict):
        raise ModelFileError(path, "not a .safetensors file (the header is not a JSON object)")
    header.pop("__metadata__", None)
    return header, size - 8 - length


def _check_safetensors_entry(path: Path, name: str, entry: Any, data_bytes: int,
                             limits: FileLimits) -> None:  # fmt: skip
    if not isinstance(entry, dict) or entry.get("dtype") not in _SAFETENSORS_DTYPES:
        raise ModelFileError(path, f"tensor {name!r}: unsupported or missing dtype")
    shape = check_shape(path, name, entry.get("shape"), limits)
    offsets = entry.get("data_offsets")
    itemsize = np.dtype(_SAFETENSORS_DTYPES[entry["dtype"]]).itemsize
    ok = (
        isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
        and 0 <= offsets[0] <= offsets[1] <= data_bytes
        and offsets[1] - offsets[0] == math.prod(shape) * itemsize
    )  # fmt: skip
    if not ok:
        raise ModelFileError(
            path, f"tensor {name!r}: data offsets {offsets!r} do not fit the file (truncated?)"
        )


def _load_safetensors(path: Path, limits: FileLimits) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file  # optional dependency (extra ``import``)

    header, data_bytes = _safetensors_header(path, limits)
    _check_count(path, len(header), limits)
    for name, entry in header.items():
        _check_safetensors_entry(path, name, entry, data_bytes, limits)
    try:
        return dict(load_file(str(path)))
    except Exception as exc:  # the parser's own errors: report, never a traceback
        raise ModelFileError(path, f"not a readable .safetensors file ({exc})") from None


_READERS = {".npz": _load_npz, ".safetensors": _load_safetensors}


def load_weight_file(
    path: str | Path, limits: FileLimits = DEFAULT_LIMITS
) -> dict[str, np.ndarray]:
    """Named arrays of a ``.npz`` or ``.safetensors`` file, checked (module docstring)."""
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise ModelFileError(path, f"unknown weight file type; use {', '.join(_READERS)}")
    check_file_size(path, limits)
    return reader(path, limits)
