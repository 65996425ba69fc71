"""What a batch run writes besides the values: the output columns (id, Chinese label, type),
the side sheets of the .xlsx (totals, failed checks, the run's facts and parameters), and the
refusal to write over an input."""

from __future__ import annotations

import os

from ..check.model import Check, Input, Parameter
from ..core.errors import UsageError
from ..core.i18n import N_, _
from .write import Field, Sheets, _text

TAIL = [Field("failed_checks", N_("failed checks"), worded=True),
        Field("errors", N_("errors in computing"), worded=True)]


def refuse_overwriting_inputs(args) -> None:
    """An output (OUT, its error report, a trace or pack directory or file) that is the same
    file as an input (ruleset, facts, table), by inode through symlinks: refused before
    anything is read. A directory output is refused when an input lies directly in it."""
    inputs = [p for p in [args.ruleset, args.facts] + [table_path(t) for t in args.table]
              if p and os.path.exists(p)]
    outputs = [args.output, args.output + ".errors.csv"]
    folders = [p for p in (getattr(args, "traces", None), getattr(args, "pack", None)) if p]
    for target in outputs + [p for p in folders if not os.path.isdir(p)]:
        for source in inputs:
            if os.path.exists(target) and os.path.samefile(target, source):
                raise UsageError(_("'{output}' is the input file '{input}': it would be overwritten").format(
                    output=target, input=source), hint=_("write the results to another file"))
    for folder in (p for p in folders if os.path.isdir(p)):
        for source in inputs:
            if os.path.samefile(os.path.dirname(os.path.abspath(source)), folder):
                raise UsageError(_("'{folder}' holds the input file '{input}': writing there could "
                                   "overwrite it").format(folder=folder, input=source),
                                 hint=_("write the traces to an empty directory"))


def table_path(item: str) -> str:
    """The file of a ``--table [NAME=]FILE`` argument."""
    name, sep, path = item.partition("=")
    return path if sep and not os.path.exists(item) else item


def entity_fields(ruleset, target: str, columns: list[str], with_parent: bool) -> list[Field]:
    """The columns of a collection's output: its key, its parent's key, its rules, then the
    failed checks and the run-time errors of each record."""
    entity = ruleset.collections[target]
    decls = ruleset.declarations
    key = decls.get(f"{entity.id}.{entity.key}")
    fields = [Field(entity.key, key.label if key else entity.key, key.type if key else None)]
    if with_parent:
        fields.append(Field(entity.parent, ruleset.entities[entity.parent].label))
    return fields + [Field(decls[c].name, decls[c].label, decls[c].type) for c in columns] + TAIL


def row_fields(ruleset, key_title: str, rules: list[str]) -> list[Field]:
    """The columns of a row-mode output: the row's key, the rules, failed checks, errors."""
    decls = ruleset.declarations
    return [Field(key_title, key_title)] + [Field(r, decls[r].label, decls[r].type) for r in rules] + TAIL


def sheets(ruleset, args, scalars: dict, title: str | None, collection: str, totals: list, checks: list[str],
           value_of) -> Sheets:
    """The .xlsx side sheets; ``checks`` are the ids of the checks the failed-check column names
    (by their name in a collection, by id in row mode)."""
    decls = ruleset.declarations
    words = {(decls[c].name if collection else c): (decls[c].label, decls[c].severity, decls[c].message)
             for c in checks if isinstance(decls[c], Check)}
    return Sheets(title, collection, totals, words, input_rows(ruleset, args, scalars, value_of))


def input_rows(ruleset, args, scalars: dict, value_of) -> list[tuple]:
    """The run's shared facts and parameters: (id, label, value, type, source, citation)."""
    rows = []
    for decl in ruleset.declarations.values():
        if decl.entity is not None or not isinstance(decl, (Input, Parameter)):
            continue
        value = value_of(decl.id)
        if value is None:
            continue
        rows.append((decl.id, decl.label, _text(value, decl.type), decl.type,
                     args.facts if decl.id in scalars else args.ruleset, ruleset.reference(decl)))
    return rows
