"""The command line as a clerk uses it: exit statuses, located messages, no tracebacks.

Expected amounts come from the Sanya example (rulesets/sanya_2024.yaml, group_2024), worked
by hand in that file's test comments:
  payable    = 30,000,000.00 + 18,000,000.00 + 4,500,000.00 + 150,000,000.00 = 202,500,000.00
  deposit    = 205,123,456.78 × 5% = 10,256,172.839 -> 10,256,172.84
  deduction  = 10,256,172.84 × 10% (良好) = 1,025,617.284 -> 1,025,617.28
  settlement = 202,500,000.00 − 184,500,000.00 − 1,025,617.28 − 320,000.00 = 16,654,382.72
"""

import json
import pathlib
import re
import subprocess
import sys

from conftest import METADATA
from rulesengine.cli import main

SANYA = "rulesets/sanya_2024.yaml"


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def test_validate_ok(in_repo, capsys):
    status, out, _ = run(capsys, "validate", SANYA)
    assert status == 0
    assert out.startswith(f"{SANYA}: ok")


def test_ruleset_tests_pass_and_are_counted(in_repo, capsys):
    status, out, _ = run(capsys, "test", SANYA)
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"(\d+) passed, (\d+) failed", last)
    assert status == 0 and match
    assert int(match.group(1)) >= 8 and match.group(2) == "0"


def test_run_json_money_as_decimal_strings(in_repo, capsys):
    status, out, _ = run(capsys, "run", SANYA, "--example", "--format", "json")
    data = json.loads(out)
    assert status == 0
    assert data["ruleset"]["id"] == "sanya_medical_group_2024"
    assert data["values"]["payable"] == "202500000.00"
    assert data["values"]["quality_deposit_deduction"] == "1025617.28"
    assert data["values"]["settlement_amount"] == "16654382.72"
    # seven checks since issue 13 (the two growth caps, reasonable overspend, compliant surplus, the
    # DIP total including the sharing, the clearing deadline, the inpatient budget not negative)
    assert all(c["passed"] for c in data["checks"]) and len(data["checks"]) == 7


def test_run_target_computes_only_what_it_needs(in_repo, capsys):
    status, out, _ = run(capsys, "run", SANYA, "--example", "--target", "quality_deposit",
                         "--format", "json")
    data = json.loads(out)
    assert status == 0
    # 205,123,456.78 × 5% = 10,256,172.839 -> 10,256,172.84
    assert data["values"] == {"quality_deposit": "10256172.84"}


def test_explain_text_shows_formula_values_and_clause(in_repo, capsys):
    status, out, _ = run(capsys, "explain", SANYA, "settlement_amount", "--example")
    assert status == 0
    assert "settlement_amount 医疗集团年度清算统筹基金决算金额 = 16,654,382.72 元" in out
    assert "payable - prepaid_total - quality_deposit_deduction - smart_audit_deduction" in out
    assert "202,500,000.00 - 184,500,000.00 - 1,025,617.28 - 320,000.00" in out
    assert "三医保〔2024〕6号 三(三)6" in out
    assert "质量保证金扣减比例[良好] = 10%" in out


def test_failed_error_check_exits_1_and_reports_sides(in_repo, capsys, sanya_facts, write_json):
    sanya_facts["employee_growth_rate"] = "12%"
    sanya_facts["reasonable_overspend"] = "200000.00"  # overspend shrinks to 200,000.00 (see ruleset test)
    status, out, _ = run(capsys, "run", SANYA, "--facts", write_json(sanya_facts))
    assert status == 1
    assert "employee_growth_within_cap" in out
    # left 12%, right 10%, difference 12% − 10% = 2%
    assert "left 12%, right 10%; difference 2%" in out


def test_missing_fact_names_fact_and_targets(in_repo, capsys, sanya_facts, write_json):
    del sanya_facts["prepaid_total"]
    status, _, err = run(capsys, "run", SANYA, "--facts", write_json(sanya_facts),
                         "--target", "settlement_amount")
    assert status == 2
    assert "error[missing-fact]: missing fact 'prepaid_total' (预付累计金额), needed by settlement_amount" in err


