"""Properties that must hold on the Sanya ruleset for any amounts, not only the examples."""

import random
from decimal import Decimal

import pytest

from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts, example_facts

SANYA = "rulesets/sanya_2024.yaml"


@pytest.fixture(scope="module")
def program():
    return load_program(SANYA)


@pytest.fixture(scope="module")
def base_facts(program):
    return bind_facts(program.ruleset, example_facts(program.ruleset, None))


def _amounts(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        yield Decimal(rng.randrange(0, 10**11)) / 100  # 0.00 .. 999,999,999.99, exact


def test_prepayment_and_withheld_add_up_exactly(program, base_facts):
    # every fen ending (.00 .. .99) and 300 random amounts
    amounts = [Decimal(12345600 + cents) / 100 for cents in range(100)] + list(_amounts(1, 300))
    for declared in amounts:
        facts = dict(base_facts, last_month_declared=declared)
        values = program.evaluate(facts, ["monthly_prepayment", "monthly_withheld"]).values
        prepaid, withheld = values["monthly_prepayment"], values["monthly_withheld"]
        assert prepaid + withheld == declared
        assert prepaid == prepaid.quantize(Decimal("0.01")) and withheld >= 0
        assert abs(prepaid - declared * Decimal("0.9")) <= Decimal("0.005")


def test_settlement_equation_holds(program, base_facts):
    # 决算金额 + 预付累计 + 质量保证金扣减 + 智能审核扣款 = 应支付金额, for any grade and amounts
    grades = ["优秀", "良好", "合格", "不合格"]
    for i, (prepaid, audit, accounting) in enumerate(zip(_amounts(2, 200), _amounts(3, 200),
                                                         _amounts(4, 200))):
        facts = dict(base_facts, prepaid_total=prepaid, smart_audit_deduction=audit,
                     fund_accounting_amount=accounting, assessment_grade=grades[i % 4])
        v = program.evaluate(facts, ["settlement_amount"]).values
        assert v["settlement_amount"] + prepaid + v["quality_deposit_deduction"] + audit == v["payable"]
        assert 0 <= v["quality_deposit_deduction"] <= v["quality_deposit"]


def test_overspend_shares_add_up(program, base_facts):
    for reasonable in _amounts(5, 200):
        facts = dict(base_facts, reasonable_overspend=reasonable)
        v = program.evaluate(facts, ["overspend_fund_share", "overspend_group_share"]).values
        assert v["overspend_fund_share"] + v["overspend_group_share"] == reasonable
