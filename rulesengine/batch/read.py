"""Tables in -> typed columns: headers matched to fields, cells typed column-wise, bad rows
reported with their file, row and column.

A header is a field's id, its label, or a name the ``--columns`` mapping file gives it
(:func:`load_mapping`). Reading the file itself is :mod:`.tables`; typing the cells is
:mod:`.columns`, through the coercion the facts reader uses.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from ..check.model import Input
from ..core.cells import UNITS, fact_message
from ..core.datatypes import ValueProblem
from ..core.errors import TableHeaderError, UsageError, did_you_mean
from ..core.i18n import _
from ..core.source import Span
from .columns import Column, Constraint, Missing, _listed, _raw
from .tables import FORMATS, Table, read_table
from .workbook_in import sheet_for

__all__ = ["FORMATS", "CHUNK", "BadCell", "Column", "Loaded", "TableOptions", "load_collection",
           "read_rows", "load_mapping", "map_header", "cell_problem", "column_for"]

SHOWN_ERRORS = 20  # bad rows printed on stderr; all of them go to the error report
CHUNK = 65536  # rows written together
_PLAIN = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?")  # a plain decimal (batch/write.py imports it)


@dataclass
class BadCell:
    """A cell that made its row bad."""

    file: str
    row: int  # the line (CSV, JSON Lines) or sheet row (.xlsx), the header being row 1
    column: str
    code: str
    message: str


@dataclass
class MappedColumn:
    """A bureau's column name -> a field (the first of ``fields`` the table's records have, so one
    name may give ``code`` in one table and ``institution`` in another; none: the column is
    ignored), with an optional unit and value map."""

    fields: tuple[str, ...]
    unit: str | None = None
    values: dict | None = None


@dataclass
class TableOptions:
    """How tables are read: ``--encoding`` and the ``--columns`` mapping."""

    encoding: str | None = None
    columns: dict[str, MappedColumn] = field(default_factory=dict)


def load_mapping(path: str) -> dict[str, MappedColumn]:
    """Read a ``--columns`` file: ``columns: {header: field, header: {field, unit, values}}`` and
    ``ignore: [header, ...]`` (an export's columns no field needs; a ruleset with a field of that
    very id still reads the column)."""
    from ..load.document import load_document
    doc = load_document(path)
    columns = doc.value.get("columns") if isinstance(doc.value, dict) else None
    ignore = doc.value.get("ignore", []) if isinstance(doc.value, dict) else []
    if not isinstance(ignore, list) or not all(isinstance(i, str) for i in ignore):
        raise UsageError(_("'{path}': ignore is a list of column names").format(path=path),
                         span=doc.span(("ignore",)), hint=_("for example ignore: [psn_no, psn_name]"))
    if not isinstance(columns, dict):
        raise UsageError(_("'{path}': a column mapping is 'columns:' with a line per column").format(path=path),
                         span=doc.span(()), hint=_("columns:\n    fixmedins_code: code\n    medfee_sumamt: "
                                                   "{field: cost, unit: 元}"))
    out = {name: MappedColumn(()) for name in ignore}
    for header, spec in columns.items():
        if not isinstance(spec, dict):
            spec = {"field": spec}
        where = doc.span(("columns", header))
        candidates = spec.get("field")
        candidates = [candidates] if isinstance(candidates, str) else candidates
        if not isinstance(candidates, list) or not candidates or not all(isinstance(c, str) for c in candidates) \
                or set(spec) - {"field", "unit", "values"}:
            raise UsageError(_("column '{header}': expected a field id, or field/unit/values").format(
                header=header), span=where, hint=_("for example {field: cost, unit: 万元, values: {Y: 是}}"))
        unit, values = spec.get("unit"), spec.get("values")
        if unit is not None and unit not in sum(UNITS.values(), ()):
            raise UsageError(_("column '{header}': unknown unit '{unit}'").format(header=header, unit=unit),
                             span=where, hint=_("units: 元 or 万元 for money, % for rates"))
        if values is not None and not isinstance(values, dict):
            raise UsageError(_("column '{header}': values must map the table's words to the field's").format(
                header=header), span=where, hint=_("for example values: {Y: 是, N: 否}"))
        out[str(header)] = MappedColumn(tuple(candidates), unit,
                                        {str(k): _word(v) for k, v in (values or {}).items()})
    return out


def _word(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def map_header(table: Table, fields: dict[str, Any], mapping: dict[str, MappedColumn],
               extra: tuple = (), complete: bool = True) -> dict[int, str]:
    """Column index -> field name; a header is the field's id, its label or a mapped name.
    Two columns for one field, an unknown column or (``complete``) a missing one: TableHeaderError."""
    by_label = {decl.label: name for name, decl in fields.items()}
    found: dict[int, str] = {}
    unknown = []
    for index, title in enumerate(table.header):
        mapped = mapping.get(title)
        if mapped is not None and not mapped.fields and title not in fields:
            continue  # ignored, unless the ruleset has a field of that very id
        name = next((f for f in mapped.fields if f in fields), None) if mapped is not None else None
        if name is None:
            name = title if title in fields or title in extra else by_label.get(title)
        if name is None:
            unknown.append(index)
            continue
        if name in found.values():
            first = table.header[next(i for i, n in found.items() if n == name)]
            raise TableHeaderError(_("columns '{first}' and '{second}' both give field '{name}'").format(
                first=first, second=title, name=_shown(name, fields)), span=Span(table.path, 1, index + 1),
                hint=_("each field has one column; delete one of them"))
        found[index] = name
    accepted = ", ".join(_shown(name, fields) for name in fields)
    if unknown:
        titles = [table.header[i] for i in unknown]
        raise TableHeaderError(_("unknown column(s): {names}").format(names=", ".join(repr(t) for t in titles)),
                               span=Span(table.path, 1, unknown[0] + 1),
                               hint=" ".join(filter(None, [
                                   did_you_mean(titles[0], list(fields) + list(by_label) + list(extra)),
                                   _("columns: {names}").format(names=accepted)])))
    missing = [name for name in list(fields) + list(extra) if name not in found.values()]
    if complete and missing:
        raise TableHeaderError(_("missing column(s): {names}").format(
            names=", ".join(_shown(name, fields) for name in missing)), span=Span(table.path, 1, 1),
            hint=_("every field of the records needs a column (header: label, id or a --columns name)"))
    return found


def _shown(name: str, fields: dict) -> str:
    decl = fields.get(name)
    return f"{decl.label} ({name})" if decl is not None and decl.label != name else name


def column_for(decl: Input, title: str, mapping: dict[str, MappedColumn], where: Span | None = None) -> Column:
    """The typed column for the field under header ``title``, with the mapping's unit and values."""
    mapped = mapping.get(title)
    if mapped is None:
        return Column(decl)
    if mapped.unit is not None and mapped.unit not in UNITS.get(decl.type.kind, ()):
        raise TableHeaderError(_("column '{title}': the unit {unit} does not fit a {kind} field").format(
            title=title, unit=mapped.unit, kind=decl.type.kind), span=where,
            hint=_("units: 元 or 万元 for money, % for rates"))
    return Column(decl, None if mapped.unit == "元" else mapped.unit, mapped.values or None)


