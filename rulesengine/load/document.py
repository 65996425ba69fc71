"""Reading YAML and JSON files into plain values that remember where each value stood.

File bytes -> :class:`Document`: the values (dicts, lists, str, int, bool, None, and
``Decimal`` for every non-integer number, so no float ever enters) plus the YAML node of
every path, from which spans are computed. Only plain decimals (``1234.50``, ``-2``,
``0.05``) become numbers; the other YAML 1.1 number spellings (``010``, ``1:30``, ``0x10``,
``1_000``, ``+5``, ``.5``, ``1.5e+3``) stay text, as if quoted, and the type coercion
decides. Only PyYAML's safe composer is used: no tag can construct a Python object.
PyYAML marks are 0-based; they become 1-based here, once.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Iterator

import yaml

from ..core.errors import BadCharacterError, DuplicateKeyError, FileReadError, LoadError, YamlSyntaxError
from ..core.i18n import _, library_detail, os_reason
from .yaml_words import yaml_problem
from ..core.source import BAD_CHARACTER, LineIndex, Span, display_path, remember

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_NODES = 100_000  # values of one document, counted while composing and again with aliases expanded
MAX_NESTING = 64  # levels of lists and mappings inside each other
MAX_NUMBER_CHARS = 100  # a longer plain number is a mistake (and int() refuses > 4300 digits)

Path = tuple  # of str keys and int indexes

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_CONSTRUCTOR = yaml.constructor.SafeConstructor()  # for bool spellings only

# The only number spellings read as numbers: optional '-', digits without a leading zero,
# optional point and digits. YAML 1.1 also resolves 010 (octal 8), 0x10 (hex), 0b10,
# 1:30 (base 60: 90), 1_000, +5, .5, 5. and 1.5e+3 to numbers; those plain scalars are
# kept as the text written, so that the type they are read as (datatypes.coerce) refuses
# them with a hint, exactly as it refuses the same text in quotes.
_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_NON_FINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


class Document:
    """Values of one file and the positions of every value and mapping key in it."""

    def __init__(self, file: str, text: str, root: yaml.Node | None):
        self.file = file
        self.text = text
        self._index = LineIndex(text)
        self._nodes: dict[Path, yaml.Node] = {}
        self._keys: dict[Path, yaml.Node] = {}
        self._count = 0
        self._offsets: dict[int, list[int]] = {}
        self.value = self._build(root, ()) if root is not None else None

    # --- positions ----------------------------------------------------------------------
    def span(self, path: Path) -> Span:
        """Span of the value at ``path``, or of its nearest ancestor that exists."""
        path = tuple(path)
        while path and path not in self._nodes:
            path = path[:-1]
        node = self._nodes.get(path)
        if node is None:
            return Span(self.file, 1, 1)
        return self._node_span(node)

    def key_span(self, path: Path) -> Span:
        """Span of the mapping key that names ``path`` (falls back to the value)."""
        node = self._keys.get(tuple(path))
        return self._node_span(node) if node is not None else self.span(path)

    def node(self, path: Path) -> yaml.Node | None:
        return self._nodes.get(tuple(path))

    def position(self, index: int) -> tuple[int, int]:
        return self._index.position(index)

    def scalar_span(self, path: Path, start: int, end: int) -> Span:
        """Span of characters ``start:end`` of the string scalar at ``path``.

        Exact for plain, quoted and block (``|``, ``>``) scalars: the characters of the
        value are aligned with the raw text between the node's marks, so a formula error
        points inside the YAML string, wherever and however the string was written.
        """
        node = self._nodes.get(tuple(path))
        if not isinstance(node, yaml.ScalarNode):
            return self.span(path)
        offsets = self._offsets.get(id(node))
        if offsets is None:
            offsets = self._offsets[id(node)] = _align(node, self.text)
        last = len(offsets) - 1
        first = offsets[min(max(start, 0), last)]
        stop = offsets[min(max(end - 1, 0), last)] + 1 if end > start else first + 1
        (line, col), (end_line, end_col) = self.position(first), self.position(stop)
        return Span(self.file, line, col, end_line, end_col)

    def _node_span(self, node: yaml.Node) -> Span:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        end_line, end_col = node.end_mark.line + 1, node.end_mark.column + 1
        return Span(self.file, line, col, end_line, end_col)

    # --- construction -------------------------------------------------------------------
    def _build(self, node: yaml.Node, path: Path) -> Any:
        self._count += 1
        if self._count > MAX_NODES:
            raise LoadError(_("the document expands to more than {count:,} values").format(count=MAX_NODES),
                            span=self._node_span(node),
                            hint=_("YAML aliases (*name) are expanded; do not nest them"))
        if len(path) >= MAX_NESTING and not isinstance(node, yaml.ScalarNode):  # aliases in aliases
            raise LoadError(_("the document is nested too deeply (more than {limit} levels)").format(
                                limit=MAX_NESTING), span=self._node_span(node),
                            hint=_("nest lists and mappings a few levels at most"))
        self._nodes[path] = node
        if not isinstance(node, yaml.ScalarNode) and node.tag not in (_MAP, _SEQ):
            raise LoadError(_("unsupported YAML tag '{tag}'").format(tag=node.tag), span=self._node_span(node),
                            hint=_("only plain YAML values are allowed: no !!python or custom tags"))
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._key(key_node)
                if key in result:
                    first = self._keys[path + (key,)]
                    raise DuplicateKeyError(
                        _("duplicate key '{key}'").format(key=key), span=self._node_span(key_node),
                        related=[(_("first defined here"), self._node_span(first))],
                        hint=_("each key may appear once in a mapping; remove or rename one"))
                self._keys[path + (key,)] = key_node
                result[key] = self._build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _key(self, node: yaml.Node) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise LoadError(_("a mapping key must be a plain name"), span=self._node_span(node))
        value = self._scalar(node)
        return "" if value is None else str(value)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag in (_STR, _TIMESTAMP):  # dates stay ISO text; the checker parses them
            return self._text(node) if BAD_CHARACTER.search(text) else text
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return _CONSTRUCTOR.construct_object(node)
        if tag in (_INT, _FLOAT):
            return self._number(node)
        raise LoadError(_("unsupported YAML tag '{tag}'").format(tag=tag), span=self._node_span(node),
                        hint=_("only plain YAML values are allowed: no !!python or custom tags"))

    def _text(self, node: yaml.ScalarNode) -> str:
        """Text holding a suspicious character: an escaped surrogate pair (JSON writes 😀
        as "\\ud83d\\ude00") becomes its character; any other is refused where it stands."""
        text = _SURROGATE_PAIR.sub(lambda m: m.group().encode("utf-16-le", "surrogatepass")
                                   .decode("utf-16-le"), node.value)
        bad = BAD_CHARACTER.search(text)
        if bad is None:
            return text
        raise BadCharacterError(
            _("the text holds the character U+{code:04X} at position {position}").format(
                code=ord(bad.group()), position=bad.start() + 1),
            span=self._node_span(node),
            hint=_("remove it: control characters, lone surrogates and direction overrides cannot "
                   "be shown, printed or written to a spreadsheet; a line break in a value is "
                   "written as \\n"))

    def _number(self, node: yaml.ScalarNode) -> Any:
        """A YAML int or float: ``int`` or ``Decimal`` if written as a plain decimal, else text."""
        text = node.value
        if _NON_FINITE.fullmatch(text):
            raise LoadError(_("'{text}' is not a finite decimal number").format(text=text),
                            span=self._node_span(node),
                            hint=_("YAML reads .inf and .nan as infinity and not-a-number; write a "
                                   "finite value in digits, e.g. 0.05"))
        if len(text) > MAX_NUMBER_CHARS:
            raise LoadError(_("the number is {length:,} characters long; at most {limit} are "
                              "accepted").format(length=len(text), limit=MAX_NUMBER_CHARS),
                            span=self._node_span(node),
                            hint=_("check the value: no amount, rate or count needs that many "
                                   "digits; a code made of digits is written in quotes"))
        if not _PLAIN_NUMBER.fullmatch(text):
            return text
        if "." in text or node.tag == _FLOAT:
            return Decimal(text)
        return int(text)


def _align(node: yaml.ScalarNode, text: str) -> list[int]:
    """Absolute text index of every character of the scalar's value (plus one past the end)."""
    raw_start, raw_end = node.start_mark.index, node.end_mark.index
    pos = raw_start
    if node.style in ("|", ">"):  # skip the header line ("|", "|-", ">2" ...)
        newline = text.find("\n", raw_start, raw_end)
        pos = newline + 1 if newline >= 0 else raw_start
    elif node.style in ('"', "'"):
        pos += 1
    result = []
    for ch in node.value:
        if not ch.isspace():
            found = text.find(ch, pos, min(raw_end, pos + 64))
            if found >= 0:
                pos = found
        result.append(pos)
        if not ch.isspace() or (pos < raw_end and text[pos] == ch):
            pos += 1
    result.append(pos)
    return result


