"""The columnar fast path (rulesengine/evaluate/fixedpoint/) gives exactly what the Decimal path gives.

* Equivalence on random records (hypothesis, seeded and bounded by the ``ci`` profile) over
  tests/fixtures/fastpath_ops.yaml, which uses every operator (+ - * / comparisons and/or/not
  if), function (min max abs round clamp), aggregation (sum count min max any all distinct,
  with and without ``where``), table look-up, parent reference and rounding mode, per record,
  per group and at the top. Values are compared as ``run --format json`` prints them, so a
  difference of one fen, one trailing digit of a rate, a check or an error shows.
* Row mode (a ruleset without collections, one evaluation per row) against Program.evaluate
  on each row, on Sanya.
* Hand-worked values of the Zibo DIP example (the same arithmetic as the ruleset's tests).
* Exact ties and near-ties that only the Decimal path can decide, overflow into Python
  integers, and the fall-backs.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
from decimal import Decimal as D

import pytest

np = pytest.importorskip("numpy")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rulesengine.evaluate.driver import load_program  # noqa: E402
from rulesengine.evaluate.facts import bind_facts, example_facts  # noqa: E402
from rulesengine.evaluate.fixedpoint import (FastProgram, Fixed, Ratio, compare, divide, round_to,  # noqa: E402
                                  table_from_records, vector_from_values)
from rulesengine.check.model import FactSet  # noqa: E402
from rulesengine.views.report import run_json  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OPS = ROOT / "tests" / "fixtures" / "fastpath_ops.yaml"
ZIBO = ROOT / "rulesets" / "zibo_2025.yaml"
SANYA = ROOT / "rulesets" / "sanya_2024.yaml"


@pytest.fixture(scope="module")
def ops():
    program = load_program(str(OPS))
    return program, FastProgram(program)


def _facts(program, raw: dict) -> dict:
    return bind_facts(program.ruleset, FactSet(raw, lambda path: None, lambda path: None))


def _both(program, fast, facts) -> tuple[dict, dict]:
    return run_json(program, program.evaluate(facts)), run_json(program, fast.evaluate(facts))


# --- random records -----------------------------------------------------------------------------
def _money():
    fen = st.one_of(st.integers(-2_000, 2_000),                  # small amounts: many ties
                    st.integers(-10 ** 9, 10 ** 9),              # ordinary amounts
                    st.integers(-10 ** 17, 10 ** 17),            # Python-integer lane
                    st.sampled_from([0, 1, 50, 100, 250, -250]))
    return fen.map(lambda f: str(D(f).scaleb(-2)))


def _scaled(low: int, high: int, places: int):
    return st.builds(lambda n, p: str(D(n).scaleb(-p)), st.integers(low, high), st.integers(0, places))


@st.composite
def _records(draw):
    groups = [{"code": f"G{i}", "weight": draw(_scaled(-1_000, 1_000, 3))}
              for i in range(draw(st.integers(1, 3)))]
    items = []
    for j in range(draw(st.integers(0, 7))):
        a = draw(_money())
        # b: its own amount, or a multiple of a (so that a / b hits 50%, 100%, 200% exactly)
        b = draw(st.one_of(_money(), st.sampled_from([a, str(D(a) * 2), str(-D(a))])))
        items.append({
            "id": f"I{j}", "group": draw(st.sampled_from(groups))["code"], "a": a, "b": b,
            "r": draw(st.one_of(_scaled(-300, 300, 4), st.sampled_from(["0.5", "1", "2", "0"]))),
            "x": draw(st.one_of(_scaled(-10 ** 6, 10 ** 6, 6), st.sampled_from(["0", "3", "0.5", "1.5"]))),
            "k": draw(st.integers(0, 9)), "flag": draw(st.booleans()),
            "grade": draw(st.sampled_from(["优秀", "良好", "合格"]))})
    return {"budget": draw(_money()), "groups": groups, "items": items}


@settings(max_examples=300)
@given(raw=_records())
def test_fast_path_equals_decimal_path_on_random_records(ops, raw):
    program, fast = ops
    facts = _facts(program, raw)
    decimal_json, fast_json = _both(program, fast, facts)
    assert fast_json == decimal_json


@st.composite
def _sanya_rows(draw):
    base = example_facts(load_program(str(SANYA)).ruleset, None).values
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        row = dict(base)
        for key in ("employee_budget_base", "resident_budget_base", "city_budget_current",
                    "last_month_declared", "general_outpatient", "fund_accounting_amount",
                    "dip_inpatient_cost", "reasonable_overspend", "prepaid_total"):
            row[key] = str(D(draw(st.integers(0, 10 ** 12))).scaleb(-2))
        row["city_budget_previous"] = str(D(draw(st.integers(1, 10 ** 12))).scaleb(-2))
        row["employee_growth_rate"] = str(D(draw(st.integers(0, 1500))).scaleb(-4))
        row["assessment_grade"] = draw(st.sampled_from(["优秀", "良好", "合格", "不合格"]))
        row["violation_penalized"] = draw(st.booleans())
        row["clearing_year"] = draw(st.sampled_from([2023, 2024, 2025]))
        rows.append(row)
    return rows


@settings(max_examples=60)
@given(rows=_sanya_rows())
def test_row_mode_equals_one_evaluation_per_row(rows):
    program = load_program(str(SANYA))
    fast = FastProgram(program)
    bound = [_facts(program, row) for row in rows]
    kinds = {k: program.ruleset.declarations[k].type.kind for k in bound[0]}
    scalars = {k: vector_from_values([b[k] for b in bound], "text" if kinds[k] == "enum" else kinds[k])
               for k in bound[0]}
    result = fast.run({}, scalars, rows=len(bound))
    for row, facts in enumerate(bound):
        assert run_json(program, fast.row_evaluation(result, row)) == run_json(program, program.evaluate(facts))


# --- hand-worked DIP values (Zibo example zibo_2025_city) -----------------------------------------
def test_zibo_dip_example_by_hand():
    program = load_program(str(ZIBO))
    facts = bind_facts(program.ruleset, example_facts(program.ruleset, None))
    tables = {name: table_from_records(program.ruleset, records)
              for name, records in facts.items() if name in program.ruleset.collections}
    scalars = {k: v for k, v in facts.items() if k not in program.ruleset.collections}
    result = FastProgram(program).run(tables, scalars)
    assert result.fallbacks == {}
    case = lambda rule: dict(zip(tables["cases"].keys, result.column(f"case.{rule}")))  # noqa: E731
    institution = lambda rule: dict(zip(tables["institutions"].keys,  # noqa: E731
                                        result.column(f"institution.{rule}")))
    # disease score = mi / 8,000 × 1000: C01 9,600 / 8 = 1200; C03 36,000 / 8 = 4500; C06 18,400 / 8 = 2300
    assert case("disease_score")["C01"] == D("1200") and case("disease_score")["C06"] == D("2300")
    # cost ratio C03 100,000 / 40,000 = 2.5 (> 2: high), C06 8,000 / 20,000 = 0.4 (< 0.5: low)
    assert case("is_high_cost")["C03"] is True and case("is_low_cost")["C06"] is True
    # points: C03 4500 × 1.05 × ((2.5 − 2) + 1) = 7087.5; C06 2300 × 0.92 × 0.4 = 846.4;
    # C07 (grassroots) 700 × 1 = 700
    assert case("points")["C03"] == D("7087.5") and case("points")["C06"] == D("846.4")
    assert case("points")["C07"] == D("700")
    # institution points: H001 1260 + 3150 + 7087.5 = 11497.5; H002 1196 + 2116 + 846.4 = 4158.4
    assert institution("total_points") == {"H001": D("11497.5"), "H002": D("4158.4"), "H003": D("1900")}
    # point value = 144,000 / 0.75 / 17,555.9 = 10.93649… -> 10.9365
    assert result.column("point_value")[0] == D("10.9365")
    # payable: H001 11497.5 × 10.9365 × 0.75 = 94,306.8065625 -> 94,306.81;
    # H002 4158.4 × 10.9365 × 0.70 = 31,834.83912 -> 31,834.84; H003 1900 × 10.9365 × 0.85 -> 17,662.45
    assert institution("dip_payable") == {"H001": D("94306.81"), "H002": D("31834.84"), "H003": D("17662.45")}
    # settlement: H001 100,908.29 − 85,000 − 1,000 − 0 − 12,000 = 2,908.29;
    # H002 31,067.87 − 27,000 − 0 − 310.68 − 4,000 = −242.81; H003 17,529.96 − 15,500 − 200 − 87.65 − 1,000 = 742.31
    assert institution("settlement_amount") == {"H001": D("2908.29"), "H002": D("-242.81"), "H003": D("742.31")}
    assert result.column("city_settlement_total")[0] == D("3407.79")


@pytest.mark.parametrize("path", sorted((ROOT / "rulesets").glob("*.yaml")) + sorted(
    p for p in (ROOT / "tests" / "fixtures").glob("*.yaml") if p.name != "fastpath_ops.yaml"),
    ids=lambda p: p.name)
def test_every_example_and_test_of_the_rulesets_is_identical(path):
    """Seed rulesets and test fixtures (collections, dates, dated parameters, modules), each
    example and test, as of its own date and of two others (stale and out-of-period values)."""
    from datetime import date
    from rulesengine.evaluate.facts import test_facts
    program = load_program(str(path))
    fast = FastProgram(program)
    sets = [example.facts for example in program.ruleset.examples.values()]
    sets += [test_facts(program.ruleset, test) for test in program.ruleset.tests]
    for fact_set in sets:
        facts = bind_facts(program.ruleset, fact_set)
        for as_of in (None, date(2019, 1, 1), date(2030, 6, 1)):
            expected = run_json(program, program.evaluate(facts, as_of=as_of))
            assert run_json(program, fast.evaluate(facts, as_of=as_of)) == expected, path.name


# --- ties, lanes, fall-backs ----------------------------------------------------------------------
def _fixed(*values: str) -> Fixed:
    return vector_from_values([D(v) for v in values], "number")


@pytest.mark.parametrize("mode, expected", [
    # 0.125 and -0.125 to two places; 0.135 shows half_even going up from an odd digit
    ("half_up", ["0.13", "-0.13", "0.14"]), ("half_even", ["0.12", "-0.12", "0.14"]),
    ("down", ["0.12", "-0.12", "0.13"]), ("up", ["0.13", "-0.13", "0.14"]),
    ("floor", ["0.12", "-0.13", "0.13"]), ("ceiling", ["0.13", "-0.12", "0.14"])])
def test_rounding_modes_on_exact_ties(mode, expected):
    rounded = round_to(_fixed("0.125", "-0.125", "0.135"), 2, mode, settle=True, unsure=[])
    assert [str(v) for v in rounded.ints.tolist()] == [str(int(D(e) * 100)) for e in expected]


def test_quotient_rounding_uses_the_remainder():
    # 1 / 8 = 0.125 -> 0.13 (half up); 2 / 3 = 0.666… -> 0.67; -2 / 3 -> -0.67
    quotient = divide(_fixed("1", "2", "-2"), _fixed("8", "3", "3"), None)
    unsure: list = []
    rounded = round_to(quotient, 2, "half_up", settle=True, unsure=unsure)
    assert rounded.ints.tolist() == [13, 67, -67]
    assert not any(np.any(rows) for rows in unsure)  # one exact division: the tie at 0.125 is safe


def test_a_quotient_equal_to_a_threshold_is_decided_exactly():
    # 500.00 / 1000.00 = 50% exactly: "< 50%" is false on both paths, and the row is not unsure
    unsure: list = []
    below = compare("<", divide(_fixed("500.00"), _fixed("1000.00"), None), _fixed("0.5"), unsure)
    assert below.tolist() == [False] and not any(np.any(rows) for rows in unsure)


def test_a_twice_rounded_quotient_at_a_threshold_goes_to_the_decimal_path():
    # (1 / 3) × 3 is exactly 1, but the Decimal path holds 0.999…9 (34 digits): whether it is
    # below 1 depends on that, so the row is unsure and recomputed by the Decimal path
    third = divide(_fixed("1"), _fixed("3"), None)
    from rulesengine.evaluate.fixedpoint import mul
    unsure: list = []
    compare("<", mul(third, _fixed("3")), _fixed("1"), unsure)
    assert unsure[0].tolist() == [True]


def test_products_beyond_int64_stay_exact(ops):
    program, fast = ops
    # 999,999,999,999,999.99 × 33.3% (合格) = 332,999,999,999,999.99667 -> 333,000,000,000,000.00
    raw = {"budget": "1.00", "groups": [{"code": "G", "weight": "1"}],
           "items": [{"id": "I", "group": "G", "a": "999999999999999.99", "b": "0.01", "r": "0.5",
                      "x": "3", "k": 1, "flag": True, "grade": "合格"}]}
    facts = _facts(program, raw)
    decimal_json, fast_json = _both(program, fast, facts)
    assert fast_json == decimal_json
    assert fast_json["values"]["item.looked_up"] == {"I": "333000000000000.00"}


def test_errors_and_fallbacks_match_the_decimal_path(ops):
    program, fast = ops
    # no items: q_max = max() over no records is a located error; divided = budget / 0 too;
    # both are reported exactly as the Decimal path reports them, and their dependents skipped
    raw = {"budget": "10.00", "groups": [{"code": "G", "weight": "1"}], "items": []}
    facts = _facts(program, raw)
    decimal_json, fast_json = _both(program, fast, facts)
    assert fast_json == decimal_json
    codes = sorted(e["code"] for e in fast_json["errors"])
    assert codes == ["division-by-zero", "empty-collection", "empty-collection"]
    tables = {name: table_from_records(program.ruleset, records)
              for name, records in facts.items() if name in program.ruleset.collections}
    result = fast.run(tables, {"budget": facts["budget"]})
    assert set(result.fallbacks) == {"q_max", "q_min", "divided"}


def test_ratio_columns_convert_like_the_decimal_path(ops):
    program, fast = ops
    raw = {"budget": "3.00", "groups": [{"code": "G", "weight": "1"}],
           "items": [{"id": "I", "group": "G", "a": "1.00", "b": "3.00", "r": "0.5", "x": "3",
                      "k": 1, "flag": True, "grade": "良好"}]}
    evaluation = fast.evaluate(_facts(program, raw))
    # q = 1.00 / 3.00, kept as a fraction; shown as the Decimal path's 34-digit quotient
    assert evaluation.values["item.q"] == [D("0." + "3" * 34)]


def test_the_decimal_path_runs_without_numpy():
    code = ("import sys; sys.modules['numpy'] = None\n"
            "from rulesengine.evaluate.driver import load_program\n"
            "from rulesengine.evaluate.facts import bind_facts, example_facts\n"
            f"p = load_program({str(SANYA)!r})\n"
            "e = p.evaluate(bind_facts(p.ruleset, example_facts(p.ruleset, None)))\n"
            "print(e.values['settlement_amount'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "16654382.72"  # README: 202,500,000 − 184,500,000 − 1,025,617.28 − 320,000
    assert isinstance(Ratio, type)
