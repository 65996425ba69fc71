"""The national DIP module's local choices and options (rulesets/modules/dip_point_method.yaml).

A small city ruleset is written beside a copy of the module; every expected value is worked by
hand. The common example:
  base disease average cost M = 10,000.00; base_score (default) 1000
  H1 coefficient 1.0 + 0.1 = 1.1; H2 0.9 + 0 = 0.9
  C1 (H1) mi 12,000 -> score 12,000 / 10,000 × 1000 = 1200; cost = norm = 10,000 (ratio 1, normal)
        points 1200 × 1.1 = 1320; fund 8,000 (H1 ratio 8,000 / 10,000 = 80%)
  C2 (H2) mi 8,000 -> score 800; cost = norm = 8,000; points 800 × 0.9 = 720; fund 6,000 (75%)
  total points 2040; city cost 18,000, fund 14,000, ratio 14,000 / 18,000 = 7/9
  DIP budget 14,280.00; point value (total-cost basis, the default) 14,280 ÷ 7/9 ÷ 2040
        = 18,360 / 2040 = 9.0000
  payable H1 1320 × 9 × 80% = 9,504.00; H2 720 × 9 × 75% = 4,860.00
"""

from __future__ import annotations

import pathlib
import shutil
from decimal import Decimal as D

import pytest

from rulesengine.check.model import FactSet
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts
from rulesengine.evaluate.fixedpoint import FastProgram
from rulesengine.views.report import run_json, trace_json

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULE = ROOT / "rulesets" / "modules" / "dip_point_method.yaml"

HEAD = """\
format: 1
id: city_t
title: 测试市DIP
issuer: 测试局
document_number: 测〔2025〕9号
issued: 2025-01-01
effective: {from: 2025-01-01, to: 2025-12-31}
seed: x.txt
include: [{module: dip_point_method}]
"""
CITY_RULES = """\
rules:
  city_payable: {label: 全市DIP应支付额, type: money, formula: dip_payable_total, citation: 三}
"""

FACTS = {
    "dip_budget": "14280.00", "base_disease_average_cost": "10000.00",
    "institutions": [{"code": "H1", "basic_coefficient": "1.0", "bonus_coefficient": "0.1"},
                     {"code": "H2", "basic_coefficient": "0.9", "bonus_coefficient": "0"}],
    "cases": [{"id": "C1", "institution": "H1", "disease_average_cost": "12000.00", "norm_cost": "10000.00",
               "cost": "10000.00", "fund_accounting_amount": "8000.00", "grassroots_disease": False},
              {"id": "C2", "institution": "H2", "disease_average_cost": "8000.00", "norm_cost": "8000.00",
               "cost": "8000.00", "fund_accounting_amount": "6000.00", "grassroots_disease": False}],
}


def _program(tmp_path, body: str = "", rules: str = ""):
    (tmp_path / "modules").mkdir(exist_ok=True)
    shutil.copy(MODULE, tmp_path / "modules" / MODULE.name)
    path = tmp_path / "city.yaml"
    path.write_text(HEAD + body + CITY_RULES + rules, encoding="utf-8")
    return load_program(str(path))


def _run(program, extra: dict | None = None, trace: bool = False, drop: tuple = ()):
    raw = {k: v for k, v in dict(FACTS, **(extra or {})).items() if k not in drop}
    facts = bind_facts(program.ruleset, FactSet(raw, lambda path: None, lambda path: None))
    result = program.evaluate(facts, trace=trace)
    assert not result.errors, result.errors
    if not trace:  # both back-ends give the same
        assert run_json(program, FastProgram(program).evaluate(facts)) == run_json(program, result)
    return result


def _sources(program, result) -> dict:
    return {n["id"]: n.get("source") for n in trace_json(program, result)["nodes"]}


def _column(result, program, node_id) -> dict:
    return dict(zip(result.keys(node_id, program.ruleset), result.values[node_id]))


def test_national_defaults_and_the_trace_says_so(tmp_path):
    program = _program(tmp_path)
    result = _run(program, trace=True)
    assert result.values["point_value"] == D("9.0000")
    assert _column(result, program, "institution.dip_payable") == {"H1": D("9504.00"), "H2": D("4860.00")}
    sources = _sources(program, result)
    for name in ("base_score", "low_cost_ratio", "point_value_on_total_cost", "adjustment_reserve_rate"):
        assert sources[name] == "default of module dip_point_method (not given in the facts)", name


