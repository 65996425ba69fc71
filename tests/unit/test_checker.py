"""rulesengine.check.checker and rulesengine.check.typer: the type algebra (arithmetic, unify) and the checker on small rulesets.

Each ruleset is HEADER (19 lines: metadata, one enum, one input of every type) followed
by a body. Positions are counted by hand: with the body from ``rule()``, the formula is
on line 25 and "    formula: " is 13 characters, so formula offset 0 is column 14.
"""

import pytest

from conftest import METADATA
from rulesengine.check.checker import check
from rulesengine.check.typer import arithmetic, unify
from rulesengine.core.datatypes import BOOLEAN, DATE, INTEGER, MONEY, NUMBER, RATE, ZERO, Type
from rulesengine.core.errors import CheckFailed
from rulesengine.load.loader import load_ruleset

HEADER = METADATA + """\
enums:
  grade: {label: 等次, values: [优秀, 良好]}
inputs:
  a: {label: 甲, type: money, citation: 一}
  b: {label: 乙, type: money, citation: 一}
  p: {label: 率, type: rate, citation: 一}
  n: {label: 数, type: number, citation: 一}
  k: {label: 件, type: integer, citation: 一}
  c: {label: 是否, type: boolean, citation: 一}
  g: {label: 等, type: grade, citation: 一}
  d: {label: 日, type: date, citation: 一}
"""
# Lines 1-8 metadata, 9-10 the enum, 11 "inputs:", 12-19 the inputs a b p n k c g d.
BODY_LINE = 20            # the first line of a body
FORMULA_LINE = 25         # rule(): rules 20, r 21, label 22, type 23, citation 24, formula 25
FORMULA_COL = 14          # len("    formula: ") == 13


def rule(formula: str, type_: str = "money") -> str:
    return ("rules:\n"
            "  r:\n"
            "    label: 规则\n"
            f"    type: {type_}\n"
            "    citation: 二\n"
            f"    formula: {formula}\n")


def load(tmp_path, body: str):
    path = tmp_path / "t.yaml"
    path.write_text(HEADER + body, encoding="utf-8")
    return load_ruleset(str(path))  # schema errors would raise here, not in the checker


def checked(tmp_path, body: str):
    """The checked ruleset (fails the test if the checker reports anything)."""
    return check(load(tmp_path, body))


def failures(tmp_path, body: str) -> list:
    """The errors the checker collects for this body."""
    doc = load(tmp_path, body)
    with pytest.raises(CheckFailed) as info:
        check(doc)
    return info.value.errors


def where(err) -> tuple[int, int]:
    return err.span.line, err.span.col


def test_header_layout():
    assert HEADER.count("\n") == BODY_LINE - 1
    assert rule("x").splitlines()[FORMULA_LINE - BODY_LINE] == "    formula: x"


# --- formulas the checker accepts -------------------------------------------------------------------
@pytest.mark.parametrize("formula, type_", [
    ("a + b", "money"),                      # money + money
    ("a - b", "money"),
    ("a * p", "money"),                      # money * rate
    ("p * a", "money"),
    ("a * n", "money"),                      # money * number
    ("a * 2", "money"),
    ("a / b", "rate"),                       # money / money is a rate
    ("a / p", "money"),                      # money / rate
    ("a / 2", "money"),
    ("-a", "money"),
    ("'0'", "money"),                        # the literal 0 is a valid amount (quoted for YAML)
    ("max(0, a - b)", "money"),              # ... also next to one
    ("max(a - b, 0)", "money"),
    ("if c then 0 else a", "money"),
    ("min(a, b)", "money"),
    ("abs(a - b)", "money"),
    ("round(a * p, 2)", "money"),
    ("clamp(p, 0, 1)", "rate"),              # rate, 0, integer -> rate
    ("p + 1%", "rate"),
    ("n * p", "rate"),
    ("k * 2", "integer"),
    ("k / 2", "number"),                     # dividing integers need not give an integer
    ("k", "number"),                         # integer fits number
    ("k", "rate"),                           # ... and rate
    ("n", "rate"),                           # number fits rate
    ("a > 0", "boolean"),
    ("a >= b", "boolean"),
    ("d <= d", "boolean"),                   # dates can be ordered
    ("not c", "boolean"),
    ("c and a > b or not c", "boolean"),
    ('g == "优秀"', "boolean"),
    ('g != "良好"', "boolean"),
    ('if g == "优秀" then 5% else 10%', "rate"),
    ('if c then "优秀" else "良好"', "grade"),  # literal values of the enum fit the enum
])
def test_accepted(tmp_path, formula, type_):
    ruleset = checked(tmp_path, rule(formula, type_))
    assert ruleset.declarations["r"].type.kind == ("enum" if type_ == "grade" else type_)