def cell_problem(shown: str, number: int, title: str, name: str, decl: Input, exc: ValueProblem) -> BadCell:
    """A bad cell, worded as the facts reader words the same value."""
    if isinstance(exc, Missing):
        return BadCell(shown, number, title, "missing-fact",
                       _("missing fact '{name}' ({label})").format(name=name, label=decl.label))
    message = exc.message if isinstance(exc, Constraint) else \
        fact_message(name, decl.label, exc.message, decl.type)
    hint = _(" (hint: {hint})").format(hint=exc.hint) if exc.hint else ""
    return BadCell(shown, number, title, exc.code if isinstance(exc, Constraint) else "bad-fact", message + hint)


def read_rows(path: str, options: TableOptions | None = None) -> tuple[Table, Iterator[tuple[int, list]]]:
    """(the table, an iterator of (row number, cells)) for row-wise callers; a JSON Lines line
    that is not an object comes as (number, ValueError)."""
    table = read_table(path, (options or TableOptions()).encoding)

    def rows():
        bad = iter(sorted(table.bad_lines))
        pending = next(bad, None)
        for number, cells in table.rows():
            while pending is not None and pending[0] < number:
                yield pending[0], ValueError(pending[1])
                pending = next(bad, None)
            yield number, cells
        while pending is not None:
            yield pending[0], ValueError(pending[1])
            pending = next(bad, None)
    return table, rows()


# --- collections --------------------------------------------------------------------------------
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


