"""k8s_core_schemas.json is what hack/gen-k8s-core-schemas.py makes of Kubernetes' own schemas, and
is a valid structural CRD schema."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from kopfka.model import k8s_core
from kopfka.model.schema_dsl import QUANTITY_PATTERN, Schema
from tests.support import k8s_schemas

SCHEMAS = {
    "affinity": k8s_core.affinity,
    "toleration": k8s_core.toleration,
    "topologySpreadConstraint": k8s_core.topology_spread_constraint,
    "networkPolicyPeer": k8s_core.network_policy_peer,
}
# What a structural schema may say about a value (besides descriptions), and nothing else.
STRUCTURAL_KEYS = {
    "type",
    "format",
    "minimum",
    "maximum",
    "enum",
    "properties",
    "items",
    "additionalProperties",
    "required",
    "anyOf",
    "pattern",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
}


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return k8s_schemas.generator()


@pytest.fixture(scope="module")
def definitions(generator: ModuleType) -> dict[str, Any]:
    defs: dict[str, Any] = generator.definitions()
    return defs


def test_json_is_what_the_generator_makes(generator: ModuleType) -> None:
    on_disk = generator.OUT.read_text(encoding="utf-8")
    assert on_disk == generator.render(), f"stale k8s_core_schemas.json: run `{generator.COMMAND}`"


def _nodes(schema: Schema, path: str) -> Iterator[tuple[str, Schema]]:
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _nodes(sub, f"{path}.{name}")
    if "items" in schema:
        yield from _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{path}.*")


def _source_paths(defs: dict[str, Any], node: dict[str, Any], path: str) -> Iterator[str]:
    """The fields of a Kubernetes type, read from kubernetes_validate's schema."""
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    yield path
    for name, sub in node.get("properties", {}).items():
        yield from _source_paths(defs, sub, f"{path}.{name}")
    if "items" in node:
        yield from _source_paths(defs, node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _source_paths(defs, node["additionalProperties"], f"{path}.*")


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_field_of_the_kubernetes_type_is_there(
    generator: ModuleType, definitions: dict[str, Any], name: str
) -> None:
    source = {"$ref": f"#/$defs/{generator.ROOTS[name]}"}
    expected = sorted(_source_paths(definitions, source, name))
    assert sorted(path for path, _ in _nodes(SCHEMAS[name](), name)) == expected


@pytest.mark.parametrize("name", SCHEMAS)
def test_schemas_are_structural(name: str) -> None:
    schema = SCHEMAS[name]()
    assert schema["description"]
    for path, node in _nodes(schema, name):
        assert set(node) - {"description"} <= STRUCTURAL_KEYS, path
        assert "type" in node or node.get("x-kubernetes-int-or-string"), path
        assert not ("properties" in node and "additionalProperties" in node), path
        assert node.get("description"), f"{path}: kubectl explain shows this description"
        assert set(node.get("required", [])) <= set(node.get("properties", {})), path


def test_required_fields_are_kept() -> None:
    assert k8s_core.topology_spread_constraint()["required"] == [
        "maxSkew",
        "topologyKey",
        "whenUnsatisfiable",
    ]


def test_int_or_string_and_quantity(generator: ModuleType, definitions: dict[str, Any]) -> None:
    defs = definitions
    probe = generator.convert({"$ref": "#/$defs/io.k8s.api.core.v1.HTTPGetAction"}, defs)
    port = probe["properties"]["port"]
    assert port["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert port["x-kubernetes-int-or-string"] is True
    assert "pattern" not in port
    resources = generator.convert({"$ref": "#/$defs/io.k8s.api.core.v1.ResourceRequirements"}, defs)
    limit = resources["properties"]["limits"]["additionalProperties"]
    assert limit["x-kubernetes-int-or-string"] is True
    assert limit["pattern"] == QUANTITY_PATTERN


def test_each_call_returns_a_fresh_copy() -> None:
    k8s_core.toleration()["properties"].clear()
    assert "key" in k8s_core.toleration()["properties"]
