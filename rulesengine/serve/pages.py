"""The workbench: server-rendered pages in Chinese (Jinja2, every text escaped).

Home (the rulesets), a ruleset (declarations, clauses, readings, dependency picture), 计算 (a
form made from the inputs; the result is the HTML report itself, with downloads), 编辑 (YAML,
validated on submit and as she types; saved as a new file only) and 记录 (the ledger, with
rerun). Every word on a page comes from :func:`words` through the message catalogue. Pages load
nothing from the network: CSS and the little JavaScript are inline.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..commands.compare import compare_table
from ..commands.diff import diff_text
from ..core.errors import RulesError, ToolFailedError, ToolMissingError, UsageError, flatten
from ..evaluate.facts import example_facts
from ..core.i18n import _
from ..load.document import parse_document
from ..views.render_graph import render_graph
from ..views.render_html import render_html
from ..views.render_md import render_md
from ..views.report import error_json
from .api import (DiffRequest, RunRequest, ValidateRequest, compute, ledger_of, ruleset_diff, save_ruleset,
                  validation)
from .describe import declaration, describe, summary
from .ledger import rerun, sha256
from .work import compare_facts, facts_text

router = APIRouter(include_in_schema=False)
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
       "connect-src 'self'; form-action 'self'; frame-src 'self'; base-uri 'none'")


def words() -> dict[str, str]:
    """Every word the templates show, in the current language."""
    return {
        "app": _("Medical-insurance rules workbench"), "home": _("Rulesets"), "history": _("Run history"),
        "edit_new": _("New ruleset"), "api": _("API (OpenAPI)"), "name": _("Name"), "title": _("Title"),
        "document_number": _("Document number"), "period": _("Period in force"),
        "clauses": _("Clause coverage"), "actions": _("Actions"), "calc": _("Calculate"),
        "edit": _("Edit"), "batch": _("Batch clearing"), "open": _("Open"), "invalid": _("has errors"),
        "encoded": _("encoded"), "input": _("input"), "out-of-scope": _("out of scope"), "todo": _("to do"),
        "parameters": _("Parameters"), "tables": _("Tables"), "inputs": _("Inputs"), "rules": _("Rules"),
        "checks": _("Checks"), "id": _("Id"), "label": _("Label"), "type": _("Type"), "unit": _("Unit"),
        "value": _("Value"), "citation": _("Citation"), "formula": _("Formula"), "note": _("Note"),
        "open_parameter": _("open: supplied with the facts"), "key": _("Key"),
        "inventory": _("Clause inventory"), "clause": _("Clause"), "status": _("Status"),
        "summary": _("Summary"), "ids": _("Declarations"), "readings": _("Readings"),
        "text": _("Text"), "reading": _("Reading"), "affects": _("Affects"), "graph": _("Dependency graph"),
        "graph_missing": _("the picture needs Graphviz's dot program on the server"),
        "load_example": _("Load example"), "compute": _("Compute"), "user": _("Your name (for the ledger)"),
        "collections_help": _("one record per list item, as YAML"), "yes": _("yes"), "no": _("no"),
        "blank": _("(not given)"), "download_html": _("Download HTML"), "download_md": _("Download Markdown"),
        "download_xlsx": _("Download workbook"), "run_kept": _("Kept in the ledger as run {number}."),
        "result": _("Result"), "errors": _("Errors"), "hint": _("hint"), "line": _("line"),
        "column": _("column"), "validate": _("Validate"), "save_as": _("Save as new file"),
        "file_name": _("File name (without .yaml)"), "valid": _("No errors."), "saved": _("Saved as {name}.yaml."),
        "when": _("When (UTC)"), "who": _("Who"), "command": _("Command"), "ruleset": _("Ruleset"),
        "failed_checks": _("Failed checks"), "rerun": _("Rerun"), "facts": _("Facts"), "output": _("Output"),
        "identical": _("Rerun gives byte-identical output (SHA-256 {digest})."),
        "different": _("Rerun gives a different output: the ruleset changed since this run."),
        "changed_files": _("Changed files"), "changed_declarations": _("Changed declarations"),
        "changed_values": _("Changed results"), "stored": _("Stored"), "now": _("Now"),
        "anonymous": _("anonymous"), "no_runs": _("No runs kept yet."), "ledger_off": _("The ledger is off."),
        "compare": _("Compare"), "diff": _("Version diff"), "old": _("Earlier version"),
        "new": _("Later version"), "with_example": _("with the example's facts"), "show": _("Show"),
        "facts_yaml": _("Facts (YAML: shared facts, and a section per ruleset id)"),
        "per_record": _("record by record"),
        "error_title": _("The request could not be done"), "back": _("Back"), "typing": _("checking…"),
        "recomputing": _("recomputing…"), "lost": _("the server did not answer"),
        "run_tests": _("Run its tests"), "tests": _("Tests"), "passed": _("passed"), "failed": _("failed"),
        "help": _("Help"),
    }


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(w=words(), **context)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP})


def error_page(request: Request, err: RulesError | list[dict], status: int) -> HTMLResponse:
    errors = err if isinstance(err, list) else [error_json(e) for e in flatten(err)]
    return page("error.html", status, errors=errors)


@router.get("/", response_class=HTMLResponse)
def home(request: Request):
    catalog = request.app.state.catalog
    return page("home.html", rulesets=[summary(catalog.entry(n)) for n in catalog.names()])


@router.get("/rulesets/{name}", response_class=HTMLResponse)
def ruleset_page(name: str, request: Request):
    program = request.app.state.catalog.program(name)
    return page("ruleset.html", r=describe(program, name), svg=_picture(program))


@lru_cache(maxsize=16)
def _picture(program) -> str | None:
    """The dependency graph as SVG (drawn once per loaded program), None without Graphviz."""
    try:
        return render_graph(program, "svg")
    except (ToolMissingError, ToolFailedError):
        return None


def _form_fields(program, values: dict) -> tuple[list[dict], list[dict]]:
    """The fields of the 计算 form (top-level facts) and the collections (YAML text areas)."""
    ruleset = program.ruleset
    fields = []
    for fact in ruleset.fact_names():
        decl = ruleset.declarations.get(fact)
        if decl is None:
            continue
        data = declaration(decl, ruleset)
        data["given"] = values.get(fact)
        fields.append(data)
    collections = []
    for entity in ruleset.entities.values():
        collections.append({"name": entity.collection, "label": entity.label,
                            "citation": entity.citation, "text": values.get(entity.collection)})
    return fields, collections


def _example_values(program, example: str) -> dict:
    """An example's facts as the form shows them (collections as YAML text)."""
    values = example_facts(program.ruleset, example or None).values
    shown: dict[str, str] = {}
    for key, value in values.items():
        if key in program.ruleset.collections:
            shown[key] = facts_text(value)
        elif isinstance(value, bool):
            shown[key] = "true" if value else "false"
        else:
            shown[key] = str(value)
    return shown


