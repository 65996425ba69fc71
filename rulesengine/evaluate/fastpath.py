"""Compiled program -> columnar fast path: per-record rules over whole columns, exact to the fen.

:class:`FastProgram` takes a :class:`~rulesengine.evaluator.Program` (its graph, ruleset and
Decimal closures) and compiles every formula a second time, into numpy operations over
whole columns. Numbers are scaled integers: a money column is ``int64`` fen, a rate or a
number keeps the decimal places its values have, so ``+ - *``, comparisons, ``min``/``max``
and grouped ``sum`` are exact integer arithmetic. A quotient is kept as an exact fraction
(numerator and denominator columns) until a rule rounds it; rounding then divides with a
remainder and applies the rule's mode (``half_up``, ``half_even``, ``down``, ``up``,
``floor``, ``ceiling``), so the result equals the Decimal path's to the last place.

The Decimal path rounds an unending quotient to 34 digits and settles it to 28 before a rule
rounds it (:func:`rulesengine.evaluator._round`). Where that could make a difference (a
comparison or a rounding whose exact value lies within the Decimal path's error of the
boundary, e.g. a ratio of exactly 50%), the row is *unsure* and is recomputed with the
Decimal closures. Three levels of fall-back keep results identical to
:meth:`Program.evaluate <rulesengine.evaluator.Program.evaluate>`:

* a row: unsure rows of a rule are recomputed by the Decimal path;
* a rule: an operation the fast path does not do (sum of fractions, min of dates, ...), a
  value that could overflow 34 digits, or any run-time error (division by zero, missing
  table row, min of no records) sends the whole rule to the Decimal path, which then also
  reports the error exactly as it would have;
* a run: traces, missing facts and missing fields run :meth:`Program.evaluate` itself.

Integers that could overflow ``int64`` move to Python integers in object arrays (exact,
slower) before any fall-back is needed. numpy is an optional dependency (extra ``fast``):
nothing else in the package imports this module at import time.
"""

from __future__ import annotations

import decimal
import math
import operator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable

import numpy as np

from ..load import ast
from ..core.builtins import FUNCTIONS
from .compiler import as_decimal
from ..core.errors import (ArithmeticLimitError, EvaluationError, MissingFactError, NoValueInForceError,
                     RulesError, RulesWarning)
from ..core.i18n import _, context_of
from .evaluator import _CONTEXT, CheckResult, Evaluation, Program, RecordCheck, _round
from ..check.model import CLEARING_YEAR, Check, Input, Parameter, Rule, Table, aggregates_children

LIMIT = 2 ** 62  # int64 results must stay below this (headroom for one more addition)
DIGITS = 10 ** 34  # exact values beyond 34 digits are rounded by the Decimal path
SETTLED = 10 ** 28  # ... and beyond 28 digits changed by the settling before a rule rounds
U = 1e-33  # bound on the relative error of one 34-digit Decimal operation (true: 5e-34)


class Unsupported(Exception):
    """The fast path does not compute this rule (or run); the Decimal path does."""


# --- column values ------------------------------------------------------------------------------
class Fixed:
    """Exact decimals: ``ints / 10**scale`` (int64, or Python ints in an object array)."""

    __slots__ = ("ints", "scale", "bound", "places")

    def __init__(self, ints, scale: int, bound: int | None = None, places=None):
        if ints.dtype == object and len(ints) == 1 and abs(int(ints[0])) < LIMIT:
            ints = ints.astype(np.int64)  # a constant back in the fast lane
        self.ints, self.scale = ints, scale
        self.bound = _bound(ints) if bound is None else bound
        # the decimal places each value was written with, when they differ (facts only): the
        # Decimal path keeps them (0.5 and 0.50), and an unrounded product shows them
        self.places = places


class Ratio:
    """An unrounded quotient, ``num / den`` (den > 0), exact. ``err`` bounds how far the
    Decimal path's 34-digit value may be from it: None (not at all), a float (relative to the
    value, the same for every row: products and quotients) or a float array (absolute, per
    row: after a sum, where cancellation makes the relative error unbounded)."""

    __slots__ = ("num", "den", "err", "nbound", "dbound", "single")

    def __init__(self, num, den, err=None, nbound: int | None = None, dbound: int | None = None,
                 single: bool = False):
        if num.dtype == object and len(num) == 1 and abs(int(num[0])) < LIMIT:
            num = num.astype(np.int64)
        if den.dtype == object and len(den) == 1 and abs(int(den[0])) < LIMIT:
            den = den.astype(np.int64)
        self.num, self.den, self.err = num, den, err
        # single: the Decimal value is the exact value rounded once to 34 digits (one division
        # of exact operands), so where the exact value is a short decimal, it is that decimal
        self.single = single
        self.nbound = _bound(num) if nbound is None else nbound
        self.dbound = _bound(den) if dbound is None else dbound


class Flags:
    __slots__ = ("arr",)

    def __init__(self, arr):
        self.arr = arr


class Objects:
    """Enum values, codes (text) and dates: Python objects compared as they are."""

    __slots__ = ("arr",)

    def __init__(self, arr):
        self.arr = arr


def _bound(arr) -> int:
    if len(arr) == 0:
        return 0
    if arr.dtype == object:
        return int(max(abs(v) for v in arr))
    return int(np.max(np.abs(arr)))


def _obj(arr):
    return arr if arr.dtype == object else arr.astype(object)


def _lane(*arrays):
    """The arrays in one integer lane: all int64, or all Python ints when any is."""
    if any(a.dtype == object for a in arrays):
        return tuple(_obj(a) for a in arrays)
    return arrays


def _mul(a, b, bound: int):
    """a * b, in int64 when the product surely fits (``bound`` estimates it; the actual
    maxima decide when the estimate is too large), else in Python integers."""
    a, b = _lane(a, b)
    if bound >= LIMIT and a.dtype != object and _bound(a) * _bound(b) >= LIMIT:
        a, b = _obj(a), _obj(b)
    return a * b


def _add(a, b, bound: int, sign: int = 1):
    a, b = _lane(a, b)
    if bound >= LIMIT and a.dtype != object and _bound(a) + _bound(b) >= LIMIT:
        a, b = _obj(a), _obj(b)
    return a + b if sign > 0 else a - b


def _const(value: int):
    return np.array([value], dtype=np.int64 if abs(value) < LIMIT else object)


def _length(vec) -> int:
    if isinstance(vec, Fixed):
        return len(vec.ints)
    if isinstance(vec, Ratio):
        return max(len(vec.num), len(vec.den))
    return len(vec.arr)


def _scaled(vec: Fixed, scale: int):
    """The ints of ``vec`` at a larger ``scale``, and their bound."""
    k = scale - vec.scale
    if k == 0:
        return vec.ints, vec.bound
    factor = 10 ** k
    bound = vec.bound * factor
    return _mul(vec.ints, _const(factor), bound), bound


def _as_ratio(vec) -> Ratio:
    if isinstance(vec, Ratio):
        return vec
    den = 10 ** vec.scale
    if len(vec.ints) == 1:  # a constant: 200% is 2/1, not 200/100 (smaller products later)
        num = int(vec.ints[0])
        common = math.gcd(num, den) or 1
        num, den = num // common, den // common
        return Ratio(_const(num), _const(den), None, abs(num), den, True)
    return Ratio(vec.ints, _const(den), None, vec.bound, den, True)


def _floats(arr):
    try:
        return arr.astype(np.float64)
    except OverflowError:
        raise Unsupported("a value beyond the float range in an error bound") from None


def _magnitude(vec: Ratio):
    return np.abs(_floats(vec.num) / _floats(vec.den))


def _err(vec):
    return None if isinstance(vec, Fixed) else vec.err


def _huge(value: int) -> float:
    """An integer bound as a float (capped: only comparisons with 1 follow)."""
    return float(min(value, 10 ** 300))


def _relative(err) -> bool:
    return isinstance(err, float)


def _absolute(vec):
    """The error bound of ``vec`` per row (absolute), or None."""
    err = _err(vec)
    if err is None or not _relative(err):
        return err
    return err * _magnitude(vec)


def _err_sum(*errs):
    found = [e for e in errs if e is not None]
    if not found:
        return None
    total = found[0]
    for e in found[1:]:
        total = total + e
    return total


