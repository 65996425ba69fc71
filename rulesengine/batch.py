"""Tables in, results out: the year's clearing for every institution (or group) at once.

``rulesengine batch RULESET --table FILE [--table NAME=FILE ...] [--facts FILE] -o OUT``
reads CSV, JSON Lines or Excel (.xlsx) tables row by row into columns, one table per
collection of the ruleset (named by the file stem, or NAME=), evaluates every rule on the
fast path (:mod:`rulesengine.fastpath`; the Decimal path when numpy is missing) and writes
one row per record to OUT (CSV, JSON Lines or .xlsx, by extension), whole or not at all.

A ruleset without collections (Sanya) runs row-wise: each row of the one table is one set
of facts (with ``--facts`` supplying what every row shares), evaluated on its own.

A cell that does not parse (an amount with three decimals, an unknown grade, an empty
field) makes its row *bad*: every bad row is reported with file, row and column, on stderr
and in OUT's error report ``OUT.errors.csv``. Without ``--keep-going`` a run with bad rows
writes no OUT (exit 1): in a collection one left-out case moves the point value of every
institution, so nothing is paid on partial data by accident. With ``--keep-going`` the bad
rows are left out, everything else is computed and written, and the exit status is still 1.

Exit status: 0 all rows computed and no error-severity check failed; 1 bad rows, a rule that
failed, or an error-severity check that failed; 2 invalid ruleset, table or usage.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import re
import sys
import time
from array import array
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterator

from .datatypes import FEN, ValueProblem, coerce, display, to_json
from .driver import load_program
from .errors import UsageError, did_you_mean, render
from .evaluator import Program
from .facts import bind_facts, read_facts
from .model import CLEARING_YEAR, Check, Input, Rule
from .output import write_atomic, write_text
from .records import Records

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
FORMATS = (".csv", ".jsonl", ".xlsx")
SHOWN_ERRORS = 20  # bad rows printed on stderr; all of them go to the error report


@dataclass
class BadCell:
    """A cell that made its row bad."""

    file: str
    row: int  # the line (CSV, JSON Lines) or sheet row (.xlsx), the header being row 1
    column: str
    code: str
    message: str

    def line(self) -> str:
        where = f"{self.file}:{self.row}"
        column = f" column '{self.column}'" if self.column else ""
        return f"{where}:{column} error[{self.code}]: {self.message}"


# --- reading tables -------------------------------------------------------------------------------
def read_rows(path: str) -> tuple[list[str], Iterator[tuple[int, list]]]:
    """(header, iterator of (row number, cells)) for a CSV, JSON Lines or .xlsx file.

    Cells are text (CSV), JSON values with decimals kept as text (JSON Lines), or what
    openpyxl gives (.xlsx). An empty cell is None. Rows are produced one at a time.
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise UsageError(f"'{path}': unknown table format '{suffix or '(none)'}'",
                         hint="tables are .csv, .jsonl or .xlsx files")
    if not os.path.isfile(path):
        raise UsageError(f"'{path}': no such file", hint="check the path of --table")
    if suffix == ".csv":
        handle = open(path, encoding="utf-8-sig", newline="")
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]

        def csv_rows():
            with handle:
                for number, cells in enumerate(reader, 2):
                    if not "".join(cells).strip():
                        continue
                    yield number, cells  # a blank cell is a missing value
        return header, csv_rows()
    if suffix == ".jsonl":
        handle = open(path, encoding="utf-8")
        first = None
        lines = enumerate(handle, 1)
        for number, line in lines:
            if line.strip():
                first = (number, line)
                break
        if first is None:
            handle.close()
            return [], iter(())
        try:
            record = json.loads(first[1], parse_float=str)
        except ValueError as exc:
            raise UsageError(f"{path}:{first[0]}: not a JSON object: {exc}") from None
        if not isinstance(record, dict):
            raise UsageError(f"{path}:{first[0]}: each line must be a JSON object")
        header = list(record)

        def json_rows():
            with handle:
                yield first[0], _json_cells(record, header)
                for number, line in lines:
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line, parse_float=str)
                    except ValueError:
                        yield number, ValueError("not a JSON object")
                        continue
                    if not isinstance(item, dict):
                        yield number, ValueError("not a JSON object")
                        continue
                    extra = [k for k in item if k not in header]
                    if extra:
                        yield number, ValueError(f"unknown field '{extra[0]}'")
                        continue
                    yield number, _json_cells(item, header)
        return header, json_rows()
    from openpyxl import load_workbook  # lazily: only .xlsx tables need it
    book = load_workbook(path, read_only=True, data_only=True)
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]

    def xlsx_rows():
        try:
            for number, cells in enumerate(rows, 2):
                cells = [None if (isinstance(c, str) and not c.strip()) else c for c in cells]
                if all(c is None for c in cells):
                    continue
                yield number, list(cells)
        finally:
            book.close()
    return header, xlsx_rows()


def _json_cells(record: dict, header: list[str]) -> list:
    return [record.get(name) for name in header]


_MONEY = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?")
_PLAIN = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_MONEY_CHUNK = re.compile(r"(?:-?(?:0|[1-9][0-9]{0,15})\.[0-9][0-9]\n)*")  # below 10^16 yuan
_INTEGER_CHUNK = re.compile(r"(?:-?(?:0|[1-9][0-9]{0,17})\n)*")
CHUNK = 65536  # rows parsed together


def _cell_text(value: Any) -> Any:
    """Excel numbers to the decimal text they show; other values as they are."""
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "E" in text:
            text = f"{Decimal(text):f}"
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, datetime):
        return value.date()
    return value


