"""A ruleset's own tests: facts in, expected values and expected check failures out."""

from __future__ import annotations

from dataclasses import dataclass, field

from .datatypes import display
from .errors import RulesError, flatten
from .evaluator import Program
from .facts import bind_facts, test_facts


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
                shown = "not computed" if target not in evaluation.values else display(got, decl.type)
                outcome.problems.append(f"{test.expect_spans[target]}: {target} ({decl.label}): "
                                        f"expected {display(expected, decl.type)}, got {shown}")
        if test.expect_failed_checks is not None:
            failed = {c.id for c in evaluation.failed_checks}
            wanted = set(test.expect_failed_checks)
            for check_id in sorted(wanted - failed):
                outcome.problems.append(f"check '{check_id}' was expected to fail, but passed")
            for check_id in sorted(failed - wanted):
                outcome.problems.append(f"check '{check_id}' failed unexpectedly")
            results = {c.id: c for c in evaluation.checks}
            for check_id, keys in test.expect_failed_records.items():
                got = {r.key for r in (results[check_id].records or ())} if check_id in results else set()
                if check_id in failed and got != keys:
                    outcome.problems.append(f"check '{check_id}' failed for {_keys(got)}, expected "
                                            f"{_keys(keys)}")
    return outcomes


def _per_record(ruleset, evaluation, test, target: str, expected: dict) -> list[str]:
    decl = ruleset.declarations[target]
    where = f"{test.expect_spans[target]}: {target} ({decl.label})"
    if target not in evaluation.values:
        return [f"{where}: not computed"]
    got = dict(zip(evaluation.keys(target, ruleset), evaluation.values[target]))
    problems = []
    for key, value in expected.items():
        if key not in got:
            problems.append(f"{where}: no record {key}")
        elif got[key] != value:
            problems.append(f"{where} of {key}: expected {display(value, decl.type)}, "
                            f"got {display(got[key], decl.type)}")
    return problems


def _keys(keys) -> str:
    return ", ".join(sorted(str(k) for k in keys)) or "no record"
