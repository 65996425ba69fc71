"""Dates (literals, functions, comparisons, facts) and dated parameter values (as-of,
no value in force, stale and out-of-period warnings).

Fixtures: tests/fixtures/dates.yaml (a filing calendar: deadline = date(clearing_year + 1, 1, 15))
and tests/fixtures/dated.yaml (dialysis_quota 100.00 from 2023-01-01, 120.00 from 2025-07-01;
effective 2024-01-01 to 2026-12-31; dialysis_payment = dialysis_quota × sessions). Expected
dates and amounts are worked by hand in the comments.
"""

from __future__ import annotations

import json
import pathlib
from datetime import date
from decimal import Decimal as D

import jsonschema
import pytest

from conftest import METADATA, locate, same_file
from rulesengine.cli import main
from rulesengine.evaluate.driver import load_program
from rulesengine.core.errors import CheckFailed, RulesError, flatten
from rulesengine.evaluate.facts import bind_facts, example_facts, read_facts
from rulesengine.load.loader import schema
from rulesengine.views.report import dumps, run_json, trace_json

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
DATES = FIXTURES / "dates.yaml"
DATED = FIXTURES / "dated.yaml"


# --- helpers ---------------------------------------------------------------------------------
def write(tmp_path, text: str, name: str = "facts.yaml") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def evaluate_dates(tmp_path, facts_text: str, **kw):
    prog = load_program(str(DATES))
    facts = bind_facts(prog.ruleset, read_facts(str(write(tmp_path, facts_text))))
    return prog, prog.evaluate(facts, **kw)


def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


# --- date literals and functions --------------------------------------------------------------
def test_date_literal_date_function_and_parts(tmp_path):
    prog, ev = evaluate_dates(tmp_path, "clearing_year: 2025\nfiled_on: 2026-03-01\n"
                                        "period_start: 2024-01-31\n")
    values = ev.values
    assert ev.errors == []
    assert values["fixed_day"] == date(2025, 1, 15)  # the literal 2025-01-15
    assert values["deadline"] == date(2026, 1, 15)  # date(2025 + 1, 1, 15)
    assert (values["filed_year"], values["filed_month"], values["filed_day"]) == (2026, 3, 1)
    # 2026-01-15 -> 2026-03-01: 16 days to 31 Jan, 28 in February (2026 is not leap), 1 in March
    assert values["days_late"] == 45
    assert values["days_to_deadline"] == -45
    assert values["later_day"] == date(2026, 3, 1)  # max(2026-03-01, 2026-01-15)


@pytest.mark.parametrize("start, ten, before, month, thirteen, year, month_end", [
    # 31 Jan 2024 + 1 month: February 2024 has 29 days -> 29 Feb; + 13 months -> Feb 2025 (28 days)
    ("2024-01-31", "2024-02-10", "2024-01-30", "2024-02-29", "2025-02-28", "2025-01-31", "2024-01-31"),
    # 31 Jan 2025 + 1 month: February 2025 has 28 days -> 28 Feb
    ("2025-01-31", "2025-02-10", "2025-01-30", "2025-02-28", "2026-02-28", "2026-01-31", "2025-01-31"),
    # 29 Feb 2024 + 1 year: no 29 Feb 2025 -> 28 Feb; 29 Feb + 1 day = 1 Mar, + 10 days = 10 Mar
    ("2024-02-29", "2024-03-10", "2024-02-28", "2024-03-29", "2025-03-29", "2025-02-28", "2024-02-29"),
    # 1 Mar 2025 - 1 day = 28 Feb 2025; March has 31 days
    ("2025-03-01", "2025-03-11", "2025-02-28", "2025-04-01", "2026-04-01", "2026-03-01", "2025-03-31"),
    # end of February in a leap year (2024), a common year (2025), 2100 (divisible by 100, not 400:
    # common) and 2000 (divisible by 400: leap)
    ("2024-02-10", "2024-02-20", "2024-02-09", "2024-03-10", "2025-03-10", "2025-02-10", "2024-02-29"),
    ("2025-02-10", "2025-02-20", "2025-02-09", "2025-03-10", "2026-03-10", "2026-02-10", "2025-02-28"),
    ("2100-02-10", "2100-02-20", "2100-02-09", "2100-03-10", "2101-03-10", "2101-02-10", "2100-02-28"),
    ("2000-02-10", "2000-02-20", "2000-02-09", "2000-03-10", "2001-03-10", "2001-02-10", "2000-02-29"),
    # across the year end: 31 Dec + 10 days = 10 Jan; + 1 month = 31 Jan
    ("2024-12-31", "2025-01-10", "2024-12-30", "2025-01-31", "2026-01-31", "2025-12-31", "2024-12-31"),
])
def test_add_days_months_years_and_end_of_month(tmp_path, start, ten, before, month, thirteen,
                                                year, month_end):
    _, ev = evaluate_dates(tmp_path, f"clearing_year: 2025\nfiled_on: 2026-01-15\n"
                                     f"period_start: {start}\n")
    got = {name: ev.values[name].isoformat() for name in (
        "ten_days_later", "day_before", "one_month_later", "thirteen_months_later",
        "one_year_later", "month_end")}
    assert got == {"ten_days_later": ten, "day_before": before, "one_month_later": month,
                   "thirteen_months_later": thirteen, "one_year_later": year, "month_end": month_end}


