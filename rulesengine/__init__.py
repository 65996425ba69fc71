"""rulesengine: medical-insurance payment policies as typed, explainable rulesets.

The pipeline, one folder per stage, each importing only the stages before it:
``core`` (positions, errors, messages, value types) -> ``load`` (YAML + JSON Schema, formulas)
-> ``check`` (names, types, the dependency graph) -> ``evaluate`` (facts, exact evaluation,
traces) -> ``views`` (text, JSON, HTML, Markdown, pictures, workbook) -> ``batch`` and
``commands`` -> ``cli``.
"""

from .evaluate.driver import load_program
from .core.errors import RulesError
from .evaluate.evaluator import Evaluation, Program
from .evaluate.facts import bind_facts, read_facts

__all__ = ["Evaluation", "Program", "RulesError", "bind_facts", "load_program", "read_facts"]
__version__ = "0.1.0"
