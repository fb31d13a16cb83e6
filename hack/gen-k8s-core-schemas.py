"""Writes operator/kopfka/model/k8s_core_schemas.json: Kubernetes types as CRD schemas.

The KafkaCluster CRD embeds three core/v1 types in `spec.template.pod` (Affinity, Toleration and
TopologySpreadConstraint) and networking/v1 NetworkPolicyPeer in `spec.networkPolicy.clients`.
Typing them with the real Kubernetes schemas lets the API server refuse a malformed value at
`kubectl apply`, and lets the model's validator refuse the same values in unit tests, instead of
a StatefulSet or NetworkPolicy that the API server refuses later.

The source is the JSON schema of Kubernetes 1.36 that the `kubernetes_validate` package ships (the
version the tests validate against). It is turned into a structural OpenAPI v3 schema, as CRDs
require: every `$ref` inlined (these types are not recursive), one `type` per node, IntOrString
and Quantity as `x-kubernetes-int-or-string`, and only keys a CRD schema accepts. Descriptions are
kept on the roots only, to keep the CRD small. The JSON file is generated: do not edit it,
run `.venv/bin/python hack/gen-k8s-core-schemas.py`.

Differences from the source, all deliberate:
- `null` is dropped from the types, so no field is `nullable`. Kubernetes' own OpenAPI does not
  mark these fields nullable either; the JSON schema allows null because Go decodes it as the
  zero value. The API server prunes a null object field of a CRD; a null list item is refused.
- `additionalProperties: false` is dropped: a CRD cannot combine it with `properties`, and the API
  server prunes unknown fields of a CRD instead of refusing them.
- Strategic-merge-patch hints (`x-kubernetes-patch-*`) are dropped: CRDs do not support them.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from kopfka.model.schema_dsl import QUANTITY_PATTERN, Schema

KUBERNETES_VERSION = "1.36.0"
REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "operator" / "kopfka" / "model" / "k8s_core_schemas.json"
COMMAND = ".venv/bin/python hack/gen-k8s-core-schemas.py"

ROOTS = {
    "affinity": "io.k8s.api.core.v1.Affinity",
    "toleration": "io.k8s.api.core.v1.Toleration",
    "topologySpreadConstraint": "io.k8s.api.core.v1.TopologySpreadConstraint",
    "networkPolicyPeer": "io.k8s.api.networking.v1.NetworkPolicyPeer",
}
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

# Copied as they are: what a structural CRD schema accepts and the source may use.
KEPT = frozenset(
    {
        "enum",
        "format",
        "maxItems",
        "maxLength",
        "maximum",
        "minItems",
        "minLength",
        "minimum",
        "pattern",
        "required",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-list-type",
        "x-kubernetes-map-type",
    }
)
# Rewritten below (type, $ref, properties, items, additionalProperties) or left out on purpose.
HANDLED = frozenset({"type", "$ref", "properties", "items", "additionalProperties", "description"})
DROPPED = frozenset({"x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy"})


def definitions() -> dict[str, Any]:
    """The `$defs` of kubernetes_validate's strict schemas for KUBERNETES_VERSION."""
    source = (
        resources.files("kubernetes_validate")
        / "kubernetes-json-schema"
        / f"v{KUBERNETES_VERSION}-local-strict"
        / "_definitions.json"
    )
    defs: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))["$defs"]
    return defs


def int_or_string(name: str) -> Schema:
    schema: Schema = {
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True,
    }
    if name == QUANTITY:
        schema["pattern"] = QUANTITY_PATTERN
    return schema


def convert(node: dict[str, Any], defs: dict[str, Any], trail: tuple[str, ...] = ()) -> Schema:
    """`node` as a structural schema; `trail` is the chain of definitions being inlined."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in (INT_OR_STRING, QUANTITY):
            inlined = int_or_string(name)
        elif name in trail:
            raise SystemExit(f"{' -> '.join((*trail, name))}: recursive types cannot be inlined")
        else:
            inlined = convert(defs[name], defs, (*trail, name))
        if node.get("description"):
            inlined["description"] = first_sentence(node["description"])
        return inlined
    where = " -> ".join(trail) or "root"
    unknown = set(node) - KEPT - HANDLED - DROPPED
    if unknown:
        raise SystemExit(f"{where}: no rule for {sorted(unknown)}; extend {Path(__file__).name}")
    schema: Schema = {key: value for key, value in node.items() if key in KEPT}
    # The first sentence of Kubernetes' own description: what `kubectl explain` shows.
    if node.get("description"):
        schema["description"] = first_sentence(node["description"])
    if "enum" in schema:
        schema["enum"] = [value for value in schema["enum"] if value is not None]
    types = node.get("type")
    types = [t for t in ([types] if isinstance(types, str) else types or []) if t != "null"]
    if len(types) != 1:
        raise SystemExit(f"{where}: expected one type besides null, got {node.get('type')!r}")
    schema["type"] = types[0]
    if "properties" in node:
        schema["properties"] = {
            name: convert(sub, defs, trail) for name, sub in node["properties"].items()
        }
    if "items" in node:
        schema["items"] = convert(node["items"], defs, trail)
        # An item Kubernetes does not describe is described by its list.
        if "description" in schema:
            schema["items"].setdefault("description", schema["description"])
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        schema["additionalProperties"] = convert(extra, defs, trail)
        if "description" in schema:
            schema["additionalProperties"].setdefault("description", schema["description"])
    elif extra not in (None, False):
        raise SystemExit(f"{where}: unsupported additionalProperties {extra!r}")
    return schema


def first_sentence(text: str) -> str:
    return re.split(r"(?<=\.)\s", text.strip(), maxsplit=1)[0]


def generate() -> dict[str, Any]:
    defs = definitions()
    document: dict[str, Any] = {
        "$comment": f"Generated from Kubernetes {KUBERNETES_VERSION} by {COMMAND}; do not edit.",
    }
    for key, name in ROOTS.items():
        schema = convert(defs[name], defs, (name,))
        schema["description"] = first_sentence(defs[name]["description"])
        document[key] = schema
    return document


def render() -> str:
    return json.dumps(generate(), indent=1, sort_keys=True) + "\n"


def main() -> None:
    text = render()
    OUT.write_text(text, encoding="utf-8")
    print(f"{OUT}: {len(text)} bytes")


if __name__ == "__main__":
    main()
