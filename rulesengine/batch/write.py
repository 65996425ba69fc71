"""Results -> tables out: rows to CSV, JSON Lines or .xlsx, the bad-row report and the traces,
each written whole or not at all."""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from datetime import date
from decimal import Decimal
from typing import Any, Iterator

from ..core.datatypes import to_json
from ..core.output import write_atomic, write_text
from .read import _PLAIN, SHOWN_ERRORS, BadCell

def _report_bad(bad: list[BadCell], out: str) -> str | None:
    """Print the bad rows (the first few) and write them all to OUT.errors.csv (a report
    left by an earlier run of the same OUT is removed when there are none)."""
    if not bad:
        stale = out + ".errors.csv"
        if os.path.isfile(stale):
            os.remove(stale)
        return None
    for cell in bad[:SHOWN_ERRORS]:
        print(cell.line(), file=sys.stderr)
    if len(bad) > SHOWN_ERRORS:
        print(f"... and {len(bad) - SHOWN_ERRORS} more bad rows", file=sys.stderr)
    report = out + ".errors.csv"

    def write(path: str) -> None:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["file", "row", "column", "code", "message"])
            for cell in bad:
                writer.writerow([cell.file, cell.row, cell.column, cell.code, cell.message])
    write_atomic(report, write)
    print(f"error report: {report} ({len(bad)} bad rows)", file=sys.stderr)
    return report


class _Writer:
    """Rows to CSV, JSON Lines or .xlsx, into a temporary file renamed at the end."""

    def __init__(self, path: str, header: list[str], sheets: dict[str, tuple[list, list]] | None = None):
        self.path, self.header, self.sheets = path, header, sheets or {}

    def write(self, rows: Iterator[list]) -> None:
        suffix = os.path.splitext(self.path)[1].lower()

        def emit(temporary: str) -> None:
            if suffix == ".csv":
                with open(temporary, "w", encoding="utf-8", newline="") as handle:
                    writer = csv.writer(handle, lineterminator="\n")
                    writer.writerow(self.header)
                    for row in rows:
                        writer.writerow(["" if v is None else v for v in row])
                    handle.flush()
                    os.fsync(handle.fileno())
            elif suffix == ".jsonl":
                with open(temporary, "w", encoding="utf-8") as handle:
                    for row in rows:
                        handle.write(json.dumps(dict(zip(self.header, row)), ensure_ascii=False) + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
            else:
                from openpyxl import Workbook
                book = Workbook(write_only=True)
                sheet = book.create_sheet("results")
                sheet.append(self.header)
                for row in rows:
                    sheet.append([_excel(v) for v in row])
                for name, (header, extra) in self.sheets.items():
                    other = book.create_sheet(name[:31])
                    other.append(header)
                    for row in extra:
                        other.append([_excel(v) for v in row])
                book.save(temporary)
        write_atomic(self.path, emit)


def _excel(value: Any) -> Any:
    """Numbers as numbers in a workbook: exact decimal text Excel reads as a number."""
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return int(value) if "." not in value else Decimal(value)  # openpyxl writes its exact text
    if value in ("true", "false"):
        return value == "true"
    return value


def format_column(vec, type_) -> list:
    """Text of a fast column, exactly as ``to_json`` shows the Decimal path's values."""
    from ..evaluate.fixedpoint import Fixed, Flags, Objects
    if isinstance(vec, Flags):
        return ["true" if v else "false" for v in vec.arr.tolist()]
    if isinstance(vec, Objects):
        return [v.isoformat() if isinstance(v, date) else v for v in vec.arr.tolist()]
    assert isinstance(vec, Fixed)
    scale, money = vec.scale, type_.kind == "money"
    out = []
    for v in vec.ints.tolist():
        v = int(v)
        sign = "-" if v < 0 else ""
        v = abs(v)
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
    for key, document in items:
        safe = re.sub(r"[^\w.-]", "_", str(key))
        write_text(os.path.join(target, f"{safe}.json"), dumps(document))


def _text(value: Any, type_) -> Any:
    if value is None:
        return None
    shown = to_json(value, type_)
    if isinstance(shown, bool):
        return "true" if shown else "false"
    return shown
