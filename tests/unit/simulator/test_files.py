"""simulator.files: output paths checked up front, atomic writes, special files written in place."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from sparsim.simulator import files
from sparsim.simulator.files import atomic_write, check_output_dir, check_output_file
from sparsim.workloads.yamlio import ConfigError


def _raises(message: str) -> pytest.RaisesContext:
    return pytest.raises(ConfigError, match=f"^{re.escape(message)}$")


def test_atomic_write_leaves_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("old", encoding="utf-8")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("half", encoding="utf-8")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, half_then_fail)
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no temporary left over


def test_atomic_write_syncs_before_renaming(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    events: list[str] = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), replace(a, b))[1])
    atomic_write(tmp_path / "r.txt", lambda tmp: tmp.write_text("new", encoding="utf-8"))
    assert events[:2] == ["fsync", "replace"]  # the data is on disk before the name points at it
    assert (tmp_path / "r.txt").read_text(encoding="utf-8") == "new"


def test_atomic_write_gives_the_permissions_open_would(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "r.txt", lambda tmp: tmp.write_text("x", encoding="utf-8"))
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644  # 0o666 & ~0o022, not mkstemp's 0o600


def test_a_symlink_stays_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_text("old", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to("real.json")
    atomic_write(link, lambda tmp: tmp.write_text("new", encoding="utf-8"))
    assert link.is_symlink()
    assert (tmp_path / "real.json").read_text(encoding="utf-8") == "new"


def test_a_named_pipe_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    atomic_write(fifo, lambda target: target.write_text("through", encoding="utf-8"))
    reader.join(timeout=10)
    assert received == ["through"]
    assert fifo.is_fifo()  # not replaced by a regular file


def test_dev_and_proc_paths_are_written_in_place() -> None:
    """``/dev/stdout`` may resolve to a regular file another process holds open: renaming over
    it would replace the link (as root) and lose that process's output."""
    regular = 0o100644
    assert files._in_place(Path("/dev/stdout"), regular)
    assert files._in_place(Path("/proc/self/fd/1"), regular)
    assert not files._in_place(Path("/tmp/dev/stdout"), regular)


def test_output_file_checks(tmp_path: Path) -> None:
    check_output_file(tmp_path / "new.json", "--json")  # absent, folder writable: fine
    (tmp_path / "old.json").write_text("x", encoding="utf-8")
    check_output_file(tmp_path / "old.json", "--json")  # a regular file: replaced later
    with _raises(f"--json: {tmp_path} is a directory; give a file path"):
        check_output_file(tmp_path, "--json")
    with _raises(f"--json: the folder {tmp_path / 'no'} does not exist"):
        check_output_file(tmp_path / "no" / "r.json", "--json")
    with _raises(f"--json: {tmp_path / 'old.json'} is a file, not a folder"):
        check_output_file(tmp_path / "old.json" / "r.json", "--json")


def test_output_dir_checks(tmp_path: Path) -> None:
    check_output_dir(tmp_path / "new", "--out")  # made later, in an existing folder
    check_output_dir(tmp_path, "--out")
    (tmp_path / "f").write_text("x", encoding="utf-8")
    with _raises(f"--out: {tmp_path / 'f'} is a file, not a folder"):
        check_output_dir(tmp_path / "f", "--out")
    with _raises(f"--out: the folder {tmp_path / 'a'} does not exist"):
        check_output_dir(tmp_path / "a" / "b", "--out")


def test_write_error_names_the_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def fail(target: Path) -> None:
        raise OSError(28, "No space left on device")

    with _raises(f"{fifo}: cannot write: No space left on device"):
        atomic_write(fifo, fail)
