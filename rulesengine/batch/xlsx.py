"""Batch results as a workbook laid out like the ``workbook`` command's (shared styling in
:mod:`rulesengine.views.sheets`): the rows (Chinese label over the id, numbers formatted by
type, frozen header), 合计, 未通过检查 and 参数与事实. Written in openpyxl's write-only mode,
a row at a time, so a million rows never sit in memory."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Iterator

from ..core.datatypes import Type
from ..core.i18n import _, report_wording, severity_name
from ..core.source import text_width
from ..views.sheets import (FAIL_FILL, WARN_FILL, column_label, fill_cell, grey, number_format, page,
                            sheet_text, sheet_title, style_head_cell, type_word, widths)

_SUM = re.compile(r"\s*sum\(\s*(\w+)\.(\w+)\s*\)\s*")
_NUMERIC = ("money", "rate", "number", "integer")


def converter(type_: Type | None) -> Callable[[Any], Any]:
    """Output text (``to_json`` form) -> the cell value of its type; text is made formula-safe."""
    kind = type_.kind if type_ is not None else None
    if kind == "integer":
        return lambda v: None if v is None or v == "" else int(Decimal(v))
    if kind in _NUMERIC:
        return lambda v: None if v is None or v == "" else Decimal(v)
    if kind == "boolean":
        yes, no = _("yes"), _("no")
        return lambda v: None if v is None else yes if v in ("true", True) else no
    if kind == "date":
        return lambda v: date.fromisoformat(v) if isinstance(v, str) and v else None
    return lambda v: None if v is None else sheet_text(v if isinstance(v, str) else str(v))


def write_book(path: str, fields: list, rows: Iterator[list], sheets) -> None:
    """The rows and the side sheets, saved to ``path``. The sheets' own words are in the language
    of reports; the rows (computed as they are written) keep the language of messages."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    book.properties.creator = "rulesengine"
    used: set[str] = set()
    with report_wording():
        sheet = book.create_sheet(sheet_title(sheets.title or _("Results"), used))
        convert = _rows_head(sheet, fields)
    sums, failed = _rows_sheet(sheet, fields, rows, convert)
    with report_wording():
        _totals_sheet(book.create_sheet(sheet_title(_("Totals"), used)), fields, sums, sheets)
        _checks_sheet(book.create_sheet(sheet_title(_("Failed checks"), used)), failed, sheets.checks)
        _inputs_sheet(book.create_sheet(sheet_title(_("Parameters and facts"), used)), sheets.inputs)
    book.save(path)


def _head(sheet, texts: list, small: bool = False) -> list:
    """Header cells styled as the workbook's (``small``: the grey row of ids)."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for text in texts:
        cell = WriteOnlyCell(sheet, sheet_text(text))
        if small:
            cell.font = grey()
        else:
            style_head_cell(cell)
        cells.append(cell)
    return cells


def _append(sheet, cells: list) -> None:
    sheet.append([sheet_text(c) if isinstance(c, str) else c for c in cells])


def _typed(sheet, value: Any, fmt: str | None, color: str | None = None):
    """A side-sheet value: a styled cell when it has a number format or a fill."""
    from openpyxl.cell import WriteOnlyCell

    value = sheet_text(value)
    if (fmt is None or value is None or isinstance(value, str)) and color is None:
        return value
    cell = WriteOnlyCell(sheet, value)
    if fmt is not None and value is not None and not isinstance(value, str):
        cell.number_format = fmt
    if color is not None:
        fill_cell(cell, color)
    return cell


def _rows_head(sheet, fields: list) -> list[Callable[[Any], Any]]:
    """The two header rows of the results (labels, ids); returns each column's converter."""
    labels = [column_label(_(f.label) if f.worded else f.label, f.type) for f in fields]
    widths(sheet, {col: min(40, max(10, text_width(label) + 4)) for col, label in enumerate(labels, 1)})
    sheet.freeze_panes = "B3"
    page(sheet, 1, last_header=2)
    sheet.append(_head(sheet, labels))
    sheet.append(_head(sheet, [f.id for f in fields], small=True))
    return [converter(f.type) for f in fields]


