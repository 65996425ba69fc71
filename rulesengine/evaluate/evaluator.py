"""Graph + typed facts -> values, check results and (optionally) a trace.

Only what the requested targets need is evaluated, in the graph's topological order.
Arithmetic is ``Decimal`` in a context that traps overflow and invalid operations; money
rules are rounded to the fen (ROUND_HALF_UP) unless the ruleset says otherwise. A node
that fails is reported with its location; nodes that do not depend on it still compute.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable

from ..load import ast
from ..core.builtins import AGGREGATES
from .compiler import Compiled, compile_check, compile_formula
from ..core.datatypes import Type, display
from ..core.errors import (EvaluationError, MissingFactError,
                     RulesError, RulesWarning)
from ..check.graph import RulesetGraph
from ..core.i18n import _
from ..check.model import CLEARING_YEAR, Check, Input, Parameter, Rule, Table
from .semantics import (ARITHMETIC_ERRORS, DECIMAL_CONTEXT, arithmetic_error, as_decimal, as_of_date,
                        dated_value, default_source, divides, missing_fact, rule_value)
from .scheduler import carried_rows, needs_failed_records, record_error, walk
from .trace import Aggregation, Branch, CheckOutcome, Lookup, RecordRow, Rounding, TraceNode

@dataclass
class RecordCheck:
    """A per-record check that failed for one record."""

    key: Any
    sides: tuple[Any, Any] | None = None

    @property
    def difference(self) -> Any:
        return _difference(self.sides)


@dataclass
class CheckResult:
    id: str
    label: str
    passed: bool
    severity: str
    message: str
    citation: str
    reference: str
    sides: tuple[Any, Any] | None = None  # the two sides of a comparison
    side_type: Type | None = None
    records: list[RecordCheck] | None = None  # per-record checks: the records that failed
    checked: int | None = None  # per-record checks: how many records were checked

    @property
    def difference(self) -> Any:
        return _difference(self.sides)


def _difference(sides: tuple | None) -> Any:
    """Left minus right: an amount, or for two dates the number of days."""
    if sides and all(isinstance(s, Decimal) for s in sides):
        return sides[0] - sides[1]
    if sides and all(isinstance(s, date) for s in sides):
        return Decimal((sides[0] - sides[1]).days)
    return None


@dataclass
class Evaluation:
    targets: list[str]
    values: dict[str, Any]  # per-record ids hold a column, collections their Records
    checks: list[CheckResult]
    errors: list[RulesError] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # id -> the failed node it needed
    trace: list[TraceNode] | None = None
    as_of: date | None = None
    warnings: list[RulesWarning] = field(default_factory=list)
    # (entity id, key) when this is one record's part of a larger evaluation (batch --pack);
    # (None, key) for one row of a table evaluated row by row
    scope: tuple[str | None, Any] | None = None

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def keys(self, decl_id: str, ruleset) -> list:
        """Record keys of the entity that ``decl_id`` belongs to."""
        entity = ruleset.declarations[decl_id].entity
        return self.values[ruleset.entities[entity].collection].keys


class Program:
    """A ruleset graph with every formula compiled once; evaluate it many times."""

    def __init__(self, graph: RulesetGraph):
        self.graph = graph
        self.ruleset = ruleset = graph.ruleset
        decls = ruleset.declarations
        self.tables = {d.id for d in decls.values() if isinstance(d, Table)}
        self.supplied = [d.id for d in decls.values() if isinstance(d, Table) and d.supplied]
        self.formulas: dict[str, Compiled] = {}
        self.divides: dict[str, bool] = {}  # whether a formula divides (semantics.rule_value)
        self.checks: dict[str, Callable] = {}  # check -> (passed, sides), one evaluation
        self.names: dict[str, list[ast.Name]] = {}  # for splicing values into formulas
        self.accessors: dict[str, list[tuple[Compiled, Type]]] = {}  # the value of each name
        for decl in decls.values():
            if isinstance(decl, (Rule, Check)):
                self.formulas[decl.id] = compile_formula(decl, ruleset)
                self.divides[decl.id] = divides(decl.tree)
                self.names[decl.id] = ast.references(decl.tree)
                self.accessors[decl.id] = [
                    (compile_formula(decl, ruleset, name), ruleset.resolve(name.id, decl.entity).type)
                    for name in self.names[decl.id]]
                if isinstance(decl, Check):
                    self.checks[decl.id] = compile_check(decl, ruleset, self.formulas[decl.id])

    def evaluate(self, facts: dict[str, Any], targets: list[str] | None = None, *,
                 trace: bool = False, fact_source: str | None = None,
                 as_of: date | None = None) -> Evaluation:
        """Evaluate ``targets`` (default: every rule and check) over typed ``facts``.

        Nothing raises for a problem of the facts or formulas: missing facts and failing
        formulas are in ``Evaluation.errors``, the nodes that needed them in ``skipped``,
        and everything else is computed. ``as_of`` chooses dated parameter values (default:
        31 December of the fact ``clearing_year``, else the start of the effective period).
        """
        order, targets = self.graph.plan(targets)
        values: dict[str, Any] = {name: facts[name] for name in self.ruleset.collections if name in facts}
        values.update((name, facts[name]) for name in self.supplied if name in facts)
        result = Evaluation(targets, values, [], trace=[] if trace else None)
        result.as_of = self.as_of(facts, as_of, result)
        failed = self._missing(facts, order, targets, result)
        backend = _DecimalBackend(self, facts, values, result, trace, fact_source)
        with decimal.localcontext(DECIMAL_CONTEXT):
            walk(self.graph, order, backend, failed=failed, skipped=result.skipped, errors=result.errors)
        return result

    # --- as-of date and validity ------------------------------------------------------------
    def as_of(self, facts: dict, given: date | None, result: Evaluation) -> date | None:
        """The as-of date of an evaluation (see :func:`.semantics.as_of_date`)."""
        return as_of_date(self.ruleset, facts.get(CLEARING_YEAR), given, result.errors, result.warnings)

    def _fact(self, decl: Input | Parameter, facts: dict, values: dict, result: Evaluation,
              source: str | None) -> None:
        node_id = decl.id
        if decl.entity is not None:
            column = values[self._collection(decl)].columns[decl.name]
            # typed where the facts were bound: only whole numbers (int) still become Decimal
            values[node_id] = [as_decimal(v) for v in column] if decl.type.kind == "integer" else column
            if result.trace is not None:
                result.trace.append(self._column_node(decl, values, source))
            return
        supplied = node_id in facts
        if supplied:
            value = facts[node_id]
        elif isinstance(decl, Parameter) and decl.dated:
            value = dated_value(decl, result.as_of, result.warnings)
        else:
            value = decl.value
        values[node_id] = as_decimal(value)
        if result.trace is not None:
            result.trace.append(self._fact_node(decl, values[node_id], supplied, source, result.as_of))

    def _collection(self, decl) -> str:
        return self.ruleset.entities[decl.entity].collection

    def _missing(self, facts: dict, order: list[str], targets: list[str], result: Evaluation) -> set[str]:
        """Report every missing fact (and the targets needing it); return their ids."""
        missing = set()
        absent_collections: set[str] = set()
        for name in order:
            decl = self.ruleset.declarations[name]
            if decl.entity is not None:
                gap = self._missing_field(decl, facts, absent_collections)
                if gap is None:
                    continue
                message, hint = gap
            elif name in facts or not decl.required:
                continue
            else:
                message, hint = missing_fact(decl)
            missing.add(name)
            if message is None:
                continue
            if decl.entity is not None and isinstance(decl, Input) and self._collection(decl) not in facts:
                needed = set(self._entity_ids(decl.entity))
            else:
                needed = {name}
            needing = [t for t in targets if needed & self.graph.requirements([t])]
            if not needing:
                continue  # nothing asked for needs it
            shown = ", ".join(needing[:5]) + (" ..." if len(needing) > 5 else "")
            result.errors.append(MissingFactError(_("{message}, needed by {ids}").format(message=message, ids=shown),
                                                  span=decl.span, hint=hint))
        return missing

    def _entity_ids(self, entity: str) -> list[str]:
        return [f"{entity}.{name}" for name in self.ruleset.entities[entity].names]

    def _missing_field(self, decl, facts: dict, absent: set[str]) -> tuple | None:
        """For a per-record declaration: None when it can run, else (message or None, hint)."""
        collection = self._collection(decl)
        if collection not in facts:
            if not isinstance(decl, Input):
                return None  # skipped in evaluation: its records are not there
            if collection in absent:
                return None, None
            absent.add(collection)
            entity = self.ruleset.entities[decl.entity]
            return (_("missing collection '{collection}' ({label})").format(collection=collection, label=entity.label),
                    _("add '{collection}: [{{{key}: ..., ...}}]' to the facts").format(
                        collection=collection, key=entity.key))
        if not isinstance(decl, Input):
            return None
        records = facts[collection]
        lacking = [key for key, value in zip(records.keys, records.columns[decl.name]) if value is None]
        if not lacking:
            return None
        shown = ", ".join(str(k) for k in lacking[:5]) + (" ..." if len(lacking) > 5 else "")
        return (_("missing field '{name}' ({label}) in {count} record(s) of '{collection}': {keys}").format(
                    name=decl.name, label=decl.label, count=len(lacking), collection=collection, keys=shown),
                _("give every record its '{name}'").format(name=decl.name))

    def _evaluate_node(self, decl: Rule | Check, values: dict, result: Evaluation, trace: bool,
                       dead: set[int] | None = None) -> set[int] | None:
        """Compute ``decl``; for a per-record one, return the rows left without a value."""
        if decl.entity is not None:
            return self._evaluate_column(decl, values, result, trace, dead or set())
        record: list | None = [] if trace else None
        sides = None
        if isinstance(decl, Check):
            value, sides = self.checks[decl.id](values, None, record)
        else:
            value = self.formulas[decl.id](values, None, record)
        rounding_info = None
        if isinstance(decl, Rule) and decl.rounding is not None and isinstance(value, Decimal):
            rounding_info = Rounding(decl.rounding.places, decl.rounding.mode, value)
        if isinstance(decl, Rule):
            value = rule_value(value, decl.rounding, self.divides[decl.id])
        check = None
        if isinstance(decl, Check):
            check = CheckResult(decl.id, decl.label, bool(value), decl.severity, decl.message,
                                decl.citation, self.ruleset.reference(decl), sides, decl.side_type)
            result.checks.append(check)
        values[decl.id] = value
        if trace:
            result.trace.append(self._rule_node(decl, value, values, record, rounding_info, check))

    def sides_of(self, decl: Check, values: dict, row: int | None) -> tuple | None:
        """A comparison check's two sides (None for another condition), for the fixed-point
        back-end's failed records."""
        return self.checks[decl.id](values, row, None)[1]

    def _evaluate_column(self, decl: Rule | Check, values: dict, result: Evaluation, trace: bool,
                         dead: set[int]) -> set[int]:
        """A per-record rule or check: once per record, in record order. A record whose inputs
        failed (``dead``) or whose own formula fails has no value; its error names it; the
        rows without a value are returned (:mod:`.scheduler`, the rule both back-ends follow)."""
        formula = self.formulas[decl.id]
        collection = self._collection(decl)
        keys = values[collection].keys
        dead = set(dead)
        rounding = decl.rounding if isinstance(decl, Rule) else None
        column: list[Any] = []
        rows_trace: list[dict] = []
        failures: list[RecordCheck] = []
        checking = self.checks.get(decl.id)
        for row, key in enumerate(keys):
            if row in dead:
                column.append(None)
                continue
            record: list | None = [] if trace else None
            sides = None
            try:
                if checking is not None:
                    value, sides = checking(values, row, record)
                else:
                    value = formula(values, row, record)
            except (EvaluationError, *ARITHMETIC_ERRORS) as exc:
                error = exc if isinstance(exc, EvaluationError) else arithmetic_error(decl, exc)
                result.errors.append(record_error(error, key, collection))
                dead.add(row)
                column.append(None)
                continue
            before = value
            if isinstance(decl, Rule):
                value = rule_value(value, rounding, self.divides[decl.id])
            column.append(value)
            if isinstance(decl, Check) and not value:
                failures.append(RecordCheck(key, sides))
            if trace:
                rows_trace.append(self._row_trace(decl, key, value, before, sides, values, row, record))
        values[decl.id] = column
        check = None
        if isinstance(decl, Check):
            check = CheckResult(decl.id, decl.label, not failures, decl.severity, decl.message,
                                decl.citation, self.ruleset.reference(decl), None, decl.side_type,
                                records=failures, checked=len(keys))
            result.checks.append(check)
        if trace:
            node = self._rule_node(decl, None, values, [], None, check)
            node.display = _("{count} records").format(count=len(keys))
            node.records = rows_trace
            result.trace.append(node)
        return dead

    # --- trace nodes ----------------------------------------------------------------------------
    def _fact_node(self, decl: Input | Parameter, value: Any, supplied: bool, source: str | None,
                   as_of: date) -> TraceNode:
        kind = "fact" if supplied or isinstance(decl, Input) else "parameter"
        origin = (source or _("facts")) if supplied else None
        if not supplied and isinstance(decl, Parameter) and decl.dated:
            chosen = decl.value_on(as_of)
            origin = _("in force from {start} (as of {date})").format(start=chosen.start, date=as_of)
        elif not supplied and isinstance(decl, Parameter) and decl.open:
            origin = default_source(self.ruleset, decl)
        return self._node(decl, kind, value, decl.span, note=decl.note, source=origin)

    def _node(self, decl, kind: str, value: Any, span, **extra) -> TraceNode:
        return TraceNode(decl.id, kind, decl.label, decl.type, value, display(value, decl.type),
                         self.ruleset.reference(decl), span, entity=decl.entity, module=decl.module,
                         **extra)

    def _column_node(self, decl: Input, values: dict, source: str | None) -> TraceNode:
        keys = values[self._collection(decl)].keys
        column = values[decl.id]
        node = self._node(decl, "fact", None, decl.span, note=decl.note, source=source or _("facts"))
        node.display = _("{count} records").format(count=len(keys))
        node.records = [RecordRow(key, value, decl.type)
                        for key, value in zip(keys, column)]
        return node

    def _details(self, decl: Rule | Check, values: dict, row: int | None, record: list) -> tuple:
        """Look-ups, branches, aggregations and the substituted formula of one evaluation."""
        decls = self.ruleset.declarations
        lookups, branches, aggregates, splices = [], [], [], []
        for entry in record:
            if entry[0] == "lookup":
                _, node, key, found = entry
                table = decls[node.table]
                lookups.append(Lookup(table.id, table.label, key, found, table.type, self.ruleset.reference(table)))
                splices.append((node.start, node.end, _operand(found, table.type)))
            elif entry[0] == "aggregate":
                _, node, found, count = entry
                type_ = self._aggregate_type(node)
                aggregates.append(Aggregation(node.function, node.collection, node.field, count, found, type_,
                                              decl.formula[node.where.start:node.where.end]
                                              if node.where is not None else None))
                splices.append((node.start, node.end, _operand(found, type_)))
            else:
                _, node, taken = entry
                branches.append(Branch(decl.formula[node.condition.start:node.condition.end], taken,
                                       "then" if taken else "else"))
        for name, (access, type_) in zip(self.names[decl.id], self.accessors[decl.id]):
            try:
                splices.append((name.start, name.end, _operand(access(values, row, None), type_)))
            except (KeyError, IndexError, TypeError):
                continue  # not computed (a per-record value seen from the top level)
        return lookups, branches, aggregates, splice(decl.formula, splices)

    def _aggregate_type(self, node: ast.Aggregate) -> Type:
        spec = AGGREGATES[node.function]
        if spec.result is not None:
            return Type(spec.result)
        entity = self.ruleset.collections[node.collection]
        return self.ruleset.declarations[f"{entity.id}.{node.field}"].type

    def _rule_node(self, decl: Rule | Check, value: Any, values: dict, record: list,
                   rounding: Rounding | None, check: CheckResult | None) -> TraceNode:
        if decl.entity is not None:
            lookups, branches, aggregates, substituted = [], [], [], None
        else:
            lookups, branches, aggregates, substituted = self._details(decl, values, None, record)
        if rounding is not None and rounding.before == value:
            rounding = None
        check_info = None
        if check is not None:
            check_info = CheckOutcome(check.passed, check.severity, check.message)
            if check.sides is not None:
                check_info = CheckOutcome(check.passed, check.severity, check.message, tuple(check.sides),
                                          check.difference, check.side_type)
        return self._node(decl, decl.kind, value, decl.tree.span, formula=decl.formula,
                          substituted=substituted,
                          inputs=[d for d in self.graph.dependencies(decl.id) if d not in self.tables],
                          rounding=rounding, lookups=lookups, branches=branches,
                          aggregates=aggregates, note=decl.note, check=check_info)

    def _row_trace(self, decl: Rule | Check, key: Any, value: Any, before: Any, sides: tuple | None,
                   values: dict, row: int, record: list) -> RecordRow:
        return RecordRow(key, value, decl.type, before if before is not value and before != value else None,
                         sides if isinstance(decl, Check) and not value else None,
                         explain=lambda: self._details(decl, values, row, record)[3])


