"""``sparsim dse`` and ``sparsim dse-report`` end to end (in-process, ``--workers 0``)."""

from __future__ import annotations

from pathlib import Path

from sparsim.simulator.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # PNG specification (RFC 2083), section 3.1


def test_dse_then_report(write_sweep, tmp_path: Path, capsys) -> None:
    spec, out = write_sweep(sampler={"kind": "random", "samples": 3}), tmp_path / "out"
    assert main(["dse", str(spec), "--workers", "0", "--out", str(out), "--no-progress",
                 "--no-report"]) == 0
    assert "4 designs run" in capsys.readouterr().out  # the base design + 3 samples
    # the report from the store alone
    assert main(["dse-report", str(out), "--csv", str(tmp_path / "rows.csv")]) == 0
    assert len((tmp_path / "rows.csv").read_text().splitlines()) == 1 + 4 * 2
    for stem in ("pareto", "speedup_vs_sparsity", "sensitivity"):
        assert (out / f"{stem}.png").read_bytes()[:8] == PNG_SIGNATURE
        assert (out / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
    assert "## Pareto front over latency_ms, energy_mj, area_mm2" in (out / "report.md").read_text()
    assert main(["dse", str(spec), "--workers", "0", "--out", str(out), "--no-progress",
                 "--no-report"]) == 0
    assert "0 designs run" in capsys.readouterr().out  # resumed: nothing left


def test_bad_spec_is_a_user_error(write_sweep, tmp_path: Path, capsys) -> None:
    spec = write_sweep(objectives=["speed"])
    assert main(["dse", str(spec), "--workers", "0", "--out", str(tmp_path)]) == 2
    assert "objectives[0]: must be one of" in capsys.readouterr().err
