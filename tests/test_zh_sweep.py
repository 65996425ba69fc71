"""Under ``--lang zh`` no command says an English sentence (issue 10 item 5, issue 12).

Every command of the CLI (the command table of rulesengine/cli.py) runs with ``--lang zh`` on
good input (the rulesets' examples, tests/fixtures) and on bad input (every case of tests/bad/,
bad facts, a bad table row, a missing file), and ``--help`` of every command. What a person reads
is collected: standard output and error, and the text of the files written for people (HTML
without its script and style, Markdown, every cell of an .xlsx, the header and messages of a CSV).

An *English sentence* is three or more English words in a row. A word is a token of letters
only (an apostrophe inside allowed); these are not words and break a run: anything with a digit,
``_``, ``.``, ``/``, ``-``, ``=`` or other code characters inside (ids such as
``settlement_amount``, file names, codes such as ``bad-fact``, options), a word in capitals
(metavars such as ``RULESET``, ``CSV``, ``UTF``), a camelCase name, the ids of the rulesets and
fixtures (ASCII by design, ``points``, ``cost``) and the formula language's functions, and the
short allow-list :data:`KNOWN`. Chinese breaks a run too.
The source lines quoted under a located error (``  12 | ...``) are the user's own text, not ours.
"""

from __future__ import annotations

import csv
import functools
import html.parser
import pathlib
import re
import shutil
from typing import Iterable

import pytest

from rulesengine import cli
from rulesengine.cli import main
from rulesengine.core.builtins import AGGREGATES, FUNCTIONS
from rulesengine.core.i18n import set_language
from rulesengine.evaluate.driver import load_program
from test_batch import SANYA, ZIBO, _sanya_table, _zibo_tables
from test_batch_output import _with_empty_institution

ROOT = pathlib.Path(__file__).resolve().parent.parent
RULESETS = sorted((ROOT / "rulesets").glob("*.yaml"))
FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("*.yaml"))
BAD = sorted(p for p in (ROOT / "tests" / "bad").glob("*.yaml") if not p.name.startswith("_"))

# Words that are not English sentences of ours, each for a reason:
KNOWN = {
    # the formula language's keywords, in formulas quoted as written ("if rate then x else y")
    "then", "else", "where", "true", "false",
    # the program's name, as in "由 rulesengine 根据规则集生成"
    "rulesengine",
}
CODE = re.compile(r"[\d_./\\=<>@#$%*+|~^&-]")
WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
PUNCTUATION = "\"'“”‘’()[]{}<>,.;:!?…`"
EXCERPT = re.compile(r"^\s*(?:\d+\s*)?\|")  # a quoted source line and its caret line


@functools.lru_cache(maxsize=None)
def ruleset_ids() -> frozenset[str]:
    """The ASCII names of the rulesets and fixtures (declaration ids and their parts, collections,
    enum values, example and test ids) and the formula language's functions: not English words
    wherever they are shown."""
    names = {*FUNCTIONS, *AGGREGATES}
    for path in RULESETS + FIXTURES + sorted((ROOT / "tests" / "bad").glob("_*.yaml")):
        ruleset = load_program(str(path)).ruleset
        for decl_id in ruleset.declarations:
            names.update(decl_id.split("."))
        for entity in ruleset.entities.values():
            names.update((entity.id, entity.collection))
        for enum in ruleset.enums.values():
            names.update(str(v) for v in enum.values or ())
        names.update([*ruleset.examples, *ruleset.tests])
    return frozenset(name.lower() for name in names if name.isascii() and name.isalpha())


def english_sentences(text: str) -> list[str]:
    """The runs of three or more English words in ``text`` (see the module's docstring)."""
    found, ids = [], ruleset_ids()
    for line in text.splitlines():
        if EXCERPT.match(line):
            continue
        run: list[str] = []
        for token in re.split(r"\s+|(?<=[\u3000-\u9fff\uff00-\uffef])|(?=[\u3000-\u9fff\uff00-\uffef])",
                              line) + [""]:
            core = token.strip(PUNCTUATION)
            if (core and WORD.fullmatch(core) and not CODE.search(core) and not core.isupper()
                    and core.lower() not in KNOWN and core.lower() not in ids
                    and not (len(core) > 1 and core[0].islower() and any(c.isupper() for c in core))):
                run.append(core)
                continue
            if len(run) >= 3:
                found.append(" ".join(run))
            run = []
    return found


