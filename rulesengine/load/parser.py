"""Formula text -> syntax tree (:mod:`rulesengine.ast`), with every node located.

The grammar is ``grammar/formula.lark`` (LALR). Parsing and tree building are separate
steps so that Lark's ``meta`` positions reach the :class:`ToAst` transformer. Nothing
here evaluates anything: there is no path from formula text to Python ``eval``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from typing import Callable

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from ..core.builtins import AGGREGATE_ONLY, AGGREGATES
from ..core.datatypes import shift
from ..core.errors import FormulaSyntaxError, RulesError
from ..core.i18n import N_, _
from ..core.source import Span

Origin = Callable[[int, int], Span]
"""Maps a character range of the formula text to a span in its file."""

MAX_FORMULA_CHARS = 10_000
MAX_DEPTH = 100  # levels of the syntax tree; brackets alone add none
MAX_NUMBER_DIGITS = 30

_TOKEN_NAMES = {
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','",
    "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "COMPARE": N_("a comparison"),
    "NUMBER": N_("a number"), "PERCENT": N_("a percentage"), "STRING": N_("a quoted value"),
    "NAME": N_("a name"), "IF": "'if'", "THEN": "'then'", "ELSE": "'else'", "AND": "'and'",
    "OR": "'or'", "NOT": "'not'", "TRUE": "'true'", "FALSE": "'false'", "$END": N_("the end"),
    "WHERE": "'where'", "DATE": N_("a date"),
}

# Characters people type by habit, and what the language wants instead.
_LOOKALIKES = {
    "（": "(", "）": ")", "，": ",", "×": "*", "÷": "/", "－": "-", "＋": "+", "—": "-",
    "−": "-", "＝": "==", "％": "%", "“": '"', "”": '"', "【": "[", "】": "]", "＜": "<",
    "＞": ">", "≤": "<=", "≥": ">=", "≠": "!=",
}
_HINTS = {
    "=": N_("compare with '==' (a formula computes a value; it does not assign one)"),
    "^": N_("there is no power operator; write the product out"),
    "&": N_("write 'and'"), "|": N_("write 'or'"), "!": N_("write 'not', or '!=' for 'not equal'"),
    "'": N_('quote enum values with double quotes: "优秀"'),
    "%": N_("a percentage is written right after its number: 5%"),
    ".": N_("a number needs digits before the point: 0.5"),
}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = files("rulesengine.load.grammar").joinpath("formula.lark").read_text(encoding="utf-8")
    # The basic lexer (not the contextual one) keeps keywords reserved everywhere: after
    # an operator, "if" is still the keyword, never a name.
    return Lark(grammar, parser="lalr", lexer="basic", propagate_positions=True,
                maybe_placeholders=False)


def parse_formula(text: str, origin: Origin) -> ast.Node:
    """Parse one formula. Raises :class:`FormulaSyntaxError` located through ``origin``."""
    if len(text) > MAX_FORMULA_CHARS:
        raise FormulaSyntaxError(_("the formula is longer than {limit:,} characters").format(
                                     limit=MAX_FORMULA_CHARS),
                                 span=origin(0, 1), hint=_("split it into several named rules"))
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, origin) from None
    _check_depth(tree, origin)
    try:
        return ToAst(origin).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, RulesError):
            raise exc.orig_exc from None
        raise


def _check_depth(tree: Tree, origin: Origin) -> None:
    """Refuse trees deeper than MAX_DEPTH before any recursive pass walks them."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormulaSyntaxError(_("the formula nests more than {limit} operations deep").format(
                                         limit=MAX_DEPTH),
                                     span=origin(node.meta.start_pos, node.meta.end_pos),
                                     hint=_("split it into several named rules"))
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _syntax_error(exc: UnexpectedInput, text: str, origin: Origin) -> FormulaSyntaxError:
    pos = getattr(exc, "pos_in_stream", None)
    if pos is None or isinstance(exc, UnexpectedEOF):
        pos = len(text)
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        pos = len(text)
    at_end = pos >= len(text)
    start = min(pos, max(len(text) - 1, 0))
    span = origin(start, start + 1)
    expected = sorted({_(_TOKEN_NAMES[t]) if t in _TOKEN_NAMES else t.lower() for t in _expected(exc)})
    wanted = _("; expected {tokens}").format(tokens=_join(expected)) if expected else ""
    if at_end:
        return FormulaSyntaxError(_("the formula ends too early{expected}").format(expected=wanted),
                                  span=span, hint=_("a bracket, an operand or 'else' is missing"))
    if isinstance(exc, UnexpectedCharacters):
        char = text[pos]
        hint = _char_hint(char, text, pos)
        return FormulaSyntaxError(_("unexpected character '{char}'").format(char=char), span=span, hint=hint)
    token = exc.token if isinstance(exc, UnexpectedToken) else None
    shown = token.value if token is not None else text[pos]
    hint = None
    kind = token.type if token is not None else None
    words = set(re.findall(r"[a-z]+", text))
    if kind == "IF":
        hint = _("an if-expression inside a larger formula needs brackets: a + (if c then x else y)")
    elif kind in ("THEN", "ELSE", "AND", "OR", "NOT", "TRUE", "FALSE", "WHERE"):
        hint = _("'{word}' is a keyword and cannot be used as a name").format(word=shown)
    elif "if" in words and not {"then", "else"} <= words:
        hint = _("write if CONDITION then A else B")
    elif "**" in text[max(pos - 1, 0):pos + 2]:
        hint = _("there is no power operator; write the product out")
    elif kind in ("NAME", "NUMBER", "PERCENT", "STRING", "LPAR"):
        hint = _("an operator (+ - * /, a comparison, 'and', 'or') is missing between two values")
    elif kind == "COMMA":
        hint = _("a ',' separates the arguments of a function, e.g. max(a, b); a value is "
                 "missing here, or the ',' is stray")
    elif kind in ("RPAR", "RSQB"):
        opener = "(" if kind == "RPAR" else "["
        hint = (_("this '{closer}' closes no '{opener}': remove it, or add the missing '{opener}'").format(
                    closer=shown, opener=opener)
                if text[:pos].count(opener) <= text[:pos].count(shown) else
                _("a value is missing before it"))
    elif kind in ("PLUS", "MINUS", "STAR", "SLASH", "COMPARE"):
        hint = _("a value is missing before this operator")
    return FormulaSyntaxError(_("unexpected '{token}'{expected}").format(token=shown, expected=wanted),
                              span=span, hint=hint)


