"""The rulesets a server offers: the ``*.yaml`` files of one folder, looked up by name.

A request names a ruleset by its file name without ``.yaml`` (``sanya_2024``). The name is
only ever a key of the listing made from the folder, so nothing a request sends becomes a path
on disk. A compiled program is kept while its file and its modules are unchanged (by SHA-256).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass

from ..check.sources import MODULE_DIR
from ..core.errors import RulesError, UsageError, did_you_mean
from ..core.i18n import _
from ..evaluate.driver import load_program
from ..evaluate.evaluator import Program

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")  # a ruleset name and a saved file's name


class NotFoundError(UsageError):
    """A ruleset or run the request names does not exist (HTTP 404)."""

    code = "not-found"


class ConflictError(UsageError):
    """The file to create exists already (HTTP 409)."""

    code = "exists"


def sha256_file(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@dataclass
class Entry:
    """One ruleset file and, once loaded, its program (or the error that stopped it)."""

    name: str
    path: str
    digest: str = ""
    program: Program | None = None
    error: RulesError | None = None


class Catalog:
    """The rulesets of ``folder`` (not its subfolders: ``modules/`` holds included modules)."""

    def __init__(self, folder: str):
        self.folder = os.path.abspath(folder)
        if not os.path.isdir(self.folder):
            raise UsageError(_("'{folder}' is not a folder of rulesets").format(folder=folder),
                             hint=_("give the folder that holds the ruleset .yaml files"))
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Names of the ruleset files, sorted."""
        return sorted(f[:-5] for f in os.listdir(self.folder)
                      if f.endswith(".yaml") and NAME.fullmatch(f[:-5])
                      and os.path.isfile(os.path.join(self.folder, f)))

    def path(self, name: str) -> str:
        """The file of ruleset ``name``; a UsageError (404) for a name not in the folder."""
        known = self.names()
        if name not in known:
            raise NotFoundError(_("unknown ruleset '{name}'").format(name=name[:80]),
                             hint=did_you_mean(name[:80], known) or
                             _("rulesets: {names}").format(names=", ".join(known)))
        return os.path.join(self.folder, known[known.index(name)] + ".yaml")

    def files(self, name: str) -> dict[str, str]:
        """SHA-256 of the ruleset file and of each module file it includes (file -> digest)."""
        entry = self.entry(name)
        paths = [entry.path]
        if entry.program is not None:
            paths += [m.file for m in entry.program.ruleset.modules.values()]
        return {os.path.basename(p) if p == entry.path else os.path.relpath(p, self.folder):
                sha256_file(p) for p in paths if os.path.isfile(p)}

    def entry(self, name: str) -> Entry:
        """The ruleset's entry, loaded again when its file or a module changed."""
        path = self.path(name)
        digest = self._digest(path)
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.digest != digest:
                entry = Entry(name, path, digest)
                try:
                    entry.program = load_program(path)
                except RulesError as err:
                    entry.error = err
                self._entries[name] = entry
            return entry

    def program(self, name: str) -> Program:
        """The compiled ruleset; raises its load or check error."""
        entry = self.entry(name)
        if entry.error is not None:
            raise entry.error
        return entry.program

    def _digest(self, path: str) -> str:
        """One digest over the ruleset file and every module file beside it."""
        digest = hashlib.sha256(sha256_file(path).encode())
        modules = os.path.join(self.folder, MODULE_DIR)
        if os.path.isdir(modules):
            for file in sorted(os.listdir(modules)):
                if file.endswith(".yaml"):
                    digest.update(file.encode() + sha256_file(os.path.join(modules, file)).encode())
        return digest.hexdigest()
