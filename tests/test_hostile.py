"""Hostile rulesets, facts and views (issue 11 items 4 and 5, issue 12's copied ruleset): each
class ends in a located error with a hint and exit status 2, never exit 70, or in output that
stays readable. The cases too large for a file of tests/bad/ are generated here; the bounds
are the README's "Limits and guarantees", and tools/limits.py measures each refusal's cost.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import re
import shutil
import tempfile

import openpyxl
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from conftest import METADATA
from rulesengine.check.sources import MAX_TOTAL_FORMULA_CHARS
from rulesengine.cli import main
from rulesengine.core import source
from rulesengine.core.errors import MAX_MESSAGE_CHARS, LoadError, render
from rulesengine.core.source import Span
from rulesengine.load.document import MAX_NODES
from rulesengine.views.forest import TREE_DEPTH

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECORDS = "tests/bad/_records_base.yaml"
META_LINES = METADATA.count("\n")  # 8


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return status, out, err


def refused(capsys, code: str, where: str, *args: str) -> str:
    status, _, err = run(capsys, *args)
    assert status == 2, err
    assert f"{where}: error[{code}]:" in err, err
    assert "hint:" in err
    return err


# --- a copied ruleset finds its modules (issue 12) --------------------------------------------------
def test_a_ruleset_copied_elsewhere_still_validates(tmp_path, capsys):
    copy = tmp_path / "new_city.yaml"
    shutil.copy(ROOT / "rulesets" / "zibo_2025.yaml", copy)
    status, out, err = run(capsys, "validate", copy)
    assert status == 0, err
    assert "dip_point_method" in out  # found in the project's rulesets/modules


def test_a_module_beside_the_ruleset_comes_first(tmp_path, capsys):
    (tmp_path / "modules").mkdir()
    shutil.copy(ROOT / "rulesets" / "modules" / "dip_point_method.yaml", tmp_path / "modules")
    shutil.copy(ROOT / "rulesets" / "zibo_2025.yaml", tmp_path / "city.yaml")
    status, out, err = run(capsys, "validate", tmp_path / "city.yaml")
    assert status == 0, err
    assert f"({tmp_path / 'modules' / 'dip_point_method.yaml'}, " in out  # not the project's copy


def test_an_unresolved_module_in_a_copied_ruleset_is_located(tmp_path, capsys):
    text = (ROOT / "rulesets" / "zibo_2025.yaml").read_text(encoding="utf-8")
    copy = tmp_path / "city.yaml"
    copy.write_text(text.replace("module: dip_point_method", "module: dip_points"), encoding="utf-8")
    line = text.splitlines().index("  - module: dip_point_method") + 1
    err = refused(capsys, "unknown-name", f"{copy}:{line}:13", "validate", copy)
    assert "did you mean 'dip_point_method'?" in err


# --- a long dependency chain in every readable format ---------------------------------------------
def chain(tmp_path, length: int) -> tuple[str, str]:
    rules = ["  r0: {label: 链0, type: money, formula: a + a, citation: 二}"]
    rules += [f"  r{i}: {{label: 链{i}, type: money, formula: r{i - 1} + a, citation: 二}}"
              for i in range(1, length)]
    path = tmp_path / "chain.yaml"
    path.write_text(METADATA + "inputs:\n  a: {label: 甲, type: money, citation: 一}\nrules:\n"
                    + "\n".join(rules) + "\n", encoding="utf-8")
    facts = tmp_path / "facts.yaml"
    facts.write_text("a: 1.00\n", encoding="utf-8")
    return str(path), str(facts)


@pytest.mark.parametrize("fmt", ["text", "md", "html"])
def test_a_500_rule_chain_is_explained_without_recursion(tmp_path, capsys, fmt):
    path, facts = chain(tmp_path, 500)
    status, out, err = run(capsys, "explain", path, "r499", "--facts", facts, "--format", fmt)
    assert status == 0, err
    # r499 = 2 × 1.00 + 499 × 1.00 = 501.00: the whole chain was evaluated and shown
    assert "501.00" in out
    for i in range(500):  # every rule is drawn in full exactly once
        marker = {"text": f"\nr{i} 链{i} = ", "md": f"`r{i}` = ", "html": f'id="n-r{i}"'}[fmt]
        found = out.count(marker) if fmt != "text" else len(re.findall(rf"(?m)^[│├└ ─]*r{i} 链{i} = [^\n]*二  \[", out))
        assert found >= 1, (i, marker)
    assert out.count({"text": "(continued below)", "md": "层次过深，接下文", "html": "层次过深，接下文"}[fmt]) \
        == 499 // TREE_DEPTH  # r499 at depth 0, a pointer at each multiple of TREE_DEPTH below it


def test_the_text_tree_indents_at_most_tree_depth_levels(tmp_path, capsys):
    path, facts = chain(tmp_path, 500)
    status, out, _ = run(capsys, "explain", path, "r499", "--facts", facts)
    assert status == 0
    widest = max(len(line) - len(line.lstrip("│├└─ ")) for line in out.splitlines())
    assert widest <= 4 * (TREE_DEPTH + 1)  # 4 characters per level; output linear in the chain


# --- characters no output can hold ----------------------------------------------------------------
def test_workbook_refuses_a_control_character_before_writing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "明细.xlsx"
    refused(capsys, "bad-character", "tests/bad/facts_record_key_bell.yaml:6:12", "workbook", RECORDS,
            "--facts", "tests/bad/facts_record_key_bell.yaml", "-o", out)
    assert not out.exists()


def test_an_escaped_surrogate_pair_is_its_character(tmp_path, capsys, monkeypatch):
    # JSON writers escape 😀 (U+1F600) as the pair \ud83d\ude00; it is one character, not an error
    monkeypatch.chdir(ROOT)
    facts = tmp_path / "facts.json"
    facts.write_text('{"community_code": "YGT\\ud83d\\ude00", "grade": "良好", '
                     '"members": [{"code": "H\\ud83d\\ude00", "budget": "1.00"}]}', encoding="utf-8")
    out = tmp_path / "明细.xlsx"
    status, _, err = run(capsys, "workbook", RECORDS, "--facts", facts, "-o", out)
    assert status in (0, 1), err
    cells = [c.value for ws in openpyxl.load_workbook(out).worksheets for row in ws.iter_rows() for c in row]
    assert "H\U0001F600" in cells  # the file opens, and the key is the character itself


# --- cost bounds ---------------------------------------------------------------------------------------
def test_a_2_mb_facts_file_of_a_million_values_is_refused_at_the_bound(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    facts = tmp_path / "facts.json"
    facts.write_text("extra: [" + ",".join(["1"] * 1_000_000) + "]\n", encoding="utf-8")
    # composed in order: the mapping (1), the key extra (2), the list (3), then its items; the
    # item that is value MAX_NODES + 1 is item MAX_NODES - 2, at column 9 + 2 × (MAX_NODES - 3)
    err = refused(capsys, "load-error", f"{facts}:1:{9 + 2 * (MAX_NODES - 3)}", "run", RECORDS, "--facts", facts)
    assert f"more than {MAX_NODES:,} values" in err


def test_aliased_formulas_are_counted_before_they_are_parsed(tmp_path, capsys):
    formula = "min(" + ", ".join(["a"] * 3_332) + ")"  # 4 + 3,332 + 2 × 3,331 + 1 = 9,999 characters
    assert len(formula) == 9_999
    rules = [f"  r0: {{label: 乙, type: money, formula: &f \"{formula}\", citation: 二}}"]
    rules += [f"  r{i}: {{label: 乙, type: money, formula: *f, citation: 二}}" for i in range(1, 40)]
    path = tmp_path / "r.yaml"
    path.write_text(METADATA + "inputs:\n  a: {label: 甲, type: money, citation: 一}\nrules:\n"
                    + "\n".join(rules) + "\n", encoding="utf-8")
    # 10 formulas hold 99,990 characters; the 11th (r10) crosses 100,000
    crossing = MAX_TOTAL_FORMULA_CHARS // len(formula)
    assert crossing == 10
    line = META_LINES + 3 + crossing + 1
    err = refused(capsys, "limit", f"{path}:{line}:3", "validate", path)
    assert err.count("error[limit]") == 1


def test_excerpts_of_many_errors_split_the_file_once(monkeypatch):
    calls = []

    class Counting(str):
        def splitlines(self, *args):
            calls.append(1)
            return super().splitlines(*args)

    text = "\n".join(f"line {i}" for i in range(2_000))
    source.remember("many.yaml", Counting(text))
    shown = [render(LoadError("bad", span=Span("many.yaml", i, 1), hint="h")) for i in range(1, 2_001)]
    assert calls == [1]
    assert " 1500 | line 1499" in shown[1499]


def test_a_huge_value_is_cut_in_the_message(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    err = refused(capsys, "bad-fact", "tests/bad/facts_huge_enum_value.yaml:4:8",
                  "run", RECORDS, "--facts", "tests/bad/facts_huge_enum_value.yaml")
    message = err.splitlines()[0]
    assert len(message) < MAX_MESSAGE_CHARS + 100  # the path and code, then the cut message
    assert re.search(r"'优+…\[[\d,]+\]…优+' is not one of 优秀, 良好, 合格, 不合格", message), message


def test_a_cut_message_keeps_its_start_and_end():
    err = LoadError("start " + "x" * 100_000 + " end")
    assert len(err.message) <= MAX_MESSAGE_CHARS + 20
    assert err.message.startswith("start x") and err.message.endswith("x end")
    assert f"…[{100_010 - MAX_MESSAGE_CHARS:,}]…" in err.message


def test_a_facts_file_name_that_is_not_utf8_is_shown_escaped(tmp_path, capsys):
    # a file name is bytes: \xff is not UTF-8 (Python holds it as the surrogate U+DCFF) and
    # \x1b is a control character; both are shown as escapes, and the workbook still opens
    name = os.fsdecode(b"\xff\x1b.yaml")
    facts = tmp_path / name
    facts.write_text("community_code: Y\ngrade: 良好\nmembers: [{code: H1, budget: 1.00}]\n", encoding="utf-8")
    out = tmp_path / "明细.xlsx"
    status, _, err = run(capsys, "workbook", ROOT / RECORDS, "--facts", facts, "-o", out)
    assert status == 0, err
    cells = [str(c.value) for ws in openpyxl.load_workbook(out).worksheets for row in ws.iter_rows() for c in row]
    assert any(cell.endswith("\\xff\\x1b.yaml") for cell in cells)


# --- any text, any output: never exit 70, never a file that does not open ---------------------------
HOSTILE = st.one_of(st.characters(exclude_categories=()),  # any code point, lone surrogates too
                    st.sampled_from("\x00\x07\x1b\r\x7f\x85\u202e\u2066\ud83d\ude00\ufffe=+-@'\",\t\n 良"))


def _joined(text: str) -> str:
    """The text as read from JSON: an escaped surrogate pair is one character."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


