"""Report files on disk: written whole or not at all.

A report (HTML, Markdown, SVG, workbook) is first written to a temporary file in the target
directory and then renamed over the target, so a reader never sees half a file and a failed
run never leaves a truncated one behind.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Callable

from .errors import OutputError
from .i18n import _, os_reason


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def formula_safe(value):
    """A cell value that no spreadsheet will run as a formula (the OWASP convention).

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    ``'``; a plain number written as text (``-242.81``) and every non-text value are returned
    unchanged, so numbers stay numbers. Used for every cell of every CSV and .xlsx we write.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_atomic(path: str, write: Callable[[str], None]) -> None:
    """Call ``write(temporary_path)``, then rename the temporary file to ``path``.

    Args:
        path: the file to create or replace.
        write: writes the complete content to the path it is given.

    Raises:
        OutputError: the directory does not exist or the file cannot be written.
    """
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    try:
        handle, temporary = tempfile.mkstemp(prefix=".rulesengine-", suffix=suffix, dir=folder)
    except OSError as exc:
        raise OutputError(_("cannot write '{path}': {reason}").format(path=path, reason=os_reason(exc)),
                          hint=_("check that the directory exists and is writable")) from None
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a report is an ordinary file
        os.replace(temporary, path)
    except OSError as exc:
        raise OutputError(_("cannot write '{path}': {reason}").format(path=path, reason=os_reason(exc)),
                          hint=_("check the path, the permissions and the free disk space")) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str, text: str) -> None:
    """Write ``text`` as UTF-8 with ``\\n`` line ends, atomically."""
    def write(temporary: str) -> None:
        with open(temporary, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
    write_atomic(path, write)


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` atomically."""
    def write(temporary: str) -> None:
        with open(temporary, "wb") as stream:
            stream.write(data)
    write_atomic(path, write)
