"""rulesengine.core.datatypes: coerce() for every type, and the display/to_json output forms.

Every expected value below is worked out by hand from the rule stated in the comment
(e.g. "money is exact to the fen: 1234.5 -> 1234.50"), never copied from the program.
"""

from datetime import date
from decimal import Decimal

import pytest

from rulesengine.core.datatypes import (BOOLEAN, DATE, INTEGER, MONEY, NUMBER, RATE, Type, ValueProblem,
                                   coerce, display, to_json)

GRADE = Type("enum", enum="grade", values=("优秀", "良好"))


def same_decimal(actual, expected: str) -> None:
    """Equal as a number, a Decimal (never a float), and written with the same digits."""
    assert isinstance(actual, Decimal), type(actual)
    assert actual == Decimal(expected)
    assert str(actual) == expected


# --- money -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("1234.50", "1234.50"),           # a plain decimal string, already two places
    (Decimal("1234.5"), "1234.50"),   # YAML 1234.5 arrives as Decimal; padded to the fen
    (1234, "1234.00"),                # an int gets the two places of the fen
    (0, "0.00"),
    ("-5", "-5.00"),                  # negative amounts (e.g. an adjustment) are allowed
    (" 12.50 ", "12.50"),             # surrounding blanks are ignored
    (Decimal("1.230"), "1.23"),       # three places, but the third is 0: still exact to the fen
])
def test_money_accepted(value, expected):
    same_decimal(coerce(value, MONEY), expected)


@pytest.mark.parametrize("value", [
    Decimal("1.234"),   # a tenth of a fen
    "1.005",
    "0.001",
])
def test_money_with_three_decimals_rejected(value):
    with pytest.raises(ValueProblem) as info:
        coerce(value, MONEY)
    assert info.value.hint  # says money is exact to the fen


def test_money_thousands_separators_rejected_with_hint():
    with pytest.raises(ValueProblem) as info:
        coerce("1,234.50", MONEY)
    # The hint shows the number with the comma removed: "1,234.50" -> "1234.50".
    assert "1234.50" in info.value.hint


@pytest.mark.parametrize("text", ["12.5万", "12.5万元", "3亿", "100元"])
def test_money_with_unit_rejected_with_hint(text):
    with pytest.raises(ValueProblem) as info:
        coerce(text, MONEY)
    # The hint gives the worked example 12.5万 = 12.5 * 10,000 = 125000 yuan.
    assert "125000" in info.value.hint


@pytest.mark.parametrize("value", [
    "5%",          # a percentage where an amount is wanted
    "abc",
    "1e3",         # not a plain decimal
    "+5",
    ".5",
    True,          # bool is an int subclass in Python, but never a number here
    None,
    [1],
    1234.5,        # a binary float cannot be exact money
])
def test_money_other_forms_rejected(value):
    with pytest.raises(ValueProblem):
        coerce(value, MONEY)


# Amount forms. The document reads only plain decimals as numbers; every other YAML 1.1
# number spelling arrives here as the text written (tests/unit/test_document.py), so one rule
# covers the quoted and the unquoted form.
@pytest.mark.parametrize("value, expected", [
    ("1234.50", "1234.50"),
    ("1234.5", "1234.50"),
    ("1234", "1234.00"),
    ("-0.00", "0.00"),                             # a signed zero is read as 0.00 (datatypes.plain)
    ("999999999999999999.99", "999999999999999999.99"),   # just below 10^18
])
def test_money_plain_forms_accepted(value, expected):
    same_decimal(coerce(value, MONEY), expected)


@pytest.mark.parametrize("value, in_hint", [
    ("010", "write 10"),                 # leading zero; YAML 1.1 would read octal 8
    ("-010", "write -10"),
    ("08", "write 8"),                   # not octal, still a leading zero
    ("00.5", "write 0.5"),
    ("1:30", "1234.50"),                 # base 60 (90): the hint shows a plain amount
    ("0x10", "16"),                      # hexadecimal 16 = 1 * 16 + 0
    ("0b101", "5"),                      # binary 101 = 4 + 1
    ("+1234.50", "1234.50"),             # the '+' dropped
    ("1_234.50", "1234.50"),             # the '_' dropped
    (".5", "0.5"),
    ("-.5", "-0.5"),
    ("5.", "5.00"),
    ("1.2345e+3", "1234.5"),             # 1.2345 * 10^3 = 1234.5
    ("1.0e+30", "10^18"),                # no amount is that large: the hint says check it
    ("123456789012345678901234567890.00", "10^18"),   # 30 digits before the point
    (Decimal("123456789012345678901234567890.00"), "10^18"),
    ("1000000000000000000", "10^18"),    # exactly 10^18
    ("壹仟", "1234.50"),                  # words
])
def test_money_exotic_forms_refused_with_hint(value, in_hint):
    with pytest.raises(ValueProblem) as info:
        coerce(value, MONEY)
    assert in_hint in info.value.hint


