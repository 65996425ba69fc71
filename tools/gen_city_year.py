"""Benchmark inputs: a DIP city-year (Zibo ruleset) and Sanya group clearings, from a seed.

Usage:
  python tools/gen_city_year.py dip --cases 100000 [--institutions 200] [--seed 1] -o DIR [--format csv|jsonl|xlsx]
  python tools/gen_city_year.py groups --groups 1000 [--seed 1] -o FILE.csv|.jsonl|.xlsx

``dip`` writes DIR/institutions.<ext>, DIR/cases.<ext> and DIR/facts.yaml (the city's budget
lines and open parameters) for ``rulesengine batch rulesets/zibo_2025.yaml --table
DIR/institutions.csv --table DIR/cases.csv --facts DIR/facts.yaml``. ``groups`` writes one
row per medical group with every Sanya input, for ``rulesengine batch rulesets/sanya_2024.yaml
--table FILE`` (row-wise: one clearing per row).

The same seed gives the same files, byte for byte. Amounts are whole fen drawn with numpy's
PCG64 and written as plain decimals. The case mix: a catalogue of 800 disease groups with
average costs from about 2,000 to 120,000 yuan; institutions of three levels (coefficient
0.70 to 1.20 plus a bonus of 0 to 0.10); case costs spread around the disease's level norm,
with about 3% low-cost (< 50%), 3% high-cost (> 200%) and 0.3% extreme (> 500%) cases; 10%
grassroots diseases; fund accounting 55% to 90% of the cost.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pathlib
import sys
from typing import Iterator

import numpy as np

INSTITUTION_FIELDS = [
    "code", "basic_coefficient", "bonus_coefficient", "annual_dip_budget", "month_fund_accounting",
    "last_year_fund_paid", "credit_rate", "monthly_settled_total", "audit_deduction",
    "assessment_deduction_rate", "general_outpatient_signed", "chronic_outpatient_signed",
    "emergency_part_amount", "special_care_amount", "hemodialysis_sessions",
    "peritoneal_dialysis_patient_months", "single_disease_amount", "psychiatric_bed_days",
    "hospice_bed_days"]
CASE_FIELDS = ["id", "institution", "disease_average_cost", "norm_cost", "cost",
               "fund_accounting_amount", "grassroots_disease"]
GROUP_FIELDS = [
    "group", "employee_budget_base", "resident_budget_base", "employee_growth_rate",
    "resident_growth_rate", "city_budget_current", "city_budget_previous", "budget_adjustment",
    "last_month_declared", "general_outpatient", "chronic_outpatient", "two_diseases_outpatient",
    "other_fund_spending", "dip_settlement_total", "dip_inpatient_cost", "fund_accounting_amount",
    "prepaid_total", "smart_audit_deduction", "assessment_grade", "violation_penalized",
    "reasonable_overspend", "compliant_surplus", "clearing_year", "clearing_completed_on"]
BASE_DISEASE_COST_FEN = 800_000  # the benchmark disease: 8,000.00 yuan


def yuan(fen: int) -> str:
    """Whole fen as a plain decimal in yuan: 123456 -> '1234.56'."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def percent(hundredths: int) -> str:
    """A rate given in hundredths of a percent: 1250 -> '12.5%'."""
    text = f"{hundredths // 100}.{hundredths % 100:02d}".rstrip("0").rstrip(".")
    return f"{text}%"


def fixed(ints: int, places: int) -> str:
    sign = "-" if ints < 0 else ""
    ints = abs(int(ints))
    if places == 0:
        return f"{sign}{ints}"
    return f"{sign}{ints // 10 ** places}.{ints % 10 ** places:0{places}d}"


