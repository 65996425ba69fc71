"""Types of formulas: the inference for one formula, and the algebra of units.

money ± money is money; money × rate (or number) is money; money ÷ money is a rate;
money + rate, money × money and anything ÷ money are errors, each with a hint. The literal
0 fits any numeric type. Used by :mod:`rulesengine.checker`, which owns the declarations.
"""

from __future__ import annotations

from ..load import ast
from ..core.builtins import AGGREGATES, FUNCTIONS
from ..core.datatypes import BOOLEAN, DATE, INTEGER, MONEY, NUMBER, RATE, TEXT, ZERO, Type, literal_enum
from ..core.errors import (ArgumentCountError, TypeMismatchError, UnknownEnumValueError, UnknownFunctionError,
                     UnknownNameError, did_you_mean)
from ..core.i18n import N_, _
from .model import Table, resolve


class Typer:
    """Infers the type of one formula; reports problems and returns None for bad parts."""

    def __init__(self, checker, context: str, scope: str | None = None):
        self.checker = checker
        self.decls = checker.decls
        self.context = context
        self.scope = scope  # the entity whose records the formula is evaluated for

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

    def _dateliteral(self, node: ast.DateLiteral) -> Type:
        return DATE

    def _visible(self) -> list[str]:
        names = [d.id for d in self.decls.values()
                 if d.kind in ("input", "parameter", "rule") and d.entity is None]
        if self.scope is not None:
            entity = self.checker.entities[self.scope]
            names += entity.names
            for ancestor in entity.ancestors(self.checker.entities):
                names += [f"{ancestor}.{n}" for n in self.checker.entities[ancestor].names]
        return names

    def _name(self, node: ast.Name) -> Type | None:
        decl = resolve(self.decls, self.checker.entities, node.id, self.scope)
        if decl is None:
            hint = did_you_mean(node.id, self._visible())
            per_record = self.decls.get(node.id)
            head = node.id.partition(".")[0]
            collections = {e.collection: e for e in self.checker.entities.values()}
            if per_record is None and self.scope is None:  # a bare per-record name
                per_record = next((d for d in self.decls.values()
                                   if d.entity is not None and d.name == node.id), None)
            if per_record is not None and per_record.entity is not None:
                entity = self.checker.entities[per_record.entity]
                hint = _("'{name}' has one value per {entity} record; aggregate it, e.g. "
                         "sum({collection}.{field})").format(name=node.id, entity=entity.label,
                                                            collection=entity.collection, field=per_record.name)
            elif head in collections:
                hint = _("'{collection}' is a collection; aggregate it, e.g. sum({name}) or "
                         "count({collection})").format(collection=head, name=node.id)
            elif node.id in FUNCTIONS or node.id in AGGREGATES:
                hint = _("'{name}' is a function: {name}(...)").format(name=node.id)
            elif node.id in self.checker.enums:
                hint = _("'{name}' is an enum type; compare a value with a quoted member such as "
                         "\"{value}\"").format(name=node.id, value=self.checker.enums[node.id].values[0])
            self.fail(UnknownNameError, _("unknown name '{name}'").format(name=node.id), node,
                      hint or _("declare it under inputs, parameters or rules"))
            return None
        if decl.kind == "table":
            self.fail(TypeMismatchError, _("'{name}' is a table").format(name=node.id), node,
                      _("look a value up with {name}[key]").format(name=node.id))
            return None
        if decl.kind == "check":
            self.fail(TypeMismatchError, _("'{name}' is a check, not a value").format(name=node.id), node,
                      _("a formula can use inputs, parameters and rules; make the condition a rule"))
            return None
        return decl.type

    def _aggregate(self, node: ast.Aggregate) -> Type | None:
        entities = self.checker.entities
        collections = {e.collection: e for e in entities.values()}
        spec = AGGREGATES[node.function]
        entity = collections.get(node.collection)
        if entity is None:
            if node.function in ("min", "max") and \
                    resolve(self.decls, entities, node.collection, self.scope) is not None:
                self.fail(ArgumentCountError, _("{function}() of single values takes at least 2 "
                                                "arguments, got 1").format(function=node.function), node,
                          _("write {usage}, or {aggregate} over a collection").format(
                              usage=FUNCTIONS[node.function].usage, aggregate=spec.usage))
                return None
            hint = did_you_mean(node.collection, collections)
            self.fail(UnknownNameError, _("unknown collection '{name}'").format(name=node.collection),
                      node.operand_span,
                      hint or (_("collections: {names}").format(names=", ".join(collections)) if collections
                               else _("declare an entity under 'entities' with its collection name")))
            return None
        field_type = None
        if node.field is not None:
            decl = self.decls.get(f"{entity.id}.{node.field}")
            if decl is None or decl.kind == "check":
                self.fail(UnknownNameError, _("{collection} records have no field or rule '{field}'").format(
                                                collection=entity.collection, field=node.field),
                          node.operand_span,
                          did_you_mean(node.field, entity.names) or
                          _("fields and rules of {entity}: {names}").format(entity=entity.id,
                                                                            names=", ".join(entity.names)))
                return None
            field_type = decl.type
            if spec.field_kinds is not None and field_type.kind not in spec.field_kinds:
                self.fail(TypeMismatchError, _("{function}() cannot aggregate {type}").format(
                              function=node.function, type=_a(field_type)),
                          node.operand_span, _("{function}() takes {kinds}").format(
                              function=node.function, kinds=_("{first} or {last}").format(
                                  first=", ".join(spec.field_kinds[:-1]), last=spec.field_kinds[-1])
                              if len(spec.field_kinds) > 1 else spec.field_kinds[0]))
                return None
        elif spec.needs_field:
            self.fail(TypeMismatchError, _("{function}() needs a field of the records").format(
                          function=node.function),
                      node.operand_span, _("write {usage}").format(usage=spec.usage))
            return None
        if node.where is not None:
            Typer(self.checker, self.context, entity.id)._expect_boolean(node.where, "'where'")
        return Type(spec.result) if spec.result else _plain(field_type)

    def _neg(self, node: ast.Neg) -> Type | None:
        inner = self.infer(node.operand)
        if inner is not None and not inner.numeric:
            self.fail(TypeMismatchError, _("cannot negate {type}").format(type=_a(inner)), node,
                      _not_number_hint(inner))
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
            self.fail(TypeMismatchError, _("{where} needs true/false, got {type}").format(where=where, type=found),
                      node, _("write a comparison, e.g. x > 0"))

    def _binop(self, node: ast.BinOp) -> Type | None:
        left, right = self.infer(node.left), self.infer(node.right)
        if left is None or right is None:
            return None
        for side, found in ((node.left, left), (node.right, right)):
            if not found.numeric:
                self.fail(TypeMismatchError, _("'{op}' needs numbers, got {type}").format(op=node.op, type=found),
                          side, _("date arithmetic: add_days(d, n), add_months(d, n), days_between(a, b)")
                          if found.kind == "date" else _not_number_hint(found))
                return None
        result = arithmetic(node.op, left, right)
        if result is None:
            self.fail(TypeMismatchError, _(_VERBS[node.op]).format(left=_a(left), right=_a(right)), node,
                      _arith_hint(node.op, left, right))
        return result

    def _compare(self, node: ast.Compare) -> Type:
        left, right = self.infer(node.left), self.infer(node.right)
        if left is None or right is None:
            return BOOLEAN
        joined = self._join(left, right, node, (node.left, node.right), "compare")
        if joined is not None and node.op not in ("==", "!=") and not (joined.numeric or joined.kind == "date"):
            self.fail(TypeMismatchError, _("'{op}' cannot order {type}").format(op=node.op, type=_a(joined)),
                      node, _("compare enum values with == or !="))
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
                    self.fail(TypeMismatchError, _(_ENUM_MISMATCH[how]).format(a=a, b=b), node,
                              _("these are different enums; compare each with its own values"))
                    return None
                for part, t in zip(parts, (a, b)):
                    for value in t.values:
                        if value not in named.values:
                            self.fail(UnknownEnumValueError,
                                      _('"{value}" is not a value of {enum}').format(value=value, enum=named.enum),
                                      part, " ".join(filter(None, [
                                          did_you_mean(value, named.values, cutoff=0.5),
                                          _("values: {values}").format(values=", ".join(named.values))])))
                            return None
                return named
        joined = unify(a, b)
        if joined is None:
            if how == "branch":
                message = _("the branches of 'if' disagree: {a} and {b}").format(a=a, b=b)
            else:
                message = _("cannot compare {a} with {b}").format(a=_a(a), b=_a(b))
            self.fail(TypeMismatchError, message, node, _arith_hint("+", a, b) or
                      (_not_number_hint(a if a.kind == "enum" else b)
                       if "enum" in (a.kind, b.kind) else None))
        return joined

    def _call(self, node: ast.Call) -> Type | None:
        function = FUNCTIONS.get(node.function)
        if function is None:
            self.fail(UnknownFunctionError, _("unknown function '{name}'").format(name=node.function),
                      node.function_span, did_you_mean(node.function, list(FUNCTIONS)) or
                      _("functions: {names}").format(names=", ".join(FUNCTIONS)))
            for arg in node.args:
                self.infer(arg)
            return None
        count = len(node.args)
        if count < function.min_args or (function.max_args is not None and count > function.max_args):
            self.fail(ArgumentCountError, _("{function}() takes {arity}, got {count}").format(
                          function=node.function, arity=function.arity_text, count=count),
                      node, _("write {usage}").format(usage=function.usage))
            return None
        types = [self.infer(arg) for arg in node.args]
        if any(t is None for t in types):
            return None
        if function.params is not None:
            for arg, found, kind in zip(node.args, types, function.params):
                if not assignable(found, Type(kind)):
                    self.fail(TypeMismatchError, _("{function}() needs {type} here, got {found}").format(
                                  function=node.function, type=_a(Type(kind)), found=_a(found)),
                              arg, _("write {usage}").format(usage=function.usage))
                    return None
            return Type(function.result)
        if node.function == "round":
            places = node.args[1]
            if not (isinstance(places, ast.Number) and places.integer and places.value <= 12):
                self.fail(TypeMismatchError, _("the places of round() must be a whole number from 0 to 12"),
                          places, _("write e.g. round(x, 2)"))
                return None
            types = types[:1]
        result = types[0]
        ordered = node.function in ("min", "max")
        for arg, found in zip(node.args, types):
            if not (found.numeric or (ordered and found.kind == "date")):
                self.fail(TypeMismatchError, _("{function}() needs numbers, got {type}").format(
                              function=node.function, type=found), arg, _not_number_hint(found))
                return None
        for arg, found in zip(node.args[1:], types[1:]):
            joined = unify(result, found)
            if joined is None:
                self.fail(TypeMismatchError, _("{function}() mixes {a} and {b}").format(
                              function=node.function, a=_a(result), b=_a(found)),
                          arg, _arith_hint("+", result, found))
                return None
            result = joined
        return result

    def _lookup(self, node: ast.Lookup) -> Type | None:
        decl = self.decls.get(node.table)
        if not isinstance(decl, Table):
            tables = [d.id for d in self.decls.values() if isinstance(d, Table)]
            self.fail(UnknownNameError, _("unknown table '{name}'").format(name=node.table), node.table_span,
                      did_you_mean(node.table, tables) or _("declare it under tables"))
            return None
        if len(node.keys) != len(decl.columns):
            shape = ", ".join(f"{name}: {type_}" for name, type_ in decl.columns)
            self.fail(ArgumentCountError, _("table '{name}' takes {expected} key(s), got {count}").format(
                          name=node.table, expected=len(decl.columns), count=len(node.keys)), node,
                      _("look a value up with its keys in order: {name}[{shape}]").format(
                          name=node.table, shape=shape))
            return None
        for key, (_column, key_type) in zip(node.keys, decl.columns):
            self._lookup_key(node, decl, key, key_type)
        return decl.type

    def _lookup_key(self, node: ast.Lookup, decl: Table, key: ast.Node, key_type) -> None:
        found = self.infer(key)
        if found is None:
            return
        if key_type.kind == "enum" and found.kind == "enum":
            self._join(key_type, found, node, (node, key), "look up")
        elif not assignable(found, key_type):
            fitting = [d.id for d in self.decls.values() if d.kind in ("input", "parameter", "rule")
                       and getattr(d, "type", None) == key_type and d.entity is None]
            key_must = _("the key must be a value of {type}") if key_type.kind == "enum" else \
                _("the key must be {type}")
            self.fail(TypeMismatchError, _("table '{name}' is keyed by {type}, got {found}").format(
                          name=node.table, type=key_type, found=found), key,
                      key_must.format(type=_a(key_type)) +
                      (_(", e.g. {example}").format(example=f"{node.table}[{fitting[0]}]")
                       if fitting and len(decl.columns) == 1 else ""))