def test_money_plus_money_is_money(tmp_path):
    ruleset = checked(tmp_path, rule("a + b"))
    assert ruleset.declarations["r"].type == MONEY


# --- one error in one formula -----------------------------------------------------------------------
@pytest.mark.parametrize("formula, type_, code, offset", [
    # Offsets are counted in the formula text; the error column is 14 + offset.
    ("a + p", "money", "type-mismatch", 0),           # money + rate: the whole sum, from a
    ("p + a", "money", "type-mismatch", 0),
    ("a * b", "money", "type-mismatch", 0),           # money * money
    ("n / a", "rate", "type-mismatch", 0),            # number / money
    ("1.5 / a", "rate", "type-mismatch", 0),
    ("p / a", "rate", "type-mismatch", 0),            # rate / money
    ("b + (a - p)", "money", "type-mismatch", 5),     # b(0) ' '(1) +(2) ' '(3) ((4) a(5)
    ("a + 100", "money", "type-mismatch", 0),         # only the literal 0 is unit-less
    ("max(1, a)", "money", "type-mismatch", 7),       # m0 a1 x2 (3 1(4) ,5 ' '6 a(7)
    ("if c then a else p", "money", "type-mismatch", 0),   # branches disagree: the whole if
    ("if a then a else b", "money", "type-mismatch", 3),   # i0 f1 ' '2 a(3): not a condition
    ("p * 2", "money", "type-mismatch", 0),           # declared money, formula gives a rate
    ("a * p", "rate", "type-mismatch", 0),            # declared rate, formula gives money
    ("k / 2", "integer", "type-mismatch", 0),         # declared integer, formula gives a number
    ("a > p", "boolean", "type-mismatch", 0),         # comparing money with a rate
    ('g > "优秀"', "boolean", "type-mismatch", 0),     # enum values have no order
    ("not a", "boolean", "type-mismatch", 4),         # n0 o1 t2 ' '3 a(4)
    ("c and a", "boolean", "type-mismatch", 6),       # c0 ' '1 a2 n3 d4 ' '5 a(6)
    ("a + c", "money", "type-mismatch", 4),           # a boolean in a sum: a0 ' '1 +2 ' '3 c(4)
    ("-c", "boolean", "type-mismatch", 0),
    ("round(a, k)", "money", "type-mismatch", 9),     # places must be a literal: r0..(5 a6 ,7 ' '8 k(9)
    ('g == "优良"', "boolean", "unknown-enum-value", 5),  # g0 ' '1 =2 =3 ' '4 "(5)
    ("a + x", "money", "unknown-name", 4),
    ("max", "money", "unknown-name", 0),              # a function used as a value
    ("grade", "money", "unknown-name", 0),            # an enum type used as a value
    ("sqrt(a)", "money", "unknown-function", 0),
    ("abs(a, b)", "money", "argument-count", 0),
    ("round(a)", "money", "argument-count", 0),
    ("max(a)", "money", "argument-count", 0),
])
def test_one_error(tmp_path, formula, type_, code, offset):
    errors = failures(tmp_path, rule(formula, type_))
    assert [e.code for e in errors] == [code]
    assert where(errors[0]) == (FORMULA_LINE, FORMULA_COL + offset)


def test_money_plus_rate_marks_the_whole_sum_and_hints_multiply(tmp_path):
    (err,) = failures(tmp_path, rule("a + p"))
    # "a + p" is 5 characters: columns 14..18, end column (exclusive) 19.
    assert (err.span.line, err.span.col, err.span.end_line, err.span.end_col) == (25, 14, 25, 19)
    assert "multiply" in err.hint


def test_enum_value_it_does_not_have(tmp_path):
    (err,) = failures(tmp_path, rule('g == "优良"', "boolean"))
    assert err.code == "unknown-enum-value"
    # The quoted value: "(5) 优(6) 良(7) "(8) -> columns 19..22, end 23.
    assert (err.span.line, err.span.col, err.span.end_col) == (25, 19, 23)
    # "优良" shares one character with each value; the hint suggests one and lists both.
    assert "did you mean" in err.hint
    assert "优秀" in err.hint and "良好" in err.hint


def test_enum_near_miss_names_the_value(tmp_path):
    (err,) = failures(tmp_path, rule('g == "优"', "boolean"))
    assert err.code == "unknown-enum-value"
    assert "did you mean '优秀'" in err.hint   # "优" is in "优秀" only


