"""Several rulesets, one facts file -> results side by side, per glossary concept, with checks.

Each ruleset takes the facts it declares and ignores the rest. A facts file may hold a section
per ruleset id (``sanya_medical_group_2024: {prepaid_total: ...}``) beside the shared facts; a
ruleset sees the shared facts with its own section on top, and never another ruleset's section.
A concept (a glossary id, or a declaration's ``concept:``) shows its value in every ruleset that
has it — a per-record concept (a rule of a collection) as its total over the records, and per
record on request — or which facts that ruleset is missing to compute it. Every check of every
ruleset is evaluated; the exit status is 1 when one fails with error severity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..check.model import Declaration, FactSet
from ..core.datatypes import display, to_json
from ..core.errors import RulesError, flatten, render
from ..core.glossary import GLOSSARY
from ..core.i18n import _, severity_name
from ..core.source import text_width
from ..evaluate.evaluator import CheckResult, Evaluation, Program
from ..evaluate.facts import bind_facts
from ..views.report import check_json, key_json

SUMMABLE = ("money", "integer")  # a sum of coefficients or rates would mean nothing


@dataclass
class Column:
    """One ruleset's side of the comparison."""

    program: Program
    concepts: dict[str, Declaration]  # glossary id -> this ruleset's declaration
    ignored: list[str] = field(default_factory=list)  # facts this ruleset does not declare
    missing: dict[str, list[str]] = field(default_factory=dict)  # concept -> facts it lacks
    errors: list[RulesError] = field(default_factory=list)
    bad_facts: bool = False  # the facts did not bind: a located error in ``errors``
    section: bool = False  # the facts file has a section for this ruleset
    evaluation: Evaluation | None = None

    @property
    def id(self) -> str:
        return self.program.ruleset.meta.id

    def scope(self, concept: str) -> str:
        """'' for a ruleset-wide value, else the collection the value is per record of."""
        decl = self.concepts[concept]
        return "" if decl.entity is None else self.program.ruleset.entities[decl.entity].collection


def concepts_of(program: Program) -> dict[str, Declaration]:
    """The glossary concepts a ruleset has: by id (or a record rule's own name), or by ``concept:``.

    A ruleset-wide declaration wins over a per-record one of the same concept."""
    found: dict[str, Declaration] = {}
    decls = [d for d in program.ruleset.declarations.values() if d.kind in ("input", "parameter", "rule")]
    for decl in sorted(decls, key=lambda d: d.entity is not None):
        name = decl.id.rsplit(".", 1)[-1]
        concept = decl.concept or (name if name in GLOSSARY else None)
        if concept is not None and concept not in found:
            found[concept] = decl
    return found


def facts_for(facts: FactSet, ruleset_id: str, all_ids: set[str]) -> tuple[FactSet, bool]:
    """The shared facts with this ruleset's section on top; other rulesets' sections left out."""
    shared = {k: v for k, v in facts.values.items() if k not in all_ids}
    section = facts.values.get(ruleset_id)
    if not isinstance(section, dict):
        return FactSet(shared, facts.span_of, facts.key_span_of), False
    merged = {**shared, **section}

    def where(path: tuple) -> tuple:
        return (ruleset_id,) + path if path and path[0] in section else path

    return FactSet(merged, lambda p: facts.span_of(where(p)), lambda p: facts.key_span_of(where(p))), True


def compare(programs: list[Program], facts: FactSet) -> list[Column]:
    all_ids = {p.ruleset.meta.id for p in programs}
    return [_column(program, *facts_for(facts, program.ruleset.meta.id, all_ids)) for program in programs]


