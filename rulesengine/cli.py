"""Command line: validate, run, explain, test, coverage and compare rulesets; draw their
graph, write clearing workbooks and diff two versions.

Exit status: 0 all good; 1 a test or an error-severity check failed; 2 invalid input or
usage. Diagnostics go to stderr as ``FILE:LINE:COL: error[code]: message`` with an
excerpt and a hint; bad input never produces a Python traceback.
"""

from __future__ import annotations

import argparse
import glob
import os
import signal
import sys
import threading
from datetime import date
from typing import Sequence

from .batch.run import add_batch_parser, run_batch
from .commands.compare import compare, compare_json, compare_status, compare_table
from .commands.coverage import coverage, coverage_json, coverage_text
from .commands.newcity import add_new_parser, run_new
from .commands.template import add_template_parser, run_template
from .commands.diff import RulesetDiff, diff_json, diff_results, diff_rulesets, diff_text
from .evaluate.driver import load_program
from .core.errors import RulesError, UsageError, flatten, render
from .evaluate.evaluator import Evaluation, Program
from .evaluate.facts import bind_facts, check_fact_sets, example_facts, read_facts
from .core.i18n import LANGUAGES, _, argparse_messages, reports_in, set_language, severity_name
from .core.output import write_text
from .views.render_graph import FORMATS as GRAPH_FORMATS
from .views.render_graph import render_graph
from .views.render_html import render_html
from .views.render_md import render_md
from .views.report import dumps, run_json, run_table, trace_json, trace_text
from .commands.testrunner import run_tests
from .serve.history import add_history_parsers, ledger_options, record_run, run_history, run_rerun

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 70
_GIVEN_LANGUAGE: str | None = None  # --lang as given on the command line (serve defaults to zh)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit 2, as argparse does, in our format
        self.print_usage(sys.stderr)
        raise SystemExit(_emit_usage(f"{self.prog}: {message}"))


def _emit_usage(message: str) -> int:
    print(f"{severity_name('error')}[usage]: {message}", file=sys.stderr)
    return EXIT_INVALID


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rulesengine", description=_("Rules as code for medical-insurance payment "
                     "policies: validate, run, explain and test YAML rulesets."))
    parser.add_argument("--lang", choices=LANGUAGES, help=_(
        "language of messages, before or after the command (default: from the locale: Chinese "
        "when LANG or LC_ALL is zh_*)"))
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = sub.add_parser("validate", help=_("check rulesets: schema, formulas, types, graph"))
    validate.add_argument("paths", nargs="+", metavar="PATH", help=_("ruleset files or directories"))

    for name, help_text in (("run", _("evaluate a ruleset over facts")),
                            ("explain", _("show how a result was computed"))):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("ruleset", metavar="RULESET")
        if name == "explain":
            command.add_argument("targets", nargs="+", metavar="TARGET", help=_("rule or check ids"))
        _fact_options(command, required=True)
        if name == "run":
            command.add_argument("--target", action="append", dest="targets", metavar="ID",
                                 help=_("compute only this result (repeatable)"))
            command.add_argument("--format", choices=("table", "json"), default="table")
        else:
            command.add_argument("--format", choices=("text", "json", "html", "md"), default="text",
                                 help=_("text or json for terminals and systems; html (one "
                                        "self-contained page) or md (Markdown) for people"))
            command.add_argument("-o", "--output", metavar="FILE",
                                 help=_("write to FILE instead of standard output"))
        ledger_options(command)

    test = sub.add_parser("test", help=_("run the rulesets' own tests"))
    test.add_argument("paths", nargs="*", metavar="RULESET",
                      help=_("ruleset files or directories (default: rulesets/)"))

    cover = sub.add_parser("coverage", help=_("the clause inventory: what each clause of the "
                                              "document became; exit 1 if untriaged or dangling"))
    cover.add_argument("paths", nargs="+", metavar="RULESET", help=_("ruleset files or directories"))
    cover.add_argument("--format", choices=("text", "json"), default="text")

    comp = sub.add_parser("compare", help=_("several rulesets on one facts file, side by side "
                                            "by glossary concept"))
    comp.add_argument("paths", nargs="+", metavar="RULESET", help=_("ruleset files or directories"))
    comp.add_argument("--facts", required=True, metavar="FILE",
                      help=_("facts as YAML or JSON; a section per ruleset id beside the shared facts"))
    comp.add_argument("--format", choices=("table", "json"), default="table")
    comp.add_argument("--per-record", action="store_true",
                      help=_("show per-record concepts record by record, not only their totals"))
    _add_report_parsers(sub)
    _as_of_option(add_batch_parser(sub))
    add_template_parser(sub)
    add_new_parser(sub)
    _add_serve_parser(sub)
    add_history_parsers(sub)
    return parser