# --- what people read in the files written ----------------------------------------------------
class _Text(html.parser.HTMLParser):
    """The text of an HTML page (and its placeholder, title and template attributes), without
    its script and style."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        self.parts += [v for k, v in attrs if k in ("placeholder", "title", "data-template", "aria-label") and v]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_text(text: str) -> str:
    parser = _Text()
    parser.feed(text)
    return "\n".join(parser.parts)


def xlsx_text(path: pathlib.Path) -> str:
    import openpyxl

    book = openpyxl.load_workbook(path)
    cells = [sheet.title for sheet in book.worksheets]
    for sheet in book.worksheets:
        cells += [str(c.value) for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    return "\n".join(cells)


def csv_text(path: pathlib.Path) -> str:
    """A CSV's header; of the bad-row report OUT.errors.csv, its messages. (The header of the
    report, file,row,column,code,message, is its documented schema: ids, as the results' header.)"""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    if path.name.endswith(".errors.csv"):
        return "\n".join(row[-1] for row in rows[1:])
    return " ".join(rows[0]) if rows else ""


def written_text(folder: pathlib.Path, prefix: str = "") -> Iterable[tuple[str, str]]:
    """(file, text) of every file under ``folder`` (whose name starts with ``prefix``) that people read."""
    for path in sorted(folder.rglob(f"{prefix}*")):
        if path.suffix == ".html":
            yield path.name, html_text(path.read_text(encoding="utf-8"))
        elif path.suffix in (".md", ".txt"):
            yield path.name, path.read_text(encoding="utf-8")
        elif path.suffix == ".xlsx":
            yield path.name, xlsx_text(path)
        elif path.suffix == ".csv":
            yield path.name, csv_text(path)
        elif path.suffix == ".svg":
            yield path.name, html_text(path.read_text(encoding="utf-8"))


# --- the commands ------------------------------------------------------------------------------
def _folder(path: pathlib.Path) -> pathlib.Path:
    path.mkdir(exist_ok=True)
    return path


def _tables(tmp: pathlib.Path) -> dict[str, list[str]]:
    """Batch inputs: the Zibo tables (collections) and the Sanya table (a row per group)."""
    zibo, _tmp = _zibo_tables(_folder(tmp / "zibo_in"))
    sanya = _sanya_table(_folder(tmp / "sanya_in"))
    bad = _sanya_table(_folder(tmp / "bad_in"), edit=lambda rows: rows[1].update(prepaid_total="12x"))
    # an institution with no cases: its payment ratio divides by zero (the fast path hands it over)
    zero, _tmp = _zibo_tables(_folder(tmp / "zero_in"), edit=_with_empty_institution)
    return {"zibo": zibo, "sanya": ["--table", str(sanya)], "bad": ["--table", str(bad)], "zero": zero}


def good_cases(tmp: pathlib.Path) -> dict[str, list[list[str]]]:
    """Every command on good input (outputs into ``tmp/out``)."""
    out = _folder(tmp / "out")
    sanya, zibo, chongqing = str(SANYA), str(ZIBO), str(ROOT / "rulesets" / "chongqing_2019.yaml")
    tables = _tables(tmp)
    changed = tmp / "sanya_changed.yaml"
    changed.write_text(SANYA.read_text(encoding="utf-8").replace("rate: 5%", "rate: 6%"), encoding="utf-8")
    ledger = str(tmp / "ledger.sqlite3")  # the run with --ledger is run 1; history and rerun read it
    return {
        "validate": [["rulesets"], *[[str(p)] for p in FIXTURES]],
        "run": [[str(p), "--example"] for p in RULESETS]
               + [[sanya, "--example", "--format", "json", "--ledger", ledger]],
        "explain": [[sanya, "settlement_amount", "--example", "--format", f, "-o", str(out / f"sanya.{f}")]
                    for f in ("html", "md")]
                   + [[sanya, "settlement_amount", "--example", "--format", "text"],
                      [chongqing, "member.rebalanced_result", "--example", "--format", "md",
                       "-o", str(out / "chongqing.md")],
                      [zibo, "institution.settlement_amount", "--example", "--format", "html",
                       "-o", str(out / "zibo.html")]],
        "test": [["rulesets"]],
        "coverage": [[str(p)] for p in RULESETS],
        "compare": [[*map(str, RULESETS), "--facts", str(ROOT / "rulesets" / "facts" / "five_regimes.yaml")]],
        "diff": [[sanya, str(changed), "--example"]],
        "graph": [[sanya, "--format", "dot"], [zibo, "--format", "mermaid"]]
                 + ([[sanya, "--format", "html", "--target", "settlement_amount", "-o", str(out / "graph.html")]]
                    if shutil.which("dot") else []),
        "workbook": [[p, "--example", "-o", str(out / f"{pathlib.Path(p).stem}.xlsx")]
                     for p in (sanya, zibo, chongqing)],
        "batch": [[zibo, *tables["zibo"], "-o", str(out / "zibo.xlsx"), "--pack", str(out / "pack")],
                  [zibo, *tables["zibo"], "-o", str(out / "zibo.csv"), "--traces", str(out / "traces")],
                  [sanya, *tables["sanya"], "-o", str(out / "sanya.xlsx"), "--pack", str(out / "sanya_pack")]],
        "template": [[zibo, "--example", "-o", str(out / "输入模板.xlsx")],
                     [sanya, "--example", "--format", "csv", "-o", str(out / "template_csv")]],
        "new": [["weifang", "--from", zibo, "-o", str(out / "weifang")]],
        "history": [["--ledger", ledger], ["show", "1", "--ledger", ledger]],
        "rerun": [["1", "--ledger", ledger]],
    }


