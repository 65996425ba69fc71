"""Validated document -> :class:`~rulesengine.model.Ruleset`: names resolved, types checked.

Every formula is parsed and type-checked before anything runs. All problems are
collected and raised together as :class:`~rulesengine.errors.CheckFailed`, each located
inside the formula string in the YAML, with a did-you-mean hint for unknown names.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..load import ast
from ..core.cells import outside
from ..core.datatypes import (BOOLEAN, BUILTIN, NUMBER, Type,
                        ValueProblem, coerce, display)
from ..load.document import Document
from ..core.errors import (BadValueError, CheckFailed, DuplicateIdError,
                     IncompleteTableError, RulesError, TypeMismatchError, UnknownNameError, did_you_mean, flatten)
from .model import (Check, Clause, DatedValue, Declaration, Entity, Example, FactSet, Input,
                    Metadata, Module, Parameter, Rounding, Rule, Ruleset, Table, TestCase)
from ..core.i18n import _, context_of, kind_name
from ..load.parser import parse_formula
from .sources import MAX_TOTAL_FORMULA_CHARS, count_formulas, find_module, formula_limit, unknown_module
from .typer import Typer, assign_hint, assignable, unify

SECTIONS = ("parameters", "tables", "inputs", "rules", "checks")
ENTITY_SECTIONS = (("fields", "inputs"), ("rules", "rules"), ("checks", "checks"))


def check(doc: Document) -> Ruleset:
    """Build the typed ruleset from a schema-valid document, or raise CheckFailed."""
    return _Checker(doc).run()


class _Checker:
    def __init__(self, doc: Document):
        self.main = self.doc = doc
        self.data: dict = doc.value
        self.module: str | None = None  # the module whose document is being read
        self.errors: list[RulesError] = []
        self.enums: dict[str, Type] = {}
        self.decls: dict[str, Declaration] = {}
        self.entities: dict[str, Entity] = {}
        self.modules: dict[str, Module] = {}
        self.formula_chars = 0  # counted before each formula is parsed

    def fail(self, error: RulesError) -> None:
        self.errors.append(error)

    # --- the pass ---------------------------------------------------------------------------
    def run(self) -> Ruleset:
        meta = self._metadata()
        for i, spec in enumerate(self.data.get("include", [])):
            self._include(spec["module"], ("include", i, "module"))
        self._read(self.main, None)
        self._check_entities()
        for decl in list(self.decls.values()):
            if isinstance(decl, (Rule, Check)):
                self._check_formula(decl)
        self._readings()
        examples = self._examples()
        tests = self._tests(examples)
        clauses = self._clauses()
        if self.errors:
            raise CheckFailed(self.errors)
        return Ruleset(meta, self.doc, self.enums, self.decls, examples, tests,
                       entities=self.entities, modules=self.modules, clauses=clauses)

    def _read(self, doc: Document, module: str | None) -> None:
        """Declarations of one document (the ruleset, or an included module)."""
        self.doc, self.data, self.module = doc, doc.value, module
        self.formula_chars, crossing = count_formulas(self.data, self.formula_chars)
        if crossing is not None:
            self.fail(formula_limit(doc.key_span(crossing)))
        for enum_id, spec in self.data.get("enums", {}).items():
            values = tuple(spec["values"])
            if enum_id in self.enums and self.enums[enum_id].values != values:
                self.fail(DuplicateIdError(_("enum '{id}' is declared twice with different values").format(
                                               id=enum_id),
                                           span=doc.key_span(("enums", enum_id)),
                                           hint=_("use the module's enum, or give this one another id")))
            self.enums[enum_id] = Type("enum", enum=enum_id, values=values)
        for section in SECTIONS:
            for decl_id, spec in self.data.get(section, {}).items():
                decl = self._declaration(section, decl_id, spec, (section, decl_id))
                if decl is not None:
                    self._add(decl)
        for entity_id, spec in self.data.get("entities", {}).items():
            self._entity(entity_id, spec)
        self.doc, self.data, self.module = self.main, self.main.value, None

    def _include(self, module_id: str, path: tuple) -> None:
        from ..load.loader import load_ruleset  # the loader validates; the checker reads
        span = self.main.span(path)
        if module_id in self.modules:
            self.fail(DuplicateIdError(_("module '{id}' is included twice").format(id=module_id), span=span,
                                       hint=_("include each module once")))
            return
        file = find_module(self.main.file, module_id)
        if file is None:
            self.fail(unknown_module(self.main.file, module_id, span))
            return
        try:
            doc = load_ruleset(file)
        except RulesError as err:
            self.errors.extend(flatten(err))
            return
        data = doc.value
        if data.get("kind") != "module" or data["id"] != module_id:
            self.fail(BadValueError(_("{file} is not the module '{id}'").format(file=file, id=module_id),
                                    span=doc.span(("id",)),
                                    hint=_("a module file has 'kind: module' and 'id: {id}'").format(id=module_id)))
            return
        self.modules[module_id] = Module(module_id, data["title"], data["document_number"], doc.file)
        self._read(doc, module_id)

    def _key_type(self, entity_id: str) -> Type | None:
        """The type of an entity's key field; None if the key is not a field (already reported)."""
        entity = self.entities[entity_id]
        decl = self.decls.get(f"{entity.id}.{entity.key}")
        return decl.type if decl is not None else None

    def _add(self, decl: Declaration) -> None:
        other = self.decls.get(decl.id)
        if decl.overrides is not None:
            self._override(decl, other)
            return
        if other is not None:
            hint = _("ids are shared by parameters, tables, inputs, rules and checks; rename one")
            if other.module is not None:
                hint = _("to replace the module's declaration, add 'overrides: {module}'").format(
                    module=other.module)
            self.fail(DuplicateIdError(
                _("'{id}' is declared twice: as {first} and as {second}").format(
                    id=decl.id, first=kind_name(other.kind), second=kind_name(decl.kind)),
                span=decl.span, related=[(_("the {kind} '{id}'").format(kind=kind_name(other.kind), id=decl.id),
                                          other.span)], hint=hint))
            return
        self.decls[decl.id] = decl

    def _override(self, decl: Declaration, other: Declaration | None) -> None:
        module = decl.overrides
        if other is None or other.module != module:
            hint = did_you_mean(decl.id, [d.id for d in self.decls.values() if d.module == module])
            self.fail(UnknownNameError(_("module '{module}' declares no '{id}' to override").format(
                                           module=module, id=decl.id),
                                       span=decl.span, hint=hint or
                                       _("remove 'overrides', or include the module that declares it")))
            return
        if other.kind != decl.kind and other.kind != "input":
            self.fail(TypeMismatchError(_("a {kind} cannot override the {other} '{id}'").format(
                                            kind=kind_name(decl.kind), other=kind_name(other.kind), id=decl.id),
                                        span=decl.span, related=[(_("the module's declaration"), other.span)],
                                        hint=_("an input may become a parameter or a rule; anything else "
                                               "keeps its kind")))
            return
        if decl.type != other.type:
            self.fail(TypeMismatchError(_("'{id}' is {type} in module '{module}', but {here} here").format(
                                            id=decl.id, type=other.type, module=module, here=decl.type),
                                        span=decl.span,
                                        related=[(_("the module's declaration"), other.span)],
                                        hint=_("an override keeps the type of what it replaces")))
            return
        decl.entity = other.entity
        self.decls[decl.id] = decl
        self.modules[module].overridden.append(decl.id)

    # --- metadata ----------------------------------------------------------------------------
    def _metadata(self) -> Metadata:
        data = self.data
        issuer = data.get("issuer", ())  # a module validated on its own has no issuer or period
        effective = data.get("effective", {"from": date.min.isoformat()})
        return Metadata(
            id=data["id"], title=data["title"],
            issuer=tuple(issuer) if isinstance(issuer, list) else (issuer,),
            document_number=data["document_number"],
            issued=self._date(data["issued"], ("issued",)) if "issued" in data else None,
            effective_from=self._date(effective["from"], ("effective", "from")),
            effective_to=self._date(effective["to"], ("effective", "to")) if "to" in effective else None,
            seed=data.get("seed", ""), file=self.doc.file)

    def _date(self, text: str, path: tuple) -> date:
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail(BadValueError(_("'{text}' is not a calendar date").format(text=text), span=self.doc.span(path),
                                    hint=_("write a day that exists, as YYYY-MM-DD (e.g. 2024-02-29)")))
            return date.min

    # --- declarations ------------------------------------------------------------------------
    def _type(self, name: str, path: tuple) -> Type | None:
        if name in BUILTIN:
            return Type(name)
        if name in self.enums:
            return self.enums[name]
        known = list(BUILTIN) + list(self.enums)
        self.fail(UnknownNameError(_("unknown type '{name}'").format(name=name), span=self.doc.span(path),
                                   hint=did_you_mean(name, known) or
                                   _("use one of {types} (enums are declared under 'enums')").format(
                                       types=", ".join(known))))
        return None

    def _value(self, value: Any, type_: Type, path: tuple) -> Any:
        try:
            return coerce(value, type_)
        except ValueProblem as problem:
            self.fail(BadValueError(_("{problem} (expected {type})").format(problem=problem.message, type=type_),
                                    span=self.doc.span(path), hint=problem.hint))
            return None

    def _declaration(self, section: str, decl_id: str, spec: dict, path: tuple) -> Declaration | None:
        common = dict(id=decl_id, label=spec["label"], citation=spec["citation"],
                      span=self.doc.key_span(path), note=spec.get("note"), module=self.module,
                      overrides=spec.get("overrides"), concept=spec.get("concept"))
        if section == "tables":
            return self._table(decl_id, spec, path, common)
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
            if "values" in spec:
                return Parameter(**common, type=type_, dated=self._dated(spec["values"], type_, path))
            given = "default" if is_open else "value"
            value = self._value(spec[given], type_, path + (given,)) if given in spec else None
            return Parameter(**common, type=type_, value=value, open=is_open)
        if section == "inputs":
            low = self._value(spec["min"], type_, path + ("min",)) if "min" in spec else None
            high = self._value(spec["max"], type_, path + ("max",)) if "max" in spec else None
            return Input(**common, type=type_, minimum=low, maximum=high)
        text = spec["formula"].rstrip()  # a block scalar's final newline is not formula
        return Rule(**common, type=type_, formula=text, tree=self._parse(path + ("formula",), text),
                    rounding=self._rounding(spec, type_))

    def _dated(self, items: list, type_: Type, path: tuple) -> tuple[DatedValue, ...]:
        dated: list[DatedValue] = []
        for i, item in enumerate(items):
            where = path + ("values", i)
            start = self._date(item["from"], where + ("from",))
            if dated and start <= dated[-1].start:
                self.fail(BadValueError(_("dated values must be in ascending order of 'from': "
                                          "{date} is not after {previous}").format(
                                              date=start, previous=dated[-1].start),
                                        span=self.doc.span(where + ("from",)),
                                        hint=_("list the values oldest first, each from a later date")))
            dated.append(DatedValue(start, self._value(item["value"], type_, where + ("value",)),
                                    item.get("citation"), item.get("note")))
        return tuple(dated)

    # --- entities -------------------------------------------------------------------------------
    def _entity(self, entity_id: str, spec: dict) -> None:
        path = ("entities", entity_id)
        existing = self.entities.get(entity_id)
        if existing is not None:
            same = (spec["collection"], spec["key"], spec.get("parent")) == \
                (existing.collection, existing.key, existing.parent)
            if spec.get("overrides") != existing.module or not same:
                self.fail(DuplicateIdError(
                    _("entity '{id}' is declared twice").format(id=entity_id), span=self.doc.key_span(path),
                    related=[(_("the first declaration"), existing.span)],
                    hint=_("to add fields or rules to the module's entity, write 'overrides: "
                           "{module}' and the same collection, key and parent").format(module=existing.module)
                    if existing.module else _("rename one")))
                return
            entity = existing
        else:
            entity = Entity(entity_id, spec["label"], spec["collection"], spec["key"], spec.get("parent"),
                            spec["citation"], self.doc.key_span(path), spec.get("note"), self.module,
                            key_span=self.doc.span(path + ("key",)),
                            parent_span=self.doc.span(path + ("parent",)) if "parent" in spec else None)
            self.entities[entity_id] = entity
        for section, kind in ENTITY_SECTIONS:
            for name, sub in spec.get(section, {}).items():
                decl = self._declaration(kind, f"{entity_id}.{name}", sub, path + (section, name))
                if decl is not None:
                    decl.entity = entity_id
                    self._add(decl)
                    if name not in entity.names:
                        entity.names.append(name)

    def _check_entities(self) -> None:
        """Parents exist without cycles, keys are fields, names do not hide top-level ids."""
        collections: dict[str, Entity] = {}
        top = {d.id for d in self.decls.values() if d.entity is None}
        for entity in self.entities.values():
            if entity.collection in collections or entity.collection in top:
                self.fail(DuplicateIdError(_("collection name '{name}' is already used").format(
                                               name=entity.collection),
                                           span=entity.span, hint=_("give each collection its own plural name")))
            collections[entity.collection] = entity
            if entity.parent is not None:
                if entity.parent not in self.entities:
                    self.fail(UnknownNameError(_("entity '{id}' names an unknown parent '{parent}'").format(
                                                   id=entity.id, parent=entity.parent), span=entity.parent_span,
                                               hint=did_you_mean(entity.parent, self.entities)))
                elif entity.id in self.entities[entity.parent].ancestors(self.entities) + [entity.parent]:
                    self.fail(UnknownNameError(_("entity '{id}' is its own ancestor").format(id=entity.id),
                                               span=entity.span,
                                               hint=_("a parent chain ends at an entity without parent")))
                else:
                    self._parent_field(entity)
            if f"{entity.id}.{entity.key}" not in self.decls:
                self.fail(UnknownNameError(_("the key '{key}' of entity '{id}' is not one of its fields").format(
                                               key=entity.key, id=entity.id), span=entity.key_span,
                                           hint=did_you_mean(entity.key, entity.names) or
                                           _("declare the identifying field (e.g. code: {{type: text}})").format()))
            for name in entity.names:
                if name in top:
                    decl = self.decls[f"{entity.id}.{name}"]
                    self.fail(DuplicateIdError(_("'{name}' of entity '{id}' has the id of a top-level "
                                                 "declaration").format(name=name, id=entity.id), span=decl.span,
                                               related=[(_("the top-level declaration"), self.decls[name].span)],
                                               hint=_("inside the entity the name would hide it; rename one")))

    def _parent_field(self, entity: Entity) -> None:
        """Each record names its parent by the parent's key, in a field named after the parent."""
        field_id = f"{entity.id}.{entity.parent}"
        parent = self.entities[entity.parent]
        key_decl = self.decls.get(f"{parent.id}.{parent.key}")
        if field_id not in self.decls and key_decl is not None:
            self.decls[field_id] = Input(id=field_id, label=f"所属{parent.label}", type=key_decl.type,
                                         citation=entity.citation, span=entity.span, entity=entity.id,
                                         module=entity.module)
            entity.names.append(entity.parent)

    def _table(self, decl_id: str, spec: dict, path: tuple, common: dict) -> Table | None:
        """``key_type: T`` (one column, rows ``{key: ..., value: ...}``) or ``keys: {column: T, ...}``
        (rows name each column); ``rows: facts`` when the rows come with the facts."""
        if "keys" in spec:
            columns = tuple((name, self._type(name_type, path + ("keys", name)))
                            for name, name_type in spec["keys"].items())
        else:
            columns = (("key", self._type(spec["key_type"], path + ("key_type",))),)
        value_type = self._type(spec["value_type"], path + ("value_type",))
        if value_type is None or any(t is None for _name, t in columns):
            return None
        table = Table(**common, type=value_type, key_type=columns[0][1], columns=columns,
                      supplied=spec["rows"] == "facts",
                      minimum=self._value(spec["min"], value_type, path + ("min",)) if "min" in spec else None,
                      maximum=self._value(spec["max"], value_type, path + ("max",)) if "max" in spec else None)
        if not table.supplied:
            table.rows = self._rows(table, spec["rows"])
        return table

    def _rows(self, table: Table, items: list) -> dict:
        rows: dict = {}
        for i, row in enumerate(items):
            path = ("tables", table.id, "rows", i)
            lacking = [name for name, _type in table.columns if name not in row]
            if lacking or "value" not in row:
                self.fail(BadValueError(_("a row of table '{id}' lacks {columns}").format(
                                            id=table.id, columns=", ".join(lacking + ["value"] * ("value" not in row))),
                                        span=self.doc.span(path),
                                        hint=_("each row names its key columns ({columns}) and its value").format(
                                            columns=", ".join(name for name, _type in table.columns))))
                continue
            keys = [self._value(row[name], type_, path + (name,)) for name, type_ in table.columns]
            key = keys[0] if len(keys) == 1 else tuple(keys)
            value = self._value(row["value"], table.type, path + ("value",))
            bound = outside(value, table.minimum, table.maximum, table.type) if value is not None else None
            if bound:
                self.fail(BadValueError(_("table '{id}': {value} is {bound}").format(
                                            id=table.id, value=display(value, table.type), bound=bound),
                                        span=self.doc.span(path + ("value",)),
                                        hint=_("the table's min and max bound every row")))
            if key in rows:
                self.fail(DuplicateIdError(_("table '{id}' has two rows for {key}").format(id=table.id, key=repr(key)),
                                           span=self.doc.span(path + (table.columns[0][0],)),
                                           hint=_("each key has one row; remove the repeated row or "
                                                  "correct its key")))
            elif None not in keys:
                rows[key] = value
        key_type = table.key_type
        if len(table.columns) == 1 and key_type.kind == "enum":
            missing = [v for v in key_type.values if v not in rows]
            if missing:
                self.fail(IncompleteTableError(
                    _("table '{id}' has no row for {keys}").format(id=table.id, keys=", ".join(missing)),
                    span=self.doc.key_span(("tables", table.id)),
                    hint=_("every value of {enum} needs a row").format(enum=key_type.enum)))
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
        if self.formula_chars > MAX_TOTAL_FORMULA_CHARS:
            return None  # refused by _count_formulas: nothing is parsed
        try:
            return parse_formula(text, origin)
        except RulesError as err:
            self.fail(err)
            return None

    # --- formulas -----------------------------------------------------------------------------
    def _check_formula(self, decl: Rule | Check) -> None:
        if decl.tree is None:
            return
        context = context_of(decl)
        before = len(self.errors)
        typer = Typer(self, context, decl.entity)
        found = typer.infer(decl.tree)
        if len(self.errors) > before or found is None:
            return
        if isinstance(decl, Check) and isinstance(decl.tree, ast.Compare):
            decl.side_type = unify(typer.infer(decl.tree.left), typer.infer(decl.tree.right))
        if not assignable(found, decl.type):
            message = _("the condition gives {found}, but check '{id}' is declared {type}") \
                if isinstance(decl, Check) else _("the formula gives {found}, but rule '{id}' is declared {type}")
            self.fail(TypeMismatchError(
                message.format(found=found, id=decl.id, type=decl.type),
                span=decl.tree.span, context=context,
                hint=_("a check's condition is a comparison, e.g. x <= cap") if isinstance(decl, Check)
                else assign_hint(found, decl.type)))

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
                self.fail(UnknownNameError(_("unknown example '{name}'").format(name=example),
                                           span=self.doc.span(path + ("example",)),
                                           hint=did_you_mean(example, list(examples))))
            expect, spans = {}, {}
            for target, raw in spec.get("expect", {}).items():
                where = path + ("expect", target)
                spans[target] = self.doc.key_span(where)
                decl = self.decls.get(target)
                if decl is None or decl.kind == "table":
                    self.fail(UnknownNameError(_("the test expects '{id}', which is not a rule, input or "
                                                 "parameter").format(id=target), span=spans[target],
                                               hint=did_you_mean(target, self._values())))
                    continue
                if decl.entity is not None:
                    expect[target] = self._per_record(decl, raw, where)
                else:
                    expect[target] = self._expected(decl, raw, where)
            failed = spec.get("expect_failed_checks")
            records: dict[str, frozenset] = {}
            for i, item in enumerate(failed or ()):
                where = path + ("expect_failed_checks", i)
                check_id = next(iter(item)) if isinstance(item, dict) else item
                decl = self.decls.get(check_id)
                if not isinstance(decl, Check):
                    checks = [d.id for d in self.decls.values() if isinstance(d, Check)]
                    self.fail(UnknownNameError(_("'{id}' is not a check").format(id=check_id),
                                               span=self.doc.span(where),
                                               hint=did_you_mean(check_id, checks)))
                elif isinstance(item, dict):
                    records[check_id] = self._failing_records(decl, item[check_id], where + (check_id,))
            ids = tuple(next(iter(i)) if isinstance(i, dict) else i for i in failed or ())
            tests[test_id] = TestCase(test_id, spec["label"], self.doc.key_span(path), example,
                                      self._fact_set(spec.get("facts", {}), path + ("facts",)),
                                      expect, spans, ids if failed is not None else None, records)
        return tests

    def _failing_records(self, decl: Check, keys: list, where: tuple) -> frozenset:
        if decl.entity is None:
            self.fail(BadValueError(_("'{id}' is checked once, not per record").format(id=decl.id),
                                    span=self.doc.span(where), hint=_("write just {id}").format(id=decl.id)))
            return frozenset()
        key_type = self._key_type(decl.entity)
        if key_type is None:
            return frozenset()
        return frozenset(self._value(key, key_type, where + (i,)) for i, key in enumerate(keys))

    def _expected(self, decl: Declaration, raw, where: tuple):
        """An expected value; money rounded to more places than the fen (a point value in
        yuan to 4 places) is expected to those places."""
        rounding = getattr(decl, "rounding", None)
        if decl.type.kind == "money" and rounding is not None and rounding.places > 2:
            value = self._value(raw, NUMBER, where)
            if value is not None and value != round(value, rounding.places):
                self.fail(BadValueError(_("{value} has more than the {places} decimal places '{id}' is "
                                          "rounded to").format(value=value, places=rounding.places, id=decl.id),
                                        span=self.doc.span(where),
                                        hint=_("write the value rounded to {places} places").format(
                                            places=rounding.places)))
            return value
        return self._value(raw, decl.type, where)

    def _per_record(self, decl: Declaration, raw, where: tuple) -> dict:
        """Expected per-record values: ``{record key: value}``."""
        if not isinstance(raw, dict):
            self.fail(BadValueError(_("'{id}' has one value per record; expect a mapping of record keys "
                                      "to values").format(id=decl.id), span=self.doc.span(where),
                                    hint=_("write {id}: {{KEY1: value, KEY2: value}}").format(id=decl.id)))
            return {}
        key_type = self._key_type(decl.entity)
        if key_type is None:
            return {}
        return {self._value(key, key_type, where): self._expected(decl, value, where + (key,))
                for key, value in raw.items()}

    def _values(self) -> list[str]:
        return [d.id for d in self.decls.values() if d.kind in ("input", "parameter", "rule")]

    def _readings(self) -> None:
        """A reading's `affects` names declarations that exist."""
        known = list(self.decls) + list(self.enums)
        for i, reading in enumerate(self.data.get("readings", [])):
            for j, name in enumerate(reading.get("affects", [])):
                if name not in self.decls and name not in self.enums:
                    self.fail(UnknownNameError(_("the reading of {clause} affects '{id}', which the ruleset "
                                                 "does not declare").format(clause=reading["clause"], id=name),
                                               span=self.doc.span(("readings", i, "affects", j)),
                                               hint=did_you_mean(name, known) or _("name the ids the reading "
                                               "decides, e.g. the rule that encodes the sentence")))

    # --- clause inventory ---------------------------------------------------------------------
    def _clauses(self) -> list[Clause]:
        return [Clause(item["clause"], item["summary"], item.get("status", "todo"),
                       tuple(item.get("ids", ())), item.get("reason"),
                       self.doc.span(("clauses", i)),
                       tuple(self.doc.span(("clauses", i, "ids", j)) for j in range(len(item.get("ids", ())))))
                for i, item in enumerate(self.data.get("clauses", []))]


