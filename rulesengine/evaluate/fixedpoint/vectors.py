"""Column values of the fixed-point back-end: exact scaled integers, exact fractions, flags and
objects, and their conversions to and from the Decimal back-end's values.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np

from ..semantics import as_decimal


LIMIT = 2 ** 62  # int64 results must stay below this (headroom for one more addition)
DIGITS = 10 ** 34  # exact values beyond 34 digits are rounded by the Decimal path
SETTLED = 10 ** 28  # ... and beyond 28 digits changed by the settling before a rule rounds
MAX_SCALE = 60  # decimal places a fixed-point column may have (a 34-digit quotient of small facts fits)
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
        self.bound = bound_of(ints) if bound is None else bound
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
        self.nbound = bound_of(num) if nbound is None else nbound
        self.dbound = bound_of(den) if dbound is None else dbound


class Flags:
    __slots__ = ("arr",)

    def __init__(self, arr):
        self.arr = arr


class Objects:
    """Enum values, codes (text) and dates: Python objects compared as they are."""

    __slots__ = ("arr", "_codes")

    def __init__(self, arr):
        self.arr = arr
        self._codes = None

    def codes(self):
        """(distinct values in order of first appearance, each row's index among them), found once
        per column: every look-up and ``distinct()`` of the column reuses it. By hashing, not by
        sorting Python strings (about 5x faster on a million rows)."""
        if self._codes is None:
            values = self.arr.ravel().tolist()
            unique = list(dict.fromkeys(values))
            index = {value: i for i, value in enumerate(unique)}
            self._codes = unique, np.array(list(map(index.__getitem__, values)), dtype=np.int64)
        return self._codes


def bound_of(arr) -> int:
    if len(arr) == 0:
        return 0
    if arr.dtype == object:
        return int(max(abs(v) for v in arr))
    return int(np.max(np.abs(arr)))


def as_objects(arr):
    return arr if arr.dtype == object else arr.astype(object)


def one_lane(*arrays):
    """The arrays in one integer lane: all int64, or all Python ints when any is."""
    if any(a.dtype == object for a in arrays):
        return tuple(as_objects(a) for a in arrays)
    return arrays


def mul_ints(a, b, bound: int):
    """a * b, in int64 when the product surely fits (``bound`` estimates it; the actual
    maxima decide when the estimate is too large), else in Python integers."""
    a, b = one_lane(a, b)
    if bound >= LIMIT and a.dtype != object and bound_of(a) * bound_of(b) >= LIMIT:
        a, b = as_objects(a), as_objects(b)
    return a * b


def add_ints(a, b, bound: int, sign: int = 1):
    a, b = one_lane(a, b)
    if bound >= LIMIT and a.dtype != object and bound_of(a) + bound_of(b) >= LIMIT:
        a, b = as_objects(a), as_objects(b)
    return a + b if sign > 0 else a - b


def constant_column(value: int):
    return np.array([value], dtype=np.int64 if abs(value) < LIMIT else object)


def size_of(vec) -> int:
    if isinstance(vec, Fixed):
        return len(vec.ints)
    if isinstance(vec, Ratio):
        return max(len(vec.num), len(vec.den))
    return len(vec.arr)


def rescaled(vec: Fixed, scale: int):
    """The ints of ``vec`` at a larger ``scale``, and their bound."""
    k = scale - vec.scale
    if k == 0:
        return vec.ints, vec.bound
    factor = 10 ** k
    bound = vec.bound * factor
    return mul_ints(vec.ints, constant_column(factor), bound), bound


def as_ratio(vec) -> Ratio:
    if isinstance(vec, Ratio):
        return vec
    den = 10 ** vec.scale
    if len(vec.ints) == 1:  # a constant: 200% is 2/1, not 200/100 (smaller products later)
        num = int(vec.ints[0])
        common = math.gcd(num, den) or 1
        num, den = num // common, den // common
        return Ratio(constant_column(num), constant_column(den), None, abs(num), den, True)
    return Ratio(vec.ints, constant_column(den), None, vec.bound, den, True)


def as_floats(arr):
    try:
        return arr.astype(np.float64)
    except OverflowError:
        raise Unsupported("a value beyond the float range in an error bound") from None


def magnitude_of(vec: Ratio):
    return np.abs(as_floats(vec.num) / as_floats(vec.den))


def error_of(vec):
    return None if isinstance(vec, Fixed) else vec.err


def huge(value: int) -> float:
    """An integer bound as a float (capped: only comparisons with 1 follow)."""
    return float(min(value, 10 ** 300))


def is_relative(err) -> bool:
    return isinstance(err, float)


def absolute_error(vec):
    """The error bound of ``vec`` per row (absolute), or None."""
    err = error_of(vec)
    if err is None or not is_relative(err):
        return err
    return err * magnitude_of(vec)


def error_sum(*errs):
    found = [e for e in errs if e is not None]
    if not found:
        return None
    total = found[0]
    for e in found[1:]:
        total = total + e
    return total


def places_of(vec: Fixed):
    """The decimal places of each value (an array), or of all of them (an int)."""
    return vec.scale if vec.places is None else vec.places


def with_places(vec: Fixed, places) -> Fixed:
    """``vec`` keeping the places each value has on the Decimal back-end (0.5 and 0.50 differ
    there: an exponent is part of a Decimal), when they are not all ``vec.scale``."""
    if isinstance(places, int):
        return vec
    places = np.broadcast_to(places, vec.ints.shape)
    if (places == vec.scale).all():
        return vec
    vec.places = places.astype(np.int16)
    return vec


# --- conversions ---------------------------------------------------------------------------------
def decimal_parts(value: Decimal) -> tuple[int, int]:
    """(ints, scale) with value == ints / 10**scale and scale >= 0, exactly.

    A value of 34 integer digits and more, or of more than MAX_SCALE decimal places, is left to
    the Decimal back-end (:class:`Unsupported`): its magnitude is unbounded there."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or -exponent > MAX_SCALE or value.adjusted() >= 34:
        raise Unsupported("a value of 34 integer digits or more, or of very many decimal places")
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
        return Fixed(constant_column(ints), scale, abs(ints))
    arr = np.empty(1, dtype=object)
    arr[0] = value
    return Objects(arr)


def to_decimal(ints: int, scale: int) -> Decimal:
    return Decimal(f"{int(ints)}E-{scale}") if scale else Decimal(int(ints))


def python_values(vec, n: int | None = None) -> list:
    """The column as the Decimal path holds it (Ratio columns excepted: see DecimalView)."""
    length = size_of(vec)
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


def take(vec, rows):
    if isinstance(vec, Fixed):
        if len(vec.ints) == 1:
            return vec
        return Fixed(vec.ints[rows], vec.scale, vec.bound,
                     None if vec.places is None else vec.places[rows])
    if isinstance(vec, Ratio):
        pick = (lambda a: a[rows] if a is not None and len(a) > 1 else a)
        err = vec.err if vec.err is None or is_relative(vec.err) else pick(vec.err)
        return Ratio(pick(vec.num), pick(vec.den), err, vec.nbound, vec.dbound, vec.single)
    if len(vec.arr) == 1:
        return vec
    return type(vec)(vec.arr[rows])


def broadcast(vec, n: int):
    if size_of(vec) == n:
        return vec
    if isinstance(vec, Fixed):
        return Fixed(np.repeat(vec.ints, n), vec.scale, vec.bound,
                     None if vec.places is None else np.repeat(vec.places, n))
    if isinstance(vec, Ratio):
        err = vec.err if vec.err is None or is_relative(vec.err) else np.broadcast_to(vec.err, (n,)).copy()
        return Ratio(np.broadcast_to(vec.num, (n,)).copy(), np.broadcast_to(vec.den, (n,)).copy(),
                     err, vec.nbound, vec.dbound, vec.single)
    return type(vec)(np.repeat(vec.arr, n))


