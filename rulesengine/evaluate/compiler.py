"""Checked formulas -> Python closures, built once per ruleset from our own syntax tree.

A compiled formula is ``fn(values, row, record) -> value``. ``values`` maps ids to what is
already computed: a single value for a top-level id, a column (one value per record) for
a per-record id ``<entity>.<name>``, and each collection's :class:`~rulesengine.records.Records`
under its collection name. ``row`` is the record a per-record formula is evaluated for
(None at top level). ``record`` is None, or a list that receives what a trace shows besides
the names: table look-ups, the branch an ``if`` took, aggregations. Numbers are ``Decimal``
throughout; division by zero, a missing table row and min/max of nothing raise located errors.
"""

from __future__ import annotations

import operator
from decimal import Decimal
from typing import Any, Callable

from ..load import ast
from ..core.builtins import FUNCTIONS
from ..core.errors import DivisionByZeroError, EmptyCollectionError, InvalidDateError, TableKeyError
from ..core.i18n import _, context_of
from ..check.model import Check, Rule, Ruleset, aggregates_children
from .semantics import as_decimal, table_key_message

Compiled = Callable[[dict, "int | None", "list | None"], Any]

_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
            "==": operator.eq, "!=": operator.ne}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def compile_formula(decl: Rule | Check, ruleset: Ruleset, tree: ast.Node | None = None) -> Compiled:
    """Compile the formula (or condition) of ``decl``, or ``tree``, a part of it.

    Names resolve in the scope of ``decl``'s entity; errors name ``decl`` and its citation.
    """
    context = context_of(decl)
    return _Compiler(ruleset, context, decl.entity).build(tree or decl.tree)


def compile_check(decl: Check, ruleset: Ruleset, condition: Compiled) -> Callable[[dict, "int | None", "list | None"], tuple]:
    """A check as ``fn(values, row, record) -> (passed, sides)``: a comparison gives its two
    sides from the same single evaluation that decides it; any other condition (``condition``,
    the check's compiled formula) gives None."""
    if not isinstance(decl.tree, ast.Compare):
        return lambda values, row, record: (condition(values, row, record), None)
    left, right = compile_formula(decl, ruleset, decl.tree.left), compile_formula(decl, ruleset, decl.tree.right)
    op = _COMPARE[decl.tree.op]

    def check(values, row, record):
        sides = left(values, row, record), right(values, row, record)
        return op(*sides), sides
    return check


