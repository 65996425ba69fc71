"""Results -> tables out: rows to CSV, JSON Lines or .xlsx, the bad-row report and the traces,
each written whole or not at all.

Every text cell of a CSV or .xlsx goes through :func:`rulesengine.core.output.formula_safe`
(nothing runs as a formula). CSV is UTF-8 with a byte-order mark, so Excel opens it as
UTF-8. The .xlsx is laid out as the ``workbook`` command's sheets: the results (Chinese
label, id below it, numbers formatted by type, frozen header), 合计 (each total beside the
sum of its rows), 未通过检查 (a row per record and failed check) and 参数与事实 (the
run's shared values and their sources)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterator

from ..core.datatypes import Type, to_json
from ..core.i18n import _
from ..core.output import formula_safe, write_atomic, write_text
from .read import SHOWN_ERRORS, BadCell

_TYPED = ("money", "rate", "number", "integer", "boolean", "date")
PLACES = 10  # a value the rule leaves unrounded (a quotient) is written to 10 decimal places


@dataclass
class Field:
    """An output column: its id (the CSV and JSON Lines header), Chinese label and type
    (``worded``: the label is a message of the catalogue, translated where it is shown)."""

    id: str
    label: str
    type: Type | None = None
    worded: bool = False


@dataclass
class Sheets:
    """What the .xlsx output shows beside the rows (ignored for CSV and JSON Lines)."""

    title: str | None = None  # the name of the results sheet (None: 计算结果)
    collection: str = ""  # the rows' collection: a total ``sum(collection.field)`` is checked
    totals: list = field(default_factory=list)  # (id, label, value text, type, formula)
    checks: dict = field(default_factory=dict)  # failed-check name -> (label, severity, message)
    inputs: list = field(default_factory=list)  # (id, label, value, type, source, citation)
    mismatches: list = field(default_factory=list)  # totals that differ from their rows' sum


def bad_line(cell: BadCell) -> str:
    """A bad row as one located line, in the current language."""
    if cell.column:
        return _("{file}:{row}: column '{column}' error[{code}]: {message}").format(
            file=cell.file, row=cell.row, column=cell.column, code=cell.code, message=cell.message)
    return _("{file}:{row}: error[{code}]: {message}").format(
        file=cell.file, row=cell.row, code=cell.code, message=cell.message)


def _report_bad(bad: list[BadCell], out: str) -> str | None:
    """Print the bad rows (the first few) and write them all to OUT.errors.csv (a report
    left by an earlier run of the same OUT is removed when there are none)."""
    report = out + ".errors.csv"
    if not bad:
        if os.path.isfile(report):
            os.remove(report)
        return None
    for cell in bad[:SHOWN_ERRORS]:
        print(bad_line(cell), file=sys.stderr)
    if len(bad) > SHOWN_ERRORS:
        print(_("... and {count} more bad rows").format(count=len(bad) - SHOWN_ERRORS), file=sys.stderr)

    def write(path: str) -> None:
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["file", "row", "column", "code", "message"])
            for cell in bad:
                writer.writerow([formula_safe(str(v)) for v in
                                 (cell.file, cell.row, cell.column, cell.code, cell.message)])
    write_atomic(report, write)
    print(_("error report: {path} ({count} bad rows)").format(path=report, count=len(bad)), file=sys.stderr)
    return report


class _Writer:
    """Rows of text (as ``to_json`` writes values; None when there is none) to CSV, JSON Lines
    or .xlsx, into a temporary file renamed at the end."""

    def __init__(self, path: str, fields: list[Field], sheets: Sheets | None = None):
        self.path, self.fields, self.sheets = path, fields, sheets

    def write(self, rows: Iterator[list]) -> None:
        suffix = os.path.splitext(self.path)[1].lower()
        header = [f.id for f in self.fields]

        def emit(temporary: str) -> None:
            if suffix == ".csv":
                # typed columns hold the engine's own number, date or true/false text; the others
                # (keys, codes, enum values, messages) come from the input and are made safe
                text = [i for i, f in enumerate(self.fields) if f.type is None or f.type.kind not in _TYPED]
                with open(temporary, "w", encoding="utf-8-sig", newline="") as handle:
                    writer = csv.writer(handle, lineterminator="\n")
                    writer.writerow([formula_safe(h) for h in header])
                    for row in rows:
                        for i in text:
                            row[i] = formula_safe(row[i])
                        writer.writerow(row)
                    handle.flush()
                    os.fsync(handle.fileno())
            elif suffix == ".jsonl":
                with open(temporary, "w", encoding="utf-8") as handle:
                    for row in rows:
                        handle.write(json.dumps(dict(zip(header, row)), ensure_ascii=False) + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
            else:
                from .xlsx import write_book
                write_book(temporary, self.fields, rows, self.sheets or Sheets())
        write_atomic(self.path, emit)
        for ident, value, rows_sum in self.sheets.mismatches if self.sheets else ():
            print(_("warning: total {id} = {value}, but its rows sum to {sum}").format(
                id=ident, value=value, sum=rows_sum), file=sys.stderr)


def format_column(vec, type_) -> list:
    """Text of a fast column, exactly as ``_text`` shows the Decimal path's values."""
    from ..evaluate.fixedpoint import Fixed, Flags, Objects
    if isinstance(vec, Flags):
        return ["true" if v else "false" for v in vec.arr.tolist()]
    if isinstance(vec, Objects):
        return [v.isoformat() if isinstance(v, date) else v for v in vec.arr.tolist()]
    assert isinstance(vec, Fixed)
    scale, money = vec.scale, type_.kind == "money"
    cut = 10 ** (scale - PLACES) if scale > PLACES and not money else 0
    if cut:
        scale = PLACES
    out = []
    for v in vec.ints.tolist():
        v = int(v)
        sign = "-" if v < 0 else ""
        v = abs(v)
        if cut:  # a quotient the rule leaves unrounded: PLACES decimals, half up (as _text)
            v, rest = divmod(v, cut)
            v += 2 * rest >= cut
            sign = sign if v else ""
        if scale == 0:
            text = f"{sign}{v}"
            out.append(text + ".00" if money else text)
            continue
        whole, fraction = divmod(v, 10 ** scale)
        fraction_text = f"{fraction:0{scale}d}"
        if money:
            if scale < 2:
                fraction_text = fraction_text.ljust(2, "0")
            if v == 0:
                sign = ""
            out.append(f"{sign}{whole}.{fraction_text}")
        else:
            fraction_text = fraction_text.rstrip("0")
            if not fraction_text:
                out.append("0" if whole == 0 else f"{sign}{whole}")
            else:
                out.append(f"{sign}{whole}.{fraction_text}")
    return out


