"""What an input template holds, before it is laid out as a workbook or as CSV files: a part per
table (its fields, titles and example rows), the shared facts, and how each value and field reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ..check.model import Input, Parameter
from ..core.datatypes import ValueProblem, coerce
from ..core.output import formula_safe
from ..evaluate.facts import example_facts
from ..views.sheets import sheet_text, table_sheet, type_word


ROW_KEY = "编号"  # the key column of a ruleset without collections (batch's row mode)
ROWS_SHEET = "记录"
_EXACT_DIGITS = 15  # a number with more significant digits is written as text (Excel keeps 15)


@dataclass
class Part:
    """One table of the template: its fields (the key first) and the example's rows."""

    name: str  # the collection; "" for the rows of a ruleset without collections
    sheet: str
    fields: list = field(default_factory=list)  # Input or Parameter declarations
    titles: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)  # typed values, in the order of fields
    key_title: str | None = None  # the row key column's title (row mode)


def build_parts(ruleset, example: str | None) -> tuple[list[Part], list, dict]:
    """The tables, the shared facts' declarations and their example values."""
    facts = example_facts(ruleset, example or None).values if example is not None else {}
    decls = ruleset.declarations
    shared = [d for d in decls.values() if d.entity is None
              and (isinstance(d, Input) or (isinstance(d, Parameter) and d.open))]
    if not ruleset.entities:  # an empty cell is a bad row: an open parameter only when given
        shared = [d for d in shared if isinstance(d, Input) or d.id in facts]
        part = Part("", ROWS_SHEET, shared, [ROW_KEY] + _titles(shared), key_title=ROW_KEY)
        if facts:
            label = example or next(iter(ruleset.examples))
            part.rows.append([label] + [_typed(facts.get(d.id), d) for d in shared])
        return [part], [], {}
    parts, records = [], _records(ruleset, facts)
    for entity in ruleset.entities.values():
        fields = [decls[f"{entity.id}.{n}"] for n in entity.names if isinstance(decls[f"{entity.id}.{n}"], Input)]
        fields.sort(key=lambda d: d.name != entity.key)
        part = Part(entity.collection, table_sheet(entity), fields, _titles(fields))
        for record in records.get(entity.id, []):
            part.rows.append([_typed(record.get(d.name), d) for d in fields])
        parts.append(part)
    values = {d.id: _typed(facts.get(d.id), d) for d in shared if d.id in facts}
    return parts, shared, values


def _records(ruleset, facts: dict) -> dict[str, list[dict]]:
    """entity id -> its records, nested ones (a member's filings) with their parent's key."""
    out: dict[str, list[dict]] = {}

    def collect(entity, items, parent_key) -> None:
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            fields = {k: v for k, v in item.items() if k not in ruleset.collections}
            if parent_key is not None:
                fields.setdefault(entity.parent, parent_key)
            out.setdefault(entity.id, []).append(fields)
            for name, children in item.items():
                child = ruleset.collections.get(name)
                if child is not None and child.parent == entity.id:
                    collect(child, children, fields.get(entity.key))
    for name, items in facts.items():
        if name in ruleset.collections:
            collect(ruleset.collections[name], items, None)
    return out


def _titles(fields: list) -> list[str]:
    """Each column's header: its label, or its id where the label is not unique in the table."""
    labels = [d.label for d in fields]
    names = {_name(d) for d in fields}
    return [d.label if labels.count(d.label) == 1 and d.label not in names else _name(d) for d in fields]


def _name(decl) -> str:
    return decl.name if decl.entity is not None else decl.id


def _typed(raw: Any, decl) -> Any:
    if raw is None:
        return None
    try:
        return coerce(raw, decl.type)
    except ValueProblem:  # an example's bad value: shown as written (validate reports it)
        return str(raw)


def describe(decl, ruleset) -> tuple[str, str, str, str]:
    """(type, unit, allowed values, clause) of a field, in Chinese."""
    kind = decl.type.kind
    kind_text = "枚举" + (f"（{decl.type.enum}）" if decl.type.enum else "") if kind == "enum" \
        else type_word(decl.type)
    unit = {"money": "元", "rate": "比例：0.08 或 8%", "date": "YYYY-MM-DD"}.get(kind, "")
    allowed = "、".join(decl.type.values) if kind == "enum" else "是、否" if kind == "boolean" else ""
    bounds = [f"≥ {v}" for v in [getattr(decl, "minimum", None)] if v is not None] + \
        [f"≤ {v}" for v in [getattr(decl, "maximum", None)] if v is not None]
    allowed = "；".join(filter(None, [allowed] + bounds))
    return kind_text, unit, allowed, ruleset.reference(decl)


def cell(value: Any) -> Any:
    """A template cell: numbers Excel holds exactly stay numbers; booleans read 是/否; text is
    formula-safe."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (Decimal, int)):
        digits = len(Decimal(value).as_tuple().digits)
        return value if digits <= _EXACT_DIGITS else f"{value:f}" if isinstance(value, Decimal) else str(value)
    if isinstance(value, date) or value is None:
        return value
    return sheet_text(str(value))


def text(value: Any) -> str:
    """A CSV or YAML cell's text (formula-safe)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return formula_safe(f"{value:f}")
    return formula_safe(value.isoformat() if isinstance(value, date) else str(value))


# --- the command ------------------------------------------------------------------------------------
