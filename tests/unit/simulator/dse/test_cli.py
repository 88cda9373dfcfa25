"""``sparsim dse`` and ``sparsim dse-report`` end to end (in-process, ``--workers 0``)."""

from __future__ import annotations

from pathlib import Path

from sparsim.simulator.cli import main


def test_dse_then_report(write_sweep, tmp_path: Path, capsys) -> None:
    spec, out = write_sweep(sampler={"kind": "random", "samples": 3}), tmp_path / "out"
    assert main(["dse", str(spec), "--workers", "0", "--out", str(out), "--no-progress",
                 "--no-report"]) == 0
    assert "4 designs run" in capsys.readouterr().out  # the base design + 3 samples
    assert main(["dse-report", str(out), "--csv", str(tmp_path / "rows.csv")]) == 0
    assert len((tmp_path / "rows.csv").read_text().splitlines()) == 1 + 4 * 2
    assert main(["dse", str(spec), "--workers", "0", "--out", str(out), "--no-progress",
                 "--no-report"]) == 0
    assert "0 designs run" in capsys.readouterr().out  # resumed: nothing left


def test_bad_spec_is_a_user_error(write_sweep, tmp_path: Path, capsys) -> None:
    spec = write_sweep(objectives=["speed"])
    assert main(["dse", str(spec), "--workers", "0", "--out", str(tmp_path)]) == 2
    assert "objectives[0]: must be one of" in capsys.readouterr().err
