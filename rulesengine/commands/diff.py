"""Two versions of a ruleset -> what changed, and (given facts) which results move and by how much.

The comparison is made on the checked rulesets, so it sees what the engine sees: the
document's metadata (title, number, dates, period in force), enums, entities, and every
declaration by id — added, removed, or changed in kind, label, type, citation, note,
value (dated values too), table rows, formula, rounding, severity or message. Formulas
are compared with their whitespace normalised.

With facts, both versions are evaluated on the same facts (each binds only the facts it
declares; the others are listed) and every rule and check whose value differs is
reported with old value, new value and the difference; per-record values by record key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ..core.datatypes import Type, display, to_json
from ..evaluate.evaluator import Evaluation, Program
from ..evaluate.facts import bind_facts
from ..core.i18n import N_, _, kind_name, severity_name
from ..check.model import Check, Declaration, FactSet, Input, Parameter, Rule, Ruleset, Table
from ..core.source import text_width

_CHANGES = {"added": N_("added"), "removed": N_("removed"), "changed": N_("changed")}
_KINDS = {"metadata": N_("metadata"), "enum": N_("enum"), "entity": N_("entity"), "module": N_("module")}


def _kind(kind: str) -> str:
    return _(_KINDS[kind]) if kind in _KINDS else kind_name(kind)


@dataclass
class Change:
    """One difference between the versions; ``field`` is None for an added or removed id."""

    change: str  # added | removed | changed
    kind: str  # metadata | enum | entity | parameter | table | input | rule | check | module
    id: str
    label: str
    field: str | None = None
    old: Any = None
    new: Any = None
    type: Type | None = None  # of old/new values, when they are typed values

    def text(self, value: Any) -> str:
        if value is None:
            return "—"
        if self.type is not None and not isinstance(value, (list, tuple, dict)):
            return display(value, self.type)
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(str(v) for v in value) + "]"
        return str(value)

    def to_json(self) -> dict:
        data = {"change": self.change, "kind": self.kind, "id": self.id, "label": self.label}
        if self.field is not None:
            data["field"] = self.field
            data["old"] = _json(self.old, self.type)
            data["new"] = _json(self.new, self.type)
        return data


@dataclass
class ResultChange:
    """A result whose value differs; per-record results give one entry per record key."""

    id: str
    label: str
    type: Type
    old: Any
    new: Any
    key: Any = None  # record key, for a per-record value
    citation: str = ""

    @property
    def difference(self) -> Any:
        if isinstance(self.old, Decimal) and isinstance(self.new, Decimal) and \
                not isinstance(self.old, bool) and not isinstance(self.new, bool):
            return self.new - self.old
        if isinstance(self.old, int) and isinstance(self.new, int) and \
                not isinstance(self.old, bool) and not isinstance(self.new, bool):
            return self.new - self.old
        if isinstance(self.old, date) and isinstance(self.new, date):
            return (self.new - self.old).days
        return None

    def to_json(self) -> dict:
        data = {"id": self.id, "label": self.label, "old": _json(self.old, self.type),
                "new": _json(self.new, self.type)}
        if self.key is not None:
            data["key"] = _json(self.key, Type("text"))
        difference = self.difference
        if difference is not None:
            data["difference"] = _json(difference, self.type if self.type.kind != "date" else Type("integer"))
        return data


@dataclass
class ResultDiff:
    source: str
    as_of_old: date | None
    as_of_new: date | None
    changed: list[ResultChange] = field(default_factory=list)
    compared: int = 0
    only_old: list[str] = field(default_factory=list)  # computed by OLD only
    only_new: list[str] = field(default_factory=list)
    facts_ignored_old: list[str] = field(default_factory=list)  # facts OLD does not declare
    facts_ignored_new: list[str] = field(default_factory=list)
    errors_old: list = field(default_factory=list)
    errors_new: list = field(default_factory=list)


@dataclass
class RulesetDiff:
    old: Program
    new: Program
    changes: list[Change]
    results: ResultDiff | None = None


# --- declarations ---------------------------------------------------------------------------
def diff_rulesets(old: Program, new: Program) -> list[Change]:
    """Every difference between two checked rulesets, in the new version's document order."""
    changes: list[Change] = []
    changes += _metadata(old.ruleset, new.ruleset)
    changes += _modules(old.ruleset, new.ruleset)
    changes += _enums(old.ruleset, new.ruleset)
    changes += _entities(old.ruleset, new.ruleset)
    before, after = old.ruleset.declarations, new.ruleset.declarations
    for decl_id, decl in after.items():
        previous = before.get(decl_id)
        if previous is None:
            changes.append(Change("added", decl.kind, decl_id, decl.label))
        else:
            changes += _declaration(previous, decl, old.ruleset, new.ruleset)
    for decl_id, decl in before.items():
        if decl_id not in after:
            changes.append(Change("removed", decl.kind, decl_id, decl.label))
    return changes