def _rows_sheet(sheet, fields: list, rows: Iterator[list], convert: list) -> tuple[dict, list]:
    """The result rows; returns the sum of each numeric column and the (key, check) failures."""
    from openpyxl.cell import WriteOnlyCell

    formats = [number_format(f.type) for f in fields]
    numeric = [i for i, f in enumerate(fields) if f.type is not None and f.type.kind in _NUMERIC]
    sums = {i: Decimal(0) for i in numeric}
    failed_at = next((i for i, f in enumerate(fields) if f.id == "failed_checks"), None)
    failed = []
    # one styled cell per formatted column, reused: a write-only sheet writes a row when appended
    styled = {}
    for i, fmt in enumerate(formats):
        if fmt is not None:
            styled[i] = WriteOnlyCell(sheet)
            styled[i].number_format = fmt
    for row in rows:
        values = [c(v) for c, v in zip(convert, row)]
        for i in numeric:
            if values[i] is not None:
                sums[i] += values[i]
        if failed_at is not None and row[failed_at]:
            failed.extend((row[0], name) for name in row[failed_at].split(";"))
        for i, cell in styled.items():
            if values[i] is not None:
                cell.value = values[i]
                values[i] = cell
        sheet.append(values)
    return {fields[i].id: sums[i] for i in numeric}, failed


def _totals_sheet(sheet, fields: list, sums: dict, sheets) -> None:
    """Each total of the ruleset; one that is ``sum(collection.field)`` of an output column is
    checked against the sum of the written rows (一致 / 不一致)."""
    widths(sheet, {1: 34, 2: 36, 3: 20, 4: 20, 5: 10})
    sheet.freeze_panes = "A2"
    sheet.append(_head(sheet, [_("ID"), _("Name"), _("Value"), _("Sum of the rows"), _("Agreement")]))
    checked = set()
    for ident, label, text, type_, formula in sheets.totals:
        value = converter(type_)(text)
        fmt = number_format(type_)
        match = _SUM.fullmatch(formula or "")
        if match and match.group(1) == sheets.collection and match.group(2) in sums:
            rows_sum = sums[match.group(2)]
            checked.add(match.group(2))
            same = value is not None and Decimal(value) == rows_sum
            if not same:
                sheets.mismatches.append((ident, text, rows_sum))
            color = None if same else FAIL_FILL
            _append(sheet, [ident, label, _typed(sheet, value, fmt), _typed(sheet, rows_sum, fmt),
                          _typed(sheet, _("agrees") if same else _("differs"), None, color)])
        else:
            _append(sheet, [ident, label, _typed(sheet, value, fmt)])
    by_id = {f.id: f for f in fields}
    for name, total in sums.items():
        type_ = by_id[name].type
        if name in checked or type_.kind != "money":
            continue
        _append(sheet, [f"sum({sheets.collection}.{name})" if sheets.collection else f"sum({name})",
                      _("{label}: total").format(label=by_id[name].label), None, _typed(sheet, total, number_format(type_))])


def _checks_sheet(sheet, failed: list, checks: dict) -> None:
    """A row per record and check it failed."""
    widths(sheet, {1: 16, 2: 34, 3: 34, 4: 10, 5: 60})
    sheet.freeze_panes = "A2"
    sheet.append(_head(sheet, [_("Record"), _("ID"), _("Name"), _("Severity"), _("Requirement")]))
    for key, name in failed:
        label, severity, message = checks.get(name, ("", "error", ""))
        color = WARN_FILL if severity == "warning" else FAIL_FILL
        _append(sheet, [_typed(sheet, converter(None)(key), None, color), name, label,
                      severity_name(severity), sheet_text(message)])


def _inputs_sheet(sheet, inputs: list) -> None:
    """The run's shared facts and parameters, each with its source."""
    widths(sheet, {1: 34, 2: 36, 3: 20, 4: 12, 5: 40, 6: 26})
    sheet.freeze_panes = "A2"
    sheet.append(_head(sheet, [_("ID"), _("Name"), _("Value"), _("Type"), _("Source"),
                               _("Clause")]))
    for ident, label, text, type_, source, citation in inputs:
        value = converter(type_)(text)
        _append(sheet, [ident, label, _typed(sheet, value, number_format(type_)), type_word(type_),
                      sheet_text(source), citation])
