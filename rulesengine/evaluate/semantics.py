"""What a value means, whichever back-end computes it: defined once, imported by both.

The Decimal back-end (:mod:`.evaluator`) and the fixed-point back-end (:mod:`.fixedpoint`)
differ only in how they hold numbers. Everything that decides a result or its wording lives
here: the decimal context, how a rule rounds (after settling a 34-digit quotient to 28
digits), which modes exist, how an integer enters evaluation, the as-of date and the value of
a dated parameter in force on it, what a missing fact is called, and how a run-time
arithmetic failure is reported.
"""

from __future__ import annotations

import decimal
from datetime import date
from decimal import Decimal
from typing import Any

from ..check.model import CLEARING_YEAR, ROUNDING_MODES, Parameter, Rounding, Ruleset
from ..core.errors import (ArithmeticLimitError, InvalidDateError, NoValueInForceError, PeriodWarning,
                           RulesError, RulesWarning, StaleParameterWarning)
from ..core.datatypes import plain
from ..load import ast
from ..core.i18n import _, context_of

DECIMAL_CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
                                  traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
"""Every Decimal operation of an evaluation: 34 digits, overflow and undefined results trapped."""

SETTLE_CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)
"""A quotient is settled to 28 digits before a rule rounds it (see :func:`round_rule`)."""

ARITHMETIC_ERRORS = (decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero)
"""The trapped conditions of :data:`DECIMAL_CONTEXT`, reported by :func:`arithmetic_error`."""

MODES = tuple(ROUNDING_MODES)
"""Rounding modes a rule may name (half_up, half_even, down, up, floor, ceiling)."""


def as_decimal(value: Any) -> Any:
    """Integers enter evaluation as Decimal, so int / int can never give a float. (Facts are
    already in their plain form: :func:`..core.datatypes.plain` is applied where they are typed.)"""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def rule_value(value: Any, rounding: Rounding | None, divides: bool = True) -> Any:
    """What a rule holds: its formula's value rounded as the rule says (:func:`round_rule`),
    else in its plain form (:func:`plain`). A positive exponent comes only from a division
    (facts, parameters and table rows are plain already), so a formula without ``/``
    (``divides`` False) needs only the zero test."""
    if not isinstance(value, Decimal):
        return value
    if rounding is not None:
        return round_rule(value, rounding)
    return plain(value) if divides or value.is_zero() else value


def divides(tree) -> bool:
    """Whether a formula divides (see :func:`rule_value`)."""
    return any(isinstance(node, ast.BinOp) and node.op == "/" for node in ast.walk(tree))


def round_rule(value: Decimal, rounding: Rounding) -> Decimal:
    """Round as the ruleset says, after settling the last digits a 34-digit division leaves:
    150000 / 450000 * 300000 is 99999.999…9 (34 digits), which must round down to 100000.00."""
    value = SETTLE_CONTEXT.plus(value)
    quantum = _QUANTA.get(rounding.places) or Decimal(1).scaleb(-rounding.places)
    rounded = value.quantize(quantum, rounding=ROUNDING_MODES[rounding.mode])
    return rounded.copy_abs() if rounded.is_zero() else rounded  # no "-0.00"


_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(0, 35)}  # made once, not per rounding


def arithmetic_error(decl, exc: ArithmeticError) -> ArithmeticLimitError:
    """A trapped Decimal condition while computing ``decl``, located at its formula."""
    return ArithmeticLimitError(
        _("arithmetic failed ({error}): a value is too large or undefined").format(error=type(exc).__name__),
        span=decl.tree.span, context=context_of(decl),
        hint=_("a value is beyond 10^999999; check the facts' magnitude")
        if isinstance(exc, decimal.Overflow) else
        _("a result is undefined or too long to keep exact; check the facts' magnitude"))


def year_end(ruleset: Ruleset, year: int) -> date:
    """31 December of a clearing year; a year outside 1..9999 is an :class:`InvalidDateError`."""
    if 1 <= year <= 9999:
        return date(year, 12, 31)
    decl = ruleset.declarations.get(CLEARING_YEAR)
    raise InvalidDateError(_("clearing_year {year} is not a calendar year").format(year=year),
                           span=decl.span if decl else None,
                           hint=_("a clearing year runs from 1 to 9999, e.g. 2024"))