def test_unknown_name_did_you_mean(tmp_path):
    body = ("rules:\n"                 # 20
            "  total:\n"               # 21
            "    label: 总\n"           # 22
            "    type: money\n"        # 23
            "    citation: 二\n"        # 24
            "    formula: a + b\n"     # 25
            "  r:\n"                   # 26
            "    label: 规则\n"          # 27
            "    type: money\n"        # 28
            "    citation: 二\n"        # 29
            "    formula: totl - a\n")  # 30: "totl" at column 14
    (err,) = failures(tmp_path, body)
    assert err.code == "unknown-name"
    assert where(err) == (30, 14)
    assert "did you mean 'total'" in err.hint   # one letter missing


def test_unknown_function_did_you_mean(tmp_path):
    (err,) = failures(tmp_path, rule("mx(a, b)"))
    assert err.code == "unknown-function"
    # The function name only: "mx" is columns 14..15, end 16.
    assert (err.span.col, err.span.end_col) == (14, 16)
    assert "did you mean 'max'" in err.hint


def test_unknown_function_still_checks_its_arguments(tmp_path):
    errors = failures(tmp_path, rule("foo(zz)"))
    # f0 o1 o2 (3 z(4): the function at 14, the unknown argument at 18.
    assert [(e.code, where(e)) for e in errors] == [
        ("unknown-function", (25, 14)), ("unknown-name", (25, 18))]


# --- several errors at once ---------------------------------------------------------------------------
def test_errors_are_collected_not_only_the_first(tmp_path):
    body = ("rules:\n"                       # 20
            "  r1:\n"                        # 21
            "    label: 一\n"                 # 22
            "    type: money\n"              # 23
            "    citation: 二\n"              # 24
            "    formula: a + p\n"           # 25: money + rate, column 14
            "  r2:\n"                        # 26
            "    label: 二\n"                 # 27
            "    type: money\n"              # 28
            "    citation: 二\n"              # 29
            "    formula: b * unknown\n"     # 30: b0 ' '1 *2 ' '3 u(4) -> column 18
            "  r3:\n"                        # 31
            "    label: 三\n"                 # 32
            "    type: boolean\n"            # 33
            "    citation: 二\n"              # 34
            '    formula: g == "优良"\n'      # 35: the quote at offset 5 -> column 19
            "  r4:\n"                        # 36
            "    label: 四\n"                 # 37
            "    type: money\n"              # 38
            "    citation: 二\n"              # 39
            "    formula: a × 2\n"           # 40: "×" at offset 2 -> column 16
            "  r5:\n"                        # 41
            "    label: 五\n"                 # 42
            "    type: money\n"              # 43
            "    citation: 二\n"              # 44
            "    formula: abs(a, b)\n")      # 45: the call, column 14
    errors = failures(tmp_path, body)
    assert [(e.code, where(e)) for e in errors] == [
        ("type-mismatch", (25, 14)),
        ("unknown-name", (30, 18)),
        ("unknown-enum-value", (35, 19)),
        ("formula-syntax", (40, 16)),
        ("argument-count", (45, 14)),
    ]


# --- positions inside differently written formulas ------------------------------------------------------
def test_position_in_flow_mapping_after_cjk(tmp_path):
    body = ("rules:\n"                                                     # 20
            "  r: {label: 乙, type: money, formula: a + zz, citation: 二}\n")  # 21
    # ' '(1) ' '(2) r(3) :(4) ' '(5) {(6) label:(7-12) ' '(13) 乙(14) ,(15) ' '(16)
    # type:(17-21) ' '(22) money(23-27) ,(28) ' '(29) formula:(30-37) ' '(38) a(39)
    # -> the formula starts at column 39; "zz" is offset 4 -> column 43.
    (err,) = failures(tmp_path, body)
    assert err.code == "unknown-name"
    assert (err.span.line, err.span.col, err.span.end_col) == (21, 43, 45)


def test_position_in_literal_block(tmp_path):
    body = ("rules:\n"                 # 20
            "  r:\n"                   # 21
            "    label: 规则\n"          # 22
            "    type: money\n"        # 23
            "    citation: 二\n"        # 24
            "    formula: |\n"         # 25
            "      if c\n"             # 26
            "      then a\n"           # 27
            "      else q\n")          # 28: six blanks, "else " -> q at column 12
    (err,) = failures(tmp_path, body)
    assert err.code == "unknown-name"
    assert where(err) == (28, 12)


