"""Benchmark: the engine against hand-written code on a DIP city-year and on group clearings.

Usage: python tools/bench.py [--sizes 10000,1000] [--json FILE] [--seed 1]

Two workloads, generated in memory by tools/gen_city_year.py (same seed, same data):
- dip-city-year (Zibo ruleset + the national DIP module): N cases across 200 institutions;
  case scores, outliers, points, institution totals, the point value, DIP payable and the
  annual clearing of every institution;
- group-clearing (Sanya ruleset): M medical groups, one year-end clearing each.

Each is computed, in this one process, by
  (a) decimal-reference  a hand-written pure-Python Decimal implementation (the exact reference),
  (b) numpy-f64          a hand-written numpy float64 implementation (the practical speed limit),
  (c) engine-fast        the engine's columnar fast path (rulesengine/evaluate/fixedpoint/),
  (d) engine-decimal     the engine's Decimal path (Program.evaluate),
  (e) engine-traced      the engine's Decimal path with a full trace.
Times are for evaluation over data already in memory (columns for (b) and (c), Decimal
values for (a), (d), (e)); building those inputs is not timed. After a warm-up on a small
slice, each implementation runs several times and the median is reported (5 runs when a run
takes under 2 s, 3 under 10 s, else 1). Peak MB is the growth of the process's peak resident
memory while the implementation's inputs are built and it runs (Linux; VmHWM reset through
/proc/self/clear_refs). "exact" compares every result with (a) to the fen (case points to
their 4 places). Ruleset load + schema + check + graph + compile time is measured for each
seed ruleset. File reading and writing is measured separately (rows per second; reading both
the first time in the process and the median after it).

``--sizes`` lists the sizes to run: DIP case counts are those of at least 10,000, group
counts the smaller ones (default: 10000,100000,1000000 cases and 1000,100000 groups). The
engine with traces is run up to 100,000 records (a million traced cases would need many GB).
"""

from __future__ import annotations

import argparse
import decimal
import gc
import json
import pathlib
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import numpy as np  # noqa: E402

import gen_city_year as gen  # noqa: E402
from rulesengine.evaluate.driver import load_program  # noqa: E402
from rulesengine.core.errors import RulesError  # noqa: E402
from rulesengine.evaluate.facts import bind_facts  # noqa: E402
from rulesengine.evaluate.fixedpoint import Collection, FastProgram, Fixed, Flags, Objects  # noqa: E402
from rulesengine.load.loader import schema  # noqa: E402
from rulesengine.check.model import FactSet  # noqa: E402
from rulesengine.evaluate.records import Records  # noqa: E402

ZIBO = ROOT / "rulesets" / "zibo_2025.yaml"
SANYA = ROOT / "rulesets" / "sanya_2024.yaml"
IMPLS = ("decimal-reference", "numpy-f64", "engine-fast", "engine-decimal", "engine-traced")
TRACE_LIMIT = 100_000
CTX = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN,
                      traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
Q2, Q4 = Decimal("0.01"), Decimal("0.0001")
ZERO, ONE = Decimal(0), Decimal(1)
SETTLE = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)


def r4(value: Decimal) -> Decimal:
    """Half up to 4 places, after settling the last digits a 34-digit quotient leaves: without
    the settling, 2.0799… × … = 8,935.28674999…9 (exactly 8,935.28675) rounds down, and 7 of
    10,000 case scores come out 0.0001 short."""
    return SETTLE.plus(value).quantize(Q4, ROUND_HALF_UP)


def r2(value: Decimal) -> Decimal:
    return SETTLE.plus(value).quantize(Q2, ROUND_HALF_UP)


# --- measuring -----------------------------------------------------------------------------------
def _status(field: str) -> int | None:
    try:
        text = pathlib.Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"{field}:\s+(\d+) kB", text)
    return int(match.group(1)) * 1024 if match else None


def _reset_peak() -> bool:
    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Peak:
    """Growth of peak resident memory over a block (None where /proc is not there)."""

    def __enter__(self):
        gc.collect()
        self.ok = _reset_peak()
        self.base = _status("VmRSS")
        return self

    def __exit__(self, *exc):
        top = _status("VmHWM")
        self.mb = None if not self.ok or top is None or self.base is None else (top - self.base) / 2 ** 20


