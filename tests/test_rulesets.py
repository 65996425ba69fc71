"""Every ruleset in rulesets/ validates, its clause inventory is complete, and its own tests
(expected values worked by hand in the YAML comments) pass under pytest, one pytest item
per ruleset test."""

import pathlib

import pytest

from rulesengine.commands.coverage import coverage
from rulesengine.evaluate.driver import load_program
from rulesengine.core.errors import RulesError, flatten, render
from rulesengine.evaluate.facts import check_fact_sets
from rulesengine.commands.testrunner import run_tests

RULESETS = sorted((pathlib.Path(__file__).resolve().parent.parent / "rulesets").glob("*.yaml"))
_PROGRAMS: dict = {}


def _program(path):
    """Load once per session; a broken ruleset fails its own tests, not the collection."""
    if path not in _PROGRAMS:
        try:
            _PROGRAMS[path] = load_program(str(path))
        except RulesError as err:
            _PROGRAMS[path] = err
    found = _PROGRAMS[path]
    if isinstance(found, RulesError):
        pytest.fail("\n".join(render(e) for e in flatten(found)), pytrace=False)
    return found


def _cases():
    for path in RULESETS:
        try:
            test_ids = list(load_program(str(path)).ruleset.tests)
        except RulesError:
            test_ids = ["<load>"]
        for test_id in test_ids:
            yield pytest.param(path, test_id, id=f"{path.stem}::{test_id}")


@pytest.mark.parametrize("path", RULESETS, ids=[p.stem for p in RULESETS])
def test_ruleset_is_valid_without_warnings(path):
    program = _program(path)
    check_fact_sets(program.ruleset)
    assert [render(w) for w in program.ruleset.warnings] == []
    assert len(program.ruleset.tests) >= 8


@pytest.mark.parametrize("path", RULESETS, ids=[p.stem for p in RULESETS])
def test_clause_inventory_is_complete(path):
    report = coverage(_program(path).ruleset)
    assert [render(p) for p in report.problems] == []
    assert report.counts["encoded"] >= 5


@pytest.mark.parametrize("path, test_id", list(_cases()))
def test_ruleset_case(path, test_id):
    program = _program(path)
    (outcome,) = [o for o in run_tests(program) if o.test_id == test_id]
    problems = outcome.problems + [render(e) for e in outcome.errors]
    assert outcome.passed, "\n".join(problems)
