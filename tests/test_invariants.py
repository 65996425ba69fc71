"""Invariants of the seed rulesets as property tests (issue 6, part 4): for random amounts, not
only the worked examples, the parts of a split add up to the whole exactly (to the fen),
transfer and rebalancing tables conserve totals (and a perturbed table fails its check by
exactly the perturbation), the settlement equation holds, and evaluation is deterministic:
the same ruleset and facts give byte-identical trace JSON, also across processes with
different hash seeds, and every trace validates against ``schemas/trace.schema.json``.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fuzzing import TRACE_SCHEMA, extreme, kind_at, paths, put, scaled
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts
from rulesengine.load.loader import load_ruleset
from rulesengine.check.model import FactSet
from rulesengine.views.report import dumps, run_json, trace_json
from rulesengine.core.source import Span

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parent.parent
SANYA = "rulesets/sanya_2024.yaml"
GUANGDONG = "rulesets/guangdong_2019.yaml"
XINXIANG = "rulesets/xinxiang_county_community.yaml"
CHONGQING = "rulesets/chongqing_2019.yaml"
RULESETS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "rulesets").glob("*.yaml"))
FEN = Decimal("0.01")
SPAN = Span("facts", 1, 1)


@lru_cache(maxsize=None)
def program(path: str):
    return load_program(str(ROOT / path))


@lru_cache(maxsize=None)
def second_program(path: str):
    """Another program of the same ruleset, loaded and compiled separately."""
    return load_program(str(ROOT / path))


@lru_cache(maxsize=None)
def example(path: str) -> dict:
    """The default example's facts as written in the ruleset (plain values)."""
    return next(iter(load_ruleset(str(ROOT / path)).value["examples"].values()))["facts"]


def evaluate(path: str, changes: dict, targets=None, *, trace: bool = False):
    """Evaluate the ruleset over its default example with ``changes``, through fact binding."""
    raw = {**copy.deepcopy(example(path)), **changes}
    prog = program(path)
    facts = bind_facts(prog.ruleset, FactSet(raw, lambda p: SPAN, lambda p: SPAN))
    evaluation = prog.evaluate(facts, targets, trace=trace)
    assert evaluation.errors == [], [str(e) for e in evaluation.errors]
    return evaluation


def money(low="0", high="99999999999999999.99") -> st.SearchStrategy[Decimal]:
    return st.one_of(st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=2),
                     st.decimals(min_value=Decimal(low), max_value=min(Decimal(high), Decimal(10**6)),
                                 places=2),
                     st.sampled_from([Decimal(low), Decimal(low) + FEN, Decimal("0.05"),
                                      Decimal("0.15"), Decimal("0.95"), Decimal(high)]))


