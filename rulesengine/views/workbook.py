"""Evaluation -> a 清算明细 workbook (.xlsx) ready for sign-off, written with openpyxl.

Sheets, in this order: 计算结果 (every top-level result in the order of the ruleset, which
follows the policy document: id, Chinese label, value, formula, values substituted,
citation), 输入 (the facts and parameters used, with their sources, then every row of the
parameter tables), 检查 (each check passed or failed, both sides, the difference, the
message, the citation; a row per failing record), and one sheet per collection (a row
per member, institution or case; a column per field, rule and check).

Numbers are stored as numbers, never as text: money with the format ``#,##0.00``, rates
``0.00%``, integers ``0``, dates as dates. Amounts go into the file as the exact decimal
text of the ``Decimal`` (Excel reads them as numbers). The file is written to a temporary
name and renamed, so a failed run never leaves half a workbook.
"""

from __future__ import annotations

import re

from ..core.datatypes import Type
from ..evaluate.evaluator import CheckResult, Evaluation, Program
from ..core.i18n import _, report_wording, severity_name
from .explanation import Explanation, checked_text, kind_word, skipped_text
from ..check.model import Check, Input, Parameter, Rule, Table
from ..core.output import write_atomic
from .sheets import (FAIL_FILL, WARN_FILL, bold, cell_value, column_label, fill, fill_cell, grey, header,
                     neutralise_book, page, sheet_title, style_header, type_word, typed, widths, write_row)
from ..core.source import text_width

_BARE_NUMBER = re.compile(r"\(?-?[\d,]+(\.\d+)?%?\)?")


@report_wording()
def build_workbook(program: Program, evaluation: Evaluation):
    """The workbook (an ``openpyxl.Workbook``) for an evaluation made with ``trace=True``."""
    from openpyxl import Workbook

    ex = Explanation(program, evaluation)
    book = Workbook()
    book.properties.creator = "rulesengine"
    scope = f"{ex.scope_label()} {evaluation.scope[1]} " if evaluation.scope is not None else ""
    book.properties.title = scope + _title(ex)
    used: set[str] = set()
    _results_sheet(book.active, ex)
    book.active.title = sheet_title(_("Results"), used)
    _inputs_sheet(book.create_sheet(sheet_title(_("Inputs"), used)), ex)
    _checks_sheet(book.create_sheet(sheet_title(_("Checks"), used)), ex)
    for entity in program.ruleset.entities.values():
        if entity.collection in evaluation.values:
            title = sheet_title(f"{entity.label}", used)
            _collection_sheet(book.create_sheet(title), ex, entity)
    neutralise_book(book)
    return book


def write_workbook(program: Program, evaluation: Evaluation, path: str) -> None:
    """Build the workbook and save it to ``path`` atomically.

    Raises:
        OutputError: the file cannot be written.
    """
    book = build_workbook(program, evaluation)
    write_atomic(path, book.save)


# --- sheets ---------------------------------------------------------------------------------
def _results_sheet(sheet, ex: Explanation) -> None:
    row = _title_block(sheet, ex)
    head = [_("No."), _("ID"), _("Name"), _("Value"), _("Type"), _("Formula"),
            _("Values substituted"), _("Clause"), _("Note")]
    header_row = row
    header(sheet, row, head)
    decls = ex.ruleset.declarations
    number = 0
    for decl in decls.values():
        if not isinstance(decl, Rule) or not ex.own(decl):
            continue
        if decl.id not in ex.evaluation.values and decl.id not in ex.evaluation.skipped:
            continue
        number += 1
        row += 1
        node = ex.nodes.get(decl.id)
        value = ex.evaluation.values.get(decl.id)
        note = decl.note or ""
        if decl.id in ex.evaluation.skipped:
            note = skipped_text(ex.evaluation.skipped[decl.id])
        substituted = node.substituted if node else None
        if substituted and _BARE_NUMBER.fullmatch(substituted):
            substituted = None  # a sum(...) alone: the value itself, which must stay a number
        cells = [number, decl.id, decl.label, None, type_word(decl.type),
                 " ".join(decl.formula.split()), substituted,
                 ex.ruleset.reference(decl), note]
        write_row(sheet, row, cells)
        typed(sheet.cell(row, 4), value, decl.type)
    sheet.freeze_panes = sheet.cell(header_row + 1, 4)
    row += 2
    sheet.cell(row, 2, _("Prepared by:"))
    sheet.cell(row, 4, _("Checked by:"))
    sheet.cell(row, 6, _("Date:"))
    page(sheet, header_row)
    widths(sheet, {1: 6, 2: 28, 3: 36, 4: 20, 5: 12, 6: 48, 7: 48, 8: 26, 9: 40})


