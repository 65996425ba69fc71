"""A checked formula -> a function over whole columns (never from user text: from the checked AST).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Callable

import numpy as np

from ...check.model import aggregates_children
from ...core.builtins import FUNCTIONS
from ...load import ast
from ..semantics import as_decimal
from .arith import absolute, add, compare, divide, extreme, mul, negate, round_to, select
from .groups import Groups, value_codes
from .vectors import (Fixed, Flags, Objects, Unsupported, broadcast, python_values, scalar_vector,
                      size_of, take, to_decimal, vector_from_values)


class Env:
    """What a compiled formula reads: values, collections, its scope's row count."""

    def __init__(self, values: dict, tables: dict, n: int, up: dict, groups: dict):
        self.values, self.tables, self.n, self.up, self.groups = values, tables, n, up, groups
        self.unsure: list = []

    def scoped(self, n: int) -> "Env":
        return Env(self.values, self.tables, n, self.up, self.groups)

    def unsure_rows(self):
        if not self.unsure:
            return None
        rows = np.zeros(self.n, dtype=bool)
        for mask in self.unsure:
            rows |= np.broadcast_to(mask, (self.n,)) if len(mask) == 1 else mask
        return rows


Vector = Callable[[Env, Any], Any]


class VectorCompiler:
    def __init__(self, ruleset, scope: str | None):
        self.ruleset, self.scope = ruleset, scope

    def build(self, node: ast.Node) -> Vector:
        return getattr(self, "_" + type(node).__name__.lower())(node)

    def _number(self, node):
        vec = scalar_vector(node.value)
        return lambda env, mask: vec

    _percent = _dateliteral = _string = _boolean = _number

    def _name(self, node: ast.Name):
        decl = self.ruleset.resolve(node.id, self.scope)
        key = decl.id
        if decl.entity is None or decl.entity == self.scope:
            return lambda env, mask: env.values[key]
        up = self._up_rows(decl.entity)
        return lambda env, mask: take(env.values[key], up(env))

    def _up_rows(self, ancestor: str):
        """Row of the ``ancestor`` record of each record in scope (cached per evaluation)."""
        chain, current = [], self.scope
        entities = self.ruleset.entities
        while current != ancestor:
            chain.append(entities[current].collection)
            current = entities[current].parent
        chain = tuple(chain)

        def up(env):
            rows = env.up.get(chain)
            if rows is None:
                rows = env.tables[chain[0]].parent_rows
                for collection in chain[1:]:
                    rows = env.tables[collection].parent_rows[rows]
                env.up[chain] = rows
            return rows
        return up

    def _neg(self, node):
        inner = self.build(node.operand)
        return lambda env, mask: negate(inner(env, mask))

    def _not(self, node):
        inner = self.build(node.operand)
        return lambda env, mask: Flags(~inner(env, mask).arr)

    def _binop(self, node: ast.BinOp):
        left, right = self.build(node.left), self.build(node.right)
        if node.op == "+":
            return lambda env, mask: add(left(env, mask), right(env, mask))
        if node.op == "-":
            return lambda env, mask: add(left(env, mask), right(env, mask), -1)
        if node.op == "*":
            return lambda env, mask: mul(left(env, mask), right(env, mask))
        return lambda env, mask: divide(left(env, mask), right(env, mask), mask)

    def _compare(self, node: ast.Compare):
        left, right, op = self.build(node.left), self.build(node.right), node.op
        return lambda env, mask: Flags(compare(op, left(env, mask), right(env, mask), env.unsure))

    def _boolop(self, node: ast.BoolOp):
        left, right, both = self.build(node.left), self.build(node.right), node.op == "and"

        def logic(env, mask):
            first = np.broadcast_to(left(env, mask).arr, (env.n,))
            # the right side counts only where Python's and/or would evaluate it
            needed = first if both else ~first
            second = right(env, needed if mask is None else (mask & needed)).arr
            return Flags(first & second if both else first | second)
        return logic

    def _ifelse(self, node: ast.IfElse):
        condition, then, otherwise = (self.build(node.condition), self.build(node.then),
                                      self.build(node.otherwise))

        def choose(env, mask):
            taken = condition(env, mask).arr
            if len(taken) == 1:  # one value for all rows: only one branch runs, as in Python
                return then(env, mask) if taken[0] else otherwise(env, mask)
            yes = taken if mask is None else taken & mask
            no = ~taken if mask is None else ~taken & mask
            return select(taken, then(env, yes), otherwise(env, no))
        return choose

    def _call(self, node: ast.Call):
        """A builtin as its declaration says (``Function.fixed``); undeclared: the Decimal back-end."""
        args = [self.build(arg) for arg in node.args]
        name = node.function
        declared = FUNCTIONS[name].fixed
        if declared == "columns" and name in COLUMN_FUNCTIONS:
            return COLUMN_FUNCTIONS[name](name, args)
        if declared != "per_value":
            def unsupported(env, mask):
                raise Unsupported(f"{name}() is not declared for the fixed-point back-end")
            return unsupported
        impl = FUNCTIONS[name].impl

        def per_value(env, mask):  # date functions: Python, once per distinct argument tuple
            given = [arg(env, mask) for arg in args]
            n = max(size_of(g) for g in given)
            combined = np.zeros(n, dtype=np.int64)
            for g in given:
                if size_of(g) == 1:
                    continue
                values = g.ints if isinstance(g, Fixed) else g.arr
                try:
                    unique, inverse = np.unique(values, return_inverse=True)
                except TypeError:
                    raise Unsupported("function arguments that do not sort") from None
                combined = combined * len(unique) + inverse.ravel()
            codes, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
            picked = [python_values(take(g, first)) if size_of(g) > 1 else python_values(g) * len(first)
                      for g in given]
            active = np.ones(n, dtype=bool) if mask is None else np.broadcast_to(mask, (n,))
            out = []
            for index, values in enumerate(zip(*picked)):
                try:
                    out.append(impl(*values))
                except (ValueError, OverflowError):
                    if active[inverse.ravel() == index].any():
                        raise Unsupported("a date function failed") from None
                    out.append(None)
            inverse = inverse.ravel()
            if out and all(isinstance(v, date) or v is None for v in out):
                arr = np.empty(len(out), dtype=object)
                arr[:] = out
                return Objects(arr[inverse])
            vec = vector_from_values([v if v is not None else Decimal(0) for v in out], "number")
            return take(vec, inverse) if len(out) > 1 else broadcast(vec, n)
        return per_value

    def _lookup(self, node: ast.Lookup):
        table = self.ruleset.declarations[node.table]
        fixed = None if table.supplied else {key: as_decimal(value) for key, value in table.rows.items()}
        keys = [self._key(key) for key in node.keys]
        enums = [type_.values if type_.kind == "enum" else None for _name, type_ in table.columns]

        def look_up(env, mask):
            rows = env.tables[table.id] if fixed is None else fixed
            unique, inverse = _key_codes([(part(env, mask), up and up(env)) for part, up in keys], enums)
            found = []
            active = None if mask is None else np.broadcast_to(mask, inverse.shape)
            for index, key in enumerate(unique):
                if key not in rows:
                    if active is None or active[inverse == index].any():
                        raise Unsupported("a key with no table row")
                    found.append(None)
                else:
                    found.append(rows[key])
            filler = next((v for v in found if v is not None), Decimal(0))
            found = [filler if v is None else v for v in found]
            kinds = {type(v) for v in found}
            if kinds <= {Decimal}:
                vec = vector_from_values(found, "number")
            elif kinds <= {bool}:
                vec = Flags(np.array(found, dtype=bool))
            else:
                vec = vector_from_values(found, "text")
            return take(vec, inverse) if len(found) > 1 else broadcast(vec, len(inverse))
        return look_up

    def _key(self, node: ast.Node):
        """(the key's column, rows up to it): an ancestor's field is coded once per ancestor record."""
        decl = self.ruleset.resolve(node.id, self.scope) if isinstance(node, ast.Name) else None
        if decl is None or decl.entity is None or decl.entity == self.scope:
            return self.build(node), None
        return (lambda env, mask: env.values[decl.id]), self._up_rows(decl.entity)

    def _aggregate(self, node: ast.Aggregate):
        entity = self.ruleset.collections[node.collection]
        collection = entity.collection
        own = aggregates_children(self.ruleset.entities, self.scope, entity.id)
        where = VectorCompiler(self.ruleset, entity.id).build(node.where) if node.where else None
        column = f"{entity.id}.{node.field}" if node.field else None
        function = node.function

        def aggregate(env, mask):
            child = env.tables[collection]
            groups = env.groups.get((collection, own))
            if groups is None:
                groups = Groups(child.parent_rows if own else None, env.n if own else 1)
                env.groups[(collection, own)] = groups
            active = None
            if own and mask is not None:
                active = mask[child.parent_rows] if len(mask) > 1 else (
                    None if mask[0] else np.zeros(len(child), dtype=bool))
            include = active
            if where is not None:
                inner = env.scoped(len(child))
                chosen = where(inner, active).arr
                chosen = np.broadcast_to(chosen, (len(child),))
                include = chosen if active is None else chosen & active
                rows = inner.unsure_rows()
                if rows is not None:
                    if own:
                        env.unsure.append(np.bincount(child.parent_rows[rows], minlength=env.n) > 0)
                    else:
                        env.unsure.append(np.array([rows.any()]))
            if function == "count":
                return Fixed(groups.count(include, len(child)), 0)
            vec = env.values[column]
            if function == "sum":
                if not isinstance(vec, Fixed):
                    raise Unsupported("sum() of unrounded quotients")
                vec = broadcast(vec, len(child))
                return Fixed(groups.sum(vec.ints, vec.bound, include), vec.scale)
            if function in ("min", "max"):
                if not isinstance(vec, Fixed):
                    raise Unsupported(f"{function}() of values other than exact numbers")
                vec = broadcast(vec, len(child))
                result, empty = groups.extreme(vec.ints, include, function == "min")
                if empty.any() and (mask is None or (np.broadcast_to(mask, empty.shape) & empty).any()):
                    raise Unsupported(f"{function}() over no records")
                return Fixed(result, vec.scale, vec.bound)
            if function in ("any", "all"):
                vec = broadcast(vec, len(child))
                return Flags(groups.flags(vec.arr, include, function == "all"))
            vec = broadcast(vec, len(child))
            return Fixed(groups.distinct(value_codes(vec), include), 0)
        return aggregate