def median_seconds(action, warm=None) -> tuple[float, object]:
    """(median time of several runs after a warm-up, what the last run returned)."""
    (warm or action)()
    times = []
    while True:
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
        first = times[0]
        wanted = 5 if first < 2 else 3 if first < 10 else 1
        if len(times) >= wanted:
            return statistics.median(times), result
        del result


# --- the DIP city-year -----------------------------------------------------------------------------
def _dec(ints: int, places: int) -> Decimal:
    return Decimal(int(ints)).scaleb(-places)


class DipData:
    """One generated city-year, and its forms for each implementation (built on demand)."""

    def __init__(self, n_cases: int, seed: int):
        self.raw = gen.dip_arrays(n_cases, 200, seed)
        self.n = n_cases
        self.facts_text = self.raw["facts"]

    def decimal_inputs(self) -> dict:
        inst, cases = self.raw["institutions"], self.raw["cases"]
        coef = [_dec(b + o, 2) for b, o in zip(inst["basic_coefficient"].tolist(), inst["bonus_coefficient"].tolist())]
        money = lambda a: [Decimal(v).scaleb(-2) for v in a.tolist()]  # noqa: E731
        return {
            "coef": coef, "inst_row": cases["institution_row"].tolist(),
            "dac": money(cases["disease_average_cost"]), "norm": money(cases["norm_cost"]),
            "cost": money(cases["cost"]), "fund": money(cases["fund_accounting_amount"]),
            "grass": cases["grassroots_disease"].tolist(),
            "last_year": money(inst["last_year_fund_paid"]), "credit": [_dec(v, 4) for v in inst["credit_rate"].tolist()],
            "settled": money(inst["monthly_settled_total"]), "audit": money(inst["audit_deduction"]),
            "inst_budget": money(inst["annual_dip_budget"]),
            "deduction_rate": [_dec(v, 4) for v in inst["assessment_deduction_rate"].tolist()],
            "budget": self.dip_budget()}

    def dip_budget(self) -> Decimal:
        f = self.facts_text
        if "dip_budget" in f:  # Zibo since issue 13: the DIP line is an input (二(一) "主要包括")
            return Decimal(f["dip_budget"])
        total = Decimal(f["compiled_budget"]) + Decimal(f["budget_adjustment"])
        for key in ("general_outpatient_budget", "chronic_outpatient_budget", "remote_sporadic_budget",
                    "other_payment_budget"):
            total -= Decimal(f[key])
        return total

    def facts(self, program) -> dict:
        return bind_facts(program.ruleset, FactSet(dict(self.facts_text), lambda p: None, lambda p: None))

    def collections(self) -> dict:
        inst, cases = self.raw["institutions"], self.raw["cases"]
        rates = {"credit_rate", "assessment_deduction_rate"}
        coefficients = {"basic_coefficient", "bonus_coefficient"}
        integers = {"general_outpatient_signed", "chronic_outpatient_signed", "hemodialysis_sessions",
                    "peritoneal_dialysis_patient_months", "psychiatric_bed_days", "hospice_bed_days"}
        fields = {}
        for name in gen.INSTITUTION_FIELDS:
            column = inst[name]
            if name == "code":
                fields[name] = Objects(column)
            else:
                scale = 4 if name in rates else 2 if name in coefficients else 0 if name in integers else 2
                fields[name] = Fixed(column.astype(np.int64), scale)
        keys = np.empty(self.n, dtype=object)
        keys[:] = [gen.case_id(i) for i in range(self.n)]
        case_fields = {"id": Objects(keys), "institution": Objects(inst["code"][cases["institution_row"]]),
                       "grassroots_disease": Flags(cases["grassroots_disease"])}
        for name in ("disease_average_cost", "norm_cost", "cost", "fund_accounting_amount"):
            case_fields[name] = Fixed(cases[name], 2)
        return {"institutions": Collection("institution", inst["code"], fields),
                "cases": Collection("case", keys, case_fields, cases["institution_row"].astype(np.int64))}

    def records(self, program) -> dict:
        """The city-year as the Decimal path's facts (Records of Python values)."""
        facts = self.facts(program)
        inst, cases = self.raw["institutions"], self.raw["cases"]
        rates = {"credit_rate", "assessment_deduction_rate"}
        columns = {}
        for name in gen.INSTITUTION_FIELDS:
            values = inst[name].tolist()
            if name == "code":
                columns[name] = list(values)
            elif name in rates:
                columns[name] = [_dec(v, 4) for v in values]
            elif name in ("basic_coefficient", "bonus_coefficient"):
                columns[name] = [_dec(v, 2) for v in values]
            elif program.ruleset.declarations[f"institution.{name}"].type.kind == "integer":
                columns[name] = [int(v) for v in values]
            else:
                columns[name] = [Decimal(v).scaleb(-2) for v in values]
        codes = list(inst["code"])
        institutions = Records("institution", codes, columns, [("institutions", i) for i in range(len(codes))])
        rows = cases["institution_row"].tolist()
        case_columns = {"id": [gen.case_id(i) for i in range(self.n)], "institution": [codes[r] for r in rows],
                        "grassroots_disease": cases["grassroots_disease"].tolist()}
        for name in ("disease_average_cost", "norm_cost", "cost", "fund_accounting_amount"):
            case_columns[name] = [Decimal(v).scaleb(-2) for v in cases[name].tolist()]
        case_records = Records("case", case_columns["id"], case_columns, [("cases", i) for i in range(self.n)],
                               parent_rows=rows)
        groups: list[list[int]] = [[] for _ in codes]
        for row, owner in enumerate(rows):
            groups[owner].append(row)
        institutions.children["cases"] = groups
        facts["institutions"], facts["cases"] = institutions, case_records
        return facts


