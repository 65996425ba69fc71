"""Collections as columns, and per-parent grouping for sum, count, min/max, any/all, distinct.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .vectors import DIGITS, LIMIT, Fixed, Flags, Objects, Unsupported, as_objects, vector_from_values


@dataclass
class Collection:
    """The records of one entity as columns: keys, typed field columns, parent rows."""

    entity: str
    keys: Any  # object array
    fields: dict[str, Any]
    parent_rows: Any = None  # int64 array (child entities)
    _groups: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)


class Groups:
    """Rows of a child collection grouped by parent row (None: one group of all rows)."""

    def __init__(self, parent_rows, n_groups: int):
        self.p, self.n = parent_rows, n_groups
        self._order = None

    @property
    def order(self):
        if self._order is None:
            self._order = np.argsort(self.p, kind="stable")
        return self._order

    def count(self, include, n_rows: int):
        if self.p is None:
            return np.array([int(include.sum()) if include is not None else n_rows], dtype=np.int64)
        p = self.p if include is None else self.p[include]
        return np.bincount(p, minlength=self.n).astype(np.int64)

    def sum(self, ints, bound: int, include):
        n_rows = len(ints)
        if include is not None:
            ints = np.where(include, ints, 0)
        total_bound = bound * max(n_rows, 1)
        if total_bound >= DIGITS:
            raise Unsupported("a sum that could exceed 34 digits")
        if self.p is None:
            if ints.dtype == object or total_bound >= LIMIT:
                return np.array([sum(as_objects(ints).tolist())], dtype=object)
            return np.array([int(ints.sum())], dtype=np.int64)
        if ints.dtype != object and total_bound < 2 ** 53:
            sums = np.bincount(self.p, weights=ints.astype(np.float64), minlength=self.n)
            return np.rint(sums).astype(np.int64)
        if ints.dtype != object and total_bound >= LIMIT:
            ints = as_objects(ints)
        return self._reduce(np.add, ints, None, 0)[0]

    def _reduce(self, ufunc, values, include, empty_value):
        """ufunc.reduceat per group over the included rows; (result, empty groups)."""
        order = self.order if include is None else self.order[include[self.order]]
        counts = np.bincount(self.p[order], minlength=self.n)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        nonempty = counts > 0
        result = np.full(self.n, empty_value, dtype=values.dtype)
        if order.size:
            result[nonempty] = ufunc.reduceat(values[order], starts[nonempty])
        return result, ~nonempty

    def extreme(self, ints, include, smaller: bool):
        ufunc = np.minimum if smaller else np.maximum
        if self.p is None:
            chosen = ints if include is None else ints[include]
            if chosen.size == 0:
                return np.zeros(1, dtype=ints.dtype), np.array([True])
            return np.array([ufunc.reduce(chosen)], dtype=ints.dtype), np.array([False])
        return self._reduce(ufunc, ints, include, 0)

    def flags(self, arr, include, every: bool):
        hits = arr if include is None else arr & include
        if self.p is None:
            n_true = int(hits.sum())
            n_all = len(arr) if include is None else int(include.sum())
            return np.array([n_true == n_all if every else n_true > 0])
        n_true = np.bincount(self.p[hits], minlength=self.n)
        if not every:
            return n_true > 0
        return n_true == self.count(include, len(arr))

    def distinct(self, codes, include):
        if include is not None:
            codes = codes[include]
        if self.p is None:
            return np.array([len(np.unique(codes))], dtype=np.int64)
        p = self.p if include is None else self.p[include]
        width = int(codes.max()) + 1 if codes.size else 1
        pairs = np.unique(p.astype(np.int64) * width + codes)
        return np.bincount(pairs // width, minlength=self.n).astype(np.int64)


def value_codes(vec):
    """Integer codes with equal codes for equal values (numeric equality for numbers)."""
    if isinstance(vec, Fixed):
        values = vec.ints
    elif isinstance(vec, Flags):
        return vec.arr.astype(np.int64)
    elif isinstance(vec, Objects):
        if len(vec.arr) == 0:
            return np.zeros(0, dtype=np.int64)
        try:
            return vec.codes()[1].astype(np.int64)
        except TypeError:
            raise Unsupported("distinct() of values that do not sort") from None
    else:
        raise Unsupported("distinct() of unrounded quotients")
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        return np.unique(values, return_inverse=True)[1].astype(np.int64).ravel()
    except TypeError:
        raise Unsupported("distinct() of values that do not sort") from None


def table_from_records(ruleset, records) -> Collection:
    """A columnar Collection from bound :class:`~rulesengine.records.Records`."""
    entity = ruleset.entities[records.entity]
    fields = {}
    for name, column in records.columns.items():
        decl = ruleset.declarations[f"{entity.id}.{name}"]
        fields[name] = vector_from_values(column, decl.type.kind if decl.type.kind != "enum" else "text")
    keys = np.empty(len(records.keys), dtype=object)
    keys[:] = records.keys
    parent_rows = np.array(records.parent_rows, dtype=np.int64) if entity.parent else None
    return Collection(entity.id, keys, fields, parent_rows)
