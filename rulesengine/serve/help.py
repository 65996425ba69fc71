"""帮助: the Chinese user guides of ``docs/zh`` as simple pages at ``/help`` and ``/help/<name>``.

Only the files of :data:`GUIDES` are ever read: a name from the request is looked up in that
fixed list and never joined to a path. The Markdown is rendered by markdown-it with raw HTML
off (everything escaped); links between guides become ``/help/<name>``, other relative links
plain text. An installed package without ``docs/`` shows a short note instead.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt

from ..core.i18n import _
from .pages import page

router = APIRouter(include_in_schema=False)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "zh"
GUIDES = ("README", "clearing", "explanation", "workbench", "authoring")  # the only files served
_FILES = {name: DOCS / f"{name}.md" for name in GUIDES}


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _retarget(tokens) -> None:
    """Links to a guide go to its page; other relative links become plain text."""
    for token in tokens:
        if not token.children:
            continue
        kept, opened = [], []
        for child in token.children:
            if child.type == "link_open":
                href = str(child.attrGet("href") or "")
                target = href.split("#", 1)[0].removesuffix(".md")
                if target in _FILES:
                    child.attrSet("href", f"/help/{target}")
                opened.append(target in _FILES or href.startswith(("http://", "https://")))
                if not opened[-1]:
                    continue
            elif child.type == "link_close" and not opened.pop():
                continue
            kept.append(child)
        token.children = kept


def render_guide(text: str) -> str:
    md = _markdown()
    tokens = md.parse(text)
    _retarget(tokens)
    return md.renderer.render(tokens, md.options, {})


def _title(text: str, name: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return name


def _missing() -> HTMLResponse:
    return page("help.html", guides=None, body=None,
                note=_("The guides are not installed with this package: read docs/zh in the project's "
                       "source repository."))


@router.get("/help", response_class=HTMLResponse)
def help_index():
    if not all(path.is_file() for path in _FILES.values()):
        return _missing()
    guides = [(name, _title(path.read_text(encoding="utf-8"), name)) for name, path in _FILES.items()
              if name != "README"]
    return page("help.html", guides=guides, body=None, note=None)


@router.get("/help/{name}", response_class=HTMLResponse)
def help_page(name: str):
    path = _FILES.get(name)
    if path is None:
        return page("help.html", 404, guides=None, body=None, note=_("No such guide."))
    if not path.is_file():
        return _missing()
    return page("help.html", guides=None, body=render_guide(path.read_text(encoding="utf-8")), note=None)
