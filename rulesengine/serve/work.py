"""What the API and the pages share: request bodies and facts in, evaluations and error JSON out.

Facts reach the engine the way the CLI reads them: as a YAML/JSON text read by
:func:`~rulesengine.evaluate.facts.read_facts`, so every check and every located message is the
CLI's. Facts sent as a JSON object are written out as YAML first (numbers keep their decimal
digits: the body is parsed with ``Decimal``); their positions then refer to that text, which is
what the ledger stores. A ruleset text to validate is written beside a link to the served
``modules/`` folder, so its ``include:`` works as it would on disk.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Iterator

import yaml

from ..check.sources import MODULE_DIR
from ..commands.compare import Column, compare
from ..commands.diff import ResultDiff, diff_results
from ..commands.testrunner import run_tests
from ..core.errors import RulesError, UsageError, YamlSyntaxError, flatten
from ..core.i18n import _
from ..core.source import Span, display_path
from ..evaluate.driver import load_program
from ..evaluate.evaluator import Evaluation, Program
from ..evaluate.facts import bind_facts, check_fact_sets, example_facts, read_facts
from ..views.report import error_json

MAX_BODY_BYTES = 2 * 1024 * 1024  # a request body: a ruleset or a year's facts is far smaller
FACTS_FILE = "facts.yaml"  # how facts sent in a request are named in messages


class _Dumper(yaml.SafeDumper):
    """YAML out with decimals written as the digits they were given in."""


_Dumper.add_representer(Decimal, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:float", str(value)))


def facts_text(values: dict) -> str:
    """Facts as the YAML text the engine reads and the ledger keeps."""
    return yaml.dump(values, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)


def parse_json(raw: bytes, what: str = "request") -> Any:
    """A JSON body, numbers with a point kept as Decimal; a located yaml-syntax error if malformed."""
    if len(raw) > MAX_BODY_BYTES:
        raise UsageError(_("the request body is larger than {size} MiB").format(
            size=MAX_BODY_BYTES // (1024 * 1024)), hint=_("send a smaller ruleset or fewer facts"))
    try:
        return json.loads(raw.decode("utf-8-sig"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise YamlSyntaxError(_("the request body is not UTF-8 text"), span=Span(what, 1, 1),
                              hint=_("send JSON encoded as UTF-8")) from None
    except json.JSONDecodeError as exc:
        raise YamlSyntaxError(_("JSON syntax: {problem}").format(problem=exc.msg),
                              span=Span(what, exc.lineno, exc.colno),
                              hint=_("the body must be one JSON object, e.g. {example}").format(
                                  example='{"example": ""}')) from None


@dataclass
class Facts:
    """Facts bound for one ruleset, with the text they were read from and their source label."""

    bound: dict[str, Any]
    text: str
    source: str


def _rename(err: RulesError, path: str, shown: str) -> RulesError:
    """Name the scratch file ``shown`` (and its modules relative to it) in spans and messages."""
    folder = os.path.dirname(path)
    for prefix in {os.path.join(folder, ""), display_path(folder) + os.sep}:
        for item in flatten(err):
            if item.span and item.span.file.startswith(prefix):
                span, file = item.span, item.span.file[len(prefix):]
                item.span = Span(shown if file == os.path.basename(path) else file, span.line, span.col,
                                 span.end_line, span.end_col)
            item.message = item.message.replace(path, shown).replace(prefix, "")
            if item.hint:
                item.hint = item.hint.replace(path, shown).replace(prefix, "")
    return err


_thread = threading.local()


def _scratch_folder() -> str:
    """This worker thread's scratch folder (removed when the process exits)."""
    folder = getattr(_thread, "folder", None)
    if folder is None or not os.path.isdir(folder):
        folder = _thread.folder = tempfile.mkdtemp(prefix="rulesengine-serve-")
        atexit.register(shutil.rmtree, folder, True)
    return folder


