"""The Markdown table and ``sparsim validate`` (exit codes, --out)."""

from __future__ import annotations

import pytest
from sparsim.simulator.cli import main
from sparsim.simulator.validate import registry
from sparsim.simulator.validate.claim import AtLeast, Claim, Config, Within, evaluate
from sparsim.simulator.validate.table import render_markdown


def _claim(key: str, value: float, target, **marks: str) -> Claim:
    return Claim(key=key, claim="speeds | up", source="Paper, Table 2",
                 config=Config(accel="sat", workload="resnet18", sparsity="2:8t",
                               phase="training", options="batch 16"),
                 simulate=lambda: value, target=target, **marks)  # fmt: skip


def test_row_shows_every_column() -> None:
    text = render_markdown([evaluate(_claim("sat", 1.6, Within(value=1.75, rel=0.1)))])
    row = text.splitlines()[-1]
    assert row == (
        "| **sat**: speeds \\| up | Paper, Table 2 | sat, resnet18, 2:8t, training; batch 16 "
        "| 1.6 × | 1.75 × | -8.6% | ±10% | pass |"
    )
    assert "1 rows: 1 pass." in text


def test_known_miss_and_calibration_say_why() -> None:
    text = render_markdown([
        evaluate(_claim("a", 0.5, AtLeast(value=0.8), expected_miss="no unified buffer")),
        evaluate(_claim("b", 1.75, Within(value=1.75, rel=0.1), calibration="clock fit")),
    ])  # fmt: skip
    assert "| FAIL (known: no unified buffer) |" in text
    assert "| calibration: clock fit |" in text
    assert "2 rows: 1 FAIL (known), 1 calibration." in text


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ([("ok", 1.7, Within(value=1.75, rel=0.1), {})], 0),
        ([("ok", 1.7, Within(value=1.75, rel=0.1), {}), ("bad", 1.0, AtLeast(value=1.5), {})], 1),
        ([("known", 1.0, AtLeast(value=1.5), {"expected_miss": "lacks x"})], 0),
        ([("stale", 2.0, AtLeast(value=1.5), {"expected_miss": "lacks x"})], 1),
    ],
)
def test_validate_exit_code(monkeypatch, tmp_path, capsys, claims, code: int) -> None:
    monkeypatch.setattr(registry, "CLAIMS", tuple(_claim(k, v, t, **m) for k, v, t, m in claims))
    out = tmp_path / "v.md"
    assert main(["validate", "--out", str(out)]) == code
    assert out.read_text(encoding="utf-8").count("\n| **") == len(claims)
    if code:
        assert "validation failed" in capsys.readouterr().err


def test_validate_to_stdout(monkeypatch, capsys) -> None:
    monkeypatch.setattr(registry, "CLAIMS", (_claim("ok", 1.7, Within(value=1.75, rel=0.1)),))
    assert main(["validate"]) == 0
    assert capsys.readouterr().out.startswith("# Validation against published results")


def test_validate_refuses_unwritable_out(tmp_path, capsys) -> None:
    assert main(["validate", "--out", str(tmp_path / "missing" / "v.md")]) == 2
    assert "--out" in capsys.readouterr().err