# --- the DIP city-year ----------------------------------------------------------------------------
def dip_arrays(n_cases: int, n_institutions: int = 200, seed: int = 1) -> dict:
    """The city-year as numpy columns: {"institutions": {...}, "cases": {...}, "facts": {...}}.

    Money is int64 fen, coefficients int64 hundredths, booleans bool; the case column
    ``institution_row`` is the row of its institution.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    level = rng.choice(3, size=n_institutions, p=[0.15, 0.35, 0.5])  # 3 tertiary, 2, 1
    basic = np.array([100, 88, 76])[level] + rng.integers(-6, 7, size=n_institutions)
    bonus = rng.choice([0, 0, 2, 3, 5, 8, 10], size=n_institutions)
    size_weight = np.array([8.0, 3.0, 1.0])[level] * rng.uniform(0.5, 1.5, size=n_institutions)
    institution_row = rng.choice(n_institutions, size=n_cases, p=size_weight / size_weight.sum())
    if n_cases >= n_institutions:  # every institution has at least one case
        institution_row[:n_institutions] = np.arange(n_institutions)
    institution_row.sort(kind="stable")  # cases listed institution by institution, as exported

    n_diseases = 800
    disease_cost = np.round(np.exp(rng.uniform(np.log(2_000), np.log(120_000), size=n_diseases)), 0)
    disease = rng.integers(0, n_diseases, size=n_cases)
    disease_average = (disease_cost[disease] * 100).astype(np.int64)  # fen, whole yuan
    level_factor = np.array([1.15, 1.0, 0.85])[level[institution_row]]
    norm = np.round(disease_average * level_factor / 100).astype(np.int64) * 100
    ratio = np.exp(rng.normal(0.0, 0.25, size=n_cases))
    kind = rng.random(size=n_cases)
    ratio = np.where(kind < 0.03, rng.uniform(0.15, 0.5, size=n_cases), ratio)
    ratio = np.where((kind >= 0.03) & (kind < 0.057), rng.uniform(2.0, 4.9, size=n_cases), ratio)
    ratio = np.where((kind >= 0.057) & (kind < 0.06), rng.uniform(5.0, 9.0, size=n_cases), ratio)
    cost = np.maximum(np.round(norm * ratio).astype(np.int64), 1)
    fund_share = rng.uniform(0.55, 0.9, size=n_cases)
    fund = np.round(cost * fund_share).astype(np.int64)
    grassroots = rng.random(size=n_cases) < 0.10

    fund_by_institution = np.bincount(institution_row, weights=fund, minlength=n_institutions)
    city_fund = int(fund_by_institution.sum())
    annual_budget = np.round(fund_by_institution * 0.97 / 100).astype(np.int64) * 100
    month_accounting = np.round(fund_by_institution / 12 * rng.uniform(0.9, 1.15, n_institutions)).astype(np.int64)
    last_year = np.round(fund_by_institution * rng.uniform(0.85, 1.1, n_institutions)).astype(np.int64)
    monthly_settled = np.round(fund_by_institution * 0.85).astype(np.int64)
    institutions = {
        "code": np.array([f"H{i + 1:04d}" for i in range(n_institutions)], dtype=object),
        "basic_coefficient": basic.astype(np.int64),  # hundredths
        "bonus_coefficient": bonus.astype(np.int64),
        "annual_dip_budget": annual_budget,
        "month_fund_accounting": month_accounting,
        "last_year_fund_paid": last_year,
        "credit_rate": rng.choice([10000, 10000, 10000, 8000, 5000], size=n_institutions),  # 0.01%
        "monthly_settled_total": monthly_settled,
        "audit_deduction": rng.integers(0, 5_000_000, size=n_institutions),
        "assessment_deduction_rate": rng.choice([0, 0, 500, 1000, 2000], size=n_institutions),
        "general_outpatient_signed": rng.integers(0, 30_000, size=n_institutions),
        "chronic_outpatient_signed": rng.integers(0, 3_000, size=n_institutions),
        "emergency_part_amount": rng.integers(0, 50_000_000, size=n_institutions),
        "special_care_amount": rng.integers(0, 10_000_000, size=n_institutions),
        "hemodialysis_sessions": rng.integers(0, 20_000, size=n_institutions),
        "peritoneal_dialysis_patient_months": rng.integers(0, 500, size=n_institutions),
        "single_disease_amount": rng.integers(0, 80_000_000, size=n_institutions),
        "psychiatric_bed_days": rng.integers(0, 40_000, size=n_institutions),
        "hospice_bed_days": rng.integers(0, 5_000, size=n_institutions),
    }
    cases = {
        "id": None,  # made on demand: C0000001, ... (a million strings are 60 MB)
        "institution_row": institution_row,
        "disease_average_cost": disease_average,
        "norm_cost": norm,
        "cost": cost,
        "fund_accounting_amount": fund,
        "grassroots_disease": grassroots,
    }
    dip_budget = int(annual_budget.sum()) + 100_00
    other = [6_000_000_00 * n_cases // 100_000, 5_000_000_00 * n_cases // 100_000,
             2_600_000_00 * n_cases // 100_000, 3_000_000_00 * n_cases // 100_000]
    global_budget = dip_budget + sum(other)
    facts = {
        "compiled_budget": yuan(global_budget), "budget_adjustment": "0.00",
        "contribution_revenue": yuan(global_budget * 9 // 10), "interest_revenue": yuan(global_budget // 50),
        "fiscal_subsidy_revenue": yuan(global_budget // 10), "other_revenue": yuan(global_budget // 100),
        "general_outpatient_budget": yuan(other[0]), "chronic_outpatient_budget": yuan(other[1]),
        "remote_sporadic_budget": yuan(other[2]), "other_payment_budget": yuan(other[3]),
        "dip_budget": yuan(dip_budget),
        "base_disease_average_cost": yuan(BASE_DISEASE_COST_FEN), "rescale_to_budget": False,
        "advance_months": "1", "offset_advance_at_clearing": True, "quality_deposit_rate": "5%",
        "surplus_retention_rate": "80%", "reasonable_overspend_limit_rate": "10%",
        "overspend_fund_share_rate": "70%", "general_outpatient_capitation_quota": "100.00",
        "chronic_outpatient_capitation_quota": "1500.00", "hemodialysis_quota": "400.00",
        "peritoneal_dialysis_quota": "3000.00", "psychiatric_bed_day_quota": "150.00",
        "hospice_bed_day_quota": "300.00",
    }
    assert city_fund > 0
    return {"institutions": institutions, "cases": cases, "facts": facts}


def case_id(row: int) -> str:
    return f"C{row + 1:07d}"


def institution_records(data: dict) -> Iterator[dict]:
    """Institution rows as the text a CSV holds."""
    cols = data["institutions"]
    money = {"annual_dip_budget", "month_fund_accounting", "last_year_fund_paid", "monthly_settled_total",
             "audit_deduction", "emergency_part_amount", "special_care_amount", "single_disease_amount"}
    for i in range(len(cols["code"])):
        row = {}
        for name in INSTITUTION_FIELDS:
            value = cols[name][i]
            if name == "code":
                row[name] = value
            elif name in ("basic_coefficient", "bonus_coefficient"):
                row[name] = fixed(value, 2)
            elif name in ("credit_rate", "assessment_deduction_rate"):
                row[name] = percent(int(value))
            elif name in money:
                row[name] = yuan(value)
            else:
                row[name] = str(int(value))
        yield row


def case_records(data: dict) -> Iterator[dict]:
    cols, codes = data["cases"], data["institutions"]["code"]
    columns = [cols["institution_row"].tolist(), cols["disease_average_cost"].tolist(),
               cols["norm_cost"].tolist(), cols["cost"].tolist(), cols["fund_accounting_amount"].tolist(),
               cols["grassroots_disease"].tolist()]
    for row, (inst, avg, norm, cost, fund, grass) in enumerate(zip(*columns)):
        yield {"id": case_id(row), "institution": codes[inst], "disease_average_cost": yuan(avg),
               "norm_cost": yuan(norm), "cost": yuan(cost), "fund_accounting_amount": yuan(fund),
               "grassroots_disease": "true" if grass else "false"}


# --- Sanya group clearings ----------------------------------------------------------------------
def group_arrays(n_groups: int, seed: int = 1) -> dict:
    """M medical groups' clearing inputs (Sanya) as numpy columns (money in fen)."""
    rng = np.random.Generator(np.random.PCG64(seed + 7919))
    scale = rng.uniform(0.2, 5.0, size=n_groups)

    def amount(base: float, spread: float = 0.1):
        return np.round(base * scale * rng.uniform(1 - spread, 1 + spread, n_groups) * 100).astype(np.int64)
    employee, resident = amount(120_000_000), amount(90_000_000)
    previous = amount(400_000_000)
    current = np.round(previous * rng.uniform(0.95, 1.08, n_groups)).astype(np.int64)
    outpatient = [amount(30_000_000), amount(20_000_000), amount(6_000_000)]
    dip_cost = amount(150_000_000, 0.2)
    fund = amount(200_000_000)
    growth_e, growth_r = rng.integers(0, 1101, n_groups), rng.integers(0, 551, n_groups)
    adjustment = rng.integers(-500_000_000, 500_000_000, n_groups)
    other = amount(10_000_000)
    # a reasonable overspend of at most 45% of the overspend the ruleset will find
    shrink = np.minimum(current / previous, 1.0)
    budget = (employee * (1 + growth_e / 10000) + resident * (1 + growth_r / 10000)) * shrink + adjustment
    overspend = np.maximum(dip_cost - (budget - sum(outpatient) - other), 0)
    return {
        "group": np.array([f"G{i + 1:06d}" for i in range(n_groups)], dtype=object),
        "employee_budget_base": employee, "resident_budget_base": resident,
        "employee_growth_rate": growth_e, "resident_growth_rate": growth_r,  # 0.01%
        "city_budget_current": current, "city_budget_previous": previous,
        "budget_adjustment": adjustment,
        "last_month_declared": amount(18_000_000), "general_outpatient": outpatient[0],
        "chronic_outpatient": outpatient[1], "two_diseases_outpatient": outpatient[2],
        "other_fund_spending": other, "dip_settlement_total": amount(140_000_000),
        "dip_inpatient_cost": dip_cost, "fund_accounting_amount": fund,
        "prepaid_total": np.round(fund * 0.9).astype(np.int64),
        "smart_audit_deduction": rng.integers(0, 80_000_000, n_groups),
        "assessment_grade": rng.choice(np.array(["优秀", "良好", "合格", "不合格"], dtype=object), n_groups,
                                       p=[0.3, 0.4, 0.25, 0.05]),
        "violation_penalized": rng.random(n_groups) < 0.05,
        "reasonable_overspend": np.floor(overspend * 0.45).astype(np.int64),
        # no surplus retained (a valid answer for every group: the retained part is what the
        # year-end assessment recognises, and it never exceeds the actual surplus)
        "compliant_surplus": np.zeros(n_groups, dtype=np.int64),
        "clearing_year": np.full(n_groups, 2024),
        "clearing_completed_on": rng.choice(np.array(["2025-05-20", "2025-06-30", "2025-07-15"], dtype=object),
                                            n_groups, p=[0.6, 0.3, 0.1]),
    }


