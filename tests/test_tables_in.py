"""Tables in (issues 10.3, 11.2/11.4, 12.4): one coercion for facts files and table cells,
encodings, damaged files, headers, column mappings and spreadsheet habits.

Every hostile table is built here in tmp_path; each refusal asserts its code, its location
(file:row:column, or the bad row's file, row and column) and its exit status.
"""

from __future__ import annotations

import csv
import datetime
import json
import pathlib
import zipfile
from decimal import Decimal

import pytest

from rulesengine.cli import main
from rulesengine.load.loader import load_ruleset

ROOT = pathlib.Path(__file__).resolve().parent.parent
ZIBO = ROOT / "rulesets" / "zibo_2025.yaml"
SANYA = ROOT / "rulesets" / "sanya_2024.yaml"


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _zibo(tmp_path: pathlib.Path, edit=None) -> tuple[list[str], dict]:
    """The Zibo example as institutions/cases rows (text) and a facts file; ``edit(tables)``
    may change the rows; returns (--facts args, tables)."""
    facts = dict(load_ruleset(str(ZIBO)).value["examples"]["zibo_2025_city"]["facts"])
    tables = {name: [{k: _text(v) for k, v in row.items()} for row in facts.pop(name)]
              for name in ("institutions", "cases")}
    (tmp_path / "facts.json").write_text(json.dumps({k: v if isinstance(v, bool) else _text(v)
                                                     for k, v in facts.items()}), encoding="utf-8")
    if edit:
        edit(tables)
    return ["--facts", str(tmp_path / "facts.json")], tables


def _csv(path: pathlib.Path, header: list[str], rows: list[list[str]], encoding="utf-8") -> pathlib.Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _write_tables(tmp_path, tables, encoding="utf-8", headers=None) -> list[str]:
    args = []
    for name, rows in tables.items():
        header = list(rows[0])
        shown = (headers or {}).get(name, header)
        _csv(tmp_path / f"{name}.csv", shown, [[r[h] for h in header] for r in rows], encoding)
        args += ["--table", str(tmp_path / f"{name}.csv")]
    return args


def _batch(tmp_path, args, *extra) -> int:
    return main(["batch", str(ZIBO), *args, "-o", str(tmp_path / "out.csv"), *extra])


def _settlements(tmp_path) -> list[str]:
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as handle:
        return [row["settlement_amount"] for row in csv.DictReader(handle)]


# settlement, by hand in the ruleset's tests: H001 100,908.29 − 85,000 − 1,000 − 0 − 12,000 = 2,908.29;
# H002 −242.81; H003 742.31
SETTLED = ["2908.29", "-242.81", "742.31"]


# --- one coercion: the drift case ------------------------------------------------------------
def test_a_count_too_large_is_bad_fact_in_run_and_in_batch(tmp_path, capsys):
    def spoil(tables):
        tables["institutions"][1]["hemodialysis_sessions"] = "10000000000000000000"  # H002, row 3
    facts, tables = _zibo(tmp_path, spoil)
    assert _batch(tmp_path, facts + _write_tables(tmp_path, tables)) == 1  # a bad row: no output
    err = capsys.readouterr().err
    assert "institutions.csv:3: column 'hemodialysis_sessions' error[bad-fact]" in err
    assert "too large for a whole number" in err
    # the same value in a facts file: run refuses it with the same code, exit 2
    document = load_ruleset(str(ZIBO)).value["examples"]["zibo_2025_city"]["facts"]
    document = json.loads(json.dumps(document, default=str))
    document["institutions"][1]["hemodialysis_sessions"] = "10000000000000000000"
    (tmp_path / "all.json").write_text(json.dumps(document), encoding="utf-8")
    assert main(["run", str(ZIBO), "--facts", str(tmp_path / "all.json")]) == 2
    err = capsys.readouterr().err
    assert "error[bad-fact]" in err and "too large for a whole number" in err


# --- encodings -------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding, declared", [
    ("utf-8", None), ("utf-8-sig", None), ("gbk", None), ("gb18030", None), ("utf-16", None),
    ("gbk", "gbk"), ("utf-16-le", "utf-16-le"),
])
def test_encodings_read_the_same(tmp_path, capsys, encoding, declared):
    facts, tables = _zibo(tmp_path)
    args = _write_tables(tmp_path, tables, encoding)
    extra = ["--encoding", declared] if declared else []
    assert _batch(tmp_path, facts + args, *extra) == 0, capsys.readouterr().err
    assert _settlements(tmp_path) == SETTLED


