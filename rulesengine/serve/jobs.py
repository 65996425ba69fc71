"""批量清算 in the workbench: uploaded tables run through ``rulesengine batch`` in a background job.

Each job has a folder of its own under the server's work dir (``in/`` the uploads, ``out/`` the
results, the error report and the pack); an uploaded file's name is reduced to a safe base name,
so nothing a request sends leads outside that folder. The run is the CLI's own
:func:`~rulesengine.batch.run.run_batch`, given the arguments the CLI would parse, in a thread;
``GET /api/jobs/ID`` reports its state. Its errors are the CLI's, their files named as uploaded.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..batch.run import add_batch_parser, run_batch
from ..core.errors import RulesError, UsageError, flatten
from ..core.i18n import _
from ..core.source import display_path
from ..views.report import error_json
from .catalog import ConflictError, NotFoundError

MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # all files of one batch upload together
MAX_RUNNING = 2  # batch jobs at once: a year's clearing is heavy, the server has other clerks
TABLE_TYPES = (".csv", ".xlsx", ".jsonl", ".parquet")
FACTS_TYPES = (".yaml", ".yml", ".json", ".xlsx")
_UNSAFE = re.compile(r"[^\w.\-]+")
RESULTS = {"xlsx": "results.xlsx", "csv": "results.csv", "errors": "results.csv.errors.csv",
           "pack": "pack.zip"}


def safe_name(name: str, allowed: tuple[str, ...]) -> str:
    """An uploaded file's name as a plain base name (no folder, no leading dot), its type checked."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = _UNSAFE.sub("_", base).lstrip(".")[:100]
    if not base or os.path.splitext(base)[1].lower() not in allowed:
        raise UsageError(_("'{name}': not a file type batch reads").format(name=(name or "")[:100]),
                         hint=_("upload one of: {types}").format(types=", ".join(allowed)))
    return base


class BusyError(ConflictError):
    """As many batch jobs as the server runs at once are under way (HTTP 409)."""

    code = "busy"


@dataclass
class Job:
    """One batch run: its folder, state (queued, running, done, failed) and what it left."""

    id: str
    ruleset: str
    folder: str
    state: str = "queued"
    stage: str = ""
    status: int | None = None
    errors: list[dict] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def path(self, *parts: str) -> str:
        return os.path.join(self.folder, *parts)

    def downloads(self) -> dict[str, str]:
        return {kind: f"/api/jobs/{self.id}/{kind}" for kind, name in RESULTS.items()
                if os.path.isfile(self.path("out", name))}

    def json(self) -> dict:
        return {"job": self.id, "ruleset": self.ruleset, "state": self.state, "stage": self.stage,
                "exit_status": self.status, "summary": self.summary, "errors": self.errors,
                "downloads": self.downloads()}


class Jobs:
    """The server's batch jobs, each in a folder of ``work_dir`` (a temporary one by default)."""

    def __init__(self, work_dir: str | None = None):
        self.work_dir = work_dir or tempfile.mkdtemp(prefix="rulesengine-jobs-")
        os.makedirs(self.work_dir, exist_ok=True)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def new(self, ruleset: str) -> Job:
        """A job's folder; a BusyError when :data:`MAX_RUNNING` jobs are already under way."""
        with self._lock:
            busy = sum(job.state in ("queued", "running") for job in self._jobs.values())
            if busy >= MAX_RUNNING:
                raise BusyError(_("{count} batch jobs are already running").format(count=busy),
                                    hint=_("wait until one has finished, then start again"))
            job = Job(uuid.uuid4().hex, ruleset, "")
            job.folder = os.path.join(self.work_dir, job.id)
            os.makedirs(os.path.join(job.folder, "in"))
            os.makedirs(os.path.join(job.folder, "out"))
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id) if re.fullmatch(r"[0-9a-f]{32}", job_id or "") else None
        if job is None:
            raise NotFoundError(_("no batch job '{job}'").format(job=(job_id or "")[:40]),
                                hint=_("start one on the ruleset's batch page"))
        return job

    def discard(self, job: Job) -> None:
        """Forget a job whose upload was refused, and remove its folder."""
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def start(self, job: Job, ruleset_path: str, tables: list[str], facts: str | None,
              keep_going: bool) -> None:
        thread = threading.Thread(target=_run, args=(job, ruleset_path, tables, facts, keep_going),
                                  name=f"batch-{job.id[:8]}", daemon=True)
        thread.start()


