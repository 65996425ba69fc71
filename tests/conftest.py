import json
import pathlib

import pytest

from rulesengine.loader import load_ruleset

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
