"""The 清算明细 workbook, opened with openpyxl as Excel would open it: numbers are numbers
with money and rate formats, never text; checks and per-record sheets are there.

Sanya example (rulesets/sanya_2024.yaml, group_2024), worked by hand in the ruleset:
  quality_deposit   = 205,123,456.78 × 5% = 10,256,172.839 -> 10,256,172.84
  deduction         = 10,256,172.84 × 10% (良好) = 1,025,617.284 -> 1,025,617.28
  settlement_amount = 202,500,000.00 − 184,500,000.00 − 1,025,617.28 − 320,000.00 = 16,654,382.72
  city_shrink_ratio = 100% (the city budget grew, 1,950,000,000 -> 2,000,000,000)
Chongqing example (rulesets/chongqing_2019.yaml, tongnan_2019), member H50015200011:
  budget_after = 120,356,780.45 − (−1,825,000.00) = 122,181,780.45
"""

import re

import openpyxl
import pytest

from rulesengine.cli import main

SANYA = "rulesets/sanya_2024.yaml"
CHONGQING = "rulesets/chongqing_2019.yaml"
RULESETS = ["sanya_2024", "chongqing_2019", "xinxiang_county_community", "zibo_2025", "guangdong_2019"]
NUMBER_AS_TEXT = re.compile(r"-?[\d,]+(\.\d+)?%?")


def workbook(capsys, tmp_path, ruleset, *source, name="book.xlsx"):
    path = tmp_path / name
    status = main(["workbook", ruleset, *(source or ("--example",)), "-o", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, openpyxl.load_workbook(path)


def find_row(sheet, column: int, value) -> tuple:
    for row in sheet.iter_rows():
        if row[column - 1].value == value:
            return row
    raise AssertionError(f"no row with {value!r} in column {column} of {sheet.title}")


def assert_money(cell, expected):
    assert isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool), cell.value
    assert cell.value == pytest.approx(expected, abs=1e-9)
    assert cell.number_format == "#,##0.00"


def test_results_sheet_numbers_with_money_format(in_repo, capsys, tmp_path):
    status, book = workbook(capsys, tmp_path, SANYA)
    assert status == 0
    assert book.sheetnames[:3] == ["计算结果", "输入", "检查"]
    results = book["计算结果"]
    assert results["A1"].value == "三亚市紧密型医疗集团总额预算管理实施方案 清算明细"
    header = find_row(results, 1, "序号")
    assert [c.value for c in header[:4]] == ["序号", "编号", "名称", "值"]
    row = find_row(results, 2, "quality_deposit")
    assert row[2].value == "质量保证金"
    assert_money(row[3], 10256172.84)
    assert row[7].value == "三医保〔2024〕6号 三(三)2"
    assert row[6].value == "205,123,456.78 * 5%"  # the values substituted, for a calculator
    assert_money(find_row(results, 2, "settlement_amount")[3], 16654382.72)
    ratio = find_row(results, 2, "city_shrink_ratio")[3]
    assert ratio.value == 1 and ratio.number_format == "0.00%"
    deadline = find_row(results, 2, "clearing_deadline")[3]
    assert deadline.value.date().isoformat() == "2025-06-30" and deadline.number_format == "yyyy-mm-dd"
    # document order: 三(一) budget before 三(三)6 settlement
    ids = [r[1].value for r in results.iter_rows(min_row=header[0].row + 1) if r[1].value]
    assert ids.index("global_budget") < ids.index("settlement_amount")


def test_inputs_sheet_has_facts_parameters_and_tables(in_repo, capsys, tmp_path):
    _, book = workbook(capsys, tmp_path, SANYA)
    inputs = book["输入"]
    row = find_row(inputs, 1, "fund_accounting_amount")
    assert_money(row[3], 205123456.78)
    assert row[2].value == "事实" and "group_2024" in row[5].value
    rate = find_row(inputs, 1, "quality_deposit_rate")
    assert rate[2].value == "参数" and rate[3].value == 0.05 and rate[3].number_format == "0.00%"
    good = [r for r in inputs.iter_rows() if r[0].value == "quality_deposit_deduction_rate" and r[2].value == "良好"]
    assert len(good) == 1 and good[0][3].value == 0.1 and good[0][3].number_format == "0.00%"


def test_checks_sheet_marks_failures_with_both_sides(in_repo, capsys, tmp_path, sanya_facts, write_json):
    sanya_facts["employee_growth_rate"] = "12%"
    sanya_facts["reasonable_overspend"] = "200000.00"
    status, book = workbook(capsys, tmp_path, SANYA, "--facts", write_json(sanya_facts))
    assert status == 1  # an error-severity check failed; the workbook is still written
    checks = book["检查"]
    row = find_row(checks, 1, "employee_growth_within_cap")
    assert [c.value for c in row[2:4]] == ["错误", "未通过"]
    # 12% − 10% = 2%
    assert [c.value for c in row[5:8]] == [pytest.approx(0.12), pytest.approx(0.10), pytest.approx(0.02)]
    assert all(c.number_format == "0.00%" for c in row[5:8])
    assert row[0].fill.fgColor.rgb.endswith("FDECEA")
    passed = find_row(checks, 1, "reasonable_overspend_within_overspend")
    assert passed[3].value == "通过"
    assert_money(passed[5], 200000.00)


def test_collection_sheet_has_a_row_per_member(in_repo, capsys, tmp_path):
    status, book = workbook(capsys, tmp_path, CHONGQING)
    assert status == 0
    sheet = book["医共体成员单位"]
    labels = [c.value for c in sheet[1]]
    names = [c.value for c in sheet[2]]
    assert names[0] == "code" and labels[0] == "机构医保编码"
    column = names.index("budget_after")
    assert labels[column] == "调剂后预算总额（元）"
    rows = list(sheet.iter_rows(min_row=4))
    assert len(rows) == 5
    first = rows[0]
    assert first[0].value == "H50015200011"
    assert_money(first[column], 122181780.45)
    check = names.index("cleared_as_matches_community")
    assert {r[check].value for r in rows} == {"通过"}
    filings = book["医共体备案登记"]
    assert [c.value for c in filings[2]][:2] == ["filing_no", "member"]


@pytest.mark.parametrize("name", RULESETS)
def test_no_number_is_stored_as_text(in_repo, capsys, tmp_path, name):
    status, book = workbook(capsys, tmp_path, f"rulesets/{name}.yaml")
    assert status in (0, 1)
    numbers = 0
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert not NUMBER_AS_TEXT.fullmatch(cell.value.strip()), (sheet.title, cell.coordinate)
                elif isinstance(cell.value, (int, float)):
                    numbers += 1
    assert numbers > 10


def test_workbook_needs_an_xlsx_name_and_a_writable_place(in_repo, capsys, tmp_path):
    assert main(["workbook", SANYA, "--example", "-o", str(tmp_path / "book.xls")]) == 2
    assert "[usage]" in capsys.readouterr().err
    assert main(["workbook", SANYA, "--example", "-o", str(tmp_path / "no" / "book.xlsx")]) == 2
    assert "[file-unwritable]" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind
