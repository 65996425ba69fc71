"""Collections in facts -> typed columns: the records of each entity, keyed and linked.

Facts give a collection as a list of records (``members: [{code: M01, budget: ...}]``); a
child collection is either a list of its own whose records name their parent's key
(``cases: [{institution: H001, ...}]``) or nested inside the parent's records. Binding
produces one :class:`Records` per entity: a column per field, the row of each record's
parent, and each record's child rows, so rules run column-wise and aggregations grouped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.datatypes import ValueProblem, coerce, display
from ..core.errors import ConstraintError, DuplicateIdError, FactError, RulesError, UnknownFactError, did_you_mean
from ..core.i18n import _
from ..check.model import Entity, FactSet, Input, Ruleset


@dataclass
class Records:
    entity: str
    keys: list[Any]
    columns: dict[str, list[Any]]  # field name -> values (None where a record lacks the field)
    paths: list[tuple]  # where each record is in the facts, for messages
    parent_rows: list[int] = field(default_factory=list)  # row of each record's parent
    children: dict[str, list[list[int]]] = field(default_factory=dict)  # collection -> rows per record

    def __len__(self) -> int:
        return len(self.keys)


def bind_records(ruleset: Ruleset, facts: FactSet, errors: list[RulesError]) -> dict[str, Records]:
    """Type the records of every collection in ``facts``; problems go to ``errors``."""
    raw: dict[str, list[tuple[dict, tuple]]] = {}
    for name, items in facts.values.items():
        entity = ruleset.collections.get(name)
        if entity is not None:
            _collect(ruleset, facts, entity, items, (name,), None, raw, errors)
    for entity in ruleset.entities.values():  # a given parent has zero or more children
        if entity.parent in raw and entity.id not in raw:
            raw[entity.id] = []
    bound = {entity_id: _bind(ruleset, facts, ruleset.entities[entity_id], items, errors)
             for entity_id, items in raw.items()}
    for entity_id, records in bound.items():
        parent = ruleset.entities[entity_id].parent
        if parent is not None:
            _link(ruleset, facts, records, bound.get(parent), errors)
    return {ruleset.entities[entity_id].collection: records for entity_id, records in bound.items()}


def _collect(ruleset: Ruleset, facts: FactSet, entity: Entity, items: Any, path: tuple,
             parent_key: Any, raw: dict, errors: list[RulesError]) -> None:
    if not isinstance(items, list):
        errors.append(FactError(_("'{collection}' is a collection: a list of {entity} records").format(
                                    collection=entity.collection, entity=entity.label), span=facts.span_of(path),
                                hint=_("write {collection}: [{{{key}: ..., ...}}, ...]").format(
                                    collection=entity.collection, key=entity.key)))
        return
    bucket = raw.setdefault(entity.id, [])
    for i, item in enumerate(items):
        where = path + (i,)
        if not isinstance(item, dict):
            errors.append(FactError(_("a record of '{collection}' must be a mapping of fields").format(
                                        collection=entity.collection),
                                    span=facts.span_of(where),
                                    hint=_("write {{{key}: ..., ...}}").format(key=entity.key)))
            continue
        fields = dict(item)
        nested = [(name, fields.pop(name)) for name in list(fields)
                  if name in ruleset.collections and ruleset.collections[name].parent == entity.id]
        if parent_key is not None:
            own = fields.setdefault(entity.parent, parent_key)
            if own != parent_key:
                errors.append(FactError(
                    _("a record nested in {parent} {key} names {parent} {own}").format(
                        parent=entity.parent, key=repr(parent_key), own=repr(own)),
                    span=facts.span_of(where + (entity.parent,)),
                    hint=_("a nested record belongs to the record it is nested in; drop its "
                           "'{parent}' field, or move the record").format(parent=entity.parent)))
        bucket.append((fields, where))
        for name, children in nested:
            _collect(ruleset, facts, ruleset.collections[name], children, where + (name,),
                     fields.get(entity.key), raw, errors)


def _bind(ruleset: Ruleset, facts: FactSet, entity: Entity, items: list[tuple[dict, tuple]],
          errors: list[RulesError]) -> Records:
    decls = {name: ruleset.declarations[f"{entity.id}.{name}"] for name in entity.names
             if isinstance(ruleset.declarations[f"{entity.id}.{name}"], Input)}
    records = Records(entity.id, [], {name: [] for name in decls}, [])
    seen: dict[Any, tuple] = {}
    for fields, where in items:
        for name in fields:
            if name not in decls:
                errors.append(UnknownFactError(
                    _("unknown field '{name}' in a record of '{collection}'").format(
                        name=name, collection=entity.collection),
                    span=facts.key_span_of(where + (name,)),
                    hint=did_you_mean(name, decls) or _("fields of {entity}: {names}").format(
                        entity=entity.id, names=", ".join(decls))))
        for name, decl in decls.items():
            value = None
            if name in fields:
                value = _typed(ruleset, facts, decl, fields[name], where + (name,), errors)
            records.columns[name].append(value)
        key = records.columns[entity.key][-1]
        if key is None and entity.key not in fields:
            errors.append(FactError(_("a record of '{collection}' has no '{key}'").format(
                                        collection=entity.collection, key=entity.key),
                                    span=facts.span_of(where),
                                    hint=_("each record is identified by its {key}").format(key=entity.key)))
        elif key in seen:
            errors.append(DuplicateIdError(
                _("two records of '{collection}' have {key} {value}").format(
                    collection=entity.collection, key=entity.key, value=display(key, decls[entity.key].type)),
                span=facts.span_of(where + (entity.key,)),
                related=[(_("the first record"), facts.span_of(seen[key] + (entity.key,)))],
                hint=_("the {key} identifies a record; merge or correct them").format(key=entity.key)))
        seen.setdefault(key, where)
        records.keys.append(key)
        records.paths.append(where)
    return records


def _typed(ruleset: Ruleset, facts: FactSet, decl: Input, raw: Any, where: tuple,
           errors: list[RulesError]) -> Any:
    try:
        value = coerce(raw, decl.type)
    except ValueProblem as problem:
        errors.append(FactError(_("field '{name}' ({label}): {problem} (expected {type})").format(
                                    name=decl.name, label=decl.label, problem=problem.message, type=decl.type),
                                span=facts.span_of(where), hint=problem.hint))
        return None
    low, high = decl.minimum, decl.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        bound = _("below the minimum {limit}").format(limit=display(low, decl.type)) \
            if low is not None and value < low \
            else _("above the maximum {limit}").format(limit=display(high, decl.type))
        errors.append(ConstraintError(_("field '{name}' ({label}) is {value}, {bound}").format(
                                          name=decl.name, label=decl.label, value=display(value, decl.type),
                                          bound=bound), span=facts.span_of(where),
                                      hint=_("the ruleset requires it ({reference})").format(
                                          reference=ruleset.reference(decl))))
        return None
    return value


def _link(ruleset: Ruleset, facts: FactSet, records: Records, parent: Records | None,
          errors: list[RulesError]) -> None:
    entity = ruleset.entities[records.entity]
    if parent is None:
        parent_entity = ruleset.entities[entity.parent]
        if records.keys:
            errors.append(FactError(_("'{collection}' belong to {parent}, which the facts do not give").format(
                                        collection=entity.collection, parent=parent_entity.collection),
                                    span=facts.span_of(records.paths[0]),
                                    hint=_("add '{parent}: [...]'").format(parent=parent_entity.collection)))
        return
    row_of = {key: row for row, key in enumerate(parent.keys)}
    groups: list[list[int]] = [[] for _key in parent.keys]
    for row, (owner, where) in enumerate(zip(records.columns[entity.parent], records.paths)):
        parent_row = row_of.get(owner)
        if parent_row is None:
            errors.append(FactError(
                _("record of '{collection}' names {parent} {key}, which is not in {parents}").format(
                    collection=entity.collection, parent=entity.parent, key=repr(owner),
                    parents=ruleset.entities[entity.parent].collection),
                span=facts.span_of(where + (entity.parent,)),
                hint=did_you_mean(str(owner), [str(k) for k in parent.keys]) or
                _("give '{parent}' the key of one of the {label} records").format(
                    parent=entity.parent, label=ruleset.entities[entity.parent].label)))
            parent_row = -1
        else:
            groups[parent_row].append(row)
        records.parent_rows.append(parent_row)
    parent.children[entity.collection] = groups