def test_position_in_folded_block(tmp_path):
    body = ("rules:\n"                 # 20
            "  r:\n"                   # 21
            "    label: 规则\n"          # 22
            "    type: money\n"        # 23
            "    citation: 二\n"        # 24
            "    formula: >\n"         # 25
            "      b +\n"              # 26
            "      (a - p)\n")         # 27: six blanks, ( at 7, a at 8
    (err,) = failures(tmp_path, body)
    assert err.code == "type-mismatch"   # money - rate, inside the brackets
    assert where(err) == (27, 8)


def test_check_condition_must_be_boolean(tmp_path):
    body = rule("a + b") + (          # rule() is lines 20-25
        "checks:\n"                   # 26
        "  positive:\n"               # 27
        "    label: 检\n"              # 28
        "    condition: a + b\n"      # 29: "    condition: " is 15 characters -> 16
        "    message: 不对\n"           # 30
        "    citation: 二\n")           # 31
    (err,) = failures(tmp_path, body)
    assert err.code == "type-mismatch"
    assert where(err) == (29, 16)


# --- declarations and literal values --------------------------------------------------------------
def test_duplicate_id(tmp_path):
    body = ("rules:\n"                 # 20
            "  a:\n"                   # 21: the rule a repeats the input a (line 12)
            "    label: 重复\n"
            "    type: money\n"
            "    citation: 二\n"
            "    formula: b + b\n")
    (err,) = failures(tmp_path, body)
    assert err.code == "duplicate-id"
    assert where(err) == (21, 3)       # the key "a", after two blanks
    (_, first), = err.related
    assert (first.line, first.col) == (12, 3)


def test_table_errors(tmp_path):
    body = ("tables:\n"                            # 20
            "  t:\n"                               # 21: the table's key at column 3
            "    label: 表\n"                       # 22
            "    key_type: grade\n"                # 23
            "    value_type: rate\n"               # 24
            "    citation: 一\n"                    # 25
            "    rows:\n"                          # 26
            "      - {key: 优秀, value: 5%}\n"       # 27
            "      - {key: 优良, value: 10%}\n"      # 28: 6 blanks, -(7) ' '(8) {(9) key:(10-13) ' '(14) 优(15)
            "      - {key: 优秀, value: 20%}\n"      # 29: 优秀 again, column 15
            + rule("a * t[g]"))
    errors = failures(tmp_path, body)
    assert [(e.code, where(e)) for e in errors] == [
        ("incomplete-table", (21, 3)),   # no row for 良好
        ("bad-value", (28, 15)),         # 优良 is not a grade
        ("duplicate-id", (29, 15)),      # a second row for 优秀
    ]


def test_table_lookup_with_a_value_not_in_the_enum(tmp_path):
    body = ("tables:\n"                            # 20
            "  t:\n"                               # 21
            "    label: 表\n"                       # 22
            "    key_type: grade\n"                # 23
            "    value_type: rate\n"               # 24
            "    citation: 一\n"                    # 25
            "    rows:\n"                          # 26
            "      - {key: 优秀, value: 5%}\n"       # 27
            "      - {key: 良好, value: 10%}\n"      # 28
            "rules:\n"                             # 29
            "  r:\n"                               # 30
            "    label: 规则\n"                      # 31
            "    type: money\n"                    # 32
            "    citation: 二\n"                    # 33
            '    formula: a * t["优良"]\n')         # 34: a0 ' '1 *2 ' '3 t(4) [5 "(6)
    (err,) = failures(tmp_path, body)
    assert err.code == "unknown-enum-value"
    assert where(err) == (34, 14 + 6)


def test_bad_parameter_values(tmp_path):
    body = ("parameters:\n"                # 20
            "  m:\n"                       # 21
            "    label: 额\n"               # 22
            "    type: money\n"            # 23
            "    citation: 一\n"            # 24
            "    value: 1,234.50\n"        # 25: "    value: " is 11 characters -> column 12
            "  q:\n"                       # 26
            "    label: 额二\n"              # 27
            "    type: money\n"            # 28
            "    citation: 一\n"            # 29
            "    value: 1.234\n"           # 30: three decimals
            "  w:\n"                       # 31
            "    label: 额三\n"              # 32
            "    type: money\n"            # 33
            "    citation: 一\n"            # 34
            "    value: 12.5万\n"           # 35: a unit
            + rule("a + b"))
    errors = failures(tmp_path, body)
    assert [(e.code, where(e)) for e in errors] == [
        ("bad-value", (25, 12)), ("bad-value", (30, 12)), ("bad-value", (35, 12))]
    assert "1234.50" in errors[0].hint