@pytest.mark.parametrize("year, filed, late", [
    (2025, "2026-01-16", 1),     # one day after 2026-01-15
    (2025, "2026-01-15", 0),     # on the deadline
    (2025, "2025-12-31", -15),   # 15 days early: 31 Dec -> 15 Jan
    # 2028 is a leap year: 16 days to 31 Jan, 29 in February, 1 in March = 46
    (2027, "2028-03-01", 46),
])
def test_days_between(tmp_path, year, filed, late):
    _, ev = evaluate_dates(tmp_path, f"clearing_year: {year}\nfiled_on: {filed}\n"
                                     "period_start: 2025-01-01\n")
    assert ev.values["days_late"] == late
    assert ev.values["days_to_deadline"] == -late


def test_date_comparison_in_checks(tmp_path):
    _, ev = evaluate_dates(tmp_path, "clearing_year: 2025\nfiled_on: 2026-01-16\n"
                                     "period_start: 2025-01-01\n")
    on_time = next(c for c in ev.checks if c.id == "on_time")
    # filed 2026-01-16 is after the deadline 2026-01-15
    assert not on_time.passed
    assert on_time.sides == (date(2026, 1, 16), date(2026, 1, 15))
    # a date comparison's difference is in days: 2026-01-16 − 2026-01-15 = 1 day
    assert on_time.difference == 1
    _, ev = evaluate_dates(tmp_path, "clearing_year: 2025\nfiled_on: 2026-01-15\n"
                                     "period_start: 2025-01-01\n")
    assert all(c.passed for c in ev.checks)  # on the deadline day is on time


def test_failed_date_check_in_run_json_and_exit_status(tmp_path, capsys):
    facts = write(tmp_path, json.dumps({"clearing_year": 2025, "filed_on": "2026-01-16",
                                        "period_start": "2025-01-31"}), "facts.json")
    status, out, _ = cli(capsys, "run", DATES, "--facts", facts, "--format", "json")
    assert status == 1
    data = json.loads(out)
    on_time = next(c for c in data["checks"] if c["id"] == "on_time")
    assert (on_time["passed"], on_time["left"], on_time["right"]) == (False, "2026-01-16", "2026-01-15")
    assert data["values"]["deadline"] == "2026-01-15"
    assert data["values"]["one_month_later"] == "2025-02-28"  # 31 Jan 2025 + 1 month


def test_only_a_warning_check_failing_exits_0(tmp_path, capsys):
    # filed 2025-01-14: on time (before 2026-01-15) but before the fixed day 2025-01-15 (a warning)
    facts = write(tmp_path, "clearing_year: 2025\nfiled_on: 2025-01-14\nperiod_start: 2025-01-01\n")
    status, out, _ = cli(capsys, "run", DATES, "--facts", facts)
    assert status == 0
    assert "WARNING after_fixed_day" in out


# --- dates in facts ----------------------------------------------------------------------------------
def test_facts_give_dates_as_iso_text_in_yaml_and_json(tmp_path):
    prog = load_program(str(DATES))
    from_yaml = bind_facts(prog.ruleset, read_facts(str(write(
        tmp_path, "clearing_year: 2025\nfiled_on: 2026-01-16\nperiod_start: '2024-02-29'\n"))))
    from_json = bind_facts(prog.ruleset, read_facts(str(write(tmp_path, json.dumps(
        {"clearing_year": 2025, "filed_on": "2026-01-16", "period_start": "2024-02-29"}), "f.json"))))
    assert from_yaml == from_json
    assert from_yaml["filed_on"] == date(2026, 1, 16)
    assert from_yaml["period_start"] == date(2024, 2, 29)


