"""Messages in Chinese and English, through the standard library's gettext.

English is the source language: every user-facing message is written in English in the code
and passed through :func:`_` (``_("unknown name '{name}'").format(name=...)``: translate the
template, then fill it in). The one catalogue is ``rulesengine/locale/zh.po``, a standard
gettext PO file that maps each English message to its Chinese translation. It ships as package
data and is compiled in memory into a ``.mo`` image read by :class:`gettext.GNUTranslations`,
so no build step is needed. ``tools/update_po.py`` re-extracts the messages after code changes.

The language is ``zh`` or ``en``: ``rulesengine --lang zh|en``, else the locale of the
environment (LANGUAGE, LC_ALL, LC_MESSAGES, LANG: the first one set; Chinese when it starts with
``zh``). Error codes, ids and JSON keys are never translated, nor the policy's own Chinese.

Reports (HTML, Markdown, workbooks, clearing packs, graph pictures) are for the Chinese readers of
a clearing: they are Chinese whatever the locale, English only when asked for (``--lang en``).
A view renders within :func:`report_wording`, where :func:`_` speaks the language of reports;
the CLI chooses that language for one command with :func:`reports_in`.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gettext
import io
import json
import os
import struct
from contextvars import ContextVar
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Iterator, Mapping

LANGUAGES = ("zh", "en")
CATALOGUE = "locale/zh.po"  # inside the package
_ENV_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_current: gettext.NullTranslations | None = None
_language: str | None = None
# the language of reports (see the module's docstring), and the translations in force within
# report_wording(): context variables, so that each thread (and each command) has its own
_REPORTS: ContextVar[str] = ContextVar("rulesengine_reports", default="zh")
_SPEAKING: ContextVar[tuple[str, gettext.NullTranslations] | None] = ContextVar(
    "rulesengine_speaking", default=None)


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it yet (module-level tables);
    translate it with ``_(value)`` where it is shown."""
    return message


def _(message: str) -> str:
    """The message in the current language (the English text when it has no translation)."""
    speaking = _SPEAKING.get()
    if speaking is not None:
        return speaking[1].gettext(message)
    translations = _current if _current is not None else _activate(language_from_environment())
    return translations.gettext(message)


def set_language(language: str | None) -> str:
    """Use ``zh`` or ``en`` from now on (``zh_CN``, ``zh-TW`` ... are Chinese; anything else is
    English; None: from the environment). Returns the language chosen."""
    _activate(normalize(language) if language else language_from_environment())
    return get_language()


def get_language() -> str:
    """The language :func:`_` speaks here and now: ``zh`` or ``en``."""
    speaking = _SPEAKING.get()
    if speaking is not None:
        return speaking[0]
    if _language is None:
        _activate(language_from_environment())
    return _language  # type: ignore[return-value]


def normalize(language: str) -> str:
    return "zh" if language.strip().lower().startswith("zh") else "en"


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """``zh`` when the locale of the environment is Chinese, else ``en``."""
    environ = os.environ if environ is None else environ
    for name in _ENV_VARIABLES:
        value = environ.get(name, "")
        if value:
            return normalize(value.split(":")[0])
    return "en"


@contextlib.contextmanager
def reports_in(language: str | None) -> Iterator[None]:
    """Reports rendered within the block are in ``language`` (None: Chinese, the default)."""
    token = _REPORTS.set(normalize(language) if language else "zh")
    try:
        yield
    finally:
        _REPORTS.reset(token)


@contextlib.contextmanager
def report_wording() -> Iterator[None]:
    """Within the block (or the function it decorates), :func:`_` speaks the language of
    reports (see :func:`reports_in`)."""
    language = _REPORTS.get()
    token = _SPEAKING.set((language, chinese() if language == "zh" else gettext.NullTranslations()))
    try:
        yield
    finally:
        _SPEAKING.reset(token)


def _activate(language: str) -> gettext.NullTranslations:
    global _current, _language
    _current = chinese() if language == "zh" else gettext.NullTranslations()
    _language = language
    return _current


# --- the catalogue ----------------------------------------------------------------------------
def catalogue_text() -> str:
    try:
        return files("rulesengine.core").joinpath(CATALOGUE).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - a broken install
        return (Path(__file__).resolve().parent / CATALOGUE).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def catalogue() -> dict[str, str]:
    """English message -> Chinese, as written in ``locale/zh.po`` (the header not included)."""
    return {k: v for k, v in read_po(catalogue_text()).items() if k}


@lru_cache(maxsize=None)
def chinese() -> gettext.GNUTranslations:
    return gettext.GNUTranslations(io.BytesIO(mo_image(read_po(catalogue_text()))))


def read_po(text: str) -> dict[str, str]:
    """The translated entries of a PO file: msgid -> msgstr (the header under "").

    Reads the subset of the format the catalogue uses: comments, ``msgid``/``msgstr`` with
    continuation lines. Entries marked fuzzy and entries without a translation are left out.
    """
    entries: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    fuzzy = False
    current: list[str] | None = None

    def flush() -> None:
        nonlocal msgid, msgstr, fuzzy, current
        if msgid is not None and msgstr is not None and not fuzzy:
            key, value = "".join(msgid), "".join(msgstr)
            if value:
                entries[key] = value
        msgid = msgstr = current = None
        fuzzy = False

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("#"):
            if msgstr is not None:
                flush()
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
        elif line.startswith("msgid "):
            if msgid is not None:
                flush()
            msgid = current = [_unquote(line[6:], number)]
        elif line.startswith("msgstr "):
            if msgid is None:
                raise ValueError(f"{CATALOGUE}:{number}: msgstr without msgid")
            msgstr = current = [_unquote(line[7:], number)]
        elif line.startswith('"') and current is not None:
            current.append(_unquote(line, number))
        else:
            raise ValueError(f"{CATALOGUE}:{number}: cannot read {line!r}")
    flush()
    return entries