def _inputs_sheet(sheet, ex: Explanation) -> None:
    row = 1
    head = [_("ID"), _("Name"), _("Kind"), _("Value"), _("Type"), _("Source"),
            _("Clause"), _("Note")]
    header(sheet, row, head)
    for decl in ex.ruleset.declarations.values():
        if not isinstance(decl, (Input, Parameter)) or not ex.own(decl):
            continue
        if decl.id not in ex.evaluation.values:
            continue
        row += 1
        node = ex.nodes.get(decl.id)
        kind = kind_word("parameter" if node is not None and node.kind == "parameter" else "fact")
        source = ex.node_source(node) if node is not None else ""
        write_row(sheet, row, [decl.id, decl.label, kind, None, type_word(decl.type), source,
                                ex.ruleset.reference(decl), decl.note or ""])
        typed(sheet.cell(row, 4), ex.evaluation.values[decl.id], decl.type)
    tables = [d for d in ex.ruleset.declarations.values() if isinstance(d, Table)]
    if tables:
        row += 2
        sheet.cell(row, 1, _("Parameter table")).font = bold()
        row += 1
        header(sheet, row, [_("ID"), _("Name"), _("Key"), _("Value"), _("Type"),
                             "", _("Clause"), _("Note")])
        for table in tables:
            for key, value in table.rows.items():
                row += 1
                shown_key = "、".join(str(k) for k in key) if isinstance(key, tuple) else key
                write_row(sheet, row, [table.id, table.label, cell_value(shown_key, None), None,
                                        type_word(table.type), "", ex.ruleset.reference(table),
                                        table.note or ""])
                typed(sheet.cell(row, 4), value, table.type)
    sheet.freeze_panes = "C2"
    page(sheet, 1)
    widths(sheet, {1: 30, 2: 36, 3: 8, 4: 20, 5: 12, 6: 36, 7: 26, 8: 48})


def _checks_sheet(sheet, ex: Explanation) -> None:
    head = [_("ID"), _("Name"), _("Severity"), _("Status"), _("Record"), _("Left side"),
            _("Right side"), _("Difference"), _("Requirement"), _("Clause")]
    header(sheet, 1, head)
    row = 1
    for check in ex.checks():
        row += 1
        status = _("passed") if check.passed else _("failed")
        write_row(sheet, row, [check.id, check.label, severity_name(check.severity), status,
                                _record_summary(check), None, None, None, check.message,
                                check.reference])
        _sides(sheet, row, check.sides, check.difference, check.side_type)
        if not check.passed:
            fill(sheet, row, len(head), WARN_FILL if check.severity == "warning" else FAIL_FILL)
        for failure in check.records or ():
            row += 1
            write_row(sheet, row, [check.id, check.label, severity_name(check.severity),
                                    _("failed"), cell_value(failure.key, None)])
            _sides(sheet, row, failure.sides, failure.difference, check.side_type)
            fill(sheet, row, len(head), WARN_FILL if check.severity == "warning" else FAIL_FILL)
    sheet.freeze_panes = "C2"
    page(sheet, 1)
    widths(sheet, {1: 34, 2: 34, 3: 10, 4: 8, 5: 22, 6: 18, 7: 18, 8: 18, 9: 60, 10: 26})


def _record_summary(check: CheckResult) -> str:
    if check.records is None or check.checked is None:
        return ""
    return checked_text(check)


def _sides(sheet, row: int, sides, difference, type_: Type | None) -> None:
    if sides is None:
        return
    type_ = type_ or Type("number")
    typed(sheet.cell(row, 6), sides[0], type_)
    typed(sheet.cell(row, 7), sides[1], type_)
    if difference is not None:
        typed(sheet.cell(row, 8), difference, Type("integer") if type_.kind == "date" else type_)


def _collection_sheet(sheet, ex: Explanation, entity) -> None:
    decls = ex.ruleset.declarations
    values = ex.evaluation.values
    records = values[entity.collection]
    first = [entity.key] + ([entity.parent] if entity.parent in entity.names else [])
    names = first + [n for n in entity.names if n not in first]
    # (label, id, citation, values, type, check declaration or None) per column
    columns = [(column_label(decl.label, decl.type), decl.name,
                ex.ruleset.reference(decl), values[decl.id], decl.type,
                decl if isinstance(decl, Check) else None)
               for decl in (decls[f"{entity.id}.{n}"] for n in names) if decl.id in values]
    parent = ex.ruleset.entities.get(entity.parent) if entity.parent else None
    if parent is not None and parent.collection in values and records.parent_rows \
            and not any(name == entity.parent for _label, name, *_rest in columns):
        parent_keys = values[parent.collection].keys
        column = (f"{parent.label}{ex.label(parent.id + '.' + parent.key)}", entity.parent,
                  ex.ruleset.reference(parent), [parent_keys[r] for r in records.parent_rows],
                  None, None)
        columns.insert(1, column)
    for col, (label, name, citation, *_rest) in enumerate(columns, start=1):
        sheet.cell(1, col, label)
        sheet.cell(2, col, name).font = grey()
        sheet.cell(3, col, citation).font = grey()
    style_header(sheet, 1, len(columns))
    for index in range(len(records.keys)):
        row = 4 + index
        for col, (*_head, column_values, type_, check) in enumerate(columns, start=1):
            value = column_values[index]
            cell = sheet.cell(row, col)
            if check is not None:
                cell.value = _("passed") if value else _("failed")
                if not value:
                    fill_cell(cell, WARN_FILL if check.severity == "warning" else FAIL_FILL)
            else:
                typed(cell, value, type_)
    sheet.freeze_panes = "B4"
    page(sheet, 1, last_header=3)
    widths(sheet, {col: min(40, max(10, text_width(label) + 4))
                    for col, (label, *_rest) in enumerate(columns, start=1)})


# --- cells ----------------------------------------------------------------------------------
def _title(ex: Explanation) -> str:
    return _("{title}: clearing details").format(title=ex.meta.title)


def _title_block(sheet, ex: Explanation) -> int:
    sheet.cell(1, 1, _title(ex)).font = bold(14)
    row = 2
    for name, text in ex.header():
        sheet.cell(row, 1, name).font = grey()
        sheet.cell(row, 3, text)
        row += 1
    return row + 1