@contextmanager
def _scratch(text: str, shown: str, modules: str | None = None) -> Iterator[str]:
    """``text`` in a file of this thread's scratch folder, always at the same path (the engine keeps
    each file's text for excerpts: one path per thread keeps that memory from growing with every
    request); ``modules/`` beside it links to the served modules. RulesErrors raised inside name
    the file ``shown``."""
    folder = _scratch_folder()
    path = os.path.join(folder, "scratch.yaml")
    link = os.path.join(folder, MODULE_DIR)
    if os.path.islink(link) and os.readlink(link) != modules:
        os.unlink(link)
    if modules and os.path.isdir(modules) and not os.path.islink(link):
        os.symlink(modules, link)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    try:
        yield path
    except RulesError as err:
        raise _rename(err, path, shown) from None
    finally:
        os.unlink(path)


def read_facts_text(program: Program, text: str, source: str) -> Facts:
    """Bind facts given as YAML or JSON text; errors are located in ``facts.yaml``."""
    with _scratch(text, FACTS_FILE) as path:
        bound = bind_facts(program.ruleset, read_facts(path))
    return Facts(bound, text, source)


def diff_facts(old: Program, new: Program, text: str) -> ResultDiff:
    """``diff --facts``: the results of both versions on facts given as text."""
    with _scratch(text, FACTS_FILE) as path:
        return diff_results(old, new, read_facts(path), FACTS_FILE)


def compare_facts(programs: list[Program], text: str) -> list[Column]:
    """``compare``: the rulesets side by side on one facts text (a section per ruleset id allowed)."""
    with _scratch(text, FACTS_FILE) as path:
        return compare(programs, read_facts(path))


def request_facts(program: Program, *, facts: Any = None, text: str | None = None,
                  example: str | None = None) -> Facts:
    """Facts from exactly one of: a JSON object, a YAML/JSON text, an example name ('' = first)."""
    given = [x is not None for x in (facts, text, example)]
    if sum(given) != 1:
        raise UsageError(_("give exactly one of 'facts', 'facts_text' and 'example'"),
                         hint=_("'example': \"\" runs the ruleset's first example"))
    if example is not None:
        ruleset = program.ruleset
        values = example_facts(ruleset, example or None).values
        label = example or next(iter(ruleset.examples))
        return read_facts_text(program, facts_text(values), _("example {name}").format(name=label))
    if text is None:
        if not isinstance(facts, dict):
            raise UsageError(_("'facts' must be a JSON object of fact names and values"),
                             hint=_("e.g. {example}").format(example='{"facts": {"assessment_grade": "良好"}}'))
        text = facts_text(facts)
    return read_facts_text(program, text, FACTS_FILE)


def evaluate(program: Program, facts: Facts, targets: list[str] | None = None,
             as_of: date | None = None, *, trace: bool = False) -> Evaluation:
    """Evaluate as the CLI does (``run``: no trace; ``explain``: trace)."""
    return program.evaluate(facts.bound, targets or None, trace=trace, fact_source=facts.source,
                            as_of=as_of)


def errors_json(err: RulesError) -> dict:
    """``{"errors": [...]}``: every error with its code, message, hint and span (line, column)."""
    return {"errors": [error_json(e) for e in flatten(err)]}


def validate_text(text: str, modules: str, name: str = "ruleset.yaml", *,
                  tests: bool = False) -> tuple[Program | None, list, list[dict]]:
    """Check a ruleset given as text, as ``validate`` does, and run its own tests when asked:
    (program or None, errors and warnings, test outcomes as JSON)."""
    outcomes: list[dict] = []
    try:
        with _scratch(text, name, modules) as path:
            program = load_program(path)
            check_fact_sets(program.ruleset)
            warnings = [_rename(w, path, name) for w in program.ruleset.warnings]
            if tests:
                outcomes = [_outcome_json(o, path, name) for o in run_tests(program)]
    except RulesError as err:
        return None, flatten(err), []
    return program, warnings, outcomes


def _outcome_json(outcome, path: str, shown: str) -> dict:
    """A test's outcome as ``rulesengine test`` reports it, its places named ``shown``."""
    def named(text: str) -> str:
        return text.replace(display_path(path), shown).replace(path, shown)
    return {"id": outcome.test_id, "label": outcome.label, "passed": outcome.passed,
            "problems": [named(p) for p in outcome.problems],
            "errors": [error_json(_rename(e, path, shown)) for e in outcome.errors]}
