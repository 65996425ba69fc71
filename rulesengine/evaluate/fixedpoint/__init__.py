"""The fixed-point back-end (the columnar fast path): per-record rules over whole columns, exact to the fen.

:class:`FastProgram` takes a :class:`~rulesengine.evaluate.evaluator.Program` (its graph, ruleset and
Decimal closures) and compiles every formula a second time, into numpy operations over
whole columns. Numbers are scaled integers: a money column is ``int64`` fen, a rate or a
number keeps the decimal places its values have, so ``+ - *``, comparisons, ``min``/``max``
and grouped ``sum`` are exact integer arithmetic. A quotient is kept as an exact fraction
(numerator and denominator columns) until a rule rounds it; rounding then divides with a
remainder and applies the rule's mode (``half_up``, ``half_even``, ``down``, ``up``,
``floor``, ``ceiling``), so the result equals the Decimal path's to the last place.

The Decimal path rounds an unending quotient to 34 digits and settles it to 28 before a rule
rounds it (:func:`rulesengine.evaluate.semantics.round_rule`). Where that could make a difference (a
comparison or a rounding whose exact value lies within the Decimal path's error of the
boundary, e.g. a ratio of exactly 50%), the row is *unsure* and is recomputed with the
Decimal closures. Three levels of fall-back keep results identical to
:meth:`Program.evaluate <rulesengine.evaluate.evaluator.Program.evaluate>`:

* a row: unsure rows of a rule are recomputed by the Decimal path;
* a rule: an operation the fast path does not do (sum of fractions, min of dates, ...), a
  value that could overflow 34 digits, or any run-time error (division by zero, missing
  table row, min of no records) sends the whole rule to the Decimal path, which then also
  reports the error exactly as it would have;
* a run: traces, missing facts and missing fields run :meth:`Program.evaluate` itself.

Integers that could overflow ``int64`` move to Python integers in object arrays (exact,
slower) before any fall-back is needed. numpy is an optional dependency (extra ``fast``):
nothing else in the package imports this module at import time.

Layout: ``vectors`` (column values and conversions) < ``arith`` (exact operations and rounding)
< ``groups`` (collections and per-parent reductions) < ``compiler`` (checked AST -> column
functions) < ``fallback`` (what the Decimal closures read) < ``program`` (:class:`FastProgram`).
What a value means (contexts, rounding, as-of, dated values, error wording) is imported from
:mod:`rulesengine.evaluate.semantics`, the one definition both back-ends share.
"""

from .arith import compare, divide, mul, round_to
from .groups import Collection, table_from_records
from .program import FastProgram, FastResult
from .vectors import Fixed, Flags, Objects, Ratio, broadcast, fixed_from_parts, take, vector_from_values

__all__ = ["Collection", "FastProgram", "FastResult", "Fixed", "Flags", "Objects", "Ratio", "broadcast",
           "compare", "divide", "fixed_from_parts", "mul", "round_to", "table_from_records", "take",
           "vector_from_values"]
