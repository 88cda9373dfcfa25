"""``sparsim run --model/--prune/--only/--recipe``, ``sparsim prune`` and ``sparsim inspect`` on
the small CNN of tests.onnx_models; hostile files give one ``sparsim: error:`` line."""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
import yaml
from sparsim.accel.formats import check_nm
from sparsim.simulator.cli import main
from sparsim.workloads.weightfile import load_weight_file

from tests.onnx_models import UNEVEN_LAYER, small_cnn, unstructured_spec


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("model_cli")
    onnx.save(small_cnn(), d / "small_cnn.onnx")
    (d / "unstructured_npu.yaml").write_text(yaml.safe_dump(unstructured_spec()))
    return d


def _row(out: str, layer: str) -> list[str]:
    block = out.split("sparsity by layer", 1)[1]
    line = next(ln for ln in block.splitlines() if ln.startswith(f"{layer} "))
    return line.split()


def test_run_prune_shows_an_unbalanced_layer(files, capsys):
    args = ["run", "--model", str(files / "small_cnn.onnx"), "--prune", "2:4", "--batch", "2",
            "--accel", str(files / "unstructured_npu.yaml")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    row = _row(out, UNEVEN_LAYER)
    # dil after 2:4: even channels keep 144 of 576 K positions, odd ones 288 -> mean 216,
    # busiest 288: imbalance 288 / 216 = 1.33; density (144 + 288) / 2 / 576 = 0.375
    assert row[:5] == ["dil", "--sparsity", "2:4", "0.375", "1.33x"]
    assert row[6] == "*"  # the real mask's time differs from the balanced estimate
    real, balanced = float(row[5].rstrip("x")), float(row[7].rstrip("x"))
    assert real < balanced  # the busiest lane, not the mean, sets the tile time
    assert "real mask: busiest lane 288 of 576 K positions vs mean 216.0 (imbalance 1.33x)" in out
    assert _row(out, "pw")[4] == "1.00x"  # a dense random weight prunes evenly


def test_only_and_recipe_say_which_rule_pruned_each_layer(files, capsys, tmp_path):
    model = str(files / "small_cnn.onnx")
    assert main(["run", "--model", model, "--prune", "2:4", "--only", "conv1x1"]) == 0
    out = capsys.readouterr().out
    assert _row(out, "pw")[1:3] == ["--sparsity", "2:4"]
    assert _row(out, "dil")[1:3] == ["-", "dense"]
    recipe = tmp_path / "r.yaml"
    recipe.write_text("rules:\n  - kinds: first\n    sparsity: dense\n"
                      "  - layers: 'd*'\n    sparsity: unstructured:60%\n")  # fmt: skip
    assert main(["run", "--model", model, "--recipe", str(recipe)]) == 0
    out = capsys.readouterr().out
    assert _row(out, "stem")[1:3] == ["rules[0]", "dense"]
    assert _row(out, "dil")[1:3] == ["rules[1]", "unstructured:60%"]
    assert _row(out, "dw")[1:3] == ["rules[1]", "unstructured:60%"]


def test_group_on_depthwise_is_left_dense_with_a_note_or_one_clear_error(capsys):
    # plain --sparsity prunes where the pattern fits: the 13 depthwise convs run dense and one
    # note says so (never silently "group4" on a depthwise conv)
    assert main(["run", "--workload", "mobilenet_v1", "--sparsity", "group4:50%",
                 "--accel", "mobile_npu"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert err == (
        "sparsim: note: --sparsity group4:50% cannot describe 13 depthwise conv(s) (one output "
        "channel per conv group): they run dense (blocks.0.dw, blocks.1.dw, blocks.2.dw, "
        "blocks.3.dw, ...)\n"
    )
    # asked for by kind, it is one clear error
    assert main(["run", "--workload", "mobilenet_v1", "--sparsity", "group4:50%",
                 "--only", "depthwise", "--accel", "mobile_npu"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(
        "sparsim: error: command line: --sparsity: group4:50% needs 4 output channels sharing a "
        "pattern; blocks.0.dw (depthwise conv) has 1 output channel(s) per conv group (and 12 "
        "more layers: "
    )
    assert main(["run", "--workload", "mobilenet_v1", "--sparsity", "group4:50%",
                 "--only", "conv1x1", "--accel", "mobile_npu"]) == 0  # fmt: skip


def test_prune_writes_npz_and_inspect_reads_it(files, tmp_path, capsys):
    out = tmp_path / "pruned.npz"
    assert main(["prune", str(files / "small_cnn.onnx"), "--pattern", "2:4", "--skip", "first",
                 "--out", str(out)]) == 0  # fmt: skip
    arrays = load_weight_file(out)
    dil = arrays["dil"].reshape(64, -1)
    check_nm((dil != 0).astype(np.int8), 2, 4)  # the format checker accepts the pruned weight
    assert np.count_nonzero(arrays["stem"]) == arrays["stem"].size  # first layer skipped
    capsys.readouterr()
    assert main(["inspect", str(out), "--plot", str(tmp_path / "plots")]) == 0
    text = capsys.readouterr().out
    dil_line = next(ln for ln in text.splitlines() if ln.startswith("dil "))
    assert "2:4 along K: 100% of groups" in dil_line
    # 32 even rows x 144 groups hold 1 nonzero, 32 odd rows x 144 groups hold 2
    assert re.search(r"1\.33x\s+m=4: 0/4608/4608/0/0$", dil_line)
    png = tmp_path / "plots" / "sparsity_inspect.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the pruned file bound back by layer name: detected patterns, real masks simulated
    assert main(["run", "--model", str(files / "small_cnn.onnx"), "--weights", str(out),
                 "--accel", str(files / "unstructured_npu.yaml")]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert _row(text, "dil")[1:5] == ["-", "2:4", "0.375", "1.33x"]
    assert _row(text, "stem")[1:3] == ["-", "dense"]


def test_prune_transposable_reports_kept_magnitude(files, tmp_path, capsys):
    model, out = str(files / "small_cnn.onnx"), str(tmp_path / "t.npz")
    # without --only the pattern goes where it fits: the depthwise conv stays dense, said so
    assert main(["prune", model, "--pattern", "2:4t", "--skip", "first", "--out", out]) == 0
    assert "  dw: dense (--sparsity: left dense)\n" in capsys.readouterr().out
    assert main(["prune", model, "--pattern", "2:4t", "--only", "depthwise", "--out", out]) == 2
    assert "2:4T needs groups of 4 output channels too; dw has N=1 per conv group" in (
        capsys.readouterr().err
    )
    assert main(["prune", model, "--pattern", "2:4t", "--skip", "first,depthwise",
                 "--out", out]) == 0  # fmt: skip
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "dil:" in ln)
    both, one_way = map(float, re.findall(r"([\d.]+)% ", line))
    assert 0 < both <= one_way < 100  # N:M along both axes keeps at most the one-way optimum


@pytest.mark.parametrize("suffix", [".onnx", ".npz"])
def test_hostile_files_are_one_error_line(tmp_path, capsys, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(np.random.default_rng(3).bytes(1000))
    args = ["inspect", str(path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"sparsim: error: {path}: not a readable ")