# --- the type algebra ----------------------------------------------------------------------------
_DIMENSIONLESS = ("rate", "number", "integer")
_ENUM_MISMATCH = {"compare": N_("cannot compare {a} with {b}"), "branch": N_("cannot branch {a} with {b}"),
                  "look up": N_("cannot look up {a} with {b}")}
_VERBS = {"+": N_("cannot add {left} and {right}"), "-": N_("cannot subtract {left} and {right}"),
          "*": N_("cannot multiply {left} and {right}"), "/": N_("cannot divide {left} and {right}")}


def unify(a: Type, b: Type) -> Type | None:
    """The common type of two values that are added, compared, or are branches of an if."""
    if a.zero and b.zero:
        return a
    if a.zero and b.numeric:
        return _plain(b)
    if b.zero and a.numeric:
        return _plain(a)
    if {a.kind, b.kind} == {"text", "enum"} and None in (a.enum, b.enum) and \
            (a.kind == "text" or a.enum is None) and (b.kind == "text" or b.enum is None):
        return TEXT
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


def assignable(found: Type, declared: Type) -> bool:
    if found.kind == "enum" and declared.kind == "enum":
        return (found.enum in (None, declared.enum)) and set(found.values) <= set(declared.values)
    if found.zero:
        return declared.numeric
    if found == declared:
        return True
    # rate and number are both dimensionless (a rate is shown as a percentage): either fits the other
    return (found.kind, declared.kind) in {("integer", "number"), ("integer", "rate"), ("number", "rate"),
                                           ("rate", "number")}