def test_the_facts_of_a_year_set_a_local_choice(tmp_path):
    # base_score 100 (×100 cities): scores 120 and 80, points 132 and 72, total 204;
    # point value 18,360 / 204 = 90.0000; payable unchanged: 132 × 90 × 80% = 9,504.00, 72 × 90 × 75% = 4,860.00
    program = _program(tmp_path)
    result = _run(program, {"base_score": "100"}, trace=True)
    assert _column(result, program, "case.points") == {"C1": D("132"), "C2": D("72")}
    assert result.values["point_value"] == D("90.0000")
    assert _column(result, program, "institution.dip_payable") == {"H1": D("9504.00"), "H2": D("4860.00")}
    assert _sources(program, result)["base_score"] == "facts"


def test_the_city_ruleset_sets_its_own_default(tmp_path):
    program = _program(tmp_path, """\
parameters:
  base_score:
    overrides: dip_point_method
    label: 基准分值（倍数）
    type: number
    open: true
    default: 100
    citation: 三(二)
    note: 本市按×100计算分值。
""")
    result = _run(program, trace=True)
    assert _column(result, program, "case.disease_score") == {"C1": D("120"), "C2": D("80")}
    assert _sources(program, result)["base_score"] == "set by ruleset city_t (not given in the facts)"
    # a later year's facts still override the city's default: ×1000 gives 1200 again
    again = _run(program, {"base_score": "1000"})
    assert _column(again, program, "case.disease_score")["C1"] == D("1200")


def test_adjustment_reserve_comes_off_the_budget_before_the_point_value(tmp_path):
    # reserve 14,280.00 × 5% = 714.00; available 13,566.00
    # point value 13,566 ÷ 7/9 ÷ 2040 = 13,566 × 9 / 7 / 2040 = 17,442 / 2040 = 8.5500
    # payable H1 1320 × 8.55 × 80% = 9,028.80; H2 720 × 8.55 × 75% = 4,617.00
    program = _program(tmp_path)
    result = _run(program, {"adjustment_reserve_rate": "5%"})
    assert result.values["adjustment_reserve"] == D("714.00")
    assert result.values["dip_budget_available"] == D("13566.00")
    assert result.values["point_value"] == D("8.5500")
    assert _column(result, program, "institution.dip_payable") == {"H1": D("9028.80"), "H2": D("4617.00")}


def test_rescale_to_the_available_budget(tmp_path):
    # unscaled Σ 9,504.00 + 4,860.00 = 14,364.00; ratio 14,280 / 14,364
    # H1 9,504 × 14,280 / 14,364 = 135,717,120 / 14,364 = 9,448.4211… -> 9,448.42
    # H2 4,860 × 14,280 / 14,364 = 69,400,800 / 14,364 = 4,831.5789… -> 4,831.58; Σ 14,280.00
    program = _program(tmp_path)
    result = _run(program, {"rescale_to_budget": True})
    assert _column(result, program, "institution.dip_payable") == {"H1": D("9448.42"), "H2": D("4831.58")}
    assert result.values["dip_payable_total"] == D("14280.00")


DIRECT = """\
entities:
  case:
    overrides: dip_point_method
    label: DIP结算病例
    collection: cases
    key: id
    parent: institution
    citation: 三(二)
    fields:
      grp_dise_sco: {label: 病种分值（国家平台分组结果）, type: number, min: 0, citation: 三(二)}
    rules:
      disease_score:
        overrides: dip_point_method
        label: 病种分值
        type: number
        formula: grp_dise_sco
        rounding: {places: 4}
        citation: 三(二)
"""


def test_direct_score_input_with_four_places(tmp_path):
    # C1 1168.0572 × 1.1 = 1284.86292 -> 1284.8629; C2 800.5 × 0.9 = 720.45 -> 720.4500
    # total 1284.8629 + 720.45 = 2005.3129
    program = _program(tmp_path, DIRECT)
    cases = [dict(c, grp_dise_sco=s) for c, s in zip(FACTS["cases"], ("1168.0572", "800.5"))]
    result = _run(program, {"cases": cases})
    assert _column(result, program, "case.disease_score") == {"C1": D("1168.0572"), "C2": D("800.5")}
    assert _column(result, program, "case.points") == {"C1": D("1284.8629"), "C2": D("720.4500")}
    assert result.values["city_total_points"] == D("2005.3129")


