"""Collections (entities): per-record rules and checks, aggregations, child collections,
facts problems with records, checker errors, and the command line over collections.

Fixtures: tests/fixtures/members.yaml (a 医共体 budget transfer table) and
tests/fixtures/hospitals.yaml (institutions with their cases). Every expected value is
worked by hand in a comment from the facts written in the test or the fixture's example:

members.yaml, example three_members:
  code  license kind    before    transfer  claimed  signed
  M01   L1      卫生院  1000.00    200.00   100.05   true
  M02   L2      卫生院   800.00   -150.00     0.03   true
  M03   L3      社区     500.00    -50.00    10.01   false
  floor_amount = 500.00 (parameter), pool = 10000.00

hospitals.yaml: H1 (coefficient 1.2) has C1 (cost 5000.00, score 100) and C2 (12000.00, 300);
H2 (0.8) has C3 (20000.00, 250); H3 (1.0) has none. point_value = 10.00, high_cost_line = 10000.00.
"""

from __future__ import annotations

import json
import pathlib
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
MEMBERS = FIXTURES / "members.yaml"
HOSPITALS = FIXTURES / "hospitals.yaml"


# --- helpers ---------------------------------------------------------------------------------
def program(path: pathlib.Path):
    return load_program(str(path))


def example(prog, name: str | None = None) -> dict:
    return bind_facts(prog.ruleset, example_facts(prog.ruleset, name))


def write(tmp_path, text: str, name: str = "facts.yaml") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def facts_from(tmp_path, prog, text: str) -> dict:
    return bind_facts(prog.ruleset, read_facts(str(write(tmp_path, text))))


def fact_errors(tmp_path, prog, text: str) -> tuple[list[RulesError], pathlib.Path]:
    path = write(tmp_path, text)
    with pytest.raises(CheckFailed) as info:
        bind_facts(prog.ruleset, read_facts(str(path)))
    return info.value.errors, path


def per_record(prog, evaluation, decl_id: str) -> dict:
    """A per-record value as {record key: value}."""
    return dict(zip(evaluation.keys(decl_id, prog.ruleset), evaluation.values[decl_id]))


def at(err: RulesError, path: pathlib.Path, line: int, col: int) -> bool:
    return err.span is not None and same_file(err.span.file, path) and \
        (err.span.line, err.span.col) == (line, col)


MEMBER_ROW = "{{code: {code}, license: {license}, kind: {kind}, before: {before}, " \
             "transfer: {transfer}, claimed: {claimed}, signed: {signed}}}"


def members_facts(*rows: dict, pool: str = "10000.00") -> str:
    """A facts file: pool and the members given (defaults for fields not given)."""
    text = f"pool: {pool}\nmembers:\n"
    for row in rows:
        full = dict(license="L" + row["code"][1:], kind="卫生院", before="1000.00", transfer="0",
                    claimed="0", signed="true")
        full.update(row)
        text += "  - " + MEMBER_ROW.format(**full) + "\n"
    return text


# --- aggregations and per-record rules --------------------------------------------------------
def test_per_record_rule_gives_one_value_per_key():
    prog = program(MEMBERS)
    ev = prog.evaluate(example(prog))
    assert ev.errors == []
    # after = before - transfer: 1000.00 - 200.00 = 800.00; 800.00 - (-150.00) = 950.00;
    # 500.00 - (-50.00) = 550.00
    assert per_record(prog, ev, "member.after") == {"M01": D("800.00"), "M02": D("950.00"),
                                                    "M03": D("550.00")}
    # receiver = transfer < 0: M01 200.00 no, M02 -150.00 yes, M03 -50.00 yes
    assert per_record(prog, ev, "member.receiver") == {"M01": False, "M02": True, "M03": True}


def test_sum_count_distinct_any_all():
    prog = program(MEMBERS)
    ev = prog.evaluate(example(prog))
    values = ev.values
    assert values["total_before"] == D("2300.00")  # 1000.00 + 800.00 + 500.00
    assert values["total_after"] == D("2300.00")  # 800.00 + 950.00 + 550.00
    assert values["transfer_net"] == D("0.00")  # 200.00 - 150.00 - 50.00
    assert values["member_count"] == 3
    assert values["kind_count"] == 2  # {卫生院, 社区}
    assert values["any_receiver"] is True  # M02 (and M03) transfer < 0
    assert values["all_signed"] is False  # M03 has not signed


