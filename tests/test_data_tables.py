"""Tables supplied as data (``rows: facts``) and open parameters with a default.

Fixture tests/fixtures/dip_catalogue.yaml: ``catalogue_score[dip_code, insurance_type]`` and
``level_coefficient[level]`` come with the facts; ``adjustment_rate`` is open with default 0%.
Its own tests hold the hand-worked values (run here with ``rulesengine test``; tests/test_fastpath.py
compares the two back-ends on them); here also: a generated 10,000-row catalogue on both back-ends, located
errors for bad rows and for a key with no row, type errors of a look-up, and where a
parameter's value came from.
"""

from __future__ import annotations

import copy
import csv
import pathlib
from decimal import Decimal as D

import pytest

from conftest import METADATA
from rulesengine.cli import main
from rulesengine.check.model import FactSet
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts, example_facts
from rulesengine.evaluate.fixedpoint import FastProgram, table_from_records
from rulesengine.views.report import run_json

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "dip_catalogue.yaml"


@pytest.fixture(scope="module")
def program():
    return load_program(str(FIXTURE))


def _raw(program) -> dict:
    return copy.deepcopy(example_facts(program.ruleset, "city").values)


def _bind(program, raw: dict) -> dict:
    return bind_facts(program.ruleset, FactSet(raw, lambda path: None, lambda path: None))


def test_the_fixture_s_own_hand_worked_tests_pass(capsys):
    assert main(["test", str(FIXTURE)]) == 0, capsys.readouterr()
    assert "2 passed, 0 failed" in capsys.readouterr().out


def _catalogue(groups: int) -> tuple[list[dict], dict]:
    """2 × ``groups`` rows: D00000..D{groups-1} × 职工/居民; the score has four places and differs
    per row: (i mod 997) + 1 + j/10000 for 职工 (j = i mod 9973) and that + 0.5 for 居民."""
    rows, scores = [], {}
    for i in range(groups):
        base = D(i % 997 + 1) + D(i % 9973).scaleb(-4)
        for kind, score in (("职工", base), ("居民", base + D("0.5"))):
            rows.append({"dip_code": f"D{i:05d}", "insurance_type": kind, "value": str(score)})
            scores[(f"D{i:05d}", kind)] = score
    return rows, scores


def test_a_10000_row_catalogue_gives_each_case_its_row_on_both_back_ends(program):
    rows, scores = _catalogue(5_000)
    assert len(rows) == 10_000
    raw = _raw(program)
    raw["catalogue_score"] = rows
    raw["institutions"] = [{"code": f"H{h:03d}", "level": "三级" if h % 2 else "二级"} for h in range(40)]
    raw["cases"] = [{"id": f"C{c:06d}", "institution": f"H{c % 40:03d}", "dip_code": f"D{(c * 7919) % 5000:05d}",
                     "insurance_type": "居民" if c % 3 else "职工"} for c in range(4_000)]
    facts = _bind(program, raw)
    decimal_path = program.evaluate(facts)
    fast = FastProgram(program).evaluate(facts)
    assert not decimal_path.errors and not fast.errors
    assert run_json(program, fast) == run_json(program, decimal_path)
    # ... and the fixed-point back-end computed every look-up itself (no rule sent to the Decimal path)
    tables = {name: table_from_records(program.ruleset, facts[name]) for name in ("institutions", "cases")}
    scalars = {name: facts[name] for name in ("dip_budget", "catalogue_score", "level_coefficient")}
    assert FastProgram(program).run(tables, scalars).fallbacks == {}
    # each case's score is its own row of the catalogue (the property a look-up must have)
    for case, score in zip(raw["cases"], decimal_path.values["case.score"]):
        assert score == scores[(case["dip_code"], case["insurance_type"])]
    # with the default adjustment 0%, Σ payable = point value × total points, to the fen per institution
    total = decimal_path.values["city_total_points"]
    assert abs(decimal_path.values["payable_total"] - decimal_path.values["point_value"] * total) <= D("0.005") * 40


