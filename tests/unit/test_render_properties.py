"""Properties of rendering over many valid specs: every object passes the Kubernetes schema of the
pinned Kubernetes version, and rendering is deterministic."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kopfka.model import kafka_config
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.errors import SpecError
from kopfka.render.cluster import owned_by, render_cluster
from tests.support.settings import configs

KUBERNETES_VERSION = "1.36.0"
OWNER = {
    "apiVersion": "kopfka.dev/v1alpha1",
    "kind": "KafkaCluster",
    "metadata": {"name": "c", "uid": "0b5d3c52-3a8e-4e0b-9f1f-1a2b3c4d5e6f"},
}

quantities = st.sampled_from(["1Gi", "500Mi", "10Gi", "2G", "1.5Gi"])
storage = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("persistent-claim"), "size": quantities},
        optional={"class": st.sampled_from(["fast", "standard"]), "deleteClaim": st.booleans()},
    ),
    st.fixed_dictionaries({"type": st.just("ephemeral")}, optional={"sizeLimit": quantities}),
)
resources = st.fixed_dictionaries(
    {},
    optional={
        "requests": st.fixed_dictionaries({"cpu": st.sampled_from(["100m", "1", "2"])}),
        "limits": st.fixed_dictionaries({"memory": st.sampled_from(["2Gi", "4Gi"])}),
    },
)
pool_extra = st.fixed_dictionaries(
    {},
    optional={
        "storage": storage,
        "resources": resources,
        "jvm": st.fixed_dictionaries({"options": st.lists(st.just("-XX:+UseG1GC"), max_size=1)}),
    },
)
listeners = st.lists(
    st.tuples(st.from_regex(r"[a-z][a-z0-9]{0,14}", fullmatch=True), st.integers(1024, 65535)),
    min_size=1,
    max_size=3,
    unique_by=(lambda item: item[0], lambda item: item[1]),
).filter(
    lambda items: all(
        port not in (9091, 9093) and name not in ("controller", "replication")
        for name, port in items
    )
)
# Replication settings are left out: their limits depend on the broker count (bad-input cases).
_REPLICATION = {*kafka_config.REPLICATION_KEYS, *kafka_config.MIN_ISR_KEYS}
config = (
    st.sampled_from(kafka_config.SUPPORTED_KAFKA_VERSIONS)
    .flatmap(lambda version: st.tuples(st.just(version), configs(version, max_size=4)))
    .map(lambda drawn: (drawn[0], {k: v for k, v in drawn[1].items() if k not in _REPLICATION}))
)
template = st.fixed_dictionaries(
    {},
    optional={
        "metadata": st.fixed_dictionaries({"labels": st.just({"team": "data"})}),
        "tolerations": st.just(
            [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]
        ),
        "nodeSelector": st.just({"disktype": "ssd"}),
        "priorityClassName": st.just("kafka"),
    },
)


def _accepted(spec: dict[str, Any]) -> ClusterSpec:
    """The parsed spec; settings drawn one by one may break a rule across settings (a heartbeat
    above its session timeout): such specs are dropped, and hypothesis fails the test if that
    happens to most of them."""
    try:
        return parse_cluster("c", "ns", spec)
    except SpecError as error:
        assume(not all(p.startswith("spec.kafka.config.") for p in error.problems))
        raise


@st.composite
def cluster_specs(draw: st.DrawFn) -> dict[str, Any]:
    combined = draw(st.booleans())
    spec: dict[str, Any] = {
        "mode": "combined" if combined else "dedicated",
        "controllers": {"replicas": draw(st.sampled_from([1, 3, 5])), **draw(pool_extra)},
        "kafka": dict(zip(("version", "config"), draw(config), strict=True)),
        "listeners": [{"name": name, "port": port} for name, port in draw(listeners)],
        "template": {"pod": draw(template)},
    }
    if not combined:
        spec["brokers"] = {"replicas": draw(st.integers(1, 12)), **draw(pool_extra)}
    if draw(st.booleans()):
        spec["rack"] = {"topologyKey": "topology.kubernetes.io/zone"}
    return spec


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_specs())
def test_every_valid_spec_renders_objects_the_api_server_accepts(spec: dict[str, Any]) -> None:
    parsed = _accepted(spec)
    for obj in render_cluster(parsed, "MkU3OEVBNTcwNTJENDM2Qg"):
        kubernetes_validate.validate(owned_by(obj, OWNER), KUBERNETES_VERSION, strict=True)


@settings(max_examples=30, deadline=None)
@given(cluster_specs())
def test_rendering_is_deterministic(spec: dict[str, Any]) -> None:
    first = render_cluster(_accepted(spec), "id")
    second = render_cluster(_accepted(dict(spec)), "id")
    assert first == second
