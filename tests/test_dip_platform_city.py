"""A generated platform city-year (tools/gen_platform_year.py): 10,000 catalogue rows (5,000 disease
groups × 2 insurance types), 200 institutions, 20,000 cases, run by ``batch`` through the
national platform mapping. Properties that must hold: the fast path batch runs on and the
Decimal path give every institution the same values to the fen, and the totals are conserved
(the written institutions' payables, points and case counts add up to the city's)."""

from __future__ import annotations

import csv
import pathlib
import re
import sys
from decimal import Decimal as D

from rulesengine.check.model import FactSet
from rulesengine.cli import main
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts

from test_dip_platform_example import EXAMPLE, batch_args

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import gen_platform_year  # noqa: E402

CASES = 20_000


def _csv(path: pathlib.Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _facts(folder: pathlib.Path) -> dict:
    """The generated files as facts by field id (the mapping's renaming done by hand)."""
    city = dict(line.split(": ") for line in (folder / "city.yaml").read_text(encoding="utf-8").splitlines()
                if not line.startswith("#"))
    institutions = [{"code": r["fixmedins_code"], "hosp_lv": r["hosp_lv"], "bonus_coefficient": r["bonus_coefficient"]}
                    for r in _csv(folder / "institutions.csv")]
    cases = [{"id": r["setl_id"], "institution": r["fixmedins_code"], "insutype": r["insutype"],
              "dip_dise_grp_code": r["dip_dise_grp_code"], "disease_average_cost": r["dise_avg_fee"],
              "norm_cost": r["std_fee"], "cost": r["medfee_sumamt"], "fund_accounting_amount": r["hifp_pay"],
              "grassroots_disease": r["grs_dise_flag"] == "1"} for r in _csv(folder / "cases.csv")]
    return dict(city, institutions=institutions, cases=cases, catalogue_score=_csv(folder / "catalogue.csv"),
                level_coefficient=_csv(folder / "levels.csv"))


def test_a_generated_platform_city_year_clears_exactly(tmp_path, capsys):
    folder = tmp_path / "city"
    gen_platform_year.write(gen_platform_year.generate(CASES, n_groups=5000, n_institutions=200, seed=7), folder)
    assert len(_csv(folder / "catalogue.csv")) == 10_000
    out = tmp_path / "清算结果.csv"
    status = main(batch_args(folder, out))
    captured = capsys.readouterr()
    assert status == 0, captured.err
    rows = _csv(out)
    printed = dict(re.findall(r"^(\w+) .* = (\S+)$", captured.out, re.M))
    # conservation: the written rows add up to the city's totals
    assert len(rows) == 200 and sum(int(r["case_count"]) for r in rows) == CASES
    assert sum(D(r["dip_payable"]) for r in rows) == D(printed["dip_payable_total"])
    assert sum(D(r["total_points"]) for r in rows) == D(printed["city_total_points"])
    assert sum(D(r["dip_total_cost"]) for r in rows) == D(printed["city_dip_total_cost"])
    # the Decimal path gives every institution the same values as the fast path batch ran on
    program = load_program(str(EXAMPLE / "dip_platform_city.yaml"))
    facts = bind_facts(program.ruleset, FactSet(_facts(folder), lambda path: None, lambda path: None))
    result = program.evaluate(facts)
    assert not result.errors, result.errors
    assert result.values["point_value"] == D(printed["point_value"])
    for node in ("total_points", "dip_payable", "coefficient"):
        decimal = dict(zip(result.keys(f"institution.{node}", program.ruleset), result.values[f"institution.{node}"]))
        assert {r["code"]: D(r[node]) for r in rows} == decimal, node
