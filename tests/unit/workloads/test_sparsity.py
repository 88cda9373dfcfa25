"""Sparsity patterns: validation errors and the parse_sparsity CLI syntax."""

import numpy as np
import pytest
from sparsim.workloads.sparsity import (
    NM,
    Block,
    Dense,
    Group,
    SparsityError,
    Unstructured,
    parse_sparsity,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dense", Dense()),
        (" Dense ", Dense()),
        ("2:8", NM(n=2, m=8)),
        ("2:8t", NM(n=2, m=8, transposable=True)),
        ("2:4T", NM(n=2, m=4, transposable=True)),
        ("1:16", NM(n=1, m=16)),
        ("group4:50%", Group(size=4, density=0.5)),
        ("unstructured:70%", Unstructured(density=0.3)),
        ("block4x4:25%", Block(rows=4, cols=4, density=0.75)),
        ("block2x8:0%", Block(rows=2, cols=8, density=1.0)),
        ("unstructured:12.5%", Unstructured(density=0.875)),
    ],
)
def test_parse_sparsity_forms(text: str, expected: object) -> None:
    parsed = parse_sparsity(text)
    assert type(parsed) is type(expected)
    assert parsed.density == pytest.approx(expected.density)
    if isinstance(expected, NM):
        assert parsed == expected
        assert parsed.axis == "k"


def test_parsed_density_is_fraction_of_nonzeros() -> None:
    # a percentage is the share of zeros: 70 % zeros leaves 30 % nonzeros
    assert parse_sparsity("unstructured:70%").density == pytest.approx(0.3)
    assert parse_sparsity("group4:50%").density == pytest.approx(0.5)
    assert parse_sparsity("2:8").density == 0.25


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8:8", "n must be an int with 1 <= n < m=8"),
        ("9:8", "n must be an int with 1 <= n < m=8"),
        ("0:4", "n must be an int with 1 <= n < m=4"),
        ("2:32", r"m must be an int in \[2, 16\]"),
        ("unstructured:100%", r"percentage of zeros must be in \[0, 100\)"),
        ("group0:50%", "size must be an int >= 1"),
        ("block0x4:50%", "rows must be an int >= 1"),
        ("2-8", "is not a sparsity"),
        ("50%", "is not a sparsity"),
        ("unstructured", "is not a sparsity"),
        ("", "is not a sparsity"),
    ],
)
def test_parse_sparsity_errors(text: str, message: str) -> None:
    with pytest.raises(SparsityError, match=message):
        parse_sparsity(text)


def test_sparsity_error_is_value_error() -> None:
    assert issubclass(SparsityError, ValueError)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: NM(n=4, m=4), "1 <= n < m=4"),
        (lambda: NM(n=2, m=8, axis="m"), "axis must be one of k, n"),
        (lambda: Unstructured(density=0.0), r"density must be in \(0, 1\]"),
        (lambda: Unstructured(density=1.5), r"density must be in \(0, 1\]"),
        (lambda: Group(size=4, density=0), "density must be in"),
        (lambda: Block(rows=4, cols=0, density=0.5), "cols must be an int >= 1"),
        (lambda: Unstructured(density=0.5, mask=np.ones((2, 2), dtype=np.int8)), "2-D bool"),
        (lambda: NM(n=2, m=4, mask=np.ones(4, dtype=bool)), "2-D bool"),
    ],
)
def test_pattern_validation(make, message: str) -> None:
    with pytest.raises(SparsityError, match=message):
        make()


def test_nm_axis_n_and_mask_accepted() -> None:
    mask = np.zeros((8, 2), dtype=bool)
    mask[::4] = True
    pattern = NM(n=1, m=4, axis="n", mask=mask)
    assert pattern.density == 0.25
    assert pattern.mask is mask


@pytest.mark.parametrize(
    "text", ["dense", "2:8", "2:4t", "group4:50%", "block4x4:25%", "unstructured:70%"]
)
def test_str_round_trips_through_parse(text: str) -> None:
    pattern = parse_sparsity(text)
    again = parse_sparsity(str(pattern))
    assert type(again) is type(pattern)
    assert again.density == pytest.approx(pattern.density)
