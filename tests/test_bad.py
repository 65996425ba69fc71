"""Each file in tests/bad/ has one mistake; its first line says which error code it must
produce and where (``# expect: CODE LINE:COL``, worked out by hand).

* A ruleset case: ``rulesengine validate FILE`` must exit 2.
* A facts case has ``# ruleset: PATH`` as its second line: ``rulesengine run PATH --facts
  FILE`` must exit 2 (README: 2 is invalid input; evaluation errors such as division by zero
  are errors about the input, not failed checks). The error is in FILE unless the
  expectation names another file (``# expect: CODE PATH:LINE:COL``): evaluation errors and
  missing facts are located in the ruleset.

Either way stderr must hold ``FILE:LINE:COL: error[CODE]:``, a ``hint:`` and no traceback.
Files whose name starts with ``_`` (the facts cases' ruleset) are not cases.

A line ``# xfail: REASON`` (by convention the last line, so removing it moves nothing)
marks a known engine bug: the case keeps the correct expectation and is expected to fail
(strictly: once the bug is fixed the case passes and the marker must go).
"""

import pathlib
import re

import pytest

from rulesengine.cli import main

ROOT = pathlib.Path(__file__).parent.parent
BAD = ROOT / "tests" / "bad"
CASES = sorted(p for p in BAD.glob("*.yaml") if not p.name.startswith("_"))

_EXPECT = re.compile(r"# expect: ([a-z-]+) (?:(\S+):)?(\d+):(\d+)")
_RULESET = re.compile(r"# ruleset: (\S+)")
_XFAIL = re.compile(r"^# xfail: (.+)$", re.MULTILINE)


def _text(path: pathlib.Path) -> str:
    # Some cases are deliberately not UTF-8 (or binary); their comment lines are ASCII.
    return path.read_bytes().decode("utf-8", "replace")


def _expectation(path: pathlib.Path) -> tuple[str, str | None, int, int]:
    first = _text(path).splitlines()[0]
    match = _EXPECT.fullmatch(first)
    assert match, f"{path.name}: first line must be '# expect: CODE [FILE:]LINE:COL'"
    return match.group(1), match.group(2), int(match.group(3)), int(match.group(4))


def _ruleset(path: pathlib.Path) -> str | None:
    lines = _text(path).splitlines()
    match = _RULESET.fullmatch(lines[1]) if len(lines) > 1 else None
    return match.group(1) if match else None


def _param(path: pathlib.Path):
    xfail = _XFAIL.search(_text(path))
    marks = [pytest.mark.xfail(reason=xfail.group(1), strict=True)] if xfail else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", [_param(p) for p in CASES])
def test_bad_input_is_reported_at_its_position(path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, where, line, col = _expectation(path)
    relative = path.relative_to(ROOT).as_posix()
    ruleset = _ruleset(path)
    if ruleset is None:
        status = main(["validate", relative])
    else:
        assert (ROOT / ruleset).is_file(), f"{path.name}: no ruleset {ruleset}"
        status = main(["run", ruleset, "--facts", relative])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert status == 2, err
    assert f"{where or relative}:{line}:{col}: error[{code}]:" in err, err
    assert "hint:" in err, "every catalogued error carries a hint"


def test_facts_cases_base_ruleset_is_valid(capsys, monkeypatch):
    """The facts cases fail because of their facts, not because of their ruleset."""
    monkeypatch.chdir(ROOT)
    bases = {_ruleset(p) for p in CASES} - {None}
    assert bases
    for base in sorted(bases):
        assert main(["validate", base]) == 0, capsys.readouterr().err
        assert main(["run", base, "--example"]) == 0, capsys.readouterr().err


def test_catalogue_is_not_empty():
    assert len(CASES) >= 192
