"""The VCD toggle counter of ``tests/rtl/activity.py`` on a hand-written trace."""

from __future__ import annotations

from tests.rtl.activity import gated_operand_toggles, group_of, parse_vcd, toggles

# One PE with two 8-bit multiplier operands per port (P = 2): a_sel = {a1, a0}, in_w = {w1, w0}.
VCD = """$timescale 1ps $end
$scope module top $end
$var wire 1 ! clk $end
$scope module u_pe $end
$var wire 16 " a_sel $end
$var wire 16 # in_w $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
0!
b0 "
b0 #
#10
1!
b11 "
b100000001 #
#20
0!
b1000000000 "
b1100000011 #
"""


def test_toggles_by_hand() -> None:
    """a_sel: 0 -> 0x0003 (2 bits) -> 0x0200 (xor 0x0203: 3 bits) = 5; in_w: 0 -> 0x0101 (2)
    -> 0x0303 (xor 0x0202: 2) = 4; clk: 0 -> 1 -> 0 = 2."""
    nets, changes = parse_vcd(VCD.splitlines())
    flips = toggles(nets, changes)
    by_name = {nets[c].names[0]: n for c, n in flips.items()}
    assert by_name == {"top.clk": 2, "top.u_pe.a_sel": 5, "top.u_pe.in_w": 4}
    assert group_of(nets['"']) == "multiplier operands"
    assert group_of(nets["!"]) is None  # not a counted net


def test_gating_holds_operands_while_the_activation_is_zero() -> None:
    """Ungated: 5 + 4 = 9 operand bit flips. Gated: at #10 only multiplier 0 works (a0 = 3,
    w0 = 1 against the held zeros: 2 + 1 bits); at #20 only multiplier 1 (a1 = 2, w1 = 3:
    1 + 2 bits); multiplier 0 holds (3, 1) while a0 = 0. Total 6."""
    nets, changes = parse_vcd(VCD.splitlines())
    assert gated_operand_toggles(nets, list(changes)) == (9, 6)
