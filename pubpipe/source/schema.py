"""Validate the YAML sources against the JSON Schemas in schemas/, one diagnostic per problem.

The schemas (draft 2020-12) are shipped for editors too: point an editor's
YAML support at them for completion and inline errors. Here every problem
becomes `path:line: error: message [schema]`, at the line of the offending
key, all of them collected, so the code that reads the sources afterwards
can rely on their shapes. A schema may give a subschema an `errorMessage`
(the convention VS Code's YAML support also reads) to say what is expected
in plain words.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import json
import os
import re
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pubpipe.diagnostics import Diagnostic, error
from pubpipe.source.yamlfile import KeyPath, json_view, line_of

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
CHECK = "schema"
TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
              "number": "a number", "boolean": "true or false", "null": "empty"}
OWN_MESSAGES = {"required", "additionalProperties", "unevaluatedProperties"}  # errorMessage never replaces these


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """The validator for schemas/<name>.schema.json. The schemas ship with the code, so they are checked
    against the metaschema by the tests (test_source_hardening), not on every run (40 ms each)."""
    from jsonschema import Draft202012Validator  # here: a remembered verdict needs no jsonschema (50 ms import)

    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


_VERDICTS: list = []  # [(store, salt)] while a `verdicts_remembered_in` block runs


@contextlib.contextmanager
def verdicts_remembered_in(store, salt: str):
    """Within the block, `validate` remembers its verdicts in `store` (release/cache.Store: get_json,
    put_json) under `salt`, a digest of the code, the schemas and the installed packages: a run whose
    sources did not change neither imports jsonschema nor builds a validator (80 ms before the first parse
    can start). Scoped, so that a later load of another project in the same process never writes here."""
    _VERDICTS[:] = [(store, salt)]
    try:
        yield
    finally:
        _VERDICTS.clear()


def validate(name: str, data: Any, lines: dict[KeyPath, int], path: str | Path) -> list[Diagnostic]:
    """Every way `data` (loaded from `path`) departs from the schema `name`, in line order; remembered by
    content inside a `verdicts_remembered_in` block."""
    if not _VERDICTS:
        return _validate(name, data, lines, path)
    store, salt = _VERDICTS[0]
    key = hashlib.sha256(json.dumps([salt, name, str(path), os.getcwd(), json_view(data),
                                     sorted([list(keys), line] for keys, line in lines.items())],
                                    sort_keys=True, default=repr).encode("utf-8")).hexdigest()
    remembered = store.get_json("schema", key)
    if isinstance(remembered, list):
        try:
            return [Diagnostic(**found) for found in remembered]
        except TypeError:  # not what we wrote: validate again
            pass
    problems = _validate(name, data, lines, path)
    store.put_json("schema", key, [asdict(problem) for problem in problems])
    return problems


def _validate(name: str, data: Any, lines: dict[KeyPath, int], path: str | Path) -> list[Diagnostic]:
    check = validator(name)
    instance = json_view(data)
    found: dict[tuple[int, str], Diagnostic] = {}
    for problem in check.iter_errors(instance):
        for line, message in _explain(problem, instance, lines, check.schema.get("title", name)):
            found.setdefault((line, message), error(path, line, message, CHECK))
    return [found[key] for key in sorted(found)]


def _explain(err: ValidationError, root: Any, lines: dict[KeyPath, int], title: str) -> list[tuple[int, str]]:
    path = list(err.absolute_path)
    keys = _line_keys(root, path)
    where = _where(path, keys) or title
    schema = err.schema if isinstance(err.schema, dict) else {}
    if "propertyNames" in err.relative_schema_path:  # the error is about a key, not a value
        key = err.instance
        hint = schema.get("errorMessage") or "is not an allowed key"
        return [(line_of(lines, *keys, str(key)), f"key '{key}' in '{where}' {hint}")]
    if err.validator in ("additionalProperties", "unevaluatedProperties"):
        allowed = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        out = []
        for key in err.instance:
            if key in allowed or any(isinstance(key, str) and re.search(p, key) for p in patterns):
                continue
            message = f"unknown key '{key}'" + (f" in '{where}'" if path else "")
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            if close:
                message += f"; did you mean '{close[0]}'?"
            elif 0 < len(allowed) <= 12:
                message += "; allowed: " + ", ".join(allowed)
            out.append((line_of(lines, *keys, str(key)), message))
        return out
    if err.validator == "required":
        missing = [key for key in err.validator_value if key not in err.instance]
        return [(line_of(lines, *keys), f"missing required field '{key}'" + (f" in '{where}'" if path else ""))
                for key in missing]
    line = line_of(lines, *keys)
    custom = schema.get("errorMessage")
    if isinstance(custom, str) and err.validator not in OWN_MESSAGES:
        return [(line, f"{where} {custom}, not {_describe(err.instance)}" if custom.startswith("must") else custom)]
    return [(line, f"{where} {_default(err)}")]


def _default(err: ValidationError) -> str:
    """A plain-words message for the keywords the schemas use."""
    value, expected, shown = err.instance, err.validator_value, _describe(err.instance)
    if err.validator == "type":
        kinds = [expected] if isinstance(expected, str) else expected
        return "must be " + " or ".join(TYPE_NAMES.get(k, k) for k in kinds) + f", not {shown}"
    if err.validator == "enum" and len(expected) > 8:
        close = difflib.get_close_matches(str(value), [str(v) for v in expected], n=1, cutoff=0.6)
        return f"must be one of {len(expected)} allowed values, not {shown}" + (
            f"; did you mean '{close[0]}'?" if close else f" (see {SCHEMAS.name}/)")
    if err.validator == "enum":
        return "must be one of " + ", ".join(f"'{v}'" for v in expected) + f", not {shown}"
    if err.validator in ("minLength", "minItems", "minProperties") and expected == 1 or (
            err.validator == "pattern" and isinstance(value, str) and not value.strip()):
        return "must not be empty"
    if err.validator == "pattern":
        return f"{shown} does not match the pattern {expected}"
    if err.validator in ("minimum", "exclusiveMinimum"):
        return f"must be at least {expected}, not {shown}"
    if err.validator in ("maximum", "exclusiveMaximum"):
        return f"must be at most {expected}, not {shown}"
    if err.validator == "uniqueItems":
        return "lists the same item more than once"
    if err.validator == "format":
        return f"must be a valid {expected}, not {shown}"
    return f"is not valid: {err.message}"


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f"'{text}'"
    return repr(value)


def _where(path: list[Any], keys: list[Any]) -> str:
    """authors[2].given, as a person would point at it."""
    out = ""
    for part, key in zip(path, keys, strict=True):
        out += f"[{part}]" if isinstance(key, int) else ("." if out else "") + key
    return out


def _line_keys(root: Any, path: list[Any]) -> list[Any]:
    """The key path as the line map spells it: list indices as ints, mapping keys as YAML wrote them (text)."""
    keys, node = [], root
    for part in path:
        if isinstance(node, list):
            keys.append(part)
        else:
            keys.append(str(part).lower() if isinstance(part, bool) else str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return keys
