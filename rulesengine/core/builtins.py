"""The functions a formula may call. The tables below are the whole list: nothing else is
callable, and no name in a formula can reach a Python attribute, import or builtin.

``FUNCTIONS`` work on single values; numeric ones (``params`` None) take numbers of one
unit; date ones declare their parameter kinds. ``AGGREGATES`` run over a collection:
``sum(members.budget)``, ``count(cases where cost > 2 * norm_cost)``. Each function declares
whether and how the fixed-point back-end computes it (``Function.fixed``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

from .i18n import _


@dataclass(frozen=True)
class Function:
    min_args: int
    max_args: int | None
    usage: str
    impl: Callable
    params: tuple[str, ...] | None = None  # kinds of the arguments, when not "numbers alike"
    result: str | None = None  # kind of the result, when params is given
    # how the fixed-point back-end runs it: "columns" (exact column operations of its own),
    # "per_value" (``impl`` once per distinct argument tuple: date functions) or None (it does
    # not: every rule calling it runs on the Decimal back-end). Declared here, never guessed.
    fixed: str | None = None

    @property
    def arity_text(self) -> str:
        if self.max_args is None:
            return _("at least {count} arguments").format(count=self.min_args)
        if self.min_args == self.max_args:
            return (_("{count} argument") if self.min_args == 1 else _("{count} arguments")).format(
                count=self.min_args)
        return _("{low} to {high} arguments").format(low=self.min_args, high=self.max_args)


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Round to ``places`` decimals, halves away from zero (the Chinese 四舍五入)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _clamp(value, low, high):
    return min(max(value, low), high)


def _date(year, month, day) -> date:
    return date(int(year), int(month), int(day))


def add_months(value: date, months) -> date:
    """Same day ``months`` later; the 31st becomes the last day of a shorter month."""
    index = value.year * 12 + value.month - 1 + int(months)
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(value.day, calendar.monthrange(year, month)[1]))


def end_of_month(value: date) -> date:
    return value.replace(day=calendar.monthrange(value.year, value.month)[1])


FUNCTIONS: dict[str, Function] = {
    "min": Function(2, None, "min(a, b, ...)", min, fixed="columns"),
    "max": Function(2, None, "max(a, b, ...)", max, fixed="columns"),
    "abs": Function(1, 1, "abs(x)", abs, fixed="columns"),
    "round": Function(2, 2, "round(x, places)", lambda x, places: round_half_up(x, int(places)),
                      fixed="columns"),
    "clamp": Function(3, 3, "clamp(x, low, high)", _clamp, fixed="columns"),
    "date": Function(3, 3, "date(year, month, day)", _date, ("integer",) * 3, "date", "per_value"),
    "year": Function(1, 1, "year(d)", lambda d: Decimal(d.year), ("date",), "integer", "per_value"),
    "month": Function(1, 1, "month(d)", lambda d: Decimal(d.month), ("date",), "integer", "per_value"),
    "day": Function(1, 1, "day(d)", lambda d: Decimal(d.day), ("date",), "integer", "per_value"),
    "add_days": Function(2, 2, "add_days(d, days)", lambda d, n: d + timedelta(days=int(n)),
                         ("date", "integer"), "date", "per_value"),
    "add_months": Function(2, 2, "add_months(d, months)", add_months, ("date", "integer"), "date", "per_value"),
    "add_years": Function(2, 2, "add_years(d, years)", lambda d, n: add_months(d, 12 * int(n)),
                          ("date", "integer"), "date", "per_value"),
    "end_of_month": Function(1, 1, "end_of_month(d)", end_of_month, ("date",), "date", "per_value"),
    "days_between": Function(2, 2, "days_between(a, b)", lambda a, b: Decimal((b - a).days),
                             ("date", "date"), "integer", "per_value"),
}


@dataclass(frozen=True)
class Aggregate:
    usage: str
    needs_field: bool  # count() and count(x where ...) need none
    field_kinds: tuple[str, ...] | None  # kinds the field may have; None: any
    result: str | None  # kind of the result; None: the field's type


AGGREGATES: dict[str, Aggregate] = {
    "sum": Aggregate("sum(members.budget)", True, ("money", "rate", "number", "integer"), None),
    "min": Aggregate("min(members.budget)", True, ("money", "rate", "number", "integer", "date"), None),
    "max": Aggregate("max(members.budget)", True, ("money", "rate", "number", "integer", "date"), None),
    "count": Aggregate("count(cases) or count(cases where cost > 0)", False, None, "integer"),
    "any": Aggregate("any(members.overspent)", True, ("boolean",), "boolean"),
    "all": Aggregate("all(members.signed)", True, ("boolean",), "boolean"),
    "distinct": Aggregate("distinct(members.code)", True, None, "integer"),
}
AGGREGATE_ONLY = ("sum", "count", "any", "all", "distinct")  # never a plain function
