"""``rulesengine batch ... --pack DIR``: a 清算明细 (.xlsx) and a 清算说明 (.html) per record, and an index.

The inputs are the rulesets' own examples written out as tables (tests/test_batch.py does the
same for Zibo and Sanya); expected values are worked out by hand from the rulesets' formulas.
"""

from __future__ import annotations

import csv
import json
import pathlib
import re
import subprocess
import sys
from decimal import Decimal

import pytest

from rulesengine.batch import pack as pack_module
from rulesengine.batch.pack import INDEX, file_stem
from rulesengine.cli import main
from rulesengine.evaluate.driver import load_program
from rulesengine.load.loader import load_ruleset
from test_batch import ZIBO, _sanya_table, _text, _zibo_tables
from test_render import chromium, needs_chromium

ROOT = pathlib.Path(__file__).resolve().parent.parent
SANYA = ROOT / "rulesets" / "sanya_2024.yaml"
GENERATOR = ROOT / "tools" / "gen_city_year.py"
# anything that would make a page fetch something: an external src/href, a stylesheet link,
# a CSS import or url()
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|<link\b|@import|url\s*\(""", re.I)


def _pack(tmp_path, capsys, ruleset=ZIBO, args=None, extra=()) -> pathlib.Path:
    if args is None:
        args, _ = _zibo_tables(tmp_path)
    folder = tmp_path / "pack"
    status = main(["batch", str(ruleset), *args, "-o", str(tmp_path / "out.csv"), "--pack", str(folder), *extra])
    assert status == 0, capsys.readouterr().err
    return folder


def _page(folder: pathlib.Path, key: str, suffix: str = ".html") -> pathlib.Path:
    return folder / f"{file_stem(key)}{suffix}"


def test_one_workbook_and_one_page_per_institution(tmp_path, capsys):
    folder = _pack(tmp_path, capsys)
    keys = ["H001", "H002", "H003"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [INDEX] + [file_stem(k) + s for k in keys for s in (".html", ".xlsx")])
    for key in keys:  # each page is about its record, and shows no other record's data
        html = _page(folder, key).read_text(encoding="utf-8")
        assert f"<td>{key}</td>" in html and f"<title>DIP定点医疗机构 {key} — " in html
        others = {"H001": "C01", "H002": "C04", "H003": "C07"}
        assert not [k for k in keys if k != key and k in html]
        assert not [c for k, c in others.items() if k != key and c in html]


def test_a_page_explains_its_settlement(tmp_path, capsys):
    """H002 by hand (rulesets/zibo_2025.yaml, tests dip_points_and_point_value, annual_clearing):
    points C04 1300 × 0.92 = 1196, C05 2300 × 0.92 = 2116, C06 2300 × 0.92 × 0.4 = 846.4; Σ 4158.4
    point value = 144,000 / 0.75 / 17,555.9 = 10.9365 (4 places)
    DIP payable = 4158.4 × 10.9365 × 28,000/40,000 = 45,478.3416 × 0.70 = 31,834.83912 -> 31,834.84
    surplus 31,834.84 − 28,000.00 = 3,834.84; retained × 80% = 3,067.872 -> 3,067.87
    annual = 28,000.00 + 3,067.87 = 31,067.87; deposit × 5% = 1,553.3935 -> 1,553.39
    deduction 1,553.39 × 20% = 310.678 -> 310.68; advance 48,000 / 12 × 1 × 100% = 4,000.00
    settlement = 31,067.87 − 27,000.00 − 0.00 − 310.68 − 4,000.00 = −242.81
    """
    folder = _pack(tmp_path, capsys)
    html = _page(folder, "H002").read_text(encoding="utf-8")
    card = re.search(r'<div class="card" data-id="institution.settlement_amount">.*?</div></div>', html,
                     re.S).group(0)
    assert "-242.81 元" in card
    assert "= 31,067.87 - 27,000.00 - 0.00 - 310.68 - 4,000.00" in card  # the values substituted
    assert "三(四)3" in card  # the clause
    assert "舍入前 310.678" in html  # rounding of the deposit deduction
    assert "舍入前 3,067.872" in html
    assert "10.9365" in html  # the city-wide point value it depends on
    assert "4158.4" in html and "846.4" in html  # its own points and its cases'
    book = pytest.importorskip("openpyxl").load_workbook(_page(folder, "H002", ".xlsx"))
    rows = {row[1]: row for row in book["计算结果"].iter_rows(values_only=True) if row[1]}
    assert Decimal(str(rows["institution.settlement_amount"][3])) == Decimal("-242.81")
    assert Decimal(str(rows["point_value"][3])) == Decimal("10.9365")
    cases = [row[0] for row in book["DIP结算病例"].iter_rows(min_row=4, values_only=True)]
    assert cases == ["C04", "C05", "C06"]


def test_the_index_lists_every_record(tmp_path, capsys):
    folder = _pack(tmp_path, capsys)
    index = (folder / INDEX).read_text(encoding="utf-8")
    # settlements by hand (annual_clearing): H001 100,908.29 − 85,000 − 1,000 − 0 − 12,000 = 2,908.29;
    # H002 −242.81 (above); H003 17,529.96 − 15,500 − 200 − 87.65 − 1,000 = 742.31
    for key, settlement in (("H001", "2,908.29 元"), ("H002", "-242.81 元"), ("H003", "742.31 元")):
        row = re.search(rf'<tr data-search="{key.lower()} .*?</tr>', index).group(0)
        assert f"<th>{key}</th>" in row and settlement in row
        assert f'href="{file_stem(key)}.html"' in row and f'href="{file_stem(key)}.xlsx"' in row
    assert "结算点值（元/分）" in index and "10.9365" in index  # the values every record depends on


def test_pages_are_self_contained(tmp_path, capsys):
    folder = _pack(tmp_path, capsys)
    pages = sorted(folder.glob("*.html"))
    assert len(pages) == 4
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert not EXTERNAL.search(html), page.name
        assert "default-src 'none'" in html  # and the browser is told to fetch nothing


def test_keys_that_sanitize_alike_get_their_own_files(tmp_path, capsys):
    assert file_stem("G/1") != file_stem("G_1") and file_stem("G/1").startswith("G_1-")
    assert file_stem("G/1") == file_stem("G/1")  # stable: a hash, not a counter
    assert file_stem("../etc") .startswith("_etc-") and "/" not in file_stem("a/b\\c:d")

    def rename(rows):  # and a key given twice: row mode allows it, each row gets its files
        rows[0]["group"], rows[1]["group"], rows[2]["group"] = "G/1", "G_1", "G_1"
    table = _sanya_table(tmp_path, edit=rename)
    folder = _pack(tmp_path, capsys, SANYA, ["--table", str(table)])
    assert sorted(p.name for p in folder.glob("*.xlsx")) == sorted(
        [file_stem("G/1") + ".xlsx", file_stem("G_1") + ".xlsx", file_stem("G_1") + "-2.xlsx"])
    assert len(list(folder.glob("*.html"))) == 4
    first = _page(folder, "G/1").read_text(encoding="utf-8")
    second = _page(folder, "G_1").read_text(encoding="utf-8")
    assert "<td>G/1</td>" in first and "<td>G_1</td>" in second
    # G_1 is graded 良好 (README): deduction 10,256,172.84 × 10% = 1,025,617.28;
    # settlement 202,500,000 − 184,500,000 − 1,025,617.28 − 320,000 = 16,654,382.72
    assert "16,654,382.72 元" in second
    assert "= 202,500,000.00 - 184,500,000.00 - 1,025,617.28 - 320,000.00" in second


def test_failed_checks_are_on_the_page_and_in_the_index(tmp_path, capsys):
    """C01 cost 60,000 against its level's 10,000: ratio 6 > 5, the extreme-cost review fails (a
    warning, so the run still succeeds) for H001 and no other institution."""
    def spoil(name, rows):
        if name == "cases":
            rows[0]["cost"] = "60000.00"
    args, _ = _zibo_tables(tmp_path, edit=spoil)
    folder = _pack(tmp_path, capsys, args=args)
    index = (folder / INDEX).read_text(encoding="utf-8")
    rows = {key: re.search(rf'<tr[^>]*data-search="{key.lower()} .*?</tr>', index).group(0)
            for key in ("H001", "H002")}
    assert "极端异常病例需特例单议" in rows["H001"] and "极端异常病例需特例单议" not in rows["H002"]
    html = _page(folder, "H001").read_text(encoding="utf-8")
    assert re.search(r'<div class="card warn" data-id="case.extreme_cost_review">', html)
    assert "检查 3 条记录，1 条未通过" in html


def test_cases_as_the_pack_collection(tmp_path, capsys):
    """--collection cases: a page per case, with its institution; C03 points by hand:
    4500 × 1.05 × ((100,000 / 40,000 − 2) + 1 = 1.5) = 7087.5."""
    folder = _pack(tmp_path, capsys, extra=["--collection", "cases"])
    assert len(list(folder.glob("*.html"))) == 9  # 8 cases and the index
    html = _page(folder, "C03").read_text(encoding="utf-8")
    assert "<td>C03</td>" in html and "7087.5" in html and "H001" in html
    assert "C01" not in html  # another case of the same institution
    index = (folder / INDEX).read_text(encoding="utf-8")
    assert re.search(r'<tr data-search="c03 h001 .*?</tr>', index)


def _tables_of_example(tmp_path: pathlib.Path, ruleset_path: pathlib.Path, edit=None) -> list[str]:
    """An example's collections as CSV tables (nested records flattened, naming their parent)
    and its other facts as JSON: the arguments of ``batch``; ``edit(tables)`` may change the rows."""
    ruleset = load_program(str(ruleset_path)).ruleset
    facts = dict(next(iter(load_ruleset(str(ruleset_path)).value["examples"].values()))["facts"])
    collections = ruleset.collections
    tables: dict[str, list[dict]] = {}

    def collect(name: str, records: list, parent: tuple | None) -> None:
        entity = collections[name]
        for record in records:
            row = {}
            for field, value in record.items():
                if field in collections:
                    collect(field, value, (entity.id, record[entity.key]))
                else:
                    row[field] = _text(value)
            if parent is not None:
                row.setdefault(parent[0], parent[1])
            tables.setdefault(name, []).append(row)
    for name in list(facts):
        if name in collections:
            collect(name, facts.pop(name), None)
    if edit:
        edit(tables)
    args = []
    for name, rows in tables.items():
        header = sorted({field for row in rows for field in row})
        path = tmp_path / f"{name}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([row.get(field, "") for field in header] for row in rows)
        args += ["--table", str(path)]
    (tmp_path / "facts.json").write_text(json.dumps({k: v if isinstance(v, bool) else _text(v)
                                                     for k, v in facts.items()}), encoding="utf-8")
    return args + ["--facts", str(tmp_path / "facts.json")]


@pytest.mark.parametrize("name", ["chongqing_2019", "xinxiang_county_community", "zibo_2025"])
def test_every_collection_ruleset_packs_what_batch_computes(tmp_path, capsys, name):
    """Property: each output row's page and the index show that row's key and its money results
    exactly as the results table has them."""
    path = ROOT / "rulesets" / f"{name}.yaml"
    args = _tables_of_example(tmp_path, path)
    status = main(["batch", str(path), *args, "-o", str(tmp_path / "out.csv"), "--pack", str(tmp_path / "pack")])
    capsys.readouterr()
    assert status in (0, 1)  # an example may fail a check on purpose; the pack is written anyway
    with open(tmp_path / "out.csv", encoding="utf-8-sig") as handle:  # CSV out has a BOM for Excel
        rows = list(csv.DictReader(handle))
    index = (tmp_path / "pack" / INDEX).read_text(encoding="utf-8")
    key = next(iter(rows[0]))
    for row in rows:
        html = _page(tmp_path / "pack", row[key]).read_text(encoding="utf-8")
        assert _page(tmp_path / "pack", row[key], ".xlsx").stat().st_size > 0
        assert f"<th>{row[key]}</th>" in index and f"<td>{row[key]}</td>" in html
        money = [c for c in ("settlement_amount", "rebalancing_change", "unpaid_amount") if row.get(c)]
        assert money  # every ruleset has one of them
        for column in money:
            assert f"{Decimal(row[column]):,f} 元" in html


def test_a_record_failing_its_own_check(tmp_path, capsys):
    """Chongqing: member H50015200058 also filed in community 500152YGT02 has
    distinct(filed_community_code) = 2 > 1: its filed_in_one_community check fails (2 against 1,
    difference +1), and no other member's does."""
    def refile(tables):
        tables["filings"].append({"filing_no": "TNBA2019099", "filed_community_code": "500152YGT02",
                                  "member": "H50015200058"})
    path = ROOT / "rulesets" / "chongqing_2019.yaml"
    args = _tables_of_example(tmp_path, path, refile)
    folder = tmp_path / "pack"
    assert main(["batch", str(path), *args, "-o", str(tmp_path / "out.csv"), "--pack", str(folder)]) == 1
    capsys.readouterr()
    html = _page(folder, "H50015200058").read_text(encoding="utf-8")
    card = re.search(r'<div class="card fail" data-id="member.filed_in_one_community">.*?</div></div>',
                     html, re.S).group(0)
    assert "同一家医共体成员单位只能备案在1个医共体下执行医共体总额控制。" in card
    row = re.search(r'<tr class="fail" data-id="member.filed_in_one_community".*?</tr>', html, re.S).group(0)
    assert '<td class="num">2</td><td class="num">1</td><td class="num diff">+1</td>' in row
    other = _page(folder, "H50015200011").read_text(encoding="utf-8")
    assert 'data-id="member.filed_in_one_community"' in other
    assert '<div class="card fail" data-id="member.filed_in_one_community">' not in other
    index = (folder / INDEX).read_text(encoding="utf-8")
    rows = re.findall(r"<tr[^>]*data-search=.*?</tr>", index)
    failing = [r for r in rows if "成员单位只备案在1个医共体" in r]
    assert len(rows) == 5 and len(failing) == 1 and "<th>H50015200058</th>" in failing[0]


