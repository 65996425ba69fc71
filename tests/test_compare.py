"""`rulesengine compare` as a bureau analyst uses it (issue 13): facts per regime, per-record
concepts, every regime's checks and an exit status that reflects them.

Facts: rulesets/facts/five_regimes.yaml, the five default examples, with a section per ruleset id
for the facts two regimes give different values. Expected amounts are the hand-worked values of
the rulesets' own tests (the arithmetic is repeated here).
"""

import json
import pathlib

import yaml

from rulesengine.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
RULESETS = sorted(str(p) for p in (ROOT / "rulesets").glob("*.yaml"))
FACTS = ROOT / "rulesets" / "facts" / "five_regimes.yaml"
SANYA = str(ROOT / "rulesets" / "sanya_2024.yaml")
GUANGDONG = str(ROOT / "rulesets" / "guangdong_2019.yaml")
ZIBO = str(ROOT / "rulesets" / "zibo_2025.yaml")
XINXIANG = str(ROOT / "rulesets" / "xinxiang_county_community.yaml")


def run(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def five_facts() -> dict:
    return yaml.safe_load(FACTS.read_text(encoding="utf-8"))


def write(tmp_path, data: dict) -> str:
    path = tmp_path / "facts.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


def concepts(out: str) -> dict:
    return {c["id"]: c["rulesets"] for c in json.loads(out)["concepts"]}


def test_each_regime_sees_its_own_section(tmp_path, capsys):
    status, out, err = run(capsys, "compare", SANYA, GUANGDONG, "--facts", str(FACTS), "--format", "json")
    assert status == 0, err
    settlement = concepts(out)["settlement_amount"]
    # Sanya: 202,500,000.00 − 184,500,000.00 − 1,025,617.28 − 320,000.00 = 16,654,382.72
    assert settlement["sanya_medical_group_2024"]["value"] == "16654382.72"
    # Guangdong with its own prepaid 360,000,000.00 (not Sanya's 184,500,000.00):
    # 493,901,234.46 − 115,000,000.00 − 360,000,000.00 = 18,901,234.46
    assert settlement["guangdong_county_community_2019"]["value"] == "18901234.46"
    sections = {r["id"]: r["facts_section"] for r in json.loads(out)["rulesets"]}
    assert sections == {"sanya_medical_group_2024": True, "guangdong_county_community_2019": True}


def test_a_section_is_seen_by_its_ruleset_only(tmp_path, capsys):
    facts = five_facts()
    del facts["guangdong_county_community_2019"]["prepaid_total"]  # only Sanya's section has one now
    status, out, _ = run(capsys, "compare", SANYA, GUANGDONG, "--facts", write(tmp_path, facts),
                         "--format", "json")
    assert status == 0
    settlement = concepts(out)["settlement_amount"]
    assert settlement["sanya_medical_group_2024"]["value"] == "16654382.72"
    assert settlement["guangdong_county_community_2019"]["status"] == "missing"
    assert settlement["guangdong_county_community_2019"]["missing_facts"] == ["prepaid_total"]


def test_a_failed_error_check_makes_the_exit_status_1(tmp_path, capsys):
    facts = five_facts()
    facts["sanya_medical_group_2024"]["employee_growth_rate"] = "12%"  # above the 10% cap
    facts["sanya_medical_group_2024"]["reasonable_overspend"] = "200000.00"  # overspend is 200,000.00
    status, out, _ = run(capsys, "compare", *RULESETS, "--facts", write(tmp_path, facts))
    assert status == 1
    assert "ERROR employee_growth_within_cap" in out
    # growth_above_cap (Sanya's test): DIP total by 三(四)2 = 152,800,000 + 100,000 ≠ 150,000,000 -> warning
    assert "WARNING dip_settlement_includes_sharing" in out
    status, out, _ = run(capsys, "compare", *RULESETS, "--facts", write(tmp_path, facts), "--format", "json")
    data = json.loads(out)
    assert status == 1 and data["status"] == 1
    sanya = next(r for r in data["rulesets"] if r["id"] == "sanya_medical_group_2024")
    failed = {c["id"]: c for c in sanya["checks"] if not c["passed"]}
    assert set(failed) == {"employee_growth_within_cap", "dip_settlement_includes_sharing"}
    # 12% − 10% = 2%
    assert (failed["employee_growth_within_cap"]["left"], failed["employee_growth_within_cap"]["right"],
            failed["employee_growth_within_cap"]["difference"]) == ("0.12", "0.1", "0.02")


def test_a_failed_warning_leaves_the_exit_status_0(tmp_path, capsys):
    facts = five_facts()
    facts["sanya_medical_group_2024"]["clearing_completed_on"] = "2025-07-01"  # after 30 June: a warning
    status, out, _ = run(capsys, "compare", SANYA, "--facts", write(tmp_path, facts))
    assert status == 0
    assert "WARNING clearing_within_deadline" in out and "checks: 6 passed, 1 failed, 0 not evaluated" in out


def test_per_record_concepts_as_totals_and_per_record(tmp_path, capsys):
    status, out, _ = run(capsys, "compare", ZIBO, XINXIANG, "--facts", str(FACTS), "--format", "json",
                         "--per-record")
    assert status == 0
    found = concepts(out)
    zibo = found["settlement_amount"]["zibo_dip_2025"]
    assert zibo["per_record"] == "institutions" and zibo["records"] == 3
    # Zibo annual_clearing: 2,908.29, −242.81, 742.31; total 2,908.29 − 242.81 + 742.31 = 3,407.79
    assert zibo["values"] == {"H001": "2908.29", "H002": "-242.81", "H003": "742.31"}
    assert zibo["total"] == "3407.79"
    assert zibo["label"] == "机构年终清算金额"
    # Xinxiang example_clearing: payable 205,090,000.00 + 119,347,212.50 + 63,223,475.00 = 387,660,687.50
    xinxiang = found["payable"]["xinxiang_county_medical_community"]
    assert xinxiang["total"] == "387660687.50" and xinxiang["values"]["GT02"] == "119347212.50"
    # a ruleset-wide concept wins over a per-record one: Xinxiang's global_budget is the county total
    # 238,290,000 + 142,057,500 + 77,902,500 = 458,250,000.00
    assert found["global_budget"]["xinxiang_county_medical_community"]["value"] == "458250000.00"


def test_per_record_table_rows(tmp_path, capsys):
    status, out, _ = run(capsys, "compare", ZIBO, "--facts", str(FACTS), "--per-record")
    assert status == 0
    table = out.split("\n\n")[0]
    rows = {line.split()[0]: line.split() for line in table.splitlines() if not line.startswith(" ")}
    assert rows["settlement_amount"][2] == "Σ3,407.79"
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("settlement_amount "))
    assert [line.split() for line in lines[start + 1:start + 4]] == [["H001", "2,908.29"], ["H002", "-242.81"],
                                                                     ["H003", "742.31"]]
    assert "zibo_dip_2025: 机构年终清算金额 (per record of institutions)" in out
    # without --per-record only the totals
    status, out, _ = run(capsys, "compare", ZIBO, "--facts", str(FACTS))
    assert "  H001" not in out.split("\n\n")[0]


def test_facts_that_do_not_bind_exit_2(tmp_path, capsys):
    facts = five_facts()
    facts["sanya_medical_group_2024"]["prepaid_total"] = "184500000.005"  # three decimals
    status, out, _ = run(capsys, "compare", SANYA, "--facts", write(tmp_path, facts))
    assert status == 2
    assert "error[bad-fact]" in out and "more than two decimal places" in out
