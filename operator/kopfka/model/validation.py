"""Checks a JSON-like value against a CRD's OpenAPI v3 schema, the way the API server does.

The model parses raw dicts: from the API server, which validated them against the CRD schema
first, but also from unit tests and tools, where nothing did. `check` refuses the structural
problems the API server refuses, so the model can rely on a value's shape whatever JSON it is
handed: any value is either accepted or reported as a list of problems, and `check` never raises.

It covers the OpenAPI v3 subset that structural CRD schemas use: type, x-kubernetes-int-or-string,
properties, additionalProperties, required, enum, minimum/maximum, minLength/maxLength, pattern
(searched, as in ECMAScript), minItems/maxItems, minProperties/maxProperties (counting the fields
that survive pruning), nullable, and the uniqueness of x-kubernetes-list-type map and set lists.
An integer is a Python int (not a bool) of 64 bits, or 32 with `format: int32`, as the API server
wants: it reads a larger number as a float and refuses it, and checks the int32 format.
Unknown fields are ignored, not reported: the API server prunes them silently.
Where it departs from the API server, on purpose:
- A null is refused unless the schema is nullable. The API server prunes a null object field
  rather than refusing it (a null list item it refuses too), so a stored object never holds one;
  refusing it here keeps None out of the fields the model reads. `prune` first to match exactly.
- A whole float such as 3.0 is not an integer. The API server accepts it (and stores 3), but the
  model would compute with a float.
- Not checked: the string formats (date-time...), x-kubernetes-validations (CEL: the model
  implements those rules itself), default (apply_defaults fills defaults in first).
A mapping counts as an object and a list or tuple as an array, as they do in JSON. Nothing is
copied, so it is cheap enough to run on every reconcile.

`prune` does what the API server does before it validates: it drops unknown fields and null object
fields, so that the model never reads them. prune, then apply_defaults, then check is admission.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from kopfka.model.schema_dsl import Schema

_INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


def check(value: Any, schema: Schema, path: str) -> list[str]:
    """The problems of `value` against `schema`, each a sentence starting with its path."""
    problems: list[str] = []
    _check(value, schema, path, problems)
    return problems


def prune(value: Any, schema: Schema) -> Any:
    """`value` without what the API server drops before it validates: unknown fields, and nulls
    in object fields that are not nullable (a defaulted one is then defaulted). Never raises; the
    containers the schema describes are new, what it leaves free is shared, not copied."""
    if isinstance(value, list | tuple):
        items = schema.get("items")
        return [prune(item, items) for item in value] if isinstance(items, dict) else value
    if not isinstance(value, Mapping):
        return value
    properties: dict[str, Schema] = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    keep_unknown = extra is True or schema.get("x-kubernetes-preserve-unknown-fields") is True
    if not (properties or isinstance(extra, dict)) and keep_unknown:
        return value
    result: dict[Any, Any] = {}
    for key, item in value.items():
        sub = properties.get(key) if isinstance(key, str) else None
        if sub is None and isinstance(extra, dict):
            sub = extra
        if sub is not None:
            if item is not None or sub.get("nullable"):
                result[key] = prune(item, sub)
        # Kept for check to report: a key that is no string, a field additionalProperties forbids.
        elif keep_unknown or extra is False or not isinstance(key, str):
            result[key] = item
    return result


_INT64 = range(-(2**63), 2**63)
_INT32 = range(-(2**31), 2**31)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in _INT64


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _an_integer(value: Any) -> str:
    """What to ask for when `value` is not an integer: an int here is beyond 64 bits."""
    too_big = isinstance(value, int) and not isinstance(value, bool)
    return "a 64-bit integer" if too_big else "an integer"


_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "object": ("an object", lambda value: isinstance(value, Mapping)),
    "array": ("an array", lambda value: isinstance(value, list | tuple)),
    "string": ("a string", lambda value: isinstance(value, str)),
    "integer": ("an integer", _is_integer),
    "number": ("a number", _is_number),
    "boolean": ("a boolean", lambda value: isinstance(value, bool)),
}


def _is_int_or_string(schema: Schema) -> bool:
    any_of = schema.get("anyOf")
    return schema.get("x-kubernetes-int-or-string") is True or (
        isinstance(any_of, list) and sorted(any_of, key=str) == _INT_OR_STRING
    )


def _check(value: Any, schema: Schema, path: str, problems: list[str]) -> None:
    if _is_int_or_string(schema):
        if not (_is_integer(value) or isinstance(value, str)):
            if value is None and schema.get("nullable"):
                return
            problems.append(f"{path}: must be {_an_integer(value)} or a string, not {_show(value)}")
            return
    elif "type" in schema:
        expected, test = _TYPES.get(schema["type"], (repr(schema["type"]), lambda _: False))
        if not test(value):
            if value is None and schema.get("nullable"):
                return
            if schema["type"] == "integer":
                expected = _an_integer(value)
            problems.append(f"{path}: must be {expected}, not {_show(value)}")
            return
    if "enum" in schema and not _in_enum(value, schema["enum"]):
        supported = ", ".join(_show(option) for option in schema["enum"])
        problems.append(f"{path}: Unsupported value: {_show(value)}: supported values: {supported}")
    if isinstance(value, str):
        _check_string(value, schema, path, problems)
    elif _is_number(value):
        _check_number(value, schema, path, problems)
    elif isinstance(value, list | tuple):
        _check_array(value, schema, path, problems)
    elif isinstance(value, Mapping):
        _check_object(value, schema, path, problems)


def _check_string(value: str, schema: Schema, path: str, problems: list[str]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(f"{path}: should be at least {schema['minLength']} chars long")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"{path}: should be at most {schema['maxLength']} chars long")
    if "pattern" in schema:
        regex = _regex(schema["pattern"])
        if regex is None:
            problems.append(f"{path}: the schema's pattern {schema['pattern']!r} is not valid")
        elif not regex.search(value):
            problems.append(f"{path}: should match '{schema['pattern']}'")


@cache
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _check_number(value: float, schema: Schema, path: str, problems: list[str]) -> None:
    if schema.get("format") == "int32" and isinstance(value, int) and value not in _INT32:
        problems.append(f"{path}: must be of type integer with format int32, not {value}")
    if "minimum" in schema:
        low = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= low:
            problems.append(f"{path}: should be greater than {low}")
        elif value < low:
            problems.append(f"{path}: should be greater than or equal to {low}")
    if "maximum" in schema:
        high = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= high:
            problems.append(f"{path}: should be less than {high}")
        elif value > high:
            problems.append(f"{path}: should be less than or equal to {high}")


def _check_array(
    value: list[Any] | tuple[Any, ...], schema: Schema, path: str, problems: list[str]
) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        problems.append(f"{path}: should have at least {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        problems.append(f"{path}: should have at most {schema['maxItems']} items")
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            _check(item, items, f"{path}[{index}]", problems)
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "map":
        _check_unique_keys(value, schema.get("x-kubernetes-list-map-keys", []), path, problems)
    elif list_type == "set":
        seen: set[tuple[str, Any]] = set()
        for index, item in enumerate(value):
            identity = _identity(item)
            if identity in seen:
                problems.append(f"{path}[{index}]: Duplicate value: {_show(item)}")
            elif identity is not None:
                seen.add(identity)


def _check_unique_keys(
    value: list[Any] | tuple[Any, ...], keys: list[str], path: str, problems: list[str]
) -> None:
    """Items of a map list must differ in their keys; items of the wrong type are reported apart."""
    seen: set[tuple[tuple[str, Any] | None, ...]] = set()
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            continue
        identity = tuple(_identity(item[key]) if key in item else None for key in keys)
        if any(key in item and part is None for key, part in zip(keys, identity, strict=True)):
            continue  # a key that is not a scalar: its own type check reports it
        if identity in seen:
            shown = ", ".join(f'"{key}": {_show(item[key])}' for key in keys if key in item)
            problems.append(f"{path}[{index}]: Duplicate value: {{{shown}}}")
        seen.add(identity)


def _check_object(value: Mapping[Any, Any], schema: Schema, path: str, problems: list[str]) -> None:
    properties: dict[str, Schema] = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if not isinstance(key, str):
            problems.append(f"{path}: field names must be strings, not {_show(key)}")
            continue
        sub = properties.get(key)
        if sub is None and isinstance(extra, dict):
            sub = extra
        if sub is not None:
            _check(item, sub, f"{path}.{key}", problems)
        elif extra is False:
            problems.append(f"{path}.{key}: unknown field")
        # Otherwise an unknown field, which the API server prunes.
    for key in schema.get("required", ()):
        if key not in value:
            problems.append(f"{path}.{key}: Required value")
    if "minProperties" in schema or "maxProperties" in schema:
        kept = extra not in (None, False) or schema.get("x-kubernetes-preserve-unknown-fields")
        count = len(value) if kept else sum(key in properties for key in value)
        if count < schema.get("minProperties", 0):
            problems.append(f"{path}: should have at least {schema['minProperties']} properties")
        if count > schema.get("maxProperties", count):
            problems.append(f"{path}: should have at most {schema['maxProperties']} properties")


def _identity(value: Any) -> tuple[str, Any] | None:
    """A scalar as JSON sees it (True is not 1, 1 is 1.0); None for objects and arrays."""
    if isinstance(value, bool):
        return ("boolean", value)
    if _is_number(value):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null", None)
    return None


def _in_enum(value: Any, options: list[Any]) -> bool:
    identity = _identity(value)
    if identity is None:  # an object or array: enums here list scalars only
        return False
    return any(identity == _identity(option) for option in options)


def _show(value: Any) -> str:
    """A value as a short JSON-like phrase: "three", 3, null, an object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 64 else value[:61] + "...", ensure_ascii=False)
    if isinstance(value, int) and value.bit_length() > 128:  # str() refuses over 4300 digits
        return f"an integer of {value.bit_length()} bits"
    if _is_number(value):
        return repr(value)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__}"
