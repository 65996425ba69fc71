"""Command line: validate, run, explain, test, coverage and compare rulesets.

Exit status: 0 all good; 1 a test or an error-severity check failed; 2 invalid input or
usage. Diagnostics go to stderr as ``FILE:LINE:COL: error[code]: message`` with an
excerpt and a hint; bad input never produces a Python traceback.
"""

from __future__ import annotations

import argparse
import glob
from datetime import date
import os
import sys
from typing import Sequence

from .compare import compare, compare_json, compare_table
from .coverage import coverage, coverage_json, coverage_text
from .driver import load_program
from .errors import RulesError, flatten, render
from .evaluator import Evaluation, Program
from .facts import bind_facts, check_fact_sets, example_facts, read_facts
from .report import dumps, run_json, run_table, trace_json, trace_text
from .testrunner import run_tests

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 70


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit 2, as argparse does, in our format
        self.print_usage(sys.stderr)
        raise SystemExit(_emit_usage(f"{self.prog}: {message}"))


def _emit_usage(message: str) -> int:
    print(f"error[usage]: {message}", file=sys.stderr)
    return EXIT_INVALID


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rulesengine", description="Rules as code for medical-insurance payment "
                     "policies: validate, run, explain and test YAML rulesets.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = sub.add_parser("validate", help="check rulesets: schema, formulas, types, graph")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="ruleset files or directories")

    for name, help_text in (("run", "evaluate a ruleset over facts"),
                            ("explain", "show how a result was computed")):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("ruleset", metavar="RULESET")
        if name == "explain":
            command.add_argument("targets", nargs="+", metavar="TARGET", help="rule or check ids")
        source = command.add_mutually_exclusive_group(required=True)
        source.add_argument("--facts", metavar="FILE", help="facts as YAML or JSON")
        source.add_argument("--example", nargs="?", const="", metavar="NAME",
                            help="use an example of the ruleset (default: the first)")
        command.add_argument("--as-of", type=_iso_date, metavar="YYYY-MM-DD",
                             help="date for dated parameter values and validity (default: 31 "
                                  "December of the fact clearing_year, else the ruleset's start)")
        if name == "run":
            command.add_argument("--target", action="append", dest="targets", metavar="ID",
                                 help="compute only this result (repeatable)")
            command.add_argument("--format", choices=("table", "json"), default="table")
        else:
            command.add_argument("--format", choices=("text", "json"), default="text")

    test = sub.add_parser("test", help="run the rulesets' own tests")
    test.add_argument("paths", nargs="*", metavar="RULESET",
                      help="ruleset files or directories (default: rulesets/)")

    cover = sub.add_parser("coverage", help="the clause inventory: what each clause of the "
                                            "document became; exit 1 if untriaged or dangling")
    cover.add_argument("paths", nargs="+", metavar="RULESET", help="ruleset files or directories")
    cover.add_argument("--format", choices=("text", "json"), default="text")

    comp = sub.add_parser("compare", help="several rulesets on one facts file, side by side "
                                          "by glossary concept")
    comp.add_argument("paths", nargs="+", metavar="RULESET", help="ruleset files or directories")
    comp.add_argument("--facts", required=True, metavar="FILE", help="facts as YAML or JSON")
    comp.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2025-12-31") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rulesengine`` command; returns the exit status."""
    _utf8_streams()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    try:
        return _COMMANDS[args.command](args)
    except RulesError as err:
        _report(err)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours, never the user's input: say so, briefly
        if os.environ.get("RULESENGINE_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc}\n  hint: this is a bug in rulesengine; "
              "rerun with RULESENGINE_DEBUG=1 for the traceback and report it", file=sys.stderr)
        return EXIT_INTERNAL


def _utf8_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower() not in ("utf-8", "utf8"):
            stream.reconfigure(encoding="utf-8")


def _report(err: RulesError) -> None:
    for item in flatten(err):
        print(render(item), file=sys.stderr)
    count = len([e for e in flatten(err) if e.severity == "error"])
    if count > 1:
        print(f"{count} errors", file=sys.stderr)


def _expand(paths: Sequence[str]) -> list[str]:
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            files += sorted(glob.glob(os.path.join(path, "*.yaml")))
        else:
            files.append(path)
    return files


def _validate(args) -> int:
    status = EXIT_OK
    for path in _expand(args.paths):
        try:
            program = load_program(path)
            check_fact_sets(program.ruleset)
        except RulesError as err:
            _report(err)
            status = EXIT_INVALID
            continue
        for warning in program.ruleset.warnings:
            print(render(warning), file=sys.stderr)
        ruleset = program.ruleset
        entities = f"{len(ruleset.entities)} collections, " if ruleset.entities else ""
        print(f"{ruleset.meta.file}: ok ({len(ruleset.of_kind('rule'))} rules, "
              f"{len(ruleset.of_kind('check'))} checks, {len(ruleset.of_kind('input'))} inputs, "
              f"{len(ruleset.of_kind('parameter'))} parameters, {entities}{len(ruleset.tests)} tests, "
              f"{len(ruleset.clauses)} clauses, {len(ruleset.warnings)} warnings)")
        for module in ruleset.modules.values():
            own = sum(d.module == module.id for d in ruleset.declarations.values())
            overridden = f"; overridden here: {', '.join(module.overridden)}" if module.overridden else ""
            print(f"  includes {module.id} ({module.file}, {module.document_number}): "
                  f"{own} declarations{overridden}")
    return status


def _facts(program: Program, args):
    if args.facts is not None:
        return bind_facts(program.ruleset, read_facts(args.facts)), args.facts
    name = args.example or None
    facts = example_facts(program.ruleset, name)
    label = name or next(iter(program.ruleset.examples))
    return bind_facts(program.ruleset, facts), f"example {label}"


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
    return _outcome(evaluation)


def _explain(args) -> int:
    program, evaluation = _evaluate(args, trace=True)
    if args.format == "json":
        sys.stdout.write(dumps(trace_json(program, evaluation)))
    else:
        sys.stdout.write(trace_text(program, evaluation))
    return _outcome(evaluation)


def _test(args) -> int:
    paths = _expand(args.paths or ["rulesets"])
    if not paths:
        print("error[usage]: no rulesets found (give RULESET paths)", file=sys.stderr)
        return EXIT_INVALID
    passed = failed = 0
    status = EXIT_OK
    for path in paths:
        try:
            program = load_program(path)
        except RulesError as err:
            _report(err)
            status = EXIT_INVALID
            continue
        for outcome in run_tests(program):
            mark = "PASS" if outcome.passed else "FAIL"
            print(f"{mark} {program.ruleset.meta.file}::{outcome.test_id}  {outcome.label}")
            for problem in outcome.problems:
                print(f"    {problem}")
            for err in outcome.errors:
                print("    " + render(err).replace("\n", "\n    "))
            passed, failed = passed + outcome.passed, failed + (not outcome.passed)
    print(f"{passed} passed, {failed} failed")
    if status == EXIT_OK and failed:
        status = EXIT_FAILED
    return status


def _coverage(args) -> int:
    status = EXIT_OK
    for path in _expand(args.paths):
        try:
            program = load_program(path)
        except RulesError as err:
            _report(err)
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
        sys.stdout.write(dumps(compare_json(columns)))
    else:
        sys.stdout.write(compare_table(columns))
    return EXIT_OK


_COMMANDS = {"validate": _validate, "run": _run, "explain": _explain, "test": _test,
             "coverage": _coverage, "compare": _compare}
