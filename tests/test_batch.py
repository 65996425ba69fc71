"""``rulesengine batch``: tables in (CSV, JSON Lines, .xlsx), results out, bad rows reported.

The Zibo example (3 institutions, 8 cases; rulesets/zibo_2025.yaml, example zibo_2025_city)
is written out as tables; its expected values are the ones worked by hand in the ruleset's
tests (repeated in the comments here). The Sanya example runs row-wise: a row per group.
"""

from __future__ import annotations

import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from rulesengine.cli import main
from rulesengine.load.loader import load_ruleset

ROOT = pathlib.Path(__file__).resolve().parent.parent
ZIBO = ROOT / "rulesets" / "zibo_2025.yaml"
SANYA = ROOT / "rulesets" / "sanya_2024.yaml"
GENERATOR = ROOT / "tools" / "gen_city_year.py"


def _text(value) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def _zibo_tables(tmp_path: pathlib.Path, suffix: str = ".csv", edit=None) -> tuple[list[str], pathlib.Path]:
    """The Zibo example as institutions/cases tables and a facts file; ``edit(name, rows)``
    may change the rows before they are written."""
    facts = dict(load_ruleset(str(ZIBO)).value["examples"]["zibo_2025_city"]["facts"])
    tables = {"institutions": facts.pop("institutions"), "cases": facts.pop("cases")}
    (tmp_path / "facts.json").write_text(json.dumps({k: _text(v) if not isinstance(v, bool) else v
                                                     for k, v in facts.items()}), encoding="utf-8")
    args = []
    for name, rows in tables.items():
        rows = [{k: _text(v) for k, v in row.items()} for row in rows]
        if edit:
            edit(name, rows)
        path = tmp_path / f"{name}{suffix}"
        _write(path, rows)
        args += ["--table", str(path)]
    return args + ["--facts", str(tmp_path / "facts.json")], tmp_path


def _write(path: pathlib.Path, rows: list[dict]) -> None:
    header = list(rows[0])
    if path.suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow([row.get(h, "") for h in header])
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps({k: (v == "true" if v in ("true", "false") else v)
                                            for k, v in row.items()}, ensure_ascii=False) + "\n"
                                for row in rows), encoding="utf-8")
    else:
        openpyxl = pytest.importorskip("openpyxl")
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(header)
        for row in rows:  # numbers as Excel numbers, as a clerk's sheet holds them
            sheet.append([_excel_cell(row.get(h)) for h in header])
        book.save(path)


def _excel_cell(value: str):
    if value in ("true", "false"):
        return value == "true"
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        return value


def _read(path: pathlib.Path) -> list[dict]:
    """A written table: CSV (UTF-8 with BOM), JSON Lines, or the first sheet of a workbook
    (Chinese labels in row 1, ids in row 2)."""
    if path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    openpyxl = pytest.importorskip("openpyxl")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[1], (_text(v) for v in row))) for row in rows[2:]]


def _by_key(rows: list[dict], key: str = "code") -> dict:
    return {row[key]: row for row in rows}


