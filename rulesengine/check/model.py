"""The checked ruleset: typed declarations with their formulas parsed and located.

Built by :func:`rulesengine.checker.check`; read by the graph, the evaluator and reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP
from typing import Any, Callable

from ..load import ast
from ..core.datatypes import Type
from ..load.document import Document
from ..core.errors import RulesWarning
from ..core.source import Span

CLEARING_YEAR = "clearing_year"  # the input whose 31 December is the default as-of date

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
    entity: str | None = None  # per-record declaration of this entity; the id is "<entity>.<name>"
    module: str | None = None  # declared in this included module
    overrides: str | None = None  # replaces the declaration of this module
    concept: str | None = None  # glossary id, when the id differs from it

    kind = "declaration"

    @property
    def name(self) -> str:
        """The id as written in its own scope (without the entity prefix)."""
        return self.id.rpartition(".")[2] if self.entity else self.id

    @property
    def is_fact(self) -> bool:
        """Supplied with the facts: an input, a parameter the document leaves open, or a
        table whose rows come with the facts."""
        return False

    @property
    def required(self) -> bool:
        """A fact that has no value unless the facts give it (an open parameter may have a default)."""
        return self.is_fact


@dataclass(frozen=True)
class DatedValue:
    start: date
    value: Any
    citation: str | None
    note: str | None


@dataclass
class Parameter(Declaration):
    value: Any = None
    open: bool = False
    dated: tuple[DatedValue, ...] = ()  # ascending by start; the value in force is chosen by as-of
    kind = "parameter"

    @property
    def is_fact(self) -> bool:
        return self.open

    @property
    def required(self) -> bool:
        """An open parameter without a default must come with the facts."""
        return self.open and self.value is None and not self.dated

    def value_on(self, day: date) -> DatedValue | None:
        """The dated value in force on ``day`` (None before the first)."""
        found = None
        for item in self.dated:
            if item.start <= day:
                found = item
        return found


@dataclass
class Input(Declaration):
    minimum: Any = None
    maximum: Any = None
    kind = "input"

    @property
    def is_fact(self) -> bool:
        return True


@dataclass
class Table(Declaration):
    """A look-up table: rows written in the ruleset, or (``supplied``) given with the facts.

    ``columns`` names the key columns and their types; with one column a row's key is its
    value, with several a tuple in column order."""

    key_type: Type = None  # of the single key column (the first one when there are several)
    rows: dict = field(default_factory=dict)  # key -> value
    columns: tuple[tuple[str, Type], ...] = ()
    supplied: bool = False  # rows come with the facts, under the table's id
    minimum: Any = None  # bounds of a row's value, as an input's
    maximum: Any = None
    kind = "table"

    @property
    def is_fact(self) -> bool:
        return self.supplied

    @property
    def required(self) -> bool:
        return self.supplied


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
class Entity:
    """A kind of record supplied as a list: its fields, rules and checks are declarations
    with ids ``<entity>.<name>``."""

    id: str
    label: str
    collection: str  # the list's name in facts and formulas
    key: str  # name of the identifying field
    parent: str | None
    citation: str
    span: Span
    note: str | None = None
    module: str | None = None
    names: list[str] = field(default_factory=list)  # names of its fields, rules and checks
    key_span: Span | None = None  # of the `key:` value
    parent_span: Span | None = None  # of the `parent:` value

    def ancestors(self, entities: dict[str, "Entity"]) -> list[str]:
        """Parent, grandparent, ... (a cycle of parents is reported by the checker)."""
        chain, current = [], self.parent
        while current is not None and current in entities and current not in chain:
            chain.append(current)
            current = entities[current].parent
        return chain


@dataclass
class Clause:
    """One entry of the clause inventory: how the ruleset treats a clause of its document."""

    clause: str
    summary: str
    status: str  # encoded | input | out-of-scope | todo
    ids: tuple[str, ...]
    reason: str | None
    span: Span
    id_spans: tuple[Span, ...]


@dataclass
class Module:
    """An included shared module (rulesets/modules/<id>.yaml)."""

    id: str
    title: str
    document_number: str
    file: str
    overridden: list[str] = field(default_factory=list)


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
    expect_failed_records: dict[str, frozenset] = field(default_factory=dict)  # check -> record keys


@dataclass
class Metadata:
    id: str
    title: str
    issuer: tuple[str, ...]
    document_number: str
    issued: date | None
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
    entities: dict[str, Entity] = field(default_factory=dict)
    modules: dict[str, Module] = field(default_factory=dict)
    clauses: list[Clause] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.collections = {e.collection: e for e in self.entities.values()}

    def of_kind(self, kind: str) -> list[Declaration]:
        return [d for d in self.declarations.values() if d.kind == kind]

    def fact_names(self) -> list[str]:
        """What a facts file may give: top-level inputs and open parameters, and collections."""
        return [d.id for d in self.declarations.values() if d.entity is None and d.is_fact] + \
            list(self.collections)

    def reference(self, decl: Declaration) -> str:
        """Policy citation as people read it: 三医保〔2024〕6号 三(三)6."""
        if decl.module is not None:
            return f"{self.modules[decl.module].document_number} {decl.citation}"
        if "无文号" in self.meta.document_number or "未标文号" in self.meta.document_number:
            return f"《{self.meta.title}》{decl.citation}"  # a document without a number goes by its title
        return f"{self.meta.document_number} {decl.citation}"

    # --- names in scope -------------------------------------------------------------------
    def resolve(self, name: str, scope: str | None) -> Declaration | None:
        return resolve(self.declarations, self.entities, name, scope)


def resolve(decls: dict[str, Declaration], entities: dict[str, Entity], name: str,
            scope: str | None) -> Declaration | None:
    """What ``name`` means in a formula of entity ``scope`` (None: top level).

    Inside an entity: its own fields and rules, then ``<ancestor>.<name>``, then top-level
    declarations. Per-record declarations are never visible by bare name elsewhere: a
    formula aggregates them (``sum(members.budget)``).
    """
    if scope is not None:
        own = decls.get(f"{scope}.{name}")
        if own is not None:
            return own
        head, _, rest = name.partition(".")
        if rest and head in entities[scope].ancestors(entities):
            return decls.get(name)
    found = decls.get(name)
    return found if found is not None and found.entity is None else None


def aggregates_children(entities: dict[str, Entity], scope: str | None, entity: str) -> bool:
    """True when a record of ``scope`` aggregating ``entity`` sees only its own child records."""
    return scope is not None and entities[entity].parent == scope
