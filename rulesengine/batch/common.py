"""What both kinds of batch run share: exit codes, the fast path's notice, cell values and
the table options of the command line."""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from typing import Any

from ..core.datatypes import shift
from ..check.model import CLEARING_YEAR
from ..core.i18n import _
from ..evaluate.evaluator import Program
from .read import Column, TableOptions, load_mapping

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def missing_facts(program: Program, given: set[str]) -> list[str]:
    ruleset = program.ruleset
    order, _ = program.graph.plan(None)
    missing = []
    for node_id in order:
        decl = ruleset.declarations[node_id]
        if decl.entity is None and decl.required:
            if node_id not in given and node_id != CLEARING_YEAR and program.graph.graph.out_degree(node_id):
                missing.append(node_id)
    return missing


def fallback_notice(fallbacks: dict[str, str]) -> None:
    """Which rules the fast path handed to the Decimal path (same results, slower). The fast
    path's reasons are not in the message catalogue yet: shown under RULESENGINE_DEBUG only."""
    if not fallbacks:
        return
    debug = os.environ.get("RULESENGINE_DEBUG")
    names = ", ".join(f"{node} ({why})" if debug else node for node, why in fallbacks.items())
    print(_("notice: computed on the Decimal path (same results, slower): {ids}").format(ids=names),
          file=sys.stderr)


def python_value(column: Column, value: tuple) -> Any:
    if not column.numeric:
        return value[0]
    ints, scale = value
    if column.kind == "integer":
        return int(ints)
    if column.kind == "money":
        return shift(Decimal(ints), -2)
    return shift(Decimal(ints), -scale) if scale else Decimal(ints)  # exact: no 28-digit rounding


def table_options(args) -> TableOptions:
    """--encoding and --columns, the mapping file read once."""
    if getattr(args, "_table_options", None) is None:
        columns = load_mapping(args.columns) if getattr(args, "columns", None) else {}
        args._table_options = TableOptions(getattr(args, "encoding", None), columns)
    return args._table_options