def _metadata(old: Ruleset, new: Ruleset) -> list[Change]:
    a, b = old.meta, new.meta
    fields = [("id", a.id, b.id), ("title", a.title, b.title),
              ("document_number", a.document_number, b.document_number),
              ("issuer", list(a.issuer), list(b.issuer)), ("issued", a.issued, b.issued),
              ("effective_from", _day(a.effective_from), _day(b.effective_from)),
              ("effective_to", a.effective_to, b.effective_to)]
    return [Change("changed", "metadata", name, "", name, x, y) for name, x, y in fields if x != y]


def _day(value: date) -> date | None:
    return None if value == date.min else value


def _modules(old: Ruleset, new: Ruleset) -> list[Change]:
    changes = []
    for module_id, module in new.modules.items():
        previous = old.modules.get(module_id)
        if previous is None:
            changes.append(Change("added", "module", module_id, module.title))
        elif previous.document_number != module.document_number:
            changes.append(Change("changed", "module", module_id, module.title, "document_number",
                                  previous.document_number, module.document_number))
    changes += [Change("removed", "module", m, old.modules[m].title) for m in old.modules
                if m not in new.modules]
    return changes


def _enums(old: Ruleset, new: Ruleset) -> list[Change]:
    changes = []
    for name, type_ in new.enums.items():
        previous = old.enums.get(name)
        if previous is None:
            changes.append(Change("added", "enum", name, ""))
        elif previous.values != type_.values:
            changes.append(Change("changed", "enum", name, "", "values", list(previous.values),
                                  list(type_.values)))
    changes += [Change("removed", "enum", n, "") for n in old.enums if n not in new.enums]
    return changes


def _entities(old: Ruleset, new: Ruleset) -> list[Change]:
    changes = []
    for entity_id, entity in new.entities.items():
        previous = old.entities.get(entity_id)
        if previous is None:
            changes.append(Change("added", "entity", entity_id, entity.label))
            continue
        for name in ("label", "collection", "key", "parent", "citation"):
            x, y = getattr(previous, name), getattr(entity, name)
            if x != y:
                changes.append(Change("changed", "entity", entity_id, entity.label, name, x, y))
    changes += [Change("removed", "entity", e, old.entities[e].label) for e in old.entities
                if e not in new.entities]
    return changes


def _declaration(a: Declaration, b: Declaration, old: Ruleset, new: Ruleset) -> list[Change]:
    out: list[Change] = []

    def changed(name: str, x: Any, y: Any, type_: Type | None = None) -> None:
        if x != y:
            out.append(Change("changed", b.kind, b.id, b.label, name, x, y, type_))

    if a.kind != b.kind:
        changed("kind", a.kind, b.kind)
        return out
    changed("label", a.label, b.label)
    changed("type", str(a.type), str(b.type))
    changed("citation", old.reference(a), new.reference(b))
    changed("note", a.note, b.note)
    same_type = a.type == b.type
    if isinstance(a, Parameter) and isinstance(b, Parameter):
        changed("open", a.open, b.open)
        changed("value", a.value, b.value, b.type if same_type else None)
        changed("dated_values", _dated(a), _dated(b))
    elif isinstance(a, Table) and isinstance(b, Table):
        changed("key_type", str(a.key_type), str(b.key_type))
        for key in list(b.rows) + [k for k in a.rows if k not in b.rows]:
            x, y = a.rows.get(key), b.rows.get(key)
            changed(f"rows[{_key(key)}]", x, y, b.type if same_type else None)
    elif isinstance(a, Input) and isinstance(b, Input):
        changed("min", a.minimum, b.minimum, b.type if same_type else None)
        changed("max", a.maximum, b.maximum, b.type if same_type else None)
    elif isinstance(a, Rule) and isinstance(b, Rule):
        changed("formula", _formula(a.formula), _formula(b.formula))
        changed("rounding", _rounding(a), _rounding(b))
    elif isinstance(a, Check) and isinstance(b, Check):
        changed("condition", _formula(a.formula), _formula(b.formula))
        changed("severity", a.severity, b.severity)
        changed("message", a.message, b.message)
    return out


