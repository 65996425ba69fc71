"""The DIP city-year read from the national platform's columns (examples/dip_platform/, README
"DIP city-year from the national platform's columns"): the committed example run end to end by
``batch --columns rulesets/mappings/national_platform.yaml``, every value worked by hand."""

from __future__ import annotations

import csv
import pathlib

from rulesengine.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "dip_platform"
MAPPING = ROOT / "rulesets" / "mappings" / "national_platform.yaml"


def batch_args(folder: pathlib.Path, out: pathlib.Path) -> list[str]:
    """The documented command line for a city-year folder (the README's)."""
    return ["batch", str(EXAMPLE / "dip_platform_city.yaml"), "--columns", str(MAPPING),
            "--table", str(folder / "institutions.csv"), "--table", str(folder / "cases.csv"),
            "--table", f"catalogue_score={folder / 'catalogue.csv'}",
            "--table", f"level_coefficient={folder / 'levels.csv'}",
            "--facts", str(folder / "city.yaml"), "-o", str(out)]


def test_the_committed_example_settles_as_worked_by_hand(tmp_path, capsys):
    # Coefficients (基本系数 from hosp_lv: 三级 1.2, 二级 1.0, 一级 0.8; plus 加成系数):
    #   H001 1.2 + 0 = 1.2; H002 1.0 + 0.05 = 1.05; H003 0.8 + 0 = 0.8; grassroots cases (grs_dise_flag 1) 1.
    # Cost ratio medfee_sumamt ÷ std_fee is 1 except S0003 30,000 ÷ 10,000 = 300% (> 200%: high,
    #   adjustment 300% − 200% + 100% = 200%) and S0007 2,000 ÷ 5,000 = 40% (< 50%: low, adjustment 40%).
    # Case points = catalogue score [dip_dise_grp_code, insutype] × coefficient × adjustment, 4 places:
    #   H001: S0001 D001/310 1168.0572 × 1.2 = 1401.66864 -> 1401.6686; S0002 D002/310 2500.5555 × 1.2
    #         = 3000.6666; S0003 D004/390 5800 × 1.2 × 200% = 13920; S0004 D003/310 480.2575 × 1.2 = 576.3090;
    #         S0005 D005/390 280 × 1 = 280; total 19178.6442
    #   H002: S0006 950 × 1.05 = 997.5; S0007 2400 × 1.05 × 40% = 1008; S0008 450 × 1.05 = 472.5;
    #         S0009 D005/310 300 × 1 = 300; total 2778
    #   H003: S0010 1168.0572 × 0.8 = 934.44576 -> 934.4458; S0011 480.2575 × 0.8 = 384.2060;
    #         S0012 280 × 1 = 280; total 1598.6518
    #   city total 19178.6442 + 2778 + 1598.6518 = 23555.2960
    # hifp_pay is 80% of medfee_sumamt on every case: city ratio 88,240 ÷ 110,300 = 80%, each institution 80%.
    # Point value (total-cost basis, module default): 188,442.37 ÷ 80% ÷ 23555.296 = 235,552.9625 ÷ 23555.296
    #   = 10.0000000159… -> 10.0000
    # Payable = points × 10 × 80%: H001 19178.6442 × 8 = 153,429.1536 -> 153,429.15; H002 2778 × 8 = 22,224.00;
    #   H003 1598.6518 × 8 = 12,789.2144 -> 12,789.21; total 188,442.36, 0.01 below the budget.
    out = tmp_path / "清算结果.csv"
    status = main(batch_args(EXAMPLE, out))
    captured = capsys.readouterr()
    assert status == 0, captured.err
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert [(r["code"], r["coefficient"], r["case_count"], r["total_points"], r["payment_ratio"], r["dip_payable"])
            for r in rows] == [("H001", "1.2", "5", "19178.6442", "0.8", "153429.15"),
                               ("H002", "1.05", "4", "2778", "0.8", "22224.00"),
                               ("H003", "0.8", "3", "1598.6518", "0.8", "12789.21")]
    assert "city_total_points 统筹区年度DIP总分值 = 23555.296" in captured.out
    assert "point_value 结算点值（元/分） = 10.0000" in captured.out
    assert "dip_payable_total 各机构DIP应支付额合计 = 188442.36" in captured.out
    assert "budget_residue 可用于DIP付费总额与各机构应支付额合计之差 = 0.01" in captured.out


def test_the_cases_written_out_carry_the_catalogue_scores(tmp_path, capsys):
    # --collection cases: S0003 5800 (D004, 390) × 1.2 × 200% = 13920; S0007 2400 × 1.05 × 40% = 1008
    out = tmp_path / "cases_out.csv"
    assert main(batch_args(EXAMPLE, out) + ["--collection", "cases"]) == 0, capsys.readouterr().err
    rows = {r["id"]: r for r in csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines())}
    assert len(rows) == 12
    assert (rows["S0003"]["disease_score"], rows["S0003"]["cost_adjustment"], rows["S0003"]["points"]) == \
        ("5800", "2", "13920")
    assert (rows["S0007"]["disease_score"], rows["S0007"]["cost_adjustment"], rows["S0007"]["points"]) == \
        ("2400", "0.4", "1008")


def test_the_example_ruleset_validates_and_only_the_replaced_inputs_are_unused():
    # the catalogue replaces the module's relative-cost score (mi ÷ M × base score): those three go unused
    from rulesengine.core.errors import render
    from rulesengine.evaluate.driver import load_program
    program = load_program(str(EXAMPLE / "dip_platform_city.yaml"))
    warnings = [render(w).splitlines()[0] for w in program.ruleset.warnings]
    assert len(warnings) == 3 and all("warning[unused]" in w for w in warnings), warnings
    assert ["'base_score'" in warnings[0], "'base_disease_average_cost'" in warnings[1],
            "'case.disease_average_cost'" in warnings[2]] == [True, True, True]


def test_the_mapping_ignores_the_catalogue_keys_for_other_rulesets_yet_this_one_reads_them():
    # rulesets/mappings/national_platform.yaml lists dip_dise_grp_code and insutype under ignore (Zibo has
    # no such fields); the example's cases have fields of those very ids, so the batch above reads them.
    text = MAPPING.read_text(encoding="utf-8")
    ignored = text[text.index("\nignore:"):]
    assert "dip_dise_grp_code" in ignored and "insutype" in ignored


def test_the_example_rulesets_own_test_passes():
    # the ruleset's tests: section (two institutions, four cases; arithmetic in the YAML comments)
    from rulesengine.commands.testrunner import run_tests
    from rulesengine.evaluate.driver import load_program
    outcomes = run_tests(load_program(str(EXAMPLE / "dip_platform_city.yaml")))
    assert [o.test_id for o in outcomes] == ["catalogue_and_level"]
    assert all(o.passed for o in outcomes), outcomes