def _add_serve_parser(sub) -> None:
    serve = sub.add_parser("serve", help=_("open the web workbench and the JSON API over a folder of "
                                           "rulesets (in Chinese; the API is described at /docs)"))
    serve.add_argument("folder", nargs="?", default="rulesets", metavar="RULESET_DIR",
                       help=_("the folder of rulesets to serve (default: rulesets/)"))
    serve.add_argument("--host", default="127.0.0.1",
                       help=_("address to bind (default: 127.0.0.1; any other needs the access token)"))
    serve.add_argument("--port", type=int, default=8000, help=_("port (default: 8000)"))
    serve.add_argument("--token", help=_("access token for a non-local bind (default: one is generated "
                                         "and printed)"))
    ledger = serve.add_mutually_exclusive_group()
    ledger.add_argument("--ledger", metavar="FILE", help=_("SQLite file of the audit ledger (default: "
                                                           "~/.local/share/rulesengine/ledger.sqlite3)"))
    ledger.add_argument("--no-ledger", action="store_true", help=_("do not record runs"))


def _add_report_parsers(sub) -> None:
    """graph, workbook and diff: pictures, sign-off workbooks, version comparisons."""
    graph = sub.add_parser("graph", help=_("draw the dependency graph (DOT, Mermaid, SVG or HTML)"))
    graph.add_argument("ruleset", metavar="RULESET")
    graph.add_argument("--target", action="append", dest="targets", metavar="ID",
                       help=_("highlight this result and what it depends on (repeatable)"))
    graph.add_argument("--focus", action="store_true",
                       help=_("draw only the targets and what they depend on"))
    graph.add_argument("--format", choices=GRAPH_FORMATS, default="dot",
                       help=_("dot and mermaid are text; svg and html need Graphviz's dot program"))
    graph.add_argument("-o", "--output", metavar="FILE", help=_("write to FILE instead of standard output"))

    book = sub.add_parser("workbook", help=_("write the clearing workbook (.xlsx) for sign-off"))
    book.add_argument("ruleset", metavar="RULESET")
    _fact_options(book, required=True)
    book.add_argument("-o", "--output", required=True, metavar="FILE.xlsx",
                      help=_("the workbook to write"))
    book.set_defaults(targets=None)
    ledger_options(book)

    diff = sub.add_parser("diff", help=_("what changed between two versions of a ruleset, and "
                                         "which results move on given facts"))
    diff.add_argument("old", metavar="OLD", help=_("the earlier version"))
    diff.add_argument("new", metavar="NEW", help=_("the later version"))
    _fact_options(diff, required=False)
    diff.add_argument("--format", choices=("text", "json"), default="text")


def _fact_options(command, *, required: bool) -> None:
    source = command.add_mutually_exclusive_group(required=required)
    source.add_argument("--facts", metavar="FILE", help=_("facts as YAML or JSON"))
    source.add_argument("--example", nargs="?", const="", metavar="NAME",
                        help=_("use an example of the ruleset (default: the first)"))
    _as_of_option(command)