@pytest.mark.fuzz
@given(key=st.text(HOSTILE, min_size=1, max_size=12), code=st.text(HOSTILE, max_size=12))
def test_any_record_key_and_text_fact_gives_a_readable_workbook_or_a_located_refusal(key, code):
    from rulesengine.core.source import BAD_CHARACTER
    with tempfile.TemporaryDirectory() as tmp:
        facts = pathlib.Path(tmp) / "facts.json"
        # ASCII JSON: every character, surrogates included, travels as a \\u escape
        facts.write_text(json.dumps({"community_code": code, "grade": "良好",
                                     "members": [{"code": key, "budget": "1.00"}]}), encoding="ascii")
        out = pathlib.Path(tmp) / "明细.xlsx"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            status = main(["workbook", str(ROOT / RECORDS), "--facts", str(facts), "-o", str(out)])
        assert status in (0, 1, 2), err.getvalue()
        event(f"exit status {status}")
        if BAD_CHARACTER.search(_joined(key) + _joined(code)):  # refused where it stands
            assert status == 2 and "error[bad-character]" in err.getvalue() and not out.exists()
        elif status == 2:  # e.g. an empty code refused by the facts schema: located, nothing written
            assert re.search(r"facts\.json:1:\d+: error\[", err.getvalue()) and not out.exists()
        else:  # the file opens and holds the key (text values are read stripped of blanks)
            cells = [str(c.value) for ws in openpyxl.load_workbook(out).worksheets for row in ws.iter_rows()
                     for c in row]
            assert any(_joined(key).strip() in cell for cell in cells), (key, cells)
