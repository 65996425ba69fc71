"""rulesengine.load.document: YAML text -> plain values (no float ever), positions of values,
and Document.scalar_span mapping characters of a string scalar back to the file.

Lines and columns are 1-based and count characters (a CJK character is one column).
Every position below is counted by hand from the test's own YAML text; the counting is
written in the comment next to it.
"""

from decimal import Decimal

import pytest

from rulesengine.load import document
from rulesengine.load.document import parse_document
from rulesengine.core.errors import DuplicateKeyError, LoadError, YamlSyntaxError


def walk(value):
    """Every value nested in ``value``, including mapping keys."""
    yield value
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def text_at(doc, span) -> str:
    """The characters a one-line span covers, read from the document text."""
    assert span.line == span.end_line
    return doc.text.splitlines()[span.line - 1][span.col - 1:span.end_col - 1]


# --- values ------------------------------------------------------------------------------------
VALUES = """\
money: 1234.50
count: 3
rate: 0.05
tenth: 0.1
negative: -2.5
big_int: 1000000
day: 2024-01-01
flag: true
nothing: ~
name: 优秀
quoted: '1.5'
nested: [1.5, 2, {x: 3.25}]
"""


def test_floats_become_decimal_with_their_digits():
    value = parse_document("v.yaml", VALUES).value
    # The digits are those written in the file: no binary float in between
    # (Decimal(0.1) would be 0.1000000000000000055511151231257827...).
    assert value["money"] == Decimal("1234.50") and str(value["money"]) == "1234.50"
    assert value["rate"] == Decimal("0.05")
    assert value["tenth"] == Decimal("0.1") and str(value["tenth"]) == "0.1"
    assert value["negative"] == Decimal("-2.5")
    assert value["nested"] == [Decimal("1.5"), 2, {"x": Decimal("3.25")}]


def test_no_float_anywhere():
    value = parse_document("v.yaml", VALUES).value
    assert not [v for v in walk(value) if isinstance(v, float)]
    for key in ("money", "rate", "tenth", "negative"):
        assert type(value[key]) is Decimal


def test_ints_bools_and_strings_keep_their_types():
    value = parse_document("v.yaml", VALUES).value
    assert value["count"] == 3 and type(value["count"]) is int
    assert value["big_int"] == 1000000 and type(value["big_int"]) is int
    assert value["flag"] is True
    assert value["nothing"] is None
    assert value["name"] == "优秀"
    assert value["quoted"] == "1.5"  # quoted: stays text


def test_dates_stay_iso_text():
    value = parse_document("v.yaml", "day: 2024-01-01\nwhen: 2024-01-01 10:00:00\n").value
    assert value == {"day": "2024-01-01", "when": "2024-01-01 10:00:00"}
    assert type(value["day"]) is str


def test_aliases_are_expanded():
    value = parse_document("v.yaml", "a: &x 1.5\nb: *x\n").value
    assert value == {"a": Decimal("1.5"), "b": Decimal("1.5")}


# --- number spellings: only plain decimals are numbers ------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("1234.50", Decimal("1234.50")),   # digits, point, digits: kept exactly as written
    ("1234.5", Decimal("1234.5")),
    ("1234", 1234),                    # no point: an int
    ("0", 0),
    ("0.05", Decimal("0.05")),         # a single 0 before the point is not a leading zero
    ("-0.00", Decimal("-0.00")),
    ("-2", -2),
])
def test_plain_decimals_are_numbers(text, expected):
    value = parse_document("v.yaml", f"x: {text}\n").value["x"]
    assert value == expected and type(value) is type(expected)
    if isinstance(expected, Decimal):
        assert str(value) == text      # the digits written, not a float's


@pytest.mark.parametrize("text", [
    "010",         # YAML 1.1: octal, 8
    "-010",        # octal, -8
    "0x10",        # hexadecimal, 16
    "0b101",       # binary, 5
    "1:30",        # base 60: 1 * 60 + 30 = 90
    "1:30.5",      # base 60 float: 90.5
    "1_234.50",    # '_' separators: 1234.5
    "1_000",
    "+1234.50",    # a plus sign
    ".5",          # no digit before the point
    "5.",          # no digit after the point
    "1.2345e+3",   # scientific notation: 1234.5
    "1.0e+30",
])
def test_other_yaml_number_spellings_stay_text(text):
    # Read as the text written, exactly as if quoted: the type coercion then refuses it
    # (or, for a 'number', accepts scientific notation) with the same hint either way.
    unquoted = parse_document("v.yaml", f"x: {text}\n").value["x"]
    quoted = parse_document("v.yaml", f"x: '{text}'\n").value["x"]
    assert unquoted == quoted == text