def _unquote(text: str, number: int) -> str:
    text = text.strip()
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        raise ValueError(f"{CATALOGUE}:{number}: expected a quoted string, got {text!r}")
    return json.loads(text)  # PO's escapes (\" \\ \n \t) are JSON's


def quote_po(text: str) -> str:
    """A PO string literal (one line; the catalogue keeps each message on one line)."""
    return json.dumps(text, ensure_ascii=False)


def mo_image(messages: Mapping[str, str]) -> bytes:
    """The GNU ``.mo`` image of ``messages`` (as ``msgfmt`` writes it, without a hash table)."""
    keys = sorted(messages)
    ids = strs = b""
    offsets = []
    for key in keys:
        k, v = key.encode("utf-8"), messages[key].encode("utf-8")
        offsets.append((len(ids), len(k), len(strs), len(v)))
        ids += k + b"\0"
        strs += v + b"\0"
    count = len(keys)
    key_start = 7 * 4 + 16 * count
    value_start = key_start + len(ids)
    table: list[int] = []
    for key_offset, key_length, _value_offset, _value_length in offsets:
        table += [key_length, key_offset + key_start]
    for _key_offset, _key_length, value_offset, value_length in offsets:
        table += [value_length, value_offset + value_start]
    header = struct.pack("<7I", 0x950412DE, 0, count, 7 * 4, 7 * 4 + 8 * count, 0, 0)
    return header + struct.pack(f"<{len(table)}I", *table) + ids + strs


# --- words shared by many messages ----------------------------------------------------------------
_KINDS = {"parameter": N_("parameter"), "table": N_("table"), "input": N_("input"),
          "rule": N_("rule"), "check": N_("check"), "fact": N_("fact"),
          "declaration": N_("declaration")}
_SEVERITIES = {"error": N_("error"), "warning": N_("warning")}


# the operating system's reasons (OSError.strerror is English whatever the language)
_OS_REASONS = {errno.ENOENT: N_("No such file or directory"), errno.EACCES: N_("Permission denied"),
               errno.EPERM: N_("Operation not permitted"), errno.EISDIR: N_("Is a directory"),
               errno.ENOTDIR: N_("Not a directory"), errno.EEXIST: N_("File exists"),
               errno.ENOSPC: N_("No space left on device"), errno.EROFS: N_("Read-only file system"),
               errno.ENAMETOOLONG: N_("File name too long"), errno.ELOOP: N_("Too many levels of symbolic links"),
               errno.EBUSY: N_("Device or resource busy"), errno.EIO: N_("Input/output error")}


def os_reason(exc: OSError) -> str:
    """Why an operation on a file failed, in the current language."""
    if exc.errno in _OS_REASONS:
        return _(_OS_REASONS[exc.errno])
    return exc.strerror or str(exc)


def library_detail(exc: BaseException) -> str:
    """A library's own words about a failure (zipfile, pyarrow, calamine ... speak English): as
    they are in English or under RULESENGINE_DEBUG, else a pointer to them."""
    if isinstance(exc, OSError) and exc.errno in _OS_REASONS:
        return os_reason(exc)
    if get_language() == "en" or os.environ.get("RULESENGINE_DEBUG"):
        return str(exc)[:200]
    return _("the library's own words are shown with RULESENGINE_DEBUG=1")


def kind_name(kind: str) -> str:
    """'rule', 'check', 'parameter' ... in the current language."""
    return _(_KINDS[kind]) if kind in _KINDS else kind


def severity_name(severity: str) -> str:
    """'error' or 'warning' in the current language."""
    return _(_SEVERITIES[severity]) if severity in _SEVERITIES else severity


def context_of(decl) -> str:
    """Where a formula message belongs: ``rule settlement_amount (三(三)6)``."""
    return _("{kind} {id} ({citation})").format(kind=kind_name(decl.kind), id=decl.id,
                                                citation=decl.citation)


# --- argparse's own messages ----------------------------------------------------------------------
# argparse translates its messages ("usage: ", "the following arguments are required: %s" ...)
# with gettext's global domain; these are the ones a user of rulesengine can meet.
_ARGPARSE = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("the following arguments are required: %s"), N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("expected one argument"),
    N_("expected at least one argument"), N_("expected at most one argument"),
    N_("argument %(argument_name)s: %(message)s"), N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"), N_("invalid %(type)s value: %(value)r"),
    N_("ambiguous option: %(option)s could match %(matches)s"), N_("ignored explicit argument %r"),
    N_("expected %s argument"), N_("expected %s arguments"),
)


@contextlib.contextmanager
def argparse_messages() -> Iterator[None]:
    """Within the block, argparse's own messages are in the current language."""
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]

    def plural(singular: str, plural_: str, n: int) -> str:
        return _(singular if n == 1 else plural_)

    argparse._, argparse.ngettext = _, plural  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]