def _formula(text: str) -> str:
    return " ".join(text.split())


def _rounding(rule: Rule) -> str:
    return "none" if rule.rounding is None else str(rule.rounding)


def _dated(param: Parameter) -> list[str]:
    return [f"{d.start}: {display(d.value, param.type)}" for d in param.dated]


def _key(key: Any) -> str:
    return ", ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)


# --- results --------------------------------------------------------------------------------
def diff_results(old: Program, new: Program, facts: FactSet, source: str, *,
                 as_of: date | None = None) -> ResultDiff:
    """Evaluate both versions on ``facts`` and list every result that differs.

    Raises:
        CheckFailed: the facts do not fit one of the versions (wrong type, outside bounds).
    """
    ev_old, ignored_old = _evaluate(old, facts, source, as_of)
    ev_new, ignored_new = _evaluate(new, facts, source, as_of)
    result = ResultDiff(source, ev_old.as_of, ev_new.as_of, facts_ignored_old=ignored_old,
                        facts_ignored_new=ignored_new, errors_old=ev_old.errors,
                        errors_new=ev_new.errors)
    decls_old, decls_new = old.ruleset.declarations, new.ruleset.declarations
    computed_old = [n for n in decls_old if decls_old[n].kind in ("rule", "check") and n in ev_old.values]
    computed_new = [n for n in decls_new if decls_new[n].kind in ("rule", "check") and n in ev_new.values]
    result.only_old = [n for n in computed_old if n not in ev_new.values]
    result.only_new = [n for n in computed_new if n not in ev_old.values]
    for node in computed_new:
        if node not in ev_old.values:
            continue
        result.compared += 1
        decl = decls_new[node]
        a, b = ev_old.values[node], ev_new.values[node]
        reference = new.ruleset.reference(decl)
        if decl.entity is None:
            if not _same(a, b):
                result.changed.append(ResultChange(node, decl.label, decl.type, a, b, None, reference))
            continue
        keys_old = dict(zip(ev_old.keys(node, old.ruleset), a))
        keys_new = dict(zip(ev_new.keys(node, new.ruleset), b))
        for key in list(keys_new) + [k for k in keys_old if k not in keys_new]:
            x, y = keys_old.get(key), keys_new.get(key)
            if not _same(x, y):
                result.changed.append(ResultChange(node, decl.label, decl.type, x, y, key, reference))
    return result


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _evaluate(program: Program, facts: FactSet, source: str, as_of: date | None) -> tuple[Evaluation, list[str]]:
    """Bind only the facts this version declares; evaluate everything."""
    ruleset = program.ruleset
    accepted = set(ruleset.fact_names())
    kept = {k: v for k, v in facts.values.items() if k in accepted}
    ignored = [k for k in facts.values if k not in accepted]
    bound = bind_facts(ruleset, FactSet(kept, facts.span_of, facts.key_span_of))
    return program.evaluate(bound, None, fact_source=source, as_of=as_of), ignored


# --- views ----------------------------------------------------------------------------------
def diff_json(diff: RulesetDiff) -> dict:
    """The diff as stable JSON (money as decimal strings)."""
    data = {"old": _ruleset_json(diff.old), "new": _ruleset_json(diff.new),
            "changes": [c.to_json() for c in diff.changes]}
    if diff.results is not None:
        r = diff.results
        data["results"] = {
            "facts": r.source,
            "as_of": {"old": r.as_of_old.isoformat() if r.as_of_old else None,
                      "new": r.as_of_new.isoformat() if r.as_of_new else None},
            "compared": r.compared, "changed": [c.to_json() for c in r.changed],
            "only_old": r.only_old, "only_new": r.only_new,
            "facts_ignored": {"old": r.facts_ignored_old, "new": r.facts_ignored_new},
            "errors": {"old": [e.message for e in r.errors_old], "new": [e.message for e in r.errors_new]}}
    return data