def dip_decimal_reference(d: dict) -> dict:
    """The DIP city-year by hand, in Decimal (34 digits, as a careful clerk's program would)."""
    with decimal.localcontext(CTX):
        base, thousand = Decimal("8000.00"), Decimal(1000)
        low, high, extreme = Decimal("0.5"), Decimal(2), Decimal(5)
        n_inst = len(d["coef"])
        points_by = [ZERO] * n_inst
        cost_by = [ZERO] * n_inst
        fund_by = [ZERO] * n_inst
        scores, coefs, points = [], [], []
        flagged = 0
        coef_of = d["coef"]
        for dac, norm, cost, fund, grass, row in zip(d["dac"], d["norm"], d["cost"], d["fund"], d["grass"],
                                                     d["inst_row"]):
            score = r4(dac / base * thousand)
            coef = ONE if grass else coef_of[row]
            ratio = cost / norm
            if ratio < low:
                adjust = ratio
            elif ratio > high:
                adjust = min(ratio, extreme) - high + ONE
            else:
                adjust = ONE
            p = r4(score * coef * adjust)
            if ratio > extreme:
                flagged += 1
            scores.append(score)
            coefs.append(coef)
            points.append(p)
            points_by[row] += p
            cost_by[row] += cost
            fund_by[row] += fund
        city_points, city_cost, city_fund = sum(points_by), sum(cost_by), sum(fund_by)
        point_value = r4(d["budget"] / (city_fund / city_cost) / city_points)
        standards = [r2(s * c * point_value) for s, c in zip(scores, coefs)]
        payable, settlement = [], []
        for i in range(n_inst):
            pay = r2(points_by[i] * point_value * (fund_by[i] / cost_by[i]))
            fund = fund_by[i]
            base = min(pay, d["inst_budget"][i])  # 三(四)3: the institution's annual DIP budget caps it
            # overspend without the audited 违规 costs, which are deducted once below
            surplus, overspend = max(ZERO, base - fund), max(ZERO, fund - d["audit"][i] - base)
            retained = r2(surplus * Decimal("0.8"))
            limit = r2(base * Decimal("0.1"))
            share = r2(min(overspend, limit) * Decimal("0.7"))
            annual = min(fund, base) + retained + share
            deposit = r2(annual * Decimal("0.05"))
            deduction = r2(deposit * d["deduction_rate"][i])
            advance = r2(d["last_year"][i] / 12 * 1 * d["credit"][i])
            settlement.append(annual - d["settled"][i] - d["audit"][i] - deduction - advance)
            payable.append(pay)
        return {"points": points, "standards": standards, "point_value": point_value, "payable": payable,
                "settlement": settlement, "flagged": flagged}