def _column(program: Program, facts: FactSet, section: bool) -> Column:
    column = Column(program, concepts_of(program), section=section)
    ruleset = program.ruleset
    accepted = set(ruleset.fact_names())
    column.ignored = sorted(k for k in facts.values if k not in accepted)
    try:
        bound = bind_facts(ruleset, FactSet({k: v for k, v in facts.values.items() if k in accepted},
                                            facts.span_of, facts.key_span_of))
    except RulesError as err:
        column.errors, column.bad_facts = flatten(err), True
        return column
    checks = [d.id for d in ruleset.declarations.values() if d.kind == "check"]
    column.evaluation = program.evaluate(bound, [d.id for d in column.concepts.values()] + checks)
    for concept, decl in column.concepts.items():
        if decl.id not in column.evaluation.values:
            column.missing[concept] = _missing_facts(program, decl.id, bound)
    column.errors = [e for e in column.evaluation.errors if e.code != "missing-fact"]
    return column


def _missing_facts(program: Program, target: str, bound: dict) -> list[str]:
    decls = program.ruleset.declarations
    needed = program.graph.requirements([target])
    return sorted(n for n in needed if n not in bound and decls[n].entity is None and decls[n].required)


def compare_status(columns: list[Column]) -> int:
    """2 facts that do not bind; 1 an error-severity check failed or a rule failed; else 0."""
    if any(c.bad_facts for c in columns):
        return 2
    failed = any(c.severity == "error" for col in columns for c in _failed(col)) or \
        any(col.errors for col in columns)
    return 1 if failed else 0


def _failed(column: Column) -> list[CheckResult]:
    return column.evaluation.failed_checks if column.evaluation is not None else []


def _not_evaluated(column: Column) -> list[str]:
    """Checks that could not be evaluated (a fact they need is missing)."""
    if column.evaluation is None:
        return []
    done = {c.id for c in column.evaluation.checks}
    return [d.id for d in column.program.ruleset.declarations.values() if d.kind == "check" and d.id not in done]


def _rows(columns: list[Column]) -> list[str]:
    present = {c for column in columns for c in column.concepts}
    return [c for c in GLOSSARY if c in present] + sorted(present - set(GLOSSARY))


def _cell(column: Column, concept: str) -> tuple[str, Any]:
    """(status, value) of one concept in one ruleset; a per-record value as (keys, values)."""
    decl = column.concepts.get(concept)
    if decl is None:
        return "absent", None
    if column.evaluation is None or decl.id not in column.evaluation.values:
        return "missing", None
    value = column.evaluation.values[decl.id]
    if decl.entity is None:
        return "computed", value
    return "records", (column.evaluation.keys(decl.id, column.program.ruleset), list(value))


def _total(decl: Declaration, values: list) -> Decimal | None:
    if decl.type.kind not in SUMMABLE or any(v is None for v in values):
        return None
    return sum(values, Decimal(0) if decl.type.kind != "integer" else 0)


def compare_json(columns: list[Column], per_record: bool = False) -> dict:
    concepts = []
    for concept in _rows(columns):
        entry = {"id": concept, "label": GLOSSARY.get(concept, ""), "rulesets": {}}
        for column in columns:
            entry["rulesets"][column.id] = _item_json(column, concept, per_record)
        concepts.append(entry)
    return {"rulesets": [_ruleset_json(c) for c in columns], "concepts": concepts,
            "status": compare_status(columns)}


def _item_json(column: Column, concept: str, per_record: bool) -> dict:
    status, value = _cell(column, concept)
    item: dict[str, Any] = {"status": "computed" if status == "records" else status}
    if status == "absent":
        return item
    decl = column.concepts[concept]
    item.update(id=decl.id, label=decl.label, reference=column.program.ruleset.reference(decl))
    if column.scope(concept):
        item["per_record"] = column.scope(concept)
    if status == "computed":
        item["value"] = to_json(value, decl.type)
    elif status == "records":
        keys, values = value
        item["records"] = len(values)
        total = _total(decl, values)
        if total is not None:
            item["total"] = to_json(total, decl.type)
        if per_record:
            item["values"] = {str(key_json(k)): to_json(v, decl.type) for k, v in zip(keys, values)}
    else:
        item["missing_facts"] = column.missing.get(concept, [])
    return item