# --- conversions ---------------------------------------------------------------------------------
def decimal_parts(value: Decimal) -> tuple[int, int]:
    """(ints, scale) with value == ints / 10**scale and scale >= 0, exactly."""
    sign, digits, exponent = value.as_tuple()
    coefficient = int("".join(map(str, digits))) if digits else 0
    if sign:
        coefficient = -coefficient
    if exponent >= 0:
        return coefficient * 10 ** exponent, 0
    return coefficient, -exponent


def fixed_from_parts(ints: list[int], scales: list[int]) -> Fixed:
    """A Fixed column from per-value (ints, scale): brought to the largest scale."""
    scale = max(scales, default=0)
    out = [i * 10 ** (scale - s) if s != scale else i for i, s in zip(ints, scales)]
    bound = max((abs(v) for v in out), default=0)
    arr = np.array(out, dtype=np.int64 if bound < LIMIT else object)
    places = None
    if scales and min(scales) != scale:
        places = np.array(scales, dtype=np.int16)
    return Fixed(arr, scale, bound, places)


def vector_from_values(values: list, kind: str):
    """A column from typed Python values (Decimal/int, bool, str, date)."""
    if kind in ("money", "rate", "number", "integer"):
        parts = [decimal_parts(as_decimal(v)) for v in values]
        return fixed_from_parts([p[0] for p in parts], [p[1] for p in parts])
    if kind == "boolean":
        return Flags(np.array(values, dtype=bool))
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return Objects(arr)


def scalar_vector(value: Any):
    """A one-row column from a single typed value."""
    value = as_decimal(value)
    if isinstance(value, bool):
        return Flags(np.array([value]))
    if isinstance(value, Decimal):
        ints, scale = decimal_parts(value)
        return Fixed(_const(ints), scale, abs(ints))
    arr = np.empty(1, dtype=object)
    arr[0] = value
    return Objects(arr)


def to_decimal(ints: int, scale: int) -> Decimal:
    return Decimal(f"{int(ints)}E-{scale}") if scale else Decimal(int(ints))


