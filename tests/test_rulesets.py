"""Every ruleset in rulesets/ validates, and its own tests (expected values worked by hand
in the YAML comments) pass under pytest, one pytest item per ruleset test."""

import pathlib

import pytest

from rulesengine.driver import load_program
from rulesengine.errors import render
from rulesengine.facts import check_fact_sets
from rulesengine.testrunner import run_tests

RULESETS = sorted((pathlib.Path(__file__).resolve().parent.parent / "rulesets").glob("*.yaml"))


def _cases():
    for path in RULESETS:
        program = load_program(str(path))
        for test_id in program.ruleset.tests:
            yield pytest.param(program, test_id, id=f"{path.stem}::{test_id}")


@pytest.mark.parametrize("path", RULESETS, ids=[p.stem for p in RULESETS])
def test_ruleset_is_valid_without_warnings(path):
    program = load_program(str(path))
    check_fact_sets(program.ruleset)
    assert program.ruleset.warnings == []
    assert len(program.ruleset.tests) >= 8


@pytest.mark.parametrize("program, test_id", list(_cases()))
def test_ruleset_case(program, test_id):
    (outcome,) = [o for o in run_tests(program) if o.test_id == test_id]
    problems = outcome.problems + [render(e) for e in outcome.errors]
    assert outcome.passed, "\n".join(problems)
