"""Evaluation + trace -> one self-contained HTML clearing report, in Chinese.

The file needs nothing but a browser: CSS and a little JavaScript are inline, there are
no external fonts, scripts, images or links, and a Content-Security-Policy forbids any
request. It shows the document (title, number, period in force, as-of date), the
requested results in large type, the checks with failures highlighted (both sides and
the difference), the trace as a collapsible tree (label, value in 元 and 万元, formula as
written, with Chinese names and with values substituted, rounding, citation), the facts
used with their sources, and per-record results as tables. A search box filters the
tree; printing expands it. Every text is escaped with :func:`html.escape`.

The wording comes from :mod:`rulesengine.explanation`; the same ruleset and facts give
byte-identical HTML.
"""

from __future__ import annotations

import html

from ..core.datatypes import TEXT, Type
from ..evaluate.evaluator import CheckResult, Evaluation, Program
from .explanation import (EntityTable, Explanation, Sides, amount, check_sides, grouped,
                          check_heads, checked_text, fact_heads, generated_by, html_language, item_value, kind_word, node_value,
                          skipped_text, table_heads, wan)
from ..core.i18n import _, report_wording, severity_name
from ..evaluate.trace import RecordRow, TraceNode
from .forest import Forest

# No request of any kind may leave the page: everything it needs is inline.
CSP = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
       'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'; img-src data:">')
NUMBER = Type("number")
OPEN_DEPTH = 2  # tree levels shown open on screen; print shows all


def e(text: object) -> str:
    """Escape text for HTML content and attribute values."""
    return html.escape(str(text), quote=True)


@report_wording()
def render_html(program: Program, evaluation: Evaluation) -> str:
    """The report as one HTML document (a string ending with a newline).

    Args:
        program: the compiled ruleset.
        evaluation: an evaluation made with ``trace=True``.
    """
    ex = Explanation(program, evaluation)
    meta = ex.meta
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html_language()}">',
        "<head>",
        '<meta charset="utf-8">',
        CSP,
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_scope_title(ex)}{e(meta.title)} — {e(_('Calculation report'))}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        _header(ex),
        _toolbar(),
        "<main>",
        _results(ex),
        _problems(ex),
        _checks(ex),
        _trace(ex),
        _facts(ex),
        _records(ex),
        "</main>",
        f'<footer>{e(generated_by())}</footer>',
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


# --- header and toolbar ---------------------------------------------------------------------
def _header(ex: Explanation) -> str:
    rows = "".join(f"<tr><th>{e(name)}</th><td>{e(text)}</td></tr>" for name, text in ex.header())
    return (f'<header><p class="kicker">{e(_("Calculation report"))}</p>'
            f"<h1>{e(ex.meta.title)}</h1>"
            f'<table class="meta">{rows}</table></header>')


def _scope_title(ex: Explanation) -> str:
    scope = ex.evaluation.scope
    return f"{e(ex.scope_label())} {e(scope[1])} — " if scope is not None else ""


def _toolbar() -> str:
    return ('<nav class="toolbar">'
            f'<label for="q">{e(_("Search"))}</label>'
            f'<input id="q" type="search" placeholder="{e(_("Search names, ids, clauses…"))}" autocomplete="off">'
            f'<span id="count" data-template="{e(_("{count} matches"))}"></span>'
            f'<button type="button" id="expand">{e(_("Expand all"))}</button>'
            f'<button type="button" id="collapse">{e(_("Collapse all"))}</button>'
            f'<span class="links"><a href="#results">{e(_("Results"))}</a>'
            f'<a href="#checks">{e(_("Checks"))}</a><a href="#trace">{e(_("How it was computed"))}</a>'
            f'<a href="#facts">{e(_("Facts and parameters used"))}</a><a href="#records">{e(_("Results by record"))}</a></span>'
            "</nav>")


# --- results --------------------------------------------------------------------------------
def _results(ex: Explanation) -> str:
    cards = [_card(ex, target) for target in ex.targets()]
    return (f'<section id="results"><h2>{e(_("Results"))}</h2>'
            f'<div class="cards">{"".join(cards)}</div></section>')


