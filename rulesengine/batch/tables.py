"""Table files -> a header and columns of cell text (pyarrow string arrays), checked for shape.

CSV is read by pyarrow (every column as text: numbers are typed exactly later, never through a
float), .xlsx by python-calamine, JSON Lines by the json module. Encodings of CSV and JSON
Lines: UTF-8 with or without BOM, UTF-16 with BOM, and GB18030 (a superset of GBK) when the file
is not UTF-8 and has no UTF-8 text before its first non-UTF-8 byte; or the one ``--encoding``
names. Every problem with the file itself is a located :class:`TableError` (exit 2): an
undecodable byte, an empty or truncated file, a renamed file, a row wider or narrower than the
header, an empty header cell over a column with values, a header written twice, and an .xlsx
whose parts would inflate beyond :data:`MAX_XLSX_INFLATED` (read from the zip directory before
anything is inflated).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..core.errors import (TableEncodingError, TableFileError, TableHeaderError, TableShapeError,
                           TableTooLargeError, UsageError)
from ..core.i18n import _, library_detail
from ..core.source import Span

FORMATS = (".csv", ".jsonl", ".xlsx")  # tables in and results out
INPUT_FORMATS = FORMATS + (".parquet",)
MAX_XLSX_INFLATED = 1 << 30  # bytes: the parts of an .xlsx, inflated (README, "Limits")
_ZIP_MAGIC = b"PK\x03\x04"
_SHOWN_ROWS = 5  # rows named in a shape error


@dataclass
class Table:
    """A table's header and its columns of cell text (None: an empty cell), blank rows left out."""

    path: str
    header: list[str]
    columns: list  # pa.StringArray per header cell
    numbers: list[int]  # the file row of each row, the header being row 1
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # JSON Lines: not an object

    @property
    def shown(self) -> str:
        return os.path.basename(self.path)

    def rows(self):
        """(row number, cells) one row at a time, for row-wise callers."""
        lists = [column.to_pylist() for column in self.columns]
        for index, number in enumerate(self.numbers):
            yield number, [cells[index] for cells in lists]


def read_table(path: str, encoding: str | None = None, sheet: str | None = None) -> Table:
    """Read a CSV, JSON Lines, .xlsx or Parquet file into a :class:`Table` (of an .xlsx, the
    sheet named ``sheet``, else the first)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in INPUT_FORMATS:
        raise UsageError(_("'{path}': unknown table format '{suffix}'").format(
            path=path, suffix=suffix or _("(none)")), hint=_("tables are .csv, .jsonl, .xlsx or .parquet files"))
    if not os.path.isfile(path):
        raise UsageError(_("'{path}': no such file").format(path=path), hint=_("check the path of --table"))
    if suffix in (".xlsx", ".parquet"):
        header, columns, numbers = _read_xlsx(path, sheet) if suffix == ".xlsx" else _read_parquet(path)
        bad: list = []
    else:
        data = _utf8(_open_bytes(path, suffix), path, encoding)
        if suffix == ".csv":
            header, columns, numbers = _read_csv(data, path)
            bad = []
        else:
            header, columns, numbers, bad = _read_jsonl(data.decode("utf-8"), path)
    header, columns = _check_header(path, header, columns)
    return Table(path, header, columns, numbers, bad)


def _open_bytes(path: str, suffix: str) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read()
    if not data[:4096].strip() and not data.strip():
        raise TableFileError(_("'{path}' is empty").format(path=path), span=Span(path, 1, 1),
                             hint=_("a table has a header row, then a row per record"))
    if data.startswith(_ZIP_MAGIC):
        raise TableFileError(_("'{path}' is an Excel workbook or another zip archive, not {kind} text").format(
            path=path, kind=suffix[1:].upper()), span=Span(path, 1, 1),
            hint=_("name an Excel workbook .xlsx, or save the sheet as CSV UTF-8"))
    return data


# --- encodings -----------------------------------------------------------------------------------
def _utf8(data: bytes, path: str, encoding: str | None) -> bytes:
    """The file's text as UTF-8 without BOM: the declared encoding, else by BOM, else UTF-8, else
    GB18030. UTF-8 is checked, not copied."""
    if encoding:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise UsageError(_("--encoding {name}: no such encoding").format(name=encoding),
                             hint=_("for example utf-8, gbk, gb18030 or utf-16")) from None
        if codec == "utf-8":
            return _checked(data[3:] if data.startswith(codecs.BOM_UTF8) else data, path, mixed=False)
        return _strict(data, codec, path, mixed=False)
    if data.startswith(codecs.BOM_UTF8):
        return _checked(data[3:], path, mixed=False)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", path, mixed=False)
    if b"\x00" in data[:4096]:  # UTF-16 without its BOM (or a binary file)
        raise TableEncodingError(_("the table holds NUL bytes: UTF-16 without a byte order mark, or not text"),
                                 span=Span(path, 1, data.index(b"\x00") + 1),
                                 hint=_("name its encoding with --encoding utf-16-le (or utf-16-be), or "
                                        "save it as CSV UTF-8"))
    try:
        return _checked(data, path, mixed=True)
    except TableEncodingError:
        if not data[:_first_error(data).start].isascii():  # UTF-8 text, then something else: mixed
            raise
    return _strict(data, "gb18030", path, mixed=False)


def _checked(data: bytes, path: str, mixed: bool) -> bytes:
    """``data`` if it is UTF-8 (checked 16 MB at a time, without a copy of the whole text)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    step = 1 << 24
    try:
        for start in range(0, len(data), step):
            decoder.decode(data[start:start + step], final=start + step >= len(data))
    except UnicodeDecodeError:
        raise _encoding_error(data, path, "utf-8", _first_error(data), mixed) from None
    return data


