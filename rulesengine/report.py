"""Evaluations and traces -> what people and systems read: tables, text trees, JSON.

JSON output is stable: sorted keys, decimals as strings (money with two places), no
timings, repository-relative paths; the same ruleset and facts give identical bytes.
"""

from __future__ import annotations

import json
from typing import Any

from .datatypes import Type, display, to_json
from .errors import render
from .evaluator import CheckResult, Evaluation, Program
from .trace import TRACE_FORMAT_VERSION, TraceNode


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
    if check.sides is not None:
        type_ = check.side_type or Type("number")
        data["left"] = to_json(check.sides[0], type_)
        data["right"] = to_json(check.sides[1], type_)
        if check.difference is not None:
            data["difference"] = to_json(check.difference, type_)
    return data


def error_json(err) -> dict:
    data = {"code": err.code, "severity": err.severity, "message": err.message}
    if err.span:
        data["span"] = err.span.to_json()
    if err.hint:
        data["hint"] = err.hint
    return data


# --- run ---------------------------------------------------------------------------------------
def run_json(program: Program, evaluation: Evaluation) -> dict:
    decls = program.ruleset.declarations
    values = {node: to_json(evaluation.values[node], decls[node].type)
              for node in _shown(program, evaluation)}
    return {"ruleset": _ruleset_json(program), "values": values,
            "checks": [check_json(c) for c in evaluation.checks],
            "errors": [error_json(e) for e in evaluation.errors],
            "skipped": dict(evaluation.skipped)}


def _shown(program: Program, evaluation: Evaluation) -> list[str]:
    decls = program.ruleset.declarations
    return [n for n in evaluation.targets if n in evaluation.values and decls[n].kind == "rule"]


def run_table(program: Program, evaluation: Evaluation) -> str:
    decls = program.ruleset.declarations
    rows = [(n, decls[n].label, display(evaluation.values[n], decls[n].type),
             decls[n].citation) for n in _shown(program, evaluation)]
    lines = [f"{program.ruleset.meta.title}（{program.ruleset.meta.document_number}）", ""]
    if rows:
        width_id = max(len(r[0]) for r in rows)
        width_value = max(len(r[2]) for r in rows)
        for node, label, value, citation in rows:
            lines.append(f"{node:<{width_id}}  {value:>{width_value}}  {label}  [{citation}]")
    lines += _check_lines(evaluation)
    for node, cause in evaluation.skipped.items():
        lines.append(f"{node}: not computed, because '{cause}' failed")
    return "\n".join(lines) + "\n"


def _check_lines(evaluation: Evaluation) -> list[str]:
    if not evaluation.checks:
        return []
    failed = evaluation.failed_checks
    lines = ["", f"checks: {len(evaluation.checks) - len(failed)} passed, {len(failed)} failed"]
    for check in failed:
        lines.append(f"  {check.severity.upper()} {check.id} {check.label}: {check.message} "
                     f"[{check.reference}]")
        if check.sides is not None:
            type_ = check.side_type or Type("number")
            left, right = (display(s, type_) for s in check.sides)
            extra = f"; difference {display(check.difference, type_)}" if check.difference is not None else ""
            lines.append(f"      left {left}, right {right}{extra}")
    return lines


# --- traces ------------------------------------------------------------------------------------
def trace_json(program: Program, evaluation: Evaluation) -> dict:
    """The trace as a schema-valid (``schemas/trace.schema.json``) document."""
    return {"format": "rulesengine-trace", "format_version": TRACE_FORMAT_VERSION,
            "ruleset": _ruleset_json(program), "targets": list(evaluation.targets),
            "nodes": [_node_json(node) for node in evaluation.trace],
            "checks": [check_json(c) for c in evaluation.checks],
            "errors": [error_json(e) for e in evaluation.errors]}


