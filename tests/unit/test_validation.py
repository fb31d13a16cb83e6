"""`validation.check` refuses what the API server refuses, never raises, and agrees with Kubernetes'
own schemas on the core/v1 types the CRD embeds; `validation.prune` drops what the API server
prunes."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from kopfka.model import crds, k8s_core
from kopfka.model.schema_dsl import (
    Schema,
    array,
    boolean,
    integer,
    obj,
    quantity,
    string,
    string_map,
)
from kopfka.model.validation import check, prune
from tests.support import k8s_schemas

KUBERNETES_VERSION = "1.36.0"

INT_OR_STRING: Schema = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "x-kubernetes-int-or-string": True,
}
MAP_LIST: Schema = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
        "required": ["name"],
    },
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
}
FREE: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
PERSON: Schema = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name"],
}

# (schema, value, the problems of value at path "v")
CASES: dict[str, tuple[Schema, Any, list[str]]] = {
    "integer": ({"type": "integer"}, 3, []),
    "integer, not a string": ({"type": "integer"}, "three", ['v: must be an integer, not "three"']),
    "integer, not a bool": ({"type": "integer"}, True, ["v: must be an integer, not true"]),
    "integer, not a whole float": ({"type": "integer"}, 3.0, ["v: must be an integer, not 3.0"]),
    "integer of 64 bits": ({"type": "integer"}, -(2**63), []),
    "integer beyond 64 bits": (
        {"type": "integer"},
        2**63,
        ["v: must be a 64-bit integer, not 9223372036854775808"],
    ),
    "int-or-string beyond 64 bits": (
        INT_OR_STRING,
        -(2**63) - 1,
        ["v: must be a 64-bit integer or a string, not -9223372036854775809"],
    ),
    "int32": ({"type": "integer", "format": "int32"}, -(2**31), []),
    "int32 overflow": (
        {"type": "integer", "format": "int32"},
        2**31,
        ["v: must be of type integer with format int32, not 2147483648"],
    ),
    "number takes an int": ({"type": "number"}, 3, []),
    "number takes a float": ({"type": "number"}, 0.5, []),
    "number, not a bool": ({"type": "number"}, False, ["v: must be a number, not false"]),
    "string": ({"type": "string"}, "", []),
    "string, not an array": ({"type": "string"}, ["a"], ["v: must be a string, not an array"]),
    "boolean": ({"type": "boolean"}, False, []),
    "boolean, not 0": ({"type": "boolean"}, 0, ["v: must be a boolean, not 0"]),
    "object": ({"type": "object"}, {}, []),
    "object, not a string": ({"type": "object"}, "{}", ['v: must be an object, not "{}"']),
    "array": ({"type": "array"}, [], []),
    "array, not an object": ({"type": "array"}, {}, ["v: must be an array, not an object"]),
    "null refused": ({"type": "string"}, None, ["v: must be a string, not null"]),
    "null when nullable": ({"type": "string", "nullable": True}, None, []),
    "null as int-or-string": (INT_OR_STRING, None, ["v: must be an integer or a string, not null"]),
    "int-or-string takes an int": (INT_OR_STRING, 8, []),
    "int-or-string takes a string": (INT_OR_STRING, "8Gi", []),
    "int-or-string, not a float": (
        INT_OR_STRING,
        1.5,
        ["v: must be an integer or a string, not 1.5"],
    ),
    "int-or-string, not a bool": (
        INT_OR_STRING,
        True,
        ["v: must be an integer or a string, not true"],
    ),
    "int-or-string from anyOf alone": (
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        [],
        ["v: must be an integer or a string, not an array"],
    ),
    "int-or-string pattern skips ints": ({**INT_OR_STRING, "pattern": "^[0-9]+Gi$"}, 8, []),
    "int-or-string pattern": (
        {**INT_OR_STRING, "pattern": "^[0-9]+Gi$"},
        "8G",
        ["v: should match '^[0-9]+Gi$'"],
    ),
    "quantity": (quantity("A size."), "1.5Gi", []),
    "quantity, bad unit": (
        quantity("A size."),
        "1GB",
        [f"v: should match '{quantity('')['pattern']}'"],
    ),
    "enum": ({"type": "string", "enum": ["a", "b"]}, "b", []),
    "enum, unsupported": (
        {"type": "string", "enum": ["a", "b"]},
        "x",
        ['v: Unsupported value: "x": supported values: "a", "b"'],
    ),
    "enum, true is not 1": (
        {"enum": [1]},
        True,
        ["v: Unsupported value: true: supported values: 1"],
    ),
    "enum, 1 is 1.0": ({"type": "number", "enum": [1]}, 1.0, []),
    "minimum": ({"type": "integer", "minimum": 1}, 1, []),
    "below minimum": (
        {"type": "integer", "minimum": 1},
        0,
        ["v: should be greater than or equal to 1"],
    ),
    "exclusive minimum": (
        {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        0,
        ["v: should be greater than 0"],
    ),
    "above maximum": (
        {"type": "integer", "maximum": 3},
        4,
        ["v: should be less than or equal to 3"],
    ),
    "exclusive maximum": (
        {"type": "number", "maximum": 1, "exclusiveMaximum": True},
        1.0,
        ["v: should be less than 1"],
    ),
    "minLength": ({"type": "string", "minLength": 2}, "a", ["v: should be at least 2 chars long"]),
    "maxLength counts characters": ({"type": "string", "maxLength": 2}, "éé", []),
    "maxLength": ({"type": "string", "maxLength": 2}, "abc", ["v: should be at most 2 chars long"]),
    "pattern searches": ({"type": "string", "pattern": "b"}, "abc", []),
    "pattern": ({"type": "string", "pattern": "^b"}, "abc", ["v: should match '^b'"]),
    "pattern the schema got wrong": (
        {"type": "string", "pattern": "("},
        "a",
        ["v: the schema's pattern '(' is not valid"],
    ),
    "minItems": ({"type": "array", "minItems": 1}, [], ["v: should have at least 1 items"]),
    "maxItems": ({"type": "array", "maxItems": 1}, [1, 2], ["v: should have at most 1 items"]),
    "items": (
        {"type": "array", "items": {"type": "integer"}},
        [1, "2", 3, None],
        ['v[1]: must be an integer, not "2"', "v[3]: must be an integer, not null"],
    ),
    "tuple as an array": ({"type": "array", "items": {"type": "integer"}}, (1, 2), []),
    "map list": (MAP_LIST, [{"name": "a"}, {"name": "b", "port": 1}], []),
    "map list, duplicate key": (
        MAP_LIST,
        [{"name": "a"}, {"name": "b"}, {"name": "a", "port": 1}],
        ['v[2]: Duplicate value: {"name": "a"}'],
    ),
    "map list, item of the wrong type": (
        MAP_LIST,
        [{"name": "a"}, "a", {"name": ["a"]}, {"name": ["a"]}],
        [
            'v[1]: must be an object, not "a"',
            "v[2].name: must be a string, not an array",
            "v[3].name: must be a string, not an array",
        ],
    ),
    "set list": (
        {"type": "array", "x-kubernetes-list-type": "set"},
        [1, True, "1", 1.0],
        ["v[3]: Duplicate value: 1.0"],
    ),
    "properties": (PERSON, {"name": "ann", "age": 3}, []),
    "property of the wrong type": (
        PERSON,
        {"name": "ann", "age": "3"},
        ['v.age: must be an integer, not "3"'],
    ),
    "required": (PERSON, {"age": 3}, ["v.name: Required value"]),
    "null required field": (PERSON, {"name": None}, ["v.name: must be a string, not null"]),
    "a read-only mapping is an object": (PERSON, MappingProxyType({"name": "ann"}), []),
    "unknown fields are pruned, not refused": (PERSON, {"name": "ann", "nmae": 1}, []),
    "field names are strings": (
        PERSON,
        {"name": "ann", 1: "x"},
        ["v: field names must be strings, not 1"],
    ),
    "additionalProperties": (
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"a": "x", "b": 2},
        ["v.b: must be a string, not 2"],
    ),
    "additionalProperties next to properties": (
        {**PERSON, "additionalProperties": {"type": "boolean"}},
        {"name": "ann", "cat": True, "dog": "yes"},
        ['v.dog: must be a boolean, not "yes"'],
    ),
    "additionalProperties false": (
        {**PERSON, "additionalProperties": False},
        {"name": "ann", "cat": True},
        ["v.cat: unknown field"],
    ),
    "maxProperties": (
        {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 1},
        {"a": "x", "b": "y"},
        ["v: should have at most 1 properties"],
    ),
    "minProperties": (
        {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1},
        {},
        ["v: should have at least 1 properties"],
    ),
    "maxProperties counts no pruned field": (
        {**PERSON, "maxProperties": 1},
        {"name": "ann", "nmae": "ann"},
        [],
    ),
    "preserve-unknown-fields takes anything": (FREE, {"a": [1, {"b": None}]}, []),
    "preserve-unknown-fields with properties": (
        {**FREE, "properties": {"a": {"type": "integer"}}},
        {"a": "1", "b": "anything"},
        ['v.a: must be an integer, not "1"'],
    ),
    "untyped schema takes null": ({"x-kubernetes-preserve-unknown-fields": True}, None, []),
    "CEL rules are left to the model": (
        {"type": "integer", "x-kubernetes-validations": [{"rule": "self > 5"}]},
        1,
        [],
    ),
    "deep paths": (
        {"type": "object", "properties": {"a": {"type": "array", "items": PERSON}}},
        {"a": [{"name": "x"}, {"name": 1}]},
        ["v.a[1].name: must be a string, not 1"],
    ),
    "long strings are shortened": (
        {"type": "integer"},
        "x" * 100,
        [f'v: must be an integer, not "{"x" * 61}..."'],
    ),
    "huge integers are not printed": (
        {"type": "string"},
        10**5000,
        ["v: must be a string, not an integer of 16610 bits"],
    ),
}


@pytest.mark.parametrize(("schema", "value", "expected"), CASES.values(), ids=CASES)
def test_keyword(schema: Schema, value: Any, expected: list[str]) -> None:
    assert check(value, schema, "v") == expected


def test_every_problem_is_reported() -> None:
    value = {"name": 1, "age": "x", "extra": None}
    assert check(value, PERSON, "spec.person") == [
        "spec.person.name: must be a string, not 1",
        'spec.person.age: must be an integer, not "x"',
    ]


def test_core_types_are_typed() -> None:
    toleration = {"key": "k", "operator": "Equal", "value": "v", "tolerationSeconds": "60"}
    assert check(toleration, k8s_core.toleration(), "spec.tolerations[0]") == [
        'spec.tolerations[0].tolerationSeconds: must be an integer, not "60"'
    ]
    spread = {"maxSkew": 1, "topologyKey": "zone"}
    assert check(spread, k8s_core.topology_spread_constraint(), "t") == [
        "t.whenUnsatisfiable: Required value"
    ]
    affinity: dict[str, Any] = {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}
    }
    assert check(affinity, k8s_core.affinity(), "a") == [
        "a.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: "
        "Required value"
    ]


PRUNE_CASES: dict[str, tuple[Schema, Any, Any]] = {
    "unknown field": (PERSON, {"name": "ann", "nmae": "x"}, {"name": "ann"}),
    "null field": (PERSON, {"name": None, "age": 3}, {"age": 3}),
    "nullable null field": (
        {"type": "object", "properties": {"a": {"type": "string", "nullable": True}}},
        {"a": None},
        {"a": None},
    ),
    "null list item stays, for check to refuse": (
        {"type": "array", "items": PERSON},
        [None, {"name": "a", "x": 1}],
        [None, {"name": "a"}],
    ),
    "map values": (
        {"type": "object", "additionalProperties": PERSON},
        {"a": {"name": "x", "y": 1}, "b": None},
        {"a": {"name": "x"}},
    ),
    "preserve-unknown-fields": (FREE, {"a": {"b": None}}, {"a": {"b": None}}),
    "preserve-unknown-fields with properties": (
        {**FREE, "properties": {"p": PERSON}},
        {"p": {"name": "x", "y": 1}, "q": 2},
        {"p": {"name": "x"}, "q": 2},
    ),
    "kept for check: a key that is no string": (PERSON, {1: "x"}, {1: "x"}),
    "kept for check: additionalProperties false": (
        {**PERSON, "additionalProperties": False},
        {"cat": 1},
        {"cat": 1},
    ),
    "wrong type, left to check": (PERSON, "ann", "ann"),
}


@pytest.mark.parametrize(("schema", "value", "expected"), PRUNE_CASES.values(), ids=PRUNE_CASES)
def test_prune(schema: Schema, value: Any, expected: Any) -> None:
    assert prune(value, schema) == expected


def test_prune_then_check_is_admission() -> None:
    """A null required field is pruned, then missing, as the API server reports it."""
    assert check(prune({"name": None}, PERSON), PERSON, "v") == ["v.name: Required value"]


# --- The keywords of every schema the operator ships -------------------------------------------

CHECKED = {
    "type",
    "nullable",
    "anyOf",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "items",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "properties",
    "additionalProperties",
    "required",
    "minProperties",
    "maxProperties",
}
NOT_CHECKED = {
    "description",
    "default",
    "format",
    "x-kubernetes-validations",
    "x-kubernetes-map-type",
}


def _shipped_schemas() -> Iterator[Schema]:
    for crd in crds.all_crds().values():
        for version in crd["spec"]["versions"]:
            yield version["schema"]["openAPIV3Schema"]
    yield from (k8s_core.affinity(), k8s_core.toleration(), k8s_core.topology_spread_constraint())


def _nodes(schema: Schema) -> Iterator[Schema]:
    yield schema
    for sub in schema.get("properties", {}).values():
        yield from _nodes(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _nodes(schema[key])


def test_check_knows_every_keyword_the_schemas_use() -> None:
    used = {key for schema in _shipped_schemas() for node in _nodes(schema) for key in node}
    assert used - CHECKED - NOT_CHECKED == set(), "teach validation.check these keywords"
    any_of = [node["anyOf"] for s in _shipped_schemas() for node in _nodes(s) if "anyOf" in node]
    assert all(node == INT_OR_STRING["anyOf"] for node in any_of), "check knows int-or-string only"


def test_every_pattern_compiles_in_python() -> None:
    for schema in _shipped_schemas():
        for node in _nodes(schema):
            if "pattern" in node:
                re.compile(node["pattern"])


# --- Never raises ------------------------------------------------------------------------------

COMPOSITE = obj(
    "Every keyword at once.",
    {
        "name": string("A name.", minLength=1, maxLength=8, pattern="^[a-z]+$"),
        "mode": string("A mode.", enum=["a", "b"]),
        "replicas": integer("A count.", minimum=1, maximum=9),
        "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        "enabled": boolean("A switch."),
        "size": quantity("A size."),
        "labels": string_map("Labels."),
        "note": string("Maybe nothing.", nullable=True),
        "free": FREE,
        "ports": {**MAP_LIST, "maxItems": 3, "minItems": 1},
        "tags": array("Tags.", string("A tag."), **{"x-kubernetes-list-type": "set"}),
        "closed": {**PERSON, "additionalProperties": False},
    },
    required=["name"],
)
SCHEMAS = {
    "affinity": k8s_core.affinity(),
    "toleration": k8s_core.toleration(),
    "topologySpreadConstraint": k8s_core.topology_spread_constraint(),
    "networkPolicyPeer": k8s_core.network_policy_peer(),
    "composite": COMPOSITE,
}


def _field_names(schema: Schema) -> list[str]:
    return sorted({name for node in _nodes(schema) for name in node.get("properties", {})})


def _json(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Any JSON value; object keys are often field names of the schema, to reach deep fields."""
    # No NaN: JSON has none, and NaN != NaN would make equality checks meaningless.
    scalars = (
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5)
        ),
        max_leaves=40,
    )