def test_a_gbk_table_with_chinese_headers(tmp_path, capsys):
    """A CSV saved by Chinese Excel: GBK, Chinese labels as headers."""
    group = {"group": "G1"}
    facts = load_ruleset(str(SANYA)).value["examples"]["group_2024"]["facts"]
    program_labels = _sanya_labels()
    group.update({program_labels[k]: _text(v) for k, v in facts.items()})
    path = _csv(tmp_path / "groups.csv", list(group), [list(group.values())], "gbk")
    assert main(["batch", str(SANYA), "--table", str(path), "-o", str(tmp_path / "out.csv")]) == 0, \
        capsys.readouterr().err
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as handle:
        row = next(csv.DictReader(handle))
    # README: 202,500,000 − 184,500,000 − 1,025,617.28 − 320,000 = 16,654,382.72 (良好)
    assert row["settlement_amount"] == "16654382.72"


def _sanya_labels() -> dict:
    from rulesengine.evaluate.driver import load_program
    ruleset = load_program(str(SANYA)).ruleset
    return {name: ruleset.declarations[name].label for name in ruleset.declarations}


def _groups(tmp_path, edit=None) -> tuple[list[str], list[list[str]]]:
    facts = load_ruleset(str(SANYA)).value["examples"]["group_2024"]["facts"]
    header = ["group"] + list(facts)
    rows = [[f"G{i}"] + [_text(v) for v in facts.values()] for i in (1, 2, 3)]
    if edit:
        edit(header, rows)
    return header, rows


def _sanya(tmp_path, *extra) -> int:
    return main(["batch", str(SANYA), "--table", str(tmp_path / "groups.csv"), "-o", str(tmp_path / "out.csv"),
                 *extra])


def test_mixed_encodings_are_a_located_error(tmp_path, capsys):
    header, rows = _groups(tmp_path)
    rows[0][0] = "第一组"  # UTF-8 text on row 2 ...
    path = _csv(tmp_path / "groups.csv", header, rows)
    data = path.read_bytes().replace(b"G2", "第二组".encode("gbk"))  # ... and GBK bytes on row 3
    path.write_bytes(data)
    assert _sanya(tmp_path) == 2
    err = capsys.readouterr().err
    assert f"{path.name}:3:1: error[table-encoding]" in err.replace(str(tmp_path) + "/", "")
    assert "mixes encodings" in err and "--encoding" in err and "Traceback" not in err


def test_a_declared_encoding_that_does_not_fit(tmp_path, capsys):
    header, rows = _groups(tmp_path)
    path = _csv(tmp_path / "groups.csv", header, rows, "gbk")
    assert _sanya(tmp_path, "--encoding", "utf-8") == 2
    err = capsys.readouterr().err
    # row 2, at the grade 良好 (GBK bytes c1 bc ba c3), counted in characters of the line
    column = path.read_text(encoding="gbk").splitlines()[1].index("良好") + 1
    assert f"groups.csv:2:{column}: error[table-encoding]: byte c1 bc ba c3 is not UTF-8 text" in \
        err.replace(str(tmp_path) + "/", "")
    assert _sanya(tmp_path, "--encoding", "klingon") == 2
    assert "no such encoding" in capsys.readouterr().err


