"""Formula syntax trees: frozen dataclasses, each node with the span of its source text.

``start`` and ``end`` are character offsets into the formula string (used to splice
values into the formula for traces); ``span`` is the same region in the YAML file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..core.source import Span


@dataclass(frozen=True)
class Node:
    span: Span
    start: int
    end: int


@dataclass(frozen=True)
class Number(Node):
    value: Decimal
    integer: bool


@dataclass(frozen=True)
class Percent(Node):
    value: Decimal  # already divided by 100: 5% -> 0.05


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True)
class DateLiteral(Node):
    value: date


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class BinOp(Node):
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare(Node):
    op: str  # < <= > >= == !=
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # and, or
    left: Node
    right: Node


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class IfElse(Node):
    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True)
class Call(Node):
    function: str
    function_span: Span
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Aggregate(Node):
    """``sum(members.budget where budget > 0)``: ``collection`` members, ``field`` budget."""

    function: str
    function_span: Span
    collection: str
    field: str | None
    operand_span: Span  # of ``members.budget``
    where: Node | None


@dataclass(frozen=True)
class Lookup(Node):
    table: str
    table_span: Span
    keys: tuple[Node, ...]


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``, left to right."""
    if isinstance(node, (Neg, Not)):
        return (node.operand,)
    if isinstance(node, (BinOp, Compare, BoolOp)):
        return (node.left, node.right)
    if isinstance(node, IfElse):
        return (node.condition, node.then, node.otherwise)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Lookup):
        return node.keys
    if isinstance(node, Aggregate) and node.where is not None:
        return (node.where,)
    return ()


def walk(node: Node):
    """Every node of the tree, parents before children."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def references(node: Node) -> list[Name]:
    """Name nodes in source order, outside aggregations (whose filters have their own scope)."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Name):
            found.append(current)
        if not isinstance(current, Aggregate):
            stack.extend(reversed(children(current)))
    return found
