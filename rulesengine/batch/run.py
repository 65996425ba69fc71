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

import os
import sys
import time
from array import array
from decimal import Decimal
from typing import Any

from ..core.datatypes import ValueProblem, shift
from ..evaluate.driver import load_program
from ..core.errors import UsageError, did_you_mean, render
from ..core.i18n import _, severity_name
from ..evaluate.evaluator import Program
from ..evaluate.facts import bind_facts, read_facts
from ..check.model import CLEARING_YEAR, Check, Parameter, Rule
from ..evaluate.records import Records
from .pack import add_pack_option, write_entity_pack, write_row_pack
from .progress import Progress
from .read import (CHUNK, FORMATS, BadCell, Column, Loaded, TableOptions, cell_problem, load_collection,
                   load_mapping, map_header, read_rows)
from .layout import entity_fields, refuse_overwriting_inputs, row_fields, sheets
from .write import Sheets, _report_bad, _trace_for, _write_traces, _text, _Writer, format_column

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


# --- the command ------------------------------------------------------------------------------------
def run_batch(args) -> int:
    """``rulesengine batch``: see the module docstring."""
    started = time.monotonic()
    out = args.output
    if os.path.splitext(out)[1].lower() not in FORMATS:
        raise UsageError(_("'{path}': unknown output format").format(path=out),
                         hint=_("OUT ends in .csv, .jsonl or .xlsx"))
    refuse_overwriting_inputs(args)
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
        print(_("notice: numpy is not installed; batch runs on the Decimal path (install the "
                "'fast' extra for the columnar fast path)"), file=sys.stderr)
    if ruleset.entities:
        batch = _EntityBatch(program, scalars, tables, fast, progress, args)
    else:
        batch = _RowBatch(program, scalars, tables, fast, progress, args)
    try:
        status = batch.run()
    finally:  # also on Ctrl-C and SIGTERM: the terminal gets its cursor back
        progress.done()
    seconds = time.monotonic() - started
    print(_("{summary} in {seconds} s").format(summary=batch.summary(), seconds=f"{seconds:.1f}"),
          file=sys.stderr)
    return status