def read_text(path: str) -> tuple[str, str]:
    """Read a UTF-8 file with a size limit; returns (display name, text)."""
    name = display_path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise FileReadError(_("cannot read '{file}': {reason}").format(file=name, reason=os_reason(exc)),
                            hint=_("check the path and the file's permissions")) from None
    if len(data) > MAX_FILE_BYTES:
        raise FileReadError(_("'{file}' is larger than {size} MiB").format(
                                file=name, size=MAX_FILE_BYTES // (1024 * 1024)),
                            span=Span(name, 1, 1),
                            hint=_("a ruleset or facts file is far smaller; for a city's records "
                                   "use rulesengine batch with CSV or Excel tables"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = LineIndex(data[:exc.start].decode("utf-8", "replace")).position(
            len(data[:exc.start].decode("utf-8", "replace")))
        raise FileReadError(_("'{file}' is not UTF-8 text (byte 0x{byte:02x})").format(
                                file=name, byte=data[exc.start]),
                            span=Span(name, line, col),
                            hint=_("save the file as UTF-8 (in Excel: 'CSV UTF-8'; in editors: "
                                   "encoding UTF-8)")) from None
    remember(name, text)
    return name, text


def load_document(path: str) -> Document:
    """Read and compose one YAML or JSON file. Raises :class:`LoadError`."""
    name, text = read_text(path)
    if "\x00" in text:
        raise LoadError(_("'{file}' is a binary file, not YAML").format(file=name), span=Span(name, 1, 1),
                        hint=_("rulesets and facts are YAML or JSON text; a spreadsheet or "
                               "archive (.xlsx, .zip) must be exported as YAML or JSON first"))
    return parse_document(name, text)


def parse_document(name: str, text: str) -> Document:
    try:
        documents = list(_compose_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"  # PyYAML's words, kept
        at_end = "end of stream" in problem or "<stream end>" in problem
        if exc.context_mark and at_end:
            mark = exc.context_mark  # an unclosed quote or bracket: point at where it opens
        span = Span(name, mark.line + 1, mark.column + 1) if mark else Span(name, 1, 1)
        raise YamlSyntaxError(_("YAML syntax: {problem}").format(problem=yaml_problem(problem)), span=span,
                              hint=_yaml_hint(problem, exc.context or "", at_end)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(_("YAML syntax: {problem}").format(problem=library_detail(exc)),
                              span=Span(name, 1, 1),
                              hint=_("the file is not valid YAML or JSON")) from None
    except _Bound as bound:
        raise bound.error(name) from None
    if len(documents) > 1:
        mark = documents[1][0]  # the '---' that starts the second document
        raise YamlSyntaxError(_("the file holds more than one YAML document"),
                              span=Span(name, mark.line + 1, mark.column + 1),
                              hint=_("remove the '---' line; one ruleset or fact set per file"))
    return Document(name, text, documents[0][1] if documents else None)


class _Bound(Exception):
    """A bound crossed while composing (raised inside PyYAML, turned into a LoadError)."""

    def __init__(self, mark: yaml.Mark, deep: bool):
        super().__init__()
        self.mark, self.deep = mark, deep

    def error(self, name: str) -> LoadError:
        span = Span(name, self.mark.line + 1, self.mark.column + 1)
        if self.deep:
            return LoadError(_("the document is nested too deeply (more than {limit} levels)").format(
                                 limit=MAX_NESTING), span=span,
                             hint=_("nest lists and mappings a few levels at most"))
        return LoadError(_("the document holds more than {count:,} values").format(count=MAX_NODES),
                         span=span, hint=_("a ruleset or facts file is far smaller; for a city's "
                                           "records use rulesengine batch with CSV or Excel tables"))


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, counting values and levels as it composes them: a bound is
    crossed at the value that crosses it, before the rest of the file is read."""

    def __init__(self, text: str):
        super().__init__(text)
        self._depth = 0
        self._composed = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        level = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        self._depth += level
        self._composed += 1
        if self._depth > MAX_NESTING or self._composed > MAX_NODES:
            raise _Bound(event.start_mark, self._depth > MAX_NESTING)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= level


def _compose_all(text: str) -> Iterator[tuple[yaml.Mark, yaml.Node]]:
    """Each document's node, with the mark where the document starts (its '---' if any)."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            start = loader.peek_event()  # the DocumentStartEvent: at '---' when explicit
            node = loader.get_node()
            explicit = isinstance(start, yaml.DocumentStartEvent) and start.explicit
            yield (start.start_mark if explicit else node.start_mark), node
    finally:
        loader.dispose()


def _yaml_hint(problem: str, context: str = "", at_end: bool = False) -> str | None:
    if "\\t" in problem or "tab" in problem:
        return _("YAML indentation must use spaces, not tabs")
    if at_end and "flow mapping" in context:
        return _("this '{{' is never closed: end the mapping with '}}'").format()
    if at_end and "flow sequence" in context:
        return _("this '[' is never closed: end the list with ']'")
    if at_end and "quoted scalar" in context:
        return _("this quote is never closed: end the text with the same quote")
    if "found unexpected end of stream" in problem or "found unexpected end" in problem \
            or "<stream end>" in problem:
        return _("a quote or bracket is not closed")
    if "expected <block end>" in problem:
        return _("this line is indented differently from the keys above it: keys of one "
                 "mapping start in the same column (indent with spaces, 2 per level)")
    if "mapping values are not allowed" in problem:
        return _("a value containing ': ' must be quoted, or the indentation is off")
    if "could not find expected ':'" in problem:
        return _("a key is missing its ':' or a quoted string is not closed")
    return None
