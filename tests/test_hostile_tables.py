"""Hostile cell text through every table format in and every output format out (issue 11, item 8).

Hypothesis writes H001's institution code (the record key every case refers to) as arbitrary
hostile text — formula prefixes, control characters, separators, quotes, line breaks, long
fields — into the Zibo example's tables as CSV, JSON Lines and .xlsx, and runs ``batch`` with
CSV, JSON Lines and .xlsx out. Properties, whatever the text:

* the run ends with 0, 1 or 2 (an internal error would be 70) and says why when it is not 0;
* when results are written, the file opens, no cell is a formula, no CSV field starts with a
  formula prefix unneutralised, and every good record is kept: H002 and H003 always (a key
  that cannot be read leaves H001 and its cases out as bad rows, which moves the city's point
  value), and when H001's 2,908.29 is there, H002's and H003's settlements worked by hand in the
  ruleset (−242.81 and 742.31) are there too.
"""

from __future__ import annotations

import csv
import io
import json
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_batch import ZIBO, _zibo_tables
from rulesengine.cli import main

openpyxl = pytest.importorskip("openpyxl")

PREFIXES = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = st.text(alphabet=st.one_of(
    st.sampled_from(list("=+-@\t\r\n,;\"'|:/\\ ") + ["\x00", "\x01", "\x1b", "\x7f", "\u202e", "\ufeff", "点", "é"]),
    st.characters(codec="utf-8")), min_size=1, max_size=40)
# a long field: some readers cap a field at 131,072 characters
KEYS = st.one_of(HOSTILE, HOSTILE.map(lambda text: text * 4000))
SETTLED = {"H002": "-242.81", "H003": "742.31"}  # by hand in rulesets/zibo_2025.yaml's tests
H001 = "2908.29"


def _rename(key: str):
    def edit(name, rows):
        for row in rows:
            if row.get("code") == "H001":
                row["code"] = key
            if row.get("institution") == "H001":
                row["institution"] = key
    return edit


def _written_rows(path: pathlib.Path) -> list[list]:
    """Every row of the results file as written (opening it is part of the test)."""
    if path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return list(csv.reader(handle))
    if path.suffix == ".jsonl":
        return [list(json.loads(line).values()) for line in path.read_text(encoding="utf-8").splitlines()]
    book = openpyxl.load_workbook(path)
    rows = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
            rows.append([cell.value for cell in row])
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


def _check_output(path: pathlib.Path) -> None:
    rows = _written_rows(path)
    texts = [str(v) for row in rows for v in row if v is not None]
    if path.suffix in (".csv", ".xlsx"):  # what a spreadsheet opens: nothing runs as a formula
        for text in texts:
            assert not (text.startswith(PREFIXES) and not _is_number(text)), text[:80]
    flat = " ".join(texts)
    for key in SETTLED:  # every good record kept
        assert key in flat
    if H001 in flat:  # H001 was read: the point value is the example's, and so is every settlement
        for settled in SETTLED.values():
            assert settled in flat


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=KEYS)
@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx"])
def test_hostile_key_text_never_breaks_a_run_or_an_output(tmp_path_factory, capsys, suffix, key):
    folder = tmp_path_factory.mktemp("hostile")
    try:
        args, _folder = _zibo_tables(folder, suffix, edit=_rename(key))
    except (openpyxl.utils.exceptions.IllegalCharacterError, UnicodeEncodeError):
        return  # the test cannot write this text in this format (no clerk's file holds it either)
    for out in ("out.csv", "out.jsonl", "out.xlsx"):
        status = main(["batch", str(ZIBO), *args, "-o", str(folder / out), "--keep-going"])
        said = capsys.readouterr()
        assert status in (0, 1, 2), said.err[-2000:]
        if status != 0:
            assert said.err.strip(), "a run that is not clean says why"
        if (folder / out).exists():
            _check_output(folder / out)


def test_the_check_sees_a_formula_if_one_is_written(tmp_path):
    """The property is not vacuous: a CSV field written as a live formula is caught."""
    path = tmp_path / "bad.csv"
    path.write_text("code,settlement_amount\n=1+2,1.00\nH002,-242.81\nH003,742.31\n", encoding="utf-8")
    with pytest.raises(AssertionError):
        _check_output(path)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["code", "settlement_amount"], ["'=1+2", "1.00"], ["H002", "-242.81"],
                                  ["H003", "742.31"]])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    _check_output(path)