def test_unknown_type_did_you_mean(tmp_path):
    body = ("parameters:\n"                                               # 20
            "  m: {label: 额, type: mony, value: 1, citation: 一}\n"       # 21
            + rule("a + b"))
    # ' '(1) ' '(2) m(3) :(4) ' '(5) {(6) label:(7-12) ' '(13) 额(14) ,(15) ' '(16)
    # type:(17-21) ' '(22) m(23): the type name starts at column 23.
    (err,) = failures(tmp_path, body)
    assert err.code == "unknown-name"
    assert where(err) == (21, 23)
    assert "did you mean 'money'" in err.hint


# --- the type algebra ----------------------------------------------------------------------------------
GRADE = Type("enum", enum="grade", values=("优秀", "良好"))
OTHER = Type("enum", enum="other", values=("优秀",))


@pytest.mark.parametrize("op, left, right, expected", [
    # + and -: both sides must be the same kind of quantity (or the literal 0)
    ("+", MONEY, MONEY, MONEY),
    ("-", MONEY, MONEY, MONEY),
    ("+", MONEY, RATE, None),
    ("-", RATE, MONEY, None),
    ("+", MONEY, INTEGER, None),          # a bare amount has no source
    ("+", MONEY, NUMBER, None),
    ("+", ZERO, MONEY, MONEY),
    ("-", MONEY, ZERO, MONEY),
    ("+", RATE, RATE, RATE),
    ("+", RATE, INTEGER, RATE),           # 1 + rate is a rate (growth factors)
    ("+", NUMBER, INTEGER, NUMBER),
    ("+", INTEGER, INTEGER, INTEGER),
    # *: money times a dimensionless factor is money; money times money is nothing
    ("*", MONEY, RATE, MONEY),
    ("*", RATE, MONEY, MONEY),
    ("*", MONEY, NUMBER, MONEY),
    ("*", INTEGER, MONEY, MONEY),
    ("*", ZERO, MONEY, MONEY),
    ("*", MONEY, MONEY, None),
    ("*", INTEGER, INTEGER, INTEGER),
    ("*", INTEGER, NUMBER, NUMBER),
    ("*", RATE, RATE, RATE),
    ("*", RATE, INTEGER, RATE),
    ("*", ZERO, ZERO, INTEGER),           # 0 * 0 is an ordinary integer, not "the literal 0"
    # /: money / money is a rate; money / factor is money; nothing can be divided by money
    ("/", MONEY, MONEY, RATE),
    ("/", MONEY, RATE, MONEY),
    ("/", MONEY, INTEGER, MONEY),
    ("/", NUMBER, MONEY, None),
    ("/", INTEGER, MONEY, None),
    ("/", RATE, MONEY, None),
    ("/", INTEGER, INTEGER, NUMBER),      # 3 / 2 is not an integer
    ("/", RATE, RATE, RATE),
    ("/", NUMBER, RATE, RATE),
    ("/", NUMBER, NUMBER, NUMBER),
])
def test_arithmetic(op, left, right, expected):
    result = arithmetic(op, left, right)
    assert result == expected
    if result is not None:
        assert not result.zero


@pytest.mark.parametrize("left, right, expected", [
    (MONEY, MONEY, MONEY),
    (ZERO, MONEY, MONEY),                  # the literal 0 takes the other side's type
    (MONEY, ZERO, MONEY),
    (ZERO, RATE, RATE),
    (MONEY, RATE, None),
    (MONEY, INTEGER, None),
    (RATE, NUMBER, RATE),                  # dimensionless kinds meet at the widest
    (NUMBER, RATE, RATE),
    (INTEGER, NUMBER, NUMBER),
    (INTEGER, RATE, RATE),
    (INTEGER, INTEGER, INTEGER),
    (BOOLEAN, BOOLEAN, BOOLEAN),
    (BOOLEAN, INTEGER, None),
    (ZERO, BOOLEAN, None),                 # 0 is no boolean
    (DATE, DATE, DATE),
    (DATE, MONEY, None),
    (GRADE, GRADE, GRADE),
    (GRADE, OTHER, None),                  # two different enums never meet
    (Type("enum", values=("优秀",)), Type("enum", values=("良好",)),
     Type("enum", values=("优秀", "良好"))),  # two quoted values: an enum of both
])
def test_unify(left, right, expected):
    assert unify(left, right) == expected


@pytest.mark.parametrize("left, right", [
    (MONEY, RATE), (RATE, NUMBER), (INTEGER, NUMBER), (ZERO, MONEY), (GRADE, OTHER), (DATE, BOOLEAN),
])
def test_unify_is_symmetric(left, right):
    assert unify(left, right) == unify(right, left)
