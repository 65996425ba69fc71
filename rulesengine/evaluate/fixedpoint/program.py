"""The fixed-point program: every rule compiled to column operations, run over collections.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable

import numpy as np

from ...check.model import CLEARING_YEAR, Check, Input, Parameter, Rule, Table
from ...core.errors import EvaluationError, InvalidDateError, MissingFactError, NoValueInForceError, RulesError, RulesWarning
from ..evaluator import CheckResult, Evaluation, Program, RecordCheck
from ..semantics import (ARITHMETIC_ERRORS, DECIMAL_CONTEXT, arithmetic_error, dated_value, missing_fact, rule_value,
                         year_end)
from ..scheduler import carried_rows, needs_failed_records, record_error, walk
from .arith import round_to
from .compiler import Env, Vector, VectorCompiler
from .fallback import DecimalView
from .groups import Collection, table_from_records
from .vectors import (LIMIT, Fixed, Flags, Objects, Ratio, Unsupported, as_objects, broadcast, decimal_parts,
                      absolute_error, python_values, rescaled, scalar_vector, size_of, take, vector_from_values)


@dataclass
class FastResult:
    """Values as fast columns, with what the Decimal path had to compute and why."""

    targets: list[str]
    values: dict[str, Any]
    tables: dict[str, Collection]
    rows: int  # 1, or the number of independent rows (row mode)
    checks: list[CheckResult] = field(default_factory=list)
    errors: list[RulesError] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    fallbacks: dict[str, str] = field(default_factory=dict)  # id -> why the Decimal path ran
    unsure_rows: int = 0  # rows recomputed by the Decimal path
    as_of: Any = None
    warnings: list[RulesWarning] = field(default_factory=list)
    # row mode: per row, the errors and the ids it could not compute
    row_errors: dict[int, list[RulesError]] = field(default_factory=dict)
    row_failed: dict[str, Any] = field(default_factory=dict)  # id -> rows where it failed itself
    row_checks: dict[str, Any] = field(default_factory=dict)  # check id -> bool array (row mode)
    dead: dict[str, Any] = field(default_factory=dict)  # id -> rows (records) without a value
    # entity mode: collection -> record row -> the run-time errors of that record
    record_errors: dict[str, dict[int, list[RulesError]]] = field(default_factory=dict)
    view: Any = None
    failed: set = field(default_factory=set)  # ids that failed as a whole
    row_mode: bool = False  # top-level values are columns of independent rows

    def column(self, node_id: str, n: int | None = None, start: int = 0, stop: int | None = None) -> list:
        """A value column (rows ``start`` to ``stop``) as the Decimal path holds it (Decimal,
        bool, str, date; None where the row has no value); ``n`` broadcasts a single value."""
        values = self._column(node_id, n, start, stop)
        dead = self.dead.get(node_id)
        if dead is None or size_of(self.values[node_id]) == 1 and n is None:
            return values
        return [None if gone else v for gone, v in zip(dead[start:start + len(values)].tolist(), values)]

    def _column(self, node_id: str, n: int | None, start: int, stop: int | None) -> list:
        vec = self.values[node_id]
        dead = self.dead.get(node_id)
        decl = self.view.fast.ruleset.declarations[node_id]
        length = n or size_of(vec)
        stop = length if stop is None else stop
        # Unrounded money keeps the Decimal path's own exponent (1.500 is not shown as 1.50):
        # recompute it rather than guess the exponent from the column's scale.
        exponent_matters = isinstance(decl, Rule) and decl.type.kind == "money" and decl.rounding is None
        if not isinstance(vec, Ratio) and not exponent_matters:
            if size_of(vec) == 1:
                return python_values(vec) * (stop - start)
            return python_values(take(vec, slice(start, stop)))
        rows = range(start, stop)
        with decimal.localcontext(DECIMAL_CONTEXT):
            if self.row_mode:
                views = ((DecimalView(self.view.fast, self.values, self.tables, r), r) for r in rows
                         if dead is None or not dead[r])
                found = {r: v.recompute(node_id, r) if exponent_matters else v.value_at(node_id, r)
                         for v, r in views}
                return [found.get(r) for r in rows]
            alive = [r for r in rows if dead is None or not dead[r]]  # a failed row is never recomputed
            found = dict(zip(alive, (self.view.recompute(node_id, r) if exponent_matters
                                     else self.view.value_at(node_id, r) for r in alive)))
            return [found.get(r) for r in rows]


class FastProgram:
    """A :class:`~rulesengine.evaluator.Program` compiled a second time, to column operations."""

    def __init__(self, program: Program):
        self.program = program
        self.graph = program.graph
        self.ruleset = ruleset = program.ruleset
        self.vectors: dict[str, Vector] = {}
        for decl in ruleset.declarations.values():
            if isinstance(decl, (Rule, Check)):
                self.vectors[decl.id] = VectorCompiler(ruleset, decl.entity).build(decl.tree)

    # --- the Program.evaluate interface --------------------------------------------------------
    def evaluate(self, facts: dict[str, Any], targets: list[str] | None = None, *,
                 trace: bool = False, fact_source: str | None = None,
                 as_of: date | None = None) -> Evaluation:
        """Same arguments and result as :meth:`Program.evaluate`, computed on the fast path.

        Traces, missing facts or fields run the Decimal path for the whole evaluation.
        """
        if trace or self._incomplete(facts, targets):
            return self.program.evaluate(facts, targets, trace=trace, fact_source=fact_source,
                                         as_of=as_of)
        try:
            tables = {name: table_from_records(self.ruleset, records)
                      for name, records in facts.items() if name in self.ruleset.collections}
            tables.update((name, facts[name]) for name in self.program.supplied if name in facts)
            scalars = {k: scalar_vector(v) for k, v in facts.items() if k not in tables}
            result = self.run(tables, scalars, targets, as_of=as_of)
        except Unsupported:  # a value the fixed-point back-end cannot hold exactly
            return self.program.evaluate(facts, targets, fact_source=fact_source, as_of=as_of)
        return self.to_evaluation(result, facts)

    def _incomplete(self, facts: dict, targets) -> bool:
        order, _ = self.graph.plan(targets)
        for node_id in order:
            decl = self.ruleset.declarations[node_id]
            if decl.entity is not None:
                collection = self.ruleset.entities[decl.entity].collection
                if collection not in facts:
                    return True
                if isinstance(decl, Input) and any(v is None for v in facts[collection].columns[decl.name]):
                    return True
            elif decl.required:
                if node_id not in facts and node_id != CLEARING_YEAR:
                    return True
        return False

    def to_evaluation(self, result: FastResult, facts: dict) -> Evaluation:
        """The fast result in the Decimal path's form (per-record values as lists)."""
        values: dict[str, Any] = {name: facts[name] for name in self.ruleset.collections if name in facts}
        for node_id, vec in result.values.items():
            decl = self.ruleset.declarations[node_id]
            if decl.entity is not None:
                values[node_id] = result.column(node_id, len(result.tables[self._collection(decl)]))
            else:
                values[node_id] = result.column(node_id)[0]
        evaluation = Evaluation(result.targets, values, result.checks, list(result.errors),
                                dict(result.skipped), None, result.as_of, list(result.warnings))
        return evaluation

    def row_evaluation(self, result: FastResult, row: int, as_of: date | None = None) -> Evaluation:
        """Row ``row`` of a row-mode result, as :meth:`Program.evaluate` gives it for that row's facts."""
        decls = self.ruleset.declarations
        view = DecimalView(self, result.values, result.tables, row)
        values, checks, errors, skipped = {}, [], list(result.row_errors.get(row, [])), {}
        order, targets = self.graph.plan(result.targets)
        failed_here = set()
        with decimal.localcontext(DECIMAL_CONTEXT):
            for node_id in order:
                decl = decls[node_id]
                if isinstance(decl, Table):
                    continue
                own = result.row_failed.get(node_id)
                if node_id in result.failed or (own is not None and own[row]):
                    failed_here.add(node_id)
                    continue
                dead = result.dead.get(node_id)
                if node_id in result.skipped or (dead is not None and dead[row]):
                    blocked = next((d for d in self.graph.dependencies(node_id)
                                    if d in failed_here or d in skipped), None)
                    if blocked is not None:
                        skipped[node_id] = skipped.get(blocked, blocked)
                    continue
                if node_id not in result.values:
                    continue
                money = isinstance(decl, Rule) and decl.type.kind == "money" and decl.rounding is None
                vec = result.values[node_id]
                values[node_id] = view.recompute(node_id, row) if money or isinstance(vec, Ratio) \
                    else view.value_at(node_id, row)
                if isinstance(decl, Check):
                    passed = bool(result.row_checks[node_id][row])
                    checks.append(CheckResult(decl.id, decl.label, passed, decl.severity, decl.message,
                                              decl.citation, self.ruleset.reference(decl),
                                              self.program.sides_of(decl, view, None), decl.side_type))
        scratch = Evaluation(targets, values, checks)
        year = values.get(CLEARING_YEAR)
        facts = {CLEARING_YEAR: int(year)} if isinstance(year, Decimal) else {}
        scratch.as_of = self.program.as_of(facts, as_of, scratch)
        scratch.errors, scratch.skipped = errors, skipped
        return scratch

    # --- running ----------------------------------------------------------------------------------
    def run(self, tables: dict[str, Collection], scalars: dict[str, Any], targets: list[str] | None = None,
            *, as_of: date | None = None, rows: int | None = None, progress: Callable[[str], None] | None = None
            ) -> FastResult:
        """Evaluate over columnar ``tables`` and single ``scalars`` (entity mode), or, with
        ``rows`` > 1, over independent rows: each scalar is then a one- or ``rows``-long
        column (row mode, for rulesets without collections). Raises :class:`Unsupported` when
        a value is beyond what the back-end holds (34 integer digits, MAX_SCALE places): the
        caller then runs the Decimal back-end."""
        order, targets = self.graph.plan(targets)
        given = {name: scalars[name] for name in self.program.supplied if name in scalars and name not in tables}
        if given:  # a table supplied with the facts (batch --facts): held among the tables
            tables = {**tables, **given}
        values: dict[str, Any] = {}
        result = FastResult(targets, values, tables, rows or 1)
        result.row_mode = rows is not None
        rows = rows or 1
        result.view = DecimalView(self, values, tables)
        scratch = Evaluation(targets, {}, [])
        result.as_of = self.program.as_of(self._as_of_facts(scalars), as_of, scratch)
        result.warnings = scratch.warnings
        result.errors.extend(scratch.errors)  # a clearing year that is not a calendar year
        for node_id in order:  # a table supplied with the facts comes among the tables
            if node_id in self.program.supplied and node_id not in tables:
                message, hint = missing_fact(self.ruleset.declarations[node_id])
                result.errors.append(MissingFactError(message, span=self.ruleset.declarations[node_id].span,
                                                      hint=hint))
                result.failed.add(node_id)
        backend = _FixedBackend(self, tables, scalars, result, rows, as_of)
        with decimal.localcontext(DECIMAL_CONTEXT):
            walk(self.graph, order, backend, failed=result.failed, skipped=result.skipped, errors=result.errors,
                 progress=progress)
        return result

    def _dead_inputs(self, node_id: str, result: FastResult):
        """(rows of ``node_id`` left without a value because an input has none there, None), or
        (None, an error) when a value over many records (a total) needs a record that failed
        (:func:`..scheduler.carried_rows`, the rule both back-ends follow)."""
        dead = None
        decl = self.ruleset.declarations[node_id]
        for dep in self.graph.dependencies(node_id):
            rows = result.dead.get(dep)
            if rows is None:
                continue
            dep_decl = self.ruleset.declarations[dep]
            if decl.entity == dep_decl.entity:
                carried = rows
            else:
                failed = np.nonzero(rows)[0].tolist()
                if not failed:
                    continue
                found = carried_rows(self.ruleset, decl, dep_decl, failed,
                                     lambda collection: result.tables[collection].parent_rows.tolist())
                if found is None:
                    keys = result.tables[self._collection(dep_decl)].keys[failed].tolist()
                    return None, needs_failed_records(self.ruleset, decl, dep, keys)
                carried = np.zeros(len(result.tables[self._collection(decl)]), dtype=bool)
                carried[found] = True
            dead = carried.copy() if dead is None else dead | carried
        return dead, None

    def _as_of_facts(self, scalars: dict) -> dict:
        year = scalars.get(CLEARING_YEAR)
        if isinstance(year, Fixed) and len(year.ints) == 1 and year.scale == 0:
            year = int(year.ints[0])  # one clearing year for the whole run
        return {CLEARING_YEAR: year} if isinstance(year, int) and not isinstance(year, bool) else {}

    def _collection(self, decl) -> str:
        return self.ruleset.entities[decl.entity].collection

    def _fact(self, decl, scalars: dict, tables: dict, result: FastResult, as_of) -> None:
        node_id = decl.id
        if decl.entity is not None:
            result.values[node_id] = tables[self._collection(decl)].fields[decl.name]
            return
        if node_id in scalars:
            value = scalars[node_id]
            result.values[node_id] = value if isinstance(value, (Fixed, Flags, Objects)) \
                else scalar_vector(value)
            return
        if isinstance(decl, Parameter) and decl.dated:
            value = self._dated(decl, scalars, result, as_of)
            if value is None:
                result.failed.add(node_id)
            else:
                result.values[node_id] = value
            return
        if decl.required:
            if node_id != CLEARING_YEAR:
                message, hint = missing_fact(decl)
                result.errors.append(MissingFactError(message, span=decl.span, hint=hint))
            result.failed.add(node_id)
            return
        result.values[node_id] = scalar_vector(decl.value)

    def _dated(self, decl: Parameter, scalars: dict, result: FastResult, as_of):
        """A dated parameter: one value, or (row mode) the value in force for each row's year."""
        year = scalars.get(CLEARING_YEAR)
        if isinstance(year, Fixed) and len(year.ints) > 1 and as_of is None:
            years = year.ints.tolist()
            in_force: dict[int, Any] = {}  # year -> value, or the error the Decimal back-end reports
            for y in set(years):
                try:
                    in_force[y] = dated_value(decl, year_end(self.ruleset, int(y)), [])
                except (InvalidDateError, NoValueInForceError) as err:
                    in_force[y] = err
            chosen, dead = [], np.zeros(len(years), dtype=bool)
            for row, y in enumerate(years):
                value = in_force[y]
                if isinstance(value, EvaluationError):
                    dead[row] = True
                    result.row_errors.setdefault(row, []).append(value)
                    value = decl.dated[0].value
                chosen.append(value)
            if dead.any():
                result.dead[decl.id] = dead
                result.row_failed[decl.id] = dead
            return vector_from_values(chosen, decl.type.kind)
        try:
            return scalar_vector(dated_value(decl, result.as_of, result.warnings))
        except EvaluationError as err:  # no value in force: reported as the Decimal back-end does
            result.errors.append(err)
            return None

    def _node(self, decl, env: Env, dead, result: FastResult, view: DecimalView) -> None:
        node_id = decl.id
        per_record = decl.entity is not None
        mask = None if dead is None else ~dead
        rounding = decl.rounding if isinstance(decl, Rule) else None
        try:
            vec = self.vectors[node_id](env, mask)
            if rounding is not None and isinstance(vec, (Fixed, Ratio)):
                vec = round_to(vec, rounding.places, rounding.mode, settle=True, unsure=env.unsure)
            vec = broadcast(vec, env.n)
            unsure = env.unsure_rows()
            if unsure is not None and mask is not None:
                unsure &= mask
            if unsure is not None and unsure.any():
                vec = self._patch(decl, vec, np.nonzero(unsure)[0], view, result)
                result.unsure_rows += int(unsure.sum())
        except Unsupported as why:
            result.fallbacks[node_id] = str(why)
            vec = self._decimal_column(decl, env.n, dead, result, view)
            if vec is None:
                return
        result.values[node_id] = vec
        if dead is not None and node_id not in result.dead:  # the Decimal column may add rows
            result.dead[node_id] = dead
        if isinstance(decl, Check):
            self._check(decl, vec, env.n, dead, result, view, per_record)

    def _patch(self, decl, vec, rows, view: DecimalView, result: FastResult):
        """Recompute ``rows`` of a column with the Decimal closures."""
        computed = {}
        for row in rows.tolist():
            computed[row] = self._decimal_value(decl, row, view, result)
        return patched(vec, computed)

    def _decimal_value(self, decl, row: int, view: DecimalView, result: FastResult):
        if result.row_mode and decl.entity is None:
            local = DecimalView(self, result.values, result.tables, row)
            value = self.program.formulas[decl.id](local, None, None)
        else:
            value = self.program.formulas[decl.id](view, row if decl.entity is not None else None, None)
        if isinstance(decl, Rule):
            value = rule_value(value, decl.rounding, self.program.divides[decl.id])
        return value

    def _decimal_column(self, decl, n: int, dead, result: FastResult, view: DecimalView):
        """The whole rule on the Decimal path. An error fails that record (per-record rule) or
        row (row mode) only; a top-level value in entity mode fails as a whole (raised)."""
        row_mode = result.row_mode and decl.entity is None
        per_record = decl.entity is not None
        out: list = []
        failed = np.zeros(n, dtype=bool) if row_mode or per_record else None
        for row in range(n):
            if dead is not None and dead[row]:
                out.append(None)
                continue
            if failed is None:
                out.append(self._decimal_value(decl, row, view, result))
                continue
            try:
                out.append(self._decimal_value(decl, row, view, result))
                continue
            except EvaluationError as err:
                error = err
            except ARITHMETIC_ERRORS as exc:
                error = arithmetic_error(decl, exc)
            failed[row] = True
            out.append(None)
            if per_record:  # one record fails, not the rule: the error names the record
                collection = self._collection(decl)
                result.errors.append(record_error(error, result.tables[collection].keys[row], collection))
                result.record_errors.setdefault(collection, {}).setdefault(row, []).append(error)
            else:
                result.row_errors.setdefault(row, []).append(error)
        if failed is not None and failed.any():
            dead = failed if dead is None else dead | failed
            result.dead[decl.id] = dead
            result.row_failed[decl.id] = failed
        filler = next((v for v in out if v is not None), None)
        if filler is None:
            if dead is not None and dead.all():
                result.dead[decl.id] = dead
                return Flags(np.zeros(n, dtype=bool)) if decl.type.kind == "boolean" else \
                    vector_from_values([Decimal(0)] * n, "number") if decl.type.numeric else \
                    vector_from_values([None] * n, "text")
        out = [filler if v is None else v for v in out]
        kind = decl.type.kind if decl.type.kind in ("money", "rate", "number", "integer", "boolean") \
            else "text"
        if kind != "boolean" and out and not isinstance(out[0], Decimal):
            kind = "text"
        return vector_from_values(out, kind)

    def _check(self, decl: Check, vec, n: int, dead, result: FastResult, view: DecimalView,
               per_record: bool) -> None:
        passed = np.broadcast_to(vec.arr, (n,))
        if result.row_mode and not per_record:
            ok = passed if dead is None else (passed | dead)
            result.row_checks[decl.id] = np.asarray(ok, dtype=bool)
            result.checks.append(CheckResult(decl.id, decl.label, bool(ok.all()), decl.severity,
                                             decl.message, decl.citation, self.ruleset.reference(decl),
                                             None, decl.side_type, checked=n))
            return
        if not per_record:
            sides = self.program.sides_of(decl, view, None)
            result.checks.append(CheckResult(decl.id, decl.label, bool(passed[0]), decl.severity,
                                             decl.message, decl.citation, self.ruleset.reference(decl),
                                             sides, decl.side_type))
            return
        keys = result.tables[self._collection(decl)].keys
        failing = ~passed if dead is None else ~passed & ~dead  # a record without a value fails no check
        failures = [RecordCheck(keys[row], self.program.sides_of(decl, view, row))
                    for row in np.nonzero(failing)[0].tolist()]
        result.checks.append(CheckResult(decl.id, decl.label, not failures, decl.severity, decl.message,
                                         decl.citation, self.ruleset.reference(decl), None,
                                         decl.side_type, records=failures, checked=n))