CATALOGUE = """\
enums:
  insurance_type: {label: 险种, values: [职工, 居民], citation: 二(一)}
tables:
  catalogue_score:
    label: 病种分值目录
    keys: {dip_code: text, insurance_type: insurance_type}
    value_type: number
    rows: facts
    citation: 三(二)
  level_coefficient:
    label: 医疗机构级别系数
    key_type: text
    value_type: number
    rows: facts
    citation: 三(三)
entities:
  institution:
    overrides: dip_point_method
    label: DIP定点医疗机构
    collection: institutions
    key: code
    citation: 三(三)
    fields:
      level: {label: 机构级别, type: text, citation: 三(三)}
    rules:
      coefficient:
        overrides: dip_point_method
        label: 医疗机构调节系数
        type: number
        formula: level_coefficient[level]
        citation: 三(三)
  case:
    overrides: dip_point_method
    label: DIP结算病例
    collection: cases
    key: id
    parent: institution
    citation: 三(二)
    fields:
      dip_code: {label: 病种编码, type: text, citation: 三(二)}
      insurance_type: {label: 险种, type: insurance_type, citation: 二(一)}
    rules:
      disease_score:
        overrides: dip_point_method
        label: 病种分值
        type: number
        formula: catalogue_score[dip_code, insurance_type]
        citation: 三(二)
"""


def test_score_from_a_catalogue_and_coefficient_from_a_level_table(tmp_path):
    # the catalogue gives C1 (A01, 职工) 1168.0572 and C2 (B02, 居民) 800.5 (B02 职工 would be 790.25);
    # levels: H1 三级 1.1, H2 二级 0.9 -> the same points as the direct input:
    # C1 1168.0572 × 1.1 = 1284.86292 -> 1284.8629; C2 800.5 × 0.9 = 720.4500; total 2005.3129
    program = _program(tmp_path, CATALOGUE)
    institutions = [{"code": "H1", "level": "三级"}, {"code": "H2", "level": "二级"}]
    cases = [dict(FACTS["cases"][0], dip_code="A01", insurance_type="职工"),
             dict(FACTS["cases"][1], dip_code="B02", insurance_type="居民")]
    result = _run(program, {
        "institutions": institutions, "cases": cases,
        "catalogue_score": [{"dip_code": "A01", "insurance_type": "职工", "value": "1168.0572"},
                            {"dip_code": "B02", "insurance_type": "居民", "value": "800.5"},
                            {"dip_code": "B02", "insurance_type": "职工", "value": "790.25"}],
        "level_coefficient": [{"key": "三级", "value": "1.1"}, {"key": "二级", "value": "0.9"}]})
    assert _column(result, program, "institution.coefficient") == {"H1": D("1.1"), "H2": D("0.9")}
    assert _column(result, program, "case.points") == {"C1": D("1284.8629"), "C2": D("720.4500")}
    assert result.values["city_total_points"] == D("2005.3129")


ELASTIC_RULES = """\
  point_value:
    overrides: dip_point_method
    label: 结算点值（元/分）
    type: money
    formula: |
      clamp(floating_point_value, budget_point_value * (100% - point_value_band),
            budget_point_value * (100% + point_value_band))
    rounding: {places: 4}
    citation: 三(四)3
"""
ELASTIC = """\
inputs:
  budget_point_value: {label: 预算点值（元/分）, type: money, min: 0, citation: 三(四)2}
parameters:
  point_value_band:
    label: 结算点值浮动区间（占预算点值）
    type: rate
    open: true
    default: 10%
    citation: 三(四)3
    note: 本市结算点值保持在预算点值上下10%以内。
"""


