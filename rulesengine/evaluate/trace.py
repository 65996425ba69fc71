"""Trace nodes: what was computed, from what, by which formula, under which clause.

A trace is flat: one :class:`TraceNode` per evaluated graph node, in evaluation order,
each naming the ids it used. A per-record node (a field, rule or check of an entity)
lists each record's value under ``records``. Views (text tree, JSON) live in :mod:`rulesengine.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..core.datatypes import Type
from ..core.source import Span

TRACE_FORMAT_VERSION = 2


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
    rounding: dict | None = None  # {"places", "mode", "before"} when rounding changed the value
    lookups: list[dict] = field(default_factory=list)
    branches: list[dict] = field(default_factory=list)
    note: str | None = None
    check: dict | None = None  # passed, severity, message, sides
    source: str | None = None  # facts: where the value came from
    aggregates: list[dict] = field(default_factory=list)  # sum/count/... over a collection
    entity: str | None = None  # per-record node of this entity
    module: str | None = None  # declared in this included module
    records: list[dict] | None = None  # per-record nodes: key, value, display, substituted
