"""Fuzzing the formula language (issue 6, part 3a): whatever text a formula holds, parsing,
checking, compiling, evaluating and reporting end in a result or in the project's own located
errors (``RulesError``), never in another exception.

Three sources of formulas:

* grammar-generated: names (declared, undeclared, dotted, dunder), numbers, percentages, dates,
  quoted values, every operator, ``if``/``then``/``else``, calls of every function and of unknown
  ones, aggregations with ``where``, table look-ups; brackets added at random so that many parse
  and some do not; sometimes one character inserted, deleted or replaced;
* a soup of the language's tokens joined by random separators;
* random text: any Unicode (CJK, full-width forms, control characters, lone surrogates).

Each goes through :func:`rulesengine.load.parser.parse_formula` and, placed in a small ruleset (a
top-level rule, a rule of an entity, or a check), through the whole loading pipeline
(:func:`rulesengine.evaluate.driver.load_program`: schema, checker, graph, compiler). A formula the
checker accepts is then evaluated over random valid facts and reported in every format; a
well-typed formula must not go wrong at run time other than with a located evaluation error.

Bounded and seeded by default (``tests/conftest.py``, profile ``ci``); ``--hypothesis-profile
long`` runs many more (README, "Fuzzing").
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from fuzzing import WORK, assert_located, evaluate_and_report, scaled
from rulesengine.evaluate.driver import load_program
from rulesengine.core.errors import TypeMismatchError, flatten
from rulesengine.evaluate.facts import bind_facts, read_facts
from rulesengine.load.parser import MAX_FORMULA_CHARS, parse_formula, text_origin

pytestmark = pytest.mark.fuzz


# --- the ruleset a formula is placed in ------------------------------------------------------------
HEAD = """\
format: 1
id: fuzz
title: 模糊测试
issuer: 测试局
document_number: 测〔2024〕1号
issued: 2024-01-01
effective: {from: 2024-01-01}
seed: x.txt
enums:
  grade: {label: 等次, values: [优秀, 良好, 合格], citation: 一}
parameters:
  p_rate: {label: 比例, type: rate, value: 5%, citation: 一}
  p_money: {label: 额度, type: money, value: 100.00, citation: 一}
  p_int: {label: 月数, type: integer, value: 12, citation: 一}
tables:
  tbl:
    label: 扣减比例
    key_type: grade
    value_type: rate
    citation: 一
    rows: [{key: 优秀, value: 0%}, {key: 良好, value: 10%}, {key: 合格, value: 30%}]
inputs:
  m1: {label: 甲, type: money, citation: 一}
  m2: {label: 乙, type: money, citation: 一}
  r1: {label: 丙, type: rate, citation: 一}
  n1: {label: 丁, type: number, citation: 一}
  i1: {label: 戊, type: integer, citation: 一}
  b1: {label: 己, type: boolean, citation: 一}
  d1: {label: 庚, type: date, citation: 一}
  t1: {label: 辛, type: text, citation: 一}
  g1: {label: 壬, type: grade, citation: 一}
entities:
  item:
    label: 项目
    collection: items
    key: code
    citation: 一
    fields:
      code: {label: 编码, type: text, citation: 一}
      amount: {label: 金额, type: money, citation: 一}
      qty: {label: 数量, type: integer, citation: 一}
      share: {label: 比例, type: rate, citation: 一}
      ok: {label: 合格, type: boolean, citation: 一}
      due: {label: 日期, type: date, citation: 一}
      kind: {label: 等次, type: grade, citation: 一}
