"""Kubernetes values in the form the API server writes them back (pure).

The pod template's affinity, tolerations and topology spread constraints, and the NetworkPolicy's
client peers, pass through from the spec, typed with Kubernetes' own schemas (`model/k8s_core.py`).
The API server decodes them into its Go types and drops every optional field left empty: in those
types each optional field is `omitempty` and each required one is not, so an empty string, an
empty list or an empty map that is optional disappears (`values: []` of an `Exists` requirement,
a toleration's `value: ""`, `namespaces: []`, `matchLabels: {}`), while an empty object that
stands for a struct stays (`labelSelector: {}` selects everything and is kept as `{}`). Rendering
such a field would never compare equal to the live object, and every drift run would write it
again; `normal_form` leaves out what the API server would leave out. Quantities have their own
normal form (`model/quantity.canonical`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def normal_form(value: Any, schema: Mapping[str, Any]) -> Any:
    """`value`, of the Kubernetes type `schema` describes, without the optional fields the API
    server drops when they are empty."""
    properties = schema.get("properties")
    if isinstance(value, Mapping) and isinstance(properties, Mapping):
        required = set(schema.get("required", ()))
        result: dict[str, Any] = {}
        for key, item in value.items():
            field = properties.get(key, {})
            normal = normal_form(item, field)
            if key in required or not _empty(normal, field):
                result[key] = normal
        return result
    entries = schema.get("additionalProperties")
    if isinstance(value, Mapping) and isinstance(entries, Mapping):
        return {key: normal_form(item, entries) for key, item in value.items()}
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, Mapping):
        return [normal_form(item, items) for item in value]
    return value


def _empty(value: Any, schema: Mapping[str, Any]) -> bool:
    """An empty value that an `omitempty` field does not write: "", [] or an empty map (an empty
    struct is written, as `{}`)."""
    if isinstance(value, str | list):
        return len(value) == 0
    return isinstance(value, Mapping) and not value and "properties" not in schema
