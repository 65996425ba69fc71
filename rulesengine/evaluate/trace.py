"""Trace nodes: what was computed, from what, by which formula, under which clause.

A trace is flat: one :class:`TraceNode` per evaluated graph node, in evaluation order,
each naming the ids it used. A per-record node (a field, rule or check of an entity)
lists each record's value under ``records``. Views (text tree, JSON) live in :mod:`rulesengine.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from ..core.datatypes import Type, display
from ..core.source import Span

TRACE_FORMAT_VERSION = 2


# --- what a node says besides its value: typed, read alike by every view ---------------------------
@dataclass(frozen=True)
class Rounding:
    """How a rule's rounding changed its value."""

    places: int
    mode: str
    before: Any  # the value before rounding


@dataclass(frozen=True)
class Lookup:
    """One table look-up of a formula."""

    table: str
    label: str
    key: Any
    value: Any
    type: Type
    reference: str


@dataclass(frozen=True)
class Branch:
    """One ``if`` of a formula, and the branch taken."""

    condition: str  # the condition's text
    value: Any
    taken: str  # "then" or "else": the formula's own keywords


@dataclass(frozen=True)
class Aggregation:
    """One ``sum``/``count``/... over a collection."""

    function: str
    collection: str
    field: str | None
    records: int  # how many records were taken
    value: Any
    type: Type
    where: str | None  # the condition's text


@dataclass(frozen=True)
class CheckOutcome:
    """A check's result; a comparison also has its two sides and their difference."""

    passed: bool
    severity: str
    message: str
    sides: tuple | None = None
    difference: Any = None
    side_type: Type | None = None


@dataclass(slots=True)
class RecordRow:
    """One record's value of a per-record node. Its display text and its substituted formula are
    made when a view reads them, not during evaluation (a traced city-year has a row per case and
    rule: formatting them all eagerly was most of the cost of a trace)."""

    key: Any
    value: Any
    type: Type  # the node's type: how the value displays
    before_rounding: Any = None  # set when rounding changed the value
    sides: tuple | None = None  # a failed comparison's two sides
    explain: Callable[[], str | None] | None = field(default=None, repr=False, compare=False)

    @property
    def display(self) -> str:
        return display(self.value, self.type)

    @property
    def substituted(self) -> str | None:
        """The formula with this record's values."""
        return self.explain() if self.explain is not None else None


@dataclass
class TraceNode:
    id: str
    kind: Literal["fact", "parameter", "rule", "check"]
    label: str
    type: Type
    value: Any  # the typed value (Decimal, bool, str, ...)
    display: str  # the value as people read it
    reference: str  # document number and clause
    span: Span | None = None
    formula: str | None = None
    substituted: str | None = None  # the formula with the values that went in
    inputs: list[str] = field(default_factory=list)
    rounding: Rounding | None = None  # when rounding changed the value
    lookups: list[Lookup] = field(default_factory=list)
    branches: list[Branch] = field(default_factory=list)
    note: str | None = None
    check: CheckOutcome | None = None
    source: str | None = None  # facts: where the value came from
    aggregates: list[Aggregation] = field(default_factory=list)  # sum/count/... over a collection
    entity: str | None = None  # per-record node of this entity
    module: str | None = None  # declared in this included module
    records: list[RecordRow] | None = None  # per-record nodes: a row per record
