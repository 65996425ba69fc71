"""Row mode: a ruleset without collections (Sanya) over one table, each row one set of facts
(``--facts`` gives what every row shares), evaluated on its own."""

from __future__ import annotations

import os
import sys
from array import array
from typing import Any

from ..core.datatypes import ValueProblem
from ..core.errors import UsageError, render
from ..core.i18n import _
from ..evaluate.evaluator import Program
from ..check.model import Table, Check, Parameter, Rule
from .pack import write_row_pack
from .progress import Progress
from .read import (BadCell, cell_problem, column_for,
                   map_header, read_rows)
from .layout import row_fields, sheets
from .common import EXIT_FAILED, EXIT_OK, fallback_notice, missing_facts, python_value, table_options
from .write import Sheets, _report_bad, _write_traces, _text, _Writer, format_column


class RowBatch:
    """No collections: each row of the table is one set of facts, evaluated on its own."""

    def __init__(self, program: Program, scalars: dict, tables, fast: bool, progress: Progress, args):
        self.program, self.scalars, self.fast, self.progress, self.args = program, scalars, fast, progress, args
        self.ruleset = program.ruleset
        self.path = tables[0][1]
        self.bad: list[BadCell] = []
        self.count = 0
        self.written = 0

    def summary(self) -> str:
        return _("batch: {count} rows; {bad} bad rows; {written} rows written").format(
            count=f"{self.count:,}", bad=len(self.bad), written=f"{self.written:,}")

    def _fields(self) -> dict[str, Any]:
        return {d.id: d for d in self.ruleset.declarations.values()  # a data table is no column
                if d.entity is None and d.is_fact and not isinstance(d, Table)}

    def _load(self):
        fields = self._fields()
        table, rows = read_rows(self.path, table_options(self.args))
        header = table.header
        key_name = self.args.key or (header[0] if header and header[0] not in fields
                                     and header[0] not in {d.label for d in fields.values()}
                                     and header[0] not in table_options(self.args).columns else None)
        in_table = map_header(table, fields, table_options(self.args).columns,
                              extra=(key_name,) if key_name else (), complete=False)
        for index, name in list(in_table.items()):
            if name == key_name:
                del in_table[index]
            elif name in self.scalars:
                raise UsageError(_("{path}: column '{title}' is also given in --facts").format(
                    path=self.path, title=header[index]), hint=_("give each fact once: in the table or in --facts"))
        missing = missing_facts(self.program, set(self.scalars) | set(in_table.values()))
        if missing:
            raise UsageError(_("missing facts: {names}").format(names=", ".join(missing)),
                             hint=_("add a column per fact, or give what every row shares in --facts"))
        key_index = header.index(key_name) if key_name in header else None
        return header, rows, in_table, key_index, fields

    def run(self) -> int:
        header, rows, in_table, key_index, fields = self._load()
        mapped = table_options(self.args).columns
        columns = {name: column_for(fields[name], header[index], mapped) for index, name in in_table.items()}
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
                try:
                    parsed[name] = columns[name].parse(raw)
                except ValueProblem as exc:
                    problem = cell_problem(shown, number, header[index], name, fields[name], exc)
                    break
            if problem is not None:
                self.bad.append(problem)
                continue
            for name, value in parsed.items():
                columns[name].append(value)
            keys.append(cells[key_index] if key_index is not None else str(number))
            numbers.append(number)
            if len(keys) % 4096 == 0:
                self.progress.tick(_("reading {file}").format(file=shown), len(keys))
        _report_bad(self.bad, self.args.output)
        if self.bad and not self.args.keep_going:
            print(_("no output written: {count} bad rows (fix them, or pass --keep-going to compute "
                    "without them)").format(count=len(self.bad)), file=sys.stderr)
            return EXIT_FAILED
        key_title = header[key_index] if key_index is not None else "row"
        status = self._run_fast(columns, keys, key_title) if self.fast and keys \
            else self._run_decimal(columns, keys, key_title)
        if self.args.traces:
            self._traces(columns, keys)
        if self.args.pack:
            write_row_pack(self.args.pack, self.program, self._evaluations(keys, self.path), self.progress)
        return EXIT_FAILED if self.bad else status

    def _rules(self) -> list[str]:
        return [d.id for d in self.ruleset.declarations.values() if isinstance(d, Rule) and d.entity is None]

    def _check_ids(self) -> list[str]:
        return [d.id for d in self.ruleset.declarations.values() if isinstance(d, Check)]

    def _sheets(self) -> Sheets:
        def value_of(ident: str):
            decl = self.ruleset.declarations[ident]
            if ident in self.scalars:
                return self.scalars[ident]
            return decl.value if isinstance(decl, Parameter) and not decl.dated else None
        return sheets(self.ruleset, self.args, self.scalars, None, "", [], self._check_ids(), value_of)

    def _run_fast(self, columns: dict, keys: list, key_title: str) -> int:
        import numpy as np

        from ..evaluate.fixedpoint import FastProgram, Ratio
        scalars = dict(self.scalars)
        for name, column in columns.items():
            scalars[name] = column.vector()
        columns.clear()
        fast = FastProgram(self.program)
        n = len(keys)
        count = len(self.program.graph.order)
        step = iter(range(1, count + 1))
        result = fast.run({}, scalars, rows=n, as_of=self.args.as_of,
                          progress=lambda node: self.progress.tick(_("computing"), next(step), count))
        fallback_notice(result.fallbacks)
        decls = self.ruleset.declarations
        rules = [r for r in self._rules() if r in result.values]
        texts = []
        for rule in rules:
            vec, decl = result.values[rule], decls[rule]
            if isinstance(vec, Ratio) or (decl.type.kind == "money" and decl.rounding is None):
                texts.append([_text(v, decl.type) for v in result.column(rule, n)])
            else:
                from ..evaluate.fixedpoint import broadcast
                texts.append(format_column(broadcast(vec, n), decl.type))
        dead = {r: result.dead.get(r) for r in rules}
        checks = [c for c in self._check_ids() if c in result.row_checks]
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
        _Writer(self.args.output, row_fields(self.ruleset, key_title, rules), self._sheets()).write(rows())
        failed_rows = int(failures.sum())
        error_rows = len(result.row_errors)
        print(_("{count} clearings: {failed} with a failed error check, {errors} with an evaluation "
                "error").format(count=f"{n:,}", failed=f"{failed_rows:,}", errors=f"{error_rows:,}"))
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
                    self.progress.tick(_("computing"), row, len(keys))
        _Writer(self.args.output, row_fields(self.ruleset, key_title, rules), self._sheets()).write(rows())
        print(_("{count} clearings: {failed} with a failed error check, {errors} with an evaluation "
                "error").format(count=f"{len(keys):,}", failed=f"{state['failed']:,}",
                                errors=f"{state['errors']:,}"))
        return EXIT_FAILED if state["failed"] or state["errors"] else EXIT_OK

    def _traces(self, columns: dict, keys: list) -> None:
        from ..views.report import trace_json
        items = ((key, trace_json(self.program, evaluation)) for key, evaluation in self._evaluations(keys))
        _write_traces(self.args.traces, items)

    def _evaluations(self, keys: list, source: str | None = None):
        """(key, traced evaluation) of each computed row."""
        # the columns were handed to the fast path: read the rows again, one at a time
        header, rows, in_table, key_index, fields = self._load()
        mapped = table_options(self.args).columns
        parsers = {name: column_for(fields[name], header[index], mapped) for index, name in in_table.items()}
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
                        facts[name] = python_value(column, value)
                except (ValueProblem, TypeError, IndexError):
                    continue
                yield key, self.program.evaluate(facts, trace=True, as_of=self.args.as_of,
                                                 fact_source=source)
        return items()