def _expected(exc: UnexpectedInput) -> set[str]:
    return set(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or ())


def _char_hint(char: str, text: str, pos: int) -> str | None:
    if char in _LOOKALIKES:
        return _("'{char}' is a full-width or typographic character; write '{ascii}'").format(
            char=char, ascii=_LOOKALIKES[char])
    if char == "=" and text[pos:pos + 2] != "==":
        return _(_HINTS["="])
    if char == '"':
        return _('this quote is never closed: write enum values as "优秀", on one line')
    if char in _HINTS:
        return _(_HINTS[char])
    if unicodedata.decimal(char, None) is not None:
        return _("'{char}' is a full-width digit; write {digit}").format(
            char=char, digit=unicodedata.decimal(char))
    if ord(char) > 127:
        return _("names in formulas are the ASCII ids of inputs, parameters and rules, "
                 "not their Chinese labels; quote enum values: \"优秀\"")
    return None


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return _("{first} or {last}").format(first=", ".join(items[:-1]), last=items[-1])


@v_args(meta=True)
class ToAst(Transformer):
    """Builds :mod:`ast` nodes; method names are the grammar's aliases."""

    def __init__(self, origin: Origin):
        super().__init__()
        self._origin = origin

    def _at(self, meta) -> dict:
        return {"span": self._origin(meta.start_pos, meta.end_pos),
                "start": meta.start_pos, "end": meta.end_pos}

    def _token_span(self, token: Token) -> Span:
        return self._origin(token.start_pos, token.end_pos)

    def number(self, meta, children):
        (token,) = children
        digits = token.value.replace("_", "")
        self._check_size(digits, token)
        return ast.Number(**self._at(meta), value=Decimal(digits), integer="." not in digits)

    def percent(self, meta, children):
        (token,) = children
        digits = token.value[:-1].replace("_", "")
        self._check_size(digits, token)
        return ast.Percent(**self._at(meta), value=shift(Decimal(digits), -2))

    def _check_size(self, digits: str, token: Token) -> None:
        if len(digits.replace(".", "")) > MAX_NUMBER_DIGITS:
            raise FormulaSyntaxError(_("the number has more than {limit} digits").format(
                                         limit=MAX_NUMBER_DIGITS),
                                     span=self._token_span(token),
                                     hint=_("an amount belongs in a parameter with its citation; "
                                            "no policy figure needs more than 30 digits"))

    def string(self, meta, children):
        (token,) = children
        return ast.String(**self._at(meta), value=token.value[1:-1])

    def true(self, meta, children):
        return ast.Boolean(**self._at(meta), value=True)

    def false(self, meta, children):
        return ast.Boolean(**self._at(meta), value=False)

    def name(self, meta, children):
        (token,) = children
        return ast.Name(**self._at(meta), id=token.value)

    def neg(self, meta, children):
        return ast.Neg(**self._at(meta), operand=children[1])

    def pos(self, meta, children):
        return children[1]

    def bin_op(self, meta, children):
        left, op, right = children
        return ast.BinOp(**self._at(meta), op=op.value, left=left, right=right)

    def compare(self, meta, children):
        left, op, right = children
        return ast.Compare(**self._at(meta), op=op.value, left=left, right=right)

    def or_op(self, meta, children):
        return ast.BoolOp(**self._at(meta), op="or", left=children[0], right=children[1])

    def and_op(self, meta, children):
        return ast.BoolOp(**self._at(meta), op="and", left=children[0], right=children[1])

    def not_op(self, meta, children):
        return ast.Not(**self._at(meta), operand=children[0])

    def if_else(self, meta, children):
        condition, then, otherwise = children
        return ast.IfElse(**self._at(meta), condition=condition, then=then, otherwise=otherwise)

    def date(self, meta, children):
        (token,) = children
        try:
            value = date.fromisoformat(token.value)
        except ValueError:
            raise FormulaSyntaxError(_("'{text}' is not a calendar date").format(text=token.value),
                                     span=self._token_span(token),
                                     hint=_("write a date as YYYY-MM-DD, e.g. 2025-01-15")) from None
        return ast.DateLiteral(**self._at(meta), value=value)

    def call(self, meta, children):
        token, *args = children
        name = token.value
        if name in AGGREGATE_ONLY or (name in AGGREGATES and len(args) == 1):
            return self._aggregate(meta, token, args, None)
        return ast.Call(**self._at(meta), function=name,
                        function_span=self._token_span(token), args=tuple(args))

    def filtered_call(self, meta, children):
        token, operand, where = children
        if token.value not in AGGREGATES:
            raise FormulaSyntaxError(_("'where' filters an aggregation; '{name}' is not one").format(
                                         name=token.value),
                                     span=self._token_span(token),
                                     hint=_("aggregations: {names}").format(names=", ".join(AGGREGATES)))
        return self._aggregate(meta, token, [operand], where)

    def _aggregate(self, meta, token: Token, args: list, where):
        usage = AGGREGATES[token.value].usage
        if len(args) != 1 or not isinstance(args[0], ast.Name):
            span = args[0].span if args else self._token_span(token)
            raise FormulaSyntaxError(_("{function}() aggregates over a collection").format(
                                         function=token.value),
                                     span=span, hint=_("write {usage}; for a per-record expression, "
                                                       "declare it as a rule of the entity").format(usage=usage))
        operand = args[0]
        collection, _dot, field = operand.id.partition(".")
        return ast.Aggregate(**self._at(meta), function=token.value,
                             function_span=self._token_span(token), collection=collection,
                             field=field or None, operand_span=operand.span, where=where)

    def lookup(self, meta, children):
        token, *keys = children
        return ast.Lookup(**self._at(meta), table=token.value,
                          table_span=self._token_span(token), keys=tuple(keys))


def text_origin(text: str, file: str = "<formula>", line: int = 1, col: int = 1) -> Origin:
    """An origin for a formula standing alone on one line (tests, command line)."""
    def origin(start: int, end: int) -> Span:
        return Span(file, line, col + start, line, col + max(end, start + 1))
    return origin