@pytest.mark.parametrize("backend", ["decimal", "fixed"])
def test_a_key_with_no_row_names_the_key_and_the_record(program, backend):
    raw = _raw(program)
    raw["cases"][2]["dip_code"] = "Z99"  # C3, 居民: the catalogue has no Z99
    facts = _bind(program, raw)
    runner = program if backend == "decimal" else FastProgram(program)
    result = runner.evaluate(facts)
    errors = [e for e in result.errors if e.code == "table-key"]
    assert len(errors) == 1
    message = str(errors[0])
    assert "catalogue_score" in message and "dip_code='Z99'" in message and "insurance_type='居民'" in message
    assert "record 'C3' of cases" in message
    assert errors[0].span.line == 65  # the formula of case.score in the fixture
    # the other records still get their score; what sums over C3 cannot be computed
    assert result.values["case.score"][0] == D("1168.0572")
    assert "city_total_points" not in result.values or result.values.get("city_total_points") is None


def test_a_missing_table_is_a_missing_fact_on_both_back_ends(program):
    raw = _raw(program)
    del raw["level_coefficient"]
    facts = _bind(program, raw)
    for runner in (program, FastProgram(program)):
        result = runner.evaluate(facts)
        assert [e.code for e in result.errors] == ["missing-fact"]
        assert "level_coefficient" in str(result.errors[0])
        assert "point_value" in result.skipped


BAD_ROWS = """\
dip_budget: 1000.00
catalogue_score:
  - {dip_code: A01, insurance_type: 职工, value: 1168.0572}
  - {dip_code: A01, insurance_type: 职工, value: 1.0}
  - {dip_code: A02, insurance_type: 农民, value: 2.0}
  - {dip_code: A03, insurance_type: 居民, value: 一千}
  - {dip_code: A04, insurance_type: 居民, score: 3.0}
  - {dip_code: A05, value: 3.0}
  - {dip_code: A06, insurance_type: 居民, value: -1}
level_coefficient: {key: 三级, value: 1.1}
institutions: [{code: H1, level: 三级}]
cases: [{id: C1, institution: H1, dip_code: A01, insurance_type: 职工}]
"""


def test_bad_rows_are_each_reported_at_their_line(tmp_path, capsys):
    facts = tmp_path / "facts.yaml"
    facts.write_text(BAD_ROWS, encoding="utf-8")
    status = main(["run", str(FIXTURE), "--facts", str(facts)])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    expected = [
        (4, "duplicate-id", "two rows for ('A01', '职工')"),
        (5, "bad-fact", "column 'insurance_type'"),        # 农民 is not an insurance type
        (6, "bad-fact", "column 'value'"),                 # 一千 is not a number
        (7, "unknown-fact", "no column 'score'"),
        (7, "bad-fact", "lacks the column 'value'"),
        (8, "bad-fact", "lacks the column 'insurance_type'"),
        (9, "constraint", "-1 is below the minimum 0"),    # the table's min: 0
        (10, "bad-fact", "is a list of rows"),             # level_coefficient given as one mapping
    ]
    for line, code, words in expected:
        assert any(f"facts.yaml:{line}:" in row and f"[{code}]" in row and words in row
                   for row in err.splitlines()), (line, code, words, err)


def _ruleset(tmp_path, body: str) -> pathlib.Path:
    path = tmp_path / "t.yaml"
    path.write_text(METADATA + body, encoding="utf-8")
    return path


TYPED = """\
enums:
  insurance_type: {label: 险种, values: [职工, 居民], citation: 一}
tables:
  score:
    label: 分值
    keys: {dip_code: text, insurance_type: insurance_type}
    value_type: number
    rows: facts
    citation: 一
inputs:
  code: {label: 病种, type: text, citation: 一}
  kind: {label: 险种, type: insurance_type, citation: 一}
rules:
  r: {label: 甲, type: number, formula: "FORMULA", citation: 一}
"""


