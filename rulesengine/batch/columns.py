"""Columns of cell text -> the engine's typed columns, exactly (scaled int64 for numbers).

Every cell is typed by :func:`rulesengine.core.cells.cell_value`, the coercion the facts reader
uses. Whole columns in the common plain forms (amounts like ``1234.50``, whole numbers, fractions
up to 1 in rate columns, declared enum values, boolean words) are converted at once by pyarrow
from their text, never through a float; every other cell (percentages, bounds, mistakes) goes
through ``cell_value`` one at a time, so the two routes cannot disagree on what they accept.
"""

from __future__ import annotations

from array import array
from decimal import Decimal
from itertools import compress
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..check.model import Input
from ..core.cells import BOOLEAN_WORDS, bound_message, cell_value, outside
from ..core.datatypes import ValueProblem, shift

# the plain forms converted column-wise; all fit in int64 once scaled
_FAST = {
    "money": r"^-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$",  # below 10^16 yuan
    "integer": r"^-?(0|[1-9][0-9]{0,17})$",  # below 10^18
    "number": r"^-?(0|[1-9][0-9]{0,8})(\.[0-9]{1,9})?$",
    "rate": r"^-?(0(\.[0-9]{1,17})?|1(\.0{1,17})?)$",  # a fraction from -1 to 1
}
_UNIFORM = {"money": r"^-?(0|[1-9][0-9]{0,15})\.[0-9][0-9]$", "integer": _FAST["integer"]}
# a blank Python's str.strip() removes; a code without one at either end is its own value
_BLANK = r"[\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
_TRUE = [w for w, v in BOOLEAN_WORDS.items() if v] + ["TRUE", "True"]
_FALSE = [w for w, v in BOOLEAN_WORDS.items() if not v] + ["FALSE", "False"]


class Missing(ValueProblem):
    """An empty cell."""

    code = "missing-fact"


class Constraint(ValueProblem):
    code = "constraint"


