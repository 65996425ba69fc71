"""The audit ledger: every run of the workbench and the API, kept in SQLite.

A record holds when (UTC), who, the command, the ruleset (name, id, document number) with the
SHA-256 and the text of its file and of each module it includes, the facts as read (text and
hash), the output JSON (the CLI's ``run --format json`` or ``explain --format json``) and its
hash, and the failed checks. :func:`rerun` recomputes a record from its stored facts and the
current files: identical output (same hash), or the files, declarations and values that differ.

It lives in the serve stage; the CLI (above every stage) may record and rerun with it too.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from ..commands.diff import diff_rulesets
from ..core.errors import OutputError, RulesError, UsageError
from ..core.i18n import _
from ..evaluate.driver import load_program
from ..evaluate.evaluator import Evaluation, Program
from ..views.report import dumps, run_json, trace_json
from .catalog import Catalog, NotFoundError
from .work import evaluate, read_facts_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL, who TEXT NOT NULL, command TEXT NOT NULL,
    ruleset TEXT NOT NULL, ruleset_id TEXT NOT NULL, document_number TEXT NOT NULL,
    files TEXT NOT NULL, targets TEXT, as_of TEXT,
    facts TEXT NOT NULL, facts_source TEXT NOT NULL, facts_sha256 TEXT NOT NULL,
    output TEXT NOT NULL, output_sha256 TEXT NOT NULL, failed_checks TEXT NOT NULL, folder TEXT);
CREATE TABLE IF NOT EXISTS files (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL);
"""
COLUMNS = ("id", "at", "who", "command", "ruleset", "ruleset_id", "document_number", "files",
           "targets", "as_of", "facts", "facts_source", "facts_sha256", "output", "output_sha256",
           "failed_checks", "folder")


def default_path() -> str:
    """``$XDG_DATA_HOME/rulesengine/ledger.sqlite3`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "rulesengine", "ledger.sqlite3")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def output_text(command: str, program: Program, evaluation: Evaluation) -> str:
    """The CLI's JSON for ``run`` or ``explain``, as text (the bytes the ledger hashes)."""
    view = trace_json if command == "explain" else run_json
    return dumps(view(program, evaluation))


@dataclass
class Record:
    """One stored run (a row of ``runs``; JSON columns decoded)."""

    id: int
    at: str
    who: str
    command: str
    ruleset: str
    ruleset_id: str
    document_number: str
    files: dict[str, str]
    targets: list[str] | None
    as_of: str | None
    facts: str
    facts_source: str
    facts_sha256: str
    output: str
    output_sha256: str
    failed_checks: list[str]
    folder: str | None = None  # the rulesets' folder (absolute) when the run was kept

    @classmethod
    def from_row(cls, row: tuple) -> "Record":
        data = dict(zip(COLUMNS, row))
        for name in ("files", "targets", "failed_checks"):
            data[name] = json.loads(data[name]) if data[name] is not None else None
        return cls(**data)


