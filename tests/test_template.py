"""``rulesengine template`` (an input workbook to fill in, read back by ``batch``) and
``rulesengine new`` (a new city's ruleset from an old one).

The property: a template filled with a ruleset's example, run by ``batch``, gives every value
``run --example`` gives (per record and city-wide), for every collection ruleset and the
row-mode one. The Zibo values are also worked by hand (tests/test_batch.py, the ruleset's tests).
"""

from __future__ import annotations

import csv
import json
import pathlib
import re
from decimal import Decimal, InvalidOperation

import pytest

from rulesengine.cli import main

openpyxl = pytest.importorskip("openpyxl")

ROOT = pathlib.Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
ZIBO = RULESETS / "zibo_2025.yaml"
COLLECTION_RULESETS = ["zibo_2025", "chongqing_2019", "xinxiang_county_community"]
SEEDS = sorted(p.stem for p in RULESETS.glob("*.yaml"))
_TOTAL = re.compile(r"^(\S+) .* = (\S+)$")


def _run_values(ruleset: pathlib.Path, capsys) -> dict:
    assert main(["run", str(ruleset), "--example", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)["values"]


def _read_csv(path: pathlib.Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _same(batch_text: str, run_value) -> bool:
    """One value written by batch and the same value in run's JSON (numbers compared exactly)."""
    if isinstance(run_value, bool):
        return batch_text == ("true" if run_value else "false")
    try:
        return Decimal(batch_text) == Decimal(str(run_value))
    except InvalidOperation:
        return batch_text == str(run_value)


def _template(ruleset: pathlib.Path, out: pathlib.Path, *more) -> None:
    assert main(["template", str(ruleset), "-o", str(out), "--example", *more]) == 0


@pytest.mark.parametrize("name", COLLECTION_RULESETS)
def test_filled_template_gives_what_run_gives(tmp_path, capsys, name):
    ruleset = RULESETS / f"{name}.yaml"
    expected = _run_values(ruleset, capsys)
    book = tmp_path / "输入模板.xlsx"
    _template(ruleset, book)
    capsys.readouterr()
    from rulesengine.load.loader import load_ruleset
    entities = load_ruleset(str(ruleset)).value["entities"]
    compared, city_wide = 0, set()
    for entity_id, spec in entities.items():
        out = tmp_path / f"{spec['collection']}.csv"
        status = main(["batch", str(ruleset), "--table", str(book), "--collection", spec["collection"],
                       "-o", str(out)])
        captured = capsys.readouterr()
        assert status == 0, captured.err
        for row in _read_csv(out):
            key = row[spec["key"]]
            for column, text in row.items():
                values = expected.get(f"{entity_id}.{column}")
                if isinstance(values, dict) and key in values:
                    assert _same(text, values[key]), (entity_id, key, column, text, values[key])
                    compared += 1
        for line in captured.out.splitlines():  # the city-wide values batch prints
            match = _TOTAL.match(line)
            if match and match.group(1) in expected:
                assert _same(match.group(2), expected[match.group(1)]), line
                city_wide.add(match.group(1))
    assert compared > 20  # per record
    assert city_wide == {name for name in expected if "." not in name}  # every city-wide value


def test_filled_template_row_mode(tmp_path, capsys):
    ruleset = RULESETS / "sanya_2024.yaml"
    expected = _run_values(ruleset, capsys)
    book = tmp_path / "输入模板.xlsx"
    _template(ruleset, book)
    out = tmp_path / "out.csv"
    assert main(["batch", str(ruleset), "--table", str(book), "-o", str(out)]) == 0
    (row,) = _read_csv(out)
    compared = [column for column, text in row.items() if column in expected
                and _same(text, expected[column])]
    assert len(compared) == len([c for c in row if c in expected]) > 10
    # settlement 202,500,000 − 184,500,000 − 1,025,617.28 (良好: 10,256,172.84 × 10%) − 320,000
    #   = 16,654,382.72 (README, tests/test_batch.py)
    assert row["settlement_amount"] == "16654382.72"


def test_zibo_template_by_hand(tmp_path, capsys):
    book = tmp_path / "输入模板.xlsx"
    _template(ZIBO, book)
    out = tmp_path / "out.csv"
    assert main(["batch", str(ZIBO), "--table", str(book), "-o", str(out)]) == 0
    rows = {row["code"]: row for row in _read_csv(out)}
    # H001: DIP payable 11,497.5 points × 10.9365 × 0.75 = 94,306.8065625 -> 94,306.81;
    # settlement 100,908.29 − 85,000 − 1,000 − 0 − 12,000 = 2,908.29; H002 −242.81; H003 742.31
    assert rows["H001"]["dip_payable"] == "94306.81"
    assert [rows[k]["settlement_amount"] for k in ("H001", "H002", "H003")] == ["2908.29", "-242.81", "742.31"]
    # 2,908.29 − 242.81 + 742.31 = 3,407.79
    assert "city_settlement_total 全市年终清算金额合计 = 3407.79" in capsys.readouterr().out


def test_workbook_layout(tmp_path):
    book_path = tmp_path / "t.xlsx"
    _template(RULESETS / "chongqing_2019.yaml", book_path)
    book = openpyxl.load_workbook(book_path)
    names = book.sheetnames
    assert "全市事实" in names and names[-1] == "填写说明"
    members = book.worksheets[0]
    head = {c.value: c for c in members[1]}
    assert all(c.comment is not None and c.comment.text.startswith("标识：") for c in members[1])
    # the key column's header is its Chinese label, its id in the comment
    first = members.cell(1, 1)
    assert "标识：code" in first.comment.text and first.value != "code"
    lists = {str(dv.sqref): dv.formula1 for dv in members.data_validations.dataValidation}
    assert '"是,否"' in lists.values()  # is_lead
    assert any("超支" in f and "结余" in f for f in lists.values())  # cleared_as
    facts = book["全市事实"]
    assert [c.value for c in facts[1]][:3] == ["名称", "标识", "取值"]
    ids = [row[1].value for row in facts.iter_rows(min_row=2)]
    assert "community_code" in ids and len(head) == members.max_column


def test_empty_template_has_headers_only(tmp_path, capsys):
    out = tmp_path / "t.xlsx"
    assert main(["template", str(ZIBO), "-o", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    assert book.worksheets[0].max_row == 1
    assert all(row[2].value is None for row in book["全市事实"].iter_rows(min_row=2))
    # read back empty: the missing shared facts are named
    assert main(["batch", str(ZIBO), "--table", str(out), "-o", str(tmp_path / "o.csv")]) == 2
    assert "dip_budget" in capsys.readouterr().err


def test_csv_format_reads_back(tmp_path, capsys):
    folder = tmp_path / "模板"
    _template(ZIBO, folder, "--format", "csv")
    assert (folder / "institutions.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    facts = (folder / "facts.yaml").read_text(encoding="utf-8")
    assert "# 住院DIP支出预算" in facts
    out = tmp_path / "out.csv"
    assert main(["batch", str(ZIBO), "--table", str(folder / "institutions.csv"), "--table",
                 str(folder / "cases.csv"), "--facts", str(folder / "facts.yaml"), "-o", str(out)]) == 0
    # the same hand-worked settlement as the workbook: 2,908.29 for H001
    assert {r["code"]: r["settlement_amount"] for r in _read_csv(out)}["H001"] == "2908.29"


def test_text_is_formula_safe(tmp_path):
    ruleset = tmp_path / "zibo.yaml"  # the dip module is found in the project
    ruleset.write_text(ZIBO.read_text(encoding="utf-8").replace("H001", "=H001"), encoding="utf-8")
    book_path = tmp_path / "t.xlsx"
    _template(ruleset, book_path)
    sheet = openpyxl.load_workbook(book_path).worksheets[0]
    cell = sheet.cell(2, 1)
    assert cell.value == "'=H001" and cell.data_type == "s"
    folder = tmp_path / "csv"
    _template(ruleset, folder, "--format", "csv")
    assert "'=H001" in (folder / "institutions.csv").read_text(encoding="utf-8-sig")


def test_never_overwrites(tmp_path, capsys):
    out = tmp_path / "t.xlsx"
    out.write_bytes(b"mine")
    assert main(["template", str(ZIBO), "-o", str(out)]) == 2
    assert out.read_bytes() == b"mine"
    assert "t.xlsx" in capsys.readouterr().err


def test_bad_fact_in_the_facts_sheet_is_located(tmp_path, capsys):
    book_path = tmp_path / "t.xlsx"
    _template(ZIBO, book_path)
    book = openpyxl.load_workbook(book_path)
    facts = book["全市事实"]
    row = next(r[0].row for r in facts.iter_rows(min_row=2) if r[1].value == "dip_budget")
    facts.cell(row, 3, "十四万")
    book.save(book_path)
    assert main(["batch", str(ZIBO), "--table", str(book_path), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert f"t.xlsx:{row}:3:" in err and "dip_budget" in err


# --- new ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_new_city_validates(tmp_path, capsys, seed):
    folder = tmp_path / "weifang"
    assert main(["new", "weifang", "--from", str(RULESETS / f"{seed}.yaml"), "-o", str(folder)]) == 0
    text = (folder / "weifang.yaml").read_text(encoding="utf-8")
    for key in ("title", "document_number"):
        assert re.search(rf"^{key}: \"【待填写】", text, re.M), key
    assert re.search(r"^id: weifang  # 【待填写】", text, re.M)
    capsys.readouterr()
    assert main(["validate", str(folder / "weifang.yaml")]) == 0, capsys.readouterr().err


def test_new_city_copies_its_modules(tmp_path):
    folder = tmp_path / "潍坊"
    assert main(["new", "潍坊", "--from", str(ZIBO), "-o", str(folder)]) == 0
    copied = folder / "modules" / "dip_point_method.yaml"
    assert copied.read_bytes() == (RULESETS / "modules" / "dip_point_method.yaml").read_bytes()
    text = (folder / "潍坊.yaml").read_text(encoding="utf-8")
    assert "id: new_city  # 【待填写】" in text  # a Chinese name is not an id
    assert "issued: 2024-12-20  # 【待填写】" in text and "from: 2025-01-01  # 【待填写】" in text


def test_new_never_writes_into_an_existing_folder(tmp_path, capsys):
    folder = tmp_path / "weifang"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    assert main(["new", "weifang", "--from", str(ZIBO), "-o", str(folder)]) == 2
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    assert "weifang" in capsys.readouterr().err


def test_new_with_a_missing_module_is_located(tmp_path, capsys):
    source = tmp_path / "city.yaml"
    text = ZIBO.read_text(encoding="utf-8").replace("- module: dip_point_method", "- module: no_such_method")
    source.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  - module: no_such_method") + 1
    status = main(["new", "weifang", "--from", str(source), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and f"city.yaml:{line}:" in err and "no_such_method" in err
    assert not (tmp_path / "out").exists()


def test_sheets_named_one_by_one(tmp_path, capsys):
    """NAME=workbook picks the collection's sheet; --facts workbook reads its 全市事实 sheet."""
    book = tmp_path / "t.xlsx"
    _template(ZIBO, book)
    out = tmp_path / "out.csv"
    assert main(["batch", str(ZIBO), "--table", f"institutions={book}", "--table", f"cases={book}",
                 "--facts", str(book), "-o", str(out)]) == 0
    # 2,908.29 for H001, as by hand in test_zibo_template_by_hand
    assert {r["code"]: r["settlement_amount"] for r in _read_csv(out)}["H001"] == "2908.29"


def test_a_fact_given_twice_is_located(tmp_path, capsys):
    book_path = tmp_path / "t.xlsx"
    _template(ZIBO, book_path)
    book = openpyxl.load_workbook(book_path)
    facts = book["全市事实"]
    facts.append(["住院DIP支出预算", "dip_budget", 1000])
    book.save(book_path)
    assert main(["batch", str(ZIBO), "--table", str(book_path), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert f"t.xlsx:{facts.max_row}:2:" in err and "dip_budget" in err