@pytest.mark.parametrize("formula, code, column", [
    ("score[code]", "argument-count", 41),              # two key columns, one key
    ("score[kind, code]", "type-mismatch", 47),          # keys in the wrong order: an enum is not text
    ("score[code, \\\"农民\\\"]", "unknown-enum-value", 54),
])
def test_a_look_up_is_type_checked_against_its_key_columns(tmp_path, capsys, formula, code, column):
    path = _ruleset(tmp_path, TYPED.replace("FORMULA", formula))
    status = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert status == 2
    assert f"[{code}]" in err, err
    assert f"t.yaml:22:{column}" in err, err


INLINE = """\
enums:
  level: {label: 级别, values: [三级, 二级], citation: 一}
tables:
  coefficient:
    label: 系数
    keys: {level: level, surgical: boolean}
    value_type: number
    citation: 一
    rows:
      - {level: 三级, surgical: true, value: 1.2}
      - {level: 三级, surgical: false, value: 1.1}
      - {level: 二级, surgical: true, value: 1.0}
      - {level: 二级, value: 0.9}
inputs:
  lv: {label: 级别, type: level, citation: 一}
  op: {label: 手术, type: boolean, citation: 一}
rules:
  r: {label: 甲, type: number, formula: "coefficient[lv, op]", citation: 一}
"""


def test_rows_written_in_the_ruleset_name_their_key_columns(tmp_path, capsys):
    path = _ruleset(tmp_path, INLINE)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "t.yaml:21:9" in err and "lacks surgical" in err  # the fourth row
    path.write_text(path.read_text(encoding="utf-8").replace("{level: 二级, value: 0.9}",
                                                              "{level: 二级, surgical: false, value: 0.9}"),
                    encoding="utf-8")
    program = load_program(str(path))
    for lv, op, expected in (("三级", True, "1.2"), ("二级", False, "0.9")):
        facts = _bind(program, {"lv": lv, "op": op})
        assert program.evaluate(facts).values["r"] == D(expected)
        assert FastProgram(program).evaluate(facts).values["r"] == D(expected)


def _source(program, facts, node_id):
    from rulesengine.views.report import trace_json
    nodes = trace_json(program, program.evaluate(facts, trace=True))["nodes"]
    return next(n for n in nodes if n["id"] == node_id).get("source")


def test_the_trace_says_where_an_open_parameter_came_from(program):
    raw = _raw(program)
    assert "set by ruleset dip_catalogue" in _source(program, _bind(program, raw), "adjustment_rate")
    raw["adjustment_rate"] = "5%"
    assert "facts" in _source(program, _bind(program, raw), "adjustment_rate")


def test_a_default_is_typed_like_the_parameter(tmp_path, capsys):
    path = _ruleset(tmp_path, """\
parameters:
  p: {label: 甲, type: money, open: true, default: 5%, citation: 一, note: 地方确定}
rules:
  r: {label: 乙, type: money, formula: p, citation: 一}
""")
    assert main(["validate", str(path)]) == 2
    assert "t.yaml:10:" in capsys.readouterr().err


def test_batch_takes_a_catalogue_given_in_its_facts(tmp_path, capsys):
    """Institutions and cases as CSV tables, the two data tables in --facts; the per-institution
    results are the fixture's hand-worked values (test default_adjustment)."""
    (tmp_path / "institutions.csv").write_text("code,level\nH1,三级\nH2,二级\n", encoding="utf-8")
    (tmp_path / "cases.csv").write_text("id,institution,dip_code,insurance_type\nC1,H1,A01,职工\nC2,H1,B02,居民\n"
                                        "C3,H2,A01,居民\nC4,H2,B02,职工\n", encoding="utf-8")
    (tmp_path / "facts.yaml").write_text("""\
dip_budget: 3253537.90
catalogue_score:
  - {dip_code: A01, insurance_type: 职工, value: 1168.0572}
  - {dip_code: A01, insurance_type: 居民, value: 1100.5}
  - {dip_code: B02, insurance_type: 职工, value: 500.25}
  - {dip_code: B02, insurance_type: 居民, value: 480}
level_coefficient: [{key: 三级, value: 1.1}, {key: 二级, value: 0.9}]
""", encoding="utf-8")
    out = tmp_path / "out.csv"
    status = main(["batch", str(FIXTURE), "--table", str(tmp_path / "institutions.csv"),
                   "--table", str(tmp_path / "cases.csv"), "--facts", str(tmp_path / "facts.yaml"), "-o", str(out)])
    assert status == 0, capsys.readouterr().err
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert [(r["code"], r["total_points"], r["payable"]) for r in rows] == [
        ("H1", "1812.8629", "1812862.90"), ("H2", "1440.675", "1440675.00")]


