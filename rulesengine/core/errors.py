"""The one exception hierarchy of the project, and the renderer every caller shares.

Each diagnostic has a stable kebab-case ``code`` (tests assert on codes, not wording),
a message, an optional :class:`~rulesengine.source.Span`, a hint, and related spans
(for example one per edge of a dependency cycle). Warnings use the same classes with
``severity = "warning"``; they are collected, never raised.
"""

from __future__ import annotations

import difflib
from typing import ClassVar, Iterable, Sequence

from .i18n import _, severity_name
from .source import Span, clip, excerpt

MAX_MESSAGE_CHARS = 1_000  # a longer message (or note) is cut in the middle
MAX_HINT_CHARS = 2_000


class RulesError(Exception):
    """Root of every error the project reports about its input."""

    code: ClassVar[str] = "error"
    severity: ClassVar[str] = "error"

    def __init__(self, message: str, *, span: Span | None = None, hint: str | None = None,
                 related: Sequence[tuple[str, Span | None]] = (), context: str | None = None):
        message = clip(message, MAX_MESSAGE_CHARS)  # a huge value is never echoed whole
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = clip(hint, MAX_HINT_CHARS) if hint else hint
        self.related = tuple((clip(note, MAX_MESSAGE_CHARS), where) for note, where in related)
        self.context = context  # e.g. "rule settlement_amount (三(三)6)"

    def __str__(self) -> str:
        return f"{self.span}: {self.message}" if self.span else self.message


# --- loading -------------------------------------------------------------------------
class LoadError(RulesError):
    code = "load-error"


class FileReadError(LoadError):
    code = "file-unreadable"


class YamlSyntaxError(LoadError):
    code = "yaml-syntax"


class BadCharacterError(LoadError):
    """Text holds a control character, a lone surrogate or a direction override."""

    code = "bad-character"


class LimitError(RulesError):
    """The input crosses one of the documented bounds (README: Limits and guarantees)."""

    code = "limit"


class DuplicateKeyError(LoadError):
    code = "duplicate-key"


class RulesetSchemaError(LoadError):
    """The document does not match a JSON Schema; ``json_path`` says where."""

    code = "schema"

    def __init__(self, message: str, *, json_path: str = "$", **kw):
        super().__init__(message, **kw)
        self.json_path = json_path


# --- formulas and declarations -------------------------------------------------------
class FormulaSyntaxError(RulesError):
    code = "formula-syntax"


class CheckError(RulesError):
    code = "check-error"


class UnknownNameError(CheckError):
    code = "unknown-name"


class UnknownFunctionError(CheckError):
    code = "unknown-function"


class ArgumentCountError(CheckError):
    code = "argument-count"


class TypeMismatchError(CheckError):
    code = "type-mismatch"


class UnknownEnumValueError(CheckError):
    code = "unknown-enum-value"


class DuplicateIdError(CheckError):
    code = "duplicate-id"


class BadValueError(CheckError):
    """A literal value in the ruleset (parameter, table row, test) does not fit its type."""

    code = "bad-value"


class IncompleteTableError(CheckError):
    code = "incomplete-table"


class UntriagedClauseError(CheckError):
    code = "untriaged-clause"


class CycleError(RulesError):
    code = "dependency-cycle"


# --- facts and evaluation ------------------------------------------------------------
class FactError(RulesError):
    code = "bad-fact"


class UnknownFactError(FactError):
    code = "unknown-fact"


class FixedParameterError(FactError):
    code = "fixed-parameter"


class ConstraintError(FactError):
    code = "constraint"


class EvaluationError(RulesError):
    code = "evaluation-error"


class MissingFactError(EvaluationError):
    code = "missing-fact"


class DivisionByZeroError(EvaluationError):
    code = "division-by-zero"


class ArithmeticLimitError(EvaluationError):
    code = "arithmetic"


class TableKeyError(EvaluationError):
    code = "table-key"


class UnknownTargetError(EvaluationError):
    code = "unknown-target"


class InvalidDateError(EvaluationError):
    code = "invalid-date"


class EmptyCollectionError(EvaluationError):
    code = "empty-collection"


class NoValueInForceError(EvaluationError):
    code = "no-value-in-force"


# --- tables (batch) -------------------------------------------------------------------
class TableError(RulesError):
    """A table given to ``batch`` cannot be read as a table; located at its row and column."""

    code = "bad-table"


class TableFileError(TableError):
    """Empty, truncated, or not the format its name says (a renamed file)."""

    code = "table-file"


class TableEncodingError(TableError):
    code = "table-encoding"


class TableShapeError(TableError):
    """A row wider or narrower than the header."""

    code = "table-shape"


class TableHeaderError(TableError):
    """A duplicated, empty or unknown header cell, or a missing column."""

    code = "table-header"


class TableTooLargeError(TableError):
    code = "table-too-large"


class UsageError(RulesError):
    code = "usage"


class OutputError(RulesError):
    """The output file cannot be written (no such directory, no permission, disk full)."""

    code = "file-unwritable"


class ToolMissingError(RulesError):
    """An external program the output needs (Graphviz's ``dot``) is not installed."""

    code = "tool-missing"


class ToolFailedError(RulesError):
    """The external program ran but failed."""

    code = "tool-failed"


# --- warnings -------------------------------------------------------------------------
class RulesWarning(RulesError):
    severity = "warning"
    code = "warning"


class UnusedWarning(RulesWarning):
    code = "unused"


class PeriodWarning(RulesWarning):
    """The as-of date lies outside the ruleset's effective period."""

    code = "out-of-period"


class StaleParameterWarning(RulesWarning):
    """A dated parameter's latest value is from an earlier year than the as-of date."""

    code = "stale-parameter"


class CheckFailed(RulesError):
    """Several errors found in one pass (the checker collects all, not only the first)."""

    code = "check-failed"

    def __init__(self, errors: Iterable[RulesError]):
        self.errors = sorted(errors, key=_order)
        super().__init__(_("{count} error(s)").format(count=len(self.errors)))


def _order(err: RulesError) -> tuple:
    span = err.span
    return (span.file, span.line, span.col) if span else ("", 0, 0)


def did_you_mean(name: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """A hint naming the closest known name, if one is close enough."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    return _("did you mean '{name}'?").format(name=close[0]) if close else None


def flatten(err: RulesError) -> list[RulesError]:
    return list(err.errors) if isinstance(err, CheckFailed) else [err]


def render(err: RulesError) -> str:
    """``file:line:col: error[code]: message``, then excerpt, related spans and hint."""
    where = f"{err.span}: " if err.span else ""
    lines = [f"{where}{severity_name(err.severity)}[{err.code}]: {err.message}"]
    if err.span and (text := excerpt(err.span)):
        lines.append(text)
    for message, span in err.related:
        lines.append(_("  note: {note}").format(note=f"{span}: {message}" if span else message))
        if span and (text := excerpt(span)):
            lines.append(_indent(text))
    if err.context:
        lines.append(_("  in: {context}").format(context=err.context))
    if err.hint:
        lines.append(_("  hint: {hint}").format(hint=err.hint))
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
