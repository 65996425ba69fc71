"""Loaded tables -> the fast path's collections, and (``--keep-going``) the same collections
without the records that failed at run time, which are then reported as bad rows."""

from __future__ import annotations

import os

import numpy as np

from ..evaluate.fixedpoint import Collection, take
from .read import BadCell


def fast_collections(ruleset, loaded_tables: dict, keep_columns: bool) -> dict:
    """The loaded tables as columnar collections (the loaded columns are freed unless
    ``keep_columns``: the traces and the pack read them again)."""
    collections = {}
    for name, loaded in loaded_tables.items():
        keys = np.empty(len(loaded.keys), dtype=object)
        keys[:] = loaded.keys
        entity = ruleset.collections[name]
        fields = {}
        for n in list(loaded.columns):
            fields[n] = loaded.columns[n].vector()
            if not keep_columns:  # the column now lives in the fast table
                loaded.columns[n].items = []
        parent_rows = np.frombuffer(loaded.parent_rows, dtype=np.int64) if entity.parent else None
        collections[name] = Collection(entity.id, keys, fields, parent_rows)
        if not keep_columns:
            loaded.columns = {}
    return collections


def without_failed(ruleset, loaded_tables: dict, collections: dict, record_errors: dict,
                   bad: list[BadCell]) -> dict | None:
    """The collections without the records that failed and their children; each failure is
    appended to ``bad`` with its file and row. None when a collection would keep fewer than two
    records (a one-record column stands for every record and cannot be filtered)."""
    drop = {name: np.zeros(len(table), dtype=bool) for name, table in collections.items()}
    for name, rows in record_errors.items():
        loaded = loaded_tables[name]
        for row, errors in sorted(rows.items()):
            drop[name][row] = True
            bad.extend(BadCell(os.path.basename(loaded.path), loaded.row_numbers[row], "", err.code,
                               err.message) for err in errors)
    kept = {}
    for name in sorted(collections, key=lambda n: len(ruleset.collections[n].ancestors(ruleset.entities))):
        table, entity = collections[name], ruleset.collections[name]
        parent_rows = table.parent_rows
        if entity.parent is not None:
            parent = ruleset.entities[entity.parent].collection
            drop[name] |= drop[parent][parent_rows]
            renumber = np.cumsum(~drop[parent]) - 1
            parent_rows = renumber[parent_rows[~drop[name]]]
        if not drop[name].any():
            kept[name] = Collection(table.entity, table.keys, table.fields, parent_rows)
            continue
        keep = np.nonzero(~drop[name])[0]
        if len(keep) < 2:
            return None
        kept[name] = Collection(table.entity, table.keys[keep],
                                {f: take(v, keep) for f, v in table.fields.items()}, parent_rows)
    return kept