@pytest.mark.parametrize("budget, expected, h1, h2", [
    # band 10% of 8.00: [7.20, 8.80]; the floating 9.0000 is above -> 8.8000
    # H1 1320 × 8.8 × 80% = 9,292.80; H2 720 × 8.8 × 75% = 4,752.00
    ("8.00", "8.8000", "9292.80", "4752.00"),
    # band 10% of 9.50: [8.55, 10.45]; 9.0000 is inside -> 9.0000 (payables as the common block)
    ("9.50", "9.0000", "9504.00", "4860.00"),
])
def test_elastic_point_value_kept_within_a_band_around_the_budget_point_value(tmp_path, budget, expected, h1, h2):
    program = _program(tmp_path, ELASTIC, ELASTIC_RULES)
    result = _run(program, {"budget_point_value": budget})
    assert result.values["floating_point_value"] == D("9.0000")
    assert result.values["point_value"] == D(expected)
    assert _column(result, program, "institution.dip_payable") == {"H1": D(h1), "H2": D(h2)}


ASSESSMENT = """\
tables:
  assessment_coefficient:
    label: 年度考核系数
    key_type: text
    value_type: number
    rows: facts
    citation: 三(四)3
entities:
  institution:
    overrides: dip_point_method
    label: DIP定点医疗机构
    collection: institutions
    key: code
    citation: 三(四)3
    rules:
      dip_payable:
        overrides: dip_point_method
        label: 本机构DIP应支付额
        type: money
        formula: dip_payable_unscaled * rescale_ratio * assessment_coefficient[code]
        citation: 三(四)3
"""


def test_annual_assessment_coefficient_from_a_table(tmp_path):
    # §2.6 总结算额 = Σ(病例分值 × 结算点值 × 支付比例) × 考核系数
    # H1 9,504.00 × 0.98 = 9,313.92; H2 4,860.00 × 1.00 = 4,860.00; Σ 14,173.92
    program = _program(tmp_path, ASSESSMENT)
    result = _run(program, {"assessment_coefficient": [{"key": "H1", "value": "0.98"},
                                                       {"key": "H2", "value": "1.00"}]})
    assert _column(result, program, "institution.dip_payable") == {"H1": D("9313.92"), "H2": D("4860.00")}
    assert result.values["dip_payable_total"] == D("14173.92")


REVIEWED = """\
entities:
  case:
    overrides: dip_point_method
    label: DIP结算病例
    collection: cases
    key: id
    parent: institution
    citation: 三(二)
    fields:
      special_review: {label: 经特例单议, type: boolean, citation: 三(二)}
      reviewed_points: {label: 特例单议核定的病例分值, type: number, min: 0, citation: 三(二)}
    rules:
      points:
        overrides: dip_point_method
        label: 病例分值
        type: number
        formula: |
          if special_review then reviewed_points
          else disease_score * applied_coefficient * cost_adjustment
        rounding: {places: 4}
        citation: 三(二)
"""


def test_reviewed_points_replace_the_formula_for_a_special_case(tmp_path):
    # C1 reviewed: 1500.5 points (instead of 1320); C2 not reviewed: 720; total 2220.5
    # point value 18,360 / 2220.5: 2220.5 × 8 = 17,764, rest 596; 2220.5 × 0.2684 = 595.9822, rest 0.0178;
    #   0.0178 / 2220.5 = 0.0000080 -> 8.2684080… -> 8.2684
    # H1 1500.5 × 8.2684 = 12,402.6 + 4.1342 = 12,406.7342; × 80% = 9,925.38736 -> 9,925.39
    # H2 720 × 8.2684 = 5,953.248; × 75% = 4,464.936 -> 4,464.94
    program = _program(tmp_path, REVIEWED)
    cases = [dict(FACTS["cases"][0], special_review=True, reviewed_points="1500.5"),
             dict(FACTS["cases"][1], special_review=False, reviewed_points="0")]
    result = _run(program, {"cases": cases})
    assert _column(result, program, "case.points") == {"C1": D("1500.5"), "C2": D("720")}
    assert result.values["point_value"] == D("8.2684")
    assert _column(result, program, "institution.dip_payable") == {"H1": D("9925.39"), "H2": D("4464.94")}


