"""Conditions and formulas written in plan files, parsed once and checked.

Comp admins write short expressions such as
``segment == "Enterprise" and region in ("NA", "LATAM")`` or
``max(amount - 500000, 0)``. Plan files are untrusted input, so an
expression may use only a small whitelist of syntax, checked on its tree
when the plan loads: names, numbers, quoted text, lists of fixed values,
``+ - * / %``, comparisons, ``in`` / ``not in``, ``and`` / ``or`` /
``not``, ``... if ... else ...`` and the functions of
:data:`ALLOWED_FUNCTIONS`. The checked tree is evaluated by simpleeval
with operators and functions of this module only.

Values
    Names are bound only to plain values: ``int``, ``Decimal``, ``str``,
    ``bool``, ``None``, ``date``, and tuples or frozensets of those.
    A ``float`` is converted to ``Decimal`` through ``str()``. Anything
    else is refused with ``TypeError``. A number written in the
    expression keeps its exact text: ``0.1`` is ``Decimal("0.1")``.

Missing values
    A name bound to ``None``, or absent from the values, is *missing*.
    The rules below match SQL, where a condition compiles to
    ``COALESCE(condition, FALSE)`` and arithmetic propagates ``NULL``:

    - a comparison (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``,
      ``not in``) with a missing side is false;
    - ``and``, ``or``, ``not`` and the test of ``if ... else`` count a
      missing value as false, and always give ``True`` or ``False``;
    - arithmetic, ``abs``, ``round``, ``min`` and ``max`` with a missing
      operand give a missing value, and so does a division by zero (a
      ratio that is not defined);
    - ``coalesce(a, b, ...)`` gives its first value that is not missing;
    - :meth:`Expression.test` treats a missing result as false.

Types
    Arithmetic works on numbers only (``int`` and ``Decimal``; true and
    false are not numbers), so no expression can build a long text.
    ``int`` with ``int`` stays ``int``, except ``/`` which gives a
    ``Decimal``; ``%`` keeps the sign of the left side, as in SQL.
    Decimal arithmetic runs with 50 significant digits, so amounts are
    not rounded. Comparisons need two values of the same kind: numbers,
    text, dates, or true/false (the last for ``==`` and ``!=`` only).
    Breaking these rules raises :class:`ExpressionError` with code
    ``E-EXPR-TYPE``.
"""

from __future__ import annotations

import ast
import difflib
import itertools
import logging
import operator
import re
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, DecimalException
from types import MappingProxyType
from typing import Any

import simpleeval
from simpleeval import InvalidExpression, SimpleEval

from engine.errors import ExpressionError

logger = logging.getLogger(__name__)

SYNTAX = "E-EXPR-SYNTAX"
FORBIDDEN = "E-EXPR-FORBIDDEN"
FUNCTION = "E-EXPR-FUNCTION"
TOO_LONG = "E-EXPR-TOO-LONG"
TYPE = "E-EXPR-TYPE"

KINDS = ("condition", "formula")
MAX_SOURCE_LENGTH = 1000
MAX_NODES = 200
MAX_TEXT_LENGTH = 200
MAX_ROUND_DIGITS = 28

# The whitelist below already keeps these constructs out; lowering
# simpleeval's own limits is a second line should one slip through.
simpleeval.MAX_STRING_LENGTH = min(simpleeval.MAX_STRING_LENGTH, 1000)
simpleeval.MAX_COMPREHENSION_LENGTH = min(
    simpleeval.MAX_COMPREHENSION_LENGTH, 1000
)
simpleeval.MAX_POWER = min(simpleeval.MAX_POWER, 100)
simpleeval.MAX_SHIFT = min(simpleeval.MAX_SHIFT, 64)

_EXACT = Context(prec=50, rounding=ROUND_HALF_UP)
_NUMBERS = frozenset({int, Decimal})
_SCALARS = frozenset({int, str, bool, type(None), date})


# --- describing values in messages ----------------------------------------

_KIND_NAMES = {
    int: "a number",
    Decimal: "a number",
    str: "text",
    bool: "true/false",
    date: "a date",
    tuple: "a list",
    frozenset: "a list",
    type(None): "a missing value",
}


def _describe(value: Any) -> str:
    kind = _KIND_NAMES.get(type(value), type(value).__name__)
    if value is None or type(value) in (tuple, frozenset):
        return kind
    if type(value) is str:
        shown = value if len(value) <= 30 else value[:30] + "..."
        return f'{kind} ("{shown}")'
    return f"{kind} ({value})"


