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
from ..core.datatypes import ValueProblem, coerce
from ..core.errors import (CheckFailed, ConstraintError, FactError, FixedParameterError, RulesError,
                     UnknownFactError, UsageError, did_you_mean)
from ..core.i18n import _, kind_name
from ..load.loader import load_facts
from ..check.model import FactSet, Input, Parameter, Ruleset
from .records import bind_records


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