def _table_args(ruleset, given: list[str]) -> list[tuple[str, str]]:
    if not given:
        raise UsageError(_("no --table given"), hint=_("--table FILE (the file stem names the "
                                                       "collection) or --table NAME=FILE"))
    tables = []
    for item in given:
        name, sep, path = item.partition("=")
        if not sep or os.path.exists(item):
            name, path = os.path.splitext(os.path.basename(item))[0], item
        tables.append((name, path))
    if ruleset.entities:
        for name, path in tables:
            if name not in ruleset.collections:
                raise UsageError(_("'{path}': no collection '{name}' in ruleset '{ruleset}'").format(
                    path=path, name=name, ruleset=ruleset.meta.id),
                    hint=did_you_mean(name, ruleset.collections)
                    or _("collections: {names}; name the table with --table NAME=FILE").format(
                        names=", ".join(ruleset.collections)))
        names = [n for n, _path in tables]
        if len(set(names)) != len(names):
            raise UsageError(_("two tables for the same collection"))
    elif len(tables) != 1:
        raise UsageError(_("ruleset '{ruleset}' has no collections: give one table, a row per set "
                           "of facts").format(ruleset=ruleset.meta.id))
    return tables


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
        return _("batch: {counts}; {bad} bad rows; {written} rows written").format(
            counts=counts, bad=len(self.bad), written=f"{self.written:,}")

    def run(self) -> int:
        ruleset = self.ruleset
        missing = _missing_facts(self.program, set(self.scalars))
        if missing:
            raise UsageError(_("missing facts: {names}").format(names=", ".join(missing)),
                             hint=_("give them in --facts FILE (values every record shares)"))
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
                    raise UsageError(_("'{path}': {name} belong to {parent}, which no --table "
                                       "gives").format(path=paths[name], name=name, parent=parent_collection),
                                     hint=_("add --table {parent}.csv").format(parent=parent_collection))
            self.loaded[name] = load_collection(ruleset, entity, paths[name], parents, self.progress,
                                                _options(self.args))
            self.bad += self.loaded[name].bad
        report = _report_bad(self.bad, self.args.output)
        if self.bad and not self.args.keep_going:
            print(_("no output written: {count} bad rows (fix them, or pass --keep-going to compute "
                    "without them)").format(count=len(self.bad)), file=sys.stderr)
            return EXIT_FAILED
        del report
        target = self._output_collection()
        if self.fast:
            status = self._run_fast(target)
        else:
            status = self._run_decimal(target)
        if self.args.traces:
            self._traces()
        if self.args.pack:
            self._pack(target)
        return EXIT_FAILED if self.bad else status

    def _output_collection(self) -> str:
        chosen = self.args.collection
        if chosen:
            if chosen not in self.loaded:
                raise UsageError(_("--collection {name}: no table for it").format(name=chosen),
                                 hint=_("tables: {names}").format(names=", ".join(self.loaded)))
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

    def _sheets(self, target: str, totals: list, value_of) -> Sheets:
        return sheets(self.ruleset, self.args, self.scalars, self.ruleset.collections[target].label, target,
                      totals, self._checks(target), value_of)

    def _computed(self) -> tuple[dict, Any]:
        """(collections, fast result); with --keep-going, records that failed at run time are
        left out and the rest computed again."""
        from .fastrun import fast_collections, without_failed
        collections = fast_collections(self.ruleset, self.loaded, bool(self.args.traces or self.args.pack))
        result = self._evaluate_fast(collections)
        if result.record_errors and self.args.keep_going:
            without = without_failed(self.ruleset, self.loaded, collections, result.record_errors, self.bad)
            if without is not None:
                _report_bad(self.bad, self.args.output)
                return without, self._evaluate_fast(without)
        elif result.record_errors:
            count = sum(len(rows) for rows in result.record_errors.values())
            print(_("{count} record(s) could not be computed: their rows are left blank, and totals "
                    "that need them fail; pass --keep-going to leave them out and compute every other "
                    "record in full").format(count=count), file=sys.stderr)
        return collections, result

    def _evaluate_fast(self, collections: dict):
        from ..evaluate.fixedpoint import FastProgram
        count = len(self.program.graph.order)
        step = iter(range(1, count + 1))
        return FastProgram(self.program).run(
            collections, self.scalars, as_of=self.args.as_of,
            progress=lambda node: self.progress.tick(_("computing"), next(step), count))

    def _run_fast(self, target: str) -> int:
        import numpy as np

        from ..evaluate.fixedpoint import Ratio, broadcast, take
        collections, result = self._computed()
        _fallback_notice(result.fallbacks)
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
        fields = entity_fields(self.ruleset, target, columns, parent_keys is not None)

        errors = result.record_errors.get(target, {})

        def texts(column: str, start: int, stop: int) -> list:
            if column in exact:
                out = [_text(v, decls[column].type) for v in result.column(column, n, start, stop)]
            else:
                out = format_column(take(broadcast(result.values[column], n), slice(start, stop)),
                                    decls[column].type)
            dead = result.dead.get(column)  # records that failed: no value, never a stand-in
            if dead is not None:
                out = [None if gone else v for gone, v in zip(dead[start:stop].tolist(), out)]
            return out

        def rows():  # formatted a chunk at a time: a million rows never sit in memory as text
            for start in range(0, n, CHUNK):
                stop = min(n, start + CHUNK)
                chunk = [texts(c, start, stop) for c in columns]
                for row in range(start, stop):
                    failed = ";".join(decls[c].name for c, passed in zip(checks, failing) if not passed[row])
                    lead = [keys[row]] + ([parent_keys[row]] if parent_keys is not None else [])
                    wrong = "; ".join(e.message for e in errors.get(row, ()))
                    yield lead + [t[row - start] for t in chunk] + [failed, wrong]
                    self.written += 1
                self.progress.tick(_("writing"), stop, n)
        sheets = self._sheets(target, self._totals_rows(result=result),
                              lambda i: result.column(i)[0] if i in result.values else None)
        _Writer(self.args.output, fields, sheets).write(rows())
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
            rows.append((decl.id, decl.label, _text(value, decl.type), decl.type, decl.formula))
        return rows

    def _print_totals(self, result=None, evaluation=None) -> None:
        for ident, label, value, _type, _formula in self._totals_rows(result, evaluation):
            print(f"{ident} {label} = {value}")
        checks = result.checks if result is not None else evaluation.checks
        for check in checks:
            if not check.passed:
                if check.records:
                    print(_("{severity}: {id} failed ({count} records): {message}").format(
                        severity=severity_name(check.severity), id=check.id, count=len(check.records),
                        message=check.message))
                else:
                    print(_("{severity}: {id} failed: {message}").format(
                        severity=severity_name(check.severity), id=check.id, message=check.message))

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
        fields = entity_fields(self.ruleset, target, columns, parent_keys is not None)

        def rows():
            for row, key in enumerate(records.keys):
                failed = ";".join(decls[c].name for c in checks if not evaluation.values[c][row])
                lead = [key] + ([parent_keys[row]] if parent_keys is not None else [])
                yield lead + [_text(evaluation.values[c][row], decls[c].type) for c in columns] + [failed, ""]
                self.written += 1
        sheets = self._sheets(target, self._totals_rows(evaluation=evaluation), evaluation.values.get)
        _Writer(self.args.output, fields, sheets).write(rows())
        self._print_totals(evaluation=evaluation)
        return self._status(evaluation.errors, evaluation.checks)

    def _traces(self) -> None:
        """One trace per record of the root collection (DIR), or all of them as JSON Lines (FILE)."""
        from ..views.report import trace_json
        facts = self._facts()
        evaluation = self.program.evaluate(facts, trace=True, as_of=self.args.as_of)
        document = trace_json(self.program, evaluation)
        target = self._output_collection()
        keys = facts[target].keys
        owner = self._root_of(facts, target)
        items = ((key, _trace_for(document, self.ruleset, owner, target, key)) for key in keys)
        _write_traces(self.args.traces, items)

    def _pack(self, target: str) -> None:
        sources = [path for _, path in self.tables] + ([self.args.facts] if self.args.facts else [])
        evaluation = self.program.evaluate(self._facts(), trace=True, as_of=self.args.as_of,
                                           fact_source=", ".join(sources))
        write_entity_pack(self.args.pack, self.program, evaluation, target, self.progress)

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
        return _("batch: {count} rows; {bad} bad rows; {written} rows written").format(
            count=f"{self.count:,}", bad=len(self.bad), written=f"{self.written:,}")

    def _fields(self) -> dict[str, Any]:
        return {d.id: d for d in self.ruleset.declarations.values()
                if d.entity is None and d.is_fact}

    def _load(self):
        fields = self._fields()
        table, rows = read_rows(self.path, _options(self.args))
        header = table.header
        key_name = self.args.key or (header[0] if header and header[0] not in fields
                                     and header[0] not in {d.label for d in fields.values()}
                                     and header[0] not in _options(self.args).columns else None)
        in_table = map_header(table, fields, _options(self.args).columns,
                              extra=(key_name,) if key_name else (), complete=False)
        for index, name in list(in_table.items()):
            if name == key_name:
                del in_table[index]
            elif name in self.scalars:
                raise UsageError(_("{path}: column '{title}' is also given in --facts").format(
                    path=self.path, title=header[index]), hint=_("give each fact once: in the table or in --facts"))
        missing = _missing_facts(self.program, set(self.scalars) | set(in_table.values()))
        if missing:
            raise UsageError(_("missing facts: {names}").format(names=", ".join(missing)),
                             hint=_("add a column per fact, or give what every row shares in --facts"))
        key_index = header.index(key_name) if key_name in header else None
        return header, rows, in_table, key_index, fields

    def run(self) -> int:
        header, rows, in_table, key_index, fields = self._load()
        mapped = _options(self.args).columns
        columns = {name: Column(fields[name], *_unit(mapped.get(header[index])))
                   for index, name in in_table.items()}
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
        _fallback_notice(result.fallbacks)
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
        mapped = _options(self.args).columns
        parsers = {name: Column(fields[name], *_unit(mapped.get(header[index])))
                   for index, name in in_table.items()}
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
                yield key, self.program.evaluate(facts, trace=True, as_of=self.args.as_of,
                                                 fact_source=source)
        return items()


