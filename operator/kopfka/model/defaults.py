"""Prunes unknown fields and applies the schema's defaults, as the API server does on admission.

The model parses what the API server would store, so defaults live only in the schema and are never
repeated in Python, and a field the schema does not know is dropped here as the API server drops it.
"""

from __future__ import annotations

import copy
from typing import Any

from kopfka.model import validation
from kopfka.model.schema_dsl import Schema


def apply_defaults(value: Any, schema: Schema) -> Any:
    """A copy of `value` with unknown fields pruned and missing defaulted fields filled in."""
    result = copy.deepcopy(validation.prune(value, schema))
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
