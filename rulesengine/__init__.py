"""rulesengine: medical-insurance payment policies as typed, explainable rulesets.

The pipeline, one module per stage: ``loader`` (YAML + JSON Schema) -> ``checker``
(names and types) -> ``graph`` (networkx dependencies) -> ``evaluator`` (exact Decimal
evaluation, traces) -> ``report`` (text and JSON views).
"""

from .driver import load_program
from .errors import RulesError
from .evaluator import Evaluation, Program
from .facts import bind_facts, read_facts

__all__ = ["Evaluation", "Program", "RulesError", "bind_facts", "load_program", "read_facts"]
__version__ = "0.1.0"
