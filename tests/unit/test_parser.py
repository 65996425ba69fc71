"""rulesengine.load.parser: formula text -> located syntax tree, and the syntax errors people make.

Offsets (``start``/``end``) are 0-based character positions in the formula, ``end``
exclusive; with ``text_origin`` the span column is offset + 1. Every expected offset is
counted by hand from the formula text in the test (the counting is in the comment).
"""

from decimal import Decimal

import pytest

from conftest import METADATA
from rulesengine.load import ast
from rulesengine.core.builtins import FUNCTIONS
from rulesengine.check.checker import check
from rulesengine.core.errors import CheckFailed, FormulaSyntaxError
from rulesengine.load.loader import load_ruleset
from rulesengine.load.parser import MAX_FORMULA_CHARS, MAX_DEPTH, MAX_NUMBER_DIGITS, parse_formula, text_origin


def parse(text: str) -> ast.Node:
    return parse_formula(text, text_origin(text))


def syntax_error(text: str) -> FormulaSyntaxError:
    with pytest.raises(FormulaSyntaxError) as info:
        parse(text)
    assert info.value.code == "formula-syntax"
    return info.value


def shape(node: ast.Node):
    """A compact nested tuple of a tree: kind, operator or value, children."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, (ast.Number, ast.Percent, ast.String, ast.Boolean)):
        return node.value
    if isinstance(node, (ast.BinOp, ast.Compare, ast.BoolOp)):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, ast.Neg):
        return ("neg", shape(node.operand))
    if isinstance(node, ast.Not):
        return ("not", shape(node.operand))
    if isinstance(node, ast.IfElse):
        return ("if", shape(node.condition), shape(node.then), shape(node.otherwise))
    if isinstance(node, ast.Call):
        return ("call", node.function, *[shape(a) for a in node.args])
    if isinstance(node, ast.Lookup):
        return ("lookup", node.table, *[shape(k) for k in node.keys])
    raise AssertionError(node)


def offsets(node: ast.Node) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every node, parents before children, left to right."""
    return [(type(n).__name__, n.start, n.end) for n in ast.walk(node)]


# --- precedence -------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("a + b * c", ("+", "a", ("*", "b", "c"))),          # * binds tighter than +
    ("a * b + c", ("+", ("*", "a", "b"), "c")),
    ("a - b - c", ("-", ("-", "a", "b"), "c")),          # left associative
    ("a / b * c", ("*", ("/", "a", "b"), "c")),
    ("(a + b) * c", ("*", ("+", "a", "b"), "c")),        # brackets override
    ("-a * b", ("*", ("neg", "a"), "b")),                # unary minus binds tightest
    ("a - -b", ("-", "a", ("neg", "b"))),
    ("- -a", ("neg", ("neg", "a"))),
    ("+a", "a"),                                         # unary plus changes nothing
    ("-2", ("neg", Decimal(2))),                         # no negative literals: minus applied to 2
    ("a + 1 > b * 2", (">", ("+", "a", Decimal(1)), ("*", "b", Decimal(2)))),  # arithmetic before comparing
    ("a or b and c", ("or", "a", ("and", "b", "c"))),    # and before or
    ("a and b or c", ("or", ("and", "a", "b"), "c")),
    ("not a and b", ("and", ("not", "a"), "b")),         # not before and
    ("not a == b", ("not", ("==", "a", "b"))),           # comparing before not
    ("not not a", ("not", ("not", "a"))),
    ("a < b and b <= c or c > d", ("or", ("and", ("<", "a", "b"), ("<=", "b", "c")), (">", "c", "d"))),
    ("a >= b", (">=", "a", "b")),
    ("a != b", ("!=", "a", "b")),
    ("if a > 0 then a else 0 - a", ("if", (">", "a", Decimal(0)), "a", ("-", Decimal(0), "a"))),
    ("if a then b else c + 1", ("if", "a", "b", ("+", "c", Decimal(1)))),  # else takes the whole sum
    ("if a then if b then 1 else 2 else 3",
     ("if", "a", ("if", "b", Decimal(1), Decimal(2)), Decimal(3))),
    ("if a then 1 else if b then 2 else 3",
     ("if", "a", Decimal(1), ("if", "b", Decimal(2), Decimal(3)))),
    ("1 + (if a then 2 else 3)", ("+", Decimal(1), ("if", "a", Decimal(2), Decimal(3)))),
])
def test_precedence(text, expected):
    assert shape(parse(text)) == expected


