"""Fuzzing facts (issue 6, part 3c): random facts for each seed ruleset either evaluate or fail
with located errors (``RulesError`` with a span), never another exception, and the command line
never exits 70 (internal error).

Each example starts from the ruleset's default example and applies one to five mutations at
random places of it (top-level facts, records of collections, fields of records, nested child
records): drop a key or a record, replace a value with a hostile one (wrong type, text with
separators or units, full-width digits, NaN, infinities, YAML 1.1 number spellings, huge and
tiny numbers, out-of-range dates, wrong enum values, empty or nested containers), negate a
number, write a number as text, duplicate a record (duplicate key), add an unknown key, or move
a value of one fact to another. The facts are written as YAML or as JSON, read as a facts file,
bound and evaluated with a trace, and every output format is rendered; then ``rulesengine run``
and ``rulesengine explain --format json`` run on the same file.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import event, given, note
from hypothesis import strategies as st

from fuzzing import (WORK, assert_located, evaluate_and_report, extreme, get, kind_at, paths, put,
                     scaled)
from rulesengine.cli import main
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts, read_facts
from rulesengine.load.loader import load_ruleset

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parent.parent
RULESETS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "rulesets").glob("*.yaml"))


@lru_cache(maxsize=None)
def program(path: str):
    return load_program(str(ROOT / path))


@lru_cache(maxsize=None)
def base_facts(path: str) -> dict:
    examples = load_ruleset(str(ROOT / path)).value["examples"]
    return next(iter(examples.values()))["facts"]


def test_every_seed_ruleset_is_fuzzed():
    assert len(RULESETS) >= 5 and all(base_facts(path) for path in RULESETS)


# --- hostile values --------------------------------------------------------------------------------
HOSTILE = st.one_of(
    st.sampled_from([
        None, True, False, 0, 1, -1, "", " ", "\t", "0", "-0", "-0.00", "0.00",
        "1,234.50", "1，234.50", "12.5万", "3亿", "100元", "¥100", "100 元", "1 234.50", "1'234.50",
        "１２３４.５０", "一百", "五%", "5 %", "5%%", "%5", "-5%", "150%", "1e+999999", "1e-999999",
        "1e+1000000", "-1E+999999", "1.5e+3", "1.5E3", "NaN", "nan", "-nan", "sNaN", "Infinity", "inf",
        "-inf", ".inf", "-.inf", ".nan", "0x10", "0o17", "0b101", "010", "1:30", "1_000", "+5", ".5",
        "5.", "1.2.3", "--5", "5-", "1e", "e5", "true", "True", "yes", "no", "on", "off", "是", "否",
        "null", "~", "2024-02-30", "2024-13-01", "2023-02-29", "0000-01-01", "0001-01-01",
        "9999-12-31", "10000-01-01", "-2024-01-01", "2024/01/31", "2024-1-1", "20240131",
        "2024-01-31T00:00:00", "优秀", "良好", "合格", "不合格", "优", "GOOD", "优秀 ", " 优秀",
        "结余", "超支", "筹资总额", "\x00", "\x1b[31m", "\u202e", "\ufeff", "\u200b", "a" * 200,
        "9" * 99, "9" * 101, "1" + "0" * 18, "1e+99999999999999999999", "-1E-9999999999999999999",
        "-" + "9" * 40, "H50015200011", "__class__",
        "${HOME}", "$(id)", "{{7*7}}", "'; DROP TABLE x; --", [], {}, [1, 2], {"a": 1}, [[]], [{}],
        10**17, 10**18, -10**18, 10**30, 10**99, 2**63, -2**63, 2**64, Decimal("0.001"),
        Decimal("0.005"), Decimal("-0.01"), Decimal("1E-30"), Decimal("99999999999999999.99"),
        Decimal("999999999999999999.99"), Decimal("1000000000000000000.00"),
    ]),
    st.integers(-10**40, 10**40),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.decimals(min_value=-10**6, max_value=10**6, places=3),
    st.text(max_size=12),
    st.dates().map(lambda d: d.isoformat()),
    st.lists(st.integers(-5, 5), max_size=3),
)
WRONG_KEYS = st.one_of(st.sampled_from(["", " ", "__class__", "__import__", "unknown", "中文",
                                        "code ", "Code", "members", "clearing_year ", "\x00"]),
                       st.text(min_size=1, max_size=8))
OPERATIONS = ["drop", "replace", "replace", "negate", "as_text", "separators", "duplicate",
              "unknown_key", "move", "drop_field_everywhere", "empty"]


def mutate(data, facts, ruleset, valid: bool):
    """Apply one random mutation; return the new facts. ``valid``: only values of the right
    type (at their edges), so that the facts still bind and the evaluation is pushed."""
    if valid:
        typed = [(p, k) for p in paths(facts) if (k := kind_at(ruleset, p)) is not None]
        path, (kind, values) = data.draw(st.sampled_from(typed), label="path")
        event("mutation: valid extreme")
        return put(facts, path, data.draw(extreme(kind, values), label="value"))
    path = data.draw(st.sampled_from(paths(facts)), label="path")
    operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
    current = get(facts, path)
    event(f"mutation: {operation}")
    if operation == "drop" and path:
        parent = get(facts, path[:-1])
        del parent[path[-1]]
        return facts
    if operation == "negate" and isinstance(current, (int, Decimal)) and not isinstance(current, bool):
        return put(facts, path, -current)
    if operation == "as_text" and isinstance(current, (int, Decimal, bool)):
        return put(facts, path, str(current))
    if operation == "separators" and isinstance(current, (int, Decimal)) and not isinstance(current, bool):
        style = data.draw(st.sampled_from(["{:,}", "{}万", "{}元", "{:_}", "+{}", " {} ", "{}.",
                                           "{:e}", "fullwidth"]))
        if style == "fullwidth":
            text = str(current).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
        else:
            try:
                text = style.format(current)
            except ValueError:  # "{:_}" of a Decimal
                text = f"{current}_0"
        return put(facts, path, text)
    if operation == "duplicate" and path and isinstance(get(facts, path[:-1]), list):
        get(facts, path[:-1]).append(copy.deepcopy(current))
        return facts
    if operation == "unknown_key" and isinstance(current, dict):
        current[data.draw(WRONG_KEYS, label="key")] = data.draw(HOSTILE, label="value")
        return facts
    if operation == "move":
        donor = get(facts, data.draw(st.sampled_from(paths(facts)), label="from"))
        return put(facts, path, copy.deepcopy(donor))
    if operation == "drop_field_everywhere" and isinstance(current, list):
        for record in current:
            if isinstance(record, dict) and record:
                record.pop(data.draw(st.sampled_from(sorted(record)), label="field"), None)
        return facts
    if operation == "empty":
        return put(facts, path, type(current)() if isinstance(current, (list, dict, str)) else None)
    return put(facts, path, data.draw(HOSTILE, label="value"))


# --- writing a facts file --------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Decimal, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:float", str(value)))


def write_facts(facts, as_json: bool) -> str:
    if as_json:
        text = json.dumps(facts, ensure_ascii=False, default=str)
        path = WORK / "facts.json"
    else:
        text = yaml.dump(facts, Dumper=_Dumper, allow_unicode=True, sort_keys=False)
        path = WORK / "facts.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return str(path)


# --- known engine bug: an as-of year outside 1..9999 ---------------------------------------------------
# --- the command line ----------------------------------------------------------------------------------
def cli(args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with mock.patch("rulesengine.cli.load_program", lambda path: program(path)), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(args)
    return status, err.getvalue()


def first_rule(path: str) -> str:
    decls = program(path).ruleset.declarations
    return "settlement_amount" if "settlement_amount" in decls else \
        next(d for d in decls.values() if d.kind == "rule" and d.entity is None).id


# --- the property ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("ruleset", RULESETS)
@scaled(0.4)
@given(data=st.data())
def test_random_facts_evaluate_or_fail_located(ruleset, data):
    prog = program(ruleset)
    facts = copy.deepcopy(base_facts(ruleset))
    valid = data.draw(st.booleans(), label="valid")
    for _ in range(data.draw(st.integers(1, 5), label="mutations")):
        facts = mutate(data, facts, prog.ruleset, valid)
    path = write_facts(facts, data.draw(st.booleans(), label="json"))
    note(Path(path).read_text(encoding="utf-8", errors="surrogatepass")[:3000])
    try:
        bound = bind_facts(prog.ruleset, read_facts(path))
    except Exception as err:  # noqa: BLE001 - the assertion says which
        assert_located(err)
        event("refused")
        status, err_text = cli(["run", ruleset, "--facts", path])
        assert status == 2 and "Traceback" not in err_text and "internal error" not in err_text, err_text
        return
    evaluation = evaluate_and_report(prog, bound, validate_trace=data.draw(st.booleans(), label="validate"))
    event("evaluated with errors" if evaluation.errors else "evaluated")
    status, err_text = cli(["run", ruleset, "--facts", path])
    assert "Traceback" not in err_text and "internal error" not in err_text, err_text
    assert status == 2 if evaluation.errors else status in (0, 1), err_text
    status, err_text = cli(["explain", ruleset, first_rule(ruleset), "--facts", path, "--format", "json"])
    assert status in (0, 1, 2) and "Traceback" not in err_text, err_text


# --- clearing years outside the calendar ----------------------------------------------------------
@pytest.mark.parametrize("year", [0, -1, 10000])
def test_clearing_year_outside_the_calendar_is_a_located_error(year):
    prog = program("rulesets/sanya_2024.yaml")
    facts = bind_facts(prog.ruleset, prog.ruleset.examples["group_2024"].facts)
    facts["clearing_year"] = year
    evaluation = prog.evaluate(facts)
    assert evaluation.errors and all(err.span is not None for err in evaluation.errors)


def test_clearing_year_outside_the_calendar_exits_2(tmp_path):
    facts = dict(base_facts("rulesets/sanya_2024.yaml"), clearing_year=99999)
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts, ensure_ascii=False, default=str), encoding="utf-8")
    status, err_text = cli(["run", "rulesets/sanya_2024.yaml", "--facts", str(path)])
    assert status == 2, err_text