def test_min_and_max_of_one_collection_field():
    prog = program(MEMBERS)
    ev = prog.evaluate(example(prog))
    assert ev.values["smallest_after"] == D("550.00")  # min(800.00, 950.00, 550.00), M03
    assert ev.values["largest_after"] == D("950.00")  # max(...), M02
    assert ev.values["spread"] == D("400.00")  # 950.00 - 550.00


def test_where_filters_the_records_aggregated():
    prog = program(MEMBERS)
    ev = prog.evaluate(example(prog))
    # records with transfer < 0: M02 (-150.00) and M03 (-50.00)
    assert ev.values["receiver_count"] == 2
    assert ev.values["received"] == D("-200.00")  # -150.00 + -50.00


def test_where_filter_shown_in_trace():
    prog = program(MEMBERS)
    ev = prog.evaluate(example(prog), ["received"], trace=True)
    node = next(n for n in trace_json(prog, ev)["nodes"] if n["id"] == "received")
    # two records pass the filter; their sum is -150.00 + -50.00 = -200.00
    assert node["aggregates"] == [{"function": "sum", "collection": "members", "field": "transfer",
                                   "where": "transfer < 0", "records": 2, "value": "-200.00"}]


def test_share_aggregates_own_collection_inside_a_per_record_rule():
    prog = program(MEMBERS)
    ev = prog.evaluate(example(prog))
    # share = after / sum(members.after), sum = 2300.00, rounded to 4 places half up:
    # 800/2300 = 0.347826… -> 0.3478; 950/2300 = 0.413043… -> 0.4130; 550/2300 = 0.239130… -> 0.2391
    assert per_record(prog, ev, "member.share") == {"M01": D("0.3478"), "M02": D("0.4130"),
                                                    "M03": D("0.2391")}


def test_per_record_rounding_is_half_up_on_each_record_before_summing():
    prog = program(MEMBERS)
    ev = prog.evaluate(example(prog), trace=True)
    # claimed * 50%: 100.05 -> 50.025 -> 50.03; 0.03 -> 0.015 -> 0.02; 10.01 -> 5.005 -> 5.01
    assert per_record(prog, ev, "member.half_claimed") == {"M01": D("50.03"), "M02": D("0.02"),
                                                           "M03": D("5.01")}
    # the sum of the rounded values: 50.03 + 0.02 + 5.01 = 55.06
    # (summing first would give 55.045 -> 55.05)
    assert ev.values["half_claimed_total"] == D("55.06")
    node = next(n for n in trace_json(prog, ev)["nodes"] if n["id"] == "member.half_claimed")
    first = node["records"][0]
    assert first["key"] == "M01" and first["value"] == "50.03"
    assert D(first["before_rounding"]) == D("50.025")


# --- empty collection -------------------------------------------------------------------------
def test_empty_collection_sums_to_zero_and_min_max_fail_located(tmp_path):
    prog = program(MEMBERS)
    ev = prog.evaluate(facts_from(tmp_path, prog, "pool: 10000.00\nmembers: []\n"))
    values = ev.values
    assert values["total_before"] == 0 and values["total_after"] == 0
    assert values["member_count"] == 0 and values["receiver_count"] == 0
    assert values["kind_count"] == 0
    assert values["any_receiver"] is False and values["all_signed"] is True
    assert values["member.after"] == []
    assert values["pool_half"] == D("5000.00")  # 10000.00 × 50%, independent of members
    errors = {e.message.split("(")[0]: e for e in ev.errors}
    assert sorted(e.code for e in ev.errors) == ["empty-collection", "empty-collection"]
    line, col = locate(MEMBERS, "min(members.after)")
    assert at(errors["min"], MEMBERS, line, col), errors["min"].span
    line, col = locate(MEMBERS, "max(members.after)")
    assert at(errors["max"], MEMBERS, line, col), errors["max"].span
    assert "smallest_after" not in values and "largest_after" not in values
    assert ev.skipped == {"spread": ev.skipped["spread"]}
    assert ev.skipped["spread"] in ("smallest_after", "largest_after")
    checks = {c.id: c for c in ev.checks}
    assert checks["conserved"].passed  # 0.00 == 0.00
    assert checks["member.above_floor"].passed and checks["member.above_floor"].checked == 0