class Column:
    """One field's typed values, stored compactly: scaled integers for numbers."""

    def __init__(self, decl: Input, unit: str | None = None, values: dict | None = None):
        self.decl, self.unit, self.values = decl, unit, values
        self.kind = decl.type.kind
        self.numeric = self.kind in ("money", "rate", "number", "integer")
        self.ints = array("q")
        self.scales = array("b")  # decimal places; array("i") once a value has more than 127
        self.big: dict[int, int] = {}  # row -> integer beyond int64 (stored as 0 in ints)
        self.items: list = []  # booleans, enum values, codes, dates
        self.low, self.high = getattr(decl, "minimum", None), getattr(decl, "maximum", None)

    def parse(self, raw: Any) -> tuple:
        """One cell's value, as (ints, scale) for numbers, else (value,); raises ValueProblem."""
        if raw is None or not str(raw).strip():
            raise Missing("")
        value = cell_value(str(raw), self.decl.type, self.unit, self.values)
        bound = outside(value, self.low, self.high, self.decl.type)
        if bound:
            raise Constraint(bound_message(self.decl.name, self.decl.label, value, bound, self.decl.type))
        return _parts(value, self.kind) if self.numeric else (value,)

    def append(self, value: tuple) -> None:
        if not self.numeric:
            self.items.append(value[0])
            return
        ints, scale = value
        if -2 ** 63 < ints < 2 ** 63:
            self.ints.append(ints)
        else:
            self.big[len(self.ints)] = ints
            self.ints.append(0)
        if scale > 127 and self.scales.typecode == "b":
            self.scales = array("i", self.scales)
        self.scales.append(scale)

    def __len__(self) -> int:
        return len(self.ints) if self.numeric else len(self.items)

    # --- whole columns ------------------------------------------------------------------------
    def convert(self, cells: pa.Array) -> tuple[Any, dict[int, ValueProblem]]:
        """Type a column of cell text; (the values for :meth:`keep`, problems by row)."""
        fast = self._fast(cells)
        problems: dict[int, ValueProblem] = {}
        slow = {}
        rows = range(len(cells)) if fast is None else _false_rows(fast[0])
        if rows:
            texts = cells.to_pylist() if len(rows) > len(cells) // 8 else None
            for row in rows:
                text = texts[row] if texts is not None else cells[row].as_py()
                try:
                    slow[row] = self.parse(text)
                except ValueProblem as problem:
                    problems[row] = problem
        return (fast, slow, len(cells)), problems

    def keep(self, converted: tuple, mask: pa.Array | None) -> None:
        """Store the converted values of the rows ``mask`` keeps (all when None)."""
        fast, slow, count = converted
        if self.numeric:
            if fast is None:
                ints, scales = pa.array([0] * count, pa.int64()), pa.array([0] * count, pa.int32())
            else:
                ints, scales = fast[1], fast[2]
            big = {}
            if slow:
                ints, scales = ints.to_pylist(), scales.to_pylist()
                for row, (value, scale) in slow.items():
                    if -2 ** 63 < value < 2 ** 63:
                        ints[row] = value
                    else:
                        big[row], ints[row] = value, 0
                    scales[row] = scale
                ints, scales = pa.array(ints, pa.int64()), pa.array(scales, pa.int32())
            if mask is not None:
                ints, scales = ints.filter(mask), scales.filter(mask)
                if big:
                    kept = pc.cumulative_sum(pc.cast(mask, pa.int64())).to_pylist()
                    big = {kept[row] - 1: value for row, value in big.items() if mask[row].as_py()}
            self.ints.frombytes(_raw(ints, 8))
            if len(scales) and pc.max(scales).as_py() > 127:
                self.scales = array("i")
                self.scales.frombytes(_raw(scales, 4))
            else:
                self.scales.frombytes(_raw(pc.cast(scales, pa.int8()), 1))
            self.big = big
            return
        items = _listed(fast) if fast is not None else [None] * count
        for row, value in slow.items():
            items[row] = value[0]
        self.items = list(compress(items, mask.to_pylist())) if mask is not None else items

    def _fast(self, cells: pa.Array):
        """(rows converted, ints, scales) or (rows, items) for the plain forms; None: no fast route."""
        kind, pattern = self.kind, _FAST.get(self.kind)
        if self.values or self.unit:
            return None
        if pattern is not None:
            if self.kind in ("rate", "number") and (self.low is not None or self.high is not None):
                return None
            uniform = _UNIFORM.get(kind)
            if uniform is not None and cells.null_count == 0:  # all 1234.50 (or all 12): no padding
                ok = pc.match_substring_regex(cells, uniform)
                if pc.all(ok).as_py():
                    ints = pc.cast(pc.replace_substring(cells, ".", "") if kind == "money" else cells, pa.int64())
                    scale = pa.array([2 if kind == "money" else 0] * len(cells), pa.int32())
                    return self._within(ok, ints), ints, scale
            ok = pc.fill_null(pc.match_substring_regex(cells, pattern), False)
            text = pc.if_else(ok, cells, "0")
            scale = _scales(text, kind)
            if kind == "money":
                text = pc.if_else(pc.equal(scale, 0), pc.binary_join_element_wise(text, "00", ""),
                                  pc.if_else(pc.equal(scale, 1), pc.binary_join_element_wise(text, "0", ""), text))
                scale = pa.array([2] * len(cells), pa.int32())
            ints = pc.cast(pc.replace_substring(text, ".", ""), pa.int64())
            return self._within(ok, ints), ints, scale
        if kind == "boolean":
            yes, no = pc.is_in(cells, pa.array(_TRUE)), pc.is_in(cells, pa.array(_FALSE))
            return [pc.fill_null(pc.or_(yes, no), False), yes]
        if kind == "enum":
            ok = pc.fill_null(pc.is_in(cells, pa.array(list(self.decl.type.values), pa.string())), False)
            return [ok, cells]
        if kind == "text":
            blank = pc.match_substring_regex(cells, f"^{_BLANK}|{_BLANK}$")
            return [pc.fill_null(pc.invert(blank), False), cells]
        return None

    def _within(self, ok: pa.Array, ints: pa.Array) -> pa.Array:
        """Rows outside min/max leave the fast route (the cell route words the problem)."""
        if self.low is None and self.high is None:
            return ok
        places = 2 if self.kind == "money" else 0
        low = self._limit(self.low, places, "ROUND_CEILING")
        high = self._limit(self.high, places, "ROUND_FLOOR")
        extremes = pc.min_max(ints)
        if len(ints) == 0 or ((low is None or extremes["min"].as_py() >= low)
                              and (high is None or extremes["max"].as_py() <= high)):
            return ok
        if low is not None:
            ok = pc.and_(ok, pc.greater_equal(ints, low))
        if high is not None:
            ok = pc.and_(ok, pc.less_equal(ints, high))
        return ok

    @staticmethod
    def _limit(bound, places: int, rounding: str) -> int | None:
        if bound is None:
            return None
        limit = int(shift(Decimal(bound), places).to_integral_value(rounding=rounding))
        return limit if -2 ** 63 < limit < 2 ** 63 else None

    # --- for the evaluators ------------------------------------------------------------------------
    def python(self) -> list:
        """The values as the Decimal path types them (Decimal, int, bool, str, date)."""
        if not self.numeric:
            return list(self.items)
        out = []
        for row, (ints, scale) in enumerate(zip(self.ints, self.scales)):
            ints = self.big.get(row, ints)
            if self.kind == "integer":
                out.append(int(ints))
            elif self.kind == "money":
                out.append(shift(Decimal(ints), -2))
            else:  # exactly: scaleb in the default context would round a 29-digit number
                out.append(shift(Decimal(ints), -scale) if scale else Decimal(ints))
        return out

    def vector(self):
        """The values as a fast-path column."""
        import numpy as np

        from ..evaluate.fixedpoint import Fixed, Flags, Objects, fixed_from_parts
        if not self.numeric:
            if self.kind == "boolean":
                return Flags(np.array(self.items, dtype=bool))
            arr = np.empty(len(self.items), dtype=object)
            arr[:] = self.items
            return Objects(arr)
        ints = np.frombuffer(self.ints, dtype=np.int64) if len(self.ints) else np.zeros(0, dtype=np.int64)
        width = np.int8 if self.scales.typecode == "b" else np.int32
        scales = np.frombuffer(self.scales, dtype=width) if len(self.scales) else np.zeros(0, dtype=width)
        if self.big or (len(scales) and int(scales.max()) > 18):
            values = [self.big.get(i, v) for i, v in enumerate(ints.tolist())]
            return fixed_from_parts(values, scales.tolist())
        scale = int(scales.max()) if len(scales) else 0
        if len(scales) and int(scales.min()) == scale:
            return Fixed(ints, scale)  # a view of the array: read, never written
        factor = np.power(10, (scale - scales).astype(np.int64))
        bound = int(np.max(np.abs(ints))) * 10 ** scale if len(ints) else 0
        if bound >= 2 ** 62:
            return fixed_from_parts(ints.tolist(), scales.tolist())
        return Fixed(ints * factor, scale, None, scales.astype(np.int16))