def as_of_date(ruleset: Ruleset, year: Any, given: date | None,
               errors: list[RulesError], warnings: list[RulesWarning]) -> date | None:
    """The date dated parameters are read on: ``given`` (--as-of), else 31 December of the
    clearing year, else the start of the period in force; a date outside that period warns."""
    meta = ruleset.meta
    if given is None and isinstance(year, int) and not isinstance(year, bool):
        try:
            given = year_end(ruleset, year)
        except InvalidDateError as err:
            errors.append(err)
    if given is None and meta.effective_from == date.min:
        return None  # neither a clearing year nor a period in force: no date to judge by
    day = given or meta.effective_from
    if day < meta.effective_from or (meta.effective_to is not None and day > meta.effective_to):
        period = _("{start} to {end}").format(start=meta.effective_from, end=meta.effective_to or _("open end"))
        warnings.append(PeriodWarning(
            _("evaluating as of {date}, outside the period in force of {id} ({period})").format(
                date=day, id=meta.id, period=period),
            hint=_("the policy may have expired or been replaced; check which document applies")))
    return day


def dated_value(decl: Parameter, day: date | None, warnings: list[RulesWarning]) -> Any:
    """The value of a dated parameter in force on ``day``; none is a :class:`NoValueInForceError`."""
    if day is None:
        raise NoValueInForceError(
            _("parameter '{id}' ({label}) has dated values, but there is no as-of date").format(
                id=decl.id, label=decl.label),
            span=decl.span, hint=_("give the fact clearing_year, or --as-of YYYY-MM-DD"))
    chosen = decl.value_on(day)
    if chosen is None:
        raise NoValueInForceError(
            _("parameter '{id}' ({label}) has no value in force on {date}: its first value is "
              "from {first}").format(id=decl.id, label=decl.label, date=day, first=decl.dated[0].start),
            span=decl.span, hint=_("add a dated value, or evaluate as of a later date (--as-of)"))
    latest = decl.dated[-1]
    if latest.start.year < day.year:
        warning = StaleParameterWarning(
            _("parameter '{id}' ({label}): its latest value is from {latest}, older than the "
              "as-of year {year}").format(id=decl.id, label=decl.label, latest=latest.start, year=day.year),
            span=decl.span, hint=_("check whether the document or a later notice sets a value for this year"))
        if str(warning) not in {str(w) for w in warnings}:
            warnings.append(warning)
    return as_decimal(chosen.value)


def missing_fact(decl) -> tuple[str, str]:
    """(message, hint) for a fact or open parameter the facts do not give."""
    message = (_("missing open parameter '{id}' ({label})") if isinstance(decl, Parameter)
               else _("missing fact '{id}' ({label})")).format(id=decl.id, label=decl.label)
    hint = _("add '{id}: ...' to the facts").format(id=decl.id) + \
        (_("; note: {note}").format(note=decl.note) if decl.note else "")
    return message, hint


def table_key_message(table, key: Any) -> str:
    """What a look-up with no row is called: the table and the key, each key column named when
    the table has several (the record, per record, is named by the evaluation)."""
    if len(table.columns) > 1 and isinstance(key, tuple):
        shown = ", ".join(f"{name}={value!r}" for (name, _type), value in zip(table.columns, key))
    else:
        shown = repr(key)
    return _("table '{id}' ({label}) has no row for {key}").format(id=table.id, label=table.label, key=shown)


def default_source(ruleset: Ruleset, decl: Parameter) -> str:
    """Where the value of an open parameter the facts did not give comes from: the default of
    the module that declares it (the national method), or the ruleset that sets it."""
    if decl.module is not None:
        return _("default of module {module} (not given in the facts)").format(module=decl.module)
    return _("set by ruleset {id} (not given in the facts)").format(id=ruleset.meta.id)