def _type_error(message: str) -> ExpressionError:
    return ExpressionError(message, code=TYPE)


# --- operators --------------------------------------------------------------


def _check_numbers(symbol: str, *values: Any) -> None:
    for value in values:
        if value is not None and type(value) not in _NUMBERS:
            found = " and ".join(_describe(v) for v in values)
            role = "function" if symbol.isalpha() else "operator"
            raise _type_error(
                f'The {role} "{symbol}" works on numbers only; '
                f"found {found}."
            )


def _arithmetic(
    symbol: str,
    on_ints: Callable[[int, int], int],
    on_decimals: Callable[[Any, Any], Decimal],
) -> Callable[[Any, Any], Any]:
    def apply(left: Any, right: Any) -> Any:
        left_type, right_type = type(left), type(right)
        if left_type in _NUMBERS and right_type in _NUMBERS:
            if left_type is int and right_type is int:
                return on_ints(left, right)
            return on_decimals(left, right)
        _check_numbers(symbol, left, right)
        return None

    return apply


def _divide(left: Any, right: Any) -> Decimal | None:
    _check_numbers("/", left, right)
    if left is None or right is None or right == 0:
        return None
    return _EXACT.divide(left, right)


def _remainder(left: Any, right: Any) -> int | Decimal | None:
    _check_numbers("%", left, right)
    if left is None or right is None or right == 0:
        return None
    result = _EXACT.remainder(left, right)
    if type(left) is int and type(right) is int:
        return int(result)
    return result


def _negate(value: Any) -> Any:
    _check_numbers("-", value)
    if type(value) is Decimal:
        return _EXACT.minus(value)
    return None if value is None else -value


def _positive(value: Any) -> Any:
    _check_numbers("+", value)
    if type(value) is Decimal:
        return _EXACT.plus(value)
    return value


def _truth(word: str, value: Any) -> bool:
    """A value in a true/false position: missing counts as false."""
    if value is None:
        return False
    if type(value) is bool:
        return value
    raise _type_error(
        f'The word "{word}" needs true/false values; '
        f"found {_describe(value)}."
    )


def _not(value: Any) -> bool:
    return not _truth("not", value)


_COMPARABLE = {
    int: "number",
    Decimal: "number",
    str: "text",
    date: "date",
    bool: "flag",
}


def _comparison(
    symbol: str, compare: Callable[[Any, Any], bool], ordering: bool
) -> Callable[[Any, Any], bool]:
    def apply(left: Any, right: Any) -> bool:
        if left is None or right is None:
            return False
        left_kind = _COMPARABLE.get(type(left))
        right_kind = _COMPARABLE.get(type(right))
        if left_kind is None or left_kind != right_kind:
            _refuse_comparison(symbol, left, right)
        if ordering and left_kind == "flag":
            raise _type_error(
                f'The comparison "{symbol}" does not apply to true/false '
                'values; use "==" or "!=".'
            )
        return compare(left, right)

    return apply


def _refuse_comparison(symbol: str, left: Any, right: Any) -> None:
    kinds = {type(left), type(right)}
    if kinds & {tuple, frozenset}:
        raise _type_error(
            f'The comparison "{symbol}" does not apply to lists; '
            'use "in" or "not in".'
        )

    message = (
        f'The comparison "{symbol}" needs two values of the same kind '
        f"(numbers, text, dates or true/false); found {_describe(left)} and "
        f"{_describe(right)}."
    )
    if kinds == {date, str}:
        message += ' Write a date as date("2026-03-01").'
    raise _type_error(message)