def _as_of_option(command) -> None:
    command.add_argument("--as-of", type=_iso_date, metavar="YYYY-MM-DD",
                         help=_("date for dated parameter values and validity (default: 31 "
                                "December of the fact clearing_year, else the ruleset's start)"))


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("'{text}' is not a date like 2025-12-31").format(text=text)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rulesengine`` command; returns the exit status."""
    _utf8_streams()
    try:
        argv, language = _take_language(list(sys.argv[1:] if argv is None else argv))
        with argparse_messages():
            args = build_parser().parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    installed = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if installed else None
    try:
        with reports_in(language):  # reports are Chinese unless --lang en
            return _COMMANDS[args.command](args)
    except RulesError as err:
        _report(err)
        return EXIT_INVALID
    except Terminated:
        print(_("terminated"), file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(_("interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as a pipe's writer does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more to flush into the closed pipe at exit
        return 141
    except Exception as exc:  # a bug of ours, never the user's input: say so, briefly
        if os.environ.get("RULESENGINE_DEBUG"):
            raise
        print(_("internal error: {error}\n  hint: this is a bug in rulesengine; rerun with "
                "RULESENGINE_DEBUG=1 for the traceback and report it").format(
                    error=f"{type(exc).__name__}: {exc}"), file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if installed:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


class Terminated(KeyboardInterrupt):
    """SIGTERM: raised where the program is, so that, as on Ctrl-C, every ``finally`` runs
    (temporary files are removed) and the command exits with 143 (128 + 15)."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def _take_language(argv: list[str]) -> tuple[list[str], str | None]:
    """Set the language of messages from ``--lang zh|en`` (before or after the command), else
    from the environment's locale; return the arguments without it, and the language given."""
    set_language(None)
    rest: list[str] = []
    language, i = None, 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg == "--lang" or arg.startswith("--lang="):
            value = arg.partition("=")[2] if "=" in arg else (argv[i + 1] if i + 1 < len(argv) else "")
            i += 1 if "=" in arg else 2
            if value not in LANGUAGES:
                raise SystemExit(_emit_usage(_("argument --lang: expected one of {choices}, got '{value}'")
                                             .format(choices=", ".join(LANGUAGES), value=value)))
            language = value
            continue
        rest.append(arg)
        i += 1
    global _GIVEN_LANGUAGE
    _GIVEN_LANGUAGE = language
    set_language(language)
    return rest, language


def _utf8_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower() not in ("utf-8", "utf8"):
            stream.reconfigure(encoding="utf-8")


def _report(err: RulesError) -> None:
    for item in flatten(err):
        print(render(item), file=sys.stderr)
    count = len([e for e in flatten(err) if e.severity == "error"])
    if count > 1:
        print(_("{count} errors").format(count=count), file=sys.stderr)


def _expand(paths: Sequence[str]) -> list[str]:
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            files += sorted(glob.glob(os.path.join(path, "*.yaml")))
        else:
            files.append(path)
    return files


def _load(path: str, *, with_facts: bool = False) -> Program | None:
    """Load a ruleset (and check its examples' and tests' facts); report a failure, give None."""
    try:
        program = load_program(path)
        if with_facts:
            check_fact_sets(program.ruleset)
    except RulesError as err:
        _report(err)
        return None
    return program


