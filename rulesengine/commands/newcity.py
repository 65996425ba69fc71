"""``rulesengine new CITY --from RULESET [-o DIR]``: a new city's ruleset, started from another's.

The ruleset is copied to ``DIR/CITY.yaml`` (DIR is ``CITY`` by default) and the modules it
includes to ``DIR/modules/``, so the copy validates on its own. The metadata that names the
old city's document (id, title, issuer, document number) is replaced by placeholders marked
【待填写】, and the dates and the seed get a Chinese comment saying they are still the old
document's; the rest of the text (comments included) is kept line for line. Nothing existing
is overwritten: DIR must not exist.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import date

from ..check.sources import MODULE_DIR, find_module, unknown_module
from ..core.errors import CheckFailed, RulesError, UsageError
from ..core.i18n import _
from ..core.output import write_text
from ..load.loader import load_ruleset

_ID = re.compile(r"[a-z][a-z0-9_]*")
_TOP = re.compile(r"^([A-Za-z_]+):(.*)$")
_DATE = re.compile(r"^(\s+)(from|to):(\s*\d{4}-\d{2}-\d{2})\s*(#.*)?$")
TODO = "【待填写】"


def add_new_parser(sub) -> None:
    new = sub.add_parser("new", help=_("start a new city's ruleset from an existing one"))
    new.add_argument("city", metavar="CITY", help=_("the new city, e.g. weifang (names the file and the id)"))
    new.add_argument("--from", dest="source", required=True, metavar="RULESET",
                     help=_("the ruleset to start from"))
    new.add_argument("-o", "--output", metavar="DIR", help=_("the new folder (default: CITY)"))


def run_new(args) -> int:
    """Copy, rewrite, report; exit 0 (a bad source ruleset is a located error, exit 2)."""
    city = args.city.strip()
    if not city or any(c in city for c in '/\\:*?"<>|') or city.startswith("."):
        raise UsageError(_("'{city}' cannot name a file").format(city=args.city),
                         hint=_("use letters, digits and _ , e.g. weifang"))
    folder = args.output or city
    if os.path.lexists(folder):
        raise UsageError(_("'{path}' exists; new never writes into an existing folder").format(path=folder),
                         hint=_("name a new folder with -o DIR"))
    if not os.path.isfile(args.source):
        raise UsageError(_("'{path}': no such file").format(path=args.source), hint=_("name a ruleset .yaml file"))
    doc = load_ruleset(args.source)
    modules = _modules(args.source, doc)
    text = rewrite(_read(args.source), city, os.path.basename(args.source))
    target = os.path.join(folder, f"{city}.yaml")
    os.makedirs(os.path.join(folder, MODULE_DIR) if modules else folder)
    try:
        write_text(target, text)
        for module_id, file in modules.items():
            shutil.copyfile(file, os.path.join(folder, MODULE_DIR, f"{module_id}.yaml"))
    except OSError as exc:
        raise UsageError(_("cannot write '{path}': {reason}").format(path=folder, reason=exc.strerror or exc),
                         hint=_("check the path and the permissions")) from None
    print(_("wrote {file}").format(file=target))
    for module_id in modules:
        print(_("wrote {file}").format(file=os.path.join(folder, MODULE_DIR, f"{module_id}.yaml")))
    print(_("fill in the metadata marked {mark}, then check the parameters and citations against the new "
            "city's document; rulesengine validate {file}").format(mark=TODO, file=target))
    return 0


def _read(path: str) -> str:
    with open(path, encoding="utf-8-sig") as handle:
        return handle.read()


def _modules(source: str, doc) -> dict[str, str]:
    """module id -> its file, for every module the ruleset includes (and they include)."""
    found: dict[str, str] = {}
    errors: list[RulesError] = []
    pending = [(source, doc)]
    while pending:
        file, current = pending.pop()
        for i, spec in enumerate(current.value.get("include") or []):
            module_id = spec.get("module") if isinstance(spec, dict) else None
            if not isinstance(module_id, str) or module_id in found:
                continue
            path = find_module(file, module_id)
            if path is None:
                errors.append(unknown_module(file, module_id, current.span(("include", i, "module"))))
                continue
            found[module_id] = path
            pending.append((path, load_ruleset(path)))
    if errors:
        raise CheckFailed(errors)
    return found


def rewrite(text: str, city: str, source: str) -> str:
    """The ruleset's text with its metadata replaced by placeholders (top-level keys only)."""
    new_id = city.lower() if _ID.fullmatch(city.lower()) else "new_city"
    values = {"id": f"{new_id}  # {TODO}本市规则集标识：小写字母、数字和下划线",
              "title": f'"{TODO}本市政策文件标题"',
              "issuer": f'"{TODO}发文机关"',
              "document_number": f'"{TODO}文号（没有文号写 无文号）"'}
    notes = {"issued": f"  # {TODO}发布日期：现为原文件（{source}）的日期",
             "seed": f"  # {TODO}本市政策原文的文件名：现为原文件的"}
    lines, out, i = text.splitlines(), [], 0
    in_effective = False
    while i < len(lines):
        line = lines[i]
        top = _TOP.match(line)
        if top:
            in_effective = top.group(1) == "effective"
        if top and top.group(1) in values:
            out.append(f"{top.group(1)}: {values[top.group(1)]}")
            i += 1
            while i < len(lines) and (lines[i].startswith((" ", "\t")) or not lines[i].strip()) \
                    and lines[i].strip():  # a value continued on indented lines
                i += 1
            continue
        if top and top.group(1) in notes and "#" not in top.group(2):
            line += notes[top.group(1)]
        elif in_effective and _DATE.match(line) and "#" not in line:
            line += f"  # {TODO}施行日期：现为原文件的日期"
        out.append(line)
        i += 1
    head = [f"# 本规则集由 rulesengine new 于 {date.today().isoformat()} 从 {source} 复制生成。",
            f"# 标有{TODO}的元数据须按本市政策文件填写；参数、条款引用、说明、示例和测试仍是原城市的，",
            "# 须逐条与本市文件核对后修改。", "#"]
    modeline = out[:1] if out and out[0].startswith("# yaml-language-server") else []
    return "\n".join(modeline + head + out[len(modeline):]) + "\n"