# --- child collections --------------------------------------------------------------------------
@pytest.mark.parametrize("example_name", ["nested", "flat"])
def test_child_collection_aggregated_per_parent(example_name):
    prog = program(HOSPITALS)
    ev = prog.evaluate(example(prog, example_name))
    assert ev.errors == []
    # case.points = score × institution.coefficient: C1 100 × 1.2 = 120; C2 300 × 1.2 = 360;
    # C3 250 × 0.8 = 200
    assert per_record(prog, ev, "case.points") == {"C1": D("120"), "C2": D("360"), "C3": D("200")}
    # institution.points = sum of its own cases: H1 120 + 360 = 480; H2 200; H3 none = 0
    assert per_record(prog, ev, "institution.points") == {"H1": D("480"), "H2": D("200"), "H3": 0}
    assert per_record(prog, ev, "institution.case_count") == {"H1": 2, "H2": 1, "H3": 0}
    # cost > 10000.00: H1 only C2 (12000.00); H2 C3 (20000.00); H3 none
    assert per_record(prog, ev, "institution.high_cost_count") == {"H1": 1, "H2": 1, "H3": 0}
    # payable = points × 10.00: 4800.00, 2000.00, 0.00
    assert per_record(prog, ev, "institution.payable") == {"H1": D("4800.00"), "H2": D("2000.00"),
                                                           "H3": D("0.00")}
    assert ev.values["total_points"] == 680  # 480 + 200 + 0
    assert ev.values["all_case_points"] == 680  # top level: all cases, 120 + 360 + 200
    assert ev.values["total_payable"] == D("6800.00")  # 4800.00 + 2000.00 + 0.00
    assert ev.values["case_total"] == 3


def test_nested_and_flat_child_facts_give_the_same_run_json():
    prog = program(HOSPITALS)
    nested = run_json(prog, prog.evaluate(example(prog, "nested")))
    flat = run_json(prog, prog.evaluate(example(prog, "flat")))
    assert nested["values"] == flat["values"]
    assert nested["values"]["institution.points"] == {"H1": "480", "H2": "200", "H3": "0"}


def test_child_rule_reads_parent_field_in_trace():
    prog = program(HOSPITALS)
    ev = prog.evaluate(example(prog, "nested"), ["case.points"], trace=True)
    node = next(n for n in trace_json(prog, ev)["nodes"] if n["id"] == "case.points")
    records = {r["key"]: r for r in node["records"]}
    # C3 belongs to H2: 250 × 0.8
    assert records["C3"]["substituted"] == "250 * 0.8"
    assert records["C3"]["value"] == "200"
    assert "institution.coefficient" in node["inputs"]


# --- checks over records ----------------------------------------------------------------------
def test_per_record_check_reports_failing_records_with_sides(tmp_path):
    prog = program(MEMBERS)
    facts = facts_from(tmp_path, prog, members_facts(
        dict(code="M01", before="1000.00", transfer="550.00"),
        dict(code="M02", before="800.00", transfer="-750.00"),
        dict(code="M03", before="500.00", transfer="200.00")))
    ev = prog.evaluate(facts)
    # after: 1000.00 - 550.00 = 450.00; 800.00 + 750.00 = 1550.00; 500.00 - 200.00 = 300.00
    # floor 500.00: M01 fails (450.00 - 500.00 = -50.00), M03 fails (300.00 - 500.00 = -200.00)
    check = next(c for c in ev.checks if c.id == "member.above_floor")
    assert not check.passed and check.checked == 3
    assert [r.key for r in check.records] == ["M01", "M03"]
    assert check.records[0].sides == (D("450.00"), D("500.00"))
    assert check.records[0].difference == D("-50.00")
    assert check.records[1].sides == (D("300.00"), D("500.00"))
    assert check.records[1].difference == D("-200.00")
    # transfers 550.00 - 750.00 + 200.00 = 0.00: conservation holds
    assert [c.id for c in ev.failed_checks] == ["member.above_floor"]