def test_an_interrupted_pack_leaves_no_half_file_and_no_index(tmp_path, capsys, monkeypatch):
    folder = _pack(tmp_path, capsys)  # a complete pack from an earlier run
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    calls = []
    real = pack_module.render_html

    def interrupted(program, evaluation):  # Ctrl-C while the second page is being written
        calls.append(evaluation.scope)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(program, evaluation)
    monkeypatch.setattr(pack_module, "render_html", interrupted)
    args, _ = _zibo_tables(tmp_path)
    assert main(["batch", str(ZIBO), *args, "-o", str(tmp_path / "out.csv"), "--pack", str(folder)]) == 130
    names = {p.name for p in folder.iterdir()}
    assert INDEX not in names  # no index claims a complete pack
    assert not [n for n in names if n.startswith(".")]  # no temporary file left behind
    openpyxl = pytest.importorskip("openpyxl")
    for path in folder.iterdir():  # every file there is whole
        if path.suffix == ".xlsx":
            openpyxl.load_workbook(path)
        else:
            assert path.read_text(encoding="utf-8").endswith("</html>\n")
    assert set(before) - {INDEX} == names


@needs_chromium
def test_a_city_of_200_institutions_renders_in_chromium(tmp_path, capsys):
    data = tmp_path / "city"
    subprocess.run([sys.executable, str(GENERATOR), "dip", "--institutions", "200", "--cases", "600",
                    "-o", str(data)], check=True, capture_output=True)
    args = ["--table", str(data / "institutions.csv"), "--table", str(data / "cases.csv"),
            "--facts", str(data / "facts.yaml")]
    folder = _pack(tmp_path, capsys, args=args)
    with open(tmp_path / "out.csv", encoding="utf-8-sig") as handle:  # CSV out has a BOM for Excel
        rows = {row["code"]: row for row in csv.DictReader(handle)}
    assert len(rows) == 200 and len(list(folder.glob("*.html"))) == 201 and len(list(folder.glob("*.xlsx"))) == 200
    index = chromium("--dump-dom", (folder / INDEX).as_uri(), profile=tmp_path / "profile")
    assert index.returncode == 0, index.stderr[-2000:]
    assert len(re.findall(r'<tr[^>]* data-search="h0', index.stdout)) == 200
    for key in ("H0001", "H0200"):
        done = chromium("--dump-dom", _page(folder, key).as_uri(), profile=tmp_path / "profile")
        dom = done.stdout
        assert done.returncode == 0 and "<body>" in dom, done.stderr[-2000:]
        card = re.search(r'<div class="card[^"]*" data-id="institution.settlement_amount">.*?</div></div>',
                         dom, re.S).group(0)
        assert f"{Decimal(rows[key]['settlement_amount']):,f} 元" in card
        assert "三(四)3" in card  # its clause
        assert f"<td>{key}</td>" in dom
        assert '<section id="trace">' in dom and "结算点值（元/分）" in dom
