"""Switching activity of the RTL per useful MAC, beside the simulator's energy per useful MAC.

    python -m tests.rtl.activity [--gemms N] [--k K] [--seed S]

Builds the SAT array (P = 2, dense / 2:4 / 2:8 / 1:8 modes; 4x4 PEs) in Verilator with
tracing, runs the same kind of random tiles in each case below (``_activity_tb``), reads the
VCD and counts bit toggles per RTL signal group (``GROUPS``: each net under its canonical
name, port aliases and testbench-driven inputs left out; spare lanes and indices are fed zeros).
Dynamic energy is taken as proportional to toggles, every net weighted alike (assumed: equal
capacitance per bit), and reported per *useful* MAC (nonzero weight x activation column)
relative to the dense case.

Zero-activation gating is not in the RTL; it is evaluated on the trace of the ungated run: a
gated multiplier holds both operands while its activation is zero, so its operand nets toggle
only between the last and the next nonzero activation (``gated_operand_toggles``).

The simulator's side prices the same tiles with ``simulator.energy.energy_pj`` and its counting
rules (``simulator.plan``): one ``mac`` per issued MAC (gated ones excluded), register hops
``energy.forwarding_bytes`` (activations hop ``m / n`` times per issued MAC in N:M mode),
one index decoded per stored weight fed to the array and one mux select per issued MAC; SRAM and
DRAM are left out on both sides (the RTL has no buffers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from sparsim.accel.loader import load_spec
from sparsim.accel.rtl_params import RtlParams, rtl_params_for
from sparsim.simulator.energy import ActionCounts, energy_pj, forwarding_bytes

from tests.rtl._sim import Build, require_tools, run

SAT_MODES = ((2, 4), (2, 8), (1, 8))
ROWS = COLS = 4
# Signal groups: (group, regular expression on the dotted name). Only the canonical name of
# each net is matched (a register's ``stage``, a PE's internal signal); port aliases (``d``,
# ``q``, ``in_a``, the array's ``row_tap``/``col_tap``) and the testbench-driven inputs are
# left out. A PE's ``in_w`` is its hop register's output: counted as the multiplier's input
# and, inside ``stage``, as the register.
GROUPS = (
    ("multiplier operands", r"u_pe\.(a_sel|in_w)$"),
    ("products + adder", r"u_pe\.step_sum$"),
    ("accumulator", r"u_pe\.(acc|done)$"),
    ("index select", r"u_pe\.(g_mult\[\d+\]\.(lane|lane_of|used_of)|used)$"),
    ("operand pipeline", r"(u_skew|u_hop)\.g_regs\.stage\[\d+\]$"),
    ("drain", r"(g_drain\[\d+\]\.bus_\w+|u_drain\w*\.g_regs\.stage\[\d+\])$"),
)


@dataclass(frozen=True, slots=True)
class Case:
    """Weights pruned to ``weights`` (None: unpruned), run in ``mode`` (None: dense)."""

    name: str
    weights: tuple[int, int] | None
    mode: tuple[int, int] | None
    act_zero: float = 0.0


CASES = (
    Case("dense", None, None),
    Case("2:4 weights, dense mode", (2, 4), None),
    Case("2:4 mode", (2, 4), (2, 4)),
    Case("2:8 weights, dense mode", (2, 8), None),
    Case("2:8 mode", (2, 8), (2, 8)),
    Case("1:8 weights, dense mode", (1, 8), None),
    Case("1:8 mode (2 groups/cycle)", (1, 8), (1, 8)),
    Case("dense, 50% zero activations", None, None, 0.5),
)


# ---- VCD -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Net:
    code: str
    width: int
    names: tuple[str, ...]


def parse_vcd(lines: Iterable[str]) -> tuple[dict[str, Net], Iterator[tuple[int, str, str]]]:
    """The nets of a VCD (by id code, every dotted name it is dumped under) and an iterator
    over its value changes ``(time, code, bits)`` (``bits`` MSB first, ``x``/``z`` as 0)."""
    it = iter(lines)
    scope: list[str] = []
    names: dict[str, list[str]] = defaultdict(list)
    widths: dict[str, int] = {}
    for line in it:
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "$scope":
            scope.append(tok[2])
        elif tok[0] == "$upscope":
            scope.pop()
        elif tok[0] == "$var":
            width, code, name = int(tok[2]), tok[3], tok[4]
            widths[code] = width
            names[code].append(".".join([*scope, name]))
        elif tok[0] == "$enddefinitions":
            break
    nets = {c: Net(c, widths[c], tuple(n)) for c, n in names.items()}
    return nets, _changes(it)


def _changes(it: Iterator[str]) -> Iterator[tuple[int, str, str]]:
    time = 0
    for line in it:
        line = line.strip()
        if not line or line.startswith("$"):
            continue
        head = line[0]
        if head == "#":
            time = int(line[1:])
        elif head in "bB":
            bits, code = line[1:].split()
            yield time, code, bits.replace("x", "0").replace("z", "0")
        elif head in "01xzXZ":
            yield time, line[1:], "1" if head == "1" else "0"


def toggles(nets: dict[str, Net], changes: Iterable[tuple[int, str, str]]) -> dict[str, int]:
    """Bit flips per net: each change counts the bits that differ from the previous value
    (the first value of a net counts against all zeros)."""
    last: dict[str, int] = {}
    count: dict[str, int] = defaultdict(int)
    for _, code, bits in changes:
        value = int(bits, 2)
        count[code] += (value ^ last.get(code, 0)).bit_count()
        last[code] = value
    return {code: count.get(code, 0) for code in nets}


def group_of(net: Net) -> str | None:
    """The first ``GROUPS`` entry one of the net's names matches, else ``None`` (not counted)."""
    for group, pattern in GROUPS:
        if any(re.search(pattern, name) for name in net.names):
            return group
    return None