def _validate(args) -> int:
    status = EXIT_OK
    for path in _expand(args.paths):
        program = _load(path, with_facts=True)
        if program is None:
            status = EXIT_INVALID
            continue
        for warning in program.ruleset.warnings:
            print(render(warning), file=sys.stderr)
        ruleset = program.ruleset
        entities = _("{count} collections, ").format(count=len(ruleset.entities)) if ruleset.entities else ""
        print(_("{file}: ok ({rules} rules, {checks} checks, {inputs} inputs, {parameters} parameters, "
                "{collections}{tests} tests, {clauses} clauses, {warnings} warnings)").format(
                    file=ruleset.meta.file, rules=len(ruleset.of_kind("rule")),
                    checks=len(ruleset.of_kind("check")), inputs=len(ruleset.of_kind("input")),
                    parameters=len(ruleset.of_kind("parameter")), collections=entities,
                    tests=len(ruleset.tests), clauses=len(ruleset.clauses), warnings=len(ruleset.warnings)))
        for module in ruleset.modules.values():
            own = sum(d.module == module.id for d in ruleset.declarations.values())
            overridden = _("; overridden here: {ids}").format(ids=", ".join(module.overridden)) \
                if module.overridden else ""
            print(_("  includes {id} ({file}, {document}): {count} declarations").format(
                id=module.id, file=module.file, document=module.document_number, count=own) + overridden)
    return status


def _facts(program: Program, args):
    if args.facts is not None:
        return bind_facts(program.ruleset, read_facts(args.facts)), args.facts
    name = args.example or None
    facts = example_facts(program.ruleset, name)
    label = name or next(iter(program.ruleset.examples))
    return bind_facts(program.ruleset, facts), _("example {name}").format(name=label)


def _evaluate(args, *, trace: bool) -> tuple[Program, Evaluation]:
    program = load_program(args.ruleset)
    facts, source = _facts(program, args)
    return program, program.evaluate(facts, args.targets, trace=trace, fact_source=source,
                                     as_of=args.as_of)


def _outcome(evaluation: Evaluation) -> int:
    for err in evaluation.warnings + evaluation.errors:
        print(render(err), file=sys.stderr)
    if evaluation.errors:
        return EXIT_INVALID
    if any(c.severity == "error" for c in evaluation.failed_checks):
        return EXIT_FAILED
    return EXIT_OK


def _run(args) -> int:
    program, evaluation = _evaluate(args, trace=False)
    if args.format == "json":
        sys.stdout.write(dumps(run_json(program, evaluation)))
    else:
        sys.stdout.write(run_table(program, evaluation))
    _record(args, "run", program, evaluation)
    return _outcome(evaluation)


def _explain(args) -> int:
    program, evaluation = _evaluate(args, trace=True)
    views = {"json": lambda: dumps(trace_json(program, evaluation)),
             "html": lambda: render_html(program, evaluation),
             "md": lambda: render_md(program, evaluation),
             "text": lambda: trace_text(program, evaluation)}
    _emit(views[args.format](), args.output)
    _record(args, "explain", program, evaluation)
    return _outcome(evaluation)


def _record(args, command: str, program: Program, evaluation: Evaluation) -> None:
    """Keep the run in the audit ledger (not a run that reported errors: it has no result)."""
    if not evaluation.errors:
        record_run(args, command, program, evaluation)


def _emit(text: str, path: str | None) -> None:
    """Write to ``path`` (whole or not at all), or to standard output."""
    if path and path != "-":
        write_text(path, text)
    else:
        sys.stdout.write(text)


def _test(args) -> int:
    paths = _expand(args.paths or ["rulesets"])
    if not paths:
        return _emit_usage(_("no rulesets found (give RULESET paths)"))
    passed = failed = 0
    status = EXIT_OK
    for path in paths:
        program = _load(path)
        if program is None:
            status = EXIT_INVALID
            continue
        for outcome in run_tests(program):
            mark = _("PASS") if outcome.passed else _("FAIL")
            print(f"{mark} {program.ruleset.meta.file}::{outcome.test_id}  {outcome.label}")
            for problem in outcome.problems:
                print(f"    {problem}")
            for err in outcome.errors:
                print("    " + render(err).replace("\n", "\n    "))
            passed, failed = passed + outcome.passed, failed + (not outcome.passed)
    print(_("{passed} passed, {failed} failed").format(passed=passed, failed=failed))
    if status == EXIT_OK and failed:
        status = EXIT_FAILED
    return status