def _card(ex: Explanation, target: str) -> str:
    node = ex.nodes.get(target)
    if node is None:
        cause = ex.evaluation.skipped.get(target)
        text = skipped_text(cause)
        return (f'<div class="card fail" data-id="{e(target)}"><div class="card-label">'
                f'{e(ex.label(target))}</div><div class="card-value">{e(text)}</div>'
                f'<div class="card-meta"><code>{e(target)}</code></div></div>')
    failed = node.check is not None and not node.check.passed
    classes = "card" + (f" {_fail_class(node.check.severity)}" if failed else "")
    extra = ""
    money_wan = wan(node.value, node.type) if node.records is None else None
    if money_wan:
        extra += f'<div class="card-wan">{e(money_wan)}</div>'
    if node.substituted and node.records is None:
        extra += (f'<div class="card-formula"><code>{e(" ".join(node.formula.split()))}</code>'
                  f'<br><code>= {e(node.substituted)}</code></div>')
    if node.records is not None:
        extra += _record_list(node)
    if failed and node.check.message:
        extra += f'<div class="card-message">{e(node.check.message)}</div>'
    return (f'<div class="{classes}" data-id="{e(node.id)}">'
            f'<div class="card-label">{e(node.label)}</div>'
            f'<div class="card-value">{e(node_value(node))}</div>{extra}'
            f'<div class="card-meta"><code>{e(node.id)}</code> · <span class="cite">{e(node.reference)}</span>'
            f' · <a href="#n-{e(node.id)}">{e(_("How it was computed"))}</a></div></div>')


def _record_list(node: TraceNode) -> str:
    rows = "".join(
        f'<tr class="{_item_class(node, item)}"><td>{e(item.key)}</td>'
        f'<td class="num">{e(item_value(node, item))}</td></tr>' for item in node.records)
    return (f'<table class="mini"><tr><th>{e(_("Key"))}</th><th>{e(_("Value"))}</th></tr>'
            f"{rows}</table>")


# --- warnings and errors --------------------------------------------------------------------
def _problems(ex: Explanation) -> str:
    parts = []
    if ex.errors() or ex.skipped():
        items = [f"<li><pre>{e(text)}</pre></li>" for text in ex.errors()]
        items += [f"<li><code>{e(node)}</code> {e(ex.label(node))}：{e(text)}</li>"
                  for node, text in ex.skipped()]
        parts.append(f'<div class="problems fail"><h3>{e(_("Errors"))}</h3><ul>{"".join(items)}</ul></div>')
    if ex.warnings():
        items = "".join(f"<li><pre>{e(text)}</pre></li>" for text in ex.warnings())
        parts.append(f'<div class="problems warn"><h3>{e(_("Warnings"))}</h3><ul>{items}</ul></div>')
    return f'<section id="problems">{"".join(parts)}</section>' if parts else ""


# --- checks ---------------------------------------------------------------------------------
def _checks(ex: Explanation) -> str:
    checks = ex.checks()
    if not checks:
        return ""
    head = "".join(f"<th>{e(word)}</th>" for word in check_heads())
    rows = "".join(_check_row(ex, check) for check in checks)
    return (f'<section id="checks"><h2>{e(_("Checks"))}</h2>'
            f'<p class="summary">{e(ex.checks_summary())}</p>'
            f'<table class="checks"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></section>')


def _check_row(ex: Explanation, check: CheckResult) -> str:
    status = _("passed") if check.passed else f"{_('failed')}（{severity_name(check.severity)}）"
    css = "pass" if check.passed else _fail_class(check.severity)
    sides = check_sides(check) if not check.passed else None
    cells = _sides_cells(sides)
    detail = ""
    if check.records is not None and check.checked is not None:
        detail = f'<div class="sub">{e(checked_text(check))}</div>'
    search = f"{check.id} {check.label} {check.reference} {check.message}".lower()
    row = (f'<tr class="{css}" data-id="{e(check.id)}" data-search="{e(search)}">'
           f'<td class="status">{"✓" if check.passed else "✗"} {e(status)}</td>'
           f'<td><a href="#n-{e(check.id)}">{e(check.label)}</a><div class="sub"><code>{e(check.id)}</code></div>{detail}</td>'
           f"<td>{e(check.message)}</td>{cells}<td class=\"cite\">{e(check.reference)}</td></tr>")
    for key, record_sides in ex.record_failures(check):
        row += (f'<tr class="{css} record" data-search="{e((check.id + " " + key).lower())}">'
                f'<td></td><td colspan="2">{e(_("Key"))} <code>{e(key)}</code></td>'
                f"{_sides_cells(record_sides)}<td></td></tr>")
    return row