def _first_error(data: bytes) -> UnicodeDecodeError:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc
    raise AssertionError("valid UTF-8")


def _strict(data: bytes, codec: str, path: str, mixed: bool) -> bytes:
    try:
        return data.decode(codec).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise _encoding_error(data, path, codec, exc, mixed) from None


def _encoding_error(data: bytes, path: str, codec: str, exc: UnicodeDecodeError, mixed: bool):
    before = data[:exc.start].decode(codec, "replace")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    shown = data[exc.start:exc.start + 4].hex(" ")
    message = _("byte {bytes} is not {codec} text").format(bytes=shown, codec=codec.upper().replace("-SIG", ""))
    if mixed and not data[:exc.start].isascii():
        message += _(" (the lines before it are UTF-8: the file mixes encodings)")
    return TableEncodingError(message, span=Span(path, line, column),
                              hint=_("save the table as CSV UTF-8 in Excel, or name its encoding "
                                     "with --encoding (gbk, gb18030, utf-16)"))


# --- CSV ------------------------------------------------------------------------------------------
def _read_csv(data: bytes, path: str) -> tuple[list[str], list, list[int]]:
    try:
        first = next(csv.reader(io.StringIO(data[:1 << 20].decode("utf-8", "replace"))), [])
    except csv.Error as exc:  # a header field over 131,072 characters, say
        raise TableHeaderError(_("the header row cannot be read: {problem}").format(problem=library_detail(exc)),
                               span=Span(path, 1, 1), hint=_("the first row names the columns: field "
                                                             "ids or labels")) from None
    width = len(first)
    names = [f"c{i}" for i in range(width)]
    data = pa.py_buffer(data)
    wrong: list = []

    def read(threads: bool):
        def handler(row):
            wrong.append((row.number, row.actual_columns))
            return "skip"
        return pacsv.read_csv(
            pa.BufferReader(data),
            # one block: each column one chunk, taken as it is (combining chunks would copy the text)
            read_options=pacsv.ReadOptions(column_names=names, use_threads=threads,
                                           block_size=max(len(data) + 1, 1 << 20)),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False,
                                             invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 null_values=[""], strings_can_be_null=True))
    try:
        table = read(True)
        if wrong:  # rows numbered by a second, single-threaded read
            wrong.clear()
            read(False)
    except pa.ArrowInvalid as exc:
        raise TableFileError(_("'{path}' cannot be read as CSV: {problem}").format(
                             path=path, problem=library_detail(exc)),
                             span=Span(path, 1, 1), hint=_("check that the file is a CSV table")) from None
    if wrong:
        _shape_error(path, width, wrong)
    columns = [_one_chunk(table.column(i)) for i in range(width)]
    del table
    header = [(c or "").strip() for c in first]
    return header, *_without_blank_rows([c.slice(1) for c in columns], 2)