class _FixedBackend:
    """The fixed-point back-end of one run, as :func:`..scheduler.walk` drives it."""

    def __init__(self, fast: FastProgram, tables: dict, scalars: dict, result: FastResult, rows: int, as_of):
        self.fast, self.tables, self.scalars, self.result, self.rows, self.as_of = \
            fast, tables, scalars, result, rows, as_of
        self.up: dict = {}
        self.groups: dict = {}

    def has_records(self, decl) -> bool:
        return self.fast._collection(decl) in self.tables

    def fact(self, decl) -> None:
        self.fast._fact(decl, self.scalars, self.tables, self.result, self.as_of)

    def node(self, decl) -> None:
        fast, result = self.fast, self.result
        dead, cause = fast._dead_inputs(decl.id, result)
        if cause is not None:
            raise cause
        n = len(self.tables[fast._collection(decl)]) if decl.entity is not None else self.rows
        fast._node(decl, Env(result.values, self.tables, n, self.up, self.groups), dead, result, result.view)


def patched(vec, computed: dict):
    """``vec`` with some rows replaced by Decimal-path values."""
    rows = np.array(list(computed), dtype=np.int64)
    values = list(computed.values())
    if isinstance(vec, Flags):
        arr = vec.arr.copy()
        arr[rows] = values
        return Flags(arr)
    if isinstance(vec, Objects):
        arr = vec.arr.copy()
        arr[rows] = np.array(values, dtype=object)
        return Objects(arr)
    parts = [decimal_parts(v) for v in values]
    if isinstance(vec, Fixed):
        scale = max([vec.scale] + [p[1] for p in parts])
        ints, bound = rescaled(vec, scale)
        ints = ints.copy()
        news = [i * 10 ** (scale - s) for i, s in parts]
        top = max(abs(v) for v in news)
        if top >= LIMIT and ints.dtype != object:
            ints = as_objects(ints)
        ints[rows] = news
        return Fixed(ints, scale, max(bound, top))
    num, den = vec.num.copy(), np.broadcast_to(vec.den, vec.num.shape).copy()
    news = [(i, 10 ** s) for i, s in parts]
    top = max(max(abs(i), d) for i, d in news)
    if top >= LIMIT:
        num, den = as_objects(num), as_objects(den)
    num[rows] = [i for i, _ in news]
    den[rows] = [d for _, d in news]
    err = np.zeros(len(num)) if vec.err is None else np.broadcast_to(absolute_error(vec), num.shape).copy()
    err[rows] = 0.0  # these rows hold the Decimal path's own value
    return Ratio(num, den, err)