"""
BASE_RULE = "rules:\n  base: {label: 基数, type: money, formula: m1 + m2, citation: 二}\n"
# one of these follows HEAD; FORMULA is the formula as a JSON (so YAML double-quoted) string
PLACEMENTS = {
    "rule": "rules:\n  fr: {label: 规则, type: TYPE, formula: FORMULA, citation: 二}\n",
    "entity": ("    rules:\n      fr: {label: 规则, type: TYPE, formula: FORMULA, citation: 二}\n"
               + BASE_RULE),
    "check": "checks:\n  fc: {label: 检查, condition: FORMULA, message: 不符, citation: 二}\n" + BASE_RULE,
}
TYPES = ("money", "rate", "number", "integer", "boolean", "date", "text", "grade")

TOP_NAMES = ["m1", "m2", "r1", "n1", "i1", "b1", "d1", "t1", "g1", "p_rate", "p_money", "p_int"]
FIELDS = ["code", "amount", "qty", "share", "ok", "due", "kind"]
HOSTILE_NAMES = ["__import__", "__builtins__", "__class__", "a.__class__", "a.__class__.__mro__",
                 "m1.__class__.__mro__", "m1.real", "eval", "exec", "open", "os", "sys", "self",
                 "fr", "item.fr", "items.fr", "unknown", "m_1", "_", "item.amount", "items",
                 "tbl", "grade", "fc", "m1.m2", "items.amount.x"]
FUNCTIONS = ["min", "max", "abs", "round", "clamp", "date", "year", "month", "day", "add_days",
             "add_months", "add_years", "end_of_month", "days_between",
             "sum", "count", "any", "all", "distinct",
             "pow", "eval", "exec", "__import__", "getattr", "open", "print", "len", "float"]
AGGREGATES = ["sum", "count", "min", "max", "any", "all", "distinct", "avg"]
COLLECTIONS = ["items", "item", "members", "m1"]


# --- grammar-generated formula text ------------------------------------------------------------------
names = st.one_of(st.sampled_from(TOP_NAMES), st.sampled_from(FIELDS),
                  st.sampled_from(HOSTILE_NAMES),
                  st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}(\.[A-Za-z_][A-Za-z0-9_]{0,4}){0,2}",
                                fullmatch=True))
digits = st.from_regex(r"[0-9]{1,12}(_[0-9]{1,3}){0,2}", fullmatch=True)
numbers = st.one_of(
    st.sampled_from(["0", "1", "2", "0.5", "100", "12", "0.00", "1_000_000.50", "9" * 30, "9" * 31,
                     "1" * 15 + "." + "1" * 15, "00", "007"]),
    digits, st.builds(lambda a, b: f"{a}.{b}", digits, digits))
percents = st.one_of(st.sampled_from(["5%", "0%", "100%", "12.5%", "1" * 31 + "%"]),
                     numbers.map(lambda n: n + "%"))
dates = st.one_of(st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
                  st.sampled_from(["2024-02-30", "2023-02-29", "0000-01-01", "2024-13-01",
                                   "2024-00-10", "9999-12-31", "0001-01-01", "2024-1-1"]))
strings = st.one_of(st.sampled_from(['"优秀"', '"良好"', '"合格"', '"不合格"', '""', '"x"',
                                     '"H001"', '"__class__"', '"a\\"b"', '"优秀', "'优秀'"]),
                    st.text(st.characters(blacklist_characters='"\n'), max_size=6)
                    .map(lambda s: f'"{s}"'))
atoms = st.one_of(names, numbers, percents, dates, strings, st.sampled_from(["true", "false"]))

BINARY = ["+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "and", "or",
          "=", "**", "^", "%", "&&", "||", "×", "÷", "，"]


def _maybe_paren(draw_paren: bool, text: str) -> str:
    return f"({text})" if draw_paren else text


def _extend(children):
    paren = st.booleans()
    binop = st.builds(lambda a, op, b, p: _maybe_paren(p, f"{a} {op} {b}"),
                      children, st.sampled_from(BINARY), children, paren)
    unary = st.builds(lambda op, a: f"{op}{a}", st.sampled_from(["-", "+", "not ", "- ", "--"]),
                      children)
    group = children.map(lambda a: f"({a})")
    ifelse = st.builds(lambda c, a, b, p: _maybe_paren(p, f"if {c} then {a} else {b}"),
                       children, children, children, paren)
    call = st.builds(lambda f, args: f"{f}({', '.join(args)})",
                     st.sampled_from(FUNCTIONS), st.lists(children, max_size=4))
    field = st.one_of(st.sampled_from(FIELDS + ["fr", "__class__", "nope"]), names)
    aggregate = st.builds(lambda f, c, fld: f"{f}({c}.{fld})" if fld else f"{f}({c})",
                          st.sampled_from(AGGREGATES), st.sampled_from(COLLECTIONS),
                          st.one_of(st.none(), field))
    filtered = st.builds(lambda f, c, fld, w: f"{f}({c}{'.' + fld if fld else ''} where {w})",
                         st.sampled_from(AGGREGATES), st.sampled_from(COLLECTIONS),
                         st.one_of(st.none(), field), children)
    lookup = st.builds(lambda t, keys: f"{t}[{', '.join(keys)}]",
                       st.sampled_from(["tbl", "unknown_table", "m1", "__builtins__"]),
                       st.lists(children, min_size=0, max_size=2))
    return st.one_of(binop, unary, group, ifelse, call, aggregate, filtered, lookup)


grammar_formulas = st.recursive(atoms, _extend, max_leaves=12)

MUTATION_CHARS = st.sampled_from(list("()[],.\"'=<>!+-*/%^&|:;#@$\\`{}~?") +
                                 ["（", "）", "，", "×", "÷", "－", "＝", "％", "“", "”", "【", "】",
                                  "１", "　", "优", "\t", "\n", "\r", "\x00", "\x1b", "\u200b",
                                  "\u202e", "\ufeff", "\ud800", "é", "😀"])


@st.composite
def mutated(draw, formulas=grammar_formulas):
    """A grammar formula, sometimes with one character inserted, deleted or replaced."""
    text = draw(formulas)
    how = draw(st.sampled_from(["none", "none", "insert", "delete", "replace"]))
    if how == "none" or not text:
        return text
    at = draw(st.integers(0, len(text) - 1))
    if how == "delete":
        return text[:at] + text[at + 1:]
    char = draw(MUTATION_CHARS)
    return text[:at] + char + text[at + (how == "replace"):]


TOKENS = (TOP_NAMES + FIELDS + HOSTILE_NAMES[:8] + BINARY + FUNCTIONS[:14] +
          ["if", "then", "else", "not", "where", "true", "false", "(", ")", "[", "]", ",", "0", "5%",
           "2024-01-15", '"优秀"', "items.amount", "tbl", "1.5", "100"])
token_soup = st.builds(lambda parts, seps: "".join(p + s for p, s in zip(parts, seps)),
                       st.lists(st.sampled_from(TOKENS), max_size=25),
                       st.lists(st.sampled_from([" ", " ", "", "\n", "\t", "  ", "\u3000"]),
                                min_size=25, max_size=25))
random_text = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=60),
    st.text(st.characters(whitelist_categories=("Lo", "Nd", "No", "Sm", "Ps", "Pe", "Po", "Zs", "Cc",
                                                "Cf", "Cs", "So")), max_size=40),
    st.text(st.sampled_from(list("　（）＋－×÷，。：；“”【】％＝１２３４５６７８９０优秀良好金额比例"
                                 "\x00\x07\x1b\x7f\u200b\u2028\u2029\ufeff")), max_size=40),
)
any_formula = st.one_of(mutated(), grammar_formulas, token_soup, random_text)


def plain(value: Decimal) -> str:
    """A decimal as a facts file writes it: digits, no exponent."""
    return f"{value:f}"


# --- facts for evaluating the formulas that check -------------------------------------------------------
money_text = st.decimals(min_value=-10**17, max_value=10**17, places=2).map(plain)
rate_text = st.one_of(st.decimals(min_value=-5, max_value=5, places=4).map(plain),
                      st.sampled_from(["0", "5%", "100%", "-3%"]))
number_text = st.one_of(st.decimals(min_value=-10**6, max_value=10**6, places=3).map(plain),
                        st.sampled_from(["0", "1e+999999", "-1e+999999", "1e-999999", "1.5e+300",
                                         "123456789012345678901234567890.5"]))
integer_value = st.one_of(st.integers(-10**17, 10**17), st.sampled_from([0, 1, -1, 2024, 9999, 10000]))
grade_value = st.sampled_from(["优秀", "良好", "合格"])
date_text = st.dates().map(date.isoformat)
record = st.fixed_dictionaries({
    "amount": money_text, "qty": integer_value, "share": rate_text, "ok": st.booleans(),
    "due": date_text, "kind": grade_value})
facts_strategy = st.fixed_dictionaries({
    "m1": money_text, "m2": money_text, "r1": rate_text, "n1": number_text, "i1": integer_value,
    "b1": st.booleans(), "d1": date_text, "t1": st.sampled_from(["H001", "甲", "x y"]),
    "g1": grade_value,
    "items": st.lists(record, max_size=3).map(
        lambda rows: [dict(row, code=f"C{i}") for i, row in enumerate(rows)]),
})


# --- loading a formula ---------------------------------------------------------------------------------
def ruleset_text(formula: str, placement: str, type_: str, escaped: bool = True) -> str:
    """The ruleset with the formula as a YAML double-quoted string: ``escaped``, every character
    beyond ASCII as \\uXXXX; else written as it is (YAML refuses some, with a located error)."""
    quoted = json.dumps(formula, ensure_ascii=escaped)
    return HEAD + PLACEMENTS[placement].replace("FORMULA", quoted).replace("TYPE", type_)


def write(text: str, name: str) -> str:
    path = WORK / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return str(path)


_GIVES = re.compile(r"the formula gives (.+), but rule '\S+' is declared")


def load(formula: str, placement: str, escaped: bool = True):
    """The compiled program, or None when loading fails (with our own located errors).

    A rule is first declared money; when the only problem is that the formula has another
    type, it is declared with that type and loaded again, so that more formulas run."""
    try:
        return load_program(write(ruleset_text(formula, placement, "money", escaped), "fuzz.yaml"))
    except Exception as err:  # noqa: BLE001 - the assertion says which
        assert_located(err)
        errors = flatten(err)
    if placement == "check" or len(errors) != 1 or not isinstance(errors[0], TypeMismatchError):
        return None
    found = _GIVES.match(errors[0].message)
    if not found:
        return None
    kind = found.group(1).split()[0]
    kind = {"enum": "grade"}.get(kind, kind)
    if kind not in TYPES:
        return None
    try:
        return load_program(write(ruleset_text(formula, placement, kind, escaped), "fuzz.yaml"))
    except Exception as err:  # noqa: BLE001
        assert_located(err)
        return None


def evaluate(program, raw_facts: dict):
    path = write(json.dumps(raw_facts, ensure_ascii=False), "facts.json")
    try:
        facts = bind_facts(program.ruleset, read_facts(path))
    except Exception as err:  # noqa: BLE001
        assert_located(err)
        return None
    return evaluate_and_report(program, facts)


# --- the properties ------------------------------------------------------------------------------------
@given(any_formula)
def test_parse_formula_raises_only_located_syntax_errors(text):
    try:
        node = parse_formula(text, text_origin(text))
    except Exception as err:  # noqa: BLE001
        assert_located(err)
        assert err.code == "formula-syntax"
    else:
        assert node.span is not None


@scaled(1.0)
@given(any_formula, st.sampled_from(sorted(PLACEMENTS)), st.booleans())
def test_checking_any_formula_raises_only_located_errors(formula, placement, escaped):
    load(formula, placement, escaped)


# --- well-typed formulas over every type: they check, so they must evaluate ---------------------------
SCOPE_NAMES = {  # type -> names visible at the top level, and additionally inside an item
    "money": (["m1", "m2", "p_money"], ["amount"]), "rate": (["r1", "p_rate"], ["share"]),
    "number": (["n1"], []), "integer": (["i1", "p_int"], ["qty"]), "boolean": (["b1"], ["ok"]),
    "date": (["d1"], ["due"]), "text": (["t1"], ["code"]), "grade": (["g1"], ["kind"]),
}
ITEM_FIELDS = {"money": "amount", "rate": "share", "integer": "qty", "boolean": "ok", "date": "due",
               "grade": "kind", "text": "code"}
DIMENSIONLESS = ("rate", "number", "integer")


@st.composite
def typed(draw, kind: str, depth: int = 4, entity: bool = False, zero_ok: bool = True) -> str:
    """Formula text of type ``kind``, well-typed by the README's rules, in the top-level scope
    or (``entity``) in the scope of an item record. ``zero_ok``: the literal 0 (which fits any
    type, but is no amount: 0 * 5% is a rate) may stand for the money here."""
    def sub(k, scope=entity, zero=True):
        return draw(typed(k, depth - 1, scope, zero))

    def leaf():
        top, own = SCOPE_NAMES[kind]
        options = top + (own if entity else [])
        literal = {"money": ["0"] * zero_ok, "rate": ["5%", "0%", "100%", "12.5%", "0.05"],
                   "number": ["1.5", "0.0", "3.25"], "integer": ["0", "1", "2", "12", "100"],
                   "boolean": ["true", "false"], "date": ["2024-01-31", "2024-02-29", "9999-12-31"],
                   "text": [], "grade": ['"优秀"', '"合格"']}[kind]
        return draw(st.sampled_from(options + literal))

    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        return leaf()
    agg_where = draw(st.one_of(st.none(), st.just(True))) and sub("boolean", True)
    where = f" where {agg_where}" if agg_where else ""
    choices = ["leaf", "if", "paren"]
    if kind in ("money", "rate", "number", "integer"):
        choices += ["add", "mul", "neg", "abs", "round", "minmax", "clamp"]
        if kind != "integer":
            choices.append("div")
        if kind in ITEM_FIELDS:
            choices.append("agg")
    if kind == "rate":
        choices += ["lookup", "ratio"]
    if kind == "integer":
        choices += ["count", "datepart", "days"]
    if kind == "boolean":
        choices += ["compare", "logic", "not", "anyall"]
    if kind == "date":
        choices += ["shift", "construct", "eom", "minmax", "agg"]
    choice = draw(st.sampled_from(choices))
    if choice == "leaf":
        return leaf()
    if choice == "paren":
        return f"({sub(kind, zero=zero_ok)})"
    if choice == "if":
        return f"(if {sub('boolean')} then {sub(kind, zero=zero_ok)} else {sub(kind)})"
    if choice == "add":
        op = draw(st.sampled_from(["+", "-"]))
        if kind in ("money", "integer"):
            return f"({sub(kind, zero=zero_ok)} {op} {sub(kind)})"
        other = "integer" if kind == "number" else draw(st.sampled_from(DIMENSIONLESS))
        return f"({sub(kind)} {op} {sub(other)})"
    if choice == "mul":
        if kind == "money":
            a, b = sub("money", zero=False), sub(draw(st.sampled_from(DIMENSIONLESS)))
        elif kind == "integer":
            a, b = sub("integer"), sub("integer")
        else:
            a, b = sub(kind), sub(draw(st.sampled_from(["number", "integer"] if kind == "number"
                                                      else DIMENSIONLESS)))
        return f"({a} * {b})" if draw(st.booleans()) else f"({b} * {a})"
    if choice == "div":
        if kind == "money":
            return f"({sub('money', zero=False)} / {sub(draw(st.sampled_from(DIMENSIONLESS)))})"
        return f"({sub(kind)} / {sub(draw(st.sampled_from(['number', 'integer'])))})"
    if choice == "ratio":
        return f"({sub('money', zero=False)} / {sub('money', zero=False)})"
    if choice == "neg":
        return f"-{sub(kind, zero=zero_ok)}"
    if choice == "abs":
        return f"abs({sub(kind, zero=zero_ok)})"
    if choice == "round":
        return f"round({sub(kind, zero=zero_ok)}, {draw(st.integers(0, 12))})"
    if choice == "minmax":
        fn = draw(st.sampled_from(["min", "max"]))
        args = [sub(kind, zero=zero_ok)] + [sub(kind) for _ in range(draw(st.integers(1, 2)))]
        return f"{fn}({', '.join(args)})"
    if choice == "clamp":
        return f"clamp({sub(kind, zero=zero_ok)}, {sub(kind)}, {sub(kind)})"
    if choice == "agg":
        fn = draw(st.sampled_from(["min", "max"] + (["sum"] if kind != "date" else [])))
        return f"{fn}(items.{ITEM_FIELDS[kind]}{where})"
    if choice == "lookup":
        return f"tbl[{sub('grade')}]"
    if choice == "count":
        if draw(st.booleans()):
            return f"count(items{where})"
        return f"distinct(items.{draw(st.sampled_from(sorted(set(ITEM_FIELDS.values()))))}{where})"
    if choice == "datepart":
        return f"{draw(st.sampled_from(['year', 'month', 'day']))}({sub('date')})"
    if choice == "days":
        return f"days_between({sub('date')}, {sub('date')})"
    if choice == "compare":
        compared = draw(st.sampled_from(["money", "rate", "number", "integer", "date", "grade", "text"]))
        ops = ["==", "!="] if compared in ("grade", "text") else ["<", "<=", ">", ">=", "==", "!="]
        right = sub(compared) if compared != "text" else draw(st.sampled_from(['"H001"', "t1"]))
        return f"({sub(compared)} {draw(st.sampled_from(ops))} {right})"
    if choice == "logic":
        return f"({sub('boolean')} {draw(st.sampled_from(['and', 'or']))} {sub('boolean')})"
    if choice == "not":
        return f"not {sub('boolean')}"
    if choice == "anyall":
        return f"{draw(st.sampled_from(['any', 'all']))}(items.ok{where})"
    if choice == "shift":
        fn = draw(st.sampled_from(["add_days", "add_months", "add_years"]))
        return f"{fn}({sub('date')}, {sub('integer')})"
    if choice == "construct":
        return f"date({sub('integer')}, {sub('integer')}, {sub('integer')})"
    assert choice == "eom"
    return f"end_of_month({sub('date')})"


@st.composite
def well_typed(draw):
    kind = draw(st.sampled_from(TYPES))
    placement = draw(st.sampled_from(["rule", "entity"] + ["check"] * (kind == "boolean")))
    return draw(typed(kind, entity=placement == "entity")), placement, kind


_EXAMPLE_FACTS = {"m1": "0.00", "m2": "0.00", "r1": "100%", "n1": "1e-999999", "i1": 0, "b1": False,
                  "d1": "2000-01-01", "t1": "H001", "g1": "优秀", "items": []}


@scaled(1.0)
@given(well_typed(), facts_strategy)
@example(("(r1 / n1)", "rule", "rate"), _EXAMPLE_FACTS)  # found by the long run: a rate of 10^999999
def test_well_typed_formulas_check_evaluate_and_report(formula_placement_kind, raw_facts):
    formula, placement, kind = formula_placement_kind
    text = ruleset_text(formula, placement, kind)
    program = load_program(write(text, "fuzz.yaml"))  # well-typed: must load (a CheckFailed fails)
    evaluate(program, raw_facts)


@scaled(0.25)  # most grammar formulas do not check: 4 are drawn for each that runs
@given(grammar_formulas, st.sampled_from(sorted(PLACEMENTS)), facts_strategy)
def test_grammar_formulas_that_check_evaluate_and_report(formula, placement, raw_facts):
    program = load(formula, placement)
    assume(program is not None)
    evaluate(program, raw_facts)


# Formulas the generator rarely hits by chance, all of which must end in a located error or a value.
EDGE_FORMULAS = [
    "", " ", "\n", "(", ")", "((((", "if", "if b1 then", "if b1 then m1 else", "m1 +", "+", "-",
    "m1 m2", "m1 = m2", "m1 == m2 == m2", "m1 < m2 < m2", "not", "not not b1", "()", "[]", "tbl[]",
    "tbl[g1, g1]", "tbl[g1]", 'tbl["不合格"]', "tbl", "min()", "min(m1)", "max(items)", "count()",
    "count(items where)", "sum(items.amount where qty > 0)", "sum(m1 + m2)", "sum(items.fr)",
    "fr", "fr + 1", "item.fr", "abs(m1, m2)", "round(m1)", "round(m1, 13)", "round(m1, n1)",
    "round(m1, -1)", "clamp(m1, m2)", "date(2024, 2, 30)", "date(i1, i1, i1)", "year(m1)",
    "add_days(d1, i1)", "add_months(d1, i1)", "days_between(d1, d1)", "end_of_month(d1)",
    '__import__("os").system("true")', "eval(\"1\")", "a.__class__.__mro__", "m1.__class__",
    "__builtins__", "exec", "open(\"/etc/passwd\")", "getattr(m1, \"real\")", "m1.real", "m1.imag",
    "(lambda: 1)()", "[x for x in items]", "m1 if b1 else m2", "m1 ? m2 : 0", "m1 // m2", "m1 ** 2",
    "m1 % 2", "m1 ^ 2", "m1 & m2", "m1 | m2", "!b1", "b1 && b1", "m1 <> m2", "m1 =< m2", "m1 → m2",
    "１２３", "ｍ１", "m1　+　m2", "m1＋m2", "m1 × 2", "（m1）", "“优秀”", "'优秀'", '"', '"""',
    "\x00", "m1\x00", "\ufeffm1", "m1\u200b", "\ud800", "😀", "金额 + 1", "m1 + 1万", "1,000",
    "1.", ".5", "1e5", "1E+5", "0x10", "1_", "1__0", "_1", "5 %", "%5", "5%%", "2024-02-30",
    "2024-01-15-1", "20240115", "9" * 31, "9" * 30, "1" * 31 + "%", "(" * 200 + "m1" + ")" * 200,
    "-" * 99 + "m1", "-" * 100 + "m1", "not " * 150 + "b1", "m1 + " * 3000 + "m1",
    "m1" * (MAX_FORMULA_CHARS // 2) + "x", "a" * (MAX_FORMULA_CHARS + 1),
    "if " * 60 + "b1" + " then m1 else m2" * 60,
    "min(" * 120 + "m1" + ", m2)" * 120,
]