# --- damaged and renamed files ------------------------------------------------------------------
def _xlsx(path: pathlib.Path, header, rows) -> pathlib.Path:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize("name, content, code", [
    ("groups.csv", b"", "table-file"),                       # empty
    ("groups.csv", b"\n \n", "table-file"),                  # blank
    ("groups.csv", b"PK\x03\x04 a workbook renamed", "table-file"),  # a renamed workbook
    ("groups.xlsx", b"", "table-file"),
    ("groups.xlsx", b"group,amount\nG1,1\n", "table-file"),  # a CSV named .xlsx
    ("groups.jsonl", b"[1, 2]\n", "table-file"),             # not objects
])
def test_damaged_files_are_located_errors(tmp_path, capsys, name, content, code):
    (tmp_path / name).write_bytes(content)
    status = main(["batch", str(SANYA), "--table", str(tmp_path / name), "-o", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert f"{name}:1:1: error[{code}]" in err and "hint:" in err


def test_a_truncated_workbook(tmp_path, capsys):
    header, rows = _groups(tmp_path)
    whole = _xlsx(tmp_path / "whole.xlsx", header, rows).read_bytes()
    (tmp_path / "groups.xlsx").write_bytes(whole[:len(whole) // 2])
    assert main(["batch", str(SANYA), "--table", str(tmp_path / "groups.xlsx"), "-o", str(tmp_path / "o.csv")]) == 2
    assert "groups.xlsx:1:1: error[table-file]" in capsys.readouterr().err


def test_an_inflating_workbook_is_refused_from_its_zip_directory(tmp_path, capsys, monkeypatch):
    """The limit is read from the zip entries' declared sizes, before anything is inflated."""
    from rulesengine.batch import tables
    header, rows = _groups(tmp_path)
    path = _xlsx(tmp_path / "groups.xlsx", header, rows)
    with zipfile.ZipFile(path) as archive:
        inflated = sum(info.file_size for info in archive.infolist())
    monkeypatch.setattr(tables, "MAX_XLSX_INFLATED", inflated - 1)
    assert main(["batch", str(SANYA), "--table", str(path), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "groups.xlsx:1:1: error[table-too-large]" in err and "CSV" in err
    monkeypatch.setattr(tables, "MAX_XLSX_INFLATED", inflated)  # at the limit: read
    assert main(["batch", str(SANYA), "--table", str(path), "-o", str(tmp_path / "o.csv")]) == 0


# --- headers and shapes ---------------------------------------------------------------------------
def test_a_header_written_twice(tmp_path, capsys):
    def edit(header, rows):
        header.append("prepaid_total")  # column 22 repeats column ...
        for row in rows:
            row.append("1.00")
    header, rows = _groups(tmp_path, edit)
    _csv(tmp_path / "groups.csv", header, rows)
    assert _sanya(tmp_path) == 2
    err = capsys.readouterr().err
    first = header.index("prepaid_total") + 1
    assert f"groups.csv:1:{len(header)}: error[table-header]" in err.replace(str(tmp_path) + "/", "")
    assert f"columns {first} and {len(header)}" in err


def test_an_id_and_its_label_are_one_field(tmp_path, capsys):
    labels = _sanya_labels()

    def edit(header, rows):  # the Chinese label of prepaid_total, as an extra column: money off by millions
        header.append(labels["prepaid_total"])
        for row in rows:
            row.append("999999.00")
    header, rows = _groups(tmp_path, edit)
    _csv(tmp_path / "groups.csv", header, rows)
    assert _sanya(tmp_path) == 2
    err = capsys.readouterr().err.replace(str(tmp_path) + "/", "")
    assert f"groups.csv:1:{len(header)}: error[table-header]" in err
    assert f"both give field '{labels['prepaid_total']} (prepaid_total)'" in err


@pytest.mark.parametrize("extra", [True, False])
def test_rows_wider_or_narrower_than_the_header(tmp_path, capsys, extra):
    header, rows = _groups(tmp_path)
    lines = [",".join(header)] + [",".join(r) for r in rows]
    width = len(header)
    if extra:   # row 3: an unquoted 8,512,345.67 shifts every later column
        lines[2] = lines[2].replace(rows[1][2], "8,512,345.67", 1)
    else:       # row 3: a field short
        lines[2] = lines[2].rsplit(",", 1)[0]
    (tmp_path / "groups.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _sanya(tmp_path) == 2
    err = capsys.readouterr().err.replace(str(tmp_path) + "/", "")
    fields = width + 2 if extra else width - 1
    assert f"groups.csv:3:{min(fields, width) + 1}: error[table-shape]: row 3 has {fields} fields, " \
           f"the header {width}" in err
    assert not (tmp_path / "out.csv").exists()


def test_an_empty_header_cell(tmp_path, capsys):
    def with_values(header, rows):
        header.append("")
        for row in rows:
            row.append("5")
    header, rows = _groups(tmp_path, with_values)
    _csv(tmp_path / "groups.csv", header, rows)
    assert _sanya(tmp_path) == 2
    err = capsys.readouterr().err.replace(str(tmp_path) + "/", "")
    assert f"groups.csv:1:{len(header)}: error[table-header]: column {len(header)} has values" in err

    def empty(header, rows):  # an empty column under an empty header: ignored
        header.append("")
        for row in rows:
            row.append("")
    header, rows = _groups(tmp_path, empty)
    _csv(tmp_path / "groups.csv", header, rows)
    assert _sanya(tmp_path) == 0, capsys.readouterr().err


def test_unknown_and_missing_columns_list_labels_and_ids(tmp_path, capsys):
    facts, tables = _zibo(tmp_path, lambda t: [r.pop("norm_cost") for r in t["cases"]])
    assert _batch(tmp_path, facts + _write_tables(tmp_path, tables)) == 2
    err = capsys.readouterr().err
    assert "cases.csv:1:1: error[table-header]: missing column(s): 同级别定点医疗机构该病种次均医疗总费用 " \
           "(norm_cost)" in err.replace(str(tmp_path) + "/", "")

    facts, tables = _zibo(tmp_path, lambda t: [r.update(nrm=r.pop("norm_cost")) for r in t["cases"]])
    assert _batch(tmp_path, facts + _write_tables(tmp_path, tables)) == 2
    err = capsys.readouterr().err
    assert "error[table-header]: unknown column(s): 'nrm'" in err
    assert "(cost)" in err and "(id)" not in err.split("hint:")[0]


# --- the bureau's own columns and Excel habits ------------------------------------------------------
def test_a_column_mapping_with_units_and_value_maps(tmp_path, capsys):
    """A platform export: its own column names, amounts of institutions in 万元, Y/N."""
    def edit(tables):
        for row in tables["cases"]:
            row["grassroots_disease"] = "Y" if row["grassroots_disease"] == "true" else "N"
        for row in tables["institutions"]:
            # 85,000.00 yuan is 8.5 万元
            row["monthly_settled_total"] = f"{Decimal(row['monthly_settled_total']).scaleb(-4):f}"
    facts, tables = _zibo(tmp_path, edit)
    (tmp_path / "map.yaml").write_text(
        "columns:\n"
        "  fixmedins_code: code\n"
        "  setl_id: id\n"
        "  medfee_sumamt: {field: cost, unit: 元}\n"
        "  jj_total_wan: {field: monthly_settled_total, unit: 万元}\n"
        "  is_grassroots: {field: grassroots_disease, values: {Y: 是, N: 否}}\n", encoding="utf-8")
    names = {"code": "fixmedins_code", "id": "setl_id", "cost": "medfee_sumamt",
             "monthly_settled_total": "jj_total_wan", "grassroots_disease": "is_grassroots"}
    headers = {name: [names.get(h, h) for h in rows[0]] for name, rows in tables.items()}
    args = _write_tables(tmp_path, tables, headers=headers)
    assert _batch(tmp_path, facts + args, "--columns", str(tmp_path / "map.yaml")) == 0, capsys.readouterr().err
    assert _settlements(tmp_path) == SETTLED


def test_a_mapping_unit_that_does_not_fit(tmp_path, capsys):
    facts, tables = _zibo(tmp_path)
    (tmp_path / "map.yaml").write_text("columns:\n  cost: {field: cost, unit: '%'}\n", encoding="utf-8")
    assert _batch(tmp_path, facts + _write_tables(tmp_path, tables), "--columns", str(tmp_path / "map.yaml")) == 2
    err = capsys.readouterr().err.replace(str(tmp_path) + "/", "")
    column = list(tables["cases"][0]).index("cost") + 1
    assert f"cases.csv:1:{column}: error[table-header]: column 'cost': the unit % does not fit" in err
    (tmp_path / "map.yaml").write_text("columns:\n  cost: {field: cost, unit: 千元}\n", encoding="utf-8")
    assert _batch(tmp_path, facts + _write_tables(tmp_path, tables), "--columns", str(tmp_path / "map.yaml")) == 2
    assert "map.yaml:2:" in capsys.readouterr().err


def test_yes_no_and_percent_rates(tmp_path, capsys):
    def edit(tables):
        for row in tables["cases"]:
            row["grassroots_disease"] = "是" if row["grassroots_disease"] == "true" else "否"
        for row in tables["institutions"]:  # credit_rate is written 95%: the fraction 0.95 reads the same
            row["credit_rate"] = f"{Decimal(row['credit_rate'].rstrip('%')).scaleb(-2):f}" \
                if row["credit_rate"].endswith("%") else row["credit_rate"]
    facts, tables = _zibo(tmp_path, edit)
    assert _batch(tmp_path, facts + _write_tables(tmp_path, tables)) == 0, capsys.readouterr().err
    assert _settlements(tmp_path) == SETTLED


def test_a_bare_rate_above_one_is_refused_with_a_hint(tmp_path, capsys):
    def edit(tables):
        tables["institutions"][0]["credit_rate"] = "100"  # H001, row 2: meant 100%
    facts, tables = _zibo(tmp_path, edit)
    assert _batch(tmp_path, facts + _write_tables(tmp_path, tables)) == 1
    err = capsys.readouterr().err
    assert "institutions.csv:2: column 'credit_rate' error[bad-fact]" in err
    assert "write 100% if it means 100 percent" in err
    (tmp_path / "map.yaml").write_text("columns:\n  credit_rate: {field: credit_rate, unit: '%'}\n",
                                       encoding="utf-8")  # the unit % declared: a bare 100 is 100%
    assert _batch(tmp_path, facts + _write_tables(tmp_path, tables), "--columns", str(tmp_path / "map.yaml")) == 0
    assert _settlements(tmp_path) == SETTLED


def test_a_blank_cell_is_missing(tmp_path, capsys):
    def edit(tables):
        tables["cases"][2]["cost"] = "   "  # C03, row 4
    facts, tables = _zibo(tmp_path, edit)
    assert _batch(tmp_path, facts + _write_tables(tmp_path, tables)) == 1
    assert "cases.csv:4: column 'cost' error[missing-fact]" in capsys.readouterr().err


def test_excel_cells_are_typed_from_the_text_they_show(tmp_path, capsys):
    """Numbers and dates as Excel holds them; 是/否 as text."""
    header, rows = _groups(tmp_path)
    typed = []
    for row in rows:
        cells = []
        for name, value in zip(header, row):
            if value in ("true", "false"):
                cells.append("是" if value == "true" else "否")
            elif name != "group" and value.replace(".", "", 1).replace("-", "", 1).isdigit():
                cells.append(float(value) if "." in value else int(value))
            elif len(value) == 10 and value[4] == value[7] == "-":  # a date cell
                cells.append(datetime.date.fromisoformat(value))
            else:
                cells.append(value)
        typed.append(cells)
    _xlsx(tmp_path / "groups.xlsx", header, typed)
    assert main(["batch", str(SANYA), "--table", str(tmp_path / "groups.xlsx"), "-o", str(tmp_path / "out.csv")]) == 0
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as handle:
        assert [r["settlement_amount"] for r in csv.DictReader(handle)][1] == "16654382.72"


# --- more hostile input: huge fields, deep JSON, UTF-16 without BOM, Parquet ---------------------
def test_a_huge_field_is_a_bad_row_not_a_crash(tmp_path, capsys):
    def edit(tables):
        tables["cases"][2]["cost"] = "9" * 200_000  # C03, row 4: far beyond csv's 131,072 limit
    facts, tables = _zibo(tmp_path, edit)
    assert _batch(tmp_path, facts + _write_tables(tmp_path, tables)) == 1
    err = capsys.readouterr().err
    assert "cases.csv:4: column 'cost' error[bad-fact]" in err and "200,000 characters long" in err
    assert len(err) < 5_000  # the value is cut in the message


def test_deeply_nested_json_lines(tmp_path, capsys):
    header, rows = _groups(tmp_path)
    lines = [json.dumps(dict(zip(header, row))) for row in rows]
    lines[1] = "[" * 100_000 + "]" * 100_000  # line 2
    (tmp_path / "groups.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    status = main(["batch", str(SANYA), "--table", str(tmp_path / "groups.jsonl"), "-o", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert status == 1 and "groups.jsonl:2: error[bad-fact]: not a JSON object" in err


def test_utf16_without_bom(tmp_path, capsys):
    header, rows = _groups(tmp_path)
    path = _csv(tmp_path / "groups.csv", header, rows, "utf-16-le")
    assert _sanya(tmp_path) == 2
    err = capsys.readouterr().err.replace(str(tmp_path) + "/", "")
    assert "groups.csv:1:2: error[table-encoding]" in err and "--encoding utf-16-le" in err
    assert _sanya(tmp_path, "--encoding", "utf-16-le") == 0, path


def test_parquet_tables(tmp_path, capsys):
    """Typed Parquet columns (int64, decimal128, bool, string) read as the text they hold."""
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa
    facts, tables = _zibo(tmp_path)
    args = []
    for name, rows in tables.items():
        columns = {}
        for field in rows[0]:
            values = [r[field] for r in rows]
            if all(v in ("true", "false") for v in values):
                columns[field] = pa.array([v == "true" for v in values])
            elif all(v.replace(".", "", 1).isdigit() and "." in v for v in values):
                columns[field] = pa.array([Decimal(v) for v in values], pa.decimal128(20, 2))
            else:
                columns[field] = pa.array(values)
        pq.write_table(pa.table(columns), tmp_path / f"{name}.parquet")
        args += ["--table", str(tmp_path / f"{name}.parquet")]
    assert _batch(tmp_path, facts + args) == 0, capsys.readouterr().err
    assert _settlements(tmp_path) == SETTLED
    (tmp_path / "cases.parquet").write_bytes((tmp_path / "cases.parquet").read_bytes()[:100])
    assert _batch(tmp_path, facts + args) == 2
    assert "cases.parquet:1:1: error[table-file]" in capsys.readouterr().err


def test_a_huge_header_and_a_nested_json_value(tmp_path, capsys):
    header, rows = _groups(tmp_path)
    _csv(tmp_path / "groups.csv", ["x" * 200_000] + header[1:], rows)
    assert _sanya(tmp_path) == 2
    assert "groups.csv:1:1: error[table-header]" in capsys.readouterr().err.replace(str(tmp_path) + "/", "")
    lines = [json.dumps(dict(zip(header, row))) for row in rows]
    lines[2] = lines[2].replace('"G3"', '["G3"]')  # line 3: a list where a code belongs
    (tmp_path / "groups.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    status = main(["batch", str(SANYA), "--table", str(tmp_path / "groups.jsonl"), "-o", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert status == 1 and "groups.jsonl:3: error[bad-fact]: field 'group' holds a list" in err


def test_the_shipped_national_platform_mapping(tmp_path, capsys):
    """A platform export: its own names, one name for two fields, 1/0 flags, extra columns ignored."""
    names = {"code": "fixmedins_code", "institution": "fixmedins_code", "id": "setl_id", "cost": "medfee_sumamt",
             "fund_accounting_amount": "hifp_pay", "disease_average_cost": "dise_avg_fee",
             "norm_cost": "std_fee", "grassroots_disease": "grs_dise_flag"}

    def edit(tables):
        for row in tables["cases"]:
            row["grassroots_disease"] = "1" if row["grassroots_disease"] == "true" else "0"
            row["psn_name"] = "张三"       # columns no field needs
            row["grp_dise_sco"] = "1234.5"
    facts, tables = _zibo(tmp_path, edit)
    headers = {name: [names.get(h, h) for h in rows[0]] for name, rows in tables.items()}
    args = _write_tables(tmp_path, tables, headers=headers)
    mapping = ROOT / "rulesets" / "mappings" / "national_platform.yaml"
    assert _batch(tmp_path, facts + args, "--columns", str(mapping)) == 0, capsys.readouterr().err
    assert _settlements(tmp_path) == SETTLED


def test_json_lines_in_gbk(tmp_path, capsys):
    header, rows = _groups(tmp_path)
    lines = [json.dumps(dict(zip(header, row)), ensure_ascii=False) for row in rows]
    (tmp_path / "groups.jsonl").write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    out = tmp_path / "o.csv"
    assert main(["batch", str(SANYA), "--table", str(tmp_path / "groups.jsonl"), "-o", str(out)]) == 0, \
        capsys.readouterr().err
    with open(out, encoding="utf-8-sig", newline="") as handle:
        # 良好: 202,500,000 − 184,500,000 − 1,025,617.28 − 320,000 = 16,654,382.72
        assert [r["settlement_amount"] for r in csv.DictReader(handle)][1] == "16654382.72"


def test_row_mode_reads_through_the_mapping_too(tmp_path, capsys):
    """Sanya row-wise: 预付总额(万元) 18450 is 184,500,000.00 yuan; a growth rate typed 8 under the unit % is 8%."""
    def edit(header, rows):
        header[header.index("prepaid_total")] = "预付总额(万元)"
        header[header.index("employee_growth_rate")] = "职工增长率"
        for row in rows:
            row[header.index("预付总额(万元)")] = "18450"
            row[header.index("职工增长率")] = "8"
    header, rows = _groups(tmp_path, edit)
    _csv(tmp_path / "groups.csv", header, rows)
    (tmp_path / "map.yaml").write_text("columns:\n  预付总额(万元): {field: prepaid_total, unit: 万元}\n"
                                       "  职工增长率: {field: employee_growth_rate, unit: '%'}\n", encoding="utf-8")
    assert _sanya(tmp_path, "--columns", str(tmp_path / "map.yaml")) == 0, capsys.readouterr().err
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as handle:
        # 良好: 202,500,000 − 184,500,000 − 1,025,617.28 − 320,000 = 16,654,382.72
        assert [r["settlement_amount"] for r in csv.DictReader(handle)][1] == "16654382.72"
