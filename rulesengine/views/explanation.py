"""Evaluation + trace -> what a person reads in a clearing report, shared by the HTML
(:mod:`rulesengine.render_html`) and Markdown (:mod:`rulesengine.render_md`) renderers.

It decides *what* is said and how values read in Chinese: money in 元 with thousands
separators (and 万元 for large amounts), rates in %, 是/否 for booleans, rounding and
sources described, formulas with their Chinese names, the facts used, per-record tables.
The renderers only decide the markup.

Every fixed word of the reports comes from :data:`WORDS` through :func:`word`: a message
catalogue (the ``--lang`` item of issue 5) can translate the reports by replacing that
one function, without touching the renderers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..load import ast
from ..core.datatypes import Type, display
from ..core.errors import render
from ..evaluate.evaluator import CheckResult, Evaluation, Program, splice
from ..core.i18n import _
from ..core.source import printable
from ..check.model import Check, Entity, Metadata, Parameter, Rule
from ..evaluate.trace import TraceNode


WORDS: dict[str, str] = {
    "report": "计算说明",
    "document_number": "文号",
    "issuer": "发文机关",
    "issued": "发布日期",
    "effective": "施行期间",
    "as_of": "计算基准日",
    "as_of_none": "无（事实未给清算年度，规则集未定施行日期）",
    "record": "记录",
    "ruleset_file": "规则集文件",
    "facts_source": "事实来源",
    "modules": "引用的共用模块",
    "results": "计算结果",
    "checks": "检查",
    "checks_summary": "共 {total} 项，通过 {passed} 项，未通过 {failed} 项",
    "trace": "计算过程",
    "trace_hint": "点击各项展开或收起；打印时全部展开。",
    "facts": "使用的事实和参数",
    "tables": "查表",
    "records": "分项结果",
    "warnings": "提示",
    "errors": "错误",
    "skipped": "未计算",
    "skipped_because": "未计算：所依赖的 {cause} 出错",
    "search": "搜索名称、编号、条款…",
    "search_label": "搜索",
    "expand_all": "全部展开",
    "collapse_all": "全部收起",
    "matches": "匹配 {count} 项",
    "id": "编号",
    "label": "名称",
    "value": "值",
    "kind": "类别",
    "source": "来源",
    "citation": "依据",
    "note": "说明",
    "key": "键",
    "table": "表",
    "fact": "事实",
    "input": "输入",
    "parameter": "参数",
    "rule": "规则",
    "check": "检查",
    "table_kind": "参数表",
    "formula": "公式",
    "formula_named": "公式（中文名称）",
    "substituted": "代入数值",
    "lookup": "查表",
    "branch": "条件分支",
    "branch_text": "{condition} 为{value}，取 {taken} 分支",
    "branch_then": "then",
    "branch_else": "else",
    "aggregate": "汇总",
    "aggregate_text": "{expression} = {value}（{count} 条记录）",
    "rounding": "舍入",
    "rounding_text": "保留 {places} 位小数，{mode}；舍入前 {before}",
    "reading": "文本解读",
    "defined_at": "定义位置",
    "see_above": "见上文",
    "continued": "层次过深，接下文",
    "record_count": "{count} 条记录",
    "records_passed": "{count} 条记录全部通过",
    "records_failed": "{count} 条记录中 {failed} 条未通过",
    "status": "结果",
    "passed": "通过",
    "failed": "未通过",
    "severity_error": "错误",
    "severity_warning": "警告",
    "left": "左边",
    "right": "右边",
    "difference": "差额",
    "message": "要求",
    "failed_records": "未通过的记录",
    "checked_records": "检查 {checked} 条记录，{failed} 条未通过",
    "condition": "条件",
    "true": "是",
    "false": "否",
    "yuan": "元",
    "wan_yuan": "约 {value} 万元",
    "open_end": "起（未规定终止日期）",
    "period": "{start} 至 {end}",
    "source_example": "规则集示例 {name}「{label}」",
    "source_file": "事实文件 {path}",
    "source_ruleset": "规则集规定",
    "source_dated": "规则集规定，自 {start} 起施行的取值（基准日 {as_of}）",
    "rows": "{count} 行",
    "graph": "依赖关系图",
    "graph_targets": "突出显示的计算目标及其依赖",
    "generated_by": "由 rulesengine 根据规则集和事实生成；同一规则集和事实生成的内容完全相同。",
}

ROUNDING_MODES = {"half_up": "四舍五入", "half_even": "四舍六入五成双", "down": "向零舍去",
                  "up": "远离零进位", "floor": "向下舍入", "ceiling": "向上进位"}


def word(key: str, **values: Any) -> str:
    """The report's wording for ``key``, with ``{placeholders}`` filled in.

    This is the translation hook: a catalogue may replace it, keeping the keys.
    """
    text = WORDS[key]
    return text.format(**values) if values else text


# --- values as people read them -------------------------------------------------------------
def amount(value: Any, type_: Type) -> str:
    """A value for people: ``1,234.50 元``, ``5%``, ``是``, ``良好``, ``2024-12-31``."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return word("true") if value else word("false")
    if isinstance(value, str):
        return value  # enum values and codes read best without quotes
    text = display(value, type_)
    if type_.kind == "money" and isinstance(value, Decimal):
        return f"{text} {word('yuan')}"
    return text