def _sides_cells(sides: Sides | None) -> str:
    if sides is None:
        return "<td></td><td></td><td></td>"
    return (f'<td class="num">{e(sides.left)}</td><td class="num">{e(sides.right)}</td>'
            f'<td class="num diff">{e(sides.difference or "")}</td>')


def _fail_class(severity: str) -> str:
    return "warn" if severity == "warning" else "fail"


# --- the trace tree -------------------------------------------------------------------------
def _trace(ex: Explanation) -> str:
    forest = Forest(t for t in ex.targets() if t in ex.nodes)
    trees = [_node(ex, ex.nodes[target], 0, forest) for target in forest]
    return (f'<section id="trace"><h2>{e(_("How it was computed"))}</h2><p class="hint">{e(_("Click an item to open or close it; printing opens them all."))}</p>'
            f'<div class="tree">{"".join(trees)}</div></section>')


def _node(ex: Explanation, node: TraceNode, depth: int, forest: Forest) -> str:
    repeated = node.id in forest.shown
    children = ex.children(node)
    cut = not repeated and forest.cut(node.id, depth, bool(children))
    if not cut:
        forest.shown.add(node.id)
    classes = ["node", f"kind-{node.kind}"]
    if node.check is not None and not node.check.passed:
        classes.append(_fail_class(node.check.severity))
    if repeated or cut:
        classes.append("repeat")
    anchor = "" if repeated or cut else f' id="n-{e(node.id)}"'
    # Facts and parameters stay closed: their value is in the summary line already.
    is_open = " open" if depth < OPEN_DEPTH and not repeated and node.kind in ("rule", "check") else ""
    search = " ".join(x for x in (node.id, node.label, node.reference, node.formula or "",
                                  node_value(node)) if x).lower()
    money_wan = wan(node.value, node.type) if node.records is None else None
    value = e(node_value(node)) + (f' <span class="wan">{e(money_wan)}</span>' if money_wan else "")
    summary = (f'<summary><span class="label">{e(node.label)}</span> '
               f'<code class="id">{e(node.id)}</code> '
               f'<span class="eq">=</span> <span class="value">{value}</span> '
               f'<span class="badge">{e(kind_word(node.kind))}</span> '
               f'<span class="cite">{e(node.reference)}</span></summary>')
    if cut or (repeated and node.kind in ("rule", "check")):
        see = _("nested too deep, continued below") if cut else _("see above")
        body = f'<p class="see"><a href="#n-{e(node.id)}">{e(see)}</a></p>'
    else:
        body = _details(ex, node)
        if node.records is not None:
            body += _records_of(ex, node)
        drawn = [_node(ex, child, depth + 1, forest) for child in children]
        if drawn:
            body += f'<div class="children">{"".join(drawn)}</div>'
    return (f'<details class="{" ".join(classes)}"{anchor}{is_open} data-id="{e(node.id)}" '
            f'data-search="{e(search)}">{summary}<div class="body">{body}</div></details>')


def _details(ex: Explanation, node: TraceNode) -> str:
    rows = []
    for name, text, code in ex.details(node):
        shown = f"<code>{e(text)}</code>" if code else e(text)
        css = ' class="bad"' if name in (_("Requirement"), _("Difference")) else ""
        rows.append(f"<dt>{e(name)}</dt><dd{css}>{shown}</dd>")
    return f'<dl class="details">{"".join(rows)}</dl>' if rows else ""