def _ruleset_json(column: Column) -> dict:
    meta = column.program.ruleset.meta
    checks = column.evaluation.checks if column.evaluation is not None else []
    return {"id": meta.id, "title": meta.title, "file": meta.file, "facts_section": column.section,
            "ignored_facts": column.ignored, "errors": [render(e) for e in column.errors],
            "checks": [check_json(c) for c in checks], "checks_not_evaluated": _not_evaluated(column)}


def compare_table(columns: list[Column], per_record: bool = False) -> str:
    header = [_("concept"), "中文"] + [c.id for c in columns]
    body = []
    for concept in _rows(columns):
        body.append([concept, GLOSSARY.get(concept, "")] + [_text_cell(c, concept) for c in columns])
        if per_record:
            body += _record_rows(columns, concept)
    widths = [max(text_width(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, w, i) for i, (cell, w) in enumerate(zip(r, widths))).rstrip()
             for r in [header] + body]
    lines += ["", _("Σ: total over the records of a per-record concept; labels and scope:")]
    lines += _legend(columns)
    for column in columns:
        lines += [""] + _column_footer(column)
    return "\n".join(lines) + "\n"


def _text_cell(column: Column, concept: str) -> str:
    status, value = _cell(column, concept)
    if status == "computed":
        return display(value, column.concepts[concept].type)
    if status == "records":
        decl = column.concepts[concept]
        total = _total(decl, value[1])
        return "Σ" + display(total, decl.type) if total is not None else \
            _("{count} records").format(count=len(value[1]))
    if status == "missing":
        lacking = column.missing.get(concept, [])
        return _("missing {facts}").format(facts=",".join(lacking[:3]) + ("…" if len(lacking) > 3 else ""))
    return "—"


def _record_rows(columns: list[Column], concept: str) -> list[list[str]]:
    """One row per record key of the per-record columns of this concept."""
    by_key: dict[str, dict[str, str]] = {}
    for column in columns:
        status, value = _cell(column, concept)
        if status == "records":
            for key, item in zip(*value):
                by_key.setdefault(str(key_json(key)), {})[column.id] = display(item, column.concepts[concept].type)
    return [["  " + key, ""] + [cells.get(c.id, "") for c in columns] for key, cells in by_key.items()]


def _legend(columns: list[Column]) -> list[str]:
    lines = []
    for concept in _rows(columns):
        parts = []
        for column in columns:
            if concept in column.concepts:
                scope = column.scope(concept)
                where = _(" (per record of {collection})").format(collection=scope) if scope else ""
                parts.append(f"{column.id}: {column.concepts[concept].label}{where}")
        lines.append(f"  {concept}: " + " | ".join(parts))
    return lines


def _column_footer(column: Column) -> list[str]:
    shown = ", ".join(column.ignored[:5]) + (", …" if len(column.ignored) > 5 else "")
    head = _("{id}: {concepts} concepts; {count} facts it does not declare were ignored").format(
        id=column.id, concepts=len(column.concepts), count=len(column.ignored))
    lines = [head + (_(": {facts}").format(facts=shown) if shown else "")]
    if column.section:
        lines.append("  " + _("with its own section of the facts file"))
    if column.evaluation is not None:
        checks, failed = column.evaluation.checks, _failed(column)
        lines.append("  " + _("checks: {passed} passed, {failed} failed, {skipped} not evaluated").format(
            passed=len(checks) - len(failed), failed=len(failed), skipped=len(_not_evaluated(column))))
        for check in failed:
            records = "" if check.records is None else \
                " [" + ", ".join(str(key_json(r.key)) for r in check.records) + "]"
            lines.append(f"    {severity_name(check.severity).upper()} {check.id} {check.label}{records}: "
                         f"{check.message} [{check.reference}]")
    lines += ["  " + render(e).replace("\n", "\n  ") for e in column.errors]
    return lines


def _pad(text: str, width: int, index: int) -> str:
    gap = " " * (width - text_width(text))
    return text + gap if index < 2 else gap + text