def test_conservation_check_fails_with_both_sides_and_the_gap(tmp_path):
    prog = program(MEMBERS)
    facts = facts_from(tmp_path, prog, members_facts(
        dict(code="M01", before="1000.00", transfer="200.00"),
        dict(code="M02", before="800.00", transfer="-150.00"),
        dict(code="M03", before="500.00", transfer="-40.00")))
    ev = prog.evaluate(facts)
    checks = {c.id: c for c in ev.checks}
    # before 1000.00 + 800.00 + 500.00 = 2300.00; after 800.00 + 950.00 + 540.00 = 2290.00
    conserved = checks["conserved"]
    assert not conserved.passed
    assert conserved.sides == (D("2300.00"), D("2290.00"))
    assert conserved.difference == D("10.00")
    # transfers 200.00 - 150.00 - 40.00 = 10.00, against 0
    balance = checks["transfers_balance"]
    assert not balance.passed
    assert balance.sides[0] == D("10.00") and balance.sides[1] == 0
    assert balance.difference == D("10.00")
    data = run_json(prog, ev)
    shown = next(c for c in data["checks"] if c["id"] == "conserved")
    assert (shown["left"], shown["right"], shown["difference"]) == ("2300.00", "2290.00", "10.00")


def test_uniqueness_check_distinct_equals_count_fails(tmp_path):
    prog = program(MEMBERS)
    facts = facts_from(tmp_path, prog, members_facts(
        dict(code="M01", license="L1"), dict(code="M02", license="L2"),
        dict(code="M03", license="L1")))
    ev = prog.evaluate(facts)
    check = next(c for c in ev.checks if c.id == "unique_licenses")
    # distinct licenses {L1, L2} = 2, records 3: 2 - 3 = -1
    assert not check.passed
    assert check.sides == (2, 3)
    assert check.difference == -1


# --- facts problems with collections ---------------------------------------------------------------
def test_unknown_field_in_a_record_with_did_you_mean(tmp_path):
    prog = program(MEMBERS)
    text = ("members:\n"
            "  - {code: M01, license: L1, kind: a, befor: 1.00, transfer: 0, claimed: 0, signed: true}\n")
    errors, path = fact_errors(tmp_path, prog, text)
    unknown = [e for e in errors if e.code == "unknown-fact"]
    assert len(unknown) == 1
    assert "befor" in unknown[0].message and "members" in unknown[0].message
    assert unknown[0].hint == "did you mean 'before'?"
    # line 2; "  - {code: M01, license: L1, kind: a, " is 38 characters: 'befor' at column 39
    assert at(unknown[0], path, 2, 39)


def test_wrong_type_in_a_record_field(tmp_path):
    prog = program(MEMBERS)
    text = ("members:\n"
            "  - {code: M01, license: L1, kind: a, before: '1,000.00', transfer: 0, claimed: 0, "
            "signed: ja}\n")
    errors, path = fact_errors(tmp_path, prog, text)
    assert [e.code for e in errors] == ["bad-fact", "bad-fact"]
    before, signed = errors
    assert "'before'" in before.message and "money" in before.message
    assert before.hint == "write it without separators: 1000.00"
    # "  - {code: M01, license: L1, kind: a, before: " is 46 characters: the value at column 47
    assert at(before, path, 2, 47)
    assert "'signed'" in signed.message and "true or false" in signed.message
    assert at(signed, path, *locate(path, "ja}"))


def test_duplicate_record_key(tmp_path):
    prog = program(MEMBERS)
    errors, path = fact_errors(tmp_path, prog, members_facts(
        dict(code="M01", license="L1"), dict(code="M01", license="L2")))
    assert [e.code for e in errors] == ["duplicate-id"]
    err = errors[0]
    assert "M01" in err.message and "members" in err.message
    # facts line 1 pool, 2 "members:", 3 first record, 4 second; "  - {code: " is 11 characters
    assert at(err, path, 4, 12)
    assert err.related and (err.related[0][1].line, err.related[0][1].col) == (3, 12)


def test_child_naming_a_parent_that_does_not_exist(tmp_path):
    prog = program(HOSPITALS)
    text = ("institutions:\n"
            "  - {code: H1, coefficient: 1.2}\n"
            "  - {code: H2, coefficient: 0.8}\n"
            "cases:\n"
            "  - {id: C1, institution: H22, cost: 1.00, score: 1}\n")
    errors, path = fact_errors(tmp_path, prog, text)
    assert [e.code for e in errors] == ["bad-fact"]
    err = errors[0]
    assert "H22" in err.message and "institutions" in err.message
    assert err.hint == "did you mean 'H2'?"
    assert err.span.line == 5 and same_file(err.span.file, path)


