"""What ``rulesengine batch`` writes: the .xlsx laid out like ``workbook``, CSV for Excel,
nothing that runs as a formula (in ``workbook`` either), no input overwritten, one trace file
per record, SIGTERM handled, a record that cannot be computed failing alone, Chinese messages.

The Zibo example (rulesets/zibo_2025.yaml, example zibo_2025_city) is written out as tables by
the helpers of test_batch.py; its values are worked by hand in the ruleset's tests.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal

import pytest
from test_batch import GENERATOR, SANYA, ZIBO, _by_key, _read, _sanya_table, _zibo_tables, signal_mid_write

from rulesengine.cli import main
from rulesengine.core.output import formula_safe
from rulesengine.load.loader import load_ruleset

openpyxl = pytest.importorskip("openpyxl")
ROOT = pathlib.Path(__file__).resolve().parent.parent
EVIL = '=HYPERLINK("http://x"&A1,"点此")'


def _cells(path: pathlib.Path):
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            yield from row


def _no_formula(path: pathlib.Path) -> None:
    for cell in _cells(path):
        assert cell.data_type != "f", (cell.coordinate, cell.value)
        assert not (isinstance(cell.value, str) and cell.value.startswith("=")), (cell.coordinate, cell.value)


def _rename_h001(name, rows, key=EVIL):
    """H001 becomes ``key`` (a formula): in the institutions table and in its cases."""
    for row in rows:
        if row.get("code") == "H001":
            row["code"] = key
        if row.get("institution") == "H001":
            row["institution"] = key


# a key a workbook cannot hold as it is: control characters become escapes, then made formula-safe
@pytest.mark.parametrize("key, shown", [("H\x01\x1b1", "H\\x01\\x1b1"), ("=H\x02", "'=H\\x02"),
                                        ("+H1", "'+H1"), ("@H1", "'@H1")])
def test_a_key_with_control_characters_is_written_escaped(tmp_path, capsys, key, shown):
    args, folder = _zibo_tables(tmp_path, edit=lambda name, rows: _rename_h001(name, rows, key))
    out = folder / "out.xlsx"
    assert main(["batch", str(ZIBO), *args, "-o", str(out)]) == 0
    _no_formula(out)
    rows = _by_key(_read(out))
    assert set(rows) == {shown, "H002", "H003"}
    assert rows[shown]["settlement_amount"] == "2908.29"  # H001's, by hand in the ruleset


# --- formula neutralisation -------------------------------------------------------------------
@pytest.mark.parametrize("text", ["=1+2", "+A1", "-A1", "@SUM(A1)", "\tx", "\rx", EVIL, "-1+2", "=", "+"])
def test_formula_prefixes_get_a_quote(text):
    assert formula_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["-242.81", "+5", "12", "0.75", "H001", "a=b", "", "点此", Decimal("-1.5"), 7, None])
def test_numbers_and_plain_text_stay_as_they_are(value):
    assert formula_safe(value) is value


def test_a_formula_key_is_never_a_formula_in_batch_xlsx_or_csv(tmp_path, capsys):
    args, folder = _zibo_tables(tmp_path, edit=_rename_h001)
    assert main(["batch", str(ZIBO), *args, "-o", str(folder / "out.xlsx"), "--collection", "cases"]) == 0
    _no_formula(folder / "out.xlsx")
    sheet = openpyxl.load_workbook(folder / "out.xlsx").worksheets[0]
    assert sheet.cell(3, 2).value == "'" + EVIL  # C01's institution, row 3 (two header rows)
    assert main(["batch", str(ZIBO), *args, "-o", str(folder / "out.csv")]) == 0
    with open(folder / "out.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][0] == "'" + EVIL
    # the rest of the row is unchanged: settlement 2,908.29 (by hand in the ruleset) stays a number
    assert "2908.29" in rows[1]


# (a key with a control character never reaches the workbook: the facts reader refuses it,
# code bad-character, tests/test_hostile.py)
@pytest.mark.parametrize("key, shown", [(EVIL, "'" + EVIL)])
def test_a_formula_key_is_never_a_formula_in_workbook(tmp_path, capsys, key, shown):
    facts = dict(load_ruleset(str(ZIBO)).value["examples"]["zibo_2025_city"]["facts"])
    for name in ("institutions", "cases"):
        facts[name] = [dict(r) for r in facts[name]]
        _rename_h001(name, facts[name], key)
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts, ensure_ascii=False, default=str), encoding="utf-8")
    book = tmp_path / "book.xlsx"
    assert main(["workbook", str(ZIBO), "--facts", str(path), "-o", str(book)]) == 0
    _no_formula(book)
    assert any(cell.value == shown for cell in _cells(book))


# --- the .xlsx output -------------------------------------------------------------------------
def test_xlsx_is_laid_out_like_the_workbook(tmp_path, capsys):
    args, folder = _zibo_tables(tmp_path)
    out = folder / "out.xlsx"
    assert main(["batch", str(ZIBO), *args, "-o", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[1:] == ["合计", "未通过检查", "参数与事实"]
    sheet = book.worksheets[0]
    ids = [c.value for c in sheet[2]]
    labels = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "B3"
    money, rate = ids.index("settlement_amount") + 1, ids.index("payment_ratio") + 1
    assert labels[money - 1].endswith("（元）") and re.search(r"[\u4e00-\u9fff]", labels[rate - 1])
    rows = {sheet.cell(r, 1).value: r for r in range(3, sheet.max_row + 1)}
    # settlement H001 = 100,908.29 − 85,000 − 1,000 − 0 − 12,000 = 2,908.29 (ruleset tests)
    cell = sheet.cell(rows["H001"], money)
    assert cell.value == pytest.approx(2908.29) and cell.number_format == "#,##0.00"
    assert cell.data_type == "n"
    cell = sheet.cell(rows["H002"], rate)  # H002's own ratio 28,000 / 40,000 = 70%
    assert cell.value == pytest.approx(0.70) and cell.number_format == "0.00%"
    assert all(sheet.column_dimensions[c].width >= 10 for c in ("A", "B", "C"))
    totals = {r[0].value: r for r in book["合计"].iter_rows(min_row=2)}
    # city total = 2,908.29 − 242.81 + 742.31 = 3,407.79, equal to the sum of the rows
    total = totals["city_settlement_total"]
    assert total[2].value == pytest.approx(3407.79) and total[3].value == pytest.approx(3407.79)
    assert total[4].value == "一致"
    inputs = {r[0].value: r for r in book["参数与事实"].iter_rows(min_row=2)}
    assert inputs["compiled_budget"][2].value == pytest.approx(310000)  # from the facts file
    assert inputs["compiled_budget"][4].value == str(folder / "facts.json")
    assert inputs["base_score"][4].value == str(ZIBO)  # a parameter of the ruleset


def test_failed_checks_sheet_lists_each_record(tmp_path, capsys):
    def extreme(name, rows):
        if name == "cases":  # C01: cost 60,000 / norm cost 10,000 = 6 > 5: extreme_cost_review fails
            rows[0]["cost"] = "60000.00"
    args, folder = _zibo_tables(tmp_path, edit=extreme)
    out = folder / "cases.xlsx"
    assert main(["batch", str(ZIBO), *args, "-o", str(out), "--collection", "cases"]) == 0  # a warning
    failed = [[c.value for c in row] for row in openpyxl.load_workbook(out)["未通过检查"].iter_rows(min_row=2)]
    assert [(r[0], r[1], r[3]) for r in failed] == [("C01", "extreme_cost_review", "警告")]
    assert failed[0][2] == "极端异常病例需特例单议"


# --- CSV --------------------------------------------------------------------------------------
def test_csv_has_a_bom_and_rounded_quotients(tmp_path, capsys):
    data = tmp_path / "city"
    subprocess.run([sys.executable, str(GENERATOR), "dip", "--cases", "2000", "-o", str(data)],
                   check=True, capture_output=True)
    out = tmp_path / "out.csv"
    assert main(["batch", str(ZIBO), "--table", str(data / "institutions.csv"), "--table",
                 str(data / "cases.csv"), "--facts", str(data / "facts.yaml"), "-o", str(out)]) in (0, 1)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = _read(out)
    places = [len(v.split(".")[1]) for row in rows for v in row.values() if re.fullmatch(r"-?\d+\.\d+", v)]
    assert max(places) == 10  # an unrounded quotient is cut at 10 places, never 34 digits
    for row in rows:  # payment_ratio = fund accounting / total cost, rounded half up to 10 places
        if row["payment_ratio"] and Decimal(row["dip_total_cost"]):
            ratio = (Decimal(row["dip_fund_accounting"]) / Decimal(row["dip_total_cost"]))
            assert Decimal(row["payment_ratio"]) == ratio.quantize(Decimal("1e-10"), ROUND_HALF_UP)


# --- never overwrite an input -----------------------------------------------------------------
@pytest.mark.parametrize("how", ["table", "symlink-table", "symlink-facts", "symlink-ruleset", "hardlink", "traces"])
def test_output_naming_an_input_is_refused_before_reading(tmp_path, capsys, how):
    args, folder = _zibo_tables(tmp_path)
    ruleset = folder / "ruleset.yaml"
    ruleset.write_text("format: 1\nid: [\n", encoding="utf-8")  # invalid: never read if refused first
    inputs = {p: p.read_bytes() for p in folder.iterdir()}
    out, extra = folder / "out.csv", []
    if how == "table":
        out = folder / "institutions.csv"
    elif how.startswith("symlink"):
        target = {"table": "cases.csv", "facts": "facts.json", "ruleset": "ruleset.yaml"}[how.split("-")[1]]
        out.symlink_to(folder / target)
    elif how == "hardlink":
        os.link(folder / "cases.csv", out)
    else:
        extra = ["--traces", str(folder)]
    status = main(["batch", str(ruleset), *args, "-o", str(out), *extra])
    err = capsys.readouterr().err
    assert status == 2 and "overwrit" in err, err
    assert {p: p.read_bytes() for p in inputs} == inputs


# --- traces -----------------------------------------------------------------------------------
def test_trace_names_are_unique_and_stable(tmp_path, capsys):
    keys = ["G/1", "G_1", "G:1", "G 1"]
    grades = {"G/1": "优秀", "G_1": "良好", "G:1": "合格", "G 1": "良好"}

    def rename(rows):
        rows.append(dict(rows[1]))
        for row, key in zip(rows, keys):
            row["group"], row["assessment_grade"] = key, grades[key]
    table = _sanya_table(tmp_path, edit=rename)
    names = []
    for run in ("a", "b"):
        traces = tmp_path / f"traces_{run}"
        assert main(["batch", str(SANYA), "--table", str(table), "-o", str(tmp_path / "o.csv"),
                     "--traces", str(traces)]) == 0
        names.append(sorted(p.name for p in traces.iterdir()))
    assert len(names[0]) == 4 and names[0] == names[1]
    # a plain key keeps its name; any other: letters and digits, '~' and a hash of the key
    expected = {k: "G_1.json" if k == "G_1" else f"G_1~{hashlib.sha256(k.encode()).hexdigest()[:12]}.json"
                for k in keys}
    assert sorted(expected.values()) == names[0]
    for key, name in expected.items():
        trace = json.loads((tmp_path / "traces_a" / name).read_text(encoding="utf-8"))
        grade = next(n for n in trace["nodes"] if n["id"] == "assessment_grade")
        assert grade["value"] == grades[key]


def test_sigterm_removes_the_temporary_file_and_exits_143(tmp_path):
    process, err, out = signal_mid_write(tmp_path, signal.SIGTERM)
    assert process.returncode == 143, err
    assert b"Traceback" not in err
    assert not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


# --- a record that cannot be computed ---------------------------------------------------------
def _with_empty_institution(name, rows):
    if name == "institutions":  # H004: no cases, no budget: its payment ratio divides 0 by 0
        rows.append(dict(rows[2], code="H004", annual_dip_budget="0.00"))


def test_a_record_that_divides_by_zero_fails_alone(tmp_path, capsys):
    args, folder = _zibo_tables(tmp_path, edit=_with_empty_institution)
    out = folder / "out.csv"
    assert main(["batch", str(ZIBO), *args, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "record 'H004' of institutions: division by zero" in err
    assert "'dip_payable_unscaled_total' cannot be computed" in err and "'H004'" in err
    rows = _by_key(_read(out))
    # own ratios, by hand: H001 105,000 / 140,000 = 75%; H002 70%; H003 17,000 / 20,000 = 85%
    assert [rows[k]["payment_ratio"] for k in ("H001", "H002", "H003")] == ["0.75", "0.7", "0.85"]
    assert rows["H001"]["dip_payable_unscaled"] == "94306.81"  # 11,497.5 × 10.9365 × 0.75
    assert rows["H004"]["payment_ratio"] == "" and "division by zero" in rows["H004"]["errors"]


def test_keep_going_leaves_the_failed_record_out_and_computes_the_rest_in_full(tmp_path, capsys):
    args, folder = _zibo_tables(tmp_path, edit=_with_empty_institution)
    out = folder / "out.csv"
    assert main(["batch", str(ZIBO), *args, "-o", str(out), "--keep-going"]) == 1
    captured = capsys.readouterr()
    rows = _by_key(_read(out))
    assert set(rows) == {"H001", "H002", "H003"}
    # H004 adds no case and no budget: the settlements are the example's, by hand in the ruleset
    assert [rows[k]["settlement_amount"] for k in ("H001", "H002", "H003")] == ["2908.29", "-242.81", "742.31"]
    assert "city_settlement_total 全市年终清算金额合计 = 3407.79" in captured.out
    report = _read(pathlib.Path(str(out) + ".errors.csv"))
    assert [(r["file"], r["row"], r["code"]) for r in report] == [("institutions.csv", "5", "division-by-zero")]


# --- Chinese ----------------------------------------------------------------------------------
_ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b")  # three English words in a row


def test_batch_speaks_chinese(tmp_path, capsys):
    def spoil(rows):
        rows[0]["assessment_grade"] = "很好"
        rows[2]["fund_accounting_amount"] = "1,000.00"
    table = _sanya_table(tmp_path, edit=spoil)
    assert main(["--lang", "zh", "batch", str(SANYA), "--table", str(table), "-o", str(tmp_path / "o.csv")]) == 1
    assert main(["--lang", "zh", "batch", str(SANYA), "--table", str(table), "-o", str(tmp_path / "o.csv"),
                 "--keep-going"]) == 1
    (tmp_path / "zibo").mkdir()
    args, folder = _zibo_tables(tmp_path / "zibo", edit=_with_empty_institution)
    assert main(["--lang", "zh", "batch", str(ZIBO), *args, "-o", str(folder / "out.csv")]) == 1
    assert main(["--lang", "zh", "batch", str(ZIBO), "--table", str(folder / "cases.csv"), "-o",
                 str(folder / "cases.csv")]) == 2
    assert main(["--lang", "zh", "batch", "--help"]) == 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "错误报告" in text and "批量计算" in text and "未写出结果" in text
    text = re.sub(r"^\s*\d+ \|.*$", "", text, flags=re.M)  # the ruleset's formula, quoted
    text = re.sub(r"'[^']*'|\S*[/_.]\S*|\[[\w-]+\]|[A-Z]{2,}\S*", "", text)  # names, paths, ids, codes
    assert not _ENGLISH.search(text), _ENGLISH.search(text)
