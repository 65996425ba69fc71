"""Dependency graph -> pictures: Graphviz DOT, Mermaid, SVG and a self-contained HTML page.

Nodes are the ruleset's inputs, parameters, tables, rules and checks, labelled with their
Chinese label and id; an arrow ``a -> b`` means "b's formula uses a". The declarations of
each entity (a member, an institution, a case) sit in a cluster named after its
collection, a child entity's cluster inside its parent's. With targets, the targets and
everything they depend on are highlighted (or, with ``focus``, drawn alone).

DOT and Mermaid are plain text and always available; SVG and HTML run Graphviz's ``dot``
when it is installed (:class:`ToolMissingError` otherwise).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from ..core.errors import ToolFailedError, ToolMissingError, UnknownTargetError, did_you_mean
from ..evaluate.evaluator import Program
from .explanation import html_language, kind_word, period_text
from ..core.i18n import _, library_detail, report_wording
from ..check.model import Declaration, Entity

FONT = "Noto Sans CJK SC,Source Han Sans SC,Microsoft YaHei,sans-serif"

# Graphviz shape and fill per kind; Mermaid shapes follow the same idea.
_DOT_STYLE = {
    "input": ('shape=box, style="rounded,filled"', "#e8f4ea", "#4f8a5b"),
    "parameter": ('shape=note, style="filled"', "#fff6dd", "#a07d1c"),
    "table": ('shape=tab, style="filled"', "#fff6dd", "#a07d1c"),
    "rule": ('shape=box, style="filled"', "#e7effa", "#3b6aa8"),
    "check": ('shape=hexagon, style="filled"', "#fdecea", "#b3261e"),
}
_MERMAID_SHAPE = {"input": ('(["', '"])'), "parameter": ('[["', '"]]'), "table": ('[("', '")]'),
                  "rule": ('["', '"]'), "check": ('{{"', '"}}')}
_HIGHLIGHT = "#c62828"
_DIM = "#b8bec6"


@dataclass
class Cluster:
    entity: Entity
    nodes: list[str] = field(default_factory=list)
    children: list["Cluster"] = field(default_factory=list)


@dataclass
class GraphView:
    """What is drawn: nodes in document order, edges, clusters, the highlighted path."""

    program: Program
    nodes: list[str]
    edges: list[tuple[str, str]]
    top: list[str]  # nodes outside any entity
    clusters: list[Cluster]  # root entities; children nested
    targets: list[str]
    path: set[str]  # targets and all they depend on (empty without targets)

    def decl(self, node: str) -> Declaration:
        return self.program.ruleset.declarations[node]

    def on_path(self, a: str, b: str) -> bool:
        return a in self.path and b in self.path


def graph_view(program: Program, targets: list[str] | None = None, *, focus: bool = False) -> GraphView:
    """Choose what to draw.

    Args:
        program: the compiled ruleset.
        targets: ids whose dependencies are highlighted.
        focus: draw only the targets and what they depend on.

    Raises:
        UnknownTargetError: a target is not an id of the ruleset.
    """
    ruleset = program.ruleset
    graph = program.graph.graph
    targets = list(targets or [])
    for target in targets:
        if target not in graph:
            raise UnknownTargetError(_("unknown target '{id}'").format(id=target),
                                     hint=did_you_mean(target, ruleset.declarations))
    path = program.graph.requirements(targets) if targets else set()
    nodes = [d for d in ruleset.declarations if d in graph and (not focus or not targets or d in path)]
    shown = set(nodes)
    position = {node: i for i, node in enumerate(nodes)}
    edges = sorted(((a, b) for a, b in graph.edges if a in shown and b in shown),
                   key=lambda e: (position[e[1]], position[e[0]]))
    clusters = {entity.id: Cluster(entity) for entity in ruleset.entities.values()}
    top = []
    for node in nodes:
        entity = ruleset.declarations[node].entity
        (clusters[entity].nodes if entity in clusters else top).append(node)
    roots = []
    for cluster in clusters.values():
        parent = cluster.entity.parent
        (clusters[parent].children if parent in clusters else roots).append(cluster)
    roots = [c for c in roots if _has_nodes(c)]
    return GraphView(program, nodes, edges, top, roots, targets, path)


def _has_nodes(cluster: Cluster) -> bool:
    cluster.children = [c for c in cluster.children if _has_nodes(c)]
    return bool(cluster.nodes or cluster.children)


def _title(view: GraphView) -> str:
    meta = view.program.ruleset.meta
    return f"{meta.title}（{meta.document_number}）"


def _node_text(view: GraphView, node: str) -> tuple[str, str]:
    """(label, id line) of a node; per-record ids without their entity prefix."""
    decl = view.decl(node)
    return decl.label, decl.name


def _tooltip(view: GraphView, node: str) -> str:
    decl = view.decl(node)
    parts = [f"{kind_word(decl.kind)} {decl.id}", view.program.ruleset.reference(decl)]
    formula = getattr(decl, "formula", None)
    if formula:
        parts.append(" ".join(formula.split()))
    if decl.module:
        parts.append(_("module {id}").format(id=decl.module))
    return "\n".join(parts)


# --- DOT -------------------------------------------------------------------------------------
def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@report_wording()
def render_dot(view: GraphView) -> str:
    """The graph in Graphviz's DOT language."""
    lines = ["digraph ruleset {",
             f"  graph [rankdir=LR, fontname={_dot_string(FONT)}, fontsize=16, labelloc=t, "
             f"label={_dot_string(_title(view))}, nodesep=0.25, ranksep=0.6];",
             f"  node [fontname={_dot_string(FONT)}, fontsize=12, penwidth=1];",
             "  edge [color=\"#7a8594\", arrowsize=0.7];"]
    for node in view.top:
        lines.append("  " + _dot_node(view, node))
    for cluster in view.clusters:
        lines += _dot_cluster(view, cluster, "  ")
    for a, b in view.edges:
        if not view.targets:
            style = ""
        elif view.on_path(a, b):
            style = f' [color="{_HIGHLIGHT}", penwidth=2]'
        else:
            style = f' [color="{_DIM}"]'
        lines.append(f"  {_dot_string(a)} -> {_dot_string(b)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_cluster(view: GraphView, cluster: Cluster, pad: str) -> list[str]:
    entity = cluster.entity
    lines = [f"{pad}subgraph {_dot_string('cluster_' + entity.id)} {{",
             f"{pad}  label={_dot_string(f'{entity.label}（{entity.collection}）')}; "
             f'style="rounded,dashed"; color="#8e99a8"; fontsize=14;']
    lines += [f"{pad}  {_dot_node(view, node)}" for node in cluster.nodes]
    for child in cluster.children:
        lines += _dot_cluster(view, child, pad + "  ")
    lines.append(f"{pad}}}")
    return lines


def _dot_node(view: GraphView, node: str) -> str:
    decl = view.decl(node)
    shape, fill, stroke = _DOT_STYLE.get(decl.kind, _DOT_STYLE["rule"])
    if decl.module:  # declared in an included module: dashed outline
        shape = shape.replace('style="', 'style="dashed,')
    label, name = _node_text(view, node)
    font, width, extra = "#1d2733", 1, []
    if view.targets and node in view.targets:
        stroke, width, extra = _HIGHLIGHT, 3, ["peripheries=2"]
    elif view.targets and node in view.path:
        stroke, width = _HIGHLIGHT, 2
    elif view.targets:
        fill, stroke, font = "#f4f5f7", _DIM, "#8a929c"
    attrs = [f"label={_dot_string(label + chr(10) + name)}", shape, f'fillcolor="{fill}"',
             f'color="{stroke}"', f'fontcolor="{font}"', f"penwidth={width}", *extra,
             f"tooltip={_dot_string(_tooltip(view, node))}"]
    return f"{_dot_string(node)} [{', '.join(attrs)}];"


# --- Mermaid ---------------------------------------------------------------------------------
def _mermaid_text(text: str) -> str:
    escaped = html.escape(text, quote=False).replace('"', "#quot;")
    return escaped.replace("\n", "<br/>")


def render_mermaid(view: GraphView) -> str:
    """The graph as a Mermaid flowchart (GitHub, GitLab and many editors draw it)."""
    ids = {node: f"n{i}" for i, node in enumerate(view.nodes)}
    lines = [f"%% {_title(view)}", "flowchart LR"]
    for node in view.top:
        lines.append("  " + _mermaid_node(view, node, ids))
    for cluster in view.clusters:
        lines += _mermaid_cluster(view, cluster, ids, "  ")
    for a, b in view.edges:
        lines.append(f"  {ids[a]} --> {ids[b]}")
    for kind, (_shape, fill, stroke) in _DOT_STYLE.items():
        lines.append(f"  classDef {kind} fill:{fill},stroke:{stroke},color:#1d2733")
    lines.append(f"  classDef target stroke:{_HIGHLIGHT},stroke-width:4px")
    lines.append(f"  classDef path stroke:{_HIGHLIGHT},stroke-width:2px")
    lines.append(f"  classDef dim fill:#f4f5f7,stroke:{_DIM},color:#8a929c")
    by_class: dict[str, list[str]] = {}
    for node in view.nodes:
        by_class.setdefault(view.decl(node).kind, []).append(ids[node])
        if view.targets:
            mark = "target" if node in view.targets else "path" if node in view.path else "dim"
            by_class.setdefault(mark, []).append(ids[node])
    for name in ("input", "parameter", "table", "rule", "check", "dim", "path", "target"):
        if by_class.get(name):
            lines.append(f"  class {','.join(by_class[name])} {name}")
    if view.targets:
        on_path = [str(i) for i, (a, b) in enumerate(view.edges) if view.on_path(a, b)]
        if on_path:
            lines.append(f"  linkStyle {','.join(on_path)} stroke:{_HIGHLIGHT},stroke-width:2px")
    return "\n".join(lines) + "\n"


def _mermaid_cluster(view: GraphView, cluster: Cluster, ids: dict, pad: str) -> list[str]:
    entity = cluster.entity
    name = re.sub(r"\W", "_", entity.id, flags=re.ASCII)
    lines = [f'{pad}subgraph c_{name}["{_mermaid_text(f"{entity.label}（{entity.collection}）")}"]']
    lines += [f"{pad}  {_mermaid_node(view, node, ids)}" for node in cluster.nodes]
    for child in cluster.children:
        lines += _mermaid_cluster(view, child, ids, pad + "  ")
    lines.append(f"{pad}end")
    return lines


def _mermaid_node(view: GraphView, node: str, ids: dict) -> str:
    label, name = _node_text(view, node)
    opening, closing = _MERMAID_SHAPE.get(view.decl(node).kind, _MERMAID_SHAPE["rule"])
    return f"{ids[node]}{opening}{_mermaid_text(label + chr(10) + name)}{closing}"


# --- SVG and HTML ----------------------------------------------------------------------------
def render_svg(view: GraphView) -> str:
    """The graph drawn by Graphviz as SVG.

    Raises:
        ToolMissingError: ``dot`` is not on the PATH.
        ToolFailedError: ``dot`` failed.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise ToolMissingError(
            _("SVG needs Graphviz's 'dot' program, which is not installed"),
            hint=_("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
                   "graphviz), or use --format dot or --format mermaid"))
    try:
        done = subprocess.run([dot, "-Tsvg"], input=render_dot(view).encode("utf-8"),
                              capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolFailedError(_("running '{program}' failed: {reason}").format(program=dot, reason=library_detail(exc)),
                              hint=_("check the Graphviz installation, or use --format dot")) from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise ToolFailedError(_("running '{program}' failed: {reason}").format(program=f"{dot} -Tsvg", reason=message),
                              hint=_("check the Graphviz installation, or use --format dot"))
    return done.stdout.decode("utf-8")


def inline_svg(svg: str) -> str:
    """SVG ready to sit inside an HTML page: no XML prolog, doctype, comments or namespace
    declarations (HTML does not need them, and they would be the page's only URLs)."""
    svg = re.sub(r"<\?xml.*?\?>", "", svg, flags=re.S)
    svg = re.sub(r"<!DOCTYPE.*?>", "", svg, flags=re.S)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    return svg.strip()


def render_graph_html(view: GraphView) -> str:
    """A self-contained HTML page: the title, a legend and the SVG drawing."""
    return _graph_page(view, inline_svg(render_svg(view)))


@report_wording()
def _graph_page(view: GraphView, svg: str) -> str:
    meta = view.program.ruleset.meta
    e = lambda text: html.escape(str(text), quote=True)  # noqa: E731
    legend = "".join(
        f'<span class="key" style="background:{fill};border-color:{stroke}">{e(kind_word(kind))}</span>'
        for kind, (_shape, fill, stroke) in _DOT_STYLE.items())
    targets = ""
    if view.targets:
        names = "、".join(f"{view.decl(t).label}（{t}）" for t in view.targets)
        targets = (f'<p class="targets">{e(_("Targets highlighted, with what they depend on"))}：'
                   f'{e(names)}</p>')
    return "\n".join([
        "<!DOCTYPE html>", f'<html lang="{html_language()}">', "<head>", '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        'style-src \'unsafe-inline\'; img-src data:">',
        f"<title>{e(meta.title)} — {e(_('Dependency graph'))}</title>",
        "<style>body{margin:24px;font:14px/1.5 \"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;"
        "color:#1d2733}h1{font-size:22px;margin:0 0 4px}.meta{color:#5b6673;margin:0 0 8px}"
        ".key{display:inline-block;border:1px solid;border-radius:4px;padding:0 8px;margin-right:6px}"
        ".targets{color:#c62828}.drawing{overflow:auto;border:1px solid #d9dee5;padding:8px}"
        "svg{max-width:none;height:auto}@media print{.drawing{overflow:visible;border:none}}</style>",
        "</head>", "<body>",
        f"<h1>{e(meta.title)} — {e(_('Dependency graph'))}</h1>",
        f'<p class="meta">{e(meta.document_number)} · {e(_("In force"))} {e(period_text(meta))} · '
        f"{e(meta.file)}</p>",
        f'<p class="legend">{legend}</p>', targets,
        f'<div class="drawing">{svg}</div>', "</body>", "</html>"]) + "\n"


FORMATS = ("dot", "mermaid", "svg", "html")


def render_graph(program: Program, fmt: str, targets: list[str] | None = None, *,
                 focus: bool = False) -> str:
    """The dependency graph in ``fmt`` (dot, mermaid, svg or html)."""
    view = graph_view(program, targets, focus=focus)
    renderers = {"dot": render_dot, "mermaid": render_mermaid, "svg": render_svg,
                 "html": render_graph_html}
    return renderers[fmt](view)
