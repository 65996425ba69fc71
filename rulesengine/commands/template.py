"""``rulesengine template RULESET -o 输入模板.xlsx``: the input workbook a clerk fills in.

A sheet per collection the ruleset reads (named by the collection's Chinese label), headed by
each field's label, and a sheet of the facts every record shares (``全市事实``: a row per fact,
its id and value); a ruleset without collections gets one sheet of rows, a row per set of
facts. Each header cell has a comment with the field's id, type, unit, allowed values and
clause, and a last sheet (填写说明) lists them all; enum and 是/否 columns carry a drop-down
list. With ``--example`` the example's values are filled in. ``batch`` reads the workbook back
as it is (:mod:`rulesengine.batch.workbook_in`). ``--format csv`` writes a folder: a CSV per
collection (UTF-8 with BOM) named so that ``batch`` knows its collection, and ``facts.yaml``.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ..check.model import Input, Parameter
from ..core.datatypes import ValueProblem, coerce
from ..core.errors import UsageError
from ..core.i18n import _
from ..core.output import formula_safe, write_atomic, write_text
from ..evaluate.facts import example_facts
from ..views.sheets import sheet_text, table_sheet, type_word

ROW_KEY = "编号"  # the key column of a ruleset without collections (batch's row mode)
ROWS_SHEET = "记录"
_EXACT_DIGITS = 15  # a number with more significant digits is written as text (Excel keeps 15)


@dataclass
class Part:
    """One table of the template: its fields (the key first) and the example's rows."""

    name: str  # the collection; "" for the rows of a ruleset without collections
    sheet: str
    fields: list = field(default_factory=list)  # Input or Parameter declarations
    titles: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)  # typed values, in the order of fields
    key_title: str | None = None  # the row key column's title (row mode)


def build_parts(ruleset, example: str | None) -> tuple[list[Part], list, dict]:
    """The tables, the shared facts' declarations and their example values."""
    facts = example_facts(ruleset, example or None).values if example is not None else {}
    decls = ruleset.declarations
    shared = [d for d in decls.values() if d.entity is None
              and (isinstance(d, Input) or (isinstance(d, Parameter) and d.open))]
    if not ruleset.entities:  # an empty cell is a bad row: an open parameter only when given
        shared = [d for d in shared if isinstance(d, Input) or d.id in facts]
        part = Part("", ROWS_SHEET, shared, [ROW_KEY] + _titles(shared), key_title=ROW_KEY)
        if facts:
            label = example or next(iter(ruleset.examples))
            part.rows.append([label] + [_typed(facts.get(d.id), d) for d in shared])
        return [part], [], {}
    parts, records = [], _records(ruleset, facts)
    for entity in ruleset.entities.values():
        fields = [decls[f"{entity.id}.{n}"] for n in entity.names if isinstance(decls[f"{entity.id}.{n}"], Input)]
        fields.sort(key=lambda d: d.name != entity.key)
        part = Part(entity.collection, table_sheet(entity), fields, _titles(fields))
        for record in records.get(entity.id, []):
            part.rows.append([_typed(record.get(d.name), d) for d in fields])
        parts.append(part)
    values = {d.id: _typed(facts.get(d.id), d) for d in shared if d.id in facts}
    return parts, shared, values


def _records(ruleset, facts: dict) -> dict[str, list[dict]]:
    """entity id -> its records, nested ones (a member's filings) with their parent's key."""
    out: dict[str, list[dict]] = {}

    def collect(entity, items, parent_key) -> None:
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            fields = {k: v for k, v in item.items() if k not in ruleset.collections}
            if parent_key is not None:
                fields.setdefault(entity.parent, parent_key)
            out.setdefault(entity.id, []).append(fields)
            for name, children in item.items():
                child = ruleset.collections.get(name)
                if child is not None and child.parent == entity.id:
                    collect(child, children, fields.get(entity.key))
    for name, items in facts.items():
        if name in ruleset.collections:
            collect(ruleset.collections[name], items, None)
    return out


def _titles(fields: list) -> list[str]:
    """Each column's header: its label, or its id where the label is not unique in the table."""
    labels = [d.label for d in fields]
    names = {_name(d) for d in fields}
    return [d.label if labels.count(d.label) == 1 and d.label not in names else _name(d) for d in fields]


def _name(decl) -> str:
    return decl.name if decl.entity is not None else decl.id


def _typed(raw: Any, decl) -> Any:
    if raw is None:
        return None
    try:
        return coerce(raw, decl.type)
    except ValueProblem:  # an example's bad value: shown as written (validate reports it)
        return str(raw)


def describe(decl, ruleset) -> tuple[str, str, str, str]:
    """(type, unit, allowed values, clause) of a field, in Chinese."""
    kind = decl.type.kind
    kind_text = "枚举" + (f"（{decl.type.enum}）" if decl.type.enum else "") if kind == "enum" \
        else type_word(decl.type)
    unit = {"money": "元", "rate": "比例：0.08 或 8%", "date": "YYYY-MM-DD"}.get(kind, "")
    allowed = "、".join(decl.type.values) if kind == "enum" else "是、否" if kind == "boolean" else ""
    bounds = [f"≥ {v}" for v in [getattr(decl, "minimum", None)] if v is not None] + \
        [f"≤ {v}" for v in [getattr(decl, "maximum", None)] if v is not None]
    allowed = "；".join(filter(None, [allowed] + bounds))
    return kind_text, unit, allowed, ruleset.reference(decl)