def group_records(cols: dict) -> Iterator[dict]:
    rates = {"employee_growth_rate", "resident_growth_rate"}
    texts = {"group", "assessment_grade", "clearing_completed_on"}
    lists = {name: (cols[name].tolist() if hasattr(cols[name], "tolist") else list(cols[name]))
             for name in GROUP_FIELDS}
    for i in range(len(cols["group"])):
        row = {}
        for name in GROUP_FIELDS:
            value = lists[name][i]
            if name in texts:
                row[name] = value
            elif name in rates:
                row[name] = percent(int(value))
            elif name == "violation_penalized":
                row[name] = "true" if value else "false"
            elif name == "clearing_year":
                row[name] = str(int(value))
            else:
                row[name] = yuan(value)
        yield row


# --- writing --------------------------------------------------------------------------------------
def write_table(path: pathlib.Path, fields: list[str], records: Iterator[dict]) -> int:
    """Write records as CSV, JSON Lines or .xlsx (by extension); return the row count."""
    suffix = path.suffix.lower()
    count = 0
    if suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(fields)
            for record in records:
                writer.writerow([record[f] for f in fields])
                count += 1
    elif suffix == ".jsonl":
        with open(path, "w", encoding="utf-8") as out:
            for record in records:
                typed = {k: (v == "true" if v in ("true", "false") else v) for k, v in record.items()}
                out.write(json.dumps(typed, ensure_ascii=False) + "\n")
                count += 1
    elif suffix == ".xlsx":
        from openpyxl import Workbook
        book = Workbook(write_only=True)
        sheet = book.create_sheet(path.stem)
        sheet.append(fields)
        for record in records:
            sheet.append([record[f] == "true" if record[f] in ("true", "false") else record[f]
                          for f in fields])
            count += 1
        book.save(path)
    else:
        raise SystemExit(f"error: unknown table format '{suffix}' (csv, jsonl or xlsx)")
    return count


