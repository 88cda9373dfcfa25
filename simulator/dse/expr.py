"""Constraint expressions (``compute.rows * compute.cols <= 4096``) without ``eval``.

The text is parsed by Python's ``ast`` and only a whitelist of nodes is accepted: numbers,
names (dotted spec paths such as ``compute.rows``, list items such as ``sparsity.nm[0].n``),
``+ - * /``, unary minus, comparisons (``< <= > >= == !=``, chains too) and ``and``/``or``/
``not``. Anything else (calls, attributes of values, strings, subscripts by names) is refused
when the sweep spec is loaded, so a sweep file can never run code.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Expression", "ExpressionError", "parse_expression"]

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: dict[type, Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}

Values = Mapping[str, float]
_Node = Callable[[Values], float]


class ExpressionError(ValueError):
    """The text is not an allowed expression; the message says what is not allowed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Expression:
    """A parsed expression: its ``text``, the ``names`` it reads, and a closure evaluating it."""

    text: str
    names: frozenset[str]
    _fn: _Node

    def __call__(self, values: Values) -> float:
        """Evaluate with ``values`` (every name in ``names``); a comparison gives a bool."""
        return self._fn(values)

    def __reduce__(self) -> tuple[Callable[[str], Expression], tuple[str]]:
        """Pickled as its text (closures do not pickle; workers parse it again)."""
        return parse_expression, (self.text,)


def _dotted(node: ast.expr) -> str:
    """``compute.rows`` / ``sparsity.nm[0].n`` as the path string, or raise. Names are only
    looked up in a mapping of values, never on objects; dunder names are refused anyway."""
    if "__" in ast.unparse(node):
        raise ExpressionError(f"{ast.unparse(node)!r}: names with '__' are not allowed")
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Subscript):
        index = node.slice
        if isinstance(index, ast.Constant) and type(index.value) is int:
            return f"{_dotted(node.value)}[{index.value}]"
    raise ExpressionError(f"{ast.unparse(node)!r} is not a name or a spec path")


def _compile(node: ast.expr, names: set[str]) -> _Node:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(
        node.value, bool
    ):
        value = float(node.value)
        return lambda _v: value
    if isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
        name = _dotted(node)
        names.add(name)
        return lambda v: v[name]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _binary(_BINARY[type(node.op)], node, names)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
        inner = _compile(node.operand, names)
        if isinstance(node.op, ast.Not):
            return lambda v: not inner(v)
        return lambda v: -inner(v)
    if isinstance(node, ast.Compare):
        return _compare(node, names)
    if isinstance(node, ast.BoolOp):
        parts = [_compile(value, names) for value in node.values]
        if isinstance(node.op, ast.And):
            return lambda v: all(p(v) for p in parts)
        return lambda v: any(p(v) for p in parts)
    raise ExpressionError(
        f"{ast.unparse(node)!r} is not allowed; use numbers, names, + - * /, comparisons "
        "(< <= > >= == !=), and, or, not"
    )


def _binary(op: Callable[[float, float], float], node: ast.BinOp, names: set[str]) -> _Node:
    left, right = _compile(node.left, names), _compile(node.right, names)
    return lambda v: op(left(v), right(v))


def _compare(node: ast.Compare, names: set[str]) -> _Node:
    for op in node.ops:
        if type(op) not in _COMPARE:
            raise ExpressionError(f"comparison {type(op).__name__} is not allowed")
    terms = [_compile(node.left, names)] + [_compile(c, names) for c in node.comparators]
    ops = [_COMPARE[type(op)] for op in node.ops]

    def compare(v: Values) -> bool:
        values = [t(v) for t in terms]
        return all(op(a, b) for op, a, b in zip(ops, values, values[1:], strict=False))

    return compare


def parse_expression(text: str) -> Expression:
    """Parse ``text`` into an ``Expression``; raise ``ExpressionError`` for anything outside the
    whitelist (module docstring)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression: {exc.msg}") from None
    names: set[str] = set()
    fn = _compile(tree.body, names)
    return Expression(text=text.strip(), names=frozenset(names), _fn=fn)
