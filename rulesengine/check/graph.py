"""Checked ruleset -> dependency graph (networkx): the program that the evaluator runs.

Nodes are the ids of inputs, parameters, tables, rules and checks; an edge ``a -> b``
means "b's formula uses a", and carries the span of that use. Cycles are errors that
name every edge; inputs, parameters and tables nothing uses are warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from ..load import ast
from ..core.errors import CheckFailed, CycleError, UnknownTargetError, UnusedWarning, did_you_mean
from ..core.i18n import _, kind_name
from .model import CLEARING_YEAR, Check, Declaration, Rule, Ruleset


@dataclass
class RulesetGraph:
    ruleset: Ruleset
    graph: nx.DiGraph
    order: list[str]  # a topological order, stable across runs (document order breaks ties)

    def decl(self, node_id: str) -> Declaration:
        return self.ruleset.declarations[node_id]

    _ancestors: dict = field(default_factory=dict, repr=False, compare=False)
    _every_target: list | None = field(default=None, repr=False, compare=False)

    def requirements(self, targets: list[str]) -> set[str]:
        """The targets and everything they depend on."""
        needed = set(targets)
        for target in targets:
            found = self._ancestors.get(target)
            if found is None:  # the graph never changes once built: each node's ancestors once
                found = self._ancestors[target] = frozenset(nx.ancestors(self.graph, target))
            needed |= found
        return needed

    def plan(self, targets: list[str] | None = None) -> tuple[list[str], list[str]]:
        """(nodes to evaluate in order, targets), for the given targets or for everything.

        With targets, the checks whose inputs are all among the needed nodes come along, so
        a partial run still reports what the document demands of the values it computes.
        """
        if not targets:
            if self._every_target is None:  # the whole plan, made once per graph
                self._every_target = [n for n in self.order if self.decl(n).kind in ("rule", "check")]
            return list(self.order), list(self._every_target)
        for target in targets:
            if target not in self.graph:
                raise UnknownTargetError(_("unknown target '{id}'").format(id=target),
                                         hint=did_you_mean(target, self.ruleset.declarations))
        needed = self.requirements(targets)
        for node in self.order:
            if isinstance(self.decl(node), Check) and nx.ancestors(self.graph, node) <= needed:
                needed.add(node)
        return [n for n in self.order if n in needed], targets

    def dependencies(self, node_id: str) -> list[str]:
        """Direct dependencies in the order of first use in the formula."""
        return self._dependencies[node_id]

    def __post_init__(self) -> None:
        self._dependencies = {
            node: [a for a, _, data in sorted(self.graph.in_edges(node, data=True),
                                             key=lambda e: e[2]["order"])]
            for node in self.graph}


def build_graph(ruleset: Ruleset) -> RulesetGraph:
    """Build the graph; raise CheckFailed on cycles, record unused facts as warnings."""
    graph = nx.DiGraph()
    position = {}
    for index, decl in enumerate(ruleset.declarations.values()):
        graph.add_node(decl.id, kind=decl.kind)
        position[decl.id] = index
    for decl in ruleset.declarations.values():
        if isinstance(decl, (Rule, Check)) and decl.tree is not None:
            for order, (used, span) in enumerate(uses(ruleset, decl.tree, decl.entity)):
                if not graph.has_edge(used, decl.id):
                    graph.add_edge(used, decl.id, span=span, order=order)
    cycles = _cycle_errors(graph, ruleset)
    if cycles:
        raise CheckFailed(cycles)
    order = list(nx.lexicographical_topological_sort(graph, key=position.__getitem__))
    # Keys and parent links shape the collections, and clearing_year sets the as-of date:
    # they are used even when no formula names them.
    structural = {f"{e.id}.{e.key}" for e in ruleset.entities.values()} | \
        {f"{e.id}.{e.parent}" for e in ruleset.entities.values() if e.parent} | {CLEARING_YEAR}
    for decl in ruleset.declarations.values():
        if decl.kind in ("input", "parameter", "table") and graph.out_degree(decl.id) == 0 \
                and decl.id not in structural:
            ruleset.warnings.append(UnusedWarning(
                _("{kind} '{id}' ({label}) is not used by any rule or check").format(
                    kind=kind_name(decl.kind), id=decl.id, label=decl.label),
                span=decl.span, hint=_("remove it, or use it in a formula")))
    return RulesetGraph(ruleset, graph, order)


def uses(ruleset: Ruleset, tree: ast.Node, scope: str | None):
    """(declaration id, span of the use) for each name, look-up and aggregation in a formula
    of entity ``scope``; an aggregation uses its field (or, for count, the key) and the
    names of its filter, read in the scope of the aggregated entity."""
    stack = [(tree, scope)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, ast.Name):
            decl = ruleset.resolve(node.id, where)
            if decl is not None:
                yield decl.id, node.span
        elif isinstance(node, ast.Lookup):
            if node.table in ruleset.declarations:
                yield node.table, node.table_span
        elif isinstance(node, ast.Aggregate):
            entity = ruleset.collections.get(node.collection)
            if entity is not None:
                yield f"{entity.id}.{node.field or entity.key}", node.operand_span
                if node.where is not None:
                    stack.append((node.where, entity.id))
            continue
        stack.extend((child, where) for child in reversed(ast.children(node)))


def _cycle_errors(graph: nx.DiGraph, ruleset: Ruleset) -> list[CycleError]:
    errors = []
    for component in nx.strongly_connected_components(graph):
        members = sorted(component, key=lambda n: ruleset.declarations[n].span)
        if len(members) == 1 and not graph.has_edge(members[0], members[0]):
            continue
        edges = nx.find_cycle(graph.subgraph(members), source=members[0])
        path = " -> ".join([members[0]] + [b for _used, b in edges])
        related = [(_("'{user}' uses '{used}' here").format(user=b, used=a), graph.edges[a, b]["span"])
                   for a, b in edges]
        first = edges[-1]
        errors.append(CycleError(
            _("dependency cycle: {path}").format(path=path) if len(edges) > 1
            else _("'{id}' uses itself").format(id=members[0]),
            span=graph.edges[first]["span"], related=related,
            hint=_("a rule cannot depend on its own result; break the cycle with an input or "
                   "a separate rule")))
    return errors
