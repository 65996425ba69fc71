"""Both back-ends against an independent reference: date functions, aggregations, rounding modes.

tests/test_fuzz_reference.py checks arithmetic formulas. This file covers the rest of the
language the same way: random records of a two-level collection (groups and their items), a
ruleset that uses every date function, every aggregation (with and without ``where``) and every
rounding mode, and an independent reference written here from the README's definitions, with
Python's ``datetime`` and ``decimal`` — not with the engine's code. The Decimal back-end
(``Program.evaluate``) and the fixed-point back-end (``FastProgram.evaluate``) must both equal it.

The definitions the reference implements (README, "The formula language"):

* ``add_days(d, n)``; ``add_months(d, n)`` keeps the day, or the month's last day when the
  month is shorter (31 January + 1 month = 28/29 February); ``add_years(d, n)`` is
  ``add_months(d, 12n)``; ``end_of_month``; ``days_between(a, b)`` = b − a in days;
  ``year``/``month``/``day``; ``date(y, m, d)``;
* ``sum`` (0 over no records), ``count``, ``min``/``max`` (of the records taken), ``any`` (false
  over none), ``all`` (true over none), ``distinct`` (how many different values), each over the
  records ``where`` the condition holds;
* a rule's rounding: the value settled to 28 digits, then rounded to its places in its mode
  (half_up, half_even, down, up, floor, ceiling), never -0.00.
"""

from __future__ import annotations

import calendar
import decimal
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import METADATA
from fuzzing import WORK
from rulesengine.check.model import FactSet
from rulesengine.core.source import Span
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts
from rulesengine.evaluate.fixedpoint import FastProgram

pytest.importorskip("numpy")
pytestmark = pytest.mark.fuzz

MODES = {"half_up": decimal.ROUND_HALF_UP, "half_even": decimal.ROUND_HALF_EVEN, "down": decimal.ROUND_DOWN,
         "up": decimal.ROUND_UP, "floor": decimal.ROUND_FLOOR, "ceiling": decimal.ROUND_CEILING}
SETTLE = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)
CTX = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN)

RULESET = METADATA + """\
enums:
  grade: {label: 等次, values: [优秀, 良好, 合格], citation: 一}
inputs:
  start: {label: 起算日, type: date, citation: 一}
rules:
  city_total: {label: 全市合计, type: money, formula: "sum(groups.total)", citation: 一}
entities:
  group:
    label: 组
    collection: groups
    key: code
    citation: 一
    fields:
      code: {label: 编码, type: text, citation: 一}
    rules:
      total: {label: 合计, type: money, formula: "sum(items.amount)", citation: 一}
      total_flagged: {label: 标记合计, type: money, formula: "sum(items.amount where flag)", citation: 一}
      n: {label: 数, type: integer, formula: "count(items)", citation: 一}
      n_late: {label: 晚于起算日, type: integer, formula: "count(items where day > start)", citation: 一}
      latest: {label: 最晚, type: date, formula: "if n > 0 then max(items.day) else start", citation: 一}
      earliest: {label: 最早, type: date, formula: "if n > 0 then min(items.day) else start", citation: 一}
      lowest: {label: 最小额, type: money, formula: "if n > 0 then min(items.amount) else 0", citation: 一}
      any_flag: {label: 有标记, type: boolean, formula: "any(items.flag)", citation: 一}
      all_flag: {label: 全标记, type: boolean, formula: "all(items.flag where amount > 0)", citation: 一}
      kinds: {label: 等次种数, type: integer, formula: "distinct(items.grade)", citation: 一}
  item:
    label: 项
    collection: items
    key: id
    parent: group
    citation: 一
    fields:
      id: {label: 编号, type: text, citation: 一}
      amount: {label: 金额, type: money, citation: 一}
      rate: {label: 比例, type: rate, citation: 一}
      day: {label: 日期, type: date, citation: 一}
      k: {label: 月数, type: integer, citation: 一}
      flag: {label: 标记, type: boolean, citation: 一}
      grade: {label: 等次, type: grade, citation: 一}
    rules:
      plus_days: {label: 加日, type: date, formula: "add_days(day, k)", citation: 一}
      plus_months: {label: 加月, type: date, formula: "add_months(day, k)", citation: 一}
      plus_years: {label: 加年, type: date, formula: "add_years(day, k)", citation: 一}
      month_end: {label: 月末, type: date, formula: "end_of_month(day)", citation: 一}
      since: {label: 间隔天数, type: integer, formula: "days_between(start, day)", citation: 一}
      first_of_month: {label: 月初, type: date, formula: "date(year(day), month(day), 1)", citation: 一}
      day_no: {label: 日, type: integer, formula: "day(day)", citation: 一}
""" + "".join(
    f"      r_{mode}: {{label: 舍入{mode}, type: money, formula: \"amount * rate\", "
    f"rounding: {{places: {places}, mode: {mode}}}, citation: 一}}\n"
    for mode, places in zip(MODES, (2, 2, 1, 0, 2, 2)))
