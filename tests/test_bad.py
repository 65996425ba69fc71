"""Each file in tests/bad/ is a ruleset with one mistake; its first line says which error
code it must produce and where (``# expect: CODE LINE:COL``, worked out by hand).

`rulesengine validate FILE` must exit 2, print that located error, and no traceback.
"""

import pathlib
import re

import pytest

from rulesengine.cli import main

BAD = pathlib.Path(__file__).parent / "bad"
CASES = sorted(BAD.glob("*.yaml"))


def _expectation(path: pathlib.Path) -> tuple[str, int, int]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# expect: ([a-z-]+) (\d+):(\d+)", first)
    assert match, f"{path.name}: first line must be '# expect: CODE LINE:COL'"
    return match.group(1), int(match.group(2)), int(match.group(3))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_bad_ruleset_is_reported_at_its_position(path, capsys, monkeypatch):
    monkeypatch.chdir(BAD.parent.parent)
    code, line, col = _expectation(path)
    relative = path.relative_to(BAD.parent.parent).as_posix()
    status = main(["validate", relative])
    err = capsys.readouterr().err
    assert status == 2
    assert f"{relative}:{line}:{col}: error[{code}]:" in err, err
    assert "Traceback" not in err
    assert "hint:" in err, "every catalogued error carries a hint"


def test_catalogue_is_not_empty():
    assert len(CASES) >= 12
