"""An input workbook of several sheets (the one ``rulesengine template`` writes): a sheet per
collection, named by the collection or its Chinese label, and a sheet of the facts every
record shares (:data:`~rulesengine.views.sheets.FACTS_SHEET`: a row per fact, its id under
标识 and its value under 取值). ``--table 输入模板.xlsx`` reads every collection sheet;
without ``--facts`` the facts come from the facts sheet."""

from __future__ import annotations

import os

from ..check.model import FactSet, Input, Parameter
from ..core.cells import cell_value, fact_message
from ..core.datatypes import ValueProblem
from ..core.errors import CheckFailed, FactError, TableHeaderError
from ..core.i18n import _
from ..core.source import Span
from ..views.sheets import FACT_ID, FACT_VALUE, FACTS_SHEET, table_sheets
from .tables import read_table, sheet_names


def _is_book(path: str) -> bool:
    return os.path.splitext(path)[1].lower() == ".xlsx" and os.path.isfile(path)


def sheet_for(path: str, entity) -> str | None:
    """The sheet of ``entity``'s records in the workbook ``path`` (None: its first sheet)."""
    if not _is_book(path):
        return None
    names = sheet_names(path)
    return next((name for name in table_sheets(entity) if name in names), None)


def expand_tables(ruleset, tables: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A workbook given without NAME= whose sheets are named for collections: one table per sheet."""
    out = []
    for name, path in tables:
        if ruleset.entities and name not in ruleset.collections and _is_book(path):
            names = sheet_names(path)
            found = [e.collection for e in ruleset.entities.values()
                     if any(n in names for n in table_sheets(e))]
            if found:
                out += [(collection, path) for collection in found]
                continue
        out.append((name, path))
    return out


def workbook_facts(ruleset, path: str) -> FactSet | None:
    """The facts of a workbook's facts sheet, typed as table cells are (None: it has none)."""
    if not _is_book(path) or FACTS_SHEET not in sheet_names(path):
        return None
    table = read_table(path, sheet=FACTS_SHEET)
    if FACT_ID not in table.header or FACT_VALUE not in table.header:
        raise TableHeaderError(_("sheet '{sheet}' needs the columns '{id}' and '{value}'").format(
            sheet=FACTS_SHEET, id=FACT_ID, value=FACT_VALUE), span=Span(path, 1, 1),
            hint=_("make a new template with rulesengine template and copy the values into it"))
    at_id, at_value = table.header.index(FACT_ID), table.header.index(FACT_VALUE)
    ids, texts = table.columns[at_id].to_pylist(), table.columns[at_value].to_pylist()
    values, spans, key_spans, errors = {}, {}, {}, []
    for number, name, text in zip(table.numbers, ids, texts):
        if not name or text is None or not text.strip():
            continue  # a fact left blank is reported as missing, if a result needs it
        name = name.strip()
        if name in spans:
            errors.append(FactError(_("fact '{name}' is given twice (rows {first} and {row})").format(
                name=name, first=spans[name].line, row=number), span=Span(path, number, at_id + 1),
                hint=_("give each fact once; delete one of the rows")))
            continue
        spans[name] = Span(path, number, at_value + 1)
        key_spans[name] = Span(path, number, at_id + 1)
        decl = ruleset.declarations.get(name)
        if not isinstance(decl, (Input, Parameter)) or decl.entity is not None:
            values[name] = text  # bind_facts says what it is instead
            continue
        try:
            values[name] = cell_value(text, decl.type)
        except ValueProblem as problem:
            errors.append(FactError(fact_message(name, decl.label, problem.message, decl.type),
                                    span=spans[name], hint=problem.hint))
    if errors:
        raise CheckFailed(errors)
    blank = Span(path, 1, 1)
    return FactSet(values, lambda p: spans.get(p[0], blank) if p else blank,
                   lambda p: key_spans.get(p[0], blank) if p else blank)
