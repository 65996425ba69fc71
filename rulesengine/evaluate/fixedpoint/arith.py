"""Exact column arithmetic: + - * /, comparisons, choice, min/max and rounding, each deciding
per row whether the Decimal back-end's 34-digit result could differ (the row is then *unsure*).
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..semantics import MODES
from .vectors import (DIGITS, SETTLED, U, Fixed, Flags, Objects, Ratio, Unsupported, absolute_error,
                      add_ints, as_floats, as_ratio, bound_of, constant_column, error_of, error_sum, huge,
                      is_relative, magnitude_of, mul_ints, one_lane, places_of, rescaled, with_places)


def add(a, b, sign: int = 1):
    if isinstance(a, Fixed) and isinstance(b, Fixed):
        scale = max(a.scale, b.scale)
        (x, bx), (y, by) = rescaled(a, scale), rescaled(b, scale)
        if bx + by >= DIGITS:
            raise Unsupported("a sum beyond 34 digits")
        return with_places(Fixed(add_ints(x, y, bx + by, sign), scale, bx + by),
                           _either(places_of(a), places_of(b), np.maximum))
    a, b = as_ratio(a), as_ratio(b)
    if a.den is b.den or (len(a.den) == 1 and len(b.den) == 1 and int(a.den[0]) == int(b.den[0])):
        num = add_ints(a.num, b.num, a.nbound + b.nbound, sign)
        den, nbound, dbound = a.den, a.nbound + b.nbound, a.dbound
    else:
        left, right = a.nbound * b.dbound, b.nbound * a.dbound
        num = add_ints(mul_ints(a.num, b.den, left), mul_ints(b.num, a.den, right), left + right, sign)
        den, nbound, dbound = mul_ints(a.den, b.den, a.dbound * b.dbound), left + right, a.dbound * b.dbound
    result = _reduced(Ratio(num, den, None, nbound, dbound))
    errs = error_sum(absolute_error(a), absolute_error(b))
    result.err = (errs if errs is not None else 0) + U * magnitude_of(result)
    return result


def _either(pa, pb, combine):
    """Places of a sum (the larger) or a product (their total), per value or for all."""
    if isinstance(pa, int) and isinstance(pb, int):
        return pa + pb if combine is np.add else max(pa, pb)
    return combine(pa, pb)


def _reduced(r: Ratio) -> Ratio:
    """Divide numerator and denominator by their gcd when they grow large (int64 only)."""
    if r.nbound < 2 ** 61 and r.dbound < 2 ** 61 or r.num.dtype == object or r.den.dtype == object:
        return r
    if max(bound_of(r.num), bound_of(r.den)) < 2 ** 61:
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
        return with_places(Fixed(mul_ints(a.ints, b.ints, bound), a.scale + b.scale, bound),
                           _either(places_of(a), places_of(b), np.add))
    ea, eb = error_of(a), error_of(b)
    a, b = as_ratio(a), as_ratio(b)
    result = _reduced(Ratio(mul_ints(a.num, b.num, a.nbound * b.nbound), mul_ints(a.den, b.den, a.dbound * b.dbound),
                            None, a.nbound * b.nbound, a.dbound * b.dbound))
    if (ea is None or is_relative(ea)) and (eb is None or is_relative(eb)):
        ra, rb = ea or 0.0, eb or 0.0
        result.err = ra + rb + ra * rb + U  # (1 + ra)(1 + rb)(1 + U) - 1, rounded up
        return result
    ea, eb = absolute_error(a) if ea is not None else None, absolute_error(b) if eb is not None else None
    err = U * magnitude_of(result)
    if ea is not None:
        err = err + magnitude_of(b) * ea
    if eb is not None:
        err = err + magnitude_of(a) * eb
    if ea is not None and eb is not None:
        err = err + ea * eb
    result.err = err
    return result


def divide(a, b, active) -> Ratio:
    """a / b exactly; a zero divisor in an active row is an error for the Decimal path to report."""
    ea, eb = error_of(a), error_of(b)
    a, b = as_ratio(a), as_ratio(b)
    if len(a.den) == 1 and len(b.den) == 1:
        # (na / k) / (nb / m) = (na * m) / (k * nb): common factors of k and m cancel
        k, m = int(a.den[0]), int(b.den[0])
        common = math.gcd(k, m)
        if common > 1:
            a = Ratio(a.num, constant_column(k // common), a.err, a.nbound, k // common, a.single)
            b = Ratio(b.num, constant_column(m // common), b.err, b.nbound, m // common, b.single)
    zero = b.num == 0
    if zero.any():
        if (zero if active is None else zero & active).any():
            raise Unsupported("division by zero")
        b = Ratio(np.where(zero, 1, b.num), b.den, b.err, max(b.nbound, 1), b.dbound)
    negative = b.num < 0
    num = mul_ints(a.num, b.den, a.nbound * b.dbound)
    den = mul_ints(a.den, b.num, a.dbound * b.nbound)
    if negative.any():
        num, den = np.where(negative, -num, num), np.where(negative, -den, den)
    result = _reduced(Ratio(num, den, None, a.nbound * b.dbound, a.dbound * b.nbound,
                            ea is None and eb is None))
    if (ea is None or is_relative(ea)) and (eb is None or is_relative(eb)):
        ra, rb = ea or 0.0, eb or 0.0
        if rb >= 0.5:
            raise Unsupported("a divisor too uncertain to bound the quotient")
        result.err = (ra + 2 * rb) * (1 + 4 * rb) + U  # (1 + ra) / (1 - rb) - 1, rounded up
        return result
    ea, eb = absolute_error(a) if ea is not None else None, absolute_error(b) if eb is not None else None
    size = magnitude_of(result)
    err = U * size
    divisor = magnitude_of(b)
    spare = divisor - (eb if eb is not None else 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = ((ea if ea is not None else 0) + size * (eb if eb is not None else 0)) / spare
    err = err + np.where(spare > 0, extra, np.inf)
    result.err = err
    return result


def negate(a):
    if isinstance(a, Fixed):
        return Fixed(-a.ints, a.scale, a.bound, a.places)
    return Ratio(-a.num, a.den, a.err, a.nbound, a.dbound, a.single)


def absolute(a):
    if isinstance(a, Fixed):
        return Fixed(np.abs(a.ints), a.scale, a.bound, a.places)
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
        (x, _), (y, _) = rescaled(a, scale), rescaled(b, scale)
        x, y = one_lane(x, y)
        return fn(x, y)
    ea, eb = error_of(a), error_of(b)
    a, b = as_ratio(a), as_ratio(b)
    left, right = a.nbound * b.dbound, b.nbound * a.dbound
    x, y = mul_ints(a.num, b.den, left), mul_ints(b.num, a.den, right)
    x, y = one_lane(x, y)
    result = fn(x, y)
    if unsure is not None and (ea is not None or eb is not None):
        # a nonzero difference is at least 1 / (den_a × den_b): when twice the error is below
        # that everywhere, only equal values can be in doubt
        if (ea is None or is_relative(ea)) and (eb is None or is_relative(eb)):
            small = 2 * ((ea or 0.0) * huge(a.nbound * b.dbound) + (eb or 0.0) * huge(b.nbound * a.dbound)) < 1
            spread = None
        else:
            spread = error_sum(absolute_error(a) if ea is not None else None,
                              absolute_error(b) if eb is not None else None)
            scale = as_floats(mul_ints(a.den, b.den, a.dbound * b.dbound))
            small = float(np.max(spread * scale, initial=0.0)) * 2 < 1
        if small:
            if not (a.single and b.single):  # equal values that were rounded differently
                unsure.append((x == y) if spread is None else (x == y) & (spread > 0))
        else:
            if spread is None:
                spread = error_sum(absolute_error(a) if ea is not None else None,
                                  absolute_error(b) if eb is not None else None)
                scale = as_floats(mul_ints(a.den, b.den, a.dbound * b.dbound))
            diff = add_ints(x, y, left + right, -1)
            gap = np.abs(as_floats(diff)) / scale
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
        (x, bx), (y, by) = rescaled(a, scale), rescaled(b, scale)
        x, y = one_lane(x, y)
        chosen = Fixed(np.where(condition, x, y), scale, max(bx, by))
        pa, pb = places_of(a), places_of(b)
        return chosen if pa is pb or (isinstance(pa, int) and isinstance(pb, int) and pa == pb) else \
            with_places(chosen, np.where(condition, pa, pb))
    ea, eb = error_of(a), error_of(b)
    a, b = as_ratio(a), as_ratio(b)
    num = np.where(condition, *one_lane(a.num, b.num))
    den = np.where(condition, *one_lane(a.den, b.den))
    err = None
    if (ea is None or is_relative(ea)) and (eb is None or is_relative(eb)):
        if ea is not None or eb is not None:
            err = max(ea or 0.0, eb or 0.0)
    else:
        ea, eb = absolute_error(a) if ea is not None else None, absolute_error(b) if eb is not None else None
        err = np.where(condition, ea if ea is not None else 0.0, eb if eb is not None else 0.0)
    return Ratio(num, den, err, max(a.nbound, b.nbound), max(a.dbound, b.dbound), a.single and b.single)


def extreme(a, b, smaller: bool):
    """Python's min(a, b) / max(a, b): b replaces a only when strictly smaller / larger."""
    pick = compare("<" if smaller else ">", b, a)
    result = select(pick, b, a)
    if isinstance(result, Ratio):
        ea, eb = error_of(a), error_of(b)
        if (ea is None or is_relative(ea)) and (eb is None or is_relative(eb)):
            # a near-tie may pick the other value, which is within both errors of this one
            result.err = None if ea is None and eb is None else 2.01 * ((ea or 0.0) + (eb or 0.0))
        else:
            spread = error_sum(absolute_error(a) if ea is not None else None,
                              absolute_error(b) if eb is not None else None)
            result.err = 2 * spread
    return result