@pytest.mark.parametrize("suffix, out", [(".csv", "out.csv"), (".jsonl", "out.jsonl"), (".xlsx", "out.xlsx")])
def test_zibo_tables_in_and_out(tmp_path, capsys, suffix, out):
    args, folder = _zibo_tables(tmp_path, suffix)
    status = main(["batch", str(ZIBO), *args, "-o", str(folder / out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    rows = _by_key(_read(folder / out))
    # DIP payable (no rescale) = points × 10.9365 × own ratio, by hand in the ruleset:
    #   H001 11497.5 × 10.9365 × 0.75 = 94,306.8065625 -> 94,306.81
    #   H002 4158.4 × 10.9365 × 0.70 = 31,834.83912 -> 31,834.84; H003 1900 × 10.9365 × 0.85 -> 17,662.45
    assert [rows[k]["dip_payable"] for k in ("H001", "H002", "H003")] in (
        ["94306.81", "31834.84", "17662.45"], [94306.81, 31834.84, 17662.45])
    # settlement: 100,908.29 − 85,000 − 1,000 − 0 − 12,000 = 2,908.29; H002 −242.81; H003 742.31
    assert [str(rows[k]["settlement_amount"]) for k in ("H001", "H002", "H003")] == \
        ["2908.29", "-242.81", "742.31"]
    assert "city_settlement_total 全市年终清算金额合计 = 3407.79" in captured.out
    assert "\r" not in captured.err  # no progress bar when stderr is not a terminal


def test_cases_as_output_collection(tmp_path, capsys):
    args, folder = _zibo_tables(tmp_path)
    assert main(["batch", str(ZIBO), *args, "-o", str(folder / "cases_out.csv"), "--collection", "cases"]) == 0
    rows = _by_key(_read(folder / "cases_out.csv"), "id")
    # C03: 4500 × 1.05 × ((2.5 − 2) + 1) = 7087.5; C06: 2300 × 0.92 × 0.4 = 846.4 (low cost)
    assert rows["C03"]["points"] == "7087.5" and rows["C03"]["institution"] == "H001"
    assert rows["C06"]["points"] == "846.4" and rows["C06"]["is_low_cost"] == "true"


def test_bad_rows_are_reported_with_file_row_and_column(tmp_path, capsys):
    def spoil(name, rows):
        if name == "cases":
            rows[2]["cost"] = "100000.005"   # C03, file row 4: three decimals
            rows[5]["norm_cost"] = ""       # C06, file row 7: missing
            rows[6]["grassroots_disease"] = "也许"  # C07, row 8: not a boolean (是/否 are: tests/test_tables_in.py)
    args, folder = _zibo_tables(tmp_path, edit=spoil)
    out = folder / "out.csv"
    status = main(["batch", str(ZIBO), *args, "-o", str(out)])
    err = capsys.readouterr().err
    assert status == 1 and not out.exists()  # without --keep-going: nothing written
    assert "cases.csv:4: column 'cost' error[bad-fact]" in err
    assert "cases.csv:7: column 'norm_cost' error[missing-fact]" in err
    assert "cases.csv:8: column 'grassroots_disease' error[bad-fact]" in err
    report = _read(pathlib.Path(str(out) + ".errors.csv"))
    assert [(r["file"], r["row"], r["column"]) for r in report] == [
        ("cases.csv", "4", "cost"), ("cases.csv", "7", "norm_cost"), ("cases.csv", "8", "grassroots_disease")]


def test_keep_going_computes_every_other_row(tmp_path, capsys):
    def spoil(name, rows):
        if name == "cases":
            rows[5]["cost"] = "8000.001"  # C06 of H002 left out
    args, folder = _zibo_tables(tmp_path, edit=spoil)
    out = folder / "out.csv"
    status = main(["batch", str(ZIBO), *args, "-o", str(out), "--keep-going"])
    assert status == 1
    rows = _by_key(_read(out))
    # H002 without C06: 1196 + 2116 = 3312 points; H001 and H003 keep their points
    assert rows["H002"]["total_points"] == "3312"
    assert rows["H001"]["total_points"] == "11497.5" and rows["H003"]["total_points"] == "1900"


def test_a_bad_institution_takes_its_cases_with_it(tmp_path, capsys):
    def spoil(name, rows):
        if name == "institutions":
            rows[2]["credit_rate"] = "abc"  # H003, row 4
    args, folder = _zibo_tables(tmp_path, edit=spoil)
    status = main(["batch", str(ZIBO), *args, "-o", str(folder / "out.csv"), "--keep-going"])
    err = capsys.readouterr().err
    assert status == 1
    assert "institutions.csv:4: column 'credit_rate' error[bad-fact]" in err
    assert "cases.csv:8: column 'institution' error[bad-fact]: record 'C07' its institution row is bad" in err
    assert set(_by_key(_read(folder / "out.csv"))) == {"H001", "H002"}


def _sanya_table(tmp_path: pathlib.Path, suffix=".csv", edit=None) -> pathlib.Path:
    facts = load_ruleset(str(SANYA)).value["examples"]["group_2024"]["facts"]
    rows = []
    for i, grade in enumerate(["优秀", "良好", "合格"]):
        row = {"group": f"G{i + 1}"}
        row.update({k: _text(v) for k, v in facts.items()})
        row["assessment_grade"] = grade
        rows.append(row)
    if edit:
        edit(rows)
    path = tmp_path / f"groups{suffix}"
    _write(path, rows)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx"])
def test_sanya_row_mode(tmp_path, capsys, suffix):
    table = _sanya_table(tmp_path, suffix)
    out = tmp_path / f"out{suffix}"
    assert main(["batch", str(SANYA), "--table", str(table), "-o", str(out)]) == 0
    rows = _by_key(_read(out), "group")
    # README: 10,256,172.84 × 10% = 1,025,617.28 (良好); 优秀 0%; 合格 30% = 3,076,851.852 -> 3,076,851.85
    assert [str(rows[g]["quality_deposit_deduction"]) for g in ("G1", "G2", "G3")] in (
        ["0.00", "1025617.28", "3076851.85"], ["0", "1025617.28", "3076851.85"])
    # settlement 202,500,000 − 184,500,000 − 1,025,617.28 − 320,000 = 16,654,382.72 (良好)
    assert str(rows["G2"]["settlement_amount"]) == "16654382.72"


def test_row_mode_bad_rows_and_keep_going(tmp_path, capsys):
    def spoil(rows):
        rows[0]["assessment_grade"] = "很好"       # row 2: unknown grade
        rows[2]["fund_accounting_amount"] = "1,000.00"  # row 4: thousands separator
    table = _sanya_table(tmp_path, edit=spoil)
    out = tmp_path / "out.csv"
    assert main(["batch", str(SANYA), "--table", str(table), "-o", str(out), "--keep-going"]) == 1
    err = capsys.readouterr().err
    assert "groups.csv:2: column 'assessment_grade' error[bad-fact]" in err
    assert "groups.csv:4: column 'fund_accounting_amount' error[bad-fact]" in err
    assert [r["group"] for r in _read(out)] == ["G2"]


@pytest.mark.parametrize("argv, message", [
    (["--table", "nope.csv"], "no such file"),
    (["--table", "groups.txt"], "unknown table format"),
])
def test_usage_errors_exit_2(tmp_path, capsys, argv, message):
    (tmp_path / "groups.txt").write_text("x\n", encoding="utf-8")
    argv = [a if not a.endswith((".csv", ".txt")) else str(tmp_path / a) for a in argv]
    assert main(["batch", str(SANYA), *argv, "-o", str(tmp_path / "out.csv")]) == 2
    assert message in capsys.readouterr().err


def test_unknown_column_and_invalid_ruleset_exit_2(tmp_path, capsys):
    table = _sanya_table(tmp_path, edit=lambda rows: [r.update(fund_acounting=r.pop("fund_accounting_amount"))
                                                      for r in rows])
    assert main(["batch", str(SANYA), "--table", str(table), "-o", str(tmp_path / "o.csv")]) == 2
    assert "did you mean 'fund_accounting_amount'?" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: 1\nid: [\n", encoding="utf-8")
    assert main(["batch", str(broken), "--table", str(table), "-o", str(tmp_path / "o.csv")]) == 2


def test_the_decimal_path_without_numpy_gives_the_same_file(tmp_path):
    args, folder = _zibo_tables(tmp_path)
    runner = ("import sys\n"
              "if sys.argv[1] == 'none': sys.modules['numpy'] = None\n"
              "from rulesengine.cli import main\n"
              "sys.exit(main(sys.argv[2:]))\n")
    outputs = []
    for mode in ("fast", "none"):
        out = folder / f"{mode}.csv"
        done = subprocess.run([sys.executable, "-c", runner, mode, "batch", str(ZIBO), *args, "-o", str(out),
                               "--collection", "cases"], capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        outputs.append((out.read_bytes(), done.stdout))
        if mode == "none":
            assert "numpy is not installed" in done.stderr
    assert outputs[0] == outputs[1]


def test_traces_one_per_institution(tmp_path, capsys):
    args, folder = _zibo_tables(tmp_path)
    traces = folder / "traces"
    assert main(["batch", str(ZIBO), *args, "-o", str(folder / "out.csv"), "--traces", str(traces)]) == 0
    assert sorted(p.name for p in traces.iterdir()) == ["H001.json", "H002.json", "H003.json"]
    trace = json.loads((traces / "H002.json").read_text(encoding="utf-8"))
    points = next(n for n in trace["nodes"] if n["id"] == "case.points")
    assert [r["key"] for r in points["records"]] == ["C04", "C05", "C06"]


def signal_mid_write(tmp_path: pathlib.Path, sig: int) -> tuple[subprocess.Popen, bytes, pathlib.Path]:
    """Run batch on a generated 300,000-case city and send ``sig`` as soon as the temporary output
    file is being written; (the process, its stderr, OUT)."""
    data = tmp_path / "city"
    subprocess.run([sys.executable, str(GENERATOR), "dip", "--cases", "300000", "-o", str(data)],
                   check=True, capture_output=True)
    out = tmp_path / "cases_out.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "rulesengine", "batch", str(ZIBO), "--table", str(data / "institutions.csv"),
         "--table", str(data / "cases.csv"), "--facts", str(data / "facts.yaml"), "-o", str(out),
         "--collection", "cases"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120  # a guard against a hung run, not a speed assertion
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if any(p.name.startswith(".") and p.stat().st_size > 0 for p in tmp_path.iterdir()):
                os.kill(process.pid, sig)  # the temporary output is being written
                break
            time.sleep(0.005)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return process, err, out


def test_output_is_atomic_when_the_process_is_killed(tmp_path):
    """SIGKILL while the output is being written: OUT must not exist, whole or in part."""
    process, _err, out = signal_mid_write(tmp_path, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-write"
    assert not out.exists()