@pytest.mark.parametrize("name", SCHEMAS)
@settings(deadline=None, max_examples=80)
@given(data=st.data())
def test_check_never_raises(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    keys = st.sampled_from(_field_names(schema)) | st.text(max_size=4)
    value = data.draw(_json(keys))
    problems = check(value, schema, "spec")
    assert isinstance(problems, list)
    assert all(isinstance(problem, str) and problem.startswith("spec") for problem in problems)
    pruned = prune(value, schema)
    assert prune(pruned, schema) == pruned
    assert isinstance(check(pruned, schema, "spec"), list)


# --- Agreement with Kubernetes' own schemas ----------------------------------------------------
#
# Values are generated from kubernetes_validate's JSON schema of each type: valid ones, then with a
# node or two broken (a value of the wrong type, a required field left out, an unknown field).
# check() accepts a value exactly when kubernetes_validate accepts a Pod (a NetworkPolicy for a
# peer) carrying it, except where the two differ on purpose, which `_kubernetes_verdict` pins down:
# - Unknown fields: kubernetes_validate's strict schema refuses them; a CRD prunes them, so check
#   ignores them. Generated unknown fields are all named UNKNOWN, and kubernetes_validate sees the
#   value without them.
# - null: kubernetes_validate allows null for every optional field and list item (Go decodes it as
#   the zero value); the CRD schema has no nullable field, so check refuses every null.
# - A whole float such as 3.0 for an integer: JSON Schema accepts it, check does not (see
#   test_keyword), so integers are broken with 1.5, never 3.0.
# - Integer ranges: JSON Schema ignores `format`, so kubernetes_validate accepts 2**40 for an int32
#   field and 2**63 for an int64 one. Kubernetes decodes them into Go integers and refuses both; so
#   does a CRD (the API server checks formats int32 and int64), and so does check.
# kubernetes_validate's schema has no enums, patterns or ranges for these types, and neither has
# the CRD schema; the API server's semantic validation (a weight of 1-100, a known operator...) is
# beyond both.

UNKNOWN = "zzUnknownField"
ROOTS: dict[str, str] = k8s_schemas.generator().ROOTS
WRONG_VALUES: dict[str, Any] = {"null": None, "boolean": True, "integer": 7, "number": 1.5}
WRONG_VALUES |= {"string": "text", "array": [], "object": {}}
Path = tuple[str | int, ...]


@functools.cache
def _definitions() -> dict[str, Any]:
    definitions: dict[str, Any] = k8s_schemas.generator().definitions()
    return definitions


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = _definitions()[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _kind(node: dict[str, Any]) -> str:
    types: list[str] = node["type"] if isinstance(node["type"], list) else [node["type"]]
    return next(kind for kind in types if kind != "null")


SCALARS = {"string": "zone", "integer": 1, "boolean": True}
STRINGS = st.sampled_from(["", "zone", "In", "Exists", "NoSchedule"])
LABEL_KEYS = st.sampled_from(["app", "zone", "kopfka.dev/pool", ""])


def _full(node: dict[str, Any]) -> Any:
    """A valid value with every field set and one item in every list and map."""
    node = _resolve(node)
    kind = _kind(node)
    if kind == "object" and "properties" in node:
        return {name: _full(sub) for name, sub in node["properties"].items()}
    if kind == "object":
        return {"app": _full(node["additionalProperties"])}
    if kind == "array":
        return [_full(node["items"])]
    return SCALARS[kind]


def _valid(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    node = _resolve(node)
    kind = _kind(node)
    if kind == "object" and "properties" in node:
        required = node.get("required", [])
        return st.fixed_dictionaries(
            {name: _valid(node["properties"][name]) for name in required},
            optional={
                name: _valid(sub)
                for name, sub in node["properties"].items()
                if name not in required
            },
        )
    if kind == "object":
        return st.dictionaries(LABEL_KEYS, _valid(node["additionalProperties"]), max_size=2)
    if kind == "array":
        return st.lists(_valid(node["items"]), max_size=2)
    return {"string": STRINGS, "integer": st.integers(-3, 2**40), "boolean": st.booleans()}[kind]


def _positions(value: Any, node: dict[str, Any], path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every place in `value` that its schema describes, with the schema node."""
    node = _resolve(node)
    yield path, node
    if isinstance(value, dict) and _kind(node) == "object":
        for key, item in value.items():
            sub = node.get("properties", {}).get(key, node.get("additionalProperties"))
            if isinstance(sub, dict):  # not additionalProperties: false
                yield from _positions(item, sub, (*path, key))
    elif isinstance(value, list) and _kind(node) == "array":
        for index, item in enumerate(value):
            yield from _positions(item, node["items"], (*path, index))


def _at(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def _breakages(value: Any, node: dict[str, Any]) -> list[Any]:
    """Every way to break the valid `value` of `node` in one step."""
    broken = [wrong for kind, wrong in WRONG_VALUES.items() if kind != _kind(node)]
    if _kind(node) == "integer":
        broken += [2**31, 2**63]
    if isinstance(value, dict) and "properties" in node:
        broken.append({**value, UNKNOWN: "b"})
        broken += [
            {key: item for key, item in value.items() if key != name}
            for name in node.get("required", [])
        ]
    return broken


def _replaced(value: Any, path: Path, new: Any) -> Any:
    if not path:
        return new
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)  # type: ignore[index]
    return copy


def _without_unknown(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_unknown(v) for k, v in value.items() if k != UNKNOWN}
    if isinstance(value, list):
        return [_without_unknown(item) for item in value]
    return value


def _has_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_null(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_null(item) for item in value)
    return value is None


def _object_with(name: str, value: Any) -> dict[str, Any]:
    """An object of the kind that carries the type `name`: a NetworkPolicy for a peer, else a
    Pod."""
    if name == "networkPolicyPeer":
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "p"},
            "spec": {"podSelector": {}, "ingress": [{"from": [value]}]},
        }
    spec: dict[str, Any] = {"containers": [{"name": "kafka"}]}
    if name == "affinity":
        spec["affinity"] = value
    else:
        spec[f"{name}s"] = [value]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


@pytest.fixture(scope="module", autouse=True)
def _read_kubernetes_schemas_once() -> Iterator[None]:
    """kubernetes_validate lists its versions and reads its 1.6 MB schema file on every call."""
    with pytest.MonkeyPatch.context() as patch:
        for function in ("all_versions", "schema_contents"):
            cached = functools.cache(getattr(kubernetes_validate.utils, function))
            patch.setattr(kubernetes_validate.utils, function, cached)
        yield


def _fits_go_integers(value: Any, root: dict[str, Any]) -> bool:
    """Whether each integer fits the Go type Kubernetes decodes it into (int32 or int64)."""
    for path, node in _positions(value, root):
        number = _at(value, path)
        if _kind(node) == "integer" and isinstance(number, int) and not isinstance(number, bool):
            bits = 32 if node.get("format") == "int32" else 64
            if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
                return False
    return True


def _kubernetes_verdict(name: str, value: Any) -> bool:
    """Whether check() should accept `value`: Kubernetes' verdict, bar the pinned differences."""
    seen = _without_unknown(value)
    if _has_null(seen) or not _fits_go_integers(seen, {"$ref": ROOTS[name]}):
        return False
    try:
        kubernetes_validate.validate(_object_with(name, seen), KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError:
        return False
    return True


def _assert_agrees(name: str, value: Any) -> None:
    problems = check(value, SCHEMAS[name], name)
    assert (problems == []) == _kubernetes_verdict(name, value), (value, problems)


@pytest.mark.parametrize("name", ROOTS)
def test_check_agrees_with_kubernetes_on_every_single_breakage(name: str) -> None:
    """Every field of a value that sets them all, broken in every way, one at a time."""
    full = _full({"$ref": ROOTS[name]})
    assert check(full, SCHEMAS[name], name) == []
    _assert_agrees(name, full)
    for path, node in _positions(full, {"$ref": ROOTS[name]}):
        for broken in _breakages(_at(full, path), node):
            _assert_agrees(name, _replaced(full, path, broken))


@st.composite
def _slightly_broken(draw: st.DrawFn, name: str) -> Any:
    root = {"$ref": ROOTS[name]}
    value = draw(_valid(root))
    for _ in range(draw(st.integers(0, 2))):
        path, node = draw(st.sampled_from(list(_positions(value, root))))
        value = _replaced(value, path, draw(st.sampled_from(_breakages(_at(value, path), node))))
    return value


@pytest.mark.parametrize("name", ROOTS)
@settings(deadline=None, max_examples=100)
@given(data=st.data())
def test_check_agrees_with_kubernetes(name: str, data: st.DataObject) -> None:
    value = data.draw(_slightly_broken(name))
    event("accepted" if check(value, SCHEMAS[name], name) == [] else "refused")
    _assert_agrees(name, value)