def test_octal_looking_key_stays_text():
    # YAML 1.1 would make the key 010 the int 8, and the key '8'.
    assert parse_document("v.yaml", "010: a\n").value == {"010": "a"}


@pytest.mark.parametrize("digits", [101, 5001])
def test_overlong_number_is_a_located_load_error(digits):
    # 5001 digits is beyond Python's int() limit of 4300; 101 beyond the 100 accepted.
    text = "a: 1\nx: " + "1" * digits + "\n"   # line 2, "x: " is 3 characters -> column 4
    with pytest.raises(LoadError) as info:
        parse_document("v.yaml", text)
    assert info.value.code == "load-error"
    assert (info.value.span.line, info.value.span.col) == (2, 4)
    assert info.value.hint


def test_hundred_digit_number_is_read():
    value = parse_document("v.yaml", "x: " + "9" * 100 + "\n").value["x"]
    assert value == 10 ** 100 - 1


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_document_has_no_value(text):
    assert parse_document("v.yaml", text).value is None


def test_leading_document_marker_is_one_document():
    assert parse_document("v.yaml", "---\na: 1\n").value == {"a": 1}


@pytest.mark.parametrize("text, line, col", [
    # "x: " is 3 characters, so the value starts in column 4.
    ("x: .inf\n", 1, 4),
    ("a: 1\nx: -.inf\n", 2, 4),
    ("a: 1\nb: 2\nx: .nan\n", 3, 4),
])
def test_non_finite_numbers_rejected(text, line, col):
    with pytest.raises(LoadError) as info:
        parse_document("v.yaml", text)
    assert info.value.code == "load-error"
    assert (info.value.span.line, info.value.span.col) == (line, col)
    assert info.value.hint


# --- duplicate keys -------------------------------------------------------------------------------
def test_duplicate_key_at_top_level():
    text = "x: 1\ny: 2\nx: 3\n"
    with pytest.raises(DuplicateKeyError) as info:
        parse_document("v.yaml", text)
    err = info.value
    assert err.code == "duplicate-key"
    # The second "x" opens line 3.
    assert (err.span.file, err.span.line, err.span.col) == ("v.yaml", 3, 1)
    # The first one is named as related: line 1, column 1.
    (_, first), = err.related
    assert (first.line, first.col) == (1, 1)


def test_duplicate_key_nested():
    text = (
        "a: 1\n"        # line 1
        "b:\n"          # line 2
        "  c: 1\n"      # line 3: first c, after two blanks -> column 3
        "  c: 2\n"      # line 4: second c, column 3
    )
    with pytest.raises(DuplicateKeyError) as info:
        parse_document("v.yaml", text)
    assert (info.value.span.line, info.value.span.col) == (4, 3)
    (_, first), = info.value.related
    assert (first.line, first.col) == (3, 3)


def test_duplicate_key_in_flow_mapping():
    # m(1) :(2) ' '(3) {(4) k(5) :(6) ' '(7) 1(8) ,(9) ' '(10) k(11)
    with pytest.raises(DuplicateKeyError) as info:
        parse_document("v.yaml", "m: {k: 1, k: 2}\n")
    assert (info.value.span.line, info.value.span.col) == (1, 11)


def test_duplicate_key_after_cjk_text_counts_characters():
    text = (
        "标签: 一\n"     # line 1
        "标签: 二\n"     # line 2: the second key starts the line
    )
    with pytest.raises(DuplicateKeyError) as info:
        parse_document("v.yaml", text)
    assert (info.value.span.line, info.value.span.col) == (2, 1)


# --- YAML syntax ------------------------------------------------------------------------------------
def test_mapping_value_not_allowed():
    text = (
        "a: 1\n"        # line 1
        "b: x: y\n"     # line 2: b(1) :(2) ' '(3) x(4) :(5) -> the second ':' is column 5
    )
    with pytest.raises(YamlSyntaxError) as info:
        parse_document("v.yaml", text)
    err = info.value
    assert err.code == "yaml-syntax"
    assert (err.span.line, err.span.col) == (2, 5)
    assert err.hint  # says to quote a value containing ': '


