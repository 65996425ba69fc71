"""Tables in -> typed columns: CSV, JSON Lines and .xlsx rows read, each cell typed and bounded,
bad cells reported with their file, row and column."""

from __future__ import annotations

import csv
import gc
import json
import os
import re
from array import array
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterator

from ..core.datatypes import FEN, ValueProblem, coerce, display
from ..core.errors import UsageError, did_you_mean
from ..check.model import Input

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

        from ..evaluate.fixedpoint import Fixed, Flags, Objects, fixed_from_parts
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
