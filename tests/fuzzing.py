"""Helpers shared by the hypothesis suites (test_fuzz_*.py, test_invariants.py): what every
outcome must look like, and the precise regions of the known engine bugs they step around
(each known bug has its own strict-xfail test with a minimal reproducer)."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import jsonschema
from hypothesis import settings
from hypothesis import strategies as st

from rulesengine.core.errors import RulesError, flatten, render
from rulesengine.load.loader import schema
from rulesengine.views.report import dumps, run_json, run_table, trace_json, trace_text

TRACE_SCHEMA = jsonschema.Draft202012Validator(schema("trace"))

WORK = Path(tempfile.mkdtemp(prefix="rulesengine-fuzz-"))  # the files the fuzzers write
atexit.register(shutil.rmtree, WORK, ignore_errors=True)


def scaled(fraction: float) -> settings:
    """A share of the active profile's examples (the expensive tests run fewer)."""
    return settings(max_examples=max(10, int(settings().max_examples * fraction)))


def assert_located(err: BaseException) -> None:
    """Our own error, every part of it located and renderable."""
    assert isinstance(err, RulesError), f"{type(err).__name__}: {err}"
    for item in flatten(err):
        assert isinstance(item, RulesError), f"{type(item).__name__}: {item}"
        assert item.span is not None, f"unlocated error[{item.code}]: {item.message}"
        assert render(item)


# --- evaluation and reports -------------------------------------------------------------------------
def evaluate_and_report(program, facts: dict, *, validate_trace: bool = True):
    """Evaluate with a trace and render every output; return the evaluation.

    Nothing may raise, and every error the evaluation reports is our own and located."""
    evaluation = program.evaluate(facts, trace=True)
    for err in evaluation.errors:
        assert_located(err)
    for warning in evaluation.warnings:
        assert isinstance(warning, RulesError) and render(warning)
    dumps(run_json(program, evaluation))
    data = json.loads(dumps(trace_json(program, evaluation)))
    if validate_trace:
        TRACE_SCHEMA.validate(data)
    trace_text(program, evaluation)
    run_table(program, evaluation)
    return evaluation


# --- facts: places in them, and values at the edges of each type ---------------------------------------
def extreme(kind: str, enum_values: tuple) -> st.SearchStrategy:
    """Values the type accepts, at its edges: the facts stay valid, the arithmetic is pushed."""
    return {
        "money": st.one_of(st.sampled_from(["0", "0.00", "-0.00", "0.01", "-0.01", "1",
                                            "999999999999999999.99", "-999999999999999999.99",
                                            Decimal("123456789012345678.9"), -1]),
                           st.decimals(min_value=Decimal("-999999999999999999.99"),
                                       max_value=Decimal("999999999999999999.99"), places=2)
                           .map(lambda d: f"{d:f}")),
        "rate": st.sampled_from(["0", "1", "-1", "0%", "100%", "1000%", "-50%", "0.5", "99999999",
                                 "0.000000000000000000000000000001", "123456789.123456789"]),
        "number": st.sampled_from(["0", "1", "-1", "1e+999999", "-1e+999999", "1e-999999",
                                   "123456789012345678901234567890.5", "0.000000001", "1.5e+300"]),
        "integer": st.sampled_from([0, 1, -1, 2, 12, 2024, 9999, 999999999999999999,
                                    -999999999999999999]),
        "boolean": st.booleans(),
        "date": st.sampled_from(["0001-01-01", "9999-12-31", "2024-02-29", "2019-12-31", "2100-01-01"]),
        "text": st.sampled_from(["x", "H50015200011", "500152YGT01", "同一编码", "GT01", "H001"]),
        "enum": st.sampled_from(enum_values or ("x",)),
    }[kind]


def kind_at(ruleset, path: tuple):
    """(type kind, enum values) of the fact at ``path``, or None when it is not a single value."""
    entity = None
    steps = list(path)
    while steps:
        step = steps.pop(0)
        if entity is None:
            if step in ruleset.collections:
                entity = ruleset.collections[step]
                if not steps:
                    return None
                steps.pop(0)  # the record's index
                continue
            decl = ruleset.declarations.get(step)
        else:
            child = next((e for e in ruleset.entities.values()
                          if e.parent == entity.id and e.collection == step), None)
            if child is not None:
                entity = child
                if not steps:
                    return None
                steps.pop(0)
                continue
            decl = ruleset.declarations.get(f"{entity.id}.{step}")
        if decl is None or steps or not hasattr(decl, "type"):
            return None
        return decl.type.kind, decl.type.values
    return None


def paths(value, here=()) -> list[tuple]:
    """Every place in the facts: the root, each key's value, each list item."""
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, here + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, here + (index,))
    return found


def get(root, path: tuple):
    for step in path:
        root = root[step]
    return root


def put(root, path: tuple, value):
    if not path:
        return value
    get(root, path[:-1])[path[-1]] = value
    return root