def dip_numpy(raw: dict, budget: float) -> dict:
    """The same in numpy float64, as a practical vectorised program would do it."""
    inst, cases = raw["institutions"], raw["cases"]
    coef_inst = (inst["basic_coefficient"] + inst["bonus_coefficient"]) / 100.0
    row = cases["institution_row"]
    dac, norm = cases["disease_average_cost"] / 100.0, cases["norm_cost"] / 100.0
    cost, fund = cases["cost"] / 100.0, cases["fund_accounting_amount"] / 100.0
    score = np.round(dac / 8000.0 * 1000.0, 4)
    coef = np.where(cases["grassroots_disease"], 1.0, coef_inst[row])
    ratio = cost / norm
    adjust = np.where(ratio < 0.5, ratio, np.where(ratio > 2.0, np.minimum(ratio, 5.0) - 2.0 + 1.0, 1.0))
    points = np.round(score * coef * adjust, 4)
    n = len(coef_inst)
    points_by = np.bincount(row, weights=points, minlength=n)
    cost_by = np.bincount(row, weights=cost, minlength=n)
    fund_by = np.bincount(row, weights=fund, minlength=n)
    point_value = np.round(budget / (fund_by.sum() / cost_by.sum()) / points_by.sum(), 4)
    standards = np.round(score * coef * point_value, 2)
    pay = np.round(points_by * point_value * (fund_by / cost_by), 2)
    base = np.minimum(pay, inst["annual_dip_budget"] / 100.0)
    audit = inst["audit_deduction"] / 100.0
    surplus, overspend = np.maximum(0, base - fund_by), np.maximum(0, fund_by - audit - base)
    retained = np.round(surplus * 0.8, 2)
    share = np.round(np.minimum(overspend, np.round(base * 0.1, 2)) * 0.7, 2)
    annual = np.minimum(fund_by, base) + retained + share
    deduction = np.round(np.round(annual * 0.05, 2) * inst["assessment_deduction_rate"] / 10000.0, 2)
    advance = np.round(inst["last_year_fund_paid"] / 100.0 / 12 * inst["credit_rate"] / 10000.0, 2)
    settlement = annual - inst["monthly_settled_total"] / 100.0 - inst["audit_deduction"] / 100.0 - deduction - advance
    return {"points": points, "standards": standards, "point_value": point_value, "payable": pay,
            "settlement": settlement, "flagged": int((ratio > 5.0).sum())}


def _same(values, reference, places: int) -> int:
    """How many values differ from the reference at ``places`` decimals."""
    quantum = Decimal(1).scaleb(-places)
    wrong = 0
    for value, ref in zip(values, reference):
        if isinstance(value, float):
            value = Decimal(repr(float(value))).quantize(quantum, ROUND_HALF_UP)
        if value != ref:
            wrong += 1
    return wrong


def dip_differences(result: dict, ref: dict) -> int:
    wrong = _same(list(result["points"]), ref["points"], 4)
    wrong += _same(list(result["standards"]), ref["standards"], 2)
    wrong += _same(list(result["payable"]), ref["payable"], 2)
    wrong += _same(list(result["settlement"]), ref["settlement"], 2)
    wrong += _same([result["point_value"]], [ref["point_value"]], 4)
    return wrong + (result["flagged"] != ref["flagged"])


def dip_from_engine(values_of, n_inst: int) -> dict:
    review = values_of("case.extreme_cost_review")
    return {"points": values_of("case.points"), "standards": values_of("case.payment_standard"),
            "point_value": values_of("point_value")[0], "payable": values_of("institution.dip_payable"),
            "settlement": values_of("institution.settlement_amount"),
            "flagged": sum(1 for ok in review if not ok)}


