"""Where a ruleset's parts come from, and how much formula text it may hold.

Modules are looked up beside the ruleset (``modules/<id>.yaml``), then in the project's
``rulesets/modules/``, so that a ruleset copied to another folder still validates. The
formulas of a ruleset and its modules are counted, aliases expanded, before any is parsed.
"""

from __future__ import annotations

import os

from ..core.errors import LimitError, UnknownNameError, did_you_mean
from ..core.i18n import _
from ..core.source import Span

MAX_TOTAL_FORMULA_CHARS = 100_000  # all formulas of a ruleset and its modules, aliases expanded
MODULE_DIR = "modules"  # beside the ruleset: rulesets/modules/<id>.yaml
# Then the project's shared modules (a checkout), so a ruleset copied elsewhere still validates.
PROJECT_MODULES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               "rulesets", MODULE_DIR)


def find_module(ruleset_file: str, module_id: str) -> str | None:
    """The file of a module: beside the ruleset (modules/<id>.yaml), else the project's shared one."""
    folders = (os.path.join(os.path.dirname(ruleset_file), MODULE_DIR), PROJECT_MODULES)
    for folder in folders:
        file = os.path.join(folder, f"{module_id}.yaml")
        if os.path.isfile(file):
            return file
    return None


def count_formulas(data: dict, counted: int) -> tuple[int, tuple | None]:
    """``counted`` plus the formula text of ``data``, and the path of the declaration whose
    formula crosses :data:`MAX_TOTAL_FORMULA_CHARS` (None if none crosses in this document)."""
    for path, text in _formulas(data):
        before, counted = counted, counted + len(text)
        if before <= MAX_TOTAL_FORMULA_CHARS < counted:
            return counted, path
    return counted, None


def formula_limit(span: Span) -> LimitError:
    return LimitError(_("the formulas hold more than {limit:,} characters in all").format(
                          limit=MAX_TOTAL_FORMULA_CHARS), span=span,
                      hint=_("a YAML alias (*name) repeats its formula in full; write a shared "
                             "calculation once as a rule and use its id in the other formulas"))


def _formulas(data: dict):
    """(path of the declaration, formula text) of every rule and check of a document."""
    for section, key in (("rules", "formula"), ("checks", "condition")):
        for decl_id, spec in data.get(section, {}).items():
            yield (section, decl_id), spec[key]
    for entity_id, entity in data.get("entities", {}).items():
        for section, key in (("rules", "formula"), ("checks", "condition")):
            for name, spec in entity.get(section, {}).items():
                yield ("entities", entity_id, section, name), spec[key]


def _module_ids(folder: str) -> list[str]:
    return sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".yaml")) if os.path.isdir(folder) else []


def unknown_module(ruleset_file: str, module_id: str, span: Span) -> UnknownNameError:
    """The error for a module found neither beside the ruleset nor in the project."""
    folder = os.path.join(os.path.dirname(ruleset_file), MODULE_DIR)
    beside, shared = _module_ids(folder), _module_ids(PROJECT_MODULES)
    known = beside or shared  # list the ruleset's own modules when it has any
    return UnknownNameError(_("unknown module '{id}' (no file {file})").format(
                                id=module_id, file=os.path.join(folder, f"{module_id}.yaml")),
                            span=span, hint=did_you_mean(module_id, beside + shared) or
                            (_("modules: {ids}").format(ids=", ".join(known)) if known else
                             _("shared modules live in {folder}/<id>.yaml").format(folder=folder)))