def bad_cases(tmp: pathlib.Path) -> dict[str, list[list[str]]]:
    """Every command on bad input: a bad ruleset, bad facts, a bad table row, a missing file."""
    out, missing = _folder(tmp / "bad_out"), str(tmp / "missing.yaml")
    sanya = str(SANYA)
    bad_ruleset = str(ROOT / "tests" / "bad" / "cycle_two.yaml")
    bad_facts = tmp / "bad_facts.yaml"
    bad_facts.write_text("clearing_year: 2024\nbudget: 12x\n", encoding="utf-8")
    tables = _tables(tmp)
    return {
        "validate": [[missing], [bad_ruleset]],  # and every case of tests/bad/: test_bad_cases_say_no_english
        "run": [[sanya, "--facts", str(bad_facts)], [missing, "--example"], [sanya, "--example", "nobody"]],
        "explain": [[sanya, "nothing_here", "--example", "--format", "html", "-o", str(out / "x.html")],
                    [sanya, "settlement_amount", "--facts", str(bad_facts)]],
        "test": [[bad_ruleset], [missing]],
        "coverage": [[bad_ruleset], [missing]],
        "compare": [[sanya, "--facts", missing], [sanya, "--facts", str(bad_facts)]],
        "diff": [[sanya, missing], [sanya, bad_ruleset]],
        "graph": [[sanya, "--target", "nothing_here"], [missing]],
        "workbook": [[sanya, "--example", "-o", str(out / "book.txt")], [sanya, "--facts", str(bad_facts),
                                                                          "-o", str(out / "b.xlsx")]],
        "batch": [[sanya, *tables["bad"], "-o", str(out / "sanya.csv")],
                  [str(ZIBO), *tables["zero"], "-o", str(out / "zero.xlsx"), "--pack", str(out / "zero_pack")],
                  [sanya, *tables["bad"], "-o", str(out / "kept.xlsx"), "--keep-going"],
                  [sanya, "--table", missing, "-o", str(out / "m.csv")],
                  [sanya, *tables["sanya"], "-o", str(out / "o.csv"), "--collection", "nothing"]],
        "template": [[missing, "-o", str(out / "t.xlsx")], [sanya, "-o", sanya], [bad_ruleset, "-o", str(out / "b.xlsx")]],
        "new": [["weifang", "--from", missing, "-o", str(out / "w1")], ["weifang", "--from", sanya, "-o", str(out)]],
        "serve": [[str(tmp / "no_such_folder")]],
        "history": [["--ledger", missing], ["show", "--ledger", missing], ["show", "7", "--ledger", str(bad_facts)]],
        "rerun": [["7", "--ledger", missing], ["1", "--ledger", str(bad_facts)]],
    }


def _said(capsys, args: list[str]) -> tuple[int, str]:
    status = main(["--lang", "zh", *args])
    said = capsys.readouterr()
    return status, said.out + "\n" + said.err