class Column:
    """One field's parsed values, stored compactly: scaled integers for numbers."""

    def __init__(self, decl: Input):
        self.decl = decl
        self.kind = decl.type.kind
        self.numeric = self.kind in ("money", "rate", "number", "integer")
        self.ints = array("q")
        self.scales = array("b")
        self.big: dict[int, int] = {}  # row -> integer beyond int64 (stored as 0 in ints)
        self.items: list = []  # booleans, enum values, codes, dates
        self.low, self.high = getattr(decl, "minimum", None), getattr(decl, "maximum", None)

    def parse(self, raw: Any) -> tuple:
        """The typed value of a cell, as (ints, scale) for numbers; raises ValueProblem."""
        raw = _cell_text(raw)
        kind = self.kind
        if kind == "boolean":
            if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
                return (raw.strip().lower() == "true",)
            return (coerce(raw, self.decl.type),)
        if not self.numeric:
            if kind == "date" and isinstance(raw, date):
                return (raw,)
            return (coerce(raw, self.decl.type),)
        text = raw.strip() if isinstance(raw, str) else raw
        match = None
        if isinstance(text, str):
            match = (_MONEY if kind == "money" else _INTEGER if kind == "integer" else _PLAIN).fullmatch(text)
        elif isinstance(text, int) and not isinstance(text, bool):
            match = _PLAIN.fullmatch(str(text))
        if match is not None and kind != "integer":
            sign, whole, fraction = match.groups()
            fraction = fraction or ""
            if kind == "money":
                fraction = fraction.ljust(2, "0")
            ints = int(whole + fraction) if fraction else int(whole)
            value = (-ints if sign else ints), len(fraction)
        elif match is not None:
            value = int(text), 0
        else:
            typed = coerce(raw, self.decl.type)
            if isinstance(typed, int):
                value = typed, 0
            else:
                if kind == "money":
                    typed = typed.quantize(FEN)
                sign, digits, exponent = typed.as_tuple()
                ints = int("".join(map(str, digits)) or "0") * (10 ** exponent if exponent > 0 else 1)
                value = (-ints if sign else ints), max(-exponent, 0)
        if kind == "money" and (abs(value[0]) >= 10 ** 20):
            raise ValueProblem(f"'{raw}' is too large for an amount (at least 10^18)",
                               "amounts are in yuan, below 10^18")
        if self.low is not None or self.high is not None:
            number = Decimal(value[0]).scaleb(-value[1])
            if self.low is not None and number < self.low:
                raise _Constraint(f"{display(number, self.decl.type)} is below the minimum "
                                  f"{display(self.low, self.decl.type)}")
            if self.high is not None and number > self.high:
                raise _Constraint(f"{display(number, self.decl.type)} is above the maximum "
                                  f"{display(self.high, self.decl.type)}")
        return value

    def extend_texts(self, texts: list) -> bool:
        """Parse a chunk of cells at once when all are in the plain common form (amounts
        with two decimals, whole numbers, true/false, declared enum values, codes); False
        when any is not, and the chunk goes cell by cell (for exact messages)."""
        if not texts or set(map(type, texts)) != {str}:
            return False
        kind = self.kind
        if kind in ("money", "integer"):
            joined = "\n".join(texts)
            pattern = _MONEY_CHUNK if kind == "money" else _INTEGER_CHUNK
            if not pattern.fullmatch(joined + "\n"):
                return False
            ints = list(map(int, joined.replace(".", "").split("\n")))
            shift = 2 if kind == "money" else 0
            low = None if self.low is None else self.low.scaleb(shift)
            high = None if self.high is None else self.high.scaleb(shift)
            if (low is not None and min(ints) < low) or (high is not None and max(ints) > high):
                return False
            self.ints.extend(ints)
            self.scales.extend([shift] * len(ints))
            return True
        if self.numeric or kind == "date":
            return False
        if kind == "boolean":
            if texts.count("true") + texts.count("false") != len(texts):
                return False
            self.items.extend(map("true".__eq__, texts))
            return True
        if kind == "enum":
            if not set(texts) <= set(self.decl.type.values):
                return False
            self.items.extend(texts)
            return True
        stripped = list(map(str.strip, texts))
        if not all(stripped):
            return False
        self.items.extend(stripped)
        return True

    def append(self, value: tuple) -> None:
        if not self.numeric:
            self.items.append(value[0])
            return
        ints, scale = value
        if -2 ** 63 < ints < 2 ** 63:
            self.ints.append(ints)
        else:
            self.big[len(self.ints)] = ints
            self.ints.append(0)
        self.scales.append(scale)

    def __len__(self) -> int:
        return len(self.ints) if self.numeric else len(self.items)

    def python(self) -> list:
        """The values as the Decimal path types them (Decimal, int, bool, str, date)."""
        if not self.numeric:
            return list(self.items)
        out = []
        for row, (ints, scale) in enumerate(zip(self.ints, self.scales)):
            ints = self.big.get(row, ints)
            if self.kind == "integer":
                out.append(int(ints))
            elif self.kind == "money":
                out.append(Decimal(ints).scaleb(-2))
            else:
                out.append(Decimal(ints).scaleb(-scale) if scale else Decimal(ints))
        return out

    def vector(self):
        """The values as a fast-path column."""
        import numpy as np

        from .fastpath import Fixed, Flags, Objects, fixed_from_parts
        if not self.numeric:
            if self.kind == "boolean":
                return Flags(np.array(self.items, dtype=bool))
            arr = np.empty(len(self.items), dtype=object)
            arr[:] = self.items
            return Objects(arr)
        ints = np.frombuffer(self.ints, dtype=np.int64) if len(self.ints) else np.zeros(0, dtype=np.int64)
        scales = np.frombuffer(self.scales, dtype=np.int8) if len(self.scales) else np.zeros(0, dtype=np.int8)
        if self.big or (len(scales) and int(scales.max()) > 18):
            values = [self.big.get(i, v) for i, v in enumerate(ints.tolist())]
            return fixed_from_parts(values, scales.tolist())
        scale = int(scales.max()) if len(scales) else 0
        if len(scales) and int(scales.min()) == scale:
            return Fixed(ints, scale)  # a view of the array: read, never written
        factor = np.power(10, (scale - scales).astype(np.int64))
        bound = int(np.max(np.abs(ints))) * 10 ** scale if len(ints) else 0
        if bound >= 2 ** 62:
            return fixed_from_parts(ints.tolist(), scales.tolist())
        return Fixed(ints * factor, scale, None, scales.astype(np.int16))


