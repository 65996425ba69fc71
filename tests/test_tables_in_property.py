"""Property (issue 10.3): for arbitrary cell text, the table reader and the facts reader agree.

The same text is given once as a cell of a CSV table (read by batch's reader, column-wise, next
to other rows so the column-wise route and the cell route both run) and once as the value of a
JSON facts file (read by ``run``'s reader). Both give the same value, or the same error code;
the only differences are the documented spreadsheet habits (rulesengine/core/cells.py): a
boolean cell may be 是/否, true/false in any case or 1/0 (a facts file writes a YAML boolean);
a bare number above 1 in a rate column is refused (a facts file reads it as it is). A blank cell
is an empty cell (missing-fact), so blank text is left to tests/test_tables_in.py.
"""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from functools import lru_cache

import pyarrow as pa
import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st

from conftest import METADATA
from rulesengine.batch.columns import Column
from rulesengine.batch.read import cell_problem
from rulesengine.batch.tables import read_table
from rulesengine.core.cells import BOOLEAN_WORDS
from rulesengine.core.datatypes import RATE, coerce
from rulesengine.core.errors import CheckFailed, RulesError
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts, read_facts

RULESET = METADATA + """\
enums:
  grade_level: {label: 考核等次, values: [优秀, 良好, 合格]}
inputs:
  amount: {label: 金额, type: money, min: 0, citation: 一}
  owed: {label: 欠款, type: money, citation: 一}
  share: {label: 比例, type: rate, citation: 一}
  capped: {label: 封顶比例, type: rate, min: 0, max: 1, citation: 一}
  factor: {label: 系数, type: number, citation: 一}
  heads: {label: 人数, type: integer, min: 0, citation: 一}
  year: {label: 年度, type: integer, citation: 一}
  flag: {label: 标志, type: boolean, citation: 一}
  grade: {label: 等次, type: grade_level, citation: 一}
  day: {label: 日期, type: date, citation: 一}
  code: {label: 编码, type: text, citation: 一}
rules:
  total: {label: 合计, type: money, formula: amount + owed, citation: 一}
"""
FIELDS = ["amount", "owed", "share", "capped", "factor", "heads", "year", "flag", "grade", "day", "code"]

NUMBERS = st.one_of(
    st.from_regex(r"-?[0-9]{1,22}(\.[0-9]{0,20})?%?", fullmatch=True),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(-10 ** 20, 10 ** 20).map(str),
    st.decimals(min_value=-2, max_value=2, places=4).map(lambda d: f"{d:f}"),
)
WORDS = st.sampled_from([
    "true", "false", "TRUE", "False", "是", "否", "1", "0", "yes", "Y", "优秀", "良好", "优秀 ", "优",
    "2024-02-29", "2023-02-29", "2024/01/31", " 2024-01-01", "H001", " H002 ", "1,234.50", "12.5万",
    "5%", "8", "0.08", "150%", "1e3", "1.5e+3", "010", "+5", ".5", "5.", "0x10", "1:30", "1_000",
    "NaN", "Infinity", "-0", "-0.00", "100000.005", "10000000000000000000", "9" * 19, "1" * 101,
    "１２３", "\u00a01", "1\u00a0", "=1+1", "'1", '"1"', "-", "%", "1%%", "百分之五",
])
CELLS = st.one_of(NUMBERS, WORDS, st.text(max_size=12))


@lru_cache(maxsize=1)
def _program(folder: str):
    path = f"{folder}/ruleset.yaml"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(RULESET)
    return load_program(path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("property")


@pytest.fixture(scope="module")
def program(folder):
    return _program(str(folder))


def _facts_reader(program, folder, name: str, value) -> tuple[str, object]:
    path = folder / "facts.json"
    # characters YAML 1.1 reads as line breaks or refuses raw (NEL, LS, PS, C1 controls, BOM) are
    # escaped, as a JSON writer may: the facts file then holds exactly the cell's text
    text = json.dumps({name: value}, ensure_ascii=False)
    path.write_text(re.sub("[\x7f-\x9f\u2028\u2029\ufeff]", lambda m: f"\\u{ord(m.group()):04x}", text),
                    encoding="utf-8")
    try:
        facts = read_facts(str(path))
    except RulesError:  # text YAML cannot hold (a control character): nothing to compare
        return "unreadable", None
    try:
        return "ok", bind_facts(program.ruleset, facts)[name]
    except CheckFailed as failed:
        return failed.errors[0].code, None


def _table_reader(program, folder, name: str, texts: list[str]) -> list[tuple[str, object]]:
    path = folder / "t.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["key", name])
        writer.writerows([[f"K{i}", text] for i, text in enumerate(texts)])
    table = read_table(str(path))
    assert table.numbers == list(range(2, 2 + len(texts)))  # no row lost or shifted
    column = Column(program.ruleset.declarations[name])
    values, problems = column.convert(table.columns[1])
    keep = [row not in problems for row in range(len(texts))]
    column.keep(values, pa.array(keep))
    typed = iter(column.python())
    decl = program.ruleset.declarations[name]
    return [(cell_problem("t.csv", row + 2, name, name, decl, problems[row]).code, None) if row in problems
            else ("ok", next(typed)) for row in range(len(texts))]


def _same(a, b) -> bool:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        # the same number with the same decimal places (1E+3 and 1000 are both whole)
        return a == b and max(-a.as_tuple().exponent, 0) == max(-b.as_tuple().exponent, 0)
    return a == b and type(a) is type(b)


@given(name=st.sampled_from(FIELDS), texts=st.lists(CELLS, min_size=1, max_size=6))
@example(name="factor", texts=["2121781825430692690632.3347889"])  # over 28 digits: exact
@example(name="code", texts=["0", "0\x850"])  # a NEL inside a code is kept
@example(name="heads", texts=["10000000000000000000"])  # the drift case of issue 10
@example(name="factor", texts=["1.5", "0." + "0" * 90 + "1"])  # 92 places next to 1
def test_table_and_facts_readers_agree(program, folder, name, texts):
    texts = [t for t in texts if t.strip() and "\r" not in t and "\x00" not in t]
    if not texts:
        return
    kind = program.ruleset.declarations[name].type.kind
    table = _table_reader(program, folder, name, texts)
    for text, (code, value) in zip(texts, table):
        facts_code, facts_value = _facts_reader(program, folder, name, text)
        note(f"{name} ({kind}) {text!r}: table {code} {value!r}, facts {facts_code} {facts_value!r}")
        if kind == "boolean" and text.strip().lower() in BOOLEAN_WORDS:
            facts_code, facts_value = _facts_reader(program, folder, name, BOOLEAN_WORDS[text.strip().lower()])
        elif facts_code == "unreadable":
            continue
        elif kind == "rate" and code == "bad-fact" and facts_code in ("ok", "constraint"):
            # the bare-rate rule, only: a plain number above 1 without %
            assert abs(coerce(text, RATE)) > 1 and not text.strip().endswith("%")
            continue
        assert code == facts_code
        assert _same(value, facts_value)