class Ledger:
    """The runs kept in the SQLite file at ``path`` (created on first use)."""

    def __init__(self, path: str):
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(folder, exist_ok=True)
            with self._connect() as db:
                db.executescript(SCHEMA)
                if "folder" not in {row[1] for row in db.execute("PRAGMA table_info(runs)")}:
                    db.execute("ALTER TABLE runs ADD COLUMN folder TEXT")  # a ledger of an earlier version
        except (OSError, sqlite3.Error) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
                exc = _("the file is not an SQLite database (or is damaged)")
            raise UsageError(_("cannot open the ledger '{path}': {reason}").format(path=path, reason=exc),
                             hint=_("give another file with --ledger, or --no-ledger")) from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def record(self, *, who: str, command: str, name: str, catalog: Catalog, program: Program,
               facts_text: str, facts_source: str, targets: list[str] | None, as_of: date | None,
               output: str, evaluation: Evaluation) -> int:
        """Keep one run; returns its number."""
        files = catalog.files(name)
        texts = {digest: _read(catalog.folder, file) for file, digest in files.items()}
        meta = program.ruleset.meta
        row = (datetime.now(timezone.utc).isoformat(timespec="seconds"), who, command, name, meta.id,
               meta.document_number, json.dumps(files, sort_keys=True),
               json.dumps(targets) if targets else None, as_of.isoformat() if as_of else None,
               facts_text, facts_source, sha256(facts_text), output, sha256(output),
               json.dumps([c.id for c in evaluation.failed_checks]), catalog.folder)
        try:
            with self._connect() as db:
                db.executemany("INSERT OR IGNORE INTO files VALUES (?, ?)",
                               [(d, t) for d, t in texts.items() if t is not None])
                cursor = db.execute(f"INSERT INTO runs ({', '.join(COLUMNS[1:])}) "
                                    f"VALUES ({', '.join('?' * (len(COLUMNS) - 1))})", row)
                return cursor.lastrowid
        except sqlite3.Error as exc:  # a run that cannot be kept is not answered
            raise OutputError(_("cannot record the run in the ledger '{path}': {reason}").format(
                path=self.path, reason=exc), hint=_("check the ledger file's disk and permissions")) from None

    def runs(self, ruleset: str | None = None, limit: int = 200) -> list[Record]:
        """The latest runs first (of one ruleset name when given)."""
        query = f"SELECT {', '.join(COLUMNS)} FROM runs"
        query += " WHERE ruleset = ?" if ruleset else ""
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id DESC LIMIT ?",
                              (ruleset, limit) if ruleset else (limit,)).fetchall()
        return [Record.from_row(r) for r in rows]

    def get(self, number: int) -> Record:
        with self._connect() as db:
            row = db.execute(f"SELECT {', '.join(COLUMNS)} FROM runs WHERE id = ?", (number,)).fetchone()
        if row is None:
            raise NotFoundError(_("no run number {number} in the ledger").format(number=number),
                             hint=_("the history lists the runs kept"))
        return Record.from_row(row)

    def file_text(self, digest: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT text FROM files WHERE sha256 = ?", (digest,)).fetchone()
        return row[0] if row else None


def _read(folder: str, file: str) -> str | None:
    try:
        with open(os.path.join(folder, file), encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


@dataclass
class Rerun:
    """A stored run computed again: the new output, and what differs from the stored one."""

    record: Record
    output: str
    identical: bool
    changed_files: list[str] = field(default_factory=list)
    changed_declarations: list[str] = field(default_factory=list)
    changed_values: list[tuple[str, Any, Any]] = field(default_factory=list)  # id, stored, now


def rerun(ledger: Ledger, catalog: Catalog, number: int) -> Rerun:
    """Recompute run ``number`` from its stored facts with the current ruleset files."""
    record = ledger.get(number)
    program = catalog.program(record.ruleset)
    facts = read_facts_text(program, record.facts, record.facts_source)
    as_of = date.fromisoformat(record.as_of) if record.as_of else None
    evaluation = evaluate(program, facts, record.targets, as_of, trace=record.command == "explain")
    output = output_text(record.command, program, evaluation)
    result = Rerun(record, output, sha256(output) == record.output_sha256)
    if result.identical:
        return result
    now = catalog.files(record.ruleset)
    result.changed_files = sorted(f for f in set(now) | set(record.files) if now.get(f) != record.files.get(f))
    result.changed_values = _changed_values(record.output, output)
    result.changed_declarations = _changed_declarations(ledger, record, program)
    return result


def _changed_values(old: str, new: str) -> list[tuple[str, Any, Any]]:
    """Results whose stored and recomputed values differ (``run``: values; ``explain``: nodes)."""
    def values(text: str) -> dict:
        data = json.loads(text)
        if "values" in data:
            return data["values"]
        return {n.get("id"): n.get("value") for n in data.get("nodes", [])}
    before, after = values(old), values(new)
    return [(key, before.get(key), after.get(key)) for key in sorted(set(before) | set(after), key=str)
            if before.get(key) != after.get(key)]


def _changed_declarations(ledger: Ledger, record: Record, program: Program) -> list[str]:
    """Ids the ruleset diff names between the stored files and the current ones."""
    texts = {file: ledger.file_text(digest) for file, digest in record.files.items()}
    if any(text is None for text in texts.values()):
        return []
    main = next(f for f in record.files if "/" not in f)
    with tempfile.TemporaryDirectory(prefix="rulesengine-ledger-") as folder:
        for file, text in texts.items():
            os.makedirs(os.path.dirname(os.path.join(folder, file)), exist_ok=True)
            with open(os.path.join(folder, file), "w", encoding="utf-8") as handle:
                handle.write(text)
        try:
            old = load_program(os.path.join(folder, main))
        except RulesError:
            return []
        return list(dict.fromkeys(change.id for change in diff_rulesets(old, program)))
