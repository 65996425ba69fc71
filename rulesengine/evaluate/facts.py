"""Supplied facts -> typed values for the inputs and open parameters of a ruleset.

Facts come from a YAML or JSON file, or from an example or test inside the ruleset.
Collections (lists of records) are bound by :mod:`rulesengine.records`.
Every problem is reported, located: unknown names (with did-you-mean), values of the
wrong type, values outside an input's ``min``/``max``, and attempts to override a
parameter that the policy fixes.
"""

from __future__ import annotations

from typing import Any

from ..core.cells import bound_message, fact_message, outside
from ..core.datatypes import ValueProblem, coerce, display
from ..core.errors import (CheckFailed, ConstraintError, DuplicateIdError, FactError, FixedParameterError,
                     RulesError, UnknownFactError, UsageError, did_you_mean)
from ..core.i18n import _, kind_name
from ..load.loader import load_facts
from ..check.model import FactSet, Input, Parameter, Ruleset, Table
from .records import bind_records
from .semantics import as_decimal


def read_facts(path: str) -> FactSet:
    """Load a facts file; positions of its values are kept for error messages."""
    doc = load_facts(path)
    return FactSet(doc.value, doc.span, doc.key_span)


def example_facts(ruleset: Ruleset, name: str | None) -> FactSet:
    """The facts of the named example, or of the first (default) one."""
    if not ruleset.examples:
        raise UsageError(_("ruleset '{id}' has no examples").format(id=ruleset.meta.id),
                         hint=_("add an 'examples:' section, or pass --facts FILE"))
    if name is None:
        return next(iter(ruleset.examples.values())).facts
    if name not in ruleset.examples:
        raise UsageError(_("no example named '{name}'").format(name=name),
                         hint=did_you_mean(name, ruleset.examples)
                         or _("examples: {names}").format(names=", ".join(ruleset.examples)))
    return ruleset.examples[name].facts


def test_facts(ruleset: Ruleset, test_id: str) -> FactSet:
    """A test's facts: its example's facts, then its own on top."""
    test = ruleset.tests[test_id]
    if test.example is None:
        return test.facts
    base = ruleset.examples[test.example].facts
    merged = dict(base.values)
    merged.update(test.facts.values)

    def source(path: tuple) -> FactSet:
        return test.facts if path and path[0] in test.facts.values else base
    return FactSet(merged, lambda path: source(path).span_of(path),
                   lambda path: source(path).key_span_of(path))


def bind_facts(ruleset: Ruleset, facts: FactSet) -> dict[str, Any]:
    """Check and type every fact; raise CheckFailed listing every problem."""
    errors: list[RulesError] = []
    bound: dict[str, Any] = dict(bind_records(ruleset, facts, errors))
    accepted = ruleset.fact_names()
    for name, raw in facts.values.items():
        if name in ruleset.collections:
            continue
        span = facts.span_of((name,))
        decl = ruleset.declarations.get(name)
        if isinstance(decl, Parameter) and not decl.open:
            errors.append(FixedParameterError(
                _("'{name}' is a parameter fixed by the policy ({reference}), not a fact").format(
                    name=name, reference=ruleset.reference(decl)), span=span,
                hint=_("change it in the ruleset, with its citation, if the policy changed")))
            continue
        if isinstance(decl, Table) and decl.supplied:
            bound[name] = bind_table(decl, raw, facts, (name,), errors)
            continue
        if not isinstance(decl, (Input, Parameter)) or decl.entity is not None:
            what = _("'{name}' is a {kind}, not a fact").format(name=name, kind=kind_name(decl.kind)) \
                if decl else _("unknown fact '{name}'").format(name=name)
            if decl is not None and decl.entity is not None:
                what = _("'{name}' is a field of each {entity} record, not a single fact").format(
                    name=name, entity=decl.entity)
            errors.append(UnknownFactError(what, span=facts.key_span_of((name,)), hint=did_you_mean(name, accepted)
                                           or _("facts are the inputs and open parameters of the ruleset")))
            continue
        if isinstance(raw, list):
            errors.append(FactError(_("fact '{name}' ({label}) is a single value, not a list").format(
                                        name=name, label=decl.label),
                                    span=span, hint=_("collections: {names}").format(
                                        names=", ".join(ruleset.collections) or _("none"))))
            continue
        try:
            value = coerce(raw, decl.type)
        except ValueProblem as problem:
            errors.append(FactError(fact_message(name, decl.label, problem.message, decl.type),
                                    span=span, hint=problem.hint))
            continue
        problem = _outside(decl, value)
        if problem:
            errors.append(ConstraintError(bound_message(name, decl.label, value, problem, decl.type), span=span,
                                          hint=_("the ruleset requires it ({reference})").format(
                                              reference=ruleset.reference(decl))))
            continue
        bound[name] = value
    if errors:
        raise CheckFailed(errors)
    return bound