def bench_dip(n: int, seed: int, rows: list) -> None:
    data = DipData(n, seed)
    program = load_program(str(ZIBO))
    results = {}

    small = DipData(min(n, 2000), seed)  # the warm-up slice: a small city of its own
    with Peak() as peak:
        inputs = data.decimal_inputs()
        warm = small.decimal_inputs()
        seconds, reference = median_seconds(lambda: dip_decimal_reference(inputs),
                                            lambda: dip_decimal_reference(warm))
    inputs = warm = None  # free the Decimal inputs before the next implementation
    results["decimal-reference"] = (seconds, True, peak.mb)

    budget = float(data.dip_budget())
    with Peak() as peak:
        seconds, found = median_seconds(lambda: dip_numpy(data.raw, budget))
    results["numpy-f64"] = (seconds, dip_differences(found, reference) == 0, peak.mb,
                            dip_differences(found, reference))

    fast = FastProgram(program)
    with Peak() as peak:
        collections, scalars = data.collections(), data.facts(program)
        seconds, result = median_seconds(lambda: fast.run(collections, scalars))
    found = dip_from_engine(result.column, 200)
    results["engine-fast"] = (seconds, dip_differences(found, reference) == 0, peak.mb)
    collections = result = None

    with Peak() as peak:
        facts = data.records(program)
        warm_facts = small.records(program)
        seconds, evaluation = median_seconds(lambda: program.evaluate(facts),
                                             lambda: program.evaluate(warm_facts))
    found = dip_from_engine(lambda k: evaluation.values[k] if isinstance(evaluation.values[k], list)
                            else [evaluation.values[k]], 200)
    results["engine-decimal"] = (seconds, dip_differences(found, reference) == 0, peak.mb)
    evaluation = None

    if n <= TRACE_LIMIT:
        with Peak() as peak:
            seconds, evaluation = median_seconds(lambda: program.evaluate(facts, trace=True),
                                                 lambda: program.evaluate(warm_facts, trace=True))
        found = dip_from_engine(lambda k: evaluation.values[k] if isinstance(evaluation.values[k], list)
                                else [evaluation.values[k]], 200)
        results["engine-traced"] = (seconds, dip_differences(found, reference) == 0, peak.mb)
        evaluation = None
    facts = None
    rows.append(("dip-city-year", n, results))


# --- group clearings (Sanya) ---------------------------------------------------------------------
GRADE_DEDUCTION = {"优秀": Decimal("0"), "良好": Decimal("0.10"), "合格": Decimal("0.30"), "不合格": Decimal("1.00")}
GRADE_SHARE = {"优秀": Decimal("0.80"), "良好": Decimal("0.50"), "合格": Decimal("0.20"), "不合格": Decimal("0")}
MONEY_FIELDS = [f for f in gen.GROUP_FIELDS if f not in ("group", "employee_growth_rate", "resident_growth_rate",
                                                        "assessment_grade", "violation_penalized", "clearing_year",
                                                        "clearing_completed_on")]


def group_rows(cols: dict) -> list[dict]:
    """Each group's facts, typed as the Decimal path takes them."""
    n = len(cols["group"])
    lists = {k: (v.tolist() if hasattr(v, "tolist") else list(v)) for k, v in cols.items()}
    out = []
    for i in range(n):
        row = {k: Decimal(lists[k][i]).scaleb(-2) for k in MONEY_FIELDS}
        row["employee_growth_rate"] = _dec(lists["employee_growth_rate"][i], 4)
        row["resident_growth_rate"] = _dec(lists["resident_growth_rate"][i], 4)
        row["assessment_grade"] = lists["assessment_grade"][i]
        row["violation_penalized"] = bool(lists["violation_penalized"][i])
        row["clearing_year"] = int(lists["clearing_year"][i])
        row["clearing_completed_on"] = date.fromisoformat(lists["clearing_completed_on"][i])
        out.append(row)
    return out


def group_decimal_reference(rows: list[dict]) -> dict:
    """Every Sanya clearing by hand, in Decimal."""
    settlement, share, budget, failing = [], [], [], 0
    with decimal.localcontext(CTX):
        for f in rows:
            emp = r2(f["employee_budget_base"] * (ONE + f["employee_growth_rate"]))
            res = r2(f["resident_budget_base"] * (ONE + f["resident_growth_rate"]))
            current, previous = f["city_budget_current"], f["city_budget_previous"]
            shrink = current / previous if current < previous else ONE
            total = (r2(emp * shrink) + r2(res * shrink)
                     + f["budget_adjustment"])
            prepayment = r2(f["last_month_declared"] * Decimal("0.9"))
            _withheld = f["last_month_declared"] - prepayment
            outpatient = f["general_outpatient"] + f["chronic_outpatient"] + f["two_diseases_outpatient"]
            payable = outpatient + f["dip_settlement_total"]
            deposit = r2(f["fund_accounting_amount"] * Decimal("0.05"))
            deduction = r2(deposit * GRADE_DEDUCTION[f["assessment_grade"]])
            dip_budget = total - outpatient - f["other_fund_spending"]
            overspend = max(ZERO, f["dip_inpatient_cost"] - dip_budget)
            _retained = max(ZERO, dip_budget - f["dip_inpatient_cost"])
            rate = ZERO if f["violation_penalized"] else GRADE_SHARE[f["assessment_grade"]]
            fund_share = r2(f["reasonable_overspend"] * rate)
            _group_share = f["reasonable_overspend"] - fund_share
            deadline = date(f["clearing_year"] + 1, 6, 30)
            ok = (f["employee_growth_rate"] <= Decimal("0.10") and f["resident_growth_rate"] <= Decimal("0.05")
                  and f["reasonable_overspend"] <= overspend)
            _warnings = (f["clearing_completed_on"] <= deadline, dip_budget >= 0)
            failing += not ok
            settlement.append(payable - f["prepaid_total"] - deduction - f["smart_audit_deduction"])
            share.append(fund_share)
            budget.append(total)
    return {"settlement": settlement, "share": share, "budget": budget, "failing": failing}