@pytest.mark.parametrize("formula", EDGE_FORMULAS, ids=range(len(EDGE_FORMULAS)))
@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_edge_formulas(formula, placement):
    try:
        parse_formula(formula, text_origin(formula))
    except Exception as err:  # noqa: BLE001
        assert_located(err)
    program = load(formula, placement)
    if program is not None:
        evaluate(program, {"m1": "1.00", "m2": "0.00", "r1": "0", "n1": "0", "i1": 0, "b1": True,
                           "d1": "2024-01-31", "t1": "x", "g1": "优秀", "items": []})


# --- found by the fuzzers, fixed since (datatypes._wide and datatypes.shift) ---------------------------
# A number longer than the default 28 digits made `run` exit 70; a rate of 10^999998 overflowed its
# percentage; a 30-digit percentage was rounded to 28 digits.
def test_display_of_a_long_number_does_not_crash():
    from rulesengine.core.datatypes import NUMBER, display
    value = Decimal("12345678901234567890123.123456789")
    # shown to 8 places: .123456789 -> .12345679 (half up), marked ≈
    assert display(value, NUMBER) == "≈12345678901234567890123.12345679"


def test_display_of_a_huge_rate_does_not_crash():
    from rulesengine.core.datatypes import RATE, display
    assert display(Decimal("1E+999999"), RATE).endswith("%")


def test_long_percentage_literal_is_exact():
    text = "123456789012345678901234567891%"
    assert parse_formula(text, text_origin(text)).value == Decimal("1234567890123456789012345678.91")


def test_long_percentage_fact_is_exact():
    from rulesengine.core.datatypes import RATE, coerce
    assert coerce("123456789012345678901234567891%", RATE) == Decimal("1234567890123456789012345678.91")