def test_unclosed_quote_points_at_the_opening_quote():
    text = (
        "a: 1\n"        # line 1
        'b: "abc\n'     # line 2: b(1) :(2) ' '(3) "(4) -> the quote that is never closed
    )
    with pytest.raises(YamlSyntaxError) as info:
        parse_document("v.yaml", text)
    assert (info.value.span.line, info.value.span.col) == (2, 4)
    assert "quote" in info.value.hint


@pytest.mark.parametrize("text, col, word", [
    # line 2: b(1) :(2) ' '(3) then the bracket at column 4, never closed before the end
    ("a: 1\nb: {c: 1, d: 2\n", 4, "'{'"),
    ("a: 1\nb: [1, 2\n", 4, "'['"),
])
def test_unclosed_bracket_at_end_points_at_the_bracket(text, col, word):
    with pytest.raises(YamlSyntaxError) as info:
        parse_document("v.yaml", text)
    assert (info.value.span.line, info.value.span.col) == (2, col)
    assert word in info.value.hint


def test_dedented_key_has_a_hint():
    text = (
        "r:\n"          # line 1
        "  a: 1\n"      # line 2
        "  b:\n"        # line 3
        "    c: 1\n"    # line 4
        "   d: 2\n"     # line 5: three blanks, d at column 4 (neither 3 nor 5)
    )
    with pytest.raises(YamlSyntaxError) as info:
        parse_document("v.yaml", text)
    assert (info.value.span.line, info.value.span.col) == (5, 4)
    assert "indent" in info.value.hint


def test_bad_indentation():
    text = (
        "a:\n"          # line 1
        "  b: 1\n"      # line 2
        " c: 2\n"       # line 3: one blank, so c is at column 2 (neither 1 nor 3)
    )
    with pytest.raises(YamlSyntaxError) as info:
        parse_document("v.yaml", text)
    assert (info.value.span.line, info.value.span.col) == (3, 2)


def test_tab_indentation():
    text = (
        "a:\n"          # line 1
        "\tb: 1\n"      # line 2: the tab is the first character, column 1
    )
    with pytest.raises(YamlSyntaxError) as info:
        parse_document("v.yaml", text)
    assert (info.value.span.line, info.value.span.col) == (2, 1)
    assert "tab" in info.value.hint


def test_more_than_one_document():
    text = (
        "a: 1\n"        # line 1
        "---\n"         # line 2: the separator, which the hint says to remove
        "b: 2\n"        # line 3: the second document's content starts here
    )
    with pytest.raises(YamlSyntaxError) as info:
        parse_document("v.yaml", text)
    assert info.value.code == "yaml-syntax"
    assert (info.value.span.line, info.value.span.col) == (2, 1)
    assert "---" in info.value.hint


def test_non_scalar_key_rejected():
    # A complex key "? [a, b]" is a list: ids must be plain names.
    with pytest.raises(LoadError):
        parse_document("v.yaml", "? [a, b]\n: 1\n")


def test_deep_nesting_is_a_load_error_not_a_crash():
    text = "[" * 5000 + "]" * 5000
    with pytest.raises(LoadError):
        parse_document("v.yaml", text)


def test_alias_expansion_is_bounded(monkeypatch):
    # b holds 4 copies of a, c 4 copies of b: 1 + 1 + 4 + 16 + ... values, far more than 10.
    monkeypatch.setattr(document, "MAX_NODES", 10)
    text = "a: &a [1, 1, 1, 1]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n"
    with pytest.raises(LoadError):
        parse_document("v.yaml", text)


# --- tags -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, line, col", [
    # "b: " is 3 characters: the tag starts in column 4 of line 2.
    ("a: 1\nb: !!python/object:os.system ls\n", 2, 4),
    ("a: 1\nb: !!python/name:os.system\n", 2, 4),
    ("b: !!binary aGVsbG8=\n", 1, 4),
    ("b: !money 12\n", 1, 4),
])
def test_unsupported_scalar_tags_rejected(text, line, col):
    with pytest.raises(LoadError) as info:
        parse_document("v.yaml", text)
    assert info.value.code == "load-error"
    assert (info.value.span.line, info.value.span.col) == (line, col)


@pytest.mark.parametrize("text", [
    "x: !!python/object/apply:os.system [ls]\n",
    "x: !!python/object:foo.Bar {a: 1}\n",
    "x: !custom [1, 2]\n",
], ids=["python-apply-sequence", "python-object-mapping", "custom-sequence"])
def test_unsupported_collection_tags_rejected(text):
    with pytest.raises(LoadError):
        parse_document("v.yaml", text)