@pytest.mark.parametrize("text", ["2026/01/16", "20260116", "16.01.2026"])
def test_non_iso_date_fact_is_refused_located(tmp_path, text):
    prog = load_program(str(DATES))
    path = write(tmp_path, f"clearing_year: 2025\nfiled_on: '{text}'\nperiod_start: 2025-01-01\n")
    with pytest.raises(CheckFailed) as info:
        bind_facts(prog.ruleset, read_facts(str(path)))
    [err] = info.value.errors
    assert err.code == "bad-fact" and "'filed_on'" in err.message and "2024-12-31" in err.message
    # line 2, after "filed_on: " (10 characters)
    assert same_file(err.span.file, path) and (err.span.line, err.span.col) == (2, 11)


def test_impossible_date_fact_is_refused(tmp_path):
    prog = load_program(str(DATES))
    path = write(tmp_path, "clearing_year: 2025\nfiled_on: 2026-02-30\nperiod_start: 2025-01-01\n")
    with pytest.raises(CheckFailed) as info:
        bind_facts(prog.ruleset, read_facts(str(path)))
    [err] = info.value.errors
    assert err.code == "bad-fact" and (err.span.line, err.span.col) == (2, 11)


def test_impossible_date_fact_says_not_a_calendar_date(tmp_path):
    prog = load_program(str(DATES))
    path = write(tmp_path, "clearing_year: 2025\nfiled_on: 2026-02-30\nperiod_start: 2025-01-01\n")
    with pytest.raises(CheckFailed) as info:
        bind_facts(prog.ruleset, read_facts(str(path)))
    assert "not a calendar date" in info.value.errors[0].message


# --- checker: date types --------------------------------------------------------------------------
DATE_INPUTS = """\
inputs:
  clearing_year: {label: 清算年度, type: integer, citation: 一}
  filed_on: {label: 报送日期, type: date, citation: 一}
  amount: {label: 金额, type: money, citation: 一}
"""
# METADATA lines 1-8, DATE_INPUTS 9-12, "rules:" 13, the rule on line 14.


def rule_errors(tmp_path, formula: str, type_: str = "date") -> tuple[list[RulesError], pathlib.Path]:
    text = METADATA + DATE_INPUTS + \
        f"rules:\n  r: {{label: 规则, type: {type_}, formula: \"{formula}\", citation: 二}}\n"
    path = write(tmp_path, text, "ruleset.yaml")
    with pytest.raises(RulesError) as info:
        load_program(str(path))
    return flatten(info.value), path


def formula_col(type_: str) -> int:
    # "  r: {label: 规则, type: " is 23 characters, then the type, ", formula: \"" (12)
    return 23 + len(type_) + 12 + 1


def test_date_plus_number_refused_with_hint(tmp_path):
    errors, path = rule_errors(tmp_path, "filed_on + 1")
    assert [e.code for e in errors] == ["type-mismatch"]
    err = errors[0]
    assert "date" in err.message
    assert "add_days" in err.hint
    assert same_file(err.span.file, path) and (err.span.line, err.span.col) == (14, formula_col("date"))


def test_date_minus_date_refused_with_hint(tmp_path):
    errors, _ = rule_errors(tmp_path, "filed_on - filed_on", "integer")
    assert [e.code for e in errors] == ["type-mismatch"]
    assert "days_between" in errors[0].hint


@pytest.mark.parametrize("formula, type_, words", [
    ("filed_on > amount", "boolean", "compare"),            # a date is not an amount
    ("add_days(filed_on, 1.5)", "date", "integer"),         # days are whole
    ("days_between(filed_on, 5)", "integer", "date"),       # both arguments are dates
    ("year(clearing_year)", "integer", "date"),
])
def test_date_functions_check_their_argument_types(tmp_path, formula, type_, words):
    errors, _ = rule_errors(tmp_path, formula, type_)
    assert [e.code for e in errors] == ["type-mismatch"]
    assert words in errors[0].message


def test_invalid_date_literal_is_located(tmp_path):
    errors, path = rule_errors(tmp_path, "add_days(2025-02-30, 1)")
    assert [e.code for e in errors] == ["formula-syntax"]
    assert "2025-02-30" in errors[0].message
    # the literal starts after "add_days(" (9 characters)
    assert (errors[0].span.line, errors[0].span.col) == (14, formula_col("date") + 9)


