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
from typing import Any

from ..load import ast
from ..core.builtins import AGGREGATES
from .compiler import Compiled, as_decimal, compile_formula
from ..core.datatypes import Type, display
from ..core.errors import (ArithmeticLimitError, EvaluationError, InvalidDateError, MissingFactError,
                     NoValueInForceError, PeriodWarning, RulesError, RulesWarning, StaleParameterWarning)
from ..check.graph import RulesetGraph
from ..core.i18n import _, context_of
from ..check.model import CLEARING_YEAR, ROUNDING_MODES, Check, Input, Parameter, Rounding, Rule, Table
from .trace import TraceNode

_CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
                           traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])


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
        self.formulas: dict[str, Compiled] = {}
        self.sides: dict[str, tuple[Compiled, Compiled]] = {}
        self.names: dict[str, list[ast.Name]] = {}  # for splicing values into formulas
        self.accessors: dict[str, list[tuple[Compiled, Type]]] = {}  # the value of each name
        for decl in decls.values():
            if isinstance(decl, (Rule, Check)):
                self.formulas[decl.id] = compile_formula(decl, ruleset)
                self.names[decl.id] = ast.references(decl.tree)
                self.accessors[decl.id] = [
                    (compile_formula(decl, ruleset, name), ruleset.resolve(name.id, decl.entity).type)
                    for name in self.names[decl.id]]
                if isinstance(decl, Check) and isinstance(decl.tree, ast.Compare):
                    self.sides[decl.id] = (compile_formula(decl, ruleset, decl.tree.left),
                                           compile_formula(decl, ruleset, decl.tree.right))

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
        result = Evaluation(targets, values, [], trace=[] if trace else None)
        result.as_of = self._as_of(facts, as_of, result)
        decls = self.ruleset.declarations
        failed = self._missing(facts, order, targets, result)
        with decimal.localcontext(_CONTEXT):
            for node_id in order:
                decl = decls[node_id]
                if isinstance(decl, Table) or node_id in failed:
                    continue
                if isinstance(decl, (Input, Parameter)):
                    try:
                        self._fact(decl, facts, values, result, fact_source)
                    except EvaluationError as err:
                        failed.add(node_id)
                        result.errors.append(err)
                    continue
                if decl.entity is not None and self._collection(decl) not in values:
                    result.skipped[node_id] = self._collection(decl)
                    continue
                blocked = failed and next((d for d in self.graph.dependencies(node_id)
                                           if d in failed or d in result.skipped), None)
                if blocked:
                    result.skipped[node_id] = result.skipped.get(blocked, blocked)
                    continue
                try:
                    self._evaluate_node(decl, values, result, trace)
                except EvaluationError as err:
                    failed.add(node_id)
                    result.errors.append(err)
                except (decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero) as exc:
                    failed.add(node_id)
                    result.errors.append(ArithmeticLimitError(
                        _("arithmetic failed ({error}): a value is too large or undefined").format(
                            error=type(exc).__name__),
                        span=decl.tree.span, context=context_of(decl),
                        hint=_("a value is beyond 10^999999; check the facts' magnitude")
                        if isinstance(exc, decimal.Overflow) else
                        _("a result is undefined or too long to keep exact; check the facts' magnitude")))
        return result

    # --- as-of date and validity ------------------------------------------------------------
    def _as_of(self, facts: dict, given: date | None, result: Evaluation) -> date | None:
        meta = self.ruleset.meta
        year = facts.get(CLEARING_YEAR)
        if given is None and isinstance(year, int):
            if 1 <= year <= 9999:
                given = date(year, 12, 31)
            else:
                decl = self.ruleset.declarations.get(CLEARING_YEAR)
                result.errors.append(InvalidDateError(
                    _("clearing_year {year} is not a calendar year").format(year=year),
                    span=decl.span if decl else None,
                    hint=_("a clearing year runs from 1 to 9999, e.g. 2024")))
        if given is None and meta.effective_from == date.min:
            return None  # neither a clearing year nor a period in force: no date to judge by
        day = given or meta.effective_from
        if day < meta.effective_from or (meta.effective_to is not None and day > meta.effective_to):
            period = _("{start} to {end}").format(start=meta.effective_from,
                                                  end=meta.effective_to or _("open end"))
            result.warnings.append(PeriodWarning(
                _("evaluating as of {date}, outside the period in force of {id} ({period})").format(
                    date=day, id=meta.id, period=period),
                hint=_("the policy may have expired or been replaced; check which document applies")))
        return day

    def _fact(self, decl: Input | Parameter, facts: dict, values: dict, result: Evaluation,
              source: str | None) -> None:
        node_id = decl.id
        if decl.entity is not None:
            column = values[self._collection(decl)].columns[decl.name]
            values[node_id] = [as_decimal(v) for v in column]
            if result.trace is not None:
                result.trace.append(self._column_node(decl, values, source))
            return
        supplied = node_id in facts
        if supplied:
            value = facts[node_id]
        elif isinstance(decl, Parameter) and decl.dated:
            value = self._dated(decl, result)
        else:
            value = decl.value
        values[node_id] = as_decimal(value)
        if result.trace is not None:
            result.trace.append(self._fact_node(decl, values[node_id], supplied, source, result.as_of))

    def _dated(self, decl: Parameter, result: Evaluation) -> Any:
        day = result.as_of
        if day is None:
            raise NoValueInForceError(
                _("parameter '{id}' ({label}) has dated values, but there is no as-of date").format(
                    id=decl.id, label=decl.label),
                span=decl.span, hint=_("give the fact clearing_year, or --as-of YYYY-MM-DD"))
        chosen = decl.value_on(day)
        if chosen is None:
            raise NoValueInForceError(
                _("parameter '{id}' ({label}) has no value in force on {date}: its first value is "
                  "from {first}").format(id=decl.id, label=decl.label, date=day, first=decl.dated[0].start),
                span=decl.span, hint=_("add a dated value, or evaluate as of a later date (--as-of)"))
        latest = decl.dated[-1]
        if latest.start.year < day.year:
            result.warnings.append(StaleParameterWarning(
                _("parameter '{id}' ({label}): its latest value is from {latest}, older than the "
                  "as-of year {year}").format(id=decl.id, label=decl.label, latest=latest.start, year=day.year),
                span=decl.span,
                hint=_("check whether the document or a later notice sets a value for this year")))
        return chosen.value

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
            elif name in facts or not decl.is_fact:
                continue
            else:
                message = (_("missing open parameter '{id}' ({label})") if isinstance(decl, Parameter)
                           else _("missing fact '{id}' ({label})")).format(id=name, label=decl.label)
                hint = _("add '{id}: ...' to the facts").format(id=name) + \
                    (_("; note: {note}").format(note=decl.note) if decl.note else "")
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

    def _evaluate_node(self, decl: Rule | Check, values: dict, result: Evaluation, trace: bool) -> None:
        if decl.entity is not None:
            self._evaluate_column(decl, values, result, trace)
            return
        record: list | None = [] if trace else None
        value = self.formulas[decl.id](values, None, record)
        rounding_info = None
        if isinstance(decl, Rule) and decl.rounding is not None and isinstance(value, Decimal):
            rounded = _round(value, decl.rounding)
            rounding_info = {"places": decl.rounding.places, "mode": decl.rounding.mode,
                             "before": value}
            value = rounded
        check = None
        if isinstance(decl, Check):
            sides = self._sides(decl, values, None)
            check = CheckResult(decl.id, decl.label, bool(value), decl.severity, decl.message,
                                decl.citation, self.ruleset.reference(decl), sides, decl.side_type)
            result.checks.append(check)
        values[decl.id] = value
        if trace:
            result.trace.append(self._rule_node(decl, value, values, record, rounding_info, check))

    def _sides(self, decl: Check, values: dict, row: int | None) -> tuple | None:
        if decl.id not in self.sides:
            return None
        left, right = self.sides[decl.id]
        return left(values, row, None), right(values, row, None)

    def _evaluate_column(self, decl: Rule | Check, values: dict, result: Evaluation, trace: bool) -> None:
        """A per-record rule or check: once per record, in record order."""
        formula = self.formulas[decl.id]
        keys = values[self._collection(decl)].keys
        rounding = decl.rounding if isinstance(decl, Rule) else None
        column: list[Any] = []
        rows_trace: list[dict] = []
        failures: list[RecordCheck] = []
        for row, key in enumerate(keys):
            record: list | None = [] if trace else None
            value = formula(values, row, record)
            before = value
            if rounding is not None and isinstance(value, Decimal):
                value = _round(value, rounding)
            column.append(value)
            if isinstance(decl, Check) and not value:
                failures.append(RecordCheck(key, self._sides(decl, values, row)))
            if trace:
                rows_trace.append(self._row_trace(decl, key, value, before, values, row, record))
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

    # --- trace nodes ----------------------------------------------------------------------------
    def _fact_node(self, decl: Input | Parameter, value: Any, supplied: bool, source: str | None,
                   as_of: date) -> TraceNode:
        kind = "fact" if supplied or isinstance(decl, Input) else "parameter"
        origin = (source or _("facts")) if supplied else None
        if not supplied and isinstance(decl, Parameter) and decl.dated:
            chosen = decl.value_on(as_of)
            origin = _("in force from {start} (as of {date})").format(start=chosen.start, date=as_of)
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
        node.records = [{"key": key, "value": value, "display": display(value, decl.type)}
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
                lookups.append({"table": table.id, "label": table.label, "key": key,
                                "value": found, "type": table.type,
                                "reference": self.ruleset.reference(table)})
                splices.append((node.start, node.end, _operand(found, table.type)))
            elif entry[0] == "aggregate":
                _, node, found, count = entry
                type_ = self._aggregate_type(node)
                aggregates.append({"function": node.function, "collection": node.collection,
                                   "field": node.field, "records": count, "value": found, "type": type_,
                                   "where": decl.formula[node.where.start:node.where.end]
                                   if node.where is not None else None})
                splices.append((node.start, node.end, _operand(found, type_)))
            else:
                _, node, taken = entry
                branches.append({"condition": decl.formula[node.condition.start:node.condition.end],
                                 "value": taken, "taken": "then" if taken else "else"})
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
                   rounding: dict | None, check: CheckResult | None) -> TraceNode:
        if decl.entity is not None:
            lookups, branches, aggregates, substituted = [], [], [], None
        else:
            lookups, branches, aggregates, substituted = self._details(decl, values, None, record)
        if rounding is not None and rounding["before"] == value:
            rounding = None
        check_info = None
        if check is not None:
            check_info = {"passed": check.passed, "severity": check.severity, "message": check.message}
            if check.sides is not None:
                check_info["sides"] = list(check.sides)
                check_info["difference"] = check.difference
                check_info["side_type"] = check.side_type
        return self._node(decl, decl.kind, value, decl.tree.span, formula=decl.formula,
                          substituted=substituted,
                          inputs=[d for d in self.graph.dependencies(decl.id) if d not in self.tables],
                          rounding=rounding, lookups=lookups, branches=branches,
                          aggregates=aggregates, note=decl.note, check=check_info)

    def _row_trace(self, decl: Rule | Check, key: Any, value: Any, before: Any, values: dict,
                   row: int, record: list) -> dict:
        lookups, branches, aggregates, substituted = self._details(decl, values, row, record)
        item = {"key": key, "value": value, "display": display(value, decl.type),
                "substituted": substituted}
        if before is not value and before != value:
            item["before_rounding"] = before
        if isinstance(decl, Check) and not value:
            sides = self._sides(decl, values, row)
            if sides is not None:
                item["sides"] = sides
        return item


def _operand(value: Any, type_: Type) -> str:
    """A value spliced into a formula: negatives in brackets, so "a - b" reads "1.00 - (-2.00)"."""
    text = display(value, type_)
    return f"({text})" if text.startswith("-") else text


_SETTLE = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)


def _round(value: Decimal, rounding: Rounding) -> Decimal:
    """Round as the ruleset says, after settling the last digits a 34-digit division leaves:
    150000 / 450000 * 300000 is 99999.999…9 (34 digits), which must round down to 100000.00."""
    value = _SETTLE.plus(value)
    rounded = value.quantize(Decimal(1).scaleb(-rounding.places), rounding=ROUNDING_MODES[rounding.mode])
    return rounded.copy_abs() if rounded.is_zero() else rounded  # no "-0.00"


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
