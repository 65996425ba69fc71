"""The package is laid out by pipeline stage, and data flows one way.

``core -> load -> check -> evaluate -> views -> batch | commands -> cli``: a module imports only
from its own stage and the stages before it (``batch`` and ``commands`` stand side by side and do
not import each other). Imports are read with ``ast``, so a lazy import inside a function counts
as much as one at the top of a file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rulesengine"
RANK = {"core": 0, "load": 1, "check": 2, "evaluate": 3, "views": 4, "batch": 5, "commands": 5,
        "serve": 6, "top": 7}
TOP = ("cli", "__init__", "__main__")  # the command line and the package's face, above every stage


def _stage(parts: tuple[str, ...]) -> str:
    """Stage of a module given its dotted path inside the package."""
    name = parts[0].removesuffix(".py")
    return "top" if name in TOP else name


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, path.relative_to(PACKAGE).parts


def _imported(path: Path, parts: tuple[str, ...]):
    """(line, stage) of every module of the package that the file imports."""
    package = ["rulesengine", *parts[:-1]]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "rulesengine":
                target = node.module.split(".")
            else:
                continue
            names = [target + [alias.name] for alias in node.names] if len(target) == 1 else [target]
            for name in names:
                yield node.lineno, name[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "rulesengine" and "." in alias.name:
                    yield node.lineno, alias.name.split(".")[1]


def test_every_module_sits_in_a_known_stage():
    unknown = sorted({_stage(parts) for _path, parts in _modules()} - set(RANK))
    assert not unknown, f"folders or modules outside the pipeline: {unknown}"


def test_no_stage_imports_from_a_stage_above_it():
    wrong = []
    for path, parts in _modules():
        here = _stage(parts)
        for line, there in _imported(path, parts):
            there = _stage((there,))
            if there not in RANK:
                continue
            upward = RANK[there] > RANK[here]
            sideways = RANK[there] == RANK[here] and there != here
            if upward or sideways:
                wrong.append(f"rulesengine/{'/'.join(parts)}:{line} ({here}) imports {there}")
    assert not wrong, "imports against the pipeline:\n" + "\n".join(wrong)


@pytest.mark.parametrize("source, expected", [
    ("from ..evaluate.evaluator import Program\n", [(1, "evaluate")]),
    ("from ..core import i18n\n", [(1, "core")]),
    ("from .read import Column\n", [(1, "batch")]),
    ("def f():\n    from rulesengine.views.report import trace_json\n", [(2, "views")]),
    ("import json\nfrom lark import Lark\n", []),
])
def test_imports_are_resolved_to_their_stage(tmp_path, source, expected):
    # the checker itself must see upward imports, or the test above could never fail
    path = tmp_path / "run.py"
    path.write_text(source, encoding="utf-8")
    assert list(_imported(path, ("batch", "run.py"))) == expected