def group_numpy(cols: dict) -> dict:
    m = {k: cols[k] / 100.0 for k in MONEY_FIELDS}
    ge, gr = cols["employee_growth_rate"] / 10000.0, cols["resident_growth_rate"] / 10000.0
    emp = np.round(m["employee_budget_base"] * (1 + ge), 2)
    res = np.round(m["resident_budget_base"] * (1 + gr), 2)
    shrink = np.where(m["city_budget_current"] < m["city_budget_previous"],
                      m["city_budget_current"] / m["city_budget_previous"], 1.0)
    total = np.round(emp * shrink, 2) + np.round(res * shrink, 2) + m["budget_adjustment"]
    outpatient = m["general_outpatient"] + m["chronic_outpatient"] + m["two_diseases_outpatient"]
    grades = cols["assessment_grade"]
    deduction_rate = np.select([grades == g for g in GRADE_DEDUCTION], [float(v) for v in GRADE_DEDUCTION.values()])
    share_rate = np.select([grades == g for g in GRADE_SHARE], [float(v) for v in GRADE_SHARE.values()])
    deduction = np.round(np.round(m["fund_accounting_amount"] * 0.05, 2) * deduction_rate, 2)
    dip_budget = total - outpatient - m["other_fund_spending"]
    overspend = np.maximum(0, m["dip_inpatient_cost"] - dip_budget)
    fund_share = np.round(m["reasonable_overspend"] * np.where(cols["violation_penalized"], 0.0, share_rate), 2)
    ok = (ge <= 0.10) & (gr <= 0.05) & (m["reasonable_overspend"] <= overspend)
    settlement = outpatient + m["dip_settlement_total"] - m["prepaid_total"] - deduction - m["smart_audit_deduction"]
    return {"settlement": settlement, "share": fund_share, "budget": total, "failing": int((~ok).sum())}


def group_differences(result: dict, ref: dict) -> int:
    wrong = sum(_same(list(result[k]), ref[k], 2) for k in ("settlement", "share", "budget"))
    return wrong + (result["failing"] != ref["failing"])


def group_scalars(cols: dict) -> dict:
    scalars = {}
    for name in MONEY_FIELDS:
        scalars[name] = Fixed(cols[name].astype(np.int64), 2)
    for name in ("employee_growth_rate", "resident_growth_rate"):
        scalars[name] = Fixed(cols[name].astype(np.int64), 4)
    scalars["clearing_year"] = Fixed(cols["clearing_year"].astype(np.int64), 0)
    scalars["violation_penalized"] = Flags(cols["violation_penalized"].astype(bool))
    scalars["assessment_grade"] = Objects(cols["assessment_grade"])
    days = {text: date.fromisoformat(text) for text in set(cols["clearing_completed_on"])}
    completed = np.empty(len(cols["group"]), dtype=object)
    completed[:] = [days[t] for t in cols["clearing_completed_on"]]
    scalars["clearing_completed_on"] = Objects(completed)
    return scalars


ERROR_CHECKS = ("employee_growth_within_cap", "resident_growth_within_cap", "reasonable_overspend_within_overspend")