def _membership(negated: bool) -> Callable[[Any, Any], bool]:
    word = "not in" if negated else "in"

    def apply(item: Any, container: Any) -> bool:
        if item is None or container is None:
            return False
        if type(container) not in (tuple, frozenset):
            raise _type_error(
                f'The right side of "{word}" must be a list such as '
                f'("NA", "LATAM"); found {_describe(container)}.'
            )
        if type(item) not in _COMPARABLE:
            raise _type_error(
                f'The left side of "{word}" must be a single value; '
                f"found {_describe(item)}."
            )

        if item in container:
            return not negated
        # As in SQL, a list holding a missing value cannot say that
        # something is absent from it.
        if None in container:
            return False
        return negated

    return apply


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: _arithmetic("+", operator.add, _EXACT.add),
    ast.Sub: _arithmetic("-", operator.sub, _EXACT.subtract),
    ast.Mult: _arithmetic("*", operator.mul, _EXACT.multiply),
    ast.Div: _divide,
    ast.Mod: _remainder,
    ast.USub: _negate,
    ast.UAdd: _positive,
    ast.Not: _not,
    ast.Eq: _comparison("==", operator.eq, ordering=False),
    ast.NotEq: _comparison("!=", operator.ne, ordering=False),
    ast.Lt: _comparison("<", operator.lt, ordering=True),
    ast.LtE: _comparison("<=", operator.le, ordering=True),
    ast.Gt: _comparison(">", operator.gt, ordering=True),
    ast.GtE: _comparison(">=", operator.ge, ordering=True),
    ast.In: _membership(negated=False),
    ast.NotIn: _membership(negated=True),
}


# --- functions --------------------------------------------------------------


def _smallest(*values: Any) -> Any:
    _check_numbers("min", *values)
    if None in values:
        return None
    return min(values)


def _largest(*values: Any) -> Any:
    _check_numbers("max", *values)
    if None in values:
        return None
    return max(values)


def _absolute(value: Any) -> Any:
    _check_numbers("abs", value)
    if type(value) is Decimal:
        return _EXACT.abs(value)
    return None if value is None else abs(value)


_QUANTUMS = [Decimal((0, (1,), -digits)) for digits in range(29)]


def _round(value: Any, digits: Any = 0) -> Decimal | None:
    """Round half away from zero to ``digits`` decimal places."""
    _check_numbers("round", value, digits)
    if value is None or digits is None:
        return None
    if type(digits) is not int or not 0 <= digits <= MAX_ROUND_DIGITS:
        raise _type_error(
            "The function round() takes a whole number of decimal places "
            f"from 0 to {MAX_ROUND_DIGITS}; found {_describe(digits)}."
        )
    return Decimal(value).quantize(
        _QUANTUMS[digits], rounding=ROUND_HALF_UP, context=_EXACT
    )


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(text: Any) -> date | None:
    """The date written as ``YYYY-MM-DD``."""
    if text is None:
        return None
    if type(text) is str and _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise _type_error(
        'The function date() needs a calendar date written as '
        f'"YYYY-MM-DD", such as "2026-03-01"; found {_describe(text)}.'
    )


def _coalesce(*values: Any) -> Any:
    """The first value that is not missing."""
    for value in values:
        if value is not None:
            return value
    return None


ALLOWED_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "abs": _absolute,
        "coalesce": _coalesce,
        "date": _date,
        "max": _largest,
        "min": _smallest,
        "round": _round,
    }
)

# Fewest and most values each function takes (None: no upper bound).
_ARITY: dict[str, tuple[int, int | None]] = {
    "abs": (1, 1),
    "coalesce": (1, None),
    "date": (1, 1),
    "max": (1, None),
    "min": (1, None),
    "round": (1, 2),
}

_FUNCTION_LIST = ", ".join(sorted(ALLOWED_FUNCTIONS))
_ALLOWED_SUMMARY = (
    "Plan expressions may use names, numbers, quoted text, lists of fixed "
    "values, + - * / %, comparisons, in, and, or, not, if-else and the "
    f"functions {_FUNCTION_LIST}."
)


# --- checking the tree ------------------------------------------------------