def _records_of(ex: Explanation, node: TraceNode) -> str:
    """A per-record node's records: key, value, and how each was computed."""
    computed = node.kind in ("rule", "check")
    head = [_("Key"), _("Value")] + ([_("Values substituted")] if computed else [])
    rounding = any(item.before_rounding is not None for item in node.records)
    if rounding:
        head.append(_("Rounding"))
    sides = any(item.sides is not None for item in node.records)
    if sides:
        head += [_("Left side"), _("Right side")]
        # a per-record check's node has no side type of its own (its check has no sides)
        side_type = node.check.side_type or ex.ruleset.declarations[node.id].side_type or NUMBER
    rows = []
    for item in node.records:
        cells = [f"<td>{e(item.key)}</td>", f'<td class="num">{e(item_value(node, item))}</td>']
        if computed:
            cells.append(f"<td><code>{e(item.substituted or '')}</code></td>")
        if rounding:
            before = item.before_rounding
            cells.append(f'<td class="num">{e(grouped(before) if before is not None else "")}</td>')
        if sides:
            pair = item.sides
            cells += [f'<td class="num">{e(amount(pair[0], side_type) if pair else "")}</td>',
                      f'<td class="num">{e(amount(pair[1], side_type) if pair else "")}</td>']
        rows.append(f'<tr class="{_item_class(node, item)}">{"".join(cells)}</tr>')
    header = "".join(f"<th>{e(h)}</th>" for h in head)
    return f'<table class="records"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _item_class(node: TraceNode, item: RecordRow) -> str:
    if node.kind == "check" and not item.value:
        return _fail_class(node.check.severity)
    return ""


