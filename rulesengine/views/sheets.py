"""Spreadsheet cells shared by every .xlsx we write (``workbook`` and ``batch``): number
formats by value type, typed cells, header and page styling, column widths, sheet names, and
formula neutralisation of the whole book before it is saved."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from ..core.datatypes import Type
from ..core.output import formula_safe
from ..core.i18n import N_, _

MONEY_FORMAT = "#,##0.00"
RATE_FORMAT = "0.00%"
INTEGER_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"

# how a value type reads in a sheet's type column
_TYPES = {"money": N_("amount (yuan)"), "rate": N_("rate"), "number": N_("number"),
          "integer": N_("integer"), "boolean": N_("yes/no"), "date": N_("date"), "text": N_("text")}
FAIL_FILL = "FDECEA"
WARN_FILL = "FFF4DC"
HEAD_FILL = "EEF1F5"
# what an .xlsx cannot hold (XML 1.0): control characters other than tab, LF, CR; lone surrogates
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def sheet_text(value: Any) -> Any:
    """A value a workbook can hold and never runs: a character XML forbids is written as its
    escape (``\\x01``, ``\\udc80``), then :func:`formula_safe`. Non-text values pass as they are."""
    if isinstance(value, str) and _ILLEGAL.search(value):
        value = _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                             else f"\\u{ord(m.group()):04x}", value)
    return formula_safe(value)


def number_format(type_: Type | None) -> str | None:
    """The Excel number format of a value type (None: the cell keeps 'General')."""
    kind = type_.kind if type_ else None
    return {"money": MONEY_FORMAT, "rate": RATE_FORMAT, "integer": INTEGER_FORMAT,
            "date": DATE_FORMAT}.get(kind)


def cell_value(value: Any, type_: Type | None) -> Any:
    """A typed value as a cell value: numbers stay numbers, booleans read 是/否."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Decimal):
        if type_ is not None and type_.kind == "integer" and value == value.to_integral_value():
            return int(value)
        return value
    if isinstance(value, str):
        return sheet_text(value)
    if isinstance(value, (int, date)) or value is None:
        return value
    return sheet_text(str(value))


def type_word(type_: Type) -> str:
    if type_.kind == "enum":
        return type_.enum or "enum"
    return _(_TYPES[type_.kind]) if type_.kind in _TYPES else type_.kind


def column_label(label: str, type_: Type | None) -> str:
    """A column's header: its Chinese label, with the unit of an amount."""
    return _("{label} (yuan)").format(label=label) if type_ is not None and type_.kind == "money" else label


def neutralise_book(book) -> None:
    """Every text cell of ``book`` through :func:`formula_safe`: nothing in it runs as a formula."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    safe = formula_safe(cell.value)
                    if safe is not cell.value or cell.data_type == "f":
                        cell.value = safe
                        cell.data_type = "s"


def header(sheet, row: int, head: list[str]) -> None:
    for col, text in enumerate(head, start=1):
        sheet.cell(row, col, text)
    style_header(sheet, row, len(head))


def style_header(sheet, row: int, count: int) -> None:
    for col in range(1, count + 1):
        style_head_cell(sheet.cell(row, col))


def style_head_cell(cell) -> None:
    from openpyxl.styles import Alignment, PatternFill

    cell.font = bold()
    cell.fill = PatternFill("solid", fgColor=HEAD_FILL)
    cell.alignment = Alignment(wrap_text=True, vertical="top")


def write_row(sheet, row: int, cells: list) -> None:
    for col, value in enumerate(cells, start=1):
        if value is not None and value != "":
            sheet.cell(row, col, value)


def typed(cell, value: Any, type_: Type | None) -> None:
    cell.value = cell_value(value, type_)
    fmt = number_format(type_)
    if fmt and cell.value is not None and not isinstance(cell.value, str):
        cell.number_format = fmt


def fill(sheet, row: int, count: int, color: str) -> None:
    for col in range(1, count + 1):
        fill_cell(sheet.cell(row, col), color)


def fill_cell(cell, color: str) -> None:
    from openpyxl.styles import PatternFill

    cell.fill = PatternFill("solid", fgColor=color)


def bold(size: int | None = None):
    from openpyxl.styles import Font

    return Font(bold=True, size=size) if size else Font(bold=True)


def grey():
    from openpyxl.styles import Font

    return Font(color="6B7480", size=9)


def widths(sheet, widths: dict[int, int]) -> None:
    from openpyxl.utils import get_column_letter

    for col, width in widths.items():
        sheet.column_dimensions[get_column_letter(col)].width = width


def page(sheet, header_row: int, last_header: int | None = None) -> None:
    """Landscape, fit to the page width, header rows repeated on every printed page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{header_row}:{last_header or header_row}"


def sheet_title(text: str, used: set[str]) -> str:
    """A valid, unique sheet name: at most 31 characters, none of []:*?/\\."""
    base = re.sub(r"[\[\]:*?/\\]", "_", text)[:31] or "records"
    title, n = base, 2
    while title in used:
        suffix = f"_{n}"
        title, n = base[:31 - len(suffix)] + suffix, n + 1
    used.add(title)
    return title


# --- input templates (``rulesengine template``), read back by ``batch`` ---------------------------
FACTS_SHEET = "全市事实"  # the template's sheet of the values every record shares
FACT_HEAD = ("名称", "标识", "取值", "类型", "单位", "允许值", "条款")  # its columns
FACT_ID, FACT_VALUE = FACT_HEAD[1], FACT_HEAD[2]  # the two columns batch reads back


def table_sheet(entity) -> str:
    """The template's sheet of a collection: the entity's Chinese label as a valid sheet name."""
    return re.sub(r"[\[\]:*?/\\]", "_", entity.label)[:31] or entity.collection


def table_sheets(entity) -> tuple[str, str]:
    """The sheet names ``batch`` takes for a collection in a workbook: its name or its label."""
    return entity.collection, table_sheet(entity)