def python_values(vec, n: int | None = None) -> list:
    """The column as the Decimal path holds it (Ratio columns excepted: see DecimalView)."""
    length = _length(vec)
    if isinstance(vec, Fixed) and vec.places is not None:
        out = [to_decimal(v // 10 ** (vec.scale - p), p) for v, p in zip(vec.ints.tolist(), vec.places.tolist())]
    elif isinstance(vec, Fixed):
        out = [to_decimal(v, vec.scale) for v in vec.ints.tolist()]
    elif isinstance(vec, Flags):
        out = [bool(v) for v in vec.arr.tolist()]
    elif isinstance(vec, Objects):
        out = list(vec.arr)
    else:
        raise TypeError("a Ratio column has no exact Python form")
    if n is not None and length == 1 and n != 1:
        out = out * n
    return out


def _take(vec, rows):
    if isinstance(vec, Fixed):
        if len(vec.ints) == 1:
            return vec
        return Fixed(vec.ints[rows], vec.scale, vec.bound,
                     None if vec.places is None else vec.places[rows])
    if isinstance(vec, Ratio):
        pick = (lambda a: a[rows] if a is not None and len(a) > 1 else a)
        err = vec.err if vec.err is None or _relative(vec.err) else pick(vec.err)
        return Ratio(pick(vec.num), pick(vec.den), err, vec.nbound, vec.dbound, vec.single)
    if len(vec.arr) == 1:
        return vec
    return type(vec)(vec.arr[rows])


def _broadcast(vec, n: int):
    if _length(vec) == n:
        return vec
    if isinstance(vec, Fixed):
        return Fixed(np.repeat(vec.ints, n), vec.scale, vec.bound)
    if isinstance(vec, Ratio):
        err = vec.err if vec.err is None or _relative(vec.err) else np.broadcast_to(vec.err, (n,)).copy()
        return Ratio(np.broadcast_to(vec.num, (n,)).copy(), np.broadcast_to(vec.den, (n,)).copy(),
                     err, vec.nbound, vec.dbound, vec.single)
    return type(vec)(np.repeat(vec.arr, n))


# --- arithmetic ---------------------------------------------------------------------------------
def add(a, b, sign: int = 1):
    if isinstance(a, Fixed) and isinstance(b, Fixed):
        scale = max(a.scale, b.scale)
        (x, bx), (y, by) = _scaled(a, scale), _scaled(b, scale)
        if bx + by >= DIGITS:
            raise Unsupported("a sum beyond 34 digits")
        return Fixed(_add(x, y, bx + by, sign), scale, bx + by)
    a, b = _as_ratio(a), _as_ratio(b)
    if a.den is b.den or (len(a.den) == 1 and len(b.den) == 1 and int(a.den[0]) == int(b.den[0])):
        num = _add(a.num, b.num, a.nbound + b.nbound, sign)
        den, nbound, dbound = a.den, a.nbound + b.nbound, a.dbound
    else:
        left, right = a.nbound * b.dbound, b.nbound * a.dbound
        num = _add(_mul(a.num, b.den, left), _mul(b.num, a.den, right), left + right, sign)
        den, nbound, dbound = _mul(a.den, b.den, a.dbound * b.dbound), left + right, a.dbound * b.dbound
    result = _reduced(Ratio(num, den, None, nbound, dbound))
    errs = _err_sum(_absolute(a), _absolute(b))
    result.err = (errs if errs is not None else 0) + U * _magnitude(result)
    return result


def _reduced(r: Ratio) -> Ratio:
    """Divide numerator and denominator by their gcd when they grow large (int64 only)."""
    if r.nbound < 2 ** 61 and r.dbound < 2 ** 61 or r.num.dtype == object or r.den.dtype == object:
        return r
    if max(_bound(r.num), _bound(r.den)) < 2 ** 61:
        return r
    num, den = np.broadcast_arrays(r.num, r.den)
    g = np.gcd(num, den)
    g[g == 0] = 1
    num, den = num // g, den // g
    return Ratio(num, den, r.err, single=r.single)


def mul(a, b):
    if isinstance(a, Fixed) and isinstance(b, Fixed):
        bound = a.bound * b.bound
        if bound >= DIGITS:
            raise Unsupported("a product beyond 34 digits")
        return Fixed(_mul(a.ints, b.ints, bound), a.scale + b.scale, bound)
    ea, eb = _err(a), _err(b)
    a, b = _as_ratio(a), _as_ratio(b)
    result = _reduced(Ratio(_mul(a.num, b.num, a.nbound * b.nbound), _mul(a.den, b.den, a.dbound * b.dbound),
                            None, a.nbound * b.nbound, a.dbound * b.dbound))
    if (ea is None or _relative(ea)) and (eb is None or _relative(eb)):
        ra, rb = ea or 0.0, eb or 0.0
        result.err = ra + rb + ra * rb + U  # (1 + ra)(1 + rb)(1 + U) - 1, rounded up
        return result
    ea, eb = _absolute(a) if ea is not None else None, _absolute(b) if eb is not None else None
    err = U * _magnitude(result)
    if ea is not None:
        err = err + _magnitude(b) * ea
    if eb is not None:
        err = err + _magnitude(a) * eb
    if ea is not None and eb is not None:
        err = err + ea * eb
    result.err = err
    return result


def divide(a, b, active) -> Ratio:
    """a / b exactly; a zero divisor in an active row is an error for the Decimal path to report."""
    ea, eb = _err(a), _err(b)
    a, b = _as_ratio(a), _as_ratio(b)
    if len(a.den) == 1 and len(b.den) == 1:
        # (na / k) / (nb / m) = (na * m) / (k * nb): common factors of k and m cancel
        k, m = int(a.den[0]), int(b.den[0])
        common = math.gcd(k, m)
        if common > 1:
            a = Ratio(a.num, _const(k // common), a.err, a.nbound, k // common, a.single)
            b = Ratio(b.num, _const(m // common), b.err, b.nbound, m // common, b.single)
    zero = b.num == 0
    if zero.any():
        if (zero if active is None else zero & active).any():
            raise Unsupported("division by zero")
        b = Ratio(np.where(zero, 1, b.num), b.den, b.err, max(b.nbound, 1), b.dbound)
    negative = b.num < 0
    num = _mul(a.num, b.den, a.nbound * b.dbound)
    den = _mul(a.den, b.num, a.dbound * b.nbound)
    if negative.any():
        num, den = np.where(negative, -num, num), np.where(negative, -den, den)
    result = _reduced(Ratio(num, den, None, a.nbound * b.dbound, a.dbound * b.nbound,
                            ea is None and eb is None))
    if (ea is None or _relative(ea)) and (eb is None or _relative(eb)):
        ra, rb = ea or 0.0, eb or 0.0
        if rb >= 0.5:
            raise Unsupported("a divisor too uncertain to bound the quotient")
        result.err = (ra + 2 * rb) * (1 + 4 * rb) + U  # (1 + ra) / (1 - rb) - 1, rounded up
        return result
    ea, eb = _absolute(a) if ea is not None else None, _absolute(b) if eb is not None else None
    size = _magnitude(result)
    err = U * size
    divisor = _magnitude(b)
    spare = divisor - (eb if eb is not None else 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = ((ea if ea is not None else 0) + size * (eb if eb is not None else 0)) / spare
    err = err + np.where(spare > 0, extra, np.inf)
    result.err = err
    return result


def negate(a):
    if isinstance(a, Fixed):
        return Fixed(-a.ints, a.scale, a.bound)
    return Ratio(-a.num, a.den, a.err, a.nbound, a.dbound, a.single)


def absolute(a):
    if isinstance(a, Fixed):
        return Fixed(np.abs(a.ints), a.scale, a.bound)
    return Ratio(np.abs(a.num), a.den, a.err, a.nbound, a.dbound, a.single)


_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
            "==": operator.eq, "!=": operator.ne}


def compare(op: str, a, b, unsure: list | None = None):
    """``a op b`` as a bool array; rows the Decimal path could decide otherwise go to ``unsure``."""
    fn = _COMPARE[op]
    if isinstance(a, (Flags, Objects)):
        return fn(a.arr, b.arr)
    if isinstance(a, Fixed) and isinstance(b, Fixed):
        scale = max(a.scale, b.scale)
        (x, _), (y, _) = _scaled(a, scale), _scaled(b, scale)
        x, y = _lane(x, y)
        return fn(x, y)
    ea, eb = _err(a), _err(b)
    a, b = _as_ratio(a), _as_ratio(b)
    left, right = a.nbound * b.dbound, b.nbound * a.dbound
    x, y = _mul(a.num, b.den, left), _mul(b.num, a.den, right)
    x, y = _lane(x, y)
    result = fn(x, y)
    if unsure is not None and (ea is not None or eb is not None):
        # a nonzero difference is at least 1 / (den_a × den_b): when twice the error is below
        # that everywhere, only equal values can be in doubt
        if (ea is None or _relative(ea)) and (eb is None or _relative(eb)):
            small = 2 * ((ea or 0.0) * _huge(a.nbound * b.dbound) + (eb or 0.0) * _huge(b.nbound * a.dbound)) < 1
            spread = None
        else:
            spread = _err_sum(_absolute(a) if ea is not None else None,
                              _absolute(b) if eb is not None else None)
            scale = _floats(_mul(a.den, b.den, a.dbound * b.dbound))
            small = float(np.max(spread * scale, initial=0.0)) * 2 < 1
        if small:
            if not (a.single and b.single):  # equal values that were rounded differently
                unsure.append((x == y) if spread is None else (x == y) & (spread > 0))
        else:
            if spread is None:
                spread = _err_sum(_absolute(a) if ea is not None else None,
                                  _absolute(b) if eb is not None else None)
                scale = _floats(_mul(a.den, b.den, a.dbound * b.dbound))
            diff = _add(x, y, left + right, -1)
            gap = np.abs(_floats(diff)) / scale
            risky = (spread > 0) & (gap <= 2 * spread)
            if a.single and b.single:  # equal exact values round to equal 34-digit values
                risky &= diff != 0
            unsure.append(risky)
    return np.asarray(result, dtype=bool)


def select(condition, a, b):
    """``if condition then a else b`` row by row."""
    if isinstance(a, Flags):
        return Flags(np.where(condition, a.arr, b.arr))
    if isinstance(a, Objects):
        return Objects(np.where(condition, a.arr, b.arr))
    if isinstance(a, Fixed) and isinstance(b, Fixed):
        scale = max(a.scale, b.scale)
        (x, bx), (y, by) = _scaled(a, scale), _scaled(b, scale)
        x, y = _lane(x, y)
        return Fixed(np.where(condition, x, y), scale, max(bx, by))
    ea, eb = _err(a), _err(b)
    a, b = _as_ratio(a), _as_ratio(b)
    num = np.where(condition, *_lane(a.num, b.num))
    den = np.where(condition, *_lane(a.den, b.den))
    err = None
    if (ea is None or _relative(ea)) and (eb is None or _relative(eb)):
        if ea is not None or eb is not None:
            err = max(ea or 0.0, eb or 0.0)
    else:
        ea, eb = _absolute(a) if ea is not None else None, _absolute(b) if eb is not None else None
        err = np.where(condition, ea if ea is not None else 0.0, eb if eb is not None else 0.0)
    return Ratio(num, den, err, max(a.nbound, b.nbound), max(a.dbound, b.dbound), a.single and b.single)


def extreme(a, b, smaller: bool):
    """Python's min(a, b) / max(a, b): b replaces a only when strictly smaller / larger."""
    pick = compare("<" if smaller else ">", b, a)
    result = select(pick, b, a)
    if isinstance(result, Ratio):
        ea, eb = _err(a), _err(b)
        if (ea is None or _relative(ea)) and (eb is None or _relative(eb)):
            # a near-tie may pick the other value, which is within both errors of this one
            result.err = None if ea is None and eb is None else 2.01 * ((ea or 0.0) + (eb or 0.0))
        else:
            spread = _err_sum(_absolute(a) if ea is not None else None,
                              _absolute(b) if eb is not None else None)
            result.err = 2 * spread
    return result


_MODES = ("half_up", "half_even", "down", "up", "floor", "ceiling")


def _round_quotient(num, den, mode: str, nbound: int | None = None, dbound: int | None = None):
    """Round num / den (den > 0) to an integer in ``mode``; also return the remainder."""
    num, den = _lane(num, den)
    q, r = _divmod(num, den, nbound, dbound)
    return _step(q, r, den, num < 0, mode), r


def _divmod(num, den, nbound: int | None = None, dbound: int | None = None):
    """Floor quotient and remainder (den > 0). Below 2^52 a float division gives the quotient
    to within one, and one integer correction makes it exact (faster than integer division)."""
    num, den = _lane(num, den)
    if num.dtype != object and nbound is not None and dbound is not None and max(nbound, dbound) < 2 ** 52:
        q = np.floor(num / den).astype(np.int64)
        r = num - q * den
        below, above = r < 0, r >= den
        if below.any() or above.any():
            q = q - below + above
            r = r + den * below - den * above
        return q, r
    q = num // den
    return q, num - q * den  # faster than np.divmod for int64


def _step(q, r, den, negative, mode: str):
    """Floor quotient ``q`` (remainder ``r`` of ``den``) rounded in ``mode``."""
    if mode == "floor":
        return q
    if mode == "ceiling":
        return q + (r > 0)
    if mode == "down":
        return q + ((r > 0) & negative)
    if mode == "up":
        return q + ((r > 0) & ~negative)
    twice = 2 * r
    if mode == "half_up":
        return q + ((twice > den) | ((twice == den) & ~negative))
    return q + ((twice > den) | ((twice == den) & (q % 2 == 1)))


def round_to(vec, places: int, mode: str, *, settle: bool, unsure: list | None):
    """Round to ``places`` decimals. ``settle``: as a rule's rounding (28 digits first),
    else as ``round()`` (quantize the 34-digit value directly)."""
    if places < 0:
        raise Unsupported("rounding to tens or more")
    if isinstance(vec, Fixed):
        if vec.bound >= SETTLED:
            raise Unsupported("a value of more than 28 digits")
        if vec.scale <= places:
            ints, bound = _scaled(vec, places)
            return Fixed(ints, places, bound)
        factor = 10 ** (vec.scale - places)
        q, _ = _round_quotient(vec.ints, _const(factor), mode, vec.bound, factor)
        return Fixed(q, places, vec.bound // factor + 1)
    factor = 10 ** places
    num, den = _lane(vec.num, vec.den)
    if len(den) == 1 and len(num) > 1:
        den = np.broadcast_to(den, num.shape)
    if len(num) == 1 and len(den) > 1:
        num = np.broadcast_to(num, den.shape)
    # X * 10^places = q0 * 10^places + (r0 * 10^places) / den: no product larger than den * 10^places
    q0, r0 = _divmod(num, den, vec.nbound, vec.dbound)
    q1, r = _divmod(_mul(r0, _const(factor), vec.dbound * factor), den, vec.dbound * factor, vec.dbound)
    q = _add(_mul(q0, _const(factor), (vec.nbound + 1) * factor), q1, (vec.nbound + 2) * factor)
    negative = num < 0
    q = _step(q, r, den, negative, mode)
    if unsure is not None and vec.err is not None:
        dfloat = _floats(den)
        # off a boundary the gap is at least 1 / (2 den) (units of the last place): when the
        # error and the settling stay below it everywhere, only rows on a boundary need a look
        if _relative(vec.err):
            worst = 4 * vec.err * _huge(vec.nbound * factor)  # 4 den × rel |num / den| factor
        else:
            worst = float(np.max(4 * dfloat * vec.err * factor, initial=0.0))
        if worst + 4e-27 * _huge(vec.nbound * factor) < 1:
            on = (2 * r == den) if mode in ("half_up", "half_even") else (r == 0)
            if vec.single:
                on &= np.abs(_floats(num) / dfloat) * factor >= 1e26
            elif on.any():
                size = np.abs(_floats(num) / dfloat) * factor
                spread = _absolute(vec) * factor
                on &= ((spread > 0) & (spread >= size * 2.5e-29)) | (size >= 1e26)
            unsure.append(np.asarray(on, dtype=bool))
            return Fixed(q, places)
        if mode in ("half_up", "half_even"):
            gap_int = np.abs(2 * r - den)
            gap = _floats(gap_int) / (2 * dfloat)
        else:
            gap_int = np.minimum(r, den - r)
            gap = _floats(gap_int) / dfloat
        spread = _absolute(vec) * factor
        size = np.abs(_floats(num) / dfloat) * factor
        on = gap_int == 0
        if settle:
            # exactly on a boundary: settling to 28 digits brings the Decimal value back onto
            # it unless its error is larger than that (a boundary of more than 28 digits is
            # itself moved by the settling)
            risky = np.where(on, ((spread > 0) & (spread >= size * 2.5e-29)) | (size >= 1e26),
                             gap <= 2 * (spread + size * 1e-27))
        else:
            risky = (spread > 0) & (gap <= 2 * spread)
        if vec.single:  # a short boundary: one rounding to 34 digits keeps it
            risky &= ~(on & (size < 1e26))
        unsure.append(np.asarray(risky, dtype=bool))
    return Fixed(q, places)


# --- collections ---------------------------------------------------------------------------------
@dataclass
class Collection:
    """The records of one entity as columns: keys, typed field columns, parent rows."""

    entity: str
    keys: Any  # object array
    fields: dict[str, Any]
    parent_rows: Any = None  # int64 array (child entities)
    _groups: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)


class Groups:
    """Rows of a child collection grouped by parent row (None: one group of all rows)."""

    def __init__(self, parent_rows, n_groups: int):
        self.p, self.n = parent_rows, n_groups
        self._order = None

    @property
    def order(self):
        if self._order is None:
            self._order = np.argsort(self.p, kind="stable")
        return self._order

    def count(self, include, n_rows: int):
        if self.p is None:
            return np.array([int(include.sum()) if include is not None else n_rows], dtype=np.int64)
        p = self.p if include is None else self.p[include]
        return np.bincount(p, minlength=self.n).astype(np.int64)

    def sum(self, ints, bound: int, include):
        n_rows = len(ints)
        if include is not None:
            ints = np.where(include, ints, 0)
        total_bound = bound * max(n_rows, 1)
        if total_bound >= DIGITS:
            raise Unsupported("a sum that could exceed 34 digits")
        if self.p is None:
            if ints.dtype == object or total_bound >= LIMIT:
                return np.array([sum(_obj(ints).tolist())], dtype=object)
            return np.array([int(ints.sum())], dtype=np.int64)
        if ints.dtype != object and total_bound < 2 ** 53:
            sums = np.bincount(self.p, weights=ints.astype(np.float64), minlength=self.n)
            return np.rint(sums).astype(np.int64)
        if ints.dtype != object and total_bound >= LIMIT:
            ints = _obj(ints)
        return self._reduce(np.add, ints, None, 0)[0]

    def _reduce(self, ufunc, values, include, empty_value):
        """ufunc.reduceat per group over the included rows; (result, empty groups)."""
        order = self.order if include is None else self.order[include[self.order]]
        counts = np.bincount(self.p[order], minlength=self.n)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        nonempty = counts > 0
        result = np.full(self.n, empty_value, dtype=values.dtype)
        if order.size:
            result[nonempty] = ufunc.reduceat(values[order], starts[nonempty])
        return result, ~nonempty

    def extreme(self, ints, include, smaller: bool):
        ufunc = np.minimum if smaller else np.maximum
        if self.p is None:
            chosen = ints if include is None else ints[include]
            if chosen.size == 0:
                return np.zeros(1, dtype=ints.dtype), np.array([True])
            return np.array([ufunc.reduce(chosen)], dtype=ints.dtype), np.array([False])
        return self._reduce(ufunc, ints, include, 0)

    def flags(self, arr, include, every: bool):
        hits = arr if include is None else arr & include
        if self.p is None:
            n_true = int(hits.sum())
            n_all = len(arr) if include is None else int(include.sum())
            return np.array([n_true == n_all if every else n_true > 0])
        n_true = np.bincount(self.p[hits], minlength=self.n)
        if not every:
            return n_true > 0
        return n_true == self.count(include, len(arr))

    def distinct(self, codes, include):
        if include is not None:
            codes = codes[include]
        if self.p is None:
            return np.array([len(np.unique(codes))], dtype=np.int64)
        p = self.p if include is None else self.p[include]
        width = int(codes.max()) + 1 if codes.size else 1
        pairs = np.unique(p.astype(np.int64) * width + codes)
        return np.bincount(pairs // width, minlength=self.n).astype(np.int64)


def _codes(vec):
    """Integer codes with equal codes for equal values (numeric equality for numbers)."""
    if isinstance(vec, Fixed):
        values = vec.ints
    elif isinstance(vec, Flags):
        return vec.arr.astype(np.int64)
    elif isinstance(vec, Objects):
        values = vec.arr
    else:
        raise Unsupported("distinct() of unrounded quotients")
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        return np.unique(values, return_inverse=True)[1].astype(np.int64).ravel()
    except TypeError:
        raise Unsupported("distinct() of values that do not sort") from None


# --- compilation ---------------------------------------------------------------------------------
class _Env:
    """What a compiled formula reads: values, collections, its scope's row count."""

    def __init__(self, values: dict, tables: dict, n: int, up: dict, groups: dict):
        self.values, self.tables, self.n, self.up, self.groups = values, tables, n, up, groups
        self.unsure: list = []

    def scoped(self, n: int) -> "_Env":
        return _Env(self.values, self.tables, n, self.up, self.groups)

    def unsure_rows(self):
        if not self.unsure:
            return None
        rows = np.zeros(self.n, dtype=bool)
        for mask in self.unsure:
            rows |= np.broadcast_to(mask, (self.n,)) if len(mask) == 1 else mask
        return rows


Vector = Callable[[_Env, Any], Any]


class _Compiler:
    def __init__(self, ruleset, scope: str | None):
        self.ruleset, self.scope = ruleset, scope

    def build(self, node: ast.Node) -> Vector:
        return getattr(self, "_" + type(node).__name__.lower())(node)

    def _number(self, node):
        vec = scalar_vector(node.value)
        return lambda env, mask: vec

    _percent = _dateliteral = _string = _boolean = _number

    def _name(self, node: ast.Name):
        decl = self.ruleset.resolve(node.id, self.scope)
        key = decl.id
        if decl.entity is None or decl.entity == self.scope:
            return lambda env, mask: env.values[key]
        chain, current = [], self.scope
        entities = self.ruleset.entities
        while current != decl.entity:
            chain.append(entities[current].collection)
            current = entities[current].parent
        chain = tuple(chain)

        def ancestor(env, mask):
            rows = env.up.get(chain)
            if rows is None:
                rows = env.tables[chain[0]].parent_rows
                for collection in chain[1:]:
                    rows = env.tables[collection].parent_rows[rows]
                env.up[chain] = rows
            return _take(env.values[key], rows)
        return ancestor

    def _neg(self, node):
        inner = self.build(node.operand)
        return lambda env, mask: negate(inner(env, mask))

    def _not(self, node):
        inner = self.build(node.operand)
        return lambda env, mask: Flags(~inner(env, mask).arr)

    def _binop(self, node: ast.BinOp):
        left, right = self.build(node.left), self.build(node.right)
        if node.op == "+":
            return lambda env, mask: add(left(env, mask), right(env, mask))
        if node.op == "-":
            return lambda env, mask: add(left(env, mask), right(env, mask), -1)
        if node.op == "*":
            return lambda env, mask: mul(left(env, mask), right(env, mask))
        return lambda env, mask: divide(left(env, mask), right(env, mask), mask)

    def _compare(self, node: ast.Compare):
        left, right, op = self.build(node.left), self.build(node.right), node.op
        return lambda env, mask: Flags(compare(op, left(env, mask), right(env, mask), env.unsure))

    def _boolop(self, node: ast.BoolOp):
        left, right, both = self.build(node.left), self.build(node.right), node.op == "and"

        def logic(env, mask):
            first = np.broadcast_to(left(env, mask).arr, (env.n,))
            # the right side counts only where Python's and/or would evaluate it
            needed = first if both else ~first
            second = right(env, needed if mask is None else (mask & needed)).arr
            return Flags(first & second if both else first | second)
        return logic

    def _ifelse(self, node: ast.IfElse):
        condition, then, otherwise = (self.build(node.condition), self.build(node.then),
                                      self.build(node.otherwise))

        def choose(env, mask):
            taken = condition(env, mask).arr
            if len(taken) == 1:  # one value for all rows: only one branch runs, as in Python
                return then(env, mask) if taken[0] else otherwise(env, mask)
            yes = taken if mask is None else taken & mask
            no = ~taken if mask is None else ~taken & mask
            return select(taken, then(env, yes), otherwise(env, no))
        return choose

    def _call(self, node: ast.Call):
        args = [self.build(arg) for arg in node.args]
        name = node.function
        if name in ("min", "max"):
            def fold(env, mask):
                result = args[0](env, mask)
                for arg in args[1:]:
                    result = extreme(result, arg(env, mask), name == "min")
                return result
            return fold
        if name == "abs":
            return lambda env, mask: absolute(args[0](env, mask))
        if name == "clamp":
            return lambda env, mask: extreme(extreme(args[0](env, mask), args[1](env, mask), False),
                                             args[2](env, mask), True)
        if name == "round":
            def round_call(env, mask):
                places = args[1](env, mask)
                if not isinstance(places, Fixed) or len(places.ints) != 1:
                    raise Unsupported("round() to places that vary by record")
                count = to_decimal(places.ints[0], places.scale)
                if count != count.to_integral_value():
                    raise Unsupported("round() to a fractional number of places")
                return round_to(args[0](env, mask), int(count), "half_up", settle=False,
                                unsure=env.unsure)
            return round_call
        impl = FUNCTIONS[name].impl

        def per_value(env, mask):  # date functions: Python, once per distinct argument tuple
            given = [arg(env, mask) for arg in args]
            n = max(_length(g) for g in given)
            combined = np.zeros(n, dtype=np.int64)
            for g in given:
                if _length(g) == 1:
                    continue
                values = g.ints if isinstance(g, Fixed) else g.arr
                try:
                    unique, inverse = np.unique(values, return_inverse=True)
                except TypeError:
                    raise Unsupported("function arguments that do not sort") from None
                combined = combined * len(unique) + inverse.ravel()
            codes, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
            picked = [python_values(_take(g, first)) if _length(g) > 1 else python_values(g) * len(first)
                      for g in given]
            active = np.ones(n, dtype=bool) if mask is None else np.broadcast_to(mask, (n,))
            out = []
            for index, values in enumerate(zip(*picked)):
                try:
                    out.append(impl(*values))
                except (ValueError, OverflowError):
                    if active[inverse.ravel() == index].any():
                        raise Unsupported("a date function failed") from None
                    out.append(None)
            inverse = inverse.ravel()
            if out and all(isinstance(v, date) or v is None for v in out):
                arr = np.empty(len(out), dtype=object)
                arr[:] = out
                return Objects(arr[inverse])
            vec = vector_from_values([v if v is not None else Decimal(0) for v in out], "number")
            return _take(vec, inverse) if len(out) > 1 else _broadcast(vec, n)
        return per_value

    def _lookup(self, node: ast.Lookup):
        table = self.ruleset.declarations[node.table]
        rows = {key: as_decimal(value) for key, value in table.rows.items()}
        key_of = self.build(node.keys[0])

        def look_up(env, mask):
            keys = key_of(env, mask)
            if not isinstance(keys, (Objects, Flags)):
                raise Unsupported("a table keyed by numbers")
            try:
                unique, inverse = np.unique(keys.arr, return_inverse=True)
            except TypeError:
                raise Unsupported("table keys that do not sort") from None
            found = []
            active = None if mask is None else np.broadcast_to(mask, inverse.shape)
            for index, key in enumerate(unique.tolist()):
                if key not in rows:
                    if active is None or active[inverse == index].any():
                        raise Unsupported("a key with no table row")
                    found.append(None)
                else:
                    found.append(rows[key])
            filler = next((v for v in found if v is not None), Decimal(0))
            found = [filler if v is None else v for v in found]
            kinds = {type(v) for v in found}
            if kinds <= {Decimal}:
                vec = vector_from_values(found, "number")
            elif kinds <= {bool}:
                vec = Flags(np.array(found, dtype=bool))
            else:
                vec = vector_from_values(found, "text")
            return _take(vec, inverse.ravel()) if len(found) > 1 else _broadcast(vec, len(inverse))
        return look_up

    def _aggregate(self, node: ast.Aggregate):
        entity = self.ruleset.collections[node.collection]
        collection = entity.collection
        own = aggregates_children(self.ruleset.entities, self.scope, entity.id)
        where = _Compiler(self.ruleset, entity.id).build(node.where) if node.where else None
        column = f"{entity.id}.{node.field}" if node.field else None
        function = node.function

        def aggregate(env, mask):
            child = env.tables[collection]
            groups = env.groups.get((collection, own))
            if groups is None:
                groups = Groups(child.parent_rows if own else None, env.n if own else 1)
                env.groups[(collection, own)] = groups
            active = None
            if own and mask is not None:
                active = mask[child.parent_rows] if len(mask) > 1 else (
                    None if mask[0] else np.zeros(len(child), dtype=bool))
            include = active
            if where is not None:
                inner = env.scoped(len(child))
                chosen = where(inner, active).arr
                chosen = np.broadcast_to(chosen, (len(child),))
                include = chosen if active is None else chosen & active
                rows = inner.unsure_rows()
                if rows is not None:
                    if own:
                        env.unsure.append(np.bincount(child.parent_rows[rows], minlength=env.n) > 0)
                    else:
                        env.unsure.append(np.array([rows.any()]))
            if function == "count":
                return Fixed(groups.count(include, len(child)), 0)
            vec = env.values[column]
            if function == "sum":
                if not isinstance(vec, Fixed):
                    raise Unsupported("sum() of unrounded quotients")
                vec = _broadcast(vec, len(child))
                return Fixed(groups.sum(vec.ints, vec.bound, include), vec.scale)
            if function in ("min", "max"):
                if not isinstance(vec, Fixed):
                    raise Unsupported(f"{function}() of values other than exact numbers")
                vec = _broadcast(vec, len(child))
                result, empty = groups.extreme(vec.ints, include, function == "min")
                if empty.any() and (mask is None or (np.broadcast_to(mask, empty.shape) & empty).any()):
                    raise Unsupported(f"{function}() over no records")
                return Fixed(result, vec.scale, vec.bound)
            if function in ("any", "all"):
                vec = _broadcast(vec, len(child))
                return Flags(groups.flags(vec.arr, include, function == "all"))
            vec = _broadcast(vec, len(child))
            return Fixed(groups.distinct(_codes(vec), include), 0)
        return aggregate


# --- the Decimal path as a fall-back -------------------------------------------------------------
class _RecordsView:
    """What the Decimal closures read of a collection (len, keys, parent_rows, children)."""

    def __init__(self, table: Collection, tables: dict, child_collections: list[str]):
        self.table, self.tables, self._child_collections = table, tables, child_collections
        self.keys = table.keys
        self.parent_rows = table.parent_rows
        self._children = None

    def __len__(self) -> int:
        return len(self.table)

    @property
    def children(self) -> dict:
        if self._children is None:
            self._children = {}
            for name in self._child_collections:
                child = self.tables[name]
                lists: list[list[int]] = [[] for _ in range(len(self.table))]
                for row, parent in enumerate(child.parent_rows.tolist()):
                    lists[parent].append(row)
                self._children[name] = lists
        return self._children


class _Column:
    """One per-record value column as the Decimal path holds it, converted on demand."""

    def __init__(self, view: "DecimalView", key: str):
        self.view, self.key, self.cache = view, key, {}

    def __getitem__(self, row: int):
        if row in self.cache:
            return self.cache[row]
        value = self.view.value_at(self.key, row)
        self.cache[row] = value
        return value

    def __len__(self) -> int:
        return self.view.length(self.key)


class DecimalView:
    """``values`` for the Decimal closures, backed by the fast columns: exact values are
    converted, unrounded quotients recomputed by their own Decimal formula (as the Decimal
    path computed them), so a fall-back row sees exactly what the Decimal path would."""

    def __init__(self, fast: "FastProgram", values: dict, tables: dict, row: int | None = None):
        self.fast, self.values, self.tables, self.row = fast, values, tables, row
        self._columns: dict[str, _Column] = {}
        self._scalars: dict[str, Any] = {}
        self._records: dict[str, _RecordsView] = {}

    def __getitem__(self, key: str):
        ruleset = self.fast.ruleset
        if key in ruleset.collections:
            if key not in self._records:
                entity = ruleset.collections[key]
                children = [e.collection for e in ruleset.entities.values() if e.parent == entity.id]
                self._records[key] = _RecordsView(self.tables[key], self.tables, children)
            return self._records[key]
        decl = ruleset.declarations[key]
        if decl.entity is not None:
            if key not in self._columns:
                self._columns[key] = _Column(self, key)
            return self._columns[key]
        if key not in self._scalars:
            vec = self.values[key]
            row = self.row if self.row is not None and _length(vec) > 1 else 0
            self._scalars[key] = self.value_at(key, row)
        return self._scalars[key]

    def length(self, key: str) -> int:
        return _length(self.values[key])

    def value_at(self, key: str, row: int):
        vec = self.values.get(key)
        if vec is None:
            raise KeyError(key)
        if not isinstance(vec, Ratio):
            return python_values(_take(vec, np.array([row if _length(vec) > 1 else 0])))[0]
        if vec.single and vec.err is not None:
            # one division of exact values: the Decimal path holds the quotient rounded once
            num = vec.num[row if len(vec.num) > 1 else 0]
            den = vec.den[row if len(vec.den) > 1 else 0]
            return _CONTEXT.divide(Decimal(int(num)), Decimal(int(den)))
        return self.recompute(key, row)

    def recompute(self, key: str, row: int):
        """The value of rule ``key`` for ``row`` by its Decimal formula."""
        decl = self.fast.ruleset.declarations[key]
        if not isinstance(decl, Rule):
            raise KeyError(key)
        scope_row = row if decl.entity is not None else None
        value = self.fast.program.formulas[key](self, scope_row, None)
        if decl.rounding is not None and isinstance(value, Decimal):
            value = _round(value, decl.rounding)
        return value


# --- the program ---------------------------------------------------------------------------------
@dataclass
class FastResult:
    """Values as fast columns, with what the Decimal path had to compute and why."""

    targets: list[str]
    values: dict[str, Any]
    tables: dict[str, Collection]
    rows: int  # 1, or the number of independent rows (row mode)
    checks: list[CheckResult] = field(default_factory=list)
    errors: list[RulesError] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    fallbacks: dict[str, str] = field(default_factory=dict)  # id -> why the Decimal path ran
    unsure_rows: int = 0  # rows recomputed by the Decimal path
    as_of: Any = None
    warnings: list[RulesWarning] = field(default_factory=list)
    # row mode: per row, the errors and the ids it could not compute
    row_errors: dict[int, list[RulesError]] = field(default_factory=dict)
    row_failed: dict[str, Any] = field(default_factory=dict)  # id -> rows where it failed itself
    row_checks: dict[str, Any] = field(default_factory=dict)  # check id -> bool array (row mode)
    dead: dict[str, Any] = field(default_factory=dict)  # id -> rows (records) without a value
    # entity mode: collection -> record row -> the run-time errors of that record
    record_errors: dict[str, dict[int, list[RulesError]]] = field(default_factory=dict)
    view: Any = None
    failed: set = field(default_factory=set)  # ids that failed as a whole
    row_mode: bool = False  # top-level values are columns of independent rows

    def column(self, node_id: str, n: int | None = None, start: int = 0, stop: int | None = None) -> list:
        """A value column (rows ``start`` to ``stop``) as the Decimal path holds it (Decimal,
        bool, str, date); ``n`` broadcasts a single value to n rows."""
        vec = self.values[node_id]
        decl = self.view.fast.ruleset.declarations[node_id]
        length = n or _length(vec)
        stop = length if stop is None else stop
        # Unrounded money keeps the Decimal path's own exponent (1.500 is not shown as 1.50):
        # recompute it rather than guess the exponent from the column's scale.
        exponent_matters = isinstance(decl, Rule) and decl.type.kind == "money" and decl.rounding is None
        if not isinstance(vec, Ratio) and not exponent_matters:
            if _length(vec) == 1:
                return python_values(vec) * (stop - start)
            return python_values(_take(vec, slice(start, stop)))
        rows = range(start, stop)
        with decimal.localcontext(_CONTEXT):
            if self.row_mode:
                views = (DecimalView(self.view.fast, self.values, self.tables, r) for r in rows)
                if exponent_matters:
                    return [v.recompute(node_id, r) for v, r in zip(views, rows)]
                return [v.value_at(node_id, r) for v, r in zip(views, rows)]
            if exponent_matters:
                return [self.view.recompute(node_id, r) for r in rows]
            return [self.view.value_at(node_id, r) for r in rows]


class FastProgram:
    """A :class:`~rulesengine.evaluator.Program` compiled a second time, to column operations."""

    def __init__(self, program: Program):
        self.program = program
        self.graph = program.graph
        self.ruleset = ruleset = program.ruleset
        self.vectors: dict[str, Vector] = {}
        for decl in ruleset.declarations.values():
            if isinstance(decl, (Rule, Check)):
                self.vectors[decl.id] = _Compiler(ruleset, decl.entity).build(decl.tree)

    # --- the Program.evaluate interface --------------------------------------------------------
    def evaluate(self, facts: dict[str, Any], targets: list[str] | None = None, *,
                 trace: bool = False, fact_source: str | None = None,
                 as_of: date | None = None) -> Evaluation:
        """Same arguments and result as :meth:`Program.evaluate`, computed on the fast path.

        Traces, missing facts or fields run the Decimal path for the whole evaluation.
        """
        if trace or self._incomplete(facts, targets):
            return self.program.evaluate(facts, targets, trace=trace, fact_source=fact_source,
                                         as_of=as_of)
        tables = {name: table_from_records(self.ruleset, records)
                  for name, records in facts.items() if name in self.ruleset.collections}
        scalars = {k: v for k, v in facts.items() if k not in self.ruleset.collections}
        result = self.run(tables, scalars, targets, as_of=as_of)
        return self.to_evaluation(result, facts)

    def _incomplete(self, facts: dict, targets) -> bool:
        order, _ = self.graph.plan(targets)
        for node_id in order:
            decl = self.ruleset.declarations[node_id]
            if decl.entity is not None:
                collection = self.ruleset.entities[decl.entity].collection
                if collection not in facts:
                    return True
                if isinstance(decl, Input) and any(v is None for v in facts[collection].columns[decl.name]):
                    return True
            elif decl.is_fact:
                if node_id not in facts and node_id != CLEARING_YEAR:
                    return True
        return False

    def to_evaluation(self, result: FastResult, facts: dict) -> Evaluation:
        """The fast result in the Decimal path's form (per-record values as lists)."""
        values: dict[str, Any] = {name: facts[name] for name in self.ruleset.collections if name in facts}
        for node_id, vec in result.values.items():
            decl = self.ruleset.declarations[node_id]
            if decl.entity is not None:
                values[node_id] = result.column(node_id, len(result.tables[self._collection(decl)]))
            else:
                values[node_id] = result.column(node_id)[0]
        evaluation = Evaluation(result.targets, values, result.checks, list(result.errors),
                                dict(result.skipped), None, result.as_of, list(result.warnings))
        return evaluation

    def row_evaluation(self, result: FastResult, row: int, as_of: date | None = None) -> Evaluation:
        """Row ``row`` of a row-mode result, as :meth:`Program.evaluate` gives it for that row's facts."""
        decls = self.ruleset.declarations
        view = DecimalView(self, result.values, result.tables, row)
        values, checks, errors, skipped = {}, [], list(result.row_errors.get(row, [])), {}
        order, targets = self.graph.plan(result.targets)
        failed_here = set()
        with decimal.localcontext(_CONTEXT):
            for node_id in order:
                decl = decls[node_id]
                if isinstance(decl, Table):
                    continue
                own = result.row_failed.get(node_id)
                if node_id in result.failed or (own is not None and own[row]):
                    failed_here.add(node_id)
                    continue
                dead = result.dead.get(node_id)
                if node_id in result.skipped or (dead is not None and dead[row]):
                    blocked = next((d for d in self.graph.dependencies(node_id)
                                    if d in failed_here or d in skipped), None)
                    if blocked is not None:
                        skipped[node_id] = skipped.get(blocked, blocked)
                    continue
                if node_id not in result.values:
                    continue
                money = isinstance(decl, Rule) and decl.type.kind == "money" and decl.rounding is None
                vec = result.values[node_id]
                values[node_id] = view.recompute(node_id, row) if money or isinstance(vec, Ratio) \
                    else view.value_at(node_id, row)
                if isinstance(decl, Check):
                    passed = bool(result.row_checks[node_id][row])
                    checks.append(CheckResult(decl.id, decl.label, passed, decl.severity, decl.message,
                                              decl.citation, self.ruleset.reference(decl),
                                              self.program._sides(decl, view, None), decl.side_type))
        scratch = Evaluation(targets, values, checks)
        year = values.get(CLEARING_YEAR)
        facts = {CLEARING_YEAR: int(year)} if isinstance(year, Decimal) else {}
        scratch.as_of = self.program._as_of(facts, as_of, scratch)
        scratch.errors, scratch.skipped = errors, skipped
        return scratch

    # --- running ----------------------------------------------------------------------------------
    def run(self, tables: dict[str, Collection], scalars: dict[str, Any], targets: list[str] | None = None,
            *, as_of: date | None = None, rows: int | None = None, progress: Callable[[str], None] | None = None
            ) -> FastResult:
        """Evaluate over columnar ``tables`` and single ``scalars`` (entity mode), or, with
        ``rows`` > 1, over independent rows: each scalar is then a one- or ``rows``-long
        column (row mode, for rulesets without collections)."""
        order, targets = self.graph.plan(targets)
        values: dict[str, Any] = {}
        result = FastResult(targets, values, tables, rows or 1)
        result.row_mode = rows is not None
        rows = rows or 1
        result.view = view = DecimalView(self, values, tables)
        scratch = Evaluation(targets, {}, [])
        result.as_of = self.program._as_of(self._as_of_facts(scalars), as_of, scratch)
        result.warnings = scratch.warnings
        decls = self.ruleset.declarations
        up: dict = {}
        groups: dict = {}
        with decimal.localcontext(_CONTEXT):
            for node_id in order:
                decl = decls[node_id]
                if isinstance(decl, Table):
                    continue
                if progress is not None:
                    progress(node_id)
                if decl.entity is not None and self._collection(decl) not in tables:
                    result.skipped[node_id] = self._collection(decl)
                    continue
                if isinstance(decl, (Input, Parameter)):
                    self._fact(decl, scalars, tables, result, as_of)
                    continue
                blocked = next((d for d in self.graph.dependencies(node_id)
                                if d in result.failed or d in result.skipped), None)
                if blocked:
                    result.skipped[node_id] = result.skipped.get(blocked, blocked)
                    continue
                dead, cause = self._dead_inputs(node_id, result)
                if cause is not None:
                    result.errors.append(cause)
                    result.failed.add(node_id)
                    continue
                n = len(tables[self._collection(decl)]) if decl.entity is not None else rows
                env = _Env(values, tables, n, up, groups)
                try:
                    self._node(decl, env, dead, result, view)
                except EvaluationError as err:
                    result.errors.append(err)
                    result.failed.add(node_id)
                except (decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero) as exc:
                    result.errors.append(self._limit_error(decl, exc))
                    result.failed.add(node_id)
        return result

    def _dead_inputs(self, node_id: str, result: FastResult):
        """(rows of ``node_id`` left without a value because an input has none there, None), or
        (None, an error) when a value over many records (a total) needs a record that failed."""
        dead = None
        decl = self.ruleset.declarations[node_id]
        for dep in self.graph.dependencies(node_id):
            rows = result.dead.get(dep)
            if rows is None:
                continue
            carried = self._carried(decl, self.ruleset.declarations[dep], rows, result)
            if carried is None:
                return None, self._needs_failed_records(decl, dep, rows, result)
            dead = carried.copy() if dead is None else dead | carried
        return dead, None

    def _carried(self, decl, dep, rows, result: FastResult):
        """``dep``'s dead rows as rows of ``decl``: the same rows, a child's rows of a dead
        parent, a parent's rows with a dead child; None when they cannot be (a total)."""
        if decl.entity == dep.entity:
            return rows
        if decl.entity is None or dep.entity is None:
            return None
        entities = self.ruleset.entities
        if entities[decl.entity].parent == dep.entity:
            return rows[result.tables[self._collection(decl)].parent_rows]
        if entities[dep.entity].parent == decl.entity:
            out = np.zeros(len(result.tables[self._collection(decl)]), dtype=bool)
            out[result.tables[self._collection(dep)].parent_rows[rows]] = True
            return out
        return None

    def _needs_failed_records(self, decl, dep: str, rows, result: FastResult) -> EvaluationError:
        collection = self._collection(self.ruleset.declarations[dep])
        keys = result.tables[collection].keys[np.nonzero(rows)[0]].tolist()
        shown = ", ".join(repr(k) for k in keys[:10]) + (" ..." if len(keys) > 10 else "")
        return EvaluationError(
            _("'{id}' cannot be computed: it needs '{dep}' of {count} record(s) of {collection} that "
              "could not be computed: {keys}").format(id=decl.id, dep=dep, count=len(keys),
                                                      collection=collection, keys=shown),
            span=decl.span, context=context_of(decl),
            hint=_("correct those records (their errors are listed above), or guard the rule"))

    def _as_of_facts(self, scalars: dict) -> dict:
        year = scalars.get(CLEARING_YEAR)
        if isinstance(year, (list, tuple)) or hasattr(year, "__len__"):
            return {}
        return {CLEARING_YEAR: year} if isinstance(year, int) else {}

    def _collection(self, decl) -> str:
        return self.ruleset.entities[decl.entity].collection

    def _limit_error(self, decl, exc) -> ArithmeticLimitError:
        return ArithmeticLimitError(  # as Program.evaluate words it
            _("arithmetic failed ({error}): a value is too large or undefined").format(
                error=type(exc).__name__),
            span=decl.tree.span, context=context_of(decl),
            hint=_("a value is beyond 10^999999; check the facts' magnitude")
            if isinstance(exc, decimal.Overflow) else
            _("a result is undefined or too long to keep exact; check the facts' magnitude"))

    def _fact(self, decl, scalars: dict, tables: dict, result: FastResult, as_of) -> None:
        node_id = decl.id
        if decl.entity is not None:
            result.values[node_id] = tables[self._collection(decl)].fields[decl.name]
            return
        if node_id in scalars:
            value = scalars[node_id]
            result.values[node_id] = value if isinstance(value, (Fixed, Flags, Objects)) \
                else scalar_vector(value)
            return
        if isinstance(decl, Parameter) and decl.dated:
            value = self._dated(decl, scalars, result, as_of)
            if value is None:
                result.failed.add(node_id)
            else:
                result.values[node_id] = value
            return
        if decl.is_fact:
            if node_id != CLEARING_YEAR:
                result.errors.append(MissingFactError(f"missing fact '{node_id}' ({decl.label})",
                                                      span=decl.span,
                                                      hint=f"add '{node_id}: ...' to the facts"))
            result.failed.add(node_id)
            return
        result.values[node_id] = scalar_vector(decl.value)

    def _dated(self, decl: Parameter, scalars: dict, result: FastResult, as_of):
        """A dated parameter: one value, or (row mode) the value in force for each row's year."""
        year = scalars.get(CLEARING_YEAR)
        if isinstance(year, Fixed) and len(year.ints) > 1 and as_of is None:
            years = year.ints.tolist()
            chosen, dead = [], np.zeros(len(years), dtype=bool)
            for row, y in enumerate(years):
                item = decl.value_on(date(int(y), 12, 31))
                if item is None:
                    dead[row] = True
                    result.row_errors.setdefault(row, []).append(NoValueInForceError(
                        f"parameter '{decl.id}' ({decl.label}) has no value in force on "
                        f"{int(y)}-12-31", span=decl.span, hint="add a dated value"))
                    chosen.append(decl.dated[0].value)
                else:
                    chosen.append(item.value)
            if dead.any():
                result.dead[decl.id] = dead
                result.row_failed[decl.id] = dead
            return vector_from_values(chosen, decl.type.kind)
        scratch = Evaluation([], {}, [])
        scratch.as_of = result.as_of
        try:
            return scalar_vector(self.program._dated(decl, scratch))
        except EvaluationError as err:  # no value in force: reported as the Decimal path does
            result.errors.append(err)
            return None
        finally:
            result.warnings.extend(w for w in scratch.warnings
                                   if str(w) not in {str(x) for x in result.warnings})

    def _node(self, decl, env: _Env, dead, result: FastResult, view: DecimalView) -> None:
        node_id = decl.id
        per_record = decl.entity is not None
        mask = None if dead is None else ~dead
        rounding = decl.rounding if isinstance(decl, Rule) else None
        try:
            vec = self.vectors[node_id](env, mask)
            if rounding is not None and isinstance(vec, (Fixed, Ratio)):
                vec = round_to(vec, rounding.places, rounding.mode, settle=True, unsure=env.unsure)
            vec = _broadcast(vec, env.n)
            unsure = env.unsure_rows()
            if unsure is not None and mask is not None:
                unsure &= mask
            if unsure is not None and unsure.any():
                vec = self._patch(decl, vec, np.nonzero(unsure)[0], view, result)
                result.unsure_rows += int(unsure.sum())
        except Unsupported as why:
            result.fallbacks[node_id] = str(why)
            vec = self._decimal_column(decl, env.n, dead, result, view)
            if vec is None:
                return
        result.values[node_id] = vec
        if dead is not None and node_id not in result.dead:  # the Decimal column may add rows
            result.dead[node_id] = dead
        if isinstance(decl, Check):
            self._check(decl, vec, env.n, dead, result, view, per_record)

    def _patch(self, decl, vec, rows, view: DecimalView, result: FastResult):
        """Recompute ``rows`` of a column with the Decimal closures."""
        computed = {}
        for row in rows.tolist():
            computed[row] = self._decimal_value(decl, row, view, result)
        return _patched(vec, computed)

    def _decimal_value(self, decl, row: int, view: DecimalView, result: FastResult):
        if result.row_mode and decl.entity is None:
            local = DecimalView(self, result.values, result.tables, row)
            value = self.program.formulas[decl.id](local, None, None)
        else:
            value = self.program.formulas[decl.id](view, row if decl.entity is not None else None, None)
        if isinstance(decl, Rule) and decl.rounding is not None and isinstance(value, Decimal):
            value = _round(value, decl.rounding)
        return value

    def _decimal_column(self, decl, n: int, dead, result: FastResult, view: DecimalView):
        """The whole rule on the Decimal path. Entity mode: an error fails the rule (raised);
        row mode: it fails that row only."""
        row_mode = result.row_mode and decl.entity is None
        per_record = decl.entity is not None
        out: list = []
        failed = np.zeros(n, dtype=bool) if row_mode or per_record else None
        for row in range(n):
            if dead is not None and dead[row]:
                out.append(None)
                continue
            if failed is None:
                out.append(self._decimal_value(decl, row, view, result))
                continue
            try:
                out.append(self._decimal_value(decl, row, view, result))
                continue
            except EvaluationError as err:
                error = err
            except (decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero) as exc:
                error = self._limit_error(decl, exc)
            failed[row] = True
            out.append(None)
            if per_record:  # one record fails, not the rule: the error names the record
                self._record_error(decl, row, error, result)
            else:
                result.row_errors.setdefault(row, []).append(error)
        if failed is not None and failed.any():
            dead = failed if dead is None else dead | failed
            result.dead[decl.id] = dead
            result.row_failed[decl.id] = failed
        filler = next((v for v in out if v is not None), None)
        if filler is None:
            if dead is not None and dead.all():
                result.dead[decl.id] = dead
                return Flags(np.zeros(n, dtype=bool)) if decl.type.kind == "boolean" else \
                    vector_from_values([Decimal(0)] * n, "number") if decl.type.numeric else \
                    vector_from_values([None] * n, "text")
        out = [filler if v is None else v for v in out]
        kind = decl.type.kind if decl.type.kind in ("money", "rate", "number", "integer", "boolean") \
            else "text"
        if kind != "boolean" and out and not isinstance(out[0], Decimal):
            kind = "text"
        return vector_from_values(out, kind)

    def _record_error(self, decl, row: int, error: RulesError, result: FastResult) -> None:
        collection = self._collection(decl)
        key = result.tables[collection].keys[row]
        error.message = _("record '{key}' of {collection}: {message}").format(
            key=key, collection=collection, message=error.message)
        error.args = (error.message,)
        result.errors.append(error)
        result.record_errors.setdefault(collection, {}).setdefault(row, []).append(error)

    def _check(self, decl: Check, vec, n: int, dead, result: FastResult, view: DecimalView,
               per_record: bool) -> None:
        passed = np.broadcast_to(vec.arr, (n,))
        if result.row_mode and not per_record:
            ok = passed if dead is None else (passed | dead)
            result.row_checks[decl.id] = np.asarray(ok, dtype=bool)
            result.checks.append(CheckResult(decl.id, decl.label, bool(ok.all()), decl.severity,
                                             decl.message, decl.citation, self.ruleset.reference(decl),
                                             None, decl.side_type, checked=n))
            return
        if not per_record:
            sides = self.program._sides(decl, view, None)
            result.checks.append(CheckResult(decl.id, decl.label, bool(passed[0]), decl.severity,
                                             decl.message, decl.citation, self.ruleset.reference(decl),
                                             sides, decl.side_type))
            return
        keys = result.tables[self._collection(decl)].keys
        failures = [RecordCheck(keys[row], self.program._sides(decl, view, row))
                    for row in np.nonzero(~passed)[0].tolist()]
        result.checks.append(CheckResult(decl.id, decl.label, not failures, decl.severity, decl.message,
                                         decl.citation, self.ruleset.reference(decl), None,
                                         decl.side_type, records=failures, checked=n))


def _patched(vec, computed: dict):
    """``vec`` with some rows replaced by Decimal-path values."""
    rows = np.array(list(computed), dtype=np.int64)
    values = list(computed.values())
    if isinstance(vec, Flags):
        arr = vec.arr.copy()
        arr[rows] = values
        return Flags(arr)
    if isinstance(vec, Objects):
        arr = vec.arr.copy()
        arr[rows] = np.array(values, dtype=object)
        return Objects(arr)
    parts = [decimal_parts(v) for v in values]
    if isinstance(vec, Fixed):
        scale = max([vec.scale] + [p[1] for p in parts])
        ints, bound = _scaled(vec, scale)
        ints = ints.copy()
        news = [i * 10 ** (scale - s) for i, s in parts]
        top = max(abs(v) for v in news)
        if top >= LIMIT and ints.dtype != object:
            ints = _obj(ints)
        ints[rows] = news
        return Fixed(ints, scale, max(bound, top))
    num, den = vec.num.copy(), np.broadcast_to(vec.den, vec.num.shape).copy()
    news = [(i, 10 ** s) for i, s in parts]
    top = max(max(abs(i), d) for i, d in news)
    if top >= LIMIT:
        num, den = _obj(num), _obj(den)
    num[rows] = [i for i, _ in news]
    den[rows] = [d for _, d in news]
    err = np.zeros(len(num)) if vec.err is None else np.broadcast_to(_absolute(vec), num.shape).copy()
    err[rows] = 0.0  # these rows hold the Decimal path's own value
    return Ratio(num, den, err)


def table_from_records(ruleset, records) -> Collection:
    """A columnar Collection from bound :class:`~rulesengine.records.Records`."""
    entity = ruleset.entities[records.entity]
    fields = {}
    for name, column in records.columns.items():
        decl = ruleset.declarations[f"{entity.id}.{name}"]
        fields[name] = vector_from_values(column, decl.type.kind if decl.type.kind != "enum" else "text")
    keys = np.empty(len(records.keys), dtype=object)
    keys[:] = records.keys
    parent_rows = np.array(records.parent_rows, dtype=np.int64) if entity.parent else None
    return Collection(entity.id, keys, fields, parent_rows)