RUNTIME = METADATA + DATE_INPUTS + """\
rules:
  bad_day: {label: 不存在的日期, type: date, formula: "date(clearing_year + 1, 2, 30)", citation: 二}
  doubled: {label: 翻倍, type: money, formula: amount * 2, citation: 三}
examples:
  e: {label: 例, facts: {clearing_year: 2025, filed_on: 2026-01-15, amount: 10.00}}
"""


def test_impossible_date_at_run_time_is_a_located_error(tmp_path):
    path = write(tmp_path, RUNTIME, "ruleset.yaml")
    prog = load_program(str(path))
    ev = prog.evaluate(bind_facts(prog.ruleset, example_facts(prog.ruleset, None)))
    assert len(ev.errors) == 1 and ev.errors[0].span.line == 14
    assert ev.values["doubled"] == D("20.00")  # 10.00 × 2


def test_date_out_of_range_at_run_time_exits_2(tmp_path, capsys):
    text = METADATA + DATE_INPUTS + """\
  days: {label: 天数, type: integer, citation: 一}
rules:
  far: {label: 远期, type: date, formula: "add_days(filed_on, days)", citation: 二}
examples:
  e: {label: 例, facts: {clearing_year: 2025, filed_on: 2026-01-15, amount: 1.00, days: 99999999}}
"""
    path = write(tmp_path, text, "ruleset.yaml")
    status, _, err = cli(capsys, "run", path, "--example")
    assert status == 2 and "internal error" not in err


# --- dated parameters ---------------------------------------------------------------------------
def dated(facts_override: dict | None = None, drop: tuple = ()):
    prog = load_program(str(DATED))
    facts = bind_facts(prog.ruleset, example_facts(prog.ruleset, None))  # 2025, 3 sessions, 80.00
    facts.update(facts_override or {})
    for name in drop:
        del facts[name]
    return prog, facts


def codes(items) -> list[str]:
    return sorted(item.code for item in items)


@pytest.mark.parametrize("as_of, quota, payment", [
    (date(2025, 6, 30), "100.00", "300.00"),   # the 2023-01-01 value: 100.00 × 3
    (date(2025, 7, 1), "120.00", "360.00"),    # from 2025-07-01: 120.00 × 3
    (date(2024, 1, 1), "100.00", "300.00"),
])
def test_dated_value_chosen_by_explicit_as_of(as_of, quota, payment):
    prog, facts = dated()  # clearing_year 2025 is overridden by the explicit as_of
    ev = prog.evaluate(facts, as_of=as_of)
    assert ev.as_of == as_of
    assert ev.values["dialysis_quota"] == D(quota)
    assert ev.values["dialysis_payment"] == D(payment)
    assert ev.errors == [] and ev.warnings == []


def test_as_of_defaults_to_31_december_of_clearing_year():
    prog, facts = dated()
    ev = prog.evaluate(facts, trace=True)
    assert ev.as_of == date(2025, 12, 31)
    assert ev.values["dialysis_payment"] == D("360.00")  # 120.00 × 3
    assert ev.warnings == []
    node = next(n for n in ev.trace if n.id == "dialysis_quota")
    assert node.source == "in force from 2025-07-01 (as of 2025-12-31)"


def test_as_of_without_clearing_year_is_the_start_of_the_effective_period():
    prog, facts = dated(drop=("clearing_year",))
    ev = prog.evaluate(facts, ["dialysis_payment"])
    assert ev.as_of == date(2024, 1, 1)
    assert ev.values["dialysis_payment"] == D("300.00")  # 100.00 × 3
    assert ev.errors == []


def test_missing_unused_clearing_year_message_is_not_empty():
    prog, facts = dated(drop=("clearing_year",))
    ev = prog.evaluate(facts)
    assert not [e for e in ev.errors if e.message.rstrip().endswith("needed by")]


def test_clearing_year_setting_the_as_of_date_is_not_unused():
    prog = load_program(str(DATED))
    assert [w.message for w in prog.ruleset.warnings if "clearing_year" in w.message] == []