def _sweep(capsys, cases: dict[str, list[list[str]]], folder: pathlib.Path | None) -> list[str]:
    problems = []
    for command, runs in cases.items():
        for args in runs:
            status, text = _said(capsys, [command, *args])
            assert "Traceback" not in text and status != 70, text
            problems += [f"{command} {' '.join(args)}: {s}" for s in english_sentences(text)]
    for name, text in written_text(folder) if folder and folder.exists() else ():
        problems += [f"{name}: {s}" for s in english_sentences(text)]
    return problems


@pytest.fixture(autouse=True)
def english_again():
    yield
    set_language("en")


def test_the_detector():
    assert english_sentences("错误：this value is not valid here") == ["this value is not valid here"]
    assert english_sentences("错误[bad-fact]：事实 'budget'（总额预算）：应为金额") == []
    assert english_sentences("用法：rulesengine batch [-h] --table [NAME=]FILE RULESET") == []
    assert english_sentences("settlement_amount = payable - prepaid_total") == []
    assert english_sentences("   12 | label: this is the user's own text") == []
    assert english_sentences("未计算：所依赖的 a 出错 because it failed") == ["because it failed"]


def test_every_command_has_its_cases(tmp_path):
    """A new command gets good and bad cases here (its --help is swept without them). `serve`
    runs until stopped: its good output is its pages, swept by tests/test_serve_pages.py."""
    assert set(good_cases(tmp_path)) | {"serve"} == set(bad_cases(tmp_path)) == set(cli._COMMANDS)


def test_every_help_is_chinese(capsys):
    problems = []
    for command in [None, *cli._COMMANDS]:
        status, text = _said(capsys, [command, "--help"] if command else ["--help"])
        assert status == 0
        problems += [f"{command} --help: {s}" for s in english_sentences(text)]
    assert not problems, "\n".join(problems)