def write_facts(path: pathlib.Path, facts: dict) -> None:
    lines = ["# City budget lines and open parameters of the generated DIP city-year (Zibo)."]
    for key, value in facts.items():
        text = "true" if value is True else "false" if value is False else f'"{value}"'
        lines.append(f"{key}: {text}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="workload", required=True)
    dip = sub.add_parser("dip", help="a DIP city-year for the Zibo ruleset")
    dip.add_argument("--cases", type=int, default=100_000)
    dip.add_argument("--institutions", type=int, default=200)
    dip.add_argument("--seed", type=int, default=1)
    dip.add_argument("--format", choices=("csv", "jsonl", "xlsx"), default="csv")
    dip.add_argument("-o", "--output", required=True, metavar="DIR")
    groups = sub.add_parser("groups", help="Sanya group clearings, one per row")
    groups.add_argument("--groups", type=int, default=1000)
    groups.add_argument("--seed", type=int, default=1)
    groups.add_argument("-o", "--output", required=True, metavar="FILE")
    args = parser.parse_args(argv)
    if args.workload == "dip":
        out = pathlib.Path(args.output)
        os.makedirs(out, exist_ok=True)
        data = dip_arrays(args.cases, args.institutions, args.seed)
        n_inst = write_table(out / f"institutions.{args.format}", INSTITUTION_FIELDS, institution_records(data))
        n_cases = write_table(out / f"cases.{args.format}", CASE_FIELDS, case_records(data))
        write_facts(out / "facts.yaml", data["facts"])
        print(f"{out}: {n_inst} institutions, {n_cases} cases, facts.yaml", file=sys.stderr)
    else:
        path = pathlib.Path(args.output)
        count = write_table(path, GROUP_FIELDS, group_records(group_arrays(args.groups, args.seed)))
        print(f"{path}: {count} group clearings", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
