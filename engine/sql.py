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

Given the kind of each column, the compiler also refuses what Python
would refuse at run time (text compared with a number, arithmetic on
dates) and what DuckDB would quietly cast instead: such an expression
raises :class:`ExpressionError` with code ``E-SQL-UNSUPPORTED`` and is
left to the Python evaluation.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from .errors import ExpressionError
from .expressions import Expression

_COMPARE = {
    ast.Eq: "=", ast.NotEq: "<>", ast.Lt: "<", ast.LtE: "<=",
    ast.Gt: ">", ast.GtE: ">=",
}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Mod: "%"}
NOT_COMPILED = "E-SQL-UNSUPPORTED"

NUMBER, TEXT, DATE, FLAG = "number", "text", "date", "flag"
KINDS = (NUMBER, TEXT, DATE, FLAG)
_LIST = "list"
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


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


def compile_condition(
    expr: Expression,
    kinds: Mapping[str, str] | None = None,
    constants: Mapping[str, Any] | None = None,
    *,
    strict: bool = True,
) -> str:
    """SQL that is TRUE where the condition holds, FALSE elsewhere; or,
    not ``strict``, NULL or FALSE elsewhere (for a WHERE or CASE WHEN).

    ``kinds`` gives the kind (number, text, date or flag) of each column
    the SQL may read; with it the expression is checked first, and a name
    that is neither a column nor a constant is missing. ``constants``
    binds names to fixed values, such as a named list of accounts.
    """
    tree = _bind(expr, kinds, constants)
    if kinds is not None and _kind(tree, kinds) not in (FLAG, None):
        raise _unsupported("a condition that does not give true or false")
    return _truth(tree, strict)