def test_octal_looking_amount_names_its_octal_reading():
    with pytest.raises(ValueProblem) as info:
        coerce("010", MONEY)
    assert "leading zero" in info.value.message
    assert "8" in info.value.message     # 0o10 = 1 * 8 + 0 = 8


def test_base_60_amount_names_its_reading():
    with pytest.raises(ValueProblem) as info:
        coerce("1:30", MONEY)
    assert "90" in info.value.message    # 1 * 60 + 30 = 90


@pytest.mark.parametrize("value, expected", [
    ("1.0e+3", "1000"),                  # scientific notation: numbers only; 1.0 * 10^3, read plain
    ("2.5e-2", "0.025"),                 # 2.5 / 100
    ("1.0e+999999", "1.0E+999999"),      # the largest exponent the evaluator keeps
])
def test_number_accepts_scientific_notation(value, expected):
    same_decimal(coerce(value, NUMBER), expected)


@pytest.mark.parametrize("value, type_", [
    ("1.0e+1000000", NUMBER),            # beyond 10^999999
    ("5e-2", RATE),                      # a rate is a fraction or a percentage
    ("1e3", INTEGER),
    ("010", INTEGER),
    ("+5", NUMBER),
    ("1_000", INTEGER),
    ("1" * 101, INTEGER),                # more than 100 characters
    (Decimal("1E+18"), INTEGER),         # a count of 10^18 is a mistake
    (Decimal("NaN"), NUMBER),
])
def test_number_forms_refused(value, type_):
    with pytest.raises(ValueProblem) as info:
        coerce(value, type_)
    assert info.value.hint


@pytest.mark.parametrize("value, type_, in_hint", [
    (True, MONEY, "1234.50"),            # a boolean for an amount
    ("5%", MONEY, "rate"),               # a percentage for an amount
    ("5%", NUMBER, "0.05"),              # 5 / 100
    ("百分之五", RATE, "5%"),
    (Decimal("2.5"), INTEGER, "round"),
    ("是", BOOLEAN, "true"),
    ("true", BOOLEAN, "without quotes"),
    ("2024/12/31", DATE, "YYYY-MM-DD"),
])
def test_wrong_forms_have_hints(value, type_, in_hint):
    with pytest.raises(ValueProblem) as info:
        coerce(value, type_)
    assert in_hint in info.value.hint


# --- rate ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("5%", Decimal("0.05")),          # 5 / 100
    ("12.5%", Decimal("0.125")),      # 12.5 / 100
    ("100%", Decimal("1")),
    ("-5%", Decimal("-0.05")),
    ("5 %", Decimal("0.05")),         # a blank before % is tolerated
    (Decimal("0.05"), Decimal("0.05")),  # a fraction is taken as it is
    ("0.05", Decimal("0.05")),
    (0, Decimal("0")),
])
def test_rate_accepted(value, expected):
    result = coerce(value, RATE)
    assert isinstance(result, Decimal)
    assert result == expected


def test_rate_is_not_rounded_to_the_fen():
    # Rates are fractions, not amounts: 0.123456 keeps its six places.
    same_decimal(coerce(Decimal("0.123456"), RATE), "0.123456")


# --- number ------------------------------------------------------------------------------------
def test_number_accepts_decimals_and_refuses_percentages():
    same_decimal(coerce(Decimal("2.5"), NUMBER), "2.5")
    same_decimal(coerce("2.5", NUMBER), "2.5")
    with pytest.raises(ValueProblem):
        coerce("5%", NUMBER)  # a percentage is a rate, not a plain number


# --- integer ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [3, Decimal("3.0"), Decimal("3"), "3", "3.0"])
def test_integer_accepted(value):
    result = coerce(value, INTEGER)
    assert result == 3 and type(result) is int  # 3.0 has no fractional part: it is 3


@pytest.mark.parametrize("value", [Decimal("3.5"), "3.5", 3.5, True, "三"])
def test_integer_rejected(value):
    with pytest.raises(ValueProblem):
        coerce(value, INTEGER)


# --- boolean -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [True, False])
def test_boolean_accepts_only_bool(value):
    assert coerce(value, BOOLEAN) is value


@pytest.mark.parametrize("value", ["true", "false", 1, 0, "是", None, Decimal("1")])
def test_boolean_rejects_everything_else(value):
    with pytest.raises(ValueProblem):
        coerce(value, BOOLEAN)


# --- enum --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["优秀", "良好"])
def test_enum_accepts_declared_values(value):
    assert coerce(value, GRADE) == value


def test_enum_near_miss_did_you_mean():
    with pytest.raises(ValueProblem) as info:
        coerce("优", GRADE)
    # "优" shares one of its one character with "优秀" (ratio 2*1/3 = 0.67) and none
    # with "良好": the suggestion is "优秀".
    assert "did you mean" in info.value.hint
    assert "优秀" in info.value.hint