def test_good_input_says_no_english(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    problems = _sweep(capsys, good_cases(tmp_path), tmp_path / "out")
    assert not problems, "\n".join(problems)


def test_bad_input_says_no_english(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    problems = _sweep(capsys, bad_cases(tmp_path), tmp_path / "bad_out")
    assert not problems, "\n".join(problems)


def test_bad_cases_say_no_english(capsys, monkeypatch):
    """Every case of tests/bad/ (a bad ruleset: validate; bad facts: run) under --lang zh."""
    monkeypatch.chdir(ROOT)
    problems = []
    for path in BAD:
        lines = path.read_bytes().decode("utf-8", "replace").splitlines()
        ruleset = re.fullmatch(r"# ruleset: (\S+)", lines[1]) if len(lines) > 1 else None
        relative = path.relative_to(ROOT).as_posix()
        args = ["run", ruleset.group(1), "--facts", relative] if ruleset else ["validate", relative]
        _status, text = _said(capsys, args)
        problems += [f"{path.name}: {s}" for s in english_sentences(text)]
    assert not problems, "\n".join(problems)


def test_fast_path_reasons_are_for_debugging_only(capsys, tmp_path, monkeypatch):
    """The fixed-point back-end's reasons for handing a rule to the Decimal back-end are
    developer notes in English: shown under RULESENGINE_DEBUG only."""
    args = _tables(tmp_path)["zero"]
    monkeypatch.delenv("RULESENGINE_DEBUG", raising=False)
    _status, text = _said(capsys, ["batch", str(ZIBO), *args, "-o", str(tmp_path / "a.csv")])
    assert "institution.payment_ratio" in text and "(division by zero)" not in text
    monkeypatch.setenv("RULESENGINE_DEBUG", "1")
    _status, text = _said(capsys, ["batch", str(ZIBO), *args, "-o", str(tmp_path / "b.csv")])
    assert "institution.payment_ratio (division by zero)" in text


def _bad_tables(tmp: pathlib.Path) -> list[list[str]]:
    """``batch`` arguments whose tables are bad, one mistake each (rulesets/sanya_2024.yaml, a row
    per group; rulesets/zibo_2025.yaml, institutions and cases)."""
    good = _sanya_table(_folder(tmp / "t"))
    header, *rows = good.read_text(encoding="utf-8").splitlines()
    cases: list[list[str]] = []

    def table(name: str, content: bytes, *extra: str) -> None:
        path = _folder(tmp / f"t{len(cases)}") / name
        path.write_bytes(content)
        cases.append([str(SANYA), "--table", str(path), "-o", str(path.parent / "out.csv"), *extra])

    def edit(column: str, value: str) -> bytes:
        names = header.split(",")
        cells = rows[0].split(",")
        cells[names.index(column)] = value
        return "\n".join([header, ",".join(cells), *rows[1:]]).encode("utf-8")

    table("groups.csv", f"{header},prepaid_total\n{rows[0]},1.00\n".encode())  # a header twice
    table("groups.csv", f"{header}\n{rows[0]},1,2\n".encode())  # a row wider than the header
    table("groups.csv", f"{header},nonsense\n{rows[0]},1\n".encode())  # an unknown column
    table("groups.csv", f"{header},\n{rows[0]},1\n".encode())  # an empty header cell over a value
    table("groups.csv", edit("employee_growth_rate", "8"))  # a bare rate above 1
    table("groups.csv", edit("violation_penalized", "maybe"))  # not a boolean
    table("groups.csv", edit("assessment_grade", "很好"))  # not a grade
    table("groups.csv", edit("prepaid_total", ""))  # a blank cell
    table("groups.csv", edit("prepaid_total", "1e400"))  # out of bounds
    table("groups.csv", header.encode() + "\n".encode() + rows[0].encode("utf-8") + "\n".encode()
          + rows[1].replace("G2", "医院").encode("gbk") + b"\n")  # mixed encodings
    table("groups.csv", good.read_bytes(), "--encoding", "utf-16")  # a declared encoding that does not fit
    table("groups.csv", b"")  # empty
    table("groups.xlsx", b"group,amount\nG1,1\n")  # not a workbook
    table("groups.jsonl", b"[1, 2]\n")  # not objects
    table("groups.jsonl", b'{"group": "G1"\n')  # not JSON
    mapping = _folder(tmp / "map") / "map.yaml"
    mapping.write_text("columns:\n  预付: {field: prepaid_total, unit: 千元}\n", encoding="utf-8")
    table("groups.csv", good.read_bytes().replace(b",prepaid_total,", ",预付,".encode()),
          "--columns", str(mapping))  # a unit it does not know
    return cases


def test_bad_tables_say_no_english(capsys, tmp_path, monkeypatch):
    """Tables in (batch/read.py, columns.py, tables.py): every bad-row and bad-file message."""
    monkeypatch.chdir(tmp_path)
    problems = []
    for args in _bad_tables(tmp_path):
        status, text = _said(capsys, ["batch", *args])
        assert status in (1, 2) and "Traceback" not in text, f"{args}: {text}"
        assert re.search(r"错误\[[a-z-]+\]", text), text  # a located, coded error, in Chinese
        problems += [f"{args[2]}: {s}" for s in english_sentences(text)]
        problems += [f"{name}: {s}" for name, text in written_text(pathlib.Path(args[2]).parent, "out")
                     for s in english_sentences(text)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language, html_lang, words", [
    ([], "zh-CN", ["计算说明", "16,654,382.72 元", "舍入前 1,025,617.284"]),  # the default, whatever the locale
    (["--lang", "zh"], "zh-CN", ["计算说明", "16,654,382.72 元"]),
    (["--lang", "en"], "en", ["Calculation report", "16,654,382.72 yuan", "before rounding 1,025,617.284"]),
])
def test_reports_are_chinese_unless_english_is_asked_for(capsys, tmp_path, language, html_lang, words):
    """Sanya's example (rulesets/sanya_2024.yaml): deduction 10,256,172.84 × 10% = 1,025,617.284
    -> 1,025,617.28; settlement 202,500,000 − 184,500,000 − 1,025,617.28 − 320,000 = 16,654,382.72."""
    page = tmp_path / "report.html"
    assert main([*language, "explain", str(SANYA), "settlement_amount", "--example", "--format", "html",
                 "-o", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert f'<html lang="{html_lang}">' in html and all(w in html for w in words), html_text(html)[:500]
    assert main([*language, "workbook", str(SANYA), "--example", "-o", str(tmp_path / "b.xlsx")]) == 0
    first = xlsx_text(tmp_path / "b.xlsx").splitlines()[0]
    assert first == ("Results" if html_lang == "en" else "计算结果")
    # the messages keep their own language: English here (the tests' locale) unless --lang zh
    main([*language, "explain", str(SANYA), "nothing_here", "--example"])
    err = capsys.readouterr().err
    assert ("错误[" in err) == (language == ["--lang", "zh"])
