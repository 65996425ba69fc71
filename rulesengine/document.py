"""Reading YAML and JSON files into plain values that remember where each value stood.

File bytes -> :class:`Document`: the values (dicts, lists, str, int, bool, None, and
``Decimal`` for every non-integer number, so no float ever enters) plus the YAML node of
every path, from which spans are computed. Only PyYAML's safe composer is used: no tag
can construct a Python object. PyYAML marks are 0-based; they become 1-based here, once.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Iterator

import yaml

from .errors import DuplicateKeyError, FileReadError, LoadError, YamlSyntaxError
from .source import LineIndex, Span, display_path, remember

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_NODES = 1_000_000  # bounds alias expansion ("billion laughs")

Path = tuple  # of str keys and int indexes

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_CONSTRUCTOR = yaml.constructor.SafeConstructor()  # for int and bool spellings only


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
            raise LoadError(f"the document expands to more than {MAX_NODES:,} values",
                            span=self._node_span(node),
                            hint="YAML aliases (*name) are expanded; do not nest them")
        self._nodes[path] = node
        if not isinstance(node, yaml.ScalarNode) and node.tag not in (_MAP, _SEQ):
            raise LoadError(f"unsupported YAML tag '{node.tag}'", span=self._node_span(node),
                            hint="only plain YAML values are allowed: no !!python or custom tags")
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._key(key_node)
                if key in result:
                    first = self._keys[path + (key,)]
                    raise DuplicateKeyError(
                        f"duplicate key '{key}'", span=self._node_span(key_node),
                        related=[("first defined here", self._node_span(first))],
                        hint="each key may appear once in a mapping; remove or rename one")
                self._keys[path + (key,)] = key_node
                result[key] = self._build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _key(self, node: yaml.Node) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise LoadError("a mapping key must be a plain name", span=self._node_span(node))
        value = self._scalar(node)
        return "" if value is None else str(value)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag in (_STR, _TIMESTAMP):  # dates stay ISO text; the checker parses them
            return text
        if tag == _NULL:
            return None
        if tag in (_INT, _BOOL):
            return _CONSTRUCTOR.construct_object(node)
        if tag == _FLOAT:
            try:
                number = Decimal(text.replace("_", ""))
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite():
                raise LoadError(f"'{text}' is not a finite decimal number",
                                span=self._node_span(node))
            return number
        raise LoadError(f"unsupported YAML tag '{tag}'", span=self._node_span(node),
                        hint="only plain YAML values are allowed: no !!python or custom tags")


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
        raise FileReadError(f"cannot read '{name}': {exc.strerror or exc}",
                            hint="check the path and the file's permissions") from None
    if len(data) > MAX_FILE_BYTES:
        raise FileReadError(f"'{name}' is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                            span=Span(name, 1, 1))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = LineIndex(data[:exc.start].decode("utf-8", "replace")).position(
            len(data[:exc.start].decode("utf-8", "replace")))
        raise FileReadError(f"'{name}' is not UTF-8 text (byte 0x{data[exc.start]:02x})",
                            span=Span(name, line, col),
                            hint="save the file as UTF-8 (in Excel: 'CSV UTF-8'; in editors: "
                                 "encoding UTF-8)") from None
    remember(name, text)
    return name, text


def load_document(path: str) -> Document:
    """Read and compose one YAML or JSON file. Raises :class:`LoadError`."""
    name, text = read_text(path)
    if "\x00" in text:
        raise LoadError(f"'{name}' is a binary file, not YAML", span=Span(name, 1, 1))
    return parse_document(name, text)


def parse_document(name: str, text: str) -> Document:
    try:
        nodes = list(_compose_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and "end of stream" in (exc.problem or ""):
            mark = exc.context_mark  # an unclosed quote or bracket: point at where it opens
        span = Span(name, mark.line + 1, mark.column + 1) if mark else Span(name, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlSyntaxError(f"YAML syntax: {problem}", span=span,
                              hint=_yaml_hint(problem)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"YAML syntax: {exc}", span=Span(name, 1, 1)) from None
    except RecursionError:
        raise LoadError("the document is nested too deeply", span=Span(name, 1, 1)) from None
    if len(nodes) > 1:
        node = nodes[1]
        raise YamlSyntaxError("the file holds more than one YAML document",
                              span=Span(name, node.start_mark.line + 1, 1),
                              hint="remove the '---' line; one ruleset or fact set per file")
    try:
        return Document(name, text, nodes[0] if nodes else None)
    except RecursionError:
        raise LoadError("the document is nested too deeply", span=Span(name, 1, 1)) from None


def _compose_all(text: str) -> Iterator[yaml.Node]:
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            yield loader.get_node()
    finally:
        loader.dispose()


def _yaml_hint(problem: str) -> str | None:
    if "\\t" in problem or "tab" in problem:
        return "YAML indentation must use spaces, not tabs"
    if "found unexpected end of stream" in problem or "found unexpected end" in problem:
        return "a quote or bracket is not closed"
    if "mapping values are not allowed" in problem:
        return "a value containing ': ' must be quoted, or the indentation is off"
    if "could not find expected ':'" in problem:
        return "a key is missing its ':' or a quoted string is not closed"
    return None
