"""`rulesengine coverage` and `rulesengine compare` over the seed rulesets."""

import json
import pathlib

from rulesengine.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
RULESETS = sorted(str(p) for p in (ROOT / "rulesets").glob("*.yaml"))
FACTS = str(ROOT / "rulesets" / "facts" / "five_regimes.yaml")
SANYA = str(ROOT / "rulesets" / "sanya_2024.yaml")
HEADER = ("format: 1\nid: tiny\ntitle: 小\nissuer: 测试局\ndocument_number: 测〔2025〕1号\n"
          "issued: 2025-01-01\neffective: {from: 2025-01-01}\nseed: x.txt\n"
          "inputs:\n  a: {label: 甲, type: money, citation: 一}\n"
          "rules:\n  b: {label: 乙, type: money, formula: a, citation: 一}\n")


def run(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_every_seed_ruleset_has_a_complete_inventory(capsys):
    assert len(RULESETS) == 5
    status, out, err = run(capsys, "coverage", *RULESETS)
    assert status == 0, err
    assert out.count(" 0 todo") == 5


def test_coverage_json_counts_the_statuses(capsys):
    status, out, _ = run(capsys, "coverage", SANYA, "--format", "json")
    data = json.loads(out)
    assert status == 0 and data["complete"] is True
    assert sum(data["counts"].values()) == len(data["clauses"])
    assert all(c["status"] in ("encoded", "input", "out-of-scope") for c in data["clauses"])


def test_untriaged_clause_and_dangling_id_exit_1(tmp_path, capsys):
    path = tmp_path / "tiny.yaml"
    path.write_text(HEADER + "clauses:\n"
                    "  - {clause: 一, summary: 甲即乙, status: encoded, ids: [b, c]}\n"
                    "  - {clause: 二, summary: 未定}\n", encoding="utf-8")
    status, out, err = run(capsys, "coverage", str(path))
    assert status == 1
    # 'b' is declared, 'c' is not; the second clause has no status
    assert "error[unknown-name]: clause 一 names 'c'" in err
    assert "error[untriaged-clause]: clause 二 is not triaged" in err
    assert "1 encoded" in out and "1 todo" in out


def test_compare_table_puts_the_five_regimes_side_by_side(capsys):
    status, out, err = run(capsys, "compare", *RULESETS, "--facts", FACTS)
    assert status == 0, err  # every regime passes its error checks on its own example facts
    header = out.splitlines()[0].split()
    assert header[2:] == ["chongqing_medical_community_2019", "guangdong_county_community_2019",
                          "sanya_medical_group_2024", "xinxiang_county_medical_community", "zibo_dip_2025"]
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line.strip()}
    # Sanya, its own example: 202,500,000.00 − 184,500,000.00 − 1,025,617.28 − 320,000.00
    assert rows["settlement_amount"][4] == "16,654,382.72"
    # Chongqing: the members' budgets before transfer, 120,356,780.45 + 8,512,345.67
    # + 6,204,118.20 + 3,800,000.00 + 5,487,255.68 = 144,360,500.00
    assert rows["global_budget"][2] == "144,360,500.00"
    # a concept a regime does not have is shown as —
    assert rows["point_value"][4] == "—"


def test_compare_json_names_rulesets_by_id_and_says_what_is_missing(tmp_path, capsys):
    facts = tmp_path / "facts.yaml"
    text = pathlib.Path(FACTS).read_text(encoding="utf-8")
    # Sanya's prepaid_total is in its own section of the facts file (Guangdong has its own value)
    facts.write_text(text.replace("  prepaid_total: '184500000.00'\n", ""), encoding="utf-8")
    status, out, _ = run(capsys, "compare", SANYA, str(ROOT / "rulesets" / "chongqing_2019.yaml"),
                         "--facts", str(facts), "--format", "json")
    assert status == 0
    data = json.loads(out)
    assert [r["id"] for r in data["rulesets"]] == ["sanya_medical_group_2024",
                                                   "chongqing_medical_community_2019"]
    concepts = {c["id"]: c["rulesets"] for c in data["concepts"]}
    settlement = concepts["settlement_amount"]
    assert settlement["sanya_medical_group_2024"]["status"] == "missing"
    assert settlement["sanya_medical_group_2024"]["missing_facts"] == ["prepaid_total"]
    assert settlement["chongqing_medical_community_2019"] == {"status": "absent"}
    # payable does not need prepaid_total: 30,000,000 + 18,000,000 + 4,500,000 + 150,000,000
    assert concepts["payable"]["sanya_medical_group_2024"]["value"] == "202500000.00"
    assert concepts["global_budget"]["chongqing_medical_community_2019"]["value"] == "144360500.00"
