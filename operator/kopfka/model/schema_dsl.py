"""A tiny vocabulary for OpenAPI v3 schemas, so the CRD schemas read like the API they describe.

Every helper requires a description: `kubectl explain` is the first documentation users read.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# The API server's own quantity syntax, so a bad size is refused at admission.
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


def _with(schema: Schema, extra: dict[str, Any]) -> Schema:
    for key, value in extra.items():
        if value is not None:
            schema[key] = value
    return schema


def string(description: str, **extra: Any) -> Schema:
    return _with({"type": "string", "description": description}, extra)


def integer(description: str, **extra: Any) -> Schema:
    return _with({"type": "integer", "description": description}, extra)


def boolean(description: str, **extra: Any) -> Schema:
    return _with({"type": "boolean", "description": description}, extra)


def quantity(description: str, **extra: Any) -> Schema:
    return _with(
        {
            "description": description,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "pattern": QUANTITY_PATTERN,
        },
        extra,
    )


def obj(
    description: str,
    properties: dict[str, Schema],
    *,
    required: list[str] | None = None,
    rules: list[Schema] | None = None,
    **extra: Any,
) -> Schema:
    schema: Schema = {"type": "object", "description": description, "properties": properties}
    if required:
        schema["required"] = required
    if rules:
        schema["x-kubernetes-validations"] = rules
    return _with(schema, extra)


def string_map(description: str, **extra: Any) -> Schema:
    return _with(
        {"type": "object", "description": description, "additionalProperties": {"type": "string"}},
        extra,
    )


def array(description: str, items: Schema, **extra: Any) -> Schema:
    return _with({"type": "array", "description": description, "items": items}, extra)


def rule(expression: str, message: str | None = None, **extra: Any) -> Schema:
    """A CEL validation rule; `message` is what kubectl prints when it fails."""
    result: Schema = {"rule": expression}
    if message is not None:
        result["message"] = message
    return _with(result, extra)