@router.get("/rulesets/{name}/calc", response_class=HTMLResponse)
def calc_form(name: str, request: Request, example: str | None = None):
    program = request.app.state.catalog.program(name)
    values = _example_values(program, example) if example is not None else {}
    fields, collections = _form_fields(program, values)
    return page("calc.html", r=describe(program, name), fields=fields, collections=collections,
                examples=program.ruleset.examples, user="")


def _form_facts(program, typed: dict[str, str]) -> dict[str, Any]:
    """Facts for the engine from the 计算 form's fields (blank ones left out; collections are YAML)."""
    ruleset = program.ruleset
    facts: dict[str, Any] = {}
    for fact, raw in typed.items():
        if not raw:
            continue
        if fact in ruleset.collections:
            facts[fact] = parse_document(f"{fact}.yaml", raw).value
        elif ruleset.declarations[fact].type.kind == "boolean":
            facts[fact] = {"true": True, "false": False}.get(raw, raw)
        else:
            facts[fact] = raw
    return facts


DOWNLOADS = {"html": ("text/html; charset=utf-8", "html"), "md": ("text/markdown; charset=utf-8", "md"),
             "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")}


@router.post("/rulesets/{name}/calc", response_class=HTMLResponse)
async def calc_submit(name: str, request: Request):
    form = await request.form()
    return await run_in_threadpool(_calc, name, request, form)


def _calc(name: str, request: Request, form) -> Response:
    """The 计算 form submitted: the page with the report, or a download."""
    program = request.app.state.catalog.program(name)
    user = str(form.get("user", ""))[:80]
    fmt, live = str(form.get("format", "")), form.get("live") == "1"
    errors: list = []
    typed = {fact: str(form.get(fact, "")).strip() for fact in program.ruleset.fact_names()}
    try:
        done = compute(request, name, RunRequest(facts=_form_facts(program, typed), user=user), "explain",
                       record=not live)
    except RulesError as err:
        errors = [error_json(e) for e in flatten(err)]
        done = None
    if done is not None and fmt in DOWNLOADS:
        return _download(done, fmt)
    fields, collections = _form_fields(program, typed)
    report = render_html(done["program"], done["evaluation"]) if done else None
    return page("outcome.html" if live else "calc.html", 400 if errors else 200, r=describe(program, name),
                fields=fields,
                collections=collections, examples=program.ruleset.examples, user=user,
                errors=errors, report=report, run=done["run"] if done else None)