def bench_groups(n: int, seed: int, rows: list) -> None:
    cols = gen.group_arrays(n, seed)
    program = load_program(str(SANYA))
    results = {}
    with Peak() as peak:
        facts = group_rows(cols)
        seconds, reference = median_seconds(lambda: group_decimal_reference(facts),
                                            lambda: group_decimal_reference(facts[:500]))
    results["decimal-reference"] = (seconds, True, peak.mb)

    with Peak() as peak:
        seconds, found = median_seconds(lambda: group_numpy(cols))
    results["numpy-f64"] = (seconds, group_differences(found, reference) == 0, peak.mb,
                            group_differences(found, reference))

    fast = FastProgram(program)
    with Peak() as peak:
        scalars = group_scalars(cols)
        seconds, result = median_seconds(lambda: fast.run({}, scalars, rows=n))
    failing = np.zeros(n, dtype=bool)
    for check in ERROR_CHECKS:
        failing |= ~result.row_checks[check]
    found = {"settlement": result.column("settlement_amount", n), "share": result.column("overspend_fund_share", n),
             "budget": result.column("global_budget", n), "failing": int(failing.sum())}
    results["engine-fast"] = (seconds, group_differences(found, reference) == 0, peak.mb)
    del result

    def run_all(trace: bool, subset=None) -> dict:
        """Every group's clearing; each result (and trace) is made in full, then only the
        figures compared with (a) are kept, as a batch writing its rows out would."""
        found = {"settlement": [], "share": [], "budget": [], "failing": 0}
        for f in (subset or facts):
            e = program.evaluate(f, trace=trace)
            found["settlement"].append(e.values["settlement_amount"])
            found["share"].append(e.values["overspend_fund_share"])
            found["budget"].append(e.values["global_budget"])
            found["failing"] += any(c.id in ERROR_CHECKS for c in e.failed_checks)
        return found

    with Peak() as peak:
        seconds, found = median_seconds(lambda: run_all(False), lambda: run_all(False, facts[:500]))
    results["engine-decimal"] = (seconds, group_differences(found, reference) == 0, peak.mb)
    if n <= TRACE_LIMIT:
        with Peak() as peak:
            seconds, found = median_seconds(lambda: run_all(True), lambda: run_all(True, facts[:500]))
        results["engine-traced"] = (seconds, group_differences(found, reference) == 0, peak.mb)
    rows.append(("group-clearing", n, results))


# --- loading and files ------------------------------------------------------------------------------
def bench_load() -> dict:
    schema("ruleset")  # the schema file is read once per process, as in real use
    out = {}
    for path in sorted((ROOT / "rulesets").glob("*.yaml")):
        try:
            program = load_program(str(path))
        except RulesError as err:
            print(f"{path.stem}: does not load: {err.message}")
            continue
        seconds, _program = median_seconds(lambda p=path: load_program(str(p)))
        out[program.ruleset.meta.id] = round(seconds * 1000, 1)
    return out


def bench_files(n: int, seed: int) -> list[tuple[str, float]]:
    """Rows per second reading (batch's loader: the first read of the process, then the median of
    several) and writing tables, CSV and .xlsx."""
    from rulesengine.batch import read as batch
    program = load_program(str(ZIBO))
    ruleset = program.ruleset
    data = gen.dip_arrays(n, 200, seed)
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        for suffix, count in ((".csv", n), (".xlsx", min(n, 10_000))):
            small = data if count == n else gen.dip_arrays(count, 200, seed)
            inst_path = pathlib.Path(folder, f"institutions{suffix}")
            cases_path = pathlib.Path(folder, f"cases{suffix}")
            gen.write_table(inst_path, gen.INSTITUTION_FIELDS, gen.institution_records(small))
            start = time.perf_counter()
            gen.write_table(cases_path, gen.CASE_FIELDS, gen.case_records(small))
            figures.append((f"write cases{suffix}", count / (time.perf_counter() - start)))

            def read(inst=inst_path, cases=cases_path):
                parents = batch.load_collection(ruleset, ruleset.collections["institutions"], str(inst), None, None)
                return batch.load_collection(ruleset, ruleset.collections["cases"], str(cases), parents, None)
            start = time.perf_counter()
            read()  # the first read of the process pays pyarrow's one-time start (about 0.1 s)
            figures.append((f"read cases{suffix} (first)", count / (time.perf_counter() - start)))
            seconds, _loaded = median_seconds(read)
            figures.append((f"read cases{suffix}", count / seconds))
            figures.append((f"batch output cases{suffix}", bench_output(ruleset, small, cases_path, count)))
    return figures