def _fold(name: str, args: list):
    def fold(env, mask):
        result = args[0](env, mask)
        for arg in args[1:]:
            result = extreme(result, arg(env, mask), name == "min")
        return result
    return fold


def _round_call(name: str, args: list):
    def round_call(env, mask):
        places = args[1](env, mask)
        if not isinstance(places, Fixed) or len(places.ints) != 1:
            raise Unsupported("round() to places that vary by record")
        count = to_decimal(places.ints[0], places.scale)
        if count != count.to_integral_value():
            raise Unsupported("round() to a fractional number of places")
        return round_to(args[0](env, mask), int(count), "half_up", settle=False, unsure=env.unsure)
    return round_call


COLUMN_FUNCTIONS: dict[str, Callable[[str, list], Vector]] = {
    "min": _fold,
    "max": _fold,
    "abs": lambda name, args: lambda env, mask: absolute(args[0](env, mask)),
    "clamp": lambda name, args: lambda env, mask: extreme(
        extreme(args[0](env, mask), args[1](env, mask), False), args[2](env, mask), True),
    "round": _round_call,
}
"""The builtins declared ``fixed="columns"`` and their exact column implementations."""


def _key_codes(parts: list, enums: list) -> tuple[list, Any]:
    """The distinct keys of a look-up (a value, or a tuple with several key columns) and, per
    row, the index of its key: each column coded (an enum by its values, text by hashing, an
    ancestor's field once per ancestor record), the codes combined."""
    columns, inverses = [], []
    for (part, up), values in zip(parts, enums):
        unique, inverse = _column_codes(part, values)
        columns.append(unique)
        inverses.append(inverse if up is None else inverse[up])
    n = max(len(inverse) for inverse in inverses)
    codes, span = np.zeros(n, dtype=np.int64), 1
    for unique, inverse in zip(columns, inverses):
        span *= max(len(unique), 1)
        if span >= 2 ** 62:
            raise Unsupported("too many distinct keys")
        codes = codes * len(unique) + np.broadcast_to(inverse, (n,))
    if span <= max(4 * n, 1 << 16):  # only the keys some row has: by counting, else by sorting
        present = np.flatnonzero(np.bincount(codes, minlength=span))
        position = np.zeros(span, dtype=np.int64)
        position[present] = np.arange(len(present))
        inverse = position[codes]
    else:
        present, inverse = np.unique(codes, return_inverse=True)
    keys = []
    for code in present.tolist():
        key = []
        for values in reversed(columns):
            code, index = divmod(code, len(values))
            key.append(values[index])
        keys.append(key[0] if len(columns) == 1 else tuple(reversed(key)))
    return keys, inverse.ravel()


def _column_codes(part, enum_values) -> tuple[list, Any]:
    if isinstance(part, Flags):
        unique, inverse = np.unique(part.arr, return_inverse=True)
        return unique.tolist(), inverse.ravel()
    if not isinstance(part, Objects):
        raise Unsupported("a table keyed by numbers")
    arr = part.arr.ravel()
    if enum_values is not None and part._codes is None:  # a few values: one comparison each
        inverse = np.full(arr.size, len(enum_values), dtype=np.int64)
        for index, value in enumerate(enum_values):
            inverse[arr == value] = index
        return list(enum_values) + [None], inverse
    return part.codes()  # cached on the column: a field looked up twice is coded once
