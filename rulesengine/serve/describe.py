"""A ruleset as JSON for the API and the pages: its document, declarations, clauses and readings."""

from __future__ import annotations

from datetime import date
from typing import Any

from ..check.model import Check, Input, Parameter, Rule, Table
from ..commands.coverage import coverage, coverage_json
from ..core.datatypes import Type, display, to_json
from ..core.errors import flatten
from ..core.i18n import N_, _
from ..evaluate.evaluator import Program
from ..views.explanation import period_text
from ..views.report import error_json, type_name
from .catalog import Entry

UNITS = {"money": N_("yuan"), "rate": N_("ratio (0.05 or 5%)"), "date": N_("date (YYYY-MM-DD)")}


def unit(type_: Type) -> str | None:
    """The unit of a value of ``type_`` in the current language (None when it has none)."""
    return _(UNITS[type_.kind]) if type_.kind in UNITS else None


def _period(meta) -> dict:
    """The period in force (``from`` None when the document states none), and as people read it."""
    return {"from": None if meta.effective_from == date.min else meta.effective_from.isoformat(),
            "to": meta.effective_to.isoformat() if meta.effective_to else None,
            "shown": period_text(meta)}


def summary(entry: Entry) -> dict:
    """A line of the ruleset list: name, document, period, clause coverage (or its errors)."""
    if entry.program is None:
        return {"name": entry.name, "valid": False, "errors": [error_json(e) for e in flatten(entry.error)]}
    ruleset = entry.program.ruleset
    meta = ruleset.meta
    return {"name": entry.name, "valid": True, "id": meta.id, "title": meta.title,
            "document_number": meta.document_number, "issuer": list(meta.issuer),
            "effective": _period(meta), "clauses": coverage(ruleset).counts,
            "examples": {e.id: e.label for e in ruleset.examples.values()}}


def declaration(decl, ruleset) -> dict:
    """One declaration: label, type, unit, citation (with the document), and what it holds."""
    data: dict[str, Any] = {"id": decl.id, "kind": decl.kind, "label": decl.label,
                            "type": type_name(decl.type), "unit": unit(decl.type),
                            "citation": decl.citation, "reference": ruleset.reference(decl),
                            "note": decl.note, "entity": decl.entity, "module": decl.module}
    if decl.type.kind == "enum":
        data["choices"] = list(decl.type.values)
    if isinstance(decl, Parameter):
        data.update(open=decl.open, value=None if decl.open else to_json(decl.value, decl.type),
                    shown=None if decl.open else display(decl.value, decl.type))
        if decl.dated:
            data["dated"] = [{"from": d.start.isoformat(), "value": to_json(d.value, decl.type),
                              "citation": d.citation} for d in decl.dated]
    elif isinstance(decl, Input):
        data.update(min=to_json(decl.minimum, decl.type), max=to_json(decl.maximum, decl.type))
    elif isinstance(decl, Table):
        data["rows"] = [{"key": to_json(k, decl.key_type), "value": to_json(v, decl.type),
                         "shown": display(v, decl.type)} for k, v in decl.rows.items()]
    elif isinstance(decl, Rule):
        data["formula"] = decl.formula
        if decl.rounding:
            data["rounding"] = {"places": decl.rounding.places, "mode": decl.rounding.mode}
    elif isinstance(decl, Check):
        data.update(formula=decl.formula, severity=decl.severity, message=decl.message)
    return data


def describe(program: Program, name: str) -> dict:
    """Everything a ruleset declares, for ``GET /api/rulesets/{name}`` and the ruleset page."""
    ruleset = program.ruleset
    meta = ruleset.meta
    decls = ruleset.declarations.values()
    return {"name": name, "id": meta.id, "title": meta.title, "document_number": meta.document_number,
            "issuer": list(meta.issuer), "issued": meta.issued.isoformat() if meta.issued else None,
            "effective": _period(meta), "file": meta.file,
            "modules": [{"id": m.id, "title": m.title, "document_number": m.document_number}
                        for m in ruleset.modules.values()],
            "enums": {k: list(t.values) for k, t in ruleset.enums.items()},
            "collections": [{"id": e.id, "label": e.label, "collection": e.collection, "key": e.key,
                             "parent": e.parent, "citation": e.citation} for e in ruleset.entities.values()],
            "declarations": {kind: [declaration(d, ruleset) for d in decls if d.kind == kind]
                             for kind in ("parameter", "table", "input", "rule", "check")},
            "coverage": coverage_json(coverage(ruleset)),
            "readings": list(ruleset.document.value.get("readings", [])),
            "examples": {e.id: e.label for e in ruleset.examples.values()},
            "tests": len(ruleset.tests)}