def test_no_value_in_force_before_the_first_date():
    prog, facts = dated()
    ev = prog.evaluate(facts, as_of=date(2022, 12, 31))
    assert [e.code for e in ev.errors] == ["no-value-in-force"]
    err = ev.errors[0]
    assert "2022-12-31" in err.message and "2023-01-01" in err.message
    assert same_file(err.span.file, DATED) and (err.span.line, err.span.col) == locate(DATED, "dialysis_quota:")
    assert ev.skipped == {"dialysis_payment": "dialysis_quota"}
    assert ev.values["other_half"] == D("40.00")  # 80.00 × 50%, independent
    # 2022-12-31 is also before the effective period (from 2024-01-01)
    assert codes(ev.warnings) == ["out-of-period"]


def test_stale_parameter_warning_when_latest_value_is_from_an_earlier_year():
    prog, facts = dated()
    ev = prog.evaluate(facts, as_of=date(2026, 6, 30))
    # latest value from 2025-07-01; 2025 < 2026. 2026-06-30 is inside the effective period.
    assert codes(ev.warnings) == ["stale-parameter"]
    assert ev.values["dialysis_payment"] == D("360.00")  # still 120.00 × 3
    assert ev.errors == []
    warning = ev.warnings[0]
    assert "dialysis_quota" in warning.message and warning.severity == "warning"
    assert warning.span.line == locate(DATED, "dialysis_quota:")[0]


def test_out_of_period_warning_alone():
    prog, facts = dated()
    ev = prog.evaluate(facts, as_of=date(2023, 6, 30))
    # before 2024-01-01; the 2023-01-01 value is in force; the latest value's year 2025 >= 2023
    assert codes(ev.warnings) == ["out-of-period"]
    assert ev.values["dialysis_payment"] == D("300.00")  # 100.00 × 3


def test_clearing_year_after_the_period_gives_both_warnings():
    prog, facts = dated({"clearing_year": 2027})
    ev = prog.evaluate(facts)
    assert ev.as_of == date(2027, 12, 31)
    assert codes(ev.warnings) == ["out-of-period", "stale-parameter"]
    assert ev.values["dialysis_payment"] == D("360.00")


def test_warnings_in_run_json_and_schema_valid_trace_json():
    prog, facts = dated({"clearing_year": 2027})
    ev = prog.evaluate(facts, trace=True)
    run = json.loads(dumps(run_json(prog, ev)))
    assert run["as_of"] == "2027-12-31"
    assert sorted(w["code"] for w in run["warnings"]) == ["out-of-period", "stale-parameter"]
    assert all(w["severity"] == "warning" for w in run["warnings"])
    assert run["errors"] == []
    trace = json.loads(dumps(trace_json(prog, ev)))
    jsonschema.Draft202012Validator(schema("trace")).validate(trace)
    assert trace["as_of"] == "2027-12-31"
    assert sorted(w["code"] for w in trace["warnings"]) == ["out-of-period", "stale-parameter"]
    quota = next(n for n in trace["nodes"] if n["id"] == "dialysis_quota")
    assert quota["value"] == "120.00" and quota["source"] == "in force from 2025-07-01 (as of 2027-12-31)"


def test_no_value_in_force_trace_is_schema_valid():
    prog, facts = dated()
    ev = prog.evaluate(facts, trace=True, as_of=date(2022, 12, 31))
    trace = json.loads(dumps(trace_json(prog, ev)))
    jsonschema.Draft202012Validator(schema("trace")).validate(trace)
    assert [e["code"] for e in trace["errors"]] == ["no-value-in-force"]


def test_cli_as_of_option(capsys):
    status, out, _ = cli(capsys, "run", DATED, "--example", "--as-of", "2025-06-30", "--format", "json")
    assert status == 0
    data = json.loads(out)
    assert data["as_of"] == "2025-06-30"
    assert data["values"]["dialysis_payment"] == "300.00"  # 100.00 × 3


def test_cli_no_value_in_force_exits_2_and_warns(capsys):
    status, out, err = cli(capsys, "run", DATED, "--example", "--as-of", "2022-12-31")
    assert status == 2
    assert "error[no-value-in-force]" in err
    assert "warning[out-of-period]" in out + err
    assert "40.00" in out  # other_half = 80.00 × 50%


def test_cli_explain_shows_as_of_and_stale_warning(capsys):
    status, out, _ = cli(capsys, "explain", DATED, "dialysis_payment", "--example", "--as-of", "2026-06-30")
    assert status == 0
    assert "as of: 2026-06-30" in out
    assert "warning[stale-parameter]" in out
