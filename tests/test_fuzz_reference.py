"""Differential fuzzing (issue 6, part 3b): random well-typed arithmetic formulas over money,
rate, number and integer inputs, evaluated by the engine's two back-ends (Decimal and fixed-point),
agree exactly with an independent reference evaluator written here from the README's semantics.

The semantics the reference implements (README, "The formula language"; evaluator.py):

* every operation is ``decimal`` arithmetic in a context of 34 significant digits, rounding
  half-even, exponents within ±999,999, trapping overflow and invalid operations;
* literals are exact (``1_000.50`` is 1000.50, ``12.5%`` is 0.125); ``+x`` is ``x``;
* ``min``/``max`` give the first smallest/largest argument, ``abs`` rounds to the context,
  ``round(x, p)`` is half-up to ``p`` places, ``clamp(x, lo, hi)`` is ``min(max(x, lo), hi)``;
* ``if`` evaluates only the branch taken, ``and``/``or`` stop early, comparisons are exact;
* a division by zero is the error ``division-by-zero`` located at the divisor; overflow or a
  result too long to keep is the error ``arithmetic`` located at the formula;
* a money rule's result is settled to 28 significant digits (half-even), then rounded half-up
  to 2 places; other types are not rounded; no fact and no result is a signed zero or has a
  positive exponent below 34 digits (-0.00 is 0.00, 0E+2 is 0, 1E+3 is 1000).

Formulas are built as trees by type (money ± money, money × rate, money ÷ money is a rate, the
literal 0 fits any type, ...), printed with the fewest brackets the grammar needs (and some
extra), and evaluated by the engine in a ruleset with a rule ``out`` of the formula's type and
a rule ``twice: out + out``, which sees ``out`` as rounded.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import event, example, given, note
from hypothesis import strategies as st

from conftest import METADATA
from fuzzing import WORK, scaled
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts
from rulesengine.evaluate.fixedpoint import FastProgram
from rulesengine.check.model import FactSet
from rulesengine.core.source import Span

pytestmark = pytest.mark.fuzz

CTX = decimal.Context(prec=34, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
                      traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
SETTLE = decimal.Context(prec=28, rounding=ROUND_HALF_EVEN)
EXACT = decimal.Context(prec=200)  # for literals: no rounding at all

INPUTS = {"m1": "money", "m2": "money", "m3": "money", "r1": "rate", "r2": "rate",
          "n1": "number", "n2": "number", "i1": "integer", "i2": "integer"}
BY_KIND = {kind: [name for name, k in INPUTS.items() if k == kind] for kind in set(INPUTS.values())}
DIMENSIONLESS = ("rate", "number", "integer")


# --- syntax trees ------------------------------------------------------------------------------------
@dataclass(eq=False)
class Node:
    kind: str  # "name" "lit" "neg" "pos" "bin" "call" "round" "if" "cmp" "logic" "not" "bool"
    value: object = None  # name id, literal (text, Decimal), operator, function, places, bool
    args: list = field(default_factory=list)
    paren: bool = False  # extra brackets, beyond what the grammar needs


LEVEL = {"if": 0, "or": 1, "and": 2, "not": 3, "cmp": 4, "sum": 5, "product": 6, "unary": 7,
         "atom": 8}


def level(node: Node) -> int:
    if node.kind == "bin":
        return LEVEL["sum" if node.value in "+-" else "product"]
    if node.kind == "logic":
        return LEVEL[node.value]
    return LEVEL.get({"neg": "unary", "pos": "unary", "cmp": "cmp", "not": "not", "if": "if"}
                     .get(node.kind, "atom"))


class Printer:
    """Formula text with the position of every node (as the parser's spans give it)."""

    def __init__(self):
        self.parts: list[str] = []
        self.size = 0
        self.start: dict[int, int] = {}

    def put(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def text(self, node: Node) -> str:
        self.node(node, 0)
        return "".join(self.parts)

    def node(self, node: Node, needed: int) -> None:
        wrap = node.paren or level(node) < needed
        if wrap:
            self.put("(")
        self.start[id(node)] = self.size
        k, a = node.kind, node.args
        if k == "name":
            self.put(node.value)
        elif k == "lit":
            self.put(node.value[0])
        elif k == "bool":
            self.put("true" if node.value else "false")
        elif k in ("neg", "pos"):
            self.put("-" if k == "neg" else "+")
            self.node(a[0], LEVEL["unary"])
            if k == "pos":  # the parser drops '+': the node is its operand
                self.start[id(node)] = self.start[id(a[0])]
        elif k == "not":
            self.put("not ")
            self.node(a[0], LEVEL["not"])
        elif k in ("bin", "cmp", "logic"):
            own = level(node)
            self.node(a[0], own + (k == "cmp"))  # comparisons do not chain
            self.put(f" {node.value} ")
            self.node(a[1], own + 1)
        elif k in ("call", "round"):
            self.put(f"{'round' if k == 'round' else node.value}(")
            for i, arg in enumerate(a):
                if i:
                    self.put(", ")
                self.node(arg, 0)
            if k == "round":
                self.put(f", {node.value}")
            self.put(")")
        elif k == "if":
            self.put("if ")
            self.node(a[0], 0)
            self.put(" then ")
            self.node(a[1], 0)
            self.put(" else ")
            self.node(a[2], 0)
        if wrap:
            self.put(")")


# --- the generator -----------------------------------------------------------------------------------
def _digits(max_len: int) -> st.SearchStrategy[str]:
    return st.one_of(st.integers(1, 10**6).map(str),
                     st.integers(1, 10**max_len - 1).map(str))


def _fraction(max_len: int) -> st.SearchStrategy[str]:
    """1 to ``max_len`` decimal digits (from integers: text strategies may be seeded with
    constants that do not fit a pattern)."""
    return st.builds(lambda width, n: str(n % 10**width).zfill(width),
                     st.integers(1, max_len), st.integers(0, 10**max_len - 1))


def _underscored(text: str, draw) -> str:
    """Sometimes group digits with '_' (1_000_000), which the grammar allows."""
    if len(text) > 3 and draw(st.booleans()):
        head = len(text) % 3 or 3
        return "_".join([text[:head]] + [text[i:i + 3] for i in range(head, len(text), 3)])
    return text


@st.composite
def literal(draw, kind: str) -> Node:
    if kind == "zero":
        text = draw(st.sampled_from(["0", "0.0", "0.00", "00", "0_0"]))
        return Node("lit", (text, Decimal(text.replace("_", ""))))
    if kind == "integer":
        text = draw(_digits(30))
        return Node("lit", (_underscored(text, draw), Decimal(text)))
    if kind == "number":
        whole = draw(st.one_of(st.just("0"), _digits(15)))
        frac = draw(_fraction(14))
        return Node("lit", (f"{whole}.{frac}", Decimal(f"{whole}.{frac}")))
    assert kind == "rate"
    # at most 28 digits: longer percentages hit a known bug (test_fuzz_formulas.py)
    whole = draw(st.sampled_from(["0", "5", "10", "12", "80", "100", "150"]) | _digits(14))
    frac = draw(st.one_of(st.just(""), _fraction(13).map(lambda f: "." + f)))
    text = whole + frac
    return Node("lit", (f"{text}%", EXACT.scaleb(Decimal(text), -2)))


@st.composite
def expr(draw, kind: str, depth: int, zero_ok: bool = True) -> Node:
    """A formula of type ``kind`` (money, rate, number, integer). ``zero_ok``: the literal 0
    (which fits any type) may stand here."""
    paren = draw(st.integers(0, 9)) == 0

    def sub(k, ok=True):
        return draw(expr(k, depth - 1, ok))

    def dimensionless():
        return draw(st.sampled_from(DIMENSIONLESS))

    if depth <= 0 or draw(st.integers(0, 4)) == 0:
        pick = draw(st.integers(0, 9))
        if zero_ok and pick == 0:
            node = draw(literal("zero"))
        elif kind != "money" and pick <= 3:
            node = draw(literal(kind))
        else:
            node = Node("name", draw(st.sampled_from(BY_KIND[kind])))
        node.paren = paren
        return node
    forms = ["add", "mul", "neg", "pos", "abs", "round", "minmax", "clamp", "if"]
    if kind != "integer":
        forms.append("div")
    form = draw(st.sampled_from(forms))
    if form == "add":
        op = draw(st.sampled_from("+-"))
        if kind in ("money", "integer"):
            a, b = sub(kind, zero_ok), sub(kind)  # 0 + 0 is the literal 0's type again
        else:
            other = "integer" if kind == "number" else dimensionless()
            a, b = (sub(kind), sub(other)) if draw(st.booleans()) else (sub(other), sub(kind))
        node = Node("bin", op, [a, b])
    elif form == "mul":
        if kind == "money":
            a, b = sub("money", False), sub(dimensionless(), False)
        elif kind == "integer":
            a, b = sub("integer"), sub("integer")
        elif kind == "number":
            a, b = sub("number"), sub(draw(st.sampled_from(["number", "integer"])))
        else:
            a, b = sub("rate"), sub(dimensionless())
        node = Node("bin", "*", [a, b] if draw(st.booleans()) else [b, a])
    elif form == "div":
        if kind == "money":
            a, b = sub("money", False), sub(dimensionless(), False)
        elif kind == "rate":
            choice = draw(st.integers(0, 2))
            a, b = [(sub("money", False), sub("money", False)),
                    (sub("rate"), sub(dimensionless())),
                    (sub(dimensionless()), sub("rate"))][choice]
        else:
            a, b = sub(draw(st.sampled_from(["number", "integer"]))), sub("number")
        node = Node("bin", "/", [a, b])
    elif form in ("neg", "pos", "abs"):
        inner = sub(kind, zero_ok)
        node = Node(form, None, [inner]) if form != "abs" else Node("call", "abs", [inner])
    elif form == "round":
        node = Node("round", draw(st.integers(0, 12)), [sub(kind, zero_ok)])
    elif form in ("minmax", "clamp"):
        count = 3 if form == "clamp" else draw(st.integers(2, 4))
        name = "clamp" if form == "clamp" else draw(st.sampled_from(["min", "max"]))
        node = Node("call", name, [sub(kind, zero_ok)] + [sub(kind) for _ in range(count - 1)])
    else:
        node = Node("if", None, [draw(condition(depth - 1)), sub(kind, zero_ok), sub(kind)])
    node.paren = paren
    return node


@st.composite
def condition(draw, depth: int) -> Node:
    paren = draw(st.integers(0, 9)) == 0
    form = draw(st.sampled_from(["cmp", "cmp", "cmp", "logic", "not", "bool"] if depth > 0 else ["bool"]))
    if form == "cmp":
        kind = draw(st.sampled_from(["money", "dimensionless"]))
        if kind == "money":
            a, b = draw(expr("money", depth - 1)), draw(expr("money", depth - 1))
        else:
            a = draw(expr(draw(st.sampled_from(DIMENSIONLESS)), depth - 1))
            b = draw(expr(draw(st.sampled_from(DIMENSIONLESS)), depth - 1))
        node = Node("cmp", draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="])), [a, b])
    elif form == "logic":
        node = Node("logic", draw(st.sampled_from(["and", "or"])),
                    [draw(condition(depth - 1)), draw(condition(depth - 1))])
    elif form == "not":
        node = Node("not", None, [draw(condition(depth - 1))])
    else:
        node = Node("bool", draw(st.booleans()))
    node.paren = paren
    return node


def plain(value: Decimal) -> str:
    """A decimal as a facts file writes it: digits, no exponent."""
    return f"{value:f}"


# --- facts, as they are written in a facts file ---------------------------------------------------------
MAX_MONEY = Decimal("999999999999999999.99")
money_facts = st.one_of(st.sampled_from(["0", "0.00", "0.01", "-0.01", "1", "100.00", "-0.00",
                                         "999999999999999999.99", "-999999999999999999.99"]),
                        st.decimals(min_value=-MAX_MONEY, max_value=MAX_MONEY, places=2).map(plain),
                        st.decimals(min_value=-10**6, max_value=10**6, places=2).map(plain))
rate_facts = st.one_of(st.sampled_from(["0", "0.05", "1", "-0.5", "5%", "100%", "12.5%", "0.333333"]),
                       st.decimals(min_value=-10, max_value=10, places=6).map(plain),
                       st.decimals(min_value=-10**6, max_value=10**6, places=12).map(plain))
scientific = st.builds(lambda m, e: f"{m}e{e:+d}",
                       st.sampled_from(["1", "-1", "9.99", "1.5", "3", "-7.25"]),
                       st.integers(-999_997, 999_997))
number_facts = st.one_of(st.sampled_from(["0", "1", "-1", "0.5", "3", "1e+999999", "1e-999999",
                                          "9.9e+999998", "1e+500000", "1e-500000"]),
                         st.decimals(min_value=-10**9, max_value=10**9, places=6).map(plain),
                         scientific,
                         st.builds(lambda sign, whole, frac: f"{sign}{whole}.{frac}",
                                   st.sampled_from(["", "-"]), st.integers(1, 10**41 - 1),
                                   _fraction(40)))
integer_facts = st.one_of(st.sampled_from([0, 1, -1, 2, 3, 12, 10**17, 999999999999999999]),
                          st.integers(-999999999999999999, 999999999999999999),
                          st.integers(-1000, 1000))
facts_strategy = st.fixed_dictionaries({
    name: {"money": money_facts, "rate": rate_facts, "number": number_facts,
           "integer": integer_facts}[kind] for name, kind in INPUTS.items()})


def typed_fact(raw, kind: str) -> Decimal:
    """The value of a fact as the README defines it (money exact to the fen; "5%" is 0.05)."""
    if kind == "integer":
        return Decimal(int(raw))
    text = str(raw)
    if text.endswith("%"):
        return EXACT.scaleb(Decimal(text[:-1]), -2)
    value = Decimal(text)
    value = value.quantize(Decimal("0.01")) if kind == "money" else value
    return unsigned(value)


def unsigned(value: Decimal) -> Decimal:
    """A value in its plain form (README, "The formula language"): -0.00 is 0.00, 0E+2 is 0,
    1E+3 is 1000 (below 34 digits)."""
    exponent = value.as_tuple().exponent
    if value.is_zero():
        return Decimal(0) if exponent > 0 else value.copy_abs()
    if exponent > 0 and value.adjusted() < 34:
        return value.quantize(Decimal(1), context=EXACT)
    return value


# --- the reference evaluator -------------------------------------------------------------------------
class RefDivisionByZero(Exception):
    def __init__(self, divisor: Node):
        self.divisor = divisor


class RefArithmetic(Exception):
    pass


def first(values: list, better) -> Decimal:
    best = values[0]
    for value in values[1:]:
        if better(value, best):
            best = value
    return best


def reference(node: Node, env: dict):
    k, a = node.kind, node.args
    if k == "name":
        return env[node.value]
    if k == "lit":
        return node.value[1]
    if k == "bool":
        return node.value
    if k == "pos":
        return reference(a[0], env)
    if k == "neg":
        return CTX.minus(reference(a[0], env))
    if k == "not":
        return not reference(a[0], env)
    if k == "logic":
        left = reference(a[0], env)
        if node.value == "and":
            return reference(a[1], env) if left else False
        return True if left else reference(a[1], env)
    if k == "cmp":
        left, right = reference(a[0], env), reference(a[1], env)
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right,
                "==": left == right, "!=": left != right}[node.value]
    if k == "if":
        return reference(a[1], env) if reference(a[0], env) else reference(a[2], env)
    if k == "bin":
        left, right = reference(a[0], env), reference(a[1], env)
        if node.value == "/" and right == 0:
            raise RefDivisionByZero(a[1])
        return {"+": CTX.add, "-": CTX.subtract, "*": CTX.multiply, "/": CTX.divide}[node.value](left, right)
    if k == "round":
        places = Decimal((0, (1,), -node.value))
        return reference(a[0], env).quantize(places, rounding=ROUND_HALF_UP, context=CTX)
    values = [reference(arg, env) for arg in a]
    if node.value == "abs":
        return CTX.abs(values[0])
    if node.value == "min":
        return first(values, lambda x, best: x < best)
    if node.value == "max":
        return first(values, lambda x, best: x > best)
    assert node.value == "clamp"
    x, low, high = values
    x = low if low > x else x
    return high if high < x else x


def settle_money(value: Decimal) -> Decimal:
    rounded = SETTLE.plus(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=CTX)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def expected(node: Node, kind: str, env: dict):
    """("value", out, twice) or ("division-by-zero", divisor node) or ("arithmetic", None)."""
    try:
        out = unsigned(reference(node, env))
        if kind == "money":
            out = settle_money(out)
        twice = unsigned(CTX.add(out, out))
        if kind == "money":
            twice = settle_money(twice)
        return "value", out, twice
    except RefDivisionByZero as err:
        return "division-by-zero", err.divisor, None
    except (decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero):
        return "arithmetic", None, None


# --- the engine ----------------------------------------------------------------------------------------
def ruleset_text(formula: str, kind: str) -> tuple[str, int, int]:
    """The ruleset, and the line and column of the formula's first character."""
    inputs = "".join(f"  {name}: {{label: 输入{name}, type: {k}, citation: 一}}\n"
                     for name, k in INPUTS.items())
    head = METADATA + "inputs:\n" + inputs + "rules:\n"
    line = head.count("\n") + 1
    prefix = f"  out: {{label: 结果, type: {kind}, citation: 二, formula: \""
    twice = f"  twice: {{label: 两倍, type: {kind}, citation: 二, formula: out + out}}\n"
    return head + prefix + formula + "\"}\n" + twice, line, len(prefix) + 1


_PROGRAMS: dict[tuple[str, str], object] = {}
SPAN = Span("facts", 1, 1)


BACKENDS = ("decimal", "fixed")  # both back-ends answer to the one reference


def engine(formula: str, kind: str, raw: dict, backend: str = "decimal"):
    text, line, col = ruleset_text(formula, kind)
    path = WORK / "reference.yaml"
    path.write_text(text, encoding="utf-8")
    program = load_program(str(path))  # well-typed: must load (a CheckFailed fails the test)
    facts = bind_facts(program.ruleset, FactSet(raw, lambda p: SPAN, lambda p: SPAN))
    if backend == "fixed":
        program = FastProgram(program)  # the same interface, computed in exact scaled integers
    return program.evaluate(facts), line, col


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(["money", "money", "rate", "number", "integer"]))
    tree = draw(expr(kind, draw(st.integers(1, 5))))
    return kind, tree


def check_against_reference(kind: str, tree: Node, raw: dict, *, fuzzing: bool = True) -> None:
    printer = Printer()
    formula = printer.text(tree)
    env = {name: typed_fact(raw[name], k) for name, k in INPUTS.items()}
    outcome, detail, twice = expected(tree, kind, env)
    if fuzzing:
        note(f"formula ({kind}): {formula}")
        event(f"{kind}: {outcome}")
    for backend in BACKENDS:
        evaluation, line, col = engine(formula, kind, raw, backend)
        _agrees(evaluation, outcome, detail, twice, formula, printer, tree, line, col, backend)


def _agrees(evaluation, outcome, detail, twice, formula, printer, tree, line, col, backend) -> None:
    codes = [err.code for err in evaluation.errors]
    if outcome == "value":
        assert codes == [], [str(e) for e in evaluation.errors]
        got = evaluation.values["out"]
        assert str(got) == str(detail), f"{formula}: {backend} back-end {got!r}, reference {detail!r}"
        assert str(evaluation.values["twice"]) == str(twice)
        return
    assert codes == [outcome], [str(e) for e in evaluation.errors]
    assert "out" not in evaluation.values and evaluation.skipped.get("twice") == "out"
    span = evaluation.errors[0].span
    offset = printer.start[id(detail)] if outcome == "division-by-zero" else printer.start[id(tree)]
    assert (span.line, span.col) == (line, col + offset), (formula, str(evaluation.errors[0]))


@scaled(2.0)
@given(cases(), facts_strategy)
@example(("money", Node("bin", "/", [Node("name", "m1"), Node("lit", ("0", Decimal(0)))])),
         dict.fromkeys(INPUTS, "1"))
@example(("money", Node("bin", "*", [Node("name", "m1"), Node("name", "n1")])),
         {**dict.fromkeys(INPUTS, "1"), "m1": "999999999999999999.99", "n1": "1e+999999"})
@example(("rate", Node("bin", "/", [Node("name", "m1"), Node("name", "m2")])),
         {**dict.fromkeys(INPUTS, "1"), "m1": "1.00", "m2": "3.00"})
def test_engine_agrees_with_the_reference_evaluator(case, raw):
    kind, tree = case
    check_against_reference(kind, tree, raw)


# Worked by hand, so that the reference itself is checked against the README.
@pytest.mark.parametrize("formula_tree, kind, facts, want", [
    # 150000 / 450000 * 300000 = 99999.999…9 (34 digits) -> settled to 28 digits: 100000 -> 100000.00
    (Node("bin", "*", [Node("bin", "/", [Node("name", "m1"), Node("name", "m2")]), Node("name", "m3")]),
     "money", {"m1": "150000", "m2": "450000", "m3": "300000"}, "100000.00"),
    # 0.25 * 0.05 = 0.0125 -> 0.01; 0.30 * 0.05 = 0.015 -> 0.02 (half up, not half even)
    (Node("bin", "*", [Node("name", "m1"), Node("name", "r1")]), "money", {"m1": "0.25", "r1": "0.05"},
     "0.01"),
    (Node("bin", "*", [Node("name", "m1"), Node("name", "r1")]), "money", {"m1": "0.30", "r1": "0.05"},
     "0.02"),
    # 10.01 * 5% = 0.5005 -> 0.50; -10.01 * 5% = -0.5005 -> -0.50 (half up: away from zero at .5)
    (Node("bin", "*", [Node("name", "m1"), Node("lit", ("5%", Decimal("0.05")))]), "money",
     {"m1": "10.01"}, "0.50"),
    (Node("bin", "*", [Node("name", "m1"), Node("lit", ("5%", Decimal("0.05")))]), "money",
     {"m1": "-10.10"}, "-0.51"),
    # -0.004 rounds to 0.00, never -0.00
    (Node("bin", "*", [Node("name", "m1"), Node("name", "r1")]), "money", {"m1": "-0.01", "r1": "0.4"},
     "0.00"),
    # 1 / 3 keeps 34 digits in a rate
    (Node("bin", "/", [Node("name", "m1"), Node("name", "m2")]), "rate", {"m1": "1", "m2": "3"},
     "0." + "3" * 34),
    # round(2.5, 0) = 3 (half up), min takes the first of equals
    (Node("round", 0, [Node("name", "n1")]), "number", {"n1": "2.5"}, "3"),
    (Node("call", "min", [Node("name", "n1"), Node("name", "n2")]), "number", {"n1": "1.0", "n2": "1.00"},
     "1.0"),
])
def test_reference_evaluator_matches_hand_worked_values(formula_tree, kind, facts, want):
    raw = {**dict.fromkeys(INPUTS, "1"), **facts}
    env = {name: typed_fact(raw[name], k) for name, k in INPUTS.items()}
    assert str(expected(formula_tree, kind, env)[1]) == want
    check_against_reference(kind, formula_tree, raw, fuzzing=False)