def test_if_is_not_an_operand_without_brackets():
    syntax_error("1 + if a then 2 else 3")   # write 1 + (if a then 2 else 3)


def test_if_after_an_operator_is_reported_at_the_if():
    # 1(1) ' '(2) +(3) ' '(4) i(5): the "if" cannot stand after "+" -> column 5.
    assert syntax_error("1 + if a then 2 else 3").span.col == 5


def test_comparisons_do_not_chain():
    # a(0) ' '(1) ==(2,3) ' '(4) b(5) ' '(6) ==(7,8): the second "==" is at column 8.
    assert syntax_error("a == b == c").span.col == 8


# --- literals ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, value, integer", [
    ("0", Decimal("0"), True),
    ("1_000_000", Decimal("1000000"), True),    # '_' separators dropped
    ("1_000.50", Decimal("1000.50"), False),
    ("0.5", Decimal("0.5"), False),
    ("12", Decimal("12"), True),
])
def test_numbers_are_decimal(text, value, integer):
    node = parse(text)
    assert isinstance(node, ast.Number)
    assert isinstance(node.value, Decimal) and node.value == value
    assert node.integer is integer
    assert (node.start, node.end) == (0, len(text))


@pytest.mark.parametrize("text, value", [
    ("5%", Decimal("0.05")),        # 5 / 100
    ("12.5%", Decimal("0.125")),    # 12.5 / 100
    ("100%", Decimal("1")),
    ("0%", Decimal("0")),
    ("1_000%", Decimal("10")),      # 1000 / 100
])
def test_percent_is_a_fraction(text, value):
    node = parse(text)
    assert isinstance(node, ast.Percent)
    assert isinstance(node.value, Decimal) and node.value == value


def test_strings_and_booleans():
    node = parse('g == "优秀"')
    assert isinstance(node.right, ast.String) and node.right.value == "优秀"
    # g(0) ' '(1) ==(2,3) ' '(4) "(5) 优(6) 秀(7) "(8): the string is 5..9, quotes included.
    assert (node.right.start, node.right.end) == (5, 9)
    assert parse('""').value == ""
    assert parse("true") == ast.Boolean(parse("true").span, 0, 4, True)
    assert isinstance(parse("false"), ast.Boolean) and parse("false").value is False


def test_calls():
    node = parse("max(a, 0)")
    assert isinstance(node, ast.Call) and node.function == "max"
    assert shape(node) == ("call", "max", "a", Decimal(0))
    # m(0) a(1) x(2) ((3) a(4) ,(5) ' '(6) 0(7) )(8): the call spans 0..9, the name 0..3.
    assert (node.start, node.end) == (0, 9)
    assert (node.function_span.col, node.function_span.end_col) == (1, 4)
    assert [(a.start, a.end) for a in node.args] == [(4, 5), (7, 8)]
    assert parse("f()").args == ()
    assert shape(parse("round(a * 5%, 2)")) == ("call", "round", ("*", "a", Decimal("0.05")), Decimal(2))


def test_table_lookup():
    node = parse("rate[g] * a")
    assert shape(node) == ("*", ("lookup", "rate", "g"), "a")
    lookup = node.left
    # r(0) a(1) t(2) e(3) [(4) g(5) ](6): the lookup spans 0..7, the table name 0..4.
    assert (lookup.start, lookup.end) == (0, 7)
    assert (lookup.table_span.col, lookup.table_span.end_col) == (1, 5)
    assert (lookup.keys[0].start, lookup.keys[0].end) == (5, 6)
    assert shape(parse("t[a, b]")) == ("lookup", "t", "a", "b")   # two keys parse (the checker refuses)


def test_dotted_names_are_one_name():
    # The grammar allows namespaced ids (a.b); a dot never means attribute access.
    node = parse("a.__class__")
    assert node == ast.Name(node.span, 0, 11, "a.__class__")


# --- offsets of every node ------------------------------------------------------------------------
def test_offsets_of_arithmetic():
    # a(0) ' '(1) +(2) ' '(3) b(4) ' '(5) *(6) ' '(7) c(8)
    assert offsets(parse("a + b * c")) == [
        ("BinOp", 0, 9), ("Name", 0, 1), ("BinOp", 4, 9), ("Name", 4, 5), ("Name", 8, 9)]


