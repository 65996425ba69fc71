"""Several rulesets, one facts file -> results side by side, per glossary concept.

Each ruleset takes the facts it declares and ignores the rest; a concept (a glossary id of
:mod:`rulesengine.glossary`, or a declaration's ``concept:``) shows its value in every
ruleset that has it, or which facts that ruleset is missing to compute it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.datatypes import display, to_json
from ..core.errors import RulesError, flatten, render
from ..evaluate.evaluator import Evaluation, Program
from ..evaluate.facts import bind_facts
from ..core.glossary import GLOSSARY
from ..core.i18n import _
from ..check.model import Declaration, FactSet
from ..core.source import text_width


@dataclass
class Column:
    """One ruleset's side of the comparison."""

    program: Program
    concepts: dict[str, Declaration]  # glossary id -> this ruleset's declaration
    ignored: list[str] = field(default_factory=list)  # facts this ruleset does not declare
    missing: dict[str, list[str]] = field(default_factory=dict)  # concept -> facts it lacks
    errors: list[RulesError] = field(default_factory=list)
    evaluation: Evaluation | None = None

    @property
    def id(self) -> str:
        return self.program.ruleset.meta.id


def concepts_of(program: Program) -> dict[str, Declaration]:
    """The glossary concepts a ruleset has: by id, or by an explicit ``concept:``."""
    found: dict[str, Declaration] = {}
    for decl in program.ruleset.declarations.values():
        if decl.entity is not None or decl.kind not in ("input", "parameter", "rule"):
            continue
        concept = decl.concept or (decl.id if decl.id in GLOSSARY else None)
        if concept is not None and concept not in found:
            found[concept] = decl
    return found


def compare(programs: list[Program], facts: FactSet) -> list[Column]:
    columns = []
    for program in programs:
        column = Column(program, concepts_of(program))
        columns.append(column)
        ruleset = program.ruleset
        accepted = set(ruleset.fact_names())
        mine = {k: v for k, v in facts.values.items() if k in accepted}
        column.ignored = sorted(k for k in facts.values if k not in accepted)
        try:
            bound = bind_facts(ruleset, FactSet(mine, facts.span_of, facts.key_span_of))
        except RulesError as err:
            column.errors = flatten(err)
            continue
        targets = [d.id for d in column.concepts.values()]
        column.evaluation = program.evaluate(bound, targets or None)
        for concept, decl in column.concepts.items():
            if decl.id not in column.evaluation.values:
                column.missing[concept] = _missing_facts(program, decl.id, bound)
        column.errors = [e for e in column.evaluation.errors if e.code != "missing-fact"]
    return columns


def _missing_facts(program: Program, target: str, bound: dict) -> list[str]:
    decls = program.ruleset.declarations
    needed = program.graph.requirements([target])
    return sorted(n for n in needed if n not in bound and decls[n].entity is None and decls[n].is_fact)


def _rows(columns: list[Column]) -> list[str]:
    present = {c for column in columns for c in column.concepts}
    return [c for c in GLOSSARY if c in present] + sorted(present - set(GLOSSARY))


def _cell(column: Column, concept: str) -> tuple[str, Any]:
    """(status, value) of one concept in one ruleset."""
    decl = column.concepts.get(concept)
    if decl is None:
        return "absent", None
    if column.evaluation is None or decl.id not in column.evaluation.values:
        return "missing", None
    return "computed", column.evaluation.values[decl.id]


def compare_json(columns: list[Column]) -> dict:
    concepts = []
    for concept in _rows(columns):
        entry = {"id": concept, "label": GLOSSARY.get(concept, ""), "rulesets": {}}
        for column in columns:
            status, value = _cell(column, concept)
            item: dict[str, Any] = {"status": status}
            if status != "absent":
                decl = column.concepts[concept]
                item["id"] = decl.id
                item["label"] = decl.label
                item["reference"] = column.program.ruleset.reference(decl)
            if status == "computed":
                item["value"] = to_json(value, column.concepts[concept].type)
            if status == "missing":
                item["missing_facts"] = column.missing.get(concept, [])
            entry["rulesets"][column.id] = item
        concepts.append(entry)
    return {"rulesets": [{"id": c.id, "title": c.program.ruleset.meta.title,
                          "file": c.program.ruleset.meta.file, "ignored_facts": c.ignored,
                          "errors": [render(e) for e in c.errors]} for c in columns],
            "concepts": concepts}


def compare_table(columns: list[Column]) -> str:
    header = [_("concept"), "中文"] + [c.id for c in columns]
    body = []
    for concept in _rows(columns):
        row = [concept, GLOSSARY.get(concept, "")]
        for column in columns:
            status, value = _cell(column, concept)
            if status == "computed":
                row.append(display(value, column.concepts[concept].type))
            elif status == "missing":
                lacking = column.missing.get(concept, [])
                row.append(_("missing {facts}").format(facts=",".join(lacking[:3]) + ("…" if len(lacking) > 3 else "")))
            else:
                row.append("—")
        body.append(row)
    widths = [max(text_width(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, w, i) for i, (cell, w) in enumerate(zip(r, widths))).rstrip()
             for r in [header] + body]
    lines.append("")
    for column in columns:
        shown = ", ".join(column.ignored[:5]) + (", …" if len(column.ignored) > 5 else "")
        ignored = _("{id}: {concepts} concepts; {count} facts it does not declare were ignored").format(
            id=column.id, concepts=len(column.concepts), count=len(column.ignored))
        lines.append(ignored + (_(": {facts}").format(facts=shown) if shown else ""))
        lines += ["  " + render(e).replace("\n", "\n  ") for e in column.errors]
    return "\n".join(lines) + "\n"


def _pad(text: str, width: int, index: int) -> str:
    gap = " " * (width - text_width(text))
    return text + gap if index < 2 else gap + text