class _Constraint(ValueProblem):
    code = "constraint"


@dataclass
class Loaded:
    """The rows of one table, parsed: keys, columns, parent rows, bad rows."""

    name: str  # collection name, or "" in row mode
    path: str
    header: list[str]
    keys: list = field(default_factory=list)
    columns: dict[str, Column] = field(default_factory=dict)
    parent_rows: Any = None  # array('q') of parent row per record
    row_numbers: Any = None  # array('q'): the file row of each record
    bad: list[BadCell] = field(default_factory=list)
    bad_keys: set = field(default_factory=set)
    parent_keys: list = field(default_factory=list)


def _header_map(ruleset, header: list[str], fields: dict[str, Input], path: str,
                extra: dict[str, str]) -> dict[int, str]:
    """Column index -> field name (a header is the field id or its Chinese label)."""
    by_label = {decl.label: name for name, decl in fields.items()}
    mapping, unknown = {}, []
    for index, title in enumerate(header):
        name = title if title in fields or title in extra else by_label.get(title)
        if name is None:
            unknown.append(title)
            continue
        if name in mapping.values():
            raise UsageError(f"{path}: column '{title}' appears twice")
        mapping[index] = name
    if unknown:
        known = list(fields) + list(extra)
        hint = did_you_mean(unknown[0], known) or f"columns: {', '.join(known)}"
        raise UsageError(f"{path}: unknown column(s): {', '.join(repr(u) for u in unknown)}", hint=hint)
    missing = [name for name in list(fields) + list(extra) if name not in mapping.values()]
    if missing:
        raise UsageError(f"{path}: missing column(s): {', '.join(missing)}",
                         hint="every field of the records needs a column (header: field id or label)")
    return mapping


def load_collection(ruleset, entity, path: str, parents: Loaded | None, progress) -> Loaded:
    """Stream a table of ``entity`` records into columns; bad rows are collected, not kept."""
    fields = {name: ruleset.declarations[f"{entity.id}.{name}"] for name in entity.names
              if isinstance(ruleset.declarations[f"{entity.id}.{name}"], Input)}
    header, rows = read_rows(path)
    parent_field = entity.parent
    mapping = _header_map(ruleset, header, fields, path, {})
    loaded = Loaded(entity.collection, path, header, parent_rows=array("q"), row_numbers=array("q"))
    loaded.columns = {name: Column(decl) for name, decl in fields.items()}
    parent_of = {key: row for row, key in enumerate(parents.keys)} if parents is not None else None
    loaded.parent_keys = parents.keys if parents is not None else []
    seen: set = set()
    key_name = entity.key
    shown = os.path.basename(path)
    width = len(header)
    chunk: list = []
    collecting = gc.isenabled()
    gc.disable()  # millions of small lists: the cycle collector would rescan them all, often
    try:
        _stream(loaded, rows, width, chunk, mapping, header, fields, key_name, parent_field,
                parent_of, parents, seen, entity, shown, progress)
    finally:
        if collecting:
            gc.enable()
    return loaded


def _stream(loaded, rows, width, chunk, mapping, header, fields, key_name, parent_field, parent_of,
            parents, seen, entity, shown, progress) -> None:

    def flush() -> None:
        if _bulk(loaded, chunk, mapping, key_name, parent_field, parent_of, seen):
            loaded.row_numbers.extend(number for number, _ in chunk)
        else:
            for number, cells in chunk:
                _one_row(loaded, number, cells, mapping, header, fields, key_name, parent_field,
                         parent_of, parents, seen, entity, shown)
        chunk.clear()
        if progress is not None:
            progress.tick(f"reading {shown}", len(loaded.keys))

    for number, cells in rows:
        if isinstance(cells, Exception):
            loaded.bad.append(BadCell(shown, number, "", "bad-fact", str(cells)))
            continue
        if len(cells) != width or "" in cells or None in cells:
            flush()  # rows keep their order: a repeated key is the later row
            _one_row(loaded, number, cells, mapping, header, fields, key_name, parent_field,
                     parent_of, parents, seen, entity, shown)
            continue
        chunk.append((number, cells))
        if len(chunk) >= CHUNK:
            flush()
    flush()


