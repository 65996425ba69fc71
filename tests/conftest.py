import json
import pathlib

import pytest

from rulesengine.core.i18n import set_language
from rulesengine.load.loader import load_ruleset

try:  # the hypothesis profiles (README, "Fuzzing"): bounded and seeded by default
    from hypothesis import HealthCheck, Phase, settings
except ImportError:  # only the fuzz tests need hypothesis (the `test` extra installs it)
    settings = None
else:
    # No example database and no explain phase (hypothesis's other caches go to the git-ignored
    # .hypothesis/); derandomized by default, so CI runs the same examples every time.
    _COMMON = dict(deadline=None, database=None, print_blob=True,
                   phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much])
    settings.register_profile("ci", max_examples=100, derandomize=True, **_COMMON)
    # python -m pytest -m fuzz --hypothesis-profile long: 200 times the examples, new ones each run
    settings.register_profile("long", max_examples=20_000, derandomize=False, **_COMMON)


def pytest_configure(config):
    if settings is not None and not config.getoption("hypothesis_profile", None):
        settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def english_messages():
    """The tests assert English messages whatever the machine's locale (LANG=zh_CN.UTF-8 would
    make the command speak Chinese); LANGUAGE=en reaches subprocesses too. tests/test_i18n.py
    asks for Chinese with --lang zh or its own environment."""
    patch = pytest.MonkeyPatch()
    patch.setenv("LANGUAGE", "en")
    set_language("en")
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def no_ledger_at_home(monkeypatch):
    """No test writes the user's audit ledger (~/.local/share/rulesengine): recording is off unless
    a test gives --ledger FILE (or sets RULESENGINE_LEDGER itself); subprocesses inherit this."""
    monkeypatch.setenv("RULESENGINE_LEDGER", "off")


@pytest.fixture(autouse=True)
def english_again():
    """A test that ran ``main(["--lang", "zh", ...])`` leaves the language Chinese: back to English."""
    yield
    set_language("en")


ROOT = pathlib.Path(__file__).resolve().parent.parent
SANYA = ROOT / "rulesets" / "sanya_2024.yaml"

# The eight metadata lines of a small test ruleset (its body starts on line 9).
METADATA = """\
format: 1
id: t
title: 测试
issuer: 测试局
document_number: 测〔2024〕1号
issued: 2024-01-01
effective: {from: 2024-01-01}
seed: x.txt
"""


@pytest.fixture
def in_repo(monkeypatch):
    """Run with the repository as working directory, so paths print as rulesets/..."""
    monkeypatch.chdir(ROOT)
    return ROOT


@pytest.fixture
def sanya_facts() -> dict:
    """The facts of Sanya's default example, as plain JSON-able values (decimals as text)."""
    facts = load_ruleset(str(SANYA)).value["examples"]["group_2024"]["facts"]
    return {k: (v if isinstance(v, (bool, str, int)) else str(v)) for k, v in facts.items()}


@pytest.fixture
def write_json(tmp_path):
    def write(data, name="facts.json") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        return str(path)
    return write


def same_file(a: str, b: pathlib.Path) -> bool:
    return pathlib.Path(a).resolve() == b.resolve()


def locate(path: pathlib.Path, needle: str, after: str | None = None) -> tuple[int, int]:
    """1-based (line, column) of the first ``needle`` in the file (on or after the first
    line containing ``after``), counted in characters from the file text itself."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if after in line)
    for number, line in enumerate(lines[start:], start + 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {path}")