def test_offsets_with_brackets():
    # ((0) a(1) ' '(2) +(3) ' '(4) b(5) )(6) ' '(7) *(8) ' '(9) c(10)
    # The bracketed sum is 1..6 (inside the brackets); the product covers them: 0..11.
    assert offsets(parse("(a + b) * c")) == [
        ("BinOp", 0, 11), ("BinOp", 1, 6), ("Name", 1, 2), ("Name", 5, 6), ("Name", 10, 11)]


def test_offsets_of_if_not_and_neg():
    text = "if not x then -y else z[k]"
    # i(0)f(1) ' '(2) not(3-5) ' '(6) x(7) ' '(8) then(9-12) ' '(13) -(14) y(15) ' '(16)
    # else(17-20) ' '(21) z(22) [(23) k(24) ](25)
    assert offsets(parse(text)) == [
        ("IfElse", 0, 26), ("Not", 3, 8), ("Name", 7, 8), ("Neg", 14, 16), ("Name", 15, 16),
        ("Lookup", 22, 26), ("Name", 24, 25)]


def test_offsets_of_comparison_and_boolean():
    text = "a >= 5% or c"
    # a(0) ' '(1) >=(2,3) ' '(4) 5%(5,6) ' '(7) or(8,9) ' '(10) c(11)
    assert offsets(parse(text)) == [
        ("BoolOp", 0, 12), ("Compare", 0, 7), ("Name", 0, 1), ("Percent", 5, 7), ("Name", 11, 12)]


def test_span_columns_follow_offsets():
    text = "max(0, a - b)"
    for node in ast.walk(parse(text)):
        assert (node.span.line, node.span.col, node.span.end_col) == (1, node.start + 1, node.end + 1)


def test_leading_and_trailing_blanks_are_ignored():
    node = parse("  a  ")
    assert (node.start, node.end) == (2, 3)


def test_text_origin_shifts_columns():
    text = "a ×"
    with pytest.raises(FormulaSyntaxError) as info:
        parse_formula(text, text_origin(text, file="f.yaml", line=7, col=14))
    # "×" is offset 2; the formula starts at column 14 -> column 16.
    span = info.value.span
    assert (span.file, span.line, span.col) == ("f.yaml", 7, 16)


# --- syntax errors and their hints ---------------------------------------------------------------------
@pytest.mark.parametrize("text, col, wanted", [
    ("max（a, b)", 4, "("),       # m(1) a(2) x(3) （(4): write '('
    ("max(a, b）", 9, ")"),       # m a x ( a , ' ' b ）: the 9th character
    ("a × b", 3, "*"),           # a(1) ' '(2) ×(3)
    ("a ÷ b", 3, "/"),
    ("max(a，b)", 6, ","),        # m a x ( a ，: the 6th character
    ("a ≥ b", 3, ">="),
    ("a ＝ b", 3, "=="),
])
def test_full_width_characters(text, col, wanted):
    err = syntax_error(text)
    assert err.span.col == col
    assert "full-width" in err.hint and f"'{wanted}'" in err.hint


@pytest.mark.parametrize("text, col", [
    ("a = b", 3),        # a(1) ' '(2) =(3)
    ("a === b", 5),      # "==" is read first (3-4); the third "=" is column 5
])
def test_single_equals(text, col):
    err = syntax_error(text)
    assert err.span.col == col
    assert "==" in err.hint


@pytest.mark.parametrize("text, col", [
    ("工资 * 5%", 1),         # a Chinese label instead of an id, first character
    ("a + 基数", 5),          # a(1) ' '(2) +(3) ' '(4) 基(5)
    ("g == 优秀", 6),         # an enum value without quotes: g(1) ' '(2) ==(3,4) ' '(5) 优(6)
])
def test_chinese_text_in_formula(text, col):
    err = syntax_error(text)
    assert err.span.col == col
    assert "ASCII" in err.hint


@pytest.mark.parametrize("text, col", [
    ("a +", 3),          # ends after "+": the error marks the last character, column 3
    ("a * (b - ", 9),    # 9 characters; the last one (a blank) is column 9
    ("max(a, ", 7),
])
def test_missing_operand_at_end(text, col):
    err = syntax_error(text)
    assert err.span.col == col
    assert "operand" in err.hint


