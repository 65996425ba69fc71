"""What the Decimal back-end's closures read when the fixed-point back-end hands it a rule or a row.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from ...check.model import Rule, Table
from ..semantics import DECIMAL_CONTEXT, rule_value
from .groups import Collection
from .vectors import Ratio, python_values, size_of, take



class RecordsView:
    """What the Decimal closures read of a collection (len, keys, parent_rows, children)."""

    def __init__(self, table: Collection, tables: dict, child_collections: list[str]):
        self.table, self.tables, self._child_collections = table, tables, child_collections
        self.keys = table.keys
        self.parent_rows = table.parent_rows
        self._children = None

    def __len__(self) -> int:
        return len(self.table)

    @property
    def children(self) -> dict:
        if self._children is None:
            self._children = {}
            for name in self._child_collections:
                child = self.tables[name]
                lists: list[list[int]] = [[] for _ in range(len(self.table))]
                for row, parent in enumerate(child.parent_rows.tolist()):
                    lists[parent].append(row)
                self._children[name] = lists
        return self._children


class DecimalColumn:
    """One per-record value column as the Decimal path holds it, converted on demand."""

    def __init__(self, view: "DecimalView", key: str):
        self.view, self.key, self.cache = view, key, {}

    def __getitem__(self, row: int):
        if row in self.cache:
            return self.cache[row]
        value = self.view.value_at(self.key, row)
        self.cache[row] = value
        return value

    def __len__(self) -> int:
        return self.view.length(self.key)


class DecimalView:
    """``values`` for the Decimal closures, backed by the fast columns: exact values are
    converted, unrounded quotients recomputed by their own Decimal formula (as the Decimal
    path computed them), so a fall-back row sees exactly what the Decimal path would."""

    def __init__(self, fast: Any, values: dict, tables: dict, row: int | None = None):
        # fast: the FastProgram whose Decimal closures (fast.program) and ruleset are read
        self.fast, self.values, self.tables, self.row = fast, values, tables, row
        self._columns: dict[str, DecimalColumn] = {}
        self._scalars: dict[str, Any] = {}
        self._records: dict[str, RecordsView] = {}

    def __getitem__(self, key: str):
        ruleset = self.fast.ruleset
        if key in ruleset.collections:
            if key not in self._records:
                entity = ruleset.collections[key]
                children = [e.collection for e in ruleset.entities.values() if e.parent == entity.id]
                self._records[key] = RecordsView(self.tables[key], self.tables, children)
            return self._records[key]
        decl = ruleset.declarations[key]
        if isinstance(decl, Table):  # rows supplied with the facts: held among the tables
            return self.tables[key]
        if decl.entity is not None:
            if key not in self._columns:
                self._columns[key] = DecimalColumn(self, key)
            return self._columns[key]
        if key not in self._scalars:
            vec = self.values[key]
            row = self.row if self.row is not None and size_of(vec) > 1 else 0
            self._scalars[key] = self.value_at(key, row)
        return self._scalars[key]

    def length(self, key: str) -> int:
        return size_of(self.values[key])

    def value_at(self, key: str, row: int):
        vec = self.values.get(key)
        if vec is None:
            raise KeyError(key)
        if not isinstance(vec, Ratio):
            return python_values(take(vec, np.array([row if size_of(vec) > 1 else 0])))[0]
        if vec.single and vec.err is not None:
            # one division of exact values: the Decimal path holds the quotient rounded once
            num = vec.num[row if len(vec.num) > 1 else 0]
            den = vec.den[row if len(vec.den) > 1 else 0]
            return DECIMAL_CONTEXT.divide(Decimal(int(num)), Decimal(int(den)))
        return self.recompute(key, row)

    def recompute(self, key: str, row: int):
        """The value of rule ``key`` for ``row`` by its Decimal formula."""
        decl = self.fast.ruleset.declarations[key]
        if not isinstance(decl, Rule):
            raise KeyError(key)
        scope_row = row if decl.entity is not None else None
        value = self.fast.program.formulas[key](self, scope_row, None)
        if decl.rounding is not None and isinstance(value, Decimal):
            value = rule_value(value, decl.rounding, self.fast.program.divides[decl.id])
        return value


