"""The cluster's NetworkPolicy (render/network_policy.py), spec by spec: which ports each rule
opens and to whom, which pods it selects, that those are the pods the StatefulSets and kopfka's
Jobs make, and that a cluster without `spec.networkPolicy.enabled` gets none. Also the operator's
own pods as the chart passes them (handlers/common.operator_pods)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import kubernetes_validate
import pytest

from kopfka.handlers.common import operator_pods
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.live_settings import LivePlan
from kopfka.model.upgrade import Finalize, metadata_version
from kopfka.render.cluster import render_cluster
from kopfka.render.config import container_ports
from kopfka.render.features_job import render_features_job
from kopfka.render.network_policy import OperatorPods, network_policy
from kopfka.render.operator_job import JobImage
from kopfka.render.rebalance_job import render_rebalance_job
from kopfka.render.settings_job import render_settings_job
from kopfka.render.statefulset import stateful_set
from kopfka.render.topic_job import render_topic_job
from kopfka.render.unregister_job import render_unregister_job
from kopfka.render.user_job import render_user_job
from tests.unit.test_render_topic_job import KUBERNETES_VERSION

OPERATOR = OperatorPods(
    "kopfka-system",
    {"app.kubernetes.io/name": "kopfka", "app.kubernetes.io/instance": "kopfka"},
)
OPERATOR_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kopfka-system"}},
    "podSelector": {
        "matchLabels": {"app.kubernetes.io/name": "kopfka", "app.kubernetes.io/instance": "kopfka"}
    },
}
KAFKA_PODS = {
    "podSelector": {
        "matchLabels": {
            "app.kubernetes.io/name": "kafka",
            "app.kubernetes.io/instance": "events",
            "kopfka.dev/cluster": "events",
        }
    }
}
JOB_PODS = {"podSelector": {"matchLabels": {"kopfka.dev/job-cluster": "events"}}}
ON = {"enabled": True}
BROKERS = {"brokers": {"replicas": 3}}
COMBINED = {"mode": "combined", "controllers": {"replicas": 1}}
APPS = {"podSelector": {"matchLabels": {"app": "orders"}}}
MONITORING = {"namespaceSelector": {"matchLabels": {"team": "monitoring"}}}
OFFICE = {"ipBlock": {"cidr": "192.168.0.0/16", "except": ["192.168.7.0/24"]}}
TLS_AND_SCRAM = [
    {"name": "plain", "port": 9092},
    {"name": "secure", "port": 9094, "tls": True},
    {"name": "scram", "port": 9095, "authentication": {"type": "scram-sha-512"}},
]


def parse(**spec: Any) -> ClusterSpec:
    return parse_cluster("events", "streaming", {**BROKERS, **spec})


def ports(rule: Mapping[str, Any]) -> list[str]:
    assert all(port["protocol"] == "TCP" for port in rule["ports"])
    return [port["port"] for port in rule["ports"]]


def rules(
    spec: ClusterSpec, operator: OperatorPods | None = OPERATOR
) -> list[tuple[list[str], list[Any] | None]]:
    """(port names, peers or None for anybody) of each ingress rule."""
    policy = network_policy(spec, operator=operator)
    assert policy is not None
    return [(ports(rule), rule.get("from")) for rule in policy["spec"]["ingress"]]


@pytest.mark.parametrize(
    ("spec", "operator", "expected"),
    [
        (
            {**BROKERS, "networkPolicy": ON},
            OPERATOR,
            [
                (["replication", "controller"], [KAFKA_PODS, JOB_PODS, OPERATOR_PEER]),
                (["plain"], None),
                (["metrics", "probes"], None),
            ],
        ),
        (
            {**BROKERS, "networkPolicy": {**ON, "clients": [APPS, MONITORING, OFFICE]}},
            OPERATOR,
            [
                (["replication", "controller"], [KAFKA_PODS, JOB_PODS, OPERATOR_PEER]),
                (["plain"], [APPS, MONITORING, OFFICE, JOB_PODS, OPERATOR_PEER]),
                (["metrics", "probes"], None),
            ],
        ),
        (
            {**BROKERS, "networkPolicy": {**ON, "clients": [APPS]}},
            None,
            [
                (["replication", "controller"], [KAFKA_PODS, JOB_PODS]),
                (["plain"], [APPS, JOB_PODS]),
                (["metrics", "probes"], None),
            ],
        ),
        (
            {**BROKERS, "networkPolicy": ON, "metrics": {"enabled": False}},
            OPERATOR,
            [
                (["replication", "controller"], [KAFKA_PODS, JOB_PODS, OPERATOR_PEER]),
                (["plain"], None),
                (["probes"], None),
            ],
        ),
        (
            {
                **BROKERS,
                "networkPolicy": {**ON, "clients": [MONITORING]},
                "listeners": TLS_AND_SCRAM,
            },
            OPERATOR,
            [
                (["replication", "controller"], [KAFKA_PODS, JOB_PODS, OPERATOR_PEER]),
                (["plain", "secure", "scram"], [MONITORING, JOB_PODS, OPERATOR_PEER]),
                (["metrics", "probes"], None),
            ],
        ),
        (
            {**COMBINED, "networkPolicy": ON},
            OPERATOR,
            [
                (["replication", "controller"], [KAFKA_PODS, JOB_PODS, OPERATOR_PEER]),
                (["plain"], None),
                (["metrics", "probes"], None),
            ],
        ),
    ],
    ids=[
        "clients-left-out",
        "clients-listed",
        "operator-outside-the-cluster",
        "metrics-off",
        "every-client-listener",
        "combined",
    ],
)
def test_rules(
    spec: dict[str, Any],
    operator: OperatorPods | None,
    expected: list[tuple[list[str], list[Any] | None]],
) -> None:
    assert rules(parse_cluster("events", "streaming", spec), operator) == expected


def test_a_cluster_without_the_setting_gets_no_policy() -> None:
    for spec in (parse(), parse(networkPolicy={"enabled": False, "clients": [APPS]})):
        assert network_policy(spec, operator=OPERATOR) is None
        rendered = render_cluster(spec, "cid", operator=OPERATOR)
        assert "NetworkPolicy" not in {obj["kind"] for obj in rendered}


def test_the_policy_is_named_after_the_cluster_and_limits_ingress_only() -> None:
    policy = network_policy(parse(networkPolicy=ON), operator=OPERATOR)
    assert policy is not None
    assert (policy["apiVersion"], policy["kind"]) == ("networking.k8s.io/v1", "NetworkPolicy")
    assert policy["metadata"]["name"] == "events-kafka" == names.network_policy_name("events")
    assert policy["metadata"]["namespace"] == "streaming"
    assert policy["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kopfka"
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert "egress" not in policy["spec"]


@pytest.mark.parametrize(
    "spec",
    [{**BROKERS, "networkPolicy": ON}, {**COMBINED, "networkPolicy": ON}],
    ids=["dedicated", "combined"],
)
def test_it_selects_every_kafka_pod_and_opens_every_port_they_listen_on_to_someone(
    spec: dict[str, Any],
) -> None:
    """Its pod selector (and the peer of the cluster's own pods) matches the pods of every
    StatefulSet; each port a pod names is in exactly one rule, by the name the pod gives it."""
    parsed = parse_cluster("events", "streaming", spec)
    policy = network_policy(parsed, operator=OPERATOR)
    assert policy is not None
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector == KAFKA_PODS["podSelector"]["matchLabels"]
    opened = [name for names_, _ in rules(parsed) for name in names_]
    assert len(opened) == len(set(opened))
    for pool in parsed.pools:
        pod = stateful_set(parsed, pool, "cid")["spec"]["template"]
        assert selector.items() <= pod["metadata"]["labels"].items()
        assert (
            not JOB_PODS["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        )
        [kafka] = pod["spec"]["containers"]
        named = {port["name"] for port in kafka["ports"]}
        assert named == {name for name, _ in container_ports(parsed, pool.role)}
        assert named <= set(opened)
    assert set(opened) == {
        name for pool in parsed.pools for name, _ in container_ports(parsed, pool.role)
    }


BOOTSTRAP = "events-kafka-bootstrap.streaming.svc:9092"
IMAGE = JobImage("kopfka/operator:0.1.0", "IfNotPresent")
JOBS: dict[str, Callable[[ClusterSpec], dict[str, Any]]] = {
    "topics": lambda spec: render_topic_job(spec, work=b"{}", bootstrap=BOOTSTRAP, image=IMAGE)[1],
    "users": lambda spec: render_user_job(
        spec, work=b"{}", credentials={}, bootstrap=BOOTSTRAP, image=IMAGE
    )[1],
    "rebalance": lambda spec: render_rebalance_job(
        spec, work=b"{}", bootstrap=BOOTSTRAP, image=IMAGE
    )[1],
    "settings": lambda spec: render_settings_job(
        spec, LivePlan(to_set={"min.insync.replicas": "2"}, to_delete=()), bootstrap=BOOTSTRAP
    ),
    "features": lambda spec: render_features_job(
        spec,
        Finalize(
            release=metadata_version(spec.version).release,
            level=metadata_version(spec.version).level,
        ),
        bootstrap=BOOTSTRAP,
    ),
    "unregister": lambda spec: render_unregister_job(spec, 4, bootstrap=BOOTSTRAP),
}


@pytest.mark.parametrize("kind", sorted(JOBS))
def test_every_job_of_the_cluster_is_let_in_and_no_other_clusters(kind: str) -> None:
    """The pods of every kind of Job kopfka runs carry the label the policy admits, with their
    own cluster's name; they are no Kafka pods to the policy's pod selector."""
    spec = parse(networkPolicy=ON)
    pod_labels = JOBS[kind](spec)["spec"]["template"]["metadata"]["labels"]
    assert JOB_PODS["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert not KAFKA_PODS["podSelector"]["matchLabels"].items() <= pod_labels.items()
    other = parse_cluster("payments", "streaming", {"brokers": {"replicas": 3}})
    other_labels = JOBS[kind](other)["spec"]["template"]["metadata"]["labels"]
    assert not JOB_PODS["podSelector"]["matchLabels"].items() <= other_labels.items()


def test_client_peers_are_written_as_the_api_server_stores_them() -> None:
    """Empty optional fields the API server drops are left out, so the live policy compares
    equal to the rendered one and a steady cluster writes nothing."""
    clients = [
        {"podSelector": {"matchLabels": {}, "matchExpressions": []}},
        {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Exists"}]}},
        {"ipBlock": {"cidr": "10.0.0.0/8", "except": []}},
    ]
    spec = parse(networkPolicy={**ON, "clients": clients})
    [_, (_, peers), _] = rules(spec)
    assert peers == [
        {"podSelector": {}},
        {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Exists"}]}},
        {"ipBlock": {"cidr": "10.0.0.0/8"}},
        JOB_PODS,
        OPERATOR_PEER,
    ]


def test_the_policy_is_applied_before_the_pods() -> None:
    rendered = render_cluster(parse(networkPolicy=ON), "cid", operator=OPERATOR)
    kinds = [obj["kind"] for obj in rendered]
    assert kinds.count("NetworkPolicy") == 1
    assert kinds.index("NetworkPolicy") < kinds.index("StatefulSet")


@pytest.mark.parametrize(
    "spec",
    [
        {"networkPolicy": {**ON, "clients": [APPS, MONITORING, OFFICE]}},
        {"networkPolicy": ON, "listeners": TLS_AND_SCRAM, "metrics": {"enabled": False}},
    ],
)
def test_the_policy_passes_the_kubernetes_schema(spec: dict[str, Any]) -> None:
    policy = network_policy(parse(**spec), operator=OPERATOR)
    kubernetes_validate.validate(policy, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, None),
        ({"KOPFKA_OPERATOR_NAMESPACE": "kopfka-system"}, None),
        ({"KOPFKA_OPERATOR_POD_LABELS": "app=kopfka"}, None),
        (
            {
                "KOPFKA_OPERATOR_NAMESPACE": "kopfka-system",
                "KOPFKA_OPERATOR_POD_LABELS": "app.kubernetes.io/name=kopfka, "
                "app.kubernetes.io/instance=kopfka",
            },
            OPERATOR,
        ),
    ],
    ids=["unset", "labels-unset", "namespace-unset", "both"],
)
def test_the_operator_pods_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: OperatorPods | None
) -> None:
    for variable in ("KOPFKA_OPERATOR_NAMESPACE", "KOPFKA_OPERATOR_POD_LABELS"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert operator_pods() == expected


@pytest.mark.parametrize("labels", ["app", "app=a,app=b", "app=a,", "bad key=x", "app=not ok"])
def test_operator_pod_labels_that_are_no_labels_stop_the_operator(
    monkeypatch: pytest.MonkeyPatch, labels: str
) -> None:
    monkeypatch.setenv("KOPFKA_OPERATOR_NAMESPACE", "kopfka-system")
    monkeypatch.setenv("KOPFKA_OPERATOR_POD_LABELS", labels)
    with pytest.raises(ValueError, match="KOPFKA_OPERATOR_POD_LABELS"):
        operator_pods()
