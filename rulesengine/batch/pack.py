"""The clearing pack: for every record of a batch run, its 清算明细 and its 清算说明, and an index.

``rulesengine batch ... --pack DIR`` writes into DIR, for every record of the output collection
(every row in row mode):

- ``NAME.xlsx``: the record's 清算明细, the workbook of ``rulesengine workbook``
  (:mod:`rulesengine.views.workbook`);
- ``NAME.html``: its 清算说明, the self-contained page of ``explain --format html``
  (:mod:`rulesengine.views.render_html`);
- ``index.html``: every record with its headline results and failed checks, linking to both.

NAME is the record's key made safe for a file name plus 8 hex digits of the key's SHA-1, so
``G/1`` and ``G_1`` get different files and a key gets the same name in every run. Each file is
written to a temporary name and renamed; an index left by an earlier run is removed first and the
new one is written last, so DIR holds an index only when every file it lists is complete.

A collection's records are computed together (the point value needs every case of the city), so
a record's page is the whole run's evaluation *scoped* to it (:class:`RecordScope`): its own
values as plain values (formula, values substituted, rounding, clause), the records below it
(its cases) and above it, the city-wide values it depends on (their own inputs cut, so no other
record's data is shown), and the checks as they concern it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, replace
from typing import Any, Iterable
from urllib.parse import quote

from ..check.model import Check, Rule
from ..core.i18n import _, os_reason, report_wording
from ..core.output import write_text
from ..evaluate.evaluator import CheckResult, Evaluation, Program, RecordCheck
from ..evaluate.records import Records
from ..evaluate.trace import RecordRow, Rounding, TraceNode
from ..views.explanation import amount, html_language
from ..views.render_html import CSP, CSS, e, render_html

INDEX = "index.html"
_UNSAFE = re.compile(r"[^\w.-]")


def add_pack_option(parser) -> None:
    """``--pack DIR`` on the ``batch`` subcommand."""
    parser.add_argument("--pack", metavar="DIR", help=_(
        "write a clearing pack to DIR: for every output record its 清算明细 (.xlsx) and 清算说明 "
        "(.html), and index.html listing them all"))


def file_stem(key: Any) -> str:
    """A file name for ``key``: the key with unsafe characters replaced, and a short hash."""
    text = str(key)
    safe = _UNSAFE.sub("_", text)[:60].lstrip(".") or "_"
    return f"{safe}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}"


def headline(program: Program, entity: str | None) -> list[str]:
    """The results a record ends in: its rules (of ``entity``; top-level ones for None) that no
    other rule of it uses, in the order of the ruleset."""
    decls = program.ruleset.declarations.values()
    rules = [d.id for d in decls if isinstance(d, Rule) and d.entity == entity]
    used = {dep for rule in rules for dep in program.graph.dependencies(rule)}
    return [rule for rule in rules if rule not in used]


# --- one record's part of the whole evaluation ------------------------------------------------
class RecordScope:
    """The whole evaluation of a collection, cut into one :class:`Evaluation` per record.

    Args:
        program: the compiled ruleset.
        evaluation: the evaluation of every record, made with ``trace=True``.
        collection: the collection whose records are scoped to.
    """

    def __init__(self, program: Program, evaluation: Evaluation, collection: str):
        self.program, self.whole = program, evaluation
        self.ruleset = ruleset = program.ruleset
        self.entity = ruleset.collections[collection]
        self.collection = collection
        self.decls = ruleset.declarations
        self.records: Records = evaluation.values[collection]
        self.targets = headline(program, self.entity.id)
        # per-record checks' failures by key, once, so a record's are found in constant time
        self.failures = {c.id: {str(r.key): r for r in c.records} for c in evaluation.checks
                         if c.records is not None}
        self.items = {node.id: _by_row(node, evaluation.values[ruleset.entities[node.entity].collection].keys)
                      for node in evaluation.trace if node.entity is not None and node.records is not None}

    def of(self, row: int) -> Evaluation:
        """The evaluation as it concerns record ``row``."""
        key = self.records.keys[row]
        rows = self._related(row)
        nodes: dict[str, TraceNode] = {}
        for node in self.whole.trace:
            if node.entity is None:  # city-wide: its per-record inputs are other records' data
                nodes[node.id] = replace(node, inputs=[i for i in node.inputs if self._top(i)])
            elif node.entity == self.entity.id:
                if self.items[node.id][row] is not None:  # else not computed for this record
                    nodes[node.id] = self._flat(node, self.items[node.id][row])
            else:
                collection = self.ruleset.entities[node.entity].collection
                if collection in rows:
                    items = self.items[node.id]
                    nodes[node.id] = replace(node, records=[items[i] for i in rows[collection]
                                                            if items[i] is not None])
        keep = _reachable(nodes, [n.id for n in nodes.values()
                                  if n.entity is not None or n.kind == "check"])
        checks = self._checks(row, key, rows)
        failed = [c.id for c in checks if not c.passed and c.id in keep]
        return replace(self.whole, targets=[t for t in self.targets if t in keep] + failed,
                       values=self._values(row, rows, keep), checks=checks,
                       trace=[n for n in nodes.values() if n.id in keep], scope=(self.entity.id, key))

    def _top(self, decl_id: str) -> bool:
        decl = self.decls.get(decl_id)
        return decl is None or decl.entity is None

    def _related(self, row: int) -> dict[str, list[int]]:
        """Rows of the records above and below record ``row``, by collection."""
        ruleset = self.ruleset
        rows: dict[str, list[int]] = {}
        entity, current = self.entity, [row]
        while entity.parent is not None:  # its parent, grandparent, ...
            records = self.whole.values[entity.collection]
            current = [records.parent_rows[r] for r in current if records.parent_rows[r] >= 0]
            entity = ruleset.entities[entity.parent]
            rows[entity.collection] = current
        pending = [(self.collection, [row])]
        while pending:  # its children, grandchildren, ...
            name, parents = pending.pop()
            records = self.whole.values[name]
            for child, groups in records.children.items():
                rows[child] = [r for p in parents for r in groups[p]]
                pending.append((child, rows[child]))
        return rows

    def _flat(self, node: TraceNode, item: RecordRow) -> TraceNode:
        """A per-record node as the record's own: one value, its formula substituted, rounding."""
        decl = self.decls[node.id]
        rounding = None
        if item.before_rounding is not None and isinstance(decl, Rule) and decl.rounding is not None:
            rounding = Rounding(decl.rounding.places, decl.rounding.mode, item.before_rounding)
        check = None
        if node.check is not None:
            check = replace(node.check, passed=bool(item.value))
            if item.sides is not None:
                sides = tuple(item.sides)
                check = replace(check, sides=sides, difference=RecordCheck(item.key, sides).difference,
                                side_type=decl.side_type)
        return replace(node, value=item.value, display=item.display,
                       substituted=item.substituted, rounding=rounding, check=check, records=None)

    def _checks(self, row: int, key: Any, rows: dict[str, list[int]]) -> list[CheckResult]:
        out = []
        for check in self.whole.checks:
            decl = self.decls[check.id]
            if decl.entity is None:
                out.append(check)
            elif decl.entity == self.entity.id:
                failure = self.failures[check.id].get(str(key))
                out.append(replace(check, passed=failure is None, records=None, checked=None,
                                   sides=failure.sides if failure else None))
            else:
                collection = self.ruleset.entities[decl.entity].collection
                if collection not in rows:
                    continue
                keys = self.whole.values[collection].keys
                mine = self.failures[check.id]
                failed = [mine[str(keys[r])] for r in rows[collection] if str(keys[r]) in mine]
                out.append(replace(check, passed=not failed, records=failed, checked=len(rows[collection])))
        return out

    def _values(self, row: int, rows: dict[str, list[int]], keep: set[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        whole = self.whole.values
        for decl_id in keep:
            if decl_id not in whole:
                continue
            decl = self.decls[decl_id]
            if decl.entity is None:
                values[decl_id] = whole[decl_id]
            elif decl.entity == self.entity.id:
                values[decl_id] = whole[decl_id][row]
            else:
                collection = self.ruleset.entities[decl.entity].collection
                values[decl_id] = [whole[decl_id][r] for r in rows[collection]]
        for collection, chosen in rows.items():
            values[collection] = _subset(self.ruleset, whole, collection, chosen, rows)
        return values


def _by_row(node: TraceNode, keys: list) -> list[dict | None]:
    """A per-record node's items by row of its collection (None: a record it has no value for,
    as one whose computation failed)."""
    if len(node.records) == len(keys):
        return node.records
    by_key = {str(item.key): item for item in node.records}
    return [by_key.get(str(key)) for key in keys]


def _subset(ruleset, whole: dict, collection: str, chosen: list[int], rows: dict) -> Records:
    """The records ``chosen`` of a collection, their parent rows renumbered among the chosen."""
    records = whole[collection]
    parent = ruleset.collections[collection].parent
    parent_rows: list[int] = []
    if parent is not None and ruleset.entities[parent].collection in rows and records.parent_rows:
        position = {r: i for i, r in enumerate(rows[ruleset.entities[parent].collection])}
        parent_rows = [position.get(records.parent_rows[r], -1) for r in chosen]
    return Records(records.entity, [records.keys[r] for r in chosen],
                   {name: [column[r] for r in chosen] for name, column in records.columns.items()},
                   [records.paths[r] for r in chosen], parent_rows)


def _reachable(nodes: dict[str, TraceNode], start: list[str]) -> set[str]:
    seen, stack = set(), list(start)
    while stack:
        node_id = stack.pop()
        if node_id in seen or node_id not in nodes:
            continue
        seen.add(node_id)
        stack.extend(nodes[node_id].inputs)
    return seen


# --- the pack on disk -----------------------------------------------------------------------
@dataclass
class _Entry:
    key: Any
    parent: Any
    stem: str
    values: list[str]
    failed: list[tuple[str, str]]  # (label, severity)
    errors: int


class Pack:
    """A pack directory being written: :meth:`add` a record at a time, then :meth:`finish`.

    Raises:
        OutputError: DIR cannot be created or a file cannot be written.
    """

    def __init__(self, folder: str, program: Program, columns: list[str]):
        from ..core.errors import OutputError
        self.folder, self.program, self.columns = folder, program, columns
        try:
            os.makedirs(folder, exist_ok=True)
            if os.path.exists(os.path.join(folder, INDEX)):
                os.remove(os.path.join(folder, INDEX))  # until this run's is complete
        except OSError as exc:
            raise OutputError(_("cannot write the pack '{path}': {reason}").format(
                path=folder, reason=os_reason(exc)),
                hint=_("--pack names a directory; check that it can be created and written")) from None
        self.entries: list[_Entry] = []
        self.stems: set[str] = set()

    def add(self, evaluation: Evaluation, parent: Any = None) -> None:
        """Write one record's 清算明细 and 清算说明 (``evaluation`` is scoped to it, with a trace)."""
        from ..views.workbook import write_workbook
        key = evaluation.scope[1]
        stem, n = file_stem(key), 2
        while stem in self.stems:  # the same key twice (row mode): keep both
            stem, n = f"{file_stem(key)}-{n}", n + 1
        self.stems.add(stem)
        write_workbook(self.program, evaluation, os.path.join(self.folder, stem + ".xlsx"))
        write_text(os.path.join(self.folder, stem + ".html"), render_html(self.program, evaluation))
        decls = self.program.ruleset.declarations
        with report_wording():  # the index's values, as the pages show them
            values = [amount(evaluation.values.get(c), decls[c].type) if c in evaluation.values else "—"
                      for c in self.columns]
        rows = evaluation.scope[0] is None  # a row's checks are all its own; a record's, per record
        failed = [(c.label, c.severity) for c in evaluation.checks
                  if not c.passed and (rows or decls[c.id].entity is not None)]
        self.entries.append(_Entry(key, parent, stem, values, failed, len(evaluation.errors)))

    def finish(self, whole: Evaluation | None = None) -> str:
        """Write index.html (with the city-wide results and checks of ``whole``); its path."""
        path = os.path.join(self.folder, INDEX)
        write_text(path, render_index(self.program, self.columns, self.entries, whole))
        return path


def write_entity_pack(folder: str, program: Program, evaluation: Evaluation, collection: str,
                      progress=None) -> str:
    """The pack of every record of ``collection`` from the whole run's traced evaluation."""
    scope = RecordScope(program, evaluation, collection)
    pack = Pack(folder, program, _shown(program, scope.targets))
    parent_keys = None
    if scope.entity.parent is not None:
        parents = evaluation.values[program.ruleset.entities[scope.entity.parent].collection]
        parent_keys = [parents.keys[r] if r >= 0 else None for r in scope.records.parent_rows]
    count = len(scope.records.keys)
    for row in range(count):
        pack.add(scope.of(row), parent_keys[row] if parent_keys else None)
        if progress is not None:
            progress.tick(_("writing the pack"), row + 1, count)
    return pack.finish(evaluation)


def write_row_pack(folder: str, program: Program, items: Iterable[tuple[Any, Evaluation]],
                   progress=None) -> str:
    """The pack of a row-by-row run: ``items`` are (key, traced evaluation of that row)."""
    targets = headline(program, None)
    pack = Pack(folder, program, _shown(program, targets))
    for key, evaluation in items:
        failed = [c.id for c in evaluation.checks if not c.passed]
        pack.add(replace(evaluation, targets=[t for t in targets if t in evaluation.values] + failed,
                         scope=(None, key)))
        if progress is not None:
            progress.tick(_("writing the pack"), len(pack.entries))
    return pack.finish()


def _shown(program: Program, targets: list[str]) -> list[str]:
    """The index's columns: the headline amounts and categories (all headline results if none)."""
    decls = program.ruleset.declarations
    chosen = [t for t in targets if decls[t].type.kind in ("money", "enum")]
    return chosen or targets


# --- index.html -----------------------------------------------------------------------------
@report_wording()
def render_index(program: Program, columns: list[str], entries: list[_Entry],
                 whole: Evaluation | None) -> str:
    """The index page: self-contained HTML, the same style as the record pages."""
    ruleset = program.ruleset
    meta = ruleset.meta
    decls = ruleset.declarations
    head = [f"<th>{e(_('key'))}</th>"]
    parents = any(entry.parent is not None for entry in entries)
    if parents:
        head.append(f"<th>{e(_('belongs to'))}</th>")
    head += [f'<th title="{e(ruleset.reference(decls[c]))}">{e(decls[c].label)}'
             f'<div class="sub"><code>{e(c)}</code></div></th>' for c in columns]
    head += [f"<th>{e(_('failed checks'))}</th>", f"<th>{e(_('files'))}</th>"]
    rows = [_index_row(entry, parents) for entry in entries]
    failing = sum(1 for entry in entries if entry.failed or entry.errors)
    summary = _("{count} records, {failing} with a failed check or an error").format(
        count=len(entries), failing=failing)
    parts = [
        "<!DOCTYPE html>", f'<html lang="{html_language()}">', "<head>", '<meta charset="utf-8">', CSP,
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(meta.title)} — {e(_('clearing pack'))}</title>", f"<style>{CSS}</style>",
        "</head>", "<body>",
        f'<header><p class="kicker">{e(_("clearing pack"))}</p><h1>{e(meta.title)}</h1>'
        f'<table class="meta"><tr><th>{e(_("Document number"))}</th><td>{e(meta.document_number)}</td></tr>'
        f'<tr><th>{e(_("Ruleset file"))}</th><td>{e(meta.file)}</td></tr></table></header>',
        '<nav class="toolbar">'
        f'<label for="q">{e(_("search"))}</label>'
        f'<input id="q" type="search" placeholder="{e(_("key, result, check…"))}" autocomplete="off">'
        "</nav>",
        "<main>",
        f'<section id="records"><h2>{e(_("records"))}</h2>'
        f'<p class="summary">{e(summary)}</p>'
        f'<div class="scroll"><table class="entity"><thead><tr>{"".join(head)}</tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table></div></section>',
        _city(program, whole) if whole is not None else "",
        "</main>",
        f"<script>{INDEX_SCRIPT}</script>", "</body>", "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _index_row(entry: _Entry, parents: bool) -> str:
    href = quote(entry.stem)
    cells = [f"<th>{e(entry.key)}</th>"]
    if parents:
        cells.append(f"<td>{e('' if entry.parent is None else entry.parent)}</td>")
    cells += [f'<td class="num">{e(v)}</td>' for v in entry.values]
    failed = "".join(f'<div class="{"warn" if severity == "warning" else "fail"}">{e(label)}</div>'
                     for label, severity in entry.failed)
    if entry.errors:
        failed += f'<div class="fail">{e(_("{count} errors").format(count=entry.errors))}</div>'
    cells.append(f"<td>{failed}</td>")
    cells.append(f'<td><a href="{href}.html">{e(_("explanation"))}</a> · '
                 f'<a href="{href}.xlsx">{e(_("workbook"))}</a></td>')
    css = ' class="fail"' if entry.failed or entry.errors else ""
    search = " ".join([str(entry.key), str(entry.parent or "")] + entry.values
                      + [label for label, _s in entry.failed]).lower()
    return f'<tr{css} data-search="{e(search)}">{"".join(cells)}</tr>'


def _city(program: Program, whole: Evaluation) -> str:
    """The city-wide results and checks every record depends on."""
    decls = program.ruleset.declarations
    rows = []
    for decl in decls.values():
        if isinstance(decl, Rule) and decl.entity is None and decl.id in whole.values:
            rows.append(f"<tr><td>{e(decl.label)}<div class=\"sub\"><code>{e(decl.id)}</code></div></td>"
                        f'<td class="num">{e(amount(whole.values[decl.id], decl.type))}</td>'
                        f'<td class="cite">{e(program.ruleset.reference(decl))}</td></tr>')
    for check in whole.checks:
        if decls[check.id].entity is None and isinstance(decls[check.id], Check) and not check.passed:
            css = "warn" if check.severity == "warning" else "fail"
            text = _("failed: {message}").format(message=check.message)
            rows.append(f'<tr class="{css}"><td>{e(check.label)}</td><td>{e(text)}</td>'
                        f'<td class="cite">{e(check.reference)}</td></tr>')
    if not rows:
        return ""
    return (f'<section id="city"><h2>{e(_("values every record depends on"))}</h2>'
            f'<table class="facts"><tbody>{"".join(rows)}</tbody></table></section>')


INDEX_SCRIPT = """
(function(){
var box=document.getElementById('q');
var rows=Array.prototype.slice.call(document.querySelectorAll('tr[data-search]'));
box.addEventListener('input',function(){var q=box.value.trim().toLowerCase();
rows.forEach(function(r){r.hidden=!!q&&r.getAttribute('data-search').indexOf(q)<0;});});
})();
"""