def load_collection(ruleset, entity, path: str, parents: Loaded | None, progress,
                    options: TableOptions | None = None) -> Loaded:
    """Read a table of ``entity`` records into columns; bad rows are collected, not kept."""
    options = options or TableOptions()
    fields = {name: ruleset.declarations[f"{entity.id}.{name}"] for name in entity.names
              if isinstance(ruleset.declarations[f"{entity.id}.{name}"], Input)}
    table = read_table(path, options.encoding, sheet_for(path, entity))
    found = map_header(table, fields, options.columns)
    loaded = Loaded(entity.collection, path, table.header, parent_rows=array("q"), row_numbers=array("q"))
    loaded.parent_keys = parents.keys if parents is not None else []
    shown = table.shown
    loaded.bad += [BadCell(shown, number, "", "bad-fact", message) for number, message in table.bad_lines]
    first: dict[int, BadCell] = {}  # row -> its first bad cell, in column order
    converted = {}
    for index, name in found.items():
        column = column_for(fields[name], table.header[index], options.columns, Span(table.path, 1, index + 1))
        column.title = table.header[index]
        values, problems = column.convert(table.columns[index])
        converted[name] = column, values
        if name != entity.parent:
            table.columns[index] = None  # the text is typed: free it before the next column
        for row, exc in problems.items():
            if row not in first:
                first[row] = cell_problem(shown, table.numbers[row], table.header[index], name, fields[name], exc)
        if progress is not None:
            progress.tick(_("reading {file}").format(file=shown), len(table.numbers))
    keep = _relate(loaded, table, converted, first, entity, parents)
    mask = None if all(keep) else pa.array(keep, pa.bool_())
    for name in list(converted):
        column, values = converted.pop(name)  # one column's values at a time: the peak stays low
        if name != entity.parent:  # (the parent column takes the parent's own keys, below)
            column.keep(values, mask)
        loaded.columns[name] = column
        del values
    loaded.keys = loaded.columns[entity.key].items
    del table, converted
    pa.default_memory_pool().release_unused()  # the text's pages back to the system, for the run
    if entity.parent is not None:  # the parent's own key objects: 200 strings shared, not a million copies
        loaded.columns[entity.parent].items = list(map(loaded.parent_keys.__getitem__, loaded.parent_rows))
    return loaded


def _relate(loaded: Loaded, table: Table, converted: dict, first: dict, entity, parents) -> list[bool]:
    """Keys unique, parents known; the rows kept (in order, a repeated key is the later row)."""
    if not first and _all_related(loaded, table, converted, entity, parents):
        return [True] * len(table.numbers)
    keys = _items(*converted[entity.key])
    owners = _items(*converted[entity.parent]) if entity.parent is not None else None
    parent_of = {key: row for row, key in enumerate(parents.keys)} if parents is not None else None
    seen: set = set()
    keep = []
    shown = table.shown
    for row, key in enumerate(keys):
        problem = first.get(row)
        if problem is None and key in seen:
            problem = BadCell(shown, table.numbers[row], entity.key, "duplicate-id",
                              _("two records of '{collection}' have {field} {key!r}").format(
                                  collection=entity.collection, field=entity.key, key=key))
        parent_row = -1
        if problem is None and parent_of is not None:
            parent_row = parent_of.get(owners[row], -1)
            if parent_row < 0:
                why = _("its {field} row is bad") if owners[row] in parents.bad_keys else \
                    _("names {field} {owner!r}, which is not in {collection}")
                problem = BadCell(shown, table.numbers[row], entity.parent, "bad-fact",
                                  _("record {key!r} {why}").format(key=key, why=why.format(
                                      field=entity.parent, owner=owners[row], collection=parents.name)))
        if problem is not None:
            loaded.bad.append(problem)
            if key is not None:
                loaded.bad_keys.add(key)
            keep.append(False)
            continue
        seen.add(key)
        keep.append(True)
        loaded.parent_rows.append(parent_row)
        loaded.row_numbers.append(table.numbers[row])
    loaded.bad.sort(key=lambda cell: cell.row)
    return keep


def _all_related(loaded: Loaded, table: Table, converted: dict, entity, parents) -> bool:
    """Every cell good: when the keys are unique and every parent is known, relate the rows at
    once (column-wise); False (nothing done) otherwise."""
    count = len(table.numbers)
    if len(set(_items(*converted[entity.key]))) != count:  # (a Python set hashes faster than arrow)
        return False
    if entity.parent is not None:
        if parents is None:
            return False
        column = converted[entity.parent][0]
        owners = table.columns[table.header.index(column.title)]
        rows = pc.index_in(owners, value_set=pa.array(parents.keys, pa.string()))
        if rows.null_count:
            return False
        loaded.parent_rows.frombytes(_raw(pc.cast(rows, pa.int64()), 8))
    else:
        loaded.parent_rows.extend([-1] * count)
    loaded.row_numbers.extend(table.numbers)
    return True


def _items(column: Column, values: tuple) -> list:
    """A key column's values by row (None where the cell is bad), before rows are dropped."""
    fast, slow, count = values
    items = list(_listed(fast)) if fast is not None else [None] * count
    if fast is not None:
        for row in pc.indices_nonzero(pc.invert(fast[0])).to_pylist():
            items[row] = None
    for row, value in slow.items():
        items[row] = value[0]
    return items