def _bulk(loaded: Loaded, chunk: list, mapping: dict, key_name: str, parent_field, parent_of,
          seen: set) -> bool:
    """Parse a chunk of complete rows column by column; False (nothing kept) if any cell is
    not in the common form, a key repeats or a parent is unknown: then row by row."""
    if not chunk:
        return True
    columns = list(zip(*(cells for _, cells in chunk)))
    texts = {name: list(columns[index]) for index, name in mapping.items()}
    trial = {name: Column(column.decl) for name, column in loaded.columns.items()}
    for name, values in texts.items():
        if not trial[name].extend_texts(values):
            return False
    keys = trial[key_name].items
    if len(set(keys)) != len(keys) or not seen.isdisjoint(keys):
        return False
    parent_rows = None
    if parent_of is not None:
        parent_rows = [parent_of.get(owner, -1) for owner in trial[parent_field].items]
        if -1 in parent_rows:
            return False
        # the parent's own key objects: 200 strings shared, not a million copies
        trial[parent_field].items = list(map(loaded.parent_keys.__getitem__, parent_rows))
    for name, column in trial.items():
        target = loaded.columns[name]
        target.ints.extend(column.ints)
        target.scales.extend(column.scales)
        target.items.extend(column.items)
    seen.update(keys)
    loaded.keys.extend(keys)
    loaded.parent_rows.extend(parent_rows if parent_rows is not None else [-1] * len(keys))
    return True


def _one_row(loaded: Loaded, number: int, cells: list, mapping: dict, header: list, fields: dict,
             key_name: str, parent_field, parent_of, parents, seen: set, entity, shown: str) -> None:
    """Parse one row cell by cell: the row is kept, or reported bad with its column."""
    parsed, problem = {}, None
    for index, name in mapping.items():
        raw = cells[index] if index < len(cells) else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            problem = BadCell(shown, number, header[index], "missing-fact",
                              f"missing field '{name}' ({fields[name].label})")
            break
        try:
            parsed[name] = loaded.columns[name].parse(raw)
        except ValueProblem as exc:
            code = "constraint" if isinstance(exc, _Constraint) else "bad-fact"
            hint = f" (hint: {exc.hint})" if exc.hint else ""
            problem = BadCell(shown, number, header[index], code,
                              f"field '{name}' ({fields[name].label}): {exc.message}{hint}")
            break
    key = parsed.get(key_name, (None,))[0] if problem is None else None
    if problem is None and key in seen:
        problem = BadCell(shown, number, key_name, "duplicate-id",
                          f"two records of '{entity.collection}' have {key_name} {key!r}")
    parent_row = -1
    if problem is None and parent_of is not None:
        owner = parsed[parent_field][0]
        parent_row = parent_of.get(owner, -1)
        if parent_row < 0:
            why = f"its {parent_field} row is bad" if owner in parents.bad_keys else \
                f"names {parent_field} {owner!r}, which is not in {parents.name}"
            problem = BadCell(shown, number, parent_field, "bad-fact", f"record {key!r} {why}")
    if problem is not None:
        loaded.bad.append(problem)
        if key_name in parsed:
            loaded.bad_keys.add(parsed[key_name][0])
        return
    seen.add(key)
    loaded.keys.append(key)
    for name, value in parsed.items():
        loaded.columns[name].append(value)
    loaded.parent_rows.append(parent_row)
    loaded.row_numbers.append(number)


