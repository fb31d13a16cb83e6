"""Any JSON in any field: the model either accepts the spec or refuses it with SpecError, never with
another exception, and what it accepts renders into objects the Kubernetes API accepts.

Specs start valid; then one field anywhere in the schema (free-form ones included), or a key of a
free-form map, gets an arbitrary JSON value.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopfka.model import schema
from kopfka.model.cluster import parse_cluster
from kopfka.model.errors import SpecError
from kopfka.model.schema_dsl import Schema
from kopfka.model.topic import check_against_cluster, parse_topic
from kopfka.render.cluster import owned_by, render_cluster
from tests.support.tls import new_certificates

KUBERNETES_VERSION = "1.36.0"
OWNER = {
    "apiVersion": "kopfka.dev/v1alpha1",
    "kind": "KafkaCluster",
    "metadata": {"name": "events", "uid": "0b5d3c52-3a8e-4e0b-9f1f-1a2b3c4d5e6f"},
}
VALID_CLUSTER: dict[str, Any] = {
    "kafka": {"config": {"num.partitions": 3}},
    "controllers": {"replicas": 3, "storage": {"type": "persistent-claim", "size": "1Gi"}},
    "brokers": {
        "replicas": 3,
        "resources": {"limits": {"memory": "2Gi"}},
        "jvm": {"options": ["-XX:MaxGCPauseMillis=50"]},
    },
    "listeners": [{"name": "plain", "port": 9092}],
    "rack": {"topologyKey": "topology.kubernetes.io/zone"},
    "template": {
        "pod": {
            "metadata": {"labels": {"team": "data"}, "annotations": {"note": "x"}},
            "affinity": {"nodeAffinity": {}},
            "tolerations": [{"key": "dedicated", "operator": "Exists"}],
            "nodeSelector": {"disk": "ssd"},
            "topologySpreadConstraints": [],
        }
    },
}
VALID_TOPIC: dict[str, Any] = {
    "cluster": "events",
    "partitions": 3,
    "replicationFactor": 3,
    "config": {"retention.ms": "1000"},
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3)
    ),
    max_leaves=8,
)
# Values that look like what people write, so that deep paths are reached, not just refused.
plausible = st.sampled_from(
    ["1Gi", "500m", "-1", "0", "3", "1e1.5", "1e999", "plain", "", " ", "a=b", "${X}", "-Xmx1g"]
)


def _paths(node: Schema, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield prefix
    for key, sub in (node.get("properties") or {}).items():
        yield from _paths(sub, (*prefix, key))
    if "items" in node:
        yield from _paths(node["items"], (*prefix, 0))


CLUSTER_PATHS = [path for path in _paths(schema.cluster_spec()) if path]
TOPIC_PATHS = [path for path in _paths(schema.topic_spec()) if path]
FREE_MAPS = [
    ("kafka", "config"),
    ("template", "pod", "metadata", "labels"),
    ("template", "pod", "metadata", "annotations"),
    ("template", "pod", "nodeSelector"),
    ("template", "pod", "affinity"),
    ("brokers", "resources", "limits"),
]


def _set(spec: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(spec)
    node: Any = result
    for step in path[:-1]:
        if isinstance(step, int):
            if not isinstance(node, list) or not node:
                return result
            node = node[0]
        else:
            if not isinstance(node, dict):
                return result
            node = node.setdefault(step, {})
    last = path[-1]
    if isinstance(last, int):
        if isinstance(node, list) and node:
            node[0] = value
    elif isinstance(node, dict):
        node[last] = value
    return result


@st.composite
def broken_clusters(draw: st.DrawFn) -> dict[str, Any]:
    value = draw(json_values | plausible)
    if draw(st.booleans()):
        return _set(VALID_CLUSTER, draw(st.sampled_from(CLUSTER_PATHS)), value)
    path = draw(st.sampled_from(FREE_MAPS))
    key = draw(st.text(max_size=30) | st.sampled_from(["log.retention.ms", "cpu", "team"]))
    return _set(VALID_CLUSTER, (*path, key), value)


@st.composite
def broken_topics(draw: st.DrawFn) -> dict[str, Any]:
    value = draw(json_values | plausible)
    if draw(st.booleans()):
        return _set(VALID_TOPIC, draw(st.sampled_from(TOPIC_PATHS)), value)
    key = draw(st.text(max_size=30) | st.sampled_from(["retention.ms", "cleanup.policy"]))
    return _set(VALID_TOPIC, ("config", key), value)


def test_the_valid_starting_points_are_valid() -> None:
    cluster = parse_cluster("events", "streaming", VALID_CLUSTER)
    assert check_against_cluster(parse_topic("orders", VALID_TOPIC), cluster) == []


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken_clusters())
def test_any_cluster_spec_is_accepted_and_renders_or_is_refused_with_a_spec_error(
    spec: dict[str, Any],
) -> None:
    try:
        parsed = parse_cluster("events", "streaming", spec)
    except SpecError as error:
        problems = error.problems
        assert problems
        return
    certificates = new_certificates(parsed)
    for obj in render_cluster(parsed, "MkU3OEVBNTcwNTJENDM2Qg", certificates=certificates):
        kubernetes_validate.validate(owned_by(obj, OWNER), KUBERNETES_VERSION, strict=True)


@settings(max_examples=300, deadline=None)
@given(broken_topics())
def test_any_topic_spec_is_accepted_or_refused_with_a_spec_error(spec: dict[str, Any]) -> None:
    cluster = parse_cluster("events", "streaming", VALID_CLUSTER)
    try:
        topic = parse_topic("orders", spec)
    except SpecError as error:
        problems = error.problems
        assert problems
        return
    assert all(isinstance(problem, str) for problem in check_against_cluster(topic, cluster))