def compile_value(
    expr: Expression,
    kinds: Mapping[str, str] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> str:
    """SQL for a formula's value, NULL where it is missing.

    ``kinds`` and ``constants`` work as for :func:`compile_condition`.
    """
    tree = _bind(expr, kinds, constants)
    if kinds is not None and _kind(tree, kinds) == _LIST:
        raise _unsupported("a list as a value")
    return _value(tree)


def _unsupported(what: str) -> ExpressionError:
    return ExpressionError(
        f"The columnar engine cannot compute {what} exactly.",
        code=NOT_COMPILED,
    )


def _truth(node: ast.expr, strict: bool = True) -> str:
    """SQL for a condition. Strict SQL is TRUE or FALSE, never NULL, as
    Python's answer is; otherwise NULL may stand for FALSE, which is all
    a WHERE or a CASE WHEN needs, and is much cheaper. Under a NOT the
    difference matters, so what a NOT negates is always strict."""
    if isinstance(node, ast.BoolOp):
        joiner = " AND " if isinstance(node.op, ast.And) else " OR "
        return "(" + joiner.join(_truth(v, strict) for v in node.values) + ")"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return f"(NOT {_truth(node.operand)})"
    if isinstance(node, ast.Compare):
        return _compare(node, strict)
    if isinstance(node, ast.Constant):
        return "TRUE" if node.value else "FALSE"
    if not strict:
        return f"CAST({_value(node)} AS BOOLEAN)"
    return f"COALESCE(CAST({_value(node)} AS BOOLEAN), FALSE)"


def _compare(node: ast.Compare, strict: bool = True) -> str:
    parts = []
    left = node.left
    for op, right in zip(node.ops, node.comparators):
        parts.append(_pair(left, op, right, strict))
        left = right
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def _strictly(sql: str, strict: bool) -> str:
    return f"COALESCE({sql}, FALSE)" if strict else f"({sql})"


def _pair(left: ast.expr, op: ast.cmpop, right: ast.expr,
          strict: bool = True) -> str:
    a = _value(left)
    if isinstance(op, (ast.In, ast.NotIn)):
        members = right.value if isinstance(right, ast.Constant) else None
        if not isinstance(members, tuple):
            raise _unsupported("'in' with something other than a list")
        if not members:
            # Python finds any value that is not missing absent from ().
            return "FALSE" if isinstance(op, ast.In) else f"({a} IS NOT NULL)"
        word = "IN" if isinstance(op, ast.In) else "NOT IN"
        listed = ", ".join(literal(m) for m in members)
        return _strictly(f"{a} {word} ({listed})", strict)
    return _strictly(f"{a} {_COMPARE[type(op)]} {_value(right)}", strict)


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


# --- names bound to constants, and the kinds Python would accept ----------


class _Binder(ast.NodeTransformer):
    def __init__(self, kinds, constants):
        self.kinds = kinds
        self.constants = constants

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.constants:
            value = self.constants[node.id]
            if isinstance(value, (list, frozenset)):
                value = tuple(value)
            return ast.copy_location(ast.Constant(value), node)
        if self.kinds is not None and node.id not in self.kinds:
            return ast.copy_location(ast.Constant(None), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        # The function's name is not a value.
        node.args = [self.visit(arg) for arg in node.args]
        return node


def _bind(expr: Expression, kinds, constants) -> ast.expr:
    if kinds is None and not constants:
        return expr.tree
    for kind in (kinds or {}).values():
        if kind not in KINDS:
            raise ValueError(f"Unknown column kind {kind!r}.")
    binder = _Binder(kinds, constants or {})
    return binder.visit(copy.deepcopy(expr.tree))


def _constant_kind(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return FLAG
    if isinstance(value, (int, Decimal)):
        return NUMBER
    if isinstance(value, str):
        return TEXT
    if isinstance(value, date):
        return DATE
    if isinstance(value, tuple):
        return _LIST
    raise _unsupported(f"a constant of type {type(value).__name__}")


def _kind(node: ast.expr, kinds: Mapping[str, str]) -> str | None:
    """The kind of value ``node`` gives (None: always missing), or
    refuse what Python would refuse or DuckDB would cast."""
    if isinstance(node, ast.Constant):
        return _constant_kind(node.value)
    if isinstance(node, ast.Name):
        return kinds[node.id]
    if isinstance(node, ast.UnaryOp):
        inner = _kind(node.operand, kinds)
        if isinstance(node.op, ast.Not):
            return _flags([inner])
        return _numbers([inner])
    if isinstance(node, ast.BinOp):
        return _numbers([_kind(node.left, kinds), _kind(node.right, kinds)])
    if isinstance(node, ast.BoolOp):
        return _flags([_kind(v, kinds) for v in node.values])
    if isinstance(node, ast.Compare):
        return _compare_kind(node, kinds)
    if isinstance(node, ast.IfExp):
        _flags([_kind(node.test, kinds)])
        return _same([_kind(node.body, kinds), _kind(node.orelse, kinds)])
    if isinstance(node, ast.Call):
        return _call_kind(node, kinds)
    raise _unsupported(type(node).__name__)


def _flags(found: list) -> str:
    if any(kind not in (FLAG, None) for kind in found):
        raise _unsupported("and, or, not or if on values that are not "
                           "true/false")
    return FLAG


def _numbers(found: list) -> str | None:
    if any(kind not in (NUMBER, None) for kind in found):
        raise _unsupported("arithmetic on values that are not numbers")
    return NUMBER if NUMBER in found else None


def _same(found: list) -> str | None:
    known = {kind for kind in found if kind is not None}
    if len(known) > 1 or _LIST in known:
        raise _unsupported("a choice between values of different kinds")
    return known.pop() if known else None


def _compare_kind(node: ast.Compare, kinds) -> str:
    left = node.left
    for op, right in zip(node.ops, node.comparators):
        a, b = _kind(left, kinds), _kind(right, kinds)
        if isinstance(op, (ast.In, ast.NotIn)):
            members = right.value if isinstance(right, ast.Constant) else None
            if b != _LIST or a == _LIST or not isinstance(members, tuple):
                raise _unsupported("'in' with something other than a list")
            if a is not None:
                _same([a] + [_constant_kind(m) for m in members])
        else:
            _same([a, b])
            if isinstance(op, _ORDERING) and FLAG in (a, b):
                raise _unsupported("an ordering of true/false values")
        left = right
    return FLAG


def _call_kind(node: ast.Call, kinds) -> str | None:
    name = node.func.id
    found = [_kind(a, kinds) for a in node.args]
    if name in ("min", "max", "abs"):
        return _numbers(found)
    if name == "round":
        digits = node.args[1] if len(node.args) > 1 else None
        if digits is not None and not (
            isinstance(digits, ast.Constant)
            and type(digits.value) is int
            and 0 <= digits.value <= 28
        ):
            raise _unsupported("round() to a number of places not written")
        return _numbers(found[:1])
    if name == "coalesce":
        return _same(found)
    raise _unsupported(f"the function {name}")
