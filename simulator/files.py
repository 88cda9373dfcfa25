"""Output files: checked before a run starts, written whole or not at all, special files kept.

``check_output_file`` / ``check_output_dir`` run before the simulation, so a wrong path costs
milliseconds, not a finished run. ``atomic_write`` writes a regular file through a temporary
file in the same folder that is flushed to disk (``fsync``) and renamed over the target, so a
reader never sees half a file and a crash leaves the old one. A target that exists and is not
a regular file (``/dev/stdout``, ``/dev/null``, ``/dev/full``, a named pipe) is written to
directly, as is any path under ``/dev`` or ``/proc``: renaming over it would replace the
device node or the link (as root) instead of writing through it. A symbolic link to a regular
file keeps the link: the file it names is replaced.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from sparsim.workloads.yamlio import ConfigError, file_kind

__all__ = ["atomic_write", "check_output_dir", "check_output_file"]

_SPECIAL_FOLDERS = ("/dev/", "/proc/")


def _mode(path: Path) -> int | None:
    """``st_mode`` following links, or ``None`` if nothing is there."""
    try:
        return path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # the folder check says which part is wrong
        return None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot use as output: {exc.strerror or exc}"]) from None


def _is_stream(mode: int) -> bool:
    """Written to in place: character devices (``/dev/null``, a terminal) and named pipes."""
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _check_folder(folder: Path, what: str) -> None:
    mode = _mode(folder)
    if mode is None:
        raise ConfigError([f"{what}: the folder {folder} does not exist"])
    if not stat.S_ISDIR(mode):
        raise ConfigError([f"{what}: {folder} is {file_kind(mode)}, not a folder"])
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError([f"{what}: cannot write in the folder {folder} (permission denied)"])


def check_output_file(path: str | Path, what: str = "") -> None:
    """Raise ``ConfigError`` unless ``path`` can be written: absent with a writable folder, a
    writable regular file, or a character device or named pipe (written in place). ``what``
    names the option in the message (``--json``)."""
    path = Path(path)
    what = what or str(path)
    mode = _mode(path)
    if mode is None or stat.S_ISREG(mode):
        _check_folder(path.parent, what)
        if mode is not None and not os.access(path, os.W_OK):
            raise ConfigError([f"{what}: {path} is read-only"])
        return
    if not _is_stream(mode):
        raise ConfigError([f"{what}: {path} is {file_kind(mode)}; give a file path"])
    if not os.access(path, os.W_OK):
        raise ConfigError([f"{what}: cannot write to {path} (permission denied)"])


def check_output_dir(path: str | Path, what: str = "") -> None:
    """Raise ``ConfigError`` unless ``path`` is a writable folder or can be made in one."""
    path = Path(path)
    what = what or str(path)
    mode = _mode(path)
    if mode is None:
        _check_folder(path.parent, what)
    elif not stat.S_ISDIR(mode):
        raise ConfigError([f"{what}: {path} is {file_kind(mode)}, not a folder"])
    elif not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError([f"{what}: cannot write in the folder {path} (permission denied)"])


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(target)`` (its result is ignored) to produce ``path``.

    A regular or absent ``path``: ``target`` is a fresh temporary file next to it, synced to
    disk and renamed over ``path`` (atomic on POSIX); on any error it is removed and ``path``
    is left untouched. An existing character device or named pipe: ``target`` is ``path``
    itself (module docstring). Missing parent folders are made.
    """
    path = Path(path)
    mode = _mode(path)
    if mode is not None and not (stat.S_ISREG(mode) or _is_stream(mode)):
        raise ConfigError([f"{path}: is {file_kind(mode)}; give a file path"])
    try:
        if mode is not None and _in_place(path, mode):
            write(path)
        else:
            _replace(Path(os.path.realpath(path)), write)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot write: {exc.strerror or exc}"]) from None
    return path


def _in_place(path: Path, mode: int) -> bool:
    """A device, a pipe, or a path under ``/dev`` or ``/proc`` (``/dev/stdout`` is a link to
    ``/proc/self/fd/1``, which may name a regular file another process holds open)."""
    return _is_stream(mode) or str(path.absolute()).startswith(_SPECIAL_FOLDERS)


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a synced temporary file renamed over ``path`` (a resolved path: renaming
    over a symbolic link would replace the link, not the file it names)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp(path)
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _new_temp(path: Path) -> Path:
    """A new empty file next to ``path`` with the permissions a plain ``open`` would give
    (``mkstemp``'s 0600 would stick to the renamed result)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return tmp


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: some file systems refuse a folder fsync)."""
    with contextlib.suppress(OSError):
        _fsync(folder)