def test_standard_tags_accepted():
    value = parse_document("v.yaml", "s: !!str 5\nm: !!map {a: 1}\nq: !!seq [1]\n").value
    assert value == {"s": "5", "m": {"a": 1}, "q": [1]}


# --- spans of values and keys -------------------------------------------------------------------
def test_span_and_key_span():
    text = (
        "rules:\n"              # line 1
        "  r:\n"                # line 2: key r at column 3
        "    formula: a + b\n"  # line 3: "    formula: " is 13 characters -> value at 14
    )
    doc = parse_document("v.yaml", text)
    span = doc.span(("rules", "r", "formula"))
    # "a + b" is 5 characters: columns 14..18, end_col (exclusive) 19.
    assert (span.line, span.col, span.end_line, span.end_col) == (3, 14, 3, 19)
    key = doc.key_span(("rules", "r"))
    assert (key.line, key.col) == (2, 3)
    # A path that does not exist falls back to its nearest existing ancestor.
    assert doc.span(("rules", "r", "missing")) == doc.span(("rules", "r"))


# --- scalar_span --------------------------------------------------------------------------------
PLAIN = (
    "rules:\n"                  # line 1
    "  r:\n"                    # line 2
    "    formula: a + bc\n"     # line 3: "    formula: " is 13 characters
)


def test_scalar_span_plain():
    doc = parse_document("v.yaml", PLAIN)
    path = ("rules", "r", "formula")
    # value "a + bc": a=0 ' '=1 +=2 ' '=3 b=4 c=5; offset 0 is column 14.
    span = doc.scalar_span(path, 4, 6)       # "bc": columns 14+4=18 and 19, end 20
    assert (span.line, span.col, span.end_line, span.end_col) == (3, 18, 3, 20)
    assert text_at(doc, span) == "bc"
    span = doc.scalar_span(path, 2, 3)       # "+": column 16
    assert (span.line, span.col, span.end_col) == (3, 16, 17)
    span = doc.scalar_span(path, 2, 2)       # an empty range still marks one character
    assert (span.col, span.end_col) == (16, 17)


def test_scalar_span_plain_after_cjk_in_flow_mapping():
    text = "r: {label: 乙, formula: a + bc}\n"
    # r(1) :(2) ' '(3) {(4) label:(5-10) ' '(11) 乙(12) ,(13) ' '(14) formula:(15-22)
    # ' '(23) a(24): the formula starts in column 24 (乙 counts as one column).
    doc = parse_document("v.yaml", text)
    span = doc.scalar_span(("r", "formula"), 4, 6)   # "bc" at 24+4 = 28
    assert (span.line, span.col, span.end_col) == (1, 28, 30)
    assert text_at(doc, span) == "bc"


def test_scalar_span_plain_on_two_lines():
    text = (
        "f: a +\n"      # line 1: f(1) :(2) ' '(3) a(4) ' '(5) +(6)
        "  bc\n"        # line 2: two blanks, b(3) c(4)
    )
    doc = parse_document("v.yaml", text)
    assert doc.value["f"] == "a + bc"   # the line break folds into one space
    # value offsets: a=0 ' '=1 +=2 ' '=3 (the folded break) b=4 c=5
    span = doc.scalar_span(("f",), 4, 6)
    assert (span.line, span.col, span.end_line, span.end_col) == (2, 3, 2, 5)
    span = doc.scalar_span(("f",), 2, 3)
    assert (span.line, span.col) == (1, 6)
    # The whole value runs from "a" (1, 4) to just past "c" (2, 5).
    span = doc.scalar_span(("f",), 0, 6)
    assert (span.line, span.col, span.end_line, span.end_col) == (1, 4, 2, 5)


def test_scalar_span_double_quoted_with_escapes():
    text = 'f: "x \\"y\\" + zz"\n'
    # The file line is:  f: "x \"y\" + zz"
    # f(1) :(2) ' '(3) "(4) x(5) ' '(6) \(7) "(8) y(9) \(10) "(11) ' '(12) +(13) ' '(14)
    # z(15) z(16) "(17)
    doc = parse_document("v.yaml", text)
    assert doc.value["f"] == 'x "y" + zz'
    # value offsets: x=0 ' '=1 "=2 y=3 "=4 ' '=5 +=6 ' '=7 z=8 z=9
    span = doc.scalar_span(("f",), 8, 10)
    assert (span.line, span.col, span.end_col) == (1, 15, 17)
    span = doc.scalar_span(("f",), 3, 4)
    assert (span.col, span.end_col) == (9, 10)
    span = doc.scalar_span(("f",), 0, 1)     # the first character, just after the quote
    assert span.col == 5