def cell(value: Any) -> Any:
    """A template cell: numbers Excel holds exactly stay numbers; booleans read 是/否; text is
    formula-safe."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (Decimal, int)):
        digits = len(Decimal(value).as_tuple().digits)
        return value if digits <= _EXACT_DIGITS else f"{value:f}" if isinstance(value, Decimal) else str(value)
    if isinstance(value, date) or value is None:
        return value
    return sheet_text(str(value))


def text(value: Any) -> str:
    """A CSV or YAML cell's text (formula-safe)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return formula_safe(f"{value:f}")
    return formula_safe(value.isoformat() if isinstance(value, date) else str(value))


# --- the command ------------------------------------------------------------------------------------
def add_template_parser(sub) -> None:
    command = sub.add_parser("template", help=_("write an input workbook to fill in (a sheet per table)"))
    command.add_argument("ruleset", metavar="RULESET")
    command.add_argument("-o", "--output", required=True, metavar="FILE.xlsx",
                         help=_("the workbook to write (with --format csv: a folder)"))
    command.add_argument("--example", nargs="?", const="", metavar="NAME",
                         help=_("fill in an example of the ruleset (default: the first)"))
    command.add_argument("--format", choices=("xlsx", "csv"), default="xlsx",
                         help=_("csv: a CSV per table (UTF-8 with BOM) and facts.yaml, in a folder"))


def run_template(args) -> int:
    from ..evaluate.driver import load_program

    files = write_template(load_program(args.ruleset), args.output, args.example, args.format)
    for file in files:
        print(_("wrote {file}").format(file=file))
    return 0


def write_template(program, out: str, example: str | None, fmt: str) -> list[str]:
    """Write the template; the files written."""
    ruleset = program.ruleset
    parts, shared, values = build_parts(ruleset, example)
    if fmt == "csv":  # (a folder)
        return _write_csv(ruleset, out, parts, shared, values)
    if not out.lower().endswith(".xlsx"):
        raise UsageError(_("the template must be an .xlsx file, not '{path}'").format(path=out),
                         hint=_("name it 输入模板.xlsx, or give --format csv and a folder"))
    _refuse_existing([out])
    from .template_book import build_book
    book = build_book(ruleset, parts, shared, values)
    write_atomic(out, book.save)
    return [out]


def _refuse_existing(paths: list[str]) -> None:
    for path in paths:
        if os.path.lexists(path):
            raise UsageError(_("'{path}' exists; the template never overwrites a file").format(path=path),
                             hint=_("name another file, or move the old one away first"))


def _write_csv(ruleset, folder: str, parts: list[Part], shared: list, values: dict) -> list[str]:
    """A CSV per table (UTF-8 with BOM, header: labels) and facts.yaml, in ``folder``."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(_("'{path}' is a file; --format csv writes a folder").format(path=folder),
                         hint=_("name a new folder with -o"))
    files = {os.path.join(folder, f"{part.name or ROWS_SHEET}.csv"): part for part in parts}
    facts_file = os.path.join(folder, "facts.yaml") if shared else None
    _refuse_existing(list(files) + ([facts_file] if facts_file else []))
    os.makedirs(folder, exist_ok=True)
    for path, part in files.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([formula_safe(t) for t in part.titles])
        for row in part.rows:
            writer.writerow([text(v) for v in row])
        write_atomic(path, lambda temporary, data=buffer.getvalue(): _save(temporary, data))
    if facts_file:
        write_text(facts_file, facts_yaml(ruleset, shared, values))
    return list(files) + ([facts_file] if facts_file else [])


def _save(path: str, data: str) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        handle.write(data)


def facts_yaml(ruleset, shared: list, values: dict) -> str:
    """The shared facts as YAML, each with a Chinese comment; a value to fill in is marked 待填写
    (an open parameter left out keeps the ruleset's value)."""
    lines = [f"# {ruleset.meta.title}：全市事实（每条记录共用的值）。", "# 标有“待填写”的值须填写后再运行 batch。", ""]
    for decl in shared:
        kind_text, unit, allowed, clause = describe(decl, ruleset)
        lines.append("# " + "；".join(filter(None, [decl.label, kind_text, unit, allowed and f"允许值：{allowed}",
                                                   clause])))
        value = values.get(decl.id)
        if value is None and isinstance(decl, Parameter):
            lines.append(f"# {decl.id}:   # 可选：不填则用规则集的值")
        elif value is None:
            lines.append(f"{decl.id}:   # 待填写")
        else:
            lines.append(f"{decl.id}: {_yaml_scalar(value)}")
    return "\n".join(lines) + "\n"


def _yaml_scalar(value: Any) -> str:
    import json
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Decimal, int)):
        return json.dumps(text(value))
    return json.dumps(text(value), ensure_ascii=False)