class _Compiler:
    def __init__(self, ruleset: Ruleset, context: str, scope: str | None):
        self.ruleset = ruleset
        self.context = context
        self.scope = scope

    def build(self, node: ast.Node) -> Compiled:
        return getattr(self, "_" + type(node).__name__.lower())(node)

    def _number(self, node: ast.Number) -> Compiled:
        value = node.value
        return lambda values, row, record: value

    _percent = _dateliteral = _string = _boolean = _number

    def _name(self, node: ast.Name) -> Compiled:
        decl = self.ruleset.resolve(node.id, self.scope)
        key = decl.id
        if decl.entity is None:
            return lambda values, row, record: values[key]
        if decl.entity == self.scope:
            return lambda values, row, record: values[key][row]
        up = self._up_to(decl.entity)
        return lambda values, row, record: values[key][up(values, row)]

    def _up_to(self, ancestor: str) -> Callable[[dict, int], int]:
        """Row of the ``ancestor`` record that the current record belongs to."""
        entities = self.ruleset.entities
        chain, current = [], self.scope
        while current != ancestor:
            chain.append(entities[current].collection)
            current = entities[current].parent

        def up(values, row):
            for collection in chain:
                row = values[collection].parent_rows[row]
            return row
        return up

    def _neg(self, node: ast.Neg) -> Compiled:
        inner = self.build(node.operand)
        return lambda values, row, record: -inner(values, row, record)

    def _not(self, node: ast.Not) -> Compiled:
        inner = self.build(node.operand)
        return lambda values, row, record: not inner(values, row, record)

    def _binop(self, node: ast.BinOp) -> Compiled:
        left, right = self.build(node.left), self.build(node.right)
        if node.op != "/":
            op = _ARITH[node.op]
            return lambda values, row, record: op(left(values, row, record), right(values, row, record))
        divisor_node, context = node.right, self.context

        def divide(values, row, record):
            numerator, divisor = left(values, row, record), right(values, row, record)
            if divisor == 0:
                raise DivisionByZeroError(_("division by zero: the divisor is 0"), span=divisor_node.span,
                                          context=context,
                                          hint=_("guard the division: if DIVISOR == 0 then ... else ..."))
            return numerator / divisor
        return divide

    def _compare(self, node: ast.Compare) -> Compiled:
        left, right, op = self.build(node.left), self.build(node.right), _COMPARE[node.op]
        return lambda values, row, record: op(left(values, row, record), right(values, row, record))

    def _boolop(self, node: ast.BoolOp) -> Compiled:
        left, right = self.build(node.left), self.build(node.right)
        if node.op == "and":
            return lambda values, row, record: left(values, row, record) and right(values, row, record)
        return lambda values, row, record: left(values, row, record) or right(values, row, record)

    def _ifelse(self, node: ast.IfElse) -> Compiled:
        condition, then, otherwise = (self.build(node.condition), self.build(node.then),
                                      self.build(node.otherwise))

        def choose(values, row, record):
            taken = condition(values, row, record)
            if record is not None:
                record.append(("branch", node, taken))
            return then(values, row, record) if taken else otherwise(values, row, record)
        return choose

    def _call(self, node: ast.Call) -> Compiled:
        function = FUNCTIONS[node.function]
        impl = function.impl
        args = [self.build(arg) for arg in node.args]
        if function.params is None:
            return lambda values, row, record: impl(*[arg(values, row, record) for arg in args])
        context = self.context

        def call_date(values, row, record):
            given = [arg(values, row, record) for arg in args]
            try:
                return impl(*given)
            except (ValueError, OverflowError):
                shown = ", ".join(str(v) for v in given)
                raise InvalidDateError(_("{call} is not a calendar date").format(call=f"{node.function}({shown})"),
                                       span=node.span, context=context,
                                       hint=_("dates run from 0001-01-01 to 9999-12-31 and each "
                                              "month has its own last day; end_of_month(d) gives it")) from None
        return call_date

    def _lookup(self, node: ast.Lookup) -> Compiled:
        table = self.ruleset.declarations[node.table]
        fixed = None if table.supplied else {key: as_decimal(value) for key, value in table.rows.items()}
        keys = [self.build(key) for key in node.keys]
        key_of = keys[0] if len(keys) == 1 else \
            (lambda values, row, record: tuple(k(values, row, record) for k in keys))
        context = self.context

        def look_up(values, row, record):
            key = key_of(values, row, record)
            try:
                found = (values[table.id] if fixed is None else fixed)[key]
            except (KeyError, TypeError):
                raise TableKeyError(table_key_message(table, key),
                                    span=node.span, context=context,
                                    hint=_("add the row to the table, or check the fact")) from None
            if record is not None:
                shown = " × ".join(str(k) for k in key) if isinstance(key, tuple) else key  # one trace value
                record.append(("lookup", node, shown, found))
            return found
        return look_up

    def _aggregate(self, node: ast.Aggregate) -> Compiled:
        entity = self.ruleset.collections[node.collection]
        collection = entity.collection
        own = aggregates_children(self.ruleset.entities, self.scope, entity.id)
        scope_collection = self.ruleset.entities[self.scope].collection if own else None
        where = _Compiler(self.ruleset, self.context, entity.id).build(node.where) if node.where else None
        column = f"{entity.id}.{node.field}" if node.field else None
        reduce = _REDUCERS[node.function]
        context = self.context

        def aggregate(values, row, record):
            rows = values[scope_collection].children[collection][row] if own \
                else range(len(values[collection]))
            if where is not None:
                rows = [j for j in rows if where(values, j, None)]
            items = [values[column][j] for j in rows] if column else list(rows)
            if not items and node.function in ("min", "max"):
                raise EmptyCollectionError(_("{function}() over no records of {collection}").format(
                                               function=node.function, collection=collection),
                                           span=node.span, context=context,
                                           hint=_("guard it: if count(...) > 0 then ... else ..."))
            result = reduce(items)
            if record is not None:
                record.append(("aggregate", node, result, len(items)))
            return result
        return aggregate


def _sum(items: list) -> Any:
    total = Decimal(0)
    for item in items:
        total += item
    return total


_REDUCERS: dict[str, Callable[[list], Any]] = {
    "sum": _sum, "min": min, "max": max, "any": any, "all": all,
    "count": lambda items: Decimal(len(items)),
    "distinct": lambda items: Decimal(len(set(items))),
}