def _ruleset_json(program: Program) -> dict:
    meta = program.ruleset.meta
    return {"id": meta.id, "title": meta.title, "document_number": meta.document_number,
            "file": meta.file}


def diff_text(diff: RulesetDiff) -> str:
    """The diff for people: ruleset changes, then the results that move."""
    old, new = diff.old.ruleset.meta, diff.new.ruleset.meta
    lines = [_("old: {file}").format(file=old.file) + f"  {old.title}（{old.document_number}）",
             _("new: {file}").format(file=new.file) + f"  {new.title}（{new.document_number}）", ""]
    if not diff.changes:
        lines.append(_("ruleset changes: none"))
    else:
        lines.append(_("ruleset changes: {count}").format(count=len(diff.changes)))
    marks = {"added": "+", "removed": "-", "changed": "~"}
    current = None
    for change in diff.changes:
        head = (change.change, change.kind, change.id)
        if change.field is None or head != current:
            label = f" {change.label}" if change.label else ""
            what = f" ({_(_CHANGES[change.change])})" if change.field is None else ""
            lines.append(f"  {marks[change.change]} {_kind(change.kind)} {change.id}{label}{what}")
            current = head
        if change.field is not None:
            lines.append(f"      {change.field}: {change.text(change.old)} -> {change.text(change.new)}")
    results = diff.results
    if results is None:
        return "\n".join(lines) + "\n"
    as_of = results.as_of_new or results.as_of_old
    lines += ["", _("results on {facts} (as of {date}): {changed} of {compared} changed").format(
        facts=results.source, date=as_of or "—", changed=len({c.id for c in results.changed}),
        compared=results.compared)]
    rows = [(c.id + (f"[{c.key}]" if c.key is not None else ""), c.label, _show(c.old, c.type),
             _show(c.new, c.type), _signed(c.difference, c.type)) for c in results.changed]
    if rows:
        head = ("id", _("label"), _("old"), _("new"), _("difference"))
        widths = [max(text_width(r[i]) for r in rows + [head]) for i in range(5)]
        for cells in [head] + rows:
            lines.append("  " + "  ".join(_pad(cell, width, right=i >= 2)
                                          for i, (cell, width) in enumerate(zip(cells, widths))).rstrip())
    for node in results.only_old:
        lines.append("  " + _("only computed by the old version: {id}").format(id=node))
    for node in results.only_new:
        lines.append("  " + _("only computed by the new version: {id}").format(id=node))
    for name in results.facts_ignored_old:
        lines.append("  " + _("fact '{name}' is not declared by the old version; ignored there").format(name=name))
    for name in results.facts_ignored_new:
        lines.append("  " + _("fact '{name}' is not declared by the new version; ignored there").format(name=name))
    for version, errors in ((_("old"), results.errors_old), (_("new"), results.errors_new)):
        for err in errors:
            lines.append(f"  {version}: {severity_name(err.severity)}[{err.code}]: {err.message}")
    return "\n".join(lines) + "\n"


def _pad(text: str, width: int, *, right: bool) -> str:
    gap = " " * (width - text_width(text))
    return gap + text if right else text + gap


def _show(value: Any, type_: Type) -> str:
    return "—" if value is None else display(value, type_)


def _signed(value: Any, type_: Type) -> str:
    if value is None:
        return ""
    if type_.kind == "date":
        return _("{count:+d} days").format(count=value)
    if isinstance(value, int):
        return f"{value:+,d}"
    text = display(value, type_)
    return "+" + text if value > 0 else text


def _json(value: Any, type_: Type | None) -> Any:
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [_json(v, type_) for v in value]
    if type_ is not None:
        return to_json(value, type_)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return to_json(value, Type("number"))
    return value
