"""Graph + typed facts -> values, check results and (optionally) a trace.

Only what the requested targets need is evaluated, in the graph's topological order.
Arithmetic is ``Decimal`` in a context that traps overflow and invalid operations; money
rules are rounded to the fen (ROUND_HALF_UP) unless the ruleset says otherwise. A node
that fails is reported with its location; nodes that do not depend on it still compute.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import ast
from .compiler import Compiled, as_decimal, compile_formula
from .datatypes import Type, display
from .errors import ArithmeticLimitError, EvaluationError, MissingFactError, RulesError
from .graph import RulesetGraph
from .model import ROUNDING_MODES, Check, Input, Parameter, Rule, Table
from .trace import TraceNode

_CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
                           traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])


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

    @property
    def difference(self) -> Any:
        if self.sides and all(isinstance(s, Decimal) for s in self.sides):
            return self.sides[0] - self.sides[1]
        return None


@dataclass
class Evaluation:
    targets: list[str]
    values: dict[str, Any]
    checks: list[CheckResult]
    errors: list[RulesError] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # id -> the failed node it needed
    trace: list[TraceNode] | None = None

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]


class Program:
    """A ruleset graph with every formula compiled once; evaluate it many times."""

    def __init__(self, graph: RulesetGraph):
        self.graph = graph
        self.ruleset = graph.ruleset
        decls = self.ruleset.declarations
        self.tables = tables = {d.id: d for d in decls.values() if isinstance(d, Table)}
        self.formulas: dict[str, Compiled] = {}
        self.sides: dict[str, tuple[Compiled, Compiled]] = {}
        self.names: dict[str, list[ast.Name]] = {}  # for splicing values into formulas
        for decl in decls.values():
            if isinstance(decl, (Rule, Check)):
                self.formulas[decl.id] = compile_formula(decl, tables)
                self.names[decl.id] = ast.references(decl.tree)
                if isinstance(decl, Check) and isinstance(decl.tree, ast.Compare):
                    self.sides[decl.id] = (compile_formula(decl, tables, decl.tree.left),
                                           compile_formula(decl, tables, decl.tree.right))

    def evaluate(self, facts: dict[str, Any], targets: list[str] | None = None, *,
                 trace: bool = False, fact_source: str | None = None) -> Evaluation:
        """Evaluate ``targets`` (default: every rule and check) over typed ``facts``.

        Nothing raises for a problem of the facts or formulas: missing facts and failing
        formulas are in ``Evaluation.errors``, the nodes that needed them in ``skipped``,
        and everything else is computed.
        """
        order, targets = self.graph.plan(targets)
        values: dict[str, Any] = {}
        result = Evaluation(targets, values, [], trace=[] if trace else None)
        decls = self.ruleset.declarations
        failed = self._missing(facts, order, targets, result)
        with decimal.localcontext(_CONTEXT):
            for node_id in order:
                decl = decls[node_id]
                if isinstance(decl, Table):
                    continue
                if node_id in failed:
                    continue
                if isinstance(decl, (Input, Parameter)):
                    values[node_id] = as_decimal(facts[node_id] if node_id in facts else decl.value)
                    if trace:
                        result.trace.append(self._fact_node(decl, values[node_id], node_id in facts,
                                                            fact_source))
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
                        f"arithmetic failed ({type(exc).__name__}): a value is too large or undefined",
                        span=decl.tree.span, context=f"{decl.kind} {decl.id} ({decl.citation})"))
        return result

    def _missing(self, facts: dict, order: list[str], targets: list[str], result: Evaluation) -> set[str]:
        """Report every missing fact (and the targets needing it); return their ids."""
        missing = set()
        for name in order:
            decl = self.ruleset.declarations[name]
            if name in facts or not (isinstance(decl, Input) or (isinstance(decl, Parameter) and decl.open)):
                continue
            missing.add(name)
            needing = [t for t in targets if name in self.graph.requirements([t])]
            shown = ", ".join(needing[:5]) + (" ..." if len(needing) > 5 else "")
            what = "open parameter" if isinstance(decl, Parameter) else "fact"
            result.errors.append(MissingFactError(
                f"missing {what} '{name}' ({decl.label}), needed by {shown}", span=decl.span,
                hint=f"add '{name}: ...' to the facts" + (f"; note: {decl.note}" if decl.note else "")))
        return missing

    def _evaluate_node(self, decl: Rule | Check, values: dict, result: Evaluation, trace: bool) -> None:
        record: list | None = [] if trace else None
        value = self.formulas[decl.id](values, record)
        rounding_info = None
        if isinstance(decl, Rule) and decl.rounding is not None and isinstance(value, Decimal):
            rounded = value.quantize(Decimal(1).scaleb(-decl.rounding.places),
                                     rounding=ROUNDING_MODES[decl.rounding.mode])
            rounding_info = {"places": decl.rounding.places, "mode": decl.rounding.mode,
                             "before": value}
            value = rounded.copy_abs() if rounded.is_zero() else rounded  # no "-0.00"
        if isinstance(decl, Check):
            sides = None
            if decl.id in self.sides:
                left, right = self.sides[decl.id]
                sides = (left(values, None), right(values, None))
            check = CheckResult(decl.id, decl.label, bool(value), decl.severity, decl.message,
                                decl.citation, self.ruleset.reference(decl), sides, decl.side_type)
            result.checks.append(check)
        values[decl.id] = value
        if trace:
            result.trace.append(self._rule_node(decl, value, values, record, rounding_info,
                                                check if isinstance(decl, Check) else None))

    # --- trace nodes ----------------------------------------------------------------------------
    def _fact_node(self, decl: Input | Parameter, value: Any, supplied: bool, source: str | None) -> TraceNode:
        kind = "fact" if supplied or isinstance(decl, Input) else "parameter"
        return TraceNode(decl.id, kind, decl.label, decl.type, value, display(value, decl.type),
                         self.ruleset.reference(decl), decl.span, note=decl.note,
                         source=(source or "facts") if supplied else None)

    def _rule_node(self, decl: Rule | Check, value: Any, values: dict, record: list,
                   rounding: dict | None, check: CheckResult | None) -> TraceNode:
        decls = self.ruleset.declarations
        lookups, branches, splices = [], [], []
        for entry in record:
            if entry[0] == "lookup":
                _, node, key, found = entry
                table = decls[node.table]
                lookups.append({"table": table.id, "label": table.label, "key": key,
                                "value": found, "type": table.type,
                                "reference": self.ruleset.reference(table)})
                splices.append((node.start, node.end, display(found, table.type)))
            else:
                _, node, taken = entry
                branches.append({"condition": decl.formula[node.condition.start:node.condition.end],
                                 "value": taken, "taken": "then" if taken else "else"})
        for name in self.names[decl.id]:
            target = decls[name.id]
            if name.id in values:
                splices.append((name.start, name.end, display(values[name.id], target.type)))
        if rounding is not None and rounding["before"] == value:
            rounding = None
        check_info = None
        if check is not None:
            check_info = {"passed": check.passed, "severity": check.severity, "message": check.message}
            if check.sides is not None:
                check_info["sides"] = list(check.sides)
                check_info["difference"] = check.difference
                check_info["side_type"] = check.side_type
        return TraceNode(decl.id, decl.kind, decl.label, decl.type, value, display(value, decl.type),
                         self.ruleset.reference(decl), decl.tree.span, formula=decl.formula,
                         substituted=splice(decl.formula, splices),
                         inputs=[d for d in self.graph.dependencies(decl.id) if d not in self.tables],
                         rounding=rounding,
                         lookups=lookups, branches=branches, note=decl.note, check=check_info)


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
