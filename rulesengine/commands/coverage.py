"""Clause inventory -> coverage report: which clause of the document each rule encodes,
which clauses are inputs or out of scope, and what is still untriaged or dangling."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import RulesError, UnknownNameError, UntriagedClauseError, did_you_mean
from ..core.i18n import _
from ..check.model import Clause, Ruleset
from ..core.source import text_width

STATUSES = ("encoded", "input", "out-of-scope", "todo")


@dataclass
class Coverage:
    ruleset: Ruleset
    problems: list[RulesError] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)  # rules and checks no clause names

    @property
    def counts(self) -> dict[str, int]:
        return {status: sum(c.status == status for c in self.ruleset.clauses) for status in STATUSES}

    @property
    def complete(self) -> bool:
        return not self.problems


def coverage(ruleset: Ruleset) -> Coverage:
    """Check the inventory: every clause triaged, every named id declared."""
    report = Coverage(ruleset)
    decls = ruleset.declarations
    if not ruleset.clauses:
        report.problems.append(UntriagedClauseError(
            _("ruleset '{id}' has no clause inventory").format(id=ruleset.meta.id),
            hint=_("list every quantitative or procedural clause under 'clauses:' with its status")))
    named: set[str] = set()
    for clause in ruleset.clauses:
        if clause.status == "todo":
            report.problems.append(UntriagedClauseError(
                _("clause {clause} is not triaged: {summary}").format(clause=clause.clause, summary=clause.summary),
                span=clause.span,
                hint=_("set status: encoded (with ids), input, or out-of-scope (with a reason)")))
        for decl_id, span in zip(clause.ids, clause.id_spans):
            named.add(decl_id)
            if decl_id not in decls:
                report.problems.append(UnknownNameError(
                    _("clause {clause} names '{id}', which the ruleset does not declare").format(
                        clause=clause.clause, id=decl_id),
                    span=span, hint=did_you_mean(decl_id, decls) or _("correct the id, or encode it")))
    report.unlisted = [d.id for d in decls.values()
                       if d.kind in ("rule", "check") and d.module is None and d.id not in named]
    return report


def coverage_text(report: Coverage) -> str:
    ruleset = report.ruleset
    meta = ruleset.meta
    lines = [f"{meta.title}（{meta.document_number}）", _("ruleset: {file}").format(file=meta.file), ""]
    width = max([text_width(c.clause) for c in ruleset.clauses] + [6])
    for clause in ruleset.clauses:
        gap = " " * (width - text_width(clause.clause))
        lines.append(f"{clause.clause}{gap}  {clause.status:<12}  {clause.summary}")
        detail = " " * (width + 2)
        if clause.ids:
            lines.append(detail + _("ids: {ids}").format(ids=", ".join(clause.ids)))
        if clause.reason:
            lines.append(detail + _("reason: {reason}").format(reason=clause.reason))
    counts = report.counts
    lines += ["", _("{count} clauses: {counts}").format(
        count=len(ruleset.clauses),
        counts=", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s] or s == "todo"))]
    if report.unlisted:
        lines.append(_("rules and checks no clause names ({count}): {ids}").format(
            count=len(report.unlisted), ids=", ".join(report.unlisted)))
    return "\n".join(lines) + "\n"


def coverage_json(report: Coverage) -> dict:
    return {"ruleset": report.ruleset.meta.id, "complete": report.complete, "counts": report.counts,
            "clauses": [_clause_json(c) for c in report.ruleset.clauses],
            "unlisted": report.unlisted}


def _clause_json(clause: Clause) -> dict:
    data = {"clause": clause.clause, "summary": clause.summary, "status": clause.status,
            "ids": list(clause.ids)}
    if clause.reason:
        data["reason"] = clause.reason
    return data