_CONSTRUCTS: dict[type, str] = {
    ast.Attribute: "Attribute access (.)",
    ast.Subscript: "Indexing or slicing ([...])",
    ast.Slice: "Slicing ([a:b])",
    ast.JoinedStr: 'Formatted text (f"...")',
    ast.FormattedValue: 'Formatted text (f"...")',
    ast.ListComp: "A comprehension (... for ... in ...)",
    ast.SetComp: "A comprehension (... for ... in ...)",
    ast.DictComp: "A comprehension (... for ... in ...)",
    ast.GeneratorExp: "A comprehension (... for ... in ...)",
    ast.Lambda: "A lambda function",
    ast.NamedExpr: "Assignment (:=)",
    ast.Starred: "Unpacking (*)",
    ast.Dict: "A dictionary ({...: ...})",
    ast.Set: "A set ({...})",
    ast.Await: "Await",
    ast.Yield: "Yield",
    ast.YieldFrom: "Yield",
    ast.Pow: "A power (**)",
    ast.LShift: "A bit shift (<<)",
    ast.RShift: "A bit shift (>>)",
    ast.BitAnd: "A bitwise operator (&)",
    ast.BitOr: "A bitwise operator (|)",
    ast.BitXor: "A bitwise operator (^)",
    ast.Invert: "Bitwise inversion (~)",
    ast.FloorDiv: "Floor division (//)",
    ast.MatMult: "Matrix multiplication (@)",
    ast.Is: 'The comparison "is"',
    ast.IsNot: 'The comparison "is not"',
    bytes: 'A bytes literal (b"...")',
    complex: "An imaginary number (j)",
    type(...): "The ellipsis (...)",
}

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod)
_UNARY = (ast.Not, ast.USub, ast.UAdd)
_COMPARE = (
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
)
_CONSTANTS = (int, float, str, bool, type(None))
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")


def _construct(thing: Any) -> str:
    kind = thing if isinstance(thing, type) else type(thing)
    return _CONSTRUCTS.get(kind, f"The construct {kind.__name__}")


class _Source:
    """The text of an expression, to turn tree positions into offsets.

    Offsets count characters from the start of the text as written,
    leading blanks included; the tree counts UTF-8 bytes per line.
    """

    def __init__(self, written: str):
        self.text = written.strip()
        self.lead = len(written) - len(written.lstrip())
        self.lines = _LINE.findall(self.text)

    def offset(self, lineno: int, column: int) -> int:
        before = sum(len(line) for line in self.lines[: lineno - 1])
        return self.lead + before + column

    def node_offset(self, node: ast.AST) -> int:
        line = self.lines[node.lineno - 1].encode("utf-8")
        column = len(line[: node.col_offset].decode("utf-8", "replace"))
        return self.offset(node.lineno, column)

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ""


