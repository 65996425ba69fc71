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
from decimal import Decimal
from typing import Any

from ..check.model import Parameter
from ..core.errors import UsageError
from ..core.i18n import _
from ..core.output import formula_safe, write_atomic, write_text
from .template_parts import ROWS_SHEET, Part, build_parts, describe, text

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