def test_child_naming_a_missing_parent_is_located_at_the_parent_field(tmp_path):
    prog = program(HOSPITALS)
    text = ("institutions:\n"
            "  - {code: H1, coefficient: 1.2}\n"
            "cases:\n"
            "  - {id: C1, institution: H22, cost: 1.00, score: 1}\n")
    errors, path = fact_errors(tmp_path, prog, text)
    # "  - {id: C1, institution: " is 26 characters: the value H22 at column 27
    assert at(errors[0], path, 4, 27)


def test_nested_child_contradicting_its_parent_is_an_error(tmp_path):
    prog = program(HOSPITALS)
    text = ("institutions:\n"
            "  - code: H1\n"
            "    coefficient: 1\n"
            "    cases:\n"
            "      - {id: C1, institution: H2, cost: 1.00, score: 1}\n"
            "  - {code: H2, coefficient: 2}\n")
    errors, _ = fact_errors(tmp_path, prog, text)
    assert [e.code for e in errors] == ["bad-fact"]


def test_child_records_without_the_parent_collection(tmp_path):
    prog = program(HOSPITALS)
    errors, path = fact_errors(tmp_path, prog,
                               "cases:\n  - {id: C1, institution: H1, cost: 1.00, score: 1}\n")
    assert [e.code for e in errors] == ["bad-fact"]
    assert "institutions" in errors[0].message and errors[0].span.line == 2


def test_collection_given_as_a_single_value(tmp_path):
    prog = program(MEMBERS)
    errors, path = fact_errors(tmp_path, prog, "pool: 1.00\nmembers: 3\n")
    assert [e.code for e in errors] == ["bad-fact"]
    assert "'members' is a collection" in errors[0].message
    assert at(errors[0], path, 2, 10)  # "members: " is 9 characters
    assert "members: [{code:" in errors[0].hint


def test_single_input_given_as_a_list_of_records(tmp_path):
    prog = program(MEMBERS)
    errors, path = fact_errors(tmp_path, prog, "pool: [{amount: 1}]\nmembers: []\n")
    assert [e.code for e in errors] == ["bad-fact"]
    assert "'pool'" in errors[0].message and "not a list" in errors[0].message
    assert at(errors[0], path, 1, 7)  # "pool: " is 6 characters


def test_single_input_given_as_a_list_of_numbers_says_so(tmp_path):
    prog = program(MEMBERS)
    errors, _ = fact_errors(tmp_path, prog, "pool: [1, 2]\nmembers: []\n")
    assert len(errors) == 1
    assert "'pool'" in errors[0].message and "not a list" in errors[0].message


def test_missing_field_in_some_records(tmp_path):
    prog = program(MEMBERS)
    text = members_facts(dict(code="M01", before="1000.00", transfer="200.00"),
                         dict(code="M03", before="500.00", transfer="-50.00"))
    text += "  - {code: M02, license: L2, kind: 社区, before: 800.00, claimed: 0, signed: true}\n"
    ev = prog.evaluate(facts_from(tmp_path, prog, text))
    assert [e.code for e in ev.errors] == ["missing-fact"]
    err = ev.errors[0]
    assert "'transfer'" in err.message and "M02" in err.message and "M01" not in err.message
    line, col = locate(MEMBERS, "transfer:", after="fields:")
    assert at(err, MEMBERS, line, col)
    # dependents of transfer are skipped ...
    for skipped in ("member.after", "total_after", "conserved", "received", "member.above_floor"):
        assert skipped in ev.skipped, skipped
    # ... and results that do not need it are computed: 1000.00 + 500.00 + 800.00 = 2300.00
    assert ev.values["total_before"] == D("2300.00")
    assert ev.values["pool_half"] == D("5000.00")
    assert ev.values["member_count"] == 3


def test_missing_collection(tmp_path):
    prog = program(MEMBERS)
    ev = prog.evaluate(facts_from(tmp_path, prog, "pool: 10000.00\n"))
    assert [e.code for e in ev.errors] == ["missing-fact"]
    assert "missing collection 'members'" in ev.errors[0].message
    assert "members: [{code: ..." in ev.errors[0].hint
    assert ev.values["pool_half"] == D("5000.00")  # 10000.00 × 50%
    for skipped in ("total_before", "total_after", "member_count", "conserved"):
        assert skipped in ev.skipped, skipped