def _fallback_notice(fallbacks: dict[str, str]) -> None:
    """Which rules the fast path handed to the Decimal path (same results, slower). The fast
    path's reasons are not in the message catalogue yet: shown under RULESENGINE_DEBUG only."""
    if not fallbacks:
        return
    debug = os.environ.get("RULESENGINE_DEBUG")
    names = ", ".join(f"{node} ({why})" if debug else node for node, why in fallbacks.items())
    print(_("notice: computed on the Decimal path (same results, slower): {ids}").format(ids=names),
          file=sys.stderr)


def _python_value(column: Column, value: tuple) -> Any:
    if not column.numeric:
        return value[0]
    ints, scale = value
    if column.kind == "integer":
        return int(ints)
    if column.kind == "money":
        return shift(Decimal(ints), -2)
    return shift(Decimal(ints), -scale) if scale else Decimal(ints)  # exact: no 28-digit rounding


def _options(args) -> TableOptions:
    """--encoding and --columns, the mapping file read once."""
    if getattr(args, "_table_options", None) is None:
        columns = load_mapping(args.columns) if getattr(args, "columns", None) else {}
        args._table_options = TableOptions(getattr(args, "encoding", None), columns)
    return args._table_options


def _unit(mapped) -> tuple:
    return (None, None) if mapped is None else (None if mapped.unit == "元" else mapped.unit, mapped.values or None)