def bench_output(ruleset, data: dict, path: pathlib.Path, count: int) -> float:
    """Rows per second through batch's writer (typed columns, formula-safe text; for .xlsx the
    layout of the workbook command and its side sheets)."""
    from rulesengine.batch.write import Field, Sheets, _Writer
    decls = ruleset.declarations
    fields = [Field(f, decls[f"case.{f}"].label, decls[f"case.{f}"].type) for f in gen.CASE_FIELDS]
    rows = [[record[f] for f in gen.CASE_FIELDS] for record in gen.case_records(data)]
    out = path.with_name("results" + path.suffix)
    start = time.perf_counter()
    _Writer(str(out), fields, Sheets("病例", "cases")).write(iter(rows))
    return count / (time.perf_counter() - start)


# --- report -----------------------------------------------------------------------------------------
def _fmt_seconds(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000,1000",
                        help="comma-separated sizes: >= 10000 are DIP case counts, smaller are "
                             "group counts; 100000 is both (default: 10000,100000,1000000,1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--no-files", action="store_true", help="skip the file read/write figures")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    dip_sizes = [s for s in sizes if s >= 10_000]
    group_sizes = [s for s in sizes if s < 10_000 or s == 100_000]
    started = time.perf_counter()

    print(f"{'ruleset':<36} {'load+check+compile':>20}")
    load_ms = bench_load()
    for ruleset_id, ms in load_ms.items():
        print(f"{ruleset_id:<36} {ms:>17.1f} ms")

    rows: list = []
    for n in dip_sizes:
        bench_dip(n, args.seed, rows)
    for n in group_sizes:
        bench_groups(n, args.seed, rows)

    workloads = []
    print(f"\n{'workload':<16} {'size':>9} {'impl':<18} {'time':>10} {'records/s':>12} {'vs (b)':>8} "
          f"{'vs (a)':>8} {'peak MB':>8}  exact vs (a)")
    for workload, n, results in rows:
        numpy_s, decimal_s = results["numpy-f64"][0], results["decimal-reference"][0]
        entries = []
        for impl in IMPLS:
            if impl not in results:
                print(f"{workload:<16} {n:>9,} {impl:<18} {'(not run above 100,000 records: memory)':>40}")
                continue
            seconds, exact, peak = results[impl][:3]
            note = "" if exact else f" ({results[impl][3]} values differ)" if len(results[impl]) > 3 else ""
            entry = {"impl": impl, "seconds": round(seconds, 6), "records_per_s": round(n / seconds),
                     "vs_numpy": round(seconds / numpy_s, 2), "vs_decimal": round(seconds / decimal_s, 3),
                     "exact": bool(exact), "peak_mb": None if peak is None else round(peak, 1)}
            entries.append(entry)
            print(f"{workload:<16} {n:>9,} {impl:<18} {_fmt_seconds(seconds):>10} {n / seconds:>12,.0f} "
                  f"{entry['vs_numpy']:>7.2f}x {entry['vs_decimal']:>7.3f}x "
                  f"{'-' if peak is None else f'{peak:.0f}':>8}  {'yes' if exact else 'no'}{note}")
        workloads.append({"workload": workload, "size": n, "results": entries})

    if not args.no_files and dip_sizes:
        print()
        for label, rate in bench_files(min(dip_sizes), args.seed):
            print(f"{label:<24} {rate:>12,.0f} rows/s")

    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"workloads": workloads, "load_ms": load_ms}, indent=2) + "\n",
                                           encoding="utf-8")
    largest = max((w for w in workloads if w["workload"] == "dip-city-year"), key=lambda w: w["size"], default=None)
    summary = f"summary: load max {max(load_ms.values()):.0f} ms"
    if largest:
        by = {r["impl"]: r for r in largest["results"]}
        summary += (f"; DIP {largest['size']:,} cases: fast path {by['engine-fast']['records_per_s']:,} cases/s, "
                    f"{by['engine-fast']['vs_numpy']:.2f}x numpy float64, "
                    f"exact {'yes' if by['engine-fast']['exact'] else 'NO'}; Decimal path "
                    f"{by['engine-decimal']['vs_decimal']:.2f}x the hand-written Decimal")
    groups = sorted((w for w in workloads if w["workload"] == "group-clearing"), key=lambda w: w["size"])
    if groups:
        by = {r["impl"]: r for r in groups[-1]["results"]}
        if "engine-traced" in by:
            summary += (f"; traces {by['engine-traced']['seconds'] / by['engine-decimal']['seconds']:.1f}x untraced "
                        f"({groups[-1]['size']:,} groups)")
    summary += f"; total {time.perf_counter() - started:.0f} s"
    print("\n" + summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
