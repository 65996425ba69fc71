"""Evaluations and traces -> what people and systems read: tables, text trees, JSON.

JSON output is stable: sorted keys, decimals as strings (money with two places), no
timings, repository-relative paths; the same ruleset and facts give identical bytes.
"""

from __future__ import annotations

import json
from typing import Any

from ..core.datatypes import Type, display, to_json
from ..core.errors import render
from ..core.i18n import _, kind_name, severity_name
from ..core.source import text_width
from ..evaluate.evaluator import CheckResult, Evaluation, Program
from ..evaluate.trace import TRACE_FORMAT_VERSION, Aggregation, RecordRow, TraceNode
from .forest import Forest


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def type_name(type_: Type) -> str:
    if type_.kind == "enum":
        return f"enum:{type_.enum}" if type_.enum else "enum"
    return type_.kind


def _ruleset_json(program: Program) -> dict:
    meta = program.ruleset.meta
    return {"id": meta.id, "title": meta.title, "document_number": meta.document_number,
            "file": meta.file}


def check_json(check: CheckResult) -> dict:
    data = {"id": check.id, "label": check.label, "passed": check.passed,
            "severity": check.severity, "message": check.message, "reference": check.reference}
    type_ = check.side_type or Type("number")
    data.update(_sides_json(check.sides, check.difference, type_))
    if check.records is not None:
        data["checked"] = check.checked
        data["failed_records"] = [{"key": key_json(r.key), **_sides_json(r.sides, r.difference, type_)}
                                  for r in check.records]
    return data


def _sides_json(sides, difference, type_: Type) -> dict:
    if sides is None:
        return {}
    data = {"left": to_json(sides[0], type_), "right": to_json(sides[1], type_)}
    if difference is not None:
        data["difference"] = to_json(difference, type_)
    return data


def key_json(key: Any) -> Any:
    return key.isoformat() if hasattr(key, "isoformat") else key


def value_json(program: Program, evaluation: Evaluation, node: str) -> Any:
    """A value as JSON; a per-record value as ``{record key: value}``."""
    decl = program.ruleset.declarations[node]
    value = evaluation.values[node]
    if decl.entity is None:
        return to_json(value, decl.type)
    keys = evaluation.keys(node, program.ruleset)
    return {str(key_json(k)): to_json(v, decl.type) for k, v in zip(keys, value)}


def error_json(err) -> dict:
    data = {"code": err.code, "severity": err.severity, "message": err.message}
    if err.span:
        data["span"] = err.span.to_json()
    if err.hint:
        data["hint"] = err.hint
    return data


# --- run ---------------------------------------------------------------------------------------
def run_json(program: Program, evaluation: Evaluation) -> dict:
    values = {node: value_json(program, evaluation, node) for node in _shown(program, evaluation)}
    return {"ruleset": _ruleset_json(program), "as_of": evaluation.as_of.isoformat() if evaluation.as_of else None,
            "values": values,
            "checks": [check_json(c) for c in evaluation.checks],
            "errors": [error_json(e) for e in evaluation.errors],
            "warnings": [error_json(w) for w in evaluation.warnings],
            "skipped": dict(evaluation.skipped)}


def _shown(program: Program, evaluation: Evaluation) -> list[str]:
    decls = program.ruleset.declarations
    return [n for n in evaluation.targets if n in evaluation.values and decls[n].kind == "rule"]


def run_table(program: Program, evaluation: Evaluation) -> str:
    decls = program.ruleset.declarations
    shown = _shown(program, evaluation)
    rows = [(n, decls[n].label, display(evaluation.values[n], decls[n].type), decls[n].citation)
            for n in shown if decls[n].entity is None]
    lines = [f"{program.ruleset.meta.title}（{program.ruleset.meta.document_number}）", ""]
    if rows:
        width_id = max(len(r[0]) for r in rows)
        width_value = max(text_width(r[2]) for r in rows)
        for node, label, value, citation in rows:
            lines.append(f"{node:<{width_id}}  {' ' * (width_value - text_width(value))}{value}  "
                         f"{label}  [{citation}]")
    for entity in program.ruleset.entities.values():
        columns = [n for n in shown if decls[n].entity == entity.id]
        if columns:
            lines += [""] + _record_table(program, evaluation, entity, columns)
    lines += [f"{severity_name('warning')}[{w.code}]: {w.message}" for w in evaluation.warnings]
    lines += _check_lines(evaluation)
    for node, cause in evaluation.skipped.items():
        lines.append(_("{id}: not computed, because '{cause}' failed").format(id=node, cause=cause))
    return "\n".join(lines) + "\n"