def add_batch_parser(sub):
    """The ``batch`` subcommand's own arguments (cli.py adds the command and --as-of)."""
    batch = sub.add_parser("batch", help=_("evaluate a ruleset over tables (CSV, JSON Lines, .xlsx): "
                                           "a result row per record or per row"))
    batch.add_argument("ruleset", metavar="RULESET")
    batch.add_argument("--table", action="append", metavar="[NAME=]FILE", default=[],
                       help=_("a table of records; the file stem (or NAME) names the collection "
                               "(repeatable)"))
    batch.add_argument("--facts", metavar="FILE", help=_("facts every record or row shares (YAML or JSON)"))
    batch.add_argument("-o", "--output", required=True, metavar="OUT",
                       help=_("results: .csv, .jsonl or .xlsx, written whole or not at all"))
    batch.add_argument("--collection", metavar="NAME",
                       help=_("the collection whose records are the output rows (default: the top one)"))
    batch.add_argument("--key", metavar="COLUMN",
                       help=_("row mode: the column that names each row (default: the first column "
                               "when it is not a fact)"))
    batch.add_argument("--traces", metavar="DIR|FILE",
                       help=_("a trace per output row: one JSON file each in DIR, or JSON Lines in "
                               "FILE.jsonl"))
    batch.add_argument("--encoding", metavar="NAME",
                       help=_("the encoding of CSV and JSON Lines tables (default: UTF-8 with or without "
                               "BOM, UTF-16 with BOM, else GB18030)"))
    batch.add_argument("--columns", metavar="MAPPING.yaml",
                       help=_("the table's own column names -> field ids, with units (元, 万元, %%) "
                               "and value maps (README, \"Tables\")"))
    batch.add_argument("--keep-going", action="store_true",
                       help=_("leave bad rows out and compute the rest (default: no output when a "
                               "row is bad)"))
    add_pack_option(batch)
    return batch
