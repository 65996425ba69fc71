"""The JSON API (``/api/...``), described by OpenAPI at ``/docs``.

Bodies are parsed here, numbers with a point as ``Decimal``, so a fact keeps the digits it was
sent with; every answer is the CLI's JSON (money as decimal strings). A bad request gets a 4xx
``{"errors": [{code, severity, message, hint, span: {file, line, column}}]}``.
"""

from __future__ import annotations

import os
from urllib.parse import unquote
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..commands.compare import compare_json
from ..commands.diff import RulesetDiff, diff_json, diff_results, diff_rulesets
from ..core.errors import OutputError, UsageError
from ..core.i18n import _
from ..evaluate.facts import example_facts
from ..views.report import error_json
from .catalog import NAME, ConflictError
from .describe import describe, summary
from .ledger import output_text, rerun, sha256
from .work import compare_facts, diff_facts, evaluate, facts_text, parse_json, request_facts, validate_text

router = APIRouter(prefix="/api")
USER_HEADER = "X-Rulesengine-User"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunRequest(_Body):
    """Facts (one of facts, facts_text, example) and what to compute."""

    facts: dict[str, Any] | None = Field(None, description="fact name -> value; money as a decimal string or number")
    facts_text: str | None = Field(None, description="facts as YAML or JSON text (errors point at its lines)")
    example: str | None = Field(None, description="run an example of the ruleset; '' for the first")
    targets: list[str] | None = Field(None, description="rule or check ids (default: all)")
    as_of: date | None = Field(None, description="date for dated parameters (YYYY-MM-DD)")
    user: str | None = Field(None, max_length=80, description="who runs it, for the ledger")


class ValidateRequest(_Body):
    text: str = Field(..., description="the ruleset's YAML")
    name: str = Field("ruleset", description="file name shown in messages (without .yaml)")
    tests: bool = Field(False, description="also run the ruleset's own tests (when it is valid)")


class SaveRequest(_Body):
    text: str = Field(..., description="the ruleset's YAML")
    name: str = Field(..., description="the new file's name (without .yaml)")


class DiffRequest(_Body):
    old: str = Field(..., description="name of the earlier ruleset")
    new: str = Field(..., description="name of the later ruleset")
    facts: dict[str, Any] | None = None
    example: str | None = None


def _schema(model: type[BaseModel]) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")}}}}


async def body(request: Request, model: type[BaseModel]):
    """The request's JSON as ``model``; a located UsageError for a field that does not fit."""
    data = parse_json(await request.body())
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or _("the body")
        raise UsageError(_("field '{field}': {problem}").format(field=where, problem=problem["msg"]),
                         hint=_("see the request schema at /docs")) from None


def who(request: Request, given: str | None = None) -> str:
    """The user named in the body, or in the X-Rulesengine-User header (percent-encoded UTF-8,
    as headers are ASCII); '' if none."""
    name = given or unquote(request.headers.get(USER_HEADER, ""), errors="replace")
    return name.strip()[:80]


@router.get("/rulesets", summary="List the served rulesets")
def list_rulesets(request: Request) -> list[dict]:
    catalog = request.app.state.catalog
    return [summary(catalog.entry(name)) for name in catalog.names()]


@router.get("/rulesets/{name}", summary="One ruleset's declarations, clauses and readings")
def show_ruleset(name: str, request: Request) -> dict:
    return describe(request.app.state.catalog.program(name), name)


def compute(request: Request, name: str, data: RunRequest, command: str, *, record: bool = True) -> dict:
    """Evaluate as ``rulesengine run|explain --format json`` and record the run in the ledger
    (unless ``record`` is false: the 计算 page's live recompute as the clerk types)."""
    state = request.app.state
    program = state.catalog.program(name)
    facts = request_facts(program, facts=data.facts, text=data.facts_text, example=data.example)
    evaluation = evaluate(program, facts, data.targets, data.as_of, trace=command == "explain")
    output = output_text(command, program, evaluation)
    number = None
    if state.ledger is not None and record:
        number = state.ledger.record(who=who(request, data.user), command=command, name=name,
                                     catalog=state.catalog, program=program, facts_text=facts.text,
                                     facts_source=facts.source, targets=data.targets, as_of=data.as_of,
                                     output=output, evaluation=evaluation)
    return {"output": output, "run": number, "program": program, "evaluation": evaluation}


