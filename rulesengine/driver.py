"""The pipeline in one call: file -> document -> checked ruleset -> graph -> program."""

from __future__ import annotations

from .checker import check
from .evaluator import Program
from .graph import build_graph
from .loader import load_ruleset


def load_program(path: str) -> Program:
    """Load, check and compile a ruleset. Raises a RulesError (often CheckFailed)."""
    return Program(build_graph(check(load_ruleset(path))))
