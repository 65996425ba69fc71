"""批量清算: the upload API, the job's state and downloads, and the page that drives them."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.concurrency import run_in_threadpool

from ..core.errors import UsageError
from ..core.i18n import _
from .describe import describe
from .jobs import FACTS_TYPES, MAX_UPLOAD_BYTES, RESULTS, TABLE_TYPES, Job, safe_name
from .pages import page

api = APIRouter(prefix="/api")
pages = APIRouter(include_in_schema=False)
MAX_FILES = 20
CHUNK = 1024 * 1024


def batch_words() -> dict[str, str]:
    """The words of the 批量清算 page (its script shows them too)."""
    return {
        "batch": _("Batch clearing"), "tables": _("Tables (one file per collection, or the input template workbook)"),
        "facts": _("Facts every record shares (optional)"), "collections": _("Collections"),
        "help": _("Upload the input template written by 'rulesengine template', or a CSV or .xlsx table per "
                  "collection; the server runs 'rulesengine batch' on them."),
        "keep_going": _("Leave bad rows out and compute the rest"), "start": _("Start"),
        "queued": _("queued"), "running": _("running"), "done": _("done"), "failed": _("stopped with errors"),
        "uploading": _("uploading…"), "lost": _("the server did not answer"), "row": _("row"),
        "column": _("column"), "hint": _("hint"), "rows": _("Result rows"), "downloads": _("Downloads"),
        "download_xlsx": _("Results (.xlsx)"), "download_csv": _("Results (.csv)"),
        "stage_csv": _("computing"), "stage_xlsx": _("writing the workbook"),
        "stage_pack": _("zipping the clearing pack"), "download_errors": _("Error report (.csv)"), "download_pack": _("Clearing pack (.zip)"),
    }


@pages.get("/rulesets/{name}/batch", response_class=HTMLResponse)
def batch_page(name: str, request: Request):
    program = request.app.state.catalog.program(name)
    return page("batch.html", bw=batch_words(), r=describe(program, name), table_types=", ".join(TABLE_TYPES),
                facts_types=", ".join(FACTS_TYPES), collections=list(program.ruleset.collections))


@api.post("/rulesets/{name}/batch", status_code=202, summary=(
    "Batch: upload tables (CSV, .xlsx, the input template workbook) and an optional facts file "
    "as multipart fields 'tables' and 'facts'; a job runs `rulesengine batch` on them"))
async def start_batch(name: str, request: Request) -> dict:
    state = request.app.state
    await run_in_threadpool(state.catalog.program, name)  # an unknown or invalid ruleset: its errors, now
    form = await request.form(max_files=MAX_FILES + 1, max_fields=10)
    job = state.jobs.new(name)
    try:
        tables, facts = await _uploads(form, job)
    except BaseException:
        state.jobs.discard(job)
        raise
    keep_going = str(form.get("keep_going", "")).lower() in ("1", "true", "on", "yes")
    state.jobs.start(job, state.catalog.path(name), tables, facts, keep_going)
    return {"job": job.id, "status_url": f"/api/jobs/{job.id}"}


async def _uploads(form, job: Job) -> tuple[list[str], str | None]:
    """The uploaded tables and facts file, saved in the job's folder under safe names."""
    saved: set[str] = set()
    tables, facts, size = [], None, 0
    for key, value in form.multi_items():
        if key not in ("tables", "facts") or isinstance(value, str) or not value.filename:
            continue  # a file field left empty on the page comes without a name
        allowed = TABLE_TYPES if key == "tables" else FACTS_TYPES
        base = safe_name(value.filename, allowed)
        if base in saved or (key == "facts" and facts):
            raise UsageError(_("'{name}' is uploaded twice").format(name=base),
                             hint=_("upload each table once, and at most one facts file"))
        size = await _save(value, job.path("in", base), size)
        saved.add(base)
        if key == "tables":
            tables.append(job.path("in", base))
        else:
            facts = job.path("in", base)
    if not tables:
        raise UsageError(_("no table uploaded"), hint=_(
            "upload the input template workbook, or a CSV or .xlsx file per collection, as 'tables'"))
    return tables, facts


async def _save(upload, path: str, size: int) -> int:
    """Copy an upload into the job's folder, counting every byte of the whole request."""
    with open(path, "xb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise UsageError(_("the upload is larger than {size} MiB").format(
                    size=MAX_UPLOAD_BYTES // (1024 * 1024)), hint=_("split the tables into smaller runs"))
            out.write(chunk)
    return size


@api.get("/jobs/{job_id}", summary="A batch job: state, stage, summary, errors and downloads")
def job_state(job_id: str, request: Request) -> dict:
    return request.app.state.jobs.get(job_id).json()


@api.get("/jobs/{job_id}/{kind}", summary="A batch job's file: xlsx, csv, errors or pack (zip)")
def job_file(job_id: str, kind: str, request: Request):
    job: Job = request.app.state.jobs.get(job_id)
    name = RESULTS.get(kind)
    if name is None or not os.path.isfile(job.path("out", name)):
        raise UsageError(_("job {job} has no '{kind}' file").format(job=job.id, kind=kind[:20]),
                         hint=_("available: {kinds}").format(kinds=", ".join(job.downloads()) or "-"))
    shown = {"errors": "errors.csv", "pack": "pack.zip"}.get(kind, name)
    return FileResponse(job.path("out", name), filename=f"{job.ruleset}-{shown}")
