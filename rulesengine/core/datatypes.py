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
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from .i18n import N_, _

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


_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")  # a plain decimal: no leading zero
_SCIENTIFIC = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?[eE][-+]?[0-9]{1,7}")  # number only
_PERCENT = re.compile(r"(-?[0-9]+(\.[0-9]+)?)\s*%")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FEN = Decimal("0.01")
MAX_AMOUNT = Decimal(10) ** 18  # money and integers: below 10^18, exact in 34 digits
MAX_EXPONENT = 999_999  # numbers: the evaluator's decimal range (10^999999)
MAX_NUMBER_TEXT = 100  # characters of a number written as text

_HOW = {
    "money": N_("write the amount in yuan as a plain decimal, e.g. 1234.50"),
    "rate": N_('write a rate as a fraction (0.05) or a percentage ("5%")'),
    "integer": N_("write a whole number in digits, e.g. 12"),
    "number": N_("write a plain decimal number, e.g. 1.5"),
}


def coerce(value: Any, type_: Type) -> Any:
    """Turn a YAML/JSON value into a value of ``type_`` or raise :class:`ValueProblem`.

    Accepted forms: money as a number or a plain decimal string with at most two decimal
    places ("1234.50", "-0.00"; below 10^18 yuan); a rate as a fraction (0.05) or a
    percentage string ("5%"); an integer without a fractional part; a number as a plain
    decimal or in scientific notation ("1.5e+3"); booleans as true/false; enum values
    exactly as declared; dates as ISO text (2024-12-31). Refused, quoted or not, each with
    a hint: thousands separators (1,234.50), units (12.5万), leading zeros (010), base-60
    (1:30), hexadecimal (0x10), '_' separators (1_234.50), a sign '+' (+5), a bare point
    (.5, 5.), and scientific notation for money, rates and integers.
    """
    kind = type_.kind
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise ValueProblem(_("expected true or false, got {value}").format(value=_show(value)),
                           _boolean_hint(value))
    if kind == "enum":
        if isinstance(value, str) and value in type_.values:
            return value
        close = difflib.get_close_matches(str(value), type_.values, n=1, cutoff=0.3)
        hint = _("did you mean '{name}'?").format(name=close[0]) if close else None
        raise ValueProblem(_("{value} is not one of {allowed}").format(
                               value=_show(value), allowed=", ".join(type_.values)),
                           hint or _("use one of: {values}").format(values=", ".join(type_.values)))
    if kind == "text":
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise ValueProblem(_("expected a code or name as text, got {value}").format(value=_show(value)),
                           _("write the code or name in quotes, e.g. 'H46020001'"))
    if kind == "date":
        if isinstance(value, date):
            return value
        if not _ISO_DATE.fullmatch(str(value)):
            raise ValueProblem(_("expected a date like 2024-12-31, got {value}").format(value=_show(value)),
                               _("write the date as YYYY-MM-DD"))
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueProblem(_("{value} is not a calendar date").format(value=_show(value)),
                               _("write a day that exists in its month (February has 28 or 29 days)")
                               ) from None
    try:
        number = _number(value, kind)
    except InvalidOperation:  # an exponent beyond what Decimal can hold: 1e+99999999999999999999
        raise ValueProblem(_("{value} is beyond any number").format(value=_show(value)),
                           _("check the value's magnitude: it is beyond any amount, count or rate")
                           ) from None
    if not number.is_finite():
        raise ValueProblem(_("{value} is not a finite number").format(value=_show(value)), _how(kind))
    if kind in ("money", "integer") and number.copy_abs() >= MAX_AMOUNT:
        message = _("{value} is too large for an amount (at least 10^18)") if kind == "money" else \
            _("{value} is too large for a whole number (at least 10^18)")
        raise ValueProblem(message.format(value=_show(value)),
                           _("check the value and its unit: amounts are in yuan, below "
                             "1,000,000,000,000,000,000 (10^18)") if kind == "money" else
                           _("check the value: counts and years are far below 10^18"))
    if abs(number.adjusted()) > MAX_EXPONENT and not number.is_zero():
        raise ValueProblem(_("{value} is beyond 10^{limit}").format(value=_show(value), limit=MAX_EXPONENT),
                           _("check the value's magnitude; no policy figure is that large or small"))
    if kind == "integer":
        if number != number.to_integral_value():
            raise ValueProblem(_("expected a whole number, got {value}").format(value=_show(value)),
                               _("a count or a year has no fraction: round it, or declare the "
                                 "value as number"))
        return int(number)
    if kind == "money":
        if number.as_tuple().exponent < -2 and number != number.quantize(FEN):
            raise ValueProblem(_("{value} has more than two decimal places").format(value=_show(value)),
                               _("money is exact to the fen (0.01 yuan); round the amount in "
                                 "the source system"))
        return plain(number.quantize(FEN))
    return plain(number)