PLACES = dict(zip(MODES, (2, 2, 1, 0, 2, 2)))


# --- the reference ----------------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def rounded(value: Decimal, mode: str) -> Decimal:
    out = SETTLE.plus(value).quantize(Decimal(1).scaleb(-PLACES[mode]), rounding=MODES[mode])
    return out.copy_abs() if out.is_zero() else out


def reference(start: date, groups: list[dict], items: list[dict]) -> dict:
    out: dict = {}
    for item in items:
        day, k = item["day"], item["k"]
        product = CTX.multiply(item["amount"], item["rate"])
        out[item["id"]] = {
            "plus_days": day + timedelta(days=k), "plus_months": add_months(day, k),
            "plus_years": add_months(day, 12 * k), "month_end": day.replace(day=calendar.monthrange(day.year, day.month)[1]),
            "since": Decimal((day - start).days), "first_of_month": day.replace(day=1), "day_no": Decimal(day.day),
            **{f"r_{mode}": rounded(product, mode) for mode in MODES}}
    for group in groups:
        own = [i for i in items if i["group"] == group["code"]]
        positive = [i for i in own if i["amount"] > 0]
        out[group["code"]] = {
            "total": sum((i["amount"] for i in own), Decimal("0.00")),
            "total_flagged": sum((i["amount"] for i in own if i["flag"]), Decimal("0.00")),
            "n": Decimal(len(own)), "n_late": Decimal(sum(1 for i in own if i["day"] > start)),
            "latest": max((i["day"] for i in own), default=start), "earliest": min((i["day"] for i in own), default=start),
            "lowest": min((i["amount"] for i in own), default=Decimal("0.00")),
            "any_flag": any(i["flag"] for i in own), "all_flag": all(i["flag"] for i in positive),
            "kinds": Decimal(len({i["grade"] for i in own}))}
    return out


# --- random records -------------------------------------------------------------------------------
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
AMOUNTS = st.integers(-10_000_000, 10_000_000).map(lambda fen: Decimal(fen).scaleb(-2))
RATES = st.integers(0, 200_000).map(lambda n: Decimal(n).scaleb(-5))  # 0 to 2 in steps of 0.001%


@st.composite
def records(draw):
    groups = [{"code": f"G{i}"} for i in range(draw(st.integers(1, 3)))]
    items = []
    for i in range(draw(st.integers(0, 8))):
        items.append({"id": f"I{i}", "group": draw(st.sampled_from(groups))["code"], "amount": draw(AMOUNTS),
                      "rate": draw(RATES), "day": draw(DAYS), "k": draw(st.integers(-30, 30)),
                      "flag": draw(st.booleans()), "grade": draw(st.sampled_from(["优秀", "良好", "合格"]))})
    return draw(DAYS), groups, items


def _program():
    path = WORK / "reference_collections.yaml"
    path.write_text(RULESET, encoding="utf-8")
    return load_program(str(path))


PROGRAM = None


@settings(max_examples=150, deadline=None)
@given(records())
def test_both_back_ends_equal_the_reference(case):
    global PROGRAM
    PROGRAM = PROGRAM or _program()
    start, groups, items = case
    raw = {"start": start.isoformat(), "groups": groups,
           "items": [{**i, "amount": str(i["amount"]), "rate": str(i["rate"]), "day": i["day"].isoformat()}
                     for i in items]}
    span = Span("facts", 1, 1)
    facts = bind_facts(PROGRAM.ruleset, FactSet(raw, lambda p: span, lambda p: span))
    want = reference(start, groups, items)
    for backend, evaluation in (("decimal", PROGRAM.evaluate(facts)), ("fixed", FastProgram(PROGRAM).evaluate(facts))):
        assert not evaluation.errors, (backend, [str(e) for e in evaluation.errors])
        for entity, keys in (("group", [g["code"] for g in groups]), ("item", [i["id"] for i in items])):
            for name in want[keys[0]] if keys else ():
                got = evaluation.values[f"{entity}.{name}"]
                expected = [want[key][name] for key in keys]
                assert [str(v) for v in got] == [str(v) for v in expected], (backend, entity, name)


def test_the_reference_matches_hand_worked_values():
    # 31 January 2024 + 1 month = 29 February 2024 (leap year); − 1 month = 31 December 2023
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 31), -1) == date(2023, 12, 31)
    # 10.01 × 5% = 0.5005: half_up 0.50, down to 1 place 0.5, up to 0 places 1, floor −0.5005 → −0.51
    assert rounded(Decimal("0.5005"), "half_up") == Decimal("0.50")
    assert rounded(Decimal("0.5005"), "down") == Decimal("0.5")
    assert rounded(Decimal("0.5005"), "up") == Decimal("1")
    assert rounded(Decimal("-0.5005"), "floor") == Decimal("-0.51")
    # 0.125 half_even → 0.12; −0.001 ceiling → 0.00 (never −0.00)
    assert rounded(Decimal("0.125"), "half_even") == Decimal("0.12")
    assert str(rounded(Decimal("-0.001"), "ceiling")) == "0.00"