TWO_FUNDS = """\
enums:
  insurance_fund: {label: 险种, values: [职工, 居民], citation: 二(一)}
tables:
  fund_dip_budget:
    label: 各险种住院DIP支出预算
    key_type: insurance_fund
    value_type: money
    rows: facts
    citation: 二(一)
entities:
  institution:
    overrides: dip_point_method
    label: DIP定点医疗机构
    collection: institutions
    key: code
    citation: 三(四)3
    rules:
      dip_payable_unscaled:
        overrides: dip_point_method
        label: 本机构DIP应支付额（两险种分别按各自点值）
        type: money
        formula: |
          (if count(cases where fund == "职工") > 0
           then sum(cases.points where fund == "职工") * point_value_employee
                * (sum(cases.fund_accounting_amount where fund == "职工") / sum(cases.cost where fund == "职工"))
           else 0)
          + (if count(cases where fund == "居民") > 0
             then sum(cases.points where fund == "居民") * point_value_resident
                  * (sum(cases.fund_accounting_amount where fund == "居民") / sum(cases.cost where fund == "居民"))
             else 0)
        citation: 三(四)3
  case:
    overrides: dip_point_method
    label: DIP结算病例
    collection: cases
    key: id
    parent: institution
    citation: 二(一)
    fields:
      fund: {label: 险种, type: insurance_fund, citation: 二(一)}
"""
TWO_FUNDS_RULES = """\
  dip_budget:
    overrides: dip_point_method
    label: 住院DIP支出预算（两险种合计）
    type: money
    formula: fund_dip_budget["职工"] + fund_dip_budget["居民"]
    citation: 二(一)
  employee_ratio:
    label: 职工医保DIP病例医保支付比例
    type: rate
    formula: sum(cases.fund_accounting_amount where fund == "职工") / sum(cases.cost where fund == "职工")
    citation: 二(一)
  point_value_employee:
    label: 职工医保结算点值
    type: money
    formula: fund_dip_budget["职工"] / employee_ratio / sum(cases.points where fund == "职工")
    rounding: {places: 4}
    citation: 二(一)
  resident_ratio:
    label: 居民医保DIP病例医保支付比例
    type: rate
    formula: sum(cases.fund_accounting_amount where fund == "居民") / sum(cases.cost where fund == "居民")
    citation: 二(一)
  point_value_resident:
    label: 居民医保结算点值
    type: money
    formula: fund_dip_budget["居民"] / resident_ratio / sum(cases.points where fund == "居民")
    rounding: {places: 4}
    citation: 二(一)
"""


def test_employee_and_resident_point_values_in_one_run(tmp_path):
    # Zibo 二(一): the two funds are budgeted and accounted separately, so each has its point value.
    # C1 (H1, 职工) 1320 points, cost 10,000, fund 8,000; C2 (H2, 居民) 720, 8,000, 6,000;
    # C3 (H1, 居民) mi 8,000 -> score 800 × 1.1 = 880 points, cost = norm = 8,000, fund 6,400.
    # 职工: ratio 8,000 / 10,000 = 80%; point value 10,560.00 ÷ 80% ÷ 1320 = 13,200 / 1320 = 10.0000
    # 居民: ratio (6,000 + 6,400) / 16,000 = 77.5%; point value 9,920.00 ÷ 77.5% ÷ 1600 = 12,800 / 1600 = 8.0000
    # H1: 1320 × 10 × 80% + 880 × 8 × (6,400 / 8,000 = 80%) = 10,560.00 + 5,632.00 = 16,192.00
    # H2: no 职工 case -> 0; 720 × 8 × 75% = 4,320.00
    program = _program(tmp_path, TWO_FUNDS, TWO_FUNDS_RULES)
    cases = [dict(FACTS["cases"][0], fund="职工"), dict(FACTS["cases"][1], fund="居民"),
             {"id": "C3", "institution": "H1", "disease_average_cost": "8000.00", "norm_cost": "8000.00",
              "cost": "8000.00", "fund_accounting_amount": "6400.00", "grassroots_disease": False, "fund": "居民"}]
    raw = {"cases": cases, "fund_dip_budget": [{"key": "职工", "value": "10560.00"}, {"key": "居民", "value": "9920.00"}]}
    result = _run(program, raw, drop=("dip_budget",))
    assert result.values["dip_budget"] == D("20480.00")
    assert result.values["point_value_employee"] == D("10.0000")
    assert result.values["point_value_resident"] == D("8.0000")
    assert _column(result, program, "institution.dip_payable") == {"H1": D("16192.00"), "H2": D("4320.00")}