def test_missing_collection_lists_per_record_results_as_skipped(tmp_path):
    prog = program(MEMBERS)
    ev = prog.evaluate(facts_from(tmp_path, prog, "pool: 10000.00\n"))
    for skipped in ("member.after", "member.share", "member.above_floor"):
        assert skipped in ev.skipped, skipped


def test_missing_collection_names_every_result_that_needs_it(tmp_path):
    prog = program(MEMBERS)
    ev = prog.evaluate(facts_from(tmp_path, prog, "pool: 10000.00\n"))
    # the 13 top-level rules other than pool_half, 4 per-record rules, 3 checks and 1
    # per-record check need members: 21 > 5 targets, so the list is cut with " ..."
    assert ev.errors[0].message.endswith(" ...")


# --- checker errors --------------------------------------------------------------------------------
ENTITY = """\
inputs:
  pool: {label: 总额, type: money, citation: 一}
entities:
  member:
    label: 成员单位
    collection: members
    key: code
    citation: 一
    fields:
      code: {label: 编码, type: text, citation: 一}
      before: {label: 调剂前, type: money, citation: 一}
      signed: {label: 签约, type: boolean, citation: 一}
"""
# METADATA is lines 1-8, ENTITY lines 9-20; a body after it starts on line 21.


def check_errors(tmp_path, body: str) -> tuple[list[RulesError], pathlib.Path]:
    path = write(tmp_path, METADATA + body, "ruleset.yaml")
    with pytest.raises(RulesError) as info:
        load_program(str(path))
    return flatten(info.value), path


def rule(formula: str, type_: str = "money") -> str:
    return f"rules:\n  r: {{label: 规则, type: {type_}, formula: \"{formula}\", citation: 二}}\n"


# "  r: {label: 规则, type: money, formula: \"" is 40 characters: the formula starts at column 41
FORMULA_COL = 41


def test_unknown_collection_with_did_you_mean(tmp_path):
    errors, path = check_errors(tmp_path, ENTITY + rule("sum(membres.before)"))
    assert [e.code for e in errors] == ["unknown-name"]
    assert "unknown collection 'membres'" in errors[0].message
    assert errors[0].hint == "did you mean 'members'?"
    assert at(errors[0], path, 22, FORMULA_COL + 4)  # after "sum("


def test_unknown_field_of_a_collection_with_did_you_mean(tmp_path):
    errors, path = check_errors(tmp_path, ENTITY + rule("sum(members.befor)"))
    assert [e.code for e in errors] == ["unknown-name"]
    assert "'befor'" in errors[0].message
    assert errors[0].hint == "did you mean 'before'?"
    assert at(errors[0], path, 22, FORMULA_COL + 4)


@pytest.mark.parametrize("field, kind", [("signed", "boolean"), ("code", "text")])
def test_sum_over_boolean_or_text_is_refused(tmp_path, field, kind):
    errors, path = check_errors(tmp_path, ENTITY + rule(f"sum(members.{field})"))
    assert [e.code for e in errors] == ["type-mismatch"]
    assert kind in errors[0].message
    assert at(errors[0], path, 22, FORMULA_COL + 4)


@pytest.mark.parametrize("formula", ["member.before", "members.before"])
def test_per_record_value_at_top_level_needs_aggregation(tmp_path, formula):
    errors, path = check_errors(tmp_path, ENTITY + rule(formula))
    assert [e.code for e in errors] == ["unknown-name"]
    assert "sum(members.before)" in errors[0].hint
    assert at(errors[0], path, 22, FORMULA_COL)


def test_bare_per_record_name_at_top_level_hints_at_sum(tmp_path):
    errors, _ = check_errors(tmp_path, ENTITY + rule("before"))
    assert [e.code for e in errors] == ["unknown-name"]
    assert "sum(members.before)" in (errors[0].hint or "")


def test_entity_field_named_like_a_top_level_id(tmp_path):
    body = ENTITY + "      pool: {label: 重名, type: money, citation: 一}\n" + rule("pool")
    errors, path = check_errors(tmp_path, body)
    assert [e.code for e in errors] == ["duplicate-id"]
    assert "'pool'" in errors[0].message and "member" in errors[0].message
    assert at(errors[0], path, 21, 7)  # the field, line 21, after 6 spaces
    assert errors[0].related[0][1].line == 10  # the input pool


