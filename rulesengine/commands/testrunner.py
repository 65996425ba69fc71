"""A ruleset's own tests: facts in, expected values and expected check failures out."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.datatypes import display
from ..core.errors import RulesError, flatten
from ..evaluate.evaluator import Program
from ..evaluate.facts import bind_facts, test_facts
from ..core.i18n import _


@dataclass
class TestOutcome:
    test_id: str
    label: str
    problems: list[str] = field(default_factory=list)
    errors: list[RulesError] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems and not self.errors


def run_tests(program: Program) -> list[TestOutcome]:
    """Run every test of the ruleset; a test fails on any mismatch or error."""
    ruleset = program.ruleset
    outcomes = []
    for test in ruleset.tests.values():
        outcome = TestOutcome(test.id, test.label)
        outcomes.append(outcome)
        try:
            facts = bind_facts(ruleset, test_facts(ruleset, test.id))
            targets = list(test.expect) if test.expect_failed_checks is None else None
            evaluation = program.evaluate(facts, targets)
        except RulesError as err:
            outcome.errors.extend(flatten(err))
            continue
        outcome.errors.extend(evaluation.errors)
        for target, expected in test.expect.items():
            decl = ruleset.declarations[target]
            if decl.entity is not None:
                outcome.problems += _per_record(ruleset, evaluation, test, target, expected)
                continue
            got = evaluation.values.get(target)
            if got != expected:
                shown = _("not computed") if target not in evaluation.values else display(got, decl.type)
                outcome.problems.append(_("{where}: {id} ({label}): expected {expected}, got {got}").format(
                    where=test.expect_spans[target], id=target, label=decl.label,
                    expected=display(expected, decl.type), got=shown))
        if test.expect_failed_checks is not None:
            failed = {c.id for c in evaluation.failed_checks}
            wanted = set(test.expect_failed_checks)
            for check_id in sorted(wanted - failed):
                outcome.problems.append(_("check '{id}' was expected to fail, but passed").format(id=check_id))
            for check_id in sorted(failed - wanted):
                outcome.problems.append(_("check '{id}' failed unexpectedly").format(id=check_id))
            results = {c.id: c for c in evaluation.checks}
            for check_id, keys in test.expect_failed_records.items():
                got = {r.key for r in (results[check_id].records or ())} if check_id in results else set()
                if check_id in failed and got != keys:
                    outcome.problems.append(_("check '{id}' failed for {got}, expected {expected}").format(
                        id=check_id, got=_keys(got), expected=_keys(keys)))
    return outcomes


def _per_record(ruleset, evaluation, test, target: str, expected: dict) -> list[str]:
    decl = ruleset.declarations[target]
    where = f"{test.expect_spans[target]}: {target} ({decl.label})"
    if target not in evaluation.values:
        return [_("{where}: not computed").format(where=where)]
    got = dict(zip(evaluation.keys(target, ruleset), evaluation.values[target]))
    problems = []
    for key, value in expected.items():
        if key not in got:
            problems.append(_("{where}: no record {key}").format(where=where, key=key))
        elif got[key] != value:
            problems.append(_("{where} of {key}: expected {expected}, got {got}").format(
                where=where, key=key, expected=display(value, decl.type), got=display(got[key], decl.type)))
    return problems


def _keys(keys) -> str:
    return ", ".join(sorted(str(k) for k in keys)) or _("no record")
