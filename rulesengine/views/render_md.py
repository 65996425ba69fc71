"""Evaluation + trace -> a Markdown clearing report, in Chinese, for mail and documents.

The same content as the HTML report (:mod:`rulesengine.render_html`): the document and
as-of date, the requested results, the checks with failures marked (both sides and the
difference), the trace as nested lists (formula as written, with Chinese names and with
values substituted, rounding, citation), the facts used with their sources, and
per-record results as tables. Text from the ruleset is escaped so that it cannot turn
into Markdown markup; formulas are code spans.
"""

from __future__ import annotations

import re

from ..core.datatypes import TEXT
from ..evaluate.evaluator import CheckResult, Evaluation, Program
from .explanation import (EntityTable, Explanation, Sides, amount, check_sides, grouped,
                          check_heads, checked_text, fact_heads, generated_by, item_value, kind_word, node_value,
                          skipped_text, table_heads, wan)
from ..core.i18n import _, report_wording, severity_name
from ..evaluate.trace import TraceNode
from .forest import Forest

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")  # what could become markup (or a link) mid-line


def md(text: object) -> str:
    """Escape text so that Markdown shows it literally (also inside table cells)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def code(text: object) -> str:
    """A code span that survives backticks in the text."""
    text = " ".join(str(text).split())
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


@report_wording()
def render_md(program: Program, evaluation: Evaluation) -> str:
    """The report as Markdown (a string ending with a newline).

    Args:
        program: the compiled ruleset.
        evaluation: an evaluation made with ``trace=True``.
    """
    ex = Explanation(program, evaluation)
    lines = [f"# {md(ex.meta.title)} — {_('Calculation report')}", ""]
    lines += _table([_("Name"), _("Value")], [[md(k), md(v)] for k, v in ex.header()])
    lines += _results(ex)
    lines += _problems(ex)
    lines += _checks(ex)
    lines += _trace(ex)
    lines += _facts(ex)
    lines += _records(ex)
    lines += ["---", "", md(generated_by())]
    return "\n".join(lines).rstrip() + "\n"


def _table(head: list[str], rows: list[list[str]], align: list[str] | None = None) -> list[str]:
    align = align or ["l"] * len(head)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines + [""]


def _value(node: TraceNode) -> str:
    money_wan = wan(node.value, node.type) if node.records is None else None
    return md(node_value(node)) + (f"（{md(money_wan)}）" if money_wan else "")


# --- results --------------------------------------------------------------------------------
def _results(ex: Explanation) -> list[str]:
    lines = [f"## {_('Results')}", ""]
    for target in ex.targets():
        node = ex.nodes.get(target)
        if node is None:
            cause = ex.evaluation.skipped.get(target)
            text = skipped_text(cause)
            lines += [f"- **{md(ex.label(target))}**（{code(target)}）：{md(text)}", ""]
            continue
        failed = node.check is not None and not node.check.passed
        mark = "❌ " if failed else ""
        lines.append(f"### {mark}{md(node.label)}")
        lines.append("")
        lines.append(f"**{_value(node)}**")
        lines.append("")
        lines.append(f"{code(node.id)} · {md(node.reference)}")
        if node.substituted and node.records is None:
            lines += ["", f"{code(' '.join(node.formula.split()))}", "",
                      f"= {code(node.substituted)}"]
        if failed and node.check.message:
            lines += ["", f"> {md(node.check.message)}"]
        lines.append("")
        if node.records is not None:
            lines += _table([md(_("Key")), md(_("Value"))],
                            [[md(item.key), md(item_value(node, item))] for item in node.records],
                            ["l", "r"])
    return lines


def _problems(ex: Explanation) -> list[str]:
    lines = []
    if ex.errors() or ex.skipped():
        lines += [f"## {_('Errors')}", ""]
        lines += _block(ex.errors())
        lines += [f"- {code(node)} {md(ex.label(node))}：{md(text)}" for node, text in ex.skipped()]
        lines.append("")
    if ex.warnings():
        lines += [f"## {_('Warnings')}", ""]
        lines += _block(ex.warnings())
    return lines


def _block(texts: list[str]) -> list[str]:
    """Diagnostics as printed on the terminal (excerpt and caret kept), in a fenced block."""
    if not texts:
        return []
    fence = "~~~~" if any("~~~" in t for t in texts) else "~~~"
    return [f"{fence}text", *"\n".join(texts).splitlines(), fence, ""]


# --- checks ---------------------------------------------------------------------------------
def _checks(ex: Explanation) -> list[str]:
    checks = ex.checks()
    if not checks:
        return []
    rows = []
    for check in checks:
        rows.append(_check_row(check))
        for key, sides in ex.record_failures(check):
            rows.append(["", f"{md(_('Key'))} {code(key)}", ""] + _sides_cells(sides) + [""])
    head = check_heads()
    return [f"## {_('Checks')}", "", md(ex.checks_summary()), ""] + \
        _table(head, rows, ["l", "l", "l", "r", "r", "r", "l"])


def _check_row(check: CheckResult) -> list[str]:
    if check.passed:
        status = f"✅ {_('passed')}"
    else:
        status = f"❌ **{_('failed')}**（{severity_name(check.severity)}）"
    label = f"{md(check.label)}<br>{code(check.id)}"
    if check.records is not None and check.checked is not None:
        label += "<br>" + md(checked_text(check))
    sides = check_sides(check) if not check.passed else None
    return [status, label, md(check.message)] + _sides_cells(sides) + [md(check.reference)]


def _sides_cells(sides: Sides | None) -> list[str]:
    if sides is None:
        return ["", "", ""]
    difference = f"**{md(sides.difference)}**" if sides.difference else ""
    return [md(sides.left), md(sides.right), difference]


# --- the trace ------------------------------------------------------------------------------
def _trace(ex: Explanation) -> list[str]:
    lines = [f"## {_('How it was computed')}", ""]
    forest = Forest(t for t in ex.targets() if t in ex.nodes)
    for target in forest:
        _node(ex, ex.nodes[target], 0, forest, lines)
        lines.append("")
    return lines


def _node(ex: Explanation, node: TraceNode, depth: int, forest: Forest, lines: list[str]) -> None:
    pad = "  " * depth
    failed = node.check is not None and not node.check.passed
    mark = "❌ " if failed else ""
    head = (f"{pad}- {mark}**{md(node.label)}** {code(node.id)} = **{_value(node)}** · "
            f"{md(kind_word(node.kind))} · {md(node.reference)}")
    children = ex.children(node)
    if node.id in forest.shown and node.kind in ("rule", "check"):
        lines.append(f"{head}（{md(_('see above'))}）")
        return
    if forest.cut(node.id, depth, bool(children)):
        lines.append(f"{head}（{md(_('nested too deep, continued below'))}）")
        return
    forest.shown.add(node.id)
    lines.append(head)
    inner = pad + "  "
    for name, text, is_code in ex.details(node):
        lines.append(f"{inner}- {md(name)}：{code(text) if is_code else md(text)}")
    if node.records is not None:
        lines.append(f"{inner}- {md(_('Results by record'))}：")
        for item in node.records:
            how = f" = {code(item.substituted)}" if item.substituted else ""
            before = (f"（{md(_('Rounding'))} {md(grouped(item.before_rounding))}）"
                      if item.before_rounding is not None else "")
            lines.append(f"{inner}  - {code(item.key)}：{md(item_value(node, item))}{how}{before}")
    for child in children:
        _node(ex, child, depth + 1, forest, lines)


# --- facts and per-record tables ------------------------------------------------------------
def _facts(ex: Explanation) -> list[str]:
    lines = [f"## {_('Facts and parameters used')}", ""]
    rows = []
    for node in ex.facts_used():
        money_wan = wan(node.value, node.type)
        value = md(amount(node.value, node.type)) + (f"<br>{md(money_wan)}" if money_wan else "")
        rows.append([code(node.id), md(node.label), value, md(kind_word(node.kind)),
                     md(ex.node_source(node)), md(node.reference)])
    if rows:
        lines += _table(fact_heads(), rows,
                        ["l", "l", "r", "l", "l", "l"])
    lookups = ex.tables_used()
    if lookups:
        lines += [f"### {_('Table look-ups')}", ""]
        lines += _table(table_heads(),
                        [[f"{md(l.label)} {code(l.table)}", md(amount(l.key, TEXT)),
                          md(amount(l.value, l.type)), md(l.reference)] for l in lookups],
                        ["l", "l", "r", "l"])
    return lines


def _records(ex: Explanation) -> list[str]:
    tables = ex.entity_tables()
    if not tables:
        return []
    lines = [f"## {_('Results by record')}", ""]
    for table in tables:
        lines += _entity_table(ex, table)
    return lines


def _entity_table(ex: Explanation, table: EntityTable) -> list[str]:
    entity = table.entity
    columns = [c for c in table.columns if c.id != f"{entity.id}.{entity.key}"]
    head = [f"{md(ex.label(entity.id + '.' + entity.key))}<br>{code(entity.key)}"]
    for column in columns:
        unit = f"（{_('yuan')}）" if column.type.kind == "money" else ""
        head.append(f"{md(column.label + unit)}<br>{code(column.id.partition('.')[2])}")
    by_key = [{str(item.key): item for item in column.records} for column in columns]
    rows = []
    for key in table.keys:
        cells = [f"**{md(key)}**"]
        for column, items in zip(columns, by_key):
            item = items.get(str(key))
            if item is None:
                cells.append("")
                continue
            text = item.display if column.type.kind == "money" else item_value(column, item)
            failed = column.kind == "check" and not item.value
            cells.append(f"**{md(text)}**" if failed else md(text))
        rows.append(cells)
    cites = [md(_("Clause"))] + [md(c.reference) for c in columns]
    return [f"### {md(entity.label)}（{code(entity.collection)}）· {md(_('{count} records').format(count=len(table.keys)))}", ""] + \
        _table(head, rows + [cites], ["l"] + ["r"] * len(columns))