def test_entity_key_that_is_not_a_field(tmp_path):
    body = ENTITY.replace("key: code", "key: id") + rule("count(members)", "integer")
    errors, path = check_errors(tmp_path, body)
    assert [e.code for e in errors] == ["unknown-name"]
    assert "'id'" in errors[0].message and "member" in errors[0].message
    assert same_file(errors[0].span.file, path)


def test_entity_key_error_is_located_at_the_key(tmp_path):
    body = ENTITY.replace("key: code", "key: id") + rule("count(members)", "integer")
    errors, path = check_errors(tmp_path, body)
    assert at(errors[0], path, 15, 10)  # "    key: " is 9 characters


PARENT = """\
  case:
    label: 病例
    collection: cases
    key: id
    parent: membr
    citation: 一
    fields:
      id: {label: 病案号, type: text, citation: 一}
"""


def test_entity_with_unknown_parent(tmp_path):
    errors, path = check_errors(tmp_path, ENTITY + PARENT + rule("count(cases)", "integer"))
    assert [e.code for e in errors] == ["unknown-name"]
    assert "'membr'" in errors[0].message
    assert errors[0].hint == "did you mean 'member'?"
    assert same_file(errors[0].span.file, path)


def test_unknown_parent_is_located_at_the_parent(tmp_path):
    errors, path = check_errors(tmp_path, ENTITY + PARENT + rule("count(cases)", "integer"))
    assert at(errors[0], path, 25, 13)  # "    parent: " is 12 characters


def test_where_condition_must_be_boolean(tmp_path):
    errors, path = check_errors(tmp_path, ENTITY + rule("count(members where before)", "integer"))
    assert [e.code for e in errors] == ["type-mismatch"]
    assert "'where'" in errors[0].message and "money" in errors[0].message
    # "  r: {label: 规则, type: integer, formula: \"" is 42 characters, then "count(members where "
    # (20 characters): 'before' at column 63
    assert at(errors[0], path, 22, 63)


def test_text_field_compared_with_a_quoted_value_in_where(tmp_path):
    body = ENTITY + rule('count(members where code == \\"M01\\")', "integer") + (
        "examples:\n  e: {label: 例, facts: {pool: 1.00, members: [{code: M01, before: 1.00, signed: true}, "
        "{code: M02, before: 2.00, signed: false}]}}\n")
    prog = load_program(str(write(tmp_path, METADATA + body, "ruleset.yaml")))
    assert prog.evaluate(example(prog)).values["r"] == 1  # only M01


def test_text_cannot_be_ordered(tmp_path):
    errors, path = check_errors(tmp_path, ENTITY + rule('count(members where code < \\"M02\\")', "integer"))
    assert [e.code for e in errors] == ["type-mismatch"]
    assert "text" in errors[0].message
    # formula at column 43 (type integer), then "count(members where " (20 characters)
    assert at(errors[0], path, 22, 63)


# --- command line ----------------------------------------------------------------------------------
def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def test_cli_run_json_gives_per_record_values_by_key(tmp_path, capsys):
    facts = write(tmp_path, json.dumps({
        "pool": "10000.00",
        "members": [
            {"code": "M01", "license": "L1", "kind": "卫生院", "before": "1000.00",
             "transfer": "200.00", "claimed": "100.05", "signed": True},
            {"code": "M02", "license": "L2", "kind": "社区", "before": "800.00",
             "transfer": "-200.00", "claimed": "0", "signed": True}]}, ensure_ascii=False),
        "facts.json")
    status, out, _ = cli(capsys, "run", MEMBERS, "--facts", facts, "--format", "json")
    assert status == 0
    data = json.loads(out)
    # 1000.00 - 200.00 = 800.00; 800.00 + 200.00 = 1000.00
    assert data["values"]["member.after"] == {"M01": "800.00", "M02": "1000.00"}
    # 800/1800 = 0.44444… -> 0.4444; 1000/1800 = 0.55555… -> 0.5556
    assert data["values"]["member.share"] == {"M01": "0.4444", "M02": "0.5556"}
    assert data["values"]["member.receiver"] == {"M01": False, "M02": True}
    assert data["values"]["total_after"] == "1800.00"
    floor = next(c for c in data["checks"] if c["id"] == "member.above_floor")
    assert floor["passed"] and floor["checked"] == 2 and floor["failed_records"] == []