def _coverage(args) -> int:
    status = EXIT_OK
    for path in _expand(args.paths):
        program = _load(path)
        if program is None:
            status = EXIT_INVALID
            continue
        report = coverage(program.ruleset)
        if args.format == "json":
            sys.stdout.write(dumps(coverage_json(report)))
        else:
            sys.stdout.write(coverage_text(report))
        for problem in report.problems:
            print(render(problem), file=sys.stderr)
        if not report.complete and status == EXIT_OK:
            status = EXIT_FAILED
    return status


def _compare(args) -> int:
    programs = [load_program(path) for path in _expand(args.paths)]
    columns = compare(programs, read_facts(args.facts))
    if args.format == "json":
        sys.stdout.write(dumps(compare_json(columns, args.per_record)))
    else:
        sys.stdout.write(compare_table(columns, args.per_record))
    return compare_status(columns)


def _graph(args) -> int:
    _emit(render_graph(load_program(args.ruleset), args.format, args.targets, focus=args.focus),
          args.output)
    return EXIT_OK


def _workbook(args) -> int:
    from .views.workbook import write_workbook  # openpyxl loads only for this command

    if not args.output.lower().endswith(".xlsx"):
        raise UsageError(_("the workbook must be an .xlsx file, not '{path}'").format(path=args.output),
                         hint=_("name the output FILE.xlsx"))
    program, evaluation = _evaluate(args, trace=True)
    write_workbook(program, evaluation, args.output)
    _record(args, "workbook", program, evaluation)
    return _outcome(evaluation)


def _diff(args) -> int:
    old, new = load_program(args.old), load_program(args.new)
    result = RulesetDiff(old, new, diff_rulesets(old, new))
    if args.facts is not None:
        result.results = diff_results(old, new, read_facts(args.facts), args.facts, as_of=args.as_of)
    elif args.example is not None:
        name = args.example or None
        # the example of OLD (of NEW when OLD lacks it), the same facts for both versions
        owner = old if (old.ruleset.examples and (name is None or name in old.ruleset.examples)) else new
        label = name or next(iter(owner.ruleset.examples), "")
        result.results = diff_results(old, new, example_facts(owner.ruleset, name),
                                      _("example {name}").format(name=label), as_of=args.as_of)
    sys.stdout.write(dumps(diff_json(result)) if args.format == "json" else diff_text(result))
    return EXIT_OK


def _serve(args) -> int:
    try:
        import uvicorn

        from .serve import create_app, needs_token, new_token
        from .serve.ledger import default_path
    except ImportError as exc:
        raise UsageError(_("the workbench needs {package}").format(package=exc.name),
                         hint=_("install the package's dependencies again: pip install -e .")) from None
    _check_port(args.host, args.port)
    token = args.token or (new_token() if needs_token(args.host) else None)
    ledger = None if args.no_ledger else (args.ledger or default_path())
    app = create_app(args.folder, ledger=ledger, token=token, language=_language_or_zh(args))
    address = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}/"
    print(_("workbench: {address}").format(address=address + (f"?token={token}" if token else "")))
    print(_("ledger: {path}").format(path=ledger or _("off")))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def _check_port(host: str, port: int) -> None:
    """A usage error (exit 2) when the address cannot be bound, before the server starts."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except (OSError, OverflowError) as exc:
        raise UsageError(_("cannot listen on {host}:{port}: {reason}").format(
                             host=host, port=port, reason=getattr(exc, "strerror", None) or exc),
                         hint=_("choose another --port, or stop the program that uses it")) from None


def _language_or_zh(args) -> str:
    """The server speaks Chinese unless --lang en was given."""
    return _GIVEN_LANGUAGE or "zh"


_COMMANDS = {"validate": _validate, "run": _run, "explain": _explain, "test": _test,
             "coverage": _coverage, "compare": _compare, "graph": _graph, "workbook": _workbook,
             "diff": _diff, "batch": run_batch, "template": run_template, "new": run_new, "serve": _serve,
             "history": run_history, "rerun": run_rerun}
