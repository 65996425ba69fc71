"""The value types of the formula language, and how literal values become typed values.

Types: money (yuan, exact to the fen), rate (a fraction: 5% is 0.05), number, integer,
boolean, enum (a closed set of Chinese values such as 考核等次), date and text (codes). Values are
``Decimal`` for money, rate and number, ``int``, ``bool``, ``str`` (enum) and
``datetime.date``. No ``float`` is ever produced.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

NUMERIC = ("money", "rate", "number", "integer")
BUILTIN = NUMERIC + ("boolean", "date", "text")


@dataclass(frozen=True)
class Type:
    """A value type. ``values`` lists an enum's members; ``zero`` marks the literal 0."""

    kind: str
    enum: str | None = None
    values: tuple[str, ...] = ()
    zero: bool = False

    def __str__(self) -> str:
        if self.kind == "enum":
            shown = "/".join(self.values)
            return f"enum {self.enum} ({shown})" if self.enum else f'"{shown}"'
        return "number" if self.zero else self.kind

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC


MONEY, RATE, NUMBER, INTEGER = Type("money"), Type("rate"), Type("number"), Type("integer")
BOOLEAN, DATE, TEXT = Type("boolean"), Type("date"), Type("text")
ZERO = Type("integer", zero=True)


def literal_enum(value: str) -> Type:
    """The type of a quoted value in a formula: an enum of that one value."""
    return Type("enum", values=(value,))


class ValueProblem(ValueError):
    """A literal does not fit its type; carries a hint. Callers add the location."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_PERCENT = re.compile(r"(-?[0-9]+(\.[0-9]+)?)\s*%")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FEN = Decimal("0.01")


def coerce(value: Any, type_: Type) -> Any:
    """Turn a YAML/JSON value into a value of ``type_`` or raise :class:`ValueProblem`.

    Accepted forms: money as a number or a plain decimal string with at most two decimal
    places ("1234.50"; no thousands separators, no 万); a rate as a fraction (0.05) or a
    percentage string ("5%"); integers without a fractional part; booleans as true/false;
    enum values exactly as declared; dates as ISO text (2024-12-31).
    """
    kind = type_.kind
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise ValueProblem(f"expected true or false, got {_show(value)}")
    if kind == "enum":
        if isinstance(value, str) and value in type_.values:
            return value
        close = difflib.get_close_matches(str(value), type_.values, n=1, cutoff=0.3)
        hint = f"did you mean '{close[0]}'?" if close else None
        raise ValueProblem(f"{_show(value)} is not one of {', '.join(type_.values)}",
                           hint or f"use one of: {', '.join(type_.values)}")
    if kind == "text":
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise ValueProblem(f"expected a code or name as text, got {_show(value)}")
    if kind == "date":
        if isinstance(value, date):
            return value
        try:
            if not _ISO_DATE.fullmatch(str(value)):
                raise ValueError
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueProblem(f"expected a date like 2024-12-31, got {_show(value)}") from None
    number = _number(value, allow_percent=(kind == "rate"))
    if kind == "integer":
        if number != number.to_integral_value():
            raise ValueProblem(f"expected a whole number, got {_show(value)}")
        return int(number)
    if kind == "money":
        if number.as_tuple().exponent < -2 and number != number.quantize(FEN):
            raise ValueProblem(f"{_show(value)} has more than two decimal places",
                               "money is exact to the fen (0.01 yuan); round the amount in "
                               "the source system")
        return number.quantize(FEN)
    return number


def _number(value: Any, *, allow_percent: bool) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueProblem(f"expected a number, got {_show(value)}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # only Python callers can pass one; files never produce it
        raise ValueProblem(f"{value!r} is a binary float", "pass a Decimal or a decimal string: "
                           "money must be exact")
    if isinstance(value, str):
        text = value.strip()
        if _DECIMAL.fullmatch(text):
            return Decimal(text)
        match = _PERCENT.fullmatch(text)
        if match and allow_percent:
            return Decimal(match.group(1)).scaleb(-2)
        if match:
            raise ValueProblem(f"{_show(value)} is a percentage, but a plain number is expected")
        return _bad_number_text(text)
    raise ValueProblem(f"expected a number, got {_show(value)}")


def _bad_number_text(text: str) -> Decimal:
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        raise ValueProblem(f"'{text}' has thousands separators",
                           f"write it without separators: {text.replace(',', '')}")
    if text.endswith(("万", "万元", "亿", "元")):
        raise ValueProblem(f"'{text}' has a unit", "write the amount in yuan as a plain number,"
                           " e.g. 125000.00 for 12.5万")
    try:
        Decimal(text)
    except InvalidOperation:
        raise ValueProblem(f"'{text}' is not a number") from None
    raise ValueProblem(f"'{text}' is not a plain decimal number", "write digits, a point and "
                       "digits, e.g. 1234.50")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return str(value)


# --- output forms ---------------------------------------------------------------------------
def to_json(value: Any, type_: Type) -> Any:
    """Stable JSON form: decimals as strings (money with two places), dates as ISO text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        if type_.kind == "money":
            return f"{_fen(value):f}"
        return _plain(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def display(value: Any, type_: Type) -> str:
    """For people: 1,234,567.89 for money, 12.5% for rates, quoted enum values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if type_.kind == "money":
            return f"{_fen(value):,f}"
        if type_.kind == "rate":
            return f"{_plain(value.scaleb(2))}%"
        return _plain(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _fen(value: Decimal) -> Decimal:
    """Money with at least two decimal places, and never a negative zero."""
    if value.as_tuple().exponent > -2:
        value = value.quantize(FEN)
    return value.copy_abs() if value.is_zero() else value


def _plain(value: Decimal) -> str:
    """Decimal without exponent and without trailing zeros after the point."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
