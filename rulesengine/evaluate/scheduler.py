"""One walk over a plan, whichever back-end computes the values.

:func:`walk` visits the planned declarations in dependency order and decides, the same way for
the Decimal back-end (:class:`.evaluator.Program`) and the fixed-point back-end
(:class:`.fixedpoint.FastProgram`), what is computed, what is skipped (and because of which
failed node) and how an error is captured. A back-end implements :class:`Backend`: it binds a
fact and computes a rule or check; it never decides the order or the skipping itself.
"""

from __future__ import annotations

from typing import Callable, Protocol

from ..check.graph import RulesetGraph
from ..check.model import Input, Parameter, Table
from ..core.errors import EvaluationError, RulesError
from ..core.i18n import _, context_of
from .semantics import ARITHMETIC_ERRORS, arithmetic_error


class Backend(Protocol):
    """What :func:`walk` asks of a back-end."""

    def has_records(self, decl) -> bool:
        """Whether the collection a per-record declaration runs over was given."""

    def fact(self, decl: Input | Parameter) -> None:
        """Bind an input or parameter; a problem raises :class:`EvaluationError`."""

    def node(self, decl) -> None:
        """Compute a rule or check; a problem raises :class:`EvaluationError` or a Decimal trap."""


def walk(graph: RulesetGraph, order: list[str], backend: Backend, *, failed: set[str], skipped: dict[str, str],
         errors: list[RulesError], progress: Callable[[str], None] | None = None) -> None:
    """Evaluate ``order`` with ``backend``: ``failed`` collects the ids that failed (it may come
    in with the missing facts), ``skipped`` maps an id to the failed node or absent collection
    it needed, ``errors`` receives every error, located."""
    decls = graph.ruleset.declarations
    entities = graph.ruleset.entities
    for node_id in order:
        decl = decls[node_id]
        if isinstance(decl, Table) or node_id in failed:
            continue
        if progress is not None:
            progress(node_id)
        if decl.entity is not None and not backend.has_records(decl):
            skipped[node_id] = entities[decl.entity].collection
            continue
        is_fact = isinstance(decl, (Input, Parameter))
        if not is_fact and (failed or skipped):
            blocked = next((d for d in graph.dependencies(node_id) if d in failed or d in skipped), None)
            if blocked is not None:
                skipped[node_id] = skipped.get(blocked, blocked)
                continue
        try:  # (inline, not a helper: this loop runs once per node of every evaluation)
            if is_fact:
                backend.fact(decl)
            else:
                backend.node(decl)
        except EvaluationError as err:
            failed.add(node_id)
            errors.append(err)
        except ARITHMETIC_ERRORS as exc:
            failed.add(node_id)
            errors.append(arithmetic_error(decl, exc))


# --- records that fail on their own --------------------------------------------------------------
# A run-time error in one record (a division by zero for one institution) fails that record
# only: its value is absent, the per-record values that need it are absent for the same record
# (or its children, or its parent), and a value over many records that needs it fails, naming
# the records. Both back-ends carry failed rows by these two functions.
def carried_rows(ruleset, decl, dep, rows: list[int], parent_rows: Callable[[str], list[int]]
                 ) -> list[int] | None:
    """Rows of ``decl`` left without a value because ``dep`` has none in ``rows`` (ascending):
    the same rows, a child's rows of a failed parent, a parent's rows with a failed child; None
    when ``decl`` is a value over many records (a total), which then cannot be computed."""
    if decl.entity == dep.entity:
        return rows
    if decl.entity is None or dep.entity is None:
        return None
    entities = ruleset.entities
    if entities[decl.entity].parent == dep.entity:
        failed = set(rows)
        return [row for row, parent in enumerate(parent_rows(entities[decl.entity].collection)) if parent in failed]
    if entities[dep.entity].parent == decl.entity:
        parents = parent_rows(entities[dep.entity].collection)
        return sorted({parents[row] for row in rows})
    return None


def record_error(error: RulesError, key, collection: str) -> RulesError:
    """``error`` of one record, its message naming the record."""
    error.message = _("record '{key}' of {collection}: {message}").format(
        key=key, collection=collection, message=error.message)
    error.args = (error.message,)
    return error


def needs_failed_records(ruleset, decl, dep: str, keys: list) -> EvaluationError:
    """A value over many records that needs ``dep`` of records that failed (``keys``)."""
    collection = ruleset.entities[ruleset.declarations[dep].entity].collection
    shown = ", ".join(repr(k) for k in keys[:10]) + (" ..." if len(keys) > 10 else "")
    return EvaluationError(
        _("'{id}' cannot be computed: it needs '{dep}' of {count} record(s) of {collection} that "
          "could not be computed: {keys}").format(id=decl.id, dep=dep, count=len(keys),
                                                  collection=collection, keys=shown),
        span=decl.span, context=context_of(decl),
        hint=_("correct those records (their errors are listed above), or guard the rule"))
