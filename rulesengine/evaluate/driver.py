"""The pipeline in one call: file -> document -> checked ruleset -> graph -> program."""

from __future__ import annotations

from ..check.checker import check
from .evaluator import Program
from ..check.graph import build_graph
from ..load.loader import load_ruleset


def load_program(path: str) -> Program:
    """Load, check and compile a ruleset. Raises a RulesError (often CheckFailed)."""
    return Program(build_graph(check(load_ruleset(path))))