def plain(value: Decimal) -> Decimal:
    """A number as a person writes it: never a signed zero (``-0.00`` is ``0.00``) and no
    positive exponent below 34 digits (``1E+3`` is ``1000``, ``0E+2`` is ``0``). Decimal
    arithmetic gives both forms (``-1 * 0``, ``0 / 0.05``, ``0.5 / 0.0005``); no fact and no
    result keeps them, whichever back-end computes it."""
    exponent = value.as_tuple().exponent
    if value.is_zero():
        return Decimal(0) if isinstance(exponent, int) and exponent > 0 else value.copy_abs()
    if isinstance(exponent, int) and exponent > 0 and value.adjusted() < 34:
        return value.quantize(Decimal(1), context=_PLAIN)
    return value


_PLAIN = Context(prec=34)


def _how(kind: str) -> str | None:
    return _(_HOW[kind]) if kind in _HOW else None


def _boolean_hint(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return _("write {value} without quotes").format(value=value.strip().lower())
    if value in ("是", "对", "有", "yes", "Y", "y", 1):
        return _("write true (for 是) or false (for 否), without quotes")
    if value in ("否", "不", "错", "无", "no", "N", "n", 0):
        return _("write false (for 否) or true (for 是), without quotes")
    return _("write true or false, without quotes")


def _number(value: Any, kind: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueProblem(_("expected a number, got {value}").format(value=_show(value)), _how(kind))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # only Python callers can pass one; files never produce it
        raise ValueProblem(_("{value} is a binary float").format(value=repr(value)),
                           _("pass a Decimal or a decimal string: money must be exact"))
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_TEXT:
            raise ValueProblem(_("'{start}…' is {length:,} characters long, too long for a number").format(
                                   start=text[:20], length=len(text)),
                               _("check the value; {how}").format(how=_how(kind)))
        if _DECIMAL.fullmatch(text) or (kind == "number" and _SCIENTIFIC.fullmatch(text)):
            return Decimal(text)
        match = _PERCENT.fullmatch(text)
        if match and kind == "rate":
            return shift(Decimal(match.group(1)), -2)
        if match:
            raise ValueProblem(_("{value} is a percentage, but a plain number is expected").format(
                                   value=_show(value)),
                               _("an amount is written in yuan, e.g. 1234.50; percentages are "
                                 "rates (declare the value as rate if it is one)") if kind == "money"
                               else _("write it as a fraction, {fraction}, or declare the value as "
                                      "rate").format(fraction=_plain(shift(Decimal(match.group(1)), -2))))
        return _bad_number_text(text, kind)
    raise ValueProblem(_("expected a number, got {value}").format(value=_show(value)), _how(kind))


def _bad_number_text(text: str, kind: str = "number") -> Decimal:
    """Raise the most specific problem for a number written in a form that is refused."""
    how = _how(kind) or _how("number")
    sign = "-" if text.startswith("-") else ""
    body = text.lstrip("+-")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        raise ValueProblem(_("'{text}' has thousands separators").format(text=text),
                           _("write it without separators: {fixed}").format(fixed=text.replace(",", "")))
    if text.endswith(("万", "万元", "亿", "元")):
        raise ValueProblem(_("'{text}' has a unit").format(text=text),
                           _("write the amount in yuan as a plain number, e.g. 125000.00 for 12.5万"))
    if re.fullmatch(r"[-+]?0[xXoObB][0-9a-fA-F_]+", text):
        message = {"x": _("'{text}' is a hexadecimal number"), "o": _("'{text}' is an octal number"),
                   "b": _("'{text}' is a binary number")}[body[1].lower()]
        try:
            decimal_text = f"{int(text, 0)}"
        except ValueError:
            decimal_text = _("decimal digits")
        raise ValueProblem(message.format(text=text),
                           _("write it in decimal: {fixed}").format(fixed=decimal_text))
    if re.fullmatch(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?", text):
        raise ValueProblem(_("'{text}' is not a number (YAML 1.1 reads it as base 60: {value})").format(
                               text=text, value=_sexagesimal(text)), how)
    if re.fullmatch(r"-?0[0-9_]+(\.[0-9_]*)?", text):
        fixed = sign + (body.replace("_", "").lstrip("0") or "0")
        fixed = "0" + fixed if fixed.lstrip("-").startswith(".") else fixed
        if re.fullmatch(r"-?0[0-7]+", text):
            message = _("'{text}' has a leading zero (YAML 1.1 reads an unquoted {text} as the octal "
                        "number {value})").format(text=text, value=int(text, 8))
        else:
            message = _("'{text}' has a leading zero").format(text=text)
        raise ValueProblem(message,
                           _("write {fixed}; a code made of digits is declared as text").format(fixed=fixed))
    if text.startswith("+") and _DECIMAL.fullmatch(body):
        raise ValueProblem(_("'{text}' has a plus sign").format(text=text),
                           _("write it without the '+': {fixed}").format(fixed=body))
    if "_" in text and _DECIMAL.fullmatch(text.replace("_", "")):
        raise ValueProblem(_("'{text}' has '_' separators").format(text=text),
                           _("write it without them: {fixed}").format(fixed=text.replace("_", "")))
    if re.fullmatch(r"-?\.[0-9]+", text):
        raise ValueProblem(_("'{text}' has no digit before the point").format(text=text),
                           _("write {fixed}").format(fixed=f"{sign}0{body}"))
    if re.fullmatch(r"-?[0-9]+\.", text):
        raise ValueProblem(_("'{text}' has no digit after the point").format(text=text),
                           (_("write {fixed} or {other}") if kind == "money" else _("write {fixed}"))
                           .format(fixed=text[:-1], other=text + "00"))
    if re.fullmatch(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+", text):
        written = Decimal(text)  # the pattern is a valid Decimal literal
        out = _plain(written) if abs(written.adjusted()) <= 30 else None
        if kind == "number":
            raise ValueProblem(_("'{text}' is not a number in a form accepted").format(text=text),
                               _("write a plain decimal (1500) or scientific notation (1.5e+3): "
                                 "a digit before the point, no '+' before the number, and an "
                                 "exponent of at most {limit}").format(limit=MAX_EXPONENT))
        too_large = kind in ("money", "integer") and written.copy_abs() >= MAX_AMOUNT
        if too_large:
            hint = _("check the value: amounts are in yuan, below 10^18") if kind == "money" else \
                _("check the value: below 10^18")
        elif kind == "rate" and out is not None:
            hint = _("write the fraction {fraction}, or a percentage: {percent}%").format(
                fraction=out, percent=_plain(shift(written, 2)))
        elif out is not None:
            hint = _("write the digits out: {digits}").format(digits=out)
        else:
            hint = _("check the value's magnitude: it is beyond any amount, count or rate")
        raise ValueProblem(_("'{text}' is in scientific notation, which {kind} values do not "
                             "accept").format(text=text, kind=kind), hint)
    try:
        Decimal(text)
    except InvalidOperation:
        raise ValueProblem(_("'{text}' is not a number").format(text=text),
                           _("{how} (digits, not words)").format(how=how)
                           if re.search(r"[^\x00-\x7f]", text) else how) from None
    raise ValueProblem(_("'{text}' is not a plain decimal number").format(text=text), how)


def _sexagesimal(text: str) -> str:
    """The value YAML 1.1 gives a base-60 number such as 1:30 (90) or 1:30.5 (90.5)."""
    sign = -1 if text.startswith("-") else 1
    total = Decimal(0)
    for part in text.lstrip("+-").replace("_", "").split(":"):
        total = total * 60 + Decimal(part or "0")
    return _plain(sign * total)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return _("an empty value")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return _("a mapping") if isinstance(value, dict) else _("a list")
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
            return f"{_rounded(shift(value, 2), 4)}%"
        return _rounded(value, 8)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def shift(value: Decimal, places: int) -> Decimal:
    """``value`` × 10^places, exactly: 5 -> 0.05 for a percentage, whatever its length (the
    default context would round a 30-digit percentage to 28 digits, or overflow)."""
    return value.scaleb(places, context=_EXACT)


def _rounded(value: Decimal, places: int) -> str:
    """Exact when short; an unending quotient (1/3) is shown rounded, marked with ≈."""
    if value.as_tuple().exponent >= -places:
        return _plain(value)
    return "≈" + _plain(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP,
                                       context=_wide(value, places)))


def _fen(value: Decimal) -> Decimal:
    """Money with at least two decimal places, and never a negative zero."""
    if value.as_tuple().exponent > -2:
        value = value.quantize(FEN, context=_wide(value, 2))
    return value.copy_abs() if value.is_zero() else value


def _wide(value: Decimal, places: int) -> Context:
    """A context wide enough to write ``value`` with ``places`` decimals, however large it is
    (the default 28 digits would turn a 30-digit amount into InvalidOperation)."""
    return Context(prec=max(28, value.adjusted() + places + 2))


def _plain(value: Decimal) -> str:
    """Decimal without exponent and without trailing zeros after the point."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