def test_scalar_span_double_quoted_on_two_lines():
    text = (
        'f: "a +\n'      # line 1: "(4) a(5) ' '(6) +(7)
        '  bc"\n'        # line 2: b(3) c(4) "(5)
    )
    doc = parse_document("v.yaml", text)
    assert doc.value["f"] == "a + bc"
    span = doc.scalar_span(("f",), 4, 6)
    assert (span.line, span.col, span.end_col) == (2, 3, 5)
    span = doc.scalar_span(("f",), 2, 3)
    assert (span.line, span.col) == (1, 7)


def test_scalar_span_single_quoted():
    text = "f: 'it''s + q'\n"
    # f(1) :(2) ' '(3) '(4) i(5) t(6) '(7) '(8) s(9) ' '(10) +(11) ' '(12) q(13) '(14)
    doc = parse_document("v.yaml", text)
    assert doc.value["f"] == "it's + q"
    # value offsets: i=0 t=1 '=2 s=3 ' '=4 +=5 ' '=6 q=7
    assert doc.scalar_span(("f",), 7, 8).col == 13
    assert doc.scalar_span(("f",), 3, 4).col == 9


BLOCK = (
    "rules:\n"                  # line 1
    "  r:\n"                    # line 2
    "    formula: |\n"          # line 3: the header line
    "      if c\n"              # line 4: six blanks, "if" at column 7
    "      then a\n"            # line 5
    "      else bad\n"          # line 6
    "    label: x\n"            # line 7
)


def test_scalar_span_literal_block():
    doc = parse_document("v.yaml", BLOCK)
    path = ("rules", "r", "formula")
    assert doc.value["rules"]["r"]["formula"] == "if c\nthen a\nelse bad\n"
    # value offsets: "if c" 0-3, \n 4, "then a" 5-10, \n 11, "else bad" 12-19, \n 20
    span = doc.scalar_span(path, 17, 20)     # "bad": line 6, column 7 + 5 = 12
    assert (span.line, span.col, span.end_line, span.end_col) == (6, 12, 6, 15)
    assert text_at(doc, span) == "bad"
    span = doc.scalar_span(path, 10, 11)     # "a" of "then a": line 5, column 7 + 5 = 12
    assert (span.line, span.col) == (5, 12)
    span = doc.scalar_span(path, 0, 2)       # "if": line 4, columns 7-8
    assert (span.line, span.col, span.end_col) == (4, 7, 9)
    span = doc.scalar_span(path, 5, 20)      # "then a ... bad": from (5, 7) to (6, 15)
    assert (span.line, span.col, span.end_line, span.end_col) == (5, 7, 6, 15)


def test_scalar_span_literal_block_with_header_comment():
    text = (
        "f: |-  # keep no final newline\n"   # line 1: header with a comment
        "  x +\n"                            # line 2: x(3) ' '(4) +(5)
        "  yy\n"                             # line 3: y(3) y(4)
    )
    doc = parse_document("v.yaml", text)
    assert doc.value["f"] == "x +\nyy"
    # value offsets: x=0 ' '=1 +=2 \n=3 y=4 y=5
    span = doc.scalar_span(("f",), 4, 6)
    assert (span.line, span.col, span.end_col) == (3, 3, 5)
    assert doc.scalar_span(("f",), 2, 3).col == 5


def test_scalar_span_folded_block():
    text = (
        "f: >\n"        # line 1: the header
        "  a +\n"       # line 2: a(3) ' '(4) +(5)
        "  bc\n"        # line 3: b(3) c(4)
    )
    doc = parse_document("v.yaml", text)
    assert doc.value["f"] == "a + bc\n"   # folded: the break between the lines is a space
    # value offsets: a=0 ' '=1 +=2 ' '=3 (folded break) b=4 c=5 \n=6
    span = doc.scalar_span(("f",), 4, 6)
    assert (span.line, span.col, span.end_line, span.end_col) == (3, 3, 3, 5)
    assert text_at(doc, span) == "bc"
    span = doc.scalar_span(("f",), 2, 3)
    assert (span.line, span.col) == (2, 5)


def test_scalar_span_of_a_non_scalar_is_the_node_span():
    doc = parse_document("v.yaml", PLAIN)
    assert doc.scalar_span(("rules", "r"), 0, 1) == doc.span(("rules", "r"))