# --- progress -------------------------------------------------------------------------------------
class Progress:
    """A one-line progress display on stderr, for runs over a second, on a terminal only."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()
        self.shown = 0.0
        self.drawn = False

    def tick(self, label: str, done: int | None = None, total: int | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < 1.0 or now - self.shown < 0.1:
            return
        self.shown = now
        if total:
            filled = int(30 * done / max(total, 1))
            text = f"{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}"
        elif done is not None:
            text = f"{label}: {done:,} rows"
        else:
            text = label
        self.stream.write("\r" + text[:100].ljust(100))
        self.stream.flush()
        self.drawn = True

    def done(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


# --- the command ------------------------------------------------------------------------------------
def run_batch(args) -> int:
    """``rulesengine batch``: see the module docstring."""
    started = time.monotonic()
    out = args.output
    if os.path.splitext(out)[1].lower() not in FORMATS:
        raise UsageError(f"'{out}': unknown output format", hint="OUT ends in .csv, .jsonl or .xlsx")
    program = load_program(args.ruleset)
    ruleset = program.ruleset
    scalars = bind_facts(ruleset, read_facts(args.facts)) if args.facts else {}
    progress = Progress()
    tables = _table_args(ruleset, args.table)
    try:
        import numpy  # noqa: F401  (the fast path needs it)
        fast = True
    except ImportError:
        fast = False
        print("notice: numpy is not installed; batch runs on the Decimal path (install the "
              "'fast' extra for the columnar fast path)", file=sys.stderr)
    if ruleset.entities:
        batch = _EntityBatch(program, scalars, tables, fast, progress, args)
    else:
        batch = _RowBatch(program, scalars, tables, fast, progress, args)
    status = batch.run()
    progress.done()
    seconds = time.monotonic() - started
    print(f"{batch.summary()} in {seconds:.1f} s", file=sys.stderr)
    return status


def _table_args(ruleset, given: list[str]) -> list[tuple[str, str]]:
    if not given:
        raise UsageError("no --table given", hint="--table FILE (the file stem names the collection) "
                                                  "or --table NAME=FILE")
    tables = []
    for item in given:
        name, sep, path = item.partition("=")
        if not sep or os.path.exists(item):
            name, path = os.path.splitext(os.path.basename(item))[0], item
        tables.append((name, path))
    if ruleset.entities:
        for name, path in tables:
            if name not in ruleset.collections:
                raise UsageError(f"'{path}': no collection '{name}' in ruleset '{ruleset.meta.id}'",
                                 hint=did_you_mean(name, ruleset.collections)
                                 or f"collections: {', '.join(ruleset.collections)}; "
                                    "name the table with --table NAME=FILE")
        names = [n for n, _ in tables]
        if len(set(names)) != len(names):
            raise UsageError("two tables for the same collection")
    elif len(tables) != 1:
        raise UsageError(f"ruleset '{ruleset.meta.id}' has no collections: give one table, a row per "
                         "set of facts")
    return tables


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


def _missing_facts(program: Program, given: set[str]) -> list[str]:
    ruleset = program.ruleset
    order, _ = program.graph.plan(None)
    missing = []
    for node_id in order:
        decl = ruleset.declarations[node_id]
        if decl.entity is None and decl.is_fact:
            if node_id not in given and node_id != CLEARING_YEAR and program.graph.graph.out_degree(node_id):
                missing.append(node_id)
    return missing


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
    from .fastpath import Fixed, Flags, Objects
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


class _EntityBatch:
    """Collections: the tables are the records; one evaluation over all of them."""

    def __init__(self, program: Program, scalars: dict, tables, fast: bool, progress: Progress, args):
        self.program, self.scalars, self.tables = program, scalars, tables
        self.fast, self.progress, self.args = fast, progress, args
        self.ruleset = program.ruleset
        self.loaded: dict[str, Loaded] = {}
        self.bad: list[BadCell] = []
        self.written = 0
        self.failures = 0

    def summary(self) -> str:
        counts = ", ".join(f"{len(l.keys):,} {name}" for name, l in self.loaded.items())
        return f"batch: {counts}; {len(self.bad)} bad rows; {self.written:,} rows written"

    def run(self) -> int:
        ruleset = self.ruleset
        missing = _missing_facts(self.program, set(self.scalars))
        if missing:
            raise UsageError(f"missing facts: {', '.join(missing)}",
                             hint="give them in --facts FILE (values every record shares)")
        paths = dict(self.tables)
        order = sorted(paths, key=lambda n: len(ruleset.entities[ruleset.collections[n].id].ancestors(
            ruleset.entities)))
        for name in order:
            entity = ruleset.collections[name]
            parents = None
            if entity.parent is not None:
                parent_collection = ruleset.entities[entity.parent].collection
                parents = self.loaded.get(parent_collection)
                if parents is None:
                    raise UsageError(f"'{paths[name]}': {name} belong to {parent_collection}, "
                                     "which no --table gives", hint=f"add --table {parent_collection}.csv")
            self.loaded[name] = load_collection(ruleset, entity, paths[name], parents, self.progress)
            self.bad += self.loaded[name].bad
        report = _report_bad(self.bad, self.args.output)
        if self.bad and not self.args.keep_going:
            print(f"no output written: {len(self.bad)} bad rows (fix them, or pass --keep-going to "
                  "compute without them)", file=sys.stderr)
            return EXIT_FAILED
        del report
        target = self._output_collection()
        if self.fast:
            status = self._run_fast(target)
        else:
            status = self._run_decimal(target)
        if self.args.traces:
            self._traces()
        return EXIT_FAILED if self.bad else status

    def _output_collection(self) -> str:
        chosen = self.args.collection
        if chosen:
            if chosen not in self.loaded:
                raise UsageError(f"--collection {chosen}: no table for it",
                                 hint=f"tables: {', '.join(self.loaded)}")
            return chosen
        roots = [n for n in self.loaded if self.ruleset.collections[n].parent is None]
        return roots[0] if roots else next(iter(self.loaded))

    def _columns(self, name: str) -> list[str]:
        entity = self.ruleset.collections[name]
        return [f"{entity.id}.{n}" for n in entity.names
                if isinstance(self.ruleset.declarations[f"{entity.id}.{n}"], Rule)]

    def _checks(self, name: str) -> list[str]:
        entity = self.ruleset.collections[name]
        return [f"{entity.id}.{n}" for n in entity.names
                if isinstance(self.ruleset.declarations[f"{entity.id}.{n}"], Check)]

    def _run_fast(self, target: str) -> int:
        import numpy as np

        from .fastpath import Collection, FastProgram, Ratio, _broadcast, _take
        collections = {}
        for name, loaded in self.loaded.items():
            keys = np.empty(len(loaded.keys), dtype=object)
            keys[:] = loaded.keys
            entity = self.ruleset.collections[name]
            fields = {}
            for n in list(loaded.columns):
                fields[n] = loaded.columns[n].vector()
                if not self.args.traces:  # the column now lives in the fast table
                    loaded.columns[n].items = []
            parent_rows = np.frombuffer(loaded.parent_rows, dtype=np.int64) if entity.parent else None
            collections[name] = Collection(entity.id, keys, fields, parent_rows)
            if not self.args.traces:
                loaded.columns = {}
        fast = FastProgram(self.program)
        count = len(self.program.graph.order)
        step = iter(range(1, count + 1))
        result = fast.run(collections, self.scalars, as_of=self.args.as_of,
                          progress=lambda node: self.progress.tick("computing", next(step), count))
        for node, why in result.fallbacks.items():
            print(f"notice: {node} computed on the Decimal path ({why})", file=sys.stderr)
        decls = self.ruleset.declarations
        columns = [c for c in self._columns(target) if c in result.values]
        checks = [c for c in self._checks(target) if c in result.values]
        keys = collections[target].keys
        n = len(keys)
        exact = {c for c in columns if isinstance(result.values[c], Ratio)
                 or (decls[c].type.kind == "money" and decls[c].rounding is None)}
        failing = [np.broadcast_to(result.values[c].arr, (n,)) for c in checks]
        entity = self.ruleset.collections[target]
        parent_keys = None
        if entity.parent is not None:
            parent = collections[self.ruleset.entities[entity.parent].collection]
            parent_keys = parent.keys[collections[target].parent_rows]
        header = [entity.key] + ([entity.parent] if parent_keys is not None else []) + \
            [decls[c].name for c in columns] + ["failed_checks"]

        def texts(column: str, start: int, stop: int) -> list:
            if column in exact:
                return [_text(v, decls[column].type) for v in result.column(column, n, start, stop)]
            return format_column(_take(_broadcast(result.values[column], n), slice(start, stop)),
                                 decls[column].type)

        def rows():  # formatted a chunk at a time: a million rows never sit in memory as text
            for start in range(0, n, CHUNK):
                stop = min(n, start + CHUNK)
                chunk = [texts(c, start, stop) for c in columns]
                for row in range(start, stop):
                    failed = ";".join(decls[c].name for c, passed in zip(checks, failing) if not passed[row])
                    lead = [keys[row]] + ([parent_keys[row]] if parent_keys is not None else [])
                    yield lead + [t[row - start] for t in chunk] + [failed]
                    self.written += 1
                self.progress.tick("writing", stop, n)
        sheets = {"totals": (["id", "label", "value"], self._totals_rows(result=result))} \
            if self.args.output.lower().endswith(".xlsx") else None
        _Writer(self.args.output, header, sheets).write(rows())
        self._print_totals(result=result)
        return self._status(result.errors, result.checks)

    def _totals_rows(self, result=None, evaluation=None) -> list:
        rows = []
        for decl in self.ruleset.declarations.values():
            if decl.entity is not None or not isinstance(decl, Rule):
                continue
            if result is not None:
                if decl.id not in result.values:
                    continue
                value = result.column(decl.id)[0]
            else:
                if decl.id not in evaluation.values:
                    continue
                value = evaluation.values[decl.id]
            rows.append([decl.id, decl.label, _text(value, decl.type)])
        return rows

    def _print_totals(self, result=None, evaluation=None) -> None:
        for ident, label, value in self._totals_rows(result, evaluation):
            print(f"{ident} {label} = {value}")
        checks = result.checks if result is not None else evaluation.checks
        for check in checks:
            if not check.passed:
                records = f" ({len(check.records)} records)" if check.records else ""
                print(f"{check.severity}: {check.id} failed{records}: {check.message}")

    def _status(self, errors: list, checks: list) -> int:
        for err in errors:
            print(render(err), file=sys.stderr)
        if errors or any(not c.passed and c.severity == "error" for c in checks):
            return EXIT_FAILED
        return EXIT_OK

    def _facts(self) -> dict:
        """The loaded tables as the Decimal path's facts (Records of Python values)."""
        facts = dict(self.scalars)
        for name, loaded in self.loaded.items():
            entity = self.ruleset.collections[name]
            columns = {n: c.python() for n, c in loaded.columns.items()}
            records = Records(entity.id, list(loaded.keys), columns,
                              [(name, i) for i in range(len(loaded.keys))])
            if entity.parent is not None:
                records.parent_rows = list(loaded.parent_rows)
            facts[name] = records
        for name, records in list(facts.items()):
            if name in self.ruleset.collections and self.ruleset.collections[name].parent:
                parent = facts[self.ruleset.entities[self.ruleset.collections[name].parent].collection]
                groups: list[list[int]] = [[] for _ in parent.keys]
                for row, owner in enumerate(records.parent_rows):
                    groups[owner].append(row)
                parent.children[name] = groups
        return facts

    def _run_decimal(self, target: str) -> int:
        facts = self._facts()
        evaluation = self.program.evaluate(facts, as_of=self.args.as_of)
        decls = self.ruleset.declarations
        columns = [c for c in self._columns(target) if c in evaluation.values]
        checks = [c for c in self._checks(target) if c in evaluation.values]
        records = facts[target]
        entity = self.ruleset.collections[target]
        parent_keys = None
        if entity.parent is not None:
            parent = facts[self.ruleset.entities[entity.parent].collection]
            parent_keys = [parent.keys[r] for r in records.parent_rows]
        header = [entity.key] + ([entity.parent] if parent_keys is not None else []) + \
            [decls[c].name for c in columns] + ["failed_checks"]

        def rows():
            for row, key in enumerate(records.keys):
                failed = ";".join(decls[c].name for c in checks if not evaluation.values[c][row])
                lead = [key] + ([parent_keys[row]] if parent_keys is not None else [])
                yield lead + [_text(evaluation.values[c][row], decls[c].type) for c in columns] + [failed]
                self.written += 1
        sheets = {"totals": (["id", "label", "value"], self._totals_rows(evaluation=evaluation))} \
            if self.args.output.lower().endswith(".xlsx") else None
        _Writer(self.args.output, header, sheets).write(rows())
        self._print_totals(evaluation=evaluation)
        return self._status(evaluation.errors, evaluation.checks)

    def _traces(self) -> None:
        """One trace per record of the root collection (DIR), or all of them as JSON Lines (FILE)."""
        from .report import trace_json
        facts = self._facts()
        evaluation = self.program.evaluate(facts, trace=True, as_of=self.args.as_of)
        document = trace_json(self.program, evaluation)
        target = self._output_collection()
        keys = facts[target].keys
        owner = self._root_of(facts, target)
        items = ((key, _trace_for(document, self.ruleset, owner, target, key)) for key in keys)
        _write_traces(self.args.traces, items)

    def _root_of(self, facts: dict, target: str) -> dict:
        """For each collection, each record's key in ``target`` (its ancestor there), or None."""
        owners: dict[str, list] = {target: list(facts[target].keys)}
        for name, entity in self.ruleset.collections.items():
            chain, current = [], entity
            while current.collection != target and current.parent is not None:
                chain.append(current.collection)
                current = self.ruleset.entities[current.parent]
            if current.collection != target or name not in facts:
                continue
            rows = list(range(len(facts[name].keys)))
            for collection in chain:
                rows = [facts[collection].parent_rows[r] for r in rows]
            owners[name] = [facts[target].keys[r] for r in rows]
        return owners


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
    from .report import dumps
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