def _record_table(program: Program, evaluation: Evaluation, entity, columns: list[str]) -> list[str]:
    """One line per record: its key, then each per-record result."""
    decls = program.ruleset.declarations
    keys = evaluation.values[entity.collection].keys
    header = [entity.key] + [decls[c].name for c in columns]
    body = [[str(key)] + [display(evaluation.values[c][row], decls[c].type) for c in columns]
            for row, key in enumerate(keys)]
    widths = [max(text_width(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = [f"{entity.label}（{entity.collection}）: " +
             "; ".join(f"{decls[c].name} = {decls[c].label} [{decls[c].citation}]" for c in columns)]
    for cells in [header] + body:
        padded = [c + " " * (w - text_width(c)) if i == 0 else " " * (w - text_width(c)) + c
                  for i, (c, w) in enumerate(zip(cells, widths))]
        lines.append("  ".join(padded).rstrip())
    return lines


def _check_lines(evaluation: Evaluation) -> list[str]:
    if not evaluation.checks:
        return []
    failed = evaluation.failed_checks
    lines = ["", _("checks: {passed} passed, {failed} failed").format(
        passed=len(evaluation.checks) - len(failed), failed=len(failed))]
    for check in failed:
        lines.append(f"  {severity_name(check.severity).upper()} {check.id} {check.label}: {check.message} "
                     f"[{check.reference}]")
        type_ = check.side_type or Type("number")
        if check.sides is not None:
            lines.append(f"      {_sides_text(check.sides, check.difference, type_)}")
        for failure in check.records or ():
            sides = f": {_sides_text(failure.sides, failure.difference, type_)}" if failure.sides else ""
            lines.append("      " + _("record {key}").format(key=failure.key) + sides)
    return lines


def _sides_text(sides, difference, type_: Type) -> str:
    left, right = (display(s, type_) for s in sides)
    extra = _("; difference {value}").format(value=display(difference, type_)) if difference is not None else ""
    return _("left {left}, right {right}").format(left=left, right=right) + extra


# --- traces ------------------------------------------------------------------------------------
def trace_json(program: Program, evaluation: Evaluation) -> dict:
    """The trace as a schema-valid (``schemas/trace.schema.json``) document."""
    return {"format": "rulesengine-trace", "format_version": TRACE_FORMAT_VERSION,
            "ruleset": _ruleset_json(program), "as_of": evaluation.as_of.isoformat() if evaluation.as_of else None,
            "modules": [{"id": m.id, "title": m.title, "document_number": m.document_number,
                         "file": m.file, "overridden": list(m.overridden)}
                        for m in program.ruleset.modules.values()],
            "targets": list(evaluation.targets),
            "nodes": [_node_json(node) for node in evaluation.trace],
            "checks": [check_json(c) for c in evaluation.checks],
            "errors": [error_json(e) for e in evaluation.errors],
            "warnings": [error_json(w) for w in evaluation.warnings]}


def _node_json(node: TraceNode) -> dict:
    type_ = node.type
    data = {"id": node.id, "kind": node.kind, "label": node.label, "type": type_name(type_),
            "value": to_json(node.value, type_), "display": node.display,
            "reference": node.reference, "inputs": list(node.inputs)}
    optional = {"span": node.span.to_json() if node.span else None, "formula": node.formula,
                "substituted": node.substituted, "note": node.note, "source": node.source,
                "entity": node.entity, "module": node.module}
    data.update({k: v for k, v in optional.items() if v is not None})
    if node.rounding:
        data["rounding"] = {"places": node.rounding.places, "mode": node.rounding.mode,
                            "before": to_json(node.rounding.before, Type("number"))}
    if node.lookups:
        data["lookups"] = [{"table": l.table, "label": l.label, "key": to_json(l.key, Type("number")),
                            "value": to_json(l.value, l.type), "reference": l.reference}
                           for l in node.lookups]
    if node.branches:
        data["branches"] = [{"condition": b.condition, "value": b.value, "taken": b.taken} for b in node.branches]
    if node.aggregates:
        data["aggregates"] = [_aggregate_json(a) for a in node.aggregates]
    if node.records is not None:
        side_type = (node.check.side_type if node.check else None) or Type("number")
        data["records"] = [_record_json(item, type_, side_type) for item in node.records]
    if node.check:
        check = {"passed": node.check.passed, "severity": node.check.severity, "message": node.check.message}
        if node.check.sides is not None:
            type_ = node.check.side_type or Type("number")
            check["left"], check["right"] = (to_json(s, type_) for s in node.check.sides)
            if node.check.difference is not None:
                check["difference"] = to_json(node.check.difference, type_)
        data["check"] = check
    return data


def _aggregate_json(a: Aggregation) -> dict:
    data = {"function": a.function, "collection": a.collection, "field": a.field, "records": a.records,
            "where": a.where}
    return {**{k: v for k, v in data.items() if v is not None}, "value": to_json(a.value, a.type)}


def _record_json(item: RecordRow, type_: Type, side_type: Type) -> dict:
    data = {"key": key_json(item.key), "value": to_json(item.value, type_),
            "display": item.display}
    if item.substituted is not None:
        data["substituted"] = item.substituted
    if item.before_rounding is not None:
        data["before_rounding"] = to_json(item.before_rounding, Type("number"))
    if item.sides is not None:
        data["left"], data["right"] = (to_json(s, side_type) for s in item.sides)
    return data


def trace_text(program: Program, evaluation: Evaluation) -> str:
    """A readable tree per target: each node, its formula, the values that went in."""
    nodes = {node.id: node for node in evaluation.trace}
    meta = program.ruleset.meta
    lines = [f"{meta.title}（{meta.document_number}）", _("ruleset: {file}").format(file=meta.file),
             _("as of: {date}").format(date=evaluation.as_of or
                                       _("no date (no clearing_year, no period in force)"))]
    for module in program.ruleset.modules.values():
        lines.append(_("includes: {module}").format(
            module=f"{module.id} {module.title}（{module.document_number}）"))
    lines += [render(w) for w in evaluation.warnings] + [""]
    forest = Forest(t for t in evaluation.targets if t in nodes)
    for target in forest:
        _tree(nodes, target, ("", ""), 0, forest, lines)
        lines.append("")
    failed = [c for c in evaluation.failed_checks if c.id not in evaluation.targets]
    if failed:
        lines += _check_lines(evaluation)[1:]
    for err in evaluation.errors:
        lines.append(render(err))
    return "\n".join(lines).rstrip() + "\n"


def _tree(nodes: dict[str, TraceNode], node_id: str, leads: tuple[str, str], depth: int,
          forest: Forest, lines: list[str]) -> None:
    node = nodes[node_id]
    lead, child_lead = leads
    money = " 元" if node.type.kind == "money" else ""
    # "3 records" takes no unit; each record's value does
    unit, record_unit = ("", money) if node.records is not None else (money, money)
    where = f"  [{node.span}]" if node.span else ""
    if node.kind in ("fact", "parameter"):
        origin = f"  ({node.source})" if node.source else ""
        lines.append(f"{lead}{node.id} {node.label} = {node.display}{unit}  {kind_name(node.kind)}{origin}  "
                     f"{node.reference}")
        for item in node.records or ():
            lines.append(f"{child_lead}    {item.key}: {item.display}{record_unit}")
        return
    status = ""
    if node.check:
        status = "  " + (_("✓ passed") if node.check.passed else _("✗ FAILED ({severity})").format(
            severity=severity_name(node.check.severity)))
    if node_id in forest.shown:
        lines.append(f"{lead}{node.id} {node.label} = {node.display}{unit}  " + _("(see above)"))
        return
    if forest.cut(node_id, depth, any(child in nodes for child in node.inputs)):
        lines.append(f"{lead}{node.id} {node.label} = {node.display}{unit}  " + _("(continued below)"))
        return
    forest.shown.add(node_id)
    lines.append(f"{lead}{node.id} {node.label} = {node.display}{unit}{status}  {node.reference}{where}")
    detail = child_lead + ("│   " if node.inputs else "    ")
    lines.append(detail + _("formula: {formula}").format(formula=" ".join(node.formula.split())))
    if node.substituted is not None:
        lines.append(detail + _("values:  {values}").format(values=node.substituted))
    for aggregate in node.aggregates:
        where = f" where {aggregate.where}" if aggregate.where else ""
        lines.append(detail + _("over:    {aggregate} = {value} ({count} records)").format(
            aggregate=f"{aggregate.function}({aggregate.collection}"
                      f"{'.' + aggregate.field if aggregate.field else ''}{where})",
            value=display(aggregate.value, aggregate.type), count=aggregate.records))
    for item in node.records or ():
        mark = "" if node.check is None else ("  ✓" if item.value else "  ✗")
        lines.append(f"{detail}{item.key}: {item.display}{record_unit}{mark}  = {item.substituted}")
    for lookup in node.lookups:
        lines.append(detail + _("lookup:  {lookup}").format(
            lookup=f"{lookup.label}[{lookup.key}] = {display(lookup.value, lookup.type)}  "
                   f"{lookup.reference}"))
    for branch in node.branches:
        lines.append(detail + _("branch:  {condition} is {value} -> {taken}").format(
            condition=branch.condition, value=str(branch.value).lower(), taken=branch.taken))
    if node.rounding:
        lines.append(detail + _("rounded: {before} -> {after} ({places} places, {mode})").format(
            before=display(node.rounding.before, Type("number")), after=node.display,
            places=node.rounding.places, mode=node.rounding.mode))
    if node.check and not node.check.passed:
        lines.append(detail + _("message: {message}").format(message=node.check.message))
    if node.note:
        lines.append(detail + _("note:    {note}").format(note=node.note))
    for i, child in enumerate(node.inputs):
        last = i == len(node.inputs) - 1
        if child in nodes:
            _tree(nodes, child, (child_lead + ("└─ " if last else "├─ "),
                                 child_lead + ("    " if last else "│   ")), depth + 1, forest, lines)