def test_rows_in_the_ruleset_keep_within_the_table_s_bounds(tmp_path, capsys):
    path = _ruleset(tmp_path, INLINE.replace("    value_type: number\n", "    value_type: number\n    max: 1.15\n")
                    .replace("{level: 二级, value: 0.9}", "{level: 二级, surgical: false, value: 0.9}"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "t.yaml:19:44: error[bad-value]" in err and "1.2 is above the maximum 1.15" in err, err


def test_batch_takes_a_catalogue_as_a_table_file(tmp_path, capsys):
    """The same city as above, the two data tables given as CSV files (--table NAME=FILE): the
    per-institution results are the fixture's hand-worked values (test default_adjustment)."""
    (tmp_path / "institutions.csv").write_text("code,level\nH1,三级\nH2,二级\n", encoding="utf-8")
    (tmp_path / "cases.csv").write_text("id,institution,dip_code,insurance_type\nC1,H1,A01,职工\nC2,H1,B02,居民\n"
                                        "C3,H2,A01,居民\nC4,H2,B02,职工\n", encoding="utf-8")
    (tmp_path / "目录.csv").write_text("dip_code,insurance_type,value\nA01,职工,1168.0572\nA01,居民,1100.5\n"
                                     "B02,职工,500.25\nB02,居民,480\n", encoding="utf-8")
    (tmp_path / "系数.csv").write_text("key,value\n三级,1.1\n二级,0.9\n", encoding="utf-8")
    (tmp_path / "facts.yaml").write_text("dip_budget: 3253537.90\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    status = main(["batch", str(FIXTURE), "--table", str(tmp_path / "institutions.csv"),
                   "--table", str(tmp_path / "cases.csv"), "--table", f"catalogue_score={tmp_path / '目录.csv'}",
                   "--table", f"level_coefficient={tmp_path / '系数.csv'}",
                   "--facts", str(tmp_path / "facts.yaml"), "-o", str(out)])
    assert status == 0, capsys.readouterr().err
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    # H1: C1 1168.0572 × 1.1 = 1284.86292 -> 1284.8629; C2 480 × 1.1 = 528; total 1812.8629
    assert [(r["code"], r["total_points"], r["payable"]) for r in rows] == [
        ("H1", "1812.8629", "1812862.90"), ("H2", "1440.675", "1440675.00")]


def test_a_bad_catalogue_file_row_is_located_at_its_row_and_column(tmp_path, capsys):
    (tmp_path / "institutions.csv").write_text("code,level\nH1,三级\n", encoding="utf-8")
    (tmp_path / "cases.csv").write_text("id,institution,dip_code,insurance_type\nC1,H1,A01,职工\n", encoding="utf-8")
    (tmp_path / "目录.csv").write_text("dip_code,insurance_type,value\nA01,职工,1168.0572\nA01,军人,-3\n",
                                     encoding="utf-8")
    (tmp_path / "facts.yaml").write_text("dip_budget: 100.00\nlevel_coefficient: [{key: 三级, value: 1.1}]\n",
                                         encoding="utf-8")
    status = main(["--lang", "en", "batch", str(FIXTURE), "--table", str(tmp_path / "institutions.csv"),
                   "--table", str(tmp_path / "cases.csv"), "--table", f"catalogue_score={tmp_path / '目录.csv'}",
                   "--facts", str(tmp_path / "facts.yaml"), "-o", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert status == 2 and not (tmp_path / "out.csv").exists()
    # row 3 of the file: 军人 is no insurance type (column 2), -3 is below the table's min 0 (column 3)
    assert "目录.csv:3:2" in err and "目录.csv:3:3" in err, err
