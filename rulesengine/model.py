"""The checked ruleset: typed declarations with their formulas parsed and located.

Built by :func:`rulesengine.checker.check`; read by the graph, the evaluator and reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP
from typing import Any, Callable

from . import ast
from .datatypes import Type
from .document import Document
from .errors import RulesWarning
from .source import Span

ROUNDING_MODES = {
    "half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN,
    "up": ROUND_UP, "floor": ROUND_FLOOR, "ceiling": ROUND_CEILING,
}


@dataclass(frozen=True)
class Rounding:
    places: int = 2
    mode: str = "half_up"

    def __str__(self) -> str:
        return f"{self.places} places, {self.mode}"


@dataclass
class Declaration:
    """Something with an id that a formula can name (or, for checks, a named condition)."""

    id: str
    label: str
    type: Type
    citation: str
    span: Span  # of the id key in the YAML
    note: str | None = None

    kind = "declaration"


@dataclass
class Parameter(Declaration):
    value: Any = None
    open: bool = False
    kind = "parameter"


@dataclass
class Input(Declaration):
    minimum: Any = None
    maximum: Any = None
    kind = "input"


@dataclass
class Table(Declaration):
    key_type: Type = None
    rows: dict = field(default_factory=dict)  # key -> value
    kind = "table"


@dataclass
class Rule(Declaration):
    formula: str = ""
    tree: ast.Node | None = None
    rounding: Rounding | None = None
    kind = "rule"


@dataclass
class Check(Declaration):
    formula: str = ""  # the condition
    tree: ast.Node | None = None
    severity: str = "error"
    message: str = ""
    side_type: Type | None = None  # common type of the two sides, when the condition compares
    kind = "check"


@dataclass
class FactSet:
    """Facts written inside the ruleset (an example, or a test's own facts)."""

    values: dict[str, Any]
    span_of: Callable[[tuple], Span]  # of a value
    key_span_of: Callable[[tuple], Span]  # of the key that names it


@dataclass
class Example:
    id: str
    label: str
    facts: FactSet
    span: Span


@dataclass
class TestCase:
    id: str
    label: str
    span: Span
    example: str | None
    facts: FactSet
    expect: dict[str, Any]  # typed expected values
    expect_spans: dict[str, Span]
    expect_failed_checks: tuple[str, ...] | None


@dataclass
class Metadata:
    id: str
    title: str
    issuer: tuple[str, ...]
    document_number: str
    issued: date
    effective_from: date
    effective_to: date | None
    seed: str
    file: str


@dataclass
class Ruleset:
    meta: Metadata
    document: Document
    enums: dict[str, Type]
    declarations: dict[str, Declaration]  # inputs, parameters, tables, rules, checks
    examples: dict[str, Example]
    tests: dict[str, TestCase]
    warnings: list[RulesWarning] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Declaration]:
        return [d for d in self.declarations.values() if d.kind == kind]

    def reference(self, decl: Declaration) -> str:
        """Policy citation as people read it: 三医保〔2024〕6号 三(三)6."""
        return f"{self.meta.document_number} {decl.citation}"
