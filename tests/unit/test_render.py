"""Renderers, case by case: what each spec turns into, and what changes the restart hash."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.names import Role
from kopfka.render import config, statefulset
from kopfka.render.cluster import owned_by, render_cluster

BASE: dict[str, Any] = {"brokers": {"replicas": 3}}


def parse(spec: dict[str, Any]) -> ClusterSpec:
    return parse_cluster("events", "streaming", spec)


def properties(spec: ClusterSpec, role: Role) -> dict[str, str]:
    pool = next(pool for pool in spec.pools if pool.role is role)
    text = config.server_properties(spec, pool)
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


VOTERS = ",".join(
    f"{9000 + i}@events-controllers-{i}.events-controllers.streaming.svc:9093" for i in range(3)
)


@pytest.mark.parametrize(
    ("spec", "role", "expected"),
    [
        (
            BASE,
            Role.CONTROLLER,
            {
                "process.roles": "controller",
                "node.id": "${KOPFKA_NODE_ID}",
                "controller.quorum.voters": VOTERS,
                "listeners": "CONTROLLER://${KOPFKA_BIND_ADDRESS}:9093",
                "advertised.listeners": "CONTROLLER://${POD_NAME}.events-controllers.streaming.svc:9093",
                "log.dirs": "/var/lib/kafka/data",
            },
        ),
        (
            BASE,
            Role.BROKER,
            {
                "process.roles": "broker",
                "listeners": "REPLICATION://${KOPFKA_BIND_ADDRESS}:9091,"
                "PLAIN://${KOPFKA_BIND_ADDRESS}:9092",
                "advertised.listeners": "REPLICATION://${POD_NAME}.events-brokers.streaming.svc:9091,"
                "PLAIN://${POD_NAME}.events-brokers.streaming.svc:9092",
                "listener.security.protocol.map": (
                    "CONTROLLER:PLAINTEXT,REPLICATION:PLAINTEXT,PLAIN:PLAINTEXT"
                ),
                "inter.broker.listener.name": "REPLICATION",
                "controller.quorum.voters": VOTERS,
            },
        ),
        (
            {"mode": "combined", "controllers": {"replicas": 1}},
            Role.COMBINED,
            {
                "process.roles": "broker,controller",
                "controller.quorum.voters": "0@events-nodes-0.events-nodes.streaming.svc:9093",
                "listeners": "CONTROLLER://${KOPFKA_BIND_ADDRESS}:9093,"
                "REPLICATION://${KOPFKA_BIND_ADDRESS}:9091,PLAIN://${KOPFKA_BIND_ADDRESS}:9092",
                "offsets.topic.replication.factor": "1",
            },
        ),
        (
            {**BASE, "rack": {"topologyKey": "topology.kubernetes.io/zone"}},
            Role.BROKER,
            {"broker.rack": "${KOPFKA_RACK}"},
        ),
    ],
    ids=["controller", "broker", "combined", "rack"],
)
def test_server_properties(spec: dict[str, Any], role: Role, expected: dict[str, str]) -> None:
    rendered = properties(parse(spec), role)
    assert {key: rendered.get(key) for key in expected} == expected


def test_controllers_have_no_broker_only_settings() -> None:
    rendered = properties(
        parse({**BASE, "rack": {"topologyKey": "topology.kubernetes.io/zone"}}), Role.CONTROLLER
    )
    assert "inter.broker.listener.name" not in rendered
    assert "broker.rack" not in rendered


def test_only_known_tokens_are_left_for_the_entrypoint() -> None:
    text = config.server_properties(parse(BASE), parse(BASE).broker_pool)
    tokens = set(re.findall(r"\$\{[A-Z_]+\}", text))
    assert tokens <= {
        "${KOPFKA_NODE_ID}",
        "${POD_NAME}",
        "${KOPFKA_BIND_ADDRESS}",
        "${KOPFKA_RACK}",
    }


def test_cluster_renders_every_child_in_apply_order() -> None:
    objects = render_cluster(parse(BASE), "cid")
    kinds = [obj["kind"] for obj in objects]
    assert kinds == [
        "ServiceAccount",
        "ConfigMap",
        "Service",
        "ConfigMap",
        "Service",
        "Service",
        "StatefulSet",
        "PodDisruptionBudget",
        "StatefulSet",
        "PodDisruptionBudget",
    ]
    assert all(obj["metadata"]["namespace"] == "streaming" for obj in objects)
    assert all(obj["metadata"]["labels"]["kopfka.dev/cluster"] == "events" for obj in objects)


def test_statefulset_shape() -> None:
    sts = by_kind(render_cluster(parse(BASE), "cid"), "StatefulSet")["events-brokers"]
    assert sts["spec"]["updateStrategy"] == {"type": "OnDelete"}
    assert sts["spec"]["serviceName"] == "events-brokers"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {item["name"]: item for item in container["env"]}
    assert env["KOPFKA_CLUSTER_ID"]["value"] == "cid"
    assert env["KOPFKA_NODE_ID_BASE"]["value"] == "0"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert container["readinessProbe"]["exec"]["command"] == ["/opt/kafka/bin/kopfka-ready"]
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert labels["kopfka.dev/role"] == "broker"
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize(
    ("storage", "claims", "retention"),
    [
        ({"type": "persistent-claim", "size": "5Gi", "class": "fast"}, True, "Retain"),
        ({"type": "persistent-claim", "size": "5Gi", "deleteClaim": True}, True, "Delete"),
        ({"type": "ephemeral", "sizeLimit": "1Gi"}, False, None),
    ],
)
def test_storage(storage: dict[str, Any], claims: bool, retention: str | None) -> None:
    spec = parse({"brokers": {"replicas": 3, "storage": storage}})
    sts = statefulset.stateful_set(spec, spec.broker_pool, "cid")
    assert ("volumeClaimTemplates" in sts["spec"]) is claims
    assert (
        sts["spec"].get("persistentVolumeClaimRetentionPolicy", {}).get("whenDeleted") == retention
    )
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    if claims:
        assert "data" not in volumes
        assert sts["spec"]["volumeClaimTemplates"][0]["spec"].get(
            "storageClassName"
        ) == storage.get("class")
    else:
        assert volumes["data"] == {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}


def test_rack_awareness_plumbing() -> None:
    spec = parse({**BASE, "rack": {"topologyKey": "topology.kubernetes.io/zone"}})
    pod = statefulset.pod_spec(spec, spec.broker_pool, "cid")
    env = {item["name"]: item for item in pod["containers"][0]["env"]}
    assert env["KOPFKA_RACK"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['topology.kubernetes.io/zone']"
    )
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    controllers = statefulset.pod_spec(spec, spec.controller_pool, "cid")
    assert "KOPFKA_RACK" not in {item["name"] for item in controllers["containers"][0]["env"]}


def test_pod_template_customisation() -> None:
    template = {
        "metadata": {"labels": {"team": "data"}, "annotations": {"note": "x"}},
        "tolerations": [{"key": "kafka", "operator": "Exists"}],
        "nodeSelector": {"disk": "ssd"},
        "priorityClassName": "high",
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}
                    ]
                }
            }
        },
    }
    spec = parse({**BASE, "template": {"pod": template}})
    sts = statefulset.stateful_set(spec, spec.broker_pool, "cid")
    meta, pod = sts["spec"]["template"]["metadata"], sts["spec"]["template"]["spec"]
    assert meta["labels"]["team"] == "data"
    assert meta["annotations"]["note"] == "x"
    assert pod["tolerations"] == template["tolerations"]
    assert pod["nodeSelector"] == {"disk": "ssd"}
    assert pod["priorityClassName"] == "high"
    assert pod["affinity"]["nodeAffinity"] == template["affinity"]["nodeAffinity"]
    assert "podAntiAffinity" in pod["affinity"]


def restart_hash(spec: dict[str, Any], role: Role = Role.BROKER, cluster_id: str = "cid") -> str:
    parsed = parse(spec)
    pool = next(pool for pool in parsed.pools if pool.role is role)
    return statefulset.restart_hash(parsed, pool, cluster_id)


def with_config(**settings: Any) -> dict[str, Any]:
    return {**BASE, "kafka": {"config": {key.replace("_", "."): v for key, v in settings.items()}}}


@pytest.mark.parametrize(
    ("change", "restarts"),
    [
        (with_config(log_retention_ms=1000), False),
        (with_config(min_insync_replicas=1), False),
        (with_config(num_io_threads=16), False),
        ({**BASE, "template": {"pod": {"metadata": {"labels": {"team": "a"}}}}}, False),
        ({"brokers": {"replicas": 4}}, False),
        (with_config(auto_create_topics_enable=False), True),
        (with_config(num_partitions=6), True),
        ({**BASE, "kafka": {"version": "4.3.1"}}, True),
        ({**BASE, "kafka": {"image": "registry.local/kafka:4.4.0"}}, True),
        ({"brokers": {"replicas": 3, "resources": {"limits": {"memory": "8Gi"}}}}, True),
        ({"brokers": {"replicas": 3, "jvm": {"options": ["-XX:+UseG1GC"]}}}, True),
        ({**BASE, "listeners": [{"name": "plain", "port": 9094}]}, True),
    ],
    ids=[
        "dynamic-retention",
        "dynamic-min-isr",
        "dynamic-threads",
        "pod-label",
        "scale-out",
        "static-auto-create",
        "static-num-partitions",
        "version",
        "image",
        "memory",
        "jvm-options",
        "listener-port",
    ],
)
def test_restart_hash_changes_only_when_a_restart_is_needed(
    change: dict[str, Any], restarts: bool
) -> None:
    assert (restart_hash(change) != restart_hash(BASE)) is restarts


def test_dynamic_change_still_reaches_the_config_file() -> None:
    spec = parse(with_config(log_retention_ms=1000))
    assert "log.retention.ms=1000" in config.server_properties(spec, spec.broker_pool)


def test_broker_scale_out_leaves_controllers_alone() -> None:
    assert restart_hash({"brokers": {"replicas": 5}}, Role.CONTROLLER) == restart_hash(
        BASE, Role.CONTROLLER
    )


def test_owner_reference() -> None:
    owner = {
        "apiVersion": names.API_VERSION,
        "kind": "KafkaCluster",
        "metadata": {"name": "events", "uid": "u-1"},
    }
    child = owned_by(render_cluster(parse(BASE), "cid")[0], owner)
    assert child["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "kopfka.dev/v1alpha1",
            "kind": "KafkaCluster",
            "name": "events",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