# --- facts and per-record tables ------------------------------------------------------------
def _facts(ex: Explanation) -> str:
    facts = ex.facts_used()
    head = "".join(f"<th>{e(word)}</th>" for word in fact_heads())
    rows = []
    for node in facts:
        search = f"{node.id} {node.label} {node.reference}".lower()
        money_wan = wan(node.value, node.type)
        value = e(amount(node.value, node.type)) + (f'<div class="wan">{e(money_wan)}</div>' if money_wan else "")
        note = f'<div class="sub">{e(node.note)}</div>' if node.note else ""
        rows.append(f'<tr data-search="{e(search)}"><td><code>{e(node.id)}</code></td><td>{e(node.label)}{note}</td>'
                    f'<td class="num">{value}</td><td>{e(kind_word(node.kind))}</td>'
                    f'<td>{e(ex.node_source(node))}</td><td class="cite">{e(node.reference)}</td></tr>')
    parts = [f'<section id="facts"><h2>{e(_("Facts and parameters used"))}</h2>']
    if rows:
        parts.append(f'<table class="facts"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    lookups = ex.tables_used()
    if lookups:
        head = "".join(f"<th>{e(word)}</th>" for word in table_heads())
        rows = "".join(
            f'<tr data-search="{e((l.table + " " + l.label).lower())}"><td>{e(l.label)}'
            f'<div class="sub"><code>{e(l.table)}</code></div></td><td>{e(amount(l.key, TEXT))}</td>'
            f'<td class="num">{e(amount(l.value, l.type))}</td><td class="cite">{e(l.reference)}</td></tr>'
            for l in lookups)
        parts.append(f'<h3>{e(_("Table look-ups"))}</h3><table class="facts"><thead><tr>{head}</tr></thead>'
                     f"<tbody>{rows}</tbody></table>")
    parts.append("</section>")
    return "".join(parts)


def _records(ex: Explanation) -> str:
    tables = ex.entity_tables()
    if not tables:
        return ""
    return (f'<section id="records"><h2>{e(_("Results by record"))}</h2>'
            + "".join(_entity_table(ex, table) for table in tables) + "</section>")


def _entity_table(ex: Explanation, table: EntityTable) -> str:
    entity = table.entity
    head = f'<th>{e(ex.label(entity.id + "." + entity.key))}<div class="sub"><code>{e(entity.key)}</code></div></th>'
    columns = [c for c in table.columns if c.id != f"{entity.id}.{entity.key}"]
    for column in columns:
        unit = f"（{_('yuan')}）" if column.type.kind == "money" else ""
        head += (f'<th title="{e(column.reference)}">{e(column.label)}{e(unit)}'
                 f'<div class="sub"><code>{e(column.id.partition(".")[2])}</code></div></th>')
    cite = "<td></td>" + "".join(f'<td class="cite">{e(c.reference)}</td>' for c in columns)
    by_key = [{str(item.key): item for item in column.records} for column in columns]
    rows = []
    for key in table.keys:
        cells = []
        for column, items in zip(columns, by_key):
            item = items.get(str(key))
            if item is None:
                cells.append("<td></td>")
                continue
            css = _item_class(column, item)
            title = f' title="{e(item.substituted)}"' if item.substituted else ""
            text = item.display if column.type.kind == "money" else item_value(column, item)
            cells.append(f'<td class="num {css}"{title}>{e(text)}</td>')
        rows.append(f'<tr data-search="{e(str(key).lower())}"><th>{e(key)}</th>{"".join(cells)}</tr>')
    return (f'<h3>{e(entity.label)}（<code>{e(entity.collection)}</code>）'
            f'<span class="count">{e(_("{count} records").format(count=len(table.keys)))}</span></h3>'
            f'<div class="scroll"><table class="entity" data-entity="{e(entity.id)}"><thead><tr>{head}</tr>'
            f'<tr class="cites">{cite}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


CSS = """
:root{--ink:#1d2733;--muted:#5b6673;--line:#d9dee5;--bg:#f6f7f9;--accent:#1f5fa8;
--fail:#b3261e;--fail-bg:#fdecea;--warn:#8a5a00;--warn-bg:#fff4dc;--pass:#1e7a3c;}
*{box-sizing:border-box}
body{margin:0;color:var(--ink);background:#fff;font:15px/1.6 "Noto Sans CJK SC","Source Han Sans SC",
"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif}
header{padding:24px 32px 12px;background:var(--bg);border-bottom:1px solid var(--line)}
.kicker{margin:0;color:var(--muted);letter-spacing:.2em}
h1{margin:4px 0 12px;font-size:26px}
h2{font-size:20px;border-left:4px solid var(--accent);padding-left:10px;margin:32px 0 12px}
h3{font-size:16px;margin:20px 0 8px}
main{padding:0 32px 32px}
table{border-collapse:collapse}
table.meta th{text-align:left;color:var(--muted);font-weight:normal;padding:2px 16px 2px 0;white-space:nowrap}
table.meta td{padding:2px 0}
.toolbar{position:sticky;top:0;z-index:2;display:flex;flex-wrap:wrap;gap:8px;align-items:center;
padding:8px 32px;background:#fff;border-bottom:1px solid var(--line)}
.toolbar input{flex:0 1 320px;padding:5px 8px;border:1px solid var(--line);border-radius:4px;font:inherit}
.toolbar button{padding:4px 10px;border:1px solid var(--line);background:var(--bg);border-radius:4px;font:inherit;cursor:pointer}
.toolbar .links a{margin-left:12px}
#count{color:var(--muted);min-width:5em}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
code{font-family:"Noto Sans Mono CJK SC","DejaVu Sans Mono",monospace;font-size:.92em}
.cards{display:flex;flex-wrap:wrap;gap:16px}
.card{flex:1 1 340px;max-width:640px;border:1px solid var(--line);border-top:4px solid var(--accent);
border-radius:6px;padding:14px 18px;background:#fff}
.card.fail{border-top-color:var(--fail);background:var(--fail-bg)}
.card.warn{border-top-color:var(--warn);background:var(--warn-bg)}
.card-label{font-size:16px;color:var(--muted)}
.card-value{font-size:34px;font-weight:700;line-height:1.25;margin:4px 0;font-variant-numeric:tabular-nums}
.card.fail .card-value{color:var(--fail)}
.card-wan{color:var(--muted);font-size:15px}
.card-formula{margin-top:8px;color:var(--muted);overflow-wrap:anywhere}
.card-message{margin-top:6px;color:var(--fail)}
.card-meta{margin-top:8px;font-size:13px;color:var(--muted)}
.problems{border-radius:6px;padding:4px 16px;margin:16px 0}
.problems.fail{background:var(--fail-bg);color:var(--fail)}
.problems.warn{background:var(--warn-bg);color:var(--warn)}
.problems pre{white-space:pre-wrap;margin:0;font:inherit}
.summary{color:var(--muted)}
table.checks,table.facts,table.records,table.entity,table.mini{width:100%;font-size:14px}
table.mini{width:auto;margin-top:8px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
thead th{background:var(--bg);font-weight:600;white-space:nowrap}
td.status{white-space:nowrap}
table.records{width:auto;min-width:50%}
td.num,.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.fail td,td.fail{background:var(--fail-bg);color:var(--fail)}
tr.warn td,td.warn{background:var(--warn-bg);color:var(--warn)}
tr.fail .status,tr.fail .diff{font-weight:700}
tr.pass .status{color:var(--pass)}
tr.record td{font-size:13px}
.sub{font-size:12px;color:var(--muted);font-weight:normal}
.cite{color:var(--muted);font-size:13px}
.hint{color:var(--muted);font-size:13px}
.tree details{margin:2px 0}
details.node{border-left:2px solid var(--line);padding-left:10px;margin-left:4px}
details.node>summary{cursor:pointer;padding:3px 0;list-style-position:outside}
details.node.kind-rule>summary .label,details.node.kind-check>summary .label{font-weight:600}
details.node.fail{border-left-color:var(--fail)}
details.node.fail>summary{background:var(--fail-bg);color:var(--fail)}
details.node.warn{border-left-color:var(--warn)}
details.node.warn>summary{background:var(--warn-bg);color:var(--warn)}
details.node.hit>summary{outline:2px solid #f2c200;outline-offset:1px}
summary .id{color:var(--muted)}
summary .value{font-weight:700;font-variant-numeric:tabular-nums}
summary .wan{font-weight:normal;color:var(--muted);font-size:13px}
.badge{display:inline-block;font-size:12px;padding:0 6px;border-radius:8px;background:var(--bg);
border:1px solid var(--line);color:var(--muted)}
.kind-fact>summary .badge,.kind-parameter>summary .badge{background:#eef5ee}
.body{padding:2px 0 4px 14px}
dl.details{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:4px 0;font-size:14px}
dl.details dt{color:var(--muted)}
dl.details dd{margin:0;overflow-wrap:anywhere}
dl.details dd.bad{color:var(--fail);font-weight:600}
.see{margin:2px 0;font-size:13px}
.children{margin-top:4px}
.scroll{overflow-x:auto}
table.entity td{white-space:nowrap}
table.entity thead th{white-space:normal;min-width:6em;max-width:16em}
tr.cites td{white-space:normal!important;max-width:16em}
table.entity tbody th{background:var(--bg)}
tr.cites td{font-size:12px}
.count{margin-left:12px;font-weight:normal;color:var(--muted);font-size:13px}
footer{padding:16px 32px;color:var(--muted);font-size:12px;border-top:1px solid var(--line)}
[hidden]{display:none!important}
@media print{
 body{font-size:11pt}
 .toolbar,.see a{display:none}
 header{background:none}
 details.node>summary{list-style:none}
 details>.body{display:block!important}
 details::details-content{content-visibility:visible!important;display:contents}
 details.node{break-inside:auto}
 .card,tr{break-inside:avoid}
 a{color:inherit}
 .scroll{overflow:visible}
}
"""

# The search box filters tree nodes (a node stays when it or a descendant matches) and
# table rows; "#q=..." in the address pre-fills it. Printing opens every node first.
SCRIPT = """
(function(){
var box=document.getElementById('q'),count=document.getElementById('count');
var nodes=Array.prototype.slice.call(document.querySelectorAll('details.node')).reverse();
var rows=Array.prototype.slice.call(document.querySelectorAll('tr[data-search]'));
function kids(d){var c=d.querySelector(':scope>.body>.children');return c?c.children:[];}
function filter(){
 var q=box.value.trim().toLowerCase(),n=0;
 nodes.forEach(function(d){
  var hit=!q||d.getAttribute('data-search').indexOf(q)>=0,child=false,k=kids(d);
  for(var i=0;i<k.length;i++){if(!k[i].hidden){child=true;break;}}
  d.hidden=!(hit||child);
  d.classList.toggle('hit',!!q&&hit);
  if(q&&child){d.open=true;}
  if(q&&hit){n++;}
 });
 rows.forEach(function(r){var hit=!q||r.getAttribute('data-search').indexOf(q)>=0;r.hidden=!hit;if(q&&hit){n++;}});
 count.textContent=q?count.getAttribute('data-template').replace('{count}',n):'';
}
box.addEventListener('input',filter);
function setAll(open){document.querySelectorAll('details.node').forEach(function(d){d.open=open;});}
document.getElementById('expand').addEventListener('click',function(){setAll(true);});
document.getElementById('collapse').addEventListener('click',function(){setAll(false);});
var saved=[];
window.addEventListener('beforeprint',function(){saved=[];document.querySelectorAll('details').forEach(function(d){saved.push([d,d.open]);d.open=true;});});
window.addEventListener('afterprint',function(){saved.forEach(function(s){s[0].open=s[1];});});
var m=location.hash.match(/^#q=(.*)$/);
if(m){box.value=decodeURIComponent(m[1]);filter();}
})();
"""