class _RowBatch:
    """No collections: each row of the table is one set of facts, evaluated on its own."""

    def __init__(self, program: Program, scalars: dict, tables, fast: bool, progress: Progress, args):
        self.program, self.scalars, self.fast, self.progress, self.args = program, scalars, fast, progress, args
        self.ruleset = program.ruleset
        self.path = tables[0][1]
        self.bad: list[BadCell] = []
        self.count = 0
        self.written = 0

    def summary(self) -> str:
        return f"batch: {self.count:,} rows; {len(self.bad)} bad rows; {self.written:,} rows written"

    def _fields(self) -> dict[str, Any]:
        return {d.id: d for d in self.ruleset.declarations.values()
                if d.entity is None and d.is_fact}

    def _load(self):
        fields = self._fields()
        header, rows = read_rows(self.path)
        key_name = self.args.key or (header[0] if header and header[0] not in fields
                                     and header[0] not in {d.label for d in fields.values()} else None)
        by_label = {d.label: i for i, d in fields.items()}
        in_table = {}
        unknown = []
        for index, title in enumerate(header):
            if title == key_name:
                continue
            name = title if title in fields else by_label.get(title)
            if name is None:
                unknown.append(title)
            elif name in self.scalars:
                raise UsageError(f"{self.path}: column '{title}' is also given in --facts",
                                 hint="give each fact once: in the table or in --facts")
            else:
                in_table[index] = name
        if unknown:
            raise UsageError(f"{self.path}: unknown column(s): {', '.join(repr(u) for u in unknown)}",
                             hint=did_you_mean(unknown[0], fields) or "columns are the ruleset's inputs "
                                  "and open parameters; the first column may be a key")
        missing = _missing_facts(self.program, set(self.scalars) | set(in_table.values()))
        if missing:
            raise UsageError(f"missing facts: {', '.join(missing)}",
                             hint="add a column per fact, or give what every row shares in --facts")
        key_index = header.index(key_name) if key_name in header else None
        return header, rows, in_table, key_index, fields

    def run(self) -> int:
        header, rows, in_table, key_index, fields = self._load()
        columns = {name: Column(fields[name]) for name in in_table.values()}
        keys, numbers = [], array("q")
        shown = os.path.basename(self.path)
        for number, cells in rows:
            self.count += 1
            if isinstance(cells, Exception):
                self.bad.append(BadCell(shown, number, "", "bad-fact", str(cells)))
                continue
            parsed, problem = {}, None
            for index, name in in_table.items():
                raw = cells[index] if index < len(cells) else None
                if raw is None or (isinstance(raw, str) and not raw.strip()):
                    problem = BadCell(shown, number, header[index], "missing-fact",
                                      f"missing fact '{name}' ({fields[name].label})")
                    break
                try:
                    parsed[name] = columns[name].parse(raw)
                except ValueProblem as exc:
                    code = "constraint" if isinstance(exc, _Constraint) else "bad-fact"
                    hint = f" (hint: {exc.hint})" if exc.hint else ""
                    problem = BadCell(shown, number, header[index], code,
                                      f"fact '{name}' ({fields[name].label}): {exc.message}{hint}")
                    break
            if problem is not None:
                self.bad.append(problem)
                continue
            for name, value in parsed.items():
                columns[name].append(value)
            keys.append(cells[key_index] if key_index is not None else str(number))
            numbers.append(number)
            if len(keys) % 4096 == 0:
                self.progress.tick(f"reading {shown}", len(keys))
        _report_bad(self.bad, self.args.output)
        if self.bad and not self.args.keep_going:
            print(f"no output written: {len(self.bad)} bad rows (fix them, or pass --keep-going to "
                  "compute without them)", file=sys.stderr)
            return EXIT_FAILED
        key_title = header[key_index] if key_index is not None else "row"
        status = self._run_fast(columns, keys, key_title) if self.fast and keys \
            else self._run_decimal(columns, keys, key_title)
        if self.args.traces:
            self._traces(columns, keys)
        return EXIT_FAILED if self.bad else status

    def _rules(self) -> list[str]:
        return [d.id for d in self.ruleset.declarations.values() if isinstance(d, Rule) and d.entity is None]

    def _check_ids(self) -> list[str]:
        return [d.id for d in self.ruleset.declarations.values() if isinstance(d, Check)]

    def _run_fast(self, columns: dict, keys: list, key_title: str) -> int:
        import numpy as np

        from .fastpath import FastProgram, Ratio
        scalars = dict(self.scalars)
        for name, column in columns.items():
            scalars[name] = column.vector()
        columns.clear()
        fast = FastProgram(self.program)
        n = len(keys)
        count = len(self.program.graph.order)
        step = iter(range(1, count + 1))
        result = fast.run({}, scalars, rows=n, as_of=self.args.as_of,
                          progress=lambda node: self.progress.tick("computing", next(step), count))
        for node, why in result.fallbacks.items():
            print(f"notice: {node} computed on the Decimal path ({why})", file=sys.stderr)
        decls = self.ruleset.declarations
        rules = [r for r in self._rules() if r in result.values]
        texts = []
        for rule in rules:
            vec, decl = result.values[rule], decls[rule]
            if isinstance(vec, Ratio) or (decl.type.kind == "money" and decl.rounding is None):
                texts.append([_text(v, decl.type) for v in result.column(rule, n)])
            else:
                from .fastpath import _broadcast
                texts.append(format_column(_broadcast(vec, n), decl.type))
        dead = {r: result.dead.get(r) for r in rules}
        checks = [c for c in self._check_ids() if c in result.row_checks]
        header = [key_title] + rules + ["failed_checks", "errors"]
        failures = np.zeros(n, dtype=bool)

        def rows():
            for row in range(n):
                values = [None if dead[r] is not None and dead[r][row] else t[row] for r, t in zip(rules, texts)]
                failed = [c for c in checks if not result.row_checks[c][row]]
                if any(decls[c].severity == "error" for c in failed):
                    failures[row] = True
                errors = "; ".join(e.message for e in result.row_errors.get(row, []))
                yield [keys[row]] + values + [";".join(failed), errors]
                self.written += 1
        _Writer(self.args.output, header).write(rows())
        failed_rows = int(failures.sum())
        error_rows = len(result.row_errors)
        print(f"{n:,} clearings: {failed_rows:,} with a failed error check, {error_rows:,} with an "
              "evaluation error")
        for err in result.errors:
            print(render(err), file=sys.stderr)
        return EXIT_FAILED if failed_rows or error_rows or result.errors else EXIT_OK

    def _row_facts(self, columns: dict, row: int) -> dict:
        facts = dict(self.scalars)
        for name, values in columns.items():
            facts[name] = values[row]
        return facts

    def _run_decimal(self, columns: dict, keys: list, key_title: str) -> int:
        python = {name: column.python() for name, column in columns.items()}
        decls = self.ruleset.declarations
        rules = self._rules()
        header = [key_title] + rules + ["failed_checks", "errors"]
        state = {"failed": 0, "errors": 0}

        def rows():
            for row, key in enumerate(keys):
                evaluation = self.program.evaluate(self._row_facts(python, row), as_of=self.args.as_of)
                failed = [c.id for c in evaluation.checks if not c.passed]
                if any(c.severity == "error" for c in evaluation.failed_checks):
                    state["failed"] += 1
                if evaluation.errors:
                    state["errors"] += 1
                values = [_text(evaluation.values.get(r), decls[r].type) for r in rules]
                yield [key] + values + [";".join(failed), "; ".join(e.message for e in evaluation.errors)]
                self.written += 1
                if row % 1024 == 0:
                    self.progress.tick("computing", row, len(keys))
        _Writer(self.args.output, header).write(rows())
        print(f"{len(keys):,} clearings: {state['failed']:,} with a failed error check, "
              f"{state['errors']:,} with an evaluation error")
        return EXIT_FAILED if state["failed"] or state["errors"] else EXIT_OK

    def _traces(self, columns: dict, keys: list) -> None:
        from .report import trace_json
        # the columns were handed to the fast path: read the rows again, one at a time
        header, rows, in_table, key_index, fields = self._load()
        parsers = {name: Column(fields[name]) for name in in_table.values()}
        ok = set(keys)

        def items():
            for number, cells in rows:
                if isinstance(cells, Exception):
                    continue
                key = cells[key_index] if key_index is not None else str(number)
                if key not in ok:
                    continue
                facts = dict(self.scalars)
                try:
                    for index, name in in_table.items():
                        column = parsers[name]
                        value = column.parse(cells[index])
                        facts[name] = _python_value(column, value)
                except (ValueProblem, TypeError, IndexError):
                    continue
                evaluation = self.program.evaluate(facts, trace=True, as_of=self.args.as_of)
                yield key, trace_json(self.program, evaluation)
        _write_traces(self.args.traces, items())


