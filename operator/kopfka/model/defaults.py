"""Applies the schema's defaults to a raw object, as the API server does on admission.

The model parses what the API server would store, so defaults live only in the schema and are never
repeated in Python.
"""

from __future__ import annotations

import copy
from typing import Any

from kopfka.model.schema_dsl import Schema


def apply_defaults(value: Any, schema: Schema) -> Any:
    """A copy of `value` with every missing defaulted field filled in, recursively."""
    result = copy.deepcopy(value)
    return _fill(result, schema)


def _fill(value: Any, schema: Schema) -> Any:
    if isinstance(value, dict) and schema.get("type") == "object":
        for key, sub in schema.get("properties", {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = _fill(value[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            known = schema.get("properties", {})
            for key in value:
                if key not in known:
                    value[key] = _fill(value[key], extra)
    elif isinstance(value, list) and "items" in schema:
        return [_fill(item, schema["items"]) for item in value]
    return value