class _Checker:
    """Walks a tree without recursion and refuses anything not allowed.

    Nodes are visited in the order they are written, so the error
    reported is the leftmost one.
    """

    def __init__(self, source: _Source):
        self.source = source
        self.names: set[str] = set()
        self.functions: set[str] = set()

    def run(self, root: ast.expr) -> None:
        pending = [root]
        while pending:
            node = pending.pop()
            rule = self._RULES.get(type(node))
            if rule is None:
                raise self._forbidden(node, node)
            pending.extend(reversed(rule(self, node)))

    def _forbidden(self, node: ast.AST, thing: Any) -> ExpressionError:
        return ExpressionError(
            f"{_construct(thing)} is not allowed in plan expressions. "
            + _ALLOWED_SUMMARY,
            code=FORBIDDEN,
            offset=self.source.node_offset(node),
        )

    def _name(self, node: ast.Name) -> list[ast.AST]:
        self.names.add(node.id)
        return []

    def _constant(self, node: ast.Constant) -> list[ast.AST]:
        value = node.value
        if type(value) not in _CONSTANTS:
            raise self._forbidden(node, value)
        if type(value) is str and len(value) > MAX_TEXT_LENGTH:
            raise ExpressionError(
                f"Quoted text in a plan expression may be at most "
                f"{MAX_TEXT_LENGTH} characters long; found {len(value)}.",
                code=TOO_LONG,
                offset=self.source.node_offset(node),
            )
        return []

    def _boolean(self, node: ast.BoolOp) -> list[ast.AST]:
        return node.values

    def _unary(self, node: ast.UnaryOp) -> list[ast.AST]:
        if not isinstance(node.op, _UNARY):
            raise self._forbidden(node, node.op)
        return [node.operand]

    def _binary(self, node: ast.BinOp) -> list[ast.AST]:
        if not isinstance(node.op, _BINARY):
            raise self._forbidden(node, node.op)
        return [node.left, node.right]

    def _compare(self, node: ast.Compare) -> list[ast.AST]:
        for op in node.ops:
            if not isinstance(op, _COMPARE):
                raise self._forbidden(node, op)
        return [node.left, *node.comparators]

    def _choice(self, node: ast.IfExp) -> list[ast.AST]:
        return [node.body, node.test, node.orelse]

    def _call(self, node: ast.Call) -> list[ast.AST]:
        name = self._function_name(node)
        if node.keywords:
            self._refuse_keyword(name, node.keywords[0])
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self._function_error(
                    arg,
                    f'Unpacking with * is not allowed in a call to "{name}";'
                    " list the values one by one.",
                )

        fewest, most = _ARITY[name]
        count = len(node.args)
        if count < fewest or (most is not None and count > most):
            raise self._function_error(
                node,
                f'The function "{name}" takes {_takes(fewest, most)}; '
                f"found {count}.",
            )

        self.functions.add(name)
        return node.args

    def _function_name(self, node: ast.Call) -> str:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self._function_error(
                node,
                f"Only the functions {_FUNCTION_LIST} can be called, each "
                f"by its name; found a call on "
                f"{_construct(func).lower()}.",
            )
        if func.id not in ALLOWED_FUNCTIONS:
            raise self._function_error(
                func,
                f'The function "{func.id}" is not available in plan '
                f"expressions; the available functions are "
                f"{_FUNCTION_LIST}.",
            )
        return func.id

    def _refuse_keyword(self, name: str, keyword: ast.keyword) -> None:
        if keyword.arg is None:
            found = "unpacking with **"
        else:
            found = f'"{keyword.arg}="'
        raise self._function_error(
            keyword,
            f'The function "{name}" takes its values in order, without '
            f"names; found {found}.",
        )

    def _function_error(self, node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(
            message, code=FUNCTION, offset=self.source.node_offset(node)
        )

    def _literal_list(self, node: ast.Tuple | ast.List) -> list[ast.AST]:
        for element in node.elts:
            inner = element
            if isinstance(element, ast.UnaryOp) and isinstance(
                element.op, (ast.USub, ast.UAdd)
            ):
                inner = element.operand
                if not _is_number_constant(inner):
                    inner = element
            if not isinstance(inner, ast.Constant):
                raise self._forbidden(element, _ListElement)
            self._constant(inner)
        return []

    _RULES: dict[type, Callable[[Any, Any], list[ast.AST]]] = {
        ast.Name: _name,
        ast.Constant: _constant,
        ast.BoolOp: _boolean,
        ast.UnaryOp: _unary,
        ast.BinOp: _binary,
        ast.Compare: _compare,
        ast.IfExp: _choice,
        ast.Call: _call,
        ast.Tuple: _literal_list,
        ast.List: _literal_list,
    }


def _takes(fewest: int, most: int | None) -> str:
    if most is None:
        return f"at least {fewest} value" + ("s" if fewest > 1 else "")
    if fewest == most:
        return f"{fewest} value" + ("s" if fewest > 1 else "")
    return f"{fewest} or {most} values"


class _ListElement:
    """Stands for a list element that is not a fixed value, in messages."""


_CONSTRUCTS[_ListElement] = (
    'A list holding anything but fixed values (such as "NA" or 10)'
)


def _is_number_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (
        int,
        float,
    )


class _Folder(ast.NodeTransformer):
    """Rewrites a checked tree into the values evaluation will use.

    Numbers with a decimal point become exact Decimals of their text,
    lists of fixed values become one tuple constant, and a date written
    as ``date("...")`` becomes that date once, so that a wrong date is
    reported when the plan loads.
    """

    def __init__(self, source: _Source):
        self.source = source

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.copy_location(ast.Constant(self._value(node)), node)

    def visit_Tuple(self, node: ast.Tuple) -> ast.AST:
        values = tuple(self._element(element) for element in node.elts)
        return ast.copy_location(ast.Constant(values), node)

    visit_List = visit_Tuple

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        argument = node.args[0] if len(node.args) == 1 else None
        if node.func.id != "date" or not isinstance(argument, ast.Constant):
            return node

        try:
            value = _date(argument.value)
        except ExpressionError as err:
            offset = self.source.node_offset(argument)
            raise ExpressionError(str(err), code=TYPE, offset=offset) from None
        return ast.copy_location(ast.Constant(value), node)

    def _value(self, node: ast.Constant) -> Any:
        if type(node.value) is float:
            return Decimal(self.source.segment(node))
        return node.value

    def _element(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return self._value(node)
        value = self._value(node.operand)
        if isinstance(node.op, ast.UAdd):
            return value
        return value.copy_negate() if type(value) is Decimal else -value


def _syntax_error(source: _Source, err: SyntaxError) -> ExpressionError:
    lineno = err.lineno or 1
    if not err.offset or lineno > len(source.lines):
        offset = source.lead + len(source.text)
        return ExpressionError(
            "The expression ends before it is complete.",
            code=SYNTAX,
            offset=offset,
        )

    offset = source.offset(lineno, err.offset - 1)
    reason = (err.msg or "invalid syntax").split(". ")[0].rstrip(".")
    return ExpressionError(
        f"The expression cannot be read at character {offset + 1}: "
        f"{reason}.",
        code=SYNTAX,
        offset=offset,
    )


def _parse_tree(source: _Source) -> ast.Expression:
    if not source.text:
        raise ExpressionError("The expression is empty.", code=SYNTAX)
    if "\x00" in source.text:
        raise ExpressionError(
            "The expression contains a null character.",
            code=SYNTAX,
            offset=source.lead + source.text.index("\x00"),
        )
    if len(source.text) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"A plan expression may be at most {MAX_SOURCE_LENGTH} "
            f"characters long; found {len(source.text)}.",
            code=TOO_LONG,
        )

    try:
        with warnings.catch_warnings():
            # Odd escapes in quoted text warn at parse time; the text
            # is used as written either way.
            warnings.simplefilter("ignore")
            return ast.parse(source.text, mode="eval")
    except SyntaxError as err:
        raise _syntax_error(source, err) from None
    except (RecursionError, MemoryError):
        raise _too_nested() from None


def _too_nested() -> ExpressionError:
    return ExpressionError(
        "The expression is nested too deeply; split it into simpler "
        "expressions.",
        code=TOO_LONG,
    )


def _check_size(tree: ast.Expression) -> None:
    count = sum(1 for _ in itertools.islice(ast.walk(tree), MAX_NODES + 1))
    if count > MAX_NODES:
        raise ExpressionError(
            f"The expression is too complex: a plan expression may have "
            f"at most {MAX_NODES} parts; split it into simpler ones.",
            code=TOO_LONG,
        )


# --- evaluation -------------------------------------------------------------


class _PlanEvaluator(SimpleEval):
    """simpleeval restricted to the nodes a checked, folded tree holds.

    One instance serves every expression: the values of a call live in
    a thread-local slot, so concurrent evaluations do not mix.
    """

    def __init__(self) -> None:
        super().__init__(
            operators=dict(_OPERATORS),
            functions=dict(ALLOWED_FUNCTIONS),
            names={},
        )
        self.nodes = {
            ast.Name: self._eval_name,
            ast.Constant: self._eval_constant,
            ast.UnaryOp: self._eval_unaryop,
            ast.BinOp: self._eval_binop,
            ast.BoolOp: self._eval_boolop,
            ast.Compare: self._eval_compare,
            ast.IfExp: self._eval_ifexp,
            ast.Call: self._eval_call,
        }
        self._scope = threading.local()

    def run(self, source: str, tree: ast.expr, values: dict) -> Any:
        scope = self._scope
        outer = getattr(scope, "values", None)
        scope.values = values
        try:
            return self.eval(source, previously_parsed=tree)
        finally:
            scope.values = outer

    def _eval_name(self, node: ast.Name) -> Any:
        return self._scope.values[node.id]

    def _eval_boolop(self, node: ast.BoolOp) -> bool:
        if isinstance(node.op, ast.Or):
            word, decisive = "or", True
        else:
            word, decisive = "and", False
        for value in node.values:
            if _truth(word, self._eval(value)) is decisive:
                return decisive
        return not decisive

    def _eval_ifexp(self, node: ast.IfExp) -> Any:
        if _truth("if", self._eval(node.test)):
            return self._eval(node.body)
        return self._eval(node.orelse)


_EVALUATOR = _PlanEvaluator()


class _CheckedSets:
    """Frozensets whose elements were already checked, by identity.

    A named-account list bound on every call is then checked once, not
    once per deal. An entry vanishes with its set.
    """

    def __init__(self) -> None:
        self._seen: dict[int, tuple[weakref.ref, frozenset]] = {}

    def get(self, value: frozenset) -> frozenset | None:
        entry = self._seen.get(id(value))
        if entry is not None and entry[0]() is value:
            return entry[1]
        return None

    def add(self, value: frozenset, checked: frozenset) -> None:
        key = id(value)
        ref = weakref.ref(value, lambda _, key=key: self._seen.pop(key, None))
        self._seen[key] = (ref, checked)


_CHECKED_SETS = _CheckedSets()


def _refuse_value(name: str, value: Any) -> TypeError:
    return TypeError(
        f'The value of "{name}" is a {type(value).__name__}; plan '
        "expressions accept only numbers, text, true/false, dates, "
        "missing values (None) and tuples or frozensets of those."
    )


def _scalar(name: str, value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        value = Decimal(str(value))
        kind = Decimal
    if kind is Decimal and value.is_finite():
        return value
    if kind is Decimal:
        raise TypeError(
            f'The value of "{name}" is {value}; plan expressions accept '
            "only finite numbers."
        )
    raise _refuse_value(name, value)


def _plain(name: str, value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is tuple:
        return tuple(_scalar(name, item) for item in value)
    if kind is frozenset:
        checked = _CHECKED_SETS.get(value)
        if checked is None:
            checked = frozenset(_scalar(name, item) for item in value)
            _CHECKED_SETS.add(value, checked)
        return checked
    return _scalar(name, value)


# --- the public API ---------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    """A condition or formula from a plan, checked and ready to evaluate.

    Build it with :func:`parse_expression`. ``names`` holds every name
    the expression reads; ``functions`` the functions it calls.
    """

    source: str
    kind: str = "condition"
    names: frozenset[str] = field(init=False)
    functions: frozenset[str] = field(init=False)
    _tree: ast.expr = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str):
            raise TypeError(
                "A plan expression must be text; found "
                f"{type(self.source).__name__}."
            )
        if self.kind not in KINDS:
            raise ValueError(
                f'The kind of an expression must be "condition" or '
                f'"formula"; found "{self.kind}".'
            )

        source = _Source(self.source)
        tree = _parse_tree(source)
        _check_size(tree)
        checker = _Checker(source)
        checker.run(tree.body)
        try:
            body = _Folder(source).visit(tree.body)
        except RecursionError:
            raise _too_nested() from None

        object.__setattr__(self, "names", frozenset(checker.names))
        object.__setattr__(self, "functions", frozenset(checker.functions))
        object.__setattr__(self, "_tree", body)

    @property
    def tree(self) -> ast.expr:
        """The checked tree, with constants folded: what compilers to
        other engines translate."""
        return self._tree

    def __reduce__(self) -> tuple:
        return (type(self), (self.source, self.kind))

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The value of the expression for ``values``, a name -> value map.

        Only the names the expression reads are looked at; one that is
        absent counts as missing. Raises ``TypeError`` for a value that
        is not plain, :class:`ExpressionError` for a value of the wrong
        kind for its place.
        """
        get = values.get
        scope = {name: _plain(name, get(name)) for name in self.names}
        try:
            return _EVALUATOR.run(self.source, self._tree, scope)
        except ExpressionError:
            raise
        except RecursionError:
            raise _too_nested() from None
        except DecimalException as err:
            raise _type_error(
                "The arithmetic cannot be carried out exactly "
                f"({type(err).__name__}); a number is too large."
            ) from None
        except InvalidExpression as err:
            raise ExpressionError(str(err), code=FORBIDDEN) from None

    def test(self, values: Mapping[str, Any]) -> bool:
        """Whether the condition holds; a missing result counts as false."""
        result = self.evaluate(values)
        if result is None:
            return False
        if type(result) is not bool:
            raise _type_error(
                f"The condition gives {_describe(result)}, not true or "
                "false."
            )
        return result


def parse_expression(source: str, kind: str = "condition") -> Expression:
    """Parse and check ``source``; raise :class:`ExpressionError` if refused.

    Names are not checked here: see :func:`check_names`.
    """
    try:
        return Expression(source, kind)
    except ExpressionError as err:
        logger.debug("Refused %s %r: %s %s", kind, source, err.code, err)
        raise


def check_names(
    expr: Expression, known: Iterable[str]
) -> list[tuple[str, str | None]]:
    """Names ``expr`` reads that are not in ``known``, in alphabetical
    order, each with the closest known name or ``None``.
    """
    candidates = list(known)
    known_set = set(candidates)
    unknown = sorted(expr.names - known_set)
    return [(name, _closest(name, candidates)) for name in unknown]


def _closest(name: str, candidates: list[str]) -> str | None:
    matches = difflib.get_close_matches(name, candidates, n=1)
    return matches[0] if matches else None
