"""The .xlsx of ``rulesengine template``: a sheet per table, the 全市事实 sheet, the 填写说明
sheet; header comments, number formats and drop-down lists (openpyxl)."""

from __future__ import annotations

from ..views.sheets import (FACT_HEAD, FACTS_SHEET, grey, neutralise_book, number_format, style_header,
                            widths)
from .template_parts import Part, cell, describe

GUIDE_SHEET = "填写说明"
LISTS_SHEET = "允许值"
GUIDE_HEAD = ("表", "名称", "标识", "类型", "单位", "允许值", "条款", "说明")
VALIDATED_ROWS = 1000  # rows below the header that get a drop-down list
_TEXT_FORMAT = "@"  # a code typed as 001 stays 001
_LIST_LIMIT = 250  # characters of an inline list (Excel's limit is 255)


def build_book(ruleset, parts: list[Part], shared: list, values: dict):
    """The workbook (not saved)."""
    from openpyxl import Workbook

    book = Workbook()
    book.properties.creator = "rulesengine"
    book.remove(book.active)
    lists = _Lists(book)
    used: set[str] = set()
    for part in parts:
        title = part.sheet if part.sheet not in used else part.name
        used.add(title)
        _table_sheet(book.create_sheet(title), ruleset, part, lists)
    if shared:
        _facts_sheet(book.create_sheet(FACTS_SHEET), ruleset, shared, values, lists)
    _guide_sheet(book.create_sheet(GUIDE_SHEET), ruleset, parts, shared)
    neutralise_book(book)
    return book


def _comment(decl, ruleset):
    from openpyxl.comments import Comment

    type_word, unit, allowed, clause = describe(decl, ruleset)
    lines = [f"标识：{decl.name if decl.entity else decl.id}", f"类型：{type_word}"]
    lines += [f"单位：{unit}"] * bool(unit) + [f"允许值：{allowed}"] * bool(allowed) + [f"条款：{clause}"]
    return Comment("\n".join(lines), "rulesengine", width=320, height=40 + 18 * len(lines))


def _table_sheet(sheet, ruleset, part: Part, lists: "_Lists") -> None:
    from openpyxl.comments import Comment
    from openpyxl.utils import get_column_letter

    offset = 1 if part.key_title else 0
    for col, title in enumerate(part.titles, 1):
        sheet.cell(1, col, title)
    style_header(sheet, 1, len(part.titles))
    if part.key_title:
        sheet.cell(1, 1).comment = Comment("每行一组事实：本列填该行的编号或名称（如医疗集团名称）",
                                           "rulesengine", width=320, height=60)
    for col, decl in enumerate(part.fields, 1 + offset):
        sheet.cell(1, col).comment = _comment(decl, ruleset)
    for row, values in enumerate(part.rows, 2):
        for col, value in enumerate(values, 1):
            sheet.cell(row, col, cell(value))
    last = max(VALIDATED_ROWS, len(part.rows)) + 1
    for col, decl in enumerate(part.fields, 1 + offset):
        fmt = number_format(decl.type) or (_TEXT_FORMAT if decl.type.kind in ("text", "enum") else None)
        if fmt is None:
            continue
        sheet.column_dimensions[get_column_letter(col)].number_format = fmt  # the rows a clerk adds
        for row in range(2, len(part.rows) + 2):
            if fmt == _TEXT_FORMAT or not isinstance(sheet.cell(row, col).value, str):
                sheet.cell(row, col).number_format = fmt
    for col, decl in enumerate(part.fields, 1 + offset):
        lists.validate(sheet, decl, col, 2, last)
    widths(sheet, {col: min(30, max(10, 2 * len(title) + 4)) for col, title in enumerate(part.titles, 1)})
    sheet.freeze_panes = "A2"


def _facts_sheet(sheet, ruleset, shared: list, values: dict, lists: "_Lists") -> None:
    """A row per shared fact: 名称, 标识, 取值, then what the value may be."""
    for col, title in enumerate(FACT_HEAD, 1):
        sheet.cell(1, col, title)
    style_header(sheet, 1, len(FACT_HEAD))
    at_value = FACT_HEAD.index("取值") + 1
    for row, decl in enumerate(shared, 2):
        type_word, unit, allowed, clause = describe(decl, ruleset)
        sheet.cell(row, 1, decl.label)
        sheet.cell(row, 2, decl.id).font = grey()
        target = sheet.cell(row, at_value, cell(values.get(decl.id)))
        fmt = number_format(decl.type)
        if fmt and not isinstance(target.value, str):
            target.number_format = fmt
        for col, word in enumerate((type_word, unit, allowed, clause), at_value + 1):
            sheet.cell(row, col, word)
        lists.validate(sheet, decl, at_value, row, row)
    sheet.cell(1, at_value).comment = _hint()
    widths(sheet, {1: 30, 2: 30, 3: 18, 4: 14, 5: 16, 6: 24, 7: 40})
    sheet.freeze_panes = "C2"


def _hint():
    from openpyxl.comments import Comment

    return Comment("填写本列；留空的开放参数取规则集的值，留空的输入在需要时报缺失。", "rulesengine",
                   width=300, height=60)


def _guide_sheet(sheet, ruleset, parts: list[Part], shared: list) -> None:
    """Every field of every table, and every shared fact, with what it may hold."""
    for col, title in enumerate(GUIDE_HEAD, 1):
        sheet.cell(1, col, title)
    style_header(sheet, 1, len(GUIDE_HEAD))
    row = 2
    groups = [(part.sheet, part.fields) for part in parts] + [(FACTS_SHEET, shared)] * bool(shared)
    for table, fields in groups:
        for decl in fields:
            words = [table, decl.label, decl.name if decl.entity else decl.id, *describe(decl, ruleset),
                     decl.note or ""]
            for col, word in enumerate(words, 1):
                sheet.cell(row, col, word)
            row += 1
    widths(sheet, {1: 16, 2: 30, 3: 30, 4: 14, 5: 16, 6: 24, 7: 40, 8: 60})
    sheet.freeze_panes = "A2"


class _Lists:
    """Drop-down lists: 是/否 and an enum's values, inline or (long ones) on a hidden sheet."""

    def __init__(self, book):
        self.book, self.sheet, self.ranges = book, None, {}

    def validate(self, sheet, decl, col: int, first: int, last: int) -> None:
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.datavalidation import DataValidation

        kind = decl.type.kind
        if kind not in ("boolean", "enum"):
            return
        words = ("是", "否") if kind == "boolean" else decl.type.values
        check = DataValidation(type="list", formula1=self._formula(words), allow_blank=True,
                               showErrorMessage=True, errorTitle="不是允许的值",
                               error="允许值：" + "、".join(words)[:200])
        letter = get_column_letter(col)
        check.add(f"{letter}{first}:{letter}{last}")
        sheet.add_data_validation(check)

    def _formula(self, words: tuple[str, ...]) -> str:
        inline = ",".join(words)
        if len(inline) <= _LIST_LIMIT and not any("," in w or '"' in w for w in words):
            return f'"{inline}"'
        if words not in self.ranges:
            if self.sheet is None:
                self.sheet = self.book.create_sheet(LISTS_SHEET)
                self.sheet.sheet_state = "hidden"
            col = len(self.ranges) + 1
            for row, word in enumerate(words, 1):
                self.sheet.cell(row, col, word)
            from openpyxl.utils import get_column_letter
            letter = get_column_letter(col)
            self.ranges[words] = f"'{LISTS_SHEET}'!${letter}$1:${letter}${len(words)}"
        return self.ranges[words]