def _arguments(ruleset_path: str, tables: list[str], facts: str | None, out: str, *,
               keep_going: bool, pack: str | None) -> argparse.Namespace:
    """What the CLI parses for ``rulesengine batch RULESET --table ... -o OUT [--pack DIR]``."""
    parser = argparse.ArgumentParser(add_help=False)
    command = add_batch_parser(parser.add_subparsers(dest="command"))
    command.set_defaults(as_of=None)
    argv = ["batch", ruleset_path, "-o", out] + [f"--table={t}" for t in tables]
    argv += [f"--facts={facts}"] if facts else []
    argv += ["--keep-going"] if keep_going else []
    argv += [f"--pack={pack}"] if pack else []
    return parser.parse_args(argv)


def _run(job: Job, ruleset_path: str, tables: list[str], facts: str | None, keep_going: bool) -> None:
    """The job's thread: results as CSV (with the pack), then as .xlsx; errors kept, never raised."""
    job.state = "running"
    try:
        out = job.path("out", RESULTS["csv"])
        job.stage = "csv"
        job.status = run_batch(_arguments(ruleset_path, tables, facts, out, keep_going=keep_going,
                                          pack=job.path("out", "pack")))
        _bad_rows(job)
        if os.path.isfile(out):
            job.stage = "xlsx"
            run_batch(_arguments(ruleset_path, tables, facts, job.path("out", RESULTS["xlsx"]),
                                 keep_going=keep_going, pack=None))
            job.summary["rows"] = _count_rows(out)
        if os.path.isdir(job.path("out", "pack")):
            job.stage = "pack"
            shutil.make_archive(job.path("out", "pack"), "zip", job.path("out", "pack"))
        job.state = "done" if os.path.isfile(out) else "failed"
    except RulesError as err:
        job.errors += [_shown(job, error_json(e)) for e in flatten(err)]
        job.state = "failed"
    except Exception as err:  # a bug of ours: say so, no traceback
        job.errors.append({"code": "internal", "severity": "error", "message": _(
            "internal error: {error}").format(error=type(err).__name__)})
        job.state = "failed"
    job.stage = ""


def _shown(job: Job, item: dict) -> dict:
    """An error with the job's folder left out of its file names and messages (absolute, or
    relative to the server's working directory as messages show paths)."""
    prefixes = {job.path("in", ""), display_path(job.path("in")) + os.sep,
                job.folder + os.sep, display_path(job.folder) + os.sep}
    span = item.get("span") or {}
    for prefix in sorted(prefixes, key=len, reverse=True):
        if span.get("file", "").startswith(prefix):
            span["file"] = span["file"][len(prefix):]
        for key in ("message", "hint"):
            if item.get(key):
                item[key] = item[key].replace(prefix, "")
    return item


def _bad_rows(job: Job) -> None:
    """The error report's rows as located errors (file, row, column), the first 200."""
    report = job.path("out", RESULTS["errors"])
    if not os.path.isfile(report):
        return
    with open(report, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    job.summary["bad_rows"] = len(rows)
    for row in rows[:200]:
        file = os.path.basename(row.get("file", ""))
        job.errors.append({"code": row.get("code", ""), "severity": "error",
                           "message": row.get("message", "").replace(job.path("in", ""), ""),
                           "span": {"file": file, "line": _int(row.get("row"))}, "column": row.get("column", "")})


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _count_rows(path: str) -> int:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return max(sum(1 for _row in csv.reader(handle)) - 1, 0)