def _node_json(node: TraceNode) -> dict:
    type_ = node.type
    data = {"id": node.id, "kind": node.kind, "label": node.label, "type": type_name(type_),
            "value": to_json(node.value, type_), "display": node.display,
            "reference": node.reference, "inputs": list(node.inputs)}
    optional = {"span": node.span.to_json() if node.span else None, "formula": node.formula,
                "substituted": node.substituted, "note": node.note, "source": node.source}
    data.update({k: v for k, v in optional.items() if v is not None})
    if node.rounding:
        data["rounding"] = {"places": node.rounding["places"], "mode": node.rounding["mode"],
                            "before": to_json(node.rounding["before"], Type("number"))}
    if node.lookups:
        data["lookups"] = [{"table": l["table"], "label": l["label"], "key": to_json(l["key"], Type("number")),
                            "value": to_json(l["value"], l["type"]), "reference": l["reference"]}
                           for l in node.lookups]
    if node.branches:
        data["branches"] = node.branches
    if node.check:
        check = {k: v for k, v in node.check.items() if k not in ("sides", "difference", "side_type")}
        if "sides" in node.check:
            type_ = node.check["side_type"] or Type("number")
            check["left"], check["right"] = (to_json(s, type_) for s in node.check["sides"])
            if node.check["difference"] is not None:
                check["difference"] = to_json(node.check["difference"], type_)
        data["check"] = check
    return data


def trace_text(program: Program, evaluation: Evaluation) -> str:
    """A readable tree per target: each node, its formula, the values that went in."""
    nodes = {node.id: node for node in evaluation.trace}
    meta = program.ruleset.meta
    lines = [f"{meta.title}（{meta.document_number}）", f"ruleset: {meta.file}", ""]
    shown: set[str] = set()
    for target in evaluation.targets:
        if target in nodes:
            _tree(nodes, target, "", "", shown, lines)
            lines.append("")
    failed = [c for c in evaluation.failed_checks if c.id not in evaluation.targets]
    if failed:
        lines += _check_lines(evaluation)[1:]
    for err in evaluation.errors:
        lines.append(render(err))
    return "\n".join(lines).rstrip() + "\n"


def _tree(nodes: dict[str, TraceNode], node_id: str, lead: str, child_lead: str,
          shown: set[str], lines: list[str]) -> None:
    node = nodes[node_id]
    unit = " 元" if node.type.kind == "money" else ""
    where = f"  [{node.span}]" if node.span else ""
    if node.kind in ("fact", "parameter"):
        origin = f"  ({node.source})" if node.source else ""
        lines.append(f"{lead}{node.id} {node.label} = {node.display}{unit}  {node.kind}{origin}  "
                     f"{node.reference}")
        return
    status = ""
    if node.check:
        status = "  ✓ passed" if node.check["passed"] else f"  ✗ FAILED ({node.check['severity']})"
    if node_id in shown:
        lines.append(f"{lead}{node.id} {node.label} = {node.display}{unit}  (see above)")
        return
    shown.add(node_id)
    lines.append(f"{lead}{node.id} {node.label} = {node.display}{unit}{status}  {node.reference}{where}")
    detail = child_lead + ("│   " if node.inputs else "    ")
    lines.append(f"{detail}formula: {' '.join(node.formula.split())}")
    lines.append(f"{detail}values:  {node.substituted}")
    for lookup in node.lookups:
        lines.append(f"{detail}lookup:  {lookup['label']}[{lookup['key']}] = "
                     f"{display(lookup['value'], lookup['type'])}  {lookup['reference']}")
    for branch in node.branches:
        lines.append(f"{detail}branch:  {branch['condition']} is {str(branch['value']).lower()} "
                     f"-> {branch['taken']}")
    if node.rounding:
        lines.append(f"{detail}rounded: {display(node.rounding['before'], Type('number'))} -> "
                     f"{node.display} ({node.rounding['places']} places, {node.rounding['mode']})")
    if node.check and not node.check["passed"]:
        lines.append(f"{detail}message: {node.check['message']}")
    if node.note:
        lines.append(f"{detail}note:    {node.note}")
    for i, child in enumerate(node.inputs):
        last = i == len(node.inputs) - 1
        if child in nodes:
            _tree(nodes, child, child_lead + ("└─ " if last else "├─ "),
                  child_lead + ("    " if last else "│   "), shown, lines)