def _python_value(column: Column, value: tuple) -> Any:
    if not column.numeric:
        return value[0]
    ints, scale = value
    if column.kind == "integer":
        return int(ints)
    if column.kind == "money":
        return Decimal(ints).scaleb(-2)
    return Decimal(ints).scaleb(-scale) if scale else Decimal(ints)


def add_batch_parser(sub):
    """The ``batch`` subcommand's own arguments (cli.py adds the command and --as-of)."""
    batch = sub.add_parser("batch", help="evaluate a ruleset over tables (CSV, JSON Lines, .xlsx): "
                                         "a result row per record or per row")
    batch.add_argument("ruleset", metavar="RULESET")
    batch.add_argument("--table", action="append", metavar="[NAME=]FILE", default=[],
                       help="a table of records; the file stem (or NAME) names the collection "
                            "(repeatable)")
    batch.add_argument("--facts", metavar="FILE", help="facts every record or row shares (YAML or JSON)")
    batch.add_argument("-o", "--output", required=True, metavar="OUT",
                       help="results: .csv, .jsonl or .xlsx, written whole or not at all")
    batch.add_argument("--collection", metavar="NAME",
                       help="the collection whose records are the output rows (default: the top one)")
    batch.add_argument("--key", metavar="COLUMN",
                       help="row mode: the column that names each row (default: the first column "
                            "when it is not a fact)")
    batch.add_argument("--traces", metavar="DIR|FILE",
                       help="a trace per output row: one JSON file each in DIR, or JSON Lines in "
                            "FILE.jsonl")
    batch.add_argument("--keep-going", action="store_true",
                       help="leave bad rows out and compute the rest (default: no output when a "
                            "row is bad)")
    return batch
