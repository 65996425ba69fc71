"""Chinese and English messages: one catalogue (rulesengine/core/locale/zh.po), `--lang zh|en`, the
locale of the environment as the default.

The catalogue test reads the code, not the catalogue: every literal passed to ``_()`` or
``N_()`` in rulesengine/*.py is a message id, and each must have its Chinese, with the same
placeholders; the catalogue holds nothing else. ``python tools/update_po.py`` brings it up to date.
"""

import ast
import pathlib
import re
import string
import subprocess
import sys

import pytest

from conftest import METADATA
from rulesengine.core import i18n
from rulesengine.cli import main
from rulesengine.core.i18n import _, catalogue, language_from_environment, set_language

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rulesengine"
SANYA = str(ROOT / "rulesets" / "sanya_2024.yaml")
BAD = ROOT / "tests" / "bad"
CJK = re.compile(r"[\u4e00-\u9fff]")
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture(autouse=True)
def back_to_english():
    yield
    set_language("en")


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_"):
            yield node


def _message_ids() -> dict[str, str]:
    """msgid -> file:line of its first use."""
    found = {}
    for path, tree in _sources():
        for call in _calls(tree):
            arg = call.args[0] if call.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, f"{path.name}:{call.lineno}")
    return found


def _placeholders(text: str) -> set:
    braces = {(name, conversion, spec) for _text, name, spec, conversion in string.Formatter().parse(text)
              if name is not None}
    return braces | set(re.findall(r"%(?:\(\w+\))?[sdr]", text))


def test_every_message_has_chinese_and_english():
    ids = _message_ids()
    zh = catalogue()
    assert len(ids) > 400
    missing = [f"{where}: {msgid!r}" for msgid, where in ids.items() if not zh.get(msgid, "").strip()]
    assert not missing, "no Chinese for (run python tools/update_po.py, then translate):\n" + \
        "\n".join(missing)
    stale = sorted(set(zh) - set(ids))
    assert not stale, f"catalogue entries no code uses (run python tools/update_po.py): {stale}"
    for msgid, where in ids.items():
        assert _placeholders(msgid) == _placeholders(zh[msgid]), \
            f"{where}: placeholders differ: {msgid!r} -> {zh[msgid]!r}"


def test_messages_are_literal_templates():
    """_() takes a literal (or a variable holding an N_() literal), never an f-string or a
    concatenation: what the code looks up must be what the catalogue holds."""
    for path, tree in _sources():
        for call in _calls(tree):
            assert len(call.args) == 1 and not call.keywords, f"{path.name}:{call.lineno}"
            arg = call.args[0]
            assert not isinstance(arg, (ast.JoinedStr, ast.BinOp)), \
                f"{path.name}:{call.lineno}: _() of a computed string; translate a template, then .format()"
            if isinstance(arg, ast.Constant):
                list(string.Formatter().parse(arg.value))  # a valid template: literal braces doubled


def test_nothing_is_translated_at_import():
    """A message translated when its module is imported would stay in the language of that
    moment: module-level tables mark messages with N_() and translate them where they are shown."""
    def visit(node, path):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
            raise AssertionError(f"{path.name}:{node.lineno}: _() runs at import; use N_() there")
        for child in ast.iter_child_nodes(node):
            visit(child, path)

    for path, tree in _sources():
        visit(tree, path)


def test_no_function_hides_the_translation_function():
    """`for _, x in ...` inside a function that also calls _() would make _ a local variable."""
    for path, tree in _sources():
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            stored = [n for n in ast.walk(function)
                      if isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store)]
            called = any(isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == "_"
                         for c in ast.walk(function))
            assert not (stored and called), f"{path.name}:{stored[0].lineno}: '_' assigned where _() is called"


def test_catalogue_goes_through_gettext():
    translations = i18n.chinese()
    assert translations.info()["content-type"] == "text/plain; charset=UTF-8"
    for msgid, text in catalogue().items():
        assert translations.gettext(msgid) == text
    set_language("zh")
    assert _("unknown name '{name}'").format(name="x") == "未知名称 'x'"
    assert _("a message nobody wrote") == "a message nobody wrote"  # untranslated: as written
    set_language("en")
    assert _("unknown name '{name}'") == "unknown name '{name}'"


@pytest.mark.parametrize("environment, expected", [
    ({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "zh_TW.UTF-8"}, "zh"), ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"), ({}, "en"), ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LC_ALL": "", "LC_MESSAGES": "en_GB", "LANG": "zh_CN"}, "en"),
    ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh"),
])
def test_language_from_environment(environment, expected):
    assert language_from_environment(environment) == expected


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _chinese_locale(monkeypatch):
    for name in LOCALE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")


UNKNOWN_NAME = "tests/bad/unknown_name.yaml"
WHERE = "tests/bad/unknown_name.yaml:16:24:"


def test_error_in_chinese_keeps_code_and_position(in_repo, capsys):
    status, _out, err = _run(capsys, "--lang", "zh", "validate", UNKNOWN_NAME)
    assert status == 2
    assert f"{WHERE} 错误[unknown-name]: 未知名称 'prepaid_totl'" in err
    assert "  位于：规则 settlement_amount（二）" in err
    assert "  提示：是不是 'prepaid_total'？" in err
    assert "^^^^^^^^^^^^" in err  # the excerpt is the same