class _DecimalBackend:
    """The Decimal back-end of one evaluation, as :func:`.scheduler.walk` drives it."""

    def __init__(self, program: Program, facts: dict, values: dict, result: Evaluation, trace: bool,
                 source: str | None):
        self.program, self.facts, self.values, self.result = program, facts, values, result
        self.trace, self.source = trace, source
        self.dead: dict[str, set[int]] = {}  # per-record id -> rows without a value

    def has_records(self, decl) -> bool:
        return self.program._collection(decl) in self.values

    def fact(self, decl: Input | Parameter) -> None:
        self.program._fact(decl, self.facts, self.values, self.result, self.source)

    def node(self, decl: Rule | Check) -> None:
        dead = self._dead_inputs(decl) if self.dead else None
        rows = self.program._evaluate_node(decl, self.values, self.result, self.trace, dead)
        if rows:
            self.dead[decl.id] = rows

    def _dead_inputs(self, decl: Rule | Check) -> set[int]:
        """Rows of ``decl`` whose inputs failed (:func:`.scheduler.carried_rows`); a value over
        many records that needs a failed record raises :func:`.scheduler.needs_failed_records`."""
        dead: set[int] = set()
        if not self.dead:  # no record has failed: nothing to carry
            return dead
        ruleset = self.program.ruleset
        for dep in self.program.graph.dependencies(decl.id):
            rows = self.dead.get(dep)
            if not rows:
                continue
            dep_decl = ruleset.declarations[dep]
            found = carried_rows(ruleset, decl, dep_decl, sorted(rows),
                                 lambda collection: self.values[collection].parent_rows)
            if found is None:
                keys = self.values[self.program._collection(dep_decl)].keys
                raise needs_failed_records(ruleset, decl, dep, [keys[row] for row in sorted(rows)])
            dead.update(found)
        return dead


def _operand(value: Any, type_: Type) -> str:
    """A value spliced into a formula: negatives in brackets, so "a - b" reads "1.00 - (-2.00)"."""
    text = display(value, type_)
    return f"({text})" if text.startswith("-") else text


def splice(formula: str, splices: list[tuple[int, int, str]]) -> str:
    """The formula with each (start, end) range replaced; inner ranges yield to outer ones."""
    out, pos = [], 0
    for start, end, text in sorted(splices, key=lambda s: (s[0], -s[1])):
        if start < pos:
            continue
        out.append(formula[pos:start])
        out.append(text)
        pos = end
    out.append(formula[pos:])
    return " ".join("".join(out).split())