# ---- gating on the trace ---------------------------------------------------------------------


def gated_operand_toggles(nets: dict[str, Net], changes: list[tuple[int, str, str]],
                          data_w: int = 8) -> tuple[int, int]:
    """Multiplier-operand toggles without and with zero-activation gating.

    Each PE's ``a_sel`` and ``in_w`` hold P operands of ``data_w`` bits. Their values are
    sampled at every time stamp where one of them changes; a gated multiplier j keeps its
    operands while activation j is zero, so only a nonzero activation moves it (toggles
    counted against the operands of its last nonzero activation)."""
    pes: dict[str, dict[str, str]] = defaultdict(dict)
    for code, net in nets.items():
        for name in net.names:
            m = re.search(r"^(.*u_pe)\.(a_sel|in_w)$", name)
            if m:
                pes[m.group(1)][m.group(2)] = code
    codes = {c: pe for pe, sig in pes.items() for c in sig.values()}
    value: dict[str, int] = defaultdict(int)
    held: dict[tuple[str, int], tuple[int, int]] = {}
    plain = gated = 0
    mask = (1 << data_w) - 1

    def settle(pe: str) -> None:
        nonlocal gated
        a, w = value[pes[pe]["a_sel"]], value[pes[pe]["in_w"]]
        for j in range(nets[pes[pe]["a_sel"]].width // data_w):
            aj, wj = (a >> (j * data_w)) & mask, (w >> (j * data_w)) & mask
            if aj == 0:
                continue
            ha, hw = held.get((pe, j), (0, 0))
            gated += (aj ^ ha).bit_count() + (wj ^ hw).bit_count()
            held[(pe, j)] = (aj, wj)

    pending: set[str] = set()
    now = None
    for time, code, bits in changes:
        if code not in codes:
            continue
        if time != now:
            for pe in pending:
                settle(pe)
            pending, now = set(), time
        new = int(bits, 2)
        plain += (new ^ value[code]).bit_count()
        value[code] = new
        pending.add(codes[code])
    for pe in pending:
        settle(pe)
    return plain, gated


# ---- simulator side --------------------------------------------------------------------------


def simulator_pj(case: Case, summary: dict, params: RtlParams, gated: bool = False) -> float:
    """Array-level dynamic energy (mac + rf + metadata) of the case's tiles, priced by
    ``simulator.energy`` on ``configs/sat.yaml`` with the simulator's counting rules; ``gated``:
    zero activations gate their MACs (``mapping``'s ``mac_keep_gated``)."""
    spec = load_spec("sat")
    issued = summary["issued_macs"]
    act_keep = 1.0 - case.act_zero if gated else 1.0
    repeat = case.mode[1] / case.mode[0] if case.mode else 1.0
    stationary = params.ROWS * params.COLS * summary["tiles"]
    counts = ActionCounts(
        macs=round(issued * act_keep),
        rf_bytes=forwarding_bytes("os", issued, stationary, repeat, spec),
        metadata_indices=issued // params.COLS if case.mode else 0,
        mux_selects=issued if case.mode else 0,
    )
    parts = dict(energy_pj(counts, spec))
    return parts["mac"] + parts["rf"] + parts["metadata"]


# ---- driver ----------------------------------------------------------------------------------


def run_case(build: Build, params: RtlParams, case: Case, args: argparse.Namespace,
             index: int) -> tuple[dict, Path]:
    """Simulate one case; return its summary and VCD."""
    name = f"activity{index}"
    out = build.directory / f"{name}.json"
    env = {
        "SPARSIM_RTL_PARAMS": json.dumps(asdict(params)),
        "SPARSIM_ACT_CASE": json.dumps({"weights": case.weights, "mode": case.mode,
                                        "act_zero": case.act_zero, "gemms": args.gemms,
                                        "k": args.k, "seed": args.seed}),
        "SPARSIM_ACT_OUT": str(out),
        "COCOTB_REWRITE_ASSERTION_FILES": "_activity_tb.py _nm_tb.py",
    }
    run(build, "tests.rtl._activity_tb", env, name)
    return json.loads(out.read_text()), build.directory / name / "dump.vcd"


def measure(case: Case, summary: dict, vcd: Path) -> dict[str, float]:
    """Toggles per group, the gated operand toggles, all per useful MAC."""
    with open(vcd) as handle:
        nets, changes = parse_vcd(handle)
        events = list(changes)
    flips = toggles(nets, events)
    by_group: dict[str, int] = defaultdict(int)
    for code, n in flips.items():
        group = group_of(nets[code])
        if group is not None:
            by_group[group] += n
    plain, gated = gated_operand_toggles(nets, events)
    useful = summary["useful_macs"]
    out = {g: v / useful for g, v in by_group.items()}
    out["total"] = sum(by_group.values()) / useful
    out["total, gated"] = (sum(by_group.values()) - plain + gated) / useful
    return out


def table(rows: list[tuple[Case, dict, dict[str, float], float, float]]) -> str:
    base_rtl = rows[0][2]["total"]
    base_sim = rows[0][3] / rows[0][1]["useful_macs"]
    head = ("| case | useful MACs | cycles | RTL toggles / useful MAC | RTL rel. | "
            "of which operands | simulator pJ / useful MAC | simulator rel. |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for case, summary, rtl, sim, sim_gated in rows:
        sim_mac = sim / summary["useful_macs"]
        lines.append(
            f"| {case.name} | {summary['useful_macs']} | {summary['cycles']} | "
            f"{rtl['total']:.1f} | {rtl['total'] / base_rtl:.2f} | "
            f"{rtl.get('multiplier operands', 0.0):.1f} | {sim_mac:.3f} | "
            f"{sim_mac / base_sim:.2f} |")
        if case.act_zero:
            gated_mac = sim_gated / summary["useful_macs"]
            lines.append(
                f"| {case.name}, gated | {summary['useful_macs']} | {summary['cycles']} | "
                f"{rtl['total, gated']:.1f} | {rtl['total, gated'] / base_rtl:.2f} | | "
                f"{gated_mac:.3f} | {gated_mac / base_sim:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.rtl.activity",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--gemms", type=int, default=6, help="random GEMMs per case")
    parser.add_argument("--k", type=int, default=64, help="reduction length of each GEMM")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    require_tools("verilator")
    os.environ["SPARSIM_WAVES"] = "1"
    params = rtl_params_for("sat-activity", ROWS, COLS, 2, list(SAT_MODES))
    build = Build("verilator", params.as_verilog_parameters())
    rows = []
    for i, case in enumerate(CASES):
        summary, vcd = run_case(build, params, case, args, i)
        rows.append((case, summary, measure(case, summary, vcd),
                     simulator_pj(case, summary, params),
                     simulator_pj(case, summary, params, gated=True)))
    print(f"# {ROWS}x{COLS} SAT array, {args.gemms} GEMMs of K={args.k} per case, seed "
          f"{args.seed}; {platform.processor() or platform.machine()}")
    print(table(rows))
    groups = sorted({g for row in rows for g in row[2] if not g.startswith("total")})
    print("\nRTL toggles per useful MAC by signal group:\n")
    print("| case | " + " | ".join(groups) + " |")
    print("|---|" + "---:|" * len(groups))
    for case, _, rtl, _, _ in rows:
        print(f"| {case.name} | " + " | ".join(f"{rtl.get(g, 0.0):.2f}" for g in groups) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
