"""The ASGI application: the JSON API, the workbench pages, and what keeps them safe.

Safe by default: the server binds to 127.0.0.1; on any other address every request needs the
access token (``Authorization: Bearer TOKEN``, a ``token`` query parameter once, then a
cookie). Bodies are bounded (:data:`~.work.MAX_BODY_BYTES`); a ruleset is found by name in the
served folder only. Bad input gets a 4xx JSON (API) or page with the CLI's code and a located
message; anything else a 500 without a traceback.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..core.errors import OutputError, RulesError
from ..core.i18n import _, get_language, set_language
from .api import router as api_router
from .batch_routes import api as batch_api, pages as batch_pages
from .help import router as help_router
from .catalog import Catalog, ConflictError, NotFoundError
from .jobs import MAX_UPLOAD_BYTES, Jobs
from .ledger import Ledger
from .pages import router as page_router, error_page
from .work import MAX_BODY_BYTES, errors_json

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
TOKEN_COOKIE = "rulesengine_token"
log = logging.getLogger("rulesengine.serve")


def status_of(err: RulesError) -> int:
    if isinstance(err, NotFoundError):
        return 404
    if isinstance(err, ConflictError):
        return 409
    if isinstance(err, OutputError):  # the server could not write (the ledger, a saved file)
        return 500
    return 400


def create_app(folder: str, *, ledger: str | None = None, token: str | None = None,
               language: str = "zh", work_dir: str | None = None) -> FastAPI:
    """The application serving the rulesets of ``folder``; runs recorded in ``ledger`` (None: off);
    batch jobs in folders under ``work_dir`` (default: a new temporary folder)."""
    catalog, kept = Catalog(folder), Ledger(ledger) if ledger else None  # errors in the caller's language
    previous = get_language()
    set_language(language)
    try:
        app = FastAPI(title="rulesengine", version="1", description=_(
            "Rules as code for medical-insurance payment policies: run, explain, validate and diff "
            "the served rulesets. Money is a decimal string."))
    finally:
        set_language(previous)  # the caller's language; each request sets the server's
    app.state.catalog, app.state.ledger = catalog, kept
    app.state.jobs = Jobs(work_dir)
    app.state.token = token
    app.state.language = language
    app.include_router(api_router)
    app.include_router(batch_api)
    app.include_router(page_router)
    app.include_router(batch_pages)
    app.include_router(help_router)
    _handlers(app)
    _guard(app)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", "")


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(RulesError)
    async def rules_error(request: Request, err: RulesError):
        if _wants_json(request):
            return JSONResponse(errors_json(err), status_code=status_of(err))
        return error_page(request, err, status_of(err))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, err: RequestValidationError):
        problem = err.errors()[0] if err.errors() else {"loc": (), "msg": ""}
        where = ".".join(str(p) for p in problem.get("loc", ()))
        return JSONResponse({"errors": [{"code": "usage", "severity": "error", "message": _(
            "field '{field}': {problem}").format(field=where, problem=problem.get("msg", "")),
            "hint": _("see the request schema at /docs")}]}, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException):
        code = "not-found" if err.status_code == 404 else "usage"
        message = {404: _("no such page: {path}"), 405: _("{method} is not allowed on {path}")}.get(
            err.status_code, str(err.detail)).format(path=request.url.path[:200], method=request.method)
        errors = [{"code": code, "severity": "error", "message": message}]
        if not _wants_json(request):
            return error_page(request, errors, err.status_code)
        return JSONResponse({"errors": errors}, status_code=err.status_code)

    @app.exception_handler(Exception)
    async def internal(request: Request, err: Exception):  # a bug of ours: say so, no traceback
        log.exception("internal error on %s", request.url.path)
        return JSONResponse({"errors": [{"code": "internal", "severity": "error", "message": _(
            "internal error: {error}").format(error=type(err).__name__), "hint": _(
            "this is a bug in rulesengine; the server's log has the details")}]}, status_code=500)


def _guard(app: FastAPI) -> None:
    @app.middleware("http")
    async def guard(request: Request, call_next):
        length = request.headers.get("content-length", "")
        limit = MAX_UPLOAD_BYTES if request.url.path.endswith("/batch") else MAX_BODY_BYTES
        if length.isdigit() and int(length) > limit:
            return JSONResponse({"errors": [{"code": "usage", "severity": "error", "message": _(
                "the request body is larger than {size} MiB").format(size=limit // (1024 * 1024))}]},
                status_code=413)
        set_language(app.state.language)  # the server's language, whatever ran before
        expected = app.state.token
        if expected is None:
            return await call_next(request)
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip() \
            or request.query_params.get("token", "") or request.cookies.get(TOKEN_COOKIE, "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return JSONResponse({"errors": [{"code": "unauthorized", "severity": "error", "message": _(
                "this server needs its access token"), "hint": _(
                "send 'Authorization: Bearer TOKEN', or open the address the server printed")}]},
                status_code=401)
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, expected, httponly=True, samesite="strict")
        return response


def new_token() -> str:
    return secrets.token_urlsafe(24)


def needs_token(host: str) -> bool:
    return host not in LOCAL_HOSTS