def test_cli_failing_record_check_exits_1_with_failed_records(tmp_path, capsys):
    facts = write(tmp_path, members_facts(
        dict(code="M01", before="1000.00", transfer="550.00"),
        dict(code="M02", before="800.00", transfer="-750.00"),
        dict(code="M03", before="500.00", transfer="200.00")))
    status, out, _ = cli(capsys, "run", MEMBERS, "--facts", facts, "--format", "json")
    assert status == 1
    floor = next(c for c in json.loads(out)["checks"] if c["id"] == "member.above_floor")
    # 450.00 - 500.00 = -50.00; 300.00 - 500.00 = -200.00
    assert floor["failed_records"] == [
        {"key": "M01", "left": "450.00", "right": "500.00", "difference": "-50.00"},
        {"key": "M03", "left": "300.00", "right": "500.00", "difference": "-200.00"}]
    status, out, _ = cli(capsys, "run", MEMBERS, "--facts", facts)
    assert status == 1
    assert "record M01: left 450.00, right 500.00; difference -50.00" in out


def test_cli_bad_record_fact_exits_2_located(tmp_path, capsys):
    facts = write(tmp_path, "members:\n  - {code: M01, befor: 1.00}\n")
    status, _, err = cli(capsys, "run", MEMBERS, "--facts", facts)
    assert status == 2
    # "  - {code: M01, " is 16 characters: 'befor' at column 17 of line 2
    assert "facts.yaml:2:17: error[unknown-fact]: unknown field 'befor'" in err
    assert "did you mean 'before'?" in err


def test_cli_empty_collection_exits_2_and_still_prints_results(tmp_path, capsys):
    facts = write(tmp_path, "pool: 10000.00\nmembers: []\n")
    status, out, err = cli(capsys, "run", MEMBERS, "--facts", facts, "--format", "json")
    assert status == 2
    assert err.count("error[empty-collection]") == 2
    data = json.loads(out)
    assert data["values"]["total_before"] == "0.00"
    assert data["values"]["member.after"] == {}
    assert data["values"]["pool_half"] == "5000.00"
    assert "spread" in data["skipped"]


def test_cli_explain_json_with_collections_is_schema_valid(capsys):
    status, out, _ = cli(capsys, "explain", HOSPITALS, "total_payable", "--example", "nested",
                         "--format", "json")
    assert status == 0
    data = json.loads(out)
    jsonschema.Draft202012Validator(schema("trace")).validate(data)
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes["total_payable"]["value"] == "6800.00"  # 4800.00 + 2000.00 + 0.00
    assert [r["key"] for r in nodes["institution.payable"]["records"]] == ["H1", "H2", "H3"]
    assert nodes["institution.payable"]["entity"] == "institution"


def test_trace_json_of_members_is_schema_valid_and_stable():
    prog = program(MEMBERS)
    first = dumps(trace_json(prog, prog.evaluate(example(prog), trace=True)))
    second = dumps(trace_json(prog, prog.evaluate(example(prog), trace=True)))
    assert first == second
    jsonschema.Draft202012Validator(schema("trace")).validate(json.loads(first))


def test_cli_ruleset_tests_with_per_record_expectations(capsys):
    status, out, _ = cli(capsys, "test", MEMBERS)
    assert status == 0
    assert out.strip().splitlines()[-1] == "2 passed, 0 failed"


def test_cli_ruleset_test_reports_the_record_that_differs(tmp_path, capsys):
    text = MEMBERS.read_text(encoding="utf-8").replace(
        "member.after: {M01: 800.00, M02: 950.00, M03: 550.00}",
        "member.after: {M01: 800.00, M02: 951.00, M03: 550.00}")
    path = write(tmp_path, text, "members.yaml")
    status, out, _ = cli(capsys, "test", path)
    assert status == 1
    # M02: 800.00 - (-150.00) = 950.00, not 951.00
    assert "member.after (调剂后预算) of M02: expected 951.00, got 950.00" in out
    assert out.strip().splitlines()[-1] == "1 passed, 1 failed"