def test_error_in_english_with_lang_after_the_command(in_repo, capsys, monkeypatch):
    _chinese_locale(monkeypatch)  # --lang wins over the locale
    status, _out, err = _run(capsys, "validate", UNKNOWN_NAME, "--lang", "en")
    assert status == 2
    assert f"{WHERE} error[unknown-name]: unknown name 'prepaid_totl'" in err
    assert "  hint: did you mean 'prepaid_total'?" in err
    status, _out, err = _run(capsys, "validate", "--lang=en", UNKNOWN_NAME)
    assert "error[unknown-name]" in err


def test_chinese_locale_is_the_default(in_repo, capsys, monkeypatch):
    _chinese_locale(monkeypatch)
    status, _out, err = _run(capsys, "validate", UNKNOWN_NAME)
    assert status == 2 and f"{WHERE} 错误[unknown-name]: 未知名称 'prepaid_totl'" in err
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    status, _out, err = _run(capsys, "validate", UNKNOWN_NAME)
    assert f"{WHERE} error[unknown-name]: unknown name 'prepaid_totl'" in err


def test_chinese_locale_reaches_the_command(in_repo, monkeypatch):
    _chinese_locale(monkeypatch)
    done = subprocess.run([sys.executable, "-m", "rulesengine", "validate", UNKNOWN_NAME],
                          capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 2
    assert f"{WHERE} 错误[unknown-name]: 未知名称 'prepaid_totl'" in done.stderr


def test_bad_language_is_a_usage_error(capsys):
    status, _out, err = _run(capsys, "--lang", "fr", "validate", SANYA)
    assert status == 2 and "error[usage]: argument --lang: expected one of zh, en, got 'fr'" in err
    status, _out, err = _run(capsys, "validate", SANYA, "--lang")
    assert status == 2 and "error[usage]" in err


def test_usage_and_help_in_chinese(capsys):
    status, out, _err = _run(capsys, "--lang", "zh", "--help")
    assert status == 0
    assert "用法：rulesengine" in out and "显示此帮助信息并退出" in out and "校验规则集" in out
    status, _out, err = _run(capsys, "--lang", "zh", "run", SANYA)
    assert status == 2 and "错误[usage]: rulesengine run: 必须给出参数 --facts --example 之一" in err


OVERSPENT = METADATA + """\
inputs:
  spent: {label: 支出, type: money, citation: 一}
parameters:
  cap: {label: 上限, type: money, value: 100.00, citation: 二}
rules:
  left_over: {label: 结余, type: money, formula: cap - spent, citation: 三}
checks:
  within_cap: {label: 支出不超过上限, condition: spent <= cap, message: 支出不得超过上限。, citation: 四}
examples:
  over: {label: 超支, facts: {spent: 120.00}}
"""


def test_failed_check_and_run_headings_in_chinese(tmp_path, capsys):
    path = tmp_path / "overspent.yaml"
    path.write_text(OVERSPENT, encoding="utf-8")
    status, out, _err = _run(capsys, "--lang", "zh", "run", path, "--example")
    assert status == 1
    assert "检查：0 项通过，1 项未通过" in out
    assert "  错误 within_cap 支出不超过上限: 支出不得超过上限。" in out
    assert "      左边 120.00，右边 100.00；差额 20.00" in out
    status, out, _err = _run(capsys, "run", path, "--example", "--lang", "en")
    assert "checks: 0 passed, 1 failed" in out and "left 120.00, right 100.00; difference 20.00" in out

    status, out, _err = _run(capsys, "--lang", "zh", "explain", path, "within_cap", "--example")
    assert status == 1
    assert "✗ 未通过（错误）" in out
    assert "公式：spent <= cap" in out and "代入：120.00 <= 100.00" in out and "要求：支出不得超过上限。" in out
    assert "规则集：" in out and "基准日：2024-01-01" in out
    assert "spent 支出 = 120.00 元  事实  (示例 over)" in out


def test_ruleset_tests_in_chinese(capsys):
    status, out, _err = _run(capsys, "--lang", "zh", "test", SANYA)
    assert status == 0
    assert "通过 " in out and re.search(r"\d+ 个通过，0 个失败", out)


def _bad_cases():
    first = re.compile(r"# expect: ([a-z-]+) (?:(\S+):)?(\d+):(\d+)")
    ruleset = re.compile(r"# ruleset: (\S+)")
    for path in sorted(BAD.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        lines = path.read_bytes().decode("utf-8", "replace").splitlines()
        if any(line.startswith("# xfail:") for line in lines):
            continue
        match = first.fullmatch(lines[0])
        base = ruleset.fullmatch(lines[1]) if len(lines) > 1 else None
        yield pytest.param(path, match.groups(), base.group(1) if base else None, id=path.stem)


@pytest.mark.parametrize("path, expect, ruleset", list(_bad_cases()))
def test_every_catalogued_error_in_chinese(path, expect, ruleset, capsys, monkeypatch):
    """The catalogue of bad input (tests/bad/) under --lang zh: the same code at the same place,
    the message and the hint in Chinese."""
    monkeypatch.chdir(ROOT)
    code, where, line, col = expect
    relative = path.relative_to(ROOT).as_posix()
    argv = ["validate", relative] if ruleset is None else ["run", ruleset, "--facts", relative]
    status, _out, err = _run(capsys, "--lang", "zh", *argv)
    assert status == 2, err
    head = f"{where or relative}:{line}:{col}: 错误[{code}]: "
    assert head in err, err
    message = err.split(head, 1)[1].splitlines()[0]
    assert CJK.search(message), f"message not in Chinese: {message}"
    hint = re.search(r"^  提示：(.*)$", err, re.MULTILINE)
    assert hint and CJK.search(hint.group(1)), err
