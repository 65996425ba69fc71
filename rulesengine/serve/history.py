"""The audit ledger from the command line: ``run``, ``explain`` and ``workbook`` record their runs;
``history`` lists them, ``history show N`` prints one, ``rerun N`` recomputes one.

The ledger's file is ``--ledger FILE``, else ``$RULESENGINE_LEDGER``, else the workbench's default
(:func:`~rulesengine.serve.ledger.default_path`); ``--no-ledger`` or ``RULESENGINE_LEDGER=off`` turns
recording off. A ledger that cannot be written never stops the run: a notice goes to stderr.
"""

from __future__ import annotations

import getpass
import os
import sqlite3
import sys

from ..core.errors import RulesError, UsageError
from ..core.i18n import _
from ..evaluate.evaluator import Evaluation, Program
from ..evaluate.facts import example_facts
from .catalog import NAME, Catalog
from .ledger import Ledger, default_path, output_text, rerun
from .work import facts_text

ENV = "RULESENGINE_LEDGER"
OFF = "off"


def ledger_options(command) -> None:
    """``--ledger FILE`` / ``--no-ledger`` on a command that records or reads the ledger."""
    group = command.add_mutually_exclusive_group()
    group.add_argument("--ledger", metavar="FILE", help=_(
        "SQLite file of the audit ledger (default: $RULESENGINE_LEDGER, else "
        "~/.local/share/rulesengine/ledger.sqlite3)"))
    group.add_argument("--no-ledger", action="store_true", help=_("do not record this run"))


def ledger_path(args) -> str | None:
    """The ledger file the options and the environment name; None when recording is off."""
    if getattr(args, "no_ledger", False):
        return None
    path = getattr(args, "ledger", None) or os.environ.get(ENV) or default_path()
    return None if path.strip().lower() == OFF else path


def who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment nor in the password database
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


def record_run(args, command: str, program: Program, evaluation: Evaluation) -> None:
    """Keep a CLI run in the ledger; a notice on stderr (never a failure) when it cannot be kept."""
    path = ledger_path(args)
    if path is None:
        return
    try:
        ruleset = os.path.abspath(args.ruleset)
        name = os.path.basename(ruleset)[:-5] if ruleset.endswith(".yaml") else ""
        if not NAME.fullmatch(name):
            raise UsageError(_("the ruleset's file name must be letters, digits, '_' or '-' and end in .yaml"))
        text, source = _facts(args, program)
        number = Ledger(path).record(
            who=who(), command=command, name=name, catalog=Catalog(os.path.dirname(ruleset)),
            program=program, facts_text=text, facts_source=source, targets=args.targets,
            as_of=args.as_of, output=output_text(command, program, evaluation), evaluation=evaluation)
    except (RulesError, OSError, UnicodeDecodeError) as err:
        print(_("notice: the run was not recorded in the ledger '{path}': {reason}").format(
            path=path, reason=getattr(err, "message", None) or err), file=sys.stderr)
        return
    print(_("recorded in the ledger as run {number}").format(number=number), file=sys.stderr)


def _facts(args, program: Program) -> tuple[str, str]:
    """The facts' text and source label, as the CLI read them."""
    if args.facts is not None:
        with open(args.facts, encoding="utf-8-sig") as handle:
            return handle.read(), args.facts
    name = args.example or None
    label = name or next(iter(program.ruleset.examples))
    return facts_text(example_facts(program.ruleset, name).values), _("example {name}").format(name=label)


def add_history_parsers(sub) -> None:
    """``history [show N]`` and ``rerun N``."""
    history = sub.add_parser("history", help=_("the audit ledger: the runs kept, latest first; "
                                               "'history show N' prints run N"))
    history.add_argument("action", nargs="?", choices=("show",), help=_("show one run"))
    history.add_argument("number", nargs="?", type=int, metavar="N", help=_("the run's number"))
    history.add_argument("--ruleset", metavar="ID", help=_("only the runs of this ruleset "
                                                           "(its file name without .yaml, or its id)"))
    history.add_argument("--ledger", metavar="FILE", help=_("SQLite file of the audit ledger"))
    again = sub.add_parser("rerun", help=_("recompute a kept run from its stored facts and the current "
                                           "files; exit 0 identical, 1 different"))
    again.add_argument("number", type=int, metavar="N", help=_("the run's number"))
    again.add_argument("--rulesets", metavar="RULESET_DIR", help=_(
        "the folder of rulesets (default: the folder the run was made from)"))
    again.add_argument("--ledger", metavar="FILE", help=_("SQLite file of the audit ledger"))