def wan(value: Any, type_: Type) -> str | None:
    """``约 1,665.44 万元`` for amounts of at least 10,000 yuan, else None."""
    if type_.kind != "money" or not isinstance(value, Decimal) or isinstance(value, bool):
        return None
    if abs(value) < 10_000:
        return None
    shown = (value / 10_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return word("wan_yuan", value=f"{shown:,f}")


def signed(value: Any, type_: Type) -> str:
    """A difference: ``+2,051,234.57 元``, ``-1.00 元``, ``1%``."""
    text = amount(value, type_)
    if isinstance(value, Decimal) and value > 0:
        return "+" + text
    return text


def node_value(node: TraceNode) -> str:
    """The value of a trace node; a per-record node reads ``5 条记录``."""
    if node.records is not None and node.check is not None:
        failed = sum(not item["value"] for item in node.records)
        return word("records_failed" if failed else "records_passed", count=len(node.records), failed=failed)
    if node.records is not None:
        return word("record_count", count=len(node.records))
    if node.check is not None:
        return word("passed") if node.check["passed"] else word("failed")
    return amount(node.value, node.type)


def item_value(node: TraceNode, item: dict) -> str:
    """One record's value of a per-record node."""
    if node.kind == "check":
        return "✓ " + word("passed") if item["value"] else "✗ " + word("failed")
    return amount(item["value"], node.type)


def kind_word(kind: str) -> str:
    return word({"fact": "fact", "input": "input", "parameter": "parameter", "rule": "rule",
                 "check": "check", "table": "table_kind"}.get(kind, "rule"))


def severity_word(severity: str) -> str:
    return word("severity_warning") if severity == "warning" else word("severity_error")


def period_text(meta: Metadata) -> str:
    if meta.effective_from == date.min:
        return "—"
    if meta.effective_to is None:
        return f"{meta.effective_from} {word('open_end')}"
    return word("period", start=meta.effective_from, end=meta.effective_to)


def rounding_text(node: TraceNode) -> str | None:
    if not node.rounding:
        return None
    mode = ROUNDING_MODES.get(node.rounding["mode"], node.rounding["mode"])
    return word("rounding_text", places=node.rounding["places"], mode=mode,
                before=grouped(node.rounding["before"]))


def grouped(value: Any) -> str:
    """An exact number with thousands separators and all its digits: 1,025,617.284."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return str(value)
    text = f"{value:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def lookup_text(lookup: dict) -> str:
    return f"{lookup['label']}[{amount(lookup['key'], Type('text'))}] = " \
           f"{amount(lookup['value'], lookup['type'])}"


def branch_text(branch: dict) -> str:
    return word("branch_text", condition=branch["condition"],
                value=word("true") if branch["value"] else word("false"),
                taken=word("branch_then") if branch["taken"] == "then" else word("branch_else"))


def aggregate_text(aggregate: dict) -> str:
    field = f".{aggregate['field']}" if aggregate["field"] else ""
    where = f" where {aggregate['where']}" if aggregate["where"] else ""
    expression = f"{aggregate['function']}({aggregate['collection']}{field}{where})"
    return word("aggregate_text", expression=expression,
                value=amount(aggregate["value"], aggregate["type"]), count=aggregate["records"])


@dataclass
class Sides:
    """Both sides of a failed comparison, and their difference, as text."""

    left: str
    right: str
    difference: str | None


def sides_text(sides: tuple | None, difference: Any, type_: Type | None) -> Sides | None:
    if sides is None:
        return None
    type_ = type_ or Type("number")
    diff = None
    if difference is not None:
        diff = signed(difference, type_ if type_.kind != "date" else Type("integer"))
        if type_.kind == "date":
            diff += " 天"
    return Sides(amount(sides[0], type_), amount(sides[1], type_), diff)


def check_sides(check: CheckResult) -> Sides | None:
    return sides_text(check.sides, check.difference, check.side_type)


@dataclass
class EntityTable:
    """The per-record results of one collection: a row per record, a column per node."""

    entity: Entity
    keys: list
    columns: list[TraceNode]


class Explanation:
    """Everything a readable report of one evaluation shows, computed once.

    Args:
        program: the compiled ruleset.
        evaluation: an evaluation made with ``trace=True``.
    """

    def __init__(self, program: Program, evaluation: Evaluation):
        if evaluation.trace is None:
            raise ValueError("a readable report needs an evaluation with trace=True")
        self.program = program
        self.evaluation = evaluation
        self.ruleset = ruleset = program.ruleset
        self.meta = ruleset.meta
        self.nodes: dict[str, TraceNode] = {node.id: node for node in evaluation.trace}
        self._position = {decl_id: i for i, decl_id in enumerate(ruleset.declarations)}
        self._readings = _readings(ruleset)

    # --- header ---------------------------------------------------------------------------
    def header(self) -> list[tuple[str, str]]:
        """(word, text) rows describing the document and the evaluation."""
        meta = self.meta
        rows = [(word("document_number"), meta.document_number)]
        if self.evaluation.scope is not None:
            rows.insert(0, (self.scope_label(), str(self.evaluation.scope[1])))
        if meta.issuer:
            rows.append((word("issuer"), "、".join(meta.issuer)))
        if meta.issued:
            rows.append((word("issued"), meta.issued.isoformat()))
        rows.append((word("effective"), period_text(meta)))
        rows.append((word("as_of"), self.evaluation.as_of.isoformat() if self.evaluation.as_of
                     else word("as_of_none")))
        source = self.fact_source()
        if source:
            rows.append((word("facts_source"), source))
        rows.append((word("ruleset_file"), meta.file))
        for module in self.ruleset.modules.values():
            rows.append((word("modules"), f"{module.title}（{module.document_number}）"))
        return rows

    def scope_label(self) -> str:
        """What the record an evaluation is scoped to is: its collection's label, or 记录."""
        entity = self.ruleset.entities.get(self.evaluation.scope[0] or "")
        return entity.label if entity is not None else word("record")

    def own(self, decl) -> bool:
        """Whether ``decl`` has one value here: top-level, or of the record in scope."""
        scope = self.evaluation.scope
        return decl.entity is None or (scope is not None and decl.entity == scope[0])

    def fact_source(self) -> str | None:
        sources = [n.source for n in self.evaluation.trace if n.kind == "fact" and n.source]
        return self.source_words(sources[0]) if sources else None

    def source_words(self, source: str | None) -> str:
        """Where supplied facts came from, in words: an example of the ruleset, a facts file.

        ``source`` is what the caller passed to ``Program.evaluate(fact_source=...)``: the CLI
        passes the facts file's path or "example NAME" (in the language of its messages).
        """
        if not source:
            return word("source_ruleset")
        for name, example in self.ruleset.examples.items():
            if source in (f"example {name}", _("example {name}").format(name=name)):
                return word("source_example", name=name, label=example.label)
        return word("source_file", path=printable(source))  # a file name may hold any byte

    def node_source(self, node: TraceNode) -> str:
        """Where the value of a fact or parameter node came from."""
        if node.kind == "fact":
            return self.source_words(node.source)
        decl = self.ruleset.declarations.get(node.id)
        as_of = self.evaluation.as_of
        if isinstance(decl, Parameter) and decl.dated and as_of is not None:
            chosen = decl.value_on(as_of)
            if chosen is not None:
                return word("source_dated", start=chosen.start, as_of=as_of)
        text = word("source_ruleset")
        return f"{text}（{node.span}）" if node.span else text

    # --- results and checks ---------------------------------------------------------------
    def targets(self) -> list[str]:
        return list(self.evaluation.targets)

    def checks(self) -> list[CheckResult]:
        """Failed checks first (errors before warnings), then the passed, in document order."""
        order = {c.id: self._position.get(c.id, 0) for c in self.evaluation.checks}
        return sorted(self.evaluation.checks,
                      key=lambda c: (c.passed, c.severity != "error", order[c.id]))

    def checks_summary(self) -> str:
        total = len(self.evaluation.checks)
        failed = len(self.evaluation.failed_checks)
        return word("checks_summary", total=total, passed=total - failed, failed=failed)

    def record_failures(self, check: CheckResult) -> list[tuple[str, Sides | None]]:
        return [(str(r.key), sides_text(r.sides, r.difference, check.side_type))
                for r in check.records or ()]

    # --- the tree -------------------------------------------------------------------------
    def children(self, node: TraceNode) -> list[TraceNode]:
        return [self.nodes[i] for i in node.inputs if i in self.nodes]

    def details(self, node: TraceNode) -> list[tuple[str, str, bool]]:
        """(word, text, is_code) lines shown under a node, in reading order."""
        lines: list[tuple[str, str, bool]] = []
        if node.formula:
            lines.append((word("formula") if node.kind == "rule" else word("condition"),
                          " ".join(node.formula.split()), True))
            named = self.named_formula(node)
            if named:
                lines.append((word("formula_named"), named, False))
        if node.substituted is not None:
            lines.append((word("substituted"), node.substituted, True))
        for lookup in node.lookups:
            lines.append((word("lookup"), f"{lookup_text(lookup)}（{lookup['reference']}）", False))
        for branch in node.branches:
            lines.append((word("branch"), branch_text(branch), False))
        for aggregate in node.aggregates:
            lines.append((word("aggregate"), aggregate_text(aggregate), False))
        text = rounding_text(node)
        if text:
            lines.append((word("rounding"), text, False))
        if node.check and not node.check["passed"]:
            lines.append((word("message"), node.check["message"], False))
            sides = sides_text(tuple(node.check["sides"]), node.check["difference"],
                               node.check["side_type"]) if "sides" in node.check else None
            if sides:
                lines.append((word("left"), sides.left, False))
                lines.append((word("right"), sides.right, False))
                if sides.difference:
                    lines.append((word("difference"), sides.difference, False))
        if node.kind in ("fact", "parameter"):
            lines.append((word("source"), self.node_source(node), False))
        if node.note:
            lines.append((word("note"), node.note, False))
        for reading in self.readings(node.id):
            lines.append((word("reading"), reading, False))
        if node.span and node.kind in ("rule", "check"):
            lines.append((word("defined_at"), str(node.span), False))
        return lines

    def readings(self, node_id: str) -> list[str]:
        return self._readings.get(node_id, [])

    def named_formula(self, node: TraceNode) -> str | None:
        """The formula with each name replaced by its Chinese label, when that changes it."""
        decl = self.ruleset.declarations.get(node.id)
        if not isinstance(decl, (Rule, Check)) or decl.tree is None:
            return None
        splices: list[tuple[int, int, str]] = []
        stack = [(decl.tree, decl.entity)]
        decls = self.ruleset.declarations
        while stack:
            current, scope = stack.pop()
            if isinstance(current, ast.Name):
                found = self.ruleset.resolve(current.id, scope)
                if found is not None:
                    splices.append((current.start, current.end, found.label))
            elif isinstance(current, ast.Lookup):
                table = decls.get(current.table)
                if table is not None and decl.formula.startswith(current.table, current.start):
                    splices.append((current.start, current.start + len(current.table), table.label))
            elif isinstance(current, ast.Aggregate):
                entity = self.ruleset.collections.get(current.collection)
                if entity is None:
                    continue
                pattern = re.escape(current.collection)
                label = entity.label
                if current.field:
                    pattern += r"\s*\.\s*" + re.escape(current.field)
                    field = decls.get(f"{entity.id}.{current.field}")
                    label += "." + (field.label if field else current.field)
                match = re.compile(pattern).search(decl.formula, current.start, current.end)
                if match:
                    splices.append((match.start(), match.end(), label))
                if current.where is not None:
                    stack.append((current.where, entity.id))
                continue
            stack.extend((child, scope) for child in reversed(ast.children(current)))
        named = splice(decl.formula, splices)
        return None if named == " ".join(decl.formula.split()) else named

    # --- facts, tables, records -----------------------------------------------------------
    def facts_used(self) -> list[TraceNode]:
        """Top-level facts and parameters that went in, in document order."""
        found = [n for n in self.evaluation.trace
                 if n.kind in ("fact", "parameter") and n.records is None]
        return sorted(found, key=lambda n: self._position.get(n.id, 0))

    def tables_used(self) -> list[dict]:
        """Each distinct table look-up of the trace (table, key), in document order."""
        seen: dict[tuple, dict] = {}
        for node in self.evaluation.trace:
            for lookup in node.lookups:
                seen.setdefault((lookup["table"], str(lookup["key"])), lookup)
        return sorted(seen.values(), key=lambda l: (self._position.get(l["table"], 0), str(l["key"])))

    def entity_tables(self) -> list[EntityTable]:
        """Per collection with records in the trace: its per-record nodes as columns."""
        tables = []
        for entity in self.ruleset.entities.values():
            columns = [n for n in self.evaluation.trace if n.entity == entity.id and n.records is not None]
            if not columns:
                continue
            columns.sort(key=lambda n: self._position.get(n.id, 0))
            records = self.evaluation.values.get(entity.collection)
            keys = list(records.keys) if records is not None else [i["key"] for i in columns[0].records]
            tables.append(EntityTable(entity, keys, columns))
        return tables

    def warnings(self) -> list[str]:
        return [_problem(w) for w in self.evaluation.warnings]

    def errors(self) -> list[str]:
        return [_problem(e) for e in self.evaluation.errors]

    def skipped(self) -> list[tuple[str, str]]:
        return [(node, word("skipped_because", cause=cause))
                for node, cause in self.evaluation.skipped.items()]

    def label(self, decl_id: str) -> str:
        decl = self.ruleset.declarations.get(decl_id)
        return decl.label if decl else decl_id


def _problem(err) -> str:
    return render(err)


def _readings(ruleset) -> dict[str, list[str]]:
    """The ruleset's recorded readings of ambiguous sentences, by the ids they affect."""
    found: dict[str, list[str]] = {}
    value = ruleset.document.value if ruleset.document is not None else None
    readings = value.get("readings") if isinstance(value, dict) else None
    for reading in readings or ():
        if not isinstance(reading, dict):
            continue
        text = f"{reading.get('clause', '')}：{reading.get('reading', '')}"
        for decl_id in reading.get("affects") or ():
            found.setdefault(str(decl_id), []).append(text)
    return found