def _trace_for(document: dict, ruleset, owners: dict, target: str, key) -> dict:
    """The part of a whole trace that concerns one record of ``target`` (and its children)."""
    nodes = []
    for node in document["nodes"]:
        entity = node.get("entity")
        if entity is None:
            nodes.append(node)
            continue
        collection = ruleset.entities[entity].collection
        if collection not in owners:
            continue
        keys = owners[collection]
        records = node.get("records") or []
        kept = [r for r, owner in zip(records, keys) if owner == key]
        nodes.append(dict(node, records=kept, display=f"{len(kept)} records"))
    return dict(document, nodes=nodes)


def trace_name(key: Any) -> str:
    """The file name of a record's trace, unique and stable: the key itself when it is a plain
    name (``H001.json``), else its letters and digits, ``~`` and a hash of the whole key
    (``G_1~<12 hex>.json`` for ``G/1``; a plain name never holds ``~``, so the two never meet)."""
    text = str(key)
    if re.fullmatch(r"[\w-][\w.-]{0,99}", text) and text.isascii():
        return f"{text}.json"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    safe = re.sub(r"[^\w.-]", "_", text, flags=re.ASCII)[:60].lstrip(".") or "record"
    return f"{safe}~{digest}.json"


def _write_traces(target: str, items: Iterator[tuple[Any, dict]]) -> None:
    from ..views.report import dumps
    if target.lower().endswith(".jsonl"):
        def write(path: str) -> None:
            with open(path, "w", encoding="utf-8") as handle:
                for key, document in items:
                    handle.write(json.dumps({"key": key, "trace": document}, ensure_ascii=False,
                                            sort_keys=True, default=str) + "\n")
        write_atomic(target, write)
        return
    os.makedirs(target, exist_ok=True)
    seen: dict[str, int] = {}
    for key, document in items:
        name = trace_name(key)
        count = seen[name] = seen.get(name, 0) + 1
        if count > 1:  # the same key twice (row mode): the second is name~2.json, and so on
            name = f"{name[:-5]}~{count}.json"
        write_text(os.path.join(target, name), dumps(document))


def _text(value: Any, type_) -> Any:
    """A value in its output form; a quotient the rule leaves unrounded to PLACES decimals."""
    if value is None:
        return None
    if isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent < -PLACES \
            and type_.kind != "money":
        value = value.quantize(Decimal(1).scaleb(-PLACES), rounding=ROUND_HALF_UP)
    shown = to_json(value, type_)
    if isinstance(shown, bool):
        return "true" if shown else "false"
    return shown