def test_unknown_fact_located_with_did_you_mean(in_repo, capsys, tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_text("general_outpatient: 1.00\nprepaid_totl: 5.00\n", encoding="utf-8")
    status, _, err = run(capsys, "run", SANYA, "--facts", str(path))
    assert status == 2
    # second line, first column
    assert re.search(r"facts\.yaml:2:1: error\[unknown-fact\]: unknown fact 'prepaid_totl'", err)
    assert "did you mean 'prepaid_total'?" in err


def test_bad_fact_values_all_reported(in_repo, capsys, tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_text('general_outpatient: "1,234.50"\nprepaid_total: -1.00\n'
                    "assessment_grade: 优良\nquality_deposit_rate: 6%\n", encoding="utf-8")
    status, _, err = run(capsys, "run", SANYA, "--facts", str(path))
    assert status == 2
    assert re.search(r":1:21: error\[bad-fact\]: .*thousands separators", err)
    assert "write it without separators: 1234.50" in err
    assert re.search(r":2:16: error\[constraint\]: fact 'prepaid_total'", err)
    assert re.search(r":3:19: error\[bad-fact\]", err)
    assert re.search(r":4:23: error\[fixed-parameter\]", err)


def test_money_fact_with_three_decimals_rejected(in_repo, capsys, sanya_facts, write_json):
    sanya_facts["prepaid_total"] = "184500000.005"
    status, _, err = run(capsys, "run", SANYA, "--facts", write_json(sanya_facts))
    assert status == 2
    assert "error[bad-fact]" in err and "more than two decimal places" in err


def test_unknown_target_and_example(in_repo, capsys):
    status, _, err = run(capsys, "explain", SANYA, "settlement", "--example")
    assert status == 2 and "error[unknown-target]" in err and "settlement_amount" in err
    status, _, err = run(capsys, "run", SANYA, "--example", "group_2025")
    assert status == 2 and "error[usage]: no example named 'group_2025'" in err


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["run", SANYA]) == 2  # neither --facts nor --example
    assert "error[usage]" in capsys.readouterr().err


def test_missing_file(capsys):
    status, _, err = run(capsys, "validate", "no/such/ruleset.yaml")
    assert status == 2 and "error[file-unreadable]" in err


DIVISION = METADATA + """\
inputs:
  spent: {label: 支出, type: money, citation: 一}
  budget: {label: 预算, type: money, citation: 一}
rules:
  usage_rate: {label: 使用率, type: rate, formula: spent / budget, citation: 二}
  doubled: {label: 翻倍, type: money, formula: spent * 2, citation: 三}
  over: {label: 超额率, type: rate, formula: usage_rate - 100%, citation: 四}
examples:
  zero: {label: 预算为零, facts: {spent: 10.00, budget: 0}}
"""


def test_division_by_zero_is_located_and_keeps_other_results(tmp_path, capsys):
    path = tmp_path / "division.yaml"
    path.write_text(DIVISION, encoding="utf-8")
    status, out, err = run(capsys, "run", str(path), "--example", "--format", "json")
    assert status == 2
    # line 13, the divisor 'budget': "  usage_rate: {" is columns 1-15, "label: 使用率, " 16-27,
    # "type: rate, " 28-39, "formula: " 40-48, "spent / " 49-56, so 'budget' starts at column 57
    assert re.search(r"division\.yaml:13:57: error\[division-by-zero\]", err)
    data = json.loads(out)
    assert data["values"]["doubled"] == "20.00"  # 10.00 × 2, unaffected by the failure
    assert data["skipped"] == {"over": "usage_rate"}


def test_json_facts_decimals_are_exact(in_repo, capsys, tmp_path, sanya_facts):
    # JSON numbers (not strings) must not pass through float: 0.1 + 0.2 style sums stay exact.
    facts = dict(sanya_facts)
    body = json.dumps(facts, ensure_ascii=False)
    body = body.replace('"general_outpatient": "30000000.00"', '"general_outpatient": 30000000.10')
    body = body.replace('"chronic_outpatient": "18000000.00"', '"chronic_outpatient": 18000000.20')
    path = tmp_path / "facts.json"
    path.write_text(body, encoding="utf-8")
    status, out, _ = run(capsys, "run", SANYA, "--facts", str(path), "--target", "outpatient_total",
                         "--format", "json")
    assert status == 0
    # 30,000,000.10 + 18,000,000.20 + 4,500,000.00 = 52,500,000.30
    assert json.loads(out)["values"]["outpatient_total"] == "52500000.30"


def test_python_dash_m_entry_point(in_repo):
    done = subprocess.run([sys.executable, "-m", "rulesengine", "validate", SANYA],
                          capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 0, done.stderr


UNUSED = METADATA + """\
inputs:
  spent: {label: 支出, type: money, citation: 一}
  forgotten: {label: 遗漏, type: money, citation: 一}
rules:
  doubled: {label: 翻倍, type: money, formula: spent * 2, citation: 二}
examples:
  first: {label: 例, facts: {spent: 1.00, forgotten: "12.5万"}}
"""


def test_unused_input_warns_and_bad_example_fact_fails_validate(tmp_path, capsys):
    path = tmp_path / "unused.yaml"
    path.write_text(UNUSED, encoding="utf-8")
    status, _, err = run(capsys, "validate", str(path))
    assert status == 2
    # the example's fact "12.5万" on line 15: "  " (2) "first: " (7) "{label: " (8) "例, " (3)
    # "facts: " (7) "{spent: " (8) "1.00, " (6) "forgotten: " (11) = 52 characters -> column 53
    assert re.search(r"unused\.yaml:15:53: error\[bad-fact\]", err), err
    path.write_text(UNUSED.replace('"12.5万"', "125000.00"), encoding="utf-8")
    status, out, err = run(capsys, "validate", str(path))
    assert status == 0 and "1 warnings" in out
    # 'forgotten' is the key on line 11, column 3
    assert re.search(r"unused\.yaml:11:3: warning\[unused\]: input 'forgotten'", err)


def test_a_reader_that_stops_early_is_not_an_internal_error():
    # `rulesengine explain ... | head -0`: the pipe closes before anything is read; the command stops
    # quietly with 141 (128 + SIGPIPE, as a pipe's writer ends), never "internal error" (70)
    process = subprocess.Popen([sys.executable, "-m", "rulesengine", "--lang", "en", "explain",
                                "rulesets/zibo_2025.yaml", "city_settlement_total", "--example"],
                               cwd=pathlib.Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the first line
    err = process.stderr.read().decode("utf-8")
    assert process.wait() in (0, 141), err
    assert "internal error" not in err and "Traceback" not in err