def check_fact_sets(ruleset: Ruleset) -> None:
    """Validate the facts of every example and test, as ``validate`` does."""
    errors: list[RulesError] = []
    sets = [example.facts for example in ruleset.examples.values()]
    sets += [test_facts(ruleset, test_id) for test_id in ruleset.tests]
    for facts in sets:
        try:
            bind_facts(ruleset, facts)
        except CheckFailed as err:
            errors += [e for e in err.errors if str(e) not in {str(x) for x in errors}]
    if errors:
        raise CheckFailed(errors)


def _outside(decl: Input | Parameter, value: Any) -> str | None:
    if not isinstance(decl, Input):
        return None
    return outside(value, decl.minimum, decl.maximum, decl.type)


def bind_table(table: Table, raw: Any, facts: FactSet, path: tuple, errors: list[RulesError]) -> dict:
    """The rows of a table supplied with the facts: key (a tuple with several key columns) -> value.
    Each row is typed like an input; a bad row, an unknown or missing column and a repeated
    key are located errors."""
    columns = [name for name, _type in table.columns] + ["value"]
    example = "{" + ", ".join(f"{name}: ..." for name in columns) + "}"
    if not isinstance(raw, list):
        errors.append(FactError(_("table '{name}' ({label}) is a list of rows").format(name=table.id, label=table.label),
                                span=facts.span_of(path), hint=_("write {name}: [{row}, ...]").format(
                                    name=table.id, row=example)))
        return {}
    rows: dict = {}
    for i, item in enumerate(raw):
        where = path + (i,)
        if not isinstance(item, dict):
            errors.append(FactError(_("a row of table '{name}' must be a mapping of columns").format(name=table.id),
                                    span=facts.span_of(where), hint=_("write {row}").format(row=example)))
            continue
        cells = _table_row(table, item, i, facts, where, errors)
        if cells is None:
            continue
        key = cells[0] if len(cells) == 2 else tuple(cells[:-1])
        if key in rows:
            errors.append(DuplicateIdError(_("table '{name}' has two rows for {key}").format(
                                               name=table.id, key=repr(key)),
                                           span=facts.span_of(where),
                                           hint=_("each key has one row; remove the repeated row or correct its key")))
            continue
        rows[key] = cells[-1]
    return rows


def _table_row(table: Table, item: dict, i: int, facts: FactSet, where: tuple,
               errors: list[RulesError]) -> list | None:
    """One row's typed cells (key columns, then the value), or None after reporting its problems."""
    types = dict(table.columns, value=table.type)
    example = "{" + ", ".join(f"{name}: ..." for name in types) + "}"
    problems = len(errors)
    for column in item:
        if column not in types:
            errors.append(UnknownFactError(
                _("table '{name}' has no column '{column}'").format(name=table.id, column=column),
                span=facts.key_span_of(where + (column,)),
                hint=did_you_mean(column, types) or _("columns: {columns}").format(columns=", ".join(types))))
    cells = []
    for column, type_ in types.items():
        if column not in item:
            errors.append(FactError(_("row {row} of table '{name}' lacks the column '{column}'").format(
                                        row=i + 1, name=table.id, column=column),
                                    span=facts.span_of(where), hint=_("write {row}").format(row=example)))
            continue
        try:
            cells.append(as_decimal(coerce(item[column], type_)))
        except ValueProblem as problem:
            errors.append(FactError(_("table '{name}' ({label}), row {row}, column '{column}': {problem} "
                                      "(expected {type})").format(
                                        name=table.id, label=table.label, row=i + 1, column=column,
                                        problem=problem.message, type=type_),
                                    span=facts.span_of(where + (column,)), hint=problem.hint))
            continue
        bound = outside(cells[-1], table.minimum, table.maximum, table.type) if column == "value" else None
        if bound:
            errors.append(ConstraintError(_("table '{name}' ({label}), row {row}: {value} is {bound}").format(
                                              name=table.id, label=table.label, row=i + 1,
                                              value=display(cells[-1], type_), bound=bound),
                                          span=facts.span_of(where + (column,)),
                                          hint=_("the table's min and max bound every row")))
    return cells if len(errors) == problems else None
