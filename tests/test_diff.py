"""diff: what changed between two versions of a ruleset, and which results move by how much.

Sanya with quality_deposit_rate 5% -> 6% (example group_2024), worked by hand:
  quality_deposit   = 205,123,456.78 × 6% = 12,307,407.4068 -> 12,307,407.41
                      was 10,256,172.84; difference 12,307,407.41 − 10,256,172.84 = +2,051,234.57
  deduction (良好)  = 12,307,407.41 × 10% = 1,230,740.741 -> 1,230,740.74
                      was 1,025,617.28; difference +205,123.46
  settlement_amount = 202,500,000.00 − 184,500,000.00 − 1,230,740.74 − 320,000.00 = 16,449,259.26
                      was 16,654,382.72; difference −205,123.46
Dated fixture (tests/fixtures/dated.yaml), the value from 2025-07-01 120.00 -> 125.00, as of
2025-12-31 with 3 sessions: 125.00 × 3 = 375.00, was 120.00 × 3 = 360.00, difference +15.00.
"""

import json
import re
from pathlib import Path

from rulesengine.cli import main

ROOT = Path(__file__).resolve().parent.parent
SANYA = ROOT / "rulesets" / "sanya_2024.yaml"
DATED = ROOT / "tests" / "fixtures" / "dated.yaml"


def edited(tmp_path, source: Path, *replacements, name=None) -> str:
    """A copy of ``source`` with each (pattern, replacement) applied exactly once."""
    text = source.read_text(encoding="utf-8")
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
        assert count == 1, pattern
    path = tmp_path / (name or source.name)
    path.write_text(text, encoding="utf-8")
    return str(path)


def deposit_6(tmp_path) -> str:
    return edited(tmp_path, SANYA, (r"(  quality_deposit_rate:\n(?:    .*\n)*?    value: )5%", r"\g<1>6%"))