def half_up(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def text(value: Decimal) -> str:
    return f"{value:f}"


# --- Sanya: 90% monthly prepayment, the rest to the year-end clearing ----------------------------------
@given(declared=money())
def test_sanya_prepayment_split_adds_up_to_the_declared_amount(declared):
    v = evaluate(SANYA, {"last_month_declared": text(declared)},
                 ["monthly_prepayment", "monthly_withheld"]).values
    prepaid, withheld = v["monthly_prepayment"], v["monthly_withheld"]
    assert prepaid + withheld == declared
    assert prepaid == half_up(declared * Decimal("0.9"))
    assert withheld >= 0 and abs(withheld - declared * Decimal("0.1")) <= Decimal("0.005")
    assert prepaid.as_tuple().exponent == withheld.as_tuple().exponent == -2


@given(general=money(), chronic=money(), two=money(), dip=money(), prepaid=money(), audit=money(),
       accounting=money(), grade=st.sampled_from(["优秀", "良好", "合格", "不合格"]))
def test_sanya_payable_minus_deductions_is_the_settlement(general, chronic, two, dip, prepaid, audit,
                                                         accounting, grade):
    v = evaluate(SANYA, {"general_outpatient": text(general), "chronic_outpatient": text(chronic),
                         "two_diseases_outpatient": text(two), "dip_settlement_total": text(dip),
                         "prepaid_total": text(prepaid), "smart_audit_deduction": text(audit),
                         "fund_accounting_amount": text(accounting), "assessment_grade": grade},
                 ["settlement_amount"]).values
    assert v["payable"] == general + chronic + two + dip
    assert v["payable"] - prepaid - v["quality_deposit_deduction"] - audit == v["settlement_amount"]
    assert 0 <= v["quality_deposit_deduction"] <= v["quality_deposit"]
    assert v["quality_deposit"] == half_up(accounting * Decimal("0.05"))


# --- Guangdong: revenue = 2% adjustment fund + 8% risk fund + the total payment -----------------------------
@given(revenue=money(), budgeted=money())
def test_guangdong_funds_and_total_payment_add_up_to_revenue(revenue, budgeted):
    v = evaluate(GUANGDONG, {"county_fund_revenue": text(revenue),
                             "county_fund_revenue_budgeted": text(budgeted)},
                 ["global_budget", "global_budget_planned", "monthly_prepayment", "monthly_withheld",
                  "prepayment_schedule_total"]).values
    assert v["adjustment_fund"] == half_up(revenue * Decimal("0.02"))
    assert v["risk_reserve"] == half_up(revenue * Decimal("0.08"))
    assert v["adjustment_fund"] + v["risk_reserve"] + v["global_budget"] == revenue
    assert v["global_budget_planned"] + half_up(budgeted * Decimal("0.02")) + \
        half_up(budgeted * Decimal("0.08")) == budgeted
    # 80% of each month's average is prepaid, the rest withheld: together the month's average
    assert v["monthly_prepayment"] + v["monthly_withheld"] == v["monthly_average_payment"]
    assert v["prepayment_schedule_total"] == v["monthly_prepayment"] * 12


# --- Xinxiang: eleven equal monthly payments and a final one add up to the year's amount --------------------
@st.composite
def communities(draw):
    count = draw(st.integers(1, 6))
    rows = []
    for i in range(count):
        rows.append({"code": f"GT{i:02d}", "insured_residents": draw(st.integers(1, 5_000_000)),
                     "historical_spending": text(draw(money("0.01", "9999999999.99"))),
                     "in_county_spending": "0", "out_of_county_spending": "0",
                     "quality_deposit_release_rate": "100%", "reasonable_overspend": "0",
                     "prepaid_total": "0", "agreement_deduction": "0"})
    return rows


@given(financing=money("1000000.00", "99999999999.99"), critical_share=st.integers(0, 50),
       population_weight=st.integers(0, 100), reserve_rate=st.sampled_from(["3%", "5%", "7.5%"]),
       base=st.sampled_from(["筹资总额", "扣除大病保险基金后余额"]), rows=communities())
def test_xinxiang_monthly_payments_add_up_to_the_annual_amount(financing, critical_share,
                                                               population_weight, reserve_rate, base,
                                                               rows):
    critical = half_up(financing * critical_share / 100)
    v = evaluate(XINXIANG, {"resident_financing_total": text(financing),
                            "critical_illness_fund": text(critical),
                            "population_weight": f"{population_weight}%",
                            "spending_weight": f"{100 - population_weight}%",
                            "risk_reserve_rate": reserve_rate, "risk_reserve_base": base,
                            "communities": rows}).values
    months = v["budget_months"]
    for monthly, final, prepayable, deposit, budget in zip(
            v["community.monthly_prepayment"], v["community.final_month_prepayment"],
            v["community.prepayable_budget"], v["community.quality_deposit"],
            v["community.global_budget"]):
        assert monthly * (months - 1) + final == prepayable
        assert abs(final - monthly) <= Decimal("0.005") * (months - 1) + Decimal("0.005")
        assert deposit + prepayable == budget
    assert sum(v["community.global_budget"]) + v["allocation_rounding_residue"] == v["community_budget_pool"]
    # each community's share is rounded to the fen: the residue is at most half a fen each
    assert abs(v["allocation_rounding_residue"]) <= Decimal("0.005") * len(rows)


# --- Chongqing: transfer and rebalancing tables conserve the totals ----------------------------------
@st.composite
def transfer_table(draw):
    """Members whose transfers add up to zero and whose rebalancing changes add up to zero."""
    count = draw(st.integers(2, 8))
    template = example(CHONGQING)["members"][0]
    transfers = [draw(money("-9999999.99", "9999999.99")) for _ in range(count - 1)]
    transfers.append(-sum(transfers))
    changes = [draw(money("-999999.99", "999999.99")) for _ in range(count - 1)]
    changes.append(-sum(changes))
    members = []
    for i, (transfer, change) in enumerate(zip(transfers, changes)):
        before = draw(money("0", "999999999.99"))
        result = draw(money("-9999999.99", "9999999.99"))
        member = copy.deepcopy(template)
        member.update(code=f"H{i:03d}", is_lead=i == 0, budget_before=text(before),
                      budget_transfer=text(transfer), accounting_amount=text(draw(money())),
                      clearing_result=text(result), rebalanced_result=text(result + change),
                      filings=[{"filing_no": f"F{i:03d}", "filed_community_code":
                                example(CHONGQING)["community_code"]}])
        members.append(member)
    return members


def _check(evaluation, check_id):
    return next(c for c in evaluation.checks if c.id == check_id)


@given(members=transfer_table())
def test_chongqing_consistent_tables_conserve_totals(members):
    evaluation = evaluate(CHONGQING, {"members": members})
    v = evaluation.values
    assert v["transfer_balance"] == 0 and v["rebalancing_balance"] == 0
    assert v["adjusted_budget_total"] == v["global_budget"]
    assert v["rebalanced_total"] == v["clearing_result_total"]
    assert _check(evaluation, "transfer_totals_equal").passed
    assert _check(evaluation, "rebalancing_totals_equal").passed


@given(members=transfer_table(), data=st.data())
def test_chongqing_perturbed_table_fails_by_exactly_the_gap(members, data):
    delta = data.draw(money("-999999.99", "999999.99").map(lambda d: d or FEN), label="delta")
    row = data.draw(st.integers(0, len(members) - 1), label="row")
    table = data.draw(st.sampled_from(["transfer", "rebalancing"]), label="table")
    field = "budget_transfer" if table == "transfer" else "rebalanced_result"
    members[row][field] = text(Decimal(members[row][field]) + delta)
    evaluation = evaluate(CHONGQING, {"members": members})
    check_id = "transfer_totals_equal" if table == "transfer" else "rebalancing_totals_equal"
    other = "rebalancing_totals_equal" if table == "transfer" else "transfer_totals_equal"
    failed = _check(evaluation, check_id)
    # transfers: adjusted − budget = Σ(before − transfer) − Σ before = −Σ transfer = −delta;
    # rebalancing: rebalanced − cleared = Σ change = delta
    gap = -delta if table == "transfer" else delta
    assert not failed.passed and failed.difference == gap
    assert _check(evaluation, other).passed
    reported = next(c for c in run_json(program(CHONGQING), evaluation)["checks"] if c["id"] == check_id)
    assert reported["difference"] == text(gap) and reported["passed"] is False


# --- determinism ---------------------------------------------------------------------------------------
@st.composite
def valid_facts(draw):
    """A seed ruleset and its default example with up to three values changed within their type."""
    path = draw(st.sampled_from(RULESETS))
    facts = copy.deepcopy(example(path))
    ruleset = program(path).ruleset
    for _ in range(draw(st.integers(0, 3))):
        typed = [(p, k) for p in paths(facts) if (k := kind_at(ruleset, p)) is not None]
        where, (kind, values) = draw(st.sampled_from(typed))
        facts = put(facts, where, draw(extreme(kind, values)))
    return path, facts


@scaled(0.5)
@given(valid_facts())
def test_evaluation_is_deterministic_and_traces_validate(case):
    path, raw = case
    outputs = []
    for prog in (program(path), second_program(path), program(path)):
        try:
            facts = bind_facts(prog.ruleset, FactSet(copy.deepcopy(raw), lambda p: SPAN, lambda p: SPAN))
        except Exception:  # noqa: BLE001 - e.g. a duplicate record key: not this test's subject
            assume(False)
        if isinstance(facts.get("clearing_year"), int) and not 1 <= facts["clearing_year"] <= 9999:
            assume(False)  # known bug: test_fuzz_facts.py::test_clearing_year_outside_...
        try:
            evaluation = prog.evaluate(facts, trace=True)
        except ArithmeticError:
            assume(False)  # known bug: test_fuzz_formulas.py::test_display_of_a_long_number_...
        trace = dumps(trace_json(prog, evaluation))
        outputs.append((trace, dumps(run_json(prog, evaluation))))
    assert outputs[0] == outputs[1] == outputs[2]
    TRACE_SCHEMA.validate(json.loads(outputs[0][0]))


_TRACES = """
import sys
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts, example_facts
from rulesengine.views.report import dumps, trace_json
for path in sys.argv[1:]:
    program = load_program(path)
    facts = bind_facts(program.ruleset, example_facts(program.ruleset, None))
    sys.stdout.write(dumps(trace_json(program, program.evaluate(facts, trace=True))))
"""


def test_traces_are_byte_identical_across_processes_and_hash_seeds():
    outputs = []
    for seed in ("0", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", _TRACES, *RULESETS], cwd=ROOT, env=env,
                              capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 10_000
