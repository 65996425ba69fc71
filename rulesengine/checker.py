"""Validated document -> :class:`~rulesengine.model.Ruleset`: names resolved, types checked.

Every formula is parsed and type-checked before anything runs. All problems are
collected and raised together as :class:`~rulesengine.errors.CheckFailed`, each located
inside the formula string in the YAML, with a did-you-mean hint for unknown names.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from . import ast
from .builtins import FUNCTIONS
from .datatypes import (BOOLEAN, BUILTIN, INTEGER, MONEY, NUMBER, RATE, ZERO, Type,
                        ValueProblem, coerce, literal_enum)
from .document import Document
from .errors import (ArgumentCountError, BadValueError, CheckFailed, DuplicateIdError,
                     IncompleteTableError, RulesError, TypeMismatchError, UnknownEnumValueError,
                     UnknownFunctionError, UnknownNameError, did_you_mean)
from .model import (Check, Declaration, Example, FactSet, Input, Metadata, Parameter, Rounding,
                    Rule, Ruleset, Table, TestCase)
from .parser import parse_formula

SECTIONS = ("parameters", "tables", "inputs", "rules", "checks")


def check(doc: Document) -> Ruleset:
    """Build the typed ruleset from a schema-valid document, or raise CheckFailed."""
    return _Checker(doc).run()


class _Checker:
    def __init__(self, doc: Document):
        self.doc = doc
        self.data: dict = doc.value
        self.errors: list[RulesError] = []
        self.enums: dict[str, Type] = {}
        self.decls: dict[str, Declaration] = {}

    def fail(self, error: RulesError) -> None:
        self.errors.append(error)

    # --- the pass ---------------------------------------------------------------------------
    def run(self) -> Ruleset:
        meta = self._metadata()
        for enum_id, spec in self.data.get("enums", {}).items():
            self.enums[enum_id] = Type("enum", enum=enum_id, values=tuple(spec["values"]))
        for section in SECTIONS:
            for decl_id, spec in self.data.get(section, {}).items():
                decl = self._declaration(section, decl_id, spec)
                if decl is not None:
                    self._add(decl)
        for decl in list(self.decls.values()):
            if isinstance(decl, (Rule, Check)):
                self._check_formula(decl)
        examples = self._examples()
        tests = self._tests(examples)
        if self.errors:
            raise CheckFailed(self.errors)
        return Ruleset(meta, self.doc, self.enums, self.decls, examples, tests)

    def _add(self, decl: Declaration) -> None:
        other = self.decls.get(decl.id)
        if other is not None:
            self.fail(DuplicateIdError(
                f"'{decl.id}' is declared twice: as {other.kind} and as {decl.kind}",
                span=decl.span, related=[(f"the {other.kind} '{decl.id}'", other.span)],
                hint="ids are shared by parameters, tables, inputs, rules and checks; rename one"))
            return
        self.decls[decl.id] = decl

    # --- metadata ----------------------------------------------------------------------------
    def _metadata(self) -> Metadata:
        data = self.data
        issuer = data["issuer"]
        effective = data["effective"]
        return Metadata(
            id=data["id"], title=data["title"],
            issuer=tuple(issuer) if isinstance(issuer, list) else (issuer,),
            document_number=data["document_number"],
            issued=self._date(data["issued"], ("issued",)),
            effective_from=self._date(effective["from"], ("effective", "from")),
            effective_to=self._date(effective["to"], ("effective", "to")) if "to" in effective else None,
            seed=data["seed"], file=self.doc.file)

    def _date(self, text: str, path: tuple) -> date:
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail(BadValueError(f"'{text}' is not a calendar date", span=self.doc.span(path)))
            return date.min

    # --- declarations ------------------------------------------------------------------------
    def _type(self, name: str, path: tuple) -> Type | None:
        if name in BUILTIN:
            return Type(name)
        if name in self.enums:
            return self.enums[name]
        known = list(BUILTIN) + list(self.enums)
        self.fail(UnknownNameError(f"unknown type '{name}'", span=self.doc.span(path),
                                   hint=did_you_mean(name, known) or
                                   f"use one of {', '.join(known)} (enums are declared under 'enums')"))
        return None

    def _value(self, value: Any, type_: Type, path: tuple) -> Any:
        try:
            return coerce(value, type_)
        except ValueProblem as problem:
            self.fail(BadValueError(f"{problem.message} (expected {type_})",
                                    span=self.doc.span(path), hint=problem.hint))
            return None

    def _declaration(self, section: str, decl_id: str, spec: dict) -> Declaration | None:
        path = (section, decl_id)
        common = dict(id=decl_id, label=spec["label"], citation=spec["citation"],
                      span=self.doc.key_span(path), note=spec.get("note"))
        if section == "tables":
            key_type = self._type(spec["key_type"], path + ("key_type",))
            value_type = self._type(spec["value_type"], path + ("value_type",))
            if key_type is None or value_type is None:
                return None
            return Table(**common, type=value_type, key_type=key_type,
                         rows=self._rows(decl_id, spec, key_type, value_type))
        if section == "checks":
            text = spec["condition"].rstrip()
            return Check(**common, type=BOOLEAN, formula=text,
                         tree=self._parse(path + ("condition",), text),
                         severity=spec.get("severity", "error"), message=spec["message"])
        type_ = self._type(spec["type"], path + ("type",))
        if type_ is None:
            return None
        if section == "parameters":
            is_open = spec.get("open", False)
            value = None if is_open else self._value(spec["value"], type_, path + ("value",))
            return Parameter(**common, type=type_, value=value, open=is_open)
        if section == "inputs":
            low = self._value(spec["min"], type_, path + ("min",)) if "min" in spec else None
            high = self._value(spec["max"], type_, path + ("max",)) if "max" in spec else None
            return Input(**common, type=type_, minimum=low, maximum=high)
        text = spec["formula"].rstrip()  # a block scalar's final newline is not formula
        return Rule(**common, type=type_, formula=text, tree=self._parse(path + ("formula",), text),
                    rounding=self._rounding(spec, type_))

    def _rows(self, table_id: str, spec: dict, key_type: Type, value_type: Type) -> dict:
        rows: dict = {}
        for i, row in enumerate(spec["rows"]):
            path = ("tables", table_id, "rows", i)
            key = self._value(row["key"], key_type, path + ("key",))
            value = self._value(row["value"], value_type, path + ("value",))
            if key in rows:
                self.fail(DuplicateIdError(f"table '{table_id}' has two rows for {key!r}",
                                           span=self.doc.span(path + ("key",))))
            elif key is not None:
                rows[key] = value
        if key_type.kind == "enum":
            missing = [v for v in key_type.values if v not in rows]
            if missing:
                self.fail(IncompleteTableError(
                    f"table '{table_id}' has no row for {', '.join(missing)}",
                    span=self.doc.key_span(("tables", table_id)),
                    hint=f"every value of {key_type.enum} needs a row"))
        return rows

    def _rounding(self, spec: dict, type_: Type) -> Rounding | None:
        given = spec.get("rounding")
        if given == "none":
            return None
        if given is None:
            if type_.kind != "money":
                return None
            given = self.data.get("rounding", {"places": 2})
        return Rounding(given["places"], given.get("mode", "half_up"))

    def _parse(self, path: tuple, text: str) -> ast.Node | None:
        def origin(start: int, end: int):
            return self.doc.scalar_span(path, start, end)
        try:
            return parse_formula(text, origin)
        except RulesError as err:
            self.fail(err)
            return None

    # --- formulas -----------------------------------------------------------------------------
    def _check_formula(self, decl: Rule | Check) -> None:
        if decl.tree is None:
            return
        context = f"{decl.kind} {decl.id} ({decl.citation})"
        before = len(self.errors)
        typer = _Typer(self, context)
        found = typer.infer(decl.tree)
        if len(self.errors) > before or found is None:
            return
        if isinstance(decl, Check) and isinstance(decl.tree, ast.Compare):
            decl.side_type = unify(typer.infer(decl.tree.left), typer.infer(decl.tree.right))
        if not _assignable(found, decl.type):
            what = "condition" if isinstance(decl, Check) else "formula"
            self.fail(TypeMismatchError(
                f"the {what} gives {found}, but {decl.kind} '{decl.id}' is declared {decl.type}",
                span=decl.tree.span, context=context, hint=_assign_hint(found, decl.type)))

    # --- examples and tests -------------------------------------------------------------------
    def _fact_set(self, values: dict, base: tuple) -> FactSet:
        doc = self.doc
        return FactSet(dict(values), lambda path: doc.span(base + tuple(path)),
                       lambda path: doc.key_span(base + tuple(path)))

    def _examples(self) -> dict[str, Example]:
        return {ex_id: Example(ex_id, spec["label"], self._fact_set(spec["facts"], ("examples", ex_id, "facts")),
                               self.doc.key_span(("examples", ex_id)))
                for ex_id, spec in self.data.get("examples", {}).items()}

    def _tests(self, examples: dict[str, Example]) -> dict[str, TestCase]:
        tests = {}
        for test_id, spec in self.data.get("tests", {}).items():
            path = ("tests", test_id)
            example = spec.get("example")
            if example is not None and example not in examples:
                self.fail(UnknownNameError(f"unknown example '{example}'", span=self.doc.span(path + ("example",)),
                                           hint=did_you_mean(example, list(examples))))
            expect, spans = {}, {}
            for target, raw in spec.get("expect", {}).items():
                where = path + ("expect", target)
                spans[target] = self.doc.key_span(where)
                decl = self.decls.get(target)
                if decl is None or decl.kind == "table":
                    self.fail(UnknownNameError(f"the test expects '{target}', which is not a rule, "
                                               "input or parameter", span=spans[target],
                                               hint=did_you_mean(target, self._values())))
                    continue
                expect[target] = self._value(raw, decl.type, where)
            failed = spec.get("expect_failed_checks")
            for i, check_id in enumerate(failed or ()):
                if not isinstance(self.decls.get(check_id), Check):
                    checks = [d.id for d in self.decls.values() if isinstance(d, Check)]
                    self.fail(UnknownNameError(f"'{check_id}' is not a check",
                                               span=self.doc.span(path + ("expect_failed_checks", i)),
                                               hint=did_you_mean(check_id, checks)))
            tests[test_id] = TestCase(test_id, spec["label"], self.doc.key_span(path), example,
                                      self._fact_set(spec.get("facts", {}), path + ("facts",)),
                                      expect, spans, tuple(failed) if failed is not None else None)
        return tests

    def _values(self) -> list[str]:
        return [d.id for d in self.decls.values() if d.kind in ("input", "parameter", "rule")]


class _Typer:
    """Infers the type of one formula; reports problems and returns None for bad parts."""

    def __init__(self, checker: _Checker, context: str):
        self.checker = checker
        self.decls = checker.decls
        self.context = context

    def fail(self, cls, message: str, node_or_span, hint: str | None = None) -> None:
        span = getattr(node_or_span, "span", node_or_span)
        self.checker.fail(cls(message, span=span, hint=hint, context=self.context))

    def infer(self, node: ast.Node) -> Type | None:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    def _number(self, node: ast.Number) -> Type:
        if node.value == 0:
            return ZERO
        return INTEGER if node.integer else NUMBER

    def _percent(self, node: ast.Percent) -> Type:
        return RATE

    def _string(self, node: ast.String) -> Type:
        return literal_enum(node.value)

    def _boolean(self, node: ast.Boolean) -> Type:
        return BOOLEAN

    def _name(self, node: ast.Name) -> Type | None:
        decl = self.decls.get(node.id)
        if decl is None:
            names = [d.id for d in self.decls.values() if d.kind in ("input", "parameter", "rule")]
            hint = did_you_mean(node.id, names)
            if node.id in FUNCTIONS:
                hint = f"'{node.id}' is a function: {node.id}(...)"
            elif node.id in self.checker.enums:
                hint = f"'{node.id}' is an enum type; compare a value with a quoted member such as " \
                       f"\"{self.checker.enums[node.id].values[0]}\""
            self.fail(UnknownNameError, f"unknown name '{node.id}'", node,
                      hint or "declare it under inputs, parameters or rules")
            return None
        if decl.kind == "table":
            self.fail(TypeMismatchError, f"'{node.id}' is a table", node,
                      f"look a value up with {node.id}[key]")
            return None
        if decl.kind == "check":
            self.fail(TypeMismatchError, f"'{node.id}' is a check, not a value", node,
                      "a formula can use inputs, parameters and rules; make the condition a rule")
            return None
        return decl.type

    def _neg(self, node: ast.Neg) -> Type | None:
        inner = self.infer(node.operand)
        if inner is not None and not inner.numeric:
            self.fail(TypeMismatchError, f"cannot negate a {inner}", node)
            return None
        return inner

    def _not(self, node: ast.Not) -> Type | None:
        self._expect_boolean(node.operand, "'not'")
        return BOOLEAN

    def _boolop(self, node: ast.BoolOp) -> Type:
        self._expect_boolean(node.left, f"'{node.op}'")
        self._expect_boolean(node.right, f"'{node.op}'")
        return BOOLEAN

    def _expect_boolean(self, node: ast.Node, where: str) -> None:
        found = self.infer(node)
        if found is not None and found.kind != "boolean":
            self.fail(TypeMismatchError, f"{where} needs true/false, got {found}", node,
                      "write a comparison, e.g. x > 0")

    def _binop(self, node: ast.BinOp) -> Type | None:
        left, right = self.infer(node.left), self.infer(node.right)
        if left is None or right is None:
            return None
        for side, found in ((node.left, left), (node.right, right)):
            if not found.numeric:
                self.fail(TypeMismatchError, f"'{node.op}' needs numbers, got {found}", side)
                return None
        result = arithmetic(node.op, left, right)
        if result is None:
            self.fail(TypeMismatchError, f"cannot {_VERBS[node.op]} {_a(left)} and {_a(right)}", node,
                      _arith_hint(node.op, left, right))
        return result

    def _compare(self, node: ast.Compare) -> Type:
        left, right = self.infer(node.left), self.infer(node.right)
        if left is None or right is None:
            return BOOLEAN
        joined = self._join(left, right, node, (node.left, node.right), "compare")
        if joined is not None and node.op not in ("==", "!=") and not (joined.numeric or joined.kind == "date"):
            self.fail(TypeMismatchError, f"'{node.op}' cannot order {_a(joined)}", node,
                      "compare enum values with == or !=")
        return BOOLEAN

    def _ifelse(self, node: ast.IfElse) -> Type | None:
        self._expect_boolean(node.condition, "'if'")
        then, otherwise = self.infer(node.then), self.infer(node.otherwise)
        if then is None or otherwise is None:
            return None
        return self._join(then, otherwise, node, (node.then, node.otherwise), "branch")

    def _join(self, a: Type, b: Type, node: ast.Node, parts: tuple, how: str) -> Type | None:
        """The common type of two operands; reports enum values that do not exist."""
        if a.kind == "enum" and b.kind == "enum":
            named = a if a.enum else b if b.enum else None
            if named is not None:
                if a.enum and b.enum and a.enum != b.enum:
                    self.fail(TypeMismatchError, f"cannot {how} {a} with {b}", node)
                    return None
                for part, t in zip(parts, (a, b)):
                    for value in t.values:
                        if value not in named.values:
                            self.fail(UnknownEnumValueError,
                                      f'"{value}" is not a value of {named.enum}', part,
                                      " ".join(filter(None, [
                                          did_you_mean(value, named.values, cutoff=0.5),
                                          f"values: {', '.join(named.values)}"])))
                            return None
                return named
        joined = unify(a, b)
        if joined is None:
            if how == "branch":
                message = f"the branches of 'if' disagree: {a} and {b}"
            else:
                message = f"cannot compare {_a(a)} with {_a(b)}"
            self.fail(TypeMismatchError, message, node, _arith_hint("+", a, b))
        return joined

    def _call(self, node: ast.Call) -> Type | None:
        function = FUNCTIONS.get(node.function)
        if function is None:
            self.fail(UnknownFunctionError, f"unknown function '{node.function}'", node.function_span,
                      did_you_mean(node.function, list(FUNCTIONS)) or
                      f"functions: {', '.join(FUNCTIONS)}")
            for arg in node.args:
                self.infer(arg)
            return None
        count = len(node.args)
        if count < function.min_args or (function.max_args is not None and count > function.max_args):
            self.fail(ArgumentCountError, f"{node.function}() takes {function.arity_text}, got {count}",
                      node, f"write {function.usage}")
            return None
        types = [self.infer(arg) for arg in node.args]
        if any(t is None for t in types):
            return None
        if node.function == "round":
            places = node.args[1]
            if not (isinstance(places, ast.Number) and places.integer and places.value <= 12):
                self.fail(TypeMismatchError, "the places of round() must be a whole number from 0 to 12",
                          places, "write e.g. round(x, 2)")
                return None
            types = types[:1]
        result = types[0]
        for arg, found in zip(node.args, types):
            if not found.numeric:
                self.fail(TypeMismatchError, f"{node.function}() needs numbers, got {found}", arg)
                return None
        for arg, found in zip(node.args[1:], types[1:]):
            joined = unify(result, found)
            if joined is None:
                self.fail(TypeMismatchError, f"{node.function}() mixes {_a(result)} and {_a(found)}",
                          arg, _arith_hint("+", result, found))
                return None
            result = joined
        return result

    def _lookup(self, node: ast.Lookup) -> Type | None:
        decl = self.decls.get(node.table)
        if not isinstance(decl, Table):
            tables = [d.id for d in self.decls.values() if isinstance(d, Table)]
            self.fail(UnknownNameError, f"unknown table '{node.table}'", node.table_span,
                      did_you_mean(node.table, tables) or "declare it under tables")
            return None
        if len(node.keys) != 1:
            self.fail(ArgumentCountError, f"table '{node.table}' takes one key, got {len(node.keys)}", node)
            return None
        found = self.infer(node.keys[0])
        if found is not None:
            if decl.key_type.kind == "enum" and found.kind == "enum":
                self._join(decl.key_type, found, node, (node, node.keys[0]), "look up")
            elif not _assignable(found, decl.key_type):
                self.fail(TypeMismatchError, f"table '{node.table}' is keyed by {decl.key_type}, "
                                             f"got {found}", node.keys[0])
        return decl.type


# --- the type algebra ----------------------------------------------------------------------------
_DIMENSIONLESS = ("rate", "number", "integer")
_VERBS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}


def unify(a: Type, b: Type) -> Type | None:
    """The common type of two values that are added, compared, or are branches of an if."""
    if a.zero and b.zero:
        return a
    if a.zero and b.numeric:
        return _plain(b)
    if b.zero and a.numeric:
        return _plain(a)
    if a.kind == b.kind and a.enum == b.enum:
        return _plain(a) if a.kind != "enum" else Type("enum", a.enum, tuple(dict.fromkeys(a.values + b.values)))
    kinds = {a.kind, b.kind}
    if kinds <= set(_DIMENSIONLESS):
        return RATE if "rate" in kinds else NUMBER
    return None


def _plain(t: Type) -> Type:
    return Type(t.kind, t.enum, t.values) if t.zero else t


def arithmetic(op: str, a: Type, b: Type) -> Type | None:
    """Result type of ``a op b`` for numeric types, or None when the units do not fit."""
    if op in "+-":
        return unify(a, b)
    a, b = _plain(a), _plain(b)
    if op == "*":
        if a.kind == "money" and b.kind == "money":
            return None
        if "money" in (a.kind, b.kind):
            return MONEY
        if a.kind == b.kind == "integer":
            return INTEGER
        return RATE if "rate" in (a.kind, b.kind) else NUMBER
    if a.kind == "money":
        return RATE if b.kind == "money" else MONEY
    if b.kind == "money":
        return None
    return RATE if "rate" in (a.kind, b.kind) else NUMBER


def _assignable(found: Type, declared: Type) -> bool:
    if found.kind == "enum" and declared.kind == "enum":
        return (found.enum in (None, declared.enum)) and set(found.values) <= set(declared.values)
    if found.zero:
        return declared.numeric
    if found == declared:
        return True
    return (found.kind, declared.kind) in {("integer", "number"), ("integer", "rate"), ("number", "rate")}


def _assign_hint(found: Type, declared: Type) -> str | None:
    if declared.kind == "integer" and found.kind in ("number", "rate"):
        return "round the value, or declare the rule as number"
    if declared.kind == "money" and found.kind in _DIMENSIONLESS:
        return "multiply by an amount of money, or declare the rule as " + found.kind
    if declared.kind in _DIMENSIONLESS and found.kind == "money":
        return "declare the rule as money, or divide by an amount of money to get a rate"
    return None


def _arith_hint(op: str, a: Type, b: Type) -> str | None:
    kinds = {a.kind, b.kind}
    if op in "+-" and "money" in kinds and kinds & set(_DIMENSIONLESS):
        return "an amount and a rate cannot be added; did you mean to multiply (amount * rate)?" \
            if "rate" in kinds else "amounts need a source: declare the number as a money parameter " \
            "with its citation"
    if op == "*" and kinds == {"money"}:
        return "multiplying two amounts gives no amount; one side should be a rate or a number"
    if op == "/" and b.kind == "money":
        return "only an amount can be divided by an amount (giving a rate)"
    return None


def _a(t: Type) -> str:
    text = str(t)
    if t.kind in ("money", "enum"):
        return text
    return ("an " if text[0] in "aeiou" else "a ") + text
