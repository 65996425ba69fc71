"""Files -> validated documents: a ruleset YAML, or a facts file (YAML or JSON).

Each document is checked against its JSON Schema (``schemas/``); every schema error is
reported, located at its YAML line and column, with a did-you-mean for unknown keys.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .document import Document, load_document
from ..core.errors import CheckFailed, LoadError, RulesetSchemaError, did_you_mean
from ..core.i18n import N_, _

_SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"  # running from a checkout


@lru_cache(maxsize=None)
def schema(name: str) -> dict:
    """The JSON Schema ``schemas/<name>.schema.json`` as shipped with the package."""
    filename = f"{name}.schema.json"
    try:
        text = files("rulesengine.schemas").joinpath(filename).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        text = (_SCHEMA_DIR / filename).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name))


def load_ruleset(path: str) -> Document:
    """Read a ruleset file and validate it against ``ruleset.schema.json``."""
    return _load(path, "ruleset", N_("a ruleset"))


def load_facts(path: str) -> Document:
    """Read a facts file (YAML or JSON) and validate it against ``facts.schema.json``."""
    return _load(path, "facts", N_("a facts file"))


def _load(path: str, schema_name: str, what: str) -> Document:
    doc = load_document(path)
    if not isinstance(doc.value, dict):
        raise LoadError(_("{what} must be a YAML mapping (key: value lines)").format(what=_(what)),
                        span=doc.span(()), hint=_("the file is empty or holds a single value")
                        if doc.value is None or not isinstance(doc.value, list)
                        else _("the file holds a list; a mapping of ids is expected"))
    errors = [_schema_error(doc, err) for err in _validator(schema_name).iter_errors(doc.value)]
    if errors:
        raise CheckFailed(errors)
    return doc


def _schema_error(doc: Document, err: ValidationError) -> RulesetSchemaError:
    if err.validator in ("oneOf", "anyOf"):
        special = _alternatives_error(doc, err)
        if special is not None:
            return special
        # Otherwise a oneOf/anyOf failure is clearer through its most relevant sub-error.
        if err.context:
            deepest = max(err.context, key=lambda e: len(e.absolute_path))
            if len(deepest.absolute_path) > len(err.absolute_path):
                err = deepest
    path = tuple(err.absolute_path)
    json_path = err.json_path
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = list(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        key = extra[0] if extra else ""
        hint = did_you_mean(key, allowed) or (_("allowed keys: {keys}").format(keys=", ".join(allowed))
                                              if allowed else None)
        return RulesetSchemaError(_("unknown key '{key}'").format(key=key), json_path=f"{json_path}.{key}",
                                  span=doc.key_span(path + (key,)), hint=hint)
    if err.validator == "required":
        return RulesetSchemaError(_message(err), json_path=json_path, span=doc.key_span(path)
                                  if path else doc.span(path), hint=_required_hint(err, path))
    if _is_key_error(err):
        # jsonschema validates the name itself: the error's path is the enclosing mapping.
        mapping = doc.value
        for step in path:
            mapping = mapping[step] if isinstance(mapping, (dict, list)) else None
        key = str(err.instance)
        span = doc.key_span(path + (key,)) if isinstance(mapping, dict) and key in mapping \
            else doc.span(path)
        return RulesetSchemaError(_message(err), json_path=f"{json_path}.{key}", span=span,
                                  hint=_hint(err, path))
    if err.validator == "not" and isinstance(err.instance, dict) and err.instance.get("open") is True:
        given = next((k for k in ("value", "values") if k in err.instance), None)
        span = doc.key_span(path + (given,)) if given else doc.key_span(path)
        return RulesetSchemaError(_message(err), json_path=json_path, span=span,
                                  hint=_("remove '{key}': an open parameter's value comes with the "
                                         "facts; or remove 'open: true' if the document fixes the "
                                         "value").format(key=given or "value"))
    return RulesetSchemaError(_message(err), json_path=json_path, span=doc.span(path),
                              hint=_hint(err, path))


def _alternatives_error(doc: Document, err: ValidationError) -> RulesetSchemaError | None:
    """A specific error for the oneOf/anyOf alternatives of the schemas, or None."""
    path = tuple(err.absolute_path)
    name = str(path[-1]) if path else _("the document")
    instance, branches = err.instance, err.validator_value
    if instance is None:
        return RulesetSchemaError(_("'{name}' has no value").format(name=name), json_path=err.json_path,
                                  span=doc.span(path),
                                  hint=_("write the value after '{name}:', or remove the line").format(name=name))
    if isinstance(instance, list) and _has_record_branch(branches) and \
            not all(isinstance(item, dict) for item in instance):
        node = doc.node(path + (0,))
        first = node.value if node is not None and isinstance(getattr(node, "value", None), str) \
            else "VALUE"
        return RulesetSchemaError(
            _("'{name}' is a list of single values: a fact is a single value, not a list (a "
              "collection is a list of records)").format(name=name), json_path=err.json_path,
            span=doc.span(path),
            hint=_("write one value, e.g. {name}: {first}; a collection lists one mapping per "
                   "record: {name}: [{{field: value, ...}}, ...]").format(name=name, first=first))
    required = _required_branches(branches)
    if required and isinstance(instance, dict):
        present = [k for k in required if k in instance]
        if present and err.validator == "oneOf" and len(present) > 1:
            message = _("'{name}' has both {keys}; give one of them").format(
                name=name, keys=_either(present, "and"))
        elif not present:
            message = _("'{name}' needs {keys}").format(name=name, keys=_either(required, "or"))
        else:
            return None
        if name and len(path) >= 2 and path[-2] == "parameters" and "value" in required:
            message = (_("parameter '{name}' has no value") if not present else
                       _("parameter '{name}' has both a value and dated values")).format(name=name)
        if present:
            hint = _("keep one of {keys}, and remove the other").format(keys=_either(present, "or"))
        else:
            hint = _ALTERNATIVES_HINTS.get(tuple(required))
            hint = _(hint).format() if hint else None
        return RulesetSchemaError(message, json_path=err.json_path, span=doc.key_span(path),
                                  hint=hint)
    return None


_ALTERNATIVES_HINTS = {
    ("value", "values"): N_("give the value (or dated values), or mark it open with a note: "
                            "open: true, note: 由…制定 (the document leaves it to local choice)"),
    ("expect", "expect_failed_checks"): N_("a test expects values (expect: {{rule_id: value}}) or "
                                           "failed checks (expect_failed_checks: [...]), or both"),
}


def _has_record_branch(branches) -> bool:
    return isinstance(branches, list) and any(
        isinstance(b, dict) and b.get("type") == "array"
        and str(b.get("items", {}).get("$ref", "")).endswith("/record") for b in branches)


def _required_branches(branches) -> list[str]:
    """The keys of alternatives that each only require keys (e.g. value | values), else []."""
    if not isinstance(branches, list) or not all(isinstance(b, dict) and set(b) == {"required"}
                                                 for b in branches):
        return []
    return [key for b in branches for key in b["required"]]


def _either(keys: list[str], word: str) -> str:
    quoted = [f"'{k}'" for k in keys]
    if len(quoted) == 1:
        return quoted[0]
    template = _("{first} and {last}") if word == "and" else _("{first} or {last}")
    return template.format(first=", ".join(quoted[:-1]), last=quoted[-1])


def _is_key_error(err: ValidationError) -> bool:
    return "propertyNames" in err.schema_path


def _message(err: ValidationError) -> str:
    if _is_key_error(err):
        return _("'{name}' is not a valid id").format(name=err.instance)
    if err.validator == "not" and isinstance(err.instance, dict) and "open" in err.instance:
        return _("an open parameter has no value (it is supplied with the facts)")
    if err.validator == "type":
        return _("{value} is not of type {type}").format(value=_show(err.instance),
                                                         type=_json_types(err.validator_value))
    value, limit = _show(err.instance), err.validator_value
    if err.validator == "required":
        # jsonschema reports each missing key in an error of its own, named only in its message
        missing = re.fullmatch(r"""(['"])(.*)\1 is a required property""", err.message)
        if missing:
            return _("'{name}' is a required property").format(name=missing.group(2))
    if err.validator in ("minLength", "minItems", "minProperties") and limit == 1:
        return _("{value} should be non-empty").format(value=value)
    if err.validator in ("minLength", "minItems", "minProperties"):
        return _("{value} is too short").format(value=value)
    if err.validator in ("maxLength", "maxItems", "maxProperties"):
        return _("{value} is too long").format(value=value)
    if err.validator == "enum":
        return _("{value} is not one of {allowed}").format(
            value=value, allowed="[" + ", ".join(_show(v) for v in limit) + "]")
    if err.validator == "const":
        return _("{expected} was expected").format(expected=_show(limit))
    if err.validator == "pattern":
        return _("{value} does not match {pattern}").format(value=value, pattern=_show(limit))
    if err.validator == "minimum":
        return _("{value} is less than the minimum of {limit}").format(value=value, limit=limit)
    if err.validator == "maximum":
        return _("{value} is greater than the maximum of {limit}").format(value=value, limit=limit)
    if err.validator == "uniqueItems":
        return _("{value} has non-unique elements").format(value=value)
    if err.validator in ("oneOf", "anyOf"):
        return _("{value} is not valid under any of the given schemas").format(value=value)
    if err.validator == "not":
        return _("{value} is not allowed here").format(value=value)
    return err.message


# JSON Schema's type names, as a message shows them
_JSON_TYPES = {"string": N_("string"), "number": N_("number"), "integer": N_("integer"),
               "boolean": N_("boolean"), "object": N_("object"), "array": N_("array"), "null": N_("null")}


def _json_types(types) -> str:
    """``string`` or ``['string', 'number']``, each name in the current language."""
    def name(t) -> str:
        return _(_JSON_TYPES[t]) if t in _JSON_TYPES else str(t)
    if isinstance(types, list):
        return "[" + ", ".join(f"'{name(t)}'" for t in types) + "]"
    return name(types)


def _show(value) -> str:
    if isinstance(value, str):
        text = f"'{value}'"
    elif isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    elif isinstance(value, (int, Decimal)):
        text = str(value)
    else:
        text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


_TYPE_HINTS = {
    "string": N_("write text here; quote it if it looks like a number or a date, e.g. '123'"),
    "integer": N_("write a whole number here, e.g. 2"),
    "number": N_("write a number here, e.g. 1.5"),
    "boolean": N_("write true or false here"),
    "object": N_("write a mapping here: key: value lines, or {{key: value, ...}}"),
    "array": N_("write a list here: [a, b], or one '- item' per line"),
}
_KEY_TYPE_HINTS = {
    "label": N_("a label is the Chinese name shown to people, as text, e.g. label: 结算金额"),
    "citation": N_("a citation is the clause of the document, as text, e.g. citation: 三(三)2"),
    "formula": N_("a formula is text, e.g. formula: amount * rate"),
    "condition": N_("a condition is a comparison written as text, e.g. condition: total <= cap"),
    "message": N_("the message is the sentence of the document the check enforces, as text"),
}


def _hint(err: ValidationError, path: tuple = ()) -> str | None:
    key = str(path[-1]) if path else ""
    if _is_key_error(err) or (err.validator == "pattern" and "[a-z]" in str(err.validator_value)):
        name = str(err.instance)
        if any(ord(ch) > 127 for ch in name):
            return _("ids are ASCII snake_case: lower-case letters, digits and '_' (e.g. "
                     "settlement_amount); the Chinese name belongs in 'label'")
        return _("ids are ASCII snake_case, starting with a lower-case letter: letters, digits "
                 "and '_' (e.g. settlement_amount)")
    if err.validator == "pattern" and "\\d{4}" in str(err.validator_value):
        return _("write the date as YYYY-MM-DD, e.g. 2024-01-01")
    if err.validator == "const" and err.validator_value == 1:
        return _("write 'format: 1' at the top of the ruleset")
    if err.validator == "const":
        return _("write {value}").format(value=err.validator_value)
    if err.validator == "enum":
        allowed = [str(v) for v in err.validator_value]
        close = did_you_mean(str(err.instance), allowed, cutoff=0.4)
        return " ".join(filter(None, [close, _("allowed: {values}").format(values=", ".join(allowed))]))
    if err.validator == "type" and err.validator_value == ["string", "number", "boolean"]:
        return _("a single value is expected here, not a list or mapping")
    if err.validator == "type":
        if key in _KEY_TYPE_HINTS and err.validator_value == "string":
            return _(_KEY_TYPE_HINTS[key]).format()
        expected = err.validator_value
        hint = _TYPE_HINTS.get(expected if isinstance(expected, str) else "", None)
        return _(hint).format() if hint else None
    if err.validator == "minLength":
        return _("'{key}' must not be empty").format(key=key) if key else _("the value must not be empty")
    if err.validator in ("minItems", "minProperties"):
        return _("give at least one item, or remove the key")
    if err.validator == "uniqueItems":
        return _("each item may appear once; remove the repeated one")
    if err.validator == "minimum":
        return _("the value must be at least {limit}").format(limit=err.validator_value)
    if err.validator == "maximum":
        return _("the value must be at most {limit}").format(limit=err.validator_value)
    return None


_REQUIRED_HINTS = {
    "value": N_("give the value, or mark the parameter 'open: true' with a note if the document "
                "leaves it to local choice"),
    "note": N_("an open parameter needs a note saying who decides the value and how"),
    "citation": N_("every number cites the clause of the document, e.g. citation: 三(三)2"),
    "label": N_("a label is the Chinese name shown to people, e.g. label: 结算金额"),
    "type": N_("the value type: money, rate, number, integer, boolean, date, text, or an enum id"),
    "formula": N_("a rule computes its value with a formula, e.g. formula: amount * rate"),
    "condition": N_("a check's condition is a comparison, e.g. condition: total <= cap"),
    "message": N_("the message quotes the requirement of the document the check enforces"),
    "rules": N_("a ruleset encodes the document's calculations under 'rules:' (a shared part "
                "without rules is a module: kind: module)"),
    "issuer": N_("the issuing authority, e.g. issuer: 三亚市医疗保障局"),
    "effective": N_("the period in force, e.g. effective: {{from: 2024-01-01, to: 2024-12-31}}"),
    "seed": N_("the file name of the policy text this ruleset encodes, e.g. seed: 000_x.txt"),
    "format": N_("write 'format: 1' at the top of the ruleset"),
    "id": N_("the ruleset's ASCII snake_case id, e.g. id: sanya_medical_group_2024"),
    "title": N_("the title of the policy document"),
    "document_number": N_("the 文号, e.g. 三医保〔2024〕6号; write 无文号 when there is none"),
    "rows": N_("a table lists its rows: rows: [{{key: ..., value: ...}}, ...]"),
    "key": N_("each row has a key and a value: {{key: 优秀, value: 0%}}"),
    "from": N_("the first day in force, e.g. from: 2024-01-01"),
    "facts": N_("an example gives facts: {{input_id: value, ...}}"),
    "fields": N_("an entity lists its per-record fields: fields: {{code: {{label: …, type: text, …}}}}"),
}


def _required_hint(err: ValidationError, path: tuple = ()) -> str | None:
    missing = [k for k in err.validator_value if isinstance(err.instance, dict)
               and k not in err.instance] if isinstance(err.validator_value, list) else []
    for key in missing:
        if key in _REQUIRED_HINTS:
            return _(_REQUIRED_HINTS[key]).format()
    return _("add '{key}: …' here").format(key=missing[0]) if missing else None