async def _answer(request: Request, name: str, command: str) -> Response:
    """The CLI's JSON text as it is (sorted, indented), byte for byte; 400 when the evaluation
    reports errors (missing facts, a division by zero: the CLI's exit 2), else 200 (failed checks
    are a result). The run's number in the ledger is in the X-Rulesengine-Run header."""
    data = await body(request, RunRequest)
    done = await run_in_threadpool(compute, request, name, data, command)
    headers = {"X-Rulesengine-Run": str(done["run"])} if done["run"] is not None else {}
    status = 400 if done["evaluation"].errors else 200
    return Response(done["output"], status_code=status, media_type="application/json", headers=headers)


@router.post("/rulesets/{name}/run", summary="Evaluate: values and checks (the CLI's run JSON)",
             openapi_extra=_schema(RunRequest))
async def run(name: str, request: Request):
    return await _answer(request, name, "run")


@router.post("/rulesets/{name}/explain", summary="Evaluate with the trace (the CLI's explain JSON)",
             openapi_extra=_schema(RunRequest))
async def explain(name: str, request: Request):
    return await _answer(request, name, "explain")


@router.post("/validate", summary="Check a ruleset text: every error with line, column, code and hint",
             openapi_extra=_schema(ValidateRequest))
async def validate(request: Request) -> dict:
    data = await body(request, ValidateRequest)
    return await run_in_threadpool(validation, request, data)


def validation(request: Request, data: ValidateRequest) -> dict:
    if not NAME.fullmatch(data.name):
        raise UsageError(_("'{name}' is not a usable file name").format(name=data.name[:80]),
                         hint=_("letters, digits, '_' and '-' only, e.g. sanya_2025"))
    modules = os.path.join(request.app.state.catalog.folder, "modules")
    program, problems, outcomes = validate_text(data.text, modules, data.name + ".yaml", tests=data.tests)
    result = {"valid": program is not None,
              "errors": [error_json(p) for p in problems if p.severity == "error"],
              "warnings": [error_json(p) for p in problems if p.severity != "error"]}
    if program is not None:
        ruleset = program.ruleset
        result["counts"] = {kind: len(ruleset.of_kind(kind)) for kind in
                            ("rule", "check", "input", "parameter", "table")}
        result["counts"].update(tests=len(ruleset.tests), clauses=len(ruleset.clauses))
        if data.tests:
            result["tests"] = outcomes
    return result


@router.post("/rulesets", summary="Save a valid ruleset as a new file (never overwrites)",
             status_code=201, openapi_extra=_schema(SaveRequest))
async def save(request: Request) -> dict:
    data = await body(request, SaveRequest)
    return await run_in_threadpool(save_ruleset, request, data)


def save_ruleset(request: Request, data: SaveRequest | ValidateRequest) -> dict:
    result = validation(request, ValidateRequest(text=data.text, name=data.name))
    if not result["valid"]:
        raise UsageError(_("the ruleset has errors; it was not saved"),
                         hint=_("validate it and correct every error first"))
    path = os.path.join(request.app.state.catalog.folder, data.name + ".yaml")
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ConflictError(_("'{name}.yaml' already exists; nothing was overwritten").format(name=data.name),
                            hint=_("choose a new name, e.g. {name}_v2").format(name=data.name)) from None
    except OSError as exc:
        raise OutputError(_("cannot write '{path}': {reason}").format(path=data.name + ".yaml",
                                                                       reason=exc.strerror or exc)) from None
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(data.text)
    return {"saved": data.name, **result}


@router.post("/diff", summary="What changed between two rulesets, and which results move",
             openapi_extra=_schema(DiffRequest))
