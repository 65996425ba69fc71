"""Fidelity fixes of issue 13 that the rulesets' own `tests:` cannot show (severity, exit status,
what a ruleset no longer declares), each worked by hand from the seed documents.

The amounts are those of the rulesets' tests; the arithmetic is repeated in the comments.
"""

import pathlib
from decimal import Decimal as D

from rulesengine.check.model import Check
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts
from rulesengine.evaluate.facts import test_facts as facts_of_test

ROOT = pathlib.Path(__file__).resolve().parent.parent
SANYA = str(ROOT / "rulesets" / "sanya_2024.yaml")
CHONGQING = str(ROOT / "rulesets" / "chongqing_2019.yaml")
GUANGDONG = str(ROOT / "rulesets" / "guangdong_2019.yaml")
XINXIANG = str(ROOT / "rulesets" / "xinxiang_county_community.yaml")
ZIBO = str(ROOT / "rulesets" / "zibo_2025.yaml")


def evaluate_test(path: str, test_id: str):
    """The evaluation of one of the ruleset's own tests (its example's facts with its own on top)."""
    program = load_program(path)
    return program.evaluate(bind_facts(program.ruleset, facts_of_test(program.ruleset, test_id)))


def failed(evaluation) -> dict:
    return {c.id: c.severity for c in evaluation.failed_checks}


def test_sanya_violation_reaches_the_settlement_or_a_warning():
    # Before: settlement_amount 17,680,000.00 with and without the violation, no check.
    # Now, DIP total left at 150,000,000.00 while 三(四)2 gives 148,000,000 + 4,000,000 × 0% = 148,000,000.00:
    assert failed(evaluate_test(SANYA, "violation_but_dip_total_still_shared")) == \
        {"dip_settlement_includes_sharing": "warning"}
    # and with the DIP total that follows it the settlement moves: 15,680,000.00 (violation) vs
    # 18,880,000.00 (优秀 without it): 202,500,000 ± the fund share 3,200,000 − 184,500,000 − 320,000
    with_violation = evaluate_test(SANYA, "violation_cancels_sharing").values["settlement_amount"]
    without = evaluate_test(SANYA, "grade_excellent").values["settlement_amount"]
    assert without - with_violation == D("3200000.00")  # 4,000,000.00 × 80%


def test_chongqing_clearing_result_sign_is_a_warning():
    # 附件5 fixes how signs are written, not which sign a status allows: the table is not rejected
    evaluation = evaluate_test(CHONGQING, "clearing_result_wrong_sign")
    assert failed(evaluation) == {"member.clearing_result_sign": "warning"}
    program = load_program(CHONGQING)
    assert "one_filing_per_member" not in program.ruleset.declarations


def test_chongqing_two_filings_in_one_community_pass():
    assert failed(evaluate_test(CHONGQING, "member_filed_twice_in_this_community")) == {}
    # two communities: one defect, one report
    assert failed(evaluate_test(CHONGQING, "member_filed_in_two_communities")) == \
        {"member.filed_in_one_community": "error"}


def test_guangdong_has_no_invented_grades():
    ruleset = load_program(GUANGDONG).ruleset
    assert "assessment_grade" not in ruleset.declarations and "assessment_grade" not in ruleset.enums
    release = ruleset.declarations["risk_reserve_release_rate"]
    assert release.kind == "input"
    check = ruleset.declarations["admission_counts_consistent"]
    assert isinstance(check, Check) and ruleset.reference(check) == "粤医保发〔2019〕25号 附件1 三(一)、三(四)"


def test_xinxiang_reserve_check_can_fail():
    # 30% of 1,500,000 + 500,000 = 600,000.00 > reserve 500,000.00: capped, and the warning says so
    assert failed(evaluate_test(XINXIANG, "risk_reserve_cap")) == {"overspend_fund_share_capped": "warning"}
    assert failed(evaluate_test(XINXIANG, "example_clearing")) == {}  # 2,400,000.00 <= 26,750,000.00


def test_xinxiang_deduction_taken_once():
    # received in the year = prepaid + settlement = payable − deduction, withheld monthly or not:
    # 134,954,625.00 − 15,687,412.50 = 134,874,625.00 − 15,607,412.50 = 119,347,212.50 − 80,000.00
    for test_id, prepaid in (("example_clearing", D("134954625.00")),
                             ("agreement_deduction_withheld_monthly", D("134874625.00"))):
        values = evaluate_test(XINXIANG, test_id).values
        settlement = dict(zip(["GT01", "GT02", "GT03"], values["community.settlement_amount"]))["GT02"]
        assert prepaid + settlement == D("119267212.50")


def test_zibo_annual_budget_moves_the_annual_settlement():
    # H002's budget 31,860.00 -> 30,000.00: settlement −242.81 -> −1,696.00 (see the ruleset test)
    before = evaluate_test(ZIBO, "annual_clearing").values["institution.settlement_amount"]
    after = evaluate_test(ZIBO, "annual_budget_caps_the_settlement").values["institution.settlement_amount"]
    assert (before[1], after[1]) == (D("-242.81"), D("-1696.00"))
    assert (before[0], before[2]) == (after[0], after[2])


def test_zibo_dip_line_is_entered_not_the_remainder():
    # 主要包括: a budget adjustment of 6,000.01 stays unlisted (316,000.01 − 310,000.00); the DIP line
    # stays 144,000.00, so the point value stays 10.9365
    values = evaluate_test(ZIBO, "budget_above_revenue_warns").values
    assert (values["dip_budget"], values["unlisted_budget"], values["point_value"]) == \
        (D("144000.00"), D("6000.01"), D("10.9365"))