@pytest.mark.parametrize("text, col", [
    ("if a then b", 11),            # 11 characters; the last, "b", is column 11
    ("if a > 0 then a * 2", 19),
])
def test_missing_else_at_end(text, col):
    err = syntax_error(text)
    assert err.span.col == col
    assert "else" in err.hint


def test_missing_else_inside_brackets():
    # ((1) i(2) f(3) ' '(4) a(5) ' '(6) then(7-10) ' '(11) b(12) )(13): ")" comes where
    # "else" was expected.
    err = syntax_error("(if a then b) + c")
    assert err.span.col == 13
    assert "else" in err.hint


def test_power_operator():
    # a(1) ' '(2) *(3) *(4): the second "*" is unexpected.
    err = syntax_error("a ** 2")
    assert err.span.col == 4
    assert "power" in err.hint


@pytest.mark.parametrize("text, col, word", [
    ("a b", 3, "operator"),                 # two values side by side: b is column 3
    ("a 5%", 3, "operator"),
    ("'优秀'", 1, "double quotes"),           # single quotes
    ("5 %", 3, "%"),                        # the % must follow its number
    (".5", 1, "0.5"),                       # digits needed before the point
    ("a ^ 2", 3, "power"),
    ("a && b", 3, "and"),
    ("a || b", 3, "or"),
])
def test_other_hints(text, col, word):
    err = syntax_error(text)
    assert err.span.col == col
    assert word in err.hint


@pytest.mark.parametrize("text, col", [
    ("", 1),
    ("(a", 2),          # "(" never closed: the error marks the last character
    ('"abc', 1),        # an unclosed quote cannot start a token
    ("a + * b", 5),     # a(1) ' '(2) +(3) ' '(4) *(5)
    ("f(,)", 3),
])
def test_other_syntax_errors(text, col):
    assert syntax_error(text).span.col == col


# --- limits --------------------------------------------------------------------------------------------
def test_formula_length_limit():
    longest = "a" * MAX_FORMULA_CHARS          # one long name is still a formula
    assert parse(longest) == ast.Name(parse(longest).span, 0, MAX_FORMULA_CHARS, longest)
    err = syntax_error("a" * (MAX_FORMULA_CHARS + 1))
    assert err.span.col == 1


def test_depth_limit():
    # "-" * k + "a" is k nested negations around a name: k + 1 levels of syntax tree.
    deepest = "-" * (MAX_DEPTH - 1) + "a"
    node = parse(deepest)
    assert isinstance(node, ast.Neg)
    # One more level: the name at offset MAX_DEPTH is the first node below the limit -> column MAX_DEPTH + 1.
    err = syntax_error("-" * MAX_DEPTH + "a")
    assert err.span.col == MAX_DEPTH + 1


def test_brackets_alone_add_no_depth():
    # Brackets only group; 500 of them around a name is still the name at offset 500.
    node = parse("(" * 500 + "a" + ")" * 500)
    assert node.id == "a" and (node.start, node.end) == (500, 501)


def test_number_digit_limit():
    assert parse("9" * MAX_NUMBER_DIGITS).value == Decimal("9" * MAX_NUMBER_DIGITS)
    assert syntax_error("9" * (MAX_NUMBER_DIGITS + 1)).span.col == 1
    # Separators and the point are not digits: 1 + 29 zeros = 30 digits is fine.
    assert parse("1" + "_0" * (MAX_NUMBER_DIGITS - 1)).value == Decimal(10) ** (MAX_NUMBER_DIGITS - 1)
    half = MAX_NUMBER_DIGITS // 2
    assert isinstance(parse("1" * half + "." + "1" * half), ast.Number)
    # 31 digits after "a + " (4 characters): the number starts at column 5.
    assert syntax_error("a + " + "1" * (half + 1) + "." + "1" * half).span.col == 5
    assert syntax_error("1" * (MAX_NUMBER_DIGITS + 1) + "%").span.col == 1


@pytest.mark.parametrize("text", [
    "a+" * 2000 + "a",          # 4,001 characters: a sum of 2,001 terms
    "-" * 2000 + "a",
    "not " * 1000 + "a",
], ids=["sum", "minus", "not"])
def test_long_chains_parse_or_fail_cleanly(text):
    assert len(text) <= MAX_FORMULA_CHARS
    try:
        parse(text)
    except FormulaSyntaxError:
        pass  # refusing with a located error is fine; crashing is not


