"""One value typed from text, for a facts file and a table cell alike.

A table cell is text; :func:`cell_value` types it with :func:`~rulesengine.core.datatypes.coerce`,
the same coercion (same bounds, same codes and messages) as a value of a YAML/JSON facts file,
after the spreadsheet habits a table may hold (README, "Tables"):

* booleans: ``true``/``false`` (any case, as Excel writes TRUE), ``是``/``否`` and ``1``/``0``;
* rates: ``8%`` is 0.08 and ``0.08`` is 0.08; a bare number above 1 (``8``) is refused with a
  hint, since a clerk who types 8 means 8%, and a rate above 100% is written with ``%``;
  a column mapped with the unit ``%`` reads a bare ``8`` as 8%;
* money in a column mapped with the unit ``万元``: ``12.5`` is 125,000.00 yuan;
* a column mapped with a value map (``Y: 是``) replaces the cell's text first.

:func:`fact_message` and :func:`outside` word a problem for both readers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .datatypes import _DECIMAL, RATE, Type, ValueProblem, coerce, display, shift
from .i18n import _

BOOLEAN_WORDS = {"true": True, "false": False, "是": True, "否": False, "1": True, "0": False}
UNITS = {"money": ("元", "万元"), "rate": ("%",)}  # the units a column mapping may declare
_ONE = Decimal(1)


def cell_value(text: str, type_: Type, unit: str | None = None, values: dict | None = None) -> Any:
    """The typed value of a non-empty cell's text, or :class:`ValueProblem`.

    Blanks around the text are kept where the facts reader keeps them (an enum value or a
    date with a blank is refused the same way in both)."""
    word = text.strip()
    if values and word in values:
        text = word = values[word]
    kind = type_.kind
    if kind == "boolean":
        flag = BOOLEAN_WORDS.get(word.lower())
        if flag is None:
            try:
                coerce(text, type_)
            except ValueProblem as problem:
                raise ValueProblem(problem.message, _("write 是 or 否 (true/false and 1/0 are accepted "
                                                      "too)")) from None
        return flag
    if kind == "rate":
        if unit == "%" and not word.endswith("%"):
            return coerce(word + "%", RATE)
        value = coerce(text, type_)
        if not word.endswith("%") and abs(value) > _ONE:
            shown = word if len(word) <= 40 else word[:40] + "…"
            raise ValueProblem(_("'{text}' in a rate column is a bare number above 1; a rate is a "
                                 "fraction (0.08) or a percentage (8%)").format(text=shown),
                               _("write {text}% if it means {text} percent; a rate above 100% is "
                                 "written with %").format(text=shown))
        return value
    if kind == "money" and unit == "万元" and _DECIMAL.fullmatch(word):
        return coerce(f"{shift(Decimal(word), 4):f}", type_)
    return coerce(text, type_)


def fact_message(name: str, label: str, problem: str, type_: Type) -> str:
    """The message of a value that does not fit its fact's type, in every reader."""
    return _("fact '{name}' ({label}): {problem} (expected {type})").format(
        name=name, label=label, problem=problem, type=type_)


def outside(value: Any, minimum: Any, maximum: Any, type_: Type) -> str | None:
    """Why ``value`` is outside an input's ``min``/``max``, or None."""
    if minimum is not None and value < minimum:
        return _("below the minimum {limit}").format(limit=display(minimum, type_))
    if maximum is not None and value > maximum:
        return _("above the maximum {limit}").format(limit=display(maximum, type_))
    return None


def bound_message(name: str, label: str, value: Any, bound: str, type_: Type) -> str:
    """The message of a value outside its input's bounds, in every reader."""
    return _("fact '{name}' ({label}) is {value}, {bound}").format(
        name=name, label=label, value=display(value, type_), bound=bound)