def _open(args) -> Ledger:
    """The ledger to read: it must exist (reading never creates one)."""
    path = ledger_path(args)
    if path is None:
        raise UsageError(_("the ledger is off (RULESENGINE_LEDGER=off)"),
                         hint=_("give the ledger file with --ledger FILE"))
    if not os.path.isfile(path):
        raise UsageError(_("no ledger at '{path}'").format(path=path),
                         hint=_("runs are kept by run, explain and workbook; give the file with --ledger FILE"))
    return Ledger(path)


def run_history(args) -> int:
    ledger = _open(args)
    if args.action == "show":
        if args.number is None:
            raise UsageError(_("'history show' needs the run's number"), hint=_("e.g. history show 1"))
        return _show(ledger, args.number)
    if args.number is not None:
        raise UsageError(_("a run's number goes after 'show'"), hint=_("e.g. history show {number}").format(
            number=args.number))
    runs = [r for r in _runs(ledger) if not args.ruleset or args.ruleset in (r.ruleset, r.ruleset_id)]
    if not runs:
        print(_("no runs kept in '{path}'").format(path=ledger.path))
    for r in runs:
        failed = _("{count} failed checks").format(count=len(r.failed_checks))
        print(f"{r.id:>5}  {r.at}  {r.who}  {r.command}  {r.ruleset} ({r.ruleset_id}, {r.document_number})  "
              f"{failed}")
    return 0


def _runs(ledger: Ledger):
    try:
        return ledger.runs(limit=10_000)
    except sqlite3.Error as exc:  # a damaged ledger
        raise UsageError(_("cannot read the ledger '{path}': {reason}").format(path=ledger.path, reason=exc),
                         hint=_("give the ledger file with --ledger FILE")) from None


def _show(ledger: Ledger, number: int) -> int:
    r = ledger.get(number)
    print(_("run {number}: {at}, {who}, {command} {ruleset} ({id}, {document})").format(
        number=r.id, at=r.at, who=r.who, command=r.command, ruleset=r.ruleset, id=r.ruleset_id,
        document=r.document_number))
    for file, digest in sorted(r.files.items()):
        print(f"  {file}  sha256:{digest}")
    if r.targets:
        print(_("targets: {ids}").format(ids=", ".join(r.targets)))
    if r.as_of:
        print(_("as of: {date}").format(date=r.as_of))
    print(_("failed checks: {ids}").format(ids=", ".join(r.failed_checks) or _("none")))
    print(_("facts ({source}, sha256:{digest}):").format(source=r.facts_source, digest=r.facts_sha256))
    print(r.facts.rstrip("\n"))
    print(_("output (sha256:{digest}):").format(digest=r.output_sha256))
    print(r.output.rstrip("\n"))
    return 0


def run_rerun(args) -> int:
    ledger = _open(args)
    record = ledger.get(args.number)
    folder = args.rulesets or record.folder or "rulesets"
    again = rerun(ledger, Catalog(folder), args.number)
    if again.identical:
        print(_("run {number}: identical (output sha256:{digest})").format(
            number=args.number, digest=record.output_sha256))
        return 0
    print(_("run {number}: different").format(number=args.number))
    print(_("changed files: {files}").format(files=", ".join(again.changed_files) or _("none")))
    print(_("changed declarations: {ids}").format(ids=", ".join(again.changed_declarations) or _("none")))
    print(_("changed values:") if again.changed_values else _("changed values: none"))
    for key, before, after in again.changed_values:
        print(_("  {id}: {stored} -> {now}").format(id=key, stored=before, now=after))
    return 1
