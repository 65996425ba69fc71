"""Source positions: 1-based spans in files, and excerpts with a caret under them.

Every stage reports positions as a :class:`Span`. The loader registers the text of each
file it reads, so an error can show the offending line long after the file was parsed.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from dataclasses import dataclass

_TEXTS: dict[str, str] = {}
_LINES: dict[str, list[str]] = {}  # each remembered text split into lines once, when first needed


@dataclass(frozen=True, order=True)
class Span:
    """A region of a file; lines and columns are 1-based, ``end_col`` is exclusive."""

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to_json(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.col}


# Characters no text we show or write may hold: controls other than tab and line feed, lone
# surrogates and U+FFFE/U+FFFF (no XML file, so no .xlsx, can hold them; a terminal acts on
# them), and the bidirectional controls that display text in another order than it is read.
BAD_CHARACTER = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
                           "\u202a-\u202e\u2066-\u2069]")


def display_path(path: str) -> str:
    """A path as users see it: relative to the working directory when it lies below it, with
    bytes that are not UTF-8 (``\\xff``) and control characters written as escapes."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        rel = ".."
    return printable(path if rel.startswith("..") else rel)


def printable(text: str) -> str:
    """``text`` with bytes that are not UTF-8 (a file name's ``\\xff``) and the characters of
    :data:`BAD_CHARACTER` written as escapes, so that any output (terminal, HTML, .xlsx) can hold it."""
    if BAD_CHARACTER.search(text) is None:
        return text
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return BAD_CHARACTER.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def remember(file: str, text: str) -> None:
    """Keep ``text`` as the content of ``file`` for later excerpts."""
    _TEXTS[file] = text
    _LINES.pop(file, None)


def source_line(file: str, line: int) -> str | None:
    """Line ``line`` of a remembered file; the file is split once however many errors it has."""
    lines = _LINES.get(file)
    if lines is None:
        text = _TEXTS.get(file)
        if text is None:
            return None
        lines = _LINES[file] = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


def excerpt(span: Span) -> str | None:
    """The source line of ``span`` with a caret line under the spanned characters."""
    text = source_line(span.file, span.line)
    if text is None:
        return None
    start = max(span.col - 1, 0)
    if span.end_line == span.line and span.end_col and span.end_col > span.col:
        width = span.end_col - span.col
    else:
        width = 1
    if len(text) > _MAX_EXCERPT:  # a one-line JSON export: show a window around the column
        left = max(start - _MAX_EXCERPT // 2, 0)
        width = min(width, _MAX_EXCERPT // 2)
        shown = text[left:start + width + _MAX_EXCERPT // 2]
        text = ("…" if left else "") + shown + ("…" if left + len(shown) < len(text) else "")
        start = start - left + (1 if left else 0)
    pad = "".join("\t" if ch == "\t" else _blank(ch) for ch in text[:start])
    marks = "".join(_caret(ch) for ch in text[start:start + width]) or "^"
    gutter = f"{span.line:>5} | "
    return f"{gutter}{text.rstrip()}\n{' ' * (len(gutter) - 2)}| {pad}{marks}"


_MAX_EXCERPT = 160  # characters of a source line shown around an error


def clip(text: str, limit: int) -> str:
    """``text`` cut in the middle when longer than ``limit``, saying how much is left out."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]}…[{len(text) - 2 * keep:,}]…{text[-keep:]}"


def text_width(text: str) -> int:
    """Terminal cells the text takes: CJK characters take two."""
    return sum(2 if _is_wide(ch) else 1 for ch in text)


def _is_wide(ch: str) -> bool:
    # CJK ideographs and full-width forms take two terminal cells.
    code = ord(ch)
    return (0x1100 <= code <= 0x115F or 0x2E80 <= code <= 0xA4CF or 0xAC00 <= code <= 0xD7A3
            or 0xF900 <= code <= 0xFAFF or 0xFE30 <= code <= 0xFE4F or 0xFF00 <= code <= 0xFF60
            or 0xFFE0 <= code <= 0xFFE6 or 0x20000 <= code <= 0x3FFFD)


def _blank(ch: str) -> str:
    return "  " if _is_wide(ch) else " "


def _caret(ch: str) -> str:
    return "^^" if _is_wide(ch) else "^"


class LineIndex:
    """Turns character offsets of a text into 1-based (line, column) pairs."""

    def __init__(self, text: str):
        self._starts = [0] + [match.end() for match in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1