def _parts(value: Any, kind: str) -> tuple[int, int]:
    """A number as (scaled integer, decimal places): 12.50 yuan is (1250, 2)."""
    if kind == "integer":
        return int(value), 0
    if kind == "money":
        return int(value.scaleb(2)), 2
    sign, digits, exponent = value.as_tuple()
    ints = int("".join(map(str, digits)) or "0") * (10 ** exponent if exponent > 0 else 1)
    return (-ints if sign else ints), max(-exponent, 0)


def _scales(text: pa.Array, kind: str) -> pa.Array:
    """Digits after the point of each plain decimal text (0 without a point)."""
    point = pc.find_substring(text, ".")
    after = pc.subtract(pc.subtract(pc.utf8_length(text), point), 1)
    return pc.cast(pc.if_else(pc.less(point, 0), 0, after), pa.int32())


def _listed(fast: list) -> list:
    """The fast route's values as a list (converted once, then kept)."""
    if not isinstance(fast[1], list):
        fast[1] = fast[1].to_pylist()
    return fast[1]


def _false_rows(mask: pa.Array) -> list[int]:
    if pc.all(mask).as_py() is not False:
        return []
    return pc.indices_nonzero(pc.invert(mask)).to_pylist()


def _raw(values: pa.Array, width: int) -> bytes:
    """The bytes of a null-free fixed-width array (for array('q')/array('i'))."""
    if len(values) == 0:
        return b""
    data = values.buffers()[1]
    return memoryview(data)[values.offset * width:(values.offset + len(values)) * width].tobytes()
