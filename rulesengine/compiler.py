"""Checked formulas -> Python closures, built once per ruleset from our own syntax tree.

A compiled formula is ``fn(values, record) -> value``: ``values`` maps ids to values
already computed; ``record`` is None, or a list that receives what a trace shows besides
the names (table look-ups and the branch an ``if`` took). Numbers are ``Decimal``
throughout; division by zero and a missing table row raise located errors.
"""

from __future__ import annotations

import operator
from decimal import Decimal
from typing import Any, Callable

from . import ast
from .builtins import FUNCTIONS
from .errors import DivisionByZeroError, TableKeyError
from .model import Check, Rule, Table

Compiled = Callable[[dict, "list | None"], Any]

_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
            "==": operator.eq, "!=": operator.ne}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def compile_formula(decl: Rule | Check, tables: dict[str, Table],
                    tree: ast.Node | None = None) -> Compiled:
    """Compile the formula (or condition) of ``decl``, or ``tree``, a part of it.

    ``tables`` resolves look-ups; errors name ``decl`` and its citation.
    """
    context = f"{decl.kind} {decl.id} ({decl.citation})"
    return _Compiler(tables, context).build(tree or decl.tree)


class _Compiler:
    def __init__(self, tables: dict[str, Table], context: str):
        self.tables = tables
        self.context = context

    def build(self, node: ast.Node) -> Compiled:
        return getattr(self, "_" + type(node).__name__.lower())(node)

    def _number(self, node: ast.Number) -> Compiled:
        value = node.value
        return lambda values, record: value

    _percent = _number

    def _string(self, node: ast.String) -> Compiled:
        value = node.value
        return lambda values, record: value

    _boolean = _string

    def _name(self, node: ast.Name) -> Compiled:
        key = node.id
        return lambda values, record: values[key]

    def _neg(self, node: ast.Neg) -> Compiled:
        inner = self.build(node.operand)
        return lambda values, record: -inner(values, record)

    def _not(self, node: ast.Not) -> Compiled:
        inner = self.build(node.operand)
        return lambda values, record: not inner(values, record)

    def _binop(self, node: ast.BinOp) -> Compiled:
        left, right = self.build(node.left), self.build(node.right)
        if node.op != "/":
            op = _ARITH[node.op]
            return lambda values, record: op(left(values, record), right(values, record))
        divisor_text = node.right
        context = self.context

        def divide(values, record):
            numerator, divisor = left(values, record), right(values, record)
            if divisor == 0:
                raise DivisionByZeroError("division by zero: the divisor is 0", span=divisor_text.span,
                                          context=context,
                                          hint="guard the division: if DIVISOR == 0 then ... else ...")
            return numerator / divisor
        return divide

    def _compare(self, node: ast.Compare) -> Compiled:
        left, right, op = self.build(node.left), self.build(node.right), _COMPARE[node.op]
        return lambda values, record: op(left(values, record), right(values, record))

    def _boolop(self, node: ast.BoolOp) -> Compiled:
        left, right = self.build(node.left), self.build(node.right)
        if node.op == "and":
            return lambda values, record: left(values, record) and right(values, record)
        return lambda values, record: left(values, record) or right(values, record)

    def _ifelse(self, node: ast.IfElse) -> Compiled:
        condition, then, otherwise = (self.build(node.condition), self.build(node.then),
                                      self.build(node.otherwise))

        def choose(values, record):
            taken = condition(values, record)
            if record is not None:
                record.append(("branch", node, taken))
            return then(values, record) if taken else otherwise(values, record)
        return choose

    def _call(self, node: ast.Call) -> Compiled:
        impl = FUNCTIONS[node.function].impl
        args = [self.build(arg) for arg in node.args]
        return lambda values, record: impl(*[arg(values, record) for arg in args])

    def _lookup(self, node: ast.Lookup) -> Compiled:
        table = self.tables[node.table]
        rows = {key: as_decimal(value) for key, value in table.rows.items()}
        key_of, context = self.build(node.keys[0]), self.context

        def look_up(values, record):
            key = key_of(values, record)
            try:
                found = rows[key]
            except (KeyError, TypeError):
                raise TableKeyError(f"table '{table.id}' ({table.label}) has no row for {key!r}",
                                    span=node.span, context=context,
                                    hint="add the row to the table, or check the fact") from None
            if record is not None:
                record.append(("lookup", node, key, found))
            return found
        return look_up


def as_decimal(value: Any) -> Any:
    """Integers enter evaluation as Decimal, so int / int can never give a float."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value