def assign_hint(found: Type, declared: Type) -> str | None:
    if declared.kind == "integer" and found.kind in ("number", "rate"):
        return _("round the value, or declare the rule as number")
    if declared.kind == "money" and found.kind in _DIMENSIONLESS:
        return _("multiply by an amount of money, or declare the rule as {type}").format(type=found.kind)
    if declared.kind in _DIMENSIONLESS and found.kind == "money":
        return _("declare the rule as money, or divide by an amount of money to get a rate")
    return None


def _arith_hint(op: str, a: Type, b: Type) -> str | None:
    kinds = {a.kind, b.kind}
    if op in "+-" and "money" in kinds and kinds & set(_DIMENSIONLESS):
        return _("an amount and a rate cannot be added; did you mean to multiply (amount * rate)?") \
            if "rate" in kinds else _("amounts need a source: declare the number as a money parameter "
                                      "with its citation")
    if op == "*" and kinds == {"money"}:
        return _("multiplying two amounts gives no amount; one side should be a rate or a number")
    if op == "/" and b.kind == "money":
        return _("only an amount can be divided by an amount (giving a rate)")
    return None


def _a(t: Type) -> str:
    """The type with its English article: "a rate", "an integer" (Chinese has none)."""
    text = str(t)
    if t.kind in ("money", "enum"):
        return text
    return (_("an {type}") if text[0] in "aeiou" else _("a {type}")).format(type=text)


def _not_number_hint(t: Type) -> str | None:
    """What to write instead of arithmetic on a value that is not a number."""
    if t.kind == "boolean":
        return _("true/false is not a number: choose a value with if, e.g. if flag then x else 0")
    if t.kind == "enum":
        member = f'"{t.values[0]}"' if t.values else '"优秀"'
        return _("an enum value is not a number: compare it with one of its values in double "
                 "quotes (== {member}), or look up a table keyed by it").format(member=member)
    if t.kind == "text":
        return _("text is not a number: compare it with == or !=")
    if t.kind == "date":
        return _("date arithmetic: add_days(d, n), add_months(d, n), days_between(a, b)")
    return None
