"""PyYAML's problem sentences in the current language.

PyYAML says what is wrong in English (``mapping values are not allowed here``, ``expected <block
end>, but found '<block mapping start>'``). :func:`yaml_problem` looks the sentences of PyYAML's
scanner and parser up in the message catalogue, its own words being the message ids, with the
names of its tokens (``<block end>``) looked up too; a sentence it does not know is kept as
PyYAML wrote it.
"""

from __future__ import annotations

import re

from ..core.i18n import N_, _

# PyYAML's sentences: a pattern, and the sentence with its variable parts as placeholders
_PROBLEMS = [
    (re.compile(r"found character (.+) that cannot start any token"),
     N_("found character {found} that cannot start any token")),
    (re.compile(r"expected (.+?), but found (.+)"), N_("expected {expected}, but found {found}")),
    (re.compile(r"expected (.+?), but got (.+)"), N_("expected {expected}, but got {found}")),
    (re.compile(r"mapping values are not allowed here"), N_("mapping values are not allowed here")),
    (re.compile(r"mapping keys are not allowed here"), N_("mapping keys are not allowed here")),
    (re.compile(r"sequence entries are not allowed here"), N_("sequence entries are not allowed here")),
    (re.compile(r"found unexpected end of stream"), N_("found unexpected end of stream")),
    (re.compile(r"could not find expected ':'"), N_("could not find expected ':'")),
    (re.compile(r"found undefined alias (.+)"), N_("found undefined alias {found}")),
    (re.compile(r"found unknown escape character (.+)"), N_("found unknown escape character {found}")),
    (re.compile(r"found unexpected document separator"), N_("found unexpected document separator")),
]
# the names of PyYAML's tokens inside its sentences
_TOKENS = {
    "<stream end>": N_("<stream end>"), "<stream start>": N_("<stream start>"),
    "<block end>": N_("<block end>"), "<block mapping start>": N_("<block mapping start>"),
    "<block sequence start>": N_("<block sequence start>"), "<document start>": N_("<document start>"),
    "<document end>": N_("<document end>"), "<block entry>": N_("<block entry>"),
}
_TOKEN = re.compile(r"<[a-z ]+>")


def yaml_problem(problem: str) -> str:
    """PyYAML's ``problem`` in the current language (as written when it is not known)."""
    for pattern, message in _PROBLEMS:
        match = pattern.fullmatch(problem.strip())
        if match is None:
            continue
        names = re.findall(r"\{(\w+)\}", message)
        return _(message).format(**{name: _TOKEN.sub(_token, part) for name, part in zip(names, match.groups())})
    return problem


def _token(match: re.Match) -> str:
    name = _TOKENS.get(match.group(0))
    return _(name) if name else match.group(0)
