"""Plan expressions compiled to SQL for a columnar engine (DuckDB).

The compiler walks the tree that :mod:`engine.expressions` already
checked, so only whitelisted syntax reaches it. Nothing of the user's
text is pasted into SQL: names become quoted identifiers, and constants
become typed literals that this module writes itself.

The SQL means what the Python evaluation means:

- a comparison with a missing (NULL) side is false: each comparison is
  wrapped in ``COALESCE(..., FALSE)``, and ``and``, ``or``, ``not`` and
  ``if`` read missing as false;
- arithmetic propagates NULL, and so do ``min``, ``max``, ``abs`` and
  ``round`` (DuckDB's ``LEAST`` and ``GREATEST`` would skip it);
- decimals stay decimals: a division is compiled only when its divisor
  is a constant with an exact decimal reciprocal, as a multiplication,
  since DuckDB divides decimals in floating point.
"""

from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal

from .errors import ExpressionError
from .expressions import Expression

_COMPARE = {
    ast.Eq: "=", ast.NotEq: "<>", ast.Lt: "<", ast.LtE: "<=",
    ast.Gt: ">", ast.GtE: ">=",
}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Mod: "%"}
NOT_COMPILED = "E-SQL-UNSUPPORTED"


def quote(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value) -> str:
    """A typed SQL literal for a constant of a plan expression."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"CAST({value} AS HUGEINT)" if abs(value) > 2**62 else str(value)
    if isinstance(value, Decimal):
        return _decimal_literal(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    raise _unsupported(f"a constant of type {type(value).__name__}")


def _decimal_literal(value: Decimal) -> str:
    sign, digits, exponent = value.as_tuple()
    scale = max(0, -exponent)
    precision = max(len(digits) + max(exponent, 0), scale + 1)
    if precision > 38:
        raise _unsupported(f"the number {value} (over 38 digits)")
    return f"CAST('{value:f}' AS DECIMAL({precision}, {scale}))"


def compile_condition(expr: Expression) -> str:
    """SQL that is TRUE where the condition holds, FALSE elsewhere."""
    return _truth(expr.tree)


def compile_value(expr: Expression) -> str:
    """SQL for a formula's value, NULL where it is missing."""
    return _value(expr.tree)


def _unsupported(what: str) -> ExpressionError:
    return ExpressionError(
        f"The columnar engine cannot compute {what} exactly.",
        code=NOT_COMPILED,
    )


def _truth(node: ast.expr) -> str:
    if isinstance(node, ast.BoolOp):
        joiner = " AND " if isinstance(node.op, ast.And) else " OR "
        return "(" + joiner.join(_truth(v) for v in node.values) + ")"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return f"(NOT {_truth(node.operand)})"
    if isinstance(node, ast.Compare):
        return _compare(node)
    if isinstance(node, ast.Constant):
        return "TRUE" if node.value else "FALSE"
    return f"COALESCE(CAST({_value(node)} AS BOOLEAN), FALSE)"


def _compare(node: ast.Compare) -> str:
    parts = []
    left = node.left
    for op, right in zip(node.ops, node.comparators):
        parts.append(_pair(left, op, right))
        left = right
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def _pair(left: ast.expr, op: ast.cmpop, right: ast.expr) -> str:
    a = _value(left)
    if isinstance(op, (ast.In, ast.NotIn)):
        members = right.value if isinstance(right, ast.Constant) else None
        if not isinstance(members, tuple):
            raise _unsupported("'in' with something other than a list")
        if not members:
            return "FALSE"
        word = "IN" if isinstance(op, ast.In) else "NOT IN"
        listed = ", ".join(literal(m) for m in members)
        return f"COALESCE({a} {word} ({listed}), FALSE)"
    return f"COALESCE({a} {_COMPARE[type(op)]} {_value(right)}, FALSE)"


def _value(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return literal(node.value)
    if isinstance(node, ast.Name):
        return quote(node.id)
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return f"(-{_value(node.operand)})"
        if isinstance(node.op, ast.UAdd):
            return _value(node.operand)
        return _truth(node)
    if isinstance(node, ast.BinOp):
        return _binary(node)
    if isinstance(node, ast.IfExp):
        return (
            f"(CASE WHEN {_truth(node.test)} THEN {_value(node.body)} "
            f"ELSE {_value(node.orelse)} END)"
        )
    if isinstance(node, ast.Call):
        return _call(node)
    if isinstance(node, (ast.BoolOp, ast.Compare)):
        return _truth(node)
    raise _unsupported(f"{type(node).__name__}")


def _binary(node: ast.BinOp) -> str:
    left = _value(node.left)
    if isinstance(node.op, ast.Div):
        return f"({left} * {_reciprocal(node.right)})"
    return f"({left} {_ARITHMETIC[type(node.op)]} {_value(node.right)})"


def _reciprocal(node: ast.expr) -> str:
    """1 / divisor as an exact literal, for a constant divisor."""
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise _unsupported("a division by something other than a number")
    if value == 0:
        return "NULL"
    inverse = Decimal(1) / Decimal(value)
    if inverse * Decimal(value) != 1 or len(inverse.as_tuple().digits) > 30:
        raise _unsupported(f"a division by {value}")
    return _decimal_literal(inverse.normalize())


def _call(node: ast.Call) -> str:
    name = node.func.id
    args = [_value(a) for a in node.args]
    if name in ("min", "max"):
        word = "LEAST" if name == "min" else "GREATEST"
        nulls = " OR ".join(f"{a} IS NULL" for a in args)
        return f"(CASE WHEN {nulls} THEN NULL ELSE {word}({', '.join(args)}) END)"
    if name == "abs":
        return f"ABS({args[0]})"
    if name == "round":
        digits = args[1] if len(args) > 1 else "0"
        return f"ROUND({args[0]}, {digits})"
    if name == "coalesce":
        return f"COALESCE({', '.join(args)})"
    raise _unsupported(f"the function {name}")