async def diff(request: Request) -> dict:
    return await run_in_threadpool(diff_of, request, await body(request, DiffRequest))


def diff_of(request: Request, data: DiffRequest) -> dict:
    return diff_json(ruleset_diff(request, data))


def ruleset_diff(request: Request, data: DiffRequest) -> RulesetDiff:
    """``rulesengine diff OLD NEW [--example | --facts]`` on two served rulesets."""
    catalog = request.app.state.catalog
    old, new = catalog.program(data.old), catalog.program(data.new)
    result = RulesetDiff(old, new, diff_rulesets(old, new))
    if data.facts is not None:
        result.results = diff_facts(old, new, facts_text(data.facts))
    elif data.example is not None:
        name = data.example or None  # the example of OLD (of NEW when OLD lacks it), as the CLI
        owner = old if (old.ruleset.examples and (name is None or name in old.ruleset.examples)) else new
        label = name or next(iter(owner.ruleset.examples), "")
        result.results = diff_results(old, new, example_facts(owner.ruleset, name),
                                      _("example {name}").format(name=label))
    return result


class CompareRequest(_Body):
    rulesets: list[str] = Field(..., min_length=1, description="names of the rulesets to compare")
    facts: dict[str, Any] | None = Field(None, description="shared facts, and a section per ruleset id")
    facts_text: str | None = Field(None, description="the same as YAML or JSON text")
    per_record: bool = False


@router.post("/compare", summary="Several rulesets on one set of facts, side by side by glossary concept",
             openapi_extra=_schema(CompareRequest))
async def compare_rulesets(request: Request) -> dict:
    return await run_in_threadpool(compare_of, request, await body(request, CompareRequest))


def compare_of(request: Request, data: CompareRequest) -> dict:
    """``rulesengine compare RULESETS --facts FILE --format json`` on served rulesets."""
    if (data.facts is None) == (data.facts_text is None):
        raise UsageError(_("give exactly one of 'facts' and 'facts_text'"),
                         hint=_("see the request schema at /docs"))
    programs = [request.app.state.catalog.program(name) for name in data.rulesets]
    text = data.facts_text if data.facts_text is not None else facts_text(data.facts)
    return compare_json(compare_facts(programs, text), data.per_record)


@router.get("/runs", summary="The ledger: runs kept, latest first")
def runs(request: Request, ruleset: str | None = None) -> list[dict]:
    return [run_summary(r) for r in ledger_of(request).runs(ruleset)]


def run_summary(record) -> dict:
    return {"run": record.id, "at": record.at, "who": record.who, "command": record.command,
            "ruleset": record.ruleset, "ruleset_id": record.ruleset_id,
            "document_number": record.document_number, "files": record.files,
            "facts_sha256": record.facts_sha256, "output_sha256": record.output_sha256,
            "failed_checks": record.failed_checks}


@router.get("/runs/{number}", summary="One run: its facts and its output")
def run_record(number: int, request: Request) -> dict:
    record = ledger_of(request).get(number)
    return {**run_summary(record), "targets": record.targets, "as_of": record.as_of,
            "facts": record.facts, "facts_source": record.facts_source, "output": record.output}


@router.post("/runs/{number}/rerun", summary="Recompute a run from its stored facts and the current files")
def rerun_record(number: int, request: Request) -> dict:
    again = rerun(ledger_of(request), request.app.state.catalog, number)
    return {"run": number, "identical": again.identical, "output_sha256": again.record.output_sha256,
            "rerun_sha256": sha256(again.output),
            "changed_files": again.changed_files, "changed_declarations": again.changed_declarations,
            "changed_values": [{"id": i, "stored": a, "now": b} for i, a, b in again.changed_values]}


def ledger_of(request: Request):
    ledger = request.app.state.ledger
    if ledger is None:
        raise UsageError(_("the ledger is off (the server runs with --no-ledger)"),
                         hint=_("start the server without --no-ledger to keep runs"))
    return ledger