def test_enum_far_value_lists_the_values():
    with pytest.raises(ValueProblem) as info:
        coerce("excellent", GRADE)  # no character in common with either value
    assert "优秀" in info.value.hint and "良好" in info.value.hint


@pytest.mark.parametrize("value", [1, None, True, "优秀 "])
def test_enum_rejects_non_members(value):
    with pytest.raises(ValueProblem):
        coerce(value, GRADE)


# --- date --------------------------------------------------------------------------------------
def test_date_iso_text():
    assert coerce("2024-12-31", DATE) == date(2024, 12, 31)


def test_date_object_passes_through():
    assert coerce(date(2024, 1, 1), DATE) == date(2024, 1, 1)


@pytest.mark.parametrize("text", ["2024/12/31", "2024-02-30", "31.12.2024", "2024年1月1日", ""])
def test_date_rejected(text):
    # 2024-02-30 has the right shape but February 2024 has 29 days.
    with pytest.raises(ValueProblem):
        coerce(text, DATE)


# --- display -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (Decimal("1234567.89"), "1,234,567.89"),   # groups of three, two places
    (Decimal("1234567.5"), "1,234,567.50"),    # padded to two places
    (Decimal("1234567"), "1,234,567.00"),
    (Decimal("999.00"), "999.00"),             # below 1,000: no separator
    (Decimal("0"), "0.00"),
    (Decimal("-1234.5"), "-1,234.50"),
    (Decimal("1E+3"), "1,000.00"),             # no exponent in the output
])
def test_display_money(value, expected):
    assert display(value, MONEY) == expected


@pytest.mark.parametrize("value, expected", [
    (Decimal("0.05"), "5%"),       # 0.05 * 100 = 5
    (Decimal("0.125"), "12.5%"),   # 0.125 * 100 = 12.5
    (Decimal("0.10"), "10%"),      # no trailing ".0"
    (Decimal("0.050"), "5%"),      # 0.050 * 100 = 5.0 -> 5
    (Decimal("1"), "100%"),
    (Decimal("0"), "0%"),
    (Decimal("-0.05"), "-5%"),
])
def test_display_rate_as_percent(value, expected):
    assert display(value, RATE) == expected


@pytest.mark.parametrize("value, type_, expected", [
    (Decimal("1.50"), NUMBER, "1.5"),        # trailing zero dropped
    (Decimal("1E+3"), NUMBER, "1000"),
    (12345, INTEGER, "12,345"),              # 10,000 and above get separators
    (9999, INTEGER, "9999"),                 # below 10,000 they do not
    (-12345, INTEGER, "-12,345"),
    (True, BOOLEAN, "true"),
    (False, BOOLEAN, "false"),
    ("优秀", GRADE, '"优秀"'),                 # enum values are shown quoted
    (date(2024, 1, 2), DATE, "2024-01-02"),
])
def test_display_other_types(value, type_, expected):
    assert display(value, type_) == expected


def test_negative_zero_money_is_shown_as_zero():
    # A money rule whose unrounded value is -0.004 rounds (half up, 2 places) to -0.00,
    # which is zero yuan: it should read 0.00.
    negative_zero = Decimal("-0.004").quantize(Decimal("0.01"))
    assert display(negative_zero, MONEY) == "0.00"
    assert to_json(negative_zero, MONEY) == "0.00"


# --- to_json -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, type_, expected", [
    (Decimal("1234.5"), MONEY, "1234.50"),    # a string, two places, no separators
    (Decimal("1234567"), MONEY, "1234567.00"),
    (Decimal("0.05"), RATE, "0.05"),          # rates stay fractions in JSON
    (Decimal("0.10"), RATE, "0.1"),
    (Decimal("2.500"), NUMBER, "2.5"),
    (3, INTEGER, 3),
    (True, BOOLEAN, True),
    (None, MONEY, None),
    ("良好", GRADE, "良好"),
    (date(2024, 12, 31), DATE, "2024-12-31"),
])
def test_to_json(value, type_, expected):
    result = to_json(value, type_)
    assert result == expected
    assert type(result) is type(expected)


def test_display_of_amounts_beyond_28_digits():
    # 833,333,333,333,333,333 × 120,000,000.00 = 99,999,999,999,999,999,960,000,000.00 (26 digits
    # before the point + 2 after = 28: one more than the default context could quantize)
    value = Decimal("833333333333333333") * Decimal("120000000.00")
    assert display(value, MONEY) == "99,999,999,999,999,999,960,000,000.00"
    assert to_json(value, MONEY) == "99999999999999999960000000.00"
    # 30 ones before the point and 9 decimals: shown to 8 places, .123456789 -> ≈ .12345679
    long_number = Decimal("1" * 30 + ".123456789")
    assert display(long_number, NUMBER) == "≈" + "1" * 30 + ".12345679"