def test_brackets_inside_a_string_are_not_nesting():
    text = 'g == "' + "(" * (MAX_DEPTH + 1) + '"'
    node = parse(text)
    assert isinstance(node, ast.Compare) and node.right.value == "(" * (MAX_DEPTH + 1)


# --- what the language refuses (through the checker) ----------------------------------------------------
HEADER = METADATA + """\
inputs:
  a: {label: 甲, type: money, citation: 一}
rules:
  r:
    label: 乙
    type: money
    citation: 二
"""
# HEADER has 15 lines; the formula line appended by check_formula is line 16, and
# "    formula: " is 13 characters, so formula offset 0 is column 14.
FORMULA_LINE, FORMULA_COL = 16, 14


def check_formula(tmp_path, formula: str) -> list:
    """Check a ruleset whose rule r has ``formula``; return the CheckFailed errors."""
    path = tmp_path / "t.yaml"
    path.write_text(HEADER + f"    formula: {formula}\n", encoding="utf-8")
    doc = load_ruleset(str(path))
    with pytest.raises(CheckFailed) as info:
        check(doc)
    return info.value.errors


def test_header_line_count():
    assert HEADER.count("\n") == FORMULA_LINE - 1


def test_attribute_access_is_an_unknown_name(tmp_path):
    errors = check_formula(tmp_path, "a.__class__")
    assert [e.code for e in errors] == ["unknown-name"]
    span = errors[0].span
    # "a.__class__" is 11 characters: columns 14..24, end 25.
    assert (span.line, span.col, span.end_col) == (FORMULA_LINE, FORMULA_COL, FORMULA_COL + 11)


def test_import_is_an_unknown_function(tmp_path):
    errors = check_formula(tmp_path, '__import__("os")')
    assert [e.code for e in errors] == ["unknown-function"]
    span = errors[0].span
    # The error marks the function name: "__import__" is 10 characters, columns 14..23.
    assert (span.line, span.col, span.end_col) == (FORMULA_LINE, FORMULA_COL, FORMULA_COL + 10)


@pytest.mark.parametrize("formula, code, offset", [
    ('eval("1")', "unknown-function", 0),
    ('open("x")', "unknown-function", 0),
    ("a.__class__()", "unknown-function", 0),           # a dotted name called: still just a name
    ("max.__call__(a, a)", "unknown-function", 0),
    ("a.__class__.__bases__[0]", "unknown-name", 0),    # looks like indexing: an unknown table
    ("a + __builtins__", "unknown-name", 4),            # a(0) ' '(1) +(2) ' '(3) _(4)
])
def test_python_names_are_not_reachable(tmp_path, formula, code, offset):
    errors = check_formula(tmp_path, formula)
    assert [e.code for e in errors] == [code]
    assert (errors[0].span.line, errors[0].span.col) == (FORMULA_LINE, FORMULA_COL + offset)


def test_only_the_listed_functions_exist():
    assert set(FUNCTIONS) == {"min", "max", "abs", "round", "clamp", "date", "year", "month", "day",
                              "add_days", "add_months", "add_years", "end_of_month", "days_between"}


def test_syntax_error_is_located_in_the_yaml_file(tmp_path):
    errors = check_formula(tmp_path, "a × 2")
    assert [e.code for e in errors] == ["formula-syntax"]
    # a(0) ' '(1) ×(2): column 14 + 2 = 16.
    assert (errors[0].span.line, errors[0].span.col) == (FORMULA_LINE, FORMULA_COL + 2)


def test_syntax_error_in_block_formula(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(HEADER
                    + "    formula: |\n"     # line 16
                    + "      a +\n"          # line 17
                    + "      a ** 2\n",      # line 18: six blanks, a(7) ' '(8) *(9) *(10)
                    encoding="utf-8")
    doc = load_ruleset(str(path))
    with pytest.raises(CheckFailed) as info:
        check(doc)
    (err,) = info.value.errors
    assert err.code == "formula-syntax"
    # The second "*" is unexpected: line 18, column 10.
    assert (err.span.line, err.span.col) == (18, 10)
    assert "power" in err.hint
