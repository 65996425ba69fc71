"""The two back-ends (Decimal and fixed-point) share one semantics (rulesengine/evaluate/semantics.py).

Regression tests for the drift the issue "One evaluation core" found between them, and for
the rule that a builtin runs on the fixed-point back-end only where it declares so.
"""

from __future__ import annotations

import csv
import pathlib
from decimal import Decimal

import pytest

from conftest import METADATA
from rulesengine.check.model import FactSet
from rulesengine.cli import main
from rulesengine.core import builtins
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts
from rulesengine.evaluate.fixedpoint import FastProgram
from rulesengine.core.source import Span

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATED = ROOT / "tests" / "fixtures" / "dated.yaml"  # dialysis_quota 100.00 from 2023, 120.00 from 2025-07-01
SPAN = Span("facts", 1, 1)


def _rows(path: pathlib.Path) -> dict[str, dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def test_a_clearing_year_out_of_range_fails_its_row_as_run_reports_it(tmp_path, capsys):
    table = tmp_path / "rows.csv"
    table.write_text("id,clearing_year,sessions,other_cost\nA,2025,3,80.00\nB,0,3,80.00\nC,2022,2,10.00\n",
                     encoding="utf-8")
    out = tmp_path / "out.csv"
    status = main(["--lang", "en", "batch", str(DATED), "--table", str(table), "-o", str(out)])
    assert status == 1  # two rows with an evaluation error; nothing internal (was exit 70)
    rows = _rows(out)
    # A: 2025-12-31 -> 120.00 per session; 120.00 × 3 = 360.00; 80.00 × 50% = 40.00
    assert rows["A"]["dialysis_payment"] == "360.00" and rows["A"]["other_half"] == "40.00"
    # B: year 0 is no calendar year: its dialysis payment fails, the rest of the row computes
    assert rows["B"]["dialysis_payment"] == "" and rows["B"]["other_half"] == "40.00"
    # C: 2022-12-31 is before the first value (2023-01-01): no value in force; 10.00 × 50% = 5.00
    assert rows["C"]["dialysis_payment"] == "" and rows["C"]["other_half"] == "5.00"
    facts = tmp_path / "b.yaml"
    facts.write_text("clearing_year: 0\nsessions: 3\nother_cost: 80.00\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["--lang", "en", "run", str(DATED), "--facts", str(facts)]) == 2
    said = capsys.readouterr()
    run_message = "clearing_year 0 is not a calendar year"
    assert run_message in said.out + said.err
    assert rows["B"]["errors"] == run_message  # the same words, from the same definition


def test_a_dated_parameter_is_worded_alike_on_both_back_ends():
    program = load_program(str(DATED))
    facts = bind_facts(program.ruleset, FactSet({"clearing_year": 2022, "sessions": 2, "other_cost": "10.00"},
                                                lambda p: SPAN, lambda p: SPAN))
    decimal_result = program.evaluate(facts)
    fixed_result = FastProgram(program).evaluate(facts)
    assert [e.code for e in decimal_result.errors] == [e.code for e in fixed_result.errors] == ["no-value-in-force"]
    assert str(decimal_result.errors[0]) == str(fixed_result.errors[0])
    # other_half = 10.00 × 50% = 5.00 on both
    assert decimal_result.values["other_half"] == fixed_result.values["other_half"] == Decimal("5.00")


def test_a_builtin_not_declared_for_the_fixed_point_back_end_runs_on_the_decimal_one(tmp_path, monkeypatch):
    # a numeric builtin added without saying how the fixed-point back-end computes it
    monkeypatch.setitem(builtins.FUNCTIONS, "triple", builtins.Function(1, 1, "triple(x)", lambda x: 3 * x))
    path = tmp_path / "triple.yaml"
    path.write_text(METADATA + "inputs:\n  amount: {label: 金额, type: money, citation: 一}\n"
                    "rules:\n  tripled: {label: 三倍, type: money, citation: 二, formula: triple(amount)}\n",
                    encoding="utf-8")
    program = load_program(str(path))
    fast = FastProgram(program)
    facts = bind_facts(program.ruleset, FactSet({"amount": "12.34"}, lambda p: SPAN, lambda p: SPAN))
    tables, scalars = {}, {"amount": facts["amount"]}
    result = fast.run(tables, scalars)
    # 3 × 12.34 = 37.02, computed by the Decimal closures, and the reason recorded
    assert result.column("tripled") == [Decimal("37.02")]
    assert "triple() is not declared" in result.fallbacks["tripled"]


@pytest.mark.parametrize("name", sorted(builtins.FUNCTIONS))
def test_every_builtin_declares_how_the_fixed_point_back_end_runs_it(name):
    from rulesengine.evaluate.fixedpoint.compiler import COLUMN_FUNCTIONS
    declared = builtins.FUNCTIONS[name].fixed
    assert declared in ("columns", "per_value", None)
    if declared == "columns":  # a column implementation exists for what is declared
        assert name in COLUMN_FUNCTIONS


def _both(tmp_path, formula: str, kind: str, facts: dict) -> tuple[str, str]:
    path = tmp_path / "one.yaml"
    path.write_text(METADATA + "inputs:\n  a: {label: 甲, type: number, citation: 一}\n"
                    "  b: {label: 乙, type: number, citation: 一}\n"
                    f"rules:\n  out: {{label: 结果, type: {kind}, citation: 二, formula: \"{formula}\"}}\n",
                    encoding="utf-8")
    program = load_program(str(path))
    bound = bind_facts(program.ruleset, FactSet(facts, lambda p: SPAN, lambda p: SPAN))
    return str(program.evaluate(bound).values["out"]), str(FastProgram(program).evaluate(bound).values["out"])


@pytest.mark.parametrize("formula, facts, want", [
    # Decimal gives -0 for -1 × 0; a result is never a signed zero
    ("a * b", {"a": "-1", "b": "0"}, "0"),
    # 0 / 0.05 is 0E+2 to Decimal (exponent 0 − (−2)); shown as 0
    ("a / b", {"a": "0", "b": "0.05"}, "0"),
    # 0.5 / 0.0005 is 1E+3 to Decimal; shown as 1000
    ("a / b", {"a": "0.5", "b": "0.0005"}, "1000"),
    # min keeps the first of equal values, with its own places: min(1.0, 1.00) is 1.0
    ("min(a, b)", {"a": "1.0", "b": "1.00"}, "1.0"),
    ("max(b, a)", {"a": "1.0", "b": "1.00"}, "1.00"),
    # if-then-else keeps the places of the branch taken
    ("if a > 0 then a else b", {"a": "2.5", "b": "1.000"}, "2.5"),
])
def test_the_plain_form_of_a_result_is_the_same_on_both_back_ends(tmp_path, formula, facts, want):
    assert _both(tmp_path, formula, "number", facts) == (want, want)


def test_a_record_that_fails_fails_alone_on_both_back_ends():
    """Zibo's example without H003's cases: H003's payment ratio divides by a DIP cost of 0."""
    import copy

    from rulesengine.load.loader import load_ruleset
    zibo = ROOT / "rulesets" / "zibo_2025.yaml"
    program = load_program(str(zibo))
    facts = copy.deepcopy(dict(load_ruleset(str(zibo)).value["examples"]["zibo_2025_city"]["facts"]))
    facts["cases"] = [case for case in facts["cases"] if case["institution"] != "H003"]
    bound = bind_facts(program.ruleset, FactSet(facts, lambda p: SPAN, lambda p: SPAN))
    results = [program.evaluate(bound), FastProgram(program).evaluate(bound)]
    for result in results:
        errors = [str(e) for e in result.errors]
        assert "record 'H003' of institutions: division by zero" in errors[0]
        # the city total that needs H003 fails and names it; nothing per record is lost for the others
        assert "cannot be computed: it needs 'institution.dip_payable_unscaled' of 1 record" in errors[1]
        assert "'H003'" in errors[1]
        # payment ratio = fund accounting / DIP cost: H001 0.75, H002 0.70 (the ruleset's example), H003 none
        assert result.values["institution.payment_ratio"] == [Decimal("0.75"), Decimal("0.7"), None]
        assert result.values["institution.dip_payable_unscaled"][2] is None
        assert result.skipped["city_settlement_total"] == "dip_payable_unscaled_total"
    assert results[0].values["institution.dip_payable_unscaled"] == results[1].values["institution.dip_payable_unscaled"]
