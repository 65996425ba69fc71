"""Files -> validated documents: a ruleset YAML, or a facts file (YAML or JSON).

Each document is checked against its JSON Schema (``schemas/``); every schema error is
reported, located at its YAML line and column, with a did-you-mean for unknown keys.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .document import Document, load_document
from .errors import CheckFailed, LoadError, RulesetSchemaError, did_you_mean

_SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"  # running from a checkout


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
    return _load(path, "ruleset", "a ruleset")


def load_facts(path: str) -> Document:
    """Read a facts file (YAML or JSON) and validate it against ``facts.schema.json``."""
    return _load(path, "facts", "a facts file")


def _load(path: str, schema_name: str, what: str) -> Document:
    doc = load_document(path)
    if not isinstance(doc.value, dict):
        raise LoadError(f"{what} must be a YAML mapping (key: value lines)",
                        span=doc.span(()), hint="the file is empty or holds a single value"
                        if doc.value is None or not isinstance(doc.value, list)
                        else "the file holds a list; a mapping of ids is expected")
    errors = [_schema_error(doc, err) for err in _validator(schema_name).iter_errors(doc.value)]
    if errors:
        raise CheckFailed(errors)
    return doc


def _schema_error(doc: Document, err: ValidationError) -> RulesetSchemaError:
    # A oneOf/anyOf failure is clearer through its most relevant sub-error.
    if err.context and err.validator in ("oneOf", "anyOf"):
        deepest = max(err.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(err.absolute_path):
            err = deepest
    path = tuple(err.absolute_path)
    json_path = err.json_path
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = list(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        key = extra[0] if extra else ""
        hint = did_you_mean(key, allowed) or (f"allowed keys: {', '.join(allowed)}" if allowed else None)
        return RulesetSchemaError(f"unknown key '{key}'", json_path=f"{json_path}.{key}",
                                  span=doc.key_span(path + (key,)), hint=hint)
    if err.validator == "required":
        return RulesetSchemaError(err.message, json_path=json_path, span=doc.key_span(path)
                                  if path else doc.span(path), hint=_required_hint(err))
    span = doc.key_span(path) if _is_key_error(err) else doc.span(path)
    return RulesetSchemaError(_message(err), json_path=json_path, span=span, hint=_hint(err))


def _is_key_error(err: ValidationError) -> bool:
    return "propertyNames" in err.schema_path


def _message(err: ValidationError) -> str:
    if _is_key_error(err):
        return f"'{err.instance}' is not a valid id"
    if err.validator == "not" and isinstance(err.instance, dict) and "open" in err.instance:
        return "an open parameter has no value (it is supplied with the facts)"
    if err.validator == "type":
        return f"{_show(err.instance)} is not of type {err.validator_value}"
    return err.message


def _show(value) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) < 60 else text[:57] + "..."


def _hint(err: ValidationError) -> str | None:
    if _is_key_error(err) or (err.validator == "pattern" and "[a-z]" in str(err.validator_value)):
        return "ids are ASCII snake_case: lower-case letters, digits and '_' (e.g. settlement_amount)"
    if err.validator == "const" and err.validator_value == 1:
        return "write 'format: 1' at the top of the ruleset"
    if err.validator == "type" and err.validator_value == ["string", "number", "boolean"]:
        return "a single value is expected here, not a list or mapping"
    return None


def _required_hint(err: ValidationError) -> str | None:
    if "'value'" in err.message:
        return "give the value, or mark the parameter 'open: true' with a note if the document " \
               "leaves it to local choice"
    if "'note'" in err.message:
        return "an open parameter needs a note saying who decides the value and how"
    return None