def _download(done: dict, fmt: str) -> Response:
    program, evaluation = done["program"], done["evaluation"]
    media, suffix = DOWNLOADS[fmt]
    if fmt == "xlsx":
        from ..views.workbook import build_workbook
        buffer = io.BytesIO()
        build_workbook(program, evaluation).save(buffer)
        content: bytes | str = buffer.getvalue()
    else:
        content = (render_html if fmt == "html" else render_md)(program, evaluation)
    file = f"{program.ruleset.meta.id}.{suffix}"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{file}"'})


@router.get("/edit", response_class=HTMLResponse)
def edit_form(request: Request, source: str | None = None):
    catalog = request.app.state.catalog
    text, name = "", "new_ruleset"
    if source:
        with open(catalog.path(source), encoding="utf-8") as handle:
            text = handle.read()
        name = f"{source}_v2"
    return page("edit.html", text=text, name=name, source=source, result=None)


@router.post("/edit", response_class=HTMLResponse)
async def edit_submit(request: Request):
    form = await request.form()
    return await run_in_threadpool(_edit, request, form)


def _edit(request: Request, form) -> HTMLResponse:
    """The 编辑 form submitted: validate, or save as a new file."""
    text, name = str(form.get("text", "")), str(form.get("name", "")).strip()
    data = ValidateRequest(text=text, name=name or "ruleset", tests=form.get("action") == "test")
    saved, status = None, 200
    try:
        if form.get("action") == "save":
            result = save_ruleset(request, data)
            saved = data.name
        else:
            result = validation(request, data)
    except RulesError as err:
        result = {"valid": False, "errors": [error_json(e) for e in flatten(err)], "warnings": []}
        status = 409 if err.code == "exists" else 400
    return page("edit.html", status, text=text, name=name, source=None, result=result, saved=saved)


@router.get("/runs", response_class=HTMLResponse)
def history(request: Request, ruleset: str | None = None):
    ledger = request.app.state.ledger
    return page("history.html", runs=ledger.runs(ruleset) if ledger else None)


@router.get("/runs/{number}", response_class=HTMLResponse)
def run_page(number: int, request: Request):
    return page("run.html", record=ledger_of(request).get(number), again=None)


@router.post("/runs/{number}/rerun", response_class=HTMLResponse)
def rerun_page(number: int, request: Request):
    again = rerun(ledger_of(request), request.app.state.catalog, number)
    return page("run.html", record=again.record, again=again, digest=sha256(again.output))


@router.get("/diff", response_class=HTMLResponse)
def diff_page(request: Request, old: str | None = None, new: str | None = None, example: str = ""):
    """版本差异: what changed between two served rulesets, and which results move on an example."""
    catalog = request.app.state.catalog
    text = None
    if old and new:
        text = diff_text(ruleset_diff(request, DiffRequest(old=old, new=new, example="" if example else None)))
    return page("diff.html", names=catalog.names(), old=old, new=new, example=bool(example), text=text)


@router.get("/compare", response_class=HTMLResponse)
def compare_form(request: Request):
    catalog = request.app.state.catalog
    shared = os.path.join(catalog.folder, "facts")
    files = sorted(f for f in os.listdir(shared) if f.endswith(".yaml")) if os.path.isdir(shared) else []
    text = ""
    if files:
        with open(os.path.join(shared, files[0]), encoding="utf-8") as handle:
            text = handle.read()
    return page("compare.html", names=catalog.names(), chosen=catalog.names(), facts=text, table=None)


@router.post("/compare", response_class=HTMLResponse)
async def compare_submit(request: Request):
    form = await request.form()
    return await run_in_threadpool(_compare, request, form)


def _compare(request: Request, form) -> HTMLResponse:
    catalog = request.app.state.catalog
    chosen = [str(n) for n in form.getlist("rulesets")]
    facts = str(form.get("facts", ""))
    table, errors = None, []
    try:
        if not chosen:
            raise UsageError(_("choose at least one ruleset"), hint=_("tick the rulesets to compare"))
        programs = [catalog.program(name) for name in chosen]
        table = compare_table(compare_facts(programs, facts), bool(form.get("per_record")))
    except RulesError as err:
        errors = [error_json(e) for e in flatten(err)]
    return page("compare.html", 400 if errors else 200, names=catalog.names(), chosen=chosen,
                facts=facts, table=table, errors=errors)
