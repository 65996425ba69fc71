"""A table supplied as data (``rows: facts``, a city's DIP catalogue) given to ``batch`` as a file:
``--table catalogue_score=目录.csv``. Its rows are read by the same column reader as every table
and typed by the same function as rows given in the facts (:func:`..evaluate.facts.bind_table`),
each cell located at its file, row and column."""

from __future__ import annotations

from ..check.model import FactSet, Table
from ..core.errors import CheckFailed, RulesError
from ..core.source import Span
from ..evaluate.facts import bind_table
from .tables import read_table


def data_table_names(ruleset) -> set[str]:
    """The ids of the tables whose rows come with the facts."""
    return {d.id for d in ruleset.declarations.values() if isinstance(d, Table) and d.supplied}


def load_data_table(table: Table, path: str, encoding: str | None = None) -> dict:
    """The rows of ``table`` from the file at ``path``: key (a tuple for several key columns) -> value.
    The header names the columns as in the facts (the key columns, ``value``; ``key`` for a table
    of one key column); every problem is reported at once (:class:`CheckFailed`)."""
    read = read_table(path, encoding)
    rows, places = [], []
    for number, cells in read.rows():
        rows.append({name: cell for name, cell in zip(read.header, cells) if cell is not None})
        places.append(number)

    def span_of(where: tuple) -> Span:
        if len(where) < 1:
            return Span(path, 1, 1)
        column = where[1] if len(where) > 1 else None
        col = read.header.index(column) + 1 if column in read.header else 1
        return Span(path, places[where[0]], col)

    def key_span_of(where: tuple) -> Span:
        column = where[1] if len(where) > 1 else None
        return Span(path, 1, read.header.index(column) + 1 if column in read.header else 1)

    errors: list[RulesError] = []
    bound = bind_table(table, rows, FactSet(rows, span_of, key_span_of), (), errors)
    if errors:
        raise CheckFailed(errors)
    return bound