def _one_chunk(column: pa.ChunkedArray) -> pa.Array:
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _shape_error(path: str, width: int, wrong: list) -> None:
    number, actual = wrong[0]
    others = ", ".join(str(n) for n, _count in wrong[1:_SHOWN_ROWS])
    message = _("row {row} has {actual} fields, the header {width}").format(row=number, actual=actual, width=width)
    if others:
        message += _(" (also rows {rows}; {count} rows in all)").format(rows=others, count=len(wrong))
    raise TableShapeError(message, span=Span(path, number, min(actual, width) + 1),
                          hint=_("a value with a comma (8,512,345.67) must be quoted or written without "
                                 "separators; every row needs exactly the header's {width} fields").format(
                              width=width))


def _without_blank_rows(columns: list, first: int) -> tuple[list, list[int]]:
    """Leave out rows whose cells are all empty; the file row of each row kept."""
    count = len(columns[0]) if columns else 0
    if not count or not pc.any(pc.or_kleene(pc.is_null(columns[0]), pc.utf8_is_space(columns[0]))).as_py():
        return columns, list(range(first, first + count))  # the first cell of every row has text
    blank = None
    for column in columns:
        empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(column), ""), True)
        blank = empty if blank is None else pc.and_(blank, empty)
    if blank is None or not pc.any(blank).as_py():
        return columns, list(range(first, first + count))
    keep = pc.invert(blank)
    numbers = pa.array(range(first, first + count), pa.int64()).filter(keep).to_pylist()
    return [column.filter(keep) for column in columns], numbers


# --- JSON Lines -----------------------------------------------------------------------------------
def _read_jsonl(text: str, path: str):
    header: list[str] | None = None
    cells: list[list] = []
    numbers: list[int] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_float=str)
        except (ValueError, RecursionError):
            record = None
        if not isinstance(record, dict):
            if header is None:
                raise TableFileError(_("line {line} is not a JSON object").format(line=number),
                                     span=Span(path, number, 1), hint=_("each line of a .jsonl table is "
                                                                        "one JSON object, {\"field\": value}"))
            bad.append((number, _("not a JSON object")))
            continue
        if header is None:
            header = list(record)
            cells = [[] for _name in header]
        extra = [k for k in record if k not in header]
        if extra:
            bad.append((number, _("unknown field '{name}'").format(name=extra[0])))
            continue
        nested = [k for k, v in record.items() if isinstance(v, (dict, list))]
        if nested:
            bad.append((number, _("field '{name}' holds a list or an object, not a value").format(name=nested[0])))
            continue
        for index, name in enumerate(header):
            cells[index].append(_json_text(record.get(name)))
        numbers.append(number)
    return header or [], [pa.array(c, pa.string()) for c in cells], numbers, bad


def _json_text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- Parquet --------------------------------------------------------------------------------------
def _read_parquet(path: str) -> tuple[list[str], list, list[int]]:
    """Every column as text: integers and decimals exactly, floats as their shortest decimal."""
    import pyarrow.parquet as pq
    try:
        table = pq.read_table(path)
        columns = [pc.cast(table.column(i).combine_chunks(), pa.string()) for i in range(table.num_columns)]
    except (pa.ArrowException, OSError) as exc:
        raise TableFileError(_("'{path}' cannot be read as Parquet: {problem}").format(
            path=path, problem=library_detail(exc)), span=Span(path, 1, 1),
            hint=_("the file is truncated or not a Parquet file")) from None
    return list(table.column_names), *_without_blank_rows(columns, 2)


