"""Bring the message catalogue rulesengine/core/locale/zh.po up to date with the code.

    python tools/update_po.py            # rewrite zh.po; list new (untranslated) and dropped messages
    python tools/update_po.py --check    # exit 1 if zh.po is not up to date (changes nothing)

Every string literal passed to ``_(...)`` or ``N_(...)`` in rulesengine/*.py is a message id.
Existing translations are kept; new messages get an empty msgstr to fill in (tests/test_i18n.py
fails until every message has its Chinese); messages no longer in the code are dropped.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rulesengine.core.i18n import CATALOGUE, quote_po, read_po  # noqa: E402

PACKAGE = ROOT / "rulesengine"
PO = PACKAGE / "core" / CATALOGUE
HEADER = """\
# Chinese messages of rulesengine: English message id -> Chinese.
# Regenerate the list of ids with `python tools/update_po.py`; translate each empty msgstr.
# Placeholders in braces ({name}) are filled in by the code: keep them exactly as they are.
msgid ""
msgstr ""
"Project-Id-Version: rulesengine\\n"
"Language: zh_CN\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"""


def extract(package: Path = PACKAGE) -> dict[str, list[str]]:
    """msgid -> where it is used (``file:line``), in the order of first use."""
    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("_", "N_") and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.setdefault(node.args[0].value, []).append(f"{path.relative_to(package).as_posix()}:{node.lineno}")
    return dict(sorted(found.items(), key=lambda item: _position(item[1][0])))


def _position(where: str) -> tuple[str, int]:
    file, _sep, line = where.partition(":")
    return file, int(line)


def render(messages: dict[str, list[str]], translations: dict[str, str]) -> str:
    parts = [HEADER]
    for msgid, places in messages.items():
        parts.append(f"#: {' '.join(places)}\nmsgid {quote_po(msgid)}\n"
                     f"msgstr {quote_po(translations.get(msgid, ''))}\n")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    messages = extract()
    translations = read_po(PO.read_text(encoding="utf-8")) if PO.exists() else {}
    text = render(messages, translations)
    new = [m for m in messages if not translations.get(m)]
    dropped = [m for m in translations if m and m not in messages]
    if "--check" in argv:
        current = PO.read_text(encoding="utf-8") if PO.exists() else ""
        if current != text:
            print(f"{PO.relative_to(ROOT)} is out of date: {len(new)} untranslated, {len(dropped)} "
                  "stale; run python tools/update_po.py", file=sys.stderr)
            return 1
        return 0
    PO.parent.mkdir(exist_ok=True)
    PO.write_text(text, encoding="utf-8")
    print(f"{PO.relative_to(ROOT)}: {len(messages)} messages, {len(new)} untranslated, "
          f"{len(dropped)} dropped")
    for msgid in new:
        print(f"  untranslated: {msgid!r}")
    for msgid in dropped:
        print(f"  dropped: {msgid!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