def _round_quotient(num, den, mode: str, nbound: int | None = None, dbound: int | None = None):
    """Round num / den (den > 0) to an integer in ``mode``; also return the remainder."""
    num, den = one_lane(num, den)
    q, r = _divmod(num, den, nbound, dbound)
    return _step(q, r, den, num < 0, mode), r


def _divmod(num, den, nbound: int | None = None, dbound: int | None = None):
    """Floor quotient and remainder (den > 0). Below 2^52 a float division gives the quotient
    to within one, and one integer correction makes it exact (faster than integer division)."""
    num, den = one_lane(num, den)
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


_STEPPED = {"floor", "ceiling", "down", "up", "half_up", "half_even"} & set(MODES)


def _step(q, r, den, negative, mode: str):
    """Floor quotient ``q`` (remainder ``r`` of ``den``) rounded in ``mode`` (one of
    :data:`..semantics.MODES`; a mode defined there and not here is refused, never guessed)."""
    if mode not in _STEPPED:
        raise Unsupported(f"rounding mode {mode}")
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
            ints, bound = rescaled(vec, places)
            return Fixed(ints, places, bound)
        factor = 10 ** (vec.scale - places)
        q, _ = _round_quotient(vec.ints, constant_column(factor), mode, vec.bound, factor)
        return Fixed(q, places, vec.bound // factor + 1)
    factor = 10 ** places
    num, den = one_lane(vec.num, vec.den)
    if len(den) == 1 and len(num) > 1:
        den = np.broadcast_to(den, num.shape)
    if len(num) == 1 and len(den) > 1:
        num = np.broadcast_to(num, den.shape)
    # X * 10^places = q0 * 10^places + (r0 * 10^places) / den: no product larger than den * 10^places
    q0, r0 = _divmod(num, den, vec.nbound, vec.dbound)
    q1, r = _divmod(mul_ints(r0, constant_column(factor), vec.dbound * factor), den, vec.dbound * factor, vec.dbound)
    q = add_ints(mul_ints(q0, constant_column(factor), (vec.nbound + 1) * factor), q1, (vec.nbound + 2) * factor)
    negative = num < 0
    q = _step(q, r, den, negative, mode)
    if unsure is not None and vec.err is not None:
        dfloat = as_floats(den)
        # off a boundary the gap is at least 1 / (2 den) (units of the last place): when the
        # error and the settling stay below it everywhere, only rows on a boundary need a look
        if is_relative(vec.err):
            worst = 4 * vec.err * huge(vec.nbound * factor)  # 4 den × rel |num / den| factor
        else:
            worst = float(np.max(4 * dfloat * vec.err * factor, initial=0.0))
        if worst + 4e-27 * huge(vec.nbound * factor) < 1:
            on = (2 * r == den) if mode in ("half_up", "half_even") else (r == 0)
            if vec.single:
                on &= np.abs(as_floats(num) / dfloat) * factor >= 1e26
            elif on.any():
                size = np.abs(as_floats(num) / dfloat) * factor
                spread = absolute_error(vec) * factor
                on &= ((spread > 0) & (spread >= size * 2.5e-29)) | (size >= 1e26)
            unsure.append(np.asarray(on, dtype=bool))
            return Fixed(q, places)
        if mode in ("half_up", "half_even"):
            gap_int = np.abs(2 * r - den)
            gap = as_floats(gap_int) / (2 * dfloat)
        else:
            gap_int = np.minimum(r, den - r)
            gap = as_floats(gap_int) / dfloat
        spread = absolute_error(vec) * factor
        size = np.abs(as_floats(num) / dfloat) * factor
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