# --- .xlsx ----------------------------------------------------------------------------------------
def sheet_names(path: str) -> list[str]:
    """The sheets of an .xlsx workbook."""
    from python_calamine import CalamineWorkbook
    _check_zip(path)
    try:
        return list(CalamineWorkbook.from_path(path).sheet_names)
    except Exception as exc:  # the library's errors about a damaged workbook: bad input
        raise TableFileError(_("'{path}' cannot be read as an .xlsx workbook: {problem}").format(
            path=path, problem=str(exc)[:200]), span=Span(path, 1, 1),
            hint=_("open it in Excel and save it again as .xlsx")) from None


def _read_xlsx(path: str, name: str | None = None) -> tuple[list[str], list, list[int]]:
    from python_calamine import CalamineWorkbook
    _check_zip(path)
    try:
        book = CalamineWorkbook.from_path(path)
        sheet = book.get_sheet_by_name(name) if name is not None else book.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
        top = sheet.start[0] if sheet.start else 0
    except Exception as exc:  # the library's errors about a damaged workbook: bad input
        raise TableFileError(_("'{path}' cannot be read as an .xlsx workbook: {problem}").format(
            path=path, problem=library_detail(exc)), span=Span(path, 1, 1),
            hint=_("open it in Excel and save it again as .xlsx")) from None
    if not rows:
        return [], [], []
    header = [_xlsx_text(c) or "" for c in rows[0]]
    columns = [pa.array([_xlsx_text(row[i]) for row in rows[1:]], pa.string()) for i in range(len(header))]
    return header, *_without_blank_rows(columns, top + 2)


def _check_zip(path: str) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise TableFileError(_("'{path}' is not an .xlsx workbook ({problem})").format(
            path=path, problem=library_detail(exc)), span=Span(path, 1, 1),
            hint=_("the file is truncated, or another kind of file named .xlsx; save it again from "
                   "Excel, or name a CSV file .csv")) from None
    if inflated > MAX_XLSX_INFLATED:
        raise TableTooLargeError(_("'{path}' inflates to {size:,} MB, above the limit of {limit:,} MB").format(
            path=path, size=inflated >> 20, limit=MAX_XLSX_INFLATED >> 20), span=Span(path, 1, 1),
            hint=_("save a table this large as CSV UTF-8"))


def _xlsx_text(value) -> str | None:
    """A cell as the text it shows: numbers in decimal (never a float downstream), dates in ISO."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):  # at most the 15 significant digits Excel shows: 0.1+0.2 is 0.3
        text = format(value, ".15g")
        if "e" in text or "E" in text:
            text = f"{Decimal(text):f}"
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- the header -----------------------------------------------------------------------------------
def _check_header(path: str, header: list[str], columns: list) -> tuple[list[str], list]:
    """Drop an empty header cell over an empty column; refuse one over values, and a repeat."""
    if not header or not any(header):
        raise TableFileError(_("'{path}' has no header row").format(path=path), span=Span(path, 1, 1),
                             hint=_("the first row names the columns: field ids or labels"))
    kept_header, kept, seen = [], [], {}
    for index, (title, column) in enumerate(zip(header, columns), 1):
        title = title.strip()
        if not title:
            if pc.any(pc.not_equal(pc.utf8_trim_whitespace(column), "")).as_py():
                raise TableHeaderError(_("column {index} has values but no header").format(index=index),
                                       span=Span(path, 1, index),
                                       hint=_("name the column in row 1, or delete it"))
            continue
        if title in seen:
            raise TableHeaderError(_("column '{title}' appears twice (columns {first} and {index})").format(
                title=title, first=seen[title], index=index), span=Span(path, 1, index),
                hint=_("each field has one column; delete or rename one of them"))
        seen[title] = index
        kept_header.append(title)
        kept.append(column)
    return kept_header, kept