def diff(capsys, *argv):
    status = main(["diff", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def test_one_parameter_changed_names_it_and_the_results_it_moves(in_repo, capsys, tmp_path):
    status, out, _ = diff(capsys, str(SANYA), deposit_6(tmp_path), "--example", "--format", "json")
    data = json.loads(out)
    assert status == 0
    assert data["changes"] == [{"change": "changed", "kind": "parameter", "id": "quality_deposit_rate",
                                "label": "质量保证金比例", "field": "value", "old": "0.05", "new": "0.06"}]
    results = data["results"]
    assert results["facts"] == "example group_2024" and results["as_of"]["new"] == "2024-12-31"
    assert results["changed"] == [
        {"id": "quality_deposit", "label": "质量保证金", "old": "10256172.84", "new": "12307407.41",
         "difference": "2051234.57"},
        {"id": "quality_deposit_deduction", "label": "质量保证金扣减金额", "old": "1025617.28",
         "new": "1230740.74", "difference": "205123.46"},
        {"id": "settlement_amount", "label": "医疗集团年度清算统筹基金决算金额", "old": "16654382.72",
         "new": "16449259.26", "difference": "-205123.46"}]


def test_text_diff_for_people(in_repo, capsys, tmp_path):
    status, out, _ = diff(capsys, str(SANYA), deposit_6(tmp_path), "--example")
    assert status == 0
    assert "~ parameter quality_deposit_rate 质量保证金比例" in out
    assert "value: 5% -> 6%" in out
    assert re.search(r"quality_deposit +质量保证金 +10,256,172\.84 +12,307,407\.41 +\+2,051,234\.57", out)
    assert re.search(r"settlement_amount .* 16,654,382\.72 +16,449,259\.26 +-205,123\.46", out)
    assert "3 of " in out


def test_facts_file_and_no_facts(in_repo, capsys, tmp_path, sanya_facts, write_json):
    new = deposit_6(tmp_path)
    status, out, _ = diff(capsys, str(SANYA), new, "--facts", write_json(sanya_facts), "--format", "json")
    assert status == 0
    assert [c["id"] for c in json.loads(out)["results"]["changed"]] == \
        ["quality_deposit", "quality_deposit_deduction", "settlement_amount"]
    status, out, _ = diff(capsys, str(SANYA), new, "--format", "json")
    assert status == 0 and "results" not in json.loads(out)  # without facts: the ruleset only


def test_identical_versions(in_repo, capsys):
    status, out, _ = diff(capsys, str(SANYA), str(SANYA), "--example", "--format", "json")
    data = json.loads(out)
    assert status == 0 and data["changes"] == [] and data["results"]["changed"] == []


def test_tables_formulas_rounding_checks_citations_dates_and_ids(in_repo, capsys, tmp_path):
    new = edited(
        tmp_path, SANYA,
        (r"^effective:\n  from: 2024-01-01\n  to: 2024-12-31", "effective:\n  from: 2024-01-01\n  to: 2025-12-31"),
        (r"- \{key: 良好, value: 10%\}", "- {key: 良好, value: 12%}"),
        (r"(  monthly_withheld:\n(?:    .*\n)*?    formula: ).*?\n", r"\g<1>last_month_declared * (1 - prepayment_rate)\n"),
        (r"(  quality_deposit:\n    label: 质量保证金\n    type: money\n)", r"\g<1>    rounding: {places: 0, mode: down}\n"),
        (r"(  clearing_within_deadline:\n(?:    .*\n)*?    severity: )warning", r"\g<1>error"),
        (r"(  settlement_amount:\n(?:    .*\n)*?    citation: )三\(三\)6", r"\g<1>三(三)7"),
        (r"^checks:\n", "checks:\n  deposit_positive:\n    label: 保证金为正\n    condition: quality_deposit >= 0\n"
                        "    severity: warning\n    message: 保证金为负。\n    citation: 三(三)2\n"),
    )
    status, out, _ = diff(capsys, str(SANYA), new, "--format", "json")
    assert status == 0
    changes = {(c["id"], c.get("field")): c for c in json.loads(out)["changes"]}
    assert changes["effective_to", "effective_to"]["old"] == "2024-12-31"
    assert changes["effective_to", "effective_to"]["new"] == "2025-12-31"
    assert changes["quality_deposit_deduction_rate", "rows[良好]"] | {} == {
        "change": "changed", "kind": "table", "id": "quality_deposit_deduction_rate",
        "label": "质量保证金扣减比例", "field": "rows[良好]", "old": "0.1", "new": "0.12"}
    assert changes["monthly_withheld", "formula"]["new"] == "last_month_declared * (1 - prepayment_rate)"
    assert changes["quality_deposit", "rounding"]["old"] == "2 places, half_up"
    assert changes["quality_deposit", "rounding"]["new"] == "0 places, down"
    assert changes["clearing_within_deadline", "severity"]["new"] == "error"
    assert changes["settlement_amount", "citation"]["new"] == "三医保〔2024〕6号 三(三)7"
    assert changes["deposit_positive", None]["change"] == "added"
    # the other way round, the check is removed
    status, out, _ = diff(capsys, new, str(SANYA), "--format", "json")
    removed = [c for c in json.loads(out)["changes"] if c["change"] == "removed"]
    assert removed == [{"change": "removed", "kind": "check", "id": "deposit_positive", "label": "保证金为正"}]


def test_dated_values_and_their_results(in_repo, capsys, tmp_path):
    new = edited(tmp_path, DATED, (r"value: 120\.00", "value: 125.00"))
    status, out, _ = diff(capsys, str(DATED), new, "--example", "--format", "json")
    data = json.loads(out)
    assert status == 0
    [change] = data["changes"]
    assert change["id"] == "dialysis_quota" and change["field"] == "dated_values"
    assert change["old"] == ["2023-01-01: 100.00", "2025-07-01: 120.00"]
    assert change["new"] == ["2023-01-01: 100.00", "2025-07-01: 125.00"]
    assert data["results"]["changed"] == [{"id": "dialysis_payment", "label": "透析定额支付",
                                           "old": "360.00", "new": "375.00", "difference": "15.00"}]


def test_bad_version_is_reported_located(in_repo, capsys, tmp_path):
    broken = edited(tmp_path, SANYA, (r"formula: payable - prepaid_total", "formula: payable - prepaid_totl"))
    status, out, err = diff(capsys, str(SANYA), broken)
    assert status == 2 and out == ""
    assert "[unknown-name]" in err and "prepaid_totl" in err
